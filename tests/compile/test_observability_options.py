"""Issue #17's build options change exactly what they should, and Envoy accepts every variant.

X-Ray sampling (rate, fixed target, rule manifest) and segment names; the two kinds of stats tags App Mesh had;
the App Mesh metrics extension (per target service stats and its tags).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from meshlint.compile.envoy import CompileOptions, compile_envoy
from tests.compile.helpers import CASES, proven, validated_mesh, walk
from tests.support.envoy import CertFiles

FRONT = "demo/virtual-nodes/front.json"
GATEWAY = "demo/virtual-gateways/gw.json"
MANIFEST = {"version": 2, "default": {"fixed_target": 2, "rate": 0.1},
            "rules": [{"description": "health", "host": "*", "http_method": "GET", "url_path": "/health",
                       "fixed_target": 0, "rate": 0}]}


def compiled(case: str, certs: CertFiles, out: Path, **options: Any) -> dict[str, Any]:
    return proven(compile_envoy(validated_mesh(CASES / case / "input"), CompileOptions(**options)), certs, out)


def xray_configs(document: dict[str, Any]) -> list[dict[str, Any]]:
    return [o["tracing"]["provider"]["typed_config"] for o in walk(document)
            if o.get("tracing", {}).get("provider", {}).get("name") == "envoy.tracers.xray"]


def tag_names(document: dict[str, Any]) -> list[str]:
    return [t["tag_name"] for t in document.get("stats_config", {}).get("stats_tags", [])]


# --- X-Ray --------------------------------------------------------------------------------------


@pytest.mark.envoy
@pytest.mark.parametrize(("options", "manifest"), [
    ({}, None),  # X-Ray's default rule (1/s, then 5 %): App Mesh wrote no manifest
    ({"xray_sampling_rate": 0.05}, None),
    ({"xray_sampling_rate": 1.0}, {"version": 2, "default": {"fixed_target": 1, "rate": 1.0}, "rules": []}),
    ({"xray_sampling_rate": 0.0, "xray_fixed_target": 0},
     {"version": 2, "default": {"fixed_target": 0, "rate": 0.0}, "rules": []}),
    ({"xray_sampling_rate": 0.125}, {"version": 2, "default": {"fixed_target": 1, "rate": 0.13}, "rules": []}),
    ({"xray_fixed_target": 5}, {"version": 2, "default": {"fixed_target": 5, "rate": 0.05}, "rules": []}),
    ({"xray_sampling_rule_manifest": json.dumps(MANIFEST)}, MANIFEST),
])
def test_xray_sampling(options: dict[str, Any], manifest: dict[str, Any] | None, cert_dir: CertFiles,
                       tmp_path: Path) -> None:
    docs = compiled("observability", cert_dir, tmp_path, tracing="xray", **options)
    for doc in docs.values():
        configs = xray_configs(doc)
        assert configs
        for config in configs:
            inline = config.get("sampling_rule_manifest", {}).get("inline_string")
            assert (json.loads(inline) if inline is not None else None) == manifest


@pytest.mark.envoy
@pytest.mark.parametrize(("template", "front", "gateway"), [
    ("{mesh}/{name}", "demo/front", "demo/gw"),
    ("shop-{name}", "shop-front", "shop-gw"),
    ("edge", "edge", "edge"),
    ("{{{mesh}}}", "{demo}", "{demo}"),
])
def test_xray_segment_name(template: str, front: str, gateway: str, cert_dir: CertFiles, tmp_path: Path) -> None:
    docs = compiled("observability", cert_dir, tmp_path, tracing="xray", xray_segment_name=template)
    assert {c["segment_name"] for c in xray_configs(docs[FRONT])} == {front}
    assert {c["segment_name"] for c in xray_configs(docs[GATEWAY])} == {gateway}
    fields = xray_configs(docs[GATEWAY])[0]["segment_fields"]
    assert fields["aws"]["app_mesh"] == {"mesh_name": "demo", "virtual_node_name": "gw"}  # as App Mesh wrote


@pytest.mark.parametrize(("options", "message"), [
    ({"tracing": "xray", "xray_sampling_rate": 1.5}, "from 0 to 1"),
    ({"tracing": "xray", "xray_sampling_rate": -0.1}, "from 0 to 1"),
    ({"tracing": "xray", "xray_fixed_target": -1}, "0 or more"),
    ({"tracing": "xray", "xray_sampling_rule_manifest": "{"}, "not JSON"),
    ({"tracing": "xray", "xray_sampling_rule_manifest": '{"version": 1, "default": {"fixed_target": 1, "rate": 1}}'},
     "version 2"),
    ({"tracing": "xray", "xray_sampling_rule_manifest": '{"version": 2}'}, "`default`"),
    ({"tracing": "xray", "xray_sampling_rule_manifest": '{"version": 2, "default": {"fixed_target": 1.5, "rate": 1}}'},
     "default.fixed_target"),
    ({"tracing": "xray", "xray_sampling_rule_manifest":
      '{"version": 2, "default": {"fixed_target": 1, "rate": 0}, "rules": [{"fixed_target": 1, "rate": 2}]}'},
     "rules[0].rate"),
    ({"tracing": "xray", "xray_sampling_rule_manifest": json.dumps(MANIFEST), "xray_sampling_rate": 0.5},
     "not both"),
    ({"xray_sampling_rate": 0.5}, "need tracing: xray"),
    ({"tracing": "zipkin", "xray_segment_name": "x"}, "need tracing: xray"),
    ({"tracing": "xray", "xray_segment_name": "{node}"}, "only use {mesh} and {name}"),
    ({"tracing": "xray", "xray_segment_name": "{name!r}"}, "only use {mesh} and {name}"),
    ({"tracing": "xray", "xray_segment_name": "{mesh"}, "xray_segment_name"),
])
def test_bad_xray_options(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError) as err:
        CompileOptions(**options)
    assert message in str(err.value)


# --- stats tags -----------------------------------------------------------------------------------


LISTENER_TAGS = ["appmesh.listener_protocol", "appmesh.listener_port", "envoy_rds_route_config"]
MESH_TAGS = ["appmesh.mesh", "appmesh.virtual_node"]
METRIC_TAGS = ["TargetVirtualNode", "TargetVirtualService", "Mesh", "VirtualNode"]


@pytest.mark.envoy
@pytest.mark.parametrize(("options", "tags"), [
    ({}, MESH_TAGS + METRIC_TAGS + LISTENER_TAGS),
    ({"mesh_stats_tags": False}, METRIC_TAGS + LISTENER_TAGS),  # App Mesh without ENABLE_ENVOY_STATS_TAGS
    ({"listener_stats_tags": False}, MESH_TAGS + METRIC_TAGS),
    ({"stats_tags": False}, METRIC_TAGS),  # --no-stats-tags: both appmesh.* kinds
    ({"appmesh_metrics": False}, MESH_TAGS + LISTENER_TAGS),
    ({"stats_tags": False, "appmesh_metrics": False}, []),
])
def test_stats_tag_kinds(options: dict[str, Any], tags: list[str], cert_dir: CertFiles, tmp_path: Path) -> None:
    docs = compiled("weighted-router", cert_dir, tmp_path, **options)
    assert tag_names(docs[FRONT]) == tags
    if not tags:
        assert "stats_config" not in docs[FRONT]


# --- App Mesh metrics -------------------------------------------------------------------------------


def egress_hcms(document: dict[str, Any]) -> list[dict[str, Any]]:
    return [o for o in walk(document) if o.get("stat_prefix") == "egress" and "route_config" in o]


@pytest.mark.envoy
def test_metrics_count_per_target_service(cert_dir: CertFiles, tmp_path: Path) -> None:
    """Every egress connection manager runs the header filter ahead of the router; every service's virtual
    host names the service; the tags list this proxy's target nodes and services exactly."""
    docs = compiled("gateway", cert_dir, tmp_path)
    gateway = docs[GATEWAY]
    (hcm,) = egress_hcms(gateway)
    assert [f["name"] for f in hcm["http_filters"]] == ["envoy.filters.http.header_mutation",
                                                        "envoy.filters.http.router"]
    named: dict[str, str] = {}
    for vhost in hcm["route_config"]["virtual_hosts"]:
        routes = [(r, "route for " + r["match"]["headers"][0]["string_match"]["exact"])
                  for r in vhost["routes"] if "headers" in r["match"]]
        for where, label in [(vhost, vhost["name"]), *routes]:
            config = where.get("typed_per_filter_config", {}).get("envoy.filters.http.header_mutation")
            if config is not None:
                header = config["mutations"]["request_mutations"][0]["append"]["header"]
                assert header["key"] == "x-envoy-upstream-alt-stat-name"
                named[label] = header["value"]
    # the Host-addressed service on its virtual host, the header-addressed one on its route
    assert named == {"color.demo.local": "appmesh.color.demo.local.appmesh",
                     "route for hot.demo.local": "appmesh.hot.demo.local.appmesh"}
    tags = {t["tag_name"]: t.get("regex", t.get("fixed_value")) for t in gateway["stats_config"]["stats_tags"]}
    assert tags["TargetVirtualNode"] == r"^cluster\.cds_egress_demo_([^.]+)_(?:http|http2|grpc|tcp)_[0-9]+\."
    assert tags["TargetVirtualService"] == r"^cluster\.[^.]+\.appmesh\.((.+)\.appmesh\.)"
    assert (tags["Mesh"], tags["VirtualGateway"]) == ("demo", "gw")
    assert "VirtualNode" not in tags


@pytest.mark.envoy
def test_metrics_off_leaves_the_connection_managers_as_app_mesh_had_them(cert_dir: CertFiles,
                                                                          tmp_path: Path) -> None:
    docs = compiled("gateway", cert_dir, tmp_path, appmesh_metrics=False)
    for doc in docs.values():
        assert "header_mutation" not in json.dumps(doc)
        assert not {"Mesh", "VirtualNode", "VirtualGateway"} & set(tag_names(doc))


@pytest.mark.parametrize(("stat", "node", "service"), [
    ("cluster.cds_egress_m_v1_http_8080.appmesh.color.m.local.appmesh.upstream_rq_2xx", "v1", "color.m.local"),
    # a service name ending like Envoy's own `internal.` copy, a node name holding a protocol token
    ("cluster.cds_egress_m_a_http_1_grpc_9.appmesh.api.internal.appmesh.internal.upstream_rq_503", "a_http_1",
     "api.internal"),
    ("cluster.cds_egress_m_v1_http_80.appmesh.x.appmesh.y.appmesh.upstream_rq_time", "v1", "x.appmesh.y"),
    ("cluster.cds_egress_m_v1_tcp_5432.upstream_cx_rx_bytes_total", "v1", None),
    ("cluster.cds_egress_m_amazonaws.upstream_cx_total", None, None),
    ("cluster.cds_ingress_m_n_http_8080.upstream_rq_total", None, None),
])
def test_tag_regexes_name_the_targets(stat: str, node: str | None, service: str | None) -> None:
    """Envoy's rule (TagSpecifier): the first group leaves the name, the second is the value. Python's `re`
    agrees with ECMAScript on these patterns."""
    import re

    from meshlint.compile.envoy.appmesh_metrics import metric_tags

    found: dict[str, str] = {}
    for tag in metric_tags("m", "virtualNode", "n")[:2]:
        match = re.search(tag["regex"], stat)
        if match:
            found[tag["tag_name"]] = match.group(2) if match.re.groups > 1 else match.group(1)
            if match.re.groups > 1:
                assert match.group(1) == f"{service}.appmesh."  # what leaves the name
    assert (found.get("TargetVirtualNode"), found.get("TargetVirtualService")) == (node, service)
