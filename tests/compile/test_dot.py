"""The topology diagram: DOT structure (kinds, routes, TLS styles, finding overlays), golden DOT, determinism,
the rendered SVG, and the synthetic mesh at 10 and 300 services.

`parse_dot` reads the DOT back (nodes, edges, clusters), so assertions are about the graph, not its layout text.
"""

from __future__ import annotations

import os
import random
import re
import shutil
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from meshlint import api
from meshlint.compile import ValidatedMesh
from meshlint.compile.dot import compile_topology, topology_dot
from meshlint.compile.dot_style import FINDING_COLOUR, TLS_STYLE
from meshlint.config import Settings
from meshlint.emit import render
from tests.helpers import FIXTURES, UPDATE
from tests.support.shared import GEN_MESH

CASE = FIXTURES / "topology" / "shop"
SVG = "{http://www.w3.org/2000/svg}"


# ---- a small DOT reader -----------------------------------------------------------------------------------
@dataclass
class Dot:
    nodes: dict[str, dict[str, str]] = field(default_factory=dict)
    edges: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)  # tail may carry ":port:e"
    clusters: dict[str, dict[str, str]] = field(default_factory=dict)
    parents: dict[str, list[str]] = field(default_factory=dict)  # node id -> enclosing cluster names

    def edge(self, tail: str, head: str) -> dict[str, str]:
        found = [a for t, h, a in self.edges if t.split(":")[0] == tail and h == head]
        assert len(found) == 1, f"{len(found)} edges {tail} -> {head}"
        return found[0]


_TOKEN = re.compile(r'\s*(?:(->)|"((?:[^"\\]|\\.)*)"|([\[\]{}=;:,])|([A-Za-z0-9_.]+)|(<))', re.S)


def _tokens(source: str) -> list[str]:
    out, pos = [], 0
    while pos < len(source.rstrip()):
        m = _TOKEN.match(source, pos)
        assert m, f"cannot read DOT at {source[pos:pos + 40]!r}"
        if m.group(5):  # an HTML string: up to the matching '>'
            depth, end = 0, m.start(5)
            while True:
                depth += {"<": 1, ">": -1}.get(source[end], 0)
                end += 1
                if depth == 0:
                    break
            out.append(source[m.start(5):end])
            pos = end
            continue
        text = m.group(2) if m.group(2) is not None else next(g for g in m.groups() if g is not None)
        out.append(text.replace('\\"', '"') if m.group(2) is not None else text)
        pos = m.end()
    return out


def parse_dot(source: str) -> Dot:
    dot, stack, tokens, i = Dot(), [], _tokens(source), 2  # skip "digraph name"
    while i < len(tokens):
        tok = tokens[i]
        if tok == "subgraph":
            stack.append(tokens[i + 1])
            dot.clusters.setdefault(tokens[i + 1], {})
            i += 3
        elif tok == "{":
            stack.append("")
            i += 1
        elif tok == "}":
            if stack:
                stack.pop()
            i += 1
        elif tok in ("graph", "node", "edge"):
            i = _attrs(tokens, i + 1, {})
        elif tokens[i + 1] == "=":
            if stack and stack[-1]:
                dot.clusters[stack[-1]][tok] = tokens[i + 2]
            i += 3
        else:
            i = _statement(dot, tokens, i, [s for s in stack if s])
    return dot


def _statement(dot: Dot, tokens: list[str], i: int, clusters: list[str]) -> int:
    ends = [tokens[i]]
    i += 1
    while tokens[i] in (":", "->"):
        if tokens[i] == ":":
            ends[-1] += ":" + tokens[i + 1]
        else:
            ends.append(tokens[i + 1])
        i += 2
    attrs: dict[str, str] = {}
    i = _attrs(tokens, i, attrs)
    if len(ends) == 1:
        dot.nodes[ends[0]] = attrs
        dot.parents[ends[0]] = clusters
    else:
        dot.edges.append((ends[0], ends[1], attrs))
    return i


def _attrs(tokens: list[str], i: int, into: dict[str, str]) -> int:
    if i < len(tokens) and tokens[i] == "[":
        i += 1
        while tokens[i] != "]":
            into[tokens[i]] = tokens[i + 2]
            i += 3 + (tokens[i + 3] in (",", ";"))
        i += 1
    return i


# ---- helpers ----------------------------------------------------------------------------------------------
def draw(paths: list[Path], settings: Settings | None = None) -> str:
    result = api.check([str(p) for p in paths], settings)
    return topology_dot(ValidatedMesh(result.model, result.graph), result.diagnostics)


def write_mesh(folder: Path, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "mesh.yaml").write_text(text)
    return folder


def need_dot() -> str:
    """Graphviz's dot; CI installs it (scripts/bootstrap.sh), so there its absence fails instead of skipping."""
    found = shutil.which("dot")
    if found is None:
        message = "Graphviz's dot is not installed (apt-get install graphviz)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return found


def svg_titles(svg: bytes, kind: str) -> set[str]:
    root = ET.fromstring(svg)
    return {g.findtext(f"{SVG}title") or "" for g in root.iter(f"{SVG}g") if g.get("class") == kind}


@pytest.fixture(scope="module")
def shop() -> Dot:
    return parse_dot(draw([CASE / "input"]))


def vn(name: str, mesh: str = "shop") -> str:
    return f"VirtualNode/{mesh}/{name}"


def vs(name: str, mesh: str = "shop") -> str:
    return f"VirtualService/{mesh}/{name}"


ROUTER = "VirtualRouter/shop/orders-router"
GATEWAY = "VirtualGateway/shop/ingress"


# ---- structure --------------------------------------------------------------------------------------------
def test_one_cluster_per_mesh_and_a_box_per_service(shop: Dot) -> None:
    assert shop.clusters["cluster_Mesh/shop/"]["label"] == "mesh shop"
    assert shop.clusters["cluster_Mesh/lab/"]["label"] == "mesh lab"
    assert shop.parents["VirtualNode/lab/hello-v1"] == ["cluster_Mesh/lab/", "cluster_VirtualService/lab/hello.lab.local"]
    unit = ["cluster_Mesh/shop/", "cluster_VirtualService/shop/orders.shop.local"]
    assert {n for n, p in shop.parents.items() if p == unit} == {
        vs("orders.shop.local"), ROUTER, vn("orders-v1"), vn("orders-v2"), vn("orders-v3")}
    assert shop.parents[GATEWAY] == ["cluster_Mesh/shop/"]
    assert "legend" in shop.nodes and shop.parents["legend"] == []


def test_kinds_are_drawn_by_shape_and_label(shop: Dot) -> None:
    assert shop.nodes[vs("web.shop.local")]["label"] == "web.shop.local"
    assert shop.nodes[vs("web.shop.local")]["style"] == "rounded,filled"
    assert shop.nodes[vn("web")]["label"] == "web\\n:8080 http mTLS"
    assert shop.nodes[vn("catalog")]["label"] == "catalog\\n:8080 http permissive"
    assert shop.nodes[vn("legacy")]["label"] == "legacy\\n:80 http plaintext"
    assert shop.nodes[vn("payments")]["label"] == "payments\\n:8443 http TLS"
    assert shop.nodes[ROUTER]["shape"] == shop.nodes[GATEWAY]["shape"] == "plain"


def test_routes_are_rows_labelled_with_match_and_weight(shop: Dot) -> None:
    label = shop.nodes[ROUTER]["label"]
    assert "orders-router<BR/>:8080 http" in label
    for row in ('canary<BR ALIGN="LEFT"/><FONT COLOR="#57606a">/* x-canary=true</FONT>',
                'default<BR ALIGN="LEFT"/><FONT COLOR="#57606a">/*</FONT>'):
        assert row in label
    # one cell (and port) per target, in route order: canary -> v2; default -> v1, v2, v3
    assert re.findall(r'<TD PORT="(r\d+t\d+)">([^<]*)</TD>', label) == [
        ("r0t0", "100%"), ("r1t0", "90%"), ("r1t1", "10%"), ("r1t2", "0%")]
    targets = {t.split(":")[1]: h for t, h, _ in shop.edges if t.startswith(ROUTER + ":")}
    assert targets == {"r0t0": vn("orders-v2"), "r1t0": vn("orders-v1"), "r1t1": vn("orders-v2"),
                       "r1t2": vn("orders-v3")}
    assert shop.edge(ROUTER, vn("orders-v3"))["style"] == "dashed"  # weight 0
    gateway = shop.nodes[GATEWAY]["label"]
    assert 'PORT="r0t0"' in gateway and "host admin.example.com /admin/*" in gateway
    assert "ingress<BR/>:443 http TLS" in gateway
    assert shop.nodes["VirtualRouter/lab/hello-router"]["label"].count("grpc hello.Greeter/SayHello") == 1


def test_each_connection_shows_its_tls_state(shop: Dot) -> None:
    def style(tail: str, head: str) -> dict[str, str]:
        attrs = shop.edge(tail, head)
        return {k: attrs[k] for k in ("color", "style", "penwidth")}

    assert style(vn("web"), vs("orders.shop.local")) == TLS_STYLE["mtls"]
    assert style(vn("batch"), vs("payments.shop.local")) == TLS_STYLE["tls"]  # payments does not validate
    assert style(vn("web"), vs("catalog.shop.local")) == TLS_STYLE["permissive"]
    assert style(vn("web"), vs("legacy.shop.local")) == TLS_STYLE["plaintext"]  # enforce: false
    assert style(GATEWAY, vs("web.shop.local")) == TLS_STYLE["mtls"]
    assert shop.edge(vs("web.shop.local"), vn("web")) == {"color": "#8c959f"}  # routing config, not a connection
    assert len({tuple(sorted(s.items())) for s in TLS_STYLE.values()}) == 5


BROKEN = """meshName: shop
spec: {}
---
meshName: shop
virtualServiceName: orders.shop.local
spec: {provider: {virtualNode: {virtualNodeName: orders}}}
---
meshName: shop
virtualNodeName: orders
spec:
  listeners: [{portMapping: {port: 8080, protocol: http}%s}]
  serviceDiscovery: {dns: {hostname: orders.shop.local}}
---
meshName: shop
virtualNodeName: web
spec:
  serviceDiscovery: {dns: {hostname: web.shop.local}}
  backends: [{virtualService: {virtualServiceName: orders.shop.local}}]
%s"""
ENFORCED = "  backendDefaults: {clientPolicy: {tls: {validation: {trust: {file: {certificateChain: /c/ca.pem}}}}}}\n"
MTLS = (", tls: {mode: STRICT, certificate: {file: {certificateChain: /c/o.pem, privateKey: /c/o.key}}, "
        "validation: {trust: {file: {certificateChain: /c/ca.pem}}}}")


@pytest.mark.parametrize(("listener", "client"), [("", ENFORCED), (MTLS, ""), (MTLS, ENFORCED)],
                         ids=["enforced-towards-plaintext", "no-policy-towards-mtls", "policy-without-certificate"])
def test_a_failing_handshake_is_drawn_broken_not_plaintext(tmp_path: Path, listener: str, client: str) -> None:
    (tmp_path / "mesh.yaml").write_text(BROKEN % (listener, client))
    edges = {(t.split(":")[0], h): a for t, h, a in parse_dot(draw([tmp_path])).edges}
    attrs = edges[(vn("web", "shop"), vs("orders.shop.local", "shop"))]
    assert {k: attrs[k] for k in TLS_STYLE["broken"]} == TLS_STYLE["broken"]


def test_unreachable_nodes_are_greyed(shop: Dot) -> None:
    for name in ("orders-v3", "batch"):
        node = shop.nodes[vn(name)]
        assert node["fillcolor"] == "#eaeef2" and node["style"] == "filled,dashed"
        assert node["label"].endswith("\\n(unreachable)")
    assert "unreachable" not in shop.nodes[vn("orders-v1")]["label"]


def test_cycle_edges_are_red(shop: Dot) -> None:
    red = {(t.split(":")[0], h) for t, h, a in shop.edges if a.get("color") == FINDING_COLOUR and a.get("style") != "dashed"}
    assert red == {
        (vn("orders-v1"), vs("payments.shop.local")), (vn("orders-v2"), vs("payments.shop.local")),
        (vs("payments.shop.local"), vn("payments")), (vn("payments"), vs("orders.shop.local")),
        (vs("orders.shop.local"), ROUTER), (ROUTER, vn("orders-v1")), (ROUTER, vn("orders-v2")),
    }
    assert shop.edge(vn("payments"), vs("orders.shop.local"))["tooltip"].endswith("routing cycle")


def test_dangling_references_end_in_missing_nodes(shop: Dot) -> None:
    for name in ("admin.shop.local", "search.shop.local"):
        node = shop.nodes[vs(name)]
        assert node["label"] == f"{name}\\nmissing virtual service"
        assert (node["color"], node["style"]) == (FINDING_COLOUR, "dashed,rounded")
    for tail, head in ((GATEWAY, vs("admin.shop.local")), (vn("web"), vs("search.shop.local"))):
        edge = shop.edge(tail, head)
        assert (edge["color"], edge["style"]) == (FINDING_COLOUR, "dashed")


def test_findings_switched_off_are_not_drawn() -> None:
    dot = parse_dot(draw([CASE / "input"], Settings(ignore=frozenset({"routing-cycle", "unreachable-node"}))))
    assert not any(a.get("color") == FINDING_COLOUR and a.get("style") != "dashed" for _, _, a in dot.edges)
    assert "unreachable" not in dot.nodes[vn("batch")]["label"]
    assert dot.nodes[vs("search.shop.local")]["color"] == FINDING_COLOUR  # a missing node is still missing


def test_missing_router_mesh_and_invalid_resources(tmp_path: Path) -> None:
    folder = write_mesh(tmp_path, """\
meshName: ghost
virtualRouterName: nowhere
routeName: r
spec:
  tcpRoute:
    action: {weightedTargets: [{virtualNode: n, weight: 100}]}
---
meshName: ghost
virtualNodeName: n
spec: {listeners: [{portMapping: {port: 9000, protocol: tcp}}], backends: [{virtualService: {virtualServiceName: s}}]}
---
meshName: ghost
virtualServiceName: s
spec: {provider: {virtualNode: {virtualNodeName: n}}, bogus: 1}
""")
    dot = parse_dot(draw([folder]))
    assert dot.clusters["cluster_Mesh/ghost/"]["label"] == "mesh ghost (not defined)"
    router = dot.nodes["VirtualRouter/ghost/nowhere"]["label"]
    assert "missing virtual router" in router and "tcp" in router and 'PORT="r0t0"' in router
    assert dot.edge("VirtualRouter/ghost/nowhere", "VirtualNode/ghost/n")["color"] == "#8c959f"
    # s breaks the schema, so it is not in the model; it is declared, so drawn as invalid, not missing
    assert dot.nodes["VirtualService/ghost/s"]["label"] == "s\\n(invalid virtual service)"


def test_names_dot_would_misread_are_escaped(tmp_path: Path) -> None:
    folder = write_mesh(tmp_path, r"""meshName: 'm:1'
spec: {}
---
meshName: 'm:1'
virtualServiceName: 'a"b<c>\d'
spec: {provider: {virtualRouter: {virtualRouterName: 'r:1'}}}
---
meshName: 'm:1'
virtualRouterName: 'r:1'
spec: {listeners: [{portMapping: {port: 80, protocol: http}}]}
---
meshName: 'm:1'
virtualRouterName: 'r:1'
routeName: '<b>x</b>'
spec:
  httpRoute:
    match: {path: {regex: '^/a\d+"$'}}
    action: {weightedTargets: [{virtualNode: 'n\', weight: 100}]}
---
meshName: 'm:1'
virtualNodeName: 'n\'
spec: {backends: [{virtualService: {virtualServiceName: 'a"b<c>\d'}}]}
""")
    source = draw([folder])
    dot = parse_dot(source)
    assert dot.edge("VirtualRouter/m%3A1/r%3A1", "VirtualNode/m%3A1/n%5C")
    assert dot.nodes["VirtualService/m%3A1/a%22b<c>%5Cd"]["label"] == 'a"b<c>\\\\d'
    assert "&lt;b&gt;x&lt;/b&gt;" in dot.nodes["VirtualRouter/m%3A1/r%3A1"]["label"]
    assert "~/^/a&#92;d+&quot;$/" in dot.nodes["VirtualRouter/m%3A1/r%3A1"]["label"]
    need_dot()
    svg = render.render_svg(source)
    assert svg is not None
    assert {"VirtualNode/m%3A1/n%5C", "VirtualRouter/m%3A1/r%3A1"} <= svg_titles(svg, "node")


HOSTILE_NAMES = r"""meshName: "m\0"
spec: {}
---
meshName: "m\0"
virtualNodeName: "we\0b\x01\e[31m\x7f\x85&amp;&bogus;<x>\"q\\"
spec:
  listeners: [{portMapping: {port: 8080, protocol: http}}]
  backends: [{virtualService: {virtualServiceName: "svc\x02.local&x;"}}]
---
meshName: "m\0"
virtualServiceName: "svc\x02.local&x;"
spec: {provider: {virtualRouter: {virtualRouterName: "r\x03&y;"}}}
---
meshName: "m\0"
virtualRouterName: "r\x03&y;"
spec: {listeners: [{portMapping: {port: 8080, protocol: http}}]}
"""
HOSTILE_ROUTE = r"""{"meshName": "m\u0000", "virtualRouterName": "r\u0003&y;", "routeName": "rt\u0004\ud800&z;",
 "spec": {"httpRoute": {"match": {"prefix": "/a\u0005&w;<"}, "action": {"weightedTargets": [
   {"virtualNode": "we\u0000b\u0001\u001b[31m\u007f\u0085&amp;&bogus;<x>\"q\\", "weight": 1}]}}}}
"""  # JSON: YAML has no lone surrogates


def test_control_characters_and_entities_in_names_give_dot_and_svg_that_parse(tmp_path: Path) -> None:
    """NUL made `dot` reject the file, other control characters made the SVG ill-formed XML, '&bogus;' was
    copied into the SVG as an undefined entity, and a lone surrogate could not be encoded at all."""
    (write_mesh(tmp_path, HOSTILE_NAMES) / "route.json").write_text(HOSTILE_ROUTE)
    source = draw([tmp_path])
    source.encode()  # no lone surrogate left
    assert not re.search("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]", source)
    node = "VirtualNode/m%00/we%00b%01%1B[31m%7F%C2%85%26amp;%26bogus;<x>%22q%5C"
    dot = parse_dot(source)
    assert dot.nodes[node]["label"].startswith("we\\\\x00b\\\\x01\\\\x1b[31m\\\\x7f\\\\x85&amp;amp;&amp;bogus;")
    router = dot.nodes["VirtualRouter/m%00/r%03%26y;"]["label"].replace("&#92;", "\\")
    assert "rt\\x04\\ud800&amp;z;" in router and "/a\\x05&amp;w;&lt;*" in router
    for artifact in compile_topology(*_validated([tmp_path])):
        artifact.content.decode()
    need_dot()
    svg = render.render_svg(source)  # the real dot accepts it
    assert svg is not None
    root = ET.fromstring(svg)  # and the SVG is well-formed XML
    assert node in svg_titles(svg, "node")
    texts = {t.text for t in root.iter(f"{SVG}text")}
    assert 'we\\x00b\\x01\\x1b[31m\\x7f\\x85&amp;&bogus;<x>"q\\ ' in texts  # what the name says, visibly
    assert "svc\\x02.local&x;" in texts


def _validated(paths: list[Path]) -> tuple[ValidatedMesh, list[Any]]:
    result = api.check([str(p) for p in paths])
    return ValidatedMesh(result.model, result.graph), result.diagnostics


# ---- golden, determinism, per-mesh artifacts --------------------------------------------------------------
def test_golden_dot() -> None:
    produced = draw([CASE / "input"])
    expected = CASE / "expected.dot"
    if UPDATE:
        expected.write_text(produced)
    assert expected.exists(), f"missing {expected} (run with MESHLINT_UPDATE_GOLDEN=1)"
    assert produced == expected.read_text(), f"{expected} differs (MESHLINT_UPDATE_GOLDEN=1 rewrites it)"


AWKWARD = ["plain", "two words", "node", "Graph", "-4.2", ".42", "4.", "1e5", "", 'say "hi"', 'a \\"b\\" c',
           "back\\\\slash", "<<B>html</B>>", "<not closed", "ünïcödé", "x/y:z", "_under", "9lives"]


def test_the_dot_writer_writes_what_the_graphviz_package_writes() -> None:
    """The diagrams stay byte for byte what they were when the graphviz package wrote them."""
    import graphviz

    from meshlint.compile.dot_writer import Digraph, NoHtml

    attrs = {"rankdir": "LR", "label": "top level", "fontname": "Helvetica Neue"}
    ours = Digraph("meshlint", graph_attr=attrs, node_attr={"shape": "box"}, edge_attr={"arrowsize": "0.7"})
    theirs = graphviz.Digraph("meshlint", graph_attr=attrs, node_attr={"shape": "box"}, edge_attr={"arrowsize": "0.7"})
    for dot, plain in ((ours, NoHtml), (theirs, graphviz.nohtml)):
        for i, name in enumerate(AWKWARD):
            dot.node(name, label=AWKWARD[-i], tooltip=name, color="#57606a", z_last=str(i))
            dot.node(f"{name}-plain", label=plain(f"<{name}>"))
            dot.edge(f"{name}:r{i}t0:e", AWKWARD[i - 1], style=name, label=None if i % 2 else name)
        with dot.subgraph(name="cluster_outer") as outer:
            outer.attr(label="outer box", style="rounded")
            with outer.subgraph(name="cluster inner") as inner:
                inner.attr(color="#d0d7de", margin="4")
                inner.node("deep node", shape="plain")
                inner.edge("deep node", "node", style="invis")
            outer.node("strict")
    assert ours.source == theirs.source


def test_same_input_same_bytes_whatever_the_document_order(tmp_path: Path) -> None:
    documents = []
    for path in sorted((CASE / "input").glob("*.yaml")):
        documents += [d for d in path.read_text().split("\n---\n") if d.strip()]
    first = draw([CASE / "input"])
    assert draw([CASE / "input"]) == first
    for seed in range(3):
        random.Random(seed).shuffle(documents)
        folder = tmp_path / f"shuffled-{seed}"
        folder.mkdir()
        for index in range(3):  # spread over three files, in shuffled order
            (folder / f"part-{index}.yaml").write_text("\n---\n".join(documents[index::3]) + "\n")
        assert draw([folder]) == first


def test_compile_topology_writes_one_dot_per_mesh(tmp_path: Path) -> None:
    result = api.check([str(CASE / "input")])
    artifacts = compile_topology(ValidatedMesh(result.model, result.graph), result.diagnostics)
    assert [a.path.as_posix() for a in artifacts] == ["lab/topology.dot", "shop/topology.dot"]
    lab = parse_dot(artifacts[0].content.decode())
    assert set(lab.clusters) == {"cluster_Mesh/lab/", "cluster_VirtualService/lab/hello.lab.local"}
    assert "legend" in lab.nodes and not any(n.startswith(("VirtualNode/shop/", "VirtualService/shop/"))
                                             for n in lab.nodes)
    odd = write_mesh(tmp_path, "meshName: 'a/../b c'\nspec: {}\n")
    result = api.check([str(odd)])
    [artifact] = compile_topology(ValidatedMesh(result.model, result.graph), result.diagnostics)
    assert artifact.path.as_posix() == "a%2F..%2Fb%20c/topology.dot"


# ---- rendering --------------------------------------------------------------------------------------------
def test_rendered_svg_has_every_node_and_no_version_comment() -> None:
    need_dot()
    source = draw([CASE / "input"])
    svg = render.render_svg(source)
    assert svg is not None and svg == render.render_svg(source)
    assert b"Generated by graphviz version" not in svg
    assert svg_titles(svg, "node") == set(parse_dot(source).nodes)
    assert svg_titles(svg, "cluster") >= {"cluster_Mesh/shop/", "cluster_Mesh/lab/"}
    assert f"{vn('web')}&#45;&gt;{vs('orders.shop.local')}" in svg.decode()
    png = render.render(source, "png")
    assert png is not None and png.startswith(b"\x89PNG\r\n\x1a\n")


def test_render_without_dot_returns_none(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    assert render.dot_binary() is None
    assert render.render_svg("digraph {}") is None
    assert render.render("digraph {}", "png") is None
    with pytest.raises(ValueError, match="cannot render 'pdf'"):
        render.render("digraph {}", "pdf")


def test_render_failures_are_render_errors(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    need_dot()
    with pytest.raises(render.RenderError, match="failed"):
        render.render_svg("digraph { -> }")
    slow = tmp_path / "dot"
    slow.write_text(f"#!/bin/sh\nexec {shutil.which('sleep')} 5\n")
    slow.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(render.RenderError, match=r"did not finish within 0\.2 s"):
        render.render_svg("digraph {}", timeout=0.2)


def test_write_file_replaces_in_one_step(tmp_path: Path) -> None:
    target = tmp_path / "out.svg"
    target.write_bytes(b"old")
    render.write_file(target, b"new")
    assert target.read_bytes() == b"new"
    assert [p.name for p in tmp_path.iterdir()] == ["out.svg"]


@pytest.mark.parametrize("services", [10, 300])
def test_synthetic_mesh_renders(services: int, tmp_path: Path, record_property: Callable[[str, object], None]) -> None:
    """Rendering stays quick at 300 services (a time is reported, not asserted): look at the PNGs this writes
    to /tmp when changing the layout."""
    need_dot()
    folder = tmp_path / "mesh"
    subprocess.run([sys.executable, str(GEN_MESH), "--n", str(services), "--format", "cli-yaml", "--out",
                    str(folder)], check=True, capture_output=True)
    source = draw([folder])
    started = time.perf_counter()
    svg = render.render_svg(source)
    seconds = time.perf_counter() - started
    record_property("render_seconds", round(seconds, 2))
    print(f"\n{services} services: dot -Tsvg took {seconds:.1f} s")
    assert svg is not None
    titles = svg_titles(svg, "node")
    assert {f"VirtualService/demo-mesh/svc-{i:05d}.apps.local" for i in range(services)} <= titles
    assert "VirtualGateway/demo-mesh/ingress-gw" in titles
