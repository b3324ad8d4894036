#!/usr/bin/env bash
# The console's browser tests: installs what is missing (Debian's Chromium,
# playwright-core), builds the server from this tree and runs the tests with
# node's test runner, after type-checking the console's JavaScript
# (console/check.sh). Screenshots land in test/browser/screenshots/.
set -euo pipefail
cd "$(dirname "$0")"
if ! command -v "${CHROMIUM:-/usr/bin/chromium}" >/dev/null 2>&1; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
[ -d node_modules/playwright-core ] || npm ci --no-audit --no-fund --loglevel=error
bash ../../console/check.sh # the console's JavaScript against the API's generated types
bin=$(mktemp -d)/hyperlieu
(cd ../.. && go build -o "$bin" ./cmd/hyperlieu)
HYPERLIEU_BIN=$bin node --test --test-concurrency=1 ./*.test.mjs
