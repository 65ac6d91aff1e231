"""Terraform input: what a module's expressions evaluate to, what stays unknown (and is said once), where
diagnostics point, plan JSON, suppressions and --fix in .tf files, and the generated field mapping."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from meshlint import api
from meshlint.config import Settings
from meshlint.diagnostics import Severity
from meshlint.fix import plan as fix_plan
from meshlint.load.hcl import parse_hcl
from meshlint.normalize import InputOptions
from tests.helpers import REPO, check_in

NODE = '''
resource "aws_appmesh_virtual_node" "{key}" {{
  name      = {name}
  mesh_name = {mesh}
  spec {{
    listener {{
      port_mapping {{
        port     = {port}
        protocol = "http"
      }}
    }}
    service_discovery {{
      dns {{
        hostname = "{key}.shop.local"
      }}
    }}
  }}
}}
'''


def _write(folder: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return folder


def _check(folder: Path, parameters: dict[str, str] | None = None, rules: set[str] | None = None) -> api.CheckResult:
    settings = Settings(select=frozenset(rules)) if rules else Settings()
    inputs = InputOptions(parameters=parameters or {})
    return api.check([str(folder)], settings, inputs=inputs)


def _spec(result: api.CheckResult, name: str) -> dict[str, object]:
    node = next(n for (_, n_name), n in result.model.nodes.items() if n_name == name)
    return json.loads(json.dumps(node.spec.model_dump(by_alias=True, exclude_none=True)))  # type: ignore[no-any-return]


def test_variables_defaults_tfvars_and_parameters_in_that_order(tmp_path: Path) -> None:
    files = {"vars.tf": 'variable "port" {\n  type = number\n  default = 80\n}\nvariable "mesh" {}\n',
             "node.tf": NODE.format(key="web", name='"web"', mesh="var.mesh", port="var.port")}
    no_values = _check(_write(tmp_path / "a", files))
    ((kind, mesh, name),) = {(d.kind, d.mesh, d.name) for d in no_values.model.declarations}
    assert (kind, name) == ("VirtualNode", "web") and mesh.startswith("${var.mesh} in ")  # a mesh of its module
    unresolved = [d for d in no_values.diagnostics if d.rule == "unresolved-value"]
    assert [(d.line, d.column, d.message) for d in unresolved] == [
        (4, 15, "variable mesh has no default and no value was given")]
    assert unresolved[0].path.endswith("a/node.tf")
    assert _spec(no_values, "web")["listeners"][0]["portMapping"]["port"] == 80  # type: ignore[index]

    tfvars = _check(_write(tmp_path / "b", {**files, "terraform.tfvars": 'mesh = "shop"\nport = "9090"\n'}))
    assert {d.mesh for d in tfvars.model.declarations} == {"shop"}
    assert _spec(tfvars, "web")["listeners"][0]["portMapping"]["port"] == 9090  # type: ignore[index]
    given = _check(tmp_path / "b", {"port": "7070"})
    assert _spec(given, "web")["listeners"][0]["portMapping"]["port"] == 7070  # type: ignore[index]


def test_unknown_values_keep_the_expression_and_are_reported_once_at_the_first_use(tmp_path: Path) -> None:
    files = {"main.tf": 'data "aws_caller_identity" "me" {}\nvariable "env" {}\n'
                        + NODE.format(key="a", name='"a-${var.env}"', mesh="data.aws_caller_identity.me.account_id",
                                      port=8080)
                        + NODE.format(key="b", name='"b-${var.env}"', mesh="data.aws_caller_identity.me.account_id",
                                      port=8080)}
    result = _check(_write(tmp_path, files))
    names = sorted((d.mesh, d.name) for d in result.model.declarations)
    assert [(mesh.split(" in ")[0], name) for mesh, name in names] == [
        ("${data.aws_caller_identity.me.account_id}", "a-${var.env}"),
        ("${data.aws_caller_identity.me.account_id}", "b-${var.env}")]  # a mesh of unknown name: of its module
    found = [(d.line, d.column, d.message) for d in result.diagnostics if d.rule == "unresolved-value"]
    assert found == [(5, 20, "variable env has no default and no value was given"),
                     (6, 15, "data.aws_caller_identity.me.account_id is read from AWS at plan time; meshlint does "
                             "not know it")]


def test_count_for_each_dynamic_locals_functions_and_conditionals(tmp_path: Path) -> None:
    main = '''
locals {
  services = { orders = 8080, users = 9090 }
  prefix   = lower("SHOP")
}
variable "tls" { default = false }
resource "aws_appmesh_virtual_node" "svc" {
  for_each  = local.services
  name      = format("%s-%s", local.prefix, each.key)
  mesh_name = "shop"
  spec {
    listener {
      port_mapping {
        port     = each.value
        protocol = var.tls ? "http2" : "http"
      }
    }
    dynamic "backend" {
      for_each = [for k in keys(local.services) : k if k != each.key]
      content {
        virtual_service {
          virtual_service_name = "${backend.value}.${join(".", ["shop", "local"])}"
        }
      }
    }
    service_discovery {
      dns {
        hostname = lookup({ orders = "o.shop.local" }, each.key, "${each.key}.shop.local")
      }
    }
  }
}
resource "aws_appmesh_virtual_router" "r" {
  count     = 2
  name      = "router-${count.index}"
  mesh_name = "shop"
  spec {
    listener {
      port_mapping {
        port     = element(concat([80], [81]), count.index)
        protocol = coalesce("", "tcp")
      }
    }
  }
}
'''
    result = _check(_write(tmp_path, {"main.tf": main}))
    assert _spec(result, "shop-orders") == {
        "listeners": [{"portMapping": {"port": 8080, "protocol": "http"}}],
        "backends": [{"virtualService": {"virtualServiceName": "users.shop.local"}}],
        "serviceDiscovery": {"dns": {"hostname": "o.shop.local"}}}
    assert _spec(result, "shop-users")["serviceDiscovery"] == {"dns": {"hostname": "users.shop.local"}}
    routers = {name: r.spec.listeners[0].port_mapping.port for (_, name), r in result.model.routers.items()}
    assert routers == {"router-0": 80, "router-1": 81}
    assert not [d for d in result.diagnostics if d.rule in ("unresolved-value", "schema", "parse-error")]


def test_provider_quirks_blocks_zero_values_and_last_union_member(tmp_path: Path) -> None:
    main = '''
resource "aws_appmesh_route" "r" {
  name                = "r"
  mesh_name           = "shop"
  virtual_router_name = "router"
  spec {
    priority = 0
    http_route {
      match {
        prefix = "/"
        port   = 0
        header {
          name = "x"
          match {
            exact  = "a"
            suffix = "b"
          }
        }
      }
      action {
        weighted_target {
          virtual_node = "n"
          weight       = 100
        }
        weighted_target {
          virtual_node = "n"
          weight       = 100
        }
      }
    }
  }
  tags = { team = "a" }
}
'''
    result = _check(_write(tmp_path, {"main.tf": main}))
    route = next(iter(result.model.routes.values()))
    spec = json.loads(json.dumps(route.spec.model_dump(by_alias=True, exclude_none=True)))
    assert "priority" not in spec
    assert spec["httpRoute"]["match"] == {"prefix": "/", "headers": [{"name": "x", "match": {"suffix": "b"}}]}
    assert spec["httpRoute"]["action"]["weightedTargets"] == [{"virtualNode": "n", "weight": 100}]  # a set
    assert dict(route.tags) == {"team": "a"}
    rules = sorted((d.rule, d.line, d.column) for d in result.diagnostics
                   if d.rule.startswith("terraform-"))
    assert rules == [("terraform-union-overwritten", 14, 11), ("terraform-zero-priority", 7, 16)]


def test_local_modules_are_followed_and_remote_ones_reported(tmp_path: Path) -> None:
    files = {
        "main.tf": 'module "nodes" {\n  source = "./modules/node"\n  mesh   = "shop"\n  name   = "web"\n}\n'
                   'module "label" {\n  source = "cloudposse/label/null"\n}\n',
        "modules/node/main.tf": 'variable "mesh" {}\nvariable "name" {}\n'
                                + NODE.format(key="n", name="var.name", mesh="var.mesh", port=8080)
                                + 'output "node" {\n  value = aws_appmesh_virtual_node.n.name\n}\n',
    }
    result = _check(_write(tmp_path, files))
    assert [(d.kind, d.mesh, d.name) for d in result.model.declarations] == [("VirtualNode", "shop", "web")]
    ignored = [(Path(d.path).name, d.line, d.message) for d in result.diagnostics if d.rule == "ignored-input"]
    assert ignored == [("main.tf", 7, 'module label (source "cloudposse/label/null") is not read: it is not a '
                                      "local folder")]
    assert not [d for d in result.diagnostics if d.rule == "unresolved-value"]


def test_a_local_module_folder_with_no_tf_file_is_said_to_be_missing_or_empty(tmp_path: Path) -> None:
    """A git submodule that was not checked out is an empty folder: said as such, not as a folder left out."""
    files = {"main.tf": 'module "acm" {\n  source = "./modules/terraform-aws-acm"\n}\n'
                        + NODE.format(key="n", name='"web"', mesh='"shop"', port=8080)}
    (tmp_path / "modules" / "terraform-aws-acm").mkdir(parents=True)
    result = _check(_write(tmp_path, files))
    (message,) = [d.message for d in result.diagnostics if d.rule == "ignored-input"]
    assert "no .tf file of folder" in message and "modules/terraform-aws-acm" in message
    assert "git submodule" in message


def test_a_tf_file_that_does_not_parse_is_an_error_only_in_a_module_that_declares_app_mesh(tmp_path: Path) -> None:
    """Terraform 0.11 syntax in an example folder beside the mesh module is that module's business (a note); in the
    mesh module's own folder it is an error, since the module's files are read as one."""
    old_syntax = 'module "vpc" {\n  source = "./vpc"\n  providers {\n    "aws" = "aws"\n  }\n}\n'
    files = {"main.tf": NODE.format(key="n", name='"web"', mesh='"shop"', port=8080),
             "example/vpc.tf": old_syntax}
    result = _check(_write(tmp_path, files))
    (noted,) = [d for d in result.diagnostics if d.path.endswith("vpc.tf")]
    assert (noted.rule, noted.severity) == ("ignored-input", Severity.INFO)
    assert noted.message.startswith("a Terraform file of a module that declares no App Mesh resource: not read "
                                    "(not valid HCL")
    (tmp_path / "example" / "vpc.tf").unlink()
    (tmp_path / "variables.tf").write_text(old_syntax)
    assert [d.rule for d in _check(tmp_path).diagnostics if d.path.endswith("variables.tf")] == ["parse-error"]


def test_a_module_argument_is_unknown_only_where_an_app_mesh_value_reads_it(tmp_path: Path) -> None:
    # An IAM policy from a data source handed to a role module is no App Mesh value: nothing to report.
    # The same kind of value as a node's hostname is: reported once, at the call's argument.
    files = {
        "main.tf": 'module "role" {\n  source = "./modules/role"\n  policy = data.aws_iam_policy_document.p.json\n}\n'
                   'module "nodes" {\n  source = "./modules/node"\n  mesh   = "shop"\n'
                   '  host   = data.aws_service_discovery_dns_namespace.ns.name\n}\n',
        "modules/role/main.tf": 'variable "policy" {}\nresource "aws_iam_role_policy" "p" {\n'
                                '  policy = var.policy\n}\n',
        "modules/node/main.tf": 'variable "mesh" {}\nvariable "host" {}\n'
                                + NODE.format(key="n", name='"web"', mesh="var.mesh", port=8080).replace(
                                    '"n.shop.local"', "var.host"),
    }
    result = _check(_write(tmp_path, files))
    assert [(d.kind, d.mesh, d.name) for d in result.model.declarations] == [("VirtualNode", "shop", "web")]
    unknown = [(Path(d.path).name, d.line, d.message) for d in result.diagnostics if d.rule == "unresolved-value"]
    assert unknown == [("main.tf", 8, "data.aws_service_discovery_dns_namespace.ns.name is read from AWS at plan "
                                      "time; meshlint does not know it")]


def test_a_resource_handed_to_a_module_keeps_the_values_of_the_module_that_declares_it(tmp_path: Path) -> None:
    # `app_mesh = aws_appmesh_mesh.current` passes the whole resource; its `name = local.name` is the caller's
    # local, not the called module's own `local.name` (which once gave a mesh named after the node).
    files = {
        "main.tf": 'locals {\n  name = "shop"\n}\nresource "aws_appmesh_mesh" "current" {\n  name = local.name\n}\n'
                   'module "web" {\n  source   = "./modules/node"\n  app_mesh = aws_appmesh_mesh.current\n}\n',
        "modules/node/main.tf": 'variable "app_mesh" {}\nlocals {\n  name = "web"\n}\n'
                                + NODE.format(key="n", name="local.name", mesh="var.app_mesh.name", port=8080),
    }
    result = _check(_write(tmp_path, files))
    assert sorted((d.kind, d.mesh, d.name) for d in result.model.declarations) == [
        ("Mesh", "shop", "shop"), ("VirtualNode", "shop", "web")]
    assert not [d for d in result.diagnostics if d.rule in ("dangling-reference", "unresolved-value")]


def test_id_of_a_mesh_is_its_name_of_anything_else_a_uid(tmp_path: Path) -> None:
    main = ('resource "aws_appmesh_mesh" "m" {\n  name = "shop"\n}\n'
            + NODE.format(key="a", name='"a"', mesh="aws_appmesh_mesh.m.id", port=8080)
            + NODE.format(key="b", name="aws_appmesh_virtual_node.a.id", mesh="aws_appmesh_mesh.m.name", port=8080))
    result = _check(_write(tmp_path, {"main.tf": main}), rules={"terraform-id-as-name"})
    assert sorted((d.mesh, d.name) for d in result.model.declarations if d.kind == "VirtualNode") == [
        ("shop", "${aws_appmesh_virtual_node.a.id}"), ("shop", "a")]
    assert [(d.rule, d.line, d.column) for d in result.diagnostics] == [("terraform-id-as-name", 24, 15)]


def test_diagnostics_point_at_line_and_column_in_the_tf_file(tmp_path: Path) -> None:
    files = {"a.tf": "# header\n" + NODE.format(key="a", name='"a"', mesh='"shop"', port='"http"')}
    result = _check(_write(tmp_path, files), rules={"schema"})
    assert [(Path(d.path).name, d.line, d.column, d.pointer) for d in result.diagnostics] == [
        ("a.tf", 9, 20, "/resource/aws_appmesh_virtual_node/a/0/spec/0/listener/0/port_mapping/0/port")]


def test_syntax_errors_are_parse_errors_and_the_rest_of_the_module_is_read(tmp_path: Path) -> None:
    files = {"bad.tf": 'resource "x" "y" {\n  a = \n}\n', "ok.tf": NODE.format(key="a", name='"a"', mesh='"m"', port=1)}
    result = _check(_write(tmp_path, files))
    errors = [(Path(d.path).name, d.line, d.rule) for d in result.diagnostics if d.rule == "parse-error"]
    assert errors == [("bad.tf", 2, "parse-error")]
    assert [d.name for d in result.model.declarations] == ["a"]


def test_value_span_is_the_literal_exactly(tmp_path: Path) -> None:
    text = 'x = 1\nresource "aws_appmesh_route" "r" {\n  spec {\n    priority = 42\n    tags = ["é", 7]\n  }\n}\n'
    document, error = parse_hcl(text)
    assert document is not None and error is None
    span = document.value_span(["resource", "aws_appmesh_route", "r", "0", "spec", "0", "priority"])
    assert span is not None and text[span[0]:span[1]] == "42"
    span = document.value_span(["resource", "aws_appmesh_route", "r", "0", "spec", "0", "tags", "1"])
    assert span is not None and text[span[0]:span[1]] == "7"
    assert document.value_span(["x", "nothing"]) is None


def test_fix_and_suppressions_work_in_tf_files(tmp_path: Path) -> None:
    route = '''
# meshlint: disable=dangling-reference -- the nodes live in another stack
resource "aws_appmesh_route" "r" {
  name                = "r"
  mesh_name           = "shop"
  virtual_router_name = "router"
  spec {
    http_route {
      match {
        prefix = "/"
      }
      action {
        weighted_target {
          virtual_node = "v1"
          weight       = 3
        }
        weighted_target {
          virtual_node = "v2"
          weight       = 1
        }
      }
    }
  }
}
'''
    folder = _write(tmp_path, {"route.tf": route})
    result = check_in(folder, ["."], Settings(select=frozenset({"weights-sum", "dangling-reference"})))
    assert [(d.rule, d.path, d.line) for d in result.diagnostics] == [("weights-sum", "route.tf", 13)]
    changes, notes = fix_plan(result.diagnostics, result.sources)  # type: ignore[arg-type]
    assert notes == []
    assert [c.path for c in changes] == ["route.tf"]
    assert changes[0].after == route.replace("weight       = 3", "weight       = 75").replace(
        "weight       = 1", "weight       = 25")


def test_plan_json_is_read_with_positions(tmp_path: Path) -> None:
    plan = {"format_version": "1.2", "planned_values": {"root_module": {"child_modules": [{"resources": [{
        "address": "module.m.aws_appmesh_virtual_router.r", "mode": "managed", "type": "aws_appmesh_virtual_router",
        "name": "r", "values": {"name": "r", "mesh_name": "shop", "id": None, "arn": None, "spec": [
            {"listener": [{"port_mapping": [{"port": "80", "protocol": "htp"}]}]}]}}]}]}}}
    (tmp_path / "plan.json").write_text(json.dumps(plan, indent=1))
    result = _check(tmp_path, rules={"schema"})
    assert [(d.kind, d.mesh, d.name) for d in result.model.declarations] == [("VirtualRouter", "shop", "r")]
    assert [(d.line, d.pointer) for d in result.diagnostics] == [
        (25, "/planned_values/root_module/child_modules/0/resources/0/values/spec/0/listener/0/port_mapping/0/protocol")]


def test_generated_mapping_matches_the_provider_schema() -> None:
    from tests.support.shared import SHARED

    schemas = SHARED / "design" / "terraform-schema"
    if not schemas.exists():
        pytest.skip("../shared/design/terraform-schema not present: the mapping drift check skipped")
    done = subprocess.run([sys.executable, str(REPO / "scripts" / "gen_terraform_mapping.py"), "--check",
                           "--schemas", str(schemas)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr


def test_a_whole_spec_written_as_a_dynamic_block_of_unknown_for_each_is_unknown_not_missing(tmp_path: Path) -> None:
    # A wrapper module (one resource per entry of a variable) writes `dynamic "spec"`: the spec is there,
    # its content comes from the module's users.
    main = ('variable "services" {\n  default = [{ name = "web.shop.local", spec = [] }]\n}\n'
            'resource "aws_appmesh_virtual_service" "this" {\n  count     = length(var.services)\n'
            '  name      = var.services[count.index].name\n  mesh_name = "shop"\n'
            '  dynamic "spec" {\n    for_each = var.services[count.index].spec\n    content {}\n  }\n}\n'
            'variable "given" {}\nresource "aws_appmesh_virtual_router" "r" {\n  name      = "r"\n'
            '  mesh_name = "shop"\n  dynamic "spec" {\n    for_each = var.given\n    content {}\n  }\n}\n')
    result = _check(_write(tmp_path, {"main.tf": main}))
    assert not [d.message for d in result.diagnostics if d.rule == "schema"]
    partial = [d.message for d in result.diagnostics if "spec is incomplete" in d.message]
    assert len(partial) == 2, partial
