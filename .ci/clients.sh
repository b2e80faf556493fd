#!/usr/bin/env bash
# The Python and TypeScript clients (issue 21): each one's unit tests, the
# shared vectors in testdata/ (every vector must give the recorded verdict)
# and its live test against a Keyward it starts (enrol alice with the soft
# key, approve a withdrawal, wait by polling and by events, redeem once,
# verify the evidence end to end). Installs what it needs.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v jq >/dev/null || { apt-get update -qq && apt-get install -y -qq jq; }
cargo build -q --bin keyward -p keyward-server
cargo build -q -p keyward-testkit --bin softkey
bash clients/python/ci.sh --live
CI_LIVE=1 bash clients/typescript/ci.sh
