"""Whole-compiler properties: deterministic bytes, input order does not matter, names survive intact."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
import yaml

from meshlint.compile.envoy import CompileOptions, compile_envoy
from meshlint.diagnostics import Finding
from tests.compile.helpers import (
    CASE_NAMES,
    CASES,
    case_documents,
    case_options,
    compile_case,
    envoy_proof,
    validated_mesh,
)
from tests.support.envoy import CertFiles

SEEDS = (1, 2)


@pytest.mark.parametrize("case", CASE_NAMES)
def test_compiling_twice_gives_identical_bytes(case: str) -> None:
    first, second = compile_case(CASES / case), compile_case(CASES / case)
    assert [(a.path, a.content) for a in first.artifacts] == [(a.path, a.content) for a in second.artifacts]
    assert first.findings == second.findings


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("case", CASE_NAMES)
def test_document_order_does_not_matter(case: str, seed: int, tmp_path: Path) -> None:
    """Shuffle the documents and spread them over files in another order: same bytes as the golden."""
    folder = CASES / case
    docs = case_documents(folder)
    random.Random(seed).shuffle(docs)
    for i in range(0, len(docs), 3):
        (tmp_path / f"part-{len(docs) - i:03d}.yaml").write_text("\n---\n".join(docs[i:i + 3]) + "\n")
    shuffled = compile_envoy(validated_mesh(tmp_path), case_options(folder))
    golden = compile_case(folder)
    assert [a.path for a in shuffled.artifacts] == [a.path for a in golden.artifacts]
    for got, want in zip(shuffled.artifacts, golden.artifacts, strict=True):
        assert got.content == want.content, got.path
    assert sorted(map(_finding_key, shuffled.findings)) == sorted(map(_finding_key, golden.findings))


def _finding_key(f: Finding) -> tuple[str, str, str, str]:
    """File and document differ after shuffling; resource, pointer and message do not."""
    return f.rule, str(f.resource), f.pointer, f.message


PATHLIKE = ("../evil", "a/b", ".")


def _pathlike_mesh(folder: Path) -> None:
    docs = [{"meshName": "../m", "spec": {}},
            {"meshName": "../m", "virtualServiceName": "svc.local",
             "spec": {"provider": {"virtualNode": {"virtualNodeName": "a/b"}}}}]
    for name in PATHLIKE:
        spec: dict[str, object] = {"listeners": [{"portMapping": {"port": 8080, "protocol": "http"}}],
                                   "serviceDiscovery": {"dns": {"hostname": "x.local"}}}
        if name != "a/b":
            spec["backends"] = [{"virtualService": {"virtualServiceName": "svc.local"}}]
        docs.append({"meshName": "../m", "virtualNodeName": name, "spec": spec})
    docs.append({"meshName": "../m", "virtualGatewayName": "..",
                 "spec": {"listeners": [{"portMapping": {"port": 8088, "protocol": "http"}}]}})
    (folder / "mesh.yaml").write_text(yaml.safe_dump_all(docs))


@pytest.mark.envoy
def test_pathlike_names_encoded_in_paths_only(tmp_path: Path, cert_dir: CertFiles) -> None:
    (tmp_path / "in").mkdir()
    _pathlike_mesh(tmp_path / "in")
    result = compile_envoy(validated_mesh(tmp_path / "in"), CompileOptions())
    assert [a.path.as_posix() for a in result.artifacts] == [
        "..%2Fm/virtual-gateways/%2E%2E.json",
        "..%2Fm/virtual-nodes/%2E.json",
        "..%2Fm/virtual-nodes/..%2Fevil.json",
        "..%2Fm/virtual-nodes/a%2Fb.json",
    ]
    for artifact in result.artifacts:
        assert ".." not in artifact.path.parts and "." not in artifact.path.parts
    by_name = {json.loads(a.content)["node"]["id"]: json.loads(a.content) for a in result.artifacts}
    assert sorted(by_name) == ["mesh/../m/virtualGateway/..", "mesh/../m/virtualNode/.",
                               "mesh/../m/virtualNode/../evil", "mesh/../m/virtualNode/a/b"]
    evil = json.dumps(by_name["mesh/../m/virtualNode/../evil"])
    assert "cds_ingress_../m_../evil_http_8080" in evil and "cds_egress_../m_a/b_http_8080" in evil
    assert "%2F" not in evil
    envoy_proof([(a.path.as_posix(), a.content) for a in result.artifacts], cert_dir, tmp_path / "out")
