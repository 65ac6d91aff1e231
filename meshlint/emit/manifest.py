"""`meshlint-manifest.json`: which files of an output folder meshlint wrote, and whether they are still its own.

A file is meshlint's only when the manifest lists it, it is a regular file with one link (a second link is
someone's copy, so deleting it would not be ours to decide), and its bytes still hash to the sha256 listed.
Anything else is foreign, whatever its name: an edited or stale manifest can never make a build delete or
replace a user's file. The manifest itself is meshlint's only when it has exactly the shape meshlint writes.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from meshlint.emit.tree import Ident, Kind, describe, read_regular, safe_relpath, sha256_of

MANIFEST = "meshlint-manifest.json"
MAX_BYTES = 64 << 20  # 10,000 services list 20,000 files in about 2.4 MB
_SHA256 = re.compile(r"[0-9a-f]{64}\Z")


def render(listed: Mapping[str, str], generator: str) -> bytes:
    """`{"generator": ..., "files": {path: sha256}}`: sorted keys, indent 2, a final newline, no timestamp."""
    return (json.dumps({"generator": generator, "files": dict(listed)}, sort_keys=True, indent=2) + "\n").encode()


def parse(data: bytes) -> dict[str, str]:
    """path -> sha256 of a manifest as meshlint writes it; ValueError for anything else."""
    try:
        doc = json.loads(data)
    except RecursionError:
        raise ValueError("nested too deeply") from None
    except ValueError as err:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise ValueError(f"not JSON: {err}") from None
    if not isinstance(doc, dict):
        raise ValueError(f"a JSON {type(doc).__name__}, not an object")
    generator, files = doc.get("generator"), doc.get("files")
    if not isinstance(generator, str) or not generator.startswith("meshlint"):
        raise ValueError('no "generator": "meshlint ..."')
    if not isinstance(files, dict):
        raise ValueError('no "files" object')
    for rel, digest in files.items():
        if rel == MANIFEST:
            raise ValueError(f"lists {rel!r}")
        safe_relpath(rel)
        if not isinstance(digest, str) or not _SHA256.match(digest):
            raise ValueError(f"{rel!r}: not a sha256")
    return files


def read(path: Path) -> tuple[dict[str, str] | None, Ident | None, str | None]:
    """(listed files, the manifest's identity, what is wrong with it); (None, None, None): there is none."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return None, None, None
    found = read_regular(path, MAX_BYTES)
    if found is None:
        kind = describe(st)
        return None, None, (f"larger than {MAX_BYTES >> 20} MiB" if kind == "a file" else kind)
    try:
        return parse(found[0]), found[1], None
    except ValueError as err:
        return None, None, str(err)


@dataclass
class Ownership:
    owned: dict[str, Ident] = field(default_factory=dict)  # meshlint's files (the manifest too): their identity
    disowned: dict[str, str] = field(default_factory=dict)  # listed, but no longer meshlint's: path -> why
    problem: str | None = None  # the manifest is not one meshlint wrote, so it is not meshlint's either


def ownership(root: Path, entries: Mapping[str, Kind]) -> Ownership:
    """Which entries of the tree at `root` (as `tree.walk` found them) are meshlint's."""
    listed, manifest_id, problem = read(root / MANIFEST)
    if listed is None or manifest_id is None:
        return Ownership(problem=problem)
    found = Ownership({MANIFEST: manifest_id})
    for rel, digest in sorted(listed.items()):
        kind = entries.get(rel)
        if kind is None:
            continue
        hashed = sha256_of(root / rel) if kind == "file" else None
        if hashed is not None and hashed[0] == digest:
            found.owned[rel] = hashed[1]
        else:
            found.disowned[rel] = _why(root / rel, kind, hashed)
    return found


def _why(path: Path, kind: Kind, hashed: tuple[str, Ident] | None) -> str:
    if kind != "file":
        return f"now {describe(os.lstat(path))}" if kind != "mount" else "now a mount point"
    if hashed is None:
        return "hard-linked elsewhere" if os.lstat(path).st_nlink > 1 else "unreadable"
    return "changed since meshlint wrote it"
