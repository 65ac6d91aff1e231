"""Resilience rules: retries-exceed-timeout, timeout-chain, health-check-timing, connection-pool-mismatch,
outlier-detection-ineffective, retry-amplification.

App Mesh: https://docs.aws.amazon.com/app-mesh/latest/userguide/routes.html (timeouts and retries),
https://docs.aws.amazon.com/app-mesh/latest/userguide/virtual_nodes.html (listener policies)
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from meshlint.analyze.context import RuleContext, finding, rule
from meshlint.diagnostics import Finding
from meshlint.model.entities import GatewayRoute, MeshKey, Resource, Route, VirtualNode
from meshlint.model.graph import (
    ROUTE_TYPE_ALIAS,
    Hop,
    gateway_route_target,
    has_placeholder,
    route_type,
    same_scope,
)

DEFAULT_REQUEST_MS = 15_000  # App Mesh's perRequest default for http, http2 and grpc (0 disables)
_HTTP_KINDS = {"http_route": "http", "http2_route": "http2", "grpc_route": "grpc"}


def millis(duration: Any) -> int | None:
    if duration is None or duration.value is None:
        return None
    return int(duration.value) * (1 if duration.unit == "ms" else 1000)


def seconds(ms: int) -> str:
    return f"{ms / 1000:g}s" if ms % 1000 == 0 or ms >= 1000 else f"{ms}ms"


# ---- retries-exceed-timeout -----------------------------------------------------------------------
@rule("retries-exceed-timeout")
def retries_exceed_timeout(ctx: RuleContext) -> Iterator[Finding]:
    for route in ctx.model.routes.values():
        kind = route_type(route.spec)
        if kind not in _HTTP_KINDS:
            continue
        body = getattr(route.spec, kind)
        policy = body.retry_policy
        per_try = millis(policy.per_retry_timeout) if policy is not None else None
        if policy is None or not per_try:
            continue
        explicit = millis(body.timeout.per_request) if body.timeout is not None else None
        timeout = DEFAULT_REQUEST_MS if explicit is None else explicit
        attempts = policy.max_retries + 1
        if timeout == 0 or per_try * attempts <= timeout:
            continue
        fit = max(timeout // per_try, 1)
        default = " (the default)" if explicit is None else ""
        yield finding(
            "retries-exceed-timeout", route,
            route.spec_pointer(ROUTE_TYPE_ALIAS[kind], "retryPolicy", "perRetryTimeout"),
            f"route {route.qualified_name!r} allows {attempts} attempts of {seconds(per_try)} "
            f"({seconds(per_try * attempts)}), but its request timeout is {seconds(timeout)}{default}: only "
            f"{fit} attempt{'s' if fit != 1 else ''} can run",
            f"raise timeout.perRequest to at least {seconds(per_try * attempts)}, or lower maxRetries or "
            "perRetryTimeout")


# ---- timeout-chain --------------------------------------------------------------------------------
def _listener_request_ms(listener: Any, protocol: str) -> tuple[int, bool]:
    """(effective perRequest of a listener for `protocol`, whether it is set explicitly)."""
    timeout = getattr(listener.timeout, protocol, None) if listener.timeout is not None else None
    value = millis(timeout.per_request) if timeout is not None else None
    return (DEFAULT_REQUEST_MS, False) if value is None else (value, True)


def _longer(a: int, b: int) -> bool:
    """Whether timeout `a` lasts longer than `b` (0 disables the timeout: infinitely long)."""
    if a == b:
        return False
    return a == 0 or (b != 0 and a > b)


def _target_listeners(node: VirtualNode, port: int | None, protocol: str) -> Iterator[tuple[int, Any]]:
    for i, listener in enumerate(node.spec.listeners or ()):
        if listener.port_mapping.protocol != protocol:
            continue
        if port is None or listener.port_mapping.port == port:
            yield i, listener


@rule("timeout-chain")
def timeout_chain(ctx: RuleContext) -> Iterator[Finding]:
    # a route raised above what a target node's listener allows
    for route in ctx.model.routes.values():
        kind = route_type(route.spec)
        if kind not in _HTTP_KINDS:
            continue
        protocol = _HTTP_KINDS[kind]
        body = getattr(route.spec, kind)
        route_ms = millis(body.timeout.per_request) if body.timeout is not None else None
        if route_ms is None or not _longer(route_ms, DEFAULT_REQUEST_MS):
            continue
        for target in ctx.graph.targets(route):
            node = ctx.model.nodes.get((route.mesh, target.node))
            if node is None or target.weight <= 0 or not same_scope(route, node):
                continue
            for _, listener in _target_listeners(node, target.port, protocol):
                node_ms, explicit = _listener_request_ms(listener, protocol)
                if _longer(route_ms, node_ms):
                    kept = "keeps the default" if not explicit else "allows"
                    yield finding(
                        "timeout-chain", route, route.spec_pointer(ROUTE_TYPE_ALIAS[kind], "timeout", "perRequest"),
                        f"route {route.qualified_name!r} raises the request timeout to {_text(route_ms)}, but the "
                        f"listener on port {listener.port_mapping.port} of virtual node {node.name!r} {kept} "
                        f"{_text(node_ms)}: requests are cut there",
                        f"set timeout.{protocol}.perRequest of that listener to {_text(route_ms)} too; every hop of "
                        "the call must allow the longer timeout")
                    break
    # a node listener raised above what the hop in front of it allows
    provided_by: dict[tuple[str, str], list[Any]] = defaultdict(list)
    for (mesh, _), service in sorted(ctx.model.services.items()):
        provider = service.spec.provider
        if provider is not None and provider.virtual_node is not None:
            provided_by[(mesh, provider.virtual_node.virtual_node_name)].append(service)
    routed_by: dict[tuple[str, str], list[tuple[Route, int | None]]] = defaultdict(list)
    for route in ctx.model.routes.values():
        if route_type(route.spec) in _HTTP_KINDS:
            for target in ctx.graph.targets(route):
                if target.weight > 0:
                    routed_by[(route.mesh, target.node)].append((route, target.port))
    for key, node in ctx.model.nodes.items():
        for i, listener in enumerate(node.spec.listeners or ()):
            protocol = listener.port_mapping.protocol
            if protocol == "tcp":
                continue
            node_ms, explicit = _listener_request_ms(listener, protocol)
            if not explicit or not _longer(node_ms, DEFAULT_REQUEST_MS):
                continue
            front = _front_hop(node, listener.port_mapping.port, node_ms, provided_by[key], routed_by[key])
            if front is not None:
                yield finding(
                    "timeout-chain", node, node.spec_pointer("listeners", i, "timeout", protocol, "perRequest"),
                    f"the listener on port {listener.port_mapping.port} of virtual node {node.name!r} allows "
                    f"{_text(node_ms)}, but {front}: requests are cut there",
                    "raise the timeout on every hop of the call (client route or router, and this listener), or "
                    "lower this one")


def _front_hop(node: VirtualNode, port: int, node_ms: int, services: list[Any],
               routes: list[tuple[Route, int | None]]) -> str | None:
    """What cuts requests to `node` before its own listener timeout: a route with a shorter timeout, or
    (for a service the node provides directly) the clients' fixed 15 s."""
    for service in services:
        if same_scope(node, service):
            return (f"virtual service {service.name!r} is provided by the node directly, and its clients keep the "
                    f"default {_text(DEFAULT_REQUEST_MS)} (a virtual router with a route timeout can raise it)")
    for route, target_port in routes:
        if target_port not in (None, port) or not same_scope(node, route):
            continue
        kind = route_type(route.spec)
        body = getattr(route.spec, kind or "")
        explicit = millis(body.timeout.per_request) if body.timeout is not None else None
        route_ms = DEFAULT_REQUEST_MS if explicit is None else explicit
        if _longer(node_ms, route_ms):
            kept = "keeps the default" if explicit is None else "allows"
            return f"route {route.qualified_name!r} in front of it {kept} {_text(route_ms)}"
    return None


def _text(ms: int) -> str:
    return "no timeout" if ms == 0 else seconds(ms)


# ---- health-check-timing --------------------------------------------------------------------------
def _listeners(ctx: RuleContext) -> Iterator[tuple[Resource, int, Any]]:
    for node in ctx.model.nodes.values():
        for i, listener in enumerate(node.spec.listeners or ()):
            yield node, i, listener
    for gateway in ctx.model.gateways.values():
        for j, gateway_listener in enumerate(gateway.spec.listeners):
            yield gateway, j, gateway_listener


def _what(resource: Resource) -> str:
    return f"{'virtual node' if resource.kind == 'VirtualNode' else 'virtual gateway'} {resource.name!r}"


@rule("health-check-timing")
def health_check_timing(ctx: RuleContext) -> Iterator[Finding]:
    for resource, i, listener in _listeners(ctx):
        check = listener.health_check
        if check is None or check.timeout_millis < check.interval_millis:
            continue
        yield finding(
            "health-check-timing", resource, resource.spec_pointer("listeners", i, "healthCheck", "timeoutMillis"),
            f"the health check of the listener on port {listener.port_mapping.port} of {_what(resource)} waits "
            f"{check.timeout_millis} ms for an answer but runs every {check.interval_millis} ms: checks overlap "
            "and a slow endpoint is never seen as failing in time",
            f"lower timeoutMillis below intervalMillis (e.g. {max(2000, check.interval_millis // 2)})")


# ---- connection-pool-mismatch ---------------------------------------------------------------------
@rule("connection-pool-mismatch")
def connection_pool_mismatch(ctx: RuleContext) -> Iterator[Finding]:
    for resource, i, listener in _listeners(ctx):
        pool = listener.connection_pool
        if pool is None:
            continue
        kinds = [k for k in ("http", "http2", "grpc", "tcp") if getattr(pool, k, None) is not None]
        protocol = listener.port_mapping.protocol
        if not kinds or protocol in kinds:
            continue
        yield finding(
            "connection-pool-mismatch", resource, resource.spec_pointer("listeners", i, "connectionPool", kinds[0]),
            f"the listener on port {listener.port_mapping.port} of {_what(resource)} speaks {protocol}, but its "
            f"connection pool is a {kinds[0]} pool: the limits do not apply",
            f"use connectionPool.{protocol} for {'an' if protocol.startswith('http') else 'a'} {protocol} listener")


# ---- outlier-detection-ineffective ----------------------------------------------------------------
@rule("outlier-detection-ineffective")
def outlier_detection_ineffective(ctx: RuleContext) -> Iterator[Finding]:
    for node in ctx.model.nodes.values():
        for i, listener in enumerate(node.spec.listeners or ()):
            outlier = listener.outlier_detection
            if outlier is None:
                continue
            where = f"the listener on port {listener.port_mapping.port} of virtual node {node.name!r}"
            if outlier.max_ejection_percent == 0:
                yield finding(
                    "outlier-detection-ineffective", node,
                    node.spec_pointer("listeners", i, "outlierDetection", "maxEjectionPercent"),
                    f"outlier detection on {where} has maxEjectionPercent 0: no endpoint is ever ejected",
                    "set maxEjectionPercent to the share of endpoints that may be ejected at once (e.g. 50)")
                continue
            dns = node.spec.service_discovery.dns if node.spec.service_discovery is not None else None
            if dns is not None and dns.response_type in (None, "LOADBALANCER"):
                yield finding(
                    "outlier-detection-ineffective", node, node.spec_pointer("listeners", i, "outlierDetection"),
                    f"outlier detection on {where} cannot single out an endpoint: the node is discovered by DNS "
                    f"with response type {dns.response_type or 'LOADBALANCER'} (the default), so clients see "
                    f"{dns.hostname!r} as one host and eject all of it or nothing",
                    "set serviceDiscovery.dns.responseType to ENDPOINTS (or use Cloud Map), or remove the "
                    "outlier detection", at_key=True)


# ---- retry-amplification --------------------------------------------------------------------------
DEFAULT_MAX_ATTEMPTS = 10  # options: {retry-amplification: {max-attempts: N}}

Client = MeshKey | GatewayRoute  # who sends a request on: a virtual node, or a gateway route (its gateway)


@dataclass(slots=True)  # not frozen: a mesh of 10,000 services has some 200,000 hops, and frozen is slower
class _Call:
    """One hop: `client` calls `service`, which delivers to virtual node `node` through `route` (None: the
    service's provider is the node itself), and the client's proxy makes `attempts` tries. `order`: the names
    that break ties between hops of equal product (client, service, route, node), so the printed path is always
    the same."""

    client: Client
    service: str
    route: Route | None
    node: MeshKey
    attempts: int
    order: tuple[str, str, str, str]


def hop_attempts(route: Route) -> int:
    """How often the client's proxy sends one request through `route`: maxRetries + 1 under an explicit
    retryPolicy, else 1. App Mesh's default policy (2 retries on connect failures, resets and 503, on every
    HTTP hop without one) is not counted: it is on every hop, so counting it would flag every chain of three
    services, and meshes of accounts from before 2020-07-29 do not have it."""
    kind = route_type(route.spec)
    policy = getattr(route.spec, kind).retry_policy if kind in _HTTP_KINDS else None
    return 1 if policy is None else policy.max_retries + 1


class _Amplification:
    """The largest product of attempts with which a request reaches each virtual node, by dynamic
    programming over the call graph in topological order: linear, no path is enumerated.

    Call cycles are cut: hops inside a strongly connected component are not followed, and the count starts
    again at 1 where a path leaves one. Through a loop the attempts have no bound, which routing-cycle
    reports; carrying products across it would report that cycle again on every route behind it."""

    def __init__(self, ctx: RuleContext) -> None:
        graph = ctx.graph
        self.nodes = ctx.model.nodes
        self.routes = {(r.mesh, r.qualified_name): (r, hop_attempts(r)) for r in ctx.model.routes.values()}
        self.component = {key: i for i, members in enumerate(graph.cycles()) for key in members}
        self.calls = {key: list(self._calls(key, node, graph.node_edges(key))) for key, node in self.nodes.items()}
        self.entry: list[_Call] = []  # the hops of gateway routes, where requests enter the mesh
        for groute in ctx.model.gateway_routes.values():
            found = gateway_route_target(groute)
            if found is not None:
                service = found[0].virtual_service.virtual_service_name
                edges = [(service, hops, target) for hops, target in graph.service_paths(groute.mesh, service)]
                self.entry += self._calls(groute, groute, edges)
        self.best: dict[MeshKey, tuple[int, _Call]] = {}  # node -> (product above 1 on arrival, the hop)
        self._propagate()

    def _calls(self, client: Client, source: Resource, edges: list[tuple[str, list[Hop], str]]) -> Iterator[_Call]:
        """The hops of `edges` (as node_edges gives them) that are counted: in `source`'s scope (same_scope)
        and not inside a cycle."""
        mesh = source.mesh
        scoped = has_placeholder(mesh)
        cycle = self.component.get(client) if isinstance(client, tuple) else None
        name = client[1] if isinstance(client, tuple) else client.qualified_name
        for service, hops, target in edges:
            route, attempts = self.routes[(mesh, hops[0].name)] if hops else (None, 1)
            node = (mesh, target)
            if cycle is not None and self.component.get(node) == cycle:
                continue
            if scoped and not (same_scope(source, self.nodes[node]) and (route is None or same_scope(source, route))):
                continue
            # hops[0].name is the route's qualified name
            yield _Call(client, service, route, node, attempts, (name, service, hops[0].name if hops else "", target))

    def leaving(self, client: Client) -> int:
        """The product a request carries when `client` sends it on (1 from a gateway or out of a cycle)."""
        if not isinstance(client, tuple) or client in self.component:
            return 1
        held = self.best.get(client)
        return 1 if held is None else held[0]

    def senders(self) -> Iterator[tuple[int, list[_Call]]]:
        """(product carried, hops) for the gateway routes, then for each virtual node."""
        yield 1, self.entry
        for key, calls in self.calls.items():
            yield self.leaving(key), calls

    def _propagate(self) -> None:
        """Kahn's algorithm: a node sends on once every hop into it has arrived."""
        waiting = dict.fromkeys(self.nodes, 0)
        for calls in self.calls.values():
            for call in calls:
                waiting[call.node] += 1
        self._arrive(1, self.entry)
        ready = deque(key for key, count in waiting.items() if count == 0)
        while ready:
            key = ready.popleft()
            for call in self._arrive(self.leaving(key), self.calls[key]):
                waiting[call.node] -= 1
                if waiting[call.node] == 0:
                    ready.append(call.node)

    def _arrive(self, before: int, calls: list[_Call]) -> list[_Call]:
        for call in calls:
            product = before * call.attempts
            held = self.best.get(call.node)
            # products of 1 need no hop: a path is printed from where it starts to multiply
            if product > (1 if held is None else held[0]) or (
                    held is not None and product == held[0] and call.order < held[1].order):
                self.best[call.node] = (product, call)
        return calls

    def path(self, last: _Call) -> list[_Call]:
        """The hops of the largest product that ends with `last`, from where it started to multiply."""
        hops = [last]
        client = last.client
        while isinstance(client, tuple) and self.leaving(client) > 1:
            hops.append(self.best[client][1])
            client = hops[-1].client
        return hops[::-1]


def _describe(hops: list[_Call]) -> str:
    first = hops[0].client
    text = f"node {first[1]!r}" if isinstance(first, tuple) else f"gateway route {first.qualified_name!r}"
    for hop in hops:
        via = f"route {hop.route.qualified_name!r}" if hop.route is not None else f"service {hop.service!r}"
        text += f" -> {via} x{hop.attempts} -> node {hop.node[1]!r}"
    return text


@rule("retry-amplification")
def retry_amplification(ctx: RuleContext) -> Iterator[Finding]:
    limit = int(ctx.options("retry-amplification").get("max-attempts", DEFAULT_MAX_ATTEMPTS))
    graph = _Amplification(ctx)
    # per route, the largest product that first exceeds the limit on it: where that path "ends"
    worst: dict[tuple[str, str], tuple[int, _Call]] = {}
    for before, calls in graph.senders():
        if before > limit:
            continue  # every path through here was reported where it crossed the limit
        for call in calls:
            if call.route is None or before * call.attempts <= limit:
                continue
            key = (call.route.mesh, call.route.qualified_name)
            held = worst.get(key)
            if held is None or before > held[0] or (before == held[0] and call.order < held[1].order):
                worst[key] = (before, call)
    for before, call in worst.values():
        yield _finding(call, before * call.attempts, graph.path(call), limit)


def _finding(call: _Call, product: int, hops: list[_Call], limit: int) -> Finding:
    route = call.route
    assert route is not None
    outer = hops[0].route
    if outer is not None and outer is not route:
        help = (f"retry at one layer only, usually the outermost (route {outer.qualified_name!r}): set "
                "maxRetries: 0 on the routes behind it (removing retryPolicy brings back App Mesh's default of 2 "
                f"retries), or lower maxRetries until the attempts multiply to {limit} or less")
    else:
        help = f"lower maxRetries to {limit - 1} or less"
    verb = "multiply along" if len(hops) > 1 else "along"
    return finding(
        "retry-amplification", route,
        route.spec_pointer(ROUTE_TYPE_ALIAS[route_type(route.spec) or ""], "retryPolicy", "maxRetries"),
        f"retries {verb} {_describe(hops)} = {product} attempts per request at virtual node {call.node[1]!r} (more "
        f"than {limit}): a brief failure there becomes an overload", help)
