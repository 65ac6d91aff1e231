"""The topology diagram: the mesh graph as Graphviz DOT, with check's findings drawn on it.

    virtual gateway [gateway route rows] -> virtual service -> virtual router [route rows: match]
        -(weight)-> virtual node -(backend call)-> virtual service -> ...

Everything comes from `MeshGraph` (references, routes by router and gateway, providers, cycles), so the
picture shows exactly the edges the rules judged. Coloured edges are connections on the wire (a gateway or a
node calling a service) and show their TLS state; grey edges are routing config. Findings: unreachable nodes
are greyed, edges of a reported cycle are red, a reference to nothing ends in a red dashed "missing" node.
Output is deterministic: resources are emitted sorted by name, routes in the graph's route order.

Layout, measured with `dot` 2.43 on the synthetic mesh (shared/bench/gen_mesh.py): ranked by call depth, left
to right, each virtual service boxed with its router and nodes, gateways first. One column per kind (rank=same)
made a 1:18 strip at 100 services; labelled edges double the ranks (68 s at 300 services, 7 minutes with
route labels on edges); route tables with a port per target and the per-service boxes lay out 300 services in
3.5 s (SVG; 7.5 s PNG), in readable columns.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from meshlint.compile import Artifact, ValidatedMesh
from meshlint.compile.dot_facts import (
    Findings,
    connection_state,
    dot_id,
    findings,
    label,
    text,
)
from meshlint.compile.dot_style import (
    FINDING_COLOUR,
    GRAPH_ATTR,
    KIND_STYLE,
    MISSING_STYLE,
    ROUTING_COLOUR,
    TLS_STYLE,
    UNREACHABLE_STYLE,
    Row,
    kind_word,
    legend,
    listener_summary,
    match_text,
    table_label,
    weight_text,
)
from meshlint.compile.dot_writer import Digraph, Statements, quote
from meshlint.compile.envoy.names import mesh_folder
from meshlint.diagnostics import Diagnostic
from meshlint.model.entities import MeshKey, Resource, Route, client_tls, gateway_client_tls
from meshlint.model.graph import MeshGraph, gateway_route_target, route_targets

Attrs = dict[str, str]


@dataclass
class _Drawing:
    """The nodes and edges of one mesh, in emission order."""

    graph: MeshGraph
    mesh: str
    findings: Findings
    share: dict[str, list[MeshKey]]  # this mesh's keys of each table (shares), sorted
    nodes: dict[str, Attrs] = field(default_factory=dict)
    units: dict[str, str] = field(default_factory=dict)  # node id -> the service id whose box it is drawn in
    missing: set[str] = field(default_factory=set)  # ids of nodes drawn for references to nothing
    unresolved: set[tuple[str, str]] = field(default_factory=set)  # (kind, name) the graph could not resolve
    edges: list[tuple[str, str, Attrs]] = field(default_factory=list)


def topology_dot(mesh: ValidatedMesh, diagnostics: Sequence[Diagnostic]) -> str:
    """One DOT document with a cluster per mesh (for `meshlint graph`)."""
    found, split = findings(mesh.graph, diagnostics), shares(mesh.graph)
    try:
        return _document(mesh.graph, found, split, mesh.model.mesh_names()).decode()
    finally:
        _forget()


def compile_topology(mesh: ValidatedMesh, diagnostics: Sequence[Diagnostic]) -> list[Artifact]:
    """`<mesh>/topology.dot` for each mesh (for `meshlint build`)."""
    found, split = findings(mesh.graph, diagnostics), shares(mesh.graph)
    try:
        return [Artifact(PurePosixPath(mesh_folder(name), "topology.dot"),
                         _document(mesh.graph, found, split, [name])) for name in mesh.model.mesh_names()]
    finally:
        _forget()


def _forget() -> None:
    """The DOT ids and quoted tokens remembered while drawing are for that drawing, not for the rest of the
    process: a large mesh's labels are tens of megabytes."""
    dot_id.cache_clear()
    quote.cache_clear()


def shares(graph: MeshGraph) -> dict[str, dict[str, list[MeshKey]]]:
    """mesh -> table -> its keys, sorted: found in one pass, so that drawing each of 10,000 meshes does not scan
    every resource of all of them (that was quadratic: 1,000 one-node meshes took 6.6 s)."""
    model = graph.model
    tables: dict[str, Iterable[MeshKey]] = {
        "gateways": model.gateways, "services": model.services, "routers": model.routers, "nodes": model.nodes,
        "routes_by_gateway": graph.routes_by_gateway, "routes_by_router": graph.routes_by_router}
    shares: dict[str, dict[str, list[MeshKey]]] = {}
    for table, keys in tables.items():
        for key in sorted(keys):
            shares.setdefault(key[0], {}).setdefault(table, []).append(key)
    return shares


def _document(graph: MeshGraph, found: Findings, split: dict[str, dict[str, list[MeshKey]]],
              meshes: Sequence[str]) -> bytes:
    dot = Digraph("meshlint", graph_attr=GRAPH_ATTR, node_attr=KIND_STYLE["default"], edge_attr=KIND_STYLE["edge"])
    legend(dot)
    unresolved: dict[str, set[tuple[str, str]]] = {}
    for ref in graph.references:
        if not ref.resolved:
            unresolved.setdefault(ref.mesh, set()).add((ref.kind, ref.name))
    for name in meshes:  # each drawing is let go once written: a 10,000-service mesh's is as large as its DOT
        _emit(dot, _draw(_Drawing(graph, name, found, split.get(name, {}), unresolved=unresolved.get(name, set()))))
    return dot.encoded()


def _emit(dot: Statements, drawing: _Drawing) -> None:
    declared = drawing.graph.model.declared("Mesh", drawing.mesh, drawing.mesh)
    with dot.subgraph(name=f"cluster_{dot_id('Mesh', drawing.mesh, '')}") as cluster:
        cluster.attr(label=text(f"mesh {drawing.mesh}" + ("" if declared else " (not defined)")),
                     fontcolor="#24292f" if declared else FINDING_COLOUR, fontsize="14", style="rounded",
                     color="#57606a" if declared else FINDING_COLOUR)
        members: dict[str, list[str]] = {}
        for node_id, unit in drawing.units.items():
            members.setdefault(unit, []).append(node_id)
        for unit, ids in members.items():
            with cluster.subgraph(name=f"cluster_{unit}") as box:
                box.attr(label="", style="rounded", color="#d0d7de", margin="4")
                for node_id in ids:
                    box.node(node_id, **drawing.nodes[node_id])
        for node_id, attrs in drawing.nodes.items():
            if node_id not in drawing.units:
                cluster.node(node_id, **attrs)
        for tail, head, attrs in drawing.edges:
            dangling = {"color": FINDING_COLOUR, "style": "dashed"} if head in drawing.missing else {}
            cluster.edge(tail, head, **{**attrs, **dangling})
        for tail, head in _entry_edges(drawing):
            cluster.edge(tail, head, style="invis")


def _entry_edges(drawing: _Drawing) -> Iterator[tuple[str, str]]:
    """Gateway -> every other node nothing points at, invisible: traffic enters on the left. (rank=min is
    ignored inside clusters.)"""
    gateways = [n for n in drawing.nodes if n.startswith("VirtualGateway/")]
    fed = {head for _, head, _ in drawing.edges}
    sources = [n for n in drawing.nodes if n not in fed and not n.startswith("VirtualGateway/")]
    for gateway in gateways:
        for source in sources:
            yield gateway, source


def _draw(drawing: _Drawing) -> _Drawing:
    model = drawing.graph.model
    for name, table in (("gateways", model.gateways), ("services", model.services), ("routers", model.routers),
                        ("nodes", model.nodes)):
        for key in drawing.share.get(name, ()):
            _resource_node(drawing, table[key])
    _units(drawing)
    _gateway_edges(drawing)
    _provider_edges(drawing)
    _route_edges(drawing)
    _backend_edges(drawing)
    return drawing


def _units(drawing: _Drawing) -> None:
    """Box each virtual service with its router and the nodes it delivers to (a node once, first service)."""
    graph = drawing.graph
    for (mesh, name) in drawing.share.get("services", ()):
        unit = dot_id("VirtualService", mesh, name)
        drawing.units[unit] = unit
        provider = graph.provider(mesh, name)
        if provider is not None:
            drawing.units.setdefault(dot_id(provider.kind, mesh, provider.name), unit)
        for _, node in graph.service_paths(mesh, name, positive=False):
            drawing.units.setdefault(dot_id("VirtualNode", mesh, node), unit)


def _resource_node(drawing: _Drawing, resource: Resource) -> None:
    node_id = dot_id(resource.kind, resource.mesh, resource.name)
    if resource.kind in ("VirtualRouter", "VirtualGateway"):
        header = [resource.name, *listener_summary(resource)]
        drawing.nodes[node_id] = _table_node(drawing, resource.kind, resource.name, header)
        return
    lines = [resource.name, *listener_summary(resource)]
    attrs = dict(KIND_STYLE[resource.kind])
    if (resource.mesh, resource.name) in drawing.findings.unreachable and resource.kind == "VirtualNode":
        lines.append("(unreachable)")
        attrs.update(UNREACHABLE_STYLE)
    attrs["label"] = label(lines)
    drawing.nodes[node_id] = attrs


def _table_node(drawing: _Drawing, kind: str, name: str, header: list[str], missing: bool = False) -> Attrs:
    """A router or gateway as a table: a header, then one row (and port) per route in route order."""
    key = (drawing.mesh, name)
    rows: list[Row]
    if kind == "VirtualRouter":
        rows = [(r.name, match_text(r.spec), _weights(r)) for r in drawing.graph.routes_by_router.get(key, [])]
    else:
        rows = [(r.name, match_text(r.spec), [""]) for r in drawing.graph.routes_by_gateway.get(key, [])]
    return {"shape": "plain", "label": table_label(kind, header, rows, missing=missing)}


def _weights(route: Route) -> list[str]:
    targets = route_targets(route)
    total = sum(t.weight for t in targets)
    return [weight_text(t.weight, total) for t in targets] or [""]


def _ref(drawing: _Drawing, kind: str, name: str) -> str:
    """The id of the drawn node for `kind` `name`; a red dashed "missing" node for an unresolved reference."""
    node_id = dot_id(kind, drawing.mesh, name)
    if node_id in drawing.nodes:
        return node_id
    declared = (kind, name) not in drawing.unresolved  # declared, but not in the model: invalid, check said why
    lines = [name, f"(invalid {kind_word(kind)})" if declared else f"missing {kind_word(kind)}"]
    if kind in ("VirtualRouter", "VirtualGateway"):
        attrs = _table_node(drawing, kind, name, lines, missing=not declared)
    else:
        attrs = {**(KIND_STYLE[kind] if declared else MISSING_STYLE), "label": label(lines)}
    drawing.nodes[node_id] = attrs
    if not declared:
        drawing.missing.add(node_id)
    return node_id


def _gateway_edges(drawing: _Drawing) -> None:
    graph = drawing.graph
    for (mesh, gateway_name) in drawing.share.get("routes_by_gateway", ()):
        groutes = graph.routes_by_gateway[(mesh, gateway_name)]
        tail = _ref(drawing, "VirtualGateway", gateway_name)
        gateway = graph.model.gateways.get((mesh, gateway_name))
        policy = gateway_client_tls(gateway)[0] if gateway is not None else None
        for index, groute in enumerate(groutes):
            found = gateway_route_target(groute)
            if found is None:
                continue
            service = found[0].virtual_service.virtual_service_name
            head = _ref(drawing, "VirtualService", service)
            state = connection_state(graph, mesh, service, policy)
            drawing.edges.append((f"{tail}:r{index}t0:e", head, {
                **TLS_STYLE[state], "tooltip": text(f"gateway route {groute.qualified_name}: {state}")}))


def _provider_edges(drawing: _Drawing) -> None:
    for (mesh, name) in drawing.share.get("services", ()):
        provider = drawing.graph.model.services[(mesh, name)].spec.provider
        if provider is None:
            continue
        tail = dot_id("VirtualService", mesh, name)
        if provider.virtual_node is not None:
            head = _ref(drawing, "VirtualNode", provider.virtual_node.virtual_node_name)
        elif provider.virtual_router is not None:
            head = _ref(drawing, "VirtualRouter", provider.virtual_router.virtual_router_name)
        else:
            continue
        drawing.edges.append((tail, head, _routing_style(drawing, (tail, head))))


def _route_edges(drawing: _Drawing) -> None:
    for (mesh, router) in drawing.share.get("routes_by_router", ()):
        routes = drawing.graph.routes_by_router[(mesh, router)]
        tail = _ref(drawing, "VirtualRouter", router)
        for index, route in enumerate(routes):
            for number, target in enumerate(route_targets(route)):
                head = _ref(drawing, "VirtualNode", target.node)
                attrs = _routing_style(drawing, (route.qualified_name, head))
                attrs["tooltip"] = text(f"route {route.qualified_name}")
                if target.weight <= 0:
                    attrs.update(color="#d0d7de", style="dashed")
                drawing.edges.append((f"{tail}:r{index}t{number}:e", head, attrs))


def _backend_edges(drawing: _Drawing) -> None:
    graph = drawing.graph
    for (mesh, name) in drawing.share.get("nodes", ()):
        node = graph.model.nodes[(mesh, name)]
        tail = dot_id("VirtualNode", mesh, name)
        for i, backend in enumerate(node.spec.backends or ()):
            if backend.virtual_service is None:
                continue
            service = backend.virtual_service.virtual_service_name
            head = _ref(drawing, "VirtualService", service)
            state = connection_state(graph, mesh, service, client_tls(node, i)[0])
            attrs = {**TLS_STYLE[state], "tooltip": text(f"{name} calls {service}: {state}")}
            if (tail, head) in drawing.findings.red:
                attrs.update(color=FINDING_COLOUR, penwidth="2.4", tooltip=attrs["tooltip"] + ", routing cycle")
            drawing.edges.append((tail, head, attrs))


def _routing_style(drawing: _Drawing, key: tuple[str, str]) -> Attrs:
    if key in drawing.findings.red:
        return {"color": FINDING_COLOUR, "penwidth": "2.4"}
    return {"color": ROUTING_COLOUR}
