#!/usr/bin/env bash
# Benchmark: gateway API-key verification against /healthz on the same
# server in the same run (issue: verify >= 50 % of /healthz throughput).
# Builds release binaries, starts Keyward on loopback with a throwaway SQLite
# database (or $KEYWARD_DATABASE_URL), creates a verify-scoped service key,
# runs the load generator, and stops the server.
#   bash bench/api-keys.sh [concurrency] [seconds]
# SKIP_BUILD=1 reuses target/release binaries; KEYWARD_DATABASE_URL=postgres://… runs on PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."
concurrency=${1:-32}
seconds=${2:-10}
port=18091
if [ -z "${SKIP_BUILD:-}" ]; then
  cargo build -q --release --bin keyward -p keyward-server
  cargo build -q --release -p keyward-loadgen
fi
work=$(mktemp -d)
export KEYWARD_DATA_DIR="$work" KEYWARD_LISTEN="127.0.0.1:$port" KEYWARD_ORIGIN="http://localhost:$port" KEYWARD_LOG=warn
target/release/keyward serve >"$work/server.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 1 100); do curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break; sleep 0.1; done
token=$(target/release/keyward service-key create --name bench --scopes apikeys:verify 2>/dev/null)
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB; $(uname -sr); backend: ${KEYWARD_DATABASE_URL:-sqlite}"
echo "idle server RSS: $(awk '/VmRSS/{print $2, $3}' /proc/$pid/status)"
target/release/keyward-loadgen --base "http://127.0.0.1:$port" --origin "http://localhost:$port" \
  --concurrency "$concurrency" --seconds "$seconds" --server-pid "$pid" api-keys --service-key "$token"
