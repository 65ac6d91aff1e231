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


def _pointers(data: object, at: str = "") -> list[str]:
    """Every pointer into `data`, the document itself first."""
    found = [at]
    items = data.items() if isinstance(data, dict) else enumerate(data) if isinstance(data, list) else ()
    for key, value in items:
        found += _pointers(value, f"{at}/{str(key).replace('~', '~0').replace('/', '~1')}")
    return found


@pytest.mark.parametrize("folder", ["examples/shop", "fixtures/trust-source-mismatch/fail",
                                    "fixtures/template-placeholder/pass", "fixtures/schema/pass",
                                    "fixtures/schema/fail"])
def test_positions_stay_when_build_lets_the_documents_go(folder: str) -> None:
    """`build` drops the parsed documents once check is done (SourceFile.keep_positions_only): every position
    the compiler's findings can ask for, in the user's documents and in translated resources, stays where it
    was, whether it came from the fast walk's table, a composed node tree (JSON) or a tag (`!Ref`)."""
    from meshlint.api import check

    result = check([str(Path(__file__).resolve().parents[2] / folder)])
    asked = [(source, doc, pointer, at_key)
             for source in result.sources.values() for doc, parsed in enumerate(source.docs) if parsed.hcl is None
             for pointer in [*_pointers(parsed.data), *source._translations.get(doc, {})]
             for at_key in (False, True)]
    assert len(asked) > 100
    before = [source.span(doc, pointer, at_key=at_key) for source, doc, pointer, at_key in asked]
    for source in result.sources.values():
        source.keep_positions_only()
    assert all(parsed.data is None and parsed.marks is None for source in result.sources.values()
               for parsed in source.docs if parsed.hcl is None)
    assert [source.span(doc, pointer, at_key=at_key) for source, doc, pointer, at_key in asked] == before


def test_build_keeps_no_documents_once_checked(tmp_path: Path) -> None:
    from meshlint.api import build

    shop = Path(__file__).resolve().parents[2] / "examples" / "shop"
    built = build([str(shop)], tmp_path / "out")
    assert built.written is not None and built.check.sources
    assert all(parsed.data is None for source in built.check.sources.values() for parsed in source.docs)
