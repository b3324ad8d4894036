#!/usr/bin/env bash
# Rebuilds what the console takes from npm: the map libraries and the API
# client, copied (with their licences) into api/console/vendor, and the API
# types generated from the server's own /openapi.json. The output is
# committed, so building or running the server never needs Node.
#
#   bash console/vendor.sh            # vendor + regenerate the types
set -euo pipefail
cd "$(dirname "$0")"
root=$(cd .. && pwd)
out=$root/api/console/vendor
(cd tools && npm ci --no-audit --no-fund --loglevel=error)
nm=tools/node_modules
rm -rf "$out" && mkdir -p "$out/images"
cp $nm/leaflet/dist/leaflet.js $nm/leaflet/dist/leaflet.css "$out/"
cp $nm/leaflet/dist/images/*.png "$out/images/"
cp $nm/leaflet/LICENSE "$out/LICENSE.leaflet"
cp $nm/@geoman-io/leaflet-geoman-free/dist/leaflet-geoman.min.js $nm/@geoman-io/leaflet-geoman-free/dist/leaflet-geoman.css "$out/"
cp $nm/@geoman-io/leaflet-geoman-free/LICENSE "$out/LICENSE.leaflet-geoman"
# openapi-fetch is one dependency-free ES module; its source map is not shipped.
sed '/sourceMappingURL/d' $nm/openapi-fetch/dist/index.mjs > "$out/openapi-fetch.js"
cp $nm/openapi-fetch/LICENSE "$out/LICENSE.openapi-fetch"
# Its types, for console/check.sh (tsc resolves ../vendor/openapi-fetch.js to them).
cp $nm/openapi-fetch/dist/index.d.ts "$out/openapi-fetch.d.ts"
bash ./gen-types.sh
