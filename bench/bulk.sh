#!/usr/bin/env bash
# Benchmark: memory and latency with many stored accounts (issue 8).
#   bash bench/bulk.sh [small] [large] [seconds]     (default 10000 1000000 10)
# For each size: imports that many accounts × 2 keys (`keyward-loadgen
# bulk-file | keyward import -`, timed), starts Keyward, records idle RSS, runs
# step-ups (c=STEPUP_C, default 16) and sign-ins over accounts spread across
# the whole range, and prints RSS under load and latency, so 10 k and 1 M can
# be compared. SKIP_BUILD, KEYWARD_DATABASE_URL, SERVER_CPUS / PIN as in
# bench/lib.sh.
source "$(dirname "$0")/lib.sh"
small=${1:-10000}
large=${2:-1000000}
seconds=${3:-10}
machine
echo "command: bash bench/bulk.sh $small $large $seconds"
echo "| backend | accounts (keys) | import s | idle RSS | step-up ops/s | step-up p50 / p99 ms | verify p99 ms | sign-in ops/s | sign-in p99 ms | RSS under load |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
have=0
for n in "$small" "$large"; do
  t0=$SECONDS
  seed=keyward-bench
  # Add only the accounts not there yet (indices have..n-1).
  "${loadgen_pin[@]}" $lg --origin "$origin" bulk-file --users $((n - have)) --first "$have" --seed "$seed" \
    | KEYWARD_LOG=error $kw import - >&2
  took=$((SECONDS - t0))
  have=$n
  start_server
  sleep 1
  idle=$(rss)
  svc=$($kw service-key create --name "bench$n" --scopes stepup:create,stepup:read,stepup:redeem 2>/dev/null)
  # Slots are spread over the whole range (offset by one between the two
  # runs; a later run's soft keys start at a higher, time-based counter).
  step=$(loadgen --concurrency "${STEPUP_C:-16}" --seconds "$seconds" --json step-ups --service-key "$svc" \
    --accounts $((n - 1)) --first 1)
  sign=$(loadgen --concurrency "${SIGNIN_C:-8}" --seconds "$seconds" --json sign-in --accounts "$n")
  loaded=$(rss)
  stop_server
  jq -rn --arg b "$backend" --arg n "$n" --arg t "$took" --arg idle "$idle" --arg loaded "$loaded" \
    --argjson s "$step" --argjson g "$sign" '
    def f: . * 100 | round / 100;
    "| \($b) | \($n) (\(($n|tonumber)*2)) | \($t) | \($idle) | \($s.ops_per_sec|round) | \($s.p50_ms|f) / \($s.p99_ms|f) | \(($s.phases[]|select(.phase=="verify")|.p99_ms|f)) | \($g.ops_per_sec|f) | \($g.p99_ms|f) | \($loaded) |"'
done
