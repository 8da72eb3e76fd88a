#!/usr/bin/env bash
# A new store survives a power cut after its open (or a restore) is acknowledged: the open
# flushes the store's directory (which names data.mdb) and, when it made that directory, its
# parent (which names the directory); so does a restore into a directory it made. liblmdb flushes only the file. plrec.so logs the flushes of the directory whose
# path ends with $PLREC_MATCH; the test fails when no flush of that directory is logged.
# usage: test-dirsync.sh PLREC_SO JOBSCTL TMPDIR
set -euo pipefail
plrec=$1 jobsctl=$2 tmp=$3
rm -rf "$tmp"
mkdir -p "$tmp/parent"

fail() { echo "FAIL: $*" >&2; exit 1; }

# Under ASan, its runtime must come first among the preloaded libraries.
asan=$(ldd "$jobsctl" | awk '/libasan/ { print $3 }')
plrec=${asan:+$asan:}$plrec

# Counts the flush records (type 2) in a plrec log of a directory (no writes: heads only).
flushes() {
    python3 - "$1" <<'PY'
import struct, sys
data = open(sys.argv[1], "rb").read() if __import__("os").path.exists(sys.argv[1]) else b""
n, i = 0, 0
while i + 28 <= len(data):
    magic, kind, _flags, _off, length = struct.unpack_from("<IIIQQ", data, i)
    assert magic == 0x504c5243, "not a plrec log"
    n += kind == 2
    i += 28 + (length if kind == 1 else 0)
print(n)
PY
}

# The store directory itself: data.mdb's name in it.
LD_PRELOAD=$plrec PLREC_LOG=$tmp/store.log PLREC_MATCH=/parent/store \
    "$jobsctl" --store "$tmp/parent/store" init >/dev/null
n=$(flushes "$tmp/store.log")
[[ $n -ge 1 ]] || fail "the new store's directory was not flushed (data.mdb's name could be lost)"

# The directory the open made, in its parent.
LD_PRELOAD=$plrec PLREC_LOG=$tmp/parent.log PLREC_MATCH=/parent \
    "$jobsctl" --store "$tmp/parent/store2" init >/dev/null
n=$(flushes "$tmp/parent.log")
[[ $n -ge 1 ]] || fail "the parent of the new store directory was not flushed"

# Opening an existing store flushes no directory (nothing new to name).
LD_PRELOAD=$plrec PLREC_LOG=$tmp/again.log PLREC_MATCH=/parent/store \
    "$jobsctl" --store "$tmp/parent/store" jobs list --owner 1 >/dev/null
n=$(flushes "$tmp/again.log")
[[ $n -eq 0 ]] || fail "reopening an existing store flushed its directory $n times"
# A restore into a directory it makes: the restored store's name in its parent (the restore
# flushed only the store's directory, which names data.mdb).
"$jobsctl" --store "$tmp/parent/store" backup "$tmp/backup" >/dev/null
LD_PRELOAD=$plrec PLREC_LOG=$tmp/restore.log PLREC_MATCH=/parent \
    "$jobsctl" --store "$tmp/parent/restored" restore "$tmp/backup" >/dev/null
n=$(flushes "$tmp/restore.log")
[[ $n -ge 1 ]] || fail "the parent of the directory a restore made was not flushed"
rm -rf "$tmp"
echo "ok: a new store's directory and its parent are flushed at open and at a restore"
