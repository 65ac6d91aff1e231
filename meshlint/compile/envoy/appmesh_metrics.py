"""App Mesh's metrics extension (APPMESH_METRIC_EXTENSION_VERSION=1) with upstream Envoy's own stats.

https://docs.aws.amazon.com/app-mesh/latest/userguide/metrics.html#metrics-extension
App Mesh counted requests per target virtual service with a proprietary filter driven by route metadata
(`aws.appmesh.aggregate_stats`). Upstream Envoy has a per-request stats tree for that: the router charges
every upstream response code and time a second time under `cluster.<cluster>.<alt name>.` when the request
carries `x-envoy-upstream-alt-stat-name` (Envoy: source/common/router/router.cc, "alternate tree dynamic HTTP
statistics"). A header_mutation filter ahead of the router sets it per virtual host (= virtual service) to
`appmesh.<service>.appmesh`; the cluster is the target virtual node's. So
`cluster.<target node cluster>.appmesh.<target service>.appmesh.upstream_rq_2xx` exists for every pair,
whatever the weighted split chose. The router reads and removes the header before the request goes upstream,
and the filter overwrites one a client sent.

Tags then turn the names into the extension's dimensions, with its tag names: `TargetVirtualNode` (from the
cluster name), `TargetVirtualService` (from the alternate tree), `Mesh` and `VirtualNode` / `VirtualGateway`
(fixed), as the agent's metric_filter.go added them. Service names may hold dots and anything else, and Envoy
follows the tree with `internal.` / `external.` / `canary.` copies: the closing `.appmesh.` marks where the
name ends (the last one: Envoy's suffixes never hold it). Envoy caps a tag regex at 1,024 bytes, so the
patterns are generic rather than lists of this proxy's names.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from meshlint.compile.envoy.envoy_json import Json, typed
from meshlint.compile.envoy.names import GATEWAY_KIND

ALT_STAT_HEADER = "x-envoy-upstream-alt-stat-name"
ALT_TREE = "appmesh"  # cluster.<cluster>.appmesh.<service>.appmesh.upstream_rq_* -> envoy_cluster_appmesh_upstream_rq_*
HEADER_MUTATION = "envoy.filters.http.header_mutation"
_MUTATION_TYPE = "envoy.extensions.filters.http.header_mutation.v3."
_ROUTER = "envoy.filters.http.router"
_PROTOCOLS = "(?:http|http2|grpc|tcp)"


def header_mutation_filter() -> Json:
    """The filter only acts where a virtual host or route configures it."""
    return typed(HEADER_MUTATION, _MUTATION_TYPE + "HeaderMutation")


def target_service_config(service: str) -> Json:
    """`typed_per_filter_config` of a virtual host (or route) that serves `service`."""
    header = {"key": ALT_STAT_HEADER, "value": f"{ALT_TREE}.{service}.{ALT_TREE}"}
    mutation = {"append": {"header": header, "append_action": "OVERWRITE_IF_EXISTS_OR_ADD"}}
    return {HEADER_MUTATION: {"@type": f"type.googleapis.com/{_MUTATION_TYPE}HeaderMutationPerRoute",
                              "mutations": {"request_mutations": [mutation]}}}


def instrument_egress(listener: Json, services: Iterable[str]) -> Json:
    """A copy of an egress listener whose HTTP connection managers count per target service: the filter
    ahead of the router, the header on every virtual host named after one of `services`."""
    known = set(services)
    chains = [_chain(chain, known) for chain in listener["filter_chains"]]
    return {**listener, "filter_chains": chains}


def _chain(chain: Json, services: set[str]) -> Json:
    filters = []
    for network in chain["filters"]:
        config = network.get("typed_config", {})
        if "route_config" not in config:
            filters.append(network)
            continue
        http = list(config["http_filters"])
        router = next(i for i, f in enumerate(http) if f["name"] == _ROUTER)
        http.insert(router, header_mutation_filter())
        table = config["route_config"]
        vhosts = [{**v, "typed_per_filter_config": target_service_config(v["name"])} if v["name"] in services
                  else v for v in table["virtual_hosts"]]
        route_config = {**table, "virtual_hosts": vhosts}
        filters.append({**network, "typed_config": {**config, "http_filters": http, "route_config": route_config}})
    return {**chain, "filters": filters}


def metric_tags(mesh: str, kind: str, name: str) -> list[Json]:
    """The extension's tag specifiers for one proxy. A target cluster is `cds_egress_<mesh>_<node>_<protocol>_
    <port>` with no dot (Envoy's own `envoy.cluster_name` tag assumes as much): the node is what lies between."""
    return [
        {"tag_name": "TargetVirtualNode",
         "regex": rf"^cluster\.cds_egress_{_mesh_pattern(mesh)}_([^.]+)_{_PROTOCOLS}_[0-9]+\."},
        {"tag_name": "TargetVirtualService", "regex": rf"^cluster\.[^.]+\.{ALT_TREE}\.((.+)\.{ALT_TREE}\.)"},
        {"tag_name": "Mesh", "fixed_value": mesh},
        {"tag_name": "VirtualGateway" if kind == GATEWAY_KIND else "VirtualNode", "fixed_value": name},
    ]


def _mesh_pattern(mesh: str) -> str:
    """The mesh name as written, so that names stay verbatim in the output, when that is safe: in a name of
    letters, digits, `_`, `-` and `.`, an unescaped `.` still matches the dot itself. Otherwise escaped."""
    if re.fullmatch(r"[A-Za-z0-9_.-]+", mesh):
        return mesh
    return re.sub(r"([\\.^$|?*+()\[\]{}])", r"\\\1", mesh)
