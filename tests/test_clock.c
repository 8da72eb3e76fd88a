/* The host's clock is called outside every write transaction: a clock that itself calls libjobs
 * (reads, and even a create on the same store) works, from jobs_create, jobs_update, an
 * idempotent create and the scheduler tick. Were the clock called inside a write transaction,
 * its own write would wait behind the transaction that called it, for ever (under group commit
 * the clock may also run on another caller's thread). A watchdog turns such a hang into a
 * failure: each call runs on a thread, and the test gives up after a generous bound. */
#include "fixture.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Liveness bound, not a timing assertion: the calls take milliseconds. */
#define WATCHDOG_SECONDS 30

static fixture *the_fx;
static uint64_t the_stack;
static _Thread_local int depth;
static atomic_int clock_calls, inner_creates;

/* A clock that reads the store, lists it and creates a job in it, once per outer call. */
static int64_t reentrant_clock(void *ctx)
{
    fixture *fx = ctx;

    atomic_fetch_add(&clock_calls, 1);
    if (depth == 0 && fx->store) {
        jobs_job_page *page = NULL;
        jobs_job *job = NULL;
        jobs_job_spec spec = JOBS_JOB_SPEC_INIT;
        uint64_t id = 0;

        depth++;
        if (jobs_list(&page, fx->store, 1, 1, 0) == 0 && page->n > 0)
            (void)jobs_get(&job, fx->store, 1, page->jobs[0].id);
        jobs_job_free(job);
        jobs_job_page_free(page);
        spec.fields = JOBS_JOB_STACK | JOBS_JOB_SCHEDULE;
        spec.stack = the_stack;
        spec.schedule = FX_HOURLY;
        if (jobs_create(&id, fx->store, 2, &spec) == 0)
            atomic_fetch_add(&inner_creates, 1);
        depth--;
    }
    return atomic_load(&fx->now);
}

typedef struct call {
    int (*fn)(struct call *);
    uint64_t id;
    int rc;
    bool done;
    pthread_mutex_t lock;
    pthread_cond_t cv;
} call;

static void *run_call(void *arg)
{
    call *c = arg;
    int rc = c->fn(c);

    pthread_mutex_lock(&c->lock);
    c->rc = rc;
    c->done = true;
    pthread_cond_signal(&c->cv);
    pthread_mutex_unlock(&c->lock);
    return NULL;
}

/* Runs c->fn on a thread; a call that has not returned within the bound has deadlocked. */
static int watched(int (*fn)(call *), uint64_t id)
{
    call c = {fn, id, 0, false, PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER};
    struct timespec until;
    pthread_t t;
    int e = 0;

    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += WATCHDOG_SECONDS;
    assert_int_equal(pthread_create(&t, NULL, run_call, &c), 0);
    pthread_mutex_lock(&c.lock);
    while (!c.done && e != ETIMEDOUT)
        e = pthread_cond_timedwait(&c.cv, &c.lock, &until);
    pthread_mutex_unlock(&c.lock);
    if (!c.done) {
        /* The thread is stuck inside libjobs, holding the store: nothing can be cleaned up. */
        fprintf(stderr, "FAIL: the call did not return within %d s: a clock that calls libjobs "
                "deadlocked it\n", WATCHDOG_SECONDS);
        fflush(stderr);
        _exit(1);
    }
    pthread_join(t, NULL);
    return c.rc;
}

static int setup(void **state)
{
    fixture *fx = fx_new();

    fx->opts.clock = reentrant_clock;
    fx->opts.clock_ctx = fx;
    fx_open(fx);
    the_fx = fx;
    the_stack = fx_stack(fx, JOBS_OWNER_PUBLIC + 1, true);
    atomic_store(&clock_calls, 0);
    atomic_store(&inner_creates, 0);
    *state = fx;
    return 0;
}

static int do_create(call *c)
{
    jobs_job_spec spec = JOBS_JOB_SPEC_INIT;

    spec.fields = JOBS_JOB_STACK | JOBS_JOB_SCHEDULE | JOBS_JOB_ENABLED;
    spec.stack = the_stack;
    spec.schedule = FX_HOURLY;
    spec.enabled = true;
    return jobs_create(&c->id, the_fx->store, 1, &spec);
}

static int do_create_idempotent(call *c)
{
    jobs_job_spec spec = JOBS_JOB_SPEC_INIT;
    jobs_idempotency idem = {"key-1", 5, (const unsigned char *)"fp", 2};
    bool replayed = true;
    int rc;

    spec.fields = JOBS_JOB_STACK | JOBS_JOB_SCHEDULE;
    spec.stack = the_stack;
    spec.schedule = FX_HOURLY;
    rc = jobs_create_idempotent(&c->id, &replayed, the_fx->store, 1, &spec, &idem);
    return rc ? rc : replayed ? -100 : 0;
}

static int do_enable(call *c)
{
    jobs_job_spec spec = JOBS_JOB_SPEC_INIT;
    jobs_job *job = NULL;
    int rc;

    spec.fields = JOBS_JOB_ENABLED;
    spec.enabled = true;
    rc = jobs_update(&job, the_fx->store, 1, c->id, &spec);
    if (rc == 0 && job->next_run != FX_T0 + 3600)
        rc = -101;
    jobs_job_free(job);
    return rc;
}

static int do_tick(call *c)
{
    size_t n = 0;
    int rc = jobs_scheduler_tick(&n, the_fx->store, FX_T0 + 3600, 0, NULL, NULL);

    c->id = n;
    return rc;
}

static void test_a_clock_that_calls_libjobs_does_not_deadlock_a_create(void **state)
{
    fixture *fx = *state;
    jobs_job *job;

    assert_int_equal(watched(do_create, 0), 0);
    assert_true(atomic_load(&clock_calls) >= 1);
    assert_int_equal(atomic_load(&inner_creates), 1);
    /* The job got the clock's time: its first run is an hour after it. */
    job = fx_get(fx, 1, 2); /* job 1 is the clock's own create, made first */
    assert_int_equal(job->next_run, FX_T0 + 3600);
    jobs_job_free(job);
    assert_int_equal(jobs_store_check(fx->store), 0);
}

static void test_a_clock_that_calls_libjobs_does_not_deadlock_an_update(void **state)
{
    fixture *fx = *state;
    uint64_t id = fx_job(fx, 1, "later", the_stack, FX_HOURLY, false);

    atomic_store(&inner_creates, 0);
    assert_int_equal(watched(do_enable, id), 0);
    assert_int_equal(atomic_load(&inner_creates), 1);
    assert_int_equal(jobs_store_check(fx->store), 0);
}

static void test_a_clock_that_calls_libjobs_does_not_deadlock_an_idempotent_create(void **state)
{
    fixture *fx = *state;

    assert_int_equal(watched(do_create_idempotent, 0), 0);
    assert_true(atomic_load(&inner_creates) >= 1);
    assert_int_equal(jobs_store_check(fx->store), 0);
}

static void test_a_clock_that_calls_libjobs_does_not_deadlock_the_tick(void **state)
{
    fixture *fx = *state;

    fx_job(fx, 1, "due", the_stack, FX_HOURLY, true);
    atomic_store(&inner_creates, 0);
    assert_int_equal(watched(do_tick, 0), 0);
    assert_true(atomic_load(&inner_creates) >= 1);
    assert_int_equal(jobs_store_check(fx->store), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_a_clock_that_calls_libjobs_does_not_deadlock_a_create, setup, fx_teardown),
        cmocka_unit_test_setup_teardown(
            test_a_clock_that_calls_libjobs_does_not_deadlock_an_update, setup, fx_teardown),
        cmocka_unit_test_setup_teardown(
            test_a_clock_that_calls_libjobs_does_not_deadlock_an_idempotent_create, setup,
            fx_teardown),
        cmocka_unit_test_setup_teardown(
            test_a_clock_that_calls_libjobs_does_not_deadlock_the_tick, setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
