"""Determinism: the same mesh gives the same bytes, however its documents are ordered and spread over
files; renaming every resource gives the same bootstraps up to that renaming.

"Equivalent" for the renaming property, precisely: rename every name (mesh, nodes, services, routers,
routes, gateways, gateway routes) by an order-preserving injective map onto fresh tokens, build, then map
the tokens back in the output. The set of artifact paths must be equal, and every bootstrap equal as JSON
once the lists whose order carries no meaning (clusters, listeners, filter chains, virtual hosts,
weighted clusters: any list of named objects except `routes` and the filter lists) are sorted by name.
Route order is meaningful and must match exactly: the map preserves name order, and routes are ordered by
(priority, name). The topology must have the same nodes and edges after mapping back.
"""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import assume, given
from hypothesis import strategies as st

from tests.property import expect
from tests.property.helpers import FORMATS, OTHER_FORMATS, bootstraps, build, check, write_mesh
from tests.property.strategies import Plan, expressible_in_terraform, plans

ORDERED_LISTS = frozenset({"routes", "http_filters", "filters", "listener_filters"})
TOKEN = re.compile(r"zq\d{4}x")


@given(plan=plans())
def test_building_twice_gives_identical_files(plan: Plan) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = write_mesh(Path(tmp) / "in", plan.documents())
        first = build(folder, Path(tmp) / "a")
        second = build(folder, Path(tmp) / "b")
    assert first == second


@given(plan=plans(), seed=st.integers(0, 2**16), fmt=st.sampled_from(FORMATS), per_file=st.integers(1, 5))
def test_document_and_file_order_do_not_matter(plan: Plan, seed: int, fmt: str, per_file: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        plain = build(write_mesh(Path(tmp) / "in", plan.documents()), Path(tmp) / "a")
        shuffled = build(write_mesh(Path(tmp) / "shuffled", plan.documents(), fmt, seed=seed, per_file=per_file),
                         Path(tmp) / "b")
    assert sorted(plain) == sorted(shuffled)
    for path in plain:
        assert plain[path] == shuffled[path], path


def renaming(plan: Plan) -> tuple[dict[str, str], dict[str, str]]:
    """(name -> token, token -> name); tokens sort like the names they replace, `.local` kept on services
    so they stay fully qualified."""
    forward: dict[str, str] = {}
    for i, name in enumerate(sorted(set(plan.names()))):
        forward[name] = f"zq{i:04d}x" + (".local" if name.endswith(".local") else "")
    back = {token.removesuffix(".local"): name.removesuffix(".local") if name.endswith(".local") else name
            for name, token in forward.items()}
    return forward, back


def canonical(node: Any, key: str = "") -> Any:
    if isinstance(node, dict):
        return {k: canonical(v, k) for k, v in node.items()}
    if isinstance(node, list):
        items = [canonical(v) for v in node]
        if key not in ORDERED_LISTS and items and all(isinstance(i, dict) and "name" in i for i in items):
            items.sort(key=lambda i: json.dumps(i, sort_keys=True))
        return items
    return node


@given(plan=plans())
def test_renaming_every_resource_gives_equivalent_output(plan: Plan) -> None:
    forward, back = renaming(plan)

    def restore(text: str) -> str:
        return TOKEN.sub(lambda m: back[m.group(0)], text)

    with tempfile.TemporaryDirectory() as tmp:
        original = build(write_mesh(Path(tmp) / "in", plan.documents()), Path(tmp) / "a")
        renamed = build(write_mesh(Path(tmp) / "renamed", plan.documents(forward.__getitem__)), Path(tmp) / "b")
    assert not any(TOKEN.search(p) for p in original)
    restored = {restore(path): content for path, content in renamed.items()}
    assert sorted(restored) == sorted(original)
    want, got = bootstraps(original), bootstraps({p: restore(c.decode()).encode() for p, c in restored.items()})
    for path in want:
        assert canonical(got[path]) == canonical(want[path]), path
    dot = f"{plan.mesh}/topology.dot"
    assert expect.dot_graph(restore(restored[dot].decode())) == expect.dot_graph(original[dot].decode())


@given(plan=plans(), fmt=st.sampled_from(OTHER_FORMATS))
def test_cloudformation_and_kubernetes_build_the_same_files(plan: Plan, fmt: str) -> None:
    """The same mesh as one CloudFormation template (YAML or JSON) or as App Mesh controller resources
    checks clean and compiles to the same bytes as the native documents (every file: bootstraps,
    topology, manifest; none of them names an input file)."""
    with tempfile.TemporaryDirectory() as tmp:
        native = build(write_mesh(Path(tmp) / "in", plan.documents()), Path(tmp) / "a")
        folder = write_mesh(Path(tmp) / "cfn", plan.documents(), fmt)
        assert check(folder) == []
        template = build(folder, Path(tmp) / "b")
    assert sorted(template) == sorted(native)
    for path in native:
        assert template[path] == native[path], path


@given(plan=plans())
def test_terraform_builds_the_same_files(plan: Plan) -> None:
    """Round trip: the mesh as a Terraform module -> model -> build equals the native documents -> model ->
    build, byte for byte (what the provider cannot send, such as priority 0, is left out of the draw)."""
    docs = plan.documents()
    assume(expressible_in_terraform(docs))
    with tempfile.TemporaryDirectory() as tmp:
        native = build(write_mesh(Path(tmp) / "in", docs), Path(tmp) / "a")
        folder = write_mesh(Path(tmp) / "tf", docs, "terraform")
        assert check(folder) == []
        module = build(folder, Path(tmp) / "b")
    assert sorted(module) == sorted(native)
    for path in native:
        assert module[path] == native[path], path
