"""Findings are a function of the mesh, not of the order it is read in: the same documents spread over other
files in another order (or the same files named in another order) give the same messages and fingerprints,
so a --baseline keeps matching (issue: timeout-chain named whichever route was read first)."""

from __future__ import annotations

import copy
import random
import tempfile
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from meshlint.cli import report
from meshlint.cli.options import Format
from meshlint.diagnostics import Diagnostic
from tests.helpers import check_in
from tests.property.helpers import FORMATS, check, describe, write_mesh
from tests.property.strategies import Doc, Mutation, mutations, plans


def _raise_listener_timeouts(docs: list[Doc]) -> list[Doc]:
    """Every HTTP-family listener of every node allows 60 s: each route in front of one that keeps the default
    15 s is a timeout-chain finding, and a node behind several routes names one of them."""
    out = copy.deepcopy(docs)
    for doc in out:
        if "virtualNodeName" in doc:
            for listener in doc.get("spec", {}).get("listeners", []):
                protocol = listener["portMapping"]["protocol"]
                if protocol != "tcp":
                    listener["timeout"] = {protocol: {"perRequest": {"value": 60, "unit": "s"}}}
    return out


def _what(d: Diagnostic) -> tuple[object, ...]:
    """Everything a diagnostic says except where it is written (which file and line moved)."""
    return (d.rule, d.code, d.severity, d.message, d.help, d.resource, d.pointer,
            d.fingerprint if d.resource is not None else None)


@given(data=st.data(), seed=st.integers(0, 2**16), fmt=st.sampled_from(FORMATS), per_file=st.integers(1, 5),
       slow_nodes=st.booleans())
def test_findings_do_not_depend_on_which_file_holds_which_document(data: st.DataObject, seed: int, fmt: str,
                                                                    per_file: int, slow_nodes: bool) -> None:
    plan = data.draw(plans(), label="plan")
    mutation: Mutation = data.draw(mutations(plan).filter(lambda m: m.name != "duplicate"), label="mutation")
    docs = _raise_listener_timeouts(mutation.docs) if slow_nodes else mutation.docs
    with tempfile.TemporaryDirectory() as tmp:
        plain = check(write_mesh(Path(tmp) / "in", docs))
        shuffled = check(write_mesh(Path(tmp) / "shuffled", docs, fmt, seed=seed, per_file=per_file))
    assert plain, describe(plain)
    assert sorted(map(_what, plain), key=repr) == sorted(map(_what, shuffled), key=repr), \
        f"{describe(plain)}\n---\n{describe(shuffled)}"


@given(data=st.data(), seed=st.integers(0, 2**16))
def test_the_report_does_not_depend_on_the_order_files_are_named(data: st.DataObject, seed: int) -> None:
    plan = data.draw(plans(), label="plan")
    mutation: Mutation = data.draw(mutations(plan), label="mutation")
    with tempfile.TemporaryDirectory() as tmp:
        folder = write_mesh(Path(tmp) / "in", mutation.docs, per_file=2)
        names = sorted(p.name for p in folder.iterdir())
        shuffled = list(names)
        random.Random(seed).shuffle(shuffled)
        reports = [[report.render(check_in(folder, order), fmt) for fmt in Format] for order in (names, shuffled)]
    assert reports[0] == reports[1]
