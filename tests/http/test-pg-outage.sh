#!/usr/bin/env bash
# test-pg-outage.sh SOURCE_DIR JOBS_SERVER
#
# Logins and sessions of jobs-server on PostgreSQL while the database is down (a private
# throwaway cluster, stopped with pg_ctl stop -m immediate and started again; the outage would
# disturb the shared one). No password can be checked then, so:
# - a login (POST /authenticate, and inline authentication) answers 503 with fault 128, never
#   401 "wrong password", and is not counted by the login throttle: after more attempts than
#   --login-account-fails allows, the right password logs in at once when the database is back;
# - POST /logout answers 503 with fault 128, never 401 (which a client takes for "already logged
#   out"), and the session is still alive when the database is back, then ends with a logout;
# - fault 128's message is the fixed "the database is unreachable", on every route (handler.c's
#   and the webhooks' of hook.c), anonymous or not: libpq's detail names the database's socket
#   path (or host and port) and goes to the server's stderr only;
# - a login whose session cannot be written (the database fails after the password check) is
#   503 with fault 128 too, not 500.
set -euo pipefail
src=${1:?usage: test-pg-outage.sh SOURCE_DIR JOBS_SERVER}
server=${2:?usage: test-pg-outage.sh SOURCE_DIR JOBS_SERVER}
# The default login limits: 5 failed attempts lock the account, 20 the address.
tag=pgo
# shellcheck source=pg-private.sh
source "$(dirname "$0")/pg-private.sh"

login='{"username":"ann","password":"ann-pw"}'

r=$(req_as a POST /authenticate "$login")
[[ $r == 200* ]] || fail "login: $r"
tok=$(awk '$6 == "auth_tkt" { print $7 }' "$dir/a")
[[ -n $tok ]] || fail "no session cookie"

r=$(req_as a POST /blockstacks '{"name":"s","webhook":"token","webhook_method":"GET"}')
[[ $r == 201* ]] || fail "stack: $r"

bash "$cluster" pause "$pgdir"

# Logins while the database is down: 503 fault 128, more of them than the account's limit (5),
# with the right password, a wrong one and an unknown name.
for i in 1 2 3 4 5 6 7; do
    r=$(req_as x POST /authenticate "$login")
    [[ $r == '503 {"code":128,'* ]] || fail "login $i while the database is down: $r"
done
r=$(req_as x POST /authenticate '{"username":"ann","password":"wrong"}')
[[ $r == '503 {"code":128,'* ]] || fail "a wrong password while the database is down: $r"
r=$(req_as x POST /authenticate '{"email":"nobody@example.org","password":"x"}')
[[ $r == '503 {"code":128,'* ]] || fail "an unknown email while the database is down: $r"
r=$(req_as x GET /jobs '{"auth":{"username":"ann","password":"ann-pw"}}')
[[ $r == '503 {"code":128,'* ]] || fail "inline authentication while the database is down: $r"
r=$(req_as a POST /logout)
[[ $r == '503 {"code":128,'* ]] || fail "logout while the database is down: $r"
# The fault's message, on routes of handler.c and hook.c, with and without a session.
want='503 {"code":128,"msg":"the database is unreachable"}'
for route in /schedules /blockstacks/byid/1 '/blockstacks/hook/1?token=x'; do
    r=$(req_as x GET "$route")
    [[ $r == "$want" ]] || fail "anonymous GET $route while the database is down: $r"
done
r=$(req_as a GET '/jobs?page=1')
[[ $r == "$want" ]] || fail "GET /jobs with a session while the database is down: $r"
r=$(req_as x POST /authenticate "$login")
[[ $r == "$want" ]] || fail "a login while the database is down: $r"
grep -qF "$pgdir/.s.PGSQL" "$dir/err" || fail "the server's stderr lacks the database's detail"
kill -0 "$pid" || fail "the server died while the database was down"

bash "$cluster" resume "$pgdir"

# None of them was counted: the right password logs in (not 429), at once.
r=$(req_as b POST /authenticate "$login")
[[ $r == 200* ]] || fail "the right password after the outage: $r"
# The session the refused logout named is alive, and a logout now ends it.
r=$(req_as a GET '/jobs?page=1')
[[ $r == 200* ]] || fail "the session after the refused logout: $r"
r=$(req_as a POST /logout)
[[ $r == 200* ]] || fail "logout after the outage: $r"
r=$(curl -s -m 30 -H "Authorization: Bearer $tok" -w ' %{http_code}' "$base/jobs?page=1")
[[ $r == *' 401' ]] || fail "the session after its logout: $r"
# The database fails after the password was checked, as the session is written (a trigger
# raising a connection failure's SQLSTATE on the sessions' rows stands for the database going away
# in between): the login answers 503, fault 128, as every store failure (it answered 500 "out of
# memory"), and the server writes no session.
sql() {
    psql -X -q -v ON_ERROR_STOP=1 "$uri" -c "SET client_min_messages = warning; $1" >/dev/null
}
sql "CREATE FUNCTION jobs_test_gone() RETURNS trigger LANGUAGE plpgsql AS
     \$\$BEGIN RAISE EXCEPTION 'gone' USING ERRCODE = '08006'; END\$\$;
     CREATE TRIGGER jobs_test_gone BEFORE INSERT OR UPDATE ON jobs_kv FOR EACH ROW
     WHEN (NEW.ns = convert_to('sessions', 'UTF8')) EXECUTE FUNCTION jobs_test_gone();"
rm -f "$dir/c"
r=$(req_as c POST /authenticate "$login")
[[ $r == "$want" ]] || fail "a login whose session cannot be written: $r"
! grep -q auth_tkt "$dir/c" || fail "a session cookie for a login whose session was not written"
sql "DROP TRIGGER jobs_test_gone ON jobs_kv; DROP FUNCTION jobs_test_gone();"
r=$(req_as c POST /authenticate "$login")
[[ $r == 200* ]] || fail "a login once sessions can be written again: $r"
echo "OK: logins answer 503 (fault 128) while PostgreSQL is down and are not counted; a session"
echo "    that cannot be written is 503 (fault 128) too"
