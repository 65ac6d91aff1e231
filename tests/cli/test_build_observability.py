"""`meshlint build`'s observability options as a user gives them (issue #17): flags, `build:` keys, --help, the
App Mesh metrics files written beside each topology, and mistakes reported as usage errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.cli.test_build import run
from tests.e2e.prometheus import promtool_check_rules
from tests.helpers import REPO
from tests.support.envoy import assert_envoy_accepts

CASE = REPO / "fixtures" / "compile" / "weighted-router" / "input"
FLAGS = ("--xray-sampling-rate", "--xray-fixed-target", "--xray-sampling-rule-manifest", "--xray-segment-name",
         "--no-listener-stats-tags", "--no-mesh-stats-tags", "--no-stats-tags", "--no-appmesh-metrics")
MANIFEST = {"version": 2, "default": {"fixed_target": 0, "rate": 0.25}, "rules": []}


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    (tmp_path / "mesh").mkdir()
    (tmp_path / "mesh" / "mesh.yaml").write_text((CASE / "mesh.yaml").read_text())
    (tmp_path / ".meshlint.yaml").write_text("ignore: [missing-tls, unreachable-node]\n")
    return tmp_path


def front(repo: Path, out: str = "envoy") -> dict[str, Any]:
    document: dict[str, Any] = json.loads((repo / out / "demo/virtual-nodes/front.json").read_text())
    return document


def xray(document: dict[str, Any]) -> dict[str, Any]:
    text = json.dumps(document)
    assert "envoy.tracers.xray" in text
    listeners = document["static_resources"]["listeners"]
    hcm = listeners[-1]["filter_chains"][0]["filters"][0]["typed_config"]
    config: dict[str, Any] = hcm["tracing"]["provider"]["typed_config"]
    return config


def test_help_lists_the_options() -> None:
    proc = run("build", "--help", cwd=REPO)
    assert proc.returncode == 0
    text = " ".join(proc.stdout.split())
    for flag in FLAGS:
        assert flag in text, flag
    assert "appmesh-metrics.rules.yaml" in text


def test_xray_flags(repo: Path) -> None:
    (repo / "sampling.json").write_text(json.dumps(MANIFEST))
    proc = run("build", "mesh", "--out", "envoy", "--tracing", "xray", "--xray-sampling-rule-manifest", "sampling.json",
               "--xray-segment-name", "shop/{name}", cwd=repo)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    config = xray(front(repo))
    assert json.loads(config["sampling_rule_manifest"]["inline_string"]) == MANIFEST
    assert config["segment_name"] == "shop/front"
    proc = run("build", "mesh", "--out", "envoy2", "--tracing", "xray", "--xray-sampling-rate", "1",
               "--xray-fixed-target", "3", cwd=repo)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(xray(front(repo, "envoy2"))["sampling_rule_manifest"]["inline_string"]) == {
        "version": 2, "default": {"fixed_target": 3, "rate": 1.0}, "rules": []}
    assert_envoy_accepts(sorted([*repo.glob("envoy/demo/virtual-*/*.json"), *repo.glob("envoy2/demo/virtual-*/*.json")]))


def test_xray_config_keys_read_the_manifest_beside_the_config(repo: Path) -> None:
    (repo / "conf").mkdir()
    (repo / "conf" / "sampling.json").write_text(json.dumps(MANIFEST))
    (repo / "conf" / ".meshlint.yaml").write_text(
        "ignore: [missing-tls, unreachable-node]\nbuild:\n  tracing: xray\n"
        "  xray-sampling-rule-manifest: sampling.json\n  xray-segment-name: '{mesh}-{name}'\n")
    proc = run("build", "mesh", "--out", "envoy", "--config", "conf/.meshlint.yaml", cwd=repo)
    assert proc.returncode == 0, proc.stderr
    config = xray(front(repo))
    assert json.loads(config["sampling_rule_manifest"]["inline_string"]) == MANIFEST
    assert config["segment_name"] == "demo-front"


def tags(document: dict[str, Any]) -> list[str]:
    return [t["tag_name"] for t in document.get("stats_config", {}).get("stats_tags", [])]


def test_stats_tag_and_metrics_flags(repo: Path) -> None:
    assert run("build", "mesh", "--out", "envoy", cwd=repo).returncode == 0
    everything = tags(front(repo))
    assert {"appmesh.mesh", "appmesh.listener_port", "TargetVirtualService", "Mesh"} <= set(everything)
    rules = repo / "envoy" / "demo" / "appmesh-metrics.rules.yaml"
    checked = promtool_check_rules(rules)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert (repo / "envoy" / "demo" / "cloudwatch-agent.json").is_file()

    assert run("build", "mesh", "--out", "envoy", "--no-mesh-stats-tags", cwd=repo).returncode == 0
    assert not {"appmesh.mesh", "appmesh.virtual_node"} & set(tags(front(repo)))
    assert run("build", "mesh", "--out", "envoy", "--no-listener-stats-tags", cwd=repo).returncode == 0
    assert "appmesh.listener_port" not in tags(front(repo)) and "appmesh.mesh" in tags(front(repo))
    assert run("build", "mesh", "--out", "envoy", "--no-stats-tags", cwd=repo).returncode == 0
    assert not [t for t in tags(front(repo)) if t.startswith("appmesh.")]
    assert run("build", "mesh", "--out", "envoy", "--no-stats-tags", "--no-appmesh-metrics", cwd=repo).returncode == 0
    assert "stats_config" not in front(repo) and "header_mutation" not in json.dumps(front(repo))
    assert not rules.exists()  # the previous build's rules were meshlint's: removed


def test_config_keys_for_tags_and_metrics(repo: Path) -> None:
    (repo / ".meshlint.yaml").write_text("ignore: [missing-tls, unreachable-node]\nbuild:\n"
                                         "  no-mesh-stats-tags: true\n  no-appmesh-metrics: true\n")
    assert run("build", "mesh", "--out", "envoy", cwd=repo).returncode == 0
    assert tags(front(repo)) == ["appmesh.listener_protocol", "appmesh.listener_port", "envoy_rds_route_config"]


@pytest.mark.parametrize(("args", "message"), [
    (["--tracing", "xray", "--xray-sampling-rate", "1.5"], "--xray-sampling-rate: xray_sampling_rate must be"),
    (["--tracing", "xray", "--xray-fixed-target", "-1"], "--xray-fixed-target: xray_fixed_target must be"),
    (["--xray-sampling-rate", "0.5"], "need tracing: xray"),
    (["--tracing", "xray", "--xray-sampling-rule-manifest", "missing.json"], "--xray-sampling-rule-manifest: cannot read"),
    (["--tracing", "xray", "--xray-sampling-rule-manifest", "v1.json"], "must have version 2"),
    (["--tracing", "xray", "--xray-sampling-rule-manifest", "v1.json", "--xray-sampling-rate", "0.5"], "version 2"),
    (["--tracing", "xray", "--xray-segment-name", "{node}"], "may only use {mesh} and {name}"),
])
def test_bad_observability_options_are_usage_errors(repo: Path, args: list[str], message: str) -> None:
    (repo / "v1.json").write_text('{"version": 1, "default": {"fixed_target": 1, "rate": 0.05}, "rules": []}')
    proc = run("build", "mesh", "--out", "envoy", *args, cwd=repo)
    assert proc.returncode == 2, proc.stderr
    assert message in proc.stderr, proc.stderr
    assert not (repo / "envoy").exists()
