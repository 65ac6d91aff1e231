"""A route's weighted clusters -> the virtual nodes behind them, with their share, the client side's TLS and
resilience settings, and the target's own listener (chain, TLS handshake, timeouts, the app behind it)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from meshlint.compile.envoy.envoy_json import Json
from meshlint.model.entities import VirtualNode
from meshlint.trace import describe
from meshlint.trace.envoy import clusters, listeners, network_filter, select_chain
from meshlint.trace.request import TraceRequest
from meshlint.trace.result import Hop, Ingress, Outcome, Target

if TYPE_CHECKING:
    from meshlint.trace.walk import Tracer


def weighted_targets(tracer: Tracer, mesh: str, boot: Json, pairs: list[tuple[str, int]],
             request: TraceRequest) -> tuple[Target, ...]:
    total = sum(weight for _, weight in pairs)
    known = clusters(boot)
    out = []
    for name, weight in pairs:
        percent = round(100.0 * weight / total, 2) if total else 0.0
        cluster = known.get(name, {})
        found = tracer.target(mesh, name)
        if found is None:
            out.append(Target(name, weight, percent, note=_other_cluster(cluster, request)))
            continue
        node, index = found
        pm = (node.spec.listeners or ())[index].port_mapping
        ingress = _ingress(tracer, node, pm.port, pm.protocol, cluster, request)
        out.append(Target(name, weight, percent, node.name, pm.port, pm.protocol, describe.tls_kind(cluster),
                          describe.client_tls_text(cluster), describe.resilience(cluster), ingress))
    return tuple(out)


def _other_cluster(cluster: Json, request: TraceRequest) -> str:
    if cluster.get("type") == "ORIGINAL_DST":
        return f"passthrough to the original destination {request.host}:{request.port}"
    endpoints = cluster.get("load_assignment", {}).get("endpoints", [])
    if endpoints:
        address = endpoints[0]["lb_endpoints"][0]["endpoint"]["address"]["socket_address"]
        return f"to {address['address']}:{address['port_value']}"
    return "a cluster without endpoints"


def _ingress(tracer: Tracer, node: VirtualNode, port: int, protocol: str, cluster: Json,
             request: TraceRequest) -> Ingress:
    tracer.seen.add(node.ref)
    boot = tracer.node(node)
    inbound = listeners(boot, "INBOUND")
    proxy = f"virtual node {node.name}"
    client_tls = "transport_socket" in cluster
    sni = cluster.get("transport_socket", {}).get("typed_config", {}).get("sni")
    chain = select_chain(inbound[0], port, client_tls, sni) if inbound else None
    if chain is None:
        return Ingress(proxy, inbound[0]["name"] if inbound else "(none)", port, protocol, "-", "fails",
                       f"the node has no ingress chain for port {port}", None, None, None, request)
    ok, mode, why = describe.handshake(cluster, chain)
    kind, fields = network_filter(chain)
    timeout = idle = None
    if kind == "hcm":
        local = fields["route_config"]["virtual_hosts"][0]["routes"][0]["route"]
        timeout, idle, app_cluster = local.get("timeout"), local.get("idle_timeout"), local["cluster"]
    else:
        idle, app_cluster = fields.get("idle_timeout"), fields["cluster"]
    return Ingress(proxy, inbound[0]["name"], port, protocol, mode, "ok" if ok else "fails", why, timeout, idle,
                   _other_cluster(clusters(boot).get(app_cluster, {}), request).removeprefix("to "), request)


def outcome(hop: Hop) -> Outcome:
    """Where the requests of the last hop end, and with what share."""
    if hop.drop is not None:
        return Outcome(drop=hop.drop)
    delivered: dict[str, float] = {}
    failed: dict[str, float] = {}
    for target in hop.targets:
        where = target.node or (target.note or target.cluster)
        if target.ingress is not None and not target.ingress.ok:
            failed[where] = failed.get(where, 0.0) + target.percent
        elif target.percent > 0:
            delivered[where] = delivered.get(where, 0.0) + target.percent
    return Outcome(delivered, failed)
