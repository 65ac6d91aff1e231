"""Documents of every supported format -> one typed MeshModel, plus findings about the input itself."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from meshlint.diagnostics import Finding, Position, join_pointer
from meshlint.kinds import NAME_KEY, parse_resource_name
from meshlint.load.sources import SourceFile, Sources, is_blank
from meshlint.load.substitute import PLACEHOLDER
from meshlint.model import entities as e
from meshlint.model.spec import SPEC_BY_KIND
from meshlint.normalize import appmesh_api, cloudformation, flagger, kubernetes, kustomize, templates, terraform
from meshlint.normalize.appmesh_api import RawResource

_ENTITY: dict[str, type[e.Resource]] = {
    "Mesh": e.Mesh, "VirtualService": e.VirtualService, "VirtualRouter": e.VirtualRouter, "Route": e.Route,
    "VirtualNode": e.VirtualNode, "VirtualGateway": e.VirtualGateway, "GatewayRoute": e.GatewayRoute,
}
_TABLE = {
    "Mesh": "meshes", "VirtualService": "services", "VirtualRouter": "routers", "Route": "routes",
    "VirtualNode": "nodes", "VirtualGateway": "gateways", "GatewayRoute": "gateway_routes",
}


@dataclass
class Normalized:
    model: e.MeshModel
    findings: list[Finding] = field(default_factory=list)
    files: int = 0
    resources: int = 0


@dataclass(frozen=True)
class InputOptions:
    """How to read templated and parameterised input (CLI: --parameter, --substitute-env, --env-file,
    --name-fragment)."""

    parameters: Mapping[str, str] = field(default_factory=dict)  # CloudFormation parameter values
    substitutions: Mapping[str, str] | None = None  # placeholder values (used by load_sources)
    fragments: Mapping[str, str] = field(default_factory=dict)  # path -> "Kind:mesh/name" for CLI fragments
    # display path -> "Kind:mesh/name" from the config's `fragments:` globs (Settings.fragment_name)
    fragment_names: Callable[[str], str | None] | None = None


def normalize(sources: Sources, *, verbose: bool = False, options: InputOptions | None = None) -> Normalized:
    options = options or InputOptions()
    raws: list[RawResource] = []
    findings: list[Finding] = []
    cluster = kubernetes.Cluster()
    for source in sources.files:
        if terraform.is_terraform(source.display):
            continue  # read per module folder, below
        found, notes = _read_file(source, verbose, options, cluster)
        raws.extend(found)
        findings.extend(notes)
    modules = [s for s in sources.files if terraform.is_terraform(s.display)]
    if modules:
        read = terraform.read_modules(modules, options.parameters)
        raws.extend(read.raws)
        findings.extend(read.findings)
        sources.units.extend(read.units)
    by_path = sources.by_display()
    raws.extend(raw for raw, _ in cluster.read())
    findings.extend(cluster.findings)
    order = {source.display: position for position, source in enumerate([*sources.files, *sources.units])}
    raws.sort(key=lambda raw: (order.get(raw.origin.path, 0), raw.origin.doc))  # stable: file order wins
    for path, doc, table in cluster.tables:
        by_path[path].translate(doc, table)
    model, invalid = build_model(raws)
    findings.extend(invalid)
    ignored = sum(1 for f in (*sources.findings, *findings) if f.rule == "ignored-input")
    findings.extend(_left_out(sources))
    if not raws and not any(f.rule == "parse-error" for f in (*sources.findings, *findings)):  # already fails
        findings.append(_nothing_checked(sources, ignored))
    return Normalized(model, findings, files=len(sources.files), resources=len(raws))


def _left_out(sources: Sources) -> Iterator[Finding]:
    """What folder walks left out on purpose, said once each: Helm charts, and template files together."""
    for chart, count in sorted(sources.walked.charts.items()):
        kinds = sources.walked.chart_kinds.get(chart)
        declares = (f"; they declare {', '.join(kinds)} objects, so a name of those kinds that the checked files "
                    "lack is not called dangling: it may be one of them") if kinds else ""
        yield Finding("ignored-input", f"a Helm chart: its {count} templates are not read until rendered{declares}",
                      f"{chart}/Chart.yaml", position=Position(1, 1),
                      help=f"render it into the checked folder and check again: helm template {chart} > "
                           f"{chart}.rendered.yaml" if kinds else
                           f"render it and check the result: helm template {chart} | meshlint check -")
    templates = sources.walked.templates
    if templates:
        shown = ", ".join(templates[:3]) + (f" and {len(templates) - 3} more" if len(templates) > 3 else "")
        yield Finding("ignored-input", f"{len(templates)} template file{'s' if len(templates) > 1 else ''} not read "
                      f"in the folder walk: {shown}", templates[0], position=Position(1, 1),
                      help="name a template file to check it as it is (meshlint check x.yaml.template), or render "
                           "it first (envsubst < x.yaml.template | meshlint check -); names it declares count as "
                           "defined")


def _nothing_checked(sources: Sources, ignored: int) -> Finding:
    """No App Mesh resource at all: a gate that passes on nothing must say so."""
    def count(n: int, what: str) -> list[str]:
        return [f"{n} {what}{'' if n == 1 else 's'}"] if n else []

    left = [*count(len(sources.walked.templates), "template file"), *count(len(sources.walked.charts), "Helm chart"),
            *count(ignored, "ignored input")]
    where = sources.paths[0] if sources.paths else "."
    return Finding(
        "nothing-checked",
        f"no App Mesh resource found in {len(sources.files)} file{'' if len(sources.files) == 1 else 's'}"
        + (f" (left out: {', '.join(left)})" if left else ""),
        "<stdin>" if where == "-" else where, position=Position(1, 1),
        help="check the folder that holds the mesh; name template files to read them, render Helm charts "
             "(helm template <chart> | meshlint check -); --verbose lists files with no App Mesh resource")


def _read_file(source: SourceFile, verbose: bool, options: InputOptions, cluster: kubernetes.Cluster,
               ) -> tuple[list[RawResource], list[Finding]]:
    raws: list[RawResource] = []
    findings: list[Finding] = []
    if source.empty:
        findings.append(Finding("ignored-input", "empty file", source.display, position=Position(1, 1)))
        return raws, findings
    skipped: list[str] = []
    recognised = False
    templated = _may_hold_placeholders(source.text)
    placeholders: list[tuple[str, Finding]] = []
    for index, doc in enumerate(source.docs):
        data = doc.data
        detected = appmesh_api.detect(data)
        if detected is not None:  # the common case first, making only the origin it needs
            kind, base, obj = detected
            form = "describe" if base else "api"  # `aws appmesh describe-*` output wraps the resource
            raw, notes = appmesh_api.read_resource(kind, obj, e.Origin(source.display, index, base, form))
            findings.extend(notes)
            if templated:
                placeholders.extend(_placeholder_findings(data, e.Origin(source.display, index)))
            if raw is not None:
                raws.append(raw)
            continue
        origin = e.Origin(source.display, index)
        if terraform.is_plan(data):
            found, notes, table = terraform.read_plan(data, source.display, index)
            source.translate(index, table)
            raws.extend(found)
            findings.extend(notes)
            recognised = True
        elif cloudformation.is_template(data):
            for logical_id in cloudformation.appmesh_resources(data) if templated else ():
                placeholders.extend(_placeholder_findings(data["Resources"][logical_id], origin,
                                                      join_pointer("", "Resources", logical_id)))
            found, notes, table = cloudformation.read_template(data, source.display, index, options.parameters)
            source.translate(index, table)
            raws.extend(found)
            findings.extend(notes)
            recognised = True
        elif isinstance(data, dict) and (("apiVersion" in data and "kind" in data)
                                         or kustomize.is_kustomization(data, source.display)):
            cluster.add(source.display, index, data)
            if kubernetes.is_appmesh(data) or flagger.is_appmesh_canary(data):
                recognised = True
                if templated:
                    placeholders.extend(_placeholder_findings(data, origin))
        elif appmesh_api.looks_like_fragment(data):
            if templated:
                placeholders.extend(_placeholder_findings(data, origin))
            named = _fragment_name(source, options)
            if named is None:
                raw, notes = appmesh_api.read_unnamed(data, origin)
                findings.extend(notes)
                raws.extend([raw] if raw is not None else [])
                continue
            raw, notes = appmesh_api.read_resource(named[0], {**named[1], **data}, origin)
            findings.extend(notes)
            if raw is not None:
                raws.append(raw)
        elif not is_blank(data):
            skipped.append(str(index + 1))
    findings.extend(_once_per_file(placeholders))
    if skipped and not raws and not recognised and (source.input.explicit or verbose):
        findings.append(Finding("ignored-input", "no App Mesh resource in this file", source.display,
                                help="meshlint reads the App Mesh API shape (meshName + spec), CloudFormation "
                                     "AWS::AppMesh::* resources and appmesh.k8s.aws/v1beta2 custom resources",
                                position=Position(1, 1)))
    return raws, findings


parse_fragment_name = parse_resource_name  # the --name-fragment spelling


def _fragment_name(source: SourceFile, options: InputOptions) -> tuple[str, dict[str, str]] | None:
    """The names of a spec-only fragment: from --name-fragment, else from the config's `fragments:`."""
    path = source.input.path
    for key, text in options.fragments.items():
        if key == source.display or (path is not None and Path(key).resolve() == path.resolve()):
            return parse_fragment_name(text)
    named = options.fragment_names(source.display) if options.fragment_names is not None else None
    return parse_fragment_name(named) if named is not None else None


def _may_hold_placeholders(text: str | None) -> bool:
    """False when no value of the file can hold a placeholder: one would be in the text as written, unless
    an escape (`\\x24`) spells it. Saves walking every value of every clean file."""
    # every placeholder has a `$` or a `{{`: most files are ruled out without running the pattern over them
    return text is None or "\\" in text or (("$" in text or "{{" in text) and PLACEHOLDER.search(text) is not None)


def _placeholder_findings(data: Any, origin: e.Origin, base: str = "") -> list[tuple[str, Finding]]:
    """(the variable, its finding) for each placeholder left in a value: `$X` and `${X}` are one variable."""
    return [
        (text.strip("${}") if text.startswith("$") else text,
         Finding("template-placeholder", f"template placeholder {text} left in a value", origin.path, pointer,
                 origin.doc, help="render the template first, or pass --substitute-env / --env-file FILE to "
                                  "fill ${VAR}, $VAR and {{ VAR }} placeholders"))
        for pointer, text in templates.placeholders(data, base)
    ]


def _once_per_file(placeholders: list[tuple[str, Finding]]) -> list[Finding]:
    """Each variable said once per file, at its first use in document order, with how often it recurs: what is
    unknown is unknown everywhere, and 30 warnings about one `$PROFILE` hide the one that matters."""
    first: dict[str, tuple[Finding, int]] = {}
    for variable, found in placeholders:
        seen = first.get(variable)
        first[variable] = (found, 1) if seen is None else (seen[0], seen[1] + 1)
    return [found if uses == 1 else replace(found, message=f"{found.message} (and {uses - 1} more in this file)")
            for found, uses in first.values()]


def build_model(raws: Iterable[RawResource]) -> tuple[e.MeshModel, list[Finding]]:
    tables: dict[str, dict[Any, e.Resource]] = {name: {} for name in _TABLE.values()}
    declarations: list[e.Declaration] = []
    versions: list[tuple[str, Any, e.Resource]] = []
    findings: list[Finding] = []
    for raw in raws:
        mesh = raw.scoped_mesh
        name_pointer = raw.origin.pointer(NAME_KEY[raw.kind])
        declarations.append(e.Declaration(raw.kind, mesh, raw.qualified_name, raw.origin, name_pointer))
        if not raw.valid:
            continue
        try:
            entity = _entity(raw, mesh)
        except ValidationError as err:  # the schema and the typed model disagree: report, don't crash
            findings.append(Finding("schema", f"spec does not fit the App Mesh model: {err.errors()[0]['msg']}",
                                    raw.origin.path, raw.origin.pointer("spec"), raw.origin.doc,
                                    resource=raw.ref))
            continue
        key: str | tuple[str, ...] = mesh
        if raw.kind != "Mesh":
            key = (mesh, raw.name) if raw.parent is None else (mesh, raw.parent, raw.name)
        table = tables[_TABLE[raw.kind]]
        if key in table and e.is_new_version(table[key].origin, raw.origin):
            # A definition wins over a state, and `kubectl apply` of the later file updates the object; an
            # update input is judged on top of the definition it updates. The other version is judged too.
            keep = raw.origin.format == "describe" or (e.is_update_input(raw.origin)
                                                        and table[key].origin.format != "describe")
            other = entity if keep else table[key]
            if not keep:
                table[key] = entity
            if other.origin.format != "describe":
                versions.append((_TABLE[raw.kind], key, other))
        else:
            table.setdefault(key, entity)
    # Rules iterate the model and report what they meet first: its order must be the mesh's (by name), never
    # the order files were read in, or shuffling files would change messages and fingerprints.
    for name, table in tables.items():
        tables[name] = {key: table[key] for key in sorted(table)}
    model = e.MeshModel(**tables, declarations=tuple(declarations), versions=tuple(versions))  # type: ignore[arg-type]
    return model, findings


def _entity(raw: RawResource, mesh: str) -> e.Resource:
    spec = raw.spec if raw.spec is not None else SPEC_BY_KIND[raw.kind].model_validate(raw.data.get("spec") or {})
    tags = {
        str(t.get("key")): str(t.get("value", ""))
        for t in raw.data.get("tags") or [] if isinstance(t, dict)
    }
    extra: dict[str, Any] = {}
    if raw.kind == "Route":
        extra["router"] = raw.parent
    elif raw.kind == "GatewayRoute":
        extra["gateway"] = raw.parent
    cls: Any = _ENTITY[raw.kind]
    owner = raw.data.get("meshOwner")
    return cls(mesh=mesh, name=raw.name, origin=raw.origin, tags=tags, spec=spec, unknown=raw.unknown,  # type: ignore[no-any-return]
               mesh_owner=owner if isinstance(owner, str) else None, **extra)
