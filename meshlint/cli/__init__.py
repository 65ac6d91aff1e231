"""The command line: options in, an `api` call, a reporter, an exit code out.

One module per command (check, build, graph, trace, rules/explain); the options they share live in
`options`, the report renderers' dispatch in `report`. Exit codes: 0 nothing at or above --fail-on; 1 there is;
2 usage error (bad option, missing path, unreadable config); 3 meshlint itself failed (a crash, or a rule
that crashed: the findings are incomplete). Heavy modules are imported inside the commands so `--help`
stays instant.
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import io
import os
import sys
from typing import Annotated

import typer

from meshlint.cli import report

# Each command and the module that holds it. A run builds only the command it was asked for (argument
# parsing costs about as much per command as importing it), so the pre-commit hook pays for `check` alone.
COMMANDS = {"check": "check", "build": "build", "rules": "catalogue", "explain": "catalogue", "graph": "graph",
            "trace": "trace"}


def _version(value: bool) -> None:
    if value:
        from meshlint import __version__

        print(f"meshlint {__version__}")
        raise typer.Exit(0)


def _options(version: Annotated[bool, typer.Option(
        "--version", help="Print the version and exit.", callback=_version, is_eager=True)] = False) -> None:
    """Lint AWS App Mesh definitions and compile them into static Envoy bootstraps, offline."""


def make_app(only: str | None = None) -> typer.Typer:
    """The CLI with every command, or with the one named `only`."""
    app = typer.Typer(
        name="meshlint",
        help="Lint AWS App Mesh definitions and compile them into static Envoy bootstraps, offline.",
        no_args_is_help=True,
        add_completion=False,
        rich_markup_mode=None,
        pretty_exceptions_enable=False,
    )
    app.callback()(_options)
    for name, module in COMMANDS.items():
        if only is None or name == only:
            app.command(name)(getattr(importlib.import_module(f"meshlint.cli.{module}"), name))
    return app


def __getattr__(name: str) -> typer.Typer:
    """`meshlint.cli.app`: the whole CLI (for typer's test runner and for embedding)."""
    if name == "app":
        return make_app()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def main() -> None:
    """The `meshlint` executable: one command, then the process ends.

    Reports are written as UTF-8 whatever the locale (a CI runner with LANG=C or PYTHONIOENCODING=ascii),
    and what UTF-8 cannot carry (a lone surrogate from a JSON escape) as a backslash escape. Any exception
    that escapes a command is a bug: one line on stderr and exit 3, the traceback only with --verbose.

    The cyclic GC stays off for the whole process: everything the run builds stays referenced until the
    end, so a collection finds nothing, yet the first one after the run would scan every object (0.2 s
    on a 1,000-service mesh). For the same reason the process ends without freeing its objects one by
    one, once the output is flushed (as mypy does).
    """
    gc.disable()
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(encoding="utf-8", errors="backslashreplace")
    argv = sys.argv[1:]
    try:
        make_app(argv[0] if argv and argv[0] in COMMANDS else None)()
        code: int = 0
    except SystemExit as done:
        if isinstance(done.code, str):
            print(done.code, file=sys.stderr)
        code = done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
    except Exception as err:  # the one error boundary: a bug, never a verdict on the input
        code = _internal_error(err, verbose=bool({"--verbose", "-v"} & set(argv)))
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError):  # a closed pipe (`meshlint check | head`): nothing more to tell
            stream.flush()
    os._exit(code)


def _internal_error(err: BaseException, *, verbose: bool) -> int:
    import traceback

    from meshlint import __version__

    try:
        detail = " ".join(str(err).split())
    except Exception:  # a message that cannot be printed must not hide the error
        detail = ""
    detail = f"{type(err).__name__}: {detail[:300]}" if detail else type(err).__name__
    if verbose:
        traceback.print_exception(err, file=sys.stderr)
    with contextlib.suppress(OSError):
        sys.stdout.flush()  # the report so far, if any, before the line that says it is not to be trusted
    print(f"meshlint: internal error in meshlint {__version__}: {detail}; please report it, with the command "
          f"and the input that trigger it{'' if verbose else ' (--verbose shows the traceback)'}", file=sys.stderr)
    return report.EXIT_INTERNAL
