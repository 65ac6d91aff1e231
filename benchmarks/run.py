"""Benchmarks: whole-process `meshlint check` and `meshlint build` on synthetic meshes, medians printed.

    .venv/bin/python benchmarks/run.py                       # N = 10, 100, 1000
    .venv/bin/python benchmarks/run.py --n 10 1000 10000 --runs 5
    .venv/bin/python benchmarks/run.py --cfn-lint cfn-lint    # also time cfn-lint on the same mesh as CloudFormation
    .venv/bin/python benchmarks/run.py --n 1000 --terraform   # also check the same mesh as a Terraform module

Meshes come from benchmarks/gen_mesh.py (same N and seed give the same bytes) and are cached under --work.
Each measurement is a fresh process, so imports and start-up count, as they do in pre-commit.
The package's bytecode is compiled first, as `pip install` does (an editable install, or
PYTHONDONTWRITEBYTECODE=1, would otherwise compile every module in every run). Peak memory is the child's
maximum resident set size.
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
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
GEN_MESH = REPO / "benchmarks" / "gen_mesh.py"


def generate(n: int, fmt: str, work: Path) -> Path:
    suffix = ".yaml" if fmt == "cfn" else ""
    out = work / f"mesh-{n}-{fmt}{suffix}"
    if not out.exists():
        subprocess.run([sys.executable, str(GEN_MESH), "--n", str(n), "--format", fmt, "--out", str(out)],
                       check=True, capture_output=True)
    return out


def measure(argv: list[str], ok_codes: tuple[int, ...] = (0, 1)) -> tuple[float, int]:
    """(wall seconds, peak RSS in KiB) of one process."""
    started = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - started
    code = os.waitstatus_to_exitcode(status)
    if code not in ok_codes:
        raise SystemExit(f"{' '.join(argv)} exited {code}")
    return elapsed, usage.ru_maxrss


def median_of(argv: list[str], runs: int, ok_codes: tuple[int, ...] = (0, 1)) -> tuple[float, int]:
    results = [measure(argv, ok_codes) for _ in range(runs)]
    return statistics.median(r[0] for r in results), max(r[1] for r in results)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, nargs="+", default=[10, 100, 1000])
    parser.add_argument("--runs", type=int, default=5, help="runs per measurement (median reported)")
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "meshlint-bench")
    parser.add_argument("--cfn-lint", help="a cfn-lint executable to time on the CloudFormation form")
    parser.add_argument("--no-build", action="store_true")
    parser.add_argument("--terraform", action="store_true", help="also time check on the mesh as a Terraform module")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(REPO / "meshlint")], check=True,
                   env={k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"})
    meshlint = [sys.executable, "-m", "meshlint"]
    print(f"{'what':<34}{'N':>7}{'median s':>10}{'peak MiB':>10}")
    for n in args.n:
        mesh = generate(n, "cli-yaml", args.work)
        runs = max(1, args.runs if n < 10000 else min(args.runs, 3))
        rows = [("meshlint check", median_of([*meshlint, "check", str(mesh)], runs))]
        if not args.no_build:
            out = args.work / f"out-{n}"
            shutil.rmtree(out, ignore_errors=True)
            rows.append(("meshlint build (check included)",
                         median_of([*meshlint, "build", str(mesh), "--out", str(out)], runs)))
        if args.terraform:
            module = generate(n, "terraform", args.work)
            rows.append(("meshlint check (Terraform module)", median_of([*meshlint, "check", str(module)], runs)))
        if args.cfn_lint and n <= 1000:
            template = generate(n, "cfn", args.work)
            rows.append(("cfn-lint (CloudFormation form)",
                         median_of([args.cfn_lint, str(template)], 1 if n >= 1000 else runs, (0, 2, 4, 6, 8))))
        for what, (seconds, rss) in rows:
            print(f"{what:<34}{n:>7}{seconds:>10.3f}{rss / 1024:>10.0f}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
