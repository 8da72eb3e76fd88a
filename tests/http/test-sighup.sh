#!/usr/bin/env bash
# test-sighup.sh JOBS_SERVER
#
# SIGHUP reopens the access log, for rotation: rename the file, send SIGHUP, and the lines of
# later requests go to a new file of that name (mode 0600), the earlier ones staying in the
# renamed one. SIGHUP was at its default before, which ended the server at once: no drain, and
# the access log's last batch (up to a second of lines) lost. With the log on standard error,
# SIGHUP changes nothing.
set -euo pipefail
server=${1:?usage: test-sighup.sh JOBS_SERVER}
dir=$(mktemp -d /tmp/jobs-sighup-XXXXXX)
chmod 0700 "$dir"
pid=
cleanup() {
    [[ -z $pid ]] || { kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true; }
    rm -rf "$dir"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# Starts the server with the options given; sets pid and base.
start() {
    local port
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    JOBS_DEMO_PASSWORD=demo-pw "$server" --listen "127.0.0.1:$port" --data "$dir/data" "$@" \
        >"$dir/out" 2>"$dir/err" &
    pid=$!
    base=http://127.0.0.1:$port
    for _ in $(seq 1 300); do
        curl -s -f "$base/healthz" >/dev/null 2>&1 && return 0
        kill -0 "$pid" 2>/dev/null || fail "the server exited: $(cat "$dir/err")"
        sleep 0.1
    done
    fail "the server did not answer"
}

# Waits until the server's stderr has line $1 (the main thread writes it once the signal was
# handled), or the server is gone.
wait_for_line() {
    for _ in $(seq 1 300); do
        grep -qF -- "$1" "$dir/err" && return 0
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
}

stop() {
    kill "$pid"
    wait "$pid" || fail "the server did not exit 0 at SIGTERM: $(cat "$dir/err")"
    pid=
}

# An access-log file, renamed, then SIGHUP.
log=$dir/access.log
start --access-log "$log"
curl -s -f "$base/healthz?before" >/dev/null || fail "healthz before"
mv "$log" "$log.1"
kill -HUP "$pid"
wait_for_line "SIGHUP: reopened the access log $log"
kill -0 "$pid" 2>/dev/null || { wait "$pid" || true; pid=; fail "SIGHUP ended the server"; }
curl -s -f "$base/jobs/byid/1" >/dev/null || true
curl -s -f "$base/healthz" >/dev/null || fail "healthz after SIGHUP"
stop
grep -q '"route":"/healthz"' "$log.1" || fail "the request before SIGHUP is not in the renamed log"
[[ -f $log ]] || fail "no new access log after SIGHUP"
[[ $(stat -c %a "$log") == 600 ]] || fail "the new access log has mode $(stat -c %a "$log")"
grep -q '"route":"/healthz"' "$log" || fail "the request after SIGHUP is not in the new log"
grep -q '/jobs/byid' "$log" || fail "the second request after SIGHUP is not in the new log"
! grep -q '/jobs/byid' "$log.1" || fail "a request after SIGHUP went to the renamed log"

# The access log on standard error (the default), and off: SIGHUP leaves the server running.
for spec in - off; do
    start --access-log "$spec"
    kill -HUP "$pid"
    wait_for_line "SIGHUP: no access-log file to reopen"
    kill -0 "$pid" 2>/dev/null || { wait "$pid" || true; pid=; fail "SIGHUP ended the server (--access-log $spec)"; }
    curl -s -f "$base/healthz" >/dev/null || fail "healthz after SIGHUP (--access-log $spec)"
    stop
done
echo "ok: SIGHUP reopens the access log and leaves the server running"
