"""Linear-time guards for the shapes of input that were quadratic (issue: reliability under hostile input):
one file of many documents, and a whole mesh on stdin. Like tests/unit/test_scaling.py, a ratio (4x the
input must cost well under 7x the time, where a quadratic step shows 16x), never an absolute time.

Many siblings (20,000 backends) and many duplicate keys are guarded in tests/unit/test_scaling.py."""

from __future__ import annotations

import gc
import io
import subprocess
import sys
import time
from pathlib import Path

import pytest

from meshlint.cli import report
from meshlint.cli.options import Format
from tests.helpers import check_in
from tests.support.shared import GEN_MESH


def _best_cost(folder: Path, paths: list[str], stdin: bytes | None, monkeypatch: pytest.MonkeyPatch,
               runs: int = 3) -> float:
    """Best time to check `paths` in `folder` (stdin holding `stdin`) and render the text report."""
    best = float("inf")
    for _ in range(runs):
        if stdin is not None:
            monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin), encoding="utf-8"))
        gc.collect()  # the garbage of the run before is not this run's cost
        started = time.perf_counter()
        result = check_in(folder, paths)
        report.render(result, Format.text)
        best = min(best, time.perf_counter() - started)
        assert result.diagnostics  # every document is located and quoted, the costly part
    return best


def _documents(n: int) -> str:
    """One mesh and n virtual nodes in one file, each a finding (no service or route reaches it)."""
    return "meshName: m\nspec: {}\n" + "".join(
        f"---\nmeshName: m\nvirtualNodeName: n{i}\nspec: {{}}\n" for i in range(n))


def test_one_file_of_many_documents_costs_linear_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """2e5 documents in one file: each document's start and every position in it are found once, not by
    counting the documents before it."""
    def cost(name: str, n: int, runs: int = 3) -> float:
        folder = tmp_path / name
        folder.mkdir()
        (folder / "x.yaml").write_text(_documents(n))
        return _best_cost(folder, ["x.yaml"], None, monkeypatch, runs)

    cost("warm", 2000, runs=1)
    ratio = cost("large", 8000) / cost("small", 2000)
    assert ratio < 7.0, f"4x the documents cost {ratio:.1f}x the time: something grows faster than linearly"


def _mesh_on_stdin(tmp_path: Path, n: int) -> bytes:
    """The generated mesh of n services (about 6n resources, warnings on each node) as one stream."""
    out = tmp_path / f"mesh-{n}"
    subprocess.run([sys.executable, str(GEN_MESH), "--n", str(n), "--format", "cli-yaml", "--out", str(out)],
                   check=True, capture_output=True)
    return b"".join(b"---\n" + path.read_bytes() for path in sorted(out.iterdir()))


def test_a_mesh_on_stdin_costs_linear_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A 1000-service mesh piped in: `<stdin>` is read once and its lines split once, not once per
    diagnostic quoted (each one used to re-read and re-split the whole stream)."""
    small, large = _mesh_on_stdin(tmp_path, 50), _mesh_on_stdin(tmp_path, 200)
    _best_cost(tmp_path, ["-"], small, monkeypatch, runs=1)  # warm caches (schemas, validators)
    ratio = _best_cost(tmp_path, ["-"], large, monkeypatch) / _best_cost(tmp_path, ["-"], small, monkeypatch)
    assert ratio < 7.0, f"4x the services on stdin cost {ratio:.1f}x the time: something grows faster than linearly"
