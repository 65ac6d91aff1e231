"""Gateway route shapes that App Mesh, or the controller for Kubernetes objects, refused (see refused.py):
gateway-route-match-invalid and gateway-route-rewrite-invalid, after webhooks/appmesh/gatewayroute_validator.go.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from meshlint.analyze.context import RuleContext, rule
from meshlint.analyze.rules.refused import (
    APP_MESH,
    BOTH,
    CONTROLLER,
    NEITHER,
    either_or,
    judged,
    kind_count,
    kinds_set,
    known,
    refused,
    some,
)
from meshlint.diagnostics import Finding
from meshlint.model.entities import GatewayRoute

MATCH = "gateway-route-match-invalid"
REWRITE = "gateway-route-rewrite-invalid"
_KINDS = ("grpc_route", "http_route", "http2_route")
_ALIASES = {"grpc_route": "grpcRoute", "http_route": "httpRoute", "http2_route": "http2Route"}
_HOST_HELP = "match on hostname.exact or hostname.suffix, one of them"
_PATH_HELP = "match on path.exact or path.regex, one of them"


def _routes(ctx: RuleContext) -> Iterator[tuple[GatewayRoute, str, Any]]:
    """(gateway route, route kind attribute, its body) for every kind a judged gateway route sets."""
    for route in ctx.model.gateway_routes.values():
        if judged(route):
            for name in kinds_set(route.spec, _KINDS):
                yield route, name, getattr(route.spec, name)


@rule(MATCH)
def gateway_route_match_invalid(ctx: RuleContext) -> Iterator[Finding]:
    for route in ctx.model.gateway_routes.values():
        if judged(route):
            yield from kind_count(MATCH, route, _KINDS, BOTH)
    for route, name, body in _routes(ctx):
        at: tuple[str | int, ...] = (_ALIASES[name], "match")
        if name == "grpc_route":
            yield from _grpc_match(route, body.match, at)
        else:
            yield from _http_match(route, body.match, at, _ALIASES[name])


def _http_match(route: GatewayRoute, match: Any, at: tuple[str | int, ...], kind: str) -> Iterator[Finding]:
    """validatePrefix_Path_HostName, validateHTTPHeadersIfAny, validateQueryParametersIfAny."""
    if match.prefix is not None and match.path is not None:
        yield from some(refused(MATCH, route, route.spec_pointer(*at, "path"),
                                 f"its {kind} match sets both prefix and path",
                                 "keep one: prefix matches the start of the path, path all of it", at_key=True))
    elif match.prefix is None and match.path is None and match.hostname is None:
        yield from some(refused(MATCH, route, route.spec_pointer(*at),
                                 f"its {kind} match sets none of prefix, path and hostname",
                                 "add prefix: / to match every path", NEITHER))
    if match.path is not None:
        yield from either_or(MATCH, route, match.path, (*at, "path"), ("exact", "regex"), f"{kind} path match",
                             _PATH_HELP)
    if match.hostname is not None:
        yield from either_or(MATCH, route, match.hostname, (*at, "hostname"), ("exact", "suffix"),
                             f"{kind} hostname match", _HOST_HELP)
    yield from _ranges(route, match.headers, (*at, "headers"), "header")
    for i, parameter in enumerate(match.query_parameters or ()):
        if parameter.match is not None and parameter.match.exact is None:
            yield from some(refused(
                MATCH, route, route.spec_pointer(*at, "queryParameters", i, "match"),
                f"its query parameter {parameter.name!r} has a match block without exact",
                "give match.exact, or drop the match block to match on the parameter's presence", at_key=True))


def _grpc_match(route: GatewayRoute, match: Any, at: tuple[str | int, ...]) -> Iterator[Finding]:
    """validateHostnameAndServicename (the controller checks the hostname only without a service name) and
    validateMetadataIfAny. App Mesh's API took a gRPC match of a port alone (the CDK's deployed integration
    test integ.mesh-port-match does it), so "neither serviceName nor hostname" is the controller's own rule."""
    if match.service_name is None and match.hostname is None:
        yield from some(refused(MATCH, route, route.spec_pointer(*at),
                                "its grpcRoute match sets neither serviceName nor hostname",
                                "add serviceName (the gRPC service) or hostname to match on", CONTROLLER))
    if match.hostname is not None:
        by = BOTH if match.service_name is None else APP_MESH
        yield from either_or(MATCH, route, match.hostname, (*at, "hostname"), ("exact", "suffix"),
                             "grpcRoute hostname match", _HOST_HELP, by)
    yield from _ranges(route, match.metadata, (*at, "metadata"), "metadata")


def _ranges(route: GatewayRoute, entries: Any, at: tuple[str | int, ...], what: str) -> Iterator[Finding]:
    """validateMatchRange: end must be greater than start (Envoy's range is start inclusive, end exclusive)."""
    for i, entry in enumerate(entries or ()):
        span = entry.match.range if entry.match is not None else None
        if span is not None and span.start >= span.end:
            yield from some(refused(
                MATCH, route, route.spec_pointer(*at, i, "match", "range"),
                f"its {what} {entry.name!r} matches the range {span.start} to {span.end}, whose end is not above "
                "its start", "the range takes start (inclusive) up to end (exclusive): make end greater than start"))


@rule(REWRITE)
def gateway_route_rewrite_invalid(ctx: RuleContext) -> Iterator[Finding]:
    """validateHTTPRouteRewrite and validatePrefixRewrite (http and http2 gateway routes)."""
    for route, name, body in _routes(ctx):
        rewrite = body.action.rewrite
        if name == "grpc_route" or rewrite is None:
            continue
        at: tuple[str | int, ...] = (_ALIASES[name], "action", "rewrite")
        kind = _ALIASES[name]
        if rewrite.prefix is None and rewrite.path is None and rewrite.hostname is None:
            yield from some(refused(REWRITE, route, route.spec_pointer(*at), f"its {kind} rewrite is empty",
                                     "rewrite prefix, path or hostname, or drop the rewrite block"))
        if rewrite.prefix is not None and rewrite.path is not None:
            yield from some(refused(REWRITE, route, route.spec_pointer(*at, "path"),
                                     f"its {kind} rewrite sets both prefix and path",
                                     "keep one: prefix rewrites a matched prefix, path the whole path", at_key=True))
        if rewrite.prefix is not None:
            yield from _prefix_rewrite(route, body.match.prefix, rewrite.prefix, at, kind)


def _prefix_rewrite(route: GatewayRoute, matched: Any, prefix: Any, at: tuple[str | int, ...],
                    kind: str) -> Iterator[Finding]:
    if known(matched) and not str(matched).startswith("/"):
        yield from some(refused(REWRITE, route, route.spec_pointer(kind, "match", "prefix"),
                                 f"its {kind} rewrites the matched prefix {matched!r}, which does not start with '/'",
                                 f"match on '/{matched}'"))
    if prefix.default_prefix is not None and prefix.value is not None:
        yield from some(refused(REWRITE, route, route.spec_pointer(*at, "prefix", "value"),
                                 f"its {kind} prefix rewrite sets both defaultPrefix and value",
                                 "keep value to rewrite to it, or defaultPrefix to switch the default rewrite to "
                                 "'/' on or off", at_key=True))
    value = prefix.value
    if known(value) and not (value.startswith("/") and value.endswith("/")):
        yield from some(refused(REWRITE, route, route.spec_pointer(*at, "prefix", "value"),
                                 f"its {kind} prefix rewrite {value!r} does not start and end with '/'",
                                 f"write '/{value.strip('/')}/'" if value.strip("/") else "write '/'"))
