"""A virtual gateway as App Mesh ran it: two hops inside one Envoy (spec section 8).

Hop 1: `lds_ingress_<bind>_<port>` per gateway listener, gateway routes -> self-redirect cluster
`cds_ingress_<mesh>_<vg>_self_redirect_<proto>_15001` (127.0.0.1:15001). Hop 2: `lds_egress_<bind>_15001`
with the target services' routes, like a virtual node's egress, and `default_backend` for services
addressed by the `x-app-mesh-virtual-service` header.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from meshlint.compile.envoy.appmesh_metrics import instrument_egress, target_service_config
from meshlint.compile.envoy.clusters import self_redirect_cluster
from meshlint.compile.envoy.context import Ctx, Proxy
from meshlint.compile.envoy.egress import EgressPlan, vhost
from meshlint.compile.envoy.envoy_json import Json, family_of
from meshlint.compile.envoy.gateway_routes import Hop1Route, header_mode, hop1_routes, hop1_vhosts
from meshlint.compile.envoy.listeners import TLS_INSPECTOR, check_listener_kinds, hcm, listener, tls_chains
from meshlint.compile.envoy.names import (
    VIRTUAL_SERVICE_HEADER,
    chain_name,
    egress_route_table,
    ingress_route_table,
    listener_name,
)
from meshlint.compile.envoy.names import self_redirect_cluster as redirect_name
from meshlint.compile.envoy.routes import DEFAULT_TIMEOUT_MS
from meshlint.compile.envoy.services import PortEntry, service_entries
from meshlint.compile.envoy.tls import Where
from meshlint.model.entities import GatewayRoute, VirtualGateway, gateway_client_tls
from meshlint.model.graph import ROUTE_TYPE_ALIAS, route_type
from meshlint.model.spec import VirtualGatewayListener


@dataclass
class GatewayPlan:
    egress: EgressPlan = field(default_factory=EgressPlan)
    by_host: dict[str, Sequence[Json]] = field(default_factory=dict)  # hop-2 vhosts: service -> routes
    by_header: dict[str, Sequence[Json]] = field(default_factory=dict)  # default_backend routes per service
    timeouts: dict[str, int] = field(default_factory=dict)  # gateway route name -> hop-1 timeout (ms)


def plan_gateway(ctx: Ctx, gateway: VirtualGateway) -> GatewayPlan:
    """Hop 2 first: the hop-1 timeouts are copied from the target routes (roadmap#376)."""
    plan = GatewayPlan()
    policy, path = gateway_client_tls(gateway)
    where = Where(gateway, path) if policy is not None else None
    ports: dict[tuple[bool, str], int | None] = {}
    listening = {lst.port_mapping.port for lst in gateway.spec.listeners}
    spelled: dict[str, str] = {}  # a hop-2 host in lower case -> the spelling of its virtual host
    for groute in ctx.graph.routes_by_gateway.get((gateway.mesh, gateway.name), []):
        kind = route_type(groute.spec)
        if kind is None or kind == "tcp_route" or not _placed(ctx, groute, kind, listening):
            continue
        spec = getattr(groute.spec, kind)
        service = spec.action.target.virtual_service.virtual_service_name
        entry = _entry(ctx, groute, kind, service, spec.action.target.port)
        plan.timeouts[groute.name] = entry.timeout_ms if entry is not None else DEFAULT_TIMEOUT_MS
        key = (header_mode(spec), service)
        port = entry.port if entry is not None else None
        if key in ports:
            if ports[key] != port:
                _port_clash(ctx, groute, kind, service, ports[key])
            continue
        if not key[0]:
            earlier = spelled.setdefault(service.lower(), service)
            if earlier != service:
                _case_clash(ctx, groute, kind, service, earlier)
                continue
        ports[key] = port
        (plan.by_header if key[0] else plan.by_host)[service] = entry.routes if entry is not None else []
        for target in entry.clusters if entry is not None else []:
            plan.egress.need(ctx, gateway, target, policy, where, gateway.spec_pointer("backendDefaults"))
    return plan


def _placed(ctx: Ctx, groute: GatewayRoute, kind: str, listening: set[int]) -> bool:
    port = getattr(groute.spec, kind).match.port
    if port is None or port in listening:
        return True
    ctx.report(groute, groute.spec_pointer(ROUTE_TYPE_ALIAS[kind], "match", "port"),
               f"gateway route {groute.qualified_name!r} matches port {port}, which the gateway does not listen "
               "on; it is left out", "use a port of one of the gateway's listeners")
    return False


def _case_clash(ctx: Ctx, groute: GatewayRoute, kind: str, service: str, earlier: str) -> None:
    """Hop 2 matches Host case-insensitively and Envoy rejects a domain in two virtual hosts: a service
    spelled like an earlier one but for letter case is left out (as on a virtual node's egress)."""
    ctx.report(groute, groute.spec_pointer(ROUTE_TYPE_ALIAS[kind], "action", "target", "virtualService",
                                           "virtualServiceName"),
               f"target {service!r} differs from {earlier!r}, which an earlier gateway route targets, only by letter "
               "case; hop 2 cannot tell them apart by Host and this route is left out",
               "name virtual services so that they differ in more than letter case")


def _port_clash(ctx: Ctx, groute: GatewayRoute, kind: str, service: str, first: int | None) -> None:
    ctx.report(groute, groute.spec_pointer(ROUTE_TYPE_ALIAS[kind], "action", "target", "port"),
               f"hop 2 has one virtual host per service: {service!r} is already reached on port {first} by an "
               "earlier gateway route, so this route's port is not used",
               "target the service on one port from every gateway route")


def _entry(ctx: Ctx, groute: GatewayRoute, kind: str, service: str, port: int | None) -> PortEntry | None:
    http = [e for e in service_entries(ctx, groute.mesh, service) if family_of(e.protocol) == "http"]
    chosen = [e for e in http if port is None or e.port == port]
    if chosen:
        return chosen[0]
    if ctx.model.services.get((groute.mesh, service)) is not None and ctx.graph.provider(groute.mesh, service):
        what = f"has no HTTP port {port}" if port is not None else "has no HTTP, HTTP/2 or gRPC port"
        ctx.report(groute, groute.spec_pointer(ROUTE_TYPE_ALIAS[kind], "action", "target"),
                   f"target virtual service {service!r} {what}; hop 2 has no route for it (404)",
                   "target a service whose provider listens with http, http2 or grpc")
    return None


def gateway_listeners(ctx: Ctx, proxy: Proxy, gateway: VirtualGateway, plan: GatewayPlan) -> list[Json]:
    out: list[Json] = []
    listeners = gateway.spec.listeners
    seen: set[int] = set()
    for i, lst in enumerate(listeners):
        port = lst.port_mapping.port
        if port in seen:
            ctx.report(gateway, gateway.spec_pointer("listeners", i, "portMapping", "port"),
                       f"port {port} is listed twice; only the first listener is compiled",
                       "give every listener its own port")
            continue
        seen.add(port)
        check_listener_kinds(ctx, gateway, i, lst)
        out.append(_hop1(ctx, proxy, gateway, i, lst, plan, multi=len(listeners) > 1))
    return out


def redirect_cluster_name(ctx: Ctx, gateway: VirtualGateway, lst: VirtualGatewayListener, multi: bool) -> str:
    pm = lst.port_mapping
    return redirect_name(gateway.mesh, gateway.name, pm.protocol, ctx.options.egress_port, pm.port if multi else None)


def _hop1(ctx: Ctx, proxy: Proxy, gateway: VirtualGateway, index: int, lst: VirtualGatewayListener,
          plan: GatewayPlan, multi: bool) -> Json:
    port, protocol = lst.port_mapping.port, lst.port_mapping.protocol
    cluster = redirect_cluster_name(ctx, gateway, lst, multi)
    generated: list[Hop1Route] = []
    for groute in ctx.graph.routes_by_gateway.get((gateway.mesh, gateway.name), []):
        kind = route_type(groute.spec)
        if kind is None or kind == "tcp_route" or groute.name not in plan.timeouts:
            continue
        match_port = getattr(groute.spec, kind).match.port
        if match_port is None or match_port == port:
            generated.append(hop1_routes(groute, kind, cluster, plan.timeouts[groute.name]))
    # Envoy matches domains against Host as sent: without this, `*.example.org` misses `a.example.org:8088` and
    # the request falls to the catch-all host (the port only matters for matching; Host is forwarded as is).
    table = {"name": ingress_route_table(port), "virtual_hosts": hop1_vhosts(generated),
             "ignore_port_in_host_matching": True}
    filters = [hcm(proxy, "ingress", table)]
    chains = tls_chains(ctx, chain_name("ingress", protocol, port), port, filters, lst.tls,
                        Where(gateway, ("listeners", index)))
    bind = ctx.options.bind_address
    return listener(listener_name("ingress", bind, port), bind, port, "INBOUND", [TLS_INSPECTOR], chains)


def gateway_egress_listener(ctx: Ctx, proxy: Proxy, plan: GatewayPlan) -> Json:
    port = ctx.options.egress_port
    metrics = ctx.options.appmesh_metrics
    vhosts = [vhost(service, port, plan.by_host[service]) for service in sorted(plan.by_host)]
    if plan.by_header:
        routes = [_by_header(service, route, metrics) for service in sorted(plan.by_header)
                  for route in plan.by_header[service]]
        vhosts.append({"name": "default_backend", "domains": ["*"], "routes": routes})
    table = {"name": egress_route_table(port), "virtual_hosts": vhosts}
    chain = {"name": chain_name("egress", "http", port), "filter_chain_match": {"destination_port": port},
             "filters": [hcm(proxy, "egress", table)]}
    bind = ctx.options.gateway_egress_bind_address or ctx.options.bind_address
    out = listener(listener_name("egress", bind, port), bind, port, "OUTBOUND", [], [chain])
    return instrument_egress(out, plan.by_host) if metrics else out


def _by_header(service: str, route: Json, metrics: bool) -> Json:
    """The service's own route, selected by the header. As in App Mesh's config dump, the header is removed
    from the response, not from the request: the application behind the service receives it. Its virtual host
    serves every such service, so the route names its service for the App Mesh metrics."""
    header = {"name": VIRTUAL_SERVICE_HEADER, "string_match": {"exact": service}}
    match = {**route["match"], "headers": [header, *route["match"].get("headers", [])]}
    out = {**route, "match": match, "response_headers_to_remove": [VIRTUAL_SERVICE_HEADER]}
    if metrics:
        out["typed_per_filter_config"] = target_service_config(service)
    return out


def gateway_clusters(ctx: Ctx, gateway: VirtualGateway) -> list[Json]:
    """One self-redirect cluster per listener; the listener's connection pool lands here."""
    listeners = gateway.spec.listeners
    multi = len(listeners) > 1
    out: dict[str, Json] = {}
    for lst in listeners:
        name = redirect_cluster_name(ctx, gateway, lst, multi)
        out.setdefault(name, self_redirect_cluster(ctx, name, lst.port_mapping.protocol, lst.connection_pool))
    return list(out.values())
