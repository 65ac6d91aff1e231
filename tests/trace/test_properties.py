"""`trace` over the property suite's generated meshes (every route kind, TLS, mTLS, gateways, TCP): whatever the
request, it never raises, lists the routes in the order the model sets, and accounts for every share."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

import tests.support.profiles  # noqa: F401
from meshlint import api
from meshlint.compile import ValidatedMesh
from meshlint.model.graph import MeshGraph
from meshlint.trace import parse_request, resolve_origin, trace
from meshlint.trace.result import Hop
from tests.property.helpers import write_mesh
from tests.property.strategies import Plan, plans

_PATHS = st.sampled_from(("/", "/p0", "/p1/x", "/api/1?q=1", "/a//b/../c", "/p0.Svc/Method"))
_HEADERS = st.lists(st.sampled_from(("x-a: 1", "x-b: v2", "x-version: 12", "content-type: application/grpc")),
                    max_size=2)


def _requests(plan: Plan, draw: st.DataObject) -> list[tuple[str, str, list[str], str]]:
    """(origin, url, headers, method): from each node to each of its backends, and into each gateway."""
    out = []
    for node in plan.nodes:
        for service in node.backends:
            for _, port in plan.service_ports(service):
                out.append((node.name, f"http://{service}:{port}{draw.draw(_PATHS)}", draw.draw(_HEADERS),
                            draw.draw(st.sampled_from(("GET", "POST")))))
        out.append((node.name, f"http://unknown.example:{draw.draw(st.integers(1, 65535))}/", [], "GET"))
    for gateway in plan.gateways:
        for _, port in gateway.listeners:
            scheme = draw.draw(st.sampled_from(("http", "https")))
            out.append((f"gateway/{gateway.name}", f"{scheme}://api.example.com:{port}{draw.draw(_PATHS)}",
                        draw.draw(_HEADERS), "GET"))
    return out


def _in_model_order(hop: Hop, mesh: ValidatedMesh, mesh_name: str) -> bool:
    """The routes of a router appear in the order the graph sorts them (the order the compiler emits)."""
    if hop.provider is None or not hop.provider.startswith("virtual router "):
        return True
    router = hop.provider.removeprefix("virtual router ")
    order = [r.qualified_name for r in mesh.graph.routes_by_router.get((mesh_name, router), [])]
    listed = list(dict.fromkeys(line.name for line in hop.routes if line.name in order))
    return listed == [name for name in order if name in listed]


@settings(max_examples=max(10, settings.default.max_examples // 4))
@given(plan=plans(), data=st.data())
def test_trace_never_raises_and_accounts_for_every_share(plan: Plan, data: st.DataObject) -> None:
    with tempfile.TemporaryDirectory() as folder:
        checked = api.check([str(write_mesh(Path(folder) / "mesh", plan.documents()))])
    mesh = ValidatedMesh(checked.model, MeshGraph.build(checked.model))
    for origin, url, headers, method in _requests(plan, data):
        found = trace(mesh, resolve_origin(mesh, origin), parse_request(url, method, headers)).trace
        for hop in found.hops:
            assert _in_model_order(hop, mesh, plan.mesh), hop.routes
            assert sum(1 for line in hop.routes if line.verdict == "taken") <= 1
            if hop.targets:
                assert abs(sum(t.percent for t in hop.targets) - 100.0) < 0.05, hop.targets
        outcome = found.outcome
        assert (outcome.drop is None) != (not outcome.delivered and not outcome.failed), outcome
        assert all(0 < share <= 100 for share in (*outcome.delivered.values(), *outcome.failed.values()))
