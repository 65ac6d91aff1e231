"""Integers from text: the one parser every number written as text goes through.

Python's `int()` accepts what no App Mesh, CloudFormation or config value means (`²` fails late, `٣` reads
as 3, `1_000`, ` 7 `) and raises for strings over 4,300 digits; printing such a number raises as well
(https://docs.python.org/3/library/stdtypes.html#int-max-str-digits). Every App Mesh and Envoy integer is
at most 64 bits (https://docs.aws.amazon.com/app-mesh/latest/APIReference/API_Duration.html: a Long), so
a number is ASCII decimal digits with an optional sign and at most MAX_DIGITS of them; anything else is not
a number, with a reason for the caller to report.

A leaf module: it imports nothing from the rest of meshlint.
"""

from __future__ import annotations

MAX_DIGITS = 20  # 2**64 has 20 digits
LIMIT: int = 10**MAX_DIGITS  # a value at or beyond it is out of range wherever it came from (hex, octal, JSON)
MAX_TEXT = 64  # longer text is never converted: `int` costs time quadratic in its length


class NotAnInteger(ValueError):
    """The text is not a decimal integer meshlint reads; the message says why, without repeating it whole."""


def parse_int(text: str, *, signed: bool = True) -> int:
    """`text` as an integer: `[+-]?[0-9]+` (a sign only when `signed`), at most MAX_DIGITS digits once
    leading zeros are dropped. Raises NotAnInteger."""
    body = text[1:] if signed and text[:1] in ("+", "-") else text
    if not body or not body.isascii() or not body.isdigit():
        raise NotAnInteger(f"{preview(text)} is not a whole number")
    significant = body.lstrip("0")
    if len(significant) > MAX_DIGITS:
        raise NotAnInteger(out_of_range(len(significant)))
    value = int(significant or "0")
    return -value if text[:1] == "-" else value


def as_int(text: str, *, signed: bool = True) -> int | None:
    """parse_int, or None for text that is not an integer."""
    try:
        return parse_int(text, signed=signed)
    except NotAnInteger:
        return None


def in_range(value: int) -> bool:
    """Whether an integer (from any source) fits the 64-bit fields it can be meant for."""
    return -LIMIT < value < LIMIT


def out_of_range(digits: int) -> str:
    return (f"a number of {digits:,} digits is out of range (App Mesh integers are 64-bit: at most "
            f"{MAX_DIGITS} digits)")


def preview(text: str, width: int = 40) -> str:
    """`text` quoted, shortened to `width` characters: for messages about text that may be huge."""
    return repr(text if len(text) <= width else text[:width] + "...")
