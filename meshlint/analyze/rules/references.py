"""Identity and references: duplicate-resource, dangling-reference."""

from __future__ import annotations

import difflib
from collections import defaultdict
from collections.abc import Iterator

from meshlint.analyze.context import RuleContext, finding, rule
from meshlint.diagnostics import Finding
from meshlint.model.entities import Declaration
from meshlint.model.graph import Reference

_KIND_WORDS = {
    "Mesh": "mesh", "VirtualService": "virtual service", "VirtualRouter": "virtual router", "Route": "route",
    "VirtualNode": "virtual node", "VirtualGateway": "virtual gateway", "GatewayRoute": "gateway route",
}


def kind_word(kind: str) -> str:
    return _KIND_WORDS.get(kind, kind)


@rule("duplicate-resource")
def duplicate_resource(ctx: RuleContext) -> Iterator[Finding]:
    seen: dict[tuple[str, str, str], Declaration] = {}
    for decl in ctx.model.declarations:
        key = (decl.kind, decl.mesh, decl.name)
        first = seen.setdefault(key, decl)
        if first is decl:
            continue
        where = "earlier in this file" if first.origin.path == decl.origin.path else f"in {first.origin.path}"
        in_mesh = "" if decl.kind == "Mesh" else f" (mesh {decl.mesh})"
        yield Finding(
            "duplicate-resource",
            f"{kind_word(decl.kind)} {decl.name!r}{in_mesh} is defined twice; the first definition is {where}",
            decl.origin.path, decl.name_pointer, decl.origin.doc,
            help="delete one definition or rename it; App Mesh keeps only one resource per name",
            resource=decl.ref,
        )


@rule("dangling-reference")
def dangling_reference(ctx: RuleContext) -> Iterator[Finding]:
    missing_meshes: dict[str, list[Reference]] = defaultdict(list)
    for ref in ctx.graph.references:
        if ref.resolved:
            continue
        if ref.role == "mesh":
            missing_meshes[ref.name].append(ref)
            continue
        yield finding("dangling-reference", ref.source, ref.pointer, _message(ref), _help(ctx, ref))
    for mesh, refs in sorted(missing_meshes.items()):
        first = min(refs, key=lambda r: (r.source.origin.path, r.source.origin.doc))
        others = f" (and {len(refs) - 1} more resources)" if len(refs) > 1 else ""
        yield finding(
            "dangling-reference", first.source, first.pointer,
            f"mesh {mesh!r} is not defined; {kind_word(first.source.kind)} {first.source.qualified_name!r} "
            f"belongs to it{others}",
            f"add a Mesh resource (meshName: {mesh}) to the checked files, or check the spelling",
        )


def _message(ref: Reference) -> str:
    src = f"{kind_word(ref.source.kind)} {ref.source.qualified_name!r}"
    target = f"{kind_word(ref.kind)} {ref.name!r}"
    verbs = {
        "provider": f"{src} is provided by {target}",
        "route target": f"{src} targets {target}",
        "backend": f"{src} lists the backend {target}",
        "gateway route target": f"{src} targets {target}",
        "router": f"{src} belongs to {target}",
        "gateway": f"{src} belongs to {target}",
    }
    return f"{verbs.get(ref.role, src + ' names ' + target)}, which is not defined in mesh {ref.mesh!r}"


def _help(ctx: RuleContext, ref: Reference) -> str:
    same_mesh = sorted({d.name for d in ctx.model.declarations if d.kind == ref.kind and d.mesh == ref.mesh})
    close = difflib.get_close_matches(ref.name, same_mesh, n=1, cutoff=0.6)
    if close:
        return f"did you mean {close[0]!r}?"
    elsewhere = sorted({d.mesh for d in ctx.model.declarations if d.kind == ref.kind and d.name == ref.name})
    if elsewhere:
        return f"{ref.name!r} exists in mesh {elsewhere[0]!r}; App Mesh resolves names only within one mesh"
    if ref.role == "backend":
        return "App Mesh accepts any name here and the calls then fail at run time; define the virtual service"
    return f"define the {kind_word(ref.kind)} or fix the name"
