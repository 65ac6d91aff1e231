"""The ECS config container's script, run for real with sh: it installs the proxy's files into the task
volume, each renamed into place, and a changed upload replaces what changed (a route file gone, goes).

`aws s3 sync` is stood in for by a small script that copies from a local folder (no network); the volume is
a temp folder (`xds-directory`), and the loop is stopped after the second upload is installed.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path, PurePosixPath

from meshlint.compile.envoy.options import CompileOptions
from meshlint.deploy.ecs import config_container
from meshlint.deploy.proxy import Proxy
from tests.e2e.traffic import wait_for

FAKE_AWS = """\
#!/bin/sh
# aws s3 sync --only-show-errors --delete SRC DST, from the local folder $FAKE_S3
set -eu
src="$5"; dst="$6"
rm -rf "$dst.new" && cp -R "$FAKE_S3" "$dst.new" && rm -rf "$dst" && mv "$dst.new" "$dst"
echo "synced $src" >&2
"""


def test_config_container_installs_and_updates_files(tmp_path: Path) -> None:
    volume, upload, bin_dir = tmp_path / "volume", tmp_path / "upload", tmp_path / "bin"
    for folder in (volume, upload, bin_dir):
        folder.mkdir()
    (bin_dir / "aws").write_text(FAKE_AWS)
    (bin_dir / "aws").chmod(0o755)
    (bin_dir / "sleep").write_text("#!/bin/sh\nexec /bin/sleep 0.1\n")  # the poll and settle pauses, shortened
    (bin_dir / "sleep").chmod(0o755)
    options = CompileOptions(xds=True, xds_directory=str(volume))
    proxy = Proxy("m", "virtualNode", "n", PurePosixPath("m/virtual-nodes/n.json"), (8080,), 9901, {}, str(volume))
    container = config_container(proxy, options)
    assert container["entryPoint"] == ["sh", "-c"]

    def upload_files(files: dict[str, str]) -> None:
        for old in upload.iterdir():
            old.unlink()
        for name, text in files.items():
            (upload / name).write_text(text)

    first = {"bootstrap.json": "{}", "cds.json": '{"v": 1}', "lds.json": '{"v": 1}', "rds_a.json": "{}",
             "rds_b.json": "{}"}
    upload_files(first)
    env = {"PATH": f"{bin_dir}:{os.environ['PATH']}", "FAKE_S3": str(upload),
           **{e["name"]: e["value"] for e in container["environment"]}}
    proc = subprocess.Popen(["sh", "-c", container["command"][0]], env=env, start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: {p.name: p.read_text() for p in volume.iterdir()} == first, "the first install")
        second = {**first, "cds.json": '{"v": 2}', "lds.json": '{"v": 2}'}
        del second["rds_b.json"]
        upload_files(second)
        wait_for(lambda: {p.name: p.read_text() for p in volume.iterdir()} == second, "the update")
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        output = proc.communicate(timeout=10)[0].decode()
    assert "synced s3://meshlint-envoy-config/m/ecs/virtual-nodes/n/config" in output
    assert json.loads((volume / "cds.json").read_text()) == {"v": 2}
