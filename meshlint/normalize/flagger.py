"""Flagger's `Canary` with the App Mesh provider: the App Mesh objects Flagger creates for it.

A Canary that targets a Deployment `podinfo` (or names `spec.service.name`) makes Flagger create, in the
Canary's namespace (fluxcd/flagger pkg/router/appmesh_v1beta2.go): virtual nodes `podinfo-primary` and
`podinfo-canary` (DNS `podinfo-primary.<namespace>.svc.cluster.local.`, the service port, http or grpc by
the port name, the Canary's backends), virtual routers `podinfo` (canary 0, primary 100) and
`podinfo-canary` (canary 100, primary 0) with a route of the same name on the service's match prefix, and a
virtual service of each router's name. They are read as if written beside the Canary, so that what refers to
them resolves and what they refer to is checked.
"""

from __future__ import annotations

from typing import Any

GROUP = "flagger.app/"
PROVIDERS = ("appmesh", "appmesh:v1beta2")
_API = "appmesh.k8s.aws/v1beta2"


def is_appmesh_canary(data: Any) -> bool:
    if not isinstance(data, dict) or data.get("kind") != "Canary":
        return False
    if not str(data.get("apiVersion", "")).startswith(GROUP):
        return False
    spec = data.get("spec")
    return isinstance(spec, dict) and spec.get("provider") in PROVIDERS


def generated(canary: dict[str, Any]) -> list[dict[str, Any]]:
    """The App Mesh custom resources Flagger creates for `canary` (an App Mesh Canary)."""
    spec = canary["spec"]
    service, target, metadata = (_mapping(spec.get("service")), _mapping(spec.get("targetRef")),
                                 _mapping(canary.get("metadata")))
    apex = str(service.get("name") or target.get("name") or "")
    namespace = str(metadata.get("namespace") or "default")
    port = service.get("targetPort") if isinstance(service.get("targetPort"), int) else service.get("port")
    protocol = "grpc" if "grpc" in str(service.get("portName", "")) else "http"
    listener = {"portMapping": {"port": port, "protocol": protocol}}
    backends = [{"virtualService": {"virtualServiceARN": b} if str(b).startswith("arn:aws")
                 else {"virtualServiceRef": {"name": str(b)}}} for b in service.get("backends") or []]
    match = service.get("match")
    prefix = "/"
    if isinstance(match, list) and match and isinstance(match[0], dict) and isinstance(match[0].get("uri"), dict):
        prefix = str(match[0]["uri"].get("prefix") or "/")

    def node(role: str) -> dict[str, Any]:
        node_spec: dict[str, Any] = {
            "listeners": [listener],
            "serviceDiscovery": {"dns": {"hostname": f"{apex}-{role}.{namespace}.svc.cluster.local."}}}
        if backends:
            node_spec["backends"] = backends
        return _object("VirtualNode", f"{apex}-{role}", namespace, node_spec)

    def router(name: str, canary_weight: int) -> list[dict[str, Any]]:
        route = {"name": name, "httpRoute": {"match": {"prefix": prefix}, "action": {"weightedTargets": [
            {"virtualNodeRef": {"name": f"{apex}-canary"}, "weight": canary_weight},
            {"virtualNodeRef": {"name": f"{apex}-primary"}, "weight": 100 - canary_weight}]}}}
        return [_object("VirtualRouter", name, namespace, {"listeners": [listener], "routes": [route]}),
                _object("VirtualService", name, namespace,
                        {"provider": {"virtualRouter": {"virtualRouterRef": {"name": name}}}})]

    return [node("primary"), node("canary"), *router(apex, 0), *router(f"{apex}-canary", 100)]


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _object(kind: str, name: str, namespace: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": _API, "kind": kind, "metadata": {"name": name, "namespace": namespace}, "spec": spec}
