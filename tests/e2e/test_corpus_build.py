"""Real users' meshes through the compiler: every folder of ../shared/corpus is built (with every rule
lowered to a warning, so that meshes with findings still compile), and the real Envoy accepts every
bootstrap. Certificate paths are pointed at test certificates, by the field that names them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from meshlint import api, catalogue
from meshlint.config import Settings
from meshlint.diagnostics import Severity
from tests.support.envoy import CertFiles, assert_envoy_accepts, make_cert_dir, strict_parse
from tests.support.shared import require

pytestmark = pytest.mark.envoy
CORPUS = require("corpus", "real-corpus build tests")


def _point_at(node: Any, certs: CertFiles, parent: str = "") -> None:
    files = {"certificate_chain": certs.server.cert, "private_key": certs.server.key, "trusted_ca": certs.ca}
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "filename" and parent in files:
                node[key] = str(files[parent])
            else:
                _point_at(value, certs, key)
    elif isinstance(node, list):
        for item in node:
            _point_at(item, certs, parent)


def test_every_corpus_folder_builds_and_envoy_accepts_it(tmp_path: Path) -> None:
    relaxed = Settings(severities={slug: Severity.WARNING for slug in catalogue.load()})
    folders = sorted({p.parent for p in CORPUS.rglob("*") if p.suffix in (".yaml", ".yml", ".json")})
    assert len(folders) > 40
    bootstraps: list[Path] = []
    for i, folder in enumerate(folders):
        result = api.build([str(folder)], tmp_path / f"out-{i}", relaxed)
        assert result.written is not None, folder
        bootstraps += [p for p in (tmp_path / f"out-{i}").rglob("*.json")
                       if p.parent.name in ("virtual-nodes", "virtual-gateways")]
    assert len(bootstraps) > 100
    certs = make_cert_dir(tmp_path / "certs", ["*.local"])
    for path in bootstraps:
        document = json.loads(path.read_text())
        _point_at(document, certs)
        strict_parse(document)
        path.write_text(json.dumps(document))
    assert_envoy_accepts(bootstraps)
