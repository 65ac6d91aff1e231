"""`meshlint graph PATH -o FILE`: the format by suffix, check's options, and life without Graphviz."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from meshlint import api
from tests.compile.test_dot import CASE, need_dot, parse_dot, svg_titles

INPUT = CASE / "input"


def run(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "meshlint", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120, env=env)


def test_dot_output_is_the_api_graph(tmp_path: Path) -> None:
    proc = run("graph", str(INPUT), "-o", "topology.dot", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""
    assert proc.stderr == "meshlint: wrote topology.dot (5 errors, 3 warnings drawn; `meshlint check` lists them)\n"
    assert (tmp_path / "topology.dot").read_text() == api.graph([str(INPUT)]).dot
    assert [p.name for p in tmp_path.iterdir()] == ["topology.dot"]  # no temp file left behind


def test_svg_and_png_by_suffix(tmp_path: Path) -> None:
    need_dot()
    assert run("graph", str(INPUT), "-o", "out.svg", cwd=tmp_path).returncode == 0
    assert run("graph", str(INPUT), "--output", "out.png", cwd=tmp_path).returncode == 0
    svg = (tmp_path / "out.svg").read_bytes()
    assert {"VirtualGateway/shop/ingress", "VirtualNode/lab/hello-v1", "VirtualService/shop/search.shop.local"} \
        <= svg_titles(svg, "node")
    assert (tmp_path / "out.png").read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert not (tmp_path / "out.dot").exists()


def test_without_graphviz_the_dot_is_written_and_the_message_says_how(tmp_path: Path) -> None:
    bare = tmp_path / "bin"
    bare.mkdir()
    env = {**os.environ, "PATH": str(bare)}  # python runs by absolute path; `dot` is not found
    proc = run("graph", str(INPUT), "-o", "my topology.svg", cwd=tmp_path, env=env)
    assert proc.returncode == 2
    assert "apt-get install graphviz" in proc.stderr
    assert "dot -Tsvg 'my topology.dot' -o 'my topology.svg'" in proc.stderr
    assert not (tmp_path / "my topology.svg").exists()
    assert (tmp_path / "my topology.dot").read_text() == api.graph([str(INPUT)]).dot
    assert run("graph", str(INPUT), "-o", "plain.dot", cwd=tmp_path, env=env).returncode == 0


def test_check_options_shape_the_overlay(tmp_path: Path) -> None:
    def nodes(*options: str) -> dict[str, dict[str, str]]:
        proc = run("graph", str(INPUT), "-o", "t.dot", *options, cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr
        return parse_dot((tmp_path / "t.dot").read_text()).nodes

    assert nodes()["VirtualNode/shop/batch"]["label"].endswith("(unreachable)")
    assert "unreachable" not in nodes("--ignore", "unreachable-node")["VirtualNode/shop/batch"]["label"]
    assert "unreachable" not in nodes("--select", "routing-cycle")["VirtualNode/shop/batch"]["label"]
    assert "unreachable" not in nodes("--entry-point", "shop/batch")["VirtualNode/shop/batch"]["label"]
    config = tmp_path / "lint.yaml"
    config.write_text("rules:\n  routing-cycle: off\n")
    proc = run("graph", str(INPUT), "-o", "t.dot", "--config", str(config), cwd=tmp_path)
    assert proc.returncode == 0 and "#cf222e\" penwidth=2.4" not in (tmp_path / "t.dot").read_text()


@pytest.mark.parametrize(("args", "message"), [
    (["-o", "t.pdf"], "cannot tell the format from '.pdf'; use .dot, .svg or .png"),
    (["-o", "t"], "cannot tell the format from 'no suffix'"),
    (["-o", "t.dot", "missing-folder"], "missing-folder: no such file or folder"),
    (["-o", "t.dot", "--config", "nope.yaml"], "nope.yaml: config file not found"),
    (["-o", "no/such/dir/t.dot"], "cannot write no/such/dir/t.dot: No such file or directory"),
    (["-o", "t.dot", "--select", "no-such-rule"], "no-such-rule"),
])
def test_usage_errors_exit_2(tmp_path: Path, args: list[str], message: str) -> None:
    (tmp_path / "mesh.yaml").write_text("meshName: shop\nspec: {}\n")
    proc = run("graph", *args, cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert message in proc.stderr
    assert not (tmp_path / "t.dot").exists()


def test_output_is_required(tmp_path: Path) -> None:
    proc = run("graph", str(INPUT), cwd=tmp_path)
    assert proc.returncode == 2
    assert "--output" in proc.stderr


def test_names_with_control_characters_draw_a_well_formed_svg(tmp_path: Path) -> None:
    import xml.etree.ElementTree as ET

    from tests.compile.test_dot import HOSTILE_NAMES, HOSTILE_ROUTE

    need_dot()
    (tmp_path / "mesh.yaml").write_text(HOSTILE_NAMES)
    (tmp_path / "route.json").write_text(HOSTILE_ROUTE)
    proc = run("graph", ".", "-o", "t.svg", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    titles = svg_titles(ET.tostring(ET.parse(tmp_path / "t.svg").getroot()), "node")
    assert "VirtualService/m%00/svc%02.local%26x;" in titles
