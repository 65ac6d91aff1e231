"""The reference data beside the repository (`../shared`: real users' corpus, design samples).

Tests that read it call `require` at module level: without the folder the whole module is skipped at
collection with one reason, never an error. CI lays `../shared` beside its checkout and sets
MESHLINT_REQUIRE_SHARED=1 (.ci/run), which turns that skip into a failure so the real-input tests always run
there. The mesh generator the benchmarks and scaling tests need lives in the repository (benchmarks/).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from tests.helpers import REPO

SHARED = REPO.parent / "shared"
GEN_MESH = REPO / "benchmarks" / "gen_mesh.py"


def require(relative: str, what: str) -> Path:
    """`../shared/<relative>`, or skip the calling module: "../shared/<relative> not present: <what> skipped"."""
    path = SHARED / relative
    if path.exists():
        return path
    module = sys._getframe(1).f_globals.get("__name__", "?")  # name the module in pytest's one skip line
    reason = f"{module}: ../shared/{relative} not present: {what} skipped"
    if os.environ.get("MESHLINT_REQUIRE_SHARED") == "1":
        raise pytest.UsageError(f"{reason}, but MESHLINT_REQUIRE_SHARED=1 says it must run")
    pytest.skip(reason, allow_module_level=True)
    raise AssertionError("unreachable")
