/* The scheduler tick: one-time and periodic runs, coalescing, order, limit, callbacks. */
#include "fixture.h"

#include <string.h>

#define OWNER 21

static void test_once_job_runs_once_and_disables_itself(void **state)
{
    fixture *fx = *state;
    uint64_t stack = fx_stack(fx, OWNER, false);
    uint64_t once = fx_once(fx, OWNER, FX_T0 + 500);
    uint64_t id = fx_job(fx, OWNER, "single", stack, once, true);
    jobs_job *job = fx_get(fx, OWNER, id);
    assert_int_equal(job->next_run, FX_T0 + 500);
    jobs_job_free(job);

    fx_events ev;
    fx_tick(fx, FX_T0 + 499, &ev);
    assert_int_equal(ev.n, 0);
    fx_tick(fx, FX_T0 + 500, &ev);
    assert_int_equal(ev.n, 1);
    assert_int_equal(ev.ev[0].type, JOBS_EVENT_RUN);
    assert_int_equal(ev.ev[0].job, id);
    assert_int_equal(ev.ev[0].owner, OWNER);
    assert_int_equal(ev.ev[0].stack, stack);
    assert_int_equal(ev.ev[0].schedule, once);
    assert_int_equal(ev.ev[0].slot, FX_T0 + 500);
    assert_true(ev.named[0]);

    job = fx_get(fx, OWNER, id);
    assert_false(job->do_run);
    assert_false(job->do_del);
    jobs_job_free(job);
    int64_t next = 0;
    assert_int_equal(jobs_scheduler_next_run(&next, fx->store), JOBS_ENOTFOUND);
    fx_tick(fx, FX_T0 + 10 * 86400, &ev);
    assert_int_equal(ev.n, 0);
}

static void test_once_schedule_in_the_past_is_due_at_once(void **state)
{
    fixture *fx = *state;
    uint64_t stack = fx_stack(fx, OWNER, false);
    uint64_t once = fx_once(fx, OWNER, FX_T0 - 3600);
    uint64_t id = fx_job(fx, OWNER, NULL, stack, once, true);
    jobs_job *job = fx_get(fx, OWNER, id);
    assert_true(job->do_run);
    assert_int_equal(job->next_run, FX_T0 - 3600);
    jobs_job_free(job);
    int64_t next = 0;
    assert_int_equal(jobs_scheduler_next_run(&next, fx->store), 0);
    assert_int_equal(next, FX_T0 - 3600);
    fx_events ev;
    fx_tick(fx, FX_T0, &ev);
    assert_int_equal(ev.n, 1);
    assert_int_equal(ev.ev[0].type, JOBS_EVENT_RUN);
    assert_int_equal(ev.ev[0].slot, FX_T0 - 3600);
    assert_false(ev.named[0]);
}

static void test_reenabled_once_job_that_ran_is_due_again(void **state)
{
    fixture *fx = *state;
    uint64_t stack = fx_stack(fx, OWNER, false);
    uint64_t once = fx_once(fx, OWNER, FX_T0 + 100);
    uint64_t id = fx_job(fx, OWNER, NULL, stack, once, true);
    fx_events ev;
    fx_tick(fx, FX_T0 + 100, &ev);
    assert_int_equal(ev.n, 1);
    fx_set_time(fx, FX_T0 + 200);
    jobs_job_spec spec = JOBS_JOB_SPEC_INIT;
    spec.fields = JOBS_JOB_ENABLED;
    spec.enabled = true;
    assert_int_equal(jobs_update(NULL, fx->store, OWNER, id, &spec), 0);
    jobs_job *job = fx_get(fx, OWNER, id);
    assert_true(job->do_run);
    assert_int_equal(job->next_run, FX_T0 + 100);
    jobs_job_free(job);
    fx_tick(fx, FX_T0 + 200, &ev);
    assert_int_equal(ev.n, 1);
    assert_int_equal(ev.ev[0].job, id);
}

static void test_periodic_job_runs_at_next_run_and_advances_by_period(void **state)
{
    fixture *fx = *state;
    uint64_t stack = fx_stack(fx, OWNER, false);
    uint64_t id = fx_job(fx, OWNER, NULL, stack, FX_EVERY_5_MINUTES, true);
    int64_t next_run = FX_T0 + 300;
    fx_events ev;
    for (int i = 0; i < 5; i++) {
        /* The tick goes by its `now` argument, not by the store's clock. */
        fx_tick(fx, next_run - 1, &ev);
        assert_int_equal(ev.n, 0);
        fx_tick(fx, next_run, &ev);
        assert_int_equal(ev.n, 1);
        assert_int_equal(ev.ev[0].type, JOBS_EVENT_RUN);
        assert_int_equal(ev.ev[0].job, id);
        assert_int_equal(ev.ev[0].slot, next_run);
        jobs_job *job = fx_get(fx, OWNER, id);
        assert_true(job->do_run);
        assert_int_equal(job->next_run, next_run + 300);
        jobs_job_free(job);
        /* The same slot is never delivered twice. */
        fx_tick(fx, next_run, &ev);
        assert_int_equal(ev.n, 0);
        next_run += 300;
    }
    assert_int_equal(fx_time(fx), FX_T0);
}

static void test_missed_slots_are_coalesced_into_one_run(void **state)
{
    fixture *fx = *state;
    uint64_t stack = fx_stack(fx, OWNER, false);
    uint64_t id = fx_job(fx, OWNER, NULL, stack, FX_EVERY_MINUTE, true);
    const int64_t first = FX_T0 + 60;
    /* Down for a long while: 1000 slots and a bit. */
    const int64_t now = first + 60 * 1000 + 17;
    fx_events ev;
    fx_tick(fx, now, &ev);
    assert_int_equal(ev.n, 1);
    assert_int_equal(ev.ev[0].slot, first);
    jobs_job *job = fx_get(fx, OWNER, id);
    assert_true(job->next_run > now);
    assert_true(job->next_run - 60 <= now);
    assert_int_equal((job->next_run - first) % 60, 0);
    assert_int_equal(job->next_run, first + 60 * 1001);
    jobs_job_free(job);
    fx_tick(fx, now, &ev);
    assert_int_equal(ev.n, 0);
}

static void test_tick_exactly_on_a_later_slot_moves_past_it(void **state)
{
    fixture *fx = *state;
    uint64_t stack = fx_stack(fx, OWNER, false);
    uint64_t id = fx_job(fx, OWNER, NULL, stack, FX_HOURLY, true);
    const int64_t first = FX_T0 + 3600;
    fx_events ev;
    fx_tick(fx, first + 3600 * 3, &ev);
    assert_int_equal(ev.n, 1);
    assert_int_equal(ev.ev[0].slot, first);
    jobs_job *job = fx_get(fx, OWNER, id);
    assert_int_equal(job->next_run, first + 3600 * 4);
    jobs_job_free(job);
}

static void test_coalescing_with_the_longest_period(void **state)
{
    fixture *fx = *state;
    uint64_t stack = fx_stack(fx, OWNER, false);
    uint64_t sched = fx_periodic(fx, OWNER, JOBS_PERIOD_MAX);
    uint64_t id = fx_job(fx, OWNER, NULL, stack, sched, true);
    const int64_t first = FX_T0 + JOBS_PERIOD_MAX;
    fx_events ev;
    fx_tick(fx, first + (int64_t)JOBS_PERIOD_MAX * 50 + 1, &ev);
    assert_int_equal(ev.n, 1);
    jobs_job *job = fx_get(fx, OWNER, id);
    assert_int_equal(job->next_run, first + (int64_t)JOBS_PERIOD_MAX * 51);
    jobs_job_free(job);
}

static void test_events_come_in_next_run_then_id_order(void **state)
{
    fixture *fx = *state;
    uint64_t stack = fx_stack(fx, OWNER, false);
    uint64_t other_stack = fx_stack(fx, OWNER + 1, false);
    uint64_t once30 = fx_once(fx, OWNER, FX_T0 + 30);
    uint64_t once60 = fx_once(fx, OWNER, FX_T0 + 60);
    uint64_t j1 = fx_job(fx, OWNER, NULL, stack, FX_HOURLY, true);          /* T0+3600 */
    uint64_t j2 = fx_job(fx, OWNER, NULL, stack, FX_EVERY_MINUTE, true);    /* T0+60 */
    uint64_t j3 = fx_job(fx, OWNER + 1, NULL, other_stack, FX_EVERY_MINUTE, true); /* T0+60 */
    uint64_t j4 = fx_job(fx, OWNER, NULL, stack, once30, true);             /* T0+30 */
    uint64_t j5 = fx_job(fx, OWNER, NULL, stack, FX_EVERY_5_MINUTES, false); /* enabled later */
    uint64_t j6 = fx_job(fx, OWNER, NULL, stack, once60, true);             /* T0+60 */
    uint64_t j7 = fx_job(fx, OWNER, NULL, stack, FX_DAILY, true);           /* not due */
    fx_set_time(fx, FX_T0 - 100);
    jobs_job_spec spec = JOBS_JOB_SPEC_INIT;
    spec.fields = JOBS_JOB_ENABLED;
    spec.enabled = true;
    assert_int_equal(jobs_update(NULL, fx->store, OWNER, j5, &spec), 0); /* T0+200 */
    assert_int_equal(jobs_delete(NULL, fx->store, OWNER, j1), 0);        /* queued */

    int64_t next = 0;
    assert_int_equal(jobs_scheduler_next_run(&next, fx->store), 0);
    assert_int_equal(next, FX_T0 + 30);

    fx_events ev;
    fx_tick(fx, FX_T0 + 4000, &ev);
    const uint64_t order[] = {j4, j2, j3, j6, j5, j1};
    const int64_t slots[] = {FX_T0 + 30, FX_T0 + 60, FX_T0 + 60, FX_T0 + 60, FX_T0 + 200,
                             FX_T0 + 3600};
    assert_int_equal(ev.n, 6);
    for (size_t i = 0; i < 6; i++) {
        assert_int_equal(ev.ev[i].job, order[i]);
        assert_int_equal(ev.ev[i].slot, slots[i]);
        assert_int_equal(ev.ev[i].type, order[i] == j1 ? JOBS_EVENT_DELETED : JOBS_EVENT_RUN);
    }
    assert_int_equal(ev.ev[2].owner, OWNER + 1);
    (void)j7;
}

static void test_next_run_answers_the_earliest_active_job(void **state)
{
    fixture *fx = *state;
    int64_t next = 0;
    assert_int_equal(jobs_scheduler_next_run(&next, fx->store), JOBS_ENOTFOUND);
    uint64_t stack = fx_stack(fx, OWNER, false);
    uint64_t inactive = fx_job(fx, OWNER, NULL, stack, FX_EVERY_MINUTE, false);
    assert_int_equal(jobs_scheduler_next_run(&next, fx->store), JOBS_ENOTFOUND);
    fx_job(fx, OWNER, NULL, stack, FX_DAILY, true);
    assert_int_equal(jobs_scheduler_next_run(&next, fx->store), 0);
    assert_int_equal(next, FX_T0 + 86400);
    uint64_t hourly = fx_job(fx, OWNER, NULL, stack, FX_HOURLY, true);
    assert_int_equal(jobs_scheduler_next_run(&next, fx->store), 0);
    assert_int_equal(next, FX_T0 + 3600);
    jobs_job_spec spec = JOBS_JOB_SPEC_INIT;
    spec.fields = JOBS_JOB_ENABLED;
    spec.enabled = false;
    assert_int_equal(jobs_update(NULL, fx->store, OWNER, hourly, &spec), 0);
    assert_int_equal(jobs_scheduler_next_run(&next, fx->store), 0);
    assert_int_equal(next, FX_T0 + 86400);
    fx_events ev;
    fx_tick(fx, FX_T0 + 86400, &ev);
    assert_int_equal(jobs_scheduler_next_run(&next, fx->store), 0);
    assert_int_equal(next, FX_T0 + 2 * 86400);
    (void)inactive;
}

static void test_tick_takes_at_most_limit_jobs(void **state)
{
    fixture *fx = *state;
    uint64_t stack = fx_stack(fx, OWNER, false);
    uint64_t ids[5];
    for (size_t i = 0; i < 5; i++)
        ids[i] = fx_job(fx, OWNER, NULL, stack, FX_EVERY_MINUTE, true);
    const size_t expect[] = {2, 2, 1, 0};
    size_t seen = 0;
    fx_events ev;
    for (size_t round = 0; round < 4; round++) {
        memset(&ev, 0, sizeof(ev));
        size_t n = 99;
        assert_int_equal(jobs_scheduler_tick(&n, fx->store, FX_T0 + 60, 2, fx_record_event, &ev),
                         0);
        assert_int_equal(n, expect[round]);
        assert_int_equal(ev.n, expect[round]);
        for (size_t i = 0; i < ev.n; i++)
            assert_int_equal(ev.ev[i].job, ids[seen++]);
    }
    assert_int_equal(seen, 5);
}

static void test_tick_limit_zero_means_no_limit(void **state)
{
    fixture *fx = *state;
    uint64_t stack = fx_stack(fx, OWNER, false);
    for (size_t i = 0; i < 40; i++)
        fx_job(fx, OWNER, NULL, stack, FX_EVERY_MINUTE, true);
    fx_events ev;
    memset(&ev, 0, sizeof(ev));
    size_t n = 0;
    assert_int_equal(jobs_scheduler_tick(&n, fx->store, FX_T0 + 60, 0, fx_record_event, &ev), 0);
    assert_int_equal(n, 40);
    assert_int_equal(ev.n, 40);
}

static void test_tick_without_callback_commits(void **state)
{
    fixture *fx = *state;
    uint64_t stack = fx_stack(fx, OWNER, false);
    uint64_t id = fx_job(fx, OWNER, NULL, stack, FX_EVERY_MINUTE, true);
    size_t n = 0;
    assert_int_equal(jobs_scheduler_tick(&n, fx->store, FX_T0 + 60, 0, NULL, NULL), 0);
    assert_int_equal(n, 1);
    jobs_job *job = fx_get(fx, OWNER, id);
    assert_int_equal(job->next_run, FX_T0 + 120);
    jobs_job_free(job);
    /* n_events may be NULL. */
    assert_int_equal(jobs_scheduler_tick(NULL, fx->store, FX_T0 + 120, 0, NULL, NULL), 0);
    job = fx_get(fx, OWNER, id);
    assert_int_equal(job->next_run, FX_T0 + 180);
    jobs_job_free(job);
}

static void test_tick_with_nothing_due_does_nothing(void **state)
{
    fixture *fx = *state;
    fx_events ev;
    fx_tick(fx, FX_T0, &ev);
    assert_int_equal(ev.n, 0);
    uint64_t stack = fx_stack(fx, OWNER, false);
    uint64_t id = fx_job(fx, OWNER, NULL, stack, FX_EVERY_MINUTE, true);
    fx_job(fx, OWNER, NULL, stack, FX_EVERY_MINUTE, false);
    fx_tick(fx, FX_T0 + 59, &ev);
    assert_int_equal(ev.n, 0);
    fx_tick(fx, FX_T0 + 10000, &ev);
    assert_int_equal(ev.n, 1);
    assert_int_equal(ev.ev[0].job, id);
}

static void test_nonzero_callback_return_stops_delivery(void **state)
{
    fixture *fx = *state;
    uint64_t stack = fx_stack(fx, OWNER, false);
    uint64_t ids[3];
    for (size_t i = 0; i < 3; i++)
        ids[i] = fx_job(fx, OWNER, NULL, stack, FX_EVERY_MINUTE, true);
    fx_events ev;
    memset(&ev, 0, sizeof(ev));
    ev.stop_after = 1;
    ev.stop_code = 42;
    size_t n = 0;
    assert_int_equal(jobs_scheduler_tick(&n, fx->store, FX_T0 + 60, 0, fx_record_event, &ev),
                     42);
    assert_int_equal(ev.n, 1);
    assert_int_equal(ev.ev[0].job, ids[0]);
    assert_int_equal(n, 3);
    /* All three were committed: they are not delivered again, and they moved on. */
    fx_tick(fx, FX_T0 + 60, &ev);
    assert_int_equal(ev.n, 0);
    for (size_t i = 0; i < 3; i++) {
        jobs_job *job = fx_get(fx, OWNER, ids[i]);
        assert_int_equal(job->next_run, FX_T0 + 120);
        jobs_job_free(job);
    }
    /* A negative return value stops as well and is passed back. */
    memset(&ev, 0, sizeof(ev));
    ev.stop_after = 2;
    ev.stop_code = -1000;
    assert_int_equal(jobs_scheduler_tick(&n, fx->store, FX_T0 + 120, 0, fx_record_event, &ev),
                     -1000);
    assert_int_equal(ev.n, 2);
}

typedef struct reentry {
    fixture *fx;
    uint64_t stack;
    uint64_t other;  /* a job the callback disables */
    size_t calls;
    int failures;
    uint64_t created;
} reentry;

static int reenter(const jobs_event *event, void *ctx)
{
    reentry *r = ctx;
    r->calls++;
    jobs_job *job = NULL;
    if (jobs_get(&job, r->fx->store, event->owner, event->job) != 0 || job->id != event->job)
        r->failures++;
    jobs_job_free(job);
    jobs_job_page *page = NULL;
    if (jobs_list(&page, r->fx->store, event->owner, 1, 0) != 0)
        r->failures++;
    jobs_job_page_free(page);
    jobs_job_spec spec = JOBS_JOB_SPEC_INIT;
    spec.fields = JOBS_JOB_ENABLED;
    spec.enabled = false;
    if (jobs_update(NULL, r->fx->store, OWNER, r->other, &spec) != 0)
        r->failures++;
    jobs_job_spec create = JOBS_JOB_SPEC_INIT;
    create.fields = JOBS_JOB_STACK | JOBS_JOB_SCHEDULE | JOBS_JOB_ENABLED;
    create.stack = r->stack;
    create.schedule = FX_EVERY_5_MINUTES;
    create.enabled = true;
    if (jobs_create(&r->created, r->fx->store, OWNER, &create) != 0)
        r->failures++;
    int64_t next = 0;
    if (jobs_scheduler_next_run(&next, r->fx->store) != 0)
        r->failures++;
    /* A nested tick sees nothing more due at this slot. */
    size_t n = 99;
    if (jobs_scheduler_tick(&n, r->fx->store, event->slot, 0, NULL, NULL) != 0 || n != 0)
        r->failures++;
    return 0;
}

static void test_callback_may_call_back_into_the_store(void **state)
{
    fixture *fx = *state;
    reentry r;
    memset(&r, 0, sizeof(r));
    r.fx = fx;
    r.stack = fx_stack(fx, OWNER, false);
    uint64_t id = fx_job(fx, OWNER, "due", r.stack, FX_EVERY_MINUTE, true);
    r.other = fx_job(fx, OWNER, NULL, r.stack, FX_DAILY, true);
    size_t n = 0;
    assert_int_equal(jobs_scheduler_tick(&n, fx->store, FX_T0 + 60, 0, reenter, &r), 0);
    assert_int_equal(n, 1);
    assert_int_equal(r.calls, 1);
    assert_int_equal(r.failures, 0);
    jobs_job *job = fx_get(fx, OWNER, r.other);
    assert_false(job->do_run);
    jobs_job_free(job);
    job = fx_get(fx, OWNER, r.created);
    assert_true(job->do_run);
    jobs_job_free(job);
    assert_int_equal(fx_count(fx, OWNER), 3);
    (void)id;
}

static void test_event_carries_the_job_fields(void **state)
{
    fixture *fx = *state;
    uint64_t stack = fx_stack(fx, OWNER, true);
    uint64_t sched = fx_periodic(fx, OWNER + 1, 120);
    uint64_t id = fx_job(fx, OWNER + 1, "named-job", stack, sched, true);
    fx_events ev;
    fx_tick(fx, FX_T0 + 120, &ev);
    assert_int_equal(ev.n, 1);
    assert_int_equal(ev.ev[0].type, JOBS_EVENT_RUN);
    assert_int_equal(ev.ev[0].job, id);
    assert_int_equal(ev.ev[0].owner, OWNER + 1);
    assert_int_equal(ev.ev[0].stack, stack);
    assert_int_equal(ev.ev[0].schedule, sched);
    assert_int_equal(ev.ev[0].slot, FX_T0 + 120);
    assert_true(ev.named[0]);
}

typedef struct name_check {
    int ok;
} name_check;

static int check_name(const jobs_event *event, void *ctx)
{
    name_check *c = ctx;
    if (event->name != NULL && strcmp(event->name, "named-job") == 0)
        c->ok++;
    return 0;
}

static void test_event_name_is_the_jobs_name(void **state)
{
    fixture *fx = *state;
    uint64_t stack = fx_stack(fx, OWNER, false);
    fx_job(fx, OWNER, "named-job", stack, FX_EVERY_MINUTE, true);
    name_check c = {0};
    assert_int_equal(jobs_scheduler_tick(NULL, fx->store, FX_T0 + 60, 0, check_name, &c), 0);
    assert_int_equal(c.ok, 1);
}

static void test_schedule_periods_drive_next_run(void **state)
{
    fixture *fx = *state;
    uint64_t stack = fx_stack(fx, OWNER, false);
    const int64_t periods[] = {60, 300, 900, 3600, 86400};
    uint64_t ids[5];
    for (size_t i = 0; i < 5; i++)
        ids[i] = fx_job(fx, OWNER, NULL, stack, FX_EVERY_MINUTE + i, true);
    for (size_t i = 0; i < 5; i++) {
        jobs_job *job = fx_get(fx, OWNER, ids[i]);
        assert_int_equal(job->next_run, FX_T0 + periods[i]);
        jobs_job_free(job);
    }
    /* One day of hourly ticks: counts per job are exactly the slots passed. */
    size_t runs[5] = {0};
    fx_events ev;
    for (int64_t t = FX_T0 + 60; t <= FX_T0 + 86400; t += 60) {
        fx_tick(fx, t, &ev);
        for (size_t e = 0; e < ev.n; e++)
            for (size_t i = 0; i < 5; i++)
                if (ev.ev[e].job == ids[i])
                    runs[i]++;
    }
    for (size_t i = 0; i < 5; i++)
        assert_int_equal(runs[i], (size_t)(86400 / periods[i]));
}

static void test_job_at_the_end_of_time_runs_once_then_stops(void **state)
{
    fixture *fx = *state;
    uint64_t stack = fx_stack(fx, OWNER, false);
    fx_events ev;

    fx_set_time(fx, INT64_MAX - 100);
    uint64_t id = fx_job(fx, OWNER, NULL, stack, FX_EVERY_MINUTE, true);
    jobs_job *job = fx_get(fx, OWNER, id);
    assert_int_equal(job->next_run, INT64_MAX - 40);
    jobs_job_free(job);

    /* Its next slot would be past INT64_MAX: it runs for this slot, then is disabled, so
     * ticking at the last representable second again runs nothing. */
    fx_tick(fx, INT64_MAX, &ev);
    assert_int_equal(ev.n, 1);
    assert_int_equal(ev.ev[0].slot, INT64_MAX - 40);
    fx_tick(fx, INT64_MAX, &ev);
    assert_int_equal(ev.n, 0);
    job = fx_get(fx, OWNER, id);
    assert_false(job->do_run);
    jobs_job_free(job);
}

#define T(f) cmocka_unit_test_setup_teardown(f, fx_setup, fx_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_once_job_runs_once_and_disables_itself),
        T(test_once_schedule_in_the_past_is_due_at_once),
        T(test_reenabled_once_job_that_ran_is_due_again),
        T(test_periodic_job_runs_at_next_run_and_advances_by_period),
        T(test_missed_slots_are_coalesced_into_one_run),
        T(test_tick_exactly_on_a_later_slot_moves_past_it),
        T(test_coalescing_with_the_longest_period),
        T(test_events_come_in_next_run_then_id_order),
        T(test_next_run_answers_the_earliest_active_job),
        T(test_tick_takes_at_most_limit_jobs),
        T(test_tick_limit_zero_means_no_limit),
        T(test_tick_without_callback_commits),
        T(test_tick_with_nothing_due_does_nothing),
        T(test_nonzero_callback_return_stops_delivery),
        T(test_callback_may_call_back_into_the_store),
        T(test_event_carries_the_job_fields),
        T(test_event_name_is_the_jobs_name),
        T(test_schedule_periods_drive_next_run),
        T(test_job_at_the_end_of_time_runs_once_then_stops),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
