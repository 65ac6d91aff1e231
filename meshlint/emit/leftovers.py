"""What a build leaves beside the output folder, and how the next build tells its own leftovers from a user's.

Every build first writes a *record* beside DIR, `.<DIR>.meshlint-build-<token>`, holding DIR's name, the
token, and the device and inode of DIR as it was. Only then does it create `.<DIR>.meshlint-tmp-<token>` (the
new tree) and, in the fallback swap, `.<DIR>.meshlint-old-<token>` (the previous tree, moved aside). The record
goes last. A later build that finds a record it can verify knows exactly what the killed build made: a
temp tree is removed, the previous tree (recognised by its inode) is put back or retired like any previous
tree. A folder that merely *looks* like a leftover is never removed or adopted: it is reported and left
alone. Removing a previous tree deletes only what is provably meshlint's or a second link to an entry DIR
still holds; anything else stays, in `.<DIR>.meshlint-kept-<token>`, which no build ever removes.
"""

from __future__ import annotations

import json
import os
import secrets
import stat
from collections.abc import Callable, Collection
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

from meshlint.emit import manifest
from meshlint.emit.tree import NAME_MAX, Kind, each, ident, inside, read_regular, same_entry, sha256_of, walk

_KIND = "meshlint build record"
_TOKEN_BYTES = 6
Owned = Callable[[str, os.stat_result], bool]  # (relative path, lstat) -> provably meshlint's


def sibling(target: Path, kind: str, token: str) -> Path:
    """`.<DIR>.meshlint-<kind>-<token>` beside `target`."""
    return target.with_name(f"{_prefix(target)}{kind}-{token}")


def _prefix(target: Path) -> str:
    """`.<DIR>.meshlint-`, DIR's name cut so that the longest sibling name stays within NAME_MAX bytes: a valid
    output folder name must never fail on a temp path."""
    room = NAME_MAX - len(".") - len(".meshlint-build-") - 2 * _TOKEN_BYTES
    return os.fsdecode(b"." + os.fsencode(target.name)[:room]) + ".meshlint-"


def _folder_id(path: Path) -> tuple[int, int] | None:
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return None
    return (st.st_dev, st.st_ino) if stat.S_ISDIR(st.st_mode) else None


@dataclass(frozen=True)
class Record:
    target: Path
    token: str
    out_id: tuple[int, int] | None  # DIR's device and inode when the build started; None: it did not exist

    @property
    def path(self) -> Path:
        return sibling(self.target, "build", self.token)

    @property
    def tmp(self) -> Path:
        return sibling(self.target, "tmp", self.token)

    @property
    def old(self) -> Path:
        return sibling(self.target, "old", self.token)

    @classmethod
    def create(cls, target: Path) -> Record:
        """Write a new record, for a token none of whose names exists yet."""
        while True:
            record = cls(target, secrets.token_hex(_TOKEN_BYTES), _folder_id(target))
            if any(os.path.lexists(p) for p in (record.tmp, record.old, sibling(target, "kept", record.token))):
                continue
            body = {"kind": _KIND, "out": target.name, "token": record.token,
                    "out_id": list(record.out_id) if record.out_id else None}
            try:
                fd = os.open(record.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
            except FileExistsError:
                continue
            with os.fdopen(fd, "w") as handle:
                handle.write(json.dumps(body, sort_keys=True))
            return record

    def remove(self) -> None:
        with suppress(FileNotFoundError):
            os.unlink(self.path)

    @classmethod
    def load(cls, path: Path, target: Path) -> Record | None:
        """The record at `path` if this tool wrote it for `target`; None for anything else."""
        found = read_regular(path, 4096)
        try:
            body = json.loads(found[0]) if found else None
        except ValueError:
            return None
        if not isinstance(body, dict) or body.get("kind") != _KIND or body.get("out") != target.name:
            return None
        token, out_id = body.get("token"), body.get("out_id")
        if not isinstance(token, str) or sibling(target, "build", token) != path:
            return None
        if out_id is not None and not (isinstance(out_id, list) and len(out_id) == 2
                                       and all(type(n) is int for n in out_id)):
            return None
        return cls(target, token, (out_id[0], out_id[1]) if out_id else None)


def recover(out: Path, target: Path) -> list[str]:
    """Undo what killed builds left beside `target`, as far as their records prove it theirs; report (and
    leave alone) whatever only looks like a leftover."""
    prefix = _prefix(target)
    names = sorted(n for n in os.listdir(target.parent) if n.startswith(prefix))
    warnings: list[str] = []
    handled: set[str] = set()
    for name in names:
        if name.startswith(prefix + "build-"):
            record = Record.load(target.parent / name, target)
            if record is not None:
                warnings += _undo(out, record)
                handled.update(p.name for p in (record.path, record.tmp, record.old))
            elif _unwritten(target, name[len(prefix + "build-"):]):
                os.unlink(target.parent / name)
                handled.add(name)
    for name in names:
        if name not in handled and not name.startswith(prefix + "kept-") and os.path.lexists(target.parent / name):
            warnings.append(f"{target.parent / name}: looks like a meshlint leftover, but no record shows that "
                            "meshlint made it: left alone; delete it yourself if you do not need it")
    return warnings


def _unwritten(target: Path, token: str) -> bool:
    """A record killed between its creation and its one write: an empty file of the record's name. Nothing was
    made under its token (the temp tree comes after the record is written), so it goes too."""
    path = sibling(target, "build", token)
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return False
    return (stat.S_ISREG(st.st_mode) and st.st_size == 0 and st.st_nlink == 1
            and not any(os.path.lexists(sibling(target, kind, token)) for kind in ("tmp", "old", "kept")))


def _undo(out: Path, record: Record) -> list[str]:
    target, warnings = record.target, []
    if record.out_id is not None and not os.path.lexists(target) and _folder_id(record.old) == record.out_id:
        os.rename(record.old, target)
        warnings.append(f"{out}: restored the previous output from {record.old.name}, left by an interrupted build")
    for tree in (record.tmp, record.old):
        found = _folder_id(tree)
        if found is not None and found == record.out_id:  # the previous output, moved aside by the swap
            warnings += retire(tree, target, verified_by_manifest(tree), generated(target))
        elif found is not None and tree == record.tmp:  # created by that build after its record: all its own
            warnings += retire(tree, target, lambda rel, st: True, ())
    record.remove()
    return warnings


def generated(root: Path) -> set[str]:
    """The files the manifest in `root` lists (with the manifest), or nothing when there is no valid one."""
    listed = manifest.read(root / manifest.MANIFEST)[0]
    return {*listed, manifest.MANIFEST} if listed is not None else set()


def verified_by_manifest(root: Path) -> Owned:
    """Ownership in a tree whose scan this process did not make: rehash against the tree's own manifest."""
    listed, manifest_id, _ = manifest.read(root / manifest.MANIFEST)

    def owned(rel: str, st: os.stat_result) -> bool:
        if not stat.S_ISREG(st.st_mode):
            return False
        if rel == manifest.MANIFEST:
            return manifest_id is not None and ident(st) == manifest_id
        hashed = sha256_of(root / rel) if listed and rel in listed else None
        return hashed is not None and listed is not None and hashed[0] == listed[rel]

    return owned


def retire(previous: Path, target: Path, owned: Owned, superseded: Collection[str]) -> list[str]:
    """Remove a previous tree entry by entry, children first. An entry goes when it is provably meshlint's
    (`owned`) or `target` holds the same entry (a carried-over foreign file's second link). Anything else was
    written while the build ran: it moves into `target` unless `target` has a generated file there
    (`superseded`). What cannot go or move keeps the whole tree, renamed `.<DIR>.meshlint-kept-<token>`."""
    stuck: list[str] = []
    root = os.path.realpath(target)
    entries = list(walk(previous))[::-1]  # children first

    def settle(entry: tuple[str, Kind]) -> None:
        rel, kind = entry
        path = previous / rel
        if kind != "mount" and (owned(rel, os.lstat(path)) or same_entry(path, target / rel)):
            os.unlink(path)
        elif kind == "mount" or rel in superseded:
            stuck.append(rel)
        else:
            try:  # the carried-over entry at `rel` is older than this one: replace it
                os.replace(path, inside(root, rel))
            except (OSError, ValueError):
                stuck.append(rel)

    # Many at a time: removing a file can wait on the disk (4 ms a file where ext4 discards its blocks at once)
    each(settle, [(rel, kind) for rel, kind in entries if kind != "dir" and rel != manifest.MANIFEST])
    for rel, kind in entries:
        if kind == "dir":
            with suppress(OSError):  # not empty: something below is stuck, and reported
                os.rmdir(previous / rel)
        elif rel == manifest.MANIFEST:  # last: a kill leaves the rest provable
            settle((rel, kind))
    if not stuck:
        os.rmdir(previous)
        return []
    kept = sibling(target, "kept", previous.name.rsplit("-", 1)[-1])
    while os.path.lexists(kept):
        kept = sibling(target, "kept", secrets.token_hex(_TOKEN_BYTES))
    os.rename(previous, kept)
    return [f"kept the previous output at {kept}: {', '.join(sorted(stuck))} changed there while the build ran; "
            "take what you need from it and delete it"]
