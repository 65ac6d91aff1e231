"""The Kubernetes schemas generated from the App Mesh controller's CRDs: no drift from ../shared/design/k8s-crds
(skipped without it), valid draft 2020-12, and the quick validity walk agrees with jsonschema."""

from __future__ import annotations

import importlib.util
import json
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from meshlint.load import k8s_schema

ROOT = Path(__file__).resolve().parents[2]
KINDS = ("Mesh", "VirtualService", "VirtualRouter", "VirtualNode", "VirtualGateway", "GatewayRoute")


@cache
def generator() -> ModuleType:
    path = ROOT / "scripts" / "gen_k8s_schemas.py"
    module_spec = importlib.util.spec_from_file_location("gen_k8s_schemas", path)
    assert module_spec is not None and module_spec.loader is not None
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return module


def test_generated_files_match_the_crds() -> None:
    from tests.support.shared import require

    crds = require("design/k8s-crds", "Kubernetes schema drift test")
    rendered = generator().render_all(crds)
    assert sorted(rendered) == sorted(f"schemas/k8s/{kind}.schema.json" for kind in KINDS)
    assert generator().stale(rendered) == [], "run `python scripts/gen_k8s_schemas.py` and commit the result"


@pytest.mark.parametrize("kind", KINDS)
def test_schemas_are_valid_draft_2020_12(kind: str) -> None:
    Draft202012Validator.check_schema(k8s_schema.schema(kind))


def test_the_generator_forbids_unknown_fields_below_the_root_and_drops_status() -> None:
    converted = generator().convert({
        "type": "object", "x-kubernetes-preserve-unknown-fields": True,
        "properties": {"spec": {"type": "object", "properties": {"a": {"type": "string"}}},
                       "status": {"type": "object"},
                       "labels": {"type": "object", "additionalProperties": {"type": "string"}}},
    }, root=True)
    assert converted == {"type": "object", "properties": {
        "spec": {"type": "object", "properties": {"a": {"type": "string"}}, "additionalProperties": False},
        "labels": {"type": "object", "additionalProperties": {"type": "string"}}}}


DOCS: list[tuple[str, Any]] = [
    ("VirtualNode", {"apiVersion": "appmesh.k8s.aws/v1beta2", "kind": "VirtualNode",
                     "metadata": {"name": "web", "labels": {"a": "b"}},
                     "spec": {"listeners": [{"portMapping": {"port": 8080, "protocol": "http"}}],
                              "serviceDiscovery": {"dns": {"hostname": "web"}}, "status": {"x": 1}}}),
    ("VirtualNode", {"kind": "VirtualNode", "spec": {"listeners": [{"portMapping": {"port": 8080}}]}}),
    ("VirtualNode", {"kind": "VirtualNode", "spec": {"listeners": [{"portMapping": {"port": 0, "protocol": "http"}}]}}),
    ("VirtualNode", {"kind": "VirtualNode", "spec": {"listeners": [{"portMapping": {"port": "80", "protocol": "http"}}]}}),
    ("VirtualNode", {"kind": "VirtualNode", "spec": {"listeners": [{"portMapping": {"port": True, "protocol": "http"}}]}}),
    ("VirtualRouter", {"kind": "VirtualRouter", "spec": {"listeners": []}}),
    ("VirtualRouter", {"kind": "VirtualRouter", "spec": {"listeners": [{"portMapping": {"port": 80, "protocol": "x"}}]}}),
    ("Mesh", {"kind": "Mesh", "spec": {"namespaceSelector": {"matchLabels": {"a": 1}}}}),
    ("Mesh", {"kind": "Mesh", "spec": {"egressFilter": {"type": "DROP_ALL"}}, "extra": {"kept": True}}),
    ("GatewayRoute", {"kind": "GatewayRoute", "spec": {"httpRoute": {"match": {"headers": [{"name": ""}]}}}}),
]


@pytest.mark.parametrize(("kind", "doc"), DOCS)
def test_the_quick_walk_agrees_with_jsonschema(kind: str, doc: Any) -> None:
    expected = not list(Draft202012Validator(k8s_schema.schema(kind)).iter_errors(doc))
    assert k8s_schema.fits(k8s_schema.schema(kind), doc) == expected
    assert (k8s_schema.check(kind, doc) == []) == expected


def test_a_null_counts_as_absent() -> None:
    doc = {"kind": "VirtualNode", "spec": {"serviceDiscovery": None, "listeners": [
        {"portMapping": {"port": 8080, "protocol": "http"}, "tls": None}]}}
    assert k8s_schema.check("VirtualNode", doc) == []
    assert json.dumps(doc)  # the document itself is left as it was
    assert doc["spec"]["serviceDiscovery"] is None
