"""retry-amplification (ML049): the limit comes from `options:`, and the products are computed in one pass
over the call graph, so a mesh with more paths than could ever be enumerated is checked at once."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from meshlint.config import Settings
from tests.helpers import FIXTURES, check_in

RULE = "retry-amplification"


def _found(folder: Path, name: str, max_attempts: int | None = None) -> list[str]:
    options = {RULE: {"max-attempts": max_attempts}} if max_attempts is not None else {}
    settings = Settings(select=frozenset({RULE}), options=options)
    return [d.message for d in check_in(folder, [name], settings).diagnostics]


@pytest.mark.parametrize(("limit", "reported"), [(None, False), (10, False), (9, True), (1, True)])
def test_max_attempts_option(limit: int | None, reported: bool) -> None:
    # orders x5 -> db x2: exactly 10 attempts
    found = _found(FIXTURES / RULE / "pass", "at-the-limit.yaml", limit)
    assert bool(found) is reported, found
    if limit == 1:  # any retry is over: reported where each path first crosses the limit, so not at db/all,
        # which every path reaches already over it (through orders/all)
        assert [m.split(" = ")[0] for m in found] == [
            "retries along node 'web' -> route 'orders/all' x5 -> node 'orders-v1'",
            "retries along node 'orders-v2' -> route 'db-fast/fast' x4 -> node 'db'"], found


def _ladder(layers: int, retrying: int) -> str:
    """`layers` services in a row, each routing 50/50 to two nodes that both call the next one: 2**layers
    paths. The first `retrying` routes retry once (x2)."""
    docs = ["meshName: shop\nspec: {}\n"]
    for i in range(layers):
        retry = (", retryPolicy: {maxRetries: 1, perRetryTimeout: {value: 1, unit: s}, "
                 "httpRetryEvents: [server-error]}") if i < retrying else ""
        docs.append(f"meshName: shop\nvirtualServiceName: s{i}.shop.local\n"
                    f"spec: {{provider: {{virtualRouter: {{virtualRouterName: r{i}}}}}}}\n")
        docs.append(f"meshName: shop\nvirtualRouterName: r{i}\n"
                    "spec: {listeners: [{portMapping: {port: 8080, protocol: http}}]}\n")
        docs.append(f"meshName: shop\nvirtualRouterName: r{i}\nrouteName: all\nspec: {{httpRoute: {{match: "
                    f"{{prefix: /}}, action: {{weightedTargets: [{{virtualNode: a{i}, weight: 50}}, "
                    f"{{virtualNode: b{i}, weight: 50}}]}}{retry}}}}}\n")
        for side in "ab":
            backends = f", backends: [{{virtualService: {{virtualServiceName: s{i + 1}.shop.local}}}}]" \
                if i + 1 < layers else ""
            docs.append(f"meshName: shop\nvirtualNodeName: {side}{i}\nspec: {{listeners: [{{portMapping: "
                        f"{{port: 8080, protocol: http}}}}], serviceDiscovery: {{dns: {{hostname: {side}{i}.local}}}}"
                        f"{backends}}}\n")
    docs.append("meshName: shop\nvirtualNodeName: web\nspec: {listeners: [{portMapping: {port: 8080, protocol: "
                "http}}], serviceDiscovery: {dns: {hostname: web.local}}, backends: [{virtualService: "
                "{virtualServiceName: s0.shop.local}}]}\n")
    return "---\n".join(docs)


def test_many_paths_are_not_enumerated(tmp_path: Path) -> None:
    (tmp_path / "ladder.yaml").write_text(_ladder(layers=60, retrying=4))  # 2**60 paths
    started = time.perf_counter()
    found = _found(tmp_path, "ladder.yaml")
    assert time.perf_counter() - started < 10  # whole check; enumerating the paths would never end
    # 2, 4, 8, 16: the fourth route crosses 10, once, with the path of the smallest names
    assert found == ["retries multiply along node 'web' -> route 'r0/all' x2 -> node 'a0' -> route 'r1/all' x2 -> "
                     "node 'a1' -> route 'r2/all' x2 -> node 'a2' -> route 'r3/all' x2 -> node 'a3' = 16 attempts per "
                     "request at virtual node 'a3' (more than 10): a brief failure there becomes an overload"]
