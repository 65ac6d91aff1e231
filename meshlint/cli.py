"""The command line: options in, an `api` call, a reporter, an exit code out.

Exit codes: 0 nothing at or above --fail-on; 1 there is; 2 usage error (bad option, missing path,
unreadable config). Heavy modules are imported inside the commands so `--help` stays instant.
"""

from __future__ import annotations

import os
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(
    name="meshlint",
    help="Lint AWS App Mesh definitions and compile them into static Envoy bootstraps, offline.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)


class Format(StrEnum):
    text = "text"
    json = "json"


class FailOn(StrEnum):
    error = "error"
    warning = "warning"
    info = "info"


PathsArg = Annotated[
    list[str] | None,
    typer.Argument(help="Files or folders (walked for *.yaml, *.yml, *.json); '-' reads stdin. "
                   "Default: the current folder.", show_default=False),
]
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


def _fail(message: str) -> typer.Exit:
    print(f"meshlint: error: {message}", file=sys.stderr)
    return typer.Exit(2)


def _settings(config: Path | None, select: str | None, ignore: str | None, entry_points: list[str] | None):  # type: ignore[no-untyped-def]
    from dataclasses import replace

    from meshlint import catalogue
    from meshlint.config import find_config, load_settings, parse_rule_names

    known = list(catalogue.load())
    if config is not None and not config.is_file():
        raise _fail(f"{config}: config file not found")
    path = config or find_config(Path.cwd())
    settings = load_settings(path, known).with_cli(parse_rule_names(select, known), parse_rule_names(ignore, known))
    if entry_points:
        settings = replace(settings, entry_points=settings.entry_points | frozenset(entry_points))
    return settings


@app.command()
def check(
    paths: PathsArg = None,
    format: Annotated[Format, typer.Option("--format", "-f", help="Report format.")] = Format.text,
    config: ConfigOpt = None,
    select: SelectOpt = None,
    ignore: IgnoreOpt = None,
    fail_on: Annotated[FailOn, typer.Option("--fail-on", help="Lowest severity that fails the run.")] = FailOn.error,
    entry_point: EntryOpt = None,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Also report files with no App Mesh resource.")
    ] = False,
) -> None:
    """Check App Mesh definitions: schema, references, reachability, weights, TLS, cycles.

    Example: meshlint check mesh/ --format json
    """
    from meshlint import api
    from meshlint.diagnostics import Severity
    from meshlint.load.files import UsageError

    try:
        settings = _settings(config, select, ignore, entry_point)
        result = api.check(paths or ["."], settings, verbose=verbose)
    except UsageError as err:
        raise _fail(str(err)) from None
    print(_report(result, format), end="")
    raise typer.Exit(1 if result.failed(Severity.parse(fail_on.value)) else 0)


def _report(result: object, fmt: Format) -> str:
    from meshlint.api import CheckResult

    assert isinstance(result, CheckResult)
    if fmt is Format.json:
        from meshlint.emit import json_report

        return json_report.render(result.diagnostics, result.summary())
    from meshlint.emit import text

    colour = sys.stdout.isatty() and "NO_COLOR" not in os.environ

    def lines_of(path: str) -> list[str]:
        source = result.sources.get(path)
        return source.lines() if source is not None else []  # type: ignore[attr-defined]

    return text.render(result.diagnostics, result.summary(), lines_of, colour)


@app.command()
def rules() -> None:
    """List every rule: code, slug, default severity and summary."""
    from meshlint import catalogue

    for doc in catalogue.load().values():
        print(f"{doc.code}  {doc.slug:<22} {doc.severity.label:<8} {doc.summary}")


@app.command()
def explain(rule: Annotated[str, typer.Argument(help="A rule slug (weights-sum) or code (ML004).")]) -> None:
    """Show a rule's documentation: what it does, why, a bad and a fixed example, how to configure it."""
    from meshlint import catalogue

    doc = catalogue.lookup(rule)
    if doc is None:
        import difflib

        close = difflib.get_close_matches(rule, list(catalogue.load()), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else "; see `meshlint rules`"
        raise _fail(f"unknown rule {rule!r}{hint}")
    print(f"{doc.code} {doc.slug} ({doc.severity.label} by default, {doc.lifecycle})\n")
    print(f"{doc.summary}\n")
    for heading, body in doc.sections.items():
        print(f"## {heading}\n\n{body}\n")
    print("## Suppressing it\n")
    print(f"Switch it off or change its level in .meshlint.yaml:\n\n    rules:\n      {doc.slug}: off\n")
    print(f"or for one run: meshlint check --ignore {doc.slug}\n")
    if doc.references:
        print("## References\n")
        for ref in doc.references:
            print(f"- {ref}")


def main() -> None:
    app()
