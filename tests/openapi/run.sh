#!/usr/bin/env bash
# The ctest `openapi`: installs the pinned npm packages (package-lock.json) into node_modules/
# with `npm ci` when they are missing or older than package.json or package-lock.json, then
# validates docs/openapi.yaml (validate-doc.mjs) and the real jobs-server against it
# (check-server.mjs). Nothing else needs the network.
# Usage: run.sh NODE NPM JOBS-SERVER
set -euo pipefail

node=$1
npm=$2
server=$3
here=$(cd "$(dirname "$0")" && pwd)

major=$("$node" -p 'process.versions.node.split(".")[0]')
if (( major < 18 )); then
    echo "openapi: node $("$node" --version) is too old (18 or later): skipped"
    exit 77
fi

# One npm ci at a time: build/ and build-asan/ (or two ctest runs) share this source directory.
exec 9<"$here"
flock 9
stamp=$here/node_modules/.package-lock.json
if [[ ! -f $stamp || $here/package-lock.json -nt $stamp || $here/package.json -nt $stamp ]]; then
    echo "openapi: npm ci in $here"
    "$npm" ci --prefix "$here" --ignore-scripts --no-audit --no-fund --loglevel=error
fi
flock -u 9

"$node" "$here/validate-doc.mjs"
"$node" "$here/check-server.mjs" "$server"
