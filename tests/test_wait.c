/* jobs_store_wait(): a write that makes a job or a run due before the waiter's next tick wakes
 * it, once it commits; other writes do not. On PostgreSQL, a second handle on the same store
 * (as another process would have) is woken too. Bounds are for liveness only: a wait that
 * should be woken has a minute. */
#include <pthread.h>
#include <string.h>

#include "fixture.h"

#define OWNER 81
#define LONG_MS 60000

static uint64_t enabled_job(fixture *fx, uint64_t schedule, const char *name)
{
    return fx_job(fx, OWNER, name, fx_stack(fx, OWNER, false), schedule, true);
}

static void test_a_write_that_makes_a_job_due_wakes_the_waiter(void **state)
{
    fixture *fx = *state;
    int64_t due = 0;

    /* Nothing written yet: the wait times out. */
    assert_int_equal(jobs_store_wait(&due, fx->store, FX_T0 + 3600, 0), 0);
    /* An enabled job on a periodic schedule is due at its first slot: the notice is kept for
     * the next wait, which returns at once with that time. */
    uint64_t id = enabled_job(fx, FX_EVERY_MINUTE, "a");
    jobs_job *j = fx_get(fx, OWNER, id);
    assert_int_equal(jobs_store_wait(&due, fx->store, FX_T0 + 3600, LONG_MS), 1);
    assert_int_equal(due, j->next_run);
    jobs_job_free(j);
    /* Taken: the next wait times out again. */
    assert_int_equal(jobs_store_wait(&due, fx->store, FX_T0 + 3600, 0), 0);
}

static void test_later_and_disabled_jobs_do_not_wake(void **state)
{
    fixture *fx = *state;
    int64_t due = 0;

    /* A disabled job: nothing is due. */
    fx_job(fx, OWNER, "off", fx_stack(fx, OWNER, false), FX_EVERY_MINUTE, false);
    assert_int_equal(jobs_store_wait(&due, fx->store, FX_T0 + 3600, 0), 0);
    /* Due in 1,000 s: not before a tick 10 s away, but kept for a later one. */
    uint64_t sched = fx_once(fx, OWNER, FX_T0 + 1000);
    enabled_job(fx, sched, "later");
    assert_int_equal(jobs_store_wait(&due, fx->store, FX_T0 + 10, 0), 0);
    assert_int_equal(jobs_store_wait(&due, fx->store, FX_T0 + 2000, LONG_MS), 1);
    assert_int_equal(due, FX_T0 + 1000);
    /* A write that fails (the name is taken) tells nothing. */
    jobs_job_spec spec = JOBS_JOB_SPEC_INIT;
    uint64_t id;
    spec.fields = JOBS_JOB_NAME | JOBS_JOB_STACK | JOBS_JOB_SCHEDULE | JOBS_JOB_ENABLED;
    spec.name = "later";
    spec.stack = fx_stack(fx, OWNER, false);
    spec.schedule = FX_EVERY_MINUTE;
    spec.enabled = true;
    assert_int_equal(jobs_create(&id, fx->store, OWNER, &spec), JOBS_EEXISTS);
    assert_int_equal(jobs_store_wait(&due, fx->store, FX_T0 + 3600, 0), 0);
}

static void test_enabling_a_job_and_running_it_now_wake(void **state)
{
    fixture *fx = *state;
    int64_t due = 0;
    uint64_t id = fx_job(fx, OWNER, "x", fx_stack(fx, OWNER, false), FX_EVERY_MINUTE, false);
    jobs_job_spec spec = JOBS_JOB_SPEC_INIT;
    jobs_job *j = NULL;

    /* On PostgreSQL the first wait starts listening: notices come from then on. */
    assert_int_equal(jobs_store_wait(&due, fx->store, FX_T0 + 3600, 0), 0);
    spec.fields = JOBS_JOB_ENABLED;
    spec.enabled = true;
    assert_int_equal(jobs_update(&j, fx->store, OWNER, id, &spec), 0);
    assert_int_equal(jobs_store_wait(&due, fx->store, FX_T0 + 3600, LONG_MS), 1);
    assert_int_equal(due, j->next_run);
    jobs_job_free(j);
    /* A run made now is due now. */
    uint64_t run;
    fx_set_time(fx, FX_T0 + 5);
    assert_int_equal(jobs_run_now(&run, fx->store, OWNER, id), 0);
    assert_int_equal(jobs_store_wait(&due, fx->store, FX_T0 + 30, LONG_MS), 1);
    assert_int_equal(due, FX_T0 + 5);
    /* The tick's own writes tell nothing. */
    fx_events ev;
    fx_tick(fx, FX_T0 + 3600, &ev);
    assert_true(ev.n >= 1);
    assert_int_equal(jobs_store_wait(&due, fx->store, INT64_MAX, 0), 0);
}

typedef struct waiter {
    jobs_store *store;
    int64_t before;
    int rc;
    int64_t due;
} waiter;

static void *wait_main(void *arg)
{
    waiter *w = arg;

    w->rc = jobs_store_wait(&w->due, w->store, w->before, LONG_MS);
    return NULL;
}

/* A thread waits, another writes: the waiter wakes (whichever comes first, as a notice is
 * kept). */
static void test_a_waiting_thread_is_woken(void **state)
{
    fixture *fx = *state;
    waiter w = {fx->store, FX_T0 + 3600, -1, 0};
    pthread_t th;

    assert_int_equal(jobs_store_wait(NULL, fx->store, FX_T0 + 3600, 0), 0); /* listening */
    assert_int_equal(pthread_create(&th, NULL, wait_main, &w), 0);
    enabled_job(fx, FX_EVERY_5_MINUTES, "t");
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_int_equal(w.rc, 1);
    assert_true(w.due > FX_T0 && w.due <= FX_T0 + 300);
}

/* PostgreSQL: a second handle on the same store, as another process (or host) would open it,
 * is woken by the first one's write. */
static void test_another_handle_is_woken_on_postgresql(void **state)
{
    FX_POSTGRES_ONLY(); /* LMDB: one handle per store and process, and only its writes tell */
    fixture *fx = *state;
    jobs_store *other = NULL;
    int64_t due = 0;

    assert_int_equal(jobs_store_open(&other, &fx->opts), 0);
    /* The first wait starts listening. */
    assert_int_equal(jobs_store_wait(&due, other, FX_T0 + 3600, 0), 0);
    waiter w = {other, FX_T0 + 3600, -1, 0};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, wait_main, &w), 0);
    uint64_t id = enabled_job(fx, FX_EVERY_MINUTE, "far");
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_int_equal(w.rc, 1);
    jobs_job *j = fx_get(fx, OWNER, id);
    assert_int_equal(w.due, j->next_run);
    jobs_job_free(j);
    jobs_store_close(other);
}

static void test_wait_arguments(void **state)
{
    fixture *fx = *state;

    assert_int_equal(jobs_store_wait(NULL, NULL, 0, 0), JOBS_EINVAL);
    assert_int_equal(jobs_store_wait(NULL, fx->store, 0, -1), JOBS_EINVAL);
    assert_int_equal(jobs_store_wait(NULL, fx->store, 0, 86400001), JOBS_EINVAL);
    assert_int_equal(jobs_store_wait(NULL, fx->store, 0, 1), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_a_write_that_makes_a_job_due_wakes_the_waiter,
                                        fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_later_and_disabled_jobs_do_not_wake, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_enabling_a_job_and_running_it_now_wake, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_a_waiting_thread_is_woken, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_another_handle_is_woken_on_postgresql, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_wait_arguments, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
