"""The shared route matching (model/routing.py, model/matching.py) and its Envoy form (compile/envoy/matches.py):
what the compiler writes is what `trace` reads back, and a request meets a match as Envoy decides."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import tests.support.profiles  # noqa: F401
from meshlint.compile.envoy.matches import envoy_match, parse_match
from meshlint.model.matching import HttpRequest, header_matches, misses
from meshlint.model.routing import HeaderRule, PathRule, QueryRule, RequestMatch, order_reason
from tests.helpers import check_in

_TEXT = st.text("abcxyz019/-._ ", min_size=1, max_size=8)
_HEADER = st.builds(HeaderRule, st.sampled_from(("x-a", ":method", "x-b")),
                    st.sampled_from(("exact", "prefix", "suffix", "regex")), _TEXT, invert=st.booleans()) | \
    st.builds(HeaderRule, st.just("x-r"), st.just("range"), start=st.integers(-50, 50), end=st.integers(51, 99),
              invert=st.booleans()) | \
    st.builds(HeaderRule, st.just("x-p"), st.just("present"), invert=st.booleans())
_MATCHES = st.builds(RequestMatch, st.builds(PathRule, st.sampled_from(("prefix", "exact", "regex")), _TEXT),
                     st.lists(_HEADER, max_size=3).map(tuple),
                     st.lists(st.builds(QueryRule, _TEXT, st.none() | _TEXT), max_size=2).map(tuple))


@given(_MATCHES)
def test_trace_reads_back_exactly_what_the_compiler_writes(match: RequestMatch) -> None:
    assert parse_match(envoy_match(match)) == match


def _request(path: str = "/", **headers: str) -> HttpRequest:
    return HttpRequest(path, {k.replace("_", "-"): (v,) for k, v in headers.items()})


@pytest.mark.parametrize(("rule", "value", "expected"), [
    (HeaderRule("x-a", "exact", "1"), None, False),  # an absent header fails every condition...
    (HeaderRule("x-a", "exact", "1", invert=True), None, False),  # ...inverted ones too...
    (HeaderRule("x-a", "present", invert=True), None, True),  # ...but "not present"
    (HeaderRule("x-a", "present"), "", True),
    (HeaderRule("x-a", "exact", "1", invert=True), "2", True),
    (HeaderRule("x-a", "range", start=0, end=10), "9", True),
    (HeaderRule("x-a", "range", start=0, end=10), "10", False),  # [start, end)
    (HeaderRule("x-a", "range", start=0, end=10), " 5 ", True),  # absl::SimpleAtoi trims whitespace
    (HeaderRule("x-a", "range", start=0, end=100), "1_0", False),  # ...but is no Python int()
    (HeaderRule("x-a", "range", start=-5, end=0), "-3", True),
    (HeaderRule("x-a", "range", start=0, end=10), "x", False),
    (HeaderRule("x-a", "range", start=0, end=10, invert=True), "x", True),
    (HeaderRule("x-a", "regex", "v[0-9]"), "v12", False),  # a regex matches the whole value
    (HeaderRule("x-a", "suffix", "c"), "abc", True),
])
def test_header_conditions(rule: HeaderRule, value: str | None, expected: bool) -> None:
    assert header_matches(rule, None if value is None else (value,)) is expected


@pytest.mark.parametrize(("rule", "values", "expected"), [
    (HeaderRule("x-b", "exact", "7"), ("1", "7"), True),  # one of the values is enough
    (HeaderRule("x-b", "exact", "1,7"), ("1", "7"), False),  # the values are not joined...
    (HeaderRule("x-b", "exact", "1"), ("1,7",), False),  # ...and one value is not split at its commas
    (HeaderRule("x-b", "regex", "-?[0-9]+"), ("1", "7"), True),
    (HeaderRule("x-b", "exact", "1", invert=True), ("1", "7"), False),  # invert negates "one of them matches"
    (HeaderRule("x-b", "range", start=0, end=5, invert=True), ("1", "7"), False),
    (HeaderRule("x-b", "exact", "9", invert=True), ("1", "7"), True),
])
def test_a_header_sent_several_times(rule: HeaderRule, values: tuple[str, ...], expected: bool) -> None:
    """Measured on Envoy 1.40 (and found by the differential test: trace joined the values with commas)."""
    assert header_matches(rule, values) is expected


def test_paths_ignore_the_query_and_a_regex_matches_all_of_the_path() -> None:
    assert misses(RequestMatch(PathRule("exact", "/a")), _request("/a?x=1")) == []
    assert misses(RequestMatch(PathRule("regex", "/a/[0-9]+")), _request("/a/1?b=2")) == []
    assert [m.what for m in misses(RequestMatch(PathRule("regex", "/a")), _request("/a/1"))] == ["path"]
    assert [m.what for m in misses(RequestMatch(PathRule("prefix", "/A")), _request("/a"))] == ["path"]


def test_query_parameters_are_matched_as_written_on_their_first_value() -> None:
    wanted = RequestMatch(PathRule("prefix", "/"), query=(QueryRule("q", "a b"),))
    assert [m.got for m in misses(wanted, _request("/?q=a%20b"))] == [("a%20b",)]  # not decoded
    first = RequestMatch(PathRule("prefix", "/"), query=(QueryRule("q", "1"),))
    assert misses(first, _request("/?q=1&q=2")) == []
    assert [m.got for m in misses(first, _request("/?q=2&q=1"))] == [("2",)]
    present = RequestMatch(PathRule("prefix", "/"), query=(QueryRule("q"),))
    assert misses(present, _request("/?q")) == []
    assert [m.got for m in misses(present, _request("/?qq=1"))] == [None]


def test_misses_say_what_was_wanted_and_what_came() -> None:
    match = RequestMatch(PathRule("prefix", "/api"), (HeaderRule("x-canary", "exact", "true"),
                                                      HeaderRule(":method", "exact", "POST")))
    found = misses(match, _request("/web", **{":method": "GET"}))
    assert [m.describe() for m in found] == [
        "path '/web' does not match prefix /api",
        "wants x-canary exact 'true', request has absent",
        "wants :method exact 'POST', request has 'GET'",
    ]


ORDER_MESH = """\
meshName: m
spec: {}
---
meshName: m
virtualRouterName: r
spec: {listeners: [{portMapping: {port: 80, protocol: http}}]}
"""


def test_order_reason_names_the_rule_that_decided(tmp_path: Path) -> None:
    routes = {"p1": ("1", "prefix: /"), "p5": ("5", "prefix: /api"), "long": ("", "prefix: /api/v1"),
              "short": ("", "prefix: /api"), "exact": ("", "path: {exact: /api}"), "b": ("", "prefix: /x"),
              "a": ("", "prefix: /y")}
    docs = [ORDER_MESH]
    for name, (priority, match) in routes.items():
        line = f"  priority: {priority}\n" if priority else ""
        docs.append(f"meshName: m\nvirtualRouterName: r\nrouteName: {name}\nspec:\n{line}  httpRoute:\n"
                    f"    match: {{{match}}}\n    action: {{weightedTargets: [{{virtualNode: n, weight: 1}}]}}\n")
    (tmp_path / "m.yaml").write_text("---\n".join(docs))
    by_name = {r.name: r for r in check_in(tmp_path).graph.routes_by_router[("m", "r")]}
    assert order_reason(by_name["p1"], by_name["p5"]) == "priority 1 comes before priority 5"
    assert order_reason(by_name["p5"], by_name["long"]) == "priority 5 comes before a route without priority"
    assert order_reason(by_name["long"], by_name["short"]) == "longer match first (7 characters against 4)"
    assert order_reason(by_name["exact"], by_name["short"]) == "an exact path comes before a prefix of the same length"
    assert order_reason(by_name["a"], by_name["b"]) == ("same priority and match length: the name decides "
                                                        "('a' before 'b')")
