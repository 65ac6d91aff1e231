#!/usr/bin/env bash
# The whole test suite, as CI runs it: set-up, lint, type check, tests (real Envoy included).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
.venv/bin/ruff check meshlint tests scripts benchmarks
.venv/bin/mypy
.venv/bin/python -m pytest "$@"
