"""`terraform show -json` output: a plan (`planned_values`, else `resource_changes`) or a state (`values`).

Values there are already evaluated, with the same snake_case names and list-wrapped blocks as HCL, so they go
through the same conversion as a module's resources; positions point into the JSON file.
https://developer.hashicorp.com/terraform/internals/json-format
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from meshlint.diagnostics import Finding, join_pointer
from meshlint.load.sources import translated_base
from meshlint.model.entities import Origin
from meshlint.normalize.appmesh_api import RawResource, read_resource
from meshlint.normalize.shape import Translation
from meshlint.normalize.terraform import mapping
from meshlint.normalize.terraform.convert import Body, Converter, Value

PREFIX = "aws_appmesh_"


def read_plan(data: dict[str, Any], path: str, doc: int) -> tuple[list[RawResource], list[Finding], dict[str, str]]:
    raws: list[RawResource] = []
    findings: list[Finding] = []
    table: dict[str, str] = {}
    for index, (address, kind, values, at) in enumerate(_resources(data)):
        found = mapping.resources().get(kind)
        if found is None or not isinstance(values, dict):
            continue
        api_kind, node = found
        converter = Converter(address, path, Translation(translated_base(index)))
        obj = converter.resource_object(node, _body(values, node, at))
        raw, notes = read_resource(api_kind, obj, Origin(path, doc, converter.out.base))
        findings.extend([*(_in_doc(f, doc) for f in converter.findings), *notes])
        table.update(converter.out.table)
        if raw is not None:
            raws.append(raw)
    return raws, findings, table


def _in_doc(finding: Finding, doc: int) -> Finding:
    return Finding(finding.rule, finding.message, finding.path, finding.pointer, doc, finding.help)


def _resources(data: dict[str, Any]) -> Iterator[tuple[str, str, Any, str]]:
    """(address, type, values, pointer of values) of every managed App Mesh resource."""
    for top in ("planned_values", "values"):
        module = data.get(top, {}).get("root_module") if isinstance(data.get(top), dict) else None
        if isinstance(module, dict):
            yield from _module(module, join_pointer("", top, "root_module"))
            return
    for i, change in enumerate(data.get("resource_changes") or []):
        if not isinstance(change, dict) or not str(change.get("type", "")).startswith(PREFIX):
            continue
        found = change.get("change")
        detail: dict[str, Any] = found if isinstance(found, dict) else {}
        if change.get("mode", "managed") != "managed" or detail.get("actions") == ["delete"]:
            continue
        yield (str(change.get("address")), str(change["type"]), detail.get("after"),
               join_pointer("", "resource_changes", i, "change", "after"))


def _module(module: dict[str, Any], at: str) -> Iterator[tuple[str, str, Any, str]]:
    for i, resource in enumerate(module.get("resources") or []):
        if isinstance(resource, dict) and resource.get("mode", "managed") == "managed" and \
                str(resource.get("type", "")).startswith(PREFIX):
            yield (str(resource.get("address")), str(resource["type"]), resource.get("values"),
                   join_pointer(at, "resources", i, "values"))
    for i, child in enumerate(module.get("child_modules") or []):
        if isinstance(child, dict):
            yield from _module(child, join_pointer(at, "child_modules", i))


def _body(values: dict[str, Any], node: mapping.NodeSpec, at: str) -> Body:
    body = Body(at)
    for key, value in values.items():
        where = join_pointer(at, key)
        block = node.blocks.get(key)
        if block is not None and isinstance(value, list):
            body.blocks[key] = [_body(item, block.node, join_pointer(where, i))
                                for i, item in enumerate(value) if isinstance(item, dict)]
            if not body.blocks[key]:
                del body.blocks[key]
        elif key in node.attrs and value is not None:
            body.attrs[key] = Value(value, where)
    return body
