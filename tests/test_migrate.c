/* Schema migration: a store written by libjobs 0.2.0 (schema 2; tests/data/schema2, made by
 * make-fixture.c there) opens read-write as the current schema with every job, page, name,
 * count and the id counter as that version left them, and goes on working; read-only, it is
 * refused with a clear error and left as it was. A store written by 0.3 (schema 3;
 * tests/data/schema3) keeps each owner's runs of a stack, and its stacks' runs without a job
 * become their owners' own histories. */
#include "fixture.h"
#include "holder.h"

#include <errno.h>
#include <fcntl.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define OWNERS 3
#define MAX 200

typedef struct expected {
    size_t n[OWNERS + 1];
    uint64_t ids[OWNERS + 1][MAX];
    char names[OWNERS + 1][MAX][32]; /* "-" for none */
    uint64_t runs[OWNERS + 1][MAX], newest[OWNERS + 1][MAX]; /* each job's history */
    uint64_t stack_runs[OWNERS + 1];
    uint64_t next;
} expected;

static void load_expected(expected *e)
{
    FILE *f = fopen(JOBS_TEST_SCHEMA2_DIR "/expected.txt", "r");
    char line[128], name[32];
    unsigned long long a, b, c;
    int owner = 0;

    assert_non_null(f);
    memset(e, 0, sizeof(*e));
    while (fgets(line, sizeof(line), f)) {
        if (sscanf(line, "owner %llu %llu", &a, &b) == 2) {
            assert_true(a >= 1 && a <= OWNERS);
            owner = (int)a;
        } else if (sscanf(line, "job %llu %31s %llu %llu", &a, name, &b, &c) == 4) {
            assert_true(owner > 0 && e->n[owner] < MAX);
            e->ids[owner][e->n[owner]] = a;
            e->runs[owner][e->n[owner]] = b;
            e->newest[owner][e->n[owner]] = c;
            snprintf(e->names[owner][e->n[owner]++], 32, "%s", name);
        } else if (sscanf(line, "stackruns %llu", &a) == 1) {
            assert_true(owner > 0);
            e->stack_runs[owner] = a;
        } else {
            assert_int_equal(sscanf(line, "next %llu", &a), 1);
            e->next = a;
        }
    }
    fclose(f);
    assert_true(e->n[1] > 100 && e->next > 0 && e->stack_runs[1] > 0);
}

static void copy_file(const char *from, const char *to)
{
    char buf[65536];
    int in = open(from, O_RDONLY), out;
    ssize_t n;

    assert_true(in >= 0);
    assert_true((out = open(to, O_WRONLY | O_CREAT | O_EXCL, 0600)) >= 0);
    while ((n = read(in, buf, sizeof(buf))) > 0)
        assert_int_equal(write(out, buf, (size_t)n), n);
    assert_int_equal(n, 0);
    close(in);
    assert_int_equal(close(out), 0);
}

/* A fixture's store copied to fx->path (the fixture file itself is never opened). */
static void place(fixture *fx, const char *dir)
{
    char from[PATH_MAX + 16], to[PATH_MAX + 16];

    assert_int_equal(mkdir(fx->path, 0700), 0);
    snprintf(from, sizeof(from), "%s/data.mdb", dir);
    snprintf(to, sizeof(to), "%s/data.mdb", fx->path);
    copy_file(from, to);
}

static void place_store(fixture *fx)
{
    place(fx, JOBS_TEST_SCHEMA2_DIR);
}

/* The store's schema version and whether schema 2's databases are still there, read with
 * LMDB directly. */
static uint32_t raw_schema(const char *path, bool *old_dbs)
{
    static const char *const old[] = {"job_owner", "job_rank", "counts"};
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi meta, d;
    MDB_val k = {6, "schema"}, v;
    uint32_t version;

    assert_int_equal(mdb_env_create(&env), 0);
    assert_int_equal(mdb_env_set_maxdbs(env, 32), 0);
    assert_int_equal(mdb_env_open(env, path, MDB_RDONLY, 0600), 0);
    assert_int_equal(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), 0);
    assert_int_equal(mdb_dbi_open(txn, "meta", 0, &meta), 0);
    assert_int_equal(mdb_get(txn, meta, &k, &v), 0);
    assert_int_equal(v.mv_size, 4);
    memcpy(&version, v.mv_data, 4);
    *old_dbs = false;
    for (size_t i = 0; i < 3; i++)
        *old_dbs |= mdb_dbi_open(txn, old[i], 0, &d) == 0;
    mdb_txn_abort(txn);
    mdb_env_close(env);
    return version;
}

/* Every owner's jobs, page by page (7 a page: the rank index finds each page's start), each
 * name, and the runs of each job and of the stack, as the old version listed them. */
static void check_as_written(fixture *fx, const expected *e)
{
    for (uint64_t o = 1; o <= OWNERS; o++) {
        size_t seen = 0;

        for (uint64_t page = 1;; page++) {
            jobs_job_page *p = NULL;

            assert_int_equal(jobs_list(&p, fx->store, o, page, 7), 0);
            assert_int_equal(p->count, e->n[o]);
            for (size_t i = 0; i < p->n; i++, seen++) {
                const char *want = e->names[o][seen];
                jobs_run_page *r = NULL;

                assert_true(seen < e->n[o]);
                assert_int_equal(p->jobs[i].id, e->ids[o][seen]);
                assert_int_equal(jobs_run_list(&r, fx->store, o, p->jobs[i].id, 1, 1), 0);
                assert_int_equal(r->count, e->runs[o][seen]);
                assert_int_equal(r->n ? r->runs[0]->id : 0, e->newest[o][seen]);
                jobs_run_page_free(r);
                if (strcmp(want, "-") == 0) {
                    assert_null(p->jobs[i].name);
                } else {
                    jobs_job *j = NULL;

                    assert_string_equal(p->jobs[i].name, want);
                    assert_int_equal(jobs_get_by_name(&j, fx->store, o, want), 0);
                    assert_int_equal(j->id, e->ids[o][seen]);
                    jobs_job_free(j);
                }
            }
            if (p->n == 0) {
                jobs_job_page_free(p);
                break;
            }
            jobs_job_page_free(p);
        }
        assert_int_equal(seen, e->n[o]);
        {
            jobs_run_page *r = NULL;

            assert_int_equal(jobs_run_list_stack(&r, fx->store, o, 1, 1, 1), 0);
            assert_int_equal(r->count, e->stack_runs[o]);
            jobs_run_page_free(r);
        }
    }
}

static uint64_t create(fixture *fx, uint64_t owner, const char *name)
{
    jobs_job_spec spec = JOBS_JOB_SPEC_INIT;
    uint64_t id = 0;

    spec.fields = JOBS_JOB_STACK | JOBS_JOB_SCHEDULE | (name ? JOBS_JOB_NAME : 0);
    spec.name = name;
    spec.stack = 1;
    spec.schedule = 4;
    assert_int_equal(jobs_create(&id, fx->store, owner, &spec), 0);
    return id;
}

static void test_read_only_open_is_refused(void **state)
{
    FX_LMDB_ONLY(); /* LMDB: a store file of an earlier version */
    fixture *fx = *state;
    bool old_dbs;

    place_store(fx);
    fx->opts.flags |= JOBS_STORE_READONLY;
    assert_int_equal(fx_try_open(fx), JOBS_ESCHEMA);
    assert_non_null(strstr(jobs_error_last(), "schema version 2"));
    assert_non_null(strstr(jobs_error_last(), "open it read-write once"));
    assert_int_equal(raw_schema(fx->path, &old_dbs), 2);
    assert_true(old_dbs);
}

static void test_schema_2_store_is_migrated_at_open(void **state)
{
    FX_LMDB_ONLY(); /* LMDB: a store file of an earlier version */
    fixture *fx = *state;
    expected *e = malloc(sizeof(*e));
    bool old_dbs;
    uint64_t id;

    assert_non_null(e);
    load_expected(e);
    place_store(fx);
    fx_open(fx);
    assert_int_equal(jobs_store_check(fx->store), 0);
    check_as_written(fx, e);
    fx_close(fx);
    assert_int_equal(raw_schema(fx->path, &old_dbs), 4);
    assert_false(old_dbs);

    /* The id counter: the old version's newest job was deleted, and its id is not given
     * again. */
    fx_open(fx);
    check_as_written(fx, e);
    id = create(fx, 3, "after-migration");
    assert_int_equal(id, e->next);
    e->ids[3][e->n[3]] = id;
    e->runs[3][e->n[3]] = e->newest[3][e->n[3]] = 0;
    snprintf(e->names[3][e->n[3]++], 32, "after-migration");
    assert_int_equal(create(fx, 1, NULL), e->next + 1);
    e->ids[1][e->n[1]] = e->next + 1;
    e->runs[1][e->n[1]] = e->newest[1][e->n[1]] = 0;
    snprintf(e->names[1][e->n[1]++], 32, "-");

    /* Deletes and the owners' pages go on from the migrated index. */
    for (size_t i = 0; i < 10; i++) {
        jobs_delete_outcome out;
        size_t at = (i * 7) % e->n[1];

        assert_int_equal(jobs_delete(&out, fx->store, 1, e->ids[1][at]), 0);
        if (out == JOBS_DELETED) {
            memmove(&e->ids[1][at], &e->ids[1][at + 1], (e->n[1] - at - 1) * sizeof(uint64_t));
            memmove(&e->names[1][at], &e->names[1][at + 1], (e->n[1] - at - 1) * 32);
            memmove(&e->runs[1][at], &e->runs[1][at + 1], (e->n[1] - at - 1) * sizeof(uint64_t));
            memmove(&e->newest[1][at], &e->newest[1][at + 1],
                    (e->n[1] - at - 1) * sizeof(uint64_t));
            e->n[1]--;
        }
    }
    assert_int_equal(jobs_store_check(fx->store), 0);
    fx_reopen(fx);
    assert_int_equal(jobs_store_check(fx->store), 0);
    check_as_written(fx, e);
    free(e);
}

/* Each owner's runs of each stack, newest first, as 0.3 listed them (expected.txt:
 * "stackruns OWNER STACK COUNT ID..."); returns how many lists were compared. */
static int check_stack_runs(fixture *fx)
{
    FILE *f = fopen(JOBS_TEST_SCHEMA3_DIR "/expected.txt", "r");
    char line[256];
    int lists = 0;

    assert_non_null(f);
    while (fgets(line, sizeof(line), f)) {
        unsigned long long owner, stack, count, id;
        jobs_run_page *r = NULL;
        char *p = line;
        int used;

        assert_int_equal(sscanf(p, "stackruns %llu %llu %llu%n", &owner, &stack, &count, &used),
                         3);
        assert_int_equal(jobs_run_list_stack(&r, fx->store, owner, stack, 1, 100), 0);
        assert_int_equal(r->count, count);
        assert_int_equal(r->n, count);
        p += used;
        for (size_t i = 0; i < r->n; i++, p += used) {
            assert_int_equal(sscanf(p, "%llu%n", &id, &used), 1);
            assert_int_equal(r->runs[i]->id, id);
        }
        jobs_run_page_free(r);
        lists++;
    }
    fclose(f);
    return lists;
}

static void test_schema_3_stack_runs_become_their_owners_histories(void **state)
{
    FX_LMDB_ONLY(); /* LMDB: a store file of an earlier version */
    fixture *fx = *state;
    bool old_dbs;
    jobs_event ev;

    place(fx, JOBS_TEST_SCHEMA3_DIR);
    fx->opts.flags |= JOBS_STORE_READONLY;
    assert_int_equal(fx_try_open(fx), JOBS_ESCHEMA);
    assert_non_null(strstr(jobs_error_last(), "schema version 3"));
    assert_int_equal(raw_schema(fx->path, &old_dbs), 3);
    fx->opts.flags &= ~(unsigned)JOBS_STORE_READONLY;
    /* Owner 1 has three runs of the public stack 1 without a job, owner 2 two: at a limit of
     * two, each owner's next run trims that owner's history alone. */
    fx->opts.run_history = 2;
    fx_open(fx);
    assert_int_equal(jobs_store_check(fx->store), 0);
    assert_int_equal(check_stack_runs(fx), 3);
    fx_close(fx);
    assert_int_equal(raw_schema(fx->path, &old_dbs), 4);
    fx_open(fx);
    assert_int_equal(jobs_run_start_stack(&ev, fx->store, 2, 1, JOBS_TRIGGER_MANUAL), 0);
    jobs_run_page *r = NULL;
    assert_int_equal(jobs_run_list_stack(&r, fx->store, 1, 1, 1, 100), 0);
    assert_int_equal(r->count, 4); /* three without a job, one of its job: all still there */
    jobs_run_page_free(r);
    assert_int_equal(jobs_run_list_stack(&r, fx->store, 2, 1, 1, 100), 0);
    assert_int_equal(r->count, 2); /* its two oldest trimmed, the new one kept */
    assert_int_equal(r->runs[0]->id, ev.run);
    jobs_run_page_free(r);
    assert_int_equal(jobs_run_start_stack(&ev, fx->store, 1, 1, JOBS_TRIGGER_MANUAL), 0);
    assert_int_equal(jobs_run_list_stack(&r, fx->store, 1, 1, 1, 100), 0);
    assert_int_equal(r->count, 3); /* its own job's run, and its two newest without a job */
    assert_int_equal(r->runs[0]->id, ev.run);
    jobs_run_page_free(r);
    assert_int_equal(jobs_store_check(fx->store), 0);
}

/* An earlier libjobs that has the store open reads and writes it in its own layout: a
 * read-write open does not migrate under it, and changes nothing, until it has closed. */
static void test_a_store_open_in_another_process_is_not_migrated(void **state)
{
    FX_LMDB_ONLY(); /* LMDB: a store file of an earlier version */
    fixture *fx = *state;
    bool old_dbs;
    fx_holder h;

    place(fx, JOBS_TEST_SCHEMA3_DIR);
    fx_hold_lmdb_env_open(&h, fx->path);
    assert_int_equal(fx_try_open(fx), JOBS_EBUSY);
    assert_non_null(strstr(jobs_error_last(), "schema version 3 and needs migrating"));
    assert_non_null(strstr(jobs_error_last(), "another process"));
    assert_int_equal(raw_schema(fx->path, &old_dbs), 3);
    fx_release(&h);
    fx_open(fx);
    assert_int_equal(jobs_store_check(fx->store), 0);
    fx_close(fx);
    assert_int_equal(raw_schema(fx->path, &old_dbs), 4);
    /* A current store opens beside another process as before. */
    fx_hold_lmdb_env_open(&h, fx->path);
    fx_open(fx);
    assert_int_equal(jobs_store_check(fx->store), 0);
    fx_close(fx);
    fx_release(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_read_only_open_is_refused, fx_setup_closed,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_schema_2_store_is_migrated_at_open,
                                        fx_setup_closed, fx_teardown),
        cmocka_unit_test_setup_teardown(test_schema_3_stack_runs_become_their_owners_histories,
                                        fx_setup_closed, fx_teardown),
        cmocka_unit_test_setup_teardown(test_a_store_open_in_another_process_is_not_migrated,
                                        fx_setup_closed, fx_teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
