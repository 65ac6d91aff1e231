"""Whole-compiler properties: deterministic bytes, input order does not matter, names survive intact."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest
import yaml

from meshlint.compile.envoy import CompileOptions, compile_envoy, compile_proxies, render
from meshlint.compile.envoy.envoy_json import Json, SharedArray, SharedObject, share
from meshlint.diagnostics import Finding
from tests.compile.helpers import (
    CASE_NAMES,
    CASES,
    case_documents,
    case_options,
    compile_case,
    envoy_proof,
    render_json,
    validated_mesh,
)
from tests.support.envoy import CertFiles

SEEDS = (1, 2)


@pytest.mark.parametrize("case", CASE_NAMES)
def test_compiling_twice_gives_identical_bytes(case: str) -> None:
    first, second = compile_case(CASES / case), compile_case(CASES / case)
    assert [(a.path, a.content) for a in first.artifacts] == [(a.path, a.content) for a in second.artifacts]
    assert first.findings == second.findings


@pytest.mark.parametrize("case", CASE_NAMES)
def test_shared_parts_render_as_the_standard_library_writes(case: str) -> None:
    """The routes of a service and what a cluster says of its target are shared by every client's bootstrap
    and rendered once per indentation: each bootstrap's bytes are still what json.dumps writes of it."""
    documents: list[Json] = []
    compile_proxies(validated_mesh(CASES / case / "input"), case_options(CASES / case),
                    lambda path, document: documents.append(document) or [])
    for document in documents:
        assert render(document) == render_json(document)


def test_a_shared_part_renders_at_each_depth_it_is_held() -> None:
    """One shared value held at two depths: each place gets the text of its own indentation."""
    routes = share([{"match": {"prefix": "/"}, "route": {"cluster": "c", "timeout": "15s"}}])
    target = share({"name": "c", "load_assignment": {"cluster_name": "c", "endpoints": []}})
    document = {"a": {"routes": routes, "cluster": target}, "b": [{"deeper": {"routes": routes}}, target],
                "c": routes}
    for _ in range(2):  # the second time from what the first one kept
        assert render(document) == render_json(document)


TWO_CLIENTS = """
meshName: demo
spec: {}
---
virtualServiceName: api.demo.local
meshName: demo
spec: {provider: {virtualRouter: {virtualRouterName: api}}}
---
virtualRouterName: api
meshName: demo
spec: {listeners: [{portMapping: {port: 8080, protocol: http}}]}
---
routeName: all
virtualRouterName: api
meshName: demo
spec:
  httpRoute:
    match: {prefix: /}
    action: {weightedTargets: [{virtualNode: api-v1, weight: 1}]}
---
virtualNodeName: api-v1
meshName: demo
spec:
  listeners:
    - portMapping: {port: 8080, protocol: http}
      healthCheck: {protocol: http, path: /healthz, healthyThreshold: 2, unhealthyThreshold: 3, timeoutMillis: 2000,
                    intervalMillis: 5000}
  serviceDiscovery: {dns: {hostname: api-v1.demo.local}}
---
virtualNodeName: web
meshName: demo
spec:
  backends: [{virtualService: {virtualServiceName: api.demo.local}}]
  backendDefaults:
    clientPolicy: {tls: {validation: {trust: {file: {certificateChain: /etc/envoy/certs/ca.pem}}}}}
  serviceDiscovery: {dns: {hostname: web.demo.local}}
---
virtualNodeName: batch
meshName: demo
spec:
  backends: [{virtualService: {virtualServiceName: api.demo.local}}]
  serviceDiscovery: {dns: {hostname: batch.demo.local}}
"""


@pytest.mark.envoy
def test_clients_of_one_service_share_its_routes_and_target_fields(tmp_path: Path, cert_dir: CertFiles) -> None:
    """What makes a large build affordable: the clients of a service hold one copy of its routes, and their
    clusters towards one target one copy of what is the target's own, whatever TLS each client adds."""
    (tmp_path / "mesh.yaml").write_text(TWO_CLIENTS)
    documents: dict[str, Json] = {}
    compile_proxies(validated_mesh(tmp_path), CompileOptions(),
                    lambda path, document: documents.setdefault(path.stem, document) and [])
    web, batch = (_egress(documents[name]) for name in ("web", "batch"))
    assert web["routes"] is batch["routes"] and isinstance(web["routes"], SharedArray)  # rendered once
    assert "transport_socket" in web["cluster"] and "transport_socket" not in batch["cluster"]
    for field in ("load_assignment", "health_checks", "circuit_breakers"):
        assert web["cluster"][field] is batch["cluster"][field], field
        assert isinstance(web["cluster"][field], (SharedArray, SharedObject)), field
    for document in documents.values():
        assert render(document) == render_json(document)
    envoy_proof([(f"{name}.json", render(document)) for name, document in documents.items()], cert_dir,
                tmp_path / "out")


def _egress(document: Json) -> dict[str, Any]:
    """The routes towards api.demo.local and the cluster of api-v1 in a client's bootstrap."""
    egress = next(lst for lst in document["static_resources"]["listeners"] if lst["traffic_direction"] == "OUTBOUND")
    tables = [f["typed_config"]["route_config"] for chain in egress["filter_chains"] for f in chain["filters"]
              if "route_config" in f["typed_config"]]
    vhost = next(v for table in tables for v in table["virtual_hosts"] if v["name"] == "api.demo.local")
    cluster = next(c for c in document["static_resources"]["clusters"] if "api-v1" in c["name"])
    return {"routes": vhost["routes"], "cluster": cluster}


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
