"""Route matches: App Mesh HttpRouteMatch / GrpcRouteMatch (and the gateway variants) -> Envoy RouteMatch.

https://docs.aws.amazon.com/app-mesh/latest/userguide/routes.html; spec 6.3 / 6.4.
`string_match` everywhere: `exact_match` and its siblings are deprecated in Envoy 1.40.
"""

from __future__ import annotations

from typing import Any

from meshlint.compile.envoy.envoy_json import Json


def header_matcher(name: str, match: Any, invert: bool | None) -> Json:
    """One header (or gRPC metadata) matcher; no `match` means "present" (App Mesh's default)."""
    out: Json = {"name": name}
    if match is None:
        out["present_match"] = True
    elif match.range is not None:
        out["range_match"] = {"start": match.range.start, "end": match.range.end}
    else:
        out["string_match"] = string_match(match)
    if invert:
        out["invert_match"] = True
    return out


def string_match(match: Any) -> Json:
    if match.exact is not None:
        return {"exact": match.exact}
    if match.prefix is not None:
        return {"prefix": match.prefix}
    if match.suffix is not None:
        return {"suffix": match.suffix}
    return {"safe_regex": {"regex": match.regex}}


def path_match(match: Any) -> Json:
    """prefix | path.exact | path.regex -> prefix | path | safe_regex (default prefix "/")."""
    if match.prefix is not None:
        return {"prefix": match.prefix}
    if match.path is not None and match.path.exact is not None:
        return {"path": match.path.exact}
    if match.path is not None and match.path.regex is not None:
        return {"safe_regex": {"regex": match.path.regex}}
    return {"prefix": "/"}


def http_extras(match: Any) -> Json:
    """headers, method, scheme (router http2 routes) and query parameters of an HTTP match."""
    headers = [header_matcher(h.name, h.match, h.invert) for h in match.headers or ()]
    if match.method is not None:
        headers.append({"name": ":method", "string_match": {"exact": match.method}})
    scheme = getattr(match, "scheme", None)
    if scheme is not None:
        headers.append({"name": ":scheme", "string_match": {"exact": scheme}})
    out: Json = {"headers": headers} if headers else {}
    params = [_query(q) for q in match.query_parameters or ()]
    if params:
        out["query_parameters"] = params
    return out


def _query(param: Any) -> Json:
    if param.match is None or param.match.exact is None:
        return {"name": param.name, "present_match": True}
    return {"name": param.name, "string_match": {"exact": param.match.exact}}


def grpc_path(match: Any) -> Json:
    """serviceName + methodName -> exact path; serviceName -> `/<service>/` prefix; neither -> `/`."""
    service = match.service_name
    method = getattr(match, "method_name", None)
    if service and method:
        return {"path": f"/{service}/{method}"}
    if service:
        return {"prefix": f"/{service}/"}
    return {"prefix": "/"}


def grpc_extras(match: Any) -> Json:
    headers = [header_matcher(m.name, m.match, m.invert) for m in match.metadata or ()]
    return {"headers": headers} if headers else {}


def route_match(kind: str, match: Any) -> Json:
    """The complete RouteMatch for a route of `kind` (http_route, http2_route, grpc_route)."""
    if kind == "grpc_route":
        return {**grpc_path(match), **grpc_extras(match)}
    return {**path_match(match), **http_extras(match)}
