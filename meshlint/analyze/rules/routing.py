"""Routing rules over weighted targets: weights-sum, tcp-zero-weight."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

from meshlint.analyze.context import RuleContext, finding, rule
from meshlint.diagnostics import Finding, Fix, join_pointer, parent_pointer
from meshlint.model.entities import Route
from meshlint.model.graph import Target, route_type


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


def weighted_routes(ctx: RuleContext) -> Iterator[tuple[Route, list[Target], int, str]]:
    """(route, its weighted targets, their total, pointer of the weightedTargets list) for every route."""
    for route in ctx.model.routes.values():
        targets = ctx.graph.targets(route)
        if targets:
            yield route, targets, sum(t.weight for t in targets), parent_pointer(targets[0].pointer)


@rule("weights-sum")
def weights_sum(ctx: RuleContext) -> Iterator[Finding]:
    for route, targets, total, pointer in weighted_routes(ctx):
        if total == 100 or total == 0 or total > 100:
            continue  # 0 and above 100 are rejected outright: weights-invalid reports them
        if sum(1 for t in targets if t.weight > 0) == 1:
            continue  # one target receives every request whatever its weight (`weight: 1` is the usual spelling),
            # also beside targets parked at 0 (a rollout's first or last step: v1 1, v2 0)
        message = f"weights of route {route.qualified_name!r} add up to {total}, not 100"
        applied, fixed = split_texts(targets)
        help_text = f"App Mesh reads weights as relative and would split {applied}; write {fixed} to say so"
        yield replace(finding("weights-sum", route, pointer, message, help_text), fix=_weights_fix(route.origin.doc,
                                                                                                   targets))


@rule("tcp-zero-weight")
def tcp_zero_weight(ctx: RuleContext) -> Iterator[Finding]:
    """A weight-0 target parks a canary on HTTP routes, but Envoy's tcp_proxy takes weights of 1 and up only:
    the compiler leaves such a target out (compile/envoy/routes.py `weighted`)."""
    for route, targets, total, _ in weighted_routes(ctx):
        if total == 0 or route_type(route.spec) != "tcp_route":
            continue  # all zero: weights-invalid reports the route
        live = {(t.node, t.port) for t in targets if t.weight > 0}
        for target in targets:
            if target.weight != 0 or (target.node, target.port) in live:
                continue  # the same node and port also gets a weight: duplicate-target reports the pair
            yield finding(
                "tcp-zero-weight", route, target.pointer + "/weight",
                f"tcp route {route.qualified_name!r} gives virtual node {target.node!r} weight 0; App Mesh accepts "
                "it, but Envoy's tcp_proxy takes no weight below 1, so meshlint build leaves the target out of "
                "the bootstrap: on TCP the target is not parked, it is not there at all",
                f"remove the target, or give {target.node!r} a weight of 1 or more if it should get connections")


def _weights_fix(doc: int, targets: list[Target]) -> Fix:
    """The same split, written as percentages (`meshlint check --fix`): safe, App Mesh routes exactly as now."""
    weights = largest_remainder([t.weight for t in targets])
    edits = tuple((join_pointer(t.pointer, "weight"), w) for t, w in zip(targets, weights, strict=True))
    return Fix(f"weights as percentages: {', '.join(f'{t.node}: {w}' for t, w in zip(targets, weights, strict=True))}",
               doc, edits)


def split_texts(targets: list[Target]) -> tuple[str, str]:
    """The split App Mesh applies ('v1 88.9%, v2 11.1%') and the weights that say it ('v1: 89, v2: 11')."""
    total = sum(t.weight for t in targets)
    applied = ", ".join(f"{t.node} {_percent(t.weight * 100 / total)}" for t in targets)
    fixed = ", ".join(f"{t.node}: {w}" for t, w in zip(targets, largest_remainder(
        [t.weight for t in targets]), strict=True))
    return applied, fixed
