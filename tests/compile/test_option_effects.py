"""Each CompileOptions field changes exactly what it should; every variant is proven with Envoy."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from meshlint.compile.envoy import CompileOptions, compile_envoy
from tests.compile.helpers import CASES, clusters, listeners, proven, validated_mesh, walk
from tests.support.envoy import CertFiles, make_cert_dir

FRONT = "demo/virtual-nodes/front.json"
GATEWAY = "demo/virtual-gateways/gw.json"


def compiled(case: str, certs: CertFiles, out: Path, **options: Any) -> dict[str, Any]:
    return proven(compile_envoy(validated_mesh(CASES / case / "input"), CompileOptions(**options)), certs, out)


def tracing_providers(document: dict[str, Any]) -> list[str]:
    return [o["tracing"]["provider"]["name"] for o in walk(document) if "provider" in o.get("tracing", {})]


@pytest.mark.envoy
@pytest.mark.parametrize(
    ("tracing", "provider", "cluster"),
    [("xray", "envoy.tracers.xray", None), ("zipkin", "envoy.tracers.zipkin", "jaeger"),
     ("opentelemetry", "envoy.tracers.opentelemetry", "opentelemetry_collector")],
)
def test_tracing_goes_into_every_hcm(tracing: str, provider: str, cluster: str | None, cert_dir: CertFiles,
                                     tmp_path: Path) -> None:
    docs = compiled("observability", cert_dir, tmp_path, tracing=tracing)
    for doc in docs.values():
        hcms = [o for o in walk(doc) if "stat_prefix" in o and "route_config" in o]
        assert hcms and tracing_providers(doc) == [provider] * len(hcms)
        assert "tracing" not in doc  # bootstrap-level tracing is deprecated in Envoy 1.40
        assert (cluster in clusters(doc)) if cluster else not {"jaeger", "opentelemetry_collector"} & set(
            clusters(doc))
    if tracing == "xray":
        xray = next(o for o in walk(docs[GATEWAY]) if "segment_name" in o)
        assert xray["segment_name"] == "demo/gw"
        assert xray["daemon_endpoint"] == {"protocol": "UDP", "address": "127.0.0.1", "port_value": 2000}


@pytest.mark.envoy
def test_no_tracing_keeps_app_mesh_empty_block(cert_dir: CertFiles, tmp_path: Path) -> None:
    doc = compiled("observability", cert_dir, tmp_path)[FRONT]
    assert [o["tracing"] for o in walk(doc) if "tracing" in o and "stat_prefix" in o] == [{}]


@pytest.mark.envoy
@pytest.mark.parametrize(("sink", "name"), [("statsd", "envoy.stat_sinks.statsd"),
                                            ("dogstatsd", "envoy.stat_sinks.dog_statsd")])
def test_stats_sinks_and_tags(sink: str, name: str, cert_dir: CertFiles, tmp_path: Path) -> None:
    docs = compiled("observability", cert_dir, tmp_path, stats_sink=sink, stats_sink_address="10.0.0.9:9125")
    (sink_json,) = docs[FRONT]["stats_sinks"]
    assert sink_json["name"] == name
    assert sink_json["typed_config"]["address"]["socket_address"] == {
        "protocol": "UDP", "address": "10.0.0.9", "port_value": 9125}
    tags = {t["tag_name"]: t.get("fixed_value", t.get("regex")) for t in docs[GATEWAY]["stats_config"]["stats_tags"]}
    assert tags["appmesh.mesh"] == "demo" and tags["appmesh.virtual_gateway"] == "gw"
    assert {"appmesh.listener_protocol", "appmesh.listener_port", "envoy_rds_route_config"} <= set(tags)


@pytest.mark.envoy
def test_stats_tags_off(cert_dir: CertFiles, tmp_path: Path) -> None:
    docs = compiled("observability", cert_dir, tmp_path, stats_tags=False, appmesh_metrics=False)
    assert all("stats_config" not in d and "stats_sinks" not in d for d in docs.values())


@pytest.mark.envoy
def test_legacy_defaults_drop_default_retries_and_breakers(cert_dir: CertFiles, tmp_path: Path) -> None:
    docs = compiled("retries", cert_dir, tmp_path, appmesh_defaults="legacy")
    policies = [o["retry_policy"] for o in walk(docs[FRONT]) if "retry_policy" in o]
    assert [p["num_retries"] for p in policies] == [3, 1]  # only the explicit ones
    assert not any("circuit_breakers" in c for c in clusters(docs[FRONT]).values())
    pools = compiled("connection-pools", cert_dir, tmp_path / "pools", appmesh_defaults="legacy")
    pooled = clusters(pools["demo/virtual-nodes/pooled.json"])
    assert pooled["cds_ingress_demo_pooled_http_8081"]["circuit_breakers"] == {
        "thresholds": [{"max_connections": 20, "max_pending_requests": 2147483647}]}
    assert pooled["cds_ingress_demo_pooled_grpc_8083"]["circuit_breakers"] == {"thresholds": [{"max_requests": 40}]}


@pytest.mark.envoy
def test_ports_and_bind_address_rename_listeners(cert_dir: CertFiles, tmp_path: Path) -> None:
    docs = compiled("observability", cert_dir, tmp_path, bind_address="127.0.0.1", ingress_port=16000,
                    egress_port=16001, admin_address="127.0.0.1", admin_port=19901)
    assert sorted(listeners(docs["demo/virtual-nodes/color.json"])) == [
        "lds_egress_127.0.0.1_16001", "lds_ingress_127.0.0.1_16000"]
    gateway = docs[GATEWAY]
    assert sorted(listeners(gateway)) == ["lds_egress_127.0.0.1_16001", "lds_ingress_127.0.0.1_8088"]
    redirect = clusters(gateway)["cds_ingress_demo_gw_self_redirect_http_16001"]
    endpoint = redirect["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["endpoint"]
    assert endpoint["address"]["socket_address"] == {"address": "127.0.0.1", "port_value": 16001}
    assert gateway["admin"]["address"]["socket_address"] == {"address": "127.0.0.1", "port_value": 19901}


def _endpoint(cluster: dict[str, Any]) -> dict[str, Any]:
    lb = cluster["load_assignment"]["endpoints"][0]["lb_endpoints"][0]
    address: dict[str, Any] = lb["endpoint"]["address"]["socket_address"]
    return address


@pytest.mark.envoy
def test_resolve_pins_a_hostname_to_a_static_ip(cert_dir: CertFiles, tmp_path: Path) -> None:
    docs = compiled("weighted-router", cert_dir, tmp_path, resolve={"blue.demo.local": "127.0.0.7"})
    front = clusters(docs[FRONT])
    blue, red = front["cds_egress_demo_blue_http_8080"], front["cds_egress_demo_red_http_8080"]
    assert blue["type"] == "STATIC" and "dns_lookup_family" not in blue
    assert _endpoint(blue) == {"address": "127.0.0.7", "port_value": 8080}
    assert red["type"] == "LOGICAL_DNS" and _endpoint(red)["address"] == "red.demo.local."


@pytest.mark.envoy
def test_dns_trailing_dot_can_be_turned_off(cert_dir: CertFiles, tmp_path: Path) -> None:
    docs = compiled("weighted-router", cert_dir, tmp_path, dns_trailing_dot=False)
    assert _endpoint(clusters(docs[FRONT])["cds_egress_demo_red_http_8080"])["address"] == "red.demo.local"


@pytest.mark.envoy
def test_cert_path_prefix_reroots_spec_paths(tmp_path: Path) -> None:
    """No rewriting here: the prefixed paths are the real files Envoy opens."""
    certs = make_cert_dir(tmp_path / "root" / "etc" / "envoy" / "certs")
    docs = compiled("tls-strict-mtls", certs, tmp_path / "out", cert_path_prefix=str(tmp_path / "root"))
    files = sorted({o["filename"] for d in docs.values() for o in walk(d) if "filename" in o})
    assert files == [str(certs.dir / n) for n in ("ca.pem", "client.key", "client.pem", "server.key", "server.pem")]


@pytest.mark.envoy
def test_sds_socket_path(cert_dir: CertFiles, tmp_path: Path) -> None:
    docs = compiled("tls-sds", cert_dir, tmp_path, sds_socket_path="/var/run/sds.sock")
    sds = clusters(docs[FRONT])["static_cluster_sds_unix_socket"]
    pipe = sds["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["endpoint"]["address"]["pipe"]
    assert pipe == {"path": "/var/run/sds.sock"}


@pytest.mark.envoy
def test_gateway_egress_hop_can_bind_to_loopback(cert_dir: CertFiles, tmp_path: Path) -> None:
    docs = compiled("observability", cert_dir, tmp_path, gateway_egress_bind_address="127.0.0.1")
    gateway = docs[GATEWAY]
    assert sorted(listeners(gateway)) == ["lds_egress_127.0.0.1_15001", "lds_ingress_0.0.0.0_8088"]
    redirect = clusters(gateway)["cds_ingress_demo_gw_self_redirect_http_15001"]
    assert _endpoint(redirect) == {"address": "127.0.0.1", "port_value": 15001}
    assert sorted(listeners(docs[FRONT])) == ["lds_egress_0.0.0.0_15001"]  # virtual nodes keep bind_address
