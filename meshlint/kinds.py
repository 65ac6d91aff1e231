"""The App Mesh resource kinds and the keys that name them, and the `KIND:MESH/NAME` spelling users write to
name a resource on the command line or in the config (fragments, external resources).

A leaf module: it imports nothing from the rest of meshlint.
"""

from __future__ import annotations

KINDS = ("Mesh", "VirtualService", "VirtualRouter", "Route", "VirtualNode", "VirtualGateway", "GatewayRoute")
NAME_KEY = {"Mesh": "meshName", "VirtualService": "virtualServiceName", "VirtualRouter": "virtualRouterName",
            "Route": "routeName", "VirtualNode": "virtualNodeName", "VirtualGateway": "virtualGatewayName",
            "GatewayRoute": "gatewayRouteName"}
PARENT_KEY = {"Route": "virtualRouterName", "GatewayRoute": "virtualGatewayName"}


def parse_resource_name(text: str) -> tuple[str, dict[str, str]]:
    """`Kind:mesh/name` (`Route:mesh/router/name`, `GatewayRoute:mesh/gateway/name`, `Mesh:mesh`) -> (kind,
    the API's name keys and their values). Raises ValueError saying what is wrong."""
    kind, _, names = text.partition(":")
    if kind not in KINDS:
        raise ValueError(f"{text!r}: expected KIND:MESH/NAME with KIND one of {', '.join(KINDS)}")
    wanted = ["meshName"] if kind == "Mesh" else [k for k in ("meshName", PARENT_KEY.get(kind), NAME_KEY[kind]) if k]
    parts = names.split("/")
    if len(parts) != len(wanted) or not all(parts):
        shape = "/".join(w.removesuffix("Name").upper() for w in wanted)
        raise ValueError(f"{text!r}: a {kind} is named {kind}:{shape}")
    return kind, dict(zip(wanted, parts, strict=True))


def qualified_name(kind: str, names: dict[str, str]) -> str:
    """The name diagnostics and declarations use: `<router>/<route>` for routes, the mesh's name for a mesh."""
    parent = names.get(PARENT_KEY[kind]) if kind in PARENT_KEY else None
    own = names[NAME_KEY[kind]]
    return f"{parent}/{own}" if parent is not None else own
