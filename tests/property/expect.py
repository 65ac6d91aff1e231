"""What a compiled bootstrap must contain for a drawn Plan: the meaning-preservation oracle."""

from __future__ import annotations

from collections import Counter
from typing import Any

from tests.property.strategies import HTTP_FAMILY, Plan, RoutePlan

DEFAULT_MS = 15_000
INGRESS = "lds_ingress_0.0.0.0_15000"
EGRESS = "lds_egress_0.0.0.0_15001"


def duration_ms(doc: dict[str, Any] | None) -> int | None:
    if doc is None:
        return None
    return int(doc["value"]) * (1 if doc["unit"] == "ms" else 1000)


def envoy_ms(text: str) -> int:
    """Protobuf JSON duration ("15s", "0.25s") -> milliseconds."""
    assert text.endswith("s"), text
    return round(float(text[:-1]) * 1000)


def listeners(boot: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {lst["name"]: lst for lst in boot["static_resources"]["listeners"]}


def clusters(boot: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in boot["static_resources"]["clusters"]}


def chain_for(listener: dict[str, Any], port: int) -> dict[str, Any]:
    found = [c for c in listener["filter_chains"] if c.get("filter_chain_match", {}).get("destination_port") == port]
    assert len(found) == 1, f"{listener['name']}: {len(found)} chains for port {port}"
    return found[0]


def typed_config(chain: dict[str, Any]) -> dict[str, Any]:
    config: dict[str, Any] = chain["filters"][0]["typed_config"]
    return config


def egress_cluster(plan: Plan, node: str, port: int) -> str:
    proto = next(p for p, q in plan.node(node).listeners if q == port)
    return f"cds_egress_{plan.mesh}_{node}_{proto}_{port}"


def target_port(plan: Plan, node: str, port: int | None, protocol: str) -> int:
    listeners_ = plan.node(node).listeners
    if port is not None:
        return port
    if len(listeners_) == 1:
        return listeners_[0][1]
    return plan.node(node).port_of(protocol)


def expected_weights(plan: Plan, route: RoutePlan, protocol: str) -> list[dict[str, Any]]:
    weights: Counter[str] = Counter()
    for node, weight, port in route.targets:
        weights[egress_cluster(plan, node, target_port(plan, node, port, protocol))] += weight
    # tcp_proxy rejects weight 0: those clusters are left out there
    return [{"name": name, "weight": weights[name]} for name in sorted(weights)
            if protocol != "tcp" or weights[name] > 0]


def route_order(routes: list[RoutePlan]) -> list[RoutePlan]:
    """Design 6.2: priority (none last), the longer path/prefix/regex first, exact < prefix < regex, name."""
    return sorted(routes, key=lambda r: (1001 if r.priority is None else r.priority, *_extent(r), r.name))


def _extent(route: RoutePlan) -> tuple[int, int]:
    match = route.match or {}
    if route.kind == "grpcRoute":
        return -len(match.get("serviceName", "") + match.get("methodName", "")), 0
    path = match.get("path") or {}
    if "exact" in path:
        return -len(path["exact"]), 0
    if "regex" in path:
        return -len(path["regex"]), 2
    return -len(match.get("prefix", "")), 1


def check_route(plan: Plan, route: RoutePlan, protocol: str, got: dict[str, Any]) -> None:
    """One router route against its Envoy route: name, weighted clusters, timeout, idle, retry policy."""
    assert got["name"] == route.name
    action = got["route"]
    assert action["weighted_clusters"]["clusters"] == expected_weights(plan, route, protocol), route.name
    timeout = route.timeout or {}
    assert envoy_ms(action["timeout"]) == (duration_ms(timeout.get("perRequest")) or DEFAULT_MS), route.name
    idle = duration_ms(timeout.get("idle"))
    assert (envoy_ms(action["idle_timeout"]) if "idle_timeout" in action else None) == idle, route.name
    retry = action.get("retry_policy")
    if route.retry is None:
        assert retry is not None and retry["num_retries"] == 2, route.name  # App Mesh's default policy
    else:
        assert retry is not None, route.name
        assert retry["num_retries"] == route.retry["maxRetries"], route.name
        assert envoy_ms(retry["per_try_timeout"]) == duration_ms(route.retry["perRetryTimeout"]), route.name
        tokens = set(retry.get("retry_on", "").split(",")) - {""}
        if "connection-error" in route.retry.get("tcpRetryEvents", ()):
            assert "connect-failure" in tokens
        for event in route.retry.get("grpcRetryEvents", ()):
            assert event in tokens


def check_listener_tls(tls: dict[str, Any], chain: dict[str, Any], where: str) -> None:
    socket = chain.get("transport_socket")
    assert socket is not None, f"{where}: TLS listener compiled without a transport socket"
    context = socket["typed_config"]
    assert context["@type"].endswith("DownstreamTlsContext"), where
    common = context["common_tls_context"]
    cert = tls["certificate"]
    if "file" in cert:
        assert [c["certificate_chain"]["filename"].endswith(cert["file"]["certificateChain"])
                for c in common["tls_certificates"]] == [True], where
    else:
        assert [s["name"] for s in common["tls_certificate_sds_secret_configs"]] == [cert["sds"]["secretName"]], where
    assert context.get("require_client_certificate", False) == ("validation" in tls), where
    if "validation" in tls:
        assert {"validation_context", "validation_context_sds_secret_config",
                "combined_validation_context"} & set(common), where


def check_client_tls(policy: dict[str, Any] | None, cluster: dict[str, Any], where: str) -> None:
    socket = cluster.get("transport_socket")
    assert socket is not None, f"{where}: cluster without TLS towards a STRICT listener"
    context = socket["typed_config"]
    assert context["@type"].endswith("UpstreamTlsContext"), where
    if policy is None:
        return
    common = context["common_tls_context"]
    trust = policy["validation"]["trust"]
    if "file" in trust:
        assert common["validation_context"]["trusted_ca"]["filename"].endswith(trust["file"]["certificateChain"])
    else:
        sds = common.get("validation_context_sds_secret_config") or \
            common["combined_validation_context"]["validation_context_sds_secret_config"]
        assert sds["name"] == trust["sds"]["secretName"], where
    if "certificate" in policy:
        assert {"tls_certificates", "tls_certificate_sds_secret_configs"} & set(common), where
    else:
        assert not {"tls_certificates", "tls_certificate_sds_secret_configs"} & set(common), where


def check_node(plan: Plan, name: str, boot: dict[str, Any]) -> None:
    """Every listener with its TLS, every backend service with its routes, clusters and client TLS."""
    node = plan.node(name)
    found = listeners(boot)
    ingress = found[INGRESS]
    for (proto, port), tls in zip(node.listeners, node.tls, strict=True):
        check_listener_tls(tls, chain_for(ingress, port), f"{name} listener {proto}:{port}")
    egress = found[EGRESS]
    by_name = clusters(boot)
    for service in node.backends:
        for proto, port in plan.service_ports(service):
            chain = chain_for(egress, port)
            config = typed_config(chain)
            s = plan.service(service)
            if proto in HTTP_FAMILY:
                hosts = {v["name"]: v for v in config["route_config"]["virtual_hosts"]}
                assert service in hosts, f"{name}: no virtual host for backend {service} on port {port}"
                vhost = hosts[service]
                assert vhost["domains"] == [service, f"{service}:{port}"]
                if s.router is not None:
                    routes = route_order(plan.router(s.router).routes)
                    assert [r["name"] for r in vhost["routes"]] == [r.name for r in routes]
                    for route, got in zip(routes, vhost["routes"], strict=True):
                        check_route(plan, route, proto, got)
                    used = {c["name"] for r in vhost["routes"] for c in r["route"]["weighted_clusters"]["clusters"]}
                else:
                    assert [r["route"]["cluster"] for r in vhost["routes"]] == [egress_cluster(plan, s.node or "", port)]
                    used = {egress_cluster(plan, s.node or "", port)}
            else:
                if s.router is not None:
                    (route,) = plan.router(s.router).routes
                    assert config["weighted_clusters"]["clusters"] == expected_weights(plan, route, "tcp")
                    used = {c["name"] for c in config["weighted_clusters"]["clusters"]}
                    idle = duration_ms((route.timeout or {}).get("idle"))
                    assert envoy_ms(config["idle_timeout"]) == (300_000 if idle is None else idle)
                else:
                    assert config["cluster"] == egress_cluster(plan, s.node or "", port)
                    used = {config["cluster"]}
            for cluster in used:
                assert cluster in by_name, f"{name}: route to undefined cluster {cluster}"
                check_client_tls(node.client_tls, by_name[cluster], f"{name} -> {cluster}")


def dot_graph(text: str) -> tuple[set[str], Counter[tuple[str, str]]]:
    """Minimal DOT reader for the topology: node ids and (tail, head) edges (ports and invisible edges
    dropped). Ids are quoted; statements are one per line."""
    import re

    quoted = r'"((?:[^"\\]|\\.)*)"'
    nodes: set[str] = set()
    edges: Counter[tuple[str, str]] = Counter()
    for line in text.splitlines():
        line = line.strip()
        edge = re.match(quoted + r"(?::\w+)*(?::\w+)? -> " + quoted, line)
        if edge:
            if "style=invis" not in line:
                edges[(edge.group(1), edge.group(2))] += 1
            continue
        node = re.match(quoted + r" \[", line)
        if node:
            nodes.add(node.group(1))
    return nodes, edges


def model_graph(plan: Plan) -> tuple[set[str], Counter[tuple[str, str]]]:
    m = plan.mesh

    def ident(kind: str, name: str) -> str:
        return f"{kind}/{m}/{name}"

    nodes = {ident("VirtualNode", n.name) for n in plan.nodes}
    nodes |= {ident("VirtualService", s.name) for s in plan.services}
    nodes |= {ident("VirtualRouter", r.name) for r in plan.routers}
    nodes |= {ident("VirtualGateway", g.name) for g in plan.gateways}
    edges: Counter[tuple[str, str]] = Counter()
    for g in plan.gateways:
        for groute in g.routes:
            edges[(ident("VirtualGateway", g.name), ident("VirtualService", groute.service))] += 1
    for s in plan.services:
        head = ident("VirtualNode", s.node) if s.node is not None else ident("VirtualRouter", s.router or "")
        edges[(ident("VirtualService", s.name), head)] += 1
    for r in plan.routers:
        for route in r.routes:
            for node, _, _ in route.targets:
                edges[(ident("VirtualRouter", r.name), ident("VirtualNode", node))] += 1
    for n in plan.nodes:
        for service in n.backends:
            edges[(ident("VirtualNode", n.name), ident("VirtualService", service))] += 1
    return nodes, edges
