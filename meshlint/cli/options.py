"""What the commands share: option types, turning options into Settings and InputOptions, usage errors."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from meshlint.config import Settings
    from meshlint.normalize import InputOptions


class Format(StrEnum):
    text = "text"
    json = "json"
    sarif = "sarif"
    github = "github"


class FailOn(StrEnum):
    error = "error"
    warning = "warning"
    info = "info"


PathsArg = Annotated[
    list[str] | None,
    typer.Argument(help="Files or folders (walked for *.yaml, *.yml, *.json); '-' reads stdin. "
                   "Default: the current folder.", show_default=False),
]
FormatOpt = Annotated[Format, typer.Option("--format", "-f", help="Report format.")]
ConfigOpt = Annotated[
    Path | None,
    typer.Option("--config", help="Config file. Default: the nearest .meshlint.yaml from the current folder up."),
]
SelectOpt = Annotated[str | None, typer.Option("--select", help="Run only these rules (comma-separated slugs).")]
IgnoreOpt = Annotated[str | None, typer.Option("--ignore", help="Never report these rules (comma-separated).")]
EntryOpt = Annotated[
    list[str] | None,
    typer.Option("--entry-point", help="A virtual node fed from outside the mesh, as MESH/NODE (repeatable).",
                 show_default=False),
]
ExcludeOpt = Annotated[list[str] | None, typer.Option(
    "--exclude", metavar="GLOB", show_default=False,
    help="Leave out of folder walks what this gitignore-style glob matches, relative to the current folder "
    "(repeatable; adds to the config's exclude:). node_modules, vendor, virtualenvs, hidden folders and "
    "build output are always left out; files named on the command line are always read.")]
VerboseOpt = Annotated[bool, typer.Option("--verbose", "-v", help="Also report files with no App Mesh resource.")]
ParameterOpt = Annotated[list[str] | None, typer.Option(
    "--parameter", metavar="KEY=VALUE", show_default=False,
    help="A CloudFormation parameter value (repeatable); wins over the parameter's Default.")]
SubstituteEnvOpt = Annotated[bool, typer.Option(
    "--substitute-env", help="Fill ${VAR}, $VAR and {{ VAR }} placeholders from the environment before "
    "checking, like envsubst; unknown ones are kept and reported.")]
EnvFileOpt = Annotated[list[Path] | None, typer.Option(
    "--env-file", metavar="FILE", show_default=False,
    help="Fill placeholders from KEY=VALUE lines (repeatable; wins over --substitute-env).")]
NameFragmentOpt = Annotated[list[str] | None, typer.Option(
    "--name-fragment", metavar="PATH=KIND:MESH/NAME", show_default=False,
    help="Name a spec-only AWS CLI --cli-input-json file (repeatable), e.g. vn.json=VirtualNode:shop/web; "
    "routes: Route:MESH/ROUTER/NAME.")]


def fail(message: str) -> typer.Exit:
    """Print a usage error and return the exit (code 2) for the caller to raise."""
    print(f"meshlint: error: {message}", file=sys.stderr)
    return typer.Exit(2)


def input_options(parameter: list[str] | None, substitute_env: bool, env_file: list[Path] | None,
                  name_fragment: list[str] | None) -> InputOptions:
    """InputOptions from the input flags; a malformed one is a UsageError."""
    import os

    from meshlint.load.files import UsageError
    from meshlint.normalize import InputOptions, parse_fragment_name
    from meshlint.normalize.templates import read_env_file

    substitutions: dict[str, str] | None = dict(os.environ) if substitute_env else None
    for path in env_file or []:
        try:
            substitutions = {**(substitutions or {}), **read_env_file(path)}
        except (OSError, ValueError) as err:
            raise UsageError(f"--env-file {err}") from None
    fragments = key_values("--name-fragment", name_fragment)
    for text in fragments.values():
        try:
            parse_fragment_name(text)
        except ValueError as err:
            raise UsageError(f"--name-fragment {err}") from None
    return InputOptions(key_values("--parameter", parameter), substitutions, fragments)


def key_values(flag: str, values: list[str] | None) -> dict[str, str]:
    """Repeated KEY=VALUE flags as a mapping; a malformed one is a UsageError."""
    from meshlint.load.files import UsageError

    out = {}
    for item in values or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UsageError(f"{flag} {item!r}: expected KEY=VALUE")
        out[key] = value
    return out


def settings(config: Path | None, select: str | None, ignore: str | None, entry_points: list[str] | None,
             paths: list[str] | None = None, exclude: list[str] | None = None) -> Settings:
    """The config file (given, or the nearest one to the checked paths) with the rule flags on top."""
    from dataclasses import replace

    from meshlint import catalogue
    from meshlint.config import find_config_for, load_settings, parse_rule_names

    known = list(catalogue.load())
    if config is not None and not config.exists():
        raise fail(f"{config}: config file not found")
    path = config or find_config_for(paths or ["."])
    selected = parse_rule_names(select, known)
    if select is not None and not selected:
        raise fail(f"--select {select!r} names no rule; leave it out to run every rule")
    found = load_settings(path, known).with_cli(selected, parse_rule_names(ignore, known))
    for slug in found.silenced():
        print(f"meshlint: note: {slug} is switched off (ignore or off): input it would report passes without "
              "a word", file=sys.stderr)
    if entry_points:
        found = replace(found, entry_points=found.entry_points | frozenset(entry_points))
    if exclude:
        found = replace(found, cli_exclude=(*found.cli_exclude, *exclude))
    return found
