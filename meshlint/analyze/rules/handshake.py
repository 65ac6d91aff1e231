"""tls-handshake-fails: a connection in the mesh whose TLS handshake cannot succeed, whatever a team's TLS
policy is (that policy is missing-tls's).

Each client (a virtual node's backend, a virtual gateway's route target) is followed to every virtual node
behind the service and every listener there; what its proxy does on that port is model.tls's. Two pairings
fail:

- the policy enforces TLS towards a listener without TLS (or DISABLED): the listener reads a ClientHello as
  its protocol;
- the listener validates client certificates (`validation`: mutual TLS) and the client has none to present
  (no policy on that port, or a policy without `certificate`): `ssl.fail_verify_no_cert`.

A STRICT listener never meets plaintext from a proxy of the mesh (the proxy originates TLS for it); a caller
outside the mesh cannot be judged offline.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from meshlint.analyze.context import RuleContext, finding, rule
from meshlint.diagnostics import Finding
from meshlint.model.entities import Resource, SpecPath, VirtualNode, client_tls, gateway_client_tls
from meshlint.model.graph import Hop, gateway_route_target, has_placeholder, same_scope
from meshlint.model.tls import enforced, governs, handshake_failure

SLUG = "tls-handshake-fails"


@dataclass(slots=True)  # read-only, but not frozen: one per backend of every node, and frozen is slower to make
class Call:
    """A client calling a virtual service, with the client TLS policy in force (None: none, or not enforced)."""

    client: Resource  # a virtual node or a virtual gateway
    service: str
    policy: Any  # ClientPolicyTls | VirtualGatewayClientPolicyTls | None
    path: SpecPath  # spec path of the policy's `tls` block, else of the backend entry or the gateway's spec

    @property
    def at(self) -> str:
        """The pointer of `path` (built only for a finding: most calls have none)."""
        return self.client.spec_pointer(*self.path)


def calls(ctx: RuleContext) -> Iterator[Call]:
    """Every client -> virtual service call of the mesh, with the client policy that governs it."""
    for node in ctx.model.nodes.values():
        for i, backend in enumerate(node.spec.backends or ()):
            if backend.virtual_service is None:
                continue
            policy, path = client_tls(node, i)
            policy = enforced(policy)
            yield Call(node, backend.virtual_service.virtual_service_name, policy,
                       path if policy else ("backends", i, "virtualService"))
    for gateway in ctx.model.gateways.values():
        policy, path = gateway_client_tls(gateway)
        policy = enforced(policy)
        services = {found[0].virtual_service.virtual_service_name
                    for route in ctx.graph.routes_by_gateway.get((gateway.mesh, gateway.name), [])
                    if (found := gateway_route_target(route)) is not None}
        for service in sorted(services):
            yield Call(gateway, service, policy, path if policy else ())


@rule(SLUG)
def tls_handshake_fails(ctx: RuleContext) -> Iterator[Finding]:
    for call in calls(ctx):
        if has_placeholder(call.service):
            continue
        for node, hops in ctx.graph.service_nodes(call.client.mesh, call.service):
            if not same_scope(call.client, node):
                continue
            for listener in _known_listeners(node):
                problem = _problem(call, node, hops, listener)
                if problem is not None:
                    message, help_text = problem
                    yield finding(SLUG, call.client, call.at, message, help_text, at_key=call.policy is not None)
                    break  # one finding per node behind the service


def _known_listeners(node: VirtualNode) -> Iterator[Any]:
    """The listeners of `node` whose TLS settings are known offline."""
    listeners = node.spec.listeners or ()
    if not node.unknown:  # a node with no unknown value knows every pointer: no need to build them
        return iter(listeners)
    return (listener for i, listener in enumerate(listeners)
            if node.knows(node.spec_pointer("listeners", i, "tls"))
            and node.knows(node.spec_pointer("listeners", i, "portMapping", "port")))


def _problem(call: Call, node: VirtualNode, hops: list[Hop], listener: Any) -> tuple[str, str] | None:
    failure = handshake_failure(call.policy, listener)
    if failure is None:
        return None
    via = f" (through {hops[0].name})" if hops else ""
    port = listener.port_mapping.port
    who = f"{'virtual node' if call.client.kind == 'VirtualNode' else 'virtual gateway'} {call.client.name!r}"
    if failure == "enforced-towards-plaintext":
        return (f"{who} enforces TLS towards {call.service!r}, but virtual node {node.name!r}{via} listens on "
                f"port {port} without TLS: the handshake fails",
                f"add tls (mode STRICT) to that listener of {node.name!r}, or leave port {port} out of the "
                "client policy's ports")
    if governs(call.policy, port):
        return (f"{who} calls {call.service!r} without a client certificate, but virtual node {node.name!r}{via} "
                f"requires one on port {port} (its listener tls has a validation): the handshake fails",
                f"add a certificate (file or sds) to this client policy, or drop validation from the listener "
                f"of {node.name!r} if mutual TLS is not intended")
    return (f"virtual node {node.name!r}{via} requires a client certificate on port {port} (its listener tls has "
            f"a validation), but {who} has no client TLS policy for {call.service!r} there: its proxy originates "
            "TLS without a certificate and the handshake fails",
            "give the client a clientPolicy.tls with a certificate (file or sds) and a validation trust, or "
            f"drop validation from the listener of {node.name!r}")
