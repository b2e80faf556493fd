#!/usr/bin/env bash
# Fault runs (issue 20), each by one command; the outcomes are recorded in
# docs/reliability.md ("Faults under load").
#   bash bench/faults.sh pg-restart   PostgreSQL (a private cluster this script
#                                     makes on port 55433) stopped and started
#                                     again under a step-up load
#   bash bench/faults.sh disk-full    SQLite on a 32 MiB tmpfs that the script
#                                     fills and empties under a step-up load
#   bash bench/faults.sh soak [min]   step-ups at half the peak rate for
#                                     [min] minutes (default 10), one line a minute,
#                                     with the disk's fsyncs of that minute beside
#                                     them; SOAK_TMPFS=1 puts the database on a
#                                     tmpfs (no disk: the server's own drift);
#                                     SOAK_RATE=n offers n/s instead of half the peak
# pg-restart and disk-full print the load generator's audit (every step-up
# checked afterwards: acknowledged approvals redeem exactly once, nothing
# half-written) and fail if a promise broke. Needs root (tmpfs, the
# PostgreSQL cluster runs as the postgres user). SKIP_BUILD=1 as in lib.sh.
set -euo pipefail
mode=${1:?usage: bash bench/faults.sh pg-restart|disk-full|soak [minutes]}
cd "$(dirname "$0")/.."
accounts=${FAULT_ACCOUNTS:-200} workers=${FAULT_C:-8}
now_ms() { date +%s%3N; }

pg_bin=$(ls -d /usr/lib/postgresql/*/bin | tail -n1)
pg_dir= mnt=
case $mode in
  pg-restart)
    # A cluster of our own: stopping the machine's shared one would break
    # whatever else uses it.
    pg_dir=$(mktemp -d)
    chown postgres "$pg_dir"
    pg() { su postgres -c "$pg_bin/pg_ctl -D $pg_dir/data -l $pg_dir/log -w -o '-p 55433 -k $pg_dir' $*" >/dev/null; }
    su postgres -c "$pg_bin/initdb -A trust -U postgres -D $pg_dir/data" >/dev/null
    pg start
    export KEYWARD_DATABASE_URL=postgres://postgres@127.0.0.1:55433/postgres
    ;;
  disk-full)
    mnt=$(mktemp -d)
    mount -t tmpfs -o size=32m tmpfs "$mnt"
    ;;
  soak)
    if [ "${SOAK_TMPFS:-}" = 1 ]; then
      mnt=$(mktemp -d)
      mount -t tmpfs -o size=4g tmpfs "$mnt"
    fi
    ;;
  *) echo "unknown mode $mode" >&2; exit 2 ;;
esac

source bench/lib.sh
if [ -n "$mnt" ]; then export KEYWARD_DATA_DIR="$mnt"; fi
teardown() {
  # Keep the server's log of a failed run.
  [ -f "$work/server.log" ] && cp "$work/server.log" "/tmp/faults-$mode-server.log" || true
  [ -f "$work/report.json" ] && cp "$work/report.json" "/tmp/faults-$mode-report.json" || true
  cleanup
  if [ -n "$pg_dir" ]; then pg stop -m immediate 2>/dev/null || true; rm -rf "$pg_dir"; fi
  if [ -n "$mnt" ]; then umount "$mnt" || true; rmdir "$mnt"; fi
}
trap teardown EXIT

import_accounts "$accounts"
start_server
machine
svc=$($kw service-key create --name faults --scopes stepup:create,stepup:read,stepup:redeem 2>/dev/null)

# The load generator's report: no 500s, failures bounded, the audit clean.
check() { # report.json
  jq -c '{completed, errors, slowest_failure_ms, audit: (.audit | del(.violations)), violations: (.audit.violations | length)}' "$1"
  local bad
  bad=$(jq -r '.errors | keys[] | select(test("http 503|connect") | not)' "$1")
  [ -z "$bad" ] || { echo "FAIL: failures other than 503: $bad"; return 1; }
  [ "$(jq '.audit.violations | length' "$1")" = 0 ] || { jq '.audit.violations' "$1"; echo "FAIL: violations"; return 1; }
  [ "$(jq '.audit.acknowledged_approvals' "$1")" -gt 0 ] || { echo "FAIL: nothing was approved"; return 1; }
}

case $mode in
  pg-restart)
    loadgen --concurrency "$workers" --seconds 40 outage --service-key "$svc" --accounts "$accounts" \
      >"$work/report.json" &
    lg_pid=$!
    sleep 12
    stopped=$(now_ms); pg stop -m immediate; echo "PostgreSQL stopped (immediate) at +0 s"
    sleep 10
    pg start; started=$(now_ms); echo "PostgreSQL started again $(( (started - stopped) / 1000 )) s later"
    wait $lg_pid
    check "$work/report.json"
    back=$(jq -r '.first_success_after_last_failure_unix_ms' "$work/report.json")
    first=$(jq -r '.first_failure_unix_ms' "$work/report.json")
    echo "first failure $(( first - stopped )) ms after the stop; serving again $(( back - started )) ms after PostgreSQL's return (target ≤ 5000)"
    [ $(( back - started )) -le 5000 ] || { echo "FAIL: recovery took longer than 5 s"; exit 1; }
    $kw audit verify
    ;;
  disk-full)
    loadgen --concurrency "$workers" --seconds 40 outage --service-key "$svc" --accounts "$accounts" \
      >"$work/report.json" &
    lg_pid=$!
    sleep 10
    dd if=/dev/zero of="$mnt/filler" bs=64k 2>/dev/null || true
    filled=$(now_ms); echo "filesystem full: $(df -h "$mnt" | awk 'NR==2{print $3 " used of " $2}')"
    sleep 10
    rm -f "$mnt/filler"; freed=$(now_ms); echo "space returned $(( (freed - filled) / 1000 )) s later"
    wait $lg_pid
    check "$work/report.json"
    back=$(jq -r '.first_success_after_last_failure_unix_ms' "$work/report.json")
    echo "serving again $(( back - freed )) ms after space returned"
    stop_server
    python3 -c "import sqlite3,sys; print('PRAGMA integrity_check:', sqlite3.connect(sys.argv[1]).execute('PRAGMA integrity_check').fetchone()[0])" "$mnt/keyward.db" \
      | tee "$work/integrity"
    grep -q ': ok$' "$work/integrity" || { echo "FAIL: integrity"; exit 1; }
    $kw audit verify
    ;;
  soak)
    minutes=${2:-10}
    top=$(loadgen --concurrency 16 --seconds 10 --json step-ups --service-key "$svc" --accounts 16)
    peak=$(jq -r .ops_per_sec <<<"$top")
    # SOAK_RATE=n offers n/s instead of half the peak.
    rate=${SOAK_RATE:-$(jq -rn "$peak / 2 | floor")}
    jq -r '"peak \(.ops_per_sec) step-ups/s (server CPU \(.server_cpu_ms_per_op*100|round/100) ms each, core \(.server_busy*100|round) % busy)"' <<<"$top"
    echo "soak at $rate/s for $minutes min (one line a minute)"
    [ "$backend" = sqlite ] && echo "database on: $(df --output=fstype "$KEYWARD_DATA_DIR" | tail -1)"
    mkey=$($kw service-key create --name soak-metrics --scopes metrics 2>/dev/null)
    # The group commit's fsyncs since the last call: how many, their mean
    # and the bucket their 99th percentile falls in (upper bound), from
    # keyward_db_sync_duration_seconds.
    fsyncs() {
      curl -fsS -H "Authorization: Bearer $mkey" "$base/metrics" \
        | grep '^keyward_db_sync_duration_seconds' >"$work/sync.now" || true
      python3 - "$work/sync.before" "$work/sync.now" <<'PY'
import re, sys
def read(path):
    b, n, s = {}, 0.0, 0.0
    try:
        for line in open(path):
            name, value = line.rsplit(" ", 1)
            m = re.search(r'le="([^"]+)"', name)
            if m: b[m.group(1)] = float(value)
            elif name.endswith("_count"): n = float(value)
            elif name.endswith("_sum"): s = float(value)
    except FileNotFoundError:
        pass
    return b, n, s
(b0, n0, s0), (b1, n1, s1) = read(sys.argv[1]), read(sys.argv[2])
n = n1 - n0
if n <= 0:
    print("0 | – | –"); sys.exit()
les = sorted((float("inf") if k == "+Inf" else float(k), k) for k in b1)
p99 = next(f"{v*1000:g}" if v != float("inf") else "> 1000" for v, k in les if b1[k] - b0.get(k, 0) >= 0.99 * n)
print(f"{n:.0f} | {(s1-s0)/n*1000:.2f} | ≤ {p99}")
PY
      mv "$work/sync.now" "$work/sync.before"
    }
    fsyncs >/dev/null
    echo "| minute | ops/s | server CPU ms/op | core busy | p50 ms | p99 ms | errors | server RSS | fsyncs | fsync mean ms | fsync p99 ms |"
    echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    # Each minute on 16 accounts of its own: a user's daily-limit sum reads
    # all their withdrawals of the day, so the same 16 accounts minute after
    # minute (thousands of withdrawals each) would measure that, not drift.
    for m in $(seq 1 "$minutes"); do
      r=$(loadgen --concurrency 16 --seconds 60 --rate "$rate" --json step-ups --service-key "$svc" \
        --accounts 16 --first $(( (m * 16) % accounts )))
      jq -r --arg m "$m" --arg rss "$(rss)" --arg sync "$(fsyncs)" \
        '"| \($m) | \(.ops_per_sec*10|round/10) | \(.server_cpu_ms_per_op*100|round/100) | \(.server_busy*100|round) % | \(.p50_ms*100|round/100) | \(.p99_ms*100|round/100) | \(.errors|add // 0) | \($rss) | \($sync) |"' <<<"$r"
    done
    echo "memory at the end: $(rss_parts "$pid")"
    ;;
esac
echo "fault run $mode passed"
