"""A virtual gateway's Host handling through real Envoy: suffix hostname matches with a port in Host, and the
`x-app-mesh-virtual-service` header of header-addressed routes (the App Mesh config dump removes it from
responses, not from requests).

One Envoy: the gateway's egress clusters reach the apps directly (`resolve` pins every node's hostname to
127.0.0.1, where each app listens on its node's listener port). The apps echo the request headers they see.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.e2e.traffic import APP_IP, Fleet, Reply, free_port, loopback_ip, send, sidecar_options, write_mesh

pytestmark = pytest.mark.envoy

HEADER = "x-app-mesh-virtual-service"
NODES = ("suffixed", "fallback", "addressed")

MESH_YAML = """\
meshName: hosts
spec: {{}}
---
virtualGatewayName: gw
meshName: hosts
spec:
  listeners: [{{portMapping: {{port: {gateway}, protocol: http}}}}]
---
gatewayRouteName: by-suffix
virtualGatewayName: gw
meshName: hosts
spec:
  priority: 1
  httpRoute:
    match:
      prefix: /
      hostname: {{suffix: .example.org}}
    action: {{target: {{virtualService: {{virtualServiceName: suffixed.hosts.local}}}}}}
---
gatewayRouteName: by-header
virtualGatewayName: gw
meshName: hosts
spec:
  priority: 2
  httpRoute:
    match: {{prefix: /addressed/}}
    action:
      target: {{virtualService: {{virtualServiceName: addressed.hosts.local}}}}
      rewrite: {{hostname: {{defaultTargetHostname: DISABLED}}}}
---
gatewayRouteName: anything-else
virtualGatewayName: gw
meshName: hosts
spec:
  priority: 3
  httpRoute:
    match: {{prefix: /}}
    action: {{target: {{virtualService: {{virtualServiceName: fallback.hosts.local}}}}}}
{nodes}"""

NODE_YAML = """\
---
virtualServiceName: {name}.hosts.local
meshName: hosts
spec: {{provider: {{virtualNode: {{virtualNodeName: {name}}}}}}}
---
virtualNodeName: {name}
meshName: hosts
spec:
  listeners: [{{portMapping: {{port: {port}, protocol: http}}}}]
  serviceDiscovery: {{dns: {{hostname: {name}.hosts.local}}}}
"""


class _Echo(ThreadingHTTPServer):
    daemon_threads = True


def echo_app(name: str, port: int) -> ThreadingHTTPServer:
    """Replies 200 with {node, host, headers} and copies the mesh header it received into its response."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            headers = {k.lower(): v for k, v in self.headers.items()}
            body = json.dumps({"node": name, "host": headers.get("host", ""), "headers": headers}).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            if HEADER in headers:
                self.send_header(HEADER, headers[HEADER])
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = _Echo((APP_IP, port), Handler)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True).start()
    return server


@dataclass(frozen=True)
class Gateway:
    ip: str
    port: int

    def get(self, path: str, host: str) -> Reply:
        return send(self.ip, self.port, path, host)


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    work = tmp_path_factory.mktemp("traffic-gateway-hosts")
    fleet = Fleet(work)
    apps: list[ThreadingHTTPServer] = []
    try:
        ip = loopback_ip(6, 2)
        ports = {name: free_port(APP_IP) for name in NODES}
        port = free_port(ip)
        nodes = "".join(NODE_YAML.format(name=name, port=ports[name]) for name in NODES)
        mesh_dir = write_mesh(work / "mesh", MESH_YAML.format(gateway=port, nodes=nodes))
        apps = [echo_app(name, ports[name]) for name in NODES]
        options = sidecar_options(work, "gw", bind=ip, egress_port=free_port(ip), admin_port=free_port(APP_IP),
                                  resolve={f"{name}.hosts.local": APP_IP for name in NODES})
        fleet.sidecar(mesh_dir, "hosts/virtual-gateways/gw.json", options)
        fleet.wait_ready()
        yield Gateway(ip, port)
    finally:
        fleet.close()
        for app in apps:
            app.shutdown()
            app.server_close()


@pytest.mark.parametrize("host", ["a.example.org", "a.example.org:{port}", "a.b.example.org:8443"])
def test_suffix_hostname_match_ignores_a_port_in_host(gateway: Gateway, host: str) -> None:
    """Envoy matches domains against Host as sent; `*.example.org` alone misses `a.example.org:8088`, and the
    request fell to the catch-all host and its route to another service."""
    reply = gateway.get("/x", host.format(port=gateway.port))
    assert reply.status == 200, reply
    assert reply.json()["node"] == "suffixed"


def test_other_hosts_still_take_the_catch_all(gateway: Gateway) -> None:
    assert gateway.get("/x", f"example.net:{gateway.port}").json()["node"] == "fallback"


def test_header_addressed_route_keeps_the_header_for_the_app(gateway: Gateway) -> None:
    """App Mesh's egress route for the header carries `response_headers_to_remove`: the application receives
    `x-app-mesh-virtual-service`, its client never sees it."""
    reply = gateway.get("/addressed/z", "shop.example.net")
    assert reply.status == 200, reply
    body = reply.json()
    assert (body["node"], body["host"]) == ("addressed", "shop.example.net")
    assert body["headers"].get(HEADER) == "addressed.hosts.local"
    assert HEADER not in reply.headers
