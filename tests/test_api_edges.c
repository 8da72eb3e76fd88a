/* The API's edges as a host reads them in the docs: fork (docs/threading.md), page numbers far
 * past the end, what an output holds after a failure (docs/api/mainpage.md), the detail of
 * jobs_error_last() after a success (jobs/errors.h), and who changes public schedules. */
#include "fixture.h"

#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define OWNER 7

/* What the child of test_a_forked_child_opens_the_store_anew found, as its exit status. */
enum child_step {
    CHILD_OK = 0,
    CHILD_OPEN = 10,   /* its own open failed (before the fix: JOBS_EBUSY, "already open") */
    CHILD_READ = 11,   /* it could not read the parent's job */
    CHILD_CREATE = 12, /* it could not create a job */
    CHILD_WRITE = 13   /* it could not tell the parent the new job's id */
};

static int child(fixture *fx, uint64_t parents_job, int fd)
{
    jobs_store *store = NULL;
    jobs_job *job = NULL;
    jobs_job_spec spec = JOBS_JOB_SPEC_INIT;
    uint64_t id = 0;
    int step = CHILD_OK;

    /* The parent's handle is left alone, as docs/threading.md says. */
    if (jobs_store_open(&store, &fx->opts) != 0) {
        fprintf(stderr, "child: open: %s\n", jobs_error_last());
        return CHILD_OPEN;
    }
    if (jobs_get(&job, store, OWNER, parents_job) != 0 || strcmp(job->name, "parent's") != 0) {
        step = CHILD_READ;
    } else {
        spec.fields = JOBS_JOB_NAME | JOBS_JOB_STACK | JOBS_JOB_SCHEDULE;
        spec.name = "child's";
        spec.stack = job->stack;
        spec.schedule = FX_HOURLY;
        if (jobs_create(&id, store, OWNER, &spec) != 0)
            step = CHILD_CREATE;
        else if (write(fd, &id, sizeof id) != (ssize_t)sizeof id)
            step = CHILD_WRITE;
    }
    jobs_job_free(job);
    jobs_store_close(store);
    return step;
}

/* "Do not use a store across fork(); open it in the child": the child's open used to answer
 * JOBS_EBUSY, since the parent's open stores were still listed in the child's copy of the
 * process. The child opens, reads and writes the store; the parent sees the write, goes on with
 * its own handle, and the store checks clean. */
static void test_a_forked_child_opens_the_store_anew(void **state)
{
    fixture *fx = *state;
    uint64_t stack = fx_stack(fx, OWNER, false);
    uint64_t job = fx_job(fx, OWNER, "parent's", stack, FX_HOURLY, false);
    uint64_t childs_job = 0;
    int fds[2], status = 0;

    assert_int_equal(pipe(fds), 0);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        _exit(child(fx, job, fds[1]));
    }
    close(fds[1]);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), CHILD_OK);
    assert_int_equal(read(fds[0], &childs_job, sizeof childs_job), (ssize_t)sizeof childs_job);
    close(fds[0]);

    jobs_job *got = fx_get(fx, OWNER, childs_job);
    assert_string_equal(got->name, "child's");
    jobs_job_free(got);
    fx_job(fx, OWNER, "after the child", stack, FX_HOURLY, false);
    assert_int_equal(fx_count(fx, OWNER), 3);
    assert_int_equal(jobs_store_check(fx->store), 0);
}

/* Page numbers whose offset, (page - 1) * page_size, wraps past 2^64 to a small number are
 * still pages past the end: empty, with the count, for every list. */
static void test_pages_whose_offset_wraps_are_past_the_end(void **state)
{
    fixture *fx = *state;
    uint64_t stack = fx_stack(fx, OWNER, false);
    uint64_t job = 0;
    for (int i = 0; i < 20; i++)
        job = fx_job(fx, OWNER, NULL, stack, FX_HOURLY, false);
    for (int i = 0; i < 3; i++)
        assert_int_equal(jobs_run_now(NULL, fx->store, OWNER, job), 0);
    /* (page - 1) * size is 2^64 + size, which wraps to `size`: page 2 if it were taken so. */
    const struct { uint64_t page; uint32_t size; } edges[] = {
        {((uint64_t)1 << 61) + 2, 8},
        {((uint64_t)1 << 60) + 2, 16},
        {((uint64_t)1 << 62) + 2, 4},
        {UINT64_MAX, 1000},
        {UINT64_MAX, 1},
    };

    for (size_t i = 0; i < sizeof edges / sizeof edges[0]; i++) {
        uint64_t page = edges[i].page;
        uint32_t size = edges[i].size;
        jobs_job_page *jp = NULL;
        jobs_stack_page *kp = NULL;
        jobs_schedule_page *sp = NULL;
        jobs_run_page *rp = NULL;

        assert_int_equal(jobs_list(&jp, fx->store, OWNER, page, size), 0);
        assert_int_equal(jp->count, 20);
        assert_int_equal(jp->page, page);
        assert_int_equal(jp->page_size, size);
        assert_int_equal(jp->n, 0);
        assert_null(jp->jobs);
        jobs_job_page_free(jp);

        assert_int_equal(jobs_stack_list(&kp, fx->store, OWNER, page, size), 0);
        assert_int_equal(kp->count, 1);
        assert_int_equal(kp->n, 0);
        assert_null(kp->stacks);
        jobs_stack_page_free(kp);

        assert_int_equal(jobs_schedule_list(&sp, fx->store, OWNER, page, size), 0);
        assert_int_equal(sp->count, 5);
        assert_int_equal(sp->n, 0);
        assert_null(sp->schedules);
        jobs_schedule_page_free(sp);

        assert_int_equal(jobs_run_list(&rp, fx->store, OWNER, job, page, size), 0);
        assert_int_equal(rp->count, 3);
        assert_int_equal(rp->n, 0);
        assert_null(rp->runs);
        jobs_run_page_free(rp);
        rp = NULL;
        assert_int_equal(jobs_run_list_stack(&rp, fx->store, OWNER, stack, page, size), 0);
        assert_int_equal(rp->count, 3);
        assert_int_equal(rp->n, 0);
        assert_null(rp->runs);
        jobs_run_page_free(rp);
    }
}

/* A non-NULL stand-in for an object the call did not make. */
#define STALE(type) ((type *)(void *)&stale_object)
static int stale_object;

/* docs/api/mainpage.md: after a failure, an object output (`**out`) is NULL, so a host may free
 * it unconditionally; an id or other plain output is not to be read. */
static void test_object_outputs_are_null_after_a_failure(void **state)
{
    fixture *fx = *state;
    jobs_store *s = fx->store;
    uint64_t stack = fx_stack(fx, OWNER, false);
    uint64_t job = fx_job(fx, OWNER, "j", stack, FX_HOURLY, false);
    jobs_job_spec bad_job = JOBS_JOB_SPEC_INIT;
    bad_job.fields = JOBS_JOB_STACK;
    bad_job.stack = stack + 1000;
    jobs_schedule_spec bad_schedule = JOBS_SCHEDULE_SPEC_INIT;
    bad_schedule.fields = JOBS_SCHEDULE_CONFIG;
    bad_schedule.period = 1;
    jobs_stack_spec bad_stack = JOBS_STACK_SPEC_INIT;
    bad_stack.fields = JOBS_STACK_NAME;
    bad_stack.name = "";

    uint64_t own_schedule = fx_periodic(fx, OWNER, 600);
    jobs_job_spec empty = JOBS_JOB_SPEC_INIT;
    jobs_job *j = fx_get(fx, OWNER, job);
    uint64_t stale_etag = j->etag + 1;
    jobs_job_free(j);

    j = STALE(jobs_job);
    assert_int_equal(jobs_get(&j, s, OWNER, job + 1000), JOBS_ENOTFOUND);
    assert_null(j);
    j = STALE(jobs_job);
    assert_int_equal(jobs_get_by_name(&j, s, OWNER, "missing"), JOBS_ENOTFOUND);
    assert_null(j);
    j = STALE(jobs_job);
    assert_int_equal(jobs_update(&j, s, OWNER, job, &bad_job), JOBS_ESTACK);
    assert_null(j);
    j = STALE(jobs_job);
    assert_int_equal(jobs_update_if(&j, s, OWNER, job, &empty, stale_etag), JOBS_ECHANGED);
    assert_null(j);
    jobs_job_page *jp = STALE(jobs_job_page);
    assert_int_equal(jobs_list(&jp, s, OWNER, 0, 10), JOBS_EPAGE);
    assert_null(jp);

    jobs_schedule *sc = STALE(jobs_schedule);
    assert_int_equal(jobs_schedule_get(&sc, s, OWNER, 1000), JOBS_ENOTFOUND);
    assert_null(sc);
    sc = STALE(jobs_schedule);
    assert_int_equal(jobs_schedule_get_by_name(&sc, s, OWNER, "missing"), JOBS_ENOTFOUND);
    assert_null(sc);
    sc = STALE(jobs_schedule);
    assert_int_equal(jobs_schedule_update(&sc, s, OWNER, own_schedule, &bad_schedule),
                     JOBS_ECONFIG);
    assert_null(sc);
    jobs_schedule_page *sp = STALE(jobs_schedule_page);
    assert_int_equal(jobs_schedule_list(&sp, s, OWNER, 1, 1001), JOBS_EINVAL);
    assert_null(sp);

    jobs_stack *k = STALE(jobs_stack);
    assert_int_equal(jobs_stack_get(&k, s, OWNER, stack + 1000), JOBS_ENOTFOUND);
    assert_null(k);
    k = STALE(jobs_stack);
    assert_int_equal(jobs_stack_get_by_name(&k, s, OWNER, "missing"), JOBS_ENOTFOUND);
    assert_null(k);
    jobs_stack_detail *kd = STALE(jobs_stack_detail);
    assert_int_equal(jobs_stack_get_detail(&kd, s, OWNER, stack + 1000), JOBS_ENOTFOUND);
    assert_null(kd);
    kd = STALE(jobs_stack_detail);
    assert_int_equal(jobs_stack_get_webhook(&kd, s, 0), JOBS_ERANGE);
    assert_null(kd);
    kd = STALE(jobs_stack_detail);
    assert_int_equal(jobs_stack_update(&kd, s, OWNER, stack, &bad_stack), JOBS_ENAME);
    assert_null(kd);
    kd = STALE(jobs_stack_detail);
    assert_int_equal(jobs_stack_refresh_token(&kd, s, OWNER, stack), JOBS_EWEBHOOK);
    assert_null(kd);
    jobs_stack_page *kp = STALE(jobs_stack_page);
    assert_int_equal(jobs_stack_list(&kp, s, OWNER, 0, 10), JOBS_EPAGE);
    assert_null(kp);

    jobs_run *r = STALE(jobs_run);
    assert_int_equal(jobs_run_get(&r, s, OWNER, 1000), JOBS_ENOTFOUND);
    assert_null(r);
    jobs_run_page *rp = STALE(jobs_run_page);
    assert_int_equal(jobs_run_list(&rp, s, OWNER, job + 1000, 1, 10), JOBS_ENOTFOUND);
    assert_null(rp);
    rp = STALE(jobs_run_page);
    assert_int_equal(jobs_run_list_stack(&rp, s, OWNER, stack, 0, 10), JOBS_EPAGE);
    assert_null(rp);

    /* A store too: the second open of the directory in this process (LMDB: one handle per
     * process). */
    if (!fx_postgres()) {
        jobs_store *again = STALE(jobs_store);
        assert_int_equal(jobs_store_open(&again, &fx->opts), JOBS_EBUSY);
        assert_null(again);
    }
}

/* "Calls that succeed leave it unchanged" (jobs_error_last(), jobs/errors.h): also a write that
 * filled the map, which the store grows before it runs the write again. The detail of that
 * first attempt, "write: the map is full", used to stay as this thread's detail. */
static int put_big_values(jobs_kv_txn *txn, void *ctx)
{
    static const char value[8192];
    char key[16];

    (void)ctx;
    for (int i = 0; i < 16; i++) {
        int n = snprintf(key, sizeof key, "k%d", i);
        int rc = jobs_kv_put(txn, "edges", key, (size_t)n, value, sizeof value);
        if (rc)
            return rc;
    }
    return 0;
}

static size_t map_size(fixture *fx)
{
    jobs_store_stat_info info = JOBS_STORE_STAT_INFO_INIT;
    assert_int_equal(jobs_store_stat(&info, fx->store), 0);
    return info.lmdb.map_size;
}

static void test_a_write_that_grows_the_map_leaves_the_detail(void **state)
{
    fixture *fx = *state;
    FX_LMDB_ONLY(); /* LMDB's memory map */
    fx->lmdb.map_size = (size_t)64 << 10;
    fx_open(fx);
    size_t before = map_size(fx);
    jobs_job *job = NULL;
    char detail[256];

    /* A failure's detail, then a write of 128 KiB into a map of 64 KiB. */
    assert_int_equal(jobs_get(&job, fx->store, OWNER, 424242), JOBS_ENOTFOUND);
    snprintf(detail, sizeof detail, "%s", jobs_error_last());
    assert_int_equal(jobs_kv_write(fx->store, put_big_values, NULL), 0);
    assert_true(map_size(fx) > before);
    assert_string_equal(jobs_error_last(), detail);

    /* The same through a job's write: a stack with 64 KiB of blocks, and its first job. */
    static char blocks[JOBS_STACK_BLOCKS_MAX];
    jobs_stack_spec stack = JOBS_STACK_SPEC_INIT;
    stack.fields = JOBS_STACK_NAME | JOBS_STACK_BLOCKS;
    stack.name = "big";
    stack.blocks = blocks;
    stack.blocks_len = sizeof blocks;
    jobs_job_spec first = JOBS_JOB_SPEC_INIT;
    first.fields = JOBS_JOB_SCHEDULE;
    first.schedule = FX_HOURLY;
    before = map_size(fx);
    for (int i = 0; map_size(fx) == before; i++) {
        char name[16];
        assert_true(i < 64);
        snprintf(name, sizeof name, "big-%d", i);
        stack.name = name;
        assert_int_equal(jobs_get(&job, fx->store, OWNER, 424242), JOBS_ENOTFOUND);
        assert_int_equal(jobs_stack_create_with_job(NULL, NULL, fx->store, OWNER, &stack,
                                                    &first), 0);
        assert_string_equal(jobs_error_last(), detail);
    }
    assert_int_equal(jobs_store_check(fx->store), 0);
}

/* Public schedules, the built-in ones and a host's, are changed by the host alone, as
 * JOBS_OWNER_PUBLIC (docs/errors.md, JOBS_EPUBLIC): an owner is refused, and the host is held to
 * the rules of any change (not while a job uses the schedule). */
static void test_only_the_host_changes_public_schedules(void **state)
{
    fixture *fx = *state;
    uint64_t host = fx_periodic(fx, JOBS_OWNER_PUBLIC, 7200);
    jobs_schedule_spec rename = JOBS_SCHEDULE_SPEC_INIT;
    rename.fields = JOBS_SCHEDULE_NAME;
    rename.name = "renamed";
    const uint64_t ids[] = {FX_EVERY_MINUTE, host};
    jobs_schedule *s = NULL;

    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        assert_int_equal(jobs_schedule_update(NULL, fx->store, OWNER, ids[i], &rename),
                         JOBS_EPUBLIC);
        assert_int_equal(jobs_schedule_update(&s, fx->store, JOBS_OWNER_PUBLIC, ids[i],
                                              &rename), 0);
        assert_string_equal(s->name, "renamed");
        assert_int_equal(s->owner, JOBS_OWNER_PUBLIC);
        jobs_schedule_free(s);
        s = NULL;
    }
    fx_job(fx, OWNER, NULL, fx_stack(fx, OWNER, false), host, false);
    rename.name = "again";
    assert_int_equal(jobs_schedule_update(NULL, fx->store, JOBS_OWNER_PUBLIC, host, &rename),
                     JOBS_EINUSE);
    assert_int_equal(jobs_schedule_get(&s, fx->store, OWNER, host), 0);
    assert_string_equal(s->name, "renamed");
    jobs_schedule_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_a_forked_child_opens_the_store_anew, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_pages_whose_offset_wraps_are_past_the_end,
                                        fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_object_outputs_are_null_after_a_failure, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_a_write_that_grows_the_map_leaves_the_detail,
                                        fx_setup_closed, fx_teardown),
        cmocka_unit_test_setup_teardown(test_only_the_host_changes_public_schedules, fx_setup,
                                        fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
