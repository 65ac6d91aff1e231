"""Resilience rules: retries-exceed-timeout, timeout-chain, health-check-timing, connection-pool-mismatch,
outlier-detection-ineffective.

App Mesh: https://docs.aws.amazon.com/app-mesh/latest/userguide/routes.html (timeouts and retries),
https://docs.aws.amazon.com/app-mesh/latest/userguide/virtual_nodes.html (listener policies)
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from meshlint.analyze.context import RuleContext, finding, rule
from meshlint.diagnostics import Finding
from meshlint.model.entities import Resource, Route, VirtualNode
from meshlint.model.graph import ROUTE_TYPE_ALIAS, route_targets, route_type, same_scope

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
        for target in route_targets(route):
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
            for target in route_targets(route):
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
