"""Golden compile cases: fixtures/compile/<case>/input -> expected/<mesh>/virtual-{nodes,gateways}/*.json, and the
App Mesh metrics files beside them for METRICS_CASES (expected/<mesh>/appmesh-metrics.rules.yaml,
cloudwatch-agent.json, cloudwatch-agent-prometheus.yaml).

Each case is compared byte for byte and every bootstrap is proven with strict parsing and real Envoy.
`MESHLINT_UPDATE_GOLDEN=1` rewrites the expected files (review the diff!).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.compile.helpers import (
    CASE_NAMES,
    CASES,
    compile_case,
    envoy_proof,
    findings_json,
    metrics_files,
    render_json,
)
from tests.support.envoy import CertFiles

UPDATE = os.environ.get("MESHLINT_UPDATE_GOLDEN") == "1"
# The metrics files depend on the mesh name and a few options only: pinned for two cases (default options and
# observability's own), checked with promtool for every case in test_metrics_files.py.
METRICS_CASES = ("observability", "weighted-router")
FINDINGS = "findings.json"


def _expected_files(expected: Path) -> dict[str, bytes]:
    if not expected.is_dir():
        return {}
    return {p.relative_to(expected).as_posix(): p.read_bytes() for p in sorted(expected.rglob("*")) if p.is_file()}


def _write(expected: Path, produced: dict[str, bytes]) -> None:
    shutil.rmtree(expected, ignore_errors=True)
    for rel, content in produced.items():
        target = expected / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)


@pytest.mark.envoy
@pytest.mark.parametrize("case", CASE_NAMES)
def test_golden(case: str, cert_dir: CertFiles, tmp_path: Path) -> None:
    folder = CASES / case
    result = compile_case(folder)
    produced = {a.path.as_posix(): a.content for a in result.artifacts}
    if case in METRICS_CASES:
        produced |= {a.path.as_posix(): a.content for a in metrics_files(folder)}
    assert FINDINGS not in produced
    produced[FINDINGS] = render_json(findings_json(result))
    expected = folder / "expected"
    if UPDATE:
        _write(expected, produced)
    assert sorted(produced) == sorted(_expected_files(expected)), "artifact set differs from the golden files"
    for rel, content in produced.items():
        assert content == (expected / rel).read_bytes(), f"{case}/{rel} differs (MESHLINT_UPDATE_GOLDEN=1)"
    envoy_proof([(a.path.as_posix(), a.content) for a in result.artifacts], cert_dir, tmp_path)
