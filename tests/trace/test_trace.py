"""`trace` on fixed meshes: where requests go, where and why they stop, what is in force on each hop, and the
findings of `check` on the way. The differential test (tests/e2e/test_trace_differential.py) proves the
routing against real Envoy; these pin the explanations."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from meshlint import api
from meshlint.load.files import UsageError
from meshlint.trace import parse_request
from meshlint.trace.render import render_json, render_text
from meshlint.trace.result import Hop
from tests.helpers import REPO

SHOP = str(REPO / "examples" / "shop")


def run(url: str, origin: str = "web", paths: tuple[str, ...] = (SHOP,), *, method: str | None = None,
        headers: tuple[str, ...] = (), grpc: str | None = None) -> api.TraceResult:
    return api.trace(list(paths), origin, parse_request(url, method, list(headers), grpc))


def verdicts(hop: Hop) -> list[tuple[str, str]]:
    return [(line.name, line.verdict) for line in hop.routes]


def test_canary_header_wins_by_priority_and_the_default_route_is_beaten() -> None:
    result = run("http://orders.shop.local:8080/api/orders", headers=("x-canary: true",))
    hop, = result.trace.hops
    assert (hop.listener, hop.chain, hop.virtual_host, hop.provider) == (
        "lds_egress_0.0.0.0_15001", "egress_http_8080", "orders.shop.local", "virtual router orders")
    assert verdicts(hop) == [("orders/canary-header", "taken"), ("orders/default", "also matches")]
    assert hop.routes[1].reason == "priority 1 comes before priority 100"
    assert result.trace.outcome.delivered == {"orders-v2": 100.0}


def test_without_the_header_the_split_and_its_policy() -> None:
    hop, = run("http://orders.shop.local:8080/api/orders").trace.hops
    assert verdicts(hop) == [("orders/canary-header", "no match"), ("orders/default", "taken")]
    assert hop.routes[0].reason == "wants x-canary exact 'true', request has absent"
    assert hop.policy is not None
    assert (hop.policy.timeout, hop.policy.retry) == (
        "10s", "3 retries on connect-failure,reset,retriable-status-codes (500-508, 510, 511), 2s per try")
    assert [(t.node, t.percent, t.tls) for t in hop.targets] == [("orders-v1", 90.0, "mTLS"), ("orders-v2", 10.0, "mTLS")]
    v1 = hop.targets[0]
    assert any(r.startswith("outlier detection: 5 consecutive 5xx") for r in v1.resilience)
    assert v1.ingress is not None
    assert (v1.ingress.port, v1.ingress.tls, v1.ingress.handshake, v1.ingress.timeout, v1.ingress.app) == (
        8080, "mTLS", "ok", "15s", "127.0.0.1:8080")


def test_grpc_call_to_a_node_provided_service() -> None:
    hop, = run("http://payments.shop.local:9090", grpc="shop.Payments/Charge").trace.hops
    assert hop.request.method == "POST" and hop.request.path == "/shop.Payments/Charge"
    assert hop.provider == "virtual node payments"
    assert [t.protocol for t in hop.targets] == ["grpc"]
    assert hop.targets[0].ingress is not None and hop.targets[0].ingress.timeout == "5s"  # the listener's


def test_gateway_two_hops_with_the_prefix_rewrite() -> None:
    result = run("https://shop.example.com:8088/api/orders/42", "gateway/ingress")
    first, second = result.trace.hops
    assert verdicts(first) == [("ingress/orders-api", "taken"), ("ingress/orders-api", "also matches"),
                               ("ingress/web", "also matches")]
    assert first.policy is not None and first.policy.rewrites == (
        "path /api/orders/42 -> /42", "Host shop.example.com:8088 -> orders.shop.local")
    assert (second.request.authority, second.request.path, second.virtual_host) == (
        "orders.shop.local", "/42", "orders.shop.local")
    assert result.trace.outcome.delivered == {"orders-v1": 90.0, "orders-v2": 10.0}


@pytest.mark.parametrize(("url", "origin", "status", "reason", "help"), [
    ("http://orders.shop.local/x", "web", None, "no egress filter chain for port 80",
     "orders.shop.local is served on port 8080: use http://orders.shop.local:8080/x"),
    ("http://nowhere.shop.local:8080/x", "web", 404, "no virtual host for Host 'nowhere.shop.local:8080'",
     "the hosts routed on port 8080: orders.shop.local"),
    ("http://web.shop.local:8080/x", "orders-v1", None, "no egress filter chain for port 8080",
     "the backends are served on these ports: 9090: payments.shop.local"),
    ("http://shop.example.com:8088/", "gateway/ingress", None, "the listener on port 8088 requires TLS",
     "use https://shop.example.com:8088/"),
    ("https://shop.example.com:9999/", "gateway/ingress", None, "the gateway does not listen on port 9999",
     "send the request to one of the gateway's listener ports (8088)"),
    ("https://orders.shop.local:8080/", "web", None, "the app starts TLS on port 8080",
     "call the service with http://; the mesh adds TLS per the client policy"),
])
def test_drops_say_why_and_what_would_help(url: str, origin: str, status: int | None, reason: str,
                                           help: str) -> None:
    drop = run(url, origin).trace.outcome.drop
    assert drop is not None
    assert (drop.status, drop.help) == (status, help)
    assert drop.reason.startswith(reason)


ROUTED = """\
meshName: m
spec: {{egressFilter: {{type: {egress}}}}}
---
meshName: m
virtualNodeName: client
spec:
  backends: [{{virtualService: {{virtualServiceName: svc.m.local}}}}]
  {client_policy}
---
meshName: m
virtualServiceName: svc.m.local
spec: {{provider: {{virtualRouter: {{virtualRouterName: r}}}}}}
---
meshName: m
virtualServiceName: other.m.local
spec: {{provider: {{virtualNode: {{virtualNodeName: server}}}}}}
---
meshName: m
virtualRouterName: r
spec: {{listeners: [{{portMapping: {{port: 80, protocol: http}}}}]}}
---
meshName: m
virtualRouterName: r
routeName: api
spec:
  httpRoute:
    match: {{prefix: /api, method: POST}}
    action: {{weightedTargets: [{{virtualNode: server, weight: 1}}]}}
---
meshName: m
virtualRouterName: r
routeName: api-again
spec:
  httpRoute:
    match: {{prefix: /api, method: POST}}
    action: {{weightedTargets: [{{virtualNode: server, weight: 1}}]}}
---
meshName: m
virtualNodeName: server
spec:
  listeners:
    - portMapping: {{port: 8080, protocol: http}}
      {server_tls}
  serviceDiscovery: {{dns: {{hostname: server.m.local}}}}
"""

_STRICT = ("tls: {mode: STRICT, certificate: {file: {certificateChain: /c.pem, privateKey: /k.pem}}, "
           "validation: {trust: {file: {certificateChain: /ca.pem}}}}")
_POLICY = "backendDefaults: {clientPolicy: {tls: {validation: {trust: {file: {certificateChain: /ca.pem}}}}}}"


def routed(tmp_path: Path, *, egress: str = "DROP_ALL", server_tls: str = "", client_policy: str = "") -> str:
    (tmp_path / "m.yaml").write_text(ROUTED.format(egress=egress, server_tls=server_tls,
                                                   client_policy=client_policy))
    return str(tmp_path)


def test_no_route_is_404_and_the_routes_say_why(tmp_path: Path) -> None:
    result = run("http://svc.m.local/api", "client", (routed(tmp_path),))
    hop, = result.trace.hops
    assert [line.reason for line in hop.routes] == ["wants :method exact 'POST', request has 'GET'"] * 2
    assert hop.drop is not None and hop.drop.status == 404
    assert hop.drop.reason == "no route of virtual router r matches the request: Envoy answers 404"


def test_the_findings_of_check_on_the_path_come_with_it(tmp_path: Path) -> None:
    result = run("http://svc.m.local/api", "client", (routed(tmp_path),), method="POST")
    hop, = result.trace.hops
    assert verdicts(hop) == [("r/api", "taken"), ("r/api-again", "also matches")]
    assert hop.routes[1].reason == "same priority and match length: the name decides ('api' before 'api-again')"
    assert "shadowed-route" in {d.rule for d in result.findings}
    assert all(d.resource is not None for d in result.findings)


def test_allow_all_sends_unknown_hosts_and_ports_to_the_original_destination(tmp_path: Path) -> None:
    folder = routed(tmp_path, egress="ALLOW_ALL")
    unknown_host = run("http://example.org/", "client", (folder,)).trace
    assert unknown_host.hops[0].virtual_host == "allow_all"
    assert unknown_host.outcome.delivered == {"passthrough to the original destination example.org:80": 100.0}
    unknown_port = run("http://example.org:5432/", "client", (folder,)).trace
    assert unknown_port.hops[0].chain == "egress_allow_all"
    assert unknown_port.outcome.delivered == {"passthrough to the original destination example.org:5432": 100.0}


def test_handshake_fails_when_mtls_wants_a_client_certificate_the_policy_lacks(tmp_path: Path) -> None:
    folder = routed(tmp_path, server_tls=_STRICT, client_policy=_POLICY)
    result = run("http://svc.m.local/api", "client", (folder,), method="POST").trace
    ingress = result.hops[0].targets[0].ingress
    assert ingress is not None
    assert (ingress.tls, ingress.handshake, ingress.detail) == (
        "mTLS", "fails", "the listener requires a client certificate and the client policy has none")
    assert result.outcome.delivered == {} and result.outcome.failed == {"server": 100.0}


def test_handshake_fails_when_the_client_policy_enforces_tls_towards_plaintext(tmp_path: Path) -> None:
    result = run("http://svc.m.local/api", "client", (routed(tmp_path, client_policy=_POLICY),),
                 method="POST").trace
    ingress = result.hops[0].targets[0].ingress
    assert ingress is not None and ingress.handshake == "fails"
    assert ingress.detail == "the client starts a TLS handshake but the listener speaks plaintext"


def test_a_service_that_is_not_a_backend_is_named_as_such(tmp_path: Path) -> None:
    drop = run("http://other.m.local:80/", "client", (routed(tmp_path),)).trace.outcome.drop
    assert drop is not None and drop.help == ("other.m.local is a virtual service of mesh m, but not a backend of "
                                              "this node: add it to spec.backends")


def test_origin_resolution(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir()
    second.mkdir()
    routed(first)
    (second / "m.yaml").write_text(ROUTED.format(egress="DROP_ALL", server_tls="", client_policy="")
                                   .replace("meshName: m", "meshName: n"))
    both = (str(first), str(second))
    with pytest.raises(UsageError, match="several meshes"):
        run("http://svc.m.local/", "client", both)
    assert run("http://svc.n.local/", "n/client", both).trace.mesh == "n"
    with pytest.raises(UsageError, match=r"no such virtual node or gateway \(known: m/client, m/server"):
        run("http://svc.m.local/", "nobody", both)


def test_text_and_json_reports() -> None:
    result = run("http://orders.shop.local:8080/api/orders", headers=("x-canary: false",))
    text = render_text(result.trace, result.findings)
    assert text.splitlines()[:4] == [
        "GET http://orders.shop.local:8080/api/orders, x-canary: false from virtual node web (mesh shop)",
        "virtual node web: lds_egress_0.0.0.0_15001 port 8080, chain egress_http_8080",
        "├─ GET /api/orders, Host orders.shop.local:8080 -> virtual host orders.shop.local -> virtual router orders",
        "├─ ✗ orders/canary-header [priority 1] prefix /, x-canary exact 'true': wants x-canary exact 'true', "
        "request has 'false'",
    ]
    assert text.splitlines()[-1] == "result: orders-v1 90%, orders-v2 10%"
    payload = json.loads(render_json(result.trace, result.findings))
    assert set(payload) == {"from", "request", "hops", "outcome", "findings"}
    assert payload["outcome"] == {"delivered": {"orders-v1": 90.0, "orders-v2": 10.0}, "failed": {}, "drop": None}
    assert [r["verdict"] for r in payload["hops"][0]["routes"]] == ["no match", "taken"]


TCP_AND_HEADER_MODE = """\
meshName: t
spec: {}
---
meshName: t
virtualNodeName: app
spec:
  backends: [{virtualService: {virtualServiceName: db.t.local}}]
---
meshName: t
virtualServiceName: db.t.local
spec: {provider: {virtualRouter: {virtualRouterName: db}}}
---
meshName: t
virtualRouterName: db
spec: {listeners: [{portMapping: {port: 5432, protocol: tcp}}]}
---
meshName: t
virtualRouterName: db
routeName: primary
spec:
  tcpRoute:
    action: {weightedTargets: [{virtualNode: pg, weight: 3}, {virtualNode: pg-replica, weight: 1}]}
    timeout: {idle: {unit: s, value: 60}}
---
meshName: t
virtualNodeName: pg
spec:
  listeners: [{portMapping: {port: 5432, protocol: tcp}}]
  serviceDiscovery: {dns: {hostname: pg.t.local}}
---
meshName: t
virtualNodeName: pg-replica
spec:
  listeners: [{portMapping: {port: 5433, protocol: tcp}}]
  serviceDiscovery: {dns: {hostname: replica.t.local}}
---
meshName: t
virtualServiceName: web.t.local
spec: {provider: {virtualNode: {virtualNodeName: web}}}
---
meshName: t
virtualNodeName: web
spec:
  listeners: [{portMapping: {port: 8080, protocol: http}}]
  serviceDiscovery: {dns: {hostname: web.t.local}}
---
meshName: t
virtualGatewayName: edge
spec: {listeners: [{portMapping: {port: 8443, protocol: http}}]}
---
meshName: t
virtualGatewayName: edge
gatewayRouteName: keep-host
spec:
  httpRoute:
    match: {prefix: /web}
    action:
      target: {virtualService: {virtualServiceName: web.t.local}}
      rewrite: {hostname: {defaultTargetHostname: DISABLED}}
"""


def test_tcp_backends_are_proxied_without_http_routing(tmp_path: Path) -> None:
    (tmp_path / "t.yaml").write_text(TCP_AND_HEADER_MODE)
    result = run("http://db.t.local:5432/", "app", (str(tmp_path),)).trace
    hop, = result.hops
    assert hop.chain == "egress_tcp_5432" and hop.routes == ()
    assert hop.notes == ("TCP proxy: the bytes are forwarded as they are, without HTTP routing",)
    assert hop.policy is not None and hop.policy.idle_timeout == "60s"
    assert result.outcome.delivered == {"pg": 75.0, "pg-replica": 25.0}
    assert [(t.node, t.ingress.port) for t in hop.targets if t.ingress] == [("pg-replica", 5433), ("pg", 5432)]


def test_a_gateway_route_that_keeps_the_host_names_the_service_in_a_header(tmp_path: Path) -> None:
    (tmp_path / "t.yaml").write_text(TCP_AND_HEADER_MODE)
    first, second = run("http://shop.example.com:8443/web/cart", "gateway/edge", (str(tmp_path),)).trace.hops
    assert first.policy is not None and first.policy.rewrites == (
        "path /web/cart -> /cart", "adds x-app-mesh-virtual-service: web.t.local")
    assert (second.virtual_host, second.service, second.request.authority) == (
        "default_backend", "web.t.local", "shop.example.com:8443")
    # as App Mesh did, the header reaches the application (only the response drops it)
    assert second.policy is not None and second.policy.rewrites == ()
    target, = second.targets
    assert target.ingress is not None and target.ingress.request.header("x-app-mesh-virtual-service") == ("web.t.local",)


def test_what_the_compiler_cannot_compile_on_the_path_is_listed(tmp_path: Path) -> None:
    acm = "tls: {mode: STRICT, certificate: {acm: {certificateArn: 'arn:aws:acm:eu-west-1:1:certificate/x'}}}"
    result = run("http://svc.m.local/api", "client", (routed(tmp_path, server_tls=acm),), method="POST")
    assert "not-compilable" in {d.rule for d in result.findings}
    ingress = result.trace.hops[0].targets[0].ingress
    assert ingress is not None and (ingress.tls, ingress.handshake) == ("TLS", "ok")
