/* Runs as records, driven by the fake clock: the record of each tick's run and the event that
 * names it, coalesced downtime with its count, each misfire policy, at-least-once leases
 * (re-delivery, then lost), finishes (late, repeated, after re-delivery), manual runs, the
 * history limit, a job's history going with the job, stat and check, and a store written
 * before runs. */
#include "fixture.h"

#include <lmdb.h>
#include <stdio.h>
#include <string.h>

#define OWNER 31
#define OTHER 32

/* A job of OWNER on the given schedule, enabled, with the given policy fields. */
static uint64_t policy_job_on(fixture *fx, uint64_t schedule, unsigned fields,
                              jobs_delivery delivery, uint32_t lease, uint32_t attempts,
                              jobs_misfire misfire, uint32_t value)
{
    jobs_job_spec spec = JOBS_JOB_SPEC_INIT;
    uint64_t id = 0;

    spec.fields = JOBS_JOB_STACK | JOBS_JOB_SCHEDULE | JOBS_JOB_ENABLED | fields;
    spec.stack = fx_stack(fx, OWNER, false);
    spec.schedule = schedule;
    spec.enabled = true;
    spec.delivery = delivery;
    spec.lease = lease;
    spec.max_attempts = attempts;
    spec.misfire = misfire;
    spec.misfire_value = value;
    assert_int_equal(jobs_create(&id, fx->store, OWNER, &spec), 0);
    return id;
}

/* A periodic job of OWNER with the given policy (fields: JOBS_JOB_* bits of the policy). */
static uint64_t policy_job(fixture *fx, int64_t period, unsigned fields, jobs_delivery delivery,
                           uint32_t lease, uint32_t attempts, jobs_misfire misfire,
                           uint32_t value)
{
    return policy_job_on(fx, fx_periodic(fx, OWNER, period), fields, delivery, lease, attempts,
                         misfire, value);
}

static jobs_run_page *history(fixture *fx, uint64_t job)
{
    jobs_run_page *p = NULL;

    assert_int_equal(jobs_run_list(&p, fx->store, OWNER, job, 1, 100), 0);
    return p;
}

static jobs_run *run_of(fixture *fx, uint64_t id)
{
    jobs_run *r = NULL;

    assert_int_equal(jobs_run_get(&r, fx->store, OWNER, id), 0);
    return r;
}

static void assert_consistent(fixture *fx)
{
    int rc = jobs_store_check(fx->store);

    if (rc)
        fail_msg("check: %s", jobs_error_last());
}

static void test_a_tick_records_the_run_and_the_event_names_it(void **state)
{
    fixture *fx = *state;
    uint64_t job = policy_job(fx, 60, 0, 0, 0, 0, 0, 0);
    fx_events ev;

    fx_tick(fx, FX_T0 + 60, &ev);
    assert_int_equal(ev.n, 1);
    assert_true(ev.ev[0].run >= 1);
    assert_int_equal(ev.ev[0].trigger, JOBS_TRIGGER_SCHEDULE);
    assert_int_equal(ev.ev[0].attempt, 1);
    assert_int_equal(ev.ev[0].missed, 0);
    assert_int_equal(ev.ev[0].delivery, JOBS_DELIVERY_AT_MOST_ONCE);

    jobs_run *r = run_of(fx, ev.ev[0].run);
    assert_int_equal(r->job, job);
    assert_int_equal(r->owner, OWNER);
    assert_int_equal(r->stack, ev.ev[0].stack);
    assert_int_equal(r->slot, FX_T0 + 60);
    assert_int_equal(r->state, JOBS_RUN_DELIVERED);
    assert_int_equal(r->trigger, JOBS_TRIGGER_SCHEDULE);
    assert_int_equal(r->attempt, 1);
    assert_int_equal(r->started, FX_T0 + 60);
    assert_int_equal(r->finished, 0);
    assert_string_equal(r->message, "");
    jobs_run_free(r);

    /* Another owner sees nothing of it. */
    assert_int_equal(jobs_run_get(&r, fx->store, OTHER, ev.ev[0].run), JOBS_ENOTFOUND);
    assert_null(r);
    jobs_run_page *p = NULL;
    assert_int_equal(jobs_run_list(&p, fx->store, OTHER, job, 1, 10), JOBS_ENOTFOUND);

    /* The host reports the end, with output; a repeat changes nothing. */
    fx_set_time(fx, FX_T0 + 70);
    assert_int_equal(jobs_run_finish_output(fx->store, OWNER, ev.ev[0].run, true, "done",
                                            "hello\n", 6), 0);
    assert_int_equal(jobs_run_finish(fx->store, OWNER, ev.ev[0].run, false, "again"),
                     JOBS_ERUNSTATE);
    assert_int_equal(jobs_fault_code(JOBS_ERUNSTATE), 122);
    assert_int_equal(jobs_run_finish(fx->store, OTHER, ev.ev[0].run, true, NULL),
                     JOBS_ENOTFOUND);
    r = run_of(fx, ev.ev[0].run);
    assert_int_equal(r->state, JOBS_RUN_SUCCEEDED);
    assert_int_equal(r->finished, FX_T0 + 70);
    assert_string_equal(r->message, "done");
    assert_int_equal(r->output_len, 6);
    assert_memory_equal(r->output, "hello\n", 6);
    jobs_run_free(r);
    assert_consistent(fx);
}

static void test_downtime_is_coalesced_into_one_run_with_the_count(void **state)
{
    fixture *fx = *state;
    uint64_t job = policy_job(fx, 60, 0, 0, 0, 0, 0, 0);
    fx_events ev;

    /* Down from T0+60 to T0+660: eleven slots due, one run. */
    fx_tick(fx, FX_T0 + 660, &ev);
    assert_int_equal(ev.n, 1);
    assert_int_equal(ev.ev[0].slot, FX_T0 + 60);
    assert_int_equal(ev.ev[0].missed, 10);
    jobs_run *r = run_of(fx, ev.ev[0].run);
    assert_int_equal(r->missed, 10);
    assert_int_equal(r->missed_since, FX_T0 + 120);
    jobs_run_free(r);
    jobs_job *j = fx_get(fx, OWNER, job);
    assert_int_equal(j->next_run, FX_T0 + 720);
    jobs_job_free(j);
    jobs_run_page *p = history(fx, job);
    assert_int_equal(p->count, 1);
    jobs_run_page_free(p);
}

static void test_skip_records_old_slots_and_runs_the_last_within_the_grace(void **state)
{
    fixture *fx = *state;
    uint64_t job = policy_job(fx, 60, JOBS_JOB_MISFIRE, 0, 0, 0, JOBS_MISFIRE_SKIP, 30);
    fx_events ev;

    fx_tick(fx, FX_T0 + 670, &ev); /* the last slot, T0+660, is 10 s late: within 30 */
    assert_int_equal(ev.n, 1);
    assert_int_equal(ev.ev[0].slot, FX_T0 + 660);
    jobs_run_page *p = history(fx, job);
    assert_int_equal(p->count, 2);
    assert_int_equal(p->runs[0]->state, JOBS_RUN_DELIVERED);
    assert_int_equal(p->runs[0]->slot, FX_T0 + 660);
    assert_int_equal(p->runs[0]->id, ev.ev[0].run);
    assert_int_equal(p->runs[1]->state, JOBS_RUN_SKIPPED);
    assert_int_equal(p->runs[1]->missed, 10);
    assert_int_equal(p->runs[1]->missed_since, FX_T0 + 60);
    assert_int_equal(p->runs[1]->finished, FX_T0 + 670);
    assert_non_null(strstr(p->runs[1]->message, "grace"));
    jobs_run_page_free(p);

    /* Every slot older than the grace: all skipped, nothing runs. */
    fx_tick(fx, FX_T0 + 1200 + 45, &ev); /* slots T0+720..T0+1200, the last 45 s late */
    assert_int_equal(ev.n, 0);
    p = history(fx, job);
    assert_int_equal(p->count, 3);
    assert_int_equal(p->runs[0]->state, JOBS_RUN_SKIPPED);
    assert_int_equal(p->runs[0]->missed, 9);
    assert_int_equal(p->runs[0]->missed_since, FX_T0 + 720);
    assert_non_null(strstr(p->runs[0]->message, "9 slot(s) missed by more than the grace of 30 s"));
    jobs_run_page_free(p);
    jobs_job *j = fx_get(fx, OWNER, job);
    assert_int_equal(j->next_run, FX_T0 + 1260);
    jobs_job_free(j);
    assert_consistent(fx);
}

/* Skip runs only the latest due slot (when it is within the grace): the earlier slots are the
 * skipped record, the ones within the grace as well. Its message said they were all "missed by
 * more than the grace", which was false for those. */
static void test_skip_does_not_say_slots_within_the_grace_were_past_it(void **state)
{
    fixture *fx = *state;
    uint64_t job = policy_job(fx, 60, JOBS_JOB_MISFIRE, 0, 0, 0, JOBS_MISFIRE_SKIP, 300);
    fx_events ev;

    /* Slots T0+60..T0+660 are due; T0+420..T0+660 are within 300 s of now. */
    fx_tick(fx, FX_T0 + 670, &ev);
    assert_int_equal(ev.n, 1);
    assert_int_equal(ev.ev[0].slot, FX_T0 + 660);
    jobs_run_page *p = history(fx, job);
    assert_int_equal(p->count, 2);
    assert_int_equal(p->runs[1]->state, JOBS_RUN_SKIPPED);
    assert_int_equal(p->runs[1]->missed, 10);
    assert_int_equal(p->runs[1]->missed_since, FX_T0 + 60);
    assert_null(strstr(p->runs[1]->message, "more than the grace"));
    assert_non_null(strstr(p->runs[1]->message, "only the latest"));
    jobs_run_page_free(p);
    assert_consistent(fx);
}

static void test_catch_up_runs_each_missed_slot_up_to_its_bound(void **state)
{
    fixture *fx = *state;
    uint64_t job = policy_job(fx, 60, JOBS_JOB_MISFIRE, 0, 0, 0, JOBS_MISFIRE_CATCH_UP, 3);
    fx_events ev;

    fx_tick(fx, FX_T0 + 120, &ev); /* two slots: both run */
    assert_int_equal(ev.n, 2);
    assert_int_equal(ev.ev[0].slot, FX_T0 + 60);
    assert_int_equal(ev.ev[1].slot, FX_T0 + 120);
    assert_true(ev.ev[0].run != ev.ev[1].run);

    /* A year down: three runs (the latest slots), the rest one skipped record. */
    int64_t now = FX_T0 + 120 + 365 * 86400;
    fx_tick(fx, now, &ev);
    assert_int_equal(ev.n, 3);
    assert_int_equal(ev.ev[0].slot, now - 120);
    assert_int_equal(ev.ev[1].slot, now - 60);
    assert_int_equal(ev.ev[2].slot, now);
    jobs_run_page *p = history(fx, job);
    assert_int_equal(p->count, 6);
    assert_int_equal(p->runs[3]->state, JOBS_RUN_SKIPPED);
    assert_int_equal(p->runs[3]->missed, 365 * 1440 - 3);
    assert_int_equal(p->runs[3]->missed_since, FX_T0 + 180);
    jobs_run_page_free(p);
    jobs_job *j = fx_get(fx, OWNER, job);
    assert_int_equal(j->next_run, now + 60);
    jobs_job_free(j);
    assert_consistent(fx);
}

static void test_a_lease_that_ends_redelivers_then_loses_the_run(void **state)
{
    fixture *fx = *state;
    uint64_t job = policy_job(fx, 3600, JOBS_JOB_DELIVERY | JOBS_JOB_LEASE |
                              JOBS_JOB_MAX_ATTEMPTS, JOBS_DELIVERY_AT_LEAST_ONCE, 30, 2, 0, 0);
    int64_t slot = FX_T0 + 3600;
    jobs_store_stat_info st = JOBS_STORE_STAT_INFO_INIT;
    fx_events ev;

    fx_tick(fx, slot, &ev);
    assert_int_equal(ev.n, 1);
    uint64_t run = ev.ev[0].run;
    assert_int_equal(ev.ev[0].attempt, 1);
    assert_int_equal(ev.ev[0].delivery, JOBS_DELIVERY_AT_LEAST_ONCE);
    assert_int_equal(ev.ev[0].lease_until, slot + 30);
    jobs_run *r = run_of(fx, run);
    assert_int_equal(r->state, JOBS_RUN_RUNNING);
    assert_int_equal(r->lease_until, slot + 30);
    jobs_run_free(r);
    assert_int_equal(jobs_store_stat(&st, fx->store), 0);
    assert_int_equal(st.runs, 1);
    assert_int_equal(st.runs_queued, 1);

    fx_tick(fx, slot + 29, &ev);
    assert_int_equal(ev.n, 0);
    fx_tick(fx, slot + 30, &ev); /* the lease ended: delivered again */
    assert_int_equal(ev.n, 1);
    assert_int_equal(ev.ev[0].run, run);
    assert_int_equal(ev.ev[0].job, job);
    assert_int_equal(ev.ev[0].attempt, 2);
    assert_int_equal(ev.ev[0].slot, slot);
    assert_int_equal(ev.ev[0].trigger, JOBS_TRIGGER_SCHEDULE);
    assert_true(ev.named[0] == false);
    r = run_of(fx, run);
    assert_int_equal(r->attempt, 2);
    assert_int_equal(r->started, slot + 30);
    assert_int_equal(r->lease_until, slot + 60);
    jobs_run_free(r);

    fx_tick(fx, slot + 60, &ev); /* the last attempt's lease ended: lost, no event */
    assert_int_equal(ev.n, 0);
    r = run_of(fx, run);
    assert_int_equal(r->state, JOBS_RUN_LOST);
    assert_int_equal(r->finished, slot + 60);
    assert_int_equal(r->attempt, 2);
    assert_non_null(strstr(r->message, "lost"));
    jobs_run_free(r);
    /* A finish that comes too late changes nothing. */
    assert_int_equal(jobs_run_finish(fx->store, OWNER, run, true, "late"), JOBS_ERUNSTATE);
    r = run_of(fx, run);
    assert_int_equal(r->state, JOBS_RUN_LOST);
    jobs_run_free(r);
    assert_int_equal(jobs_store_stat(&st, fx->store), 0);
    assert_int_equal(st.runs_queued, 0);
    fx_tick(fx, slot + 3599, &ev);
    assert_int_equal(ev.n, 0);
    assert_consistent(fx);
}

/* jobs_scheduler_next_run answers when a tick has work: a queued run counts as a due job
 * does, so a host that sleeps until then re-delivers an ended lease and delivers a manual run
 * on time (it once answered only the jobs' next runs, or JOBS_ENOTFOUND with none active). */
static void test_next_run_counts_queued_runs(void **state)
{
    fixture *fx = *state;
    uint64_t job = policy_job(fx, 3600, JOBS_JOB_DELIVERY | JOBS_JOB_LEASE,
                              JOBS_DELIVERY_AT_LEAST_ONCE, 30, 0, 0, 0);
    int64_t slot = FX_T0 + 3600, next = 0;
    jobs_job_spec off = JOBS_JOB_SPEC_INIT;
    uint64_t manual = 0;
    fx_events ev;

    assert_int_equal(jobs_scheduler_next_run(&next, fx->store), 0);
    assert_int_equal(next, slot);
    fx_tick(fx, slot, &ev);
    assert_int_equal(ev.n, 1);
    assert_int_equal(jobs_scheduler_next_run(&next, fx->store), 0);
    assert_int_equal(next, slot + 30); /* the lease ends before the next slot */
    assert_int_equal(jobs_run_finish(fx->store, OWNER, ev.ev[0].run, true, NULL), 0);
    assert_int_equal(jobs_scheduler_next_run(&next, fx->store), 0);
    assert_int_equal(next, slot + 3600);

    off.fields = JOBS_JOB_ENABLED;
    assert_int_equal(jobs_update(NULL, fx->store, OWNER, job, &off), 0);
    assert_int_equal(jobs_scheduler_next_run(&next, fx->store), JOBS_ENOTFOUND);
    int64_t made = atomic_load(&fx->now);
    assert_int_equal(jobs_run_now(&manual, fx->store, OWNER, job), 0);
    assert_int_equal(jobs_scheduler_next_run(&next, fx->store), 0);
    assert_int_equal(next, made);
    fx_tick(fx, next, &ev);
    assert_int_equal(ev.n, 1);
    assert_int_equal(ev.ev[0].run, manual);
}

/* A run delivered again runs what its record says, not what its job says now: a job moved to
 * another stack between two attempts of one run (it once handed the second attempt the job's
 * new stack, while the record kept the old one). */
static void test_a_redelivery_runs_the_runs_own_stack(void **state)
{
    fixture *fx = *state;
    uint64_t job = policy_job(fx, 3600, JOBS_JOB_DELIVERY | JOBS_JOB_LEASE,
                              JOBS_DELIVERY_AT_LEAST_ONCE, 30, 0, 0, 0);
    jobs_job_spec move = JOBS_JOB_SPEC_INIT;
    int64_t slot = FX_T0 + 3600;
    fx_events ev;

    fx_tick(fx, slot, &ev);
    assert_int_equal(ev.n, 1);
    uint64_t run = ev.ev[0].run, first = ev.ev[0].stack;
    move.fields = JOBS_JOB_STACK;
    move.stack = fx_stack(fx, OWNER, false);
    assert_true(move.stack != first);
    assert_int_equal(jobs_update(NULL, fx->store, OWNER, job, &move), 0);
    fx_tick(fx, slot + 30, &ev); /* the lease ended: the same run again */
    assert_int_equal(ev.n, 1);
    assert_int_equal(ev.ev[0].run, run);
    assert_int_equal(ev.ev[0].attempt, 2);
    assert_int_equal(ev.ev[0].stack, first);
    jobs_run *r = run_of(fx, run);
    assert_int_equal(r->stack, first);
    jobs_run_free(r);
}

/* A callback that stops a tick's delivery: the runs it was not told of are committed all the
 * same. The at-least-once one comes again when its lease ends (attempt 2); the at-most-once
 * one stays delivered and never comes again (jobs_event_fn). */
static void test_runs_a_stopped_callback_was_not_told_of(void **state)
{
    fixture *fx = *state;
    uint64_t most = policy_job(fx, 3600, 0, 0, 0, 0, 0, 0);
    uint64_t least = policy_job(fx, 3600, JOBS_JOB_DELIVERY | JOBS_JOB_LEASE,
                                JOBS_DELIVERY_AT_LEAST_ONCE, 30, 0, 0, 0);
    int64_t slot = FX_T0 + 3600;
    fx_events ev;
    size_t n = 0;

    memset(&ev, 0, sizeof(ev));
    ev.stop_after = 1;
    ev.stop_code = 7;
    assert_int_equal(jobs_scheduler_tick(&n, fx->store, slot, 0, fx_record_event, &ev), 7);
    assert_int_equal(n, 2);
    assert_int_equal(ev.n, 1);
    assert_int_equal(ev.ev[0].job, most);
    jobs_run_page *p = history(fx, least);
    assert_int_equal(p->count, 1);
    uint64_t run = p->runs[0]->id;
    assert_int_equal(p->runs[0]->state, JOBS_RUN_RUNNING);
    jobs_run_page_free(p);

    fx_tick(fx, slot + 29, &ev);
    assert_int_equal(ev.n, 0);
    fx_tick(fx, slot + 30, &ev);
    assert_int_equal(ev.n, 1);
    assert_int_equal(ev.ev[0].run, run);
    assert_int_equal(ev.ev[0].attempt, 2);
    p = history(fx, most);
    assert_int_equal(p->runs[0]->state, JOBS_RUN_DELIVERED);
    assert_int_equal(p->count, 1);
    jobs_run_page_free(p);
    assert_consistent(fx);
}

/* The tick's `now` going back (a host's clock set back, or two hosts out of step) runs no slot
 * twice and ends no lease early; jumping ahead makes the slots up to it due (the misfire
 * policy's to decide) and leases from it, and coming back from there runs nothing until the
 * jobs' next slots after the jump (docs/runs.md, "Clocks"). */
static void test_a_clock_that_goes_back_runs_no_slot_twice(void **state)
{
    fixture *fx = *state;
    uint64_t job = policy_job(fx, 60, JOBS_JOB_DELIVERY | JOBS_JOB_LEASE,
                              JOBS_DELIVERY_AT_LEAST_ONCE, 30, 0, 0, 0);
    fx_events ev;

    fx_tick(fx, FX_T0 + 60, &ev);
    assert_int_equal(ev.n, 1);
    uint64_t run = ev.ev[0].run;
    fx_tick(fx, FX_T0 + 10, &ev); /* back before the slot */
    assert_int_equal(ev.n, 0);
    fx_tick(fx, FX_T0 + 60, &ev); /* the same slot again */
    assert_int_equal(ev.n, 0);
    fx_tick(fx, FX_T0 + 89, &ev); /* the lease (to T0+90) has not ended */
    assert_int_equal(ev.n, 0);
    assert_int_equal(jobs_run_finish(fx->store, OWNER, run, true, NULL), 0);

    /* Ahead by a day, then back: the jump's slots coalesce into one run leased from the jump,
     * and nothing runs again until the first slot after it. */
    int64_t ahead = FX_T0 + 86400;
    fx_tick(fx, ahead, &ev);
    assert_int_equal(ev.n, 1);
    assert_int_equal(ev.ev[0].slot, FX_T0 + 120);
    assert_int_equal(ev.ev[0].lease_until, ahead + 30);
    fx_tick(fx, FX_T0 + 180, &ev);
    assert_int_equal(ev.n, 0);
    jobs_job *j = fx_get(fx, OWNER, job);
    assert_int_equal(j->next_run, ahead + 60);
    jobs_job_free(j);
    int64_t next = 0;
    assert_int_equal(jobs_scheduler_next_run(&next, fx->store), 0);
    assert_int_equal(next, ahead + 30);
    assert_consistent(fx);
}

static void test_a_finish_after_redelivery_ends_the_run_once(void **state)
{
    fixture *fx = *state;
    policy_job(fx, 3600, JOBS_JOB_DELIVERY | JOBS_JOB_LEASE, JOBS_DELIVERY_AT_LEAST_ONCE, 10, 0,
               0, 0);
    int64_t slot = FX_T0 + 3600;
    fx_events ev;

    fx_tick(fx, slot, &ev);
    uint64_t run = ev.ev[0].run;
    fx_tick(fx, slot + 10, &ev);
    assert_int_equal(ev.n, 1);
    assert_int_equal(ev.ev[0].attempt, 2);
    /* The first delivery's host finishes after all: the run ends, once. */
    assert_int_equal(jobs_run_finish(fx->store, OWNER, run, false, "exit status 3"), 0);
    assert_int_equal(jobs_run_finish(fx->store, OWNER, run, true, "second"), JOBS_ERUNSTATE);
    jobs_run *r = run_of(fx, run);
    assert_int_equal(r->state, JOBS_RUN_FAILED);
    assert_int_equal(r->attempt, 2);
    assert_int_equal(r->lease_until, 0);
    assert_string_equal(r->message, "exit status 3");
    jobs_run_free(r);
    fx_tick(fx, slot + 100, &ev); /* no lease left to end */
    assert_int_equal(ev.n, 0);
    assert_consistent(fx);
}

static void test_run_now_is_delivered_by_the_next_tick_as_manual(void **state)
{
    fixture *fx = *state;
    uint64_t job = policy_job(fx, 3600, 0, 0, 0, 0, 0, 0);
    uint64_t run = 0;
    fx_events ev;

    fx_set_time(fx, FX_T0 + 5);
    assert_int_equal(jobs_run_now(&run, fx->store, OWNER, job), 0);
    assert_int_equal(jobs_run_now(NULL, fx->store, OTHER, job), JOBS_ENOTFOUND);
    assert_int_equal(jobs_run_now(NULL, fx->store, OWNER, job + 1000), JOBS_ENOTFOUND);
    jobs_run *r = run_of(fx, run);
    assert_int_equal(r->state, JOBS_RUN_PENDING);
    assert_int_equal(r->trigger, JOBS_TRIGGER_MANUAL);
    assert_int_equal(r->attempt, 0);
    assert_int_equal(r->slot, FX_T0 + 5);
    assert_int_equal(jobs_run_finish(fx->store, OWNER, run, true, NULL), JOBS_ERUNSTATE);
    jobs_run_free(r);

    fx_tick(fx, FX_T0 + 6, &ev);
    assert_int_equal(ev.n, 1);
    assert_int_equal(ev.ev[0].run, run);
    assert_int_equal(ev.ev[0].trigger, JOBS_TRIGGER_MANUAL);
    assert_int_equal(ev.ev[0].job, job);
    r = run_of(fx, run);
    assert_int_equal(r->state, JOBS_RUN_DELIVERED);
    assert_int_equal(r->attempt, 1);
    jobs_run_free(r);
    /* The schedule did not move. */
    jobs_job *j = fx_get(fx, OWNER, job);
    assert_int_equal(j->next_run, FX_T0 + 3600);
    jobs_job_free(j);
    fx_tick(fx, FX_T0 + 7, &ev);
    assert_int_equal(ev.n, 0);

    /* A stack, directly: in the owner's runs of that stack, with no job. */
    jobs_run_page *p = NULL;
    r = run_of(fx, run);
    uint64_t stack = r->stack;
    jobs_run_free(r);
    assert_int_equal(jobs_run_now_stack(&run, fx->store, OWNER, stack, JOBS_TRIGGER_HOOK), 0);
    assert_int_equal(jobs_run_now_stack(NULL, fx->store, OTHER, stack, JOBS_TRIGGER_HOOK),
                     JOBS_ESTACK);
    assert_int_equal(jobs_run_now_stack(NULL, fx->store, OWNER, stack, JOBS_TRIGGER_SCHEDULE),
                     JOBS_EINVAL);
    fx_tick(fx, FX_T0 + 8, &ev);
    assert_int_equal(ev.n, 1);
    assert_int_equal(ev.ev[0].job, 0);
    assert_int_equal(ev.ev[0].stack, stack);
    assert_int_equal(ev.ev[0].trigger, JOBS_TRIGGER_HOOK);
    assert_int_equal(jobs_run_list_stack(&p, fx->store, OWNER, stack, 1, 10), 0);
    assert_int_equal(p->count, 2);
    assert_int_equal(p->runs[0]->id, run);
    assert_int_equal(p->runs[0]->job, 0);
    assert_int_equal(p->runs[1]->job, job);
    jobs_run_page_free(p);
    assert_consistent(fx);
}

/* jobs_run_start_stack: the run is delivered to the caller in the transaction that makes it, so
 * no tick delivers it (a webhook's server alone holds its input). */
static void test_a_started_stack_run_is_delivered_to_the_caller_not_to_a_tick(void **state)
{
    fixture *fx = *state;
    uint64_t job = policy_job(fx, 3600, 0, 0, 0, 0, 0, 0);
    jobs_job *j = fx_get(fx, OWNER, job);
    uint64_t stack = j->stack;
    jobs_event started;
    fx_events ev;

    jobs_job_free(j);
    fx_set_time(fx, FX_T0 + 5);
    memset(&started, 0xab, sizeof(started));
    assert_int_equal(jobs_run_start_stack(&started, fx->store, OWNER, stack, JOBS_TRIGGER_HOOK),
                     0);
    assert_int_equal(started.type, JOBS_EVENT_RUN);
    assert_int_equal(started.job, 0);
    assert_null(started.name);
    assert_int_equal(started.owner, OWNER);
    assert_int_equal(started.stack, stack);
    assert_int_equal(started.slot, FX_T0 + 5);
    assert_int_equal(started.trigger, JOBS_TRIGGER_HOOK);
    assert_int_equal(started.attempt, 1);
    assert_int_equal(started.delivery, JOBS_DELIVERY_AT_MOST_ONCE);
    assert_int_equal(started.lease_until, 0);
    jobs_run *r = run_of(fx, started.run);
    assert_int_equal(r->state, JOBS_RUN_DELIVERED);
    assert_int_equal(r->attempt, 1);
    assert_int_equal(r->started, FX_T0 + 5);
    assert_int_equal(r->job, 0);
    jobs_run_free(r);

    fx_tick(fx, FX_T0 + 6, &ev); /* nothing for the tick: the run is the caller's */
    assert_int_equal(ev.n, 0);
    assert_int_equal(jobs_run_finish(fx->store, OWNER, started.run, true, "ok"), 0);
    r = run_of(fx, started.run);
    assert_int_equal(r->state, JOBS_RUN_SUCCEEDED);
    jobs_run_free(r);

    /* Refusals write nothing and leave *ev alone. */
    memset(&started, 0, sizeof(started));
    assert_int_equal(jobs_run_start_stack(&started, fx->store, OTHER, stack, JOBS_TRIGGER_HOOK),
                     JOBS_ESTACK);
    assert_int_equal(jobs_run_start_stack(&started, fx->store, OWNER, stack,
                                          JOBS_TRIGGER_SCHEDULE),
                     JOBS_EINVAL);
    assert_int_equal(jobs_run_start_stack(NULL, fx->store, OWNER, stack, JOBS_TRIGGER_HOOK),
                     JOBS_EINVAL);
    assert_int_equal(started.run, 0);
    jobs_run_page *p = NULL;
    assert_int_equal(jobs_run_list_stack(&p, fx->store, OWNER, stack, 1, 10), 0);
    assert_int_equal(p->count, 1);
    jobs_run_page_free(p);
    assert_consistent(fx);
}

static void test_history_keeps_the_last_n_newest_first_in_pages(void **state)
{
    fixture *fx = *state;
    fx->opts.run_history = 3;
    fx_open(fx);
    uint64_t job = policy_job(fx, 60, 0, 0, 0, 0, 0, 0);
    uint64_t runs[6];
    fx_events ev;

    for (int i = 0; i < 6; i++) {
        fx_tick(fx, FX_T0 + 60 * (i + 1), &ev);
        assert_int_equal(ev.n, 1);
        runs[i] = ev.ev[0].run;
    }
    jobs_run_page *p = NULL;
    assert_int_equal(jobs_run_list(&p, fx->store, OWNER, job, 1, 2), 0);
    assert_int_equal(p->count, 3);
    assert_int_equal(p->n, 2);
    assert_int_equal(p->runs[0]->id, runs[5]);
    assert_int_equal(p->runs[1]->id, runs[4]);
    jobs_run_page_free(p);
    assert_int_equal(jobs_run_list(&p, fx->store, OWNER, job, 2, 2), 0);
    assert_int_equal(p->n, 1);
    assert_int_equal(p->runs[0]->id, runs[3]);
    jobs_run_page_free(p);
    assert_int_equal(jobs_run_list(&p, fx->store, OWNER, job, 3, 2), 0);
    assert_int_equal(p->n, 0);
    assert_null(p->runs);
    jobs_run_page_free(p);
    assert_int_equal(jobs_run_list(&p, fx->store, OWNER, job, 0, 2), JOBS_EPAGE);
    jobs_run *r = NULL;
    assert_int_equal(jobs_run_get(&r, fx->store, OWNER, runs[2]), JOBS_ENOTFOUND);
    jobs_store_stat_info st = JOBS_STORE_STAT_INFO_INIT;
    assert_int_equal(jobs_store_stat(&st, fx->store), 0);
    assert_int_equal(st.runs, 3);
    assert_consistent(fx);
}

/* A stack's runs without a job are each owner's own history: another owner running the same
 * public stack trims only its own runs (it once trimmed one history of the stack, everyone's). */
static void test_other_owners_runs_of_a_public_stack_leave_mine(void **state)
{
    fixture *fx = *state;
    fx->opts.run_history = 3;
    fx_open(fx);
    uint64_t stack = fx_stack(fx, OWNER, true);
    uint64_t mine[2];
    jobs_event ev;

    for (int i = 0; i < 2; i++) {
        assert_int_equal(jobs_run_start_stack(&ev, fx->store, OWNER, stack, JOBS_TRIGGER_MANUAL),
                         0);
        mine[i] = ev.run;
    }
    assert_int_equal(jobs_run_finish(fx->store, OWNER, mine[0], true, "kept"), 0);
    for (int i = 0; i < 10; i++)
        assert_int_equal(jobs_run_start_stack(&ev, fx->store, OTHER, stack, JOBS_TRIGGER_HOOK),
                         0);
    jobs_run_page *p = NULL;
    assert_int_equal(jobs_run_list_stack(&p, fx->store, OWNER, stack, 1, 10), 0);
    assert_int_equal(p->count, 2);
    assert_int_equal(p->n, 2);
    assert_int_equal(p->runs[0]->id, mine[1]);
    assert_int_equal(p->runs[1]->id, mine[0]);
    assert_string_equal(p->runs[1]->message, "kept");
    jobs_run_page_free(p);
    /* The other owner's holds its newest three (a delivered run is not queued: a trim may take
     * it). */
    assert_int_equal(jobs_run_list_stack(&p, fx->store, OTHER, stack, 1, 10), 0);
    assert_int_equal(p->count, 3);
    assert_int_equal(p->runs[0]->id, ev.run);
    jobs_run_page_free(p);
    /* My own runs beyond the limit are trimmed by mine. */
    for (int i = 0; i < 3; i++)
        assert_int_equal(jobs_run_start_stack(&ev, fx->store, OWNER, stack, JOBS_TRIGGER_MANUAL),
                         0);
    assert_int_equal(jobs_run_list_stack(&p, fx->store, OWNER, stack, 1, 10), 0);
    assert_int_equal(p->count, 3);
    assert_int_equal(p->runs[0]->id, ev.run);
    jobs_run_page_free(p);
    jobs_run *r = NULL;
    assert_int_equal(jobs_run_get(&r, fx->store, OWNER, mine[0]), JOBS_ENOTFOUND);
    assert_consistent(fx);
}

/* A stack made private by its owner: another owner whose job kept it lists their own runs of
 * it (they were refused, JOBS_ESTACK, while the job's own history listed them), and an owner
 * without runs of it is still refused. */
static void test_my_runs_of_a_stack_made_private_are_listed(void **state)
{
    fixture *fx = *state;
    uint64_t stack = fx_stack(fx, OWNER, true);
    uint64_t job = fx_job(fx, OTHER, "kept", stack, fx_periodic(fx, OTHER, 60), true);
    jobs_stack_spec priv = JOBS_STACK_SPEC_INIT;
    jobs_run_page *p = NULL;
    fx_events events;

    fx_tick(fx, fx_time(fx) + 61, &events);
    assert_int_equal(events.n, 1);
    assert_int_equal(events.ev[0].job, job);
    priv.fields = JOBS_STACK_PUBLIC;
    priv.is_public = false;
    assert_int_equal(jobs_stack_update(NULL, fx->store, OWNER, stack, &priv), 0);

    assert_int_equal(jobs_run_list_stack(&p, fx->store, OTHER, stack, 1, 10), 0);
    assert_int_equal(p->count, 1);
    assert_int_equal(p->n, 1);
    assert_int_equal(p->runs[0]->id, events.ev[0].run);
    assert_int_equal(p->runs[0]->job, job);
    jobs_run_page_free(p);
    p = NULL;
    assert_int_equal(jobs_run_list(&p, fx->store, OTHER, job, 1, 10), 0);
    assert_int_equal(p->count, 1);
    jobs_run_page_free(p);
    p = NULL;
    assert_int_equal(jobs_run_list_stack(&p, fx->store, OTHER + 1, stack, 1, 10), JOBS_ESTACK);
    assert_null(p);
    assert_int_equal(jobs_run_list_stack(&p, fx->store, OTHER, stack + 1000, 1, 10), JOBS_ESTACK);
    assert_null(p);
}

/* A tick never sweeps the runs it hands out: catch-up of ten slots with a history of five
 * delivers ten runs that all exist when the host gets them (the tick once deleted the first
 * five in its own transaction); the next run trims the history back to five. */
static void test_a_tick_does_not_sweep_the_runs_it_delivers(void **state)
{
    fixture *fx = *state;
    fx->opts.run_history = 5;
    fx_open(fx);
    uint64_t job = policy_job(fx, 60, JOBS_JOB_MISFIRE, 0, 0, 0, JOBS_MISFIRE_CATCH_UP, 10);
    fx_events ev;

    fx_tick(fx, FX_T0 + 60 * 10, &ev);
    assert_int_equal(ev.n, 10);
    for (size_t i = 0; i < ev.n; i++) {
        jobs_run *r = NULL;

        assert_int_equal(jobs_run_get(&r, fx->store, OWNER, ev.ev[i].run), 0);
        jobs_run_free(r);
        assert_int_equal(jobs_run_finish(fx->store, OWNER, ev.ev[i].run, true, NULL), 0);
    }
    fx_tick(fx, FX_T0 + 60 * 11, &ev);
    assert_int_equal(ev.n, 1);
    jobs_run_page *p = history(fx, job);
    assert_int_equal(p->count, 5); /* trimmed back by the next run */
    assert_int_equal(p->runs[0]->id, ev.ev[0].run);
    jobs_run_page_free(p);
    assert_consistent(fx);
}

/* A finish message cut at JOBS_RUN_MESSAGE_MAX keeps whole UTF-8 sequences (it once kept the
 * first byte of a three-byte one). */
static void test_a_long_finish_message_is_cut_between_characters(void **state)
{
    fixture *fx = *state;
    uint64_t job = policy_job(fx, 60, 0, 0, 0, 0, 0, 0);
    char msg[JOBS_RUN_MESSAGE_MAX + 8];
    fx_events ev;

    (void)job;
    memset(msg, 'a', JOBS_RUN_MESSAGE_MAX - 1);
    snprintf(msg + JOBS_RUN_MESSAGE_MAX - 1, 8, "\xe2\x82\xac!"); /* a euro sign over the limit */
    fx_tick(fx, FX_T0 + 60, &ev);
    assert_int_equal(ev.n, 1);
    assert_int_equal(jobs_run_finish(fx->store, OWNER, ev.ev[0].run, true, msg), 0);
    jobs_run *r = run_of(fx, ev.ev[0].run);
    assert_int_equal(strlen(r->message), JOBS_RUN_MESSAGE_MAX - 1);
    for (size_t i = 0; i < JOBS_RUN_MESSAGE_MAX - 1; i++)
        assert_int_equal(r->message[i], 'a');
    jobs_run_free(r);
}

static void test_deleting_a_job_deletes_its_history(void **state)
{
    fixture *fx = *state;
    uint64_t job = policy_job(fx, 60, 0, 0, 0, 0, 0, 0);
    uint64_t keep = policy_job(fx, 60, 0, 0, 0, 0, 0, 0);
    jobs_store_stat_info st = JOBS_STORE_STAT_INFO_INIT;
    jobs_delete_outcome out;
    jobs_job_spec off = JOBS_JOB_SPEC_INIT;
    fx_events ev;

    fx_tick(fx, FX_T0 + 60, &ev);
    fx_tick(fx, FX_T0 + 120, &ev);
    assert_int_equal(jobs_run_now(NULL, fx->store, OWNER, job), 0); /* pending too */
    uint64_t run = ev.ev[0].run;
    off.fields = JOBS_JOB_ENABLED;
    assert_int_equal(jobs_update(NULL, fx->store, OWNER, job, &off), 0);
    assert_int_equal(jobs_delete(&out, fx->store, OWNER, job), 0);
    assert_int_equal(out, JOBS_DELETED);
    jobs_run *r = NULL;
    assert_int_equal(jobs_run_get(&r, fx->store, OWNER, run), JOBS_ENOTFOUND);
    assert_int_equal(jobs_store_stat(&st, fx->store), 0);
    assert_int_equal(st.runs, 2); /* the other job's */
    assert_int_equal(st.runs_queued, 0);
    assert_consistent(fx);

    /* Queued for deletion: the tick deletes the job and its runs, a manual run it had pending
     * in the same tick included. */
    assert_int_equal(jobs_run_now(NULL, fx->store, OWNER, keep), 0);
    assert_int_equal(jobs_delete(&out, fx->store, OWNER, keep), 0);
    assert_int_equal(out, JOBS_QUEUED_FOR_DELETION);
    fx_tick(fx, FX_T0 + 180, &ev);
    assert_int_equal(ev.n, 1);
    assert_int_equal(ev.ev[0].type, JOBS_EVENT_DELETED);
    assert_int_equal(ev.ev[0].run, 0);
    assert_int_equal(jobs_store_stat(&st, fx->store), 0);
    assert_int_equal(st.runs, 0);
    assert_consistent(fx);
}

static void test_policy_is_kept_checked_and_reported(void **state)
{
    fixture *fx = *state;
    uint64_t job = policy_job(fx, 60, JOBS_JOB_DELIVERY | JOBS_JOB_MISFIRE,
                              JOBS_DELIVERY_AT_LEAST_ONCE, 0, 0, JOBS_MISFIRE_CATCH_UP, 5);
    jobs_job_policy pol = JOBS_JOB_POLICY_INIT;
    jobs_job_spec bad = JOBS_JOB_SPEC_INIT;
    jobs_job *before = fx_get(fx, OWNER, job), *after;

    assert_int_equal(jobs_job_policy_get(&pol, fx->store, OWNER, job), 0);
    assert_int_equal(pol.delivery, JOBS_DELIVERY_AT_LEAST_ONCE);
    assert_int_equal(pol.lease, JOBS_LEASE_DEFAULT);
    assert_int_equal(pol.max_attempts, JOBS_MAX_ATTEMPTS_DEFAULT);
    assert_int_equal(pol.misfire, JOBS_MISFIRE_CATCH_UP);
    assert_int_equal(pol.misfire_value, 5);
    assert_int_equal(jobs_job_policy_get(&pol, fx->store, OTHER, job), JOBS_ENOTFOUND);

    /* Values out of range change nothing. */
    bad.fields = JOBS_JOB_MISFIRE;
    bad.misfire = JOBS_MISFIRE_CATCH_UP;
    bad.misfire_value = 0;
    assert_int_equal(jobs_update(NULL, fx->store, OWNER, job, &bad), JOBS_EINVAL);
    bad.misfire = JOBS_MISFIRE_COALESCE;
    bad.misfire_value = 1;
    assert_int_equal(jobs_update(NULL, fx->store, OWNER, job, &bad), JOBS_EINVAL);
    bad.fields = JOBS_JOB_LEASE;
    bad.lease = JOBS_LEASE_MAX + 1;
    assert_int_equal(jobs_update(NULL, fx->store, OWNER, job, &bad), JOBS_EINVAL);
    bad.fields = JOBS_JOB_DELIVERY;
    bad.delivery = (jobs_delivery)7;
    assert_int_equal(jobs_update(NULL, fx->store, OWNER, job, &bad), JOBS_EINVAL);
    after = fx_get(fx, OWNER, job);
    assert_int_equal(after->etag, before->etag);
    jobs_job_free(after);

    /* A change of policy is a change of the job (its entity tag). */
    bad.fields = JOBS_JOB_MAX_ATTEMPTS;
    bad.max_attempts = 9;
    assert_int_equal(jobs_update(NULL, fx->store, OWNER, job, &bad), 0);
    after = fx_get(fx, OWNER, job);
    assert_true(after->etag != before->etag);
    jobs_job_free(after);
    jobs_job_free(before);
    assert_int_equal(jobs_job_policy_get(&pol, fx->store, OWNER, job), 0);
    assert_int_equal(pol.max_attempts, 9);
    assert_int_equal(pol.misfire_value, 5);
}

/* A page carries each job's settings, the same as jobs_job_policy_get() gives, defaults filled
 * in, and follows a change of them at once. */
static void test_a_page_carries_each_jobs_settings(void **state)
{
    fixture *fx = *state;
    uint64_t a = policy_job(fx, 60, JOBS_JOB_DELIVERY | JOBS_JOB_LEASE | JOBS_JOB_MISFIRE,
                            JOBS_DELIVERY_AT_LEAST_ONCE, 90, 0, JOBS_MISFIRE_SKIP, 30);
    uint64_t b = policy_job(fx, 60, 0, JOBS_DELIVERY_AT_MOST_ONCE, 0, 0, JOBS_MISFIRE_COALESCE,
                            0);
    uint64_t c = policy_job(fx, 60, JOBS_JOB_MAX_ATTEMPTS | JOBS_JOB_MISFIRE,
                            JOBS_DELIVERY_AT_MOST_ONCE, 0, 7, JOBS_MISFIRE_CATCH_UP, 3);
    jobs_job_spec change = JOBS_JOB_SPEC_INIT;
    jobs_job_page *p = NULL;

    assert_int_equal(jobs_list(&p, fx->store, OWNER, 1, 10), 0);
    assert_int_equal(p->n, 3);
    assert_non_null(p->policies);
    for (size_t i = 0; i < p->n; i++) {
        jobs_job_policy want = JOBS_JOB_POLICY_INIT;

        assert_int_equal(jobs_job_policy_get(&want, fx->store, OWNER, p->jobs[i].id), 0);
        assert_memory_equal(&p->policies[i], &want, sizeof(want));
    }
    assert_int_equal(p->jobs[0].id, a);
    assert_int_equal(p->policies[0].delivery, JOBS_DELIVERY_AT_LEAST_ONCE);
    assert_int_equal(p->policies[0].lease, 90);
    assert_int_equal(p->policies[0].misfire, JOBS_MISFIRE_SKIP);
    assert_int_equal(p->policies[0].misfire_value, 30);
    assert_int_equal(p->jobs[1].id, b);
    assert_int_equal(p->policies[1].lease, JOBS_LEASE_DEFAULT);
    assert_int_equal(p->policies[1].max_attempts, JOBS_MAX_ATTEMPTS_DEFAULT);
    assert_int_equal(p->jobs[2].id, c);
    assert_int_equal(p->policies[2].max_attempts, 7);
    assert_int_equal(p->policies[2].misfire_value, 3);
    jobs_job_page_free(p);

    change.fields = JOBS_JOB_LEASE;
    change.lease = 45;
    assert_int_equal(jobs_update(NULL, fx->store, OWNER, a, &change), 0);
    assert_int_equal(jobs_list(&p, fx->store, OWNER, 1, 1), 0);
    assert_int_equal(p->n, 1);
    assert_int_equal(p->policies[0].lease, 45);
    jobs_job_page_free(p);
    /* Past the end: no jobs, no settings. */
    assert_int_equal(jobs_list(&p, fx->store, OWNER, 9, 10), 0);
    assert_int_equal(p->n, 0);
    assert_null(p->policies);
    jobs_job_page_free(p);
}

/* Makes the store look as one written before runs: no run databases, no run id counter. */
static void drop_runs(const char *path)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    MDB_val key = {8, "next.run"};

    assert_int_equal(mdb_env_create(&env), 0);
    assert_int_equal(mdb_env_set_maxdbs(env, 64), 0);
    assert_int_equal(mdb_env_open(env, path, 0, 0600), 0);
    assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
    assert_int_equal(mdb_dbi_open(txn, "runs", 0, &dbi), 0);
    assert_int_equal(mdb_drop(txn, dbi, 1), 0);
    assert_int_equal(mdb_dbi_open(txn, "run_index", 0, &dbi), 0);
    assert_int_equal(mdb_drop(txn, dbi, 1), 0);
    assert_int_equal(mdb_dbi_open(txn, "meta", 0, &dbi), 0);
    int rc = mdb_del(txn, dbi, &key, NULL);
    assert_true(rc == 0 || rc == MDB_NOTFOUND);
    assert_int_equal(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
}

static void test_a_store_written_before_runs_opens_unchanged(void **state)
{
    fixture *fx = *state;
    FX_LMDB_ONLY(); /* LMDB: drops LMDB databases (test_postgres migrates a v2 store) */
    uint64_t job = fx_job(fx, OWNER, "old", fx_stack(fx, OWNER, false), FX_EVERY_MINUTE, true);
    jobs_job *before = fx_get(fx, OWNER, job), *after;
    jobs_run_page *p = NULL;
    fx_events ev;

    fx_close(fx);
    drop_runs(fx->path);

    /* Read-only: everything as it was, and no runs. */
    fx->opts.flags = JOBS_STORE_READONLY;
    fx_open(fx);
    after = fx_get(fx, OWNER, job);
    fx_assert_job_equal(before, after);
    assert_int_equal(after->etag, before->etag);
    jobs_job_free(after);
    assert_int_equal(jobs_run_list(&p, fx->store, OWNER, job, 1, 10), 0);
    assert_int_equal(p->count, 0);
    jobs_run_page_free(p);
    assert_consistent(fx);
    fx_close(fx);

    /* Read-write: the run databases are made, and the job runs. */
    fx->opts.flags = 0;
    fx_open(fx);
    after = fx_get(fx, OWNER, job);
    assert_int_equal(after->etag, before->etag);
    jobs_job_free(after);
    assert_consistent(fx);
    fx_tick(fx, FX_T0 + 60, &ev);
    assert_int_equal(ev.n, 1);
    assert_int_equal(ev.ev[0].run, 1);
    assert_int_equal(jobs_run_list(&p, fx->store, OWNER, job, 1, 10), 0);
    assert_int_equal(p->count, 1);
    jobs_run_page_free(p);
    assert_consistent(fx);
    jobs_job_free(before);
}

static void test_check_finds_a_run_without_its_queue_entry(void **state)
{
    fixture *fx = *state;
    FX_LMDB_ONLY(); /* LMDB: damages LMDB keys (test_postgres damages the run table) */
    uint64_t job = policy_job(fx, 3600, 0, 0, 0, 0, 0, 0);
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    MDB_cursor *cur;
    MDB_val k, v;
    unsigned char q = 'q';

    assert_int_equal(jobs_run_now(NULL, fx->store, OWNER, job), 0);
    assert_consistent(fx);
    fx_close(fx);
    assert_int_equal(mdb_env_create(&env), 0);
    assert_int_equal(mdb_env_set_maxdbs(env, 64), 0);
    assert_int_equal(mdb_env_open(env, fx->path, 0, 0600), 0);
    assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
    assert_int_equal(mdb_dbi_open(txn, "run_index", 0, &dbi), 0);
    assert_int_equal(mdb_cursor_open(txn, dbi, &cur), 0);
    k.mv_size = 1;
    k.mv_data = &q;
    assert_int_equal(mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE), 0);
    assert_int_equal(((unsigned char *)k.mv_data)[0], 'q');
    assert_int_equal(mdb_cursor_del(cur, 0), 0);
    mdb_cursor_close(cur);
    assert_int_equal(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
    fx_open(fx);
    assert_int_equal(jobs_store_check(fx->store), JOBS_ECORRUPT);
    assert_non_null(strstr(jobs_error_last(), "run"));
}

/* A cron job's missed slots go through the same policies (stepped with the tick's one "next
 * slot after t" function, which knows cron). */
static void test_misfire_policies_apply_to_cron_jobs(void **state)
{
    fixture *fx = *state;
    jobs_schedule_spec sc = JOBS_SCHEDULE_SPEC_INIT;
    jobs_job_spec spec = JOBS_JOB_SPEC_INIT;
    uint64_t cron = 0, coalesce = 0, catch_up = 0;
    const int64_t first = FX_T0 + 100; /* 22:15:00Z, the first 5-minute slot after FX_T0 */
    fx_events ev;

    sc.fields = JOBS_SCHEDULE_KIND | JOBS_SCHEDULE_CONFIG;
    sc.kind = JOBS_SCHEDULE_CRON;
    sc.cron = "*/5 * * * *";
    sc.tz = "UTC";
    assert_int_equal(jobs_schedule_create(&cron, fx->store, OWNER, &sc), 0);
    spec.fields = JOBS_JOB_STACK | JOBS_JOB_SCHEDULE | JOBS_JOB_ENABLED;
    spec.stack = fx_stack(fx, OWNER, false);
    spec.schedule = cron;
    spec.enabled = true;
    assert_int_equal(jobs_create(&coalesce, fx->store, OWNER, &spec), 0);
    spec.fields |= JOBS_JOB_MISFIRE;
    spec.misfire = JOBS_MISFIRE_CATCH_UP;
    spec.misfire_value = 3;
    assert_int_equal(jobs_create(&catch_up, fx->store, OWNER, &spec), 0);

    /* An hour down: thirteen slots due, 22:15 to 23:15. */
    fx_tick(fx, first + 3600, &ev);
    assert_int_equal(ev.n, 4);
    assert_int_equal(ev.ev[0].job, coalesce);
    assert_int_equal(ev.ev[0].slot, first);
    assert_int_equal(ev.ev[0].missed, 12);
    for (int i = 1; i < 4; i++) {
        assert_int_equal(ev.ev[i].job, catch_up);
        assert_int_equal(ev.ev[i].slot, first + 3600 - 300 * (3 - i));
    }
    jobs_run *r = run_of(fx, ev.ev[0].run);
    assert_int_equal(r->missed_since, first + 300);
    jobs_run_free(r);
    jobs_run_page *p = history(fx, catch_up);
    assert_int_equal(p->count, 4);
    assert_int_equal(p->runs[3]->state, JOBS_RUN_SKIPPED);
    assert_int_equal(p->runs[3]->missed, 10);
    assert_int_equal(p->runs[3]->missed_since, first);
    jobs_run_page_free(p);
    jobs_job *j = fx_get(fx, OWNER, coalesce);
    assert_int_equal(j->next_run, first + 3900);
    jobs_job_free(j);
    assert_consistent(fx);
}

static uint64_t cron_job(fixture *fx, const char *expr, jobs_misfire misfire, uint32_t value)
{
    jobs_schedule_spec sc = JOBS_SCHEDULE_SPEC_INIT;
    uint64_t schedule;

    sc.fields = JOBS_SCHEDULE_KIND | JOBS_SCHEDULE_CONFIG;
    sc.kind = JOBS_SCHEDULE_CRON;
    sc.cron = expr;
    sc.tz = "UTC";
    assert_int_equal(jobs_schedule_create(&schedule, fx->store, OWNER, &sc), 0);
    return policy_job_on(fx, schedule, misfire ? JOBS_JOB_MISFIRE : 0u, JOBS_DELIVERY_AT_MOST_ONCE,
                         0, 0, misfire, value);
}

/* After more missed cron slots than a tick steps through (1,000), skip and catch-up still act
 * on the latest slots: skip runs the last one within its grace, catch-up the latest N. They
 * once took the 1,000th slot of the outage for the latest. */
static void test_misfire_after_a_long_outage_acts_on_the_latest_cron_slots(void **state)
{
    fixture *fx = *state;
    const int64_t first = FX_T0 + 100, now = first + 2000 * 300; /* 2,001 slots, now one */
    uint64_t skip = cron_job(fx, "*/5 * * * *", JOBS_MISFIRE_SKIP, 120);
    uint64_t catch_up = cron_job(fx, "*/5 * * * *", JOBS_MISFIRE_CATCH_UP, 3);
    /* Every minute of the 1st to the 15th: from the 21st, the latest three are the 15th's last
     * minutes, with six days of none after them and over a thousand before. */
    uint64_t sparse = cron_job(fx, "* * 1-15 * *", JOBS_MISFIRE_CATCH_UP, 3);
    const int64_t nov16 = 1700092800; /* 2023-11-16 00:00 UTC; `now` is the 21st, 21:55 */
    size_t got = 0;
    fx_events ev;

    size_t skips = 0, catches = 0;

    fx_tick(fx, now, &ev);
    assert_int_equal(ev.n, 7);
    for (size_t i = 0; i < ev.n; i++) {
        /* Each job's runs in slot order; the jobs in due order (the sparse one first). */
        if (ev.ev[i].job == skip && ++skips)
            assert_int_equal(ev.ev[i].slot, now);
        else if (ev.ev[i].job == catch_up)
            assert_int_equal(ev.ev[i].slot, now - 300 * (2 - (int64_t)catches++));
        else if (ev.ev[i].job == sparse)
            assert_int_equal(ev.ev[i].slot, nov16 - 60 * (3 - (int64_t)got++));
        else
            fail();
    }
    assert_true(skips == 1 && catches == 3 && got == 3);
    jobs_job *j = fx_get(fx, OWNER, sparse);
    assert_int_equal(j->next_run, nov16 + 15 * 86400); /* December 1st, 00:00 */
    jobs_job_free(j);
    jobs_run_page *p = history(fx, skip);
    assert_int_equal(p->count, 2);
    assert_int_equal(p->runs[1]->state, JOBS_RUN_SKIPPED);
    assert_true(p->runs[1]->missed >= 999);
    assert_non_null(strstr(p->runs[1]->message, "at least"));
    jobs_run_page_free(p);
    p = history(fx, catch_up);
    assert_int_equal(p->count, 4);
    assert_int_equal(p->runs[3]->state, JOBS_RUN_SKIPPED);
    assert_non_null(strstr(p->runs[3]->message, "at least"));
    jobs_run_page_free(p);

    assert_consistent(fx);
}

/* jobs_store_options as version 2 declared it (before run_history), and stat info version 1
 * (before the run counts): both still work, and an older caller's memory is not overrun. */
typedef struct options_v2 {
    unsigned int version;
    const char *path;
    uint32_t page_size;
    jobs_clock_fn clock;
    void *clock_ctx;
    unsigned int flags;
    const jobs_options_lmdb *lmdb;
} options_v2;

static void test_older_options_and_stat_versions_still_work(void **state)
{
    fixture *fx = *state;
    options_v2 o = {2, fx->path, 0, fx->opts.clock, fx->opts.clock_ctx, 0, &fx->lmdb};
    jobs_store *s = NULL;
    jobs_store_stat_info st;

    fx_close(fx);
    assert_int_equal(jobs_store_open(&s, (const jobs_store_options *)&o), 0);
    memset(&st, 0xab, sizeof st);
    st.version = 1;
    assert_int_equal(jobs_store_stat(&st, s), 0);
    assert_int_equal(st.version, 1);
    assert_int_equal(st.schedules, 5);
    /* The fields version 1 does not have are left as the caller had them. */
    assert_int_equal(st.runs, 0xabababababababab);
    assert_int_equal(st.runs_queued, 0xabababababababab);
    jobs_store_close(s);
    fx->opts.run_history = JOBS_RUN_HISTORY_MAX + 1;
    assert_int_equal(fx_try_open(fx), JOBS_EINVAL);
}

/* Runs in flight at the old end of a history do not stop the sweep: the finished runs behind
 * them still go, so the history holds the runs in flight and the newest `run_history` (the
 * sweep once looked only at the oldest 16 runs past the limit, and with those all running it
 * removed nothing, so the history grew by every run while they ran). */
static void test_runs_in_flight_at_the_old_end_do_not_stop_the_sweep(void **state)
{
    fixture *fx = *state;
    fx->opts.run_history = 3;
    fx_open(fx);
    uint64_t job = policy_job(fx, 60, JOBS_JOB_DELIVERY | JOBS_JOB_LEASE,
                              JOBS_DELIVERY_AT_LEAST_ONCE, JOBS_LEASE_MAX, 0, 0, 0);
    uint64_t stuck[20];
    fx_events ev;
    int64_t t = FX_T0;

    /* Twenty runs that nobody finishes (their host hangs): they are running for a week. */
    for (int i = 0; i < 20; i++) {
        t += 60;
        fx_tick(fx, t, &ev);
        assert_int_equal(ev.n, 1);
        stuck[i] = ev.ev[0].run;
    }
    /* Then forty that end at once. */
    for (int i = 0; i < 40; i++) {
        t += 60;
        fx_tick(fx, t, &ev);
        assert_int_equal(ev.n, 1);
        assert_int_equal(jobs_run_finish(fx->store, OWNER, ev.ev[0].run, true, NULL), 0);
    }
    jobs_run_page *p = history(fx, job);
    assert_int_equal(p->count, 20 + 3);
    assert_int_equal(p->runs[0]->id, ev.ev[0].run);
    for (size_t i = 3; i < p->n; i++)
        assert_int_equal(p->runs[i]->id, stuck[22 - i]);
    jobs_run_page_free(p);
    for (int i = 0; i < 20; i++) {
        jobs_run *r = run_of(fx, stuck[i]);
        assert_int_equal(r->state, JOBS_RUN_RUNNING);
        jobs_run_free(r);
    }
    assert_consistent(fx);
}

/* Skip with a grace of 0 runs a slot only when the tick's now is the slot itself; a tick one
 * second later skips it. A skipped record is not a run to finish (JOBS_ERUNSTATE, unchanged). */
static void test_skip_without_grace_runs_only_a_slot_ticked_on_time(void **state)
{
    fixture *fx = *state;
    uint64_t job = policy_job(fx, 60, JOBS_JOB_MISFIRE, 0, 0, 0, JOBS_MISFIRE_SKIP, 0);
    fx_events ev;

    fx_tick(fx, FX_T0 + 60, &ev);
    assert_int_equal(ev.n, 1);
    assert_int_equal(ev.ev[0].slot, FX_T0 + 60);
    fx_tick(fx, FX_T0 + 121, &ev);
    assert_int_equal(ev.n, 0);
    jobs_run_page *p = history(fx, job);
    assert_int_equal(p->count, 2);
    uint64_t skipped = p->runs[0]->id;
    assert_int_equal(p->runs[0]->state, JOBS_RUN_SKIPPED);
    assert_int_equal(p->runs[0]->missed, 1);
    assert_int_equal(p->runs[0]->missed_since, FX_T0 + 120);
    assert_string_equal(p->runs[0]->message,
                        "1 slot(s) missed by more than the grace of 0 s: not run");
    jobs_run_page_free(p);
    jobs_job *j = fx_get(fx, OWNER, job);
    assert_int_equal(j->next_run, FX_T0 + 180);
    jobs_job_free(j);

    assert_int_equal(jobs_run_finish(fx->store, OWNER, skipped, true, "ran"), JOBS_ERUNSTATE);
    jobs_run *r = run_of(fx, skipped);
    assert_int_equal(r->state, JOBS_RUN_SKIPPED);
    assert_int_equal(r->finished, FX_T0 + 121);
    assert_string_equal(r->message, "1 slot(s) missed by more than the grace of 0 s: not run");
    jobs_run_free(r);
    assert_consistent(fx);
}

/* A one-time job is one slot to the misfire policies: under skip it runs when found within its
 * grace and is skipped when found later; under catch-up it runs once. Either way it is done. */
static void test_misfire_policies_treat_a_one_time_job_as_one_slot(void **state)
{
    fixture *fx = *state;
    const int64_t at = FX_T0 + 100;
    uint64_t once = fx_once(fx, OWNER, at);
    uint64_t late = policy_job_on(fx, once, JOBS_JOB_MISFIRE, 0, 0, 0, JOBS_MISFIRE_SKIP, 30);
    fx_events ev;

    fx_tick(fx, at + 31, &ev); /* 31 s late: past the grace */
    assert_int_equal(ev.n, 0);
    jobs_run_page *p = history(fx, late);
    assert_int_equal(p->count, 1);
    assert_int_equal(p->runs[0]->state, JOBS_RUN_SKIPPED);
    assert_int_equal(p->runs[0]->slot, at);
    assert_int_equal(p->runs[0]->missed, 1);
    assert_int_equal(p->runs[0]->missed_since, at);
    jobs_run_page_free(p);
    jobs_job *j = fx_get(fx, OWNER, late);
    assert_false(j->do_run);
    jobs_job_free(j);

    uint64_t in_time = policy_job_on(fx, fx_once(fx, OWNER, at + 1000), JOBS_JOB_MISFIRE, 0, 0,
                                     0, JOBS_MISFIRE_SKIP, 30);
    uint64_t caught = policy_job_on(fx, fx_once(fx, OWNER, at + 1000), JOBS_JOB_MISFIRE, 0, 0,
                                    0, JOBS_MISFIRE_CATCH_UP, 5);
    fx_tick(fx, at + 1030, &ev); /* 30 s late: within the grace */
    assert_int_equal(ev.n, 2);
    for (size_t i = 0; i < ev.n; i++) {
        assert_true(ev.ev[i].job == in_time || ev.ev[i].job == caught);
        assert_int_equal(ev.ev[i].slot, at + 1000);
        assert_int_equal(ev.ev[i].missed, 0);
    }
    assert_true(ev.ev[0].job != ev.ev[1].job);
    uint64_t jobs2[] = {in_time, caught};
    for (size_t i = 0; i < 2; i++) {
        p = history(fx, jobs2[i]);
        assert_int_equal(p->count, 1);
        assert_int_equal(p->runs[0]->state, JOBS_RUN_DELIVERED);
        jobs_run_page_free(p);
        j = fx_get(fx, OWNER, jobs2[i]);
        assert_false(j->do_run);
        jobs_job_free(j);
    }
    fx_tick(fx, at + 100000, &ev);
    assert_int_equal(ev.n, 0);
    assert_consistent(fx);
}

/* A lowered run_history is reached over the next runs, at most 16 of the oldest going per new
 * run, and only in the histories that get new runs; a pending run is never swept, and a swept
 * delivered run's finish is JOBS_ENOTFOUND (docs/runs.md, "History"). */
static void test_a_lowered_history_limit_is_reached_sixteen_runs_a_run(void **state)
{
    fixture *fx = *state;
    fx_open(fx);
    uint64_t job = policy_job(fx, 60, 0, 0, 0, 0, 0, 0);
    uint64_t idle = policy_job(fx, 60, 0, 0, 0, 0, 0, 0);
    jobs_job_spec off = JOBS_JOB_SPEC_INIT;
    jobs_store_stat_info st = JOBS_STORE_STAT_INFO_INIT;
    uint64_t first = 0, pending = 0;
    fx_events ev;
    int64_t t = FX_T0;

    assert_int_equal(jobs_run_now(&pending, fx->store, OWNER, job), 0);
    for (int i = 0; i < 40; i++) {
        t += 60;
        fx_tick(fx, t, &ev);
        assert_int_equal(ev.n, i == 0 ? 3 : 2);
        for (size_t k = 0; !first && k < ev.n; k++)
            if (ev.ev[k].job == job && ev.ev[k].trigger == JOBS_TRIGGER_SCHEDULE)
                first = ev.ev[k].run;
    }
    /* The manual run was delivered by the first tick: make another that stays pending. */
    fx_set_time(fx, t + 1000000);
    assert_int_equal(jobs_run_now(&pending, fx->store, OWNER, job), 0);
    off.fields = JOBS_JOB_ENABLED;
    assert_int_equal(jobs_update(NULL, fx->store, OWNER, idle, &off), 0);
    fx_close(fx);
    fx->opts.run_history = 5;
    fx_open(fx);

    /* 42 runs (one pending, newest but one), then one more a tick: 16 go, then 16, then the
     * rest beyond the newest five, the pending one among them. */
    const uint64_t expect[] = {43 - 16, 28 - 16, 5};
    for (int i = 0; i < 3; i++) {
        t += 60;
        fx_tick(fx, t, &ev);
        assert_int_equal(ev.n, 1);
        jobs_run_page *p = history(fx, job);
        assert_int_equal(p->count, expect[i]);
        jobs_run_page_free(p);
        p = history(fx, idle);
        assert_int_equal(p->count, 40); /* no new runs: not trimmed */
        jobs_run_page_free(p);
    }
    jobs_run *r = run_of(fx, pending);
    assert_int_equal(r->state, JOBS_RUN_PENDING);
    jobs_run_free(r);
    assert_int_equal(jobs_run_finish(fx->store, OWNER, first, true, NULL), JOBS_ENOTFOUND);
    assert_int_equal(jobs_store_stat(&st, fx->store), 0);
    assert_int_equal(st.runs, 5 + 40);
    assert_int_equal(st.runs_queued, 1);
    assert_consistent(fx);
}

/* A tick's limit bounds its due jobs and, apart from them, its queued runs. */
static void test_a_tick_takes_at_most_limit_queued_runs_besides_its_jobs(void **state)
{
    fixture *fx = *state;
    uint64_t job = policy_job(fx, 60, 0, 0, 0, 0, 0, 0);
    uint64_t runs[3];
    fx_events ev;
    size_t n = 0;

    for (int i = 0; i < 3; i++)
        assert_int_equal(jobs_run_now(&runs[i], fx->store, OWNER, job), 0);
    memset(&ev, 0, sizeof(ev));
    assert_int_equal(jobs_scheduler_tick(&n, fx->store, FX_T0 + 60, 2, fx_record_event, &ev), 0);
    assert_int_equal(n, 3);
    assert_int_equal(ev.n, 3);
    assert_int_equal(ev.ev[0].trigger, JOBS_TRIGGER_SCHEDULE);
    assert_int_equal(ev.ev[1].run, runs[0]);
    assert_int_equal(ev.ev[2].run, runs[1]);
    int64_t next = 0;
    assert_int_equal(jobs_scheduler_next_run(&next, fx->store), 0);
    assert_true(next <= FX_T0 + 60);
    memset(&ev, 0, sizeof(ev));
    assert_int_equal(jobs_scheduler_tick(&n, fx->store, FX_T0 + 60, 2, fx_record_event, &ev), 0);
    assert_int_equal(ev.n, 1);
    assert_int_equal(ev.ev[0].run, runs[2]);
    assert_int_equal(ev.ev[0].trigger, JOBS_TRIGGER_MANUAL);
}

/* A manual run of an at-least-once job is delivered under a lease as a scheduled one is, and
 * with max_attempts 1 it is lost when that one lease ends. */
static void test_a_manual_run_of_an_at_least_once_job_is_leased(void **state)
{
    fixture *fx = *state;
    uint64_t job = policy_job(fx, 3600, JOBS_JOB_DELIVERY | JOBS_JOB_LEASE |
                              JOBS_JOB_MAX_ATTEMPTS, JOBS_DELIVERY_AT_LEAST_ONCE, 20, 1, 0, 0);
    uint64_t run = 0;
    fx_events ev;

    assert_int_equal(jobs_run_now(&run, fx->store, OWNER, job), 0);
    fx_tick(fx, FX_T0 + 10, &ev);
    assert_int_equal(ev.n, 1);
    assert_int_equal(ev.ev[0].run, run);
    assert_int_equal(ev.ev[0].delivery, JOBS_DELIVERY_AT_LEAST_ONCE);
    assert_int_equal(ev.ev[0].lease_until, FX_T0 + 30);
    jobs_run *r = run_of(fx, run);
    assert_int_equal(r->state, JOBS_RUN_RUNNING);
    assert_int_equal(r->lease_until, FX_T0 + 30);
    jobs_run_free(r);
    fx_tick(fx, FX_T0 + 30, &ev);
    assert_int_equal(ev.n, 0);
    r = run_of(fx, run);
    assert_int_equal(r->state, JOBS_RUN_LOST);
    assert_int_equal(r->attempt, 1);
    assert_string_equal(r->message, "lost: the lease ended unfinished on each of 1 attempt(s)");
    jobs_run_free(r);
    assert_consistent(fx);
}

/* A coalesced run's `missed` says how many more slots were due. Past the 1,000 steps a tick
 * walks for a cron job it is a lower bound, and it must not fall below what the walk saw: the
 * walk knows 1,001 due slots, so 1,000 more (it answered 999, the same as for exactly 1,000 due
 * slots, so a host could not tell an outage of any length from that one). Skip's earlier slots
 * likewise. */
static void test_a_long_cron_outage_counts_every_slot_the_walk_saw(void **state)
{
    fixture *fx = *state;
    const int64_t first = FX_T0 + 100; /* 22:15:00Z, the first 5-minute slot after FX_T0 */
    uint64_t job = cron_job(fx, "*/5 * * * *", JOBS_MISFIRE_COALESCE, 0);
    fx_events ev;

    fx_tick(fx, first + 999 * 300, &ev); /* exactly 1,000 slots due: counted exactly */
    assert_int_equal(ev.n, 1);
    assert_int_equal(ev.ev[0].missed, 999);
    int64_t next = first + 1000 * 300;
    uint64_t skip = cron_job(fx, "*/5 * * * *", JOBS_MISFIRE_SKIP, 60);
    fx_tick(fx, next + 2000 * 300, &ev); /* 2,001 slots due for both */
    assert_int_equal(ev.n, 2);
    for (size_t i = 0; i < ev.n; i++) {
        if (ev.ev[i].job == job) {
            assert_int_equal(ev.ev[i].slot, next);
            assert_int_equal(ev.ev[i].missed, 1000);
            jobs_run *r = run_of(fx, ev.ev[i].run);
            assert_int_equal(r->missed, 1000);
            assert_int_equal(r->missed_since, next + 300);
            jobs_run_free(r);
        } else {
            assert_int_equal(ev.ev[i].job, skip);
            assert_int_equal(ev.ev[i].slot, next + 2000 * 300);
        }
    }
    jobs_run_page *p = history(fx, skip);
    assert_int_equal(p->count, 2);
    assert_int_equal(p->runs[1]->state, JOBS_RUN_SKIPPED);
    assert_int_equal(p->runs[1]->missed, 1000);
    assert_string_equal(p->runs[1]->message, "at least 1000 earlier slot(s) not run: skip runs "
                                             "only the latest due slot (within the grace of "
                                             "60 s)");
    jobs_run_page_free(p);
    assert_consistent(fx);
}

/* The tick that reaches a queued-for-deletion job's slot deletes it with its history, and the
 * runs of it that are due in that same tick (a pending manual run, an at-least-once run whose
 * lease ended) go with it: one JOBS_EVENT_DELETED, no run delivered. */
static void test_runs_due_in_the_tick_that_deletes_their_job_go_with_it(void **state)
{
    fixture *fx = *state;
    uint64_t job = policy_job(fx, 3600, JOBS_JOB_DELIVERY | JOBS_JOB_LEASE,
                              JOBS_DELIVERY_AT_LEAST_ONCE, 60, 0, 0, 0);
    uint64_t keep = policy_job(fx, 86400, 0, 0, 0, 0, 0, 0);
    int64_t slot = FX_T0 + 3600;
    jobs_delete_outcome out = 0;
    jobs_store_stat_info st = JOBS_STORE_STAT_INFO_INIT;
    uint64_t manual = 0, kept = 0;
    fx_events ev;

    fx_tick(fx, slot, &ev);
    assert_int_equal(ev.n, 1);
    uint64_t leased = ev.ev[0].run;
    assert_int_equal(jobs_run_now(&kept, fx->store, OWNER, keep), 0);
    fx_set_time(fx, slot + 3000);
    assert_int_equal(jobs_run_now(&manual, fx->store, OWNER, job), 0);
    assert_int_equal(jobs_delete(&out, fx->store, OWNER, job), 0);
    assert_int_equal(out, JOBS_QUEUED_FOR_DELETION);

    fx_tick(fx, slot + 3600, &ev); /* the slot; the lease ended long ago, the manual run waits */
    assert_int_equal(ev.n, 2);
    assert_int_equal(ev.ev[0].type, JOBS_EVENT_DELETED);
    assert_int_equal(ev.ev[0].job, job);
    assert_int_equal(ev.ev[0].run, 0);
    assert_int_equal(ev.ev[1].type, JOBS_EVENT_RUN); /* another job's run is delivered */
    assert_int_equal(ev.ev[1].run, kept);
    jobs_run *r = NULL;
    assert_int_equal(jobs_run_get(&r, fx->store, OWNER, leased), JOBS_ENOTFOUND);
    assert_int_equal(jobs_run_get(&r, fx->store, OWNER, manual), JOBS_ENOTFOUND);
    jobs_job *gone = NULL;
    assert_int_equal(jobs_get(&gone, fx->store, OWNER, job), JOBS_ENOTFOUND);
    assert_null(gone);
    assert_int_equal(jobs_store_stat(&st, fx->store), 0);
    assert_int_equal(st.runs, 1);
    assert_int_equal(st.runs_queued, 0);
    int64_t next = 0;
    assert_int_equal(jobs_scheduler_next_run(&next, fx->store), 0);
    assert_int_equal(next, FX_T0 + 86400);
    assert_consistent(fx);
}

/* The policy bounds of run.h are inclusive: each largest value is taken and read back, one more
 * is JOBS_EINVAL and changes nothing; 0 gives the lease and attempts their defaults; a catch-up
 * at its bound makes its N + 1 records. */
static void test_policy_bounds_take_their_largest_value(void **state)
{
    fixture *fx = *state;
    uint64_t job = policy_job(fx, 60, 0, 0, 0, 0, 0, 0);
    struct {
        unsigned fields;
        jobs_misfire misfire;
        uint32_t lease, attempts, value;
    } cases[] = {
        {JOBS_JOB_LEASE, 0, JOBS_LEASE_MAX, 0, 0},
        {JOBS_JOB_MAX_ATTEMPTS, 0, 0, JOBS_MAX_ATTEMPTS_MAX, 0},
        {JOBS_JOB_MISFIRE, JOBS_MISFIRE_SKIP, 0, 0, JOBS_GRACE_MAX},
        {JOBS_JOB_MISFIRE, JOBS_MISFIRE_CATCH_UP, 0, 0, JOBS_CATCH_UP_MAX},
    };
    jobs_job_policy pol = JOBS_JOB_POLICY_INIT;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        jobs_job_spec spec = JOBS_JOB_SPEC_INIT;

        spec.fields = cases[i].fields;
        spec.lease = cases[i].lease;
        spec.max_attempts = cases[i].attempts;
        spec.misfire = cases[i].misfire;
        spec.misfire_value = cases[i].value;
        assert_int_equal(jobs_update(NULL, fx->store, OWNER, job, &spec), 0);
        jobs_job *before = fx_get(fx, OWNER, job);
        spec.lease += spec.lease ? 1 : 0;
        spec.max_attempts += spec.max_attempts ? 1 : 0;
        spec.misfire_value += spec.misfire_value ? 1 : 0;
        assert_int_equal(jobs_update(NULL, fx->store, OWNER, job, &spec), JOBS_EINVAL);
        jobs_job *after = fx_get(fx, OWNER, job);
        assert_int_equal(after->etag, before->etag);
        jobs_job_free(after);
        jobs_job_free(before);
    }
    assert_int_equal(jobs_job_policy_get(&pol, fx->store, OWNER, job), 0);
    assert_int_equal(pol.lease, JOBS_LEASE_MAX);
    assert_int_equal(pol.max_attempts, JOBS_MAX_ATTEMPTS_MAX);
    assert_int_equal(pol.misfire, JOBS_MISFIRE_CATCH_UP);
    assert_int_equal(pol.misfire_value, JOBS_CATCH_UP_MAX);

    jobs_job_spec zero = JOBS_JOB_SPEC_INIT;
    zero.fields = JOBS_JOB_LEASE | JOBS_JOB_MAX_ATTEMPTS;
    assert_int_equal(jobs_update(NULL, fx->store, OWNER, job, &zero), 0);
    assert_int_equal(jobs_job_policy_get(&pol, fx->store, OWNER, job), 0);
    assert_int_equal(pol.lease, JOBS_LEASE_DEFAULT);
    assert_int_equal(pol.max_attempts, JOBS_MAX_ATTEMPTS_DEFAULT);

    /* Catch-up at its bound after 150 missed slots: 100 runs and one skipped record (N + 1),
     * all kept past the default history of 100 by the tick that made them. */
    fx_events ev;
    fx_tick(fx, FX_T0 + 150 * 60, &ev);
    assert_int_equal(ev.n, JOBS_CATCH_UP_MAX);
    assert_int_equal(ev.ev[0].slot, FX_T0 + 51 * 60);
    assert_int_equal(ev.ev[JOBS_CATCH_UP_MAX - 1].slot, FX_T0 + 150 * 60);
    jobs_run_page *p = NULL;
    assert_int_equal(jobs_run_list(&p, fx->store, OWNER, job, 1, 200), 0);
    assert_int_equal(p->count, JOBS_CATCH_UP_MAX + 1);
    assert_int_equal(p->n, JOBS_CATCH_UP_MAX + 1);
    assert_int_equal(p->runs[JOBS_CATCH_UP_MAX]->state, JOBS_RUN_SKIPPED);
    assert_int_equal(p->runs[JOBS_CATCH_UP_MAX]->missed, 50);
    assert_int_equal(p->runs[JOBS_CATCH_UP_MAX]->missed_since, FX_T0 + 60);
    jobs_run_page_free(p);
    assert_consistent(fx);
}

#define T(f) cmocka_unit_test_setup_teardown(f, fx_setup, fx_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_a_tick_records_the_run_and_the_event_names_it),
        T(test_downtime_is_coalesced_into_one_run_with_the_count),
        T(test_skip_records_old_slots_and_runs_the_last_within_the_grace),
        T(test_skip_does_not_say_slots_within_the_grace_were_past_it),
        T(test_catch_up_runs_each_missed_slot_up_to_its_bound),
        T(test_a_lease_that_ends_redelivers_then_loses_the_run),
        T(test_a_finish_after_redelivery_ends_the_run_once),
        T(test_a_clock_that_goes_back_runs_no_slot_twice),
        T(test_runs_a_stopped_callback_was_not_told_of),
        T(test_a_redelivery_runs_the_runs_own_stack),
        T(test_next_run_counts_queued_runs),
        T(test_run_now_is_delivered_by_the_next_tick_as_manual),
        T(test_a_started_stack_run_is_delivered_to_the_caller_not_to_a_tick),
        cmocka_unit_test_setup_teardown(test_history_keeps_the_last_n_newest_first_in_pages,
                                        fx_setup_closed, fx_teardown),
        cmocka_unit_test_setup_teardown(test_my_runs_of_a_stack_made_private_are_listed,
                                        fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_other_owners_runs_of_a_public_stack_leave_mine,
                                        fx_setup_closed, fx_teardown),
        cmocka_unit_test_setup_teardown(test_a_tick_does_not_sweep_the_runs_it_delivers,
                                        fx_setup_closed, fx_teardown),
        cmocka_unit_test_setup_teardown(test_runs_in_flight_at_the_old_end_do_not_stop_the_sweep,
                                        fx_setup_closed, fx_teardown),
        T(test_a_long_finish_message_is_cut_between_characters),
        T(test_deleting_a_job_deletes_its_history),
        T(test_policy_is_kept_checked_and_reported),
        T(test_a_page_carries_each_jobs_settings),
        T(test_a_store_written_before_runs_opens_unchanged),
        T(test_check_finds_a_run_without_its_queue_entry),
        T(test_older_options_and_stat_versions_still_work),
        T(test_misfire_policies_apply_to_cron_jobs),
        T(test_misfire_after_a_long_outage_acts_on_the_latest_cron_slots),
        T(test_skip_without_grace_runs_only_a_slot_ticked_on_time),
        T(test_misfire_policies_treat_a_one_time_job_as_one_slot),
        cmocka_unit_test_setup_teardown(test_a_lowered_history_limit_is_reached_sixteen_runs_a_run,
                                        fx_setup_closed, fx_teardown),
        T(test_a_tick_takes_at_most_limit_queued_runs_besides_its_jobs),
        T(test_a_manual_run_of_an_at_least_once_job_is_leased),
        T(test_a_long_cron_outage_counts_every_slot_the_walk_saw),
        T(test_runs_due_in_the_tick_that_deletes_their_job_go_with_it),
        T(test_policy_bounds_take_their_largest_value),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
