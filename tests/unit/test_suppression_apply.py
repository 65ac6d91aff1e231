"""`suppressions.apply` on hand-made ranges: which diagnostics a suppression hides (lines first..last, both
included) and which suppressions count as used when ranges nest, overlap, touch or cover nothing. apply merges
the ranges of one (path, rule) into runs and bisects; a brute-force oracle (every suppression against every
diagnostic, as apply once did) checks it on random ranges too."""

from __future__ import annotations

import random
from collections.abc import Sequence

from meshlint import catalogue
from meshlint.analyze.suppressions import NO_REASON, UNUSED, Suppression, apply
from meshlint.diagnostics import Diagnostic, Position, Severity

TLS, WEIGHTS = "missing-tls", "weights-sum"
RAN = {TLS, WEIGHTS, catalogue.INTERNAL_ERROR}


def diag(line: int, rule: str = TLS, path: str = "a.yaml") -> Diagnostic:
    return Diagnostic(rule, "ML000", Severity.ERROR, f"{rule} at {line}", path, line, 1)


def sup(first: int, last: int, *rules: str, path: str = "a.yaml", at: int = 0) -> Suppression:
    return Suppression(path, Position(at or first, 1), first, last, rules or (TLS,), "why")


def hidden_lines(diagnostics: Sequence[Diagnostic], found: Sequence[Suppression]) -> list[int]:
    kept, _ = apply(diagnostics, found, RAN)
    return [d.line for d in diagnostics if d not in kept]


def unused_at(diagnostics: Sequence[Diagnostic], found: Sequence[Suppression]) -> list[tuple[int, str]]:
    """(line written at, message) of each suppression reported as matching nothing."""
    _, problems = apply(diagnostics, found, RAN)
    return [(p.position.line, p.message) for p in problems if p.rule == UNUSED and p.position is not None]


def test_a_range_holds_both_ends_and_nothing_beyond() -> None:
    diagnostics = [diag(line) for line in (4, 5, 8, 9)]
    assert hidden_lines(diagnostics, [sup(5, 8)]) == [5, 8]
    assert hidden_lines([diag(4), diag(9)], [sup(5, 8)]) == []
    assert unused_at([diag(4), diag(9)], [sup(5, 8)]) == [(5, f"suppression of {TLS} matches no finding")]


def test_nested_ranges_are_all_used_by_a_finding_inside_both() -> None:
    outer, inner = sup(1, 20, at=1), sup(5, 8, at=4)
    assert hidden_lines([diag(6)], [outer, inner]) == [6]
    assert unused_at([diag(6)], [outer, inner]) == []
    assert unused_at([diag(6)], [inner, outer]) == []  # whatever order they were found in


def test_a_finding_in_the_outer_range_only_leaves_the_inner_one_unused() -> None:
    outer, inner = sup(1, 20, at=1), sup(5, 8, at=4)
    assert hidden_lines([diag(10), diag(4)], [outer, inner]) == [10, 4]
    assert [at for at, _ in unused_at([diag(10), diag(4)], [outer, inner])] == [4]
    assert [at for at, _ in unused_at([diag(9)], [outer, inner])] == [4]  # one past the inner range's end


def test_overlapping_and_touching_ranges() -> None:
    first, second, third = sup(3, 6, at=1), sup(5, 9, at=2), sup(10, 12, at=3)
    found = [first, second, third]
    diagnostics = [diag(line) for line in range(1, 15)]
    assert hidden_lines(diagnostics, found) == list(range(3, 13))
    assert unused_at([diag(7)], found) == [(1, f"suppression of {TLS} matches no finding"),
                                           (3, f"suppression of {TLS} matches no finding")]
    assert [at for at, _ in unused_at([diag(5)], found)] == [3]  # in both overlapping ranges: both used
    assert [at for at, _ in unused_at([diag(10)], found)] == [1, 2]  # the first line of the touching range


def test_a_range_that_covers_no_line_hides_nothing() -> None:
    empty = sup(8, 7, at=8)
    assert hidden_lines([diag(7), diag(8)], [empty]) == []
    assert [at for at, _ in unused_at([diag(7), diag(8)], [empty, sup(1, 9, at=1)])] == [8]


def test_rule_path_and_spelling() -> None:
    code = catalogue.lookup(TLS)
    assert code is not None
    found = [sup(1, 10, code.code, WEIGHTS, at=1)]  # a code stands for its rule
    diagnostics = [diag(2), diag(3, rule=WEIGHTS), diag(4, rule="schema"), diag(5, path="b.yaml")]
    assert hidden_lines(diagnostics, found) == [2, 3]
    assert unused_at([diag(2)], found) == [(1, f"suppression of {WEIGHTS} matches no finding")]
    assert unused_at([diag(2), diag(3, rule=WEIGHTS)], found) == []


def test_an_internal_error_is_never_hidden() -> None:
    found = [sup(1, 10, catalogue.INTERNAL_ERROR, at=1)]
    assert hidden_lines([diag(2, rule=catalogue.INTERNAL_ERROR)], found) == []
    assert [at for at, _ in unused_at([diag(2, rule=catalogue.INTERNAL_ERROR)], found)] == [1]


def test_only_rules_that_ran_and_reasons_are_reported() -> None:
    found = [Suppression("a.yaml", Position(1, 1), 1, 2, (TLS,), None)]
    _, problems = apply([], found, set())
    assert [p.rule for p in problems] == [NO_REASON]  # missing-tls did not run: its silence proves nothing


def _oracle(diagnostics: Sequence[Diagnostic], found: Sequence[Suppression]) -> tuple[list[int], set[int]]:
    """Kept lines and used suppressions, by the definition: every suppression against every diagnostic."""
    kept, used = [], set()
    for d in diagnostics:
        hits = [i for i, s in enumerate(found) if s.path == d.path and s.first <= d.line <= s.last
                and d.rule != catalogue.INTERNAL_ERROR and d.rule in s.rules]
        used.update(hits)
        if not hits:
            kept.append(d.line)
    return kept, used


def test_random_ranges_agree_with_the_definition() -> None:
    rng = random.Random(20240601)
    for _ in range(400):
        found = []
        for at in range(1, rng.randint(1, 8) + 1):
            first = rng.randint(1, 30)
            found.append(sup(first, first + rng.randint(-2, 12), rng.choice((TLS, WEIGHTS)),
                             path=rng.choice(("a.yaml", "b.yaml")), at=100 + at))
        diagnostics = [diag(rng.randint(1, 45), rng.choice((TLS, WEIGHTS)), rng.choice(("a.yaml", "b.yaml")))
                       for _ in range(rng.randint(0, 10))]
        kept, problems = apply(diagnostics, found, RAN)
        expected_kept, used = _oracle(diagnostics, found)
        assert [d.line for d in kept] == expected_kept, (found, diagnostics)
        unused = {p.position.line - 101 for p in problems if p.rule == UNUSED and p.position is not None}
        assert unused == set(range(len(found))) - used, (found, diagnostics)
