"""Run the rules and turn findings into diagnostics.

Rules only yield findings. The engine decides which rules run, stamps each finding with the rule's code
and configured severity, resolves its position through the source map, and turns a crashing rule into an
`internal-error` diagnostic (re-raised when MESHLINT_RAISE=1, as the test suite sets).
"""

from __future__ import annotations

import os
import traceback
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace

from meshlint import catalogue
from meshlint.analyze import suppressions
from meshlint.analyze.context import RuleContext
from meshlint.analyze.rules import RULES
from meshlint.config import Settings
from meshlint.diagnostics import Diagnostic, Finding, Position, ResourceRef, Severity
from meshlint.load.sources import SourceFile
from meshlint.model.entities import MeshModel, Resource
from meshlint.model.graph import MeshGraph

_ALWAYS_LOADED = ("parse-error", "schema")


@dataclass(frozen=True)
class Analysis:
    diagnostics: list[Diagnostic]
    graph: MeshGraph
    suppressions: list[suppressions.Suppression]  # every one in the input files, for the compiler's findings


def analyze(
    model: MeshModel,
    input_findings: Iterable[Finding],
    files: Mapping[str, SourceFile],
    settings: Settings,
) -> Analysis:
    graph = MeshGraph.build(model)
    context = RuleContext(model, graph, settings)
    findings = list(input_findings)
    partly_unknown = {r.ref: r for r in model.resources() if r.unknown}
    for slug, check in RULES.items():
        if settings.enabled(slug):
            reported = _guarded(slug, check, context)
            findings.extend(_known(reported, partly_unknown) if partly_unknown else reported)
    # rules known to have looked at everything; some loader rules report only on request (ignored-input
    # needs --verbose), so a suppression naming one of those is never called unused
    ran = {slug for slug in (*RULES, *_ALWAYS_LOADED) if settings.enabled(slug)}
    found = suppressions.scan(files)
    diagnostics = stamp(findings, files, settings)
    kept, problems = suppressions.apply(diagnostics, found, ran)
    about_suppressions = stamp(problems, files, settings)
    if not about_suppressions:  # `kept` is stamp's order already: distinct, sorted by a key that tells all apart
        return Analysis(kept, graph, found)
    return Analysis(sorted({*kept, *about_suppressions}, key=lambda d: d.sort_key), graph, found)


def _known(findings: Iterable[Finding], partly_unknown: Mapping[ResourceRef, Resource]) -> Iterator[Finding]:
    """Leave out what a rule found at a value unknown offline (or around it): the typed model holds a stand-in
    there, and what is unknown is reported once, by the loader (meshlint.unknowns)."""
    for f in findings:
        resource = partly_unknown.get(f.resource) if f.resource is not None else None
        if resource is None or resource.knows(f.pointer):
            yield f


def _guarded(slug: str, check: Callable[[RuleContext], Iterable[Finding]], context: RuleContext
             ) -> Iterator[Finding]:
    try:
        yield from check(context)
    except Exception as err:
        if os.environ.get("MESHLINT_RAISE") == "1":
            raise
        where = traceback.extract_tb(err.__traceback__)[-1]
        yield Finding(
            catalogue.INTERNAL_ERROR,
            f"rule {slug} crashed: {type(err).__name__}: {err} ({os.path.basename(where.filename)}:{where.lineno})",
            "<meshlint>", position=Position(1, 1),
            help="please report this with the input that triggers it; the other rules still ran",
        )


def stamp(findings: Iterable[Finding], files: Mapping[str, SourceFile], settings: Settings) -> list[Diagnostic]:
    rules = catalogue.load()
    out: set[Diagnostic] = set()
    # File by file: a file's node trees are composed once for all its positions, then let go.
    for f in sorted(findings, key=lambda f: f.path):
        f = _in_its_file(f, files)
        if f.rule == catalogue.INTERNAL_ERROR:
            code, severity = catalogue.INTERNAL_CODE, Severity.ERROR
        else:
            if not settings.enabled(f.rule) or settings.ignored_at(f.rule, f.path):
                continue
            doc = rules[f.rule]
            code, severity = doc.code, settings.severity(f.rule, doc.severity)
        position = f.position or _position(f, files)
        out.add(Diagnostic(
            rule=f.rule, code=code, severity=severity, message=f.message, path=f.path,
            line=position.line, column=position.column, pointer=_pointer(f, files), help=f.help,
            resource=f.resource, fix=f.fix,
        ))
    return sorted(out, key=lambda d: d.sort_key)


def _in_its_file(finding: Finding, files: Mapping[str, SourceFile]) -> Finding:
    """A finding about a Terraform module's resource names the `.tf` file it is written in (UnitSource)."""
    source = files.get(finding.path)
    path = source.file_for(finding.doc, finding.pointer) if source is not None else finding.path
    return finding if path == finding.path else replace(finding, path=path)


def _pointer(finding: Finding, files: Mapping[str, SourceFile]) -> str:
    """The pointer into the user's document (translated CloudFormation/Kubernetes resources map back)."""
    source = files.get(finding.path)
    return finding.pointer if source is None else source.original_pointer(finding.doc, finding.pointer)


def stamp_build(findings: Iterable[Finding], files: Mapping[str, SourceFile], settings: Settings,
                found: Sequence[suppressions.Suppression]) -> list[Diagnostic]:
    """`stamp` for the compiler's findings, with the suppressions analyze found (`Analysis.suppressions`)
    applied; analyze already reported their problems."""
    kept, _ = suppressions.apply(stamp(findings, files, settings), found, set())
    return kept


def _position(finding: Finding, files: Mapping[str, SourceFile]) -> Position:
    source = files.get(finding.path)
    if source is None:
        return Position(1, 1)
    return source.span(finding.doc, finding.pointer, at_key=finding.at_key)
