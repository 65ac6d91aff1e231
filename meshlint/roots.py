"""Mesh roots: what `meshlint check --mesh-roots FILE...` (the pre-commit hook) checks for a set of changed files.

Cross-file rules (dangling references, duplicates, reachability, cycles) need the whole mesh, so a changed
file stands for the mesh it belongs to. A file's *mesh root* is the nearest folder, from the file's own
folder up to the top (the current folder: pre-commit runs hooks at the repository's top level), that holds a
meshlint config (.meshlint.yaml, .meshlint.yml, or pyproject.toml with [tool.meshlint]); without one, the
top itself. Each root is checked on its own, with its own config, leaving out the roots nested inside it.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from meshlint.config import CONFIG_NAMES, PYPROJECT, find_config


def mesh_root(changed: Path, top: Path) -> Path:
    """The mesh root of one changed file (or folder), as an absolute path."""
    top = top.resolve()
    probe = Path(os.path.abspath(changed))
    while not probe.exists() and probe != probe.parent:  # a deleted file: its nearest folder still there
        probe = probe.parent
    folder = probe if probe.is_dir() else probe.parent
    folder = folder.resolve()
    inside = folder == top or top in folder.parents
    for candidate in (folder, *folder.parents):
        if _holds_config(candidate):
            return candidate
        if inside and candidate == top:
            return top
    return top if inside else folder


def mesh_roots(changed: Iterable[str], top: Path) -> list[Path]:
    """The distinct mesh roots of the changed files, sorted."""
    return sorted({mesh_root(Path(p), top) for p in changed if p != "-"})


def nested(root: Path, roots: Iterable[Path]) -> list[Path]:
    """The other roots inside `root`: checked on their own, so left out of `root`'s walk."""
    return [r for r in roots if root in r.parents]


def _holds_config(folder: Path) -> bool:
    if any((folder / name).is_file() for name in CONFIG_NAMES):
        return True
    return (folder / PYPROJECT).is_file() and find_config(folder) == folder / PYPROJECT


def display(root: Path) -> str:
    """A root as a path argument relative to the current folder, so diagnostics show relative paths."""
    try:
        rel = root.relative_to(Path.cwd().resolve())
    except ValueError:
        return str(root)
    return rel.as_posix() if str(rel) != "." else "."
