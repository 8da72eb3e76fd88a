#!/usr/bin/env bash
# test-import.sh JOBSCTL
#
# jobsctl jobs import: a JSON-lines file of job create bodies loaded through jobs_batch, one
# chunk per transaction. Checks what is created (ids, names, fields), that a line that does not
# decode writes nothing and is named FILE:LINE, that a refused job leaves the chunks before it
# and nothing of its own chunk, --start to resume, --json, and the usage errors.
set -euo pipefail

jobsctl=$(realpath "${1:?usage: test-import.sh JOBSCTL}")
tmp=$(mktemp -d "${TMPDIR:-/tmp}/jobsctl-import.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

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
out() { cat "$tmp/out"; }
out_has() { grep -qF -- "$1" "$tmp/out" || fail "stdout lacks '$1'"; }
err_has() { grep -qF -- "$1" "$tmp/err" || fail "stderr lacks '$1'"; }
count() {
    run 0 "${S[@]}" --json jobs list --owner "$1" --page-size 1
    python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["count"])' "$tmp/out"
}

S=(--store "$tmp/store")
run 0 "${S[@]}" init
run 0 "${S[@]}" stacks create --owner 7 --name st

echo "== usage"
run 2 "${S[@]}" jobs import --owner 7
run 2 "${S[@]}" jobs import "$tmp/none.jsonl"
run 2 "${S[@]}" jobs import --owner 7 --chunk 0 "$tmp/none.jsonl"
run 2 "${S[@]}" jobs import --owner 7 --chunk 10001 "$tmp/none.jsonl"
run 1 "${S[@]}" jobs import --owner 7 "$tmp/none.jsonl"
err_has "cannot open"

echo "== a file of 2,500 jobs in chunks of 1,000"
python3 - "$tmp/jobs.jsonl" <<'PY'
import json, sys
with open(sys.argv[1], "w") as f:
    for i in range(2500):
        job = {"stack_id": 1, "schedule_id": 4 if i % 2 else 5, "name": "job-%04d" % i}
        if i % 3 == 0:
            job["enabled"] = True
        if i == 10:
            job["delivery"] = "at-least-once"
        f.write(json.dumps(job) + "\n")
        if i == 5:
            f.write("\n")  # blank lines are skipped, and counted
PY
run 0 "${S[@]}" jobs import --owner 7 "$tmp/jobs.jsonl"
[[ $(out) == "imported 2500 jobs (ids 1-2500, from line 1)" ]] || fail "import printed '$(out)'"
[[ $(count 7) == 2500 ]] || fail "owner 7 has $(count 7) jobs"
run 0 "${S[@]}" --json jobs get --owner 7 --name job-0003
python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); assert j["id"]==4 and j["do_run"] and j["schedule"]==4, j' "$tmp/out" ||
    fail "job-0003 is not as imported"
run 0 "${S[@]}" check

echo "== a line that does not decode: nothing is written"
printf '{"stack_id":1,"schedule_id":4,"name":"x1"}\n{"stack_id":1,"schedule_id":4,"name":"x2"}\n{"stack_id":1}\n' > "$tmp/bad.jsonl"
run 1 "${S[@]}" jobs import --owner 8 "$tmp/bad.jsonl"
err_has "bad.jsonl:3: "
err_has "schedule_id"
printf '{"stack_id":1,"schedule_id":4}\nnot json\n' > "$tmp/syntax.jsonl"
run 1 "${S[@]}" jobs import --owner 8 "$tmp/syntax.jsonl"
err_has "syntax.jsonl:2: request body is not valid JSON"
[[ $(count 8) == 0 ]] || fail "a file with a bad line wrote jobs"

echo "== a refused job: the chunks before it stay, its own chunk is not written"
python3 - "$tmp/clash.jsonl" <<'PY'
import json, sys
with open(sys.argv[1], "w") as f:
    for i in range(25):
        name = "job-0000" if i == 17 else "c-%02d" % i  # line 18 takes a name owner 7 has
        f.write(json.dumps({"stack_id": 1, "schedule_id": 4, "name": name}) + "\n")
PY
run 1 "${S[@]}" jobs import --owner 7 --chunk 10 "$tmp/clash.jsonl"
err_has "clash.jsonl:18: name already used by another job of this owner"
err_has "imported 10 of 25 jobs; the first line not imported is 11 (resume with --start 11)"
[[ $(count 7) == 2510 ]] || fail "owner 7 has $(count 7) jobs after the refused chunk"
run 0 "${S[@]}" --json jobs get --owner 7 --name c-09
run 1 "${S[@]}" jobs get --owner 7 --name c-10
run 0 "${S[@]}" check

echo "== resume with --start, with --json"
sed -i 's/"job-0000"/"c-17"/' "$tmp/clash.jsonl"
run 0 "${S[@]}" --json jobs import --owner 7 --chunk 10 --start 11 "$tmp/clash.jsonl"
[[ $(out) == '{"imported":15,"first_id":2511,"last_id":2525}' ]] || fail "import --json printed '$(out)'"
[[ $(count 7) == 2525 ]] || fail "owner 7 has $(count 7) jobs after resuming"

echo "== a stack the owner may not use"
printf '{"stack_id":1,"schedule_id":4}\n' > "$tmp/foreign.jsonl"
run 1 "${S[@]}" jobs import --owner 9 "$tmp/foreign.jsonl"
err_has "foreign.jsonl:1: "
[[ $(count 9) == 0 ]] || fail "owner 9 got a job on another owner's stack"

echo "== one line: one job, said in the singular"
printf '{"stack_id":1,"schedule_id":4,"name":"single"}\n' > "$tmp/one.jsonl"
run 0 "${S[@]}" jobs import --owner 7 "$tmp/one.jsonl"
[[ $(out) == "imported 1 job (id 2526, from line 1)" ]] || fail "import of one line printed '$(out)'"
run 1 "${S[@]}" jobs import --owner 7 "$tmp/one.jsonl"
err_has "imported 0 of 1 job; the first line not imported is 1 (resume with --start 1)"

echo "== a line longer than a job's JSON may be: named, nothing written"
python3 - "$tmp/long.jsonl" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    f.write('{"stack_id":1,"schedule_id":4,"name":"l1"}\n')
    f.write('{"stack_id":1,"schedule_id":4,"name":"l2"' + " " * 100000 + "}\n")
    f.write('{"stack_id":1,"schedule_id":4,"name":"l3"}\n')
PY
run 1 "${S[@]}" jobs import --owner 7 "$tmp/long.jsonl"
err_has "long.jsonl:2: the line is longer than 65536 bytes, the most a job's JSON may be"
run 1 "${S[@]}" jobs get --owner 7 --name l1 # nothing written
# Before --start it is skipped as any other line.
run 0 "${S[@]}" jobs import --owner 7 --start 3 "$tmp/long.jsonl"
[[ $(out) == "imported 1 job (id 2527, from line 3)" ]] || fail "import --start 3 printed '$(out)'"
run 0 "${S[@]}" jobs get --owner 7 --name l3
# A line of 65,536 bytes and a CR is not too long.
python3 - "$tmp/max.jsonl" <<'PY'
import sys
head = '{"stack_id":1,"schedule_id":4,"name":"max"'
with open(sys.argv[1], "w", newline="") as f:
    f.write(head + " " * (65536 - len(head) - 1) + "}\r\n")
PY
run 0 "${S[@]}" jobs import --owner 7 "$tmp/max.jsonl"
run 0 "${S[@]}" jobs get --owner 7 --name max
run 1 "${S[@]}" jobs get --owner 7 --name l2

echo "== a name two lines of one chunk take: the line that took it first is named"
printf '{"stack_id":1,"schedule_id":4,"name":"twice"}\n\n{"stack_id":1,"schedule_id":4,"name":"d2"}\n{"stack_id":1,"schedule_id":4,"name":"twice"}\n' > "$tmp/twice.jsonl"
run 1 "${S[@]}" jobs import --owner 7 "$tmp/twice.jsonl"
err_has "twice.jsonl:4: name 'twice' is already taken by line 1 of this file"
err_has "imported 0 of 3 jobs; the first line not imported is 1 (resume with --start 1)"
run 1 "${S[@]}" jobs get --owner 7 --name twice

echo "== a UTF-8 byte order mark before the first line is not part of it"
printf '\xef\xbb\xbf{"stack_id":1,"schedule_id":4,"name":"bom1"}\r\n{"stack_id":1,"schedule_id":4,"name":"bom2"}\r\n' > "$tmp/bom.jsonl"
run 0 "${S[@]}" jobs import --owner 7 "$tmp/bom.jsonl"
out_has "imported 2 jobs"
run 0 "${S[@]}" jobs get --owner 7 --name bom1
printf '\xef\xbb\xbf\n{"stack_id":1,"schedule_id":4,"name":"bom3"}' > "$tmp/bom2.jsonl" # and no final newline
run 0 "${S[@]}" jobs import --owner 7 --start 2 "$tmp/bom2.jsonl"
[[ $(out) == "imported 1 job (id 2531, from line 2)" ]] || fail "import of bom2 printed '$(out)'"
# Only at the start of the file.
printf '{"stack_id":1,"schedule_id":4,"name":"bom4"}\n\xef\xbb\xbf{"stack_id":1,"schedule_id":4}\n' > "$tmp/bom3.jsonl"
run 1 "${S[@]}" jobs import --owner 7 "$tmp/bom3.jsonl"
err_has "bom3.jsonl:2: "
run 1 "${S[@]}" jobs get --owner 7 --name bom4

echo "== an empty file"
: > "$tmp/empty.jsonl"
run 0 "${S[@]}" jobs import --owner 7 "$tmp/empty.jsonl"
out_has "imported 0 jobs"
run 0 "${S[@]}" --json jobs import --owner 7 "$tmp/empty.jsonl"
[[ $(out) == '{"imported":0,"first_id":null,"last_id":null}' ]] ||
    fail "import --json of no job printed '$(out)'" # no job, no id: 0 is no id
run 0 "${S[@]}" check
echo OK
