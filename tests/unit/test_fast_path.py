"""The typed models are the fast path of schema checking: they must never accept what the JSON Schema
rejects (or a bad document would pass silently), and on real input they should agree with it."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from meshlint.load import schema
from meshlint.load.sources import load_sources
from meshlint.normalize import appmesh_api
from tests.helpers import FIXTURES, REPO
from tests.support.shared import require

CORPUS = require("corpus", "real-corpus fast-path tests")


def _documents() -> list[tuple[str, dict[str, Any]]]:
    docs = []
    for source in load_sources([str(FIXTURES), str(REPO / "examples"), str(CORPUS)]).files:
        for doc in source.docs:
            detected = appmesh_api.detect(doc.data)
            if detected:
                docs.append((detected[0], detected[2]))
    return docs


DOCS = _documents()


def test_fast_path_agrees_with_the_schema_on_every_real_document() -> None:
    assert len(DOCS) > 300
    disagree = [(kind, obj) for kind, obj in DOCS
                if (appmesh_api.typed_spec(kind, obj) is not None) != (not schema.check(kind, obj))]
    assert disagree == []


def _mutations(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[tuple[Any, ...], Any]]:
    """(path, replacement) pairs that each break one value: nulls, wrong scalar types, extremes."""
    out: list[tuple[tuple[Any, ...], Any]] = []
    if isinstance(value, dict):
        for key, child in value.items():
            out += _mutations(child, (*path, key))
        out.append(((*path, "unknownField"), 1))
    elif isinstance(value, list):
        for i, child in enumerate(value):
            out += _mutations(child, (*path, i))
        out.append((path, []))
    elif isinstance(value, bool):
        out += [(path, 1), (path, None), (path, "true")]
    elif isinstance(value, int):
        out += [(path, -1), (path, 10**9), (path, True), (path, str(value)), (path, None), (path, float(value))]
    elif isinstance(value, str):
        out += [(path, ""), (path, "x" * 2000), (path, 5), (path, None), (path, value.upper() + "!")]
    return out


def _apply(obj: dict[str, Any], path: tuple[Any, ...], replacement: Any) -> dict[str, Any]:
    mutated = copy.deepcopy(obj)
    target: Any = mutated
    for step in path[:-1]:
        target = target[step]
    if path:
        target[path[-1]] = replacement
    return mutated


@pytest.mark.parametrize("index", range(0, len(DOCS), max(1, len(DOCS) // 40)))
def test_fast_path_never_accepts_what_the_schema_rejects(index: int) -> None:
    kind, obj = DOCS[index]
    for path, replacement in _mutations(obj):
        mutated = _apply(obj, path, replacement)
        if appmesh_api.typed_spec(kind, mutated) is not None:
            assert schema.check(kind, mutated) == [], (kind, path, replacement)
