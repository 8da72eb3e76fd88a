#!/usr/bin/env bash
# test-exports.sh LIBRARY INCLUDE_DIR
#
# Compares the dynamic symbols that the shared library defines with the public headers:
#  - every exported symbol starts with jobs_ (nothing internal leaks out);
#  - every exported symbol is declared with JOBS_EXTERN in INCLUDE_DIR (jobs.h, jobs/*.h);
#  - every JOBS_EXTERN declaration is exported (a declared function that no one defines would
#    fail only at a consumer's link).
# Fails listing the offenders.
set -euo pipefail

lib=${1:?usage: test-exports.sh LIBRARY INCLUDE_DIR}
inc=${2:?usage: test-exports.sh LIBRARY INCLUDE_DIR}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Symbols the toolchain puts in every shared object, not part of the API.
toolchain='^(_init|_fini|_edata|_end|__bss_start)$'

# nm -D --defined-only prints "ADDRESS TYPE NAME"; absolute (A) symbols are version nodes.
nm -D --defined-only "$lib" | awk '$2 != "A" { print $3 }' | sed 's/@.*//' |
    { grep -Ev "$toolchain" || true; } | sort -u > "$tmp/exported"

# The name of each JOBS_EXTERN declaration: the identifier just before its first '('.
shopt -s nullglob
headers=("$inc"/jobs.h "$inc"/jobs/*.h)
{ grep -h '^[[:space:]]*JOBS_EXTERN' "${headers[@]}" || true; } | sed -E 's/\(.*//' |
    awk '{ print $NF }' | sed 's/^\**//' | sort -u > "$tmp/declared"

indent() { sed 's/^/  /'; }

status=0
if [[ ! -s "$tmp/exported" ]]; then
    echo "FAIL: $lib exports nothing" >&2
    exit 1
fi
unprefixed=$(grep -v '^jobs_' "$tmp/exported" || true)
if [[ -n $unprefixed ]]; then
    echo "FAIL: exported symbols without the jobs_ prefix:" >&2
    indent <<<"$unprefixed" >&2
    status=1
fi
undeclared=$(comm -23 "$tmp/exported" "$tmp/declared")
if [[ -n $undeclared ]]; then
    echo "FAIL: exported symbols not declared with JOBS_EXTERN in $inc:" >&2
    indent <<<"$undeclared" >&2
    status=1
fi
unexported=$(comm -13 "$tmp/exported" "$tmp/declared")
if [[ -n $unexported ]]; then
    echo "FAIL: JOBS_EXTERN declarations that $lib does not export:" >&2
    indent <<<"$unexported" >&2
    status=1
fi
if [[ $status -eq 0 ]]; then
    echo "OK: $(wc -l < "$tmp/exported") exported symbols, all prefixed and declared"
fi
exit "$status"
