#!/usr/bin/env bash
# The differential run: builds the Rust driver (Keyward's own checks, from
# this checkout's crates) and compares the Python port with it on random and
# mutated inputs. Needs cargo and the shared vectors (testdata/).
#
#   bash clients/python/tests/differential/run.sh [--seed N] [--cases N]
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../../../.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
cp "$ROOT/Cargo.lock" "$HERE/Cargo.lock"  # the workspace's versions, exactly
trap 'rm -f "$HERE/Cargo.lock"' EXIT
cargo build -q --manifest-path "$HERE/Cargo.toml"
"${PYTHON:-python3}" "$HERE/fuzz.py" "$CARGO_TARGET_DIR/debug/keyward-python-differential" \
  "${KEYWARD_TESTDATA:-$ROOT/testdata}" "$@"
