#!/usr/bin/env bash
# test-accesslog-fifo.sh JOBS_SERVER
#
# --access-log FILE where FILE is a FIFO (named pipe). With no process reading it, the server's
# open(2) of the log waited for a reader forever: at start it never listened nor exited, and at
# SIGHUP its main thread stayed in open(2), no longer taking SIGTERM. Now a FIFO without a reader
# is refused at start (exit 1, saying so, nothing created) and at SIGHUP (the server says so and
# goes on); a FIFO with a reader gets the lines, and /dev/stdout still works.
set -euo pipefail
server=${1:?usage: test-accesslog-fifo.sh JOBS_SERVER}
# shellcheck source=solo.sh
source "$(dirname "$0")/solo.sh"
solo_begin accesslog-fifo

reader=
# Without the fix the server hangs in open(2) with SIGTERM blocked, and solo_cleanup's SIGTERM
# and wait would wait with it: a server still running when the script ends is killed, as is a
# reader left over.
solo_more_cleanup() {
    [[ -z $pid ]] || kill -KILL "$pid" 2>/dev/null || true
    [[ -z $reader ]] || kill -KILL "$reader" 2>/dev/null || true
}


# Starts `cat FIFO >OUT` as the FIFO's reader (sets reader) and keeps the FIFO open for reading
# and writing on descriptor 3 of this shell: the server's open finds a reader whatever cat's
# progress, and cat's open finds a writer. Returns once cat has the FIFO open. The server must
# be started with 3>&-, so that it is not a reader itself; close_fifo closes descriptor 3.
start_reader() {
    exec 3<>"$1"
    cat "$1" >"$2" 3>&- &
    reader=$!
    for _ in $(seq 1 300); do
        for fd in /proc/"$reader"/fd/*; do
            [[ $(readlink "$fd" 2>/dev/null) == "$1" ]] && return 0
        done
        sleep 0.1
    done
    fail "cat did not open the FIFO"
}
close_fifo() {
    exec 3>&-
}

fifo=$dir/access.fifo
mkfifo -m 0600 "$fifo"

# 1. No reader at start: exit 1 with a message that says so, and nothing created.
solo_launch --access-log "$fifo"
solo_wait_exit "with --access-log on a FIFO that nobody reads, the server neither started nor exited (blocked opening it)"
[[ $status == 1 ]] || fail "exit status $status with a FIFO that nobody reads; stderr: $(cat "$dir/err")"
grep -qF -- "jobs-server: --access-log $fifo: a FIFO that no process reads: start its reader first" \
    "$dir/err" || fail "no clear message for a FIFO without a reader: $(cat "$dir/err")"
[[ ! -e $dir/data ]] || fail "a start refused for its access log created the data directory"

# 2. With a reader: the lines go to it, and the server stops as usual.
start_reader "$fifo" "$dir/fifo.out"
solo_launch --access-log "$fifo" 3>&-
wait_answering
close_fifo
curl -s -f "$base/healthz?fifo" >/dev/null || fail "healthz with the log on a FIFO"
curl -s "$base/jobs/byid/1" >/dev/null || true
stop_server
wait "$reader" || fail "the FIFO's reader failed"
reader=
grep -q '"route":"/healthz"' "$dir/fifo.out" || fail "the access log's lines did not reach the FIFO's reader"
grep -q '/jobs/byid' "$dir/fifo.out" || fail "the second request is not in the FIFO's output"

# 3. SIGHUP once the reader is gone: the reopen fails at once, the server says why and goes on.
start_reader "$fifo" "$dir/fifo.out"
solo_launch --access-log "$fifo" 3>&-
wait_answering
close_fifo
kill "$reader"
wait "$reader" 2>/dev/null || true
reader=
kill -HUP "$pid"
solo_wait_line "SIGHUP: cannot reopen the access log"
kill -0 "$pid" 2>/dev/null || { wait "$pid" || true; pid=; fail "SIGHUP ended the server: $(cat "$dir/err")"; }
grep -qF -- "jobs-server: SIGHUP: cannot reopen the access log $fifo (a FIFO that no process reads: start its reader first): still writing to the file it had" \
    "$dir/err" || fail "no clear message at SIGHUP for a FIFO without a reader: $(cat "$dir/err")"
curl -s -f "$base/healthz" >/dev/null || fail "healthz after SIGHUP"
kill "$pid"
solo_wait_exit "the server did not stop at SIGTERM after SIGHUP on a FIFO without a reader"
[[ $status == 0 ]] || fail "exit status $status at SIGTERM after SIGHUP: $(cat "$dir/err")"

# 4. /dev/stdout still works (here standard output is a file).
rm -rf "$dir/data"
solo_launch --access-log /dev/stdout
wait_answering
curl -s -f "$base/healthz?stdout" >/dev/null || fail "healthz with the log on /dev/stdout"
stop_server
grep -q '"route":"/healthz"' "$dir/out" || fail "no access-log line on standard output with --access-log /dev/stdout"
echo "ok: a FIFO without a reader is refused at start and at SIGHUP; with one it gets the lines"
