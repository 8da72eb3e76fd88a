#!/usr/bin/env bash
# pg-test-cluster.sh: a throwaway PostgreSQL cluster for the tests.
#
#   pg-test-cluster.sh start DIR    initdb in DIR (made fresh; an old cluster there is stopped and
#                                   removed first) and start it, listening only on a Unix socket
#                                   in DIR (no TCP); prints the store URI
#   pg-test-cluster.sh stop DIR     stop it (immediate) and remove DIR
#   pg-test-cluster.sh env DIR      print JOBS_TEST_STORE=<URI> for the cluster in DIR
#   pg-test-cluster.sh pause DIR    stop the server at once (pg_ctl stop -m immediate), keep DIR
#   pg-test-cluster.sh resume DIR   start the paused cluster in DIR again
#   pg-test-cluster.sh run -- CMD   start a cluster in a new temporary directory, run CMD with
#                                   JOBS_TEST_STORE set to its URI, stop and remove it on exit
#                                   (trap), and exit with CMD's status
#
# PostgreSQL refuses to run as root, and CI runs as root: as root the cluster belongs to
# `nobody` (DIR is chowned to it and the server runs under setpriv); as anyone else, to that
# user. The superuser role is `jobs`, trusted on the socket only. The tests' clients connect as
# `jobs` over DIR's socket; root may always traverse DIR.
#
# The binaries are Debian's postgresql-15 (scripts/install-deps.sh); PG_BINDIR overrides.
set -euo pipefail

PG_BINDIR=${PG_BINDIR:-/usr/lib/postgresql/15/bin}
PG_PORT=${PG_PORT:-5432} # only names the socket file (.s.PGSQL.5432); there is no TCP listener

as_owner() {
    if [[ $(id -u) -eq 0 ]]; then
        setpriv --reuid=nobody --regid=nogroup --clear-groups -- "$@"
    else
        "$@"
    fi
}

uri() {
    printf 'postgresql:///postgres?host=%s&port=%s&user=jobs\n' "$1" "$PG_PORT"
}

stop() {
    local dir=$1
    [[ -n $dir ]] || return 0
    if [[ -f $dir/data/postmaster.pid ]]; then
        as_owner "$PG_BINDIR/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    rm -rf -- "$dir"
}

start() {
    local dir=$1
    stop "$dir"
    mkdir -m 0700 -- "$dir"
    if [[ $(id -u) -eq 0 ]]; then
        chown nobody:nogroup "$dir"
    fi
    if ! as_owner "$PG_BINDIR/initdb" -D "$dir/data" -U jobs --auth=trust -E UTF8 \
            --locale=C.UTF-8 --no-sync >"$dir/initdb.log" 2>&1; then
        cat "$dir/initdb.log" >&2
        return 1
    fi
    # Small and fast: no TCP, the socket in DIR, no fsync (the data is thrown away; a stopped
    # server loses nothing committed, as commits stay synchronous: the restart test needs it).
    server_start "$dir" || return 1
    uri "$dir"
}

server_start() {
    local dir=$1
    if ! as_owner "$PG_BINDIR/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
            -o "-c listen_addresses='' -c unix_socket_directories='$dir' -p $PG_PORT \
                -c fsync=off -c full_page_writes=off \
                -c max_connections=200 -c shared_buffers=64MB" start >/dev/null; then
        cat "$dir/server.log" >&2
        return 1
    fi
}

cmd=${1:-}
case $cmd in
pause)
    as_owner "$PG_BINDIR/pg_ctl" -D "${2:?usage: pg-test-cluster.sh pause DIR}/data" \
        -m immediate -w stop >/dev/null
    ;;
resume)
    server_start "${2:?usage: pg-test-cluster.sh resume DIR}"
    ;;
start)
    start "${2:?usage: pg-test-cluster.sh start DIR}"
    ;;
stop)
    stop "${2:?usage: pg-test-cluster.sh stop DIR}"
    ;;
env)
    echo "JOBS_TEST_STORE=$(uri "${2:?usage: pg-test-cluster.sh env DIR}")"
    ;;
run)
    shift
    [[ ${1:-} == -- ]] && shift
    [[ $# -gt 0 ]] || { echo "usage: pg-test-cluster.sh run -- CMD..." >&2; exit 2; }
    dir=$(mktemp -u "${TMPDIR:-/tmp}/libjobs-pg-XXXXXX")
    trap 'stop "$dir"' EXIT INT TERM
    JOBS_TEST_STORE=$(start "$dir")
    export JOBS_TEST_STORE
    rc=0
    "$@" || rc=$?
    exit $rc
    ;;
*)
    echo "usage: pg-test-cluster.sh start|stop|env DIR, or run -- CMD..." >&2
    exit 2
    ;;
esac
