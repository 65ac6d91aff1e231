"""What App Mesh, or the App Mesh controller for Kubernetes, refused beyond the API's schema: route matches
(route-match-invalid) and virtual node listeners without service discovery
(listener-without-service-discovery); gateway routes are in refused_gateway.py.

The controller's validating webhooks (webhooks/appmesh/*_validator.go in aws/aws-app-mesh-controller-for-k8s)
check a Kubernetes object before App Mesh sees it; App Mesh's API applies the same rules to every other input
(the controller's checks were written to fail early with App Mesh's own errors: its #713 relaxed one to the
API's). So a finding on a Kubernetes object says the controller refused it, on any other input that App Mesh
did; where only one of them checks a shape, only that one is named, and `aws appmesh describe-*` output is
never judged (App Mesh accepted it). Every message names who refused and why.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from meshlint.analyze.context import RuleContext, finding, rule
from meshlint.diagnostics import Finding
from meshlint.model.entities import Resource
from meshlint.unknowns import is_unknown

# who checks a shape: both (the controller first, for Kubernetes objects), or only one of them
BOTH, APP_MESH, CONTROLLER = "both", "app-mesh", "controller"
_KIND_WORDS = {"Route": "route", "GatewayRoute": "gateway route", "VirtualNode": "virtual node"}
_ALIASES = {"http_route": "httpRoute", "http2_route": "http2Route", "grpc_route": "grpcRoute", "tcp_route": "tcpRoute"}


def judged(resource: Resource) -> bool:
    return resource.origin.format != "describe"


def refused(slug: str, resource: Resource, pointer: str, why: str, help: str, by: str = BOTH,
            *, at_key: bool = False) -> Finding | None:
    """The finding that `by` refused `resource` for `why`; None when that system does not judge this input
    (a Kubernetes object is judged by the controller, then by App Mesh; anything else by App Mesh only)."""
    k8s = resource.origin.format == "kubernetes"
    if by == CONTROLLER and not k8s:
        return None
    if k8s and by != APP_MESH:
        who = f"the controller refused {resource.origin.written or resource.name}"
        who += f" (route {resource.name!r})" if resource.kind == "Route" else ""
    else:
        who = f"App Mesh refused {_KIND_WORDS[resource.kind]} {resource.qualified_name!r}"
    return finding(slug, resource, pointer, f"{who}: {why}", help, at_key=at_key)


def kinds_set(spec: Any, names: tuple[str, ...]) -> list[str]:
    return [name for name in names if getattr(spec, name, None) is not None]


def kind_count(slug: str, resource: Resource, names: tuple[str, ...], by: str) -> Iterator[Finding]:
    """RouteSpec and GatewayRouteSpec: "Specify one route type" (API reference); gatewayroute_validator.go
    validateInternal."""
    found = kinds_set(resource.spec, names)  # type: ignore[attr-defined]
    allowed = ", ".join(_ALIASES[n] for n in names)
    if not found:
        yield from some(refused(slug, resource, resource.spec_pointer(), f"its spec sets no route kind ({allowed})",
                                 "add the one route kind this route is for", by))
    elif len(found) > 1:
        yield from some(refused(
            slug, resource, resource.spec_pointer(_ALIASES[found[1]]),
            f"its spec sets {len(found)} route kinds ({', '.join(_ALIASES[n] for n in found)}); one is allowed",
            "split it into one route per kind", by, at_key=True))


def either_or(slug: str, resource: Resource, node: Any, path: tuple[str | int, ...], names: tuple[str, str],
              what: str, help: str, by: str = BOTH) -> Iterator[Finding]:
    """A block that needs exactly one of two members (path: exact or regex; hostname: exact or suffix)."""
    first, second = (getattr(node, n) is not None for n in names)
    if first and second:
        yield from some(refused(slug, resource, resource.spec_pointer(*path, names[1]),
                                 f"its {what} sets both {names[0]} and {names[1]}", help, by, at_key=True))
    elif not first and not second:
        yield from some(refused(slug, resource, resource.spec_pointer(*path),
                                 f"its {what} sets neither {names[0]} nor {names[1]}", help, by))


def some(found: Finding | None) -> Iterator[Finding]:
    if found is not None:
        yield found


def known(value: Any) -> bool:
    return value is not None and not is_unknown(value)


_PATH_HELP = "match on path.exact or path.regex, one of them"
# An HTTP match with neither prefix nor path (nor, on a gateway route, hostname) is refused by the controller's
# webhook only. App Mesh's API accepted it and matched every path: AWS's walkthrough howto-multiple-listeners
# creates a route and a gateway route matching on `port` alone with the AWS CLI ("we didn't configure a
# prefix"), and App Mesh's engineers describe the default in aws/aws-cdk#15395 ("backend service will set
# the prefix match to /"). The compiler does the same.
NEITHER = CONTROLLER


@rule("route-match-invalid")
def route_match_invalid(ctx: RuleContext) -> Iterator[Finding]:
    """virtualrouter_validator.go validateRoute (http and http2 matches), and one route kind per route."""
    for route in ctx.model.routes.values():
        if not judged(route):
            continue
        yield from kind_count("route-match-invalid", route, tuple(_ALIASES), APP_MESH)
        for name in kinds_set(route.spec, ("http_route", "http2_route")):
            match = getattr(route.spec, name).match
            at: tuple[str | int, ...] = (_ALIASES[name], "match")
            if match.prefix is not None and match.path is not None:
                yield from some(refused("route-match-invalid", route, route.spec_pointer(*at, "path"),
                                         f"its {_ALIASES[name]} match sets both prefix and path",
                                         "keep one: prefix matches the start of the path, path all of it",
                                         at_key=True))
            elif match.prefix is None and match.path is None:  # App Mesh takes it as prefix "/": see NEITHER
                yield from some(refused("route-match-invalid", route, route.spec_pointer(*at),
                                         f"its {_ALIASES[name]} match sets neither prefix nor path",
                                         "add prefix: / to match every path", NEITHER))
            if match.path is not None:
                yield from either_or("route-match-invalid", route, match.path, (*at, "path"), ("exact", "regex"),
                                     f"{_ALIASES[name]} path match", _PATH_HELP)


@rule("listener-without-service-discovery")
def listener_without_service_discovery(ctx: RuleContext) -> Iterator[Finding]:
    """virtualnode_validator.go checkForRequiredFields: listeners need serviceDiscovery (App Mesh's API says
    the same: the address of a listener's node is its service discovery). For the controller, an empty
    `listeners: []` is listeners too (a non-nil Go slice)."""
    for node in ctx.model.nodes.values():
        listeners = node.spec.listeners
        if not judged(node) or listeners is None or node.spec.service_discovery is not None:
            continue
        by = BOTH if listeners else CONTROLLER
        yield from some(refused(
            "listener-without-service-discovery", node, node.spec_pointer("listeners"),
            f"it has {len(listeners)} listener{'' if len(listeners) == 1 else 's'} and no serviceDiscovery",
            "add serviceDiscovery (dns: {hostname: ...} or awsCloudMap) so that callers can reach the listeners, "
            "or remove the listeners of a node that only calls out", by, at_key=True))
