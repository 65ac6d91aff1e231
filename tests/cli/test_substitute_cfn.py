"""--substitute-env never rewrites a CloudFormation `!Sub "${Domain}"` (issue: reliability part two, 5): an
environment variable named like a template parameter changes nothing the template's Fn::Sub makes, neither
in what `check` reports nor in the bootstraps `build` writes; placeholders outside Fn::Sub are filled in."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.unit.test_substitute import TEMPLATE as UNIT_TEMPLATE

# The unit tests' template, with the service web calls by the name Fn::Sub makes of the Domain parameter.
TEMPLATE = UNIT_TEMPLATE.replace("  Web:\n", """  ApiService:
    Type: AWS::AppMesh::VirtualService
    Properties:
      MeshName: shop
      VirtualServiceName: !Sub "api.${Domain}"
      Spec: {Provider: {VirtualNode: {VirtualNodeName: api}}}
  Web:
""") + "        Backends: [{VirtualService: {VirtualServiceName: api.example.com}}]\n"
HOSTILE = "evil.example"
QUIET = ("--entry-point", "web", "--ignore", "missing-tls")


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "Domain": HOSTILE, "Zone": HOSTILE, "MESH": "shop"}
    return subprocess.run([sys.executable, "-m", "meshlint", *args, "--substitute-env", *QUIET], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


def test_check_resolves_fn_sub_by_the_template_alone(tmp_path: Path) -> None:
    """Web calls the service by the name the template's Fn::Sub makes: were `${Domain}` taken from the
    environment, the service would be api.evil.example and web's backend a dangling reference."""
    (tmp_path / "t.yaml").write_text(TEMPLATE)
    proc = _run("check", "t.yaml", "--format", "json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert json.loads(proc.stdout) == {"diagnostics": [], "summary": {
        "files": 1, "resources": 4, "errors": 0, "warnings": 0, "infos": 0}}  # ${MESH} was filled in: one mesh
    assert HOSTILE not in proc.stdout + proc.stderr


def test_build_writes_what_the_template_says_not_the_environment(tmp_path: Path) -> None:
    (tmp_path / "t.yaml").write_text(TEMPLATE)
    proc = _run("build", "t.yaml", "--out", "out", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    written = {p.relative_to(tmp_path / "out").as_posix(): p.read_text() for p in (tmp_path / "out").rglob("*")
               if p.is_file()}
    assert "shop/virtual-nodes/web.json" in written
    assert not [name for name, text in written.items() if HOSTILE in text]
    assert "api.example.com" in written["shop/virtual-nodes/web.json"]  # the parameter's default, as CFN would
    assert _run("build", "t.yaml", "--out", "out", "--check", cwd=tmp_path).returncode == 0
