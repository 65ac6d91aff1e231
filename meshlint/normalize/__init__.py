"""Documents of every supported format -> one typed MeshModel, plus findings about the input itself."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from meshlint.diagnostics import Finding, Position
from meshlint.load.sources import SourceFile, Sources, is_blank
from meshlint.model import entities as e
from meshlint.model.spec import SPEC_BY_KIND
from meshlint.normalize import appmesh_api
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


def normalize(sources: Sources, *, verbose: bool = False) -> Normalized:
    raws: list[RawResource] = []
    findings: list[Finding] = []
    for source in sources.files:
        found, notes = _read_file(source, verbose)
        raws.extend(found)
        findings.extend(notes)
    model, invalid = build_model(raws)
    findings.extend(invalid)
    return Normalized(model, findings, files=len(sources.files), resources=len(raws))


def _read_file(source: SourceFile, verbose: bool) -> tuple[list[RawResource], list[Finding]]:
    raws: list[RawResource] = []
    findings: list[Finding] = []
    if source.empty:
        findings.append(Finding("ignored-input", "empty file", source.display, position=Position(1, 1)))
        return raws, findings
    skipped: list[str] = []
    for index, doc in enumerate(source.docs):
        origin = e.Origin(source.display, index)
        detected = appmesh_api.detect(doc.data)
        if detected is not None:
            kind, base, obj = detected
            raw, notes = appmesh_api.read_resource(kind, obj, e.Origin(source.display, index, base))
            findings.extend(notes)
            if raw is not None:
                raws.append(raw)
        elif appmesh_api.looks_like_fragment(doc.data):
            findings.append(appmesh_api.fragment_finding(doc.data, origin))
        else:
            note = _other_format(doc.data)
            if note is not None:
                findings.append(Finding("ignored-input", note, source.display, "", index))
            elif not is_blank(doc.data):
                skipped.append(str(index + 1))
    if skipped and not raws and (source.input.explicit or verbose):
        findings.append(Finding("ignored-input", "no App Mesh resource in this file", source.display,
                                help="meshlint reads the App Mesh API shape (meshName + spec)",
                                position=Position(1, 1)))
    return raws, findings


def _other_format(data: Any) -> str | None:
    """A note for App Mesh documents of a format this version does not read yet."""
    if not isinstance(data, dict):
        return None
    api = data.get("apiVersion")
    if isinstance(api, str) and api.startswith("appmesh.k8s.aws/"):
        return f"Kubernetes {api} {data.get('kind', 'document')} is not read yet; it was skipped"
    resources = data.get("Resources")
    if isinstance(resources, dict) and any(
        isinstance(r, dict) and str(r.get("Type", "")).startswith("AWS::AppMesh::") for r in resources.values()
    ):
        return "CloudFormation AWS::AppMesh::* resources are not read yet; this template was skipped"
    return None


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
    spec_model = SPEC_BY_KIND[raw.kind]
    spec = spec_model.model_validate(raw.data.get("spec") or {})
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
