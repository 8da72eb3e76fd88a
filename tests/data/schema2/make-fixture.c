/* Writes tests/data/schema2/store: a store of schema version 2, as libjobs 0.2.0 (commit
 * 76d9df9, the last to write that schema) wrote it, for test_migrate. Built against that
 * version's library, not this tree's:
 *
 *   git worktree add /tmp/v020 76d9df9 && cmake -S /tmp/v020 -B /tmp/v020/b && \
 *   cmake --build /tmp/v020/b --target jobs && \
 *   cc -I/tmp/v020/include make-fixture.c -L/tmp/v020/b -ljobs -o make-fixture && \
 *   LD_LIBRARY_PATH=/tmp/v020/b ./make-fixture DIR && mdb_copy -c DIR store
 *
 * and prints what test_migrate expects of it (expected.txt): each owner's job ids in order with
 * their names and their runs (how many, the newest), each owner's runs of the stack, and the
 * next job id. */
#include <jobs/errors.h>
#include <jobs/job.h>
#include <jobs/lmdb.h>
#include <jobs/run.h>
#include <jobs/scheduler.h>
#include <jobs/stack.h>
#include <jobs/store.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

static int64_t now = 1800000000;

static int64_t clock_fn(void *ctx)
{
    (void)ctx;
    return now;
}

static int on_event(const jobs_event *ev, void *ctx)
{
    (void)ev;
    (void)ctx;
    return 0;
}

static void die(const char *what)
{
    fprintf(stderr, "make-fixture: %s: %s\n", what, jobs_error_last());
    exit(1);
}

static uint64_t create(jobs_store *s, uint64_t owner, uint64_t stack, int i, bool enabled)
{
    jobs_job_spec spec = JOBS_JOB_SPEC_INIT;
    char name[32];
    uint64_t id;

    snprintf(name, sizeof(name), "job-%" PRIu64 "-%d", owner, i);
    spec.fields = JOBS_JOB_NAME | JOBS_JOB_STACK | JOBS_JOB_SCHEDULE | JOBS_JOB_ENABLED;
    spec.name = i % 3 ? name : NULL; /* every third job has no name */
    if (!spec.name)
        spec.fields &= ~(unsigned)JOBS_JOB_NAME;
    spec.stack = stack;
    spec.schedule = 4; /* hourly */
    spec.enabled = enabled;
    if (jobs_create(&id, s, owner, &spec))
        die("create");
    return id;
}

int main(int argc, char **argv)
{
    jobs_store_options o = JOBS_STORE_OPTIONS_INIT;
    jobs_store *s;
    uint64_t stack, last = 0;
    jobs_delete_outcome out;
    size_t events;

    if (argc != 2)
        return 2;
    o.path = argv[1];
    o.clock = clock_fn;
    if (jobs_store_open(&s, &o) || jobs_stack_create(&stack, s, 1, "shared", true))
        die("open");
    /* Owner 1: 150 jobs (5 rank buckets), some deleted; owner 2: 40, one queued for deletion;
     * owner 3: 3, the newest job of the store deleted last (so the id counter is above every
     * job left). Half of owner 1's are enabled and run once. */
    for (int i = 0; i < 150; i++)
        create(s, 1, stack, i, i % 2 == 0);
    for (int i = 0; i < 40; i++)
        create(s, 2, stack, i, true);
    for (int i = 0; i < 3; i++)
        last = create(s, 3, stack, i, false);
    for (uint64_t id = 20; id < 60; id += 3)
        if (jobs_delete(&out, s, 1, id))
            die("delete");
    if (jobs_delete(&out, s, 2, 170) || out != JOBS_QUEUED_FOR_DELETION)
        die("queue a deletion");
    now += 3600;
    if (jobs_scheduler_tick(&events, s, now, 1000, on_event, NULL))
        die("tick");
    if (jobs_delete(&out, s, 3, last))
        die("delete the newest");
    for (uint64_t owner = 1; owner <= 3; owner++) {
        jobs_job_page *p = NULL;

        if (jobs_list(&p, s, owner, 1, 1000))
            die("list");
        printf("owner %" PRIu64 " %zu\n", owner, p->n);
        for (size_t i = 0; i < p->n; i++) {
            jobs_run_page *r = NULL;

            if (jobs_run_list(&r, s, owner, p->jobs[i].id, 1, 1))
                die("runs");
            printf("job %" PRIu64 " %s %" PRIu64 " %" PRIu64 "\n", p->jobs[i].id,
                   p->jobs[i].name ? p->jobs[i].name : "-", r->count,
                   r->n ? r->runs[0]->id : 0);
            jobs_run_page_free(r);
        }
        jobs_job_page_free(p);
        {
            jobs_run_page *r = NULL;

            if (jobs_run_list_stack(&r, s, owner, stack, 1, 1))
                die("stack runs");
            printf("stackruns %" PRIu64 "\n", r->count);
            jobs_run_page_free(r);
        }
    }
    printf("next %" PRIu64 "\n", last + 1);
    jobs_store_close(s);
    return 0;
}
