"""`trace`'s percentages for weighted targets against the split real Envoy makes of 2,000 requests each.

Same topology as tests/e2e/test_traffic_routing.py: the app -> its sidecar (front) -> the target sidecars ->
apps that say who they are. The observed count of each target must lie within 4 binomial standard
deviations of trace's share.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from meshlint import api
from meshlint.trace import parse_request
from tests.e2e.traffic import APP_IP, Fleet, free_port, loopback_ip, sidecar_options, tally, write_mesh

pytestmark = pytest.mark.envoy

MESH = "weights"
SERVICE = "split.weights.local"
REQUESTS = 2000
NODES = ("a", "b", "c")

MESH_YAML = """\
meshName: weights
spec: {{}}
---
virtualServiceName: split.weights.local
meshName: weights
spec: {{provider: {{virtualRouter: {{virtualRouterName: split}}}}}}
---
virtualRouterName: split
meshName: weights
spec: {{listeners: [{{portMapping: {{port: {router}, protocol: http}}}}]}}
---
routeName: canary
virtualRouterName: split
meshName: weights
spec:
  priority: 1
  httpRoute:
    match: {{prefix: /canary}}
    action: {{weightedTargets: [{{virtualNode: a, weight: 90}}, {{virtualNode: b, weight: 10}}]}}
---
routeName: three
virtualRouterName: split
meshName: weights
spec:
  priority: 2
  httpRoute:
    match: {{prefix: /three}}
    action: {{weightedTargets: [{{virtualNode: a, weight: 5}}, {{virtualNode: b, weight: 3}}, {{virtualNode: c, weight: 2}}]}}
---
virtualNodeName: front
meshName: weights
spec:
  backends: [{{virtualService: {{virtualServiceName: split.weights.local}}}}]
  serviceDiscovery: {{dns: {{hostname: front.weights.local}}}}
{nodes}"""

NODE_YAML = """\
---
virtualNodeName: {name}
meshName: weights
spec:
  listeners: [{{portMapping: {{port: {port}, protocol: http}}}}]
  serviceDiscovery: {{dns: {{hostname: {name}.weights.local}}}}
"""


@dataclass(frozen=True)
class Split:
    fleet: Fleet
    mesh_dir: str
    front_ip: str
    router: int


@pytest.fixture(scope="module")
def split(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Split]:
    work = tmp_path_factory.mktemp("trace-weights")
    fleet = Fleet(work)
    try:
        ips = {name: loopback_ip(8, i + 2) for i, name in enumerate(("front", *NODES))}
        ports = {name: free_port(APP_IP, ips[name]) for name in NODES}
        router = free_port(ips["front"])
        nodes = "".join(NODE_YAML.format(name=name, port=ports[name]) for name in NODES)
        mesh_dir = write_mesh(work / "mesh", MESH_YAML.format(router=router, nodes=nodes))
        for name in NODES:
            fleet.app(name, ports[name])
            options = sidecar_options(work, name, bind=ips[name], ingress_port=ports[name],
                                      egress_port=free_port(ips[name]), admin_port=free_port(APP_IP))
            fleet.sidecar(mesh_dir, f"{MESH}/virtual-nodes/{name}.json", options)
        resolve = {f"{name}.weights.local": ips[name] for name in NODES}
        options = sidecar_options(work, "front", bind=ips["front"], egress_port=router,
                                  admin_port=free_port(APP_IP), resolve=resolve)
        fleet.sidecar(mesh_dir, f"{MESH}/virtual-nodes/front.json", options)
        fleet.wait_ready()
        yield Split(fleet, str(mesh_dir), ips["front"], router)
    finally:
        fleet.close()


def within_sigmas(observed: int, n: int, p: float, sigmas: float = 4.0) -> bool:
    return abs(observed - n * p) <= sigmas * math.sqrt(n * p * (1 - p))


@pytest.mark.parametrize(("path", "expected"), [
    ("/canary", {"a": 90.0, "b": 10.0}),
    ("/three/x", {"a": 50.0, "b": 30.0, "c": 20.0}),
])
def test_trace_shares_are_the_observed_split(split: Split, path: str, expected: dict[str, float]) -> None:
    request = parse_request(f"http://{SERVICE}:{split.router}{path}")
    predicted = api.trace([split.mesh_dir], "front", request).trace.outcome.delivered
    assert predicted == expected
    seen = tally(split.front_ip, split.router, path, SERVICE, REQUESTS)
    print(f"{path}: trace {predicted}, Envoy over {REQUESTS} requests {dict(seen)}")
    assert set(seen) == set(predicted), seen
    for node, percent in predicted.items():
        assert within_sigmas(seen[node], REQUESTS, percent / 100), (node, percent, dict(seen))
