"""STRICT mutual TLS proven with traffic: one server sidecar, client sidecars with good and bad credentials.

Certificates are made at test time (tests/support/envoy.py make_cert_dir, trustme); the mesh names them under
/certs/... and `cert_path_prefix` re-roots them into the test's directory.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.e2e.traffic import APP_IP, Fleet, free_port, loopback_ip, send, sidecar_options, write_mesh
from tests.support.envoy import make_cert_dir

pytestmark = pytest.mark.envoy

MESH = "tls"
SECURE = "secure.tls.local"

MESH_YAML = """\
meshName: tls
spec: {{}}
---
virtualServiceName: secure.tls.local
meshName: tls
spec: {{provider: {{virtualNode: {{virtualNodeName: secure}}}}}}
---
virtualNodeName: secure
meshName: tls
spec:
  listeners:
    - portMapping: {{port: {port}, protocol: http}}
      tls:
        mode: STRICT
        certificate:
          file: {{certificateChain: /certs/good/server.pem, privateKey: /certs/good/server.key}}
        validation:
          trust: {{file: {{certificateChain: /certs/good/ca.pem}}}}
          subjectAlternativeNames: {{match: {{exact: [front.tls.local]}}}}
  serviceDiscovery: {{dns: {{hostname: secure.tls.local}}}}
{clients}"""

CLIENT_YAML = """\
---
virtualNodeName: {name}
meshName: tls
spec:
  backends:
    - virtualService:
        virtualServiceName: secure.tls.local
{policy}  serviceDiscovery: {{dns: {{hostname: {name}.tls.local}}}}
"""


def _policy(cert: str | None, sans: list[str] | None = None) -> str:
    lines = ["        clientPolicy:", "          tls:"]
    if cert is not None:
        lines += ["            certificate:",
                  f"              file: {{certificateChain: /certs/{cert}.pem, privateKey: /certs/{cert}.key}}"]
    lines += ["            validation:", "              trust: {file: {certificateChain: /certs/good/ca.pem}}"]
    if sans:
        lines += [f"              subjectAlternativeNames: {{match: {{exact: [{', '.join(sans)}]}}}}"]
    return "\n".join(lines) + "\n"


CLIENTS = {
    "front": _policy("good/client"),  # trusted CA, SAN front.tls.local: the one that gets in
    "wrongsan": _policy("good/spiffe"),  # trusted CA, but only a spiffe:// URI SAN
    "rogue": _policy("rogue/client"),  # SAN front.tls.local, signed by a CA the server does not trust
    "nocert": _policy(None),  # validates the server, presents no certificate
    "plain": "",  # no client policy: TLS without validation or certificate (rule 2)
    "pinned": _policy("good/client", ["other.tls.local"]),  # expects a server SAN the server lacks
}


@dataclass(frozen=True)
class Mesh:
    fleet: Fleet
    ips: dict[str, str]
    port: int

    def call(self, client: str) -> int:
        return send(self.ips[client], self.port, "/hello", SECURE).status

    def server_stat(self, suffix: str) -> int:
        return sum(self.fleet.envoys["secure"].stats(suffix).values())


@pytest.fixture(scope="module")
def mesh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mesh]:
    work = tmp_path_factory.mktemp("traffic-tls")
    make_cert_dir(work / "certs" / "good", (SECURE,), client_sans=("front.tls.local",))
    make_cert_dir(work / "certs" / "rogue", (SECURE,), client_sans=("front.tls.local",))
    fleet = Fleet(work)
    try:
        ips = {name: loopback_ip(2, i + 2) for i, name in enumerate(("secure", *CLIENTS))}
        port = free_port(APP_IP, *ips.values())
        clients = "".join(CLIENT_YAML.format(name=name, policy=policy) for name, policy in CLIENTS.items())
        mesh_dir = write_mesh(work / "mesh", MESH_YAML.format(port=port, clients=clients))
        fleet.app("secure", port)
        options = sidecar_options(work, "secure", bind=ips["secure"], ingress_port=port,
                                  egress_port=free_port(ips["secure"]), admin_port=free_port(APP_IP),
                                  cert_path_prefix=str(work))
        fleet.sidecar(mesh_dir, f"{MESH}/virtual-nodes/secure.json", options)
        for name in CLIENTS:
            options = sidecar_options(work, name, bind=ips[name], egress_port=port, admin_port=free_port(APP_IP),
                                      resolve={SECURE: ips["secure"]}, cert_path_prefix=str(work))
            fleet.sidecar(mesh_dir, f"{MESH}/virtual-nodes/{name}.json", options)
        fleet.wait_ready()
        yield Mesh(fleet, ips, port)
    finally:
        fleet.close()


def test_trusted_client_reaches_the_server(mesh: Mesh) -> None:
    before = len(mesh.fleet.upstreams["secure"].seen)
    assert [mesh.call("front") for _ in range(5)] == [200] * 5
    assert len(mesh.fleet.upstreams["secure"].seen) == before + 5
    assert mesh.server_stat("ssl.handshake") >= 1


def test_plaintext_client_is_refused(mesh: Mesh) -> None:
    """An app (or sidecar) speaking plain HTTP straight to the STRICT listener gets no HTTP answer."""
    before = len(mesh.fleet.upstreams["secure"].seen)
    with socket.create_connection((mesh.ips["secure"], mesh.port), timeout=5) as conn:
        conn.sendall(f"GET /hello HTTP/1.1\r\nHost: {SECURE}\r\n\r\n".encode())
        try:
            answer = conn.recv(1024)
        except ConnectionResetError:
            answer = b""
    assert not answer.startswith(b"HTTP/"), answer
    assert len(mesh.fleet.upstreams["secure"].seen) == before


@pytest.mark.parametrize(("client", "server_counter"), [
    ("wrongsan", "ssl.fail_verify_san"),  # the server's subjectAlternativeNames are enforced
    ("rogue", "ssl.fail_verify_error"),  # untrusted issuer
    ("nocert", "ssl.fail_verify_no_cert"),  # validation on the listener requires a client certificate
    ("plain", "ssl.fail_verify_no_cert"),
])
def test_server_refuses_bad_client_certificates(mesh: Mesh, client: str, server_counter: str) -> None:
    before_seen = len(mesh.fleet.upstreams["secure"].seen)
    before = mesh.server_stat(server_counter)
    assert mesh.call(client) == 503
    assert len(mesh.fleet.upstreams["secure"].seen) == before_seen
    assert mesh.server_stat(server_counter) > before


def test_client_enforces_server_san(mesh: Mesh) -> None:
    client = mesh.fleet.envoys["pinned"]
    before = sum(client.stats("ssl.fail_verify_san").values())
    assert mesh.call("pinned") == 503
    assert sum(client.stats("ssl.fail_verify_san").values()) > before
