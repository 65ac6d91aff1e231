"""App Mesh -> Envoy v3 static bootstraps: one per virtual node and per virtual gateway.

Behaviour spec: shared/design/appmesh-to-envoy.md. Passes, in order: plan each proxy's egress (services ->
ports -> routes -> target clusters), generate listeners and clusters from the plan, wrap them in the
bootstrap skeleton, serialise deterministically. Nothing here does I/O or mutates the model; what cannot
be compiled statically becomes a `not-compilable` finding.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterable, Iterator
from json.encoder import encode_basestring  # the C escaper when available
from pathlib import PurePosixPath
from typing import Any

from meshlint.compile import Artifact, CompileResult, ValidatedMesh
from meshlint.compile.envoy.bootstrap import gateway_bootstrap, node_bootstrap
from meshlint.compile.envoy.context import RULE, Ctx, unique_findings
from meshlint.compile.envoy.envoy_json import Json, SharedArray, SharedObject
from meshlint.compile.envoy.names import GATEWAY_KIND, NODE_KIND, artifact_path, safe_component
from meshlint.compile.envoy.options import CompileOptions
from meshlint.diagnostics import Finding
from meshlint.model.entities import Resource
from meshlint.unknowns import is_unknown

__all__ = ["RULE", "CompileOptions", "compile_envoy", "compile_findings", "compile_proxies", "render",
           "safe_component"]


def compile_envoy(mesh: ValidatedMesh, options: CompileOptions | None = None) -> CompileResult:
    """Every virtual node and virtual gateway of the model -> `<mesh>/virtual-nodes/<node>.json` /
    `<mesh>/virtual-gateways/<gw>.json`, sorted by path; findings sorted and without repeats."""
    return compile_proxies(mesh, options, lambda path, document: [Artifact(path, render(document))])


def compile_proxies(mesh: ValidatedMesh, options: CompileOptions | None,
                    emit: Callable[[PurePosixPath, Json], Iterable[Artifact]]) -> CompileResult:
    """Each proxy's static bootstrap (and the path `compile_envoy` gives it) through `emit`, which turns it
    into artifacts (the bootstrap itself, xDS files, deployment manifests); sorted by path. An `emit` that
    writes each artifact away as it comes (`meshlint build`) returns none, and nothing is held here."""
    ctx = Ctx(mesh.model, mesh.graph, options or CompileOptions())
    # each bootstrap goes to `emit` as soon as it is built: holding every document until the end tripled
    # the peak memory of a large build
    artifacts = sorted((a for path, document in _documents(ctx) for a in emit(path, document)),
                       key=lambda a: a.path)
    return CompileResult(artifacts=artifacts, findings=unique_findings(ctx.findings))


def compile_findings(mesh: ValidatedMesh, options: CompileOptions | None = None) -> list[Finding]:
    """What `compile_envoy` would report, without serialising anything (`meshlint check --compile`)."""
    ctx = Ctx(mesh.model, mesh.graph, options or CompileOptions())
    for _ in _documents(ctx):
        pass
    return unique_findings(ctx.findings)


def _documents(ctx: Ctx) -> Iterator[tuple[PurePosixPath, Json]]:
    for (mesh_name, name), node in sorted(ctx.model.nodes.items()):
        _unknown_mesh(ctx, node)
        yield artifact_path(mesh_name, NODE_KIND, name), node_bootstrap(ctx, node)
    for (mesh_name, name), gateway in sorted(ctx.model.gateways.items()):
        _unknown_mesh(ctx, gateway)
        yield artifact_path(mesh_name, GATEWAY_KIND, name), gateway_bootstrap(ctx, gateway)


def _unknown_mesh(ctx: Ctx, proxy: Resource) -> None:
    """A mesh whose name is unknown offline: its proxies are built, but its name in their cluster names and
    stats is the placeholder (meshlint.unknowns), which no deployed Envoy should carry."""
    if is_unknown(proxy.mesh):
        ctx.report(proxy, proxy.origin.pointer("meshName"),
                   f"the mesh name of {proxy.name!r} is unknown offline ({proxy.mesh.split(' in ')[0]}): its "
                   "bootstrap carries that placeholder in cluster names and stats tags",
                   "give the value (--parameter NAME=VALUE, a Terraform variable, or --substitute-env) and build "
                   "again")


def render(document: Json) -> bytes:
    """Sorted object keys, list order kept (routes and chains are ordered), UTF-8, trailing newline.

    Byte for byte what `json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False)` writes, three
    times faster: with `indent` the standard library falls back to its pure-Python encoder, which spent
    three quarters of a 1,000-service build. Strings still go through the C escaper. The pieces go into one
    growing buffer rather than a list of them: a gateway in front of 10,000 services is a 12 MB document,
    whose million pieces took 70 MB at once (24 MB this way). A part many documents share (envoy_json.share:
    the routes of a service, what a cluster says of its target) is written once per indentation: at 1,000
    services that was 4 in 10 of what the bootstraps hold.
    """
    out = io.StringIO()
    if isinstance(document, (dict, list, tuple)):
        _pretty(document, "\n", out.write)
    else:
        out.write(_scalar(document))
    out.write("\n")
    return out.getvalue().encode("utf-8")


_escape = encode_basestring
# A key as written, `"key": `: Envoy's field names recur on every proxy, so each is escaped once. Bounded, since
# some keys are names from the input (metadata, filter names).
_KEYS: dict[str, str] = {}
_MAX_KEYS = 4096


def _key(key: str) -> str:
    written = _escape(key) + ": "
    if len(_KEYS) < _MAX_KEYS:
        _KEYS[key] = written
    return written


def _pretty(value: Any, newline: str, write: Callable[[str], Any]) -> None:
    """`value` (a dict or list) through `write`. A member whose value is a string or an integer (most of the
    leaves) is one piece, its separator, key and value formatted together: a call per piece is the cost."""
    inner = newline + "  "
    after = "," + inner
    if type(value) is dict or type(value) is SharedObject:
        if not value:
            write("{}")
            return
        separator = "{" + inner
        keys = _KEYS
        for key in sorted(value):
            item = value[key]
            kind = type(item)
            written = keys.get(key) or _key(key)
            if kind is str:
                write(separator + written + _escape(item))
            elif kind is int:
                write(separator + written + int.__repr__(item))
            elif kind is dict or kind is list:
                write(separator + written)
                _pretty(item, inner, write)
            elif kind is SharedArray or kind is SharedObject:
                write(separator + written + _shared(item, inner))
            else:
                write(separator + written + _scalar(item))
            separator = after
        write(newline + "}")
    else:
        if not value:
            write("[]")
            return
        separator = "[" + inner
        for item in value:
            kind = type(item)
            if kind is str:
                write(separator + _escape(item))
            elif kind is dict or kind is list:
                write(separator)
                _pretty(item, inner, write)
            elif kind is SharedArray or kind is SharedObject:
                write(separator + _shared(item, inner))
            else:
                write(separator + _scalar(item))
            separator = after
        write(newline + "]")


def _shared(value: SharedArray | SharedObject, newline: str) -> str:
    """`value` as `_pretty` writes it at this indentation: made the first time, then the same text."""
    text = value.rendered.get(newline)
    if text is None:
        out = io.StringIO()
        _pretty(value, newline, out.write)
        text = value.rendered[newline] = out.getvalue()
    return text


def _scalar(value: Any) -> str:
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return "null"
    if type(value) is int:
        return int.__repr__(value)
    if type(value) is str:
        return _escape(value)
    return json.dumps(value)  # float: json's own spelling (1e-05, Infinity)
