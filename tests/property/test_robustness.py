"""Whatever the input, the loader, the rules, the compiler and the DOT writer answer with diagnostics: never
an exception (tests/conftest.py sets MESHLINT_RAISE, so a crashing rule fails here), never a hang (a
watchdog per example: a hard limit rather than Hypothesis's deadline, which flakes on a loaded machine)."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml
from hypothesis import given
from hypothesis import strategies as st

from meshlint import api
from meshlint.compile import ValidatedMesh
from meshlint.compile.dot import topology_dot
from meshlint.compile.envoy import compile_envoy
from meshlint.diagnostics import Severity
from tests.helpers import watchdog
from tests.property.strategies import Doc, plans
from tests.support.envoy import strict_parse

WATCHDOG_S = 20

EXTENSIONS = (".yaml", ".yml", ".json")
_scalars = (st.none() | st.booleans() | st.integers(-(2**64), 2**64)
            | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=20))
json_values = st.recursive(_scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=12), inner, max_size=4), max_leaves=20)
_APPMESH_KEYS = ("meshName", "virtualNodeName", "virtualServiceName", "virtualRouterName", "routeName",
                 "virtualGatewayName", "gatewayRouteName", "spec", "listeners", "portMapping", "port",
                 "protocol", "httpRoute", "action", "weightedTargets", "virtualNode", "weight", "tls",
                 "backends", "virtualService", "provider", "match", "prefix")
appmeshish = st.recursive(
    _scalars | st.sampled_from(("http", "grpc", "tcp", "STRICT", "/", "a", "mesh")),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(_APPMESH_KEYS), inner, max_size=5),
    max_leaves=30)


def check_everything(folder: Path) -> None:
    """check (loader + rules), the DOT writer (which must cope with errors), and with no error the compiler,
    whose bootstraps must parse strictly."""
    with watchdog(WATCHDOG_S):
        result = api.check([str(folder)])
        mesh = ValidatedMesh(result.model, result.graph)
        topology_dot(mesh, result.diagnostics)
        if not result.failed(Severity.ERROR):
            for artifact in compile_envoy(mesh).artifacts:
                strict_parse(artifact.content.decode())


@given(content=st.binary(max_size=2000), ext=st.sampled_from(EXTENSIONS))
def test_arbitrary_bytes_give_diagnostics(content: bytes, ext: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / f"input{ext}").write_bytes(content)
        check_everything(Path(tmp))


@given(text=st.text(max_size=500) | st.text(alphabet="{}[]:,-'\"&*!|>#%@ \n\tab0", max_size=300),
       ext=st.sampled_from(EXTENSIONS))
def test_arbitrary_text_gives_diagnostics(text: str, ext: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / f"input{ext}").write_text(text, encoding="utf-8", errors="surrogatepass")
        check_everything(Path(tmp))


@given(values=st.lists(json_values | appmeshish, min_size=1, max_size=4), as_json=st.booleans())
def test_arbitrary_yaml_and_json_documents_give_diagnostics(values: list[Any], as_json: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        if as_json:
            for i, value in enumerate(values):
                (Path(tmp) / f"doc{i}.json").write_text(json.dumps(value))
        else:
            (Path(tmp) / "docs.yaml").write_text(yaml.safe_dump_all(values))
        check_everything(Path(tmp))


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _paths(value, (*prefix, i))


_EDGE_VALUES = st.sampled_from((0, -1, 1, 65535, 65536, 2**31, 2**63, "", " ", "/", "0", None, True, [], {},
                                "a" * 300, "../x", "spiffe://", "*", "http", "tcp"))


@st.composite
def perturbed(draw: st.DrawFn) -> list[Doc]:
    """A valid mesh with 1-3 random edits: a key removed, a value replaced (edge values or any JSON),
    a list entry repeated."""
    docs = draw(plans(max_nodes=4)).documents()
    for _ in range(draw(st.integers(1, 3))):
        doc = draw(st.sampled_from(docs))
        paths = list(_paths(doc))[1:]
        if not paths:  # an earlier edit emptied it
            continue
        path = draw(st.sampled_from(paths))
        parent = doc
        for step in path[:-1]:
            parent = parent[step]
        key = path[-1]
        how = draw(st.sampled_from(("delete", "edge", "any", "repeat")))
        if how == "delete":
            del parent[key]
        elif how == "repeat" and isinstance(parent, list):
            parent.insert(key, json.loads(json.dumps(parent[key])))
        else:
            parent[key] = draw(_EDGE_VALUES if how == "edge" else json_values)
    return docs


@given(docs=perturbed(), as_json=st.booleans())
def test_perturbed_meshes_give_diagnostics_and_compile(docs: list[Doc], as_json: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        if as_json:
            for i, doc in enumerate(docs):
                (Path(tmp) / f"doc{i}.json").write_text(json.dumps(doc))
        else:
            (Path(tmp) / "docs.yaml").write_text(yaml.safe_dump_all(docs))
        check_everything(Path(tmp))
