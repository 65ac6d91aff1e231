"""`--format json`: exactly one JSON object, as the CLI contract specifies."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

from meshlint.diagnostics import Diagnostic


def render(diagnostics: Sequence[Diagnostic], summary: Mapping[str, int]) -> str:
    payload = {"diagnostics": [d.to_json() for d in diagnostics], "summary": dict(summary)}
    return json.dumps(payload, indent=2, ensure_ascii=False) + "\n"
