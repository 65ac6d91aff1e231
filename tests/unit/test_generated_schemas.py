"""The generated App Mesh schemas and spec models: no drift from botocore, and they judge input right."""

from __future__ import annotations

import copy
import importlib.util
import json
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from jsonschema import Draft202012Validator, ValidationError
from pydantic import ValidationError as PydanticValidationError

from meshlint.model import spec as spec_models

ROOT = Path(__file__).resolve().parents[2]
KINDS = ("Mesh", "VirtualService", "VirtualRouter", "Route", "VirtualNode", "VirtualGateway", "GatewayRoute")
Doc = dict[str, Any]


@cache
def generator() -> ModuleType:
    path = ROOT / "scripts" / "gen_schemas.py"
    module_spec = importlib.util.spec_from_file_location("gen_schemas", path)
    assert module_spec is not None and module_spec.loader is not None
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return module


@cache
def validator(kind: str | None) -> Draft202012Validator:
    """The per-kind schema, or the combined editor schema for kind=None."""
    rel = "schemas/appmesh.schema.json" if kind is None else f"schemas/appmesh/{kind}.schema.json"
    return Draft202012Validator(json.loads((ROOT / rel).read_text(encoding="utf-8")))


def errors(doc: Doc, kind: str | None) -> list[ValidationError]:
    return sorted(
        validator(kind).iter_errors(doc), key=lambda e: (list(map(str, e.absolute_path)), e.message)
    )


VIRTUAL_NODE: Doc = {
    "meshName": "shop",
    "virtualNodeName": "orders-v1",
    "spec": {
        "listeners": [
            {
                "portMapping": {"port": 8080, "protocol": "http"},
                "tls": {
                    "mode": "STRICT",
                    "certificate": {
                        "file": {"certificateChain": "/certs/chain.pem", "privateKey": "/certs/key.pem"}
                    },
                },
                "healthCheck": {
                    "protocol": "http",
                    "path": "/ping",
                    "healthyThreshold": 2,
                    "unhealthyThreshold": 3,
                    "timeoutMillis": 2000,
                    "intervalMillis": 5000,
                },
            }
        ],
        "serviceDiscovery": {"dns": {"hostname": "orders.shop.local", "responseType": "ENDPOINTS"}},
        "backends": [{"virtualService": {"virtualServiceName": "payments.shop.local"}}],
        "logging": {
            "accessLog": {
                "file": {
                    "path": "/dev/stdout",
                    "format": {"json": [{"key": "s", "value": "%RESPONSE_CODE%"}]},
                }
            }
        },
    },
    "tags": [{"key": "team", "value": "orders"}],
}
ROUTE: Doc = {
    "meshName": "shop",
    "virtualRouterName": "orders-router",
    "routeName": "orders-canary",
    "spec": {
        "priority": 10,
        "httpRoute": {
            "match": {
                "prefix": "/",
                "method": "GET",
                "headers": [{"name": "x-canary", "match": {"exact": "1"}}],
            },
            "action": {
                "weightedTargets": [
                    {"virtualNode": "orders-v1", "weight": 90},
                    {"virtualNode": "orders-v2", "weight": 10},
                ]
            },
            "retryPolicy": {
                "maxRetries": 3,
                "perRetryTimeout": {"unit": "ms", "value": 250},
                "httpRetryEvents": ["server-error", "gateway-error"],
                "tcpRetryEvents": ["connection-error"],
            },
            "timeout": {"perRequest": {"unit": "s", "value": 15}},
        },
    },
}
VALID: list[tuple[str, Doc]] = [
    ("Mesh", {"meshName": "shop"}),
    (
        "Mesh",
        {
            "meshName": "shop",
            "spec": {"egressFilter": {"type": "DROP_ALL"}, "serviceDiscovery": {"ipPreference": "IPv4_ONLY"}},
        },
    ),
    ("VirtualService", {"meshName": "shop", "virtualServiceName": "orders.shop.local", "spec": {}}),
    (
        "VirtualService",
        {
            "meshName": "shop",
            "meshOwner": "123456789012",
            "virtualServiceName": "orders.shop.local",
            "spec": {"provider": {"virtualRouter": {"virtualRouterName": "orders-router"}}},
        },
    ),
    (
        "VirtualRouter",
        {
            "meshName": "shop",
            "virtualRouterName": "orders-router",
            "spec": {"listeners": [{"portMapping": {"port": 8080, "protocol": "http"}}]},
        },
    ),
    ("Route", ROUTE),
    (
        "Route",
        {
            "meshName": "shop",
            "virtualRouterName": "orders-router",
            "routeName": "grpc",
            "spec": {
                "grpcRoute": {
                    "match": {
                        "serviceName": "orders.Orders",
                        "metadata": [{"name": "v", "match": {"range": {"start": 1, "end": 3}}}],
                    },
                    "action": {
                        "weightedTargets": [{"virtualNode": "orders-v1", "weight": 100, "port": 8080}]
                    },
                    "retryPolicy": {
                        "maxRetries": 2,
                        "perRetryTimeout": {"unit": "s", "value": 1},
                        "grpcRetryEvents": ["unavailable"],
                    },
                }
            },
        },
    ),
    (
        "Route",
        {
            "meshName": "shop",
            "virtualRouterName": "db-router",
            "routeName": "tcp",
            "spec": {
                "tcpRoute": {
                    "action": {"weightedTargets": [{"virtualNode": "db", "weight": 1}]},
                    "timeout": {"idle": {"unit": "s", "value": 600}},
                }
            },
        },
    ),
    ("VirtualNode", VIRTUAL_NODE),
    (
        "VirtualNode",
        {
            "meshName": "shop",
            "virtualNodeName": "payments",
            "spec": {
                "listeners": [
                    {
                        "portMapping": {"port": 9000, "protocol": "grpc"},
                        "connectionPool": {"grpc": {"maxRequests": 100}},
                        "outlierDetection": {
                            "maxServerErrors": 5,
                            "interval": {"unit": "s", "value": 10},
                            "baseEjectionDuration": {"unit": "s", "value": 30},
                            "maxEjectionPercent": 50,
                        },
                        "timeout": {"grpc": {"perRequest": {"unit": "s", "value": 5}}},
                    }
                ],
                "serviceDiscovery": {
                    "awsCloudMap": {
                        "namespaceName": "shop.local",
                        "serviceName": "payments",
                        "attributes": [{"key": "v", "value": "2"}],
                    }
                },
                "backendDefaults": {
                    "clientPolicy": {
                        "tls": {
                            "enforce": True,
                            "ports": [443],
                            "validation": {
                                "trust": {"acm": {"certificateAuthorityArns": ["arn:aws:acm-pca:x"]}}
                            },
                        }
                    }
                },
            },
        },
    ),
    (
        "VirtualGateway",
        {
            "meshName": "shop",
            "virtualGatewayName": "ingress",
            "spec": {
                "listeners": [
                    {
                        "portMapping": {"port": 443, "protocol": "http2"},
                        "tls": {
                            "mode": "STRICT",
                            "certificate": {"acm": {"certificateArn": "arn:aws:acm:x"}},
                        },
                        "connectionPool": {"http2": {"maxRequests": 1000}},
                    }
                ],
                "backendDefaults": {
                    "clientPolicy": {
                        "tls": {"validation": {"trust": {"file": {"certificateChain": "/ca.pem"}}}}
                    }
                },
                "logging": {
                    "accessLog": {"file": {"path": "/dev/stdout", "format": {"text": "%START_TIME%"}}}
                },
            },
        },
    ),
    (
        "GatewayRoute",
        {
            "meshName": "shop",
            "virtualGatewayName": "ingress",
            "gatewayRouteName": "orders",
            "spec": {
                "httpRoute": {
                    "match": {"prefix": "/orders/", "hostname": {"suffix": ".shop.example"}},
                    "action": {
                        "target": {"virtualService": {"virtualServiceName": "orders.shop.local"}},
                        "rewrite": {"prefix": {"defaultPrefix": "DISABLED"}},
                    },
                }
            },
        },
    ),
    (
        "GatewayRoute",
        {
            "meshName": "shop",
            "virtualGatewayName": "ingress",
            "gatewayRouteName": "payments-grpc",
            "spec": {
                "priority": 5,
                "grpcRoute": {
                    "match": {"serviceName": "payments.Payments"},
                    "action": {
                        "target": {
                            "virtualService": {"virtualServiceName": "payments.shop.local"},
                            "port": 9000,
                        }
                    },
                },
            },
        },
    ),
]


def test_generated_files_match_botocore() -> None:
    rendered = generator().render_all()
    assert sorted(rendered) == sorted(
        [f"schemas/appmesh/{kind}.schema.json" for kind in KINDS]
        + ["schemas/appmesh.schema.json", "meshlint/model/spec.py"]
    )
    stale = [rel for rel, text in rendered.items() if (ROOT / rel).read_bytes() != text.encode("utf-8")]
    assert stale == [], "run `python scripts/gen_schemas.py` and commit the result"


def test_schemas_are_valid_draft_2020_12() -> None:
    for kind in (*KINDS, None):
        Draft202012Validator.check_schema(validator(kind).schema)


@pytest.mark.parametrize(
    ("member", "attr"),
    [
        ("portMapping", "port_mapping"),
        ("awsCloudMap", "aws_cloud_map"),
        ("http2Route", "http2_route"),
        ("json", "json_"),
        ("ipPreference", "ip_preference"),
    ],
)
def test_attribute_names(member: str, attr: str) -> None:
    assert generator().attr_name(member) == attr


@pytest.mark.parametrize(("kind", "doc"), VALID, ids=[f"{kind}-{i}" for i, (kind, _) in enumerate(VALID)])
def test_valid_documents_pass_schema_and_model(kind: str, doc: Doc) -> None:
    assert errors(doc, kind) == []
    assert errors(doc, None) == []
    spec_models.SPEC_BY_KIND[kind].model_validate(doc.get("spec", {}))


def mutated(doc: Doc, *path: str | int, value: Any) -> Doc:
    """A deep copy of doc with the value at path replaced."""
    out = copy.deepcopy(doc)
    parent: Any = out
    for step in path[:-1]:
        parent = parent[step]
    parent[path[-1]] = value
    return out


def renamed_key(doc: Doc, path: tuple[str | int, ...], old: str, new: str) -> Doc:
    """A deep copy of doc with key `old` of the object at path renamed to `new`."""
    out = copy.deepcopy(doc)
    node: Any = out
    for step in path:
        node = node[step]
    node[new] = node.pop(old)
    return out


INVALID: list[tuple[str, Doc, list[str | int], str]] = [
    (
        "VirtualNode",
        renamed_key(VIRTUAL_NODE, ("spec", "listeners", 0), "portMapping", "portMaping"),
        ["spec", "listeners", 0],
        "additionalProperties",
    ),
    (
        "Route",
        mutated(ROUTE, "spec", "httpRoute", "action", "weightedTargets", 0, "weight", value=190),
        ["spec", "httpRoute", "action", "weightedTargets", 0, "weight"],
        "maximum",
    ),
    (
        "VirtualNode",
        mutated(VIRTUAL_NODE, "spec", "listeners", 0, "portMapping", "protocol", value="htttp"),
        ["spec", "listeners", 0, "portMapping", "protocol"],
        "enum",
    ),
    (
        "VirtualNode",
        mutated(
            VIRTUAL_NODE,
            "spec",
            "serviceDiscovery",
            value={"dns": {"hostname": "a.local"}, "awsCloudMap": {"namespaceName": "n", "serviceName": "s"}},
        ),
        ["spec", "serviceDiscovery"],
        "maxProperties",
    ),
    (
        "VirtualService",
        {"meshName": "shop", "virtualServiceName": "s", "spec": {"provider": {}}},
        ["spec", "provider"],
        "minProperties",
    ),
    (
        "VirtualService",
        {"meshName": "shop", "virtualServiceName": "s", "meshOwner": "<your-account>", "spec": {}},
        ["meshOwner"],
        "maxLength",
    ),
    ("Mesh", {"meshName": "shop", "clientToken": "abc"}, [], "additionalProperties"),
]


@pytest.mark.parametrize("combined", [False, True], ids=["kind-schema", "combined-schema"])
@pytest.mark.parametrize(
    ("kind", "doc", "path", "keyword"), INVALID, ids=[f"{k}-{kw}" for k, _, _, kw in INVALID]
)
def test_invalid_documents_fail_at_the_right_path(
    kind: str, doc: Doc, path: list[str | int], keyword: str, combined: bool
) -> None:
    found = [(list(e.absolute_path), e.validator) for e in errors(doc, None if combined else kind)]
    assert (path, keyword) in found


def test_typo_error_names_the_unknown_key() -> None:
    doc = INVALID[0][1]
    typo = [e for e in errors(doc, "VirtualNode") if e.validator == "additionalProperties"]
    assert len(typo) == 1 and "'portMaping'" in typo[0].message
    missing = [e for e in errors(doc, "VirtualNode") if e.validator == "required"]
    assert [list(e.absolute_path) for e in missing] == [["spec", "listeners", 0]]


def name_docs() -> Iterator[tuple[Doc, str]]:
    """Documents with a bogus spec, keyed only by name members, and the kind they must dispatch to."""
    yield (
        {"meshName": "m", "virtualGatewayName": "g", "gatewayRouteName": "r", "virtualNodeName": "n"},
        "GatewayRoute",
    )
    yield {"meshName": "m", "virtualRouterName": "vr", "routeName": "r"}, "Route"
    yield {"meshName": "m", "routeName": "r", "virtualNodeName": "n"}, "Route"
    yield {"meshName": "m", "virtualGatewayName": "g", "virtualNodeName": "n"}, "VirtualGateway"
    yield {"meshName": "m", "virtualNodeName": "n", "virtualRouterName": "vr"}, "VirtualNode"
    yield {"meshName": "m", "virtualRouterName": "vr"}, "VirtualRouter"
    yield {"meshName": "m", "virtualServiceName": "s"}, "VirtualService"
    yield {"meshName": "m"}, "Mesh"
    yield {"spec": {}}, "Mesh"


@pytest.mark.parametrize(("names", "kind"), list(name_docs()))
def test_combined_schema_dispatches_on_name_keys(names: Doc, kind: str) -> None:
    doc = {**names, "spec": {"bogus": 1}}

    def summary(k: str | None) -> list[tuple[list[Any], str]]:
        return [(list(e.absolute_path), e.message) for e in errors(doc, k)]

    assert summary(None) == summary(kind)
    assert all(summary(None) != summary(other) for other in KINDS if other != kind)


def test_kind_schemas_record_name_keys() -> None:
    keys = {kind: validator(kind).schema["x-meshlint-name-keys"] for kind in KINDS}
    assert keys["Route"] == ["meshName", "virtualRouterName", "routeName"]
    assert keys["GatewayRoute"] == ["meshName", "virtualGatewayName", "gatewayRouteName"]
    assert all(validator(kind).schema["x-meshlint-kind"] == kind for kind in KINDS)


def test_models_give_typed_snake_case_access() -> None:
    node = spec_models.VirtualNodeSpec.model_validate(VIRTUAL_NODE["spec"])
    listener = node.listeners[0] if node.listeners else pytest.fail("no listeners")
    assert listener.port_mapping == spec_models.PortMapping(port=8080, protocol="http")
    assert listener.tls is not None and listener.tls.certificate.file is not None
    assert listener.tls.certificate.file.private_key == "/certs/key.pem"
    assert node.service_discovery is not None and node.service_discovery.dns is not None
    assert node.service_discovery.aws_cloud_map is None
    assert (
        node.logging is not None
        and node.logging.access_log is not None
        and node.logging.access_log.file is not None
    )
    log_format = node.logging.access_log.file.format
    assert log_format is not None and log_format.json_ == (
        spec_models.JsonFormatRef(key="s", value="%RESPONSE_CODE%"),
    )
    with pytest.raises(PydanticValidationError):
        listener.port_mapping.port = 1  # frozen


def test_models_round_trip_by_alias() -> None:
    for kind, doc in VALID:
        spec = doc.get("spec", {})
        model = spec_models.SPEC_BY_KIND[kind].model_validate(spec)
        assert json.loads(model.model_dump_json(by_alias=True, exclude_none=True)) == spec


def test_models_reject_unknown_members() -> None:
    with pytest.raises(PydanticValidationError, match="portMaping"):
        spec_models.VirtualNodeSpec.model_validate(
            {"listeners": [{"portMaping": {"port": 1, "protocol": "http"}}]}
        )


@pytest.mark.parametrize(
    ("model", "data"),
    [
        (spec_models.MeshSpec, {"egressFilter": None}),
        (spec_models.MeshServiceDiscovery, {"ipPreference": None}),
        (spec_models.VirtualNodeSpec, {"backends": None}),
        (spec_models.MeshDocument, {"meshName": "shop", "spec": None}),
        (spec_models.VirtualServiceDocument, {"meshName": "shop", "virtualServiceName": "s", "spec": {}, "tags": None}),
    ],
)
def test_models_reject_an_explicit_null_as_the_schema_does(model: type[Any], data: Doc) -> None:
    """An optional member may be left out (it reads None) but not written as null."""
    with pytest.raises(PydanticValidationError):
        model.model_validate(data)
    absent = {k: v for k, v in data.items() if v is not None}
    assert all(getattr(model.model_validate(absent), generator().attr_name(k)) is None for k in data if k not in absent)
