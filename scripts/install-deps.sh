#!/usr/bin/env bash
# Installs the Debian packages libjobs needs to build and test, if any are missing,
# plus any packages named as arguments.
# Quick no-op when everything is present; `apt-get update` runs only when something is missing.
set -euo pipefail

# One list; extend it here. From libcivetweb-dev on, they are for the demo server and its tests;
# postgresql (the tests' throwaway cluster, scripts/pg-test-cluster.sh) and libpq-dev (the
# PostgreSQL backend, lib/postgres/) close it; chromium is the headless browser of the console's
# test (tests/console/).
PACKAGES=(
    build-essential
    cmake
    pkg-config
    liblmdb-dev
    libcjson-dev
    libicu-dev
    libcmocka-dev
    lmdb-utils
    libsqlite3-dev
    libcivetweb-dev
    libsodium-dev
    libcurl4-openssl-dev
    openssl
    libssl-dev
    clang
    libclang-rt-14-dev
    doxygen
    wrk
    python3
    tzdata
    nodejs
    postgresql
    libpq-dev
    chromium
)

# The OpenAPI test runs on Node.js with npm. NodeSource's nodejs (as on some CI machines) bundles
# npm and conflicts with Debian's npm package, so npm is asked for only when there is none.
command -v npm >/dev/null 2>&1 || PACKAGES+=(npm)

# Extra packages for one target (e.g. gcovr for `make coverage`) may be named as arguments.
PACKAGES+=("$@")

missing=()
for pkg in "${PACKAGES[@]}"; do
    status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
    if [[ "$status" != "installed" ]]; then
        missing+=("$pkg")
    fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
    exit 0
fi

if [[ $(id -u) -ne 0 ]]; then
    echo "install-deps: missing packages: ${missing[*]}" >&2
    echo "install-deps: as root, run: apt-get update && apt-get install -y ${missing[*]}" >&2
    exit 1
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
