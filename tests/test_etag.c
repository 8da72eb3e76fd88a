/* Entity tags and conditional writes: jobs_job.etag changes exactly when the job does, and
 * jobs_update_if() / jobs_delete_if() refuse with JOBS_ECHANGED, writing nothing, once it has. */
#include "fixture.h"

#include <string.h>

#define OWNER 3

static uint64_t etag_of(fixture *fx, uint64_t id)
{
    jobs_job *j = fx_get(fx, OWNER, id);
    uint64_t e = j->etag;

    jobs_job_free(j);
    return e;
}

static void test_etag_follows_every_change_and_only_changes(void **state)
{
    fixture *fx = *state;
    uint64_t stack = fx_stack(fx, OWNER, false);
    uint64_t id = fx_job(fx, OWNER, "tagged", stack, FX_HOURLY, false);
    uint64_t other = fx_job(fx, OWNER, "other", stack, FX_HOURLY, false);
    jobs_job_spec spec = {0};
    jobs_job_page *p = NULL;
    jobs_job *out = NULL;
    uint64_t e0 = etag_of(fx, id), e1, e2;

    assert_int_not_equal(e0, 0);
    assert_int_equal(etag_of(fx, id), e0);        /* stable */
    assert_int_not_equal(etag_of(fx, other), e0); /* per job */
    assert_int_equal(jobs_list(&p, fx->store, OWNER, 1, 0), 0);
    assert_int_equal(p->jobs[0].etag, e0); /* the same in a list */
    jobs_job_page_free(p);

    /* An update that changes nothing keeps it; a real one changes it, and answers the new one. */
    spec.fields = JOBS_JOB_NAME;
    spec.name = "tagged";
    assert_int_equal(jobs_update(&out, fx->store, OWNER, id, &spec), 0);
    assert_int_equal(out->etag, e0);
    jobs_job_free(out);
    spec.fields = JOBS_JOB_ENABLED;
    spec.enabled = true;
    assert_int_equal(jobs_update(&out, fx->store, OWNER, id, &spec), 0);
    e1 = out->etag;
    jobs_job_free(out);
    assert_int_not_equal(e1, e0);
    assert_int_equal(etag_of(fx, id), e1);

    /* The scheduler moving next_run is a change too. */
    fx_advance(fx, 3600);
    assert_int_equal(jobs_scheduler_tick(NULL, fx->store, fx_time(fx), 0, NULL, NULL), 0);
    e2 = etag_of(fx, id);
    assert_int_not_equal(e2, e1);
    assert_int_not_equal(e2, e0);
}

static void test_conditional_update_and_delete(void **state)
{
    fixture *fx = *state;
    uint64_t stack = fx_stack(fx, OWNER, false);
    uint64_t id = fx_job(fx, OWNER, "cond", stack, FX_HOURLY, false);
    uint64_t stale = etag_of(fx, id), fresh;
    jobs_job_spec spec = {0};
    jobs_delete_outcome outcome = 0;
    jobs_job *out = NULL, *before;

    /* Someone else changes it... */
    spec.fields = JOBS_JOB_NAME;
    spec.name = "changed by someone";
    assert_int_equal(jobs_update(NULL, fx->store, OWNER, id, &spec), 0);
    fresh = etag_of(fx, id);
    before = fx_get(fx, OWNER, id);

    /* ...so the stale tag is refused, and nothing is written. */
    spec.name = "lost update";
    assert_int_equal(jobs_update_if(&out, fx->store, OWNER, id, &spec, stale), JOBS_ECHANGED);
    assert_null(out);
    assert_non_null(strstr(jobs_error_last(), "has changed"));
    assert_int_equal(jobs_delete_if(&outcome, fx->store, OWNER, id, stale), JOBS_ECHANGED);
    assert_int_equal(outcome, 0);
    jobs_job *after = fx_get(fx, OWNER, id);
    fx_assert_job_equal(before, after);
    assert_int_equal(after->etag, fresh);
    jobs_job_free(after);
    jobs_job_free(before);

    /* The current tag works; 0 means no condition. */
    assert_int_equal(jobs_update_if(&out, fx->store, OWNER, id, &spec, fresh), 0);
    assert_string_equal(out->name, "lost update");
    fresh = out->etag;
    jobs_job_free(out);
    spec.name = "unconditional";
    assert_int_equal(jobs_update_if(NULL, fx->store, OWNER, id, &spec, 0), 0);
    assert_int_equal(jobs_delete_if(&outcome, fx->store, OWNER, id, fresh), JOBS_ECHANGED);
    assert_int_equal(jobs_delete_if(&outcome, fx->store, OWNER, id, etag_of(fx, id)), 0);
    assert_int_equal(outcome, JOBS_DELETED);

    /* A missing job is missing, whatever the tag. */
    assert_int_equal(jobs_delete_if(&outcome, fx->store, OWNER, id, fresh), JOBS_ENOTFOUND);
    assert_int_equal(jobs_fault_code(JOBS_ECHANGED), 109);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_etag_follows_every_change_and_only_changes,
                                        fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_conditional_update_and_delete, fx_setup,
                                        fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
