"""--baseline FILE: written on first use (exit 0); afterwards only new findings count, keyed on rule +
resource + JSON Pointer + message, so moving a resource inside its file keeps it known."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.gate_support import MESH, NODE, run, write


def test_baseline_lifecycle(tmp_path: Path) -> None:
    front, back = NODE.format(name="front"), NODE.format(name="back")
    write(tmp_path, {"mesh/a.yaml": f"{MESH}---\n{front}---\n{back}"})
    assert run("check", "mesh", cwd=tmp_path).returncode == 1

    first = run("check", "mesh", "--baseline", "known.json", cwd=tmp_path)
    assert first.returncode == 0
    assert "wrote known.json with 2 known findings" in first.stderr
    data = json.loads((tmp_path / "known.json").read_text())
    assert data["version"] == 1
    assert [(f["rule"], f["resource"]["name"], f["pointer"]) for f in data["findings"]] == [
        ("missing-tls", "back", "/spec/listeners/0"), ("missing-tls", "front", "/spec/listeners/0")]
    assert all("line" not in f for f in data["findings"])

    # move `back` above `front` and add a blank line or two: still known
    write(tmp_path, {"mesh/a.yaml": f"\n\n{MESH}---\n{back}---\n{front}"})
    again = run("check", "mesh", "--baseline", "known.json", "--format", "json", cwd=tmp_path)
    assert again.returncode == 0, again.stdout
    assert json.loads(again.stdout)["diagnostics"] == []
    assert "2 known findings in known.json not reported" in again.stderr

    # a new finding counts; a fixed one is noted so the file can shrink
    tls = "      tls: {mode: STRICT, certificate: {file: {certificateChain: /c.pem, privateKey: /k.pem}}}\n"
    fixed_back = back.replace("protocol: http}\n", "protocol: http}\n" + tls)
    write(tmp_path, {"mesh/a.yaml": f"{MESH}---\n{fixed_back}---\n{front}", "mesh/b.yaml": NODE.format(name="new")})
    new = run("check", "mesh", "--baseline", "known.json", "--format", "json", cwd=tmp_path)
    assert new.returncode == 1
    assert [(d["path"], d["rule"]) for d in json.loads(new.stdout)["diagnostics"]] == [("mesh/b.yaml", "missing-tls")]
    assert "1 finding in known.json no longer occurs" in new.stderr
    assert json.loads(new.stdout)["summary"]["errors"] == 1


def test_a_broken_baseline_is_a_usage_error(tmp_path: Path) -> None:
    write(tmp_path, {"a.yaml": MESH, "known.json": "{\"findings\": 3}"})
    proc = run("check", ".", "--baseline", "known.json", cwd=tmp_path)
    assert proc.returncode == 2
    assert "not a meshlint baseline" in proc.stderr
