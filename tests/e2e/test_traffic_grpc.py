"""gRPC through the sidecars: grpcRoute matching, App Mesh's default gRPC retries, per-request timeout.

grpcio is a dev dependency. Apps are generic-handler gRPC
servers on 127.0.0.1 speaking raw bytes (no generated stubs); the client dials its sidecar's egress listener
with `:authority` set to the virtual service.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import grpc
import pytest

from tests.e2e.traffic import APP_IP, Fleet, free_port, loopback_ip, sidecar_options, write_mesh

pytestmark = pytest.mark.envoy

MESH = "rpc"
ECHO = "echo.rpc.local"
SERVERS = ("v1", "v2")

MESH_YAML = """\
meshName: rpc
spec: {{}}
---
virtualServiceName: echo.rpc.local
meshName: rpc
spec: {{provider: {{virtualRouter: {{virtualRouterName: echo-router}}}}}}
---
virtualRouterName: echo-router
meshName: rpc
spec: {{listeners: [{{portMapping: {{port: {router}, protocol: grpc}}}}]}}
---
routeName: canary
virtualRouterName: echo-router
meshName: rpc
spec:
  priority: 1
  grpcRoute:
    match:
      serviceName: demo.Echo
      metadata: [{{name: x-canary, match: {{exact: "true"}}}}]
    action: {{weightedTargets: [{{virtualNode: v2, weight: 1}}]}}
---
routeName: method
virtualRouterName: echo-router
meshName: rpc
spec:
  priority: 2
  grpcRoute:
    match: {{serviceName: demo.Echo, methodName: Two}}
    action: {{weightedTargets: [{{virtualNode: v2, weight: 1}}]}}
---
routeName: slow
virtualRouterName: echo-router
meshName: rpc
spec:
  priority: 3
  grpcRoute:
    match: {{serviceName: demo.Echo, methodName: Slow}}
    timeout: {{perRequest: {{unit: s, value: 1}}}}
    action: {{weightedTargets: [{{virtualNode: v1, weight: 1}}]}}
---
routeName: service
virtualRouterName: echo-router
meshName: rpc
spec:
  grpcRoute:
    match: {{serviceName: demo.Echo}}
    action: {{weightedTargets: [{{virtualNode: v1, weight: 1}}]}}
---
virtualNodeName: front
meshName: rpc
spec:
  backends: [{{virtualService: {{virtualServiceName: echo.rpc.local}}}}]
  serviceDiscovery: {{dns: {{hostname: front.rpc.local}}}}
---
virtualNodeName: v1
meshName: rpc
spec:
  listeners: [{{portMapping: {{port: {v1}, protocol: grpc}}}}]
  serviceDiscovery: {{dns: {{hostname: v1.rpc.local}}}}
---
virtualNodeName: v2
meshName: rpc
spec:
  listeners: [{{portMapping: {{port: {v2}, protocol: grpc}}}}]
  serviceDiscovery: {{dns: {{hostname: v2.rpc.local}}}}
"""


@dataclass
class EchoApp:
    """demo.Echo/{One,Two,Slow}: answers its node name; metadata `x-fail-times` + `x-request-key` make the
    first N calls of a key fail with UNAVAILABLE; Slow sleeps 3 s."""

    name: str
    port: int
    attempts: Counter[str] = field(default_factory=Counter)
    server: Any = None

    def handle(self, method: str) -> Any:
        def unary(request: bytes, context: Any) -> bytes:
            meta = dict(context.invocation_metadata())
            key = meta.get("x-request-key")
            if key:
                self.attempts[key] += 1
                if self.attempts[key] <= int(meta.get("x-fail-times", "0")):
                    context.abort(grpc.StatusCode.UNAVAILABLE, "failing on purpose")
            if method == "Slow":
                time.sleep(3)
            return self.name.encode()

        return grpc.unary_unary_rpc_method_handler(unary)

    def start(self) -> EchoApp:
        self.server = grpc.server(ThreadPoolExecutor(max_workers=4))
        handlers = {m: self.handle(m) for m in ("One", "Two", "Slow")}
        self.server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler("demo.Echo", handlers),))
        assert self.server.add_insecure_port(f"{APP_IP}:{self.port}") == self.port
        self.server.start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop(grace=None)


@dataclass
class Mesh:
    fleet: Fleet
    apps: dict[str, EchoApp]
    channel: Any

    def call(self, method: str, metadata: tuple[tuple[str, str], ...] = (), timeout: float = 10) -> str:
        stub = self.channel.unary_unary(f"/demo.Echo/{method}")
        reply: bytes = stub(b"ping", metadata=metadata, timeout=timeout)
        return reply.decode()


@pytest.fixture(scope="module")
def mesh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mesh]:
    work = tmp_path_factory.mktemp("traffic-grpc")
    fleet = Fleet(work)
    apps: dict[str, EchoApp] = {}
    channel = None
    try:
        ips = {name: loopback_ip(4, i + 2) for i, name in enumerate(("front", *SERVERS))}
        ports = {name: free_port(APP_IP, ips[name]) for name in SERVERS}
        router = free_port(ips["front"])
        mesh_dir = write_mesh(work / "mesh", MESH_YAML.format(router=router, **ports))
        for name in SERVERS:  # Envoys first: forking after gRPC has started its threads makes it complain
            options = sidecar_options(work, name, bind=ips[name], ingress_port=ports[name],
                                      egress_port=free_port(ips[name]), admin_port=free_port(APP_IP))
            fleet.sidecar(mesh_dir, f"{MESH}/virtual-nodes/{name}.json", options)
        options = sidecar_options(work, "front", bind=ips["front"], egress_port=router,
                                  admin_port=free_port(APP_IP),
                                  resolve={f"{name}.rpc.local": ips[name] for name in SERVERS})
        fleet.sidecar(mesh_dir, f"{MESH}/virtual-nodes/front.json", options)
        fleet.wait_ready()
        apps.update((name, EchoApp(name, ports[name]).start()) for name in SERVERS)
        channel = grpc.insecure_channel(f"{ips['front']}:{router}", options=[("grpc.default_authority", ECHO)])
        yield Mesh(fleet, apps, channel)
    finally:
        if channel is not None:
            channel.close()
        for app in apps.values():
            app.stop()
        fleet.close()


def test_grpc_service_and_method_match(mesh: Mesh) -> None:
    assert [mesh.call("One") for _ in range(20)] == ["v1"] * 20
    assert [mesh.call("Two") for _ in range(20)] == ["v2"] * 20


def test_grpc_metadata_match(mesh: Mesh) -> None:
    assert mesh.call("One", (("x-canary", "true"),)) == "v2"
    assert mesh.call("One", (("x-canary", "no"),)) == "v1"


@pytest.mark.parametrize(("fail_times", "ok", "attempts"), [(2, True, 3), (3, False, 3)])
def test_grpc_default_retry_policy_retries_unavailable_twice(mesh: Mesh, fail_times: int, ok: bool,
                                                              attempts: int) -> None:
    key = uuid.uuid4().hex
    metadata = (("x-request-key", key), ("x-fail-times", str(fail_times)))
    if ok:
        assert mesh.call("One", metadata) == "v1"
    else:
        with pytest.raises(grpc.RpcError) as failure:
            mesh.call("One", metadata)
        assert failure.value.code() == grpc.StatusCode.UNAVAILABLE
    assert mesh.apps["v1"].attempts[key] == attempts


def test_grpc_per_request_timeout(mesh: Mesh) -> None:
    start = time.monotonic()
    with pytest.raises(grpc.RpcError) as failure:
        mesh.call("Slow", timeout=10)
    elapsed = time.monotonic() - start
    assert 0.9 <= elapsed < 2.5, elapsed
    # Envoy's route timeout is a 504 local reply, which it maps to gRPC UNAVAILABLE.
    assert failure.value.code() == grpc.StatusCode.UNAVAILABLE
    assert failure.value.details() == "upstream request timeout"
