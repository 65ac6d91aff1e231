"""The one writer of `--fix`: new text into an existing file, keeping everything else the file has.

Kept: every byte outside the edits (the text was decoded as read, so a CRLF or a stray CR stays; a UTF-8
BOM is written back when the file has one); the file's mode, owner and group and extended attributes (ACLs,
SELinux labels); its links. A symlink is written through: the file it names is edited and the link stays a
link. A hard-linked file keeps its inode, so every name sees the fix.

How. Normally a temporary sibling of the real file receives the new bytes and the old file's owner, group,
mode and extended attributes, is fsynced, and replaces the file in one rename: a reader or a crash sees the
old file or the new one, never a mix. When a new file cannot be the same file — it has other hard links, its
owner cannot be given to a new file (only root can), an extended attribute cannot be copied, or the folder
takes no new file — the bytes go into the file itself: growth is reserved first (posix_fallocate), so a full
disk shows before any byte changes, only the bytes from the first difference on are written, and a write
that fails anyway puts the original bytes back. That path is not atomic against a crash mid-write.

Refused, with the reason, and the file left as it was: not a regular file; no write permission, or no write
bit at all (a read-only file says "do not edit"); changed since it was read (its content is compared, and its
identity — device, inode, size, mtime — checked again right before the rename or the write), so an edit saved
while meshlint ran is never overwritten; no space, or any other failed write.
"""

from __future__ import annotations

import errno
import os
import stat
import tempfile
from pathlib import Path

BOM = b"\xef\xbb\xbf"
CHANGED = "it changed since meshlint read it (saved by an editor or another program?); run --fix again"
_NO_SPACE = (errno.ENOSPC, errno.EDQUOT)
_NOT_SAME = (errno.EPERM, errno.EACCES, errno.ENOTSUP, errno.EOPNOTSUPP)  # cannot make a new file the same


class Refused(Exception):
    """Why a file was not written; it is as it was."""


def write_text(path: Path, before: str, after: str) -> str | None:
    """Replace the file's text `before` (as read: decoded, without a BOM) with `after`. None when the file
    holds `after` now; otherwise why it was not written (the file is untouched)."""
    try:
        _write(path, before, after)
    except Refused as why:
        return str(why)
    return None


def _write(path: Path, before: str, after: str) -> None:
    real = _real(path)
    fd = _open(real, os.O_RDONLY)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise Refused("not a regular file")
        current = _read(fd)
        bom = current.startswith(BOM)
        text = _decoded(current, bom)
        if text == after:
            return  # already written (the same file named twice, through a link)
        if text != before:
            raise Refused(CHANGED)
        if not stat.S_IMODE(st.st_mode) & 0o222:
            raise Refused(f"it is read-only (mode {stat.S_IMODE(st.st_mode):04o})")
        if not os.access(real, os.W_OK):
            raise Refused("no permission to write it")
        new = (BOM if bom else b"") + after.encode("utf-8")
        if st.st_nlink > 1 or not _replace(real, fd, st, current, new):
            _in_place(real, st, current, new)
    finally:
        os.close(fd)


def _real(path: Path) -> Path:
    try:
        return path.resolve(strict=True)
    except (OSError, RuntimeError) as err:  # RuntimeError: a symlink loop, before Python 3.13
        raise Refused(f"cannot follow its links: {_reason(err)}") from None


def _open(real: Path, flags: int) -> int:
    try:  # no FIFO can block here (O_NONBLOCK), no link swapped in since can redirect it (O_NOFOLLOW)
        return os.open(real, flags | getattr(os, "O_NOFOLLOW", 0) | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as err:
        raise Refused(f"cannot open it: {_reason(err)}") from None


def _read(fd: int) -> bytes:
    chunks: list[bytes] = []
    offset = 0
    while chunk := os.pread(fd, 1 << 20, offset):
        chunks.append(chunk)
        offset += len(chunk)
    return b"".join(chunks)


def _decoded(raw: bytes, bom: bool) -> str | None:
    try:
        return raw[len(BOM) if bom else 0:].decode("utf-8")
    except UnicodeDecodeError:
        return None


def _replace(real: Path, fd: int, st: os.stat_result, current: bytes, new: bytes) -> bool:
    """Write `new` into a temporary sibling that takes the file's place in one rename. False (nothing
    changed) when the sibling could not be made the same file: the caller then writes in place."""
    try:
        tmp_fd, tmp = tempfile.mkstemp(prefix=f".{real.name}.", suffix=".meshlint-tmp", dir=real.parent)
    except OSError as err:
        if err.errno in _NOT_SAME:
            return False
        raise Refused(f"{_failed(err)}; the file is unchanged") from None
    done = False
    try:
        try:
            _write_all(tmp_fd, new, 0)
            os.fsync(tmp_fd)
        except OSError as err:
            raise Refused(f"{_failed(err)}; the file is unchanged") from None
        if not _same_file(tmp_fd, fd, st):
            return False
        _unchanged(real, fd, st, current)
        os.replace(tmp, real)
        done = True
    finally:
        os.close(tmp_fd)
        if not done:
            os.unlink(tmp)
    _fsync_folder(real.parent)
    return True


def _same_file(tmp_fd: int, fd: int, st: os.stat_result) -> bool:
    """Give the new file the old one's owner, group, mode and extended attributes; False when that fails."""
    try:
        mine = os.fstat(tmp_fd)
        if (mine.st_uid, mine.st_gid) != (st.st_uid, st.st_gid):
            os.fchown(tmp_fd, st.st_uid, st.st_gid)
        os.fchmod(tmp_fd, stat.S_IMODE(st.st_mode))  # after chown, which clears set-id bits
        if hasattr(os, "listxattr"):
            old = set(os.listxattr(fd))
            for name in set(os.listxattr(tmp_fd)) - old:  # e.g. a default ACL the folder gave the new file
                os.removexattr(tmp_fd, name)
            for name in sorted(old):
                os.setxattr(tmp_fd, name, os.getxattr(fd, name))
    except OSError as err:
        if err.errno in _NOT_SAME:
            return False
        raise Refused(f"{_failed(err)}; the file is unchanged") from None
    return True


def _in_place(real: Path, st: os.stat_result, current: bytes, new: bytes) -> None:
    fd = _open(real, os.O_RDWR)
    try:
        if _identity(os.fstat(fd)) != _identity(st) or _read(fd) != current:
            raise Refused(CHANGED)
        first = _common_prefix(current, new)
        if len(new) > len(current) and hasattr(os, "posix_fallocate"):
            try:
                os.posix_fallocate(fd, len(current), len(new) - len(current))
            except OSError as err:
                os.ftruncate(fd, len(current))
                if err.errno not in (errno.EOPNOTSUPP, errno.EINVAL):  # no reservation on this file system
                    raise Refused(f"{_failed(err)}; the file is unchanged") from None
        try:
            _write_all(fd, new[first:], first)
            os.ftruncate(fd, len(new))
            os.fsync(fd)
        except OSError as err:
            _put_back(fd, current, first, err)
    finally:
        os.close(fd)


def _common_prefix(a: bytes, b: bytes) -> int:
    """Length of the longest common prefix (binary search over memcmp: fast on a 64 MiB file)."""
    va, vb = memoryview(a), memoryview(b)
    low, high = 0, min(len(a), len(b))
    while low < high:
        mid = (low + high + 1) // 2
        if va[low:mid] == vb[low:mid]:
            low = mid
        else:
            high = mid - 1
    return low


def _put_back(fd: int, current: bytes, first: int, err: OSError) -> None:
    try:
        _write_all(fd, current[first:], first)
        os.ftruncate(fd, len(current))
        os.fsync(fd)
    except OSError:
        raise Refused(f"{_failed(err)}, and writing the original bytes back failed too: check the file") from None
    raise Refused(f"{_failed(err)}; the original bytes were written back") from None


def _unchanged(real: Path, fd: int, st: os.stat_result, current: bytes) -> None:
    """Right before the rename: the same file (not replaced by an editor's save) with the same bytes."""
    try:
        now = os.lstat(real)
    except OSError:
        raise Refused(CHANGED) from None
    if _identity(now) != _identity(st) or _read(fd) != current:
        raise Refused(CHANGED)


def _identity(st: os.stat_result) -> tuple[int, int, int, int]:
    return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns


def _write_all(fd: int, data: bytes, offset: int) -> None:
    view = memoryview(data)
    while view:
        written = os.pwrite(fd, view, offset)
        view, offset = view[written:], offset + written


def _fsync_folder(folder: Path) -> None:
    """Make the rename durable; a file system that cannot fsync a folder has nothing more to do."""
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _failed(err: OSError) -> str:
    if err.errno in _NO_SPACE:
        return "no space left on the device (disk or quota full)"
    return f"cannot write it: {_reason(err)}"


def _reason(err: BaseException) -> str:
    return (err.strerror if isinstance(err, OSError) and err.strerror else str(err)) or type(err).__name__
