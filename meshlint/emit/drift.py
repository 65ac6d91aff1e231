"""`meshlint build --check`: compare what a build would write with what DIR holds, writing nothing.

Drift is a generated file that is missing or holds other bytes, or a file the manifest in DIR lists that
this build would no longer generate (the next build would remove it). Foreign files are not meshlint's and
are ignored. The manifest itself is not compared byte for byte (it names the meshlint version), only the
files it lists. SVGs are left out: they depend on the Graphviz version installed (or its absence), not on
the mesh; their DOT source is compared.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from meshlint.compile import Artifact
from meshlint.emit.writer import MANIFEST, _read_manifest, safe_relpath


def drift(out: Path, artifacts: Sequence[Artifact]) -> list[str]:
    """One line per difference ('missing: a/b.json', 'changed: ...', 'stale: ...'), sorted; [] when up to date."""
    planned = {safe_relpath(a.path): a.content for a in artifacts if not str(a.path).endswith(".svg")}
    found: list[str] = []
    for rel, content in sorted(planned.items()):
        path = out / rel
        if not path.is_file() or path.is_symlink():
            found.append(f"missing: {rel}")
        elif path.read_bytes() != content:
            found.append(f"changed: {rel}")
    if not (out / MANIFEST).is_file():
        return [*found, f"missing: {MANIFEST}"] if planned else found
    listed, problem = _read_manifest(out / MANIFEST)
    if problem is not None:
        return [*found, f"changed: {MANIFEST} ({problem})"]
    found.extend(f"stale: {rel}" for rel in sorted(listed - planned.keys()) if not rel.endswith(".svg"))
    return found
