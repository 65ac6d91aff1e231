"""--mesh-roots (what the pre-commit hook runs) and build --check (the build-check hook), through the CLI."""

from __future__ import annotations

from pathlib import Path

from meshlint.roots import mesh_root
from tests.cli.gate_support import MESH, NODE, run, write

DANGLING = NODE.format(name="front").replace("spec:\n", "spec:\n  backends: [{virtualService: {virtualServiceName: "
                                             "gone.shop.local}}]\n", 1)


def test_a_changed_file_stands_for_its_whole_mesh(tmp_path: Path) -> None:
    write(tmp_path, {"a/.meshlint.yaml": "ignore: [missing-tls]\n", "a/mesh.yaml": MESH, "a/front.yaml": DANGLING})
    assert run("check", "a/mesh.yaml", cwd=tmp_path).returncode == 0  # the file alone looks fine
    proc = run("check", "--mesh-roots", "a/mesh.yaml", cwd=tmp_path)
    assert proc.returncode == 1
    assert proc.stdout.startswith("a/front.yaml:5:52: error[dangling-reference]")


def test_mesh_root_choice(tmp_path: Path) -> None:
    write(tmp_path, {"a/.meshlint.yaml": "", "a/b/c.yaml": MESH, "x/y.yaml": MESH,
                     "p/pyproject.toml": "[tool.meshlint]\n", "p/q.yaml": MESH, "n/pyproject.toml": "[project]\n",
                     "n/m.yaml": MESH})
    assert mesh_root(tmp_path / "a/b/c.yaml", tmp_path) == tmp_path / "a"
    assert mesh_root(tmp_path / "x/y.yaml", tmp_path) == tmp_path
    assert mesh_root(tmp_path / "p/q.yaml", tmp_path) == tmp_path / "p"
    assert mesh_root(tmp_path / "n/m.yaml", tmp_path) == tmp_path  # pyproject without [tool.meshlint]
    assert mesh_root(tmp_path / "a/b/deleted.yaml", tmp_path) == tmp_path / "a"


def test_build_check(tmp_path: Path) -> None:
    tls = "      tls: {mode: STRICT, certificate: {file: {certificateChain: /c.pem, privateKey: /k.pem}}}\n"
    node = NODE.format(name="front").replace("protocol: http}\n", "protocol: http}\n" + tls)
    write(tmp_path, {"mesh/a.yaml": f"{MESH}---\n{node}"})
    missing = run("build", "mesh", "--out", "envoy", "--check", cwd=tmp_path)
    assert missing.returncode == 1
    assert "meshlint: envoy/: missing: shop/virtual-nodes/front.json" in missing.stderr
    assert not (tmp_path / "envoy").exists()
    assert run("build", "mesh", "--out", "envoy", cwd=tmp_path).returncode == 0
    (tmp_path / "envoy" / "notes.txt").write_text("foreign files are not meshlint's business\n")
    fresh = run("build", "mesh", "--out", "envoy", "--check", cwd=tmp_path)
    assert (fresh.returncode, fresh.stderr.splitlines()[-1]) == (0, "meshlint: envoy/ is up to date")
    write(tmp_path, {"mesh/a.yaml": f"{MESH}---\n{node.replace('8080', '9090')}"})
    before = (tmp_path / "envoy" / "shop" / "virtual-nodes" / "front.json").read_bytes()
    stale = run("build", "mesh", "--out", "envoy", "--check", cwd=tmp_path)
    assert stale.returncode == 1
    assert "meshlint: envoy/: changed: shop/virtual-nodes/front.json" in stale.stderr
    assert (tmp_path / "envoy" / "shop" / "virtual-nodes" / "front.json").read_bytes() == before
    write(tmp_path, {"mesh/a.yaml": MESH})  # the node is gone: its bootstrap would be removed
    assert "stale: shop/virtual-nodes/front.json" in run("build", "mesh", "--out", "envoy", "--check",
                                                          cwd=tmp_path).stderr
