"""CloudFormation and Kubernetes positions point into the user's file; --parameter, --name-fragment,
--substitute-env / --env-file reach the loader through the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from meshlint import api
from meshlint.config import Settings
from meshlint.normalize import InputOptions

CFN = """\
Parameters:
  Port: {Type: Number}
Resources:
  Mesh:
    Type: AWS::AppMesh::Mesh
    Properties: {MeshName: shop}
  Web:
    Type: AWS::AppMesh::VirtualNode
    Properties:
      MeshName: !GetAtt Mesh.MeshName
      VirtualNodeName: web
      Spec:
        Listeners:
          - PortMapping: {Port: !Ref Port, Protocl: http}
"""


def test_cloudformation_schema_finding_points_at_the_pascal_case_key(tmp_path: Path) -> None:
    (tmp_path / "t.yaml").write_text(CFN)
    result = api.check([str(tmp_path / "t.yaml")], Settings(select=frozenset({"schema"})),
                       inputs=InputOptions(parameters={"Port": "8080"}))
    [typo] = [d for d in result.diagnostics if "rotocl" in d.message]
    assert (typo.line, typo.column) == (14, 44)
    assert typo.pointer == "/Resources/Web/Properties/Spec/Listeners/0/PortMapping/Protocl"


def test_a_parameter_without_default_is_named_and_parameter_fills_it(tmp_path: Path) -> None:
    (tmp_path / "t.yaml").write_text(CFN.replace("Protocl", "Protocol"))
    select = Settings(select=frozenset({"unresolved-value", "schema"}))
    unresolved = api.check([str(tmp_path / "t.yaml")], select).diagnostics
    assert [(d.rule, d.message, d.line) for d in unresolved if d.rule == "unresolved-value"] == [
        ("unresolved-value", "parameter Port has no Default", 14)]
    given = api.check([str(tmp_path / "t.yaml")], select, inputs=InputOptions(parameters={"Port": "8080"}))
    assert given.diagnostics == []
    assert given.model.nodes[("shop", "web")].spec.listeners[0].port_mapping.port == 8080  # type: ignore[index]


def test_kubernetes_names_follow_the_controller(tmp_path: Path) -> None:
    (tmp_path / "k.yaml").write_text("""\
apiVersion: appmesh.k8s.aws/v1beta2
kind: Mesh
metadata: {name: shop}
spec: {namespaceSelector: {matchLabels: {mesh: shop}}}
---
apiVersion: appmesh.k8s.aws/v1beta2
kind: VirtualService
metadata: {name: orders, namespace: prod}
spec:
  provider: {virtualNode: {virtualNodeRef: {name: orders}}}
---
apiVersion: appmesh.k8s.aws/v1beta2
kind: VirtualNode
metadata: {name: orders, namespace: prod}
spec:
  listeners: [{portMapping: {port: 8080, protocol: tcp}}]
  serviceDiscovery: {dns: {hostname: orders.prod.svc.cluster.local}}
""")
    result = api.check([str(tmp_path / "k.yaml")])
    assert sorted((d.kind, d.mesh, d.name) for d in result.model.declarations) == [
        ("Mesh", "shop", "shop"), ("VirtualNode", "shop", "orders_prod"), ("VirtualService", "shop", "orders.prod")]
    provider = result.model.services[("shop", "orders.prod")].spec.provider
    assert provider is not None and provider.virtual_node is not None
    assert provider.virtual_node.virtual_node_name == "orders_prod"


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "meshlint", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120)


def test_cli_names_a_fragment_and_fills_placeholders_from_an_env_file(tmp_path: Path) -> None:
    (tmp_path / "vn.json").write_text('{"spec": {"listeners": [{"portMapping": {"port": $PORT, '
                                      '"protocol": "http"}}], "serviceDiscovery": {"dns": {"hostname": "web.shop"}}}}')
    (tmp_path / "vars.env").write_text("# ports\nexport PORT=8080\n")
    proc = _cli("check", "vn.json", "--select", "schema,parse-error,template-placeholder", "--format", "json",
                "--env-file", "vars.env", "--name-fragment", "vn.json=VirtualNode:shop/web", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    unnamed = _cli("check", "vn.json", "--select", "unresolved-value", "--env-file", "vars.env", cwd=tmp_path)
    assert "--name-fragment vn.json=VirtualNode:MESH/vn" in unnamed.stdout
    bad = _cli("check", "vn.json", "--name-fragment", "vn.json=Node:shop/web", cwd=tmp_path)
    assert bad.returncode == 2 and "--name-fragment" in bad.stderr


def test_helm_output_on_stdin_is_read(tmp_path: Path) -> None:
    rendered = (Path(__file__).parents[2] / "fixtures" / "formats" / "kubernetes" / "mesh.yaml").read_text()
    proc = subprocess.run([sys.executable, "-m", "meshlint", "check", "-", "--entry-point", "shop/web",
                           "--format", "json"], input=rendered, cwd=tmp_path, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads(proc.stdout)
    assert report["diagnostics"] == []
    assert report["summary"]["resources"] == 6


def test_the_same_resource_in_two_formats_is_a_duplicate(tmp_path: Path) -> None:
    fixtures = Path(__file__).parents[2] / "fixtures" / "formats"
    (tmp_path / "native.yaml").write_text((fixtures / "native" / "mesh.yaml").read_text())
    (tmp_path / "k8s.yaml").write_text((fixtures / "kubernetes" / "mesh.yaml").read_text())
    result = api.check([str(tmp_path)], Settings(select=frozenset({"duplicate-resource"})))
    assert sorted(d.resource.name for d in result.diagnostics if d.resource) == [
        "orders", "orders", "orders.shop.local", "orders/all", "shop", "web"]
    # files are read in name order whatever their format: k8s.yaml defines them first
    assert {Path(d.path).name for d in result.diagnostics} == {"native.yaml"}


def test_graph_takes_the_input_options(tmp_path: Path) -> None:
    (tmp_path / "t.yaml").write_text(CFN.replace("Protocl", "Protocol"))
    proc = _cli("graph", "t.yaml", "-o", "t.dot", "--parameter", "Port=9090", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "9090" in (tmp_path / "t.dot").read_text()
