"""Imports point one way: load -> normalize -> model -> analyze / compile -> emit, trace; api wires; cli on top."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.helpers import REPO

# package -> meshlint packages it may import (besides itself)
ALLOWED = {
    "diagnostics": set(),
    "numbers": set(),
    "unknowns": set(),
    "kinds": set(),
    "resources": set(),
    "model": {"diagnostics", "unknowns", "kinds"},
    "load": {"diagnostics", "resources", "unknowns", "numbers"},
    "catalogue": {"diagnostics", "resources"},
    "config": {"diagnostics", "load", "catalogue", "kinds"},
    "normalize": {"diagnostics", "load", "model", "unknowns", "kinds", "numbers"},
    "analyze": {"diagnostics", "model", "catalogue", "config", "load", "unknowns", "kinds"},
    "compile": {"diagnostics", "model", "unknowns", "numbers"},
    "emit": {"diagnostics", "compile"},
    "deploy": {"compile"},
    "trace": {"diagnostics", "model", "compile"},  # reads the proxies the compiler makes, as Envoy would
}
MODULES = sorted((REPO / "meshlint").rglob("*.py"))


def _area(path: Path) -> str:
    rel = path.relative_to(REPO / "meshlint")
    return rel.parts[0].removesuffix(".py")


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("meshlint."):
            found.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            found.update(a.name.split(".")[1] for a in node.names if a.name.startswith("meshlint."))
    return found


@pytest.mark.parametrize("path", [p for p in MODULES if _area(p) in ALLOWED], ids=lambda p: str(p.relative_to(REPO)))
def test_imports_point_one_way(path: Path) -> None:
    area = _area(path)
    assert _imports(path) - ALLOWED[area] - {area} == set()
