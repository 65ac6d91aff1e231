"""Unit tests for the helpers behind the routing, TLS, resilience and build-readiness rules (ML020-ML042):
match coverage, RE2 checks, SAN matching, and the placeholder-mesh scoping that keeps unrelated templates
sharing `${MeshName}` from being compared."""

from __future__ import annotations

from pathlib import Path

import pytest

from meshlint.analyze.rules.identity import _FQDN
from meshlint.analyze.rules.mtls import san_matches
from meshlint.analyze.rules.readiness import program_size, unsupported
from meshlint.analyze.rules.resilience import millis
from meshlint.analyze.rules.traffic import covers, overlaps, protocol_problem
from meshlint.config import Settings
from meshlint.model.graph import has_placeholder
from meshlint.model.spec import Duration, GrpcRouteMatch, HttpRouteMatch
from tests.helpers import check_in


def http(**kw: object) -> HttpRouteMatch:
    return HttpRouteMatch.model_validate(kw)


@pytest.mark.parametrize(("first", "later", "expected"), [
    ({"prefix": "/"}, {"prefix": "/beta"}, True),
    ({"prefix": "/api"}, {"path": {"exact": "/api/health"}}, True),
    ({"prefix": "/api"}, {"prefix": "/admin"}, False),
    ({"prefix": "/api", "method": "GET"}, {"prefix": "/api/v2"}, False),
    ({"prefix": "/api"}, {"prefix": "/api", "method": "GET"}, True),
    ({"prefix": "/", "headers": [{"name": "x", "match": {"exact": "1"}}]}, {"prefix": "/a"}, False),
    ({"prefix": "/", "port": 8080}, {"prefix": "/a", "port": 8081}, False),
    ({"prefix": "/"}, {"path": {"regex": "^/a.*$"}}, True),
    ({"prefix": "/a"}, {"path": {"regex": "^/a.*$"}}, False),
])
def test_http_covers(first: dict[str, object], later: dict[str, object], expected: bool) -> None:
    assert covers("http_route", http(**first), http(**later)) is expected


def test_grpc_covers_and_overlaps() -> None:
    service = GrpcRouteMatch.model_validate({"serviceName": "a.A"})
    method = GrpcRouteMatch.model_validate({"serviceName": "a.A", "methodName": "Get"})
    other = GrpcRouteMatch.model_validate({"serviceName": "b.B"})
    assert covers("grpc_route", service, method)
    assert not covers("grpc_route", method, service)
    assert overlaps("grpc_route", service, method)
    assert not overlaps("grpc_route", service, other)


def test_http_overlaps() -> None:
    assert overlaps("http_route", http(prefix="/api"), http(prefix="/api/v2"))
    assert not overlaps("http_route", http(prefix="/api"), http(prefix="/admin"))
    assert not overlaps("http_route", http(prefix="/", method="GET"), http(prefix="/", method="POST"))
    assert overlaps("http_route", http(prefix="/x"), http(path={"regex": ".*"}))


def test_protocol_problem() -> None:
    assert protocol_problem("tcp", "http") is not None
    assert protocol_problem("http", "tcp") is not None
    assert protocol_problem("grpc", "http") is not None
    assert protocol_problem("http", "http2") is None
    assert protocol_problem("http2", "http") is None


@pytest.mark.parametrize(("pattern", "bad"), [
    ("^/api/(?!internal).*", True), ("(?<=a)b", True), (r"(a)\1", True), ("(?>a)", True), ("a++", True),
    ("[(?=]x", False), (r"\\1", False), ("^/api/v[0-9]+/.*$", False), (r"\++", False),
])
def test_unsupported_re2(pattern: str, bad: bool) -> None:
    assert (unsupported(pattern) is not None) is bad


def test_program_size_grows_with_counted_repetition() -> None:
    small, large = program_size("^/orders/[a-z]+$"), program_size("^/orders/[a-z0-9-]{1,255}$")
    assert small is not None and small < 50
    assert large is not None and large > 1000
    assert program_size("(") is None


def test_san_and_fqdn_and_duration() -> None:
    assert san_matches("*.shop.local", "orders.shop.local")
    assert not san_matches("*.local", "orders.shop.local")
    assert san_matches("Orders.Shop.Local.", "orders.shop.local")
    assert _FQDN.fullmatch("orders.shop.local") and _FQDN.fullmatch("color_server.demo.local")
    assert not _FQDN.fullmatch("orders") and not _FQDN.fullmatch("orders.shop.local:8080")
    assert millis(Duration(value=2, unit="s")) == 2000 and millis(Duration(value=5, unit="ms")) == 5


def test_placeholders() -> None:
    assert has_placeholder("${MeshName}") and has_placeholder("{{ .Values.mesh }}") and has_placeholder("$MESH")
    assert not has_placeholder("shop")


ROUTE = """meshName: ${{MeshName}}
virtualRouterName: color-router
routeName: {name}
spec:
  httpRoute:
    match: {{prefix: /}}
    action:
      weightedTargets: [{{virtualNode: blue, weight: 100}}]
"""


def test_placeholder_mesh_compares_within_one_file_only(tmp_path: Path) -> None:
    """Two walkthroughs that both write `meshName: ${MeshName}` are not one mesh: routes of the same name
    in different files must not shadow each other, while two in one file still do."""
    (tmp_path / "a.yaml").write_text(ROUTE.format(name="one"))
    (tmp_path / "b.yaml").write_text(ROUTE.format(name="two"))
    settings = Settings(select=frozenset({"shadowed-route"}))
    assert check_in(tmp_path, ["."], settings).diagnostics == []
    (tmp_path / "b.yaml").write_text(ROUTE.format(name="two") + "---\n" + ROUTE.format(name="three"))
    found = check_in(tmp_path, ["."], settings).diagnostics
    assert [(d.path, d.rule) for d in found] == [("b.yaml", "shadowed-route")]


def test_route_order_is_priority_then_longest_match_then_name(tmp_path: Path) -> None:
    """Design 6.2: priority first (none = after all), then the longer path, prefix or regex, an exact path
    before a prefix of the same length, and the name only for what is left; a catch-all without priority
    therefore never hides `/legacy` (App Mesh: "longest prefix wins")."""
    routes = {"a-root": "prefix: /", "b-legacy": "prefix: /legacy", "c-exact": "path: {exact: /legacy}",
              "d-first": "prefix: /", "e-regex": "path: {regex: ^/legacy.*$}"}
    docs = ["meshName: m\nspec: {}", "meshName: m\nvirtualRouterName: r\nspec:\n  listeners: "
            "[{portMapping: {port: 80, protocol: http}}]"]
    for name, match in routes.items():
        priority = "  priority: 3\n" if name == "d-first" else ""
        docs.append(f"meshName: m\nvirtualRouterName: r\nrouteName: {name}\nspec:\n{priority}  httpRoute:\n"
                    f"    match: {{{match}}}\n    action: {{weightedTargets: [{{virtualNode: n, weight: 1}}]}}")
    (tmp_path / "m.yaml").write_text("\n---\n".join(docs) + "\n")
    result = check_in(tmp_path)
    assert [r.name for r in result.graph.routes_by_router[("m", "r")]] == [
        "d-first", "e-regex", "c-exact", "b-legacy", "a-root"]
