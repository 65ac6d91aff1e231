"""Fixes -> text edits of one file, and the two checks every fixed text passes before it is written:
only the edited spans differ from the file, and the text reads back as the same documents with exactly the
intended values changed (types included: `1` never becomes `true` or `"1"`)."""

from __future__ import annotations

import copy
import itertools
import json
import math
from collections.abc import Iterable
from typing import Any

from meshlint.diagnostics import Fix, split_pointer
from meshlint.load.sources import SourceFile

Value = str | int | float | bool
Edit = tuple[int, int, str]  # [start, end) of the file text, and what replaces it
_MISSING = object()


def apply_fixes(source: SourceFile, fixes: Iterable[Fix]) -> tuple[str, str | None]:
    """The file text with every fix applied, or the text unchanged and why it could not be fixed."""
    text = source.file_text or ""
    if not source.docs or not source.readable:
        return text, "it does not parse"
    edits: set[Edit] = set()
    wanted: list[tuple[int, str, Value]] = []  # (document, pointer in the user's document, value)
    for fix in fixes:
        for pointer, value in fix.edits:
            edit, problem = _edit(source, text, fix.doc, pointer, value)
            if edit is None:
                return text, problem
            edits.add(edit[0])
            wanted.append((fix.doc, edit[1], edit[2]))
    ordered = sorted(edits)
    if any(a[1] > b[0] for a, b in itertools.pairwise(ordered)):
        return text, "two fixes overlap"
    out = text
    for begin, end, replacement in reversed(ordered):
        out = out[:begin] + replacement + out[end:]
    if not only_spans_changed(text, out, ordered):
        return text, "the fixed text differs from the file outside the edited values"
    return out, _reads_back(source, text, out, wanted)


def _edit(source: SourceFile, text: str, doc: int, pointer: str,
          value: Value) -> tuple[tuple[Edit, str, Value] | None, str]:
    where = source.translated_from(doc, pointer)
    if where is None or doc >= len(source.docs):
        return None, f"nothing at {pointer} of document {doc + 1}"
    hcl = source.docs[doc].hcl
    current = hcl_literal(hcl, where) if hcl is not None else value_at(source.docs[doc].data, where)
    if current is _MISSING:
        return None, f"nothing at {where} of document {doc + 1}"
    at = f"line {source.span(doc, where).line} ({where})"
    if isinstance(current, dict | list):
        return None, f"{at} is {_short(current)}, not a plain value; edit it by hand"
    span = source.value_span(doc, where)
    if span is None:
        return None, f"{at}: {_why_no_span(source, doc, where)}; edit it by hand"
    start, end = span
    literal = _literal(value, text[start:end], current)
    return ((start, end, literal[0]), where, literal[1]), ""


def _literal(value: Value, written: str, current: object) -> tuple[str, Value]:
    """`value` written the way the file writes the value it replaces. CloudFormation takes numbers as strings
    too (`Weight: "80"`): a string stays a string, in the same quotes."""
    if isinstance(current, str) and not isinstance(value, str):
        value = str(value)
    if isinstance(value, str):
        if written.startswith("'"):
            return "'" + value.replace("'", "''") + "'", value
        return json.dumps(value, ensure_ascii=False), value
    return json.dumps(value), value


def _why_no_span(source: SourceFile, doc: int, pointer: str) -> str:
    position = source.span(doc, pointer)
    lines = source.lines()
    line = lines[position.line - 1] if position.line <= len(lines) else ""
    if line[position.column - 1:position.column] in ("!", "&", "*"):
        return "the value has a YAML tag, anchor or alias"
    if source.substituted is not None:
        return "a template placeholder there was filled in (--substitute-env / --env-file), so the file does not " \
               "hold this value"
    return "its text cannot be located"


def _short(value: object) -> str:
    shown = json.dumps(value, default=str)
    return shown if len(shown) <= 60 else shown[:57] + "..."


def only_spans_changed(before: str, after: str, edits: list[Edit]) -> bool:
    """`after` equals `before` outside the edited spans (sorted, disjoint), each span holding its replacement."""
    shift = done = 0
    for start, end, replacement in edits:
        if after[done + shift:start + shift] != before[done:start]:
            return False
        if after[start + shift:start + shift + len(replacement)] != replacement:
            return False
        shift += len(replacement) - (end - start)
        done = end
    return after[done + shift:] == before[done:] and len(after) == len(before) + shift


def _reads_back(source: SourceFile, before: str, after: str, wanted: list[tuple[int, str, Value]]) -> str | None:
    if source.docs[0].hcl is not None:  # Terraform: each edited literal reads back as the value wanted
        new, problems = source.reparse(after)
        if problems or not new or any(hcl_literal(new[0].hcl, pointer) != value for _, pointer, value in wanted):
            return "the fixed file did not read back as intended"
        return None
    old, old_problems = source.reparse(before)
    if old_problems:  # even a duplicate key: the edit could land on the value YAML drops
        return "it does not parse cleanly"
    new, problems = source.reparse(after)
    expected = [copy.deepcopy(d.data) for d in old]
    for doc, pointer, value in wanted:
        expected[doc] = _with(expected[doc], split_pointer(pointer), value)
    if problems or len(new) != len(old) or not all(_same(a.data, b) for a, b in zip(new, expected, strict=True)):
        return "the fixed file did not read back as intended"
    return None


def hcl_literal(document: Any, pointer: str) -> Any:
    """The literal value a Terraform document writes at `pointer`, or _MISSING (not there, or an expression)."""
    from meshlint.load.hcl_syntax import Attribute, Lit

    found = document.find(split_pointer(pointer)) if document is not None else None
    if found is None or not found[1]:
        return _MISSING
    expr = found[0].expr if isinstance(found[0], Attribute) else found[0]
    return expr.value if isinstance(expr, Lit) else _MISSING


def value_at(data: Any, pointer: str) -> Any:
    node = data
    for token in split_pointer(pointer):
        if isinstance(node, dict) and token in node:
            node = node[token]
        elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
            node = node[int(token)]
        else:
            return _MISSING
    return node


def _with(data: Any, tokens: list[str], value: Value) -> Any:
    if not tokens:
        return value
    head, rest = tokens[0], tokens[1:]
    if isinstance(data, dict):
        data[head] = _with(data[head], rest, value)
    else:
        data[int(head)] = _with(data[int(head)], rest, value)
    return data


def _same(a: Any, b: Any) -> bool:
    """Equal, and of the same types all the way down (`1 == True == 1.0` in Python, not in a mesh)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and math.isnan(a):
        return math.isnan(b)
    return bool(a == b)
