/* The libjobs engine: the public API only, as a host would call it. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
