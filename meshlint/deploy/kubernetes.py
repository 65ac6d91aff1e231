"""Kubernetes: per proxy a ConfigMap with its files and a strategic-merge patch for its workload.

The patch adds what App Mesh's controller injected (pkg/inject): the `envoy` container as uid 1337 with the
admin port named `stats`, a readiness probe on Envoy's state, a 20 s preStop sleep and 10m/32Mi requests;
for a virtual node also the `proxyinit` init container (NET_ADMIN) that installs the same interception with
the same APPMESH_* settings. Instead of an agent fetching config from App Mesh, the ConfigMap is mounted at
/etc/envoy (`xds-directory`). With --xds that folder is Envoy's watched directory: `kubectl apply` of a new
ConfigMap reaches the running Envoy when the kubelet renames the mount's `..data` link to the new timestamped
folder (no restart). Envoy reads the files through `..data/`, so every file of one update appears in the
same instant: the kubelet creates the visible link of a *new* key only after that rename, and a listener
naming a route file not there yet would be rejected. Without --xds the bootstrap is static, so the patch
carries its digest as a pod annotation and a changed config rolls the pods.

Apply: `kubectl apply -f configmap.yaml && kubectl patch deployment NAME --patch-file patch.yaml`.
"""

from __future__ import annotations

from typing import Any

import yaml

from meshlint.compile import Artifact
from meshlint.compile.envoy.envoy_json import Json
from meshlint.compile.envoy.names import file_name
from meshlint.compile.envoy.options import CompileOptions
from meshlint.deploy.interception import SCRIPT, interception_env
from meshlint.deploy.proxy import DRAIN_TIME_S, ENVOY_UID, Proxy, dns_label, envoy_args

VOLUME = "meshlint-envoy-config"
DIGEST_ANNOTATION = "meshlint.dev/envoy-config-sha256"
_KIND_DIR = {"virtualNode": "virtual-nodes", "virtualGateway": "virtual-gateways"}
_REQUESTS = {"cpu": "10m", "memory": "32Mi"}  # the controller's sidecar and init container defaults


def kubernetes_artifacts(proxy: Proxy, options: CompileOptions) -> list[Artifact]:
    folder = proxy.static_path.parent.parent / "kubernetes" / _KIND_DIR[proxy.kind] / file_name(proxy.name)
    name = dns_label("envoy", proxy)
    return [Artifact(folder / "configmap.yaml", dump(config_map(proxy, name))),
            Artifact(folder / "patch.yaml", dump(workload_patch(proxy, name, options)))]


def config_map(proxy: Proxy, name: str) -> Json:
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "labels": _labels(proxy)},
            "data": {file: content.decode() for file, content in sorted(proxy.files.items())}}


def workload_patch(proxy: Proxy, config_map_name: str, options: CompileOptions) -> Json:
    template: Json = {"spec": {"containers": [envoy_container(proxy, options)],
                               "volumes": [{"name": VOLUME, "configMap": {"name": config_map_name}}]}}
    if not proxy.is_gateway:
        template["spec"]["initContainers"] = [init_container(proxy, options)]
    if not options.xds:  # a static bootstrap changes only with a restart: roll the pods when it changes
        template["metadata"] = {"annotations": {DIGEST_ANNOTATION: proxy.digest}}
    return {"spec": {"template": template}}


def envoy_container(proxy: Proxy, options: CompileOptions) -> Json:
    ports: list[Json] = [{"name": "stats", "containerPort": proxy.admin_port, "protocol": "TCP"}]
    if proxy.is_gateway:  # a gateway's Envoy is the workload: its listeners are the pod's ports
        ports += [{"containerPort": port, "protocol": "TCP"} for port in proxy.app_ports]
    return {
        "name": "envoy",
        "image": options.envoy_image,
        "command": envoy_args(proxy.config_dir),
        "securityContext": {"runAsUser": ENVOY_UID, "runAsGroup": ENVOY_UID},
        "ports": ports,
        # App Mesh probed /server_info for LIVE; /ready answers 200 exactly then, and needs no curl
        "readinessProbe": {"httpGet": {"path": "/ready", "port": proxy.admin_port}, "initialDelaySeconds": 1,
                           "periodSeconds": 10, "timeoutSeconds": 1, "successThreshold": 1, "failureThreshold": 3},
        "lifecycle": {"preStop": {"exec": {"command": ["sh", "-c", f"sleep {DRAIN_TIME_S}"]}}},
        "resources": {"requests": dict(_REQUESTS)},
        "volumeMounts": [{"name": VOLUME, "mountPath": proxy.config_dir, "readOnly": True}],
    }


def init_container(proxy: Proxy, options: CompileOptions) -> Json:
    env = interception_env(options, proxy.app_ports)
    return {
        "name": "proxyinit",
        "image": options.init_image,
        "command": ["sh", "-c", SCRIPT],
        "securityContext": {"capabilities": {"add": ["NET_ADMIN"]}},
        "env": [{"name": key, "value": value} for key, value in env.items()],
        "resources": {"requests": dict(_REQUESTS)},
    }


def _labels(proxy: Proxy) -> dict[str, str]:
    return {"app.kubernetes.io/managed-by": "meshlint", "app.kubernetes.io/component": "envoy-config"}


class _Dumper(yaml.SafeDumper):
    pass


def _text(dumper: yaml.SafeDumper, value: str) -> Any:
    """Multi-line strings (the files, the script) as literal blocks: readable, and diffable in review."""
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _text)


def dump(document: Json) -> bytes:
    return yaml.dump(document, Dumper=_Dumper, sort_keys=True, allow_unicode=True, width=120).encode()
