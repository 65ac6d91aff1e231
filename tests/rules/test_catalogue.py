"""The catalogue in rules/ is data: each entry is bound to an implementation, documented under the fixed
headings, and its examples are executed: *Example* triggers exactly its rule, *Use instead* is clean."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft202012Validator

from meshlint import catalogue
from meshlint.analyze.rules import BUILD_RULES, LOADER_RULES, RULES, SUPPRESSION_RULES
from tests.helpers import REPO, diagnostics_of

ENTRIES = sorted((REPO / "rules").glob("ML*.md"))
FRONT_SCHEMA = Draft202012Validator(json.loads((REPO / "schemas" / "rule.schema.json").read_text()))


def test_every_entry_has_an_implementation_and_back() -> None:
    assert set(catalogue.load()) == set(RULES) | LOADER_RULES | BUILD_RULES | SUPPRESSION_RULES


@pytest.mark.parametrize("path", ENTRIES, ids=lambda p: p.stem)
def test_entry_is_well_formed(path: Path) -> None:
    front = yaml.safe_load(path.read_text().split("---\n")[1])
    errors = [e.message for e in FRONT_SCHEMA.iter_errors(front)]
    assert errors == []
    assert path.stem == f"{front['code']}-{front['slug']}"
    doc = catalogue.parse_entry(path)
    assert list(doc.sections)[: len(catalogue.HEADINGS)] == list(catalogue.HEADINGS)
    assert all(doc.sections[h].strip() for h in catalogue.HEADINGS)


def test_codes_and_slugs_are_unique() -> None:
    docs = list(catalogue.load().values())
    assert len({d.code for d in docs}) == len(docs)
    assert all(re.fullmatch(r"ML\d{3}", d.code) for d in docs)


# Examples whose unknown value other rules still judge until every rule treats `${...}` as unknown (issue #15)
def _write_examples(tmp_path: Path, blocks: list[tuple[str, str]]) -> None:
    for i, (suffix, block) in enumerate(blocks):
        (tmp_path / f"example-{i}{suffix}").write_text(block)


@pytest.mark.parametrize("slug", sorted(catalogue.load()))
def test_example_triggers_exactly_its_rule(slug: str, tmp_path: Path) -> None:
    blocks = catalogue.load()[slug].example_files("Example")
    assert blocks, f"{slug} has no YAML block under Example"
    _write_examples(tmp_path, blocks)
    rules = {d.rule for d in diagnostics_of(tmp_path, slug)}
    assert rules == {slug}


@pytest.mark.parametrize("slug", sorted(catalogue.load()))
def test_use_instead_is_clean_under_all_rules(slug: str, tmp_path: Path) -> None:
    blocks = catalogue.load()[slug].example_files("Use instead")
    assert blocks, f"{slug} has no YAML block under Use instead"
    _write_examples(tmp_path, blocks)
    assert [f"{d.rule}: {d.message}" for d in diagnostics_of(tmp_path, slug)] == []


def test_explain_renders_every_heading(capsys: pytest.CaptureFixture[str]) -> None:
    from typer.testing import CliRunner

    from meshlint.cli import app

    out = CliRunner().invoke(app, ["explain", "ML004"]).output
    for heading in catalogue.HEADINGS:
        assert f"## {heading}" in out
    assert "weights-sum: off" in out


def test_readme_lists_every_rule_with_its_default() -> None:
    readme = (REPO / "README.md").read_text()
    for doc in catalogue.load().values():
        assert f"| {doc.code} | `{doc.slug}` | {doc.severity.label} |" in readme, doc.slug
