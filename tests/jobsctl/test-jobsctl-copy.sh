#!/usr/bin/env bash
# test-jobsctl-copy.sh JOBSCTL
#
# `jobsctl copy`: an LMDB store made with jobsctl is copied into a second store (MID) and from
# there into a third (LMDB); all three list the same, and new ids go on from the source's in the
# copies. MID is PostgreSQL when JOBS_TEST_STORE names a database (ctest pg_jobsctl_copy: a
# fresh schema of it, dropped at the end), else an LMDB directory (ctest jobsctl_copy). On
# PostgreSQL this is also the test of `jobsctl --store URI`: check, stats, lists, get by name,
# create, delete, and an unreachable database. A copy that fails after it made its target
# removes what it made (LMDB), or says what is left (PostgreSQL). Needs mdb_load (lmdb-utils) to
# damage a source, and psql for PostgreSQL.
set -euo pipefail

jobsctl=$(realpath "${1:?usage: test-jobsctl-copy.sh JOBSCTL}")
tmp=$(mktemp -d "${TMPDIR:-/tmp}/jobsctl-copy.XXXXXX")
base=${JOBS_TEST_STORE:-}
schema=
sql() { psql -X -q -v ON_ERROR_STOP=1 "$base" -c "SET client_min_messages = warning; $1" >/dev/null; }
cleanup() {
    if [[ -n $schema ]]; then
        sql "DROP SCHEMA IF EXISTS $schema CASCADE; DROP SCHEMA IF EXISTS ${schema}_new CASCADE" ||
            true
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT

fail() {
    echo "FAIL: $*" >&2
    if [[ -s $tmp/out ]]; then echo "--- stdout:" >&2; cat "$tmp/out" >&2; fi
    if [[ -s $tmp/err ]]; then echo "--- stderr:" >&2; cat "$tmp/err" >&2; fi
    exit 1
}
run() {
    local want=$1 rc=0
    shift
    "$jobsctl" "$@" > "$tmp/out" 2> "$tmp/err" || rc=$?
    [[ $rc -eq $want ]] || fail "jobsctl $* exited $rc, not $want"
}
out_has() { grep -qF -- "$1" "$tmp/out" || fail "stdout lacks '$1'"; }
err_has() { grep -qF -- "$1" "$tmp/err" || fail "stderr lacks '$1'"; }
# same A B CMD...: `jobsctl --store A CMD` and `jobsctl --store B CMD` print the same.
same() {
    local a=$1 b=$2
    shift 2
    run 0 --store "$a" "$@"
    cp "$tmp/out" "$tmp/out.a"
    run 0 --store "$b" "$@"
    cmp -s "$tmp/out.a" "$tmp/out" || { diff "$tmp/out.a" "$tmp/out" >&2; fail "$* differs"; }
}

src=$tmp/src
dst=$tmp/dst
# pg_store SCHEMA: the connection string of the store in SCHEMA of the test database.
pg_store() {
    if [[ $base == *://* ]]; then
        local sep='?'
        [[ $base == *\?* ]] && sep='&'
        echo "$base${sep}options=-csearch_path%3D$1"
    else
        echo "$base options='-csearch_path=$1'"
    fi
}
if [[ -n $base ]]; then
    schema=jobsctl_copy_$$_$RANDOM
    sql "CREATE SCHEMA $schema"
    mid=$(pg_store "$schema")
    backend=postgresql
else
    mid=$tmp/mid
    backend=lmdb
fi

# The source: stacks, schedules, jobs (one deleted, one queued for deletion) of two owners.
run 0 --store "$src" init
run 0 --store "$src" stacks create --owner 7 --name deploy
run 0 --store "$src" stacks create --owner 8 --name shared --public
run 0 --store "$src" schedules create --owner 7 --period 600 --name ten
run 0 --store "$src" schedules create --owner 8 --cron '0 9 * * 1-5' --tz Europe/Paris
run 0 --store "$src" jobs create --owner 7 --stack 1 --schedule 6 --name nightly --enabled
run 0 --store "$src" jobs create --owner 7 --stack 1 --schedule 1
run 0 --store "$src" jobs create --owner 8 --stack 2 --schedule 7 --name gone
run 0 --store "$src" jobs delete --owner 8 3
run 0 --store "$src" jobs create --owner 8 --stack 2 --schedule 4 --name queued --enabled
run 0 --store "$src" jobs delete --owner 8 4
out_has "queued"

# Usage errors and a missing source change nothing.
run 2 copy "$src"
err_has "TO, the store to copy into is missing"
run 2 copy "$src" "$src"
# One store written two ways, or through a symbolic link, is the same store too.
ln -s "$src" "$tmp/src-link"
for same_src in "$src/" "$tmp/./src" "$tmp/src-link"; do
    run 2 copy "$src" "$same_src"
    err_has "FROM and TO are the same store"
done
run 3 copy "$tmp/none" "$tmp/none2"
err_has "no store in '$tmp/none'"
[[ ! -e $tmp/none2 ]] || fail "a copy from a missing store made its target"

run 0 copy "$src" "$mid"
out_has "($backend); checked, and equal to the source: 3 jobs, 7 schedules, 2 stacks"
run 0 --store "$mid" check
out_has "is consistent: 3 jobs, 7 schedules, 2 stacks"
run 0 --json --store "$mid" stats
grep -qF '"jobs":3,"schedules":7,"stacks":2' "$tmp/out" || fail "stats of the copy"
# The map, file and bytes per job are LMDB's: a PostgreSQL store has none (null, no rows), not
# sizes of 0.
if [[ $backend == postgresql ]]; then
    grep -qF '"map_size":null,"map_used":null,"file_size":null,"bytes_per_job":null}' "$tmp/out" ||
        fail "stats --json of a PostgreSQL store gives LMDB's sizes"
    run 0 --store "$mid" stats
    out_has "backend    postgresql"
    if grep -qE "map size|map used|file size|bytes per job" "$tmp/out"; then
        fail "stats of a PostgreSQL store shows LMDB's sizes"
    fi
    run 0 --json --store "$mid" stats
fi
grep -qF "\"backend\":\"$backend\"," "$tmp/out" || fail "stats names no backend $backend"
for o in 7 8; do
    same "$src" "$mid" jobs list --owner "$o"
    same "$src" "$mid" schedules list --owner "$o"
    same "$src" "$mid" stacks list --owner "$o"
done
same "$src" "$mid" --json jobs get --owner 7 --name nightly
same "$src" "$mid" --json jobs get --owner 8 4
run 1 --store "$mid" jobs get --owner 8 3
# A second copy into the copy is refused, and leaves it as it was.
run 1 copy "$src" "$mid"
err_has "is not empty (copy: the target store is not empty: it holds"
run 0 --store "$mid" check
out_has "3 jobs, 7 schedules, 2 stacks"

# Back into LMDB: the third store lists as the first.
run 0 --json copy "$mid" "$dst"
grep -qF '"jobs":3,"schedules":7,"stacks":2,"runs":0,"records":0}' "$tmp/out" ||
    fail "copy back"
for o in 7 8; do same "$src" "$dst" jobs list --owner "$o"; done

# Ids go on from the source's in both copies: the next job is 5 everywhere (3 was deleted, not
# reused), the next stack 3, the next schedule 8.
for s in "$src" "$mid" "$dst"; do
    run 0 --store "$s" jobs create --owner 7 --stack 1 --schedule 2 --name later
    out_has "created job 5"
    run 1 --store "$s" jobs create --owner 7 --stack 1 --schedule 2 --name nightly
    run 0 --store "$s" stacks create --owner 7 --name more
    out_has "created stack 3"
    run 0 --store "$s" schedules create --owner 7 --period 60
    out_has "created schedule 8"
    run 0 --store "$s" jobs delete --owner 7 5
    run 0 --store "$s" check
done

# A copy that fails once it has made its target: a source with a damaged job record (job 99,
# whose bytes are no job), which the copy reads only after it opened TO. It removes what it made
# and nothing else, and says so; a TO that was there stays.
command -v mdb_load > /dev/null || fail "mdb_load (lmdb-utils) is missing: the failed copy cannot run"
bad=$tmp/bad-src
cp -r "$src" "$bad"
rm -f "$bad/lock.mdb"
printf '\\00\\00\\00\\00\\00\\00\\00\\63\nnot a job record\n' | mdb_load -T -s jobs "$bad" ||
    fail "mdb_load"
run 0 --store "$bad" jobs list --owner 7 # it opens and lists: only its job 99 is damaged
run 1 copy "$bad" "$tmp/new"
err_has "jobsctl: copy of '$bad' into '$tmp/new': store record is corrupt (copy: job 99 does not decode)"
err_has "jobsctl: copy: removed '$tmp/new', which this copy had made: nothing is left of it"
[[ ! -e $tmp/new ]] || fail "a failed copy left the store it made: $(ls -A "$tmp/new")"
run 0 copy "$src" "$tmp/new" # so a second try is not refused
# A directory that was there (with a file of its own): the store's files go, the rest stays.
mkdir "$tmp/there"
echo keep > "$tmp/there/notes"
run 1 copy "$bad" "$tmp/there"
err_has "jobsctl: copy: removed the store this copy had made in '$tmp/there'; the directory is left"
[[ $(ls -A "$tmp/there") == notes ]] || fail "a failed copy into a directory left: $(ls -A "$tmp/there")"
# A store that was there (empty, so the copy would go into it) stays, and still takes a copy.
run 0 --store "$tmp/there2" init
run 1 copy "$bad" "$tmp/there2"
if grep -q "removed" "$tmp/err"; then fail "a failed copy removed a store that was there"; fi
run 0 --store "$tmp/there2" check
out_has "is consistent: 0 jobs, 5 schedules, 0 stacks"
run 0 copy "$src" "$tmp/there2"
# A source whose built-in public schedule was changed (owner 0 may rename it) is copied into a
# new store, whose built-in schedule of that id takes the source's: it was refused (the target
# "not empty", holding schedule 4 "otherwise"), and no store could take it.
renamed=$tmp/renamed-src
run 0 --store "$renamed" init
run 0 --store "$renamed" schedules update --owner 0 4 --name "every hour"
run 0 copy "$renamed" "$tmp/new2"
out_has "checked, and equal to the source"
run 0 --json --store "$tmp/new2" schedules get --owner 1 4
out_has '"name":"every hour"'
if [[ -n $base ]]; then
    # On PostgreSQL the store the copy made stays (jobsctl cannot drop tables), and it says so:
    # empty, as nothing of the source was written, so that a copy into it again is accepted.
    sql "CREATE SCHEMA ${schema}_new"
    new=$(pg_store "${schema}_new")
    run 1 copy "$bad" "$new"
    err_has "store record is corrupt ("
    err_has "holds the new, empty store this copy made (jobsctl cannot remove a PostgreSQL store): nothing of the source was written, and a copy into it again is accepted"
    run 0 --store "$new" check
    out_has "is consistent: 0 jobs, 5 schedules, 0 stacks"
    run 0 copy "$src" "$new"
    out_has "(postgresql); checked, and equal to the source"
fi

if [[ -n $base ]]; then
    # backup and restore are LMDB's: refused on PostgreSQL (exit 1), nothing written.
    run 1 --store "$mid" backup "$tmp/pg-backup"
    err_has "not supported by this store's backend"
    [[ ! -e $tmp/pg-backup ]] || fail "a refused backup made its directory"
    run 1 --store "$mid" restore "$dst" --force
    err_has "not supported by this store's backend"
    run 0 --store "$mid" check
    # A PostgreSQL store of an earlier schema (version 4 written back into jobs_meta; the
    # migration from 4 remakes one index): a command that only reads, and copy from it, refuse it
    # (exit 3) and advise init, the one migration PostgreSQL has, not restore, which is LMDB's.
    sql "UPDATE $schema.jobs_meta SET value = 4 WHERE key = 'schema'"
    for c in check copy; do
        if [[ $c == copy ]]; then
            run 3 copy "$mid" "$tmp/from-old"
            [[ ! -e $tmp/from-old ]] || fail "a refused copy made its target"
        else
            run 3 --store "$mid" check
        fi
        err_has "the store has schema version 4: open it read-write once to migrate it"
        err_has "' was left as it is: a command that only reads never migrates a store."
        err_has "'jobsctl init' with this --store migrates a PostgreSQL store of an earlier"
        err_has "pg_dump"
        if grep -qE "restore|--store NEW" "$tmp/err"; then
            fail "jobsctl $c advises an LMDB restore for a PostgreSQL store"
        fi
    done
    # What it advises works: init migrates it (and says so), then it reads as before.
    run 0 --store "$mid" --json init
    [[ $(cat "$tmp/out") == *'"created":false,"migrated":true}' ]] ||
        fail "init of a PostgreSQL store of schema 4: '$(cat "$tmp/out")'"
    run 0 --store "$mid" check
    out_has "is consistent: 3 jobs, 8 schedules, 3 stacks"
    # --store with an unreachable database: the store cannot be opened (exit 3), quickly.
    run 3 --store "postgresql:///postgres?host=$tmp/nosocket&connect_timeout=2" check
    err_has "unreachable"
fi
echo "jobsctl copy ($backend in the middle): ok"
