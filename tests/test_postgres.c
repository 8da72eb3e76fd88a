/* The PostgreSQL backend's own behaviour (run as pg_test_postgres, against the throwaway
 * cluster; every test skips without JOBS_TEST_STORE): how a path chooses the backend, an
 * unreachable database, the schema version, the verifier over damaged tables, concurrent
 * creates of one name, backup. The rules themselves are the rest of the suite, run on both
 * backends. */
#include <pthread.h>
#include <stdio.h>
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
        cmocka_unit_test_setup_teardown(test_backup_and_restore_are_enotsup, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_check_finds_damaged_tables, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_creates_of_one_name_give_one_eexists,
                                        fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
