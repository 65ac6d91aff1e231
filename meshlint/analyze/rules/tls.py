"""missing-tls, a policy: listeners without STRICT TLS and clients that do not enforce TLS (some teams run
plaintext inside a private network on purpose; a connection that cannot work is tls-handshake-fails');
permissive-tcp-listener.

App Mesh: https://docs.aws.amazon.com/app-mesh/latest/userguide/tls.html
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from meshlint.analyze.context import RuleContext, finding, rule
from meshlint.diagnostics import Finding
from meshlint.model.entities import Resource, VirtualGateway, VirtualNode, client_tls, gateway_client_tls

SLUG = "missing-tls"


@rule(SLUG)
def missing_tls(ctx: RuleContext) -> Iterator[Finding]:
    for node in ctx.model.nodes.values():
        yield from _listeners(node, node.spec.listeners or ())
        yield from _backends(ctx, node)
    for gateway in ctx.model.gateways.values():
        yield from _listeners(gateway, gateway.spec.listeners)
        yield from _gateway_client(ctx, gateway)



def _listeners(resource: Resource, listeners: Any) -> Iterator[Finding]:
    what = f"{'virtual node' if resource.kind == 'VirtualNode' else 'virtual gateway'} {resource.name!r}"
    for i, listener in enumerate(listeners):
        port = listener.port_mapping.port
        tls = listener.tls
        if tls is None:
            yield finding(SLUG, resource, resource.spec_pointer("listeners", i), f"listener on port {port} of "
                          f"{what} has no TLS", "add tls with mode STRICT and a certificate to the listener")
        elif tls.mode != "STRICT":
            accepts = "accepts plaintext (PERMISSIVE)" if tls.mode == "PERMISSIVE" else "has TLS DISABLED"
            yield finding(SLUG, resource, resource.spec_pointer("listeners", i, "tls", "mode"),
                          f"listener on port {port} of {what} {accepts}", "set the mode to STRICT")


def _backends(ctx: RuleContext, node: VirtualNode) -> Iterator[Finding]:
    for i, backend in enumerate(node.spec.backends or ()):
        if backend.virtual_service is None:
            continue
        service = backend.virtual_service.virtual_service_name
        policy, path = client_tls(node, i)
        if policy is None:
            yield finding(SLUG, node, _backend_pointer(node, i), f"virtual node {node.name!r} calls {service!r} "
                          "without client TLS enforcement", "add backendDefaults.clientPolicy.tls (or a clientPolicy "
                          "on this backend) with a validation trust")
            continue
        if policy.enforce is False:
            yield finding(SLUG, node, node.spec_pointer(*path, "enforce"),
                          f"virtual node {node.name!r} does not enforce TLS towards {service!r} (enforce: false)",
                          "set enforce to true")
            continue
        ports = ctx.graph.service_ports(node.mesh, service)
        if policy.ports and ports and not set(ports) & set(policy.ports):
            yield finding(SLUG, node, _backend_pointer(node, i), f"client TLS of virtual node {node.name!r} covers "
                          f"ports {_ports(policy.ports)}, but {service!r} listens on {_ports(ports)}",
                          "add the service's port to clientPolicy.tls.ports, or drop ports to cover all")


def _backend_pointer(node: VirtualNode, index: int) -> str:
    return node.spec_pointer("backends", index, "virtualService")


def _gateway_client(ctx: RuleContext, gateway: VirtualGateway) -> Iterator[Finding]:
    if not ctx.graph.routes_by_gateway.get((gateway.mesh, gateway.name)):
        return
    tls, _ = gateway_client_tls(gateway)
    if tls is None or tls.enforce is False:
        yield finding(SLUG, gateway, gateway.spec_pointer(), f"virtual gateway {gateway.name!r} forwards to its "
                      "virtual services without client TLS enforcement",
                      "add backendDefaults.clientPolicy.tls with a validation trust")


def _ports(ports: Any) -> str:
    return ", ".join(str(p) for p in sorted(ports))


@rule("permissive-tcp-listener")
def permissive_tcp_listener(ctx: RuleContext) -> Iterator[Finding]:
    """PERMISSIVE puts tls_inspector on the ingress listener: it waits for the caller's first bytes to tell
    TLS from plaintext, which a server-first protocol never sends (the egress failure of aws-app-mesh-roadmap#62
    on the ingress side)."""
    for node in ctx.model.nodes.values():
        for i, listener in enumerate(node.spec.listeners or ()):
            if listener.port_mapping.protocol != "tcp" or listener.tls is None or listener.tls.mode != "PERMISSIVE":
                continue
            yield finding(
                "permissive-tcp-listener", node, node.spec_pointer("listeners", i, "tls", "mode"),
                f"tcp listener on port {listener.port_mapping.port} of virtual node {node.name!r} is PERMISSIVE: "
                "to tell TLS from plaintext the proxy waits for the first bytes of every connection, and a "
                "plaintext caller of a server-first protocol (MySQL, SMTP, FTP, ...) sends nothing until the "
                "server greets it; such connections stall and are closed after Envoy's 15 s listener filter "
                "timeout",
                "set the mode to STRICT once every caller originates TLS (callers with a mesh proxy do), or to "
                "DISABLED")
