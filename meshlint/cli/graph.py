"""`meshlint graph`: draw the mesh topology with check's findings on it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from meshlint.cli import report
from meshlint.cli.options import (
    ConfigOpt,
    EntryOpt,
    EnvFileOpt,
    ExcludeOpt,
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


def graph(
    output: Annotated[Path, typer.Option("--output", "-o", help="File to write: .dot, .svg or .png (by suffix).",
                                         show_default=False)],
    paths: PathsArg = None,
    config: ConfigOpt = None,
    select: SelectOpt = None,
    ignore: IgnoreOpt = None,
    entry_point: EntryOpt = None,
    exclude: ExcludeOpt = None,
    parameter: ParameterOpt = None,
    substitute_env: SubstituteEnvOpt = False,
    env_file: EnvFileOpt = None,
    name_fragment: NameFragmentOpt = None,
    collapse: Annotated[bool, typer.Option("--collapse", help="One box per virtual service (routers and nodes "
                                           "folded in): for meshes too large to draw in full.")] = False,
) -> None:
    """Draw the mesh topology: gateways, services, routers, nodes, TLS of every connection, check's findings.

    .svg and .png need Graphviz's `dot`; without it the DOT is written beside (exit 2). Findings are drawn,
    not reported: exit 0 whenever the picture was written.

    Example: meshlint graph mesh/ -o topology.svg
    """
    import sys

    from meshlint import api
    from meshlint.load.files import UsageError

    fmt = {".dot": "dot", ".gv": "dot", ".svg": "svg", ".png": "png"}.get(output.suffix.lower())
    if fmt is None:
        raise fail(f"{output}: cannot tell the format from {output.suffix or 'no suffix'!r}; use .dot, .svg or .png")
    try:
        found = settings(config, select, ignore, entry_point, paths, exclude)
        result = api.graph(paths or ["."], found, inputs=input_options(parameter, substitute_env, env_file,
                                                                       name_fragment), collapse=collapse)
    except UsageError as err:
        raise fail(str(err)) from None
    _write_graph(result.dot, output, fmt)
    counts = result.check.summary()
    print(f"meshlint: wrote {output} ({counts['errors']} errors, {counts['warnings']} warnings drawn; "
          "`meshlint check` lists them)", file=sys.stderr)
    if report.crashed(result.check):
        raise typer.Exit(report.EXIT_INTERNAL)


def _write_graph(dot: str, output: Path, fmt: str) -> None:
    """Write `dot` or its rendering; without Graphviz write the DOT beside `output` and exit 2 saying how."""
    import shlex

    from meshlint.emit import render

    try:
        content = dot.encode() if fmt == "dot" else render.render(dot, fmt)
        if content is None:
            fallback = output.with_suffix(".dot")
            render.write_file(fallback, dot.encode())
            raise fail(f"Graphviz's `dot` is not installed, so {output} was not drawn; wrote {fallback} instead. "
                       f"To draw it, {render.INSTALL_HINT} and run again, or run: "
                       f"dot -T{fmt} {shlex.quote(str(fallback))} -o {shlex.quote(str(output))}")
        render.write_file(output, content)
    except render.RenderError as err:
        raise fail(f"{output}: {err}; the DOT is written with -o {output.with_suffix('.dot')}") from None
    except OSError as err:
        raise fail(f"cannot write {output}: {err.strerror or err}") from None
