"""Minimal examples of failures the property suite found, as ordinary tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from meshlint import api

TLS = {"mode": "STRICT", "certificate": {"file": {"certificateChain": "/c.pem", "privateKey": "/c.key"}}}


def _grpc_gateway_mesh(first: dict[str, Any], second: dict[str, Any], priorities: tuple[int, int]) -> list[Any]:
    target = {"target": {"virtualService": {"virtualServiceName": "d.a.local"}}}
    return [
        {"meshName": "a", "spec": {}},
        {"meshName": "a", "virtualServiceName": "d.a.local", "spec": {"provider": {"virtualNode": {
            "virtualNodeName": "n"}}}},
        {"meshName": "a", "virtualNodeName": "n", "spec": {
            "listeners": [{"portMapping": {"port": 8080, "protocol": "grpc"}, "tls": TLS}],
            "serviceDiscovery": {"dns": {"hostname": "n.a.local"}}}},
        {"meshName": "a", "virtualGatewayName": "gw", "spec": {
            "listeners": [{"portMapping": {"port": 8443, "protocol": "grpc"}, "tls": TLS}],
            "backendDefaults": {"clientPolicy": {"tls": {"validation": {"trust": {"file": {
                "certificateChain": "/ca.pem"}}}}}}}},
        {"meshName": "a", "virtualGatewayName": "gw", "gatewayRouteName": "j", "spec": {
            "priority": priorities[0], "grpcRoute": {"match": first, "action": target}}},
        {"meshName": "a", "virtualGatewayName": "gw", "gatewayRouteName": "k", "spec": {
            "priority": priorities[1], "grpcRoute": {"match": second, "action": target}}},
    ]


@pytest.mark.parametrize(("priorities", "rule", "where"), [
    ((26, 110), "shadowed-route", "gw/k"),
    ((5, 5), "duplicate-priority", "gw/j"),  # at one priority the longer match (k's serviceName) goes first
], ids=["shadowed", "same-priority"])
def test_grpc_gateway_routes_have_no_method_name(tmp_path: Path, priorities: tuple[int, int], rule: str,
                                                 where: str) -> None:
    """shadowed-route / duplicate-priority read `method_name` of every gRPC match, and gateway gRPC matches
    have none: the rule crashed (AttributeError) on any two gRPC gateway routes of one gateway whose
    service names allowed a comparison (here: the first has no serviceName)."""
    docs = _grpc_gateway_mesh({}, {"serviceName": "e.Pay", "metadata": [{"name": "x-a"}]}, priorities)
    (tmp_path / "mesh.yaml").write_text(yaml.safe_dump_all(docs))
    diagnostics = api.check([str(tmp_path)]).diagnostics  # MESHLINT_RAISE: a crash raises here
    assert [(d.rule, d.resource.name if d.resource else None) for d in diagnostics] == [(rule, where)]
