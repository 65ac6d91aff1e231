"""Check a Kubernetes custom resource against the App Mesh controller's own CRD schema.

The schemas (`schemas/k8s/<Kind>.schema.json`) are generated from the controller's CRDs by
scripts/gen_k8s_schemas.py. The original document is checked, so every pointer is the user's own. A small
walk decides validity first (the CRDs use a handful of keywords); jsonschema is asked only for the messages
of a document that does not fit, as for the API shape (meshlint.load.schema).

The API server drops a null of a field that is not nullable before it validates, so nulls count as absent:
https://kubernetes.io/docs/tasks/extend-kubernetes/custom-resources/custom-resource-definitions/#defaulting-and-nullable
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from functools import cache
from typing import Any

from meshlint.load.schema import SchemaProblem, problems_of
from meshlint.resources import data_dir

Json = dict[str, Any]
_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,), "array": (list,), "string": (str,), "boolean": (bool,), "integer": (int,),
    "number": (int, float),
}  # fmt: skip


@cache
def schema(kind: str) -> Json:
    path = data_dir("schemas") / "k8s" / f"{kind}.schema.json"
    loaded: Json = json.loads(path.read_text(encoding="utf-8"))
    return loaded


@cache
def _validator(kind: str) -> Any:
    from jsonschema import Draft202012Validator

    return Draft202012Validator(schema(kind))


def check(kind: str, data: Any, skip: Iterable[str] = ()) -> list[SchemaProblem]:
    """Problems of the document `data` under the CRD of `kind`, none at or below a pointer in `skip`."""
    data = without_nulls(data)
    if fits(schema(kind), data):
        return []
    prefixes = tuple(skip)
    return [p for p in problems_of(_validator(kind), data)
            if not any(p.pointer == s or p.pointer.startswith(s + "/") for s in prefixes)]


def problem_key(pointer: str, message: str) -> tuple[str, str]:
    """One schema problem as both the CRD and the API shape may word it: where, and what (without the path in
    the schema's own spelling that starts most messages)."""
    return pointer, "unknown field" if message.startswith("unknown field") else message.split(" ", 1)[-1]


def without_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [without_nulls(v) for v in value]
    return value


def fits(node: Json, value: Any) -> bool:
    """Whether `value` satisfies the schema `node` (the keywords the generated CRD schemas use)."""
    wanted = node.get("type")
    if wanted is not None and not _is_type(value, wanted):
        return False
    if "enum" in node and value not in node["enum"]:
        return False
    if isinstance(value, dict):
        return _fits_object(node, value)
    if isinstance(value, list):
        return (len(value) >= node.get("minItems", 0) and len(value) <= node.get("maxItems", len(value))
                and all(fits(node.get("items", {}), item) for item in value))
    if isinstance(value, str):
        pattern = node.get("pattern")
        return (node.get("minLength", 0) <= len(value) <= node.get("maxLength", len(value))
                and (pattern is None or re.search(pattern, value) is not None))
    if isinstance(value, int | float) and not isinstance(value, bool):
        return bool(node.get("minimum", value) <= value <= node.get("maximum", value))
    return True


def _fits_object(node: Json, value: Json) -> bool:
    if any(key not in value for key in node.get("required", ())):
        return False
    props: Json = node.get("properties", {})
    extra = node.get("additionalProperties", True)
    for key, item in value.items():
        sub = props.get(key)
        if sub is not None:
            if not fits(sub, item):
                return False
        elif extra is False or (isinstance(extra, dict) and not fits(extra, item)):
            return False
    return True


def _is_type(value: Any, wanted: str) -> bool:
    if isinstance(value, bool) and wanted != "boolean":
        return False
    if wanted == "integer" and isinstance(value, float):
        return value.is_integer()
    return isinstance(value, _TYPES.get(wanted, (object,)))
