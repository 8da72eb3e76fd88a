/* The PostgreSQL backend's verifier (jobs_store_check): in one snapshot, every record decodes
 * and agrees with the columns the statements search; the counts, the page buckets, the
 * schedule reference counts, the queued count and the id counters agree with the rows; every
 * job's schedule and stack exist, and its owner may use the schedule. Rows are read through a cursor,
 * a batch at a time. */
#include <stdio.h>

#include "../rules.h"
#include "pg.h"

#define BATCH "10000"
#define S_(x) #x
#define S(x) S_(x)

typedef struct stack_vis {
    uint64_t id, owner;
    bool is_public;
} stack_vis;

static int fail_sql(jobs__txn *t, const char *sql, PGresult **out)
{
    PGresult *r = PQexec(t->c->conn, sql);

    if (PQresultStatus(r) != PGRES_TUPLES_OK && PQresultStatus(r) != PGRES_COMMAND_OK) {
        int rc = jobs__pg_error(t->c->conn, r, "checking the store");
        PQclear(r);
        return t->failed = rc;
    }
    if (out)
        *out = r;
    else
        PQclear(r);
    return 0;
}

/* A query that must return no row; its first row (as text) is the inconsistency. */
static int none(jobs__txn *t, const char *what, const char *sql)
{
    PGresult *r = NULL;
    int rc = fail_sql(t, sql, &r);

    if (rc)
        return rc;
    if (PQntuples(r) > 0) {
        char row[160] = "";
        size_t used = 0;
        for (int i = 0; i < PQnfields(r) && used < sizeof(row) - 1; i++)
            used += (size_t)snprintf(row + used, sizeof(row) - used, "%s%s=%s", i ? " " : "",
                                     PQfname(r, i), PQgetisnull(r, 0, i) ? "null"
                                                                         : PQgetvalue(r, 0, i));
        rc = jobs__error(JOBS_ECORRUPT, "%s (%s)", what, row);
    }
    PQclear(r);
    return rc;
}

static int cmp_stack(const void *a, const void *b)
{
    uint64_t x = ((const stack_vis *)a)->id, y = ((const stack_vis *)b)->id;
    return x < y ? -1 : x > y;
}

static uint64_t u64(const PGresult *r, int row, int col)
{
    return (uint64_t)strtoull(PQgetvalue(r, row, col), NULL, 10);
}

/* Reads a bytea column in text form (\x hex) of at most `cap` bytes. */
static int unhex_cap(const PGresult *r, int row, int col, unsigned char *buf, size_t *len,
                     size_t cap)
{
    const char *v = PQgetvalue(r, row, col);
    size_t n = strlen(v);

    if (n < 2 || v[0] != '\\' || v[1] != 'x' || (n - 2) % 2 || (n - 2) / 2 > cap)
        return -1;
    *len = (n - 2) / 2;
    for (size_t i = 0; i < *len; i++) {
        unsigned hi, lo;
        if (sscanf(v + 2 + 2 * i, "%1x%1x", &hi, &lo) != 2)
            return -1;
        buf[i] = (unsigned char)(hi << 4 | lo);
    }
    return 0;
}

static int unhex(const PGresult *r, int row, int col, unsigned char *buf, size_t *len)
{
    return unhex_cap(r, row, col, buf, len, JOBS__RECORD_MAX);
}

/* Whether a name column (`col`, NULL or bytea) holds the record's name. */
static bool name_agrees(const PGresult *r, int row, int col, const char *name, size_t len)
{
    unsigned char buf[JOBS__RECORD_MAX];
    size_t n;

    if (PQgetisnull(r, row, col))
        return name == NULL;
    return name && unhex(r, row, col, buf, &n) == 0 && n == len && memcmp(buf, name, n) == 0;
}

static int check_stacks(jobs__txn *t, stack_vis **stacks, size_t *n_stacks)
{
    PGresult *r = NULL;
    int rc = fail_sql(t, "SELECT id, owner, listed, rec, name FROM jobs_stack ORDER BY id", &r);

    if (rc)
        return rc;
    *n_stacks = (size_t)PQntuples(r);
    if (!(*stacks = jobs__malloc((*n_stacks + 1) * sizeof(**stacks)))) {
        PQclear(r);
        return jobs__error(JOBS_ENOMEM, "out of memory checking the store");
    }
    for (size_t i = 0; i < *n_stacks && rc == 0; i++) {
        unsigned char buf[JOBS__RECORD_MAX];
        jobs__stack_rec rec;
        size_t len;
        uint64_t id = u64(r, (int)i, 0);

        if (unhex(r, (int)i, 3, buf, &len) || jobs__stack_decode(&rec, buf, len))
            rc = jobs__error(JOBS_ECORRUPT, "stack %llu's record does not decode",
                             (unsigned long long)id);
        else if (rec.owner != u64(r, (int)i, 1) ||
                 (rec.is_public ? JOBS_OWNER_PUBLIC : rec.owner) != u64(r, (int)i, 2) ||
                 !name_agrees(r, (int)i, 4, rec.name, rec.name_len))
            rc = jobs__error(JOBS_ECORRUPT, "stack %llu's columns disagree with its record",
                             (unsigned long long)id);
        (*stacks)[i].id = id;
        (*stacks)[i].owner = rec.owner;
        (*stacks)[i].is_public = rec.is_public;
    }
    PQclear(r);
    return rc;
}

static int check_schedules(jobs__txn *t)
{
    PGresult *r = NULL;
    int rc = fail_sql(t, "SELECT id, owner, rec, name FROM jobs_schedule ORDER BY id", &r);

    if (rc)
        return rc;
    for (int i = 0; i < PQntuples(r) && rc == 0; i++) {
        unsigned char buf[JOBS__RECORD_MAX];
        jobs__schedule_rec rec;
        size_t len;

        if (unhex(r, i, 2, buf, &len) || jobs__schedule_decode(&rec, buf, len))
            rc = jobs__error(JOBS_ECORRUPT, "schedule %s's record does not decode",
                             PQgetvalue(r, i, 0));
        else if (rec.owner != u64(r, i, 1) || !name_agrees(r, i, 3, rec.name, rec.name_len))
            rc = jobs__error(JOBS_ECORRUPT, "schedule %s's owner or name column disagrees with its "
                             "record", PQgetvalue(r, i, 0));
        else if (rec.cron)
            rc = jobs__schedule_check_cron(u64(r, i, 0), &rec);
    }
    PQclear(r);
    return rc;
}

/* Every job row, through a cursor: decodes, agrees with its columns, uses a stack its owner may
 * use; counts the jobs queued for deletion. */
static int check_jobs(jobs__txn *t, const stack_vis *stacks, size_t n_stacks, uint64_t *queued)
{
    int rc = fail_sql(t, "DECLARE jobs_check CURSOR FOR SELECT id, owner, name, active,"
                         " next_run, schedule, rec FROM jobs_job ORDER BY id", NULL);

    *queued = 0;
    while (rc == 0) {
        PGresult *r = NULL;
        if ((rc = fail_sql(t, "FETCH " BATCH " FROM jobs_check", &r)))
            break;
        int rows = PQntuples(r);
        for (int i = 0; i < rows && rc == 0; i++) {
            unsigned char buf[JOBS__RECORD_MAX], nbuf[JOBS__RECORD_MAX];
            jobs__job_rec rec;
            size_t len, nlen = 0;
            uint64_t id = u64(r, i, 0);
            bool null_name = PQgetisnull(r, i, 2);

            if (unhex(r, i, 6, buf, &len) || jobs__job_decode(&rec, buf, len) ||
                (!null_name && unhex(r, i, 2, nbuf, &nlen))) {
                rc = jobs__error(JOBS_ECORRUPT, "job %llu's record does not decode",
                                 (unsigned long long)id);
                break;
            }
            bool active = PQgetvalue(r, i, 3)[0] == 't';
            if (rec.owner != u64(r, i, 1) || rec.do_run != active ||
                rec.next_run != strtoll(PQgetvalue(r, i, 4), NULL, 10) ||
                rec.schedule != u64(r, i, 5) || (rec.name == NULL) != null_name ||
                (rec.name && (rec.name_len != nlen || memcmp(rec.name, nbuf, nlen)))) {
                rc = jobs__error(JOBS_ECORRUPT, "job %llu's columns disagree with its record",
                                 (unsigned long long)id);
                break;
            }
            stack_vis key = {rec.stack, 0, false};
            const stack_vis *st = bsearch(&key, stacks, n_stacks, sizeof(*stacks), cmp_stack);
            /* Only that it exists: an owner may make a public stack private, and the other
             * owners' jobs that use it keep it (visibility is checked when a job takes one). */
            if (!st)
                rc = jobs__error(JOBS_ECORRUPT, "job %llu uses stack %llu, which is missing",
                                 (unsigned long long)id,
                                 (unsigned long long)rec.stack);
            if (rec.do_del)
                (*queued)++;
        }
        PQclear(r);
        if (rows == 0)
            break;
    }
    return rc;
}

/* Every run row, through a cursor: decodes and agrees with its columns (owner, job, stack,
 * and the queue time its state gives). */
static int check_runs(jobs__txn *t)
{
    unsigned char *buf = jobs__malloc(JOBS__RUN_RECORD_MAX);
    int rc;

    if (!buf)
        return jobs__error(JOBS_ENOMEM, "out of memory checking the store");
    rc = fail_sql(t, "DECLARE runs_check CURSOR FOR SELECT id, owner, job, stack,"
                     " queue_time, rec FROM jobs_run ORDER BY id", NULL);
    while (rc == 0) {
        PGresult *r = NULL;
        if ((rc = fail_sql(t, "FETCH " BATCH " FROM runs_check", &r)))
            break;
        int rows = PQntuples(r);
        for (int i = 0; i < rows && rc == 0; i++) {
            jobs__run_rec rec;
            size_t len;
            int64_t at = 0;
            bool queued;

            if (unhex_cap(r, i, 5, buf, &len, JOBS__RUN_RECORD_MAX) ||
                jobs__run_decode(&rec, buf, len)) {
                rc = jobs__error(JOBS_ECORRUPT, "run %s's record does not decode",
                                 PQgetvalue(r, i, 0));
                break;
            }
            queued = rec.state == JOBS_RUN_PENDING || rec.state == JOBS_RUN_RUNNING;
            if (queued)
                at = rec.state == JOBS_RUN_PENDING ? rec.created : rec.lease_until;
            if (rec.owner != u64(r, i, 1) || rec.job != u64(r, i, 2) ||
                rec.stack != u64(r, i, 3) || queued == (bool)PQgetisnull(r, i, 4) ||
                (queued && at != strtoll(PQgetvalue(r, i, 4), NULL, 10)))
                rc = jobs__error(JOBS_ECORRUPT, "run %s's columns disagree with its record",
                                 PQgetvalue(r, i, 0));
        }
        PQclear(r);
        if (rows == 0)
            break;
    }
    jobs__free(buf);
    return rc;
}

static int check_txn(jobs_store *s, jobs__txn *t, void *arg)
{
    stack_vis *stacks = NULL;
    size_t n_stacks = 0;
    uint64_t queued;
    PGresult *r = NULL;
    char sql[160];
    int rc;

    (void)s;
    (void)arg;
    char kv[512];
    snprintf(kv, sizeof(kv), "SELECT encode(ns, 'escape') AS ns, length(key) AS key_bytes,"
             " length(value) AS value_bytes FROM jobs_kv WHERE length(ns) NOT BETWEEN 1 AND %d"
             " OR length(key) NOT BETWEEN 1 AND %d OR (ns = convert_to('%s', 'UTF8') AND"
             " length(value) <> 8) OR (ns <> convert_to('%s', 'UTF8') AND length(value) > %d)"
             " LIMIT 1", JOBS_KV_NAMESPACE_MAX, JOBS_KV_KEY_MAX, JOBS__KV_IDS, JOBS__KV_IDS,
             JOBS_KV_VALUE_MAX);
    /* The record bytes are read as text (\x hex, unhex()): whatever the server, database,
     * role or conninfo set bytea_output to, this transaction reads hex. */
    if ((rc = fail_sql(t, "SET LOCAL bytea_output = 'hex'", NULL)) ||
        (rc = none(t, "the schema version is not the library's",
                   "SELECT value FROM jobs_meta WHERE key = 'schema' AND value <> "
                   S(JOBS__PG_SCHEMA_VERSION))) ||
        (rc = none(t, "a namespaced record is malformed", kv)) ||
        (rc = check_stacks(t, &stacks, &n_stacks)) || (rc = check_schedules(t)) ||
        (rc = check_jobs(t, stacks, n_stacks, &queued)) || (rc = check_runs(t)))
        goto out;
    snprintf(sql, sizeof(sql), "SELECT value FROM jobs_meta WHERE key = 'queued' AND value <> %llu",
             (unsigned long long)queued);
    if ((rc = none(t, "the count of jobs queued for deletion disagrees with the jobs", sql)) ||
        (rc = none(t, "a job's schedule is missing or not its owner's",
                   "SELECT j.id, j.schedule FROM jobs_job j LEFT JOIN jobs_schedule s"
                   " ON s.id = j.schedule WHERE s.id IS NULL OR s.owner NOT IN (0, j.owner)"
                   " LIMIT 1")) ||
        (rc = none(t, "a per-owner count disagrees with the rows",
                   "WITH a AS (SELECT 0 AS kind, owner, count(*) AS n FROM jobs_job GROUP BY owner"
                   " UNION ALL SELECT 1, owner, count(*) FROM jobs_schedule GROUP BY owner"
                   " UNION ALL SELECT 2, listed, count(*) FROM jobs_stack GROUP BY listed)"
                   " SELECT coalesce(a.kind, c.kind) AS kind, coalesce(a.owner, c.owner) AS owner,"
                   " a.n AS rows, c.n AS count FROM a FULL JOIN jobs_count c"
                   " ON c.kind = a.kind AND c.owner = a.owner"
                   " WHERE coalesce(a.n, 0) <> coalesce(c.n, 0) LIMIT 1")) ||
        (rc = none(t, "a page bucket's count disagrees with the jobs",
                   "WITH a AS (SELECT owner, bucket, count(*) AS n FROM jobs_job"
                   " GROUP BY owner, bucket)"
                   " SELECT coalesce(a.owner, b.owner) AS owner,"
                   " coalesce(a.bucket, b.bucket) AS bucket, a.n AS rows, b.n AS count"
                   " FROM a FULL JOIN jobs_bucket b ON b.owner = a.owner AND b.bucket = a.bucket"
                   " WHERE coalesce(a.n, 0) <> coalesce(b.n, 0) LIMIT 1")) ||
        (rc = none(t, "the page buckets are out of id order",
                   "SELECT owner, id FROM (SELECT owner, id, bucket, lag(bucket) OVER"
                   " (PARTITION BY owner ORDER BY id) AS prev FROM jobs_job) x"
                   " WHERE bucket < prev LIMIT 1")) ||
        (rc = none(t, "a schedule's reference count disagrees with the jobs",
                   "SELECT s.id, s.refs, count(j.id) AS jobs FROM jobs_schedule s"
                   " LEFT JOIN jobs_job j ON j.schedule = s.id GROUP BY s.id"
                   " HAVING s.refs <> count(j.id) LIMIT 1")) ||
        (rc = none(t, "an id counter is not ahead of every id",
                   "SELECT i.kind, i.next FROM jobs_ids i WHERE i.next <= coalesce(CASE i.kind"
                   " WHEN 0 THEN (SELECT max(id) FROM jobs_job)"
                   " WHEN 1 THEN (SELECT max(id) FROM jobs_schedule)"
                   " WHEN 2 THEN (SELECT max(id) FROM jobs_stack)"
                   " END, 0)"
                   " OR (SELECT count(*) FROM jobs_ids) <> 3")) ||
        (rc = none(t, "the run id sequence is not ahead of every run id",
                   "SELECT 1 FROM jobs_run_id s WHERE CASE WHEN s.is_called THEN"
                   " s.last_value + 1 ELSE s.last_value END"
                   " <= coalesce((SELECT max(id) FROM jobs_run), 0)")) ||
        (rc = none(t, "a stack's blocks have no stack",
                   "SELECT b.id FROM jobs_stack_blocks b LEFT JOIN jobs_stack s ON s.id = b.id"
                   " WHERE s.id IS NULL LIMIT 1")) ||
        (rc = none(t, "an idempotency entry is corrupt",
                   "SELECT owner, kind FROM jobs_idem WHERE length(fingerprint) > " 
                   "32 OR id < 1 OR kind NOT IN (0, 1, 2) LIMIT 1")))
        goto out;
    (void)r;
out:
    jobs__free(stacks);
    return rc;
}

int jobs__pg_check(jobs_store *s)
{
    return jobs__pg_read(s, check_txn, NULL);
}
