"""emit.xds: a build that running Envoys watch is written in place, complete files renamed into place, in
xDS order (new clusters, pause, routes, listeners, pause, final clusters and removals, manifest last); it
owns only what its manifest lists and never writes outside the output folder."""

from __future__ import annotations

import json
import os
from pathlib import Path, PurePosixPath

import pytest

from meshlint.compile import Artifact
from meshlint.compile.envoy import render
from meshlint.compile.envoy.xds import CLUSTER_TYPE, LISTENER_TYPE, ROUTE_TYPE, discovery_response
from meshlint.emit import writer
from meshlint.emit import xds as live
from meshlint.emit.writer import MANIFEST, OutputError


def proxy(clusters: list[str], routes: dict[str, str], listeners: list[str] | None = None,
          folder: str = "m/virtual-nodes/n") -> list[Artifact]:
    """An xDS folder: clusters by name, route tables name -> the cluster they route to, listeners."""
    files = {
        "bootstrap.json": {"node": {"id": "mesh/m/virtualNode/n"}},
        "cds.json": discovery_response(CLUSTER_TYPE, [{"name": c} for c in clusters]),
        "lds.json": discovery_response(LISTENER_TYPE, [{"name": name} for name in listeners or ["lds_egress"]]),
        **{f"{name}.json": discovery_response(ROUTE_TYPE, [{"name": name, "to": to}]) for name, to in routes.items()},
    }
    return [Artifact(PurePosixPath(folder, name), render(doc)) for name, doc in files.items()]


class Recorder:
    """Watches what lands in the folder between the pauses (renames are all Envoy sees)."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.steps: list[dict[str, object]] = []

    def snapshot(self) -> dict[str, object]:
        folder = self.out / "m/virtual-nodes/n"
        cds = json.loads((folder / "cds.json").read_text())["resources"]
        return {"clusters": sorted(c["name"] for c in cds),
                "routes": sorted(p.name for p in folder.glob("rds_*.json"))}

    def sleep(self, seconds: float) -> None:
        assert seconds == live.SETTLE_S
        self.steps.append(self.snapshot())


def names(out: Path) -> list[str]:
    return sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())


def test_first_build_writes_everything_without_pausing(tmp_path: Path) -> None:
    rec = Recorder(tmp_path / "out")
    result = live.write_live(tmp_path / "out", proxy(["a"], {"rds_1": "a"}), "meshlint test", sleep=rec.sleep)
    assert rec.steps == []
    assert names(tmp_path / "out") == sorted([MANIFEST, *(f"m/virtual-nodes/n/{f}" for f in
                                                          ("bootstrap.json", "cds.json", "lds.json", "rds_1.json"))])
    assert result.files == names(tmp_path / "out")
    listed = json.loads((tmp_path / "out" / MANIFEST).read_text())["files"]
    assert set(listed) == set(result.files) - {MANIFEST}


def test_a_route_change_alone_is_one_step(tmp_path: Path) -> None:
    out = tmp_path / "out"
    live.write_live(out, proxy(["a", "b"], {"rds_1": "a"}), "meshlint test")
    inode = os.stat(out / "m/virtual-nodes/n").st_ino
    rec = Recorder(out)
    live.write_live(out, proxy(["a", "b"], {"rds_1": "b"}), "meshlint test", sleep=rec.sleep)
    assert rec.steps == []
    assert '"to": "b"' in (out / "m/virtual-nodes/n/rds_1.json").read_text()
    assert os.stat(out / "m/virtual-nodes/n").st_ino == inode  # the watched folder itself stays


def test_clusters_are_added_before_routes_and_removed_after(tmp_path: Path) -> None:
    out = tmp_path / "out"
    live.write_live(out, proxy(["a"], {"rds_1": "a", "rds_old": "a"}), "meshlint test")
    rec = Recorder(out)
    live.write_live(out, proxy(["b"], {"rds_1": "b"}), "meshlint test", sleep=rec.sleep)
    assert rec.steps == [
        {"clusters": ["a", "b"], "routes": ["rds_1.json", "rds_old.json"]},  # b warms; rds_1 still -> a
        {"clusters": ["a", "b"], "routes": ["rds_1.json", "rds_old.json"]},  # rds_1 -> b now, a still there
    ]
    assert '"to": "b"' in (out / "m/virtual-nodes/n/rds_1.json").read_text()
    assert rec.snapshot() == {"clusters": ["b"], "routes": ["rds_1.json"]}


def test_no_temp_file_is_left_and_files_are_complete(tmp_path: Path) -> None:
    out = tmp_path / "out"
    (out / "m/virtual-nodes/n").mkdir(parents=True)
    (out / "m/virtual-nodes/n/.cds.json.meshlint-tmp-0123456789ab").write_text("{half")  # a killed build's
    live.write_live(out, proxy(["a"], {"rds_1": "a"}), "meshlint test")
    assert not [p for p in out.rglob(".*") if "meshlint-tmp" in p.name]
    for path in (out / "m/virtual-nodes/n").iterdir():
        json.loads(path.read_text())


def test_foreign_files_are_kept_and_never_replaced(tmp_path: Path) -> None:
    out = tmp_path / "out"
    (out / "m/virtual-nodes/n").mkdir(parents=True)
    (out / "notes.txt").write_text("mine")
    (out / "m/virtual-nodes/n/lds.json").write_text("hand-written")
    with pytest.raises(OutputError, match=r"lds\.json"):
        live.write_live(out, proxy(["a"], {"rds_1": "a"}), "meshlint test")
    assert (out / "m/virtual-nodes/n/lds.json").read_text() == "hand-written"
    assert not (out / "m/virtual-nodes/n/cds.json").exists()  # refused before writing anything
    (out / "m/virtual-nodes/n/lds.json").unlink()
    live.write_live(out, proxy(["a"], {"rds_1": "a"}), "meshlint test")
    live.write_live(out, proxy(["a"], {}), "meshlint test")
    assert (out / "notes.txt").read_text() == "mine"
    assert not (out / "m/virtual-nodes/n/rds_1.json").exists()


def test_a_changed_obsolete_file_is_kept(tmp_path: Path) -> None:
    out = tmp_path / "out"
    live.write_live(out, proxy(["a"], {"rds_1": "a", "rds_2": "a"}), "meshlint test")
    (out / "m/virtual-nodes/n/rds_2.json").write_text("edited by hand")
    result = live.write_live(out, proxy(["a"], {"rds_1": "a"}), "meshlint test", sleep=lambda _: None)
    assert (out / "m/virtual-nodes/n/rds_2.json").read_text() == "edited by hand"
    assert any("rds_2.json" in w for w in result.warnings)


def test_never_writes_through_a_symlink(tmp_path: Path) -> None:
    out, elsewhere = tmp_path / "out", tmp_path / "elsewhere"
    (out / "m").mkdir(parents=True)
    elsewhere.mkdir()
    (out / "m/virtual-nodes").symlink_to(elsewhere)
    with pytest.raises(OutputError):
        live.write_live(out, proxy(["a"], {"rds_1": "a"}), "meshlint test")
    assert list(elsewhere.iterdir()) == []


def test_static_build_after_live_build_removes_its_files(tmp_path: Path) -> None:
    out = tmp_path / "out"
    live.write_live(out, proxy(["a"], {"rds_1": "a"}), "meshlint test")
    writer.write_tree(out, [Artifact(PurePosixPath("m/virtual-nodes/n.json"), b"{}\n")], "meshlint test")
    assert names(out) == sorted([MANIFEST, "m/virtual-nodes/n.json"])
    live.write_live(out, proxy(["a"], {"rds_1": "a"}), "meshlint test")
    assert "m/virtual-nodes/n.json" not in names(out)
