"""Positions from the fast walk's position table (`locate_marked`) must equal those from the composed node
tree (`locate`) for every pointer: values, keys, and paths that do not exist (nearest enclosing node)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from meshlint.diagnostics import Position
from meshlint.load.files import discover, read_text
from meshlint.load.parse import compose_roots, locate, locate_marked, parse_text
from tests.helpers import FIXTURES, REPO
from tests.support.shared import require

CORPUS = require("corpus", "real-corpus position tests")


def _paths(data: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    yield path
    yield (*path, "no-such-key")
    if isinstance(data, dict):
        for key, value in data.items():
            yield from _paths(value, (*path, key))
    elif isinstance(data, list):
        yield (*path, str(len(data)))
        for index, value in enumerate(data):
            yield from _paths(value, (*path, str(index)))


def _disagreements(text: str) -> tuple[int, list[tuple[tuple[str, ...], bool, Position, Position]]]:
    """(pointers compared, those where the two disagree) over every fast-walk document of `text`."""
    docs, _ = parse_text(text, record=False)
    roots = compose_roots(text)
    compared, wrong = 0, []
    for doc in docs:
        if doc.marks is None:
            continue
        for path in _paths(doc.data):
            for at_key in (False, True):
                compared += 1
                fast = locate_marked(doc.data, doc.marks, list(path), at_key)
                slow = locate(roots[doc.stream_index], list(path), at_key)
                if fast != slow:
                    wrong.append((path, at_key, fast, slow))
    return compared, wrong


def test_every_pointer_of_every_real_document_is_placed_as_the_node_tree_places_it() -> None:
    inputs, _, _ = discover([str(FIXTURES), str(REPO / "examples"), str(CORPUS)], ())
    compared = 0
    for item in inputs:
        text, problem = read_text(item)
        if problem is not None or text is None or item.display.endswith(".json"):
            continue
        count, wrong = _disagreements(text)
        assert wrong == [], item.display
        compared += count
    assert compared > 50_000  # a floor: the inputs hold some 100,000 pointers


@pytest.mark.parametrize("text", [
    "Resources:\n  R:\n    Properties:\n      A: !GetAtt Node.Name\n      B: !Ref X\n      C: !Sub '${A}-b'\n"
    "      D: !Join [',', [!Ref X, b]]\n      E: !If [c, {x: 1}, !Ref AWS::NoValue]\n",
    "a: &anchor {b: [1, 2, {c: d}]}\ne: *anchor\nf: [*anchor, *anchor]\n",
    "---\nx: 1\n---\n- a\n- {b: c}\n- - d\n  - e\n---\n",
    "spec:\n  listeners:\n  - portMapping:\n      port: 8080\n      protocol: http\n    tls: {mode: STRICT}\n",
    "k: |\n  block\n  text\nother: >\n  folded\nlast: 'quoted'\n",
], ids=["cfn-tags", "aliases", "several-documents", "block-and-flow", "scalar-styles"])
def test_shapes_the_fast_walk_rewrites_or_expands(text: str) -> None:
    compared, wrong = _disagreements(text)
    assert compared > 10 and wrong == []


_SCALARS = st.one_of(st.integers(-5, 5), st.booleans(), st.none(), st.text("ab: -#'\"\n", max_size=6))
_DATA = st.recursive(_SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text("abc~/", min_size=1, max_size=3), inner, max_size=4)),
    max_leaves=25)


@settings(max_examples=150, deadline=None)
@given(data=_DATA, flow=st.sampled_from([None, False, True]), indent=st.sampled_from([2, 4]))
def test_any_document_yaml_can_write(data: Any, flow: bool | None, indent: int) -> None:
    text = yaml.safe_dump({"root": data}, default_flow_style=flow, indent=indent, allow_unicode=True)
    compared, wrong = _disagreements(text)
    assert compared > 0 and wrong == []
