"""The atomic output writer: ownership through the manifest, foreign entries kept, kills leave DIR intact."""

from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import Any

import pytest

from meshlint.compile import Artifact
from meshlint.emit import writer
from meshlint.emit.writer import MANIFEST, OutputError, WriteResult, write_tree

GENERATOR = "meshlint test"
FIRST = {"shop/virtual-nodes/front.json": "front v1", "shop/virtual-nodes/color.json": "color v1",
         "shop/topology.dot": "digraph {}", "old-mesh/virtual-gateways/gw.json": "gw"}
SECOND = {"shop/virtual-nodes/front.json": "front v2", "shop/topology.dot": "digraph {}",
          "new-mesh/virtual-nodes/a.json": "a"}


def artifacts(files: Mapping[str, str]) -> list[Artifact]:
    return [Artifact(PurePosixPath(rel), text.encode()) for rel, text in files.items()]


def build(out: Path, files: Mapping[str, str]) -> WriteResult:
    return write_tree(out, artifacts(files), GENERATOR)


def snapshot(root: Path) -> dict[str, tuple[Any, ...]]:
    """Every entry under root: kind, bytes or link target, mode, and the inode of files."""
    out: dict[str, tuple[Any, ...]] = {}
    for rel, kind in writer._walk(root):
        path = root / rel
        st = path.lstat()
        if kind == "link":
            out[rel] = ("link", os.readlink(path))
        elif kind == "dir":
            out[rel] = ("dir", st.st_mode)
        elif kind == "file":
            out[rel] = ("file", path.read_bytes(), st.st_mode, st.st_ino)
        else:  # a FIFO, socket, device or mount point: never opened
            out[rel] = (kind, st.st_mode, st.st_ino)
    return out


def contents(root: Path) -> dict[str, tuple[Any, ...]]:
    """snapshot() without inodes: what a reader sees."""
    return {rel: entry[:2] for rel, entry in snapshot(root).items()}


def leftovers(out: Path) -> list[str]:
    return sorted(p.name for p in out.parent.iterdir() if p.name.startswith(f".{out.name}.meshlint-"))


def add_foreign(out: Path) -> None:
    (out / "README.md").write_text("ours, not meshlint's\n")
    (out / "shop").mkdir(exist_ok=True)
    (out / "shop" / "notes.txt").write_text("inside a generated folder\n")
    (out / "custom" / "deep" / "nested").mkdir(parents=True)
    (out / "custom" / "deep" / "nested" / "keep.yaml").write_text("a: 1\n")
    (out / "custom" / "empty").mkdir()
    (out / "custom").chmod(0o750)
    (out / "custom" / "link-to-etc").symlink_to("/etc")  # a folder link: never followed
    (out / "dangling").symlink_to("no/such/file")


# --- results -----------------------------------------------------------------------------------


def test_new_folder_gets_artifacts_and_manifest(tmp_path: Path) -> None:
    out = tmp_path / "envoy"
    result = build(out, FIRST)
    assert {rel: (out / rel).read_text() for rel in FIRST} == FIRST
    assert result.files == sorted([*FIRST, MANIFEST])
    assert (result.removed, result.kept, result.warnings) == ([], [], [])
    text = (out / MANIFEST).read_text()
    expected = {rel: hashlib.sha256(body.encode()).hexdigest() for rel, body in FIRST.items()}
    assert json.loads(text) == {"generator": GENERATOR, "files": expected}
    assert text == json.dumps({"files": expected, "generator": GENERATOR}, sort_keys=True, indent=2) + "\n"
    assert leftovers(out) == []


def test_same_input_gives_a_byte_identical_tree(tmp_path: Path) -> None:
    build(tmp_path / "a", FIRST)
    build(tmp_path / "b", dict(reversed(FIRST.items())))
    assert contents(tmp_path / "a") == contents(tmp_path / "b")


def test_rebuild_replaces_generated_files_and_removes_stale_ones(tmp_path: Path) -> None:
    out = tmp_path / "envoy"
    build(out, FIRST)
    result = build(out, SECOND)
    files = {rel for rel, kind in writer._walk(out) if kind == "file"}
    assert files == {*SECOND, MANIFEST}
    assert (out / "shop/virtual-nodes/front.json").read_text() == "front v2"
    assert not (out / "old-mesh").exists()  # a folder meshlint made, now empty
    assert result.removed == ["old-mesh/virtual-gateways/gw.json", "shop/virtual-nodes/color.json"]
    assert set(json.loads((out / MANIFEST).read_text())["files"]) == set(SECOND)
    assert leftovers(out) == []


def test_foreign_entries_survive_with_the_same_inode(tmp_path: Path) -> None:
    out = tmp_path / "envoy"
    build(out, FIRST)
    add_foreign(out)
    foreign = {rel: entry for rel, entry in snapshot(out).items()
               if rel not in FIRST and rel != MANIFEST and entry[0] != "dir"}
    folders = {rel: entry for rel, entry in snapshot(out).items() if rel.startswith("custom")}
    out.chmod(0o710)
    result = build(out, SECOND)
    after = snapshot(out)
    assert out.stat().st_mode & 0o7777 == 0o710  # DIR's own mode carries over to the new tree
    assert {rel: after.get(rel) for rel in foreign} == foreign  # same bytes, mode and inode; links as links
    assert {rel: after.get(rel) for rel in folders} == folders  # empty folder and mode 0o750 included
    assert (out / "custom" / "link-to-etc").is_symlink()
    assert sorted(result.kept) == sorted(foreign)
    assert result.removed == ["old-mesh/virtual-gateways/gw.json", "shop/virtual-nodes/color.json"]


def test_a_foreign_file_can_be_adopted_only_when_it_holds_the_same_bytes(tmp_path: Path) -> None:
    out = tmp_path / "envoy"
    (out / "shop").mkdir(parents=True)
    (out / "shop" / "topology.dot").write_text("digraph {}")
    build(out, {"shop/topology.dot": "digraph {}"})
    assert "shop/topology.dot" in json.loads((out / MANIFEST).read_text())["files"]

    other = tmp_path / "other"
    (other / "shop").mkdir(parents=True)
    (other / "shop" / "topology.dot").write_text("hand-written")
    before = snapshot(other)
    with pytest.raises(OutputError, match=r"refusing to replace .*shop/topology\.dot"):
        build(other, {"shop/topology.dot": "digraph {}"})
    assert snapshot(other) == before
    assert leftovers(other) == []


@pytest.mark.parametrize("manifest", [
    "{not json", '{"files": ["a"]}', '{"files": {"../../etc/passwd": "x"}}', "[]", "\xff",
])
def test_a_malformed_manifest_is_not_replaced_and_nothing_is_deleted(tmp_path: Path, manifest: str) -> None:
    out = tmp_path / "envoy"
    build(out, FIRST)
    (out / MANIFEST).write_text(manifest, encoding="latin-1")
    before = snapshot(out)
    with pytest.raises(OutputError, match=r"meshlint-manifest\.json: not a manifest meshlint wrote .*move it away"):
        build(out, {"shop/topology.dot": "digraph {}"})
    assert snapshot(out) == before and leftovers(out) == []


def test_a_listed_path_that_is_now_a_folder_or_link_is_foreign(tmp_path: Path) -> None:
    out = tmp_path / "envoy"
    build(out, FIRST)
    (out / "shop/virtual-nodes/color.json").unlink()
    (out / "shop/virtual-nodes/color.json").mkdir()
    (out / "shop/virtual-nodes/color.json/mine.txt").write_text("x")
    (out / "shop/topology.dot").unlink()
    (out / "shop/topology.dot").symlink_to("/etc/hostname")
    build(out, {"other/x.json": "x"})
    assert (out / "shop/virtual-nodes/color.json/mine.txt").read_text() == "x"
    assert os.readlink(out / "shop/topology.dot") == "/etc/hostname"


def test_each_file_goes_into_the_new_tree_when_added_and_out_changes_only_at_commit(tmp_path: Path) -> None:
    out = tmp_path / "envoy"
    build(out, FIRST)
    add_foreign(out)
    before = snapshot(out)
    with writer.NewTree(out) as tree:
        for added, artifact in enumerate(artifacts(SECOND), 1):
            tree.add(artifact)
            (tmp,) = [tmp_path / p for p in leftovers(out) if "-tmp-" in p]
            written = sum(1 for a in artifacts(SECOND) if (tmp / a.path).exists())
            assert added - written <= writer._Writer._IN_FLIGHT + 1  # written as they come, not held until the swap
        assert snapshot(out) == before
        result = tree.commit(GENERATOR)
    assert {rel: (out / rel).read_text() for rel in SECOND} == SECOND
    assert result.files == sorted([*SECOND, MANIFEST]) and leftovers(out) == []
    expected = {rel: hashlib.sha256(body.encode()).hexdigest() for rel, body in SECOND.items()}
    assert json.loads((out / MANIFEST).read_text())["files"] == expected


def test_a_tree_closed_without_commit_leaves_no_trace(tmp_path: Path) -> None:
    """A build that finds an error after it started writing (the compiler's findings) changes nothing."""
    out = tmp_path / "envoy"
    build(out, FIRST)
    add_foreign(out)
    before = snapshot(out)
    with writer.NewTree(out) as tree:
        tree.add(artifacts(SECOND)[0])
    assert snapshot(out) == before and leftovers(out) == []
    with pytest.raises(ValueError, match="twice"), writer.NewTree(out) as tree:
        tree.add(artifacts(SECOND)[0])
        tree.add(artifacts(SECOND)[0])
    assert snapshot(out) == before and leftovers(out) == []
    with writer.NewTree(tmp_path / "new" / "deeper" / "envoy") as tree:  # the folders it made for it go too
        tree.add(artifacts(SECOND)[0])
    assert sorted(os.listdir(tmp_path)) == ["envoy"]


# --- refusals ------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", [
    PurePosixPath("../escape.json"), PurePosixPath("/etc/passwd"), PurePosixPath("a/../../b"),
    PurePosixPath("."), "a//b.json", "a/./b.json", "", "a/", "a\\..\\b", "nul\0.json", MANIFEST,
])
def test_unsafe_artifact_paths_are_refused_before_anything_is_written(tmp_path: Path, path: Any) -> None:
    out = tmp_path / "envoy"
    with pytest.raises(ValueError, match="artifact path"):
        write_tree(out, [Artifact(PurePosixPath("ok.json"), b"{}"), Artifact(path, b"x")], GENERATOR)
    assert sorted(os.listdir(tmp_path)) == []


def test_a_file_and_a_folder_at_one_path_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="both a file and a folder"):
        build(tmp_path / "envoy", {"a": "x", "a/b.json": "y"})
    with pytest.raises(ValueError, match=r"'meshlint-manifest\.json' is both a file and a folder"):
        build(tmp_path / "envoy", {"meshlint-manifest.json/b.json": "y"})
    with pytest.raises(ValueError, match="twice"):
        write_tree(tmp_path / "envoy", artifacts({"a": "x"}) * 2, GENERATOR)


def test_a_foreign_symlink_is_never_written_through(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    out = tmp_path / "envoy"
    out.mkdir()
    (out / "shop").symlink_to(outside)
    with pytest.raises(OutputError, match=r"shop \(meshlint needs a folder there\)"):
        build(out, {"shop/virtual-nodes/front.json": "x"})
    assert list(outside.iterdir()) == []
    assert os.readlink(out / "shop") == str(outside)


def test_the_inside_check_refuses_a_path_that_resolves_outside(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    os.symlink(tmp_path, root / "up")
    with pytest.raises(ValueError, match="not a folder; refusing to write through it"):
        writer._inside(str(root), "up/x.json")


def test_out_must_be_a_folder_elsewhere_than_the_working_folder(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "file").write_text("x")
    (tmp_path / "dangling").symlink_to(tmp_path / "missing")
    with pytest.raises(OutputError, match="not a folder"):
        build(tmp_path / "file", FIRST)
    with pytest.raises(OutputError, match="which does not exist"):
        build(tmp_path / "dangling", FIRST)
    assert not (tmp_path / "missing").exists()
    monkeypatch.chdir(tmp_path)
    for out in (Path("."), tmp_path.parent):
        with pytest.raises(OutputError, match="must not be the current folder or contain it"):
            build(out, FIRST)


def test_a_symlinked_out_replaces_the_folder_it_points_at_and_keeps_the_link(tmp_path: Path) -> None:
    real = tmp_path / "volume" / "envoy-real"
    real.mkdir(parents=True)
    (real / "README.md").write_text("foreign")
    ino = (real / "README.md").stat().st_ino
    (tmp_path / "repo").mkdir()
    link = tmp_path / "repo" / "envoy"
    link.symlink_to(real)
    build(link, FIRST)
    build(link, SECOND)
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert (real / "shop/virtual-nodes/front.json").read_text() == "front v2"
    assert (real / "README.md").stat().st_ino == ino
    assert os.listdir(tmp_path / "repo") == ["envoy"]
    assert leftovers(real) == []


# --- atomicity -----------------------------------------------------------------------------------

KILL_SCRIPT = """
import json, os, sys
from pathlib import Path, PurePosixPath
from meshlint.compile import Artifact
from meshlint.emit import writer

out, spec = Path(sys.argv[1]), json.loads(sys.argv[2])
if spec.get("no_exchange"):
    writer._exchange = lambda a, b: False
if "die_in" in spec:
    owner, name = (os, spec["die_in"][3:]) if spec["die_in"].startswith("os.") else (writer, spec["die_in"])
    real, calls = getattr(owner, name), [0]

    def dying(*args, **kwargs):
        calls[0] += 1
        if calls[0] > spec["after"]:
            os._exit(17)
        result = real(*args, **kwargs)
        if spec.get("die_after_call"):
            os._exit(17)
        return result

    setattr(owner, name, dying)
files = [Artifact(PurePosixPath(rel), text.encode()) for rel, text in spec["files"].items()]
writer.write_tree(out, files, "meshlint test")
"""


def run_build(out: Path, files: Mapping[str, str], **spec: Any) -> subprocess.Popen[bytes]:
    argv = [sys.executable, "-c", KILL_SCRIPT, str(out), json.dumps({"files": dict(files), **spec})]
    return subprocess.Popen(argv, stderr=subprocess.PIPE)


def prepared(tmp_path: Path) -> tuple[Path, dict[str, tuple[Any, ...]]]:
    out = tmp_path / "envoy"
    build(out, FIRST)
    add_foreign(out)
    return out, snapshot(out)


@pytest.mark.parametrize(("die_in", "after"), [
    ("_write_file", 2),  # after the 2nd file of the new tree
    ("os.link", 1),  # while hard-linking the foreign files
    ("os.symlink", 0),  # while recreating a foreign symlink
    ("_swap", 0),  # the new tree complete, fsynced, not swapped in
])
def test_a_build_killed_before_the_swap_leaves_out_exactly_as_before(tmp_path: Path, die_in: str,
                                                                    after: int) -> None:
    out, before = prepared(tmp_path)
    proc = run_build(out, SECOND, die_in=die_in, after=after)
    assert proc.wait(timeout=30) == 17, proc.stderr.read() if proc.stderr else ""
    assert snapshot(out) == before
    record, tmp = leftovers(out)  # the record the killed build wrote first, and its temp tree
    assert record.startswith(".envoy.meshlint-build-") and tmp == record.replace("-build-", "-tmp-")
    result = build(out, SECOND)  # the next build removes the stale temp sibling its record names
    assert leftovers(out) == []
    assert (out / "shop/virtual-nodes/front.json").read_text() == "front v2"
    assert len(result.kept) == 5


def test_a_build_killed_after_the_swap_leaves_the_complete_new_tree(tmp_path: Path) -> None:
    out, before = prepared(tmp_path)
    proc = run_build(out, SECOND, die_in="_retire", after=0)
    assert proc.wait(timeout=30) == 17
    build(tmp_path / "control", SECOND)
    add_foreign(tmp_path / "control")
    generated = {rel for rel in contents(out) if not rel.startswith(("custom", "README", "dangling", "shop/notes"))}
    assert {r: contents(out)[r] for r in generated} == {r: contents(tmp_path / "control")[r] for r in generated}
    foreign = {rel: e for rel, e in before.items() if rel.startswith(("custom", "README", "dangling", "shop/no"))}
    assert {rel: snapshot(out)[rel] for rel in foreign} == foreign
    build(out, SECOND)
    assert leftovers(out) == []


def test_a_record_killed_before_its_write_is_removed_by_the_next_build(tmp_path: Path) -> None:
    """A kill between creating the record and writing it leaves an empty file of the record's name, and nothing
    made under its token: the next build removes it instead of warning about it on every build after."""
    out, _ = prepared(tmp_path)
    empty = out.with_name(f".{out.name}.meshlint-build-{'ab' * 6}")
    empty.touch()
    result = build(out, SECOND)
    assert leftovers(out) == [] and not any("leftover" in w for w in result.warnings)
    other = out.with_name(f".{out.name}.meshlint-build-{'cd' * 6}")
    other.write_text("not a record meshlint wrote")  # anything else of that name is still left alone
    result = build(out, SECOND)
    assert leftovers(out) == [other.name] and any("looks like a meshlint leftover" in w for w in result.warnings)


def test_random_kills_only_ever_show_the_old_or_the_new_tree(tmp_path: Path) -> None:
    out = tmp_path / "envoy"
    old = {f"m/virtual-nodes/n{i:03d}.json": f"old {i}" * 50 for i in range(200)}
    new = {f"m/virtual-nodes/n{i:03d}.json": f"new {i}" * 50 for i in range(0, 200, 2)}
    build(out, old)
    add_foreign(out)
    old_state = contents(out)
    started = time.monotonic()
    assert run_build(out, new).wait(timeout=60) == 0
    duration = time.monotonic() - started
    new_state = contents(out)
    build(out, old)
    rng = random.Random(20240601)
    for _ in range(8):
        proc = run_build(out, rng.choice([old, new]))
        time.sleep(rng.uniform(0.05, duration))
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        state = contents(out)
        assert state in (old_state, new_state), sorted(set(state) ^ set(new_state))[:3]
    build(out, old)
    assert contents(out) == old_state and leftovers(out) == []


def test_the_fallback_swap_puts_back_a_tree_a_kill_left_aside(tmp_path: Path) -> None:
    out, before = prepared(tmp_path)
    proc = run_build(out, SECOND, no_exchange=True, die_in="os.rename", after=1, die_after_call=True)
    assert proc.wait(timeout=30) == 17
    assert not out.exists() and [p.split("-")[1] for p in leftovers(out)] == ["build", "old", "tmp"]
    result = build(out, {"shop/topology.dot": "digraph {}"})
    assert any("restored the previous output" in w for w in result.warnings)
    foreign = {rel: e for rel, e in before.items() if rel.startswith(("custom", "README", "dangling", "shop/no"))}
    assert {rel: snapshot(out)[rel] for rel in foreign} == foreign
    assert leftovers(out) == []


def test_the_fallback_swap_without_renameat2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out, before = prepared(tmp_path)
    monkeypatch.setattr(writer, "_exchange", lambda a, b: False)
    build(out, SECOND)
    assert (out / "shop/virtual-nodes/front.json").read_text() == "front v2"
    assert snapshot(out)["custom/deep/nested/keep.yaml"] == before["custom/deep/nested/keep.yaml"]
    assert leftovers(out) == []


def test_every_file_and_folder_is_fsynced_before_the_swap(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out, _ = prepared(tmp_path)
    synced: list[str] = []
    real_fsync, real_swap = os.fsync, writer._swap

    def fsync(fd: int) -> None:
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        real_fsync(fd)

    def swap(tmp: Path, target: Path) -> Path | None:
        entries = {str(tmp / rel) for rel, kind in writer._walk(tmp) if kind == "dir" or rel in SECOND or rel == MANIFEST}
        assert entries | {str(tmp)} <= set(synced)
        synced.append("swapped")
        return real_swap(tmp, target)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(writer, "_swap", swap)
    build(out, SECOND)
    assert synced[-2:] == ["swapped", str(tmp_path)]  # then the parent, so the exchange itself is durable


def test_renameat2_exchanges_two_folders(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "in-a").touch()
    assert writer._exchange(tmp_path / "a", tmp_path / "b") is True
    assert os.listdir(tmp_path / "b") == ["in-a"] and os.listdir(tmp_path / "a") == []


def test_entries_written_into_out_during_the_build_are_moved_into_the_new_tree(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out, _ = prepared(tmp_path)
    real_swap = writer._swap

    def swap_with_a_late_writer(tmp: Path, target: Path) -> Path | None:
        (target / "late.txt").write_text("written during the build")
        (target / "README.md.new").write_text("replaced during the build")
        os.replace(target / "README.md.new", target / "README.md")
        return real_swap(tmp, target)

    monkeypatch.setattr(writer, "_swap", swap_with_a_late_writer)
    result = build(out, SECOND)
    assert (out / "late.txt").read_text() == "written during the build"
    assert (out / "README.md").read_text() == "replaced during the build"
    assert result.warnings == [] and leftovers(out) == []


def test_a_late_entry_that_cannot_be_moved_keeps_the_previous_tree(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    out, _ = prepared(tmp_path)
    real_swap = writer._swap

    def swap_with_a_late_writer(tmp: Path, target: Path) -> Path | None:
        (target / "custom" / "empty").rmdir()
        (target / "custom" / "empty").write_text("now a file")
        return real_swap(tmp, target)

    monkeypatch.setattr(writer, "_swap", swap_with_a_late_writer)
    result = build(out, SECOND)
    assert len(result.warnings) == 1 and "custom/empty changed there while the build ran" in result.warnings[0]
    kept = [p for p in leftovers(out) if ".meshlint-kept-" in p]
    assert len(kept) == 1 and (out.parent / kept[0] / "custom" / "empty").read_text() == "now a file"
    build(out, SECOND)
    assert (out.parent / kept[0]).exists()  # never cleaned up automatically


def test_files_are_written_beside_the_build_with_a_bounded_number_waiting(tmp_path: Path,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """The files go to disk on the writer's thread while the build makes the next ones; however slow the disk,
    at most _IN_FLIGHT of them (and the one being written) wait in memory, and commit waits for all."""
    many = {f"shop/virtual-nodes/n{i:03d}.json": f"node {i}" for i in range(100)}
    slow = writer._write_file

    def slow_write(path: str, content: bytes) -> None:
        time.sleep(0.002)
        slow(path, content)

    monkeypatch.setattr(writer, "_write_file", slow_write)
    out = tmp_path / "envoy"
    waiting = []
    with writer.NewTree(out) as tree:
        for added, artifact in enumerate(artifacts(many), 1):
            tree.add(artifact)
            (tmp,) = [tmp_path / p for p in leftovers(out) if "-tmp-" in p]
            waiting.append(added - sum(1 for rel in many if (tmp / rel).exists()))
        result = tree.commit(GENERATOR)
    assert max(waiting) <= writer._Writer._IN_FLIGHT + 1 and max(waiting) > 1  # bounded, and beside the build
    assert {rel: (out / rel).read_text() for rel in many} == many and result.files == sorted([*many, MANIFEST])


@pytest.mark.parametrize("failing", [3, 60])
def test_a_write_that_fails_on_the_writers_thread_fails_the_build_and_leaves_out_as_it_was(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failing: int) -> None:
    out = tmp_path / "envoy"
    build(out, FIRST)
    before = snapshot(out)
    many = {f"shop/virtual-nodes/n{i:03d}.json": f"node {i}" for i in range(80)}
    calls = []
    real = writer._write_file

    def failing_write(path: str, content: bytes) -> None:
        calls.append(path)
        if len(calls) == failing:
            raise OSError(28, "No space left on device")
        real(path, content)

    monkeypatch.setattr(writer, "_write_file", failing_write)
    with pytest.raises(OutputError, match="No space left on device"), writer.NewTree(out) as tree:
        for artifact in artifacts(many):
            tree.add(artifact)
        tree.commit(GENERATOR)
    assert snapshot(out) == before and leftovers(out) == []
    assert len(calls) == failing  # nothing written after the failure
