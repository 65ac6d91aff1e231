"""Benchmarks: whole-process `meshlint check` and `meshlint build` on synthetic meshes, medians and ratios.

    .venv/bin/python benchmarks/run.py                       # N = 10, 100, 1000
    .venv/bin/python benchmarks/run.py --n 10 1000 10000 --runs 5
    .venv/bin/python benchmarks/run.py --n 1000 --no-terraform --no-cfn
    .venv/bin/python benchmarks/run.py --cfn-lint cfn-lint    # also time cfn-lint on the same mesh as CloudFormation

Meshes come from benchmarks/gen_mesh.py (same N and seed give the same bytes) and are cached under --work.
Each measurement is a fresh process, so imports and start-up count, as they do in pre-commit. At each N
the commands run in rounds, one of each per round, so a machine that slows down mid-run slows all of them
alike; the median of the rounds is reported. Peak memory is the child's maximum resident set size.

Two floors put the times in proportion, so that the machine's speed cancels out of the ratios at the end:
`python -c "import typer, pydantic"` (what any typer CLI pays to start) and the PyYAML C composer reading the
same YAML files (what any YAML tool pays to read them). A third, the stack floor, is what the prescribed
parts cost before meshlint reads a file (pydantic's models, libyaml, typer's handling of check's options): the
check / stack floor ratio is what meshlint itself adds to a small check. The package's bytecode is compiled first, as
`pip install` does (an editable install, or PYTHONDONTWRITEBYTECODE=1, would otherwise compile every module
in every run).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
GEN_MESH = REPO / "benchmarks" / "gen_mesh.py"
IMPORT_FLOOR = "import typer, pydantic"
# What the prescribed stack costs before meshlint reads a file: pydantic's model machinery (any BaseModel),
# libyaml, and typer turning `meshlint check`'s own options into values (typer 0.29 builds a pydantic
# TypeAdapter per option). The import floor leaves all three out: `import pydantic` is lazy.
STACK_FLOOR = """
import yaml
from pydantic import BaseModel
from typer.main import get_command
from meshlint.cli import app
get_command(app).commands["check"].make_context("check", ["."])
"""
# What reading the YAML costs at the least: libyaml composing every document of every file, one process.
COMPOSE_FLOOR = """
import sys, pathlib, yaml
for path in sorted(pathlib.Path(sys.argv[1]).rglob("*.yaml")):
    for _ in yaml.compose_all(path.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader):
        pass
"""

# (label, numerator, denominator, N, goal): each ratio the project holds itself to, from the rows below
# (goal None: shown for proportion).
RATIOS: list[tuple[str, str, str, int, float | None]] = [
    ("check / import floor", "check", "import floor", 10, 1.5),
    ("stack floor / import floor", "stack floor", "import floor", 10, None),
    ("check / stack floor", "check", "stack floor", 10, None),
    ("check / YAML compose floor", "check", "compose floor", 1000, 2.5),
    ("build / check", "build", "check", 1000, 2.5),
    ("CloudFormation check / YAML check", "check cfn", "check", 1000, 2.0),
    ("Terraform check / YAML check", "check terraform", "check", 1000, 3.0),
]
BUILD_PEAK_GOAL_MIB = 1024  # build at N = 10,000


@dataclass
class Row:
    label: str
    seconds: float
    peak_kib: int


def generate(n: int, fmt: str, work: Path) -> Path:
    suffix = ".yaml" if fmt == "cfn" else ""
    out = work / f"mesh-{n}-{fmt}{suffix}"
    if not out.exists():
        subprocess.run([sys.executable, str(GEN_MESH), "--n", str(n), "--format", fmt, "--out", str(out)],
                       check=True, capture_output=True)
    return out


def measure(argv: list[str], ok_codes: tuple[int, ...]) -> tuple[float, int]:
    """(wall seconds, peak RSS in KiB) of one process."""
    started = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - started
    code = os.waitstatus_to_exitcode(status)
    if code not in ok_codes:
        raise SystemExit(f"{' '.join(argv)} exited {code}")
    return elapsed, usage.ru_maxrss


def rounds(commands: dict[str, tuple[list[str], tuple[int, ...], int]]) -> list[Row]:
    """Each command run its number of times, interleaved; the median wall time and the highest peak of each."""
    times: dict[str, list[float]] = {label: [] for label in commands}
    peaks = dict.fromkeys(commands, 0)
    for round_no in range(max(runs for _, _, runs in commands.values())):
        for label, (argv, ok_codes, runs) in commands.items():
            if round_no < runs:
                seconds, peak = measure(argv, ok_codes)
                times[label].append(seconds)
                peaks[label] = max(peaks[label], peak)
    return [Row(label, statistics.median(times[label]), peaks[label]) for label in commands]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, nargs="+", default=[10, 100, 1000])
    parser.add_argument("--runs", type=int, default=5, help="rounds per N (median reported; at most 3 at N >= 10000)")
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "meshlint-bench")
    parser.add_argument("--no-build", action="store_true", help="leave out meshlint build")
    parser.add_argument("--no-cfn", action="store_true", help="leave out the mesh as one CloudFormation template")
    parser.add_argument("--no-terraform", action="store_true", help="leave out the mesh as a Terraform module")
    parser.add_argument("--cfn-lint", help="a cfn-lint executable to time on the CloudFormation form")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(REPO / "meshlint")], check=True, env=env)
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    meshlint = [sys.executable, "-m", "meshlint"]
    findings = (0, 1)
    results: dict[tuple[str, int], Row] = {}
    print(f"{'what':<40}{'N':>7}{'median s':>10}{'peak MiB':>10}")
    for n in args.n:
        mesh = generate(n, "cli-yaml", args.work)
        runs = max(1, args.runs if n < 10000 else min(args.runs, 3))
        commands = {
            "import floor": ([sys.executable, "-c", IMPORT_FLOOR], (0,), runs),
            "stack floor": ([sys.executable, "-c", STACK_FLOOR], (0,), runs),
            "compose floor": ([sys.executable, "-c", COMPOSE_FLOOR, str(mesh)], (0,), runs),
            "check": ([*meshlint, "check", str(mesh)], findings, runs),
        }
        if not args.no_build:
            out = args.work / f"out-{n}"
            shutil.rmtree(out, ignore_errors=True)
            commands["build"] = ([*meshlint, "build", str(mesh), "--out", str(out)], findings, runs)
        if not args.no_cfn and n <= 1000:
            commands["check cfn"] = ([*meshlint, "check", str(generate(n, "cfn", args.work))], findings, runs)
        if not args.no_terraform and n <= 1000:
            commands["check terraform"] = (
                [*meshlint, "check", str(generate(n, "terraform", args.work))], findings, runs)
        if args.cfn_lint and n <= 1000:
            commands["cfn-lint (CloudFormation form)"] = (
                [args.cfn_lint, str(generate(n, "cfn", args.work))], (0, 2, 4, 6, 8), 1 if n >= 1000 else runs)
        for row in rounds(commands):
            results[row.label, n] = row
            print(f"{row.label:<40}{n:>7}{row.seconds:>10.3f}{row.peak_kib / 1024:>10.0f}", flush=True)
    print(f"\n{'ratio (median over median)':<40}{'N':>7}{'ratio':>10}{'goal':>10}")
    for label, top, bottom, n, goal in RATIOS:
        if (top, n) in results and (bottom, n) in results:
            ratio = results[top, n].seconds / results[bottom, n].seconds
            if goal is None:
                print(f"{label:<40}{n:>7}{ratio:>9.2f}x{'-':>10}")
                continue
            verdict = "met" if ratio <= goal else "NOT MET"
            print(f"{label:<40}{n:>7}{ratio:>9.2f}x{'<= ' + str(goal) + 'x':>10}  {verdict}")
    if ("build", 10000) in results:
        peak = results["build", 10000].peak_kib / 1024
        print(f"{'build peak memory (MiB)':<40}{10000:>7}{peak:>10.0f}{'<= ' + str(BUILD_PEAK_GOAL_MIB):>10}  "
              f"{'met' if peak <= BUILD_PEAK_GOAL_MIB else 'NOT MET'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
