"""The check report in the format asked for (one string for stdout), and the exit code a result gives."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, TypeVar

from meshlint.cli.options import Format

if TYPE_CHECKING:
    from meshlint.api import CheckResult
    from meshlint.diagnostics import Severity

EXIT_INTERNAL = 3  # meshlint itself failed (a bug): never a verdict on the input; see the README's Guarantees

_T = TypeVar("_T")
_UNTIL_EXIT: list[object] = []


def keep_until_exit(result: _T) -> _T:
    """Hold a command's result until the process ends (meshlint.cli.main ends it without freeing anything):
    let go when the command returns, a 1,000-service mesh's model, graph and documents took 55 ms to free
    object by object, a twentieth of the check. Not for a loop (build --watch), whose runs must be let go."""
    _UNTIL_EXIT.append(result)
    return result


def crashed(result: CheckResult) -> bool:
    """Whether a rule crashed during the run (the engine's internal-error diagnostic, ML000)."""
    from meshlint.catalogue import INTERNAL_ERROR

    return any(d.rule == INTERNAL_ERROR for d in result.diagnostics)


def exit_code(result: CheckResult, fail_on: Severity) -> int:
    """3 when meshlint crashed somewhere (the findings are then incomplete), else 1 for a finding at or above
    `fail_on`, else 0."""
    if crashed(result):
        return EXIT_INTERNAL
    return 1 if result.failed(fail_on) else 0


def render(result: CheckResult, fmt: Format) -> str:
    if fmt is Format.json:
        from meshlint.emit import json_report

        return json_report.render(result.diagnostics, result.summary())
    if fmt is Format.sarif:
        from meshlint import __version__, catalogue
        from meshlint.emit import sarif

        return sarif.render(result.diagnostics, list(catalogue.load().values()), __version__)
    if fmt is Format.github:
        from meshlint.emit import github

        return github.render(result.diagnostics)
    from meshlint.emit import text

    at_hand: tuple[str, list[str]] | None = None  # diagnostics come file by file: one file's lines at a time

    def lines_of(path: str) -> list[str]:
        nonlocal at_hand
        if at_hand is None or at_hand[0] != path:
            source = result.sources.get(path)  # only files inside the checked tree are quoted (load.files)
            at_hand = (path, source.split_lines() if source is not None and source.input.inside else [])
        return at_hand[1]

    return text.render(result.diagnostics, result.summary(), lines_of,
                       colour=sys.stdout.isatty() and "NO_COLOR" not in os.environ)


def summary_line(result: CheckResult) -> str:
    from meshlint.emit.text import summary_line

    return summary_line(result.summary())


def statistics(result: CheckResult, fmt: Format) -> str:
    """`--statistics`: how many findings each rule made, most first, instead of the findings themselves."""
    from collections import Counter

    counts = Counter((d.code, d.rule, d.severity.label) for d in result.diagnostics)
    rows = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    if fmt is Format.json:
        import json

        table = [{"code": code, "rule": rule, "severity": severity, "count": n} for (code, rule, severity), n in rows]
        return json.dumps({"statistics": table, "summary": result.summary()}, indent=2) + "\n"
    lines = [f"{n:>6}  {code}  {rule:<28} {severity}" for (code, rule, severity), n in rows]
    return "\n".join([*lines, summary_line(result)]) + "\n"
