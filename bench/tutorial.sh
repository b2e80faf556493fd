#!/usr/bin/env bash
# Keyward against the in-memory yardstick of issue 20: webauthn-rs's own
# axum tutorial server (kanidm/webauthn-rs, tutorial/server/axum: users,
# keys and sessions in memory, no audit, nothing durable), built OUTSIDE
# this repository (docs/benchmarks.md says how) and given here by path:
#   TUTORIAL_BIN=/path/target/release/axum_tutorial \
#   TUTORIAL_DIR=/path/tutorial/server/axum bash bench/tutorial.sh [seconds] [rounds]
# Each round, each server alone on core 0 and the load generator on core 1:
#   tutorial  login ceremony (start + finish), 200 users, C=8 and C=32
#   Keyward   step-up (create + options + verify + redeem), C=8 and C=32
#   Keyward   sign-in (password with argon2id at 1 MiB / 1 pass + key
#             options + verify), C=8 and C=32
# and prints one row per run: throughput, the server's CPU per ceremony
# and its threads' context switches per ceremony (from /proc, over the
# measured window), how busy its core was, p50/p99,
# errors, RSS. KEYWARD_DATABASE_URL=postgres://… runs Keyward on
# PostgreSQL (bench/lib.sh). The tutorial listens on port 8080 (fixed in
# its code).
set -euo pipefail
: "${TUTORIAL_BIN:?set TUTORIAL_BIN to the built axum tutorial}"
: "${TUTORIAL_DIR:?set TUTORIAL_DIR to its directory (it serves assets/ from there)}"
seconds=${1:-15} rounds=${2:-2}
source "$(dirname "$0")/lib.sh"
accounts=4000
# Sign-ins compare the key step: a cheap hash keeps argon2 from hiding it.
import_accounts "$accounts" --argon2-memory-kib 1024 --argon2-iterations 1
start_server
machine
svc=$($kw service-key create --name bench --scopes stepup:create,stepup:read,stepup:redeem 2>/dev/null)
stop_server
tut_base=http://127.0.0.1:8080 tut_origin=http://localhost:8080

row() { # server scenario json
  jq -r --arg s "$1" --arg n "$2" '
    def f: . * 100 | round / 100;
    "| \($s) | \($n) | \(.concurrency) | \(.ops_per_sec|round) | \(.server_cpu_ms_per_op|f) | \(.server_switches_per_op|round) | \(.server_busy*100|round) % | \(.p50_ms|f) | \(.p99_ms|f) | \(.errors|add // 0) | \(.server_rss_kib/1024*10|round/10) MiB |"' <<<"$3"
}
echo "command: TUTORIAL_BIN=… TUTORIAL_DIR=… bash bench/tutorial.sh $seconds $rounds ($backend)"
echo "| server | ceremony | C | ops/s | server CPU ms/op | thread switches/op | server core busy | p50 ms | p99 ms | errors | RSS after |"
echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
run=0
for round in $(seq 1 "$rounds"); do
  (cd "$TUTORIAL_DIR" && RUST_LOG=warn exec "${server_pin[@]}" "$TUTORIAL_BIN") >"$work/tutorial.log" 2>&1 &
  tpid=$!
  for _ in $(seq 1 100); do curl -s -o /dev/null "$tut_base/" && break; sleep 0.1; done
  for c in 8 32; do
    r=$("${loadgen_pin[@]}" $lg --base "$tut_base" --origin "$tut_origin" --server-pid "$tpid" \
      --server-cores "$server_cores" --concurrency "$c" --seconds "$seconds" --json tutorial --users 200)
    row "webauthn-rs tutorial (memory)" "login: start + finish" "$r"
  done
  echo "|  | memory of the tutorial after its runs: $(rss_parts "$tpid") |"
  kill "$tpid"; wait "$tpid" 2>/dev/null || true
  start_server
  for c in 8 32; do
    # Fresh accounts for every run: a user's daily-limit sum reads all of
    # their withdrawals of the last 24 hours, so reusing the same few
    # accounts run after run (thousands of withdrawals each) would measure
    # that instead (docs/benchmarks.md).
    run=$((run + 1))
    r=$(loadgen --concurrency "$c" --seconds "$seconds" --json step-ups --service-key "$svc" \
      --accounts "$c" --first $((accounts / 2 + run * 32)))
    row "Keyward ($backend)" "step-up: create + options + verify + redeem" "$r"
  done
  echo "|  | memory of Keyward after its step-ups: $(rss_parts "$pid") |"
  for c in 8 32; do
    r=$(loadgen --concurrency "$c" --seconds "$seconds" --argon2-memory-kib 1024 --argon2-iterations 1 \
      --json sign-in --accounts $((accounts / 2)))
    row "Keyward ($backend)" "sign-in: password + key options + verify" "$r"
    # The key step alone: the sign-in's CPU less one argon2id verification
    # at these parameters (the ceiling measured in process on one core).
    jq -r '"|  | (key step: sign-in less \(1000 / .ceiling.ops_per_sec * 100 | round / 100) ms of argon2id) | \(.concurrency) |  | \((.server_cpu_ms_per_op - 1000 / .ceiling.ops_per_sec) * 100 | round / 100) |  |  |  |  |  |  |"' <<<"$r"
  done
  stop_server
done
