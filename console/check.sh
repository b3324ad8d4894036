#!/usr/bin/env bash
# Type-checks the console's JavaScript (// @ts-check, JSDoc types) against the
# types of the API as this tree's server describes it: regenerates
# console/openapi.d.ts (gen-types.sh), then runs tsc over api/console/js.
# A call to a path, parameter or body field that the API does not have fails
# here. test/browser/run.sh runs it, so CI does.
set -euo pipefail
cd "$(dirname "$0")"
bash ./gen-types.sh >/dev/null
tools/node_modules/.bin/tsc -p tsconfig.json
if ! git diff --quiet -- openapi.d.ts 2>/dev/null; then
  echo "console/openapi.d.ts was stale and is regenerated: commit it" >&2
fi
echo "console: the JavaScript type-checks against the API's types"
