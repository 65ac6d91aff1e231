"""`meshlint check --fix` / `--diff`: apply the safe fixes that findings carry (`Finding.fix`).

A fix names new values for scalars by JSON Pointer. They are applied as text edits at the exact spans the
source map gives, so everything else in the file — comments, quoting, flow or block style, indentation, key
order, JSON layout — stays byte for byte as it was (a ruamel.yaml round-trip would re-indent and re-quote
untouched lines). The result is parsed again and every edited value checked before anything is written;
a file where that fails is left alone, with a note.
"""

from __future__ import annotations

import difflib
import itertools
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from meshlint.diagnostics import Diagnostic, Fix
from meshlint.load.parse import ParsedDoc, Problem, parse_json, parse_text
from meshlint.load.sources import SourceFile

Value = str | int | float | bool


@dataclass(frozen=True)
class FileFix:
    path: str  # as diagnostics show it
    before: str
    after: str
    fixes: tuple[str, ...]  # what was fixed, one line each

    def diff(self) -> str:
        return "".join(difflib.unified_diff(self.before.splitlines(keepends=True),
                                            self.after.splitlines(keepends=True), f"a/{self.path}",
                                            f"b/{self.path}"))


def plan(diagnostics: Sequence[Diagnostic], sources: Mapping[str, SourceFile]) -> tuple[list[FileFix], list[str]]:
    """The fixed text of every file some diagnostic carries a fix for, plus notes about files skipped."""
    by_path: dict[str, list[Fix]] = {}
    for d in diagnostics:
        if d.fix is not None and d.fix not in by_path.get(d.path, []):
            by_path.setdefault(d.path, []).append(d.fix)
    changes: list[FileFix] = []
    notes: list[str] = []
    for path, fixes in sorted(by_path.items()):
        source = sources.get(path)
        if source is None or source.text is None or source.input.path is None:
            notes.append(f"{path}: not a file on disk; not fixed")
            continue
        if source.docs and source.docs[0].hcl is not None:
            after, problem = _apply_hcl(source, fixes)
        else:
            after, problem = _apply(source.text, fixes, path.endswith(".json"))
        if problem is not None:
            notes.append(f"{path}: not fixed: {problem}")
        elif after != source.text:
            changes.append(FileFix(path, source.text, after, tuple(f.description for f in fixes)))
    return changes, notes


def _apply(text: str, fixes: Iterable[Fix], is_json: bool) -> tuple[str, str | None]:
    parse = parse_json if is_json else parse_text
    docs, problems = parse(text, record=True)
    if _fatal(problems):
        return text, "it does not parse"
    starts = _line_starts(text)
    edits: list[tuple[int, int, str]] = []
    wanted: list[tuple[int, str, Value]] = []
    for fix in fixes:
        for pointer, value in fix.edits:
            span = _span(docs, fix.doc, pointer)
            if span is None:
                return text, f"nothing at {pointer} of document {fix.doc + 1}"
            line, column, end_line, end_column = span
            edits.append((starts[line - 1] + column - 1, starts[end_line - 1] + end_column - 1, json.dumps(value)))
            wanted.append((fix.doc, pointer, value))
    edits.sort()
    if any(a[1] > b[0] for a, b in itertools.pairwise(edits)):
        return text, "two fixes overlap"
    out = text
    for begin, end, replacement in reversed(edits):
        out = out[:begin] + replacement + out[end:]
    check, problems = parse(out, record=False)
    if _fatal(problems) or any(_value(check, doc, pointer) != value for doc, pointer, value in wanted):
        return text, "the fixed file did not read back as intended"
    return out, None


def _apply_hcl(source: SourceFile, fixes: Iterable[Fix]) -> tuple[str, str | None]:
    """A Terraform file: each edit replaces a literal written in the file (SourceFile.value_span); a value
    computed by an expression (`weight = var.w`) is not fixed."""
    from meshlint.diagnostics import split_pointer
    from meshlint.load.hcl import parse_hcl

    text = source.text or ""
    edits: list[tuple[int, int, str]] = []
    wanted: list[tuple[list[str], Value]] = []
    for fix in fixes:
        for pointer, value in fix.edits:
            span = source.value_span(fix.doc, pointer)
            if span is None:
                return text, f"{source.original_pointer(fix.doc, pointer)} is not a literal value written there"
            edits.append((*span, json.dumps(value)))
            wanted.append((split_pointer(source.original_pointer(fix.doc, pointer)), value))
    edits.sort()
    if any(a[1] > b[0] for a, b in itertools.pairwise(edits)):
        return text, "two fixes overlap"
    out = text
    for begin, end, replacement in reversed(edits):
        out = out[:begin] + replacement + out[end:]
    document, _ = parse_hcl(out)
    if document is None or any(document.value_span(tokens) is None or _literal(document, tokens) != value
                               for tokens, value in wanted):
        return text, "the fixed file did not read back as intended"
    return out, None


def _literal(document: object, tokens: list[str]) -> object:
    from meshlint.load.hcl import HclDocument
    from meshlint.load.hcl_syntax import Attribute, Lit

    assert isinstance(document, HclDocument)
    found = document.find(tokens)
    node = found[0] if found else None
    expr = node.expr if isinstance(node, Attribute) else node
    return expr.value if isinstance(expr, Lit) else None


def _fatal(problems: Sequence[Problem]) -> bool:
    return bool(problems)  # even a duplicate key: the edit could land on the value YAML drops


def _line_starts(text: str) -> list[int]:
    starts = [0]
    for index, char in enumerate(text):
        if char == "\n":
            starts.append(index + 1)
    return starts


def _span(docs: Sequence[ParsedDoc], doc: int, pointer: str) -> tuple[int, int, int, int] | None:
    if doc >= len(docs) or docs[doc].source_map is None:
        return None
    source_map = docs[doc].source_map
    assert source_map is not None
    return source_map.values.get(pointer)


def _value(docs: Sequence[ParsedDoc], doc: int, pointer: str) -> object:
    from meshlint.diagnostics import split_pointer

    if doc >= len(docs):
        return None
    node: object = docs[doc].data
    for token in split_pointer(pointer):
        if isinstance(node, dict):
            node = node.get(token)
        elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
            node = node[int(token)]
        else:
            return None
    return node
