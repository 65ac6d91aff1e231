"""The App Mesh metrics files of every golden case: promtool accepts the rules and the CloudWatch agent's scrape
configuration, and both name every App Mesh metric (README's table is checked against the same list)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

from meshlint.compile.envoy import CompileOptions
from meshlint.compile.metric_sources import METRICS, QUANTILES, cloudwatch_name, prometheus_name
from meshlint.compile.metrics import AGENT_FILE, AGENT_PROMETHEUS_FILE, RULES_FILE
from tests.compile.helpers import CASE_NAMES, CASES, REPO, metrics_files
from tests.e2e.prometheus import promtool_check_config, promtool_check_rules

APP_MESH_METRICS = {  # https://docs.aws.amazon.com/app-mesh/latest/userguide/metrics.html#metrics-extension
    "ActiveConnectionCount", "NewConnectionCount", "ProcessedBytes", "RequestCount", "GrpcRequestCount",
    "TargetProcessedBytes", "HTTPCode_Target_2XX_Count", "HTTPCode_Target_3XX_Count", "HTTPCode_Target_4XX_Count",
    "HTTPCode_Target_5XX_Count", "RequestCountPerTarget", "TargetResponseTime",
}


def _write_all(out: Path) -> list[Path]:
    written = []
    for case in CASE_NAMES:
        for artifact in metrics_files(CASES / case):
            path = out / case / artifact.path
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(artifact.content)
            written.append(path)
    return written


def test_promtool_accepts_every_rules_file(tmp_path: Path) -> None:
    rules = [p for p in _write_all(tmp_path) if p.name == RULES_FILE]
    assert len(rules) >= len(CASE_NAMES)
    checked = promtool_check_rules(*rules)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.count("SUCCESS: 17 rules found") == len(rules), checked.stdout


def test_promtool_accepts_every_cloudwatch_agent_scrape_config(tmp_path: Path) -> None:
    configs = [p for p in _write_all(tmp_path) if p.name == AGENT_PROMETHEUS_FILE]
    assert configs
    for path in configs:
        checked = promtool_check_config(path)
        assert checked.returncode == 0, checked.stdout + checked.stderr


def test_every_app_mesh_metric_is_recorded_and_published() -> None:
    assert {m.name for m in METRICS} == APP_MESH_METRICS
    files = {a.path.name: a.content for a in metrics_files(CASES / "weighted-router")}
    rules = yaml.safe_load(files[RULES_FILE])["groups"][0]["rules"]
    recorded = {r["record"] for r in rules}
    assert recorded == {prometheus_name(m) for m in METRICS} | {
        "envoy_appmesh_TargetResponseTime_bucket", "envoy_appmesh_TargetResponseTime_sum",
        "envoy_appmesh_TargetResponseTime_count"}
    assert [r["labels"]["quantile"] for r in rules if "labels" in r] == list(QUANTILES)
    assert all('Mesh="demo"' in r["expr"] for r in rules)
    agent = json.loads(files[AGENT_FILE])
    declarations = agent["logs"]["metrics_collected"]["prometheus"]["emf_processor"]["metric_declaration"]
    for metric in METRICS:
        name = cloudwatch_name(metric)
        assert sum(any(re.fullmatch(s, name) for s in d["metric_selectors"]) for d in declarations) == 1, name
    scrape = yaml.safe_load(files[AGENT_PROMETHEUS_FILE])["scrape_configs"][0]
    replaced = {r.get("replacement") for r in scrape["metric_relabel_configs"]}
    assert {cloudwatch_name(m) for m in METRICS} <= replaced
    assert scrape["metric_relabel_configs"][-1]["action"] == "keep"


def test_files_follow_the_build_options() -> None:
    options = CompileOptions(egress_port=16001, admin_address="127.0.0.9", admin_port=19901)
    files = {a.path.as_posix(): a.content.decode() for a in metrics_files(CASES / "weighted-router", options)}
    assert sorted(files) == sorted([f"demo/{AGENT_FILE}", f"demo/{RULES_FILE}", f"demo/{AGENT_PROMETHEUS_FILE}"])
    assert '".*_16001"' in files[f"demo/{RULES_FILE}"]
    assert "127.0.0.9:19901" in files[f"demo/{AGENT_PROMETHEUS_FILE}"]
    assert metrics_files(CASES / "weighted-router", CompileOptions(appmesh_metrics=False)) == []


def test_readme_maps_every_metric_to_its_source() -> None:
    readme = (REPO / "README.md").read_text()
    for metric in METRICS:
        row = f"| `{cloudwatch_name(metric)}` / `{prometheus_name(metric)}` |"
        assert row in readme, row
        assert metric.summary in readme, metric.summary
