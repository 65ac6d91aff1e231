"""Traffic rules over routers and their routes: weights-invalid, duplicate-priority, shadowed-route,
mixed-priority, router-without-routes, route-protocol-mismatch, port-mismatch, service-without-provider,
gateway-without-routes.

App Mesh: https://docs.aws.amazon.com/app-mesh/latest/userguide/routes.html
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from meshlint.analyze.context import RuleContext, finding, rule
from meshlint.analyze.rules.routing import split_texts, weighted_routes
from meshlint.diagnostics import Finding
from meshlint.model.entities import GatewayRoute, Route, VirtualNode, VirtualRouter
from meshlint.model.graph import ROUTE_TYPE_ALIAS, has_placeholder, route_type, same_scope
from meshlint.model.routing import member, path_rule
from meshlint.model.routing import spec_match as _match

_PROTOCOL = {"http_route": "http", "http2_route": "http2", "grpc_route": "grpc", "tcp_route": "tcp"}


# ---- weights-invalid ------------------------------------------------------------------------------
@rule("weights-invalid")
def weights_invalid(ctx: RuleContext) -> Iterator[Finding]:
    for route, targets, total, pointer in weighted_routes(ctx):
        if total == 0:
            yield finding("weights-invalid", route, pointer,
                          f"every target of route {route.qualified_name!r} has weight 0; Envoy rejects a "
                          "weighted split whose total is 0",
                          "give the target that should serve the traffic a positive weight, or delete the route")
        elif total > 100:
            applied, fixed = split_texts(targets)
            yield finding("weights-invalid", route, pointer,
                          f"weights of route {route.qualified_name!r} add up to {total}; App Mesh rejects a "
                          "total above 100",
                          f"to keep the ratio ({applied}) write {fixed}")


# ---- route matches --------------------------------------------------------------------------------
def _dump(value: Any) -> Any:
    return None if value is None else value.model_dump(by_alias=True, exclude_none=True)


def _paths(match: Any) -> tuple[str, str] | None:
    """('prefix', p) | ('exact', p) | ('regex', r) of an http/http2 match; no path part means prefix '/'."""
    rule = path_rule(match)
    return None if rule is None else (rule.kind, rule.value)


def _same_or_wider(first: Any, later: Any) -> bool:
    """A constraint of `first` that `later` repeats (or `first` leaves open)."""
    return first is None or first == later


def _subset(first: Any, later: Any) -> bool:
    """Every entry of `first` (headers, query parameters, metadata) also appears in `later`."""
    a = [_dump(x) for x in first or ()]
    b = [_dump(x) for x in later or ()]
    return all(x in b for x in a)


def _host_covers(first: Any, later: Any) -> bool:
    """Gateway-route hostname matches: every host `later` accepts is accepted by `first`. Host matching
    ignores letter case (the compiled virtual hosts do too)."""
    if first is None:
        return True
    if later is None:
        return False
    if first.exact is not None:
        return later.exact is not None and later.exact.lower() == first.exact.lower()
    suffix = (first.suffix or "").lower()
    return (later.exact or later.suffix or "").lower().endswith(suffix)


def _host_overlaps(one: Any, other: Any) -> bool:
    if one is None or other is None:
        return True
    if one.exact is not None and other.exact is not None:
        return bool(one.exact.lower() == other.exact.lower())
    a, b = (one.exact or one.suffix or "").lower(), (other.exact or other.suffix or "").lower()
    return a.endswith(b) or b.endswith(a)


def covers(kind: str, first: Any, later: Any) -> bool:
    """Whether every request that `later` matches is also matched by `first` (a safe under-estimate)."""
    if first is None:
        return True
    if later is None:
        return _dump(first) in ({}, None)
    if not _same_or_wider(getattr(first, "port", None), getattr(later, "port", None)):
        return False
    if not _host_covers(member(first, "hostname"), member(later, "hostname")):
        return False
    if kind == "tcp_route":
        return True
    if kind == "grpc_route":
        # gateway gRPC matches have no methodName
        first_method, later_method = member(first, "method_name"), member(later, "method_name")
        return (_same_or_wider(first.service_name, later.service_name)
                and _same_or_wider(first_method, later_method)
                and (first_method is None or first.service_name is not None)
                and _subset(first.metadata, later.metadata))
    # the paths first: they tell most pairs apart, before any header is compared
    if not _path_covers(_paths(first), _paths(later)):
        return False
    return (_same_or_wider(first.method, later.method)
            and _same_or_wider(member(first, "scheme"), member(later, "scheme"))
            and _subset(first.headers, later.headers) and _subset(first.query_parameters, later.query_parameters))


def _path_covers(a: tuple[str, str] | None, b: tuple[str, str] | None) -> bool:
    """Whether every path the `_paths` form `b` matches is matched by `a` too."""
    if a is None or b is None:
        return a is None and b is None
    if a[0] == "prefix":
        return (b[0] != "regex" and b[1].startswith(a[1])) or (b[0] == "regex" and a[1] == "/")
    return a == b


def overlaps(kind: str, one: Any, other: Any) -> bool:
    """Whether some request could match both (a safe over-estimate: unknown means yes)."""
    if one is None or other is None:
        return True
    p1, p2 = getattr(one, "port", None), getattr(other, "port", None)
    if p1 is not None and p2 is not None and p1 != p2:
        return False
    if not _host_overlaps(member(one, "hostname"), member(other, "hostname")):
        return False
    if kind == "tcp_route":
        return True
    if kind == "grpc_route":
        return all(x is None or y is None or x == y for x, y in (
            (one.service_name, other.service_name),
            (member(one, "method_name"), member(other, "method_name")))) \
            and not _fields_exclude(one.metadata, other.metadata)
    if one.method is not None and other.method is not None and one.method != other.method:
        return False
    if _fields_exclude(one.headers, other.headers) \
            or _fields_exclude(member(one, "query_parameters"), member(other, "query_parameters")):
        return False
    a, b = _paths(one), _paths(other)
    if a is None or b is None or "regex" in (a[0], b[0]):
        return True
    if a[0] == "exact" and b[0] == "exact":
        return a[1] == b[1]
    if a[0] == "prefix" and b[0] == "prefix":
        return a[1].startswith(b[1]) or b[1].startswith(a[1])
    prefix, exact = (a[1], b[1]) if a[0] == "prefix" else (b[1], a[1])
    return exact.startswith(prefix)


def _fields_exclude(ones: Any, others: Any) -> bool:
    """Whether a header (query parameter, gRPC metadata) that both matches name is matched in ways no one value
    meets: `color` exact `blue` and exact `green`. A header sent twice reaches the matcher as one value joined
    by commas, so it still has one start and one end. An inverted match or a placeholder decides nothing."""
    for a in ones or ():
        for b in others or ():
            if a.name.lower() != b.name.lower() or member(a, "invert") or member(b, "invert"):
                continue
            one, other = _literal(a.match), _literal(b.match)
            if one is not None and other is not None and _exclusive(one, other):
                return True
    return False


def _literal(method: Any) -> tuple[str, str] | None:
    for way in ("exact", "prefix", "suffix"):
        value = member(method, way)
        if isinstance(value, str):
            return None if has_placeholder(value) else (way, value)
    return None


def _exclusive(one: tuple[str, str], other: tuple[str, str]) -> bool:
    (way, value), (other_way, other_value) = sorted((one, other))  # exact < prefix < suffix
    if way == "exact":
        meets = value == other_value if other_way == "exact" else \
            value.startswith(other_value) if other_way == "prefix" else value.endswith(other_value)
        return not meets
    if way == other_way == "prefix":
        return not (value.startswith(other_value) or other_value.startswith(value))
    if way == other_way == "suffix":
        return not (value.endswith(other_value) or other_value.endswith(value))
    return False  # a prefix and a suffix: some value has both


def _match_pointer(route: Route | GatewayRoute, kind: str) -> str:
    match = _match(route)
    if match is None:
        return route.spec_pointer(ROUTE_TYPE_ALIAS[kind])
    return route.spec_pointer(ROUTE_TYPE_ALIAS[kind], "match")


def _routes_by_kind(routes: list[Any]) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for route in routes:
        kind = route_type(route.spec)
        if kind is not None:
            out.setdefault(kind, []).append(route)
    return out


def _describe(route: Route | GatewayRoute) -> str:
    word = "route" if isinstance(route, Route) else "gateway route"
    return f"{word} {route.qualified_name!r}"


def _route_groups(ctx: RuleContext) -> list[tuple[str, list[Any]]]:
    """Routes of one router (or gateway routes of one gateway), per route kind, in evaluation order; grouped
    once per run for the three rules that compare them pairwise (RuleContext.shared). Read-only."""
    out: list[tuple[str, list[Any]]] = []
    groups: list[dict[Any, Any]] = [ctx.graph.routes_by_router, ctx.graph.routes_by_gateway]
    for group in groups:
        for (mesh, _), routes in sorted(group.items()):
            if not has_placeholder(mesh):
                out += sorted(_routes_by_kind(list(routes)).items())
                continue
            for path in sorted({r.origin.path for r in routes}):  # `${MeshName}` of unrelated templates
                out += sorted(_routes_by_kind([r for r in routes if r.origin.path == path]).items())
    return out


# ---- duplicate-priority ---------------------------------------------------------------------------
@rule("duplicate-priority")
def duplicate_priority(ctx: RuleContext) -> Iterator[Finding]:
    for kind, routes in ctx.shared(_route_groups):
        for i, later in enumerate(routes):
            if later.spec.priority is None:
                continue
            for first in routes[:i]:
                if first.spec.priority != later.spec.priority:
                    continue
                m1, m2 = _match(first), _match(later)
                if not overlaps(kind, m1, m2) or _dump(m1) == _dump(m2):
                    continue  # disjoint: order is irrelevant; identical: shadowed-route reports it
                yield finding(
                    "duplicate-priority", later, later.spec_pointer("priority"),
                    f"{_describe(later)} and {_describe(first)} share priority {later.spec.priority} and "
                    "can match the same requests; which one wins is not defined",
                    "give the more specific route the lower (earlier) priority number")
                break


# ---- shadowed-route -------------------------------------------------------------------------------
def _before(first: Any, later: Any) -> bool:
    """`first` is evaluated before `later` by explicit priority."""
    return (first.spec.priority is not None and later.spec.priority is not None
            and first.spec.priority < later.spec.priority)


@rule("shadowed-route")
def shadowed_route(ctx: RuleContext) -> Iterator[Finding]:
    for kind, routes in ctx.shared(_route_groups):
        matches = [_match(r) for r in routes]  # read once: the pairs below are quadratic per router
        dumps = [_dump(m) for m in matches]
        for i, later in enumerate(routes):
            for j, first in enumerate(routes[:i]):
                m1, m2 = matches[j], matches[i]
                identical = dumps[j] == dumps[i]
                if not (identical or (_before(first, later) and covers(kind, m1, m2))):
                    continue
                at_key = m2 is None
                if identical:
                    yield finding(
                        "shadowed-route", later, _match_pointer(later, kind),
                        f"{_describe(later)} has the same match as {_describe(first)}; only one of them can "
                        "ever receive requests",
                        "merge the two routes into one (with the targets of both), or delete the one left over",
                        at_key=at_key)
                else:
                    yield finding(
                        "shadowed-route", later, _match_pointer(later, kind),
                        f"{_describe(later)} never matches: {_describe(first)} at priority "
                        f"{first.spec.priority} matches every request it would",
                        f"narrow {first.qualified_name!r} or give {later.qualified_name!r} an earlier priority; "
                        "delete it if it is left over", at_key=at_key)
                break


# ---- mixed-priority -------------------------------------------------------------------------------
def _route_tables(routes: list[Any]) -> list[list[Any]]:
    """The routes of one kind as the listeners see them, in evaluation order: a route with match.port serves
    that port's listener only, a route without one serves every listener of its kind."""
    ports = sorted({p for p in (getattr(_match(r), "port", None) for r in routes) if p is not None})
    if not ports:
        return [routes]
    return [[r for r in routes if getattr(_match(r), "port", None) in (None, port)] for port in ports]


def _preempted(kind: str, routes: list[Any]) -> tuple[list[Any], list[Any]]:
    """(unprioritised routes that a prioritised route of the same listener can take requests from, those
    prioritised routes), both in evaluation order. An unprioritised route whose match is disjoint from the
    prioritised ones, or covers each of them (a catch-all behind more specific routes), is ordered as meant."""
    late: set[int] = set()
    early: set[int] = set()
    matches = {id(r): _match(r) for r in routes}
    for table in _route_tables(routes):
        prioritised = [r for r in table if r.spec.priority is not None]
        for route in (r for r in table if r.spec.priority is None):
            mine = matches[id(route)]
            takers = [p for p in prioritised if overlaps(kind, matches[id(p)], mine)
                      and not covers(kind, mine, matches[id(p)])]
            if takers:
                late.add(id(route))
                early.update(id(p) for p in takers)
    return [r for r in routes if id(r) in late], [r for r in routes if id(r) in early]


def _names(routes: list[Any]) -> str:
    shown = ", ".join(repr(r.name) for r in routes[:3])
    return shown + (f" and {len(routes) - 3} more" if len(routes) > 3 else "")


@rule("mixed-priority")
def mixed_priority(ctx: RuleContext) -> Iterator[Finding]:
    for kind, routes in ctx.shared(_route_groups):
        if kind == "tcp_route":
            continue  # a TCP listener takes one route; several on one listener are shadowed-route's finding
        late, early = _preempted(kind, routes)
        if late:
            yield _mixed_finding(kind, late, early)


def _mixed_finding(kind: str, late: list[Any], early: list[Any]) -> Finding:
    first = late[0]
    is_route = isinstance(first, Route)
    parent = f"virtual router {first.router!r}" if is_route else f"virtual gateway {first.gateway!r}"
    word = "route" if is_route else "gateway route"
    many, many_early = len(late) > 1, len(early) > 1
    return finding(
        "mixed-priority", first, first.origin.pointer("routeName" if is_route else "gatewayRouteName"),
        f"{_PROTOCOL[kind]} {word}{'s' if many else ''} {_names(late)} of {parent} {'have' if many else 'has'} "
        f"no priority, but can match the same requests as {_names(early)}, which {'have' if many_early else 'has'}"
        f" one: {word}s without priority are evaluated after every {word} with one (as if at priority 1001), so "
        f"the requests both match go to {_names(early)}",
        f"if {'they' if many else 'it'} should match first, give {'them priorities' if many else 'it a priority'} "
        f"below {min(r.spec.priority for r in early)}; either way, give every {word} of the "
        f"{parent.split(' ')[1]} a priority so that the order is written down (0 is evaluated first)")


# ---- router-without-routes, service-without-provider, gateway-without-routes ----------------------
def _services_using_router(ctx: RuleContext, router: VirtualRouter) -> list[str]:
    return sorted(name for (mesh, name), vs in ctx.model.services.items()
                  if mesh == router.mesh and vs.spec.provider is not None
                  and vs.spec.provider.virtual_router is not None
                  and vs.spec.provider.virtual_router.virtual_router_name == router.name)


@rule("router-without-routes")
def router_without_routes(ctx: RuleContext) -> Iterator[Finding]:
    for key, router in sorted(ctx.model.routers.items()):
        if ctx.graph.routes_by_router.get(key) or has_placeholder(router.mesh):
            continue  # what a mesh of unknown name holds beyond this file is unknown (meshlint.unknowns)
        users = _services_using_router(ctx, router)
        if not users:
            continue  # an unused, empty router carries no traffic either way
        yield finding("router-without-routes", router, router.origin.pointer("virtualRouterName"),
                      f"virtual router {router.name!r} has no routes: every request to "
                      f"{', '.join(repr(u) for u in users)} fails",
                      "add a route to the router (routes name it in virtualRouterName), or let the service be "
                      "provided by a virtual node")


@rule("service-without-provider")
def service_without_provider(ctx: RuleContext) -> Iterator[Finding]:
    for _, service in sorted(ctx.model.services.items()):
        if service.spec.provider is not None:
            continue
        yield finding("service-without-provider", service, service.origin.pointer("virtualServiceName"),
                      f"virtual service {service.name!r} has no provider: the mesh does not route calls to it",
                      "set spec.provider to the virtual node or virtual router that serves it")


@rule("gateway-without-routes")
def gateway_without_routes(ctx: RuleContext) -> Iterator[Finding]:
    unknown = [r for r in ctx.model.gateway_routes.values() if has_placeholder(r.gateway)]
    for key, gateway in sorted(ctx.model.gateways.items()):
        if ctx.graph.routes_by_gateway.get(key) or has_placeholder(gateway.mesh):
            continue
        if any(r.mesh == gateway.mesh or r.origin.path == gateway.origin.path for r in unknown):
            continue  # a gateway route whose gateway is a placeholder may belong to this one
        ports = ", ".join(str(listener.port_mapping.port) for listener in gateway.spec.listeners)
        yield finding("gateway-without-routes", gateway, gateway.origin.pointer("virtualGatewayName"),
                      f"virtual gateway {gateway.name!r} has no gateway routes: it accepts connections on "
                      f"{ports} and answers every request with 404",
                      "add gateway routes (they name the gateway in virtualGatewayName), or remove the gateway")


# ---- route-protocol-mismatch ----------------------------------------------------------------------
def _listeners_of_parent(ctx: RuleContext, route: Route | GatewayRoute) -> tuple[str, Any] | None:
    """('virtual router'|'virtual gateway' name, listeners) of the route's parent, when it is defined."""
    if isinstance(route, Route):
        router = ctx.model.routers.get((route.mesh, route.router))
        if router is None or not same_scope(route, router):
            return None
        return f"virtual router {router.name!r}", router.spec.listeners or ()
    gateway = ctx.model.gateways.get((route.mesh, route.gateway))
    if gateway is None or not same_scope(route, gateway):
        return None
    return f"virtual gateway {gateway.name!r}", gateway.spec.listeners


def _listening(listeners: Any) -> str:
    return ", ".join(f"{listener.port_mapping.port} {listener.port_mapping.protocol}" for listener in listeners)


@rule("route-protocol-mismatch")
def route_protocol_mismatch(ctx: RuleContext) -> Iterator[Finding]:
    routes: list[Route | GatewayRoute] = [*ctx.model.routes.values(), *ctx.model.gateway_routes.values()]
    for route in routes:
        kind = route_type(route.spec)
        parent = _listeners_of_parent(ctx, route)
        if kind is None or parent is None or not parent[1]:
            continue
        where, listeners = parent
        protocol = _PROTOCOL[kind]
        port = getattr(_match(route), "port", None)
        candidates = [li for li in listeners if port is None or li.port_mapping.port == port]
        if not candidates or any(li.port_mapping.protocol == protocol for li in candidates):
            continue  # an unknown port is port-mismatch's finding
        on_port = f" on port {port}" if port is not None else ""
        article = "an" if protocol.startswith("http") else "a"
        yield finding("route-protocol-mismatch", route, route.spec_pointer(ROUTE_TYPE_ALIAS[kind]),
                      f"{_describe(route)} is {article} {ROUTE_TYPE_ALIAS[kind]}, but {where} has no {protocol} "
                      f"listener{on_port} (it listens on {_listening(listeners)}); the route is attached to no "
                      "listener and never matches",
                      f"add {article} {protocol} listener to the {where.split(' ')[1]}, or change the route kind to "
                      "match the listener's protocol", at_key=True)


# ---- port-mismatch --------------------------------------------------------------------------------
def _node_ports(node: VirtualNode) -> list[int]:
    return [listener.port_mapping.port for listener in node.spec.listeners or ()]


@rule("port-mismatch")
def port_mismatch(ctx: RuleContext) -> Iterator[Finding]:
    for route in ctx.model.routes.values():
        kind = route_type(route.spec)
        if kind is None:
            continue
        router = ctx.model.routers.get((route.mesh, route.router))
        if router is not None and not same_scope(route, router):
            router = None
        port = getattr(_match(route), "port", None)
        router_ports = sorted({li.port_mapping.port for li in (router.spec.listeners or ())} if router else set())
        if port is not None and router_ports and port not in router_ports:
            yield finding("port-mismatch", route, route.spec_pointer(ROUTE_TYPE_ALIAS[kind], "match", "port"),
                          f"route {route.qualified_name!r} matches port {port}, but virtual router "
                          f"{route.router!r} listens on {', '.join(map(str, router_ports))}; the route never "
                          "matches", "match one of the router's listener ports, or add that listener")
        implicit: list[tuple[str, int, str]] = []
        for target in ctx.graph.targets(route):
            node = ctx.model.nodes.get((route.mesh, target.node))
            if node is None or not node.spec.listeners or not same_scope(route, node):
                continue
            ports = _node_ports(node)
            if target.port is not None:
                if target.port not in ports:
                    yield finding("port-mismatch", route, target.pointer + "/port",
                                  f"route {route.qualified_name!r} sends to port {target.port} of virtual node "
                                  f"{node.name!r}, which listens on {', '.join(map(str, ports))}",
                                  "use one of the node's listener ports, or add the listener to the node")
            elif router is not None and not router_ports and len(set(ports)) == 1:
                implicit.append((node.name, ports[0], target.pointer))
        # Only a router without a listener leaves the clients' port to its routes' targets, which then must agree
        # (aws-app-mesh-examples#93). A router listener is the port clients call, and each target is reached on
        # its own node's port (aws-app-mesh-examples#94): targets on different ports are fine there.
        if len({p for _, p, _ in implicit}) > 1:
            first_port = implicit[0][1]
            odd = next(t for t in implicit if t[1] != first_port)
            listing = ", ".join(f"{name} {p}" for name, p, _ in implicit)
            yield finding("port-mismatch", route, odd[2] + "/virtualNode",
                          f"targets of route {route.qualified_name!r} listen on different ports ({listing}), and "
                          f"virtual router {route.router!r} has no listener to give clients a port; App Mesh drops "
                          "the route without an error",
                          "add a listener to the virtual router (clients call its port, and each target is reached "
                          "on its own), or make the target nodes listen on the same port")


# ---- target-protocol-mismatch ---------------------------------------------------------------------
def protocol_problem(route_protocol: str, listener_protocol: str) -> str | None:
    """Why a route of one protocol cannot deliver to a listener of another; None when it can."""
    if (route_protocol == "tcp") != (listener_protocol == "tcp"):
        return "a TCP stream and HTTP requests do not mix (L4 against L7)"
    if route_protocol == "grpc" and listener_protocol == "http":
        return "HTTP/1.1 cannot carry gRPC"
    return None


@rule("target-protocol-mismatch")
def target_protocol_mismatch(ctx: RuleContext) -> Iterator[Finding]:
    for route in ctx.model.routes.values():
        kind = route_type(route.spec)
        if kind is None:
            continue
        protocol = _PROTOCOL[kind]
        for target in ctx.graph.targets(route):
            node = ctx.model.nodes.get((route.mesh, target.node))
            if node is None or not same_scope(route, node):
                continue
            listeners = [li for li in node.spec.listeners or ()
                         if target.port is None or li.port_mapping.port == target.port]
            if not listeners:
                continue  # no listener (or none on the target port): port-mismatch / unreachable territory
            problems = [protocol_problem(protocol, li.port_mapping.protocol) for li in listeners]
            if any(p is None for p in problems):
                continue
            article = "an" if protocol.startswith("http") else "a"
            yield finding(
                "target-protocol-mismatch", route, target.pointer + "/virtualNode",
                f"route {route.qualified_name!r} is {article} {ROUTE_TYPE_ALIAS[kind]}, but its target virtual "
                f"node {node.name!r} listens on {_listening(listeners)}: {problems[0]}",
                f"point the route at a node that listens for {protocol}, or change the route kind (and the "
                "router listener) to the node's protocol")


# ---- ambiguous-port -------------------------------------------------------------------------------
@rule("ambiguous-port")
def ambiguous_port(ctx: RuleContext) -> Iterator[Finding]:
    for route in ctx.model.routes.values():
        kind = route_type(route.spec)
        if kind is None:
            continue
        protocol = _PROTOCOL[kind]
        router = ctx.model.routers.get((route.mesh, route.router))
        match = _match(route)
        if router is not None and same_scope(route, router) and getattr(match, "port", None) is None:
            same = sorted({li.port_mapping.port for li in router.spec.listeners or ()
                           if li.port_mapping.protocol == protocol})
            if len(same) > 1:
                yield finding(
                    "ambiguous-port", route, route.spec_pointer(ROUTE_TYPE_ALIAS[kind]),
                    f"route {route.qualified_name!r} names no port, and virtual router {router.name!r} has "
                    f"{len(same)} {protocol} listeners ({', '.join(map(str, same))}): which one it belongs to is "
                    "not stated (App Mesh requires match.port when a router has several listeners)",
                    f"set match.port to the listener the route is meant for (one of {', '.join(map(str, same))})",
                    at_key=True)
        for target in ctx.graph.targets(route):
            node = ctx.model.nodes.get((route.mesh, target.node))
            if node is None or target.port is not None or not same_scope(route, node):
                continue
            ports = sorted({li.port_mapping.port for li in node.spec.listeners or ()})
            if len(ports) > 1:
                yield finding(
                    "ambiguous-port", route, target.pointer + "/virtualNode",
                    f"route {route.qualified_name!r} sends to virtual node {node.name!r} without a port, but the "
                    f"node listens on {len(ports)} ports ({', '.join(map(str, ports))}): which one receives the "
                    "traffic is not stated (App Mesh requires the port then; meshlint build uses the first)",
                    f"set port on this weighted target (one of {', '.join(map(str, ports))})")
