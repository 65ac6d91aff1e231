"""Generated meshes and requests for the differential test of `meshlint trace` against real Envoy.

A `Scenario` is one mesh and the requests sent through it:

* nodes t0..t2 (one plaintext http listener each, on ports fixed per test module) whose apps say who they are;
* 1-3 virtual services s<i>.diff.local, each provided by a router r<i> listening on the one router port,
  with 1-6 routes: prefixes, exact paths and regexes from small vocabularies (so that routes overlap),
  headers (exact, prefix, suffix, regex, range, present; sometimes inverted), methods, query parameters,
  priorities (often equal, often absent), and one target at weight 100 (sometimes another at 0), so the
  answer is deterministic;
* the node `front` whose backends are those services, and a virtual gateway with two listeners and 1-4
  gateway routes (prefix with the default, a given or no prefix rewrite; exact path with or without a path
  rewrite; regex; hostname exact or suffix; headers, method, query parameters; sometimes one listener's
  port; hostname rewrite on or off);
* requests to `front` and to the gateway, most built to satisfy one route and then sometimes broken in one
  place, the rest drawn from the same vocabularies; an unknown Host now and then.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml
from hypothesis import strategies as st

MESH = "diff"
NODES = ("t0", "t1", "t2")
GATEWAY = "gw"
PREFIXES = ("/", "/a", "/a/", "/a/b", "/api", "/api/v1", "/b")
EXACTS = ("/a", "/a/b", "/api/v1/x", "/b/", "/a/1")
# RE2 and Python agree on these; each with paths that match it
REGEXES: dict[str, tuple[str, ...]] = {
    "/a/[0-9]+": ("/a/1", "/a/42"),
    "/api/.*": ("/api/", "/api/v1/x"),
    "/(a|b)/x": ("/a/x", "/b/x"),
    "/a.*": ("/a", "/ab/c"),
    "/[a-z]+": ("/a", "/api"),
    ".*/x": ("/x", "/b/x"),
}
PATHS = ("/", "/a", "/a/", "/a/b", "/a/1", "/a/12", "/a/x", "/ab/c", "/api", "/api/", "/api/v1", "/api/v1/x",
         "/b", "/b/", "/b/x", "/c", "/x", "/A", "/a//b", "/a/./b", "/x/../a/1", "/api/v1/../x", "/%61/1",
         "/a/%2e%2e/b/x", "/a%2Fb", "/a\\b", "/api/v1/.", "/a/1/",
         "/%41pi/v1", "/a/.%2e/b/x", "/%7e/x", "/b%2fx", "/a/%31")
QUERIES = ("", "", "", "?q=1", "?v=2", "?q=x&v=2", "?q", "?q=2&q=1", "?v=1%202", "?q=%31", "?Q=1&q=2")
HEADERS = ("x-a", "x-b")
VALUES = ("1", "7", "42", "v1", "v2", "abc", "abcdef", "-3", " 5 ", "")
STRING_KINDS: dict[str, tuple[str, ...]] = {
    "exact": ("1", "v1", "abc"), "prefix": ("v", "a", "ab"), "suffix": ("1", "c", "f"),
    "regex": ("v[0-9]+", "[a-c]+", "-?[0-9]+"),
}
METHODS = ("GET", "POST", "PUT")
HOSTS = ("api.example.com", "API.example.com", "www.example.com", "x.example.org", "other.net", "s0.diff.local",
         "api.example.com.")

Doc = dict[str, Any]


@dataclass(frozen=True)
class Request:
    """One request of a scenario: to `front` (its app calling a service) or to the gateway."""

    via: str  # "front" | "gateway" | "gateway2" (the gateway's second listener)
    host: str
    path: str
    method: str = "GET"
    headers: tuple[tuple[str, str], ...] = ()


@dataclass
class Scenario:
    docs: list[Doc] = field(default_factory=list)
    requests: list[Request] = field(default_factory=list)

    def __repr__(self) -> str:  # a failing example prints the mesh and the requests that disagreed
        return f"Scenario({len(self.docs)} documents, {len(self.requests)} requests)"

    def yaml(self, ports: dict[str, int]) -> str:
        """The mesh with the module's ports filled in: `router`, `gateway` and one per node."""
        return yaml.safe_dump_all(_fill(self.docs, ports), sort_keys=False)


def _fill(node: Any, ports: dict[str, int]) -> Any:
    if isinstance(node, dict):
        return {k: _fill(v, ports) for k, v in node.items()}
    if isinstance(node, list):
        return [_fill(v, ports) for v in node]
    if isinstance(node, str) and node.startswith("$port:"):
        return ports[node.removeprefix("$port:")]
    return node


# ---- matches ---------------------------------------------------------------------------------------
@st.composite
def header_match(draw: st.DrawFn) -> Doc:
    out: Doc = {"name": draw(st.sampled_from(HEADERS))}
    kind = draw(st.sampled_from(("exact", "prefix", "suffix", "regex", "range", "present")))
    if kind == "range":
        start = draw(st.integers(-5, 40))
        out["match"] = {"range": {"start": start, "end": start + draw(st.integers(1, 20))}}
    elif kind != "present":
        out["match"] = {kind: draw(st.sampled_from(STRING_KINDS[kind]))}
    if draw(st.integers(0, 3)) == 0:
        out["invert"] = True
    return out


@st.composite
def http_match(draw: st.DrawFn, *, gateway: bool = False) -> Doc:
    kind = draw(st.sampled_from(("prefix", "prefix", "exact", "regex")))
    match: Doc
    if kind == "prefix":
        match = {"prefix": draw(st.sampled_from(PREFIXES))}
    elif kind == "exact":
        match = {"path": {"exact": draw(st.sampled_from(EXACTS))}}
    else:
        match = {"path": {"regex": draw(st.sampled_from(sorted(REGEXES)))}}
    headers = draw(st.lists(header_match(), max_size=2, unique_by=lambda h: h["name"]))
    if headers:
        match["headers"] = headers
    if draw(st.integers(0, 3)) == 0:
        match["method"] = draw(st.sampled_from(METHODS))
    params = draw(st.lists(st.sampled_from(("q", "v")), max_size=2, unique=True))
    if params:
        match["queryParameters"] = [
            {"name": p, **({"match": {"exact": draw(st.sampled_from(("1", "2", "x")))}} if draw(st.booleans())
                           else {})} for p in params]
    if gateway and draw(st.integers(0, 3)) == 0:
        match["port"] = draw(st.sampled_from(("$port:gateway", "$port:gateway2")))
    if gateway and draw(st.integers(0, 2)) == 0:
        match["hostname"] = draw(st.sampled_from(({"exact": "api.example.com"}, {"suffix": ".example.com"},
                                                  {"exact": "x.example.org"})))
    return match


_PRIORITY = st.sampled_from((None, None, 0, 1, 2, 5, 1000))


@st.composite
def route(draw: st.DrawFn, router: str, index: int) -> Doc:
    target = draw(st.sampled_from(NODES))
    targets: list[Doc] = [{"virtualNode": target, "weight": 100}]
    if draw(st.booleans()):
        targets.append({"virtualNode": draw(st.sampled_from([n for n in NODES if n != target])), "weight": 0})
    spec: Doc = {"httpRoute": {"match": draw(http_match()), "action": {"weightedTargets": targets}}}
    priority = draw(_PRIORITY)
    if priority is not None:
        spec = {"priority": priority, **spec}
    return {"meshName": MESH, "virtualRouterName": router, "routeName": f"route-{index}", "spec": spec}


@st.composite
def gateway_route(draw: st.DrawFn, index: int, services: int) -> Doc:
    match = draw(http_match(gateway=True))
    action: Doc = {"target": {"virtualService": {"virtualServiceName": f"s{draw(st.integers(0, services - 1))}"
                                                 f".{MESH}.local"}}}
    rewrite: Doc = {}
    if "prefix" in match:
        choice = draw(st.sampled_from(("default", "default", "value", "disabled")))
        if choice == "value":
            rewrite["prefix"] = {"value": draw(st.sampled_from(("/", "/a/", "/api/v1/")))}
        elif choice == "disabled":
            rewrite["prefix"] = {"defaultPrefix": "DISABLED"}
    elif "exact" in match.get("path", {}) and draw(st.booleans()):
        rewrite["path"] = {"exact": draw(st.sampled_from(EXACTS))}
    if draw(st.integers(0, 3)) == 0:
        rewrite["hostname"] = {"defaultTargetHostname": "DISABLED"}
    if rewrite:
        action["rewrite"] = rewrite
    spec: Doc = {"httpRoute": {"match": match, "action": action}}
    priority = draw(_PRIORITY)
    if priority is not None:
        spec = {"priority": priority, **spec}
    return {"meshName": MESH, "virtualGatewayName": GATEWAY, "gatewayRouteName": f"groute-{index}", "spec": spec}


# ---- requests --------------------------------------------------------------------------------------
def _satisfying(draw: st.DrawFn, match: Doc) -> tuple[str, str, list[tuple[str, str]]]:
    """(path, method, headers) a route's match takes, for the route to be tried on purpose."""
    if "prefix" in match:
        path = match["prefix"] + draw(st.sampled_from(("", "x", "/1", "1/x")))
    elif "exact" in match["path"]:
        path = match["path"]["exact"]
    else:
        path = draw(st.sampled_from(REGEXES[match["path"]["regex"]]))
    params = [p["name"] + ("=" + p["match"]["exact"] if "match" in p else "") for p in match.get("queryParameters", ())]
    if params:
        path += "?" + "&".join(params)
    headers = [(h["name"], _header_value(h)) for h in match.get("headers", ())
               if not (h.get("invert") and "match" not in h)]
    return path, match.get("method", "GET"), headers


def _header_value(h: Doc) -> str:
    m = h.get("match")
    if h.get("invert"):
        return "!!"  # matches none of the generated conditions, so the inverted one holds
    if m is None:
        return "yes"
    if "range" in m:
        return str(m["range"]["start"])
    if "exact" in m:
        return str(m["exact"])
    if "prefix" in m:
        return f"{m['prefix']}1"
    if "suffix" in m:
        return f"a{m['suffix']}"
    return {"v[0-9]+": "v7", "[a-c]+": "cab", "-?[0-9]+": "-12"}[m["regex"]]


@st.composite
def request(draw: st.DrawFn, via: str, matches: list[Doc], services: int) -> Request:
    if matches and draw(st.integers(0, 3)) > 0:
        match = draw(st.sampled_from(matches))
        path, method, headers = _satisfying(draw, match)
        if draw(st.integers(0, 2)) == 0:  # break it in one place
            spoil = draw(st.sampled_from(("path", "method", "header", "query")))
            if spoil == "path":
                path = draw(st.sampled_from(PATHS))
            elif spoil == "method":
                method = draw(st.sampled_from(METHODS))
            elif spoil == "header" and headers:
                headers = headers[1:]
            else:
                path = path.split("?")[0] + draw(st.sampled_from(QUERIES))
        host = _host(draw, via, match, services)
    else:
        path = draw(st.sampled_from(PATHS)) + draw(st.sampled_from(QUERIES))
        method = draw(st.sampled_from(METHODS))
        headers = draw(st.lists(st.tuples(st.sampled_from(HEADERS), st.sampled_from(VALUES)), max_size=3))
        host = _host(draw, via, {}, services)
    return Request(via, host, path, method, tuple(headers))


def _host(draw: st.DrawFn, via: str, match: Doc, services: int) -> str:
    if via != "front":
        wanted = match.get("hostname", {})
        if "exact" in wanted and draw(st.integers(0, 3)) > 0:
            return str(wanted["exact"]) + draw(st.sampled_from(("", ":8443")))
        return draw(st.sampled_from(HOSTS))
    service = f"s{draw(st.integers(0, services - 1))}.{MESH}.local"
    form = draw(st.sampled_from(("plain", "plain", "plain", "port", "upper", "unknown", "dot")))
    if form == "port":
        return f"{service}:$port"
    if form == "upper":
        return service.upper()
    if form == "dot":
        return f"{service}."
    return f"nowhere.{MESH}.local" if form == "unknown" else service


# ---- the mesh ------------------------------------------------------------------------------------
def _base(services: int) -> list[Doc]:
    docs: list[Doc] = [{"meshName": MESH, "spec": {}}]
    for name in NODES:
        docs.append({"meshName": MESH, "virtualNodeName": name, "spec": {
            "listeners": [{"portMapping": {"port": f"$port:{name}", "protocol": "http"}}],
            "serviceDiscovery": {"dns": {"hostname": f"{name}.{MESH}.local"}}}})
    backends = [{"virtualService": {"virtualServiceName": f"s{i}.{MESH}.local"}} for i in range(services)]
    docs.append({"meshName": MESH, "virtualNodeName": "front", "spec": {
        "backends": backends, "serviceDiscovery": {"dns": {"hostname": f"front.{MESH}.local"}}}})
    for i in range(services):
        docs.append({"meshName": MESH, "virtualServiceName": f"s{i}.{MESH}.local",
                     "spec": {"provider": {"virtualRouter": {"virtualRouterName": f"r{i}"}}}})
        docs.append({"meshName": MESH, "virtualRouterName": f"r{i}", "spec": {
            "listeners": [{"portMapping": {"port": "$port:router", "protocol": "http"}}]}})
    docs.append({"meshName": MESH, "virtualGatewayName": GATEWAY, "spec": {
        "listeners": [{"portMapping": {"port": f"$port:{name}", "protocol": "http"}}
                      for name in ("gateway", "gateway2")]}})
    return docs


def base_mesh() -> list[Doc]:
    """The nodes alone, for the target sidecars (their ingress does not depend on the routes)."""
    return _base(1)


@st.composite
def scenarios(draw: st.DrawFn, front_requests: int = 8, gateway_requests: int = 4) -> Scenario:
    services = draw(st.integers(1, 3))
    docs = _base(services)
    matches: list[Doc] = []
    for i in range(services):
        routes = [draw(route(f"r{i}", j)) for j in range(draw(st.integers(1, 6)))]
        docs += routes
        matches += [r["spec"]["httpRoute"]["match"] for r in routes]
    groutes = [draw(gateway_route(j, services)) for j in range(draw(st.integers(1, 4)))]
    docs += groutes
    gmatches = [g["spec"]["httpRoute"]["match"] for g in groutes]
    requests = [draw(request("front", matches, services)) for _ in range(front_requests)]
    requests += [draw(request(draw(st.sampled_from(("gateway", "gateway2"))), gmatches, services))
                 for _ in range(gateway_requests)]
    return Scenario(docs, requests)


def fixed(routes: list[Doc], gateway_routes: tuple[Doc, ...] = (), requests: tuple[Request, ...] = ()) -> Scenario:
    """A written scenario on the generated ones' base, with one service s0: the specs of router r0's routes
    (route-0, route-1, ...) and of the gateway's routes (groute-0, ...)."""
    docs = _base(1)
    docs += [{"meshName": MESH, "virtualRouterName": "r0", "routeName": f"route-{i}", "spec": spec}
             for i, spec in enumerate(routes)]
    docs += [{"meshName": MESH, "virtualGatewayName": GATEWAY, "gatewayRouteName": f"groute-{i}", "spec": spec}
             for i, spec in enumerate(gateway_routes)]
    return Scenario(docs, list(requests))
