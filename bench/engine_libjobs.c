/* The libjobs engine: the public API only, as a host would call it. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jobs.h>
#include <lmdb.h>

#include "bench.h"

typedef struct lj {
    char path[4096];
    jobs_store *store;
    bench_params params;
    int64_t now; /* what the store's clock answers: set before each activation */
    bool durable;
} lj;

static int64_t lj_clock(void *ctx)
{
    return ((const lj *)ctx)->now;
}

static BENCH_NORETURN void lj_fail(const char *what, int rc)
{
    bench_fail("libjobs: %s: %s (%s)", what, jobs_strerror(rc), jobs_error_last());
}

static void lj_open_store(lj *e)
{
    jobs_store_options opts = JOBS_STORE_OPTIONS_INIT;
    jobs_options_lmdb lmdb = JOBS_OPTIONS_INIT_LMDB;
    int rc;

    opts.path = e->path;
    /* The baselines keep no runs; libjobs keeps the fewest it can, one per job. With the
     * default (100 per job) the stores that ticked the most would carry the most history: the
     * 10,000-job reference store of the tick target a full one (so its ticks also delete runs),
     * and the larger stores the runs of the earlier phases (which the size row would count). */
    opts.run_history = 1;
    lmdb.map_size = (size_t)1 << 30;
    lmdb.flags = e->durable ? 0 : JOBS_NOSYNC_LMDB;
    opts.lmdb = &lmdb;
    opts.clock = lj_clock;
    opts.clock_ctx = e;
    if ((rc = jobs_store_open(&e->store, &opts)))
        lj_fail("jobs_store_open", rc);
}

static void *lj_open(const char *dir, const bench_params *params)
{
    lj *e = bench_malloc(sizeof(*e));
    jobs_schedule_spec spec = JOBS_SCHEDULE_SPEC_INIT;
    uint64_t stack, schedule;
    int rc;

    memset(e, 0, sizeof(*e));
    bench_path(e->path, sizeof(e->path), dir, "libjobs");
    e->params = *params;
    lj_open_store(e);
    /* The stack and schedule every job uses: a public stack and a public schedule. */
    if ((rc = jobs_stack_create(&stack, e->store, 1, "bench", true)))
        lj_fail("jobs_stack_create", rc);
    spec.fields = JOBS_SCHEDULE_NAME | JOBS_SCHEDULE_CONFIG;
    spec.name = "bench";
    spec.period = params->period;
    if ((rc = jobs_schedule_create(&schedule, e->store, JOBS_OWNER_PUBLIC, &spec)))
        lj_fail("jobs_schedule_create", rc);
    if (stack != params->stack || schedule != params->schedule)
        bench_fail("libjobs: the stack and schedule got ids %" PRIu64 " and %" PRIu64
                   ", not %" PRIu64 " and %" PRIu64,
                   stack, schedule, params->stack, params->schedule);
    return e;
}

static void lj_close(void *arg)
{
    lj *e = arg;

    jobs_store_close(e->store);
    free(e);
}

static void lj_set_durable(void *arg, bool durable)
{
    lj *e = arg;

    if (e->durable == durable)
        return;
    jobs_store_close(e->store);
    e->durable = durable;
    lj_open_store(e);
}

static void lj_load(void *arg, const bench_job *jobs, size_t n)
{
    lj *e = arg;
    jobs_job_spec spec = JOBS_JOB_SPEC_INIT;

    spec.fields = JOBS_JOB_NAME | JOBS_JOB_STACK | JOBS_JOB_SCHEDULE | JOBS_JOB_ENABLED;
    spec.stack = e->params.stack;
    spec.schedule = e->params.schedule;
    for (size_t i = 0; i < n; i++) {
        uint64_t id;
        int rc;

        spec.name = jobs[i].name;
        spec.enabled = jobs[i].enabled;
        /* next_run = now + period at activation: choose now to get the wanted next_run. */
        e->now = jobs[i].next_run - e->params.period;
        if ((rc = jobs_create(&id, e->store, jobs[i].owner, &spec)))
            lj_fail("jobs_create", rc);
        if (id != jobs[i].id)
            bench_fail("libjobs: created job %" PRIu64 ", expected %" PRIu64, id, jobs[i].id);
    }
}

/* The bulk load: jobs_batch() of bench_bulk_batch creates each, the clock read once per batch
 * (every job of a bulk load has the same next_run). */
static void lj_bulk(void *arg, const bench_job *jobs, size_t n)
{
    lj *e = arg;
    jobs_batch_op *ops = bench_malloc(bench_bulk_batch * sizeof(*ops));
    jobs_batch_op init = JOBS_BATCH_OP_INIT;

    for (size_t done = 0; done < n;) {
        size_t m = n - done < bench_bulk_batch ? n - done : bench_bulk_batch;
        size_t failed;
        int rc;

        for (size_t i = 0; i < m; i++) {
            const bench_job *j = &jobs[done + i];

            ops[i] = init;
            ops[i].spec.fields = JOBS_JOB_NAME | JOBS_JOB_STACK | JOBS_JOB_SCHEDULE |
                                 JOBS_JOB_ENABLED;
            ops[i].spec.name = j->name;
            ops[i].spec.stack = e->params.stack;
            ops[i].spec.schedule = e->params.schedule;
            ops[i].spec.enabled = j->enabled;
        }
        e->now = jobs[done].next_run - e->params.period;
        if ((rc = jobs_batch(&failed, e->store, jobs[done].owner, ops, m)))
            lj_fail("jobs_batch", rc);
        for (size_t i = 0; i < m; i++)
            if (ops[i].id != jobs[done + i].id)
                bench_fail("libjobs: batch created job %" PRIu64 ", expected %" PRIu64,
                           ops[i].id, jobs[done + i].id);
        done += m;
    }
    free(ops);
}

static void lj_check(const jobs_job *job, const bench_job *want, const char *what)
{
    if (job->id != want->id || job->owner != want->owner || !job->name ||
        strcmp(job->name, want->name) != 0)
        bench_fail("libjobs: %s %" PRIu64 " answered job %" PRIu64 " of owner %" PRIu64
                   " named '%s'", what, want->id, job->id, job->owner,
                   job->name ? job->name : "(null)");
}

static void lj_get_by_id(void *arg, const bench_job *keys, size_t nkeys, size_t start,
                         size_t count)
{
    lj *e = arg;

    for (size_t i = 0; i < count; i++) {
        const bench_job *k = &keys[(start + i) % nkeys];
        jobs_job *job;
        int rc = jobs_get(&job, e->store, k->owner, k->id);

        if (rc)
            lj_fail("jobs_get", rc);
        lj_check(job, k, "jobs_get");
        jobs_job_free(job);
    }
}

static void lj_get_by_name(void *arg, const bench_job *keys, size_t nkeys, size_t start,
                           size_t count)
{
    lj *e = arg;

    for (size_t i = 0; i < count; i++) {
        const bench_job *k = &keys[(start + i) % nkeys];
        jobs_job *job;
        int rc = jobs_get_by_name(&job, e->store, k->owner, k->name);

        if (rc)
            lj_fail("jobs_get_by_name", rc);
        lj_check(job, k, "jobs_get_by_name");
        jobs_job_free(job);
    }
}

static void lj_list(void *arg, const bench_page *pages, size_t npages, size_t start,
                    size_t count)
{
    lj *e = arg;

    for (size_t i = 0; i < count; i++) {
        const bench_page *want = &pages[(start + i) % npages];
        jobs_job_page *p;
        int rc = jobs_list(&p, e->store, want->owner, want->page, BENCH_PAGE_SIZE);

        if (rc)
            lj_fail("jobs_list", rc);
        if (p->count != want->count || p->n != want->n)
            bench_fail("libjobs: page %" PRIu64 " of owner %" PRIu64 " has %zu of %" PRIu64
                       " jobs, expected %zu of %" PRIu64, want->page, want->owner, p->n,
                       p->count, want->n, want->count);
        for (size_t j = 0; j < p->n; j++)
            if (p->jobs[j].id != want->ids[j] || p->jobs[j].owner != want->owner)
                bench_fail("libjobs: page %" PRIu64 " of owner %" PRIu64 " holds job %" PRIu64
                           " at %zu, expected %" PRIu64, want->page, want->owner,
                           p->jobs[j].id, j, want->ids[j]);
        jobs_job_page_free(p);
    }
}

static void lj_create(void *arg, const bench_job *jobs, size_t n)
{
    lj *e = arg;
    jobs_job_spec spec = JOBS_JOB_SPEC_INIT;

    spec.fields = JOBS_JOB_NAME | JOBS_JOB_STACK | JOBS_JOB_SCHEDULE;
    spec.stack = e->params.stack;
    spec.schedule = e->params.schedule;
    for (size_t i = 0; i < n; i++) {
        uint64_t id;
        int rc;

        spec.name = jobs[i].name;
        if ((rc = jobs_create(&id, e->store, jobs[i].owner, &spec)))
            lj_fail("jobs_create", rc);
        if (id != jobs[i].id)
            bench_fail("libjobs: created job %" PRIu64 ", expected %" PRIu64, id, jobs[i].id);
    }
}

static void lj_update(void *arg, const bench_job *jobs, size_t n)
{
    lj *e = arg;
    jobs_job_spec spec = JOBS_JOB_SPEC_INIT;

    spec.fields = JOBS_JOB_NAME;
    for (size_t i = 0; i < n; i++) {
        int rc;

        spec.name = jobs[i].name;
        if ((rc = jobs_update(NULL, e->store, jobs[i].owner, jobs[i].id, &spec)))
            lj_fail("jobs_update", rc);
    }
}

static void lj_remove(void *arg, const bench_job *jobs, size_t n)
{
    lj *e = arg;

    for (size_t i = 0; i < n; i++) {
        jobs_delete_outcome outcome = 0;
        int rc = jobs_delete(&outcome, e->store, jobs[i].owner, jobs[i].id);

        if (rc)
            lj_fail("jobs_delete", rc);
        if (outcome != JOBS_DELETED)
            bench_fail("libjobs: job %" PRIu64 " was queued, not deleted", jobs[i].id);
    }
}

static bool lj_exists(void *arg, const bench_job *job)
{
    lj *e = arg;
    jobs_job *got;
    int rc = jobs_get(&got, e->store, job->owner, job->id);

    if (rc == JOBS_ENOTFOUND)
        return false;
    if (rc)
        lj_fail("jobs_get", rc);
    jobs_job_free(got);
    return true;
}

typedef struct tick_check {
    int64_t now, step;
    size_t runs;
} tick_check;

static int lj_on_event(const jobs_event *ev, void *ctx)
{
    tick_check *c = ctx;

    if (ev->type != JOBS_EVENT_RUN || ev->slot > c->now || ev->slot <= c->now - c->step ||
        ev->owner < 1 || ev->owner > BENCH_OWNERS)
        bench_fail("libjobs: tick at %" PRId64 " gave event type %d for job %" PRIu64
                   " of owner %" PRIu64 " at slot %" PRId64,
                   c->now, (int)ev->type, ev->job, ev->owner, ev->slot);
    c->runs++;
    return 0;
}

static void lj_tick(void *arg, int64_t now0, int64_t step, size_t ticks, size_t due)
{
    lj *e = arg;

    for (size_t i = 1; i <= ticks; i++) {
        tick_check c = {now0 + (int64_t)i * step, step, 0};
        size_t n;
        int rc = jobs_scheduler_tick(&n, e->store, c.now, 0, lj_on_event, &c);

        if (rc)
            lj_fail("jobs_scheduler_tick", rc);
        if (n != due || c.runs != due)
            bench_fail("libjobs: tick at %" PRId64 " took %zu jobs (%zu events), expected %zu",
                       c.now, n, c.runs, due);
    }
}

static uint64_t lj_count(void *arg)
{
    lj *e = arg;
    jobs_store_stat_info info = JOBS_STORE_STAT_INFO_INIT;
    int rc = jobs_store_stat(&info, e->store);

    if (rc)
        lj_fail("jobs_store_stat", rc);
    return info.jobs;
}

static uint64_t lj_disk_bytes(void *arg)
{
    lj *e = arg;
    char path[4200];

    bench_path(path, sizeof(path), e->path, "data.mdb");
    return bench_file_size(path);
}

/* The public API tells the bytes mapped, not the pages in use, so this looks at the closed
 * store's files with LMDB directly, then opens the store again. */
static uint64_t lj_live_bytes(void *arg)
{
    lj *e = arg;
    MDB_env *env;
    uint64_t bytes;
    int rc;

    jobs_store_close(e->store);
    e->store = NULL;
    if ((rc = mdb_env_create(&env)) || (rc = mdb_env_set_maxdbs(env, 64)) ||
        (rc = mdb_env_open(env, e->path, MDB_RDONLY, 0600)))
        bench_fail("libjobs: opening the store's files with LMDB: %s", mdb_strerror(rc));
    bytes = bench_lmdb_live_bytes(env);
    mdb_env_close(env);
    lj_open_store(e);
    return bytes;
}

const bench_engine_ops bench_libjobs_ops = {
    .name = "libjobs",
    .writes_keep_indexes = true,
    .open = lj_open,
    .close = lj_close,
    .set_durable = lj_set_durable,
    .load = lj_load,
    .get_by_id = lj_get_by_id,
    .get_by_name = lj_get_by_name,
    .list = lj_list,
    .create = lj_create,
    .update = lj_update,
    .remove = lj_remove,
    .exists = lj_exists,
    .tick = lj_tick,
    .count = lj_count,
    .disk_bytes = lj_disk_bytes,
    .live_bytes = lj_live_bytes,
    .bulk = lj_bulk,
};

#ifdef BENCH_WITH_PG
/* ---- libjobs on PostgreSQL (jobs-bench --pg) ----------------------------------------------
 * The same public API on a store that is a fresh schema of the --pg database. Loading goes
 * around the API: the rows jobs_create would write (lib/postgres/records.c: the job with its
 * record bytes, its owner's count and page bucket, the schedule's reference count, the id
 * counter) are inserted with SQL, 20,000 at a time; jobs_create through the API would take
 * minutes per 100,000 jobs (one commit each). jobs_store_check() verifies the result while
 * the store is small (--smoke). */
#include <libpq-fe.h>

#include "codec.h" /* lib/: the record bytes */

const char *bench_pg_base;

typedef struct lj_pg {
    lj j; /* first: the lj_* functions take it */
    PGconn *conn;
    char schema[64];
} lj_pg;

#define PG_MAX_OWNER 4096

static void pg_exec(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    ExecStatusType st = PQresultStatus(r);

    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
        bench_fail("postgresql: %.80s...: %s", sql, PQresultErrorMessage(r));
    PQclear(r);
}

static void pg_quiet(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

static void *pg_open(const char *dir, const bench_params *params)
{
    static unsigned n;
    lj_pg *e = bench_malloc(sizeof(*e));
    jobs_schedule_spec spec = JOBS_SCHEDULE_SPEC_INIT;
    uint64_t stack, schedule;
    char sql[256];
    int rc;

    (void)dir;
    memset(e, 0, sizeof(*e));
    snprintf(e->schema, sizeof(e->schema), "jobsbench_%ld_%u", (long)getpid(), n++);
    e->conn = PQconnectdb(bench_pg_base);
    if (PQstatus(e->conn) != CONNECTION_OK)
        bench_fail("postgresql: %s", PQerrorMessage(e->conn));
    PQsetNoticeProcessor(e->conn, pg_quiet, NULL);
    snprintf(sql, sizeof(sql), "CREATE SCHEMA %s; SET search_path = %s", e->schema, e->schema);
    pg_exec(e->conn, sql);
    if ((size_t)snprintf(e->j.path, sizeof(e->j.path), "%s%coptions=-csearch_path%%3D%s",
                         bench_pg_base, strchr(bench_pg_base, '?') ? '&' : '?', e->schema) >=
        sizeof(e->j.path))
        bench_fail("postgresql: the --pg URI is too long");
    e->j.params = *params;
    e->j.durable = true; /* every commit is PostgreSQL's (synchronous_commit as configured) */
    lj_open_store(&e->j);
    if ((rc = jobs_stack_create(&stack, e->j.store, 1, "bench", true)))
        lj_fail("jobs_stack_create", rc);
    spec.fields = JOBS_SCHEDULE_NAME | JOBS_SCHEDULE_CONFIG;
    spec.name = "bench";
    spec.period = params->period;
    if ((rc = jobs_schedule_create(&schedule, e->j.store, JOBS_OWNER_PUBLIC, &spec)))
        lj_fail("jobs_schedule_create", rc);
    if (stack != params->stack || schedule != params->schedule)
        bench_fail("postgresql: the stack and schedule got ids %" PRIu64 " and %" PRIu64,
                   stack, schedule);
    return e;
}

static void pg_close(void *arg)
{
    lj_pg *e = arg;
    char sql[256];

    jobs_store_close(e->j.store);
    snprintf(sql, sizeof(sql), "DROP SCHEMA %s CASCADE", e->schema);
    pg_exec(e->conn, sql);
    PQfinish(e->conn);
    free(e);
}

static void pg_set_durable(void *arg, bool durable)
{
    (void)arg;
    (void)durable; /* always as the server commits */
}

/* A growing SQL text. */
typedef struct sqlbuf {
    char *p;
    size_t len, cap;
} sqlbuf;

static void sb_add(sqlbuf *b, const char *fmt, ...) BENCH_PRINTF(2, 3);
static void sb_add(sqlbuf *b, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        int n;

        va_start(ap, fmt);
        n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap - b->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0)
            bench_fail("postgresql: formatting SQL");
        if (b->p && b->len + (size_t)n < b->cap) {
            b->len += (size_t)n;
            return;
        }
        b->cap = (b->cap ? b->cap * 2 : 1 << 20) + (size_t)n;
        if (!(b->p = realloc(b->p, b->cap)))
            bench_fail("out of memory");
    }
}

static void sb_hex(sqlbuf *b, const void *data, size_t len)
{
    const unsigned char *d = data;

    sb_add(b, "'\\x");
    for (size_t i = 0; i < len; i++)
        sb_add(b, "%02x", d[i]);
    sb_add(b, "'::bytea");
}

static void pg_load(void *arg, const bench_job *jobs, size_t n)
{
    lj_pg *e = arg;
    static uint64_t seq[PG_MAX_OWNER], added[PG_MAX_OWNER];
    static uint64_t *buckets; /* per owner: the bucket counts of this load, 64 at most */
    uint64_t max_id = 0;
    sqlbuf b = {NULL, 0, 0};
    PGresult *r;

    if (!n)
        return;
    if (!buckets)
        buckets = bench_malloc(sizeof(uint64_t) * PG_MAX_OWNER * 64);
    memset(seq, 0, sizeof(seq));
    memset(added, 0, sizeof(added));
    memset(buckets, 0, sizeof(uint64_t) * PG_MAX_OWNER * 64);
    r = PQexec(e->conn, "SELECT owner, seq FROM jobs_count WHERE kind = 0");
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        bench_fail("postgresql: reading the counts: %s", PQresultErrorMessage(r));
    for (int i = 0; i < PQntuples(r); i++) {
        uint64_t o = strtoull(PQgetvalue(r, i, 0), NULL, 10);
        if (o < PG_MAX_OWNER)
            seq[o] = strtoull(PQgetvalue(r, i, 1), NULL, 10);
    }
    PQclear(r);
    sb_add(&b, "BEGIN; INSERT INTO jobs_job (id, owner, name, active, next_run, schedule,"
               " bucket, rec) VALUES ");
    uint64_t first_bucket[PG_MAX_OWNER];
    for (size_t i = 0; i < PG_MAX_OWNER; i++)
        first_bucket[i] = seq[i] / 4096;
    for (size_t i = 0; i < n; i++) {
        const bench_job *j = &jobs[i];
        unsigned char rec[JOBS__RECORD_MAX];
        jobs__job_rec jr;
        uint64_t bucket;

        if (j->owner >= PG_MAX_OWNER)
            bench_fail("postgresql: owner %" PRIu64 " is above the loader's", j->owner);
        memset(&jr, 0, sizeof(jr));
        jr.owner = j->owner;
        jr.stack = e->j.params.stack;
        jr.schedule = e->j.params.schedule;
        jr.next_run = j->enabled ? j->next_run : 0;
        jr.do_run = j->enabled;
        jr.name = j->name;
        jr.name_len = j->name_len;
        bucket = seq[j->owner]++ / 4096; /* jobs_count.seq before this job, as the insert */
        if (bucket - first_bucket[j->owner] >= 64)
            bench_fail("postgresql: a load spans too many buckets");
        buckets[j->owner * 64 + (bucket - first_bucket[j->owner])]++;
        added[j->owner]++;
        if (j->id > max_id)
            max_id = j->id;
        sb_add(&b, "%s(%" PRIu64 ", %" PRIu64 ", ", i ? "," : "", j->id, j->owner);
        sb_hex(&b, j->name, j->name_len);
        sb_add(&b, ", %s, %" PRId64 ", %" PRIu64 ", %" PRIu64 ", ", j->enabled ? "true" : "false",
               jr.next_run, jr.schedule, bucket);
        sb_hex(&b, rec, jobs__job_encode(rec, &jr));
        sb_add(&b, ")");
    }
    sb_add(&b, ";\n");
    for (uint64_t o = 0; o < PG_MAX_OWNER; o++) {
        if (!added[o])
            continue;
        sb_add(&b, "INSERT INTO jobs_count AS c (kind, owner, n, seq) VALUES (0, %" PRIu64
                   ", %" PRIu64 ", %" PRIu64 ") ON CONFLICT (kind, owner) DO UPDATE"
                   " SET n = c.n + excluded.n, seq = c.seq + excluded.seq;\n",
               o, added[o], added[o]);
        for (uint64_t k = 0; k < 64; k++)
            if (buckets[o * 64 + k])
                sb_add(&b, "INSERT INTO jobs_bucket AS b (owner, bucket, n) VALUES (%" PRIu64
                           ", %" PRIu64 ", %" PRIu64 ") ON CONFLICT (owner, bucket) DO UPDATE"
                           " SET n = b.n + excluded.n;\n",
                       o, first_bucket[o] + k, buckets[o * 64 + k]);
    }
    sb_add(&b, "UPDATE jobs_schedule SET refs = refs + %zu WHERE id = %" PRIu64 ";\n"
               "UPDATE jobs_ids SET next = greatest(next, %" PRIu64 ") WHERE kind = 0;\n"
               "COMMIT; ANALYZE jobs_job; ANALYZE jobs_bucket",
           n, e->j.params.schedule, max_id + 1);
    pg_exec(e->conn, b.p);
    free(b.p);
    /* Small stores (--smoke) are verified as any store: the loader wrote what the API would. */
    if (lj_count(e) <= 20000) {
        int rc = jobs_store_check(e->j.store);

        if (rc)
            lj_fail("jobs_store_check after the SQL load", rc);
    }
}

static uint64_t pg_disk_bytes(void *arg)
{
    lj_pg *e = arg;
    char sql[256];
    PGresult *r;
    uint64_t bytes;

    snprintf(sql, sizeof(sql),
             "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)::int8 FROM pg_class c"
             " JOIN pg_namespace s ON s.oid = c.relnamespace WHERE s.nspname = '%s'"
             " AND c.relkind = 'r'", e->schema);
    r = PQexec(e->conn, sql);
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        bench_fail("postgresql: sizes: %s", PQresultErrorMessage(r));
    bytes = strtoull(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    return bytes;
}

const bench_engine_ops bench_libjobs_pg_ops = {
    .name = "postgresql",
    .writes_keep_indexes = true,
    .open = pg_open,
    .close = pg_close,
    .set_durable = pg_set_durable,
    .load = pg_load,
    .get_by_id = lj_get_by_id,
    .get_by_name = lj_get_by_name,
    .list = lj_list,
    .create = lj_create,
    .update = lj_update,
    .remove = lj_remove,
    .exists = lj_exists,
    .tick = lj_tick,
    .count = lj_count,
    .disk_bytes = pg_disk_bytes,
    .live_bytes = pg_disk_bytes, /* PostgreSQL's sizes are of the tables and their indexes */
};
#endif
