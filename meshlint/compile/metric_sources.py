"""Which Envoy stats carry each App Mesh metric: one table for the Prometheus rules and the CloudWatch agent.

https://docs.aws.amazon.com/app-mesh/latest/userguide/metrics.html#metrics-extension lists the metrics and
their dimensions. The names are Envoy's `/stats/prometheus` series as the compiled bootstraps tag them
(compile/envoy/appmesh_metrics.py): `Mesh`, `VirtualNode` / `VirtualGateway`, `TargetVirtualService` and
`TargetVirtualNode` are labels there already. Without App Mesh's listener tags a node with several listeners
reports `envoy_http_http_8080_downstream_rq_total` instead of `envoy_http_downstream_rq_total`, so series
names are matched as patterns that accept both.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

INBOUND = ("Mesh", "VirtualNode", "VirtualGateway")
OUTBOUND = (*INBOUND, "TargetVirtualService", "TargetVirtualNode")
EGRESS_PORT = "{egress_port}"  # filled in with the build's egress port
_LISTENER = "(?:(?:http|http2|grpc|tcp)_[0-9]+_)?"  # `ingress.<protocol>.<port>` without listener tags

Kind = Literal["counter", "gauge", "histogram"]


@dataclass(frozen=True)
class Source:
    """Envoy series: a pattern for the name and label matchers (label, "=" | "=~" | "!~", value)."""

    name: str
    matchers: tuple[tuple[str, str, str], ...] = ()


@dataclass(frozen=True)
class Metric:
    name: str  # App Mesh's: envoy.appmesh.<name> in CloudWatch, envoy_appmesh_<name> in Prometheus
    kind: Kind
    unit: str  # CloudWatch unit
    dimensions: tuple[str, ...]
    sources: tuple[Source, ...]
    summary: str  # what the README table says the source is


def _ingress(stat: str) -> tuple[Source, ...]:
    return (Source(f"envoy_http_{_LISTENER}{stat}", (("envoy_http_conn_manager_prefix", "=", "ingress"),)),
            Source(f"envoy_tcp_{_LISTENER}{stat}", (("envoy_tcp_prefix", "=", "ingress"),)))


def _listener(stat: str) -> tuple[Source, ...]:
    """Every listener but the egress one: a node's ingress listener, a gateway's listeners."""
    return (Source(f"envoy_listener_{stat}", (("envoy_listener_address", "!~", f".*_{EGRESS_PORT}"),)),)


def _per_target(stat: str, *matchers: tuple[str, str, str]) -> tuple[Source, ...]:
    return (Source(f"envoy_cluster_appmesh_{stat}", matchers),)


def _code(digit: str) -> Metric:
    return Metric(f"HTTPCode_Target_{digit}XX_Count", "counter", "Count", OUTBOUND,
                  _per_target("upstream_rq_xx", ("envoy_response_code_class", "=", digit)),
                  f"`cluster.<target>.appmesh.<service>.appmesh.upstream_rq_{digit}xx`")


METRICS: tuple[Metric, ...] = (
    Metric("RequestCount", "counter", "Count", INBOUND, _ingress("downstream_rq_total")[:1],
           "`http.ingress.downstream_rq_total` (every HTTP, HTTP/2 and gRPC request the listeners took)"),
    Metric("GrpcRequestCount", "counter", "Count", INBOUND,
           (Source("envoy_cluster_upstream_rq_total", (("envoy_cluster_name", "=~", "cds_ingress_.+_grpc_[0-9]+"),)),),
           "`cluster.cds_ingress_<mesh>_<name>_grpc_<port>.upstream_rq_total` (the gRPC listeners' local cluster; "
           "a gateway's self-redirect cluster)"),
    Metric("ActiveConnectionCount", "gauge", "Count", INBOUND, _listener("downstream_cx_active"),
           "`listener.<address>.downstream_cx_active` of the ingress listeners"),
    Metric("NewConnectionCount", "counter", "Count", INBOUND, _listener("downstream_cx_total"),
           "`listener.<address>.downstream_cx_total` of the ingress listeners"),
    Metric("ProcessedBytes", "counter", "Bytes", INBOUND,
           _ingress("downstream_cx_rx_bytes_total") + _ingress("downstream_cx_tx_bytes_total"),
           "`http.ingress.downstream_cx_{rx,tx}_bytes_total` + `tcp.ingress.downstream_cx_{rx,tx}_bytes_total`"),
    Metric("TargetProcessedBytes", "counter", "Bytes", (*INBOUND, "TargetVirtualNode"),
           (Source("envoy_cluster_upstream_cx_rx_bytes_total", (("TargetVirtualNode", "!=", ""),)),
            Source("envoy_cluster_upstream_cx_tx_bytes_total", (("TargetVirtualNode", "!=", ""),))),
           "`cluster.cds_egress_*.upstream_cx_{rx,tx}_bytes_total` (per target node only: connections to a "
           "node are pooled across the services that reach it)"),
    *(_code(digit) for digit in "2345"),
    Metric("RequestCountPerTarget", "counter", "Count", OUTBOUND, _per_target("upstream_rq_completed"),
           "`cluster.<target>.appmesh.<service>.appmesh.upstream_rq_completed` (each attempt, retries included)"),
    Metric("TargetResponseTime", "histogram", "Milliseconds", OUTBOUND, _per_target("upstream_rq_time"),
           "`cluster.<target>.appmesh.<service>.appmesh.upstream_rq_time` (histogram, ms)"),
)
QUANTILES = ("0.5", "0.9", "0.99")
RATE_WINDOW = "5m"


def prometheus_name(metric: Metric) -> str:
    return f"envoy_appmesh_{metric.name}"


def cloudwatch_name(metric: Metric) -> str:
    return f"envoy.appmesh.{metric.name}"


def matchers(source: Source, egress_port: int, suffix: str = "") -> str:
    """A PromQL selector for `source`; `suffix` selects a histogram's `_bucket` / `_sum` / `_count`."""
    parts = [f'__name__=~"{source.name}{suffix}"']
    parts += [f'{label}{op}"{value.replace(EGRESS_PORT, str(egress_port))}"' for label, op, value in source.matchers]
    return ", ".join(parts)
