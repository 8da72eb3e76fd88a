/* cron-bench: what a cron schedule's next run costs, next to what a periodic one costs.
 *
 * Prints nanoseconds per call of lib/cron.c's jobs__cron_next() for a few expressions and zones
 * (chained, t = previous run, as the scheduler does after each run; and from random instants),
 * of re-parsing an expression (done when a record is loaded), of a periodic schedule's next
 * slot (the scheduler's arithmetic), of a first call on a thread (ICU opens the zone), and,
 * as the yardstick, the share of one due periodic job in jobs_scheduler_tick() with 1,000 due
 * (a store in a temporary directory, no sync). `--quick` runs fewer rounds.
 *
 * The integration's bench row (1,000 due cron jobs in a tick vs 1,000 periodic, jobs-bench)
 * comes with the cron schedule kind in the store. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <unicode/ucal.h>

#include "cron.h"
#include "jobs.h"

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void die(const char *what, int rc)
{
    fprintf(stderr, "cron-bench: %s: %s (%s)\n", what, jobs_strerror(rc), jobs_error_last());
    exit(1);
}

static volatile int64_t sink;

/* The scheduler's periodic next slot (lib/scheduler.c), missed slots coalescing. */
static int64_t periodic_next(int64_t slot, int64_t period, int64_t now)
{
    uint64_t diff = (uint64_t)now - (uint64_t)slot;
    return slot + (int64_t)((diff / (uint64_t)period + 1) * (uint64_t)period);
}

static uint64_t rng = 88172645463325252ull;
static uint64_t xorshift(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static int64_t tick_now;
static int64_t clock_fn(void *ctx)
{
    (void)ctx;
    return tick_now;
}

/* ns of jobs_scheduler_tick() per due periodic job, 1,000 due per tick. */
static double periodic_tick_per_job(int rounds)
{
    char dir[] = "/tmp/cron-bench-XXXXXX";
    if (!mkdtemp(dir))
        return -1;
    jobs_store_options opts = JOBS_STORE_OPTIONS_INIT;
    jobs_options_lmdb lmdb = JOBS_OPTIONS_INIT_LMDB;
    lmdb.flags = JOBS_NOSYNC_LMDB;
    opts.path = dir;
    opts.lmdb = &lmdb;
    opts.clock = clock_fn;
    jobs_store *s;
    int rc;
    tick_now = 1800000000;
    if ((rc = jobs_store_open(&s, &opts)))
        die("jobs_store_open", rc);
    uint64_t stack, sched, id;
    jobs_schedule_spec ss = JOBS_SCHEDULE_SPEC_INIT;
    ss.fields = JOBS_SCHEDULE_CONFIG;
    ss.period = 60;
    if ((rc = jobs_stack_create(&stack, s, 1, "b", false)) ||
        (rc = jobs_schedule_create(&sched, s, 1, &ss)))
        die("setup", rc);
    jobs_job_spec js = JOBS_JOB_SPEC_INIT;
    js.fields = JOBS_JOB_NAME | JOBS_JOB_STACK | JOBS_JOB_SCHEDULE | JOBS_JOB_ENABLED;
    js.stack = stack;
    js.schedule = sched;
    js.enabled = true;
    char name[32];
    for (int i = 0; i < 1000; i++) {
        snprintf(name, sizeof name, "j%d", i);
        js.name = name;
        if ((rc = jobs_create(&id, s, 1, &js)))
            die("jobs_create", rc);
    }
    double best = 1e18;
    for (int r = 0; r < rounds; r++) {
        tick_now += 60;
        size_t n = 0;
        double t0 = now_ns();
        if ((rc = jobs_scheduler_tick(&n, s, tick_now, 0, NULL, NULL)))
            die("jobs_scheduler_tick", rc);
        double dt = now_ns() - t0;
        if (n != 1000) {
            fprintf(stderr, "cron-bench: a tick took %zu jobs, expected 1000\n", n);
            exit(1);
        }
        if (dt < best)
            best = dt;
    }
    jobs_store_close(s);
    char cmd[64];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cron-bench: could not remove %s\n", dir);
    return best / 1000.0;
}

int main(int argc, char **argv)
{
    int quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
    int n = quick ? 20000 : 200000;
    static const char *const exprs[] = {"30 2 * * *", "*/15 * * * *", "*/15 1-3 * * *",
                                        "0 9 * * 1-5", "0 0 1 * *", "0 0 29 2 *"};
    static const char *const zones[] = {"UTC", "Europe/Berlin", "Australia/Lord_Howe"};
    UErrorCode st = U_ZERO_ERROR;
    printf("ICU %s, time-zone data %s\n", U_ICU_VERSION, ucal_getTZDataVersion(&st));
    printf("%-18s %-22s %12s %12s\n", "expression", "zone", "chained ns", "random ns");
    int rc;
    for (size_t z = 0; z < sizeof zones / sizeof zones[0]; z++) {
        for (size_t e = 0; e < sizeof exprs / sizeof exprs[0]; e++) {
            jobs__cron c;
            if ((rc = jobs__cron_compile(&c, exprs[e], zones[z])))
                die("compile", rc);
            int64_t t = 1767225600; /* 2026-01-01 */
            int m = strcmp(exprs[e], "0 0 29 2 *") == 0 ? n / 20 : n;
            double t0 = now_ns();
            for (int i = 0; i < m; i++) {
                if ((rc = jobs__cron_next(&t, &c, t)))
                    die("next", rc);
                if (t > INT64_C(4000000000))
                    t = 1767225600;
            }
            double chained = (now_ns() - t0) / m;
            t0 = now_ns();
            for (int i = 0; i < m; i++) {
                int64_t r, from = 946684800 + (int64_t)(xorshift() % 1200000000u);
                if ((rc = jobs__cron_next(&r, &c, from)))
                    die("next", rc);
                sink = r;
            }
            double random = (now_ns() - t0) / m;
            printf("%-18s %-22s %12.0f %12.0f\n", exprs[e], zones[z], chained, random);
        }
    }
    jobs__cron c;
    double t0 = now_ns();
    for (int i = 0; i < n; i++)
        if ((rc = jobs__cron_parse(&c, "*/15 1-3,9,17 * jan-mar mon-fri")))
            die("parse", rc);
    printf("parse '*/15 1-3,9,17 * jan-mar mon-fri': %.0f ns\n", (now_ns() - t0) / n);
    t0 = now_ns();
    for (int i = 0; i < n; i++)
        if ((rc = jobs__cron_check_zone("America/Argentina/Buenos_Aires")))
            die("check_zone", rc);
    printf("zone check (ICU canonical id): %.0f ns\n", (now_ns() - t0) / n);
    int cold = quick ? 50 : 500;
    if ((rc = jobs__cron_compile(&c, "30 2 * * *", "Europe/Berlin")))
        die("compile", rc);
    t0 = now_ns();
    for (int i = 0; i < cold; i++) {
        int64_t r;
        jobs__cron_thread_cleanup();
        if ((rc = jobs__cron_next(&r, &c, 1767225600)))
            die("next", rc);
        sink = r;
    }
    printf("first call on a thread (opens the zone's calendar): %.0f ns\n",
           (now_ns() - t0) / cold);
    t0 = now_ns();
    int64_t slot = 1767225600;
    for (int i = 0; i < n * 10; i++) {
        slot = periodic_next(slot, 900 + (sink & 1), slot + (i & 3));
        sink = slot;
    }
    printf("periodic next slot (arithmetic): %.1f ns\n", (now_ns() - t0) / (n * 10.0));
    double tick = periodic_tick_per_job(quick ? 5 : 30);
    printf("tick, 1,000 due periodic jobs: %.0f ns per job (best of %d)\n", tick,
           quick ? 5 : 30);

    /* What a tick adds per due cron job: the stored strings compiled again (the expression
     * parsed, the zone copied; its check was done when stored) and the next run from now, for
     * 1,000 jobs of mixed expressions in six zones, all due at the same minute. */
    static const char *const tick_zones[] = {"UTC", "Europe/Berlin", "America/New_York",
                                             "Australia/Lord_Howe", "Asia/Kolkata",
                                             "America/Sao_Paulo"};
    static const char *const tick_exprs[] = {"30 2 * * *", "*/15 * * * *", "*/15 1-3 * * *",
                                             "0 * * * *", "0 9 * * 1-5", "0 9 1 * *",
                                             "*/5 8-18 * * mon-fri", "@daily"};
    int64_t tnow = 1798761600; /* 2027-01-01 */
    double best = 1e18;
    for (int r = 0; r < (quick ? 5 : 30); r++) {
        tnow += 60;
        t0 = now_ns();
        for (int j = 0; j < 1000; j++) {
            jobs__cron jc;
            int64_t nr;
            if ((rc = jobs__cron_parse(&jc, tick_exprs[j % 8])))
                die("parse", rc);
            const char *zn = tick_zones[(j / 8) % 6];
            memcpy(jc.zone, zn, strlen(zn) + 1);
            if ((rc = jobs__cron_next(&nr, &jc, tnow)))
                die("next", rc);
            sink = nr;
        }
        double dt = now_ns() - t0;
        if (dt < best)
            best = dt;
    }
    printf("tick work per due cron job (parse + next, 1,000 jobs, 6 zones): %.0f ns\n",
           best / 1000.0);
    printf("estimated tick of 1,000 due cron jobs vs periodic: %.2fx\n",
           (tick + best / 1000.0) / tick);
    jobs__cron_thread_cleanup();
    return 0;
}
