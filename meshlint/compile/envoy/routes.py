"""Router routes -> Envoy routes: match, weighted clusters, retry policy, timeouts (spec 6.3-6.8).

https://docs.aws.amazon.com/app-mesh/latest/userguide/routes.html
https://docs.aws.amazon.com/app-mesh/latest/userguide/envoy-defaults.html (default retry policy)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from meshlint.compile.envoy.context import Ctx
from meshlint.compile.envoy.envoy_json import Json, duration_ms, seconds, typed
from meshlint.compile.envoy.matches import route_match
from meshlint.compile.envoy.targets import TargetCluster, resolve_target
from meshlint.model.entities import Route
from meshlint.model.graph import ROUTE_TYPE_ALIAS

DEFAULT_TIMEOUT_MS = 15_000  # route / listener perRequest default; 0 disables
DEFAULT_TCP_IDLE_MS = 300_000  # App Mesh docs: idle 300 s, tcp included (Envoy's tcp_proxy default is 1 h)

_SERVER_ERRORS = (500, 501, 502, 503, 504, 505, 506, 507, 508, 510, 511)
# App Mesh HTTP retry event -> (retry_on tokens, retriable status codes); `reset` per roadmap#284.
_HTTP_EVENTS: dict[str, tuple[tuple[str, ...], tuple[int, ...]]] = {
    "server-error": (("reset", "retriable-status-codes"), _SERVER_ERRORS),
    "gateway-error": (("reset", "retriable-status-codes"), (502, 503, 504)),
    "client-error": (("retriable-status-codes",), (409,)),
    "stream-error": (("refused-stream",), ()),
}
_TCP_EVENTS = {"connection-error": "connect-failure"}


@dataclass
class RouteOut:
    """Generated routes plus the clusters they need and the longest request timeout (0 = none)."""

    routes: list[Json] = field(default_factory=list)
    clusters: list[TargetCluster] = field(default_factory=list)
    timeout_ms: int = DEFAULT_TIMEOUT_MS


def _retry_common() -> Json:
    predicate = typed("envoy.retry_host_predicates.previous_hosts",
                      "envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate")
    return {"retry_host_predicate": [predicate], "host_selection_retry_max_attempts": "5"}


def default_retry_policy(ctx: Ctx) -> Json | None:
    """App Mesh's default for routes without a retryPolicy (accounts after 2020-07-29; roadmap#229)."""
    if ctx.legacy:
        return None
    return {"retry_on": "unavailable,connect-failure,refused-stream,retriable-status-codes,reset",
            "num_retries": 2, "retriable_status_codes": [503], **_retry_common()}


def retry_policy(ctx: Ctx, route: Route, kind: str, policy: Any) -> Json | None:
    if policy is None:
        return default_retry_policy(ctx)
    tokens: set[str] = set()
    codes: set[int] = set()
    for i, event in enumerate(policy.http_retry_events or ()):
        if event not in _HTTP_EVENTS:
            ctx.report(route, route.spec_pointer(ROUTE_TYPE_ALIAS[kind], "retryPolicy", "httpRetryEvents", i),
                       f"unknown HTTP retry event {event!r} is ignored",
                       f"use one of {', '.join(sorted(_HTTP_EVENTS))}")
            continue
        tokens.update(_HTTP_EVENTS[event][0])
        codes.update(_HTTP_EVENTS[event][1])
    tokens.update(_TCP_EVENTS[e] for e in policy.tcp_retry_events or () if e in _TCP_EVENTS)
    tokens.update(getattr(policy, "grpc_retry_events", None) or ())
    out: Json = {"num_retries": policy.max_retries}
    if tokens:
        out["retry_on"] = ",".join(sorted(tokens))
    per_try = duration_ms(policy.per_retry_timeout)
    if per_try is not None:
        out["per_try_timeout"] = seconds(per_try)
    if codes:
        out["retriable_status_codes"] = sorted(codes)
    return {**out, **_retry_common()}


def timeouts(timeout: Any) -> tuple[Json, int]:
    """Route `timeout` (perRequest, default 15 s, 0 = off) and `idle_timeout` (only when set)."""
    per_request = duration_ms(getattr(timeout, "per_request", None)) if timeout is not None else None
    ms = DEFAULT_TIMEOUT_MS if per_request is None else per_request
    out: Json = {"timeout": seconds(ms)}
    idle = duration_ms(timeout.idle) if timeout is not None else None
    if idle is not None:
        out["idle_timeout"] = seconds(idle)
    return out, ms


def weighted(ctx: Ctx, route: Route, kind: str, family: str) -> tuple[list[Json], list[TargetCluster]]:
    """Weighted targets -> clusters sorted by name (weights of one cluster summed). tcp_proxy rejects
    weight 0, so zero entries are dropped there; App Mesh weights are relative, no total_weight."""
    weights: dict[str, int] = {}
    clusters: dict[str, TargetCluster] = {}
    targets = getattr(route.spec, kind).action.weighted_targets
    for i, t in enumerate(targets):
        pointer = route.spec_pointer(ROUTE_TYPE_ALIAS[kind], "action", "weightedTargets", i)
        found = resolve_target(ctx, route, t.virtual_node, t.port, family, pointer)
        if found is None:
            continue
        clusters.setdefault(found.name, found)
        weights[found.name] = weights.get(found.name, 0) + t.weight
    names = [n for n in sorted(weights) if family != "tcp" or weights[n] > 0]
    if not any(weights[n] > 0 for n in names):
        ctx.report(route, route.spec_pointer(ROUTE_TYPE_ALIAS[kind], "action", "weightedTargets"),
                   f"route {route.qualified_name!r} has no target with a weight above 0 that can be compiled; "
                   "the route is left out (Envoy rejects a weight sum of 0)",
                   "give at least one existing target a positive weight")
        return [], []
    return [{"name": n, "weight": weights[n]} for n in names], [clusters[n] for n in names]


def http_route(ctx: Ctx, route: Route, kind: str) -> RouteOut | None:
    spec = getattr(route.spec, kind)
    entries, clusters = weighted(ctx, route, kind, "http")
    if not entries:
        return None
    times, ms = timeouts(spec.timeout)
    action: Json = {"weighted_clusters": {"clusters": entries}, **times}
    retry = retry_policy(ctx, route, kind, spec.retry_policy)
    if retry is not None:
        action["retry_policy"] = retry
    envoy_route = {"name": route.name, "match": route_match(kind, spec.match), "route": action}
    return RouteOut([envoy_route], clusters, ms)


def tcp_route(ctx: Ctx, route: Route) -> tuple[Json, list[TargetCluster]] | None:
    """A tcpRoute -> tcp_proxy fields (weighted_clusters, idle_timeout)."""
    spec = route.spec.tcp_route
    entries, clusters = weighted(ctx, route, "tcp_route", "tcp")
    if spec is None or not entries:
        return None
    idle = duration_ms(spec.timeout.idle) if spec.timeout is not None else None
    fields = {"weighted_clusters": {"clusters": entries},
              "idle_timeout": seconds(DEFAULT_TCP_IDLE_MS if idle is None else idle)}
    return fields, clusters


def provider_route(ctx: Ctx, cluster: str) -> Json:
    """The route App Mesh synthesised for a service provided directly by a virtual node: prefix `/`,
    15 s timeout and the default retry policy (roadmap#444: the provider's listener timeout is not used)."""
    action: Json = {"cluster": cluster, "timeout": seconds(DEFAULT_TIMEOUT_MS)}
    retry = default_retry_policy(ctx)
    if retry is not None:
        action["retry_policy"] = retry
    return {"match": {"prefix": "/"}, "route": action}
