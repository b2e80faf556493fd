#!/usr/bin/env bash
# The live test end to end: starts a real Keyward (temporary data dir, a
# free port), signs alice up, enrols her software key, allow-lists a
# withdrawal address, creates the service key `payouts`, then runs
# tests/test_live.py against it and stops the server.
#
#   bash clients/python/tests/live.sh            # from anywhere
#
# Uses target/debug/keyward and target/debug/softkey (CARGO_TARGET_DIR is
# honoured; they are built if missing), curl, and $PYTHON (default python3)
# with the package and pytest importable (ci.sh sets that up).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../../.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
KEYWARD=$TARGET/debug/keyward
SOFTKEY=$TARGET/debug/softkey
PYTHON=${PYTHON:-python3}
if [ ! -x "$KEYWARD" ] || [ ! -x "$SOFTKEY" ]; then
  (cd "$ROOT" && cargo build -q -p keyward-server --bin keyward -p keyward-testkit --bin softkey)
fi

# Keyward reads every KEYWARD_* variable as configuration and refuses one it
# does not know: the server and the CLI run without the client-side ones.
CLEAN=(env -u KEYWARD_TESTDATA -u KEYWARD_REQUIRE_VECTORS -u KEYWARD_URL -u KEYWARD_SERVICE_KEY
  -u KEYWARD_AUDIENCE -u KEYWARD_USER -u KEYWARD_USER_JAR -u KEYWARD_USER_KEY -u KEYWARD_SOFTKEY
  -u KEYWARD_DESTINATION)

WORK=$(mktemp -d)
PORT=$("$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
O=http://localhost:$PORT
# The server and the CLI read the same settings (and so the same database).
export KEYWARD_LISTEN=127.0.0.1:$PORT KEYWARD_ORIGIN=$O KEYWARD_RP_ID=localhost \
  KEYWARD_DATA_DIR=$WORK/data KEYWARD_WITHDRAWALS__ADDRESS_COOLING_HOURS=0 \
  KEYWARD_PASSWORD__MEMORY_KIB=1024 KEYWARD_PASSWORD__ITERATIONS=1
"${CLEAN[@]}" "$KEYWARD" serve > "$WORK/server.log" 2>&1 &
SERVER=$!
stop() {
  kill "$SERVER" 2>/dev/null || true
  wait "$SERVER" 2>/dev/null || true
  rm -rf "$WORK"
}
trap stop EXIT
for _ in $(seq 1 100); do
  curl -sf "$O/healthz" > /dev/null 2>&1 && break
  kill -0 "$SERVER" 2>/dev/null || { cat "$WORK/server.log"; exit 1; }
  sleep 0.2
done

JAR=$WORK/jar KEY=$WORK/alice.key
kw() { curl -sS -f -b "$JAR" -c "$JAR" -H "Origin: $O" -H 'Content-Type: application/json' "$@"; }
kw -d '{"username":"alice","password":"correct horse battery staple"}' "$O/v1/signup" > /dev/null
kw -X POST -d '{}' "$O/v1/keys/registration/options" \
  | "$SOFTKEY" register --key "$KEY" --origin "$O" --label "Desk key" \
  | kw -d @- "$O/v1/keys/registration/verify" > /dev/null
ADDR=bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh
STEP=$(kw -d "{\"network\":\"bitcoin\",\"address\":\"$ADDR\",\"label\":\"cold wallet\"}" "$O/v1/addresses" \
  | "$PYTHON" -c 'import json, sys; print(json.load(sys.stdin)["step_up"]["id"])')
kw -X POST -d '{}' "$O/v1/step-ups/$STEP/options" \
  | "$SOFTKEY" assert --key "$KEY" --origin "$O" \
  | kw -d @- "$O/v1/step-ups/$STEP/verify" > /dev/null
SVC=$("${CLEAN[@]}" "$KEYWARD" service-key create --name payouts \
  --scopes stepup:create,stepup:read,stepup:redeem,apikeys:verify,events:read 2>/dev/null | tail -n 1)

export KEYWARD_URL=$O KEYWARD_SERVICE_KEY=$SVC KEYWARD_AUDIENCE=payouts KEYWARD_USER=alice \
  KEYWARD_USER_JAR=$JAR KEYWARD_USER_KEY=$KEY KEYWARD_SOFTKEY=$SOFTKEY KEYWARD_DESTINATION=$ADDR
cd "$HERE/.."
"$PYTHON" -m pytest -v -rs tests/test_live.py "$@"
