"""The xDS output is the static bootstrap in other files: Envoy's /config_dump of both modes is the same.

For a virtual node with two backends (a router with header and weighted routes, a TCP service), an ingress
listener, ALLOW_ALL, default and explicit retries, and a virtual gateway with gateway routes, Envoy runs once
from the static bootstrap and once from `--xds` files (one after the other, same options, loopback only).
The dumps are compared after removing the wrappers that differ by design: static_* vs dynamic_* lists (with
version and timestamps), an HCM's inline `route_config` vs its `rds` source, and the bootstrap's
static_resources vs dynamic_resources. Every listener, cluster and route configuration must be equal.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from meshlint.compile import ValidatedMesh
from meshlint.compile.envoy import compile_proxies
from meshlint.deploy import emitter
from meshlint.load.sources import load_sources
from meshlint.model.graph import MeshGraph
from meshlint.normalize import normalize
from tests.e2e.traffic import APP_IP, Envoy, free_port, loopback_ip, sidecar_options, write_mesh
from tests.support.envoy import strict_parse

pytestmark = pytest.mark.envoy

MESH_YAML = """\
meshName: dump
spec: {egressFilter: {type: ALLOW_ALL}}
---
virtualServiceName: color.dump.local
meshName: dump
spec: {provider: {virtualRouter: {virtualRouterName: color-router}}}
---
virtualRouterName: color-router
meshName: dump
spec: {listeners: [{portMapping: {port: 9080, protocol: http}}]}
---
routeName: canary
virtualRouterName: color-router
meshName: dump
spec:
  priority: 1
  httpRoute:
    match: {prefix: /, headers: [{name: x-canary, match: {exact: "true"}}]}
    action: {weightedTargets: [{virtualNode: green, weight: 1}]}
    retryPolicy: {maxRetries: 3, perRetryTimeout: {unit: ms, value: 500}, httpRetryEvents: [server-error]}
---
routeName: split
virtualRouterName: color-router
meshName: dump
spec:
  httpRoute:
    match: {prefix: /}
    action: {weightedTargets: [{virtualNode: blue, weight: 3}, {virtualNode: green, weight: 1}]}
---
virtualServiceName: db.dump.local
meshName: dump
spec: {provider: {virtualNode: {virtualNodeName: db}}}
---
virtualNodeName: blue
meshName: dump
spec:
  listeners: [{portMapping: {port: 9080, protocol: http}}]
  serviceDiscovery: {dns: {hostname: blue.dump.local}}
---
virtualNodeName: green
meshName: dump
spec:
  listeners: [{portMapping: {port: 9080, protocol: http}}]
  serviceDiscovery: {dns: {hostname: green.dump.local}}
---
virtualNodeName: db
meshName: dump
spec:
  listeners: [{portMapping: {port: 5432, protocol: tcp}}]
  serviceDiscovery: {dns: {hostname: db.dump.local, responseType: ENDPOINTS}}
---
virtualNodeName: front
meshName: dump
spec:
  listeners: [{portMapping: {port: 8080, protocol: http}, timeout: {http: {perRequest: {unit: s, value: 30}}}}]
  backends: [{virtualService: {virtualServiceName: color.dump.local}}, {virtualService: {virtualServiceName: db.dump.local}}]
  serviceDiscovery: {dns: {hostname: front.dump.local}}
---
virtualGatewayName: gateway
meshName: dump
spec: {listeners: [{portMapping: {port: 8088, protocol: http}}]}
---
gatewayRouteName: to-color
virtualGatewayName: gateway
meshName: dump
spec:
  httpRoute:
    match: {prefix: /color}
    action: {target: {virtualService: {virtualServiceName: color.dump.local}}}
"""


def _compile(mesh_dir: Path, options: Any, root: Path) -> dict[str, bytes]:
    normalized = normalize(load_sources([str(mesh_dir)]))
    mesh = ValidatedMesh(normalized.model, MeshGraph.build(normalized.model))
    result = compile_proxies(mesh, options, emitter(options, str(root)))
    assert result.findings == [], result.findings
    for artifact in result.artifacts:
        path = root / str(artifact.path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(artifact.content)
    return {str(a.path): a.content for a in result.artifacts}


def _dump(tmp_path: Path, name: str, config: Path, admin_port: int) -> dict[str, Any]:
    envoy = Envoy(name, config, admin_port, tmp_path / f"{name}.log").start()
    try:
        envoy.wait_ready()
        dump: dict[str, Any] = json.loads(envoy.admin("/config_dump"))
        return dump
    finally:
        envoy.stop()


def _by_type(dump: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {section["@type"].rpartition(".")[2]: section for section in dump["configs"]}


def _route_names(listener: Any) -> Any:
    """The listener with each HCM's `route_config` (static) or `rds` (xDS) replaced by the table's name."""
    if isinstance(listener, dict):
        out = {k: _route_names(v) for k, v in listener.items() if k not in ("route_config", "rds")}
        if "route_config" in listener:
            out["routes_by_name"] = listener["route_config"]["name"]
        if "rds" in listener:
            out["routes_by_name"] = listener["rds"]["route_config_name"]
        return out
    if isinstance(listener, list):
        return [_route_names(item) for item in listener]
    return listener


def normalised(dump: dict[str, Any]) -> dict[str, Any]:
    sections = _by_type(dump)
    bootstrap = {k: v for k, v in sections["BootstrapConfigDump"]["bootstrap"].items()
                 if k not in ("static_resources", "dynamic_resources")}
    clusters = sections["ClustersConfigDump"]
    listeners = sections["ListenersConfigDump"]
    routes = sections["RoutesConfigDump"]
    return {
        "bootstrap": bootstrap,
        "clusters": {c["cluster"]["name"]: c["cluster"] for key in ("static_clusters", "dynamic_active_clusters")
                     for c in clusters.get(key, ())},
        "listeners": {item["name"]: _route_names(item) for item in (
            entry.get("active_state", entry)["listener"]
            for key in ("static_listeners", "dynamic_listeners") for entry in listeners.get(key, ()))},
        "routes": {r["route_config"]["name"]: r["route_config"] for key in ("static_route_configs",
                                                                             "dynamic_route_configs")
                   for r in routes.get(key, ())},
    }


@pytest.mark.parametrize("proxy", ["virtual-nodes/front", "virtual-gateways/gateway"])
def test_config_dump_of_xds_equals_static(tmp_path: Path, proxy: str) -> None:
    mesh_dir = write_mesh(tmp_path / "mesh", MESH_YAML)
    bind = loopback_ip(42, 1)
    options = replace(sidecar_options(tmp_path, "p", bind=bind, admin_port=free_port(APP_IP),
                                      egress_port=free_port(bind), ingress_port=free_port(bind)),
                      resolve={"blue.dump.local": "127.0.0.1", "green.dump.local": "127.0.0.1"})
    static = _compile(mesh_dir, options, tmp_path / "static")
    live = _compile(mesh_dir, replace(options, xds=True), tmp_path / "xds")
    for name, content in live.items():
        if name.endswith("/bootstrap.json"):
            strict_parse(content.decode())
    assert f"dump/{proxy}.json" in static and f"dump/{proxy}/lds.json" in live

    before = normalised(_dump(tmp_path, "static", tmp_path / "static" / f"dump/{proxy}.json", options.admin_port))
    after = normalised(_dump(tmp_path, "xds", tmp_path / "xds" / f"dump/{proxy}/bootstrap.json",
                             options.admin_port))
    print(f"{proxy}: {len(after['listeners'])} listeners, {len(after['clusters'])} clusters, "
          f"{len(after['routes'])} route configurations, identical")
    assert after["listeners"] and after["clusters"] and after["routes"]
    assert after == before
