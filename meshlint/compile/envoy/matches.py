"""Route matches: the shared `RequestMatch` (model/routing.py) <-> Envoy RouteMatch.

https://docs.aws.amazon.com/app-mesh/latest/userguide/routes.html; spec 6.3 / 6.4.
`string_match` everywhere: `exact_match` and its siblings are deprecated in Envoy 1.40. `parse_match` reads
back exactly what `envoy_match` writes, so `trace` evaluates the route table the compiler emitted.
"""

from __future__ import annotations

from typing import Any

from meshlint.compile.envoy.envoy_json import Json
from meshlint.model.routing import (
    HeaderRule,
    PathRule,
    QueryRule,
    RequestMatch,
    grpc_match,
    header_rule,
    http_match,
    request_match,
)

_PATH_KEY = {"prefix": "prefix", "exact": "path"}


def envoy_path(rule: PathRule) -> Json:
    if rule.kind == "regex":
        return {"safe_regex": {"regex": rule.value}}
    return {_PATH_KEY[rule.kind]: rule.value}


def envoy_header(rule: HeaderRule) -> Json:
    out: Json = {"name": rule.name}
    if rule.kind == "present":
        out["present_match"] = True
    elif rule.kind == "range":
        out["range_match"] = {"start": rule.start, "end": rule.end}
    elif rule.kind == "regex":
        out["string_match"] = {"safe_regex": {"regex": rule.value}}
    else:
        out["string_match"] = {rule.kind: rule.value}
    if rule.invert:
        out["invert_match"] = True
    return out


def _envoy_query(rule: QueryRule) -> Json:
    if rule.exact is None:
        return {"name": rule.name, "present_match": True}
    return {"name": rule.name, "string_match": {"exact": rule.exact}}


def envoy_extras(match: RequestMatch) -> Json:
    """headers and query_parameters of a RouteMatch (left out when empty)."""
    out: Json = {}
    if match.headers:
        out["headers"] = [envoy_header(h) for h in match.headers]
    if match.query:
        out["query_parameters"] = [_envoy_query(q) for q in match.query]
    return out


def envoy_match(match: RequestMatch) -> Json:
    return {**envoy_path(match.path), **envoy_extras(match)}


# ---- what the generators call with App Mesh spec matches -------------------------------------------
def header_matcher(name: str, match: Any, invert: bool | None) -> Json:
    """One header (or gRPC metadata) matcher; no `match` means "present" (App Mesh's default)."""
    return envoy_header(header_rule(name, match, invert))


def http_extras(match: Any) -> Json:
    """headers, method, scheme (router http2 routes) and query parameters of an HTTP match."""
    return envoy_extras(http_match(match))


def grpc_path(match: Any) -> Json:
    """serviceName + methodName -> exact path; serviceName -> `/<service>/` prefix; neither -> `/`."""
    return envoy_path(grpc_match(match).path)


def grpc_extras(match: Any) -> Json:
    return envoy_extras(grpc_match(match))


def route_match(kind: str, match: Any) -> Json:
    """The complete RouteMatch for a route of `kind` (http_route, http2_route, grpc_route)."""
    return envoy_match(request_match(kind, match))


# ---- and back -----------------------------------------------------------------------------------
def parse_match(route_match_json: Json) -> RequestMatch:
    """A RouteMatch as the generators write it -> RequestMatch (KeyError / ValueError for other shapes)."""
    m = route_match_json
    if "safe_regex" in m:
        path = PathRule("regex", m["safe_regex"]["regex"])
    elif "path" in m:
        path = PathRule("exact", m["path"])
    else:
        path = PathRule("prefix", m["prefix"])
    headers = tuple(_parse_header(h) for h in m.get("headers", ()))
    query = tuple(QueryRule(q["name"], None if q.get("present_match") else q["string_match"]["exact"])
                  for q in m.get("query_parameters", ()))
    return RequestMatch(path, headers, query)


def _parse_header(h: Json) -> HeaderRule:
    name, invert = h["name"], bool(h.get("invert_match"))
    if h.get("present_match"):
        return HeaderRule(name, "present", invert=invert)
    if "range_match" in h:
        r = h["range_match"]
        return HeaderRule(name, "range", start=int(r["start"]), end=int(r["end"]), invert=invert)
    string = h["string_match"]
    if "safe_regex" in string:
        return HeaderRule(name, "regex", string["safe_regex"]["regex"], invert=invert)
    (kind, value), = string.items()
    if kind not in ("exact", "prefix", "suffix"):
        raise ValueError(f"unsupported string_match {kind!r}")
    return HeaderRule(name, kind, value, invert=invert)
