"""What cannot be known offline is unknown: said once, by unresolved-value or template-placeholder, and never
the ground of another rule's finding (issue: precision on real repositories)."""

from __future__ import annotations

from pathlib import Path

from meshlint.config import Settings
from tests.helpers import check_in, golden_lines

STACK = """\
Parameters:
  MeshName: {Type: String}
  Port: {Type: Number}
Resources:
  Node:
    Type: AWS::AppMesh::VirtualNode
    Properties:
      MeshName: !Ref MeshName
      VirtualNodeName: colorteller
      Spec:
        Listeners:
          - PortMapping: {Port: !Ref Port, Protocol: http}
            TLS: {Mode: STRICT, Certificate: {File: {CertificateChain: /c/c.pem, PrivateKey: /c/c.key}}}
        ServiceDiscovery: {DNS: {Hostname: colorteller.local}}
        Backends:
          - VirtualService: {VirtualServiceName: !Sub "color.${MeshName}.local"}
        BackendDefaults:
          ClientPolicy: {TLS: {Validation: {Trust: {File: {CertificateChain: /c/ca.pem}}}}}
  Service:
    Type: AWS::AppMesh::VirtualService
    Properties:
      MeshName: !Ref MeshName
      VirtualServiceName: colorteller.local
      Spec: {Provider: {VirtualNode: {VirtualNodeName: colorteller}}}
"""


def _rules(folder: Path, settings: Settings | None = None) -> list[str]:
    return sorted({d.rule for d in check_in(folder, settings=settings).diagnostics})


def test_two_stacks_sharing_an_unresolved_mesh_parameter_are_two_meshes(tmp_path: Path) -> None:
    (tmp_path / "blue.yaml").write_text(STACK)
    (tmp_path / "green.yaml").write_text(STACK)
    result = check_in(tmp_path)
    lines = golden_lines(result.diagnostics)
    # before: schema "must be an integer, not the string '${Port}'", dangling "mesh '${MeshName}' is not
    # defined", the backend 'color.${MeshName}.local' not defined, and every resource of green a duplicate
    assert {d.rule for d in result.diagnostics} == {"unresolved-value"}, lines
    assert sorted(d.message for d in result.diagnostics if d.path == "blue.yaml") == [
        "parameter MeshName has no Default", "parameter Port has no Default"]
    assert len(result.model.nodes) == 2  # both stacks' colorteller, each in a mesh of its own file


def test_a_rule_that_can_still_decide_does(tmp_path: Path) -> None:
    """A weight sum with every weight known is judged even where the mesh name is unknown."""
    (tmp_path / "routes.yaml").write_text("""\
Parameters: {MeshName: {Type: String}}
Resources:
  Route:
    Type: AWS::AppMesh::Route
    Properties:
      MeshName: !Ref MeshName
      VirtualRouterName: color
      RouteName: split
      Spec:
        HttpRoute:
          Match: {Prefix: /}
          Action: {WeightedTargets: [{VirtualNode: blue, Weight: 1}, {VirtualNode: red, Weight: 1}]}
""")
    assert _rules(tmp_path) == ["unresolved-value", "weights-sum"]


def test_an_unknown_weight_is_no_weights_finding(tmp_path: Path) -> None:
    (tmp_path / "router.yaml").write_text("""\
meshName: shop
virtualRouterName: color
routeName: split
spec:
  httpRoute:
    match: {prefix: /}
    action:
      weightedTargets:
        - {virtualNode: blue, weight: "${BLUE_WEIGHT}"}
        - {virtualNode: red, weight: 20}
""")
    assert _rules(tmp_path, Settings(select=frozenset({"schema", "weights-sum", "weights-invalid",
                                                        "template-placeholder"}))) == ["template-placeholder"]


def test_a_gateway_route_whose_gateway_is_not_in_the_files_invents_no_gateway(tmp_path: Path) -> None:
    (tmp_path / "route.yaml").write_text("""\
apiVersion: appmesh.k8s.aws/v1beta2
kind: Mesh
metadata: {name: shop}
spec: {namespaceSelector: {matchLabels: {mesh: shop}}}
---
apiVersion: v1
kind: Namespace
metadata: {name: web, labels: {mesh: shop}}
---
apiVersion: appmesh.k8s.aws/v1beta2
kind: GatewayRoute
metadata: {name: front, namespace: web}
spec:
  httpRoute:
    match: {prefix: /}
    action: {target: {virtualService: {virtualServiceRef: {name: front}}}}
""")
    result = check_in(tmp_path)
    messages = [d.message for d in result.diagnostics if d.rule != "unresolved-value"]
    assert not any("${" in m for m in messages), messages
    assert [d.rule for d in result.diagnostics].count("unresolved-value") == 1


def test_a_mesh_shared_from_another_account_may_hold_what_is_named(tmp_path: Path) -> None:
    (tmp_path / "node.yaml").write_text("""\
meshName: shared
meshOwner: "111122223333"
virtualNodeName: web
spec:
  listeners: [{portMapping: {port: 8080, protocol: http}}]
  serviceDiscovery: {dns: {hostname: web.local}}
  backends: [{virtualService: {virtualServiceName: orders.other-account.local}}]
""")
    assert "dangling-reference" not in _rules(tmp_path)


BROKEN_TLS = """\
meshName: lab
spec: {}
---
meshName: lab
virtualServiceName: api.lab.local
spec: {provider: {virtualNode: {virtualNodeName: api}}}
---
meshName: lab
virtualNodeName: api
spec:
  listeners: [{portMapping: {port: 8080, protocol: http}}]
  serviceDiscovery: {dns: {hostname: api.lab.local}}
---
meshName: lab
virtualNodeName: web
tags: [{key: "meshlint:entry-point", value: "true"}]
spec:
  listeners: [{portMapping: {port: 8080, protocol: http}}]
  serviceDiscovery: {dns: {hostname: web.lab.local}}
  backends: [{virtualService: {virtualServiceName: api.lab.local}}]
  backendDefaults: {clientPolicy: {tls: {validation: {trust: {file: {certificateChain: /c/ca.pem}}}}}}
"""


def test_the_tls_policy_off_keeps_the_broken_handshake(tmp_path: Path) -> None:
    """Plaintext on purpose (missing-tls off) is a policy; a client enforcing TLS towards it cannot connect."""
    (tmp_path / "mesh.yaml").write_text(BROKEN_TLS)
    assert _rules(tmp_path) == ["missing-tls", "tls-handshake-fails"]
    off = Settings(severities={"missing-tls": None})
    (finding,) = check_in(tmp_path, settings=off).diagnostics
    assert (finding.rule, finding.severity.label) == ("tls-handshake-fails", "error")
    assert "enforces TLS towards 'api.lab.local'" in finding.message
    # the removed rule's name still configures its successor
    renamed = Settings(severities={"tls-handshake-fails": None, "missing-tls": None})
    assert check_in(tmp_path, settings=renamed).diagnostics == []


def test_a_config_naming_the_removed_rule_configures_its_successor(tmp_path: Path) -> None:
    from meshlint import catalogue
    from meshlint.config import load_settings, parse_rule_names

    config = tmp_path / ".meshlint.yaml"
    config.write_text("rules: {mtls-client-cert-missing: warning, ML031: warning}\nignore: [ML031]\n")
    settings = load_settings(config, list(catalogue.load()))
    assert settings.severities == {"tls-handshake-fails": catalogue.load()["tls-handshake-fails"].severity.WARNING}
    assert settings.ignore == {"tls-handshake-fails"}
    assert parse_rule_names("mtls-client-cert-missing", list(catalogue.load())) == ["tls-handshake-fails"]
    assert catalogue.lookup("ML031") is catalogue.load()["tls-handshake-fails"]


def test_a_proxy_of_a_mesh_of_unknown_name_is_said_to_carry_the_placeholder(tmp_path: Path) -> None:
    from meshlint import api

    (tmp_path / "stack.yaml").write_text(STACK.replace("!Ref Port", "8080"))
    result = api.check([str(tmp_path)], compile=True)
    found = [d for d in result.diagnostics if d.rule == "not-compilable"]
    assert [d.message for d in found] == ["the mesh name of 'colorteller' is unknown offline (${MeshName}): its "
                                         "bootstrap carries that placeholder in cluster names and stats tags"]


GATEWAY_OF_ANOTHER_TEMPLATE = """\
Resources:
  Gateway:
    Type: AWS::AppMesh::VirtualGateway
    Properties:
      MeshName: !GetAtt Mesh.MeshName
      VirtualGatewayName: ingress
      Spec: {Listeners: [{PortMapping: {Port: 9080, Protocol: http}}]}
  Route:
    Type: AWS::AppMesh::GatewayRoute
    Properties:
      MeshName: shop
      VirtualGatewayName: ingress
      GatewayRouteName: web
      Spec:
        HttpRoute:
          Match: {Prefix: /}
          Action: {Target: {VirtualService: {VirtualServiceName: web.shop.local}}}
"""


def test_a_name_declared_in_a_mesh_of_unknown_name_may_be_what_a_reference_names(tmp_path: Path) -> None:
    # Copilot merges an addons folder into one stack: `!GetAtt Mesh.MeshName` names the Mesh of another file,
    # unknown here. Its gateway `ingress` may well be the one the route (mesh shop) belongs to.
    (tmp_path / "mesh.yaml").write_text("Resources:\n  Mesh:\n    Type: AWS::AppMesh::Mesh\n"
                                        "    Properties: {MeshName: shop}\n  Web:\n"
                                        "    Type: AWS::AppMesh::VirtualService\n    Properties: {MeshName: shop, "
                                        "VirtualServiceName: web.shop.local, Spec: {}}\n")
    (tmp_path / "gateway.yaml").write_text(GATEWAY_OF_ANOTHER_TEMPLATE)
    assert "dangling-reference" not in _rules(tmp_path)
    (tmp_path / "gateway.yaml").write_text(GATEWAY_OF_ANOTHER_TEMPLATE.replace("      VirtualGatewayName: ingress\n"
                                                                               "      GatewayRouteName",
                                                                               "      VirtualGatewayName: egress\n"
                                                                               "      GatewayRouteName"))
    assert "dangling-reference" in _rules(tmp_path)  # no gateway of that name anywhere: still reported


def test_a_placeholder_is_said_once_per_file_however_often_it_is_used(tmp_path: Path) -> None:
    node = "meshName: shop\nvirtualNodeName: {name}\nspec:\n  serviceDiscovery:\n    dns:\n      hostname: {host}\n"
    (tmp_path / "nodes.yaml").write_text("---\n".join([
        node.format(name="a", host="a.${DOMAIN}"), node.format(name="b", host="b.$DOMAIN"),
        node.format(name="c", host="${DOMAIN}"), node.format(name="d", host="d.${ZONE}")]))
    (tmp_path / "more.yaml").write_text(node.format(name="e", host="e.${DOMAIN}"))
    said = sorted((d.path, d.line, d.message) for d in check_in(tmp_path).diagnostics
                  if d.rule == "template-placeholder")
    assert said == [("more.yaml", 6, "template placeholder ${DOMAIN} left in a value"),
                    ("nodes.yaml", 6, "template placeholder ${DOMAIN} left in a value (and 2 more in this file)"),
                    ("nodes.yaml", 27, "template placeholder ${ZONE} left in a value")]


def test_a_name_declared_in_a_template_file_left_out_of_the_walk_is_not_missing(tmp_path: Path) -> None:
    # A deploy script fills manifests/templates/router.yml.template with envsubst; the service names the
    # router it declares. The walk does not check the template, but what it declares exists.
    service = ("meshName: shop\nvirtualServiceName: web.shop.local\n"
               "spec: {provider: {virtualRouter: {virtualRouterName: web-router}}}\n")
    router = ("meshName: shop\nvirtualRouterName: web-router\n"
              "spec: {listeners: [{portMapping: {port: ${PORT}, protocol: http}}]}\n")
    (tmp_path / "mesh.yaml").write_text("meshName: shop\nspec: {}\n---\n" + service)
    assert "dangling-reference" in _rules(tmp_path)
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "router.yml.template").write_text(router)
    assert "dangling-reference" not in _rules(tmp_path)
    (tmp_path / "templates" / "router.yml.template").write_text(router.replace("web-router", "api-router"))
    assert "dangling-reference" in _rules(tmp_path)


def test_a_mesh_declared_in_a_template_file_left_out_of_the_walk_is_defined(tmp_path: Path) -> None:
    node = "meshName: shop\nvirtualNodeName: web\nspec: {}\n"
    (tmp_path / "node.yaml").write_text(node)
    assert "mesh-not-defined" in _rules(tmp_path)
    (tmp_path / "mesh.yaml.template").write_text("meshName: shop\nspec: {egressFilter: {type: ${EGRESS}}}\n")
    assert "mesh-not-defined" not in _rules(tmp_path)
