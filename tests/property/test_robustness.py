"""Whatever the input, the loader, the rules, the compiler and the DOT writer answer with diagnostics: never
an exception (tests/conftest.py sets MESHLINT_RAISE, so a crashing rule fails here), never a hang (a
watchdog per example: a hard limit rather than Hypothesis's deadline, which flakes on a loaded machine)."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml
from hypothesis import given
from hypothesis import strategies as st

from meshlint import api
from meshlint.cli import report
from meshlint.cli.options import Format
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


def check_everything(folder: Path, paths: list[str] | None = None) -> None:
    """check (loader + rules), every report format (as UTF-8, which the CLI writes whatever the locale), the
    DOT writer (which must cope with errors), and with no error the compiler, whose bootstraps must parse
    strictly."""
    with watchdog(WATCHDOG_S):
        result = api.check(paths or [str(folder)])
        for fmt in Format:
            rendered = report.render(result, fmt).encode("utf-8", "backslashreplace")
            if fmt in (Format.json, Format.sarif):
                json.loads(rendered)
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


# ---- numbers no field holds, surrogates: written as raw text where a value goes -------------------------------
_HOLE = "zzhole"
exotic_numbers = st.one_of(
    st.integers(21, 6000).map(lambda n: "9" * n),  # beyond 64 bits, beyond Python's 4,300-digit conversion
    st.integers(21, 6000).map(lambda n: "-" + "1" * n),
    st.integers(1, 3000).map(lambda n: "0x" + "f" * n),
    st.integers(1, 3000).map(lambda n: "0" * n + "7"),
    st.sampled_from(("!!int ²", "!!int ٣", "!!int abc", "!!int ''", "!!float x", "!!float ''", "!!bool maybe",
                     "!!int 1_0", "!!int 1:30", "!!int " + "1:" * 500 + "1", "1e400", "-.inf", ".nan", "!!null x")),
)


@st.composite
def with_a_hole(draw: st.DrawFn) -> list[Doc]:
    """A valid mesh with one value replaced by a marker, for raw text to take its place."""
    docs = draw(plans(max_nodes=3)).documents()
    doc = draw(st.sampled_from(docs))
    paths = [p for p in _paths(doc) if p and not isinstance(p[-1], int)]
    path = draw(st.sampled_from(paths))
    parent = doc
    for step in path[:-1]:
        parent = parent[step]
    parent[path[-1]] = _HOLE
    return docs


@given(docs=with_a_hole(), number=exotic_numbers, as_json=st.booleans())
def test_exotic_numbers_anywhere_give_diagnostics(docs: list[Doc], number: str, as_json: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        if as_json:  # JSON has no tags: where the token is not JSON, the file is a parse error, which is fine too
            for i, doc in enumerate(docs):
                (Path(tmp) / f"doc{i}.json").write_text(json.dumps(doc).replace(f'"{_HOLE}"', number))
        else:
            (Path(tmp) / "docs.yaml").write_text(yaml.safe_dump_all(docs).replace(_HOLE, number))
        check_everything(Path(tmp))


_surrogates = st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF)


@given(docs=perturbed(), text=st.text(_surrogates, min_size=1, max_size=3) | st.text(max_size=3), where=st.integers())
def test_lone_surrogates_in_json_strings_give_diagnostics(docs: list[Doc], text: str, where: int) -> None:
    """`"\\ud800"` is valid JSON and a str Python cannot encode: names, messages, fingerprints and every report
    format must carry it."""
    doc = docs[where % len(docs)]
    for key in [k for k in doc if k.endswith("Name")][:1]:
        doc[key] = f"{doc[key]}{text}"
    with tempfile.TemporaryDirectory() as tmp:
        for i, item in enumerate(docs):
            (Path(tmp) / f"doc{i}.json").write_text(json.dumps(item))  # ensure_ascii: lone surrogates as escapes
        check_everything(Path(tmp))


# ---- CloudFormation intrinsics: any shape, any depth ------------------------------------------------------------
_FUNCTIONS = ("Ref", "Fn::GetAtt", "Fn::Sub", "Fn::Join", "Fn::Select", "Fn::Split", "Fn::FindInMap", "Fn::If",
              "Fn::Equals", "Fn::And", "Fn::Or", "Fn::Not", "Condition", "Fn::ImportValue", "Fn::Base64", "Fn::Cidr")
_LOGICAL = st.sampled_from(("M", "N0", "N1", "N2", "P", "C0", "C1", "AWS::Region", "AWS::NoValue"))
intrinsics = st.recursive(
    _scalars | _LOGICAL | st.sampled_from(("${P}", "${N0.VirtualNodeName}", "${!x}", "${", "", ",", "²")),
    lambda inner: st.builds(lambda fn, arg: {fn: arg}, st.sampled_from(_FUNCTIONS), inner | st.lists(inner, max_size=4))
    | st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(("a", "b", "Default", "Type")), inner, max_size=3),
    max_leaves=25)


@st.composite
def templates(draw: st.DrawFn) -> Doc:
    """Three virtual nodes whose names, ports and conditions are random intrinsics, parameters, conditions and
    mappings of any shape, and a chain of GetAtt names up to 300 long."""
    chain = draw(st.integers(0, 300))
    resources: Doc = {"M": {"Type": "AWS::AppMesh::Mesh", "Properties": {"MeshName": draw(intrinsics)}}}
    for i in range(3):
        body: Doc = {"Type": "AWS::AppMesh::VirtualNode", "Properties": {
            "MeshName": "m", "VirtualNodeName": draw(intrinsics),
            "Spec": {"Listeners": [{"PortMapping": {"Port": draw(intrinsics | exotic_numbers), "Protocol": "http"}}]}}}
        if draw(st.booleans()):
            body["Condition"] = draw(st.sampled_from(("C0", "C1", "missing")))
        resources[f"N{i}"] = body
    for i in range(chain):
        name = {"Fn::GetAtt": [f"L{i + 1}", "VirtualNodeName"]} if i < chain - 1 else "leaf"
        resources[f"L{i}"] = {"Type": "AWS::AppMesh::VirtualNode",
                              "Properties": {"MeshName": "m", "VirtualNodeName": name, "Spec": {}}}
    return {"Parameters": draw(st.dictionaries(_LOGICAL, intrinsics, max_size=3) | intrinsics),
            "Conditions": draw(st.dictionaries(st.sampled_from(("C0", "C1")), intrinsics, max_size=2) | intrinsics),
            "Mappings": draw(json_values), "Resources": resources}


@given(template=templates(), as_json=st.booleans())
def test_cloudformation_intrinsics_of_any_shape_give_diagnostics(template: Doc, as_json: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        if as_json:
            (Path(tmp) / "t.json").write_text(json.dumps(template))
        else:
            (Path(tmp) / "t.yaml").write_text(yaml.safe_dump(template))
        check_everything(Path(tmp))


# ---- what a folder may hold besides files: pipes, sockets, devices, links anywhere ------------------------------
_ENTRIES = st.sampled_from(("file", "fifo", "socket", "link-out", "link-in", "link-dangling", "link-device",
                            "folder-link-out", "loop"))


@given(entries=st.lists(_ENTRIES, min_size=1, max_size=6), named=st.booleans())
def test_special_files_and_links_never_hang_or_leak(entries: list[str], named: bool) -> None:
    """Whatever a checked folder holds, the walk answers with diagnostics and never opens a pipe, socket or
    device (a read would block or never end), nor reads through a link out of the folder."""
    with tempfile.TemporaryDirectory() as tmp:
        root, outside = Path(tmp) / "in", Path(tmp) / "out"
        root.mkdir()
        outside.mkdir()
        (outside / "secret.yaml").write_text("meshName: m\nspec: {}\nsecret: HUNTER2\n")
        sockets = []
        for i, kind in enumerate(entries):
            path = root / f"e{i}.yaml"
            if kind == "file":
                path.write_text("meshName: m\nspec: {}\n")
            elif kind == "fifo":
                os.mkfifo(path)
            elif kind == "socket":
                sockets.append(socket.socket(socket.AF_UNIX))
                sockets[-1].bind(str(path))
            elif kind == "loop":
                os.symlink(path.name, path)
            else:
                target = {"link-out": outside / "secret.yaml", "link-in": root, "link-dangling": outside / "none",
                          "link-device": Path("/dev/zero"), "folder-link-out": outside}[kind]
                os.symlink(target, path)
        try:
            check_everything(root, [str(root / f"e{i}.yaml") for i in range(len(entries))] if named else None)
            result = api.check([str(root)])
            assert "HUNTER2" not in report.render(result, Format.text)
        finally:
            for s in sockets:
                s.close()


# ---- config and baseline files of any content --------------------------------------------------------------------
_config_text = st.one_of(
    st.text(max_size=300),
    json_values.map(lambda v: yaml.safe_dump(v)),
    st.dictionaries(st.sampled_from(("rules", "select", "ignore", "entry-points", "build", "options", "exclude",
                                     "per-path-ignores", "fragments", "external")), json_values | appmeshish,
                    max_size=4).map(yaml.safe_dump),
    exotic_numbers.map(lambda n: f"options:\n  retry-amplification:\n    max-attempts: {n}\n"),
)
_toml_text = st.one_of(
    st.text(max_size=200),
    st.sampled_from(("tool = 5", "[tool]\nmeshlint = 5", "[tool]\nmeshlint = 'x'", "[tool]\nmeshlint = []",
                     "[tool.meshlint]\nselect = []", "[tool.meshlint]\nrules = 7", "a = " + "[" * 2000 + "]" * 2000)),
    exotic_numbers.map(lambda n: f"[tool.meshlint.options.retry-amplification]\nmax-attempts = {n}"),
)


@given(text=_config_text)
def test_any_config_is_settings_or_a_usage_error(text: str) -> None:
    from meshlint import catalogue
    from meshlint.config import load_settings
    from meshlint.load.files import UsageError

    with tempfile.TemporaryDirectory() as tmp, watchdog(WATCHDOG_S):
        path = Path(tmp) / ".meshlint.yaml"
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        with contextlib.suppress(UsageError):
            load_settings(path, list(catalogue.load()))


@given(text=_toml_text)
def test_any_pyproject_is_settings_or_a_usage_error(text: str) -> None:
    from meshlint import catalogue
    from meshlint.config import find_config, load_settings
    from meshlint.load.files import UsageError

    with tempfile.TemporaryDirectory() as tmp, watchdog(WATCHDOG_S):
        path = Path(tmp) / "pyproject.toml"
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        with contextlib.suppress(UsageError):
            find_config(Path(tmp))
            load_settings(path, list(catalogue.load()))


@given(value=json_values | st.integers(1, 200).map(lambda n: "[" * n * 50 + "]" * n * 50) | exotic_numbers)
def test_any_baseline_is_read_or_a_usage_error(value: Any) -> None:
    from meshlint import baseline
    from meshlint.load.files import UsageError

    with tempfile.TemporaryDirectory() as tmp, watchdog(WATCHDOG_S):
        path = Path(tmp) / "known.json"
        path.write_text(value if isinstance(value, str) else json.dumps(value))
        with contextlib.suppress(UsageError):
            baseline.read(path)
