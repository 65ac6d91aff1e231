"""The check command as scripts and CI see it: exit codes, formats, options, config errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import REPO

BAD = "meshName: shop\nspec: {}\n---\nmeshName: shop\nvirtualRouterName: r\nrouteName: c\nspec:\n  httpRoute:\n" \
      "    match: {prefix: /}\n    action:\n      weightedTargets:\n        - {virtualNode: a, weight: 80}\n" \
      "        - {virtualNode: b, weight: 10}\n"


def run(*args: str, cwd: Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "meshlint", *args], cwd=cwd, capture_output=True, text=True,
                          input=stdin, timeout=60)


@pytest.fixture
def bad_mesh(tmp_path: Path) -> Path:
    (tmp_path / "orders.yaml").write_text(BAD)
    return tmp_path


def test_example_mesh_is_clean() -> None:
    proc = run("check", "examples/shop", cwd=REPO)
    assert proc.returncode == 0, proc.stdout
    assert proc.stdout.strip() == "5 files, 14 resources: 0 errors, 0 warnings, 0 infos"


def test_json_report_matches_the_contract(bad_mesh: Path) -> None:
    proc = run("check", ".", "--format", "json", "--ignore", "unreachable-node", cwd=bad_mesh)
    assert proc.returncode == 1
    report = json.loads(proc.stdout)
    assert set(report) == {"diagnostics", "summary"}
    assert report["summary"] == {"files": 1, "resources": 2, "errors": 4, "warnings": 0, "infos": 0}
    weights = next(d for d in report["diagnostics"] if d["rule"] == "weights-sum")
    assert {k: weights[k] for k in ("rule", "code", "severity", "message", "path", "line", "column", "resource")} == {
        "rule": "weights-sum", "code": "ML004", "severity": "error",
        "message": "weights of route 'r/c' add up to 90, not 100",
        "path": "orders.yaml", "line": 12, "column": 9,
        "resource": {"kind": "Route", "mesh": "shop", "name": "r/c"},
    }
    assert len(weights["fingerprint"]) == 16


def test_text_report_has_excerpt_and_help(bad_mesh: Path) -> None:
    proc = run("check", "orders.yaml", "--select", "weights-sum", cwd=bad_mesh)
    assert proc.returncode == 1
    assert proc.stdout.splitlines()[:5] == [
        "orders.yaml:12:9: error[weights-sum] weights of route 'r/c' add up to 90, not 100",
        "   |",
        "12 |         - {virtualNode: a, weight: 80}",
        "   |         ^",
        "   = help: App Mesh reads weights as relative and would split a 88.9%, b 11.1%; write a: 89, b: 11 to say so",
    ]
    assert "\x1b[" not in proc.stdout  # no colour when not on a terminal


def test_fail_on_and_severity_config(bad_mesh: Path) -> None:
    (bad_mesh / ".meshlint.yaml").write_text("rules:\n  weights-sum: warning\n  dangling-reference: off\n"
                                             "ignore: [unreachable-node]\n")
    assert run("check", ".", cwd=bad_mesh).returncode == 0
    proc = run("check", ".", "--fail-on", "warning", cwd=bad_mesh)
    assert proc.returncode == 1
    assert "warning[weights-sum]" in proc.stdout and "dangling-reference" not in proc.stdout


def test_entry_point_option(tmp_path: Path) -> None:
    (tmp_path / "m.yaml").write_text("meshName: shop\nspec: {}\n---\nmeshName: shop\nvirtualNodeName: lb-fed\n"
                                     "spec: {}\n")
    assert "unreachable-node" in run("check", ".", "--fail-on", "warning", cwd=tmp_path).stdout
    proc = run("check", ".", "--fail-on", "warning", "--entry-point", "shop/lb-fed", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["check", "nowhere"], "meshlint: error: nowhere: no such file or folder"),
        (["check", ".", "--select", "weights-sum,weight-sum"], "unknown rule 'weight-sum'; did you mean 'weights-sum'?"),
        (["check", ".", "--config", "missing.yaml"], "missing.yaml: config file not found"),
        (["explain", "weight-sum"], "unknown rule 'weight-sum'; did you mean 'weights-sum'?"),
    ],
)
def test_usage_errors_exit_2(bad_mesh: Path, args: list[str], message: str) -> None:
    proc = run(*args, cwd=bad_mesh)
    assert proc.returncode == 2
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr


def test_unknown_option_exits_2(bad_mesh: Path) -> None:
    assert run("check", "--frmat", "json", cwd=bad_mesh).returncode == 2


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ("rulez: {}\n", ".meshlint.yaml:1:1: unknown key 'rulez'; did you mean 'rules'?"),
        ("rules:\n  weights-summ: error\n", ".meshlint.yaml:2:3: unknown rule 'weights-summ'; did you mean 'weights-sum'?"),
        ("rules:\n  weights-sum: fatal\n", ".meshlint.yaml:2:16: unknown severity 'fatal' (use error, warning or info); or off"),
        ("entry-points: shop/web\n", ".meshlint.yaml:1:15: entry-points must be a list of strings"),
        ("rules: [\n", ".meshlint.yaml:2:1: not valid YAML/JSON"),
    ],
)
def test_bad_config_is_a_usage_error_with_position(bad_mesh: Path, config: str, message: str) -> None:
    (bad_mesh / ".meshlint.yaml").write_text(config)
    proc = run("check", ".", cwd=bad_mesh)
    assert proc.returncode == 2
    assert message in proc.stderr


def test_stdin(bad_mesh: Path) -> None:
    proc = run("check", "-", "--select", "weights-sum", "--format", "json", cwd=bad_mesh, stdin=BAD)
    assert [d["path"] for d in json.loads(proc.stdout)["diagnostics"]] == ["<stdin>"]


def test_rules_lists_the_catalogue(bad_mesh: Path) -> None:
    lines = run("rules", cwd=bad_mesh).stdout.splitlines()
    assert lines[3].split()[:3] == ["ML004", "weights-sum", "error"]


def test_help_teaches(bad_mesh: Path) -> None:
    out = run("check", "--help", cwd=bad_mesh).stdout
    for option in ("--format", "--select", "--ignore", "--fail-on", "--entry-point", "--config"):
        assert option in out


def test_version_is_printed(tmp_path: Path) -> None:
    from meshlint import __version__

    proc = run("--version", cwd=tmp_path)
    assert (proc.returncode, proc.stdout) == (0, f"meshlint {__version__}\n")


def test_the_caret_stays_under_the_value_on_a_line_with_tabs(tmp_path: Path) -> None:
    (tmp_path / "vn.yaml").write_text("meshName: shop\nvirtualNodeName: a\n"
                                      "spec: {listeners: [{portMapping: {protocol: http,\tport: 99999}}]}\n")
    lines = run("check", "vn.yaml", "--select", "schema", cwd=tmp_path).stdout.splitlines()
    source, caret = lines[2], lines[3]
    assert source.startswith("3 | ") and caret.startswith("  | ")
    assert caret[4:].index("^") == source[4:].index("99999")  # the caret line repeats the tab
    assert caret[4:].count("\t") == 1


def test_statistics_count_each_rule(bad_mesh: Path) -> None:
    lines = run("check", ".", "--statistics", cwd=bad_mesh).stdout.splitlines()
    assert lines[0].split() == ["3", "ML003", "dangling-reference", "error"]  # a, b and the router
    assert lines[-1] == "1 file, 2 resources: 4 errors, 0 warnings, 0 infos"
    report = json.loads(run("check", ".", "--statistics", "--format", "json", cwd=bad_mesh).stdout)
    assert {r["rule"]: r["count"] for r in report["statistics"]}["weights-sum"] == 1
