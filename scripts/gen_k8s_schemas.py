"""Derive JSON Schemas of the Kubernetes format from the App Mesh controller's own CRDs.

    python scripts/gen_k8s_schemas.py                 # (re)write schemas/k8s/<Kind>.schema.json
    python scripts/gen_k8s_schemas.py --check         # exit 1, naming the files, if the committed ones differ
    python scripts/gen_k8s_schemas.py --crds DIR      # read the CRDs from DIR (default: ../shared/design/k8s-crds)

The CRDs are `config/crd/bases/appmesh.k8s.aws_*.yaml` of aws/aws-app-mesh-controller-for-k8s. Each
`openAPIV3Schema` becomes a draft 2020-12 schema of one document, judged as the API server judges it with
kubectl's default strict field validation: an unknown field of an object that does not preserve unknown
fields is an error (`additionalProperties: false`); `status` is left out (the status subresource ignores it
on create); `x-kubernetes-*` annotations are dropped. The output is committed, so that installing and
testing meshlint never need the CRDs.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
CRDS = ROOT.parent / "shared" / "design" / "k8s-crds"
DRAFT = "https://json-schema.org/draft/2020-12/schema"
ID_BASE = "https://meshlint.dev/schemas/k8s/"
VERSION = "v1beta2"
Json = dict[str, Any]


def crd_files(folder: Path) -> list[Path]:
    return sorted(folder.glob("appmesh.k8s.aws_*.yaml"))


def convert(node: Any, *, root: bool = False) -> Any:
    """An openAPIV3Schema node as a JSON Schema node (see the module docstring)."""
    if isinstance(node, list):
        return [convert(item) for item in node]
    if not isinstance(node, dict):
        return node
    out: Json = {}
    for key, value in node.items():
        if key.startswith("x-kubernetes-"):
            continue
        if key == "properties":
            out[key] = {name: convert(sub) for name, sub in value.items() if not (root and name == "status")}
        elif key in ("items", "additionalProperties") and isinstance(value, dict):
            out[key] = convert(value)
        else:
            out[key] = value
    preserves = node.get("x-kubernetes-preserve-unknown-fields") is True
    if "properties" in node and "additionalProperties" not in node and not preserves:
        out["additionalProperties"] = False
    return out


def kind_schema(crd: Json) -> tuple[str, Json]:
    names = crd["spec"]["names"]
    kind = str(names["kind"])
    version = next(v for v in crd["spec"]["versions"] if v["name"] == VERSION)
    body = convert(version["schema"]["openAPIV3Schema"], root=True)
    head: Json = {
        "$schema": DRAFT,
        "$id": f"{ID_BASE}{kind}.schema.json",
        "title": f"appmesh.k8s.aws/{VERSION} {kind}",
        "x-meshlint-kind": kind,
        "x-meshlint-scope": crd["spec"].get("scope", "Namespaced"),
    }
    return kind, head | body


def dump(schema: Json) -> str:
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def render_all(folder: Path = CRDS) -> dict[str, str]:
    """Repo-relative path -> exact text of every generated file."""
    out: dict[str, str] = {}
    for path in crd_files(folder):
        crd = yaml.safe_load(path.read_text(encoding="utf-8"))
        kind, schema = kind_schema(crd)
        out[f"schemas/k8s/{kind}.schema.json"] = dump(schema)
    return out


def write_atomic(path: Path, text: str) -> None:
    """Write to a temporary sibling, then os.replace: readers never see a half-written file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
        os.chmod(tmp, 0o644)  # mkstemp creates 0600
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def stale(files: dict[str, str]) -> list[str]:
    """Generated paths whose committed bytes differ (or that are missing), and committed ones no CRD makes."""
    def current(rel: str) -> bytes | None:
        path = ROOT / rel
        return path.read_bytes() if path.is_file() else None

    extra = [f"schemas/k8s/{p.name}" for p in (ROOT / "schemas" / "k8s").glob("*.schema.json")
             if f"schemas/k8s/{p.name}" not in files]
    return [rel for rel, text in files.items() if current(rel) != text.encode("utf-8")] + sorted(extra)


def main(argv: list[str] | None = None) -> int:
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=formatter)
    parser.add_argument("--check", action="store_true", help="only report files that differ; exit 1 if any")
    parser.add_argument("--crds", type=Path, default=CRDS, help="folder of the controller's CRD YAML files")
    args = parser.parse_args(argv)
    if not crd_files(args.crds):
        print(f"no appmesh.k8s.aws_*.yaml in {args.crds}", file=sys.stderr)
        return 2
    files = render_all(args.crds)
    changed = stale(files)
    if args.check:
        for rel in changed:
            print(f"out of date: {rel} (run python scripts/gen_k8s_schemas.py)")
        return 1 if changed else 0
    for rel in changed:
        if rel in files:
            write_atomic(ROOT / rel, files[rel])
            print(f"wrote {rel}")
        else:
            (ROOT / rel).unlink()
            print(f"removed {rel}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
