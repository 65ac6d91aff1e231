"""`build --emit kubernetes --emit ecs`: the manifests are valid where they are used, offline.

Kubernetes: the ConfigMap and the workload patch applied (strategic merge, lists merged by name) to an app's
Deployment validate strictly against the Kubernetes schemas (kubernetes-validate); the ConfigMap carries the
files Envoy mounts (strict-parsed). ECS: the task definition part, merged with an app container, passes
botocore's own parameter validation of RegisterTaskDefinition, and every name it refers to exists.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import botocore.session
import kubernetes_validate
import pytest
import yaml
from botocore.validate import ParamValidator

from meshlint import api
from meshlint.compile.envoy.options import CompileOptions
from meshlint.config import Settings
from meshlint.deploy.interception import SCRIPT
from tests.support.envoy import strict_parse

K8S_VERSION = kubernetes_validate.utils.latest_version()
SETTINGS = Settings(severities={"missing-tls": None}, entry_points=frozenset({"shop/front"}))

MESH_YAML = """\
meshName: shop
spec: {}
---
virtualServiceName: cart.shop.local
meshName: shop
spec: {provider: {virtualNode: {virtualNodeName: cart_shop}}}
---
virtualNodeName: cart_shop
meshName: shop
spec:
  listeners: [{portMapping: {port: 8080, protocol: http}}, {portMapping: {port: 6379, protocol: tcp}}]
  serviceDiscovery: {dns: {hostname: cart.shop.svc.cluster.local}}
---
virtualNodeName: front
meshName: shop
spec:
  listeners: [{portMapping: {port: 9080, protocol: http}}]
  backends: [{virtualService: {virtualServiceName: cart.shop.local}}]
  serviceDiscovery: {dns: {hostname: front.shop.svc.cluster.local}}
---
virtualGatewayName: ingress
meshName: shop
spec: {listeners: [{portMapping: {port: 8088, protocol: http}}]}
---
gatewayRouteName: to-cart
virtualGatewayName: ingress
meshName: shop
spec:
  httpRoute:
    match: {prefix: /cart}
    action: {target: {virtualService: {virtualServiceName: cart.shop.local}}}
"""

APP_DEPLOYMENT = {
    "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "app", "namespace": "shop"},
    "spec": {"selector": {"matchLabels": {"app": "app"}},
             "template": {"metadata": {"labels": {"app": "app"}},
                          "spec": {"containers": [{"name": "app", "image": "example/app:1",
                                                   "ports": [{"containerPort": 8080}]}]}}},
}


def build(tmp_path: Path, xds: bool) -> dict[str, bytes]:
    mesh = tmp_path / "mesh"
    mesh.mkdir(exist_ok=True)
    (mesh / "mesh.yaml").write_text(MESH_YAML)
    out = tmp_path / ("xds" if xds else "static")
    options = CompileOptions(xds=xds, emit=("kubernetes", "ecs"), egress_ignored_ports=(2049,))
    result = api.build([str(mesh)], out, SETTINGS, options)
    assert result.written is not None, [d.message for d in result.check.diagnostics]
    return {str(p.relative_to(out)): p.read_bytes() for p in out.rglob("*") if p.is_file()}


def merge(base: Any, patch: Any) -> Any:
    """Strategic merge as kubectl does it for these fields: objects key by key, lists of named items by name."""
    if isinstance(base, dict) and isinstance(patch, dict):
        return {**base, **{k: merge(base[k], v) if k in base else v for k, v in patch.items()}}
    if isinstance(base, list) and isinstance(patch, list) and all(isinstance(i, dict) and "name" in i
                                                                   for i in [*base, *patch]):
        names = {item["name"]: item for item in base}
        return [merge(names[i["name"]], i) if i["name"] in names else i for i in patch] + \
            [item for item in base if item["name"] not in {i["name"] for i in patch}]
    return patch


def k8s_valid(document: dict[str, Any]) -> None:
    kubernetes_validate.validate(document, K8S_VERSION, strict=True)


@pytest.fixture(scope="module", params=[False, True], ids=["static", "xds"])
def built(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[bool, dict[str, bytes]]:
    xds: bool = request.param
    return xds, build(tmp_path_factory.mktemp("deploy"), xds)


@pytest.mark.parametrize("proxy", ["virtual-nodes/cart_shop", "virtual-nodes/front", "virtual-gateways/ingress"])
def test_kubernetes_manifests_validate(built: tuple[bool, dict[str, bytes]], proxy: str) -> None:
    xds, files = built
    config_map = yaml.safe_load(files[f"shop/kubernetes/{proxy}/configmap.yaml"])
    patch = yaml.safe_load(files[f"shop/kubernetes/{proxy}/patch.yaml"])
    k8s_valid(config_map)
    deployment = merge(APP_DEPLOYMENT, patch)
    k8s_valid(deployment)
    spec = deployment["spec"]["template"]["spec"]
    assert [c["name"] for c in spec["containers"]] == ["envoy", "app"]
    envoy = spec["containers"][0]
    assert envoy["securityContext"]["runAsUser"] == 1337
    assert envoy["volumeMounts"] == [{"name": "meshlint-envoy-config", "mountPath": "/etc/envoy", "readOnly": True}]
    assert spec["volumes"] == [{"name": "meshlint-envoy-config", "configMap": {"name": config_map["metadata"]["name"]}}]
    data = config_map["data"]
    strict_parse(data["bootstrap.json"])
    if xds:
        assert {"bootstrap.json", "lds.json", "cds.json"} <= set(data)
        assert '"/etc/envoy/..data/lds.json"' in data["bootstrap.json"]
        assert "annotations" not in deployment["spec"]["template"]["metadata"]  # updates go live: no rollout
    else:
        assert set(data) == {"bootstrap.json"}
        assert "meshlint.dev/envoy-config-sha256" in deployment["spec"]["template"]["metadata"]["annotations"]
    if proxy.startswith("virtual-gateways"):
        assert "initContainers" not in spec  # App Mesh ran a gateway's Envoy without interception
        assert {"containerPort": 8088, "protocol": "TCP"} in envoy["ports"]
        return
    (init,) = spec["initContainers"]
    assert init["command"] == ["sh", "-c", SCRIPT]
    assert init["securityContext"] == {"capabilities": {"add": ["NET_ADMIN"]}}
    env = {e["name"]: e["value"] for e in init["env"]}
    assert env == {
        "APPMESH_START_ENABLED": "1", "APPMESH_IGNORE_UID": "1337", "APPMESH_ENVOY_INGRESS_PORT": "15000",
        "APPMESH_ENVOY_EGRESS_PORT": "15001",
        "APPMESH_APP_PORTS": "6379,8080" if proxy.endswith("cart_shop") else "9080",
        "APPMESH_EGRESS_IGNORED_IP": "169.254.169.254,169.254.170.2", "APPMESH_EGRESS_IGNORED_PORTS": "2049,22"}


@pytest.mark.parametrize("proxy", ["virtual-nodes/cart_shop", "virtual-nodes/front", "virtual-gateways/ingress"])
def test_ecs_task_definition_validates(built: tuple[bool, dict[str, bytes]], proxy: str) -> None:
    xds, files = built
    part = json.loads(files[f"shop/ecs/{proxy}/task-definition.json"])
    request = {"family": "app", "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"], "cpu": "256",
               "memory": "512", **part,
               "containerDefinitions": [{"name": "app", "image": "example/app:1", "essential": True,
                                         "dependsOn": [{"containerName": "envoy", "condition": "HEALTHY"}]},
                                        *part["containerDefinitions"]]}
    model = botocore.session.get_session().get_service_model("ecs")
    report = ParamValidator().validate(request, model.operation_model("RegisterTaskDefinition").input_shape)
    assert not report.has_errors(), report.generate_report()
    containers = {c["name"]: c for c in request["containerDefinitions"]}
    volumes = {v["name"] for v in request["volumes"]}
    for container in containers.values():
        assert {d["containerName"] for d in container.get("dependsOn", ())} <= set(containers)
        assert {m["sourceVolume"] for m in container.get("mountPoints", ())} <= volumes
        for dependency in container.get("dependsOn", ()):
            if dependency["condition"] == "HEALTHY":
                assert "healthCheck" in containers[dependency["containerName"]]
    envoy = containers["envoy"]
    assert envoy["user"] == "1337:1337" and envoy["essential"] is True
    assert envoy["command"][:3] == ["envoy", "-c", "/etc/envoy/bootstrap.json"]
    config_files = {name.rpartition("/")[2] for name in files if name.startswith(f"shop/ecs/{proxy}/config/")}
    assert config_files == ({"bootstrap.json", "lds.json", "cds.json"} | config_files if xds else {"bootstrap.json"})
    strict_parse(files[f"shop/ecs/{proxy}/config/bootstrap.json"].decode())
    if proxy.startswith("virtual-gateways"):
        assert "proxyConfiguration" not in request
        assert envoy["portMappings"] == [{"containerPort": 8088, "protocol": "tcp"}]
        return
    proxy_config = request["proxyConfiguration"]
    assert proxy_config["type"] == "APPMESH" and proxy_config["containerName"] == "envoy"
    assert {p["name"]: p["value"] for p in proxy_config["properties"]} == {
        "IgnoredUID": "1337", "IgnoredGID": "1337", "ProxyIngressPort": "15000", "ProxyEgressPort": "15001",
        "AppPorts": "6379,8080" if proxy.endswith("cart_shop") else "9080",
        "EgressIgnoredIPs": "169.254.169.254,169.254.170.2", "EgressIgnoredPorts": "2049,22"}
    config = containers["envoy-config"]
    assert config["user"] == "0:1337"  # IgnoredGID: its S3 traffic bypasses the not yet running Envoy


def test_static_build_without_emit_is_unchanged(tmp_path: Path) -> None:
    """The default build writes exactly what compile_envoy makes (the static bootstraps), nothing more."""
    from meshlint.compile import ValidatedMesh
    from meshlint.compile.envoy import compile_envoy

    mesh = tmp_path / "mesh"
    mesh.mkdir()
    (mesh / "mesh.yaml").write_text(MESH_YAML)
    result = api.build([str(mesh)], tmp_path / "out", SETTINGS)
    assert result.written is not None
    compiled = compile_envoy(ValidatedMesh(result.check.model, result.check.graph), CompileOptions())
    written = {p for p in result.written.files if p.endswith(".json") and "/virtual-" in p}
    assert written == {str(a.path) for a in compiled.artifacts}
    for artifact in compiled.artifacts:
        assert (tmp_path / "out" / str(artifact.path)).read_bytes() == artifact.content
