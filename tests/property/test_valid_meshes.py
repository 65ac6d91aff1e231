"""Valid meshes: check is silent, build succeeds, every bootstrap parses strictly (a sample also passes the
real Envoy), and the output means what the mesh says (routes, weights, listeners, TLS, retries, timeouts,
the topology drawing)."""

from __future__ import annotations

import itertools
import tempfile
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.property import expect
from tests.property.helpers import FORMATS, bootstraps, build, check, describe, write_mesh
from tests.property.strategies import Plan, plans
from tests.support.envoy import assert_envoy_accepts, strict_parse

ENVOY_EVERY = 8  # the real Envoy validates every bootstrap of examples 0, 8, 16, ... of each run
_counter = itertools.count()


@given(plan=plans(), fmt=st.sampled_from(FORMATS))
def test_valid_mesh_checks_clean_in_every_format(plan: Plan, fmt: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        diagnostics = check(write_mesh(Path(tmp) / "in", plan.documents(), fmt))
    assert diagnostics == [], describe(diagnostics)


@pytest.mark.envoy
@given(plan=plans())
def test_valid_mesh_builds_into_bootstraps_envoy_accepts(plan: Plan, cert_root: Path) -> None:
    number = next(_counter)
    with tempfile.TemporaryDirectory() as tmp:
        folder = write_mesh(Path(tmp) / "in", plan.documents())
        files = build(folder, Path(tmp) / "out", cert_root)
        boots = bootstraps(files)
        want = {f"{plan.mesh}/virtual-nodes/{n.name}.json" for n in plan.nodes}
        want |= {f"{plan.mesh}/virtual-gateways/{g.name}.json" for g in plan.gateways}
        assert set(boots) == want
        for path, boot in boots.items():
            try:
                strict_parse(boot)
            except ValueError as exc:
                raise AssertionError(f"{path}: {exc}") from exc
        if number % ENVOY_EVERY == 0:
            assert_envoy_accepts([Path(tmp) / "out" / path for path in sorted(boots)])


@given(plan=plans())
def test_bootstraps_carry_the_mesh(plan: Plan) -> None:
    """Per node: every listener with its TLS; every backend's virtual host with the router's routes in
    order, their weighted clusters (= targets and weights), timeouts and retry policies; every target
    cluster with the client TLS policy."""
    with tempfile.TemporaryDirectory() as tmp:
        files = build(write_mesh(Path(tmp) / "in", plan.documents()), Path(tmp) / "out")
    boots = bootstraps(files)
    for node in plan.nodes:
        expect.check_node(plan, node.name, boots[f"{plan.mesh}/virtual-nodes/{node.name}.json"])
    for gateway in plan.gateways:
        boot = boots[f"{plan.mesh}/virtual-gateways/{gateway.name}.json"]
        found = expect.listeners(boot)
        for (proto, port), tls in zip(gateway.listeners, gateway.tls, strict=True):
            (listener,) = [lst for lst in found.values()
                           if lst["address"]["socket_address"]["port_value"] == port]
            (chain,) = listener["filter_chains"]
            expect.check_listener_tls(tls, chain, f"gateway {gateway.name} {proto}:{port}")
            names = {r.get("name") for v in expect.typed_config(chain)["route_config"]["virtual_hosts"]
                     for r in v["routes"]}
            mine = {r.name for r in gateway.routes if r.port in (None, port)}
            assert mine <= names, f"gateway routes {mine - names} missing on port {port}"


@given(plan=plans())
def test_topology_has_exactly_the_models_nodes_and_edges(plan: Plan) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        files = build(write_mesh(Path(tmp) / "in", plan.documents()), Path(tmp) / "out")
    nodes, edges = expect.dot_graph(files[f"{plan.mesh}/topology.dot"].decode())
    want_nodes, want_edges = expect.model_graph(plan)
    assert nodes - {"legend"} == want_nodes
    assert edges == want_edges
