"""Diagnostics: the one currency every stage trades in.

A *finding* is what a loader or a rule knows: which rule, which place (a document and a JSON Pointer into
it, or an explicit position for text that never became data), and the message parts. The engine turns
findings into *diagnostics* by stamping the rule's code, its configured severity and the source span.
This module is a leaf: it imports nothing from the rest of meshlint.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from enum import IntEnum


class Severity(IntEnum):
    INFO = 1
    WARNING = 2
    ERROR = 3

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> Severity:
        try:
            return cls[text.upper()]
        except KeyError:
            raise ValueError(f"unknown severity {text!r} (use error, warning or info)") from None


@dataclass(frozen=True, slots=True, order=True)
class Position:
    """1-based line and column."""

    line: int
    column: int


@dataclass(frozen=True, slots=True)
class ResourceRef:
    kind: str
    mesh: str
    name: str  # "<router>/<route>" for routes, "<gateway>/<route>" for gateway routes

    def to_json(self) -> dict[str, str]:
        return {"kind": self.kind, "mesh": self.mesh, "name": self.name}

    def __str__(self) -> str:
        return f"{self.kind} {self.name} (mesh {self.mesh})"


@dataclass(frozen=True, slots=True)
class Fix:
    """A safe, mechanical fix: new values for scalars at JSON Pointers in one document of a finding's file."""

    description: str
    doc: int
    edits: tuple[tuple[str, str | int | float | bool], ...]  # (pointer, new value)


@dataclass(frozen=True, slots=True)
class Finding:
    """What a rule or the loader reports. Position is resolved later from (path, doc, pointer)."""

    rule: str
    message: str
    path: str
    pointer: str = ""
    doc: int = 0
    help: str | None = None
    resource: ResourceRef | None = None
    at_key: bool = False  # point at the mapping key named by the pointer rather than its value
    position: Position | None = None  # given only where no document exists (syntax errors, encoding)
    fix: Fix | None = None  # what `meshlint check --fix` may apply


@dataclass(frozen=True, slots=True)
class Diagnostic:
    rule: str
    code: str
    severity: Severity
    message: str
    path: str
    line: int
    column: int
    pointer: str = ""
    help: str | None = None
    resource: ResourceRef | None = None
    fix: Fix | None = field(default=None, compare=False)

    @property
    def sort_key(self) -> tuple[str, int, int, str, str, str, str, str, str, str, int, str]:
        """A total order: two diagnostics that differ in anything shown sort the same way whatever order the
        files were given or found in (by position first, then by everything else)."""
        res = self.resource
        return (self.path, self.line, self.column, self.rule, self.message, self.pointer,
                res.kind if res else "", res.mesh if res else "", res.name if res else "", self.code,
                int(self.severity), self.help or "")

    @property
    def fingerprint(self) -> str:
        """Stable across line moves: rule + resource + pointer + message."""
        res = self.resource
        basis = "\x1f".join(
            [self.rule, self.path if res is None else f"{res.kind}/{res.mesh}/{res.name}", self.pointer,
             self.message]
        )
        # surrogatepass: a lone surrogate (a JSON "\ud800" escape in a name) is data too, never a crash
        return hashlib.sha256(basis.encode("utf-8", "surrogatepass")).hexdigest()[:16]

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {
            "rule": self.rule,
            "code": self.code,
            "severity": self.severity.label,
            "message": self.message,
            "path": self.path,
            "line": self.line,
            "column": self.column,
            "resource": self.resource.to_json() if self.resource else None,
        }
        if self.help:
            out["help"] = self.help
        if self.pointer:
            out["pointer"] = self.pointer
        out["fingerprint"] = self.fingerprint
        return out


def escape_pointer_token(token: str | int) -> str:
    return str(token).replace("~", "~0").replace("/", "~1")


def join_pointer(base: str, *tokens: str | int) -> str:
    # Hot: rules and the graph build a pointer for every reference they record.
    out = base
    for token in tokens:
        text = token if type(token) is str else str(token)
        if "~" in text or "/" in text:
            text = escape_pointer_token(text)
        out += "/" + text
    return out


def split_pointer(pointer: str) -> list[str]:
    if not pointer:
        return []
    return [t.replace("~1", "/").replace("~0", "~") for t in pointer[1:].split("/")]


def parent_pointer(pointer: str) -> str:
    return pointer.rsplit("/", 1)[0] if pointer else ""
