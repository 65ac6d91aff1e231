"""App Mesh resource names (kept exactly) and file-name-safe artifact paths."""

from __future__ import annotations

from pathlib import PurePosixPath

import pytest

from meshlint.compile.envoy import names


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("front", "front"),
        ("my-node_v1.2", "my-node_v1.2"),
        ("a/b", "a%2Fb"),
        ("../evil", "..%2Fevil"),
        ("..", "%2E%2E"),
        (".", "%2E"),
        ("", "%00"),
        ("a\\b", "a%5Cb"),
        ("100%", "100%25"),
        ("web_default ns", "web_default%20ns"),
        ("café", "caf%C3%A9"),
        ("x:y", "x%3Ay"),
    ],
)
def test_safe_component(name: str, safe: str) -> None:
    assert names.safe_component(name) == safe


def test_safe_component_never_navigates() -> None:
    for name in (".", "..", "../..", "/", "a/../../b", "./x"):
        part = names.safe_component(name)
        assert "/" not in part and "\\" not in part and part not in ("", ".", "..")


def test_artifact_paths() -> None:
    assert names.artifact_path("demo", names.NODE_KIND, "front") == PurePosixPath("demo/virtual-nodes/front.json")
    assert names.artifact_path("../m", names.GATEWAY_KIND, "a/b") == PurePosixPath(
        "..%2Fm/virtual-gateways/a%2Fb.json")
    assert names.artifact_path(".", names.NODE_KIND, "..").parts == ("%2E", "virtual-nodes", "%2E%2E.json")


def test_envoy_names_follow_app_mesh() -> None:
    assert names.listener_name("ingress", "0.0.0.0", 15000) == "lds_ingress_0.0.0.0_15000"
    assert names.ingress_cluster("my-mesh", "my-virtual-node", "http", 8080) == (
        "cds_ingress_my-mesh_my-virtual-node_http_8080")
    assert names.egress_cluster("online-store", "cart", "http", 8080) == "cds_egress_online-store_cart_http_8080"
    assert names.allow_all_cluster("apps") == "cds_egress_apps_mesh-allow-all"
    assert names.amazonaws_cluster("apps") == "cds_egress_apps_amazonaws"
    assert names.self_redirect_cluster("cb-mesh", "colorgateway-vg", "http", 15001, None) == (
        "cds_ingress_cb-mesh_colorgateway-vg_self_redirect_http_15001")
    assert names.self_redirect_cluster("m", "gw", "http", 15001, 1111) == "cds_ingress_m_gw_self_redirect_1111_http_15001"
    assert names.ingress_route_table(9001) == "rds_ingress_http_9001"
    assert names.egress_route_table(15001) == "rds_egress_http_15001"
    assert names.node_id("demo", names.NODE_KIND, "front") == "mesh/demo/virtualNode/front"
