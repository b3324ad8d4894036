#!/usr/bin/env bash
# Regenerates console/openapi.d.ts, the types of every path of /openapi.json,
# which the console's JavaScript is checked against (console/check.sh).
set -euo pipefail
cd "$(dirname "$0")"
[ -d tools/node_modules ] || (cd tools && npm ci --no-audit --no-fund --loglevel=error)
(cd .. && go run ./console/openapi) > tools/openapi.json
tools/node_modules/.bin/openapi-typescript tools/openapi.json -o openapi.d.ts
