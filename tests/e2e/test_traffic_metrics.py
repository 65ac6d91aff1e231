"""The App Mesh metrics, end to end: real Envoys from compiled output, a real Prometheus evaluating the
generated recording rules, a known number of requests with known status codes through a weighted split.

    app -> front (sidecar) -> color.metrics.local: v1 50 / v2 50 -> v1, v2 (sidecars) -> apps

The apps count what they receive, so the split's outcome is known exactly. Prometheus scrapes the three admin
endpoints once a second and records `envoy_appmesh_*` with `appmesh-metrics.rules.yaml`; a second job scrapes
them the way the generated CloudWatch agent configuration does (its relabelling, summaries), with the metric
names written `envoy_appmesh_cw_*` instead of `envoy.appmesh.*`, which Prometheus 2 cannot store.
"""

from __future__ import annotations

import math
import random
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from meshlint.compile.metrics import AGENT_PROMETHEUS_FILE, RULES_FILE, compile_metrics
from tests.compile.helpers import validated_mesh
from tests.e2e.prometheus import Prometheus, scrape_job
from tests.e2e.traffic import APP_IP, Fleet, free_port, loopback_ip, send, sidecar_options, write_mesh

pytestmark = pytest.mark.envoy

MESH = "metrics"
SERVICE = "color.metrics.local"
OK, FAILED = 30, 10  # 200s and 500s (500 is not in App Mesh's default retry policy: one attempt each)
DELAY_MS = 60  # every reply: TargetResponseTime lands in Envoy's (50, 100] ms bucket
DEADLINE_S = 40.0

MESH_YAML = """\
meshName: metrics
spec: {{}}
---
virtualServiceName: color.metrics.local
meshName: metrics
spec: {{provider: {{virtualRouter: {{virtualRouterName: color}}}}}}
---
virtualRouterName: color
meshName: metrics
spec: {{listeners: [{{portMapping: {{port: {egress}, protocol: http}}}}]}}
---
routeName: split
virtualRouterName: color
meshName: metrics
spec:
  httpRoute:
    match: {{prefix: /}}
    action: {{weightedTargets: [{{virtualNode: v1, weight: 50}}, {{virtualNode: v2, weight: 50}}]}}
---
virtualNodeName: v1
meshName: metrics
spec:
  listeners: [{{portMapping: {{port: {v1}, protocol: http}}}}]
  serviceDiscovery: {{dns: {{hostname: v1.metrics.local}}}}
---
virtualNodeName: v2
meshName: metrics
spec:
  listeners: [{{portMapping: {{port: {v2}, protocol: http}}}}]
  serviceDiscovery: {{dns: {{hostname: v2.metrics.local}}}}
---
virtualNodeName: front
meshName: metrics
spec:
  backends: [{{virtualService: {{virtualServiceName: color.metrics.local}}}}]
  serviceDiscovery: {{dns: {{hostname: front.metrics.local}}}}
"""


@dataclass(frozen=True)
class Observed:
    prometheus: Prometheus
    received: dict[str, Counter[str]]  # node -> {"ok": n, "fail": m}, as its app counted them
    statuses: Counter[int]


def _cloudwatch_job(work: Path, targets: list[str]) -> dict[str, Any]:
    """The generated agent scrape job, aimed at the test's Envoys, its metric names made Prometheus-legal."""
    text = (work / "out" / MESH / AGENT_PROMETHEUS_FILE).read_text().replace("envoy.appmesh.", "envoy_appmesh_cw_")
    text = text.replace(r"envoy\.appmesh\.", "envoy_appmesh_cw_")
    (job,) = yaml.safe_load(text)["scrape_configs"]
    return {**job, "job_name": "cloudwatch-agent", "static_configs": [{"targets": targets}]}


@pytest.fixture(scope="module")
def observed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Observed]:
    work = tmp_path_factory.mktemp("traffic-metrics")
    fleet = Fleet(work)
    prometheus = Prometheus(work / "prometheus")
    try:
        ips = {name: loopback_ip(7, i + 2) for i, name in enumerate(("front", "v1", "v2"))}
        egress = free_port(*ips.values())  # one egress port for every proxy, as one build gives them
        ports = {name: free_port(APP_IP, ips[name]) for name in ("v1", "v2")}
        mesh_dir = write_mesh(work / "mesh", MESH_YAML.format(egress=egress, **ports))
        admin = {name: free_port(APP_IP) for name in ips}
        for name in ("v1", "v2"):
            fleet.app(name, ports[name])
            fleet.sidecar(mesh_dir, f"{MESH}/virtual-nodes/{name}.json",
                          sidecar_options(work, name, bind=ips[name], ingress_port=ports[name], egress_port=egress,
                                          admin_port=admin[name]))
        front = sidecar_options(work, "front", bind=ips["front"], egress_port=egress, admin_port=admin["front"],
                                resolve={f"{n}.metrics.local": ips[n] for n in ("v1", "v2")})
        fleet.sidecar(mesh_dir, f"{MESH}/virtual-nodes/front.json", front)
        for artifact in compile_metrics(validated_mesh(mesh_dir), front):
            (work / "out" / artifact.path).parent.mkdir(parents=True, exist_ok=True)
            (work / "out" / artifact.path).write_bytes(artifact.content)
        targets = [f"{APP_IP}:{port}" for port in admin.values()]
        prometheus.start([scrape_job("envoy", targets), _cloudwatch_job(work, targets)],
                         [work / "out" / MESH / RULES_FILE])
        fleet.wait_ready()
        prometheus.wait_ready()
        statuses: Counter[int] = Counter()

        def get(path: str) -> None:
            statuses[send(ips["front"], egress, path, SERVICE, headers={"x-delay-ms": str(DELAY_MS)}).status] += 1

        # Envoy publishes a histogram at its first flush with everything counted so far, and rate() sees no
        # increase in a series' first sample: reach both targets, let Prometheus see their histograms, then
        # send the rest.
        while not all(fleet.upstreams[n].seen for n in ("v1", "v2")) and statuses[200] < OK:
            get("/ok")
        _wait(lambda: len(prometheus.query("envoy_cluster_appmesh_upstream_rq_time_count")) == 2,
              "both targets' response time histograms in Prometheus")
        rest = ["/fail"] * FAILED + ["/ok"] * (OK - statuses[200])
        random.Random(17).shuffle(rest)
        for path in rest:
            get(path)
        received = {name: Counter("fail" if path.startswith("/fail") else "ok"
                                  for _, path, _ in fleet.upstreams[name].seen) for name in ("v1", "v2")}
        yield Observed(prometheus, received, statuses)
    finally:
        prometheus.stop()
        fleet.close()


def _wait(predicate: Callable[[], bool], what: str) -> None:
    end = time.monotonic() + DEADLINE_S
    while not predicate():
        if time.monotonic() > end:
            raise AssertionError(f"timed out after {DEADLINE_S:g}s waiting for {what}")
        time.sleep(0.25)


def _values(prometheus: Prometheus, expr: str, *labels: str) -> dict[tuple[str, ...], float]:
    return {tuple(metric.get(label, "") for label in labels): value for metric, value in prometheus.query(expr)}


def _eventually(prometheus: Prometheus, expr: str, labels: tuple[str, ...],
                expected: dict[tuple[str, ...], float]) -> dict[tuple[str, ...], float]:
    """Poll until the query gives `expected` (Envoy flushes histograms every 5 s; Prometheus scrapes and
    evaluates every second); the last answer otherwise, for the assertion message."""
    end = time.monotonic() + DEADLINE_S
    got = _values(prometheus, expr, *labels)
    while got != expected and time.monotonic() < end:
        time.sleep(0.5)
        got = _values(prometheus, expr, *labels)
    return got


def test_the_traffic_went_as_sent(observed: Observed) -> None:
    assert observed.statuses == Counter({200: OK, 500: FAILED})
    assert sum(sum(c.values()) for c in observed.received.values()) == OK + FAILED
    assert all(observed.received[node]["ok"] > 0 for node in ("v1", "v2")), observed.received


def test_request_count_per_receiving_node(observed: Observed) -> None:
    expected = {(MESH, node): float(sum(observed.received[node].values())) for node in ("v1", "v2")}
    got = _eventually(observed.prometheus, 'envoy_appmesh_RequestCount{VirtualNode=~"v1|v2"}',
                      ("Mesh", "VirtualNode"), expected)
    assert got == expected


def test_request_count_per_target(observed: Observed) -> None:
    expected = {(MESH, "front", SERVICE, node): float(sum(observed.received[node].values())) for node in ("v1", "v2")}
    got = _eventually(observed.prometheus, "envoy_appmesh_RequestCountPerTarget",
                      ("Mesh", "VirtualNode", "TargetVirtualService", "TargetVirtualNode"), expected)
    assert got == expected
    assert sum(got.values()) == OK + FAILED


@pytest.mark.parametrize(("metric", "kind"), [("HTTPCode_Target_5XX_Count", "fail"),
                                              ("HTTPCode_Target_2XX_Count", "ok")])
def test_status_classes_per_target(observed: Observed, metric: str, kind: str) -> None:
    expected = {("front", SERVICE, node): float(observed.received[node][kind]) for node in ("v1", "v2")}
    got = _eventually(observed.prometheus, f"envoy_appmesh_{metric}",
                      ("VirtualNode", "TargetVirtualService", "TargetVirtualNode"), expected)
    assert got == expected


def test_target_response_time_quantile(observed: Observed) -> None:
    """Every reply took DELAY_MS (60 ms) plus the proxies' own time: the median lies in Envoy's (50, 100] bucket.
    (Over the requests after the first ones: see the fixture.)"""
    expr = 'envoy_appmesh_TargetResponseTime{quantile="0.5"}'
    labels = ("Mesh", "VirtualNode", "TargetVirtualService", "TargetVirtualNode")
    end = time.monotonic() + DEADLINE_S
    got = _values(observed.prometheus, expr, *labels)
    while (len(got) < 2 or any(math.isnan(v) for v in got.values())) and time.monotonic() < end:
        time.sleep(0.5)
        got = _values(observed.prometheus, expr, *labels)
    assert set(got) == {(MESH, "front", SERVICE, "v1"), (MESH, "front", SERVICE, "v2")}, got
    assert all(50 < value <= 100 for value in got.values()), got


def test_connection_and_byte_counts(observed: Observed) -> None:
    prometheus = observed.prometheus
    inbound_equals_target = ("envoy_appmesh_ProcessedBytes == on (Mesh, VirtualNode) "
                             'label_replace(envoy_appmesh_TargetProcessedBytes, "VirtualNode", "$1", "TargetVirtualNode", "(.+)")')
    _wait(lambda: len(prometheus.query(inbound_equals_target)) == 2, "settled byte counts")
    for metric in ("NewConnectionCount", "ProcessedBytes"):
        got = _values(prometheus, f"envoy_appmesh_{metric}", "VirtualNode")
        assert set(got) == {("v1",), ("v2",)} and all(v > 0 for v in got.values()), (metric, got)
    targets = _values(prometheus, 'envoy_appmesh_TargetProcessedBytes{VirtualNode="front"}', "TargetVirtualNode")
    assert set(targets) == {("v1",), ("v2",)} and all(v > 0 for v in targets.values()), targets
    # front's connections to a node are that node's only inbound connections: the same bytes seen from both ends
    inbound = _values(prometheus, "envoy_appmesh_ProcessedBytes", "VirtualNode")
    assert inbound == targets, (inbound, targets)
    active = _values(prometheus, "envoy_appmesh_ActiveConnectionCount", "VirtualNode")
    assert set(active) == {("v1",), ("v2",)}, active  # the ingress listeners only; front has none


def test_every_rule_evaluates(observed: Observed) -> None:
    unhealthy = [r for r in observed.prometheus.rule_health() if r[1] != "ok"]
    assert unhealthy == []


@pytest.mark.parametrize("metric", ["RequestCountPerTarget", "HTTPCode_Target_5XX_Count", "RequestCount"])
def test_cloudwatch_agent_relabelling_gives_the_same_figures(observed: Observed, metric: str) -> None:
    """The CloudWatch agent cannot sum: it sends every renamed series and CloudWatch adds those with the same
    dimensions. Summed the same way here, they equal the recorded metric."""
    dims = "Mesh, VirtualNode, VirtualGateway, TargetVirtualService, TargetVirtualNode"
    recorded = _values(observed.prometheus, f"envoy_appmesh_{metric}", "VirtualNode", "TargetVirtualNode")
    assert recorded
    got = _eventually(observed.prometheus, f"sum by ({dims}) (envoy_appmesh_cw_{metric})",
                      ("VirtualNode", "TargetVirtualNode"), recorded)
    assert got == recorded
