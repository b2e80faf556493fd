#!/usr/bin/env bash
# The live test end to end: builds Keyward and softkey (CARGO_TARGET_DIR is
# honoured), starts Keyward on a temporary data dir and a free port, signs
# up alice, enrols her software key, allow-lists an address, creates the
# `payouts` service key, then runs test/live.test.ts against it and stops
# the server. Needs cargo, curl, jq, node >= 20. LIVE_KEYWARD_BIN and
# SOFTKEY name prebuilt binaries (then nothing is built).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
root=$(cd "$here/../.." && pwd)
target=${CARGO_TARGET_DIR:-$root/target}
# Keyward reads every KEYWARD_* variable as configuration: start clean.
for v in $(compgen -e | grep '^KEYWARD_' || true); do unset "$v"; done
if [ -z "${LIVE_KEYWARD_BIN:-}" ] || [ -z "${SOFTKEY:-}" ]; then
  (cd "$root" && CARGO_TARGET_DIR=$target cargo build -q -p keyward-server --bin keyward -p keyward-testkit --bin softkey)
fi
keyward=${LIVE_KEYWARD_BIN:-$target/debug/keyward}
softkey=${SOFTKEY:-$target/debug/softkey}

work=$(mktemp -d)
port=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
O=http://localhost:$port
export KEYWARD_LISTEN=127.0.0.1:$port KEYWARD_ORIGIN=$O KEYWARD_RP_ID=localhost \
  KEYWARD_DATA_DIR=$work/data KEYWARD_WITHDRAWALS__ADDRESS_COOLING_HOURS=0
"$keyward" serve >"$work/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 100); do curl -fsS "$O/healthz" >/dev/null 2>&1 && break; sleep 0.2; done
curl -fsS "$O/healthz" >/dev/null || { cat "$work/server.log"; exit 1; }

jar=$work/jar key=$work/alice.key
kw() { curl -sS --fail-with-body -b "$jar" -c "$jar" -H "Origin: $O" -H 'Content-Type: application/json' "$@"; }
kw -d '{"username":"alice","password":"correct horse battery staple"}' "$O/v1/signup" >/dev/null
kw -X POST -d '{}' "$O/v1/keys/registration/options" \
  | "$softkey" register --key "$key" --origin "$O" --label "Desk key" \
  | kw -d @- "$O/v1/keys/registration/verify" >/dev/null
ADDR=bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh
STEP=$(kw -d "{\"network\":\"bitcoin\",\"address\":\"$ADDR\",\"label\":\"cold wallet\"}" "$O/v1/addresses" | jq -r .step_up.id)
KEYWARD_URL=$O KEYWARD_JAR=$jar KEYWARD_KEYFILE=$key SOFTKEY=$softkey "$here/test/approve.sh" "$STEP" >/dev/null
SVC=$("$keyward" service-key create --name payouts --scopes stepup:create,stepup:read,stepup:redeem,apikeys:verify,events:read)

cd "$here"
[ -d node_modules ] || npm ci --no-audit --no-fund
npm run -s build && npm run -s build:test
KEYWARD_URL=$O KEYWARD_SERVICE_KEY=$SVC KEYWARD_AUDIENCE=payouts KEYWARD_USER=alice \
  KEYWARD_ADDRESS=$ADDR KEYWARD_RP_ID=localhost \
  KEYWARD_APPROVE="$here/test/approve.sh" KEYWARD_JAR=$jar KEYWARD_KEYFILE=$key SOFTKEY=$softkey \
  node --test dist-test/test/live.test.js
