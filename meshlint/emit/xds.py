"""Writing a build that running Envoys watch (`build --xds`): in place, file by file, in xDS order.

Not emit.writer's tree swap: Envoy watches each proxy's folder by inode (inotify), and swapping the tree
would leave it watching the old, deleted folder. So each file is written the way Envoy picks it up: complete
in a hidden temp file in the same folder, fsynced, then renamed over the old one (a watched directory
reloads on moves, never on writes). And in the order xDS asks for, make before break (xds_protocol,
"Eventual consistency considerations"); file subscriptions have no ack, and every file of a folder is re-read
on any move into it, in no set order (envoyproxy/envoy#31678), so the steps are separated by a pause:
1. clusters: a changed `cds.json` is first written as old + new clusters (nothing in use disappears; new
   clusters start warming), then a pause (`settle_s`) before anything points at them;
2. route configurations (`rds_*.json`), then listeners (`lds.json`), then every other file;
3. when clusters or files are to go: a pause, the final `cds.json`, then the files this build no longer
   generates are deleted (only ours: listed in the previous manifest and unchanged since);
4. the manifest, last.
A route change alone is one step without pauses. Ownership is emit.writer's: the manifest lists what
meshlint wrote; anything else is foreign, never replaced (unless it holds exactly those bytes) nor deleted.
Builds into one parent folder take turns (flock), with each other and with emit.writer.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import stat
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Literal, overload

from meshlint.compile import Artifact
from meshlint.compile.envoy.xds import BOOTSTRAP_FILE, CDS_FILE, CLUSTER_TYPE, LDS_FILE, is_rds_file
from meshlint.emit import manifest
from meshlint.emit.writer import MANIFEST, OutputError, WriteResult, resolve_out, safe_relpath

SETTLE_S = 2.0  # Envoy reads a moved file within milliseconds; a new STATIC or DNS cluster warms in about one
_TMP = ".meshlint-tmp-"
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


@dataclass
class _Run:
    root: int  # fd of the output folder
    files: dict[str, bytes]  # everything this build writes (the manifest last)
    ours: dict[str, str]  # what the previous manifest lists: path -> sha256
    written: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def write_live(out: Path, artifacts: Sequence[Artifact], generator: str, *, settle_s: float = SETTLE_S,
               sleep: Callable[[float], None] = time.sleep) -> WriteResult:
    """Make `out` hold `artifacts` plus the manifest, updating what is there in place (see the module doc).

    Raises OutputError (nothing written) for a folder that cannot be written safely or a foreign entry in the
    way, ValueError for an artifact path that could leave the folder (a bug in the caller).
    """
    target = resolve_out(out)
    files = _planned(artifacts)
    try:
        target.mkdir(parents=True, exist_ok=True)
        with _turn(target.parent):
            root = os.open(target, _DIR_FLAGS)
            try:
                return _write(out, _Run(root, files, {}), generator, settle_s, sleep)
            finally:
                os.close(root)
    except OSError as err:
        raise OutputError(f"cannot write {out}: {err}") from err


def _planned(artifacts: Sequence[Artifact]) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    for artifact in artifacts:
        rel = safe_relpath(artifact.path)
        if rel in files or rel == MANIFEST:
            raise ValueError(f"artifact path {rel!r} is given twice or reserved")
        files[rel] = artifact.content
    return files


def _write(out: Path, run: _Run, generator: str, settle_s: float, sleep: Callable[[float], None]) -> WriteResult:
    run.ours = _read_manifest(run, out)
    _check_conflicts(out, run)
    _clean_temp(run)
    live = _live_folders(run.files)
    cds = [f"{folder}/{CDS_FILE}" if folder else CDS_FILE for folder in live]
    first = {rel: _union(run, rel) for rel in cds}
    running = any(_read(run, _join(folder, LDS_FILE)) is not None for folder in live)
    if _put_all(run, {rel: content for rel, content in first.items() if content is not None}) and running:
        sleep(settle_s)  # 1: new clusters warm before routes point at them
    rest = [rel for rel in run.files if rel not in cds]
    order = sorted(rest, key=lambda rel: (0 if is_rds_file(PurePosixPath(rel).name) else
                                          1 if PurePosixPath(rel).name == LDS_FILE else 2, rel))
    _put_all(run, {rel: run.files[rel] for rel in order})  # 2
    final = {rel: run.files[rel] for rel in cds}
    obsolete = sorted(set(run.ours) - run.files.keys() - {MANIFEST})
    if (obsolete or any(content is not None and content != final[rel] for rel, content in first.items())) \
            and running and run.written:
        sleep(settle_s)  # 3: listeners and routes have let go of what is removed now
    _put_all(run, final)
    removed = [rel for rel in obsolete if _remove_ours(run, rel)]
    listed = {rel: hashlib.sha256(content).hexdigest() for rel, content in run.files.items()}
    files = {**run.files, MANIFEST: manifest.render(listed, generator)}
    _put_all(run, {MANIFEST: files[MANIFEST]})  # 4
    return WriteResult(sorted(files), removed, [], run.warnings)


def _live_folders(files: Mapping[str, bytes]) -> list[str]:
    """Folders holding an xDS bootstrap with its listener and cluster files."""
    folders = {str(PurePosixPath(rel).parent) for rel in files if PurePosixPath(rel).name == BOOTSTRAP_FILE}
    return sorted(f for f in folders if {_join(f, LDS_FILE), _join(f, CDS_FILE)} <= files.keys())


def _join(folder: str, name: str) -> str:
    return name if folder in ("", ".") else f"{folder}/{name}"


def _union(run: _Run, rel: str) -> bytes | None:
    """What to write in step 1 for a cluster file: the old clusters plus the new ones (new wins on a name),
    or the new file where there is none of ours yet; None when the file stays as it is until step 3."""
    from meshlint.compile.envoy import render
    from meshlint.compile.envoy.xds import discovery_response

    new = run.files[rel]
    old = _read(run, rel) if rel in run.ours else None
    if old is None:
        return new
    if old == new:
        return None
    try:
        before = [r for r in json.loads(old)["resources"] if isinstance(r, dict)]
        after = json.loads(new)["resources"]
    except (ValueError, KeyError, TypeError):
        return new  # not ours as meshlint writes it: nothing to keep alive from it
    names = {r.get("name") for r in after}
    kept = [r for r in before if r.get("name") not in names]
    if not kept:
        return new
    merged = [{k: v for k, v in r.items() if k != "@type"} for r in [*after, *kept]]
    return render(discovery_response(CLUSTER_TYPE, merged))


# --- ownership ----------------------------------------------------------------------------------


def _read_manifest(run: _Run, out: Path) -> dict[str, str]:
    raw = _read(run, MANIFEST)
    if raw is None:
        return {}
    try:
        return manifest.parse(raw)
    except ValueError as err:  # as emit.writer: a manifest meshlint did not write is never replaced
        raise OutputError(f"{out / MANIFEST}: not a manifest meshlint wrote ({err}); meshlint cannot tell which "
                          "files are its own: move it away and build again") from None


def _check_conflicts(out: Path, run: _Run) -> None:
    clashes = []
    for rel, content in run.files.items():
        for depth, _ in enumerate(parts := rel.split("/")):
            kind = _kind(run, "/".join(parts[:depth + 1]))
            if depth < len(parts) - 1 and kind not in (None, "dir"):
                clashes.append(f"{'/'.join(parts[:depth + 1])} (meshlint needs a folder there)")
                break
            if depth == len(parts) - 1 and kind is not None and not _ours(run, rel) and (
                    kind != "file" or _read(run, rel) != content):
                clashes.append(rel)
    if clashes:
        raise OutputError(f"{out}: refusing to replace what meshlint did not write (not in {MANIFEST}, or changed "
                          "or hard-linked since meshlint wrote it): "
                          f"{', '.join(sorted(set(clashes)))}; move it away or delete it, then build again")


def _kind(run: _Run, rel: str) -> str | None:
    try:
        mode = os.stat(rel, dir_fd=run.root, follow_symlinks=False).st_mode
    except FileNotFoundError:
        return None
    except NotADirectoryError:
        return "file"
    return "dir" if stat.S_ISDIR(mode) else "file" if stat.S_ISREG(mode) else "other"


def _ours(run: _Run, rel: str) -> bool:
    """As emit.writer judges it: listed in the manifest, still holding those bytes, and its only link."""
    found = _read(run, rel, with_links=True)
    return rel in run.ours and found is not None and found[1] == 1 and \
        hashlib.sha256(found[0]).hexdigest() == run.ours[rel]


def _remove_ours(run: _Run, rel: str) -> bool:
    """Delete a file the previous build wrote, if it still is what that build wrote."""
    if _read(run, rel) is None:
        return False
    if not _ours(run, rel):
        run.warnings.append(f"{rel}: no longer generated, but changed or hard-linked since meshlint wrote it; kept")
        return False
    folder, name = _split(rel)
    with _folder(run, folder, create=False) as fd:
        os.unlink(name, dir_fd=fd)
    with suppress(OSError):  # a folder left empty goes too (it was ours: only our files were in it)
        parent = PurePosixPath(rel).parent
        while str(parent) != ".":
            os.rmdir(str(parent), dir_fd=run.root)
            parent = parent.parent
    return True


# --- files ----------------------------------------------------------------------------------------


def _put_all(run: _Run, files: Mapping[str, bytes]) -> bool:
    """Write each file whose content differs from what is there; True when something was written."""
    changed = False
    for rel, content in files.items():
        if _read(run, rel) != content:
            _put(run, rel, content)
            run.written.append(rel)
            changed = True
    return changed


def _put(run: _Run, rel: str, content: bytes) -> None:
    folder, name = _split(rel)
    tmp = f".{name}{_TMP}{secrets.token_hex(6)}"
    with _folder(run, folder, create=True) as fd:
        handle = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o666,
                         dir_fd=fd)
        try:
            with os.fdopen(handle, "wb") as stream:
                stream.write(content)
                stream.flush()
                os.fsync(stream.fileno())
            os.replace(tmp, name, src_dir_fd=fd, dst_dir_fd=fd)
        except BaseException:
            with suppress(OSError):
                os.unlink(tmp, dir_fd=fd)
            raise
        os.fsync(fd)


@overload
def _read(run: _Run, rel: str) -> bytes | None: ...
@overload
def _read(run: _Run, rel: str, *, with_links: Literal[True]) -> tuple[bytes, int] | None: ...
def _read(run: _Run, rel: str, *, with_links: bool = False) -> bytes | tuple[bytes, int] | None:
    """The bytes of a regular file (never through a symlink; with its link count), None when there is none."""
    folder, name = _split(rel)
    try:
        with _folder(run, folder, create=False) as fd:
            handle = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK, dir_fd=fd)
    except (FileNotFoundError, NotADirectoryError, OSError):
        return None
    with os.fdopen(handle, "rb") as stream:
        st = os.fstat(stream.fileno())
        if not stat.S_ISREG(st.st_mode):
            return None
        content = stream.read()
        return (content, st.st_nlink) if with_links else content


def _split(rel: str) -> tuple[str, str]:
    folder, _, name = rel.rpartition("/")
    return folder, name


@contextmanager
def _folder(run: _Run, folder: str, *, create: bool) -> Iterator[int]:
    """An fd of `folder` under the output root, reached without following any symlink."""
    fd = os.dup(run.root)
    try:
        for part in filter(None, folder.split("/")):
            if create:
                with suppress(FileExistsError):
                    os.mkdir(part, dir_fd=fd)
            inner = os.open(part, _DIR_FLAGS, dir_fd=fd)
            os.close(fd)
            fd = inner
        yield fd
    finally:
        os.close(fd)


def _clean_temp(run: _Run) -> None:
    """Remove temp files a killed build left in the folders this one writes (the name says they are ours)."""
    for folder in sorted({_split(rel)[0] for rel in run.files}):
        with suppress(OSError), _folder(run, folder, create=False) as fd:
            for name in os.listdir(fd):
                if name.startswith(".") and _TMP in name:
                    with suppress(OSError):
                        os.unlink(name, dir_fd=fd)


@contextmanager
def _turn(folder: Path) -> Iterator[None]:
    """Take turns with other builds into the same parent folder (emit.writer locks the same one)."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        with suppress(ImportError, OSError):
            import fcntl

            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)
