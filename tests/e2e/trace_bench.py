"""The bench on which `trace` meets real Envoy: target apps and sidecars that run for a whole module, and per
scenario the two proxies whose configuration depends on the routes (`front`, the app's sidecar whose egress
listener is the router port, and the gateway). `disagreements` sends a scenario's requests and compares each
answer (the app, the path and Host it received, or the status) with trace's prediction.

Topology as in tests/e2e/traffic.py; scenarios from tests/e2e/differential.py.
"""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from meshlint.compile import ValidatedMesh
from meshlint.compile.envoy import compile_envoy
from meshlint.compile.envoy.options import CompileOptions
from meshlint.load.sources import load_sources
from meshlint.model.graph import MeshGraph
from meshlint.normalize import normalize
from meshlint.trace import parse_request, resolve_origin, trace
from meshlint.trace.render import render_text
from meshlint.trace.result import Trace
from tests.e2e.differential import GATEWAY, MESH, NODES, Request, Scenario, base_mesh
from tests.e2e.traffic import APP_IP, Envoy, Fleet, free_port, loopback_ip, sidecar_options, write_json


@dataclass(repr=False)  # Hypothesis prints the arguments of a failing example: keep this one short
class Bench:
    fleet: Fleet
    work: Path
    ips: dict[str, str]
    ports: dict[str, int]
    front_options: CompileOptions
    gateway_options: CompileOptions
    runs: int = 0


@contextmanager
def bench(work: Path, block: int) -> Iterator[Bench]:
    """The target nodes' apps and sidecars on 127.<run>.<block>.x, running until the block ends."""
    fleet = Fleet(work)
    try:
        ips = {name: loopback_ip(block, i + 2) for i, name in enumerate(("front", "gateway", *NODES))}
        ports = {name: free_port(APP_IP, ips[name]) for name in NODES}
        ports["router"] = free_port(ips["front"])
        ports["gateway"] = free_port(ips["gateway"])
        ports["gateway2"] = free_port(ips["gateway"])
        base = work / "base"
        base.mkdir()
        (base / "mesh.yaml").write_text(Scenario(base_mesh()).yaml(ports))
        for name in NODES:
            fleet.app(name, ports[name])
            options = sidecar_options(work, name, bind=ips[name], ingress_port=ports[name],
                                      egress_port=free_port(ips[name]), admin_port=free_port(APP_IP))
            fleet.sidecar(base, f"{MESH}/virtual-nodes/{name}.json", options)
        fleet.wait_ready()
        resolve = {f"{name}.{MESH}.local": ips[name] for name in NODES}
        front = sidecar_options(work, "front", bind=ips["front"], egress_port=ports["router"],
                                admin_port=free_port(APP_IP), resolve=resolve)
        gateway = sidecar_options(work, GATEWAY, bind=ips["gateway"], egress_port=free_port(ips["gateway"]),
                                  admin_port=free_port(APP_IP), resolve=resolve)
        yield Bench(fleet, work, ips, ports, front, gateway)
    finally:
        fleet.close()


@dataclass(frozen=True)
class Seen:
    status: int | None  # None: the connection failed
    node: str | None
    path: str | None
    host: str | None


def disagreements(bench: Bench, scenario: Scenario) -> list[str]:
    """Start front and the gateway for the scenario's mesh, send its requests, and describe each answer that
    is not the one trace predicted (with the trace)."""
    bench.runs += 1
    folder = bench.work / f"mesh-{bench.runs}"
    folder.mkdir()
    (folder / "mesh.yaml").write_text(scenario.yaml(bench.ports))
    normalized = normalize(load_sources([str(folder)]))
    assert normalized.findings == [], normalized.findings
    mesh = ValidatedMesh(normalized.model, MeshGraph.build(normalized.model))
    envoys = [_start(bench, mesh, f"{MESH}/virtual-nodes/front.json", "front", bench.front_options),
              _start(bench, mesh, f"{MESH}/virtual-gateways/{GATEWAY}.json", GATEWAY, bench.gateway_options)]
    try:
        for envoy in envoys:
            envoy.wait_ready()
        wrong = []
        for req in scenario.requests:
            expected, found = _predict(bench, mesh, req)
            got = _send(bench, req)
            if got != expected:
                wrong.append(f"--- {req}\nexpected {expected}\ngot      {got}\n{render_text(found, [])}")
        return wrong
    finally:
        for envoy in envoys:
            envoy.stop()


def _start(bench: Bench, mesh: ValidatedMesh, artifact: str, name: str, options: CompileOptions) -> Envoy:
    result = compile_envoy(mesh, options)
    assert result.findings == [], result.findings
    document = json.loads({str(a.path): a.content for a in result.artifacts}[artifact])
    config = write_json(bench.work / f"{name}-{bench.runs}.json", document)
    envoy = Envoy(f"{name}-{bench.runs}", config, options.admin_port, bench.work / f"{name}-{bench.runs}.log")
    return envoy.start()


def _address(bench: Bench, req: Request) -> tuple[str, int, str]:
    """(ip, port, Host) the request is sent with."""
    host = req.host.replace("$port", str(bench.ports["router"]))
    if req.via == "front":
        return bench.ips["front"], bench.ports["router"], host
    return bench.ips["gateway"], bench.ports[req.via], host


def _send(bench: Bench, req: Request) -> Seen:
    ip, port, host = _address(bench, req)
    conn = http.client.HTTPConnection(ip, port, timeout=10.0)
    try:
        conn.putrequest(req.method, req.path, skip_host=True, skip_accept_encoding=True)
        conn.putheader("host", host)
        for name, value in req.headers:  # repeated names stay repeated
            conn.putheader(name, value)
        conn.putheader("content-length", "0")
        conn.endheaders()
        response = conn.getresponse()
        body = response.read()
    except (OSError, http.client.HTTPException):
        return Seen(None, None, None, None)
    finally:
        conn.close()
    served = response.getheader("x-served-by")
    if served is None:
        return Seen(response.status, None, None, None)
    data = json.loads(body)
    return Seen(response.status, served, data["path"], data["host"])


def _predict(bench: Bench, mesh: ValidatedMesh, req: Request) -> tuple[Seen, Trace]:
    _, port, host = _address(bench, req)
    options = bench.front_options if req.via == "front" else bench.gateway_options
    request = parse_request(f"http://placeholder:{port}{req.path}", req.method,
                            [f"Host: {host}", *(f"{k}: {v}" for k, v in req.headers)])
    origin = resolve_origin(mesh, "front" if req.via == "front" else f"gateway/{GATEWAY}")
    found = trace(mesh, origin, request, options).trace
    outcome = found.outcome
    if outcome.drop is not None:
        return Seen(outcome.drop.status, None, None, None), found
    assert list(outcome.delivered.values()) == [100.0], outcome  # weights 100/0: one app answers
    target = next(t for t in found.hops[-1].targets if t.percent == 100.0)
    assert target.ingress is not None
    received = target.ingress.request
    return Seen(200, target.node, received.path, received.authority), found
