"""The Envoy harness on App Mesh's own bootstraps (the design samples): it accepts them, and it demonstrably
rejects bad bootstraps made from them."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from tests.support.envoy import (
    CertFiles,
    assert_envoy_accepts,
    envoy_validate,
    rewrite_filenames,
    strict_parse,
    unknown_type_urls,
    write_json,
)
from tests.support.fixtures import BootstrapCheck
from tests.support.shared import require

SAMPLES = require("design/appmesh-to-envoy-samples", "design-sample Envoy tests")
SAMPLE_NAMES = ("vnode.bootstrap.json", "vgateway.bootstrap.json")
SAMPLE_CERTS = "/etc/envoy/certs/"


def load_sample(name: str, certs: CertFiles) -> dict[str, Any]:
    mapping = {
        SAMPLE_CERTS + "svc.pem": str(certs.server.cert),
        SAMPLE_CERTS + "svc.key": str(certs.server.key),
        SAMPLE_CERTS + "ca.pem": str(certs.ca),
    }
    document: dict[str, Any] = rewrite_filenames(json.loads((SAMPLES / name).read_text()), mapping)
    return document


@pytest.fixture
def gateway(cert_dir: CertFiles) -> dict[str, Any]:
    return load_sample("vgateway.bootstrap.json", cert_dir)


def egress_hcm(gateway: dict[str, Any]) -> dict[str, Any]:
    listener = gateway["static_resources"]["listeners"][1]
    hcm: dict[str, Any] = listener["filter_chains"][0]["filters"][0]["typed_config"]
    return hcm


def weighted_clusters(gateway: dict[str, Any]) -> dict[str, Any]:
    route = egress_hcm(gateway)["route_config"]["virtual_hosts"][0]["routes"][0]["route"]
    clusters: dict[str, Any] = route["weighted_clusters"]
    return clusters


# --- the samples are real -------------------------------------------------------------------


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_sample_strict_parses(name: str, cert_dir: CertFiles) -> None:
    document = load_sample(name, cert_dir)
    assert unknown_type_urls(document) == set()
    assert strict_parse(document).static_resources.listeners


@pytest.mark.envoy
def test_samples_accepted_by_envoy(tmp_path: Path, cert_dir: CertFiles) -> None:
    paths = [write_json(tmp_path / name, load_sample(name, cert_dir)) for name in SAMPLE_NAMES]
    assert "/etc/" not in "".join(path.read_text() for path in paths)
    assert_envoy_accepts(paths)


@pytest.mark.envoy
def test_spiffe_cert_via_check_bootstrap(
    check_bootstrap: BootstrapCheck, gateway: dict[str, Any], cert_dir: CertFiles
) -> None:
    tls = gateway["static_resources"]["listeners"][0]["filter_chains"][0]["transport_socket"]["typed_config"]
    pair = tls["common_tls_context"]["tls_certificates"][0]
    pair["certificate_chain"]["filename"] = str(cert_dir.spiffe.cert)
    pair["private_key"]["filename"] = str(cert_dir.spiffe.key)
    assert [path.name for path in check_bootstrap(gateway)] == ["bootstrap-0.json"]


# --- the harness can fail -------------------------------------------------------------------


def test_typo_field_fails_strict_parse(gateway: dict[str, Any]) -> None:
    gateway["static_resource"] = gateway.pop("static_resources")
    with pytest.raises(ValueError, match="static_resource"):
        strict_parse(gateway)


def test_unregistered_type_url_is_named(gateway: dict[str, Any]) -> None:
    bogus = "type.googleapis.com/envoy.extensions.filters.http.router.v3.Routr"
    egress_hcm(gateway)["http_filters"][0]["typed_config"]["@type"] = bogus
    assert unknown_type_urls(gateway) == {bogus}
    with pytest.raises(ValueError, match=r"unregistered @type: .*\.Routr"):
        strict_parse(json.dumps(gateway))


def test_rewrite_filenames_refuses_unmapped_paths() -> None:
    with pytest.raises(KeyError):
        rewrite_filenames(json.loads((SAMPLES / SAMPLE_NAMES[1]).read_text()), {})


def zero_weights(gateway: dict[str, Any]) -> None:
    weighted_clusters(gateway)["clusters"][0]["weight"] = 0


def router_without_typed_config(gateway: dict[str, Any]) -> None:
    del egress_hcm(gateway)["http_filters"][0]["typed_config"]


def missing_cert_file(gateway: dict[str, Any]) -> None:
    tls = gateway["static_resources"]["listeners"][0]["filter_chains"][0]["transport_socket"]
    tls["typed_config"]["common_tls_context"]["tls_certificates"][0]["private_key"]["filename"] = (
        "/nonexistent.key"
    )


@pytest.mark.envoy
def test_envoy_rejects_bad_bootstraps(tmp_path: Path, gateway: dict[str, Any]) -> None:
    expected = {
        zero_weights: "Sum of weights in the weighted_cluster must be greater than 0",
        router_without_typed_config: "implementation for 'envoy.filters.http.router' with type URL: ''",
        missing_cert_file: "/nonexistent.key",
    }
    paths = {}
    for mutate in expected:
        document = copy.deepcopy(gateway)
        mutate(document)
        strict_parse(document)  # each is well-formed protobuf: only Envoy can catch it
        paths[mutate] = write_json(tmp_path / f"{mutate.__name__}.json", document)
    rejected = envoy_validate(list(paths.values()))
    for mutate, message in expected.items():
        assert message in rejected.get(paths[mutate], "<accepted>"), (mutate.__name__, rejected)


@pytest.mark.envoy
def test_deprecated_field_is_reported(tmp_path: Path, gateway: dict[str, Any]) -> None:
    weighted_clusters(gateway)["total_weight"] = 1  # deprecated in route.v3.WeightedCluster
    path = write_json(tmp_path / "deprecated.json", gateway)
    assert envoy_validate([path], fail_on_deprecated=False) == {}
    rejected = envoy_validate([path])
    assert "Using deprecated option 'envoy.config.route.v3.WeightedCluster.total_weight'" in rejected[path]
    with pytest.raises(
        AssertionError, match=r"Envoy rejected 1 of 1 bootstrap\(s\):\n--- .*deprecated\.json"
    ):
        assert_envoy_accepts([path])
