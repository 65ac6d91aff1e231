"""pytest plugin: Envoy binary, test certificates and a one-call bootstrap check.

Enable from tests/conftest.py with `pytest_plugins = ["tests.support.fixtures"]`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from tests.support.envoy import (
    CertFiles,
    assert_envoy_accepts,
    envoy_binary,
    make_cert_dir,
    strict_parse,
    write_json,
)

DEMO_SANS = ("*.demo.local", "front.demo.local", "color.demo.local")

BootstrapCheck = Callable[..., list[Path]]


@pytest.fixture(scope="session")
def envoy_bin() -> str:
    """Path of the Envoy binary; raises (never skips) when Envoy is not installed."""
    return envoy_binary()


@pytest.fixture(scope="session")
def cert_dir(tmp_path_factory: pytest.TempPathFactory) -> CertFiles:
    """A CA, a server cert for DEMO_SANS, a spiffe://demo/front cert and a client cert, as PEM files."""
    return make_cert_dir(tmp_path_factory.mktemp("certs"), DEMO_SANS)


@pytest.fixture
def check_bootstrap(tmp_path: Path, envoy_bin: str) -> BootstrapCheck:
    """`check_bootstrap(doc, ...)`: strict-parse each dict, write it, and have Envoy validate them all.

    Returns the written paths; raises ValueError / AssertionError with the parser's or Envoy's message.
    """

    def check(*documents: Mapping[str, Any], fail_on_deprecated: bool = True) -> list[Path]:
        paths = []
        for index, document in enumerate(documents):
            strict_parse(document)
            paths.append(write_json(tmp_path / f"bootstrap-{index}.json", document))
        assert_envoy_accepts(paths, fail_on_deprecated=fail_on_deprecated)
        return paths

    return check
