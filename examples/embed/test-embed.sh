#!/usr/bin/env bash
# test-embed.sh JOBS_EMBED: runs `jobs-embed --once` twice on one fresh store; the second run must
# find the stack, schedule and job that the first created, and the store counts must not grow.
set -euo pipefail

bin=${1:?usage: test-embed.sh JOBS_EMBED}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/jobs-embed-test.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

help=$("$bin" --help) || fail "--help exited $?"
[[ $help == "usage: jobs-embed"* ]] || fail "--help does not print the usage"
rc=0
"$bin" --no-such-option >/dev/null 2>&1 || rc=$?
[[ $rc -eq 2 ]] || fail "an unknown option exits $rc, not 2"

"$bin" --once "$tmp/store" > "$tmp/first.out" || fail "first run exited $?"
"$bin" --once "$tmp/store" > "$tmp/second.out" || fail "second run exited $?"
echo "--- first run";  cat "$tmp/first.out"
echo "--- second run"; cat "$tmp/second.out"

for what in stack schedule job; do
    first=$(grep "^$what " "$tmp/first.out") || fail "first run printed no $what line"
    second=$(grep "^$what " "$tmp/second.out") || fail "second run printed no $what line"
    [[ $first == *"(created)"* ]] || fail "first run did not create the $what: $first"
    [[ $second == *"(found)"* ]] || fail "second run did not find the $what: $second"
    first_id=$(sed -E 's/.* id ([0-9]+) .*/\1/' <<<"$first")
    second_id=$(sed -E 's/.* id ([0-9]+) .*/\1/' <<<"$second")
    [[ $first_id == "$second_id" ]] || fail "$what id changed: $first_id then $second_id"
done

counts1=$(grep '^store holds' "$tmp/first.out") || fail "first run printed no counts"
counts2=$(grep '^store holds' "$tmp/second.out") || fail "second run printed no counts"
[[ $counts1 == "$counts2" ]] || fail "the store grew: '$counts1' then '$counts2'"

# Without PATH the store is ./var/store, the one `jobs-server --data var` (make run) and jobsctl
# use: one store per demo, not a second one in ./var itself.
mkdir "$tmp/cwd"
(cd "$tmp/cwd" && "$bin" --once > "$tmp/default.out") || fail "run without PATH exited $?"
[[ -d $tmp/cwd/var/store ]] || fail "the default store is not ./var/store"
[[ $(ls "$tmp/cwd/var") == store ]] || fail "./var holds more than the store: $(ls "$tmp/cwd/var")"
echo OK
