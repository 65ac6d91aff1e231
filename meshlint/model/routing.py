"""App Mesh's route matching, once: what a route matches, as one small typed form, and the order routes are
evaluated in. The compiler renders both into Envoy route tables (compile/envoy/matches.py, routes.py),
`trace` evaluates them against a request (model/matching.py), and the traffic rules compare them.

https://docs.aws.amazon.com/app-mesh/latest/userguide/routes.html; design 6.2 (order), 6.3 / 6.4 (matches).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, TypeAlias

from meshlint.model.entities import GatewayRoute, Route
from meshlint.model.spec import GatewayRouteSpec, RouteSpec

ROUTE_TYPES = ("http_route", "http2_route", "grpc_route", "tcp_route")
ROUTE_TYPE_ALIAS = {"http_route": "httpRoute", "http2_route": "http2Route", "grpc_route": "grpcRoute",
                    "tcp_route": "tcpRoute"}
UNPRIORITISED = 1001  # routes without a priority come after every prioritised one (design 6.2)

PathKind: TypeAlias = Literal["prefix", "exact", "regex"]
ValueKind: TypeAlias = Literal["exact", "prefix", "suffix", "regex", "range", "present"]
AnyRoute: TypeAlias = Route | GatewayRoute


_MEMBERS: dict[type, frozenset[str]] = {}  # spec model class -> its member names


def member(model: Any, name: str) -> Any:
    """`getattr(model, name, None)` for a spec model (or None) of a kind that may lack the member: a route's
    match has no `hostname`, a gateway route's no `scheme`. Pydantic answers a missing attribute by raising
    and catching inside its `__getattr__`, some 15 times slower than reading one; the route rules ask
    thousands of times per mesh."""
    if model is None:
        return None
    cls = type(model)
    names = _MEMBERS.get(cls)
    if names is None:
        names = _MEMBERS[cls] = frozenset(cls.model_fields)
    return getattr(model, name) if name in names else None


def route_type(spec: RouteSpec | GatewayRouteSpec) -> str | None:
    """The attribute name of the route kind that is set (http_route, http2_route, grpc_route, tcp_route)."""
    for name in ROUTE_TYPES:
        if getattr(spec, name, None) is not None:  # (a gateway route spec has no tcp_route: rarely reached)
            return name
    return None


def spec_match(route: AnyRoute) -> Any:
    """The `match` block of a route or gateway route, whatever its kind; None when there is none."""
    kind = route_type(route.spec)
    return None if kind is None else getattr(getattr(route.spec, kind), "match", None)


# ---- the typed form -----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class PathRule:
    """`prefix` is a string prefix, `exact` the whole path, `regex` a full RE2 match (path without query)."""

    kind: PathKind
    value: str

    def describe(self) -> str:
        return f"{'path' if self.kind == 'exact' else self.kind} {self.value}"


@dataclass(frozen=True, slots=True)
class HeaderRule:
    """A header, gRPC metadata, `:method` or `:scheme` condition; `range` is [start, end)."""

    name: str
    kind: ValueKind
    value: str = ""
    start: int = 0
    end: int = 0
    invert: bool = False

    def describe(self) -> str:
        what = {"present": "present", "range": f"in [{self.start}, {self.end})"}.get(
            self.kind, f"{self.kind} {self.value!r}")
        return f"{self.name} {'not ' if self.invert else ''}{what}"


@dataclass(frozen=True, slots=True)
class QueryRule:
    name: str
    exact: str | None = None  # None: present

    def describe(self) -> str:
        return f"?{self.name} present" if self.exact is None else f"?{self.name}={self.exact}"


@dataclass(frozen=True, slots=True)
class RequestMatch:
    """Everything a route requires of a request; all of it must hold."""

    path: PathRule
    headers: tuple[HeaderRule, ...] = ()
    query: tuple[QueryRule, ...] = ()


def path_rule(match: Any) -> PathRule | None:
    """The path part an http/http2 match states (prefix, exact path or regex); None when it states none: the
    compiled route then matches prefix `/`."""
    if getattr(match, "prefix", None) is not None:
        return PathRule("prefix", match.prefix)
    path = getattr(match, "path", None)
    if path is not None and path.exact is not None:
        return PathRule("exact", path.exact)
    if path is not None and path.regex is not None:
        return PathRule("regex", path.regex)
    return None


def header_rule(name: str, match: Any, invert: bool | None) -> HeaderRule:
    """One header or gRPC metadata condition; no `match` means "present" (App Mesh's default)."""
    inverted = bool(invert)
    if match is None:
        return HeaderRule(name, "present", invert=inverted)
    if match.range is not None:
        return HeaderRule(name, "range", start=match.range.start, end=match.range.end, invert=inverted)
    for kind in ("exact", "prefix", "suffix"):
        value = getattr(match, kind)
        if value is not None:
            return HeaderRule(name, kind, value, invert=inverted)
    return HeaderRule(name, "regex", match.regex or "", invert=inverted)


def http_match(match: Any) -> RequestMatch:
    """HttpRouteMatch of a router or a gateway: path, headers, method (`:method`), scheme (`:scheme`, router
    http2 routes), query parameters (exact, or present without `match`)."""
    headers = [header_rule(h.name, h.match, h.invert) for h in match.headers or ()]
    if match.method is not None:
        headers.append(HeaderRule(":method", "exact", match.method))
    scheme = getattr(match, "scheme", None)
    if scheme is not None:
        headers.append(HeaderRule(":scheme", "exact", scheme))
    query = tuple(QueryRule(q.name, q.match.exact if q.match is not None else None)
                  for q in match.query_parameters or ())
    return RequestMatch(path_rule(match) or PathRule("prefix", "/"), tuple(headers), query)


def grpc_path(match: Any) -> PathRule:
    """serviceName + methodName -> exact path; serviceName -> `/<service>/` prefix; neither -> `/`."""
    service = match.service_name
    method = getattr(match, "method_name", None)
    if service and method:
        return PathRule("exact", f"/{service}/{method}")
    if service:
        return PathRule("prefix", f"/{service}/")
    return PathRule("prefix", "/")


def grpc_match(match: Any) -> RequestMatch:
    headers = tuple(header_rule(m.name, m.match, m.invert) for m in match.metadata or ())
    return RequestMatch(grpc_path(match), headers)


def request_match(kind: str, match: Any) -> RequestMatch:
    """The match of a route of `kind` (http_route, http2_route, grpc_route)."""
    return grpc_match(match) if kind == "grpc_route" else http_match(match)


# ---- order --------------------------------------------------------------------------------------------
_KIND_RANK = {"exact": 0, "prefix": 1, "regex": 2}


def route_order(route: AnyRoute) -> tuple[int, int, int, str]:
    """The order routes are evaluated in (design 6.2): priority (none = 1001, after every prioritised
    route), then the longer path, prefix or regex first, an exact path before a prefix before a regex of the
    same length, then the name. App Mesh documented "longest prefix wins" for routes without priority; the
    name only settles ties the configuration leaves open."""
    priority = route.spec.priority
    length, kind = _match_extent(route)
    return (UNPRIORITISED if priority is None else priority, -length, kind, route.name)


def _match_extent(route: AnyRoute) -> tuple[int, int]:
    """(length of the path, prefix or regex as written, its kind rank); gRPC: service + method. A regex
    counts its length too, so a catch-all prefix `/` never hides it."""
    kind = route_type(route.spec)
    match = spec_match(route)
    if match is None or kind == "tcp_route":
        return 0, 1
    if kind == "grpc_route":
        return len(match.service_name or "") + len(getattr(match, "method_name", None) or ""), 0
    rule = path_rule(match)
    return (0, 1) if rule is None else (len(rule.value), _KIND_RANK[rule.kind])


def order_reason(first: AnyRoute, later: AnyRoute) -> str:
    """Why `first` is evaluated before `later`, in the words of the rule that decided it."""
    a, b = route_order(first), route_order(later)
    if a[0] != b[0]:
        if b[0] == UNPRIORITISED:
            return f"priority {a[0]} comes before a route without priority"
        return f"priority {a[0]} comes before priority {b[0]}"
    if a[1] != b[1]:
        return f"longer match first ({-a[1]} characters against {-b[1]})"
    if a[2] != b[2]:
        names = {0: "an exact path", 1: "a prefix", 2: "a regex"}
        return f"{names[a[2]]} comes before {names[b[2]]} of the same length"
    return f"same priority and match length: the name decides ({first.name!r} before {later.name!r})"
