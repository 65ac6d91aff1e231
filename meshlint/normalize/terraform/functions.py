"""Terraform's built-in functions that mesh definitions use, on plain values.

A function that needs a known argument and gets an `Unknown` raises NeedsKnown (its result is unknown); a
wrong argument raises EvalError, as Terraform would refuse it (`try` falls back on that). `try` and `can`
take unevaluated arguments and live in the evaluator. Functions not listed here are unknown.
https://developer.hashicorp.com/terraform/language/functions
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from meshlint.normalize.terraform.values import (
    EvalError,
    NeedsKnown,
    Unknown,
    as_bool,
    as_list,
    as_map,
    as_number,
    as_string,
    contains_unknown,
    known,
    normal_number,
    render,
)

Function = Callable[[list[Any]], Any]


def _arity(args: list[Any], low: int, high: int | None = None) -> None:
    if len(args) < low or (high is not None and len(args) > high):
        raise EvalError("wrong number of arguments")


def _lookup(args: list[Any]) -> Any:
    _arity(args, 2, 3)
    table, key = as_map(args[0]), as_string(args[1])
    if key in table:
        return table[key]
    if len(args) == 3:
        return args[2]
    raise EvalError(f"no key {key!r} in the map")


def _format(args: list[Any]) -> Any:
    _arity(args, 1)
    spec = as_string(args[0])
    values = iter(args[1:])
    unknown = False

    def one(match: re.Match[str]) -> str:
        nonlocal unknown
        verb = match.group(2)
        if verb == "%":
            return "%"
        try:
            value = next(values)
        except StopIteration:
            raise EvalError("format: not enough arguments") from None
        if isinstance(value, Unknown):
            unknown = True
            return value.text
        if verb == "d":
            return str(int(as_number(value)))
        if verb == "q":
            return json.dumps(as_string(value))
        if verb in "fgeEG":
            return ("%" + match.group(1) + verb) % as_number(value)
        if verb == "v" and not isinstance(value, (str, int, float, bool)):
            return json.dumps(render(value), separators=(",", ":"))
        return as_string(value)

    text = re.sub(r"%([-+ #0-9.]*)([a-zA-Z%])", one, spec)
    return Unknown(text) if unknown else text


def _formatlist(args: list[Any]) -> Any:
    _arity(args, 1)
    lists = [as_list(a) for a in args[1:] if isinstance(known(a), list)]
    rows = min((len(x) for x in lists), default=1)
    return [_format([args[0], *(as_list(a)[i] if isinstance(a, list) else a for a in args[1:])])
            for i in range(rows)]


def _element(args: list[Any]) -> Any:
    _arity(args, 2, 2)
    items, index = as_list(args[0]), int(as_number(args[1]))
    if not items:
        raise EvalError("element of an empty list")
    return items[index % len(items)]


def _split(args: list[Any]) -> Any:
    _arity(args, 2, 2)
    return as_string(args[1]).split(as_string(args[0]))


def _join(args: list[Any]) -> Any:
    _arity(args, 2)
    parts = [p for a in args[1:] for p in as_list(a)]
    text = as_string(args[0]).join(p.text if isinstance(p, Unknown) else as_string(p) for p in parts)
    return Unknown(text) if any(isinstance(p, Unknown) for p in parts) else text


def _coalesce(args: list[Any]) -> Any:
    for value in args:
        if isinstance(value, Unknown):
            raise NeedsKnown
        if value is not None and value != "":
            return value
    raise EvalError("coalesce: no non-null, non-empty argument")


def _merge(args: list[Any]) -> Any:
    out: dict[str, Any] = {}
    for value in args:
        if value is not None:
            out.update(as_map(value))
    return out


def _concat(args: list[Any]) -> Any:
    return [item for value in args for item in as_list(value)]


def _tonumber(args: list[Any]) -> Any:
    _arity(args, 1, 1)
    return None if args[0] is None else normal_number(as_number(args[0]))


def _tostring(args: list[Any]) -> Any:
    _arity(args, 1, 1)
    if isinstance(args[0], Unknown):
        return args[0]  # keeps what it stands for (an App Mesh resource's `.id` stays one)
    return None if args[0] is None else as_string(args[0])


def _toset(args: list[Any]) -> Any:
    _arity(args, 1, 1)
    out: list[Any] = []
    for item in as_list(args[0]):
        if item not in out:
            out.append(item)
    return sorted(out, key=lambda v: (str(type(v)), str(v))) if not contains_unknown(out) else out


def _length(args: list[Any]) -> Any:
    _arity(args, 1, 1)
    value = known(args[0])
    if isinstance(value, (list, dict)):
        return len(value)
    return len(as_string(value))


def _flatten(args: list[Any]) -> Any:
    out: list[Any] = []

    def walk(value: Any) -> None:
        if isinstance(known(value), list):
            for item in value:
                walk(item)
        else:
            out.append(value)

    walk(args[0])
    return out


def _replace(args: list[Any]) -> Any:
    _arity(args, 3, 3)
    text, old, new = (as_string(a) for a in args)
    if len(old) > 1 and old.startswith("/") and old.endswith("/"):
        return re.sub(old[1:-1], re.sub(r"\$\{?(\w+)\}?", r"\\g<\1>", new), text)
    return text.replace(old, new)


def _zipmap(args: list[Any]) -> Any:
    keys, values = as_list(args[0]), as_list(args[1])
    return {as_string(k): v for k, v in zip(keys, values, strict=False)}


def _range(args: list[Any]) -> Any:
    numbers = [int(as_number(a)) for a in args]
    return list(range(*numbers))


def _one(args: list[Any]) -> Any:
    items = as_list(args[0]) if args[0] is not None else []
    if len(items) > 1:
        raise EvalError("one: more than one element")
    return items[0] if items else None


def _substr(args: list[Any]) -> Any:
    text, offset, length = as_string(args[0]), int(as_number(args[1])), int(as_number(args[2]))
    return text[offset:] if length < 0 else text[offset:offset + length]


def _jsonencode(args: list[Any]) -> Any:
    if contains_unknown(args[0]):
        raise NeedsKnown
    return json.dumps(args[0], separators=(",", ":"), sort_keys=True)


def _index(args: list[Any]) -> Any:
    items = as_list(args[0])
    if args[1] not in items:
        raise EvalError("index: value not in the list")
    return items.index(args[1])


FUNCTIONS: dict[str, Function] = {
    "lookup": _lookup, "format": _format, "element": _element, "split": _split, "join": _join,
    "coalesce": _coalesce, "merge": _merge, "concat": _concat, "tostring": _tostring, "tonumber": _tonumber,
    "tobool": lambda a: None if a[0] is None else as_bool(a[0]),
    "tolist": lambda a: as_list(a[0]), "toset": _toset, "tomap": lambda a: as_map(a[0]),
    "length": _length, "keys": lambda a: sorted(as_map(a[0])),
    "values": lambda a: [as_map(a[0])[k] for k in sorted(as_map(a[0]))],
    "lower": lambda a: as_string(a[0]).lower(), "upper": lambda a: as_string(a[0]).upper(),
    "title": lambda a: as_string(a[0]).title(), "trimspace": lambda a: as_string(a[0]).strip(),
    "trimprefix": lambda a: as_string(a[0]).removeprefix(as_string(a[1])),
    "trimsuffix": lambda a: as_string(a[0]).removesuffix(as_string(a[1])),
    "trim": lambda a: as_string(a[0]).strip(as_string(a[1])),
    "replace": _replace, "substr": _substr, "contains": lambda a: known(a[1]) in as_list(a[0]),
    "startswith": lambda a: as_string(a[0]).startswith(as_string(a[1])),
    "endswith": lambda a: as_string(a[0]).endswith(as_string(a[1])),
    "distinct": lambda a: [v for i, v in enumerate(as_list(a[0])) if v not in as_list(a[0])[:i]],
    "flatten": _flatten, "zipmap": _zipmap, "range": _range, "one": _one, "index": _index,
    "compact": lambda a: [v for v in as_list(a[0]) if v is not None and v != ""],
    "coalescelist": lambda a: next((as_list(v) for v in a if as_list(v)), []),
    "reverse": lambda a: list(reversed(as_list(a[0]))),
    "sort": lambda a: sorted(as_string(v) for v in as_list(a[0])),
    "slice": lambda a: as_list(a[0])[int(as_number(a[1])):int(as_number(a[2]))],
    "formatlist": _formatlist,
    "min": lambda a: normal_number(min(as_number(v) for v in a)),
    "max": lambda a: normal_number(max(as_number(v) for v in a)),
    "abs": lambda a: normal_number(abs(as_number(a[0]))),
    "jsonencode": _jsonencode,
}
