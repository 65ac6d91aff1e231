"""Every disagreement the differential test found between `trace` and real Envoy, as a fixed scenario run
on the same bench (tests/e2e/trace_bench.py): trace's prediction must be what Envoy does."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.differential import Request, Scenario, fixed
from tests.e2e.trace_bench import Bench, bench, disagreements

pytestmark = pytest.mark.envoy


def _to(node: str) -> dict[str, object]:
    return {"weightedTargets": [{"virtualNode": node, "weight": 100}]}


def _gateway_to_s0(match: dict[str, object], rewrite: dict[str, object] | None = None) -> dict[str, object]:
    action: dict[str, object] = {"target": {"virtualService": {"virtualServiceName": "s0.diff.local"}}}
    if rewrite is not None:
        action["rewrite"] = rewrite
    return {"httpRoute": {"match": match, "action": action}}


REGRESSIONS = {
    # A gateway prefix rewrite can leave `//` in the path; the gateway's second connection manager merges
    # slashes before routing, so hop 2 routes (and the app receives) `/1`, not `//1`. Trace normalised the
    # path only once, at the first hop.
    "hop-2-normalises-the-rewritten-path": fixed(
        routes=[{"priority": 0, "httpRoute": {"match": {"path": {"exact": "/1"}}, "action": _to("t1")}},
                {"priority": 1, "httpRoute": {"match": {"prefix": "/"}, "action": _to("t0")}}],
        gateway_routes=(_gateway_to_s0({"prefix": "/api/v1"}, {"prefix": {"value": "/"}}),),
        requests=(Request("gateway", "api.example.com", "/api/v1/1"),
                  Request("gateway", "api.example.com", "/api/v1//1?q=1"))),
    # normalize_path canonicalises the URL path as a browser does: a backslash becomes a slash. Trace kept it,
    # and predicted a 404 where Envoy routed `/a/b` to the `/a/` route.
    "backslash-is-a-slash": fixed(
        routes=[{"httpRoute": {"match": {"prefix": "/a/"}, "action": _to("t1")}},
                {"httpRoute": {"match": {"path": {"exact": "/c"}}, "action": _to("t0")}}],
        requests=(Request("front", "s0.diff.local", "/a\\b?q=2"), Request("front", "s0.diff.local", "/x\\..\\c"),
                  Request("gateway", "api.example.com", "/a\\b"))),
    # normalize_path decodes escaped unreserved characters (`%61` is `a`, `%7e` is `~`) and keeps every other
    # escape as written. Trace decoded none, and predicted a 404 where Envoy routed `/a/1`.
    "escaped-unreserved-characters-are-decoded": fixed(
        routes=[{"httpRoute": {"match": {"prefix": "/a/"}, "action": _to("t1")}},
                {"httpRoute": {"match": {"path": {"exact": "/%2F"}}, "action": _to("t2")}},
                {"httpRoute": {"match": {"path": {"regex": "/~.*"}}, "action": _to("t0")}}],
        requests=(Request("front", "s0.diff.local", "/%61/1"), Request("front", "s0.diff.local", "/%2F"),
                  Request("front", "s0.diff.local", "/%7E%78"), Request("front", "s0.diff.local", "/%2f"))),
    # A header sent several times matches when one of its values does (Envoy 1.40); trace joined the values
    # with commas, as older Envoys did, and predicted a 404 where `x-b: 1` and `x-b: 7` met `-?[0-9]+`.
    "a-repeated-header-matches-on-any-value": fixed(
        routes=[{"priority": 0, "httpRoute": {"match": {"prefix": "/", "headers": [
                    {"name": "x-b", "match": {"exact": "1"}, "invert": True}]}, "action": _to("t0")}},
                {"priority": 1, "httpRoute": {"match": {"prefix": "/", "headers": [
                    {"name": "x-b", "match": {"regex": "-?[0-9]+"}}]}, "action": _to("t1")}},
                {"priority": 2, "httpRoute": {"match": {"prefix": "/"}, "action": _to("t2")}}],
        requests=(Request("front", "s0.diff.local", "/", headers=(("x-b", "1"), ("x-b", "7"))),
                  Request("front", "s0.diff.local", "/", headers=(("x-b", "1,7"),)),
                  Request("front", "s0.diff.local", "/", headers=(("x-b", "7"), ("x-b", "x"))),
                  Request("front", "s0.diff.local", "/", headers=(("x-b", "1"), ("x-b", "1"))))),
}


@pytest.fixture(scope="module")
def fixed_bench(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bench]:
    with bench(tmp_path_factory.mktemp("trace-regressions"), 9) as found:
        yield found


@pytest.mark.parametrize("name", sorted(REGRESSIONS))
def test_trace_agrees_with_envoy(fixed_bench: Bench, name: str) -> None:
    scenario: Scenario = REGRESSIONS[name]
    wrong = disagreements(fixed_bench, scenario)
    assert not wrong, "\n".join(wrong)
