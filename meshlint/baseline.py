"""`--baseline FILE`: adopt meshlint on a mesh that already has findings, and fail only on new ones.

The file lists the known findings by their fingerprint — rule + resource (kind/mesh/name, or the file for
findings outside any resource) + JSON Pointer + message, never a line number — so moving a resource inside
its file, or reformatting the file, keeps it known. Each entry is counted: two identical findings need two
entries. Rule, resource, pointer and message are written beside the fingerprint for the reviewer's sake.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from meshlint.diagnostics import Diagnostic
from meshlint.load.files import MAX_FILE_BYTES, UsageError, read_small_text
from meshlint.numbers import parse_int

VERSION = 1
MAX_BYTES = MAX_FILE_BYTES  # a few hundred thousand findings


@dataclass(frozen=True)
class Filtered:
    new: list[Diagnostic]  # not in the baseline: these count
    known: int  # in the baseline, and still found
    gone: int  # in the baseline, no longer found: the file can shrink


def entry(d: Diagnostic) -> dict[str, Any]:
    return {"fingerprint": d.fingerprint, "rule": d.rule, "path": d.path,
            "resource": d.resource.to_json() if d.resource else None, "pointer": d.pointer, "message": d.message}


def write(path: Path, diagnostics: Sequence[Diagnostic]) -> None:
    """Write the baseline atomically (a temp file in the same folder, then os.replace)."""
    entries = sorted((entry(d) for d in diagnostics), key=lambda e: (
        e["path"], e["rule"], json.dumps(e["resource"], sort_keys=True), e["pointer"], e["message"]))
    text = json.dumps({"version": VERSION, "tool": "meshlint", "findings": entries}, indent=2,
                      ensure_ascii=False) + "\n"
    folder = path.parent if str(path.parent) else Path(".")
    try:
        handle, temp = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(temp, path)
    except OSError as err:
        raise UsageError(f"{path}: cannot write baseline: {err.strerror or err}") from None


def read(path: Path) -> Counter[str]:
    """The fingerprints in a baseline file, with their counts. A malformed file is a UsageError."""
    text = read_small_text(path, "baseline", MAX_BYTES)  # a regular file of bounded size: never /dev/zero
    try:
        data = json.loads(text, parse_int=parse_int)  # NotAnInteger (a ValueError) for what no baseline holds
    except json.JSONDecodeError as err:
        raise UsageError(f"{path}:{err.lineno}:{err.colno}: baseline is not JSON: {err.msg}") from None
    except (ValueError, RecursionError):  # a number of thousands of digits, nesting thousands deep
        data = None
    findings = data.get("findings") if isinstance(data, dict) else None
    if not isinstance(data, dict) or data.get("version") != VERSION or not isinstance(findings, list) or not all(
            isinstance(f, dict) and isinstance(f.get("fingerprint"), str) for f in findings):
        raise UsageError(f"{path}: not a meshlint baseline (version {VERSION} with a findings list)")
    return Counter(f["fingerprint"] for f in findings)


def filter_known(diagnostics: Sequence[Diagnostic], known: Counter[str]) -> Filtered:
    left = Counter(known)
    new: list[Diagnostic] = []
    for d in diagnostics:
        if left[d.fingerprint] > 0:
            left[d.fingerprint] -= 1
        else:
            new.append(d)
    matched = sum(known.values()) - sum(left.values())
    return Filtered(new, matched, sum(left.values()))
