"""Only App Mesh input counts, nothing checked is said, and resources that other tools generate or that live
elsewhere resolve (issue: precision on real repositories)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from meshlint.config import Settings
from tests.helpers import check_in, golden_lines

MESH = """\
meshName: shop
spec: {}
---
meshName: shop
virtualServiceName: orders.shop.local
spec: {provider: {virtualNode: {virtualNodeName: orders}}}
---
meshName: shop
virtualNodeName: orders
tags: [{key: "meshlint:entry-point", value: "true"}]
spec:
  listeners:
    - portMapping: {port: 8080, protocol: http}
      tls: {mode: STRICT, certificate: {file: {certificateChain: /c/o.pem, privateKey: /c/o.key}}}
  serviceDiscovery: {dns: {hostname: orders.shop.local}}
"""


def _walkthrough(root: Path) -> Path:
    """A walkthrough-shaped folder: the mesh, a Helm chart beside it, a template, a node_modules with a broken
    package.json, an ECS task definition with an envsubst placeholder, an EKS template with a duplicate key."""
    (root / "mesh").mkdir(parents=True)
    (root / "mesh" / "mesh.yaml").write_text(MESH)
    chart = root / "chart"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: orders\nversion: 0.1.0\n")
    (chart / "values.yaml").write_text("appmesh: {enabled: true}\n")
    (chart / "templates" / "vn.yaml").write_text(
        "{{- if .Values.appmesh.enabled }}\napiVersion: appmesh.k8s.aws/v1beta2\nkind: VirtualNode\n"
        "metadata:\n  name: {{ include \"orders.name\" . }}\n{{- end }}\n")
    (root / "mesh" / "orders-v2.yaml.template").write_text("meshName: shop\nvirtualNodeName: ${NAME}\nspec: {}\n")
    (root / "node_modules" / "left-pad").mkdir(parents=True)
    (root / "node_modules" / "left-pad" / "package.json").write_text('{"name": "left-pad",,}')
    (root / "ecs").mkdir()
    (root / "ecs" / "task.json").write_text('{"family": "orders", "image": $ENVOY_IMAGE}\n')
    (root / "ecs" / "broken.json").write_text('{"family": "orders",, }\n')
    (root / "infra").mkdir()  # another tool's template with a duplicate key (a real EKS sample has one)
    (root / "infra" / "eks.yml").write_text("Metadata: {a: 1}\nResources:\n  Role: {Type: AWS::IAM::Role}\n"
                                            "Metadata: {b: 2}\n")
    return root


def test_a_walkthrough_with_a_helm_chart_beside_the_mesh_has_no_error(tmp_path: Path) -> None:
    result = check_in(_walkthrough(tmp_path))
    lines = golden_lines(result.diagnostics)
    assert result.summary()["errors"] == 0, lines
    assert result.summary()["resources"] == 3
    notes = {d.path: d.message for d in result.diagnostics if d.rule == "ignored-input"}
    assert notes["chart/Chart.yaml"] == ("a Helm chart: its 1 templates are not read until rendered; they declare "
                                         "VirtualNode objects, so a name of those kinds that the checked files lack "
                                         "is not called dangling: it may be one of them")
    assert notes["mesh/orders-v2.yaml.template"].startswith("1 template file not read in the folder walk")
    assert notes["ecs/broken.json"].startswith("a YAML or JSON file that is not App Mesh input: not read")
    assert not any("node_modules" in d.path for d in result.diagnostics)


def test_merge_keys_of_another_tools_file_are_its_own_and_app_mesh_files_may_not_use_them(tmp_path: Path) -> None:
    """docker-compose files and Rails configs beside a mesh use YAML merge keys (`<<: *default`); meshlint refuses
    them in App Mesh definitions only."""
    (tmp_path / "mesh.yaml").write_text(MESH)
    (tmp_path / "database.yml").write_text("default: &default\n  adapter: sqlite3\ndevelopment:\n  <<: *default\n"
                                           "  database: db/development.sqlite3\n")
    (tmp_path / "docker-compose.yml").write_text("x-common: &common\n  restart: always\nservices:\n  web:\n"
                                                 "    <<: *common\n    image: web\n")
    result = check_in(tmp_path)
    assert result.summary()["errors"] == 0, golden_lines(result.diagnostics)
    assert not [d for d in result.diagnostics if d.path in ("database.yml", "docker-compose.yml")]
    (tmp_path / "node.yaml").write_text("meshName: shop\nvirtualNodeName: extra\nspec:\n  listeners:\n"
                                        "    - portMapping: &d {port: 8080, protocol: http}\n"
                                        "    - portMapping: {<<: *d, port: 8081}\n")
    lines = golden_lines(check_in(tmp_path).diagnostics)
    assert any(line.startswith("node.yaml:6:") and "merge keys" in line for line in lines), lines


def test_a_template_without_a_yaml_suffix_counts_when_it_names_app_mesh(tmp_path: Path) -> None:
    """`fullapp-appmesh.template` (rendered with envsubst) declares the nodes an update input's route targets: it is
    a template file of the walk, and its names are defined. A Jinja page beside it is nothing of meshlint's."""
    (tmp_path / "mesh.yaml").write_text(MESH)
    (tmp_path / "fullapp-appmesh.template").write_text(
        "meshName: shop\nvirtualNodeName: orders-v2\nspec:\n  listeners:\n    - portMapping: {port: 8080, "
        "protocol: http}\n  serviceDiscovery: {dns: {hostname: ${HOST}}}\n")
    (tmp_path / "page.j2").write_text("<html>{{ title }}</html>\n")
    (tmp_path / "update-route.json").write_text(json.dumps({
        "meshName": "shop", "virtualRouterName": "orders", "routeName": "r", "spec": {"httpRoute": {
            "match": {"prefix": "/"}, "action": {"weightedTargets": [{"virtualNode": "orders-v2", "weight": 1}]}}}}))
    result = check_in(tmp_path, settings=Settings(select=frozenset({"dangling-reference", "ignored-input"})))
    lines = golden_lines(result.diagnostics)
    assert [d.path for d in result.diagnostics if d.rule == "ignored-input"] == ["fullapp-appmesh.template"], lines
    assert [d.message for d in result.diagnostics if d.rule == "dangling-reference"] == [
        "route 'orders/r' belongs to virtual router 'orders', which is not defined in mesh 'shop'"], lines


def test_a_name_a_left_out_helm_chart_may_declare_is_unknown_not_dangling(tmp_path: Path) -> None:
    """aonz/app-mesh-flux-flagger: a gateway route targets virtual service `api`, which the Flagger Canary of a Helm
    chart beside it makes. The chart is not read until rendered: its names are unknown, said once at the chart."""
    route = ("apiVersion: appmesh.k8s.aws/v1beta2\nkind: GatewayRoute\nmetadata: {name: web, namespace: shop}\n"
             "spec:\n  meshRef: {name: shop, uid: x}\n  virtualGatewayRef: {name: gw, namespace: shop}\n"
             "  httpRoute:\n    match: {prefix: /}\n"
             "    action: {target: {virtualService: {virtualServiceRef: {name: api}}}}\n")
    (tmp_path / "route.yaml").write_text(route)
    chart = tmp_path / "charts" / "api"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: api\nversion: 0.1.0\n")
    (chart / "templates" / "deployment.yaml").write_text("apiVersion: apps/v1\nkind: Deployment\n"
                                                         "metadata: {name: {{ .Release.Name }}}\n")
    select = Settings(select=frozenset({"dangling-reference", "ignored-input"}))

    def found() -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for d in check_in(tmp_path, settings=select).diagnostics:
            out.setdefault(d.rule, []).append(d.message)
        return out

    # a chart of deployments declares no virtual service (the gateway is in no file: dangling either way)
    assert any("virtual service 'api.shop'" in m for m in found()["dangling-reference"])
    (chart / "templates" / "canary.yaml").write_text(
        "apiVersion: flagger.app/v1beta1\nkind: Canary\nmetadata: {name: {{ .Release.Name }}}\n"
        "spec:\n  provider: appmesh:v1beta2\n")
    assert not any("virtual service 'api.shop'" in m for m in found()["dangling-reference"])
    assert found()["ignored-input"] == [(
        "a Helm chart: its 2 templates are not read until rendered; they declare VirtualNode, VirtualRouter, "
        "VirtualService objects, so a name of those kinds that the checked files lack is not called dangling: it "
        "may be one of them")]


def test_a_helm_template_named_on_the_command_line_is_a_note_not_an_error(tmp_path: Path) -> None:
    _walkthrough(tmp_path)
    diagnostic, nothing = check_in(tmp_path, ["chart/templates/vn.yaml"]).diagnostics
    assert (diagnostic.rule, diagnostic.severity.label) == ("ignored-input", "info")
    assert (nothing.rule, nothing.severity.label) == ("nothing-checked", "warning")
    assert diagnostic.message.startswith("a Helm template: not read")
    assert diagnostic.help == "render the chart first: helm template <chart> | meshlint check -"


def test_exclude_in_the_config_and_on_the_command_line(tmp_path: Path) -> None:
    _walkthrough(tmp_path)
    (tmp_path / "legacy").mkdir()
    (tmp_path / "legacy" / "old.yaml").write_text("meshName: shop\nvirtualNodeName: old\nspec: {}\n")
    assert any(d.path == "legacy/old.yaml" for d in check_in(tmp_path).diagnostics)
    excluded = check_in(tmp_path, settings=Settings(exclude=("legacy/",), source=tmp_path / ".meshlint.yaml"))
    assert not any(d.path.startswith("legacy/") for d in excluded.diagnostics)
    assert excluded.summary()["resources"] == 3
    by_flag = check_in(tmp_path, settings=Settings(cli_exclude=("*.json", "old.yaml")))
    assert not any(d.path.endswith(".json") or d.path.startswith("legacy/") for d in by_flag.diagnostics)


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "meshlint", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=60)


def test_nothing_checked_is_said_and_fails_with_fail_on_warning(tmp_path: Path) -> None:
    (tmp_path / "mesh.yaml.template").write_text(MESH)
    (tmp_path / "deploy.yaml").write_text("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\n")
    proc = _run("check", ".", "--format", "json", cwd=tmp_path)
    assert proc.returncode == 0
    report = json.loads(proc.stdout)
    (warning,) = [d for d in report["diagnostics"] if d["severity"] == "warning"]
    assert warning["rule"] == "nothing-checked"
    assert warning["message"] == "no App Mesh resource found in 1 file (left out: 1 template file)"
    assert _run("check", ".", "--fail-on", "warning", cwd=tmp_path).returncode == 1
    named = _run("check", "mesh.yaml.template", cwd=tmp_path)  # named: read as it is
    assert "nothing-checked" not in named.stdout and "3 resources" in named.stdout, named.stdout


FRAGMENT = """{
  "spec": {
    "listeners": [{"portMapping": {"port": 8080, "protocol": "http"},
                   "tls": {"mode": "STRICT", "certificate": {"file": {"certificateChain": "/c/a.pem",
                                                                      "privateKey": "/c/a.key"}}}}],
    "serviceDiscovery": {"dns": {"hostname": $HOSTNAME}},
    "backends": [{"virtualService": {"virtualServiceName": "orders.shop.local"}}]
  }
}
"""


def test_fragments_named_in_the_config_join_the_mesh(tmp_path: Path) -> None:
    (tmp_path / "mesh.yaml").write_text(MESH)
    (tmp_path / "fragments").mkdir()
    (tmp_path / "fragments" / "web-vn.json").write_text(FRAGMENT)
    (tmp_path / ".meshlint.yaml").write_text("fragments:\n  'fragments/*-vn.json': VirtualNode:shop/{stem}\n"
                                             "ignore: [missing-tls, unreachable-node]\n")
    proc = _run("check", ".", "--format", "json", cwd=tmp_path)
    report = json.loads(proc.stdout)
    assert [(d["rule"], d["path"], d["line"]) for d in report["diagnostics"]] == [
        ("template-placeholder", "fragments/web-vn.json", 6)]
    assert report["summary"]["resources"] == 4  # named web-vn in mesh shop: its backend orders.shop.local resolves


def test_an_unnamed_fragment_is_checked_on_its_own_and_said_once(tmp_path: Path) -> None:
    (tmp_path / "web-vn.json").write_text(FRAGMENT.replace('"port": 8080', '"port": 80800'))
    result = check_in(tmp_path)
    rules = sorted(d.rule for d in result.diagnostics)
    # the port is out of range (schema: checked on its own); its names are unknown, said once; what it calls
    # lies in a mesh unknown here (no dangling reference)
    assert rules == ["schema", "template-placeholder", "unresolved-value"], golden_lines(result.diagnostics)


CANARY = """\
apiVersion: appmesh.k8s.aws/v1beta2
kind: Mesh
metadata: {name: global}
spec: {namespaceSelector: {matchLabels: {mesh: global}}}
---
apiVersion: v1
kind: Namespace
metadata: {name: test, labels: {mesh: global}}
---
apiVersion: flagger.app/v1beta1
kind: Canary
metadata: {name: podinfo, namespace: test}
spec:
  provider: appmesh:v1beta2
  targetRef: {apiVersion: apps/v1, kind: Deployment, name: podinfo}
  service: {port: 9898}
---
apiVersion: appmesh.k8s.aws/v1beta2
kind: VirtualNode
metadata: {name: loadtester, namespace: test}
spec:
  podSelector: {matchLabels: {app: loadtester}}
  listeners: [{portMapping: {port: 80, protocol: http}}]
  serviceDiscovery: {dns: {hostname: loadtester.test.svc.cluster.local}}
  backends:
    - virtualService: {virtualServiceRef: {name: podinfo}}
    - virtualService: {virtualServiceRef: {name: podinfo-canary}}
"""


def test_what_a_flagger_canary_creates_resolves(tmp_path: Path) -> None:
    (tmp_path / "canary.yaml").write_text(CANARY)
    result = check_in(tmp_path)
    assert "dangling-reference" not in {d.rule for d in result.diagnostics}, golden_lines(result.diagnostics)
    assert sorted(name for _, name in result.model.nodes) == ["loadtester_test", "podinfo-canary_test",
                                                              "podinfo-primary_test"]
    router = result.model.routers[("global", "podinfo_test")]
    assert router.spec.listeners[0].port_mapping.port == 9898
    without = check_in(tmp_path, settings=Settings(select=frozenset({"dangling-reference"})))
    assert without.diagnostics == []
    (tmp_path / "canary.yaml").write_text(CANARY.replace("flagger.app/v1beta1", "example.com/v1"))
    assert "dangling-reference" in {d.rule for d in check_in(tmp_path).diagnostics}  # no Canary, no objects


def test_external_resources_resolve(tmp_path: Path) -> None:
    (tmp_path / "node.yaml").write_text(MESH + """\
---
meshName: shop
virtualNodeName: web
tags: [{key: "meshlint:entry-point", value: "true"}]
spec:
  serviceDiscovery: {dns: {hostname: web.shop.local}}
  backends: [{virtualService: {virtualServiceName: payments.shop.local}}]
""")
    assert "dangling-reference" in {d.rule for d in check_in(tmp_path).diagnostics}
    external = Settings(external=frozenset({("VirtualService", "shop", "payments.shop.local")}))
    assert "dangling-reference" not in {d.rule for d in check_in(tmp_path, settings=external).diagnostics}


def test_kustomize_namespace_is_honoured(tmp_path: Path) -> None:
    (tmp_path / "kustomization.yaml").write_text("namespace: prod\nresources: [mesh.yaml, app/]\n")
    (tmp_path / "mesh.yaml").write_text("apiVersion: appmesh.k8s.aws/v1beta2\nkind: Mesh\nmetadata: {name: m}\n"
                                        "spec: {namespaceSelector: {matchLabels: {mesh: m}}}\n---\napiVersion: v1\n"
                                        "kind: Namespace\nmetadata: {name: prod, labels: {mesh: m}}\n")
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "vs.yaml").write_text(
        "apiVersion: appmesh.k8s.aws/v1beta2\nkind: VirtualService\nmetadata: {name: orders}\n"
        "spec: {provider: {virtualNode: {virtualNodeRef: {name: orders}}}}\n---\n"
        "apiVersion: appmesh.k8s.aws/v1beta2\nkind: VirtualNode\nmetadata: {name: orders}\n"
        "spec:\n  listeners: [{portMapping: {port: 80, protocol: http}}]\n"
        "  serviceDiscovery: {dns: {hostname: orders.prod.svc.cluster.local}}\n")
    result = check_in(tmp_path)
    assert sorted(result.model.services) == [("m", "orders.prod")]
    assert sorted(result.model.nodes) == [("m", "orders_prod")]


def test_a_kubernetes_object_in_a_later_file_is_its_next_version(tmp_path: Path) -> None:
    router = ("apiVersion: appmesh.k8s.aws/v1beta2\nkind: VirtualRouter\nmetadata: {name: jazz, namespace: prod}\n"
              "spec:\n  meshRef: {name: m, uid: x}\n  listeners: [{portMapping: {port: 80, protocol: http}}]\n"
              "  routes: [{name: r, httpRoute: {match: {prefix: /}, action: {weightedTargets: "
              "[{virtualNodeRef: {name: %s}, weight: 1}]}}}]\n")
    (tmp_path / "1_app.yaml").write_text(router % "jazz-v1")
    (tmp_path / "2_canary.yaml").write_text(router % "jazz-v2")
    result = check_in(tmp_path, settings=Settings(select=frozenset({"duplicate-resource"})))
    assert result.diagnostics == []
    route = result.model.routes[("m", "jazz_prod", "r")]
    assert route.spec.http_route.action.weighted_targets[0].virtual_node == "jazz-v2_prod"  # the later apply
    (tmp_path / "2_canary.yaml").write_text(router % "jazz-v2" + "---\n" + router % "jazz-v3")
    assert {d.rule for d in check_in(tmp_path, settings=Settings(
        select=frozenset({"duplicate-resource"}))).diagnostics} == {"duplicate-resource"}  # twice in one file


def test_describe_output_beside_the_definition_is_one_resource(tmp_path: Path) -> None:
    (tmp_path / "mesh.yaml").write_text(MESH)
    (tmp_path / "describe-orders.json").write_text(json.dumps({"virtualNode": {
        "meshName": "shop", "virtualNodeName": "orders", "metadata": {"version": 3}, "status": {"status": "ACTIVE"},
        "spec": {"listeners": [{"portMapping": {"port": 8080, "protocol": "http"}}],
                 "serviceDiscovery": {"dns": {"hostname": "orders.shop.local"}}}}}))
    assert "duplicate-resource" not in {d.rule for d in check_in(tmp_path).diagnostics}
    (tmp_path / "copy.yaml").write_text(MESH.split("---\n")[2])  # a second definition still is one
    assert "duplicate-resource" in {d.rule for d in check_in(tmp_path).diagnostics}


CANARY_STACK = """\
Resources:
  Mesh: {Type: AWS::AppMesh::Mesh, Properties: {MeshName: demo}}
  Route:
    Type: AWS::AppMesh::Route
    Properties:
      MeshName: demo
      VirtualRouterName: color
      RouteName: color-route
      Spec:
        HttpRoute:
          Match: {Prefix: /}
          Action: {WeightedTargets: [{VirtualNode: blue, Weight: 100}]}
"""


def _step(blue: int, green: int) -> str:
    return json.dumps({"meshName": "demo", "virtualRouterName": "color", "routeName": "color-route", "spec": {
        "httpRoute": {"match": {"prefix": "/"}, "action": {"weightedTargets": [
            {"virtualNode": "blue", "weight": blue}, {"virtualNode": "green", "weight": green}]}}}}, indent=2)


def test_update_inputs_of_a_canary_are_versions_each_judged_on_its_own(tmp_path: Path) -> None:
    # subfuzion/enable-appmesh: the route in CloudFormation, then one `aws appmesh update-route
    # --cli-input-json file://...` per step. Not 28 duplicates: each step is the route after that update.
    (tmp_path / "stack.yaml").write_text(CANARY_STACK)
    (tmp_path / "steps").mkdir()
    (tmp_path / "steps" / "1-ten.json").write_text(_step(90, 10))
    (tmp_path / "steps" / "2-half.json").write_text(_step(50, 45))  # a typo: 95
    (tmp_path / "a-rollback.json").write_text(_step(100, 0))  # read before the stack: still an update input
    select = Settings(select=frozenset({"duplicate-resource", "weights-sum", "tcp-zero-weight"}))
    result = check_in(tmp_path, settings=select)
    assert [(d.path, d.rule) for d in result.diagnostics] == [("steps/2-half.json", "weights-sum")]
    assert result.model.routes[("demo", "color", "color-route")].origin.path == "stack.yaml"  # what build uses
    # API-shape YAML is how meshes are written: two files defining one route there is still a duplicate
    (tmp_path / "copy.yaml").write_text(json.dumps(json.loads(_step(90, 10))))
    twice = [(d.path, d.message) for d in check_in(tmp_path, settings=select).diagnostics
             if d.rule == "duplicate-resource"]
    assert twice == [("stack.yaml", "route 'color/color-route' (mesh demo) is defined twice; the first definition "
                                    "is in copy.yaml")]


def test_an_earlier_kubernetes_version_is_judged_too(tmp_path: Path) -> None:
    # The later `kubectl apply` is the object the mesh holds; the earlier manifest is still checked as written.
    router = ("apiVersion: appmesh.k8s.aws/v1beta2\nkind: VirtualRouter\nmetadata: {name: jazz, namespace: prod}\n"
              "spec:\n  meshRef: {name: m, uid: x}\n  listeners: [{portMapping: {port: 80, protocol: http}}]\n"
              "  routes: [{name: r, httpRoute: {match: {prefix: /}, action: {weightedTargets: "
              "[{virtualNodeRef: {name: v1}, weight: %d}, {virtualNodeRef: {name: v2}, weight: %d}]}}}]\n")
    (tmp_path / "1_canary.yaml").write_text(router % (90, 5))
    (tmp_path / "2_done.yaml").write_text(router % (0, 100))
    result = check_in(tmp_path, settings=Settings(select=frozenset({"duplicate-resource", "weights-sum"})))
    assert [(d.path, d.rule) for d in result.diagnostics] == [("1_canary.yaml", "weights-sum")]
    (tmp_path / "1_canary.yaml").write_text("# meshlint: disable=weights-sum -- a step of the walkthrough\n"
                                            + router % (90, 5))
    (tmp_path / "3_again.yaml").write_text(router % (50, 50))
    result = check_in(tmp_path, settings=Settings(select=frozenset({"duplicate-resource", "weights-sum",
                                                                     "unused-suppression", "mesh-not-defined"})))
    # the comment covers its own version, used there, and the missing mesh is said once for all three
    assert [d.rule for d in result.diagnostics] == ["mesh-not-defined"]


def test_an_update_input_beside_describe_output_is_the_definition(tmp_path: Path) -> None:
    # A definition wins over a state, whichever is read first: the update input is what the mesh holds.
    node = {"meshName": "shop", "virtualNodeName": "orders", "spec": {
        "listeners": [{"portMapping": {"port": 8080, "protocol": "http"}}],
        "serviceDiscovery": {"dns": {"hostname": "orders.shop.local"}}}}
    (tmp_path / "a-describe.json").write_text(json.dumps({"virtualNode": {**node, "status": {"status": "ACTIVE"}}}))
    node["spec"]["listeners"][0]["portMapping"]["port"] = 9090  # type: ignore[index]
    (tmp_path / "b-update.json").write_text(json.dumps(node))
    result = check_in(tmp_path, settings=Settings(select=frozenset({"duplicate-resource"})))
    assert result.diagnostics == []
    assert result.model.nodes[("shop", "orders")].origin.path == "b-update.json"
