#!/usr/bin/env bash
# test-seam.sh SOURCE_DIR
#
# The storage seam holds: LMDB is named only inside the LMDB backend. Fails, listing the files,
# when LMDB's API (MDB_*, mdb_*) or its header <lmdb.h> appears in lib/ outside lib/lmdb/, in
# tools/ or examples/, or in include/ outside the one LMDB-options header (include/jobs/lmdb.h).
# libpq (PQ*(), PGconn, PGresult, <libpq-fe.h>) likewise appears only in lib/postgres/.
# Public names of LMDB-only things therefore end in `lmdb` (jobs_options_lmdb,
# JOBS_NOSYNC_LMDB), so that this plain grep stays the whole rule.
set -euo pipefail

src=${1:?usage: test-seam.sh SOURCE_DIR}
cd "$src"
offenders=$(grep -rlE 'MDB_|mdb_|<lmdb\.h>' lib include tools examples |
    grep -vE '^lib/lmdb/|^include/jobs/lmdb' || true)
if [[ -n $offenders ]]; then
    echo "FAIL: LMDB named outside lib/lmdb/ and include/jobs/lmdb.h:" >&2
    while read -r f; do
        grep -nE 'MDB_|mdb_|<lmdb\.h>' "$f" | head -5 | sed "s|^|  $f:|" >&2
    done <<<"$offenders"
    exit 1
fi
# The same for libpq: its header and API only in the PostgreSQL backend (lib/postgres/).
offenders=$(grep -rlE 'PGconn|PGresult|<libpq-fe\.h>|\bPQ[a-zA-Z]+\(' lib include tools examples |
    grep -vE '^lib/postgres/' || true)
if [[ -n $offenders ]]; then
    echo "FAIL: libpq named outside lib/postgres/:" >&2
    echo "$offenders" | sed 's/^/  /' >&2
    exit 1
fi
echo "OK: LMDB is named only in lib/lmdb/ and include/jobs/lmdb.h, libpq only in lib/postgres/"
