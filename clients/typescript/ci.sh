#!/usr/bin/env bash
# CI for @keyward/client on a fresh machine: install exactly the locked
# dependencies, build, run the unit tests and the shared vectors
# (testdata/ at the repository root, or KEYWARD_TESTDATA); the live test
# runs when KEYWARD_URL and KEYWARD_SERVICE_KEY are set (else it reports
# itself skipped). CI_LIVE=1 runs test/live.sh instead, which starts a
# Keyward of its own (needs cargo, curl, jq).
set -euo pipefail
cd "$(dirname "$0")"
node -e 'if (+process.versions.node.split(".")[0] < 20) { console.error("node >= 20 required"); process.exit(1) }'
npm ci --no-audit --no-fund
npm run build
npm run build:test
node --test dist-test/test/unit.test.js dist-test/test/client.test.js dist-test/test/vectors.test.js dist-test/test/live.test.js
if [ "${CI_LIVE:-}" = 1 ]; then bash test/live.sh; fi
