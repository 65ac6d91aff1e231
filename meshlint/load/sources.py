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
from meshlint.load.files import InputFile, discover, read_text
from meshlint.load.parse import (
    HCL_SUFFIXES,
    ParsedDoc,
    compose_roots,
    locate,
    locate_marked,
    parse_hcl_doc,
    parse_json,
    parse_text,
)
from meshlint.load.substitute import substitute_text

TRANSLATED = "/~t"  # prefix of pointers into a translated (API-shaped) copy of a resource


def translated_base(index: int) -> str:
    return f"{TRANSLATED}{index}"


@dataclass
class SourceFile:
    input: InputFile
    text: str | None
    docs: list[ParsedDoc] = field(default_factory=list)
    readable: bool = True  # False when reading or parsing failed somewhere in the file
    _translations: dict[int, dict[str, str]] = field(default_factory=dict)

    @property
    def display(self) -> str:
        return self.input.display

    def file_for(self, doc: int, pointer: str) -> str:
        """The file a finding at (doc, pointer) of this source is in: this one (see UnitSource)."""
        return self.input.display

    def value_span(self, doc: int, pointer: str) -> tuple[int, int] | None:
        """(start, end) character offsets in `text` of the scalar value at `pointer` (translated pointers map
        back first); None when it is not a literal written there. Answered for HCL documents."""
        if doc >= len(self.docs) or self.docs[doc].hcl is None:
            return None
        document = self.docs[doc].hcl
        assert document is not None
        return document.value_span(split_pointer(self.original_pointer(doc, pointer)))

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
        if parsed.hcl is not None:
            return parsed.hcl.locate(split_pointer(pointer), at_key)
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
class UnitSource(SourceFile):
    """A Terraform module folder: the file (`Origin.path`) of the resources read from it and the modules it
    calls. It holds no text; a finding on one of its resources belongs to the `.tf` file that resource is
    written in (`parts`: translated base -> that file), where its position is looked up."""

    parts: dict[str, str] = field(default_factory=dict)

    @classmethod
    def for_folder(cls, folder: str) -> UnitSource:
        return cls(InputFile(None, folder, False), None)

    def file_for(self, doc: int, pointer: str) -> str:
        base = pointer[: pointer.find("/", 1)] if pointer.count("/") > 1 else pointer
        return self.parts.get(base, next(iter(self.parts.values()), self.display))


@dataclass
class Sources:
    files: list[SourceFile]
    findings: list[Finding]
    units: list[SourceFile] = field(default_factory=list)  # Terraform module folders (UnitSource)

    def by_display(self) -> dict[str, SourceFile]:
        return {f.display: f for f in (*self.files, *self.units)}


def load_sources(paths: Iterable[str], exclude: Iterable[Path] = (),
                 substitutions: Mapping[str, str] | None = None) -> Sources:
    """Read and parse every input. Raises UsageError only for paths that do not exist.

    `substitutions`: fill template placeholders in the text first (load.substitute, like envsubst)."""
    inputs, findings = discover(paths, exclude)
    files: list[SourceFile] = []
    for item in inputs:
        text, problem = read_text(item)
        if problem is not None:
            findings.append(problem)
            files.append(SourceFile(item, None, readable=False))
            continue
        assert text is not None
        if substitutions is not None:
            text = substitute_text(text, substitutions)
        parse = parse_json if item.display.endswith(".json") else parse_hcl_doc if item.display.endswith(
            HCL_SUFFIXES) else parse_text
        docs, problems = parse(text, record=False)
        for p in problems:
            findings.append(Finding("parse-error", p.message, item.display, position=p.position, help=p.help))
        files.append(SourceFile(item, text, docs, readable=not any(p.fatal for p in problems)))
    return Sources(files, findings)


def is_blank(data: Any) -> bool:
    return data is None or data == {} or data == []
