"""The mesh graph, built once and read by the rules, the compiler and the topology diagram.

    VirtualGateway -> GatewayRoute -> VirtualService -> (VirtualRouter -> Route ->) VirtualNode
    VirtualNode -> backend VirtualService -> ...

Every reference in the model is recorded with its pointer, resolved or not, so the reference, reachability
and cycle rules and the DOT writer all see the same edges.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property

from meshlint.diagnostics import join_pointer
from meshlint.model.entities import (
    GatewayRoute,
    MeshKey,
    MeshModel,
    Resource,
    Route,
    VirtualNode,
    VirtualRouter,
    VirtualService,
)
from meshlint.model.routing import ROUTE_TYPE_ALIAS as ROUTE_TYPE_ALIAS  # re-exported: the kinds live there
from meshlint.model.routing import ROUTE_TYPES as ROUTE_TYPES
from meshlint.model.routing import route_order
from meshlint.model.routing import route_type as route_type
from meshlint.model.spec import GatewayRouteTarget, WeightedTarget
from meshlint.unknowns import is_unknown


@dataclass(slots=True)  # read-only, but not frozen: a mesh has some 20 per service, and frozen is 3x slower to make
class Reference:
    """`source` names a `kind` called `name` in `mesh`, at `pointer` of the source's document."""

    source: Resource
    path: tuple[str | int, ...]  # tokens below the source's origin.base: see `pointer`
    kind: str
    mesh: str
    name: str
    role: str  # "provider", "backend", "route target", "gateway route target", "router", "gateway", "mesh"
    resolved: bool

    @property
    def pointer(self) -> str:
        """Where the name is written (built only when asked: few references are ever reported)."""
        return join_pointer(self.source.origin.base, *self.path)


@dataclass(frozen=True, slots=True)
class Target:
    node: str
    weight: int
    port: int | None
    pointer: str


# Whether a name still carries a template or `Fn::Sub` placeholder (`${X}`, `$X`, `{{ x }}`), so its real value
# is unknown (see meshlint.unknowns). The same function, not a wrapper: rules ask it of nearly every name.
has_placeholder = is_unknown


def same_scope(one: Resource, other: Resource) -> bool:
    """Whether two resources of one mesh may be compared: always, unless the mesh name is a placeholder
    (`${MeshName}`), which unrelated templates share; then only resources of the same file."""
    return not has_placeholder(one.mesh) or one.origin.path == other.origin.path


def _weighted_targets_path(kind: str) -> tuple[str, ...]:
    """Where a route of this kind lists its targets, below the route's origin.base."""
    return ("spec", ROUTE_TYPE_ALIAS[kind], "action", "weightedTargets")


def route_targets(route: Route) -> list[Target]:
    kind = route_type(route.spec)
    if kind is None:
        return []
    targets: tuple[WeightedTarget, ...] = getattr(route.spec, kind).action.weighted_targets
    base = route.origin.pointer(*_weighted_targets_path(kind))
    return [Target(t.virtual_node, t.weight, t.port, f"{base}/{i}") for i, t in enumerate(targets)]


def _gateway_route_target(route: GatewayRoute) -> tuple[GatewayRouteTarget, tuple[str, ...]] | None:
    """The target of a gateway route and where its service name is written, below the route's origin.base."""
    kind = route_type(route.spec)
    if kind is None or kind == "tcp_route":
        return None
    target: GatewayRouteTarget = getattr(route.spec, kind).action.target
    return target, ("spec", ROUTE_TYPE_ALIAS[kind], "action", "target", "virtualService", "virtualServiceName")


def gateway_route_target(route: GatewayRoute) -> tuple[GatewayRouteTarget, str] | None:
    found = _gateway_route_target(route)
    return None if found is None else (found[0], route.origin.pointer(*found[1]))


_MESH_NAME: tuple[str | int, ...] = ("meshName",)  # Reference paths that every resource of a kind shares
_ROUTER_NAME: tuple[str | int, ...] = ("virtualRouterName",)
_GATEWAY_NAME: tuple[str | int, ...] = ("virtualGatewayName",)


@dataclass(frozen=True, slots=True)
class Hop:
    """One step of a path through the mesh, for messages: 'svc-b', 'router-b/route-1', 'node-b'."""

    kind: str
    name: str


@dataclass
class MeshGraph:
    model: MeshModel
    references: list[Reference] = field(default_factory=list)
    routes_by_router: dict[MeshKey, list[Route]] = field(default_factory=dict)
    routes_by_gateway: dict[MeshKey, list[GatewayRoute]] = field(default_factory=dict)
    _paths: dict[tuple[str, str, bool], list[tuple[list[Hop], str]]] = field(
        default_factory=dict, repr=False, compare=False)
    _targets: dict[int, tuple[Route, list[Target]]] = field(default_factory=dict, repr=False, compare=False)
    _nodes: dict[MeshKey, list[tuple[VirtualNode, list[Hop]]]] = field(
        default_factory=dict, repr=False, compare=False)
    _edges: dict[MeshKey, list[tuple[str, list[Hop], str]]] = field(default_factory=dict, repr=False, compare=False)
    _ports: dict[MeshKey, list[int]] = field(default_factory=dict, repr=False, compare=False)
    _cycles: list[list[MeshKey]] | None = field(default=None, repr=False, compare=False)

    @classmethod
    def build(cls, model: MeshModel) -> MeshGraph:
        graph = cls(model)
        by_router: dict[MeshKey, list[Route]] = defaultdict(list)
        for (mesh, router, _), route in model.routes.items():
            by_router[(mesh, router)].append(route)
        by_gateway: dict[MeshKey, list[GatewayRoute]] = defaultdict(list)
        for (mesh, gateway, _), groute in model.gateway_routes.items():
            by_gateway[(mesh, gateway)].append(groute)
        graph.routes_by_router = {k: sorted(v, key=route_order) for k, v in by_router.items()}
        graph.routes_by_gateway = {k: sorted(v, key=route_order) for k, v in by_gateway.items()}
        graph.references = list(graph._collect_references())
        return graph

    # ---- references -------------------------------------------------------------------------------
    def _ref(self, source: Resource, path: tuple[str | int, ...], kind: str, name: str, role: str) -> Reference:
        return Reference(source, path, kind, source.mesh, name, role,
                         (kind, source.mesh, name) in self.model.declared_keys)

    def _collect_references(self) -> Iterator[Reference]:
        m = self.model
        declared = m.declared_keys
        for resource in m.resources():
            if resource.kind != "Mesh":
                mesh = resource.mesh
                yield Reference(resource, _MESH_NAME, "Mesh", mesh, mesh, "mesh", ("Mesh", mesh, mesh) in declared)
        for vs in m.services.values():
            provider = vs.spec.provider
            if provider and provider.virtual_node:
                yield self._ref(vs, ("spec", "provider", "virtualNode", "virtualNodeName"), "VirtualNode",
                                provider.virtual_node.virtual_node_name, "provider")
            elif provider and provider.virtual_router:
                yield self._ref(vs, ("spec", "provider", "virtualRouter", "virtualRouterName"),
                                "VirtualRouter", provider.virtual_router.virtual_router_name, "provider")
        for route in m.routes.values():
            yield self._ref(route, _ROUTER_NAME, "VirtualRouter", route.router, "router")
            kind = route_type(route.spec)
            if kind is not None:  # at each Target.pointer
                path = _weighted_targets_path(kind)
                for i, t in enumerate(self.targets(route)):
                    yield self._ref(route, (*path, i, "virtualNode"), "VirtualNode", t.node, "route target")
        for node in m.nodes.values():
            for i, backend in enumerate(node.spec.backends or ()):
                if backend.virtual_service is not None:
                    yield self._ref(node, ("spec", "backends", i, "virtualService", "virtualServiceName"),
                                    "VirtualService", backend.virtual_service.virtual_service_name, "backend")
        for groute in m.gateway_routes.values():
            yield self._ref(groute, _GATEWAY_NAME, "VirtualGateway", groute.gateway, "gateway")
            found = _gateway_route_target(groute)
            if found is not None:
                target, at = found
                yield self._ref(groute, at, "VirtualService", target.virtual_service.virtual_service_name,
                                "gateway route target")

    def targets(self, route: Route) -> list[Target]:
        """`route_targets(route)`, built once per route: a dozen rules and the traversals ask for them. Read-only,
        like service_paths. Keyed by identity (hashing a route would hash its whole spec); the route is kept with
        its targets, so the key cannot be reused by another object while the entry lives."""
        held = self._targets.get(id(route))
        if held is None or held[0] is not route:
            held = self._targets[id(route)] = (route, route_targets(route))
        return held[1]

    # ---- traversal --------------------------------------------------------------------------------
    def provider(self, mesh: str, service: str) -> VirtualNode | VirtualRouter | None:
        vs = self.model.services.get((mesh, service))
        if vs is None or vs.spec.provider is None:
            return None
        p = vs.spec.provider
        if p.virtual_node is not None:
            return self.model.nodes.get((mesh, p.virtual_node.virtual_node_name))
        if p.virtual_router is not None:
            return self.model.routers.get((mesh, p.virtual_router.virtual_router_name))
        return None

    def service_paths(self, mesh: str, service: str, *, positive: bool = True) -> list[tuple[list[Hop], str]]:
        """Every way `service` reaches a virtual node: (hops after the service, node name). Read-only:
        the lists are shared between callers (every client of a service asks the same question)."""
        key = (mesh, service, positive)
        cached = self._paths.get(key)
        if cached is None:
            cached = self._paths[key] = self._service_paths(mesh, service, positive)
        return cached

    def _service_paths(self, mesh: str, service: str, positive: bool) -> list[tuple[list[Hop], str]]:
        provider = self.provider(mesh, service)
        if isinstance(provider, VirtualNode):
            return [([], provider.name)]
        if not isinstance(provider, VirtualRouter):
            return []
        out: list[tuple[list[Hop], str]] = []
        for route in self.routes_by_router.get((mesh, provider.name), []):
            for t in self.targets(route):
                if positive and t.weight <= 0:
                    continue
                if (mesh, t.node) in self.model.nodes:
                    out.append(([Hop("Route", route.qualified_name)], t.node))
        return out

    def service_nodes(self, mesh: str, service: str) -> list[tuple[VirtualNode, list[Hop]]]:
        """The virtual nodes `service` delivers to (by service_paths), each once, with the hops of its first
        path. Read-only and shared, like service_paths: every client of a service asks the same question."""
        key = (mesh, service)
        cached = self._nodes.get(key)
        if cached is None:
            cached = self._nodes[key] = []
            seen: set[str] = set()
            for hops, name in self.service_paths(mesh, service):
                node = self.model.nodes.get((mesh, name))
                if node is not None and name not in seen:
                    seen.add(name)
                    cached.append((node, hops))
        return cached

    def service_ports(self, mesh: str, service: str) -> list[int]:
        """The ports clients dial for `service`: the router's listener ports, or the provider node's. Read-only
        and shared, like service_paths: every client of a service asks the same question."""
        key = (mesh, service)
        ports = self._ports.get(key)
        if ports is None:
            provider = self.provider(mesh, service)
            listeners = provider.spec.listeners if provider is not None else None
            ports = self._ports[key] = sorted({listener.port_mapping.port for listener in listeners or ()})
        return ports

    @cached_property
    def services_of_node(self) -> dict[MeshKey, list[VirtualService]]:
        """Which services deliver traffic to each node (directly or through a router's routes)."""
        out: dict[MeshKey, list[VirtualService]] = defaultdict(list)
        for (mesh, name), vs in sorted(self.model.services.items()):
            for _, node in self.service_paths(mesh, name):
                if vs not in out[(mesh, node)]:
                    out[(mesh, node)].append(vs)
        return out

    def node_edges(self, key: MeshKey) -> list[tuple[str, list[Hop], str]]:
        """(backend service, hops, next node) for every node this node's backends reach. Computed once per node
        (the cycles and retry-amplification walk every node); read-only, like service_paths."""
        edges = self._edges.get(key)
        if edges is None:
            edges = self._edges[key] = self._node_edges(key)
        return edges

    def _node_edges(self, key: MeshKey) -> list[tuple[str, list[Hop], str]]:
        node = self.model.nodes.get(key)
        if node is None:
            return []
        mesh = key[0]
        edges: list[tuple[str, list[Hop], str]] = []
        for backend in node.spec.backends or ():
            if backend.virtual_service is None:
                continue
            service = backend.virtual_service.virtual_service_name
            for hops, target in self.service_paths(mesh, service):
                edges.append((service, hops, target))
        return edges

    def cycles(self) -> list[list[MeshKey]]:
        """Strongly connected components of the node call graph that contain a cycle, each in order. Computed
        once (routing-cycle and retry-amplification both ask); read-only, like service_paths."""
        if self._cycles is None:
            adjacency = {key: {(key[0], t) for _, _, t in self.node_edges(key)} for key in self.model.nodes}
            self._cycles = [c for c in _tarjan(adjacency) if len(c) > 1 or c[0] in adjacency.get(c[0], ())]
        return self._cycles


def _tarjan(adjacency: dict[MeshKey, set[MeshKey]]) -> list[list[MeshKey]]:
    """Iterative Tarjan: strongly connected components, each sorted, the list sorted. The work stack holds each
    node being visited with the iterator over its successors, so a node resumes where it left off."""
    index: dict[MeshKey, int] = {}
    low: dict[MeshKey, int] = {}
    on_stack: set[MeshKey] = set()
    stack: list[MeshKey] = []
    components: list[list[MeshKey]] = []

    def visit(node: MeshKey) -> tuple[MeshKey, Iterator[MeshKey]]:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        return node, iter(adjacency.get(node, ()))

    for root in adjacency:
        if root in index:
            continue
        work = [visit(root)]
        while work:
            node, successors = work[-1]
            for nxt in successors:
                if nxt not in index:
                    work.append(visit(nxt))
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            else:  # every successor done: the node is finished
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == index[node]:
                    component: list[MeshKey] = []
                    while True:
                        top = stack.pop()
                        on_stack.discard(top)
                        component.append(top)
                        if top == node:
                            break
                    components.append(sorted(component))
    return sorted(components)
