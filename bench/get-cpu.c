/* get-cpu: the CPU time of one jobs_get() beside raw LMDB's renew, mdb_get and reset of the same
 * record, in one process, so that the machine's load moves both alike.
 *
 * N active, named jobs over 100 owners are loaded through libjobs (commits not flushed) into
 * DIR/libjobs; its data.mdb is copied to DIR/raw, which raw LMDB opens read-only (one process
 * cannot open one LMDB file twice). Then ROUNDS rounds, each 300,000 jobs_get() of the jobs in
 * a scattered order, then 300,000 raw gets of the same keys from the copy's "jobs" database
 * through one read transaction renewed and reset per get (as jobs-bench's raw LMDB engine
 * does). Each side is timed by the thread's CPU clock, and the best round of each counts. Then
 * two threads call jobs_get() at once (300,000 each, best of 5): their CPU time per get shows
 * what readers on different threads cost each other.
 *
 *   get-cpu DIR [N [ROUNDS]]     (DIR must not exist; N defaults to 10,000, ROUNDS to 15)
 *
 * DIR is left in place; nothing outside it is written or removed. */
#include <jobs.h>
#include <lmdb.h>

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define OWNERS 100
#define PER_ROUND 300000L
#define STRIDE 7919 /* a prime: consecutive gets land on scattered jobs */

typedef struct job_key {
    uint64_t id, owner;
    unsigned char be[8]; /* the id as LMDB's key: 8 bytes, big-endian */
} job_key;

static jobs_store *store;
static job_key *keys;
static size_t nkeys;

_Noreturn static void fail(const char *what, int rc)
{
    fprintf(stderr, "get-cpu: %s: %s (%s)\n", what, jobs_strerror(rc), jobs_error_last());
    exit(1);
}

_Noreturn static void fail_mdb(const char *what, int rc)
{
    fprintf(stderr, "get-cpu: %s: %s\n", what, mdb_strerror(rc));
    exit(1);
}

static double thread_cpu(void)
{
    struct timespec t;

    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* PER_ROUND jobs_get() from `start` on: the thread's CPU seconds. */
static double libjobs_round(size_t start)
{
    double t0 = thread_cpu();

    for (long i = 0; i < PER_ROUND; i++) {
        const job_key *k = &keys[(start + (size_t)i * STRIDE) % nkeys];
        jobs_job *job;
        int rc = jobs_get(&job, store, k->owner, k->id);

        if (rc)
            fail("jobs_get", rc);
        if (job->id != k->id)
            fail("jobs_get answered another job", JOBS_ECORRUPT);
        jobs_job_free(job);
    }
    return thread_cpu() - t0;
}

static double raw_round(MDB_txn *txn, MDB_dbi dbi)
{
    double t0 = thread_cpu();

    for (long i = 0; i < PER_ROUND; i++) {
        const job_key *k = &keys[((size_t)i * STRIDE) % nkeys];
        MDB_val key = {8, (void *)k->be}, val;
        int rc;

        if ((rc = mdb_txn_renew(txn)) || (rc = mdb_get(txn, dbi, &key, &val)))
            fail_mdb("raw get", rc);
        if (val.mv_size < 2)
            fail_mdb("raw get answered a short record", MDB_CORRUPTED);
        mdb_txn_reset(txn);
    }
    return thread_cpu() - t0;
}

static void *reader(void *arg)
{
    double *cpu = arg;

    *cpu = libjobs_round((size_t)(cpu[1]));
    return NULL;
}

static void load(const char *path, size_t n)
{
    jobs_store_options o = JOBS_STORE_OPTIONS_INIT;
    jobs_options_lmdb lmdb = JOBS_OPTIONS_INIT_LMDB;
    jobs_schedule_spec sched = JOBS_SCHEDULE_SPEC_INIT;
    uint64_t stack, schedule;
    int rc;

    o.path = path;
    lmdb.flags = JOBS_NOSYNC_LMDB;
    o.lmdb = &lmdb;
    if ((rc = jobs_store_open(&store, &o)))
        fail("jobs_store_open", rc);
    if ((rc = jobs_stack_create(&stack, store, 1, "bench", true)))
        fail("jobs_stack_create", rc);
    sched.fields = JOBS_SCHEDULE_NAME | JOBS_SCHEDULE_CONFIG;
    sched.name = "bench";
    sched.period = 3600;
    if ((rc = jobs_schedule_create(&schedule, store, JOBS_OWNER_PUBLIC, &sched)))
        fail("jobs_schedule_create", rc);
    for (size_t i = 0; i < n; i++) {
        jobs_job_spec spec = JOBS_JOB_SPEC_INIT;
        char name[32];

        snprintf(name, sizeof(name), "job-%07zu", i);
        spec.fields = JOBS_JOB_STACK | JOBS_JOB_SCHEDULE | JOBS_JOB_NAME | JOBS_JOB_ENABLED;
        spec.stack = stack;
        spec.schedule = schedule;
        spec.name = name;
        spec.enabled = true;
        keys[i].owner = 1 + i % OWNERS;
        if ((rc = jobs_create(&keys[i].id, store, keys[i].owner, &spec)))
            fail("jobs_create", rc);
        for (int b = 0; b < 8; b++)
            keys[i].be[b] = (unsigned char)(keys[i].id >> (56 - 8 * b));
    }
    jobs_store_close(store);
}

int main(int argc, char **argv)
{
    char lj[4096], raw[4096], cmd[3 * 4096 + 64];
    size_t n = argc > 2 ? strtoul(argv[2], NULL, 10) : 10000;
    int rounds = argc > 3 ? atoi(argv[3]) : 15, rc;
    double best_lj = 1e9, best_raw = 1e9, best_both = 1e9, both[2][2];
    jobs_store_options o = JOBS_STORE_OPTIONS_INIT;
    pthread_t th[2];
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;

    if (argc < 2 || n < 1 || rounds < 1) {
        fprintf(stderr, "usage: get-cpu DIR [N [ROUNDS]]   (DIR must not exist)\n");
        return 2;
    }
    if (mkdir(argv[1], 0700) != 0) {
        fprintf(stderr, "get-cpu: cannot make %s: %s\n", argv[1], strerror(errno));
        return 1;
    }
    if (snprintf(lj, sizeof(lj), "%s/libjobs", argv[1]) >= (int)sizeof(lj) ||
        snprintf(raw, sizeof(raw), "%s/raw", argv[1]) >= (int)sizeof(raw))
        fail("DIR is too long", JOBS_EINVAL);
    if (!(keys = calloc(n, sizeof(*keys))))
        fail("out of memory", JOBS_ENOMEM);
    nkeys = n;
    load(lj, n);
    if (snprintf(cmd, sizeof(cmd), "mkdir '%s' && cp '%s/data.mdb' '%s/'", raw, lj, raw) >=
            (int)sizeof(cmd) ||
        system(cmd) != 0)
        fail("copying the store", JOBS_EIO);

    o.path = lj;
    if ((rc = jobs_store_open(&store, &o)))
        fail("jobs_store_open", rc);
    if ((rc = mdb_env_create(&env)) || (rc = mdb_env_set_maxdbs(env, 64)) ||
        (rc = mdb_env_open(env, raw, MDB_RDONLY | MDB_NOTLS, 0600)) ||
        (rc = mdb_txn_begin(env, NULL, MDB_RDONLY, &txn)) ||
        (rc = mdb_dbi_open(txn, "jobs", 0, &dbi)) || (rc = mdb_txn_commit(txn)) ||
        (rc = mdb_txn_begin(env, NULL, MDB_RDONLY, &txn)))
        fail_mdb("opening the copy with LMDB", rc);
    mdb_txn_reset(txn);

    for (int r = 0; r < rounds; r++) {
        double a = libjobs_round(0), b = raw_round(txn, dbi);

        best_lj = a < best_lj ? a : best_lj;
        best_raw = b < best_raw ? b : best_raw;
    }
    for (int r = 0; r < 5; r++) {
        for (int t = 0; t < 2; t++) {
            both[t][1] = (double)(t * 13); /* where the thread starts */
            if (pthread_create(&th[t], NULL, reader, both[t]) != 0)
                fail("pthread_create", JOBS_ENOMEM);
        }
        for (int t = 0; t < 2; t++)
            pthread_join(th[t], NULL);
        if (both[0][0] + both[1][0] < best_both)
            best_both = both[0][0] + both[1][0];
    }

    printf("%zu jobs over %d owners, best of %d rounds of %ld gets, thread CPU time per get:\n",
           n, OWNERS, rounds, PER_ROUND);
    printf("  libjobs jobs_get()          %7.1f ns\n", best_lj / PER_ROUND * 1e9);
    printf("  raw LMDB renew/get/reset    %7.1f ns\n", best_raw / PER_ROUND * 1e9);
    printf("  libjobs / raw LMDB speed    %7.3f\n", best_raw / best_lj);
    printf("  two threads at once         %7.1f ns per get (libjobs, best of 5)\n",
           best_both / (2.0 * PER_ROUND) * 1e9);
    mdb_txn_abort(txn);
    mdb_env_close(env);
    jobs_store_close(store);
    free(keys);
    return 0;
}
