"""Ratio guards for suppressions (analyze/suppressions.py): checking a file with 4x the suppressions must cost
near 4x, far from the 16x of a step that, for each comment or diagnostic, walks all the others (own-line
comments: 2,000 took 1 s, 8,000 took 8 s; CloudFormation Metadata: 2,000 took 37 s). Each guard failed on that
code (ratios 11x to 20x and more). No absolute times: see tests/unit/test_scaling.py."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from meshlint import api

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


def _check_cost(path: Path, runs: int) -> float:
    best = float("inf")
    for _ in range(runs):
        started = time.perf_counter()
        result = api.check([str(path)])
        best = min(best, time.perf_counter() - started)
        rules = {d.rule for d in result.diagnostics}
        assert "missing-tls" not in rules and "unused-suppression" not in rules, rules  # all hidden, all used
    return best


def _linear(tmp_path: Path, make: Callable[[int], str], n: int) -> None:
    files = {}
    for size in (n // 10, n, 4 * n):
        files[size] = tmp_path / f"x-{size}.yaml"
        files[size].write_text(make(size))
    _check_cost(files[n // 10], runs=1)  # warm caches (schemas, validators)
    ratio = _check_cost(files[4 * n], runs=3) / _check_cost(files[n], runs=3)
    assert ratio < 7.0, f"4x the suppressions cost {ratio:.1f}x the time: something grows faster than linearly"


def test_own_line_comments_cost_linear_time(tmp_path: Path) -> None:
    _linear(tmp_path, _own_line, 800)


def test_a_run_of_own_line_comments_costs_linear_time(tmp_path: Path) -> None:
    _linear(tmp_path, _stacked, 5000)


def test_trailing_comments_cost_linear_time(tmp_path: Path) -> None:
    _linear(tmp_path, _trailing, 800)


def test_cloudformation_metadata_costs_linear_time(tmp_path: Path) -> None:
    _linear(tmp_path, _cloudformation, 250)
