#!/usr/bin/env bash
# The ctest `console_browser`: installs the pinned npm package (playwright-core, package-lock.json)
# into node_modules/ with `npm ci` when it is missing or older than package.json or
# package-lock.json, then drives the console in Debian's headless Chromium (console.mjs).
# Usage: run.sh NODE NPM JOBS-SERVER CHROMIUM SCREENSHOT-DIR
set -euo pipefail

node=$1
npm=$2
server=$3
chromium=$4
shots=$5
here=$(cd "$(dirname "$0")" && pwd)

major=$("$node" -p 'process.versions.node.split(".")[0]')
if (( major < 18 )); then
    echo "console_browser: node $("$node" --version) is too old (18 or later): skipped"
    exit 77
fi

# One npm ci at a time: build/ and build-asan/ (or two ctest runs) share this source directory.
exec 9<"$here"
flock 9
stamp=$here/node_modules/.package-lock.json
if [[ ! -f $stamp || $here/package-lock.json -nt $stamp || $here/package.json -nt $stamp ]]; then
    echo "console_browser: npm ci in $here"
    "$npm" ci --prefix "$here" --ignore-scripts --no-audit --no-fund --loglevel=error
fi
flock -u 9

exec "$node" "$here/console.mjs" "$server" "$chromium" "$shots"
