#!/usr/bin/env bash
# Browser tests: the web pages in real headless Chromium, with virtual
# security keys (DevTools WebAuthn), against a real `keyward` binary on its
# own SQLite database. Installs what it needs on a fresh Debian machine
# (chromium, Node.js, web/'s npm packages), builds the binary, runs
# `node --test`, and exits non-zero if anything fails. The test run itself is
# capped at 4 minutes; screenshots go to build-output/screenshots/.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never

step() { printf '\n==> %s\n' "$*"; }
apt_install() {
  [ -n "${APT_UPDATED:-}" ] || { apt-get update -qq; APT_UPDATED=1; }
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}
node_ok() {
  command -v node >/dev/null && [ "$(node -p 'process.versions.node.split(".")[0]')" -ge 20 ]
}

step "chromium"
command -v chromium >/dev/null || apt_install chromium
# (Debian's wrapper script prints a harmless shell warning on stderr.)
chromium --version 2>/dev/null

step "node"
node_ok || apt_install nodejs npm
node_ok || { echo "Node.js 20 or newer is needed (found: $(node --version 2>/dev/null || echo none))"; exit 1; }
node --version

step "npm ci (web/)"
(cd web && timeout 180 npm ci --no-audit --no-fund)

step "build keyward (and mds-blob, the test metadata writer)"
cargo build -q -p keyward-server --bin keyward
cargo build -q -p keyward-testkit --bin mds-blob

step "browser tests"
rm -rf build-output/screenshots
(cd web && timeout 240 node --test --test-concurrency=1 tests/*.test.mjs)
echo
echo "browser tests passed; screenshots in build-output/screenshots/"
