"""The typed mesh model: one entity per App Mesh resource, whatever format it was read from.

Specs are the pydantic models generated from the App Mesh API (`spec.py`); entities are small frozen
records around them that add identity and origin (where in which file the resource was defined).
No I/O and no rules here.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, ClassVar

from meshlint.diagnostics import ResourceRef, join_pointer
from meshlint.model.spec import (
    GatewayRouteSpec,
    MeshSpec,
    RouteSpec,
    VirtualGatewaySpec,
    VirtualNodeSpec,
    VirtualRouterSpec,
    VirtualServiceSpec,
)
from meshlint.unknowns import is_unknown

KINDS = ("Mesh", "VirtualService", "VirtualRouter", "Route", "VirtualNode", "VirtualGateway", "GatewayRoute")

ENTRY_POINT_TAG = "meshlint:entry-point"


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a resource was defined: file, document index, and the pointer of the resource object."""

    path: str
    doc: int
    base: str = ""
    format: str = "api"  # "api" (AWS CLI shape), "describe" (its output), "cloudformation", "kubernetes", "terraform"
    written: str = ""  # how the user named it where that differs from the App Mesh name (a Kubernetes object)

    def pointer(self, *tokens: str | int) -> str:
        return join_pointer(self.base, *tokens)

    def spec_pointer(self, *tokens: str | int) -> str:
        return join_pointer(self.base, "spec", *tokens)


def is_new_version(first: Origin, later: Origin) -> bool:
    """Two definitions that are one resource: a Kubernetes object defined again in another file (the later apply
    updates it: a walkthrough's next step), `aws appmesh describe-*` output beside a definition (the state
    of what the other defines), or an update input: a JSON file of the API shape that defines what another
    file defines is what `aws appmesh update-* --cli-input-json` reads (a canary's steps), not a second create,
    whichever of the two is read first.
    API-shape YAML, the format meshes are written in, stays one definition per resource."""
    if first.path == later.path:
        return False
    return first.format == later.format == "kubernetes" or "describe" in (first.format, later.format) \
        or is_update_input(first) or is_update_input(later)


def is_update_input(origin: Origin) -> bool:
    return origin.format == "api" and origin.path.endswith(".json")


@dataclass(frozen=True, slots=True)
class Declaration:
    """A resource's identity as written, valid or not (duplicates and references are judged on these)."""

    kind: str
    mesh: str
    name: str  # parent/name for routes and gateway routes
    origin: Origin
    name_pointer: str

    @property
    def ref(self) -> ResourceRef:
        return ResourceRef(self.kind, self.mesh, self.name)


@dataclass(frozen=True, slots=True, kw_only=True)
class Resource:
    kind: ClassVar[str]
    mesh: str
    name: str
    origin: Origin
    tags: Mapping[str, str] = field(default_factory=dict)
    # pointers of values unknown offline (meshlint.unknowns); the typed spec holds stand-ins there, which no
    # finding may rest on (see `knows`)
    unknown: frozenset[str] = frozenset()
    mesh_owner: str | None = None  # set: a mesh shared from (possibly) another account, holding its resources

    @property
    def qualified_name(self) -> str:
        return self.name

    def knows(self, pointer: str) -> bool:
        """False when the value at `pointer`, or one inside or around it, is unknown offline."""
        return not self.unknown or not any(_related(pointer, u) for u in self.unknown)

    @property
    def ref(self) -> ResourceRef:
        return ResourceRef(self.kind, self.mesh, self.qualified_name)

    def spec_pointer(self, *tokens: str | int) -> str:
        return join_pointer(self.origin.base, "spec", *tokens)  # origin.spec_pointer, a call less (rules build many)


@dataclass(frozen=True, slots=True, kw_only=True)
class Mesh(Resource):
    kind: ClassVar[str] = "Mesh"
    spec: MeshSpec


@dataclass(frozen=True, slots=True, kw_only=True)
class VirtualService(Resource):
    kind: ClassVar[str] = "VirtualService"
    spec: VirtualServiceSpec


@dataclass(frozen=True, slots=True, kw_only=True)
class VirtualRouter(Resource):
    kind: ClassVar[str] = "VirtualRouter"
    spec: VirtualRouterSpec


@dataclass(frozen=True, slots=True, kw_only=True)
class Route(Resource):
    kind: ClassVar[str] = "Route"
    router: str
    spec: RouteSpec

    @property
    def qualified_name(self) -> str:
        return self.name if is_unknown(self.router) else f"{self.router}/{self.name}"  # no invented parent


@dataclass(frozen=True, slots=True, kw_only=True)
class VirtualNode(Resource):
    kind: ClassVar[str] = "VirtualNode"
    spec: VirtualNodeSpec


@dataclass(frozen=True, slots=True, kw_only=True)
class VirtualGateway(Resource):
    kind: ClassVar[str] = "VirtualGateway"
    spec: VirtualGatewaySpec


@dataclass(frozen=True, slots=True, kw_only=True)
class GatewayRoute(Resource):
    kind: ClassVar[str] = "GatewayRoute"
    gateway: str
    spec: GatewayRouteSpec

    @property
    def qualified_name(self) -> str:
        return self.name if is_unknown(self.gateway) else f"{self.gateway}/{self.name}"  # no invented parent


MeshKey = tuple[str, str]  # (mesh, name)
ChildKey = tuple[str, str, str]  # (mesh, parent, name)


@dataclass(frozen=True)
class MeshModel:
    """Every valid resource, keyed by identity; the first definition wins, later ones are duplicates."""

    meshes: Mapping[str, Mesh] = field(default_factory=dict)
    services: Mapping[MeshKey, VirtualService] = field(default_factory=dict)
    routers: Mapping[MeshKey, VirtualRouter] = field(default_factory=dict)
    routes: Mapping[ChildKey, Route] = field(default_factory=dict)
    nodes: Mapping[MeshKey, VirtualNode] = field(default_factory=dict)
    gateways: Mapping[MeshKey, VirtualGateway] = field(default_factory=dict)
    gateway_routes: Mapping[ChildKey, GatewayRoute] = field(default_factory=dict)
    declarations: tuple[Declaration, ...] = ()
    # other versions of resources in the tables (table name, key, resource): a Kubernetes object a later file
    # applies again, an update input; each is judged on its own, with the rest of the mesh (api.check)
    versions: tuple[tuple[str, Any, Resource], ...] = ()

    def resources(self) -> Iterator[Resource]:
        yield from self.meshes.values()
        yield from self.services.values()
        yield from self.routers.values()
        yield from self.routes.values()
        yield from self.nodes.values()
        yield from self.gateways.values()
        yield from self.gateway_routes.values()

    def declared(self, kind: str, mesh: str, name: str) -> bool:
        return (kind, mesh, name) in self.declared_keys

    @cached_property  # (writes the instance's __dict__ directly: frozen is no obstacle)
    def declared_keys(self) -> frozenset[tuple[str, str, str]]:
        """(kind, mesh, name) of every declaration."""
        return frozenset((d.kind, d.mesh, d.name) for d in self.declarations)

    def mesh_names(self) -> list[str]:
        return sorted({d.mesh for d in self.declarations})


SpecPath = tuple[str | int, ...]  # tokens below `spec`, for Resource.spec_pointer(*path)


def client_tls(node: VirtualNode, index: int) -> tuple[Any, SpecPath]:
    """The client TLS policy of backend `index`: its own clientPolicy.tls, else backendDefaults' (App Mesh
    mutual-tls.md), with the spec path of the block that applies; (None, ()) when neither has one."""
    backend = (node.spec.backends or ())[index].virtual_service
    if backend is not None and backend.client_policy is not None and backend.client_policy.tls is not None:
        return backend.client_policy.tls, ("backends", index, "virtualService", "clientPolicy", "tls")
    return _default_client_tls(node.spec.backend_defaults)


def gateway_client_tls(gateway: VirtualGateway) -> tuple[Any, SpecPath]:
    """A virtual gateway's client TLS policy (backendDefaults only) and its spec path, or (None, ())."""
    return _default_client_tls(gateway.spec.backend_defaults)


def _default_client_tls(defaults: Any) -> tuple[Any, SpecPath]:
    if defaults is not None and defaults.client_policy is not None and defaults.client_policy.tls is not None:
        return defaults.client_policy.tls, ("backendDefaults", "clientPolicy", "tls")
    return None, ()


def _related(one: str, other: str) -> bool:
    """One pointer is the other or lies inside it."""
    shorter, longer = (one, other) if len(one) <= len(other) else (other, one)
    return longer == shorter or longer.startswith(shorter + "/")


def is_entry_point(resource: Resource) -> bool:
    return resource.tags.get(ENTRY_POINT_TAG, "").lower() in {"true", "yes", "1"}
