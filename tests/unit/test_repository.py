"""The tree speaks only of itself: no file names a folder of one machine (a home folder, a checkout's
absolute path), so that a clone, a packager or CI anywhere gets the same project."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from tests.helpers import REPO

# A home folder (Unix, macOS, Windows), root's, a workspace mount; /etc, /tmp, /dev, /run are
# paths a deployed Envoy or the OS gives meaning to and stay allowed.
MACHINE_PATH = re.compile(r"(?<![\w.~-])(/(?:home|Users|work|root|mnt/[a-z])/|[A-Za-z]:\\Users\\)")


def _tracked() -> list[Path]:
    try:
        listed = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, check=True, capture_output=True).stdout
    except (OSError, subprocess.CalledProcessError):  # not a git checkout (an sdist): every file counts
        return [p for p in REPO.rglob("*") if p.is_file() and ".venv" not in p.parts and ".git" not in p.parts]
    return [REPO / name for name in listed.decode().split("\0") if name]


def test_no_file_names_a_machine_path() -> None:
    # the checkout's own folders, unless one is a folder every machine has (a clone made right in /tmp)
    own = {folder for folder in (str(REPO), str(REPO.parent)) if folder not in ("/", "/etc", "/tmp", "/dev", "/run")}
    found = []
    for path in _tracked():
        if not path.is_file():
            continue
        text = path.read_bytes().decode("utf-8", "replace")
        for number, line in enumerate(text.splitlines(), 1):
            if MACHINE_PATH.search(line) or any(prefix + "/" in line for prefix in own):
                found.append(f"{path.relative_to(REPO)}:{number}: {line.strip()[:100]}")
    assert found == []


def test_the_pattern_catches_what_it_should() -> None:
    home, work = "/" + "home/alice/mesh", "/" + "work/shared/design"  # spelt in parts: this file is tracked too
    assert MACHINE_PATH.search(f'SAMPLES = Path("{work}")')
    assert MACHINE_PATH.search(f"see {home}")
    assert not MACHINE_PATH.search("filename: /etc/envoy/certs/ca.pem and /tmp/x and ../shared/corpus")
