"""A real Prometheus (Debian's `prometheus` package) on 127.0.0.1 for the metrics tests: a temporary config
and data folder, its own session (stopped by process group), short scrape and rule intervals.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tests.e2e.traffic import APP_IP, free_port, stop_group

READY_DEADLINE_S = 30.0


def prometheus_binary() -> str:
    found = shutil.which("prometheus")
    if found is None:
        raise RuntimeError("prometheus not found; install it with `apt-get install prometheus` (scripts/bootstrap.sh)")
    return found


def promtool_binary() -> str:
    found = shutil.which("promtool")
    if found is None:
        raise RuntimeError("promtool not found; install it with `apt-get install prometheus` (scripts/bootstrap.sh)")
    return found


def scrape_job(name: str, targets: Sequence[str], **more: Any) -> dict[str, Any]:
    """A job scraping Envoy admin endpoints (`/stats/prometheus`)."""
    return {"job_name": name, "metrics_path": "/stats/prometheus", "static_configs": [{"targets": list(targets)}],
            **more}


@dataclass
class Prometheus:
    workdir: Path
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None

    def start(self, jobs: Sequence[Mapping[str, Any]], rule_files: Sequence[Path]) -> Prometheus:
        self.workdir.mkdir(parents=True, exist_ok=True)
        config = {"global": {"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s"},
                  "rule_files": [str(p) for p in rule_files], "scrape_configs": list(jobs)}
        path = self.workdir / "prometheus.yml"
        path.write_text(yaml.safe_dump(config, sort_keys=False))
        self.port = free_port(APP_IP)
        cmd = [prometheus_binary(), f"--config.file={path}", f"--storage.tsdb.path={self.workdir / 'data'}",
               f"--web.listen-address={APP_IP}:{self.port}", "--log.level=warn"]
        with (self.workdir / "prometheus.log").open("wb") as log:
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                         start_new_session=True)
        return self

    def wait_ready(self) -> None:
        end = time.monotonic() + READY_DEADLINE_S
        while time.monotonic() < end:
            if self.proc is None or self.proc.poll() is not None:
                raise RuntimeError(f"prometheus exited early:\n{self.log_tail()}")
            ready = f"http://{APP_IP}:{self.port}/-/ready"
            with contextlib.suppress(OSError), urllib.request.urlopen(ready, timeout=1.0) as response:
                if response.status == 200:
                    return
            time.sleep(0.1)
        raise RuntimeError(f"prometheus not ready after {READY_DEADLINE_S:g}s:\n{self.log_tail()}")

    def query(self, expr: str) -> list[tuple[dict[str, str], float]]:
        """An instant query through the HTTP API: [(labels, value)]."""
        url = f"http://{APP_IP}:{self.port}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
        with urllib.request.urlopen(url, timeout=5.0) as response:  # loopback only
            body = json.load(response)
        if body.get("status") != "success":
            raise AssertionError(f"query {expr!r} failed: {body}")
        return [(item["metric"], float(item["value"][1])) for item in body["data"]["result"]]

    def rule_health(self) -> list[tuple[str, str, str]]:
        """(rule, health, last error) of every recording rule."""
        with urllib.request.urlopen(f"http://{APP_IP}:{self.port}/api/v1/rules", timeout=5.0) as response:
            groups = json.load(response)["data"]["groups"]
        return [(r["name"], r["health"], r.get("lastError", "")) for g in groups for r in g["rules"]]

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join((self.workdir / "prometheus.log").read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None:
            stop_group(proc)


def promtool_check_rules(*paths: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([promtool_binary(), "check", "rules", *map(str, paths)], capture_output=True, text=True,
                          timeout=60, check=False)


def promtool_check_config(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([promtool_binary(), "check", "config", "--syntax-only", str(path)], capture_output=True,
                          text=True, timeout=60, check=False)
