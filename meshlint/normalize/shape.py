"""Shared by the CloudFormation and Kubernetes adapters: an API-shaped copy of a resource, plus the table
that maps every node of the copy back to where it was written.

The copy lives under a synthetic base (`load.sources.translated_base`); `Translation.table` maps each
translated pointer to the pointer of the original node, and `SourceFile.translate` registers it so that
positions (and the pointers diagnostics show) point into the user's file.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

from meshlint.diagnostics import join_pointer, parent_pointer
from meshlint.load import schema
from meshlint.numbers import as_int

# value, original pointer -> replacement value (or the value itself); lets an adapter resolve intrinsics
Resolver = Callable[[Any, str], Any]


class Translation:
    """The API-shaped object being built and where each of its nodes came from."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.table: dict[str, str] = {}

    def note(self, original: str, *tokens: str | int) -> None:
        self.table[join_pointer(self.base, *tokens)] = original

    def original(self, pointer: str) -> str:
        """Where a translated pointer came from: its nearest noted ancestor (as SourceFile.original_pointer)."""
        probe = pointer
        while probe:
            if probe in self.table:
                return self.table[probe]
            probe = parent_pointer(probe)
        return pointer

    def repoint(self, api: str, written: str) -> None:
        """Nodes noted at `api` (a field the adapter renamed) or below it came from `written`."""
        for key, at in self.table.items():
            if at == api or at.startswith(api + "/"):
                self.table[key] = written + at[len(api):]


@cache
def kind_schema(kind: str) -> dict[str, Any]:
    node: dict[str, Any] = schema._validator(kind).schema
    return node


def member(node: Any, key: str) -> tuple[str, Any]:
    """The API name of `key` in the object schema `node` (matched ignoring case: CloudFormation writes
    `PortMapping`, `TLS`, `AWSCloudMap`, `HTTP2` where the API has `portMapping`, `tls`, `awsCloudMap`,
    `http2`), and the member's schema. An unknown key keeps its name, first letter lowered, so that the
    schema check reports it with a suggestion."""
    props = node.get("properties", {}) if isinstance(node, dict) else {}
    if key in props:
        return key, props[key]
    found = _folded(props).get(key.lower()) if props else None
    if found is not None:
        return found
    return (key[:1].lower() + key[1:]) if key else key, None


# id of a schema's `properties` -> (that mapping, kept alive so that its id is not reused; its members by
# lowered name). Schemas are made once (kind_schema), so this holds one entry per object schema, and a
# CloudFormation key (always PascalCase) is found without lowering every member name for every value.
_FOLDED: dict[int, tuple[dict[str, Any], dict[str, tuple[str, Any]]]] = {}


def _folded(props: dict[str, Any]) -> dict[str, tuple[str, Any]]:
    entry = _FOLDED.get(id(props))
    if entry is None:
        index: dict[str, tuple[str, Any]] = {}
        for name, sub in props.items():
            index.setdefault(name.lower(), (name, sub))  # the first of names equal but for case, as before
        entry = _FOLDED[id(props)] = (props, index)
    return entry[1]


def convert(value: Any, node: Any, original: str, translated: str, out: Translation,
            resolve: Resolver, *, coerce: bool = False) -> Any:
    """A copy of `value` with keys in the API's spelling, intrinsics resolved by `resolve`, every node noted
    in `out` (`translated`: the copy's pointer, under `out.base`, extended a token per level rather than
    joined again from the base at every node). Returns `resolve`'s `DROP` sentinel unchanged for the caller
    to drop. `coerce`: scalars given as strings become the integer or boolean the schema wants, as
    CloudFormation converts them."""
    value = resolve(value, original)
    out.table[translated] = original
    if coerce and isinstance(value, str) and isinstance(node, dict):
        return _coerced(value, node.get("type"))
    if isinstance(value, dict):
        result: dict[str, Any] = {}
        for key, item in value.items():
            name, sub = member(node, key)
            converted = convert(item, sub, join_pointer(original, key), join_pointer(translated, name), out,
                                resolve, coerce=coerce)
            if converted is not DROP:
                result[name] = converted
        return result
    if isinstance(value, list):
        items = node.get("items") if isinstance(node, dict) else None
        kept: list[Any] = []
        for index, item in enumerate(value):
            converted = convert(item, items, join_pointer(original, index), f"{translated}/{len(kept)}", out,
                                resolve, coerce=coerce)
            if converted is not DROP:
                kept.append(converted)
        return kept
    return value


def _coerced(value: str, wanted: Any) -> Any:
    if wanted == "integer" and (number := as_int(value)) is not None:
        return number
    if wanted == "boolean" and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return value


class _Drop:
    def __repr__(self) -> str:
        return "DROP"


DROP: Any = _Drop()  # a value that removes its property (CloudFormation's AWS::NoValue)
