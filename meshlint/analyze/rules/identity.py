"""Identity rules: duplicate-backend, duplicate-target, service-name-not-fqdn."""

from __future__ import annotations

import re
from collections.abc import Iterator

from meshlint.analyze.context import RuleContext, finding, rule
from meshlint.diagnostics import Finding
from meshlint.model.graph import has_placeholder

# A DNS name of at least two labels (letters, digits, '_' and '-', no leading/trailing '-'), optional final dot.
_LABEL = r"(?!-)[A-Za-z0-9_-]+(?<!-)"  # '_' is legal in DNS names (not in host names); lengths are not judged
_FQDN = re.compile(rf"{_LABEL}(\.{_LABEL})+\.?")


@rule("duplicate-backend")
def duplicate_backend(ctx: RuleContext) -> Iterator[Finding]:
    for node in ctx.model.nodes.values():
        if node.origin.format == "kubernetes":
            continue  # the controller refused the object (duplicate-backend-ref)
        seen: dict[str, int] = {}
        for i, backend in enumerate(node.spec.backends or ()):
            if backend.virtual_service is None:
                continue
            name = backend.virtual_service.virtual_service_name
            if name in seen:
                yield finding("duplicate-backend", node,
                              node.spec_pointer("backends", i, "virtualService", "virtualServiceName"),
                              f"virtual node {node.name!r} lists the backend {name!r} twice (entries {seen[name] + 1} "
                              f"and {i + 1})",
                              "delete one entry; if both carry a clientPolicy, keep the one that should apply")
            else:
                seen[name] = i


@rule("duplicate-target")
def duplicate_target(ctx: RuleContext) -> Iterator[Finding]:
    for route in ctx.model.routes.values():
        seen: dict[tuple[str, int | None], int] = {}
        targets = ctx.graph.targets(route)
        for i, target in enumerate(targets):
            key = (target.node, target.port)
            if key not in seen:
                seen[key] = i
                continue
            first = targets[seen[key]]
            on_port = f" (port {target.port})" if target.port is not None else ""
            yield finding("duplicate-target", route, target.pointer + "/virtualNode",
                          f"route {route.qualified_name!r} lists the target {target.node!r}{on_port} twice, with "
                          f"weights {first.weight} and {target.weight}; it gets {first.weight + target.weight} in "
                          "total",
                          f"merge the entries into one with weight {first.weight + target.weight}")


@rule("service-name-not-fqdn")
def service_name_not_fqdn(ctx: RuleContext) -> Iterator[Finding]:
    for service in ctx.model.services.values():
        if _FQDN.fullmatch(service.name) or has_placeholder(service.name) or len(service.name) > 255:
            continue  # a placeholder's value is unknown (unresolved-value / template-placeholder report it); App
            # Mesh refused a name over 255 characters (schema)
        what = ("is a short name, not a fully qualified domain name" if "." not in service.name.strip(".")
                else "is not a valid DNS hostname")
        yield finding("service-name-not-fqdn", service, service.origin.pointer("virtualServiceName"),
                      f"virtual service name {service.name!r} {what}; the proxy matches requests by the exact "
                      "hostname the application calls, and calls under any other spelling bypass the mesh",
                      f"name the service by the hostname the applications call, e.g. "
                      f"'{_suggest(service.name, service.mesh)}'")


def _suggest(name: str, mesh: str) -> str:
    bare = re.sub(r":[0-9]*$", "", name).strip(".")  # 'orders.shop.local:8080': the port is not part of it
    labels = [re.sub(r"[^A-Za-z0-9_-]+", "-", label).strip("-") for label in bare.split(".")]
    labels = [label for label in labels if label] or ["service"]
    return ".".join(labels) if len(labels) > 1 else f"{labels[0]}.{mesh}.local"
