"""Terraform input: `aws_appmesh_*` resources in HCL modules (reader) and in plan/state JSON (plan).

The two recognisers are cheap and imported with the package; the readers (and tree-sitter) only when a run
has Terraform input, so that a YAML-only check does not pay for them at start-up.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from meshlint.diagnostics import Finding
    from meshlint.load.sources import SourceFile
    from meshlint.normalize.appmesh_api import RawResource
    from meshlint.normalize.terraform.reader import Read

SUFFIXES = (".tf", ".tfvars")


def is_terraform(path: str) -> bool:
    return path.endswith(SUFFIXES)


def is_plan(data: Any) -> bool:
    """`terraform show -json` output: a plan or a state."""
    return isinstance(data, dict) and "format_version" in data and any(
        isinstance(data.get(k), (dict, list)) for k in ("planned_values", "values", "resource_changes"))


def read_modules(files: Iterable[SourceFile], parameters: Mapping[str, str]) -> Read:
    from meshlint.normalize.terraform.reader import read_modules as read

    return read(files, parameters)


def read_plan(data: dict[str, Any], path: str, doc: int) -> tuple[list[RawResource], list[Finding], dict[str, str]]:
    from meshlint.normalize.terraform.plan import read_plan as read

    return read(data, path, doc)
