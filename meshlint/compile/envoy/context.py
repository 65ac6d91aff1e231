"""What every generator reads (model, graph, options) and the one place findings are collected."""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from meshlint.compile.envoy.envoy_json import Json
from meshlint.compile.envoy.options import CompileOptions
from meshlint.diagnostics import Finding
from meshlint.model.entities import MeshModel, Resource, VirtualNode
from meshlint.model.graph import MeshGraph

if TYPE_CHECKING:
    from meshlint.compile.envoy.services import PortEntry

RULE = "not-compilable"


@dataclass
class Ctx:
    """Read-only inputs plus an append-only findings list; generators never mutate the model. What every client
    of a virtual service sees of it is made once (`service_entries`)."""

    model: MeshModel
    graph: MeshGraph
    options: CompileOptions
    findings: list[Finding] = field(default_factory=list)
    service_entries: dict[tuple[str, str], list[PortEntry]] = field(default_factory=dict)
    target_fields: dict[tuple[int, int], Json] = field(default_factory=dict)  # clusters._of_target
    sds_secrets: int = 0  # SDS secret configs made so far (tls.sds_secret): a proxy that made none needs no SDS cluster

    @property
    def legacy(self) -> bool:
        return self.options.appmesh_defaults == "legacy"

    def report(self, resource: Resource, pointer: str, message: str, help: str) -> None:
        self.findings.append(Finding(RULE, message, resource.origin.path, pointer, resource.origin.doc, help,
                                     resource.ref))

    def egress_filter(self, mesh: str) -> str:
        spec = self.model.meshes[mesh].spec if mesh in self.model.meshes else None
        if spec is None or spec.egress_filter is None:
            return "DROP_ALL"
        return spec.egress_filter.type

    def ip_preference(self, node: VirtualNode | None, mesh: str) -> str | None:
        """The node's own `ipPreference` wins over the mesh's (meshes.md, virtual_nodes.md)."""
        if node is not None and node.spec.service_discovery is not None:
            sd = node.spec.service_discovery
            own = sd.dns.ip_preference if sd.dns else sd.aws_cloud_map.ip_preference if sd.aws_cloud_map else None
            if own is not None:
                return own
        mesh_res = self.model.meshes.get(mesh)
        if mesh_res is None or mesh_res.spec.service_discovery is None:
            return None
        return mesh_res.spec.service_discovery.ip_preference

    def cert_path(self, path: str) -> str:
        """A certificate path from the mesh spec, re-rooted under `cert_path_prefix` when set."""
        prefix = self.options.cert_path_prefix
        return path if prefix is None else posixpath.join(prefix, path.lstrip("/"))


@dataclass(frozen=True)
class Proxy:
    """The Envoy being generated: identity plus the per-filter pieces every HCM / tcp_proxy carries."""

    mesh: str
    name: str
    kind: str  # names.NODE_KIND | names.GATEWAY_KIND
    access_log: tuple[Json, ...]
    tracing: Json


def unique_findings(findings: list[Finding]) -> list[Finding]:
    """Drop repeats (one target seen from many proxies) and sort by place, then message."""
    seen: dict[tuple[str, int, str, str], Finding] = {}
    for f in findings:
        seen.setdefault((f.path, f.doc, f.pointer, f.message), f)
    return [seen[k] for k in sorted(seen)]
