"""`--format github`: one GitHub Actions workflow command per diagnostic, so each shows as an annotation
on the pull request's diff (https://docs.github.com/actions/reference/workflow-commands-for-github-actions).

    ::error file=mesh/orders.yaml,line=12,col=9,title=weights-sum (ML004)::weights of route ... not 100

Only the commands go to stdout; the summary line is the caller's to print on stderr.
"""

from __future__ import annotations

from collections.abc import Sequence

from meshlint.diagnostics import Diagnostic, Severity

_COMMANDS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def render(diagnostics: Sequence[Diagnostic]) -> str:
    lines = []
    for d in diagnostics:
        props = [] if d.path.startswith("<") else [f"file={escape_property(d.path)}", f"line={d.line}",
                                                   f"col={d.column}"]
        props.append(f"title={escape_property(f'{d.rule} ({d.code})')}")
        message = d.message + (f"\nhelp: {d.help}" if d.help else "")
        lines.append(f"::{_COMMANDS[d.severity]} {','.join(props)}::{escape_data(message)}\n")
    return "".join(lines)
