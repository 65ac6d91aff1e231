"""One static bootstrap per virtual node and per virtual gateway (spec sections 2 and 14).

App Mesh's agent wrote node/admin/runtime/stats; the rest came over ADS. Here everything is static.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from meshlint.compile.envoy.appmesh_metrics import instrument_egress
from meshlint.compile.envoy.clusters import egress_cluster, local_app_cluster, passthrough_cluster, sds_cluster
from meshlint.compile.envoy.context import Ctx, Proxy
from meshlint.compile.envoy.egress import EgressPlan, egress_listener, plan_node_egress
from meshlint.compile.envoy.envoy_json import Json, socket_address, typed
from meshlint.compile.envoy.gateway import (
    gateway_clusters,
    gateway_egress_listener,
    gateway_listeners,
    plan_gateway,
)
from meshlint.compile.envoy.listeners import node_bind, node_ingress_listener
from meshlint.compile.envoy.names import (
    GATEWAY_KIND,
    NODE_KIND,
    SDS_CLUSTER,
    allow_all_cluster,
    amazonaws_cluster,
    node_id,
)
from meshlint.compile.envoy.observability import (
    access_logs,
    hcm_tracing,
    stats_config,
    stats_sinks,
    tracer_clusters,
)
from meshlint.model.entities import VirtualGateway, VirtualNode


def node_bootstrap(ctx: Ctx, node: VirtualNode) -> Json:
    secrets = ctx.sds_secrets
    proxy = _proxy(ctx, node.mesh, node.name, NODE_KIND, access_logs(node.spec.logging))
    plan = plan_node_egress(ctx, node)
    allow_all = ctx.egress_filter(node.mesh) == "ALLOW_ALL"
    ingress = node_ingress_listener(ctx, proxy, node)
    listeners = [] if ingress is None else [ingress]
    services = sorted({str(v["name"]) for vhosts in plan.http.values() for v in vhosts})
    egress = egress_listener(ctx, proxy, node_bind(ctx, node), plan, allow_all)
    listeners.append(instrument_egress(egress, services) if ctx.options.appmesh_metrics else egress)
    clusters = [local_app_cluster(ctx, node, lst) for lst in _unique_ports(node)]
    clusters += _egress_clusters(ctx, plan)
    if allow_all:
        clusters.append(passthrough_cluster(ctx, allow_all_cluster(node.mesh)))
    clusters.append(passthrough_cluster(ctx, amazonaws_cluster(node.mesh)))
    return _bootstrap(ctx, proxy, listeners, clusters, secrets)


def gateway_bootstrap(ctx: Ctx, gateway: VirtualGateway) -> Json:
    secrets = ctx.sds_secrets
    proxy = _proxy(ctx, gateway.mesh, gateway.name, GATEWAY_KIND, access_logs(gateway.spec.logging))
    plan = plan_gateway(ctx, gateway)
    listeners = gateway_listeners(ctx, proxy, gateway, plan)
    listeners.append(gateway_egress_listener(ctx, proxy, plan))
    clusters = gateway_clusters(ctx, gateway) + _egress_clusters(ctx, plan.egress)
    return _bootstrap(ctx, proxy, listeners, clusters, secrets)


def _proxy(ctx: Ctx, mesh: str, name: str, kind: str, logs: tuple[Json, ...]) -> Proxy:
    return Proxy(mesh, name, kind, logs, hcm_tracing(ctx.options, mesh, name))


def _unique_ports(node: VirtualNode) -> Iterator[Any]:
    seen: set[int] = set()
    for lst in node.spec.listeners or ():
        if lst.port_mapping.port not in seen:
            seen.add(lst.port_mapping.port)
            yield lst


def _egress_clusters(ctx: Ctx, plan: EgressPlan) -> list[Json]:
    return [egress_cluster(ctx, need.target, need.policy, need.where)
            for _, need in sorted(plan.clusters.items())]


def _bootstrap(ctx: Ctx, proxy: Proxy, listeners: list[Json], clusters: list[Json], secrets: int) -> Json:
    """The skeleton around the resources; the SDS cluster only when something refers to it (looked for only
    when an SDS secret was made since the proxy's count was `secrets`)."""
    opts = ctx.options
    if ctx.sds_secrets != secrets and (_refers_to_sds(listeners) or _refers_to_sds(clusters)):
        clusters.append(sds_cluster(ctx))
    clusters += tracer_clusters(opts)
    ident = node_id(proxy.mesh, proxy.kind, proxy.name)
    admin_log = typed("envoy.access_loggers.file", "envoy.extensions.access_loggers.file.v3.FileAccessLog",
                      path=opts.admin_access_log_path)
    out: Json = {
        "node": {"id": ident, "cluster": ident},
        "admin": {"address": socket_address(opts.admin_address, opts.admin_port), "access_log": [admin_log]},
        "static_resources": {"listeners": listeners, "clusters": clusters},
        "cluster_manager": {"outlier_detection": {"event_log_path": opts.outlier_event_log_path}},
        # Without the override Envoy 1.40 rejects App-Mesh-legal regexes (RE2 program size > 100).
        "layered_runtime": {"layers": [
            {"name": "static_layer_0", "static_layer": {"re2.max_program_size.error_level": 1000}},
            {"name": "admin_layer", "admin_layer": {}},
        ]},
    }
    stats = stats_config(opts, proxy.mesh, proxy.name, proxy.kind)
    if stats is not None:
        out["stats_config"] = stats
    sinks = stats_sinks(opts)
    if sinks:
        out["stats_sinks"] = sinks
    return out


def _refers_to_sds(node: object) -> bool:
    """Does any sds_config point at the SDS cluster? Searched in the compact C-encoded JSON: a Python walk of
    every listener and cluster cost a second on a 1,000-service mesh."""
    return f'"cluster_name": "{SDS_CLUSTER}"' in json.dumps(node)
