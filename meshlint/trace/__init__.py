"""`meshlint trace`: where a request goes through the compiled Envoys, hop by hop, and why.

The proxies on the path are compiled in memory by the compiler itself, and read as Envoy reads them; the
route matches and their order come from the one implementation the compiler uses (model/routing.py,
model/matching.py). Pure: no I/O here.
"""

from __future__ import annotations

from dataclasses import dataclass

from meshlint.compile import ValidatedMesh
from meshlint.compile.envoy.context import Ctx
from meshlint.compile.envoy.options import CompileOptions
from meshlint.diagnostics import Finding, ResourceRef
from meshlint.model.entities import VirtualGateway, VirtualNode
from meshlint.trace.request import RequestError, TraceRequest, parse_request
from meshlint.trace.result import Trace
from meshlint.trace.walk import Tracer, from_gateway, from_node

__all__ = ["OriginError", "RequestError", "TraceRequest", "Traced", "parse_request", "resolve_origin", "trace"]


class OriginError(ValueError):
    """`--from` names no virtual node or gateway, or several (a usage error)."""


@dataclass(frozen=True)
class Traced:
    trace: Trace
    on_path: frozenset[ResourceRef]  # resources the request meets: check's findings on them belong to it
    findings: list[Finding]  # what the compiler reported while compiling the proxies on the path


def resolve_origin(mesh: ValidatedMesh, text: str) -> VirtualNode | VirtualGateway:
    """NODE, gateway/GATEWAY, MESH/NODE or MESH/gateway/GATEWAY; unique across the loaded meshes."""
    model = mesh.model
    parts = text.split("/")
    candidates: list[VirtualNode | VirtualGateway] = []
    if len(parts) == 1:
        candidates += [n for (_, name), n in sorted(model.nodes.items()) if name == parts[0]]
        if not candidates:
            candidates += [g for (_, name), g in sorted(model.gateways.items()) if name == parts[0]]
    elif len(parts) == 2:
        if parts[0] == "gateway":
            candidates += [g for (_, name), g in sorted(model.gateways.items()) if name == parts[1]]
        node = model.nodes.get((parts[0], parts[1]))
        candidates += [node] if node is not None else []
    elif len(parts) == 3 and parts[1] == "gateway":
        gateway = model.gateways.get((parts[0], parts[2]))
        candidates += [gateway] if gateway is not None else []
    if len(candidates) == 1:
        return candidates[0]
    if candidates:
        meshes = ", ".join(sorted({c.mesh for c in candidates}))
        raise OriginError(f"--from {text!r} is in several meshes ({meshes}): write MESH/{text}")
    raise OriginError(f"--from {text!r}: no such virtual node or gateway{_known(mesh)}")


def _known(mesh: ValidatedMesh) -> str:
    several = len({m for m, _ in (*mesh.model.nodes, *mesh.model.gateways)}) > 1
    names = [f"{m}/{n}" if several else n for m, n in sorted(mesh.model.nodes)]
    names += [f"{m}/gateway/{n}" if several else f"gateway/{n}" for m, n in sorted(mesh.model.gateways)]
    if not names:
        return " (the input has none)"
    shown = ", ".join(names[:12]) + (f" and {len(names) - 12} more" if len(names) > 12 else "")
    return f" (known: {shown})"


def trace(mesh: ValidatedMesh, origin: VirtualNode | VirtualGateway, request: TraceRequest,
          options: CompileOptions | None = None) -> Traced:
    """Follow `request` from `origin` (its app's call, or a client of the gateway)."""
    tracer = Tracer(Ctx(mesh.model, mesh.graph, options or CompileOptions()))
    tracer.seen.add(origin.ref)
    if isinstance(origin, VirtualNode):
        hops, outcome = from_node(tracer, origin, request)
        kind = "virtual node"
    else:
        hops, outcome = from_gateway(tracer, origin, request)
        kind = "virtual gateway"
    result = Trace(f"{kind} {origin.name}", origin.mesh, request, tuple(hops), outcome)
    refs = frozenset(tracer.seen)
    return Traced(result, refs, [f for f in tracer.ctx.findings if f.resource in refs])
