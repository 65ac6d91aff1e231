"""Terraform modules (folders of `.tf` files) -> App Mesh resources in the API shape.

Each folder among the inputs is one module; a folder another one calls (`source = "./modules/x"`) is read
through that call, with its inputs, and not on its own. Every `aws_appmesh_*` resource instance (count,
for_each) is evaluated, converted as the provider would send it and checked like any other resource. The
resources of a root module and of the modules it calls have the root folder as their file
(`Origin.path`), so that resources sharing an unknown mesh name stay together; positions still point into
the `.tf` file each one is written in (`load.sources.UnitSource`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from meshlint.diagnostics import Finding, join_pointer
from meshlint.load import hcl_syntax as s
from meshlint.load.files import display_path
from meshlint.load.sources import SourceFile, UnitSource, translated_base
from meshlint.model.entities import Origin
from meshlint.normalize.appmesh_api import RawResource, read_resource
from meshlint.normalize.shape import Translation
from meshlint.normalize.terraform import mapping
from meshlint.normalize.terraform.code import Declared, ModuleCode, TfFile, normalize_folder
from meshlint.normalize.terraform.convert import META, Body, Converter, Value
from meshlint.normalize.terraform.evaluate import Evaluator, Names, Site
from meshlint.normalize.terraform.module import RULE, Instance, ModuleInstance, Reporter
from meshlint.normalize.terraform.values import Unknown, as_list, known


@dataclass
class Read:
    raws: list[RawResource] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    units: list[UnitSource] = field(default_factory=list)


def read_modules(files: Iterable[SourceFile], parameters: Mapping[str, str]) -> Read:
    codes: dict[str, ModuleCode] = {}
    sources: dict[str, SourceFile] = {}
    for source in files:
        document = source.docs[0].hcl if source.docs else None
        if document is None:
            continue
        folder = _folder(source)
        codes.setdefault(folder, ModuleCode(folder)).add(TfFile(source.display, document))
        sources[source.display] = source
    called = {target for code in codes.values() for call in code.modules.values()
              if (target := code.local_source(call)) is not None and target != code.folder}
    out = Read()
    for folder, code in sorted(codes.items()):
        if folder in called or not code.files:
            continue
        unit = _Unit(folder, sources, out)
        root = ModuleInstance(code, codes, unit.reporter, {}, parameters)
        unit.read(root, "")
        out.findings.extend(unit.reporter.findings)
        out.units.append(unit.source)
    return out


def _folder(source: SourceFile) -> str:
    path = source.input.path
    if path is None:
        return "."
    return normalize_folder(display_path(path.parent)) if path.parent.parts else "."


class _Unit:
    """One root module's resources, its findings and where each resource is written."""

    def __init__(self, folder: str, sources: Mapping[str, SourceFile], out: Read) -> None:
        self.folder = folder
        self.sources = sources
        self.out = out
        self.reporter = Reporter()
        self.source = UnitSource.for_folder(folder)
        self.count = 0
        self.partial_noted: set[str] = set()

    def read(self, module: ModuleInstance, prefix: str) -> None:
        for declared in module.code.appmesh_resources():
            found = mapping.resources().get(declared.block.labels[0])
            if found is None:
                continue
            kind, node = found
            for instance in module.instances(declared):
                self.resource(module, declared, instance, kind, node, prefix)
        for name in module.code.modules:
            for index, child in enumerate(module.children(name) or ()):
                self.read(child, f"{prefix}module.{name}{_suffix(module.code.modules[name], index)}.")

    def resource(self, module: ModuleInstance, declared: Declared, instance: Instance, kind: str,
                 node: mapping.NodeSpec, prefix: str) -> None:
        body = evaluate_body(module, declared.block.body, instance.names, declared.file, declared.pointer, True)
        base = translated_base(self.count)
        self.count += 1
        key = "" if instance.key is None else f"[{instance.key!r}]".replace("'", '"')
        converter = Converter(f"{prefix}{instance.address}{key}", declared.file.path, Translation(base))
        obj = converter.resource_object(node, body)
        if converter.partial:  # a `dynamic "spec"` of unknown for_each: a spec is written, its content unknown
            obj.setdefault("spec", {})
        raw, notes = read_resource(kind, obj, Origin(self.folder, 0, base))
        if converter.partial:  # declared (its names resolve references), but no rule judges a spec with holes
            spec = join_pointer(base, "spec")
            notes = [n for n in notes if not (n.rule == "schema" and n.pointer.startswith(spec))]
            raw = replace(raw, valid=False) if raw is not None else None
            self._note_partial(declared, converter)
        self.out.findings.extend([*converter.findings, *notes])
        if raw is not None:
            self.out.raws.append(raw)
        self.sources[declared.file.path].translate(0, converter.out.table)
        self.source.parts[base] = declared.file.path

    def _note_partial(self, declared: Declared, converter: Converter) -> None:
        if declared.pointer in self.partial_noted:
            return
        self.partial_noted.add(declared.pointer)
        self.out.findings.append(Finding(
            RULE, f"{converter.resource}: dynamic blocks {', '.join(converter.partial)} have an unknown for_each, "
            "so its spec is incomplete and is not checked", declared.file.path,
            declared.pointer, help="give the module's inputs (--parameter, a .tfvars file) to check the whole spec"))


def _suffix(call: Declared, index: int) -> str:
    attrs = call.block.body.attributes
    return f"[{index}]" if "count" in attrs or "for_each" in attrs else ""


def evaluate_body(module: ModuleInstance, body: s.Body, names: Names, file: TfFile, pointer: str, top: bool) -> Body:
    out = Body(pointer)
    for name, attribute in body.attributes.items():
        if top and name in META:
            continue
        at = f"{pointer}/{name}"  # an HCL identifier holds neither "/" nor "~"
        out.attrs[name] = Value(Evaluator(module, Site(file.path, file.doc, at)).value(attribute.expr, names), at)
    for block, index in s.indexed_blocks(body):
        at = join_pointer(pointer, *s.block_tokens(block, index))
        if top and block.type in META:
            continue
        if block.type == "dynamic" and block.labels:
            _dynamic(module, block, names, file, at, out)
        else:
            out.blocks.setdefault(block.type, []).append(evaluate_body(module, block.body, names, file, at, False))
    return out


def _dynamic(module: ModuleInstance, block: s.Block, names: Names, file: TfFile, at: str, out: Body) -> None:
    """`dynamic "x" { for_each = ...; content { ... } }`: one `x` block per element."""
    label = block.labels[0]
    attrs = block.body.attributes
    iterator = attrs["iterator"].expr.name if "iterator" in attrs and isinstance(attrs["iterator"].expr, s.Ref) \
        else label
    content = block.body.blocks_of("content")
    if "for_each" not in attrs or not content:
        return
    ev = Evaluator(module, Site(file.path, file.doc, join_pointer(at, "for_each")))
    collection = ev.value(attrs["for_each"].expr, names)
    if isinstance(collection, Unknown) or (not collection and module.depends_on_default(attrs["for_each"].expr)):
        # empty only by a variable's default: which of these blocks the module's users write is not known
        shown = collection.text if isinstance(collection, Unknown) else ev.text(attrs["for_each"].expr)
        out.unknown.append(f"{label} (for_each = {shown})")
        return
    try:
        pairs: list[tuple[Any, Any]] = sorted(known(collection).items()) if isinstance(collection, dict) else \
            list(enumerate(as_list(collection)))
    except Exception:
        out.unknown.append(f"{label} (for_each = {ev.text(attrs['for_each'].expr)})")
        return
    content_at = join_pointer(at, "content", "0")
    for key, value in pairs:
        scope = {**names, iterator: {"key": key, "value": value}}
        out.blocks.setdefault(label, []).append(evaluate_body(module, content[0].body, scope, file, content_at,
                                                              False))
