"""`meshlint build --check`: compare what a build would write with what DIR holds, writing nothing.

Drift is a generated file that is missing or holds other bytes, or a file that is still meshlint's (manifest.py)
and that this build would no longer generate (the next build would remove it). Foreign files are not meshlint's
and are ignored. The manifest itself is not compared byte for byte (it names the meshlint version), only the
files it lists. SVGs are left out: they depend on the Graphviz version installed (or its absence), not on
the mesh; their DOT source is compared. Nothing is opened that is not a regular file (a FIFO would block).
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Iterable
from pathlib import Path

from meshlint.compile import Artifact
from meshlint.emit import manifest, mounted
from meshlint.emit.manifest import MANIFEST
from meshlint.emit.tree import is_mount_point, safe_relpath, sha256_of, walk


def drift(out: Path, artifacts: Iterable[Artifact]) -> list[str]:
    """One line per difference ('missing: a/b.json', 'changed: ...', 'stale: ...'), sorted; [] when up to date."""
    comparison = Comparison(out)
    for artifact in artifacts:
        comparison.add(artifact)
    return comparison.result()


class Comparison:
    """`drift` one artifact at a time, as the build makes them: only their paths are held."""

    def __init__(self, out: Path) -> None:
        self._root = out / mounted.TREE if out.is_dir() and is_mount_point(out.resolve()) else out
        self._planned: set[str] = set()
        self._found: dict[str, str] = {}  # path -> 'missing' or 'changed'

    def add(self, artifact: Artifact) -> None:
        rel = safe_relpath(artifact.path)
        if rel.endswith(".svg"):
            return
        self._planned.add(rel)
        if state := _state(self._root / rel, artifact.content):
            self._found[rel] = state
        else:
            self._found.pop(rel, None)

    def result(self) -> list[str]:
        root, planned = self._root, self._planned
        found = [f"{state}: {rel}" for rel, state in sorted(self._found.items())]
        listed, _, problem = manifest.read(root / MANIFEST)
        if problem is not None:
            return [*found, f"changed: {MANIFEST} ({problem})"]
        if listed is None:
            return [*found, f"missing: {MANIFEST}"] if planned else found
        entries = dict(walk(root)) if root.is_dir() else {}
        owned = manifest.ownership(root, entries).owned
        found.extend(f"stale: {rel}" for rel in sorted(owned.keys() - planned - {MANIFEST})
                     if not rel.endswith(".svg"))
        return found


def _state(path: Path, content: bytes) -> str:
    try:
        st = os.lstat(path)
    except OSError:
        return "missing"
    if not stat.S_ISREG(st.st_mode):
        return "missing"
    hashed = sha256_of(path)
    return "" if hashed is not None and hashed[0] == hashlib.sha256(content).hexdigest() else "changed"
