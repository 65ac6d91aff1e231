"""An integer beyond Python's 4,300-digit conversion limit is a diagnostic at its place, never a crash, in every
place one can be written (issue: reliability under hostile input): a port and a weight (YAML and JSON), a
CloudFormation number written as a string, a parameter's default, a --parameter value, a Fn::Select index,
a build option. Config options: tests/cli/test_gate_hostile.py (hostile config and pyproject)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from meshlint import api
from meshlint.cli import report
from meshlint.cli.options import Format
from meshlint.normalize import InputOptions
from tests.cli.gate_support import run
from tests.helpers import check_in, golden_lines, watchdog

HUGE = "9" * 5000
TOO_BIG = "a number of 5,000 digits is out of range (App Mesh integers are 64-bit: at most 20 digits)"


def _route(weight: str) -> str:
    return ("meshName: m\nvirtualRouterName: r\nrouteName: x\nspec:\n  httpRoute:\n    match: {prefix: /}\n"
            f"    action:\n      weightedTargets:\n        - virtualNode: a\n          weight: {weight}\n")


def _json_route(weight: str) -> str:
    return ('{"meshName": "m", "virtualRouterName": "r", "routeName": "x", "spec": {"httpRoute": {\n'
            '  "match": {"prefix": "/"},\n  "action": {"weightedTargets": [{"virtualNode": "a", "weight": '
            f"{weight}}}]}}}}}}}}\n")


def _json_node(port: str) -> str:
    return ('{"meshName": "m", "virtualNodeName": "n", "spec": {\n  "listeners": [{"portMapping": {"port": '
            f'{port}, "protocol": "http"}}}}]}}}}\n')


def _template(port: str, parameters: str = "") -> str:
    return (f"{parameters}Resources:\n  M:\n    Type: AWS::AppMesh::Mesh\n    Properties: {{MeshName: m}}\n"
            "  N:\n    Type: AWS::AppMesh::VirtualNode\n    Properties:\n      MeshName: m\n      VirtualNodeName: n\n"
            f"      Spec:\n        Listeners: [{{PortMapping: {{Port: {port}, Protocol: http}}}}]\n")


PORT_SCHEMA = "error[schema] spec.listeners[0].portMapping.port must be an integer, not the string '9999"
WEIGHT_SCHEMA = "error[schema] spec.httpRoute.action.weightedTargets[0].weight must be an integer, not the string"


@pytest.mark.parametrize(("name", "text", "expected"), [
    ("w.yaml", _route(HUGE), [f"w.yaml:10:19: error[parse-error] {TOO_BIG}", f"w.yaml:10:19: {WEIGHT_SCHEMA}"]),
    ("w.json", _json_route(HUGE), [f"w.json:3:65: error[parse-error] {TOO_BIG}", f"w.json:3:65: {WEIGHT_SCHEMA}"]),
    ("p.json", _json_node(HUGE), [f"p.json:2:42: error[parse-error] {TOO_BIG}", f"p.json:2:42: {PORT_SCHEMA}"]),
    # JSON that does not parse either: the syntax error is reported, the number never crashes the fallback
    ("broken.json", _json_node(HUGE).rstrip()[:-1] + "\n", ["broken.json:3:1: error[parse-error] not valid YAML/JSON"]),
    # CloudFormation writes numbers as strings too: the string is not coerced to an integer it cannot be
    ("quoted.yaml", _template(f"'{HUGE}'"), [f"quoted.yaml:11:42: {PORT_SCHEMA}"]),
    ("default.yaml", _template("!Ref P", f"Parameters: {{P: {{Type: Number, Default: {HUGE}}}}}\n"),
     [f"default.yaml:1:41: error[parse-error] {TOO_BIG}", f"default.yaml:12:42: {PORT_SCHEMA}"]),
    ("default-string.yaml", _template("!Ref P", f"Parameters: {{P: {{Type: Number, Default: '{HUGE}'}}}}\n"),
     [f"default-string.yaml:12:42: {PORT_SCHEMA}"]),
    ("select.json", json.dumps({"Resources": {"M": {"Type": "AWS::AppMesh::Mesh", "Properties": {
        "MeshName": {"Fn::Select": [int(HUGE[:20]), ["a"]]}}}}}).replace(HUGE[:20], HUGE),
     [f"select.json:1:95: error[parse-error] {TOO_BIG}"]),
], ids=["yaml-weight", "json-weight", "json-port", "json-malformed", "cfn-quoted-port", "cfn-parameter-default",
        "cfn-parameter-default-string", "cfn-json-select-index"])
def test_a_5000_digit_integer_is_a_diagnostic_at_its_place(tmp_path: Path, name: str, text: str,
                                                           expected: list[str]) -> None:
    (tmp_path / name).write_text(text)
    with watchdog(60):
        result = check_in(tmp_path, [name])
        lines = [line for line in golden_lines(result.diagnostics) if "[parse-error]" in line or "[schema]" in line]
        for fmt in Format:  # a number that long is never converted to an int or printed as one, in any format
            assert report.render(result, fmt)
    assert len(lines) == len(expected), lines
    assert all(line.startswith(want) for line, want in zip(lines, expected, strict=True)), lines


def test_a_5000_digit_parameter_value_is_a_schema_error_not_a_crash(tmp_path: Path) -> None:
    (tmp_path / "t.yaml").write_text(_template("!Ref P", "Parameters: {P: {Type: Number, Default: '8080'}}\n"))
    with watchdog(60):
        result = api.check([str(tmp_path / "t.yaml")], inputs=InputOptions(parameters={"P": HUGE}))
    assert [(d.rule, d.line, d.message[:len(PORT_SCHEMA) - 14]) for d in result.diagnostics] == [
        ("schema", 12, PORT_SCHEMA[14:])]


def test_a_5000_digit_port_in_a_build_option_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "m.yaml").write_text("meshName: m\nspec: {}\n")
    proc = run("build", "m.yaml", "--out", "out", "--stats-sink", "statsd", "--stats-sink-address",
               f"127.0.0.1:{HUGE}", cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr == ("meshlint: error: build options: stats_sink_address must be host:port, got "
                           "'127.0.0.1:999999999999999999999999999999...'\n")
    assert not (tmp_path / "out").exists()
