"""Template placeholders left in values: `${VAR}`, `$VAR` (envsubst) and `{{ ... }}` (Helm, Jinja).

Substitution happens on the text before parsing (load.substitute); `placeholders` lists what is left in
the App Mesh documents. CloudFormation's own `Fn::Sub` strings are not templates and are not reported.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from meshlint.diagnostics import join_pointer
from meshlint.load.files import MAX_FILE_BYTES, read_small_text
from meshlint.load.substitute import PLACEHOLDER

_SKIP = "Fn::Sub"


def placeholders(data: Any, pointer: str = "") -> Iterator[tuple[str, str]]:
    """(pointer, placeholder as written) for every placeholder in a string value (or key) of `data`."""
    if isinstance(data, dict):
        for key, value in data.items():
            if key == _SKIP:
                continue
            yield from placeholders(value, join_pointer(pointer, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from placeholders(value, join_pointer(pointer, index))
    elif isinstance(data, str):
        for match in PLACEHOLDER.finditer(data):
            yield pointer, match.group(0)


def read_env_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines (docker/.env style): `#` comments, optional `export `, optional matching quotes.
    Raises UsageError when the file cannot be read (not a regular file, too large) and ValueError naming a
    malformed line."""
    values: dict[str, str] = {}
    for number, line in enumerate(read_small_text(path, "env file", MAX_FILE_BYTES).splitlines(), 1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        key, sep, value = text.removeprefix("export ").partition("=")
        if not sep or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key.strip()):
            raise ValueError(f"{path}:{number}: expected KEY=VALUE")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key.strip()] = value
    return values
