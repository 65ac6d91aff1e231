"""A server-first TCP protocol (the server greets before the client says anything, as MySQL and SMTP do)
through a node that also has a PERMISSIVE listener: PERMISSIVE needs the TLS inspector, which waits for
the client's first bytes, so it must stay off on the node's other ports. Proven with traffic: the
greeting arrives at once instead of after Envoy's 15 s listener-filter timeout.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from tests.e2e.traffic import APP_IP, Fleet, free_port, loopback_ip, sidecar_options, write_mesh
from tests.support.envoy import make_cert_dir

pytestmark = pytest.mark.envoy

GREETING = b"220 db ready\r\n"

MESH_YAML = """\
meshName: sf
spec: {{}}
---
virtualNodeName: db
meshName: sf
spec:
  listeners:
    - portMapping: {{port: {tcp_port}, protocol: tcp}}
    - portMapping: {{port: {http_port}, protocol: http}}
      tls:
        mode: PERMISSIVE
        certificate:
          file: {{certificateChain: /certs/server.pem, privateKey: /certs/server.key}}
  serviceDiscovery: {{dns: {{hostname: db.sf.local}}}}
"""


class Greeter:
    """A TCP server on 127.0.0.1 that sends GREETING as soon as a connection is accepted."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_server((APP_IP, port))
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def start(self) -> Greeter:
        self.thread.start()
        return self

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                conn.sendall(GREETING)
                conn.settimeout(1)
                with contextlib.suppress(OSError):  # hold the connection until the client is done
                    conn.recv(64)

    def stop(self) -> None:
        self.sock.close()


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    work = tmp_path_factory.mktemp("traffic-server-first")
    make_cert_dir(work / "certs", ("db.sf.local",))
    ip = loopback_ip(3, 2)
    tcp_port = free_port(APP_IP, ip)
    http_port = free_port(APP_IP, ip)
    mesh_dir = write_mesh(work / "mesh", MESH_YAML.format(tcp_port=tcp_port, http_port=http_port))
    greeter = Greeter(tcp_port).start()
    fleet = Fleet(work)
    try:
        # the ingress listener takes connections on the tcp listener's port (no iptables here)
        options = sidecar_options(work, "db", bind=ip, ingress_port=tcp_port, egress_port=free_port(ip),
                                  admin_port=free_port(APP_IP), cert_path_prefix=str(work))
        fleet.sidecar(mesh_dir, "sf/virtual-nodes/db.json", options)
        fleet.wait_ready()
        yield ip, tcp_port
    finally:
        fleet.close()
        greeter.stop()


def test_the_greeting_arrives_without_waiting_for_the_client(db: tuple[str, int]) -> None:
    ip, port = db
    started = time.monotonic()
    with socket.create_connection((ip, port), timeout=5) as conn:
        greeting = conn.recv(len(GREETING))
    assert greeting == GREETING
    assert time.monotonic() - started < 2.0
