#!/usr/bin/env bash
# test-pg-two-servers.sh SOURCE_DIR JOBS_SERVER [JOBS]
#
# Two jobs-server processes on one PostgreSQL database (a private throwaway cluster), both
# ticking every second; a login on one is a session on the other (users and sessions are in the
# store). Then JOBS (default 2,000) jobs on one one-time schedule due a few seconds
# after they are made. Every job runs exactly once across the two servers (each prints one
# event line per run on standard output), none twice, none missed.
set -euo pipefail
src=${1:?usage: test-pg-two-servers.sh SOURCE_DIR JOBS_SERVER [JOBS]}
server=${2:?usage: test-pg-two-servers.sh SOURCE_DIR JOBS_SERVER [JOBS]}
n=${3:-2000}
cluster="$src/scripts/pg-test-cluster.sh"
# shellcheck source=nodes.sh
source "$(dirname "$0")/nodes.sh"
dir=$(mktemp -d /tmp/jobs-pg2-XXXXXX)
pgdir=$dir.pg
pids=()

cleanup() {
    stop_nodes
    bash "$cluster" stop "$pgdir" || true
    [[ -n ${KEEP:-} ]] || rm -rf "$dir"
}
trap cleanup EXIT

uri=$(bash "$cluster" start "$pgdir")
chmod 0700 "$dir"
bases=()
for k in a b; do
    mkdir -m 0700 "$dir/$k"
    # One store, so one set of users: ann is added once.
    [[ $k == a ]] && { echo 'ann-pw' | "$server" user add ann --data "$dir/$k" --store "$uri" >/dev/null; }
    start_node "$k" --store "$uri"
done

a=${bases[0]}
curl -s -f -c "$dir/jar" --json '{"username":"ann","password":"ann-pw"}' "$a/authenticate" \
    >/dev/null || fail "login"
curl -s -f -b "$dir/jar" --json '{"name":"s"}' "$a/blockstacks" >/dev/null || fail "stack"
# The session made on server a works on server b: sessions live in the shared store.
b=${bases[1]}
curl -s -f -b "$dir/jar" "$b/blockstacks/byid/1" >/dev/null || fail "a's session on b"
# Due 10 s from now: most jobs are made before, and the two tickers race for them when the clock
# passes it; any made after are due at once. Either way each must run exactly once.
due=$(( $(date +%s) + 10 ))
sched=$(curl -s -f -b "$dir/jar" --json "{\"once\":true,\"config\":{\"timestamp\":$due}}" \
    "$a/schedules" | grep -o '[0-9]\+' | head -1) || fail "schedule"
body="{\"stack_id\":1,\"schedule_id\":$sched,\"enabled\":true}"
for i in $(seq 1 "$n"); do printf 'url = "%s/jobs"\noutput = "/dev/null"\n' "$a"; done >"$dir/urls"
curl -s -b "$dir/jar" --json "$body" -K "$dir/urls" -w '%{http_code}\n' \
    >"$dir/codes"
made=$(grep -c '^201$' "$dir/codes" || true)
[[ $made == "$n" ]] || fail "$made of $n creates answered 201"

# Wait (at most 120 s) until the runs add up, then a little longer for any second run.
count() { cat "$dir/a/out" "$dir/b/out" | grep -c '"event":"run"' || true; }
for _ in $(seq 1 1200); do
    [[ $(count) -ge $n ]] && break
    sleep 0.1
done
sleep 3
runs=$(cat "$dir/a/out" "$dir/b/out" | grep '"event":"run"' | grep -o '"job":[0-9]*' | sort)
total=$(echo "$runs" | grep -c . || true)
distinct=$(echo "$runs" | uniq | grep -c . || true)
twice=$(echo "$runs" | uniq -d | head -3 | tr '\n' ' ')
ran_a=$(grep -c '"event":"run"' "$dir/a/out" || true)
ran_b=$(grep -c '"event":"run"' "$dir/b/out" || true)
[[ -z $twice ]] || fail "jobs run twice: $twice"
[[ $total == "$n" && $distinct == "$n" ]] || fail "$total runs of $distinct jobs, want $n"
for p in "${pids[@]}"; do kill -0 "$p" || fail "a server died"; done
"$server" check --store "$uri" >/dev/null || fail "jobs-server check --store"
echo "OK: $n jobs ran exactly once across two servers (server a ran $ran_a, server b $ran_b)"
