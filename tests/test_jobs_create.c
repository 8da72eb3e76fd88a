/* jobs_create() and jobs_get(): defaults, activation on create, refused creates write nothing. */
#include "fixture.h"

#define OWNER 91

static void test_create_defaults_to_no_name_and_inactive(void **state)
{
    fixture *fx = *state;
    uint64_t stack = fx_stack(fx, OWNER, false);
    jobs_job_spec spec = JOBS_JOB_SPEC_INIT;
    spec.fields = JOBS_JOB_STACK | JOBS_JOB_SCHEDULE;
    spec.stack = stack;
    spec.schedule = FX_EVERY_15_MINUTES;
    spec.name = "ignored"; /* the NAME bit is not set */
    spec.enabled = true;   /* the ENABLED bit is not set */
    uint64_t id = 0;
    assert_int_equal(jobs_create(&id, fx->store, OWNER, &spec), 0);
    assert_true(id >= 1 && id <= JOBS_ID_MAX);
    jobs_job *job = fx_get(fx, OWNER, id);
    assert_int_equal(job->owner, OWNER);
    assert_null(job->name);
    assert_int_equal(job->stack, stack);
    assert_int_equal(job->schedule, FX_EVERY_15_MINUTES);
    assert_false(job->do_run);
    assert_false(job->do_del);
    jobs_job_free(job);
    int64_t next = 0;
    assert_int_equal(jobs_scheduler_next_run(&next, fx->store), JOBS_ENOTFOUND);
}

static void test_create_enabled_periodic_sets_next_run_to_now_plus_period(void **state)
{
    fixture *fx = *state;
    uint64_t stack = fx_stack(fx, OWNER, false);
    const int64_t periods[] = {60, 300, 900, 3600, 86400};
    for (uint64_t s = FX_EVERY_MINUTE; s <= FX_DAILY; s++) {
        fx_advance(fx, 7);
        uint64_t id = fx_job(fx, OWNER, NULL, stack, s, true);
        jobs_job *job = fx_get(fx, OWNER, id);
        assert_true(job->do_run);
        assert_false(job->do_del);
        assert_int_equal(job->next_run, fx_time(fx) + periods[s - 1]);
        jobs_job_free(job);
    }
    uint64_t own = fx_periodic(fx, OWNER, 31536000);
    uint64_t id = fx_job(fx, OWNER, NULL, stack, own, true);
    jobs_job *job = fx_get(fx, OWNER, id);
    assert_int_equal(job->next_run, fx_time(fx) + 31536000);
    jobs_job_free(job);
}

static void test_create_enabled_once_sets_next_run_to_timestamp(void **state)
{
    fixture *fx = *state;
    uint64_t stack = fx_stack(fx, OWNER, false);
    uint64_t future = fx_once(fx, OWNER, FX_T0 + 123456);
    uint64_t past = fx_once(fx, OWNER, 1);
    uint64_t a = fx_job(fx, OWNER, NULL, stack, future, true);
    uint64_t b = fx_job(fx, OWNER, NULL, stack, past, true);
    jobs_job *job = fx_get(fx, OWNER, a);
    assert_true(job->do_run);
    assert_int_equal(job->next_run, FX_T0 + 123456);
    jobs_job_free(job);
    job = fx_get(fx, OWNER, b);
    assert_true(job->do_run);
    assert_int_equal(job->next_run, 1);
    jobs_job_free(job);
}

static void test_create_with_missing_stack_is_estack_and_writes_nothing(void **state)
{
    fixture *fx = *state;
    uint64_t stack = fx_stack(fx, OWNER, false);
    jobs_job_spec spec = JOBS_JOB_SPEC_INIT;
    spec.fields = JOBS_JOB_NAME | JOBS_JOB_STACK | JOBS_JOB_SCHEDULE | JOBS_JOB_ENABLED;
    spec.name = "n";
    spec.stack = stack + 100;
    spec.schedule = FX_HOURLY;
    spec.enabled = true;
    uint64_t id = 0;
    assert_int_equal(jobs_create(&id, fx->store, OWNER, &spec), JOBS_ESTACK);
    assert_int_equal(jobs_fault_code(JOBS_ESTACK), 24);
    assert_int_equal(fx_count(fx, OWNER), 0);
    assert_int_equal(fx_stat_jobs(fx), 0);
    jobs_job *job = NULL;
    assert_int_equal(jobs_get_by_name(&job, fx->store, OWNER, "n"), JOBS_ENOTFOUND);
    /* The name was not taken by the refused create. */
    spec.stack = stack;
    assert_int_equal(jobs_create(&id, fx->store, OWNER, &spec), 0);
}

static void test_create_with_missing_schedule_is_eschedule_and_writes_nothing(void **state)
{
    fixture *fx = *state;
    uint64_t stack = fx_stack(fx, OWNER, false);
    jobs_job_spec spec = JOBS_JOB_SPEC_INIT;
    spec.fields = JOBS_JOB_NAME | JOBS_JOB_STACK | JOBS_JOB_SCHEDULE | JOBS_JOB_ENABLED;
    spec.name = "n";
    spec.stack = stack;
    spec.schedule = 6;
    spec.enabled = true;
    assert_int_equal(jobs_create(NULL, fx->store, OWNER, &spec), JOBS_ESCHEDULE);
    assert_int_equal(jobs_fault_code(JOBS_ESCHEDULE), 25);
    assert_int_equal(fx_count(fx, OWNER), 0);
    int64_t next = 0;
    assert_int_equal(jobs_scheduler_next_run(&next, fx->store), JOBS_ENOTFOUND);
    /* A stack and a schedule both wrong: one of the two errors, nothing written. */
    spec.stack = stack + 100;
    int rc = jobs_create(NULL, fx->store, OWNER, &spec);
    assert_true(rc == JOBS_ESTACK || rc == JOBS_ESCHEDULE);
    assert_int_equal(fx_stat_jobs(fx), 0);
}

static void test_get_of_missing_job_is_notfound(void **state)
{
    fixture *fx = *state;
    jobs_job *job = NULL;
    assert_int_equal(jobs_get(&job, fx->store, OWNER, 1), JOBS_ENOTFOUND);
    assert_int_equal(jobs_get(&job, fx->store, OWNER, JOBS_ID_MAX), JOBS_ENOTFOUND);
    assert_null(job);
    assert_int_equal(jobs_fault_code(JOBS_ENOTFOUND), 6);
}

static void test_get_returns_a_copy_the_caller_owns(void **state)
{
    fixture *fx = *state;
    uint64_t stack = fx_stack(fx, OWNER, false);
    uint64_t id = fx_job(fx, OWNER, "copy", stack, FX_HOURLY, false);
    jobs_job *a = fx_get(fx, OWNER, id);
    jobs_job_spec spec = JOBS_JOB_SPEC_INIT;
    spec.fields = JOBS_JOB_NAME;
    spec.name = "changed";
    assert_int_equal(jobs_update(NULL, fx->store, OWNER, id, &spec), 0);
    /* The earlier copy is untouched by the update. */
    assert_string_equal(a->name, "copy");
    jobs_job_free(a);
    jobs_job *b = fx_get(fx, OWNER, id);
    assert_string_equal(b->name, "changed");
    jobs_job_free(b);
}

#define T(f) cmocka_unit_test_setup_teardown(f, fx_setup, fx_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_create_defaults_to_no_name_and_inactive),
        T(test_create_enabled_periodic_sets_next_run_to_now_plus_period),
        T(test_create_enabled_once_sets_next_run_to_timestamp),
        T(test_create_with_missing_stack_is_estack_and_writes_nothing),
        T(test_create_with_missing_schedule_is_eschedule_and_writes_nothing),
        T(test_get_of_missing_job_is_notfound),
        T(test_get_returns_a_copy_the_caller_owns),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
