#!/usr/bin/env bash
# test-pg-restart.sh SOURCE_DIR JOBS_SERVER
#
# jobs-server on PostgreSQL across a database outage, with a private throwaway cluster (the
# outage would disturb the shared one): a job created before the outage; while PostgreSQL is
# stopped (pg_ctl stop -m immediate) the store's routes answer 503 with fault 128, promptly
# (no hang) and the server stays up; once PostgreSQL is started again the same server (no
# restart) answers 200 and the job is there; after a restart while the server was idle, the
# first request is answered (its dead pooled connections are replaced).
set -euo pipefail
src=${1:?usage: test-pg-restart.sh SOURCE_DIR JOBS_SERVER}
server=${2:?usage: test-pg-restart.sh SOURCE_DIR JOBS_SERVER}
tag=pgr
# shellcheck source=pg-private.sh
source "$(dirname "$0")/pg-private.sh"

r=$(req POST /authenticate '{"username":"ann","password":"ann-pw"}')
[[ $r == 200* ]] || fail "login: $r"
r=$(req POST /blockstacks '{"name":"s"}')
[[ $r == 201* ]] || fail "stack: $r"
r=$(req POST /jobs '{"name":"before","stack_id":1,"schedule_id":4}')
[[ $r == 201* ]] || fail "create: $r"

bash "$cluster" pause "$pgdir"
start=$(date +%s)
r=$(req GET '/jobs?page=1')
[[ $r == 503* ]] || fail "list while the database is down: $r"
[[ $r == *'128'* ]] || fail "list while the database is down names no fault 128: $r"
r=$(req POST /jobs '{"name":"during","stack_id":1,"schedule_id":4}')
[[ $r == 503* ]] || fail "create while the database is down: $r"
(( $(date +%s) - start < 30 )) || fail "the 503s took $(( $(date +%s) - start )) s"
kill -0 "$pid" || fail "the server died while the database was down"

bash "$cluster" resume "$pgdir"
r=$(req GET '/jobs?page=1')
[[ $r == 200* ]] || fail "list after the database is back: $r"
[[ $r == *'"before"'* ]] || fail "the job made before the outage is missing: $r"
[[ $r != *'"during"'* ]] || fail "the create refused during the outage is there: $r"
r=$(req POST /jobs '{"name":"after","stack_id":1,"schedule_id":4}')
[[ $r == 201* ]] || fail "create after the database is back: $r"

# A restart while the server is idle: its pooled connections are dead without its knowing; the
# first request after takes a new one and is answered (no 503 for a database that is up).
bash "$cluster" pause "$pgdir"
bash "$cluster" resume "$pgdir"
r=$(req GET '/jobs?page=1')
[[ $r == 200* ]] || fail "the first request after an idle restart: $r"
echo "OK: 503 (fault 128) while PostgreSQL was down, served again after, no write lost"
