#!/usr/bin/env bash
# Starts `keyward` as the README does (embedded SQLite, defaults), waits for
# /readyz, checks a problem response, then stops it with SIGTERM and expects a
# clean exit. The port is 18080 so a developer's own server is left alone.
set -euo pipefail
cd "$(dirname "$0")/.."
data=$(mktemp -d)
log="$data/keyward.log"
cargo build -q --bin keyward
KEYWARD_DATA_DIR="$data" KEYWARD_LISTEN=127.0.0.1:18080 KEYWARD_ORIGIN=http://localhost:18080 \
  target/debug/keyward serve >"$log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -rf "$data"' EXIT
for _ in $(seq 1 50); do
  curl -fsS http://127.0.0.1:18080/readyz >/dev/null 2>&1 && break
  sleep 0.2
done
curl -fsS http://127.0.0.1:18080/readyz
echo
code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Origin: http://localhost:18080' -H 'Content-Type: application/json' \
  -d '{"username":"x"}' http://127.0.0.1:18080/v1/signup)
[ "$code" = 422 ] || { echo "expected 422 for a bad sign-up, got $code"; cat "$log"; exit 1; }
test -f "$data/keyward.db" || { echo "no SQLite database in the data directory"; exit 1; }
kill -TERM $pid
wait $pid
grep -q "shut down cleanly" "$log" || { echo "no clean shutdown"; cat "$log"; exit 1; }
echo "smoke test passed"
