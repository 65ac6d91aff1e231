"""What a rule gets to see, and the decorator that binds a rule function to its catalogue slug."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from meshlint.config import Settings
from meshlint.diagnostics import Finding
from meshlint.model.entities import MeshModel, Resource
from meshlint.model.graph import MeshGraph


@dataclass(frozen=True)
class RuleContext:
    model: MeshModel
    graph: MeshGraph
    settings: Settings

    def options(self, slug: str) -> Mapping[str, Any]:
        """The rule's `options:` mapping from the config file (empty when none is given)."""
        return self.settings.options.get(slug, {})


RuleFn = Callable[[RuleContext], Iterable[Finding]]
_REGISTERED: dict[str, RuleFn] = {}


def rule(slug: str) -> Callable[[RuleFn], RuleFn]:
    def register(fn: RuleFn) -> RuleFn:
        if slug in _REGISTERED:
            raise RuntimeError(f"rule {slug} registered twice")
        _REGISTERED[slug] = fn
        return fn

    return register


def registered() -> dict[str, RuleFn]:
    return dict(_REGISTERED)


def finding(slug: str, resource: Resource, pointer: str, message: str, help: str | None = None,
            *, at_key: bool = False) -> Finding:
    return Finding(slug, message, resource.origin.path, pointer, resource.origin.doc, help, resource.ref,
                   at_key=at_key)
