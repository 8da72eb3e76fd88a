/* tick-bytes: what one scheduler tick of ~1,000 due jobs among N writes, on the first run of
 * the due jobs and in the steady state, where every job has run before.
 *
 * Loads N enabled jobs of OWNERS owners (default 1,000) on one periodic schedule of N seconds,
 * their next runs spread at random over N seconds (so the due ones are scattered among all),
 * commits not flushed. Then, with durable commits:
 *   - first: the tick of the first 1,000 seconds (~1,000 jobs, none of which has run yet: its
 *     runs go into empty histories);
 *   - steady: after one full round of ticks without flushing (every job has run once, so every
 *     job has a history and its owner a list of runs of the stack), TICKS ticks (default 5) of
 *     the next 1,000 seconds each, durable, and their mean.
 * Each line gives what the tick handed to write(2)/pwrite(2) ("wchar" of /proc/self/io) in
 * bytes and 4 KiB pages, and the tick's wall time (context only: the machine is shared).
 *
 *   tick-bytes DIR N [OWNERS [TICKS]]     (DIR must not exist; N >= 1,000) */
#include <jobs/errors.h>
#include <jobs/job.h>
#include <jobs/lmdb.h>
#include <jobs/schedule.h>
#include <jobs/scheduler.h>
#include <jobs/stack.h>
#include <jobs/store.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int64_t now;

static int64_t fixed_clock(void *ctx)
{
    (void)ctx;
    return now;
}

static long long wchar(void)
{
    FILE *f = fopen("/proc/self/io", "r");
    char line[128];
    long long v = -1;

    while (f && fgets(line, sizeof(line), f))
        if (strncmp(line, "wchar:", 6) == 0)
            v = atoll(line + 6);
    if (f)
        fclose(f);
    return v;
}

static double seconds(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int on_event(const jobs_event *ev, void *ctx)
{
    (void)ev;
    (void)ctx;
    return 0;
}

static int fail(const char *what)
{
    fprintf(stderr, "tick-bytes: %s: %s\n", what, jobs_error_last());
    return 1;
}

/* One tick at `at`: its due jobs, the bytes it wrote and its seconds. */
static int tick(jobs_store *s, int64_t at, size_t *due, long long *bytes, double *secs)
{
    long long w0 = wchar();
    double t0 = seconds();

    now = at;
    *due = 0;
    if (jobs_scheduler_tick(due, s, at, 100000, on_event, NULL))
        return fail("tick");
    *secs = seconds() - t0;
    *bytes = wchar() - w0;
    return 0;
}

static void report(const char *what, uint64_t n, double due, double bytes, double secs)
{
    printf("N = %llu, %s: %.0f due jobs, %.0f bytes written (%.2f MB, %.0f pages of 4 KiB, "
           "%.2f per due job), %.1f ms\n", (unsigned long long)n, what, due, bytes, bytes / 1e6,
           bytes / 4096.0, bytes / 4096.0 / (due > 0 ? due : 1), secs * 1e3);
}

int main(int argc, char **argv)
{
    jobs_store_options o = JOBS_STORE_OPTIONS_INIT;
    jobs_options_lmdb l = JOBS_OPTIONS_INIT_LMDB;
    jobs_job_spec spec = JOBS_JOB_SPEC_INIT;
    jobs_schedule_spec sched = JOBS_SCHEDULE_SPEC_INIT;
    jobs_store *s;
    uint64_t n = argc >= 3 ? strtoull(argv[2], NULL, 10) : 0, stack, schedule;
    uint64_t owners = argc >= 4 ? strtoull(argv[3], NULL, 10) : 1000, x = 88172645463325252ull;
    long ticks = argc >= 5 ? atol(argv[4]) : 5;
    const int64_t t0 = 1800000000;
    int64_t at;
    size_t due;
    long long bytes;
    double secs, sum_due = 0, sum_bytes = 0, sum_secs = 0;

    if (n < 1000 || owners < 1 || ticks < 1 || argc > 5) {
        fprintf(stderr, "usage: tick-bytes DIR N(>= 1000) [OWNERS(>= 1) [TICKS(>= 1)]]\n");
        return 2;
    }
    o.path = argv[1];
    o.clock = fixed_clock;
    o.lmdb = &l;
    l.flags = JOBS_NOSYNC_LMDB;
    l.map_size = (size_t)1 << 33;
    now = t0;
    if (jobs_store_open(&s, &o) || jobs_stack_create(&stack, s, 1, "s", true))
        return fail("open");
    sched.fields = JOBS_SCHEDULE_CONFIG;
    sched.period = (int64_t)n;
    if (jobs_schedule_create(&schedule, s, 0, &sched))
        return fail("schedule");
    spec.fields = JOBS_JOB_STACK | JOBS_JOB_SCHEDULE | JOBS_JOB_ENABLED;
    spec.stack = stack;
    spec.schedule = schedule;
    spec.enabled = true;
    for (uint64_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        now = t0 + (int64_t)(x % n); /* first run: a period later */
        if (jobs_create(NULL, s, 1 + i % owners, &spec))
            return fail("create");
    }
    jobs_store_close(s);

    /* The first tick, durable: the runs of ~1,000 jobs that have none yet. */
    l.flags = 0;
    if (jobs_store_open(&s, &o))
        return fail("open");
    at = t0 + (int64_t)n + 999;
    if (tick(s, at, &due, &bytes, &secs))
        return 1;
    report("first tick", n, (double)due, (double)bytes, secs);
    jobs_store_close(s);

    /* The rest of the round, not flushed: every job runs once. */
    l.flags = JOBS_NOSYNC_LMDB;
    if (jobs_store_open(&s, &o))
        return fail("open");
    for (at += 1000; at < t0 + 2 * (int64_t)n + 999; at += 1000)
        if (tick(s, at, &due, &bytes, &secs))
            return 1;
    jobs_store_close(s);

    /* The steady state, durable: the due jobs have run before, as have all the others. */
    l.flags = 0;
    if (jobs_store_open(&s, &o))
        return fail("open");
    for (long i = 0; i < ticks; i++, at += 1000) {
        if (tick(s, at, &due, &bytes, &secs))
            return 1;
        sum_due += (double)due;
        sum_bytes += (double)bytes;
        sum_secs += secs;
    }
    report("steady tick (mean)", n, sum_due / (double)ticks, sum_bytes / (double)ticks,
           sum_secs / (double)ticks);
    jobs_store_close(s);
    return 0;
}
