"""Looking at an output tree without trusting it: walk it without following links or crossing mounts, and
read a file only when it is a regular file with one link, never opening a FIFO, socket or device (opening a
FIFO blocks until a writer appears; a socket cannot be opened at all).
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import stat
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path, PurePosixPath
from typing import Literal, TypeVar

Kind = Literal["dir", "file", "link", "special", "mount"]
NAME_MAX = 255  # bytes in one file name: ext4, XFS, Btrfs, tmpfs, overlayfs (NTFS and APFS: 255 characters)
Ident = tuple[int, int, int, int, int]  # st_dev, st_ino, st_size, st_mtime_ns, st_ctime_ns: changes with any write
_OPEN = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
_CHUNK = 1 << 20
_OCTAL = re.compile(rb"\\([0-7]{3})")
_T = TypeVar("_T")


class OutputError(Exception):
    """The output folder cannot be written safely: a usage or environment problem (exit 2), not a bug."""


def safe_relpath(path: PurePosixPath | str) -> str:
    """`path` as a relative POSIX path that cannot leave the output folder, each name within NAME_MAX bytes;
    ValueError otherwise."""
    text = str(path)
    parts = text.split("/")
    if text.startswith("/") or any(p in ("", ".", "..") or "\\" in p or "\0" in p for p in parts):
        raise ValueError(f"unsafe artifact path {text!r}: it must be relative and normalised, without '..', "
                         "'.', empty parts or backslashes")
    if any(len(os.fsencode(p)) > NAME_MAX for p in parts):
        raise ValueError(f"artifact path {text[:80]!r}...: a name longer than {NAME_MAX} bytes")
    return text


def describe(st: os.stat_result) -> str:
    """'a FIFO', 'a socket', ... for a message."""
    for test, word in ((stat.S_ISLNK, "a symlink"), (stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO"),
                       (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device")):
        if test(st.st_mode):
            return word
    return f"a file with {st.st_nlink} hard links" if st.st_nlink > 1 else "a file"


def kind_of(st: os.stat_result, root_dev: int) -> Kind:
    """What an lstat result is, as far as the writer cares. A folder on another device is a mount point."""
    if stat.S_ISLNK(st.st_mode):
        return "link"
    if stat.S_ISDIR(st.st_mode):
        return "dir" if st.st_dev == root_dev else "mount"
    return "file" if stat.S_ISREG(st.st_mode) else "special"


def walk(root: Path | str, rel: str = "") -> Iterator[tuple[str, Kind]]:
    """(relative path, kind) of everything under `root`, parents first, sorted by name. Never follows a link
    and never descends into a mount point (a bind mount of the same device included, see `mount_points`)."""
    root = str(root)
    mounts = mount_points()
    yield from _walk(root, rel, os.lstat(root).st_dev, mounts)


def _walk(root: str, rel: str, dev: int, mounts: frozenset[str]) -> Iterator[tuple[str, Kind]]:
    folder = os.path.join(root, rel) if rel else root
    with os.scandir(folder) as found:
        entries = sorted(found, key=lambda e: e.name)
    for entry in entries:
        path = f"{rel}/{entry.name}" if rel else entry.name
        kind = kind_of(entry.stat(follow_symlinks=False), dev)
        if kind == "dir" and os.path.realpath(entry.path) in mounts:
            kind = "mount"
        yield path, kind
        if kind == "dir":
            yield from _walk(root, path, dev, mounts)


def mount_points() -> frozenset[str]:
    """Every mount point of this process (Linux /proc/self/mountinfo), bind mounts included, which a device
    number comparison misses. Empty where there is no mountinfo."""
    try:
        with open("/proc/self/mountinfo", "rb") as handle:
            lines = handle.read().splitlines()
    except OSError:
        return frozenset()
    points = set()
    for line in lines:
        fields = line.split(b" ")
        if len(fields) > 4:  # the kernel writes a space as \040, a backslash as \134
            points.add(os.fsdecode(_OCTAL.sub(lambda m: bytes([int(m[1], 8) & 0xFF]), fields[4])))
    return frozenset(points)


def is_mount_point(path: Path) -> bool:
    return os.path.ismount(path) or str(path) in mount_points()


def ident(st: os.stat_result) -> Ident:
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def open_regular(path: Path | str) -> tuple[int, os.stat_result] | None:
    """An open fd and its stat when `path` is a regular file with exactly one link; else None. Never blocks:
    O_NONBLOCK keeps a FIFO swapped in after an lstat from hanging the open, and fstat then refuses it."""
    try:
        if not stat.S_ISREG(os.lstat(path).st_mode):
            return None
        fd = os.open(path, _OPEN)
    except OSError:
        return None
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode) or st.st_nlink != 1:
        os.close(fd)
        return None
    return fd, st


def read_regular(path: Path | str, limit: int) -> tuple[bytes, Ident] | None:
    """The bytes and identity of a regular single-link file of at most `limit` bytes; None otherwise."""
    opened = open_regular(path)
    if opened is None:
        return None
    fd, st = opened
    try:
        if st.st_size > limit:
            return None
        with os.fdopen(fd, "rb", closefd=False) as handle:
            data = handle.read(limit + 1)
        return (data, ident(os.fstat(fd))) if len(data) <= limit else None
    except OSError:
        return None
    finally:
        os.close(fd)


def sha256_of(path: Path | str) -> tuple[str, Ident] | None:
    """sha256 and identity of a regular single-link file, or None (anything else, unreadable, or changed
    while it was read)."""
    opened = open_regular(path)
    if opened is None:
        return None
    fd, before = opened
    digest = hashlib.sha256()
    try:
        while chunk := os.read(fd, _CHUNK):
            digest.update(chunk)
        after = os.fstat(fd)
    except OSError:
        return None
    finally:
        os.close(fd)
    if ident(before) != ident(after):
        return None
    return digest.hexdigest(), ident(after)


def holds(path: Path | str, content: bytes) -> bool:
    """Whether `path` is a regular single-link file holding exactly `content`."""
    found = sha256_of(path)
    return found is not None and found[1][2] == len(content) and found[0] == hashlib.sha256(content).hexdigest()


def mkdirs(root: str, parts: Sequence[str]) -> str:
    """`root/parts...`, each folder created when missing; never through a symlink or a file."""
    path = root
    for part in parts:
        path = os.path.join(path, part)
        try:
            os.mkdir(path)
        except FileExistsError:
            if not stat.S_ISDIR(os.lstat(path).st_mode):  # a symlink or a file: never write through it
                raise ValueError(f"{path}: not a folder; refusing to write through it") from None
    return path


def inside(root: str, rel: str) -> str:
    """`root/rel`, its parent folders created; raises when that resolves outside `root` (a bug)."""
    parts = safe_relpath(rel).split("/")
    path = os.path.join(mkdirs(root, parts[:-1]), parts[-1])
    if not os.path.realpath(path).startswith(root + os.sep):
        raise ValueError(f"{rel!r} resolves outside the output folder; refusing to write it")
    return path


def same_entry(a: Path, b: Path) -> bool:
    """Whether `b` is the same file as `a` (another link to its inode) or a symlink with the same target."""
    try:
        sa, sb = os.lstat(a), os.lstat(b)
    except FileNotFoundError:
        return False
    if stat.S_ISLNK(sa.st_mode) and stat.S_ISLNK(sb.st_mode):
        return os.readlink(a) == os.readlink(b)
    return (sa.st_dev, sa.st_ino) == (sb.st_dev, sb.st_ino)


def keep_owner(shown: Path, source: Path, copy: str, *, times: bool) -> None:
    """Give `copy` the owner, group and mode of `source` (and its times and extended attributes: `times`).
    A folder whose owner cannot be kept (another user's, and this build is not root) is refused."""
    was, now = os.lstat(source), os.lstat(copy)
    if (was.st_uid, was.st_gid) != (now.st_uid, now.st_gid):
        try:
            os.chown(copy, was.st_uid, was.st_gid, follow_symlinks=False)
        except PermissionError:
            raise OutputError(f"{shown}: owned by uid {was.st_uid} gid {was.st_gid}; the build recreates it in the "
                              f"new tree and cannot keep that owner as uid {os.geteuid()}: build as its owner (or "
                              "root), or move it out of the output folder") from None
    if stat.S_ISLNK(was.st_mode):
        return
    if times:
        shutil.copystat(source, copy, follow_symlinks=False)
    else:
        os.chmod(copy, stat.S_IMODE(was.st_mode))


def each(action: Callable[[_T], object], items: Iterable[_T]) -> None:
    """`action` on every item, sixteen at a time, for work that waits on the disk (fsync, unlink): those waits
    overlap, and ext4 commits its journal once for all the fsyncs waiting on it. Raises the first error."""
    with ThreadPoolExecutor(16) as pool:
        for _ in pool.map(action, items):
            pass
