"""Reading many files in two processes (meshlint.load.halves) gives what reading them here gives, in the same
order, whatever the child does; and the sources load_sources makes that way are the ones it makes alone."""

from __future__ import annotations

import os
import pickle
import signal
import threading
from pathlib import Path

import pytest

from meshlint.load import halves, sources

pytestmark = pytest.mark.skipif(not halves._two_cores(), reason="forks only on Linux with two cores")

PARENT = os.getpid()
OTHER_THREADS = halves._other_threads


@pytest.fixture(autouse=True)
def _alone(monkeypatch: pytest.MonkeyPatch) -> None:
    """Other tests leave threads running (the e2e upstream servers); these children only read and pickle."""
    monkeypatch.setattr(halves, "_other_threads", lambda: False)


def in_child() -> bool:
    return os.getpid() != PARENT


def test_the_second_half_is_read_in_a_child_and_comes_back_in_order() -> None:
    read = halves.in_halves(lambda n: (n * n, in_child()), list(range(101)), True)
    assert [square for square, _ in read] == [n * n for n in range(101)]
    assert [child for _, child in read] == [False] * 50 + [True] * 51


@pytest.mark.parametrize("how", ["raises", "exits", "killed", "unpicklable", "short"])
def test_whatever_the_child_does_the_files_are_read_here(how: str) -> None:
    def read(n: int) -> object:
        if in_child() and n == 80:
            if how == "raises":
                raise ValueError("a bug that shows only in the child")
            if how == "exits":
                os._exit(0)  # ends without sending anything
            if how == "killed":
                os.kill(os.getpid(), signal.SIGKILL)
            if how == "unpicklable":
                return lambda: n
        return n

    if how == "short":  # a child that sends back a list of the wrong length
        real = pickle.dumps
        read_plain = halves.in_halves(lambda n: n, list(range(100)), False)
        assert read_plain == list(range(100))
        try:
            pickle.dumps = lambda value, protocol=None: real(value[:-1], protocol=protocol)  # type: ignore[assignment]
            assert halves.in_halves(lambda n: (n, in_child()), list(range(100)), True) == [
                (n, False) for n in range(100)]
        finally:
            pickle.dumps = real
        return
    assert halves.in_halves(read, list(range(100)), True) == list(range(100))


def test_a_failure_here_ends_the_child_too(monkeypatch: pytest.MonkeyPatch) -> None:
    def read(n: int) -> int:
        if not in_child() and n == 10:
            raise KeyError(n)
        return n

    forked: list[int] = []
    fork = os.fork
    monkeypatch.setattr(os, "fork", lambda: forked.append(pid := fork()) or pid)
    with pytest.raises(KeyError):
        halves.in_halves(read, list(range(100)), True)
    assert len(forked) == 1
    with pytest.raises(ChildProcessError):
        os.waitpid(forked[0], os.WNOHANG)  # ended and reaped: no child left behind


def test_no_child_for_few_files_or_beside_another_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(halves, "_other_threads", OTHER_THREADS)
    assert all(not child for _, child in halves.in_halves(lambda n: (n, in_child()), list(range(100)), False))
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        assert all(not child for _, child in halves.in_halves(lambda n: (n, in_child()), list(range(100)), True))
    finally:
        stop.set()
        other.join()


NODE = """\
# file {n}
meshName: shop
virtualNodeName: node-{n}
spec:
  listeners:
  - portMapping: {{port: 8080, protocol: http}}
  serviceDiscovery:
    dns: {{hostname: node-{n}.shop.local}}
  backends:
  - virtualService: {{virtualServiceName: svc-{n}.shop.local}}
"""


def test_load_sources_reads_the_same_in_two_processes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for n in range(sources.FORK_FROM + 6):
        body = NODE.format(n=n)
        if n == 7:
            body += "  extra: {a: 1, a: 2}\n"  # a duplicate key: a parse-error found in the first half
        if n == sources.FORK_FROM:
            body = "not: [valid\n"  # a syntax error, in the child's half
        if n == 3:
            body = body.replace("hostname: node-3", "hostname: ${HOST}")  # filled in from the environment
        (tmp_path / f"node-{n:03d}.yaml").write_text(body)
    (tmp_path / "node-050.json").write_text('{"meshName": "shop", "virtualNodeName": "j", "spec": {}}')

    def loaded() -> list[object]:
        read = sources.load_sources([str(tmp_path)], substitutions={"HOST": "filled.shop.local"})
        return [read.findings, *[(f.display, f.text, f.readable, f.substituted, f.quoted,
                                  [(d.data, d.start, d.marks, d.stream_index) for d in f.docs]) for f in read.files]]

    real = sources._read
    marker = tmp_path.parent / f"{tmp_path.name}-read-in-a-child"

    def read(*args: object, **kwargs: object) -> object:
        if in_child():
            marker.touch()
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(sources, "_read", read)
    together = loaded()
    assert marker.exists() and len(together) == sources.FORK_FROM + 8
    monkeypatch.setattr(halves, "_can_fork", lambda: False)
    assert loaded() == together
    assert any("duplicate" in str(f) for f in together[0]) and any("not valid" in str(f) for f in together[0])
