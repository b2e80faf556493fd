#!/usr/bin/env bash
# Benchmark: what the risk signals and the event outbox cost per ceremony
# (issue 19). Runs bench/ceremonies.sh three times on the same build:
#   1. every risk effect `none` (signals still computed, nothing recorded)
#   2. the default effects (sign-ins from the load generator's fresh
#      clients fire `new_device: notify`, so each writes a risk.decided
#      entry to the audit log, the outbox)
#   3. the defaults and a webhook endpoint (a local receiver that answers
#      202), so the instance also signs and pushes every event
#   bash bench/risk.sh [accounts] [seconds] [rounds]
set -euo pipefail
cd "$(dirname "$0")/.."
accounts=${1:-4000} seconds=${2:-10} rounds=${3:-2}
[ -n "${SKIP_BUILD:-}" ] || { cargo build -q --release --bin keyward -p keyward-server && cargo build -q --release -p keyward-loadgen; }
quiet=()
for s in new_device new_network new_country new_asn impossible_travel withdrawal_velocity recent_security_change new_key; do
  quiet+=("KEYWARD_RISK__EFFECTS__${s^^}=none")
done
hook=$(mktemp --suffix=.toml)
printf '[[events.webhooks]]\nurl = "http://127.0.0.1:18999/events"\naudience = "bench"\n' >"$hook"
receiver='let n=0;require("http").createServer((q,r)=>{q.resume();q.on("end",()=>{n++;r.writeHead(202);r.end()})}).listen(18999,"127.0.0.1");process.on("SIGTERM",()=>{console.log(`webhook receiver got ${n} events`);process.exit(0)})'
rows() { grep '^| sqlite\|^| postgres\|^machine\|^idle server' || true; }
for round in $(seq 1 "$rounds"); do
  echo "=== round $round: every risk effect none"
  env "${quiet[@]}" SKIP_BUILD=1 bash bench/ceremonies.sh "$accounts" "$seconds" 2>/dev/null | rows
  echo "=== round $round: default risk effects"
  SKIP_BUILD=1 bash bench/ceremonies.sh "$accounts" "$seconds" 2>/dev/null | rows
  taskset -c 1 node -e "$receiver" & r=$!
  echo "=== round $round: default risk effects + a webhook"
  KEYWARD_CONFIG=$hook SKIP_BUILD=1 bash bench/ceremonies.sh "$accounts" "$seconds" 2>/dev/null | rows
  kill -TERM $r; wait $r || true
done
rm -f "$hook"
