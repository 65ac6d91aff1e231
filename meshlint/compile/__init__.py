"""Compile a validated mesh into artifacts (Envoy bootstraps, topology DOT). Pure: no I/O here.

The compiler reads only the model and the graph (never load/normalize/analyze). Features that cannot be
compiled statically come back as findings, never as a crash or a silent drop.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import PurePosixPath

from meshlint.diagnostics import Finding
from meshlint.model.entities import MeshModel
from meshlint.model.graph import MeshGraph


@dataclass(frozen=True)
class ValidatedMesh:
    """A mesh that `check` passed with no error. Only `api.build` creates one."""

    model: MeshModel
    graph: MeshGraph


@dataclass(frozen=True)
class Artifact:
    """One output file: a relative POSIX path inside the output folder, and its exact bytes."""

    path: PurePosixPath
    content: bytes


@dataclass
class CompileResult:
    artifacts: list[Artifact] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
