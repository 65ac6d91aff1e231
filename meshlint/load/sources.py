"""Input files as parsed documents, plus the positions of everything in them.

`load_sources` reads and parses every input file once. A document read by the fast walk keeps a compact
position table (`ParsedDoc.marks`); for the others (JSON, YAML with duplicate keys or merge keys)
`SourceFile.span` composes the file's node trees again when a position is asked for. Either way only the
pointer's path is walked. This is the only module that turns a JSON Pointer into a line and column.

Resources read from CloudFormation or Kubernetes are translated into the API shape. Their pointers live
under a synthetic base `/~t<n>` (a token no real key produces: `~` is always escaped as `~0`), and the
adapter registers, per document, where each translated node came from (`SourceFile.translate`).
`original_pointer` maps such a pointer back to the user's document before any position is looked up.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from meshlint.diagnostics import Finding, Position, parent_pointer, split_pointer
from meshlint.load.files import Excluded, InputFile, Walked, discover, read_text
from meshlint.load.parse import (
    ParsedDoc,
    Problem,
    compose_roots,
    locate,
    locate_marked,
    parse_json,
    parse_text,
)
from meshlint.load.substitute import substitute_text
from meshlint.load.templated import is_appmesh_text, is_helm_template, looks_like, quoted_placeholders

TRANSLATED = "/~t"  # prefix of pointers into a translated (API-shaped) copy of a resource


def translated_base(index: int) -> str:
    return f"{TRANSLATED}{index}"


@dataclass
class SourceFile:
    input: InputFile
    text: str | None
    docs: list[ParsedDoc] = field(default_factory=list)
    readable: bool = True  # False when reading or parsing failed somewhere in the file
    rewritten: bool = False  # `text` is not the file's own: placeholders substituted or quoted before parsing
    _translations: dict[int, dict[str, str]] = field(default_factory=dict)

    @property
    def display(self) -> str:
        return self.input.display

    @property
    def empty(self) -> bool:
        """Read fine and holds no data at all (no documents, or only empty ones)."""
        return self.readable and all(is_blank(d.data) for d in self.docs)

    def lines(self) -> list[str]:
        return self.text.splitlines() if self.text else []

    def translate(self, doc: int, table: Mapping[str, str]) -> None:
        """Register translated pointers (`/~t<n>/...`) of document `doc` -> pointers into the original."""
        self._translations.setdefault(doc, {}).update(table)

    def original_pointer(self, doc: int, pointer: str) -> str:
        """`pointer` in the user's document: a translated pointer maps to its nearest registered ancestor."""
        if not pointer.startswith(TRANSLATED):
            return pointer
        table = self._translations.get(doc, {})
        probe = pointer
        while probe:
            if probe in table:
                return table[probe]
            probe = parent_pointer(probe)
        return ""

    def span(self, doc: int, pointer: str, *, at_key: bool = False) -> Position:
        """Position of the value (or key) at `pointer`; the nearest enclosing node when it is absent."""
        if pointer.startswith(TRANSLATED):
            at_key = at_key and pointer in self._translations.get(doc, {})
            pointer = self.original_pointer(doc, pointer)
        if doc >= len(self.docs):
            return Position(1, 1)
        parsed = self.docs[doc]
        if parsed.marks is not None:
            return locate_marked(parsed.data, parsed.marks, split_pointer(pointer), at_key)
        roots = self._node_roots()
        index = self.docs[doc].stream_index
        if index >= len(roots):
            return self.docs[doc].start
        return locate(roots[index], split_pointer(pointer), at_key)

    def _node_roots(self) -> list[Any]:
        """The composed YAML node trees. Only the most recently asked file keeps them: callers look positions
        up file by file, and keeping every file's trees would hold the whole input twice."""
        global _recent
        if _recent is None or _recent[0] is not self:
            _recent = (self, compose_roots(self.text or ""))
        return _recent[1]

    @property
    def _is_json(self) -> bool:
        return self.input.display.endswith(".json")


_recent: tuple[SourceFile, list[Any]] | None = None


@dataclass
class Sources:
    files: list[SourceFile]
    findings: list[Finding]
    walked: Walked = field(default_factory=Walked)  # what folder walks left out on purpose
    paths: list[str] = field(default_factory=list)  # as given (files, folders, "-")

    def by_display(self) -> dict[str, SourceFile]:
        return {f.display: f for f in self.files}


def load_sources(paths: Iterable[str], exclude: Iterable[Path] = (),
                 substitutions: Mapping[str, str] | None = None, excluded: Excluded | None = None) -> Sources:
    """Read and parse every input. Raises UsageError only for paths that do not exist.

    `substitutions`: fill template placeholders in the text first (load.substitute, like envsubst).
    `exclude` / `excluded`: what folder walks leave out (load.files.discover)."""
    paths = list(paths)
    inputs, findings, walked = discover(paths, exclude, excluded)
    files: list[SourceFile] = []
    for item in inputs:
        text, problem = read_text(item)
        if problem is not None:
            findings.append(problem)
            files.append(SourceFile(item, None, readable=False))
            continue
        assert text is not None
        rewritten = substitutions is not None
        if substitutions is not None:
            text = substitute_text(text, substitutions)
        text, docs, problems, quoted = _parse(text, item.display)
        if any(p.fatal and p.message.startswith("not valid") for p in problems) and (
                is_helm_template(text) or not is_appmesh_text(text)):
            what, help_text = looks_like(text, item.display)
            findings.append(Finding("ignored-input", f"{what}: not read ({problems[0].message})", item.display,
                                    position=Position(1, 1), help=help_text))
            files.append(SourceFile(item, text, readable=False))
            continue
        if problems and not any(p.fatal for p in problems) and not is_appmesh_text(text):
            problems = []  # a duplicate key in another tool's file (a CloudFormation template of EKS): not ours
        for p in problems:
            findings.append(Finding("parse-error", p.message, item.display, position=p.position, help=p.help))
        files.append(SourceFile(item, text, docs, readable=not any(p.fatal for p in problems),
                                rewritten=rewritten or quoted))
    return Sources(files, findings, walked, paths)


def _parse(text: str, display: str) -> tuple[str, list[ParsedDoc], list[Problem], bool]:
    """(the text parsed, its documents, problems, whether placeholders had to be quoted): a file that parses
    only once its standalone template placeholders are quoted is read that way (load.templated)."""
    parse = parse_json if display.endswith(".json") else parse_text
    docs, problems = parse(text, record=False)
    if any(p.fatal for p in problems):
        quoted = quoted_placeholders(text)
        if quoted is not None:
            retried, again = parse(quoted, record=False)
            if not any(p.fatal for p in again):
                return quoted, retried, again, True
    return text, docs, problems, False


def is_blank(data: Any) -> bool:
    return data is None or data == {} or data == []
