#!/usr/bin/env bash
# The API as a contract: lints the served /openapi.json with Redocly's
# recommended rules, generates a TypeScript client from it, type-checks a
# file that calls every operation, and checks that wrong calls do not compile.
# Installs its npm packages itself (npm ci); CI calls it from .ci/run.
set -euo pipefail
cd "$(dirname "$0")"
export REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true NO_UPDATE_NOTIFIER=1
npm ci --no-audit --no-fund --loglevel=error
# The document exactly as the server builds it.
(cd ../.. && OPENAPI_OUT="$PWD/test/contract/openapi.json" go test ./api -run '^TestOpenAPIDocument$' -count=1 >/dev/null)
# Each step fails the script (set -e); redocly exits non-zero on any error.
npx redocly lint openapi.json --format=summary 2>&1 | grep -v '[║╔╚]'
npx openapi-typescript openapi.json -o schema.d.ts >/dev/null
node check.mjs coverage
npx tsc -p tsconfig.json
echo "calls.ts type-checks"
out=$(mktemp)
trap 'rm -f "$out"' EXIT
if npx tsc --noEmit --strict --target ES2022 --module ESNext --moduleResolution Bundler --skipLibCheck wrong.ts >"$out" 2>&1; then
  echo "wrong.ts compiled; the generated types do not constrain calls" >&2
  exit 1
fi
node check.mjs wrong "$out"
echo "contract: 4 passed, 0 failed"
