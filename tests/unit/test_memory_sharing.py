"""What a large mesh holds once rather than once per resource: mapping keys, and the fields sets of the specs."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from meshlint.load.parse import parse_text
from meshlint.model.spec import VirtualNodeSpec, VirtualServiceProvider

NODE = """\
spec:
  listeners:
  - portMapping: {port: 8080, protocol: http}
    healthCheck: {protocol: http, path: /ping, healthyThreshold: 2, unhealthyThreshold: 2,
                  timeoutMillis: 2000, intervalMillis: 5000}
"""


def test_every_document_of_every_file_shares_one_string_per_key() -> None:
    first, _ = parse_text(NODE + "---\n" + NODE, record=False)
    other, _ = parse_text(NODE.replace("/ping", "/health"), record=False)
    keys = [next(iter(doc.data["spec"]["listeners"][0]["healthCheck"])) for doc in (*first, *other)]
    assert len(keys) == 3 and keys[0] == "protocol"
    assert keys[0] is keys[1] is keys[2]


def _listener(path: str) -> object:
    return VirtualNodeSpec.model_validate(
        {"listeners": [{"portMapping": {"port": 8080, "protocol": "http"},
                        "healthCheck": {"protocol": "http", "path": path, "healthyThreshold": 2,
                                        "unhealthyThreshold": 2, "timeoutMillis": 2000, "intervalMillis": 5000}}]}
    ).listeners[0]


def test_specs_given_the_same_members_share_one_fields_set() -> None:
    one, two = _listener("/ping"), _listener("/health")
    assert one.health_check.model_fields_set == {"protocol", "path", "healthy_threshold", "unhealthy_threshold",
                                                 "timeout_millis", "interval_millis"}
    assert one.health_check.model_fields_set is two.health_check.model_fields_set
    assert one.model_fields_set is two.model_fields_set
    assert one.model_fields_set != one.health_check.model_fields_set


def test_a_union_still_takes_exactly_one_member() -> None:
    provider = VirtualServiceProvider.model_validate({"virtualNode": {"virtualNodeName": "web"}})
    assert provider.model_fields_set == {"virtual_node"}
    for members in ({}, {"virtualNode": {"virtualNodeName": "web"}, "virtualRouter": {"virtualRouterName": "r"}}):
        with pytest.raises(ValidationError, match="exactly one member"):
            VirtualServiceProvider.model_validate(members)
