"""Hypothesis profiles for the property suite: `ci` (derandomized, the default) and `fuzz`, registered and
loaded by tests/support/profiles.py (the differential test of `trace` loads the same ones)."""

from __future__ import annotations

from pathlib import Path

import pytest

import tests.support.profiles  # noqa: F401  (registers and loads the Hypothesis profile)
from tests.support.envoy import CertFiles, make_cert_dir


@pytest.fixture(scope="session")
def cert_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding `certs/{ca,server,client,spiffe}.pem|key`: the `cert_path_prefix` under which the
    generated meshes' /certs/... paths name real files."""
    root = tmp_path_factory.mktemp("pki")
    files: CertFiles = make_cert_dir(root / "certs", ("*.demo.local", "server.demo.local"))
    assert files.server.cert == root / "certs" / "server.pem"
    return root
