#!/usr/bin/env bash
# test-pg-two-hooks.sh SOURCE_DIR JOBS_SERVER [CALLS]
#
# Webhooks with two jobs-server processes on one PostgreSQL database (a private throwaway
# cluster), both with a runner. A hook's input is the request, which only the server that took
# it holds; its run must therefore be run by that server, never by the other one's tick (which
# jobs_store_wait wakes as soon as a run is made). CALLS (default 20) calls of a public webhook
# on server a each answer status 0 with their own input, and every run ran on server a.
set -euo pipefail
src=${1:?usage: test-pg-two-hooks.sh SOURCE_DIR JOBS_SERVER [CALLS]}
server=${2:?usage: test-pg-two-hooks.sh SOURCE_DIR JOBS_SERVER [CALLS]}
n=${3:-20}
cluster="$src/scripts/pg-test-cluster.sh"
# shellcheck source=nodes.sh
source "$(dirname "$0")/nodes.sh"
dir=$(mktemp -d /tmp/jobs-pg2h-XXXXXX)
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
# The command echoes its input and says which server ran it.
cat >"$dir/run.sh" <<'SH'
#!/bin/sh
input=$(cat)
echo "$JOBS_RUN_ID" >>"$NODE_DIR/ran"
printf '%s\n' "$input"
SH
chmod 0700 "$dir/run.sh"
bases=()
for k in a b; do
    mkdir -m 0700 "$dir/$k"
    [[ $k == a ]] && { echo 'ann-pw' | "$server" user add ann --data "$dir/$k" --store "$uri" >/dev/null; }
    start_node "$k" --store "$uri" --tick-interval 1 --run-command "$dir/run.sh" --run-timeout 20
done
a=${bases[0]}
curl -s -f -c "$dir/jar" --json '{"username":"ann","password":"ann-pw"}' "$a/authenticate" \
    >/dev/null || fail "login"
stack=$(curl -s -f -b "$dir/jar" --json '{"name":"pub","webhook":"public","webhook_method":"GET"}' \
    "$a/blockstacks" | grep -o '"id":[0-9]*' | head -1 | grep -o '[0-9]*') || fail "stack"

for i in $(seq 1 "$n"); do
    answer=$(curl -s -m 60 "$a/blockstacks/hook/$stack?call=$i") || fail "call $i: no answer"
    [[ $answer == *'"status":0'* && $answer == *"\"call\":\"$i\""* ]] ||
        fail "call $i answered $answer"
done
ran_a=$(wc -l <"$dir/a/ran" 2>/dev/null || echo 0)
ran_b=$(wc -l <"$dir/b/ran" 2>/dev/null || echo 0)
[[ $ran_a -eq $n && $ran_b -eq 0 ]] || fail "server a ran $ran_a runs and server b $ran_b, want $n and 0"
for p in "${pids[@]}"; do kill -0 "$p" || fail "a server died"; done
echo "OK: $n webhook calls on server a answered with their input, each run by server a"
