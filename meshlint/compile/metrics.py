"""The App Mesh metrics as files beside each mesh's topology: Prometheus recording rules and a CloudWatch agent
configuration (compile/metric_sources.py says which Envoy stats carry each metric). Pure: no I/O here.

`<mesh>/appmesh-metrics.rules.yaml` records `envoy_appmesh_<Metric>` from Envoy's `/stats/prometheus`:
counters stay counters (sums over the series that carry them, by the metric's dimensions; rate() them),
TargetResponseTime is a histogram (`_bucket`, `_sum`, `_count`) plus its 0.5 / 0.9 / 0.99 quantiles over 5
minutes. Only series of that mesh (label `Mesh`) count, so the files of several meshes load side by side.
"""

from __future__ import annotations

import json
from pathlib import PurePosixPath
from typing import Any

import yaml

from meshlint.compile import Artifact, ValidatedMesh
from meshlint.compile.cloudwatch import agent_config, agent_prometheus_config
from meshlint.compile.envoy.names import mesh_folder
from meshlint.compile.envoy.options import CompileOptions
from meshlint.compile.metric_sources import METRICS, QUANTILES, RATE_WINDOW, Metric, matchers, prometheus_name

RULES_FILE = "appmesh-metrics.rules.yaml"
AGENT_FILE = "cloudwatch-agent.json"
AGENT_PROMETHEUS_FILE = "cloudwatch-agent-prometheus.yaml"


def compile_metrics(mesh: ValidatedMesh, options: CompileOptions) -> list[Artifact]:
    """Per mesh: the rules and the two CloudWatch agent files; nothing when the metrics are switched off."""
    if not options.appmesh_metrics:
        return []
    out: list[Artifact] = []
    for name in mesh.model.mesh_names():
        folder = PurePosixPath(mesh_folder(name))
        out.append(Artifact(folder / RULES_FILE, _yaml(RULES_HEADER.format(mesh=name), rules(name, options))))
        out.append(Artifact(folder / AGENT_FILE, (json.dumps(agent_config(name, options), indent=2,
                                                              sort_keys=True) + "\n").encode()))
        out.append(Artifact(folder / AGENT_PROMETHEUS_FILE,
                            _yaml(AGENT_HEADER.format(mesh=name), agent_prometheus_config(name, options))))
    return out


RULES_HEADER = """\
# App Mesh metrics (envoy.appmesh.*) of mesh {mesh}, recorded from Envoy's /stats/prometheus.
# Written by `meshlint build`; load with `rule_files:` and scrape every proxy's admin /stats/prometheus.
"""
AGENT_HEADER = """\
# Prometheus scrape configuration of the CloudWatch agent (cloudwatch-agent.json, prometheus_config_path) for
# mesh {mesh}: publishes the App Mesh metrics as envoy.appmesh.* from the Envoy beside the agent.
"""


def rules(mesh: str, options: CompileOptions) -> dict[str, Any]:
    recorded: list[dict[str, Any]] = []
    for metric in METRICS:
        recorded += _histogram_rules(mesh, metric, options) if metric.kind == "histogram" else [
            {"record": prometheus_name(metric), "expr": _sum(mesh, metric, options)}]
    return {"groups": [{"name": f"appmesh-metrics-{mesh}", "rules": recorded}]}


def _sum(mesh: str, metric: Metric, options: CompileOptions, suffix: str = "", by: tuple[str, ...] = (),
         rate: bool = False) -> str:
    """sum by (dimensions) over the sources; several sources are kept apart before summing: `or` would drop
    series whose labels match across them (rx and tx bytes)."""
    selectors = [f"{{{matchers(s, options.egress_port, suffix)}, Mesh={json.dumps(mesh)}}}" for s in metric.sources]
    if rate:
        selectors = [f"rate({s}[{RATE_WINDOW}])" for s in selectors]
    if len(selectors) > 1:
        selectors = [f'label_replace({s}, "envoy_source", "{i}", "", "")' for i, s in enumerate(selectors)]
    return f"sum by ({', '.join((*by, *metric.dimensions))}) ({' or '.join(selectors)})"


def _histogram_rules(mesh: str, metric: Metric, options: CompileOptions) -> list[dict[str, Any]]:
    name = prometheus_name(metric)
    out: list[dict[str, Any]] = [{"record": f"{name}_bucket", "expr": _sum(mesh, metric, options, "_bucket", ("le",))}]
    out += [{"record": f"{name}_{part}", "expr": _sum(mesh, metric, options, f"_{part}")} for part in ("sum", "count")]
    rated = _sum(mesh, metric, options, "_bucket", ("le",), rate=True)
    out += [{"record": name, "expr": f"histogram_quantile({q}, {rated})", "labels": {"quantile": q}}
            for q in QUANTILES]
    return out


def _yaml(header: str, document: dict[str, Any]) -> bytes:
    body = yaml.safe_dump(document, sort_keys=False, width=1000, default_flow_style=False, allow_unicode=True)
    return (header + body).encode()
