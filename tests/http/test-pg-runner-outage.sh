#!/usr/bin/env bash
# test-pg-runner-outage.sh SOURCE_DIR JOBS_SERVER
#
# jobs-server's runner on PostgreSQL through a database outage (a private throwaway cluster,
# stopped with pg_ctl stop -m immediate and started again): a run whose child ends while the
# database is down is recorded once the database is back. The runner tried once and gave up
# ("ended ... but was not recorded"): the run stayed `delivered` for ever, its outcome lost.
set -euo pipefail
src=${1:?usage: test-pg-runner-outage.sh SOURCE_DIR JOBS_SERVER}
server=${2:?usage: test-pg-runner-outage.sh SOURCE_DIR JOBS_SERVER}
tag=pgro
pg_private_later=1 # the server is started below, with a runner
# shellcheck source=pg-private.sh
source "$(dirname "$0")/pg-private.sh"

cat >"$dir/run.sh" <<SCRIPT
#!/bin/sh
echo \$JOBS_RUN_ID > "$dir/run.tmp"; mv "$dir/run.tmp" "$dir/run"
while [ ! -f "$dir/go" ]; do sleep 0.1; done
echo done
SCRIPT
chmod 0700 "$dir/run.sh"
start_server --run-command "$dir/run.sh" --tick-interval 1
# Waits (60 s at most) until COMMAND succeeds.
until_true() {
    for _ in $(seq 1 600); do
        "$@" && return 0
        sleep 0.1
    done
    return 1
}

r=$(req POST /authenticate '{"username":"ann","password":"ann-pw"}')
[[ $r == 200* ]] || fail "login: $r"
r=$(req POST /blockstacks '{"name":"s"}')
[[ $r == 201* ]] || fail "stack: $r"
# The owner runs the stack by hand; the request waits for the run's end in the background.
curl -s -m 200 -b "$dir/jar" "$base/blockstacks/exec/1" >"$dir/exec" 2>&1 &
exec_pid=$!
until_true test -s "$dir/run" || fail "the child did not start"
run=$(cat "$dir/run")

bash "$cluster" pause "$pgdir"
touch "$dir/go" # the child ends while the database is down
until_true grep -q "run $run ended" "$dir/err" || fail "the runner said nothing of run $run"
bash "$cluster" resume "$pgdir"

succeeded() {
    r=$(req GET '/blockstacks/1/runs?page=1')
    [[ $r == 200* && $r == *"\"id\":$run,"*'"state":"succeeded"'* ]]
}
until_true succeeded || fail "run $run was not recorded once the database was back: $r"
wait "$exec_pid" || true
grep -q '"success":"done\\n"' "$dir/exec" || fail "the exec request's answer: $(cat "$dir/exec")"
kill -TERM "$pid"
wait "$pid" || fail "the server did not stop cleanly"
pid=
echo "OK: a run that ended while PostgreSQL was down was recorded once it was back"
