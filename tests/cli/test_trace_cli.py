"""`meshlint trace`: the command line (exit codes, usage errors without a traceback, both formats). The
process itself runs for the exit codes; the usage errors go through typer's runner, in this process."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import Result

from tests.helpers import REPO

SHOP = str(REPO / "examples" / "shop")


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "meshlint", "trace", *args], capture_output=True, text=True,
                          timeout=120, cwd=REPO)


def test_delivered_is_exit_0_and_the_tree_is_printed() -> None:
    proc = run(SHOP, "--from", "web", "--url", "http://orders.shop.local:8080/api/orders", "-H", "x-canary: true")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    assert "✓ orders/canary-header [priority 1] prefix /, x-canary exact 'true'" in proc.stdout
    assert proc.stdout.endswith("result: orders-v2 100%\n")


def test_dropped_is_exit_1_and_json_says_why() -> None:
    proc = run(SHOP, "--from", "shop/web", "--url", "http://orders.shop.local/", "--format", "json")
    assert proc.returncode == 1, proc.stderr
    drop = json.loads(proc.stdout)["outcome"]["drop"]
    assert drop["status"] is None
    assert drop["help"] == "orders.shop.local is served on port 8080: use http://orders.shop.local:8080/"


@pytest.mark.parametrize(("args", "message"), [
    (("--from", "nobody", "--url", "http://x/"), "--from 'nobody': no such virtual node or gateway (known: "),
    (("--from", "web", "--url", "orders.shop.local/x"), "--url 'orders.shop.local/x': expected http://HOST"),
    (("--from", "web", "--url", "http://x:0/"), "--url 'http://x:0/': the port is not a number"),
    (("--from", "web", "--url", "http://x/", "-H", "x-canary true"), "-H 'x-canary true': expected 'Name: value'"),
    (("--from", "web", "--url", "http://x/", "-H", "x-a: \x01"), "-H 'x-a: \\x01': the value holds a control character"),
    (("--from", "web", "--url", "http://x/", "-X", "GET /"), "-X 'GET /': not an HTTP method"),
    (("--from", "web", "--url", "http://x/a", "--grpc", "a.B/C"), "--grpc sets the path (/a.B/C)"),
    (("--from", "web", "--url", "http://x/", "--grpc", "nomethod"), "--grpc 'nomethod': expected SERVICE/METHOD"),
])
def test_usage_errors_exit_2_with_one_clear_line(args: tuple[str, ...], message: str) -> None:
    result = invoke(SHOP, *args)
    assert result.exit_code == 2
    assert result.exception is None or isinstance(result.exception, SystemExit)  # no traceback
    assert result.stdout == ""
    assert result.stderr.startswith(f"meshlint: error: {message}")
    assert result.stderr.count("\n") == 1


def invoke(*args: str) -> Result:
    from typer.testing import CliRunner

    from meshlint.cli import app

    return CliRunner().invoke(app, ["trace", *args])


def test_missing_path_is_a_usage_error(tmp_path: Path) -> None:
    result = invoke(str(tmp_path / "nowhere"), "--from", "web", "--url", "http://x/")
    assert result.exit_code == 2
    assert result.stderr == f"meshlint: error: {tmp_path / 'nowhere'}: no such file or folder\n"


def test_errors_in_the_input_are_said_on_stderr(tmp_path: Path) -> None:
    (tmp_path / "m.yaml").write_text("meshName: m\nspec: {}\n---\nmeshName: m\nvirtualNodeName: a\n"
                                     "spec: {backends: [{virtualService: {virtualServiceName: missing.m.local}}]}\n")
    result = invoke(str(tmp_path), "--from", "a", "--url", "http://missing.m.local/")
    assert result.exit_code == 1
    assert "no egress filter chain for port 80" in result.stdout
    assert "check reports" in result.stderr and "build writes no bootstrap" in result.stderr
