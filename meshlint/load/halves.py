"""A long list of input files read in two processes, on a machine with a second core.

Reading a file is libyaml composing it and a Python walk over its nodes, both holding the interpreter's lock:
one process reads one file at a time, and at 1,000 services reading is two fifths of a check. A forked child
reads the second half of the list while this process reads the first, then hands its results back pickled
(pickling and unpickling them cost a tenth of reading them).

Only where forking is cheap and safe (Linux, no other thread running) and two cores are there to use. Never
at the cost of an answer: whatever goes wrong in the child (it fails, dies, is killed, or sends back something
unreadable), this process reads those files itself, and the result is the same list in the same order.
"""

from __future__ import annotations

import os
import pickle
import sys
import threading
from collections.abc import Callable, Sequence
from typing import TypeVar

_T = TypeVar("_T")
_R = TypeVar("_R")


def in_halves(read: Callable[[_T], _R], items: Sequence[_T], worthwhile: bool) -> list[_R]:
    """`[read(item) for item in items]`, the second half read in a forked child when `worthwhile` and the
    machine allows it. `read` must return what pickle can carry."""
    if not worthwhile or len(items) < 2 or not _can_fork():
        return [read(item) for item in items]
    cut = len(items) // 2
    theirs = items[cut:]
    receive, send = os.pipe()
    try:
        pid = os.fork()
    except OSError:
        os.close(receive)
        os.close(send)
        return [read(item) for item in items]
    if pid == 0:
        _child(read, theirs, receive, send)  # never returns
    os.close(send)
    payload = b""
    try:
        mine = [read(item) for item in items[:cut]]
        with os.fdopen(receive, "rb") as pipe:
            receive = -1
            payload = pipe.read()
    finally:
        if receive != -1:  # this process failed first: the child's writes now fail, and it ends
            os.close(receive)
        _, status = os.waitpid(pid, 0)
    return mine + _theirs(read, theirs, payload, status)


def _theirs(read: Callable[[_T], _R], theirs: Sequence[_T], payload: bytes, status: int) -> list[_R]:
    """The child's results, or the same read here when the child did not deliver them whole."""
    if os.waitstatus_to_exitcode(status) == 0:
        try:
            results = pickle.loads(payload)
        except Exception:  # anything unreadable: the files are read here
            results = None
        if isinstance(results, list) and len(results) == len(theirs):
            return results
    return [read(item) for item in theirs]


def _child(read: Callable[[_T], _R], items: Sequence[_T], receive: int, send: int) -> None:
    """In the forked child: read `items`, send the results, end without running anything of the parent's
    (no atexit handlers, no flushing of its buffered output)."""
    code = 1
    try:
        os.close(receive)
        payload = pickle.dumps([read(item) for item in items], protocol=pickle.HIGHEST_PROTOCOL)
        with os.fdopen(send, "wb") as pipe:
            pipe.write(payload)
        code = 0
    finally:
        os._exit(code)


def _can_fork() -> bool:
    return _two_cores() and not _other_threads()


def _two_cores() -> bool:
    """Linux (fork is cheap there, and the default elsewhere is not to), and two cores this process may use."""
    if sys.platform != "linux":
        return False
    try:
        return len(os.sched_getaffinity(0)) >= 2
    except OSError:
        return False


def _other_threads() -> bool:
    """A fork copies only this thread: a lock another one held would stay held in the child."""
    return threading.active_count() > 1
