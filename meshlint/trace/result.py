"""What `trace` found, hop by hop, as plain records; `to_json` gives the `--format json` shape."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from meshlint.diagnostics import Diagnostic
from meshlint.model.matching import Miss
from meshlint.trace.request import TraceRequest

Verdict = Literal["taken", "no match", "also matches"]


@dataclass(frozen=True)
class Drop:
    """Where and why the request stops: an HTTP status Envoy answers with, or None when the connection is
    closed (or never established)."""

    status: int | None
    reason: str
    help: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"status": self.status, "reason": self.reason, "help": self.help}


@dataclass(frozen=True)
class RouteLine:
    """One route of the virtual host, as evaluated for the request."""

    name: str  # router/route, gateway/gateway-route, or a description of a synthesised route
    match: str
    priority: int | None
    verdict: Verdict
    reason: str = ""
    misses: tuple[Miss, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "match": self.match, "priority": self.priority, "verdict": self.verdict,
                "reason": self.reason, "misses": [m.to_json() for m in self.misses]}


@dataclass(frozen=True)
class Policy:
    """What the taken route puts in force on this hop."""

    timeout: str | None = None  # "15s"; "0s" is no timeout
    idle_timeout: str | None = None
    retry: str | None = None  # None: no retries
    rewrites: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"timeout": self.timeout, "idle_timeout": self.idle_timeout, "retry": self.retry,
                "rewrites": list(self.rewrites)}


@dataclass(frozen=True)
class Ingress:
    """The target's listener: where the connection lands, whether the TLS handshake can succeed, and what
    the app behind it receives."""

    proxy: str
    listener: str
    port: int
    protocol: str
    tls: str
    handshake: Literal["ok", "fails"]
    detail: str
    timeout: str | None
    idle_timeout: str | None
    app: str | None
    request: TraceRequest

    @property
    def ok(self) -> bool:
        return self.handshake == "ok"

    def to_json(self) -> dict[str, Any]:
        return {"proxy": self.proxy, "listener": self.listener, "port": self.port, "protocol": self.protocol,
                "tls": self.tls, "handshake": self.handshake, "detail": self.detail, "timeout": self.timeout,
                "idle_timeout": self.idle_timeout, "app": self.app,
                "received": {"host": self.request.authority, "path": self.request.path}}


@dataclass(frozen=True)
class Target:
    """One weighted cluster of the taken route."""

    cluster: str
    weight: int
    percent: float
    node: str | None = None  # the virtual node behind the cluster; None: passthrough or self-redirect
    port: int | None = None
    protocol: str | None = None
    tls: str = "plaintext"  # plaintext, TLS or mTLS
    client_tls: str = "plaintext"  # what the client verifies and presents
    resilience: tuple[str, ...] = ()  # outlier detection, health check, connect timeout
    ingress: Ingress | None = None
    note: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"cluster": self.cluster, "weight": self.weight, "percent": self.percent, "node": self.node,
                "port": self.port, "protocol": self.protocol, "tls": self.tls, "client_tls": self.client_tls,
                "resilience": list(self.resilience), "ingress": self.ingress.to_json() if self.ingress else None,
                "note": self.note}


@dataclass(frozen=True)
class Hop:
    """One proxy's decision: listener, filter chain, virtual host, routes, targets (or where it stopped)."""

    proxy: str
    listener: str
    port: int
    request: TraceRequest
    chain: str | None = None
    virtual_host: str | None = None
    domains: tuple[str, ...] = ()
    service: str | None = None
    provider: str | None = None
    routes: tuple[RouteLine, ...] = ()
    policy: Policy | None = None
    targets: tuple[Target, ...] = ()
    notes: tuple[str, ...] = ()
    drop: Drop | None = None
    sent: TraceRequest | None = None  # the request as the taken route forwards it (after rewrites)

    def to_json(self) -> dict[str, Any]:
        return {"proxy": self.proxy, "listener": self.listener, "port": self.port, "chain": self.chain,
                "request": request_json(self.request), "virtual_host": self.virtual_host,
                "domains": list(self.domains), "service": self.service, "provider": self.provider,
                "routes": [r.to_json() for r in self.routes],
                "policy": self.policy.to_json() if self.policy else None,
                "targets": [t.to_json() for t in self.targets], "notes": list(self.notes),
                "drop": self.drop.to_json() if self.drop else None}


@dataclass(frozen=True)
class Outcome:
    """Where the request ends: the apps that receive it, with their share, or where it is dropped."""

    delivered: dict[str, float] = field(default_factory=dict)  # virtual node (or destination) -> percent
    failed: dict[str, float] = field(default_factory=dict)  # share lost to a failed handshake, per node
    drop: Drop | None = None

    def to_json(self) -> dict[str, Any]:
        return {"delivered": self.delivered, "failed": self.failed,
                "drop": self.drop.to_json() if self.drop else None}


@dataclass(frozen=True)
class Trace:
    origin: str  # "virtual node web" / "virtual gateway ingress"
    mesh: str
    request: TraceRequest
    hops: tuple[Hop, ...]
    outcome: Outcome
    findings: tuple[Diagnostic, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"from": {"proxy": self.origin, "mesh": self.mesh}, "request": request_json(self.request),
                "hops": [h.to_json() for h in self.hops], "outcome": self.outcome.to_json(),
                "findings": [d.to_json() for d in self.findings]}


def request_json(request: TraceRequest) -> dict[str, Any]:
    return {"method": request.method, "scheme": request.scheme, "host": request.authority,
            "port": request.port, "path": request.path, "grpc": request.grpc,
            "headers": [[n, v] for n, v in request.headers]}
