/* write-bytes: what one durable write costs in bytes handed to write(2)/pwrite(2) ("wchar" of
 * /proc/self/io, as tick-bytes counts them), for libjobs and for raw LMDB in the same run.
 *
 * libjobs: N active jobs of 100 owners on one periodic schedule, loaded with jobs_batch() and
 * commits not flushed; the store is reopened with the default options (durable commits, group
 * commit on, one thread: each call is its own commit), and K calls of each kind are counted:
 * jobs_create() of an active job, jobs_update() renaming it, jobs_update() disabling it (do_run
 * off, so that the delete is a delete and not a queueing), jobs_delete().
 *
 * Raw LMDB: the same N records in one database "jobs" keyed by 8-byte big-endian ids, values
 * the size of libjobs' record (bench_record_size(), engine_lmdb.c), loaded without flushing;
 * then, with the default flags (every commit flushed), K of each: mdb_put of a new key,
 * mdb_put over an existing key, mdb_del, each with its own mdb_txn_commit.
 *
 * Then the tree depth and pages of every database of the libjobs store (mdb_stat on the
 * closed store's files, opened read-only), to show where the pages go.
 *
 *   write-bytes DIR N [K]     (DIR must not exist; K defaults to 200)
 *
 * DIR is left in place (DIR/libjobs, DIR/lmdb); nothing outside it is written or removed. */
#include <jobs.h>
#include <lmdb.h>

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bench.h"

#define OWNERS BENCH_OWNERS
#define PERIOD 3600
#define K_DEFAULT 200
#define PAGE 4096.0
/* Room for any value: bench_record_size() of a job with a name of BENCH_NAME_MAX bytes. */
#define VALUE_MAX 128

static const int64_t t0 = 1800000000;
static int64_t now;

/* ---- what bench.h asks of each program (util.c has the rest) ---- */

void bench_fail(const char *fmt, ...)
{
    va_list ap;

    fflush(stdout);
    fputs("write-bytes: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(1);
}

/* ---- counting ----------------------------------------------------------------------------- */

/* The bytes this process has handed to write(2) and its kin so far. */
static long long wchar(void)
{
    FILE *f = fopen("/proc/self/io", "r");
    char line[128];
    long long v = -1;

    if (!f)
        bench_fail("/proc/self/io: %s", strerror(errno));
    while (fgets(line, sizeof(line), f))
        if (strncmp(line, "wchar:", 6) == 0)
            v = atoll(line + 6);
    fclose(f);
    if (v < 0)
        bench_fail("/proc/self/io has no wchar line");
    return v;
}

/* One kind of operation: its bytes, and (libjobs) the writes and commits the store counted. */
typedef struct figure {
    const char *what;
    long long bytes;
    uint64_t writes, commits;
} figure;

static void print_figure(const figure *f, uint64_t k, bool store_counts)
{
    printf("  %-30s %9.0f bytes/op %7.2f pages/op", f->what, (double)f->bytes / (double)k,
           (double)f->bytes / PAGE / (double)k);
    if (store_counts)
        printf("  %.2f commits/op (%.2f writes/op)", (double)f->commits / (double)k,
               (double)f->writes / (double)k);
    putchar('\n');
}

static uint64_t parse_count(const char *s, const char *what)
{
    char *end;
    unsigned long long v;

    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-' || v == 0 || v > JOBS_ID_MAX / 4)
        bench_fail("%s must be a positive whole number, not '%s'", what, s);
    return v;
}

/* ---- libjobs ------------------------------------------------------------------------------ */

static int64_t fixed_clock(void *ctx)
{
    (void)ctx;
    return now;
}

static BENCH_NORETURN void lj_fail(const char *what, int rc)
{
    bench_fail("libjobs: %s: %s (%s)", what, jobs_strerror(rc), jobs_error_last());
}

static uint64_t owner_of(uint64_t id)
{
    return 1 + id % OWNERS;
}

static void job_name(char *buf, size_t size, const char *prefix, uint64_t id)
{
    int n = snprintf(buf, size, "%s-%08" PRIu64, prefix, id);

    if (n < 0 || (size_t)n >= size)
        bench_fail("job name too long for id %" PRIu64, id);
}

static jobs_store *lj_open(const char *path, bool durable)
{
    jobs_store_options o = JOBS_STORE_OPTIONS_INIT;
    jobs_options_lmdb l = JOBS_OPTIONS_INIT_LMDB;
    jobs_store *s;
    int rc;

    o.path = path;
    o.clock = fixed_clock;
    if (!durable) {
        l.flags = JOBS_NOSYNC_LMDB;
        l.map_size = (size_t)1 << 30;
        o.lmdb = &l;
    }
    if ((rc = jobs_store_open(&s, &o)))
        lj_fail("jobs_store_open", rc);
    return s;
}

static void lj_stat(jobs_store_stat_info *st, jobs_store *s)
{
    int rc;

    *st = (jobs_store_stat_info)JOBS_STORE_STAT_INFO_INIT;
    if ((rc = jobs_store_stat(st, s)))
        lj_fail("jobs_store_stat", rc);
}

/* N active jobs on the schedule: one jobs_batch() per owner in turn, N / 100 jobs each (at
 * most 1,000), so every owner gets its share; job i is named job-<i> as in jobs-bench. */
static void lj_load(jobs_store *s, uint64_t n, uint64_t stack, uint64_t schedule)
{
    size_t per = n / OWNERS < 1 ? 1 : n / OWNERS > 1000 ? 1000 : (size_t)(n / OWNERS);
    jobs_batch_op *ops = bench_malloc(per * sizeof(*ops));
    char(*names)[BENCH_NAME_MAX + 1] = bench_malloc(per * sizeof(*names));
    jobs_batch_op init = JOBS_BATCH_OP_INIT;
    uint64_t done = 0;

    for (uint64_t b = 0; done < n; b++) {
        size_t m = n - done < per ? (size_t)(n - done) : per, failed;
        int rc;

        for (size_t i = 0; i < m; i++) {
            job_name(names[i], sizeof(names[i]), "job", done + i + 1);
            ops[i] = init;
            ops[i].spec.fields = JOBS_JOB_NAME | JOBS_JOB_STACK | JOBS_JOB_SCHEDULE |
                                 JOBS_JOB_ENABLED;
            ops[i].spec.name = names[i];
            ops[i].spec.stack = stack;
            ops[i].spec.schedule = schedule;
            ops[i].spec.enabled = true;
        }
        /* The next runs spread over the period, one second per batch. */
        now = t0 + (int64_t)(b % PERIOD);
        if ((rc = jobs_batch(&failed, s, 1 + b % OWNERS, ops, m)))
            lj_fail("jobs_batch", rc);
        for (size_t i = 0; i < m; i++)
            if (ops[i].id != done + i + 1)
                bench_fail("libjobs: the load created job %" PRIu64 ", expected %" PRIu64,
                           ops[i].id, done + i + 1);
        done += m;
    }
    now = t0;
    free(names);
    free(ops);
}

typedef struct lj_run {
    jobs_store *s;
    uint64_t n, k, stack, schedule;
    jobs_store_stat_info before;
    long long w0;
} lj_run;

static void lj_begin(lj_run *r)
{
    lj_stat(&r->before, r->s);
    fflush(stdout); /* nothing of ours is written while counting */
    r->w0 = wchar();
}

static void lj_end(lj_run *r, figure *f)
{
    jobs_store_stat_info after;

    f->bytes = wchar() - r->w0;
    lj_stat(&after, r->s);
    f->writes = after.writes - r->before.writes;
    f->commits = after.commits - r->before.commits;
}

/* Jobs n+1 .. n+k: created active, renamed, disabled, deleted, one call each. */
static void lj_measure(lj_run *r, figure f[4])
{
    jobs_job_spec spec = JOBS_JOB_SPEC_INIT;
    char name[BENCH_NAME_MAX + 1];
    int rc;

    spec.fields = JOBS_JOB_NAME | JOBS_JOB_STACK | JOBS_JOB_SCHEDULE | JOBS_JOB_ENABLED;
    spec.name = name;
    spec.stack = r->stack;
    spec.schedule = r->schedule;
    spec.enabled = true;
    lj_begin(r);
    for (uint64_t id = r->n + 1; id <= r->n + r->k; id++) {
        uint64_t got;

        job_name(name, sizeof(name), "new", id);
        if ((rc = jobs_create(&got, r->s, owner_of(id), &spec)))
            lj_fail("jobs_create", rc);
        if (got != id)
            bench_fail("libjobs: created job %" PRIu64 ", expected %" PRIu64, got, id);
    }
    lj_end(r, &f[0]);

    spec = (jobs_job_spec)JOBS_JOB_SPEC_INIT;
    spec.fields = JOBS_JOB_NAME;
    spec.name = name;
    lj_begin(r);
    for (uint64_t id = r->n + 1; id <= r->n + r->k; id++) {
        job_name(name, sizeof(name), "upd", id);
        if ((rc = jobs_update(NULL, r->s, owner_of(id), id, &spec)))
            lj_fail("jobs_update (rename)", rc);
    }
    lj_end(r, &f[1]);

    spec = (jobs_job_spec)JOBS_JOB_SPEC_INIT;
    spec.fields = JOBS_JOB_ENABLED;
    spec.enabled = false;
    lj_begin(r);
    for (uint64_t id = r->n + 1; id <= r->n + r->k; id++)
        if ((rc = jobs_update(NULL, r->s, owner_of(id), id, &spec)))
            lj_fail("jobs_update (disable)", rc);
    lj_end(r, &f[2]);

    lj_begin(r);
    for (uint64_t id = r->n + 1; id <= r->n + r->k; id++) {
        jobs_delete_outcome outcome = 0;

        if ((rc = jobs_delete(&outcome, r->s, owner_of(id), id)))
            lj_fail("jobs_delete", rc);
        if (outcome != JOBS_DELETED)
            bench_fail("libjobs: job %" PRIu64 " was queued for deletion, not deleted", id);
    }
    lj_end(r, &f[3]);
}

/* Fills f and params (the ids of the stack and the schedule the jobs run). */
static void run_libjobs(const char *path, uint64_t n, uint64_t k, figure f[4],
                       bench_params *params)
{
    jobs_schedule_spec sspec = JOBS_SCHEDULE_SPEC_INIT;
    jobs_store_stat_info st;
    lj_run r;
    int rc;

    memset(&r, 0, sizeof(r));
    r.n = n;
    r.k = k;
    now = t0;
    r.s = lj_open(path, false);
    if ((rc = jobs_stack_create(&r.stack, r.s, 1, "bench", true)))
        lj_fail("jobs_stack_create", rc);
    sspec.fields = JOBS_SCHEDULE_NAME | JOBS_SCHEDULE_CONFIG;
    sspec.name = "bench";
    sspec.period = PERIOD;
    if ((rc = jobs_schedule_create(&r.schedule, r.s, JOBS_OWNER_PUBLIC, &sspec)))
        lj_fail("jobs_schedule_create", rc);
    params->stack = r.stack;
    params->schedule = r.schedule;
    lj_load(r.s, n, r.stack, r.schedule);
    jobs_store_close(r.s);

    r.s = lj_open(path, true);
    lj_stat(&st, r.s);
    if (st.jobs != n || st.jobs_active != n)
        bench_fail("libjobs: the loaded store holds %" PRIu64 " jobs (%" PRIu64
                   " active), expected %" PRIu64, st.jobs, st.jobs_active, n);
    lj_measure(&r, f);
    lj_stat(&st, r.s);
    if (st.jobs != n)
        bench_fail("libjobs: the store holds %" PRIu64 " jobs after the run, expected %" PRIu64,
                   st.jobs, n);
    jobs_store_close(r.s);
}

/* ---- raw LMDB ----------------------------------------------------------------------------- */

static BENCH_NORETURN void raw_fail(const char *what, int rc)
{
    bench_fail("LMDB: %s: %s", what, mdb_strerror(rc));
}

static void be64_put(unsigned char *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        p[i] = (unsigned char)(v & 0xff);
        v >>= 8;
    }
}

static MDB_env *raw_open(const char *path, bool durable, uint64_t n, MDB_dbi *dbi)
{
    MDB_env *env;
    MDB_txn *txn;
    size_t map = (size_t)1 << 30;
    int rc;

    if (n * 256 > map)
        map = (size_t)n * 256;
    if ((rc = mdb_env_create(&env)) || (rc = mdb_env_set_maxdbs(env, 2)) ||
        (rc = mdb_env_set_mapsize(env, map)) ||
        (rc = mdb_env_open(env, path, durable ? 0 : MDB_NOSYNC, 0600)))
        raw_fail(path, rc);
    if ((rc = mdb_txn_begin(env, NULL, 0, &txn)) ||
        (rc = mdb_dbi_open(txn, "jobs", MDB_CREATE, dbi)) || (rc = mdb_txn_commit(txn)))
        raw_fail("opening the jobs database", rc);
    return env;
}

static void raw_load(MDB_env *env, MDB_dbi dbi, uint64_t n, size_t vlen)
{
    unsigned char key[8], val[VALUE_MAX] = {1};
    MDB_val k = {8, key}, v = {vlen, val};
    MDB_txn *txn = NULL;
    int rc;

    for (uint64_t id = 1; id <= n; id++) {
        if (!txn && (rc = mdb_txn_begin(env, NULL, 0, &txn)))
            raw_fail("mdb_txn_begin", rc);
        be64_put(key, id);
        if ((rc = mdb_put(txn, dbi, &k, &v, MDB_NOOVERWRITE)))
            raw_fail("loading a record", rc);
        if (id % 100000 == 0 || id == n) {
            if ((rc = mdb_txn_commit(txn)))
                raw_fail("mdb_txn_commit", rc);
            txn = NULL;
        }
    }
}

/* One operation and its commit: put (new or existing key) or, with del, delete. */
static void raw_op(MDB_env *env, MDB_dbi dbi, uint64_t id, size_t vlen, unsigned flags, bool del)
{
    unsigned char key[8], val[VALUE_MAX] = {2};
    MDB_val k = {8, key}, v = {vlen, val};
    MDB_txn *txn;
    int rc;

    be64_put(key, id);
    if ((rc = mdb_txn_begin(env, NULL, 0, &txn)))
        raw_fail("mdb_txn_begin", rc);
    rc = del ? mdb_del(txn, dbi, &k, NULL) : mdb_put(txn, dbi, &k, &v, flags);
    if (rc)
        raw_fail(del ? "mdb_del" : "mdb_put", rc);
    if ((rc = mdb_txn_commit(txn)))
        raw_fail("mdb_txn_commit", rc);
}

static void raw_stat(MDB_env *env, MDB_dbi dbi, MDB_stat *st)
{
    MDB_txn *txn;
    int rc;

    if ((rc = mdb_txn_begin(env, NULL, MDB_RDONLY, &txn)) || (rc = mdb_stat(txn, dbi, st)))
        raw_fail("mdb_stat", rc);
    mdb_txn_abort(txn);
}

static void run_raw(const char *path, uint64_t n, uint64_t k, size_t vlen, figure f[3],
                    MDB_stat *st)
{
    MDB_env *env;
    MDB_dbi dbi;
    long long w0;

    if (mkdir(path, 0700))
        bench_fail("%s: %s", path, strerror(errno));
    env = raw_open(path, false, n, &dbi);
    raw_load(env, dbi, n, vlen);
    mdb_env_close(env);

    env = raw_open(path, true, n, &dbi);
    fflush(stdout);
    w0 = wchar();
    for (uint64_t id = n + 1; id <= n + k; id++)
        raw_op(env, dbi, id, vlen, MDB_NOOVERWRITE, false);
    f[0].bytes = wchar() - w0;
    w0 = wchar();
    for (uint64_t id = n + 1; id <= n + k; id++)
        raw_op(env, dbi, id, vlen, 0, false);
    f[1].bytes = wchar() - w0;
    w0 = wchar();
    for (uint64_t id = n + 1; id <= n + k; id++)
        raw_op(env, dbi, id, vlen, 0, true);
    f[2].bytes = wchar() - w0;
    raw_stat(env, dbi, st);
    if (st->ms_entries != n)
        bench_fail("LMDB: the jobs database holds %zu records after the run, expected %" PRIu64,
                   st->ms_entries, n);
    mdb_env_close(env);
}

/* ---- where the libjobs store's pages are -------------------------------------------------- */

static void print_db(const char *name, const MDB_stat *st)
{
    printf("  %-22s depth %u, %6zu branch %9zu leaf %6zu overflow pages, %9zu entries\n", name,
           st->ms_depth, st->ms_branch_pages, st->ms_leaf_pages, st->ms_overflow_pages,
           st->ms_entries);
}

static void print_store_dbs(const char *path)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_cursor *cur;
    MDB_dbi main;
    MDB_val k, v;
    MDB_stat st;
    int rc;

    if ((rc = mdb_env_create(&env)) || (rc = mdb_env_set_maxdbs(env, 256)) ||
        (rc = mdb_env_open(env, path, MDB_RDONLY, 0600)))
        raw_fail("opening the libjobs store read-only", rc);
    if ((rc = mdb_txn_begin(env, NULL, MDB_RDONLY, &txn)) ||
        (rc = mdb_dbi_open(txn, NULL, 0, &main)) || (rc = mdb_stat(txn, main, &st)))
        raw_fail("reading the store's main database", rc);
    printf("libjobs store, every database (mdb_stat; pages of %u bytes):\n", st.ms_psize);
    print_db("(main)", &st);
    if ((rc = mdb_cursor_open(txn, main, &cur)))
        raw_fail("mdb_cursor_open", rc);
    /* The keys of the main database name the named databases. */
    while ((rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) == 0) {
        char name[128];
        MDB_dbi dbi;

        if (k.mv_size >= sizeof(name) || memchr(k.mv_data, '\0', k.mv_size)) {
            printf("  (a key of %zu bytes that names no database)\n", k.mv_size);
            continue;
        }
        memcpy(name, k.mv_data, k.mv_size);
        name[k.mv_size] = '\0';
        rc = mdb_dbi_open(txn, name, 0, &dbi);
        if (rc == MDB_INCOMPATIBLE) {
            printf("  %-22s (a plain record of the main database)\n", name);
            continue;
        }
        if (rc || (rc = mdb_stat(txn, dbi, &st)))
            raw_fail(name, rc);
        print_db(name, &st);
    }
    if (rc != MDB_NOTFOUND)
        raw_fail("walking the main database", rc);
    mdb_cursor_close(cur);
    mdb_txn_abort(txn);
    mdb_env_close(env);
}

/* ---- main --------------------------------------------------------------------------------- */

int main(int argc, char **argv)
{
    static const char *const lj_what[4] = {"create (active job)", "update (rename)",
                                           "update (disable)", "delete (inactive job)"};
    static const char *const raw_what[3] = {"create (put, new key)", "update (put, same key)",
                                            "delete (del)"};
    figure lj[4], raw[3];
    char lj_path[4096], raw_path[4096];
    bench_params params = {PERIOD, 0, 0};
    bench_job sample;
    MDB_stat raw_st;
    uint64_t n, k = K_DEFAULT;
    size_t vlen;
    int major, minor, patch;

    if (argc != 3 && argc != 4) {
        fprintf(stderr, "usage: write-bytes DIR N [K]   (DIR must not exist; K defaults to %d)\n",
                K_DEFAULT);
        return 2;
    }
    n = parse_count(argv[2], "N");
    if (argc == 4)
        k = parse_count(argv[3], "K");
    if (mkdir(argv[1], 0700))
        bench_fail("%s: %s%s", argv[1], strerror(errno),
                   errno == EEXIST ? " (DIR must not exist)" : "");
    bench_path(lj_path, sizeof(lj_path), argv[1], "libjobs");
    bench_path(raw_path, sizeof(raw_path), argv[1], "lmdb");

    memset(lj, 0, sizeof(lj));
    memset(raw, 0, sizeof(raw));
    for (int i = 0; i < 4; i++)
        lj[i].what = lj_what[i];
    for (int i = 0; i < 3; i++)
        raw[i].what = raw_what[i];
    mdb_version(&major, &minor, &patch);
    printf("write-bytes: N = %" PRIu64 " jobs preloaded, K = %" PRIu64
           " ops of each kind, each its own durable commit; libjobs %s, LMDB %d.%d.%d\n",
           n, k, jobs_version_string(), major, minor, patch);
    printf("bytes = what the process handed to write(2)/pwrite(2) (wchar of /proc/self/io), "
           "pages = bytes / 4096\n");
    fflush(stdout);

    run_libjobs(lj_path, n, k, lj, &params);
    printf("libjobs (public API, default options: durable, group commit on, one thread; %d "
           "owners, one schedule of period %d s):\n", OWNERS, PERIOD);
    for (int i = 0; i < 4; i++)
        print_figure(&lj[i], k, true);
    fflush(stdout);

    /* The raw value: the size of libjobs' record (format 1) of a loaded job. */
    memset(&sample, 0, sizeof(sample));
    sample.id = n;
    sample.owner = owner_of(n);
    sample.enabled = true;
    sample.next_run = t0 + PERIOD;
    job_name(sample.name, sizeof(sample.name), "job", n);
    sample.name_len = strlen(sample.name);
    vlen = bench_record_size(&params, &sample);
    if (vlen > VALUE_MAX)
        bench_fail("a record of %zu bytes is longer than %d", vlen, VALUE_MAX);
    run_raw(raw_path, n, k, vlen, raw, &raw_st);
    for (int i = 0; i < 4; i++)
        if (lj[i].bytes <= 0 || (i < 3 && raw[i].bytes <= 0))
            bench_fail("no bytes counted for %s", lj[i].bytes <= 0 ? lj[i].what : raw[i].what);
    printf("raw LMDB (one database \"jobs\", 8-byte big-endian keys, %zu-byte values; "
           "default flags, one txn + commit per op):\n", vlen);
    for (int i = 0; i < 3; i++)
        print_figure(&raw[i], k, false);
    printf("libjobs/raw, bytes per op: create %.2f, update (rename) %.2f, update (disable) %.2f, "
           "delete %.2f\n",
           (double)lj[0].bytes / (double)raw[0].bytes, (double)lj[1].bytes / (double)raw[1].bytes,
           (double)lj[2].bytes / (double)raw[1].bytes, (double)lj[3].bytes / (double)raw[2].bytes);
    print_store_dbs(lj_path);
    printf("raw LMDB, for comparison:\n");
    print_db("jobs", &raw_st);
    printf("data left in %s\n", argv[1]);
    return 0;
}
