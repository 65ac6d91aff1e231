"""Routing rules: weights-sum."""

from __future__ import annotations

from collections.abc import Iterator

from meshlint.analyze.context import RuleContext, finding, rule
from meshlint.diagnostics import Finding, parent_pointer
from meshlint.model.graph import route_targets


def largest_remainder(weights: list[int], total: int = 100) -> list[int]:
    """Scale weights to integers that add up to `total`, keeping the split as close as integers allow."""
    current = sum(weights)
    if current <= 0:
        return list(weights)
    exact = [w * total / current for w in weights]
    floors = [int(x) for x in exact]
    short = total - sum(floors)
    by_remainder = sorted(range(len(weights)), key=lambda i: (-(exact[i] - floors[i]), i))
    for i in by_remainder[:short]:
        floors[i] += 1
    return floors


def _percent(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".") + "%"


@rule("weights-sum")
def weights_sum(ctx: RuleContext) -> Iterator[Finding]:
    for route in ctx.model.routes.values():
        targets = route_targets(route)
        if not targets:
            continue
        total = sum(t.weight for t in targets)
        if total == 100:
            continue
        pointer = parent_pointer(targets[0].pointer)
        message = f"weights of route {route.qualified_name!r} add up to {total}, not 100"
        if total == 0:
            help_text = "no target would get traffic, and Envoy rejects a split whose weights are all 0"
        else:
            applied = ", ".join(f"{t.node} {_percent(t.weight * 100 / total)}" for t in targets)
            fixed = ", ".join(f"{t.node}: {w}" for t, w in zip(targets, largest_remainder(
                [t.weight for t in targets]), strict=True))
            if total > 100:
                help_text = f"App Mesh rejects a total above 100; to keep the ratio ({applied}) write {fixed}"
            else:
                help_text = f"App Mesh reads weights as relative and would split {applied}; write {fixed} to say so"
        yield finding("weights-sum", route, pointer, message, help_text)
