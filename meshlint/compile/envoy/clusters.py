"""Clusters: local app (ingress), egress per target listener, passthrough, SDS, gateway self-redirect.

Spec 4.2, 4.4, 4.5, 5.3, 5.4; https://docs.aws.amazon.com/app-mesh/latest/userguide/envoy-defaults.html
"""

from __future__ import annotations

from typing import Any

from meshlint.compile.envoy.context import Ctx
from meshlint.compile.envoy.discovery import discovery_name, endpoint
from meshlint.compile.envoy.envoy_json import (
    MAX_THRESHOLD,
    Json,
    circuit_breakers,
    duration_ms,
    http2_protocol_options,
    load_assignment,
    seconds,
    share,
)
from meshlint.compile.envoy.names import SDS_CLUSTER, ingress_cluster
from meshlint.compile.envoy.targets import TargetCluster
from meshlint.compile.envoy.tls import UpstreamTarget, Where, upstream_tls
from meshlint.model.entities import VirtualNode
from meshlint.model.spec import HealthCheckPolicy, Listener, OutlierDetection

LOCAL_CONNECT_TIMEOUT = "0.25s"
EGRESS_CONNECT_TIMEOUT = "1s"
_H2 = ("http2", "grpc")


def pool_thresholds(pool: Any, protocol: str) -> dict[str, int | None]:
    """connectionPool of the listener's own protocol -> default-priority thresholds (spec 4.4)."""
    chosen = getattr(pool, protocol, None) if pool is not None else None
    if chosen is None:
        return {}
    if protocol == "http":
        pending = chosen.max_pending_requests
        return {"max_connections": chosen.max_connections,
                "max_pending_requests": MAX_THRESHOLD if pending is None else pending}
    if protocol == "tcp":
        return {"max_connections": chosen.max_connections}
    return {"max_requests": chosen.max_requests}


def _static(ctx: Ctx, name: str, address: str, port: int, protocol: str, pool: Any) -> Json:
    cluster: Json = {"name": name, "type": "STATIC", "connect_timeout": LOCAL_CONNECT_TIMEOUT}
    breakers = circuit_breakers(ctx.legacy, **pool_thresholds(pool, protocol))
    if breakers is not None:
        cluster["circuit_breakers"] = breakers
    if protocol in _H2:
        cluster["typed_extension_protocol_options"] = http2_protocol_options()
    cluster["load_assignment"] = load_assignment(name, [(address, port)])
    return cluster


def local_app_cluster(ctx: Ctx, node: VirtualNode, listener: Listener) -> Json:
    """`cds_ingress_<mesh>_<vn>_<proto>_<port>`: the app on loopback; the listener's connection pool."""
    pm = listener.port_mapping
    ipv6 = ctx.ip_preference(node, node.mesh) in ("IPv6_ONLY", "IPv6_PREFERRED")
    name = ingress_cluster(node.mesh, node.name, pm.protocol, pm.port)
    return _static(ctx, name, "::1" if ipv6 else "127.0.0.1", pm.port, pm.protocol, listener.connection_pool)


def self_redirect_cluster(ctx: Ctx, name: str, protocol: str, pool: Any) -> Json:
    """A gateway's hop from its ingress listener into its own egress listener (127.0.0.1:15001, or the
    egress hop's own address when it is bound to a specific one)."""
    bind = ctx.options.gateway_egress_bind_address or ctx.options.bind_address
    address = "127.0.0.1" if bind in ("0.0.0.0", "::") else bind
    return _static(ctx, name, address, ctx.options.egress_port, protocol, pool)


def egress_cluster(ctx: Ctx, target: TargetCluster, policy: Any, policy_where: Where | None) -> Json:
    """`cds_egress_*`: DNS per the target's service discovery; its health check and outlier detection;
    TLS per the client policy decision table; HTTP/2 for http2/grpc targets. All but the TLS is the target's
    alone, made once however many clients reach it (`_of_target`)."""
    cluster = dict(_of_target(ctx, target))
    upstream = UpstreamTarget(discovery_name(target.node), target.port, target.protocol, target.listener.tls,
                              Where(target.node, ("listeners", target.index)))
    socket = upstream_tls(ctx, policy, policy_where, upstream)
    if socket is not None:
        cluster["transport_socket"] = socket
    return cluster


def _of_target(ctx: Ctx, target: TargetCluster) -> Json:
    """The fields of an egress cluster that depend on its target alone, each shared by every client's cluster
    (rendered once: envoy_json.share). Keyed by the target's node and listener, which outlive the context."""
    key = (id(target.node), target.index)
    found = ctx.target_fields.get(key)
    if found is not None:
        return found
    ep = endpoint(ctx, target.node)
    fields: Json = {"name": target.name, "type": ep.type, "connect_timeout": EGRESS_CONNECT_TIMEOUT}
    if ep.lookup_family is not None:
        fields["dns_lookup_family"] = ep.lookup_family
    breakers = circuit_breakers(ctx.legacy)
    if breakers is not None:
        fields["circuit_breakers"] = breakers
    if target.listener.health_check is not None and _checkable(ctx, target):
        fields["health_checks"] = [health_check(target.listener.health_check)]
    if target.listener.outlier_detection is not None:
        fields["outlier_detection"] = outlier_detection(target.listener.outlier_detection)
    if target.protocol in _H2:
        fields["typed_extension_protocol_options"] = http2_protocol_options()
    endpoints = [(ep.address, target.port)] if ep.address is not None else []
    fields["load_assignment"] = load_assignment(target.name, endpoints)
    found = ctx.target_fields[key] = {name: share(value) for name, value in fields.items()}
    return found


def _checkable(ctx: Ctx, target: TargetCluster) -> bool:
    """Envoy runs gRPC health checks only over HTTP/2 clusters."""
    hc = target.listener.health_check
    if hc is None or hc.protocol != "grpc" or target.protocol in _H2:
        return True
    ctx.report(target.node, target.node.spec_pointer("listeners", target.index, "healthCheck", "protocol"),
               f"a gRPC health check on the {target.protocol} listener port {target.port} of "
               f"{target.node.name!r} needs HTTP/2; clients get no active health check for it",
               "use the listener's protocol for its health check")
    return False


def health_check(hc: HealthCheckPolicy) -> Json:
    out: Json = {"timeout": seconds(hc.timeout_millis), "interval": seconds(hc.interval_millis),
                 "healthy_threshold": hc.healthy_threshold, "unhealthy_threshold": hc.unhealthy_threshold}
    if hc.protocol == "grpc":
        out["grpc_health_check"] = {}
    elif hc.protocol == "tcp":
        out["tcp_health_check"] = {}
    else:
        http: Json = {"path": hc.path or "/"}
        if hc.protocol == "http2":
            http["codec_client_type"] = "HTTP2"
        out["http_health_check"] = http
    return out


def outlier_detection(od: OutlierDetection) -> Json:
    out: Json = {"consecutive_5xx": od.max_server_errors, "max_ejection_percent": od.max_ejection_percent}
    for key, value in (("interval", od.interval), ("base_ejection_time", od.base_ejection_duration)):
        ms = duration_ms(value)
        if ms is not None:
            out[key] = seconds(ms)
    return out


def passthrough_cluster(ctx: Ctx, name: str) -> Json:
    """ORIGINAL_DST: forward to the address the app dialled (`*.amazonaws.com`, ALLOW_ALL)."""
    cluster: Json = {"name": name, "type": "ORIGINAL_DST", "lb_policy": "CLUSTER_PROVIDED",
                     "connect_timeout": EGRESS_CONNECT_TIMEOUT}
    breakers = circuit_breakers(ctx.legacy)
    if breakers is not None:
        cluster["circuit_breakers"] = breakers
    return cluster


def sds_cluster(ctx: Ctx) -> Json:
    """The SDS agent on a Unix socket, as App Mesh's agent wrote it (APPMESH_SDS_SOCKET_PATH)."""
    lb = [{"endpoint": {"address": {"pipe": {"path": ctx.options.sds_socket_path}}}}]
    return {"name": SDS_CLUSTER, "type": "STATIC", "connect_timeout": "1s",
            "typed_extension_protocol_options": http2_protocol_options(),
            "load_assignment": {"cluster_name": SDS_CLUSTER, "endpoints": [{"lb_endpoints": lb}]}}
