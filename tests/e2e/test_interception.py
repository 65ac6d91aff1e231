"""The generated interception, run for real: App Mesh's traffic capture in a pod, with meshlint's artifacts.

Two private network namespaces joined by a veth pair stand for a pod and another host; their addresses
(198.18.0.0/24, the range reserved for benchmark tests) exist only inside them, and only `lo` and that pair
are up. In the pod: `build --emit kubernetes` gives the Envoy bootstrap (its ConfigMap) and the `proxyinit`
init container; the test runs that container's script with that container's environment, starts Envoy as
uid 1337 and an app on 127.0.0.1:8080. The other host serves `blue` (the upstream of color.demo.local) and a
decoy. Then:
- outbound: the app (root, not 1337) sends a plain request to the decoy's address with Host color.demo.local;
  the rules redirect it to Envoy's egress listener, which routes by Host to blue, not to the decoy;
- inbound: the other host calls the pod's address on the app port; the rules redirect it to Envoy's ingress
  listener, which forwards to the app on 127.0.0.1 (unreachable from outside without the redirect).
Envoy's counters show both went through the listeners meant for them.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
import yaml

from meshlint import api
from meshlint.compile.envoy.options import CompileOptions
from meshlint.config import Settings
from tests.e2e.test_traffic_allow_all import ENVOY_UID, Netns, _missing_tools, _unavailable, _wait, netns
from tests.e2e.traffic import real_envoy, write_mesh

pytestmark = pytest.mark.envoy

POD_IP, HOST_IP, DECOY_IP = "198.18.0.2", "198.18.0.1", "198.18.0.3"
ADMIN = "127.0.0.1:9901"
SETTINGS = Settings(severities={"missing-tls": None}, entry_points=frozenset({"demo/front"}))

MESH_YAML = """\
meshName: demo
spec: {}
---
virtualServiceName: color.demo.local
meshName: demo
spec: {provider: {virtualNode: {virtualNodeName: blue}}}
---
virtualNodeName: blue
meshName: demo
spec:
  listeners: [{portMapping: {port: 9080, protocol: http}}]
  serviceDiscovery: {dns: {hostname: blue.demo.local}}
---
virtualNodeName: front
meshName: demo
spec:
  listeners: [{portMapping: {port: 8080, protocol: http}}]
  backends: [{virtualService: {virtualServiceName: color.demo.local}}]
  serviceDiscovery: {dns: {hostname: front.demo.local}}
"""

# Answers with who it is, the Host it saw and whether an Envoy forwarded the request (Envoy's router adds
# x-envoy-expected-rq-timeout-ms upstream).
SERVER = """\
import json, sys
from http.server import BaseHTTPRequestHandler, HTTPServer
class H(BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({"served_by": sys.argv[1], "host": self.headers.get("host", ""),
                           "via_envoy": "x-envoy-expected-rq-timeout-ms" in self.headers}).encode()
        self.send_response(200)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
HTTPServer((sys.argv[2], int(sys.argv[3])), H).serve_forever()
"""


def _artifacts(tmp_path: Path) -> tuple[str, dict[str, str]]:
    """The pod's bootstrap (from its ConfigMap) and the init container's script and environment."""
    mesh = write_mesh(tmp_path / "mesh", MESH_YAML)
    options = CompileOptions(admin_address="127.0.0.1", admin_access_log_path="/dev/null",
                             outlier_event_log_path="/dev/null", resolve={"blue.demo.local": HOST_IP},
                             emit=("kubernetes",))
    result = api.build([str(mesh)], tmp_path / "out", SETTINGS, options)
    assert result.written is not None, [d.message for d in result.check.diagnostics]
    folder = tmp_path / "out" / "demo" / "kubernetes" / "virtual-nodes" / "front"
    bootstrap: str = yaml.safe_load((folder / "configmap.yaml").read_text())["data"]["bootstrap.json"]
    patch = yaml.safe_load((folder / "patch.yaml").read_text())
    (init,) = patch["spec"]["template"]["spec"]["initContainers"]
    assert init["command"][:2] == ["sh", "-c"]
    return bootstrap, {"SCRIPT": init["command"][2], **{e["name"]: e["value"] for e in init["env"]}}


def _stat(ns: Netns, name: str) -> int:
    result = ns.run("curl", "-sS", "--noproxy", "*", "-m", "5", f"http://{ADMIN}/stats?filter={name}")
    for line in result.stdout.splitlines():
        key, _, value = line.partition(": ")
        if key == name:
            return int(value)
    return 0


def _link(pod: Netns, other: Netns) -> None:
    steps = [(pod, "ip", "link", "add", "vpod", "type", "veth", "peer", "name", "vhost", "netns", other.name),
             (pod, "ip", "addr", "add", f"{POD_IP}/24", "dev", "vpod"), (pod, "ip", "link", "set", "vpod", "up"),
             (other, "ip", "addr", "add", f"{HOST_IP}/24", "dev", "vhost"),
             (other, "ip", "addr", "add", f"{DECOY_IP}/24", "dev", "vhost"),
             (other, "ip", "link", "set", "vhost", "up")]
    for ns, *cmd in steps:
        done = ns.run(*cmd)
        assert done.returncode == 0, (cmd, done.stderr)


def test_generated_interception_sends_traffic_through_envoy(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        _unavailable("needs root (network namespaces, iptables, running Envoy as another uid)")
    if missing := _missing_tools():
        _unavailable(f"missing tools: {missing}")
    bootstrap, init = _artifacts(tmp_path)
    script = init.pop("SCRIPT")
    with netns(f"meshlint-pod{os.getpid()}") as pod, netns(f"meshlint-host{os.getpid()}") as other:
        _link(pod, other)
        installed = pod.run("env", *(f"{k}={v}" for k, v in init.items()), "sh", "-c", script)
        assert installed.returncode == 0, installed.stderr
        rules = pod.run("iptables", "-t", "nat", "-S").stdout
        print(installed.stdout + rules)
        assert "-A OUTPUT -p tcp -m addrtype ! --dst-type LOCAL -j APPMESH_EGRESS" in rules
        assert "-A APPMESH_EGRESS -m owner --uid-owner 1337 -j RETURN" in rules

        other.start(sys.executable, "-c", SERVER, "blue", HOST_IP, "9080", log=tmp_path / "blue.log")
        other.start(sys.executable, "-c", SERVER, "decoy", DECOY_IP, "9080", log=tmp_path / "decoy.log")
        pod.start(sys.executable, "-c", SERVER, "front-app", "127.0.0.1", "8080", log=tmp_path / "app.log")
        envoy = pod.start("setpriv", f"--reuid={ENVOY_UID}", f"--regid={ENVOY_UID}", "--clear-groups",
                          real_envoy(), "--config-yaml", bootstrap, "--concurrency", "1", "--log-level", "warning",
                          "--drain-time-s", "0", "--disable-hot-restart", log=tmp_path / "envoy.log")

        def ready() -> bool:
            if envoy.poll() is not None:
                raise AssertionError(f"envoy exited:\n{(tmp_path / 'envoy.log').read_text(errors='replace')}")
            return pod.curl(f"http://{ADMIN}/ready") == (200, "LIVE\n")

        _wait(ready, "envoy /ready", deadline_s=15.0)
        _wait(lambda: other.curl(f"http://{DECOY_IP}:9080/up")[0] == 200, "the other host's servers")
        _wait(lambda: pod.curl("http://127.0.0.1:8080/up")[0] == 200, "the app")

        egress_before = _stat(pod, "cluster.cds_egress_demo_blue_http_9080.upstream_rq_total")
        code, body = pod.curl(f"http://{DECOY_IP}:9080/out", "Host: color.demo.local")
        print(f"outbound: {code} {body}")
        assert code == 200, body
        assert json.loads(body) == {"served_by": "blue", "host": "color.demo.local", "via_envoy": True}
        assert _stat(pod, "cluster.cds_egress_demo_blue_http_9080.upstream_rq_total") == egress_before + 1
        assert _stat(pod, "http.egress.downstream_rq_total") >= 1

        ingress_before = _stat(pod, "cluster.cds_ingress_demo_front_http_8080.upstream_rq_total")
        code, body = other.curl(f"http://{POD_IP}:8080/in")
        print(f"inbound: {code} {body}")
        assert code == 200, body
        assert json.loads(body)["served_by"] == "front-app" and json.loads(body)["via_envoy"] is True
        assert _stat(pod, "cluster.cds_ingress_demo_front_http_8080.upstream_rq_total") == ingress_before + 1
        assert _stat(pod, "listener.0.0.0.0_15000.downstream_cx_total") >= 1
