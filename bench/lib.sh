# Shared by the bench scripts: build, a throwaway database, start/stop the
# server pinned to its own cores, and the machine line. Source it.
#   SKIP_BUILD=1            reuse the built binaries
#   KEYWARD_BIN=path        run this server binary instead of the built one
#                           (A/B runs of two versions; implies SKIP_BUILD)
#   PROFILE=debug           use debug builds (quick fault runs; figures
#                           are only comparable within one profile)
#   KEYWARD_DATABASE_URL=   postgres://… runs on PostgreSQL (a fresh schema
#                           per run, made with psql); default: SQLite
#   SERVER_CPUS=0           cores the server is pinned to (taskset list);
#                           the load generator gets the others. Default on
#                           2+ cores: "0"; PIN=0 disables pinning.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
port=${PORT:-18092}
base="http://127.0.0.1:$port"
origin="http://localhost:$port"
profile=${PROFILE:-release}
if [ -z "${SKIP_BUILD:-}" ] && [ -z "${KEYWARD_BIN:-}" ]; then
  flag=--release; [ "$profile" = release ] || flag=
  cargo build -q $flag --bin keyward -p keyward-server
  cargo build -q $flag -p keyward-loadgen
fi
kw=${KEYWARD_BIN:-target/$profile/keyward}
lg=target/$profile/keyward-loadgen
work=$(mktemp -d)
export KEYWARD_DATA_DIR="$work" KEYWARD_LISTEN="127.0.0.1:$port" KEYWARD_ORIGIN="$origin" KEYWARD_LOG=warn
# Step-ups need the destination usable at once.
export KEYWARD_WITHDRAWALS__ADDRESS_COOLING_HOURS=0
backend=sqlite
if [ -n "${KEYWARD_DATABASE_URL:-}" ]; then
  backend=postgres
  schema="bench_$$_$(date +%s)"
  psql -q "$KEYWARD_DATABASE_URL" -c "CREATE SCHEMA $schema"
  bench_pg_url=$KEYWARD_DATABASE_URL
  sep='?'; case $KEYWARD_DATABASE_URL in *\?*) sep='&';; esac
  export KEYWARD_DATABASE_URL="${KEYWARD_DATABASE_URL}${sep}options=-c%20search_path%3D$schema"
fi
ncpu=$(nproc)
server_pin=() loadgen_pin=()
if [ "${PIN:-1}" = 1 ] && [ "$ncpu" -ge 2 ]; then
  server_cpus=${SERVER_CPUS:-0}
  server_pin=(taskset -c "$server_cpus")
  loadgen_cpus=$(python3 -c "import sys; s=set(); [s.update(range(int(a),int(b)+1)) if '-' in p and (a:=p.split('-')[0]) and (b:=p.split('-')[1]) else s.add(int(p)) for p in sys.argv[1].split(',')]; print(','.join(str(c) for c in range($ncpu) if c not in s))" "$server_cpus")
  loadgen_pin=(taskset -c "$loadgen_cpus")
  server_cores=$(taskset -c "$server_cpus" nproc)
else
  server_cores=$ncpu
fi
pid=
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
  if [ "$backend" = postgres ]; then psql -q "$bench_pg_url" -c "SET client_min_messages = warning; DROP SCHEMA $schema CASCADE" >/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
start_server() {
  "${server_pin[@]}" $kw serve >"$work/server.log" 2>&1 &
  pid=$!
  for _ in $(seq 1 200); do curl -fsS "$base/readyz" >/dev/null 2>&1 && return 0; sleep 0.1; done
  echo "server did not start:" >&2; cat "$work/server.log" >&2; exit 1
}
stop_server() { kill "$pid"; wait "$pid" 2>/dev/null || true; pid=; }
rss() { awk '/VmRSS/{printf "%.1f MiB", $2/1024}' "/proc/$pid/status"; }
# What process $1's resident set is made of: file-backed pages (mostly
# its own binary's code, mapped in as it runs), heap, other anonymous
# memory (thread stacks, allocator arenas, SQLite's page caches), threads.
rss_parts() {
  local exe; exe=$(readlink "/proc/$1/exe")
  awk -v exe="$exe" '
    /^[0-9a-f]+-[0-9a-f]+ / { name = $6; anon = (NF < 6 || name == "[heap]" || name == "[stack]" || name ~ /^\[anon/) }
    /^Rss:/ { if (name == exe) bin += $2; else if (name == "[heap]") heap += $2; else if (anon) other += $2; else file += $2 }
    END { printf "binary %.1f MiB, other files %.1f MiB, heap %.1f MiB, other anonymous %.1f MiB", bin/1024, file/1024, heap/1024, other/1024 }' "/proc/$1/smaps"
  printf ", %s threads\n" "$(awk '/^Threads:/{print $2}' "/proc/$1/status")"
}
loadgen() { "${loadgen_pin[@]}" $lg --base "$base" --origin "$origin" --server-pid "$pid" --server-cores "$server_cores" "$@"; }
machine() {
  echo "machine: $ncpu cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), $(free -g | awk '/Mem:/{print $2}') GiB; $(uname -sr); load average $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "backend: $backend; server pinned to: ${server_cpus:-any} ($server_cores cores); load generator: ${loadgen_cpus:-any}"
}
# import N accounts (seed $seed) through the bulk path; further arguments
# are the load generator's own flags (e.g. --argon2-memory-kib 1024)
import_accounts() {
  local n=$1 t0=$SECONDS
  "${loadgen_pin[@]}" $lg --origin "$origin" "${@:2}" bulk-file --users "$n" --seed "${seed:-keyward-bench}" \
    | KEYWARD_LOG=error $kw import - >&2
  echo "imported $n accounts × 2 keys in $((SECONDS - t0)) s" >&2
}
