"""`meshlint build --watch`: build, then build again whenever an input file changes, until interrupted.

Polling, not inotify: no dependency, and the same on every platform; a poll walks the inputs as a build walks
them (a new file in a folder counts), plus the config file.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

import typer

WATCH_POLL_S = 0.5


def watch(once: Callable[[], int], paths: list[str], out: Path, config: Path | None) -> NoReturn:
    """Build, then poll the input files (walked as a build walks them, plus the config file) and build again
    after a change, once two polls in a row agree (an editor saving in steps). Ends on Ctrl-C or SIGTERM, never
    in the middle of a build (a live build writes in steps)."""
    import signal
    import time

    state = {"building": False, "stop": False}

    def stop(*_: object) -> None:
        if state["building"]:
            state["stop"] = True
            return
        raise KeyboardInterrupt

    def build_once() -> None:
        state["building"] = True
        try:
            once()
        finally:
            state["building"] = False
        if state["stop"]:
            raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        seen = _inputs(paths, out, config)
        build_once()
        print(f"meshlint: watching {len(seen)} input files; Ctrl-C to stop", file=sys.stderr, flush=True)
        while True:
            time.sleep(WATCH_POLL_S)
            now = _inputs(paths, out, config)
            if now == seen:
                continue
            time.sleep(WATCH_POLL_S)
            if _inputs(paths, out, config) != now:
                continue  # still being written: the next poll sees it again
            seen = now
            print("meshlint: input changed; building", file=sys.stderr, flush=True)
            build_once()
    except KeyboardInterrupt:
        print("meshlint: stopped watching", file=sys.stderr, flush=True)
        raise typer.Exit(0) from None


def _inputs(paths: list[str], out: Path, config: Path | None) -> frozenset[tuple[str, int, int]]:
    """(path, mtime, size) of every input file and the config file; a path that is gone is simply absent."""
    from meshlint.config import find_config_for
    from meshlint.load.files import UsageError, discover

    try:
        files = [f.path for f in discover([p for p in paths if p != "-"], exclude=[out])[0] if f.path is not None]
    except UsageError:
        files = []
    found = config or find_config_for(paths)
    stamps = set()
    for path in [*files, *([found] if found else [])]:
        try:
            info = path.stat()
        except OSError:
            continue
        stamps.add((str(path), info.st_mtime_ns, info.st_size))
    return frozenset(stamps)
