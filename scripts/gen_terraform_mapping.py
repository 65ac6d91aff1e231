"""Generate the Terraform -> App Mesh API field mapping from the provider's schema.

    python scripts/gen_terraform_mapping.py                # (re)write meshlint/normalize/terraform/provider_schema.json
    python scripts/gen_terraform_mapping.py --check        # exit 1 if the committed file differs
    python scripts/gen_terraform_mapping.py --schemas DIR  # read aws_appmesh_*.json from DIR

Input: `terraform providers schema -json` of hashicorp/aws 6.19.0, one file per `aws_appmesh_*` resource
(../shared/design/terraform-schema, see design/terraform-appmesh.md), and meshlint's App Mesh JSON Schemas
(schemas/appmesh, generated from botocore), which decide the API spelling of every field: snake_case ->
camelCase, or its plural where the API has an array (`listener` -> `listeners`), or nothing where the API has
no such member (`grpc_route.match.prefix`).

What the schema JSON cannot say comes from the provider's Go source (expand functions), written down in
design/terraform-appmesh.md, and is kept in the two tables below; every path in them is checked to exist.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from meshlint.load.schema import _inline_refs  # noqa: E402

OUT = ROOT / "meshlint" / "normalize" / "terraform" / "provider_schema.json"
DEFAULT_SCHEMAS = ROOT.parent / "shared" / "design" / "terraform-schema"
KINDS = {
    "aws_appmesh_mesh": "Mesh", "aws_appmesh_virtual_service": "VirtualService",
    "aws_appmesh_virtual_router": "VirtualRouter", "aws_appmesh_route": "Route",
    "aws_appmesh_virtual_node": "VirtualNode", "aws_appmesh_virtual_gateway": "VirtualGateway",
    "aws_appmesh_gateway_route": "GatewayRoute",
}
NAME_KEYS = {"Mesh": "meshName", "VirtualService": "virtualServiceName", "VirtualRouter": "virtualRouterName",
             "Route": "routeName", "VirtualNode": "virtualNodeName", "VirtualGateway": "virtualGatewayName",
             "GatewayRoute": "gatewayRouteName"}

# Union blocks without ConflictsWith/ExactlyOneOf: the expand code assigns every member given, one after the
# other in this order, so the last one wins (design/terraform-appmesh.md, "General conversion rules" 4).
_TIMEOUTS = ("grpc", "http", "http2", "tcp")
_CERTS = ("acm", "file", "sds")
_MATCH = ("exact", "prefix", "regex", "suffix", "range")
_FORMAT = ("json", "text")
UNGUARDED = {
    "aws_appmesh_virtual_node": {
        "spec.listener.timeout": _TIMEOUTS, "spec.listener.connection_pool": _TIMEOUTS,
        "spec.listener.tls.certificate": _CERTS,
        "spec.backend_defaults.client_policy.tls.certificate": ("file", "sds"),
        "spec.backend_defaults.client_policy.tls.validation.trust": _CERTS,
        "spec.backend.virtual_service.client_policy.tls.certificate": ("file", "sds"),
        "spec.backend.virtual_service.client_policy.tls.validation.trust": _CERTS,
        "spec.logging.access_log.file.format": _FORMAT,
    },
    "aws_appmesh_virtual_gateway": {
        "spec.listener.connection_pool": ("grpc", "http", "http2"), "spec.listener.tls.certificate": _CERTS,
        "spec.logging.access_log.file.format": _FORMAT,
    },
    "aws_appmesh_route": {
        "spec.http_route.match.header.match": _MATCH, "spec.http2_route.match.header.match": _MATCH,
        "spec.grpc_route.match.metadata.match": _MATCH,
    },
    "aws_appmesh_gateway_route": {
        "spec.http_route.match.header.match": _MATCH, "spec.http2_route.match.header.match": _MATCH,
    },
}
# Numbers the provider sends only when > 0 (`if v > 0`), so 0 means "not set" (rule 6). Matched by name on
# number attributes; `port` of a port mapping is always sent.
ZERO_UNSET = {"priority", "port", "healthy_threshold", "unhealthy_threshold", "interval_millis", "timeout_millis",
              "max_connections", "max_pending_requests", "max_requests", "max_ejection_percent",
              "max_server_errors", "value"}
# Only the arguments of a resource, not what the provider computes
TOP_LEVEL_API = {"mesh_name": "meshName", "mesh_owner": "meshOwner", "virtual_router_name": "virtualRouterName",
                 "virtual_gateway_name": "virtualGatewayName", "tags": "tags", "spec": "spec"}


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def api_member(api: Any, name: str) -> tuple[str | None, Any]:
    props = api.get("properties", {}) if isinstance(api, dict) else {}
    for candidate in (camel(name), camel(name) + "s"):
        if candidate in props:
            return candidate, props[candidate]
    return None, None


def type_code(tf_type: Any) -> str:
    return tf_type if isinstance(tf_type, str) else f"{tf_type[0]}({type_code(tf_type[1])})"


def block_node(tf: dict[str, Any], api: Any, path: str, resource: str, top: str | None) -> dict[str, Any]:
    attrs: dict[str, list[Any]] = {}
    for name, attr in sorted(tf.get("attributes", {}).items()):
        if top is not None:
            api_name = NAME_KEYS[top] if name == "name" else TOP_LEVEL_API.get(name)
        else:
            api_name, _ = api_member(api, name)
        code = type_code(attr["type"])
        flags = ""
        if attr.get("required"):
            flags += "r"
        if code == "number" and name in ZERO_UNSET and not path.endswith("port_mapping"):
            flags += "z"
        if attr.get("computed") and not attr.get("optional") and not attr.get("required"):
            continue  # only the provider sets it
        attrs[name] = [api_name, code, flags]
    blocks: dict[str, list[Any]] = {}
    for name, block in sorted(tf.get("block_types", {}).items()):
        api_name, sub = (TOP_LEVEL_API.get(name), (api or {}).get("properties", {}).get("spec")) if top else \
            api_member(api, name)
        # One object in the API whatever the nesting (the provider reads element [0] of connection_pool.http,
        # which has no MaxItems); an array where the API has one.
        many = block.get("max_items") != 1
        if isinstance(sub, dict):
            many = sub.get("type") == "array"
            sub = sub.get("items") if many else sub
        child_path = f"{path}.{name}" if path else name
        mode = "set" if many and block["nesting_mode"] == "set" else ("list" if many else "one")
        node = block_node(block["block"], sub, child_path, resource, None)
        blocks[name] = [api_name, mode, node, UNGUARDED.get(resource, {}).get(child_path)]
    return {"attrs": attrs, "blocks": blocks}


def _paths(node: dict[str, Any], prefix: str = "") -> set[str]:
    out = set()
    for name, (_, _, child, _) in node["blocks"].items():
        path = f"{prefix}.{name}" if prefix else name
        out.add(path)
        out |= _paths(child, path)
    return out


def render(schemas: Path) -> str:
    resources: dict[str, Any] = {}
    for resource, kind in sorted(KINDS.items()):
        tf = json.loads((schemas / f"{resource}.json").read_text(encoding="utf-8"))["block"]
        api_doc = json.loads((ROOT / "schemas" / "appmesh" / f"{kind}.schema.json").read_text(encoding="utf-8"))
        api = _inline_refs(api_doc, api_doc.get("$defs", {}))
        node = block_node(tf, api, "", resource, kind)
        missing = set(UNGUARDED.get(resource, {})) - _paths(node)
        if missing:
            raise SystemExit(f"{resource}: no such block in the provider schema: {sorted(missing)}")
        resources[resource] = [kind, node]
    header = ("Generated by scripts/gen_terraform_mapping.py from the hashicorp/aws 6.19.0 provider schema and the "
              "App Mesh JSON Schemas; do not edit. Read by meshlint/normalize/terraform/mapping.py.")
    return json.dumps({"comment": header, "resources": resources}, indent=1, sort_keys=True) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--schemas", type=Path, default=DEFAULT_SCHEMAS)
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    text = render(args.schemas)
    if args.check:
        if not OUT.exists() or OUT.read_text(encoding="utf-8") != text:
            print(f"{OUT.relative_to(ROOT)} differs from what the provider schema gives", file=sys.stderr)
            return 1
        return 0
    OUT.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
