#!/usr/bin/env bash
# Idempotent set-up: a virtualenv in .venv with meshlint and its dev tools, and Graphviz's `dot` when we
# can install it (root on Debian). Safe to run again; does little when everything is in place.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v dot >/dev/null 2>&1 || ! command -v iptables >/dev/null 2>&1 || ! command -v curl >/dev/null 2>&1 \
    || ! command -v ip >/dev/null 2>&1 || ! command -v prometheus >/dev/null 2>&1 \
    || ! command -v promtool >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "bootstrap: installing graphviz (renders topology.svg), iptables + iproute2 + curl (e2e tests in network" \
      "namespaces: ALLOW_ALL, the generated interception) and prometheus (e2e metrics test, promtool check rules)" >&2
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq graphviz iptables iproute2 curl \
      prometheus >/dev/null) \
      || echo "bootstrap: could not install graphviz/prometheus; DOT files are still written" >&2
  else
    echo "bootstrap: Graphviz's dot or Prometheus not found; install them (apt-get install graphviz prometheus)" >&2
  fi
fi

PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
stamp=.venv/.meshlint-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e '.[dev]'
  touch "$stamp"
fi
