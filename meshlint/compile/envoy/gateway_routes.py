"""Gateway routes -> hop-1 routes on a virtual gateway's ingress listener (spec section 8).

https://docs.aws.amazon.com/app-mesh/latest/userguide/gateway-routes.html
Each route sends the request to the self-redirect cluster, rewritten for hop 2: the matched prefix becomes
`/` by default, and Host becomes the target virtual service (or, with defaultTargetHostname DISABLED, the
Host is kept and `x-app-mesh-virtual-service` names the service).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from meshlint.compile.envoy.envoy_json import Json, header_value_option, seconds
from meshlint.compile.envoy.matches import grpc_extras, grpc_path, http_extras
from meshlint.compile.envoy.names import VIRTUAL_SERVICE_HEADER
from meshlint.model.entities import GatewayRoute

HostKey = tuple[str, str]  # ("exact" | "suffix", lower-cased value)


@dataclass(frozen=True)
class Hop1Route:
    """Generated routes of one gateway route, with the hostname match that picks their vhost."""

    host: tuple[str, str] | None  # ("exact" | "suffix", value as written)
    routes: list[Json]


def header_mode(spec: Any) -> bool:
    rewrite = spec.action.rewrite
    hostname = rewrite.hostname if rewrite is not None else None
    return hostname is not None and hostname.default_target_hostname == "DISABLED"


def hop1_routes(groute: GatewayRoute, kind: str, cluster: str, timeout_ms: int) -> Hop1Route:
    spec = getattr(groute.spec, kind)
    service = spec.action.target.virtual_service.virtual_service_name
    action: Json = {"cluster": cluster, "timeout": seconds(timeout_ms)}
    extra: Json = {}
    if header_mode(spec):
        extra["request_headers_to_add"] = [header_value_option(VIRTUAL_SERVICE_HEADER, service)]
    else:
        action["host_rewrite_literal"] = service
    if kind == "grpc_route":
        matches: list[tuple[Json, Json]] = [({**grpc_path(spec.match), **grpc_extras(spec.match)}, {})]
    else:
        extras = http_extras(spec.match)
        matches = [({**path, **extras}, rewrite) for path, rewrite in _http_paths(spec)]
    routes = [{"name": groute.name, "match": match, "route": {**action, **rewrite}, **extra}
              for match, rewrite in matches]
    hostname = spec.match.hostname
    host = None
    if hostname is not None and hostname.exact is not None:
        host = ("exact", hostname.exact)
    elif hostname is not None and hostname.suffix is not None:
        host = ("suffix", hostname.suffix)
    return Hop1Route(host, routes)


def _http_paths(spec: Any) -> list[tuple[Json, Json]]:
    """(path match, rewrite) pairs. A default-rewritten prefix P without a trailing slash becomes two
    routes, `P/` then `P`, both rewritten to `/` (App Mesh's pair: /chapter/1 -> /1, not //1)."""
    match, rewrite = spec.match, spec.action.rewrite
    if match.prefix is not None:
        prefix_rw = rewrite.prefix if rewrite is not None else None
        if prefix_rw is not None and prefix_rw.value is not None:
            return [({"prefix": match.prefix}, {"prefix_rewrite": prefix_rw.value})]
        if prefix_rw is not None and prefix_rw.default_prefix == "DISABLED":
            return [({"prefix": match.prefix}, {})]
        if match.prefix.endswith("/"):
            return [({"prefix": match.prefix}, {"prefix_rewrite": "/"})]
        return [({"prefix": match.prefix + "/"}, {"prefix_rewrite": "/"}),
                ({"prefix": match.prefix}, {"prefix_rewrite": "/"})]
    new_path = rewrite.path.exact if rewrite is not None and rewrite.path is not None else None
    if match.path is not None and match.path.exact is not None:
        pattern = "^" + re.escape(match.path.exact) + "$"
        path: Json = {"path": match.path.exact}
    elif match.path is not None and match.path.regex is not None:
        pattern, path = "^.*$", {"safe_regex": {"regex": match.path.regex}}
    else:
        return [({"prefix": "/"}, {})]
    if new_path is None:
        return [(path, {})]
    return [(path, {"regex_rewrite": {"pattern": {"regex": pattern}, "substitution": new_path}})]


def host_key(host: tuple[str, str]) -> HostKey:
    return host[0], host[1].lower()


def _applies(route_host: tuple[str, str] | None, vhost: HostKey) -> bool:
    """A route without hostname match serves every vhost; a suffix route serves the vhosts it covers."""
    if route_host is None:
        return True
    kind, value = host_key(route_host)
    if kind == "exact":
        return vhost == (kind, value)
    return vhost[1].endswith(value)


def hop1_vhosts(routes: list[Hop1Route]) -> list[Json]:
    """One vhost per distinct hostname match (exact H -> `H`, `H:*`; suffix S -> `*S`) then `self_redirect`
    for `*`. Envoy picks a single vhost per request, so hostname-less routes are repeated in each."""
    written: dict[HostKey, tuple[str, str]] = {}
    for r in routes:
        if r.host is not None:
            written.setdefault(host_key(r.host), r.host)
    vhosts: list[Json] = []
    for key in sorted(written):
        kind, value = written[key]
        domains = [value, f"{value}:*"] if kind == "exact" else [f"*{value}"]
        mine = [route for r in routes if _applies(r.host, key) for route in r.routes]
        vhosts.append({"name": domains[0], "domains": domains, "routes": mine})
    default = [route for r in routes if r.host is None for route in r.routes]
    vhosts.append({"name": "self_redirect", "domains": ["*"], "routes": default})
    return vhosts
