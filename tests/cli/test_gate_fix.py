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
