"""Suppressions: findings an author has looked at and accepted, with the reason written down.

Three spellings, one meaning:

- a YAML comment `# meshlint: disable=<slug>[,<slug>] -- <reason>`: on the line of a finding it covers that
  line; on the line of a resource's first key (or alone on the line(s) right above it, or after its `---`)
  it covers the whole resource (document). Only a comment counts: libyaml drops comments, so candidates
  are found in the text, and one whose `#` lies inside a scalar's span (load.spans: a block or folded
  string, a quoted string over several lines, an embedded script) is data and never a suppression. JSON
  has no comments.
- a Kubernetes annotation `meshlint.dev/disable: "<slug>[,<slug>] -- <reason>"` (one per line) on a custom
  resource: covers that document;
- CloudFormation `Metadata: {meshlint: {disable: [{rule: <slug>, reason: <text>}]}}` on a resource under
  `Resources:`: covers that resource's lines of the template.

`document_suppressions(data)` is the hook for the Kubernetes and CloudFormation readers: it reads both
forms from one parsed document. The engine applies all of them after stamping (`apply`), so rules never
know about suppressions; a suppression without a reason, or one that suppresses nothing, is reported.
"""

from __future__ import annotations

import difflib
import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from meshlint import catalogue
from meshlint.diagnostics import Diagnostic, Finding, Position, join_pointer
from meshlint.load.sources import SourceFile

if TYPE_CHECKING:
    from meshlint.load.hcl import HclDocument
from meshlint.load.spans import scan_scalars

UNUSED = "unused-suppression"
NO_REASON = "suppression-without-reason"
ANNOTATION = "meshlint.dev/disable"
_HASH = re.compile(r"(?:^|(?<=\s))#")
_COMMENT = re.compile(r"(?:^|(?<=\s))#\s*meshlint:\s*disable=(?P<body>.*)$")
_ENTRY = re.compile(r"^\s*(?P<rules>[A-Za-z0-9-]+(?:\s*,\s*[A-Za-z0-9-]+)*)\s*(?P<rest>.*?)\s*$")


@dataclass(frozen=True)
class Suppression:
    path: str
    at: Position  # where it is written: reports about the suppression point here
    first: int  # first and last line it covers
    last: int
    rules: tuple[str, ...]  # as written: slugs or codes
    reason: str | None


@dataclass(frozen=True)
class DocumentSuppression:
    """One suppression found in a document's data: `scope` is the pointer of what it covers ("" = the whole
    document), `at` the pointer of where it is written."""

    scope: str
    at: str
    rules: tuple[str, ...]
    reason: str | None


def parse_entry(text: str) -> tuple[tuple[str, ...], str | None] | None:
    """`"a, b -- why"` -> (("a", "b"), "why"); no ` -- reason` -> reason None; not a rule list -> None."""
    match = _ENTRY.match(text)
    if match is None:
        return None
    rules = tuple(r.strip() for r in match["rules"].split(","))
    rest = match["rest"]
    reason = rest[2:].strip() if rest.startswith("--") else None
    return rules, reason or None


def document_suppressions(data: Any) -> list[DocumentSuppression]:
    """The Kubernetes annotation and CloudFormation Metadata suppressions of one parsed document."""
    if not isinstance(data, dict):
        return []
    found: list[DocumentSuppression] = []
    metadata = data.get("metadata")
    annotations = metadata.get("annotations") if isinstance(metadata, dict) else None
    if isinstance(annotations, dict) and isinstance(annotations.get(ANNOTATION), str):
        at = join_pointer("/metadata/annotations", ANNOTATION)
        for line in annotations[ANNOTATION].splitlines():
            entry = parse_entry(line)
            if entry is not None:
                found.append(DocumentSuppression("", at, *entry))
    resources = data.get("Resources")
    for logical_id, resource in (resources.items() if isinstance(resources, dict) else ()):
        meta = resource.get("Metadata") if isinstance(resource, dict) else None
        own = meta.get("meshlint") if isinstance(meta, dict) else None
        items = own.get("disable") if isinstance(own, dict) else None
        for i, item in enumerate(items if isinstance(items, list) else ()):
            scope = join_pointer("/Resources", str(logical_id))
            at = join_pointer(scope, "Metadata", "meshlint", "disable", i)
            if isinstance(item, dict) and isinstance(item.get("rule"), str):
                reason = item.get("reason")
                found.append(DocumentSuppression(scope, at, (item["rule"],),
                                                 reason.strip() or None if isinstance(reason, str) else None))
            elif isinstance(item, str) and (entry := parse_entry(item)) is not None:
                found.append(DocumentSuppression(scope, at, *entry))
    return found


def scan(files: Mapping[str, SourceFile]) -> list[Suppression]:
    """Every suppression in the input files."""
    found: list[Suppression] = []
    for path, source in files.items():
        if source.text is None or not source.docs:
            continue
        hcl = source.docs[0].hcl
        comments = hcl is not None or (not path.endswith(".json") and "meshlint:" in source.text)
        entries = [(i, entry) for i, doc in enumerate(source.docs) for entry in document_suppressions(doc.data)]
        if not comments and not entries:
            continue  # most files: no need to split the text into lines
        lines = source.text.splitlines()
        starts = [d.start.line for d in source.docs]
        ends = [s - 1 for s in starts[1:]] + [len(lines)]
        if hcl is not None:
            found.extend(_hcl_comments(path, lines, hcl))
        elif comments:
            found.extend(_comments(path, source.text, lines, starts, ends))
        resource_lines: dict[int, list[int]] = {}  # per document, made once: not once per entry
        for i, entry in entries:
            keys = resource_lines.get(i)
            if keys is None and entry.scope:
                keys = resource_lines[i] = _resource_key_lines(source, i)
            found.append(_placed(path, source, i, entry, ends[i], keys or []))
    return found


def _comments(path: str, text: str, lines: list[str], starts: list[int], ends: list[int]) -> Iterable[Suppression]:
    data: _Data | None = None  # where the scalars are, found once a candidate needs it
    following: list[int] = []  # _next_content_lines, made once a comment alone on its line needs it
    doc_end: dict[int, int] = {}
    for start, end in zip(starts, ends, strict=True):
        doc_end.setdefault(start, end)
    offset = 0
    for number, line in enumerate(lines, 1):
        line_offset, offset = offset, offset + len(line) + _break_length(text, offset + len(line))
        if "meshlint:" not in line:
            continue
        data = data or _Data(text)
        hashes = (m.start() for m in _HASH.finditer(line) if not data.holds(line_offset + m.start()))
        comment = next(hashes, None)  # the first `#` that is not data starts the comment
        match = _COMMENT.search(line, comment) if comment is not None else None
        entry = parse_entry(match["body"]) if match is not None else None
        if match is None or entry is None:
            continue
        target = number
        if line[: match.start()].strip() in ("", "---"):  # alone on its line: it covers the next line of data
            following = following or _next_content_lines(lines)
            target = following[number] or number
        first, last = target, doc_end.get(target, target)  # the first key of a resource: the whole document
        yield Suppression(path, Position(number, match.start() + 1), first, last, *entry)


class _Data:
    """The spans of every scalar of a text: a `#` inside one is part of a string, not a comment."""

    def __init__(self, text: str) -> None:
        spans = scan_scalars(text).spans
        self._starts = [s for s, _ in spans]
        self._ends = [e for _, e in spans]

    def holds(self, offset: int) -> bool:
        index = bisect_right(self._starts, offset) - 1
        return index >= 0 and offset < self._ends[index]


def _break_length(text: str, at: int) -> int:
    """Length of the line break at `at` (as str.splitlines, which numbered the lines, sees it)."""
    if text.startswith("\r\n", at):
        return 2
    return 1 if at < len(text) else 0


_HCL_COMMENT = re.compile(r"(?:^|\s)(?:#|//)\s*meshlint:\s*disable=(?P<body>.*)$")


def _hcl_comments(path: str, lines: list[str], document: HclDocument) -> Iterable[Suppression]:
    """Terraform (`#` or `//` comments): on a line it covers that line; on the line of a block's header, or
    alone on the line(s) right above it, it covers the whole block (`resource "aws_appmesh_route" ...`)."""
    spans: dict[int, int] = {}
    following: list[int] = []  # _next_content_lines, made once a comment alone on its line needs it
    if not any("meshlint:" in line for line in lines):
        return
    stack = list(document.body.blocks)
    while stack:
        block = stack.pop()
        spans.setdefault(document.position(block.start).line, document.position(block.end).line)
        stack.extend(block.body.blocks)
    for number, line in enumerate(lines, 1):
        match = _HCL_COMMENT.search(line) if "meshlint:" in line else None
        entry = parse_entry(match["body"]) if match is not None else None
        if match is None or entry is None:
            continue
        target = number
        if line[: match.start()].strip() == "":  # alone on its line: it covers the next line of data
            following = following or _next_content_lines(lines, ("#", "//"))
            target = following[number] or number
        column = match.start() + len(line[match.start():]) - len(line[match.start():].lstrip()) + 1
        yield Suppression(path, Position(number, column), target, spans.get(target, target), *entry)


def _next_content_lines(lines: list[str], comments: tuple[str, ...] = ("#",)) -> list[int]:
    """A comment alone on its line covers the next line holding data (comments, blanks and `---` skipped):
    entry `n` is the number of the first such line after line `n` (0: none). One backward pass, so a run of
    comment lines is not walked again for each of them."""
    following = [0] * (len(lines) + 1)
    for index in range(len(lines) - 1, -1, -1):
        text = lines[index].strip()
        data = text and not text.startswith(comments) and text != "---"
        following[index] = index + 1 if data else following[index + 1]
    return following


def _resource_key_lines(source: SourceFile, doc: int) -> list[int]:
    """Sorted lines of the keys under a CloudFormation document's `Resources:`."""
    resources = source.docs[doc].data.get("Resources", {})
    return sorted(source.span(doc, join_pointer("/Resources", str(key)), at_key=True).line for key in resources)


def _placed(path: str, source: SourceFile, doc: int, entry: DocumentSuppression, doc_end: int,
            resource_lines: list[int]) -> Suppression:
    at = source.span(doc, entry.at)
    first, last = source.docs[doc].start.line, doc_end
    if entry.scope:  # a CloudFormation resource: from its key to the next resource's key
        first = source.span(doc, entry.scope, at_key=True).line
        later = bisect_right(resource_lines, first)
        last = resource_lines[later] - 1 if later < len(resource_lines) else doc_end
    return Suppression(path, at, first, last, entry.rules, entry.reason)


def apply(diagnostics: Sequence[Diagnostic], found: Sequence[Suppression],
          ran: set[str]) -> tuple[list[Diagnostic], list[Finding]]:
    """Drop the suppressed diagnostics. Returns the rest, plus findings about the suppressions themselves:
    no reason given, an unknown rule, or a rule that ran and reported nothing there."""
    ranges = _ranges_by_rule(found)
    lines: dict[tuple[str, str], list[int]] = {}  # lines of the diagnostics that a group of ranges may hide
    for d in diagnostics:
        key = (d.path, d.rule)
        if key in ranges and d.rule != catalogue.INTERNAL_ERROR:
            lines.setdefault(key, []).append(d.line)
    covers = {key: _Cover(ranges[key]) for key in lines}
    kept = [d for d in diagnostics if not ((cover := covers.get((d.path, d.rule))) and cover.holds(d.line))]
    used = {(index, rule) for (path, rule), group in lines.items()
            for index in _ranges_holding(ranges[(path, rule)], sorted(group))}
    return kept, list(_problems(found, used, ran))


def _ranges_by_rule(found: Sequence[Suppression]) -> dict[tuple[str, str], list[tuple[int, int, int]]]:
    """(path, rule slug) -> the (first, last, index in `found`) of each suppression of that rule there."""
    slugs: dict[str, str | None] = {}  # names are few, suppressions many: a code's lookup walks the catalogue
    ranges: dict[tuple[str, str], list[tuple[int, int, int]]] = {}
    for index, sup in enumerate(found):
        for name in sup.rules:
            if name not in slugs:
                slugs[name] = _slug(name)
        for slug in {slug for name in sup.rules if (slug := slugs[name]) is not None}:
            ranges.setdefault((sup.path, slug), []).append((sup.first, sup.last, index))
    return ranges


class _Cover:
    """The lines that some range of a group covers, merged into disjoint runs: a line is looked up with one
    bisection however many ranges nest or overlap there."""

    def __init__(self, ranges: Iterable[tuple[int, int, int]]) -> None:
        self._starts: list[int] = []
        self._ends: list[int] = []
        for first, last, _ in sorted(ranges):
            if first > last:
                continue  # covers no line
            if self._ends and first <= self._ends[-1]:
                self._ends[-1] = max(self._ends[-1], last)
            else:
                self._starts.append(first)
                self._ends.append(last)

    def holds(self, line: int) -> bool:
        run = bisect_right(self._starts, line) - 1
        return run >= 0 and line <= self._ends[run]


def _ranges_holding(ranges: Iterable[tuple[int, int, int]], lines: list[int]) -> Iterable[int]:
    """Index of each range that holds at least one of the sorted `lines`: every one counts as used, not
    only the first, so a nested suppression is not reported as matching nothing."""
    for first, last, index in ranges:
        at = bisect_left(lines, first)
        if at < len(lines) and lines[at] <= last:
            yield index


def _slug(name: str) -> str | None:
    doc = catalogue.lookup(name)
    return doc.slug if doc is not None else None


def _problems(found: Sequence[Suppression], used: set[tuple[int, str]], ran: set[str]) -> Iterable[Finding]:
    known = list(catalogue.load())
    for index, sup in enumerate(found):
        names = ", ".join(sup.rules)
        if sup.reason is None:
            yield Finding(NO_REASON, f"suppression of {names} gives no reason", sup.path, position=sup.at,
                          help="say why after ' -- ', e.g. `# meshlint: disable=weights-sum -- canary step 2 of 3`")
        for name in sup.rules:
            slug = _slug(name)
            if slug is None:
                close = difflib.get_close_matches(name, known, n=1)
                hint = f"; did you mean {close[0]!r}?" if close else "; see `meshlint rules`"
                yield Finding(UNUSED, f"suppression names unknown rule {name!r}", sup.path, position=sup.at,
                              help=f"no rule is called {name!r}{hint}")
            elif slug in ran and (index, slug) not in used:
                yield Finding(UNUSED, f"suppression of {slug} matches no finding", sup.path, position=sup.at,
                              help="the problem is gone (or never was here): remove the suppression")
