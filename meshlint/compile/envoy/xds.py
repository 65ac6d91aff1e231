"""File-based xDS: the static bootstrap's listeners, clusters and route configurations as files Envoy watches.

Per proxy, one folder: `lds.json` (every listener), `cds.json` (every cluster of the mesh), one
`<route configuration name>.json` per route configuration, and `bootstrap.json`, whose `dynamic_resources`
read LDS and CDS from those files. HTTP connection managers take their routes over RDS from the route files
instead of inline, so a route change (a canary weight) reaches Envoy without touching the listener: RDS
updates apply to open connections and drain nothing. Names, stats prefixes and every resource are exactly
the static bootstrap's, so dashboards keep working; RDS adds its own `http.<prefix>.rds.<name>.*` stats, as
App Mesh's xDS did.

Each file is a DiscoveryResponse (Envoy's filesystem subscription format), versioned by its content.
`watched_directory` makes Envoy re-read a file when any entry of the folder is *moved* into place, which
covers both a writer that renames a complete file over the old one (emit.xds) and the kubelet's atomic
ConfigMap update (a new timestamped folder, the `..data` link renamed over the old one).
https://www.envoyproxy.io/docs/envoy/latest/api-v3/config/core/v3/config_source.proto#config-core-v3-pathconfigsource
"""

from __future__ import annotations

import copy
import hashlib
import posixpath
from collections.abc import Iterator
from pathlib import PurePosixPath

from meshlint.compile import Artifact
from meshlint.compile.envoy.envoy_json import TYPE_PREFIX, Json
from meshlint.compile.envoy.names import SDS_CLUSTER

BOOTSTRAP_FILE = "bootstrap.json"
LDS_FILE = "lds.json"
CDS_FILE = "cds.json"
RDS_PREFIX = "rds_"  # every route configuration App Mesh named (and meshlint names) starts with it
LISTENER_TYPE = TYPE_PREFIX + "envoy.config.listener.v3.Listener"
CLUSTER_TYPE = TYPE_PREFIX + "envoy.config.cluster.v3.Cluster"
ROUTE_TYPE = TYPE_PREFIX + "envoy.config.route.v3.RouteConfiguration"
_HCM_TYPE = TYPE_PREFIX + "envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager"


def xds_folder(static_path: PurePosixPath) -> PurePosixPath:
    """`<mesh>/virtual-nodes/<node>.json` (the static bootstrap's path) -> `<mesh>/virtual-nodes/<node>`."""
    return static_path.with_suffix("")


def rds_file(route_config: str) -> str:
    return f"{route_config}.json"


def is_rds_file(name: str) -> bool:
    return name.startswith(RDS_PREFIX) and name.endswith(".json")


def xds_files(document: Json, directory: str, keep_static: frozenset[str], read_from: str | None = None,
              ) -> dict[str, Json]:
    """The static bootstrap `document` as file name -> JSON for a folder Envoy watches at `directory`.

    `keep_static`: clusters that stay in `static_resources` (the SDS cluster and tracer collectors:
    gRPC config sources and tracers need a cluster defined at start-up). `read_from`: where Envoy reads the
    files, when not `directory` itself (a ConfigMap mount's `..data`). `document` is not changed.
    """
    files_at = read_from or directory
    static = document["static_resources"]
    listeners = copy.deepcopy(static["listeners"])
    routes: dict[str, Json] = {}
    for hcm in _http_connection_managers(listeners):
        route_config = hcm["route_config"]
        name = route_config["name"]
        if routes.setdefault(name, route_config) != route_config:
            continue  # two different tables under one name: keep this one inline rather than guess
        del hcm["route_config"]
        hcm["rds"] = {"route_config_name": name, "config_source": _source(directory, files_at, rds_file(name))}
    clusters = [c for c in static["clusters"] if c["name"] not in keep_static]
    bootstrap = {key: value for key, value in document.items() if key != "static_resources"}
    kept = [c for c in static["clusters"] if c["name"] in keep_static]
    if kept:
        bootstrap["static_resources"] = {"clusters": kept}
    bootstrap["dynamic_resources"] = {"lds_config": _source(directory, files_at, LDS_FILE),
                                      "cds_config": _source(directory, files_at, CDS_FILE)}
    files = {BOOTSTRAP_FILE: bootstrap, LDS_FILE: discovery_response(LISTENER_TYPE, listeners),
             CDS_FILE: discovery_response(CLUSTER_TYPE, clusters)}
    for name, route_config in routes.items():
        files[rds_file(name)] = discovery_response(ROUTE_TYPE, [route_config])
    return files


def infrastructure_clusters(tracer_cluster_names: list[str]) -> frozenset[str]:
    return frozenset([SDS_CLUSTER, *tracer_cluster_names])


def discovery_response(type_url: str, resources: list[Json]) -> Json:
    """A DiscoveryResponse whose version is a digest of its resources (same content, same version)."""
    typed = [{"@type": type_url, **resource} for resource in resources]
    from meshlint.compile.envoy import render  # the one canonical serialisation

    digest = hashlib.sha256(render({"resources": typed})).hexdigest()[:16]
    return {"version_info": digest, "type_url": type_url, "resources": typed}


def xds_artifacts(static_path: PurePosixPath, document: Json, directory: str,
                  keep_static: frozenset[str]) -> list[Artifact]:
    from meshlint.compile.envoy import render

    folder = xds_folder(static_path)
    return [Artifact(folder / name, render(content))
            for name, content in xds_files(document, directory, keep_static).items()]


def runtime_directory(option: str | None, root: str, static_path: PurePosixPath) -> str:
    """Where Envoy finds the files: the `xds_directory` option, else the proxy's folder under `root`."""
    return option if option is not None else posixpath.join(root, str(xds_folder(static_path)))


def _source(directory: str, files_at: str, name: str) -> Json:
    return {"path_config_source": {"path": posixpath.join(files_at, name),
                                   "watched_directory": {"path": directory}},
            "resource_api_version": "V3"}


def _http_connection_managers(listeners: list[Json]) -> Iterator[Json]:
    for listener in listeners:
        chains = [*listener.get("filter_chains", ()), *filter(None, [listener.get("default_filter_chain")])]
        for chain in chains:
            for network_filter in chain.get("filters", ()):
                config = network_filter.get("typed_config", {})
                if config.get("@type") == _HCM_TYPE and "route_config" in config:
                    yield config
