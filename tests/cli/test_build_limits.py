"""Names at App Mesh's limits: a valid 255-character name (or a shorter one that percent-encoding lengthens)
builds, under a stable shortened file name, and no temp path adds length that breaks it."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from meshlint.compile.envoy import names
from meshlint.compile.envoy.names import NAME_MAX, file_name

LONG = "n" * 255


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "meshlint", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120)


def mesh_yaml(mesh: str, node: str) -> str:
    return (f"meshName: {mesh}\nspec: {{}}\n---\nmeshName: {mesh}\nvirtualNodeName: {node}\n"
            "tags: [{key: 'meshlint:entry-point', value: 'true'}]\n"
            "spec:\n  listeners: [{portMapping: {port: 8080, protocol: tcp}}]\n"
            "  serviceDiscovery: {dns: {hostname: web.local}}\n")


@pytest.mark.parametrize("name", ["front", "a" * 250, "é" * 41, "."])
def test_names_that_fit_are_only_percent_encoded(name: str) -> None:
    assert file_name(name, ".json") == names.safe_component(name) + ".json"


@pytest.mark.parametrize("name", [LONG, "x" * 251, "é" * 42, "ü" * 255, "a%b" * 85, "~" * 100])
def test_too_long_names_get_a_stable_short_form(name: str) -> None:
    short = file_name(name, ".json")
    assert len(short.encode()) <= NAME_MAX and short.endswith(".json")
    assert short == file_name(name, ".json")  # stable: a function of the name alone
    assert re.fullmatch(r"[A-Za-z0-9._%-]*~[0-9a-f]{16}\.json", short)
    assert not re.search(r"%(?![0-9A-F]{2})", short.split("~")[0])  # never cut inside a %XX
    assert file_name(name[:-1] + "z", ".json") != short  # the hash is of the whole name


def test_a_short_form_is_never_another_names_full_form() -> None:
    short = file_name(LONG, ".json")
    assert "~" not in names.safe_component("~~" + LONG)
    assert file_name(short.removesuffix(".json"), ".json") != short  # a resource named like the short form


def test_a_255_character_name_builds_twice_and_checks_clean(tmp_path: Path) -> None:
    (tmp_path / "mesh.yaml").write_text(mesh_yaml("m" * 255, LONG))
    for _ in range(2):
        proc = run("build", "mesh.yaml", "--out", "o" * 255, "--ignore", "missing-tls", cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr
    out = tmp_path / ("o" * 255)
    path = names.artifact_path("m" * 255, names.NODE_KIND, LONG)
    assert json.loads((out / path).read_text())["node"]["id"] == f"mesh/{'m' * 255}/virtualNode/{LONG}"
    assert str(path) in json.loads((out / "meshlint-manifest.json").read_text())["files"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mesh.yaml", "o" * 255]  # no temp sibling left
    check = run("build", "mesh.yaml", "--out", "o" * 255, "--ignore", "missing-tls", "--check", cwd=tmp_path)
    assert check.returncode == 0, check.stderr


def test_graph_writes_a_file_with_a_255_byte_name(tmp_path: Path) -> None:
    (tmp_path / "mesh.yaml").write_text(mesh_yaml("shop", "web"))
    output = "t" * 251 + ".dot"
    proc = run("graph", "mesh.yaml", "-o", output, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mesh.yaml", output]


@pytest.mark.parametrize(("mesh", "folder"), [("meshlint-manifest.json", "%6Deshlint-manifest.json"),
                                              (".meshlint-tree", "%2Emeshlint-tree"), ("shop", "shop")])
def test_a_mesh_named_like_what_the_writer_keeps_builds_beside_it(tmp_path: Path, mesh: str, folder: str) -> None:
    (tmp_path / "mesh.yaml").write_text(mesh_yaml(mesh, "web"))
    proc = run("build", "mesh.yaml", "--out", "out", "--ignore", "missing-tls", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert names.mesh_folder(mesh) == folder
    assert (tmp_path / "out" / folder / "virtual-nodes" / "web.json").is_file()
    assert json.loads((tmp_path / "out" / "meshlint-manifest.json").read_text())["generator"].startswith("meshlint")
