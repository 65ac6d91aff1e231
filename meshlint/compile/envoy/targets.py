"""Route targets -> the target virtual node's listener and its `cds_egress_*` cluster name."""

from __future__ import annotations

from dataclasses import dataclass

from meshlint.compile.envoy.context import Ctx
from meshlint.compile.envoy.envoy_json import family_of
from meshlint.compile.envoy.names import egress_cluster
from meshlint.model.entities import Resource, VirtualNode
from meshlint.model.spec import Listener


@dataclass(frozen=True)
class TargetCluster:
    """One egress cluster: a target node's listener (clusters are keyed by node + port, not service)."""

    name: str
    node: VirtualNode
    listener: Listener
    index: int  # the listener's index in the node's spec, for pointers

    @property
    def port(self) -> int:
        return self.listener.port_mapping.port

    @property
    def protocol(self) -> str:
        return self.listener.port_mapping.protocol


def listener_cluster(node: VirtualNode, index: int) -> TargetCluster:
    listener = (node.spec.listeners or ())[index]
    pm = listener.port_mapping
    return TargetCluster(egress_cluster(node.mesh, node.name, pm.protocol, pm.port), node, listener, index)


def resolve_target(ctx: Ctx, source: Resource, node_name: str, port: int | None, family: str,
                   pointer: str) -> TargetCluster | None:
    """The listener a weighted target lands on: `port` if given, else the only listener, else the first one
    of the route's family (http family or tcp). None, with a finding, when there is none."""
    node = ctx.model.nodes.get((source.mesh, node_name))
    if node is None:
        ctx.report(source, pointer, f"route target virtual node {node_name!r} does not exist; the target is "
                   "left out", "create the virtual node or fix the name")
        return None
    listeners = node.spec.listeners or ()
    ports = [lst.port_mapping.port for lst in listeners]
    if port is not None:
        if port in ports:
            return listener_cluster(node, ports.index(port))
        what = f"has no listener on port {port}"
    elif len(listeners) == 1:
        return listener_cluster(node, 0)
    elif listeners:
        same = [i for i, lst in enumerate(listeners) if family_of(lst.port_mapping.protocol) == family]
        return listener_cluster(node, same[0] if same else 0)
    else:
        what = "has no listener"
    ctx.report(source, pointer, f"route target virtual node {node_name!r} {what}; the target is left out",
               "point the target at a listener port of the virtual node")
    return None
