"""The output writer against a hostile output folder: edited and stale manifests, hard links, look-alike
leftovers beside --out, other users' folders, FIFOs, sockets and devices, mount points, very long names.

Whatever is in or beside --out, a build deletes or replaces only what it can prove it wrote, never opens
a special file, and never hangs. Builds that could hang run in a child process with a timeout.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import stat
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath

import pytest

from meshlint.emit import writer
from meshlint.emit.writer import MANIFEST, OutputError
from tests.unit.test_writer import FIRST, SECOND, add_foreign, build, leftovers, snapshot

ROOT = os.geteuid() == 0
needs_root = pytest.mark.skipif(not ROOT, reason="changing owners and mounting need root")


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def edit_manifest(out: Path, **files: str) -> None:
    """Add or change entries of the manifest in `out`, as a stale or hand-edited one would."""
    data = json.loads((out / MANIFEST).read_text())
    data["files"].update(files)
    (out / MANIFEST).write_text(json.dumps(data))


# --- ownership: the manifest names a file, only its bytes make it meshlint's ------------------------


def test_a_manifest_listing_a_users_file_does_not_make_it_meshlints(tmp_path: Path) -> None:
    out = tmp_path / "envoy"
    build(out, FIRST)
    (out / "mine.txt").write_text("the user's\n")
    edit_manifest(out, **{"mine.txt": sha("what meshlint once wrote there")})
    result = build(out, SECOND)
    assert (out / "mine.txt").read_text() == "the user's\n"
    assert "mine.txt" in result.kept and "mine.txt" not in result.removed
    assert any(w.startswith("mine.txt: listed in meshlint-manifest.json, but changed") for w in result.warnings)


def test_a_generated_file_edited_since_is_kept_when_no_longer_generated(tmp_path: Path) -> None:
    out = tmp_path / "envoy"
    build(out, FIRST)
    (out / "shop/virtual-nodes/color.json").write_text("tuned by hand")
    result = build(out, SECOND)  # SECOND no longer generates color.json
    assert (out / "shop/virtual-nodes/color.json").read_text() == "tuned by hand"
    assert result.removed == ["old-mesh/virtual-gateways/gw.json"]


def test_a_generated_file_edited_since_is_never_overwritten(tmp_path: Path) -> None:
    out = tmp_path / "envoy"
    build(out, FIRST)
    (out / "shop/virtual-nodes/front.json").write_text("tuned by hand")
    before = snapshot(out)
    with pytest.raises(OutputError, match=r"shop/virtual-nodes/front\.json \(changed since meshlint wrote it\)"):
        build(out, SECOND)
    assert snapshot(out) == before and leftovers(out) == []


def test_a_hard_linked_generated_file_is_not_meshlints_to_delete(tmp_path: Path) -> None:
    out = tmp_path / "envoy"
    build(out, FIRST)
    backup = tmp_path / "color-backup.json"
    os.link(out / "shop/virtual-nodes/color.json", backup)  # same bytes as listed, but a second link
    result = build(out, SECOND)
    assert (out / "shop/virtual-nodes/color.json").stat().st_ino == backup.stat().st_ino
    assert "shop/virtual-nodes/color.json" not in result.removed
    os.link(out / "shop/virtual-nodes/front.json", tmp_path / "front-backup.json")
    with pytest.raises(OutputError, match=r"front\.json \(hard-linked elsewhere\)"):
        build(out, FIRST)


def test_a_manifest_that_is_a_hard_link_is_not_meshlints(tmp_path: Path) -> None:
    out = tmp_path / "envoy"
    build(out, FIRST)
    os.link(out / MANIFEST, tmp_path / "kept-manifest.json")
    with pytest.raises(OutputError, match=r"not a manifest meshlint wrote \(a file with 2 hard links"):
        build(out, SECOND)


# --- hostile manifests ------------------------------------------------------------------------------

HOSTILE = {
    "list": "[]",
    "string": '"files"',
    "null": "null",
    "files a list": '{"generator": "meshlint 1", "files": ["shop/topology.dot"]}',
    "digest a number": '{"generator": "meshlint 1", "files": {"shop/topology.dot": 5}}',
    "digest not hex": '{"generator": "meshlint 1", "files": {"shop/topology.dot": "' + "z" * 64 + '"}}',
    "no generator": '{"files": {}}',
    "someone else's": '{"generator": "terraform", "files": {}}',
    "dot-dot": '{"generator": "meshlint 1", "files": {"../outside.txt": "' + "0" * 64 + '"}}',
    "absolute": '{"generator": "meshlint 1", "files": {"/etc/hostname": "' + "0" * 64 + '"}}',
    "lists itself": '{"generator": "meshlint 1", "files": {"meshlint-manifest.json": "' + "0" * 64 + '"}}',
    "deep": "[" * 100_000 + "]" * 100_000,
    "huge number": '{"generator": "meshlint 1", "files": {}, "n": ' + "9" * 5000 + "}",
    "not UTF-8": "\udcff",
    "empty": "",
}


@pytest.mark.parametrize("text", HOSTILE.values(), ids=HOSTILE.keys())
def test_a_hostile_manifest_is_refused_and_nothing_changes(tmp_path: Path, text: str) -> None:
    out = tmp_path / "envoy"
    build(out, FIRST)
    (tmp_path / "outside.txt").write_text("beside the output")
    (out / MANIFEST).write_bytes(text.encode(errors="surrogateescape"))
    before = snapshot(out)
    with pytest.raises(OutputError, match="not a manifest meshlint wrote"):
        build(out, SECOND)
    assert snapshot(out) == before and leftovers(out) == []
    assert (tmp_path / "outside.txt").read_text() == "beside the output"


def test_a_huge_manifest_is_refused_without_reading_it(tmp_path: Path) -> None:
    out = tmp_path / "envoy"
    build(out, FIRST)
    with open(out / MANIFEST, "r+b") as handle:
        handle.truncate(65 << 20)  # sparse: 65 MiB on paper
    with pytest.raises(OutputError, match="larger than 64 MiB"):
        build(out, SECOND)


@pytest.mark.parametrize("target", ["outside.json", "envoy/shop/topology.dot"])
def test_a_manifest_that_is_a_symlink_is_refused(tmp_path: Path, target: str) -> None:
    out = tmp_path / "envoy"
    build(out, FIRST)
    (tmp_path / "outside.json").write_bytes((out / MANIFEST).read_bytes())
    (out / MANIFEST).unlink()
    (out / MANIFEST).symlink_to(tmp_path / target)
    with pytest.raises(OutputError, match=r"not a manifest meshlint wrote \(a symlink"):
        build(out, SECOND)
    assert (tmp_path / "outside.json").exists() and (out / "shop/topology.dot").exists()


def test_listed_entries_reached_through_a_symlinked_folder_are_not_meshlints(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "virtual-nodes").mkdir(parents=True)
    (elsewhere / "virtual-nodes" / "a.json").write_text("a")  # what meshlint would write there
    out = tmp_path / "envoy"
    build(out, {"x.json": "x"})
    (out / "m").symlink_to(elsewhere)
    edit_manifest(out, **{"m/virtual-nodes/a.json": sha("a")})
    build(out, {"x.json": "y"})
    assert (elsewhere / "virtual-nodes" / "a.json").read_text() == "a"
    assert os.readlink(out / "m") == str(elsewhere)


# --- beside --out: look-alike leftovers are never removed or adopted -----------------------------------

LOOK_ALIKES = [".envoy.meshlint-tmp-mine", ".envoy.meshlint-old-mine", ".envoy.meshlint-build-123456789abc",
               ".envoy.meshlint-tmp-123456789abc", ".envoy.meshlint-kept-1"]


def plant(parent: Path) -> dict[str, str]:
    for name in LOOK_ALIKES:
        if "build" in name:  # a record-shaped file meshlint did not write
            (parent / name).write_text('{"kind": "meshlint build record", "out": "envoy", "token": "nope"}')
        else:
            (parent / name).mkdir()
            (parent / name / "data.txt").write_text(name)
    return {name: name for name in LOOK_ALIKES}


def planted(parent: Path) -> dict[str, str]:
    return {name: (parent / name / "data.txt").read_text() if (parent / name).is_dir() else name
            for name in LOOK_ALIKES if (parent / name).exists()}


def test_folders_beside_out_that_look_like_leftovers_are_never_removed(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    expected = plant(tmp_path)
    out = tmp_path / "envoy"
    result = build(out, FIRST)  # out does not exist: an "old" tree beside it must not become out
    assert not (out / "data.txt").exists()
    assert planted(tmp_path) == expected
    assert sum("looks like a meshlint leftover" in w for w in result.warnings) == 4  # kept-* is the user's
    result = build(out, SECOND)  # out exists
    assert planted(tmp_path) == expected
    monkeypatch.setattr(writer, "_exchange", lambda a, b: False)
    build(out, FIRST)  # the fallback swap
    assert planted(tmp_path) == expected


def test_a_record_is_verified_before_anything_it_names_is_touched(tmp_path: Path) -> None:
    out = tmp_path / "envoy"
    build(out, FIRST)
    token = "a1b2c3d4e5f6"
    for tampered in ({"kind": "meshlint build record", "out": "other", "token": token, "out_id": None},
                     {"kind": "meshlint build record", "out": "envoy", "token": "b1b2c3d4e5f6", "out_id": None},
                     {"kind": "meshlint build record", "out": "envoy", "token": token, "out_id": "x"}):
        (tmp_path / f".envoy.meshlint-build-{token}").write_text(json.dumps(tampered))
        (tmp_path / f".envoy.meshlint-tmp-{token}").mkdir(exist_ok=True)
        (tmp_path / f".envoy.meshlint-tmp-{token}" / "precious").write_text("x")
        build(out, SECOND)
        assert (tmp_path / f".envoy.meshlint-tmp-{token}" / "precious").read_text() == "x"


# --- owners, groups and modes of what is carried over ------------------------------------------------


@needs_root
def test_foreign_folders_and_out_keep_their_owner_group_and_mode(tmp_path: Path) -> None:
    out = tmp_path / "envoy"
    build(out, FIRST)
    add_foreign(out)
    os.chown(out / "custom", 4242, 4343)
    os.chmod(out / "custom", 0o2750)
    os.chown(out / "custom" / "deep", 4444, 0)
    os.chown(out / "custom" / "link-to-etc", 4545, 4646, follow_symlinks=False)
    os.chown(out, 4747, 4848)
    before = {rel: (s.st_uid, s.st_gid, stat.S_IMODE(s.st_mode)) for rel, s in
              ((rel, os.lstat(out / rel)) for rel in ("custom", "custom/deep", "custom/link-to-etc"))}
    build(out, SECOND)
    after = {rel: (s.st_uid, s.st_gid, stat.S_IMODE(s.st_mode)) for rel, s in
             ((rel, os.lstat(out / rel)) for rel in before)}
    assert after == before
    assert (out.stat().st_uid, out.stat().st_gid) == (4747, 4848)


def test_a_folder_whose_owner_cannot_be_kept_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "envoy"
    build(out, FIRST)
    add_foreign(out)
    real_lstat = os.lstat

    def lstat(path: object, *args: object, **kwargs: object) -> os.stat_result:
        st = real_lstat(path, *args, **kwargs)  # type: ignore[arg-type]
        if str(path) == str(out / "custom"):  # as if another user owned it
            fields = list(st)
            fields[4] = st.st_uid + 1
            return os.stat_result(fields)
        return st

    def chown(*args: object, **kwargs: object) -> None:
        raise PermissionError(1, "Operation not permitted")

    before = snapshot(out)
    monkeypatch.setattr(os, "lstat", lstat)
    monkeypatch.setattr(os, "chown", chown)
    with pytest.raises(OutputError, match=r"envoy/custom: owned by uid \d+ .*cannot keep that owner"):
        build(out, SECOND)
    monkeypatch.undo()
    assert snapshot(out) == before and leftovers(out) == []


# --- special files: never opened, carried over, never a hang ------------------------------------------

CHILD = """
import sys
from pathlib import Path, PurePosixPath
from meshlint.compile import Artifact
from meshlint.emit.writer import OutputError, write_tree
try:
    result = write_tree(Path(sys.argv[1]), [Artifact(PurePosixPath(p), b"x") for p in sys.argv[2:]], "meshlint t")
except OutputError as err:
    print("refused:", err)
else:
    print("kept:", sorted(result.kept))
"""


def child_build(out: Path, *paths: str) -> str:
    """Build in a child process: a hang is a failure after 30 s, not a stuck suite."""
    proc = subprocess.run([sys.executable, "-c", CHILD, str(out), *paths], capture_output=True, text=True,
                          timeout=30)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


@pytest.fixture
def specials(tmp_path: Path) -> Iterator[Path]:
    """tmp_path/envoy with a FIFO, a listening Unix socket and (as root) a character device in it."""
    out = tmp_path / "envoy"
    (out / "run").mkdir(parents=True)
    os.mkfifo(out / "run" / "pipe")
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(out / "run" / "sock"))
    if ROOT:
        os.mknod(out / "run" / "null", 0o600 | stat.S_IFCHR, os.makedev(1, 3))
    yield out
    server.close()


def kinds(folder: Path) -> dict[str, int]:
    return {p.name: stat.S_IFMT(p.lstat().st_mode) for p in sorted(folder.iterdir())}


def test_fifos_sockets_and_devices_in_out_are_kept_and_never_opened(specials: Path) -> None:
    before = kinds(specials / "run")
    inodes = {name: (specials / "run" / name).lstat().st_ino for name in before}
    assert child_build(specials, "m/a.json").startswith("kept: ['run/")
    assert child_build(specials, "m/b.json").startswith("kept: ['run/")
    assert kinds(specials / "run") == before
    assert {name: (specials / "run" / name).lstat().st_ino for name in before} == inodes
    assert (specials / "m" / "b.json").read_bytes() == b"x"


def test_a_fifo_where_meshlint_writes_is_a_conflict_not_a_hang(specials: Path) -> None:
    assert "refused:" in child_build(specials, "run/pipe/x.json")
    out = child_build(specials, "run/pipe", "run/sock")
    assert out.startswith("refused:") and "run/pipe (a FIFO)" in out and "run/sock (a socket)" in out


def test_a_fifo_manifest_or_a_listed_fifo_never_blocks(specials: Path) -> None:
    child_build(specials, "m/a.json")
    (specials / "m" / "a.json").unlink()
    os.mkfifo(specials / "m" / "a.json")  # listed in the manifest, now a FIFO: foreign
    assert "m/a.json" in child_build(specials, "m/b.json")
    assert stat.S_ISFIFO((specials / "m" / "a.json").lstat().st_mode)
    (specials / MANIFEST).unlink()
    os.mkfifo(specials / MANIFEST)
    assert "not a manifest meshlint wrote (a FIFO)" in child_build(specials, "m/b.json")


def test_build_check_never_opens_a_fifo(specials: Path) -> None:
    from meshlint.compile import Artifact
    from meshlint.emit.drift import drift

    child_build(specials, "m/a.json")
    (specials / "m" / "a.json").unlink()
    os.mkfifo(specials / "m" / "a.json")
    assert drift(specials, [Artifact(Path("m/a.json"), b"x")]) == ["missing: m/a.json"]  # type: ignore[arg-type]


# --- mount points ------------------------------------------------------------------------------------


@contextmanager
def mounted(path: Path, *how: str) -> Iterator[Path]:
    """A tmpfs (or `how`, e.g. a bind mount) at `path`; skips the test with the reason when that is impossible."""
    if not ROOT:
        pytest.skip("mounting needs root")
    path.mkdir(parents=True, exist_ok=True)
    argv = ["mount", *(how or ("-t", "tmpfs", "-o", "size=16m", "meshlint-test")), str(path)]
    if subprocess.run(argv, capture_output=True).returncode != 0:
        pytest.skip(f"{' '.join(argv[:3])} is not permitted here (a container without CAP_SYS_ADMIN)")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def test_a_mount_point_inside_out_is_refused_before_anything_changes(tmp_path: Path) -> None:
    out = tmp_path / "envoy"
    build(out, FIRST)
    with mounted(out / "certs") as certs:
        (certs / "key.pem").write_text("secret")
        before = snapshot(out)
        with pytest.raises(OutputError, match=r"envoy/certs: a mount point inside the output folder"):
            build(out, SECOND)
        assert snapshot(out) == before and (certs / "key.pem").read_text() == "secret"
        assert leftovers(out) == []


def test_out_a_mount_point_swaps_a_tree_inside_it_behind_links(tmp_path: Path) -> None:
    from meshlint.compile import Artifact
    from meshlint.emit.drift import drift

    with mounted(tmp_path / "volume") as out:
        (out / "README.md").write_text("the volume's own file")
        ino = (out / "README.md").stat().st_ino
        result = build(out, FIRST)
        assert any("is a mount point" in w and ".meshlint-tree" in w for w in result.warnings)
        assert sorted(os.listdir(out)) == [".meshlint-tree", "README.md", MANIFEST, "old-mesh", "shop"]
        assert os.readlink(out / "shop") == ".meshlint-tree/shop"
        assert (out / "shop/virtual-nodes/front.json").read_text() == "front v1"
        (out / "shop" / "notes.txt").write_text("through the link")  # lands in the tree: foreign there
        build(out, SECOND)
        assert sorted(os.listdir(out)) == [".meshlint-tree", "README.md", MANIFEST, "new-mesh", "shop"]
        assert (out / "shop/virtual-nodes/front.json").read_text() == "front v2"
        assert (out / "shop" / "notes.txt").read_text() == "through the link"
        assert not (out / "shop/virtual-nodes/color.json").exists()
        assert (out / "README.md").stat().st_ino == ino
        assert drift(out, [Artifact(PurePosixPath(rel), text.encode()) for rel, text in SECOND.items()]) == []
        assert [p for p in os.listdir(out) if ".meshlint-tree.meshlint-" in p] == []  # no leftovers


def test_a_bind_mount_at_out_is_recognised_too(tmp_path: Path) -> None:
    volume = tmp_path / "volume"
    volume.mkdir()
    with mounted(volume, "--bind", str(volume)) as out:  # same device: only mountinfo tells
        build(out, FIRST)
        assert os.readlink(out / "shop") == ".meshlint-tree/shop"


def test_in_a_mount_point_a_users_entry_where_a_link_goes_is_a_conflict(tmp_path: Path) -> None:
    with mounted(tmp_path / "volume") as out:
        (out / "shop").mkdir()
        (out / "shop" / "mine.txt").write_text("x")
        with pytest.raises(OutputError, match=r"volume/shop \(a folder\)"):
            build(out, FIRST)
        assert sorted(os.listdir(out)) == ["shop"]


def test_a_long_out_name_does_not_break_the_temp_paths(tmp_path: Path) -> None:
    out = tmp_path / ("o" * 255)
    build(out, FIRST)
    build(out, SECOND)
    assert (out / "shop/virtual-nodes/front.json").read_text() == "front v2"
    assert [p.name for p in tmp_path.iterdir()] == ["o" * 255]
