"""The command line under hostile input and a hostile environment: a crash is exit 3 and one line, never a
finding; config, baseline and env files are bounded regular files; an empty selection is an error; every
format is written as UTF-8 whatever the locale."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from meshlint import __version__
from meshlint.analyze import rules as rule_registry
from meshlint.cli import app
from tests.cli.gate_support import MESH, NODE, run, write

BROKEN = "meshName: [shop\n"


# --- a crash is not a finding: exit 3 ---------------------------------------------------------------------------
def _crashing(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    write(tmp_path, {"m.yaml": MESH})
    code = ("import sys; from meshlint import api\n"
            "def boom(*a, **k): raise KeyError('the bug')\n"
            "api.check = boom\n"
            "from meshlint.cli import main\n"
            f"sys.argv = ['meshlint', 'check', 'm.yaml', *{list(args)!r}]\n"
            "main()\n")
    return subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=60)


def test_an_unexpected_exception_is_one_line_and_exit_3(tmp_path: Path) -> None:
    proc = _crashing(tmp_path)
    assert proc.returncode == 3
    assert proc.stderr == (f"meshlint: internal error in meshlint {__version__}: KeyError: 'the bug'; please report "
                           "it, with the command and the input that trigger it (--verbose shows the traceback)\n")
    assert proc.stdout == ""


def test_verbose_shows_the_traceback(tmp_path: Path) -> None:
    proc = _crashing(tmp_path, "--verbose")
    assert proc.returncode == 3
    assert "Traceback (most recent call last)" in proc.stderr
    assert proc.stderr.splitlines()[-1].startswith(f"meshlint: internal error in meshlint {__version__}: KeyError")


def test_a_rule_that_crashed_makes_the_run_exit_3(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MESHLINT_RAISE")  # the crash becomes the engine's internal-error diagnostic (ML000)

    def broken(ctx: object) -> list[object]:
        raise ZeroDivisionError("division by zero")

    monkeypatch.setitem(rule_registry.RULES, "weights-sum", broken)
    write(tmp_path, {"m.yaml": f"{MESH}---\n{NODE.format(name='front')}"})
    monkeypatch.chdir(tmp_path)
    for command in (["check", "m.yaml"], ["check", "m.yaml", "--format", "json"],
                    ["build", "m.yaml", "--out", str(tmp_path / "out")]):
        result = CliRunner().invoke(app, command)
        assert result.exit_code == 3, (command, result.output)
        assert "rule weights-sum crashed: ZeroDivisionError: division by zero" in result.output
    for command in (["graph", "m.yaml", "-o", str(tmp_path / "g.dot")],
                    ["trace", "m.yaml", "--from", "front", "--url", "http://elsewhere.shop.local:8080/"]):
        result = CliRunner().invoke(app, command)
        assert result.exit_code == 3, (command, result.output)


# --- reports are UTF-8 whatever the locale -----------------------------------------------------------------------
@pytest.mark.parametrize("fmt", ["text", "json", "sarif", "github"])
def test_every_format_is_utf8_under_an_ascii_locale(tmp_path: Path, fmt: str) -> None:
    write(tmp_path, {"m.yaml": "meshName: café\nvirtualNodeName: naïve—node\nspec: {}\n",
                     "s.json": '{"meshName": "m\\ud800", "virtualNodeName": "n", "spec": {}}\n'})
    env = {**os.environ, "PYTHONIOENCODING": "ascii", "LANG": "C", "LC_ALL": "C"}
    proc = subprocess.run([sys.executable, "-m", "meshlint", "check", ".", "--format", fmt, "--fail-on", "warning"],
                          cwd=tmp_path, env=env, capture_output=True, timeout=60)
    assert proc.returncode == 1, proc.stderr.decode("utf-8", "replace")  # the meshes are not defined
    out = proc.stdout.decode("utf-8")  # strict: valid UTF-8
    assert "café" in out or "caf\\u00e9" in out
    assert "\\ud800" in out  # a lone surrogate is escaped, never a crash
    if fmt in ("json", "sarif"):
        json.loads(out)


# --- config, baseline and env files: bounded regular files, any shape refused cleanly -----------------------------
def _usage_error(proc: subprocess.CompletedProcess[str], message: str) -> None:
    assert proc.returncode == 2, proc.stderr
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("option", ["--config", "--baseline", "--env-file"])
def test_dev_zero_and_a_fifo_are_never_read_as_options_files(tmp_path: Path, option: str) -> None:
    write(tmp_path, {"m.yaml": MESH})
    os.mkfifo(tmp_path / "pipe")
    what = {"--config": "config", "--baseline": "baseline", "--env-file": "env file"}[option]
    _usage_error(run("check", "m.yaml", option, "/dev/zero", cwd=tmp_path),
                 f"/dev/zero: cannot read {what}: a character device, not a regular file")
    _usage_error(run("check", "m.yaml", option, "pipe", cwd=tmp_path),
                 f"pipe: cannot read {what}: a named pipe (FIFO), not a regular file")


@pytest.mark.parametrize(("option", "message"), [
    ("--config", "big: cannot read config: 300.0 MiB, over the 4.0 MiB limit"),
    ("--baseline", "big: cannot read baseline: 300.0 MiB, over the 64.0 MiB limit"),
    ("--env-file", "big: cannot read env file: 300.0 MiB, over the 64.0 MiB limit"),
])
def test_options_files_are_bounded_before_a_byte_is_read(tmp_path: Path, option: str, message: str) -> None:
    """A 300 MiB file (sparse: it costs no disk) is refused by its size, not read into memory first."""
    write(tmp_path, {"m.yaml": MESH})
    with open(tmp_path / "big", "wb") as big:
        big.truncate(300 * 1024 * 1024)
    _usage_error(run("check", "m.yaml", option, "big", cwd=tmp_path), message)


@pytest.mark.parametrize(("pyproject", "message"), [
    ("[tool]\nmeshlint = 5\n", "[tool.meshlint]: config must be a mapping"),
    ("[tool]\nmeshlint = 'x'\n", "[tool.meshlint]: config must be a mapping"),
    ("[tool]\nmeshlint = [1, 2]\n", "[tool.meshlint]: config must be a mapping"),
    ("[tool.meshlint.options.retry-amplification]\nmax-attempts = " + "9" * 5000 + "\n",
     "pyproject.toml: not valid TOML: Exceeds the limit (4300 digits) for integer string conversion"),
    ("[tool.meshlint]\nselect = []\n", "select is empty: no rule would run; remove it to run every rule"),
], ids=["meshlint-int", "meshlint-str", "meshlint-list", "toml-5000-digits", "select-empty"])
def test_hostile_pyproject(tmp_path: Path, pyproject: str, message: str) -> None:
    write(tmp_path, {"pyproject.toml": pyproject, "m.yaml": MESH})
    _usage_error(run("check", "m.yaml", cwd=tmp_path), message)


def test_a_pyproject_whose_tool_is_not_a_table(tmp_path: Path) -> None:
    """Found on the way up, it is not a meshlint config (it has no [tool.meshlint]); named, it is refused."""
    write(tmp_path, {"pyproject.toml": "tool = 5\n", "m.yaml": MESH})
    found = run("check", "m.yaml", cwd=tmp_path)
    assert (found.returncode, found.stderr) == (0, "")
    _usage_error(run("check", "m.yaml", "--config", "pyproject.toml", cwd=tmp_path),
                 "pyproject.toml: [tool] must be a table")


@pytest.mark.parametrize(("config", "message"), [
    ("options:\n  retry-amplification:\n    max-attempts: " + "9" * 5000 + "\n",
     "c.yaml:3:19: a number of 5,000 digits is out of range (App Mesh integers are 64-bit: at most 20 digits)"),
    ("options:\n  retry-amplification:\n    max-attempts: !!int many\n", "c.yaml:3:19: 'many' is not an integer"),
    ("select: []\n", "c.yaml:1:9: select is empty: no rule would run; remove it to run every rule"),
], ids=["5000-digits", "int-tag-on-text", "select-empty"])
def test_hostile_config(tmp_path: Path, config: str, message: str) -> None:
    write(tmp_path, {"c.yaml": config, "m.yaml": MESH})
    _usage_error(run("check", "m.yaml", "--config", "c.yaml", cwd=tmp_path), message)


@pytest.mark.parametrize("baseline", ["[]", "5", '"text"', "null", "[" * 100_000 + "]" * 100_000,
                                      '{"version": ' + "1" * 5000 + "}", '{"version": 1, "findings": {}}'],
                         ids=["list", "int", "string", "null", "deep", "5000-digits", "findings-not-a-list"])
def test_hostile_baseline(tmp_path: Path, baseline: str) -> None:
    write(tmp_path, {"known.json": baseline, "m.yaml": MESH})
    _usage_error(run("check", "m.yaml", "--baseline", "known.json", cwd=tmp_path),
                 "known.json: not a meshlint baseline (version 1 with a findings list)")


# --- an empty selection is an error; parse-error and schema are never selected away -------------------------------
def test_select_naming_no_rule_is_a_usage_error(tmp_path: Path) -> None:
    write(tmp_path, {"m.yaml": MESH})
    _usage_error(run("check", "m.yaml", "--select", ",", cwd=tmp_path), "--select ',' names no rule")


def test_a_file_that_does_not_parse_fails_whatever_select_says(tmp_path: Path) -> None:
    write(tmp_path, {"broken.yaml": BROKEN, ".meshlint.yaml": "select: [weights-sum]\n"})
    proc = run("check", ".", "--format", "json", cwd=tmp_path)
    assert proc.returncode == 1
    assert [d["rule"] for d in json.loads(proc.stdout)["diagnostics"]] == ["parse-error"]


def test_switching_parse_error_off_is_said_on_every_run(tmp_path: Path) -> None:
    write(tmp_path, {"broken.yaml": BROKEN, "m.yaml": f"{MESH}---\n{NODE.format(name='front')}"})
    proc = run("check", ".", "--ignore", "parse-error", "--select", "weights-sum", cwd=tmp_path)
    assert proc.returncode == 0
    assert "meshlint: note: parse-error is switched off (ignore or off): input it would report passes without a " \
           "word" in proc.stderr


@pytest.mark.parametrize(("config", "args"), [(None, ["--ignore", "schema"]), ("rules: {schema: off}\n", [])],
                         ids=["ignore", "config-off"])
def test_switching_schema_off_is_said_on_every_run(tmp_path: Path, config: str | None, args: list[str]) -> None:
    write(tmp_path, {"m.yaml": "meshName: shop\nspec: {bogus: 1}\n", **({".meshlint.yaml": config} if config else {})})
    proc = run("check", "m.yaml", *args, cwd=tmp_path)
    assert (proc.returncode, proc.stderr) == (0, "meshlint: note: schema is switched off (ignore or off): input it "
                                                 "would report passes without a word\n")


def test_select_never_selects_schema_away(tmp_path: Path) -> None:
    write(tmp_path, {"m.yaml": "meshName: shop\nspec: {bogus: 1}\n"})
    proc = run("check", "m.yaml", "--select", "weights-sum", "--format", "json", cwd=tmp_path)
    assert proc.returncode == 1
    assert [d["rule"] for d in json.loads(proc.stdout)["diagnostics"]] == ["schema"]
    assert proc.stderr == ""
