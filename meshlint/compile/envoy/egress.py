"""A virtual node's egress side: backends -> per-port chains on `lds_egress_<bind>_15001` (spec 5.1, 5.2).

https://docs.aws.amazon.com/app-mesh/latest/userguide/troubleshooting-connectivity.html (egress filter)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from meshlint.compile.envoy.context import Ctx, Proxy
from meshlint.compile.envoy.envoy_json import Json, family_of
from meshlint.compile.envoy.listeners import (
    ORIGINAL_DST,
    hcm,
    listener,
    tcp_proxy,
    tls_inspector,
)
from meshlint.compile.envoy.names import (
    allow_all_cluster,
    amazonaws_cluster,
    chain_name,
    egress_route_table,
    listener_name,
)
from meshlint.compile.envoy.services import PortEntry, service_entries
from meshlint.compile.envoy.targets import TargetCluster
from meshlint.compile.envoy.tls import Where
from meshlint.model.entities import Resource, VirtualNode, client_tls
from meshlint.model.spec import Backend
from meshlint.unknowns import is_unknown

PASSTHROUGH_IDLE = "3600s"  # Envoy's tcp_proxy default, written out


@dataclass
class ClusterNeed:
    target: TargetCluster
    policy: Any  # the client TLS policy in force for this cluster, or None
    where: Where | None


@dataclass
class EgressPlan:
    http: dict[int, list[Json]] = field(default_factory=dict)  # port -> virtual hosts
    tcp: dict[int, Json] = field(default_factory=dict)  # port -> tcp_proxy fields
    clusters: dict[str, ClusterNeed] = field(default_factory=dict)

    def need(self, ctx: Ctx, owner: Resource, target: TargetCluster, policy: Any, where: Where | None,
             pointer: str) -> None:
        """Clusters are keyed by target, so two client policies towards one target collide: first wins.
        `pointer` names the backend when it has no policy of its own."""
        known = self.clusters.get(target.name)
        if known is None:
            self.clusters[target.name] = ClusterNeed(target, policy, where)
        elif known.policy != policy:
            ctx.report(owner, where.pointer() if where is not None else pointer,
                       f"two client policies apply to cluster {target.name}; the one of the backend sorted first "
                       "is used", "give every backend that reaches this virtual node the same client policy")


def vhost(service: str, port: int, routes: Sequence[Json]) -> Json:
    """One vhost per virtual service: Host `<vs>` or `<vs>:<port>` (gateway config dump)."""
    return {"name": service, "domains": [service, f"{service}:{port}"], "routes": routes}


def plan_node_egress(ctx: Ctx, node: VirtualNode) -> EgressPlan:
    plan = EgressPlan()
    backends: dict[str, tuple[int, Backend]] = {}
    for i, backend in enumerate(node.spec.backends or ()):
        if backend.virtual_service is not None:
            backends.setdefault(backend.virtual_service.virtual_service_name, (i, backend))
    for service in sorted(backends):
        index, backend = backends[service]
        policy, path = client_tls(node, index)
        where = Where(node, path) if policy is not None else None
        pointer = node.spec_pointer("backends", index, "virtualService", "virtualServiceName")
        entries = service_entries(ctx, node.mesh, service)
        if not entries and not is_unknown(service) and not is_unknown(node.mesh):  # unknown: said once, elsewhere
            ctx.report(node, pointer, f"backend {service!r} has no provider with a listener; nothing is "
                       "compiled for it (its requests find no route)",
                       "declare the virtual service with a provider that has listeners")
        for entry in entries:
            if _place(ctx, node, plan, service, entry, pointer):
                for target in entry.clusters:
                    plan.need(ctx, node, target, policy, where, pointer)
    return plan


def _place(ctx: Ctx, node: VirtualNode, plan: EgressPlan, service: str, entry: PortEntry, pointer: str) -> bool:
    """Put one service port on its chain; L4 has no Host, so a TCP port takes exactly one service."""
    http = family_of(entry.protocol) == "http"
    hosts = {str(v["name"]).lower() for v in plan.http.get(entry.port, [])}
    if http and service.lower() in hosts:  # Envoy matches domains case-insensitively and rejects repeats
        ctx.report(node, pointer, f"backend {service!r} differs from another backend on port {entry.port} only "
                   "by letter case; Host matching cannot tell them apart and it is left out",
                   "name virtual services so that they differ in more than letter case")
        return False
    taken = entry.port in plan.tcp or (not http and entry.port in plan.http)
    if taken:
        ctx.report(node, pointer, f"backend {service!r} needs port {entry.port} ({entry.protocol}) but another "
                   "backend already holds it for TCP or HTTP; it is left out on that port",
                   "serve TCP backends on ports no other backend uses")
        return False
    if http:
        plan.http.setdefault(entry.port, []).append(vhost(service, entry.port, entry.routes))
        return True
    if entry.tcp is None:
        return False
    plan.tcp[entry.port] = entry.tcp
    return True


def egress_listener(ctx: Ctx, proxy: Proxy, bind: str, plan: EgressPlan, allow_all: bool) -> Json:
    """HTTP chains per port, TCP chains per port, `*.amazonaws.com` TLS passthrough; ALLOW_ALL adds a
    catch-all vhost per HTTP chain and a default chain to the original destination."""
    mesh = proxy.mesh
    chains: list[Json] = []
    for port in sorted(plan.http):
        vhosts = sorted(plan.http[port], key=lambda v: str(v["name"]))
        if allow_all:
            vhosts.append(_allow_all_vhost(mesh))
        table = {"name": egress_route_table(port), "virtual_hosts": vhosts}
        chains.append({"name": chain_name("egress", "http", port), "filter_chain_match": {"destination_port": port},
                       "filters": [hcm(proxy, "egress", table)]})
    for port in sorted(plan.tcp):
        chains.append({"name": chain_name("egress", "tcp", port), "filter_chain_match": {"destination_port": port},
                       "filters": [tcp_proxy(proxy, "egress", plan.tcp[port])]})
    chains.append({
        "name": "egress_amazonaws",
        "filter_chain_match": {"destination_port": 443, "transport_protocol": "tls",
                               "server_names": ["*.amazonaws.com"]},
        "filters": [tcp_proxy(proxy, "egress", {"cluster": amazonaws_cluster(mesh), "idle_timeout": PASSTHROUGH_IDLE})],
    })
    port = ctx.options.egress_port
    out = listener(listener_name("egress", bind, port), bind, port, "OUTBOUND",
                   [ORIGINAL_DST, tls_inspector(sorted(p for p in plan.tcp if p != 443))], chains)
    if allow_all:
        passthrough = {"cluster": allow_all_cluster(mesh), "idle_timeout": PASSTHROUGH_IDLE}
        out["default_filter_chain"] = {"name": "egress_allow_all", "filters": [tcp_proxy(proxy, "egress", passthrough)]}
    return out


def _allow_all_vhost(mesh: str) -> Json:
    route = {"match": {"prefix": "/"}, "route": {"cluster": allow_all_cluster(mesh), "timeout": "15s"}}
    return {"name": "allow_all", "domains": ["*"], "routes": [route]}

