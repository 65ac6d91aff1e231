"""Per-rule fixtures: fixtures/<slug>/{pass,fail}/<case>(.yaml|.json|/) with golden diagnostics.

Each case runs with only its rule selected. A fail case must match `<case>.expected` exactly (path, line,
column, severity, rule, message); a pass case must report nothing, under its own rule and under all rules.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from meshlint.analyze.rules import BUILD_RULES
from meshlint.config import Settings
from tests.helpers import FIXTURES, check_in, compare_golden, diagnostics_of, golden_lines

RULE_DIRS = sorted(p for p in FIXTURES.iterdir() if p.is_dir() and (p / "fail").is_dir())


def _cases(kind: str) -> list[tuple[str, Path]]:
    out = []
    for rule_dir in RULE_DIRS:
        for case in sorted((rule_dir / kind).iterdir()):
            if case.suffix != ".expected":
                out.append((rule_dir.name, case))
    return out


def _run(rule: str | None, case: Path) -> list[str]:
    if rule in BUILD_RULES:
        return golden_lines(d for d in diagnostics_of(case, rule) if d.rule == rule)
    settings = Settings(select=frozenset({rule})) if rule else Settings()
    return golden_lines(check_in(case.parent, [case.name], settings).diagnostics)


def test_every_rule_has_fixtures() -> None:
    from meshlint import catalogue

    have = {p.name for p in RULE_DIRS if any((p / "pass").iterdir()) and any((p / "fail").iterdir())}
    assert set(catalogue.load()) <= have


@pytest.mark.parametrize(("rule", "case"), _cases("fail"), ids=lambda v: v if isinstance(v, str) else v.name)
def test_fail_case_matches_golden(rule: str, case: Path) -> None:
    actual = _run(rule, case)
    assert actual, f"{case} reports nothing for {rule}"
    assert all(f"[{rule}]" in line for line in actual if not line.startswith(" "))
    compare_golden(case.parent / f"{case.stem if case.is_file() else case.name}.expected", actual)


@pytest.mark.parametrize(("rule", "case"), _cases("pass"), ids=lambda v: v if isinstance(v, str) else v.name)
def test_pass_case_is_clean_under_every_rule(rule: str, case: Path) -> None:
    assert _run(rule, case) == []
    assert _run(None, case) == []
