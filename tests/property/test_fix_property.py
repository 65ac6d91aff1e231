"""--fix over random layouts: whatever the format (API YAML block/flow/multi-line flow, JSON, CloudFormation,
Kubernetes), indentation (spaces, tabs inside flow mappings), line endings (LF, CRLF, CR), BOM and quoting,
the fixed file re-parses with the intended weights and every byte outside the edited weights is unchanged; and
whatever the file's mode and links (a symlink to it, another hard link), they are the same afterwards.

The expected file is the same template rendered with the fixed weights, so "unchanged outside the spans" is
checked byte for byte, BOM and line endings included."""

from __future__ import annotations

import json
import os
import stat
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import yaml
from hypothesis import given
from hypothesis import strategies as st

from meshlint.analyze.rules.routing import largest_remainder

BOM = b"\xef\xbb\xbf"
ODD = ("plain", "a\u2028b", "a\x85b", "tab\there", "# not a comment")  # text YAML may read as line breaks


@dataclass(frozen=True)
class Layout:
    format: str
    indent: str
    styles: tuple[str, ...]  # per target: block, flow, multi (flow over two lines), tab (tab inside flow)
    quote: str  # CloudFormation: "", '"' or "'" around the weight
    note: str
    eol: str
    bom: bool
    json_indent: int | str

    def render(self, weights: list[int]) -> bytes:
        text = RENDER[self.format](self, weights)
        lines = text.split("\n")
        return (BOM if self.bom else b"") + self.eol.join(lines).encode()


def _targets(layout: Layout, weights: list[int], name: str, at: str, weight: str = "weight",
             quote: str = "") -> list[str]:
    """One weighted target per weight, each in its drawn style. `name` is a format string for the node."""
    lines = []
    for i, (w, style) in enumerate(zip(weights, layout.styles, strict=False)):
        value = f"{quote}{w}{quote}"
        node = name.format(i)
        if style == "block":
            lines += [f"{at}- {node}", f"{at}  {weight}: {value}  # weight of v{i}"]
        elif style == "flow":
            lines.append(f"{at}- {{{node}, {weight}: {value}}}")
        elif style == "multi":
            lines += [f"{at}- {{{node},", f"{at}   {weight}: {value}}}"]
        else:
            lines += [f"{at}- {{{node},\t", f"{at}  \t{weight}:\t{value}\t}}"]
    return lines


def _api(layout: Layout, weights: list[int]) -> str:
    i = layout.indent
    head = ["meshName: shop", "virtualRouterName: orders", "routeName: canary",
            f"tags: [{{key: note, value: {json.dumps(layout.note, ensure_ascii=False)}}}]", "spec:",
            f"{i}httpRoute:", f"{i * 2}match: {{prefix: /}}", f"{i * 2}action:", f"{i * 3}weightedTargets:"]
    return "\n".join([*head, *_targets(layout, weights, "virtualNode: v{}", i * 4)]) + "\n"


def _json(layout: Layout, weights: list[int]) -> str:
    route = {"meshName": "shop", "virtualRouterName": "orders", "routeName": "canary",
             "tags": [{"key": "note", "value": layout.note}],
             "spec": {"tcpRoute": {"action": {"weightedTargets": [
                 {"virtualNode": f"v{n}", "weight": w} for n, w in enumerate(weights)]}}}}
    return json.dumps(route, indent=layout.json_indent, ensure_ascii=False) + "\n"


def _cfn(layout: Layout, weights: list[int]) -> str:
    i = layout.indent
    head = ['AWSTemplateFormatVersion: "2010-09-09"', f"Description: {json.dumps(layout.note, ensure_ascii=False)}",
            "Resources:", f"{i}Route:", f"{i * 2}Type: AWS::AppMesh::Route", f"{i * 2}Properties:",
            f"{i * 3}MeshName: shop", f"{i * 3}VirtualRouterName: orders", f"{i * 3}RouteName: canary",
            f"{i * 3}Spec:", f"{i * 4}TcpRoute:", f"{i * 5}Action:", f"{i * 6}WeightedTargets:"]
    targets = _targets(layout, weights, "VirtualNode: v{}", i * 7, "Weight", layout.quote)
    return "\n".join([*head, *targets]) + "\n"


def _k8s(layout: Layout, weights: list[int]) -> str:
    i = layout.indent
    head = ["apiVersion: appmesh.k8s.aws/v1beta2", "kind: VirtualRouter", "metadata:", f"{i}name: orders",
            f"{i}namespace: shop", f"{i}annotations: {{note: {json.dumps(layout.note, ensure_ascii=False)}}}",
            "spec:", f"{i}listeners: [{{portMapping: {{port: 8080, protocol: http}}}}]", f"{i}routes:",
            f"{i}{i}- name: canary", f"{i}{i}  httpRoute:", f"{i}{i}  {i}match: {{prefix: /}}",
            f"{i}{i}  {i}action:", f"{i}{i}  {i * 2}weightedTargets:"]
    targets = _targets(layout, weights, "virtualNodeRef: {{name: v{}}}", f"{i}{i}  {i * 3}")
    return "\n".join([*head, *targets]) + "\n"


RENDER: dict[str, Callable[[Layout, list[int]], str]] = {"api": _api, "json": _json, "cfn": _cfn, "k8s": _k8s}
SUFFIX = {"api": ".yaml", "json": ".json", "cfn": ".yaml", "k8s": ".yaml"}


@st.composite
def layouts(draw: st.DrawFn) -> tuple[Layout, list[int]]:
    # two targets with a weight at least: one alone (others parked at 0) gets every request, no finding
    weights = draw(st.lists(st.integers(0, 60), min_size=2, max_size=4).filter(
        lambda w: 0 < sum(w) < 100 and sum(1 for x in w if x) >= 2))
    fmt = draw(st.sampled_from(sorted(RENDER)))
    layout = Layout(
        format=fmt,
        indent=draw(st.sampled_from(["  ", "    "])),
        styles=tuple(draw(st.sampled_from(["block", "flow", "multi", "tab"])) for _ in weights),
        quote=draw(st.sampled_from(["", '"', "'"])) if fmt == "cfn" else "",
        note=draw(st.sampled_from(ODD)),
        eol=draw(st.sampled_from(["\n", "\r\n", "\r"])),
        bom=draw(st.booleans()),
        json_indent=draw(st.sampled_from([1, 2, 4, "\t"])),
    )
    return layout, weights


def _weights(raw: bytes, layout: Layout) -> list[object]:
    text = raw.removeprefix(BOM).decode()
    data = json.loads(text) if layout.format == "json" else yaml.load(text, Loader=yaml.CSafeLoader)  # libyaml, as meshlint reads it
    if layout.format == "cfn":
        targets = data["Resources"]["Route"]["Properties"]["Spec"]["TcpRoute"]["Action"]["WeightedTargets"]
        return [t["Weight"] for t in targets]
    if layout.format == "k8s":
        return [t["weight"] for t in data["spec"]["routes"][0]["httpRoute"]["action"]["weightedTargets"]]
    route = data["spec"].get("tcpRoute") or data["spec"]["httpRoute"]
    return [t["weight"] for t in route["action"]["weightedTargets"]]


FILES = st.tuples(st.sampled_from([0o600, 0o640, 0o644, 0o664, 0o755]), st.sampled_from(["file", "symlink", "hardlink"]))


@given(layouts(), FILES)
def test_fix_changes_only_the_weights(case: tuple[Layout, list[int]], file: tuple[int, str]) -> None:
    from meshlint import api
    from meshlint.cli.check import _fixed
    from meshlint.config import Settings

    layout, weights = case
    mode, kind = file
    fixed = largest_remainder(weights)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"route{SUFFIX[layout.format]}"
        path.write_bytes(layout.render(weights))
        path.chmod(mode)
        named = path
        if kind == "symlink":
            named = Path(folder) / f"link{path.suffix}"
            named.symlink_to(path.name)
        elif kind == "hardlink":
            os.link(path, Path(folder) / "other")
        inode = path.stat().st_ino
        result = api.check([str(named)], Settings(select=frozenset({"weights-sum"})))
        assert [d.rule for d in result.diagnostics] == ["weights-sum"], result.diagnostics
        _fixed(result, write=True)
        after = path.read_bytes()
        assert stat.S_IMODE(path.stat().st_mode) == mode
        assert named.is_symlink() == (kind == "symlink")
        if kind == "hardlink":
            assert path.stat().st_ino == inode and (Path(folder) / "other").read_bytes() == after
        assert sorted(p.name for p in Path(folder).iterdir()) == sorted(
            {"file": [path.name], "symlink": [path.name, named.name], "hardlink": [path.name, "other"]}[kind])
    expected = [str(w) if layout.quote else w for w in fixed]
    assert _weights(after, layout) == expected
    assert after == layout.render(fixed)
