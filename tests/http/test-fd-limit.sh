#!/usr/bin/env bash
# test-fd-limit.sh JOBS_SERVER JOBSCTL
#
# jobs-server under a low limit on open files (`ulimit -n 64`, as a shell or CI may have it) with
# its 128 workers: 100 clients hold connections open (half a request line each, 60 s request
# timeout), then one more asks GET /healthz. The server used to keep the limit it was given, so
# past about 54 connections accept() failed with EMFILE: the 101st client waited unanswered in the
# listen queue while 70 workers were free. Now the soft limit is raised (within the hard one) to
# what --threads needs, and the 101st client is answered; after the 100 leave, the server answers
# as before and stops cleanly with a consistent store. With a hard limit too low to raise to it,
# the server says so at start and still serves.
set -euo pipefail
server=${1:?usage: test-fd-limit.sh JOBS_SERVER JOBSCTL}
jobsctl=${2:?usage: test-fd-limit.sh JOBS_SERVER JOBSCTL}
# shellcheck source=solo.sh
source "$(dirname "$0")/solo.sh"
solo_begin fdlimit
holder=
solo_more_cleanup() {
    [[ -z $holder ]] || { touch "$dir/release"; wait "$holder" 2>/dev/null || true; }
}

# start ULIMIT_OPTION: the server under that ulimit; sets pid and base.
start() {
    local port
    port=$(free_port)
    (ulimit "$1" 64 && exec env JOBS_DEMO_PASSWORD=demo-pw "$server" --listen "127.0.0.1:$port" \
        --data "$dir/data" --access-log off --threads 128 --request-timeout 60 \
        >"$dir/out" 2>"$dir/err") &
    pid=$!
    base=http://127.0.0.1:$port
    wait_answering
}

# 100 connections, each with half a request line, held until $dir/release exists (60 s at most).
hold() {
    rm -f "$dir/release" "$dir/held"
    python3 - "${base##*:}" "$dir" <<'EOF' &
import os, socket, sys, time
port, d = int(sys.argv[1]), sys.argv[2]
socks = []
for _ in range(100):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"GET /hea")
    socks.append(s)
open(os.path.join(d, "held"), "w").close()
end = time.monotonic() + 60
while not os.path.exists(os.path.join(d, "release")) and time.monotonic() < end:
    time.sleep(0.1)
for s in socks:
    s.close()
EOF
    holder=$!
    for _ in $(seq 1 300); do
        [[ -e $dir/held ]] && return 0
        sleep 0.1
    done
    fail "the 100 connections were not made"
}

release() {
    touch "$dir/release"
    wait "$holder" || true
    holder=
}

# A soft limit of 64 under a higher hard one: raised.
start -Sn
hold
curl -s -f -m 30 "$base/healthz" >/dev/null ||
    fail "the 101st client was not answered while 100 connections were held (limit $(grep 'open files' "/proc/$pid/limits" || true))"
release
curl -s -f -m 30 "$base/healthz" >/dev/null || fail "not answered after the 100 left"
! grep -q 'limit on open files' "$dir/err" || fail "a warning with a hard limit above the need: $(cat "$dir/err")"
stop_server
"$jobsctl" --store "$dir/data/store" check >/dev/null || fail "the store is not consistent"

# A hard limit of 64: the server says so, and serves what it can.
start -n
grep -q 'the limit on open files is 64, below the' "$dir/err" ||
    fail "no word of the low limit: $(cat "$dir/err")"
curl -s -f -m 30 "$base/healthz" >/dev/null || fail "not answered under a hard limit of 64"
stop_server
echo "ok: a low limit on open files is raised to what --threads needs, or reported"
