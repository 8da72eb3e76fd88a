#!/bin/sh
# How long this tree's libjobs takes to migrate a large store written by libjobs 0.2.0 (schema 2,
# commit 76d9df9) to the current schema (4; 3 when the figures in docs/storage.md were taken),
# and whether the store then checks clean.
#
#   bench/migrate-big.sh [JOBS]     (default 15000000; about 3 GB and a few minutes)
#
# Builds 0.2.0's jobsctl in a temporary git worktree, loads JOBS jobs over 100 owners with its
# `jobs import` (half of them enabled, the five built-in schedules in turn), then times this
# tree's `jobsctl init` (the open that migrates in place) and `jobsctl check`. Needs this
# tree's Release build (`make build-release`, or JOBSCTL=path). Everything is made under TMPDIR
# and removed after.
set -eu

jobs=${1:-15000000}
owners=100
here=$(cd "$(dirname "$0")/.." && pwd)
jobsctl=${JOBSCTL:-$here/build-release/tools/jobsctl/jobsctl}
[ -x "$jobsctl" ] || { echo "migrate-big: no $jobsctl (make build-release first)" >&2; exit 2; }
case $jobs in '' | *[!0-9]*) echo "migrate-big: JOBS must be a number" >&2; exit 2 ;; esac

work=$(mktemp -d "${TMPDIR:-/tmp}/migrate-big.XXXXXX")
cleanup() {
    git -C "$here" worktree remove --force "$work/v020" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

now() { date +%s.%N; }
took() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

echo "migrate-big: building libjobs 0.2.0's jobsctl (76d9df9)"
git -C "$here" worktree add --detach "$work/v020" 76d9df9 >/dev/null 2>&1 || {
    echo "migrate-big: cannot check out 76d9df9 (libjobs 0.2.0): not in this clone's history?" >&2
    exit 2
}
cmake -S "$work/v020" -B "$work/v020/b" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$work/v020/b" -j"$(nproc)" --target jobsctl >/dev/null
old=$work/v020/b/tools/jobsctl/jobsctl
store=$work/store

echo "migrate-big: loading $jobs jobs over $owners owners with 0.2.0"
t0=$(now)
"$old" --store "$store" init >/dev/null
"$old" --store "$store" stacks create --owner 1 --name migrate --public >/dev/null
per=$((jobs / owners))
o=1
while [ $o -le $owners ]; do
    n=$per
    [ $o -eq $owners ] && n=$((jobs - per * (owners - 1)))
    awk -v o=$o -v n=$n 'BEGIN {
        for (i = 1; i <= n; i++)
            printf "{\"schedule_id\":%d,\"stack_id\":1,\"name\":\"job-%d-%d\",\"enabled\":%s}\n",
                   1 + i % 5, o, i, (i % 2 ? "true" : "false")
    }' >"$work/jobs.jsonl"
    "$old" --store "$store" jobs import --owner $o --chunk 10000 "$work/jobs.jsonl" >/dev/null
    o=$((o + 1))
done
rm -f "$work/jobs.jsonl"
t1=$(now)
echo "migrate-big: loaded in $(took "$t0" "$t1") s; $(du -sh "$store" | cut -f1) on disk"

t0=$(now)
"$jobsctl" --store "$store" init >/dev/null
t1=$(now)
echo "migrate-big: opened read-write (migrated to the current schema) in $(took "$t0" "$t1") s"
"$jobsctl" --store "$store" check
t2=$(now)
echo "migrate-big: checked in $(took "$t1" "$t2") s"
"$jobsctl" --store "$store" stats >"$work/stats.txt"
if ! grep -q "^jobs *$jobs\$" "$work/stats.txt"; then
    echo "migrate-big: the migrated store does not count $jobs jobs:" >&2
    cat "$work/stats.txt" >&2
    exit 1
fi
echo "migrate-big: $jobs jobs after the migration, as loaded"
