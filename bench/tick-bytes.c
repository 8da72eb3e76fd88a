/* tick-bytes: the bytes one scheduler tick writes. Loads N enabled jobs (no-sync) whose next
 * runs are spread at random over N seconds (so the due ones are scattered among all), reopens
 * the store with durable commits, ticks the jobs due in the first 1,000 seconds (~1,000 of
 * them), and prints what the tick handed to write(2)/pwrite(2) ("wchar" of /proc/self/io).
 *
 *   tick-bytes DIR N          (DIR must not exist) */
#include <jobs/errors.h>
#include <jobs/job.h>
#include <jobs/lmdb.h>
#include <jobs/scheduler.h>
#include <jobs/stack.h>
#include <jobs/store.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static int on_event(const jobs_event *ev, void *ctx)
{
    (void)ev;
    (void)ctx;
    return 0;
}

int main(int argc, char **argv)
{
    jobs_store_options o = JOBS_STORE_OPTIONS_INIT;
    jobs_options_lmdb l = JOBS_OPTIONS_INIT_LMDB;
    jobs_job_spec spec = JOBS_JOB_SPEC_INIT;
    jobs_store *s;
    uint64_t n = argc == 3 ? strtoull(argv[2], NULL, 10) : 0, stack, x = 88172645463325252ull;
    const int64_t t0 = 1800000000;
    long long w0, w1;
    size_t events = 0;
    int rc;

    if (n < 1000) {
        fprintf(stderr, "usage: tick-bytes DIR N(>= 1000)\n");
        return 2;
    }
    o.path = argv[1];
    o.clock = fixed_clock;
    o.lmdb = &l;
    l.flags = JOBS_NOSYNC_LMDB;
    l.map_size = (size_t)1 << 31;
    now = t0;
    if (jobs_store_open(&s, &o) || jobs_stack_create(&stack, s, 1, "s", true)) {
        fprintf(stderr, "tick-bytes: %s\n", jobs_error_last());
        return 1;
    }
    spec.fields = JOBS_JOB_STACK | JOBS_JOB_SCHEDULE | JOBS_JOB_ENABLED;
    spec.stack = stack;
    spec.schedule = 4; /* hourly: next_run = creation time + 3600 */
    spec.enabled = true;
    for (uint64_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        now = t0 + (int64_t)(x % n);
        if (jobs_create(NULL, s, 1 + i % 1000, &spec)) {
            fprintf(stderr, "tick-bytes: %s\n", jobs_error_last());
            return 1;
        }
    }
    jobs_store_close(s);
    l.flags = 0;
    now = t0;
    if (jobs_store_open(&s, &o)) {
        fprintf(stderr, "tick-bytes: %s\n", jobs_error_last());
        return 1;
    }
    w0 = wchar();
    rc = jobs_scheduler_tick(&events, s, t0 + 3600 + 999, 100000, on_event, NULL);
    w1 = wchar();
    printf("N = %llu: tick rc %d, %zu due jobs, %lld bytes written (%.2f MB, %.0f pages of "
           "4 KiB)\n", (unsigned long long)n, rc, events, w1 - w0, (double)(w1 - w0) / 1e6,
           (double)(w1 - w0) / 4096.0);
    jobs_store_close(s);
    return rc ? 1 : 0;
}
