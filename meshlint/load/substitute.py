"""envsubst for templated input: `${VAR}`, `$VAR` and `{{ VAR }}` filled from a mapping before parsing.

Done on the text, as envsubst would, so that unquoted placeholders (`"port": $PORT` in JSON) parse; lines
with a substituted value show the substituted text in diagnostics. Placeholders the mapping does not know
are left as written (and reported by `template-placeholder`), never replaced by an empty string.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)|\{\{-?\s*(.*?)\s*-?\}\}")


def placeholder_name(match: re.Match[str]) -> str:
    return match.group(1) or match.group(2) or match.group(3) or ""


def substitute_text(text: str, values: Mapping[str, str]) -> str:
    return PLACEHOLDER.sub(lambda m: values.get(placeholder_name(m), m.group(0)), text)
