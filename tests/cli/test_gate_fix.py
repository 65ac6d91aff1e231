"""--fix and --diff: weights-sum rewritten as percentages that keep the split, comments and layout kept."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.gate_support import MESH, ROUTE, run, write

FIXED = ROUTE.replace("weight: 80}", "weight: 89}").replace("weight: 10\n", "weight: 11\n")


def test_diff_shows_and_writes_nothing(tmp_path: Path) -> None:
    write(tmp_path, {"a.yaml": f"{MESH}---\n{ROUTE}"})
    proc = run("check", "a.yaml", "--diff", cwd=tmp_path)
    assert proc.returncode == 1
    assert proc.stdout == """--- a/a.yaml
+++ b/a.yaml
@@ -10,6 +10,6 @@
     action:
       weightedTargets:
         # the canary step: v2 gets a tenth
-        - {virtualNode: v1, weight: 80}   # stable
+        - {virtualNode: v1, weight: 89}   # stable
         - virtualNode: v2
-          weight: 10
+          weight: 11
"""
    assert (tmp_path / "a.yaml").read_text() == f"{MESH}---\n{ROUTE}"


def test_fix_writes_keeps_comments_and_reports_the_rest(tmp_path: Path) -> None:
    write(tmp_path, {"a.yaml": f"{MESH}---\n{ROUTE}"})
    proc = run("check", "a.yaml", "--fix", "--select", "weights-sum", cwd=tmp_path)
    assert (tmp_path / "a.yaml").read_text() == f"{MESH}---\n{FIXED}"
    assert "fixed a.yaml: weights as percentages: v1: 89, v2: 11" in proc.stderr
    assert proc.returncode == 0, proc.stdout
    assert proc.stdout.strip() == "1 file, 2 resources: 0 errors, 0 warnings, 0 infos"
    again = run("check", "a.yaml", "--diff", "--select", "weights-sum", cwd=tmp_path)
    assert (again.returncode, again.stdout) == (0, "")


def test_fix_json_keeps_its_layout(tmp_path: Path) -> None:
    route = {"meshName": "shop", "virtualRouterName": "r", "routeName": "c", "spec": {"tcpRoute": {"action": {
        "weightedTargets": [{"virtualNode": "a", "weight": 1}, {"virtualNode": "b", "weight": 1},
                            {"virtualNode": "c", "weight": 1}]}}}}
    text = json.dumps(route, indent=4)
    write(tmp_path, {"r.json": text})
    proc = run("check", "r.json", "--fix", "--select", "weights-sum", cwd=tmp_path)
    assert proc.returncode == 0
    after = (tmp_path / "r.json").read_text()
    weights = [t["weight"] for t in json.loads(after)["spec"]["tcpRoute"]["action"]["weightedTargets"]]
    assert weights == [34, 33, 33]
    assert after == text.replace('"weight": 1\n', '"weight": 34\n', 1).replace('"weight": 1\n', '"weight": 33\n')


CFN = """AWSTemplateFormatVersion: "2010-09-09"
Parameters:
  Canary: {Type: Number, Default: 10}
Resources:
  Route:
    Type: AWS::AppMesh::Route
    Properties:
      MeshName: shop
      VirtualRouterName: orders
      RouteName: canary
      Spec:
        HttpRoute:
          Match: {Prefix: /}
          Action:
            WeightedTargets:
              - {VirtualNode: v1, Weight: 80}  # stable
              - VirtualNode: v2
                Weight: {canary}
"""


def test_fix_cloudformation_writes_values_as_the_template_does(tmp_path: Path) -> None:
    write(tmp_path, {"t.yaml": CFN.replace("{canary}", '"10"')})
    proc = run("check", "t.yaml", "--fix", "--select", "weights-sum", cwd=tmp_path)
    assert "fixed t.yaml: weights as percentages: v1: 89, v2: 11" in proc.stderr, proc.stderr
    # a number stays a number, a string stays a string in its quotes; nothing else changes
    assert (tmp_path / "t.yaml").read_text() == CFN.replace("Weight: 80}", "Weight: 89}").replace("{canary}", '"11"')
    assert proc.returncode == 0, proc.stdout


def test_fix_cloudformation_refuses_what_is_not_a_plain_value(tmp_path: Path) -> None:
    text = CFN.replace("{canary}", "!Ref Canary")
    write(tmp_path, {"t.yaml": text})
    proc = run("check", "t.yaml", "--fix", "--select", "weights-sum", cwd=tmp_path)
    assert ("meshlint: t.yaml: not fixed: line 18 (/Resources/Route/Properties/Spec/HttpRoute/Action/"
            'WeightedTargets/1/Weight) is {"Ref": "Canary"}, not a plain value; edit it by hand') in proc.stderr
    assert (tmp_path / "t.yaml").read_text() == text
    assert proc.returncode == 1  # the finding is still there


def test_fix_kubernetes(tmp_path: Path) -> None:
    crd = """apiVersion: appmesh.k8s.aws/v1beta2
kind: VirtualRouter
metadata: {name: orders, namespace: shop}
spec:
  listeners: [{portMapping: {port: 8080, protocol: http}}]
  routes:
    - name: canary
      httpRoute:
        match: {prefix: /}
        action:
          weightedTargets:
            - virtualNodeRef: {name: v1}
              weight: 80
            - {virtualNodeRef: {name: v2}, weight: 10}  # canary
"""
    write(tmp_path, {"r.yaml": crd})
    proc = run("check", "r.yaml", "--diff", "--select", "weights-sum", cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    assert "+              weight: 89\n+            - {virtualNodeRef: {name: v2}, weight: 11}  # canary\n" in proc.stdout
    run("check", "r.yaml", "--fix", "--select", "weights-sum", cwd=tmp_path)
    assert (tmp_path / "r.yaml").read_text() == crd.replace("weight: 80", "weight: 89").replace("weight: 10", "weight: 11")


def test_fix_with_substitute_env_keeps_the_placeholders(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    templated = ROUTE.replace("meshName: shop", "meshName: ${MESH}").replace("routeName: canary", "routeName: $ROUTE")
    write(tmp_path, {"a.yaml": f"{MESH}---\n{templated}"})
    env = {**os.environ, "MESH": "shop", "ROUTE": "canary", "W": "10"}

    def fix() -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "meshlint", "check", "a.yaml", "--fix", "--substitute-env",
                               "--select", "weights-sum"], cwd=tmp_path, env=env, capture_output=True, text=True)

    proc = fix()
    assert "fixed a.yaml" in proc.stderr, proc.stderr
    assert (tmp_path / "a.yaml").read_text() == f"{MESH}---\n" + FIXED.replace(
        "meshName: shop", "meshName: ${MESH}").replace("routeName: canary", "routeName: $ROUTE")
    # a value that a substitution wrote is not in the file: it is not edited there
    write(tmp_path, {"a.yaml": f"{MESH}---\n" + templated.replace("weight: 10", "weight: ${W}")})
    proc = fix()
    assert "meshlint: a.yaml: not fixed: line 15 (/spec/httpRoute/action/weightedTargets/1/weight): a template " \
           "placeholder there was filled in" in proc.stderr, proc.stderr
    assert (tmp_path / "a.yaml").read_text() == f"{MESH}---\n" + templated.replace("weight: 10", "weight: ${W}")


def test_fix_only_touches_the_weights_of_tab_and_multi_line_flow_mappings(tmp_path: Path) -> None:
    route = ROUTE.replace("- {virtualNode: v1, weight: 80}   # stable\n",
                          "- {virtualNode: v1,\n\tweight: 80,\tport: 8080}   # stable\n").replace(
        "- virtualNode: v2\n          weight: 10\n", "- {virtualNode: v2, weight:\n            10, port: 8080\n          }\n")
    write(tmp_path, {"a.yaml": f"{MESH}---\n{route}"})
    proc = run("check", "a.yaml", "--fix", "--select", "weights-sum", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr + proc.stdout
    assert (tmp_path / "a.yaml").read_text() == f"{MESH}---\n" + route.replace("weight: 80", "weight: 89").replace(
        "            10, port", "            11, port")
