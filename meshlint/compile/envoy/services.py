"""A virtual service as its clients see it: per port, the routes (HTTP family) or tcp_proxy target (TCP).

Provider virtual node -> one synthesised route per listener port; provider virtual router -> its listener
ports with the router's routes in priority order (spec 5.1, 6.1, 6.2).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from meshlint.compile.envoy.context import Ctx
from meshlint.compile.envoy.envoy_json import Json, family_of, seconds, share
from meshlint.compile.envoy.routes import DEFAULT_TCP_IDLE_MS, DEFAULT_TIMEOUT_MS, http_route, provider_route, tcp_route
from meshlint.compile.envoy.targets import TargetCluster, listener_cluster
from meshlint.model.entities import Route, VirtualNode, VirtualRouter
from meshlint.model.graph import ROUTE_TYPE_ALIAS, route_type


@dataclass
class PortEntry:
    """What one service offers on one port."""

    port: int
    protocol: str
    routes: Sequence[Json] = field(default_factory=list)  # HTTP family; shared once made
    tcp: Json | None = None  # TCP: tcp_proxy fields (cluster | weighted_clusters, idle_timeout)
    clusters: list[TargetCluster] = field(default_factory=list)
    timeout_ms: int = DEFAULT_TIMEOUT_MS  # longest request timeout of the routes, 0 = unlimited


def service_entries(ctx: Ctx, mesh: str, service: str) -> list[PortEntry]:
    """Per port, sorted by port. An unknown service or one without a provider has no ports. Made once per
    service (the entries are never changed): every client of a service gets the same."""
    key = (mesh, service)
    found = ctx.service_entries.get(key)
    if found is None:
        found = ctx.service_entries[key] = _entries(ctx, mesh, service)
        for entry in found:  # rendered once for all the clients
            entry.routes = share(entry.routes)
    return found


def _entries(ctx: Ctx, mesh: str, service: str) -> list[PortEntry]:
    provider = ctx.graph.provider(mesh, service)
    if isinstance(provider, VirtualNode):
        return sorted(_node_entries(ctx, provider), key=lambda e: e.port)
    if isinstance(provider, VirtualRouter):
        return sorted(_router_entries(ctx, provider), key=lambda e: e.port)
    return []


def _node_entries(ctx: Ctx, node: VirtualNode) -> list[PortEntry]:
    entries: dict[int, PortEntry] = {}
    for i in range(len(node.spec.listeners or ())):
        target = listener_cluster(node, i)
        if target.port in entries:
            continue
        if family_of(target.protocol) == "http":
            entries[target.port] = PortEntry(target.port, target.protocol, [provider_route(ctx, target.name)],
                                             clusters=[target])
        else:
            tcp = {"cluster": target.name, "idle_timeout": seconds(DEFAULT_TCP_IDLE_MS)}
            entries[target.port] = PortEntry(target.port, "tcp", tcp=tcp, clusters=[target])
    return list(entries.values())


def _router_entries(ctx: Ctx, router: VirtualRouter) -> list[PortEntry]:
    entries: dict[int, PortEntry] = {}
    routes = ctx.graph.routes_by_router.get((router.mesh, router.name), [])
    _unplaced(ctx, router, routes)
    for listener in router.spec.listeners or ():
        port, protocol = listener.port_mapping.port, listener.port_mapping.protocol
        if port in entries:
            continue
        mine = [r for r in routes if _route_port(r) in (None, port)]
        entry = PortEntry(port, protocol)
        if family_of(protocol) == "http":
            _fill_http(ctx, entry, mine)
        else:
            _fill_tcp(ctx, entry, mine)
        entries[port] = entry
    return list(entries.values())


def _fill_http(ctx: Ctx, entry: PortEntry, routes: list[Route]) -> None:
    longest: list[int] = []
    made: list[Json] = []
    for route in routes:
        kind = route_type(route.spec)
        if kind is None or kind == "tcp_route":
            _mismatch(ctx, route, kind, entry)
            continue
        out = http_route(ctx, route, kind)
        if out is None:
            continue
        made += out.routes
        entry.clusters += [c for c in out.clusters if c not in entry.clusters]
        longest.append(out.timeout_ms)
    entry.routes = made
    if longest:
        entry.timeout_ms = 0 if 0 in longest else max(longest)


def _fill_tcp(ctx: Ctx, entry: PortEntry, routes: list[Route]) -> None:
    for route in routes:
        kind = route_type(route.spec)
        if kind != "tcp_route":
            _mismatch(ctx, route, kind, entry)
            continue
        if entry.tcp is not None:
            ctx.report(route, route.spec_pointer("tcpRoute"),
                       f"a TCP listener takes one route; route {route.qualified_name!r} on port {entry.port} is "
                       "left out (a connection carries no data to choose between routes)",
                       "merge the targets into one tcpRoute with weights")
            continue
        out = tcp_route(ctx, route)
        if out is not None:
            entry.tcp, entry.clusters = out


def _mismatch(ctx: Ctx, route: Route, kind: str | None, entry: PortEntry) -> None:
    token = ROUTE_TYPE_ALIAS.get(kind or "", "")
    ctx.report(route, route.spec_pointer(token) if token else route.spec_pointer(),
               f"route {route.qualified_name!r} ({token or 'no route type'}) does not fit the router's "
               f"{entry.protocol} listener on port {entry.port}; it is left out there",
               "use the route type of the router listener's protocol, or set match.port")


def _unplaced(ctx: Ctx, router: VirtualRouter, routes: list[Route]) -> None:
    ports = {listener.port_mapping.port for listener in router.spec.listeners or ()}
    for route in routes:
        port = _route_port(route)
        kind = route_type(route.spec)
        if port is not None and port not in ports and kind is not None:
            ctx.report(route, route.spec_pointer(ROUTE_TYPE_ALIAS[kind], "match", "port"),
                       f"route {route.qualified_name!r} matches port {port}, which router {router.name!r} does "
                       "not listen on; it is left out", "use a port of one of the router's listeners")


def _route_port(route: Route) -> int | None:
    kind = route_type(route.spec)
    if kind is None:
        return None
    match = getattr(route.spec, kind).match
    return match.port if match is not None else None
