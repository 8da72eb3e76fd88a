#!/usr/bin/env bash
# bench/http-bench.sh: jobs-server over HTTP, against baselines measured in the same run
# (issue 4). The machine is shared and noisy, so every target is a ratio within one run.
#
#   bench/http-bench.sh [--quick] [--memory | --only-memory] [--only-reads]
#                       [--json PATH | --no-json]
#
# Cases (wrk from Debian, 127.0.0.1, keep-alive, the same -t/-c/-d for every case):
#   plain-byid   plain-server (bench/http/plain-server.c) answering a fixed JSON body of the size
#                of a GET /jobs/byid/<id> answer: civetweb's ceiling on this machine, now
#   jobs-byid    jobs-server, GET /jobs/byid/<id>                   target >= 0.7 x plain-byid
#   plain-page   the same, body of the size of a GET /jobs?page=1 answer
#   jobs-page    jobs-server, GET /jobs?page=1 (10 jobs)            target >= 0.8 x plain-page (issue 16; issue 4 asked 0.7)
#   post-single  POST /jobs, jobs-server --no-group-commit (one durable commit per request)
#   post-group   POST /jobs, jobs-server with group commit (default) target >= 4 x post-single
#                Each on a fresh data directory; afterwards the server is killed (SIGKILL),
#                restarted, and GET /jobs must count every job that was answered 201.
#   memory       (--memory, --only-memory) 1 M jobs loaded through the library, then 1 M
#                mixed GET byid / page requests; jobs-server's anonymous RSS <= 32 MiB.
# --only-reads runs the four read cases alone (no POST cases): a quicker look at byid and page.
#
# Environment (defaults in brackets):
#   BUILD_DIR [build-release]  build tree (configured here as Release if it has no cache yet)
#   NO_BUILD [0]               1: take the binaries in BUILD_DIR as they are (no deps, no build)
#   WRK_THREADS [2]  WRK_CONNS [32]  WRK_DURATION [10s; 3s with --quick]
#   ROUNDS [3; 1 with --quick]  each read pair and each write case runs ROUNDS times, alternating,
#                               and the best round of each case counts (as in jobs-bench)
#   WRITE_CONNS [32]           wrk connections for the POST cases
#   SERVER_THREADS [16 + the larger of WRK_CONNS and WRITE_CONNS]  --threads of both servers:
#                               civetweb holds a worker per keep-alive connection, so it must
#                               exceed wrk's -c
#   JOBS_N [1000]              jobs in the store of the read cases
#   SERVER_ARGS []             more jobs-server options for every case (split at spaces)
#   MEMORY_JOBS [1000000]  MEMORY_REQUESTS [1000000]
#
# Prints a table and writes it as JSON (bench/http-results.json unless --json/--no-json).
# Exits 1 if any case saw a non-2xx answer or a socket error, or a durability check failed;
# a target that is missed is reported but is not an error of the script.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$ROOT/build-release}
QUICK=0
MEMORY=0
THROUGHPUT=1
WRITES=1
JSON=$ROOT/bench/http-results.json

usage() {
    sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//'
}

while [[ $# -gt 0 ]]; do
    case $1 in
    --quick) QUICK=1 ;;
    --memory) MEMORY=1 ;;
    --only-memory) MEMORY=1; THROUGHPUT=0 ;;
    --only-reads) WRITES=0 ;;
    --json) [[ $# -ge 2 ]] || { echo "http-bench: --json needs a path" >&2; exit 2; }
            JSON=$2; shift ;;
    --no-json) JSON= ;;
    -h | --help) usage; exit 0 ;;
    *) echo "http-bench: unknown option '$1' (see --help)" >&2; exit 2 ;;
    esac
    shift
done

if [[ $QUICK -eq 1 ]]; then
    WRK_DURATION=${WRK_DURATION:-3s}
    ROUNDS=${ROUNDS:-1}
fi
WRK_THREADS=${WRK_THREADS:-2}
WRK_CONNS=${WRK_CONNS:-32}
WRK_DURATION=${WRK_DURATION:-10s}
ROUNDS=${ROUNDS:-3}
WRITE_CONNS=${WRITE_CONNS:-32}
_max_conns=$((WRK_CONNS > WRITE_CONNS ? WRK_CONNS : WRITE_CONNS))
SERVER_THREADS=${SERVER_THREADS:-$((_max_conns + 16))}
JOBS_N=${JOBS_N:-1000}
MEMORY_JOBS=${MEMORY_JOBS:-1000000}
MEMORY_REQUESTS=${MEMORY_REQUESTS:-1000000}
MEMORY_TARGET_MIB=32
read -ra SERVER_ARGS <<<"${SERVER_ARGS:-}"

if [[ $SERVER_THREADS -le $_max_conns ]]; then
    echo "http-bench: SERVER_THREADS ($SERVER_THREADS) must exceed the wrk connections" \
         "($_max_conns): each keep-alive connection holds a civetweb worker" >&2
    exit 2
fi

say() { printf '%s\n' "http-bench: $*" >&2; }
die() { say "$*"; exit 1; }

# ---- wrk ---------------------------------------------------------------------------------------
if ! command -v wrk >/dev/null 2>&1; then
    if [[ $(id -u) -ne 0 ]]; then
        die "wrk is missing; as root: apt-get install -y wrk"
    fi
    say "wrk is missing: running apt-get install -y wrk"
    apt-get install -y wrk >&2 || { say "apt-get update, then again"; apt-get update >&2 &&
        apt-get install -y wrk >&2; }
    command -v wrk >/dev/null 2>&1 || die "could not install wrk"
fi

# ---- build -------------------------------------------------------------------------------------
if [[ ${NO_BUILD:-0} != 1 ]]; then
    "$ROOT/scripts/install-deps.sh"
    cache=()
    [[ -f $BUILD_DIR/CMakeCache.txt ]] || cache=(-DCMAKE_BUILD_TYPE=Release)
    cmake -S "$ROOT" -B "$BUILD_DIR" "${cache[@]}" -DJOBS_BUILD_BENCH=ON \
        -DJOBS_BUILD_EXAMPLES=ON >&2
    cmake --build "$BUILD_DIR" -j"$(nproc)" --target jobs-server plain-server jobs-load >&2
fi
build_type=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$BUILD_DIR/CMakeCache.txt")
[[ $build_type == Release ]] || say "warning: $BUILD_DIR is a '$build_type' build, not Release"
SERVER=$BUILD_DIR/examples/server/jobs-server
PLAIN=$BUILD_DIR/bench/http/plain-server
LOADER=$BUILD_DIR/bench/http/jobs-load
LUA_DIR=$ROOT/bench/http
for exe in "$SERVER" "$PLAIN" "$LOADER"; do
    [[ -x $exe ]] || die "$exe is missing"
done

# ---- processes and cleanup ---------------------------------------------------------------------
TMP=$(mktemp -d "${TMPDIR:-/tmp}/http-bench.XXXXXX")
PIDS=()
cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${PIDS[@]}"; do
        for _ in $(seq 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
# The write cases compare flushes: on a file system where fsync costs nothing they mean nothing.
FSTYPE=$(stat -f -c %T "$TMP")
case $FSTYPE in
tmpfs | ramfs) say "!!! $TMP is on $FSTYPE: fsync is free there, so the POST cases measure" \
                   "nothing about durable commits; set TMPDIR to a directory on a disk" ;;
esac

forget_pid() {
    local keep=() p
    for p in "${PIDS[@]}"; do [[ $p == "$1" ]] || keep+=("$p"); done
    PIDS=("${keep[@]}")
}

# start LOG CMD...: starts a server, waits for "listening on http://HOST:PORT"; sets STARTED_PID
# and STARTED_PORT.
start() {
    local log=$1 port=
    shift
    "$@" >"$log" 2>&1 &
    STARTED_PID=$!
    PIDS+=("$STARTED_PID")
    for _ in $(seq 200); do
        port=$(sed -n 's|^listening on http://[^ ]*:\([0-9][0-9]*\)$|\1|p' "$log")
        [[ -n $port ]] && break
        kill -0 "$STARTED_PID" 2>/dev/null || { cat "$log" >&2; die "$1 did not start"; }
        sleep 0.05
    done
    [[ -n $port ]] || { cat "$log" >&2; die "$1 did not print its port"; }
    STARTED_PORT=$port
}

stop() {
    kill -TERM "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
    forget_pid "$1"
}

PASSWORD=bench-$RANDOM-$RANDOM-$RANDOM
# new_data DIR: a data directory with the user "bench"; sets OWNER.
new_data() {
    local out
    out=$(printf '%s\n' "$PASSWORD" | "$SERVER" user add bench --data "$1")
    OWNER=$(sed -n 's/^added user bench with id \([0-9][0-9]*\)$/\1/p' <<<"$out")
    [[ -n $OWNER ]] || die "user add: $out"
}

# login PORT: sets TOKEN.
login() {
    local head
    head=$(curl -sS -D - -o /dev/null -X POST "http://127.0.0.1:$1/authenticate" \
        -H 'Content-Type: application/json' -d "{\"username\":\"bench\",\"password\":\"$PASSWORD\"}")
    TOKEN=$(sed -n 's/^Set-Cookie: auth_tkt=\([0-9a-f][0-9a-f]*\);.*/\1/p' <<<"$head" | tr -d '\r')
    [[ -n $TOKEN ]] || die "login failed: $head"
}

api() { # api PORT METHOD PATH [BODY]: prints the body; fails on a status >= 400
    curl -sS -f -X "$2" -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
        ${4:+-d "$4"} "http://127.0.0.1:$1$3"
}

job_count() { # job_count PORT
    api "$1" GET '/jobs?page=1' | sed -n 's/^{"count":\([0-9][0-9]*\),.*/\1/p'
}

# ---- wrk runs and their figures ----------------------------------------------------------------
FAILED=0
# Latency as wrk prints it (340.12us, 1.20ms, 2.00s, 1.00m) in microseconds.
to_us() {
    awk -v v="$1" 'BEGIN {
        n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
        f = (u == "us") ? 1 : (u == "ms") ? 1e3 : (u == "s") ? 1e6 : (u == "m") ? 6e7 : -1
        if (f < 0) { print "-1"; exit }
        printf "%.0f\n", n * f }'
}

# run_wrk NAME OUT WRK-ARGS...: runs wrk, keeps its output in OUT, then parse_wrk.
run_wrk() {
    local name=$1 out=$2
    shift 2
    wrk --latency "$@" >"$out" 2>&1 || { cat "$out" >&2; die "$name: wrk failed"; }
    parse_wrk "$name" "$out"
}

# parse_wrk NAME OUT: sets W_RPS, W_P50, W_P99 (us), W_ERRORS (non-2xx + socket errors),
# W_REQUESTS, W_ERRTEXT from wrk's output.
parse_wrk() {
    local name=$1 out=$2 line
    W_RPS=$(sed -n 's/^Requests\/sec: *\([0-9.][0-9.]*\).*/\1/p' "$out")
    W_REQUESTS=$(sed -n 's/^ *\([0-9][0-9]*\) requests in .*/\1/p' "$out")
    W_P50=$(to_us "$(awk '$1 == "50%" { print $2 }' "$out")")
    W_P99=$(to_us "$(awk '$1 == "99%" { print $2 }' "$out")")
    local non2xx sock
    non2xx=$(sed -n 's/^ *Non-2xx or 3xx responses: *\([0-9][0-9]*\).*/\1/p' "$out")
    line=$(grep -E '^ *Socket errors:' "$out" || true)
    sock=$(awk -F'[ ,]+' '{ s = 0; for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+$/) s += $i;
                            print s }' <<<"${line:-0}")
    W_ERRORS=$(( ${non2xx:-0} + ${sock:-0} ))
    W_ERRTEXT=
    [[ -n $non2xx ]] && W_ERRTEXT="non-2xx $non2xx"
    [[ -n $line ]] && W_ERRTEXT="${W_ERRTEXT:+$W_ERRTEXT; }${line#"${line%%[! ]*}"}"
    [[ -n $W_RPS && -n $W_REQUESTS && $W_P50 != -1 && $W_P99 != -1 ]] ||
        { cat "$out" >&2; die "$name: cannot read wrk's output"; }
    if [[ $W_ERRORS -ne 0 ]]; then
        FAILED=1
        say "!!! $name: $W_ERRTEXT -- this case measured error answers, its figures are worthless"
        sed 's/^/    wrk | /' "$out" >&2
    fi
}

# Best round of each case: B_RPS[case], B_P50, B_P99, B_ERR (errors summed over all rounds).
declare -A B_RPS=() B_P50=() B_P99=() B_ERR=() B_BYTES=() ALL_RPS=()
CASES=()
keep() { # keep CASE: after run_wrk
    local c=$1
    [[ -v B_RPS[$c] ]] || { CASES+=("$c"); B_RPS[$c]=0; B_ERR[$c]=0; }
    B_ERR[$c]=$(( ${B_ERR[$c]} + W_ERRORS ))
    ALL_RPS[$c]="${ALL_RPS[$c]:-}${ALL_RPS[$c]:+ }$W_RPS"
    if awk -v a="$W_RPS" -v b="${B_RPS[$c]}" 'BEGIN { exit !(a > b) }'; then
        B_RPS[$c]=$W_RPS
        B_P50[$c]=$W_P50
        B_P99[$c]=$W_P99
    fi
    say "$(printf '%-12s round: %10.0f req/s  p50 %s us  p99 %s us  errors %s' \
        "$c" "$W_RPS" "$W_P50" "$W_P99" "$W_ERRORS")"
}

WRK_COMMON=(-t "$WRK_THREADS" -c "$WRK_CONNS" -d "$WRK_DURATION" --timeout 10s)
say "wrk -t$WRK_THREADS -c$WRK_CONNS -d$WRK_DURATION (writes: -c$WRITE_CONNS), rounds $ROUNDS," \
    "server threads $SERVER_THREADS, $(nproc) CPUs, data in $TMP ($FSTYPE)" \
    "${SERVER_ARGS[*]:+, jobs-server options: ${SERVER_ARGS[*]}}"

# ---- reads -------------------------------------------------------------------------------------
run_reads() {
    local data=$TMP/reads jport pbyid ppage byid_id byid_body page_body out line servers=()
    mkdir -p "$data"
    new_data "$data"
    line=$("$LOADER" --data "$data" --owner "$OWNER" --jobs "$JOBS_N")
    say "loaded: $line"
    start "$TMP/jobs-reads.log" "$SERVER" "${SERVER_ARGS[@]}" --listen 127.0.0.1:0 --data "$data" \
        --threads "$SERVER_THREADS"
    jport=$STARTED_PORT
    servers+=("$STARTED_PID")
    login "$jport"
    # A job from the middle of the store, and page 1 (full: 10 jobs).
    byid_id=$(awk -v f="$(sed -n 's/.* first \([0-9]*\) .*/\1/p' <<<"$line")" \
                  -v l="$(sed -n 's/.* last \([0-9]*\) .*/\1/p' <<<"$line")" \
                  'BEGIN { printf "%d\n", (f + l) / 2 }')
    byid_body=$(api "$jport" GET "/jobs/byid/$byid_id")
    page_body=$(api "$jport" GET '/jobs?page=1')
    B_BYTES[jobs-byid]=${#byid_body}
    B_BYTES[jobs-page]=${#page_body}
    B_BYTES[plain-byid]=${#byid_body}
    B_BYTES[plain-page]=${#page_body}
    say "GET /jobs/byid/$byid_id: ${#byid_body} bytes: $byid_body"
    say "GET /jobs?page=1: ${#page_body} bytes"
    start "$TMP/plain-byid.log" "$PLAIN" --listen 127.0.0.1:0 --threads "$SERVER_THREADS" \
        --size "${#byid_body}"
    pbyid=$STARTED_PORT
    servers+=("$STARTED_PID")
    start "$TMP/plain-page.log" "$PLAIN" --listen 127.0.0.1:0 --threads "$SERVER_THREADS" \
        --size "${#page_body}"
    ppage=$STARTED_PORT
    servers+=("$STARTED_PID")
    # Same answer sizes, or the comparison is not the one promised.
    for pair in "$pbyid:${#byid_body}" "$ppage:${#page_body}"; do
        out=$(curl -sS "http://127.0.0.1:${pair%%:*}/")
        [[ ${#out} -eq ${pair#*:} ]] || die "plain-server answered ${#out} bytes, not ${pair#*:}"
    done

    local auth=(-H "Authorization: Bearer $TOKEN")
    # Warm-up: connections, caches, the CPU's clock.
    wrk -t "$WRK_THREADS" -c "$WRK_CONNS" -d 1s "http://127.0.0.1:$pbyid/" >/dev/null
    wrk -t "$WRK_THREADS" -c "$WRK_CONNS" -d 1s "${auth[@]}" \
        "http://127.0.0.1:$jport/jobs/byid/$byid_id" >/dev/null
    for r in $(seq "$ROUNDS"); do
        run_wrk plain-byid "$TMP/wrk-plain-byid-$r.txt" "${WRK_COMMON[@]}" \
            "http://127.0.0.1:$pbyid/jobs/byid/$byid_id"
        keep plain-byid
        run_wrk jobs-byid "$TMP/wrk-jobs-byid-$r.txt" "${WRK_COMMON[@]}" "${auth[@]}" \
            "http://127.0.0.1:$jport/jobs/byid/$byid_id"
        keep jobs-byid
        run_wrk plain-page "$TMP/wrk-plain-page-$r.txt" "${WRK_COMMON[@]}" \
            "http://127.0.0.1:$ppage/jobs?page=1"
        keep plain-page
        run_wrk jobs-page "$TMP/wrk-jobs-page-$r.txt" "${WRK_COMMON[@]}" "${auth[@]}" \
            "http://127.0.0.1:$jport/jobs?page=1"
        keep jobs-page
    done
    for pid in "${servers[@]}"; do
        stop "$pid"
    done
}

# ---- writes ------------------------------------------------------------------------------------
DURABILITY=()
# run_post CASE ROUND [SERVER-OPTION]: fresh data dir, a server, a stack, wrk POST /jobs; then
# SIGKILL, restart, and count the jobs.
run_post() {
    local c=$1 r=$2 data=$TMP/$1-$2 port pid stack out created other live stored anon
    shift 2
    mkdir -p "$data"
    new_data "$data"
    start "$TMP/$c-$r.log" "$SERVER" "${SERVER_ARGS[@]}" --listen 127.0.0.1:0 --data "$data" \
        --threads "$SERVER_THREADS" "$@"
    port=$STARTED_PORT
    pid=$STARTED_PID
    login "$port"
    stack=$(api "$port" POST /blockstacks '{"name":"bench"}' | sed -n 's/^{"id":\([0-9]*\)}$/\1/p')
    [[ -n $stack ]] || die "$c: could not create a stack"
    out=$TMP/wrk-$c-$r.txt
    run_wrk "$c" "$out" -t "$WRK_THREADS" -c "$WRITE_CONNS" -d "$WRK_DURATION" --timeout 10s \
        -s "$LUA_DIR/post-jobs.lua" -H "Authorization: Bearer $TOKEN" \
        "http://127.0.0.1:$port/jobs" -- "$stack"
    keep "$c"
    created=$(sed -n 's/^created \([0-9][0-9]*\)$/\1/p' "$out")
    other=$(sed -n 's/^other \([0-9][0-9]*\)$/\1/p' "$out")
    [[ -n $created && -n $other ]] ||
        { cat "$out" >&2; die "$c: the Lua script printed no counts"; }
    live=$(job_count "$port")
    anon=$(status_kib "$pid" RssAnon)
    # Every acknowledged job must survive the process dying at once.
    kill -KILL "$pid"
    wait "$pid" 2>/dev/null || true
    forget_pid "$pid"
    start "$TMP/$c-$r-restart.log" "$SERVER" "${SERVER_ARGS[@]}" --listen 127.0.0.1:0 \
        --data "$data" --threads 4
    port=$STARTED_PORT
    login "$port"
    stored=$(job_count "$port")
    stop "$STARTED_PID"
    # wrk stops at its deadline with up to one request per connection in flight: the server may
    # have committed those without wrk reading the 201. So created <= stored <= created + conns.
    local ok=yes
    if [[ -z $stored || $stored -lt $created || $stored -gt $((created + WRITE_CONNS)) ||
          $other -ne 0 ]]; then
        ok=no
        FAILED=1
    fi
    DURABILITY+=("$c $r $created $other $live $stored $ok $anon")
    say "$(printf '%-12s round %s: 201 answers %s, other answers %s, jobs counted live %s,' \
        "$c" "$r" "$created" "$other" "$live") after SIGKILL and restart $stored: $ok;" \
        "server RssAnon $anon kB"
    [[ $ok == yes ]] || say "!!! $c: durability check FAILED (see above)"
}

run_writes() {
    for r in $(seq "$ROUNDS"); do
        run_post post-single "$r" --no-group-commit
        run_post post-group "$r"
    done
}

# ---- memory ------------------------------------------------------------------------------------
MEM=()
# kib FILE FIELD: a "Field:   1234 kB" line of /proc/PID/status or smaps_rollup, in KiB.
kib() {
    local v
    v=$(sed -n "s/^$2:[[:space:]]*\([0-9][0-9]*\) kB$/\1/p" "$1")
    [[ -n $v ]] || die "no $2 in $1"
    echo "$v"
}
status_kib() { kib "/proc/$1/status" "$2"; }
rollup_kib() { kib "/proc/$1/smaps_rollup" "$2"; }
run_memory() {
    local data=$TMP/memory line first last pages quota port pid count out idle wpid marks
    mkdir -p "$data"
    new_data "$data"
    say "memory: loading $MEMORY_JOBS jobs through the library (jobs-load)..."
    line=$("$LOADER" --data "$data" --owner "$OWNER" --jobs "$MEMORY_JOBS" --threads 4)
    say "loaded: $line"
    first=$(sed -n 's/.* first \([0-9]*\) .*/\1/p' <<<"$line")
    last=$(sed -n 's/.* last \([0-9]*\) .*/\1/p' <<<"$line")
    pages=$(( (MEMORY_JOBS + 9) / 10 ))
    start "$TMP/memory.log" "$SERVER" "${SERVER_ARGS[@]}" --listen 127.0.0.1:0 --data "$data" \
        --threads "$SERVER_THREADS"
    port=$STARTED_PORT
    pid=$STARTED_PID
    login "$port"
    count=$(job_count "$port")
    [[ $count -eq $MEMORY_JOBS ]] || die "memory: the store holds $count jobs, not $MEMORY_JOBS"
    idle=$(status_kib "$pid" RssAnon)
    quota=$(( (MEMORY_REQUESTS + WRK_THREADS - 1) / WRK_THREADS ))
    out=$TMP/wrk-memory.txt
    say "memory: $MEMORY_REQUESTS requests (GET /jobs/byid/<random>, GET /jobs?page=<random>)..."
    # wrk has no request count: each thread stops at its quota (the Lua script) and leaves a
    # mark; wrk is then interrupted, which ends its wait for -d and makes it report.
    wrk --latency -t "$WRK_THREADS" -c "$WRK_CONNS" -d 3600s --timeout 10s \
        -s "$LUA_DIR/mixed-reads.lua" -H "Authorization: Bearer $TOKEN" \
        "http://127.0.0.1:$port/" -- "$first" "$last" "$pages" "$quota" "$TMP/mark-" \
        >"$out" 2>&1 &
    wpid=$!
    PIDS+=("$wpid")
    while kill -0 "$wpid" 2>/dev/null; do
        marks=("$TMP"/mark-*)
        [[ -e ${marks[0]} && ${#marks[@]} -ge $WRK_THREADS ]] && kill -INT "$wpid"
        sleep 0.1
    done
    wait "$wpid" || { cat "$out" >&2; die "memory: wrk failed"; }
    forget_pid "$wpid"
    parse_wrk memory "$out"
    keep memory
    local answers
    answers=$(sed -n 's/^answers \([0-9][0-9]*\)$/\1/p' "$out")
    [[ -n $answers && $answers -ge $MEMORY_REQUESTS ]] ||
        die "memory: wrk had $answers answers, not $MEMORY_REQUESTS"
    sleep 1
    kill -0 "$pid" 2>/dev/null || die "memory: jobs-server is gone"
    MEM=(
        "$(status_kib "$pid" RssAnon)"      # 0 anonymous RSS now
        "$(rollup_kib "$pid" Anonymous)"    # 1 the same from smaps_rollup
        "$(status_kib "$pid" RssFile)"      # 2 file-backed (the LMDB map, libraries)
        "$(status_kib "$pid" VmRSS)"        # 3
        "$(status_kib "$pid" VmHWM)"        # 4 peak RSS
        "$idle"                             # 5 anonymous RSS before the requests
        "$(sed -n 's/^Threads:[[:space:]]*//p' "/proc/$pid/status")" # 6
        "$answers"                          # 7
        "$(du -sk "$data/store" | cut -f1)" # 8 the store on disk, KiB
    )
    say "memory: RssAnon ${MEM[0]} kB (smaps_rollup Anonymous ${MEM[1]} kB), RssFile" \
        "${MEM[2]} kB, VmRSS ${MEM[3]} kB, VmHWM ${MEM[4]} kB; before the requests RssAnon" \
        "${MEM[5]} kB; ${MEM[6]} threads; store ${MEM[8]} kB"
    stop "$pid"
}

# ---- run ---------------------------------------------------------------------------------------
if [[ $THROUGHPUT -eq 1 ]]; then
    run_reads
    [[ $WRITES -eq 1 ]] && run_writes
fi
[[ $MEMORY -eq 1 ]] && run_memory

# ---- report ------------------------------------------------------------------------------------
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.3f\n", a / b; else print "0" }'; }
ms() { awk -v u="$1" 'BEGIN { printf "%.2f\n", u / 1000 }'; }
ge() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a >= b) }'; }

declare -A R_RATIO=() R_TARGET=() R_MET=() R_LABEL=() R_ROUNDS=()
judge() { # judge CASE BASELINE TARGET LABEL
    [[ -v B_RPS[$1] && -v B_RPS[$2] ]] || return 0
    R_RATIO[$1]=$(ratio "${B_RPS[$1]}" "${B_RPS[$2]}")
    R_TARGET[$1]=$3
    R_LABEL[$1]=$4
    # The ratio within each round too: how far the noise moves it (information only).
    R_ROUNDS[$1]=$(awk -v a="${ALL_RPS[$1]}" -v b="${ALL_RPS[$2]}" 'BEGIN {
        n = split(a, x, " "); split(b, y, " ")
        for (i = 1; i <= n; i++) printf "%s%.3f", (i > 1 ? " " : ""), (y[i] > 0 ? x[i] / y[i] : 0)
        print "" }')
    # Judged on the exact quotient, not the rounded one printed.
    if awk -v a="${B_RPS[$1]}" -v b="${B_RPS[$2]}" -v t="$3" 'BEGIN { exit !(a >= t * b) }'; then
        R_MET[$1]=yes
    else
        R_MET[$1]=NO
    fi
}
judge jobs-byid plain-byid 0.70 "byid/plain"
judge jobs-page plain-page 0.80 "page/plain"
judge post-group post-single 4.00 "group/single"

echo
if [[ $THROUGHPUT -eq 1 ]]; then
    echo "wrk -t$WRK_THREADS -c$WRK_CONNS -d$WRK_DURATION --latency (POST: -c$WRITE_CONNS)," \
         "best of $ROUNDS round(s); jobs-server and plain-server --threads $SERVER_THREADS;" \
         "$(nproc) CPUs; $JOBS_N jobs${SERVER_ARGS[*]:+; jobs-server ${SERVER_ARGS[*]}}"
    printf '%-12s %6s %11s %9s %9s %7s %-19s %8s %5s\n' \
        case bytes req/s p50/ms p99/ms errors ratio target met?
fi
for c in "${CASES[@]}"; do
    [[ $c == memory ]] && continue
    printf '%-12s %6s %11.0f %9s %9s %7s %-19s %8s %5s\n' "$c" "${B_BYTES[$c]:--}" \
        "${B_RPS[$c]}" "$(ms "${B_P50[$c]}")" "$(ms "${B_P99[$c]}")" "${B_ERR[$c]}" \
        "${R_RATIO[$c]:+${R_RATIO[$c]} ${R_LABEL[$c]}}" "${R_TARGET[$c]:+>= ${R_TARGET[$c]}}" \
        "${R_MET[$c]:-}"
done
for c in jobs-byid jobs-page post-group; do
    if [[ -n ${R_ROUNDS[$c]:-} ]]; then
        printf 'ratio %-12s in each round: %s\n' "${R_LABEL[$c]}" "${R_ROUNDS[$c]}"
    fi
done
for d in "${DURABILITY[@]}"; do
    read -r c r created other live stored ok anon <<<"$d"
    printf 'durability %-12s round %s: %6s answered 201, %6s stored after SIGKILL + restart: %-3s' \
        "$c" "$r" "$created" "$stored" "$ok"
    printf ' (server anonymous RSS %.1f MiB)\n' "$(awk -v k="$anon" 'BEGIN { print k / 1024 }')"
done
MEM_MET=
if [[ ${#MEM[@]} -gt 0 ]]; then
    MEM_MIB=$(awk -v k="${MEM[0]}" 'BEGIN { printf "%.1f\n", k / 1024 }')
    if ge "$MEMORY_TARGET_MIB" "$MEM_MIB"; then MEM_MET=yes; else MEM_MET=NO; fi
    printf 'memory: %s jobs, %s requests (%.0f req/s, p50 %s ms, p99 %s ms, errors %s):\n' \
        "$MEMORY_JOBS" "${MEM[7]}" "${B_RPS[memory]}" "$(ms "${B_P50[memory]}")" \
        "$(ms "${B_P99[memory]}")" "${B_ERR[memory]}"
    printf '  anonymous RSS %s MiB (target <= %s MiB: %s); before the requests %.1f MiB;' \
        "$MEM_MIB" "$MEMORY_TARGET_MIB" "$MEM_MET" \
        "$(awk -v k="${MEM[5]}" 'BEGIN { print k / 1024 }')"
    printf ' file-backed %.1f MiB, peak RSS %.1f MiB, %s threads\n' \
        "$(awk -v k="${MEM[2]}" 'BEGIN { print k / 1024 }')" \
        "$(awk -v k="${MEM[4]}" 'BEGIN { print k / 1024 }')" "${MEM[6]}"
fi

if [[ -n $JSON ]]; then
    {
        printf '{\n  "date": "%s",\n  "cpus": %s,\n  "filesystem": "%s",\n' \
            "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$(nproc)" "$FSTYPE"
        printf '  "wrk": {"threads": %s, "connections": %s, "write_connections": %s, ' \
            "$WRK_THREADS" "$WRK_CONNS" "$WRITE_CONNS"
        printf '"duration": "%s", "rounds": %s},\n' "$WRK_DURATION" "$ROUNDS"
        printf '  "server_threads": %s,\n  "server_args": "%s",\n  "jobs": %s,\n  "cases": [' \
            "$SERVER_THREADS" "${SERVER_ARGS[*]}" "$JOBS_N"
        sep=
        for c in "${CASES[@]}"; do
            printf '%s\n    {"name": "%s", "requests_per_sec": %s, "p50_us": %s, "p99_us": %s, ' \
                "$sep" "$c" "${B_RPS[$c]}" "${B_P50[$c]}" "${B_P99[$c]}"
            printf '"errors": %s, "round_requests_per_sec": [%s]' "${B_ERR[$c]}" \
                "${ALL_RPS[$c]// /, }"
            [[ -n ${B_BYTES[$c]:-} ]] && printf ', "body_bytes": %s' "${B_BYTES[$c]}"
            if [[ -n ${R_RATIO[$c]:-} ]]; then
                printf ', "ratio": %s, "ratio_of": "%s", "target": %s, "met": %s' \
                    "${R_RATIO[$c]}" "${R_LABEL[$c]}" "${R_TARGET[$c]}" \
                    "$([[ ${R_MET[$c]} == yes ]] && echo true || echo false)"
                printf ', "round_ratios": [%s]' "${R_ROUNDS[$c]// /, }"
            fi
            printf '}'
            sep=,
        done
        printf '\n  ],\n  "durability": ['
        sep=
        for d in "${DURABILITY[@]}"; do
            read -r c r created other live stored ok anon <<<"$d"
            printf '%s\n    {"case": "%s", "round": %s, "answered_201": %s, "other_answers": %s, ' \
                "$sep" "$c" "$r" "$created" "$other"
            printf '"counted_live": %s, "stored_after_kill": %s, "ok": %s, ' "$live" "$stored" \
                "$([[ $ok == yes ]] && echo true || echo false)"
            printf '"server_rss_anon_kib": %s}' "$anon"
            sep=,
        done
        printf '\n  ]'
        if [[ ${#MEM[@]} -gt 0 ]]; then
            printf ',\n  "memory": {"jobs": %s, "requests": %s, "rss_anon_kib": %s, ' \
                "$MEMORY_JOBS" "${MEM[7]}" "${MEM[0]}"
            printf '"smaps_anonymous_kib": %s, "rss_file_kib": %s, "vm_rss_kib": %s, ' \
                "${MEM[1]}" "${MEM[2]}" "${MEM[3]}"
            printf '"vm_hwm_kib": %s, "rss_anon_before_requests_kib": %s, "threads": %s, ' \
                "${MEM[4]}" "${MEM[5]}" "${MEM[6]}"
            printf '"store_kib": %s, "target_mib": %s, "met": %s}' "${MEM[8]}" \
                "$MEMORY_TARGET_MIB" "$([[ $MEM_MET == yes ]] && echo true || echo false)"
        fi
        printf '\n}\n'
    } >"$JSON.tmp"
    mv "$JSON.tmp" "$JSON"
    echo "wrote $JSON"
fi

if [[ $FAILED -ne 0 ]]; then
    say "!!! FAILED: some case had error answers or socket errors, or lost an acknowledged job"
    exit 1
fi
