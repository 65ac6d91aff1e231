"""`meshlint build` as scripts and CI see it: the tree it writes, exit codes, reports, options, config.

The example mesh (examples/shop) is copied into tmp_path with its certificate paths pointed at real test
certificates, so the bootstraps it produces go through the real Envoy.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from meshlint.diagnostics import Severity
from tests.helpers import REPO
from tests.support.envoy import assert_envoy_accepts, make_cert_dir, strict_parse

EXAMPLE = REPO / "examples" / "shop"
NODES = ["orders-v1", "orders-v2", "payments", "web"]
EXTRA_MESH = ("meshName: extra\nspec: {}\n---\nmeshName: extra\nvirtualNodeName: batch-job\n"
              "tags: [{key: 'meshlint:entry-point', value: 'true'}]\nspec: {}\n")


def run(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "meshlint", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120, env=env)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """tmp_path/repo/mesh: the example mesh, its certificates under tmp_path/certs."""
    certs = make_cert_dir(tmp_path / "certs", ("*.shop.local", "*.shop.svc.cluster.local"))
    for name in ("ingress", "orders", "payments", "web"):
        shutil.copy(certs.server.cert, certs.dir / f"{name}.pem")
        shutil.copy(certs.server.key, certs.dir / f"{name}.key")
    mesh = tmp_path / "repo" / "mesh"
    mesh.mkdir(parents=True)
    for source in EXAMPLE.glob("*.yaml"):
        (mesh / source.name).write_text(source.read_text().replace("/etc/envoy/certs/", f"{certs.dir}/"))
    return tmp_path / "repo"


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def manifest(out: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((out / "meshlint-manifest.json").read_text())
    return data


def expected_files() -> set[str]:
    files = {f"shop/virtual-nodes/{n}.json" for n in NODES} | {"shop/virtual-gateways/ingress.json",
                                                                 "shop/topology.dot"}
    files |= {"shop/appmesh-metrics.rules.yaml", "shop/cloudwatch-agent.json", "shop/cloudwatch-agent-prometheus.yaml"}
    if shutil.which("dot"):  # Graphviz installed: the SVG beside the DOT
        files.add("shop/topology.svg")
    return files


def test_build_writes_bootstraps_that_envoy_accepts(repo: Path) -> None:
    proc = run("build", "mesh", "--out", "envoy", cwd=repo)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = repo / "envoy"
    listed = manifest(out)
    assert listed["generator"] == f"meshlint {_version()}"
    assert set(listed["files"]) == expected_files()
    files = tree(out)
    assert set(files) == {*expected_files(), "meshlint-manifest.json"}
    assert {rel: hashlib.sha256(files[rel]).hexdigest() for rel in listed["files"]} == listed["files"]
    assert proc.stdout == "5 files, 14 resources: 0 errors, 0 warnings, 0 infos\n"
    assert proc.stderr == f"wrote {len(files)} files to envoy/\n"
    bootstraps = sorted(out.glob("shop/virtual-*/*.json"))
    for path in bootstraps:
        strict_parse(path.read_text())
    assert_envoy_accepts(bootstraps)
    assert b"digraph" in files["shop/topology.dot"]


def test_a_second_build_is_byte_identical_and_keeps_foreign_files(repo: Path) -> None:
    assert run("build", "mesh", "--out", "envoy", cwd=repo).returncode == 0
    first = tree(repo / "envoy")
    (repo / "envoy" / "README.md").write_text("deploy notes\n")
    inode = (repo / "envoy" / "README.md").stat().st_ino
    proc = run("build", "mesh", "--out", "envoy", cwd=repo)
    assert proc.returncode == 0
    assert proc.stderr == f"wrote {len(first)} files to envoy/ (1 unchanged foreign file kept)\n"
    assert tree(repo / "envoy") == {**first, "README.md": b"deploy notes\n"}
    assert (repo / "envoy" / "README.md").stat().st_ino == inode


def test_an_error_exits_1_and_leaves_out_untouched(repo: Path) -> None:
    orders = repo / "mesh" / "orders.yaml"
    good = orders.read_text()
    orders.write_text(good.replace("{virtualNode: orders-v1, weight: 90}", "{virtualNode: orders-v1, weight: 80}"))
    proc = run("build", "mesh", "--out", "envoy", cwd=repo)
    assert proc.returncode == 1
    assert "error[weights-sum] weights of route" in proc.stdout
    assert proc.stderr == "meshlint: 1 error; envoy/ left untouched\n"
    assert not (repo / "envoy").exists()

    orders.write_text(good)
    assert run("build", "mesh", "--out", "envoy", cwd=repo).returncode == 0
    before = tree(repo / "envoy")
    orders.write_text(good.replace("weight: 90}", "weight: 80}"))
    assert run("build", "mesh", "--out", "envoy", cwd=repo).returncode == 1
    assert tree(repo / "envoy") == before


def test_json_output_adds_the_build_object(repo: Path) -> None:
    (repo / "mesh" / "extra.yaml").write_text(EXTRA_MESH)
    first = run("build", "mesh", "--out", "envoy", "--format", "json", cwd=repo)
    assert first.returncode == 0
    report = json.loads(first.stdout)
    assert set(report) == {"diagnostics", "summary", "build"}
    assert report["build"]["out"] == "envoy"
    assert report["build"]["files"] == sorted(tree(repo / "envoy"))
    assert report["build"]["removed"] == []

    (repo / "mesh" / "extra.yaml").unlink()
    second = run("build", "mesh", "--out", "envoy", "--format", "json", cwd=repo)
    build = json.loads(second.stdout)["build"]
    assert build["removed"] == ["extra/appmesh-metrics.rules.yaml", "extra/cloudwatch-agent-prometheus.yaml",
                                "extra/cloudwatch-agent.json", "extra/topology.dot",
                                *(["extra/topology.svg"] if shutil.which("dot") else []),
                                "extra/virtual-nodes/batch-job.json"]
    assert not (repo / "envoy" / "extra").exists()
    assert second.stderr == f"wrote {len(build['files'])} files to envoy/ ({len(build['removed'])} removed)\n"

    (repo / "mesh" / "mesh.yaml").write_text("meshName: shop\nspec: {egressFilter: {type: NOPE}}\n")
    failed = run("build", "mesh", "--out", "envoy", "--format", "json", cwd=repo)
    assert failed.returncode == 1
    report = json.loads(failed.stdout)
    assert report["build"] is None and report["summary"]["errors"] >= 1


def test_out_inside_the_input_folder_is_never_read_back(repo: Path) -> None:
    runs = [run("build", ".", "--out", "envoy", "--format", "json", cwd=repo / "mesh") for _ in range(2)]
    assert [p.returncode for p in runs] == [0, 0]
    reports = [json.loads(p.stdout) for p in runs]
    assert reports[0]["summary"] == reports[1]["summary"] == {
        "files": 5, "resources": 14, "errors": 0, "warnings": 0, "infos": 0}
    assert reports[1]["diagnostics"] == []


@pytest.mark.parametrize(("inputs", "out", "message"), [
    (["mesh"], "mesh", "mesh: is the output folder"),
    (["mesh"], ".", "must not be the current folder"),
    (["mesh/mesh.yaml"], "mesh", "mesh/mesh.yaml: is inside the output folder mesh"),
    (["mesh/sub"], "mesh", "mesh/sub: is inside the output folder mesh"),
    (["other", "mesh"], "link-to-mesh", "mesh: is the output folder"),
])
def test_out_that_is_or_holds_an_input_is_a_usage_error(repo: Path, inputs: list[str], out: str,
                                                         message: str) -> None:
    (repo / "mesh" / "sub").mkdir()
    (repo / "other").mkdir()
    (repo / "link-to-mesh").symlink_to("mesh")
    before = tree(repo)
    proc = run("build", *inputs, "--out", out, cwd=repo)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith("meshlint: error: ") and message in proc.stderr, proc.stderr
    assert "never read as input" in proc.stderr or out == "."
    assert proc.stdout == "" and tree(repo) == before


@pytest.mark.parametrize(("args", "message"), [
    (["--resolve", "foo"], "--resolve: 'foo' is not HOST=IP"),
    (["--resolve", "color.shop.local=not-an-ip"], "--resolve: resolve['color.shop.local'] must be an IP address"),
    (["--cert-map", "arn:aws:acm:us-east-1:1:certificate/x=/chain-only.pem"], "--cert-map: 'arn:aws:acm"),
    (["--ca-map", "not-an-arn=/ca.pem"], "--ca-map: 'not-an-arn=/ca.pem' is not ARN=CAFILE"),
    (["--tracing", "jaeger"], "--tracing: tracing must be one of none, xray, zipkin, opentelemetry"),
    (["--admin-port", "70000"], "--admin-port: admin_port must be a port number (1-65535), got 70000"),
    (["--admin-address", "localhost"], "--admin-address: admin_address must be an IP address"),
    (["--tracing", "xray", "--tracing-address", "xray-daemon:2000"], "must be an IP address, got 'xray-daemon'"),
    (["--out", "mesh/mesh.yaml"], "mesh/mesh.yaml: exists and is not a folder"),
])
def test_bad_option_values_are_usage_errors(repo: Path, args: list[str], message: str) -> None:
    proc = run("build", "mesh", "--out", "envoy", *args, cwd=repo)
    assert proc.returncode == 2
    assert proc.stderr.startswith("meshlint: error: ") and message in proc.stderr, proc.stderr
    assert proc.stdout == "" and not (repo / "envoy").exists()


def test_build_options_from_config_with_flags_on_top(repo: Path) -> None:
    (repo / ".meshlint.yaml").write_text(
        "build:\n  admin-port: 9902\n  no-stats-tags: true\n"
        "  resolve: {orders-v1.shop.svc.cluster.local: 10.0.0.7, payments.shop.svc.cluster.local: 10.0.0.8}\n")
    proc = run("build", "mesh", "--out", "envoy", "--resolve", "payments.shop.svc.cluster.local=10.0.0.9", cwd=repo)
    assert proc.returncode == 0, proc.stderr
    web = json.loads((repo / "envoy/shop/virtual-nodes/web.json").read_text())
    assert web["admin"]["address"]["socket_address"]["port_value"] == 9902
    text = json.dumps(web)
    assert "10.0.0.7" in text and "10.0.0.9" in text and "10.0.0.8" not in text
    assert "appmesh.mesh" not in text

    assert run("build", "mesh", "--out", "envoy", "--admin-port", "9903", cwd=repo).returncode == 0
    web = json.loads((repo / "envoy/shop/virtual-nodes/web.json").read_text())
    assert web["admin"]["address"]["socket_address"]["port_value"] == 9903

    (repo / ".meshlint.yaml").unlink()
    flags = ["--tracing", "xray", "--no-stats-tags", "--stats-sink", "dogstatsd", "--appmesh-defaults", "legacy"]
    assert run("build", "mesh", "--out", "envoy", *flags, cwd=repo).returncode == 0
    text = (repo / "envoy/shop/virtual-nodes/web.json").read_text()
    assert "envoy.tracers.xray" in text and "DogStatsdSink" in text and "appmesh.mesh" not in text
    assert_envoy_accepts(sorted((repo / "envoy").glob("shop/virtual-*/*.json")))


@pytest.mark.parametrize(("config", "message"), [
    ("build:\n  resolv: [a=10.0.0.1]\n", ".meshlint.yaml:2:3: unknown build option 'resolv'; did you mean 'resolve'?"),
    ("build:\n  admin-port: '9901'\n", ".meshlint.yaml:2:15: build.admin-port: '9901' is not a port number"),
    ("build:\n  tracing: jaeger\n", ".meshlint.yaml: build.tracing: tracing must be one of"),
    ("build: [tracing]\n", ".meshlint.yaml:1:8: build must be a mapping"),
])
def test_bad_build_config_is_a_usage_error(repo: Path, config: str, message: str) -> None:
    (repo / ".meshlint.yaml").write_text(config)
    proc = run("build", "mesh", "--out", "envoy", cwd=repo)
    assert proc.returncode == 2
    assert message in proc.stderr, proc.stderr
    assert not (repo / "envoy").exists()


def test_a_symlinked_out_is_written_where_it_points(repo: Path) -> None:
    real = repo.parent / "volume" / "envoy"
    real.mkdir(parents=True)
    (repo / "envoy").symlink_to(real)
    assert run("build", "mesh", "--out", "envoy", cwd=repo).returncode == 0
    assert (repo / "envoy").is_symlink() and os.readlink(repo / "envoy") == str(real)
    assert set(manifest(real)["files"]) == expected_files()
    assert sorted(os.listdir(repo)) == ["envoy", "mesh"]


def test_a_malformed_manifest_is_refused_and_removes_nothing(repo: Path) -> None:
    (repo / "mesh" / "extra.yaml").write_text(EXTRA_MESH)
    assert run("build", "mesh", "--out", "envoy", cwd=repo).returncode == 0
    (repo / "envoy" / "meshlint-manifest.json").write_text("{broken")
    (repo / "mesh" / "extra.yaml").unlink()
    proc = run("build", "mesh", "--out", "envoy", cwd=repo)
    assert proc.returncode == 2
    assert proc.stderr.startswith("meshlint: error: envoy/meshlint-manifest.json: not a manifest meshlint wrote "
                                  "(not JSON: "), proc.stderr
    assert "move it away and build again" in proc.stderr
    assert (repo / "envoy" / "extra" / "virtual-nodes" / "batch-job.json").exists()
    assert (repo / "envoy" / "meshlint-manifest.json").read_text() == "{broken"


def _version() -> str:
    from meshlint import __version__

    return __version__


ARN = "arn:aws:acm:us-east-1:111122223333:certificate/0123abcd"


def test_not_compilable_findings_stop_the_build_and_cert_map_resolves_them(repo: Path, tmp_path: Path) -> None:
    certs = tmp_path / "certs"
    payments = repo / "mesh" / "payments.yaml"
    pair = f"file: {{certificateChain: {certs}/payments.pem, privateKey: {certs}/payments.key}}"
    assert pair in payments.read_text()
    payments.write_text(payments.read_text().replace(pair, f"acm: {{certificateArn: '{ARN}'}}"))
    (repo / ".meshlint.yaml").write_text("rules:\n  not-compilable: error\n")
    proc = run("build", "mesh", "--out", "envoy", cwd=repo)
    assert proc.returncode == 1
    assert f"error[not-compilable] ACM certificate {ARN} cannot be fetched" in proc.stdout
    assert not (repo / "envoy").exists()

    proc = run("build", "mesh", "--out", "envoy", "--cert-map", f"{ARN}={certs}/payments.pem,{certs}/payments.key",
               cwd=repo)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    bootstrap = repo / "envoy" / "shop" / "virtual-nodes" / "payments.json"
    assert f"{certs}/payments.key" in bootstrap.read_text()
    assert_envoy_accepts([bootstrap])


def test_a_failing_graphviz_leaves_out_the_svg_with_a_warning(repo: Path, tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "dot").write_text("#!/bin/sh\necho 'syntax error in line 1' >&2\nexit 3\n")
    (bin_dir / "dot").chmod(0o755)
    proc = run("build", "mesh", "--out", "envoy", cwd=repo,
               env={**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"})
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.splitlines()[0] == ("meshlint: warning: shop/topology.svg not written: Graphviz `dot` failed "
                                           "(exit 3): syntax error in line 1")
    assert set(manifest(repo / "envoy")["files"]) == expected_files() - {"shop/topology.svg"}


def test_select_does_not_hide_what_cannot_be_compiled(tmp_path: Path) -> None:
    """--select narrows check's rules; the compiler's not-compilable findings still stop an error build."""
    from meshlint import api
    from meshlint.config import Settings

    (tmp_path / "m.yaml").write_text(
        "meshName: shop\nspec: {}\n---\nmeshName: shop\nvirtualNodeName: web\n"
        'tags: [{key: "meshlint:entry-point", value: "true"}]\nspec:\n  listeners:\n'
        "    - portMapping: {port: 8080, protocol: http}\n      tls:\n        mode: STRICT\n"
        '        certificate: {acm: {certificateArn: "arn:aws:acm:eu-west-1:111122223333:certificate/x"}}\n'
        "  serviceDiscovery: {dns: {hostname: web.shop.local}}\n")
    settings = Settings(select=frozenset({"schema"}), severities={"not-compilable": Severity.ERROR})
    result = api.build([str(tmp_path / "m.yaml")], tmp_path / "out", settings)
    assert [d.rule for d in result.check.diagnostics] == ["not-compilable"]
    assert result.written is None and not (tmp_path / "out").exists()


def test_check_compile_reports_what_build_reports_and_writes_nothing(repo: Path) -> None:
    payments = repo / "mesh" / "payments.yaml"
    text = payments.read_text()
    start = text.index("file: {certificateChain:")
    payments.write_text(text[:start] + f"acm: {{certificateArn: '{ARN}'}}" + text[text.index("}}", start) + 2:])

    plain = run("check", "mesh", "--format", "json", cwd=repo)
    assert "not-compilable" not in plain.stdout
    checked = run("check", "mesh", "--compile", "--format", "json", cwd=repo)
    assert sorted(p.name for p in repo.iterdir()) == ["mesh"]  # nothing written
    built = run("build", "mesh", "--out", "envoy", "--format", "json", cwd=repo)
    assert checked.returncode == built.returncode == 0, checked.stderr + built.stderr
    reported = [(d["rule"], d["path"], d["line"], d["column"], d["message"])
                for d in json.loads(checked.stdout)["diagnostics"]]
    assert reported == [(d["rule"], d["path"], d["line"], d["column"], d["message"])
                        for d in json.loads(built.stdout)["diagnostics"]]
    assert [r[:2] for r in reported if r[0] == "not-compilable"] == [("not-compilable", "mesh/payments.yaml")]


def test_check_compile_is_skipped_when_check_finds_an_error(tmp_path: Path) -> None:
    from meshlint import api

    (tmp_path / "m.yaml").write_text(
        "meshName: shop\nspec: {}\n---\nmeshName: shop\nvirtualNodeName: web\nspec:\n  listeners:\n"
        "    - portMapping: {port: 8080, protocol: htttp}\n")
    result = api.check([str(tmp_path / "m.yaml")], compile=True)
    assert [d.rule for d in result.diagnostics] == ["schema"]
