"""Kubernetes admission as the controller does it: label selectors, what a value unknown offline leaves
undecided, nulls, and where a refused object's findings point."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from meshlint import api
from meshlint.normalize.k8s_admission import selects

NS = "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop, labels: %s}\n"
MESH = "apiVersion: appmesh.k8s.aws/v1beta2\nkind: Mesh\nmetadata: {name: shop}\nspec: {namespaceSelector: %s}\n"
NODE = """apiVersion: appmesh.k8s.aws/v1beta2
kind: VirtualNode
metadata: {name: web, namespace: shop}
spec:
  podSelector: {matchLabels: {app: web}}
"""


@pytest.mark.parametrize(("selector", "labels", "expected"), [
    (None, {"a": "1"}, False),
    ({}, None, True),
    ({"matchLabels": {"a": "1"}}, None, None),
    ({"matchLabels": {"a": "1"}}, {"a": "1", "b": "2"}, True),
    ({"matchLabels": {"a": "1"}}, {"a": "2"}, False),
    ({"matchExpressions": [{"key": "a", "operator": "In", "values": ["1", "2"]}]}, {"a": "2"}, True),
    ({"matchExpressions": [{"key": "a", "operator": "NotIn", "values": ["1"]}]}, {}, True),
    ({"matchExpressions": [{"key": "a", "operator": "Exists"}]}, {"b": "1"}, False),
    ({"matchExpressions": [{"key": "a", "operator": "DoesNotExist"}]}, {"b": "1"}, True),
    ({"matchLabels": {"a": "1"}, "matchExpressions": [{"key": "b", "operator": "Exists"}]}, {"a": "1"}, False),
    ({"matchLabels": {"mesh": "${MESH}"}}, {"mesh": "shop"}, None),
    ({"matchLabels": {"mesh": "shop"}}, {"mesh": "${MESH}"}, None),
    ({"matchLabels": {"mesh": "shop", "x": "${X}"}}, {"mesh": "other"}, False),
])
def test_label_selectors(selector: Any, labels: dict[str, Any] | None, expected: bool | None) -> None:
    assert selects(selector, labels) is expected


def _rules(tmp_path: Path, text: str) -> list[tuple[str, str, int]]:
    (tmp_path / "mesh.yaml").write_text(text)
    return [(d.rule, d.message, d.line) for d in api.check([str(tmp_path)]).diagnostics]


def test_a_selector_value_unknown_offline_decides_no_membership(tmp_path: Path) -> None:
    found = _rules(tmp_path, "---\n".join([NS % "{mesh: shop}", MESH % "{matchLabels: {mesh: '${MESH}'}}", NODE]))
    assert "membership-refused" not in {r for r, _, _ in found}


def test_labels_that_match_no_mesh_are_a_refusal_at_the_object(tmp_path: Path) -> None:
    found = _rules(tmp_path, "---\n".join([NS % "{mesh: pay}", MESH % "{matchLabels: {mesh: shop}}", NODE]))
    assert [(r, line) for r, _, line in found if r == "membership-refused"] == [("membership-refused", 12)]


def test_an_unknown_rewrite_prefix_is_no_ground_for_a_refusal(tmp_path: Path) -> None:
    doc = {"meshName": "shop", "virtualGatewayName": "ingress", "gatewayRouteName": "web", "spec": {"httpRoute": {
        "match": {"prefix": "${MATCH}"},
        "action": {"target": {"virtualService": {"virtualServiceName": "web.shop.local"}},
                   "rewrite": {"prefix": {"value": "${PREFIX}"}}}}}}
    found = _rules(tmp_path, yaml.safe_dump(doc))
    assert not {r for r, _, _ in found} & {"gateway-route-rewrite-invalid", "schema"}


def test_an_unknown_value_is_no_ground_for_a_crd_error(tmp_path: Path) -> None:
    found = _rules(tmp_path, "---\n".join([NS % "{mesh: shop}", MESH % "{matchLabels: {mesh: shop}}", NODE + """\
  listeners:
    - portMapping: {port: '${PORT}', protocol: http}
  serviceDiscovery: {dns: {hostname: web.shop.svc.cluster.local, responseType: '${TYPE}'}}
"""]))
    assert "schema" not in {r for r, _, _ in found}


def test_a_null_is_dropped_as_the_api_server_drops_it(tmp_path: Path) -> None:
    found = _rules(tmp_path, "---\n".join([NS % "{mesh: shop}", MESH % "{matchLabels: {mesh: shop}}", NODE + """\
  backends: null
  listeners:
    - portMapping: {port: 8080, protocol: http}
      tls: null
  serviceDiscovery: {dns: {hostname: web.shop.svc.cluster.local, responseType: null}}
"""]))
    assert "schema" not in {r for r, _, _ in found}


def test_a_generated_flagger_object_is_not_judged_by_the_controller(tmp_path: Path) -> None:
    canary = """apiVersion: flagger.app/v1beta1
kind: Canary
metadata: {name: podinfo, namespace: shop}
spec:
  provider: appmesh
  targetRef: {apiVersion: apps/v1, kind: Deployment, name: podinfo}
  service: {port: 9898}
"""
    found = _rules(tmp_path, "---\n".join([NS % "{mesh: pay}", MESH % "{matchLabels: {mesh: shop}}", canary]))
    assert not {r for r, _, _ in found} & {"membership-refused", "read-only-field", "schema"}


def test_a_written_mesh_ref_is_one_refusal_not_a_crd_error_too(tmp_path: Path) -> None:
    """The mutating webhook refuses spec.meshRef before the CRD (which wants a uid in it) is applied."""
    found = _rules(tmp_path, "---\n".join([NS % "{mesh: shop}", MESH % "{matchLabels: {mesh: shop}}",
                                          NODE.replace("spec:\n", "spec:\n  meshRef: {name: shop}\n")]))
    assert [r for r, _, _ in found if r in ("schema", "read-only-field")] == ["read-only-field"]


def test_one_mesh_defined_in_two_files_is_one_mesh_not_two_that_compete(tmp_path: Path) -> None:
    # Two versions of a manifest (v1.yaml, v2.yaml) both carry the Mesh: kubectl applies them to one object.
    (tmp_path / "ns.yaml").write_text(NS % "{mesh: shop}")
    for version in ("v1", "v2"):
        (tmp_path / f"{version}.yaml").write_text(MESH % "{matchLabels: {mesh: shop}}" + "---\n" + NODE)
    found = api.check([str(tmp_path)]).diagnostics
    assert not [d.message for d in found if d.rule == "membership-refused"]
    several = MESH.replace("name: shop", "name: pay") % "{matchLabels: {mesh: shop}}"
    (tmp_path / "pay.yaml").write_text(several)
    refused = [d.message for d in api.check([str(tmp_path)]).diagnostics if d.rule == "membership-refused"]
    assert refused and all("Meshes pay, shop" in m or "Meshes shop, pay" in m for m in refused)


def test_gateways_of_one_name_in_several_namespaces_are_told_apart(tmp_path: Path) -> None:
    gateway = ("apiVersion: appmesh.k8s.aws/v1beta2\nkind: VirtualGateway\nmetadata: {name: ingress, namespace: %s}\n"
               "spec:\n  namespaceSelector: {matchLabels: {mesh: shop}}\n"
               "  listeners: [{portMapping: {port: 8088, protocol: http}}]\n")
    route = ("apiVersion: appmesh.k8s.aws/v1beta2\nkind: GatewayRoute\nmetadata: {name: web, namespace: shop}\n"
             "spec:\n  httpRoute:\n    match: {prefix: /}\n"
             "    action: {target: {virtualService: {virtualServiceRef: {name: web}}}}\n")
    text = "---\n".join([NS % "{mesh: shop}", MESH % "{matchLabels: {mesh: shop}}", gateway % "shop",
                         gateway % "edge", route])
    refused = [m for r, m, _ in _rules(tmp_path, text) if r == "membership-refused"]
    assert any("VirtualGateways ingress, ingress (namespace edge) all select it" in m for m in refused), refused


def test_a_namespace_defined_twice_with_other_labels_has_labels_unknown(tmp_path: Path) -> None:
    # An Istio variant of the same app labels the namespace its own way; App Mesh's README labels it with
    # `kubectl label`. Which labels the cluster has is not in the files: no refusal is built on either.
    (tmp_path / "istio").mkdir()
    (tmp_path / "istio" / "ns.yaml").write_text(NS % "{istio-injection: enabled}")
    (tmp_path / "istio" / "ns-off.yaml").write_text(NS % "{istio-injection: disabled}")
    (tmp_path / "mesh.yaml").write_text("---\n".join([MESH % "{matchLabels: {mesh: shop}}", NODE]))
    assert "membership-refused" not in {d.rule for d in api.check([str(tmp_path)]).diagnostics}
    (tmp_path / "istio" / "ns-off.yaml").unlink()  # one definition: its labels are the cluster's
    assert "membership-refused" in {d.rule for d in api.check([str(tmp_path)]).diagnostics}


@pytest.mark.parametrize("labels", ["{}", "null"])
def test_a_namespace_written_without_labels_is_labelled_elsewhere(tmp_path: Path, labels: str) -> None:
    # The yelb walkthroughs apply `kind: Namespace` with no label and then run `kubectl label namespace yelb
    # mesh=yelb`; `kubectl apply` keeps labels its manifest does not name. No refusal is built on the absence.
    found = _rules(tmp_path, "---\n".join([NS % labels, MESH % "{matchLabels: {mesh: shop}}", NODE]))
    assert "membership-refused" not in {r for r, _, _ in found}
    # a written label that contradicts the selector is the cluster's: still refused
    found = _rules(tmp_path, "---\n".join([NS % "{mesh: pay}", MESH % "{matchLabels: {mesh: shop}}", NODE]))
    assert "membership-refused" in {r for r, _, _ in found}
