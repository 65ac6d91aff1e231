"""What `meshlint build` writes per proxy beside (or instead of) its static bootstrap: file-based xDS, and the
Kubernetes and ECS manifests that run it as a sidecar the way App Mesh did. Pure: artifacts in memory."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import PurePosixPath

from meshlint.compile import Artifact
from meshlint.compile.envoy import render
from meshlint.compile.envoy.envoy_json import Json
from meshlint.compile.envoy.observability import tracer_clusters
from meshlint.compile.envoy.options import CompileOptions
from meshlint.compile.envoy.xds import infrastructure_clusters, runtime_directory, xds_artifacts

Emit = Callable[[PurePosixPath, Json], list[Artifact]]


def emitter(options: CompileOptions, root: str) -> Emit:
    """Turns each proxy's bootstrap into its artifacts. `root`: the output folder as Envoy sees it (absolute),
    where xDS bootstraps point unless `options.xds_directory` says otherwise."""
    keep_static = infrastructure_clusters([c["name"] for c in tracer_clusters(options)])

    def emit(path: PurePosixPath, document: Json) -> list[Artifact]:
        if options.xds:
            found = xds_artifacts(path, document, runtime_directory(options.xds_directory, root, path), keep_static)
        else:
            found = [Artifact(path, render(document))]
        if options.emit:
            from meshlint.deploy.ecs import ecs_artifacts
            from meshlint.deploy.kubernetes import kubernetes_artifacts
            from meshlint.deploy.proxy import proxy_of

            if "kubernetes" in options.emit:  # files read through the mount's `..data` link, see kubernetes.py
                found += kubernetes_artifacts(proxy_of(path, document, options, keep_static, "..data"), options)
            if "ecs" in options.emit:
                found += ecs_artifacts(proxy_of(path, document, options, keep_static), options)
        return found

    return emit
