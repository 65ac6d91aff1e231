"""App Mesh's Envoy resource names, kept exactly: dashboards parse them (spec section 3).

Names inside the Envoy config are never sanitised; only artifact file paths go through `safe_component`.
https://docs.aws.amazon.com/app-mesh/latest/userguide/envoy-metrics.html
"""

from __future__ import annotations

import hashlib
from pathlib import PurePosixPath

_SAFE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-")

SDS_CLUSTER = "static_cluster_sds_unix_socket"
VIRTUAL_SERVICE_HEADER = "x-app-mesh-virtual-service"
NODE_KIND = "virtualNode"
GATEWAY_KIND = "virtualGateway"
_ARTIFACT_DIR = {NODE_KIND: "virtual-nodes", GATEWAY_KIND: "virtual-gateways"}


def safe_component(name: str) -> str:
    """One file-name-safe path component: keep [A-Za-z0-9._-], percent-encode the rest (UTF-8 bytes).

    `.` and `..` are encoded entirely so they never navigate; the empty name becomes `%00`.
    """
    if name in (".", ".."):
        return "%2E" * len(name)
    if not name:
        return "%00"
    return "".join(ch if ch in _SAFE else "".join(f"%{b:02X}" for b in ch.encode()) for ch in name)


NAME_MAX = 255  # bytes in a file name on ext4, XFS, Btrfs, tmpfs and overlayfs
_DIGEST = 16  # hex digits of sha256 in a shortened name: 64 bits


def file_name(name: str, suffix: str = "") -> str:
    """`safe_component(name) + suffix`, or, when that is longer than a file name may be (a 255-character App
    Mesh name plus `.json`, or a shorter one that percent-encoding lengthens), a stable shortened form: the
    start of the encoded name (never cut inside a %XX), `~`, the first 16 hex digits of the sha256 of the whole
    encoded name, then `suffix`. safe_component never writes `~` (it would be %7E), so a shortened name can
    never be the full name of another resource."""
    safe = safe_component(name)
    if len(safe) + len(suffix) <= NAME_MAX:
        return safe + suffix
    head = safe[: NAME_MAX - len(suffix) - 1 - _DIGEST]
    if "%" in head[-2:]:
        head = head[: head.rindex("%")]
    return f"{head}~{hashlib.sha256(safe.encode()).hexdigest()[:_DIGEST]}{suffix}"


# Top-level names the build writer keeps for itself (emit/manifest.py, emit/mounted.py).
RESERVED_TOP = frozenset({"meshlint-manifest.json", ".meshlint-tree"})


def mesh_folder(mesh: str) -> str:
    """The output folder of a mesh: file_name(mesh), its first character percent-encoded when that would be
    a name the writer keeps for itself (safe_component never encodes a letter or '.', so this stays unique)."""
    folder = file_name(mesh)
    return f"%{ord(folder[0]):02X}{folder[1:]}" if folder in RESERVED_TOP else folder


def artifact_path(mesh: str, kind: str, name: str) -> PurePosixPath:
    return PurePosixPath(mesh_folder(mesh), _ARTIFACT_DIR[kind], file_name(name, ".json"))


def node_id(mesh: str, kind: str, name: str) -> str:
    """The `mesh/<mesh>/<type>/<name>` form App Mesh's agent accepted for APPMESH_RESOURCE_ARN."""
    return f"mesh/{mesh}/{kind}/{name}"


def listener_name(direction: str, bind: str, port: int) -> str:
    return f"lds_{direction}_{bind}_{port}"


def ingress_cluster(mesh: str, node: str, protocol: str, port: int) -> str:
    return f"cds_ingress_{mesh}_{node}_{protocol}_{port}"


def egress_cluster(mesh: str, node: str, protocol: str, port: int) -> str:
    """Keyed by the *target virtual node* and its listener, not by the virtual service."""
    return f"cds_egress_{mesh}_{node}_{protocol}_{port}"


def allow_all_cluster(mesh: str) -> str:
    return f"cds_egress_{mesh}_mesh-allow-all"


def amazonaws_cluster(mesh: str) -> str:
    return f"cds_egress_{mesh}_amazonaws"


def self_redirect_cluster(mesh: str, gateway: str, protocol: str, egress_port: int,
                          listener_port: int | None) -> str:
    """`listener_port` only when the gateway has several listeners (App Mesh metrics.md)."""
    middle = f"{listener_port}_{protocol}" if listener_port is not None else protocol
    return f"cds_ingress_{mesh}_{gateway}_self_redirect_{middle}_{egress_port}"


def ingress_route_table(port: int) -> str:
    return f"rds_ingress_http_{port}"


def egress_route_table(port: int) -> str:
    return f"rds_egress_http_{port}"


def chain_name(direction: str, protocol: str, port: int, tls: bool = False) -> str:
    return f"{direction}_{protocol}_{port}" + ("_tls" if tls else "")
