"""The App Mesh controller's own validation tests as input (webhooks/appmesh/*_validator_test.go in
aws/aws-app-mesh-controller-for-k8s, commit 7588d122): every spec they accept stays clean of findings that call
the input invalid, and every spec they refuse is reported by the rule named here, in the Kubernetes format and
in the API format, saying who refused it. Each case is the Go test's spec, completed where the Go test checks
one function only (a gRPC match given a service name, an HTTP match a prefix) so that the whole spec is one the
controller accepts but for the shape under test. Update-only checks (enforceFieldsImmutability) have no case:
a definition has no previous version."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from meshlint import api
from meshlint.analyze.rules import LOADER_RULES

# the rules whose findings say the input is invalid (App Mesh or the controller refused it)
REFUSALS = {"schema", "gateway-route-match-invalid", "gateway-route-rewrite-invalid", "route-match-invalid",
            "listener-without-service-discovery", "membership-refused", "read-only-field", "duplicate-backend-ref",
            "duplicate-resource"}
Doc = dict[str, Any]
ARN = "arn:aws:appmesh:eu-west-1:111122223333:mesh/shop/virtualService/testVS.awesome-ns"
TARGET = {"target": {"virtualService": {"virtualServiceRef": {"name": "color"}}}}
CLOUD_MAP = {"awsCloudMap": {"namespaceName": "cloudmap-ns", "serviceName": "cloudmap-svc"}}


def grpc(match: Doc) -> Doc:
    return {"grpcRoute": {"match": match, "action": TARGET}}


def http(match: Doc, rewrite: Doc | None = None, kind: str = "httpRoute") -> Doc:
    action = {**TARGET, **({"rewrite": rewrite} if rewrite is not None else {})}
    return {kind: {"match": match, "action": action}}


def route(name: str, match: Doc, kind: str = "httpRoute") -> Doc:
    return {"name": name, kind: {"match": match, "action": {"weightedTargets": [
        {"virtualNodeRef": {"name": "testVN"}, "weight": 1}]}}}


def node(**spec: Any) -> Doc:
    return {"serviceDiscovery": CLOUD_MAP, **spec}


def listener(**pool: Any) -> Doc:
    return {"portMapping": {"port": 8080, "protocol": "http"}, **({"connectionPool": pool} if pool else {})}


def gateway_listener(**pool: Any) -> Doc:
    return {"portMapping": {"port": 8088, "protocol": "http"}, **({"connectionPool": pool} if pool else {})}


# (Go test name, kind, Kubernetes spec)
ACCEPTED: list[tuple[str, str, Doc]] = [
    ("ValidCase: No Match filter for one of the metadata", "GatewayRoute", grpc(
        {"serviceName": "color.ColorService",
         "metadata": [{"name": "client", "match": {"exact": "mobile"}}, {"name": "service_type"}]})),
    ("query parameters: Valid case", "GatewayRoute", http(
        {"prefix": "/", "queryParameters": [{"name": "user", "match": {"exact": "Test"}}]})),
    ("QueryParams with only name and no match block specified", "GatewayRoute", http(
        {"prefix": "/", "queryParameters": [{"name": "user"}]})),
    ("Header with only name and no match block specified", "GatewayRoute", http(
        {"prefix": "/", "headers": [{"name": "user"}]})),
    ("metadata: Valid Case", "GatewayRoute", grpc(
        {"serviceName": "color.ColorService", "metadata": [{"name": "service_name",
                                                            "match": {"range": {"start": 4, "end": 8}}}]})),
    ("Only Exact path specified", "GatewayRoute", http({"path": {"exact": "/paths/green"}})),
    ("Only Regex specified", "GatewayRoute", http({"path": {"regex": "/pathss/green.*test"}})),
    ("ValidCase: Only DefaultPrefix specified", "GatewayRoute", http(
        {"prefix": "/red/"}, {"prefix": {"defaultPrefix": "DISABLED"}})),
    ("Only DefaultTargetHostname specified", "GatewayRoute", http(
        {"prefix": "/red/"}, {"hostname": {"defaultTargetHostname": "DISABLED"}})),
    ("Valid Hostname Case", "GatewayRoute", grpc({"hostname": {"exact": "www.github.com"}})),
    ("Valid Servicename Case", "GatewayRoute", grpc({"serviceName": "test-service"})),
    ("GRPCGateway Route SevericName specified", "GatewayRoute", grpc({"serviceName": "my-service"})),
    ("GRPCGateway Route with Valid Hostname specified", "GatewayRoute", grpc({"hostname": {"exact": "example.com"}})),
    ("HTTPGateway Route with Prefix or Path specified with no Hostname", "GatewayRoute", http({"prefix": "/payment/"})),
    ("HTTPGateway Route with Prefix or Path specified with Hostname", "GatewayRoute", http(
        {"hostname": {"exact": "www.hotels.com"}, "prefix": "/payment/"})),
    ("Only HTTPRoute specified", "GatewayRoute", http({"prefix": "/paths"})),
    ("No duplicate routes", "VirtualRouter", {"listeners": [listener()], "routes": [
        route("testRoute", {"method": "GET", "prefix": "/"})]}),
    ("validateRoute: Valid Case", "VirtualRouter", {"listeners": [listener()], "routes": [
        route("valid", {"path": {"exact": "/color/blue"}})]}),
    ("No Duplicate Backends", "VirtualNode", node(backends=[
        {"virtualService": {"virtualServiceRef": {"name": "testVS", "namespace": "awesome-ns"}}}])),
    ("Same VirtualService name across different namespaces", "VirtualNode", node(backends=[
        {"virtualService": {"virtualServiceRef": {"name": "testVS", "namespace": "awesome-ns"}}},
        {"virtualService": {"virtualServiceRef": {"name": "testVS", "namespace": "secondary-ns"}}}])),
    ("ServiceDiscovery is Optional if listeners are not specified", "VirtualNode", {"backends": [
        {"virtualService": {"virtualServiceARN": ARN}}]}),
    ("Virtual node listener with one connection pool type", "VirtualNode", node(listeners=[
        listener(http={"maxConnections": 100, "maxPendingRequests": 30})])),
    ("Virtual node listener with no connection pools", "VirtualNode", node(listeners=[listener()])),
    ("Virtual gateway listener with one connection pool type", "VirtualGateway", {"listeners": [
        gateway_listener(http={"maxConnections": 100, "maxPendingRequests": 30})]}),
    ("Virtual gateway listener with no connection pools", "VirtualGateway", {"listeners": [gateway_listener()]}),
    ("IpPreference is either IPv4_ONLY or IPv6_ONLY", "Mesh", {"meshServiceDiscovery": {"ipPreference": "IPv6_ONLY"}}),
    ("IpPreference not specified", "Mesh", {}),
]

# (Go test name, kind, Kubernetes spec, rule, who refused the API format: "App Mesh", or None when App Mesh
# took the API input and only the controller refused it)
REFUSED: list[tuple[str, str, Doc, str, str | None]] = [
    ("Invalid MatchRange for metadata", "GatewayRoute", grpc(
        {"serviceName": "user.ProfileService", "metadata": [{"name": "userId",
                                                             "match": {"range": {"start": 30, "end": 20}}}]}),
     "gateway-route-match-invalid", "App Mesh"),
    ("No matching filters for single query parameter", "GatewayRoute", http(
        {"prefix": "/", "queryParameters": [{"name": "user", "match": {}}]}), "gateway-route-match-invalid", "App Mesh"),
    ("Multiple matching filters for single header", "GatewayRoute", http(
        {"prefix": "/", "headers": [{"name": "user", "match": {"exact": "Test", "prefix": "App"}, "invert": False}]}),
     "schema", "App Mesh"),
    ("No matching filters for single header", "GatewayRoute", http(
        {"prefix": "/", "headers": [{"name": "user", "match": {}}]}), "schema", "App Mesh"),
    ("Multiple Match Filters for single metadata", "GatewayRoute", grpc(
        {"serviceName": "s", "metadata": [{"name": "service_name", "match": {"exact": "checkout", "suffix": "/item"}}]}),
     "schema", "App Mesh"),
    ("Invalid Match Range", "GatewayRoute", grpc(
        {"serviceName": "s", "metadata": [{"name": "service_name", "match": {"range": {"start": 4, "end": 2}}}]}),
     "gateway-route-match-invalid", "App Mesh"),
    ("Both Exact and Regex specified", "GatewayRoute", http(
        {"path": {"exact": "/paths/green", "regex": "/pathss/green.*test"}}), "gateway-route-match-invalid", "App Mesh"),
    ("Neither Exact nor Regex specified", "GatewayRoute", http({"path": {}}), "gateway-route-match-invalid", "App Mesh"),
    ("Missing Rewrite filters", "GatewayRoute", http({"prefix": "/"}, {}), "gateway-route-rewrite-invalid", "App Mesh"),
    ("Both Prefix and Path Rewrite specified", "GatewayRoute", http(
        {"prefix": "/"}, {"prefix": {"value": "test-prefix"}, "path": {"exact": "test-prefix.com/payment"}}),
     "gateway-route-rewrite-invalid", "App Mesh"),
    ("Incorrect Prefix Rewrite format", "GatewayRoute", http({"prefix": "/red/"}, {"prefix": {"value": "/test"}}),
     "gateway-route-rewrite-invalid", "App Mesh"),
    ("Incorrect Prefix Match format - case2", "GatewayRoute", http({"prefix": "red/"}, {"prefix": {"value": "/test/"}}),
     "gateway-route-rewrite-invalid", "App Mesh"),
    ("Incorrect Prefix Rewrite format - case2", "GatewayRoute", http({"prefix": "/red/"}, {"prefix": {"value": "test/"}}),
     "gateway-route-rewrite-invalid", "App Mesh"),
    ("Both DefaultPrefix and Prefix for Rewrite specified", "GatewayRoute", http(
        {"prefix": "/red/"}, {"prefix": {"defaultPrefix": "DISABLED", "value": "/test/"}}),
     "gateway-route-rewrite-invalid", "App Mesh"),
    ("Hostname and Servicename both nil", "GatewayRoute", grpc({}), "gateway-route-match-invalid", None),
    ("Invalid Hostname with both Exact and Suffix specified", "GatewayRoute", grpc(
        {"hostname": {"exact": "www.github.com", "suffix": ".github.com"}}), "gateway-route-match-invalid", "App Mesh"),
    ("Invalid Hostname with neither Exact nor Suffix specified", "GatewayRoute", grpc({"hostname": {}}),
     "gateway-route-match-invalid", "App Mesh"),
    ("HTTPGateway Route with Missing Prefix, Path and Hostname", "GatewayRoute", http({}),
     "gateway-route-match-invalid", None),  # App Mesh took a match of a port alone (howto-multiple-listeners)
    ("HTTPGateway Route with Prefix and Path specified", "GatewayRoute", http(
        {"prefix": "/payment", "path": {"exact": "/payment/items"}}), "gateway-route-match-invalid", "App Mesh"),
    ("HTTPGateway with Exact and Suffix both specified for Hostname", "GatewayRoute", http(
        {"hostname": {"exact": "www.hotels.com", "suffix": "/payment"}}), "gateway-route-match-invalid", "App Mesh"),
    ("HTTPRoute and GRPCRoute specified", "GatewayRoute", {**http({"prefix": "/paths"}), **grpc({"serviceName": "payment"})},
     "gateway-route-match-invalid", "App Mesh"),
    ("No route specified", "GatewayRoute", {}, "gateway-route-match-invalid", "App Mesh"),
    ("VirtualRouter has duplicate routes", "VirtualRouter", {"listeners": [listener()], "routes": [
        route("testRoute", {"method": "GET", "prefix": "/"}), route("testRoute", {"method": "GET", "prefix": "/test"})]},
     "duplicate-resource", "App Mesh"),
    ("Prefix and Path both specified", "VirtualRouter", {"listeners": [listener()], "routes": [
        route("r", {"prefix": "/", "path": {"exact": "/color/blue"}})]}, "route-match-invalid", "App Mesh"),
    ("Prefix and Path both not specified", "VirtualRouter", {"listeners": [listener()], "routes": [route("r", {})]},
     "route-match-invalid", None),  # App Mesh took it as prefix "/" (AWS's walkthrough howto-multiple-listeners)
    ("Invalid Case for HTTP2 Route", "VirtualRouter", {"listeners": [listener()], "routes": [
        route("r", {"prefix": "/", "path": {"exact": "/color/blue"}}, "http2Route")]}, "route-match-invalid", "App Mesh"),
    ("Duplicate VirtualService Reference (By Name) included", "VirtualNode", node(backends=[
        {"virtualService": {"virtualServiceRef": {"name": "testVS", "namespace": "awesome-ns"}}},
        {"virtualService": {"virtualServiceRef": {"name": "testVS", "namespace": "awesome-ns"}}}]),
     "duplicate-backend-ref", None),  # App Mesh took the API input and kept one (aws-app-mesh-roadmap#170)
    ("Duplicate VirtualService ARN included", "VirtualNode", node(backends=[
        {"virtualService": {"virtualServiceARN": ARN}}, {"virtualService": {"virtualServiceARN": ARN}}]),
     "duplicate-backend-ref", None),
    ("ServiceDiscovery is Mandatory if listeners are specified", "VirtualNode", {"listeners": [listener()], "backends": [
        {"virtualService": {"virtualServiceARN": ARN}}]}, "listener-without-service-discovery", "App Mesh"),
    ("Virtual node listener with HTTP and TCP connection pools", "VirtualNode", node(listeners=[
        listener(http={"maxConnections": 100}, tcp={"maxConnections": 100})]), "schema", "App Mesh"),
    ("Virtual node listener with HTTP and HTTP2 connection pools", "VirtualNode", node(listeners=[
        listener(http={"maxConnections": 100}, http2={"maxRequests": 100})]), "schema", "App Mesh"),
    ("Virtual node listener with HTTP, HTTP2, TCP, GRPC connection pools", "VirtualNode", node(listeners=[
        listener(http={"maxConnections": 1}, http2={"maxRequests": 1}, tcp={"maxConnections": 1},
                 grpc={"maxRequests": 1})]), "schema", "App Mesh"),
    ("Virtual gateway listener with HTTP and HTTP2 connection pool", "VirtualGateway", {"listeners": [
        gateway_listener(http={"maxConnections": 1}, http2={"maxRequests": 1})]}, "schema", "App Mesh"),
    ("Virtual gateway listener with HTTP, GRPC and HTTP2 connection pool", "VirtualGateway", {"listeners": [
        gateway_listener(http={"maxConnections": 1}, http2={"maxRequests": 1}, grpc={"maxRequests": 1})]},
     "schema", "App Mesh"),
]


def kubernetes(kind: str, spec: Doc) -> list[Doc]:
    """The case as the controller gets it: its Namespace, Mesh and VirtualGateway, and the object."""
    selector = {"matchLabels": {"mesh": "shop"}}
    docs: list[Doc] = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "awesome-ns", "labels": {
        "mesh": "shop"}}}]
    mesh = {"namespaceSelector": selector, **(spec if kind == "Mesh" else {})}
    docs.append({"apiVersion": "appmesh.k8s.aws/v1beta2", "kind": "Mesh", "metadata": {"name": "shop"}, "spec": mesh})
    if kind == "GatewayRoute":
        docs.append(_k8s("VirtualGateway", "ingress", {"namespaceSelector": selector,
                                                       "listeners": [gateway_listener()]}))
    if kind != "Mesh":
        docs.append(_k8s(kind, "my-" + kind.lower(), copy.deepcopy(spec)))
    return docs


def _k8s(kind: str, name: str, spec: Doc) -> Doc:
    return {"apiVersion": "appmesh.k8s.aws/v1beta2", "kind": kind,
            "metadata": {"name": name, "namespace": "awesome-ns"}, "spec": spec}


def api_format(kind: str, spec: Doc) -> list[Doc]:
    """The same case in the AWS CLI input shape: references by App Mesh name, routes as Route resources."""
    docs: list[Doc] = [{"meshName": "shop", "spec": _api(spec) if kind == "Mesh" else {}}]
    if kind == "GatewayRoute":
        docs.append({"meshName": "shop", "virtualGatewayName": "ingress",
                     "spec": {"listeners": [gateway_listener()]}})
        docs.append({"meshName": "shop", "virtualGatewayName": "ingress", "gatewayRouteName": "r", "spec": _api(spec)})
    elif kind == "VirtualRouter":
        docs.append({"meshName": "shop", "virtualRouterName": "vr", "spec": {"listeners": spec["listeners"]}})
        docs += [{"meshName": "shop", "virtualRouterName": "vr", "routeName": r["name"],
                  "spec": _api({k: v for k, v in r.items() if k != "name"})} for r in spec["routes"]]
    elif kind != "Mesh":
        docs.append({"meshName": "shop", {"VirtualNode": "virtualNodeName", "VirtualGateway": "virtualGatewayName"}[kind]:
                     "my", "spec": _api(spec)})
    return docs


def _api(node: Any) -> Any:
    if isinstance(node, list):
        return [_api(v) for v in node]
    if not isinstance(node, dict):
        return node
    out: Doc = {}
    for key, value in node.items():
        if key == "virtualServiceRef":
            out["virtualServiceName"] = f"{value['name']}.{value.get('namespace', 'awesome-ns')}"
        elif key == "virtualServiceARN":
            out["virtualServiceName"] = value.rsplit("/", 1)[1]
        elif key == "virtualNodeRef":
            out["virtualNode"] = f"{value['name']}_awesome-ns"
        elif key == "meshServiceDiscovery":
            out["serviceDiscovery"] = value
        else:
            out[key] = _api(value)
    return out


def _check(tmp_path: Path, docs: list[Doc]) -> list[tuple[str, str]]:
    (tmp_path / "case.yaml").write_text(yaml.safe_dump_all(docs, sort_keys=False))
    return [(d.rule, d.message) for d in api.check([str(tmp_path)]).diagnostics]


@pytest.mark.parametrize("form", ["kubernetes", "api"])
@pytest.mark.parametrize(("name", "kind", "spec"), ACCEPTED, ids=[c[0] for c in ACCEPTED])
def test_what_the_controller_accepted_is_not_called_invalid(tmp_path: Path, form: str, name: str, kind: str,
                                                             spec: Doc) -> None:
    docs = kubernetes(kind, spec) if form == "kubernetes" else api_format(kind, spec)
    assert [f for f in _check(tmp_path, docs) if f[0] in REFUSALS] == []


@pytest.mark.parametrize("form", ["kubernetes", "api"])
@pytest.mark.parametrize(("name", "kind", "spec", "rule", "api_refuser"), REFUSED, ids=[c[0] for c in REFUSED])
def test_what_the_controller_refused_is_reported(tmp_path: Path, form: str, name: str, kind: str, spec: Doc,
                                                 rule: str, api_refuser: str | None) -> None:
    if form == "kubernetes":
        found = [m for r, m in _check(tmp_path, kubernetes(kind, spec)) if r == rule]
        assert found, f"{rule} reports nothing"
        if rule not in ("duplicate-resource",):
            assert all(m.startswith(("the controller refused", "App Mesh refused")) for m in found), found
        if rule not in LOADER_RULES | {"schema", "duplicate-resource"}:
            assert any(m.startswith("the controller refused") for m in found), found
        return
    found = [m for r, m in _check(tmp_path, api_format(kind, spec)) if r in REFUSALS]
    if api_refuser is None:
        assert found == []
    else:
        assert found and any(rule == r for r, _ in _check(tmp_path, api_format(kind, spec)))
        if rule not in ("schema", "duplicate-resource"):
            assert all(m.startswith(f"{api_refuser} refused") for m in found), found


@pytest.mark.parametrize("value", ["Test", ""])
def test_an_ip_preference_outside_the_crd_is_replaced_not_refused(tmp_path: Path, value: str) -> None:
    """checkIpPreference ("Only non-empty values allowed are IPv4_ONLY or IPv6_ONLY") runs after the mesh
    mutator has replaced meshServiceDiscovery with the cluster's family, so it never refuses a write; App Mesh's
    API refuses the value itself."""
    spec = {"meshServiceDiscovery": {"ipPreference": value}}
    k8s = _check(tmp_path, kubernetes("Mesh", spec))
    assert [r for r, _ in k8s] == ["ip-preference-overridden"]
    assert [r for r, _ in _check(tmp_path, api_format("Mesh", spec))] == ["schema"]


def test_the_validator_table_names_every_refusal_rule() -> None:
    from tests.helpers import REPO

    table = (REPO / "docs" / "controller-validators.md").read_text(encoding="utf-8")
    for slug in REFUSALS - {"schema", "duplicate-resource"} | {"ip-preference-overridden"}:
        assert f"`{slug}`" in table, slug
    assert "docs/controller-validators.md" in (REPO / "README.md").read_text(encoding="utf-8")
