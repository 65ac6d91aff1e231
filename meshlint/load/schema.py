"""Check a resource document against the JSON Schema generated from the App Mesh API model.

Each jsonschema error becomes one `schema` finding that names the field, says what is wrong in App Mesh's
terms and, for unknown fields and enum values, suggests the closest valid name.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterator
from functools import cache
from typing import Any

from meshlint.diagnostics import join_pointer
from meshlint.numbers import preview
from meshlint.resources import data_dir
from meshlint.unknowns import is_unknown


@cache
def _validator(kind: str) -> Any:
    from jsonschema import Draft202012Validator

    path = data_dir("schemas") / "appmesh" / f"{kind}.schema.json"
    schema = json.loads(path.read_text(encoding="utf-8"))
    return Draft202012Validator(_inline_refs(schema, schema.get("$defs", {})))


def _inline_refs(node: Any, defs: dict[str, Any]) -> Any:
    """Replace local `$ref`s by the definitions they name. The App Mesh shapes are not recursive, and
    resolving references once here, instead of on every validation, halves the time spent validating."""
    if isinstance(node, list):
        return [_inline_refs(item, defs) for item in node]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        target = _inline_refs(defs[ref.removeprefix("#/$defs/")], defs)
        return {**target, **{k: v for k, v in node.items() if k != "$ref"}}
    return {k: (v if k == "$defs" else _inline_refs(v, defs)) for k, v in node.items()}


class SchemaProblem:
    __slots__ = ("about", "at_key", "help", "message", "pointer", "standin")

    def __init__(self, pointer: str, message: str, help: str | None = None, at_key: bool = False,
                 about: tuple[str, str] | None = None, standin: Any = None) -> None:
        self.pointer = pointer
        self.message = message
        self.help = help
        self.at_key = at_key
        self.about = about  # (object pointer, field) of a missing field, or of the field a typo meant
        # set when the value is unknown offline (meshlint.unknowns), so the problem is not the input's: a value
        # of the right type and range that the typed model accepts in its place
        self.standin = standin

    @property
    def unknown(self) -> bool:
        return self.standin is not None


def check(kind: str, data: Any, base: str = "") -> list[SchemaProblem]:
    """Schema problems of one resource object; `base` is its pointer inside the document."""
    return problems_of(_validator(kind), data, base)


def beyond_model(kind: str, obj: Any, base: str = "") -> list[SchemaProblem]:
    """What App Mesh refuses that botocore's model does not say. A virtual service's name is a resource name
    of 1 to 255 characters like every other (the model types it a plain string): App Mesh answered a longer one
    with BadRequestException (aws-app-mesh-controller-for-k8s, test/integration/virtualservice)."""
    name = obj.get("virtualServiceName") if kind == "VirtualService" and isinstance(obj, dict) else None
    if isinstance(name, str) and len(name) > 255 and not is_unknown(name):
        return [SchemaProblem(join_pointer(base, "virtualServiceName"),
                              f"App Mesh refused virtualServiceName of {len(name)} characters: a resource name is "
                              "1 to 255 characters", "a DNS name is at most 253 characters; shorten it")]
    return []


def problems_of(validator: Any, data: Any, base: str = "") -> list[SchemaProblem]:
    """The problems a jsonschema validator finds in `data`, explained (meshlint.load.k8s_schema uses it too)."""
    problems: list[SchemaProblem] = []
    for error in validator.iter_errors(data):
        problems.extend(_explain(error, base))
    # A typo'd field is also a missing required one: report it once, as the typo with its suggestion.
    meant = {p.about for p in problems if p.at_key and p.about}
    problems = [p for p in problems if p.at_key or p.about not in meant]
    problems.sort(key=lambda p: p.pointer)
    return problems


def _where(path: Any) -> str:
    parts: list[str] = []
    for token in path:
        if isinstance(token, int):
            parts.append(f"[{token}]")
        else:
            parts.append(("." if parts else "") + str(token))
    return "".join(parts) or "the document"


def _explain(error: Any, base: str) -> Iterator[SchemaProblem]:
    pointer = join_pointer(base, *error.absolute_path)
    where = _where(error.absolute_path)
    kind = error.validator
    schema = error.schema
    value = error.instance
    if is_unknown(value) and kind in _VALUE_CHECKS:
        yield SchemaProblem(pointer, f"{where} is not known offline", standin=_standin(schema))
    elif kind == "additionalProperties":
        allowed = sorted(schema.get("properties", {}))
        for key in sorted(set(value) - set(allowed)):
            close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
            hint: str | None = f"did you mean {close[0]!r}?" if close else f"allowed here: {', '.join(allowed)}"
            about = (pointer, close[0]) if close else None
            yield SchemaProblem(join_pointer(pointer, key), f"unknown field {key!r} in {where}", hint, True, about)
    elif kind == "required":
        missing = error.validator_value
        for key in missing:
            if key not in value:
                yield SchemaProblem(pointer, f"{where} is missing the required field {key!r}", about=(pointer, key))
    elif kind == "type":
        hint = None
        if isinstance(value, bool | None) and schema["type"] == "string":
            hint = "YAML reads unquoted yes/no/on/off/true/false/null as booleans or null; quote the value"
        yield SchemaProblem(pointer, f"{where} must be {_article(schema['type'])}, not {_describe(value)}", hint)
    elif kind == "enum":
        options = [str(o) for o in error.validator_value]
        matches = difflib.get_close_matches(str(value), options, n=1, cutoff=0.5)
        yield SchemaProblem(pointer, f"{where} is {preview(str(value), 200)}, not one of {', '.join(options)}",
                            f"did you mean {matches[0]!r}?" if matches else None)
    elif kind in ("minimum", "maximum"):
        word = "below the minimum" if kind == "minimum" else "above the maximum"
        yield SchemaProblem(pointer, f"{where} is {value}, {word} {error.validator_value}")
    elif kind in ("minLength", "maxLength"):
        word = "shorter than" if kind == "minLength" else "longer than"
        yield SchemaProblem(pointer, f"{where} is {len(value)} characters, {word} {error.validator_value}")
    elif kind in ("minItems", "maxItems"):
        word = "fewer than" if kind == "minItems" else "more than"
        yield SchemaProblem(pointer, f"{where} has {len(value)} entries, {word} {error.validator_value}")
    elif kind in ("minProperties", "maxProperties"):
        members = ", ".join(sorted(schema.get("properties", {})))
        yield SchemaProblem(pointer, f"{where} must set exactly one of: {members}")
    elif kind == "pattern":
        yield SchemaProblem(pointer,
                            f"{where} {preview(value, 200)} does not match the pattern {error.validator_value}")
    else:
        yield SchemaProblem(pointer, f"{where}: {error.message}")


_VALUE_CHECKS = {"type", "enum", "minimum", "maximum", "minLength", "maxLength", "pattern"}


def _standin(schema: dict[str, Any]) -> Any:
    """A value the schema node accepts, to stand in for an unknown one while the typed model is built."""
    if "enum" in schema:
        return schema["enum"][0]
    wanted = schema.get("type")
    if wanted in ("integer", "number"):
        return max(int(schema.get("minimum", 1)), 1) if schema.get("maximum", 1) >= 1 else schema["maximum"]
    if wanted == "boolean":
        return True
    return "unknown"


def _article(type_name: Any) -> str:
    names = {"object": "a mapping", "array": "a list", "string": "a string", "integer": "an integer",
             "number": "a number", "boolean": "true or false"}
    if isinstance(type_name, list):
        return " or ".join(names.get(str(t), str(t)) for t in type_name)
    return names.get(type_name, str(type_name))


def _describe(value: Any) -> str:
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if value is None:
        return "null"
    if isinstance(value, str):
        return f"the string {preview(value, 200)}"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__
