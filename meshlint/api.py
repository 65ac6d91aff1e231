"""The programmatic surface: the only module that wires every stage together.

    load -> normalize -> model (+ graph) -> analyze -> (compile) -> emit
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from meshlint.config import Settings
from meshlint.diagnostics import Diagnostic, Severity
from meshlint.model.entities import MeshModel
from meshlint.model.graph import MeshGraph


@dataclass(frozen=True)
class CheckResult:
    diagnostics: list[Diagnostic]
    model: MeshModel
    graph: MeshGraph
    files: int
    resources: int
    sources: dict[str, object]

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


def check(paths: Sequence[str], settings: Settings | None = None, *, exclude: Iterable[Path] = (),
          verbose: bool = False) -> CheckResult:
    """Load, normalise and analyse `paths`. Raises load.files.UsageError for paths that do not exist."""
    from meshlint.analyze.engine import analyze
    from meshlint.load.sources import load_sources
    from meshlint.normalize import normalize

    settings = settings or Settings()
    sources = load_sources(paths, exclude)
    normalized = normalize(sources, verbose=verbose)
    files = sources.by_display()
    analysis = analyze(normalized.model, [*sources.findings, *normalized.findings], files, settings)
    return CheckResult(analysis.diagnostics, normalized.model, analysis.graph, normalized.files,
                       normalized.resources, dict(files))
