"""conflicting-hostnames: two virtual services claim one hostname, so ordering (or a caller's spelling)
decides which of them serves it.

DNS names and HTTP Host matching ignore letter case, and a final dot only marks a name as absolute:
https://www.rfc-editor.org/rfc/rfc4343 , https://docs.aws.amazon.com/app-mesh/latest/userguide/gateway-routes.html
"""

from __future__ import annotations

from collections.abc import Iterator

from meshlint.analyze.context import RuleContext, finding, rule
from meshlint.diagnostics import Finding
from meshlint.model.entities import VirtualService
from meshlint.model.graph import has_placeholder

SLUG = "conflicting-hostnames"


@rule(SLUG)
def conflicting_hostnames(ctx: RuleContext) -> Iterator[Finding]:
    """Virtual services of one mesh that are one hostname spelled two ways. (Gateway routes whose hostname
    matches differ only in letter case overlap like any other matches: duplicate-priority and
    shadowed-route compare hostnames case-insensitively.)"""
    yield from _services(ctx)


def hostname_key(name: str) -> str:
    """The DNS host a name stands for: letter case and a final dot do not change it."""
    return name.rstrip(".").lower()


def _scope(mesh: str, path: str) -> str:
    """A placeholder mesh name (`${MeshName}`) is shared by unrelated templates: compare within one file."""
    return path if has_placeholder(mesh) else ""


# ---- virtual services -----------------------------------------------------------------------------
def _services(ctx: RuleContext) -> Iterator[Finding]:
    """Every virtual service whose name is the host of another one of its mesh, reported against the one
    spelled as the host itself (lower case, no final dot), else the first by name: never by file order
    (exact duplicates are duplicate-resource's: the model keeps only the first of those)."""
    groups: dict[tuple[str, str, str], list[VirtualService]] = {}
    for service in ctx.model.services.values():
        if has_placeholder(service.name):
            continue  # `${Env}.shop.local` and `${ENV}.shop.local` are different unknowns
        key = (service.mesh, _scope(service.mesh, service.origin.path), hostname_key(service.name))
        groups.setdefault(key, []).append(service)
    for (_, _, host), services in groups.items():
        kept, *others = sorted(services, key=lambda s: (s.name != host, s.name))
        for service in others:
            yield _service_finding(service, kept)


def _service_finding(service: VirtualService, other: VirtualService) -> Finding:
    if service.name.rstrip(".") == other.name.rstrip("."):
        why = ("a final dot only marks the name as absolute, yet Envoy compares Host headers without removing "
               "it: callers reach one service or the other depending on how they spell the name")
    else:
        why = ("Envoy matches Host case-insensitively and rejects a route table that holds both names, so a "
               "client with both as backends cannot be configured (meshlint build leaves the second out) and "
               "which service callers reach depends on ordering")
    return finding(SLUG, service, service.origin.pointer("virtualServiceName"),
                   f"virtual service {service.name!r} claims the same hostname as virtual service {other.name!r}: "
                   f"{why}",
                   f"rename one of them, or delete {service.name!r} if both mean the same service (write "
                   "hostnames in lower case, without a final dot)")
