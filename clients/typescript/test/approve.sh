#!/usr/bin/env bash
# The user's side of a step-up, as the README walkthrough does it: alice,
# signed in (curl cookie jar), approves step-up $1 with her software key.
# Prints Keyward's verify response (with the approval token) on stdout.
# Env: KEYWARD_URL (the origin), KEYWARD_JAR, KEYWARD_KEYFILE, SOFTKEY.
set -euo pipefail
: "${KEYWARD_URL:?}" "${KEYWARD_JAR:?}" "${KEYWARD_KEYFILE:?}" "${SOFTKEY:?}"
O=$KEYWARD_URL
kw() { curl -sS --fail-with-body -b "$KEYWARD_JAR" -c "$KEYWARD_JAR" -H "Origin: $O" -H 'Content-Type: application/json' "$@"; }
kw -X POST -d '{}' "$O/v1/step-ups/$1/options" \
  | "$SOFTKEY" assert --key "$KEYWARD_KEYFILE" --origin "$O" \
  | kw -d @- "$O/v1/step-ups/$1/verify"
