#!/usr/bin/env bash
# test-wake.sh JOBS_SERVER [pg]
#
# A job made due sooner than the servers' next tick runs then, not at the tick: the servers run
# with --tick-interval 300, and a one-time job due 2 s after it is made must run within 60 s
# (a liveness bound: nobody waits the 300 s). With `pg` (ctest pg_http_wake), two jobs-server
# processes share a fresh schema of the database JOBS_TEST_STORE names, the job is made on the
# first, and it runs exactly once across both (either may take it: both are woken by the
# commit's NOTIFY). Without (ctest http_wake), one server on an LMDB store.
set -euo pipefail
server=${1:?usage: test-wake.sh JOBS_SERVER [pg]}
mode=${2:-lmdb}
dir=$(mktemp -d /tmp/jobs-wake-XXXXXX)
chmod 0700 "$dir"
pids=()
# shellcheck source=nodes.sh
source "$(dirname "$0")/nodes.sh"
schema=
base=${JOBS_TEST_STORE:-}
sql() { psql -X -q -v ON_ERROR_STOP=1 "$base" -c "SET client_min_messages = warning; $1" >/dev/null; }
cleanup() {
    stop_nodes
    if [[ -n $schema ]]; then sql "DROP SCHEMA IF EXISTS $schema CASCADE" || true; fi
    [[ -n ${KEEP:-} ]] || rm -rf "$dir"
}
trap cleanup EXIT

store=()
nodes=(a)
if [[ $mode == pg ]]; then
    [[ -n $base ]] || fail "pg: JOBS_TEST_STORE is not set"
    schema=wake_$$_$RANDOM
    sql "CREATE SCHEMA $schema"
    sep='?'
    [[ $base == *\?* ]] && sep='&'
    store=(--store "$base${sep}options=-csearch_path%3D$schema")
    nodes=(a b)
fi

bases=()
for k in "${nodes[@]}"; do
    mkdir -m 0700 "$dir/$k"
    [[ $k == a ]] && { echo 'ann-pw' | "$server" user add ann --data "$dir/$k" "${store[@]}" >/dev/null; }
    start_node "$k" "${store[@]}" --tick-interval 300
done
a=${bases[0]}
curl -s -f -c "$dir/jar" --json '{"username":"ann","password":"ann-pw"}' "$a/authenticate" \
    >/dev/null || fail "login"
curl -s -f -b "$dir/jar" --json '{"name":"s"}' "$a/blockstacks" >/dev/null || fail "stack"
# Let every server finish its first tick (at its start): the next is 300 s away.
sleep 1
due=$(( $(date +%s) + 2 ))
sched=$(curl -s -f -b "$dir/jar" --json "{\"once\":true,\"config\":{\"timestamp\":$due}}" \
    "$a/schedules" | grep -o '[0-9]\+' | head -1) || fail "schedule"
made=$(date +%s)
job=$(curl -s -f -b "$dir/jar" --json "{\"stack_id\":1,\"schedule_id\":$sched,\"enabled\":true}" \
    "$a/jobs" | grep -o '[0-9]\+' | head -1) || fail "job"

outs() { for k in "${nodes[@]}"; do cat "$dir/$k/out"; done; }
count() { outs | grep -c "\"event\":\"run\",\"job\":$job," || true; }
for _ in $(seq 1 600); do
    [[ $(count) -ge 1 ]] && break
    sleep 0.1
done
took=$(( $(date +%s) - made ))
[[ $(count) -ge 1 ]] || fail "job $job due at $due did not run within 60 s (tick interval 300 s)"
sleep 2
[[ $(count) == 1 ]] || fail "job $job ran $(count) times"
for p in "${pids[@]}"; do kill -0 "$p" || fail "a server died"; done
echo "OK ($mode, ${#nodes[@]} server(s)): the job due 2 s after it was made ran after ${took} s," \
    "with ticks 300 s apart"
