/* NULL and invalid arguments answer an error code, never crash, and change nothing. */
#include "fixture.h"

#include <stdio.h>
#include <string.h>

#define OWNER 41
#define BAD_OWNER (JOBS_ID_MAX + 1)

typedef struct ctx {
    fixture *fx;
    uint64_t stack;
    uint64_t schedule; /* OWNER's own, unused */
    uint64_t job;
} ctx;

static ctx make(fixture *fx)
{
    ctx c;
    c.fx = fx;
    c.stack = fx_stack(fx, OWNER, false);
    c.schedule = fx_periodic(fx, OWNER, 600);
    c.job = fx_job(fx, OWNER, "the-job", c.stack, FX_HOURLY, true);
    return c;
}

/* The store holds exactly what make() put there. */
static void assert_store_unchanged(const ctx *c)
{
    jobs_store_stat_info info = JOBS_STORE_STAT_INFO_INIT;
    assert_int_equal(jobs_store_stat(&info, c->fx->store), 0);
    assert_int_equal(info.jobs, 1);
    assert_int_equal(info.schedules, 6);
    assert_int_equal(info.stacks, 1);
    jobs_job *job = fx_get(c->fx, OWNER, c->job);
    assert_string_equal(job->name, "the-job");
    assert_int_equal(job->stack, c->stack);
    assert_int_equal(job->schedule, FX_HOURLY);
    assert_true(job->do_run);
    assert_false(job->do_del);
    assert_int_equal(job->next_run, FX_T0 + 3600);
    jobs_job_free(job);
    jobs_schedule *s = NULL;
    assert_int_equal(jobs_schedule_get(&s, c->fx->store, OWNER, c->schedule), 0);
    assert_int_equal(s->period, 600);
    jobs_schedule_free(s);
}

static jobs_job_spec full_spec(const ctx *c)
{
    jobs_job_spec spec = JOBS_JOB_SPEC_INIT;
    spec.fields = JOBS_JOB_NAME | JOBS_JOB_STACK | JOBS_JOB_SCHEDULE | JOBS_JOB_ENABLED;
    spec.name = "new";
    spec.stack = c->stack;
    spec.schedule = FX_DAILY;
    spec.enabled = true;
    return spec;
}

static jobs_schedule_spec period_spec(void)
{
    jobs_schedule_spec spec = JOBS_SCHEDULE_SPEC_INIT;
    spec.fields = JOBS_SCHEDULE_CONFIG;
    spec.period = 120;
    return spec;
}

static void test_open_refuses_bad_options(void **state)
{
    fixture *fx = *state;
    jobs_store *store = (jobs_store *)fx; /* not NULL: must be set to NULL on failure */
    assert_int_equal(jobs_store_open(&store, NULL), JOBS_EINVAL);
    assert_null(store);

    jobs_store_options opts = fx->opts;
    opts.path = NULL;
    store = (jobs_store *)fx;
    assert_int_equal(jobs_store_open(&store, &opts), JOBS_EINVAL);
    assert_null(store);

    opts = fx->opts;
    opts.page_size = 1001;
    store = (jobs_store *)fx;
    assert_int_equal(jobs_store_open(&store, &opts), JOBS_EINVAL);
    assert_null(store);

    const unsigned int versions[] = {0, JOBS_STORE_OPTIONS_VERSION + 1, 999, ~0u};
    for (size_t i = 0; i < sizeof(versions) / sizeof(versions[0]); i++) {
        opts = fx->opts;
        opts.version = versions[i];
        store = (jobs_store *)fx;
        assert_int_equal(jobs_store_open(&store, &opts), JOBS_EVERSION);
        assert_null(store);
    }

    /* The LMDB options are versioned too, and their flags checked. */
    jobs_options_lmdb lmdb = JOBS_OPTIONS_INIT_LMDB;
    opts = fx->opts;
    opts.lmdb = &lmdb;
    lmdb.version = 0;
    store = (jobs_store *)fx;
    assert_int_equal(jobs_store_open(&store, &opts), JOBS_EVERSION);
    assert_null(store);
    lmdb.version = JOBS_OPTIONS_VERSION_LMDB;
    lmdb.flags = 1u << 5;
    assert_int_equal(jobs_store_open(&store, &opts), JOBS_EINVAL);
    assert_null(store);

    /* Version 1's no-sync flag (bit 0) is LMDB's own now: refused in version 2's flags, with a
     * detail that says where it went. */
    opts = fx->opts;
    opts.flags = 1u << 0;
    assert_int_equal(jobs_store_open(&store, &opts), JOBS_EINVAL);
    assert_non_null(strstr(jobs_error_last(), "JOBS_NOSYNC_LMDB"));
    assert_null(store);

    /* jobs_store_stat checks the caller's version of its struct. */
    fx_open(fx);
    jobs_store_stat_info st;
    memset(&st, 0, sizeof(st));
    assert_int_equal(jobs_store_stat(&st, fx->store), JOBS_EVERSION);
    st.version = JOBS_STORE_STAT_VERSION + 1;
    assert_int_equal(jobs_store_stat(&st, fx->store), JOBS_EVERSION);
    fx_close(fx);

    /* No out pointer: refused, and nothing left open (a real open is not JOBS_EBUSY). */
    assert_int_equal(jobs_store_open(NULL, &fx->opts), JOBS_EINVAL);
    fx_open(fx);
}

static void test_open_refuses_an_unusable_path(void **state)
{
    fixture *fx = *state;
    jobs_store_options opts = fx->opts;
    jobs_store *store = (jobs_store *)fx;
    opts.path = "";
    assert_true(jobs_store_open(&store, &opts) < 0);
    assert_null(store);
    /* A path below a regular file cannot be a directory. */
    char file[PATH_MAX + 16];
    snprintf(file, sizeof(file), "%s/file", fx->dir);
    FILE *f = fopen(file, "w");
    assert_non_null(f);
    fclose(f);
    opts.path = file;
    store = (jobs_store *)fx;
    assert_true(jobs_store_open(&store, &opts) < 0);
    assert_null(store);
    char below[PATH_MAX + 32];
    snprintf(below, sizeof(below), "%s/store", file);
    opts.path = below;
    store = (jobs_store *)fx;
    assert_true(jobs_store_open(&store, &opts) < 0);
    assert_null(store);
}

static void test_null_store_is_einval(void **state)
{
    ctx c = make(*state);
    jobs_job *job = NULL;
    jobs_job_page *page = NULL;
    jobs_schedule *sched = NULL;
    jobs_schedule_page *spage = NULL;
    jobs_stack *stack = NULL;
    jobs_stack_page *kpage = NULL;
    jobs_job_spec spec = full_spec(&c);
    jobs_schedule_spec sspec = period_spec();
    uint64_t id = 0;
    int64_t next = 0;
    jobs_store_stat_info info = JOBS_STORE_STAT_INFO_INIT;

    assert_int_equal(jobs_list(&page, NULL, OWNER, 1, 0), JOBS_EINVAL);
    assert_int_equal(jobs_get(&job, NULL, OWNER, c.job), JOBS_EINVAL);
    assert_int_equal(jobs_get_by_name(&job, NULL, OWNER, "the-job"), JOBS_EINVAL);
    assert_int_equal(jobs_create(&id, NULL, OWNER, &spec), JOBS_EINVAL);
    assert_int_equal(jobs_update(&job, NULL, OWNER, c.job, &spec), JOBS_EINVAL);
    assert_int_equal(jobs_delete(NULL, NULL, OWNER, c.job), JOBS_EINVAL);
    assert_int_equal(jobs_schedule_list(&spage, NULL, OWNER, 1, 0), JOBS_EINVAL);
    assert_int_equal(jobs_schedule_get(&sched, NULL, OWNER, 1), JOBS_EINVAL);
    assert_int_equal(jobs_schedule_create(&id, NULL, OWNER, &sspec), JOBS_EINVAL);
    assert_int_equal(jobs_schedule_update(&sched, NULL, OWNER, c.schedule, &sspec),
                     JOBS_EINVAL);
    assert_int_equal(jobs_stack_create(&id, NULL, OWNER, "s", false), JOBS_EINVAL);
    assert_int_equal(jobs_stack_get(&stack, NULL, OWNER, c.stack), JOBS_EINVAL);
    assert_int_equal(jobs_stack_list(&kpage, NULL, OWNER, 1, 0), JOBS_EINVAL);
    assert_int_equal(jobs_scheduler_tick(NULL, NULL, FX_T0, 0, NULL, NULL), JOBS_EINVAL);
    assert_int_equal(jobs_scheduler_next_run(&next, NULL), JOBS_EINVAL);
    assert_int_equal(jobs_store_stat(&info, NULL), JOBS_EINVAL);
    assert_null(job);
    assert_null(page);
    assert_null(sched);
    assert_null(spage);
    assert_null(stack);
    assert_null(kpage);
    assert_store_unchanged(&c);
}

static void test_null_out_pointer_is_einval(void **state)
{
    ctx c = make(*state);
    jobs_store *s = c.fx->store;
    assert_int_equal(jobs_list(NULL, s, OWNER, 1, 0), JOBS_EINVAL);
    assert_int_equal(jobs_get(NULL, s, OWNER, c.job), JOBS_EINVAL);
    assert_int_equal(jobs_get_by_name(NULL, s, OWNER, "the-job"), JOBS_EINVAL);
    assert_int_equal(jobs_schedule_list(NULL, s, OWNER, 1, 0), JOBS_EINVAL);
    assert_int_equal(jobs_schedule_get(NULL, s, OWNER, 1), JOBS_EINVAL);
    assert_int_equal(jobs_stack_get(NULL, s, OWNER, c.stack), JOBS_EINVAL);
    assert_int_equal(jobs_stack_list(NULL, s, OWNER, 1, 0), JOBS_EINVAL);
    assert_int_equal(jobs_scheduler_next_run(NULL, s), JOBS_EINVAL);
    assert_int_equal(jobs_store_stat(NULL, s), JOBS_EINVAL);
    assert_store_unchanged(&c);
}

static void test_optional_out_pointers_may_be_null(void **state)
{
    ctx c = make(*state);
    jobs_store *s = c.fx->store;
    jobs_job_spec spec = full_spec(&c);
    assert_int_equal(jobs_create(NULL, s, OWNER, &spec), 0);
    jobs_job_spec change = JOBS_JOB_SPEC_INIT;
    change.fields = JOBS_JOB_NAME;
    change.name = "renamed";
    assert_int_equal(jobs_update(NULL, s, OWNER, c.job, &change), 0);
    jobs_schedule_spec sspec = period_spec();
    assert_int_equal(jobs_schedule_create(NULL, s, OWNER, &sspec), 0);
    sspec.period = 900;
    assert_int_equal(jobs_schedule_update(NULL, s, OWNER, c.schedule, &sspec), 0);
    assert_int_equal(jobs_stack_create(NULL, s, OWNER, "more", false), 0);
    /* The calls did their work all the same. */
    jobs_job *job = fx_get(c.fx, OWNER, c.job);
    assert_string_equal(job->name, "renamed");
    jobs_job_free(job);
    jobs_schedule *sched = NULL;
    assert_int_equal(jobs_schedule_get(&sched, s, OWNER, c.schedule), 0);
    assert_int_equal(sched->period, 900);
    jobs_schedule_free(sched);
    assert_int_equal(jobs_scheduler_tick(NULL, s, FX_T0 + 3600, 0, NULL, NULL), 0);
    job = fx_get(c.fx, OWNER, c.job);
    assert_int_equal(job->next_run, FX_T0 + 7200); /* the tick ran it */
    jobs_job_free(job);
    assert_int_equal(jobs_delete(NULL, s, OWNER, c.job), 0);
    jobs_store_stat_info info = JOBS_STORE_STAT_INFO_INIT;
    assert_int_equal(jobs_store_stat(&info, s), 0);
    assert_int_equal(info.jobs, 2);
    assert_int_equal(info.schedules, 7);
    assert_int_equal(info.stacks, 2);
}

static void test_owner_zero_is_eowner_for_jobs_and_stacks(void **state)
{
    ctx c = make(*state);
    jobs_store *s = c.fx->store;
    jobs_job *job = NULL;
    jobs_job_page *page = NULL;
    jobs_job_spec spec = full_spec(&c);
    uint64_t id = 0;
    const uint64_t owners[] = {0, BAD_OWNER, UINT64_MAX};
    for (size_t i = 0; i < sizeof(owners) / sizeof(owners[0]); i++) {
        uint64_t o = owners[i];
        assert_int_equal(jobs_list(&page, s, o, 1, 0), JOBS_EOWNER);
        assert_int_equal(jobs_get(&job, s, o, c.job), JOBS_EOWNER);
        assert_int_equal(jobs_get_by_name(&job, s, o, "the-job"), JOBS_EOWNER);
        assert_int_equal(jobs_create(&id, s, o, &spec), JOBS_EOWNER);
        assert_int_equal(jobs_update(&job, s, o, c.job, &spec), JOBS_EOWNER);
        assert_int_equal(jobs_delete(NULL, s, o, c.job), JOBS_EOWNER);
        assert_int_equal(jobs_stack_create(&id, s, o, "s", true), JOBS_EOWNER);
    }
    assert_null(job);
    assert_null(page);
    assert_int_equal(jobs_fault_code(JOBS_EOWNER), 4);
    assert_store_unchanged(&c);
}

static void test_owner_beyond_id_max_is_eowner_everywhere(void **state)
{
    ctx c = make(*state);
    jobs_store *s = c.fx->store;
    jobs_schedule *sched = NULL;
    jobs_schedule_page *spage = NULL;
    jobs_stack *stack = NULL;
    jobs_stack_page *kpage = NULL;
    jobs_schedule_spec sspec = period_spec();
    assert_int_equal(jobs_schedule_list(&spage, s, BAD_OWNER, 1, 0), JOBS_EOWNER);
    assert_int_equal(jobs_schedule_get(&sched, s, BAD_OWNER, 1), JOBS_EOWNER);
    assert_int_equal(jobs_schedule_create(NULL, s, BAD_OWNER, &sspec), JOBS_EOWNER);
    assert_int_equal(jobs_schedule_update(NULL, s, BAD_OWNER, c.schedule, &sspec),
                     JOBS_EOWNER);
    assert_int_equal(jobs_stack_get(&stack, s, BAD_OWNER, c.stack), JOBS_EOWNER);
    assert_int_equal(jobs_stack_list(&kpage, s, BAD_OWNER, 1, 0), JOBS_EOWNER);
    assert_null(sched);
    assert_null(spage);
    assert_null(stack);
    assert_null(kpage);
    assert_store_unchanged(&c);
}

static void test_id_out_of_range_is_erange(void **state)
{
    ctx c = make(*state);
    jobs_store *s = c.fx->store;
    const uint64_t bad[] = {0, JOBS_ID_MAX + 1, UINT64_MAX};
    jobs_job_spec spec = JOBS_JOB_SPEC_INIT;
    spec.fields = JOBS_JOB_ENABLED;
    spec.enabled = false;
    jobs_schedule_spec sspec = period_spec();
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        jobs_job *job = NULL;
        jobs_schedule *sched = NULL;
        jobs_stack *stack = NULL;
        assert_int_equal(jobs_get(&job, s, OWNER, bad[i]), JOBS_ERANGE);
        assert_int_equal(jobs_update(&job, s, OWNER, bad[i], &spec), JOBS_ERANGE);
        assert_int_equal(jobs_delete(NULL, s, OWNER, bad[i]), JOBS_ERANGE);
        assert_int_equal(jobs_schedule_get(&sched, s, OWNER, bad[i]), JOBS_ERANGE);
        assert_int_equal(jobs_schedule_update(&sched, s, OWNER, bad[i], &sspec), JOBS_ERANGE);
        assert_int_equal(jobs_stack_get(&stack, s, OWNER, bad[i]), JOBS_ERANGE);
        assert_null(job);
        assert_null(sched);
        assert_null(stack);
    }
    /* The largest id is in range: just missing. */
    jobs_job *job = NULL;
    assert_int_equal(jobs_get(&job, s, OWNER, JOBS_ID_MAX), JOBS_ENOTFOUND);
    assert_int_equal(jobs_delete(NULL, s, OWNER, JOBS_ID_MAX), JOBS_ENOTFOUND);
    assert_int_equal(jobs_fault_code(JOBS_ERANGE), 4);
    assert_store_unchanged(&c);
}

static void test_create_without_stack_or_schedule_is_einval(void **state)
{
    ctx c = make(*state);
    jobs_store *s = c.fx->store;
    uint64_t id = 0;
    assert_int_equal(jobs_create(&id, s, OWNER, NULL), JOBS_EINVAL);
    jobs_job_spec spec = full_spec(&c);
    spec.fields = JOBS_JOB_NAME | JOBS_JOB_SCHEDULE | JOBS_JOB_ENABLED;
    assert_int_equal(jobs_create(&id, s, OWNER, &spec), JOBS_EINVAL);
    spec.fields = JOBS_JOB_NAME | JOBS_JOB_STACK | JOBS_JOB_ENABLED;
    assert_int_equal(jobs_create(&id, s, OWNER, &spec), JOBS_EINVAL);
    spec.fields = 0;
    assert_int_equal(jobs_create(&id, s, OWNER, &spec), JOBS_EINVAL);
    assert_store_unchanged(&c);
}

static void test_create_with_stack_or_schedule_out_of_range_is_erange(void **state)
{
    ctx c = make(*state);
    jobs_store *s = c.fx->store;
    const uint64_t bad[] = {0, JOBS_ID_MAX + 1, UINT64_MAX};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        jobs_job_spec spec = full_spec(&c);
        spec.stack = bad[i];
        assert_int_equal(jobs_create(NULL, s, OWNER, &spec), JOBS_ERANGE);
        spec = full_spec(&c);
        spec.schedule = bad[i];
        assert_int_equal(jobs_create(NULL, s, OWNER, &spec), JOBS_ERANGE);
    }
    assert_store_unchanged(&c);
}

static void test_null_spec_is_einval(void **state)
{
    ctx c = make(*state);
    jobs_store *s = c.fx->store;
    assert_int_equal(jobs_update(NULL, s, OWNER, c.job, NULL), JOBS_EINVAL);
    assert_int_equal(jobs_schedule_create(NULL, s, OWNER, NULL), JOBS_EINVAL);
    assert_int_equal(jobs_schedule_update(NULL, s, OWNER, c.schedule, NULL), JOBS_EINVAL);
    assert_store_unchanged(&c);
}

static void test_stack_without_name_is_refused(void **state)
{
    ctx c = make(*state);
    uint64_t id = 0;
    int rc = jobs_stack_create(&id, c.fx->store, OWNER, NULL, false);
    assert_int_equal(rc, JOBS_ENAME);
    assert_int_equal(jobs_stack_create(&id, c.fx->store, OWNER, "", false), JOBS_ENAME);
    assert_store_unchanged(&c);
}

static void test_destructors_accept_null(void **state)
{
    (void)state;
    jobs_job_free(NULL);
    jobs_job_page_free(NULL);
    jobs_schedule_free(NULL);
    jobs_schedule_page_free(NULL);
    jobs_stack_free(NULL);
    jobs_stack_page_free(NULL);
    jobs_store_close(NULL);
}

static void test_empty_pages_free_cleanly(void **state)
{
    /* Pages with no items (jobs == NULL) are freed by the same calls. */
    fixture *fx = *state;
    jobs_job_page *p = NULL;
    assert_int_equal(jobs_list(&p, fx->store, OWNER, 5, 0), 0);
    jobs_job_page_free(p);
    jobs_schedule_page *sp = NULL;
    assert_int_equal(jobs_schedule_list(&sp, fx->store, OWNER, 5, 0), 0);
    jobs_schedule_page_free(sp);
    jobs_stack_page *kp = NULL;
    assert_int_equal(jobs_stack_list(&kp, fx->store, OWNER, 5, 0), 0);
    jobs_stack_page_free(kp);
}

#define T(f) cmocka_unit_test_setup_teardown(f, fx_setup, fx_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_open_refuses_bad_options, fx_setup_closed,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_open_refuses_an_unusable_path, fx_setup_closed,
                                        fx_teardown),
        T(test_null_store_is_einval),
        T(test_null_out_pointer_is_einval),
        T(test_optional_out_pointers_may_be_null),
        T(test_owner_zero_is_eowner_for_jobs_and_stacks),
        T(test_owner_beyond_id_max_is_eowner_everywhere),
        T(test_id_out_of_range_is_erange),
        T(test_create_without_stack_or_schedule_is_einval),
        T(test_create_with_stack_or_schedule_out_of_range_is_erange),
        T(test_null_spec_is_einval),
        T(test_stack_without_name_is_refused),
        T(test_destructors_accept_null),
        T(test_empty_pages_free_cleanly),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
