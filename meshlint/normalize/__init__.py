"""Documents of every supported format -> one typed MeshModel, plus findings about the input itself."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from meshlint.diagnostics import Finding, Position, join_pointer
from meshlint.load.sources import SourceFile, Sources, is_blank
from meshlint.load.substitute import PLACEHOLDER
from meshlint.model import entities as e
from meshlint.model.spec import SPEC_BY_KIND
from meshlint.normalize import appmesh_api, cloudformation, kubernetes, templates, terraform
from meshlint.normalize.appmesh_api import RawResource

_ENTITY: dict[str, type[e.Resource]] = {
    "Mesh": e.Mesh, "VirtualService": e.VirtualService, "VirtualRouter": e.VirtualRouter, "Route": e.Route,
    "VirtualNode": e.VirtualNode, "VirtualGateway": e.VirtualGateway, "GatewayRoute": e.GatewayRoute,
}
_TABLE = {
    "Mesh": "meshes", "VirtualService": "services", "VirtualRouter": "routers", "Route": "routes",
    "VirtualNode": "nodes", "VirtualGateway": "gateways", "GatewayRoute": "gateway_routes",
}


@dataclass
class Normalized:
    model: e.MeshModel
    findings: list[Finding] = field(default_factory=list)
    files: int = 0
    resources: int = 0


@dataclass(frozen=True)
class InputOptions:
    """How to read templated and parameterised input (CLI: --parameter, --substitute-env, --env-file,
    --name-fragment)."""

    parameters: Mapping[str, str] = field(default_factory=dict)  # CloudFormation parameter values
    substitutions: Mapping[str, str] | None = None  # placeholder values (used by load_sources)
    fragments: Mapping[str, str] = field(default_factory=dict)  # path -> "Kind:mesh/name" for CLI fragments


def normalize(sources: Sources, *, verbose: bool = False, options: InputOptions | None = None) -> Normalized:
    options = options or InputOptions()
    raws: list[RawResource] = []
    findings: list[Finding] = []
    cluster = kubernetes.Cluster()
    for source in sources.files:
        if terraform.is_terraform(source.display):
            continue  # read per module folder, below
        found, notes = _read_file(source, verbose, options, cluster)
        raws.extend(found)
        findings.extend(notes)
    modules = terraform.read_modules([s for s in sources.files if terraform.is_terraform(s.display)],
                                     options.parameters)
    raws.extend(modules.raws)
    findings.extend(modules.findings)
    sources.units.extend(modules.units)
    by_path = sources.by_display()
    raws.extend(raw for raw, _ in cluster.read())
    findings.extend(cluster.findings)
    order = {source.display: position for position, source in enumerate([*sources.files, *sources.units])}
    raws.sort(key=lambda raw: (order.get(raw.origin.path, 0), raw.origin.doc))  # stable: file order wins
    for path, doc, table in cluster.tables:
        by_path[path].translate(doc, table)
    model, invalid = build_model(raws)
    findings.extend(invalid)
    return Normalized(model, findings, files=len(sources.files), resources=len(raws))


def _read_file(source: SourceFile, verbose: bool, options: InputOptions, cluster: kubernetes.Cluster,
               ) -> tuple[list[RawResource], list[Finding]]:
    raws: list[RawResource] = []
    findings: list[Finding] = []
    if source.empty:
        findings.append(Finding("ignored-input", "empty file", source.display, position=Position(1, 1)))
        return raws, findings
    skipped: list[str] = []
    recognised = False
    templated = _may_hold_placeholders(source.text)
    for index, doc in enumerate(source.docs):
        origin = e.Origin(source.display, index)
        data = doc.data
        detected = appmesh_api.detect(data)
        if detected is not None:
            kind, base, obj = detected
            raw, notes = appmesh_api.read_resource(kind, obj, e.Origin(source.display, index, base))
            findings.extend(notes)
            if templated:
                findings.extend(_placeholder_findings(data, origin))
            if raw is not None:
                raws.append(raw)
        elif terraform.is_plan(data):
            found, notes, table = terraform.read_plan(data, source.display, index)
            source.translate(index, table)
            raws.extend(found)
            findings.extend(notes)
            recognised = True
        elif cloudformation.is_template(data):
            for logical_id in sorted(cloudformation.appmesh_resources(data)) if templated else ():
                findings.extend(_placeholder_findings(data["Resources"][logical_id], origin,
                                                      join_pointer("", "Resources", logical_id)))
            found, notes, table = cloudformation.read_template(data, source.display, index, options.parameters)
            source.translate(index, table)
            raws.extend(found)
            findings.extend(notes)
            recognised = True
        elif isinstance(data, dict) and "apiVersion" in data and "kind" in data:
            cluster.add(source.display, index, data)
            if kubernetes.is_appmesh(data):
                recognised = True
                if templated:
                    findings.extend(_placeholder_findings(data, origin))
        elif appmesh_api.looks_like_fragment(data):
            if templated:
                findings.extend(_placeholder_findings(data, origin))
            named = _fragment_name(source, options.fragments)
            if named is None:
                findings.append(appmesh_api.fragment_finding(data, origin))
                continue
            raw, notes = appmesh_api.read_resource(named[0], {**named[1], **data}, origin)
            findings.extend(notes)
            if raw is not None:
                raws.append(raw)
        elif not is_blank(data):
            skipped.append(str(index + 1))
    if skipped and not raws and not recognised and (source.input.explicit or verbose):
        findings.append(Finding("ignored-input", "no App Mesh resource in this file", source.display,
                                help="meshlint reads the App Mesh API shape (meshName + spec), CloudFormation "
                                     "AWS::AppMesh::* resources and appmesh.k8s.aws/v1beta2 custom resources",
                                position=Position(1, 1)))
    return raws, findings


def parse_fragment_name(text: str) -> tuple[str, dict[str, str]]:
    """`Kind:mesh/name` (`Route:mesh/router/name`, `GatewayRoute:mesh/gateway/name`) -> (kind, name keys).
    Raises ValueError saying what is wrong."""
    kind, _, names = text.partition(":")
    if kind not in _ENTITY:
        raise ValueError(f"{text!r}: expected KIND:MESH/NAME with KIND one of {', '.join(_ENTITY)}")
    parts = names.split("/")
    keys = ["meshName", appmesh_api.PARENT_KEY.get(kind), appmesh_api.NAME_KEY[kind]]
    wanted = [k for k in keys if k]
    if kind == "Mesh":
        wanted = ["meshName"]
    if len(parts) != len(wanted) or not all(parts):
        shape = "/".join(w.removesuffix("Name").upper() for w in wanted)
        raise ValueError(f"{text!r}: a {kind} is named {kind}:{shape}")
    return kind, dict(zip(wanted, parts, strict=True))


def _fragment_name(source: SourceFile, fragments: Mapping[str, str]) -> tuple[str, dict[str, str]] | None:
    path = source.input.path
    for key, text in fragments.items():
        if key == source.display or (path is not None and Path(key).resolve() == path.resolve()):
            return parse_fragment_name(text)
    return None


def _may_hold_placeholders(text: str | None) -> bool:
    """False when no value of the file can hold a placeholder: one would be in the text as written, unless
    an escape (`\\x24`) spells it. Saves walking every value of every clean file."""
    return text is None or "\\" in text or PLACEHOLDER.search(text) is not None


def _placeholder_findings(data: Any, origin: e.Origin, base: str = "") -> list[Finding]:
    return [
        Finding("template-placeholder", f"template placeholder {text} left in a value", origin.path, pointer,
                origin.doc, help="render the template first, or pass --substitute-env / --env-file FILE to "
                                 "fill ${VAR}, $VAR and {{ VAR }} placeholders")
        for pointer, text in templates.placeholders(data, base)
    ]


def build_model(raws: Iterable[RawResource]) -> tuple[e.MeshModel, list[Finding]]:
    tables: dict[str, dict[Any, e.Resource]] = {name: {} for name in _TABLE.values()}
    declarations: list[e.Declaration] = []
    findings: list[Finding] = []
    for raw in raws:
        name_pointer = raw.origin.pointer(appmesh_api.NAME_KEY[raw.kind])
        declarations.append(e.Declaration(raw.kind, raw.mesh, raw.qualified_name, raw.origin, name_pointer))
        if not raw.valid:
            continue
        try:
            entity = _entity(raw)
        except ValidationError as err:  # the schema and the typed model disagree: report, don't crash
            findings.append(Finding("schema", f"spec does not fit the App Mesh model: {err.errors()[0]['msg']}",
                                    raw.origin.path, raw.origin.pointer("spec"), raw.origin.doc,
                                    resource=raw.ref))
            continue
        key: str | tuple[str, ...] = raw.mesh
        if raw.kind != "Mesh":
            key = (raw.mesh, raw.name) if raw.parent is None else (raw.mesh, raw.parent, raw.name)
        tables[_TABLE[raw.kind]].setdefault(key, entity)
    model = e.MeshModel(**tables, declarations=tuple(declarations))  # type: ignore[arg-type]
    return model, findings


def _entity(raw: RawResource) -> e.Resource:
    spec = raw.spec if raw.spec is not None else SPEC_BY_KIND[raw.kind].model_validate(raw.data.get("spec") or {})
    tags = {
        str(t.get("key")): str(t.get("value", ""))
        for t in raw.data.get("tags") or [] if isinstance(t, dict)
    }
    extra: dict[str, Any] = {}
    if raw.kind == "Route":
        extra["router"] = raw.parent
    elif raw.kind == "GatewayRoute":
        extra["gateway"] = raw.parent
    cls: Any = _ENTITY[raw.kind]
    return cls(mesh=raw.mesh, name=raw.name, origin=raw.origin, tags=tags, spec=spec, **extra)  # type: ignore[no-any-return]
