"""An evaluated `aws_appmesh_*` resource -> the App Mesh API object, as the provider's expand code builds it.

Blocks are lists in Terraform; a MaxItems-1 block becomes one object, the others arrays under the API's
plural name. The provider drops empty strings and, for `priority`, optional ports, health-check, pool and
outlier numbers and duration values, zeros (design/terraform-appmesh.md, rules 5-7); of an unguarded union
it keeps the last member. Every API node is noted with where it was written (`shape.Translation`), and the
Terraform-only traps are reported here: `terraform-zero-priority`, `terraform-union-overwritten`,
`terraform-id-as-name`.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any

from meshlint.diagnostics import Finding, join_pointer
from meshlint.normalize.shape import Translation
from meshlint.normalize.terraform.mapping import ALWAYS, DEFAULTS, AttrSpec, BlockSpec, NodeSpec
from meshlint.normalize.terraform.values import EvalError, Unknown, as_number, as_string, normal_number

ZERO_PRIORITY = "terraform-zero-priority"
UNION = "terraform-union-overwritten"
ID_AS_NAME = "terraform-id-as-name"
META = {"count", "for_each", "provider", "depends_on", "lifecycle", "provisioner", "connection"}
_DROP = object()


@dataclass(frozen=True)
class Value:
    value: Any
    pointer: str  # where it is written


@dataclass
class Body:
    """An evaluated block: attribute values and nested blocks by type, in the order written."""

    pointer: str
    attrs: dict[str, Value] = field(default_factory=dict)
    blocks: dict[str, list[Body]] = field(default_factory=dict)
    unknown: list[str] = field(default_factory=list)  # dynamic blocks whose for_each is not known


@dataclass
class Converter:
    """Converts one resource instance, written in `path`; API pointers are noted below `out.base`."""

    resource: str  # address, for messages
    path: str
    out: Translation
    findings: list[Finding] = field(default_factory=list)
    partial: list[str] = field(default_factory=list)

    def resource_object(self, node: NodeSpec, body: Body) -> dict[str, Any]:
        self.out.note(body.pointer)
        return self.body(node, body, self.out.base, "", top=True)

    def body(self, node: NodeSpec, body: Body, at: str, path: str, top: bool = False) -> dict[str, Any]:
        """`at`: the API pointer of this object (API names hold neither "/" nor "~": plain concatenation)."""
        obj: dict[str, Any] = {}
        self.partial.extend(body.unknown)
        for name, item in body.attrs.items():
            spec = node.attrs.get(name)
            if spec is None:
                if not (top and name in META):
                    self._unexpected(node, name, item.pointer, block=False)
                continue
            value = self.attribute(spec, name, item, path)
            if value is _DROP or spec.api is None:
                continue
            obj[spec.api] = value
            self._note(item.pointer, value, f"{at}/{spec.api}")
        for name, instances in body.blocks.items():
            block = node.blocks.get(name)
            if block is None:
                if not (top and name in META):
                    self._unexpected(node, name, instances[0].pointer, block=True)
                continue
            if block.api is None:
                continue
            obj[block.api] = self.block(block, name, instances, f"{at}/{block.api}", f"{path}.{name}".lstrip("."))
        self._defaults(obj, node, path, at, body.pointer)
        return obj

    def attribute(self, spec: AttrSpec, name: str, item: Value, path: str) -> Any:
        value = item.value
        if isinstance(value, Unknown):
            if value.id_of is not None and (name.endswith("_name") or name in ("name", "virtual_node")):
                kind = value.id_of.split(".", 1)[0].removeprefix("aws_appmesh_").replace("_", " ")
                self.findings.append(Finding(
                    ID_AS_NAME, f"{name} of {self.resource} is {value.id_of}.id, the {kind}'s UID, not its name",
                    self.path, item.pointer, help=f"use {value.id_of}.name: only an aws_appmesh_mesh's id is "
                    "its name"))
            if spec.type.startswith("map("):
                return _DROP  # a map whose keys are unknown (`tags = merge(var.tags, ...)`) has nothing to show
            return value.text
        if value is None:
            return _DROP
        try:
            converted = _convert(value, spec.type)
        except EvalError:
            return value  # the schema check names the wrong type
        if spec.zero_unset and converted == 0:
            if name == "priority":
                self.findings.append(Finding(
                    ZERO_PRIORITY, f"priority = 0 of {self.resource} is not sent: the provider sends a priority "
                    "only when it is above 0, so this route has no priority and is ordered after every "
                    "prioritised route", self.path, item.pointer,
                    help="use priority = 1 (or renumber from 1) for the route that must match first"))
            return _DROP
        if converted == "" and spec.type == "string" and not spec.required:
            return _DROP  # a required one is kept: the provider's validation refuses it, and so does the schema
        return converted

    def block(self, spec: BlockSpec, name: str, instances: list[Body], at: str, path: str) -> Any:
        if spec.mode == "one":
            if len(instances) > 1:
                self.findings.append(Finding("schema", f"{self.resource} has {len(instances)} {name} blocks "
                                             "where one is allowed; the provider reads the first", self.path,
                                             instances[1].pointer, help=f"keep one {name} block"))
            self.out.table[at] = instances[0].pointer
            return self._member(spec, name, instances[0], at, path)
        items: list[Any] = []
        for instance in instances:
            item_at = f"{at}/{len(items)}"
            converted = self._member(spec, name, instance, item_at, path)
            if spec.mode == "set" and converted in items:
                continue  # a set: identical blocks are one
            self.out.table[item_at] = instance.pointer
            items.append(converted)
        self.out.table[at] = instances[0].pointer if instances else ""
        return items

    def _member(self, spec: BlockSpec, name: str, body: Body, at: str, path: str) -> dict[str, Any]:
        converted = self.body(spec.node, body, at, path)
        if spec.union is not None:
            self.union(spec, converted, body, name)
        return converted

    def _defaults(self, obj: dict[str, Any], node: NodeSpec, path: str, at: str, pointer: str) -> None:
        for key, value in DEFAULTS.get(path, {}).items():
            api = node.attrs[key].api if key in node.attrs else None
            if api is not None and api not in obj:
                obj[api] = value
                self.out.table[f"{at}/{api}"] = pointer
        wanted = ALWAYS.get(path)
        if wanted is not None and wanted in node.blocks and node.blocks[wanted].api not in obj:
            api = node.blocks[wanted].api
            assert api is not None
            obj[api] = {}
            self.out.table[f"{at}/{api}"] = pointer

    def union(self, spec: BlockSpec, obj: dict[str, Any], body: Body, name: str) -> None:
        """Of an unguarded union's members, the provider keeps the one it assigns last."""
        assert spec.union is not None
        given = [m for m in spec.union if m in body.blocks or (m in body.attrs and body.attrs[m].value not in
                                                                 (None, ""))]
        if len(given) < 2:
            return
        kept = given[-1]
        for member in given[:-1]:
            api = (spec.node.blocks[member].api if member in spec.node.blocks else spec.node.attrs[member].api)
            obj.pop(api or "", None)
        self.findings.append(Finding(
            UNION, f"{name} of {self.resource} sets {', '.join(given)}; only one may be set, and the provider "
            f"silently keeps {kept}", self.path, body.pointer,
            help=f"keep only the {name} member you mean ({', '.join(spec.union)} are alternatives)"))

    def _unexpected(self, node: NodeSpec, name: str, pointer: str, block: bool) -> None:
        if not block and name in node.blocks:
            message = f"{name} of {self.resource} is a block, not an argument (a Terraform 0.11 idiom " \
                      "Terraform 0.12 and later refuse)"
            help = f"write it as a block: {name} {{ ... }} (a dynamic \"{name}\" block for a list)"
        else:
            what = "block" if block else "argument"
            close = difflib.get_close_matches(name, [*node.attrs, *node.blocks], n=1)
            message = f"{self.resource} has no {what} named {name!r}"
            help = f"did you mean {close[0]!r}?" if close else "see the provider's documentation of this resource"
        self.findings.append(Finding("schema", message, self.path, pointer, help=help))

    def _note(self, pointer: str, value: Any, at: str) -> None:
        self.out.table[at] = pointer
        if isinstance(value, list):
            for index, item in enumerate(value):
                self._note(join_pointer(pointer, index) if not isinstance(item, dict) else pointer, item,
                           f"{at}/{index}")
        elif isinstance(value, dict):
            for key, item in value.items():
                self.out.table[f"{at}/{key}"] = pointer
                del item


def _convert(value: Any, kind: str) -> Any:
    if kind == "string":
        return as_string(value) if isinstance(value, (str, int, float, bool)) else value
    if kind == "number":
        return normal_number(as_number(value))
    if kind == "bool":
        if isinstance(value, str) and value in ("true", "false"):
            return value == "true"
        return value
    if kind.startswith(("set(", "list(")) and isinstance(value, list):
        inner = kind[kind.index("(") + 1:-1]
        items = [v.text if isinstance(v, Unknown) else _convert(v, inner) for v in value if v is not None]
        if kind.startswith("set("):
            items = [v for i, v in enumerate(items) if v not in items[:i]]
        return items
    if kind.startswith("map(") and isinstance(value, dict):
        return [{"key": k, "value": v.text if isinstance(v, Unknown) else _convert(v, "string")}
                for k, v in sorted(value.items())]
    return value
