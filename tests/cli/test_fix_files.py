"""--fix on the files users really have: modes, owners, symlinks, hard links, BOMs, CRLF, a full disk, a file
edited while meshlint runs. The fixed file is the same file with only the weights changed; what cannot be
fixed safely is refused with a message naming the file, and left byte for byte as it was."""

from __future__ import annotations

import contextlib
import os
import resource
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.gate_support import MESH, ROUTE

TEXT = f"{MESH}---\n{ROUTE}"
FIXED = TEXT.replace("weight: 80}", "weight: 89}").replace("weight: 10\n", "weight: 11\n")
ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
NEEDS_ROOT = pytest.mark.skipif(not ROOT, reason="changing a file's owner (or mounting a small file system) "
                                "needs root")


def fix(folder: Path, *names: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "meshlint", "check", *names, "--fix", "--select", "weights-sum"],
                          cwd=folder, capture_output=True, text=True, timeout=60, **kwargs)  # type: ignore[call-overload]


@pytest.mark.parametrize("mode", [0o600, 0o640, 0o664, 0o2755], ids=oct)
def test_mode_is_kept(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "a.yaml"
    path.write_text(TEXT)
    path.chmod(mode)
    proc = fix(tmp_path, "a.yaml")
    assert "fixed a.yaml" in proc.stderr, proc.stderr
    assert path.read_text() == FIXED
    assert stat.S_IMODE(path.stat().st_mode) == mode


def test_symlinks_are_written_through(tmp_path: Path) -> None:
    real = tmp_path / "real" / "a.yaml"
    real.parent.mkdir()
    real.write_text(TEXT)
    (tmp_path / "hop.yaml").symlink_to("real/a.yaml")
    (tmp_path / "link.yaml").symlink_to("hop.yaml")  # a link to a link
    proc = fix(tmp_path, "link.yaml")
    assert "fixed link.yaml" in proc.stderr, proc.stderr
    assert real.read_text() == FIXED
    assert os.readlink(tmp_path / "link.yaml") == "hop.yaml"
    assert os.readlink(tmp_path / "hop.yaml") == "real/a.yaml"
    assert sorted(p.name for p in real.parent.iterdir()) == ["a.yaml"]  # no temporary file left


def test_the_same_file_named_twice_is_fixed_once(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(TEXT)
    (tmp_path / "b.yaml").symlink_to("a.yaml")
    proc = fix(tmp_path, "a.yaml", "b.yaml")
    assert "not fixed" not in proc.stderr, proc.stderr
    assert (tmp_path / "a.yaml").read_text() == FIXED


def test_hard_links_are_kept(tmp_path: Path) -> None:
    path = tmp_path / "a.yaml"
    path.write_text(TEXT)
    os.link(path, tmp_path / "other-name.yml")
    inode = path.stat().st_ino
    proc = fix(tmp_path, "a.yaml")
    assert "fixed a.yaml" in proc.stderr, proc.stderr
    assert path.stat().st_ino == inode and path.stat().st_nlink == 2
    assert (tmp_path / "other-name.yml").read_text() == FIXED


@pytest.mark.parametrize("eol", ["\n", "\r\n"])
def test_bom_and_line_endings_are_kept(tmp_path: Path, eol: str) -> None:
    path = tmp_path / "a.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + TEXT.replace("\n", eol).encode())
    proc = fix(tmp_path, "a.yaml")
    assert "fixed a.yaml" in proc.stderr, proc.stderr
    assert path.read_bytes() == b"\xef\xbb\xbf" + FIXED.replace("\n", eol).encode()


def test_read_only_files_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "a.yaml"
    path.write_text(TEXT)
    path.chmod(0o444)
    proc = fix(tmp_path, "a.yaml")
    assert "meshlint: a.yaml: not fixed: it is read-only (mode 0444)" in proc.stderr, proc.stderr
    assert path.read_text() == TEXT


def test_a_failed_write_leaves_the_file_and_says_so(tmp_path: Path) -> None:
    """The write fails half-way (a file size limit stands in for a full disk): no traceback, the file intact."""
    path = tmp_path / "a.yaml"
    path.write_text(TEXT)

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (64, 64))

    proc = fix(tmp_path, "a.yaml", preexec_fn=limit)
    assert "meshlint: a.yaml: not fixed: cannot write it: File too large; the file is unchanged" in proc.stderr, \
        proc.stderr
    assert "Traceback" not in proc.stderr
    assert path.read_text() == TEXT
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.yaml"]


def test_an_edit_made_while_fix_runs_is_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Someone saves the file after meshlint read it and before it writes: their edit wins, meshlint refuses."""
    from typer.testing import CliRunner

    import meshlint.fix
    from meshlint.cli import app

    path = tmp_path / "a.yaml"
    path.write_text(TEXT)
    planned = meshlint.fix.plan

    def plan_then_edit(*args: object, **kwargs: object) -> object:
        out = planned(*args, **kwargs)  # type: ignore[arg-type]
        path.write_text(TEXT.replace("# stable", "# stable, edited meanwhile"))
        return out

    monkeypatch.setattr(meshlint.fix, "plan", plan_then_edit)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["check", "a.yaml", "--fix", "--select", "weights-sum"])
    assert path.read_text() == TEXT.replace("# stable", "# stable, edited meanwhile")
    assert "a.yaml: not fixed: it changed since meshlint read it" in result.output


def test_an_editor_save_by_rename_is_kept(tmp_path: Path) -> None:
    from meshlint.fix.write import write_text

    path = tmp_path / "a.yaml"
    path.write_text(TEXT)
    saved = tmp_path / "a.yaml.swp"
    saved.write_text(TEXT.replace("80", "70"))
    saved.replace(path)
    assert write_text(path, TEXT, FIXED) == ("it changed since meshlint read it (saved by an editor or another "
                                            "program?); run --fix again")
    assert path.read_text() == TEXT.replace("80", "70")


@NEEDS_ROOT
def test_owner_and_group_are_kept(tmp_path: Path) -> None:
    path = tmp_path / "a.yaml"
    path.write_text(TEXT)
    os.chown(path, 12345, 23456)
    path.chmod(0o640)
    proc = fix(tmp_path, "a.yaml")
    assert "fixed a.yaml" in proc.stderr, proc.stderr
    st = path.stat()
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (12345, 23456, 0o640)
    assert path.read_text() == FIXED


@NEEDS_ROOT
def test_another_users_file_is_fixed_in_place_as_that_user() -> None:
    """A user who may write the file but cannot give a new file its owner: written in place, owner kept."""
    import shutil
    import tempfile

    from meshlint.fix.write import write_text

    folder = Path(tempfile.mkdtemp())  # in /tmp itself: the test's own tmp_path is not open to other users
    try:
        folder.chmod(0o777)
        path = folder / "a.yaml"
        path.write_text(TEXT)
        os.chown(path, 12345, 12345)
        path.chmod(0o666)
        os.setegid(65534)
        os.seteuid(65534)
        try:
            problem = write_text(path, TEXT, FIXED)
        finally:
            os.seteuid(0)
            os.setegid(0)
        assert problem is None
        st = path.stat()
        assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (12345, 12345, 0o666)
        assert path.read_text() == FIXED
        assert sorted(p.name for p in folder.iterdir()) == ["a.yaml"]
    finally:
        shutil.rmtree(folder)


@contextlib.contextmanager
def small_disk(folder: Path) -> Iterator[Path]:
    """A 64 KiB tmpfs mounted at `folder`; skips when this machine does not allow mounting."""
    folder.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(folder)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=True)


def _fill(folder: Path) -> None:
    with contextlib.suppress(OSError), (folder / "filler").open("wb", buffering=0) as handle:
        while True:
            handle.write(b"x" * 4096)


@NEEDS_ROOT
def test_a_full_disk_leaves_the_file_and_says_so(tmp_path: Path) -> None:
    with small_disk(tmp_path / "disk") as disk:
        path = disk / "a.yaml"
        path.write_text(TEXT)
        _fill(disk)
        proc = fix(disk, "a.yaml")
        assert "meshlint: a.yaml: not fixed: no space left on the device (disk or quota full); the file is " \
               "unchanged" in proc.stderr, proc.stderr
        assert "Traceback" not in proc.stderr
        assert path.read_text() == TEXT
        assert sorted(p.name for p in disk.iterdir()) == ["a.yaml", "filler"]


@NEEDS_ROOT
def test_a_full_disk_leaves_a_hard_linked_file_too(tmp_path: Path) -> None:
    """Written in place (a hard link): the growth is reserved before any byte changes."""
    short = TEXT.replace("weight: 80}", "weight: 8}").replace("weight: 10\n", "weight: 1\n")  # -> 89, 11
    text = short + "#" * (4096 - len(short) - 1) + "\n"  # exactly one page: the fixed text needs a second one
    with small_disk(tmp_path / "disk") as disk:
        path = disk / "a.yaml"
        path.write_text(text)
        os.link(path, disk / "b.yaml")
        _fill(disk)
        proc = fix(disk, "a.yaml")
        assert "meshlint: a.yaml: not fixed: no space left on the device" in proc.stderr, proc.stderr
        assert path.read_text() == text and path.stat().st_nlink == 2
