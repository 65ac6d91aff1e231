"""Hypothesis strategies: valid App Mesh meshes in the native format, their serialisations, and mutations
that each break exactly one thing.

A strategy draws a `Plan` (the mesh as plain data) and `Plan.documents()` renders it as App Mesh CLI-input
documents, one resource per document. `Plan.documents(rename)` renders the same mesh with every name
passed through `rename`, for the renaming property.

What a drawn mesh looks like (every rule of `check` passes, so it reports no diagnostic at all):

* 2-6 virtual nodes, each with 1-2 listeners of distinct protocols (http, http2, grpc, tcp) on ports unique
  in the mesh, STRICT TLS with a file or SDS certificate, sometimes mTLS (validation, file or SDS trust,
  SANs), DNS discovery (sometimes Cloud Map: compiles with a not-compilable warning), sometimes an access log.
* virtual routers with one listener, 1-3 routes of the listener's kind (httpRoute, http2Route, grpcRoute;
  one tcpRoute), weighted targets summing to 100, path/prefix/regex, method, scheme, header, query and
  gRPC metadata matches, retry policies (their attempts multiplied over all routers stay within 10) and
  timeouts.
* every node is provided by a virtual service or targeted by a router that one provides (no unreachable
  node); node i only calls services whose nodes all come after it (a DAG: no cycle); every caller has a
  client TLS policy, on backendDefaults or on each backend (the same policy, so no clash).
* sometimes a virtual gateway with 1-2 listeners and gateway routes to services with an HTTP-family port.

Serialisations: `to_yaml` (several documents per file), `to_json` (one per file), `to_cloudformation`
(one template, PascalCase properties), `to_terraform` (one module of `aws_appmesh_*` resources), `to_kubernetes` (App Mesh controller resources with awsName, refs and
inline routes). Names are mostly short, sometimes up to 57 characters; some routes park a target at
weight 0 (its node then has a service of its own, or it would be unreachable).

Certificates are named /certs/{ca,server,client}.pem|key: compile with `cert_path_prefix` pointing at a
folder holding `certs/` from `tests.support.envoy.make_cert_dir` and Envoy finds real files.
"""

from __future__ import annotations

import copy
import itertools
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml
from hypothesis import strategies as st

Doc = dict[str, Any]
Rename = Callable[[str], str]

PROTOCOLS = ("http", "http2", "grpc", "tcp")
HTTP_FAMILY = ("http", "http2", "grpc")
ROUTE_KIND = {"http": "httpRoute", "http2": "http2Route", "grpc": "grpcRoute", "tcp": "tcpRoute"}
CERTS = "/certs/"
RESERVED_PORTS = frozenset({443, 9901, 15000, 15001})

# Names: mostly DNS-label-like, sometimes with `.` and `_` (App Mesh allows them). Lower-case only, so no two
# services differ by letter case alone (that is a compile finding, not a valid mesh).
_LOWER = "abcdefghijklmnopqrstuvwxyz"
_ALNUM = _LOWER + "0123456789"
# st.text over an alphabet, not st.from_regex: regex strategies cost milliseconds per draw.
_NAME = st.tuples(  # [a-z][a-z0-9]{0,6}([-._][a-z0-9]{1,4})?
    st.sampled_from(_LOWER), st.text(_ALNUM, max_size=6),
    st.just("") | st.tuples(st.sampled_from("-._"), st.text(_ALNUM, min_size=1, max_size=4)).map("".join)
    # now and then a long one, still one DNS label (<= 63 characters, no hyphen at the end)
    | st.tuples(st.text(_ALNUM + "-", min_size=30, max_size=50), st.sampled_from(_ALNUM)).map("".join),
).map("".join)
_PORT = st.integers(1024, 9999).filter(lambda p: p not in RESERVED_PORTS)
_SAFE_REGEXES = ("v[0-9]+", "[a-z]+", "(foo|bar)", ".*", "/api/[0-9]+")
_HEADER = st.text(_LOWER, min_size=1, max_size=8).map(lambda s: "x-" + s)
_VALUE = st.text(_ALNUM + "ABCXYZ._-", min_size=1, max_size=12)
_SEGMENT = st.text(_ALNUM, min_size=1, max_size=6)
_PARAM = st.text(_LOWER, min_size=1, max_size=6)
_METHOD_NAME = st.text(_LOWER, min_size=1, max_size=8).map(str.capitalize)
_METHODS = ("GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH")


def _same(name: str) -> str:
    return name


@dataclass
class NodePlan:
    name: str
    listeners: list[tuple[str, int]]  # (protocol, port), protocols distinct
    tls: list[Doc]  # one ListenerTls per listener
    discovery: Doc  # {"dns": ...} or {"awsCloudMap": ...}; hostnames are rendered from the names
    client_tls: Doc | None = None  # the client policy of all its backends
    client_on_backend: bool = False  # True: on each backend, else on backendDefaults
    backends: list[str] = field(default_factory=list)  # service names
    logging: bool = False

    def port_of(self, protocol: str) -> int:
        return next(port for proto, port in self.listeners if proto == protocol)


@dataclass
class RoutePlan:
    name: str
    kind: str  # httpRoute | http2Route | grpcRoute | tcpRoute
    targets: list[tuple[str, int, int | None]]  # (node, weight, port or None)
    match: Doc | None
    retry: Doc | None = None
    timeout: Doc | None = None
    priority: int | None = None


@dataclass
class RouterPlan:
    name: str
    protocol: str
    port: int
    routes: list[RoutePlan]


@dataclass
class ServicePlan:
    name: str
    node: str | None = None  # provider: a virtual node ...
    router: str | None = None  # ... or a virtual router


@dataclass
class GatewayRoutePlan:
    name: str
    kind: str  # httpRoute | http2Route | grpcRoute
    service: str
    match: Doc
    port: int | None = None  # match.port, with several gateway listeners
    priority: int | None = None
    rewrite: Doc | None = None


@dataclass
class GatewayPlan:
    name: str
    listeners: list[tuple[str, int]]
    tls: list[Doc]
    client_tls: Doc
    routes: list[GatewayRoutePlan]


@dataclass
class Plan:
    mesh: str
    nodes: list[NodePlan]
    services: list[ServicePlan]
    routers: list[RouterPlan]
    gateways: list[GatewayPlan]

    # ---- derived facts ----------------------------------------------------------------------------
    def node(self, name: str) -> NodePlan:
        return next(n for n in self.nodes if n.name == name)

    def router(self, name: str) -> RouterPlan:
        return next(r for r in self.routers if r.name == name)

    def service(self, name: str) -> ServicePlan:
        return next(s for s in self.services if s.name == name)

    def reach(self, service: str, *, positive: bool = False) -> list[str]:
        """The nodes a service delivers to (`positive`: only with a weight above 0), in plan order."""
        s = self.service(service)
        if s.node is not None:
            return [s.node]
        assert s.router is not None
        found = {t[0] for r in self.router(s.router).routes for t in r.targets if t[1] > 0 or not positive}
        return [n.name for n in self.nodes if n.name in found]

    def service_ports(self, service: str) -> list[tuple[str, int]]:
        """(protocol, port) pairs the service offers its clients."""
        s = self.service(service)
        if s.node is not None:
            return sorted(self.node(s.node).listeners, key=lambda lp: lp[1])
        assert s.router is not None
        router = self.router(s.router)
        return [(router.protocol, router.port)]

    def names(self) -> list[str]:
        """Every resource name (and the mesh's), for renaming."""
        out = [self.mesh, *(n.name for n in self.nodes), *(s.name for s in self.services)]
        for r in self.routers:
            out += [r.name, *(route.name for route in r.routes)]
        for g in self.gateways:
            out += [g.name, *(route.name for route in g.routes)]
        return out

    # ---- rendering --------------------------------------------------------------------------------
    def documents(self, rename: Rename = _same) -> list[Doc]:
        m = rename(self.mesh)
        docs: list[Doc] = [{"meshName": m, "spec": {"egressFilter": {"type": "DROP_ALL"}}}]
        for s in self.services:
            provider = ({"virtualNode": {"virtualNodeName": rename(s.node)}} if s.node is not None
                        else {"virtualRouter": {"virtualRouterName": rename(s.router or "")}})
            docs.append({"meshName": m, "virtualServiceName": rename(s.name), "spec": {"provider": provider}})
        for r in self.routers:
            docs.append({"meshName": m, "virtualRouterName": rename(r.name),
                         "spec": {"listeners": [{"portMapping": {"port": r.port, "protocol": r.protocol}}]}})
            for route in r.routes:
                docs.append(self._route_doc(m, r, route, rename))
        for n in self.nodes:
            docs.append(self._node_doc(m, n, rename))
        for g in self.gateways:
            docs.append(self._gateway_doc(m, g, rename))
            for groute in g.routes:
                body: Doc = {"match": copy.deepcopy(groute.match)}
                if groute.port is not None:
                    body["match"]["port"] = groute.port
                action: Doc = {"target": {"virtualService": {"virtualServiceName": rename(groute.service)}}}
                if groute.rewrite is not None:
                    action["rewrite"] = copy.deepcopy(groute.rewrite)
                body["action"] = action
                spec: Doc = {groute.kind: body}
                if groute.priority is not None:
                    spec["priority"] = groute.priority
                docs.append({"meshName": m, "virtualGatewayName": rename(g.name),
                             "gatewayRouteName": rename(groute.name), "spec": spec})
        return docs

    def _route_doc(self, m: str, r: RouterPlan, route: RoutePlan, rename: Rename) -> Doc:
        targets = []
        for node, weight, port in route.targets:
            target: Doc = {"virtualNode": rename(node), "weight": weight}
            if port is not None:
                target["port"] = port
            targets.append(target)
        body: Doc = {"action": {"weightedTargets": targets}}
        if route.match is not None:
            body["match"] = copy.deepcopy(route.match)
        if route.retry is not None:
            body["retryPolicy"] = copy.deepcopy(route.retry)
        if route.timeout is not None:
            body["timeout"] = copy.deepcopy(route.timeout)
        spec: Doc = {route.kind: body}
        if route.priority is not None:
            spec["priority"] = route.priority
        return {"meshName": m, "virtualRouterName": rename(r.name), "routeName": rename(route.name), "spec": spec}

    def _node_doc(self, m: str, n: NodePlan, rename: Rename) -> Doc:
        listeners = [{"portMapping": {"port": port, "protocol": proto}, "tls": copy.deepcopy(tls)}
                     for (proto, port), tls in zip(n.listeners, n.tls, strict=True)]
        if "dns" in n.discovery:
            discovery: Doc = {"dns": {**n.discovery["dns"], "hostname": f"{rename(n.name)}.{m}.svc.cluster.local"}}
        else:
            discovery = {"awsCloudMap": {**n.discovery["awsCloudMap"], "serviceName": rename(n.name)}}
        spec: Doc = {"listeners": listeners, "serviceDiscovery": discovery}
        if n.backends:
            backends = []
            for service in n.backends:
                vs: Doc = {"virtualServiceName": rename(service)}
                if n.client_on_backend and n.client_tls is not None:
                    vs["clientPolicy"] = {"tls": copy.deepcopy(n.client_tls)}
                backends.append({"virtualService": vs})
            spec["backends"] = backends
        if n.client_tls is not None and not n.client_on_backend:
            spec["backendDefaults"] = {"clientPolicy": {"tls": copy.deepcopy(n.client_tls)}}
        if n.logging:
            spec["logging"] = {"accessLog": {"file": {"path": "/dev/stdout"}}}
        return {"meshName": m, "virtualNodeName": rename(n.name), "spec": spec}

    def _gateway_doc(self, m: str, g: GatewayPlan, rename: Rename) -> Doc:
        listeners = [{"portMapping": {"port": port, "protocol": proto}, "tls": copy.deepcopy(tls)}
                     for (proto, port), tls in zip(g.listeners, g.tls, strict=True)]
        spec: Doc = {"listeners": listeners,
                     "backendDefaults": {"clientPolicy": {"tls": copy.deepcopy(g.client_tls)}}}
        return {"meshName": m, "virtualGatewayName": rename(g.name), "spec": spec}


# ---- serialisation ---------------------------------------------------------------------------------


def to_yaml(docs: list[Doc]) -> str:
    return yaml.safe_dump_all(docs, sort_keys=False)


def to_json(doc: Doc) -> str:
    """A JSON file holds one document: write one file per resource."""
    return json.dumps(doc, indent=1)


def _pascal(node: Any) -> Any:
    """API camelCase keys -> CloudFormation PascalCase (`portMapping` -> `PortMapping`); values kept."""
    if isinstance(node, dict):
        return {k[:1].upper() + k[1:]: _pascal(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_pascal(v) for v in node]
    return node


def to_cloudformation(docs: list[Doc]) -> Doc:
    """One CloudFormation template with an `AWS::AppMesh::<Kind>` resource per document."""
    resources = {}
    for i, doc in enumerate(docs):
        kind = _identity(doc)[0]
        resources[f"{kind}{i}"] = {"Type": f"AWS::AppMesh::{kind}", "Properties": _pascal(doc)}
    return {"AWSTemplateFormatVersion": "2010-09-09", "Resources": resources}


K8S_VERSION = "appmesh.k8s.aws/v1beta2"
_K8S_REFS = {"virtualNodeName": ("VirtualNode", "virtualNodeRef"),
             "virtualRouterName": ("VirtualRouter", "virtualRouterRef"),
             "virtualServiceName": ("VirtualService", "virtualServiceRef")}


_ZERO_UNSET = {"priority", "port", "healthyThreshold", "unhealthyThreshold", "intervalMillis", "timeoutMillis",
               "maxConnections", "maxPendingRequests", "maxRequests", "maxEjectionPercent", "maxServerErrors", "value"}


def expressible_in_terraform(docs: list[Doc]) -> bool:
    """Whether Terraform can say these documents: every field has an argument (benchmarks/terraform_render),
    and the provider sends every value: it drops `priority = 0`, zero optional ports and limits, zero
    durations and empty strings (design/terraform-appmesh.md, rules 6-7)."""
    from benchmarks.terraform_render import expressible
    from meshlint.normalize.appmesh_api import detect

    for doc in docs:
        found = detect(doc)
        if found is None or not expressible(found[0], found[2]):
            return False
    return _sent(docs)


def _sent(node: Any, parent: str = "") -> bool:
    if isinstance(node, dict):
        return all(not (k in _ZERO_UNSET and v == 0 and parent != "portMapping") and _sent(v, k)
                   for k, v in node.items())
    if isinstance(node, list):
        return all(_sent(v, parent) for v in node)
    return node != ""


def to_terraform(docs: list[Doc]) -> str:
    """The documents as one Terraform module file of `aws_appmesh_*` resources (benchmarks/terraform_render)."""
    from benchmarks.terraform_render import label, resource
    from meshlint.normalize.appmesh_api import detect

    blocks = []
    for index, doc in enumerate(docs):
        found = detect(doc)
        assert found is not None, doc
        kind, _, obj = found
        blocks.append(resource(kind, obj, label(kind, str(obj.get("meshName")), index)))
    return "\n".join(blocks)


def to_kubernetes(docs: list[Doc], namespace: str = "mesh-ns") -> list[Doc]:
    """App Mesh controller custom resources: Kubernetes names `<kind>-<n>`, the App Mesh names in
    `spec.awsName`, references as `*Ref: {name}` to the Kubernetes names, routes inline in their router, and
    the Namespace their Mesh selects."""
    k8s: dict[tuple[str, str], str] = {}
    for i, doc in enumerate(docs):
        kind, name = _identity(doc)
        k8s[(kind, name)] = f"{kind.lower()}-{i}"

    def refs(node: Any) -> Any:
        if isinstance(node, list):
            return [refs(v) for v in node]
        if not isinstance(node, dict):
            return node
        out = {}
        for key, value in node.items():
            if key in _K8S_REFS and isinstance(value, str):
                kind, ref = _K8S_REFS[key]
                out[ref] = {"name": k8s[(kind, value)]}
            elif key == "virtualNode" and isinstance(value, str) and "weight" in node:
                out["virtualNodeRef"] = {"name": k8s[("VirtualNode", value)]}
            else:
                out[key] = refs(value)
        return out

    mesh = next(d for d in docs if _identity(d)[0] == "Mesh")["meshName"]
    # membership as the controller designates it: the Mesh selects the labelled namespace, each gateway the
    # gateway routes labelled with its name (spec.meshRef and virtualGatewayRef are read-only)
    selector = {"matchLabels": {"mesh": k8s[("Mesh", mesh)]}}
    out: list[Doc] = [{"apiVersion": "v1", "kind": "Namespace",
                       "metadata": {"name": namespace, "labels": selector["matchLabels"]}}]
    routes: dict[str, list[Doc]] = {}
    for doc in docs:
        if _identity(doc)[0] == "Route":
            routes.setdefault(doc["virtualRouterName"], []).append({"name": doc["routeName"], **refs(doc["spec"])})
    for doc in docs:
        kind, name = _identity(doc)
        if kind == "Route":
            continue
        spec = refs(doc["spec"])
        spec["awsName"] = doc[{"Mesh": "meshName", "GatewayRoute": "gatewayRouteName"}.get(
            kind, kind[0].lower() + kind[1:] + "Name")]
        metadata: Doc = {"name": k8s[(kind, name)]}
        if kind == "Mesh":
            spec["namespaceSelector"] = selector
        else:
            metadata["namespace"] = namespace
        if kind == "VirtualRouter":
            spec["routes"] = routes.get(doc["virtualRouterName"], [])
        if kind == "VirtualGateway":
            spec["namespaceSelector"] = selector
            spec["gatewayRouteSelector"] = {"matchLabels": {"gateway": k8s[(kind, name)]}}
        if kind == "GatewayRoute":
            metadata["labels"] = {"gateway": k8s[("VirtualGateway", doc["virtualGatewayName"])]}
        out.append({"apiVersion": K8S_VERSION, "kind": kind, "metadata": metadata, "spec": spec})
    return out


# ---- building blocks -------------------------------------------------------------------------------


def _duration(draw: st.DrawFn, low: int = 0, high: int = 120) -> Doc:
    unit = draw(st.sampled_from(("ms", "s")))
    value = draw(st.integers(low, high)) * (1000 if unit == "ms" and draw(st.booleans()) else 1)
    return {"unit": unit, "value": value}


def _listener_tls(draw: st.DrawFn, mesh: str) -> Doc:
    if draw(st.booleans()):
        cert: Doc = {"file": {"certificateChain": CERTS + "server.pem", "privateKey": CERTS + "server.key"}}
    else:
        cert = {"sds": {"secretName": f"spiffe://{mesh}/server"}}
    tls: Doc = {"mode": "STRICT", "certificate": cert}
    if draw(st.booleans()):  # mTLS
        tls["validation"] = _validation(draw, mesh)
    return tls


LISTENER_SANS = ("spiffe://demo/front", "client.demo.local", "*.demo.local", "10.0.0.1", "a@demo.local")
CLIENT_SANS = ("spiffe://demo/front", "spiffe://demo/server")  # san-mismatch does not judge URI SANs


def _validation(draw: st.DrawFn, mesh: str, sans: tuple[str, ...] = LISTENER_SANS) -> Doc:
    trust: Doc = ({"file": {"certificateChain": CERTS + "ca.pem"}} if draw(st.booleans())
                  else {"sds": {"secretName": f"spiffe://{mesh}"}})
    out: Doc = {"trust": trust}
    if draw(st.integers(0, 3)) == 0:
        chosen = draw(st.lists(st.sampled_from(sans), min_size=1, max_size=2, unique=True))
        out["subjectAlternativeNames"] = {"match": {"exact": chosen}}
    return out


def _client_tls(draw: st.DrawFn, mesh: str, needs_certificate: bool = False) -> Doc:
    """A client policy; `needs_certificate` when a listener it reaches requires one (mTLS)."""
    out: Doc = {"validation": _validation(draw, mesh, CLIENT_SANS)}
    if needs_certificate or draw(st.booleans()):
        out["certificate"] = ({"file": {"certificateChain": CERTS + "client.pem", "privateKey": CERTS + "client.key"}}
                              if draw(st.booleans()) else {"sds": {"secretName": f"spiffe://{mesh}/client"}})
    if draw(st.booleans()):
        out["enforce"] = True
    return out


def _string_match(draw: st.DrawFn, kinds: tuple[str, ...] = ("exact", "prefix", "suffix", "regex", "range")) -> Doc:
    kind = draw(st.sampled_from(kinds))
    if kind == "regex":
        return {"regex": draw(st.sampled_from(_SAFE_REGEXES))}
    if kind == "range":
        start = draw(st.integers(-1000, 1000))
        return {"range": {"start": start, "end": start + draw(st.integers(1, 1000))}}
    return {kind: draw(_VALUE)}


def _headers(draw: st.DrawFn, key: str = "match") -> list[Doc]:
    out = []
    for name in draw(st.lists(_HEADER, max_size=2, unique=True)):
        header: Doc = {"name": name}
        if draw(st.booleans()):
            header[key] = _string_match(draw)
        if draw(st.booleans()):
            header["invert"] = draw(st.booleans())
        out.append(header)
    return out


def _path(draw: st.DrawFn, first: str) -> str:
    """`/<first>` and up to two more segments; `first` is unique among the routes of one router or gateway,
    so no route's prefix covers another's (that would be shadowed-route / duplicate-priority)."""
    rest = draw(st.lists(_SEGMENT, max_size=2))
    return "/" + "/".join([first, *rest]) + ("/" if draw(st.integers(0, 3)) == 0 else "")


def _http_match(draw: st.DrawFn, protocol: str, first: str, gateway: bool = False) -> Doc:
    how = draw(st.sampled_from(("prefix", "prefix", "exact", "regex")))
    match: Doc
    if how == "prefix":
        match = {"prefix": _path(draw, first)}
    elif how == "exact":
        match = {"path": {"exact": _path(draw, first)}}
    else:
        tail = draw(st.sampled_from(("/v[0-9]+/items", "/.*", "/[a-z]+", "")))
        match = {"path": {"regex": f"/{first}{tail}"}}
    if draw(st.booleans()):
        match["method"] = draw(st.sampled_from(_METHODS))
    if protocol == "http2" and not gateway and draw(st.integers(0, 3)) == 0:
        match["scheme"] = draw(st.sampled_from(("http", "https")))
    headers = _headers(draw)
    if headers:
        match["headers"] = headers
    params = []
    for name in draw(st.lists(_PARAM, max_size=2, unique=True)):
        param: Doc = {"name": name}
        if draw(st.booleans()):
            param["match"] = {"exact": draw(_VALUE)}
        params.append(param)
    if params:
        match["queryParameters"] = params
    return match


def _grpc_match(draw: st.DrawFn, first: str) -> Doc:
    """A gRPC service name unique among the routes of the router (`first`), so none covers another."""
    match: Doc = {"serviceName": f"{first.replace('-', '')}.{draw(st.sampled_from(('Color', 'Orders', 'Pay')))}"}
    if draw(st.booleans()):
        match["methodName"] = draw(_METHOD_NAME)
    metadata = _headers(draw)
    if metadata:
        match["metadata"] = metadata
    return match


def _ms(value: int) -> Doc:
    return {"unit": "s", "value": value // 1000} if value % 1000 == 0 else {"unit": "ms", "value": value}


def _retry(draw: st.DrawFn, protocol: str, request_ms: int, attempts: int) -> Doc:
    """At most `attempts` attempts (see `plans`), and every attempt fits the request timeout (else
    retries-exceed-timeout)."""
    retries = draw(st.integers(0, min(5, attempts - 1)))
    per_try = draw(st.integers(1, request_ms // (retries + 1)))
    policy: Doc = {"maxRetries": retries, "perRetryTimeout": _ms(per_try)}
    events = draw(st.lists(st.sampled_from(("server-error", "gateway-error", "client-error", "stream-error")),
                           max_size=3, unique=True))
    if events:
        policy["httpRetryEvents"] = events
    if draw(st.booleans()):
        policy["tcpRetryEvents"] = ["connection-error"]
    if protocol == "grpc":
        grpc = draw(st.lists(st.sampled_from(("cancelled", "deadline-exceeded", "internal", "resource-exhausted",
                                              "unavailable")), max_size=3, unique=True))
        if grpc:
            policy["grpcRetryEvents"] = grpc
    if not any(k.endswith("RetryEvents") for k in policy):
        policy["tcpRetryEvents"] = ["connection-error"]
    return policy


def _weights(draw: st.DrawFn, count: int) -> list[int]:
    """`count` positive integers adding up to 100."""
    cuts = sorted(draw(st.lists(st.integers(1, 99), min_size=count - 1, max_size=count - 1, unique=True)))
    bounds = [0, *cuts, 100]
    return [b - a for a, b in itertools.pairwise(bounds)]


def _fresh_priority(draw: st.DrawFn, used: set[int]) -> int:
    """A priority no other route of the router (gateway) has: equal priorities are duplicate-priority."""
    priority = draw(st.integers(0, 1000).filter(lambda p: p not in used))
    used.add(priority)
    return priority


# ---- the mesh ---------------------------------------------------------------------------------------


@st.composite
def plans(draw: st.DrawFn, *, max_nodes: int = 6, gateways: bool = True, cloud_map: bool = True) -> Plan:
    mesh = draw(_NAME)
    n = draw(st.integers(2, max_nodes))
    names = draw(st.lists(_NAME, min_size=2 * n + 24, max_size=2 * n + 24, unique=True))
    pool = iter(names)
    ports = iter(draw(st.lists(_PORT,
                               min_size=4 * n + 4, max_size=4 * n + 4, unique=True)))

    nodes: list[NodePlan] = []
    for _ in range(n):
        protos = draw(st.lists(st.sampled_from(PROTOCOLS), min_size=1, max_size=2, unique=True))
        listeners = [(p, next(ports)) for p in protos]
        name = next(pool)
        if cloud_map and draw(st.integers(0, 9)) == 0:
            discovery: Doc = {"awsCloudMap": {"namespaceName": f"{mesh}.local"}}
        else:
            dns: Doc = {}
            if draw(st.booleans()):
                dns["responseType"] = draw(st.sampled_from(("LOADBALANCER", "ENDPOINTS")))
            discovery = {"dns": dns}
        nodes.append(NodePlan(name, listeners, [_listener_tls(draw, mesh) for _ in listeners], discovery,
                              logging=draw(st.booleans())))
    index = {node.name: i for i, node in enumerate(nodes)}

    routers: list[RouterPlan] = []
    services: list[ServicePlan] = []
    covered: set[str] = set()
    # a call path crosses each router at most once, so attempts multiplied over all routers bound every path:
    # at most 10 (else retry-amplification)
    attempts_left = 10
    for _ in range(draw(st.integers(0, 3))):
        protocol = draw(st.sampled_from(sorted({p for node in nodes for p, _ in node.listeners})))
        eligible = [node for node in nodes if any(p == protocol for p, _ in node.listeners)]
        routes = []
        used_priorities: set[int] = set()
        prioritised = draw(st.booleans())  # all routes of a router or none (else mixed-priority)
        for j in range(1 if protocol == "tcp" else draw(st.integers(1, 3))):
            chosen = draw(st.lists(st.sampled_from(eligible), min_size=1, max_size=min(3, len(eligible)),
                                   unique_by=lambda nd: nd.name))
            weights = _weights(draw, len(chosen))
            # a target at weight 0 (a parked canary); not on TCP, where Envoy drops it (tcp-zero-weight)
            if protocol != "tcp" and len(chosen) > 1 and draw(st.integers(0, 4)) == 0:
                weights = [0, *weights[:-2], weights[-2] + weights[-1]]
            targets = []
            for node, weight in zip(chosen, weights, strict=True):
                # port-mismatch: portless targets must share a port, so name it unless there is one target
                explicit = len(node.listeners) > 1 or len(chosen) > 1 or draw(st.booleans())
                targets.append((node.name, weight, node.port_of(protocol) if explicit else None))
            # a node only targeted at weight 0 gets no traffic: it needs a service of its own
            covered.update(node.name for node, weight in zip(chosen, weights, strict=True) if weight > 0)
            if protocol == "tcp":
                match = None
            elif protocol == "grpc":
                match = _grpc_match(draw, f"p{j}")
            else:
                match = _http_match(draw, protocol, f"p{j}")
            route = RoutePlan(next(pool), ROUTE_KIND[protocol], targets, match)
            request_ms = 15_000
            if draw(st.booleans()):
                timeout: Doc = {}
                if protocol != "tcp" and draw(st.booleans()):
                    # at most the 15 s the target listeners keep (else timeout-chain)
                    request_ms = draw(st.sampled_from((1000, 2500, 5000, 15_000)))
                    timeout["perRequest"] = _ms(request_ms)
                if draw(st.booleans()):
                    timeout["idle"] = _duration(draw)
                route.timeout = timeout or None
            if protocol != "tcp" and draw(st.booleans()):
                route.retry = _retry(draw, protocol, request_ms, attempts_left)
            if prioritised:
                route.priority = _fresh_priority(draw, used_priorities)
            routes.append(route)
        attempts_left //= max(route.retry["maxRetries"] + 1 if route.retry else 1 for route in routes)
        router = RouterPlan(next(pool), protocol, next(ports), routes)
        routers.append(router)
        services.append(ServicePlan(next(pool) + ".local", router=router.name))
    for node in nodes:
        if node.name not in covered or draw(st.integers(0, 3)) == 0:
            services.append(ServicePlan(next(pool) + ".local", node=node.name))
    draw(st.randoms()).shuffle(services)
    plan = Plan(mesh, nodes, services, routers, [])

    # backends: node i calls only services all of whose nodes come after it (no cycle)
    for i, node in enumerate(nodes):
        eligible_services = [s.name for s in services if min(index[x] for x in plan.reach(s.name)) > i]
        if not eligible_services:
            continue
        node.backends = draw(st.lists(st.sampled_from(eligible_services), max_size=3, unique=True))
        if node.backends:
            node.client_tls = _client_tls(draw, mesh, _mtls_behind(plan, node.backends))
            node.client_on_backend = draw(st.integers(0, 3)) == 0

    if gateways and draw(st.booleans()):
        gateway = _gateway(draw, plan, next(pool), pool, ports)
        if gateway.routes:  # a gateway without routes is gateway-without-routes
            plan.gateways.append(gateway)
    return plan


def _mtls_behind(plan: Plan, services: list[str]) -> bool:
    """Does a listener behind these services require a client certificate (tls-handshake-fails)?"""
    return any("validation" in tls for s in services for n in plan.reach(s) for tls in plan.node(n).tls)


def _gateway(draw: st.DrawFn, plan: Plan, name: str, pool: Any, ports: Any) -> GatewayPlan:
    protos = draw(st.lists(st.sampled_from(HTTP_FAMILY), min_size=1, max_size=2, unique=True))
    listeners = [(p, next(ports)) for p in protos]
    tls = []
    for _ in listeners:
        one = _listener_tls(draw, plan.mesh)
        one.pop("validation", None) if draw(st.booleans()) else None
        tls.append(one)
    targets = [s.name for s in plan.services if any(p in HTTP_FAMILY for p, _ in plan.service_ports(s.name))]
    routes: list[GatewayRoutePlan] = []
    used_priorities: set[int] = set()
    prioritised = draw(st.booleans())  # all gateway routes or none (else mixed-priority)
    if targets:
        for j in range(draw(st.integers(1, 3))):
            proto, port = draw(st.sampled_from(listeners))
            kind = ROUTE_KIND[proto]
            first = f"g{j}"
            match = _grpc_gateway_match(draw, first) if proto == "grpc" else _gateway_http_match(draw, proto, first)
            groute = GatewayRoutePlan(next(pool), kind, draw(st.sampled_from(targets)), match,
                                      port=port if len(listeners) > 1 else None)
            if prioritised:
                groute.priority = _fresh_priority(draw, used_priorities)
            if proto != "grpc" and "prefix" in match and draw(st.integers(0, 3)) == 0:
                groute.rewrite = {"prefix": draw(st.sampled_from(({"defaultPrefix": "DISABLED"},
                                                                  {"value": "/rewritten/"})))}
            if draw(st.integers(0, 4)) == 0:
                groute.rewrite = {**(groute.rewrite or {}), "hostname": {"defaultTargetHostname": "DISABLED"}}
            routes.append(groute)
    client = _client_tls(draw, plan.mesh, _mtls_behind(plan, [r.service for r in routes]))
    return GatewayPlan(name, listeners, tls, client, routes)


def _gateway_http_match(draw: st.DrawFn, protocol: str, first: str) -> Doc:
    match = _http_match(draw, protocol, first, gateway=True)
    if draw(st.integers(0, 3)) == 0:
        match["hostname"] = draw(st.sampled_from(({"exact": "www.example.com"}, {"suffix": ".example.com"})))
    return match


def _grpc_gateway_match(draw: st.DrawFn, first: str) -> Doc:
    match: Doc = {"serviceName": f"{first}.{draw(st.sampled_from(('Color', 'Orders', 'Pay')))}"}
    metadata = _headers(draw)
    if metadata:
        match["metadata"] = metadata
    return match


# ---- mutations -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Mutation:
    """A mutated mesh, the one rule it must trigger, and the resource the finding must be reported at."""

    name: str
    docs: list[Doc]
    rule: str
    kind: str  # of the resource the finding is at
    resource: str  # its name
    detail: Mapping[str, Any] = field(default_factory=dict)
    also: frozenset[str] = frozenset()  # rules the same break may trigger too (a consequence, not another break)


def _find(docs: list[Doc], **keys: str) -> int:
    return next(i for i, d in enumerate(docs) if all(d.get(k) == v for k, v in keys.items())
                and set(d) - {"spec"} == {"meshName", *keys})


def _weighted(route: RoutePlan) -> int:
    """How many targets of the route have a weight above 0."""
    return sum(1 for t in route.targets if t[1] > 0)


@st.composite
def mutations(draw: st.DrawFn, plan: Plan) -> Mutation:
    """One of: remove a route target node, lower one weight, raise one above a total of 100, add a back
    edge, drop a TLS block (a listener's or a client's), duplicate a resource. Each is applicable to every drawn plan (the last two always are)."""
    docs = plan.documents()
    choices = ["duplicate", "drop-listener-tls"]
    targeted = [r for router in plan.routers for r in router.routes]
    if targeted:
        choices += ["remove-target", "weight"]
    over = [(r, x) for r in plan.routers for x in r.routes if len(x.targets) > 1]
    if over:
        choices.append("weight-over")
    if not any(t[1] >= 2 for r in targeted if _weighted(r) > 1 for t in r.targets):
        # one target with a weight takes every request anyway, whatever is parked at 0 beside it
        choices.remove("weight") if "weight" in choices else None
    callers = [n for n in plan.nodes if n.backends]
    if callers:
        choices.append("drop-client-tls")
    # a back edge: a node reached through some service calls a service that reaches that node's caller
    cyclic = [(n, s) for n in plan.nodes for s in plan.services
              if _reaches(plan, s.name, n.name) and s.name not in n.backends]
    if cyclic:
        choices.append("back-edge")
    choice = draw(st.sampled_from(choices))
    mesh = plan.mesh

    if choice == "duplicate":
        i = draw(st.integers(0, len(docs) - 1))
        docs.append(copy.deepcopy(docs[i]))
        kind, name = _identity(docs[i])
        return Mutation(choice, docs, "duplicate-resource", kind, name, {"index": len(docs) - 1})
    if choice == "remove-target":
        route = draw(st.sampled_from(targeted))
        node = draw(st.sampled_from([t[0] for t in route.targets]))
        del docs[_find(docs, virtualNodeName=node)]
        return Mutation(choice, docs, "dangling-reference", "VirtualNode", node)
    if choice == "weight":
        # lower one weight (staying above 0): a total in 1..99 is weights-sum; above 100 or 0 would be
        # weights-invalid, and a weight of 0 may leave the node unreachable
        def lowerable(route: RoutePlan) -> bool:
            return _weighted(route) > 1 and any(t[1] >= 2 for t in route.targets)

        router = draw(st.sampled_from([r for r in plan.routers if any(lowerable(x) for x in r.routes)]))
        route = draw(st.sampled_from([x for x in router.routes if lowerable(x)]))
        doc = docs[_find(docs, virtualRouterName=router.name, routeName=route.name)]
        targets = doc["spec"][route.kind]["action"]["weightedTargets"]
        t = draw(st.sampled_from([i for i, target in enumerate(targets) if target["weight"] >= 2]))
        targets[t]["weight"] -= draw(st.integers(1, targets[t]["weight"] - 1))
        return Mutation(choice, docs, "weights-sum", "Route", f"{router.name}/{route.name}")
    if choice == "weight-over":  # a total above 100: App Mesh rejects it (weights-invalid, not weights-sum)
        # one weight stays within 0..100 (above is a schema error), so the route needs two targets
        router, route = draw(st.sampled_from(over))
        doc = docs[_find(docs, virtualRouterName=router.name, routeName=route.name)]
        targets = doc["spec"][route.kind]["action"]["weightedTargets"]
        t = draw(st.sampled_from([i for i, target in enumerate(targets) if target["weight"] < 100]))
        targets[t]["weight"] += draw(st.integers(1, 100 - targets[t]["weight"]))
        return Mutation(choice, docs, "weights-invalid", "Route", f"{router.name}/{route.name}")
    if choice == "drop-listener-tls":
        owners: list[tuple[str, str, int]] = [("VirtualNode", n.name, i) for n in plan.nodes
                                              for i in range(len(n.listeners))]
        owners += [("VirtualGateway", g.name, i) for g in plan.gateways for i in range(len(g.listeners))]
        kind, name, i = draw(st.sampled_from(owners))
        key = "virtualNodeName" if kind == "VirtualNode" else "virtualGatewayName"
        del docs[_find(docs, **{key: name})]["spec"]["listeners"][i]["tls"]
        # clients that enforce TLS towards the now plaintext listener cannot connect
        return Mutation(choice, docs, "missing-tls", kind, name, {"listener": i}, frozenset({"tls-handshake-fails"}))
    if choice == "drop-client-tls":
        node = draw(st.sampled_from(callers))
        spec = docs[_find(docs, virtualNodeName=node.name)]["spec"]
        spec.pop("backendDefaults", None)
        for backend in spec["backends"]:
            backend["virtualService"].pop("clientPolicy", None)
        # a listener behind it that requires a client certificate now gets none
        also = frozenset({"tls-handshake-fails"}) if _mtls_behind(plan, node.backends) else frozenset()
        return Mutation(choice, docs, "missing-tls", "VirtualNode", node.name, also=also)
    # back-edge
    node, service = draw(st.sampled_from(cyclic))
    spec = docs[_find(docs, virtualNodeName=node.name)]["spec"]
    # the new backend brings its own complete client policy, so the edge is missing nothing but acyclicity
    vs: Doc = {"virtualServiceName": service.name, "clientPolicy": {"tls": {
        "certificate": {"file": {"certificateChain": CERTS + "client.pem", "privateKey": CERTS + "client.key"}},
        "validation": {"trust": {"file": {"certificateChain": CERTS + "ca.pem"}}}}}}
    spec.setdefault("backends", []).append({"virtualService": vs})
    del mesh
    return Mutation(choice, docs, "routing-cycle", "VirtualNode", node.name, {"service": service.name})


def _reaches(plan: Plan, service: str, node: str) -> bool:
    """Does a call to `service` (transitively, through backends) arrive at `node`?"""
    seen: set[str] = set()
    frontier = list(plan.reach(service, positive=True))  # a weight-0 target carries no call
    while frontier:
        current = frontier.pop()
        if current == node:
            return True
        if current in seen:
            continue
        seen.add(current)
        for backend in plan.node(current).backends:
            frontier += plan.reach(backend, positive=True)
    return False


def _identity(doc: Doc) -> tuple[str, str]:
    """(kind, name as diagnostics name it: `<router>/<route>` for routes)."""
    if "gatewayRouteName" in doc:
        return "GatewayRoute", f"{doc['virtualGatewayName']}/{doc['gatewayRouteName']}"
    if "routeName" in doc:
        return "Route", f"{doc['virtualRouterName']}/{doc['routeName']}"
    for key, kind in (("virtualNodeName", "VirtualNode"), ("virtualServiceName", "VirtualService"),
                      ("virtualRouterName", "VirtualRouter"), ("virtualGatewayName", "VirtualGateway")):
        if key in doc:
            return kind, doc[key]
    return "Mesh", doc["meshName"]
