"""CompileOptions: App Mesh defaults and usage errors."""

from __future__ import annotations

import inspect
from dataclasses import fields
from typing import Any

import pytest

from meshlint.compile.envoy import CompileOptions
from meshlint.compile.envoy.options import parse_host_port


def test_defaults_are_app_mesh_defaults() -> None:
    o = CompileOptions()
    assert (o.admin_address, o.admin_port) == ("0.0.0.0", 9901)
    assert (o.ingress_port, o.egress_port, o.bind_address) == (15000, 15001, "0.0.0.0")
    assert o.tracing == "none" and o.tracer_endpoint() is None
    assert o.stats_sink is None and o.stats_endpoint() is None and o.stats_tags is True
    assert o.appmesh_defaults == "2020-07"
    assert o.sds_socket_path == "/run/spire/sockets/agent.sock"
    assert dict(o.resolve) == {} and dict(o.cert_map) == {} and dict(o.ca_map) == {}


def test_every_field_is_documented() -> None:
    """Another engineer maps CLI flags onto these fields: each carries an attribute docstring."""
    lines = inspect.getsource(CompileOptions).splitlines()
    for f in fields(CompileOptions):
        at = next(i for i, line in enumerate(lines) if line.strip().startswith(f"{f.name}:"))
        assert lines[at + 1].strip().startswith('"""'), f"{f.name} has no docstring"


@pytest.mark.parametrize(
    ("tracing", "address", "endpoint"),
    [
        ("xray", None, ("127.0.0.1", 2000)),
        ("zipkin", None, ("127.0.0.1", 9411)),
        ("opentelemetry", None, ("127.0.0.1", 4317)),
        ("zipkin", "collector.local:9412", ("collector.local", 9412)),
        ("opentelemetry", "[::1]:4317", ("::1", 4317)),
    ],
)
def test_tracer_endpoint(tracing: Any, address: str | None, endpoint: tuple[str, int]) -> None:
    assert CompileOptions(tracing=tracing, tracing_address=address).tracer_endpoint() == endpoint


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"tracing": "jaeger"}, "tracing must be one of"),
        ({"stats_sink": "prometheus"}, "stats_sink must be one of"),
        ({"appmesh_defaults": "2019"}, "appmesh_defaults must be one of"),
        ({"admin_port": 0}, "admin_port must be a port"),
        ({"egress_port": 70000}, "egress_port must be a port"),
        ({"ingress_port": 15001}, "must differ"),
        ({"bind_address": "localhost"}, "bind_address must be an IP"),
        ({"tracing": "xray", "tracing_address": "xray-daemon:2000"}, "X-Ray daemon"),
        ({"tracing": "zipkin", "tracing_address": "nohostport"}, "host:port"),
        ({"stats_sink": "statsd", "stats_sink_address": "statsd.local:8125"}, "must be an IP"),
        ({"resolve": {"a.local": "not-an-ip"}}, "resolve"),
        ({"cert_map": {"arn:x": ("only-one",)}}, "cert_map"),
    ],
)
def test_usage_errors(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        CompileOptions(**kwargs)


def test_parse_host_port() -> None:
    assert parse_host_port("x", "10.0.0.1:53") == ("10.0.0.1", 53)
    with pytest.raises(ValueError):
        parse_host_port("x", "10.0.0.1:")
