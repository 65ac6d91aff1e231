"""--substitute-env / --env-file fill template placeholders, and never CloudFormation's own `Fn::Sub` variables,
which only the template's parameters, their defaults and --parameter decide (see load/substitute.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from meshlint import api
from meshlint.normalize import InputOptions

ENV = {"Domain": "evil.example", "MESH": "shop", "PORT": "8080"}


@pytest.mark.parametrize(("text", "expected"), [
    ('a: !Sub "api.${Domain}"\nb: ${MESH}\n', 'a: !Sub "api.${Domain}"\nb: shop\n'),
    ("a: {Fn::Sub: 'api.${Domain}'}\nb: $MESH\n", "a: {Fn::Sub: 'api.${Domain}'}\nb: shop\n"),
    ("a: !Sub\n  - api.${Domain}.${X}\n  - {X: ${MESH}}\n", "a: !Sub\n  - api.${Domain}.${X}\n  - {X: shop}\n"),
    # JSON that YAML reads only once filled in (a bare $PORT): the Fn::Sub string is still found
    ('{"p": $PORT, "h": {"Fn::Sub": ["${Domain}", {}]}, "d": "${Domain}"}',
     '{"p": 8080, "h": {"Fn::Sub": ["${Domain}", {}]}, "d": "evil.example"}'),
    # text that is not a Fn::Sub template is filled in, whatever looks like one
    ("a: Sub ${Domain}\n", "a: Sub evil.example\n"),
])
def test_fn_sub_templates_are_left_alone(text: str, expected: str) -> None:
    from meshlint.load.substitute import substitute

    assert substitute(text, ENV).text == expected


def test_spans_map_back_to_the_file() -> None:
    from meshlint.load.substitute import substitute

    done = substitute("a: ${MESH}\nweight: 10\nb: ${Domain}x\n", ENV)
    assert done.text == "a: shop\nweight: 10\nb: evil.examplex\n"
    start = done.text.index("10")
    assert done.original_span(start, start + 2) == (done.original.index("10"), done.original.index("10") + 2)
    value = done.text.index("shop")
    assert done.original_span(value, value + 4) is None  # written by the substitution
    assert done.original_span(value - 1, value + 1) is None
    tail = done.text.index("evil.examplex")
    assert done.original_span(tail, tail + len("evil.examplex")) is None  # partly written by it


TEMPLATE = """AWSTemplateFormatVersion: "2010-09-09"
Parameters:
  Domain: {Type: String, Default: example.com}
Resources:
  Mesh:
    Type: AWS::AppMesh::Mesh
    Properties: {MeshName: ${MESH}}
  Api:
    Type: AWS::AppMesh::VirtualNode
    Properties:
      MeshName: shop
      VirtualNodeName: api
      Spec:
        Listeners: [{PortMapping: {Port: 8080, Protocol: http}}]
        ServiceDiscovery: {DNS: {Hostname: !Sub "api.${Domain}"}}
  Web:
    Type: AWS::AppMesh::VirtualNode
    Properties:
      MeshName: shop
      VirtualNodeName: web
      Spec:
        Listeners: [{PortMapping: {Port: 8080, Protocol: http}}]
        ServiceDiscovery: {DNS: {Hostname: {"Fn::Sub": ["web.${Zone}", {Zone: !Ref Domain}]}}}
"""


def _hostnames(folder: Path, parameters: dict[str, str]) -> dict[str, str]:
    result = api.check([str(folder)], inputs=InputOptions(parameters=parameters, substitutions=ENV))
    return {key[1]: node.spec.service_discovery.dns.hostname for key, node in result.model.nodes.items()}


def test_fn_sub_resolves_by_cloudformation_rules_alone(tmp_path: Path) -> None:
    """An environment variable named like a template parameter (Domain) changes nothing inside Fn::Sub; the
    placeholder outside it (${MESH}) is still filled in."""
    (tmp_path / "t.yaml").write_text(TEMPLATE)
    assert _hostnames(tmp_path, {}) == {"api": "api.example.com", "web": "web.example.com"}  # the default
    assert _hostnames(tmp_path, {"Domain": "prod.example"}) == {"api": "api.prod.example", "web": "web.prod.example"}
    result = api.check([str(tmp_path)], inputs=InputOptions(substitutions=ENV))
    assert list(result.model.meshes) == ["shop"]
