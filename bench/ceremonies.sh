#!/usr/bin/env bash
# Benchmark: real ceremonies against their crypto ceilings (issue 8).
#   bash bench/ceremonies.sh [accounts] [seconds]
# Imports `accounts` synthetic accounts (2 keys each) through `keyward import`,
# starts Keyward on loopback pinned to its own core(s), then runs:
#   sign-in   password (argon2id) + key, ratio to the argon2id ceiling
#   step-up   service creates → user approves (key) → service redeems, at full
#             speed (ratio to the webauthn-rs ceiling) and at half that rate
#             (p99 of verify, target ≤ 10 ms)
# and prints the rows for docs/benchmarks.md. See bench/lib.sh for SKIP_BUILD,
# KEYWARD_DATABASE_URL (PostgreSQL), SERVER_CPUS / PIN.
# Concurrency: SIGNIN_C (default 8), STEPUP_C (default 16).
source "$(dirname "$0")/lib.sh"
accounts=${1:-10000}
seconds=${2:-10}
import_accounts "$accounts"
start_server
sleep 1
idle=$(rss)
machine
echo "idle server RSS: $idle ($accounts accounts stored)"
svc=$($kw service-key create --name bench --scopes stepup:create,stepup:read,stepup:redeem 2>/dev/null)
# Each run gets its own accounts: sign-ins the first half, step-ups a quarter each.
half_n=$((accounts / 2)) quarter=$((accounts / 4))
signin=$(loadgen --concurrency "${SIGNIN_C:-8}" --seconds "$seconds" --json sign-in --accounts "$half_n")
full=$(loadgen --concurrency "${STEPUP_C:-16}" --seconds "$seconds" --json step-ups --service-key "$svc" \
  --accounts "$quarter" --first "$half_n")
peak=$(jq -r .ops_per_sec <<<"$full")
half=$(jq -rn "$peak / 2")
halfrun=$(loadgen --concurrency "${STEPUP_C:-16}" --seconds "$seconds" --rate "$half" --json step-ups \
  --service-key "$svc" --accounts "$quarter" --first $((half_n + quarter)))
loaded=$(rss)
row() { # name json
  jq -r --arg b "$backend" --arg n "$1" --arg rss "$loaded" '
    def f: . * 100 | round / 100;
    def ph(n): (.phases[] | select(.phase == n) | "\(.p50_ms|f) / \(.p99_ms|f)") // "";
    "| \($b) | \($n) | \(.ops_per_sec|round) | \(.p50_ms|f) | \(.p99_ms|f) | \(ph("verify")) | \((.errors|to_entries|map("\(.key): \(.value)")|join(", ")) // "") | \(if .ratio then "\(.ratio*1000|round/10) % of \(.ceiling.of) (\(.ceiling.ops_per_sec|round)/s)" else "" end) | \($rss) |"' <<<"$2"
}
echo "command: bash bench/ceremonies.sh $accounts $seconds (SIGNIN_C=${SIGNIN_C:-8} STEPUP_C=${STEPUP_C:-16})"
echo "| backend | scenario | ops/s | p50 ms | p99 ms | verify p50 / p99 ms | errors | ratio to ceiling | server RSS after |"
echo "|---|---|---:|---:|---:|---:|---|---|---:|"
row "sign-in (password + key), c=${SIGNIN_C:-8}" "$signin"
row "step-up approve + redeem, c=${STEPUP_C:-16}" "$full"
row "step-up at half peak ($half/s)" "$halfrun"
echo "idle RSS $idle; targets: sign-in ≥ 90 % of argon2id; step-up ≥ 80 % (SQLite) / 60 % (PostgreSQL) of webauthn-rs; verify p99 ≤ 10 ms at half peak"
