"""`--format text`: path:line:col, severity and rule, the message, a source excerpt with a caret, help.

Colour only when writing to a terminal (and NO_COLOR is unset).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from meshlint.diagnostics import Diagnostic, Severity

_COLOURS = {Severity.ERROR: "31", Severity.WARNING: "33", Severity.INFO: "36"}


def render(diagnostics: Sequence[Diagnostic], summary: Mapping[str, int],
           lines_of: Callable[[str], list[str]], colour: bool = False) -> str:
    def paint(text: str, code: str) -> str:
        return f"\x1b[{code}m{text}\x1b[0m" if colour else text

    out: list[str] = []
    for d in diagnostics:
        label = paint(f"{d.severity.label}[{d.rule}]", "1;" + _COLOURS[d.severity])
        out.append(f"{paint(f'{d.path}:{d.line}:{d.column}', '1')}: {label} {d.message}")
        out.extend(_excerpt(lines_of(d.path), d.line, d.column, lambda s: paint(s, "34")))
        if d.help:
            out.append(f"   = help: {d.help}")
        out.append("")
    out.append(summary_line(summary))
    return "\n".join(out) + "\n"


def _excerpt(lines: list[str], line: int, column: int, gutter: Callable[[str], str]) -> list[str]:
    if not 0 < line <= len(lines):
        return []
    text = lines[line - 1].rstrip("\n")
    if len(text) > 200:
        start = max(0, column - 80)
        text = text[start:start + 160]
        column -= start
    width = len(str(line))
    pad = " " * width
    caret = "".join("\t" if c == "\t" else " " for c in text[: column - 1]) + "^"  # tabs keep the caret aligned
    return [f"{gutter(pad + ' |')}", f"{gutter(f'{line} |')} {text}", f"{gutter(pad + ' |')} {caret}"]


def summary_line(summary: Mapping[str, int]) -> str:
    def plural(n: int, word: str) -> str:
        return f"{n} {word}{'' if n == 1 else 's'}"

    return (f"{plural(summary['files'], 'file')}, {plural(summary['resources'], 'resource')}: "
            f"{plural(summary['errors'], 'error')}, {plural(summary['warnings'], 'warning')}, "
            f"{plural(summary['infos'], 'info')}")
