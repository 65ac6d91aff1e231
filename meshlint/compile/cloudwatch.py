"""A CloudWatch agent configuration that publishes the App Mesh metrics under their `envoy.appmesh.*` names.

The agent scrapes the Envoy beside it (a sidecar, as in App Mesh's metrics-extension walkthrough for ECS) like
Prometheus does, renames the series that carry each metric with `metric_relabel_configs` (the agent keeps the
original name to look up the type: amazon-cloudwatch-agent issue #190) and sends them as embedded metric format
with App Mesh's dimension sets. It computes deltas of counters, so a period's Sum is App Mesh's count. It takes
no histograms, so Envoy is asked for summaries (`/stats/prometheus?histogram_buckets=summary`): TargetResponseTime
arrives as quantiles since Envoy started, and `_sum` / `_count` give each period's average.
https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/ContainerInsights-Prometheus-Setup-configure-ECS.html
"""

from __future__ import annotations

import re
from typing import Any

from meshlint.compile.envoy.options import CompileOptions
from meshlint.compile.metric_sources import EGRESS_PORT, INBOUND, METRICS, Metric, Source, cloudwatch_name

NAMESPACE = "AppMesh"
PROMETHEUS_CONFIG_PATH = "/opt/aws/amazon-cloudwatch-agent/etc/cloudwatch-agent-prometheus.yaml"
_EXCLUDED = "meshlint_excluded"  # a series renamed to this is dropped by the final keep


def agent_config(mesh: str, options: CompileOptions) -> dict[str, Any]:
    """cloudwatch-agent.json: the Prometheus input with an EMF declaration per dimension kind."""
    units = {cloudwatch_name(m): m.unit for m in METRICS}
    processor = {"metric_namespace": NAMESPACE, "metric_declaration_dedup": True, "metric_unit": units,
                 "metric_declaration": _declarations(mesh)}
    prometheus = {"log_group_name": f"/meshlint/{mesh}/appmesh-metrics", "prometheus_config_path":
                  PROMETHEUS_CONFIG_PATH, "emf_processor": processor}
    return {"agent": {"metrics_collection_interval": 60},
            "logs": {"force_flush_interval": 5, "metrics_collected": {"prometheus": prometheus}}}


def _declarations(mesh: str) -> list[dict[str, Any]]:
    """One declaration per kind of dimensions, each for nodes and for gateways; per target node alone as well
    where the metric also has the target service (App Mesh's walkthrough declared both), per quantile for the
    response time summary."""
    matcher = {"source_labels": ["Mesh"], "label_matcher": f"^{re.escape(mesh)}$"}
    kinds: dict[tuple[str, ...], list[Metric]] = {}
    for metric in METRICS:
        extra = ("quantile",) if metric.kind == "histogram" else ()
        kinds.setdefault((*(d for d in metric.dimensions if d not in INBOUND), *extra), []).append(metric)
    out = []
    for rest, metrics in kinds.items():
        shapes = [list(rest)] + ([[d for d in rest if d != "TargetVirtualService"]]
                                 if "TargetVirtualService" in rest else [])
        sets = [["Mesh", resource, *shape] for resource in ("VirtualNode", "VirtualGateway") for shape in shapes]
        selector = "|".join(re.escape(cloudwatch_name(m)) for m in metrics)
        out.append({**matcher, "dimensions": sets, "metric_selectors": [f"^(?:{selector})$"]})
    return out


def agent_prometheus_config(mesh: str, options: CompileOptions) -> dict[str, Any]:
    """The agent's scrape configuration: this Envoy's admin port, the relabelling that names the metrics."""
    host = "127.0.0.1" if options.admin_address in ("0.0.0.0", "::") else options.admin_address
    target = f"[{host}]:{options.admin_port}" if ":" in host else f"{host}:{options.admin_port}"
    job = {"job_name": f"appmesh-envoy-{mesh}", "metrics_path": "/stats/prometheus",
           "params": {"histogram_buckets": ["summary"]}, "static_configs": [{"targets": [target]}],
           "metric_relabel_configs": relabel_configs(options.egress_port)}
    return {"global": {"scrape_interval": "1m", "scrape_timeout": "10s"}, "scrape_configs": [job]}


def relabel_configs(egress_port: int) -> list[dict[str, Any]]:
    """Keep the original name in `envoy_stat` (so rx and tx bytes stay apart), rename each source to its
    metric, drop the rest."""
    out: list[dict[str, Any]] = [{"source_labels": ["__name__"], "target_label": "envoy_stat"}]
    for metric in METRICS:
        for source in metric.sources:
            for suffix in ("", "_sum", "_count") if metric.kind == "histogram" else ("",):
                out += _renames(source, suffix, cloudwatch_name(metric) + suffix, egress_port)
    out.append({"source_labels": ["__name__"], "regex": r"envoy\.appmesh\..+", "action": "keep"})
    return out


def _renames(source: Source, suffix: str, name: str, egress_port: int) -> list[dict[str, Any]]:
    """Relabel regexes cannot negate: a `!~` matcher first renames what it excludes out of the way."""
    out = []
    keep_labels, keep_values = ["__name__"], [source.name + suffix]
    for label, op, value in source.matchers:
        value = value.replace(EGRESS_PORT, str(egress_port))
        if op == "!~":
            out.append({"source_labels": ["__name__", label], "regex": f"{source.name}{suffix};{value}",
                        "target_label": "__name__", "replacement": _EXCLUDED})
            continue
        keep_labels.append(label)
        if op == "!=" and value == "":
            keep_values.append(".+")  # the label is there
        else:
            keep_values.append(re.escape(value) if op == "=" else value)
    out.append({"source_labels": keep_labels, "regex": ";".join(keep_values), "target_label": "__name__",
                "replacement": name})
    return out
