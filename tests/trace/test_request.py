"""The request to trace: curl-like options in, what each connection manager routes on out."""

from __future__ import annotations

import pytest

from meshlint.trace.request import normalise_path, parse_request


@pytest.mark.parametrize(("sent", "routed"), [
    ("/a//b", "/a/b"),
    ("/a/./b/../c", "/a/c"),
    ("/..", "/"),
    ("/a/b/..", "/a/"),
    ("/a//../b", "/a/b"),  # dot segments first, then slashes merged (Envoy's order)
    ("/%2e%2e/x", "/x"),
    ("/a\\b", "/a/b"),  # found by the differential test: a backslash is a slash
    ("/%61/%7e/1", "/a/~/1"),  # found by the differential test: escaped unreserved characters are decoded
    ("/%2f/%2F/%3a?q=%61//b", "/%2f/%2F/%3a?q=%61//b"),  # other escapes stay as written; the query is untouched
    ("/a b/é", "/a%20b/%C3%A9"),
    ("/x/%2e./y", "/y"),
    ("/%zz/%4", "/%zz/%4"),  # not an escape: kept
])
def test_paths_are_normalised_as_envoy_does(sent: str, routed: str) -> None:
    assert normalise_path(sent) == routed


def test_without_normalize_path_only_slashes_merge() -> None:
    assert normalise_path("/a/../b//c", dots=False) == "/a/../b/c"
    assert normalise_path("/a/../b//c", dots=False, slashes=False) == "/a/../b//c"


def test_curl_like_options() -> None:
    request = parse_request("http://svc.local:8080/a?b=1", "PUT", ["X-Canary:  true ", "Host: other:1"])
    assert (request.host, request.port, request.authority, request.method, request.path, request.headers) == (
        "svc.local", 8080, "other:1", "PUT", "/a?b=1", (("x-canary", "true"),))
    assert parse_request("https://svc.local").port == 443
    grpc = parse_request("http://pay:9090", grpc="shop.Payments/Charge")
    assert (grpc.method, grpc.path, grpc.grpc) == ("POST", "/shop.Payments/Charge", True)
    assert grpc.http().header("content-type") == ("application/grpc",)
    repeated = parse_request("http://svc/", headers=["x-a: 1", "x-a: 2"])
    assert repeated.http().header("x-a") == ("1", "2")  # each value is matched on its own
