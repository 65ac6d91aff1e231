"""What the topology diagram shows about a connection or a resource, read off the mesh graph: the TLS state
of each connection and the drawn edges of a reported routing cycle. (How it looks is dot_style.py.)

TLS state of a connection (a client -> every node behind the service), the weaker end winning:
  mTLS       the client enforces TLS with a certificate, and the listener is STRICT and validates clients
  TLS        TLS is enforced on both ends, but one of them does not authenticate the other
  permissive the listener is PERMISSIVE: this client may use TLS, but plaintext is accepted too
  plaintext  no client TLS policy, enforce false, ports not covered, or a listener without TLS / DISABLED
  broken     the handshake cannot succeed (model.tls: TLS enforced towards plaintext, or mutual TLS without a
             client certificate), whatever the other listeners behind the service do
App Mesh: https://docs.aws.amazon.com/app-mesh/latest/userguide/tls.html and mutual-tls.html
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from meshlint.compile.dot_writer import NoHtml
from meshlint.diagnostics import Diagnostic
from meshlint.model.entities import MeshKey
from meshlint.model.graph import MeshGraph
from meshlint.model.tls import enforced, handshake_failure

TLS_STATES = ("broken", "plaintext", "permissive", "tls", "mtls")  # weakest first


@dataclass(frozen=True)
class Findings:
    """Check's findings as the diagram draws them."""

    unreachable: frozenset[MeshKey]
    red: frozenset[tuple[str, str]]  # (tail, head) of drawn edges on a reported cycle


# ---- TLS ----------------------------------------------------------------------------------------------------
def listener_state(tls: Any) -> str:
    if tls is None or tls.mode == "DISABLED":
        return "plaintext"
    if tls.mode == "PERMISSIVE":
        return "permissive"
    return "mtls" if tls.validation is not None else "tls"


def client_state(policy: Any) -> str:
    if policy is None or policy.enforce is False:
        return "plaintext"
    return "mtls" if policy.certificate is not None else "tls"


def connection_state(graph: MeshGraph, mesh: str, service: str, policy: Any) -> str:
    """The weakest of the client end and the listener of every node that `service` delivers to.

    A client policy limited to `ports` covers only listeners on those ports; when none of the ports the
    service listens on is covered, the client sends plaintext."""
    covered = set(policy.ports) if policy is not None and policy.ports else None
    states = [client_state(policy)]
    ports = graph.service_ports(mesh, service)
    if covered is not None and ports and covered.isdisjoint(ports):
        states.append("plaintext")
    for _, target in graph.service_paths(mesh, service):
        node = graph.model.nodes.get((mesh, target))
        for listener in (node.spec.listeners or ()) if node is not None else ():
            if handshake_failure(enforced(policy), listener) is not None:
                states.append("broken")
            elif covered is None or listener.port_mapping.port in covered:
                states.append(listener_state(listener.tls))
    return min(states, key=TLS_STATES.index)


# ---- findings -------------------------------------------------------------------------------------------
def findings(graph: MeshGraph, diagnostics: Sequence[Diagnostic]) -> Findings:
    """The nodes `unreachable-node` reported, and the edges of each cycle `routing-cycle` reported (a rule
    switched off draws nothing)."""
    unreachable = frozenset((d.resource.mesh, d.resource.name) for d in diagnostics
                            if d.rule == "unreachable-node" and d.resource and d.resource.kind == "VirtualNode")
    reported = {(d.resource.mesh, d.resource.name) for d in diagnostics
                if d.rule == "routing-cycle" and d.resource is not None}
    component_of: dict[MeshKey, int] = {}
    for index, component in enumerate(graph.cycles()):
        if reported.intersection(component):
            component_of.update(dict.fromkeys(component, index))
    return Findings(unreachable, frozenset(_cycle_edges(graph, component_of)))


def _cycle_edges(graph: MeshGraph, component_of: dict[MeshKey, int]) -> Iterator[tuple[str, str]]:
    """The drawn edges along each reported cycle: backend call, service -> provider, and the route used."""
    for (mesh, node), component in sorted(component_of.items()):
        for service, hops, target in graph.node_edges((mesh, node)):
            if component_of.get((mesh, target)) != component:
                continue
            service_id = dot_id("VirtualService", mesh, service)
            target_id = dot_id("VirtualNode", mesh, target)
            yield dot_id("VirtualNode", mesh, node), service_id
            provider = graph.provider(mesh, service)
            if hops and provider is not None:
                yield service_id, dot_id("VirtualRouter", mesh, provider.name)
                yield hops[0].name, target_id
            else:
                yield service_id, target_id


# ---- names ----------------------------------------------------------------------------------------------
def printable(text: str) -> str:
    """`text` with what Graphviz or XML cannot carry written as a visible escape: control characters (NUL
    makes `dot` reject the file; the others make the SVG ill-formed XML), lone surrogates (not encodable as
    UTF-8) and the non-characters U+FFFE/U+FFFF. The App Mesh API never accepted such names, but check draws
    whatever it was given."""
    return text.translate(_UNPRINTABLE) if _NEEDS_ESCAPE.search(text) else text


def text(value: str) -> str:
    """A name as DOT label text: backslashes kept literally (Graphviz reads \\n, \\l, \\N ... in labels as
    escapes); a trailing one gets a space, or it would escape the closing quote. '&' as '&amp;': Graphviz reads
    entities in labels and copies them into the SVG, where an unknown one is not XML. Control characters
    escaped visibly (printable)."""
    escaped = printable(value).replace("&", "&amp;").replace("\\", "\\\\")
    return escaped + " " if escaped.endswith("\\") else escaped


def label(lines: Sequence[str]) -> str:
    """Lines as one plain (not HTML-like) DOT label."""
    return NoHtml("\\n".join(text(line) for line in lines if line))


@lru_cache(maxsize=1 << 16)  # each resource's id is asked for again by every edge that touches it
def dot_id(kind: str, mesh: str, name: str) -> str:
    """`Kind/mesh/name`, with the characters DOT would misread percent-encoded (':' separates ports in edge
    statements; a backslash before the closing quote would escape it; Graphviz copies '&...;' into the SVG
    as an entity) and those printable() escapes."""
    return "/".join(p.translate(_ID_ESCAPES) for p in (kind, mesh, name))


_NEEDS_ESCAPE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
_ESCAPED = [*range(0x20), *range(0x7F, 0xA0), *range(0xD800, 0xE000), 0xFFFE, 0xFFFF]
_UNPRINTABLE = {c: (f"\\x{c:02x}" if c < 0x100 else f"\\u{c:04x}") for c in _ESCAPED}
_ID_ESCAPES = {ord("%"): "%25", ord(":"): "%3A", ord("\\"): "%5C", ord('"'): "%22", ord("&"): "%26",
               **{c: "".join(f"%{b:02X}" for b in chr(c).encode("utf-8", "surrogatepass")) for c in _ESCAPED}}
