"""Dangling references and half-deleted meshes never crash the compiler, and Envoy still accepts the output.

The mesh linter rejects such input before `build`, but the compiler must hold up on its own: what it
leaves out is a finding, never an exception or an invalid bootstrap.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from meshlint.compile.envoy import compile_envoy
from tests.compile.helpers import CASE_NAMES, CASES, case_documents, case_options, envoy_proof, validated_mesh
from tests.support.envoy import CertFiles


@pytest.mark.envoy
@pytest.mark.parametrize("case", CASE_NAMES)
def test_dropping_documents_never_breaks_the_compile(case: str, cert_dir: CertFiles, tmp_path: Path) -> None:
    docs = case_documents(CASES / case)
    produced: list[tuple[str, bytes]] = []
    for seed in (7, 8):
        kept = [d for d in docs if random.Random(f"{case}-{seed}-{d}").random() > 0.35]
        folder = tmp_path / f"seed{seed}"
        folder.mkdir()
        (folder / "mesh.yaml").write_text("\n---\n".join(kept or docs[:1]) + "\n")
        result = compile_envoy(validated_mesh(folder), case_options(CASES / case))
        assert all(f.rule == "not-compilable" and f.resource is not None for f in result.findings)
        produced += [(f"{seed}-{a.path.name}", a.content) for a in result.artifacts]
    envoy_proof(produced, cert_dir, tmp_path / "out")


def test_numbers_at_the_edge_of_the_api_give_bootstraps_envoy_reads(tmp_path: Path) -> None:
    """A Long timeout of 2**62 s is valid App Mesh input; protobuf's Duration stops at 10,000 years, so the
    bootstrap says that (never reached either way) rather than a value Envoy refuses."""
    from tests.support.envoy import strict_parse

    (tmp_path / "m.yaml").write_text(
        "meshName: m\nspec: {}\n---\nmeshName: m\nvirtualNodeName: n\nspec:\n  listeners:\n"
        "    - portMapping: {port: 8080, protocol: http}\n"
        f"      timeout: {{http: {{perRequest: {{value: {2**62}, unit: s}}, idle: {{value: {2**63 - 1}, unit: ms}}}}}}\n"
        "  serviceDiscovery: {dns: {hostname: n.m.local}}\n")
    (artifact,) = [a for a in compile_envoy(validated_mesh(tmp_path)).artifacts if a.path.name == "n.json"]
    strict_parse(artifact.content.decode())
    assert '"315576000000s"' in artifact.content.decode()
