"""What a rule gets to see, and the decorator that binds a rule function to its catalogue slug."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from meshlint.config import Settings
from meshlint.diagnostics import Finding
from meshlint.model.entities import MeshModel, Resource
from meshlint.model.graph import MeshGraph

T = TypeVar("T")


@dataclass(frozen=True)
class RuleContext:
    model: MeshModel
    graph: MeshGraph
    settings: Settings
    _shared: dict[Callable[..., Any], Any] = field(default_factory=dict, repr=False, compare=False)

    def options(self, slug: str) -> Mapping[str, Any]:
        """The rule's `options:` mapping from the config file (empty when none is given)."""
        return self.settings.options.get(slug, {})

    def shared(self, compute: Callable[[RuleContext], T]) -> T:
        """`compute(self)`, computed once per run for every rule that asks: rules of one family read the same
        facts (the TLS rules the same client calls, the regex rules the same patterns). Read-only."""
        if compute not in self._shared:
            self._shared[compute] = compute(self)
        return self._shared[compute]  # type: ignore[no-any-return]


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
