#!/usr/bin/env bash
# test-jobsctl.sh JOBSCTL WRITER
#
# Runs every jobsctl command against temporary stores and checks its output (tables and --json),
# its exit status (0 done, 1 failed, 2 usage, 3 no store) and its messages; then backups taken
# while other processes and threads write (each must open, pass its check, and hold a job count
# between the counts before and after), and a backup -> restore round trip.
# WRITER is jobsctl-test-writer (tests/jobsctl/test-writer.c). Needs python3 (to read JSON) and,
# for the corrupt-store case, mdb_load (lmdb-utils): without it the test fails.
set -euo pipefail

jobsctl=$(realpath "${1:?usage: test-jobsctl.sh JOBSCTL WRITER}")
writer=$(realpath "${2:?usage: test-jobsctl.sh JOBSCTL WRITER}")
tmp=$(mktemp -d "${TMPDIR:-/tmp}/jobsctl-test.XXXXXX")
writer_pid=
cleanup() {
    if [[ -n $writer_pid ]]; then kill "$writer_pid" 2>/dev/null || true; fi
    rm -rf "$tmp"
}
trap cleanup EXIT

fail() {
    echo "FAIL: $*" >&2
    if [[ -s $tmp/out ]]; then echo "--- stdout:" >&2; cat "$tmp/out" >&2; fi
    if [[ -s $tmp/err ]]; then echo "--- stderr:" >&2; cat "$tmp/err" >&2; fi
    exit 1
}

store=$tmp/store
S=(--store "$store")

# run STATUS ARGS...: runs jobsctl ARGS with stdout in $tmp/out, stderr in $tmp/err; the exit
# status must be STATUS.
run() {
    local want=$1 rc=0
    shift
    "$jobsctl" "$@" > "$tmp/out" 2> "$tmp/err" || rc=$?
    [[ $rc -eq $want ]] || fail "jobsctl $* exited $rc, not $want"
}

out() { cat "$tmp/out"; }
err() { cat "$tmp/err"; }

# out_has TEXT / err_has TEXT: the output contains TEXT (a fixed string).
out_has() { grep -qF -- "$1" "$tmp/out" || fail "stdout lacks '$1'"; }
err_has() { grep -qF -- "$1" "$tmp/err" || fail "stderr lacks '$1'"; }

# json EXPR: evaluates the Python expression EXPR with `j` the JSON of stdout; prints the result
# (JSON-encoded, so strings come quoted).
json() {
    python3 -c 'import json, sys
j = json.load(open(sys.argv[1]))
print(json.dumps(eval(sys.argv[2])))' "$tmp/out" "$1" || fail "stdout is not the JSON expected: $1"
}

# json_is EXPR VALUE: json EXPR prints VALUE.
json_is() {
    local got
    got=$(json "$1")
    [[ $got == "$2" ]] || fail "$1 is $got, not $2"
}

echo "== version and help"
run 0 --version
[[ $(out) == "jobsctl "* ]] || fail "--version prints '$(out)'"
# The man page, installed as it is, names the libjobs it describes: this one (it said 0.1.0
# while jobsctl was 0.4.0).
version=$(out | sed -n 's/^jobsctl \([^ ]*\) (libjobs .*)$/\1/p')
man_page=$(dirname "$(realpath "${BASH_SOURCE[0]}")")/../../docs/man/jobsctl.1
grep -qF ".TH JOBSCTL 1 \"" "$man_page" || fail "no .TH line in $man_page"
grep -q "^\.TH JOBSCTL 1 \"[0-9-]*\" \"libjobs ${version//./\\.}\"" "$man_page" ||
    fail "jobsctl.1 is not of libjobs '$version': $(grep '^\.TH' "$man_page")"
run 0 --help
out_has "usage: jobsctl [--store DIR|URI] [--json] COMMAND [ARGS]"
out_has "Exit status: 0 done, 1 the operation failed, 2 usage error, 3 the store cannot be"
# The command list keeps a group's commands together, jobs import with the other jobs commands
# (it came after restore), and the commands of no group last: each group comes once, in order.
order=$(sed -n 's/^  \([a-z][a-z]*\)\( [a-z]*\)\{0,1\}  .*/\1\2/p' "$tmp/out" |
    awk '{print NF == 2 ? $1 : "-"}' | uniq | tr '\n' ' ')
[[ $order == "jobs schedules stacks - " ]] || fail "--help lists the commands in the order: $order"
out_has "  jobs import        create jobs from a JSON-lines file"
out_has "  copy               copy a whole store into a new one"
# --store takes a directory or a PostgreSQL connection string, and the help says so: no usage
# line or option text offers a directory alone.
out_has "  --store DIR|URI  the store: a directory, LMDB's (default ./var/store,"
out_has "or a PostgreSQL"
out_has "connection string: a URI (postgresql://...) or a libpq"
# no_dir_only: what $1 printed offers no "--store DIR" without the URI: in a usage line, an
# option list, the "Also:" line, or an error.
no_dir_only() {
    if grep -E -- "\[--store DIR\]|--store DIR,|^ +--store DIR |give --store DIR[^|]" \
        "$tmp/out" "$tmp/err"; then
        fail "$1 offers --store DIR only"
    fi
}
no_dir_only "jobsctl --help"
commands=("jobs list" "jobs get" "jobs create" "jobs update" "jobs delete"
    "schedules list" "schedules get" "schedules create" "schedules update" "schedules delete"
    "stacks list" "stacks get" "stacks create" init check stats backup restore)
for c in "${commands[@]}"; do
    # shellcheck disable=SC2086 # two words
    run 0 $c --help
    out_has "usage: jobsctl [--store DIR|URI] [--json] $c"
    out_has "Also: --store DIR|URI (a store directory or a PostgreSQL connection string), --json,"
    no_dir_only "jobsctl $c --help"
    # shellcheck disable=SC2086
    run 0 help $c
    out_has "usage: jobsctl [--store DIR|URI] [--json] $c"
    out_has "$c" # listed in the top-level help too
done
for g in jobs schedules stacks; do
    run 0 $g --help
    out_has "usage: jobsctl [--store DIR|URI] [--json] $g COMMAND [ARGS]"
    out_has "$g list"
    no_dir_only "jobsctl $g --help"
done
for c in "jobs import" copy; do
    # shellcheck disable=SC2086 # words
    run 0 $c --help
    no_dir_only "jobsctl $c --help"
done
# The usage errors about --store say what it takes.
run 2 --store
err_has "jobsctl: --store needs a value: a store directory or a PostgreSQL connection string"
no_dir_only "jobsctl --store"
run 2 jobs list --owner 1 --store
err_has "jobsctl: jobs list: --store needs a value: a store directory or a PostgreSQL connection"
no_dir_only "jobsctl jobs list --store"

# Output that cannot be written (a full disk) is a failure, the help and the version too.
for args in --help --version "jobs list --help" "help stacks" "jobs --help"; do
    rc=0
    # shellcheck disable=SC2086 # words
    "$jobsctl" $args > /dev/full 2> "$tmp/err" || rc=$?
    [[ $rc -eq 1 ]] || fail "jobsctl $args > /dev/full exited $rc, not 1"
    err_has "jobsctl: writing the output: No space left on device"
done

# jobs-server keeps its users and sessions in the store: a backup has them (no users file).
run 0 backup --help
out_has "jobs-server's users and sessions are in the store, so the backup has them too."
if grep -q "users file" "$tmp/out"; then fail "backup --help speaks of a users file"; fi

echo "== usage errors (exit 2)"
run 2
err_has "jobsctl: no command given"
run 2 frob
err_has "unknown command 'frob'"
run 2 jobs
err_has "jobs: a command is needed"
run 2 jobs frob
run 2 --bogus jobs list --owner 1
run 2 "${S[@]}" jobs list
err_has "jobsctl: jobs list: --owner is required"
err_has "Try 'jobsctl jobs list --help'."
run 2 "${S[@]}" jobs list --owner 1 --bogus
err_has "unknown option '--bogus'"
for bad in 0 -1 +1 " 1" 1x 0x10 1.5 9007199254740992 18446744073709551616 ""; do
    run 2 "${S[@]}" jobs list --owner "$bad"
    err_has "--owner must be an integer in 1..2^53-1"
done
run 2 "${S[@]}" jobs list --owner 1 --owner 2
err_has "--owner is given twice"
run 2 "${S[@]}" jobs list --owner 1 --page 0
run 2 "${S[@]}" jobs list --owner 1 --page-size 1001
run 2 "${S[@]}" jobs list --owner
err_has "--owner needs a value"
run 2 "${S[@]}" jobs list --owner 1 extra
err_has "unexpected argument 'extra'"
run 2 "${S[@]}" jobs get --owner 1
err_has "the job id is missing"
run 2 "${S[@]}" jobs get --owner 1 7 --name x
run 2 "${S[@]}" jobs create --owner 1 --stack 1
err_has "--schedule is required"
run 2 "${S[@]}" jobs create --owner 1 --stack 1 --schedule 1 --enabled=yes
err_has "--enabled takes no value"
run 2 "${S[@]}" jobs update --owner 1 1
err_has "nothing to change"
run 2 "${S[@]}" jobs update --owner 1 1 --enabled --disabled
run 2 "${S[@]}" jobs update --owner 1 1 --name x --no-name
run 2 "${S[@]}" schedules create --owner 1
run 2 "${S[@]}" schedules create --owner 1 --period 60 --at 100
run 2 "${S[@]}" schedules create --owner 1 --period 59
err_has "--period must be an integer in 60..31536000"
run 2 "${S[@]}" schedules create --owner 1 --cron '0 9 * * *' --period 60
err_has "give one of --period, --at and --cron"
run 2 "${S[@]}" schedules create --owner 1 --tz Europe/Berlin
err_has "--tz goes with --cron"
run 2 "${S[@]}" stacks create --owner 1
err_has "--name is required"
run 2 "${S[@]}" check extra
run 2 "${S[@]}" backup
err_has "DEST"
run 2 "${S[@]}" restore
# A usage error is told before a missing store.
[[ ! -e $store ]] || fail "a usage error created the store"

echo "== no store (exit 3)"
run 3 "${S[@]}" jobs list --owner 1
err_has "jobsctl: no store in '$store'; give --store DIR|URI, or create one with 'jobsctl --store"
[[ ! -e $store ]] || fail "jobs list created a store"
for c in check stats; do
    run 3 "${S[@]}" $c
done
run 3 "${S[@]}" backup "$tmp/never"
[[ ! -e $tmp/never ]] || fail "a backup of no store made its directory"
(cd "$tmp" && run 3 jobs list --owner 1) # the default ./var/store
err_has "no store in './var/store'"
mkdir "$tmp/bad" && echo "not an LMDB file" > "$tmp/bad/data.mdb"
run 3 --store "$tmp/bad" check
err_has "jobsctl: opening the store '$tmp/bad': "
touch "$tmp/plainfile"
run 3 --store "$tmp/plainfile" check
# A file is no store directory, and jobsctl says so (it said "no store in ...; create one with
# 'jobsctl --store DIR|URI init'", which then refused it), for the commands that read, write,
# back up, init and copy alike. (A file with something in it: the library's read-only open
# takes an empty one for an empty data.mdb, JOBS_ENOTFOUND.)
echo "not a store" > "$tmp/somefile"
f=$tmp/somefile
not_dir="opening the store '$f': invalid argument (the store path '$f' is not a directory)"
for c in check "jobs list --owner 1" "stacks create --owner 1 --name x" "backup $tmp/never" init; do
    run 3 --store "$tmp/somefile" $c
    err_has "$not_dir"
    if grep -q "no store in" "$tmp/err"; then fail "jobsctl $c: a file is 'no store'"; fi
done
[[ ! -e $tmp/never && $(cat "$tmp/somefile") == "not a store" ]] || fail "--store FILE changed"
run 3 copy "$tmp/somefile" "$tmp/never"
err_has "$not_dir"
[[ ! -e $tmp/never ]] || fail "a copy from a file made its target"

echo "== init"
run 0 "${S[@]}" init
out_has "created a store in $store"
run 0 "${S[@]}" --json init
json_is 'j["created"]' false
json_is 'j["migrated"]' false
json_is 'j["store"]' "\"$store\""
run 0 "${S[@]}" init
[[ $(out) == "$store already holds a store; nothing changed" ]] || fail "init again: '$(out)'"
[[ $(stat -c %a "$store") == 700 ]] || fail "the store directory is not mode 0700"

echo "== stacks"
run 0 "${S[@]}" stacks create --owner 1 --name backup
[[ $(out) == "created stack 1" ]] || fail "stacks create printed '$(out)'"
run 0 "${S[@]}" --json stacks create --owner 2 --name "shared tools" --public
[[ $(out) == '{"id":2}' ]] || fail "stacks create --json printed '$(out)'"
run 0 "${S[@]}" stacks create --owner 2 --name private
run 0 "${S[@]}" stacks list --owner 1
[[ $(sed -n 1p "$tmp/out") == "ID  NAME          OWNER  PUBLIC" ]] || fail "stacks list header"
out_has " 1  backup            1  no"
out_has " 2  shared tools      2  yes"
grep -q private "$tmp/out" && fail "owner 1 sees owner 2's private stack"
out_has "page 1 of 1 (2 stacks visible to owner 1)"
# One record is singular (not "1 stacks"), and so is its verb.
run 0 "${S[@]}" stacks list --owner 3
out_has "page 1 of 1 (1 stack visible to owner 3)"
run 0 "${S[@]}" stacks list --owner 3 --page 2
out_has "page 2 is past the end: 1 stack visible to owner 3 fills 1 page of 10"
run 0 "${S[@]}" stacks list --owner 1 --json
[[ $(out) == '{"count":2,"pagesize":10,"page":1,"stacks":[{"id":1,"owner":1,"name":"backup","public":false},{"id":2,"owner":2,"name":"shared tools","public":true}]}' ]] ||
    fail "stacks list --json"
run 0 "${S[@]}" stacks get --owner 3 2 --json
[[ $(out) == '{"id":2,"owner":2,"name":"shared tools","public":true}' ]] || fail "stacks get --json"
run 1 "${S[@]}" stacks get --owner 1 3
[[ $(err) == "jobsctl: stacks get 3: no such object (stack 3 not found)" ]] ||
    fail "stacks get of another owner's private stack: '$(err)'"
run 1 "${S[@]}" stacks create --owner 1 --name ""
err_has "jobsctl: stacks create: invalid name"

echo "== control characters in tables"
# The name rules allow C1 controls (U+0080..U+009F), which a terminal may obey (U+009B starts an
# escape sequence: "\u009b2J" clears the screen). Tables show them as \u00XX, aligned as the
# text they print; --json gives the name exactly.
c1=$tmp/c1
run 0 --store "$c1" init
name=$(printf 'x\xc2\x9b2Jy\xc2\x85z')
run 0 --store "$c1" stacks create --owner 1 --name "$name"
run 0 --store "$c1" schedules create --owner 1 --period 60 --name "$name"
run 0 --store "$c1" jobs create --owner 1 --stack 1 --schedule 6 --name "$name"
# no_controls: stdout holds no control character but its newlines.
no_controls() {
    python3 -c 'import sys
t = open(sys.argv[1], "rb").read().decode()
sys.exit(any(c != "\n" and (ord(c) < 0x20 or 0x7f <= ord(c) <= 0x9f) for c in t))' "$tmp/out" ||
        fail "$1 printed a control character"
}
for c in "stacks list" "stacks get" "schedules list" "schedules get" "jobs list" "jobs get"; do
    id=
    [[ $c == *get ]] && id=$([[ $c == schedules* ]] && echo 6 || echo 1)
    # shellcheck disable=SC2086 # two words, and an id or none
    run 0 --store "$c1" $c --owner 1 $id
    no_controls "$c"
    out_has 'x\u009b2Jy\u0085z'
done
run 0 --store "$c1" stacks list --owner 1
[[ $(sed -n 1p "$tmp/out") == "ID  NAME               OWNER  PUBLIC" ]] || fail "stacks list header"
out_has ' 1  x\u009b2Jy\u0085z      1  no'
run 0 --store "$c1" --json stacks get --owner 1 1
json_is 'j["name"]' '"x\u009b2Jy\u0085z"'

echo "== bidirectional controls and invisible characters in tables"
# U+202E (right-to-left override) shows "evil<U+202E>gnp.exe" as "evilexe.png" on a terminal and
# reorders the columns after it ("trojan source"); U+2066 (an isolate), U+061C and U+200F (marks)
# reorder too; U+200B (zero width space), U+FEFF and the tag U+E0041 show as nothing, and U+2028
# may break the line. Tables show them as control characters are shown, \uXXXX (\UXXXXXXXX
# above U+FFFF), aligned as the text they print; other UTF-8 (é, 日本, an emoji) as it is; --json
# gives the name exactly.
bidi=$tmp/bidi
run 0 --store "$bidi" init
rlo=$(printf 'evil\xe2\x80\xaegnp.exe')
hidden=$(printf 'a\xe2\x81\xa6b\xe2\x80\x8bc\xef\xbb\xbfd\xf3\xa0\x81\x81e\xe2\x80\xa8f\xd8\x9cg\xe2\x80\x8fh')
shown='a\u2066b\u200bc\ufeffd\U000e0041e\u2028f\u061cg\u200fh'
plain=$(printf 'caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80')
run 0 --store "$bidi" stacks create --owner 1 --name "$rlo"
run 0 --store "$bidi" stacks create --owner 1 --name "$hidden"
run 0 --store "$bidi" stacks create --owner 1 --name "$plain"
run 0 --store "$bidi" schedules create --owner 1 --period 60 --name "$rlo"
run 0 --store "$bidi" jobs create --owner 1 --stack 1 --schedule 6 --name "$rlo"
run 0 --store "$bidi" jobs create --owner 1 --stack 2 --schedule 6 --name "$hidden"
# no_invisible: stdout holds no control character but its newlines, and no format character
# (Unicode category Cf) or line or paragraph separator.
no_invisible() {
    python3 -c 'import sys, unicodedata
t = open(sys.argv[1], "rb").read().decode()
bad = [c for c in t if c != "\n" and (ord(c) < 0x20 or 0x7f <= ord(c) <= 0x9f or
       unicodedata.category(c) in ("Cf", "Zl", "Zp"))]
sys.exit(bool(bad))' "$tmp/out" || fail "$1 printed a bidirectional control or an invisible character"
}
for c in "stacks list" "stacks get" "schedules list" "schedules get" "jobs list" "jobs get"; do
    id=
    [[ $c == *get ]] && id=$([[ $c == schedules* ]] && echo 6 || echo 1)
    # shellcheck disable=SC2086 # two words, and an id or none
    run 0 --store "$bidi" $c --owner 1 $id
    no_invisible "$c"
    out_has 'evil\u202egnp.exe'
done
# Aligned: the escaped name, all ASCII, sets the NAME column's width.
run 0 --store "$bidi" jobs list --owner 1
w=${#shown}
[[ $(sed -n 1p "$tmp/out") == "$(printf 'ID  %-*s  STACK  SCHEDULE  STATE     NEXT RUN' "$w" NAME)" ]] ||
    fail "jobs list header"
[[ $(sed -n 3p "$tmp/out") == "$(printf ' 1  %-*s      1         6  disabled  -' "$w" 'evil\u202egnp.exe')" ]] ||
    fail "jobs list, job 1"
[[ $(sed -n 4p "$tmp/out") == " 2  $shown      2         6  disabled  -" ]] || fail "jobs list, job 2"
run 0 --store "$bidi" stacks get --owner 1 2
out_has " 2  $shown      1  no"
run 0 --store "$bidi" stacks get --owner 1 3
out_has " 3  $plain      1  no"
run 0 --store "$bidi" --json stacks get --owner 1 1
json_is 'j["name"]' '"evil\u202egnp.exe"'
run 0 --store "$bidi" --json jobs get --owner 1 2
[[ $(json 'j["name"]') == "$(python3 -c 'import json, sys; print(json.dumps(sys.argv[1]))' "$hidden")" ]] ||
    fail "jobs get --json changed the name"

echo "== wide characters and combining marks in tables"
# A terminal gives East Asian wide characters (and most emoji) two columns and a combining mark
# none: "caf\u00e9 \u65e5\u672c \U0001f600" takes 12 columns in 9 code points, "e\u0301t\u00e9"
# takes 3 in 4. Tables pad by columns, so the column after the name lines up.
wide=$tmp/wide
run 0 --store "$wide" init
run 0 --store "$wide" stacks create --owner 1 --name "$plain"
run 0 --store "$wide" stacks create --owner 1 --name "plain ascii name"
run 0 --store "$wide" stacks create --owner 1 --name "$(printf 'e\xcc\x81t\xc3\xa9')"
run 0 --store "$wide" stacks list --owner 1
[[ $(sed -n 1p "$tmp/out") == "ID  NAME              OWNER  PUBLIC" ]] || fail "wide: header"
[[ $(sed -n 3p "$tmp/out") == " 1  $plain          1  no" ]] || fail "wide: stack 1 misaligned"
[[ $(sed -n 4p "$tmp/out") == " 2  plain ascii name      1  no" ]] || fail "wide: stack 2"
[[ $(sed -n 5p "$tmp/out") == " 3  $(printf 'e\xcc\x81t\xc3\xa9')                   1  no" ]] ||
    fail "wide: stack 3 misaligned"

echo "== schedules"
run 0 "${S[@]}" schedules list --owner 0
out_has " 4  hourly            public  every 1h"
out_has "page 1 of 1 (5 schedules visible to owner 0)"
run 0 "${S[@]}" schedules create --owner 1 --period 5400 --name ninety
[[ $(out) == "created schedule 6" ]] || fail "schedules create printed '$(out)'"
run 0 "${S[@]}" --json schedules create --owner 1 --at 1900000000
[[ $(out) == '{"id":7}' ]] || fail "schedules create --at --json printed '$(out)'"
run 0 "${S[@]}" schedules get --owner 1 7
out_has " 7  -         1  once at 2030-03-17T17:46:40Z"
run 0 "${S[@]}" schedules get --owner 1 6 --json
[[ $(out) == '{"id":6,"owner":1,"name":"ninety","once":false,"config":{"period":5400}}' ]] ||
    fail "schedules get --json printed '$(out)'"
run 1 "${S[@]}" schedules get --owner 2 6
err_has "no such object"
run 0 "${S[@]}" --json schedules list --owner 1 --page 2 --page-size 3
json_is '[j["count"], j["page"], j["pagesize"], [s["id"] for s in j["schedules"]]]' '[7, 2, 3, [4, 5, 6]]'
run 0 "${S[@]}" schedules update --owner 1 7 --period 120 --no-name
out_has " 7  -         1  every 2m"
run 0 "${S[@]}" --json schedules update --owner 1 7 --at 1900000060 --name later
[[ $(out) == '{"id":7,"owner":1,"name":"later","once":true,"config":{"timestamp":1900000060}}' ]] ||
    fail "schedules update --json printed '$(out)'"
run 1 "${S[@]}" schedules update --owner 1 4 --period 120
err_has "jobsctl: schedules update 4: public schedules cannot be changed (schedule 4 is public"

echo "== jobs"
run 0 "${S[@]}" jobs create --owner 1 --stack 1 --schedule 4 --name nightly --enabled
[[ $(out) == "created job 1" ]] || fail "jobs create printed '$(out)'"
run 0 "${S[@]}" --json jobs create --owner 1 --stack 2 --schedule 7
[[ $(out) == '{"id":2}' ]] || fail "jobs create --json printed '$(out)'"
run 0 "${S[@]}" jobs create --owner 1 --stack 1 --schedule 6 --name "héllo wörld"
run 1 "${S[@]}" jobs create --owner 1 --stack 1 --schedule 1 --name nightly
[[ $(err) == "jobsctl: jobs create: name already used by another job of this owner (name 'nightly' is already used by job 1)" ]] ||
    fail "duplicate name: '$(err)'"
run 1 "${S[@]}" jobs create --owner 1 --stack 3 --schedule 1
err_has "no such stack, or not visible to this owner"
run 1 "${S[@]}" jobs create --owner 2 --stack 2 --schedule 6
err_has "no such schedule, or not visible to this owner"
run 1 "${S[@]}" schedules update --owner 1 6 --period 60
err_has "schedule is referenced by jobs and cannot be changed"
run 1 "${S[@]}" schedules delete --owner 1 6
err_has "jobsctl: schedules delete 6: schedule is referenced by jobs and cannot be changed"
run 0 "${S[@]}" schedules get --owner 1 6
run 0 "${S[@]}" schedules create --owner 1 --period 600 --name gone
[[ $(out) == "created schedule 8" ]] || fail "schedules create printed '$(out)'"
run 1 "${S[@]}" schedules delete --owner 2 8
err_has "jobsctl: schedules delete 8: no such object"
run 0 "${S[@]}" schedules delete --owner 1 8
[[ $(out) == "deleted schedule 8" ]] || fail "schedules delete printed '$(out)'"
run 1 "${S[@]}" schedules get --owner 1 8
err_has "no such object"
run 0 "${S[@]}" --json schedules create --owner 1 --period 600 --name gone
[[ $(out) == '{"id":9}' ]] || fail "schedules create after a delete printed '$(out)'"
run 0 "${S[@]}" --json schedules delete --owner 1 9
[[ $(out) == '{"deleted":9}' ]] || fail "schedules delete --json printed '$(out)'"
run 1 "${S[@]}" schedules delete --owner 1 4
err_has "jobsctl: schedules delete 4: public schedules cannot be changed"
run 1 "${S[@]}" schedules delete --owner 0 4
err_has "schedule 4 is built in and cannot be deleted"
run 2 "${S[@]}" schedules delete --owner 1
err_has "the schedule id is missing"

run 0 "${S[@]}" jobs list --owner 1
[[ $(sed -n 1p "$tmp/out") == "ID  NAME         STACK  SCHEDULE  STATE     NEXT RUN" ]] ||
    fail "jobs list header: '$(sed -n 1p "$tmp/out")'"
[[ $(sed -n 2p "$tmp/out") == "--  -----------  -----  --------  --------  --------------------" ]] ||
    fail "jobs list rule: '$(sed -n 2p "$tmp/out")'"
grep -qE '^ 1  nightly          1         4  enabled   [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$' \
    "$tmp/out" || fail "jobs list row 1"
out_has " 2  -                2         7  disabled  -"
out_has " 3  héllo wörld      1         6  disabled  -"
out_has "page 1 of 1 (3 jobs of owner 1)"
run 0 "${S[@]}" jobs list --owner 1 --json
json_is '[j["count"], j["pagesize"], j["page"], [x["name"] for x in j["jobs"]]]' \
    '[3, 10, 1, ["nightly", null, "h\u00e9llo w\u00f6rld"]]'
json_is '[j["jobs"][0]["do_run"], type(j["jobs"][0]["next_run"]).__name__, j["jobs"][1]["next_run"]]' \
    '[true, "int", null]'
run 0 "${S[@]}" jobs list --owner 1 --page 2 --page-size 2
out_has " 3  héllo wörld"
out_has "page 2 of 2 (3 jobs of owner 1)"
run 0 "${S[@]}" jobs list --owner 1 --page 9007199254740991
out_has "page 9007199254740991 is past the end: 3 jobs of owner 1 fill 1 page of 10"
run 0 "${S[@]}" --json jobs list --owner 1 --page 3
json_is '[j["count"], j["jobs"]]' '[3, []]'
run 0 "${S[@]}" jobs list --owner 5
[[ $(out) == "no jobs of owner 5" ]] || fail "empty list printed '$(out)'"

run 0 "${S[@]}" jobs get --owner 1 --name nightly
out_has " 1  nightly"
run 0 "${S[@]}" jobs get --owner 1 2 --json
[[ $(out) == '{"id":2,"name":null,"stack":2,"schedule":7,"next_run":null,"do_run":false,"do_del":false}' ]] ||
    fail "jobs get --json printed '$(out)'"
run 1 "${S[@]}" jobs get --owner 2 1
[[ $(err) == "jobsctl: jobs get 1: no such object (job 1 not found)" ]] || fail "not found: '$(err)'"
[[ ! -s $tmp/out ]] || fail "a failure printed on stdout"
run 1 "${S[@]}" jobs get --owner 1 --name nope
err_has "jobsctl: jobs get --name 'nope': no such object"

run 0 "${S[@]}" jobs update --owner 1 2 --name second --schedule 1
out_has " 2  second      2         1  disabled  -"
run 0 "${S[@]}" --json jobs update --owner 1 2 --enabled --no-name
json_is '[j["id"], j["name"], j["schedule"], j["do_run"], j["do_del"]]' '[2, null, 1, true, false]'
run 1 "${S[@]}" jobs update --owner 1 2 --name nightly
err_has "name already used"
run 1 "${S[@]}" jobs update --owner 2 2 --disabled
err_has "no such object"

run 0 "${S[@]}" jobs delete --owner 1 3
[[ $(out) == "deleted job 3" ]] || fail "jobs delete printed '$(out)'"
run 0 "${S[@]}" jobs delete --owner 1 2
out_has "job 2 is enabled: queued for deletion"
run 0 "${S[@]}" --json jobs delete --owner 1 2
[[ $(out) == '{"queued_for_deletion":2}' ]] || fail "second delete printed '$(out)'"
run 0 "${S[@]}" jobs get --owner 1 2
out_has "queued for deletion"
run 1 "${S[@]}" jobs update --owner 1 2 --disabled
err_has "job is queued for deletion and cannot be changed"
run 1 "${S[@]}" jobs delete --owner 1 3
err_has "jobsctl: jobs delete 3: no such object"
run 0 "${S[@]}" --json jobs create --owner 1 --stack 1 --schedule 1
run 0 "${S[@]}" --json jobs delete --owner 1 4
[[ $(out) == '{"deleted":4}' ]] || fail "jobs delete --json printed '$(out)'"

echo "== check and stats"
run 0 "${S[@]}" check
[[ $(out) == "$store is consistent: 2 jobs, 7 schedules, 3 stacks" ]] || fail "check printed '$(out)'"
run 0 "${S[@]}" --json check
[[ $(out) == '{"ok":true,"jobs":2,"schedules":7,"stacks":3}' ]] || fail "check --json printed '$(out)'"
run 0 "${S[@]}" stats
out_has "backend        lmdb"
out_has "jobs           2"
out_has "schedules      7"
out_has "map size       64.0 MiB (67108864 bytes)"
out_has "bytes per job  "
run 0 "${S[@]}" stats --json
size=$(stat -c %s "$store/data.mdb")
json_is '[j["backend"], j["jobs"], j["schedules"], j["stacks"], j["file_size"], j["map_size"] >= j["map_used"] > 0]' \
    "[\"lmdb\", 2, 7, 3, $size, true]"
json_is 'j["bytes_per_job"]' "$(((size + 1) / 2))"

# mdb_load (lmdb-utils, which scripts/install-deps.sh installs) is required: a missing one
# fails the test rather than passing it without this case.
command -v mdb_load > /dev/null ||
    fail "mdb_load (lmdb-utils) is missing: the corrupt-store case cannot run"
# A name index entry for a job that does not exist (owner 1, name "ghost", job 99).
cp -r "$store" "$tmp/damaged"
rm -f "$tmp/damaged/lock.mdb"
printf '\\00\\00\\00\\00\\00\\00\\00\\01ghost\n\\00\\00\\00\\00\\00\\00\\00\\63\n' |
    mdb_load -T -s job_name "$tmp/damaged" || fail "mdb_load"
run 1 --store "$tmp/damaged" check
err_has "jobsctl: check '$tmp/damaged': store record is corrupt ("
run 1 --store "$tmp/damaged" --json check
json_is '[j["ok"], j["error"], len(j["detail"]) > 0]' '[false, "JOBS_ECORRUPT", true]'

echo "== backup and restore"
run 0 "${S[@]}" jobs list --owner 1 --json
cp "$tmp/out" "$tmp/jobs1.json"
run 0 "${S[@]}" schedules list --owner 1 --json
cp "$tmp/out" "$tmp/schedules1.json"
run 0 "${S[@]}" backup "$tmp/b1"
out_has "backup of $store written to $tmp/b1: "
[[ $(ls -A "$tmp/b1") == data.mdb ]] || fail "the backup holds $(ls -A "$tmp/b1")"
[[ $(stat -c %a "$tmp/b1") == 700 && $(stat -c %a "$tmp/b1/data.mdb") == 600 ]] ||
    fail "the backup's modes are $(stat -c %a "$tmp/b1") and $(stat -c %a "$tmp/b1/data.mdb")"
mkdir "$tmp/b2"
run 0 "${S[@]}" --json backup "$tmp/b2" # an empty directory is fine
json_is '[j["backup"], j["bytes"]]' "[\"$tmp/b2\", $(stat -c %s "$tmp/b2/data.mdb")]"
run 1 "${S[@]}" backup "$tmp/b2"
err_has "is not empty"
[[ $(ls -A "$tmp/b2") == data.mdb ]] || fail "a refused backup changed its directory"
# A DEST that others may write in is refused before anything is written: they could put a
# store of their own in place of the backup. Another user's too.
for mode in 0777:"its group and others" 0770:"its group" 1777:"its group and others" \
    0702:others; do
    who=${mode#*:} mode=${mode%%:*}
    mkdir -m "$mode" "$tmp/loose"
    run 1 "${S[@]}" backup "$tmp/loose"
    err_has "backup: '$tmp/loose' is writable by $who (mode ${mode#0})"
    err_has "run chmod go-w on it"
    [[ -z $(ls -A "$tmp/loose") ]] || fail "a refused backup wrote into a directory of mode $mode"
    rmdir "$tmp/loose"
done
if [[ $(id -u) -eq 0 ]]; then
    mkdir -m 0700 "$tmp/theirs" && chown 65534 "$tmp/theirs"
    run 1 "${S[@]}" backup "$tmp/theirs"
    err_has "backup: '$tmp/theirs' is owned by uid 65534, not by this user"
    [[ -z $(ls -A "$tmp/theirs") ]] || fail "a refused backup wrote into another user's directory"
fi
run 1 "${S[@]}" backup "$tmp/missing/parent"
err_has "cannot create the directory"
[[ ! -e $tmp/missing ]] || fail "backup made the missing parent"

run 0 --store "$tmp/b1" check
[[ $(ls -A "$tmp/b1") == data.mdb ]] || fail "checking a backup wrote to it: $(ls -A "$tmp/b1")"
run 0 --store "$tmp/b1" jobs list --owner 1 --json
cmp -s "$tmp/out" "$tmp/jobs1.json" || fail "the backup lists other jobs"
# Reading a backup writes nothing, not even a lock file (a read-write open would make one).
b1sum=$(md5sum < "$tmp/b1/data.mdb")
for c in "jobs get --owner 1 1" "schedules list --owner 1" "schedules get --owner 1 6" \
    "stacks list --owner 1" "stacks get --owner 1 1"; do
    # shellcheck disable=SC2086 # a command and its arguments
    run 0 --store "$tmp/b1" $c
    [[ $(ls -A "$tmp/b1") == data.mdb && $(md5sum < "$tmp/b1/data.mdb") == "$b1sum" ]] ||
        fail "jobsctl $c wrote to a backup: $(ls -A "$tmp/b1")"
done

run 0 --store "$tmp/r1" restore "$tmp/b1"
out_has "restored $tmp/b1 into $tmp/r1; it is consistent: 2 jobs, 7 schedules, 3 stacks"
[[ -z $(find "$tmp/r1" -name '.restore-*') ]] || fail "restore left its staging directory"
run 0 --store "$tmp/r1" jobs list --owner 1 --json
cmp -s "$tmp/out" "$tmp/jobs1.json" || fail "the restored store lists other jobs"
run 0 --store "$tmp/r1" schedules list --owner 1 --json
cmp -s "$tmp/out" "$tmp/schedules1.json" || fail "the restored store lists other schedules"
run 0 --store "$tmp/r1" jobs create --owner 1 --stack 1 --schedule 1 --name after-restore
[[ $(out) == "created job 5" ]] || fail "ids after a restore: '$(out)'" # ids are never reused

run 1 --store "$tmp/r1" restore "$tmp/b1"
err_has "already holds a store; give --force to replace it"
run 0 --store "$tmp/r1" --json restore "$tmp/b1" --force
json_is '[j["store"], j["jobs"], j["schedules"], j["stacks"]]' "[\"$tmp/r1\", 2, 7, 3]"
run 0 --store "$tmp/r1" jobs list --owner 1 --json
cmp -s "$tmp/out" "$tmp/jobs1.json" || fail "restore --force did not replace the store"
run 1 --store "$tmp/r2" restore "$tmp/nothing-here"
err_has "no backup in '$tmp/nothing-here'"
[[ ! -e $tmp/r2 ]] || fail "a failed restore left its store directory"
run 1 --store "$tmp/r2" restore "$tmp/bad"
err_has "restore: the backup in '$tmp/bad' fails its check: "
[[ ! -e $tmp/r2 ]] || fail "a failed restore left its store directory"
# Into an existing empty directory: a failed restore leaves it empty (no lock.mdb, no staging
# directory). A backup cut short (a copy that ran out of space) is refused, not read past its end.
mkdir "$tmp/r4"
run 1 --store "$tmp/r4" restore "$tmp/bad"
err_has "restore: the backup in '$tmp/bad' fails its check: "
[[ -z $(ls -A "$tmp/r4") ]] || fail "a failed restore left $(ls -A "$tmp/r4") in an empty directory"
mkdir "$tmp/cut"
head -c 16384 "$tmp/b1/data.mdb" > "$tmp/cut/data.mdb"
run 1 --store "$tmp/r4" restore "$tmp/cut"
err_has "restore: the backup in '$tmp/cut' is cut short: its file has 16384 bytes"
[[ -z $(ls -A "$tmp/r4") ]] || fail "a failed restore left $(ls -A "$tmp/r4") in an empty directory"
run 1 "${S[@]}" restore "$store" --force
err_has "is the store itself"

echo "== a store of an earlier schema: read commands and copy's source leave it as it is"
data=$(cd "$(dirname "${BASH_SOURCE[0]}")/../data" && pwd)
old=$tmp/schema2
mkdir "$old"
tar xzf "$data/schema2/store.tar.gz" -C "$old"
sum=$(md5sum < "$old/data.mdb")
# Fails unless the directory $1 still holds only data.mdb, with the checksum $2: $3 changed it.
unchanged() {
    [[ $(ls -A "$1") == data.mdb && $(md5sum < "$1/data.mdb") == "$2" ]] ||
        fail "$3 changed $1 (it holds: $(ls -A "$1"))"
}
for cmd in check stats; do
    run 3 --store "$old" $cmd
    err_has "the store has schema version 2; this libjobs reads version"
    err_has "'$old' was left as it is"
    err_has "'jobsctl --store $old init' migrates"
done
run 3 copy "$old" "$tmp/schema2-copy"
err_has "the store has schema version 2; this libjobs reads version"
[[ ! -e $tmp/schema2-copy ]] || fail "a refused copy made its target"
unchanged "$old" "$sum" "a read command"
# What the message advises: a restore makes a migrated store of it, the backup stays as it is.
run 0 --store "$tmp/schema2-restored" restore "$old"
out_has "restored $old into $tmp/schema2-restored; it is consistent: 177 jobs"
unchanged "$old" "$sum" "a restore"
run 0 --store "$old" init # and init migrates the store itself, and says so
out_has "$old held a store of an earlier libjobs: migrated it to this libjobs' schema"
[[ $(out) != *"nothing changed"* ]] || fail "init of a store of schema 2 said nothing changed"
run 0 --store "$old" --json init # once: then it has this schema
json_is '[j["created"], j["migrated"]]' '[false, false]'
run 0 --store "$old" check
out_has "$old is consistent: 177 jobs"

echo "== a store of schema 3: no command that only reads it migrates it"
# Every command that only reads opens the store read-only, which refuses an older schema
# (exit 3, the library's message and the advice) and leaves the files exactly as they were: a
# read-write open would migrate the store in place. tests/data/schema3 is owner 1's job 1 on
# its public stack 1 (schedule 4) and owner 2's private stack 2.
old3=$tmp/schema3
mkdir "$old3"
tar xzf "$data/schema3/store.tar.gz" -C "$old3"
sum3=$(md5sum < "$old3/data.mdb")
reads=("jobs list --owner 1" "jobs get --owner 1 1" "jobs get --owner 1 --name nightly"
    "schedules list --owner 1" "schedules get --owner 0 4" "stacks list --owner 1"
    "stacks get --owner 1 1" check stats)
for c in "${reads[@]}"; do
    for j in "" --json; do
        # shellcheck disable=SC2086 # a command and its arguments
        run 3 --store "$old3" $j $c
        err_has "the store has schema version 3; this libjobs reads version"
        err_has "'$old3' was left as it is: a command that only reads never migrates a store"
        [[ ! -s $tmp/out ]] || fail "jobsctl $j $c printed on stdout"
        unchanged "$old3" "$sum3" "jobsctl $j $c"
    done
done
# backup only reads the store too: refused, not migrated (nor a backup of the migrated store).
run 3 --store "$old3" backup "$tmp/schema3-backup"
err_has "the store has schema version 3; this libjobs reads version"
err_has "'$old3' was left as it is"
[[ ! -e $tmp/schema3-backup ]] || fail "a refused backup made its directory"
unchanged "$old3" "$sum3" "backup"
# A restore of it migrates its staged copy (a read command then reads the restored store: it has
# this libjobs' schema) and leaves the backup as it was.
run 0 --store "$tmp/schema3-restored" restore "$old3"
out_has "restored $old3 into $tmp/schema3-restored; it is consistent: 1 job, 5 schedules, 2 stacks"
unchanged "$old3" "$sum3" "a restore"
run 0 --store "$tmp/schema3-restored" --json stacks get --owner 2 2
json_is '[j["name"], j["public"]]' '["own", false]'
# A command that writes opens it read-write, which migrates it (as before); then it reads.
run 0 --store "$old3" stacks create --owner 1 --name after
[[ $(out) == "created stack 3" ]] || fail "stacks create on a store of schema 3: '$(out)'"
[[ $(md5sum < "$old3/data.mdb") != "$sum3" ]] || fail "a write left the store of schema 3 as it was"
run 0 --store "$old3" --json jobs get --owner 1 1
json_is '[j["id"], j["stack"], j["schedule"], j["do_run"]]' '[1, 1, 4, true]'
run 0 --store "$old3" check
out_has "$old3 is consistent: 1 job, 5 schedules, 3 stacks"

echo "== a store of a later schema, and an LMDB environment that is no store: nothing to migrate"
# The read commands refuse both (exit 3) and leave them as they are, but advise no migration:
# init and restore refuse both as well.
later=$tmp/later
cp -r "$store" "$later"
rm -f "$later/lock.mdb"
printf 'VERSION=3\nformat=bytevalue\ndatabase=meta\ntype=btree\nHEADER=END\n 736368656d61\n 63000000\nDATA=END\n' |
    mdb_load -s meta "$later" || fail "mdb_load of the schema version" # "schema" = 99
foreign=$tmp/foreign
mkdir "$foreign"
printf 'VERSION=3\nformat=bytevalue\ndatabase=other\ntype=btree\nHEADER=END\n 6b\n 76\nDATA=END\n' |
    mdb_load -s other "$foreign" || fail "mdb_load of an environment"
for s in "$later" "$foreign"; do
    for c in check "jobs list --owner 1" stats; do
        # shellcheck disable=SC2086 # a command and its arguments
        run 3 --store "$s" $c
        err_has "'$s' was left as it is: this libjobs can neither read it nor migrate it"
        if grep -qE "migrates|restore" "$tmp/err"; then
            fail "jobsctl $c advises a migration of $s"
        fi
    done
    run 3 --store "$s" init
done
run 3 --store "$later" check
err_has "the store has schema version 99; this libjobs reads version"

echo "== backups while another process writes"
run 0 --store "$tmp/live" init
run 0 --store "$tmp/live" --json stats
before=$(json 'j["jobs"]')
"$writer" "$tmp/live" 3 4 > "$tmp/writer.out" 2> "$tmp/writer.err" &
writer_pid=$!
for _ in $(seq 300); do
    grep -q started "$tmp/writer.out" 2> /dev/null && break
    sleep 0.05
done
grep -q started "$tmp/writer.out" || fail "the writer did not start: $(cat "$tmp/writer.err")"
# The store is open in the writer: restoring over it is refused, whatever --force says.
run 1 --store "$tmp/live" restore "$tmp/b1" --force
err_has "is open in another process"
run 1 --store "$tmp/r3" restore "$tmp/live"
err_has "is a store open in another process"
for i in 1 2 3 4 5; do
    run 0 --store "$tmp/live" backup "$tmp/live-backup.$i"
    sleep 0.2
done
wait "$writer_pid" || fail "the writer failed: $(cat "$tmp/writer.err")"
writer_pid=
run 0 --store "$tmp/live" --json check
after=$(json 'j["jobs"]')
prev=$before
for i in 1 2 3 4 5; do
    run 0 --store "$tmp/live-backup.$i" --json check
    n=$(json 'j["jobs"]')
    echo "backup $i: consistent, $n jobs (store: $before before, $after after)"
    ((n >= prev && n <= after)) || fail "backup $i holds $n jobs, not in $prev..$after"
    prev=$n
done
(($(json 'j["jobs"]') > before)) || fail "the first backup saw none of the writes"
run 0 --store "$tmp/live-restored" restore "$tmp/live-backup.5"
out_has "it is consistent: $n jobs"

echo "== a backup after another process grew the map"
# The holder opens the store with a small map and waits; a writer (another process) grows the
# store far past it; then the holder's backup meets MDB_MAP_RESIZED and must adopt the new size.
run 0 --store "$tmp/resized" init
mkfifo "$tmp/go"
"$writer" --hold "$tmp/resized" "$tmp/resized-backup" < "$tmp/go" > "$tmp/hold.out" 2>&1 &
writer_pid=$!
exec 3> "$tmp/go"
for _ in $(seq 300); do
    grep -q opened "$tmp/hold.out" 2> /dev/null && break
    sleep 0.05
done
grep -q opened "$tmp/hold.out" || fail "the holder did not start: $(cat "$tmp/hold.out")"
"$writer" "$tmp/resized" 1 2 > /dev/null 2> "$tmp/writer.err" ||
    fail "the writer failed: $(cat "$tmp/writer.err")"
# The holder has the store open (it waits for its line): a read-only open is refused
# (JOBS_EBUSY), and the commands that only read open it read-write instead, as the holder does.
run 0 --store "$tmp/resized" stacks get --owner 1 1
out_has " 1  writer      1  yes"
run 0 --store "$tmp/resized" --json jobs list --owner 1 --page-size 1
(($(json 'j["count"]') > 0)) || fail "jobs list beside the holder: $(out)"
run 0 --store "$tmp/resized" --json jobs get --owner 1 "$(json 'j["jobs"][0]["id"]')"
json_is 'j["stack"]' 1
run 0 --store "$tmp/resized" schedules get --owner 0 4
out_has " 4  hourly"
run 0 --store "$tmp/resized" check
echo go >&3
exec 3>&-
wait "$writer_pid" || fail "the backup after growth: $(cat "$tmp/hold.out")"
writer_pid=
cat "$tmp/hold.out"
run 0 --store "$tmp/resized-backup" check

echo "== backups in the writing process, while its map grows"
"$writer" "$tmp/inproc" 2 4 "$tmp/inproc-backup" 6 > "$tmp/writer.out" 2> "$tmp/writer.err" ||
    fail "in-process backups: $(cat "$tmp/writer.err")"
cat "$tmp/writer.out"
for i in 1 2 3 4 5 6; do
    run 0 --store "$tmp/inproc-backup.$i" check
done

echo "== cron schedules"
C=(--store "$tmp/cron")
run 0 "${C[@]}" init
run 0 "${C[@]}" schedules create --owner 1 --cron '30 2 * * *' --tz Europe/Berlin --name nightly
[[ $(out) == "created schedule 6" ]] || fail "schedules create --cron printed '$(out)'"
run 0 "${C[@]}" schedules get --owner 1 6
out_has " 6  nightly      1  cron '30 2 * * *' in Europe/Berlin"
run 0 "${C[@]}" --json schedules create --owner 1 --cron @hourly
[[ $(out) == '{"id":7}' ]] || fail "schedules create --cron --json printed '$(out)'"
run 0 "${C[@]}" --json schedules get --owner 1 7
[[ $(out) == '{"id":7,"owner":1,"name":null,"once":false,"config":{"cron":"@hourly","tz":"UTC"}}' ]] ||
    fail "schedules get --json of a cron schedule printed '$(out)'"
run 1 "${C[@]}" schedules create --owner 1 --cron '30 25 * * *'
err_has "cron: field 2 (hour) '25' is outside 0-23"
run 1 "${C[@]}" schedules create --owner 1 --cron '0 9 * * *' --tz ../etc/passwd
err_has "tz: '../etc/passwd'"
run 1 "${C[@]}" schedules create --owner 1 --cron '0 9 * * * *'
err_has "cron: 6 fields"
run 0 "${C[@]}" --json schedules update --owner 1 7 --period 600
[[ $(out) == '{"id":7,"owner":1,"name":null,"once":false,"config":{"period":600}}' ]] ||
    fail "schedules update --period of a cron schedule printed '$(out)'"
run 0 "${C[@]}" --json schedules update --owner 1 7 --cron '*/15 1-3 * * *' --tz America/New_York
[[ $(out) == '{"id":7,"owner":1,"name":null,"once":false,"config":{"cron":"*/15 1-3 * * *","tz":"America/New_York"}}' ]] ||
    fail "schedules update --cron printed '$(out)'"
run 0 "${C[@]}" --json schedules list --owner 1
json_is '[j["count"], [s["config"].get("cron") for s in j["schedules"]][5:]]' '[7, ["30 2 * * *", "*/15 1-3 * * *"]]'
run 0 "${C[@]}" check

echo "== standard output closed"
# The result cannot be written: a failure (exit 1) with a message, as on a full disk, whatever
# the library puts on the closed descriptor; and the store is left whole.
for args in "check" "schedules list --owner 1" "--json schedules get --owner 1 7"; do
    rc=0
    # shellcheck disable=SC2086 # words
    "$jobsctl" "${C[@]}" $args >&- 2> "$tmp/err" || rc=$?
    [[ $rc -eq 1 ]] || fail "jobsctl $args >&- exited $rc, not 1"
    err_has "jobsctl: writing the output: Bad file descriptor"
done
rc=0
"$jobsctl" "${C[@]}" check 0<&- >&- 2>&- || rc=$?
[[ $rc -eq 1 ]] || fail "jobsctl check 0<&- >&- 2>&- exited $rc, not 1"
run 0 "${C[@]}" check

echo OK
