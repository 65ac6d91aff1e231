"""A regression guard for performance that cannot flake on a noisy machine: the cost of checking 4x the
mesh must stay near 4x (linear), far from the 16x a quadratic step would show. Absolute times live in
benchmarks/run.py, not here."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from meshlint import api
from tests.support.shared import GEN_MESH


def _mesh(tmp_path: Path, n: int) -> Path:
    out = tmp_path / f"mesh-{n}"
    subprocess.run([sys.executable, str(GEN_MESH), "--n", str(n), "--format", "cli-yaml", "--out", str(out)],
                   check=True, capture_output=True)
    return out


def _best_of(runs: int, path: Path) -> float:
    best = float("inf")
    for _ in range(runs):
        started = time.perf_counter()
        result = api.check([str(path)])
        best = min(best, time.perf_counter() - started)
        assert result.summary()["errors"] == 0
    return best


def test_check_scales_linearly(tmp_path: Path) -> None:
    small, large = _mesh(tmp_path, 50), _mesh(tmp_path, 200)
    _best_of(1, small)  # warm caches (schemas, validators)
    ratio = _best_of(3, large) / _best_of(3, small)
    assert ratio < 7.0, f"4x the services cost {ratio:.1f}x the time: something grows faster than linearly"
