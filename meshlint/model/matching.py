"""How a request meets a route's `RequestMatch` (model/routing.py), as the Envoy route table App Mesh
configured decides it:

* path: read without its query string, case-sensitively; a regex must match all of it;
* headers: the value against exact / prefix / suffix / full regex; `range` is [start, end) on an integer
  value; a header sent several times matches when one of its values does (Envoy 1.40, measured: a comma
  inside one value splits nothing); `invert` negates that result, but an absent header matches only an
  inverted "present";
* query parameters: the first value of the name, not percent-decoded (Envoy's parseQueryString).

https://www.envoyproxy.io/docs/envoy/latest/api-v3/config/route/v3/route_components.proto#config-route-v3-headermatcher
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from meshlint.model.routing import HeaderRule, PathRule, RequestMatch

_INT64 = re.compile(r"[+-]?[0-9]+")
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


@dataclass(frozen=True, slots=True)
class HttpRequest:
    """A request as a route table sees it: the (normalised) path with its query string, and the values of
    each header (lower-case names, pseudo-headers `:method`, `:scheme`, `:authority` included), in the order
    sent."""

    path: str
    headers: Mapping[str, tuple[str, ...]]

    @property
    def path_only(self) -> str:
        return self.path.split("?", 1)[0]

    def header(self, name: str) -> tuple[str, ...] | None:
        return self.headers.get(name.lower())

    def query_params(self) -> dict[str, str]:
        """The first value of every parameter, as written."""
        _, sep, query = self.path.partition("?")
        out: dict[str, str] = {}
        for part in query.split("&") if sep else ():
            if part:
                name, _, value = part.partition("=")
                out.setdefault(name, value)
        return out


@dataclass(frozen=True, slots=True)
class Miss:
    """One condition of a route that a request fails: what it wanted, what the request had (None: absent)."""

    what: Literal["path", "header", "query"]
    wanted: str
    got: tuple[str, ...] | None  # the request's value (a header's values), None: absent

    def describe(self) -> str:
        if self.what == "path":
            return f"path {self.got[0] if self.got else ''!r} does not match {self.wanted}"
        had = "absent" if self.got is None else ", ".join(repr(v) for v in self.got)
        return f"wants {self.wanted}, request has {had}"

    def to_json(self) -> dict[str, object]:
        return {"what": self.what, "wanted": self.wanted, "got": None if self.got is None else list(self.got)}


def misses(match: RequestMatch, request: HttpRequest) -> list[Miss]:
    """Every condition `request` fails, path first; [] when the route takes it."""
    out: list[Miss] = []
    path = request.path_only
    if not path_matches(match.path, path):
        out.append(Miss("path", match.path.describe(), (path,)))
    for rule in match.headers:
        values = request.header(rule.name)
        if not header_matches(rule, values):
            out.append(Miss("header", rule.describe(), values))
    if match.query:
        params = request.query_params()
        for q in match.query:
            got = params.get(q.name)
            if got is None or (q.exact is not None and got != q.exact):
                out.append(Miss("query", q.describe(), None if got is None else (got,)))
    return out


@functools.lru_cache(maxsize=1024)
def compiled_regex(pattern: str) -> re.Pattern[str] | None:
    """Python's `re` for an RE2 pattern (the syntax App Mesh allows is common to both); None when Python
    cannot read it."""
    try:
        return re.compile(pattern)
    except re.error:
        return None


def full_match(pattern: str, value: str) -> bool:
    regex = compiled_regex(pattern)
    return regex is not None and regex.fullmatch(value) is not None


def path_matches(rule: PathRule, path: str) -> bool:
    if rule.kind == "prefix":
        return path.startswith(rule.value)
    if rule.kind == "exact":
        return path == rule.value
    return full_match(rule.value, path)


def header_matches(rule: HeaderRule, values: tuple[str, ...] | None) -> bool:
    """One of the header's values meets the condition (then `invert` negates); absent: only "not present"."""
    if not values:
        return rule.kind == "present" and rule.invert
    return any(_value_matches(rule, value) for value in values) != rule.invert


def _value_matches(rule: HeaderRule, value: str) -> bool:
    if rule.kind == "present":
        return True
    if rule.kind == "range":
        number = _int64(value)
        return number is not None and rule.start <= number < rule.end
    if rule.kind == "exact":
        return value == rule.value
    if rule.kind == "prefix":
        return value.startswith(rule.value)
    if rule.kind == "suffix":
        return value.endswith(rule.value)
    return full_match(rule.value, value)


def _int64(text: str) -> int | None:
    """absl::SimpleAtoi: optional surrounding whitespace, an optional sign, decimal digits, within int64."""
    stripped = text.strip(" \t\n\v\f\r")
    if not _INT64.fullmatch(stripped):
        return None
    number = int(stripped)
    return number if _INT64_MIN <= number <= _INT64_MAX else None
