"""Build a validated mesh from a fixture folder, compile it, and prove the output with a real Envoy."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from meshlint.compile import Artifact, CompileResult, ValidatedMesh
from meshlint.compile.envoy import CompileOptions, compile_envoy
from meshlint.compile.metrics import compile_metrics
from meshlint.load.sources import load_sources
from meshlint.model.graph import MeshGraph
from meshlint.normalize import normalize
from tests.support.envoy import CertFiles, assert_envoy_accepts, rewrite_filenames, strict_parse

REPO = Path(__file__).resolve().parents[2]
CASES = REPO / "fixtures" / "compile"
FIXTURE_CERTS = "/etc/envoy/certs/"  # the directory fixture inputs and options name certificates in
CASE_NAMES = sorted(p.name for p in CASES.iterdir() if (p / "input").is_dir())


def case_documents(case: Path) -> list[str]:
    """The YAML documents of a case's input, in file order."""
    docs: list[str] = []
    for path in sorted((case / "input").glob("*.yaml")):
        docs += [d.strip() for d in path.read_text().split("\n---\n") if d.strip()]
    return docs


def validated_mesh(*paths: Path | str) -> ValidatedMesh:
    normalized = normalize(load_sources([str(p) for p in paths]))
    assert normalized.findings == [], normalized.findings
    return ValidatedMesh(normalized.model, MeshGraph.build(normalized.model))


def case_options(case: Path) -> CompileOptions:
    """`<case>/options.yaml` holds CompileOptions fields (cert_map values as two-item lists)."""
    path = case / "options.yaml"
    raw: dict[str, Any] = yaml.safe_load(path.read_text()) if path.exists() else {}
    if "cert_map" in raw:
        raw["cert_map"] = {arn: tuple(pair) for arn, pair in raw["cert_map"].items()}
    return CompileOptions(**raw)


def compile_case(case: Path, options: CompileOptions | None = None) -> CompileResult:
    return compile_envoy(validated_mesh(case / "input"), options or case_options(case))


def metrics_files(case: Path, options: CompileOptions | None = None) -> list[Artifact]:
    """The App Mesh metrics files `meshlint build` writes beside the case's bootstraps."""
    return compile_metrics(validated_mesh(case / "input"), options or case_options(case))


def findings_json(result: CompileResult) -> list[dict[str, object]]:
    """Findings as golden data: file names only, so the checkout location does not matter."""
    return [{"rule": f.rule, "path": Path(f.path).name, "pointer": f.pointer, "message": f.message,
             "help": f.help, "resource": f.resource.to_json() if f.resource else None}
            for f in result.findings]


def render_json(data: object) -> bytes:
    return (json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()


def cert_mapping(certs: CertFiles) -> dict[str, str]:
    """Every fixture certificate path -> the session's generated file of the same name (real paths map to
    themselves, for output compiled with `cert_path_prefix`)."""
    files = sorted(certs.dir.iterdir())
    return {FIXTURE_CERTS + p.name: str(p) for p in files} | {str(p): str(p) for p in files}


def envoy_proof(documents: Iterable[tuple[str, bytes]], certs: CertFiles, out_dir: Path) -> list[Path]:
    """Strict-parse every bootstrap, map fixture cert paths to real files, and validate them all in one
    batch with `envoy --mode validate` (deprecated fields fail)."""
    mapping: Mapping[str, str] = cert_mapping(certs)
    paths: list[Path] = []
    out_dir.mkdir(parents=True, exist_ok=True)
    for index, (label, content) in enumerate(documents):
        document = rewrite_filenames(json.loads(content), mapping)
        try:
            strict_parse(document)
        except ValueError as exc:
            raise AssertionError(f"{label}: {exc}") from exc
        path = out_dir / f"{index:03d}-{Path(label).name}"
        path.write_text(json.dumps(document))
        paths.append(path)
    if paths:
        assert_envoy_accepts(paths)
    return paths


def proven(result: CompileResult, certs: CertFiles, out_dir: Path) -> dict[str, Any]:
    """Validate every artifact with Envoy (one batch), then return them parsed, keyed by artifact path."""
    envoy_proof([(a.path.as_posix(), a.content) for a in result.artifacts], certs, out_dir)
    return {a.path.as_posix(): json.loads(a.content) for a in result.artifacts}


def walk(node: Any) -> Iterable[dict[str, Any]]:
    """Every JSON object in a document, depth first."""
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for item in node:
            yield from walk(item)


def clusters(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in document["static_resources"]["clusters"]}


def listeners(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {lst["name"]: lst for lst in document["static_resources"]["listeners"]}
