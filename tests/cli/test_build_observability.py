"""`meshlint build`'s observability options as a user gives them (issue #17): flags, `build:` keys, --help, the
App Mesh metrics files written beside each topology, and mistakes reported as usage errors.

Flags and keys are mapped in process (cheap); three real builds prove the whole path."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from meshlint import api
from meshlint.cli.build import _build_flags
from meshlint.compile.envoy.options import CompileOptions
from meshlint.config import load_settings
from meshlint.load.files import UsageError
from tests.cli.test_build import run
from tests.e2e.prometheus import promtool_check_rules
from tests.helpers import REPO
from tests.support.envoy import assert_envoy_accepts

CASE = REPO / "fixtures" / "compile" / "weighted-router" / "input"
FLAGS = ("--xray-sampling-rate", "--xray-fixed-target", "--xray-sampling-rule-manifest", "--xray-segment-name",
         "--no-listener-stats-tags", "--no-mesh-stats-tags", "--no-stats-tags", "--no-appmesh-metrics")
MANIFEST = {"version": 2, "default": {"fixed_target": 0, "rate": 0.25}, "rules": []}
METRICS_FILES = ("appmesh-metrics.rules.yaml", "cloudwatch-agent.json", "cloudwatch-agent-prometheus.yaml")
IGNORE = "ignore: [missing-tls, unreachable-node]\n"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    (tmp_path / "mesh").mkdir()
    (tmp_path / "mesh" / "mesh.yaml").write_text((CASE / "mesh.yaml").read_text())
    (tmp_path / ".meshlint.yaml").write_text(IGNORE)
    return tmp_path


def options(flags: dict[str, object], config: Path | None = None) -> CompileOptions:
    """What `build` makes of these flags (names without `--`) on top of a config file."""
    settings = load_settings(config, ["missing-tls", "unreachable-node"])
    return api.compile_options(settings, _build_flags(flags))


def front(out: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((out / "demo/virtual-nodes/front.json").read_text())
    return document


def xray(document: dict[str, Any]) -> dict[str, Any]:
    hcm = document["static_resources"]["listeners"][-1]["filter_chains"][0]["filters"][0]["typed_config"]
    config: dict[str, Any] = hcm["tracing"]["provider"]["typed_config"]
    return config


def tags(document: dict[str, Any]) -> list[str]:
    return [t["tag_name"] for t in document.get("stats_config", {}).get("stats_tags", [])]


def test_help_lists_the_options() -> None:
    proc = run("build", "--help", cwd=REPO)
    assert proc.returncode == 0
    text = " ".join(proc.stdout.split())
    for flag in FLAGS:
        assert flag in text, flag
    assert "appmesh-metrics.rules.yaml" in text


def test_flags(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sampling.json").write_text(json.dumps(MANIFEST))
    got = options({"tracing": "xray", "xray-sampling-rule-manifest": "sampling.json", "xray-segment-name": "x-{name}",
                   "no-listener-stats-tags": True, "no-mesh-stats-tags": True, "no-appmesh-metrics": True})
    assert got.xray_sampling_rule_manifest is not None and json.loads(got.xray_sampling_rule_manifest) == MANIFEST
    assert (got.xray_segment_name, got.listener_stats_tags, got.mesh_stats_tags, got.appmesh_metrics) == (
        "x-{name}", False, False, False)
    got = options({"tracing": "xray", "xray-sampling-rate": 1.0, "xray-fixed-target": 3, "no-stats-tags": True})
    assert (got.xray_sampling_rate, got.xray_fixed_target, got.stats_tags) == (1.0, 3, False)
    assert options({}) == CompileOptions()


def test_config_keys_read_the_manifest_beside_the_config(tmp_path: Path) -> None:
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "sampling.json").write_text(json.dumps(MANIFEST))
    config = tmp_path / "conf" / ".meshlint.yaml"
    config.write_text(IGNORE + "build:\n  tracing: xray\n  xray-sampling-rule-manifest: sampling.json\n"
                      "  xray-segment-name: '{mesh}-{name}'\n  xray-fixed-target: 2\n  no-mesh-stats-tags: true\n"
                      "  no-listener-stats-tags: true\n  no-appmesh-metrics: true\n")
    with pytest.raises(UsageError, match="not both"):  # the manifest's default rule sets the fixed target
        options({}, config)
    config.write_text(config.read_text().replace("  xray-fixed-target: 2\n", ""))
    got = options({"xray-segment-name": "flag-wins"}, config)
    assert got.xray_sampling_rule_manifest is not None and json.loads(got.xray_sampling_rule_manifest) == MANIFEST
    assert (got.xray_segment_name, got.mesh_stats_tags, got.listener_stats_tags, got.appmesh_metrics) == (
        "flag-wins", False, False, False)


def test_build_with_observability_flags(repo: Path) -> None:
    """One real build: X-Ray sampling and name in the bootstraps, App Mesh's default tags, the metrics files
    beside the topology (promtool accepts the rules); Envoy accepts the bootstraps."""
    (repo / "sampling.json").write_text(json.dumps(MANIFEST))
    proc = run("build", "mesh", "--out", "envoy", "--tracing", "xray", "--xray-sampling-rule-manifest", "sampling.json",
               "--xray-segment-name", "shop/{name}", "--no-mesh-stats-tags", cwd=repo)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = repo / "envoy"
    config = xray(front(out))
    assert json.loads(config["sampling_rule_manifest"]["inline_string"]) == MANIFEST
    assert config["segment_name"] == "shop/front"
    assert tags(front(out)) == ["TargetVirtualNode", "TargetVirtualService", "Mesh", "VirtualNode",
                                "appmesh.listener_protocol", "appmesh.listener_port", "envoy_rds_route_config"]
    assert all((out / "demo" / name).is_file() for name in METRICS_FILES)
    checked = promtool_check_rules(out / "demo" / METRICS_FILES[0])
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert_envoy_accepts(sorted(out.glob("demo/virtual-*/*.json")))


def test_without_metrics_the_files_go(repo: Path) -> None:
    assert run("build", "mesh", "--out", "envoy", cwd=repo).returncode == 0
    assert all((repo / "envoy" / "demo" / name).is_file() for name in METRICS_FILES)
    proc = run("build", "mesh", "--out", "envoy", "--no-stats-tags", "--no-appmesh-metrics", cwd=repo)
    assert proc.returncode == 0, proc.stderr
    assert "stats_config" not in front(repo / "envoy") and "header_mutation" not in json.dumps(front(repo / "envoy"))
    assert not any((repo / "envoy" / "demo" / name).exists() for name in METRICS_FILES)  # meshlint's: removed
    assert f"({len(METRICS_FILES)} removed)" in proc.stderr


@pytest.mark.parametrize(("args", "message"), [
    (["--tracing", "xray", "--xray-sampling-rate", "1.5"], "--xray-sampling-rate: xray_sampling_rate must be"),
    (["--xray-sampling-rate", "0.5"], "need tracing: xray"),
    (["--tracing", "xray", "--xray-sampling-rule-manifest", "missing.json"], "--xray-sampling-rule-manifest: cannot read"),
    (["--tracing", "xray", "--xray-sampling-rule-manifest", "v1.json"], "must have version 2"),
])
def test_bad_observability_flags_are_usage_errors(repo: Path, args: list[str], message: str) -> None:
    (repo / "v1.json").write_text('{"version": 1, "default": {"fixed_target": 1, "rate": 0.05}, "rules": []}')
    proc = run("build", "mesh", "--out", "envoy", *args, cwd=repo)
    assert proc.returncode == 2, proc.stderr
    assert message in proc.stderr, proc.stderr
    assert not (repo / "envoy").exists()


@pytest.mark.parametrize(("flags", "message"), [
    ({"tracing": "xray", "xray-fixed-target": -1}, "--xray-fixed-target: xray_fixed_target must be"),
    ({"tracing": "xray", "xray-segment-name": "{node}"}, "--xray-segment-name: xray_segment_name '{node}' may only"),
    ({"tracing": "zipkin", "xray-segment-name": "x"}, "build options: the X-Ray sampling and segment name options"),
])
def test_bad_flag_values(flags: dict[str, object], message: str) -> None:
    with pytest.raises(UsageError) as err:
        options(flags)
    assert message in str(err.value)
