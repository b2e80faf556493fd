#!/usr/bin/env bash
# Schemathesis against the OpenAPI document Keyward serves at /openapi.json
# (issue 7, adversarial suite). Starts `keyward serve` on loopback with a
# throwaway SQLite data directory, signs two users up with the test kit's
# software key (`softkey`) and signs them in with curl, creates a service key
# with every scope, seeds a few real objects, then lets schemathesis generate
# requests for every operation with both credentials. It fails on any 5xx,
# any response that does not match the document (status code, content type,
# headers, body schema), and — through .ci/schemathesis-hooks.py — any
# response without Keyward's security headers or with a session cookie
# lacking HttpOnly / SameSite=Strict. docs/reliability.md ("Schemathesis")
# has the figures of a run.
#
# Needs python3 (with venv), curl and jq; installs the pinned schemathesis of
# .ci/schemathesis-requirements.txt into target/schemathesis-venv (once).
# ST_MAX_EXAMPLES (default 150) bounds the cases per operation and phase;
# the runs take about a minute on two cores once everything is built.
# Reports (JUnit, NDJSON) and the server log go to build-output/schemathesis
# (or ST_REPORT_DIR).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

port=${ST_PORT:-18090}
origin="http://localhost:$port"
base="http://127.0.0.1:$port"
max_examples=${ST_MAX_EXAMPLES:-150}
work=$(mktemp -d)
out=$(realpath -m "${ST_REPORT_DIR:-build-output/schemathesis}")
mkdir -p "$out"

command -v jq >/dev/null || { apt-get update -qq && apt-get install -y -qq jq; }
venv=target/schemathesis-venv
req=.ci/schemathesis-requirements.txt
if ! cmp -s "$req" "$venv/requirements.txt" 2>/dev/null; then
  rm -rf "$venv"
  python3 -m venv "$venv" || { apt-get update -qq && apt-get install -y -qq python3-venv && python3 -m venv "$venv"; }
  "$venv/bin/pip" install -q --disable-pip-version-check -r "$req"
  cp "$req" "$venv/requirements.txt"
fi
"$venv/bin/schemathesis" --version

cargo build -q --bin keyward --bin softkey
keyward=target/debug/keyward
softkey=target/debug/softkey

# The server and the CLI (service-key create) share this data directory.
# No address cooling-off, so the seeded withdrawals below can be approved.
export KEYWARD_DATA_DIR="$work/data" KEYWARD_LISTEN="127.0.0.1:$port" KEYWARD_ORIGIN="$origin"
export KEYWARD_WITHDRAWALS__ADDRESS_COOLING_HOURS=0 KEYWARD_LOG_FORMAT=json
"$keyward" serve >"$work/server.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 1 100); do curl -fsS "$base/readyz" >/dev/null 2>&1 && break; sleep 0.2; done
curl -fsS "$base/readyz" >/dev/null

# curl with cookie jar $1 (one browser), sending the configured Origin on
# every request, as a browser's state-changing requests carry it.
as() {
  local jar="$work/$1.jar"
  shift
  curl -fsS -b "$jar" -c "$jar" -H "Origin: $origin" -H 'Content-Type: application/json' "$@"
}
creds() { echo "{\"username\":\"$1\",\"password\":\"correct horse battery staple\"}"; }
# Signs user $1 up and enrols a software key (kept in $work/$1.key).
enrol() {
  as "$1" -d "$(creds "$1")" "$base/v1/signup" >/dev/null
  as "$1" -X POST -d '{}' "$base/v1/keys/registration/options" \
    | "$softkey" register --key "$work/$1.key" --origin "$origin" --label "$1 key" \
    | as "$1" -d @- "$base/v1/keys/registration/verify" >/dev/null
  as "$1" -X POST -d '{}' "$base/v1/signout" >/dev/null
}
# Signs user $1 in (password, then key) in browser $2; prints the cookie value.
sign_in() {
  as "$2" -d "$(creds "$1")" "$base/v1/signin/password" >/dev/null
  as "$2" -X POST -d '{}' "$base/v1/signin/key/options" \
    | "$softkey" assert --key "$work/$1.key" --origin "$origin" \
    | as "$2" -d @- "$base/v1/signin/key/verify" >/dev/null
  awk '$6 == "kw_session" { print $7 }' "$work/$2.jar"
}
signed_in() {
  curl -fsS -b "kw_session=$1" "$base/v1/session" | jq -e '.stage == "signed_in"' >/dev/null
}

enrol alice
enrol bob
alice=$(sign_in alice alice)
bob=$(sign_in bob bob)
bob_other=$(sign_in bob bob-other)
bob_too=$(sign_in bob bob-too)
for s in "$alice" "$bob" "$bob_other" "$bob_too"; do
  signed_in "$s" || { echo "could not sign in"; cat "$work/server.log"; exit 1; }
done
# bob's other session: what DELETE /v1/sessions/{id} gets to end.
other_login=$(as bob-other "$base/v1/sessions" | jq -r '.sessions[] | select(.current) | .id')
service=$("$keyward" service-key create --name schemathesis \
  --scopes stepup:create,stepup:read,stepup:approve,stepup:redeem,apikeys:verify,admin)
svc() { curl -fsS -H "Authorization: Bearer $service" -H 'Content-Type: application/json' "$@"; }

# Real objects, so operations on /…/{id} reach past "not found": a step-up
# approved with alice's key (so allow-listing an address), one pending
# address step-up, an approved and a pending withdrawal, alice's key and
# addresses. Schemathesis uses these ids for half of the path ids it sends.
approve() { # step-up id
  as alice -X POST -d '{}' "$base/v1/step-ups/$1/options" \
    | "$softkey" assert --key "$work/alice.key" --origin "$origin" \
    | as alice -d @- "$base/v1/step-ups/$1/verify" >/dev/null
}
addr=bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh
add_step=$(as alice -d "{\"network\":\"bitcoin\",\"address\":\"$addr\",\"label\":\"cold\"}" \
  "$base/v1/addresses" | jq -r .step_up.id)
approve "$add_step"
pending_add=$(as alice -d '{"network":"bitcoin","address":"bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq","label":"pending"}' \
  "$base/v1/addresses" | jq -r .step_up.id)
withdrawal() { # client reference
  svc -d "{\"user\":\"alice\",\"action\":\"withdrawal\",\"details\":{\"asset\":\"BTC\",\"network\":\"bitcoin\",
    \"amount\":\"0.01\",\"destination\":\"$addr\",\"client_reference\":\"$1\"}}" "$base/v1/step-ups" | jq -r .id
}
approved=$(withdrawal st-approved)
approve "$approved"
pending=$(withdrawal st-pending)
ids=$( {
  echo "$add_step" "$pending_add" "$approved" "$pending" "$other_login"
  as alice "$base/v1/keys" | jq -r '.keys[].id'
  as alice "$base/v1/addresses" | jq -r '.addresses[].id'
} | tr ' ' '\n' | grep -v '^null$' | sort -u | jq -R . | paste -sd, -)
[ "$(echo "$ids" | tr ',' '\n' | wc -l)" -ge 7 ] || { echo "seeding failed: $ids"; exit 1; }

# Credentials go where the document's security requirements say: the cookie
# for `session` operations, the bearer token for `service` ones. Origin is
# sent on every request (the browser routes refuse state changes without it).
config() {
  cat <<EOF
hooks = "$root/.ci/schemathesis-hooks.py"
headers = { Origin = "$origin" }
seed = 7
max-failures = 50
workers = 2

# Nothing is kept between runs (no example database, no project cache).
[cache]
enabled = false

[dictionaries.ids]
values = [$ids]

# The seeded user whose session the main run uses, so that some generated
# step-ups are for a real user (and hers, so her session may read them).
[dictionaries.users]
values = ["alice"]

[parameters]
"path.id" = { dictionary = "ids", probability = 0.5 }
"body.user" = { dictionary = "users", probability = 0.5 }

[checks]
enabled = true
# Not about the server: it proposes fields the document leaves optional, and
# asks the server to accept anything a schema allows (Keyward validates more
# than JSON Schema can say, e.g. username syntax, addresses per network).
positive_data_acceptance.enabled = false

[checks.security_headers]
enabled = true
[checks.session_cookie_attributes]
enabled = true

[generation]
max-examples = $max_examples
database = "none"

[auth.openapi.session]
api_key = "$1"

[auth.openapi.service]
bearer = "$service"
EOF
}

run() { # name, session cookie, schemathesis filter options...
  local name=$1 cookie=$2
  shift 2
  config "$cookie" >"$work/$name.toml"
  echo "==> schemathesis: $name"
  # From the scratch directory: hypothesis writes .hypothesis/ into the cwd.
  (cd "$work" && "$root/$venv/bin/schemathesis" --config-file "$work/$name.toml" run "$base/openapi.json" \
    --url "$base" --no-color --report junit,ndjson --report-dir "$out/$name" "$@")
}

status=0
# 1. Every operation except the two that end the caller's own session, with
#    alice's session: were they included, schemathesis would sign alice out
#    early and every later session operation would only ever see 401.
#    The operator's account lock is left out too: it would lock alice (her
#    name is in responses the stateful phase follows) and end her session.
run main "$alice" \
  --exclude-operation-id account_sign_out --exclude-operation-id sessions_end \
  --exclude-operation-id operators_lock || status=$?
# The session must have survived the run, or its results prove little.
signed_in "$alice" || { echo "alice's session did not survive the main run"; status=1; }
# 2. Ending a session, with bob's session; the seeded ids include bob's
#    other session, which it may end (but must not end bob's own).
run sessions-end "$bob" --include-operation-id sessions_end || status=$?
signed_in "$bob" || { echo "DELETE /v1/sessions/{id} ended the caller's session"; status=1; }
# 3. Sign-out, with a third session of bob's: the first valid call ends it,
#    the rest see 401 — both documented.
run sign-out "$bob_too" --include-operation-id account_sign_out || status=$?
signed_in "$bob_too" && { echo "sign-out did not end the session"; status=1; }
# 4. The operator's account lock, last (it may lock the seeded accounts).
run lock "$bob_too" --include-operation-id operators_lock || status=$?

# A 5xx is logged once, at ERROR; nothing else should be.
if grep -q '"level":"ERROR"' "$work/server.log"; then
  echo "server logged errors:"
  grep '"level":"ERROR"' "$work/server.log" | head -20
  status=1
fi
# What the server answered over the whole run, from its request log.
jq -rR 'fromjson? | select(.span.status != null) | .span.status' "$work/server.log" | sort -n | uniq -c \
  | awk '{ n += $1; s = s " " $2 "×" $1; if ($2 >= 500) bad += $1 }
         END { print "server answered " n " requests:" s; exit bad > 0 }' || {
  echo "the server answered with a 5xx"
  status=1
}
cp "$work/server.log" "$out/server.log"
[ "$status" = 0 ] || { echo "schemathesis found problems (reports in $out)"; exit "$status"; }
echo "schemathesis passed"
