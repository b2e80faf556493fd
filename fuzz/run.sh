#!/usr/bin/env bash
# Builds Keyward's fuzz targets with libFuzzer instrumentation on the stable
# toolchain and runs each for a bounded time or number of executions.
#
#   fuzz/run.sh [--seconds N] [--runs N] [--only t1,t2] [--build-only] [--seedgen]
#
# Defaults: 60 s per target. Targets run one after another (never in
# parallel), under `nice -n 19`. Prints per-target executions, exec/s and
# findings; exits non-zero on any crash, hang (timeout), out-of-memory or leak.
# Findings (crash-*, timeout-*, oom-*) land in fuzz/artifacts/<target>/.
# The grown corpus lives in fuzz/corpus/<target>/ (git-ignored); the committed
# seeds are fuzz/seeds/<target>/.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
cd "$here"

seconds=60
runs=""
only=""
build_only=0
seedgen=0
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --only) only=$2; shift 2 ;;
    --build-only) build_only=1; shift ;;
    --seedgen) seedgen=1; shift ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done

targets=(api_bodies stepup_details webauthn_registration webauthn_assertion api_key_token approval_token config metadata_blob)
if [ -n "$only" ]; then IFS=, read -r -a targets <<<"$only"; fi

host=$(rustc -vV | sed -n 's/^host: //p')
# What cargo-fuzz passes (`cargo fuzz build -s none`), all stable rustc flags:
# SanitizerCoverage with inline 8-bit counters, PC table and comparison
# tracing for libFuzzer, `cfg(fuzzing)`, debug assertions and overflow checks.
# `--target` keeps the flags off build scripts and proc macros.
export RUSTFLAGS="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares --cfg fuzzing -Cdebug-assertions -Coverflow-checks \
-Cforce-frame-pointers=yes"
export CARGO_TARGET_DIR="$here/target"

build_start=$(date +%s)
features=()
[ "$seedgen" = 1 ] && features=(--features seedgen)
nice -n 19 cargo build --release --locked --target "$host" --bins "${features[@]}"
build_secs=$(( $(date +%s) - build_start ))
echo "build: ${build_secs}s"
bin="$CARGO_TARGET_DIR/$host/release"

if [ "$seedgen" = 1 ]; then
  "$bin/seedgen"
fi
[ "$build_only" = 1 ] && exit 0

summary=()
failed=0
for t in "${targets[@]}"; do
  mkdir -p "corpus/$t" "artifacts/$t"
  log="artifacts/$t/last-run.log"
  args=(-timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=2048 -max_len=16384
        -print_final_stats=1 -artifact_prefix="artifacts/$t/")
  if [ -n "$runs" ]; then args+=(-runs="$runs"); else args+=(-max_total_time="$seconds"); fi
  [ -f "dicts/$t.dict" ] && args+=(-dict="dicts/$t.dict")
  start=$(date +%s)
  set +e
  nice -n 19 "$bin/$t" "${args[@]}" "corpus/$t" "seeds/$t" >"$log" 2>&1
  rc=$?
  set -e
  wall=$(( $(date +%s) - start ))
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  if [ "$rc" -ne 0 ]; then
    failed=1
    echo "== $t: FAILED (exit $rc); see fuzz/$log" >&2
    grep -E '^==[0-9]+== ERROR|panicked at|SUMMARY|Test unit written' "$log" | head -5 >&2 || true
  fi
  line=$(printf '%-22s execs=%-11s exec/s=%-7s wall=%4ss exit=%s' "$t" "${execs:-?}" "${rate:-?}" "$wall" "$rc")
  echo "$line"
  summary+=("$line")
done

echo
echo "== fuzz summary (build ${build_secs}s)"
printf '%s\n' "${summary[@]}"
if [ "$failed" -ne 0 ]; then
  echo "FAILED: a target crashed, hung or ran out of memory (fuzz/artifacts/)" >&2
  exit 1
fi
echo "OK: 0 crashes, 0 hangs"
