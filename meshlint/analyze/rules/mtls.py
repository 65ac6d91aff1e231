"""TLS pairing between a client's policy and the listeners it reaches: san-mismatch, trust-source-mismatch
(a pairing that cannot work at all is tls-handshake-fails').

App Mesh: https://docs.aws.amazon.com/app-mesh/latest/userguide/mutual-tls.html
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from meshlint.analyze.context import RuleContext, finding, rule
from meshlint.diagnostics import Finding
from meshlint.model.entities import Resource, SpecPath, VirtualNode, client_tls, gateway_client_tls
from meshlint.model.graph import gateway_route_target, has_placeholder, same_scope


@dataclass(slots=True)  # read-only, but not frozen: one per backend of every node, and frozen is slower to make
class Call:
    """One client calling one virtual service under one client TLS policy."""

    client: Resource  # virtual node or virtual gateway
    service: str
    tls: Any  # ClientPolicyTls | VirtualGatewayClientPolicyTls
    tls_path: SpecPath  # spec path of the policy's `tls` block

    @property
    def tls_pointer(self) -> str:
        """The pointer of `tls_path` (built only for a finding: most calls have none)."""
        return self.client.spec_pointer(*self.tls_path)


def _what(resource: Resource) -> str:
    return f"{'virtual node' if resource.kind == 'VirtualNode' else 'virtual gateway'} {resource.name!r}"


def _calls(ctx: RuleContext) -> list[Call]:
    """Every (client, service) pair whose effective client policy has TLS that is enforced; both rules here
    read them (RuleContext.shared)."""
    return list(_each_call(ctx))


def _each_call(ctx: RuleContext) -> Iterator[Call]:
    for node in ctx.model.nodes.values():
        for i, backend in enumerate(node.spec.backends or ()):
            vs = backend.virtual_service
            if vs is None:
                continue
            tls, path = client_tls(node, i)
            if tls is not None and tls.enforce is not False:
                yield Call(node, vs.virtual_service_name, tls, path)
    for gateway in ctx.model.gateways.values():
        gw_tls, gw_path = gateway_client_tls(gateway)
        if gw_tls is None or gw_tls.enforce is False:
            continue
        services = set()
        for groute in ctx.graph.routes_by_gateway.get((gateway.mesh, gateway.name), []):
            found = gateway_route_target(groute)
            if found is not None:
                services.add(found[0].virtual_service.virtual_service_name)
        for service in sorted(services):
            yield Call(gateway, service, gw_tls, gw_path)


def _targets(ctx: RuleContext, call: Call) -> Iterator[tuple[VirtualNode, Any]]:
    """(node, listener) for every listener with TLS that the call reaches on a port its policy covers."""
    for node, _ in ctx.graph.service_nodes(call.client.mesh, call.service):
        if not same_scope(call.client, node):
            continue
        for listener in node.spec.listeners or ():
            tls = listener.tls
            if tls is None or tls.mode == "DISABLED":
                continue
            if call.tls.ports and listener.port_mapping.port not in call.tls.ports:
                continue
            yield node, listener


def discovery_name(node: VirtualNode) -> str | None:
    """The name clients resolve for a node: its DNS hostname, or `<service>.<namespace>` for Cloud Map."""
    sd = node.spec.service_discovery
    if sd is None:
        return None
    if sd.dns is not None:
        return sd.dns.hostname.rstrip(".").lower()
    if sd.aws_cloud_map is not None:
        return f"{sd.aws_cloud_map.service_name}.{sd.aws_cloud_map.namespace_name}".lower()
    return None


def san_matches(san: str, name: str) -> bool:
    return _covers(san.rstrip(".").lower(), name)


def _covers(san: str, name: str) -> bool:
    """san_matches for a SAN already without its final dot and in lower case."""
    if san.startswith("*."):
        head, _, rest = name.partition(".")
        return bool(head) and rest == san[2:]
    return san == name


@rule("san-mismatch")
def san_mismatch(ctx: RuleContext) -> Iterator[Finding]:
    for call in ctx.shared(_calls):
        names = call.tls.validation.subject_alternative_names
        sans = list(names.match.exact) if names is not None else []
        if not sans or any("://" in s or has_placeholder(s) for s in sans):
            continue  # no SAN list (the discovery name is checked), or URI SANs (SPIFFE): nothing to compare
        wanted = [s.rstrip(".").lower() for s in sans]  # as san_matches reads them, once per call
        dialled = call.service.rstrip(".").lower()
        # certificates are issued for the discovery name or for the virtual service name clients dial: a SAN
        # that covers the dialled name accepts every node behind the service
        if any(_covers(s, dialled) for s in wanted):
            continue
        reported: set[str] = set()
        for node, _ in _targets(ctx, call):
            name = discovery_name(node)
            if name is None or has_placeholder(name) or node.name in reported:
                continue
            if any(_covers(s, name) for s in wanted):
                continue
            reported.add(node.name)
            missing = (f"{name!r}, the name it calls and the discovery name of virtual node {node.name!r}, is not"
                       if name == dialled else
                       f"neither that name nor {name!r}, the discovery name of virtual node {node.name!r} behind "
                       "it, is")
            yield finding(
                "san-mismatch", call.client,
                call.tls_pointer + "/validation/subjectAlternativeNames/match/exact",
                f"{_what(call.client)} accepts only the SANs {', '.join(repr(s) for s in sans)} from "
                f"{call.service!r}, but {missing} among them; unless its certificate carries a listed name, the "
                "handshake fails",
                f"add {name!r} to subjectAlternativeNames, or check that the certificate of {node.name!r} "
                "carries one of the listed names")


# arn:<partition>:<service>:<region>:... ; a region that is a placeholder (`${AWS::Region}`) does not match
_ARN_REGION = re.compile(r"arn:[a-z-]+:[a-z-]+:([a-z]{2}(?:-[a-z]+)+-[0-9]+):")


def arn_region(arn: str) -> str | None:
    """The region of an ARN, or None when it is not written out (placeholder, unresolved value, no ARN)."""
    found = _ARN_REGION.match(arn)
    return found.group(1) if found else None


@rule("trust-source-mismatch")
def trust_source_mismatch(ctx: RuleContext) -> Iterator[Finding]:
    """ACM trust against an ACM listener certificate of another region: ACM issues a private certificate
    from a CA of the certificate's own region, and CAs cannot be copied between regions. Other pairings
    (file, sds, exported ACM material) cannot be judged offline."""
    for call in ctx.shared(_calls):
        acm = call.tls.validation.trust.acm
        if acm is None:
            continue
        regions = {arn_region(arn) for arn in acm.certificate_authority_arns}
        if None in regions:
            continue  # a CA whose region is unknown could be the one that issues the certificate
        trusted = ", ".join(sorted(r for r in regions if r is not None))
        reported: set[str] = set()
        for node, listener in _targets(ctx, call):
            certificate = listener.tls.certificate.acm
            region = arn_region(certificate.certificate_arn) if certificate is not None else None
            if region is None or region in regions or node.name in reported:
                continue
            reported.add(node.name)
            yield finding(
                "trust-source-mismatch", call.client,
                call.tls_pointer + "/validation/trust/acm/certificateAuthorityArns",
                f"{_what(call.client)} trusts only ACM Private CAs in {trusted} when it calls {call.service!r}, "
                f"but virtual node {node.name!r} presents the ACM certificate {certificate.certificate_arn!r} "
                f"from {region} on port {listener.port_mapping.port}; ACM issues it from a CA in {region}, so "
                "the handshake fails (unless a trusted CA is the root that signed that CA)",
                f"add the ARN of the private CA in {region} that issues the certificate of {node.name!r}, or "
                "issue that certificate from one of the trusted CAs", at_key=True)
