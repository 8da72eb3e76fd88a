/* jobsctl-test-writer: writes to a store from several threads for a while, for the backup tests
 * of test-jobsctl.sh; optionally takes backups in the same process meanwhile.
 *
 *   jobsctl-test-writer STORE SECONDS THREADS [BACKUP_PREFIX COUNT]
 *   jobsctl-test-writer --hold STORE DEST
 *
 * Creates a stack, then each thread creates jobs (owners 1 and 2, half of them enabled) and
 * renames every tenth one, so that pages are freed and reused and a compacting copy has
 * something to leave out. Prints "started" once every thread has committed a job, and
 * "created N" at the end. Jobs are only ever added, so the store's job count only grows.
 *
 * With BACKUP_PREFIX, the main thread also takes COUNT backups, BACKUP_PREFIX.1 .. .COUNT,
 * while the threads write, with jobs_store_backup() on the same handle. The store starts with
 * the smallest map, so the map grows during the run and the copies meet map growth by threads
 * of their own process. Then it checks each backup: it opens, passes jobs_store_check(), and
 * holds no fewer jobs than the store had before the first backup or than the backup before it,
 * and no more than the store had at the end. Exit status 0 when all of that holds.
 *
 * With --hold, it opens STORE with the smallest map, prints "opened", waits for a line on
 * standard input (meanwhile another process grows the store past that map), then backs the
 * store up into DEST: LMDB's copy then finds the map too small (MDB_MAP_RESIZED), and the
 * backup must adopt the new size and succeed. The backup must pass its check and hold as many
 * jobs as the store. */
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jobs.h>

#define MAX_THREADS 16
#define MAX_BACKUPS 20

typedef struct writer {
    jobs_store *store;
    uint64_t stack;
    int index;
    struct timespec deadline;
    _Atomic uint64_t *created;
    _Atomic int *started;
    int rc;
} writer;

static bool before(const struct timespec *deadline)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    return now.tv_sec < deadline->tv_sec ||
           (now.tv_sec == deadline->tv_sec && now.tv_nsec < deadline->tv_nsec);
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

    nanosleep(&ts, NULL);
}

static void *write_loop(void *arg)
{
    writer *w = arg;

    for (uint64_t n = 0; w->rc == 0 && (n == 0 || before(&w->deadline)); n++) {
        jobs_job_spec spec = JOBS_JOB_SPEC_INIT;
        char name[64];
        uint64_t id;

        snprintf(name, sizeof name, "w%d-%" PRIu64, w->index, n);
        spec.fields = JOBS_JOB_STACK | JOBS_JOB_SCHEDULE | JOBS_JOB_NAME | JOBS_JOB_ENABLED;
        spec.stack = w->stack;
        spec.schedule = 1;
        spec.name = name;
        spec.enabled = n % 2 == 0;
        if ((w->rc = jobs_create(&id, w->store, 1 + (uint64_t)(w->index % 2), &spec)) != 0) {
            fprintf(stderr, "writer %d: jobs_create: %s (%s)\n", w->index, jobs_strerror(w->rc),
                    jobs_error_last());
            break;
        }
        atomic_fetch_add(w->created, 1);
        if (n == 0)
            atomic_fetch_add(w->started, 1);
        if (n % 10 == 9) {
            jobs_job_spec rename = JOBS_JOB_SPEC_INIT;

            snprintf(name, sizeof name, "renamed-w%d-%" PRIu64, w->index, n);
            rename.fields = JOBS_JOB_NAME;
            rename.name = name;
            w->rc = jobs_update(NULL, w->store, 1 + (uint64_t)(w->index % 2), id, &rename);
            if (w->rc != 0)
                fprintf(stderr, "writer %d: jobs_update: %s (%s)\n", w->index, jobs_strerror(w->rc),
                        jobs_error_last());
        }
    }
    return NULL;
}

static int job_count(uint64_t *jobs, jobs_store *store)
{
    jobs_store_stat_info info = JOBS_STORE_STAT_INFO_INIT;
    int rc = jobs_store_stat(&info, store);

    if (rc)
        fprintf(stderr, "jobs_store_stat: %s (%s)\n", jobs_strerror(rc), jobs_error_last());
    *jobs = info.jobs;
    return rc;
}

/* Opens a backup, checks it and counts its jobs. */
static int verify_backup(uint64_t *jobs, const char *dir)
{
    jobs_store_options opts = JOBS_STORE_OPTIONS_INIT;
    jobs_store *store;
    int rc;

    opts.path = dir;
    opts.flags = JOBS_STORE_READONLY; /* a backup is only read: its directory stays as it is */
    if ((rc = jobs_store_open(&store, &opts)) != 0) {
        fprintf(stderr, "%s: open: %s (%s)\n", dir, jobs_strerror(rc), jobs_error_last());
        return rc;
    }
    if ((rc = jobs_store_check(store)) != 0)
        fprintf(stderr, "%s: check: %s (%s)\n", dir, jobs_strerror(rc), jobs_error_last());
    else
        rc = job_count(jobs, store);
    jobs_store_close(store);
    return rc;
}

/* --hold STORE DEST: see the top of the file. */
static int hold_then_backup(const char *path, const char *dest)
{
    jobs_store_options opts = JOBS_STORE_OPTIONS_INIT;
    jobs_options_lmdb lmdb = JOBS_OPTIONS_INIT_LMDB;
    jobs_store_stat_info before = JOBS_STORE_STAT_INFO_INIT, after = JOBS_STORE_STAT_INFO_INIT;
    jobs_store *store;
    uint64_t jobs, copied;
    char line[64];
    int rc;

    opts.path = path;
    lmdb.map_size = 1;
    opts.lmdb = &lmdb;
    if ((rc = jobs_store_open(&store, &opts)) != 0 || (rc = jobs_store_stat(&before, store))) {
        fprintf(stderr, "%s: %s (%s)\n", path, jobs_strerror(rc), jobs_error_last());
        return 1;
    }
    printf("opened with a map of %zu bytes\n", before.lmdb.map_size);
    fflush(stdout);
    if (!fgets(line, sizeof line, stdin)) {
        fprintf(stderr, "--hold: no line on standard input\n");
        jobs_store_close(store);
        return 1;
    }
    rc = jobs_store_backup(store, dest);
    if (rc != 0)
        fprintf(stderr, "%s: backup: %s (%s)\n", dest, jobs_strerror(rc), jobs_error_last());
    else
        rc = jobs_store_stat(&after, store);
    jobs_store_close(store);
    if (rc != 0 || verify_backup(&copied, dest) != 0)
        return 1;
    jobs = after.jobs;
    printf("map %zu -> %zu bytes; backup consistent, %" PRIu64 " jobs of %" PRIu64 "\n",
           before.lmdb.map_size, after.lmdb.map_size, copied, jobs);
    if (after.lmdb.map_size <= before.lmdb.map_size || copied != jobs) {
        fprintf(stderr, "--hold: the map did not grow, or the backup holds other jobs\n");
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    jobs_store_options opts = JOBS_STORE_OPTIONS_INIT;
    jobs_options_lmdb lmdb = JOBS_OPTIONS_INIT_LMDB;
    _Atomic uint64_t created = 0;
    _Atomic int started = 0;
    writer w[MAX_THREADS];
    pthread_t tid[MAX_THREADS];
    jobs_store *store;
    uint64_t stack, first = 0, last = 0, counts[MAX_BACKUPS];
    char dirs[MAX_BACKUPS][1024];
    int seconds, threads, backups = 0, rc, status = 0;
    struct timespec deadline;
    jobs_store_stat_info info = JOBS_STORE_STAT_INFO_INIT;
    size_t map_start;

    if (argc == 4 && strcmp(argv[1], "--hold") == 0)
        return hold_then_backup(argv[2], argv[3]);
    if (argc != 4 && argc != 6) {
        fprintf(stderr, "usage: jobsctl-test-writer STORE SECONDS THREADS [BACKUP_PREFIX COUNT]\n"
                        "       jobsctl-test-writer --hold STORE DEST\n");
        return 2;
    }
    seconds = atoi(argv[2]);
    threads = atoi(argv[3]);
    if (argc == 6)
        backups = atoi(argv[5]);
    if (seconds < 1 || threads < 1 || threads > MAX_THREADS || backups < 0 ||
        backups > MAX_BACKUPS) {
        fprintf(stderr, "jobsctl-test-writer: SECONDS >= 1, THREADS 1..%d, COUNT 0..%d\n",
                MAX_THREADS, MAX_BACKUPS);
        return 2;
    }

    opts.path = argv[1];
    lmdb.map_size = 1; /* the smallest the store allows: it grows while the threads write */
    lmdb.flags = JOBS_NOSYNC_LMDB;
    opts.lmdb = &lmdb;
    if ((rc = jobs_store_open(&store, &opts)) != 0 ||
        (rc = jobs_stack_create(&stack, store, 1, "writer", true)) != 0 ||
        (rc = jobs_store_stat(&info, store)) != 0) {
        fprintf(stderr, "jobsctl-test-writer: %s (%s)\n", jobs_strerror(rc), jobs_error_last());
        return 1;
    }
    map_start = info.lmdb.map_size;

    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += seconds;
    for (int i = 0; i < threads; i++) {
        w[i] = (writer){store, stack, i, deadline, &created, &started, 0};
        pthread_create(&tid[i], NULL, write_loop, &w[i]);
    }
    while (atomic_load(&started) < threads && before(&deadline))
        sleep_ms(1);
    printf("started\n");
    fflush(stdout);

    if (backups > 0 && job_count(&first, store) != 0)
        status = 1;
    for (int i = 0; i < backups && status == 0; i++) {
        snprintf(dirs[i], sizeof dirs[i], "%s.%d", argv[4], i + 1);
        if ((rc = jobs_store_backup(store, dirs[i])) != 0) {
            fprintf(stderr, "%s: backup: %s (%s)\n", dirs[i], jobs_strerror(rc), jobs_error_last());
            status = 1;
        }
        sleep_ms(seconds * 1000L / (backups + 1));
    }

    for (int i = 0; i < threads; i++) {
        pthread_join(tid[i], NULL);
        if (w[i].rc)
            status = 1;
    }
    if (job_count(&last, store) != 0 || jobs_store_stat(&info, store) != 0)
        status = 1;
    jobs_store_close(store);

    for (int i = 0; i < backups && status == 0; i++) {
        if (verify_backup(&counts[i], dirs[i]) != 0) {
            status = 1;
        } else if (counts[i] < (i ? counts[i - 1] : first) || counts[i] > last) {
            fprintf(stderr, "%s: %" PRIu64 " jobs, not in %" PRIu64 "..%" PRIu64 "\n", dirs[i],
                    counts[i], i ? counts[i - 1] : first, last);
            status = 1;
        } else {
            printf("%s: consistent, %" PRIu64 " jobs\n", dirs[i], counts[i]);
        }
    }
    printf("created %" PRIu64 "\n", (uint64_t)atomic_load(&created));
    printf("map grew from %zu to %zu bytes\n", map_start, info.lmdb.map_size);
    return status;
}
