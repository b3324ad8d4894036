#!/usr/bin/env bash
# Regenerates console/openapi.d.ts, the types of every path of /openapi.json,
# which the console's JavaScript is checked against (console/check.sh).
set -euo pipefail
cd "$(dirname "$0")"
[ -d tools/node_modules ] || (cd tools && npm ci --no-audit --no-fund --loglevel=error)
# The document exactly as the server builds it (the test writes it to OPENAPI_OUT).
(cd .. && OPENAPI_OUT="$PWD/console/tools/openapi.json" go test ./api -run '^TestOpenAPIDocument$' -count=1 >/dev/null)
tools/node_modules/.bin/openapi-typescript tools/openapi.json -o openapi.d.ts
