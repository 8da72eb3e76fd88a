/* The PostgreSQL backend's records: the tables (docs/scale-out.md), the statements over them,
 * and the function table the rules use (lib/backend.h). Each operation is one statement, most
 * of them with data-modifying WITH clauses that keep the counts, the page buckets and the
 * schedule reference counts in step in the same round trip. Records are stored in the codec's
 * bytes (lib/codec.c) beside the columns the statements search, so an entity tag is the same
 * on both backends. */
#include <stdio.h>
#include <stdlib.h>

#include "pg.h"

#define S_(x) #x
#define S(x) S_(x)

/* The tables of schema version 1, made in the first open's transaction. */
static const char schema_v1[] =
    "CREATE TABLE jobs_meta (key text PRIMARY KEY, value bigint NOT NULL);"
    "INSERT INTO jobs_meta VALUES ('schema', 1), ('queued', 0);"
    "CREATE TABLE jobs_ids (kind smallint PRIMARY KEY, next bigint NOT NULL);"
    "INSERT INTO jobs_ids VALUES (0, 1), (1, 1), (2, 1);"
    "CREATE TABLE jobs_count (kind smallint, owner bigint, n bigint NOT NULL,"
    " seq bigint NOT NULL DEFAULT 0, PRIMARY KEY (kind, owner));"
    "CREATE TABLE jobs_job (id bigint PRIMARY KEY, owner bigint NOT NULL, name bytea,"
    " active boolean NOT NULL, next_run bigint NOT NULL, schedule bigint NOT NULL,"
    " bucket bigint NOT NULL, rec bytea NOT NULL);"
    "CREATE UNIQUE INDEX jobs_job_name ON jobs_job (owner, name);"
    "CREATE INDEX jobs_job_page ON jobs_job (owner, bucket, id);"
    "CREATE INDEX jobs_job_due ON jobs_job (next_run, id) WHERE active;"
    "CREATE TABLE jobs_bucket (owner bigint, bucket bigint, n bigint NOT NULL,"
    " PRIMARY KEY (owner, bucket));"
    "CREATE TABLE jobs_schedule (id bigint PRIMARY KEY, owner bigint NOT NULL,"
    " refs bigint NOT NULL DEFAULT 0, rec bytea NOT NULL);"
    "CREATE INDEX jobs_schedule_owner ON jobs_schedule (owner, id);"
    "CREATE TABLE jobs_stack (id bigint PRIMARY KEY, owner bigint NOT NULL,"
    " listed bigint NOT NULL, rec bytea NOT NULL);"
    "CREATE INDEX jobs_stack_listed ON jobs_stack (listed, id);"
    "CREATE TABLE jobs_idem (owner bigint, kind smallint, key bytea,"
    " expires bigint NOT NULL, id bigint NOT NULL, fingerprint bytea NOT NULL,"
    " PRIMARY KEY (owner, kind, key));"
    "CREATE INDEX jobs_idem_expires ON jobs_idem (expires);";

/* Version 2: namespaced records (jobs_kv_*: users, sessions, ...). bytea orders as unsigned
 * bytes, the shorter first on a tie, as the seam asks. */
static const char schema_v2[] =
    "CREATE TABLE jobs_kv (ns bytea, key bytea, value bytea NOT NULL, PRIMARY KEY (ns, key));"
    "UPDATE jobs_meta SET value = 2 WHERE key = 'schema'";

/* Version 3: stack and schedule names as columns (their lookups by name; the rules keep stack
 * names unique per owner, so the indexes are not unique), stack blocks apart from the stacks,
 * and runs. A run's queue_time is set while it is pending (when made) or running (its
 * lease_until), NULL otherwise. The names of the rows already there are filled in by
 * jobs__pg_schema, which decodes their records. */
static const char schema_v3[] =
    "ALTER TABLE jobs_stack ADD COLUMN name bytea;"
    "CREATE INDEX jobs_stack_name ON jobs_stack (owner, name, id);"
    "CREATE INDEX jobs_stack_public_name ON jobs_stack (name, id) WHERE listed = 0;"
    "CREATE TABLE jobs_stack_blocks (id bigint PRIMARY KEY, data bytea NOT NULL);"
    "ALTER TABLE jobs_schedule ADD COLUMN name bytea;"
    "CREATE INDEX jobs_schedule_name ON jobs_schedule (owner, name, id);"
    "INSERT INTO jobs_ids VALUES (4, 1) ON CONFLICT (kind) DO NOTHING;"
    "CREATE TABLE jobs_run (id bigint PRIMARY KEY, owner bigint NOT NULL, job bigint NOT NULL,"
    " stack bigint NOT NULL, queue_time bigint, rec bytea NOT NULL);"
    "CREATE INDEX jobs_run_job ON jobs_run (job, id);"
    "CREATE INDEX jobs_run_direct ON jobs_run (stack, id) WHERE job = 0;"
    "CREATE INDEX jobs_run_stack ON jobs_run (owner, stack, id);"
    "CREATE INDEX jobs_run_queue ON jobs_run (queue_time, id) WHERE queue_time IS NOT NULL;"
    "UPDATE jobs_meta SET value = 3 WHERE key = 'schema'";

/* Version 4: run ids from a sequence. A counter row is locked by the transaction that takes an
 * id until it ends, so every tick that made a run waited for the one before it to commit (four
 * ticking processes ran slower than one; docs/scale-out.md). nextval() takes no lock the
 * transaction keeps; an id a rolled-back transaction took is skipped, never given again. Its
 * largest value is JOBS_ID_MAX + 1, so that "every id is used" can still be set and read. */
static const char schema_v4[] =
    "CREATE SEQUENCE jobs_run_id AS bigint MINVALUE 1 MAXVALUE 9007199254740992 NO CYCLE;"
    "SELECT setval('jobs_run_id', (SELECT next FROM jobs_ids WHERE kind = 4), false);"
    "DELETE FROM jobs_ids WHERE kind = 4;"
    "UPDATE jobs_meta SET value = 4 WHERE key = 'schema'";

/* Version 5: a stack's runs without a job are one history per owner of them (each trimmed to
 * the store's limit by its owner's runs alone), so their index leads with the owner. */
static const char schema_v5[] =
    "DROP INDEX jobs_run_direct;"
    "CREATE INDEX jobs_run_direct ON jobs_run (owner, stack, id) WHERE job = 0;"
    "UPDATE jobs_meta SET value = 5 WHERE key = 'schema'";

static const char *const statements[JOBS__PG_STMT_MAX] = {
    [STMT_STAT] =
        "SELECT (SELECT count(*) FROM jobs_job), (SELECT count(*) FROM jobs_schedule),"
        " (SELECT count(*) FROM jobs_stack), (SELECT count(*) FROM jobs_job WHERE active),"
        " (SELECT value FROM jobs_meta WHERE key = 'queued'),"
        " (SELECT count(*) FROM jobs_kv WHERE ns <> convert_to('" JOBS__KV_IDS "', 'UTF8')),"
        " (SELECT count(*) FROM jobs_run),"
        " (SELECT count(*) FROM jobs_run WHERE queue_time IS NOT NULL)",
    [STMT_NEXT_ID] =
        "UPDATE jobs_ids SET next = next + 1 WHERE kind = $1::int8 RETURNING next - 1",
    [STMT_COUNT] =
        "SELECT n FROM jobs_count WHERE kind = $1::int8 AND owner = $2::int8",
    [STMT_PAGE_JOBS_FIRST] =
        "SELECT id FROM jobs_job WHERE owner = $1::int8 ORDER BY bucket, id LIMIT $2::int8",
    /* The counted index: the bucket holding the first job of the page (summing at most
     * count / JOBS__PG_BUCKET bucket rows), the job at its rank inside that bucket (walking
     * fewer than JOBS__PG_BUCKET index entries), then the page from there in index order. */
    [STMT_PAGE_JOBS_DEEP] =
        "WITH b AS (SELECT bucket, n, sum(n) OVER (ORDER BY bucket) AS upto FROM jobs_bucket"
        "  WHERE owner = $1::int8),"
        " t AS (SELECT bucket, $2::int8 - (upto - n) AS r FROM b WHERE upto > $2::int8"
        "  ORDER BY bucket LIMIT 1),"
        " f AS (SELECT j.bucket, j.id FROM jobs_job j WHERE j.owner = $1::int8"
        "  AND j.bucket = (SELECT bucket FROM t) ORDER BY j.id OFFSET (SELECT r FROM t) LIMIT 1)"
        " SELECT id FROM jobs_job WHERE owner = $1::int8"
        " AND (bucket, id) >= (SELECT bucket, id FROM f) ORDER BY bucket, id LIMIT $3::int8",
    [STMT_PAGE_JOBS_TWO] =
        "SELECT id FROM jobs_job WHERE owner IN ($1::int8, $2::int8) ORDER BY id"
        " OFFSET $3::int8 LIMIT $4::int8",
    [STMT_PAGE_SCHEDULES] =
        "SELECT id FROM jobs_schedule WHERE owner IN ($1::int8, $2::int8) ORDER BY id"
        " OFFSET $3::int8 LIMIT $4::int8",
    [STMT_PAGE_STACKS] =
        "SELECT id FROM jobs_stack WHERE listed IN ($1::int8, $2::int8) ORDER BY id"
        " OFFSET $3::int8 LIMIT $4::int8",
    [STMT_JOB_LOAD] = "SELECT rec FROM jobs_job WHERE id = $1::int8",
    [STMT_JOB_LOAD_LOCK] = "SELECT rec FROM jobs_job WHERE id = $1::int8 FOR UPDATE",
    [STMT_JOB_BY_NAME] =
        "SELECT id FROM jobs_job WHERE owner = $1::int8 AND name = $2::bytea",
    [STMT_JOB_INSERT] =
        "WITH c AS (INSERT INTO jobs_count AS c (kind, owner, n, seq) VALUES (0, $2::int8, 1, 1)"
        "  ON CONFLICT (kind, owner) DO UPDATE SET n = c.n + 1, seq = c.seq + 1"
        "  RETURNING (c.seq - 1) / " S(JOBS__PG_BUCKET) " AS bucket),"
        " b AS (INSERT INTO jobs_bucket AS b (owner, bucket, n) SELECT $2::int8, bucket, 1 FROM c"
        "  ON CONFLICT (owner, bucket) DO UPDATE SET n = b.n + 1 RETURNING bucket),"
        " r AS (UPDATE jobs_schedule SET refs = refs + 1 WHERE id = $6::int8 RETURNING 1),"
        " q AS (UPDATE jobs_meta SET value = value + $8::int8 WHERE key = 'queued'"
        "  AND $8::int8 <> 0 RETURNING 1)"
        " INSERT INTO jobs_job (id, owner, name, active, next_run, schedule, bucket, rec)"
        " SELECT $1::int8, $2::int8, $3::bytea, $4::bool, $5::int8, $6::int8, bucket, $7::bytea"
        " FROM b",
    [STMT_JOB_UPDATE] =
        "WITH r1 AS (UPDATE jobs_schedule SET refs = refs - 1 WHERE id = $7::int8"
        "  AND $7::int8 <> $5::int8 RETURNING 1),"
        " r2 AS (UPDATE jobs_schedule SET refs = refs + 1 WHERE id = $5::int8"
        "  AND $7::int8 <> $5::int8 RETURNING 1),"
        " q AS (UPDATE jobs_meta SET value = value + $8::int8 WHERE key = 'queued'"
        "  AND $8::int8 <> 0 RETURNING 1)"
        " UPDATE jobs_job SET name = $2::bytea, active = $3::bool, next_run = $4::int8,"
        " schedule = $5::int8, rec = $6::bytea WHERE id = $1::int8",
    [STMT_JOB_REMOVE] =
        "WITH j AS (DELETE FROM jobs_job WHERE id = $1::int8 RETURNING owner, bucket, schedule),"
        " c AS (UPDATE jobs_count SET n = n - 1 WHERE kind = 0"
        "  AND owner = (SELECT owner FROM j) RETURNING 1),"
        " b AS (UPDATE jobs_bucket SET n = n - 1 WHERE owner = (SELECT owner FROM j)"
        "  AND bucket = (SELECT bucket FROM j) RETURNING 1),"
        " r AS (UPDATE jobs_schedule SET refs = refs - 1 WHERE id = (SELECT schedule FROM j)"
        "  RETURNING 1),"
        " q AS (UPDATE jobs_meta SET value = value + $2::int8 WHERE key = 'queued'"
        "  AND $2::int8 <> 0 AND EXISTS (SELECT 1 FROM j) RETURNING 1)"
        " SELECT (SELECT count(*) FROM j), (SELECT count(*) FROM c), (SELECT count(*) FROM b),"
        " (SELECT count(*) FROM r)",
    [STMT_DUE_SCAN] =
        "SELECT id, next_run FROM jobs_job WHERE active AND next_run <= $1::int8"
        " ORDER BY next_run, id LIMIT $2::int8",
    /* The tick of many processes: each takes the due rows no other holds; a row another
     * process moved on meanwhile is read again and no longer qualifies. */
    [STMT_DUE_CLAIM] =
        "SELECT id, next_run FROM jobs_job WHERE active AND next_run <= $1::int8"
        " ORDER BY next_run, id LIMIT $2::int8 FOR UPDATE SKIP LOCKED",
    [STMT_DUE_FIRST] = "SELECT min(next_run) FROM jobs_job WHERE active",
    [STMT_SCHEDULE_LOAD] = "SELECT rec FROM jobs_schedule WHERE id = $1::int8",
    [STMT_SCHEDULE_LOAD_LOCK] = "SELECT rec FROM jobs_schedule WHERE id = $1::int8 FOR UPDATE",
    [STMT_SCHEDULE_INSERT] =
        "WITH c AS (INSERT INTO jobs_count AS c (kind, owner, n) VALUES (1, $2::int8, 1)"
        "  ON CONFLICT (kind, owner) DO UPDATE SET n = c.n + 1 RETURNING 1)"
        " INSERT INTO jobs_schedule (id, owner, rec, name)"
        " VALUES ($1::int8, $2::int8, $3::bytea, $4::bytea)",
    [STMT_SCHEDULE_UPDATE] =
        "UPDATE jobs_schedule SET rec = $2::bytea, name = $3::bytea WHERE id = $1::int8",
    [STMT_SCHEDULE_REFS] = "SELECT refs FROM jobs_schedule WHERE id = $1::int8",
    [STMT_SCHEDULE_REMOVE] =
        "WITH s AS (DELETE FROM jobs_schedule WHERE id = $1::int8 RETURNING owner),"
        " c AS (UPDATE jobs_count SET n = n - 1 WHERE kind = 1"
        "  AND owner = (SELECT owner FROM s) RETURNING 1)"
        " SELECT (SELECT count(*) FROM s), (SELECT count(*) FROM c)",
    [STMT_STACK_LOAD] = "SELECT rec FROM jobs_stack WHERE id = $1::int8",
    [STMT_STACK_LOAD_LOCK] = "SELECT rec FROM jobs_stack WHERE id = $1::int8 FOR UPDATE",
    [STMT_STACK_INSERT] =
        "WITH c AS (INSERT INTO jobs_count AS c (kind, owner, n) VALUES (2, $3::int8, 1)"
        "  ON CONFLICT (kind, owner) DO UPDATE SET n = c.n + 1 RETURNING 1)"
        " INSERT INTO jobs_stack (id, owner, listed, rec, name)"
        " VALUES ($1::int8, $2::int8, $3::int8, $4::bytea, $5::bytea)",
    [STMT_IDEM_GET] =
        "SELECT expires, id, fingerprint FROM jobs_idem WHERE owner = $1::int8"
        " AND kind = $2::int8 AND key = $3::bytea",
    [STMT_IDEM_DELETE] =
        "DELETE FROM jobs_idem WHERE owner = $1::int8 AND kind = $2::int8 AND key = $3::bytea",
    [STMT_IDEM_INSERT] =
        "INSERT INTO jobs_idem (owner, kind, key, expires, id, fingerprint)"
        " VALUES ($1::int8, $2::int8, $3::bytea, $4::int8, $5::int8, $6::bytea)",
    [STMT_IDEM_SWEEP] =
        "WITH d AS (DELETE FROM jobs_idem WHERE (owner, kind, key) IN"
        " (SELECT owner, kind, key FROM jobs_idem WHERE expires <= $1::int8 ORDER BY expires"
        "  LIMIT $2::int8 FOR UPDATE SKIP LOCKED) RETURNING 1) SELECT count(*) FROM d",
    [STMT_KV_GET] = "SELECT value FROM jobs_kv WHERE ns = $1::bytea AND key = $2::bytea",
    [STMT_KV_GET_LOCK] =
        "SELECT value FROM jobs_kv WHERE ns = $1::bytea AND key = $2::bytea FOR UPDATE",
    [STMT_KV_UPDATE] =
        "UPDATE jobs_kv SET value = $3::bytea WHERE ns = $1::bytea AND key = $2::bytea",
    [STMT_KV_INSERT] = "INSERT INTO jobs_kv (ns, key, value) VALUES ($1::bytea, $2::bytea, $3::bytea)",
    [STMT_KV_DEL] = "DELETE FROM jobs_kv WHERE ns = $1::bytea AND key = $2::bytea",
    [STMT_KV_SCAN] =
        "SELECT key, value FROM jobs_kv WHERE ns = $1::bytea AND key >= $2::bytea ORDER BY key"
        " LIMIT $3::int8",
    [STMT_STACK_UPDATE] =
        "WITH o AS (SELECT listed FROM jobs_stack WHERE id = $1::int8),"
        " d AS (UPDATE jobs_count SET n = n - 1 WHERE kind = 2 AND owner = (SELECT listed FROM o)"
        "  AND (SELECT listed FROM o) <> $2::int8 RETURNING 1),"
        " c AS (INSERT INTO jobs_count AS c (kind, owner, n) SELECT 2, $2::int8, 1 FROM o"
        "  WHERE o.listed <> $2::int8"
        "  ON CONFLICT (kind, owner) DO UPDATE SET n = c.n + 1 RETURNING 1)"
        " UPDATE jobs_stack SET listed = $2::int8, name = $3::bytea, rec = $4::bytea"
        " WHERE id = $1::int8",
    [STMT_STACK_BY_NAME] =
        "SELECT id FROM jobs_stack WHERE owner = $1::int8 AND name = $2::bytea ORDER BY id LIMIT 1",
    [STMT_STACK_BY_NAME_PUBLIC] =
        "SELECT id FROM jobs_stack WHERE listed = 0 AND name = $1::bytea ORDER BY id LIMIT 1",
    /* A write's claim on an owner's stack name, until it ends (stack_by_name): the bigint
     * advisory locks, keyed by the store's schema, the owner and the name's bytes. */
    [STMT_STACK_NAME_LOCK] =
        "SELECT pg_advisory_xact_lock(hashtextextended('libjobs stack name ' ||"
        " coalesce(current_schema(), '') || ' ' || $1::int8 || ' ' || encode($2::bytea, 'hex'),"
        " 0))",
    [STMT_STACK_BLOCKS_GET] = "SELECT data FROM jobs_stack_blocks WHERE id = $1::int8",
    [STMT_STACK_BLOCKS_PUT] =
        "INSERT INTO jobs_stack_blocks (id, data) VALUES ($1::int8, $2::bytea)"
        " ON CONFLICT (id) DO UPDATE SET data = excluded.data",
    [STMT_STACK_BLOCKS_DEL] = "DELETE FROM jobs_stack_blocks WHERE id = $1::int8",
    [STMT_SCHEDULE_BY_NAME] =
        "SELECT id FROM jobs_schedule WHERE owner = $1::int8 AND name = $2::bytea"
        " ORDER BY id LIMIT 1",
    [STMT_RUN_LOAD] = "SELECT rec FROM jobs_run WHERE id = $1::int8",
    [STMT_RUN_LOAD_LOCK] = "SELECT rec FROM jobs_run WHERE id = $1::int8 FOR UPDATE",
    [STMT_RUN_INSERT] =
        "INSERT INTO jobs_run (id, owner, job, stack, queue_time, rec)"
        " VALUES ($1::int8, $2::int8, $3::int8, $4::int8, $5::int8, $6::bytea)",
    [STMT_RUN_UPDATE] =
        "UPDATE jobs_run SET queue_time = $2::int8, rec = $3::bytea WHERE id = $1::int8",
    [STMT_RUN_REMOVE] = "DELETE FROM jobs_run WHERE id = $1::int8",
    /* Counted over their indexes (docs/scale-out.md). */
    [STMT_RUN_COUNT_JOB] = "SELECT count(*) FROM jobs_run WHERE job = $1::int8",
    [STMT_RUN_COUNT_DIRECT] =
        "SELECT count(*) FROM jobs_run WHERE job = 0 AND owner = $1::int8 AND stack = $2::int8",
    [STMT_RUN_COUNT_STACK] =
        "SELECT count(*) FROM jobs_run WHERE owner = $1::int8 AND stack = $2::int8",
    [STMT_RUN_PAGE_JOB] =
        "SELECT id FROM jobs_run WHERE job = $1::int8 AND $2::int8 = $2::int8"
        " ORDER BY id DESC OFFSET $3::int8 LIMIT $4::int8",
    [STMT_RUN_PAGE_JOB_OLD] =
        "SELECT id FROM jobs_run WHERE job = $1::int8 AND $2::int8 = $2::int8"
        " ORDER BY id OFFSET $3::int8 LIMIT $4::int8",
    [STMT_RUN_PAGE_DIRECT] =
        "SELECT id FROM jobs_run WHERE job = 0 AND stack = $1::int8 AND owner = $2::int8"
        " ORDER BY id DESC OFFSET $3::int8 LIMIT $4::int8",
    [STMT_RUN_PAGE_DIRECT_OLD] =
        "SELECT id FROM jobs_run WHERE job = 0 AND stack = $1::int8 AND owner = $2::int8"
        " ORDER BY id OFFSET $3::int8 LIMIT $4::int8",
    [STMT_RUN_PAGE_STACK] =
        "SELECT id FROM jobs_run WHERE stack = $1::int8 AND owner = $2::int8"
        " ORDER BY id DESC OFFSET $3::int8 LIMIT $4::int8",
    [STMT_RUN_PAGE_STACK_OLD] =
        "SELECT id FROM jobs_run WHERE stack = $1::int8 AND owner = $2::int8"
        " ORDER BY id OFFSET $3::int8 LIMIT $4::int8",
    [STMT_RUN_DUE_SCAN] =
        "SELECT id, queue_time FROM jobs_run WHERE queue_time <= $1::int8"
        " ORDER BY queue_time, id LIMIT $2::int8",
    [STMT_RUN_DUE_CLAIM] =
        "SELECT id, queue_time FROM jobs_run WHERE queue_time <= $1::int8"
        " ORDER BY queue_time, id LIMIT $2::int8 FOR UPDATE SKIP LOCKED",
    /* jobs_store_copy(): every record in id order, a batch at a time. */
    [STMT_COPY_JOBS] =
        "SELECT id, rec FROM jobs_job WHERE id > $1::int8 ORDER BY id LIMIT $2::int8",
    [STMT_COPY_SCHEDULES] =
        "SELECT id, rec FROM jobs_schedule WHERE id > $1::int8 ORDER BY id LIMIT $2::int8",
    [STMT_COPY_STACKS] =
        "SELECT id, rec FROM jobs_stack WHERE id > $1::int8 ORDER BY id LIMIT $2::int8",
    [STMT_COPY_RUNS] =
        "SELECT id, rec FROM jobs_run WHERE id > $1::int8 ORDER BY id LIMIT $2::int8",
    [STMT_COPY_IDEM] =
        "SELECT owner, kind::int8, key, expires, id, fingerprint FROM jobs_idem"
        " ORDER BY owner, kind, key",
    [STMT_COPY_KV] = "SELECT ns, key, value FROM jobs_kv ORDER BY length(ns), ns, key",
    [STMT_ID_PEEK] = "SELECT next FROM jobs_ids WHERE kind = $1::int8",
    [STMT_ID_SET] = "UPDATE jobs_ids SET next = $2::int8 WHERE kind = $1::int8",
    [STMT_RUN_ID_NEXT] = "SELECT nextval('jobs_run_id')",
    [STMT_RUN_ID_PEEK] =
        "SELECT CASE WHEN is_called THEN last_value + 1 ELSE last_value END FROM jobs_run_id",
    [STMT_RUN_ID_SET] = "SELECT setval('jobs_run_id', $1::int8, false)",
};

int jobs__pg_exec(jobs__txn *t, int stmt, const jobs__pg_params *p, PGresult **res)
{
    PGconn *conn = t->c->conn;
    char name[16];
    PGresult *r;
    ExecStatusType st;
    int rc;

    *res = NULL;
    if (t->failed)
        return t->failed;
    snprintf(name, sizeof(name), "jobs_%d", stmt);
    if (!t->c->prepared[stmt]) {
        r = PQprepare(conn, name, statements[stmt], 0, NULL);
        if (PQresultStatus(r) != PGRES_COMMAND_OK) {
            rc = jobs__pg_error(conn, r, "preparing a statement");
            PQclear(r);
            return t->failed = rc;
        }
        PQclear(r);
        t->c->prepared[stmt] = 1;
    }
    r = PQexecPrepared(conn, name, p ? p->n : 0, p ? p->v : NULL, p ? p->len : NULL,
                       p ? p->fmt : NULL, 1);
    st = PQresultStatus(r);
    if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
        rc = jobs__pg_error(conn, r, "a statement");
        PQclear(r);
        return t->failed = rc;
    }
    *res = r;
    return 0;
}

/* Runs a statement whose result is not read. */
static int exec0(jobs__txn *t, int stmt, const jobs__pg_params *p, long *affected)
{
    PGresult *r;
    int rc = jobs__pg_exec(t, stmt, p, &r);

    if (rc)
        return rc;
    if (affected)
        *affected = atol(PQcmdTuples(r));
    PQclear(r);
    return 0;
}

/* A statement's one int8 answer: 0, or JOBS_ENOTFOUND for no row or NULL. */
static int exec_i64(jobs__txn *t, int stmt, const jobs__pg_params *p, int64_t *v)
{
    PGresult *r;
    int rc = jobs__pg_exec(t, stmt, p, &r);

    if (rc)
        return rc;
    if (PQntuples(r) < 1 || PQgetisnull(r, 0, 0)) {
        PQclear(r);
        return JOBS_ENOTFOUND;
    }
    *v = jobs__pg_get_i64(r, 0, 0);
    PQclear(r);
    return 0;
}

/* The record bytes of row `id` into `buf` (JOBS__RECORD_MAX): 0, JOBS_ENOTFOUND, an error. */
static int load_rec(jobs__txn *t, int stmt, uint64_t id, unsigned char *buf, size_t *len,
                    const char *what)
{
    jobs__pg_params p = {0};
    PGresult *r;
    int rc;

    jobs__pg_i64(&p, (int64_t)id);
    if ((rc = jobs__pg_exec(t, stmt, &p, &r)))
        return rc;
    if (PQntuples(r) < 1) {
        PQclear(r);
        return JOBS_ENOTFOUND;
    }
    *len = (size_t)PQgetlength(r, 0, 0);
    if (*len > JOBS__RECORD_MAX) {
        PQclear(r);
        return jobs__error(JOBS_ECORRUPT, "%s %llu's record is too long", what,
                           (unsigned long long)id);
    }
    memcpy(buf, PQgetvalue(r, 0, 0), *len);
    PQclear(r);
    return 0;
}

/* ---- schema ----------------------------------------------------------------------------- */

/* Any number; it only has to be the same in every process that opens a store. */
#define OPEN_LOCK "7406203853120114"

static int text_query(jobs__txn *t, const char *sql, char *out, size_t cap, bool *null)
{
    PGresult *r = PQexec(t->c->conn, sql);
    int rc = 0;

    *null = true;
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        rc = t->failed = jobs__pg_error(t->c->conn, r, "opening the store");
    } else if (PQntuples(r) > 0 && !PQgetisnull(r, 0, 0)) {
        *null = false;
        snprintf(out, cap, "%s", PQgetvalue(r, 0, 0));
    }
    PQclear(r);
    return rc;
}

/* Migrating to version 3: the name column of every stack (or schedule) row, from its record. */
static int fill_names(jobs__txn *t, bool stacks)
{
    const char *what = "migrating the store to schema version 3";
    PGresult *r = PQexecParams(t->c->conn, stacks ? "SELECT id, rec FROM jobs_stack"
                                                  : "SELECT id, rec FROM jobs_schedule",
                               0, NULL, NULL, NULL, NULL, 1);
    int rc = 0;

    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        rc = t->failed = jobs__pg_error(t->c->conn, r, what);
        PQclear(r);
        return rc;
    }
    for (int i = 0; i < PQntuples(r) && rc == 0; i++) {
        jobs__schedule_rec sc;
        jobs__stack_rec st;
        jobs__pg_params p = {0};
        size_t len = (size_t)PQgetlength(r, i, 1);
        const void *rec = PQgetvalue(r, i, 1);
        int64_t id = jobs__pg_get_i64(r, i, 0);
        const char *name;
        size_t name_len;

        if (stacks ? jobs__stack_decode(&st, rec, len) : jobs__schedule_decode(&sc, rec, len)) {
            rc = jobs__error(JOBS_ECORRUPT, "%s %lld's record does not decode",
                             stacks ? "stack" : "schedule", (long long)id);
            break;
        }
        name = stacks ? st.name : sc.name;
        name_len = stacks ? st.name_len : sc.name_len;
        if (!name)
            continue;
        jobs__pg_i64(&p, id);
        jobs__pg_bytes(&p, name_len ? name : "", name_len);
        PGresult *u = PQexecParams(t->c->conn,
                                   stacks ? "UPDATE jobs_stack SET name = $2 WHERE id = $1"
                                          : "UPDATE jobs_schedule SET name = $2 WHERE id = $1",
                                   2, (const Oid[]){20, 17}, p.v, p.len, p.fmt, 1);
        if (PQresultStatus(u) != PGRES_COMMAND_OK)
            rc = t->failed = jobs__pg_error(t->c->conn, u, what);
        PQclear(u);
    }
    PQclear(r);
    return rc;
}

int jobs__pg_schema(jobs__txn *t, int (*seed)(jobs_store *s, jobs__txn *txn))
{
    char v[32];
    bool null;
    int rc;

    /* Two processes making a new store at once: the second waits, then finds the tables. */
    if (t->write &&
        (rc = jobs__pg_simple(t->c, "SELECT pg_advisory_xact_lock(" OPEN_LOCK ")", "opening")))
        return rc;
    if ((rc = text_query(t, "SELECT to_regclass('jobs_meta')", v, sizeof(v), &null)))
        return rc;
    if (null) {
        if (!t->write)
            return jobs__error(JOBS_ENOTFOUND, "the database holds no libjobs store (open it "
                               "read-write once to make one)");
        if ((rc = jobs__pg_simple(t->c, schema_v1, "making the store's tables")) ||
            (rc = jobs__pg_simple(t->c, schema_v2, "making the store's tables")) ||
            (rc = jobs__pg_simple(t->c, schema_v3, "making the store's tables")) ||
            (rc = jobs__pg_simple(t->c, schema_v4, "making the store's tables")) ||
            (rc = jobs__pg_simple(t->c, schema_v5, "making the store's tables")))
            return rc;
        return seed ? seed(t->s, t) : 0;
    }
    if ((rc = text_query(t, "SELECT value FROM jobs_meta WHERE key = 'schema'", v, sizeof(v),
                         &null)))
        return rc;
    if (null)
        return jobs__error(JOBS_ECORRUPT, "the store's schema version is missing");
    long version = strtol(v, NULL, 10);
    if (version > JOBS__PG_SCHEMA_VERSION)
        return jobs__error(JOBS_ESCHEMA, "the store has schema version %ld; this libjobs "
                           "knows versions up to %d", version, JOBS__PG_SCHEMA_VERSION);
    if (version < 1)
        return jobs__error(JOBS_ECORRUPT, "the store's schema version %ld is not valid",
                           version);
    /* Processes of the older version that have the store open hold its version lock shared
     * (pg.h, JOBS__PG_LOCK_KEY) and run that version's statements: migrating under them would
     * change the tables they read and write. Taken exclusively, it is held until the migration
     * commits, so one of them that connects meanwhile waits, then finds the new version and
     * refuses (store.c, hold_version). Earlier libjobs took no such lock and are not seen. */
    if (version < JOBS__PG_SCHEMA_VERSION && t->write) {
        char sql[160];

        snprintf(sql, sizeof(sql), "SELECT pg_try_advisory_xact_lock(" JOBS__PG_LOCK_KEY
                 ", %ld)", version);
        if ((rc = text_query(t, sql, v, sizeof(v), &null)))
            return rc;
        if (null || strcmp(v, "t") != 0)
            return jobs__error(JOBS_EBUSY, "the store has schema version %ld and needs "
                               "migrating to version %d, which needs it to itself: processes "
                               "of a libjobs of schema version %ld have it open; stop them, "
                               "then open the store again to migrate it", version,
                               JOBS__PG_SCHEMA_VERSION, version);
    }
    /* Older versions migrate here, in the open's transaction, one version at a time. */
    if (version < 2) {
        if (!t->write)
            return jobs__error(JOBS_ESCHEMA, "the store has schema version %ld: open it "
                               "read-write once to migrate it to %d", version,
                               JOBS__PG_SCHEMA_VERSION);
        if ((rc = jobs__pg_simple(t->c, schema_v2, "migrating the store to schema version 2")))
            return rc;
    }
    if (version < 3) {
        if (!t->write)
            return jobs__error(JOBS_ESCHEMA, "the store has schema version %ld: open it "
                               "read-write once to migrate it to %d", version,
                               JOBS__PG_SCHEMA_VERSION);
        if ((rc = jobs__pg_simple(t->c, schema_v3, "migrating the store to schema version 3")) ||
            (rc = fill_names(t, true)) || (rc = fill_names(t, false)))
            return rc;
    }
    if (version < 4) {
        if (!t->write)
            return jobs__error(JOBS_ESCHEMA, "the store has schema version %ld: open it "
                               "read-write once to migrate it to %d", version,
                               JOBS__PG_SCHEMA_VERSION);
        if ((rc = jobs__pg_simple(t->c, schema_v4, "migrating the store to schema version 4")))
            return rc;
    }
    if (version < 5) {
        if (!t->write)
            return jobs__error(JOBS_ESCHEMA, "the store has schema version %ld: open it "
                               "read-write once to migrate it to %d", version,
                               JOBS__PG_SCHEMA_VERSION);
        if ((rc = jobs__pg_simple(t->c, schema_v5, "migrating the store to schema version 5")))
            return rc;
    }
    return 0;
}

/* ---- ids, counts, pages ----------------------------------------------------------------- */

static int next_id(jobs__txn *t, jobs__kind kind, uint64_t *id)
{
    jobs__pg_params p = {0};
    int64_t v;
    int rc;

    if (kind == JOBS__RUN) {
        rc = exec_i64(t, STMT_RUN_ID_NEXT, &p, &v); /* schema 4: a sequence */
    } else {
        jobs__pg_i64(&p, kind);
        if ((rc = exec_i64(t, STMT_NEXT_ID, &p, &v)) == JOBS_ENOTFOUND)
            return jobs__error(JOBS_ECORRUPT, "the id counter of kind %d is missing", (int)kind);
    }
    if (rc)
        return rc;
    if (v < 1 || (uint64_t)v > JOBS_ID_MAX)
        return jobs__error(JOBS_ERANGE, "all ids 1..2^53-1 of kind %d are used", (int)kind);
    *id = (uint64_t)v;
    return 0;
}

static int count(jobs__txn *t, jobs__kind kind, uint64_t owner, uint64_t *n)
{
    jobs__pg_params p = {0};
    int64_t v = 0;
    int rc;

    jobs__pg_i64(&p, kind);
    jobs__pg_i64(&p, (int64_t)owner);
    rc = exec_i64(t, STMT_COUNT, &p, &v);
    if (rc && rc != JOBS_ENOTFOUND)
        return rc;
    if (v < 0)
        return jobs__error(JOBS_ECORRUPT, "a count is below zero");
    *n = (uint64_t)v;
    return 0;
}

/* Runs a statement whose rows are ids (column 0): at most `max` of them into `ids`, *n how many. */
static int exec_ids(jobs__txn *t, int stmt, const jobs__pg_params *p, size_t max, uint64_t *ids,
                    size_t *n)
{
    PGresult *r;
    int rc;

    if ((rc = jobs__pg_exec(t, stmt, p, &r)))
        return rc;
    *n = (size_t)PQntuples(r);
    if (*n > max)
        *n = max;
    for (size_t i = 0; i < *n; i++)
        ids[i] = (uint64_t)jobs__pg_get_i64(r, (int)i, 0);
    PQclear(r);
    return 0;
}

/* A scan's limit as a LIMIT parameter: NULL (no limit) for 0, and for one above what a bigint
 * holds, which PostgreSQL would take as negative and refuse (every row is fewer). */
static void limit_param(jobs__pg_params *p, size_t limit)
{
    if (limit == 0 || (uint64_t)limit > (uint64_t)INT64_MAX)
        jobs__pg_bytes(p, NULL, 0);
    else
        jobs__pg_i64(p, (int64_t)limit);
}

/* A queue's scan (due jobs, or queued runs): the rows (id, time) with time <= now, in order, at
 * most `limit` (0: all), each handed to `fn`; the claiming statement when the tick claims. */
static int queue_scan(jobs__txn *t, int scan, int claim, int64_t now, size_t limit,
                      jobs__due_fn fn, void *ctx)
{
    jobs__pg_params p = {0};
    PGresult *r;
    int rc;

    jobs__pg_i64(&p, now);
    limit_param(&p, limit);
    if ((rc = jobs__pg_exec(t, t->claim ? claim : scan, &p, &r)))
        return rc;
    for (int i = 0; i < PQntuples(r) && rc == 0; i++)
        rc = fn(ctx, (uint64_t)jobs__pg_get_i64(r, i, 0), jobs__pg_get_i64(r, i, 1));
    PQclear(r);
    return rc;
}

static int page(jobs__txn *t, jobs__kind kind, uint64_t a, uint64_t b, uint64_t skip, size_t max,
                uint64_t *ids, size_t *n)
{
    jobs__pg_params p = {0};
    int stmt;

    if (kind == JOBS__JOB && a == b) {
        jobs__pg_i64(&p, (int64_t)a);
        if (skip > 0) {
            jobs__pg_i64(&p, (int64_t)skip);
            stmt = STMT_PAGE_JOBS_DEEP;
        } else {
            stmt = STMT_PAGE_JOBS_FIRST;
        }
    } else {
        jobs__pg_i64(&p, (int64_t)a);
        jobs__pg_i64(&p, (int64_t)b);
        jobs__pg_i64(&p, (int64_t)skip);
        stmt = kind == JOBS__JOB ? STMT_PAGE_JOBS_TWO
               : kind == JOBS__SCHEDULE ? STMT_PAGE_SCHEDULES : STMT_PAGE_STACKS;
    }
    jobs__pg_i64(&p, (int64_t)max);
    return exec_ids(t, stmt, &p, max, ids, n);
}

/* A copy of record bytes that lives until the transaction ends (a decoded record's name points
 * into its bytes); NULL when out of memory. */
static const unsigned char *keep(jobs__txn *t, const unsigned char *buf, size_t len)
{
    jobs__pg_kept *k = jobs__malloc(sizeof(*k) + len);

    if (!k)
        return NULL;
    k->len = len;
    memcpy(k->data, buf, len);
    k->next = t->kept;
    t->kept = k;
    return k->data;
}

void jobs__pg_kept_free(jobs__txn *t)
{
    while (t->kept) {
        jobs__pg_kept *k = t->kept;
        t->kept = k->next;
        jobs__free(k);
    }
}

/* ---- jobs ------------------------------------------------------------------------------- */

static int job_load(jobs__txn *t, uint64_t id, jobs__job_rec *rec, unsigned char *copy)
{
    unsigned char buf[JOBS__RECORD_MAX];
    const unsigned char *dst;
    size_t len;
    int rc;

    /* A write locks the row it may change, so two writes of one job take turns (the second
     * reads what the first committed: entity tags and the queued state hold). */
    if ((rc = load_rec(t, t->write ? STMT_JOB_LOAD_LOCK : STMT_JOB_LOAD, id, buf, &len, "job")))
        return rc;
    if (copy)
        dst = memcpy(copy, buf, len);
    else if (!(dst = keep(t, buf, len)))
        return jobs__error(JOBS_ENOMEM, "out of memory loading job %llu",
                           (unsigned long long)id);
    return jobs__job_decode(rec, dst, len);
}

static int job_by_name(jobs__txn *t, uint64_t owner, const char *name, size_t len, uint64_t *id)
{
    jobs__pg_params p = {0};
    int64_t v;
    int rc;

    jobs__pg_i64(&p, (int64_t)owner);
    jobs__pg_bytes(&p, name, len);
    if ((rc = exec_i64(t, STMT_JOB_BY_NAME, &p, &v)))
        return rc;
    *id = (uint64_t)v;
    return 0;
}

static int job_insert(jobs__txn *t, uint64_t id, const jobs__job_rec *rec)
{
    unsigned char buf[JOBS__RECORD_MAX];
    size_t len = jobs__job_encode(buf, rec);
    jobs__pg_params p = {0};

    jobs__pg_i64(&p, (int64_t)id);
    jobs__pg_i64(&p, (int64_t)rec->owner);
    jobs__pg_bytes(&p, rec->name, rec->name_len);
    jobs__pg_bool(&p, rec->do_run);
    jobs__pg_i64(&p, rec->next_run);
    jobs__pg_i64(&p, (int64_t)rec->schedule);
    jobs__pg_bytes(&p, buf, len);
    jobs__pg_i64(&p, rec->do_del ? 1 : 0);
    return exec0(t, STMT_JOB_INSERT, &p, NULL);
}

static int job_update(jobs__txn *t, uint64_t id, const jobs__job_rec *old,
                      const jobs__job_rec *rec)
{
    unsigned char buf[JOBS__RECORD_MAX];
    size_t len = jobs__job_encode(buf, rec);
    jobs__pg_params p = {0};
    long n = 0;
    int rc;

    jobs__pg_i64(&p, (int64_t)id);
    jobs__pg_bytes(&p, rec->name, rec->name_len);
    jobs__pg_bool(&p, rec->do_run);
    jobs__pg_i64(&p, rec->next_run);
    jobs__pg_i64(&p, (int64_t)rec->schedule);
    jobs__pg_bytes(&p, buf, len);
    jobs__pg_i64(&p, (int64_t)old->schedule);
    jobs__pg_i64(&p, (int64_t)rec->do_del - (int64_t)old->do_del);
    if ((rc = exec0(t, STMT_JOB_UPDATE, &p, &n)))
        return rc;
    if (n != 1)
        return jobs__error(JOBS_ECORRUPT, "job %llu vanished while it was updated",
                           (unsigned long long)id);
    return 0;
}

static int job_remove(jobs__txn *t, uint64_t id, const jobs__job_rec *rec)
{
    jobs__pg_params p = {0};
    PGresult *r;
    int rc;

    jobs__pg_i64(&p, (int64_t)id);
    jobs__pg_i64(&p, rec->do_del ? -1 : 0);
    if ((rc = jobs__pg_exec(t, STMT_JOB_REMOVE, &p, &r)))
        return rc;
    for (int i = 0; i < 4; i++)
        if (jobs__pg_get_i64(r, 0, i) != 1)
            rc = jobs__error(JOBS_ECORRUPT, "job %llu or one of its counts is missing",
                             (unsigned long long)id);
    PQclear(r);
    return rc;
}

static int due_scan(jobs__txn *t, int64_t now, size_t limit, jobs__due_fn fn, void *ctx)
{
    return queue_scan(t, STMT_DUE_SCAN, STMT_DUE_CLAIM, now, limit, fn, ctx);
}

static int due_first(jobs__txn *t, int64_t *next_run)
{
    return exec_i64(t, STMT_DUE_FIRST, NULL, next_run);
}

/* ---- schedules and stacks --------------------------------------------------------------- */

static int schedule_load(jobs__txn *t, uint64_t id, jobs__schedule_rec *rec)
{
    unsigned char buf[JOBS__RECORD_MAX];
    const unsigned char *kept;
    size_t len;
    int rc;

    /* A write that reads a schedule locks it: a schedule's update (which checks that no job
     * uses it) and a job's create or change that starts using it take turns. The tick reads
     * schedules its claimed jobs use, which no update may change, without a lock. */
    if ((rc = load_rec(t, t->write && !t->claim ? STMT_SCHEDULE_LOAD_LOCK : STMT_SCHEDULE_LOAD,
                       id, buf, &len, "schedule")))
        return rc;
    if (!(kept = keep(t, buf, len)))
        return jobs__error(JOBS_ENOMEM, "out of memory loading schedule %llu",
                           (unsigned long long)id);
    return jobs__schedule_decode(rec, kept, len);
}

static int schedule_insert(jobs__txn *t, uint64_t id, const jobs__schedule_rec *rec)
{
    unsigned char buf[JOBS__RECORD_MAX];
    size_t len = jobs__schedule_encode(buf, rec);
    jobs__pg_params p = {0};

    jobs__pg_i64(&p, (int64_t)id);
    jobs__pg_i64(&p, (int64_t)rec->owner);
    jobs__pg_bytes(&p, buf, len);
    jobs__pg_bytes(&p, rec->name, rec->name_len);
    return exec0(t, STMT_SCHEDULE_INSERT, &p, NULL);
}

static int schedule_update(jobs__txn *t, uint64_t id, const jobs__schedule_rec *rec)
{
    unsigned char buf[JOBS__RECORD_MAX];
    size_t len = jobs__schedule_encode(buf, rec);
    jobs__pg_params p = {0};
    long n = 0;
    int rc;

    jobs__pg_i64(&p, (int64_t)id);
    jobs__pg_bytes(&p, buf, len);
    jobs__pg_bytes(&p, rec->name, rec->name_len);
    if ((rc = exec0(t, STMT_SCHEDULE_UPDATE, &p, &n)))
        return rc;
    return n == 1 ? 0 : jobs__error(JOBS_ECORRUPT, "schedule %llu vanished while it was updated",
                                    (unsigned long long)id);
}

static int schedule_refs(jobs__txn *t, uint64_t id, uint64_t *n)
{
    jobs__pg_params p = {0};
    int64_t v = 0;
    int rc;

    jobs__pg_i64(&p, (int64_t)id);
    rc = exec_i64(t, STMT_SCHEDULE_REFS, &p, &v);
    if (rc && rc != JOBS_ENOTFOUND)
        return rc;
    if (v < 0)
        return jobs__error(JOBS_ECORRUPT, "schedule %llu's reference count is below zero",
                           (unsigned long long)id);
    *n = (uint64_t)v;
    return 0;
}

static int schedule_remove(jobs__txn *t, uint64_t id, const jobs__schedule_rec *rec)
{
    jobs__pg_params p = {0};
    PGresult *r;
    int rc;

    (void)rec; /* the row holds the owner and the name */
    jobs__pg_i64(&p, (int64_t)id);
    if ((rc = jobs__pg_exec(t, STMT_SCHEDULE_REMOVE, &p, &r)))
        return rc;
    for (int i = 0; i < 2; i++)
        if (jobs__pg_get_i64(r, 0, i) != 1)
            rc = jobs__error(JOBS_ECORRUPT, "schedule %llu or its owner's count is missing",
                             (unsigned long long)id);
    PQclear(r);
    return rc;
}

static int stack_load(jobs__txn *t, uint64_t id, jobs__stack_rec *rec)
{
    unsigned char buf[JOBS__RECORD_MAX];
    const unsigned char *kept;
    size_t len;
    int rc;

    /* A write locks the stack it may change, as job_load does: two updates of one stack take
     * turns, so the second starts from what the first committed (no lost change, and the list
     * counts follow a change of visibility once). The tick changes no stack, and reads the
     * stacks of its jobs without a lock, so that ticking processes do not wait for each other
     * on a stack. */
    if ((rc = load_rec(t, t->write && !t->claim ? STMT_STACK_LOAD_LOCK : STMT_STACK_LOAD, id,
                       buf, &len, "stack")))
        return rc;
    if (!(kept = keep(t, buf, len)))
        return jobs__error(JOBS_ENOMEM, "out of memory loading stack %llu",
                           (unsigned long long)id);
    return jobs__stack_decode(rec, kept, len);
}

static int stack_insert(jobs__txn *t, uint64_t id, const jobs__stack_rec *rec)
{
    unsigned char buf[JOBS__RECORD_MAX];
    size_t len = jobs__stack_encode(buf, rec);
    jobs__pg_params p = {0};

    jobs__pg_i64(&p, (int64_t)id);
    jobs__pg_i64(&p, (int64_t)rec->owner);
    jobs__pg_i64(&p, (int64_t)(rec->is_public ? JOBS_OWNER_PUBLIC : rec->owner));
    jobs__pg_bytes(&p, buf, len);
    jobs__pg_bytes(&p, rec->name, rec->name_len);
    return exec0(t, STMT_STACK_INSERT, &p, NULL);
}

static int stack_update(jobs__txn *t, uint64_t id, const jobs__stack_rec *old,
                        const jobs__stack_rec *rec)
{
    unsigned char buf[JOBS__RECORD_MAX];
    size_t len = jobs__stack_encode(buf, rec);
    jobs__pg_params p = {0};
    long n = 0;
    int rc;

    (void)old; /* the statement reads the old listing from the row */
    jobs__pg_i64(&p, (int64_t)id);
    jobs__pg_i64(&p, (int64_t)(rec->is_public ? JOBS_OWNER_PUBLIC : rec->owner));
    jobs__pg_bytes(&p, rec->name, rec->name_len);
    jobs__pg_bytes(&p, buf, len);
    if ((rc = exec0(t, STMT_STACK_UPDATE, &p, &n)))
        return rc;
    return n == 1 ? 0 : jobs__error(JOBS_ECORRUPT, "stack %llu vanished while it was updated",
                                    (unsigned long long)id);
}

/* The id answering a by-name statement (the lowest of its matches): 0 or JOBS_ENOTFOUND. */
static int by_name(jobs__txn *t, int stmt, bool with_owner, uint64_t owner, const char *name,
                   size_t len, uint64_t *id)
{
    jobs__pg_params p = {0};
    int64_t v;
    int rc;

    if (with_owner)
        jobs__pg_i64(&p, (int64_t)owner);
    jobs__pg_bytes(&p, len ? name : "", len);
    if ((rc = exec_i64(t, stmt, &p, &v)))
        return rc;
    *id = (uint64_t)v;
    return 0;
}

static int stack_by_name(jobs__txn *t, uint64_t owner, const char *name, size_t len,
                         uint64_t *id)
{
    /* The rules keep a stack name unique per owner by looking it up before they give it, and
     * no unique index backs them (a store of an earlier release may hold two of one owner).
     * So a write that looks up an owner's name first claims it: two creates (or renames) to
     * one name take turns, and the second, its lookup a statement after the claim, sees the
     * first's committed stack and gets the rules' JOBS_ESTACKEXISTS, as on LMDB. */
    if (t->write && owner != JOBS_OWNER_PUBLIC) {
        jobs__pg_params p = {0};
        int rc;

        jobs__pg_i64(&p, (int64_t)owner);
        jobs__pg_bytes(&p, len ? name : "", len);
        if ((rc = exec0(t, STMT_STACK_NAME_LOCK, &p, NULL)))
            return rc;
    }
    if (owner == JOBS_OWNER_PUBLIC)
        return by_name(t, STMT_STACK_BY_NAME_PUBLIC, false, 0, name, len, id);
    return by_name(t, STMT_STACK_BY_NAME, true, owner, name, len, id);
}

static int schedule_by_name(jobs__txn *t, uint64_t owner, const char *name, size_t len,
                            uint64_t *id)
{
    return by_name(t, STMT_SCHEDULE_BY_NAME, true, owner, name, len, id);
}

static int stack_blocks_get(jobs__txn *t, uint64_t id, const void **data, size_t *len)
{
    jobs__pg_params p = {0};
    const unsigned char *kept;
    PGresult *r;
    int rc;

    jobs__pg_i64(&p, (int64_t)id);
    if ((rc = jobs__pg_exec(t, STMT_STACK_BLOCKS_GET, &p, &r)))
        return rc;
    if (PQntuples(r) < 1) {
        PQclear(r);
        return JOBS_ENOTFOUND;
    }
    *len = (size_t)PQgetlength(r, 0, 0);
    if (*len > JOBS_STACK_BLOCKS_MAX) {
        PQclear(r);
        return jobs__error(JOBS_ECORRUPT, "stack %llu's blocks are too long",
                           (unsigned long long)id);
    }
    kept = keep(t, (const unsigned char *)PQgetvalue(r, 0, 0), *len);
    PQclear(r);
    if (!kept)
        return jobs__error(JOBS_ENOMEM, "out of memory loading stack %llu's blocks",
                           (unsigned long long)id);
    *data = kept;
    return 0;
}

static int stack_blocks_put(jobs__txn *t, uint64_t id, const void *data, size_t len)
{
    jobs__pg_params p = {0};

    jobs__pg_i64(&p, (int64_t)id);
    if (!data)
        return exec0(t, STMT_STACK_BLOCKS_DEL, &p, NULL);
    jobs__pg_bytes(&p, len ? data : "", len);
    return exec0(t, STMT_STACK_BLOCKS_PUT, &p, NULL);
}

/* ---- runs ------------------------------------------------------------------------------- */

/* A run's queue time (pending: when made; running: its lease's end) as a parameter, or NULL
 * when it is not queued. */
static void queue_param(jobs__pg_params *p, const jobs__run_rec *r)
{
    if (r->state == JOBS_RUN_PENDING)
        jobs__pg_i64(p, r->created);
    else if (r->state == JOBS_RUN_RUNNING)
        jobs__pg_i64(p, r->lease_until);
    else
        jobs__pg_bytes(p, NULL, 0);
}

static int run_load(jobs__txn *t, uint64_t id, jobs__run_rec *rec)
{
    jobs__pg_params p = {0};
    const unsigned char *kept;
    PGresult *r;
    size_t len;
    int rc;

    /* A write locks the run it may change (two ticks, or a tick and a report, take turns). */
    jobs__pg_i64(&p, (int64_t)id);
    if ((rc = jobs__pg_exec(t, t->write ? STMT_RUN_LOAD_LOCK : STMT_RUN_LOAD, &p, &r)))
        return rc;
    if (PQntuples(r) < 1) {
        PQclear(r);
        return JOBS_ENOTFOUND;
    }
    len = (size_t)PQgetlength(r, 0, 0);
    if (len > JOBS__RUN_RECORD_MAX) {
        PQclear(r);
        return jobs__error(JOBS_ECORRUPT, "run %llu's record is too long",
                           (unsigned long long)id);
    }
    kept = keep(t, (const unsigned char *)PQgetvalue(r, 0, 0), len);
    PQclear(r);
    if (!kept)
        return jobs__error(JOBS_ENOMEM, "out of memory loading run %llu",
                           (unsigned long long)id);
    return jobs__run_decode(rec, kept, len);
}

static int run_write(jobs__txn *t, int stmt, uint64_t id, const jobs__run_rec *rec, long *n)
{
    unsigned char *buf = jobs__malloc(JOBS__RUN_RECORD_MAX);
    jobs__pg_params p = {0};
    size_t len;
    int rc;

    if (!buf)
        return jobs__error(JOBS_ENOMEM, "out of memory writing a run");
    len = jobs__run_encode(buf, rec);
    jobs__pg_i64(&p, (int64_t)id);
    if (stmt == STMT_RUN_INSERT) {
        jobs__pg_i64(&p, (int64_t)rec->owner);
        jobs__pg_i64(&p, (int64_t)rec->job);
        jobs__pg_i64(&p, (int64_t)rec->stack);
    }
    queue_param(&p, rec);
    jobs__pg_bytes(&p, buf, len);
    rc = exec0(t, stmt, &p, n);
    jobs__free(buf);
    return rc;
}

static int run_insert(jobs__txn *t, uint64_t id, const jobs__run_rec *rec)
{
    return run_write(t, STMT_RUN_INSERT, id, rec, NULL);
}

static int run_update(jobs__txn *t, uint64_t id, const jobs__run_rec *old,
                      const jobs__run_rec *rec)
{
    long n = 0;
    int rc;

    (void)old;
    if ((rc = run_write(t, STMT_RUN_UPDATE, id, rec, &n)))
        return rc;
    return n == 1 ? 0 : jobs__error(JOBS_ECORRUPT, "run %llu vanished while it was updated",
                                    (unsigned long long)id);
}

static int run_remove(jobs__txn *t, uint64_t id, const jobs__run_rec *rec)
{
    jobs__pg_params p = {0};
    long n = 0;
    int rc;

    (void)rec;
    jobs__pg_i64(&p, (int64_t)id);
    if ((rc = exec0(t, STMT_RUN_REMOVE, &p, &n)))
        return rc;
    return n == 1 ? 0 : jobs__error(JOBS_ECORRUPT, "run %llu is missing",
                                    (unsigned long long)id);
}

static int run_count(jobs__txn *t, jobs__run_by by, uint64_t owner, uint64_t id, uint64_t *n)
{
    jobs__pg_params p = {0};
    int64_t v = 0;
    int stmt, rc;

    if (by == JOBS__RUNS_OF_JOB) {
        stmt = STMT_RUN_COUNT_JOB;
    } else {
        jobs__pg_i64(&p, (int64_t)owner);
        stmt = by == JOBS__RUNS_DIRECT ? STMT_RUN_COUNT_DIRECT : STMT_RUN_COUNT_STACK;
    }
    jobs__pg_i64(&p, (int64_t)id);
    rc = exec_i64(t, stmt, &p, &v);
    if (rc && rc != JOBS_ENOTFOUND)
        return rc;
    *n = v > 0 ? (uint64_t)v : 0;
    return 0;
}

static int run_page(jobs__txn *t, jobs__run_by by, uint64_t owner, uint64_t id, bool oldest_first,
                    uint64_t skip, size_t max, uint64_t *ids, size_t *n)
{
    jobs__pg_params p = {0};
    int stmt;

    *n = 0;
    if (max == 0)
        return 0;
    stmt = by == JOBS__RUNS_OF_STACK ? STMT_RUN_PAGE_STACK
           : by == JOBS__RUNS_DIRECT ? STMT_RUN_PAGE_DIRECT : STMT_RUN_PAGE_JOB;
    if (oldest_first)
        stmt++; /* each _OLD statement follows its newest-first one */
    jobs__pg_i64(&p, (int64_t)id);
    jobs__pg_i64(&p, (int64_t)owner);
    jobs__pg_i64(&p, skip > INT64_MAX ? INT64_MAX : (int64_t)skip);
    jobs__pg_i64(&p, (int64_t)max);
    return exec_ids(t, stmt, &p, max, ids, n);
}

static int run_due_scan(jobs__txn *t, int64_t now, size_t limit, jobs__due_fn fn, void *ctx)
{
    return queue_scan(t, STMT_RUN_DUE_SCAN, STMT_RUN_DUE_CLAIM, now, limit, fn, ctx);
}

/* ---- idempotency keys ------------------------------------------------------------------- */

static void idem_params(jobs__pg_params *p, uint64_t owner, jobs__kind kind, const char *key,
                        size_t len)
{
    jobs__pg_i64(p, (int64_t)owner);
    jobs__pg_i64(p, kind);
    jobs__pg_bytes(p, key, len);
}

static int idem_get(jobs__txn *t, uint64_t owner, jobs__kind kind, const char *key, size_t len,
                    jobs__idem_rec *rec)
{
    jobs__pg_params p = {0};
    PGresult *r;
    int rc;

    idem_params(&p, owner, kind, key, len);
    if ((rc = jobs__pg_exec(t, STMT_IDEM_GET, &p, &r)))
        return rc;
    if (PQntuples(r) < 1) {
        PQclear(r);
        return JOBS_ENOTFOUND;
    }
    size_t fl = (size_t)PQgetlength(r, 0, 2);
    if (fl > JOBS_IDEMPOTENCY_FINGERPRINT_MAX) {
        PQclear(r);
        return jobs__error(JOBS_ECORRUPT, "an idempotency record is corrupt");
    }
    rec->expires = jobs__pg_get_i64(r, 0, 0);
    rec->id = (uint64_t)jobs__pg_get_i64(r, 0, 1);
    rec->fingerprint_len = fl;
    memcpy(rec->fingerprint, PQgetvalue(r, 0, 2), fl);
    PQclear(r);
    return 0;
}

static int idem_put(jobs__txn *t, uint64_t owner, jobs__kind kind, const char *key, size_t len,
                    const jobs__idem_rec *rec)
{
    jobs__pg_params p = {0};
    int rc;

    /* Delete, then a plain insert: a concurrent create with the same new key meets the unique
     * index, runs again, and then finds this entry (an upsert would overwrite it). */
    idem_params(&p, owner, kind, key, len);
    if ((rc = exec0(t, STMT_IDEM_DELETE, &p, NULL)))
        return rc;
    jobs__pg_i64(&p, rec->expires);
    jobs__pg_i64(&p, (int64_t)rec->id);
    jobs__pg_bytes(&p, rec->fingerprint, rec->fingerprint_len);
    return exec0(t, STMT_IDEM_INSERT, &p, NULL);
}

static int idem_sweep(jobs__txn *t, int64_t now, size_t max, size_t *swept)
{
    jobs__pg_params p = {0};
    int64_t v = 0;
    int rc;

    jobs__pg_i64(&p, now);
    jobs__pg_i64(&p, (int64_t)max);
    rc = exec_i64(t, STMT_IDEM_SWEEP, &p, &v);
    *swept = (size_t)v;
    return rc == JOBS_ENOTFOUND ? 0 : rc;
}

/* ---- namespaced records ---------------------------------------------------------------- */

static int kv_get(jobs__txn *t, const char *ns, size_t ns_len, const void *key, size_t key_len,
                  void *buf, size_t size, size_t *len)
{
    jobs__pg_params p = {0};
    PGresult *r;
    int rc;

    *len = 0;
    jobs__pg_bytes(&p, ns, ns_len);
    jobs__pg_bytes(&p, key, key_len);
    /* A write locks what it reads (id counters are read, then written): two writes of one
     * record take turns. */
    if ((rc = jobs__pg_exec(t, t->write ? STMT_KV_GET_LOCK : STMT_KV_GET, &p, &r)))
        return rc;
    if (PQntuples(r) < 1) {
        PQclear(r);
        return JOBS_ENOTFOUND;
    }
    *len = (size_t)PQgetlength(r, 0, 0);
    if (size && *len)
        memcpy(buf, PQgetvalue(r, 0, 0), *len < size ? *len : size);
    PQclear(r);
    return 0;
}

static int kv_put(jobs__txn *t, const char *ns, size_t ns_len, const void *key, size_t key_len,
                  const void *value, size_t value_len)
{
    jobs__pg_params p = {0};
    long n = 0;
    int rc;

    /* An update, else a plain insert: two writes making one new record meet the primary key,
     * and the second runs again and finds the first's (an upsert would overwrite it). */
    jobs__pg_bytes(&p, ns, ns_len);
    jobs__pg_bytes(&p, key, key_len);
    jobs__pg_bytes(&p, value_len ? value : "", value_len);
    if ((rc = exec0(t, STMT_KV_UPDATE, &p, &n)) || n > 0)
        return rc;
    return exec0(t, STMT_KV_INSERT, &p, NULL);
}

static int kv_del(jobs__txn *t, const char *ns, size_t ns_len, const void *key, size_t key_len)
{
    jobs__pg_params p = {0};
    long n = 0;
    int rc;

    jobs__pg_bytes(&p, ns, ns_len);
    jobs__pg_bytes(&p, key, key_len);
    if ((rc = exec0(t, STMT_KV_DEL, &p, &n)))
        return rc;
    return n > 0 ? 0 : JOBS_ENOTFOUND;
}

static int kv_scan(jobs__txn *t, const char *ns, size_t ns_len, const void *from,
                   size_t from_len, size_t limit, jobs_kv_scan_fn fn, void *ctx)
{
    jobs__pg_params p = {0};
    PGresult *r;
    int rc;

    jobs__pg_bytes(&p, ns, ns_len);
    jobs__pg_bytes(&p, from_len ? from : "", from_len);
    limit_param(&p, limit);
    if ((rc = jobs__pg_exec(t, STMT_KV_SCAN, &p, &r)))
        return rc;
    for (int i = 0; i < PQntuples(r) && rc == 0; i++)
        rc = fn(ctx, PQgetvalue(r, i, 0), (size_t)PQgetlength(r, i, 0), PQgetvalue(r, i, 1),
                (size_t)PQgetlength(r, i, 1));
    PQclear(r);
    return rc < 0 ? rc : 0;
}

/* ---- jobs_store_copy() ------------------------------------------------------------------- */

#define COPY_BATCH 10000

static int rec_scan(jobs__txn *t, jobs__kind kind, jobs__rec_fn fn, void *ctx)
{
    int stmt;
    int64_t after = 0;
    int rc = 0;

    switch ((int)kind) {
    case JOBS__JOB: stmt = STMT_COPY_JOBS; break;
    case JOBS__SCHEDULE: stmt = STMT_COPY_SCHEDULES; break;
    case JOBS__STACK: stmt = STMT_COPY_STACKS; break;
    case JOBS__RUN: stmt = STMT_COPY_RUNS; break;
    default: return jobs__error(JOBS_EINVAL, "copy: no records of kind %d", (int)kind);
    }
    for (;;) {
        jobs__pg_params p = {0};
        PGresult *r;
        int n;

        jobs__pg_i64(&p, after);
        jobs__pg_i64(&p, COPY_BATCH);
        if ((rc = jobs__pg_exec(t, stmt, &p, &r)))
            return rc;
        n = PQntuples(r);
        for (int i = 0; i < n && rc == 0; i++) {
            after = jobs__pg_get_i64(r, i, 0);
            rc = fn(ctx, (uint64_t)after, PQgetvalue(r, i, 1), (size_t)PQgetlength(r, i, 1));
        }
        PQclear(r);
        if (rc)
            return rc < 0 ? rc : 0;
        if (n < COPY_BATCH)
            return 0;
    }
}

static int idem_scan(jobs__txn *t, jobs__idem_fn fn, void *ctx)
{
    PGresult *r;
    int rc;

    if ((rc = jobs__pg_exec(t, STMT_COPY_IDEM, NULL, &r)))
        return rc;
    for (int i = 0; i < PQntuples(r) && rc == 0; i++) {
        jobs__idem_rec rec;
        size_t flen = (size_t)PQgetlength(r, i, 5);

        if (flen > sizeof(rec.fingerprint)) {
            rc = jobs__error(JOBS_ECORRUPT, "copy: an idempotency entry is corrupt");
            break;
        }
        rec.expires = jobs__pg_get_i64(r, i, 3);
        rec.id = (uint64_t)jobs__pg_get_i64(r, i, 4);
        rec.fingerprint_len = flen;
        memcpy(rec.fingerprint, PQgetvalue(r, i, 5), flen);
        rc = fn(ctx, (uint64_t)jobs__pg_get_i64(r, i, 0), (jobs__kind)jobs__pg_get_i64(r, i, 1),
                PQgetvalue(r, i, 2), (size_t)PQgetlength(r, i, 2), &rec);
    }
    PQclear(r);
    return rc < 0 ? rc : 0;
}

static int kv_scan_all(jobs__txn *t, jobs__kv_all_fn fn, void *ctx)
{
    PGresult *r;
    int rc;

    if ((rc = jobs__pg_exec(t, STMT_COPY_KV, NULL, &r)))
        return rc;
    for (int i = 0; i < PQntuples(r) && rc == 0; i++)
        rc = fn(ctx, PQgetvalue(r, i, 0), (size_t)PQgetlength(r, i, 0), PQgetvalue(r, i, 1),
                (size_t)PQgetlength(r, i, 1), PQgetvalue(r, i, 2), (size_t)PQgetlength(r, i, 2));
    PQclear(r);
    return rc < 0 ? rc : 0;
}

static int id_peek(jobs__txn *t, jobs__kind kind, uint64_t *next)
{
    jobs__pg_params p = {0};
    int64_t v;
    int rc;

    if (kind == JOBS__RUN) {
        rc = exec_i64(t, STMT_RUN_ID_PEEK, &p, &v); /* schema 4: a sequence */
    } else {
        jobs__pg_i64(&p, kind);
        if ((rc = exec_i64(t, STMT_ID_PEEK, &p, &v)) == JOBS_ENOTFOUND)
            return jobs__error(JOBS_ECORRUPT, "the id counter of kind %d is missing", (int)kind);
    }
    if (rc)
        return rc;
    *next = (uint64_t)v;
    return 0;
}

static int id_set(jobs__txn *t, jobs__kind kind, uint64_t next)
{
    jobs__pg_params p = {0};
    long n = 0;
    int rc;

    if (kind == JOBS__RUN) {
        int64_t v;

        jobs__pg_i64(&p, (int64_t)next);
        return exec_i64(t, STMT_RUN_ID_SET, &p, &v);
    }
    jobs__pg_i64(&p, kind);
    jobs__pg_i64(&p, (int64_t)next);
    if ((rc = exec0(t, STMT_ID_SET, &p, &n)))
        return rc;
    return n == 1 ? 0 : jobs__error(JOBS_ECORRUPT, "the id counter of kind %d is missing",
                                    (int)kind);
}

const jobs__backend jobs__pg_backend = {
    .name = "postgresql",
    .read = jobs__pg_read,
    .write = jobs__pg_write,
    .close = jobs__pg_close,
    .stat = jobs__pg_stat,
    .check = jobs__pg_check,
    .backup = jobs__pg_backup,
    .next_id = next_id,
    .count = count,
    .page = page,
    .job_load = job_load,
    .job_by_name = job_by_name,
    .job_insert = job_insert,
    .job_update = job_update,
    .job_remove = job_remove,
    .due_scan = due_scan,
    .due_first = due_first,
    .schedule_load = schedule_load,
    .schedule_insert = schedule_insert,
    .schedule_update = schedule_update,
    .schedule_refs = schedule_refs,
    .schedule_remove = schedule_remove,
    .stack_load = stack_load,
    .stack_insert = stack_insert,
    .stack_update = stack_update,
    .stack_by_name = stack_by_name,
    .stack_blocks_get = stack_blocks_get,
    .stack_blocks_put = stack_blocks_put,
    .schedule_by_name = schedule_by_name,
    .idem_get = idem_get,
    .idem_put = idem_put,
    .idem_sweep = idem_sweep,
    .kv_get = kv_get,
    .kv_put = kv_put,
    .kv_del = kv_del,
    .kv_scan = kv_scan,
    .run_load = run_load,
    .run_insert = run_insert,
    .run_update = run_update,
    .run_remove = run_remove,
    .run_count = run_count,
    .run_page = run_page,
    .run_due_scan = run_due_scan,
    .write_claim = jobs__pg_write_claim,
    .rec_scan = rec_scan,
    .idem_scan = idem_scan,
    .kv_scan_all = kv_scan_all,
    .id_peek = id_peek,
    .id_set = id_set,
    .wait = jobs__pg_wait,
    .notify_due = jobs__pg_notify_due,
};
