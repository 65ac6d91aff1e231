"""X-Ray sampling and segment names through real Envoy: a UDP socket on 127.0.0.1 stands in for the X-Ray
daemon, and each compiled sidecar sends it the segments its sampling rule lets through.

Three sidecars of one node, each compiled with other X-Ray options, send REQUESTS requests to an app:
rate 1.0 traces every one, rate 0 with fixed target 0 none, and the segment name follows the option.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.e2e.traffic import (
    APP_IP,
    Envoy,
    Fleet,
    build_bootstrap,
    free_port,
    loopback_ip,
    send,
    sidecar_options,
    write_mesh,
)
from tests.support.envoy import write_json

pytestmark = pytest.mark.envoy

REQUESTS = 12
QUIET_S = 0.5  # no more segments after this long

MESH_YAML = """\
meshName: tracing
spec: {{}}
---
virtualServiceName: color.tracing.local
meshName: tracing
spec: {{provider: {{virtualNode: {{virtualNodeName: color}}}}}}
---
virtualNodeName: color
meshName: tracing
spec:
  listeners: [{{portMapping: {{port: {port}, protocol: http}}}}]
  serviceDiscovery: {{dns: {{hostname: color.tracing.local}}}}
---
virtualNodeName: front
meshName: tracing
spec:
  backends: [{{virtualService: {{virtualServiceName: color.tracing.local}}}}]
  serviceDiscovery: {{dns: {{hostname: front.tracing.local}}}}
"""

VARIANTS: dict[str, dict[str, Any]] = {
    "all": {"xray_sampling_rate": 1.0},
    "none": {"xray_sampling_rate": 0.0, "xray_fixed_target": 0},
    "named": {"xray_sampling_rate": 1.0, "xray_segment_name": "shop-{name}"},
}


@dataclass(frozen=True)
class Daemon:
    """What each stand-in daemon received: the segment documents, in order."""

    segments: dict[str, list[dict[str, Any]]]
    statuses: dict[str, list[int]]


def _receive(sock: socket.socket, expected: int) -> list[dict[str, Any]]:
    """Datagrams (`{"format": "json", "version": 1}`, newline, a segment) until `expected` came, then until
    QUIET_S passes without one: a surplus is seen too."""
    out = []
    deadline = time.monotonic() + 10.0
    while True:
        sock.settimeout(QUIET_S if len(out) >= expected else max(0.1, deadline - time.monotonic()))
        try:
            data = sock.recv(65536)
        except TimeoutError:
            return out
        header, _, body = data.decode().partition("\n")
        assert json.loads(header) == {"format": "json", "version": 1}
        out.append(json.loads(body))


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    work = tmp_path_factory.mktemp("traffic-xray")
    fleet = Fleet(work)
    sockets: dict[str, socket.socket] = {}
    try:
        ips = {name: loopback_ip(8, i + 2) for i, name in enumerate(VARIANTS)}
        port = free_port(APP_IP, *ips.values())
        mesh_dir = write_mesh(work / "mesh", MESH_YAML.format(port=port))
        fleet.app("color", port)
        for name, options in VARIANTS.items():
            sock = sockets[name] = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            sock.bind((APP_IP, 0))
            compiled = sidecar_options(work, name, bind=ips[name], egress_port=port, admin_port=free_port(APP_IP),
                                       resolve={"color.tracing.local": APP_IP}, tracing="xray",
                                       tracing_address=f"{APP_IP}:{sock.getsockname()[1]}", **options)
            document = build_bootstrap(mesh_dir, "tracing/virtual-nodes/front.json", compiled)
            config = write_json(work / f"{name}.bootstrap.json", document)
            fleet.envoys[name] = Envoy(name, config, compiled.admin_port, work / f"{name}.envoy.log").start()
        fleet.wait_ready()
        statuses = {name: [send(ips[name], port, f"/r{i}", "color.tracing.local").status for i in range(REQUESTS)]
                    for name in VARIANTS}
        expected = {name: 0 if name == "none" else REQUESTS for name in VARIANTS}
        yield Daemon({name: _receive(sock, expected[name]) for name, sock in sockets.items()}, statuses)
    finally:
        fleet.close()
        for sock in sockets.values():
            sock.close()


def test_requests_went_through(daemon: Daemon) -> None:
    assert daemon.statuses == {name: [200] * REQUESTS for name in VARIANTS}


def test_rate_one_traces_every_request(daemon: Daemon) -> None:
    segments = daemon.segments["all"]
    assert len(segments) == REQUESTS
    assert len({s["trace_id"] for s in segments}) == REQUESTS
    assert sorted(s["http"]["request"]["url"].rpartition("/")[2] for s in segments) == sorted(
        f"r{i}" for i in range(REQUESTS))
    assert {s["name"] for s in segments} == {"tracing/front"}  # App Mesh's default: <mesh>/<virtual node>
    assert {s["origin"] for s in segments} == {"AWS::AppMesh::Proxy"}
    assert {json.dumps(s["aws"], sort_keys=True) for s in segments} == {
        json.dumps({"app_mesh": {"mesh_name": "tracing", "virtual_node_name": "front"}}, sort_keys=True)}


def test_rate_zero_and_fixed_target_zero_trace_nothing(daemon: Daemon) -> None:
    assert daemon.segments["none"] == []


def test_segment_name_as_configured(daemon: Daemon) -> None:
    segments = daemon.segments["named"]
    assert len(segments) == REQUESTS
    assert {s["name"] for s in segments} == {"shop-front"}
