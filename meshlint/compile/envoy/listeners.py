"""Listeners and network filters: the HTTP connection manager App Mesh configured, tcp_proxy, TLS chains,
and a virtual node's ingress listener (spec 4.1, 4.3, 4.6)."""

from __future__ import annotations

from typing import Any

from meshlint.compile.envoy.context import Ctx, Proxy
from meshlint.compile.envoy.envoy_json import Json, duration_ms, family_of, seconds, socket_address, typed
from meshlint.compile.envoy.names import chain_name, ingress_cluster, ingress_route_table, listener_name
from meshlint.compile.envoy.routes import DEFAULT_TCP_IDLE_MS, timeouts
from meshlint.compile.envoy.tls import Where, downstream_tls
from meshlint.model.entities import Resource, VirtualNode
from meshlint.model.spec import Listener

ORIGINAL_DST = typed("envoy.filters.listener.original_dst",
                     "envoy.extensions.filters.listener.original_dst.v3.OriginalDst")
TLS_INSPECTOR_NAME = "envoy.filters.listener.tls_inspector"
TLS_INSPECTOR_TYPE = "envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector"
TLS_INSPECTOR = typed(TLS_INSPECTOR_NAME, TLS_INSPECTOR_TYPE)


def tls_inspector(skipped_ports: list[int]) -> Json:
    """The tls_inspector listener filter, off on `skipped_ports`. It waits for the client's first bytes, so
    server-first TCP protocols (MySQL, SMTP) stall behind it (roadmap#62) on ports that never need it."""
    if not skipped_ports:
        return TLS_INSPECTOR
    rules = [{"destination_port_range": {"start": p, "end": p + 1}} for p in skipped_ports]
    disabled = rules[0] if len(rules) == 1 else {"or_match": {"rules": rules}}
    return {**TLS_INSPECTOR, "filter_disabled": disabled}


def hcm(proxy: Proxy, stat_prefix: str, route_config: Json) -> Json:
    """The HCM options App Mesh set on every HTTP listener (gateway config dump): websocket upgrades,
    path normalisation, merged slashes, escaped slashes kept, router only, tracing, access log."""
    fields: Json = {
        "stat_prefix": stat_prefix,
        "route_config": route_config,
        "http_filters": [typed("envoy.filters.http.router", "envoy.extensions.filters.http.router.v3.Router")],
        "upgrade_configs": [{"upgrade_type": "websocket", "enabled": True}],
        "normalize_path": True,
        "merge_slashes": True,
        "path_with_escaped_slashes_action": "KEEP_UNCHANGED",
        "tracing": proxy.tracing,
    }
    if proxy.access_log:
        fields["access_log"] = list(proxy.access_log)
    return typed("envoy.filters.network.http_connection_manager",
                 "envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager", **fields)


def tcp_proxy(proxy: Proxy, stat_prefix: str, target: Json) -> Json:
    """`target`: cluster | weighted_clusters, plus idle_timeout."""
    fields: Json = {"stat_prefix": stat_prefix, **target}
    if proxy.access_log:
        fields["access_log"] = list(proxy.access_log)
    return typed("envoy.filters.network.tcp_proxy",
                 "envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy", **fields)


def listener(name: str, bind: str, port: int, direction: str, filters: list[Json], chains: list[Json]) -> Json:
    out: Json = {"name": name, "address": socket_address(bind, port, ipv4_compat=bind == "::"),
                 "traffic_direction": direction}
    if filters:
        out["listener_filters"] = filters
    out["filter_chains"] = chains
    return out


def node_bind(ctx: Ctx, node: VirtualNode) -> str:
    """Any IP preference binds the node's listeners to `::` with ipv4_compat (howto-ipv6)."""
    bind = ctx.options.bind_address
    if bind == "0.0.0.0" and ctx.ip_preference(node, node.mesh) is not None:
        return "::"
    return bind


def tls_chains(ctx: Ctx, name: str, port: int, filters: list[Json], tls: Any, where: Where) -> list[Json]:
    """STRICT: one TLS chain; PERMISSIVE: a TLS chain (transport_protocol tls) and a plaintext one;
    DISABLED / no tls: plaintext only."""
    plain: Json = {"name": name, "filter_chain_match": {"destination_port": port}, "filters": filters}
    if tls is None or tls.mode == "DISABLED":
        return [plain]
    http = filters[0]["name"] == "envoy.filters.network.http_connection_manager"
    socket = downstream_tls(ctx, tls, Where(where.resource, (*where.tokens, "tls")), http)
    secure: Json = {"name": name + "_tls", "filter_chain_match": {"destination_port": port},
                    "transport_socket": socket, "filters": filters}
    if tls.mode == "STRICT":
        return [secure]
    secure["filter_chain_match"] = {"destination_port": port, "transport_protocol": "tls"}
    return [secure, plain]


def check_listener_kinds(ctx: Ctx, resource: Resource, index: int, lst: Any) -> None:
    """connectionPool / timeout blocks for another protocol than the listener's have no effect."""
    protocol = lst.port_mapping.protocol
    for block in ("connection_pool", "timeout"):
        value = getattr(lst, block, None)
        given = [k for k in ("http", "http2", "grpc", "tcp") if getattr(value, k, None) is not None]
        if value is None or not given or protocol in given:
            continue
        token = "connectionPool" if block == "connection_pool" else "timeout"
        ctx.report(resource, resource.spec_pointer("listeners", index, token, given[0]),
                   f"the {given[0]} {token} of the {protocol} listener on port {lst.port_mapping.port} has no "
                   "effect; App Mesh's defaults apply", f"put the settings under {token}.{protocol}")


def node_ingress_listener(ctx: Ctx, proxy: Proxy, node: VirtualNode) -> Json | None:
    """`lds_ingress_<bind>_15000`: one chain per listener port (no listener, no ingress)."""
    listeners = node.spec.listeners or ()
    if not listeners:
        return None
    chains: list[Json] = []
    seen: set[int] = set()
    for i, lst in enumerate(listeners):
        if lst.port_mapping.port in seen:
            ctx.report(node, node.spec_pointer("listeners", i, "portMapping", "port"),
                       f"port {lst.port_mapping.port} is listed twice; only the first listener is compiled",
                       "give every listener its own port")
            continue
        seen.add(lst.port_mapping.port)
        check_listener_kinds(ctx, node, i, lst)
        chains += _ingress_chains(ctx, proxy, node, lst, i, multi=len(listeners) > 1)
    permissive = {lst.port_mapping.port for lst in listeners if lst.tls is not None and lst.tls.mode == "PERMISSIVE"}
    inspector = [tls_inspector(sorted(seen - permissive))] if permissive else []  # only PERMISSIVE ports sniff
    bind = node_bind(ctx, node)
    return listener(listener_name("ingress", bind, ctx.options.ingress_port), bind, ctx.options.ingress_port,
                    "INBOUND", [ORIGINAL_DST, *inspector], chains)


def _ingress_chains(ctx: Ctx, proxy: Proxy, node: VirtualNode, lst: Listener, index: int,
                    multi: bool) -> list[Json]:
    port, protocol = lst.port_mapping.port, lst.port_mapping.protocol
    prefix = f"ingress.{protocol}.{port}" if multi else "ingress"
    cluster = ingress_cluster(node.mesh, node.name, protocol, port)
    timeout = getattr(lst.timeout, protocol, None) if lst.timeout is not None else None
    name = chain_name("ingress", protocol, port)
    if family_of(protocol) == "http":
        times, _ = timeouts(timeout)
        route = {"match": {"prefix": "/"}, "route": {"cluster": cluster, **times}}
        vhost = {"name": name, "domains": ["*"], "routes": [route]}
        network = hcm(proxy, prefix, {"name": ingress_route_table(port), "virtual_hosts": [vhost]})
    else:
        idle = duration_ms(timeout.idle) if timeout is not None else None
        network = tcp_proxy(proxy, prefix, {"cluster": cluster,
                                            "idle_timeout": seconds(DEFAULT_TCP_IDLE_MS if idle is None else idle)})
    return tls_chains(ctx, name, port, [network], lst.tls, Where(node, ("listeners", index)))
