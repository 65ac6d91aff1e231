"""A Terraform module's code: the `.tf` files of one folder, indexed by what they declare.

Variables, locals, resources, data sources, module calls and outputs are spread over the files of a folder;
this gathers them (with the file and pointer each is written at) so the evaluator can look them up.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import PurePosixPath

from meshlint.diagnostics import join_pointer
from meshlint.load import hcl_syntax as s
from meshlint.load.hcl import HclDocument
from meshlint.normalize.terraform.evaluate import Site

APPMESH = "aws_appmesh_"


@dataclass(frozen=True)
class TfFile:
    path: str  # as diagnostics show it
    doc: HclDocument


@dataclass(frozen=True)
class Declared:
    """A top-level block (or a `locals` attribute) and where it is written."""

    file: TfFile
    block: s.Block
    pointer: str

    def site(self, *tokens: str) -> Site:
        return Site(self.file.path, self.file.doc, join_pointer(self.pointer, *tokens))

    def attribute(self, name: str) -> s.Attribute | None:
        return self.block.body.attributes.get(name)


@dataclass(frozen=True)
class LocalValue:
    file: TfFile
    attribute: s.Attribute
    pointer: str

    def site(self) -> Site:
        return Site(self.file.path, self.file.doc, self.pointer)


@dataclass
class ModuleCode:
    folder: str  # the folder as diagnostics show it ("." for the current one)
    files: list[TfFile] = field(default_factory=list)
    tfvars: list[TfFile] = field(default_factory=list)
    variables: dict[str, Declared] = field(default_factory=dict)
    locals: dict[str, LocalValue] = field(default_factory=dict)
    resources: dict[tuple[str, str], Declared] = field(default_factory=dict)
    data: dict[tuple[str, str], Declared] = field(default_factory=dict)
    modules: dict[str, Declared] = field(default_factory=dict)
    outputs: dict[str, Declared] = field(default_factory=dict)

    def add(self, file: TfFile) -> None:
        if file.path.endswith(".tfvars"):
            self.tfvars.append(file)
            return
        self.files.append(file)
        for block, index in s.indexed_blocks(file.doc.body):
            pointer = join_pointer("", *s.block_tokens(block, index))
            found = Declared(file, block, pointer)
            labels = block.labels
            if block.type == "variable" and len(labels) == 1:
                self.variables.setdefault(labels[0], found)
            elif block.type == "locals":
                for name, attribute in block.body.attributes.items():
                    self.locals.setdefault(name, LocalValue(file, attribute, join_pointer(pointer, name)))
            elif block.type == "resource" and len(labels) == 2:
                self.resources.setdefault((labels[0], labels[1]), found)
            elif block.type == "data" and len(labels) == 2:
                self.data.setdefault((labels[0], labels[1]), found)
            elif block.type == "module" and len(labels) == 1:
                self.modules.setdefault(labels[0], found)
            elif block.type == "output" and len(labels) == 1:
                self.outputs.setdefault(labels[0], found)

    def appmesh_resources(self) -> list[Declared]:
        """App Mesh resource blocks in reading order (file by file, as written)."""
        return [d for (kind, _), d in self.resources.items() if kind.startswith(APPMESH)]

    def local_source(self, call: Declared) -> str | None:
        """The folder a `module` block's `source = "./x"` names (as diagnostics show folders), else None."""
        source = call.attribute("source")
        if source is None or not isinstance(source.expr, s.Lit) or not isinstance(source.expr.value, str):
            return None
        text = source.expr.value
        if not text.startswith(("./", "../")):
            return None
        return normalize_folder(f"{self.folder}/{text}")

    def source_text(self, call: Declared) -> str:
        source = call.attribute("source")
        return call.file.doc.text(source.expr) if source is not None else "(no source)"


def normalize_folder(path: str) -> str:
    parts: list[str] = []
    absolute = path.startswith("/")
    for part in PurePosixPath(path).parts[1 if absolute else 0:]:
        if part == "..":
            if parts and parts[-1] != "..":
                parts.pop()
            else:
                parts.append(part)
        elif part != ".":
            parts.append(part)
    return ("/" if absolute else "") + "/".join(parts) or "."
