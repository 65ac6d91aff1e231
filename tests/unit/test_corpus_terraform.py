"""The Terraform corpus (../shared/corpus-terraform: real modules from public repositories) loads without a
traceback, at least 95% of its App Mesh resource blocks (MANIFEST.tsv) reach the model, and every known issue
(KNOWN_ISSUES.tsv) that a rule can see is reported by that rule."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest

from meshlint import api
from tests.helpers import check_in
from tests.support.shared import require

CORPUS = require("corpus-terraform", "the Terraform corpus tests")
FOLDERS = sorted(p.name for p in CORPUS.iterdir() if p.is_dir())


def _manifest() -> dict[str, int]:
    """Blocks per folder, as the manifest counts them."""
    blocks: dict[str, int] = {}
    with (CORPUS / "MANIFEST.tsv").open() as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            folder = row["repo"].replace("/", "__")
            kinds = row["appmesh_resources_by_kind"]
            count = 0 if kinds == "-" else sum(int(part.split("=")[1]) for part in kinds.split(";"))
            blocks[folder] = blocks.get(folder, 0) + count
    return blocks


def _blocks_in_model(result: api.CheckResult) -> set[tuple[str, str, str]]:
    """(file, resource type, resource name) of every block that declared at least one resource."""
    found = set()
    for declaration in result.model.declarations:
        unit = result.sources[declaration.origin.path]
        path = unit.file_for(declaration.origin.doc, declaration.name_pointer)  # type: ignore[attr-defined]
        pointer = result.sources[path].original_pointer(0, declaration.name_pointer)  # type: ignore[attr-defined]
        match = re.match(r"/resource/([^/]+)/([^/]+)/", pointer)
        assert match is not None, pointer
        found.add((path, match.group(1), match.group(2)))
    return found


@pytest.fixture(scope="module")
def results() -> dict[str, api.CheckResult]:
    return {folder: check_in(CORPUS, [folder]) for folder in FOLDERS}


def test_every_file_loads_and_95_percent_of_the_blocks_are_in_the_model(results: dict[str, api.CheckResult]) -> None:
    expected = _manifest()
    assert set(expected) == set(FOLDERS)
    in_model = {folder: len(_blocks_in_model(result)) for folder, result in results.items()}
    for folder, result in results.items():
        assert not [d for d in result.diagnostics if d.rule in ("parse-error", "internal-error")], folder
        assert in_model[folder] <= expected[folder]
    assert sum(in_model.values()) / sum(expected.values()) >= 0.95, in_model


# KNOWN_ISSUES.tsv row -> (rule, file, line) that reports it, or why no rule can see it offline.
SEEN = {
    ("jedipunkz/tf-appmesh-ecs-canary-release", "appmesh.tf", "42"): ("service-name-not-fqdn", "appmesh.tf", 42),
    ("bitflight-public/terraform-aws-app-mesh", "virtual_route.tf", "29"): ("schema", "virtual_route.tf", 29),
    # the placeholder "" of example.tfvars reaches the names of main.tf, where they are used
    ("launchbynttdata/tf-aws-module_primitive-appmesh_gateway_route", "example.tfvars", "1"): ("schema", "main.tf", 14),
}
UNSEEN = {
    ("toluna-terraform/terraform-aws-ecs-appmesh-DEPRECATED", "main.tf", "201"):
        "var.env_name and var.app_mesh_name have no default: which mesh each names is unknown",
    ("toluna-terraform/terraform-aws-ecs-appmesh-DEPRECATED", "main.tf", "242"):
        "the target names hold var.env_name, which has no default: unknown, so not a dangling reference",
    ("bitflight-public/terraform-aws-app-mesh", "virtual_node.tf", "31"):
        "the backends come from var.virtual_backend_nodes, empty by default: their count is unknown",
}


def test_every_known_issue_a_rule_can_see_is_reported(results: dict[str, api.CheckResult]) -> None:
    with (CORPUS / "KNOWN_ISSUES.tsv").open() as handle:
        rows = [(r["repo"], r["path"], r["line"]) for r in csv.DictReader(handle, delimiter="\t")]
    assert set(rows) == set(SEEN) | set(UNSEEN)
    for (repo, _, _), (rule, path, line) in SEEN.items():
        folder = repo.replace("/", "__")
        reported = {(d.rule, Path(d.path).name, d.line) for d in results[folder].diagnostics}
        assert (rule, path, line) in reported, (repo, sorted(reported))
