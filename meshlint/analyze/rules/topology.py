"""Topology rules read the mesh graph: unreachable-node, routing-cycle."""

from __future__ import annotations

from collections.abc import Iterator

from meshlint.analyze.context import RuleContext, finding, rule
from meshlint.diagnostics import Finding
from meshlint.model.entities import ENTRY_POINT_TAG, MeshKey, VirtualNode, is_entry_point
from meshlint.model.graph import has_placeholder


@rule("unreachable-node")
def unreachable_node(ctx: RuleContext) -> Iterator[Finding]:
    fed = ctx.graph.services_of_node
    # a provider or a target whose name is unknown offline may be any node of its mesh
    vague = {ref.mesh for ref in ctx.graph.references
             if ref.role in ("provider", "route target") and has_placeholder(ref.name)}
    for key, node in ctx.model.nodes.items():
        if key in fed or is_entry_point(node) or ctx.settings.is_entry_point(node.mesh, node.name):
            continue
        if has_placeholder(node.mesh) or node.mesh in vague:
            continue  # a mesh of unknown name may route to it from another file (meshlint.unknowns)
        yield finding(
            "unreachable-node", node, node.origin.pointer("virtualNodeName"),
            f"virtual node {node.name!r} receives no traffic: {_why(ctx, key)}",
            _entry_point_help(node),
            at_key=False,
        )


def _entry_point_help(node: VirtualNode) -> str:
    where = f"list {node.mesh}/{node.name} under entry-points in .meshlint.yaml"
    if node.origin.written:  # a Kubernetes object: no tags, and its App Mesh name is derived
        return f"if traffic enters from outside the mesh (a load balancer), {where} (the {node.origin.written})"
    return (f"if traffic enters from outside the mesh (a load balancer), declare it an entry point: tag "
            f"{ENTRY_POINT_TAG}=true on the node, or {where}")


def _why(ctx: RuleContext, key: MeshKey) -> str:
    mesh, name = key
    zero = []
    unused = []
    for (rmesh, router), routes in ctx.graph.routes_by_router.items():
        if rmesh != mesh:
            continue
        for route in routes:
            for t in ctx.graph.targets(route):
                if t.node == name and t.weight <= 0:
                    zero.append(route.qualified_name)
                elif t.node == name:
                    unused.append(router)
    if zero:
        return f"route {zero[0]!r} targets it with weight 0, and no virtual service provides it"
    if unused:
        return (f"virtual router {unused[0]!r} routes to it, but no virtual service uses that router, "
                "and no virtual service provides the node")
    return "no virtual service provides it and no route targets it"


@rule("routing-cycle")
def routing_cycle(ctx: RuleContext) -> Iterator[Finding]:
    for component in ctx.graph.cycles():
        start = component[0]
        path = _cycle_path(ctx, start, set(component))
        node = ctx.model.nodes[start]
        first_service = path[1] if len(path) > 1 else ""
        index = next((i for i, b in enumerate(node.spec.backends or ())
                      if b.virtual_service and b.virtual_service.virtual_service_name == first_service), 0)
        described = " -> ".join(path)
        short = "calls its own service" if len(component) == 1 else f"is part of a call cycle of {len(component)} "\
            "virtual nodes"
        yield finding(
            "routing-cycle", node, node.spec_pointer("backends", index, "virtualService", "virtualServiceName"),
            f"virtual node {node.name!r} {short}: {described}",
            "a request can loop through these services and multiply with every retry; remove the back edge "
            "or confirm that it cannot recurse",
        )


def _cycle_path(ctx: RuleContext, start: MeshKey, members: set[MeshKey]) -> list[str]:
    """Names along one shortest cycle from `start` back to itself, inside its component (BFS)."""
    mesh = start[0]
    parents: dict[MeshKey, tuple[MeshKey, list[str]]] = {}
    frontier = [start]
    while frontier:
        next_frontier: list[MeshKey] = []
        for current in frontier:
            for service, hops, target in ctx.graph.node_edges(current):
                key = (mesh, target)
                if key not in members or (key in parents and key != start):
                    continue
                steps = [service, *(h.name for h in hops)]
                if key == start:
                    return _unwind(parents, current, start) + steps + [start[1]]
                parents[key] = (current, steps)
                next_frontier.append(key)
        frontier = next_frontier
    return [start[1]]


def _unwind(parents: dict[MeshKey, tuple[MeshKey, list[str]]], end: MeshKey, start: MeshKey) -> list[str]:
    out: list[str] = [end[1]]
    current = end
    while current != start:
        prev, steps = parents[current]
        out = [prev[1], *steps, *out]
        current = prev
    return out
