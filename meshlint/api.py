"""The programmatic surface: the only module that wires every stage together.

    load -> normalize -> model (+ graph) -> analyze -> (compile) -> emit
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from meshlint import __version__
from meshlint.config import ANY_MESH, Settings
from meshlint.diagnostics import Diagnostic, Finding, Severity
from meshlint.model.entities import MeshModel, Resource
from meshlint.model.graph import MeshGraph

if TYPE_CHECKING:
    from meshlint.analyze.suppressions import Suppression
    from meshlint.compile import Artifact, ValidatedMesh
    from meshlint.compile.envoy.envoy_json import Json
    from meshlint.compile.envoy.options import CompileOptions
    from meshlint.emit.writer import WriteResult
    from meshlint.load.sources import SourceFile
    from meshlint.normalize import InputOptions
    from meshlint.trace.request import TraceRequest
    from meshlint.trace.result import Trace


@dataclass(frozen=True)
class CheckResult:
    diagnostics: list[Diagnostic]
    model: MeshModel
    graph: MeshGraph
    files: int
    resources: int
    sources: dict[str, SourceFile]  # by display path
    suppressions: Sequence[Suppression] = ()  # every one in the input files: the compiler's findings obey them

    def count(self, severity: Severity) -> int:
        return sum(1 for d in self.diagnostics if d.severity == severity)

    def failed(self, fail_on: Severity) -> bool:
        return any(d.severity >= fail_on for d in self.diagnostics)

    def summary(self) -> dict[str, int]:
        return {
            "files": self.files,
            "resources": self.resources,
            "errors": self.count(Severity.ERROR),
            "warnings": self.count(Severity.WARNING),
            "infos": self.count(Severity.INFO),
        }


@contextmanager
def paused_gc() -> Iterator[None]:
    """Every document and resource stays alive until the run ends, and they hold no reference cycles worth
    collecting; CPython's cyclic GC would still rescan that growing heap again and again (3x the cost of
    normalising a 1,000-service mesh). Pause it for the run; reference counting frees everything as usual."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def check(paths: Sequence[str], settings: Settings | None = None, *, exclude: Iterable[Path] = (),
          verbose: bool = False, inputs: InputOptions | None = None, compile: bool = False) -> CheckResult:
    """Load, normalise and analyse `paths`. Raises load.files.UsageError for paths that do not exist.

    `compile`: when nothing is an error, also run the compiler (options from the config's `build:` section,
    nothing serialised or written) and report what `build` would report as not-compilable.
    """
    from meshlint.analyze.engine import analyze
    from meshlint.load.sources import load_sources
    from meshlint.normalize import InputOptions, normalize

    settings = settings or Settings()
    inputs = replace(inputs or InputOptions(), fragment_names=settings.fragment_name if settings.fragments else None)
    with paused_gc():
        sources = load_sources(paths, exclude, inputs.substitutions,
                               settings.excluded if settings.exclude or settings.cli_exclude else None)
        normalized = normalize(sources, verbose=verbose, options=inputs)
        files = sources.by_display()
        if sources.walked.templates:
            settings = replace(settings, external=settings.external | _declared_in(sources.walked.templates, inputs))
        if sources.walked.chart_kinds:
            settings = replace(settings, unrendered=frozenset(k for kinds in sources.walked.chart_kinds.values()
                                                              for k in kinds))
        found = [*sources.findings, *normalized.findings]
        analysis = analyze(normalized.model, found, files, settings)
        diagnostics = analysis.diagnostics
        if normalized.model.versions:
            diagnostics = _with_versions(diagnostics, normalized.model, found, files, settings)
    checked = CheckResult(diagnostics, normalized.model, analysis.graph, normalized.files,
                          normalized.resources, dict(files), analysis.suppressions)
    if compile and not checked.failed(Severity.ERROR):
        from meshlint.compile import ValidatedMesh
        from meshlint.compile.envoy import compile_findings

        with paused_gc():
            found = compile_findings(ValidatedMesh(checked.model, checked.graph), compile_options(settings))
        checked = _with_build_findings(checked, found, settings)
    return checked


_MAX_VERSION_FILES = 200  # files holding other versions judged one by one (each is one more analysis)


def _with_versions(diagnostics: list[Diagnostic], model: MeshModel, found: Sequence[Finding],
                   files: Mapping[str, SourceFile], settings: Settings) -> list[Diagnostic]:
    """Judge each file that holds other versions of resources (a canary step's update input, a Kubernetes
    object applied again) as the mesh would be after it: its resources in place of the versions in the model,
    the rest as it is. What that finds in the file and the run over the model did not find is added; what
    the model's run found already (a missing mesh, a short service name of the same resource) is said once.
    Suppression comments of the file are judged by its own run."""
    from meshlint.analyze.engine import analyze
    from meshlint.analyze.rules import SUPPRESSION_RULES

    by_path: dict[str, list[tuple[str, Any, Resource]]] = {}
    for version in model.versions:
        by_path.setdefault(version[2].origin.path, []).append(version)
    judged = sorted(by_path)[:_MAX_VERSION_FILES]
    said = {(d.rule, d.message, d.resource) for d in diagnostics}
    out = [d for d in diagnostics if d.path not in judged or d.rule not in SUPPRESSION_RULES]
    for path in judged:
        tables: dict[str, dict[Any, Resource]] = {}
        for table, key, resource in by_path[path]:
            tables.setdefault(table, dict(getattr(model, table)))[key] = resource
        after = replace(model, versions=(), **tables)  # type: ignore[arg-type]
        out.extend(d for d in analyze(after, [f for f in found if f.path == path], files, settings).diagnostics
                   if d.path == path and (d.rule in SUPPRESSION_RULES or (d.rule, d.message, d.resource) not in said))
    return sorted(set(out), key=lambda d: d.sort_key)


def _declared_in(templates: Sequence[str], inputs: InputOptions) -> frozenset[tuple[str, str, str]]:
    """What the template files a folder walk left out declare, as `external:` entries of any mesh: they are not
    checked (their placeholders are filled at deploy time), but a name one of them defines is not missing."""
    from meshlint.load.sources import load_sources
    from meshlint.model.graph import has_placeholder
    from meshlint.normalize import normalize

    model = normalize(load_sources(templates, (), inputs.substitutions), options=inputs).model
    return frozenset((d.kind, ANY_MESH, d.name) for d in model.declarations if not has_placeholder(d.name))


def _with_build_findings(checked: CheckResult, findings: Sequence[Finding], settings: Settings) -> CheckResult:
    """`checked` plus the compiler's findings, stamped and filtered like check's own."""
    from meshlint.analyze.engine import stamp_build
    from meshlint.analyze.rules import BUILD_RULES

    # --select narrows what check reports, but never hides what the compiler could not compile: only an
    # explicit --ignore (or severity off) does.
    build_settings = settings if settings.select is None else replace(
        settings, select=settings.select | BUILD_RULES)
    stamped = stamp_build(findings, checked.sources, build_settings, checked.suppressions)
    diagnostics = sorted({*checked.diagnostics, *stamped}, key=lambda d: d.sort_key)
    return replace(checked, diagnostics=diagnostics)


@dataclass(frozen=True)
class BuildResult:
    check: CheckResult  # its diagnostics include what the compiler could not compile
    written: WriteResult | None  # None: an error was found, and the output folder was left untouched
    warnings: tuple[str, ...] = ()  # e.g. a topology Graphviz could not draw (its SVG is left out)
    drift: list[str] | None = None  # check_only: how `out` differs from what a build would write ([]: not at all)


def build(paths: Sequence[str], out: Path, settings: Settings | None = None,
          options: CompileOptions | None = None, *, verbose: bool = False,
          inputs: InputOptions | None = None, check_only: bool = False) -> BuildResult:
    """Check `paths`; with no error, compile them and write the tree into `out` atomically.

    `out` is never read as input. `options` default to `compile_options(settings)`. Raises UsageError (bad
    paths) and emit.writer.OutputError (an output folder that cannot be written safely). Once check found no
    error, the sources keep their text but not their parsed documents (SourceFile.keep_positions_only).
    """
    from meshlint.compile import ValidatedMesh
    from meshlint.emit import writer

    settings = settings or Settings()
    writer.refuse_inputs(out, paths)  # a bad --out is a usage error before any work, not after
    root = writer.resolve_out(out)
    options = options or compile_options(settings)
    checked = check(paths, settings, exclude=[out], verbose=verbose, inputs=inputs)
    if checked.failed(Severity.ERROR):
        return BuildResult(checked, None)
    for source in checked.sources.values():  # positions of the compiler's findings come from the text now
        source.keep_positions_only()
    # Everything from here on (compiling, drawing, writing) allocates while check's model and graph are alive:
    # with the cyclic GC on, its rescans of that heap were a second of a 1,000-service build.
    with paused_gc():
        return _compile_and_write(ValidatedMesh(checked.model, checked.graph), checked, out, root, settings,
                                  options, check_only)


def _compile_and_write(mesh: ValidatedMesh, checked: CheckResult, out: Path, root: Path, settings: Settings,
                       options: CompileOptions, check_only: bool) -> BuildResult:
    """`build` once check found no error: compile `mesh` and write it into `out` (or compare, `check_only`)."""
    from meshlint.emit import writer

    generator = f"meshlint {__version__}"
    warnings: list[str] = []
    if check_only:  # `build --check`: compare with what `out` holds, write nothing (SVGs are not compared)
        from meshlint.emit.drift import Comparison

        comparison = Comparison(out)
        checked = _compile_into(comparison.add, mesh, checked, settings, options, root, None)
        return BuildResult(checked, None, drift=None if checked.failed(Severity.ERROR) else comparison.result())
    if options.xds:  # running Envoys watch these folders: updated in place, in xDS order, once all are made
        from meshlint.emit.xds import write_live

        artifacts: list[Artifact] = []
        checked = _compile_into(artifacts.append, mesh, checked, settings, options, root, warnings)
        if checked.failed(Severity.ERROR):
            return BuildResult(checked, None)
        return BuildResult(checked, write_live(out, artifacts, generator), tuple(warnings))
    # Each file goes into the new tree as soon as it is made: holding the output until the swap took twice
    # the memory check needs.
    with writer.NewTree(out) as tree:
        checked = _compile_into(tree.add, mesh, checked, settings, options, root, warnings)
        if checked.failed(Severity.ERROR):
            return BuildResult(checked, None)  # leaving the block removes the unfinished tree
        return BuildResult(checked, tree.commit(generator), tuple(warnings))


def _compile_into(add: Callable[[Artifact], None], mesh: ValidatedMesh, checked: CheckResult, settings: Settings,
                  options: CompileOptions, root: Path, warnings: list[str] | None) -> CheckResult:
    """Compile `mesh`, handing each artifact to `add` as soon as it is made; `checked` plus the compiler's
    findings. An error among them stops the build after the proxies. `warnings`: where to say what the topology
    SVGs could not show (None: no SVGs, `build --check` does not compare them)."""
    from meshlint.compile.dot import compile_topology
    from meshlint.compile.envoy import compile_proxies
    from meshlint.compile.metrics import compile_metrics
    from meshlint.deploy import emitter

    emit = emitter(options, str(root))

    def emit_into(path: PurePosixPath, document: Json) -> list[Artifact]:
        for artifact in emit(path, document):
            add(artifact)
        return []

    compiled = compile_proxies(mesh, options, emit_into)
    checked = _with_build_findings(checked, compiled.findings, settings)
    if checked.failed(Severity.ERROR):
        return checked
    for artifact in compile_metrics(mesh, options):
        add(artifact)
    drawn = compile_topology(mesh, checked.diagnostics) if warnings is None else _topology(
        mesh, checked.diagnostics, warnings)
    for artifact in drawn:
        add(artifact)
    return checked


def _topology(mesh: ValidatedMesh, diagnostics: Sequence[Diagnostic], warnings: list[str]) -> list[Artifact]:
    """`<mesh>/topology.dot` per mesh, plus `topology.svg` beside it where Graphviz is installed, the diagram is
    within its bounds, and the build's Graphviz budget lasts (emit.render)."""
    from meshlint.compile import Artifact
    from meshlint.compile.dot import compile_topology
    from meshlint.emit import render

    dots = compile_topology(mesh, diagnostics)
    drawn: Sequence[bytes | str | None] = render.render_svgs([d.content for d in dots]) or [None] * len(dots)
    found, late = [], []
    for dot, svg in zip(dots, drawn, strict=True):
        found.append(dot)
        path = dot.path.with_suffix(".svg")
        if isinstance(svg, bytes):
            found.append(Artifact(path, svg))
        elif svg == render.BUDGET_SPENT:
            late.append(dot.path)
        elif svg is not None:  # the bootstraps matter more than the picture: keep going without it
            warnings.append(f"{path} not written: {svg}")
    if late:
        warnings.append(f"{len(late):,} topology.svg not written ({late[0]} first): Graphviz had used the "
                        f"{render.BUILD_BUDGET:g} s a build gives it; the DOT files are written: draw them when "
                        "needed, inside the output folder: dot -Tsvg -O */topology.dot")
    return found


def compile_options(settings: Settings, flags: Mapping[str, Any] | None = None) -> CompileOptions:
    """CompileOptions from the config file's `build:` section with `flags` (CompileOptions field -> value,
    as config.build_option gives them) on top; mapping-valued options merge key by key, the flag winning.

    Raises UsageError naming the flag or config key whose value CompileOptions rejects.
    """
    from meshlint.compile.envoy.options import CompileOptions, OptionConflict
    from meshlint.config import BUILD_OPTIONS
    from meshlint.load.files import UsageError

    flag_of = {name: key for key, name in BUILD_OPTIONS.items()}
    config = f"{settings.source}: build." if settings.source else "build."
    merged: dict[str, Any] = {}
    for origin, values in ((config, settings.build), ("--", flags or {})):
        for name, value in values.items():
            try:
                CompileOptions(**{name: value})  # one at a time, so the message names the culprit
            except OptionConflict:
                pass  # judged with all the others below
            except ValueError as err:
                raise UsageError(f"{origin}{flag_of.get(name, name)}: {err}") from None
            base = merged.get(name)
            merged[name] = {**base, **value} if isinstance(base, Mapping) and isinstance(value, Mapping) else value
    try:
        return CompileOptions(**merged)
    except ValueError as err:
        raise UsageError(f"build options: {err}") from None


@dataclass(frozen=True)
class GraphResult:
    check: CheckResult
    dot: str  # every mesh in one DOT document, check's findings drawn on it


def graph(paths: Sequence[str], settings: Settings | None = None, *, exclude: Iterable[Path] = (),
          verbose: bool = False, inputs: InputOptions | None = None, collapse: bool = False) -> GraphResult:
    """Check `paths` and draw the topology of every mesh as DOT, findings overlaid (errors or not); `collapse`:
    one box per virtual service instead (compile.dot_collapsed), for meshes too large for the full diagram.

    Raises UsageError for paths that do not exist. Rendering is the caller's: emit.render.render(result.dot, fmt).
    """
    from meshlint.compile import ValidatedMesh
    from meshlint.compile.dot import topology_dot
    from meshlint.compile.dot_collapsed import collapsed_dot

    checked = check(paths, settings, exclude=exclude, verbose=verbose, inputs=inputs)
    # Not validated: the diagram is how a mesh with errors gets looked at, and the DOT writer copes with them.
    draw = collapsed_dot if collapse else topology_dot
    return GraphResult(checked, draw(ValidatedMesh(checked.model, checked.graph), checked.diagnostics))


def check_roots(roots: Sequence[tuple[str, Settings, Sequence[Path]]], *, verbose: bool = False,
                inputs: InputOptions | None = None, compile: bool = False) -> CheckResult:
    """Check each (path, its settings, folders to leave out) on its own — one mesh root each, see
    meshlint.roots — and merge the results into one report."""
    results = [check([path], settings, exclude=exclude, verbose=verbose, inputs=inputs, compile=compile)
               for path, settings, exclude in roots]
    if len(results) == 1:
        return results[0]
    first = results[0]
    diagnostics = sorted({d for r in results for d in r.diagnostics}, key=lambda d: d.sort_key)
    sources = {path: source for r in results for path, source in r.sources.items()}
    return replace(first, diagnostics=diagnostics, files=sum(r.files for r in results),
                   resources=sum(r.resources for r in results), sources=sources,
                   suppressions=[s for r in results for s in r.suppressions])


@dataclass(frozen=True)
class TraceResult:
    check: CheckResult
    trace: Trace
    findings: list[Diagnostic]  # check's findings, and what the compiler reported, on the request's path


def trace(paths: Sequence[str], origin: str, request: TraceRequest, settings: Settings | None = None,
          options: CompileOptions | None = None, *, inputs: InputOptions | None = None) -> TraceResult:
    """Check `paths`, then follow `request` from `origin` (NODE, gateway/GATEWAY, MESH/NODE) through the
    Envoys the compiler makes of them. Raises UsageError for bad paths or an unknown origin."""
    from meshlint.analyze.engine import stamp_build
    from meshlint.compile import ValidatedMesh
    from meshlint.load.files import UsageError
    from meshlint.trace import OriginError, resolve_origin
    from meshlint.trace import trace as follow

    settings = settings or Settings()
    checked = check(paths, settings, inputs=inputs)
    # Not validated: a trace is how a mesh with errors gets understood; the findings on the path say what
    # build would refuse.
    mesh = ValidatedMesh(checked.model, checked.graph)
    try:
        source = resolve_origin(mesh, origin)
    except OriginError as err:
        raise UsageError(str(err)) from None
    traced = follow(mesh, source, request, options or compile_options(settings))
    found = {*checked.diagnostics, *stamp_build(traced.findings, checked.sources, settings, checked.suppressions)}
    on_path = sorted((d for d in found if d.resource in traced.on_path), key=lambda d: d.sort_key)
    return TraceResult(checked, traced.trace, on_path)
