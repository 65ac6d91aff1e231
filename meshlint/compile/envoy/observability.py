"""Access logs, tracing, stats tags and sinks (spec 4.9, 10).

Tracing goes into each HTTP connection manager (`tracing.provider`): bootstrap-level `tracing` is
deprecated in Envoy 1.40. Access logs go on every HCM and tcp_proxy of the proxy.
"""

from __future__ import annotations

from meshlint.compile.envoy import xray
from meshlint.compile.envoy.appmesh_metrics import metric_tags
from meshlint.compile.envoy.envoy_json import Json, http2_protocol_options, load_assignment, socket_address, typed
from meshlint.compile.envoy.names import GATEWAY_KIND
from meshlint.compile.envoy.options import CompileOptions, is_ip
from meshlint.model.spec import Logging, LoggingFormat, VirtualGatewayLogging

TRACER_CLUSTER = {"zipkin": "jaeger", "opentelemetry": "opentelemetry_collector"}

# App Mesh agent regex tags (v1.22.2.1+): turn `ingress.<proto>.<port>` prefixes back into labels.
_REGEX_TAGS = (
    ("appmesh.listener_protocol", r".*?\.ingress\.((\w+?)\.)[0-9]+?\.(.+?)$"),
    ("appmesh.listener_port", r".*?\.ingress\.\w+?\.(([0-9]+?)\.)(.+?)$"),
    ("envoy_rds_route_config", r".*?\.ingress\.\w+?\.[0-9]+?\.rds\.((.*?)\.)(.+?)$"),
)


def access_logs(logging: Logging | VirtualGatewayLogging | None) -> tuple[Json, ...]:
    """`logging.accessLog.file` -> one FileAccessLog; nothing when logging is not configured."""
    if logging is None or logging.access_log is None or logging.access_log.file is None:
        return ()
    file = logging.access_log.file
    fields: Json = {"path": file.path}
    log_format = _log_format(file.format)
    if log_format is not None:
        fields["log_format"] = log_format
    return (typed("envoy.access_loggers.file", "envoy.extensions.access_loggers.file.v3.FileAccessLog",
                  **fields),)


def _log_format(fmt: LoggingFormat | None) -> Json | None:
    if fmt is None:
        return None
    if fmt.text is not None:
        # Envoy does not end a custom text line by itself; App Mesh's log lines were newline-terminated.
        text = fmt.text if fmt.text.endswith("\n") else fmt.text + "\n"
        return {"text_format_source": {"inline_string": text}}
    if fmt.json_ is not None:
        return {"json_format": {entry.key: entry.value for entry in fmt.json_}}
    return None


def hcm_tracing(options: CompileOptions, mesh: str, name: str) -> Json:
    """The HCM `tracing` block: `{}` like App Mesh without a tracer, else with the provider.

    X-Ray segment fields follow the App Mesh agent, which wrote `virtual_node_name` for gateways too; a
    sampling rule manifest is inlined, so the bootstrap needs no other file.
    """
    endpoint = options.tracer_endpoint()
    if endpoint is None:
        return {}
    host, port = endpoint
    if options.tracing == "xray":
        fields: Json = {
            "segment_name": xray.segment_name(options.xray_segment_name, mesh, name),
            "daemon_endpoint": {"protocol": "UDP", "address": host, "port_value": port},
            "segment_fields": {"origin": "AWS::AppMesh::Proxy",
                               "aws": {"app_mesh": {"mesh_name": mesh, "virtual_node_name": name}}},
        }
        manifest = options.xray_manifest()
        if manifest is not None:
            fields["sampling_rule_manifest"] = {"inline_string": manifest}
        return {"provider": typed("envoy.tracers.xray", "envoy.config.trace.v3.XRayConfig", **fields)}
    if options.tracing == "zipkin":
        return {"provider": typed(
            "envoy.tracers.zipkin", "envoy.config.trace.v3.ZipkinConfig",
            collector_cluster=TRACER_CLUSTER["zipkin"], collector_endpoint="/api/v2/spans",
            collector_endpoint_version="HTTP_PROTO", shared_span_context=False,
        )}
    return {"provider": typed(
        "envoy.tracers.opentelemetry", "envoy.config.trace.v3.OpenTelemetryConfig",
        grpc_service={"envoy_grpc": {"cluster_name": TRACER_CLUSTER["opentelemetry"]}},
        service_name=f"{mesh}/{name}",
    )}


def tracer_clusters(options: CompileOptions) -> list[Json]:
    """The collector cluster for zipkin / opentelemetry (X-Ray talks UDP to the daemon directly)."""
    endpoint = options.tracer_endpoint()
    if endpoint is None or options.tracing not in TRACER_CLUSTER:
        return []
    name = TRACER_CLUSTER[options.tracing]
    host, port = endpoint
    cluster: Json = {"name": name, "type": "STATIC" if is_ip(host) else "STRICT_DNS", "connect_timeout": "1s",
                     "load_assignment": load_assignment(name, [(host, port)])}
    if options.tracing == "opentelemetry":
        cluster["typed_extension_protocol_options"] = http2_protocol_options()
    return [cluster]


def stats_config(options: CompileOptions, mesh: str, name: str, kind: str) -> Json | None:
    """App Mesh's two kinds of tags, in its agent's order: the fixed mesh / resource tags (ENABLE_ENVOY_STATS_TAGS),
    the metrics extension's, then the listener regexes. None without any."""
    tags: list[Json] = []
    if options.mesh_tags():
        resource_tag = "appmesh.virtual_gateway" if kind == GATEWAY_KIND else "appmesh.virtual_node"
        tags += [{"tag_name": "appmesh.mesh", "fixed_value": mesh}, {"tag_name": resource_tag, "fixed_value": name}]
    if options.appmesh_metrics:
        tags += metric_tags(mesh, kind, name)
    if options.listener_tags():
        tags += [{"tag_name": tag, "regex": regex} for tag, regex in _REGEX_TAGS]
    return {"stats_tags": tags} if tags else None


def stats_sinks(options: CompileOptions) -> list[Json]:
    endpoint = options.stats_endpoint()
    if endpoint is None:
        return []
    host, port = endpoint
    address = socket_address(host, port, udp=True)
    if options.stats_sink == "dogstatsd":
        return [typed("envoy.stat_sinks.dog_statsd", "envoy.config.metrics.v3.DogStatsdSink", address=address)]
    return [typed("envoy.stat_sinks.statsd", "envoy.config.metrics.v3.StatsdSink", address=address)]
