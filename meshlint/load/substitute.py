"""envsubst for templated input: `${VAR}`, `$VAR` and `{{ VAR }}` filled from a mapping before parsing.

Done on the text, as envsubst would, so that unquoted placeholders (`"port": $PORT` in JSON) parse; lines
with a substituted value show the substituted text in diagnostics. Placeholders the mapping does not know
are left as written (and reported by `template-placeholder`), never replaced by an empty string.

CloudFormation `Fn::Sub` template strings (`!Sub "api.${Domain}"`, `Fn::Sub: ...`, the first item of the
list form) are not templates of this kind: `${Domain}` there is CloudFormation's own variable, resolved
from the template's parameters, their defaults and `--parameter` (normalize/cloudformation.py), never
from the environment. They are found from the parser's scalar spans (load.spans), so they are left alone
whatever the file looks like around them.

`Substituted` remembers where each value went, so that `--fix` can map a span of the substituted text back
to the file, and refuse a value that a substitution wrote.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from meshlint.load.spans import scan_scalars

PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)|\{\{-?\s*(.*?)\s*-?\}\}")

Replaced = tuple[int, int, int, int]  # a placeholder's [start, end) in the original, then its value's in the text


def placeholder_name(match: re.Match[str]) -> str:
    return match.group(1) or match.group(2) or match.group(3) or ""


@dataclass(frozen=True)
class Substituted:
    original: str
    text: str
    values: Mapping[str, str]
    replaced: tuple[Replaced, ...] = ()  # in text order

    def original_span(self, start: int, end: int) -> tuple[int, int] | None:
        """`text[start:end]` as a span of `original`; None when a substituted value overlaps it."""
        before = bisect_left(self.replaced, end, key=lambda r: r[2])  # replacements starting before `end`
        if before == 0:
            return start, end
        last = self.replaced[before - 1]
        if last[3] > start or last[2] >= start:
            return None
        shift = last[1] - last[3]
        return start + shift, end + shift

    def original_position(self, position: int) -> int:
        """Where `position` of the text is in the original (the placeholder's start, inside a value)."""
        before = bisect_right(self.replaced, position, key=lambda r: r[2])
        if before == 0:
            return position
        last = self.replaced[before - 1]
        return last[0] if position < last[3] else position + last[1] - last[3]


def substitute(text: str, values: Mapping[str, str]) -> Substituted:
    """`text` with the placeholders `values` knows filled in, except inside `Fn::Sub` template strings."""
    matches = [m for m in PLACEHOLDER.finditer(text) if _value(m, values) != m.group(0)]
    if matches and "Sub" in text:  # "!Sub" or "Fn::Sub": only then can a placeholder be CloudFormation's
        kept = _sub_templates(text, matches, values)
        if kept:
            starts = [s for s, _ in kept]
            matches = [m for m in matches if not _inside(m.start(), kept, starts)]
    return _replaced(text, matches, values)


def _value(match: re.Match[str], values: Mapping[str, str]) -> str:
    """The placeholder's value, or its own text when `values` has none (only `get` is asked)."""
    return values.get(placeholder_name(match), match.group(0))


def _sub_templates(text: str, matches: Sequence[re.Match[str]], values: Mapping[str, str]) -> list[tuple[int, int]]:
    """The spans of the `Fn::Sub` templates. A text that YAML reads only once filled in (JSON with a bare
    `$PORT`) is also scanned filled in, and the spans found there mapped back."""
    scan = scan_scalars(text)
    spans = list(scan.sub_templates)
    if not scan.complete:
        filled = _replaced(text, matches, values)
        spans += [(filled.original_position(s), filled.original_position(e))
                  for s, e in scan_scalars(filled.text).sub_templates]
    return sorted(spans)


def _inside(position: int, spans: list[tuple[int, int]], starts: list[int]) -> bool:
    index = bisect_right(starts, position) - 1
    return any(spans[i][0] <= position < spans[i][1] for i in range(max(index - 1, 0), index + 1))


def _replaced(text: str, matches: Sequence[re.Match[str]], values: Mapping[str, str]) -> Substituted:
    pieces: list[str] = []
    replaced: list[Replaced] = []
    done = length = 0
    for match in matches:
        head = text[done:match.start()]
        value = _value(match, values)
        pieces += (head, value)
        length += len(head)
        replaced.append((match.start(), match.end(), length, length + len(value)))
        length += len(value)
        done = match.end()
    pieces.append(text[done:])
    return Substituted(text, "".join(pieces), values, tuple(replaced))
