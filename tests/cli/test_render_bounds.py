"""Graphviz within bounds: a diagram too large to lay out in seconds is refused before `dot` runs (with what
to do instead), `graph --collapse` draws one box per service, and a build draws each mesh in a `dot` run of
its own (the same bytes every time) and stops drawing when its time budget is spent (the DOT files are always
written).

A fake `dot` on PATH records each run (and passes it on to the real one, fails, or sleeps).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from meshlint import api
from meshlint.config import Settings
from meshlint.emit import render
from tests.compile.test_dot import SVG, need_dot, svg_titles
from tests.support.shared import GEN_MESH

TINY = ("meshName: m{i:04d}\nspec: {{}}\n---\nmeshName: m{i:04d}\nvirtualNodeName: web\n"
        "tags: [{{key: 'meshlint:entry-point', value: 'true'}}]\n"
        "spec:\n  listeners: [{{portMapping: {{port: 8080, protocol: tcp}}}}]\n"
        "  serviceDiscovery: {{dns: {{hostname: web.local}}}}\n---\n")


NO_TLS = Settings(ignore=frozenset({"missing-tls"}))


def fake_dot(folder: Path, then: str) -> Path:
    """A `dot` that appends a line to folder/runs per run, then runs `then` (shell)."""
    folder.mkdir(parents=True, exist_ok=True)
    script = folder / "dot"
    script.write_text(f"#!/bin/sh\necho run >> {folder / 'runs'}\n{then}\n")
    script.chmod(0o755)
    return folder


def runs(folder: Path) -> int:
    return len((folder / "runs").read_text().splitlines()) if (folder / "runs").exists() else 0


def synthetic(edges: int, boxes: int = 0) -> str:
    lines = [f'\tsubgraph "cluster_b{i}" {{\n\t\t"n{i}"\n\t}}' for i in range(boxes)]
    lines += [f'\t"a{i}" -> "b{i}" [label="x -> y"]' for i in range(edges)]
    return "digraph meshlint {\n" + "\n".join(lines) + "\n}\n"


def test_size_counts_edge_statements_not_arrows_in_names() -> None:
    assert render.size(synthetic(3, 2)) == (3, 2)
    assert render.size('digraph {\n\t"a -> b" [label="c -> d"]\n\t"VirtualRouter/m/r":r0t0:e -> "x"\n}\n') == (1, 0)
    tricky = 'digraph {\n\t"ü/ß\\" -> b" [label="c -> d"]\n\tsubgraph "cluster_ö" {\n\t"é":r0:e -> "x"\n}\n'
    assert render.size(tricky.encode()) == render.size(tricky) == (1, 1)  # as written to disk: the same count


@pytest.mark.parametrize(("edges", "boxes"), [(render.MAX_EDGES + 1, 0), (10, render.MAX_BOXES + 1)])
def test_a_diagram_beyond_the_bounds_is_refused_before_dot_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                               edges: int, boxes: int) -> None:
    bin_dir = fake_dot(tmp_path / "bin", "sleep 600")
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    started = time.monotonic()
    with pytest.raises(render.RenderError, match=r"not drawn: .* edges and .* boxes; Graphviz lays out about "
                                                 r"5,000 edges and 600 boxes in seconds.*--collapse"):
        render.render(synthetic(edges, boxes), "svg")
    drawn = render.render_svgs([synthetic(edges, boxes).encode(), synthetic(1).encode()], budget=0.5)
    assert drawn is not None and str(drawn[0]).startswith("not drawn: ") and drawn[1] == render.BUDGET_SPENT
    assert time.monotonic() - started < 10
    assert runs(bin_dir) == 1  # the small one only, stopped by the budget


def test_graph_refuses_a_mesh_too_large_and_draws_it_collapsed(tmp_path: Path) -> None:
    mesh = tmp_path / "mesh"
    subprocess.run([sys.executable, str(GEN_MESH), "--n", "500", "--format", "cli-yaml", "--out", str(mesh)],
                   check=True, capture_output=True)
    bin_dir = fake_dot(tmp_path / "bin", "exit 3")
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    proc = subprocess.run([sys.executable, "-m", "meshlint", "graph", "mesh", "-o", "big.svg"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 2
    assert "big.svg: not drawn: 5,398 edges and 501 boxes; Graphviz lays out about 5,000 edges" in proc.stderr
    assert "meshlint graph --collapse" in proc.stderr and runs(bin_dir) == 0
    assert not (tmp_path / "big.svg").exists()
    need_dot()
    proc = subprocess.run([sys.executable, "-m", "meshlint", "graph", "mesh", "-o", "small.svg", "--collapse"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    svg = (tmp_path / "small.svg").read_bytes()
    titles = svg_titles(svg, "node")
    assert {f"VirtualService/demo-mesh/svc-{i:05d}.apps.local" for i in range(500)} <= titles
    assert not any(t.startswith(("VirtualRouter/", "VirtualNode/")) for t in titles)  # folded into services
    edges = svg_titles(svg, "edge")
    assert len(edges) < 2000  # the full diagram has 5,398
    assert any(e.startswith("VirtualGateway/demo-mesh/ingress-gw->VirtualService/demo-mesh/svc-") for e in edges)


def test_collapsed_view_keeps_calls_of_nodes_no_service_reaches(tmp_path: Path) -> None:
    (tmp_path / "m.yaml").write_text(
        "meshName: m\nspec: {}\n---\nmeshName: m\nvirtualNodeName: job\nspec:\n"
        "  backends: [{virtualService: {virtualServiceName: a.local}}, {virtualService: {virtualServiceName: "
        "gone.local}}]\n---\nmeshName: m\nvirtualServiceName: a.local\n"
        "spec: {provider: {virtualNode: {virtualNodeName: a}}}\n---\nmeshName: m\nvirtualNodeName: a\nspec: {}\n")
    dot = api.graph([str(tmp_path)], collapse=True).dot
    assert '"VirtualNode/m/job" -> "VirtualService/m/a.local"' in dot
    assert '"VirtualNode/m/job" -> "VirtualService/m/gone.local"' in dot and "missing virtual service" in dot
    assert '"VirtualNode/m/a"' not in dot  # folded into a.local


def tiny_meshes(folder: Path, count: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "all.yaml").write_text("".join(TINY.format(i=i) for i in range(count)))
    return folder


def test_each_mesh_is_drawn_by_a_dot_run_of_its_own(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Drawn many to a run, Graphviz 2.43 put a mesh's clusters in another order from one build to the next
    (the HTML legend of an earlier graph moves where names sit in memory): the same input gave other SVG bytes
    in about one build of four. One run per mesh gives the same bytes every time."""
    real = need_dot()
    bin_dir = fake_dot(tmp_path / "bin", f'exec {real} "$@"')
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    mesh = tiny_meshes(tmp_path / "mesh", 12)
    drawn: set[bytes] = set()
    for build in range(3):
        result = api.build([str(mesh)], tmp_path / "out", NO_TLS)
        assert result.written is not None and result.warnings == ()
        assert runs(bin_dir) == 12 * (build + 1)
        drawn.add(b"".join((tmp_path / "out" / f"m{i:04d}" / "topology.svg").read_bytes() for i in range(12)))
    assert len(drawn) == 1
    for i in (0, 11):
        root = ET.parse(tmp_path / "out" / f"m{i:04d}" / "topology.svg").getroot()
        assert f"cluster_Mesh/m{i:04d}/" in {t.text for t in root.iter(f"{SVG}title")}  # each its own SVG


def test_a_build_stops_drawing_when_its_budget_is_spent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bin_dir = fake_dot(tmp_path / "bin", "sleep 4; exit 3")
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setattr(render, "BUILD_BUDGET", 1.0)
    started = time.monotonic()
    result = api.build([str(tiny_meshes(tmp_path / "mesh", 5))], tmp_path / "out", NO_TLS)
    assert time.monotonic() - started < 4  # one run, cut at the budget; was 5 runs of 4 s
    assert result.written is not None
    assert [w for w in result.warnings if "topology.svg" in w] == [
        "5 topology.svg not written (m0000/topology.dot first): Graphviz had used the 1 s a build gives it; the "
        "DOT files are written: draw them when needed, inside the output folder: dot -Tsvg -O */topology.dot"]
    assert sorted(p.name for p in (tmp_path / "out").glob("*/topology.*")) == ["topology.dot"] * 5


def test_one_failing_diagram_costs_only_its_own_svg(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    real = need_dot()
    bad = b'digraph meshlint {\n\t"a" -> \n}\n'
    drawn = render.render_svgs([synthetic(2).encode(), bad, synthetic(3).encode()])
    assert drawn is not None and isinstance(drawn[0], bytes) and isinstance(drawn[2], bytes)
    assert str(drawn[1]).startswith("Graphviz `dot` failed (exit 1)")
    assert len(svg_titles(drawn[2], "edge")) == 3
    assert shutil.which("dot") == real
