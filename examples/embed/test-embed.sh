#!/usr/bin/env bash
# test-embed.sh JOBS_EMBED [JOBSCTL]: runs `jobs-embed --once` twice on one fresh store; the second
# run must find the stack, schedule and job that the first created, and the store counts must not
# grow. With JOBSCTL: a running jobs-embed runs a job that another process adds, due sooner than
# the one it waits for, without waiting for that one.
set -euo pipefail

bin=${1:?usage: test-embed.sh JOBS_EMBED [JOBSCTL]}
ctl=${2:-}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/jobs-embed-test.XXXXXX")
embed_pid=
cleanup() {
    if [[ -n $embed_pid ]]; then kill "$embed_pid" 2>/dev/null || true; wait "$embed_pid" 2>/dev/null || true; fi
    rm -rf "$tmp"
}
trap cleanup EXIT

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

if [[ -n $ctl ]]; then
    # The owner has a schedule of jobs-embed's name that is not jobs-embed's (every 120 s, made
    # in the console or with jobsctl; names need not be unique, and the name lookup answers the
    # lowest id): the second start must still find the schedule the first one made, not make
    # another at every start.
    "$ctl" --store "$tmp/named" init > /dev/null || fail "jobsctl init"
    "$ctl" --store "$tmp/named" schedules create --owner 1 --period 120 --name every-60s \
        > /dev/null || fail "jobsctl schedules create every-60s"
    "$bin" --once "$tmp/named" > "$tmp/named1.out" || fail "first run on the named store exited $?"
    "$bin" --once "$tmp/named" > "$tmp/named2.out" || fail "second run on the named store exited $?"
    echo "--- a schedule of the same name, not ours"; cat "$tmp/named1.out" "$tmp/named2.out"
    first=$(grep '^schedule ' "$tmp/named1.out") || fail "first run printed no schedule line"
    second=$(grep '^schedule ' "$tmp/named2.out") || fail "second run printed no schedule line"
    [[ $first == *"(created)"* && $first != *" id 6 "* ]] || fail "first run took the user's schedule: $first"
    [[ $second == *"(found)"* ]] || fail "second run did not find its schedule: $second"
    [[ $(sed -E 's/.* id ([0-9]+) .*/\1/' <<<"$first") == $(sed -E 's/.* id ([0-9]+) .*/\1/' <<<"$second") ]] ||
        fail "the schedule changed: '$first' then '$second'"
    [[ $(grep '^store holds' "$tmp/named1.out") == $(grep '^store holds' "$tmp/named2.out") ]] ||
        fail "the store grew: $(grep -h '^store holds' "$tmp/named1.out" "$tmp/named2.out")"

    # jobs-embed waits for its own job, a minute away; a one-time job due in 2 seconds, added by
    # jobsctl meanwhile, must run long before that minute is up.
    "$bin" "$tmp/store" > "$tmp/loop.out" 2>&1 &
    embed_pid=$!
    for _ in $(seq 100); do grep -q "scheduler running" "$tmp/loop.out" && break; sleep 0.1; done
    grep -q "scheduler running" "$tmp/loop.out" || fail "jobs-embed did not start its loop"
    stack=$(sed -nE 's/^stack .* id ([0-9]+) .*/\1/p' "$tmp/first.out")
    "$ctl" --store "$tmp/store" --json schedules create --owner 1 --at $(( $(date +%s) + 2 )) \
        > "$tmp/sched.json" || fail "jobsctl schedules create"
    sched=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$tmp/sched.json")
    "$ctl" --store "$tmp/store" jobs create --owner 1 --stack "$stack" --schedule "$sched" \
        --name soon --enabled > /dev/null || fail "jobsctl jobs create"
    # Liveness bound, generous: the cap is 5 s; without it the loop sleeps about a minute.
    for _ in $(seq 300); do grep -q "run .*'soon'" "$tmp/loop.out" && break; sleep 0.1; done
    echo "--- loop"; cat "$tmp/loop.out"
    grep -q "run .*'soon'" "$tmp/loop.out" || fail "the sooner job did not run within 30 s"
fi
echo OK
