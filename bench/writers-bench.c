/* writers-bench: THREADS threads each calling jobs_create in a loop for SECONDS seconds on a new
 * store in DIR, durable commits, with or without group commit; prints creates per second and
 * commits. With `strace -f -c -e trace=futex,fdatasync` around it, the futex calls per commit
 * (docs/performance.md, "Group commit off: one wake-up per commit").
 *
 *   writers-bench DIR THREADS SECONDS GROUP(0|1) */
#include <jobs/errors.h>
#include <jobs/job.h>
#include <jobs/stack.h>
#include <jobs/store.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static jobs_store *store;
static uint64_t stack;
static atomic_long created;
static atomic_int stop;

static void *writer(void *arg)
{
    jobs_job_spec spec = JOBS_JOB_SPEC_INIT;

    (void)arg;
    spec.fields = JOBS_JOB_STACK | JOBS_JOB_SCHEDULE;
    spec.stack = stack;
    spec.schedule = 4; /* the built-in hourly schedule */
    while (!atomic_load(&stop)) {
        if (jobs_create(NULL, store, 1, &spec)) {
            fprintf(stderr, "writers-bench: %s\n", jobs_error_last());
            exit(1);
        }
        atomic_fetch_add(&created, 1);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    jobs_store_options o = JOBS_STORE_OPTIONS_INIT;
    jobs_store_stat_info si = JOBS_STORE_STAT_INFO_INIT;
    pthread_t t[64];
    int n = argc == 5 ? atoi(argv[2]) : 0, secs = argc == 5 ? atoi(argv[3]) : 0;
    struct timespec d = {secs, 0};

    if (n < 1 || n > 64 || secs < 1) {
        fprintf(stderr, "usage: writers-bench DIR THREADS(1..64) SECONDS GROUP(0|1)\n");
        return 2;
    }
    o.path = argv[1];
    o.flags = atoi(argv[4]) ? 0 : JOBS_STORE_NO_GROUP_COMMIT;
    if (jobs_store_open(&store, &o) || jobs_stack_create(&stack, store, 1, "bench", false)) {
        fprintf(stderr, "writers-bench: %s\n", jobs_error_last());
        return 1;
    }
    for (int i = 0; i < n; i++)
        if (pthread_create(&t[i], NULL, writer, NULL))
            return 1;
    nanosleep(&d, NULL);
    atomic_store(&stop, 1);
    for (int i = 0; i < n; i++)
        pthread_join(t[i], NULL);
    jobs_store_stat(&si, store);
    printf("%s: %d threads, %ld creates in %d s: %.0f/s, %llu commits\n",
           atoi(argv[4]) ? "group commit" : "no group commit", n, atomic_load(&created), secs,
           (double)atomic_load(&created) / secs, (unsigned long long)si.commits);
    jobs_store_close(store);
    return 0;
}
