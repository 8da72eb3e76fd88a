/* Per-owner isolation: another owner's jobs, schedules and stacks answer exactly as missing ones. */
#include "fixture.h"

#define A 1
#define B 2
#define MISSING ((uint64_t)900000)

typedef struct world {
    fixture *fx;
    uint64_t a_stack;        /* A's private stack */
    uint64_t a_public_stack; /* A's public stack */
    uint64_t a_schedule;     /* A's private schedule */
    uint64_t a_job;          /* A's job "shared-name", active */
    uint64_t b_stack;        /* B's private stack */
} world;

static world make_world(fixture *fx)
{
    world w;
    w.fx = fx;
    w.a_stack = fx_stack(fx, A, false);
    w.a_public_stack = fx_stack(fx, A, true);
    w.a_schedule = fx_periodic(fx, A, 120);
    w.a_job = fx_job(fx, A, "shared-name", w.a_stack, w.a_schedule, true);
    w.b_stack = fx_stack(fx, B, false);
    return w;
}

static void assert_a_job_untouched(const world *w)
{
    jobs_job *job = fx_get(w->fx, A, w->a_job);
    assert_string_equal(job->name, "shared-name");
    assert_int_equal(job->stack, w->a_stack);
    assert_int_equal(job->schedule, w->a_schedule);
    assert_true(job->do_run);
    assert_false(job->do_del);
    assert_int_equal(job->next_run, FX_T0 + 120);
    jobs_job_free(job);
}

static void test_other_owners_job_get_answers_as_missing(void **state)
{
    world w = make_world(*state);
    jobs_job *job = NULL;
    int missing = jobs_get(&job, w.fx->store, B, MISSING);
    assert_int_equal(missing, JOBS_ENOTFOUND);
    assert_int_equal(jobs_get(&job, w.fx->store, B, w.a_job), missing);
    assert_null(job);
}

static void test_other_owners_job_get_by_name_answers_as_missing(void **state)
{
    world w = make_world(*state);
    jobs_job *job = NULL;
    int missing = jobs_get_by_name(&job, w.fx->store, B, "no-such-name");
    assert_int_equal(missing, JOBS_ENOTFOUND);
    assert_int_equal(jobs_get_by_name(&job, w.fx->store, B, "shared-name"), missing);
    assert_null(job);
}

static void test_other_owners_job_update_answers_as_missing(void **state)
{
    world w = make_world(*state);
    jobs_job_spec change = JOBS_JOB_SPEC_INIT;
    change.fields = JOBS_JOB_ENABLED | JOBS_JOB_NAME;
    change.enabled = false;
    change.name = "stolen";
    int missing = jobs_update(NULL, w.fx->store, B, MISSING, &change);
    assert_int_equal(missing, JOBS_ENOTFOUND);
    assert_int_equal(jobs_update(NULL, w.fx->store, B, w.a_job, &change), missing);
    jobs_job_spec nothing = JOBS_JOB_SPEC_INIT;
    assert_int_equal(jobs_update(NULL, w.fx->store, B, w.a_job, &nothing), missing);
    assert_a_job_untouched(&w);
}

static void test_other_owners_job_delete_answers_as_missing(void **state)
{
    world w = make_world(*state);
    int missing = jobs_delete(NULL, w.fx->store, B, MISSING);
    assert_int_equal(missing, JOBS_ENOTFOUND);
    jobs_delete_outcome outcome = 0;
    assert_int_equal(jobs_delete(&outcome, w.fx->store, B, w.a_job), missing);
    assert_a_job_untouched(&w);
}

static void test_job_lists_show_only_own_jobs(void **state)
{
    world w = make_world(*state);
    uint64_t b_job = fx_job(w.fx, B, "shared-name", w.b_stack, FX_HOURLY, false);
    assert_int_equal(fx_count(w.fx, A), 1);
    assert_int_equal(fx_count(w.fx, B), 1);
    assert_int_equal(fx_count(w.fx, 3), 0);
    jobs_job_page *p = NULL;
    assert_int_equal(jobs_list(&p, w.fx->store, B, 1, 0), 0);
    assert_int_equal(p->n, 1);
    assert_int_equal(p->jobs[0].id, b_job);
    assert_int_equal(p->jobs[0].owner, B);
    jobs_job_page_free(p);
    assert_int_equal(fx_stat_jobs(w.fx), 2);
}

static void test_other_owners_private_stack_is_estack(void **state)
{
    world w = make_world(*state);
    jobs_job_spec spec = JOBS_JOB_SPEC_INIT;
    spec.fields = JOBS_JOB_STACK | JOBS_JOB_SCHEDULE;
    spec.schedule = FX_HOURLY;
    spec.stack = MISSING;
    int missing = jobs_create(NULL, w.fx->store, B, &spec);
    assert_int_equal(missing, JOBS_ESTACK);
    spec.stack = w.a_stack;
    assert_int_equal(jobs_create(NULL, w.fx->store, B, &spec), missing);
    assert_int_equal(fx_count(w.fx, B), 0);

    uint64_t b_job = fx_job(w.fx, B, NULL, w.b_stack, FX_HOURLY, false);
    jobs_job_spec change = JOBS_JOB_SPEC_INIT;
    change.fields = JOBS_JOB_STACK;
    change.stack = w.a_stack;
    assert_int_equal(jobs_update(NULL, w.fx->store, B, b_job, &change), JOBS_ESTACK);
    jobs_job *job = fx_get(w.fx, B, b_job);
    assert_int_equal(job->stack, w.b_stack);
    jobs_job_free(job);
}

static void test_other_owners_public_stack_is_usable(void **state)
{
    world w = make_world(*state);
    uint64_t id = fx_job(w.fx, B, NULL, w.a_public_stack, FX_HOURLY, true);
    jobs_job *job = fx_get(w.fx, B, id);
    assert_int_equal(job->stack, w.a_public_stack);
    jobs_job_free(job);
}

static void test_other_owners_private_schedule_is_eschedule(void **state)
{
    world w = make_world(*state);
    jobs_job_spec spec = JOBS_JOB_SPEC_INIT;
    spec.fields = JOBS_JOB_STACK | JOBS_JOB_SCHEDULE;
    spec.stack = w.b_stack;
    spec.schedule = MISSING;
    int missing = jobs_create(NULL, w.fx->store, B, &spec);
    assert_int_equal(missing, JOBS_ESCHEDULE);
    spec.schedule = w.a_schedule;
    assert_int_equal(jobs_create(NULL, w.fx->store, B, &spec), missing);
    assert_int_equal(fx_count(w.fx, B), 0);

    uint64_t b_job = fx_job(w.fx, B, NULL, w.b_stack, FX_HOURLY, true);
    jobs_job_spec change = JOBS_JOB_SPEC_INIT;
    change.fields = JOBS_JOB_SCHEDULE;
    change.schedule = w.a_schedule;
    assert_int_equal(jobs_update(NULL, w.fx->store, B, b_job, &change), JOBS_ESCHEDULE);
    jobs_job *job = fx_get(w.fx, B, b_job);
    assert_int_equal(job->schedule, FX_HOURLY);
    assert_int_equal(job->next_run, FX_T0 + 3600);
    jobs_job_free(job);
}

static void test_public_schedules_are_usable_by_everyone(void **state)
{
    fixture *fx = *state;
    for (uint64_t owner = 1; owner <= 3; owner++) {
        uint64_t stack = fx_stack(fx, owner, false);
        for (uint64_t s = FX_EVERY_MINUTE; s <= FX_DAILY; s++)
            fx_job(fx, owner, NULL, stack, s, true);
        assert_int_equal(fx_count(fx, owner), 5);
    }
    /* A public schedule a host adds (owner 0) is usable as well. */
    uint64_t pub = fx_periodic(fx, JOBS_OWNER_PUBLIC, 600);
    uint64_t stack = fx_stack(fx, 9, false);
    uint64_t id = fx_job(fx, 9, NULL, stack, pub, true);
    jobs_job *job = fx_get(fx, 9, id);
    assert_int_equal(job->next_run, FX_T0 + 600);
    jobs_job_free(job);
}

static void test_other_owners_schedule_get_and_update_answer_as_missing(void **state)
{
    world w = make_world(*state);
    jobs_schedule *s = NULL;
    int missing = jobs_schedule_get(&s, w.fx->store, B, MISSING);
    assert_int_equal(missing, JOBS_ENOTFOUND);
    assert_int_equal(jobs_schedule_get(&s, w.fx->store, B, w.a_schedule), missing);
    assert_null(s);
    /* Anonymous callers see public schedules only. */
    assert_int_equal(jobs_schedule_get(&s, w.fx->store, JOBS_OWNER_PUBLIC, w.a_schedule),
                     missing);

    /* Make A's schedule unused so that only ownership can refuse the change. */
    jobs_job_spec change = JOBS_JOB_SPEC_INIT;
    change.fields = JOBS_JOB_SCHEDULE;
    change.schedule = FX_HOURLY;
    assert_int_equal(jobs_update(NULL, w.fx->store, A, w.a_job, &change), 0);

    jobs_schedule_spec sc = JOBS_SCHEDULE_SPEC_INIT;
    sc.fields = JOBS_SCHEDULE_CONFIG;
    sc.period = 600;
    missing = jobs_schedule_update(NULL, w.fx->store, B, MISSING, &sc);
    assert_int_equal(missing, JOBS_ENOTFOUND);
    assert_int_equal(jobs_schedule_update(NULL, w.fx->store, B, w.a_schedule, &sc), missing);
    assert_int_equal(jobs_schedule_get(&s, w.fx->store, A, w.a_schedule), 0);
    assert_int_equal(s->period, 120);
    assert_int_equal(s->owner, A);
    jobs_schedule_free(s);
}

static void test_schedule_lists_show_public_and_own_only(void **state)
{
    world w = make_world(*state);
    uint64_t b_sched = fx_periodic(w.fx, B, 180);
    jobs_schedule_page *p = NULL;
    assert_int_equal(jobs_schedule_list(&p, w.fx->store, B, 1, 0), 0);
    assert_int_equal(p->count, 6);
    assert_int_equal(p->n, 6);
    for (size_t i = 0; i < 5; i++) {
        assert_int_equal(p->schedules[i].id, i + 1);
        assert_int_equal(p->schedules[i].owner, JOBS_OWNER_PUBLIC);
    }
    assert_int_equal(p->schedules[5].id, b_sched);
    assert_int_equal(p->schedules[5].owner, B);
    jobs_schedule_page_free(p);

    p = NULL;
    assert_int_equal(jobs_schedule_list(&p, w.fx->store, A, 1, 0), 0);
    assert_int_equal(p->count, 6);
    assert_int_equal(p->schedules[5].id, w.a_schedule);
    jobs_schedule_page_free(p);

    p = NULL;
    assert_int_equal(jobs_schedule_list(&p, w.fx->store, JOBS_OWNER_PUBLIC, 1, 0), 0);
    assert_int_equal(p->count, 5);
    assert_int_equal(p->n, 5);
    jobs_schedule_page_free(p);
}

static void test_other_owners_private_stack_get_answers_as_missing(void **state)
{
    world w = make_world(*state);
    jobs_stack *s = NULL;
    int missing = jobs_stack_get(&s, w.fx->store, B, MISSING);
    assert_int_equal(missing, JOBS_ENOTFOUND);
    assert_int_equal(jobs_stack_get(&s, w.fx->store, B, w.a_stack), missing);
    assert_null(s);
    assert_int_equal(jobs_stack_get(&s, w.fx->store, B, w.a_public_stack), 0);
    assert_int_equal(s->owner, A);
    assert_true(s->is_public);
    jobs_stack_free(s);
}

static void test_stack_lists_show_public_and_own_only(void **state)
{
    world w = make_world(*state);
    jobs_stack_page *p = NULL;
    assert_int_equal(jobs_stack_list(&p, w.fx->store, B, 1, 0), 0);
    assert_int_equal(p->count, 2);
    assert_int_equal(p->n, 2);
    assert_int_equal(p->stacks[0].id, w.a_public_stack);
    assert_int_equal(p->stacks[1].id, w.b_stack);
    jobs_stack_page_free(p);

    p = NULL;
    assert_int_equal(jobs_stack_list(&p, w.fx->store, A, 1, 0), 0);
    assert_int_equal(p->count, 2);
    assert_int_equal(p->stacks[0].id, w.a_stack);
    assert_int_equal(p->stacks[1].id, w.a_public_stack);
    jobs_stack_page_free(p);

    p = NULL;
    assert_int_equal(jobs_stack_list(&p, w.fx->store, 3, 1, 0), 0);
    assert_int_equal(p->count, 1);
    assert_int_equal(p->stacks[0].id, w.a_public_stack);
    jobs_stack_page_free(p);
}

static void test_same_name_resolves_to_own_job_per_owner(void **state)
{
    /* B's own job with the same name resolves to B's job, never A's. */
    world w = make_world(*state);
    uint64_t b_job = fx_job(w.fx, B, "shared-name", w.b_stack, FX_HOURLY, false);
    jobs_job *job = NULL;
    assert_int_equal(jobs_get_by_name(&job, w.fx->store, B, "shared-name"), 0);
    assert_int_equal(job->id, b_job);
    assert_int_equal(job->owner, B);
    jobs_job_free(job);
    job = NULL;
    assert_int_equal(jobs_get_by_name(&job, w.fx->store, A, "shared-name"), 0);
    assert_int_equal(job->id, w.a_job);
    jobs_job_free(job);
    /* Deleting B's job leaves A's alone. */
    jobs_delete_outcome outcome = 0;
    assert_int_equal(jobs_delete(&outcome, w.fx->store, B, b_job), 0);
    assert_int_equal(outcome, JOBS_DELETED);
    assert_a_job_untouched(&w);
}

#define T(f) cmocka_unit_test_setup_teardown(f, fx_setup, fx_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_other_owners_job_get_answers_as_missing),
        T(test_other_owners_job_get_by_name_answers_as_missing),
        T(test_other_owners_job_update_answers_as_missing),
        T(test_other_owners_job_delete_answers_as_missing),
        T(test_job_lists_show_only_own_jobs),
        T(test_other_owners_private_stack_is_estack),
        T(test_other_owners_public_stack_is_usable),
        T(test_other_owners_private_schedule_is_eschedule),
        T(test_public_schedules_are_usable_by_everyone),
        T(test_other_owners_schedule_get_and_update_answer_as_missing),
        T(test_schedule_lists_show_public_and_own_only),
        T(test_other_owners_private_stack_get_answers_as_missing),
        T(test_stack_lists_show_public_and_own_only),
        T(test_same_name_resolves_to_own_job_per_owner),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
