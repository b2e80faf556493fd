#!/usr/bin/env bash
# CI for the Python client on a fresh machine: a virtualenv in a temporary
# directory, the package installed from here with its test extra, then the
# tests: unit tests and the shared vectors (<repo>/testdata, required here),
# and the live test when its KEYWARD_* variables are set (skipped otherwise).
#
#   bash clients/python/ci.sh          # unit + vectors (+ live if env set)
#   bash clients/python/ci.sh --live   # also start a Keyward and run the live test (tests/live.sh)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
PY=${PYTHON:-python3}

# Debian and Ubuntu ship venv without ensurepip (package python3-venv).
if ! "$PY" -c 'import ensurepip, venv' > /dev/null 2>&1; then
  SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq python3-venv
fi

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
"$PY" -m venv "$TMP/venv"
VPY=$TMP/venv/bin/python
"$VPY" -m pip install -q --disable-pip-version-check "$HERE[dev]"

cd "$HERE"
# The package says it is typed (py.typed): hold it to that.
(cd src && "$VPY" -m mypy --strict keyward_client)
KEYWARD_REQUIRE_VECTORS=1 "$VPY" -m pytest -rs tests
if [ "${1:-}" = "--live" ]; then
  PYTHON=$VPY bash tests/live.sh
fi
