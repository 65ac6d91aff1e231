"""A canary walked live through file-based xDS without dropping a request, and without restarting Envoy.

One Envoy (the `front` sidecar) runs from `meshlint build --xds` output; a client thread sends a steady,
bounded stream of requests to it (127.0.0.1 only, kept-alive connections), every fourth with the header
`x-canary: yes`. The mesh is rebuilt in place four times: 90/10 -> 50/50 -> 0/100 (blue/green), then a
header-matched route to a new virtual node `red` (a new cluster: written first, a pause, then the route).
After each rebuild the test waits for Envoy to load the new route table (its RDS `config_reload` counter),
notes how long that took, and measures the split of the requests that follow. Across the whole walk: zero
failed requests, the same Envoy PID, its uptime (`/server_info`) covering the walk, no hot restart.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest

from meshlint import api
from meshlint.compile.envoy.options import CompileOptions
from meshlint.config import Settings
from tests.e2e.traffic import APP_IP, Envoy, Fleet, free_port, loopback_ip, sidecar_options

pytestmark = pytest.mark.envoy

MESH = "canary"
HOST = "color.canary.local"
MAX_REQUESTS = 40_000  # the stream's bound; the walk needs a few thousand
WINDOW = 400  # plain requests measured after each switch
SWITCH_DEADLINE_S = 10.0
PROPAGATION_S = 0.2  # the main thread counts the reload, then hands the table to the worker
SETTINGS = Settings(severities={"missing-tls": None}, entry_points=frozenset({"canary/front"}))

MESH_YAML = """\
meshName: canary
spec: {{}}
---
virtualServiceName: color.canary.local
meshName: canary
spec: {{provider: {{virtualRouter: {{virtualRouterName: color-router}}}}}}
---
virtualRouterName: color-router
meshName: canary
spec: {{listeners: [{{portMapping: {{port: {router}, protocol: http}}}}]}}
---
routeName: color-route
virtualRouterName: color-router
meshName: canary
spec:
  httpRoute:
    match: {{prefix: /}}
    action: {{weightedTargets: [{{virtualNode: blue, weight: {blue}}}, {{virtualNode: green, weight: {green}}}]}}
---
virtualNodeName: front
meshName: canary
spec:
  backends: [{{virtualService: {{virtualServiceName: color.canary.local}}}}]
  serviceDiscovery: {{dns: {{hostname: front.canary.local}}}}
{nodes}"""

NODE = """\
---
virtualNodeName: {name}
meshName: canary
spec:
  listeners: [{{portMapping: {{port: {port}, protocol: http}}}}]
  serviceDiscovery: {{dns: {{hostname: {name}.canary.local}}}}
"""

CANARY_ROUTE = """\
---
routeName: canary-header
virtualRouterName: color-router
meshName: canary
spec:
  priority: 0
  httpRoute:
    match:
      prefix: /
      headers: [{name: x-canary, match: {exact: "yes"}}]
    action: {weightedTargets: [{virtualNode: red, weight: 1}]}
"""


@dataclass
class Stream:
    """The client: one thread, sequential requests on a kept-alive connection (a new one if Envoy closes it)."""

    ip: str
    port: int
    results: list[tuple[float, bool, str]] = field(default_factory=list)  # (time, canary header, who or error)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        conn: http.client.HTTPConnection | None = None
        for n in range(MAX_REQUESTS):
            if self.stop.is_set():
                break
            canary = n % 4 == 3
            headers = {"host": HOST, **({"x-canary": "yes"} if canary else {})}
            try:
                conn = conn or http.client.HTTPConnection(self.ip, self.port, timeout=5)
                conn.request("GET", f"/walk/{n}", headers=headers)
                reply = conn.getresponse()
                reply.read()
                outcome = reply.getheader("x-served-by") or "?" if reply.status == 200 else f"status:{reply.status}"
                if reply.getheader("connection", "").lower() == "close":
                    conn.close()
                    conn = None
            except (OSError, http.client.HTTPException) as err:
                outcome = f"error:{type(err).__name__}"
                if conn is not None:
                    conn.close()
                conn = None
            self.results.append((time.monotonic(), canary, outcome))
        if conn is not None:
            conn.close()

    def after(self, t: float, canary: bool, count: int, deadline_s: float = 30.0) -> Counter[str]:
        """Who served the first `count` requests (with or without the header) sent after `t`."""
        end = time.monotonic() + deadline_s
        while time.monotonic() < end:
            picked = [who for when, c, who in list(self.results) if when > t and c == canary][:count]
            if len(picked) == count:
                return Counter(picked)
            time.sleep(0.05)
        raise AssertionError(f"the stream did not send {count} requests in {deadline_s:g}s")

    def failures(self) -> list[tuple[float, bool, str]]:
        return [r for r in self.results if r[2].startswith(("status:", "error:", "?"))]


@dataclass
class Walk:
    mesh_dir: Path
    out: Path
    ports: dict[str, int]
    router: int
    options: CompileOptions

    def build(self, blue: int, green: int, red: bool = False) -> float:
        nodes = "".join(NODE.format(name=n, port=self.ports[n]) for n in ("blue", "green", *(["red"] if red else [])))
        text = MESH_YAML.format(router=self.router, blue=blue, green=green, nodes=nodes)
        (self.mesh_dir / "mesh.yaml").write_text(text + (CANARY_ROUTE if red else ""))
        started = time.monotonic()
        result = api.build([str(self.mesh_dir)], self.out, SETTINGS, self.options)
        assert result.written is not None, [d.message for d in result.check.diagnostics]
        return started


@pytest.fixture
def walk(tmp_path: Path) -> Iterator[tuple[Walk, Fleet]]:
    fleet = Fleet(tmp_path)
    try:
        ips = {name: loopback_ip(41, 10 + n) for n, name in enumerate(("blue", "green", "red"))}
        port = free_port(*ips.values())  # the targets of one route listen on one port
        for name, ip in ips.items():
            fleet.app(name, port, ip=ip)
        bind = loopback_ip(41, 1)
        router = free_port(bind)
        options = replace(sidecar_options(tmp_path, "front", bind=bind, admin_port=free_port(APP_IP),
                                          egress_port=router),
                          xds=True, resolve={f"{n}.canary.local": ip for n, ip in ips.items()})
        ports = dict.fromkeys(ips, port)
        mesh_dir = tmp_path / "mesh"
        mesh_dir.mkdir()
        yield Walk(mesh_dir, tmp_path / "out", ports, router, options), fleet
    finally:
        fleet.close()


def test_canary_walk_drops_no_request(walk: tuple[Walk, Fleet]) -> None:
    w, fleet = walk
    w.build(90, 10)
    bootstrap = w.out / MESH / "virtual-nodes" / "front" / "bootstrap.json"
    envoy = Envoy("front", bootstrap, w.options.admin_port, w.out.parent / "front.envoy.log")
    fleet.envoys["front"] = envoy.start()
    envoy.wait_ready()
    assert envoy.proc is not None
    pid = envoy.proc.pid
    reloads = f"http.egress.rds.rds_egress_http_{w.router}.config_reload"

    stream = Stream(w.options.bind_address, w.router)
    client = threading.Thread(target=stream.run, name="canary-stream", daemon=True)
    walk_started = time.monotonic()
    client.start()
    report: list[str] = []
    try:
        first = stream.after(walk_started, False, WINDOW)
        report.append(f"90/10 (initial): {dict(first)}")
        assert_split(first, {"blue": 0.9, "green": 0.1})
        steps = [((50, 50, False), {"blue": 0.5, "green": 0.5}, None),
                 ((0, 100, False), {"green": 1.0}, None),
                 ((0, 100, True), {"green": 1.0}, {"red": 1.0})]
        for (blue, green, red), plain, canary in steps:
            before = envoy.stat(reloads)
            started = w.build(blue, green, red)
            built = time.monotonic()
            switched = wait_for_stat(envoy, reloads, before)
            split = stream.after(switched + PROPAGATION_S, False, WINDOW)
            line = (f"{blue}/{green}{' + x-canary -> red' if red else ''}: build {built - started:.2f}s, "
                    f"rebuild start -> new routes loaded {switched - started:.2f}s; plain {dict(split)}")
            assert_split(split, plain)
            if canary is not None:
                tagged = stream.after(switched + PROPAGATION_S, True, WINDOW // 4)
                line += f"; x-canary {dict(tagged)}"
                assert_split(tagged, canary)
            report.append(line)
    finally:
        stream.stop.set()
        client.join(timeout=10)
    failures = stream.failures()
    report.append(f"requests sent {len(stream.results)}, failed {len(failures)}, "
                  f"walk {time.monotonic() - walk_started:.1f}s")
    print("\n".join(report))
    assert failures == [], failures[:10]
    assert envoy.proc is not None and envoy.proc.poll() is None and envoy.proc.pid == pid
    assert envoy.stat("server.hot_restart_epoch") == 0
    # /server_info is computed when asked (the server.uptime gauge only moves at each 5 s stats flush)
    walked = time.monotonic() - walk_started
    uptime = json.loads(envoy.admin("/server_info"))["uptime_current_epoch"]
    assert float(uptime.rstrip("s")) >= walked - 1, uptime
    assert envoy.stat("server.uptime") >= walked - 6  # flushed every 5 s, never reset: no restart
    print(f"envoy pid {pid} throughout, uptime {uptime}, server.uptime {envoy.stat('server.uptime')}")
    assert envoy.stat("cluster_manager.cds.update_rejected") == 0
    assert envoy.stat("listener_manager.lds.update_rejected") == 0
    assert envoy.stat(f"http.egress.rds.rds_egress_http_{w.router}.update_rejected") == 0


def wait_for_stat(envoy: Envoy, name: str, before: int) -> float:
    end = time.monotonic() + SWITCH_DEADLINE_S
    while time.monotonic() < end:
        if envoy.stat(name) > before:
            return time.monotonic()
        time.sleep(0.02)
    raise AssertionError(f"{name} stayed {before} for {SWITCH_DEADLINE_S:g}s:\n{envoy.log_tail()}")


def assert_split(seen: Counter[str], expected: dict[str, float]) -> None:
    """Each expected share within 4 standard deviations (exact for 0 and 1); nothing unexpected."""
    total = sum(seen.values())
    assert set(seen) <= set(expected), seen
    for who, share in expected.items():
        got = seen[who] / total
        slack = 4 * (share * (1 - share) / total) ** 0.5
        assert abs(got - share) <= slack, (who, got, share, seen)
