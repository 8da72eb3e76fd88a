#!/usr/bin/env bash
# test-accesslog-stall.sh JOBS_SERVER
#
# --access-log on a FIFO whose reader stops reading. The request threads wrote the access log's
# batches themselves, under the log's lock: once the pipe was full, write(2) waited for the
# reader, and every request thread waited for the lock after answering, so the server answered
# nothing more, /healthz included. Now a thread of its own writes the log: the server goes on
# answering, lines that find both batches full are dropped, counted in
# jobs_server_access_log_dropped_total and reported by a {"time":...,"dropped":N} line once the
# reader reads again; and a SIGTERM while the reader is stalled ends the server (status 0) after
# 5 s without progress on the log, saying how many lines were not written.
set -euo pipefail
server=${1:?usage: test-accesslog-stall.sh JOBS_SERVER}
# shellcheck source=solo.sh
source "$(dirname "$0")/solo.sh"
solo_begin accesslog-stall

reader=
# Without the fix the server hangs: solo_cleanup's SIGTERM would not end it.
solo_more_cleanup() {
    [[ -z $pid ]] || kill -KILL "$pid" 2>/dev/null || true
    [[ -z $reader ]] || kill -KILL "$reader" 2>/dev/null || true
}

# N requests on one connection (curl's URL range), each with a path of about 2 KiB, so that each
# makes a line of about 2 KiB: 400 of them are several times the pipe (64 KiB) and the log's two
# batches (64 KiB each). A hang, not a time, is what the bound detects.
load() {
    local n=$1 codes
    codes=$(timeout 60 curl -s -o /dev/null -w '%{http_code}\n' "$base/stall/$long/[1-$n]") ||
        fail "the server stopped answering while the access log's reader did not read (curl: $?)"
    [[ $(grep -c '^404$' <<<"$codes") == "$n" ]] || fail "not $n answers of 404: $(sort <<<"$codes" | uniq -c)"
}

# The value of a metric without labels; the sum of a family's series with labels.
metric() {
    curl -s -f -m 20 "$base/metrics" >"$dir/metrics" || fail "GET /metrics did not answer"
    awk -v n="$1" '$1 == n || index($1, n "{") == 1 { s += $2 } END { print s + 0 }' "$dir/metrics"
}

# Waits (30 s at most) until the FIFO's reader has a line with STRING.
wait_logged() {
    for _ in $(seq 1 300); do
        grep -qF -- "$1" "$dir/log" && return 0
        sleep 0.1
    done
    fail "no line with $1 reached the FIFO's reader"
}

long=$(head -c 2000 /dev/zero | tr '\0' x)
fifo=$dir/access.fifo
mkfifo -m 0600 "$fifo"
# This shell holds the FIFO open for reading and never reads: the server's open finds a reader,
# and the pipe fills. The server must not hold it too (3>&-).
exec 3<>"$fifo"
solo_launch --access-log "$fifo" --threads 8 3>&-
wait_answering

# 1. The reader reads nothing: the server goes on answering, every connection included (more
# than --threads of them, each of which held a worker for good before the fix).
load 400
for i in $(seq 1 12); do
    curl -s -f -m 20 "$base/healthz" >/dev/null || fail "GET /healthz $i did not answer while the access log's reader did not read"
done
dropped=$(metric jobs_server_access_log_dropped_total)
(( dropped > 0 )) || fail "no access-log line dropped while the reader did not read (jobs_server_access_log_dropped_total $dropped)"

# 2. The reader reads again: the lines gathered come, then a line that says how many were
# dropped; every line is a whole JSON object. Once a later request's line has come, nothing is
# pending: the counter is the sum of the dropped lines' N, and every request answered is either
# in the log or counted as dropped.
cat "$fifo" >"$dir/log" 3>&- &
reader=$!
wait_logged '"dropped":'
curl -s -o /dev/null -m 20 "$base/marker-1" || fail "GET /marker-1 did not answer"
wait_logged '"path":"/marker-1"'
dropped=$(metric jobs_server_access_log_dropped_total)
requests=$(metric jobs_http_requests_total)
curl -s -o /dev/null -m 20 "$base/marker-2" || fail "GET /marker-2 did not answer"
wait_logged '"path":"/marker-2"'
python3 - "$dir/log" "$dropped" "$requests" <<'EOF' || fail "the access log after the stall is not as it should be"
import json, sys

path, dropped, requests = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
said = logged = 0
with open(path, "rb") as f:
    data = f.read()
lines = data.split(b"\n")
if lines[-1] != b"":
    sys.exit("the log ends inside a line: %r" % lines[-1][-80:])
for raw in lines[:-1]:
    try:
        line = json.loads(raw)
    except ValueError:
        sys.exit("not a whole JSON object: %r" % raw[:200])
    if not isinstance(line, dict):
        sys.exit("not an object: %r" % raw[:200])
    if "dropped" in line:
        if set(line) != {"time", "dropped"} or not isinstance(line["dropped"], int) or line["dropped"] <= 0:
            sys.exit("not a dropped line: %r" % raw)
        said += line["dropped"]
    elif "status" in line:
        logged += 1
    else:
        sys.exit("neither a request's line nor a dropped line: %r" % raw[:200])
if said == 0:
    sys.exit("no dropped line with N > 0")
if said != dropped:
    sys.exit("the dropped lines say %d, jobs_server_access_log_dropped_total %d" % (said, dropped))
# No request came after /marker-2. The scrape does not count itself; it and /marker-2 came
# after it.
if logged + said != requests + 2:
    sys.exit("%d lines and %d dropped for %d requests answered" % (logged, said, requests + 2))
print("ok: %d lines, %d dropped and said" % (logged, said))
EOF

# 3. SIGTERM while the reader is stalled again: the server ends, exit status 0, after saying how
# many lines it could not write; what the pipe holds is whole lines.
kill "$reader"
wait "$reader" 2>/dev/null || true
reader=
load 400
kill "$pid"
solo_wait_exit "SIGTERM with the access log's reader stalled did not end the server"
[[ $status == 0 ]] || fail "exit status $status at SIGTERM with the reader stalled: $(cat "$dir/err")"
grep -qE -- '^jobs-server: the access log took no line for 5 s \(its reader does not read\): [1-9][0-9]* line\(s\) not written to it$' \
    "$dir/err" || fail "no word of the lines not written at SIGTERM: $(cat "$dir/err")"
# Descriptor 3 of this shell, which python inherits, is the FIFO's reading end.
python3 - <<'EOF' || fail "the pipe holds more than whole lines after SIGTERM"
import fcntl, json, os, sys

fcntl.fcntl(3, fcntl.F_SETFL, fcntl.fcntl(3, fcntl.F_GETFL) | os.O_NONBLOCK)
data = b""
while True:
    try:
        chunk = os.read(3, 65536)
    except BlockingIOError:
        break
    if not chunk:
        break
    data += chunk
if not data.endswith(b"\n"):
    sys.exit("the pipe ends inside a line: %r" % data[-80:])
for raw in data.split(b"\n")[:-1]:
    json.loads(raw)
EOF
echo "ok: a stalled access-log reader holds up no request, and not the stop for more than 5 s"
