"""`meshlint build`: check, then compile every virtual node and gateway into an Envoy bootstrap under --out."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from meshlint.cli import report
from meshlint.cli.options import (
    ConfigOpt,
    EntryOpt,
    EnvFileOpt,
    ExcludeOpt,
    Format,
    FormatOpt,
    IgnoreOpt,
    NameFragmentOpt,
    ParameterOpt,
    PathsArg,
    SelectOpt,
    SubstituteEnvOpt,
    VerboseOpt,
    fail,
    input_options,
    settings,
)

if TYPE_CHECKING:
    from meshlint.api import BuildResult
    from meshlint.emit.writer import WriteResult

OutOpt = Annotated[
    Path,
    typer.Option("--out", "-o", help="Output folder (required). Never read as input. Files meshlint did not write "
                 "there (not in its meshlint-manifest.json) are kept untouched; the new tree is swapped in whole, so "
                 "an interrupted build leaves the previous output intact (with --xds it is updated in place instead, "
                 "each file renamed into place, for the Envoys watching it).", show_default=False),
]
AdminPortOpt = Annotated[int | None, typer.Option(
    "--admin-port", metavar="PORT", show_default=False,
    help="Port of Envoy's admin interface (/stats, /config_dump); App Mesh used 9901.")]
AdminAddressOpt = Annotated[str | None, typer.Option(
    "--admin-address", metavar="IP", show_default=False,
    help="IP the admin interface listens on; App Mesh used 0.0.0.0. Use 127.0.0.1 to keep it off the network.")]
TracingOpt = Annotated[str | None, typer.Option(
    "--tracing", metavar="[none|xray|zipkin|opentelemetry]", show_default=False,
    help="Tracer set on every HTTP connection manager (default none). xray sends to the X-Ray daemon over UDP.")]
TracingAddressOpt = Annotated[str | None, typer.Option(
    "--tracing-address", metavar="HOST:PORT", show_default=False,
    help="Where the tracer listens. Defaults: xray 127.0.0.1:2000 (must be an IP), zipkin 127.0.0.1:9411, "
         "opentelemetry 127.0.0.1:4317. IPv6 as [::1]:2000.")]
StatsSinkOpt = Annotated[str | None, typer.Option(
    "--stats-sink", metavar="[statsd|dogstatsd]", show_default=False,
    help="Also push stats to a statsd or DogStatsD agent over UDP (default: none; scrape /stats/prometheus).")]
StatsSinkAddressOpt = Annotated[str | None, typer.Option(
    "--stats-sink-address", metavar="IP:PORT", show_default=False,
    help="Address of the stats agent; default 127.0.0.1:8125.")]
XraySamplingRateOpt = Annotated[float | None, typer.Option(
    "--xray-sampling-rate", metavar="RATE", show_default=False,
    help="X-Ray: share of requests traced after the fixed target, 0 to 1, rounded to two decimals as App Mesh "
         "did (XRAY_SAMPLING_RATE; default 0.05).")]
XrayFixedTargetOpt = Annotated[int | None, typer.Option(
    "--xray-fixed-target", metavar="N", show_default=False,
    help="X-Ray: requests traced every second before the rate applies (default 1, as App Mesh).")]
XrayManifestOpt = Annotated[str | None, typer.Option(
    "--xray-sampling-rule-manifest", metavar="FILE", show_default=False,
    help="X-Ray sampling rule manifest (version 2 JSON, App Mesh XRAY_SAMPLING_RULE_MANIFEST): read, checked "
         "and inlined into every bootstrap. Not with --xray-sampling-rate / --xray-fixed-target.")]
XraySegmentNameOpt = Annotated[str | None, typer.Option(
    "--xray-segment-name", metavar="NAME", show_default=False,
    help="X-Ray segment name; {mesh} and {name} (the virtual node or gateway) are filled in. Default "
         "{mesh}/{name}, as App Mesh (XRAY_SEGMENT_NAME).")]
NoStatsTagsOpt = Annotated[bool, typer.Option(
    "--no-stats-tags", help="Leave out every appmesh.* stats tag: both --no-listener-stats-tags and "
    "--no-mesh-stats-tags.")]
NoListenerStatsTagsOpt = Annotated[bool, typer.Option(
    "--no-listener-stats-tags", help="Leave out App Mesh's listener tags (appmesh.listener_protocol, "
    "appmesh.listener_port): a node with several listeners then reports http.ingress.http.8080.* instead of "
    "http.ingress.* with port labels. App Mesh always had them.")]
NoMeshStatsTagsOpt = Annotated[bool, typer.Option(
    "--no-mesh-stats-tags", help="Leave out the appmesh.mesh and appmesh.virtual_node / virtual_gateway tags "
    "(App Mesh added them only with ENABLE_ENVOY_STATS_TAGS=1).")]
NoAppMeshMetricsOpt = Annotated[bool, typer.Option(
    "--no-appmesh-metrics", help="Do not reproduce App Mesh's metrics extension: no per target service stats, no "
    "Mesh/VirtualNode/TargetVirtualService/TargetVirtualNode tags, no appmesh-metrics rules or CloudWatch "
    "agent files.")]
ResolveOpt = Annotated[list[str] | None, typer.Option(
    "--resolve", metavar="HOST=IP", show_default=False,
    help="Pin a DNS service-discovery hostname to an IP: that egress cluster becomes STATIC instead of DNS. "
         "Repeatable, e.g. --resolve color.shop.local=10.0.0.12.")]
CertMapOpt = Annotated[list[str] | None, typer.Option(
    "--cert-map", metavar="ARN=CHAIN,KEY", show_default=False,
    help="Use these PEM files for a listener certificate the mesh takes from ACM (Envoy cannot fetch it), e.g. "
         "--cert-map arn:aws:acm:...:certificate/abc=/certs/chain.pem,/certs/key.pem. Repeatable.")]
CaMapOpt = Annotated[list[str] | None, typer.Option(
    "--ca-map", metavar="ARN=CAFILE", show_default=False,
    help="Trust this PEM bundle where a client policy trusts an ACM Private CA, e.g. "
         "--ca-map arn:aws:acm-pca:...:certificate-authority/abc=/certs/ca.pem. Repeatable.")]
SdsSocketOpt = Annotated[str | None, typer.Option(
    "--sds-socket", metavar="PATH", show_default=False,
    help="Unix socket of the SDS agent (SPIRE) for sds certificates; default /run/spire/sockets/agent.sock.")]
AppMeshDefaultsOpt = Annotated[str | None, typer.Option(
    "--appmesh-defaults", metavar="[2020-07|legacy]", show_default=False,
    help="2020-07 (default): App Mesh's default retry policy and unlimited circuit breakers, as for accounts "
         "created after 2020-07-29; legacy: no default retries and Envoy's own 1024/1024/1024/3 breakers.")]
XdsOpt = Annotated[bool, typer.Option(
    "--xds", help="Write file-based xDS instead of static bootstraps: per proxy a folder with bootstrap.json and "
    "the listener, cluster and route files it watches. A later build updates those files in place, in an order "
    "Envoy takes without dropping a request, and Envoy applies them live (no restart).")]
XdsDirectoryOpt = Annotated[str | None, typer.Option(
    "--xds-directory", metavar="PATH", show_default=False,
    help="Absolute folder Envoy reads the xDS files from (default: each proxy's folder under --out).")]
EmitOpt = Annotated[list[str] | None, typer.Option(
    "--emit", metavar="[kubernetes|ecs]", show_default=False,
    help="Also write deployment manifests that run each proxy as App Mesh ran its sidecar: kubernetes (a "
    "ConfigMap and a workload patch with Envoy and the interception init container), ecs (task definition "
    "containers and proxyConfiguration). Repeatable.")]
EnvoyImageOpt = Annotated[str | None, typer.Option(
    "--envoy-image", metavar="IMAGE", show_default=False, help="Envoy image in the manifests (default "
    "envoyproxy/envoy:v1.40.0).")]
InitImageOpt = Annotated[str | None, typer.Option(
    "--init-image", metavar="IMAGE", show_default=False, help="Image of the Kubernetes init container that "
    "installs the interception; it needs sh and iptables (default: App Mesh's proxy route manager).")]
EgressIgnoredIpOpt = Annotated[list[str] | None, typer.Option(
    "--egress-ignored-ip", metavar="IP", show_default=False, help="Outbound traffic to this IP or CIDR bypasses "
    "Envoy (default: 169.254.169.254 and 169.254.170.2). Repeatable.")]
EgressIgnoredPortOpt = Annotated[list[int] | None, typer.Option(
    "--egress-ignored-port", metavar="PORT", show_default=False, help="Outbound traffic to this port bypasses "
    "Envoy (22 always does). Repeatable.")]
EcsConfigUriOpt = Annotated[str | None, typer.Option(
    "--ecs-config-uri", metavar="S3URI", show_default=False, help="Where the ECS config container finds the "
    "output (upload --out there), default s3://meshlint-envoy-config.")]
WatchOpt = Annotated[bool, typer.Option(
    "--watch", help="Build, then rebuild whenever an input file changes, until interrupted. A build with errors "
    "is reported and leaves the output as it was. With --xds, running Envoys follow each build live.")]
CheckOnlyOpt = Annotated[bool, typer.Option(
    "--check", help="Write nothing: exit 1 when --out differs from what this build would write (a file "
    "missing, changed, or no longer generated; SVGs are not compared), 0 when it is up to date. For CI and "
    "the meshlint-build-check pre-commit hook.")]


def build(
    out: OutOpt,
    paths: PathsArg = None,
    format: FormatOpt = Format.text,
    config: ConfigOpt = None,
    select: SelectOpt = None,
    ignore: IgnoreOpt = None,
    entry_point: EntryOpt = None,
    exclude: ExcludeOpt = None,
    verbose: VerboseOpt = False,
    admin_port: AdminPortOpt = None,
    admin_address: AdminAddressOpt = None,
    tracing: TracingOpt = None,
    tracing_address: TracingAddressOpt = None,
    stats_sink: StatsSinkOpt = None,
    stats_sink_address: StatsSinkAddressOpt = None,
    xray_sampling_rate: XraySamplingRateOpt = None,
    xray_fixed_target: XrayFixedTargetOpt = None,
    xray_sampling_rule_manifest: XrayManifestOpt = None,
    xray_segment_name: XraySegmentNameOpt = None,
    no_stats_tags: NoStatsTagsOpt = False,
    no_listener_stats_tags: NoListenerStatsTagsOpt = False,
    no_mesh_stats_tags: NoMeshStatsTagsOpt = False,
    no_appmesh_metrics: NoAppMeshMetricsOpt = False,
    resolve: ResolveOpt = None,
    cert_map: CertMapOpt = None,
    ca_map: CaMapOpt = None,
    sds_socket: SdsSocketOpt = None,
    appmesh_defaults: AppMeshDefaultsOpt = None,
    parameter: ParameterOpt = None,
    substitute_env: SubstituteEnvOpt = False,
    env_file: EnvFileOpt = None,
    name_fragment: NameFragmentOpt = None,
    check_only: CheckOnlyOpt = False,
    xds: XdsOpt = False,
    xds_directory: XdsDirectoryOpt = None,
    emit: EmitOpt = None,
    envoy_image: EnvoyImageOpt = None,
    init_image: InitImageOpt = None,
    egress_ignored_ip: EgressIgnoredIpOpt = None,
    egress_ignored_port: EgressIgnoredPortOpt = None,
    ecs_config_uri: EcsConfigUriOpt = None,
    watch: WatchOpt = False,
) -> None:
    """Check, then compile every virtual node and gateway into an Envoy v3 static bootstrap under --out.

    Writes <mesh>/virtual-nodes/<node>.json, <mesh>/virtual-gateways/<gateway>.json, <mesh>/topology.dot
    (and .svg with Graphviz), the App Mesh metrics as Prometheus recording rules and a CloudWatch agent
    configuration (<mesh>/appmesh-metrics.rules.yaml, <mesh>/cloudwatch-agent.json and
    <mesh>/cloudwatch-agent-prometheus.yaml) and meshlint-manifest.json. Any error: the report, exit 1, --out untouched.
    Every build option can also be set under `build:` in .meshlint.yaml; a flag given here wins.

    Example: meshlint build mesh/ --out envoy/ --tracing xray --resolve color.shop.local=10.0.0.12
    Live updates: meshlint build mesh/ --out envoy/ --xds --watch (Envoy runs from envoy/<mesh>/virtual-nodes/
    <node>/bootstrap.json; each saved change to mesh/ reaches it without a restart).
    """
    from meshlint import api
    from meshlint.emit.writer import OutputError
    from meshlint.load.files import UsageError

    flags: dict[str, object] = {"admin-port": admin_port, "admin-address": admin_address, "tracing": tracing,
                                "tracing-address": tracing_address, "stats-sink": stats_sink,
                                "stats-sink-address": stats_sink_address, "no-stats-tags": no_stats_tags or None,
                                "resolve": resolve, "cert-map": cert_map, "ca-map": ca_map, "sds-socket": sds_socket,
                                "appmesh-defaults": appmesh_defaults, "xds": xds or None,
                                "xds-directory": xds_directory, "emit": emit, "envoy-image": envoy_image,
                                "init-image": init_image, "egress-ignored-ip": egress_ignored_ip,
                                "egress-ignored-port": egress_ignored_port, "ecs-config-uri": ecs_config_uri,
                                "xray-sampling-rate": xray_sampling_rate, "xray-fixed-target": xray_fixed_target,
                                "xray-sampling-rule-manifest": xray_sampling_rule_manifest,
                                "xray-segment-name": xray_segment_name,
                                "no-listener-stats-tags": no_listener_stats_tags or None,
                                "no-mesh-stats-tags": no_mesh_stats_tags or None,
                                "no-appmesh-metrics": no_appmesh_metrics or None}
    if watch and check_only:
        raise fail("--watch and --check do not go together")

    def once() -> int:
        try:
            found = settings(config, select, ignore, entry_point, paths, exclude)
            options = api.compile_options(found, _build_flags(flags))
            result = api.build(paths or ["."], out, found, options, verbose=verbose,
                               inputs=input_options(parameter, substitute_env, env_file, name_fragment),
                               check_only=check_only)
            if not watch:
                report.keep_until_exit(result)
        except (UsageError, OutputError) as err:
            if not watch:
                raise fail(str(err)) from None
            print(f"meshlint: {err}", file=sys.stderr, flush=True)
            return 2
        print(_build_report(result, out, format), end="", flush=True)
        if result.drift is not None:
            _drift_notes(result.drift, out, paths or ["."])
            return 1 if result.drift else 0
        _build_notes(result, out)
        return report.EXIT_INTERNAL if report.crashed(result.check) else 0 if result.written is not None else 1

    if watch:
        from meshlint.cli.watch import watch as watch_inputs

        watch_inputs(once, paths or ["."], out, config)
    raise typer.Exit(once())


def _drift_notes(drift: list[str], out: Path, paths: list[str]) -> None:
    import shlex

    shown = os.path.join(str(out), "")
    for line in drift:
        print(f"meshlint: {shown}: {line}", file=sys.stderr)
    if drift:
        command = shlex.join(["meshlint", "build", *paths, "--out", shown])
        print(f"meshlint: {shown} is out of date; run `{command}` and commit it", file=sys.stderr)
    else:
        print(f"meshlint: {shown} is up to date", file=sys.stderr)


def _build_flags(flags: dict[str, object]) -> dict[str, object]:
    """The build flags given, as (CompileOptions field -> value); a malformed one is a UsageError."""
    from meshlint.config import build_option
    from meshlint.load.files import UsageError

    parsed = {}
    for key, value in flags.items():
        if value is not None:
            try:
                name, parsed[name] = build_option(key, value)
            except ValueError as err:
                raise UsageError(f"--{key}: {err}") from None
    return parsed


def _build_report(result: BuildResult, out: Path, fmt: Format) -> str:
    """The check report for stdout; with --format json plus a "build" object (null when nothing was written)."""
    import json

    text = report.render(result.check, fmt)
    if fmt is not Format.json:
        return text
    payload = json.loads(text)
    written = result.written
    payload["build"] = None if written is None else {"out": str(out), "files": written.files,
                                                     "removed": written.removed}
    return json.dumps(payload, indent=2, ensure_ascii=False) + "\n"


def _build_notes(result: BuildResult, out: Path) -> None:
    """Warnings and one summary line, on stderr (stdout stays the report alone)."""
    shown = os.path.join(str(out), "")
    if result.written is None:
        errors = result.check.summary()["errors"]
        print(f"meshlint: {errors} error{'' if errors == 1 else 's'}; {shown} left untouched", file=sys.stderr)
        return
    for warning in (*result.warnings, *result.written.warnings):
        print(f"meshlint: warning: {warning}", file=sys.stderr)
    print(_wrote_line(result.written, shown), file=sys.stderr)


def _wrote_line(written: WriteResult, shown: str) -> str:
    def count(n: int, word: str) -> str:
        return f"{n} {word}{'' if n == 1 else 's'}"

    notes = [f"{len(written.removed)} removed"] if written.removed else []
    if written.kept:
        notes.append(f"{count(len(written.kept), 'unchanged foreign file')} kept")
    return f"wrote {count(len(written.files), 'file')} to {shown}" + (f" ({', '.join(notes)})" if notes else "")
