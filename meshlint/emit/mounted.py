"""`--out` a mount point (a container volume, a Kubernetes emptyDir): the folder itself cannot be renamed, so
the one-step swap happens one level down. The tree lives in `DIR/.meshlint-tree` (swapped in whole like any
output folder), and each of its top-level entries is a symlink in DIR (`DIR/shop -> .meshlint-tree/shop`), so
`DIR/shop/virtual-nodes/web.json` still names the file and a reader sees the old tree or the new one, never a
mix. (Kubernetes mounts ConfigMaps the same way, through its `..data` link.)

A symlink in DIR is meshlint's only when it says exactly `.meshlint-tree/<its own name>`; any other entry in
DIR is foreign and never touched, and one where a link must go is a conflict.
"""

from __future__ import annotations

import os
from collections.abc import Collection
from pathlib import Path

from meshlint.emit.tree import OutputError, describe

TREE = ".meshlint-tree"


def _ours(folder: Path, name: str) -> bool:
    path = folder / name
    return path.is_symlink() and os.readlink(path) == f"{TREE}/{name}"


def check_tree(out: Path, target: Path) -> None:
    """Refuse a `.meshlint-tree` in DIR that is not a folder (a link would be followed)."""
    tree = target / TREE
    if os.path.lexists(tree) and (tree.is_symlink() or not tree.is_dir()):
        raise OutputError(f"{out / TREE}: {describe(os.lstat(tree))}, where meshlint keeps its tree in a mount "
                          "point; move it away and build again")


def prepare(out: Path, target: Path, files: Collection[str]) -> list[str]:
    """Check that DIR can hold the links to the top-level entries of the new tree (`files`), and create the
    missing ones (dangling until the swap: a new mesh appears with it). Returns the links created."""
    check_tree(out, target)
    clashes = sorted(top for top in _tops(files) if os.path.lexists(target / top) and not _ours(target, top))
    if clashes:
        shown = ", ".join(f"{out / top} ({describe(os.lstat(target / top))})" for top in clashes)
        raise OutputError(f"{out} is a mount point, so the build keeps its tree in {out / TREE} and links each "
                          f"top-level entry to it; refusing to replace what meshlint did not write: {shown}; "
                          "move it away, then build again")
    created = []
    for top in sorted(_tops(files)):
        if not os.path.lexists(target / top):
            os.symlink(f"{TREE}/{top}", target / top)
            created.append(top)
    return created


def _tops(files: Collection[str]) -> set[str]:
    return {rel.split("/", 1)[0] for rel in files}


def undo(target: Path, created: Collection[str]) -> None:
    """Remove the links `prepare` created, for a build that failed: DIR is left as it was."""
    for top in created:
        if _ours(target, top):
            os.unlink(target / top)


def finish(target: Path, files: Collection[str]) -> None:
    """Remove the links of top-level entries the new tree (`files`) no longer has."""
    tops = _tops(files)
    for name in sorted(os.listdir(target)):
        if name not in tops and _ours(target, name):
            os.unlink(target / name)


def note(out: Path) -> str:
    return (f"{out} is a mount point, which cannot be replaced in one step: the tree was swapped in whole at "
            f"{out / TREE}, and each of its top-level entries is a link in {out} (README: Guarantees)")
