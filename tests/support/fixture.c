#include "fixture.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifdef JOBS_TEST_WITH_POSTGRES
#include <libpq-fe.h>
#endif

/* The test switch: JOBS_TEST_STORE names a PostgreSQL database (a postgresql:// URI or a libpq
 * conninfo) and every fixture's store is then a fresh schema in it, made here and dropped on
 * teardown; unset or empty, stores are LMDB directories. */
static const char *test_store(void)
{
    const char *v = getenv("JOBS_TEST_STORE");
    return v && *v ? v : NULL;
}

#ifdef JOBS_TEST_WITH_POSTGRES
static void quiet(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

static void pg_run(const char *conninfo, const char *sql)
{
    PGconn *conn = PQconnectdb(conninfo);
    if (PQstatus(conn) != CONNECTION_OK)
        fail_msg("JOBS_TEST_STORE: cannot connect: %s", PQerrorMessage(conn));
    PQsetNoticeProcessor(conn, quiet, NULL);
    PGresult *r = PQexec(conn, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        fail_msg("JOBS_TEST_STORE: %s: %s", sql, PQresultErrorMessage(r));
    PQclear(r);
    PQfinish(conn);
}

/* fx->path: the database of JOBS_TEST_STORE with a new schema first on its search path. */
static void pg_fixture(fixture *fx, const char *base)
{
    static unsigned seq;
    char sql[128];
    int n;

    snprintf(fx->pg_schema, sizeof(fx->pg_schema), "t_%ld_%u", (long)getpid(), ++seq);
    snprintf(sql, sizeof(sql), "CREATE SCHEMA %s", fx->pg_schema);
    pg_run(base, sql);
    if (strstr(base, "://"))
        n = snprintf(fx->path, sizeof(fx->path), "%s%coptions=-csearch_path%%3D%s", base,
                     strchr(base, '?') ? '&' : '?', fx->pg_schema);
    else
        n = snprintf(fx->path, sizeof(fx->path), "%s options='-csearch_path=%s'", base,
                     fx->pg_schema);
    assert_true(n > 0 && (size_t)n < sizeof(fx->path));
}
#endif

uint64_t fx_pg_rows(fixture *fx, const char *table)
{
#ifdef JOBS_TEST_WITH_POSTGRES
    char sql[160];
    uint64_t n;
    PGconn *conn;
    PGresult *r;

    if (fx->pg_schema[0] == '\0')
        fail_msg("fx_pg_rows: the fixture is not a PostgreSQL store");
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s.%s", fx->pg_schema, table);
    conn = PQconnectdb(test_store());
    if (PQstatus(conn) != CONNECTION_OK)
        fail_msg("JOBS_TEST_STORE: cannot connect: %s", PQerrorMessage(conn));
    r = PQexec(conn, sql);
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1)
        fail_msg("JOBS_TEST_STORE: %s: %s", sql, PQresultErrorMessage(r));
    n = strtoull(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    PQfinish(conn);
    return n;
#else
    (void)fx;
    (void)table;
    fail_msg("fx_pg_rows: the tests were built without PostgreSQL");
    return 0;
#endif
}

bool fx_postgres(void)
{
    return test_store() != NULL;
}

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

int64_t fx_clock(void *ctx)
{
    fixture *fx = ctx;
    return atomic_load(&fx->now);
}

fixture *fx_new(void)
{
    fixture *fx = calloc(1, sizeof(*fx));
    assert_non_null(fx);

    const char *tmp = getenv("TMPDIR");
    if (tmp == NULL || tmp[0] == '\0')
        tmp = "/tmp";
    int n = snprintf(fx->dir, sizeof(fx->dir), "%s/libjobs-test-XXXXXX", tmp);
    assert_true(n > 0 && (size_t)n < sizeof(fx->dir));
    assert_non_null(mkdtemp(fx->dir));
    if (test_store()) {
#ifdef JOBS_TEST_WITH_POSTGRES
        pg_fixture(fx, test_store());
#else
        fail_msg("JOBS_TEST_STORE is set but the tests were built without PostgreSQL");
#endif
    } else {
        n = snprintf(fx->path, sizeof(fx->path), "%s/store", fx->dir);
        assert_true(n > 0 && (size_t)n < sizeof(fx->path));
    }

    atomic_init(&fx->now, FX_T0);
    jobs_store_options opts = JOBS_STORE_OPTIONS_INIT;
    opts.path = fx->path;
    opts.clock = fx_clock;
    opts.clock_ctx = fx;
    jobs_options_lmdb lmdb = JOBS_OPTIONS_INIT_LMDB;
    lmdb.flags = JOBS_NOSYNC_LMDB;
    fx->lmdb = lmdb;
    opts.lmdb = &fx->lmdb;
    fx->opts = opts;
    return fx;
}

void fx_free(fixture *fx)
{
    if (fx == NULL)
        return;
    fx_close(fx);
#ifdef JOBS_TEST_WITH_POSTGRES
    if (fx->pg_schema[0] != '\0') {
        char sql[128];
        snprintf(sql, sizeof(sql), "DROP SCHEMA %s CASCADE", fx->pg_schema);
        pg_run(test_store(), sql);
    }
#endif
    if (fx->dir[0] != '\0')
        nftw(fx->dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(fx);
}

int fx_setup(void **state)
{
    fixture *fx = fx_new();
    fx_open(fx);
    *state = fx;
    return 0;
}

int fx_setup_closed(void **state)
{
    *state = fx_new();
    return 0;
}

int fx_setup_durable(void **state)
{
    fixture *fx = fx_new();
    fx->lmdb.flags &= ~(unsigned int)JOBS_NOSYNC_LMDB;
    fx_open(fx);
    *state = fx;
    return 0;
}

int fx_teardown(void **state)
{
    fx_free(*state);
    *state = NULL;
    return 0;
}

int fx_try_open(fixture *fx)
{
    assert_null(fx->store);
    return jobs_store_open(&fx->store, &fx->opts);
}

void fx_open(fixture *fx)
{
    int rc = fx_try_open(fx);
    if (rc != 0)
        fail_msg("jobs_store_open(%s): %s (%s)", fx->path, jobs_err_name(rc),
                 jobs_error_last());
    assert_non_null(fx->store);
}

void fx_close(fixture *fx)
{
    jobs_store_close(fx->store);
    fx->store = NULL;
}

void fx_reopen(fixture *fx)
{
    fx_close(fx);
    fx_open(fx);
}

void fx_set_time(fixture *fx, int64_t now)
{
    atomic_store(&fx->now, now);
}

int64_t fx_time(fixture *fx)
{
    return atomic_load(&fx->now);
}

void fx_advance(fixture *fx, int64_t seconds)
{
    atomic_fetch_add(&fx->now, seconds);
}

static void check(int rc, const char *what)
{
    if (rc != 0)
        fail_msg("%s: %s (%s)", what, jobs_err_name(rc), jobs_error_last());
}

uint64_t fx_stack(fixture *fx, uint64_t owner, bool is_public)
{
    char name[64];
    snprintf(name, sizeof(name), "stack-%u", ++fx->seq);
    uint64_t id = 0;
    check(jobs_stack_create(&id, fx->store, owner, name, is_public), "jobs_stack_create");
    assert_true(id >= 1 && id <= JOBS_ID_MAX);
    return id;
}

uint64_t fx_periodic(fixture *fx, uint64_t owner, int64_t period)
{
    jobs_schedule_spec spec = JOBS_SCHEDULE_SPEC_INIT;
    spec.fields = JOBS_SCHEDULE_CONFIG;
    spec.period = period;
    uint64_t id = 0;
    check(jobs_schedule_create(&id, fx->store, owner, &spec), "jobs_schedule_create");
    assert_true(id >= 1 && id <= JOBS_ID_MAX);
    return id;
}

uint64_t fx_once(fixture *fx, uint64_t owner, int64_t timestamp)
{
    jobs_schedule_spec spec = JOBS_SCHEDULE_SPEC_INIT;
    spec.fields = JOBS_SCHEDULE_ONCE | JOBS_SCHEDULE_CONFIG;
    spec.once = true;
    spec.timestamp = timestamp;
    uint64_t id = 0;
    check(jobs_schedule_create(&id, fx->store, owner, &spec), "jobs_schedule_create");
    assert_true(id >= 1 && id <= JOBS_ID_MAX);
    return id;
}

uint64_t fx_job(fixture *fx, uint64_t owner, const char *name, uint64_t stack,
                uint64_t schedule, bool enabled)
{
    jobs_job_spec spec = JOBS_JOB_SPEC_INIT;
    spec.fields = JOBS_JOB_NAME | JOBS_JOB_STACK | JOBS_JOB_SCHEDULE | JOBS_JOB_ENABLED;
    spec.name = name;
    spec.stack = stack;
    spec.schedule = schedule;
    spec.enabled = enabled;
    uint64_t id = 0;
    check(jobs_create(&id, fx->store, owner, &spec), "jobs_create");
    assert_true(id >= 1 && id <= JOBS_ID_MAX);
    return id;
}

jobs_job *fx_get(fixture *fx, uint64_t owner, uint64_t id)
{
    jobs_job *job = NULL;
    check(jobs_get(&job, fx->store, owner, id), "jobs_get");
    assert_non_null(job);
    assert_int_equal(job->id, id);
    assert_int_equal(job->owner, owner);
    return job;
}

uint64_t fx_count(fixture *fx, uint64_t owner)
{
    jobs_job_page *page = NULL;
    check(jobs_list(&page, fx->store, owner, 1, 0), "jobs_list");
    assert_non_null(page);
    uint64_t count = page->count;
    jobs_job_page_free(page);
    return count;
}

uint64_t fx_stat_jobs(fixture *fx)
{
    jobs_store_stat_info info = JOBS_STORE_STAT_INFO_INIT;
    check(jobs_store_stat(&info, fx->store), "jobs_store_stat");
    return info.jobs;
}

void fx_assert_name_equal(const char *a, const char *b)
{
    if (a == NULL || b == NULL) {
        if (a != b)
            fail_msg("names differ: %s vs %s", a ? a : "(null)", b ? b : "(null)");
        return;
    }
    assert_string_equal(a, b);
}

void fx_assert_job_equal(const jobs_job *a, const jobs_job *b)
{
    assert_int_equal(a->id, b->id);
    assert_int_equal(a->owner, b->owner);
    fx_assert_name_equal(a->name, b->name);
    assert_int_equal(a->stack, b->stack);
    assert_int_equal(a->schedule, b->schedule);
    assert_int_equal(a->do_run, b->do_run);
    assert_int_equal(a->do_del, b->do_del);
    if (a->do_run)
        assert_int_equal(a->next_run, b->next_run);
}

int fx_record_event(const jobs_event *event, void *ctx)
{
    fx_events *events = ctx;
    if (events->n < FX_MAX_EVENTS) {
        events->ev[events->n] = *event;
        events->ev[events->n].name = NULL;
        events->named[events->n] = event->name != NULL;
    }
    events->n++;
    if (events->stop_after > 0 && events->n == (size_t)events->stop_after)
        return events->stop_code;
    return 0;
}

void fx_tick(fixture *fx, int64_t now, fx_events *events)
{
    memset(events, 0, sizeof(*events));
    size_t n = 0;
    check(jobs_scheduler_tick(&n, fx->store, now, 0, fx_record_event, events),
          "jobs_scheduler_tick");
    assert_int_equal(n, events->n);
}
