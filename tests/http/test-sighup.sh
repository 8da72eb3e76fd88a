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
# shellcheck source=solo.sh
source "$(dirname "$0")/solo.sh"
solo_begin sighup

# Starts the server with the options given; sets pid and base.
start() {
    solo_launch "$@"
    wait_answering
}


# An access-log file, renamed, then SIGHUP.
log=$dir/access.log
start --access-log "$log"
curl -s -f "$base/healthz?before" >/dev/null || fail "healthz before"
mv "$log" "$log.1"
kill -HUP "$pid"
solo_wait_line "SIGHUP: reopened the access log $log"
kill -0 "$pid" 2>/dev/null || { wait "$pid" || true; pid=; fail "SIGHUP ended the server"; }
curl -s -f "$base/jobs/byid/1" >/dev/null || true
curl -s -f "$base/healthz" >/dev/null || fail "healthz after SIGHUP"
stop_server
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
    solo_wait_line "SIGHUP: no access-log file to reopen"
    kill -0 "$pid" 2>/dev/null || { wait "$pid" || true; pid=; fail "SIGHUP ended the server (--access-log $spec)"; }
    curl -s -f "$base/healthz" >/dev/null || fail "healthz after SIGHUP (--access-log $spec)"
    stop_server
done
echo "ok: SIGHUP reopens the access log and leaves the server running"
