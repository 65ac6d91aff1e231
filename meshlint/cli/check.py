"""`meshlint check`: load, analyse, report; with --fix/--diff the safe fixes, with --baseline the new findings."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from meshlint.cli import report
from meshlint.cli.options import (
    ConfigOpt,
    EntryOpt,
    EnvFileOpt,
    ExcludeOpt,
    FailOn,
    Format,
    FormatOpt,
    IgnoreOpt,
    NameFragmentOpt,
    ParameterOpt,
    PathsArg,
    SelectOpt,
    SubstituteEnvOpt,
    fail,
    input_options,
    settings,
)

if TYPE_CHECKING:
    from meshlint.api import CheckResult
    from meshlint.normalize import InputOptions


def check(
    paths: PathsArg = None,
    format: FormatOpt = Format.text,
    config: ConfigOpt = None,
    select: SelectOpt = None,
    ignore: IgnoreOpt = None,
    fail_on: Annotated[FailOn, typer.Option("--fail-on", help="Lowest severity that fails the run.")] = FailOn.error,
    entry_point: EntryOpt = None,
    exclude: ExcludeOpt = None,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Also report files with no App Mesh resource.")
    ] = False,
    mesh_roots: Annotated[bool, typer.Option(
        "--mesh-roots", help="Treat PATHS as changed files and check the whole mesh of each: its mesh root, the "
        "nearest folder up to the current one holding a meshlint config, else the current folder. The pre-commit "
        "hook uses this, since cross-file rules need the whole mesh.")] = False,
    baseline: Annotated[Path | None, typer.Option(
        "--baseline", metavar="FILE", show_default=False,
        help="Known findings: when FILE does not exist, write every current finding into it and exit 0; when it "
        "does, report (and fail on) only findings not in it. Keyed on rule, resource, JSON Pointer and message, "
        "not on lines.")] = None,
    fix: Annotated[bool, typer.Option("--fix", help="Apply the safe fixes (weights-sum: the same split as "
                                      "percentages), keeping comments and layout; then report what is left.")] = False,
    diff: Annotated[bool, typer.Option("--diff", help="Print the safe fixes as a unified diff and write nothing; "
                                       "exit 1 when there is one.")] = False,
    statistics: Annotated[bool, typer.Option(
        "--statistics", help="Print how many findings each rule made (most first) instead of the findings; "
        "text or json. The exit code is the same.")] = False,
    compile: Annotated[bool, typer.Option(
        "--compile", help="Also run the compiler (the config's build: options; nothing is written) and report "
        "what build would report as not-compilable. Adds about two thirds of a check's time.")] = False,
    parameter: ParameterOpt = None,
    substitute_env: SubstituteEnvOpt = False,
    env_file: EnvFileOpt = None,
    name_fragment: NameFragmentOpt = None,
) -> None:
    """Check App Mesh definitions: schema, references, reachability, weights, TLS, cycles.

    Example: meshlint check mesh/ --format json
    """
    from meshlint.diagnostics import Severity
    from meshlint.load.files import UsageError

    def run() -> CheckResult:
        inputs = input_options(parameter, substitute_env, env_file, name_fragment)
        return _checked(paths, config, select, ignore, entry_point, exclude, verbose, mesh_roots, inputs, compile)

    try:
        result = report.keep_until_exit(run())
        if (fix or diff) and _fixed(result, write=not diff):
            if diff:
                raise typer.Exit(1)
            result = report.keep_until_exit(run())
        elif diff:
            raise typer.Exit(0)
        if baseline is not None:
            result = _baselined(result, baseline)
    except UsageError as err:
        raise fail(str(err)) from None
    print(report.statistics(result, format) if statistics else report.render(result, format), end="")
    if format is Format.github:
        print(report.summary_line(result), file=sys.stderr)
    raise typer.Exit(report.exit_code(result, Severity.parse(fail_on.value)))


def _checked(paths: list[str] | None, config: Path | None, select: str | None, ignore: str | None,
             entry_point: list[str] | None, exclude: list[str] | None, verbose: bool, mesh_roots: bool,
             inputs: InputOptions, compile: bool) -> CheckResult:
    """api.check of PATHS, or with --mesh-roots of the mesh root of each, each with its own config."""
    from meshlint import api, roots

    if not mesh_roots:
        return api.check(paths or ["."], settings(config, select, ignore, entry_point, paths, exclude),
                         verbose=verbose, inputs=inputs, compile=compile)
    found = roots.mesh_roots(paths or ["."], Path.cwd())
    plan = [(roots.display(root), settings(config, select, ignore, entry_point, [roots.display(root)], exclude),
             roots.nested(root, found)) for root in found]
    return api.check_roots(plan, verbose=verbose, inputs=inputs, compile=compile)


def _fixed(result: CheckResult, *, write: bool) -> bool:
    """Apply (or with write=False print as a diff) the safe fixes; True when there was one."""
    from meshlint.fix import plan

    changes, notes = plan(result.diagnostics, result.sources)
    for note in notes:
        print(f"meshlint: {note}", file=sys.stderr)
    for change in changes:
        if not write:
            print(change.diff(), end="")
            continue
        problem = change.write()
        if problem is not None:
            print(f"meshlint: {change.path}: not fixed: {problem}", file=sys.stderr)
            continue
        for what in change.fixes:
            print(f"meshlint: fixed {change.path}: {what}", file=sys.stderr)
    return bool(changes)


def _baselined(result: CheckResult, path: Path) -> CheckResult:
    """--baseline: write it on first use; afterwards keep only the findings it does not know."""
    from dataclasses import replace

    from meshlint import baseline

    if not path.exists():
        baseline.write(path, result.diagnostics)
        count = len(result.diagnostics)
        print(f"meshlint: wrote {path} with {count} known finding{'' if count == 1 else 's'}; from now on only "
              "new findings are reported", file=sys.stderr)
        return replace(result, diagnostics=[])
    filtered = baseline.filter_known(result.diagnostics, baseline.read(path))
    if filtered.known:
        print(f"meshlint: {filtered.known} known finding{'' if filtered.known == 1 else 's'} in {path} not "
              "reported", file=sys.stderr)
    if filtered.gone:
        print(f"meshlint: {filtered.gone} finding{'' if filtered.gone == 1 else 's'} in {path} no longer "
              f"occur{'s' if filtered.gone == 1 else ''}; delete {path} and run again to shrink it",
              file=sys.stderr)
    return replace(result, diagnostics=filtered.new)
