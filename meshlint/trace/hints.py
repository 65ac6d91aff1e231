"""Why a request is dropped, in plain words, and what would let it through."""

from __future__ import annotations

from meshlint.compile.envoy.context import Ctx
from meshlint.compile.envoy.envoy_json import Json
from meshlint.trace.envoy import network_filter
from meshlint.trace.request import TraceRequest
from meshlint.trace.result import Drop


def served(listener: Json) -> dict[int, list[str]]:
    """Port -> the hosts (virtual services) an egress listener routes on it; `TCP` for a TCP chain."""
    out: dict[int, list[str]] = {}
    for chain in listener.get("filter_chains", ()):
        match = chain.get("filter_chain_match", {})
        port = match.get("destination_port")
        if port is None or match.get("server_names"):
            continue
        kind, fields = network_filter(chain)
        if kind == "tcp":
            out.setdefault(port, []).append("TCP")
        else:
            out.setdefault(port, []).extend(str(v["name"]) for v in fields["route_config"]["virtual_hosts"]
                                            if v["name"] != "allow_all")
    return out


def _listing(ports: dict[int, list[str]]) -> str:
    return "; ".join(f"{port}: {', '.join(names)}" for port, names in sorted(ports.items())) or "none"


def no_chain(ctx: Ctx, mesh: str, boot: Json, listener: Json, request: TraceRequest, port: int) -> Drop:
    """No filter chain for the port: DROP_ALL closes the connection (App Mesh's "No matching filter chain")."""
    ports = served(listener)
    elsewhere = [p for p, hosts in ports.items() if request.host.lower() in (h.lower() for h in hosts)]
    if elsewhere:
        fix = f"{request.host} is served on port {elsewhere[0]}: use http://{request.host}:{elsewhere[0]}{request.path}"
    else:
        fix = f"the backends are served on these ports: {_listing(ports)}"
    return Drop(None, f"no egress filter chain for port {port} ({ctx.egress_filter(mesh)}): Envoy closes the "
                "connection", fix)


def no_vhost(ctx: Ctx, mesh: str, table: Json, request: TraceRequest, port: int, gateway: bool) -> Drop:
    """No virtual host for the Host on a known port: 404 (`http.egress.no_route`)."""
    host = request.authority.lower()
    names = [str(v["name"]) for v in table.get("virtual_hosts", ())]
    bare = host.rsplit(":", 1)[0] if ":" in host and not host.endswith("]") else host
    if bare != host and bare in (n.lower() for n in names):
        fix = (f"Host {request.authority} names a port the virtual host does not accept; send Host {bare} or "
               f"{bare}:{port}")
    elif not gateway and (mesh, bare) in {(m, n.lower()) for m, n in ctx.model.services}:
        fix = f"{bare} is a virtual service of mesh {mesh}, but not a backend of this node: add it to spec.backends"
    else:
        fix = f"the hosts routed on port {port}: {', '.join(names) or 'none'}"
    return Drop(404, f"no virtual host for Host {request.authority!r} on port {port}: Envoy answers 404 "
                f"({ctx.egress_filter(mesh)})", fix)


def no_route(vhost: Json, service: str | None, provider: str | None, gateway: bool) -> Drop:
    if gateway:
        return Drop(404, "no gateway route matches the request: Envoy answers 404",
                    "add a gateway route that matches it, or change the request")
    owner = provider or f"virtual service {service or vhost['name']}"
    return Drop(404, f"no route of {owner} matches the request: Envoy answers 404",
                "add a route that matches it (a catch-all prefix / evaluated last), or change the request")
