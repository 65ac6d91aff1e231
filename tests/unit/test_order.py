"""Findings are a function of the mesh, never of the order files are read in: which file holds which
document, in which order files are named or found (issue: timeout-chain named whichever route came first,
so shuffling files turned known findings into new ones and --baseline runs failed)."""

from __future__ import annotations

from pathlib import Path

from meshlint.cli import report
from meshlint.cli.options import Format
from tests.helpers import check_in

COMMON = """meshName: shop
spec: {}
---
meshName: shop
virtualNodeName: back
spec:
  listeners:
    - portMapping: {port: 8080, protocol: http}
      timeout: {http: {perRequest: {value: 60, unit: s}}}
  serviceDiscovery: {dns: {hostname: back.shop.local}}
"""


def _router(name: str) -> str:
    """A service routed by `name` to `back` through a route that keeps the default 15 s."""
    return f"""meshName: shop
virtualRouterName: {name}
spec:
  listeners: [{{portMapping: {{port: 8080, protocol: http}}}}]
---
meshName: shop
virtualRouterName: {name}
routeName: main
spec:
  httpRoute:
    match: {{prefix: /}}
    action: {{weightedTargets: [{{virtualNode: back, weight: 100}}]}}
---
meshName: shop
virtualServiceName: {name}.shop.local
spec: {{provider: {{virtualRouter: {{virtualRouterName: {name}}}}}}}
"""


def _timeout_chain(folder: Path, first: str, second: str) -> list[tuple[str, str]]:
    folder.mkdir()
    (folder / "common.yaml").write_text(COMMON)
    (folder / "a.yaml").write_text(_router(first))
    (folder / "b.yaml").write_text(_router(second))
    return [(d.message, d.fingerprint) for d in check_in(folder).diagnostics if d.rule == "timeout-chain"]


def test_timeout_chain_names_the_same_route_whatever_file_holds_it(tmp_path: Path) -> None:
    one = _timeout_chain(tmp_path / "one", "zeta", "alpha")
    other = _timeout_chain(tmp_path / "other", "alpha", "zeta")
    assert one == other == [(
        "the listener on port 8080 of virtual node 'back' allows 60s, but route 'alpha/main' in front of it keeps the "
        "default 15s: requests are cut there", one[0][1])]


def test_conflicting_hostnames_reports_the_odd_spelling_whatever_its_file(tmp_path: Path) -> None:
    def service(name: str) -> str:
        return f"meshName: shop\nvirtualServiceName: {name}\nspec: {{}}\n"

    found = []
    for n, (a, b) in enumerate((("Orders.shop.local", "orders.shop.local"), ("orders.shop.local", "Orders.shop.local"))):
        folder = tmp_path / str(n)
        folder.mkdir()
        (folder / "a.yaml").write_text("meshName: shop\nspec: {}\n---\n" + service(a))
        (folder / "b.yaml").write_text(service(b))
        found.append([(d.message.split(":")[0], d.fingerprint) for d in check_in(folder).diagnostics
                      if d.rule == "conflicting-hostnames"])
    assert found[0] == found[1]
    assert found[0][0][0] == "virtual service 'Orders.shop.local' claims the same hostname as virtual service " \
                             "'orders.shop.local'"


def test_the_report_does_not_depend_on_the_order_paths_are_given(tmp_path: Path) -> None:
    (tmp_path / "common.yaml").write_text(COMMON)
    (tmp_path / "a.yaml").write_text(_router("zeta"))
    (tmp_path / "b.yaml").write_text(_router("alpha"))
    paths = ["common.yaml", "a.yaml", "b.yaml"]
    forward = report.render(check_in(tmp_path, paths), Format.json)
    backward = report.render(check_in(tmp_path, paths[::-1]), Format.json)
    assert forward == backward
    assert '"rule": "timeout-chain"' in forward
