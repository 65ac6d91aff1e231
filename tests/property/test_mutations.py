"""One mutation of a valid mesh (a check-clean one: no diagnostic at all) triggers exactly the rule it
breaks, at the resource it broke, and nothing else."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from meshlint.diagnostics import Diagnostic
from tests.property.helpers import check, describe, write_mesh
from tests.property.strategies import Mutation, mutations, plans


def _at(d: Diagnostic, kind: str, name: str) -> bool:
    return d.resource is not None and (d.resource.kind, d.resource.name) == (kind, name)


@given(data=st.data())
def test_one_mutation_triggers_exactly_its_rule(data: st.DataObject) -> None:
    plan = data.draw(plans(), label="plan")
    mutation: Mutation = data.draw(mutations(plan), label="mutation")
    with tempfile.TemporaryDirectory() as tmp:
        diagnostics = check(write_mesh(Path(tmp) / "in", mutation.docs))
    report = f"{mutation.name}:\n{describe(diagnostics)}"
    assert diagnostics, report
    assert mutation.rule in {d.rule for d in diagnostics}, report
    assert {d.rule for d in diagnostics} - mutation.also == {mutation.rule}, report
    if mutation.name == "duplicate":
        # the later definition is reported (written last, so last in file order)
        assert [_at(d, mutation.kind, mutation.resource) for d in diagnostics] == [True], report
    elif mutation.name == "remove-target":
        # reported at every reference to the removed node: its routes and the service it provided
        assert all(f"virtual node {mutation.resource!r}" in d.message for d in diagnostics), report
    elif mutation.name in ("weight", "weight-over"):
        assert [_at(d, mutation.kind, mutation.resource) for d in diagnostics] == [True], report
    elif mutation.name == "drop-listener-tls":
        pointer = f"/spec/listeners/{mutation.detail['listener']}"
        assert any(_at(d, mutation.kind, mutation.resource) and d.pointer == pointer for d in diagnostics), report
        # the rest: clients enforcing TLS towards the now plaintext listener (their handshake fails)
        others = [d for d in diagnostics if not _at(d, mutation.kind, mutation.resource)]
        assert all(repr(mutation.resource) in d.message for d in others), report
    elif mutation.name == "drop-client-tls":
        assert all(_at(d, mutation.kind, mutation.resource) for d in diagnostics), report
    else:  # back-edge: one cycle, reported once, whose path runs through the mutated node and service
        (cycle,) = diagnostics
        assert cycle.resource is not None and cycle.resource.kind == "VirtualNode", report
        path = cycle.message.rpartition(": ")[2].split(" -> ")
        assert mutation.resource in path and mutation.detail["service"] in path, report
