/* Group commit: writes that arrive while another is being committed share one transaction and
 * one commit, yet each caller gets its own answer (its own error and detail message), a failed
 * write leaves nothing behind, and every acknowledged write is durable.
 *
 * To make the writers pile up, another process holds the store's LMDB write lock (a write
 * transaction of its own, opened on the same files) while they start: the first writer's
 * transaction waits for it, and meanwhile the others queue behind that writer. The clock plays
 * no part: libjobs never calls it inside a transaction. This is the LMDB backend's group
 * commit, so the test speaks LMDB. */
#include "fixture.h"
#include "holder.h"

#include <lmdb.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define WRITERS 15

typedef struct gate {
    atomic_int arrived; /* writers about to call jobs_create */
} gate;

static gate g;

typedef struct writer {
    jobs_store *store;
    uint64_t stack;
    int kind;          /* 0: valid, 1: missing stack, 2: the shared name */
    uint64_t bad_stack;
    uint64_t id;
    int rc;
    char detail[512];
} writer;

static void *write_one(void *arg)
{
    writer *w = arg;
    jobs_job_spec spec = {0};

    spec.fields = JOBS_JOB_STACK | JOBS_JOB_SCHEDULE | JOBS_JOB_ENABLED;
    spec.stack = w->kind == 1 ? w->bad_stack : w->stack;
    spec.schedule = FX_HOURLY;
    spec.enabled = true;
    if (w->kind == 2) {
        spec.fields |= JOBS_JOB_NAME;
        spec.name = "shared-name";
    }
    atomic_fetch_add(&g.arrived, 1);
    w->rc = jobs_create(&w->id, w->store, 1, &spec);
    snprintf(w->detail, sizeof(w->detail), "%s", jobs_error_last());
    return NULL;
}

/* WRITERS - 1 writers start while another process holds the write lock; the last one is the
 * test's own thread, which lets go of the lock once every writer is on its way. */
static void run_writers(fixture *fx, writer *w, uint64_t stack)
{
    pthread_t t[WRITERS];
    jobs_job_spec spec = {0};
    struct timespec pause = {0, 200 * 1000 * 1000};
    uint64_t first = 0;
    fx_holder h;

    fx_hold_lmdb_write_lock(&h, fx->path);
    atomic_store(&g.arrived, 0);
    for (int i = 0; i < WRITERS - 1; i++) {
        w[i] = (writer){fx->store, stack, i % 3, 9000 + (uint64_t)i, 0, 0, ""};
        assert_int_equal(pthread_create(&t[i], NULL, write_one, &w[i]), 0);
    }
    while (atomic_load(&g.arrived) < WRITERS - 1)
        sched_yield();
    nanosleep(&pause, NULL); /* they are past the increment; let them reach the queue */
    fx_release(&h);
    spec.fields = JOBS_JOB_STACK | JOBS_JOB_SCHEDULE | JOBS_JOB_ENABLED;
    spec.stack = stack;
    spec.schedule = FX_HOURLY;
    spec.enabled = true;
    assert_int_equal(jobs_create(&first, fx->store, 1, &spec), 0);
    for (int i = 0; i < WRITERS - 1; i++)
        assert_int_equal(pthread_join(t[i], NULL), 0);
    w[WRITERS - 1] = (writer){fx->store, stack, 0, 0, first, 0, ""};
}

static int durable_gated(void **state)
{
    fixture *fx;
    int rc = fx_setup_closed(state);

    fx = *state;
    fx->lmdb.flags &= ~(unsigned)JOBS_NOSYNC_LMDB;
    return rc;
}

static void test_concurrent_writes_share_commits_and_keep_their_own_answers(void **state)
{
    fixture *fx = *state;
    writer w[WRITERS];
    jobs_store_stat_info before = JOBS_STORE_STAT_INFO_INIT, after = JOBS_STORE_STAT_INFO_INIT;
    uint64_t stack;
    int named = 0, valid = 0;

    fx_open(fx);
    stack = fx_stack(fx, 1, false);
    assert_int_equal(jobs_store_stat(&before, fx->store), 0);
    run_writers(fx, w, stack);
    assert_int_equal(jobs_store_stat(&after, fx->store), 0);

    for (int i = 0; i < WRITERS; i++) {
        char want[64];

        switch (w[i].kind) {
        case 1: /* its own error, with its own detail */
            assert_int_equal(w[i].rc, JOBS_ESTACK);
            snprintf(want, sizeof(want), "%llu", (unsigned long long)w[i].bad_stack);
            if (!strstr(w[i].detail, want))
                fail_msg("writer %d: detail '%s' does not name stack %s", i, w[i].detail, want);
            break;
        case 2: /* one of them gets the name, the others a name conflict */
            if (w[i].rc == 0)
                named++, valid++;
            else
                assert_int_equal(w[i].rc, JOBS_EEXISTS);
            break;
        default:
            assert_int_equal(w[i].rc, 0);
            valid++;
        }
    }
    assert_int_equal(named, 1);
    assert_int_equal(after.writes - before.writes, (uint64_t)valid);
    /* They shared commits: the whole point. */
    if (after.commits - before.commits >= after.writes - before.writes)
        fail_msg("%llu writes took %llu commits",
                 (unsigned long long)(after.writes - before.writes),
                 (unsigned long long)(after.commits - before.commits));

    /* Durable and exact: after a reopen, every acknowledged job and nothing else. */
    fx_reopen(fx);
    assert_int_equal(fx_count(fx, 1), (uint64_t)valid);
    for (int i = 0; i < WRITERS; i++) {
        if (w[i].rc == 0) {
            jobs_job *j = fx_get(fx, 1, w[i].id);
            assert_int_equal(j->stack, stack);
            jobs_job_free(j);
        }
    }
}

static void test_without_group_commit_each_write_commits_alone(void **state)
{
    fixture *fx = *state;
    writer w[WRITERS];
    jobs_store_stat_info before = JOBS_STORE_STAT_INFO_INIT, after = JOBS_STORE_STAT_INFO_INIT;
    uint64_t stack;

    fx->opts.flags |= JOBS_STORE_NO_GROUP_COMMIT;
    fx_open(fx);
    stack = fx_stack(fx, 1, false);
    assert_int_equal(jobs_store_stat(&before, fx->store), 0);
    run_writers(fx, w, stack);
    assert_int_equal(jobs_store_stat(&after, fx->store), 0);
    assert_true(after.writes - before.writes >= WRITERS / 3);
    assert_int_equal(after.commits - before.commits, after.writes - before.writes);
}

/* jobs_error_last() is the calling thread's alone, also when its write leads a group commit
 * that runs other callers' failing writes (their failures once wrote the leader's detail, so
 * a successful create read back another caller's error). A failing write takes the lead and
 * waits for the write lock another process holds; the valid write queues first behind it,
 * then failing ones: the valid one leads the next batch, with them in it. */
static void *leader_then_success(void *arg)
{
    writer *w = arg;
    jobs_job *j = NULL;
    char before[512];

    if (jobs_get(&j, w->store, 1, 999999) != JOBS_ENOTFOUND) /* a detail of this thread's */
        return (void *)1;
    snprintf(before, sizeof(before), "%s", jobs_error_last());
    write_one(w);
    if (w->rc == 0 && strcmp(w->detail, before) != 0)
        snprintf(w->detail, sizeof(w->detail), "leaked: %s", jobs_error_last());
    else
        w->detail[0] = '\0';
    return NULL;
}

static void test_a_success_keeps_its_threads_error_detail(void **state)
{
    fixture *fx = *state;
    struct timespec pause = {0, 50 * 1000 * 1000};
    writer w[6];
    pthread_t t[6];
    fx_holder h;

    fx_open(fx);
    uint64_t stack = fx_stack(fx, 1, false);
    fx_hold_lmdb_write_lock(&h, fx->path);
    atomic_store(&g.arrived, 0);
    for (int i = 0; i < 6; i++) {
        /* 0: a failing write that leads and waits; 1: the valid one; 2-5: failing ones. */
        w[i] = (writer){fx->store, stack, i == 1 ? 0 : 1, 9000 + (uint64_t)i, 0, 0, ""};
        assert_int_equal(pthread_create(&t[i], NULL, i == 1 ? leader_then_success : write_one,
                                        &w[i]), 0);
        while (atomic_load(&g.arrived) < i + 1)
            sched_yield();
        nanosleep(&pause, NULL); /* in the queue before the next one starts */
    }
    fx_release(&h);
    for (int i = 0; i < 6; i++) {
        void *ret;

        assert_int_equal(pthread_join(t[i], &ret), 0);
        assert_null(ret);
    }
    assert_int_equal(w[1].rc, 0);
    if (w[1].detail[0])
        fail_msg("the successful write's thread: %s", w[1].detail);
    for (int i = 2; i < 6; i++)
        assert_int_equal(w[i].rc, JOBS_ESTACK);
}

/* A kv callback that ignores a failed put (the map is full at its cap) and returns 0 fails
 * alone, with that failure: the other writes of its group commit are committed. Its nested
 * transaction, marked bad by LMDB, was once committed anyway, which failed the whole group
 * (JOBS_EIO, "MDB_BAD_TXN"). */
typedef struct kv_writer {
    jobs_store *store;
    bool careless; /* puts more than fits and ignores the failures */
    int rc;
} kv_writer;

static int careless_puts(jobs_kv_txn *txn, void *ctx)
{
    static char value[60000];
    char key[16];

    (void)ctx;
    for (int i = 0; i < 8; i++) {
        snprintf(key, sizeof(key), "big%d", i);
        jobs_kv_put(txn, "big", key, strlen(key), value, sizeof(value)); /* ignored */
    }
    return 0;
}

static int small_put(jobs_kv_txn *txn, void *ctx)
{
    (void)ctx;
    return jobs_kv_put(txn, "small", "k", 1, "v", 1);
}

static void *kv_write_one(void *arg)
{
    kv_writer *w = arg;

    atomic_fetch_add(&g.arrived, 1);
    w->rc = jobs_kv_write(w->store, w->careless ? careless_puts : small_put, NULL);
    return NULL;
}

static int has_small(jobs_kv_txn *txn, void *ctx)
{
    char v[4];
    size_t n;

    (void)ctx;
    return jobs_kv_get(txn, "small", "k", 1, v, sizeof(v), &n);
}

static void test_a_callback_that_ignores_a_failed_put_fails_alone(void **state)
{
    fixture *fx = *state;
    struct timespec pause = {0, 50 * 1000 * 1000};
    writer lead;
    kv_writer w[2];
    pthread_t t[3];
    fx_holder h;

    fx->lmdb.map_size = 256 << 10;
    fx->lmdb.max_map_size = 256 << 10; /* 8 values of 60 KB never fit */
    fx_open(fx);
    uint64_t stack = fx_stack(fx, 1, false);
    fx_hold_lmdb_write_lock(&h, fx->path);
    atomic_store(&g.arrived, 0);
    /* A valid create leads and waits for the lock; the two kv writes queue behind it and are
     * the next batch, nested. */
    lead = (writer){fx->store, stack, 0, 0, 0, 0, ""};
    assert_int_equal(pthread_create(&t[0], NULL, write_one, &lead), 0);
    for (int i = 0; i < 2; i++) {
        while (atomic_load(&g.arrived) < i + 1)
            sched_yield();
        nanosleep(&pause, NULL);
        w[i] = (kv_writer){fx->store, i == 0, 0};
        assert_int_equal(pthread_create(&t[i + 1], NULL, kv_write_one, &w[i]), 0);
    }
    while (atomic_load(&g.arrived) < 3)
        sched_yield();
    nanosleep(&pause, NULL);
    fx_release(&h);
    for (int i = 0; i < 3; i++)
        assert_int_equal(pthread_join(t[i], NULL), 0);
    assert_int_equal(lead.rc, 0);
    assert_int_equal(w[0].rc, JOBS_ENOSPC);
    assert_int_equal(w[1].rc, 0);
    assert_int_equal(jobs_kv_read(fx->store, has_small, NULL), 0);
    assert_int_equal(jobs_store_check(fx->store), 0);
}

static void test_unknown_store_flags_are_refused(void **state)
{
    fixture *fx = *state;

    fx->opts.flags |= 1u << 7;
    assert_int_equal(fx_try_open(fx), JOBS_EINVAL);
    assert_non_null(strstr(jobs_error_last(), "unknown store flags"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_concurrent_writes_share_commits_and_keep_their_own_answers, durable_gated,
            fx_teardown),
        cmocka_unit_test_setup_teardown(test_without_group_commit_each_write_commits_alone,
                                        durable_gated, fx_teardown),
        cmocka_unit_test_setup_teardown(test_a_success_keeps_its_threads_error_detail,
                                        durable_gated, fx_teardown),
        cmocka_unit_test_setup_teardown(test_a_callback_that_ignores_a_failed_put_fails_alone,
                                        durable_gated, fx_teardown),
        cmocka_unit_test_setup_teardown(test_unknown_store_flags_are_refused, fx_setup_closed,
                                        fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
