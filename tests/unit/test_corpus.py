"""The users' real input: every file of ../shared/corpus loads and checks without a traceback
(MESHLINT_RAISE=1 turns a crashing rule into a test failure), and each cli-json file gets diagnostics that
name the file."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import pytest

from meshlint import api
from meshlint.normalize import InputOptions
from tests.support.shared import require

CORPUS = require("corpus", "real-corpus tests")


def _manifest() -> list[dict[str, str]]:
    with (CORPUS / "MANIFEST.tsv").open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def _local(row: dict[str, str]) -> Path:
    return CORPUS / row["repo"].replace("/", "__") / row["original_path"]


def test_corpus_is_present() -> None:
    assert len(_manifest()) > 200, "the shared corpus is missing; it lives beside the checkout in ../shared"


def test_whole_corpus_checks_without_a_traceback() -> None:
    result = api.check([str(CORPUS)])
    assert result.files > 150
    assert all(d.line >= 1 and d.column >= 1 for d in result.diagnostics)


CLI_JSON = [row for row in _manifest() if row["format"] == "cli-json"]


@pytest.mark.parametrize("row", CLI_JSON, ids=lambda r: r["original_path"])
def test_cli_json_file_loads(row: dict[str, str]) -> None:
    path = _local(row)
    result = api.check([str(path)])
    for d in result.diagnostics:
        assert d.path.endswith(path.name) or d.resource is not None
    parse_errors = [d for d in result.diagnostics if d.rule == "parse-error"]
    if parse_errors:  # templates with unquoted placeholders: the help names the placeholder
        assert any(d.help and "placeholder" in d.help for d in parse_errors)


# --- every format: how much of what the manifest counts is recognised -------------------------------------

class _Anything(dict[str, str]):
    """Substitution values for any placeholder: the corpus's templates are checked as CI would, rendered."""

    def get(self, key: str, default: object = None) -> str:  # type: ignore[override]
        return "1" if key.isupper() else str(default)  # "1" keeps unquoted JSON placeholders valid JSON


def _expected(row: dict[str, str]) -> Counter[str]:
    counts: Counter[str] = Counter()
    for part in filter(None, row["appmesh_resources_by_kind"].split(";")):
        kind, number = part.split("=")
        counts[kind.removesuffix("(inline)")] += int(number)
    return counts


def _fragment_names(row: dict[str, str], path: Path) -> dict[str, str]:
    """A name for a spec-only CLI fragment, as --name-fragment gives it (the manifest knows its kind)."""
    kinds = list(_expected(row))
    if row["format"] != "cli-json" or len(kinds) != 1:
        return {}
    parent = {"Route": "router/", "GatewayRoute": "gateway/"}.get(kinds[0], "")
    name = "" if kinds[0] == "Mesh" else f"/{parent}{path.stem}"
    return {str(path): f"{kinds[0]}:mesh{name}"}


def test_every_manifest_file_loads_as_named_without_a_traceback() -> None:
    """Named one by one, as a user would, including the *.template files a folder walk skips."""
    for row in _manifest():
        path = _local(row)
        result = api.check([str(path)])
        assert all(d.line >= 1 and d.column >= 1 for d in result.diagnostics)


def test_at_least_95_percent_of_the_manifest_resources_are_in_the_model() -> None:
    """Counted over every row except the legacy v1beta1 CRDs, which get an "unsupported version" note by
    design; the share of all rows is printed too (run with -s)."""
    expected_total = found_total = legacy_total = 0
    for row in _manifest():
        if "k8s-v1beta1" in row["notable_features"]:
            legacy_total += sum(_expected(row).values())
            continue
        path = _local(row)
        inputs = InputOptions(substitutions=_Anything(), fragments=_fragment_names(row, path))
        result = api.check([str(path)], inputs=inputs)
        found = Counter(d.kind for d in result.model.declarations)
        expected = _expected(row)
        expected_total += sum(expected.values())
        found_total += sum(min(n, found[kind]) for kind, n in expected.items())
    share = found_total / expected_total
    overall = found_total / (expected_total + legacy_total)
    print(f"recognised {found_total} of {expected_total} App Mesh resources ({share:.1%}); "
          f"{overall:.1%} counting the {legacy_total} v1beta1 ones")
    assert share >= 0.95


# KNOWN_ISSUES.tsv row (repo, path) -> the rules that report it; issues no rule covers yet are listed
# in KNOWN_UNCOVERED with who takes them.
KNOWN_RULES = {
    "cloudformation-templates/AppMesh-Router-B-config-change.json": {"schema"},  # weight 0: no rule yet
    "manifests/templates/virtualrouter-canary.yml.template": {"template-placeholder"},
    # Its router is declared only in templates/virtualrouter.yml.template, which the repository's pipeline.sh
    # renders and applies: the walk says it left the template out, and the reference resolves to what the
    # template declares (not a dangling reference).
    "manifests/virtualservice.yml": {"ignored-input"},
    "config/samples/appmesh_v1beta2_gatewayroute.yaml": {"schema"},
    "config/samples/appmesh_v1beta2_mesh.yaml": {"schema"},
    "config/samples/appmesh_v1beta2_virtualgateway.yaml": {"schema"},
    "config/samples/appmesh_v1beta2_virtualnode.yaml": {"schema"},
    "config/samples/appmesh_v1beta2_virtualrouter.yaml": {"schema"},
    "config/samples/appmesh_v1beta2_virtualservice.yaml": {"schema"},
    "config/samples/appmesh_v1beta2_backendgroup.yaml": {"ignored-input"},
    "examples/apps/djapp/3_canary_new_version/v2_app.yaml": {"unresolved-value"},
    "walkthroughs/eks-app-mesh-cross-account-acm/mesh/appserver_update.yaml": {"parse-error"},
    "walkthroughs/eks-app-mesh-cross-account-acm/mesh/redis_update.yaml": {"parse-error"},
    "walkthroughs/eks-app-mesh-cross-account-acm/mesh/yelb_db_update.yaml": {"parse-error"},
    "walkthroughs/eks-app-mesh-cross-account-acm/mesh/yelb-ui.yaml": {"unresolved-value"},
    "walkthroughs/howto-k8s-mtls-file-based/v1beta2/manifest.yaml.template": {"missing-tls"},
    "walkthroughs/howto-k8s-tls-acm/v1beta2/manifest.yaml.template": {"missing-tls"},
    "charts/loadtester/templates/appmesh.yaml": {"ignored-input"},  # a Helm template: rendered first
    "charts/loadtester/templates/virtual-node.yaml": {"ignored-input"},
    "manifests/templates/virtualnode.yml.template": {"health-check-timing"},
    "manifests/virtualgateway.yml": {"health-check-timing"},
}
KNOWN_UNCOVERED: set[str] = set()  # known issues no rule reports yet
# Cross-file references, checked together with the repository folder that gives the mesh. Alone, their
# file holds no Mesh: the mesh is unknown (reported once, by unresolved-value), and what an unknown mesh
# holds elsewhere is unknown, never missing.
IN_CONTEXT = {"manifests/virtualservice.yml"}


def _known_issues() -> list[dict[str, str]]:
    with (CORPUS / "KNOWN_ISSUES.tsv").open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


@pytest.mark.parametrize("row", _known_issues() if (CORPUS / "KNOWN_ISSUES.tsv").is_file() else [],
                         ids=lambda r: r["original_path"])
def test_known_issue_is_reported_by_a_fitting_rule(row: dict[str, str]) -> None:
    path = _local(row)
    if row["original_path"] in KNOWN_UNCOVERED:
        pytest.skip("needs the health-check timing rule (issue 9)")
    if row["original_path"] in IN_CONTEXT:
        path = CORPUS / row["repo"].replace("/", "__")
    rules = {d.rule for d in api.check([str(path)]).diagnostics}
    assert KNOWN_RULES[row["original_path"]] <= rules, rules
