/*
 * jobs-load: fills a jobs-server data directory's store through the library, for
 * bench/http-bench.sh (the read cases and --memory). Much faster than N POSTs, and the records
 * are exactly what POST /jobs would have written: the same public calls make them.
 *
 *   jobs-load --data DIR --owner ID --jobs N [--threads T]
 *
 * Opens DIR/store (created if missing) with JOBS_STORE_NOSYNC: commits are not flushed (a bulk
 * load for a benchmark, not acknowledged writes; a server started afterwards reads them from the
 * page cache like any other). Creates the stack "bench" of owner ID, then N jobs of that owner
 * named "job-%08u" (1-based), active, on the built-in hourly schedule (4), from T threads
 * (default 2), whose writes group commit joins into shared transactions. Prints one line:
 * "stack S jobs N first F last L seconds X".
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jobs.h>

#define MAX_THREADS 64
/* The built-in public schedule "hourly". */
#define SCHEDULE_HOURLY 4

typedef struct loader {
    jobs_store *store;
    uint64_t owner, stack, jobs;
    pthread_mutex_t mu;
    uint64_t next;              /* next job number to create, 1-based */
    uint64_t first, last;       /* ids created, smallest and largest */
    int rc;                     /* first failure, 0 if none */
    char detail[256];
} loader;

static int parse_u64(uint64_t *out, const char *s, uint64_t min, uint64_t max)
{
    char *end;
    unsigned long long v;

    if (!s || s[0] < '0' || s[0] > '9')
        return -1;
    v = strtoull(s, &end, 10);
    if (*end || v < min || v > max)
        return -1;
    *out = (uint64_t)v;
    return 0;
}

/* Takes the next block of job numbers; false when there are none left or a thread failed. */
static bool take(loader *l, uint64_t *from, uint64_t *to)
{
    bool more;

    pthread_mutex_lock(&l->mu);
    more = l->rc == 0 && l->next <= l->jobs;
    if (more) {
        *from = l->next;
        *to = l->next + 999 < l->jobs ? l->next + 999 : l->jobs;
        l->next = *to + 1;
    }
    pthread_mutex_unlock(&l->mu);
    return more;
}

static void *load_main(void *arg)
{
    loader *l = arg;
    jobs_job_spec spec = JOBS_JOB_SPEC_INIT;
    char name[32];
    uint64_t from, to, lo = UINT64_MAX, hi = 0;
    int rc = 0;

    spec.fields = JOBS_JOB_NAME | JOBS_JOB_STACK | JOBS_JOB_SCHEDULE | JOBS_JOB_ENABLED;
    spec.stack = l->stack;
    spec.schedule = SCHEDULE_HOURLY;
    spec.enabled = true;
    spec.name = name;
    while (rc == 0 && take(l, &from, &to)) {
        for (uint64_t k = from; k <= to; k++) {
            uint64_t id;

            snprintf(name, sizeof name, "job-%08" PRIu64, k);
            if ((rc = jobs_create(&id, l->store, l->owner, &spec)) != 0)
                break;
            lo = id < lo ? id : lo;
            hi = id > hi ? id : hi;
        }
    }
    pthread_mutex_lock(&l->mu);
    if (rc != 0 && l->rc == 0) {
        l->rc = rc;
        snprintf(l->detail, sizeof l->detail, "%s", jobs_error_last());
    }
    l->first = lo < l->first ? lo : l->first;
    l->last = hi > l->last ? hi : l->last;
    pthread_mutex_unlock(&l->mu);
    return NULL;
}

static void usage(FILE *f)
{
    fputs("usage: jobs-load --data DIR --owner ID --jobs N [--threads T]\n", f);
}

int main(int argc, char **argv)
{
    const char *data = NULL;
    char path[4096];
    uint64_t owner = 0, jobs = 0, nthreads = 2;
    jobs_store_options opts = JOBS_STORE_OPTIONS_INIT;
    jobs_options_lmdb lmdb = JOBS_OPTIONS_INIT_LMDB;
    pthread_t tids[MAX_THREADS];
    struct timespec t0, t1;
    loader l;
    int rc;

    /* Every option but --help takes a value. */
    for (int i = 1; i < argc; i += 2) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        int bad = 0;

        if (strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(argv[i], "--data") == 0 && v) {
            data = v;
        } else if (strcmp(argv[i], "--owner") == 0) {
            bad = parse_u64(&owner, v, 1, JOBS_ID_MAX);
        } else if (strcmp(argv[i], "--jobs") == 0) {
            bad = parse_u64(&jobs, v, 1, 100000000);
        } else if (strcmp(argv[i], "--threads") == 0) {
            bad = parse_u64(&nthreads, v, 1, MAX_THREADS);
        } else {
            bad = 1;
        }
        if (bad) {
            usage(stderr);
            return 2;
        }
    }
    if (!data || !owner || !jobs) {
        usage(stderr);
        return 2;
    }
    if (snprintf(path, sizeof path, "%s/store", data) >= (int)sizeof path) {
        fprintf(stderr, "jobs-load: path too long\n");
        return 1;
    }

    memset(&l, 0, sizeof l);
    l.owner = owner;
    l.jobs = jobs;
    l.next = 1;
    l.first = UINT64_MAX;
    pthread_mutex_init(&l.mu, NULL);
    opts.path = path;
    lmdb.map_size = (size_t)1 << 30;
    lmdb.flags = JOBS_NOSYNC_LMDB;
    opts.lmdb = &lmdb;
    if ((rc = jobs_store_open(&l.store, &opts)) != 0) {
        fprintf(stderr, "jobs-load: opening %s: %s (%s)\n", path, jobs_strerror(rc),
                jobs_error_last());
        return 1;
    }
    if ((rc = jobs_stack_create(&l.stack, l.store, owner, "bench", false)) != 0) {
        fprintf(stderr, "jobs-load: creating the stack: %s (%s)\n", jobs_strerror(rc),
                jobs_error_last());
        jobs_store_close(l.store);
        return 1;
    }
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (uint64_t t = 0; t < nthreads; t++)
        if (pthread_create(&tids[t], NULL, load_main, &l) != 0) {
            fprintf(stderr, "jobs-load: cannot start a thread\n");
            return 1;
        }
    for (uint64_t t = 0; t < nthreads; t++)
        pthread_join(tids[t], NULL);
    jobs_store_close(l.store);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    pthread_mutex_destroy(&l.mu);
    if (l.rc != 0) {
        fprintf(stderr, "jobs-load: jobs_create: %s (%s)\n", jobs_strerror(l.rc), l.detail);
        return 1;
    }
    printf("stack %" PRIu64 " jobs %" PRIu64 " first %" PRIu64 " last %" PRIu64
           " seconds %.1f\n",
           l.stack, jobs, l.first, l.last,
           (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
    return 0;
}
