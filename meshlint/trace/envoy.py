"""How Envoy reads a compiled bootstrap for one request: listener -> filter chain -> virtual host -> route ->
rewrite. Only the shapes meshlint's compiler writes are read; the route matches are read back into the
shared `RequestMatch` (compile/envoy/matches.py) and evaluated by model/matching.py.

https://www.envoyproxy.io/docs/envoy/latest/api-v3/config/listener/v3/listener_components.proto (chain match)
https://www.envoyproxy.io/docs/envoy/latest/api-v3/config/route/v3/route_components.proto (domains, rewrites)
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from meshlint.compile.envoy.envoy_json import Json
from meshlint.compile.envoy.matches import parse_match
from meshlint.model.matching import Miss, compiled_regex, misses
from meshlint.model.routing import RequestMatch
from meshlint.trace.request import TraceRequest

HCM = "envoy.filters.network.http_connection_manager"
TCP_PROXY = "envoy.filters.network.tcp_proxy"


def listeners(bootstrap: Json, direction: str) -> list[Json]:
    return [lst for lst in bootstrap["static_resources"]["listeners"] if lst.get("traffic_direction") == direction]


def listener_port(listener: Json) -> int:
    return int(listener["address"]["socket_address"]["port_value"])


def clusters(bootstrap: Json) -> dict[str, Json]:
    return {c["name"]: c for c in bootstrap["static_resources"]["clusters"]}


def select_chain(listener: Json, port: int, tls: bool, sni: str | None = None) -> Json | None:
    """The filter chain Envoy picks for a connection to `port`: the most specific destination port, then
    server name, then transport protocol (`tls` or `raw_buffer`); else the default chain; None: the
    connection is closed."""
    chains = [(c, c.get("filter_chain_match", {})) for c in listener.get("filter_chains", ())]
    # each level narrows the chains to its most specific match and never falls back to a wider one
    level = [c for c in chains if c[1].get("destination_port") == port] or [
        c for c in chains if "destination_port" not in c[1]]
    named = [c for c in level if sni is not None and any(_sni_matches(n, sni) for n in c[1].get("server_names", ()))]
    level = named or [c for c in level if not c[1].get("server_names")]
    transport = "tls" if tls else "raw_buffer"
    level = [c for c in level if c[1].get("transport_protocol") == transport] or [
        c for c in level if "transport_protocol" not in c[1]]
    if level:
        chosen: Json = level[0][0]
        return chosen
    default: Json | None = listener.get("default_filter_chain")
    return default


def _sni_matches(pattern: str, sni: str) -> bool:
    return sni == pattern or (pattern.startswith("*.") and sni.endswith(pattern[1:]) and sni != pattern[2:])


def network_filter(chain: Json) -> tuple[str, Json]:
    """('hcm', HttpConnectionManager fields) or ('tcp', TcpProxy fields)."""
    first = chain["filters"][0]
    kind = "hcm" if first["name"] == HCM else "tcp"
    return kind, first["typed_config"]


def select_vhost(route_config: Json, authority: str) -> Json | None:
    """Envoy's virtual host choice by Host (letter case ignored): an exact domain, else the longest `*suffix`,
    else the longest `prefix*`, else `*`."""
    host = authority.lower()
    exact: Json | None = None
    suffix: tuple[int, Json] | None = None
    prefix: tuple[int, Json] | None = None
    default: Json | None = None
    for vhost in route_config.get("virtual_hosts", ()):
        for domain in (d.lower() for d in vhost["domains"]):
            if domain == "*":
                default = default or vhost
            elif domain.startswith("*") and len(host) > len(domain) - 1 and host.endswith(domain[1:]):
                if suffix is None or len(domain) > suffix[0]:
                    suffix = (len(domain), vhost)
            elif domain.endswith("*") and len(host) > len(domain) - 1 and host.startswith(domain[:-1]):
                if prefix is None or len(domain) > prefix[0]:
                    prefix = (len(domain), vhost)
            elif domain == host and exact is None:
                exact = vhost
    return exact or (suffix[1] if suffix else None) or (prefix[1] if prefix else None) or default


@dataclass(frozen=True)
class RouteResult:
    """One route of a virtual host as Envoy evaluated it for the request."""

    index: int
    route: Json
    match: RequestMatch
    misses: tuple[Miss, ...]

    @property
    def matched(self) -> bool:
        return not self.misses


def evaluate(vhost: Json, request: TraceRequest) -> list[RouteResult]:
    """Every route of the vhost, in order, with what it misses; the first with none is the one taken."""
    seen = request.http()
    out = []
    for i, route in enumerate(vhost.get("routes", ())):
        match = parse_match(route["match"])
        out.append(RouteResult(i, route, match, tuple(misses(match, seen))))
    return out


def winner(results: list[RouteResult]) -> RouteResult | None:
    return next((r for r in results if r.matched), None)


def weighted(action: Json) -> list[tuple[str, int]]:
    """(cluster, weight) of a route action or tcp_proxy: one cluster is weight 1."""
    if "cluster" in action:
        return [(str(action["cluster"]), 1)]
    return [(str(c["name"]), int(c["weight"])) for c in action["weighted_clusters"]["clusters"]]


def rewritten(route: Json, match: RequestMatch, request: TraceRequest) -> TraceRequest:
    """The request as the route sends it upstream: prefix or regex rewrite of the path (query kept), Host
    rewrite, headers added and removed."""
    action: Json = route.get("route", {})
    path, sep, query = request.path.partition("?")
    if "prefix_rewrite" in action:
        kept = path[len(match.path.value):] if match.path.kind == "prefix" else ""
        path = action["prefix_rewrite"] + kept
    elif "regex_rewrite" in action:
        path = _regex_rewrite(action["regex_rewrite"], path)
    add = tuple((h["header"]["key"].lower(), h["header"]["value"]) for h in route.get("request_headers_to_add", ()))
    remove = tuple(h.lower() for h in route.get("request_headers_to_remove", ()))
    return request.with_changes(authority=action.get("host_rewrite_literal"), path=path + sep + query,
                                add=add, remove=remove)


def _regex_rewrite(rule: Json, path: str) -> str:
    pattern = compiled_regex(rule["pattern"]["regex"])
    if pattern is None:
        return path
    substitution = re.sub(r"\\(\d)", r"\\g<\1>", rule["substitution"])  # RE2 \1 -> Python \g<1>
    return pattern.sub(substitution, path)
