#!/usr/bin/env bash
# write-bytes-smoke.sh WRITE_BYTES
#
# ctest write_bytes_smoke: runs write-bytes on a small store (N = 2,000, K = 20) in a temporary
# directory, removed at the end, and checks that it exits 0 and prints every figure: the four
# libjobs rows with one commit per call (one thread), the three raw LMDB rows, the ratios, and
# the databases of the store with all 2,000 jobs in `jobs`. Then that it refuses an existing
# DIR and a bad N. It judges no figure: the bytes depend on the layout and the machine.
set -euo pipefail

bin=${1:?usage: write-bytes-smoke.sh WRITE_BYTES}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

out=$("$bin" "$tmp/run" 2000 20) || fail "write-bytes exited $?"
printf '%s\n' "$out"
num='[0-9]+'
dec='[0-9]+\.[0-9]{2}'
patterns=(
    "^write-bytes: N = 2000 jobs preloaded, K = 20 ops of each kind"
    "^  create \(active job\) +$num bytes/op +$dec pages/op  1\.00 commits/op \(1\.00 writes/op\)$"
    "^  update \(rename\) +$num bytes/op +$dec pages/op  1\.00 commits/op \(1\.00 writes/op\)$"
    "^  update \(disable\) +$num bytes/op +$dec pages/op  1\.00 commits/op \(1\.00 writes/op\)$"
    "^  delete \(inactive job\) +$num bytes/op +$dec pages/op  1\.00 commits/op \(1\.00 writes/op\)$"
    "^  create \(put, new key\) +$num bytes/op +$dec pages/op$"
    "^  update \(put, same key\) +$num bytes/op +$dec pages/op$"
    "^  delete \(del\) +$num bytes/op +$dec pages/op$"
    "^libjobs/raw, bytes per op: create $dec, update \(rename\) $dec, update \(disable\) $dec, delete $dec$"
    "^libjobs store, every database \(mdb_stat; pages of $num bytes\):$"
    "^  jobs +depth [1-9], +$num branch +$num leaf +$num overflow pages, +2000 entries$"
    "^raw LMDB, for comparison:$"
)
for p in "${patterns[@]}"; do
    grep -qE -- "$p" <<<"$out" || fail "no line matches: $p"
done
[[ $(grep -cE "^  jobs +depth" <<<"$out") == 2 ]] || fail "expected the jobs line of both stores"

# DIR must not exist, N must be a positive number: both refused with a message and status 1.
set +e
err=$("$bin" "$tmp/run" 2000 20 2>&1 >/dev/null)
rc=$?
[[ $rc == 1 && $err == *"DIR must not exist"* ]] || fail "an existing DIR: status $rc, '$err'"
err=$("$bin" "$tmp/other" 0 2>&1 >/dev/null)
rc=$?
[[ $rc == 1 && $err == *"N must be a positive whole number"* ]] || fail "N = 0: status $rc, '$err'"
[[ ! -e $tmp/other ]] || fail "a refused run created its DIR"
set -e
echo "OK: write-bytes ran and printed every figure"
