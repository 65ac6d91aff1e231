"""kustomize's `namespace:`: a kustomization.yaml sets the namespace of every resource it lists, which decides
the App Mesh names the controller derives (`<name>_<namespace>`) and the mesh a namespace selector picks.
https://kubectl.docs.kubernetes.io/references/kustomize/kustomization/namespace/
"""

from __future__ import annotations

import posixpath
from typing import Any


def is_kustomization(data: Any, path: str) -> bool:
    """A kustomization: `kind: Kustomization`, or a kustomization.yaml without apiVersion (kustomize's default)."""
    if not isinstance(data, dict):
        return False
    named = posixpath.basename(path) in ("kustomization.yaml", "kustomization.yml", "Kustomization")
    return data.get("kind") == "Kustomization" or (named and "apiVersion" not in data)


def namespace_of(path: str, namespaces: dict[str, str]) -> str | None:
    """The namespace a kustomization sets for the file at `path`: listed itself, or inside a listed folder."""
    probe = path
    while probe:
        if probe in namespaces:
            return namespaces[probe]
        parent = posixpath.dirname(probe)
        probe = "" if parent == probe else parent
    return None


def namespaced_files(path: str, data: dict[str, Any]) -> dict[str, str]:
    """Display path of each file the kustomization at `path` lists -> the namespace it sets ({} without one)."""
    namespace = data.get("namespace")
    if not isinstance(namespace, str) or not namespace:
        return {}
    folder = posixpath.dirname(path)
    listed = [*(data.get("resources") or []), *(data.get("bases") or [])]
    return {posixpath.normpath(posixpath.join(folder, str(r))): namespace for r in listed if isinstance(r, str)}
