"""The Kubernetes update path: a new ConfigMap reaches a running Envoy the way the kubelet delivers it.

The ConfigMap `build --xds --emit kubernetes` writes is "mounted" as the kubelet's AtomicWriter mounts one
(k8s.io/kubernetes pkg/volume/util/atomic_writer.go): the files in a timestamped folder `..<ts>`, the link
`..data` -> that folder, one visible link per key -> `..data/<key>`. An update writes a new timestamped
folder, points `..data_tmp` at it and renames `..data_tmp` over `..data` (the one move Envoy's watched
directory sees), then adds links for new keys and removes the old folder. Envoy (real, loopback only) runs
from the mounted bootstrap; the update changes a route's weights, adds a route to a new node (a new
cluster) and a listener whose route table is a new key. The traffic follows, the new listener is active
with its routes, nothing is rejected, and Envoy is the same process throughout.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from meshlint import api
from meshlint.config import Settings
from tests.e2e.traffic import APP_IP, Envoy, Fleet, free_port, loopback_ip, send, sidecar_options, wait_for

pytestmark = pytest.mark.envoy

SETTINGS = Settings(severities={"missing-tls": None}, entry_points=frozenset({"k8s/front"}))
HOST = "color.k8s.local"

MESH_YAML = """\
meshName: k8s
spec: {{}}
---
virtualServiceName: color.k8s.local
meshName: k8s
spec: {{provider: {{virtualRouter: {{virtualRouterName: color-router}}}}}}
---
virtualRouterName: color-router
meshName: k8s
spec: {{listeners: [{{portMapping: {{port: {router}, protocol: http}}}}]}}
---
routeName: color-route
virtualRouterName: color-router
meshName: k8s
spec:
  httpRoute:
    match: {{prefix: /}}
    action: {{weightedTargets: [{{virtualNode: blue, weight: {blue}}}, {{virtualNode: green, weight: {green}}}]}}
---
virtualNodeName: front
meshName: k8s
spec:
{front_listeners}  backends: [{{virtualService: {{virtualServiceName: color.k8s.local}}}}]
  serviceDiscovery: {{dns: {{hostname: front.k8s.local}}}}
"""
NODE = """\
---
virtualNodeName: {name}
meshName: k8s
spec:
  listeners: [{{portMapping: {{port: {port}, protocol: http}}}}]
  serviceDiscovery: {{dns: {{hostname: {name}.k8s.local}}}}
"""
CANARY = """\
---
routeName: canary
virtualRouterName: color-router
meshName: k8s
spec:
  priority: 0
  httpRoute:
    match: {prefix: /, headers: [{name: x-canary, match: {exact: "yes"}}]}
    action: {weightedTargets: [{virtualNode: red, weight: 1}]}
"""


def kubelet_write(mount: Path, data: dict[str, str], generation: int) -> None:
    """What the kubelet's AtomicWriter does to a ConfigMap volume on each sync."""
    fresh = mount / f"..2026_12_03_00_00_0{generation}.{1000 + generation}"
    fresh.mkdir()
    for key, text in data.items():
        (fresh / key).write_text(text)
    data_link = mount / "..data"
    old = os.readlink(data_link) if data_link.is_symlink() else None
    os.symlink(fresh.name, mount / "..data_tmp")
    os.rename(mount / "..data_tmp", data_link)  # the one atomic step; a move into the watched folder
    for key in data:
        if not (mount / key).is_symlink():
            os.symlink(f"..data/{key}", mount / key)
    for entry in mount.iterdir():
        if entry.is_symlink() and not entry.name.startswith("..") and entry.name not in data:
            entry.unlink()
    if old is not None:
        shutil.rmtree(mount / old)


@pytest.fixture
def fleet(tmp_path: Path) -> Iterator[Fleet]:
    found = Fleet(tmp_path)
    try:
        yield found
    finally:
        found.close()


def test_configmap_update_reaches_running_envoy(tmp_path: Path, fleet: Fleet) -> None:
    ips = {name: loopback_ip(43, 10 + n) for n, name in enumerate(("blue", "green", "red"))}
    port = free_port(*ips.values())
    for name, ip in ips.items():
        fleet.app(name, port, ip=ip)
    bind = loopback_ip(43, 1)
    router, ingress = free_port(bind), free_port(bind)
    mount = tmp_path / "pod" / "etc-envoy"
    mount.mkdir(parents=True)
    options = replace(sidecar_options(tmp_path, "front", bind=bind, admin_port=free_port(APP_IP), egress_port=router,
                                      ingress_port=ingress),
                      xds=True, emit=("kubernetes",), xds_directory=str(mount),
                      resolve={f"{n}.k8s.local": ip for n, ip in ips.items()})
    mesh_dir = tmp_path / "mesh"
    mesh_dir.mkdir()

    def config_map(blue: int, green: int, updated: bool) -> dict[str, str]:
        nodes = "".join(NODE.format(name=n, port=port) for n in ("blue", "green", *(["red"] if updated else [])))
        listeners = f"  listeners: [{{portMapping: {{port: {port}, protocol: http}}}}]\n" if updated else ""
        text = MESH_YAML.format(router=router, blue=blue, green=green, front_listeners=listeners) + nodes
        (mesh_dir / "mesh.yaml").write_text(text + (CANARY if updated else ""))
        result = api.build([str(mesh_dir)], tmp_path / "out", SETTINGS, options)
        assert result.written is not None, [d.message for d in result.check.diagnostics]
        manifest = tmp_path / "out" / "k8s" / "kubernetes" / "virtual-nodes" / "front" / "configmap.yaml"
        data: dict[str, str] = yaml.safe_load(manifest.read_text())["data"]
        return data

    first = config_map(100, 0, updated=False)
    kubelet_write(mount, first, 1)
    envoy = Envoy("front", mount / "bootstrap.json", options.admin_port, tmp_path / "front.envoy.log")
    fleet.envoys["front"] = envoy.start()
    envoy.wait_ready()
    assert envoy.proc is not None
    pid = envoy.proc.pid

    def served(headers: dict[str, str] | None = None) -> str | None:
        return send(bind, router, "/", HOST, headers=headers).served_by

    assert {served() for _ in range(20)} == {"blue"}
    assert served({"x-canary": "yes"}) == "blue"

    second = config_map(0, 100, updated=True)
    new_keys = set(second) - set(first)
    assert f"rds_ingress_http_{port}.json" in new_keys
    kubelet_write(mount, second, 2)
    wait_for(lambda: served() == "green", "the new weights", deadline_s=10)
    assert {served() for _ in range(20)} == {"green"}
    wait_for(lambda: served({"x-canary": "yes"}) == "red", "the new canary route", deadline_s=10)

    dump = json.loads(envoy.admin("/config_dump"))
    sections = {s["@type"].rpartition(".")[2]: s for s in dump["configs"]}
    active = {entry["name"] for entry in sections["ListenersConfigDump"].get("dynamic_listeners", ())
              if "active_state" in entry}
    assert f"lds_ingress_{bind}_{ingress}" in active
    routes = {r["route_config"]["name"] for r in sections["RoutesConfigDump"].get("dynamic_route_configs", ())}
    assert {f"rds_ingress_http_{port}", f"rds_egress_http_{router}"} <= routes
    for stat in ("listener_manager.lds.update_rejected", "cluster_manager.cds.update_rejected",
                 f"http.egress.rds.rds_egress_http_{router}.update_rejected"):
        assert envoy.stat(stat) == 0, stat
    assert envoy.proc.poll() is None and envoy.proc.pid == pid
    assert envoy.stat("server.hot_restart_epoch") == 0
