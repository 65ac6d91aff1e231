"""The native format: the AWS CLI input shape of the App Mesh API, and `aws appmesh describe-*` output.

A document is a resource when it has `meshName`; its kind follows from which name keys it has. Describe
output wraps the same object under a kind key (`{"virtualNode": {...}, }`) with `metadata`/`status`.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from meshlint.diagnostics import Finding, ResourceRef, join_pointer, split_pointer
from meshlint.kinds import NAME_KEY, PARENT_KEY
from meshlint.load import schema
from meshlint.model.entities import Origin
from meshlint.model.spec import DOCUMENT_BY_KIND, SPEC_BY_KIND
from meshlint.unknowns import is_unknown, scoped_mesh

# Most specific first: a Route also has virtualRouterName, a GatewayRoute also has virtualGatewayName.
KIND_BY_NAME_KEY = (
    ("gatewayRouteName", "GatewayRoute"),
    ("routeName", "Route"),
    ("virtualGatewayName", "VirtualGateway"),
    ("virtualNodeName", "VirtualNode"),
    ("virtualRouterName", "VirtualRouter"),
    ("virtualServiceName", "VirtualService"),
)
DESCRIBE_KEYS = {
    "mesh": "Mesh", "virtualService": "VirtualService", "virtualRouter": "VirtualRouter", "route": "Route",
    "virtualNode": "VirtualNode", "virtualGateway": "VirtualGateway", "gatewayRoute": "GatewayRoute",
}
SPEC_KEYS = {
    "listeners", "backends", "backendDefaults", "serviceDiscovery", "provider", "httpRoute", "http2Route",
    "grpcRoute", "tcpRoute", "egressFilter", "logging", "priority",
}


@dataclass(frozen=True, slots=True)
class RawResource:
    """A native resource object, checked against its schema."""

    kind: str
    mesh: str
    name: str
    parent: str | None
    data: dict[str, Any]
    origin: Origin
    valid: bool  # the spec fits the model (with stand-ins for unknown values); False: declared, never typed
    spec: Any = None  # the typed spec, when the fast path already built it
    unknown: frozenset[str] = frozenset()  # pointers of values unknown offline that stand-ins replaced
    scope: str | None = None  # where an unknown mesh name is one mesh: the file, unless set (a Terraform module)

    @property
    def scoped_mesh(self) -> str:
        return scoped_mesh(self.mesh, self.scope or self.origin.path)

    @property
    def qualified_name(self) -> str:
        return f"{self.parent}/{self.name}" if self.parent is not None and not is_unknown(self.parent) else self.name

    @property
    def ref(self) -> ResourceRef:
        return ResourceRef(self.kind, self.scoped_mesh, self.qualified_name)


def detect(data: Any) -> tuple[str, str, dict[str, Any]] | None:
    """(kind, base pointer, resource object) when `data` is a native App Mesh document."""
    if not isinstance(data, dict):
        return None
    if "meshName" in data:
        for key, kind in KIND_BY_NAME_KEY:
            if key in data:
                return kind, "", data
        return "Mesh", "", data
    if len(data) == 1:
        ((wrapper, inner),) = data.items()
        wrapped = DESCRIBE_KEYS.get(wrapper)
        if wrapped and isinstance(inner, dict) and "meshName" in inner:
            obj = {k: v for k, v in inner.items() if k not in ("metadata", "status")}
            return wrapped, join_pointer("", wrapper), obj
    return None


def looks_like_fragment(data: Any) -> bool:
    """A spec-only document: the names were passed as command-line flags (`--mesh-name ...`)."""
    if not isinstance(data, dict) or "meshName" in data or "apiVersion" in data or "Resources" in data:
        return False
    spec = data.get("spec")
    if isinstance(spec, dict):
        return bool(SPEC_KEYS & set(spec)) or len(data) <= 3
    return False


def typed_spec(kind: str, obj: dict[str, Any]) -> Any:
    """The spec as the typed model when the whole document is valid, else None.

    The generated models carry the API's constraints and accept exactly what the JSON Schema accepts
    (tests/unit/test_generated_schemas.py), at a fraction of the cost; the schema is asked only for the
    messages when this fails, so clean meshes never import jsonschema.
    """
    data = obj.get("spec", {} if kind == "Mesh" else None)
    if not isinstance(data, dict):
        return None
    try:
        document: Any = _document_model(kind).model_validate(obj)  # its spec is typed: one validation
    except ValidationError:
        return None
    return document.spec if document.spec is not None else SPEC_BY_KIND[kind].model_validate(data)  # Mesh, no spec


@functools.cache
def _document_model(kind: str) -> type[BaseModel]:
    """The document model of `kind`, its spec model built first: pydantic then reuses the spec's schema in the
    document's instead of generating that tree twice (the spec model is built anyway: the rules serialise
    specs)."""
    SPEC_BY_KIND[kind].model_rebuild()
    return DOCUMENT_BY_KIND[kind]


def read_resource(kind: str, obj: dict[str, Any], origin: Origin) -> tuple[RawResource | None, list[Finding]]:
    """The resource in `obj` checked against its schema, with a finding per problem. A value unknown offline
    (meshlint.unknowns) is no problem of the input: the typed spec is built with a stand-in in its place and the
    value's pointer is kept in `RawResource.unknown`, or, when no stand-in fits, the resource is declared
    without a typed spec."""
    spec = typed_spec(kind, obj)
    problems = [] if spec is not None else schema.check(kind, obj, origin.base)
    findings = [
        Finding("schema", p.message, origin.path, p.pointer, origin.doc, p.help, at_key=p.at_key)
        for p in problems if not p.unknown
    ]
    unknown: frozenset[str] = frozenset()
    if problems and not findings:
        unknown = frozenset(p.pointer for p in problems)
        spec = typed_spec(kind, _with_standins(obj, problems, origin.base))
    findings += [Finding("schema", p.message, origin.path, p.pointer, origin.doc, p.help)
                 for p in schema.beyond_model(kind, obj, origin.base)]
    names = [obj.get(k) for k in (NAME_KEY[kind], PARENT_KEY.get(kind), "meshName") if k]
    if not all(isinstance(n, str) and n for n in names):
        return None, findings
    resource = RawResource(
        kind=kind,
        mesh=obj["meshName"],
        name=obj[NAME_KEY[kind]],
        parent=obj.get(PARENT_KEY[kind]) if kind in PARENT_KEY else None,
        data=obj,
        origin=origin,
        valid=spec is not None or not problems,
        spec=spec,
        unknown=unknown,
    )
    if not findings:
        return resource, findings
    ref = resource.ref
    return resource, [_with_resource(f, ref) for f in findings]


def _with_standins(obj: dict[str, Any], problems: list[schema.SchemaProblem], base: str) -> dict[str, Any]:
    """A copy of `obj` with each unknown value replaced by the stand-in its problem carries."""
    copy: dict[str, Any] = json.loads(json.dumps(obj))
    for problem in problems:
        tokens = split_pointer(problem.pointer[len(base):])
        node: Any = copy
        for token in tokens[:-1]:
            node = node[int(token)] if isinstance(node, list) else node[token]
        last = tokens[-1] if tokens else None
        if last is not None:
            node[int(last) if isinstance(node, list) else last] = problem.standin
    return copy


def _with_resource(finding: Finding, ref: ResourceRef) -> Finding:
    return Finding(finding.rule, finding.message, finding.path, finding.pointer, finding.doc, finding.help,
                   ref, finding.at_key)


def read_unnamed(data: dict[str, Any], origin: Origin) -> tuple[RawResource | None, list[Finding]]:
    """A spec-only AWS CLI fragment whose names were command-line flags: unknown here, said once. Its spec is
    still checked on its own, under the one kind it fits (a spec of listeners alone fits a router, a node and
    a gateway: the kind whose schema it satisfies), with unknown names, in a mesh of its own file."""
    spec = data.get("spec")
    candidates = _candidate_kinds(spec if isinstance(spec, dict) else {})
    fitting = [k for k in candidates if typed_spec(k, _named(k, data)) is not None]
    kind = candidates[0] if len(candidates) == 1 else (fitting[0] if len(fitting) == 1 else None)
    stem = origin.path.rsplit("/", 1)[-1].split(".")[0]
    named_as = f"{kind or 'KIND'}:MESH/{stem}"
    note = Finding(
        "unresolved-value",
        f"{'a ' + kind + ' ' if kind else ''}spec without meshName or a name: an AWS CLI --cli-input-json fragment, "
        "whose names were command-line flags, so they are unknown here" + ("; its spec is checked on its own"
                                                                          if kind else ""),
        origin.path, origin.pointer("spec") if spec is not None else "", origin.doc,
        help=f"name it in .meshlint.yaml (fragments: {{'{origin.path}': '{named_as}'}}, globs and {{stem}} work) or "
             f"with --name-fragment {origin.path}={named_as}, so that references to and from it are checked too",
    )
    if kind is None:
        return None, [note]
    raw, findings = read_resource(kind, _named(kind, data), origin)
    return raw, [note, *findings]


def _named(kind: str, data: dict[str, Any]) -> dict[str, Any]:
    """`data` with unknown names (meshlint.unknowns): `${meshName}`, `${virtualNodeName}`, ..."""
    keys = ["meshName", *([PARENT_KEY[kind]] if kind in PARENT_KEY else []), NAME_KEY[kind]]
    return {**{key: "${" + key + "}" for key in keys}, **data}


def _candidate_kinds(spec: dict[str, Any]) -> list[str]:
    """The kinds a spec-only fragment may have, judged by its members."""
    keys = set(spec)
    routes = sorted(keys & {"httpRoute", "http2Route", "grpcRoute", "tcpRoute"})
    if "provider" in keys:
        return ["VirtualService"]
    if keys & {"serviceDiscovery", "backends"}:
        return ["VirtualNode"]
    if routes:
        body = spec.get(routes[0])
        action = body.get("action") if isinstance(body, dict) else None
        return ["GatewayRoute" if isinstance(action, dict) and "target" in action else "Route"]
    if "egressFilter" in keys or not keys - {"serviceDiscovery"}:
        return ["Mesh"]
    return ["VirtualRouter", "VirtualNode", "VirtualGateway"]  # listeners alone
