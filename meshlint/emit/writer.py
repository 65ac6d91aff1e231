"""The atomic output writer of `meshlint build`: DIR holds the whole old tree or the whole new one, never a mix.

Ownership (manifest.py): a file is meshlint's only when `meshlint-manifest.json` lists it and it still has the
bytes (sha256) and the single link it had when meshlint wrote it. Every other entry is *foreign* and survives
each build: files, FIFOs and sockets keep their inode (hard links into the new tree, never opened or copied),
symlinks are recreated (never followed), folders are recreated with their owner, group, mode and times. A
foreign entry where this build wants to write is a conflict (OutputError), unless it is a single-link file
holding exactly those bytes. A manifest meshlint did not write is a conflict too: the build refuses.

Atomicity: the new tree is written into a temp sibling on the same filesystem, file by file as the build makes
them (NewTree), fsynced entry by entry once complete, then exchanged with DIR in one step by Linux
`renameat2(RENAME_EXCHANGE)`. Without it (not Linux, or a filesystem without RENAME_EXCHANGE) DIR is renamed
aside and the new tree renamed in: for an instant DIR does not exist. What a killed build leaves beside DIR,
the next build undoes, guided by the record the killed build wrote first (leftovers.py); nothing beside DIR
without such a record is ever removed or adopted.

DIR a mount point (a container volume): it cannot be renamed, so the tree lives in DIR/.meshlint-tree, swapped
the same way, and each top-level entry of the tree is a symlink in DIR (mounted.py).
"""

from __future__ import annotations

import ctypes
import errno
import hashlib
import os
import queue
import shutil
import threading
from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager, suppress
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
    each,
    ident,
    inside,
    is_mount_point,
    keep_owner,
    mkdirs,
    safe_relpath,
    sha256_of,
    walk,
)

__all__ = ["MANIFEST", "NewTree", "OutputError", "WriteResult", "refuse_inputs", "resolve_out", "safe_relpath",
           "write_tree"]
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

    Raises OutputError for a folder that cannot be written safely (DIR is then untouched) and ValueError,
    before anything is written, for an artifact path that could leave it (a bug in the caller).
    """
    paths = _Paths()
    for artifact in artifacts:
        paths.claim(artifact.path)
    with NewTree(out) as tree:
        for artifact in artifacts:
            tree.add(artifact)
        return tree.commit(generator)


class NewTree:
    """The next tree of an output folder, written file by file as the build makes each one (so that a large
    build never holds its output in memory), then swapped in whole by `commit`. Until then DIR is untouched;
    closing the tree without a commit (the build found an error, or failed) removes whatever it made.

        with NewTree(out) as tree:
            for artifact in artifacts:
                tree.add(artifact)
            result = tree.commit(generator)

    Builds into one parent folder take turns for as long as a tree is open. Raises OutputError for a folder
    that cannot be written safely, ValueError for an artifact path that could leave it (a bug in the caller).
    """

    def __init__(self, out: Path) -> None:
        target = resolve_out(out)
        self._out = out
        self._paths = _Paths()
        self._writer = _Writer()  # what this tree holds, written on a thread of its own
        self._swapped = False
        self._links: list[str] = []  # DIR a mount point: the links to the tree this build made in it
        self._closing = ExitStack()
        try:
            with _as_output_error(out):
                self._open(target)
        except BaseException:
            self.close()
            raise

    def _open(self, target: Path) -> None:
        self._closing.callback(self._unmake, _make_folders(target.parent))
        self._mount = target if target.is_dir() and is_mount_point(target) else None
        self._closing.enter_context(_turn(target if self._mount else target.parent))
        if self._mount:
            mounted.check_tree(self._out, target)
        self._shown, self._target = (self._out / mounted.TREE, target / mounted.TREE) if self._mount else (
            self._out, target)
        self._warnings = leftovers.recover(self._shown, self._target)
        self._old = _scan(self._shown, self._target)
        self._record = leftovers.Record.create(self._target)
        self._closing.callback(self._undo)
        self._record.tmp.mkdir()  # after the record, so that a kill from here on leaves nothing it does not account for
        self._root = os.path.realpath(self._record.tmp)
        self._closing.callback(self._writer.stop)  # runs before _undo: nothing is written into a removed tree
        if os.path.isdir(self._target):
            keep_owner(self._shown, self._target, self._root, times=False)
        self._folders: dict[str, str] = {}  # folder of the new tree (relative) -> its path, made and checked

    def __enter__(self) -> NewTree:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def add(self, artifact: Artifact) -> None:
        """Write one file into the new tree."""
        rel = self._paths.claim(artifact.path)
        with _as_output_error(self._out):
            self._writer.put(self._place(rel), rel, artifact.content)

    def _place(self, rel: str) -> str:
        """Where `rel` goes in the new tree (tree.inside), its folder made and checked once for all the files in
        it rather than for each (2,000 files in two folders: 20,000 system calls fewer). A name without '/'
        inside a checked folder stays inside it: the tree is this build's own, and _write_file neither follows
        nor replaces anything already there."""
        folder, _, name = rel.rpartition("/")
        made = self._folders.get(folder)
        if made is None:
            path = inside(self._root, rel)
            self._folders[folder] = os.path.dirname(path)
            return path
        return os.path.join(made, name)

    def commit(self, generator: str) -> WriteResult:
        """Complete the tree (the manifest, the foreign entries, fsync), swap it in, remove the previous one."""
        with _as_output_error(self._out):
            result = self._commit(generator)
        self.close()
        return result

    def close(self) -> None:
        """Remove what this tree made unless it was swapped in, and let the next build in. Idempotent."""
        with _as_output_error(self._out):
            self._closing.close()

    def _commit(self, generator: str) -> WriteResult:
        digests = self._writer.finish()
        content = manifest.render(digests, generator)
        _write_file(os.path.join(self._root, MANIFEST), content)
        files = {**digests, MANIFEST: hashlib.sha256(content).hexdigest()}
        old, warnings = self._old, self._warnings
        _check_conflicts(self._shown, self._target, files, old)
        if self._mount is not None:
            self._links = mounted.prepare(self._out, self._mount, files)
        _carry(self._shown, self._root, self._target, old.foreign)
        _flush(self._root, files)
        previous = _swap(self._record.tmp, self._target)
        self._swapped = True
        retired = True
        if previous is not None:
            try:
                warnings += _retire(previous, self._target, old.owned, files.keys())
            except OSError as err:  # the new tree is in place; the record lets the next build finish the job
                warnings.append(f"{self._shown}: written, but the previous tree at {previous} was not removed: {err}")
                retired = False
        if retired:
            self._record.remove()
        if self._mount is None:
            return _result(files, old, warnings)
        mounted.finish(self._mount, files)
        return _result(files, old, [*warnings, mounted.note(self._out)])

    def _undo(self) -> None:
        if not self._swapped:
            _remove(self._record.tmp)
            self._record.remove()
            if self._mount is not None:
                mounted.undo(self._mount, self._links)

    def _unmake(self, made: Sequence[Path]) -> None:
        if not self._swapped:
            for folder in reversed(made):
                with suppress(OSError):  # not empty: someone else is using it now
                    os.rmdir(folder)


class _Writer:
    """Writes a tree's files on a thread of its own, so that the disk's part (creating a file has measured
    0.3 to 0.8 ms on a virtual machine's ext4: over a second of a 1,000-service build) runs beside the making
    of the next file instead of after it; open and write let the interpreter's lock go. The thread does nothing
    else: each call it makes hands the lock back and forth, so the build's thread hashes the files. At most
    `_IN_FLIGHT` files wait, so memory stays bounded. The first error stops the writing; `put` and `finish`
    raise it in the build's thread."""

    _IN_FLIGHT = 16

    def __init__(self) -> None:
        self._queue: queue.Queue[tuple[str, str, bytes] | None] = queue.Queue(self._IN_FLIGHT)
        self._digests: dict[str, str] = {}  # path in the tree -> sha256, for the manifest
        self._error: BaseException | None = None
        self._discard = False  # stopping without a commit: what still waits is not written
        self._thread: threading.Thread | None = None

    def put(self, path: str, rel: str, content: bytes) -> None:
        """Write `content` to `path` (`rel` in the tree) soon. Raises an earlier write's error."""
        self._raise()
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="meshlint-writer", daemon=True)
            self._thread.start()
        # hashed here: on the writer's thread, each hash was one more hand-over of the interpreter's lock
        self._digests[rel] = hashlib.sha256(content).hexdigest()
        self._queue.put((path, rel, content))

    def finish(self) -> dict[str, str]:
        """Wait until every file is written; their digests. Raises the first write's error."""
        self._join()
        self._raise()
        return self._digests

    def stop(self) -> None:
        """Write nothing more and wait for the thread to end (the tree is being removed)."""
        self._discard = True
        self._join()

    def _join(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None

    def _raise(self) -> None:
        if self._error is not None:
            raise self._error

    def _run(self) -> None:
        while (item := self._queue.get()) is not None:
            if self._error is not None or self._discard:
                continue  # drain, so that the build's thread never waits on a full queue
            path, _, content = item
            try:
                _write_file(path, content)
            except BaseException as err:  # handed to the build's thread
                self._error = err


class _Paths:
    """The paths of one tree, each refused as it comes when it could leave the tree or clashes with another."""

    def __init__(self) -> None:
        self._files: set[str] = set()
        self._folders: set[str] = set()

    def claim(self, path: PurePosixPath | str) -> str:
        rel = safe_relpath(path)
        if rel in self._files or rel == MANIFEST:
            raise ValueError(f"artifact path {rel!r} is given twice or reserved")
        parents = [str(p) for p in PurePosixPath(rel).parents][:-1]  # all but "."
        both = [p for p in parents if p in self._files or p == MANIFEST] or [rel] * (rel in self._folders)
        if both:
            raise ValueError(f"artifact path {both[0]!r} is both a file and a folder")
        self._files.add(rel)
        self._folders.update(parents)
        return rel


@contextmanager
def _as_output_error(out: Path) -> Iterator[None]:
    try:
        yield
    except OSError as err:
        raise OutputError(f"cannot write {out}: {err}") from err


def _make_folders(folder: Path) -> list[Path]:
    """Create `folder` and its missing parents; return those created, outermost first."""
    missing = [p for p in (folder, *folder.parents) if not p.exists()]
    folder.mkdir(parents=True, exist_ok=True)
    return missing[::-1]


def _result(files: Mapping[str, str], old: _Old, warnings: list[str]) -> WriteResult:
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


def _check_conflicts(out: Path, target: Path, files: Mapping[str, str], old: _Old) -> None:
    """Refuse to replace a foreign entry, unless it is a single-link file that already holds the generated
    bytes (`files`: path -> their sha256; adopted: nothing is lost by replacing it)."""
    clashes: list[str] = []
    for rel, digest in files.items():
        blocking = [str(p) for p in PurePosixPath(rel).parents if old.foreign.get(str(p), "dir") != "dir"]
        if blocking:
            clashes.append(f"{blocking[0]} (meshlint needs a folder there)")
        elif rel in old.foreign:
            hashed = sha256_of(target / rel) if old.foreign[rel] == "file" else None
            if hashed is not None and hashed[0] == digest:
                del old.foreign[rel]
                old.owned[rel] = hashed[1]
            else:
                clashes.append(f"{rel} ({old.disowned.get(rel) or describe(os.lstat(target / rel))})")
    if clashes:
        raise OutputError(f"{out}: refusing to replace what is not meshlint's (not in {MANIFEST}, or changed since "
                          f"meshlint wrote it): {', '.join(sorted(set(clashes)))}; move it away or delete it, "
                          "then build again")


def _carry(out: Path, root: str, source: Path, foreign: Mapping[str, Kind]) -> None:
    """Put the foreign entries of the previous tree `source` into the new one at `root` (see the module doc)."""
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


def _flush(root: str, files: Collection[str]) -> None:
    """Make the new tree durable before it replaces DIR: fsync every generated file and every folder, once all
    are written, many at a time (tree.each). An fsync right after each write made ext4 commit its journal once
    per file: 2,000 files took 1.3 s that way, 0.9 s one after another once written, 0.3 s sixteen at a time.
    Carried-over entries are not ours to open: a FIFO would block."""
    each(_fsync, [os.path.join(root, rel) for rel in files] + [folder for folder, _, _ in os.walk(root)])


def _write_file(path: str, content: bytes) -> None:
    """A new file holding `content`: plain `os` calls (a buffered file object costs more than the write)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o666)
    try:
        view = memoryview(content)
        while view:
            view = view[os.write(fd, view):]
    finally:
        os.close(fd)


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
