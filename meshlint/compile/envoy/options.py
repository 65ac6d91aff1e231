"""Deployment choices the mesh spec does not carry: where Envoy listens, tracing, stats, certificates.

Every field has App Mesh's default (spec section 11). The CLI and the config file map onto these fields;
`CompileOptions()` alone reproduces what App Mesh's data plane did for an account created after 2020-07-29.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, TypeAlias

from meshlint.compile.envoy import xray
from meshlint.numbers import as_int, preview

Tracing: TypeAlias = Literal["none", "xray", "zipkin", "opentelemetry"]
StatsSink: TypeAlias = Literal["statsd", "dogstatsd"]
AppMeshDefaults: TypeAlias = Literal["2020-07", "legacy"]

TRACING_CHOICES: tuple[str, ...] = ("none", "xray", "zipkin", "opentelemetry")
STATS_SINK_CHOICES: tuple[str, ...] = ("statsd", "dogstatsd")
APPMESH_DEFAULTS_CHOICES: tuple[str, ...] = ("2020-07", "legacy")

# App Mesh agent defaults (spec 10.1 / 10.3): X-Ray daemon, Jaeger's Zipkin endpoint, DogStatsD.
DEFAULT_TRACING_ADDRESS = {"xray": "127.0.0.1:2000", "zipkin": "127.0.0.1:9411",
                           "opentelemetry": "127.0.0.1:4317"}
DEFAULT_STATS_SINK_ADDRESS = "127.0.0.1:8125"
EMIT_CHOICES: tuple[str, ...] = ("kubernetes", "ecs")
# The Envoy meshlint validates against; App Mesh's route manager image (its init container on EKS) has the
# sh and iptables the interception script needs; ECS's and EC2's metadata addresses bypass Envoy, as in
# App Mesh's examples and proxyConfiguration.
DEFAULT_ENVOY_IMAGE = "envoyproxy/envoy:v1.40.0"
DEFAULT_INIT_IMAGE = "840364872350.dkr.ecr.us-west-2.amazonaws.com/aws-appmesh-proxy-route-manager:v7-prod"
DEFAULT_EGRESS_IGNORED_IPS: tuple[str, ...] = ("169.254.169.254", "169.254.170.2")
DEFAULT_ECS_CONFIG_URI = "s3://meshlint-envoy-config"


@dataclass(frozen=True)
class CompileOptions:
    """How to compile; construct with keywords. Invalid values raise ValueError (a usage error)."""

    admin_address: str = "0.0.0.0"
    """Address of Envoy's admin interface (App Mesh: ENVOY_ADMIN_ACCESS_PORT on 0.0.0.0)."""
    admin_port: int = 9901
    """Port of the admin interface."""
    admin_access_log_path: str = "/tmp/envoy_admin_access.log"
    """File the admin interface logs requests to (App Mesh: ENVOY_ADMIN_ACCESS_LOG_FILE)."""
    outlier_event_log_path: str = "/dev/stdout"
    """Outlier-detection event log (App Mesh: ENVOY_OUTLIER_DETECTION_EVENT_LOG_PATH)."""
    tracing: Tracing = "none"
    """Tracer set as `tracing.provider` on every HTTP connection manager: none, xray, zipkin, opentelemetry."""
    tracing_address: str | None = None
    """host:port of the tracer; default 127.0.0.1:2000 (xray, must be an IP), :9411 (zipkin), :4317 (otel)."""
    stats_sink: StatsSink | None = None
    """Push stats to a statsd or dogstatsd agent over UDP; None = scrape /stats/prometheus only."""
    stats_sink_address: str | None = None
    """host:port (IP) of the stats agent; default 127.0.0.1:8125."""
    xray_sampling_rate: float | None = None
    """X-Ray: share of requests traced after the fixed target, 0..1 (App Mesh XRAY_SAMPLING_RATE, 0.05)."""
    xray_fixed_target: int | None = None
    """X-Ray: requests traced every second before the rate applies (App Mesh always 1)."""
    xray_sampling_rule_manifest: str | None = None
    """X-Ray: a version 2 sampling rule manifest (JSON text, App Mesh XRAY_SAMPLING_RULE_MANIFEST), inlined."""
    xray_segment_name: str = xray.DEFAULT_SEGMENT_NAME
    """X-Ray segment name; `{mesh}` and `{name}` (virtual node or gateway) are filled in (XRAY_SEGMENT_NAME)."""
    stats_tags: bool = True
    """False leaves out every `appmesh.*` stats tag, whatever the two options below say."""
    listener_stats_tags: bool = True
    """App Mesh's regex tags (always on in its images since v1.22.2.1): `ingress.<protocol>.<port>` stat
    prefixes of a multi-listener node become `ingress` with `appmesh.listener_protocol` / `_port` labels."""
    mesh_stats_tags: bool = True
    """Fixed `appmesh.mesh` and `appmesh.virtual_node` / `appmesh.virtual_gateway` tags on every stat (App Mesh:
    only with ENABLE_ENVOY_STATS_TAGS=1). On by default: an extra label breaks no Prometheus query."""
    appmesh_metrics: bool = True
    """Reproduce App Mesh's metrics extension (APPMESH_METRIC_EXTENSION_VERSION=1): per target service stats
    and the `Mesh`, `VirtualNode`/`VirtualGateway`, `TargetVirtualService`, `TargetVirtualNode` tags."""
    resolve: Mapping[str, str] = field(default_factory=dict)
    """DNS hostname -> IP: egress clusters whose service-discovery hostname is listed become STATIC."""
    cert_map: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    """ACM certificate ARN -> (certificate chain file, private key file) for listener certificates."""
    ca_map: Mapping[str, str] = field(default_factory=dict)
    """ACM Private CA ARN -> CA bundle file, for client policies that trust `acm` authorities."""
    sds_socket_path: str = "/run/spire/sockets/agent.sock"
    """Unix socket of the SDS agent (App Mesh: APPMESH_SDS_SOCKET_PATH; k8s controller default)."""
    appmesh_defaults: AppMeshDefaults = "2020-07"
    """`2020-07`: default retry policy and 2147483647 circuit breakers; `legacy`: Envoy's own defaults."""
    ingress_port: int = 15000
    """Port of a virtual node's ingress listener (App Mesh ProxyIngressPort)."""
    egress_port: int = 15001
    """Port of the egress listener, and of a virtual gateway's self-redirect hop (ProxyEgressPort)."""
    bind_address: str = "0.0.0.0"
    """Listener bind address; listener names follow it (`lds_<direction>_<bind>_<port>`)."""
    gateway_egress_bind_address: str | None = None
    """Bind address of a virtual gateway's self-redirect hop (its egress listener); None = bind_address, as
    App Mesh did. 127.0.0.1 keeps that hop unreachable from outside (its listener name follows)."""
    cert_path_prefix: str | None = None
    """Prefix for every certificate path taken from the mesh spec (`/certs/a.pem` -> `<prefix>/certs/a.pem`)."""
    dns_trailing_dot: bool = True
    """Write DNS endpoint hostnames as FQDNs with a trailing dot, as App Mesh did (no search-domain expansion)."""
    xds: bool = False
    """Write file-based xDS (a bootstrap reading LDS/CDS/RDS files Envoy watches) instead of static bootstraps."""
    xds_directory: str | None = None
    """Absolute folder Envoy reads the xDS files from; None = each proxy's own folder in the build output."""
    emit: tuple[str, ...] = ()
    """Deployment manifests to write beside the bootstraps: `kubernetes`, `ecs`."""
    envoy_image: str = DEFAULT_ENVOY_IMAGE
    """Envoy container image of the generated Kubernetes and ECS manifests."""
    init_image: str = DEFAULT_INIT_IMAGE
    """Kubernetes init container image that installs the traffic interception (needs sh and iptables)."""
    egress_ignored_ips: tuple[str, ...] = DEFAULT_EGRESS_IGNORED_IPS
    """Outbound traffic to these IPs (or CIDRs) bypasses Envoy (App Mesh EgressIgnoredIPs)."""
    egress_ignored_ports: tuple[int, ...] = ()
    """Outbound traffic to these ports bypasses Envoy (App Mesh EgressIgnoredPorts; 22 always does)."""
    ecs_config_uri: str = DEFAULT_ECS_CONFIG_URI
    """S3 prefix the ECS config container copies each proxy's files from (`<uri>/<mesh>/<kind>/<name>/`)."""

    def __post_init__(self) -> None:
        _choice("tracing", self.tracing, TRACING_CHOICES)
        _choice("appmesh_defaults", self.appmesh_defaults, APPMESH_DEFAULTS_CHOICES)
        if self.stats_sink is not None:
            _choice("stats_sink", self.stats_sink, STATS_SINK_CHOICES)
        for name in ("admin_port", "ingress_port", "egress_port"):
            _port(name, getattr(self, name))
        if self.ingress_port == self.egress_port:
            raise ValueError("ingress_port and egress_port must differ")
        for name in ("admin_address", "bind_address"):
            _ip(name, getattr(self, name))
        if self.gateway_egress_bind_address is not None:
            _ip("gateway_egress_bind_address", self.gateway_egress_bind_address)
        for host, ip in self.resolve.items():
            _ip(f"resolve[{host!r}]", ip)
        for arn, pair in self.cert_map.items():
            if len(pair) != 2 or not all(pair):
                raise ValueError(f"cert_map[{arn!r}] must be (certificate chain file, private key file)")
        self.tracer_endpoint()
        self.stats_endpoint()
        self._check_deployment()
        self._check_xray()

    def _check_deployment(self) -> None:
        for value in self.emit:
            _choice("emit", value, EMIT_CHOICES)
        if self.xds_directory is not None and not self.xds_directory.startswith("/"):
            raise ValueError(f"xds_directory must be an absolute path, got {self.xds_directory!r}")
        for ip in self.egress_ignored_ips:
            try:
                ipaddress.ip_network(ip, strict=False)
            except ValueError:
                raise ValueError(f"egress_ignored_ips: {ip!r} is not an IP address or CIDR") from None
        for port in self.egress_ignored_ports:
            _port("egress_ignored_ports", port)
        for name in ("envoy_image", "init_image"):
            if not getattr(self, name) or any(c.isspace() for c in getattr(self, name)):
                raise ValueError(f"{name} must be an image reference without spaces")
        if not self.ecs_config_uri.startswith("s3://") or any(c.isspace() for c in self.ecs_config_uri):
            raise ValueError(f"ecs_config_uri must be an s3:// URI, got {self.ecs_config_uri!r}")

    def _check_xray(self) -> None:
        if self.xray_sampling_rate is not None:
            xray.check_rate(self.xray_sampling_rate)
        if self.xray_fixed_target is not None:
            xray.check_fixed_target(self.xray_fixed_target)
        if self.xray_sampling_rule_manifest is not None:
            xray.check_manifest(self.xray_sampling_rule_manifest)
        xray.check_segment_name(self.xray_segment_name)
        given = self.xray_sampling_rate is not None or self.xray_fixed_target is not None
        if given and self.xray_sampling_rule_manifest is not None:
            raise OptionConflict("give either an X-Ray sampling rule manifest or a sampling rate / fixed target, "
                                 "not both (the manifest's default rule sets both)")
        customised = given or self.xray_sampling_rule_manifest is not None
        if self.tracing != "xray" and (customised or self.xray_segment_name != xray.DEFAULT_SEGMENT_NAME):
            raise OptionConflict("the X-Ray sampling and segment name options need tracing: xray")

    def xray_manifest(self) -> str | None:
        """The sampling rule manifest Envoy gets inline; None keeps X-Ray's default rule (1/s, then 5 %)."""
        return xray.sampling_manifest(self.xray_sampling_rate, self.xray_fixed_target,
                                      self.xray_sampling_rule_manifest)

    def listener_tags(self) -> bool:
        return self.stats_tags and self.listener_stats_tags

    def mesh_tags(self) -> bool:
        return self.stats_tags and self.mesh_stats_tags

    def tracer_endpoint(self) -> tuple[str, int] | None:
        """(host, port) of the tracer, or None without tracing."""
        if self.tracing == "none":
            return None
        host, port = parse_host_port("tracing_address",
                                     self.tracing_address or DEFAULT_TRACING_ADDRESS[self.tracing])
        if self.tracing == "xray":
            _ip("tracing_address (X-Ray daemon)", host)
        return host, port

    def stats_endpoint(self) -> tuple[str, int] | None:
        """(ip, port) of the stats sink, or None without one."""
        if self.stats_sink is None:
            return None
        host, port = parse_host_port("stats_sink_address", self.stats_sink_address or DEFAULT_STATS_SINK_ADDRESS)
        _ip("stats_sink_address", host)
        return host, port


class OptionConflict(ValueError):
    """Options that are each valid but not together: only the whole set can be judged."""


def parse_host_port(what: str, text: str) -> tuple[str, int]:
    """`host:port` or `[v6]:port` -> (host, port)."""
    host, sep, port_text = text.rpartition(":")
    port = as_int(port_text, signed=False)
    if not sep or not host or port is None:
        raise ValueError(f"{what} must be host:port, got {preview(text)}")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    _port(what, port)
    return host, port


@functools.lru_cache(maxsize=4096)
def is_ip(text: str) -> bool:
    """Asked for every endpoint of every bootstrap, mostly about the same few hostnames: remembered."""
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _ip(what: str, text: str) -> None:
    if not is_ip(text):
        raise ValueError(f"{what} must be an IP address, got {text!r}")


def _port(what: str, port: int) -> None:
    if not 1 <= port <= 65535:
        raise ValueError(f"{what} must be a port number (1-65535), got {port}")


def _choice(what: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ValueError(f"{what} must be one of {', '.join(choices)}, got {value!r}")
