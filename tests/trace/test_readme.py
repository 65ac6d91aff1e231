"""The traces the README shows are what `meshlint trace` prints (a doc example no test runs goes stale)."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys

import pytest

from tests.helpers import REPO

_BLOCK = re.compile(r"```console\n\$ (meshlint trace [^\n]*)\n(.*?)```", re.S)
EXAMPLES = _BLOCK.findall((REPO / "README.md").read_text(encoding="utf-8"))


def test_the_readme_shows_traces() -> None:
    assert len(EXAMPLES) >= 1


@pytest.mark.parametrize(("command", "shown"), EXAMPLES, ids=[c for c, _ in EXAMPLES])
def test_readme_trace_is_current(command: str, shown: str) -> None:
    args = shlex.split(command)[1:]
    proc = subprocess.run([sys.executable, "-m", "meshlint", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=120)
    assert proc.stderr == ""
    assert proc.stdout == shown
