"""Follow one request through the Envoys meshlint compiles, hop by hop.

Each proxy on the way is compiled in memory by the compiler's own generators (the same model, the same route
order, the same placement of services on ports); its listeners, virtual hosts and routes are then read the
way Envoy reads them (trace/envoy.py). Only the names that explain a decision come from the model: which
App Mesh route a compiled route is, its priority, and why one route comes before another.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from meshlint.compile.envoy.bootstrap import gateway_bootstrap, node_bootstrap
from meshlint.compile.envoy.context import Ctx
from meshlint.compile.envoy.envoy_json import Json
from meshlint.compile.envoy.names import VIRTUAL_SERVICE_HEADER, egress_cluster
from meshlint.diagnostics import ResourceRef
from meshlint.model.entities import GatewayRoute, VirtualGateway, VirtualNode, VirtualRouter
from meshlint.model.graph import gateway_route_target
from meshlint.model.routing import AnyRoute, order_reason
from meshlint.trace import describe
from meshlint.trace.envoy import (
    RouteResult,
    evaluate,
    listener_port,
    listeners,
    network_filter,
    rewritten,
    select_chain,
    select_vhost,
    weighted,
    winner,
)
from meshlint.trace.hints import no_chain, no_route, no_vhost
from meshlint.trace.request import TraceRequest, normalise_path
from meshlint.trace.result import Drop, Hop, Outcome, Policy, RouteLine
from meshlint.trace.targets import outcome, weighted_targets


@dataclass
class Tracer:
    """The compiler's context plus the bootstraps compiled so far (each proxy once)."""

    ctx: Ctx
    seen: set[ResourceRef] = field(default_factory=set)  # the resources on the path, for check's findings
    _documents: dict[tuple[str, str, str], Json] = field(default_factory=dict)
    _targets: dict[str, dict[str, tuple[VirtualNode, int]]] = field(default_factory=dict)

    def node(self, node: VirtualNode) -> Json:
        key = ("node", node.mesh, node.name)
        if key not in self._documents:
            self._documents[key] = node_bootstrap(self.ctx, node)
        return self._documents[key]

    def gateway(self, gateway: VirtualGateway) -> Json:
        key = ("gateway", gateway.mesh, gateway.name)
        if key not in self._documents:
            self._documents[key] = gateway_bootstrap(self.ctx, gateway)
        return self._documents[key]

    def target(self, mesh: str, cluster: str) -> tuple[VirtualNode, int] | None:
        """The virtual node and listener index behind an egress cluster (names are keyed by node + port)."""
        if mesh not in self._targets:
            index: dict[str, tuple[VirtualNode, int]] = {}
            for (node_mesh, _), node in sorted(self.ctx.model.nodes.items()):
                for i, lst in enumerate(node.spec.listeners or ()) if node_mesh == mesh else ():
                    pm = lst.port_mapping
                    index.setdefault(egress_cluster(mesh, node.name, pm.protocol, pm.port), (node, i))
            self._targets[mesh] = index
        return self._targets[mesh].get(cluster)


# ---- from a virtual node ------------------------------------------------------------------------------
def from_node(tracer: Tracer, node: VirtualNode, request: TraceRequest) -> tuple[list[Hop], Outcome]:
    boot = tracer.node(node)
    egress = listeners(boot, "OUTBOUND")[0]
    hop = egress_hop(tracer, f"virtual node {node.name}", node.mesh, boot, egress, request, request.port)
    return [hop], outcome(hop)


def from_gateway(tracer: Tracer, gateway: VirtualGateway, request: TraceRequest) -> tuple[list[Hop], Outcome]:
    """Hop 1: the gateway listener and gateway routes (rewrites); hop 2: its egress, like a node's."""
    boot = tracer.gateway(gateway)
    proxy = f"virtual gateway {gateway.name}"
    inbound = [lst for lst in listeners(boot, "INBOUND") if listener_port(lst) == request.port]
    if not inbound:
        ports = ", ".join(str(listener_port(lst)) for lst in listeners(boot, "INBOUND")) or "no port"
        drop = Drop(None, f"the gateway does not listen on port {request.port} (it listens on {ports}): the "
                    "connection is refused", f"send the request to one of the gateway's listener ports ({ports})")
        hop = Hop(proxy, "(none)", request.port, request, drop=drop)
        return [hop], Outcome(drop=drop)
    listener = inbound[0]
    chain = select_chain(listener, request.port, request.tls, request.host if request.tls else None)
    first = Hop(proxy, listener["name"], request.port, request)
    if chain is None:
        return _stopped(first, Drop(None, f"no filter chain on port {request.port}: the connection is closed"))
    tls_drop = _client_tls_mismatch(chain, request)
    if tls_drop is not None:
        return _stopped(first, tls_drop, chain["name"])
    _, fields = network_filter(chain)
    hop1 = _http_hop(tracer, first, chain, fields, gateway.mesh, boot, gateway)
    if chain.get("transport_socket", {}).get("typed_config", {}).get("require_client_certificate"):
        hop1 = replace(hop1, notes=("mTLS: the client must present a certificate the listener's CA trusts",
                                    *hop1.notes))
    if hop1.drop is not None or not hop1.targets:
        return [hop1], outcome(hop1)
    egress = listeners(boot, "OUTBOUND")[0]
    port = listener_port(egress)
    inner = (hop1.sent or request).with_changes(scheme="http", port=port)  # the self-redirect hop: plain HTTP
    hop2 = egress_hop(tracer, f"{proxy} (egress)", gateway.mesh, boot, egress, inner, port)
    return [hop1, hop2], outcome(hop2)


def _stopped(hop: Hop, drop: Drop, chain: str | None = None) -> tuple[list[Hop], Outcome]:
    stopped = Hop(hop.proxy, hop.listener, hop.port, hop.request, chain=chain, drop=drop)
    return [stopped], Outcome(drop=drop)


def _client_tls_mismatch(chain: Json, request: TraceRequest) -> Drop | None:
    if "transport_socket" in chain and not request.tls:
        return Drop(None, f"the listener on port {request.port} requires TLS and the request is plain HTTP: the "
                    "handshake fails", f"use https://{request.authority}{request.path}")
    if "transport_socket" not in chain and request.tls:
        return Drop(None, f"the listener on port {request.port} speaks plain HTTP and the request starts TLS: "
                    "Envoy cannot read it", f"use http://{request.authority}{request.path}")
    return None


# ---- an egress listener (a node's, or a gateway's second hop) -----------------------------------------
def egress_hop(tracer: Tracer, proxy: str, mesh: str, boot: Json, listener: Json, request: TraceRequest,
               port: int) -> Hop:
    hop = Hop(proxy, listener["name"], port, request)
    chain = select_chain(listener, port, request.tls, request.host if request.tls else None)
    if chain is None:
        return replace(hop, drop=no_chain(tracer.ctx, mesh, boot, listener, request, port))
    kind, fields = network_filter(chain)
    if kind == "tcp":
        found = weighted_targets(tracer, mesh, boot, weighted(fields), request)
        return Hop(proxy, listener["name"], port, request, chain=chain["name"], targets=found,
                   policy=Policy(idle_timeout=fields.get("idle_timeout")),
                   notes=("TCP proxy: the bytes are forwarded as they are, without HTTP routing",))
    if request.tls:
        return replace(hop, chain=chain["name"], drop=Drop(
            None, f"the app starts TLS on port {port}, where the egress chain expects plain HTTP: Envoy cannot "
            "read the request", "call the service with http://; the mesh adds TLS per the client policy"))
    return _http_hop(tracer, replace(hop, chain=chain["name"]), chain, fields, mesh, boot, None)


def _http_hop(tracer: Tracer, hop: Hop, chain: Json, fields: Json, mesh: str, boot: Json,
              gateway: VirtualGateway | None) -> Hop:
    """The path as this connection manager normalises it, the virtual host by Host, then the first route
    that matches, then its targets."""
    path = normalise_path(hop.request.path, dots=bool(fields.get("normalize_path")),
                          slashes=bool(fields.get("merge_slashes")))
    hop = replace(hop, chain=chain["name"], request=hop.request.with_changes(path=path))
    table = fields["route_config"]
    vhost = select_vhost(table, hop.request.authority)
    if vhost is None:
        return replace(hop, drop=no_vhost(tracer.ctx, mesh, table, hop.request, hop.port, gateway is not None))
    hop = replace(hop, virtual_host=vhost["name"], domains=tuple(vhost["domains"]))
    results = evaluate(vhost, hop.request)
    taken = winner(results)
    entities = [_entity(tracer, mesh, vhost, r, gateway) for r in results]
    tracer.seen.update(e.ref for e in entities if e is not None)
    service = _service(vhost, taken) if gateway is None else _gateway_target(entities, taken)
    provider = _provider(tracer, mesh, service) if gateway is None else None
    if service is not None:
        tracer.seen.add(ResourceRef("VirtualService", mesh, service))
    lines = tuple(_line(r, taken, entities) for r in results)
    hop = replace(hop, service=service, provider=provider, routes=lines)
    if vhost["name"] == "allow_all":
        hop = replace(hop, notes=("ALLOW_ALL: a Host the mesh does not know goes to the original destination",))
    if taken is None:
        return replace(hop, drop=no_route(vhost, service, provider, gateway is not None))
    action: Json = taken.route.get("route", {})
    sent = rewritten(taken.route, taken.match, hop.request)
    policy = Policy(action.get("timeout"), action.get("idle_timeout"), describe.retry_text(action.get("retry_policy")),
                    _rewrites(hop.request, sent))
    found = weighted_targets(tracer, mesh, boot, weighted(action), sent)
    return replace(hop, policy=policy, targets=found, sent=sent)


def _gateway_target(entities: list[AnyRoute | None], taken: RouteResult | None) -> str | None:
    """The virtual service the taken gateway route sends to."""
    groute = entities[taken.index] if taken is not None else None
    found = gateway_route_target(groute) if isinstance(groute, GatewayRoute) else None
    return found[0].virtual_service.virtual_service_name if found is not None else None


def _service(vhost: Json, taken: RouteResult | None) -> str | None:
    """The virtual service a hop-2 / egress virtual host serves (`default_backend`: the header's value)."""
    if vhost["name"] == "default_backend":
        rules = [h for h in (taken.match.headers if taken else ()) if h.name == VIRTUAL_SERVICE_HEADER]
        return rules[0].value if rules else None
    return None if vhost["name"] == "allow_all" else str(vhost["name"])


def _provider(tracer: Tracer, mesh: str, service: str | None) -> str | None:
    found = tracer.ctx.graph.provider(mesh, service) if service else None
    if found is not None:
        tracer.seen.add(found.ref)
    if isinstance(found, VirtualRouter):  # its routes left out of the table are on the way too
        tracer.seen.update(r.ref for r in tracer.ctx.graph.routes_by_router.get((mesh, found.name), []))
        return f"virtual router {found.name}"
    if isinstance(found, VirtualNode):
        return f"virtual node {found.name}"
    return None


def _entity(tracer: Tracer, mesh: str, vhost: Json, result: RouteResult,
            gateway: VirtualGateway | None) -> AnyRoute | None:
    """The App Mesh route a compiled route was made from: a gateway route of the gateway (hop 1), else a
    route of the router that provides the virtual host's service (or, in `default_backend`, the service
    the route's header names); None for the route App Mesh made for a node provider."""
    graph = tracer.ctx.graph
    name = result.route.get("name")
    if gateway is not None:
        return next((r for r in graph.routes_by_gateway.get((mesh, gateway.name), []) if r.name == name), None)
    found = graph.provider(mesh, _service(vhost, result) or "")
    if not isinstance(found, VirtualRouter):
        return None
    return next((r for r in graph.routes_by_router.get((mesh, found.name), []) if r.name == name), None)


def _line(result: RouteResult, taken: RouteResult | None, entities: list[AnyRoute | None]) -> RouteLine:
    entity = entities[result.index]
    name = entity.qualified_name if entity is not None else "(the provider node's route: every request)"
    priority = entity.spec.priority if entity is not None else None
    match = describe.match_text(result.match)
    if taken is not None and result.index == taken.index:
        return RouteLine(name, match, priority, "taken")
    if not result.matched:
        reason = "; ".join(m.describe() for m in result.misses)
        return RouteLine(name, match, priority, "no match", reason, result.misses)
    assert taken is not None  # a route that matches but was not taken comes after the one taken
    first = entities[taken.index]
    if first is not None and entity is not None and first is not entity:
        reason = order_reason(first, entity)
    elif first is not None and first is entity:  # a gateway prefix P: App Mesh's pair `P/` then `P`
        reason = "the same gateway route with the trailing slash comes first"
    else:
        reason = "comes later in the route table"
    return RouteLine(name, match, priority, "also matches", reason)


def _rewrites(before: TraceRequest, after: TraceRequest) -> tuple[str, ...]:
    out = []
    if after.path != before.path:
        out.append(f"path {before.path} -> {after.path}")
    if after.authority != before.authority:
        out.append(f"Host {before.authority} -> {after.authority}")
    old = dict(before.headers)
    out += [f"adds {name}: {value}" for name, value in after.headers if old.get(name) != value]
    kept = {name for name, _ in after.headers}
    out += [f"removes {name}" for name in old if name not in kept]
    return tuple(out)
