#!/usr/bin/env bash
# Runs the README's walkthrough (the shell block between the walkthrough
# markers) against a fresh server, and checks that alice ends up signed in with
# one key. Keeps the README honest.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
script="$work/walkthrough.sh"
awk '/<!-- walkthrough:start -->/{on=1; next} /<!-- walkthrough:end -->/{on=0} on && !/^```/' README.md > "$script"
grep -q softkey "$script" || { echo "walkthrough block not found in README.md"; exit 1; }
command -v jq >/dev/null || { apt-get update -qq && apt-get install -y -qq jq; }
# Step 9 makes a virtualenv (Debian ships venv without ensurepip).
python3 -c 'import ensurepip, venv' 2>/dev/null || { apt-get update -qq && apt-get install -y -qq python3-venv; }
cargo build -q --bin keyward
# The server and the walkthrough's CLI calls share this data directory.
export KEYWARD_DATA_DIR="$work/data" KEYWARD_WITHDRAWALS__ADDRESS_COOLING_HOURS=0
target/debug/keyward serve >"$work/server.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
for _ in $(seq 1 50); do curl -fsS http://127.0.0.1:8080/readyz >/dev/null 2>&1 && break; sleep 0.2; done
trap 'kill $pid 2>/dev/null || true; rm -f jar alice.key pins.json redeemed.json' EXIT
out=$(bash -euo pipefail "$script" 2>&1) || { echo "$out"; cat "$work/server.log"; exit 1; }
echo "$out" | tail -n 3
echo "$out" | grep -q '"signed_in":true' || { echo "walkthrough did not sign in"; echo "$out"; exit 1; }
echo "$out" | grep -q '"label":"Desk key"' || { echo "walkthrough did not list the key"; echo "$out"; exit 1; }
echo "$out" | grep -q '"event":"signin.succeeded"' || { echo "audit log lacks the sign-in"; exit 1; }
echo "$out" | grep -q '"status":"redeemed"' || { echo "the withdrawal was not redeemed"; echo "$out"; exit 1; }
echo "$out" | grep -q 'already-redeemed' || { echo "the second redeem was not refused"; echo "$out"; exit 1; }
[ "$(echo "$out" | grep -c '^PAY: alice')" = 3 ] || { echo "the exchange's own check did not pass in Rust, Python and TypeScript"; echo "$out"; exit 1; }
echo "walkthrough passed"
