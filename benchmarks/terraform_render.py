"""App Mesh API objects -> Terraform HCL (`aws_appmesh_*` resources), the inverse of meshlint's reader.

Blocks and attribute names come from the generated provider mapping
(meshlint/normalize/terraform/provider_schema.json): an API object is a block, an API array of objects one
block per element, `{key, value}` lists (tags, Cloud Map attributes) a map. Used by the benchmark generator
and the property tests. Standard library only.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

MAPPING = Path(__file__).resolve().parent.parent / "meshlint" / "normalize" / "terraform" / "provider_schema.json"
NAME_KEYS = {"Mesh": "meshName", "VirtualService": "virtualServiceName", "VirtualRouter": "virtualRouterName",
             "Route": "routeName", "VirtualNode": "virtualNodeName", "VirtualGateway": "virtualGatewayName",
             "GatewayRoute": "gatewayRouteName"}
_RESOURCES = json.loads(MAPPING.read_text(encoding="utf-8"))["resources"]
TYPES = {kind: name for name, (kind, _) in _RESOURCES.items()}


def string(value: str) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text.replace("${", "$${").replace("%{", "%%{")


def literal(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return json.dumps(value)
    if isinstance(value, str):
        return string(value)
    if isinstance(value, list):
        return "[" + ", ".join(literal(v) for v in value) + "]"
    raise TypeError(f"no HCL literal for {value!r}")


def _body(node: dict[str, Any], obj: dict[str, Any], indent: str, out: list[str], top: bool = False) -> None:
    for name, (api, kind, _flags) in sorted(node["attrs"].items()):
        if api is None or api not in obj or (top and name == "name"):
            continue
        value = obj[api]
        if kind.startswith("map(") and isinstance(value, list):
            pairs = ", ".join(f"{string(str(i['key']))} = {string(str(i.get('value', '')))}" for i in value)
            out.append(f"{indent}{name} = {{ {pairs} }}")
        else:
            out.append(f"{indent}{name} = {literal(value)}")
    for name, (api, mode, child, _union) in node["blocks"].items():
        if api is None or api not in obj:
            continue
        items = obj[api] if mode != "one" else [obj[api]]
        for item in items:
            out.append(f"{indent}{name} {{")
            _body(child, item, indent + "  ", out)
            out.append(f"{indent}}}")


def resource(kind: str, obj: dict[str, Any], label: str) -> str:
    """One `resource "aws_appmesh_<kind>" "<label>" { ... }` block for the API object `obj`."""
    kind_type = TYPES[kind]
    node = _RESOURCES[kind_type][1]
    out = [f'resource "{kind_type}" "{label}" {{', f"  name = {string(obj[NAME_KEYS[kind]])}"]
    _body(node, {**obj, "spec": obj.get("spec") or {}}, "  ", out, top=True)
    out.append("}")
    return "\n".join(out) + "\n"


def label(kind: str, name: str, index: int) -> str:
    """A valid, unique resource label."""
    return f"{kind.lower()}_{index}_{re.sub(r'[^A-Za-z0-9_]', '_', name)[:40]}"


def expressible(kind: str, obj: dict[str, Any]) -> bool:
    """Whether every field of the API object has a Terraform argument (gateway routes' `match.method`, gRPC
    gateway `hostname`/`metadata`/`rewrite` and Cloud Map `ipPreference` have none)."""
    return _covers(_RESOURCES[TYPES[kind]][1], obj, top=True)


def _covers(node: dict[str, Any], obj: dict[str, Any], top: bool = False) -> bool:
    known = {api for api, _, _ in node["attrs"].values() if api} | ({NAME_KEYS[k] for k in NAME_KEYS} if top else set())
    blocks = {api: (mode, child) for api, mode, child, _ in node["blocks"].values() if api}
    for key, value in obj.items():
        if key in blocks:
            mode, child = blocks[key]
            items = value if mode != "one" else [value]
            if not all(isinstance(i, dict) and _covers(child, i) for i in items):
                return False
        elif key not in known:
            return False
    return True
