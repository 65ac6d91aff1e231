"""The Terraform -> App Mesh API field mapping (generated: provider_schema.json), as typed nodes.

Each `aws_appmesh_*` resource is a tree of blocks; an attribute maps to its API name (None: the provider
sends nothing, e.g. `grpc_route.match.prefix`), a block to its API name and shape: `one` (MaxItems 1: a
single object in the API), `list` or `set` (an API array). A block whose members form an unguarded union
carries the provider's expand order (the last member given wins).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

# Values the provider fills in when the enclosing block is given (design/terraform-appmesh.md: the mesh's
# egress filter type defaults to DROP_ALL, a client policy's `tls.enforce` to true).
DEFAULTS: dict[str, dict[str, Any]] = {
    "spec.egress_filter": {"type": "DROP_ALL"},
    "spec.backend_defaults.client_policy.tls": {"enforce": True},
    "spec.backend.virtual_service.client_policy.tls": {"enforce": True},
}
# gRPC `match` is optional in Terraform but required by the API: the provider always sends one (issue #16816)
ALWAYS = {"spec.grpc_route": "match"}


@dataclass(frozen=True)
class AttrSpec:
    api: str | None
    type: str  # string, number, bool, set(string), list(string), map(string), ...
    required: bool
    zero_unset: bool  # the provider sends it only when > 0


@dataclass(frozen=True)
class BlockSpec:
    api: str | None
    mode: str  # one, list, set
    node: NodeSpec
    union: tuple[str, ...] | None


@dataclass(frozen=True)
class NodeSpec:
    attrs: dict[str, AttrSpec]
    blocks: dict[str, BlockSpec]


def _node(raw: dict[str, Any]) -> NodeSpec:
    attrs = {k: AttrSpec(v[0], v[1], "r" in v[2], "z" in v[2]) for k, v in raw["attrs"].items()}
    blocks = {k: BlockSpec(v[0], v[1], _node(v[2]), tuple(v[3]) if v[3] else None) for k, v in raw["blocks"].items()}
    return NodeSpec(attrs, blocks)


@cache
def resources() -> dict[str, tuple[str, NodeSpec]]:
    """Terraform resource type -> (App Mesh kind, its mapping)."""
    raw = json.loads((Path(__file__).parent / "provider_schema.json").read_text(encoding="utf-8"))
    return {name: (kind, _node(node)) for name, (kind, node) in raw["resources"].items()}
