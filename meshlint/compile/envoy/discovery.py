"""Where a target virtual node's instances are: service discovery -> Envoy cluster type and endpoint.

https://docs.aws.amazon.com/app-mesh/latest/userguide/virtual_nodes.html (service discovery, IP preference)
"""

from __future__ import annotations

from dataclasses import dataclass

from meshlint.compile.envoy.context import Ctx
from meshlint.compile.envoy.options import is_ip
from meshlint.model.entities import VirtualNode

# ipPreference -> dns_lookup_family in the *clients'* clusters (howto-ipv6 appendix).
_LOOKUP_FAMILY = {None: "AUTO", "IPv6_PREFERRED": "AUTO", "IPv4_PREFERRED": "V4_PREFERRED",
                  "IPv6_ONLY": "V6_ONLY", "IPv4_ONLY": "V4_ONLY"}


@dataclass(frozen=True)
class Endpoint:
    """How clients reach a node: cluster type, the address to put in the endpoint, lookup family."""

    type: str  # LOGICAL_DNS | STRICT_DNS | STATIC
    address: str | None  # None: no service discovery, the cluster has no endpoints
    lookup_family: str | None


def discovery_name(node: VirtualNode) -> str | None:
    """The name clients know the node by: DNS hostname, or `<service>.<namespace>` for Cloud Map."""
    sd = node.spec.service_discovery
    if sd is None:
        return None
    if sd.dns is not None:
        return sd.dns.hostname.rstrip(".")
    if sd.aws_cloud_map is not None:
        return f"{sd.aws_cloud_map.service_name}.{sd.aws_cloud_map.namespace_name}"
    return None


def endpoint(ctx: Ctx, node: VirtualNode) -> Endpoint:
    """LOADBALANCER -> LOGICAL_DNS, ENDPOINTS -> STRICT_DNS (roadmap#238, controller PR #479);
    Cloud Map -> STRICT_DNS on `<service>.<namespace>` (a finding says what is lost);
    a hostname pinned by `resolve` or an IP literal -> STATIC."""
    name = discovery_name(node)
    sd = node.spec.service_discovery
    if name is None or sd is None:
        _no_discovery(ctx, node)
        return Endpoint("STATIC", None, None)
    pinned = ctx.options.resolve.get(name) or ctx.options.resolve.get(name + ".")
    if pinned is not None:
        return Endpoint("STATIC", pinned, None)
    if is_ip(name):
        return Endpoint("STATIC", name, None)
    family = _LOOKUP_FAMILY[ctx.ip_preference(node, node.mesh)]
    fqdn = name + "." if ctx.options.dns_trailing_dot else name
    if sd.aws_cloud_map is not None:
        _cloud_map(ctx, node, name)
        return Endpoint("STRICT_DNS", fqdn, family)
    kind = "STRICT_DNS" if sd.dns is not None and sd.dns.response_type == "ENDPOINTS" else "LOGICAL_DNS"
    return Endpoint(kind, fqdn, family)


def _cloud_map(ctx: Ctx, node: VirtualNode, name: str) -> None:
    cm = node.spec.service_discovery.aws_cloud_map if node.spec.service_discovery else None
    attrs = " and its instance attribute filter is ignored" if cm is not None and cm.attributes else ""
    ctx.report(
        node, node.spec_pointer("serviceDiscovery", "awsCloudMap"),
        f"virtual node {node.name!r} uses Cloud Map service discovery: clients resolve {name!r} with DNS "
        f"(STRICT_DNS) instead of App Mesh's pushed endpoints{attrs}; an HTTP-only namespace has no DNS "
        "records and the cluster stays empty",
        "use a Cloud Map DNS namespace (or DNS service discovery), or pin the name with --resolve "
        f"{name}=IP",
    )


def _no_discovery(ctx: Ctx, node: VirtualNode) -> None:
    ctx.report(
        node, node.spec_pointer("serviceDiscovery"),
        f"virtual node {node.name!r} has no service discovery: its clients get a cluster without endpoints "
        "(requests fail with 503)",
        "add serviceDiscovery.dns with the hostname its instances answer on",
    )
