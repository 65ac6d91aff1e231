"""The one integer parser (meshlint.numbers): ASCII decimal, 64-bit at most, a reason for everything else."""

from __future__ import annotations

import pytest

from meshlint.numbers import MAX_DIGITS, NotAnInteger, as_int, in_range, parse_int, preview


@pytest.mark.parametrize(("text", "value"), [
    ("0", 0), ("8080", 8080), ("-1", -1), ("+7", 7), ("007", 7), ("0" * 5000 + "1", 1),
    ("18446744073709551615", 2**64 - 1), ("9" * MAX_DIGITS, 10**MAX_DIGITS - 1),
])
def test_decimal_integers(text: str, value: int) -> None:
    assert parse_int(text) == value


@pytest.mark.parametrize(("text", "reason"), [
    ("²", "'²' is not a whole number"),  # str.isdigit() says yes, int() says no
    ("٣", "'٣' is not a whole number"),  # int() reads an Arabic-Indic three as 3
    ("1_000", "'1_000' is not a whole number"),
    (" 7", "' 7' is not a whole number"),
    ("", "'' is not a whole number"),
    ("-", "'-' is not a whole number"),
    ("0x1f", "'0x1f' is not a whole number"),
    ("1" * (MAX_DIGITS + 1), "a number of 21 digits is out of range (App Mesh integers are 64-bit: at most 20 digits)"),
    ("9" * 5000, "a number of 5,000 digits is out of range (App Mesh integers are 64-bit: at most 20 digits)"),
    ("a" * 5000, repr("a" * 40 + "...") + " is not a whole number"),
])
def test_everything_else_is_refused_with_a_reason(text: str, reason: str) -> None:
    with pytest.raises(NotAnInteger) as refused:
        parse_int(text)
    assert str(refused.value) == reason
    assert as_int(text) is None


def test_unsigned() -> None:
    assert as_int("-1", signed=False) is None
    assert as_int("+1", signed=False) is None
    assert as_int("12", signed=False) == 12


def test_range_and_preview() -> None:
    assert in_range(2**64) and not in_range(10**MAX_DIGITS) and not in_range(-(10**MAX_DIGITS))
    assert preview("abc") == "'abc'"
    assert preview("x" * 100, 10) == "'xxxxxxxxxx...'"
