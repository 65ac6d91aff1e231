"""Malformed CloudFormation and Kubernetes input is diagnosed, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from meshlint import api

MALFORMED = {
    "cfn-properties-list": "Resources: {N: {Type: AWS::AppMesh::VirtualNode, Properties: [1, 2]}}",
    "cfn-spec-string": "Resources: {N: {Type: AWS::AppMesh::VirtualNode, Properties: "
                       "{MeshName: m, VirtualNodeName: n, Spec: nope}}}",
    "cfn-bad-intrinsics": """\
Conditions: {C: {Fn::Equals: [1]}, D: {Condition: D}}
Resources:
  M: {Type: AWS::AppMesh::Mesh, Condition: D, Properties: {MeshName: {Fn::If: [C, a]}}}
  N:
    Type: AWS::AppMesh::VirtualNode
    Properties:
      MeshName: {Fn::GetAtt: M}
      VirtualNodeName: {Fn::Sub: [1, 2]}
      Spec: {Listeners: {Fn::Select: [9, [1]]}, Backends: {Fn::Join: [",", "x"]}, Logging: {Ref: AWS::NoValue}}
  R: {Type: AWS::AppMesh::Route, Properties: {MeshName: {Fn::GetAtt: [R, MeshName]}, RouteName: {Ref: R}}}
  S: {Type: AWS::AppMesh::VirtualService, Properties: {MeshName: {Fn::Split: [",", {Ref: X}]}}}
""",
    "cfn-cycle": """\
Resources:
  A: {Type: AWS::AppMesh::Mesh, Properties: {MeshName: {Fn::GetAtt: [B, MeshName]}}}
  B: {Type: AWS::AppMesh::Mesh, Properties: {MeshName: {Fn::GetAtt: [A, MeshName]}}}
""",
    "k8s-odd-shapes": """\
apiVersion: appmesh.k8s.aws/v1beta2
kind: VirtualRouter
metadata: nope
spec: {routes: [1, {name: r}, {httpRoute: {action: {weightedTargets: [{virtualNodeRef: 3, weight: 1}]}}}]}
---
apiVersion: appmesh.k8s.aws/v1beta2
kind: GatewayRoute
metadata: {name: g, labels: [1]}
spec: [1]
---
apiVersion: appmesh.k8s.aws/v1beta2
kind: VirtualService
metadata: {name: s}
spec: {meshRef: {name: 7}, provider: {virtualNode: {virtualNodeARN: "arn:aws:appmesh:x:1:mesh/m/virtualNode/n"}}}
---
apiVersion: appmesh.k8s.aws/v1beta2
kind: Mesh
metadata: {}
spec: {namespaceSelector: {matchLabels: [1]}}
""",
}


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_malformed_input_is_diagnosed_without_a_traceback(name: str, tmp_path: Path) -> None:
    (tmp_path / f"{name}.yaml").write_text(MALFORMED[name])
    result = api.check([str(tmp_path / f"{name}.yaml")])
    assert all(d.path.endswith(f"{name}.yaml") for d in result.diagnostics)
    assert result.diagnostics
