"""The hooks in .pre-commit-hooks.yaml, run by the real pre-commit in throwaway git repositories.

The hook repository is a committed copy of this working tree (pre-commit clones a revision, and the
working tree's hook file may not be committed yet). pre-commit builds the hook's virtualenv once per session
(PRE_COMMIT_HOME is a session temp folder) by pip-installing meshlint from that copy; that needs the
package index and takes a little while, so every test shares one install.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.helpers import REPO

COPIED = ("pyproject.toml", "README.md", ".pre-commit-hooks.yaml", "meshlint", "rules", "schemas")
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", "_data")
MESH = "meshName: shop\nspec: {}\n"
FRONT = """meshName: shop
virtualNodeName: front
tags: [{key: "meshlint:entry-point", value: "true"}]
spec:
  backends: [{virtualService: {virtualServiceName: color.shop.local}}]
  listeners:
    - portMapping: {port: 8080, protocol: http}
      tls: {mode: STRICT, certificate: {file: {certificateChain: /c.pem, privateKey: /k.pem}}}
  backendDefaults:
    clientPolicy: {tls: {enforce: true, validation: {trust: {file: {certificateChain: /ca.pem}}}}}
  serviceDiscovery: {dns: {hostname: front.shop.local}}
"""
COLOR = """meshName: shop
virtualServiceName: color.shop.local
spec:
  provider: {virtualNode: {virtualNodeName: color}}
---
meshName: shop
virtualNodeName: color
spec:
  listeners:
    - portMapping: {port: 8080, protocol: http}
      tls: {mode: STRICT, certificate: {file: {certificateChain: /c.pem, privateKey: /k.pem}}}
  serviceDiscovery: {dns: {hostname: color.shop.local}}
"""


def git(*args: str, cwd: Path) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.com"}
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True, env=env).stdout


@pytest.fixture(scope="session")
def hook_repo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    repo = tmp_path_factory.mktemp("hook-repo")
    for name in COPIED:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, repo / name, ignore=IGNORED)
        else:
            shutil.copy2(source, repo / name)
    git("init", "-q", cwd=repo)
    git("add", "-A", cwd=repo)
    git("commit", "-q", "-m", "hooks under test", cwd=repo)
    return repo, git("rev-parse", "HEAD", cwd=repo).strip()


@pytest.fixture(scope="session")
def pre_commit_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("pre-commit-home")


@pytest.fixture
def project(tmp_path: Path, hook_repo: tuple[Path, str]) -> Iterator[Path]:
    repo, rev = hook_repo
    config = {"repos": [{"repo": str(repo), "rev": rev, "hooks": [
        {"id": "meshlint"}, {"id": "meshlint-build-check", "args": ["--out", "envoy/"]}]}]}
    (tmp_path / ".pre-commit-config.yaml").write_text(yaml.safe_dump(config))
    git("init", "-q", cwd=tmp_path)
    yield tmp_path


def pre_commit(project: Path, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PRE_COMMIT_HOME": str(home), "PRE_COMMIT_COLOR": "never"}
    env.pop("MESHLINT_RAISE", None)
    return subprocess.run([sys.executable, "-m", "pre_commit", "run", *args], cwd=project, capture_output=True,
                          text=True, env=env, timeout=900)


def files(project: Path, tree: dict[str, str]) -> None:
    for name, text in tree.items():
        path = project / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    git("add", "-A", cwd=project)


def test_hook_file_matches_the_cli() -> None:
    hooks = {h["id"]: h for h in yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())}
    assert set(hooks) == {"meshlint", "meshlint-build-check"}
    assert hooks["meshlint"]["entry"] == "meshlint check --mesh-roots"
    assert hooks["meshlint"]["types_or"] == ["yaml", "json", "terraform"]
    assert hooks["meshlint-build-check"]["pass_filenames"] is False
    from typer.testing import CliRunner

    from meshlint.cli import app

    for hook in hooks.values():
        command = hook["entry"].split()[1:]
        assert CliRunner().invoke(app, [*command, "--help"]).exit_code == 0


def test_clean_mesh_passes(project: Path, pre_commit_home: Path) -> None:
    files(project, {"mesh/mesh.yaml": MESH, "mesh/front.yaml": FRONT, "mesh/color.yaml": COLOR})
    proc = pre_commit(project, pre_commit_home, "meshlint", "--files", "mesh/front.yaml")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "meshlint" in proc.stdout and "Passed" in proc.stdout


def test_a_cross_file_finding_fails_even_when_another_file_changed(project: Path, pre_commit_home: Path) -> None:
    # color.yaml is gone: front's backend dangles. Only mesh.yaml changed, but the whole mesh is checked.
    files(project, {"mesh/mesh.yaml": MESH, "mesh/front.yaml": FRONT})
    proc = pre_commit(project, pre_commit_home, "meshlint", "--files", "mesh/mesh.yaml")
    assert proc.returncode == 1, proc.stdout
    assert "mesh/front.yaml:5:52: error[dangling-reference]" in proc.stdout


def test_each_mesh_root_uses_its_own_config(project: Path, pre_commit_home: Path) -> None:
    plain = FRONT.replace("      tls: {mode: STRICT, certificate: {file: {certificateChain: /c.pem, privateKey: /k.pem}}}\n",
                          "")
    files(project, {"team-a/.meshlint.yaml": "rules: {missing-tls: off}\n", "team-a/mesh.yaml": MESH + "---\n" +
                    plain + "---\n" + COLOR, "team-b/mesh.yaml": MESH + "---\n" + plain + "---\n" + COLOR})
    ok = pre_commit(project, pre_commit_home, "meshlint", "--files", "team-a/mesh.yaml")
    assert ok.returncode == 0, ok.stdout
    # team-b has no config: its root is the top level, whose walk leaves team-a (a root of its own) out
    bad = pre_commit(project, pre_commit_home, "meshlint", "--files", "team-a/mesh.yaml", "team-b/mesh.yaml")
    assert bad.returncode == 1
    assert "team-b/mesh.yaml" in bad.stdout and "missing-tls" in bad.stdout
    assert "team-a/mesh.yaml:" not in bad.stdout


def test_build_check_hook(project: Path, pre_commit_home: Path) -> None:
    files(project, {"mesh/mesh.yaml": MESH, "mesh/front.yaml": FRONT, "mesh/color.yaml": COLOR})
    built = subprocess.run([sys.executable, "-m", "meshlint", "build", "mesh", "--out", "envoy"], cwd=project,
                           capture_output=True, text=True)
    assert built.returncode == 0, built.stderr
    git("add", "-A", cwd=project)
    ok = pre_commit(project, pre_commit_home, "meshlint-build-check", "--all-files")
    assert ok.returncode == 0, ok.stdout
    assert not (project / "envoy" / "shop" / "virtual-nodes" / "front.json").read_text().count("9090")
    files(project, {"mesh/front.yaml": FRONT.replace("port: 8080", "port: 9090")})
    stale = pre_commit(project, pre_commit_home, "meshlint-build-check", "--all-files")
    assert stale.returncode == 1
    assert "changed: shop/virtual-nodes/front.json" in stale.stdout
    assert "is out of date" in stale.stdout
