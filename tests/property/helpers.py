"""Write drawn meshes to disk in each serialisation, build them, and read the results back."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import yaml

from meshlint import api
from meshlint.compile.envoy.options import CompileOptions
from meshlint.diagnostics import Diagnostic
from tests.property.strategies import Doc, to_cloudformation, to_json, to_kubernetes, to_terraform, to_yaml

FORMATS = ("yaml", "json")  # the native format (App Mesh API / CLI input)
CLOUDFORMATION = ("cloudformation-yaml", "cloudformation-json")
OTHER_FORMATS = (*CLOUDFORMATION, "kubernetes")  # the readers in meshlint/normalize/


def write_mesh(folder: Path, docs: list[Doc], fmt: str = "yaml", *, seed: int | None = None,
               per_file: int = 4) -> Path:
    """Write `docs` into `folder` (created): YAML files of up to `per_file` documents, or one JSON file per
    document. `seed` shuffles the documents and the file names first."""
    folder.mkdir(parents=True, exist_ok=True)
    docs = list(docs)
    order = list(range(len(docs)))
    if seed is not None:
        random.Random(seed).shuffle(docs)
        random.Random(seed + 1).shuffle(order)
    if fmt == "terraform":
        (folder / "main.tf").write_text(to_terraform(docs))
    elif fmt == "kubernetes":
        (folder / "resources.yaml").write_text(yaml.safe_dump_all(to_kubernetes(docs), sort_keys=False))
    elif fmt in ("cloudformation-yaml", "cloudformation-json"):
        template = to_cloudformation(docs)
        if fmt.endswith("json"):
            (folder / "template.json").write_text(json.dumps(template, indent=1))
        else:
            (folder / "template.yaml").write_text(yaml.safe_dump(template, sort_keys=False))
    elif fmt == "json":
        for i, doc in enumerate(docs):
            (folder / f"r{order[i]:03d}.json").write_text(to_json(doc))
    else:
        chunks = [docs[i:i + per_file] for i in range(0, len(docs), per_file)]
        for i, chunk in enumerate(chunks):
            (folder / f"part{order[i]:03d}.yaml").write_text(to_yaml(chunk))
    return folder


def check(folder: Path) -> list[Diagnostic]:
    return api.check([str(folder)]).diagnostics


def describe(diagnostics: list[Diagnostic]) -> str:
    return "\n".join(f"{d.rule} {d.severity} {d.path}:{d.line} {d.message}" for d in diagnostics)


def build(folder: Path, out: Path, cert_root: Path | None = None) -> dict[str, bytes]:
    """api.build into `out`; every written file (relative POSIX path -> bytes). Fails on an error."""
    options = CompileOptions(cert_path_prefix=str(cert_root)) if cert_root is not None else CompileOptions()
    result = api.build([str(folder)], out, options=options)
    errors = [d for d in result.check.diagnostics if d.severity.name == "ERROR"]
    assert result.written is not None, describe(errors)
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


def bootstraps(files: dict[str, bytes]) -> dict[str, dict[str, Any]]:
    return {path: json.loads(content) for path, content in files.items()
            if path.endswith(".json") and "/virtual-" in path}
