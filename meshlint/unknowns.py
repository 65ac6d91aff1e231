"""Values meshlint cannot know offline, and how they travel.

An unresolved CloudFormation parameter or import, a template placeholder left in, a Terraform variable
without a default: each is reported once where it is written (`unresolved-value`, `template-placeholder`)
and otherwise carried as visible text, `${Name}`, `$NAME` or `{{ ... }}`, so that messages can show it. Every
later stage treats such a value as unknown, never as wrong: no schema error on it, no reference, duplicate or
comparison built on it. Resources whose mesh name is unknown belong to a mesh of their own file (a stack,
a module): two stacks that both say `MeshName: !Ref MeshName` may well name different meshes.

A leaf module: it imports nothing from the rest of meshlint.
"""

from __future__ import annotations

import re
from typing import Any

UNKNOWN_TEXT = re.compile(r"\$\{[^}]*\}|\$[A-Za-z_][A-Za-z0-9_]*|\{\{.*?\}\}")


def is_unknown(value: Any) -> bool:
    """Whether `value` is text that still carries an unknown (`${X}`, `$X`, `{{ x }}`)."""
    # Every unknown has a `$` or a `{{`: the substring tests settle nearly every call (names, compared in
    # every rule) without running the pattern.
    return isinstance(value, str) and ("$" in value or "{{" in value) and UNKNOWN_TEXT.search(value) is not None


def scoped_mesh(mesh: str, path: str) -> str:
    """The mesh a resource belongs to: its name when known; an unknown name is only the same mesh within one
    file (`${MeshName} in stack.yaml`), so that unrelated stacks sharing a parameter name are never merged."""
    return f"{mesh} in {path}" if is_unknown(mesh) else mesh
