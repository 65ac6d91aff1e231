"""Input files as parsed documents, plus the positions of everything in them.

`load_sources` reads and parses every input file once. A document read by the fast walk keeps a compact
position table (`ParsedDoc.marks`); for the others (JSON, YAML with duplicate keys or merge keys)
`SourceFile.span` composes the file's node trees again when a position is asked for. Either way only the
pointer's path is walked. This is the only module that turns a JSON Pointer into a line and column.

Resources read from CloudFormation or Kubernetes are translated into the API shape. Their pointers live
under a synthetic base `/~t<n>` (a token no real key produces: `~` is always escaped as `~0`), and the
adapter registers, per document, where each translated node came from (`SourceFile.translate`).
`original_pointer` maps such a pointer back to the user's document before any position is looked up.

`SourceFile.value_span` is what `--fix` edits through: the characters of one value in the file as it is on
disk (before any template substitution). Every input format implements it for its documents.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from meshlint.diagnostics import Finding, Position, parent_pointer, split_pointer
from meshlint.load.files import Excluded, InputFile, Walked, discover, read_text
from meshlint.load.parse import (
    HCL_SUFFIXES,
    NodeIndex,
    ParsedDoc,
    Problem,
    compose_roots,
    locate,
    locate_marked,
    parse_hcl_doc,
    parse_json,
    parse_text,
)
from meshlint.load.spans import find_node
from meshlint.load.substitute import Substituted, substitute
from meshlint.load.templated import Quoted, is_appmesh_text, is_helm_template, looks_like, quote_placeholders

TRANSLATED = "/~t"  # prefix of pointers into a translated (API-shaped) copy of a resource


def translated_base(index: int) -> str:
    return f"{TRANSLATED}{index}"


@dataclass
class SourceFile:
    input: InputFile
    text: str | None
    docs: list[ParsedDoc] = field(default_factory=list)
    readable: bool = True  # False when reading or parsing failed somewhere in the file
    substituted: Substituted | None = None  # how `text` was filled in from the file's text, if it was
    quoted: Quoted | None = None  # the placeholders quoted so that the file parses (load.templated), if any
    _translations: dict[int, dict[str, str]] = field(default_factory=dict)
    _lines: list[str] | None = field(default=None, repr=False)

    @property
    def display(self) -> str:
        return self.input.display

    def file_for(self, doc: int, pointer: str) -> str:
        """The file a finding at (doc, pointer) of this source is in: this one (see UnitSource)."""
        return self.input.display

    @property
    def empty(self) -> bool:
        """Read fine and holds no data at all (no documents, or only empty ones)."""
        return self.readable and all(is_blank(d.data) for d in self.docs)

    @property
    def file_text(self) -> str | None:
        """The text as the file holds it (decoded, without a BOM); `text` is what was parsed: placeholders
        filled, or quoted where they broke the syntax."""
        if self.substituted is not None:
            return self.substituted.original
        return self.quoted.original if self.quoted is not None else self.text

    def lines(self) -> list[str]:
        """The lines diagnostics quote: the file's own, placeholders as written (or as filled in). Split once:
        a caller may ask for them once per diagnostic."""
        if self._lines is None:
            self._lines = self.split_lines()
        return self._lines

    def split_lines(self) -> list[str]:
        """`lines()`, split anew and not kept: for a reader that goes file by file and keeps only the lines of
        the file at hand (the text report), since keeping every file's would hold the whole input twice."""
        text = self.quoted.original if self.quoted is not None else self.text
        return text.splitlines() if text else []

    def keep_positions_only(self) -> None:
        """Let the documents' data and position tables go: `span` composes the file again when a position is
        asked for (as it does for JSON). For `build` once check is done: the compiler reads the model, not the
        documents, which with their tables are a fifth of a large mesh's memory. Terraform documents stay (their
        positions come from their syntax tree); `empty`, `--fix` and suppressions need the data (ask them first).
        """
        for doc in self.docs:
            if doc.hcl is None:
                doc.data, doc.marks, doc.index = None, None, {}

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

    def translated_from(self, doc: int, pointer: str) -> str | None:
        """The pointer in the user's document of exactly the node at `pointer` (a translated pointer must be
        registered itself, not through an ancestor); None when it is not."""
        if not pointer.startswith(TRANSLATED):
            return pointer
        return self._translations.get(doc, {}).get(pointer)

    def value_span(self, doc: int, pointer: str) -> tuple[int, int] | None:
        """`[start, end)` character offsets into `file_text` of the scalar value at `pointer` (in the user's
        document `doc`, not a translated pointer), quotes included: the text an edit of that value replaces.

        None when there is no such text to edit: no such document or node, or a key on the path written
        twice; a mapping or sequence; a node with a tag, anchor or alias (`!Ref X`, `!!int 8`, `&w 8`,
        `*w`: it is not written as a plain value, or editing it would change others); a value a template
        substitution wrote or touches (`weight: ${W}`).

        This is all `--fix` needs from a format: YAML and JSON documents are answered here, from libyaml's
        node marks; another input format answers it for its own documents (and `parser_for` reads it)."""
        if self.text is None or doc >= len(self.docs) or self.quoted is not None:
            return None  # (a file read with its placeholders quoted is not edited: fix the template itself)
        hcl = self.docs[doc].hcl
        if hcl is not None:
            return hcl.value_span(split_pointer(pointer))
        roots = self._node_roots()
        index = self.docs[doc].stream_index
        node = find_node(roots[index], split_pointer(pointer)) if index < len(roots) else None
        if not isinstance(node, yaml.ScalarNode):
            return None
        start, end = node.start_mark.index, node.end_mark.index
        if end <= start or self.text[start] in "!&*":
            return None
        return self.substituted.original_span(start, end) if self.substituted is not None else (start, end)

    def reparse(self, file_text: str) -> tuple[list[ParsedDoc], list[Problem]]:
        """Documents of `file_text` read as this file's were: same format, same substitution (`--fix` checks
        its result with it)."""
        if self.substituted is not None:
            file_text = substitute(file_text, self.substituted.values).text
        return parser_for(self.input)(file_text, record=False)

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
            found = locate_marked(parsed.data, parsed.marks, split_pointer(pointer), at_key, parsed.index)
        else:
            roots, nodes = self._composed()
            index = self.docs[doc].stream_index
            if index >= len(roots):
                return self.docs[doc].start
            found = locate(roots[index], split_pointer(pointer), at_key, nodes)
        return self.quoted.original_position(found) if self.quoted is not None else found

    def _node_roots(self) -> list[Any]:
        return self._composed()[0]

    def _composed(self) -> tuple[list[Any], NodeIndex]:
        """The composed YAML node trees, and the index `locate` keeps of them. Only the most recently asked
        file keeps them: callers look positions up file by file, and keeping every file's trees would hold
        the whole input twice."""
        global _recent
        if _recent is None or _recent[0] is not self:
            _recent = (self, compose_roots(self.text or ""), {})
        return _recent[1], _recent[2]

    @property
    def _is_json(self) -> bool:
        return self.input.display.endswith(".json")


_recent: tuple[SourceFile, list[Any], NodeIndex] | None = None


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
    walked: Walked = field(default_factory=Walked)  # what folder walks left out on purpose
    paths: list[str] = field(default_factory=list)  # as given (files, folders, "-")
    units: list[SourceFile] = field(default_factory=list)  # Terraform module folders (UnitSource)

    def by_display(self) -> dict[str, SourceFile]:
        return {f.display: f for f in (*self.files, *self.units)}


def load_sources(paths: Iterable[str], exclude: Iterable[Path] = (),
                 substitutions: Mapping[str, str] | None = None, excluded: Excluded | None = None) -> Sources:
    """Read and parse every input. Raises UsageError only for paths that do not exist.

    `substitutions`: fill template placeholders in the text first (load.substitute, like envsubst).
    `exclude` / `excluded`: what folder walks leave out (load.files.discover)."""
    paths = list(paths)
    inputs, findings, walked = discover(paths, exclude, excluded)
    files: list[SourceFile] = []
    unparsed_tf: list[tuple[str, list[Problem]]] = []
    for item in inputs:
        text, problem = read_text(item)
        if problem is not None:
            findings.append(problem)
            files.append(SourceFile(item, None, readable=False))
            continue
        assert text is not None
        substituted = substitute(text, substitutions) if substitutions is not None else None
        if substituted is not None:
            text = substituted.text
            substituted = substituted if substituted.replaced else None
        docs, problems = parser_for(item)(text, record=False)
        hcl = item.display.endswith(HCL_SUFFIXES)  # `${...}` is HCL's own interpolation: never quoted
        quoted = quote_placeholders(text) if any(p.fatal for p in problems) and not hcl else None
        if quoted is not None:  # a file that parses once its standalone placeholders are quoted is read so
            retried, again = parser_for(item)(quoted.text, record=False)
            if any(p.fatal for p in again):
                quoted = None
            else:
                text, docs, problems = quoted.text, retried, again
        if not hcl and any(p.fatal and _unparsed(p) for p in problems) and (
                is_helm_template(text) or not is_appmesh_text(text)):  # (a module's .tf files are read as one)
            what, help_text = looks_like(text, item.display)
            findings.append(Finding("ignored-input", f"{what}: not read ({problems[0].message})", item.display,
                                    position=Position(1, 1), help=help_text))
            files.append(SourceFile(item, text, readable=False))
            continue
        readable = not any(p.fatal for p in problems)  # every document read (one refused is not: never "empty")
        if problems and not is_appmesh_text(text):  # another tool's file: its duplicate keys (a CloudFormation
            # template of EKS) and merge keys (docker-compose, a Rails config) are its own
            problems = [p for p in problems if p.fatal and not p.foreign]
        if item.display.endswith(".tf") and any(p.fatal and _unparsed(p) for p in problems):
            unparsed_tf.append((item.display, problems))  # judged once every module's files are known
        else:
            findings += [_parse_error(item.display, p) for p in problems]
        files.append(SourceFile(item, text, docs, readable=readable, substituted=substituted, quoted=quoted))
    if unparsed_tf:
        findings += _terraform_problems(unparsed_tf, files)
    return Sources(files, findings, walked, paths)


def _unparsed(problem: Problem) -> bool:
    return problem.message.startswith("not valid")


def _parse_error(display: str, problem: Problem) -> Finding:
    return Finding("parse-error", problem.message, display, position=problem.position, help=problem.help)


def _terraform_problems(unparsed: list[tuple[str, list[Problem]]], files: list[SourceFile]) -> list[Finding]:
    """A Terraform file that does not parse matters to the module it belongs to (its folder: a module's .tf files
    are read as one); in a folder where no .tf file names App Mesh (a VPC example beside the mesh module, written
    for Terraform 0.11) it is another module's business, only noted."""
    meshed = {posixpath.dirname(f.display) for f in files
              if f.display.endswith(HCL_SUFFIXES) and f.text is not None and is_appmesh_text(f.text)}
    out: list[Finding] = []
    for display, problems in unparsed:
        for p in problems:
            if posixpath.dirname(display) in meshed or not _unparsed(p):
                out.append(_parse_error(display, p))
            else:
                out.append(Finding("ignored-input", "a Terraform file of a module that declares no App Mesh resource: "
                                   f"not read ({p.message})", display, position=p.position,
                                   help="nothing to do; --exclude it to stop this note"))
    return out


def parser_for(item: InputFile) -> Callable[..., tuple[list[ParsedDoc], list[Problem]]]:
    """The parser of the file's format (`parse(text, record=...)`)."""
    if item.display.endswith(HCL_SUFFIXES):
        return parse_hcl_doc
    return parse_json if item.display.endswith(".json") else parse_text


def is_blank(data: Any) -> bool:
    return data is None or data == {} or data == []
