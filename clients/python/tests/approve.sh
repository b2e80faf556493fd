#!/usr/bin/env bash
# The user's side of a step-up, for the live test: approves step-up $1 with
# the user's software key, in the user's browser session, exactly as the
# README walkthrough does (options from Keyward, the key signs, Keyward
# verifies). Prints Keyward's answer (with the approval token) on stdout.
#
# Needs: KEYWARD_URL (Keyward's origin), KEYWARD_USER_JAR (the session's
# curl cookie jar), KEYWARD_USER_KEY (the softkey file), KEYWARD_SOFTKEY
# (the softkey binary); KEYWARD_ORIGIN if the origin is not KEYWARD_URL.
set -euo pipefail
W=${1:?usage: approve.sh STEP_UP_ID}
O=${KEYWARD_ORIGIN:-$KEYWARD_URL}
kw() { curl -sS -f -b "$KEYWARD_USER_JAR" -c "$KEYWARD_USER_JAR" -H "Origin: $O" -H 'Content-Type: application/json' "$@"; }
kw -X POST -d '{}' "$KEYWARD_URL/v1/step-ups/$W/options" \
  | "$KEYWARD_SOFTKEY" assert --key "$KEYWARD_USER_KEY" --origin "$O" \
  | kw -d @- "$KEYWARD_URL/v1/step-ups/$W/verify"
