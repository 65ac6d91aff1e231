"""The collapsed topology (`meshlint graph --collapse`): one box per virtual service, for meshes too large
for the full diagram (render.py's bounds).

A service's routers and nodes fold into it: an edge A -> B means a node A delivers to calls B, drawn in the
weakest TLS state of those calls; a gateway points at the services its routes target. A node no service
delivers to keeps a box of its own, so no call is lost. Measured with dot 2.43: the 1,000-service synthetic
mesh (the full diagram: 11,000 edges, minutes) collapses to about 3,000 edges.
"""

from __future__ import annotations

from collections.abc import Sequence

from meshlint.compile import ValidatedMesh
from meshlint.compile.dot import shares
from meshlint.compile.dot_facts import TLS_STATES, connection_state, dot_id, label, text
from meshlint.compile.dot_style import GRAPH_ATTR, KIND_STYLE, MISSING_STYLE, TLS_STYLE, TLS_WORDS, legend
from meshlint.compile.dot_writer import Digraph, Statements
from meshlint.diagnostics import Diagnostic
from meshlint.model.entities import MeshKey, client_tls, gateway_client_tls
from meshlint.model.graph import MeshGraph, gateway_route_target

Edges = dict[tuple[str, str], str]  # (tail id, head id) -> weakest TLS state


def collapsed_dot(mesh: ValidatedMesh, diagnostics: Sequence[Diagnostic]) -> str:
    """One DOT document, a cluster per mesh, a box per virtual service, gateway and serviceless node."""
    del diagnostics  # the overlays draw routes and nodes, which this view leaves out
    dot = Digraph("meshlint", graph_attr=GRAPH_ATTR, node_attr=KIND_STYLE["default"], edge_attr=KIND_STYLE["edge"])
    legend(dot)
    graph, split = mesh.graph, shares(mesh.graph)
    for name in mesh.model.mesh_names():
        with dot.subgraph(name=f"cluster_{dot_id('Mesh', name, '')}") as cluster:
            cluster.attr(label=text(f"mesh {name} (one box per service)"), style="rounded", color="#57606a")
            _draw(cluster, graph, split.get(name, {}))
    return dot.source


def _draw(cluster: Statements, graph: MeshGraph, share: dict[str, list[MeshKey]]) -> None:
    edges: Edges = {}
    for (m, name) in share.get("gateways", ()):
        cluster.node(dot_id("VirtualGateway", m, name), label=label([name]), shape="box", style="filled",
                     fillcolor="#f5e8ff")
    for (m, name) in share.get("services", ()):
        cluster.node(dot_id("VirtualService", m, name), label=label([name]), **KIND_STYLE["VirtualService"])
    _call_edges(cluster, graph, share.get("nodes", []), edges)
    _gateway_edges(graph, share.get("routes_by_gateway", []), edges)
    for head in sorted({head for _, head in edges} - {dot_id("VirtualService", *k) for k in graph.model.services}):
        name = head.split("/", 2)[2]  # a reference to nothing: check reported it
        cluster.node(head, label=label([name, "missing virtual service"]), **MISSING_STYLE)
    for (tail, head), state in sorted(edges.items()):
        cluster.edge(tail, head, tooltip=text(TLS_WORDS[state]), **TLS_STYLE[state])


def _call_edges(cluster: Statements, graph: MeshGraph, keys: list[MeshKey], edges: Edges) -> None:
    for (m, name) in keys:
        node = graph.model.nodes[(m, name)]
        owners = [dot_id("VirtualService", m, vs.name) for vs in graph.services_of_node.get((m, name), ())]
        if not owners:  # nothing delivers to it: its calls still show, from its own box
            owners = [dot_id("VirtualNode", m, name)]
            cluster.node(owners[0], label=label([name]), **KIND_STYLE["VirtualNode"])
        for index, backend in enumerate(node.spec.backends or ()):
            if backend.virtual_service is None:
                continue
            service = backend.virtual_service.virtual_service_name
            state = connection_state(graph, m, service, client_tls(node, index)[0])
            for owner in owners:
                _add(edges, (owner, dot_id("VirtualService", m, service)), state)


def _gateway_edges(graph: MeshGraph, keys: list[MeshKey], edges: Edges) -> None:
    for (m, gateway_name) in keys:
        groutes = graph.routes_by_gateway[(m, gateway_name)]
        gateway = graph.model.gateways.get((m, gateway_name))
        if gateway is None:
            continue
        policy = gateway_client_tls(gateway)[0]
        for groute in groutes:
            found = gateway_route_target(groute)
            if found is not None:
                service = found[0].virtual_service.virtual_service_name
                _add(edges, (dot_id("VirtualGateway", m, gateway_name), dot_id("VirtualService", m, service)),
                     connection_state(graph, m, service, policy))


def _add(edges: Edges, key: tuple[str, str], state: str) -> None:
    known = edges.get(key)
    edges[key] = state if known is None else min(known, state, key=TLS_STATES.index)
