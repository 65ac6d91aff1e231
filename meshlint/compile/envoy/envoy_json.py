"""Small builders for Envoy v3 JSON shapes shared by every generator (no mesh knowledge here)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeAlias

from meshlint.model.spec import Duration

Json: TypeAlias = dict[str, Any]


class SharedArray(tuple[Any, ...]):
    """A JSON array that many documents hold and nobody changes: `render` writes it once per indentation and
    reuses the text. Made by `share`."""

    rendered: dict[str, str]  # indentation -> the text

    def __new__(cls, items: Iterable[Any]) -> SharedArray:
        made = super().__new__(cls, items)
        made.rendered = {}
        return made


class SharedObject(dict[str, Any]):
    """A JSON object that many documents hold and nobody changes, as SharedArray. Made by `share`."""

    __slots__ = ("rendered",)

    def __init__(self, fields: Json) -> None:
        super().__init__(fields)
        self.rendered: dict[str, str] = {}


def share(value: Any) -> Any:
    """`value` for many documents to hold (the routes of a service, what a cluster says of its target): a list
    or dict becomes a SharedArray or SharedObject, rendered once for all; a string or number stays as it is.
    Whoever shares a value never changes it again, nor anything inside it."""
    if type(value) is list:
        return SharedArray(value)
    if type(value) is dict:
        return SharedObject(value)
    return value


MAX_THRESHOLD = 2147483647  # App Mesh's "infinite" circuit breakers (envoy-defaults.md, roadmap#229)
TYPE_PREFIX = "type.googleapis.com/"
H2_OPTIONS_KEY = "envoy.extensions.upstreams.http.v3.HttpProtocolOptions"
HTTP_FAMILY = frozenset({"http", "http2", "grpc"})


def family_of(protocol: str) -> str:
    """`http` for the HTTP family (http, http2, grpc), `tcp` for tcp."""
    return "http" if protocol in HTTP_FAMILY else "tcp"


def typed(name: str, type_name: str, **fields: Any) -> Json:
    """`{name, typed_config: {@type, ...}}`: Envoy 1.40 requires typed_config even for empty filters."""
    return {"name": name, "typed_config": {"@type": TYPE_PREFIX + type_name, **fields}}


def duration_ms(value: Duration | None) -> int | None:
    """App Mesh Duration -> milliseconds; None when absent. A missing unit means seconds."""
    if value is None or value.value is None:
        return None
    return value.value if value.unit == "ms" else value.value * 1000


# protobuf's Duration holds at most 315,576,000,000 s (10,000 years) and Envoy rejects a bootstrap with more
# (https://protobuf.dev/reference/protobuf/google.protobuf/#duration). App Mesh takes any Long: a timeout that
# long is never reached either way, so it is written as the longest Envoy reads, which means the same.
MAX_DURATION_MS = 315_576_000_000 * 1000


def seconds(ms: int) -> str:
    """Milliseconds -> protobuf JSON Duration ("15s", "0.25s", "1.5s"), at most protobuf's 10,000 years."""
    whole, frac = divmod(min(ms, MAX_DURATION_MS), 1000)
    if frac == 0:
        return f"{whole}s"
    return f"{whole}.{frac:03d}".rstrip("0") + "s"


def socket_address(address: str, port: int, *, udp: bool = False, ipv4_compat: bool = False) -> Json:
    inner: Json = {"address": address, "port_value": port}
    if udp:
        inner["protocol"] = "UDP"
    if ipv4_compat:
        inner["ipv4_compat"] = True
    return {"socket_address": inner}


def load_assignment(cluster: str, endpoints: list[tuple[str, int]]) -> Json:
    lb = [{"endpoint": {"address": socket_address(host, port)}} for host, port in endpoints]
    return {"cluster_name": cluster, "endpoints": [{"lb_endpoints": lb}] if lb else []}


def http2_protocol_options() -> Json:
    """Upstream HTTP/2 (h2c or h2 over TLS) for http2/grpc clusters."""
    return {H2_OPTIONS_KEY: {"@type": TYPE_PREFIX + H2_OPTIONS_KEY,
                             "explicit_http_config": {"http2_protocol_options": {}}}}


def circuit_breakers(legacy: bool, *, max_connections: int | None = None, max_pending_requests: int | None = None,
                     max_requests: int | None = None) -> Json | None:
    """Default-priority thresholds only (App Mesh left `high` at Envoy's defaults).

    2020-07 accounts: every unset threshold is 2147483647; legacy accounts: Envoy's own defaults.
    """
    fill = None if legacy else MAX_THRESHOLD
    values = {"max_connections": max_connections, "max_pending_requests": max_pending_requests,
              "max_requests": max_requests, "max_retries": None}
    threshold = {k: v if v is not None else fill for k, v in values.items()}
    threshold = {k: v for k, v in threshold.items() if v is not None}
    return {"thresholds": [threshold]} if threshold else None


def header_value_option(key: str, value: str) -> Json:
    """Set a request header, replacing any value the client sent."""
    return {"header": {"key": key, "value": value}, "append_action": "OVERWRITE_IF_EXISTS_OR_ADD"}
