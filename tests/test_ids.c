/* Ids: increasing per kind, never reused, also after deletes and after reopening the store. */
#include "fixture.h"

#define OWNER 31

static void test_job_ids_increase(void **state)
{
    fixture *fx = *state;
    uint64_t stack = fx_stack(fx, OWNER, false);
    uint64_t last = 0;
    for (int i = 0; i < 20; i++) {
        uint64_t id = fx_job(fx, OWNER + (uint64_t)(i % 2), NULL,
                             i % 2 ? fx_stack(fx, OWNER + 1, false) : stack, FX_HOURLY, false);
        assert_true(id > last);
        last = id;
    }
}

static void test_job_ids_are_not_reused_after_delete(void **state)
{
    fixture *fx = *state;
    uint64_t stack = fx_stack(fx, OWNER, false);
    uint64_t a = fx_job(fx, OWNER, NULL, stack, FX_HOURLY, false);
    uint64_t b = fx_job(fx, OWNER, NULL, stack, FX_HOURLY, false);
    uint64_t c = fx_job(fx, OWNER, NULL, stack, FX_HOURLY, false);
    /* Delete the newest one, then all of them: the next id is still larger. */
    assert_int_equal(jobs_delete(NULL, fx->store, OWNER, c), 0);
    uint64_t d = fx_job(fx, OWNER, NULL, stack, FX_HOURLY, false);
    assert_true(d > c);
    assert_int_equal(jobs_delete(NULL, fx->store, OWNER, a), 0);
    assert_int_equal(jobs_delete(NULL, fx->store, OWNER, b), 0);
    assert_int_equal(jobs_delete(NULL, fx->store, OWNER, d), 0);
    assert_int_equal(fx_stat_jobs(fx), 0);
    uint64_t e = fx_job(fx, OWNER, NULL, stack, FX_HOURLY, false);
    assert_true(e > d);
    jobs_job *job = NULL;
    assert_int_equal(jobs_get(&job, fx->store, OWNER, c), JOBS_ENOTFOUND);
}

static void test_job_ids_are_not_reused_after_reopen(void **state)
{
    fixture *fx = *state;
    uint64_t stack = fx_stack(fx, OWNER, false);
    uint64_t a = fx_job(fx, OWNER, NULL, stack, FX_HOURLY, false);
    uint64_t b = fx_job(fx, OWNER, NULL, stack, FX_HOURLY, false);
    fx_reopen(fx);
    uint64_t c = fx_job(fx, OWNER, NULL, stack, FX_HOURLY, false);
    assert_true(c > b);
    /* The newest job deleted, then reopened: its id is still not handed out again. */
    assert_int_equal(jobs_delete(NULL, fx->store, OWNER, c), 0);
    fx_reopen(fx);
    uint64_t d = fx_job(fx, OWNER, NULL, stack, FX_HOURLY, false);
    assert_true(d > c);
    /* Every job deleted, then reopened. */
    assert_int_equal(jobs_delete(NULL, fx->store, OWNER, a), 0);
    assert_int_equal(jobs_delete(NULL, fx->store, OWNER, b), 0);
    assert_int_equal(jobs_delete(NULL, fx->store, OWNER, d), 0);
    fx_reopen(fx);
    uint64_t e = fx_job(fx, OWNER, NULL, stack, FX_HOURLY, false);
    assert_true(e > d);
}

static void test_job_ids_are_not_reused_after_tick_deletion_and_reopen(void **state)
{
    fixture *fx = *state;
    uint64_t stack = fx_stack(fx, OWNER, false);
    uint64_t a = fx_job(fx, OWNER, NULL, stack, FX_EVERY_MINUTE, true);
    jobs_delete_outcome outcome = 0;
    assert_int_equal(jobs_delete(&outcome, fx->store, OWNER, a), 0);
    assert_int_equal(outcome, JOBS_QUEUED_FOR_DELETION);
    fx_events ev;
    fx_tick(fx, FX_T0 + 60, &ev);
    assert_int_equal(ev.n, 1);
    assert_int_equal(fx_stat_jobs(fx), 0);
    fx_reopen(fx);
    uint64_t b = fx_job(fx, OWNER, NULL, stack, FX_HOURLY, false);
    assert_true(b > a);
}

static void test_schedule_ids_follow_the_builtins_and_survive_reopen(void **state)
{
    fixture *fx = *state;
    uint64_t a = fx_periodic(fx, OWNER, 120);
    assert_true(a > 5);
    uint64_t b = fx_once(fx, OWNER + 1, FX_T0 + 10);
    assert_true(b > a);
    fx_reopen(fx);
    uint64_t c = fx_periodic(fx, JOBS_OWNER_PUBLIC, 120);
    assert_true(c > b);
    fx_reopen(fx);
    uint64_t d = fx_periodic(fx, OWNER, 240);
    assert_true(d > c);
    /* The built-ins were not created again by reopening. */
    jobs_store_stat_info info = JOBS_STORE_STAT_INFO_INIT;
    assert_int_equal(jobs_store_stat(&info, fx->store), 0);
    assert_int_equal(info.schedules, 9);
}

static void test_stack_ids_increase_and_survive_reopen(void **state)
{
    fixture *fx = *state;
    uint64_t a = fx_stack(fx, OWNER, false);
    uint64_t b = fx_stack(fx, OWNER + 1, true);
    assert_true(b > a);
    fx_reopen(fx);
    uint64_t c = fx_stack(fx, OWNER, true);
    assert_true(c > b);
    fx_reopen(fx);
    uint64_t d = fx_stack(fx, OWNER + 2, false);
    assert_true(d > c);
}

static void test_failed_creates_do_not_break_the_sequence(void **state)
{
    fixture *fx = *state;
    uint64_t stack = fx_stack(fx, OWNER, false);
    uint64_t a = fx_job(fx, OWNER, "x", stack, FX_HOURLY, false);
    jobs_job_spec spec = JOBS_JOB_SPEC_INIT;
    spec.fields = JOBS_JOB_NAME | JOBS_JOB_STACK | JOBS_JOB_SCHEDULE;
    spec.name = "x";
    spec.stack = stack;
    spec.schedule = FX_HOURLY;
    uint64_t id = 0;
    assert_int_equal(jobs_create(&id, fx->store, OWNER, &spec), JOBS_EEXISTS);
    spec.name = "y";
    spec.schedule = 999;
    assert_int_equal(jobs_create(&id, fx->store, OWNER, &spec), JOBS_ESCHEDULE);
    uint64_t b = fx_job(fx, OWNER, "x2", stack, FX_HOURLY, false);
    assert_true(b > a);
    assert_int_equal(fx_count(fx, OWNER), 2);
}

#define T(f) cmocka_unit_test_setup_teardown(f, fx_setup, fx_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_job_ids_increase),
        T(test_job_ids_are_not_reused_after_delete),
        T(test_job_ids_are_not_reused_after_reopen),
        T(test_job_ids_are_not_reused_after_tick_deletion_and_reopen),
        T(test_schedule_ids_follow_the_builtins_and_survive_reopen),
        T(test_stack_ids_increase_and_survive_reopen),
        T(test_failed_creates_do_not_break_the_sequence),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
