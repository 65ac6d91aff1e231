"""Routing, retries and timeouts proven with traffic: an app -> its sidecar (front) -> server sidecars -> apps.

All bootstraps come from `meshlint build` (api.build); see tests/e2e/traffic.py for the topology.
"""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.e2e.traffic import APP_IP, Envoy, Fleet, free_port, loopback_ip, send, sidecar_options, tally, write_mesh

pytestmark = pytest.mark.envoy

MESH = "traffic"
COLOR = "color.traffic.local"
RETRY = "retry.traffic.local"
SPLIT_REQUESTS = 2000

MESH_YAML = """\
meshName: traffic
spec: {{}}
---
virtualServiceName: color.traffic.local
meshName: traffic
spec: {{provider: {{virtualRouter: {{virtualRouterName: color-router}}}}}}
---
virtualServiceName: retry.traffic.local
meshName: traffic
spec: {{provider: {{virtualRouter: {{virtualRouterName: retry-router}}}}}}
---
virtualRouterName: color-router
meshName: traffic
spec: {{listeners: [{{portMapping: {{port: {router}, protocol: http}}}}]}}
---
virtualRouterName: retry-router
meshName: traffic
spec: {{listeners: [{{portMapping: {{port: {router}, protocol: http}}}}]}}
---
routeName: canary
virtualRouterName: color-router
meshName: traffic
spec:
  priority: 1
  httpRoute:
    match:
      prefix: /
      headers: [{{name: x-canary, match: {{exact: "true"}}}}]
    action: {{weightedTargets: [{{virtualNode: v2, weight: 1}}]}}
---
routeName: exact-path
virtualRouterName: color-router
meshName: traffic
spec:
  priority: 2
  httpRoute:
    match: {{path: {{exact: /exact}}}}
    action: {{weightedTargets: [{{virtualNode: v2, weight: 1}}]}}
---
routeName: post-only
virtualRouterName: color-router
meshName: traffic
spec:
  priority: 3
  httpRoute:
    match: {{prefix: /method, method: POST}}
    action: {{weightedTargets: [{{virtualNode: v2, weight: 1}}]}}
---
routeName: query
virtualRouterName: color-router
meshName: traffic
spec:
  priority: 4
  httpRoute:
    match:
      prefix: /query
      queryParameters: [{{name: ver, match: {{exact: "2"}}}}]
    action: {{weightedTargets: [{{virtualNode: v2, weight: 1}}]}}
---
routeName: short-first
virtualRouterName: color-router
meshName: traffic
spec:
  priority: 5
  httpRoute:
    match: {{prefix: /p}}
    action: {{weightedTargets: [{{virtualNode: v2, weight: 1}}]}}
---
routeName: long-second
virtualRouterName: color-router
meshName: traffic
spec:
  priority: 6
  httpRoute:
    match: {{prefix: /p/long}}
    action: {{weightedTargets: [{{virtualNode: v1, weight: 1}}]}}
---
routeName: split
virtualRouterName: color-router
meshName: traffic
spec:
  priority: 7
  httpRoute:
    match: {{prefix: /split}}
    action: {{weightedTargets: [{{virtualNode: v1, weight: 90}}, {{virtualNode: v2, weight: 10}}]}}
---
routeName: half
virtualRouterName: color-router
meshName: traffic
spec:
  priority: 8
  httpRoute:
    match: {{prefix: /half}}
    action: {{weightedTargets: [{{virtualNode: v1, weight: 1}}, {{virtualNode: v2, weight: 1}}]}}
---
routeName: default
virtualRouterName: color-router
meshName: traffic
spec:
  httpRoute:
    match: {{prefix: /}}
    action: {{weightedTargets: [{{virtualNode: v1, weight: 1}}]}}
---
routeName: legacy
virtualRouterName: color-router
meshName: traffic
spec:
  httpRoute:
    match: {{prefix: /legacy}}
    action: {{weightedTargets: [{{virtualNode: v2, weight: 1}}]}}
---
routeName: explicit
virtualRouterName: retry-router
meshName: traffic
spec:
  priority: 1
  httpRoute:
    match: {{prefix: /explicit}}
    retryPolicy:
      maxRetries: 4
      perRetryTimeout: {{unit: s, value: 5}}
      httpRetryEvents: [server-error]
    action: {{weightedTargets: [{{virtualNode: flaky, weight: 1}}]}}
---
routeName: slow
virtualRouterName: retry-router
meshName: traffic
spec:
  priority: 2
  httpRoute:
    match: {{prefix: /slow}}
    timeout: {{perRequest: {{unit: s, value: 1}}}}
    action: {{weightedTargets: [{{virtualNode: flaky, weight: 1}}]}}
---
routeName: defaulted
virtualRouterName: retry-router
meshName: traffic
spec:
  httpRoute:
    match: {{prefix: /}}
    action: {{weightedTargets: [{{virtualNode: flaky, weight: 1}}]}}
---
virtualNodeName: front
meshName: traffic
spec:
  backends:
    - virtualService: {{virtualServiceName: color.traffic.local}}
    - virtualService: {{virtualServiceName: retry.traffic.local}}
  serviceDiscovery: {{dns: {{hostname: front.traffic.local}}}}
---
virtualNodeName: v1
meshName: traffic
spec:
  listeners: [{{portMapping: {{port: {v1}, protocol: http}}}}]
  serviceDiscovery: {{dns: {{hostname: v1.traffic.local}}}}
---
virtualNodeName: v2
meshName: traffic
spec:
  listeners: [{{portMapping: {{port: {v2}, protocol: http}}}}]
  serviceDiscovery: {{dns: {{hostname: v2.traffic.local}}}}
---
virtualNodeName: flaky
meshName: traffic
spec:
  listeners: [{{portMapping: {{port: {flaky}, protocol: http}}}}]
  serviceDiscovery: {{dns: {{hostname: flaky.traffic.local}}}}
"""

SERVERS = ("v1", "v2", "flaky")


@dataclass(frozen=True)
class Mesh:
    fleet: Fleet
    front_ip: str
    router_port: int

    @property
    def front(self) -> Envoy:
        return self.fleet.envoys["front"]

    def send(self, path: str, host: str = COLOR, **kw: object) -> tuple[int, str | None]:
        reply = send(self.front_ip, self.router_port, path, host, **kw)  # type: ignore[arg-type]
        return reply.status, reply.served_by


@pytest.fixture(scope="module")
def mesh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mesh]:
    work = tmp_path_factory.mktemp("traffic-routing")
    fleet = Fleet(work)
    try:
        ips = {name: loopback_ip(1, i + 2) for i, name in enumerate(("front", *SERVERS))}
        ports = {name: free_port(APP_IP, ips[name]) for name in SERVERS}
        router = free_port(ips["front"])
        mesh_dir = write_mesh(work / "mesh", MESH_YAML.format(router=router, **ports))
        for name in SERVERS:
            fleet.app(name, ports[name])
            options = sidecar_options(work, name, bind=ips[name], ingress_port=ports[name],
                                      egress_port=free_port(ips[name]), admin_port=free_port(APP_IP))
            fleet.sidecar(mesh_dir, f"{MESH}/virtual-nodes/{name}.json", options)
        resolve = {f"{name}.traffic.local": ips[name] for name in SERVERS}
        options = sidecar_options(work, "front", bind=ips["front"], egress_port=router,
                                  admin_port=free_port(APP_IP), resolve=resolve)
        fleet.sidecar(mesh_dir, f"{MESH}/virtual-nodes/front.json", options)
        fleet.wait_ready()
        yield Mesh(fleet, ips["front"], router)
    finally:
        fleet.close()


def within_sigmas(observed: int, n: int, p: float, sigmas: float = 4.0) -> bool:
    return abs(observed - n * p) <= sigmas * math.sqrt(n * p * (1 - p))


# --- weighted targets -----------------------------------------------------------------------


def test_weighted_90_10(mesh: Mesh) -> None:
    seen = tally(mesh.front_ip, mesh.router_port, "/split", COLOR, SPLIT_REQUESTS)
    print(f"90/10 route over {SPLIT_REQUESTS} requests: {dict(seen)}")
    assert set(seen) == {"v1", "v2"}, seen
    assert within_sigmas(seen["v2"], SPLIT_REQUESTS, 0.10), seen


def test_weighted_1_1(mesh: Mesh) -> None:
    seen = tally(mesh.front_ip, mesh.router_port, "/half", COLOR, SPLIT_REQUESTS)
    print(f"1/1 route over {SPLIT_REQUESTS} requests: {dict(seen)}")
    assert set(seen) == {"v1", "v2"}, seen
    assert within_sigmas(seen["v1"], SPLIT_REQUESTS, 0.5), seen


# --- matching -------------------------------------------------------------------------------


def test_header_match_sends_canary_traffic_only_to_v2(mesh: Mesh) -> None:
    canary = tally(mesh.front_ip, mesh.router_port, "/anything", COLOR, 200, headers={"x-canary": "true"})
    assert canary == {"v2": 200}
    other = tally(mesh.front_ip, mesh.router_port, "/anything", COLOR, 200, headers={"x-canary": "false"})
    assert other == {"v1": 200}
    assert tally(mesh.front_ip, mesh.router_port, "/anything", COLOR, 200) == {"v1": 200}


@pytest.mark.parametrize(("method", "path", "expected"), [
    ("GET", "/exact", "v2"),  # path.exact
    ("GET", "/exact/more", "v1"),  # exact is not a prefix
    ("POST", "/method/x", "v2"),  # prefix + method
    ("GET", "/method/x", "v1"),
    ("GET", "/query?ver=2", "v2"),  # query parameter exact
    ("GET", "/query?ver=1", "v1"),
    ("GET", "/query", "v1"),
    ("GET", "/p/long/x", "v2"),  # priority 5 (/p) beats the longer priority-6 prefix (/p/long)
    ("GET", "/other", "v1"),  # the unprioritised catch-all comes last
    ("GET", "/legacy/x", "v2"),  # among unprioritised routes the longer prefix first, whatever the names
])
def test_match_kinds_and_priority(mesh: Mesh, method: str, path: str, expected: str) -> None:
    assert mesh.send(path, method=method) == (200, expected)


def test_host_with_port_and_case_is_the_same_service(mesh: Mesh) -> None:
    assert mesh.send("/other", host=f"{COLOR}:{mesh.router_port}") == (200, "v1")
    assert mesh.send("/other", host=COLOR.upper()) == (200, "v1")


def test_drop_all_unknown_host_is_404(mesh: Mesh) -> None:
    before = mesh.front.stat("http.egress.no_route")
    assert mesh.send("/", host="unknown.example.com") == (404, None)
    assert mesh.front.stat("http.egress.no_route") == before + 1


# --- retries and timeouts -------------------------------------------------------------------


def _attempts(mesh: Mesh, path: str, fail_times: int, fail_status: int = 503) -> tuple[int, int]:
    key = uuid.uuid4().hex
    headers = {"x-request-key": key, "x-fail-times": str(fail_times), "x-fail-status": str(fail_status)}
    status, _ = mesh.send(path, host=RETRY, headers=headers)
    return status, mesh.fleet.upstreams["flaky"].attempts[key]


@pytest.mark.parametrize(("fail_times", "status", "attempts"), [(0, 200, 1), (4, 200, 5), (5, 503, 5)])
def test_explicit_retry_policy(mesh: Mesh, fail_times: int, status: int, attempts: int) -> None:
    """maxRetries 4 on server-error: 4 failures are absorbed, a 5th is returned."""
    assert _attempts(mesh, "/explicit", fail_times) == (status, attempts)


def test_explicit_server_error_retries_500_too(mesh: Mesh) -> None:
    assert _attempts(mesh, "/explicit", 2, fail_status=500) == (200, 3)


@pytest.mark.parametrize(("fail_times", "fail_status", "status", "attempts"), [
    (2, 503, 200, 3),  # App Mesh default: 2 retries on 503
    (3, 503, 503, 3),
    (1, 500, 500, 1),  # 500 is not in the default policy
])
def test_default_retry_policy(mesh: Mesh, fail_times: int, fail_status: int, status: int, attempts: int) -> None:
    assert _attempts(mesh, "/default", fail_times, fail_status) == (status, attempts)


def test_per_request_timeout(mesh: Mesh) -> None:
    start = time.monotonic()
    status, _ = mesh.send("/slow", host=RETRY, headers={"x-delay-ms": "3000"})
    elapsed = time.monotonic() - start
    assert status == 504
    assert 0.9 <= elapsed < 2.5, elapsed
    # A fast request on the same route, and a slow one on a route with the 15 s default, succeed.
    assert mesh.send("/slow", host=RETRY)[0] == 200
    assert mesh.send("/default", host=RETRY, headers={"x-delay-ms": "1500"})[0] == 200
