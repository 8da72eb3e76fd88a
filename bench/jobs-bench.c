/*
 * jobs-bench: libjobs against raw LMDB (the floor for this store) and SQLite 3, in one process
 * and one run, for stores of N jobs spread over 100 owners, plus one owner with many jobs for
 * deep pages. Prints a table of operations per second with the ratios libjobs/LMDB and
 * libjobs/SQLite and the bytes on disk per job, checks the targets of issues 4 and 16 (the later
 * one raised some), and writes the same as JSON.
 *
 *   jobs-bench [--quick | --smoke] [--json PATH | --no-json] [--tmpdir DIR] [--min-time S]
 *              [--rounds N] [--deep N] [--source TEXT] [--pg URI]
 *
 * --pg URI adds a fourth engine, libjobs on PostgreSQL (a fresh schema of that database per
 * store, dropped at the end), measured in the same rounds as the others: its column is
 * "PostgreSQL". Its stores are loaded with SQL (the rows jobs_create would write, counts and
 * page buckets included), not through the API; everything measured goes through the API.
 *
 * Full run: N = 10 k, 100 k and 1 M, and a deep owner of 500 k jobs (page 50,000 is its last).
 * --quick: N = 10 k only (and the deep owner). --smoke: N = 1,000 and 2,000 and a small deep
 * owner, tiny timings, commits not flushed, no targets: checks that every engine answers right,
 * in a second or so (a ctest case).
 *
 * Method. The stores grow in place: 10 k jobs are loaded and measured, then 90 k more are
 * added, and so on; the deep owner is added last, so the figures for each N are for exactly N
 * jobs. Every measurement runs each engine in turn (the order rotating per round), in rounds
 * of at least --min-time seconds, and keeps the best of --rounds (3): the machine is shared, so
 * only ratios within one run mean anything. Where a target compares two figures of libjobs
 * itself, both are timed in the same rounds: page 50,000 right after page 1, and each tick of
 * the N store right after one of a reference store that keeps the smallest N. Every answer is
 * checked (ids, owners, names, pages' contents and counts, the number of jobs each tick takes),
 * so nothing can time nothing.
 *
 * The jobs. Job k gets id k (libjobs assigns ids from 1; the others are given the same), owner
 * 1 + id % 100 and name "job-%08d" of its id. All base jobs are active on one schedule of period
 * P seconds, spread evenly over a window of P seconds, d = N / P per second, so a tick that
 * moves time on by 1000 / d seconds finds exactly 1,000 jobs due, and moving each on by one
 * period leaves the window as even as before. The deep owner's jobs are inactive.
 */
#include <errno.h>
#include <ftw.h>
#include <inttypes.h>
#include <lmdb.h>
#include <math.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <jobs.h>

#include "bench.h"

#define MAX_ENGINES 4
#define MAX_ROUNDS 20
#define MAX_SIZES 4
#define MAX_ROWS 12
#define LOAD_CHUNK 20000
#define TICK_DUE 1000
#define MAX_TARGETS 32

/* The fourth, libjobs on PostgreSQL, only with --pg (built with the PostgreSQL backend). */
static const bench_engine_ops *const engine_ops[MAX_ENGINES] = {
    &bench_libjobs_ops, &bench_lmdb_ops, &bench_sqlite_ops,
#ifdef BENCH_WITH_PG
    &bench_libjobs_pg_ops
#else
    NULL
#endif
};
static const char *const engine_keys[MAX_ENGINES] = {"libjobs", "lmdb", "sqlite", "postgresql"};
/* Engines in this run: 3, or 4 with --pg. */
static int nengines = 3;

size_t bench_bulk_batch = JOBS_BATCH_MAX;

/* ---- configuration ---------------------------------------------------------------------- */

typedef struct config {
    const char *mode;
    uint64_t sizes[MAX_SIZES];
    size_t nsizes;
    uint64_t deep;        /* jobs of the deep owner, 0 for none */
    double min_time;      /* seconds per engine per round */
    int rounds;           /* timed rounds per measurement; the best counts */
    size_t keys;          /* random keys the reads cycle through */
    size_t write_warm;    /* durable writes per engine to estimate their cost */
    size_t write_min, write_max;
    size_t tick_max;
    bool targets;         /* judge the targets (not in smoke mode) */
    bool durable;         /* flush every commit after loading (not in smoke mode: no fsync) */
    const char *json;     /* NULL: no JSON file */
    const char *source;   /* what was measured, e.g. a git commit ("" when not told) */
    const char *tmpdir;
    uint64_t bulk;        /* jobs of the bulk-load comparison, 0 for none */
    bool only_bulk;       /* --only-bulk: nothing but the bulk load */
} config;

/* ---- results ---------------------------------------------------------------------------- */

typedef enum target_kind {
    T_NONE,   /* information only */
    T_READ,   /* get by name: >= 0.6x raw LMDB and >= 3x SQLite */
    T_READ_ID, /* get by id: >= 0.9x raw LMDB and >= 3x SQLite (issue 16) */
    T_WRITE,  /* >= 0.9x raw LMDB single put + commit (issue 16; issue 4 asked 0.8x) */
    T_BYTES   /* <= 256 bytes per job at 1 M jobs */
} target_kind;

typedef struct row {
    const char *label, *key, *unit;
    double v[MAX_ENGINES];
    size_t per_round[MAX_ENGINES]; /* operations per timed round */
    target_kind target;
    int met; /* -1 no target here, 0 missed, 1 met */
} row;

typedef struct phase {
    const char *title;
    bool deep;      /* the deep owner's phase */
    uint64_t n;     /* jobs of the phase (N, or the deep owner's) */
    uint64_t total; /* jobs in each store */
    double load_s[MAX_ENGINES];
    uint64_t loaded;
    row rows[MAX_ROWS];
    size_t nrows;
} phase;

typedef struct target_result {
    char what[160];
    double value, limit;
    bool at_most; /* value <= limit, else value >= limit */
    int met;      /* -1 not measured in this run */
    char note[160];
} target_result;

/* ---- run state -------------------------------------------------------------------------- */

static char tmp_dir[4096];

static struct {
    config cfg;
    bench_params params;
    void *e[MAX_ENGINES];
    uint64_t next_id;          /* the id libjobs assigns next */
    uint64_t *base;            /* live base jobs' ids, ascending */
    size_t nbase, cap;
    uint64_t owner_count[BENCH_OWNERS + 1];
    int64_t tick_now;          /* every slot up to here has been ticked */
    uint64_t per_second;       /* base jobs due per second of the window */
    /* A second store per engine that keeps the smallest N, so that the tick at every N is
     * timed in the same rounds as the tick at the smallest: the tick target is a ratio of the
     * two, and the machine's noise changes between phases far more than within a round. */
    void *ref[MAX_ENGINES];
    uint64_t ref_n;            /* 0: no reference stores (a run with one N) */
    int64_t ref_tick_now;
    uint64_t rng;
    phase phases[MAX_SIZES + 1];
    size_t nphases;
    target_result targets[MAX_TARGETS];
    size_t ntargets;
} run;

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void remove_tmp(void)
{
    if (tmp_dir[0]) {
        nftw(tmp_dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
        tmp_dir[0] = '\0';
    }
}

/* Ctrl-C (or a closed pipe) during a long run: remove the (possibly large) data directory. Not
 * async-signal-safe, so the handler is one-shot: a second signal kills the process the default
 * way. */
static void on_signal(int sig)
{
    remove_tmp();
    _exit(128 + sig);
}

static void install_signal_handlers(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESETHAND;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    sigaction(SIGPIPE, &sa, NULL); /* e.g. piped into head */
}

void bench_fail(const char *fmt, ...)
{
    va_list ap;

    fflush(stdout);
    fputs("jobs-bench: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    remove_tmp();
    exit(1);
}

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* A number with thousands separators; one decimal below 100. */
static const char *fmt_num(char *buf, size_t size, double v)
{
    char digits[64];
    size_t len, out = 0;

    if (v < 100) {
        snprintf(buf, size, "%.1f", v);
        return buf;
    }
    snprintf(digits, sizeof(digits), "%.0f", v);
    len = strlen(digits);
    for (size_t i = 0; i < len && out + 2 < size; i++) {
        if (i > 0 && (len - i) % 3 == 0)
            buf[out++] = ',';
        buf[out++] = digits[i];
    }
    buf[out] = '\0';
    return buf;
}

static void progress(const char *fmt, ...) BENCH_PRINTF(1, 2);
static void progress(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fflush(stderr);
}

static uint64_t rng_next(void)
{
    /* xorshift64*: the same sequence every run. */
    run.rng ^= run.rng >> 12;
    run.rng ^= run.rng << 25;
    run.rng ^= run.rng >> 27;
    return run.rng * UINT64_C(2685821657736338717);
}

static uint64_t owner_of(uint64_t id)
{
    return 1 + id % BENCH_OWNERS;
}

static void make_job(bench_job *j, uint64_t id, uint64_t owner, const char *prefix,
                     bool enabled, int64_t next_run)
{
    j->id = id;
    j->owner = owner;
    j->enabled = enabled;
    j->next_run = enabled ? next_run : 0;
    j->name_len = (size_t)snprintf(j->name, sizeof(j->name), "%s-%08" PRIu64, prefix, id);
}

/* ---- measuring -------------------------------------------------------------------------- */

/* Runs `count` operations of one kind on engine `e`, starting at position `start`. */
typedef void (*batch_fn)(int e, size_t start, size_t count, void *ctx);

static double timed(batch_fn fn, int e, size_t start, size_t count, void *ctx)
{
    double t0 = now_s();

    fn(e, start, count, ctx);
    return now_s() - t0;
}

static row *add_row(phase *ph, const char *label, const char *key, const char *unit,
                    target_kind target)
{
    row *r;

    if (ph->nrows == MAX_ROWS)
        bench_fail("too many rows in a phase");
    r = &ph->rows[ph->nrows++];
    memset(r, 0, sizeof(*r));
    r->label = label;
    r->key = key;
    r->unit = unit;
    r->target = target;
    r->met = -1;
    return r;
}

/* One kind of operation to measure: its row, its batches, and where each engine is. */
typedef struct measured {
    row *r;
    batch_fn fn;
    void *ctx;
    size_t pos[MAX_ENGINES], count[MAX_ENGINES];
} measured;

/* Calibrates each engine to rounds of at least min_time, then keeps the best of the rounds. */
static void calibrate(measured *m)
{
    const double min_time = run.cfg.min_time;

    for (int e = 0; e < nengines; e++) {
        size_t c = 1;
        double t;

        for (;;) {
            t = timed(m->fn, e, m->pos[e], c, m->ctx);
            m->pos[e] += c;
            if (t >= min_time / 10 || c >= ((size_t)1 << 26))
                break;
            c *= 2;
        }
        m->count[e] = (size_t)ceil(min_time * (double)c / (t > 0 ? t : 1e-9));
        if (m->count[e] < 1)
            m->count[e] = 1;
        m->r->per_round[e] = m->count[e];
    }
}

static void measure_round(measured *m, int e)
{
    double t = timed(m->fn, e, m->pos[e], m->count[e], m->ctx);
    double rate = (double)m->count[e] / (t > 0 ? t : 1e-9);

    m->pos[e] += m->count[e];
    if (rate > m->r->v[e])
        m->r->v[e] = rate;
}

/* Measures one kind of operation, or two (b not NULL) whose ratio matters: then both run in
 * the same rounds, one right after the other, so that the machine's noise hits both alike. */
static void measure2(row *a, batch_fn fa, void *ca, row *b, batch_fn fb, void *cb)
{
    measured m[2] = {{a, fa, ca, {0}, {0}}, {b, fb, cb, {0}, {0}}};
    int nm = b ? 2 : 1;

    for (int i = 0; i < nm; i++)
        calibrate(&m[i]);
    for (int round = 0; round < run.cfg.rounds; round++)
        for (int k = 0; k < nengines; k++)
            for (int i = 0; i < nm; i++)
                measure_round(&m[(round + i) % nm], (round + k) % nengines);
}

static void measure(row *r, batch_fn fn, void *ctx)
{
    measure2(r, fn, ctx, NULL, NULL, NULL);
}

typedef struct read_ctx {
    const bench_job *keys;
    size_t nkeys;
    const bench_page *pages;
    size_t npages;
} read_ctx;

static void batch_get_by_id(int e, size_t start, size_t count, void *arg)
{
    read_ctx *c = arg;

    engine_ops[e]->get_by_id(run.e[e], c->keys, c->nkeys, start, count);
}

static void batch_get_by_name(int e, size_t start, size_t count, void *arg)
{
    read_ctx *c = arg;

    engine_ops[e]->get_by_name(run.e[e], c->keys, c->nkeys, start, count);
}

static void batch_list(int e, size_t start, size_t count, void *arg)
{
    read_ctx *c = arg;

    engine_ops[e]->list(run.e[e], c->pages, c->npages, start, count);
}

/* ---- growing the stores ----------------------------------------------------------------- */

static void base_append(uint64_t id)
{
    if (run.nbase == run.cap) {
        size_t cap = run.cap ? run.cap * 2 : 65536;
        uint64_t *p = realloc(run.base, cap * sizeof(*p));

        if (!p)
            bench_fail("out of memory");
        run.base = p;
        run.cap = cap;
    }
    run.base[run.nbase++] = id;
    run.owner_count[owner_of(id)]++;
}

/* Loads jobs made by `make` (index i of n) into every engine's store `inst` in chunks, adding
 * the time each engine took to load_s (when not NULL). */
typedef void (*make_fn)(bench_job *j, uint64_t i);

static void load_all(void **inst, double *load_s, uint64_t n, make_fn make)
{
    bench_job *chunk = bench_malloc(LOAD_CHUNK * sizeof(*chunk));

    for (int e = 0; e < nengines; e++)
        engine_ops[e]->set_durable(inst[e], false);
    for (uint64_t done = 0; done < n;) {
        size_t m = n - done < LOAD_CHUNK ? (size_t)(n - done) : LOAD_CHUNK;

        for (size_t i = 0; i < m; i++)
            make(&chunk[i], done + i);
        for (int e = 0; e < nengines; e++) {
            double t0 = now_s();

            engine_ops[e]->load(inst[e], chunk, m);
            if (load_s)
                load_s[e] += now_s() - t0;
        }
        done += m;
        if (n >= 200000 && done % 100000 == 0)
            progress("  loaded %" PRIu64 " of %" PRIu64 "\n", done, n);
    }
    free(chunk);
    for (int e = 0; e < nengines; e++)
        engine_ops[e]->set_durable(inst[e], run.cfg.durable);
}

static void make_base_job(bench_job *j, uint64_t i)
{
    /* Second 1..P of the window after the last tick, each getting the same number of jobs. */
    int64_t second = 1 + (int64_t)(i % (uint64_t)run.params.period);
    uint64_t id = run.next_id++;

    make_job(j, id, owner_of(id), "job", true, run.tick_now + second);
    base_append(id);
}

static void make_ref_job(bench_job *j, uint64_t i)
{
    int64_t second = 1 + (int64_t)(i % (uint64_t)run.params.period);

    make_job(j, i + 1, owner_of(i + 1), "job", true, run.ref_tick_now + second);
}

/* The reference stores: the smallest N again, in a directory of their own. */
static void open_reference(uint64_t n)
{
    char dir[4200];

    bench_path(dir, sizeof(dir), tmp_dir, "reference");
    if (mkdir(dir, 0700) != 0)
        bench_fail("cannot create '%s': %s", dir, strerror(errno));
    for (int e = 0; e < nengines; e++)
        run.ref[e] = engine_ops[e]->open(dir, &run.params);
    run.ref_n = n;
    run.ref_tick_now = run.tick_now;
    progress("reference stores: loading %" PRIu64 " jobs\n", n);
    load_all(run.ref, NULL, n, make_ref_job);
    for (int e = 0; e < nengines; e++)
        if (engine_ops[e]->count(run.ref[e]) != n)
            bench_fail("the %s reference store has a wrong count", engine_ops[e]->name);
}

static uint64_t deep_first;

static void make_deep_job(bench_job *j, uint64_t i)
{
    make_job(j, deep_first + i, BENCH_DEEP_OWNER, "job", false, 0);
    run.next_id = deep_first + i + 1;
}

static void check_counts(uint64_t want)
{
    for (int e = 0; e < nengines; e++) {
        uint64_t n = engine_ops[e]->count(run.e[e]);

        if (n != want)
            bench_fail("%s holds %" PRIu64 " jobs, expected %" PRIu64, engine_ops[e]->name, n,
                       want);
    }
}

/* ---- the measurements of one N ---------------------------------------------------------- */

static void measure_reads(phase *ph)
{
    size_t nkeys = run.cfg.keys;
    bench_job *keys = bench_malloc(nkeys * sizeof(*keys));
    bench_page pages[BENCH_OWNERS];
    size_t filled = 0;
    read_ctx c;

    for (size_t i = 0; i < nkeys; i++) {
        uint64_t id = run.base[rng_next() % run.nbase];

        make_job(&keys[i], id, owner_of(id), "job", true, 0);
    }
    /* Page 1 of each owner: its ten lowest ids. */
    for (size_t o = 0; o < BENCH_OWNERS; o++) {
        pages[o].owner = o + 1;
        pages[o].page = 1;
        pages[o].count = run.owner_count[o + 1];
        pages[o].n = 0;
    }
    for (size_t i = 0; i < run.nbase && filled < BENCH_OWNERS; i++) {
        bench_page *p = &pages[owner_of(run.base[i]) - 1];

        if (p->n < BENCH_PAGE_SIZE) {
            p->ids[p->n++] = run.base[i];
            if (p->n == BENCH_PAGE_SIZE || p->n == p->count)
                filled++;
        }
    }
    c.keys = keys;
    c.nkeys = nkeys;
    c.pages = pages;
    c.npages = BENCH_OWNERS;

    progress("  get by id\n");
    measure(add_row(ph, "get by id", "get_by_id", "ops/s", T_READ_ID), batch_get_by_id, &c);
    progress("  get by name\n");
    measure(add_row(ph, "get by name", "get_by_name", "ops/s", T_READ), batch_get_by_name, &c);
    progress("  list page 1\n");
    measure(add_row(ph, "list page 1", "list_page_1", "ops/s", T_NONE), batch_list, &c);
    free(keys);
}

typedef struct write_batch {
    bench_job *created; /* as created: "new-<id>" */
    bench_job *renamed; /* the same jobs renamed: "upd-<id>" */
    size_t n;
} write_batch;

static void make_write_batch(write_batch *b, size_t n)
{
    b->n = n;
    b->created = bench_malloc(n * sizeof(*b->created));
    b->renamed = bench_malloc(n * sizeof(*b->renamed));
    for (size_t i = 0; i < n; i++) {
        uint64_t id = run.next_id++;

        make_job(&b->created[i], id, owner_of(id), "new", false, 0);
        make_job(&b->renamed[i], id, owner_of(id), "upd", false, 0);
    }
}

static void free_write_batch(write_batch *b)
{
    free(b->created);
    free(b->renamed);
}

/* After a batch was renamed and deleted: its jobs are gone everywhere; before the deletes, the
 * renamed ones answer to their new names where the engine's writes keep the name index. */
static void check_renamed(const write_batch *b)
{
    for (int e = 0; e < nengines; e++) {
        if (!engine_ops[e]->writes_keep_indexes)
            continue;
        engine_ops[e]->get_by_name(run.e[e], b->renamed, b->n, 0, b->n);
    }
}

static void check_gone(const write_batch *b)
{
    for (int e = 0; e < nengines; e++)
        for (size_t i = 0; i < b->n; i++)
            if (engine_ops[e]->exists(run.e[e], &b->created[i]))
                bench_fail("%s still has deleted job %" PRIu64, engine_ops[e]->name,
                           b->created[i].id);
}

static void measure_writes(phase *ph)
{
    row *rows[3] = {add_row(ph, "create (durable)", "create", "ops/s", T_WRITE),
                    add_row(ph, "update (durable)", "update", "ops/s", T_WRITE),
                    add_row(ph, "delete (durable)", "delete", "ops/s", T_WRITE)};
    write_batch warm, batches[MAX_ROUNDS];
    double fastest = 1e9;
    size_t k;

    /* Estimate: a few of each on every engine; the fastest sets the count for all. */
    progress("  durable create / update / delete\n");
    make_write_batch(&warm, run.cfg.write_warm);
    for (int e = 0; e < nengines; e++) {
        const bench_engine_ops *ops = engine_ops[e];
        double t0 = now_s(), t1, t2, t3;

        ops->create(run.e[e], warm.created, warm.n);
        t1 = now_s();
        ops->update(run.e[e], warm.renamed, warm.n);
        t2 = now_s();
        ops->remove(run.e[e], warm.renamed, warm.n);
        t3 = now_s();
        fastest = fmin(fastest, fmin(t1 - t0, fmin(t2 - t1, t3 - t2)) / (double)warm.n);
    }
    check_gone(&warm);
    free_write_batch(&warm);
    k = (size_t)ceil(run.cfg.min_time / fmax(fastest, 1e-9));
    k = k < run.cfg.write_min ? run.cfg.write_min : k > run.cfg.write_max ? run.cfg.write_max : k;

    for (int r = 0; r < run.cfg.rounds; r++)
        make_write_batch(&batches[r], k);
    for (int op = 0; op < 3; op++) {
        for (int r = 0; r < run.cfg.rounds; r++) {
            for (int j = 0; j < nengines; j++) {
                int e = (r + j) % nengines;
                const bench_engine_ops *ops = engine_ops[e];
                double t0 = now_s(), t;

                if (op == 0)
                    ops->create(run.e[e], batches[r].created, k);
                else if (op == 1)
                    ops->update(run.e[e], batches[r].renamed, k);
                else
                    ops->remove(run.e[e], batches[r].renamed, k);
                t = now_s() - t0;
                rows[op]->per_round[e] = k;
                if ((double)k / t > rows[op]->v[e])
                    rows[op]->v[e] = (double)k / t;
            }
        }
        if (op == 0)
            check_counts(run.nbase + (uint64_t)run.cfg.rounds * k);
        if (op == 1)
            for (int r = 0; r < run.cfg.rounds; r++)
                check_renamed(&batches[r]);
    }
    for (int r = 0; r < run.cfg.rounds; r++) {
        check_gone(&batches[r]);
        free_write_batch(&batches[r]);
    }
    check_counts(run.nbase);
}

/* The ticks of one store set: every engine ticks the same times, so all stores stay alike. */
typedef struct tick_set {
    row *r;
    void **e;
    int64_t *now;
    int64_t step;
} tick_set;

static int64_t tick_step(uint64_t per_second)
{
    int64_t step = (int64_t)(TICK_DUE / per_second);

    if (step < 1 || (uint64_t)step * per_second != TICK_DUE)
        bench_fail("%" PRIu64 " jobs per second cannot make exactly %d due", per_second,
                   TICK_DUE);
    return step;
}

static double tick_timed(tick_set *t, int e, size_t ticks)
{
    double t0 = now_s();

    engine_ops[e]->tick(t->e[e], *t->now, t->step, ticks, TICK_DUE);
    return now_s() - t0;
}

static void measure_tick(phase *ph)
{
    tick_set sets[2] = {
        {add_row(ph, "tick (1,000 due)", "tick_1000_due", "ticks/s", T_NONE), run.e,
         &run.tick_now, tick_step(run.per_second)},
        {NULL, run.ref, &run.ref_tick_now, 0}};
    int nsets = run.ref_n && ph->n != run.ref_n ? 2 : 1;
    double fastest = 1e9, slowest = 0;
    size_t ticks;

    if (nsets == 2) {
        static char label[64];
        char num[32];

        snprintf(label, sizeof(label), "  same, %s-job store",
                 fmt_num(num, sizeof(num), (double)run.ref_n));
        sets[1].r = add_row(ph, label, "tick_1000_due_reference", "ticks/s", T_NONE);
        sets[1].step = tick_step(run.ref_n / (uint64_t)run.params.period);
    }
    progress("  scheduler tick\n");
    for (int i = 0; i < nsets; i++) {
        for (int e = 0; e < nengines; e++) {
            double t = tick_timed(&sets[i], e, 1);

            fastest = fmin(fastest, t);
            slowest = fmax(slowest, t);
        }
        *sets[i].now += sets[i].step;
    }
    /* Every engine ticks its stores the same times (they hold the same jobs), so the rounds
     * are sized by one engine: the fastest, or with --pg the slowest (PostgreSQL's tick takes
     * seconds, and a round of hundreds of them would take an hour). */
    ticks = (size_t)ceil(run.cfg.min_time / fmax(nengines > 3 ? slowest : fastest, 1e-9));
    ticks = ticks < 1 ? 1 : ticks > run.cfg.tick_max ? run.cfg.tick_max : ticks;
    for (int round = 0; round < run.cfg.rounds; round++) {
        for (int k = 0; k < nengines; k++) {
            int e = (round + k) % nengines;

            for (int j = 0; j < nsets; j++) {
                tick_set *t = &sets[(round + j) % nsets];
                double rate = (double)ticks / fmax(tick_timed(t, e, ticks), 1e-9);

                t->r->per_round[e] = ticks;
                if (rate > t->r->v[e])
                    t->r->v[e] = rate;
            }
        }
        for (int i = 0; i < nsets; i++)
            *sets[i].now += (int64_t)ticks * sets[i].step;
    }
}

/* Two figures: the files' size (what the target is about), and the pages in use, which leaves
 * out free pages (LMDB keeps the pages a large transaction freed, so the size of a file depends
 * on how it was written; the pages in use do not). */
static void measure_bytes(phase *ph, uint64_t jobs, target_kind target)
{
    row *file = add_row(ph, "bytes on disk per job", "bytes_per_job", "bytes", target);
    row *live = add_row(ph, "  of which pages in use", "live_bytes_per_job", "bytes", T_NONE);

    for (int e = 0; e < nengines; e++) {
        file->v[e] = (double)engine_ops[e]->disk_bytes(run.e[e]) / (double)jobs;
        live->v[e] = (double)engine_ops[e]->live_bytes(run.e[e]) / (double)jobs;
    }
}

static void run_size(uint64_t n)
{
    phase *ph = &run.phases[run.nphases++];
    uint64_t have = run.nbase;

    memset(ph, 0, sizeof(*ph));
    ph->title = "jobs over 100 owners";
    ph->n = n;
    ph->total = n;
    if (n % (uint64_t)run.params.period != 0 || n <= have)
        bench_fail("N = %" PRIu64 " is not a multiple of the period %" PRId64
                   " larger than the last", n, run.params.period);
    progress("N = %" PRIu64 ": loading %" PRIu64 " jobs\n", n, n - have);
    load_all(run.e, ph->load_s, n - have, make_base_job);
    ph->loaded = n - have;
    run.per_second = n / (uint64_t)run.params.period;
    check_counts(n);

    measure_reads(ph);
    measure_writes(ph);
    /* Before the ticks: the jobs and their indexes (the target). The ticks then add run
     * records, which libjobs keeps (100 per job by default) and the baselines do not. */
    measure_bytes(ph, n, n == 1000000 ? T_BYTES : T_NONE);
    measure_tick(ph);
    check_counts(n);
}

static void run_deep(uint64_t deep)
{
    phase *ph = &run.phases[run.nphases++];
    uint64_t last = deep / BENCH_PAGE_SIZE;
    bench_page pages[2];
    read_ctx c = {NULL, 0, NULL, 1}, c2;
    static char label[64];
    row *first;
    char num[32];

    memset(ph, 0, sizeof(*ph));
    ph->title = "jobs of one owner, on top of the last store";
    ph->deep = true;
    ph->n = deep;
    ph->total = run.nbase + deep;
    deep_first = run.next_id;
    progress("deep owner: loading %" PRIu64 " jobs\n", deep);
    load_all(run.e, ph->load_s, deep, make_deep_job);
    ph->loaded = deep;
    check_counts(ph->total);

    for (int i = 0; i < 2; i++) {
        pages[i].owner = BENCH_DEEP_OWNER;
        pages[i].page = i == 0 ? 1 : last;
        pages[i].count = deep;
        pages[i].n = BENCH_PAGE_SIZE;
        for (size_t j = 0; j < BENCH_PAGE_SIZE; j++)
            pages[i].ids[j] = deep_first + (pages[i].page - 1) * BENCH_PAGE_SIZE + j;
    }
    progress("  list page 1 and page %" PRIu64 " of the deep owner\n", last);
    c.pages = &pages[0];
    c2 = c;
    c2.pages = &pages[1];
    snprintf(label, sizeof(label), "list page %s", fmt_num(num, sizeof(num), (double)last));
    first = add_row(ph, "list page 1", "list_page_1", "ops/s", T_NONE);
    measure2(first, batch_list, &c, add_row(ph, label, "list_page_last", "ops/s", T_NONE),
             batch_list, &c2);
    measure_bytes(ph, ph->total, T_NONE);
}

/* ---- output ----------------------------------------------------------------------------- */

static const char *target_text(target_kind t)
{
    switch (t) {
    case T_READ:
        return ">= 0.6x LMDB, >= 3x SQLite";
    case T_READ_ID:
        return ">= 0.9x LMDB, >= 3x SQLite";
    case T_WRITE:
        return ">= 0.9x LMDB put+commit";
    case T_BYTES:
        return "<= 256 bytes per job";
    default:
        return "";
    }
}

static void judge(row *r)
{
    double a = r->v[0] / r->v[1], b = r->v[0] / r->v[2];

    if (!run.cfg.targets)
        return;
    switch (r->target) {
    case T_READ:
    case T_READ_ID:
        r->met = a >= (r->target == T_READ_ID ? 0.9 : 0.6) && b >= 3.0;
        break;
    case T_WRITE:
        r->met = a >= 0.9;
        break;
    case T_BYTES:
        r->met = r->v[0] <= 256.0;
        break;
    default:
        break;
    }
}

static void print_phase(const phase *ph)
{
    char n[32], a[32], b[32], c[32];

    printf("\n%s %s (%s jobs in each store)\n", fmt_num(n, sizeof(n), (double)ph->n), ph->title,
           fmt_num(a, sizeof(a), (double)ph->total));
    printf("%-24s %13s %13s %13s %9s %11s  %-27s %-3s %s\n", "operation", "libjobs", "LMDB",
           "SQLite", "jobs/LMDB", "jobs/SQLite", "target", "met",
           nengines > 3 ? "   PostgreSQL" : "");
    for (size_t i = 0; i < ph->nrows; i++) {
        const row *r = &ph->rows[i];
        char d[32] = "";

        if (nengines > 3)
            fmt_num(d, sizeof(d), r->v[3]);
        printf("%-24s %13s %13s %13s %9.2f %11.2f  %-27s %-3s %13s\n", r->label,
               fmt_num(n, sizeof(n), r->v[0]), fmt_num(a, sizeof(a), r->v[1]),
               fmt_num(b, sizeof(b), r->v[2]), r->v[0] / r->v[1], r->v[0] / r->v[2],
               target_text(r->target), r->met < 0 ? "" : r->met ? "yes" : "NO", d);
    }
    printf("(loading %s jobs took libjobs %.1f s, LMDB %.1f s, SQLite %.1f s",
           fmt_num(c, sizeof(c), (double)ph->loaded), ph->load_s[0], ph->load_s[1],
           ph->load_s[2]);
    if (nengines > 3)
        printf(", PostgreSQL (SQL) %.1f s", ph->load_s[3]);
    printf(")\n");
    fflush(stdout);
}

static target_result *add_target(const char *what, double value, double limit, bool at_most)
{
    target_result *t;

    if (run.ntargets == MAX_TARGETS)
        bench_fail("too many targets");
    t = &run.targets[run.ntargets++];
    memset(t, 0, sizeof(*t));
    snprintf(t->what, sizeof(t->what), "%s", what);
    t->value = value;
    t->limit = limit;
    t->at_most = at_most;
    t->met = at_most ? value <= limit : value >= limit;
    return t;
}

static const row *find_row(const phase *ph, const char *key)
{
    for (size_t i = 0; i < ph->nrows; i++)
        if (strcmp(ph->rows[i].key, key) == 0)
            return &ph->rows[i];
    return NULL;
}

/* The targets of issues 4 and 16 that compare figures across phases, and a summary of all. */
static void judge_targets(void)
{
    const phase *small = NULL, *large = NULL, *deep = NULL;
    char what[160], n1[32], n2[32];

    for (size_t i = 0; i < run.nphases; i++) {
        const phase *ph = &run.phases[i];

        if (ph->deep) {
            deep = ph;
            continue;
        }
        if (!small)
            small = ph;
        large = ph;
        for (size_t j = 0; j < ph->nrows; j++) {
            const row *r = &ph->rows[j];

            if (r->target == T_READ || r->target == T_READ_ID) {
                snprintf(what, sizeof(what), "%s at N = %s: libjobs/LMDB", r->label,
                         fmt_num(n1, sizeof(n1), (double)ph->n));
                add_target(what, r->v[0] / r->v[1], r->target == T_READ_ID ? 0.9 : 0.6, false);
                snprintf(what, sizeof(what), "%s at N = %s: libjobs/SQLite", r->label,
                         fmt_num(n1, sizeof(n1), (double)ph->n));
                add_target(what, r->v[0] / r->v[2], 3.0, false);
            } else if (r->target == T_WRITE) {
                snprintf(what, sizeof(what), "%s at N = %s: libjobs/LMDB", r->label,
                         fmt_num(n1, sizeof(n1), (double)ph->n));
                add_target(what, r->v[0] / r->v[1], 0.9, false);
            } else if (r->target == T_BYTES) {
                add_target("bytes on disk per job at N = 1,000,000 (libjobs)", r->v[0], 256.0,
                           true);
            }
        }
    }
    if (!large || large->n != 1000000) {
        target_result *t = add_target("bytes on disk per job at N = 1,000,000 (libjobs)", 0,
                                      256.0, true);
        t->met = -1;
        snprintf(t->note, sizeof(t->note), "not measured: the run has no N = 1,000,000");
    }
    if (small && large && small != large) {
        /* Paired: the reference store's ticks ran in the same rounds as the large one's. */
        const row *a = find_row(large, "tick_1000_due_reference");
        const row *b = find_row(large, "tick_1000_due");
        const row *c = find_row(small, "tick_1000_due");

        snprintf(what, sizeof(what), "tick cost with 1,000 due: N = %s / N = %s (libjobs)",
                 fmt_num(n1, sizeof(n1), (double)large->n),
                 fmt_num(n2, sizeof(n2), (double)small->n));
        target_result *t = add_target(what, a->v[0] / b->v[0], 1.5, true);
        snprintf(t->note, sizeof(t->note),
                 "LMDB %.2f, SQLite %.2f; vs the N = %s phase: %.2f", a->v[1] / b->v[1],
                 a->v[2] / b->v[2], n2, c->v[0] / b->v[0]);
    } else {
        target_result *t = add_target("tick cost with 1,000 due: N = 1 M / N = 10 k (libjobs)",
                                      0, 1.5, true);
        t->met = -1;
        snprintf(t->note, sizeof(t->note), "not measured: the run has one N only");
    }
    if (deep) {
        const row *p1 = find_row(deep, "list_page_1"), *pl = find_row(deep, "list_page_last");

        snprintf(what, sizeof(what), "list cost: %s / page 1, owner of %s jobs (libjobs)",
                 pl->label + strlen("list "), fmt_num(n1, sizeof(n1), (double)deep->n));
        target_result *t = add_target(what, p1->v[0] / pl->v[0], 2.0, true);
        snprintf(t->note, sizeof(t->note), "LMDB %.1f, SQLite %.1f", p1->v[1] / pl->v[1],
                 p1->v[2] / pl->v[2]);
    }
}

/* ---- cron against periodic ----------------------------------------------------------------- */

/* Two libjobs stores of 1,000 active jobs each, all due at every whole minute: one on a periodic
 * schedule of 60 s, one on cron schedules ("every minute", written six ways) in six zones. Their
 * ticks run in the same rounds, periodic then cron, each round the best of --rounds; commits are
 * not flushed, so the figure is the tick's own work (a flushed commit costs both the same). */
static const char *const cron_exprs[6] = {"* * * * *", "*/1 * * * *", "0-59 * * * *",
                                          "* 0-23 * * *", "* * * * 0-6", "* * 1-31 * *"};
static const char *const cron_zones[6] = {"UTC", "Europe/Berlin", "America/New_York",
                                          "Australia/Lord_Howe", "Asia/Kolkata",
                                          "America/Sao_Paulo"};
static int64_t cron_clock_now;

static int64_t cron_clock(void *ctx)
{
    (void)ctx;
    return cron_clock_now;
}

static jobs_store *cron_store(const char *name, bool cron)
{
    char path[4200];
    jobs_options_lmdb lmdb = JOBS_OPTIONS_INIT_LMDB;
    jobs_store_options opts = JOBS_STORE_OPTIONS_INIT;
    jobs_store *store = NULL;
    uint64_t stack, sched[6], id;
    int rc;

    snprintf(path, sizeof path, "%s/%s", tmp_dir, name);
    lmdb.flags = JOBS_NOSYNC_LMDB;
    opts.path = path;
    opts.clock = cron_clock;
    opts.lmdb = &lmdb;
    if ((rc = jobs_store_open(&store, &opts)) ||
        (rc = jobs_stack_create(&stack, store, 1, "bench", true)))
        bench_fail("cron tick: %s: %s", jobs_strerror(rc), jobs_error_last());
    for (int i = 0; i < 6; i++) {
        jobs_schedule_spec spec = JOBS_SCHEDULE_SPEC_INIT;

        spec.fields = JOBS_SCHEDULE_CONFIG;
        spec.period = 60;
        if (cron) {
            spec.fields |= JOBS_SCHEDULE_KIND;
            spec.kind = JOBS_SCHEDULE_CRON;
            spec.period = 0;
            spec.cron = cron_exprs[i];
            spec.tz = cron_zones[i];
        }
        if ((rc = jobs_schedule_create(&sched[i], store, JOBS_OWNER_PUBLIC, &spec)))
            bench_fail("cron tick: schedule: %s", jobs_error_last());
    }
    for (int i = 0; i < TICK_DUE; i++) {
        jobs_job_spec spec = JOBS_JOB_SPEC_INIT;

        spec.fields = JOBS_JOB_STACK | JOBS_JOB_SCHEDULE | JOBS_JOB_ENABLED;
        spec.stack = stack;
        spec.schedule = sched[cron ? i % 6 : 0];
        spec.enabled = true;
        if ((rc = jobs_create(&id, store, 1 + (uint64_t)(i % 100), &spec)))
            bench_fail("cron tick: job: %s", jobs_error_last());
    }
    return store;
}

/* `ticks` ticks of a minute each from *now; every one must take all 1,000 jobs. */
static double cron_ticks(jobs_store *store, int64_t *now, size_t ticks)
{
    double t0 = now_s();

    for (size_t i = 0; i < ticks; i++) {
        size_t n = 0;
        int rc;

        *now += 60;
        cron_clock_now = *now;
        if ((rc = jobs_scheduler_tick(&n, store, *now, 0, NULL, NULL)))
            bench_fail("cron tick: %s: %s", jobs_strerror(rc), jobs_error_last());
        if (n != TICK_DUE)
            bench_fail("cron tick: a tick took %zu jobs, not %d", n, TICK_DUE);
    }
    return now_s() - t0;
}

static void measure_cron_tick(void)
{
    const int64_t t0 = 1798761600; /* 2027-01-01T00:00:00Z, a whole minute */
    int64_t now[2] = {t0, t0};
    jobs_store *st[2];
    double best[2] = {1e9, 1e9};
    size_t ticks;

    progress("cron against periodic: 1,000 due jobs each\n");
    cron_clock_now = t0;
    st[0] = cron_store("tick-periodic", false);
    st[1] = cron_store("tick-cron", true);
    ticks = (size_t)ceil(run.cfg.min_time / fmax(cron_ticks(st[0], &now[0], 1), 1e-9));
    cron_ticks(st[1], &now[1], 1);
    ticks = ticks < 1 ? 1 : ticks > run.cfg.tick_max ? run.cfg.tick_max : ticks;
    for (int round = 0; round < run.cfg.rounds; round++)
        for (int k = 0; k < 2; k++)
            best[k] = fmin(best[k], cron_ticks(st[k], &now[k], ticks) / (double)ticks);
    jobs_store_close(st[0]);
    jobs_store_close(st[1]);
    printf("\ntick of 1,000 due jobs (libjobs, commits not flushed): periodic %.0f us, cron %.0f "
           "us (six zones), cron/periodic %.2f\n", best[0] * 1e6, best[1] * 1e6,
           best[1] / best[0]);
    fflush(stdout);
    if (run.cfg.targets) {
        target_result *t = add_target("tick of 1,000 due cron jobs / 1,000 due periodic (libjobs)",
                                      best[1] / best[0], 2.0, true);
        snprintf(t->note, sizeof(t->note), "periodic %.0f us, cron %.0f us per tick",
                 best[0] * 1e6, best[1] * 1e6);
    }
}

/* ---- bulk load ---------------------------------------------------------------------------- */

/* N active jobs of one owner into new stores, handed over in chunks of LOAD_CHUNK: libjobs
 * through jobs_batch() (bench_bulk_batch operations per transaction), raw LMDB with its batching
 * puts (one transaction per chunk, every index and count kept), SQLite one transaction per
 * chunk. Commits are not flushed (bulk-load mode, as the stores' own loading). Engines
 * interleaved per chunk; the best of the rounds (one round from 500 k jobs up). */
static void measure_bulk(uint64_t n)
{
    enum { NENGINES = 3 }; /* libjobs, raw LMDB and SQLite; not PostgreSQL's (--pg) */
    const uint64_t owner = BENCH_DEEP_OWNER + 1;
    int rounds = n >= 500000 ? 1 : run.cfg.rounds;
    bench_job *chunk = bench_malloc(LOAD_CHUNK * sizeof(*chunk));
    int64_t next_run = run.tick_now + run.params.period;
    double best[NENGINES];
    char num[32], dir[4200];

    for (int e = 0; e < NENGINES; e++)
        best[e] = INFINITY;
    for (int r = 0; r < rounds; r++) {
        void *inst[NENGINES];
        double t[NENGINES] = {0};

        snprintf(dir, sizeof(dir), "%s/bulk-%d", tmp_dir, r);
        if (mkdir(dir, 0700) != 0)
            bench_fail("cannot create '%s': %s", dir, strerror(errno));
        for (int e = 0; e < NENGINES; e++)
            inst[e] = engine_ops[e]->open(dir, &run.params);
        progress("bulk load: %" PRIu64 " jobs of one owner, round %d of %d\n", n, r + 1, rounds);
        for (uint64_t done = 0; done < n;) {
            size_t m = n - done < LOAD_CHUNK ? (size_t)(n - done) : LOAD_CHUNK;

            for (size_t i = 0; i < m; i++)
                make_job(&chunk[i], done + i + 1, owner, "blk", true, next_run);
            for (int k = 0; k < NENGINES; k++) {
                int e = (k + r) % NENGINES;
                const bench_engine_ops *ops = engine_ops[e];
                double t0 = now_s();

                (ops->bulk ? ops->bulk : ops->load)(inst[e], chunk, m);
                t[e] += now_s() - t0;
            }
            done += m;
        }
        for (int e = 0; e < NENGINES; e++) {
            uint64_t have = engine_ops[e]->count(inst[e]);

            if (have != n)
                bench_fail("bulk load: %s holds %" PRIu64 " jobs, not %" PRIu64,
                           engine_ops[e]->name, have, n);
            engine_ops[e]->close(inst[e]);
            best[e] = fmin(best[e], t[e]);
        }
        nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    }
    free(chunk);
    printf("\nbulk load of %s active jobs of one owner (commits not flushed): libjobs jobs_batch "
           "(%zu per transaction) %.2f s, raw LMDB batching puts (%d per transaction) %.2f s, "
           "SQLite %.2f s; libjobs/LMDB time %.2f\n",
           fmt_num(num, sizeof(num), (double)n), bench_bulk_batch, best[0], LOAD_CHUNK, best[1],
           best[2], best[0] / best[1]);
    fflush(stdout);
    if (run.cfg.targets) {
        char what[160];
        target_result *t;

        snprintf(what, sizeof(what), "bulk load of %s jobs: jobs_batch time / raw LMDB batching",
                 fmt_num(num, sizeof(num), (double)n));
        t = add_target(what, best[0] / best[1], 3.0, true);
        snprintf(t->note, sizeof(t->note), "libjobs %.2f s, LMDB %.2f s, SQLite %.2f s", best[0],
                 best[1], best[2]);
    }
}

static void print_targets(void)
{
    printf("\nTargets (issues 4 and 16), ratios from this run:\n");
    for (size_t i = 0; i < run.ntargets; i++) {
        const target_result *t = &run.targets[i];

        if (t->met < 0)
            printf("  %-66s  %s\n", t->what, t->note);
        else
            printf("  %-66s %8.2f  %s %-6.2f %-4s %s\n", t->what, t->value,
                   t->at_most ? "<=" : ">=", t->limit, t->met ? "yes" : "NO", t->note);
    }
}

static const char *lmdb_version(void)
{
    static char buf[32];
    int major, minor, patch;

    mdb_version(&major, &minor, &patch);
    snprintf(buf, sizeof(buf), "%d.%d.%d", major, minor, patch);
    return buf;
}

static void write_json(int argc, char **argv, size_t record)
{
    cJSON *root = cJSON_CreateObject(), *o, *arr;
    char cmd[1024] = "", date[64];
    time_t now = time(NULL);
    struct tm tm;
    char *text;
    FILE *f;

    for (int i = 0; i < argc; i++) {
        size_t len = strlen(cmd);
        snprintf(cmd + len, sizeof(cmd) - len, "%s%s", i ? " " : "", argv[i]);
    }
    gmtime_r(&now, &tm);
    strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%SZ", &tm);
    cJSON_AddStringToObject(root, "generated_by", "bench/jobs-bench");
    cJSON_AddStringToObject(root, "command", cmd);
    cJSON_AddStringToObject(root, "date", date);
    cJSON_AddStringToObject(root, "mode", run.cfg.mode);
    cJSON_AddStringToObject(root, "source", run.cfg.source);
    o = cJSON_AddObjectToObject(root, "versions");
    cJSON_AddStringToObject(o, "libjobs", jobs_version_string());
    cJSON_AddStringToObject(o, "lmdb", lmdb_version());
    cJSON_AddStringToObject(o, "sqlite", sqlite3_libversion());
    o = cJSON_AddObjectToObject(root, "method");
    cJSON_AddNumberToObject(o, "cpus", (double)sysconf(_SC_NPROCESSORS_ONLN));
    cJSON_AddNumberToObject(o, "rounds", run.cfg.rounds);
    cJSON_AddNumberToObject(o, "min_seconds_per_round", run.cfg.min_time);
    cJSON_AddStringToObject(o, "figure", "best round, per engine; engines interleaved per round");
    cJSON_AddNumberToObject(o, "owners", BENCH_OWNERS);
    cJSON_AddNumberToObject(o, "page_size", BENCH_PAGE_SIZE);
    cJSON_AddNumberToObject(o, "schedule_period_s", (double)run.params.period);
    cJSON_AddNumberToObject(o, "record_bytes", (double)record);
    cJSON_AddNumberToObject(o, "name_bytes", 12);
    cJSON_AddStringToObject(o, "lmdb_baseline",
                            "same keys and record bytes; reads renew/reset a read txn per op; "
                            "durable writes are one put (or del) + synced commit");
    cJSON_AddStringToObject(o, "sqlite_baseline",
                            "WAL, NOMUTEX, cache 64 MiB, mmap, prepared statements, "
                            "synchronous=FULL for durable writes, LIMIT/OFFSET pages, no count");
    arr = cJSON_AddArrayToObject(root, "phases");
    for (size_t i = 0; i < run.nphases; i++) {
        const phase *ph = &run.phases[i];
        cJSON *p = cJSON_CreateObject(), *rows, *load;

        cJSON_AddItemToArray(arr, p);
        cJSON_AddStringToObject(p, "what", ph->title);
        cJSON_AddNumberToObject(p, "jobs", (double)ph->n);
        cJSON_AddNumberToObject(p, "jobs_in_store", (double)ph->total);
        load = cJSON_AddObjectToObject(p, "load_seconds");
        for (int e = 0; e < nengines; e++)
            cJSON_AddNumberToObject(load, engine_keys[e], round(ph->load_s[e] * 1000) / 1000);
        rows = cJSON_AddArrayToObject(p, "results");
        for (size_t j = 0; j < ph->nrows; j++) {
            const row *r = &ph->rows[j];
            cJSON *x = cJSON_CreateObject();

            cJSON_AddItemToArray(rows, x);
            cJSON_AddStringToObject(x, "op", r->key);
            cJSON_AddStringToObject(x, "label", r->label);
            cJSON_AddStringToObject(x, "unit", r->unit);
            for (int e = 0; e < nengines; e++)
                cJSON_AddNumberToObject(x, engine_keys[e], round(r->v[e] * 10) / 10);
            cJSON_AddNumberToObject(x, "libjobs_over_lmdb", round(r->v[0] / r->v[1] * 1000) / 1000);
            cJSON_AddNumberToObject(x, "libjobs_over_sqlite",
                                    round(r->v[0] / r->v[2] * 1000) / 1000);
            if (r->per_round[0]) {
                cJSON *per = cJSON_AddObjectToObject(x, "per_round");

                for (int e = 0; e < nengines; e++)
                    cJSON_AddNumberToObject(per, engine_keys[e], (double)r->per_round[e]);
            }
            if (r->target != T_NONE)
                cJSON_AddStringToObject(x, "target", target_text(r->target));
            if (r->met >= 0)
                cJSON_AddBoolToObject(x, "met", r->met);
        }
    }
    arr = cJSON_AddArrayToObject(root, "targets");
    for (size_t i = 0; i < run.ntargets; i++) {
        const target_result *t = &run.targets[i];
        cJSON *x = cJSON_CreateObject();

        cJSON_AddItemToArray(arr, x);
        cJSON_AddStringToObject(x, "target", t->what);
        if (t->met >= 0) {
            cJSON_AddNumberToObject(x, "value", round(t->value * 1000) / 1000);
            cJSON_AddNumberToObject(x, t->at_most ? "at_most" : "at_least", t->limit);
            cJSON_AddBoolToObject(x, "met", t->met);
        } else {
            cJSON_AddNullToObject(x, "met");
        }
        if (t->note[0])
            cJSON_AddStringToObject(x, "note", t->note);
    }
    if (!(text = cJSON_Print(root)))
        bench_fail("out of memory writing JSON");
    if (!(f = fopen(run.cfg.json, "w")) || fputs(text, f) == EOF || fputc('\n', f) == EOF ||
        fclose(f) != 0)
        bench_fail("cannot write '%s': %s", run.cfg.json, strerror(errno));
    free(text);
    cJSON_Delete(root);
    printf("\nwrote %s\n", run.cfg.json);
}

/* ---- main ------------------------------------------------------------------------------- */

static void usage(FILE *f)
{
    fprintf(f,
            "usage: jobs-bench [--quick | --smoke] [--json PATH | --no-json] [--tmpdir DIR]\n"
            "                  [--min-time SECONDS] [--rounds N] [--deep JOBS] [--source TEXT]\n"
            "  (default)   N = 10k, 100k, 1M jobs over 100 owners, a 500k-job owner for deep "
            "pages\n"
            "  --quick     N = 10k only (and the deep owner); under a minute\n"
            "  --smoke     N = 1,000 and 2,000, a small deep owner, tiny timings, no fsync,\n"
            "              no targets: checks every engine's answers in a second\n"
            "  --json      where to write the results (default %s;\n"
            "              none with --smoke)\n"
            "  --tmpdir    parent of the temporary data directory (default $TMPDIR or /tmp)\n"
            "  --min-time  seconds per engine per round (default 0.2)\n"
            "  --rounds    timed rounds per measurement, the best counts (default 3, at most 20)\n"
            "  --deep      jobs of the deep owner (default 500000; 0: none)\n"
            "  --source    what is measured (e.g. `git describe --dirty`), kept in the JSON\n"
            "  --bulk      jobs of the bulk-load comparison (default: the largest N; 0: none)\n"
            "  --bulk-batch  operations per jobs_batch() in it (default and most 10000)\n"
            "  --only-bulk   the bulk-load comparison only\n"

            "  --pg URI    also libjobs on PostgreSQL (a postgresql:// URI; schemas made there)\n",
            BENCH_DEFAULT_JSON);
}

static void parse_args(config *c, int argc, char **argv)
{
    bool smoke = false, quick = false, no_json = false;
    const char *json = NULL;
    double min_time = 0;
    int rounds = 0;
    long long deep = -1, bulk = -1, bulk_batch = 0;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;

        if (strcmp(a, "--smoke") == 0)
            smoke = true;
        else if (strcmp(a, "--quick") == 0)
            quick = true;
        else if (strcmp(a, "--no-json") == 0)
            no_json = true;
        else if (strcmp(a, "--json") == 0 && val)
            json = argv[++i];
        else if (strcmp(a, "--source") == 0 && val)
            c->source = argv[++i];
        else if (strcmp(a, "--tmpdir") == 0 && val)
            c->tmpdir = argv[++i];
        else if (strcmp(a, "--pg") == 0 && val) {
#ifdef BENCH_WITH_PG
            bench_pg_base = argv[++i];
            nengines = 4;
#else
            fprintf(stderr, "jobs-bench: built without the PostgreSQL backend: no --pg\n");
            exit(2);
#endif
        }
        else if (strcmp(a, "--min-time") == 0 && val && (min_time = atof(argv[++i])) > 0)
            ;
        else if (strcmp(a, "--rounds") == 0 && val && (rounds = atoi(argv[++i])) >= 1 &&
                 rounds <= MAX_ROUNDS)
            ;
        else if (strcmp(a, "--deep") == 0 && val && (deep = atoll(argv[++i])) >= 0)
            ;
        else if (strcmp(a, "--bulk") == 0 && val && (bulk = atoll(argv[++i])) >= 0)
            ;
        else if (strcmp(a, "--bulk-batch") == 0 && val &&
                 (bulk_batch = atoll(argv[++i])) >= 1 && bulk_batch <= JOBS_BATCH_MAX)
            bench_bulk_batch = (size_t)bulk_batch;
        else if (strcmp(a, "--only-bulk") == 0)
            c->only_bulk = true;
        else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            exit(0);
        } else {
            usage(stderr);
            exit(2);
        }
    }
    c->mode = smoke ? "smoke" : quick ? "quick" : "full";
    c->min_time = 0.2;
    c->rounds = 3;
    c->keys = 65536;
    c->write_warm = 10;
    c->write_min = 50;
    c->write_max = 2000;
    c->tick_max = 1000;
    c->targets = true;
    c->durable = true;
    c->deep = 500000;
    c->json = BENCH_DEFAULT_JSON;
    if (smoke) {
        c->sizes[c->nsizes++] = 1000;
        c->sizes[c->nsizes++] = 2000;
        c->deep = 2000;
        c->min_time = 0.002;
        c->keys = 1024;
        c->write_warm = 2;
        c->write_min = 3;
        c->write_max = 3;
        c->tick_max = 2;
        c->targets = false;
        c->durable = false;
        c->json = NULL;
    } else if (quick) {
        c->sizes[c->nsizes++] = 10000;
    } else {
        c->sizes[c->nsizes++] = 10000;
        c->sizes[c->nsizes++] = 100000;
        c->sizes[c->nsizes++] = 1000000;
    }
    if (min_time > 0)
        c->min_time = min_time;
    if (rounds > 0)
        c->rounds = rounds;
    if (deep >= 0)
        c->deep = (uint64_t)deep - (uint64_t)deep % BENCH_PAGE_SIZE;
    c->bulk = bulk >= 0 ? (uint64_t)bulk : c->sizes[c->nsizes - 1];
    if (json)
        c->json = json;
    if (no_json)
        c->json = NULL;
    if (!c->source)
        c->source = "";
    if (!c->tmpdir)
        c->tmpdir = getenv("TMPDIR") && getenv("TMPDIR")[0] ? getenv("TMPDIR") : "/tmp";
}

/* Refuses to start when the disk cannot hold the stores (about 1.2 kB per job for all three). */
static void check_space(void)
{
    uint64_t jobs = run.cfg.sizes[run.cfg.nsizes - 1] + run.cfg.deep;
    uint64_t need = jobs * 1200 + ((uint64_t)256 << 20), have;
    struct statvfs vfs;

    if (statvfs(tmp_dir, &vfs) != 0)
        bench_fail("statvfs '%s': %s", tmp_dir, strerror(errno));
    have = (uint64_t)vfs.f_bavail * vfs.f_frsize;
    if (have < need)
        bench_fail("not enough disk space in %s: %" PRIu64 " MiB free, about %" PRIu64
                   " MiB needed for %" PRIu64 " jobs in three stores (use --tmpdir or --quick)",
                   run.cfg.tmpdir, have >> 20, need >> 20, jobs);
}

int main(int argc, char **argv)
{
    bench_job sample;
    size_t record;

    memset(&run, 0, sizeof(run));
    parse_args(&run.cfg, argc, argv);
    if (jobs_version() != JOBS_VERSION_NUMBER)
        bench_fail("built with libjobs %s headers but runs with %s", JOBS_VERSION_STRING,
                   jobs_version_string());

    bench_path(tmp_dir, sizeof(tmp_dir), run.cfg.tmpdir, "jobs-bench.XXXXXX");
    if (!mkdtemp(tmp_dir)) {
        int err = errno;

        tmp_dir[0] = '\0';
        bench_fail("cannot create a directory in %s: %s", run.cfg.tmpdir, strerror(err));
    }
    install_signal_handlers();
    check_space();

    /* The smallest N sets the period: one job due per second of the window at that N. */
    run.params.period = (int64_t)run.cfg.sizes[0];
    run.params.stack = 1;
    run.params.schedule = 6; /* after the five built-in public schedules */
    run.next_id = 1;
    run.tick_now = 1700000000;
    run.rng = UINT64_C(0x9e3779b97f4a7c15);
    make_job(&sample, 1000000, 1, "job", true, run.tick_now + run.params.period);
    record = bench_record_size(&run.params, &sample);

    printf("jobs-bench (%s): libjobs %s%s%s%s, LMDB %s, SQLite %s; %ld CPUs\n", run.cfg.mode,
           jobs_version_string(), run.cfg.source[0] ? " (" : "", run.cfg.source,
           run.cfg.source[0] ? ")" : "", lmdb_version(), sqlite3_libversion(),
           sysconf(_SC_NPROCESSORS_ONLN));
    printf("figures: operations per second (ticks per second for the tick), the best of %d "
           "rounds of >= %.3g s per engine, engines interleaved\n", run.cfg.rounds,
           run.cfg.min_time);
    printf("jobs: active, 12-byte names, record %zu bytes (format 1 of docs/storage.md); keys "
           "8-byte ids, 16-byte index keys, 8+12-byte name keys; schedule period %" PRId64
           " s\n", record, run.params.period);
    printf("LMDB: the same keys and records in jobs, job_owner, job_name, job_due, counts; a "
           "read txn renewed per op; durable writes = one put or del + synced commit\n");
    printf("SQLite: WAL, prepared statements, synchronous=FULL for durable writes, indexes "
           "(owner, name) unique, (owner, id), (do_run, next_run); pages by LIMIT/OFFSET\n");
    printf("data in %s (removed at the end)\n", tmp_dir);
    fflush(stdout);

    if (run.cfg.only_bulk) {
        run.cfg.nsizes = 0;
        run.cfg.deep = 0;
    }
    for (int e = 0; e < nengines && !run.cfg.only_bulk; e++)
        run.e[e] = engine_ops[e]->open(tmp_dir, &run.params);
    if (run.cfg.nsizes > 1)
        open_reference(run.cfg.sizes[0]);
    for (size_t i = 0; i < run.cfg.nsizes; i++) {
        run_size(run.cfg.sizes[i]);
        for (size_t j = 0; j < run.phases[run.nphases - 1].nrows; j++)
            judge(&run.phases[run.nphases - 1].rows[j]);
        print_phase(&run.phases[run.nphases - 1]);
    }
    if (run.cfg.deep >= BENCH_PAGE_SIZE) {
        run_deep(run.cfg.deep);
        print_phase(&run.phases[run.nphases - 1]);
    }
    for (int e = 0; e < nengines && !run.cfg.only_bulk; e++) {
        engine_ops[e]->close(run.e[e]);
        if (run.ref_n)
            engine_ops[e]->close(run.ref[e]);
    }
    if (!run.cfg.only_bulk)
        measure_cron_tick();
    if (run.cfg.bulk)
        measure_bulk(run.cfg.bulk);
    remove_tmp();

    if (run.cfg.targets) {
        if (!run.cfg.only_bulk)
            judge_targets();
        print_targets();
    } else {
        printf("\nsmoke run: every answer checked; commits not flushed, targets not judged\n");
    }
    if (run.cfg.json)
        write_json(argc, argv, record);
    free(run.base);
    return 0;
}
