"""The two checks every --fix passes before a byte is written (issue: reliability under hostile input, --fix
on tab-indented and multi-line flow mappings rewrote lines other than the weights): only the edited spans
differ from the file, and the text reads back as the same documents with only the intended values changed.
A span located wrongly (one that takes in a neighbour key, or a line break of a multi-line flow mapping) is
refused, never written. tests/cli/test_gate_fix.py shows the right spans at work on the same layouts."""

from __future__ import annotations

from pathlib import Path

import pytest

from meshlint.fix import edit, plan
from meshlint.load.sources import SourceFile
from tests.cli.gate_support import MESH
from tests.helpers import check_in

# v1's target over two lines with a tab, v2's weight alone on a line of a flow mapping over three lines
ROUTE = """meshName: shop
virtualRouterName: orders
routeName: canary
spec:
  httpRoute:
    match: {prefix: /}
    action:
      weightedTargets:
        - {virtualNode: v1,
\tweight: 80,\tport: 8080}
        - {virtualNode: v2, weight:
            10, port: 8080
          }
"""


def _plan(tmp_path: Path) -> tuple[list[str], list[str]]:
    (tmp_path / "a.yaml").write_text(f"{MESH}---\n{ROUTE}")
    result = check_in(tmp_path, ["a.yaml"])
    changes, notes = plan(result.diagnostics, result.sources)
    return [c.after for c in changes], notes


def test_the_right_spans_change_the_weights_alone(tmp_path: Path) -> None:
    after, notes = _plan(tmp_path)
    assert notes == []
    assert after == [f"{MESH}---\n" + ROUTE.replace("weight: 80", "weight: 89").replace("  10, port", "  11, port")]


@pytest.mark.parametrize("widen", [(0, len(", port: 8080")), (-len("weight:\n            "), 0)],
                         ids=["into-the-next-key", "back-over-the-line-break"])
def test_a_span_located_wrongly_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                           widen: tuple[int, int]) -> None:
    located = SourceFile.value_span

    def wrong(self: SourceFile, doc: int, pointer: str) -> tuple[int, int] | None:
        span = located(self, doc, pointer)
        if span is None or not pointer.endswith("/weightedTargets/1/weight"):
            return span
        return span[0] + widen[0], span[1] + widen[1]

    monkeypatch.setattr(SourceFile, "value_span", wrong)
    after, notes = _plan(tmp_path)
    assert after == []
    assert notes == ["a.yaml: not fixed: the fixed file did not read back as intended"]


def test_text_changed_outside_the_edited_spans_is_refused() -> None:
    before = "a: {x: 1,\n\ty: 2}\n"
    at = before.index("1")
    assert edit.only_spans_changed(before, before.replace("1", "7"), [(at, at + 1, "7")])
    assert not edit.only_spans_changed(before, before.replace("1", "7").replace("\t", "  "), [(at, at + 1, "7")])
    assert not edit.only_spans_changed(before, before.replace("1", "7").replace(",\n", ", "), [(at, at + 1, "7")])
    assert not edit.only_spans_changed(before, before.replace("1", "77"), [(at, at + 1, "7")])
    assert not edit.only_spans_changed(before, before.replace("1", "7") + "\n", [(at, at + 1, "7")])
