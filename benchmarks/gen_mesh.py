"""A synthetic App Mesh of N virtual services, for the benchmarks and the scaling tests.

    python benchmarks/gen_mesh.py --n 1000 --format cli-yaml --out /tmp/mesh-1000
    python benchmarks/gen_mesh.py --n 1000 --format cfn --out /tmp/mesh-1000.yaml

Per service `svc-NNNNN.apps.local`: a virtual service provided by a router (HTTP 8080) with one to three
routes (a 90/10-style weighted default with retries and timeouts, a header canary, a GET /api/v2/ split),
and two virtual nodes v1/v2 with STRICT TLS and client TLS (file certificates), a health check, timeouts,
a connection pool, outlier detection on v1, DNS discovery, and two to four backends. Backends only point at
services with a higher index (a DAG), a few "core" services near the end are called by many. One mesh
(`demo-mesh`, DROP_ALL) and one virtual gateway routing to a tenth of the services complete it: about
6.1 N resources, every one clean under `meshlint check` (warnings aside: the certificates are not there).

Formats: `cli-yaml` (one multi-document file per service plus `_mesh.yaml` and `_gateway.yaml`, the AWS
CLI input shape), `cli-json` (the same documents, one JSON file per resource in a folder per service),
`cfn` (one CloudFormation template, cross references as `!GetAtt`), `terraform` (one module folder, a `.tf`
file per service, through benchmarks/terraform_render.py). The same `--n` and `--seed` give the
same bytes. Standard library and PyYAML only.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

MESH = "demo-mesh"
DOMAIN = "apps.local"
PORT = 8080
GATEWAY = "ingress-gw"
CA = "/etc/appmesh/certs/ca/ca_chain.pem"
NAME_KEYS = {"Mesh": "meshName", "VirtualService": "virtualServiceName", "VirtualRouter": "virtualRouterName",
             "Route": "routeName", "VirtualNode": "virtualNodeName", "VirtualGateway": "virtualGatewayName",
             "GatewayRoute": "gatewayRouteName"}


@dataclass(frozen=True)
class Name:
    """Another resource's name: the plain string in the CLI shape, `!GetAtt <logical>.<Attr>` in CloudFormation."""

    text: str
    logical_id: str
    attribute: str


@dataclass(frozen=True)
class Resource:
    group: str  # the file it goes to in the CLI formats
    kind: str
    logical_id: str
    body: dict[str, Any]  # the API shape, names possibly as Name


def _ms(value: int) -> dict[str, Any]:
    return {"unit": "ms", "value": value}


def _s(value: int) -> dict[str, Any]:
    return {"unit": "s", "value": value}


def _certificate(owner: str) -> dict[str, Any]:
    folder = f"/etc/appmesh/certs/{owner}"
    return {"file": {"certificateChain": f"{folder}/cert_chain.pem", "privateKey": f"{folder}/key.pem"}}


def _service(i: int) -> str:
    return f"svc-{i:05d}"


def _logical(i: int, what: str) -> str:
    return f"Svc{i:05d}{what}"


def mesh_resources(n: int, seed: int) -> Iterator[Resource]:
    """Every resource of the mesh, in a fixed order."""
    rng = random.Random(seed)
    mesh = Name(MESH, "Mesh", "MeshName")
    yield Resource("_mesh", "Mesh", "Mesh", {
        "meshName": MESH, "spec": {"egressFilter": {"type": "DROP_ALL"}},
        "tags": [{"key": "owner", "value": "platform"}]})
    core = range(max(0, n - max(1, n // 20)), n)
    for i in range(n):
        yield from _service_resources(i, n, core, mesh, rng)
    yield from _gateway_resources(n, mesh, rng)


def _backends(i: int, n: int, core: range, rng: random.Random) -> list[int]:
    wanted = rng.randint(2, 4)
    chosen = [rng.choice([c for c in core if c > i])] if any(c > i for c in core) else []
    later = [j for j in range(i + 1, min(n, i + 201)) if j not in chosen]
    rng.shuffle(later)
    return sorted([*chosen, *later[:max(0, wanted - len(chosen))]])


def _service_resources(i: int, n: int, core: range, mesh: Name, rng: random.Random) -> Iterator[Resource]:
    name = _service(i)
    router = Name(f"{name}-router", _logical(i, "Router"), "VirtualRouterName")
    nodes = {v: Name(f"{name}-{v}", _logical(i, f"Node{v.upper()}"), "VirtualNodeName") for v in ("v1", "v2")}
    yield Resource(name, "VirtualService", _logical(i, "Service"), {
        "meshName": mesh, "virtualServiceName": f"{name}.{DOMAIN}",
        "spec": {"provider": {"virtualRouter": {"virtualRouterName": router}}}})
    yield Resource(name, "VirtualRouter", router.logical_id, {
        "meshName": mesh, "virtualRouterName": router.text,
        "spec": {"listeners": [{"portMapping": {"port": PORT, "protocol": "http"}}]}})

    def split(v1: int, v2: int) -> list[dict[str, Any]]:
        return [{"virtualNode": nodes["v1"], "weight": v1}, {"virtualNode": nodes["v2"], "weight": v2}]

    canary = rng.choice([5, 10, 10, 10, 20, 50])
    routes = [("default", {"priority": 100, "httpRoute": {
        "match": {"prefix": "/"}, "action": {"weightedTargets": split(100 - canary, canary)},
        "retryPolicy": {"maxRetries": rng.choice([2, 3, 3, 5]), "perRetryTimeout": _ms(rng.choice([500, 1000, 2000])),
                        "httpRetryEvents": ["server-error", "gateway-error"], "tcpRetryEvents": ["connection-error"]},
        "timeout": {"perRequest": _s(rng.choice([5, 15, 30])), "idle": _s(300)}}})]
    extra = rng.randint(1, 3)
    if extra >= 2:
        routes.append(("canary-header", {"priority": 10, "httpRoute": {
            "match": {"prefix": "/", "headers": [
                {"name": "x-canary", "match": {"exact": "true"}},
                {"name": "x-tenant", "match": {"prefix": f"t{rng.randint(0, 99)}-"}, "invert": True}]},
            "action": {"weightedTargets": [{"virtualNode": nodes["v2"], "weight": 100}]},
            "timeout": {"perRequest": _s(10)}}}))
    if extra >= 3:
        routes.append(("api-v2", {"priority": 20, "httpRoute": {
            "match": {"prefix": "/api/v2/", "method": "GET",
                      "headers": [{"name": "accept", "match": {"regex": "^application/(json|x-protobuf)$"}}]},
            "action": {"weightedTargets": split(50, 50)},
            "retryPolicy": {"maxRetries": 2, "perRetryTimeout": _s(1), "httpRetryEvents": ["server-error"]}}}))
    for k, (route, spec) in enumerate(routes):
        yield Resource(name, "Route", _logical(i, f"Route{k}"), {
            "meshName": mesh, "virtualRouterName": router, "routeName": f"{name}-{route}", "spec": spec})
    team = f"team-{rng.randint(1, 40):02d}"
    backends = [{"virtualService": {"virtualServiceName": Name(
        f"{_service(j)}.{DOMAIN}", _logical(j, "Service"), "VirtualServiceName")}} for j in _backends(i, n, core, rng)]
    for v, node in nodes.items():
        yield Resource(name, "VirtualNode", node.logical_id, {
            "meshName": mesh, "virtualNodeName": node.text,
            "spec": _node_spec(name, v, team, backends), "tags": [{"key": "team", "value": team},
                                                                  {"key": "version", "value": v}]})


def _node_spec(name: str, version: str, team: str, backends: list[dict[str, Any]]) -> dict[str, Any]:
    listener: dict[str, Any] = {
        "portMapping": {"port": PORT, "protocol": "http"},
        "tls": {"mode": "STRICT", "certificate": _certificate(name),
                "validation": {"trust": {"file": {"certificateChain": CA}}}},
        "healthCheck": {"protocol": "http", "path": "/healthz", "port": PORT, "healthyThreshold": 2,
                        "unhealthyThreshold": 3, "timeoutMillis": 2000, "intervalMillis": 5000},
        "timeout": {"http": {"perRequest": _s(30), "idle": _s(300)}},
        "connectionPool": {"http": {"maxConnections": 1024, "maxPendingRequests": 512}},
    }
    if version == "v1":
        listener["outlierDetection"] = {"maxServerErrors": 5, "maxEjectionPercent": 50, "interval": _s(10),
                                        "baseEjectionDuration": _s(30)}
    spec: dict[str, Any] = {
        "listeners": [listener],
        "serviceDiscovery": {"dns": {"hostname": f"{name}-{version}.{team}.svc.cluster.local",
                                     "responseType": "LOADBALANCER"}},
        "backendDefaults": {"clientPolicy": {"tls": {
            "enforce": True, "ports": [PORT], "certificate": _certificate(name),
            "validation": {"trust": {"file": {"certificateChain": CA}},
                           "subjectAlternativeNames": {"match": {"exact": [f"*.{DOMAIN}"]}}}}}},
        "logging": {"accessLog": {"file": {"path": "/dev/stdout"}}},
    }
    if backends:
        spec["backends"] = backends
    return spec


def _gateway_resources(n: int, mesh: Name, rng: random.Random) -> Iterator[Resource]:
    gateway = Name(GATEWAY, "IngressGateway", "VirtualGatewayName")
    yield Resource("_gateway", "VirtualGateway", gateway.logical_id, {"meshName": mesh, "virtualGatewayName": GATEWAY,
                   "spec": {
        "listeners": [{"portMapping": {"port": 8443, "protocol": "http"},
                       "tls": {"mode": "STRICT", "certificate": _certificate(GATEWAY)},
                       "healthCheck": {"protocol": "http", "path": "/ready", "port": 8443, "healthyThreshold": 2,
                                       "unhealthyThreshold": 2, "timeoutMillis": 2000, "intervalMillis": 5000},
                       "connectionPool": {"http": {"maxConnections": 4096, "maxPendingRequests": 2048}}}],
        "backendDefaults": {"clientPolicy": {"tls": {"enforce": True, "certificate": _certificate(GATEWAY),
                                                     "validation": {"trust": {"file": {"certificateChain": CA}}}}}},
        "logging": {"accessLog": {"file": {"path": "/dev/stdout"}}}}})
    for k, i in enumerate(sorted(rng.sample(range(n), max(1, n // 10)))):
        name = _service(i)
        match: dict[str, Any] = {"prefix": f"/{name}/"}
        if k % 3 == 1:
            match["hostname"] = {"suffix": f".{DOMAIN}"}
        elif k % 3 == 2:
            match["headers"] = [{"name": "x-api-version", "match": {"exact": "2"}}]
        action: dict[str, Any] = {"target": {"virtualService": {"virtualServiceName": Name(
            f"{name}.{DOMAIN}", _logical(i, "Service"), "VirtualServiceName")}}}
        if k % 2 == 0:
            action["rewrite"] = {"prefix": {"value": "/"}}
        yield Resource("_gateway", "GatewayRoute", _logical(i, "GatewayRoute"), {
            "meshName": mesh, "virtualGatewayName": gateway, "gatewayRouteName": f"gr-{name}",
            "spec": {"priority": k % 1000, "httpRoute": {"match": match, "action": action}}})


# -- renderers -----------------------------------------------------------------------------------------------

def _map(value: Any, leaf: Callable[[Any], Any], key: Callable[[str], str] = str) -> Any:
    if isinstance(value, dict):
        return {key(k): _map(v, leaf, key) for k, v in value.items()}
    if isinstance(value, list):
        return [_map(v, leaf, key) for v in value]
    return leaf(value)


def _plain(value: Any) -> Any:
    return value.text if isinstance(value, Name) else value


def _dump_yaml(data: Any) -> str:
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, default_flow_style=False, width=120)


class _Dumper(yaml.CSafeDumper):  # type: ignore[misc,name-defined]
    def ignore_aliases(self, data: Any) -> bool:  # a shared Name is written out each time, not as &id001
        return True


_Dumper.add_representer(Name, lambda dumper, name: dumper.represent_scalar(
    "!GetAtt", f"{name.logical_id}.{name.attribute}"))


def write_cli(resources: Iterator[Resource], out: Path, as_json: bool) -> int:
    groups: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for resource in resources:
        groups.setdefault(resource.group, []).append((resource.kind, _map(resource.body, _plain)))
    out.mkdir(parents=True, exist_ok=True)
    for group, docs in groups.items():
        if not as_json:
            (out / f"{group}.yaml").write_text("".join("---\n" + _dump_yaml(d) for _, d in docs), encoding="utf-8")
            continue
        (out / group).mkdir(exist_ok=True)
        for kind, doc in docs:  # one resource a file, as `aws appmesh create-* --cli-input-json` reads it
            (out / group / f"{kind}-{doc[NAME_KEYS[kind]]}.json").write_text(json.dumps(doc, indent=2) + "\n",
                                                                           encoding="utf-8")
    return sum(len(docs) for docs in groups.values())


_CFN_SPELLING = {"tls": "TLS", "http": "HTTP", "http2": "HTTP2", "grpc": "GRPC", "tcp": "TCP", "dns": "DNS",
                 "awsCloudMap": "AWSCloudMap", "acm": "ACM", "sds": "SDS"}


def _cfn_key(key: str) -> str:
    return _CFN_SPELLING.get(key, key[:1].upper() + key[1:])


def write_cfn(resources: Iterator[Resource], out: Path, n: int) -> int:
    body = {r.logical_id: {"Type": f"AWS::AppMesh::{r.kind}", "Properties": _map(r.body, lambda v: v, _cfn_key)}
            for r in resources}
    template = {"AWSTemplateFormatVersion": "2010-09-09",
                "Description": f"Synthetic App Mesh of {n} virtual services (benchmarks/gen_mesh.py)",
                "Resources": body}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(_dump_yaml(template), encoding="utf-8")
    return len(body)


def write_terraform(resources: Iterator[Resource], out: Path, n: int) -> int:
    """One Terraform module: a `.tf` file per service (as `cli-yaml` groups them), names as literals."""
    from terraform_render import label, resource

    groups: dict[str, list[str]] = {}
    count = 0
    for item in resources:
        body = _map(item.body, _plain)
        groups.setdefault(item.group, []).append(resource(item.kind, body, label(item.kind, item.logical_id, count)))
        count += 1
    out.mkdir(parents=True, exist_ok=True)
    for group, blocks in groups.items():
        (out / f"{group}.tf").write_text("\n".join(blocks), encoding="utf-8")
    return count


WRITERS: dict[str, Callable[[Iterator[Resource], Path, int], int]] = {
    "cli-yaml": lambda rs, out, n: write_cli(rs, out, as_json=False),
    "cli-json": lambda rs, out, n: write_cli(rs, out, as_json=True),
    "cfn": write_cfn,
    "terraform": write_terraform,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, required=True, help="number of virtual services (at least 1)")
    parser.add_argument("--format", choices=sorted(WRITERS), required=True)
    parser.add_argument("--out", type=Path, required=True, help="a folder (cli-*, terraform) or a file (cfn)")
    parser.add_argument("--seed", type=int, default=20190125)
    args = parser.parse_args(argv)
    if args.n < 1:
        parser.error("--n must be at least 1")
    count = WRITERS[args.format](mesh_resources(args.n, args.seed), args.out, args.n)
    print(f"{count} resources -> {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
