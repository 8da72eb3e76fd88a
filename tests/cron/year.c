/* The C side of the whole-year scheduler test (year.py): a store with a fake clock, one cron
 * schedule and one enabled job per (expression, zone) argument pair, and the scheduler ticked
 * at every minute from START to END. Each run event is printed as one line,
 *     JOB_INDEX SLOT TICK
 * (JOB_INDEX: the position of the pair among the arguments, from 0). Only the public API is
 * used: next runs come from the library as a host sees them.
 *
 * Usage: year DIR START END EXPR ZONE [EXPR ZONE ...]   (DIR: a new or empty directory) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jobs.h"

static int64_t fake_now;

static int64_t fake_clock(void *ctx)
{
    (void)ctx;
    return fake_now;
}

static int print_event(const jobs_event *ev, void *ctx)
{
    const int64_t *tick = ctx;

    if (ev->type != JOBS_EVENT_RUN) {
        fprintf(stderr, "year: unexpected event type %d\n", (int)ev->type);
        return 1;
    }
    printf("%llu %lld %lld\n", (unsigned long long)(ev->job - 1), (long long)ev->slot,
           (long long)*tick);
    return 0;
}

static int fail(int rc, const char *what)
{
    fprintf(stderr, "year: %s: %s (%s)\n", what, jobs_strerror(rc), jobs_error_last());
    return 1;
}

int main(int argc, char **argv)
{
    if (argc < 6 || (argc - 4) % 2) {
        fprintf(stderr, "usage: year DIR START END EXPR ZONE [EXPR ZONE ...]\n");
        return 2;
    }
    int64_t start = strtoll(argv[2], NULL, 10), end = strtoll(argv[3], NULL, 10);
    jobs_options_lmdb lmdb = JOBS_OPTIONS_INIT_LMDB;
    jobs_store_options opts = JOBS_STORE_OPTIONS_INIT;
    jobs_store *store = NULL;
    uint64_t stack, id;
    int rc;

    lmdb.flags = JOBS_NOSYNC_LMDB;
    opts.path = argv[1];
    opts.clock = fake_clock;
    opts.lmdb = &lmdb;
    fake_now = start;
    if ((rc = jobs_store_open(&store, &opts)))
        return fail(rc, "open");
    if ((rc = jobs_stack_create(&stack, store, 1, "year", false)))
        return fail(rc, "stack");
    for (int i = 4; i < argc; i += 2) {
        jobs_schedule_spec spec = JOBS_SCHEDULE_SPEC_INIT;
        jobs_job_spec job = JOBS_JOB_SPEC_INIT;
        uint64_t sched;

        spec.fields = JOBS_SCHEDULE_KIND | JOBS_SCHEDULE_CONFIG;
        spec.kind = JOBS_SCHEDULE_CRON;
        spec.cron = argv[i];
        spec.tz = argv[i + 1];
        if ((rc = jobs_schedule_create(&sched, store, 1, &spec)))
            return fail(rc, argv[i]);
        job.fields = JOBS_JOB_STACK | JOBS_JOB_SCHEDULE | JOBS_JOB_ENABLED;
        job.stack = stack;
        job.schedule = sched;
        job.enabled = true;
        if ((rc = jobs_create(&id, store, 1, &job)))
            return fail(rc, "job");
        if (id != (uint64_t)(i - 4) / 2 + 1) {
            fprintf(stderr, "year: job ids are not 1, 2, ...\n");
            return 1;
        }
    }
    /* A tick at every minute of the range: the host's loop, with the clock moving with it. */
    for (int64_t t = (start / 60 + 1) * 60; t <= end; t += 60) {
        fake_now = t;
        if ((rc = jobs_scheduler_tick(NULL, store, t, 0, print_event, &t)))
            return fail(rc, "tick");
    }
    jobs_store_close(store);
    return fflush(stdout) == 0 ? 0 : 1;
}
