"""What a large mesh holds once rather than once per resource (mapping keys, the fields sets of specs), and what
the report does not hold at all (every file's lines at once)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from meshlint.cli import report
from meshlint.cli.options import Format
from meshlint.config import Settings
from meshlint.load.parse import parse_text
from meshlint.load.sources import SourceFile
from meshlint.model.spec import VirtualNodeSpec, VirtualServiceProvider
from tests.helpers import check_in

NODE = """\
spec:
  listeners:
  - portMapping: {port: 8080, protocol: http}
    healthCheck: {protocol: http, path: /ping, healthyThreshold: 2, unhealthyThreshold: 2,
                  timeoutMillis: 2000, intervalMillis: 5000}
"""


def test_every_document_of_every_file_shares_one_string_per_key() -> None:
    first, _ = parse_text(NODE + "---\n" + NODE, record=False)
    other, _ = parse_text(NODE.replace("/ping", "/health"), record=False)
    keys = [next(iter(doc.data["spec"]["listeners"][0]["healthCheck"])) for doc in (*first, *other)]
    assert len(keys) == 3 and keys[0] == "protocol"
    assert keys[0] is keys[1] is keys[2]


def _listener(path: str) -> object:
    return VirtualNodeSpec.model_validate(
        {"listeners": [{"portMapping": {"port": 8080, "protocol": "http"},
                        "healthCheck": {"protocol": "http", "path": path, "healthyThreshold": 2,
                                        "unhealthyThreshold": 2, "timeoutMillis": 2000, "intervalMillis": 5000}}]}
    ).listeners[0]


def test_specs_given_the_same_members_share_one_fields_set() -> None:
    one, two = _listener("/ping"), _listener("/health")
    assert one.health_check.model_fields_set == {"protocol", "path", "healthy_threshold", "unhealthy_threshold",
                                                 "timeout_millis", "interval_millis"}
    assert one.health_check.model_fields_set is two.health_check.model_fields_set
    assert one.model_fields_set is two.model_fields_set
    assert one.model_fields_set != one.health_check.model_fields_set


def test_a_union_still_takes_exactly_one_member() -> None:
    provider = VirtualServiceProvider.model_validate({"virtualNode": {"virtualNodeName": "web"}})
    assert provider.model_fields_set == {"virtual_node"}
    for members in ({}, {"virtualNode": {"virtualNodeName": "web"}, "virtualRouter": {"virtualRouterName": "r"}}):
        with pytest.raises(ValidationError, match="exactly one member"):
            VirtualServiceProvider.model_validate(members)


ROUTE = """\
meshName: shop
virtualRouterName: web
routeName: split-{n}
spec:
  httpRoute:
    match: {{prefix: /{n}}}
    action:
      weightedTargets:
      - {{virtualNode: web-v1, weight: 60}}
      - {{virtualNode: web-v2, weight: 30}}
"""


def test_the_text_report_splits_each_file_once_and_keeps_none(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for n in range(3):
        (tmp_path / f"route-{n}.yaml").write_text(ROUTE.format(n=n) + "---\n" + ROUTE.format(n=n + 10))
    result = check_in(tmp_path, settings=Settings(select=frozenset({"weights-sum"})))
    assert len(result.diagnostics) == 6
    split: list[str] = []
    whole = SourceFile.split_lines
    monkeypatch.setattr(SourceFile, "split_lines", lambda self: split.append(self.display) or whole(self))
    text = report.render(result, Format.text)
    assert sorted(split) == ["route-0.yaml", "route-1.yaml", "route-2.yaml"]
    assert text.count("|       - {virtualNode: web-v1, weight: 60}") == 6  # every excerpt quoted
    assert all(source._lines is None for source in result.sources.values())  # no file's lines kept
