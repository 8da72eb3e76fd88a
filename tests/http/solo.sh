# shellcheck shell=bash
# solo.sh: sourced by the test scripts that start one jobs-server themselves, on a port of their
# own, to see it as a process (test-closed-fds.sh, test-sighup.sh, test-fd-limit.sh,
# test-accesslog-fifo.sh, test-tls-cert-mode.sh).
#
# solo_begin NAME   $dir: a new temporary directory (mode 0700); at exit the server (pid) is
#                   stopped and $dir removed, after the script's own solo_more_cleanup if it
#                   defines one.
# free_port         a TCP port of 127.0.0.1 that nothing listens on now.
# solo_launch ARGS  starts $server in the background on a free port of 127.0.0.1 with --data
#                   $dir/data, JOBS_DEMO_PASSWORD=demo-pw and ARGS, its output in $dir/out and
#                   $dir/err; sets pid and base (http://...).
# solo_wait_exit WHAT  waits until the server has exited (30 s at most) and sets status to its
#                   exit status; fails with WHAT if it is still running then.
# solo_wait_line LINE  waits (30 s at most) until the server's stderr has LINE, or it is gone.
# wait_answering    waits until $base/healthz answers; fails if the server exits first.
# stop_server       SIGTERM to the server; fails unless it exits 0.
# fail MESSAGE      says it and exits 1.
# The script sets base (the server's URL) before wait_answering.
# shellcheck disable=SC2154
fail() {
    echo "FAIL: $*" >&2
    exit 1
}

solo_cleanup() {
    if declare -F solo_more_cleanup >/dev/null; then solo_more_cleanup; fi
    [[ -z $pid ]] || { kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true; }
    rm -rf "$dir"
}

solo_begin() {
    dir=$(mktemp -d "/tmp/jobs-$1-XXXXXX")
    chmod 0700 "$dir"
    pid=
    trap solo_cleanup EXIT
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

solo_launch() {
    local port
    port=$(free_port)
    JOBS_DEMO_PASSWORD=demo-pw "$server" --listen "127.0.0.1:$port" --data "$dir/data" "$@" \
        >"$dir/out" 2>"$dir/err" &
    pid=$!
    base=http://127.0.0.1:$port
}

# shellcheck disable=SC2034 # status is the caller's
solo_wait_exit() {
    for _ in $(seq 1 300); do
        if ! kill -0 "$pid" 2>/dev/null; then
            status=0
            wait "$pid" || status=$?
            pid=
            return 0
        fi
        sleep 0.1
    done
    fail "$1"
}

solo_wait_line() {
    for _ in $(seq 1 300); do
        grep -qF -- "$1" "$dir/err" && return 0
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
}

wait_answering() {
    for _ in $(seq 1 300); do
        curl -s -f "$base/healthz" >/dev/null 2>&1 && return 0
        kill -0 "$pid" 2>/dev/null || fail "the server exited: $(cat "$dir/err" 2>/dev/null)"
        sleep 0.1
    done
    fail "the server did not answer"
}

stop_server() {
    kill "$pid"
    wait "$pid" || fail "the server did not exit 0 at SIGTERM: $(cat "$dir/err" 2>/dev/null)"
    pid=
}
