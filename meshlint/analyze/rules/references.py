"""Identity and references: duplicate-resource, dangling-reference, mesh-not-defined, cross-mesh-reference."""

from __future__ import annotations

import difflib
from collections import defaultdict
from collections.abc import Iterator

from meshlint.analyze.context import RuleContext, finding, rule
from meshlint.config import ANY_MESH
from meshlint.diagnostics import Finding
from meshlint.model.entities import Declaration, MeshModel, is_new_version
from meshlint.model.graph import Reference, has_placeholder

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
        if has_placeholder(decl.name):
            continue  # two names unknown offline are not known to be one
        key = (decl.kind, decl.mesh, decl.name)
        first = seen.setdefault(key, decl)
        if first is decl:
            continue
        if is_new_version(first.origin, decl.origin):
            if decl.origin.format != "describe":  # compare what follows with the newest definition
                seen[key] = decl
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


def _names_by_mesh(model: MeshModel) -> dict[tuple[str, str], set[str]]:
    """(kind, mesh) -> the names declared there; built once per run, so a rule stays linear in the mesh."""
    out: dict[tuple[str, str], set[str]] = defaultdict(set)
    for decl in model.declarations:
        out[(decl.kind, decl.mesh)].add(decl.name)
    return out


def _meshes_by_name(model: MeshModel) -> dict[tuple[str, str], set[str]]:
    """(kind, name) -> the meshes that declare it."""
    out: dict[tuple[str, str], set[str]] = defaultdict(set)
    for decl in model.declarations:
        out[(decl.kind, decl.name)].add(decl.mesh)
    return out


def _other_meshes(meshes: dict[tuple[str, str], set[str]], ref: Reference) -> list[str]:
    """The meshes other than the reference's own that define what it names. A placeholder mesh
    (`${MeshName}`) may be any mesh, so it neither counts as another mesh nor makes one certain."""
    if has_placeholder(ref.mesh):
        return []
    return sorted(m for m in meshes.get((ref.kind, ref.name), ()) if m != ref.mesh and not has_placeholder(m))


def _external(ctx: RuleContext, kind: str, mesh: str, name: str) -> bool:
    """Declared to exist outside the checked files: in the config's `external:`, or by a template file the walk
    left out (in any mesh), or maybe by a Helm chart it left out that declares objects of that kind (their names
    are unknown until the chart is rendered; the chart's note says so)."""
    external = ctx.settings.external
    return (kind, mesh, name) in external or (kind, ANY_MESH, name) in external or kind in ctx.settings.unrendered


def _unresolved(ctx: RuleContext, meshes: dict[tuple[str, str], set[str]]) -> Iterator[Reference]:
    """References to a resource (not a mesh) that is not defined in the referrer's mesh. A name unknown offline
    names nothing certain, and a mesh whose name is unknown may hold resources of other stacks or files: what
    they name is unknown, not missing (meshlint.unknowns). So is a name declared in a mesh whose name is
    unknown (`MeshName: !GetAtt Mesh.MeshName` of another template): that mesh may be the referrer's."""
    return (ref for ref in ctx.graph.references if not ref.resolved and ref.role != "mesh"
            and not has_placeholder(ref.name) and not has_placeholder(ref.mesh) and ref.source.mesh_owner is None
            and not _external(ctx, ref.kind, ref.mesh, ref.name)
            and not any(has_placeholder(m) for m in meshes.get((ref.kind, ref.name), ())))


@rule("dangling-reference")
def dangling_reference(ctx: RuleContext) -> Iterator[Finding]:
    meshes = _meshes_by_name(ctx.model)
    names = _names_by_mesh(ctx.model)
    for ref in _unresolved(ctx, meshes):
        if not _other_meshes(meshes, ref):  # defined in another mesh: cross-mesh-reference reports it
            yield finding("dangling-reference", ref.source, ref.pointer,
                          f"{_referrer(ref)}, which is not defined in mesh {ref.mesh!r}", _help(names, ref))


@rule("mesh-not-defined")
def mesh_not_defined(ctx: RuleContext) -> Iterator[Finding]:
    """A mesh the resources name but the input does not define: often made by `aws appmesh create-mesh` or
    another stack, so a gap in what was checked, said once per mesh, rather than a broken reference."""
    missing_meshes: dict[str, list[Reference]] = defaultdict(list)
    for ref in ctx.graph.references:
        if ref.role == "mesh" and not ref.resolved and not has_placeholder(ref.name) \
                and ref.source.mesh_owner is None and not _external(ctx, "Mesh", ref.name, ref.name):
            missing_meshes[ref.name].append(ref)
    for mesh, refs in sorted(missing_meshes.items()):
        first = min(refs, key=lambda r: (r.source.origin.path, r.source.origin.doc))
        others = f" (and {len(refs) - 1} more resources)" if len(refs) > 1 else ""
        yield finding(
            "mesh-not-defined", first.source, first.pointer,
            f"mesh {mesh!r} is not defined in the checked files; {kind_word(first.source.kind)} "
            f"{first.source.qualified_name!r} belongs to it{others}, checked and built with App Mesh's defaults "
            "for a mesh (egress DROP_ALL)",
            f"add its Mesh resource (meshName: {mesh}) to the checked files, or declare it in the config "
            f"(external: [Mesh:{mesh}]) if another stack or a create-mesh command makes it; check the spelling",
        )


@rule("cross-mesh-reference")
def cross_mesh_reference(ctx: RuleContext) -> Iterator[Finding]:
    meshes = _meshes_by_name(ctx.model)
    for ref in _unresolved(ctx, meshes):
        elsewhere = _other_meshes(meshes, ref)
        if not elsewhere:
            continue
        where = f"mesh {elsewhere[0]!r}" if len(elsewhere) == 1 else \
            f"meshes {', '.join(repr(m) for m in elsewhere[:-1])} and {elsewhere[-1]!r}"
        yield finding(
            "cross-mesh-reference", ref.source, ref.pointer,
            f"{_referrer(ref)}, which is defined in {where}, not in mesh {ref.mesh!r}; App Mesh resolves names "
            "only within one mesh, so this names nothing (the Kubernetes controller stops with \"didn't belong to "
            "mesh\")",
            f"put both resources in one mesh (the same meshName, or a namespace that mesh selects), or define the "
            f"{kind_word(ref.kind)} in mesh {ref.mesh!r}")


def _referrer(ref: Reference) -> str:
    """'route 'r/a' targets virtual node 'b'': who names what, in the words of the reference's role."""
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
    return verbs.get(ref.role, src + " names " + target)


def _help(names: dict[tuple[str, str], set[str]], ref: Reference) -> str:
    close = difflib.get_close_matches(ref.name, sorted(names.get((ref.kind, ref.mesh), ())), n=1, cutoff=0.6)
    if close:
        return f"did you mean {close[0]!r}?"
    if ref.role == "backend":
        return "App Mesh accepts any name here and the calls then fail at run time; define the virtual service"
    return f"define the {kind_word(ref.kind)} or fix the name"
