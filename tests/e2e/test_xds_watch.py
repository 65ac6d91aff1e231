"""`meshlint build --xds --watch`: the canary walk as one command.

The real CLI watches a mesh folder in the background. Each saved weight reaches the route file of the
running proxy's folder (updated in place: the folder Envoy watches stays the same inode; the canary walk test
shows Envoy following such updates); a broken save is reported and leaves the output as it was; fixing it
builds again; SIGTERM ends the watch with exit code 0.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.e2e.test_xds_canary_walk import MESH_YAML, NODE
from tests.e2e.traffic import wait_for

ROUTER, PORT = 9080, 8080


def weights(rds: Path) -> dict[str, int]:
    try:
        table = json.loads(rds.read_text())["resources"][0]
    except (OSError, ValueError):
        return {}
    (route,) = table["virtual_hosts"][0]["routes"]
    return {c["name"].split("_")[3]: c["weight"] for c in route["route"]["weighted_clusters"]["clusters"]}


def test_watch_rebuilds_in_place_and_keeps_output_on_errors(tmp_path: Path) -> None:
    mesh = tmp_path / "mesh"
    mesh.mkdir()
    (mesh / ".meshlint.yaml").write_text("rules: {missing-tls: off}\nentry-points: [canary/front]\n")
    nodes = "".join(NODE.format(name=n, port=PORT) for n in ("blue", "green"))

    def save(blue: int, green: int, broken: bool = False) -> None:
        text = MESH_YAML.format(router=ROUTER, blue=blue, green=green, nodes=nodes)
        (mesh / ".mesh.yaml.tmp").write_text(text + ("---\nvirtualNodeName: [unclosed\n" if broken else ""))
        os.replace(mesh / ".mesh.yaml.tmp", mesh / "mesh.yaml")  # as editors save

    save(90, 10)
    out = tmp_path / "out"
    folder = out / "canary" / "virtual-nodes" / "front"
    rds = folder / f"rds_egress_http_{ROUTER}.json"
    log_path = tmp_path / "watch.log"
    with log_path.open("wb") as log:
        watcher = subprocess.Popen([sys.executable, "-m", "meshlint", "build", str(mesh), "--out", str(out), "--xds",
                                    "--watch"], stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   start_new_session=True, cwd=tmp_path)
    try:
        wait_for(lambda: weights(rds) == {"blue": 90, "green": 10}, "the first build", deadline_s=30)
        inode = folder.stat().st_ino
        for blue, green in ((50, 50), (0, 100)):
            save(blue, green)
            wait_for(lambda b=blue, g=green: weights(rds) == {"blue": b, "green": g},
                     f"the rebuild to {blue}/{green}", deadline_s=30)
        before = rds.read_bytes()
        save(10, 90, broken=True)
        wait_for(lambda: "left untouched" in log_path.read_text(), "the broken save's report", deadline_s=30)
        assert rds.read_bytes() == before
        save(10, 90)
        wait_for(lambda: weights(rds) == {"blue": 10, "green": 90}, "the fixed save's build", deadline_s=30)
        assert folder.stat().st_ino == inode
        watcher.send_signal(signal.SIGTERM)
        assert watcher.wait(timeout=15) == 0
    finally:
        if watcher.poll() is None:
            os.killpg(watcher.pid, signal.SIGKILL)
            watcher.wait(timeout=10)
    text = log_path.read_text()
    print(text)
    assert "watching" in text and text.count("input changed; building") >= 4 and "stopped watching" in text
    assert "error" in text
