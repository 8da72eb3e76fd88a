/* Writes tests/data/schema3/store: a store of schema version 3, as libjobs 0.3 (commit ef7ca0b,
 * the last to write that schema) wrote it, for test_migrate: a stack's runs without a job kept
 * in one history per stack, whoever made them. Built against that version's library, not this
 * tree's:
 *
 *   git worktree add /tmp/v03 ef7ca0b && cmake -S /tmp/v03 -B /tmp/v03/b && \
 *   cmake --build /tmp/v03/b --target jobs_static && \
 *   cc -I/tmp/v03/include make-fixture.c /tmp/v03/b/libjobs.a -llmdb -lcjson -lpq -lsodium \
 *      -licuuc -licui18n -lpthread -lm -o make-fixture && \
 *   ./make-fixture DIR > expected.txt && mdb_copy -c DIR store
 *
 * Owner 1 has a public stack (1) and makes three runs of it without a job, the first finished;
 * owner 2 makes two runs of it and one of its own private stack (2); owner 1's job on stack 1
 * runs once by a tick. It prints what test_migrate expects: each owner's runs of each stack,
 * newest first, as "stackruns OWNER STACK COUNT ID...". */
#include <jobs/errors.h>
#include <jobs/job.h>
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

static void start(jobs_store *s, uint64_t owner, uint64_t stack)
{
    jobs_event ev;

    if (jobs_run_start_stack(&ev, s, owner, stack, JOBS_TRIGGER_MANUAL))
        die("run a stack");
}

int main(int argc, char **argv)
{
    jobs_store_options o = JOBS_STORE_OPTIONS_INIT;
    jobs_job_spec spec = JOBS_JOB_SPEC_INIT;
    jobs_store *s;
    uint64_t shared, own, job;
    size_t events;

    if (argc != 2)
        return 2;
    o.path = argv[1];
    o.clock = clock_fn;
    if (jobs_store_open(&s, &o) || jobs_stack_create(&shared, s, 1, "shared", true) ||
        jobs_stack_create(&own, s, 2, "own", false))
        die("open");
    for (int i = 0; i < 3; i++)
        start(s, 1, shared);
    if (jobs_run_finish(s, 1, 1, true, "owner 1's first"))
        die("finish");
    start(s, 2, shared);
    start(s, 2, shared);
    start(s, 2, own);
    spec.fields = JOBS_JOB_STACK | JOBS_JOB_SCHEDULE | JOBS_JOB_ENABLED;
    spec.stack = shared;
    spec.schedule = 4; /* hourly */
    spec.enabled = true;
    if (jobs_create(&job, s, 1, &spec))
        die("create");
    now += 3600;
    if (jobs_scheduler_tick(&events, s, now, 1000, on_event, NULL) || events != 1)
        die("tick");
    for (uint64_t owner = 1; owner <= 2; owner++)
        for (uint64_t stack = shared; stack <= own; stack++) {
            jobs_run_page *r = NULL;

            if (jobs_run_list_stack(&r, s, owner, stack, 1, 100))
                continue; /* owner 1 may not use owner 2's private stack */
            printf("stackruns %" PRIu64 " %" PRIu64 " %" PRIu64, owner, stack, r->count);
            for (size_t i = 0; i < r->n; i++)
                printf(" %" PRIu64, r->runs[i]->id);
            printf("\n");
            jobs_run_page_free(r);
        }
    jobs_store_close(s);
    return 0;
}
