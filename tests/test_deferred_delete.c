/* Deferred deletion: inactive jobs go at once, active ones are queued and deleted by the tick. */
#include "fixture.h"

#define OWNER 11

static void test_delete_inactive_job_is_immediate(void **state)
{
    fixture *fx = *state;
    uint64_t stack = fx_stack(fx, OWNER, false);
    uint64_t keep = fx_job(fx, OWNER, NULL, stack, FX_HOURLY, false);
    uint64_t id = fx_job(fx, OWNER, "gone", stack, FX_HOURLY, false);
    jobs_delete_outcome outcome = 0;
    assert_int_equal(jobs_delete(&outcome, fx->store, OWNER, id), 0);
    assert_int_equal(outcome, JOBS_DELETED);
    jobs_job *job = NULL;
    assert_int_equal(jobs_get(&job, fx->store, OWNER, id), JOBS_ENOTFOUND);
    assert_null(job);
    assert_int_equal(jobs_get_by_name(&job, fx->store, OWNER, "gone"), JOBS_ENOTFOUND);
    assert_int_equal(fx_count(fx, OWNER), 1);
    assert_int_equal(fx_stat_jobs(fx), 1);
    /* Deleting it again: it does not exist any more. */
    assert_int_equal(jobs_delete(&outcome, fx->store, OWNER, id), JOBS_ENOTFOUND);
    jobs_job_free(fx_get(fx, OWNER, keep));
}

static void test_delete_disabled_job_is_immediate(void **state)
{
    fixture *fx = *state;
    uint64_t stack = fx_stack(fx, OWNER, false);
    uint64_t id = fx_job(fx, OWNER, NULL, stack, FX_HOURLY, true);
    jobs_job_spec spec = JOBS_JOB_SPEC_INIT;
    spec.fields = JOBS_JOB_ENABLED;
    spec.enabled = false;
    assert_int_equal(jobs_update(NULL, fx->store, OWNER, id, &spec), 0);
    jobs_delete_outcome outcome = 0;
    assert_int_equal(jobs_delete(&outcome, fx->store, OWNER, id), 0);
    assert_int_equal(outcome, JOBS_DELETED);
    assert_int_equal(fx_count(fx, OWNER), 0);
}

static void test_delete_with_null_outcome_works(void **state)
{
    fixture *fx = *state;
    uint64_t stack = fx_stack(fx, OWNER, false);
    uint64_t a = fx_job(fx, OWNER, NULL, stack, FX_HOURLY, false);
    uint64_t b = fx_job(fx, OWNER, NULL, stack, FX_HOURLY, true);
    assert_int_equal(jobs_delete(NULL, fx->store, OWNER, a), 0);
    assert_int_equal(jobs_delete(NULL, fx->store, OWNER, b), 0);
    assert_int_equal(fx_count(fx, OWNER), 1);
    jobs_job *job = fx_get(fx, OWNER, b);
    assert_true(job->do_del);
    jobs_job_free(job);
}

static void test_delete_active_job_is_queued(void **state)
{
    fixture *fx = *state;
    uint64_t stack = fx_stack(fx, OWNER, false);
    uint64_t id = fx_job(fx, OWNER, "queued", stack, FX_EVERY_5_MINUTES, true);
    jobs_delete_outcome outcome = 0;
    assert_int_equal(jobs_delete(&outcome, fx->store, OWNER, id), 0);
    assert_int_equal(outcome, JOBS_QUEUED_FOR_DELETION);

    jobs_job *job = fx_get(fx, OWNER, id);
    assert_true(job->do_del);
    assert_true(job->do_run);
    assert_int_equal(job->next_run, FX_T0 + 300);
    assert_string_equal(job->name, "queued");
    jobs_job_free(job);

    job = NULL;
    assert_int_equal(jobs_get_by_name(&job, fx->store, OWNER, "queued"), 0);
    assert_true(job->do_del);
    jobs_job_free(job);

    jobs_job_page *page = NULL;
    assert_int_equal(jobs_list(&page, fx->store, OWNER, 1, 0), 0);
    assert_int_equal(page->count, 1);
    assert_int_equal(page->n, 1);
    assert_int_equal(page->jobs[0].id, id);
    assert_true(page->jobs[0].do_del);
    jobs_job_page_free(page);
    assert_int_equal(fx_stat_jobs(fx), 1);
}

static void test_update_of_queued_job_is_equeued(void **state)
{
    fixture *fx = *state;
    uint64_t stack = fx_stack(fx, OWNER, false);
    uint64_t stack2 = fx_stack(fx, OWNER, false);
    uint64_t id = fx_job(fx, OWNER, "queued", stack, FX_EVERY_5_MINUTES, true);
    assert_int_equal(jobs_delete(NULL, fx->store, OWNER, id), 0);
    jobs_job *before = fx_get(fx, OWNER, id);

    jobs_job_spec spec = JOBS_JOB_SPEC_INIT;
    spec.fields = JOBS_JOB_ENABLED;
    spec.enabled = false;
    jobs_job *out = NULL;
    assert_int_equal(jobs_update(&out, fx->store, OWNER, id, &spec), JOBS_EQUEUED);
    assert_null(out);
    spec.fields = JOBS_JOB_NAME;
    spec.name = "renamed";
    assert_int_equal(jobs_update(NULL, fx->store, OWNER, id, &spec), JOBS_EQUEUED);
    spec.fields = JOBS_JOB_STACK;
    spec.stack = stack2;
    assert_int_equal(jobs_update(NULL, fx->store, OWNER, id, &spec), JOBS_EQUEUED);
    spec.fields = JOBS_JOB_SCHEDULE;
    spec.schedule = FX_DAILY;
    assert_int_equal(jobs_update(NULL, fx->store, OWNER, id, &spec), JOBS_EQUEUED);
    assert_int_equal(jobs_fault_code(JOBS_EQUEUED), 104);

    jobs_job *after = fx_get(fx, OWNER, id);
    fx_assert_job_equal(after, before);
    jobs_job_free(after);
    jobs_job_free(before);
}

static void test_second_delete_of_queued_job_answers_queued(void **state)
{
    fixture *fx = *state;
    uint64_t stack = fx_stack(fx, OWNER, false);
    uint64_t id = fx_job(fx, OWNER, NULL, stack, FX_EVERY_5_MINUTES, true);
    for (int i = 0; i < 3; i++) {
        jobs_delete_outcome outcome = 0;
        assert_int_equal(jobs_delete(&outcome, fx->store, OWNER, id), 0);
        assert_int_equal(outcome, JOBS_QUEUED_FOR_DELETION);
    }
    jobs_job *job = fx_get(fx, OWNER, id);
    assert_true(job->do_del);
    assert_int_equal(job->next_run, FX_T0 + 300);
    jobs_job_free(job);
}

static void test_tick_at_next_run_deletes_queued_job(void **state)
{
    fixture *fx = *state;
    uint64_t stack = fx_stack(fx, OWNER, false);
    uint64_t keep = fx_job(fx, OWNER, NULL, stack, FX_DAILY, true);
    uint64_t id = fx_job(fx, OWNER, "doomed", stack, FX_EVERY_5_MINUTES, true);
    jobs_delete_outcome outcome = 0;
    assert_int_equal(jobs_delete(&outcome, fx->store, OWNER, id), 0);
    assert_int_equal(outcome, JOBS_QUEUED_FOR_DELETION);

    /* Before next_run nothing happens. */
    fx_events ev;
    fx_set_time(fx, FX_T0 + 299);
    fx_tick(fx, FX_T0 + 299, &ev);
    assert_int_equal(ev.n, 0);
    jobs_job_free(fx_get(fx, OWNER, id));
    assert_int_equal(fx_count(fx, OWNER), 2);

    /* At next_run it is deleted, not run. */
    fx_set_time(fx, FX_T0 + 300);
    fx_tick(fx, FX_T0 + 300, &ev);
    assert_int_equal(ev.n, 1);
    assert_int_equal(ev.ev[0].type, JOBS_EVENT_DELETED);
    assert_int_equal(ev.ev[0].job, id);
    assert_int_equal(ev.ev[0].owner, OWNER);
    assert_int_equal(ev.ev[0].stack, stack);
    assert_int_equal(ev.ev[0].schedule, FX_EVERY_5_MINUTES);
    assert_int_equal(ev.ev[0].slot, FX_T0 + 300);
    assert_true(ev.named[0]);

    jobs_job *job = NULL;
    assert_int_equal(jobs_get(&job, fx->store, OWNER, id), JOBS_ENOTFOUND);
    assert_int_equal(jobs_get_by_name(&job, fx->store, OWNER, "doomed"), JOBS_ENOTFOUND);
    assert_int_equal(jobs_delete(&outcome, fx->store, OWNER, id), JOBS_ENOTFOUND);
    assert_int_equal(fx_count(fx, OWNER), 1);
    assert_int_equal(fx_stat_jobs(fx), 1);
    jobs_job_free(fx_get(fx, OWNER, keep));

    /* It never comes back. */
    fx_tick(fx, FX_T0 + 86400 * 2, &ev);
    for (size_t i = 0; i < ev.n; i++)
        assert_int_not_equal(ev.ev[i].job, id);
    /* Its name is free again. */
    fx_job(fx, OWNER, "doomed", stack, FX_HOURLY, false);
}

static void test_queued_job_overdue_is_deleted_by_next_tick(void **state)
{
    fixture *fx = *state;
    uint64_t stack = fx_stack(fx, OWNER, false);
    uint64_t id = fx_job(fx, OWNER, NULL, stack, FX_EVERY_MINUTE, true);
    /* The host was down: next_run is long past when the job is deleted. */
    fx_set_time(fx, FX_T0 + 10000);
    jobs_delete_outcome outcome = 0;
    assert_int_equal(jobs_delete(&outcome, fx->store, OWNER, id), 0);
    assert_int_equal(outcome, JOBS_QUEUED_FOR_DELETION);
    fx_events ev;
    fx_tick(fx, FX_T0 + 10000, &ev);
    assert_int_equal(ev.n, 1);
    assert_int_equal(ev.ev[0].type, JOBS_EVENT_DELETED);
    assert_int_equal(ev.ev[0].slot, FX_T0 + 60);
    assert_int_equal(fx_count(fx, OWNER), 0);
}

static void test_queued_once_job_is_deleted_not_run(void **state)
{
    fixture *fx = *state;
    uint64_t stack = fx_stack(fx, OWNER, false);
    uint64_t once = fx_once(fx, OWNER, FX_T0 + 1000);
    uint64_t id = fx_job(fx, OWNER, NULL, stack, once, true);
    assert_int_equal(jobs_delete(NULL, fx->store, OWNER, id), 0);
    fx_events ev;
    fx_tick(fx, FX_T0 + 1000, &ev);
    assert_int_equal(ev.n, 1);
    assert_int_equal(ev.ev[0].type, JOBS_EVENT_DELETED);
    assert_int_equal(ev.ev[0].job, id);
    jobs_job *job = NULL;
    assert_int_equal(jobs_get(&job, fx->store, OWNER, id), JOBS_ENOTFOUND);
}

static void test_once_job_that_ran_is_deleted_at_once(void **state)
{
    fixture *fx = *state;
    uint64_t stack = fx_stack(fx, OWNER, false);
    uint64_t once = fx_once(fx, OWNER, FX_T0 + 10);
    uint64_t id = fx_job(fx, OWNER, NULL, stack, once, true);
    fx_events ev;
    fx_tick(fx, FX_T0 + 10, &ev);
    assert_int_equal(ev.n, 1);
    assert_int_equal(ev.ev[0].type, JOBS_EVENT_RUN);
    jobs_delete_outcome outcome = 0;
    assert_int_equal(jobs_delete(&outcome, fx->store, OWNER, id), 0);
    assert_int_equal(outcome, JOBS_DELETED);
    assert_int_equal(fx_count(fx, OWNER), 0);
}

static void test_queued_deletion_survives_reopen(void **state)
{
    fixture *fx = *state;
    uint64_t stack = fx_stack(fx, OWNER, false);
    uint64_t id = fx_job(fx, OWNER, NULL, stack, FX_EVERY_MINUTE, true);
    assert_int_equal(jobs_delete(NULL, fx->store, OWNER, id), 0);
    fx_reopen(fx);
    jobs_job *job = fx_get(fx, OWNER, id);
    assert_true(job->do_del);
    jobs_job_free(job);
    fx_events ev;
    fx_tick(fx, FX_T0 + 60, &ev);
    assert_int_equal(ev.n, 1);
    assert_int_equal(ev.ev[0].type, JOBS_EVENT_DELETED);
    assert_int_equal(fx_count(fx, OWNER), 0);
}

/* A job queued for deletion keeps the runs made before it was queued until the tick reaches
 * its next slot (docs/runs.md, "History"): a pending manual run is delivered, an at-least-once
 * run whose lease ended comes again and may be finished; a new manual run is refused and
 * writes nothing. The tick at the slot deletes the job with its history, and runs nothing. */
static void test_queued_job_delivers_its_runs_until_its_slot(void **state)
{
    fixture *fx = *state;
    jobs_job_spec spec = JOBS_JOB_SPEC_INIT;
    jobs_delete_outcome outcome = 0;
    uint64_t id = 0, manual = 0, run_id;
    jobs_run_page *p = NULL;
    jobs_run *r = NULL;
    fx_events ev;

    spec.fields = JOBS_JOB_STACK | JOBS_JOB_SCHEDULE | JOBS_JOB_ENABLED | JOBS_JOB_DELIVERY |
                  JOBS_JOB_LEASE;
    spec.stack = fx_stack(fx, OWNER, false);
    spec.schedule = fx_periodic(fx, OWNER, 3600);
    spec.enabled = true;
    spec.delivery = JOBS_DELIVERY_AT_LEAST_ONCE;
    spec.lease = 30;
    assert_int_equal(jobs_create(&id, fx->store, OWNER, &spec), 0);
    fx_set_time(fx, FX_T0 + 3600);
    fx_tick(fx, FX_T0 + 3600, &ev);
    assert_int_equal(ev.n, 1);
    run_id = ev.ev[0].run;
    assert_int_equal(jobs_run_now(&manual, fx->store, OWNER, id), 0);
    assert_int_equal(jobs_delete(&outcome, fx->store, OWNER, id), 0);
    assert_int_equal(outcome, JOBS_QUEUED_FOR_DELETION);
    assert_int_equal(jobs_run_now(NULL, fx->store, OWNER, id), JOBS_EQUEUED);
    assert_int_equal(jobs_run_list(&p, fx->store, OWNER, id, 1, 10), 0);
    assert_int_equal(p->count, 2);
    jobs_run_page_free(p);

    /* Before the next slot: the manual run is delivered, the ended lease comes again. */
    fx_set_time(fx, FX_T0 + 3630);
    fx_tick(fx, FX_T0 + 3630, &ev);
    assert_int_equal(ev.n, 2);
    for (size_t i = 0; i < ev.n; i++) {
        assert_int_equal(ev.ev[i].type, JOBS_EVENT_RUN);
        assert_true(ev.ev[i].run == manual || (ev.ev[i].run == run_id &&
                                               ev.ev[i].attempt == 2));
    }
    assert_int_equal(jobs_run_finish(fx->store, OWNER, run_id, true, "done"), 0);
    assert_int_equal(jobs_run_get(&r, fx->store, OWNER, run_id), 0);
    assert_int_equal(r->state, JOBS_RUN_SUCCEEDED);
    jobs_run_free(r);
    r = NULL;

    /* At the slot: deleted, history and all, nothing run. */
    fx_tick(fx, FX_T0 + 7200, &ev);
    assert_int_equal(ev.n, 1);
    assert_int_equal(ev.ev[0].type, JOBS_EVENT_DELETED);
    assert_int_equal(ev.ev[0].job, id);
    assert_int_equal(jobs_run_get(&r, fx->store, OWNER, run_id), JOBS_ENOTFOUND);
    assert_int_equal(jobs_run_get(&r, fx->store, OWNER, manual), JOBS_ENOTFOUND);
    assert_int_equal(jobs_store_check(fx->store), 0);
}

#define T(f) cmocka_unit_test_setup_teardown(f, fx_setup, fx_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_delete_inactive_job_is_immediate),
        T(test_delete_disabled_job_is_immediate),
        T(test_delete_with_null_outcome_works),
        T(test_delete_active_job_is_queued),
        T(test_update_of_queued_job_is_equeued),
        T(test_second_delete_of_queued_job_answers_queued),
        T(test_tick_at_next_run_deletes_queued_job),
        T(test_queued_job_overdue_is_deleted_by_next_tick),
        T(test_queued_once_job_is_deleted_not_run),
        T(test_once_job_that_ran_is_deleted_at_once),
        T(test_queued_deletion_survives_reopen),
        T(test_queued_job_delivers_its_runs_until_its_slot),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
