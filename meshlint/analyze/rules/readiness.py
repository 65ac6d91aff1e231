"""Build readiness: what Envoy refuses at start-up although App Mesh accepted it — regex-not-re2,
regex-too-large, relative-path.

Envoy's safe_regex is RE2 (https://github.com/google/re2/wiki/Syntax). Python's `re` can parse a pattern
but cannot measure RE2's program size, so regex-too-large estimates it from the parsed structure: every
literal, class or `.` counts 1, a group 2, an alternation 1 per branch, and a counted repetition `{m,n}`
copies its operand n times (m + 1 for an open bound), as RE2's compiler does. The estimate is compared
with 1000, the `re2.max_program_size.error_level` that App Mesh's Envoy and `meshlint build` set (Envoy's
own default is 100).
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterator
from re import _parser as sre_parse  # type: ignore[attr-defined]  # the parser behind `re` (3.11+)
from typing import Any

from meshlint.analyze.context import RuleContext, finding, rule
from meshlint.diagnostics import Finding
from meshlint.model.entities import Resource

PROGRAM_SIZE_LIMIT = 1000

# constructs RE2 does not implement (it guarantees linear time): look-around, back-references, atomic
# groups, possessive quantifiers, conditionals
_NOT_RE2 = (
    (re.compile(r"\(\?<?[=!]"), "look-around ((?=...), (?!...), (?<=...), (?<!...))"),
    (re.compile(r"(?<!\\)(?:\\\\)*\\[1-9]"), "a back-reference (\\1 ... \\9)"),
    (re.compile(r"\(\?P=\w+\)|\\k<\w+>"), "a named back-reference"),
    (re.compile(r"\(\?>"), "an atomic group ((?>...))"),
    (re.compile(r"(?<!\\)[*+?}]\+"), "a possessive quantifier (*+, ++, ?+)"),
    (re.compile(r"\(\?\("), "a conditional ((?(1)...))"),
)


def _strings(data: Any, path: tuple[str | int, ...] = ()) -> Iterator[tuple[tuple[str | int, ...], str]]:
    if isinstance(data, dict):
        for key, value in data.items():
            yield from _strings(value, (*path, key))
    elif isinstance(data, (list, tuple)):
        for i, value in enumerate(data):
            yield from _strings(value, (*path, i))
    elif isinstance(data, str):
        yield path, data


def _spec_strings(resource: Resource, sign: re.Pattern[str]) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """Every string of the resource's spec with its path, for specs whose compact JSON shows `sign`: the
    JSON dump is done natively, so most specs are ruled out without walking them in Python."""
    spec = getattr(resource, "spec", None)
    dumped = spec.model_dump_json(by_alias=True, exclude_none=True) if spec is not None else ""
    if sign.search(dumped):
        yield from _strings(json.loads(dumped))


_REGEX_SIGN = re.compile(r'"regex":')
_RELATIVE_SIGN = re.compile(r'"(?:certificateChain|privateKey|path)":"(?!/)')


def _regexes(ctx: RuleContext) -> list[tuple[Resource, tuple[str | int, ...], str]]:
    """(route, spec path, pattern) of every regex of every route; both regex rules read them (RuleContext.shared)."""
    routes: list[Resource] = [*ctx.model.routes.values(), *ctx.model.gateway_routes.values()]
    return [(route, path, value) for route in routes for path, value in _spec_strings(route, _REGEX_SIGN)
            if path and path[-1] == "regex"]


# Both judgements below depend on the pattern alone, and meshes repeat their patterns (one content-type regex
# on every route of a service): each distinct pattern is parsed once.
@functools.lru_cache(maxsize=1024)
def unsupported(pattern: str) -> str | None:
    """The first construct of `pattern` that RE2 rejects, described; None when there is none."""
    cleaned = re.sub(r"\[(?:\\.|[^\]\\])*\]", "[]", pattern)  # inside a class, (?= and \1 mean other things
    for found, what in _NOT_RE2:
        if found.search(cleaned):
            return what
    return None


@functools.lru_cache(maxsize=1024)
def program_size(pattern: str) -> int | None:
    """An estimate of RE2's compiled program size (instructions); None when Python cannot parse it."""
    try:
        parsed = sre_parse.parse(pattern)
    except (re.error, RecursionError, OverflowError):
        return None
    return 2 + _size(parsed)


def _size(items: Any) -> int:
    total = 0
    for op, arg in items:
        name = str(op)
        if name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
            low, high, sub = arg
            inner = _size(sub)
            copies = high if high != sre_parse.MAXREPEAT else low + 1
            total += inner * max(copies, 1) + max(copies, 1)
        elif name == "SUBPATTERN":
            total += 2 + _size(arg[-1])
        elif name == "BRANCH":
            total += sum(_size(b) + 1 for b in arg[1])
        elif name in ("ASSERT", "ASSERT_NOT", "ATOMIC_GROUP"):
            total += _size(arg[-1])
        elif name == "IN":  # a class compiles to one byte range (and one alternative) per range
            total += max(1, 2 * len(arg) - 1)
        else:
            total += 1
    return total


@rule("regex-not-re2")
def regex_not_re2(ctx: RuleContext) -> Iterator[Finding]:
    for route, path, pattern in ctx.shared(_regexes):
        what = unsupported(pattern)
        if what is None:
            continue
        yield finding(
            "regex-not-re2", route, route.spec_pointer(*path),
            f"the regex '{pattern}' of {_describe(route)} uses {what}, which RE2 (Envoy's regex engine) does not "
            "support: Envoy rejects the configuration",
            "rewrite it without that construct (RE2 syntax: https://github.com/google/re2/wiki/Syntax), e.g. "
            "with a narrower character class or a second route")


@rule("regex-too-large")
def regex_too_large(ctx: RuleContext) -> Iterator[Finding]:
    for route, path, pattern in ctx.shared(_regexes):
        if unsupported(pattern) is not None:
            continue
        size = program_size(pattern)
        if size is None or size <= PROGRAM_SIZE_LIMIT:
            continue
        yield finding(
            "regex-too-large", route, route.spec_pointer(*path),
            f"the regex '{pattern}' of {_describe(route)} compiles to about {size} RE2 instructions, above the "
            f"limit of {PROGRAM_SIZE_LIMIT}: Envoy rejects the configuration",
            "replace counted repetitions ({n,m}) with open ones (+, *) or shorten the alternatives")


def _describe(route: Resource) -> str:
    word = "route" if route.kind == "Route" else "gateway route"
    return f"{word} {route.qualified_name!r}"


# ---- relative-path --------------------------------------------------------------------------------
_FILE_KEYS = {"certificateChain", "privateKey"}


@rule("relative-path")
def relative_path(ctx: RuleContext) -> Iterator[Finding]:
    resources: list[Resource] = [*ctx.model.nodes.values(), *ctx.model.gateways.values()]
    for resource in resources:
        for path, value in _spec_strings(resource, _RELATIVE_SIGN):
            key = path[-1] if path else None
            is_cert = key in _FILE_KEYS and len(path) > 1 and path[-2] == "file"
            is_log = key == "path" and "accessLog" in path
            if not (is_cert or is_log) or value.startswith("/"):
                continue
            what = "access log" if is_log else ("private key" if key == "privateKey" else "certificate")
            kind = "virtual node" if resource.kind == "VirtualNode" else "virtual gateway"
            yield finding(
                "relative-path", resource, resource.spec_pointer(*path),
                f"the {what} path {value!r} of {kind} {resource.name!r} is relative: Envoy resolves it against "
                "its working directory, which differs between images and hosts",
                f"write the absolute path the file has inside the Envoy container (e.g. '/{value.lstrip('./')}')")
