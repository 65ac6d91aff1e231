"""Shared test helpers: run check on a folder and render diagnostics as golden lines."""

from __future__ import annotations

import contextlib
import os
import signal
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from meshlint import api
from meshlint.config import Settings
from meshlint.diagnostics import Diagnostic

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "fixtures"
UPDATE = os.environ.get("MESHLINT_UPDATE_GOLDEN") == "1"


def golden_lines(diagnostics: Iterable[Diagnostic]) -> list[str]:
    lines = []
    for d in diagnostics:
        lines.append(f"{d.path}:{d.line}:{d.column}: {d.severity.label}[{d.rule}] {d.message}")
        if d.help:
            lines.append(f"    help: {d.help}")
    return lines


@contextlib.contextmanager
def watchdog(seconds: int) -> Iterator[None]:
    """Fail with TimeoutError instead of hanging (a FIFO read, a quadratic loop): a hard limit per call rather
    than a wall-clock deadline that flakes on a loaded machine."""
    def expired(signum: int, frame: Any) -> None:
        raise TimeoutError(f"no answer within {seconds} s: a hang")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def check_in(folder: Path, paths: Sequence[str] = (".",), settings: Settings | None = None) -> api.CheckResult:
    """api.check with `folder` as the working directory, so diagnostic paths are relative to it."""
    before = Path.cwd()
    os.chdir(folder)
    try:
        return api.check(list(paths), settings)
    finally:
        os.chdir(before)


def compare_golden(expected_file: Path, actual: list[str]) -> None:
    text = "\n".join(actual) + ("\n" if actual else "")
    if UPDATE:
        expected_file.write_text(text, encoding="utf-8")
    assert expected_file.exists(), f"missing golden file {expected_file} (run with MESHLINT_UPDATE_GOLDEN=1)"
    assert text == expected_file.read_text(encoding="utf-8"), f"golden mismatch: {expected_file}"


def diagnostics_of(folder: Path, rule: str, settings: Settings | None = None) -> list[Diagnostic]:
    """What meshlint reports for `folder`: build-time rules through `api.build` (into a sibling output
    folder), every other rule through `api.check`."""
    from meshlint import catalogue

    if catalogue.load()[rule].category != "build":
        return check_in(folder, settings=settings).diagnostics
    before = Path.cwd()
    os.chdir(folder)
    try:
        with tempfile.TemporaryDirectory(prefix="meshlint-test-") as scratch:
            return api.build(["."], Path(scratch) / "out", settings).check.diagnostics
    finally:
        os.chdir(before)
