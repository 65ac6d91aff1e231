"""A regression guard for performance that cannot flake on a noisy machine: the cost of checking 4x the
mesh must stay near 4x (linear), far from the 16x a quadratic step would show. Absolute times live in
benchmarks/run.py, not here."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from meshlint import api
from meshlint.cli import report
from meshlint.cli.options import Format
from meshlint.load.sources import load_sources
from meshlint.normalize import normalize
from tests.helpers import check_in
from tests.support.shared import GEN_MESH


def _mesh(tmp_path: Path, n: int, form: str = "cli-yaml") -> Path:
    """The generated mesh of `n` services: a folder (cli-yaml, terraform) or one template file (cfn)."""
    out = tmp_path / (f"mesh-{form}-{n}.yaml" if form == "cfn" else f"mesh-{form}-{n}")
    subprocess.run([sys.executable, str(GEN_MESH), "--n", str(n), "--format", form, "--out", str(out)],
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


def _normalize_cost(runs: int, path: Path) -> float:
    """Best time to turn the parsed input into the model: where each input format does its own work (the
    analysis after it is the same for every format, and test_check_scales_linearly guards it). Parsed
    afresh each run, outside the timing: normalising registers pointer translations on the sources."""
    best = float("inf")
    for _ in range(runs):
        with api.paused_gc():  # as api.check runs it
            sources = load_sources([str(path)])
            started = time.perf_counter()
            normalized = normalize(sources)
            best = min(best, time.perf_counter() - started)
        assert normalized.resources > 0
    return best


def _normalizes_linearly(tmp_path: Path, form: str, n: int) -> float:
    small, large = _mesh(tmp_path, n, form), _mesh(tmp_path, 4 * n, form)
    _normalize_cost(1, small)  # warm caches (schemas)
    return _normalize_cost(3, large) / _normalize_cost(5, small)  # the short runs are the noisier


def test_one_cloudformation_template_reads_in_linear_time(tmp_path: Path) -> None:
    """The whole mesh as one template, cross references as GetAtt: each is looked up in tables made once per
    template. It was: the template's App Mesh resources listed again for every Ref and GetAtt, 10x to 20x
    here (the whole check's ratio, diluted by parsing and analysis, was 6.5x: under the bound)."""
    ratio = _normalizes_linearly(tmp_path, "cfn", 50)
    assert ratio < 7.0, f"a template of 4x the services cost {ratio:.1f}x the time: something is quadratic"


def test_one_terraform_module_reads_in_linear_time(tmp_path: Path) -> None:
    """The whole mesh as one module, a .tf file per service, references between resources evaluated."""
    ratio = _normalizes_linearly(tmp_path, "terraform", 25)
    assert ratio < 7.0, f"a module of 4x the services cost {ratio:.1f}x the time: something is quadratic"


def _report_cost(folder: Path, text: str, runs: int = 2) -> float:
    """Best time to check one file and render its text report (every diagnostic located and quoted)."""
    folder.mkdir()
    (folder / "x.yaml").write_text(text)
    best = float("inf")
    for _ in range(runs):
        started = time.perf_counter()
        result = check_in(folder, ["x.yaml"])
        report.render(result, Format.text)
        best = min(best, time.perf_counter() - started)
        assert result.diagnostics
    return best


def _backends(n: int) -> str:
    return "meshName: m\nvirtualNodeName: n\nspec:\n  backends:\n" + "".join(
        f"    - virtualService: {{virtualServiceName: s{i}.local}}\n" for i in range(n))


def _duplicate_keys(n: int) -> str:
    return "meshName: m\nspec: {}\n" + "".join(f"x: {i}\n" for i in range(n))


def _linear(tmp_path: Path, make: Callable[[int], str], n: int) -> None:
    _report_cost(tmp_path / "warm", make(n // 10), runs=1)
    ratio = _report_cost(tmp_path / "large", make(4 * n)) / _report_cost(tmp_path / "small", make(n))
    assert ratio < 7.0, f"4x the entries cost {ratio:.1f}x the time: something grows faster than linearly"


def test_a_diagnostic_on_every_one_of_many_siblings_costs_linear_time(tmp_path: Path) -> None:
    """A node with thousands of backends, a finding on each: each position is found without walking the
    siblings before it (it was: 20,000 backends took minutes)."""
    _linear(tmp_path, _backends, 1500)


def test_one_large_file_reports_in_linear_time(tmp_path: Path) -> None:
    """Thousands of diagnostics in one file (duplicate keys; a whole mesh on stdin): its lines are split once,
    not once per diagnostic quoted."""
    _linear(tmp_path, _duplicate_keys, 5000)
