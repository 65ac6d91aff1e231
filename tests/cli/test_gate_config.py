"""Config: .meshlint.yaml or [tool.meshlint] in pyproject.toml, found walking up from the checked paths;
per-path ignores, rule options, strict validation with positions (YAML) or key paths (TOML), and the JSON
Schema in schemas/config.schema.json agreeing with the loader."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft202012Validator

from meshlint import catalogue, config
from meshlint.analyze.context import RuleContext
from tests.cli.gate_support import MESH, NODE, run, write
from tests.helpers import REPO

SCHEMA = json.loads((REPO / "schemas" / "config.schema.json").read_text())
FULL = """rules:
  missing-tls: warning
  unreachable-node: off
select: [missing-tls, weights-sum, unreachable-node]
ignore: [routing-cycle]
entry-points: [shop/front]
per-path-ignores:
  "legacy/**": [missing-tls]
options:
  weights-sum: {total: 100}
build:
  tracing: xray
  resolve: [color.shop.local=10.0.0.12]
"""


def test_schema_and_loader_agree_on_the_keys() -> None:
    assert set(SCHEMA["properties"]) == set(config._KEYS)
    assert set(SCHEMA["properties"]["build"]["properties"]) == set(config.BUILD_OPTIONS)
    rule_options = SCHEMA["properties"]["options"]["properties"]
    assert {slug: set(rule_options[slug]["properties"]) for slug in rule_options} == \
        {slug: set(names) for slug, names in config.RULE_OPTIONS.items()}
    Draft202012Validator.check_schema(SCHEMA)


def test_a_full_config_is_valid_for_both(tmp_path: Path) -> None:
    assert list(Draft202012Validator(SCHEMA).iter_errors(yaml.safe_load(FULL))) == []
    path = write(tmp_path, {".meshlint.yaml": FULL}) / ".meshlint.yaml"
    settings = config.load_settings(path, catalogue.load())
    assert settings.options == {"weights-sum": {"total": 100}}
    assert settings.per_path_ignores == (("legacy/**", frozenset({"missing-tls"})),)
    assert RuleContext(None, None, settings).options("weights-sum") == {"total": 100}  # type: ignore[arg-type]
    assert RuleContext(None, None, settings).options("missing-tls") == {}  # type: ignore[arg-type]


@pytest.mark.parametrize(("text", "bad"), [
    ("per-path-ignores: {'legacy/**': [misisng-tls]}\n", "per-path-ignores"),
    ("options: {weights-sum: 3}\n", "options"),
    ("options: {no-such-rule: {}}\n", "options"),
    ("per-path-ignores: [legacy]\n", "per-path-ignores"),
    ("options: {retry-amplification: {max-attempts: 0}}\n", "options"),
    ("options: {retry-amplification: {max-attempts: ten}}\n", "options"),
    ("options: {retry-amplification: {max-attempts: true}}\n", "options"),
    ("options: {retry-amplification: {max-atempts: 5}}\n", "options"),
])
def test_schema_rejects_what_the_loader_rejects(tmp_path: Path, text: str, bad: str) -> None:
    data = yaml.safe_load(text)
    path = write(tmp_path, {".meshlint.yaml": text}) / ".meshlint.yaml"
    with pytest.raises(config.UsageError):
        config.load_settings(path, catalogue.load())
    if "no-such-rule" not in text and "misisng" not in text:  # rule names are the loader's to know
        assert list(Draft202012Validator(SCHEMA).iter_errors(data)) != []


def test_config_is_found_walking_up_from_the_checked_path(tmp_path: Path) -> None:
    write(tmp_path, {"team/.meshlint.yaml": "rules: {missing-tls: off}\n", "team/mesh/a.yaml": f"{MESH}---\n"
                     f"{NODE.format(name='front')}"})
    assert run("check", "team/mesh", cwd=tmp_path).returncode == 0  # cwd has no config; team/ has
    assert run("check", ".", cwd=tmp_path).returncode == 1  # from here up there is none


def test_pyproject_tool_table(tmp_path: Path) -> None:
    write(tmp_path, {"pyproject.toml": "[project]\nname = 'x'\n\n[tool.meshlint]\nignore = ['missing-tls']\n",
                     "mesh/a.yaml": f"{MESH}---\n{NODE.format(name='front')}"})
    assert run("check", "mesh", cwd=tmp_path).returncode == 0
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")  # no [tool.meshlint]: not a config
    assert run("check", "mesh", cwd=tmp_path).returncode == 1


def test_pyproject_errors_name_the_key_path(tmp_path: Path) -> None:
    write(tmp_path, {"pyproject.toml": "[tool.meshlint.rules]\nmissing-tls = 'loud'\n", "a.yaml": MESH})
    proc = run("check", ".", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip() == (f"meshlint: error: {tmp_path / 'pyproject.toml'}: [tool.meshlint] "
                                   "rules.missing-tls: unknown severity 'loud' (use error, warning or info); or off")
    (tmp_path / "pyproject.toml").write_text("[tool.meshlint]\nper-path-ignores = {'x/**' = ['wieghts-sum']}\n")
    proc = run("check", ".", cwd=tmp_path)
    assert proc.stderr.strip().endswith("[tool.meshlint] per-path-ignores.x/**.0: unknown rule 'wieghts-sum'; "
                                        "did you mean 'weights-sum'?")


def test_yaml_errors_name_line_and_column(tmp_path: Path) -> None:
    write(tmp_path, {".meshlint.yaml": "options:\n  weights-sum: 3\n", "a.yaml": MESH})
    proc = run("check", ".", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip() == f"meshlint: error: {tmp_path / '.meshlint.yaml'}:2:16: options of weights-sum " \
                                  "must be a mapping"


def test_rule_options_are_checked_with_positions(tmp_path: Path) -> None:
    write(tmp_path, {".meshlint.yaml": "options:\n  retry-amplification:\n    max-atempts: 5\n", "a.yaml": MESH})
    proc = run("check", ".", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip() == f"meshlint: error: {tmp_path / '.meshlint.yaml'}:3:5: unknown option " \
                                  "'max-atempts' of retry-amplification; did you mean 'max-attempts'?"
    (tmp_path / ".meshlint.yaml").write_text("options:\n  retry-amplification: {max-attempts: 4}\n")
    assert config.load_settings(tmp_path / ".meshlint.yaml", catalogue.load()).options == {
        "retry-amplification": {"max-attempts": 4}}


def test_per_path_ignores_are_relative_to_the_config(tmp_path: Path) -> None:
    node = NODE.format(name="front")
    write(tmp_path, {"repo/.meshlint.yaml": "per-path-ignores:\n  'legacy/**': [missing-tls]\n",
                     "repo/legacy/old/a.yaml": f"{MESH}---\n{node}", "repo/new/b.yaml": NODE.format(name="back")})
    proc = run("check", "repo", "--format", "json", cwd=tmp_path)
    found = {(d["path"], d["rule"]) for d in json.loads(proc.stdout)["diagnostics"]}
    assert found == {("repo/new/b.yaml", "missing-tls")}


@pytest.mark.parametrize(("pattern", "path", "hit"), [
    ("legacy/**", "legacy/a.yaml", True), ("legacy/**", "legacy/x/y/a.yaml", True),
    ("legacy/**", "new/legacy/a.yaml", False), ("**/old.yaml", "a/b/old.yaml", True), ("**/old.yaml", "old.yaml", True),
    ("*.json", "a.json", True), ("*.json", "x/a.json", False), ("legacy", "legacy/a.yaml", True),
])
def test_glob(pattern: str, path: str, hit: bool) -> None:
    assert config._glob_match(pattern, path) is hit
