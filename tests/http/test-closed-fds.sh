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
dir=$(mktemp -d /tmp/jobs-fds-XXXXXX)
chmod 0700 "$dir"
pid=
cleanup() {
    [[ -z $pid ]] || { kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true; }
    rm -rf "$dir"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

echo 'ann-pw' | "$server" user add ann --data "$dir" >/dev/null
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$server" --listen "127.0.0.1:$port" --data "$dir" --access-log off 0<&- 1>&- 2>&- &
pid=$!
base=http://127.0.0.1:$port
for _ in $(seq 1 300); do
    curl -s -f "$base/healthz" >/dev/null 2>&1 && break
    kill -0 "$pid" 2>/dev/null || fail "the server exited"
    sleep 0.1
done
curl -s -f -c "$dir/jar" --json '{"username":"ann","password":"ann-pw"}' "$base/authenticate" \
    >/dev/null || fail "login"
curl -s -f -b "$dir/jar" --json '{"name":"kept"}' "$base/blockstacks" >/dev/null || fail "stack"
for fd in 0 1 2; do
    target=$(readlink "/proc/$pid/fd/$fd" || true)
    [[ $target != "$dir"/* ]] || fail "descriptor $fd of the server is $target"
done
kill "$pid"
wait "$pid" || fail "the server did not exit 0 at SIGTERM"
pid=
"$jobsctl" --store "$dir/store" check >/dev/null || fail "the store is damaged after the stop"
"$jobsctl" --store "$dir/store" stacks list --owner 1 | grep -q ' kept ' ||
    fail "the stack made over HTTP is gone: $("$jobsctl" --store "$dir/store" stacks list --owner 1)"

# A first start (no users yet) with standard output closed, or on a full disk: the demo user's
# password, shown only once on standard output, could not be written. The server says so on
# stderr (without the password) instead of losing it silently, and serves.
for how in closed full; do
    data=$dir/demo-$how
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    if [[ $how == closed ]]; then
        "$server" --listen "127.0.0.1:$port" --data "$data" --access-log off 1>&- 2>"$dir/err" &
    else
        "$server" --listen "127.0.0.1:$port" --data "$data" --access-log off >/dev/full 2>"$dir/err" &
    fi
    pid=$!
    for _ in $(seq 1 300); do
        curl -s -f "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
        kill -0 "$pid" 2>/dev/null || fail "the server exited ($how): $(cat "$dir/err")"
        sleep 0.1
    done
    kill "$pid"
    wait "$pid" || fail "the server did not exit 0 at SIGTERM ($how)"
    pid=
    grep -q "created user demo, but its password could not be written to standard output" \
        "$dir/err" || fail "no word of the lost demo password (stdout $how): $(cat "$dir/err")"
    ! grep -q "with password" "$dir/err" || fail "the password went to stderr"
done
echo "ok: the store is whole after a server with closed standard descriptors"
