/* jobs_update(): partial changes, activation and next_run, refused changes change nothing. */
#include "fixture.h"

#define OWNER 5

typedef struct ctx {
    fixture *fx;
    uint64_t stack;
    uint64_t stack2;
    uint64_t job; /* "subject": stack, hourly, inactive */
} ctx;

static ctx make(fixture *fx)
{
    ctx c;
    c.fx = fx;
    c.stack = fx_stack(fx, OWNER, false);
    c.stack2 = fx_stack(fx, OWNER, false);
    c.job = fx_job(fx, OWNER, "subject", c.stack, FX_HOURLY, false);
    return c;
}

static int update(const ctx *c, const jobs_job_spec *spec)
{
    return jobs_update(NULL, c->fx->store, OWNER, c->job, spec);
}

static jobs_job *get(const ctx *c)
{
    return fx_get(c->fx, OWNER, c->job);
}

static void set_enabled(const ctx *c, bool enabled)
{
    jobs_job_spec spec = JOBS_JOB_SPEC_INIT;
    spec.fields = JOBS_JOB_ENABLED;
    spec.enabled = enabled;
    assert_int_equal(update(c, &spec), 0);
}

static void test_empty_update_changes_nothing(void **state)
{
    ctx c = make(*state);
    set_enabled(&c, true);
    jobs_job *before = get(&c);
    fx_advance(c.fx, 1000);
    jobs_job_spec spec = JOBS_JOB_SPEC_INIT;
    /* Members without their bit are ignored, whatever they hold. */
    spec.name = "ignored";
    spec.stack = c.stack2;
    spec.schedule = FX_DAILY;
    spec.enabled = false;
    jobs_job *out = NULL;
    assert_int_equal(jobs_update(&out, c.fx->store, OWNER, c.job, &spec), 0);
    assert_non_null(out);
    fx_assert_job_equal(out, before);
    jobs_job *after = get(&c);
    fx_assert_job_equal(after, before);
    jobs_job_free(before);
    jobs_job_free(after);
    jobs_job_free(out);
}

static void test_update_returns_the_job_after_the_change(void **state)
{
    ctx c = make(*state);
    jobs_job_spec spec = JOBS_JOB_SPEC_INIT;
    spec.fields = JOBS_JOB_NAME | JOBS_JOB_ENABLED;
    spec.name = "renamed";
    spec.enabled = true;
    jobs_job *out = NULL;
    assert_int_equal(jobs_update(&out, c.fx->store, OWNER, c.job, &spec), 0);
    assert_non_null(out);
    assert_int_equal(out->id, c.job);
    assert_int_equal(out->owner, OWNER);
    assert_string_equal(out->name, "renamed");
    assert_true(out->do_run);
    assert_int_equal(out->next_run, FX_T0 + 3600);
    jobs_job *after = get(&c);
    fx_assert_job_equal(out, after);
    jobs_job_free(out);
    jobs_job_free(after);
}

static void test_update_name_only_changes_only_the_name(void **state)
{
    ctx c = make(*state);
    set_enabled(&c, true);
    jobs_job *before = get(&c);
    fx_advance(c.fx, 500);
    jobs_job_spec spec = JOBS_JOB_SPEC_INIT;
    spec.fields = JOBS_JOB_NAME;
    spec.name = "other";
    assert_int_equal(update(&c, &spec), 0);
    jobs_job *after = get(&c);
    assert_string_equal(after->name, "other");
    assert_int_equal(after->stack, before->stack);
    assert_int_equal(after->schedule, before->schedule);
    assert_int_equal(after->do_run, before->do_run);
    assert_int_equal(after->do_del, before->do_del);
    assert_int_equal(after->next_run, before->next_run);
    jobs_job_free(before);
    jobs_job_free(after);
}

static void test_update_name_to_null_clears_it(void **state)
{
    ctx c = make(*state);
    jobs_job_spec spec = JOBS_JOB_SPEC_INIT;
    spec.fields = JOBS_JOB_NAME;
    spec.name = NULL;
    assert_int_equal(update(&c, &spec), 0);
    jobs_job *job = get(&c);
    assert_null(job->name);
    assert_int_equal(job->stack, c.stack);
    jobs_job_free(job);
    jobs_job *found = NULL;
    assert_int_equal(jobs_get_by_name(&found, c.fx->store, OWNER, "subject"), JOBS_ENOTFOUND);
}

static void test_update_stack_only_changes_only_the_stack(void **state)
{
    ctx c = make(*state);
    jobs_job_spec spec = JOBS_JOB_SPEC_INIT;
    spec.fields = JOBS_JOB_STACK;
    spec.stack = c.stack2;
    assert_int_equal(update(&c, &spec), 0);
    jobs_job *job = get(&c);
    assert_int_equal(job->stack, c.stack2);
    assert_string_equal(job->name, "subject");
    assert_int_equal(job->schedule, FX_HOURLY);
    assert_false(job->do_run);
    assert_false(job->do_del);
    jobs_job_free(job);
}

static void test_update_stack_of_active_job_keeps_next_run(void **state)
{
    ctx c = make(*state);
    set_enabled(&c, true);
    fx_advance(c.fx, 100);
    jobs_job_spec spec = JOBS_JOB_SPEC_INIT;
    spec.fields = JOBS_JOB_STACK | JOBS_JOB_NAME;
    spec.stack = c.stack2;
    spec.name = "moved";
    assert_int_equal(update(&c, &spec), 0);
    jobs_job *job = get(&c);
    assert_true(job->do_run);
    assert_int_equal(job->next_run, FX_T0 + 3600);
    jobs_job_free(job);
}

static void test_enabling_periodic_job_sets_next_run_to_now_plus_period(void **state)
{
    ctx c = make(*state);
    fx_set_time(c.fx, FX_T0 + 12345);
    set_enabled(&c, true);
    jobs_job *job = get(&c);
    assert_true(job->do_run);
    assert_false(job->do_del);
    assert_int_equal(job->next_run, FX_T0 + 12345 + 3600);
    jobs_job_free(job);
    int64_t next = 0;
    assert_int_equal(jobs_scheduler_next_run(&next, c.fx->store), 0);
    assert_int_equal(next, FX_T0 + 12345 + 3600);
}

static void test_enabling_once_job_sets_next_run_to_timestamp(void **state)
{
    ctx c = make(*state);
    uint64_t once = fx_once(c.fx, OWNER, FX_T0 + 86400 * 3);
    jobs_job_spec spec = JOBS_JOB_SPEC_INIT;
    spec.fields = JOBS_JOB_SCHEDULE;
    spec.schedule = once;
    assert_int_equal(update(&c, &spec), 0);
    jobs_job *job = get(&c);
    assert_false(job->do_run);
    jobs_job_free(job);
    fx_advance(c.fx, 777);
    set_enabled(&c, true);
    job = get(&c);
    assert_true(job->do_run);
    assert_int_equal(job->next_run, FX_T0 + 86400 * 3);
    jobs_job_free(job);
}

static void test_enabling_with_new_schedule_at_once_uses_new_schedule(void **state)
{
    ctx c = make(*state);
    uint64_t once = fx_once(c.fx, OWNER, FX_T0 + 50);
    jobs_job_spec spec = JOBS_JOB_SPEC_INIT;
    spec.fields = JOBS_JOB_SCHEDULE | JOBS_JOB_ENABLED;
    spec.schedule = once;
    spec.enabled = true;
    assert_int_equal(update(&c, &spec), 0);
    jobs_job *job = get(&c);
    assert_int_equal(job->schedule, once);
    assert_true(job->do_run);
    assert_int_equal(job->next_run, FX_T0 + 50);
    jobs_job_free(job);
}

static void test_enabling_an_active_job_keeps_next_run(void **state)
{
    ctx c = make(*state);
    set_enabled(&c, true);
    fx_advance(c.fx, 1800);
    set_enabled(&c, true);
    jobs_job *job = get(&c);
    assert_true(job->do_run);
    assert_int_equal(job->next_run, FX_T0 + 3600);
    jobs_job_free(job);
}

static void test_disabling_clears_do_run(void **state)
{
    ctx c = make(*state);
    set_enabled(&c, true);
    set_enabled(&c, false);
    jobs_job *job = get(&c);
    assert_false(job->do_run);
    assert_false(job->do_del);
    assert_int_equal(job->schedule, FX_HOURLY);
    jobs_job_free(job);
    int64_t next = 0;
    assert_int_equal(jobs_scheduler_next_run(&next, c.fx->store), JOBS_ENOTFOUND);
    /* A disabled job is not run. */
    fx_events ev;
    fx_tick(c.fx, FX_T0 + 10 * 86400, &ev);
    assert_int_equal(ev.n, 0);
    /* Disabling an inactive job is fine and changes nothing. */
    set_enabled(&c, false);
    job = get(&c);
    assert_false(job->do_run);
    jobs_job_free(job);
}

static void test_reenabling_sets_next_run_from_the_clock_again(void **state)
{
    ctx c = make(*state);
    set_enabled(&c, true);
    set_enabled(&c, false);
    fx_set_time(c.fx, FX_T0 + 5000);
    set_enabled(&c, true);
    jobs_job *job = get(&c);
    assert_int_equal(job->next_run, FX_T0 + 5000 + 3600);
    jobs_job_free(job);
}

static void test_new_schedule_while_active_resets_next_run(void **state)
{
    ctx c = make(*state);
    set_enabled(&c, true);
    fx_advance(c.fx, 100);
    jobs_job_spec spec = JOBS_JOB_SPEC_INIT;
    spec.fields = JOBS_JOB_SCHEDULE;
    spec.schedule = FX_EVERY_15_MINUTES;
    assert_int_equal(update(&c, &spec), 0);
    jobs_job *job = get(&c);
    assert_true(job->do_run);
    assert_int_equal(job->schedule, FX_EVERY_15_MINUTES);
    assert_int_equal(job->next_run, FX_T0 + 100 + 900);
    jobs_job_free(job);

    uint64_t once = fx_once(c.fx, OWNER, FX_T0 - 10);
    fx_advance(c.fx, 100);
    spec.schedule = once;
    assert_int_equal(update(&c, &spec), 0);
    job = get(&c);
    assert_true(job->do_run);
    assert_int_equal(job->next_run, FX_T0 - 10);
    jobs_job_free(job);
}

static void test_new_schedule_while_inactive_stays_inactive(void **state)
{
    ctx c = make(*state);
    jobs_job_spec spec = JOBS_JOB_SPEC_INIT;
    spec.fields = JOBS_JOB_SCHEDULE;
    spec.schedule = FX_EVERY_MINUTE;
    assert_int_equal(update(&c, &spec), 0);
    jobs_job *job = get(&c);
    assert_false(job->do_run);
    assert_int_equal(job->schedule, FX_EVERY_MINUTE);
    jobs_job_free(job);
}

static void test_disable_with_new_schedule_disables(void **state)
{
    ctx c = make(*state);
    set_enabled(&c, true);
    jobs_job_spec spec = JOBS_JOB_SPEC_INIT;
    spec.fields = JOBS_JOB_SCHEDULE | JOBS_JOB_ENABLED;
    spec.schedule = FX_DAILY;
    spec.enabled = false;
    assert_int_equal(update(&c, &spec), 0);
    jobs_job *job = get(&c);
    assert_false(job->do_run);
    assert_int_equal(job->schedule, FX_DAILY);
    jobs_job_free(job);
}

static void assert_unchanged(const ctx *c, const jobs_job *before)
{
    jobs_job *after = get(c);
    fx_assert_job_equal(after, before);
    jobs_job_free(after);
}

static void test_invalid_stack_in_update_changes_nothing(void **state)
{
    ctx c = make(*state);
    set_enabled(&c, true);
    jobs_job *before = get(&c);
    fx_advance(c.fx, 60);
    jobs_job_spec spec = JOBS_JOB_SPEC_INIT;
    spec.fields = JOBS_JOB_STACK | JOBS_JOB_NAME | JOBS_JOB_SCHEDULE | JOBS_JOB_ENABLED;
    spec.stack = 424242;
    spec.name = "never";
    spec.schedule = FX_DAILY;
    spec.enabled = false;
    assert_int_equal(update(&c, &spec), JOBS_ESTACK);
    assert_unchanged(&c, before);
    spec.stack = 0;
    assert_int_equal(update(&c, &spec), JOBS_ERANGE);
    spec.stack = JOBS_ID_MAX + 1;
    assert_int_equal(update(&c, &spec), JOBS_ERANGE);
    assert_unchanged(&c, before);
    jobs_job_free(before);
    jobs_job *found = NULL;
    assert_int_equal(jobs_get_by_name(&found, c.fx->store, OWNER, "never"), JOBS_ENOTFOUND);
}

static void test_invalid_schedule_in_update_changes_nothing(void **state)
{
    ctx c = make(*state);
    set_enabled(&c, true);
    jobs_job *before = get(&c);
    fx_advance(c.fx, 60);
    jobs_job_spec spec = JOBS_JOB_SPEC_INIT;
    spec.fields = JOBS_JOB_SCHEDULE | JOBS_JOB_NAME | JOBS_JOB_STACK;
    spec.schedule = 424242;
    spec.name = "never";
    spec.stack = c.stack2;
    assert_int_equal(update(&c, &spec), JOBS_ESCHEDULE);
    assert_unchanged(&c, before);
    spec.schedule = 0;
    assert_int_equal(update(&c, &spec), JOBS_ERANGE);
    spec.schedule = JOBS_ID_MAX + 1;
    assert_int_equal(update(&c, &spec), JOBS_ERANGE);
    assert_unchanged(&c, before);
    jobs_job_free(before);
}

static void test_update_of_missing_job_is_notfound(void **state)
{
    ctx c = make(*state);
    jobs_job_spec spec = JOBS_JOB_SPEC_INIT;
    spec.fields = JOBS_JOB_ENABLED;
    spec.enabled = true;
    jobs_job *out = NULL;
    assert_int_equal(jobs_update(&out, c.fx->store, OWNER, c.job + 1000, &spec),
                     JOBS_ENOTFOUND);
    assert_null(out);
    assert_int_equal(fx_count(c.fx, OWNER), 1);
}

#define T(f) cmocka_unit_test_setup_teardown(f, fx_setup, fx_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_empty_update_changes_nothing),
        T(test_update_returns_the_job_after_the_change),
        T(test_update_name_only_changes_only_the_name),
        T(test_update_name_to_null_clears_it),
        T(test_update_stack_only_changes_only_the_stack),
        T(test_update_stack_of_active_job_keeps_next_run),
        T(test_enabling_periodic_job_sets_next_run_to_now_plus_period),
        T(test_enabling_once_job_sets_next_run_to_timestamp),
        T(test_enabling_with_new_schedule_at_once_uses_new_schedule),
        T(test_enabling_an_active_job_keeps_next_run),
        T(test_disabling_clears_do_run),
        T(test_reenabling_sets_next_run_from_the_clock_again),
        T(test_new_schedule_while_active_resets_next_run),
        T(test_new_schedule_while_inactive_stays_inactive),
        T(test_disable_with_new_schedule_disables),
        T(test_invalid_stack_in_update_changes_nothing),
        T(test_invalid_schedule_in_update_changes_nothing),
        T(test_update_of_missing_job_is_notfound),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
