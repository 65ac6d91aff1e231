"""The atomic output writer of `meshlint build`: DIR holds the whole old tree or the whole new one, never a mix.

Ownership (manifest.py): a file is meshlint's only when `meshlint-manifest.json` lists it and it still has the
bytes (sha256) and the single link it had when meshlint wrote it. Every other entry is *foreign* and survives
each build: files, FIFOs and sockets keep their inode (hard links into the new tree, never opened or copied),
symlinks are recreated (never followed), folders are recreated with their owner, group, mode and times. A
foreign entry where this build wants to write is a conflict (OutputError), unless it is a single-link file
holding exactly those bytes. A manifest meshlint did not write is a conflict too: the build refuses.

Atomicity: the new tree is written into a temp sibling on the same filesystem, fsynced entry by entry once
complete, then exchanged with DIR in one step by Linux `renameat2(RENAME_EXCHANGE)`. Without it (not Linux, or
a filesystem without RENAME_EXCHANGE) DIR is renamed aside and the new tree renamed in: for an instant DIR does
not exist. What a killed build leaves beside DIR, the next build undoes, guided by the record the killed build
wrote first (leftovers.py); nothing beside DIR without such a record is ever removed or adopted.

DIR a mount point (a container volume): it cannot be renamed, so the tree lives in DIR/.meshlint-tree, swapped
the same way, and each top-level entry of the tree is a symlink in DIR (mounted.py).
"""

from __future__ import annotations

import ctypes
import errno
import hashlib
import os
import shutil
from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from meshlint.compile import Artifact
from meshlint.emit import leftovers, manifest, mounted
from meshlint.emit.manifest import MANIFEST
from meshlint.emit.tree import (
    Ident,
    Kind,
    OutputError,
    describe,
    ident,
    inside,
    is_mount_point,
    keep_owner,
    mkdirs,
    safe_relpath,
    sha256_of,
    walk,
)

__all__ = ["MANIFEST", "OutputError", "WriteResult", "refuse_inputs", "resolve_out", "safe_relpath", "write_tree"]
_inside, _walk = inside, walk  # the names tests reach for
_AT_FDCWD, _RENAME_EXCHANGE = -100, 2


@dataclass(frozen=True)
class WriteResult:
    files: list[str]  # every file this build wrote, the manifest included (relative POSIX paths, sorted)
    removed: list[str]  # files the previous build wrote and this one did not
    kept: list[str]  # foreign files, symlinks and special files carried over unchanged
    warnings: list[str] = field(default_factory=list)


@dataclass
class _Old:
    owned: dict[str, Ident]  # meshlint's files (manifest.ownership), with their identity when scanned
    foreign: dict[str, Kind]  # relative path -> kind, parents before children
    disowned: dict[str, str]  # listed in the manifest, but no longer meshlint's: path -> why


def resolve_out(out: Path) -> Path:
    """The real folder a build replaces. Raises OutputError when `out` cannot be an output folder."""
    if out.is_symlink() and not out.exists():
        raise OutputError(f"{out}: a symlink to {os.readlink(out)!r}, which does not exist")
    if out.exists() and not out.is_dir():
        raise OutputError(f"{out}: exists and is not a folder")
    # `out` a symlink to a folder: replace the folder it points at, with the temp sibling beside that folder
    # (same filesystem, so the swap stays one rename), and leave the link itself alone.
    target = out.resolve()
    cwd = Path.cwd().resolve()
    if target == cwd or target in cwd.parents:
        raise OutputError(f"{out}: the output folder must not be the current folder or contain it")
    return target


def refuse_inputs(out: Path, inputs: Sequence[str]) -> None:
    """OutputError when an input is `out` or inside it: `out` is never read as input, so the build would
    silently compile an empty mesh (and replace the input folder). `out` inside an input is fine: it is
    left out of the input."""
    target = resolve_out(out)
    for given in inputs:
        if given == "-":
            continue
        path = Path(given).resolve()
        if path == target or target in path.parents:
            where = "is the output folder" if path == target else f"is inside the output folder {out}"
            raise OutputError(f"{given}: {where}; the output folder is replaced by each build and never read as "
                              "input. Write the output elsewhere, e.g. --out build/envoy")


def write_tree(out: Path, artifacts: Sequence[Artifact], generator: str) -> WriteResult:
    """Make `out` hold `artifacts` plus the manifest and its foreign entries, atomically.

    Raises OutputError for a folder that cannot be written safely (DIR is then untouched) and ValueError
    for an artifact path that could leave it (a bug in the caller).
    """
    target = resolve_out(out)
    files = _planned(artifacts, generator)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.is_dir() and is_mount_point(target):
            with _turn(target):
                tops, created = mounted.prepare(out, target, files)
                try:
                    result = _write(out / mounted.TREE, target / mounted.TREE, files)
                except BaseException:
                    mounted.undo(target, created)
                    raise
                mounted.finish(target, tops)
            return WriteResult(result.files, result.removed, result.kept, [*result.warnings, mounted.note(out)])
        with _turn(target.parent):
            return _write(out, target, files)
    except OSError as err:
        raise OutputError(f"cannot write {out}: {err}") from err


def _planned(artifacts: Sequence[Artifact], generator: str) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    for artifact in artifacts:
        rel = safe_relpath(artifact.path)
        if rel in files or rel == MANIFEST:
            raise ValueError(f"artifact path {rel!r} is given twice or reserved")
        files[rel] = artifact.content
    folders = {str(p) for rel in files for p in PurePosixPath(rel).parents}
    if both := sorted(folders & {*files, MANIFEST}):
        raise ValueError(f"artifact path {both[0]!r} is both a file and a folder")
    files[MANIFEST] = manifest.render(files, generator)
    return files


def _write(out: Path, target: Path, files: Mapping[str, bytes]) -> WriteResult:
    warnings = leftovers.recover(out, target)
    old = _scan(out, target)
    _check_conflicts(out, target, files, old)
    record = leftovers.Record.create(target)
    tmp = record.tmp
    try:
        tmp.mkdir()  # after the record, so that a kill from here on leaves nothing it does not account for
    except BaseException:
        record.remove()
        raise
    try:
        _populate(out, tmp, target, files, old.foreign)
        previous = _swap(tmp, target)
    except BaseException:
        _remove(tmp)
        record.remove()
        raise
    if previous is not None:
        try:
            warnings += _retire(previous, target, old.owned, files.keys())
        except OSError as err:  # the new tree is in place; the record lets the next build finish the job
            warnings.append(f"{out}: written, but the previous tree at {previous} was not removed: {err}")
            return _result(files, old, warnings)
    record.remove()
    return _result(files, old, warnings)


def _result(files: Mapping[str, bytes], old: _Old, warnings: list[str]) -> WriteResult:
    kept = [rel for rel, kind in old.foreign.items() if kind != "dir"]
    notes = [f"{rel}: listed in {MANIFEST}, but {why}: kept, no longer meshlint's"
             for rel, why in sorted(old.disowned.items()) if rel not in files]
    return WriteResult(sorted(files), sorted(old.owned.keys() - files.keys()), kept, [*notes, *warnings])


@contextmanager
def _turn(folder: Path) -> Iterator[None]:
    """Builds into one parent folder take turns (flock), so a record found there is always a leftover."""
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        with suppress(ImportError, OSError):  # no flock (not POSIX, some NFS): proceed unlocked
            import fcntl

            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _scan(out: Path, target: Path) -> _Old:
    if not target.exists():
        return _Old({}, {}, {})
    entries = dict(walk(target))
    if mounts := sorted(rel for rel, kind in entries.items() if kind == "mount"):
        raise OutputError(f"{out / mounts[0]}: a mount point inside the output folder; a build replaces the "
                          f"folder in one step and cannot carry a mount into the new tree: mount it outside {out}, "
                          f"or mount the volume at {out} itself (see README: Guarantees)")
    found = manifest.ownership(target, entries)
    if found.problem is not None:
        raise OutputError(f"{out / MANIFEST}: not a manifest meshlint wrote ({found.problem}); meshlint never "
                          "replaces a file it cannot prove it wrote: move it away and build again (every file in "
                          f"{out} then counts as foreign)")
    ours = {str(p) for rel in found.owned for p in PurePosixPath(rel).parents}
    foreign = {rel: kind for rel, kind in entries.items()
               if rel not in found.owned and not (kind == "dir" and rel in ours)}
    return _Old(found.owned, foreign, found.disowned)


def _check_conflicts(out: Path, target: Path, files: Mapping[str, bytes], old: _Old) -> None:
    """Refuse to replace a foreign entry, unless it is a single-link file that already holds the generated
    bytes (adopted: nothing is lost by replacing it)."""
    clashes: list[str] = []
    for rel, content in files.items():
        blocking = [str(p) for p in PurePosixPath(rel).parents if old.foreign.get(str(p), "dir") != "dir"]
        if blocking:
            clashes.append(f"{blocking[0]} (meshlint needs a folder there)")
        elif rel in old.foreign:
            hashed = sha256_of(target / rel) if old.foreign[rel] == "file" else None
            if hashed is not None and hashed[0] == hashlib.sha256(content).hexdigest():
                del old.foreign[rel]
                old.owned[rel] = hashed[1]
            else:
                clashes.append(f"{rel} ({old.disowned.get(rel) or describe(os.lstat(target / rel))})")
    if clashes:
        raise OutputError(f"{out}: refusing to replace what is not meshlint's (not in {MANIFEST}, or changed since "
                          f"meshlint wrote it): {', '.join(sorted(set(clashes)))}; move it away or delete it, "
                          "then build again")


def _populate(out: Path, tmp: Path, source: Path, files: Mapping[str, bytes], foreign: Mapping[str, Kind]) -> None:
    root = os.path.realpath(tmp)
    if os.path.isdir(source):
        keep_owner(out, source, root, times=False)
    for rel, content in sorted(files.items()):
        _write_file(inside(root, rel), content)
    for rel, kind in foreign.items():
        try:
            if kind == "dir":
                mkdirs(root, rel.split("/"))
            elif kind == "link":
                path = inside(root, rel)
                os.symlink(os.readlink(source / rel), path)
                keep_owner(out / rel, source / rel, path, times=False)
            else:  # a file, FIFO, socket or device: the same inode, never opened
                os.link(source / rel, inside(root, rel), follow_symlinks=False)
        except OSError as err:
            raise OutputError(f"{out / rel}: cannot carry this entry meshlint did not write into the new tree "
                              f"({err.strerror or err}); move it out of {out}, then build again") from None
    for rel, kind in reversed(list(foreign.items())):  # children first: adding an entry changes a folder's mtime
        if kind == "dir":
            keep_owner(out / rel, source / rel, os.path.join(root, rel), times=True)
    _flush(root, files)


def _flush(root: str, files: Mapping[str, bytes]) -> None:
    """Make the new tree durable before it replaces DIR: fsync every generated file and every folder, once all
    are written (fsync right after each write made ext4 commit its journal once per file, 1.3 s for a 2,000-file
    tree against 0.4 s this way). Carried-over entries are not ours to open: a FIFO would block."""
    for rel in files:
        _fsync(os.path.join(root, rel))
    for folder, _, _ in os.walk(root):
        _fsync(folder)


def _write_file(path: str, content: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o666)
    with os.fdopen(fd, "wb") as handle:
        handle.write(content)


def _fsync(path: str | Path) -> None:
    """fsync a file or folder (never through a symlink)."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    except OSError as err:
        if err.errno != errno.EINVAL:  # some filesystems cannot fsync a folder
            raise
    finally:
        os.close(fd)


def _swap(tmp: Path, target: Path) -> Path | None:
    """Put `tmp` in place of `target`; return where the previous tree is now (None: there was none)."""
    if not os.path.lexists(target):
        os.rename(tmp, target)
        return None
    if _exchange(tmp, target):
        return tmp
    # Not fully atomic: between these two renames `target` does not exist; the record repairs a kill.
    aside = leftovers.sibling(target, "old", tmp.name.rsplit("-", 1)[-1])
    os.rename(target, aside)
    try:
        os.rename(tmp, target)
    except BaseException:
        os.rename(aside, target)
        raise
    return aside


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one step (Linux renameat2 RENAME_EXCHANGE). False where that is unavailable."""
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError, TypeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    renameat2.restype = ctypes.c_int
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL):  # an old kernel, or a filesystem without RENAME_EXCHANGE
        return False
    raise OSError(code, os.strerror(code), str(b))


def _retire(previous: Path, target: Path, owned: Mapping[str, Ident], generated: Collection[str]) -> list[str]:
    """Remove the previous tree: what the scan proved meshlint's and nobody touched since, and second links of
    what was carried over; move into DIR what someone wrote into it while the build ran (leftovers.retire)."""
    _fsync(target.parent)
    return leftovers.retire(previous, target, lambda rel, st: owned.get(rel) == ident(st), generated)


def _remove(path: Path) -> None:
    """Remove a temp tree this process created (never one it found)."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif os.path.lexists(path):
        path.unlink()
