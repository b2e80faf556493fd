#!/usr/bin/env bash
# CI smoke run of the fuzz targets: builds them with libFuzzer
# instrumentation (stable toolchain, no cargo-fuzz needed) and runs each for
# FUZZ_SECONDS (default 20) from the committed seeds. Fails on any crash,
# hang or out-of-memory. The long run is documented in docs/reliability.md.
set -euo pipefail
cd "$(dirname "$0")/.."

# libfuzzer-sys compiles libFuzzer (C++) itself: it needs a C++ compiler.
if ! command -v c++ >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1; then
    sudo=""; [ "$(id -u)" -ne 0 ] && sudo=sudo
    $sudo apt-get update -qq && $sudo apt-get install -y -qq g++ >/dev/null
  else
    echo "fuzz: no C++ compiler (c++) and no apt-get to install one" >&2
    exit 1
  fi
fi
command -v cargo >/dev/null 2>&1 || { echo "fuzz: cargo (stable Rust) is required" >&2; exit 1; }

start=$(date +%s)
bash fuzz/run.sh --seconds "${FUZZ_SECONDS:-20}"
echo "fuzz smoke: $(( $(date +%s) - start ))s in all"
