"""Shared by the tests/cli/test_gate_*.py tests: run the CLI, and small meshes to run it on."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

MESH = "meshName: shop\nspec: {}\n"
NODE = """meshName: shop
virtualNodeName: {name}
tags: [{{key: "meshlint:entry-point", value: "true"}}]
spec:
  listeners:
    - portMapping: {{port: 8080, protocol: http}}
  serviceDiscovery: {{dns: {{hostname: {name}.shop.local}}}}
"""
ROUTE = """meshName: shop
virtualRouterName: orders
routeName: canary
spec:
  httpRoute:
    match: {prefix: /}
    action:
      weightedTargets:
        # the canary step: v2 gets a tenth
        - {virtualNode: v1, weight: 80}   # stable
        - virtualNode: v2
          weight: 10
"""


def run(*args: str, cwd: Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "meshlint", *args], cwd=cwd, capture_output=True, text=True,
                          input=stdin, timeout=60)


def write(folder: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return folder
