/* The PostgreSQL backend's own behaviour (run as pg_test_postgres, against the throwaway
 * cluster; every test skips without JOBS_TEST_STORE): how a path chooses the backend, an
 * unreachable database, the schema version and its migrations, the version lock that keeps a
 * migration from running under processes of the older version, the verifier over damaged
 * tables, concurrent creates of one name (of a job, of a stack), concurrent updates and runs
 * of one stack, the conninfo's time limits, backup. The rules themselves are the rest of the
 * suite, run on both backends. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <libpq-fe.h>

#include "fixture.h"

#define OWNER 7
#define OTHER 8

/* Runs SQL in the fixture's schema (fx->path puts it first on the search path). */
static void sql(fixture *fx, const char *text)
{
    PGconn *conn = PQconnectdb(fx->path);
    if (PQstatus(conn) != CONNECTION_OK)
        fail_msg("connect: %s", PQerrorMessage(conn));
    PGresult *r = PQexec(conn, text);
    if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
        fail_msg("%s: %s", text, PQresultErrorMessage(r));
    PQclear(r);
    PQfinish(conn);
}

/* A connection of its own to the fixture's schema (a process of another libjobs, say); the
 * caller PQfinish()es it. */
static PGconn *connect_raw(fixture *fx)
{
    PGconn *conn = PQconnectdb(fx->path);
    if (PQstatus(conn) != CONNECTION_OK)
        fail_msg("connect: %s", PQerrorMessage(conn));
    return conn;
}

/* Runs SQL on `conn`; the first value of its (last) result in buf ("" for none). */
static const char *query(PGconn *conn, const char *text, char *buf, size_t size)
{
    PGresult *r = PQexec(conn, text);
    if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
        fail_msg("%s: %s", text, PQresultErrorMessage(r));
    snprintf(buf, size, "%s", PQntuples(r) > 0 && PQnfields(r) > 0 ? PQgetvalue(r, 0, 0) : "");
    PQclear(r);
    return buf;
}

static int open_path(const char *path)
{
    jobs_store_options o = JOBS_STORE_OPTIONS_INIT;
    jobs_store *s = NULL;
    int rc;

    o.path = path;
    rc = jobs_store_open(&s, &o);
    jobs_store_close(s);
    return rc;
}

static void test_unreachable_database_is_eunavailable_by_uri_and_conninfo(void **state)
{
    fixture *fx = *state;
    char path[PATH_MAX + 64];
    struct stat st;

    FX_POSTGRES_ONLY();
    /* A socket directory where nothing listens: refused at once, and no directory made. */
    snprintf(path, sizeof(path), "postgresql:///postgres?host=%s&port=1&user=jobs", fx->dir);
    assert_int_equal(open_path(path), JOBS_EUNAVAILABLE);
    assert_non_null(strstr(jobs_error_last(), "unreachable"));
    snprintf(path, sizeof(path), "host=%s port=1 user=jobs", fx->dir);
    assert_int_equal(open_path(path), JOBS_EUNAVAILABLE);
    assert_int_equal(open_path("postgres://localhost:1/none?connect_timeout=2"),
                     JOBS_EUNAVAILABLE);
    assert_int_equal(stat("host=x", &st), -1);
    /* A path that only contains '=' later is still a directory (LMDB). */
    snprintf(path, sizeof(path), "%s/a=b", fx->dir);
    assert_int_equal(open_path(path), 0);
    assert_int_equal(stat(path, &st), 0);
}

static void test_open_reports_the_backend_and_reopens_the_same_data(void **state)
{
    fixture *fx = *state;
    jobs_store_stat_info info = JOBS_STORE_STAT_INFO_INIT;

    FX_POSTGRES_ONLY();
    uint64_t stack = fx_stack(fx, OWNER, false);
    uint64_t id = fx_job(fx, OWNER, "kept", stack, FX_HOURLY, true);
    assert_int_equal(jobs_store_stat(&info, fx->store), 0);
    assert_string_equal(info.backend, "postgresql");
    fx_reopen(fx);
    jobs_job *job = fx_get(fx, OWNER, id);
    assert_string_equal(job->name, "kept");
    jobs_job_free(job);
    /* A second handle on the same database in one process is fine here (unlike LMDB). */
    jobs_store *second = NULL;
    assert_int_equal(jobs_store_open(&second, &fx->opts), 0);
    assert_int_equal(fx_count(fx, OWNER), 1);
    jobs_store_close(second);
}

static void test_newer_schema_is_eschema_and_changes_nothing(void **state)
{
    fixture *fx = *state;

    FX_POSTGRES_ONLY();
    fx_close(fx);
    sql(fx, "UPDATE jobs_meta SET value = 6 WHERE key = 'schema'");
    assert_int_equal(fx_try_open(fx), JOBS_ESCHEMA);
    assert_null(fx->store);
    sql(fx, "UPDATE jobs_meta SET value = 5 WHERE key = 'schema'");
    fx_open(fx);
    assert_int_equal(jobs_store_check(fx->store), 0);
}

/* Undoes schema version 5 (a stack's runs without a job indexed per owner). */
#define DOWN_TO_4                                                                           \
    "DROP INDEX jobs_run_direct;"                                                           \
    " CREATE INDEX jobs_run_direct ON jobs_run (stack, id) WHERE job = 0;"

/* Undoes schema versions 5 and 4 (run ids from a sequence): the counter row of version 3. */
#define DOWN_TO_3                                                                           \
    DOWN_TO_4 " INSERT INTO jobs_ids SELECT 4, CASE WHEN is_called THEN last_value + 1"                \
    " ELSE last_value END FROM jobs_run_id; DROP SEQUENCE jobs_run_id;"

/* Undoes schema versions 5, 4 and 3 (names as columns, stack blocks, runs). */
#define DOWN_TO_2                                                                           \
    DOWN_TO_3 "DROP TABLE jobs_run, jobs_stack_blocks; ALTER TABLE jobs_stack DROP COLUMN name;" \
    " ALTER TABLE jobs_schedule DROP COLUMN name; DELETE FROM jobs_ids WHERE kind = 4;"

static int put_one(jobs_kv_txn *txn, void *ctx)
{
    (void)ctx;
    return jobs_kv_put(txn, "ns", "k", 1, "v", 1);
}

/* A version-1 store (before namespaced records) is migrated at its next read-write open, in the
 * open's transaction; a read-only open refuses it until then. */
static void test_version_1_store_is_migrated_at_open(void **state)
{
    fixture *fx = *state;

    FX_POSTGRES_ONLY();
    uint64_t stack = fx_stack(fx, OWNER, false);
    uint64_t id = fx_job(fx, OWNER, "old", stack, FX_HOURLY, true);
    fx_close(fx);
    sql(fx, "DROP TABLE jobs_kv; " DOWN_TO_2 "UPDATE jobs_meta SET value = 1 WHERE key = 'schema'");
    fx->opts.flags = JOBS_STORE_READONLY;
    assert_int_equal(fx_try_open(fx), JOBS_ESCHEMA);
    fx->opts.flags = 0;
    fx_open(fx);
    assert_int_equal(jobs_store_check(fx->store), 0);
    assert_int_equal(jobs_kv_write(fx->store, put_one, NULL), 0);
    jobs_job *job = fx_get(fx, OWNER, id);
    assert_string_equal(job->name, "old");
    jobs_job_free(job);
}

/* A version-2 store (before stack and schedule names as columns, stack blocks and runs) is
 * migrated at its next read-write open: the names of the stacks and schedules already there are
 * found by name, and runs can be made. */
static void test_version_2_store_is_migrated_with_its_names(void **state)
{
    fixture *fx = *state;
    uint64_t stack = 0;

    FX_POSTGRES_ONLY();
    assert_int_equal(jobs_stack_create(&stack, fx->store, OWNER, "named", true), 0);
    fx_close(fx);
    sql(fx, DOWN_TO_2 "UPDATE jobs_meta SET value = 2 WHERE key = 'schema'");
    fx->opts.flags = JOBS_STORE_READONLY;
    assert_int_equal(fx_try_open(fx), JOBS_ESCHEMA);
    fx->opts.flags = 0;
    fx_open(fx);
    assert_int_equal(jobs_store_check(fx->store), 0);
    jobs_stack *st = NULL;
    assert_int_equal(jobs_stack_get_by_name(&st, fx->store, OWNER, "named"), 0);
    assert_int_equal(st->id, stack);
    jobs_stack_free(st);
    st = NULL;
    assert_int_equal(jobs_stack_get_by_name(&st, fx->store, JOBS_OWNER_PUBLIC, "named"), 0);
    assert_int_equal(st->id, stack);
    jobs_stack_free(st);
    uint64_t job = fx_job(fx, OWNER, "j", stack, FX_HOURLY, true);
    assert_int_equal(jobs_run_now(NULL, fx->store, OWNER, job), 0);
    assert_int_equal(jobs_store_check(fx->store), 0);
}

/* A version-3 store (run ids from a counter row) is migrated at its next read-write open: the
 * sequence starts where the row was, so the next run's id is above every run id so far. */
static void test_version_3_store_is_migrated_to_a_run_id_sequence(void **state)
{
    fixture *fx = *state;
    uint64_t runs[3], later = 0;

    FX_POSTGRES_ONLY();
    uint64_t stack = fx_stack(fx, OWNER, false);
    uint64_t job = fx_job(fx, OWNER, "j", stack, FX_HOURLY, true);
    for (int i = 0; i < 3; i++)
        assert_int_equal(jobs_run_now(&runs[i], fx->store, OWNER, job), 0);
    fx_close(fx);
    sql(fx, DOWN_TO_3 "UPDATE jobs_meta SET value = 3 WHERE key = 'schema'");
    fx->opts.flags = JOBS_STORE_READONLY;
    assert_int_equal(fx_try_open(fx), JOBS_ESCHEMA);
    fx->opts.flags = 0;
    fx_open(fx);
    assert_int_equal(jobs_store_check(fx->store), 0);
    assert_int_equal(jobs_run_now(&later, fx->store, OWNER, job), 0);
    assert_int_equal(later, runs[2] + 1);
    assert_int_equal(jobs_store_check(fx->store), 0);
}

/* A version-4 store is migrated at its next read-write open: the runs of a stack without a job
 * are indexed per owner, and each owner's are trimmed by its own alone. */
static void test_version_4_store_is_migrated_to_direct_runs_per_owner(void **state)
{
    fixture *fx = *state;
    jobs_event ev;

    FX_POSTGRES_ONLY();
    uint64_t stack = fx_stack(fx, OWNER, true);
    assert_int_equal(jobs_run_start_stack(&ev, fx->store, OWNER, stack, JOBS_TRIGGER_MANUAL), 0);
    fx_close(fx);
    sql(fx, DOWN_TO_4 "UPDATE jobs_meta SET value = 4 WHERE key = 'schema'");
    fx->opts.flags = JOBS_STORE_READONLY;
    assert_int_equal(fx_try_open(fx), JOBS_ESCHEMA);
    fx->opts.flags = 0;
    fx->opts.run_history = 2;
    fx_open(fx);
    assert_int_equal(jobs_store_check(fx->store), 0);
    for (int i = 0; i < 5; i++)
        assert_int_equal(jobs_run_start_stack(&ev, fx->store, OTHER, stack, JOBS_TRIGGER_MANUAL),
                         0);
    jobs_run_page *p = NULL;
    assert_int_equal(jobs_run_list_stack(&p, fx->store, OWNER, stack, 1, 10), 0);
    assert_int_equal(p->count, 1);
    jobs_run_page_free(p);
    assert_int_equal(jobs_run_list_stack(&p, fx->store, OTHER, stack, 1, 10), 0);
    assert_int_equal(p->count, 2);
    jobs_run_page_free(p);
}

/* ---- the version lock: a migration waits for no process of the older version ------------ */

/* The first key of a store's version lock (docs/scale-out.md, "Migrations"): its schema. */
#define KEY "hashtext('libjobs ' || current_schema())"
/* The schema version of this libjobs, as text. */
#define VERSION "5"
/* The store's version locks other sessions hold, of version `v`: granted (`g`) or waited for. */
#define LOCKS(v, g)                                                                         \
    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND classid = " KEY "::oid"   \
    " AND objid = " v " AND objsubid = 2 AND mode = 'ShareLock' AND " g                     \
    " AND pid <> pg_backend_pid()"

/* Waits until no other session holds the store's version lock of `v` (a closed connection's
 * server process ends after the client has gone on): takes it exclusively, then lets it go. */
static void wait_unlocked(PGconn *conn, int v)
{
    char text[128], buf[16];

    query(conn, "SET lock_timeout = '60s'", buf, sizeof(buf));
    snprintf(text, sizeof(text), "SELECT pg_advisory_lock(" KEY ", %d)", v);
    query(conn, text, buf, sizeof(buf));
    snprintf(text, sizeof(text), "SELECT pg_advisory_unlock(" KEY ", %d)", v);
    assert_string_equal(query(conn, text, buf, sizeof(buf)), "t");
}

/* Opens the fixture's store again (in its schema, as fx_setup() did) with the schema as the
 * connections' application_name, so that drop_connections() finds them without help from the
 * store; with a `value`, the server's `setting` for them set to it (the conninfo's options). */
static void reopen_setting(fixture *fx, const char *setting, const char *value)
{
    const char *base = getenv("JOBS_TEST_STORE");
    bool uri = strstr(base, "://") != NULL;
    char more[96] = "";
    int n;

    fx_close(fx);
    if (value)
        snprintf(more, sizeof(more), uri ? "%%20-c%s%%3D%s" : " -c%s=%s", setting, value);
    if (uri)
        n = snprintf(fx->path, sizeof(fx->path), "%s%coptions=-csearch_path%%3D%s%s"
                     "&application_name=%s", base, strchr(base, '?') ? '&' : '?',
                     fx->pg_schema, more, fx->pg_schema);
    else
        n = snprintf(fx->path, sizeof(fx->path), "%s options='-csearch_path=%s%s'"
                     " application_name=%s", base, fx->pg_schema, more, fx->pg_schema);
    assert_true(n > 0 && (size_t)n < sizeof(fx->path));
    fx_open(fx);
}

/* reopen_setting() with `isolation` (or none) as default_transaction_isolation. */
static void reopen_named(fixture *fx, const char *isolation)
{
    reopen_setting(fx, "default_transaction_isolation", isolation);
}

/* Ends the server processes of the store's connections (reopen_named()) and waits until they
 * have gone, as a restart of the database or an idle timeout would: its next call connects
 * anew. */
static void drop_connections(fixture *fx, PGconn *conn)
{
    char text[256];

    snprintf(text, sizeof(text), "SELECT count(*), bool_and(pg_terminate_backend(pid, 60000))"
             " FROM pg_stat_activity WHERE application_name = '%s' AND pid <> pg_backend_pid()",
             fx->pg_schema);
    PGresult *r = PQexec(conn, text);
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        fail_msg("%s: %s", text, PQresultErrorMessage(r));
    assert_true(atoi(PQgetvalue(r, 0, 0)) >= 1);
    assert_string_equal(PQgetvalue(r, 0, 1), "t");
    PQclear(r);
}

/* A store of schema version 4 while a process of that version (its shared version lock, taken
 * here by hand) has it open: the read-write open that would migrate it answers JOBS_EBUSY and
 * changes nothing; once that process has gone, the open migrates it. */
static void test_migration_is_ebusy_while_a_process_of_the_older_version_has_the_store(
    void **state)
{
    fixture *fx = *state;
    char buf[256];

    FX_POSTGRES_ONLY();
    fx_close(fx);
    sql(fx, DOWN_TO_4 "UPDATE jobs_meta SET value = 4 WHERE key = 'schema'");
    PGconn *old = connect_raw(fx);
    query(old, "SELECT pg_advisory_lock_shared(" KEY ", 4)", buf, sizeof(buf));
    assert_int_equal(fx_try_open(fx), JOBS_EBUSY);
    assert_null(fx->store);
    assert_non_null(strstr(jobs_error_last(), "schema version 4"));
    assert_non_null(strstr(jobs_error_last(), "stop them"));
    assert_string_equal(query(old, "SELECT value FROM jobs_meta WHERE key = 'schema'", buf,
                              sizeof(buf)), "4");
    query(old, "SELECT indexdef FROM pg_indexes WHERE schemaname = current_schema()"
          " AND indexname = 'jobs_run_direct'", buf, sizeof(buf));
    if (!strstr(buf, "(stack, id)"))
        fail_msg("the index was changed: %s", buf);
    PQfinish(old);
    old = connect_raw(fx);
    wait_unlocked(old, 4);
    fx_open(fx);
    assert_string_equal(query(old, "SELECT value FROM jobs_meta WHERE key = 'schema'", buf,
                              sizeof(buf)), VERSION);
    assert_int_equal(jobs_store_check(fx->store), 0);
    PQfinish(old);
}

/* Every connection of an open store, the pool's and the one jobs_store_wait() listens on, holds
 * the version lock of this libjobs's schema version shared, so a newer libjobs cannot take it
 * exclusively (and migrate) until the store is closed. */
static void test_open_store_holds_its_version_lock_shared(void **state)
{
    fixture *fx = *state;
    char buf[64];
    int64_t due;

    FX_POSTGRES_ONLY();
    PGconn *newer = connect_raw(fx);
    int pooled = atoi(query(newer, LOCKS(VERSION, "granted"), buf, sizeof(buf)));
    assert_true(pooled >= 1);
    assert_int_equal(jobs_store_wait(&due, fx->store, 0, 0), 0);
    assert_int_equal(atoi(query(newer, LOCKS(VERSION, "granted"), buf, sizeof(buf))),
                     pooled + 1);
    assert_string_equal(query(newer, "SELECT pg_try_advisory_lock(" KEY ", " VERSION ")", buf,
                              sizeof(buf)), "f");
    fx_close(fx);
    wait_unlocked(newer, atoi(VERSION));
    assert_string_equal(query(newer, "SELECT pg_try_advisory_lock(" KEY ", " VERSION ")", buf,
                              sizeof(buf)), "t");
    PQfinish(newer);
}

/* An open store whose connections all dropped while a newer libjobs migrated it (here: its
 * schema version raised by hand) does not run its statements on the new tables: each new
 * connection, the listening one too, answers JOBS_ESCHEMA. */
static void test_new_connection_to_a_migrated_store_is_eschema(void **state)
{
    fixture *fx = *state;
    jobs_stack *st = NULL;
    char buf[16];
    int64_t due;

    FX_POSTGRES_ONLY();
    uint64_t stack = fx_stack(fx, OWNER, false);
    reopen_named(fx, NULL);
    PGconn *newer = connect_raw(fx);
    query(newer, "UPDATE jobs_meta SET value = 6 WHERE key = 'schema'", buf, sizeof(buf));
    drop_connections(fx, newer);
    assert_int_equal(jobs_stack_get(&st, fx->store, OWNER, stack), JOBS_ESCHEMA);
    assert_non_null(strstr(jobs_error_last(), "schema version 6"));
    assert_int_equal(jobs_store_wait(&due, fx->store, 0, 0), JOBS_ESCHEMA);
    assert_int_equal(jobs_stack_get(&st, fx->store, OWNER, stack), JOBS_ESCHEMA);
    assert_null(st);
    /* It is the version: at the library's own, the same handle works again. */
    query(newer, "UPDATE jobs_meta SET value = " VERSION " WHERE key = 'schema'", buf,
          sizeof(buf));
    assert_int_equal(jobs_stack_get(&st, fx->store, OWNER, stack), 0);
    jobs_stack_free(st);
    PQfinish(newer);
}

/* A call that succeeds leaves jobs_error_last() as it was (jobs/errors.h), also when its first
 * attempt found its pooled connection dropped (the database restarted, an idle timeout) and
 * took another: that attempt's "cannot reach the database" is not left as the detail. */
static void test_a_call_that_succeeds_after_a_dropped_connection_leaves_the_detail(void **state)
{
    fixture *fx = *state;
    jobs_stack *st = NULL;
    jobs_job *job = NULL;
    char before[512];
    uint64_t id = 0;

    FX_POSTGRES_ONLY();
    uint64_t stack = fx_stack(fx, OWNER, false);
    reopen_named(fx, NULL);
    PGconn *conn = connect_raw(fx);

    /* a read */
    assert_int_equal(jobs_stack_get(&st, fx->store, OWNER, stack), 0); /* a pooled connection */
    jobs_stack_free(st);
    assert_int_equal(jobs_get(&job, fx->store, OWNER, 424242), JOBS_ENOTFOUND);
    snprintf(before, sizeof(before), "%s", jobs_error_last());
    drop_connections(fx, conn);
    assert_int_equal(jobs_stack_get(&st, fx->store, OWNER, stack), 0);
    assert_non_null(st);
    jobs_stack_free(st);
    assert_string_equal(jobs_error_last(), before);

    /* a write */
    assert_int_equal(jobs_get(&job, fx->store, OWNER, 434343), JOBS_ENOTFOUND);
    snprintf(before, sizeof(before), "%s", jobs_error_last());
    drop_connections(fx, conn);
    id = fx_job(fx, OWNER, "after-the-drop", stack, 4, false);
    assert_true(id > 0);
    assert_string_equal(jobs_error_last(), before);
    PQfinish(conn);
}

/* A search path that names an empty schema before the store's ("E, S"): the open finds the
 * store's tables where PostgreSQL resolves their names (S), and every connection means S: the
 * version lock it holds is S's (a newer libjobs whose path is just S sees this process), its
 * due notices wake a store opened on S alone, and it makes nothing in E. Before, the tables
 * came from S while the lock and the notices were keyed by E. */
static void test_a_store_behind_an_empty_schema_on_the_path_is_that_schema(void **state)
{
    fixture *fx = *state;
    const char *base = getenv("JOBS_TEST_STORE");
    jobs_store_options o = JOBS_STORE_OPTIONS_INIT;
    jobs_store *other = NULL;
    jobs_job *got = NULL;
    char path[sizeof(fx->path)], text[256], buf[64];
    uint64_t run;
    int64_t due;
    int n;

    FX_POSTGRES_ONLY(); /* before `base` is read: it is NULL on LMDB */
    bool uri = strstr(base, "://") != NULL;
    uint64_t stack = fx_stack(fx, OWNER, false);
    uint64_t job = fx_job(fx, OWNER, "kept", stack, FX_HOURLY, true);
    fx_close(fx);
    PGconn *raw = connect_raw(fx);
    snprintf(text, sizeof(text), "CREATE SCHEMA %s_e", fx->pg_schema);
    query(raw, text, buf, sizeof(buf));
    if (uri)
        n = snprintf(path, sizeof(path), "%s%coptions=-csearch_path%%3D%s_e%%2C%s", base,
                     strchr(base, '?') ? '&' : '?', fx->pg_schema, fx->pg_schema);
    else
        n = snprintf(path, sizeof(path), "%s options='-csearch_path=%s_e,%s'", base,
                     fx->pg_schema, fx->pg_schema);
    assert_true(n > 0 && (size_t)n < sizeof(path));
    o.path = path;
    assert_int_equal(jobs_store_open(&other, &o), 0);
    assert_int_equal(jobs_get(&got, other, OWNER, job), 0);
    assert_string_equal(got->name, "kept");
    jobs_job_free(got);
    /* raw's path is S alone: the lock it would take to migrate S is held. */
    assert_true(atoi(query(raw, LOCKS(VERSION, "granted"), buf, sizeof(buf))) >= 1);
    fx_open(fx);
    assert_int_equal(jobs_store_wait(&due, fx->store, 0, 0), 0); /* it listens from here */
    assert_int_equal(jobs_run_now(&run, other, OWNER, job), 0);
    assert_int_equal(jobs_store_wait(&due, fx->store, INT64_MAX, 60000), 1);
    jobs_store_close(other);
    snprintf(text, sizeof(text), "SELECT count(*) FROM pg_tables WHERE schemaname = '%s_e'",
             fx->pg_schema);
    assert_string_equal(query(raw, text, buf, sizeof(buf)), "0");
    snprintf(text, sizeof(text), "DROP SCHEMA %s_e", fx->pg_schema);
    query(raw, text, buf, sizeof(buf));
    PQfinish(raw);
}

typedef struct getter {
    fixture *fx;
    uint64_t stack;
    _Atomic int rc, done;
} getter;

static void *get_stack(void *arg)
{
    getter *g = arg;
    jobs_stack *st = NULL;

    atomic_store(&g->rc, jobs_stack_get(&st, g->fx->store, OWNER, g->stack));
    jobs_stack_free(st);
    atomic_store(&g->done, 1);
    return NULL;
}

/* The race of a migration: a newer libjobs holds the version lock of the store's version
 * exclusively until its migration commits (taken here by hand, with the version raised in the
 * same transaction). A new connection of this store waits for it, then reads the version the
 * migration committed and answers JOBS_ESCHEMA, rather than running its statements on the new
 * tables; also where the server's default isolation would keep one snapshot for a transaction
 * (serializable). */
static void test_new_connection_during_a_migration_waits_then_is_eschema(void **state)
{
    static const char *const isolations[] = {NULL, "serializable"};
    fixture *fx = *state;
    struct timespec pause = {0, 10 * 1000 * 1000};
    char buf[16];

    FX_POSTGRES_ONLY();
    uint64_t stack = fx_stack(fx, OWNER, false);
    for (size_t i = 0; i < sizeof(isolations) / sizeof(*isolations); i++) {
        getter g = {fx, stack, 0, 0};
        pthread_t th;

        reopen_named(fx, isolations[i]);
        PGconn *newer = connect_raw(fx);
        drop_connections(fx, newer);
        query(newer, "BEGIN; SELECT pg_advisory_xact_lock(" KEY ", " VERSION ");"
              " UPDATE jobs_meta SET value = 6 WHERE key = 'schema'", buf, sizeof(buf));
        assert_int_equal(pthread_create(&th, NULL, get_stack, &g), 0);
        /* Until the store's new connection waits for the lock (or, wrongly, the call ended). */
        while (!atomic_load(&g.done) &&
               atoi(query(newer, LOCKS(VERSION, "NOT granted"), buf, sizeof(buf))) == 0)
            nanosleep(&pause, NULL);
        query(newer, "COMMIT", buf, sizeof(buf));
        pthread_join(th, NULL);
        assert_int_equal(atomic_load(&g.rc), JOBS_ESCHEMA);
        assert_non_null(strstr(jobs_error_last(), "schema version 6"));
        query(newer, "UPDATE jobs_meta SET value = " VERSION " WHERE key = 'schema'", buf,
              sizeof(buf));
        PQfinish(newer);
    }
}

static void test_backup_and_restore_are_enotsup(void **state)
{
    fixture *fx = *state;
    char dest[PATH_MAX + 8];

    FX_POSTGRES_ONLY();
    snprintf(dest, sizeof(dest), "%s/bk", fx->dir);
    assert_int_equal(jobs_store_backup(fx->store, dest), JOBS_ENOTSUP);
    assert_int_equal(jobs_store_restore(&fx->opts, dest, 0), JOBS_ENOTSUP);
    assert_int_equal(jobs_fault_code(JOBS_ENOTSUP), 129);
}

/* Each damage, made with SQL on a consistent store, is found; the undo makes it pass again. */
static void test_check_finds_damaged_tables(void **state)
{
    static const struct {
        const char *damage, *undo, *want;
    } cases[] = {
        {"UPDATE jobs_count SET n = n + 1 WHERE kind = 0", "UPDATE jobs_count SET n = n - 1 WHERE kind = 0",
         "count"},
        {"UPDATE jobs_bucket SET n = n + 1", "UPDATE jobs_bucket SET n = n - 1", "bucket"},
        {"UPDATE jobs_schedule SET refs = refs + 1 WHERE id = 4",
         "UPDATE jobs_schedule SET refs = refs - 1 WHERE id = 4", "reference"},
        {"UPDATE jobs_meta SET value = value + 1 WHERE key = 'queued'",
         "UPDATE jobs_meta SET value = value - 1 WHERE key = 'queued'", "queued"},
        {"UPDATE jobs_ids SET next = 1 WHERE kind = 0", "UPDATE jobs_ids SET next = 100 WHERE kind = 0",
         "id counter"},
        {"UPDATE jobs_job SET active = NOT active WHERE id = 1",
         "UPDATE jobs_job SET active = NOT active WHERE id = 1", "columns"},
        {"UPDATE jobs_run SET queue_time = queue_time + 1 WHERE id = 1",
         "UPDATE jobs_run SET queue_time = queue_time - 1 WHERE id = 1", "run 1's columns"},
        {"SELECT setval('jobs_run_id', 1, false)", "SELECT setval('jobs_run_id', 100, false)",
         "run id sequence"},
        {"INSERT INTO jobs_stack_blocks VALUES (99, '\\x00')", "DELETE FROM jobs_stack_blocks",
         "blocks"},
        {"UPDATE jobs_job SET rec = '\\xff00' WHERE id = 2", NULL, "decode"},
    };
    fixture *fx = *state;

    FX_POSTGRES_ONLY();
    uint64_t stack = fx_stack(fx, OWNER, false);
    for (int i = 0; i < 3; i++)
        fx_job(fx, OWNER, NULL, stack, FX_HOURLY, i != 1);
    assert_int_equal(jobs_run_now(NULL, fx->store, OWNER, 1), 0);
    assert_int_equal(jobs_store_check(fx->store), 0);
    for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
        sql(fx, cases[i].damage);
        assert_int_equal(jobs_store_check(fx->store), JOBS_ECORRUPT);
        if (!strstr(jobs_error_last(), cases[i].want))
            fail_msg("damage %zu: '%s' does not name '%s'", i, jobs_error_last(), cases[i].want);
        if (!cases[i].undo)
            break;
        sql(fx, cases[i].undo);
        assert_int_equal(jobs_store_check(fx->store), 0);
    }
}

/* A session whose bytea_output is 'escape' (a server, database or role setting, or the
 * conninfo's options) checks a sound store as sound. Before, the verifier read the record
 * bytes as hex text and reported every record as not decoding. */
static void test_check_does_not_depend_on_bytea_output(void **state)
{
    fixture *fx = *state;

    FX_POSTGRES_ONLY();
    uint64_t stack = fx_stack(fx, OWNER, false);
    fx_job(fx, OWNER, "named", stack, FX_HOURLY, true);
    assert_int_equal(jobs_run_now(NULL, fx->store, OWNER, 1), 0);
    reopen_setting(fx, "bytea_output", "escape");
    assert_int_equal(jobs_store_check(fx->store), 0);
}

static int count_kv(void *ctx, const void *key, size_t key_len, const void *value,
                    size_t value_len)
{
    (void)key;
    (void)key_len;
    (void)value;
    (void)value_len;
    (*(int *)ctx)++;
    return 0;
}

static int scan_all(jobs_kv_txn *txn, void *ctx)
{
    return jobs_kv_scan(txn, "ns", NULL, 0, SIZE_MAX, count_kv, ctx);
}

/* A limit above what a bigint holds (SIZE_MAX, say) takes everything, as on LMDB: the tick's
 * due jobs and a namespace's records. Before, it went to PostgreSQL as a negative LIMIT, which
 * PostgreSQL refuses: JOBS_EIO. */
static void test_a_limit_beyond_int64_takes_everything(void **state)
{
    fixture *fx = *state;
    fx_events ev;
    size_t n = 0;
    int seen = 0;

    FX_POSTGRES_ONLY();
    uint64_t stack = fx_stack(fx, OWNER, false);
    fx_job(fx, OWNER, "due", stack, FX_HOURLY, true);
    memset(&ev, 0, sizeof(ev));
    assert_int_equal(jobs_scheduler_tick(&n, fx->store, fx_time(fx) + 7200, SIZE_MAX,
                                         fx_record_event, &ev), 0);
    assert_int_equal(n, 1);
    assert_int_equal(jobs_kv_write(fx->store, put_one, NULL), 0);
    assert_int_equal(jobs_kv_read(fx->store, scan_all, &seen), 0);
    assert_int_equal(seen, 1);
}

/* Every run id used (the run id sequence at its end, as a copy of such an LMDB store sets it):
 * each new run is JOBS_ERANGE, as on LMDB, the first and every later one. Before, the first
 * took the sequence's last value and answered JOBS_ERANGE, and the next ones met PostgreSQL's
 * "reached maximum value of sequence" as JOBS_EIO. */
static void test_run_ids_used_up_are_erange_every_time(void **state)
{
    fixture *fx = *state;

    FX_POSTGRES_ONLY();
    uint64_t stack = fx_stack(fx, OWNER, false);
    uint64_t job = fx_job(fx, OWNER, "j", stack, FX_HOURLY, true);
    sql(fx, "SELECT setval('jobs_run_id', 9007199254740992, false)");
    for (int i = 0; i < 3; i++) {
        uint64_t run = 1;

        assert_int_equal(jobs_run_now(&run, fx->store, OWNER, job), JOBS_ERANGE);
        assert_int_equal(run, 0);
    }
    assert_int_equal(jobs_store_check(fx->store), 0);
}

/* A job id counter behind the jobs (damage): a create meets the row of the id it was given and
 * answers JOBS_ECORRUPT at once, changing nothing. Before, it was taken for a race over a name,
 * run again 100 times, and answered JOBS_EEXISTS ("name already used") for an unnamed job. */
static void test_id_counter_behind_its_rows_is_ecorrupt(void **state)
{
    fixture *fx = *state;
    jobs_job_spec spec = JOBS_JOB_SPEC_INIT;
    uint64_t id = 0;

    FX_POSTGRES_ONLY();
    uint64_t stack = fx_stack(fx, OWNER, false);
    fx_job(fx, OWNER, NULL, stack, FX_HOURLY, true);
    sql(fx, "UPDATE jobs_ids SET next = 1 WHERE kind = 0");
    spec.fields = JOBS_JOB_STACK | JOBS_JOB_SCHEDULE;
    spec.stack = stack;
    spec.schedule = FX_HOURLY;
    assert_int_equal(jobs_create(&id, fx->store, OWNER, &spec), JOBS_ECORRUPT);
    assert_non_null(strstr(jobs_error_last(), "counter"));
    assert_int_equal(fx_count(fx, OWNER), 1);
    sql(fx, "UPDATE jobs_ids SET next = 2 WHERE kind = 0");
    assert_int_equal(jobs_create(&id, fx->store, OWNER, &spec), 0);
    assert_int_equal(id, 2);
    assert_int_equal(jobs_store_check(fx->store), 0);
}

/* ---- two creates of one name at once: exactly one JOBS_EEXISTS -------------------------- */

#define RACERS 8
#define ROUNDS 20

typedef struct race {
    fixture *fx;
    pthread_barrier_t *go;
    uint64_t stack;
    int round;
    int rc[ROUNDS];
} race;

static void *racer(void *arg)
{
    race *r = arg;
    char name[32];

    for (int k = 0; k < ROUNDS; k++) {
        jobs_job_spec spec = JOBS_JOB_SPEC_INIT;
        uint64_t id;

        snprintf(name, sizeof(name), "same-%d", k);
        spec.fields = JOBS_JOB_NAME | JOBS_JOB_STACK | JOBS_JOB_SCHEDULE;
        spec.name = name;
        spec.stack = r->stack;
        spec.schedule = FX_HOURLY;
        pthread_barrier_wait(r->go);
        r->rc[k] = jobs_create(&id, r->fx->store, OWNER, &spec);
    }
    return NULL;
}

static void test_concurrent_creates_of_one_name_give_one_eexists(void **state)
{
    fixture *fx = *state;
    pthread_barrier_t go;
    pthread_t th[RACERS];
    static race r[RACERS];

    FX_POSTGRES_ONLY();
    uint64_t stack = fx_stack(fx, OWNER, false);
    pthread_barrier_init(&go, NULL, RACERS);
    for (int i = 0; i < RACERS; i++) {
        r[i] = (race){fx, &go, stack, 0, {0}};
        assert_int_equal(pthread_create(&th[i], NULL, racer, &r[i]), 0);
    }
    for (int i = 0; i < RACERS; i++)
        pthread_join(th[i], NULL);
    pthread_barrier_destroy(&go);
    for (int k = 0; k < ROUNDS; k++) {
        int ok = 0, exists = 0;
        for (int i = 0; i < RACERS; i++) {
            ok += r[i].rc[k] == 0;
            exists += r[i].rc[k] == JOBS_EEXISTS;
        }
        assert_int_equal(ok, 1);
        assert_int_equal(exists, RACERS - 1);
    }
    assert_int_equal(fx_count(fx, OWNER), ROUNDS);
    assert_int_equal(jobs_store_check(fx->store), 0);
}

/* ---- two writes of one stack, or of one stack name, at once ------------------------------ */

/* One write of a race: a stack create (name set, id 0), update, or run (start_run), or a
 * namespaced record's first put (kv). */
typedef struct stack_writer {
    fixture *fx;
    uint64_t id;              /* 0: create a stack named spec.name */
    jobs_stack_spec spec;
    bool start_run;           /* jobs_run_start_stack() of stack `id` */
    bool kv;                  /* jobs_kv_write(put_new) */
    _Atomic int rc, done;
} stack_writer;

/* Makes record "k" of namespace "ns" unless it is there (JOBS_EEXISTS then), then takes an id
 * of namespace "held" (whose counter another session may hold). */
static int put_new(jobs_kv_txn *txn, void *ctx)
{
    char v[1];
    size_t len;
    uint64_t id;
    int rc = jobs_kv_get(txn, "ns", "k", 1, v, sizeof(v), &len);

    (void)ctx;
    if (rc == 0)
        return JOBS_EEXISTS;
    if (rc != JOBS_ENOTFOUND)
        return rc;
    if ((rc = jobs_kv_put(txn, "ns", "k", 1, "v", 1)))
        return rc;
    return jobs_kv_next_id(&id, txn, "held");
}

static int take_held_id(jobs_kv_txn *txn, void *ctx)
{
    uint64_t id;

    (void)ctx;
    return jobs_kv_next_id(&id, txn, "held");
}

static void *stack_write(void *arg)
{
    stack_writer *w = arg;
    jobs_event ev;
    uint64_t id = 0;
    int rc = w->kv ? jobs_kv_write(w->fx->store, put_new, NULL)
             : w->start_run ? jobs_run_start_stack(&ev, w->fx->store, OWNER, w->id,
                                                 JOBS_TRIGGER_MANUAL)
             : w->id ? jobs_stack_update(NULL, w->fx->store, OWNER, w->id, &w->spec)
                     : jobs_stack_create(&id, w->fx->store, OWNER, w->spec.name, false);

    atomic_store(&w->rc, rc);
    atomic_store(&w->done, 1);
    return NULL;
}

/* Runs the two writes while another session holds the row locks `hold` takes, so that both
 * are inside their transactions, each waiting for a lock, before either can commit: then lets
 * them go and waits for both. The store's connections are told apart by their
 * application_name (reopen_named()). */
static void race_two(fixture *fx, const char *hold, stack_writer w[2])
{
    struct timespec pause = {0, 10 * 1000 * 1000};
    char text[512], buf[16];
    pthread_t th[2];

    reopen_named(fx, NULL);
    PGconn *raw = connect_raw(fx);
    PGconn *watch = connect_raw(fx); /* pg_stat_activity is one snapshot per transaction */
    snprintf(text, sizeof(text), "BEGIN; %s", hold);
    query(raw, text, buf, sizeof(buf));
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&th[i], NULL, stack_write, &w[i]), 0);
    snprintf(text, sizeof(text), "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a"
             " ON a.pid = l.pid WHERE NOT l.granted AND a.application_name = '%s'"
             " AND a.pid <> pg_backend_pid()", fx->pg_schema);
    while (!(atomic_load(&w[0].done) && atomic_load(&w[1].done)) &&
           atoi(query(watch, text, buf, sizeof(buf))) < 2)
        nanosleep(&pause, NULL);
    query(raw, "COMMIT", buf, sizeof(buf));
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    PQfinish(watch);
    PQfinish(raw);
}

/* Two creates of one stack name by one owner at once, both past their lookup of the name before
 * either commits (another session holds the stack id counter): one stack is made and the other
 * create gets JOBS_ESTACKEXISTS, as on LMDB. Before, no unique index or lock stood between them
 * and the owner had two stacks of that name. */
static void test_concurrent_creates_of_one_stack_name_give_one_estackexists(void **state)
{
    fixture *fx = *state;
    stack_writer w[2];
    jobs_stack_page *page = NULL;

    FX_POSTGRES_ONLY();
    for (int i = 0; i < 2; i++) {
        memset(&w[i], 0, sizeof(w[i]));
        w[i].fx = fx;
        w[i].spec.name = "twin";
    }
    race_two(fx, "SELECT next FROM jobs_ids WHERE kind = 2 FOR UPDATE", w);
    assert_int_equal(atomic_load(&w[0].rc) + atomic_load(&w[1].rc), JOBS_ESTACKEXISTS);
    assert_true(atomic_load(&w[0].rc) == 0 || atomic_load(&w[1].rc) == 0);
    assert_int_equal(jobs_stack_list(&page, fx->store, OWNER, 1, 10), 0);
    assert_int_equal(page->count, 1);
    jobs_stack_page_free(page);
    assert_int_equal(jobs_store_check(fx->store), 0);
}

/* Two updates of one stack at once, both started while another session holds its row: they take
 * turns, the second starting from what the first committed. Both making it public move it to
 * the public list once (the counts agree with the rows); two different changes both stay.
 * Before, each started from the stack as it was before either, so the list counts moved twice
 * (jobs_store_check: ECORRUPT) and one change was lost. */
static void test_concurrent_updates_of_one_stack_take_turns(void **state)
{
    fixture *fx = *state;
    char hold[128];
    stack_writer w[2];
    jobs_stack_page *page = NULL;
    jobs_stack_detail *d = NULL;

    FX_POSTGRES_ONLY();
    uint64_t stack = fx_stack(fx, OWNER, false);
    snprintf(hold, sizeof(hold), "SELECT 1 FROM jobs_stack WHERE id = %llu FOR UPDATE",
             (unsigned long long)stack);
    for (int i = 0; i < 2; i++) {
        memset(&w[i], 0, sizeof(w[i]));
        w[i].fx = fx;
        w[i].id = stack;
        w[i].spec.fields = JOBS_STACK_PUBLIC;
        w[i].spec.is_public = true;
    }
    race_two(fx, hold, w);
    assert_int_equal(atomic_load(&w[0].rc), 0);
    assert_int_equal(atomic_load(&w[1].rc), 0);
    assert_int_equal(jobs_store_check(fx->store), 0);
    assert_int_equal(jobs_stack_list(&page, fx->store, OWNER, 1, 10), 0);
    assert_int_equal(page->count, 1);
    jobs_stack_page_free(page);
    assert_int_equal(jobs_stack_list(&page, fx->store, OTHER, 1, 10), 0);
    assert_int_equal(page->count, 1);
    jobs_stack_page_free(page);

    for (int i = 0; i < 2; i++) {
        memset(&w[i], 0, sizeof(w[i]));
        w[i].fx = fx;
        w[i].id = stack;
    }
    w[0].spec.fields = JOBS_STACK_NEEDS_APPROVAL;
    w[0].spec.needs_approval = true;
    w[1].spec.fields = JOBS_STACK_WEBHOOK;
    w[1].spec.webhook = JOBS_WEBHOOK_PUBLIC;
    race_two(fx, hold, w);
    assert_int_equal(atomic_load(&w[0].rc), 0);
    assert_int_equal(atomic_load(&w[1].rc), 0);
    assert_int_equal(jobs_stack_get_detail(&d, fx->store, OWNER, stack), 0);
    assert_true(d->needs_approval);
    assert_int_equal(d->webhook, JOBS_WEBHOOK_PUBLIC);
    assert_true(d->is_public);
    jobs_stack_detail_free(d);
    assert_int_equal(jobs_store_check(fx->store), 0);
}

/* Two runs of one stack without a job at once, its owner's history kept to one run: both are
 * made, and the older runs go. Both started while another session held the history's oldest
 * run. Before, both counted the history and went for that run; the second found it gone with
 * the first's commit and failed with JOBS_ECORRUPT ("a run history names a missing run"). */
static void test_concurrent_runs_of_one_stack_trim_its_history_once(void **state)
{
    fixture *fx = *state;
    char hold[128];
    stack_writer w[2];
    jobs_event ev;
    jobs_run_page *p = NULL;

    FX_POSTGRES_ONLY();
    uint64_t stack = fx_stack(fx, OWNER, false);
    assert_int_equal(jobs_run_start_stack(&ev, fx->store, OWNER, stack, JOBS_TRIGGER_MANUAL), 0);
    snprintf(hold, sizeof(hold), "SELECT 1 FROM jobs_run WHERE id = %llu FOR UPDATE",
             (unsigned long long)ev.run);
    fx->opts.run_history = 1;
    for (int i = 0; i < 2; i++) {
        memset(&w[i], 0, sizeof(w[i]));
        w[i].fx = fx;
        w[i].id = stack;
        w[i].start_run = true;
    }
    race_two(fx, hold, w);
    assert_int_equal(atomic_load(&w[0].rc), 0);
    assert_int_equal(atomic_load(&w[1].rc), 0);
    assert_int_equal(jobs_run_list_stack(&p, fx->store, OWNER, stack, 1, 10), 0);
    assert_int_equal(p->count, 1);
    jobs_run_page_free(p);
    assert_int_equal(jobs_store_check(fx->store), 0);
}

/* Two writes making one new namespaced record at once, both past their look for it before
 * either commits (another session holds a counter both then take): the second meets the
 * first's row in the primary key, runs again, finds it, and gives its own answer; it is not
 * taken for damage. */
static void test_concurrent_puts_of_one_new_record_run_again(void **state)
{
    fixture *fx = *state;
    stack_writer w[2];

    FX_POSTGRES_ONLY();
    assert_int_equal(jobs_kv_write(fx->store, take_held_id, NULL), 0);
    for (int i = 0; i < 2; i++) {
        memset(&w[i], 0, sizeof(w[i]));
        w[i].fx = fx;
        w[i].kv = true;
    }
    race_two(fx, "SELECT 1 FROM jobs_kv WHERE ns = convert_to('#ids', 'UTF8')"
                 " AND key = convert_to('held', 'UTF8') FOR UPDATE", w);
    assert_int_equal(atomic_load(&w[0].rc) + atomic_load(&w[1].rc), JOBS_EEXISTS);
    assert_int_equal(jobs_store_check(fx->store), 0);
}

typedef struct waiter {
    fixture *fx;
    int timeout_ms;
    _Atomic int rc, done;
} waiter;

/* The conninfo's own time limits (its options' lock_timeout, statement_timeout): a write that
 * waits past one, for a job another session holds, answers JOBS_ECONFLICT or JOBS_EUNAVAILABLE,
 * both "try again", and changes nothing; once the other session lets go the same write succeeds.
 * Before, both were JOBS_EIO ("storage I/O error", HTTP 500), as for damage. */
static void expect_timeout(fixture *fx, const char *setting, int code, const char *words)
{
    jobs_job_spec ch = JOBS_JOB_SPEC_INIT;
    jobs_job *j = NULL;
    PGconn *holder;
    char text[128], buf[16];

    reopen_setting(fx, setting, "200");
    uint64_t stack = fx_stack(fx, OWNER, false);
    uint64_t job = fx_job(fx, OWNER, "held", stack, fx_periodic(fx, OWNER, 60), false);

    holder = connect_raw(fx);
    query(holder, "BEGIN", buf, sizeof(buf));
    snprintf(text, sizeof(text), "SELECT 1 FROM jobs_job WHERE id = %llu FOR UPDATE",
             (unsigned long long)job);
    query(holder, text, buf, sizeof(buf));
    ch.fields = JOBS_JOB_NAME;
    ch.name = "renamed";
    assert_int_equal(jobs_update(NULL, fx->store, OWNER, job, &ch), code);
    assert_non_null(strstr(jobs_error_last(), words));
    query(holder, "ROLLBACK", buf, sizeof(buf));
    PQfinish(holder);

    j = fx_get(fx, OWNER, job);
    assert_string_equal(j->name, "held");
    jobs_job_free(j);
    assert_int_equal(jobs_update(NULL, fx->store, OWNER, job, &ch), 0);
    j = fx_get(fx, OWNER, job);
    assert_string_equal(j->name, "renamed");
    jobs_job_free(j);
    assert_int_equal(jobs_store_check(fx->store), 0);
}

static void test_a_lock_timeout_is_econflict_and_changes_nothing(void **state)
{
    FX_POSTGRES_ONLY();
    expect_timeout(*state, "lock_timeout", JOBS_ECONFLICT, "lock_timeout");
}

static void test_a_statement_timeout_is_eunavailable_and_changes_nothing(void **state)
{
    FX_POSTGRES_ONLY();
    expect_timeout(*state, "statement_timeout", JOBS_EUNAVAILABLE, "statement_timeout");
}

static void *wait_long(void *arg)
{
    waiter *w = arg;
    int64_t due;

    atomic_store(&w->rc, jobs_store_wait(&due, w->fx->store, INT64_MAX, w->timeout_ms));
    atomic_store(&w->done, 1);
    return NULL;
}

/* Two threads waiting on one handle (allowed: one of them takes each notice): the second's
 * wait ends at its own timeout while the first still waits, and the first takes the next
 * notice. Before, the second waited for the first's whole wait (its lock) before its own
 * began. */
static void test_a_second_waiter_keeps_its_own_timeout(void **state)
{
    fixture *fx = *state;
    struct timespec pause = {0, 10 * 1000 * 1000};
    waiter first = {fx, 30000, 0, 0};
    char text[256], buf[16];
    pthread_t th;
    int64_t due;

    FX_POSTGRES_ONLY();
    uint64_t stack = fx_stack(fx, OWNER, false);
    uint64_t job = fx_job(fx, OWNER, "j", stack, FX_HOURLY, true);
    reopen_named(fx, NULL);
    PGconn *watch = connect_raw(fx);
    assert_int_equal(pthread_create(&th, NULL, wait_long, &first), 0);
    /* Until the first waiter listens (it waits from then on, or, wrongly, it ended). */
    snprintf(text, sizeof(text), "SELECT count(*) FROM pg_stat_activity WHERE query ="
             " 'LISTEN jobs_due' AND application_name = '%s'", fx->pg_schema);
    while (!atomic_load(&first.done) && atoi(query(watch, text, buf, sizeof(buf))) == 0)
        nanosleep(&pause, NULL);
    assert_int_equal(jobs_store_wait(&due, fx->store, INT64_MAX, 100), 0);
    assert_false(atomic_load(&first.done));
    assert_int_equal(jobs_run_now(NULL, fx->store, OWNER, job), 0);
    pthread_join(th, NULL);
    assert_int_equal(atomic_load(&first.rc), 1);
    PQfinish(watch);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_unreachable_database_is_eunavailable_by_uri_and_conninfo, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_open_reports_the_backend_and_reopens_the_same_data,
                                        fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_version_4_store_is_migrated_to_direct_runs_per_owner,
                                        fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_newer_schema_is_eschema_and_changes_nothing,
                                        fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_version_2_store_is_migrated_with_its_names,
                                        fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_version_1_store_is_migrated_at_open, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_version_3_store_is_migrated_to_a_run_id_sequence,
                                        fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(
            test_migration_is_ebusy_while_a_process_of_the_older_version_has_the_store, fx_setup,
            fx_teardown),
        cmocka_unit_test_setup_teardown(test_open_store_holds_its_version_lock_shared, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(
            test_a_call_that_succeeds_after_a_dropped_connection_leaves_the_detail, fx_setup,
            fx_teardown),
        cmocka_unit_test_setup_teardown(test_new_connection_to_a_migrated_store_is_eschema,
                                        fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(
            test_new_connection_during_a_migration_waits_then_is_eschema, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(
            test_a_store_behind_an_empty_schema_on_the_path_is_that_schema, fx_setup,
            fx_teardown),
        cmocka_unit_test_setup_teardown(test_backup_and_restore_are_enotsup, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_check_finds_damaged_tables, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_check_does_not_depend_on_bytea_output, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_a_limit_beyond_int64_takes_everything, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_run_ids_used_up_are_erange_every_time, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_id_counter_behind_its_rows_is_ecorrupt, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_creates_of_one_name_give_one_eexists,
                                        fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(
            test_concurrent_creates_of_one_stack_name_give_one_estackexists, fx_setup,
            fx_teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_updates_of_one_stack_take_turns,
                                        fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_runs_of_one_stack_trim_its_history_once,
                                        fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_puts_of_one_new_record_run_again,
                                        fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_a_lock_timeout_is_econflict_and_changes_nothing,
                                        fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(
            test_a_statement_timeout_is_eunavailable_and_changes_nothing, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_a_second_waiter_keeps_its_own_timeout, fx_setup,
                                        fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
