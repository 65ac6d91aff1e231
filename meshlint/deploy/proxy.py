"""What a deployment manifest needs to know about one proxy, read from its compiled bootstrap, and the files
its Envoy container mounts.

The manifests never look at the mesh model: the bootstrap already says which ports the app listens on (the
ingress listener's filter chains), where the admin interface is, and which proxy this is (`node.id`).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import PurePosixPath

from meshlint.compile.envoy import render
from meshlint.compile.envoy.envoy_json import Json
from meshlint.compile.envoy.names import GATEWAY_KIND
from meshlint.compile.envoy.options import CompileOptions
from meshlint.compile.envoy.xds import BOOTSTRAP_FILE, xds_files

CONFIG_DIR = "/etc/envoy"  # where the sidecar mounts its files (a watched directory with --xds)
ENVOY_UID = 1337  # App Mesh's proxy uid: its traffic is never intercepted
DRAIN_TIME_S = 20  # App Mesh's LISTENER_DRAIN_WAIT_TIME_S default, and the k8s preStop sleep


@dataclass(frozen=True)
class Proxy:
    mesh: str
    kind: str  # virtualNode | virtualGateway
    name: str
    static_path: PurePosixPath  # where `compile_envoy` puts its bootstrap
    app_ports: tuple[int, ...]  # nodes: the ports the app listens on; gateways: the listener ports
    admin_port: int
    files: dict[str, bytes]  # what the sidecar mounts at config_dir, by file name
    config_dir: str  # the folder the sidecar mounts them at

    @property
    def is_gateway(self) -> bool:
        return self.kind == GATEWAY_KIND

    @property
    def digest(self) -> str:
        """Changes exactly when a mounted file does (a rollout trigger for static bootstraps)."""
        return hashlib.sha256(b"".join(n.encode() + b"\0" + c for n, c in sorted(self.files.items()))).hexdigest()


def proxy_of(path: PurePosixPath, document: Json, options: CompileOptions, keep_static: frozenset[str],
             read_from: str | None = None) -> Proxy:
    """`keep_static`: the clusters an xDS bootstrap keeps static (compile.envoy.xds.xds_files); the files
    are mounted at `xds_directory` (default /etc/envoy) and read from `read_from` under it (see xds_files)."""
    _, mesh, kind, name = document["node"]["id"].split("/", 3)
    config_dir = options.xds_directory or CONFIG_DIR
    files_at = f"{config_dir}/{read_from}" if read_from else None
    files = ({file: render(content) for file, content in
              xds_files(document, config_dir, keep_static, files_at).items()}
             if options.xds else {BOOTSTRAP_FILE: render(document)})
    return Proxy(mesh, kind, name, path, _ports(document, kind, options), document["admin"]["address"]
                 ["socket_address"]["port_value"], files, config_dir)


def _ports(document: Json, kind: str, options: CompileOptions) -> tuple[int, ...]:
    ports: set[int] = set()
    for listener in document["static_resources"]["listeners"]:
        port = listener["address"]["socket_address"]["port_value"]
        if kind == GATEWAY_KIND:
            if port != options.egress_port:
                ports.add(port)
        elif listener.get("traffic_direction") == "INBOUND":
            ports.update(chain["filter_chain_match"]["destination_port"] for chain in listener["filter_chains"]
                         if "destination_port" in chain.get("filter_chain_match", {}))
    return tuple(sorted(ports))


def dns_label(prefix: str, proxy: Proxy) -> str:
    """`<prefix>-<name>` as a Kubernetes object name (DNS-1123: lower case, digits, '-', at most 63 here);
    a short digest of the exact mesh/name keeps two names that clean up alike apart."""
    cleaned = re.sub(r"[^a-z0-9-]+", "-", proxy.name.lower()).strip("-") or "proxy"
    digest = hashlib.sha256(f"{proxy.mesh}/{proxy.kind}/{proxy.name}".encode()).hexdigest()[:6]
    return f"{prefix}-{cleaned[:63 - len(prefix) - 8]}-{digest}".replace("--", "-")


def envoy_args(config_dir: str = CONFIG_DIR) -> list[str]:
    """Envoy's command line as App Mesh's agent ran it: the bootstrap, listener drain time, info logs."""
    return ["envoy", "-c", f"{config_dir}/{BOOTSTRAP_FILE}", "--drain-time-s", str(DRAIN_TIME_S),
            "--log-level", "info"]
