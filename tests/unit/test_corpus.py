"""The users' real input: every file of ../shared/corpus loads and checks without a traceback
(MESHLINT_RAISE=1 turns a crashing rule into a test failure), and each cli-json file gets diagnostics that
name the file."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import pytest

from meshlint import api
from tests.helpers import REPO

CORPUS = Path(os.environ.get("MESHLINT_CORPUS", REPO.parent / "shared" / "corpus"))


def _manifest() -> list[dict[str, str]]:
    if not (CORPUS / "MANIFEST.tsv").is_file():
        return []  # test_corpus_is_present fails loudly
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
