"""Values of evaluated Terraform expressions: plain Python data, plus `Unknown` for what cannot be known offline.

An unknown value shows as `${<the expression as written>}` (`${var.mesh_name}`,
`${data.aws_caller_identity.current.account_id}`), or as a rendered template with such parts
(`vn-${var.app}-blue`); downstream, any value holding `${...}` is unknown (model.graph.has_placeholder).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

_BLANKS = re.compile(r"\s*\n\s*")


@dataclass(frozen=True, slots=True)
class Unknown:
    text: str  # what the value shows
    id_of: str | None = None  # `aws_appmesh_<kind>.<name>` when this is such a resource's `.id` (a UID, no name)

    @staticmethod
    def of(expression: str, id_of: str | None = None) -> Unknown:
        return Unknown("${" + _BLANKS.sub(" ", expression.strip()) + "}", id_of)


class EvalError(Exception):
    """Terraform would refuse this expression (a wrong type, a missing key): `try` catches it."""


class NeedsKnown(Exception):
    """An operation needs a known value and got an Unknown: its whole result is unknown."""


def contains_unknown(value: Any) -> bool:
    if isinstance(value, Unknown):
        return True
    if isinstance(value, list):
        return any(contains_unknown(v) for v in value)
    if isinstance(value, dict):
        return any(contains_unknown(v) for v in value.values())
    return False


def known(value: Any) -> Any:
    if isinstance(value, Unknown):
        raise NeedsKnown
    return value


def as_string(value: Any) -> str:
    """Terraform's conversion to string (numbers and bools convert; null and collections do not)."""
    value = known(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return format_number(value)
    if isinstance(value, str):
        return value
    if value is None:
        raise EvalError("a null value cannot be used as a string")
    raise EvalError(f"a {type_name(value)} cannot be used as a string")


def as_number(value: Any) -> int | float:
    value = known(value)
    if isinstance(value, bool):
        raise EvalError("a bool cannot be used as a number")
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            raise EvalError(f"{value!r} is not a number") from None
        return int(number) if number.is_integer() and "." not in value and "e" not in value.lower() else number
    raise EvalError(f"a {type_name(value)} cannot be used as a number")


def as_bool(value: Any) -> bool:
    value = known(value)
    if isinstance(value, bool):
        return value
    if value in ("true", "false"):
        return bool(value == "true")
    raise EvalError(f"a {type_name(value)} cannot be used as a bool")


def as_list(value: Any) -> list[Any]:
    value = known(value)
    if isinstance(value, list):
        return value
    if isinstance(value, dict):
        return list(value.values())
    raise EvalError(f"a {type_name(value)} is not a list")


def as_map(value: Any) -> dict[str, Any]:
    value = known(value)
    if isinstance(value, dict):
        return value
    raise EvalError(f"a {type_name(value)} is not a map or object")


def format_number(value: int | float) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def normal_number(value: int | float) -> int | float:
    return int(value) if isinstance(value, float) and value.is_integer() else value


def type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "object"
    return "value"


def render(value: Any) -> Any:
    """The value as plain data for the API object: unknowns become their text."""
    if isinstance(value, Unknown):
        return value.text
    if isinstance(value, list):
        return [render(v) for v in value]
    if isinstance(value, dict):
        return {k: render(v) for k, v in value.items()}
    return value
