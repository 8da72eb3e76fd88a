#!/usr/bin/env bash
# test-closed-fds.sh JOBS_SERVER JOBSCTL
#
# jobs-server started with standard input, output and error closed (as a careless launcher
# does): the store's files were opened on descriptors 0-2, and the server's first message
# ("SIGTERM: stopping") went into data.mdb at offset 0, LMDB's first meta page, which lost the
# store. Now the store is whole after the stop: jobsctl check passes and the stack made over
# HTTP is there.
set -euo pipefail
server=${1:?usage: test-closed-fds.sh JOBS_SERVER JOBSCTL}
jobsctl=${2:?usage: test-closed-fds.sh JOBS_SERVER JOBSCTL}
# shellcheck source=solo.sh
source "$(dirname "$0")/solo.sh"
solo_begin fds

echo 'ann-pw' | "$server" user add ann --data "$dir" >/dev/null
port=$(free_port)
"$server" --listen "127.0.0.1:$port" --data "$dir" --access-log off 0<&- 1>&- 2>&- &
pid=$!
base=http://127.0.0.1:$port
wait_answering
curl -s -f -c "$dir/jar" --json '{"username":"ann","password":"ann-pw"}' "$base/authenticate" \
    >/dev/null || fail "login"
curl -s -f -b "$dir/jar" --json '{"name":"kept"}' "$base/blockstacks" >/dev/null || fail "stack"
for fd in 0 1 2; do
    target=$(readlink "/proc/$pid/fd/$fd" || true)
    [[ $target != "$dir"/* ]] || fail "descriptor $fd of the server is $target"
done
stop_server
"$jobsctl" --store "$dir/store" check >/dev/null || fail "the store is damaged after the stop"
"$jobsctl" --store "$dir/store" stacks list --owner 1 | grep -q ' kept ' ||
    fail "the stack made over HTTP is gone: $("$jobsctl" --store "$dir/store" stacks list --owner 1)"

# A first start (no users yet) with standard output closed, or on a full disk: the demo user's
# password, shown only once on standard output, could not be written. The server says so on
# stderr (without the password) instead of losing it silently, and serves.
for how in closed full; do
    data=$dir/demo-$how
    port=$(free_port)
    if [[ $how == closed ]]; then
        "$server" --listen "127.0.0.1:$port" --data "$data" --access-log off 1>&- 2>"$dir/err" &
    else
        "$server" --listen "127.0.0.1:$port" --data "$data" --access-log off >/dev/full 2>"$dir/err" &
    fi
    pid=$!
    base=http://127.0.0.1:$port
    wait_answering
    stop_server
    grep -q "created user demo, but its password could not be written to standard output" \
        "$dir/err" || fail "no word of the lost demo password (stdout $how): $(cat "$dir/err")"
    ! grep -q "with password" "$dir/err" || fail "the password went to stderr"
done
echo "ok: the store is whole after a server with closed standard descriptors"
