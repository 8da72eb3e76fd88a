#!/usr/bin/env bash
# tests/soak/soak.sh: load and soak test of jobs-server (issue 5, deliverable 6).
#
#   tests/soak/soak.sh PATH-TO-jobs-server [SECONDS]        (default 30; `make soak`: 300)
#
# Starts the given jobs-server (nothing is built here) on 127.0.0.1 with a temporary data
# directory, adds a user, logs in, seeds a stack and SOAK_SEEDS jobs, then runs wrk for SECONDS
# with tests/soak/mixed.lua: GET /jobs?page=N, GET /jobs/byid/<id>, POST /jobs, PUT /jobs/<id>
# and DELETE /jobs/<id>, every wrk thread on one connection and on jobs of its own, so that the
# status of every answer is known exactly. The server's VmRSS is sampled every second.
#
# Fails (exit 1) when
#   - any answer has a status (or body) other than expected (the script's "unexpected" count),
#   - wrk reports any socket error (connect, read, write, timeout),
#   - anonymous RSS (RssAnon: the heap and the threads' stacks, where a leak lives) grew by 5 %
#     or more over the second half: a least-squares line through the samples of the second half
#     (the first half includes the warm-up: civetweb's threads and malloc's arenas fill up
#     then), its rise over that half relative to its start. VmRSS is printed too, but not
#     judged: its file-backed part (the binary's and libraries' code paged in as new paths run,
#     LMDB's map) grows without any leak, and did by 5.8 % in one run on a busy machine while
#     RssAnon stayed flat. Not judged under a sanitizer, whose allocator keeps freed memory in
#     quarantine by design,
#   - the store's data file grew by more than 256 KiB over the second half (bloat that outlives
#     the records, which VmRSS used to show through LMDB's map),
#   - the jobs left are not the seeds plus at most one per wrk thread (each thread deletes what
#     it creates; one may be in flight when wrk stops),
#   - the server does not stop cleanly on SIGTERM (exit 0; under ASan that includes no leaks),
#   - `jobs-server check` finds the store inconsistent afterwards.
# Bounded: wrk -d SECONDS, and the whole script runs under `timeout` (SECONDS + 75 s, then
# SIGKILL 10 s later: within the ctest TIMEOUT of 120 s for 30 s, so that ctest never has to
# kill the script and orphan the server).
#
# Environment: SOAK_CONNS [4] wrk threads = connections; SOAK_SEEDS [30] seeded jobs;
# SOAK_KEEP [0] 1: keep the temporary directory (logs, RSS samples) and print its path.
set -euo pipefail

usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//'; }

[[ $# -ge 1 && $# -le 2 ]] || { usage >&2; exit 2; }
SERVER=$1
DURATION=${2:-30}
[[ -x $SERVER ]] || { echo "soak: $SERVER is not an executable" >&2; exit 2; }
[[ $DURATION =~ ^[0-9]+$ && $DURATION -ge 8 ]] || {
    echo "soak: SECONDS must be an integer of 8 or more" >&2
    exit 2
}

# The hard bound: the rest of the script runs under timeout, which signals the whole process
# group (wrk, the server, the sampler) when it fires.
if [[ -z ${SOAK_UNDER_TIMEOUT:-} ]]; then
    SOAK_UNDER_TIMEOUT=1 exec timeout -k 10 $((DURATION + 75)) "$0" "$@"
fi

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CONNS=${SOAK_CONNS:-4}
SEEDS=${SOAK_SEEDS:-30}
export LC_ALL=C

command -v wrk >/dev/null || { echo "soak: wrk is missing (apt-get install wrk)" >&2; exit 2; }

TMP=$(mktemp -d "${TMPDIR:-/tmp}/jobs-soak.XXXXXX")
DATA=$TMP/data
SERVER_PID=
SAMPLER_PID=
WRK_PID=

cleanup() {
    local pid
    for pid in $WRK_PID $SAMPLER_PID; do
        kill "$pid" 2>/dev/null || true
    done
    if [[ -n $SERVER_PID ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -TERM "$SERVER_PID" 2>/dev/null || true
        for _ in $(seq 100); do
            kill -0 "$SERVER_PID" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$SERVER_PID" 2>/dev/null || true
    fi
    wait 2>/dev/null || true
    if [[ ${SOAK_KEEP:-0} == 1 ]]; then
        echo "soak: kept $TMP"
    else
        rm -rf "$TMP"
    fi
}
trap cleanup EXIT
trap 'echo "soak: interrupted" >&2; exit 130' INT TERM

say() { printf 'soak: %s\n' "$*"; }
die() { printf 'soak: FAIL: %s\n' "$*" >&2; exit 1; }

# ---- a minimal HTTP client (bash's /dev/tcp; no curl needed) --------------------------------
# http METHOD PATH [BODY]: sets STATUS, HEAD and BODY; sends the bearer TOKEN when set.
http() {
    local body=${3-} auth= out
    [[ -n ${TOKEN:-} ]] && auth="Authorization: Bearer $TOKEN"$'\r\n'
    exec 3<>"/dev/tcp/127.0.0.1/$PORT"
    printf '%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n%s%s\r\n%s\r\n\r\n%s' \
        "$1" "$2" "$auth" "Content-Type: application/json" "Content-Length: ${#body}" "$body" >&3
    out=$(timeout 30 cat <&3) || true
    exec 3<&- 3>&-
    HEAD=${out%%$'\r\n\r\n'*}
    BODY=${out#*$'\r\n\r\n'}
    STATUS=$(sed -n '1s/^HTTP\/1\.1 \([0-9]*\) .*/\1/p' <<<"$HEAD")
}

expect() { # expect STATUS WHAT
    [[ $STATUS == "$1" ]] || die "$2: expected $1, got ${STATUS:-nothing} $BODY"
}

# ---- the server ---------------------------------------------------------------------------
PASSWORD=soak-$RANDOM$RANDOM$RANDOM
printf '%s\n' "$PASSWORD" | "$SERVER" user add soak --data "$DATA" >/dev/null
"$SERVER" --listen 127.0.0.1:0 --data "$DATA" --threads $((CONNS + 8)) --max-jobs-per-user 0 \
    >"$TMP/stdout.log" 2>"$TMP/stderr.log" &
SERVER_PID=$!
PORT=
for _ in $(seq 300); do
    PORT=$(sed -n 's|^listening on http://127\.0\.0\.1:\([0-9][0-9]*\)$|\1|p' "$TMP/stdout.log")
    [[ -n $PORT ]] && break
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$TMP/stderr.log" >&2; die "the server exited"; }
    sleep 0.1
done
[[ -n $PORT ]] || die "the server did not say where it listens"

TOKEN=
http POST /authenticate "{\"username\":\"soak\",\"password\":\"$PASSWORD\"}"
expect 200 "login"
TOKEN=$(sed -n 's/^Set-Cookie: auth_tkt=\([0-9a-f]*\);.*/\1/p' <<<"$HEAD")
[[ ${#TOKEN} -eq 64 ]] || die "no session token in: $HEAD"

http POST /blockstacks '{"name":"soak"}'
expect 201 "POST /blockstacks"
STACK=$(sed -n 's/^{"id":\([0-9]*\)}$/\1/p' <<<"$BODY")
SEED_FIRST=
for i in $(seq "$SEEDS"); do
    http POST /jobs "{\"name\":\"seed-$i\",\"stack_id\":$STACK,\"schedule_id\":4}"
    expect 201 "seeding"
    id=$(sed -n 's/^{"id":\([0-9]*\)}$/\1/p' <<<"$BODY")
    SEED_FIRST=${SEED_FIRST:-$id}
    [[ $id -eq $((SEED_FIRST + i - 1)) ]] || die "seed ids are not consecutive: $id"
done

# ---- load, with RSS samples ---------------------------------------------------------------
rss_sampler() { # about one line a second: seconds since the start, VmRSS RssAnon RssFile (KiB),
    # and the size of the store's data file (KiB)
    local start=$SECONDS
    while kill -0 "$SERVER_PID" 2>/dev/null; do
        awk -v t=$((SECONDS - start)) -v d="$(($(stat -c %s "$DATA/store/data.mdb") / 1024))" \
            '/^VmRSS:/ {r=$2} /^RssAnon:/ {a=$2} /^RssFile:/ {f=$2}
             END {if (r) print t, r, a, f, d}' "/proc/$SERVER_PID/status" || true
        sleep 1
    done
}

say "jobs-server pid $SERVER_PID on port $PORT; $SEEDS seeded jobs;" \
    "wrk -t$CONNS -c$CONNS for ${DURATION}s"
rss_sampler >"$TMP/rss.txt" &
SAMPLER_PID=$!
SOAK_TOKEN=$TOKEN SOAK_STACK=$STACK SOAK_SEED_FIRST=$SEED_FIRST SOAK_SEED_COUNT=$SEEDS \
    wrk -t"$CONNS" -c"$CONNS" -d"${DURATION}s" --timeout 30s -s "$HERE/mixed.lua" \
    "http://127.0.0.1:$PORT" >"$TMP/wrk.txt" 2>&1 &
WRK_PID=$!
wrk_rc=0
wait "$WRK_PID" || wrk_rc=$?
WRK_PID=
sleep 1 # one more sample after the load
kill "$SAMPLER_PID" 2>/dev/null || true
wait "$SAMPLER_PID" 2>/dev/null || true
SAMPLER_PID=
[[ $wrk_rc -eq 0 ]] || { cat "$TMP/wrk.txt" >&2; die "wrk exited with $wrk_rc"; }

# ---- verdict ------------------------------------------------------------------------------
FAILED=0
fail() { printf 'soak: FAIL: %s\n' "$*" >&2; FAILED=1; }

figure() { sed -n "s/^SOAK $1 //p" "$TMP/wrk.txt"; }
requests=$(figure requests)
unexpected=$(figure unexpected)
errors=$(figure errors)
[[ -n $requests && -n $unexpected && -n $errors ]] || {
    cat "$TMP/wrk.txt" >&2
    die "no figures from mixed.lua's done()"
}
say "requests: $requests in $(figure seconds) s ($(figure latency_ms))"
sed -n 's/^SOAK status /soak:   /p' "$TMP/wrk.txt"
say "socket errors: $errors"
say "unexpected answers: $unexpected"
sed -n 's/^SOAK sample /soak:   unexpected: /p' "$TMP/wrk.txt"
[[ $unexpected -eq 0 ]] || fail "$unexpected unexpected answers"
[[ $errors == "connect=0 read=0 write=0 timeout=0" ]] || fail "socket errors: $errors"
! grep -q '^  Socket errors' "$TMP/wrk.txt" || fail "wrk: $(grep '^  Socket errors' "$TMP/wrk.txt")"
[[ $requests -gt 0 ]] || fail "no requests were answered"

# RSS over the second half of the samples (the first half includes the warm-up): a least-squares
# line through them, and growth = its rise from the first to the last sample of that half,
# relative to its value at the first. A line rather than max-against-mean, because the server's
# RSS is small (a few MiB) and malloc's per-thread caches make it jitter by 2-3 % from one second
# to the next; a leak is a slope, jitter is not. The max of the last quarter against the mean of
# the second quarter is printed as well, for information.
# trend COLUMN: that column of the samples (2 VmRSS, 3 RssAnon) as "n start middle end max
# growth q2_mean q4_max jitter".
trend() {
    awk -v c="$1" '
    { t[NR] = $1; r[NR] = $c }
    END {
        n = NR; q = int(n / 4); h = int(n / 2)
        if (q < 2) { print n, 0, 0, 0, 0, "n/a", 0, 0, "n/a"; exit }
        for (i = h + 1; i <= n; i++) {
            k++; sx += t[i]; sy += r[i]; sxx += t[i] * t[i]; sxy += t[i] * r[i]
        }
        b = (k * sxy - sx * sy) / (k * sxx - sx * sx); a = (sy - b * sx) / k
        y0 = a + b * t[h + 1]; y1 = a + b * t[n]
        for (i = q + 1; i <= 2 * q; i++) s2 += r[i]
        for (i = n - q + 1; i <= n; i++) if (r[i] > q4) q4 = r[i]
        for (i = 1; i <= n; i++) if (r[i] > max) max = r[i]
        printf "%d %d %d %d %d %.2f %.0f %d %.2f\n", n, r[1], r[h], r[n], max,
               (y1 / y0 - 1) * 100, s2 / q, q4, (q4 / (s2 / q) - 1) * 100
    }' "$TMP/rss.txt"
}
read -r n rss_start rss_mid rss_end rss_max rss_growth _ _ _ < <(trend 2)
read -r n anon_start anon_mid anon_end anon_max growth q2_mean q4_max jitter < <(trend 3)
say "RSS (KiB, $n samples, one a second): start $rss_start, middle $rss_mid, end $rss_end," \
    "max $rss_max; growth over the second half $rss_growth % (not judged: file-backed pages)"
say "anonymous RSS (KiB): start $anon_start, middle $anon_mid, end $anon_end, max $anon_max"
say "anonymous RSS growth over the second half (least-squares line): $growth %" \
    "(last-quarter max $q4_max vs second-quarter mean $q2_mean: $jitter %)"
# The store's data file over the second half: its live records are bounded (the seeds and at
# most one job per thread), so once LMDB reuses its freed pages the file stops growing. Bloat
# that outlives the records (as the page index's emptied buckets once did, 94aaae3) grows it
# steadily; one or two pages more at the end do not count.
read -r data_mid data_end < <(awk '{ d[NR] = $5 } END { print d[int(NR / 2) + 1], d[NR] }' \
    "$TMP/rss.txt")
say "store data file (KiB): $data_mid at the half, $data_end at the end (limit: 256 more)"
if ((data_end - data_mid > 256)); then
    fail "the store's data file grew by $((data_end - data_mid)) KiB over the second half" \
        "(limit: 256), with no more live jobs than at the start"
fi
if grep -qa -e __asan_init -e __tsan_init "$SERVER"; then
    say "RSS not judged: the server is built with a sanitizer (quarantined memory grows by design)"
elif [[ $growth == n/a ]]; then
    fail "too few RSS samples ($n)"
elif awk -v g="$growth" 'BEGIN { exit !(g >= 5) }'; then
    fail "anonymous RSS grew by $growth % over the second half (limit: under 5 %)"
fi

# The store: the seeds plus at most one job in flight per thread.
http GET '/jobs?page=1'
expect 200 "GET /jobs"
count=$(sed -n 's/^{"count":\([0-9]*\),.*/\1/p' <<<"$BODY")
say "jobs left: $count (seeds: $SEEDS, wrk threads: $CONNS)"
[[ $count -ge $SEEDS && $count -le $((SEEDS + CONNS)) ]] ||
    fail "$count jobs left; expected $SEEDS to $((SEEDS + CONNS))"

kill -TERM "$SERVER_PID"
server_rc=0
wait "$SERVER_PID" || server_rc=$?
SERVER_PID=
if [[ $server_rc -ne 0 ]]; then
    tail -40 "$TMP/stderr.log" >&2
    fail "the server exited with $server_rc"
fi
"$SERVER" check --data "$DATA" >/dev/null || fail "jobs-server check: the store is inconsistent"

if [[ $FAILED -ne 0 ]]; then
    exit 1
fi
say "PASS"
