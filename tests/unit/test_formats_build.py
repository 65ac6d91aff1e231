"""The same small mesh written as the native API shape, a CloudFormation template, Kubernetes custom
resources and a Terraform module (fixtures/formats/) checks clean, compiles to byte-identical bootstraps,
and those pass the real Envoy. The certificate paths become ${CERTS} placeholders, filled by substitution (--env-file's path)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from meshlint import api
from meshlint.config import Settings
from meshlint.normalize import InputOptions
from tests.helpers import FIXTURES
from tests.support.envoy import assert_envoy_accepts, make_cert_dir

FORMATS = ("native", "cloudformation", "kubernetes", "terraform")
SETTINGS = Settings(entry_points=frozenset({"shop/web"}))


def _copy(fmt: str, into: Path, certs: Path) -> Path:
    """fixtures/formats/<fmt> with /etc/envoy/certs/ written as ${CERTS}/ (filled by substitution)."""
    folder = into / fmt
    folder.mkdir(parents=True)
    for source in (FIXTURES / "formats" / fmt).iterdir():
        (folder / source.name).write_text(source.read_text().replace("/etc/envoy/certs", "${CERTS}"))
    return folder


def _artifacts(out: Path) -> dict[str, bytes]:
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*.json"))
            if p.parent.name in ("virtual-nodes", "virtual-gateways")}


@pytest.mark.parametrize("fmt", FORMATS)
def test_each_format_checks_clean(fmt: str) -> None:
    result = api.check([str(FIXTURES / "formats" / fmt)], SETTINGS)
    assert result.diagnostics == []
    assert sorted((d.kind, d.mesh, d.name) for d in result.model.declarations) == [
        ("Mesh", "shop", "shop"), ("Route", "shop", "orders/all"), ("VirtualNode", "shop", "orders"),
        ("VirtualNode", "shop", "web"), ("VirtualRouter", "shop", "orders"),
        ("VirtualService", "shop", "orders.shop.local"),
    ]


def test_three_formats_build_byte_identical_bootstraps_that_envoy_accepts(tmp_path: Path) -> None:
    certs = make_cert_dir(tmp_path / "certs", ("*.shop.local",))
    for name in ("web", "orders"):
        shutil.copy(certs.server.cert, certs.dir / f"{name}.pem")
        shutil.copy(certs.server.key, certs.dir / f"{name}.key")
    inputs = InputOptions(substitutions={"CERTS": str(certs.dir)})
    built: dict[str, dict[str, bytes]] = {}
    for fmt in FORMATS:
        folder = _copy(fmt, tmp_path / "in", certs.dir)
        result = api.build([str(folder)], tmp_path / "out" / fmt, SETTINGS, inputs=inputs)
        assert result.written is not None, [d.message for d in result.check.diagnostics]
        built[fmt] = _artifacts(tmp_path / "out" / fmt)
    assert set(built["native"]) == {"shop/virtual-nodes/orders.json", "shop/virtual-nodes/web.json"}
    assert built["cloudformation"] == built["native"]
    assert built["kubernetes"] == built["native"]
    assert built["terraform"] == built["native"]
    bootstraps = sorted((tmp_path / "out" / "native" / "shop" / "virtual-nodes").glob("*.json"))
    assert len(bootstraps) == 2
    assert_envoy_accepts(bootstraps)
