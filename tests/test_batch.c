/* jobs_batch(): several creates, updates and deletes of one owner in one transaction, all or
 * nothing, each with its own result. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"

#define OWNER 21
#define OTHER 22

static void create_op(jobs_batch_op *op, const char *name, uint64_t stack, uint64_t schedule,
                      bool enabled)
{
    jobs_batch_op init = JOBS_BATCH_OP_INIT;

    *op = init;
    op->kind = JOBS_BATCH_CREATE;
    op->spec.fields = JOBS_JOB_NAME | JOBS_JOB_STACK | JOBS_JOB_SCHEDULE | JOBS_JOB_ENABLED;
    op->spec.name = name;
    op->spec.stack = stack;
    op->spec.schedule = schedule;
    op->spec.enabled = enabled;
}

static void rename_op(jobs_batch_op *op, uint64_t id, const char *name)
{
    jobs_batch_op init = JOBS_BATCH_OP_INIT;

    *op = init;
    op->kind = JOBS_BATCH_UPDATE;
    op->id = id;
    op->spec.fields = JOBS_JOB_NAME;
    op->spec.name = name;
}

static void delete_op(jobs_batch_op *op, uint64_t id)
{
    jobs_batch_op init = JOBS_BATCH_OP_INIT;

    *op = init;
    op->kind = JOBS_BATCH_DELETE;
    op->id = id;
}

/* The owner's whole list (page size 3, every page) as ids, to compare before and after. */
static size_t list_ids(fixture *fx, uint64_t owner, uint64_t *ids, size_t max)
{
    size_t n = 0;

    for (uint64_t p = 1;; p++) {
        jobs_job_page *page = NULL;

        assert_int_equal(jobs_list(&page, fx->store, owner, p, 3), 0);
        if (page->n == 0) {
            jobs_job_page_free(page);
            return n;
        }
        for (size_t i = 0; i < page->n; i++) {
            assert_true(n < max);
            ids[n++] = page->jobs[i].id;
        }
        jobs_job_page_free(page);
    }
}

static void test_batch_creates_updates_and_deletes_in_one_call(void **state)
{
    fixture *fx = *state;
    uint64_t stack = fx_stack(fx, OWNER, false);
    uint64_t keep = fx_job(fx, OWNER, "keep", stack, FX_HOURLY, false);
    uint64_t idle = fx_job(fx, OWNER, "idle", stack, FX_HOURLY, false);
    uint64_t busy = fx_job(fx, OWNER, "busy", stack, FX_HOURLY, true);
    jobs_batch_op ops[5];
    size_t failed = 99;

    create_op(&ops[0], "new-a", stack, FX_EVERY_5_MINUTES, true);
    create_op(&ops[1], NULL, stack, FX_DAILY, false);
    rename_op(&ops[2], keep, "kept");
    delete_op(&ops[3], idle);
    delete_op(&ops[4], busy);
    assert_int_equal(jobs_batch(&failed, fx->store, OWNER, ops, 5), 0);
    assert_int_equal(failed, 5);
    for (size_t i = 0; i < 5; i++)
        assert_int_equal(ops[i].result, 0);
    assert_true(ops[0].id > busy);
    assert_int_equal(ops[1].id, ops[0].id + 1);
    assert_int_equal(ops[3].outcome, JOBS_DELETED);
    assert_int_equal(ops[4].outcome, JOBS_QUEUED_FOR_DELETION);

    jobs_job *job = fx_get(fx, OWNER, ops[0].id);
    assert_string_equal(job->name, "new-a");
    assert_true(job->do_run);
    assert_int_equal(job->next_run, FX_T0 + 300);
    jobs_job_free(job);
    job = fx_get(fx, OWNER, keep);
    assert_string_equal(job->name, "kept");
    jobs_job_free(job);
    job = NULL;
    assert_int_equal(jobs_get(&job, fx->store, OWNER, idle), JOBS_ENOTFOUND);
    job = fx_get(fx, OWNER, busy);
    assert_true(job->do_del);
    jobs_job_free(job);
    /* keep, busy (queued, still listed), and the two new ones. */
    assert_int_equal(fx_count(fx, OWNER), 4);
    assert_int_equal(fx_stat_jobs(fx), 4);
    assert_int_equal(jobs_store_check(fx->store), 0);
}

static void test_failing_op_in_the_middle_changes_nothing(void **state)
{
    fixture *fx = *state;
    uint64_t stack = fx_stack(fx, OWNER, false);
    uint64_t a = fx_job(fx, OWNER, "a", stack, FX_HOURLY, false);
    uint64_t b = fx_job(fx, OWNER, "b", stack, FX_HOURLY, true);
    uint64_t before[16], after[16];
    size_t nbefore = list_ids(fx, OWNER, before, 16);
    jobs_job *old_b = fx_get(fx, OWNER, b);
    jobs_batch_op ops[5];
    size_t failed = 0;

    create_op(&ops[0], "c", stack, FX_HOURLY, true);
    rename_op(&ops[1], b, "b2");
    delete_op(&ops[2], a);
    delete_op(&ops[3], 999999); /* no such job: fails in the transaction */
    create_op(&ops[4], "d", stack, FX_HOURLY, false);
    assert_int_equal(jobs_batch(&failed, fx->store, OWNER, ops, 5), JOBS_ENOTFOUND);
    assert_int_equal(failed, 3);
    assert_int_equal(ops[3].result, JOBS_ENOTFOUND);
    assert_non_null(strstr(jobs_error_last(), "operation 3"));
    for (size_t i = 0; i < 5; i++) {
        if (i != 3)
            assert_int_equal(ops[i].result, JOBS_EBATCH);
        assert_int_equal(ops[i].outcome, 0);
    }
    assert_int_equal(ops[0].id, 0);
    assert_int_equal(ops[4].id, 0);
    assert_int_equal(ops[1].id, b); /* an input, left as given */

    /* Nothing stayed: counts, the page index, names, records. */
    assert_int_equal(fx_count(fx, OWNER), 2);
    assert_int_equal(fx_stat_jobs(fx), 2);
    size_t nafter = list_ids(fx, OWNER, after, 16);
    assert_int_equal(nafter, nbefore);
    assert_memory_equal(after, before, nbefore * sizeof(*before));
    jobs_job *job = NULL;
    assert_int_equal(jobs_get_by_name(&job, fx->store, OWNER, "c"), JOBS_ENOTFOUND);
    assert_int_equal(jobs_get_by_name(&job, fx->store, OWNER, "b2"), JOBS_ENOTFOUND);
    job = fx_get(fx, OWNER, b);
    fx_assert_job_equal(job, old_b);
    jobs_job_free(job);
    jobs_job_free(old_b);
    jobs_job_free(fx_get(fx, OWNER, a));
    assert_int_equal(jobs_store_check(fx->store), 0);
}

static void test_names_clash_within_one_batch(void **state)
{
    fixture *fx = *state;
    uint64_t stack = fx_stack(fx, OWNER, false);
    uint64_t x = fx_job(fx, OWNER, "x", stack, FX_HOURLY, false);
    jobs_batch_op ops[3];
    size_t failed = 0;

    create_op(&ops[0], "same", stack, FX_HOURLY, false);
    create_op(&ops[1], "other", stack, FX_HOURLY, false);
    create_op(&ops[2], "same", stack, FX_HOURLY, false);
    assert_int_equal(jobs_batch(&failed, fx->store, OWNER, ops, 3), JOBS_EEXISTS);
    assert_int_equal(failed, 2);
    assert_int_equal(ops[2].result, JOBS_EEXISTS);
    assert_int_equal(ops[0].result, JOBS_EBATCH);

    /* A rename onto a name an earlier create of the batch took clashes as well. */
    create_op(&ops[0], "taken", stack, FX_HOURLY, false);
    rename_op(&ops[1], x, "taken");
    assert_int_equal(jobs_batch(&failed, fx->store, OWNER, ops, 2), JOBS_EEXISTS);
    assert_int_equal(failed, 1);

    /* A name freed earlier in the batch may be taken later in it: ops apply in order. */
    rename_op(&ops[0], x, "y");
    create_op(&ops[1], "x", stack, FX_HOURLY, false);
    assert_int_equal(jobs_batch(&failed, fx->store, OWNER, ops, 2), 0);
    jobs_job *job = NULL;
    assert_int_equal(jobs_get_by_name(&job, fx->store, OWNER, "x"), 0);
    assert_int_equal(job->id, ops[1].id);
    jobs_job_free(job);

    /* A delete frees the name of a job it removes; a job it queues for deletion (an active
     * one) keeps its name until the scheduler removes it, as after jobs_delete(). */
    uint64_t idle = fx_job(fx, OWNER, "idle", stack, FX_HOURLY, false);
    uint64_t busy = fx_job(fx, OWNER, "busy", stack, FX_HOURLY, true);
    delete_op(&ops[0], idle);
    create_op(&ops[1], "idle", stack, FX_HOURLY, false);
    assert_int_equal(jobs_batch(&failed, fx->store, OWNER, ops, 2), 0);
    assert_int_equal(ops[0].outcome, JOBS_DELETED);
    delete_op(&ops[0], busy);
    create_op(&ops[1], "busy", stack, FX_HOURLY, false);
    assert_int_equal(jobs_batch(&failed, fx->store, OWNER, ops, 2), JOBS_EEXISTS);
    assert_int_equal(failed, 1);
    assert_int_equal(ops[0].result, JOBS_EBATCH);
    assert_int_equal(ops[0].outcome, 0);
    job = fx_get(fx, OWNER, busy);
    assert_false(job->do_del);
    jobs_job_free(job);
    delete_op(&ops[0], busy);
    assert_int_equal(jobs_batch(&failed, fx->store, OWNER, ops, 1), 0);

    /* Names are per owner: another owner's batch may use them. */
    uint64_t other_stack = fx_stack(fx, OTHER, false);
    create_op(&ops[0], "x", other_stack, FX_HOURLY, false);
    create_op(&ops[1], "y", other_stack, FX_HOURLY, false);
    assert_int_equal(jobs_batch(NULL, fx->store, OTHER, ops, 2), 0);
    assert_int_equal(fx_count(fx, OWNER), 4); /* x, the new "x", the new "idle", busy (queued) */
    assert_int_equal(fx_count(fx, OTHER), 2);
    assert_int_equal(jobs_store_check(fx->store), 0);
}

/* A name that an earlier create of the batch takes is refused with that create named, not with
 * the id it was given: the batch is rolled back, so no job has that id (a later create may get
 * it), and an error naming it would send the caller looking for a job that is not there. */
static void test_a_clash_with_a_create_of_the_batch_names_the_create(void **state)
{
    fixture *fx = *state;
    uint64_t stack = fx_stack(fx, OWNER, false);
    uint64_t x = fx_job(fx, OWNER, "x", stack, FX_HOURLY, false);
    jobs_batch_op ops[3];
    size_t failed = 0;
    char job[64];

    /* In one run of creates. */
    create_op(&ops[0], "other", stack, FX_HOURLY, false);
    create_op(&ops[1], "same", stack, FX_HOURLY, false);
    create_op(&ops[2], "same", stack, FX_HOURLY, false);
    assert_int_equal(jobs_batch(&failed, fx->store, OWNER, ops, 3), JOBS_EEXISTS);
    assert_int_equal(failed, 2);
    assert_non_null(strstr(jobs_error_last(), "operation 2 (create)"));
    assert_non_null(strstr(jobs_error_last(), "operation 1 of this batch"));
    snprintf(job, sizeof(job), "job %llu", (unsigned long long)(x + 2));
    assert_null(strstr(jobs_error_last(), job));

    /* A rename after the run, onto the name the run took. */
    create_op(&ops[0], "taken", stack, FX_HOURLY, false);
    rename_op(&ops[1], x, "taken");
    assert_int_equal(jobs_batch(&failed, fx->store, OWNER, ops, 2), JOBS_EEXISTS);
    assert_int_equal(failed, 1);
    assert_non_null(strstr(jobs_error_last(), "operation 1 (update)"));
    assert_non_null(strstr(jobs_error_last(), "operation 0 of this batch"));
    snprintf(job, sizeof(job), "job %llu", (unsigned long long)(x + 1));
    assert_null(strstr(jobs_error_last(), job));

    /* A job that is there is named by its id, as jobs_create() names it. */
    create_op(&ops[0], "x", stack, FX_HOURLY, false);
    assert_int_equal(jobs_batch(&failed, fx->store, OWNER, ops, 1), JOBS_EEXISTS);
    snprintf(job, sizeof(job), "job %llu", (unsigned long long)x);
    assert_non_null(strstr(jobs_error_last(), job));
    assert_int_equal(fx_count(fx, OWNER), 1);
}

static void test_bad_input_is_refused_before_anything(void **state)
{
    fixture *fx = *state;
    uint64_t stack = fx_stack(fx, OWNER, false);
    jobs_batch_op ops[3];
    size_t failed = 0;

    create_op(&ops[0], "ok", stack, FX_HOURLY, false);
    create_op(&ops[1], "no-schedule", stack, FX_HOURLY, false);
    ops[1].spec.fields &= ~(unsigned)JOBS_JOB_SCHEDULE;
    create_op(&ops[2], "ok2", stack, FX_HOURLY, false);
    assert_int_equal(jobs_batch(&failed, fx->store, OWNER, ops, 3), JOBS_EINVAL);
    assert_int_equal(failed, 1);
    assert_int_equal(ops[1].result, JOBS_EINVAL);
    assert_int_equal(ops[0].result, JOBS_EBATCH);

    ops[1] = ops[0];
    ops[1].kind = (jobs_batch_kind)7;
    assert_int_equal(jobs_batch(&failed, fx->store, OWNER, ops, 2), JOBS_EINVAL);
    assert_int_equal(failed, 1);

    delete_op(&ops[1], 0);
    assert_int_equal(jobs_batch(&failed, fx->store, OWNER, ops, 2), JOBS_ERANGE);
    assert_int_equal(failed, 1);

    create_op(&ops[1], "bad/name\n", stack, FX_HOURLY, false);
    assert_int_equal(jobs_batch(&failed, fx->store, OWNER, ops, 2), JOBS_ENAME);

    assert_int_equal(jobs_batch(&failed, fx->store, OWNER, ops, 0), JOBS_EINVAL);
    assert_int_equal(jobs_batch(&failed, fx->store, OWNER, NULL, 1), JOBS_EINVAL);
    assert_int_equal(jobs_batch(&failed, NULL, OWNER, ops, 1), JOBS_EINVAL);
    assert_int_equal(jobs_batch(&failed, fx->store, OWNER, ops, JOBS_BATCH_MAX + 1),
                     JOBS_EINVAL);
    assert_int_equal(jobs_batch(&failed, fx->store, 0, ops, 1), JOBS_EOWNER);
    assert_int_equal(fx_count(fx, OWNER), 0);
    assert_int_equal(fx_stat_jobs(fx), 0);
}

static void test_rules_hold_inside_a_batch(void **state)
{
    fixture *fx = *state;
    uint64_t stack = fx_stack(fx, OWNER, false);
    uint64_t foreign = fx_stack(fx, OTHER, false);
    uint64_t theirs = fx_job(fx, OTHER, "theirs", foreign, FX_HOURLY, false);
    uint64_t busy = fx_job(fx, OWNER, "busy", stack, FX_HOURLY, true);
    jobs_batch_op ops[2];
    size_t failed = 0;

    /* Another owner's stack, another owner's job. */
    create_op(&ops[0], "a", stack, FX_HOURLY, false);
    create_op(&ops[1], "b", foreign, FX_HOURLY, false);
    assert_int_equal(jobs_batch(&failed, fx->store, OWNER, ops, 2), JOBS_ESTACK);
    assert_int_equal(failed, 1);
    delete_op(&ops[1], theirs);
    assert_int_equal(jobs_batch(&failed, fx->store, OWNER, ops, 2), JOBS_ENOTFOUND);

    /* Deferred deletion: a job queued earlier in the batch cannot be changed later in it. */
    delete_op(&ops[0], busy);
    rename_op(&ops[1], busy, "renamed");
    assert_int_equal(jobs_batch(&failed, fx->store, OWNER, ops, 2), JOBS_EQUEUED);
    assert_int_equal(failed, 1);
    jobs_job *job = fx_get(fx, OWNER, busy);
    assert_false(job->do_del);

    /* An entity tag that no longer matches. */
    rename_op(&ops[0], busy, "renamed");
    ops[0].if_match = job->etag ^ 1;
    assert_int_equal(jobs_batch(&failed, fx->store, OWNER, ops, 1), JOBS_ECHANGED);
    ops[0].if_match = job->etag;
    assert_int_equal(jobs_batch(&failed, fx->store, OWNER, ops, 1), 0);
    jobs_job_free(job);

    /* The schedule-in-use rule sees the batch's jobs: an own schedule used by them cannot be
     * changed afterwards. */
    uint64_t sched = fx_periodic(fx, OWNER, 120);
    create_op(&ops[0], "on-own", stack, sched, true);
    assert_int_equal(jobs_batch(&failed, fx->store, OWNER, ops, 1), 0);
    jobs_schedule_spec ss = JOBS_SCHEDULE_SPEC_INIT;
    ss.fields = JOBS_SCHEDULE_CONFIG;
    ss.period = 240;
    assert_int_equal(jobs_schedule_update(NULL, fx->store, OWNER, sched, &ss), JOBS_EINUSE);
    assert_int_equal(jobs_store_check(fx->store), 0);
}

static void test_ids_of_a_rolled_back_batch_are_never_seen(void **state)
{
    fixture *fx = *state;
    uint64_t stack = fx_stack(fx, OWNER, false);
    uint64_t first = fx_job(fx, OWNER, "first", stack, FX_HOURLY, false);
    jobs_batch_op ops[3];

    create_op(&ops[0], "r1", stack, FX_HOURLY, false);
    create_op(&ops[1], "r2", stack, FX_HOURLY, false);
    create_op(&ops[2], "first", stack, FX_HOURLY, false); /* clashes */
    assert_int_equal(jobs_batch(NULL, fx->store, OWNER, ops, 3), JOBS_EEXISTS);
    assert_int_equal(ops[0].id, 0);
    assert_int_equal(ops[1].id, 0);

    /* Every committed id stays unique and above the ones before it; none of the rolled-back
     * batch's jobs can be found. */
    uint64_t next = fx_job(fx, OWNER, "next", stack, FX_HOURLY, false);
    assert_true(next > first);
    create_op(&ops[0], "r1", stack, FX_HOURLY, false);
    assert_int_equal(jobs_batch(NULL, fx->store, OWNER, ops, 1), 0);
    assert_true(ops[0].id > next);
    jobs_job *job = fx_get(fx, OWNER, ops[0].id);
    assert_string_equal(job->name, "r1");
    jobs_job_free(job);
    assert_int_equal(fx_count(fx, OWNER), 3);
}

typedef struct racer {
    jobs_store *store;
    uint64_t stack;
    int index;
    int rc;
    uint64_t ids[50];
} racer;

static void *plain_creates(void *arg)
{
    racer *r = arg;
    jobs_job_spec spec = JOBS_JOB_SPEC_INIT;
    char name[32];

    spec.fields = JOBS_JOB_NAME | JOBS_JOB_STACK | JOBS_JOB_SCHEDULE;
    spec.stack = r->stack;
    spec.schedule = FX_HOURLY;
    spec.name = name;
    for (int i = 0; i < 50 && r->rc == 0; i++) {
        snprintf(name, sizeof(name), "plain-%d", i);
        r->rc = jobs_create(&r->ids[i], r->store, OWNER, &spec);
    }
    return NULL;
}

static void *batch_creates(void *arg)
{
    racer *r = arg;
    jobs_batch_op ops[10];
    char names[10][32];

    for (int b = 0; b < 5 && r->rc == 0; b++) {
        for (int i = 0; i < 10; i++) {
            snprintf(names[i], sizeof(names[i]), "batch-%d-%d", b, i);
            create_op(&ops[i], names[i], r->stack, FX_HOURLY, false);
        }
        /* The last batch also takes a name the plain creates take: exactly one side wins. */
        if (b == 4)
            snprintf(names[9], sizeof(names[9]), "plain-49");
        r->rc = jobs_batch(NULL, r->store, OWNER, ops, 10);
        for (int i = 0; i < 10; i++)
            r->ids[b * 10 + i] = ops[i].id;
    }
    return NULL;
}

static void test_batches_run_alongside_plain_creates(void **state)
{
    fixture *fx = *state;
    uint64_t stack = fx_stack(fx, OWNER, false);
    racer plain = {fx->store, stack, 0, 0, {0}}, batch = {fx->store, stack, 1, 0, {0}};
    pthread_t t1, t2;

    assert_int_equal(pthread_create(&t1, NULL, plain_creates, &plain), 0);
    assert_int_equal(pthread_create(&t2, NULL, batch_creates, &batch), 0);
    pthread_join(t1, NULL);
    pthread_join(t2, NULL);
    /* Either the plain create of "plain-49" or the last batch lost the name, never both won. */
    assert_true((plain.rc == 0) != (batch.rc == 0));
    assert_true(plain.rc == JOBS_EEXISTS || batch.rc == JOBS_EEXISTS);
    uint64_t expect = batch.rc == 0 ? 49 + 50 : 50 + 40;
    assert_int_equal(fx_count(fx, OWNER), expect);
    /* Every committed id is distinct. */
    uint64_t all[100];
    size_t n = 0;
    for (int i = 0; i < 50; i++) {
        if (plain.ids[i])
            all[n++] = plain.ids[i];
        if (batch.ids[i])
            all[n++] = batch.ids[i];
    }
    assert_int_equal(n, expect);
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++)
            assert_true(all[i] != all[j]);
    assert_int_equal(jobs_store_check(fx->store), 0);
}

static void test_large_batches_pass_the_verifier(void **state)
{
    fixture *fx = *state;
    uint64_t stack = fx_stack(fx, OWNER, false);
    size_t n = fx_postgres() ? 2000 : JOBS_BATCH_MAX;
    jobs_batch_op *ops = calloc(n, sizeof(*ops));
    char (*names)[40] = calloc(n, sizeof(*names));
    size_t failed = 0;

    assert_non_null(ops);
    assert_non_null(names);
    for (size_t i = 0; i < n; i++) {
        snprintf(names[i], sizeof(names[i]), "bulk-%06zu", i);
        create_op(&ops[i], names[i], stack, i % 2 ? FX_HOURLY : FX_DAILY, i % 3 == 0);
    }
    assert_int_equal(jobs_batch(&failed, fx->store, OWNER, ops, n), 0);
    assert_int_equal(fx_count(fx, OWNER), n);
    assert_int_equal(jobs_store_check(fx->store), 0);

    /* A second large batch: rename half, delete the others (active ones are queued). */
    for (size_t i = 0; i < n; i++) {
        uint64_t id = ops[i].id;

        if (i % 2) {
            snprintf(names[i], sizeof(names[i]), "renamed-%06zu", i);
            rename_op(&ops[i], id, names[i]);
        } else {
            delete_op(&ops[i], id);
        }
    }
    assert_int_equal(jobs_batch(&failed, fx->store, OWNER, ops, n), 0);
    size_t queued = 0;
    for (size_t i = 0; i < n; i += 2)
        queued += ops[i].outcome == JOBS_QUEUED_FOR_DELETION;
    assert_int_equal(fx_count(fx, OWNER), n / 2 + queued);
    assert_int_equal(jobs_store_check(fx->store), 0);

    /* A large batch that fails on its last op leaves it all as it was. */
    for (size_t i = 0; i < n; i++) {
        snprintf(names[i], sizeof(names[i]), "more-%06zu", i);
        create_op(&ops[i], names[i], stack, FX_HOURLY, true);
    }
    ops[n - 1].spec.name = "renamed-000001";
    assert_int_equal(jobs_batch(&failed, fx->store, OWNER, ops, n), JOBS_EEXISTS);
    assert_int_equal(failed, n - 1);
    assert_int_equal(fx_count(fx, OWNER), n / 2 + queued);
    assert_int_equal(jobs_store_check(fx->store), 0);
    free(ops);
    free(names);
}

/* The page index after runs of creates that start in a part-filled bucket, after deletes that
 * empty buckets (and get the index counted anew), mixed with single creates: every page lists
 * what it should, and the verifier agrees. */
static void test_pages_stay_right_after_runs_of_creates(void **state)
{
    fixture *fx = *state;
    uint64_t stack = fx_stack(fx, OWNER, false);
    size_t cap = 4000, nwant = 0, n;
    uint64_t *want = calloc(cap, sizeof(*want)), *got = calloc(cap, sizeof(*got));
    jobs_batch_op *ops = calloc(1000, sizeof(*ops));

    assert_non_null(want);
    assert_non_null(got);
    assert_non_null(ops);
    for (int i = 0; i < 45; i++)
        want[nwant++] = fx_job(fx, OWNER, NULL, stack, FX_HOURLY, false);
    for (int round = 0; round < 3; round++) {
        for (size_t i = 0; i < 1000; i++)
            create_op(&ops[i], NULL, stack, i % 2 ? FX_HOURLY : FX_DAILY, false);
        assert_int_equal(jobs_batch(NULL, fx->store, OWNER, ops, 1000), 0);
        for (size_t i = 0; i < 1000; i++)
            want[nwant++] = ops[i].id;
        want[nwant++] = fx_job(fx, OWNER, NULL, stack, FX_HOURLY, false);
        /* Delete all but every 50th: most buckets are emptied. */
        size_t k = 0, kept = 0;
        for (size_t i = 0; i < nwant; i++) {
            if (i % 50 == 0) {
                want[kept++] = want[i];
                continue;
            }
            delete_op(&ops[k++], want[i]);
            if (k == 1000) {
                assert_int_equal(jobs_batch(NULL, fx->store, OWNER, ops, k), 0);
                k = 0;
            }
        }
        if (k)
            assert_int_equal(jobs_batch(NULL, fx->store, OWNER, ops, k), 0);
        nwant = kept;
        n = list_ids(fx, OWNER, got, cap);
        assert_int_equal(n, nwant);
        assert_memory_equal(got, want, n * sizeof(*got));
        assert_int_equal(fx_count(fx, OWNER), nwant);
        assert_int_equal(jobs_store_check(fx->store), 0);
    }
    free(want);
    free(got);
    free(ops);
}

/* A batch that fills LMDB's map is run again from the start once the map has grown (the
 * backend retries the whole write): the answers are those of one run, nothing twice. And
 * with the map capped, a batch too large for it is refused whole with JOBS_ENOSPC. */
static void test_batch_larger_than_the_map_grows_it_or_is_refused_whole(void **state)
{
    fixture *fx = *state;

    FX_LMDB_ONLY(); /* LMDB's map; PostgreSQL has none */
    fx_close(fx);
    fx->lmdb.map_size = 64 * 1024;
    fx->lmdb.max_map_size = 0;
    fx_open(fx);
    uint64_t stack = fx_stack(fx, OWNER, false);
    size_t n = 5000;
    jobs_batch_op *ops = calloc(n, sizeof(*ops));
    char (*names)[24] = calloc(n, sizeof(*names));

    assert_non_null(ops);
    assert_non_null(names);
    for (size_t i = 0; i < n; i++) {
        snprintf(names[i], sizeof(names[i]), "g-%06u", (unsigned)i);
        create_op(&ops[i], names[i], stack, FX_HOURLY, i % 2 == 0);
    }
    assert_int_equal(jobs_batch(NULL, fx->store, OWNER, ops, n), 0);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(ops[i].result, 0);
        assert_int_equal(ops[i].id, ops[0].id + i);
    }
    assert_int_equal(fx_count(fx, OWNER), n);
    assert_int_equal(jobs_store_check(fx->store), 0);

    /* Capped: a second batch of the same size does not fit, and nothing of it stays. */
    fx_close(fx);
    fx->lmdb.max_map_size = 0;
    jobs_store_stat_info info = JOBS_STORE_STAT_INFO_INIT;
    fx_open(fx);
    assert_int_equal(jobs_store_stat(&info, fx->store), 0);
    fx_close(fx);
    fx->lmdb.map_size = info.lmdb.map_size;
    fx->lmdb.max_map_size = info.lmdb.map_size;
    fx_open(fx);
    for (size_t i = 0; i < n; i++) {
        snprintf(names[i], sizeof(names[i]), "h-%06u", (unsigned)i);
        create_op(&ops[i], names[i], stack, FX_HOURLY, true);
    }
    size_t failed = 0;
    assert_int_equal(jobs_batch(&failed, fx->store, OWNER, ops, n), JOBS_ENOSPC);
    assert_int_equal(ops[0].id, 0);
    assert_int_equal(fx_count(fx, OWNER), n);
    assert_int_equal(jobs_store_check(fx->store), 0);
    free(ops);
    free(names);
}

/* A batch is one write and one commit of the store, however many operations it holds. */
static void test_a_batch_is_one_commit(void **state)
{
    fixture *fx = *state;
    uint64_t stack = fx_stack(fx, OWNER, false);
    jobs_store_stat_info before = JOBS_STORE_STAT_INFO_INIT, after = JOBS_STORE_STAT_INFO_INIT;
    jobs_batch_op ops[200];
    char names[200][16];

    for (int i = 0; i < 200; i++) {
        snprintf(names[i], sizeof(names[i]), "one-%03d", i);
        create_op(&ops[i], names[i], stack, FX_HOURLY, i % 2 == 0);
    }
    assert_int_equal(jobs_store_stat(&before, fx->store), 0);
    assert_int_equal(jobs_batch(NULL, fx->store, OWNER, ops, 200), 0);
    assert_int_equal(jobs_store_stat(&after, fx->store), 0);
    assert_int_equal(after.writes - before.writes, 1);
    if (!fx_postgres()) /* PostgreSQL commits each write; LMDB's count is of its commits */
        assert_int_equal(after.commits - before.commits, 1);
    assert_int_equal(after.jobs - before.jobs, 200);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_batch_creates_updates_and_deletes_in_one_call,
                                        fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_failing_op_in_the_middle_changes_nothing, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_names_clash_within_one_batch, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_a_clash_with_a_create_of_the_batch_names_the_create,
                                        fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_bad_input_is_refused_before_anything, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_rules_hold_inside_a_batch, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_ids_of_a_rolled_back_batch_are_never_seen,
                                        fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_batches_run_alongside_plain_creates, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_large_batches_pass_the_verifier, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_pages_stay_right_after_runs_of_creates, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(
            test_batch_larger_than_the_map_grows_it_or_is_refused_whole, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_a_batch_is_one_commit, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
