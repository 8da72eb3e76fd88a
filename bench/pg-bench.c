/* pg-bench: the PostgreSQL backend's figures (docs/scale-out.md).
 *
 *   pg-bench --store URI [--creates M] [--deep N] [--due N] [--procs LIST]
 *
 * In a new schema of the database URI names (dropped at the end): M creates through the API
 * (default 2,000), N jobs of one owner loaded with SQL (default 500,000; checked with
 * jobs_store_check), jobs_get of random ids, pages 1, N/20 and N/10 of that owner (page size
 * 10: the last page is the deepest), and the tick: --due one-time jobs (default 4,000) due at
 * once, claimed by 1, 2 and 4 processes ticking in batches of 100 (--procs "1,2,4"). Prints
 * one line per figure. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "jobs.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, int rc)
{
    fprintf(stderr, "pg-bench: %s: %s (%s)\n", what, jobs_err_name(rc), jobs_error_last());
    exit(1);
}

static void quiet(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

static void sql(const char *conninfo, const char *text)
{
    PGconn *c = PQconnectdb(conninfo);
    PGresult *r;

    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "pg-bench: %s", PQerrorMessage(c));
        exit(1);
    }
    PQsetNoticeProcessor(c, quiet, NULL); /* DROP SCHEMA ... CASCADE lists every table */
    r = PQexec(c, text);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        fprintf(stderr, "pg-bench: %s: %s", text, PQresultErrorMessage(r));
        exit(1);
    }
    PQclear(r);
    PQfinish(c);
}

static jobs_store *open_store(const char *path)
{
    jobs_store_options o = JOBS_STORE_OPTIONS_INIT;
    jobs_store *s;
    int rc;

    o.path = path;
    if ((rc = jobs_store_open(&s, &o)))
        die("open", rc);
    return s;
}

static uint64_t create(jobs_store *s, uint64_t owner, uint64_t stack, uint64_t schedule,
                       bool enabled)
{
    jobs_job_spec spec = JOBS_JOB_SPEC_INIT;
    uint64_t id;
    int rc;

    spec.fields = JOBS_JOB_STACK | JOBS_JOB_SCHEDULE | JOBS_JOB_ENABLED;
    spec.stack = stack;
    spec.schedule = schedule;
    spec.enabled = enabled;
    if ((rc = jobs_create(&id, s, owner, &spec)))
        die("create", rc);
    return id;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The median time of one page, for each of `n` pages, measured in turns (page 1, page 2, ...,
 * page 1, ...) so that a busy machine weighs on each alike. */
static void pages_us(jobs_store *s, uint64_t owner, const uint64_t *pages, double *us, int n,
                     int reps)
{
    double *t = malloc(sizeof(double) * (size_t)(n * reps));

    for (int r = 0; r < reps; r++)
        for (int k = 0; k < n; k++) {
            jobs_job_page *p;
            double t0 = now_s();
            int rc = jobs_list(&p, s, owner, pages[k], 10);
            t[k * reps + r] = (now_s() - t0) * 1e6;
            if (rc)
                die("list", rc);
            if (p->n == 0) {
                fprintf(stderr, "pg-bench: page %llu is empty\n", (unsigned long long)pages[k]);
                exit(1);
            }
            jobs_job_page_free(p);
        }
    for (int k = 0; k < n; k++) {
        qsort(t + k * reps, (size_t)reps, sizeof(double), cmp_double);
        us[k] = t[k * reps + reps / 2];
    }
    free(t);
}

static int ticker(const char *path, int64_t at)
{
    jobs_store *s = open_store(path);
    size_t n;
    int64_t next;
    int rc;

    for (;;) {
        rc = jobs_scheduler_tick(&n, s, at, 100, NULL, NULL);
        if (rc)
            return 1;
        /* Done when nothing is due at `at` any more (another process may hold the rest). */
        if (n == 0 && (rc = jobs_scheduler_next_run(&next, s)) == JOBS_ENOTFOUND)
            break;
        if (n == 0 && rc == 0 && next > at)
            break;
    }
    jobs_store_close(s);
    return 0;
}

int main(int argc, char **argv)
{
    const char *base = NULL, *procs = "1,2,4";
    bool keep = false;
    uint64_t deep = 500000, due = 4000, creates = 2000;
    char schema[64], path[4096], text[1024];

    setvbuf(stdout, NULL, _IOLBF, 0);
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--store") && i + 1 < argc)
            base = argv[++i];
        else if (!strcmp(argv[i], "--deep") && i + 1 < argc)
            deep = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--keep"))
            keep = true; /* leave the schema for a look (its name is printed) */
        else if (!strcmp(argv[i], "--creates") && i + 1 < argc)
            creates = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--due") && i + 1 < argc)
            due = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--procs") && i + 1 < argc)
            procs = argv[++i];
        else {
            fprintf(stderr, "usage: pg-bench --store URI [--deep N] [--due N] [--procs 1,2,4]\n");
            return 2;
        }
    }
    if (!base || deep < 100) {
        fprintf(stderr, "usage: pg-bench --store URI [--deep N>=100] [--due N] [--procs 1,2,4]\n");
        return 2;
    }
    snprintf(schema, sizeof(schema), "bench_%ld", (long)getpid());
    snprintf(text, sizeof(text), "CREATE SCHEMA %s", schema);
    sql(base, text);
    snprintf(path, sizeof(path), "%s%coptions=-csearch_path%%3D%s", base,
             strchr(base, '?') ? '&' : '?', schema);

    jobs_store *s = open_store(path);
    uint64_t stack, ids_first = 0, ids_last = 0;
    int rc;
    if ((rc = jobs_stack_create(&stack, s, 1, "bench", true)))
        die("stack", rc);

    /* Creates through the API, timed (another owner). */
    double t0 = now_s();
    for (uint64_t i = 0; i < creates; i++)
        create(s, 3, stack, 4, false);
    double dt = now_s() - t0;
    printf("create: %llu jobs in %.1f s: %.0f creates/s, %.0f us each\n",
           (unsigned long long)creates, dt, creates / dt, dt / creates * 1e6);

    /* The deep owner's jobs, loaded with SQL in one statement per table, as jobs_create would
     * have stored them (disabled, unnamed, public stack, hourly schedule: record bytes
     * 01 00 01 <stack> 04); the verifier below checks the result like any store. */
    if (stack >= 128) {
        fprintf(stderr, "pg-bench: the stack id must fit one byte\n");
        return 1;
    }
    t0 = now_s();
    snprintf(text, sizeof(text),
             "WITH n AS (SELECT next FROM jobs_ids WHERE kind = 0),"
             " j AS (INSERT INTO jobs_job (id, owner, name, active, next_run, schedule, bucket, rec)"
             " SELECT n.next + g - 1, 1, NULL, false, 0, 4, (g - 1) / 4096,"
             " decode('010001%02x04', 'hex') FROM n, generate_series(1, %llu) g RETURNING id)"
             " UPDATE jobs_ids SET next = next + (SELECT count(*) FROM j) WHERE kind = 0;"
             "INSERT INTO jobs_count VALUES (0, 1, %llu, %llu);"
             "INSERT INTO jobs_bucket SELECT 1, bucket, count(*) FROM jobs_job WHERE owner = 1"
             " GROUP BY bucket;"
             "UPDATE jobs_schedule SET refs = refs + %llu WHERE id = 4",
             (unsigned)stack, (unsigned long long)deep, (unsigned long long)deep,
             (unsigned long long)deep, (unsigned long long)deep);
    sql(path, text);
    sql(path, "VACUUM ANALYZE jobs_job");
    sql(path, "ANALYZE jobs_bucket");
    ids_first = 0;
    ids_last = 0;
    {
        jobs_job_page *pg;
        if ((rc = jobs_list(&pg, s, 1, 1, 1)))
            die("list", rc);
        ids_first = pg->jobs[0].id;
        ids_last = ids_first + deep - 1;
        if (pg->count != deep) {
            fprintf(stderr, "pg-bench: the deep owner has %llu jobs\n",
                    (unsigned long long)pg->count);
            return 1;
        }
        jobs_job_page_free(pg);
    }
    printf("load: %llu jobs of one owner with SQL in %.1f s\n", (unsigned long long)deep,
           now_s() - t0);
    if ((rc = jobs_store_check(s)))
        die("check after the load", rc);

    t0 = now_s();
    for (int i = 0; i < 5000; i++) {
        jobs_job *j;
        uint64_t id = ids_first + (uint64_t)rand() % (ids_last - ids_first + 1);
        if ((rc = jobs_get(&j, s, 1, id)))
            die("get", rc);
        jobs_job_free(j);
    }
    printf("get: %.0f us each (5,000 random ids)\n", (now_s() - t0) / 5000 * 1e6);

    uint64_t pages[3] = {1, deep / 20, deep / 10};
    double us[3];
    pages_us(s, 1, pages, us, 3, 1001);
    printf("page (10 jobs) of a %llu-job owner, median of 1,001: page 1 %.0f us, page %llu "
           "%.0f us, page %llu %.0f us: deepest/first %.2fx\n", (unsigned long long)deep, us[0],
           (unsigned long long)pages[1], us[1], (unsigned long long)pages[2], us[2],
           us[2] / us[0]);

    /* The tick: `due` one-time jobs due at once, per number of claiming processes. */
    const char *p = procs;
    while (*p) {
        int n = atoi(p);
        jobs_schedule_spec spec = JOBS_SCHEDULE_SPEC_INIT;
        uint64_t once;
        int64_t at = (int64_t)time(NULL) + 3600;

        spec.fields = JOBS_SCHEDULE_ONCE | JOBS_SCHEDULE_CONFIG;
        spec.once = true;
        spec.timestamp = at;
        if ((rc = jobs_schedule_create(&once, s, 2, &spec)))
            die("schedule", rc);
        for (uint64_t i = 0; i < due; i++)
            create(s, 2, stack, once, true);
        t0 = now_s();
        pid_t pids[64];
        for (int k = 0; k < n && k < 64; k++)
            if ((pids[k] = fork()) == 0)
                _exit(ticker(path, at));
        for (int k = 0; k < n && k < 64; k++) {
            int st;
            waitpid(pids[k], &st, 0);
            if (!WIFEXITED(st) || WEXITSTATUS(st)) {
                fprintf(stderr, "pg-bench: a ticker failed\n");
                return 1;
            }
        }
        dt = now_s() - t0;
        printf("tick: %llu due jobs claimed by %d process%s in %.2f s: %.0f jobs/s\n",
               (unsigned long long)due, n, n == 1 ? "" : "es", dt, due / dt);
        while (*p && *p != ',')
            p++;
        if (*p == ',')
            p++;
    }
    if ((rc = jobs_store_check(s)))
        die("check", rc);
    jobs_store_close(s);
    if (keep) {
        printf("kept schema %s\n", schema);
        return 0;
    }
    snprintf(text, sizeof(text), "DROP SCHEMA %s CASCADE", schema);
    sql(base, text);
    return 0;
}
