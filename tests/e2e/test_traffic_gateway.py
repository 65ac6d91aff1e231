"""Virtual gateway (two hops in one Envoy), outlier detection and active health checks, with traffic.

The gateway's ingress listener binds <gw ip>:<listener port>; its self-redirect hop goes to <gw ip>:<egress
port> (the egress hop binds the same IP); its egress clusters reach the nodes' sidecars through `resolve`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.e2e.traffic import (
    APP_IP,
    Envoy,
    Fleet,
    Reply,
    free_port,
    loopback_ip,
    send,
    sidecar_options,
    wait_for,
    write_mesh,
)

pytestmark = pytest.mark.envoy

MESH = "gw"
SERVERS = ("blue", "red", "ejectable", "sick", "well")

HEALTH = """\
      healthCheck: {{protocol: http, path: /health, healthyThreshold: 2, unhealthyThreshold: 2,
                    intervalMillis: 5000, timeoutMillis: 2000}}"""

MESH_YAML = """\
meshName: gw
spec: {{}}
---
virtualServiceName: color.gw.local
meshName: gw
spec: {{provider: {{virtualRouter: {{virtualRouterName: color-router}}}}}}
---
virtualRouterName: color-router
meshName: gw
spec: {{listeners: [{{portMapping: {{port: {router}, protocol: http}}}}]}}
---
routeName: all-blue
virtualRouterName: color-router
meshName: gw
spec:
  httpRoute:
    match: {{prefix: /}}
    action: {{weightedTargets: [{{virtualNode: blue, weight: 1}}]}}
---
virtualServiceName: hot.gw.local
meshName: gw
spec: {{provider: {{virtualNode: {{virtualNodeName: red}}}}}}
---
virtualGatewayName: gateway
meshName: gw
spec:
  listeners: [{{portMapping: {{port: {gateway}, protocol: http}}}}]
---
gatewayRouteName: color-prefix
virtualGatewayName: gateway
meshName: gw
spec:
  httpRoute:
    match:
      prefix: /color
      hostname: {{exact: api.example.com}}
    action: {{target: {{virtualService: {{virtualServiceName: color.gw.local}}}}}}
---
gatewayRouteName: keep-prefix
virtualGatewayName: gateway
meshName: gw
spec:
  priority: 5
  httpRoute:
    match: {{prefix: /keep/}}
    action:
      target: {{virtualService: {{virtualServiceName: color.gw.local}}}}
      rewrite: {{prefix: {{defaultPrefix: DISABLED}}}}
---
gatewayRouteName: value-prefix
virtualGatewayName: gateway
meshName: gw
spec:
  priority: 6
  httpRoute:
    match: {{prefix: /v1/}}
    action:
      target: {{virtualService: {{virtualServiceName: color.gw.local}}}}
      rewrite: {{prefix: {{value: /api/v1/}}}}
---
gatewayRouteName: hot
virtualGatewayName: gateway
meshName: gw
spec:
  priority: 2
  httpRoute:
    match: {{prefix: /hot/}}
    action:
      target: {{virtualService: {{virtualServiceName: hot.gw.local}}}}
      rewrite: {{hostname: {{defaultTargetHostname: DISABLED}}}}
---
virtualNodeName: blue
meshName: gw
spec:
  listeners: [{{portMapping: {{port: {blue}, protocol: http}}}}]
  serviceDiscovery: {{dns: {{hostname: blue.gw.local}}}}
---
virtualNodeName: red
meshName: gw
spec:
  listeners: [{{portMapping: {{port: {red}, protocol: http}}}}]
  serviceDiscovery: {{dns: {{hostname: red.gw.local}}}}
---
virtualNodeName: ejectable
meshName: gw
spec:
  listeners:
    - portMapping: {{port: {ejectable}, protocol: http}}
      outlierDetection:
        maxServerErrors: 3
        interval: {{unit: s, value: 10}}
        baseEjectionDuration: {{unit: s, value: 60}}
        maxEjectionPercent: 100
  serviceDiscovery: {{dns: {{hostname: ejectable.gw.local}}}}
---
virtualNodeName: sick
meshName: gw
spec:
  listeners:
    - portMapping: {{port: {sick}, protocol: http}}
{health}
  serviceDiscovery: {{dns: {{hostname: sick.gw.local}}}}
---
virtualNodeName: well
meshName: gw
spec:
  listeners:
    - portMapping: {{port: {well}, protocol: http}}
{health}
  serviceDiscovery: {{dns: {{hostname: well.gw.local}}}}
{checked_services}---
virtualNodeName: front
meshName: gw
spec:
  backends:
    - virtualService: {{virtualServiceName: ejectable.gw.local}}
    - virtualService: {{virtualServiceName: sick.gw.local}}
    - virtualService: {{virtualServiceName: well.gw.local}}
  serviceDiscovery: {{dns: {{hostname: front.gw.local}}}}
"""

# Each checked node behind its own router on the shared router port, so `front` reaches all three there.
CHECKED_YAML = """\
---
virtualServiceName: {name}.gw.local
meshName: gw
spec: {{provider: {{virtualRouter: {{virtualRouterName: {name}-router}}}}}}
---
virtualRouterName: {name}-router
meshName: gw
spec: {{listeners: [{{portMapping: {{port: {router}, protocol: http}}}}]}}
---
routeName: to-{name}
virtualRouterName: {name}-router
meshName: gw
spec:
  httpRoute:
    match: {{prefix: /}}
    action: {{weightedTargets: [{{virtualNode: {name}, weight: 1}}]}}
"""


@dataclass(frozen=True)
class Mesh:
    fleet: Fleet
    ips: dict[str, str]
    ports: dict[str, int]

    def via_gateway(self, path: str, host: str = "api.example.com") -> Reply:
        return send(self.ips["gateway"], self.ports["gateway"], path, host)

    def via_front(self, path: str, service: str) -> Reply:
        return send(self.ips["front"], self.ports["router"], path, f"{service}.gw.local")

    @property
    def front(self) -> Envoy:
        return self.fleet.envoys["front"]

    def cluster(self, node: str) -> str:
        return f"cluster.cds_egress_gw_{node}_http_{self.ports[node]}"


@pytest.fixture(scope="module")
def mesh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mesh]:
    work = tmp_path_factory.mktemp("traffic-gateway")
    fleet = Fleet(work)
    try:
        ips = {name: loopback_ip(3, i + 2) for i, name in enumerate(("gateway", "front", *SERVERS))}
        ports = {name: free_port(APP_IP, ips[name]) for name in SERVERS}
        ports["router"] = free_port(ips["front"])
        ports["gateway"] = free_port(ips["gateway"])
        checked = "".join(CHECKED_YAML.format(name=name, router=ports["router"])
                          for name in ("ejectable", "sick", "well"))
        mesh_dir = write_mesh(work / "mesh", MESH_YAML.format(health=HEALTH.format(), checked_services=checked,
                                                              **ports))
        resolve = {f"{name}.gw.local": ips[name] for name in SERVERS}
        for name in SERVERS:
            fleet.app(name, ports[name], health_status=503 if name == "sick" else 200)
            options = sidecar_options(work, name, bind=ips[name], ingress_port=ports[name],
                                      egress_port=free_port(ips[name]), admin_port=free_port(APP_IP))
            fleet.sidecar(mesh_dir, f"{MESH}/virtual-nodes/{name}.json", options)
        options = sidecar_options(work, "gateway", bind=ips["gateway"], egress_port=free_port(ips["gateway"]),
                                  admin_port=free_port(APP_IP), resolve=resolve)
        fleet.sidecar(mesh_dir, f"{MESH}/virtual-gateways/gateway.json", options)
        options = sidecar_options(work, "front", bind=ips["front"], egress_port=ports["router"],
                                  admin_port=free_port(APP_IP), resolve=resolve)
        fleet.sidecar(mesh_dir, f"{MESH}/virtual-nodes/front.json", options)
        fleet.wait_ready()
        yield Mesh(fleet, ips, ports)
    finally:
        fleet.close()


# --- virtual gateway ------------------------------------------------------------------------


@pytest.mark.parametrize(("path", "host", "node", "upstream_path", "upstream_host"), [
    ("/color/hello", "api.example.com", "blue", "/hello", "color.gw.local"),  # prefix and host rewrite
    ("/color", "api.example.com", "blue", "/", "color.gw.local"),
    ("/color/x", "api.example.com:8443", "blue", "/x", "color.gw.local"),  # hostname match ignores a port
    ("/keep/a", "any.example.net", "blue", "/keep/a", "color.gw.local"),  # defaultPrefix DISABLED
    ("/v1/items", "any.example.net", "blue", "/api/v1/items", "color.gw.local"),  # rewrite.prefix.value
    ("/hot/x", "shop.example.org", "red", "/x", "shop.example.org"),  # Host kept: header-addressed hop 2
])
def test_gateway_route_reaches_the_virtual_service(mesh: Mesh, path: str, host: str, node: str,
                                                   upstream_path: str, upstream_host: str) -> None:
    reply = mesh.via_gateway(path, host)
    assert reply.status == 200, reply
    body = reply.json()
    assert (body["node"], body["path"], body["host"]) == (node, upstream_path, upstream_host)


def test_gateway_two_hops_are_counted(mesh: Mesh) -> None:
    gateway = mesh.fleet.envoys["gateway"]
    before = gateway.stat("http.egress.downstream_rq_completed")
    assert mesh.via_gateway("/color/count").status == 200
    assert gateway.stat("http.egress.downstream_rq_completed") == before + 1


def test_gateway_hostname_mismatch_is_404(mesh: Mesh) -> None:
    assert mesh.via_gateway("/color/x", "other.example.com").status == 404


# --- outlier detection ----------------------------------------------------------------------


def test_failing_endpoint_is_ejected(mesh: Mesh) -> None:
    """maxServerErrors 3: two 500s leave the host in, the third ejects it."""
    prefix = mesh.cluster("ejectable") + ".outlier_detection."
    for _ in range(2):
        assert mesh.via_front("/fail", "ejectable").status == 500
    assert mesh.front.stat(prefix + "ejections_enforced_consecutive_5xx") == 0
    assert mesh.via_front("/fail", "ejectable").status == 500
    wait_for(lambda: mesh.front.stat(prefix + "ejections_active") == 1, "the ejection", deadline_s=5)
    assert mesh.front.stat(prefix + "ejections_enforced_consecutive_5xx") == 1
    hosts = mesh.front.admin("/clusters")
    ejectable = [line for line in hosts.splitlines() if line.startswith(mesh.cluster("ejectable")[8:] + "::")]
    assert any("health_flags::/failed_outlier_check" in line for line in ejectable), ejectable


# --- active health checks -------------------------------------------------------------------


def test_health_check_marks_a_failing_endpoint_unhealthy(mesh: Mesh) -> None:
    sick, well = mesh.cluster("sick"), mesh.cluster("well")
    wait_for(lambda: mesh.front.stat(sick + ".health_check.failure") >= 1, "a failed health check")
    wait_for(lambda: mesh.front.stat(well + ".health_check.success") >= 1, "a passed health check")
    assert mesh.front.stat(sick + ".membership_healthy") == 0
    assert mesh.front.stat(well + ".membership_healthy") == 1
    # The probe went through the sick node's sidecar to its app (Host is Envoy's default: the cluster name).
    assert ("GET", "/health", sick[len("cluster."):]) in mesh.fleet.upstreams["sick"].seen
    # The only host is unhealthy, so Envoy's 50 % panic threshold still routes to it (as in App Mesh).
    before = mesh.front.stat(sick + ".lb_healthy_panic")
    assert mesh.via_front("/", "sick").status == 200
    assert mesh.front.stat(sick + ".lb_healthy_panic") == before + 1
