/* Power-loss test (issue 16, item 3; docs/reliability.md, "Power loss").
 *
 *   powerloss run   --store DIR --journal FILE [--threads N] [--ops N] [--seed S] [--group]
 *                   [--nosync]
 *   powerloss check --log FILE --journal FILE --scratch DIR [--points N] [--variants K] [--seed S]
 *   powerloss all   --preload LIB --dir DIR [run and check options]
 *
 * `run` is the workload, run under LD_PRELOAD=plrec.so (PLREC_LOG names the write log): stacks,
 * schedules and jobs created, updated and deleted with durable commits, each thread with an
 * owner of its own. After every call that succeeded it appends to the journal what the library
 * said (the job as jobs_get returns it afterwards, or that it is gone) with two positions in the
 * write log: where the log ended when the call was made and when it returned.
 *
 * `check` builds, at crash points of the log, the file images that power loss could leave, and
 * opens each with the library: jobs_store_check must pass, and every call acknowledged before
 * the crash point must be there as acknowledged; a call in flight at the crash point may be
 * there or not. Images: only what was durable (writes before the last flush, and writes through
 * an O_DSYNC descriptor, which are durable when they return), and then that plus random subsets
 * of the writes since the last flush, some of them torn at 512-byte sectors.
 *
 * `all` runs both (the workload in a child with the interposer preloaded). Exit 0: no loss,
 * 1: a loss (each printed, the first 20), 2: the harness failed. --nosync opens the store in
 * LMDB's no-sync mode, which makes no write durable: the control run, which must find losses. */
#include "plrec.h"

#include <jobs/job.h>
#include <jobs/schedule.h>
#include <jobs/stack.h>
#include <jobs/store.h>
#include <jobs/errors.h>
#include <jobs/lmdb.h>

#include <errno.h>
#include <link.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    fprintf(stderr, "powerloss: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    exit(2);
}

static uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static unsigned rnd(uint64_t *s, unsigned n)
{
    return (unsigned)(splitmix(s) % n);
}

/* ---- the workload ----------------------------------------------------------------------- */

static const char *log_path;
static FILE *journal;
static pthread_mutex_t journal_lock = PTHREAD_MUTEX_INITIALIZER;
static jobs_store *store;
static int n_ops = 200;

/* Where the write log ends now: the interposer appends under its lock before a call returns. */
static uint64_t log_pos(void)
{
    struct stat st;

    if (stat(log_path, &st) != 0)
        return 0;
    return (uint64_t)st.st_size;
}

static void journal_job(int t, uint64_t issue, uint64_t ack, uint64_t owner, uint64_t id)
{
    jobs_job *j = NULL;
    int rc = jobs_get(&j, store, owner, id);

    pthread_mutex_lock(&journal_lock);
    if (rc == JOBS_ENOTFOUND) {
        fprintf(journal, "J %d %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " 0\n", t, issue,
                ack, owner, id);
    } else if (rc == 0) {
        fprintf(journal, "J %d %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " 1 %s %" PRIu64
                " %" PRIu64 " %d %d %" PRId64 " %" PRIu64 "\n", t, issue, ack, owner, id,
                j->name ? j->name : "-", j->stack, j->schedule, j->do_run, j->do_del,
                j->next_run, j->etag);
        jobs_job_free(j);
    } else {
        die("jobs_get after a write: %s", jobs_error_last());
    }
    fflush(journal);
    pthread_mutex_unlock(&journal_lock);
}

static void journal_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void journal_line(const char *fmt, ...)
{
    va_list ap;

    pthread_mutex_lock(&journal_lock);
    va_start(ap, fmt);
    vfprintf(journal, fmt, ap);
    va_end(ap);
    fflush(journal);
    pthread_mutex_unlock(&journal_lock);
}

typedef struct worker {
    int t;
    uint64_t seed;
} worker;

static void *work(void *arg)
{
    worker *w = arg;
    uint64_t owner = (uint64_t)w->t + 1, rs = w->seed, stacks[2], sched, live[64];
    size_t n_live = 0;
    char name[32];

    for (int i = 0; i < 2; i++) {
        uint64_t issue = log_pos(), ack;

        snprintf(name, sizeof(name), "stack-%d-%d", w->t, i);
        if (jobs_stack_create(&stacks[i], store, owner, name, false))
            die("stack create: %s", jobs_error_last());
        ack = log_pos();
        journal_line("S %d %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %s\n", w->t, issue,
                     ack, owner, stacks[i], name);
    }
    {
        jobs_schedule_spec spec = {0};
        uint64_t issue = log_pos(), ack;

        spec.fields = JOBS_SCHEDULE_CONFIG | JOBS_SCHEDULE_NAME;
        snprintf(name, sizeof(name), "every-%d", w->t);
        spec.name = name;
        spec.period = 600 + w->t;
        if (jobs_schedule_create(&sched, store, owner, &spec))
            die("schedule create: %s", jobs_error_last());
        ack = log_pos();
        journal_line("C %d %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %s\n", w->t, issue,
                     ack, owner, sched, name);
    }
    for (int i = 0; i < n_ops; i++) {
        unsigned r = rnd(&rs, 100);
        jobs_job_spec spec = JOBS_JOB_SPEC_INIT;
        uint64_t issue = log_pos(), id;

        snprintf(name, sizeof(name), "job-%d-%d", w->t, i);
        if (n_live < 4 || (r < 45 && n_live < 64)) {
            spec.fields = JOBS_JOB_STACK | JOBS_JOB_SCHEDULE | JOBS_JOB_ENABLED;
            if (rnd(&rs, 2)) {
                spec.fields |= JOBS_JOB_NAME;
                spec.name = name;
            }
            spec.stack = stacks[rnd(&rs, 2)];
            spec.schedule = sched;
            spec.enabled = rnd(&rs, 3) == 0;
            if (jobs_create(&id, store, owner, &spec))
                die("create: %s", jobs_error_last());
            live[n_live++] = id;
        } else if (r < 80) {
            size_t k = rnd(&rs, (unsigned)n_live);
            jobs_job *out = NULL;

            id = live[k];
            spec.fields = JOBS_JOB_STACK | JOBS_JOB_ENABLED;
            spec.stack = stacks[rnd(&rs, 2)];
            spec.enabled = rnd(&rs, 3) == 0;
            if (rnd(&rs, 2)) {
                spec.fields |= JOBS_JOB_NAME;
                spec.name = rnd(&rs, 3) ? name : NULL;
            }
            if (jobs_update(&out, store, owner, id, &spec))
                die("update: %s", jobs_error_last());
            jobs_job_free(out);
        } else {
            size_t k = rnd(&rs, (unsigned)n_live);
            jobs_delete_outcome outcome;

            id = live[k];
            if (jobs_delete(&outcome, store, owner, id))
                die("delete: %s", jobs_error_last());
            live[k] = live[--n_live]; /* gone, or queued for deletion: not touched again */
        }
        journal_job(w->t, issue, log_pos(), owner, id);
    }
    return NULL;
}

static int run(const char *dir, const char *journal_path, int threads, uint64_t seed, bool group,
               bool nosync)
{
    jobs_store_options o = JOBS_STORE_OPTIONS_INIT;
    jobs_options_lmdb l = JOBS_OPTIONS_INIT_LMDB;
    pthread_t t[16];
    worker w[16];

    if (!(log_path = getenv("PLREC_LOG")))
        die("run: PLREC_LOG is not set (run under the interposer, or use `all`)");
    if (!(journal = fopen(journal_path, "w")))
        die("cannot write %s", journal_path);
    o.path = dir;
    o.flags = group ? 0 : JOBS_STORE_NO_GROUP_COMMIT;
    l.flags = nosync ? JOBS_NOSYNC_LMDB : 0; /* --nosync: the control, where loss is expected */
    o.lmdb = &l;
    if (jobs_store_open(&store, &o))
        die("open: %s", jobs_error_last());
    journal_line("O 0 0 %" PRIu64 "\n", log_pos());
    for (int i = 0; i < threads; i++) {
        w[i] = (worker){i, seed * 1000003u + (uint64_t)i};
        if (pthread_create(&t[i], NULL, work, &w[i]))
            die("pthread_create");
    }
    for (int i = 0; i < threads; i++)
        pthread_join(t[i], NULL);
    jobs_store_close(store);
    fclose(journal);
    return 0;
}

/* ---- the checker ------------------------------------------------------------------------ */

typedef struct rec {
    uint64_t end;       /* log position after the record: a crash point is "after rec i" */
    uint32_t type, flags;
    uint64_t off, len;
    const unsigned char *data;
} rec;

typedef struct entry {
    char kind;          /* J job, S stack, C schedule, O store opened */
    int t;
    uint64_t issue, ack, owner, id;
    bool present;
    char name[64];
    uint64_t stack, schedule, etag;
    int do_run, do_del;
    int64_t next_run;
} entry;

static rec *recs;
static size_t n_recs;
static entry *ents;
static size_t n_ents;
static uint64_t opened_at;
static size_t *jobents, n_jobents; /* the job entries, by id, each id's in journal order */

static int cmp_jobent(const void *a, const void *b)
{
    const entry *x = &ents[*(const size_t *)a], *y = &ents[*(const size_t *)b];
    size_t i = *(const size_t *)a, k = *(const size_t *)b;

    if (x->id != y->id)
        return x->id < y->id ? -1 : 1;
    return i < k ? -1 : i > k;
}

static void load_log(const char *path)
{
    int fd = open(path, O_RDONLY);
    struct stat st;
    const unsigned char *base;
    size_t cap = 0, pos = 0;

    if (fd < 0 || fstat(fd, &st) != 0)
        die("cannot read the write log %s", path);
    if (st.st_size == 0)
        die("the write log %s is empty: was the interposer preloaded?", path);
    base = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (base == MAP_FAILED)
        die("mmap %s", path);
    close(fd);
    while (pos < (size_t)st.st_size) {
        plrec_head h;

        if ((size_t)st.st_size - pos < sizeof(h))
            die("truncated log record at %zu", pos);
        memcpy(&h, base + pos, sizeof(h));
        if (h.magic != PLREC_MAGIC)
            die("bad log record at %zu", pos);
        if (h.type == PLREC_MSYNC)
            die("the log has an msync: the store maps its file writable, which this checker "
                "does not model");
        if (n_recs == cap) {
            cap = cap ? 2 * cap : 4096;
            recs = realloc(recs, cap * sizeof(*recs));
        }
        pos += sizeof(h);
        recs[n_recs] = (rec){0, h.type, h.flags, h.off, h.type == PLREC_WRITE ? h.len : 0,
                             base + pos};
        if (h.type == PLREC_WRITE)
            pos += h.len;
        recs[n_recs++].end = pos;
    }
}

static void load_journal(const char *path)
{
    FILE *f = fopen(path, "r");
    char line[512];
    size_t cap = 0;

    if (!f)
        die("cannot read the journal %s", path);
    while (fgets(line, sizeof(line), f)) {
        entry e = {0};
        int present = 0;

        e.kind = line[0];
        if (e.kind == 'O') {
            sscanf(line, "O %*d %*u %" SCNu64, &opened_at);
            continue;
        }
        if (e.kind == 'J') {
            if (sscanf(line, "J %d %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64 " %d %63s %"
                       SCNu64 " %" SCNu64 " %d %d %" SCNd64 " %" SCNu64, &e.t, &e.issue,
                       &e.ack, &e.owner, &e.id, &present, e.name, &e.stack, &e.schedule,
                       &e.do_run, &e.do_del, &e.next_run, &e.etag) < 6)
                die("bad journal line: %s", line);
            e.present = present;
        } else if (sscanf(line, "%*c %d %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64 " %63s",
                          &e.t, &e.issue, &e.ack, &e.owner, &e.id, e.name) != 6) {
            die("bad journal line: %s", line);
        } else {
            e.present = true;
        }
        if (n_ents == cap) {
            cap = cap ? 2 * cap : 1024;
            ents = realloc(ents, cap * sizeof(*ents));
        }
        ents[n_ents++] = e;
    }
    fclose(f);
    if (!opened_at)
        die("the journal has no open line");
    jobents = malloc((n_ents + 1) * sizeof(*jobents));
    for (size_t i = 0; i < n_ents; i++)
        if (ents[i].kind == 'J')
            jobents[n_jobents++] = i;
    qsort(jobents, n_jobents, sizeof(*jobents), cmp_jobent);
}

typedef struct image {
    unsigned char *b;
    size_t size, cap;
} image;

static void img_write(image *im, uint64_t off, const unsigned char *p, uint64_t n)
{
    if (off + n > im->cap) {
        size_t cap = im->cap ? im->cap : 1 << 20;

        while (cap < off + n)
            cap *= 2;
        im->b = realloc(im->b, cap);
        memset(im->b + im->cap, 0, cap - im->cap);
        im->cap = cap;
    }
    memcpy(im->b + off, p, n);
    if (off + n > im->size)
        im->size = off + n;
}

static void img_truncate(image *im, uint64_t size)
{
    if (size < im->size)
        memset(im->b + size, 0, im->size - size);
    else if (size > im->cap)
        img_write(im, size, (const unsigned char *)"", 0);
    im->size = size;
}

static long failures, images_checked, points_checked;

static void failf(uint64_t point, int variant, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void failf(uint64_t point, int variant, const char *fmt, ...)
{
    va_list ap;

    if (failures++ < 20) {
        fprintf(stderr, "LOSS at log position %" PRIu64 " (image variant %d): ", point, variant);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fprintf(stderr, "\n");
    }
}

static bool job_matches(const entry *e, const jobs_job *j)
{
    if (!e->present)
        return j == NULL;
    return j && strcmp(e->name, j->name ? j->name : "-") == 0 && e->stack == j->stack &&
           e->schedule == j->schedule && e->do_run == j->do_run && e->do_del == j->do_del &&
           e->next_run == j->next_run && e->etag == j->etag;
}

/* The image at point P (variant v) opened read-only in `dir`: the verifier, then every entry. */
static void verify_image(const char *dir, uint64_t point, int variant)
{
    jobs_store_options o = JOBS_STORE_OPTIONS_INIT;
    jobs_store *s;
    int rc;

    o.path = dir;
    o.flags = JOBS_STORE_READONLY;
    if ((rc = jobs_store_open(&s, &o))) {
        failf(point, variant, "the image does not open: %s", jobs_error_last());
        return;
    }
    if ((rc = jobs_store_check(s)))
        failf(point, variant, "jobs_store_check: %s", jobs_error_last());
    /* Stacks and schedules: acknowledged ones exist (they are never changed afterwards). */
    for (size_t i = 0; i < n_ents; i++) {
        const entry *e = &ents[i];

        if (e->kind == 'J' || e->ack > point)
            continue;
        if (e->kind == 'S') {
            jobs_stack *st = NULL;

            if (jobs_stack_get(&st, s, e->owner, e->id) || strcmp(st->name, e->name))
                failf(point, variant, "acknowledged stack %" PRIu64 " missing or changed",
                      e->id);
            jobs_stack_free(st);
        } else {
            jobs_schedule *sc = NULL;

            if (jobs_schedule_get(&sc, s, e->owner, e->id))
                failf(point, variant, "acknowledged schedule %" PRIu64 " missing", e->id);
            jobs_schedule_free(sc);
        }
    }
    /* Jobs: each id's last acknowledged state, or the state of a call in flight on it. */
    uint64_t present[17] = {0};
    for (size_t g = 0; g < n_jobents; ) {
        const entry *e = &ents[jobents[g]], *base = NULL;
        size_t end = g;
        bool ok = false;
        jobs_job *j = NULL;

        while (end < n_jobents && ents[jobents[end]].id == e->id)
            end++;
        if (e->issue > point) { /* not even started */
            g = end;
            continue;
        }
        rc = jobs_get(&j, s, e->owner, e->id);
        if (rc && rc != JOBS_ENOTFOUND)
            failf(point, variant, "jobs_get %" PRIu64 ": %s", e->id, jobs_error_last());
        for (size_t k = g; k < end; k++) {
            const entry *x = &ents[jobents[k]];

            if (x->ack <= point)
                base = x;
            else if (x->issue <= point && job_matches(x, j))
                ok = true; /* in flight: may be there */
        }
        if (base ? job_matches(base, j) : j == NULL)
            ok = true;
        if (!ok)
            failf(point, variant, "job %" PRIu64 " of owner %" PRIu64 ": %s, want %s", e->id,
                  e->owner, j ? "another state" : "absent",
                  !base ? "absent" : base->present ? "the acknowledged state" : "deleted");
        if (j && e->owner < 17)
            present[e->owner]++;
        jobs_job_free(j);
        g = end;
    }
    /* Nothing else: each owner's count is the known jobs found. */
    for (uint64_t owner = 1; owner < 17; owner++) {
        jobs_job_page *pg = NULL;

        if (jobs_list(&pg, s, owner, 1, 1) == 0 && pg->count != present[owner])
            failf(point, variant, "owner %" PRIu64 " counts %" PRIu64 " jobs, %" PRIu64
                  " known ones found", owner, pg->count, present[owner]);
        jobs_job_page_free(pg);
    }
    jobs_store_close(s);
}

/* Checks one image in a child process: liblmdb trusts its pages, and an image that is not a
 * store at all (the control run's) can crash the reader, which is a loss like any other, not
 * the end of the check. The child's exit status is how many losses it found (at most 100). */
static void verify(const char *dir, uint64_t point, int variant)
{
    pid_t pid;
    int status;

    images_checked++;
    fflush(stdout);
    fflush(stderr);
    if ((pid = fork()) < 0) {
        failf(point, variant, "fork: %s", strerror(errno));
        return;
    }
    if (pid == 0) {
        long before = failures;

        verify_image(dir, point, variant);
        fflush(stdout);
        fflush(stderr);
        _exit((int)(failures - before > 100 ? 100 : failures - before));
    }
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            failf(point, variant, "waitpid: %s", strerror(errno));
            return;
        }
    }
    if (WIFSIGNALED(status))
        failf(point, variant, "the image crashed the reader (signal %d)", WTERMSIG(status));
    else if (WEXITSTATUS(status))
        failures += WEXITSTATUS(status);
}

static void write_image(const char *dir, const image *im)
{
    char path[4096];
    int fd;

    snprintf(path, sizeof(path), "%s/data.mdb", dir);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 || write(fd, im->b, im->size) != (ssize_t)im->size || close(fd) != 0)
        die("cannot write %s: %s", path, strerror(errno));
}

/* The greatest record end <= pos. The workload reads the log's length without the
 * interposer's lock, so with several threads it may see a record half appended: a position
 * inside a record counts as the end of the record before it (that record's call had not
 * returned when the position was read, so nothing acknowledged depends on it). */
static uint64_t snap(uint64_t pos)
{
    size_t lo = 0, hi = n_recs;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (recs[mid].end <= pos)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo ? recs[lo - 1].end : 0;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

static int check(const char *log, const char *journal_path, const char *dir, size_t max_points,
                 int variants, uint64_t seed)
{
    uint64_t *points, rs = seed;
    size_t n_points = 0, pi = 0, pending_n = 0, pending_cap = 0, *pending = NULL;
    image dur = {0}, img = {0};
    long flushes = 0, torn = 0;

    load_log(log);
    load_journal(journal_path);
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        die("cannot create %s", dir);
    opened_at = snap(opened_at);
    for (size_t i = 0; i < n_ents; i++) {
        ents[i].issue = snap(ents[i].issue);
        ents[i].ack = snap(ents[i].ack);
    }
    /* Crash points: after every flush and every acknowledgement, then random record ends. */
    points = malloc((n_recs + n_ents + max_points + 1) * sizeof(*points));
    for (size_t i = 0; i < n_recs; i++)
        if (recs[i].type == PLREC_FLUSH && recs[i].end >= opened_at)
            points[n_points++] = recs[i].end;
    for (size_t i = 0; i < n_ents; i++)
        points[n_points++] = ents[i].ack;
    points[n_points++] = opened_at;
    for (size_t i = 0; i < max_points && n_recs; i++) {
        const rec *r = &recs[rnd(&rs, (unsigned)n_recs)];

        if (r->end >= opened_at)
            points[n_points++] = r->end;
    }
    qsort(points, n_points, sizeof(*points), cmp_u64);
    {
        size_t w = 0;

        for (size_t i = 0; i < n_points; i++)
            if (!w || points[w - 1] != points[i])
                points[w++] = points[i];
        n_points = w;
    }
    /* Too many for the budget: keep an even sample, and always the last. */
    if (n_points > max_points && max_points > 1) {
        size_t w = 0;

        for (size_t i = 0; i < max_points; i++)
            points[w++] = points[i * (n_points - 1) / (max_points - 1)];
        n_points = w;
    }
    for (size_t i = 0; i < n_recs && pi < n_points; i++) {
        const rec *r = &recs[i];

        if (r->type == PLREC_WRITE) {
            if (r->flags & PLREC_DURABLE) {
                img_write(&dur, r->off, r->data, r->len);
            } else {
                if (pending_n == pending_cap) {
                    pending_cap = pending_cap ? 2 * pending_cap : 256;
                    pending = realloc(pending, pending_cap * sizeof(*pending));
                }
                pending[pending_n++] = i;
            }
        } else if (r->type == PLREC_FLUSH) {
            for (size_t k = 0; k < pending_n; k++)
                img_write(&dur, recs[pending[k]].off, recs[pending[k]].data,
                          recs[pending[k]].len);
            pending_n = 0;
            flushes++;
        } else if (r->type == PLREC_TRUNCATE) {
            /* A size change is durable at the next flush; modelled as immediate (LMDB does not
             * truncate the data file while it runs without MDB_WRITEMAP). */
            img_truncate(&dur, r->off);
        }
        while (pi < n_points && points[pi] <= r->end) {
            uint64_t point = points[pi++];

            points_checked++;
            /* (a) only what was durable */
            write_image(dir, &dur);
            verify(dir, point, 0);
            /* (b) plus random subsets of the writes since the last flush, some torn */
            for (int v = 1; v <= variants && pending_n; v++) {
                img.size = 0;
                img_write(&img, 0, dur.b, dur.size);
                for (size_t k = 0; k < pending_n; k++) {
                    const rec *p = &recs[pending[k]];

                    if (rnd(&rs, 2))
                        continue;
                    if (p->len > 512 && rnd(&rs, 4) == 0) {
                        torn++;
                        for (uint64_t o = 0; o < p->len; o += 512)
                            if (rnd(&rs, 2))
                                img_write(&img, p->off + o, p->data + o,
                                          p->len - o < 512 ? p->len - o : 512);
                    } else {
                        img_write(&img, p->off, p->data, p->len);
                    }
                }
                write_image(dir, &img);
                verify(dir, point, v);
            }
        }
    }
    printf("powerloss: %zu log records (%ld flushes), %zu journal entries; %ld crash points, "
           "%ld images checked (%ld torn writes); %ld losses\n", n_recs, flushes, n_ents,
           points_checked, images_checked, torn, failures);
    free(points);
    free(pending);
    free(dur.b);
    free(img.b);
    return failures ? 1 : 0;
}

/* ---- the driver ------------------------------------------------------------------------- */

/* The path of ASan's runtime if this program is linked with it: it must come first in the
 * child's LD_PRELOAD, before the interposer, or it refuses to start. */
static int find_asan(struct dl_phdr_info *info, size_t size, void *out)
{
    (void)size;
    if (info->dlpi_name && strstr(info->dlpi_name, "libasan.so")) {
        snprintf(out, 4096, "%s", info->dlpi_name);
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "", *store_dir = NULL, *journal_path = NULL,
               *log = NULL, *scratch = NULL, *preload = NULL, *dir = NULL;
    int threads = 1, variants = 4;
    size_t points = 200;
    uint64_t seed = 1;
    bool group = false, nosync = false;

    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

        if (!strcmp(a, "--group") || !strcmp(a, "--nosync")) {
            *(!strcmp(a, "--group") ? &group : &nosync) = true;
            continue;
        }
        if (!v)
            die("%s needs a value", a);
        i++;
        if (!strcmp(a, "--store")) store_dir = v;
        else if (!strcmp(a, "--journal")) journal_path = v;
        else if (!strcmp(a, "--log")) log = v;
        else if (!strcmp(a, "--scratch")) scratch = v;
        else if (!strcmp(a, "--preload")) preload = v;
        else if (!strcmp(a, "--dir")) dir = v;
        else if (!strcmp(a, "--threads")) threads = atoi(v);
        else if (!strcmp(a, "--ops")) n_ops = atoi(v);
        else if (!strcmp(a, "--points")) points = (size_t)atol(v);
        else if (!strcmp(a, "--variants")) variants = atoi(v);
        else if (!strcmp(a, "--seed")) seed = strtoull(v, NULL, 10);
        else die("unknown option %s", a);
    }
    if (threads < 1 || threads > 16)
        die("--threads: 1..16");
    if (!strcmp(mode, "run")) {
        if (!store_dir || !journal_path)
            die("run needs --store and --journal");
        return run(store_dir, journal_path, threads, seed, group, nosync);
    }
    if (!strcmp(mode, "check")) {
        if (!log || !journal_path || !scratch)
            die("check needs --log, --journal and --scratch");
        return check(log, journal_path, scratch, points, variants, seed);
    }
    if (!strcmp(mode, "all")) {
        char st[4096], jn[4096], lg[4096], sc[4096], ops[32], th[32], sd[32];
        pid_t pid;
        int status;

        if (!preload || !dir)
            die("all needs --preload and --dir");
        snprintf(st, sizeof(st), "%s/store", dir);
        snprintf(jn, sizeof(jn), "%s/journal", dir);
        snprintf(lg, sizeof(lg), "%s/writes.log", dir);
        snprintf(sc, sizeof(sc), "%s/image", dir);
        snprintf(ops, sizeof(ops), "%d", n_ops);
        snprintf(th, sizeof(th), "%d", threads);
        snprintf(sd, sizeof(sd), "%" PRIu64, seed);
        if (mkdir(dir, 0700) != 0 && errno != EEXIST)
            die("cannot create %s", dir);
        /* A fresh run: the files of an earlier one go. */
        {
            char f[4200];
            const char *gone[] = {"store/data.mdb", "store/lock.mdb", "image/data.mdb",
                                  "writes.log", "journal"};

            for (size_t i = 0; i < sizeof(gone) / sizeof(gone[0]); i++) {
                snprintf(f, sizeof(f), "%s/%s", dir, gone[i]);
                unlink(f);
            }
        }
        if ((pid = fork()) == 0) {
            char *args[] = {argv[0], "run", "--store", st, "--journal", jn, "--ops", ops,
                            "--threads", th, "--seed", sd, NULL, NULL, NULL};
            int n = 12;
            char pre[8400], asan[4096] = "", *old = getenv("LD_PRELOAD");

            if (group)
                args[n++] = "--group";
            if (nosync)
                args[n++] = "--nosync";

            /* ASan's runtime (when linked in) first, then what is preloaded already, then the
             * interposer, whose calls go on to ASan's interceptors and then to libc. */
            dl_iterate_phdr(find_asan, asan);
            snprintf(pre, sizeof(pre), "%s%s%s%s%s", asan, *asan ? ":" : "", old ? old : "",
                     old ? ":" : "", preload);
            setenv("LD_PRELOAD", pre, 1);
            setenv("PLREC_LOG", lg, 1);
            execv("/proc/self/exe", args);
            _exit(127);
        }
        if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
            WEXITSTATUS(status) != 0)
            die("the workload failed");
        return check(lg, jn, sc, points, variants, seed);
    }
    fprintf(stderr, "usage: powerloss run|check|all [options] (see powerloss.c)\n");
    return 2;
}
