/* Without group commit, a commit wakes only the writer that is next, not every queued writer
 * (issue 16, item 5): each waiter has its own condition variable. Writers pile up while another
 * process holds the store's LMDB write lock; once it lets go they commit one by one, and the
 * backend counts the waiters each finished batch woke. A broadcast per commit woke every queued
 * writer (15 + 14 + ... for 16 writers, ~120); now a commit wakes at most two: the caller of
 * the op it ran (when that is not the leader itself) and the writer first in the queue.
 * No timing is asserted: the pause below only helps the writers reach the queue. */
#include "fixture.h"
#include "holder.h"

#include "lmdb/env.h"

#include <lmdb.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define WRITERS 16

static atomic_int arrived;

typedef struct writer {
    jobs_store *store;
    uint64_t stack;
    int rc;
} writer;

static void *write_one(void *arg)
{
    writer *w = arg;
    jobs_job_spec spec = JOBS_JOB_SPEC_INIT;

    spec.fields = JOBS_JOB_STACK | JOBS_JOB_SCHEDULE | JOBS_JOB_ENABLED;
    spec.stack = w->stack;
    spec.schedule = FX_HOURLY;
    spec.enabled = true;
    atomic_fetch_add(&arrived, 1);
    w->rc = jobs_create(NULL, w->store, 1, &spec);
    return NULL;
}

static int no_group_commit(void **state)
{
    int rc = fx_setup_closed(state);
    fixture *fx = *state;

    fx->opts.flags |= JOBS_STORE_NO_GROUP_COMMIT;
    return rc;
}

static void test_a_commit_wakes_only_the_next_writer(void **state)
{
    fixture *fx = *state;
    pthread_t t[WRITERS];
    writer w[WRITERS];
    struct timespec pause = {0, 300 * 1000 * 1000};
    jobs_store_stat_info before = JOBS_STORE_STAT_INFO_INIT, after = JOBS_STORE_STAT_INFO_INIT;
    uint64_t stack, woken;
    fx_holder h;

    fx_open(fx);
    stack = fx_stack(fx, 1, false);
    assert_int_equal(jobs_store_stat(&before, fx->store), 0);
    woken = jobs__lmdb_wakeups(fx->store);
    fx_hold_lmdb_write_lock(&h, fx->path);
    atomic_store(&arrived, 0);
    for (int i = 0; i < WRITERS; i++) {
        w[i] = (writer){fx->store, stack, -1};
        assert_int_equal(pthread_create(&t[i], NULL, write_one, &w[i]), 0);
    }
    while (atomic_load(&arrived) < WRITERS)
        sched_yield();
    nanosleep(&pause, NULL); /* let them reach the queue (not asserted) */
    fx_release(&h);
    for (int i = 0; i < WRITERS; i++) {
        assert_int_equal(pthread_join(t[i], NULL), 0);
        assert_int_equal(w[i].rc, 0);
    }
    assert_int_equal(jobs_store_stat(&after, fx->store), 0);
    /* One commit per write: this is the baseline without group commit. */
    assert_int_equal(after.writes - before.writes, WRITERS);
    assert_int_equal(after.commits - before.commits, WRITERS);
    woken = jobs__lmdb_wakeups(fx->store) - woken;
    if (woken > 2 * WRITERS)
        fail_msg("%llu wake-ups for %d commits", (unsigned long long)woken, WRITERS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_a_commit_wakes_only_the_next_writer,
                                        no_group_commit, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
