"""Ratio guards for suppressions (analyze/suppressions.py): finding and applying 4x the suppressions must cost
near 4x, far from the 16x of a step that, for each comment or diagnostic, walks all the others (`meshlint check`
of 2,000 own-line comments took 1 s and of 8,000 took 8 s; of 2,000 CloudFormation Metadata ones, 37 s). That
code did 14x to 17x on each guard. No absolute times: see tests/unit/test_scaling.py."""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from pathlib import Path

from meshlint import api
from meshlint.analyze import suppressions
from meshlint.diagnostics import Diagnostic, Severity
from meshlint.load.sources import SourceFile
from tests.helpers import watchdog

DISABLE = "# meshlint: disable=missing-tls -- TLS ends at the load balancer"
DISABLE_BACKEND = "# meshlint: disable=missing-tls,dangling-reference -- another stack, TLS at its gateway"
MESH = "meshName: m\nspec: {}\n"
LISTENER = "spec: {listeners: [{portMapping: {port: 80, protocol: http}}]}"


def _own_line(n: int) -> str:
    """A node with n backends, each under a comment alone on the line above it (which covers that line)."""
    return "meshName: m\nvirtualNodeName: n\nspec:\n  backends:\n" + "".join(
        f"    {DISABLE_BACKEND}\n    - virtualService: {{virtualServiceName: s{i}.local}}\n" for i in range(n))


def _stacked(n: int) -> str:
    """n comments alone on their lines, one after another, above one node: each looks past the rest of the run
    for the line it covers, and all of them cover (and are used by) that node's finding."""
    return f"{MESH}---\n" + f"{DISABLE}\n" * n + f"meshName: m\nvirtualNodeName: n\n{LISTENER}\n"


def _trailing(n: int) -> str:
    """A node with n backends, each with a comment at the end of its line."""
    return "meshName: m\nvirtualNodeName: n\nspec:\n  backends:\n" + "".join(
        f"    - virtualService: {{virtualServiceName: s{i}.local}}  {DISABLE_BACKEND}\n" for i in range(n))


def _cloudformation(n: int) -> str:
    """One template, n resources under `Resources:`, each with a Metadata suppression."""
    resources = "".join(
        f"  N{i}:\n    Type: AWS::AppMesh::VirtualNode\n    Metadata:\n      meshlint:\n"
        f"        disable: [{{rule: missing-tls, reason: TLS ends at the load balancer}}]\n"
        f"    Properties:\n      MeshName: m\n      VirtualNodeName: n{i}\n"
        f"      Spec:\n        Listeners: [{{PortMapping: {{Port: 80, Protocol: http}}}}]\n"
        for i in range(n))
    return ('AWSTemplateFormatVersion: "2010-09-09"\nResources:\n  Mesh:\n    Type: AWS::AppMesh::Mesh\n'
            f"    Properties: {{MeshName: m}}\n{resources}")


def _loaded(path: Path) -> dict[str, SourceFile]:
    """The file read and checked: every finding suppressed, every suppression used."""
    result = api.check([str(path)])
    rules = {d.rule for d in result.diagnostics}
    assert "missing-tls" not in rules and "unused-suppression" not in rules, rules
    return result.sources


def _suppression_work(files: dict[str, SourceFile]) -> Callable[[], None]:
    """Finding the suppressions and applying them to a finding of each rule on each one's first line: only the
    work that grows with suppressions, so that a quadratic step there stands out."""
    found = suppressions.scan(files)
    diagnostics = [Diagnostic(rule, "", Severity.ERROR, rule, s.path, s.first, 1) for s in found for rule in s.rules]
    ran = {d.rule for d in diagnostics}

    def work() -> None:
        kept, problems = suppressions.apply(diagnostics, suppressions.scan(files), ran)
        assert not kept and not problems
    return work


def _linear(tmp_path: Path, make: Callable[[int], str], n: int, runs: int = 7) -> None:
    work = {}
    for size in (n, 4 * n):
        path = tmp_path / f"x-{size}.yaml"
        path.write_text(make(size))
        work[size] = _suppression_work(_loaded(path))
    best = {n: float("inf"), 4 * n: float("inf")}
    gc.disable()  # as timeit does: a collection's cost depends on all the test's other objects
    try:
        with watchdog(60):  # a quadratic step takes minutes here, a linear one about a second
            for _ in range(runs):  # interleaved, so that a busy moment of the machine slows both sizes alike
                for size, run in work.items():
                    started = time.perf_counter()
                    run()
                    best[size] = min(best[size], time.perf_counter() - started)
    finally:
        gc.enable()
    ratio = best[4 * n] / best[n]
    assert ratio < 7.0, f"4x the suppressions cost {ratio:.1f}x the time: something grows faster than linearly"


def test_own_line_comments_cost_linear_time(tmp_path: Path) -> None:
    _linear(tmp_path, _own_line, 1500)


def test_a_run_of_own_line_comments_costs_linear_time(tmp_path: Path) -> None:
    _linear(tmp_path, _stacked, 2000)


def test_trailing_comments_cost_linear_time(tmp_path: Path) -> None:
    _linear(tmp_path, _trailing, 1500)


def test_cloudformation_metadata_costs_linear_time(tmp_path: Path) -> None:
    _linear(tmp_path, _cloudformation, 250)
