/* Crash safety: a writer is SIGKILLed at random moments, restarted, and the store is checked
 * against what the writer had acknowledged before it died.
 *
 *  - library mode: a child process opens the store (durable commits, a fixed clock) and writes
 *    from LIB_WORKERS threads, one owner each (creates, updates, deletes of inactive jobs and
 *    queued deletes of active ones), while its main thread ticks the scheduler. Before each call
 *    a thread sends an intent record down a pipe, and once the call has returned an
 *    acknowledgement; the tick sends one record per event it was told of. The parent reads them,
 *    SIGKILLs the child after 1..300 ms, opens the store itself and checks it.
 *  - server mode: the real jobs-server on one data directory, SRV_CLIENTS threads doing
 *    POST /jobs, PUT /jobs/<id> and DELETE /jobs/<id> over keep-alive connections. An operation
 *    is acknowledged once its 2xx answer has been wholly received. The server is SIGKILLed after
 *    1..300 ms, restarted on the same directory, and checked over HTTP (GET /jobs/byid/<id>,
 *    /jobs/byname/<name>, every page of GET /jobs) and with `jobs-server check`.
 *
 * The model keeps, per job id, the state its latest acknowledged operation left. After a kill
 * every job must be in that state, except that the one operation each thread had in flight may
 * have happened, but then wholly; in-flight creates are found by their unique name (or, unnamed,
 * among the listed jobs nobody acknowledged). Every job the store lists must be accounted for,
 * and the store verifier must pass. Each writer thread touches only its own jobs, so its records
 * arrive in the order its operations were committed.
 *
 * With --pg URI (a postgresql:// URI), each mode's store is a fresh schema of that database
 * instead of a directory (made and dropped with psql): the library writer opens it, jobs-server
 * runs with --store. PostgreSQL itself is not killed: the writer's connections die with it, and
 * what they had not committed is rolled back.
 *
 * usage: test_crash [--cycles N] [--seed S] [--server PATH] [--lib-only | --server-only] [--keep]
 *                   [--pg URI]
 * Cycles are split between the modes (half each when --server is given). A failure names the
 * seed; `--seed S` with the same --cycles replays the same kill times and choices.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include <jobs.h>

#define MAX_THREADS 4
#define LIB_WORKERS 3
#define SRV_CLIENTS 4
#define NAME_CAP 128
#define TICKER 255                    /* the thread number of tick records */
#define T0 ((int64_t)1767225600)      /* the library writer's clock: fixed */
#define TICK_NOW (T0 + 120)           /* its ticks: the 60 s jobs activated at T0 are due */
#define KILL_MAX_MS 300
#define KILL_MAX_MS_PG 1000            /* --pg: opening a store takes round trips */
#define LIVE_SOFT_MAX 30              /* past this many live jobs, a thread mostly deletes */

/* ---- small helpers ------------------------------------------------------------------------ */

static uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint64_t seed_of(uint64_t seed, uint64_t a, uint64_t b)
{
    uint64_t s = seed ^ (a * 0x100000001b3ULL) ^ (b << 20);

    splitmix(&s);
    return s;
}

static unsigned rnd(uint64_t *s, unsigned n)
{
    return (unsigned)(splitmix(s) % n);
}

static void *xrealloc(void *p, size_t size)
{
    void *q = realloc(p, size);

    if (!q) {
        fprintf(stderr, "crash: out of memory\n");
        abort();
    }
    return q;
}

/* The wall clock as the server reads it (time() may lag it by a tick). */
static int64_t wall_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec;
}

static int64_t ms_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void rm_tree(const char *dir)
{
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static int64_t period_of(uint64_t schedule)
{
    static const int64_t periods[] = {0, 60, 300, 900, 3600, 86400};

    return schedule < sizeof periods / sizeof *periods ? periods[schedule] : 0;
}

/* ---- records: what a writer tells the checker ------------------------------------------- */

enum { R_INTENT = 1, R_ACK, R_TICK_DELETED, R_TICK_RUN, R_FAIL };
enum { OP_CREATE = 1, OP_UPDATE, OP_DELETE };

/* A job's fields as a record carries them. */
typedef struct wjob {
    uint64_t id, owner, stack, schedule;
    int64_t next_run;
    bool has_name, do_run, do_del;
    char name[NAME_CAP];
} wjob;

/* One record. Intent: create (job as asked), update (job.id and the changes, `fields` naming
 * them), delete (job.id). Ack: create (job.id), update (the job as answered), delete
 * (`outcome`). Tick records: job.id. Fail: `msg`. The library writer sends them down a pipe in
 * one write each (at most PIPE_BUF bytes, so never interleaved); the HTTP clients hand them to
 * the model directly. */
typedef struct rec {
    uint8_t kind, op, thread, outcome;
    unsigned fields;
    int64_t t_sent, t_done; /* the writer's clock before the call, and after it (0: unknown) */
    wjob job;
    char msg[160];
} rec;

_Static_assert(sizeof(rec) <= PIPE_BUF, "a record must be written atomically");

/* ---- the model: the latest acknowledged state of every job ------------------------------ */

typedef struct jstate {
    bool present, has_name, do_run, do_del;
    char name[NAME_CAP];
    uint64_t owner, stack, schedule;
    int64_t run_lo, run_hi; /* next_run accepted in [run_lo, run_hi] when do_run, else 0 */
    int64_t run_alt;        /* also accepted: where the library writer's tick moves it (0: none) */
    bool may_vanish;        /* queued and due: the library writer's tick may have deleted it */
} jstate;

typedef struct entry {
    uint64_t id;
    uint64_t owner;
    int thread;           /* the writer thread that created it, and alone changes it */
    jstate st;            /* after its latest acknowledged operation */
    unsigned acks;        /* acknowledged operations since the last check */
    bool touched;         /* acknowledged or in flight since the last check */
    bool tick_deleted;    /* a tick reported it deleted */
    bool retired;         /* seen absent: from now on the listing alone covers it */
} entry;

typedef struct intent {
    bool active;
    int op;
    uint64_t id;
    jstate after; /* the state the operation leaves, should it have happened */
} intent;

typedef struct figures {
    unsigned long cycles, acked, creates, updates, deleted, queued, verified, lost;
    unsigned long in_flight, applied, not_applied, phantoms, tick_runs, tick_deletes;
    unsigned long checks, errors, jobs;
} figures;

typedef struct model {
    const char *mode;
    bool lib;      /* library writer: its ticks may move 60 s jobs and delete queued ones */
    uint64_t seed;
    unsigned cycle;
    entry *e;
    size_t n, cap;
    size_t *slot;  /* open addressing over e by id: index + 1, 0 when empty */
    size_t n_slot;
    intent in[MAX_THREADS];
    uint64_t owners[MAX_THREADS];
    size_t n_owners;
    unsigned long cycle_acked;
    figures f;
} model;

static pthread_mutex_t fail_lock = PTHREAD_MUTEX_INITIALIZER;

static void fail(model *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(model *m, const char *fmt, ...)
{
    char msg[2048];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    pthread_mutex_lock(&fail_lock);
    fprintf(stderr, "crash: FAIL (%s, cycle %u, seed %" PRIu64 "): %s\n", m->mode, m->cycle,
            m->seed, msg);
    m->f.errors++;
    pthread_mutex_unlock(&fail_lock);
}

static const char *state_str(char *buf, size_t size, const jstate *s)
{
    char run[64];

    if (!s->present) {
        snprintf(buf, size, "absent");
        return buf;
    }
    if (!s->do_run)
        snprintf(run, sizeof run, "-");
    else if (s->run_lo == s->run_hi)
        snprintf(run, sizeof run, "%" PRId64, s->run_lo);
    else
        snprintf(run, sizeof run, "%" PRId64 "..%" PRId64, s->run_lo, s->run_hi);
    snprintf(buf, size,
             "{owner %" PRIu64 ", name %s%s%s, stack %" PRIu64 ", schedule %" PRIu64
             ", do_run %d, do_del %d, next_run %s%s%s}",
             s->owner, s->has_name ? "'" : "", s->has_name ? s->name : "null",
             s->has_name ? "'" : "", s->stack, s->schedule, s->do_run, s->do_del, run,
             s->run_alt ? " or tick-moved" : "", s->may_vanish ? ", or tick-deleted" : "");
    return buf;
}

/* The library writer's ticks (at TICK_NOW) run a 60 s job activated at T0 once, moving it from
 * T0 + 60 to T0 + 180, and delete it instead when it is queued. */
static void tolerate(const model *m, jstate *s)
{
    s->run_alt = 0;
    s->may_vanish = false;
    if (m->lib && s->present && s->do_run && s->schedule == 1 && s->run_lo == T0 + 60 &&
        s->run_hi == T0 + 60) {
        s->run_alt = T0 + 180;
        s->may_vanish = s->do_del;
    }
}

static void state_of_wjob(jstate *s, const wjob *j)
{
    memset(s, 0, sizeof *s);
    s->present = true;
    s->has_name = j->has_name;
    if (j->has_name)
        snprintf(s->name, sizeof s->name, "%s", j->name);
    s->owner = j->owner;
    s->stack = j->stack;
    s->schedule = j->schedule;
    s->do_run = j->do_run;
    s->do_del = j->do_del;
    s->run_lo = s->run_hi = j->do_run ? j->next_run : 0;
}

/* Whether an observed job (exact) is the state `want` allows. */
static bool match(const jstate *obs, const jstate *want)
{
    if (!obs->present || !want->present)
        return obs->present == want->present;
    if (obs->owner != want->owner || obs->stack != want->stack ||
        obs->schedule != want->schedule || obs->do_run != want->do_run ||
        obs->do_del != want->do_del || obs->has_name != want->has_name ||
        (obs->has_name && strcmp(obs->name, want->name) != 0))
        return false;
    if (!obs->do_run)
        return obs->run_lo == 0;
    return (obs->run_lo >= want->run_lo && obs->run_lo <= want->run_hi) ||
           (want->run_alt && obs->run_lo == want->run_alt);
}

static bool same(const jstate *a, const jstate *b)
{
    return match(a, b) && a->run_lo == b->run_lo;
}

static size_t slot_of(const model *m, uint64_t id)
{
    uint64_t h = id * 0x9e3779b97f4a7c15ULL;

    return (size_t)(h >> 17) & (m->n_slot - 1);
}

static entry *find(model *m, uint64_t id)
{
    if (!m->n_slot)
        return NULL;
    for (size_t i = slot_of(m, id);; i = (i + 1) & (m->n_slot - 1)) {
        size_t k = m->slot[i];

        if (!k)
            return NULL;
        if (m->e[k - 1].id == id)
            return &m->e[k - 1];
    }
}

static void slot_put(model *m, size_t index)
{
    size_t i = slot_of(m, m->e[index].id);

    while (m->slot[i])
        i = (i + 1) & (m->n_slot - 1);
    m->slot[i] = index + 1;
}

/* Adds a job to the model. Entry pointers taken before are invalid afterwards. */
static entry *add(model *m, uint64_t id, int thread, const jstate *st)
{
    entry *e;

    if (m->n == m->cap) {
        m->cap = m->cap ? m->cap * 2 : 256;
        m->e = xrealloc(m->e, m->cap * sizeof *m->e);
    }
    if ((m->n + 1) * 2 > m->n_slot) {
        m->n_slot = m->n_slot ? m->n_slot * 2 : 1024;
        free(m->slot);
        m->slot = xrealloc(NULL, m->n_slot * sizeof *m->slot);
        memset(m->slot, 0, m->n_slot * sizeof *m->slot);
        for (size_t i = 0; i < m->n; i++)
            slot_put(m, i);
    }
    e = &m->e[m->n];
    memset(e, 0, sizeof *e);
    e->id = id;
    e->owner = st->owner;
    e->thread = thread;
    e->st = *st;
    slot_put(m, m->n++);
    return e;
}

static void model_init(model *m, const char *mode, bool lib, uint64_t seed)
{
    memset(m, 0, sizeof *m);
    m->mode = mode;
    m->lib = lib;
    m->seed = seed;
}

static void model_free(model *m)
{
    free(m->e);
    free(m->slot);
}

/* The state a create leaves: as asked; next_run from the writer's clock during the call. */
static void after_create(const model *m, jstate *s, const rec *r)
{
    state_of_wjob(s, &r->job);
    s->do_run = (r->fields & JOBS_JOB_ENABLED) && r->job.do_run;
    s->do_del = false;
    s->run_lo = s->run_hi = 0;
    if (s->do_run) {
        int64_t p = period_of(s->schedule);
        s->run_lo = r->t_sent + p;
        s->run_hi = r->t_done ? r->t_done + p : INT64_MAX;
    }
    tolerate(m, s);
}

/* The state an update leaves, by the rules of jobs_update(). */
static void after_update(const model *m, jstate *s, const jstate *old, const rec *r)
{
    bool activate;

    *s = *old;
    if (r->fields & JOBS_JOB_NAME) {
        s->has_name = r->job.has_name;
        snprintf(s->name, sizeof s->name, "%s", r->job.has_name ? r->job.name : "");
    }
    if (r->fields & JOBS_JOB_STACK)
        s->stack = r->job.stack;
    if (r->fields & JOBS_JOB_SCHEDULE)
        s->schedule = r->job.schedule;
    if (r->fields & JOBS_JOB_ENABLED)
        s->do_run = r->job.do_run;
    activate = s->do_run && (!old->do_run || s->schedule != old->schedule);
    if (activate) {
        int64_t p = period_of(s->schedule);
        s->run_lo = r->t_sent + p;
        s->run_hi = r->t_done ? r->t_done + p : INT64_MAX;
    }
    if (!s->do_run)
        s->run_lo = s->run_hi = 0;
    tolerate(m, s);
}

/* Takes one record into the model. */
static void model_apply(model *m, const rec *r)
{
    char a[512], b[512];
    intent *in;
    entry *e;

    if (r->kind == R_FAIL) {
        fail(m, "the writer: %s", r->msg);
        return;
    }
    if (r->kind == R_TICK_RUN) {
        m->f.tick_runs++;
        return;
    }
    if (r->kind == R_TICK_DELETED) {
        m->f.tick_deletes++;
        if (!(e = find(m, r->job.id)) || !e->st.present)
            fail(m, "a tick deleted job %" PRIu64 ", which was never acknowledged as live",
                 r->job.id);
        else
            e->tick_deleted = e->touched = true;
        return;
    }
    if (r->thread >= MAX_THREADS || (r->kind != R_INTENT && r->kind != R_ACK)) {
        fail(m, "a record of unknown kind %d from thread %d", r->kind, r->thread);
        return;
    }
    in = &m->in[r->thread];
    if (r->kind == R_INTENT) {
        if (in->active)
            fail(m, "thread %d starts an operation with another in flight", r->thread);
        memset(in, 0, sizeof *in);
        in->active = true;
        in->op = r->op;
        in->id = r->job.id;
        if (r->op == OP_CREATE) {
            after_create(m, &in->after, r);
            return;
        }
        if (!(e = find(m, r->job.id)) || !e->st.present) {
            fail(m, "thread %d works on job %" PRIu64 ", which it does not have", r->thread,
                 r->job.id);
            in->active = false;
            return;
        }
        e->touched = true;
        if (r->op == OP_UPDATE) {
            after_update(m, &in->after, &e->st, r);
        } else {
            in->after = e->st;
            if (e->st.do_run)
                in->after.do_del = true;
            else
                memset(&in->after, 0, sizeof in->after);
            tolerate(m, &in->after);
        }
        return;
    }

    if (!in->active || in->op != r->op || (r->op != OP_CREATE && in->id != r->job.id)) {
        fail(m, "thread %d acknowledges an operation it did not announce", r->thread);
        return;
    }
    in->active = false;
    m->f.acked++;
    m->cycle_acked++;
    if (r->op == OP_CREATE) {
        jstate s = in->after;

        m->f.creates++;
        if (s.do_run && r->t_done)
            s.run_hi = r->t_done + period_of(s.schedule);
        if (find(m, r->job.id)) {
            fail(m, "job id %" PRIu64 " was given twice", r->job.id);
            return;
        }
        e = add(m, r->job.id, r->thread, &s);
        e->acks = 1;
        e->touched = true;
        return;
    }
    if (!(e = find(m, r->job.id))) {
        fail(m, "acknowledged operation on unknown job %" PRIu64, r->job.id);
        return;
    }
    e->acks++;
    if (r->op == OP_UPDATE) {
        jstate got;

        m->f.updates++;
        state_of_wjob(&got, &r->job);
        if (!match(&got, &in->after))
            fail(m, "update of job %" PRIu64 " answered %s, but the change asked for %s",
                 r->job.id, state_str(a, sizeof a, &got), state_str(b, sizeof b, &in->after));
        e->st = got;
        tolerate(m, &e->st);
        return;
    }
    if ((r->outcome == JOBS_QUEUED_FOR_DELETION) != e->st.do_run)
        fail(m, "delete of job %" PRIu64 " (%s) answered %s", r->job.id,
             state_str(a, sizeof a, &e->st),
             r->outcome == JOBS_DELETED ? "deleted" : "queued for deletion");
    if (r->outcome == JOBS_DELETED)
        m->f.deleted++;
    else
        m->f.queued++;
    e->st = in->after;
}

/* ---- checking the model against a store ----------------------------------------------------- */

typedef struct listed {
    uint64_t id;
    jstate st;
    bool claimed;
} listed;

typedef struct listing {
    listed *v;
    size_t n, cap;
} listing;

static void listing_add(listing *l, uint64_t id, const jstate *st)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 256;
        l->v = xrealloc(l->v, l->cap * sizeof *l->v);
    }
    l->v[l->n].id = id;
    l->v[l->n].st = *st;
    l->v[l->n].claimed = false;
    l->n++;
}

/* How the check reads the store: through the library, or over HTTP. `get` and `get_by_name`
 * answer 1 (found), 0 (absent) or -1 (an error, already told). */
typedef struct reader {
    int (*get)(void *ctx, uint64_t owner, uint64_t id, jstate *out);
    int (*get_by_name)(void *ctx, uint64_t owner, const char *name, uint64_t *id, jstate *out);
    int (*list)(void *ctx, uint64_t owner, listing *out);
    void *ctx;
} reader;

static int cmp_listed(const void *a, const void *b)
{
    const listed *x = a, *y = b;

    return x->id < y->id ? -1 : x->id > y->id;
}

static listed *listed_find(listing *l, uint64_t id)
{
    listed key;

    key.id = id;
    return bsearch(&key, l->v, l->n, sizeof *l->v, cmp_listed);
}

/* Checks every job of the model, the in-flight operations and the listing; then takes what
 * was found as the model's state. `all_by_id`: read every job by id, not only those touched
 * since the last check (the listing covers the others, with all their fields). */
static void verify(model *m, const reader *rd, bool all_by_id)
{
    char a[512], b[512], c[512];
    listing ls = {NULL, 0, 0};
    size_t n_live = 0;

    for (size_t i = 0; i < m->n_owners; i++)
        if (rd->list(rd->ctx, m->owners[i], &ls) != 0) {
            fail(m, "cannot list the jobs of owner %" PRIu64, m->owners[i]);
            free(ls.v);
            return;
        }
    if (ls.n) /* qsort needs a valid pointer even for no elements */
        qsort(ls.v, ls.n, sizeof *ls.v, cmp_listed);
    for (size_t i = 1; i < ls.n; i++)
        if (ls.v[i].id == ls.v[i - 1].id)
            fail(m, "job %" PRIu64 " is listed twice", ls.v[i].id);

    /* In-flight creates: there whole (found by name, or unnamed among the unknown listed
     * jobs of the owner), or not at all. */
    for (int t = 0; t < MAX_THREADS; t++) {
        intent *in = &m->in[t];
        jstate obs;
        uint64_t id = 0;
        int found = 0;

        if (!in->active || in->op != OP_CREATE)
            continue;
        in->active = false;
        m->f.in_flight++;
        if (in->after.has_name) {
            found = rd->get_by_name(rd->ctx, in->after.owner, in->after.name, &id, &obs);
            if (found < 0) {
                fail(m, "cannot look up '%s'", in->after.name);
                continue;
            }
        } else {
            for (size_t i = 0; i < ls.n && !found; i++)
                if (!ls.v[i].claimed && !find(m, ls.v[i].id) &&
                    ls.v[i].st.owner == in->after.owner && !ls.v[i].st.has_name &&
                    match(&ls.v[i].st, &in->after)) {
                    ls.v[i].claimed = true;
                    id = ls.v[i].id;
                    obs = ls.v[i].st;
                    found = 1;
                }
        }
        if (!found) {
            m->f.not_applied++;
            continue;
        }
        if (!match(&obs, &in->after)) {
            fail(m, "the create in flight on thread %d is there as job %" PRIu64
                    " but not whole: asked %s, found %s",
                 t, id, state_str(a, sizeof a, &in->after), state_str(b, sizeof b, &obs));
        } else if (find(m, id)) {
            fail(m, "the create in flight on thread %d is there as job %" PRIu64
                    ", an id already given", t, id);
            continue;
        }
        m->f.applied++;
        tolerate(m, &obs);
        add(m, id, t, &obs)->touched = true;
    }

    for (size_t i = 0; i < m->n; i++) {
        entry *e = &m->e[i];
        listed *l = listed_find(&ls, e->id);
        intent *in = NULL;
        bool have, ok_acked, ok_flight = false, gone = !e->st.present || e->tick_deleted;
        jstate obs;

        if (e->retired) {
            if (l)
                fail(m, "job %" PRIu64 ", deleted and checked absent, is listed again", e->id);
            continue;
        }
        if (e->thread < MAX_THREADS && m->in[e->thread].active &&
            m->in[e->thread].id == e->id)
            in = &m->in[e->thread];
        memset(&obs, 0, sizeof obs);
        if (all_by_id || e->touched || in) {
            int rc = rd->get(rd->ctx, e->owner, e->id, &obs);

            if (rc < 0) {
                fail(m, "cannot read job %" PRIu64, e->id);
                continue;
            }
            have = rc == 1;
            if (have != (l != NULL) || (have && !same(&obs, &l->st)))
                fail(m, "job %" PRIu64 " read by id (%s) is not as listed (%s)", e->id,
                     state_str(a, sizeof a, &obs),
                     l ? state_str(b, sizeof b, &l->st) : "absent");
        } else {
            have = l != NULL;
            if (have)
                obs = l->st;
        }
        if (l)
            l->claimed = true;

        if (gone)
            ok_acked = !have;
        else
            ok_acked = have ? match(&obs, &e->st) : e->st.may_vanish;
        if (in) {
            m->f.in_flight++;
            if (in->after.present && !e->tick_deleted)
                ok_flight = have ? match(&obs, &in->after) : in->after.may_vanish;
            else
                ok_flight = !have;
        }
        if (ok_acked) {
            m->f.verified += e->acks;
            /* A queued delete in flight, then a tick deleted the job: it had happened. */
            if (in && e->tick_deleted)
                m->f.applied++;
            else if (in)
                m->f.not_applied++;
        } else if (ok_flight) {
            m->f.verified += e->acks;
            m->f.applied++;
        } else {
            unsigned long lost = e->acks ? e->acks : 1;

            m->f.lost += lost;
            fail(m, "ACKNOWLEDGED STATE LOST: job %" PRIu64 " (%lu acknowledged operation%s "
                    "this cycle): acknowledged %s%s%s%s, found %s",
                 e->id, (unsigned long)e->acks, e->acks == 1 ? "" : "s",
                 e->tick_deleted ? "deleted by a tick" : state_str(a, sizeof a, &e->st),
                 in ? "; in flight: " : "", in ? state_str(b, sizeof b, &in->after) : "",
                 in ? (in->op == OP_UPDATE ? " (update)" : " (delete)") : "",
                 have ? state_str(c, sizeof c, &obs) : "absent");
        }
        /* A present named job must also be found by its name, as that job. */
        if (have && obs.has_name && (all_by_id || e->touched || in)) {
            uint64_t id = 0;
            jstate by_name;
            int rc = rd->get_by_name(rd->ctx, obs.owner, obs.name, &id, &by_name);

            if (rc != 1 || id != e->id || !same(&by_name, &obs))
                fail(m, "job %" PRIu64 " named '%s' is not what its name finds (%s)", e->id,
                     obs.name, rc == 1 ? "another job" : rc == 0 ? "nothing" : "an error");
        }

        /* What was found is the state from now on. */
        if (have) {
            e->st = obs;
            tolerate(m, &e->st);
            n_live++;
        } else {
            memset(&e->st, 0, sizeof e->st);
            e->retired = true;
        }
        e->acks = 0;
        e->touched = false;
        e->tick_deleted = false;
    }

    for (size_t i = 0; i < ls.n; i++)
        if (!ls.v[i].claimed) {
            m->f.phantoms++;
            fail(m, "job %" PRIu64 " is listed but was never acknowledged nor in flight: %s",
                 ls.v[i].id, state_str(a, sizeof a, &ls.v[i].st));
        }
    for (int t = 0; t < MAX_THREADS; t++)
        m->in[t].active = false;
    m->f.jobs = n_live;
    free(ls.v);
}

/* ---- a writer thread's choices (shared by both modes) ---------------------------------- */

typedef struct live {
    uint64_t id;
    bool do_run, has_name;
} live;

typedef struct actor {
    int thread;
    uint64_t owner;
    uint64_t rng;
    unsigned cycle, seq;
    char prefix;                /* 'L' library, 'S' server */
    bool fancy;                 /* names may hold spaces and non-ASCII UTF-8 */
    uint64_t stacks[2];         /* the owner's own, and a public one */
    const uint64_t *schedules;
    size_t n_schedules;
    live *live;
    size_t n, cap;
} actor;

static void actor_init(actor *a, const model *m, int thread, uint64_t owner, char prefix)
{
    memset(a, 0, sizeof *a);
    a->thread = thread;
    a->owner = owner;
    a->cycle = m->cycle;
    a->rng = seed_of(m->seed, (uint64_t)prefix * 1000 + m->cycle, (uint64_t)thread + 1);
    a->prefix = prefix;
    a->fancy = prefix == 'L';
    for (size_t i = 0; i < m->n; i++) {
        const entry *e = &m->e[i];

        if (e->thread != thread || e->retired || !e->st.present || e->st.do_del)
            continue;
        if (a->n == a->cap) {
            a->cap = a->cap ? a->cap * 2 : 64;
            a->live = xrealloc(a->live, a->cap * sizeof *a->live);
        }
        a->live[a->n].id = e->id;
        a->live[a->n].do_run = e->st.do_run;
        a->live[a->n].has_name = e->st.has_name;
        a->n++;
    }
}

/* A name no other job ever had: the prefix (unique per mode, cycle, thread and sequence
 * number, ending in '_') and a tail of random length without '_'. */
static void make_name(actor *a, char *out)
{
    static const char plain[] = "abcdefghijklmnopqrstuvwxyz0123456789-";
    static const char fancy[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 -";
    int n = snprintf(out, NAME_CAP, "%c%u_%d_%u_", a->prefix, a->cycle, a->thread, a->seq++);
    unsigned tail = rnd(&a->rng, 90);

    for (unsigned i = 0; i < tail && n < NAME_CAP - 3; i++) {
        if (a->fancy && rnd(&a->rng, 16) == 0) {
            out[n++] = '\xc3'; /* U+00E9 */
            out[n++] = '\xa9';
        } else if (a->fancy) {
            out[n++] = fancy[rnd(&a->rng, sizeof fancy - 1)];
        } else {
            out[n++] = plain[rnd(&a->rng, sizeof plain - 1)];
        }
    }
    out[n] = '\0';
}

/* Chooses the next operation and writes its intent record. Returns the index in live of the
 * job an update or delete works on. */
static size_t actor_plan(actor *a, rec *r)
{
    unsigned x = rnd(&a->rng, 100);
    wjob *j = &r->job;
    size_t k;

    memset(r, 0, sizeof *r);
    r->kind = R_INTENT;
    r->thread = (uint8_t)a->thread;
    j->owner = a->owner;
    if (a->n == 0 || x < (a->n > LIVE_SOFT_MAX ? 15u : 45u)) {
        r->op = OP_CREATE;
        r->fields = JOBS_JOB_STACK | JOBS_JOB_SCHEDULE;
        j->stack = a->stacks[rnd(&a->rng, 2)];
        j->schedule = a->schedules[rnd(&a->rng, (unsigned)a->n_schedules)];
        if (rnd(&a->rng, 4)) {
            r->fields |= JOBS_JOB_ENABLED;
            j->do_run = rnd(&a->rng, 2);
        }
        j->has_name = rnd(&a->rng, 8) != 0;
        if (j->has_name)
            make_name(a, j->name);
        if (j->has_name || rnd(&a->rng, 2))
            r->fields |= JOBS_JOB_NAME; /* or an explicit null name */
        return SIZE_MAX;
    }
    k = rnd(&a->rng, (unsigned)a->n);
    j->id = a->live[k].id;
    if (x < 75) {
        /* Every update changes the name, so that whether it happened can always be told. */
        r->op = OP_UPDATE;
        r->fields = JOBS_JOB_NAME;
        j->has_name = !a->live[k].has_name || rnd(&a->rng, 6) != 0;
        if (j->has_name)
            make_name(a, j->name);
        if (rnd(&a->rng, 2)) {
            r->fields |= JOBS_JOB_STACK;
            j->stack = a->stacks[rnd(&a->rng, 2)];
        }
        if (rnd(&a->rng, 2)) {
            r->fields |= JOBS_JOB_SCHEDULE;
            j->schedule = a->schedules[rnd(&a->rng, (unsigned)a->n_schedules)];
        }
        if (rnd(&a->rng, 2)) {
            r->fields |= JOBS_JOB_ENABLED;
            j->do_run = rnd(&a->rng, 2);
        }
    } else {
        r->op = OP_DELETE;
    }
    return k;
}

/* Takes an acknowledged operation into the thread's own view. */
static void actor_done(actor *a, size_t k, const rec *ack, const rec *intent_rec)
{
    if (ack->op == OP_CREATE) {
        if (a->n == a->cap) {
            a->cap = a->cap ? a->cap * 2 : 64;
            a->live = xrealloc(a->live, a->cap * sizeof *a->live);
        }
        a->live[a->n].id = ack->job.id;
        a->live[a->n].do_run = (intent_rec->fields & JOBS_JOB_ENABLED) && intent_rec->job.do_run;
        a->live[a->n].has_name = intent_rec->job.has_name;
        a->n++;
    } else if (ack->op == OP_UPDATE) {
        a->live[k].do_run = ack->job.do_run;
        a->live[k].has_name = ack->job.has_name;
    } else {
        a->live[k] = a->live[--a->n]; /* deleted, or queued: read-only from now on */
    }
}

static void actor_free(actor *a)
{
    free(a->live);
    a->live = NULL;
}

/* ---- library mode: the writer process ------------------------------------------------------ */

typedef struct child {
    jobs_store *store;
    int fd;
    const model *m;
    uint64_t own_stacks[LIB_WORKERS];
    uint64_t public_stack;
} child;

typedef struct worker {
    child *c;
    actor a;
} worker;

static const uint64_t lib_schedules[] = {1, 4, 5};

static void child_send(int fd, const rec *r)
{
    /* One write of at most PIPE_BUF bytes to a pipe is atomic: records never interleave. */
    if (write(fd, r, sizeof *r) != (ssize_t)sizeof *r)
        _exit(4);
}

static void child_fail(int fd, int thread, const char *what, int rc)
{
    rec r;

    memset(&r, 0, sizeof r);
    r.kind = R_FAIL;
    r.thread = (uint8_t)thread;
    snprintf(r.msg, sizeof r.msg, "%s: %s (%s)", what, jobs_err_name(rc), jobs_error_last());
    child_send(fd, &r);
    _exit(3);
}

static int64_t fixed_clock(void *ctx)
{
    (void)ctx;
    return T0;
}

static void job_to_wjob(wjob *w, const jobs_job *j)
{
    memset(w, 0, sizeof *w);
    w->id = j->id;
    w->owner = j->owner;
    w->stack = j->stack;
    w->schedule = j->schedule;
    w->next_run = j->next_run;
    w->do_run = j->do_run;
    w->do_del = j->do_del;
    w->has_name = j->name != NULL;
    if (j->name)
        snprintf(w->name, sizeof w->name, "%s", j->name);
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    actor *a = &w->a;

    for (;;) {
        rec in, ack;
        size_t k = actor_plan(a, &in);
        jobs_job_spec spec = JOBS_JOB_SPEC_INIT;
        int rc;

        in.t_sent = in.t_done = T0;
        child_send(w->c->fd, &in);
        ack = in;
        ack.kind = R_ACK;
        spec.fields = in.fields;
        spec.name = in.job.has_name ? in.job.name : NULL;
        spec.stack = in.job.stack;
        spec.schedule = in.job.schedule;
        spec.enabled = in.job.do_run;
        if (in.op == OP_CREATE) {
            if ((rc = jobs_create(&ack.job.id, w->c->store, a->owner, &spec)) != 0)
                child_fail(w->c->fd, a->thread, "jobs_create", rc);
        } else if (in.op == OP_UPDATE) {
            jobs_job *out = NULL;

            if ((rc = jobs_update(&out, w->c->store, a->owner, in.job.id, &spec)) != 0)
                child_fail(w->c->fd, a->thread, "jobs_update", rc);
            job_to_wjob(&ack.job, out);
            jobs_job_free(out);
        } else {
            jobs_delete_outcome outcome = 0;

            if ((rc = jobs_delete(&outcome, w->c->store, a->owner, in.job.id)) != 0)
                child_fail(w->c->fd, a->thread, "jobs_delete", rc);
            ack.outcome = (uint8_t)outcome;
        }
        child_send(w->c->fd, &ack);
        actor_done(a, k, &ack, &in);
    }
    return NULL;
}

static int on_tick_event(const jobs_event *ev, void *ctx)
{
    const child *c = ctx;
    rec r;

    memset(&r, 0, sizeof r);
    r.kind = ev->type == JOBS_EVENT_DELETED ? R_TICK_DELETED : R_TICK_RUN;
    r.thread = TICKER;
    r.job.id = ev->job;
    r.job.owner = ev->owner;
    child_send(c->fd, &r);
    return 0;
}

/* --pg: the database whose fresh schemas are the stores (NULL: directories). */
static const char *pg_base;

static int run_cmd(const char *const *argv, const char *input, const char *log);
static void print_file(const char *path);

/* Makes (or drops) schema `schema` of the --pg database with psql, its output in `log`; with
 * `uri`, the store URI of that schema. */
static bool pg_schema(const char *schema, bool create, char *uri, size_t size, const char *log)
{
    char sql[128];
    const char *argv[] = {"psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", pg_base, "-c", sql, NULL};

    snprintf(sql, sizeof sql, create ? "CREATE SCHEMA %s" : "DROP SCHEMA IF EXISTS %s CASCADE",
             schema);
    if (run_cmd(argv, "", log) != 0)
        return false;
    if (uri)
        snprintf(uri, size, "%s%coptions=-csearch_path%%3D%s", pg_base,
                 strchr(pg_base, '?') ? '&' : '?', schema);
    return true;
}

/* The writer process: never returns; it runs until it is killed, or exits on a failure. */
static void child_main(const model *m, const char *path, bool small_map, const child *proto)
{
    static worker workers[LIB_WORKERS];
    jobs_store_options o = JOBS_STORE_OPTIONS_INIT;
    jobs_options_lmdb lmdb = JOBS_OPTIONS_INIT_LMDB;
    child c = *proto;
    uint64_t rng = seed_of(m->seed, 'T', m->cycle);
    int rc;

    o.path = path;
    o.clock = fixed_clock;
    /* A small map grows during the cycle, so kills also land in map growth. */
    lmdb.map_size = small_map ? (size_t)64 << 10 : 0;
    o.lmdb = &lmdb;
    if ((rc = jobs_store_open(&c.store, &o)) != 0)
        child_fail(c.fd, TICKER, "jobs_store_open", rc);
    for (int t = 0; t < LIB_WORKERS; t++) {
        worker *w = &workers[t];
        pthread_t tid;

        w->c = &c;
        actor_init(&w->a, m, t, (uint64_t)t + 1, 'L');
        w->a.stacks[0] = c.own_stacks[t];
        w->a.stacks[1] = c.public_stack;
        w->a.schedules = lib_schedules;
        w->a.n_schedules = sizeof lib_schedules / sizeof *lib_schedules;
        if (pthread_create(&tid, NULL, worker_main, w) != 0)
            _exit(5);
    }
    for (;;) {
        size_t limit = rnd(&rng, 3) == 0 ? 2 : 0;

        if ((rc = jobs_scheduler_tick(NULL, c.store, TICK_NOW, limit, on_tick_event, &c)) != 0)
            child_fail(c.fd, TICKER, "jobs_scheduler_tick", rc);
        usleep(2000 + rnd(&rng, 30000));
    }
}

/* ---- library mode: the checker ------------------------------------------------------------- */

static void state_of_job(jstate *s, const jobs_job *j)
{
    wjob w;

    job_to_wjob(&w, j);
    state_of_wjob(s, &w);
}

static int lib_get(void *ctx, uint64_t owner, uint64_t id, jstate *out)
{
    jobs_job *j = NULL;
    int rc = jobs_get(&j, ctx, owner, id);

    if (rc == JOBS_ENOTFOUND)
        return 0;
    if (rc) {
        fprintf(stderr, "crash: jobs_get %" PRIu64 ": %s (%s)\n", id, jobs_err_name(rc),
                jobs_error_last());
        return -1;
    }
    state_of_job(out, j);
    jobs_job_free(j);
    return 1;
}

static int lib_get_by_name(void *ctx, uint64_t owner, const char *name, uint64_t *id,
                           jstate *out)
{
    jobs_job *j = NULL;
    int rc = jobs_get_by_name(&j, ctx, owner, name);

    if (rc == JOBS_ENOTFOUND)
        return 0;
    if (rc) {
        fprintf(stderr, "crash: jobs_get_by_name '%s': %s (%s)\n", name, jobs_err_name(rc),
                jobs_error_last());
        return -1;
    }
    *id = j->id;
    state_of_job(out, j);
    jobs_job_free(j);
    return 1;
}

static int lib_list(void *ctx, uint64_t owner, listing *out)
{
    for (uint64_t page = 1;; page++) {
        jobs_job_page *p = NULL;
        int rc = jobs_list(&p, ctx, owner, page, 1000);

        if (rc) {
            fprintf(stderr, "crash: jobs_list: %s (%s)\n", jobs_err_name(rc), jobs_error_last());
            return -1;
        }
        for (size_t i = 0; i < p->n; i++) {
            jstate s;
            state_of_job(&s, &p->jobs[i]);
            listing_add(out, p->jobs[i].id, &s);
        }
        if (p->n < 1000) {
            jobs_job_page_free(p);
            return 0;
        }
        jobs_job_page_free(p);
    }
}

/* Reads what the pipe holds until EOF or the deadline (a monotonic time in ms; 0: EOF only). */
static bool pipe_read(int fd, char **buf, size_t *len, size_t *cap, int64_t deadline)
{
    for (;;) {
        struct pollfd p = {fd, POLLIN, 0};
        int64_t left = deadline ? deadline - ms_now() : -1;
        ssize_t n;

        if (deadline && left <= 0)
            return true;
        if (poll(&p, 1, (int)left) <= 0)
            continue;
        if (*cap - *len < 65536) {
            *cap = *cap ? *cap * 2 : 1 << 20;
            *buf = xrealloc(*buf, *cap);
        }
        n = read(fd, *buf + *len, *cap - *len);
        if (n == 0)
            return false; /* EOF: the writer is gone */
        if (n < 0 && errno != EINTR)
            return false;
        if (n > 0)
            *len += (size_t)n;
    }
}

static bool lib_cycle(model *m, const char *path, const child *proto)
{
    uint64_t rng = seed_of(m->seed, 'L', m->cycle);
    unsigned delay = 1 + rnd(&rng, pg_base ? KILL_MAX_MS_PG : KILL_MAX_MS);
    bool small_map = rnd(&rng, 2);
    char *buf = NULL;
    size_t len = 0, cap = 0;
    int fds[2], status = 0;
    jobs_store_options o = JOBS_STORE_OPTIONS_INIT;
    jobs_store *store = NULL;
    reader rd = {lib_get, lib_get_by_name, lib_list, NULL};
    unsigned long errors = m->f.errors, lost = m->f.lost, flight = m->f.in_flight;
    unsigned long applied = m->f.applied;
    int64_t started;
    pid_t pid;
    int rc;

    if (pipe(fds) != 0) {
        fail(m, "pipe: %s", strerror(errno));
        return false;
    }
    fflush(stdout);
    fflush(stderr);
    started = ms_now();
    pid = fork();
    if (pid < 0) {
        fail(m, "fork: %s", strerror(errno));
        return false;
    }
    if (pid == 0) {
        child c = *proto;

        close(fds[0]);
        c.fd = fds[1];
        child_main(m, path, small_map, &c);
        _exit(0);
    }
    close(fds[1]);
    if (pipe_read(fds[0], &buf, &len, &cap, started + delay))
        kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    pipe_read(fds[0], &buf, &len, &cap, 0);
    close(fds[0]);

    m->cycle_acked = 0;
    for (size_t off = 0; off + sizeof(rec) <= len; off += sizeof(rec)) {
        rec r;
        memcpy(&r, buf + off, sizeof r);
        model_apply(m, &r);
    }
    if (len % sizeof(rec))
        fail(m, "the pipe ends with a partial record");
    free(buf);
    if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL)
        fail(m, "the writer ended by itself (status 0x%x)", status);

    o.path = path;
    if ((rc = jobs_store_open(&store, &o)) != 0) {
        fail(m, "reopening the store: %s (%s)", jobs_err_name(rc), jobs_error_last());
        return false;
    }
    rd.ctx = store;
    verify(m, &rd, true);
    if ((rc = jobs_store_check(store)) != 0)
        fail(m, "jobs_store_check: %s (%s)", jobs_err_name(rc), jobs_error_last());
    else
        m->f.checks++;
    jobs_store_close(store);
    m->f.cycles++;
    printf("library %3u: killed after %3u ms (%s map): %4lu acknowledged, %lu in flight "
           "(%lu applied), %4lu jobs, check %s%s\n",
           m->cycle, delay, small_map ? "small" : "64 MiB", m->cycle_acked,
           m->f.in_flight - flight, m->f.applied - applied, m->f.jobs,
           rc == 0 ? "ok" : "FAILED", m->f.lost > lost ? ", LOST ACKNOWLEDGED WRITES" : "");
    return m->f.errors == errors && m->f.lost == lost;
}

static bool run_lib(unsigned cycles, uint64_t seed, bool keep, figures *out)
{
    jobs_store_options o = JOBS_STORE_OPTIONS_INIT;
    char dir[] = "/tmp/jobs-crash-lib-XXXXXX", path[1024], schema[64] = "", log[sizeof dir + 16];
    jobs_store *store = NULL;
    child proto;
    model m;
    bool ok = true;
    int rc;

    model_init(&m, "library", true, seed);
    memset(&proto, 0, sizeof proto);
    if (!mkdtemp(dir)) {
        fail(&m, "mkdtemp: %s", strerror(errno));
        *out = m.f;
        return false;
    }
    snprintf(path, sizeof path, "%s/store", dir);
    if (pg_base) {
        snprintf(schema, sizeof schema, "crash_lib_%ld", (long)getpid());
        snprintf(log, sizeof log, "%s/psql.log", dir);
        if (!pg_schema(schema, true, path, sizeof path, log)) {
            fail(&m, "psql: making schema %s failed:", schema);
            print_file(log);
            *out = m.f;
            return false;
        }
    }
    o.path = path;
    rc = jobs_store_open(&store, &o);
    for (int t = 0; rc == 0 && t < LIB_WORKERS; t++)
        rc = jobs_stack_create(&proto.own_stacks[t], store, (uint64_t)t + 1, "own", false);
    if (rc == 0)
        rc = jobs_stack_create(&proto.public_stack, store, 1, "public", true);
    jobs_store_close(store);
    if (rc) {
        fail(&m, "setting up the store: %s (%s)", jobs_err_name(rc), jobs_error_last());
        ok = false;
    }
    for (int t = 0; t < LIB_WORKERS; t++)
        m.owners[m.n_owners++] = (uint64_t)t + 1;
    for (unsigned c = 1; ok && c <= cycles; c++) {
        m.cycle = c;
        ok = lib_cycle(&m, path, &proto);
    }
    if (ok && !keep) {
        if (pg_base)
            pg_schema(schema, false, NULL, 0, log);
        rm_tree(dir);
    } else {
        fprintf(stderr, "crash: the library writer's store is kept in %s\n", path);
    }
    *out = m.f;
    model_free(&m);
    return ok;
}

/* ---- server mode: processes --------------------------------------------------------------- */

typedef struct server {
    const char *bin;
    char dir[64];
    char store[1024]; /* --pg: the --store URI; "" for the data directory's own store */
    pid_t pid;
    int port;
} server;

/* Runs argv with `input` on standard input and the output appended to `log`; the exit status,
 * or -1. */
static int run_cmd(const char *const *argv, const char *input, const char *log)
{
    int in[2], status;
    pid_t pid;

    if (pipe(in) != 0)
        return -1;
    fflush(stdout);
    fflush(stderr);
    if ((pid = fork()) < 0)
        return -1;
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);

        if (fd < 0)
            _exit(126);
        dup2(in[0], 0);
        dup2(fd, 1);
        dup2(fd, 2);
        close(in[1]);
        execvp(argv[0], (char *const *)argv);
        _exit(127);
    }
    close(in[0]);
    if (input && write(in[1], input, strlen(input)) < 0)
        status = -1;
    close(in[1]);
    if (waitpid(pid, &status, 0) != pid)
        return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void print_file(const char *path)
{
    char line[512];
    FILE *f = fopen(path, "r");

    if (!f)
        return;
    while (fgets(line, sizeof line, f))
        fprintf(stderr, "    | %s", line);
    fclose(f);
}

/* Starts jobs-server on 127.0.0.1:0 with the data directory, and waits for its port. */
static bool server_start(server *s)
{
    char log[128], line[256];
    const char *argv[] = {s->bin, "--listen", "127.0.0.1:0", "--data", s->dir,
                          "--threads", "16", NULL, NULL, NULL};

    int fd;

    if (s->store[0]) {
        argv[7] = "--store";
        argv[8] = s->store;
    }
    /* Emptied here, before the fork, so that the previous run's port is never read. */
    snprintf(log, sizeof log, "%s/server.log", s->dir);
    if ((fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600)) < 0)
        return false;
    fflush(stdout);
    fflush(stderr);
    s->port = 0;
    if ((s->pid = fork()) < 0) {
        close(fd);
        return false;
    }
    if (s->pid == 0) {
        dup2(fd, 1);
        dup2(fd, 2);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    close(fd);
    for (int i = 0; i < 6000; i++) {
        FILE *f = fopen(log, "r");

        if (f) {
            while (fgets(line, sizeof line, f))
                if (sscanf(line, "listening on http://127.0.0.1:%d", &s->port) == 1) {
                    fclose(f);
                    return true;
                }
            fclose(f);
        }
        if (waitpid(s->pid, NULL, WNOHANG) == s->pid) {
            s->pid = 0;
            fprintf(stderr, "crash: jobs-server did not start:\n");
            print_file(log);
            return false;
        }
        usleep(5000);
    }
    kill(s->pid, SIGKILL);
    waitpid(s->pid, NULL, 0);
    s->pid = 0;
    return false;
}

/* SIGTERM and wait for a clean exit (true). */
static bool server_stop(server *s)
{
    int status = 0;

    if (s->pid <= 0)
        return true;
    kill(s->pid, SIGTERM);
    for (int i = 0; i < 3000; i++) {
        if (waitpid(s->pid, &status, WNOHANG) == s->pid) {
            s->pid = 0;
            return WIFEXITED(status) && WEXITSTATUS(status) == 0;
        }
        usleep(10000);
    }
    kill(s->pid, SIGKILL);
    waitpid(s->pid, NULL, 0);
    s->pid = 0;
    return false;
}

/* ---- server mode: HTTP ------------------------------------------------------------------- */

typedef struct http {
    CURL *c;
    int port;
    char token[160];
    char *body;
    size_t len;
    long status;
} http;

static size_t http_on_body(char *p, size_t size, size_t n, void *ud)
{
    http *h = ud;
    size_t add = size * n;

    h->body = xrealloc(h->body, h->len + add + 1);
    memcpy(h->body + h->len, p, add);
    h->len += add;
    h->body[h->len] = '\0';
    return add;
}

static size_t http_on_header(char *p, size_t size, size_t n, void *ud)
{
    static const char want[] = "Set-Cookie: auth_tkt=";
    http *h = ud;
    size_t len = size * n, k = 0;

    if (len > sizeof want - 1 && strncasecmp(p, want, sizeof want - 1) == 0) {
        p += sizeof want - 1;
        len -= sizeof want - 1;
        while (k < len && k < sizeof h->token - 1 && p[k] != ';' && p[k] != '\r' && p[k] != '\n') {
            h->token[k] = p[k];
            k++;
        }
        h->token[k] = '\0';
    }
    return size * n;
}

static void http_init(http *h, int port, const char *token)
{
    memset(h, 0, sizeof *h);
    h->port = port;
    if (token)
        snprintf(h->token, sizeof h->token, "%s", token);
    if (!(h->c = curl_easy_init())) {
        fprintf(stderr, "crash: curl_easy_init failed\n");
        abort();
    }
    curl_easy_setopt(h->c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h->c, CURLOPT_TIMEOUT, 30L);
    curl_easy_setopt(h->c, CURLOPT_WRITEFUNCTION, http_on_body);
    curl_easy_setopt(h->c, CURLOPT_WRITEDATA, h);
    curl_easy_setopt(h->c, CURLOPT_HEADERFUNCTION, http_on_header);
    curl_easy_setopt(h->c, CURLOPT_HEADERDATA, h);
}

static void http_free(http *h)
{
    if (h->c)
        curl_easy_cleanup(h->c);
    free(h->body);
    memset(h, 0, sizeof *h);
}

/* One request on the handle's keep-alive connection. CURLE_OK means the whole answer arrived
 * (status in h->status, body in h->body). */
static CURLcode http_req(http *h, const char *method, const char *path, const char *body)
{
    char url[600], auth[200];
    struct curl_slist *hd = NULL;
    CURLcode rc;

    h->len = 0;
    h->status = 0;
    h->body = xrealloc(h->body, 1);
    h->body[0] = '\0';
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", h->port, path);
    curl_easy_setopt(h->c, CURLOPT_URL, url);
    hd = curl_slist_append(hd, "Expect:");
    if (h->token[0]) {
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", h->token);
        hd = curl_slist_append(hd, auth);
    }
    if (body) {
        hd = curl_slist_append(hd, "Content-Type: application/json");
        curl_easy_setopt(h->c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(h->c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    } else {
        curl_easy_setopt(h->c, CURLOPT_HTTPGET, 1L);
    }
    curl_easy_setopt(h->c, CURLOPT_CUSTOMREQUEST, strcmp(method, "GET") ? method : NULL);
    curl_easy_setopt(h->c, CURLOPT_HTTPHEADER, hd);
    rc = curl_easy_perform(h->c);
    curl_easy_setopt(h->c, CURLOPT_HTTPHEADER, NULL);
    curl_slist_free_all(hd);
    if (rc == CURLE_OK)
        curl_easy_getinfo(h->c, CURLINFO_RESPONSE_CODE, &h->status);
    return rc;
}

static bool json_u64(const cJSON *o, const char *key, uint64_t *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

    if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > 9007199254740991.0)
        return false;
    *out = (uint64_t)v->valuedouble;
    return true;
}

/* A job as the API answers it; `owner` is the caller's (the answer has it only after PUT). */
static bool json_job(const cJSON *o, uint64_t owner, uint64_t *id, jstate *s)
{
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(o, "name");
    const cJSON *next = cJSON_GetObjectItemCaseSensitive(o, "next_run");
    const cJSON *run = cJSON_GetObjectItemCaseSensitive(o, "do_run");
    const cJSON *del = cJSON_GetObjectItemCaseSensitive(o, "do_del");

    memset(s, 0, sizeof *s);
    s->present = true;
    s->owner = owner;
    if (!cJSON_IsObject(o) || !json_u64(o, "id", id) || !json_u64(o, "stack", &s->stack) ||
        !json_u64(o, "schedule", &s->schedule) || !cJSON_IsBool(run) || !cJSON_IsBool(del) ||
        !(cJSON_IsNull(name) || (cJSON_IsString(name) && strlen(name->valuestring) < NAME_CAP)) ||
        !(cJSON_IsNull(next) || cJSON_IsNumber(next)))
        return false;
    if (cJSON_GetObjectItemCaseSensitive(o, "owner") && !json_u64(o, "owner", &s->owner))
        return false;
    s->has_name = cJSON_IsString(name);
    if (s->has_name)
        snprintf(s->name, sizeof s->name, "%s", name->valuestring);
    s->do_run = cJSON_IsTrue(run);
    s->do_del = cJSON_IsTrue(del);
    if (cJSON_IsNumber(next))
        s->run_lo = s->run_hi = (int64_t)next->valuedouble;
    /* A job that does not run answers next_run null; the library's 0. */
    return s->do_run ? cJSON_IsNumber(next) : cJSON_IsNull(next);
}

typedef struct srv_reader {
    http *h;
} srv_reader;

static int srv_get_path(http *h, const char *path, uint64_t owner, uint64_t *id, jstate *out)
{
    cJSON *o;
    bool ok;

    if (http_req(h, "GET", path, NULL) != CURLE_OK) {
        fprintf(stderr, "crash: GET %s: no answer\n", path);
        return -1;
    }
    if (h->status == 404)
        return 0;
    o = cJSON_Parse(h->body);
    ok = h->status == 200 && o && json_job(o, owner, id, out);
    cJSON_Delete(o);
    if (!ok) {
        fprintf(stderr, "crash: GET %s: %ld %s\n", path, h->status, h->body);
        return -1;
    }
    return 1;
}

static int srv_get(void *ctx, uint64_t owner, uint64_t id, jstate *out)
{
    srv_reader *r = ctx;
    char path[64];
    uint64_t got = 0;
    int rc;

    snprintf(path, sizeof path, "/jobs/byid/%" PRIu64, id);
    rc = srv_get_path(r->h, path, owner, &got, out);
    if (rc == 1 && got != id) {
        fprintf(stderr, "crash: GET %s answered job %" PRIu64 "\n", path, got);
        return -1;
    }
    return rc;
}

static int srv_get_by_name(void *ctx, uint64_t owner, const char *name, uint64_t *id,
                           jstate *out)
{
    srv_reader *r = ctx;
    char path[64 + NAME_CAP];

    /* The server's names are [a-z0-9_-] only: nothing to escape. */
    snprintf(path, sizeof path, "/jobs/byname/%s", name);
    return srv_get_path(r->h, path, owner, id, out);
}

static int srv_list(void *ctx, uint64_t owner, listing *out)
{
    srv_reader *r = ctx;
    size_t start = out->n;
    uint64_t count = 0;

    for (unsigned page = 1;; page++) {
        char path[64];
        cJSON *o, *jobs, *j;
        bool ok;

        snprintf(path, sizeof path, "/jobs?page=%u", page);
        if (http_req(r->h, "GET", path, NULL) != CURLE_OK || r->h->status != 200) {
            fprintf(stderr, "crash: GET %s: %ld %s\n", path, r->h->status, r->h->body);
            return -1;
        }
        o = cJSON_Parse(r->h->body);
        jobs = cJSON_GetObjectItemCaseSensitive(o, "jobs");
        ok = o && cJSON_IsArray(jobs) && json_u64(o, "count", &count);
        cJSON_ArrayForEach(j, jobs) {
            uint64_t id;
            jstate s;

            if (!ok || !json_job(j, owner, &id, &s)) {
                ok = false;
                break;
            }
            listing_add(out, id, &s);
        }
        if (!ok) {
            fprintf(stderr, "crash: GET %s: %s\n", path, r->h->body);
            cJSON_Delete(o);
            return -1;
        }
        ok = cJSON_GetArraySize(jobs) > 0;
        cJSON_Delete(o);
        if (!ok)
            break;
    }
    if (out->n - start != count) {
        fprintf(stderr, "crash: the pages list %zu jobs, their count says %" PRIu64 "\n",
                out->n - start, count);
        return -1;
    }
    return 0;
}

/* ---- server mode: the clients ----------------------------------------------------------- */

typedef struct srv_run {
    model *m;
    pthread_mutex_t lock; /* the model, while the clients run */
    server s;
    char token[160];
    uint64_t owner;
    uint64_t stacks[2];
    atomic_bool stop, killed;
} srv_run;

typedef struct client {
    srv_run *run;
    actor a;
    http h;
} client;

static const uint64_t srv_schedules[] = {4, 5}; /* never due while the test runs */

static void body_of(char *buf, size_t size, const rec *r)
{
    int n = snprintf(buf, size, "{");

    if (r->fields & JOBS_JOB_NAME)
        n += snprintf(buf + n, size - (size_t)n, "%s\"name\":%s%s%s", n > 1 ? "," : "",
                      r->job.has_name ? "\"" : "", r->job.has_name ? r->job.name : "null",
                      r->job.has_name ? "\"" : "");
    if (r->fields & JOBS_JOB_STACK)
        n += snprintf(buf + n, size - (size_t)n, "%s\"stack_id\":%" PRIu64, n > 1 ? "," : "",
                      r->job.stack);
    if (r->fields & JOBS_JOB_SCHEDULE)
        n += snprintf(buf + n, size - (size_t)n, "%s\"schedule_id\":%" PRIu64,
                      n > 1 ? "," : "", r->job.schedule);
    if (r->fields & JOBS_JOB_ENABLED)
        n += snprintf(buf + n, size - (size_t)n, "%s\"enabled\":%s", n > 1 ? "," : "",
                      r->job.do_run ? "true" : "false");
    snprintf(buf + n, size - (size_t)n, "}");
}

static void client_apply(srv_run *run, const rec *r)
{
    pthread_mutex_lock(&run->lock);
    model_apply(run->m, r);
    pthread_mutex_unlock(&run->lock);
}

static void client_fail(srv_run *run, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void client_fail(srv_run *run, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    pthread_mutex_lock(&run->lock);
    fail(run->m, "%s", msg);
    pthread_mutex_unlock(&run->lock);
}

/* One operation; false when the thread must stop (the server is gone, or a failure). */
static bool client_op(client *cl)
{
    srv_run *run = cl->run;
    char body[512], path[64];
    rec in, ack;
    size_t k = actor_plan(&cl->a, &in);
    const char *method;
    CURLcode rc;
    cJSON *o = NULL;
    bool ok = false;

    in.t_sent = wall_now();
    client_apply(run, &in);
    if (in.op == OP_CREATE) {
        method = "POST";
        snprintf(path, sizeof path, "/jobs");
    } else {
        method = in.op == OP_UPDATE ? "PUT" : "DELETE";
        snprintf(path, sizeof path, "/jobs/%" PRIu64, in.job.id);
    }
    body_of(body, sizeof body, &in);
    rc = http_req(&cl->h, method, path, in.op == OP_DELETE ? NULL : body);
    if (rc != CURLE_OK) {
        /* Not acknowledged: in flight. Expected only once the server has been killed. */
        if (!atomic_load(&run->killed))
            client_fail(run, "%s %s: %s while the server was up", method, path,
                        curl_easy_strerror(rc));
        return false;
    }
    ack = in;
    ack.kind = R_ACK;
    ack.t_done = wall_now();
    o = cJSON_Parse(cl->h.body);
    if (in.op == OP_CREATE) {
        ok = cl->h.status == 201 && o && json_u64(o, "id", &ack.job.id);
    } else if (in.op == OP_UPDATE) {
        uint64_t id = 0;
        jstate s;

        ok = cl->h.status == 200 && o && json_job(o, run->owner, &id, &s) && id == in.job.id;
        if (ok) {
            memset(&ack.job, 0, sizeof ack.job);
            ack.job.id = id;
            ack.job.owner = s.owner;
            ack.job.stack = s.stack;
            ack.job.schedule = s.schedule;
            ack.job.next_run = s.run_lo;
            ack.job.do_run = s.do_run;
            ack.job.do_del = s.do_del;
            ack.job.has_name = s.has_name;
            snprintf(ack.job.name, sizeof ack.job.name, "%s", s.name);
        }
    } else {
        uint64_t id = 0;

        ok = cl->h.status == 200 && o;
        if (ok && json_u64(o, "deleted", &id))
            ack.outcome = JOBS_DELETED;
        else if (ok && json_u64(o, "queued_for_deletion", &id))
            ack.outcome = JOBS_QUEUED_FOR_DELETION;
        ok = ok && id == in.job.id;
    }
    cJSON_Delete(o);
    if (!ok) {
        client_fail(run, "%s %s %s: unexpected answer %ld %s", method, path,
                    in.op == OP_DELETE ? "" : body, cl->h.status, cl->h.body);
        return false;
    }
    client_apply(run, &ack);
    actor_done(&cl->a, k, &ack, &in);
    return true;
}

static void *client_main(void *arg)
{
    client *cl = arg;

    while (!atomic_load(&cl->run->stop) && client_op(cl))
        ;
    return NULL;
}

/* Logs in (sessions do not survive a restart); the token goes to run->token. */
static bool srv_login(srv_run *run)
{
    static const char body[] = "{\"username\":\"crash\",\"password\":\"crash-test-password\"}";
    http h;
    cJSON *o;
    bool ok;

    http_init(&h, run->s.port, NULL);
    ok = http_req(&h, "POST", "/authenticate", body) == CURLE_OK && h.status == 200 &&
         h.token[0];
    o = ok ? cJSON_Parse(h.body) : NULL;
    ok = ok && o && json_u64(o, "user_id", &run->owner);
    if (ok)
        snprintf(run->token, sizeof run->token, "%s", h.token);
    else
        fail(run->m, "login: %ld %s", h.status, h.body ? h.body : "");
    cJSON_Delete(o);
    http_free(&h);
    return ok;
}

/* The restart's check: stacks, every job over HTTP, then `jobs-server check`. */
static bool srv_check(srv_run *run)
{
    const char *argv[] = {run->s.bin, "check", "--data", run->s.dir, NULL};

    if (run->s.store[0]) {
        argv[2] = "--store";
        argv[3] = run->s.store;
    }
    char log[128], path[64];
    srv_reader r;
    reader rd = {srv_get, srv_get_by_name, srv_list, &r};
    http h;
    int rc;

    http_init(&h, run->s.port, run->token);
    r.h = &h;
    for (int i = 0; i < 2; i++) {
        snprintf(path, sizeof path, "/blockstacks/byid/%" PRIu64, run->stacks[i]);
        if (http_req(&h, "GET", path, NULL) != CURLE_OK || h.status != 200)
            fail(run->m, "the acknowledged stack %" PRIu64 " is lost: %ld %s", run->stacks[i],
                 h.status, h.body);
    }
    verify(run->m, &rd, false);
    http_free(&h);
    snprintf(log, sizeof log, "%s/check.log", run->s.dir);
    if ((rc = run_cmd(argv, NULL, log)) != 0) {
        fail(run->m, "jobs-server check exited %d:", rc);
        print_file(log);
        return false;
    }
    run->m->f.checks++;
    return true;
}

static bool srv_cycle(srv_run *run)
{
    model *m = run->m;
    uint64_t rng = seed_of(m->seed, 'S', m->cycle);
    unsigned delay = 1 + rnd(&rng, pg_base ? KILL_MAX_MS_PG : KILL_MAX_MS);
    static client clients[SRV_CLIENTS];
    pthread_t tids[SRV_CLIENTS];
    unsigned long errors = m->f.errors, lost = m->f.lost, flight = m->f.in_flight;
    unsigned long applied = m->f.applied;
    int status = 0, started = 0;
    bool checked;

    m->cycle_acked = 0;
    atomic_store(&run->stop, false);
    atomic_store(&run->killed, false);
    for (int t = 0; t < SRV_CLIENTS; t++) {
        client *cl = &clients[t];

        cl->run = run;
        actor_init(&cl->a, m, t, run->owner, 'S');
        cl->a.stacks[0] = run->stacks[0];
        cl->a.stacks[1] = run->stacks[1];
        cl->a.schedules = srv_schedules;
        cl->a.n_schedules = sizeof srv_schedules / sizeof *srv_schedules;
        http_init(&cl->h, run->s.port, run->token);
        if (pthread_create(&tids[t], NULL, client_main, cl) != 0)
            break;
        started++;
    }
    usleep(delay * 1000u);
    atomic_store(&run->killed, true);
    kill(run->s.pid, SIGKILL);
    atomic_store(&run->stop, true);
    for (int t = 0; t < started; t++)
        pthread_join(tids[t], NULL);
    for (int t = 0; t < SRV_CLIENTS; t++) {
        http_free(&clients[t].h);
        actor_free(&clients[t].a);
    }
    waitpid(run->s.pid, &status, 0);
    run->s.pid = 0;
    if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL)
        fail(m, "jobs-server ended by itself (status 0x%x)", status);
    if (started < SRV_CLIENTS)
        fail(m, "cannot start the client threads");

    if (!server_start(&run->s)) {
        fail(m, "jobs-server does not restart on its data");
        return false;
    }
    if (!srv_login(run))
        return false;
    checked = srv_check(run);
    m->f.cycles++;
    printf("server  %3u: killed after %3u ms: %4lu acknowledged, %lu in flight (%lu applied), "
           "%4lu jobs, check %s%s\n",
           m->cycle, delay, m->cycle_acked, m->f.in_flight - flight, m->f.applied - applied,
           m->f.jobs, checked ? "ok" : "FAILED",
           m->f.lost > lost ? ", LOST ACKNOWLEDGED WRITES" : "");
    return m->f.errors == errors && m->f.lost == lost;
}

static bool srv_stack(srv_run *run, const char *body, uint64_t *id)
{
    http h;
    cJSON *o;
    bool ok;

    http_init(&h, run->s.port, run->token);
    ok = http_req(&h, "POST", "/blockstacks", body) == CURLE_OK && h.status == 201;
    o = ok ? cJSON_Parse(h.body) : NULL;
    ok = ok && o && json_u64(o, "id", id);
    if (!ok)
        fail(run->m, "POST /blockstacks %s: %ld %s", body, h.status, h.body);
    cJSON_Delete(o);
    http_free(&h);
    return ok;
}

static bool run_server(const char *bin, unsigned cycles, uint64_t seed, bool keep,
                       figures *out)
{
    static srv_run run;
    char log[128];
    const char *argv[] = {bin, "user", "add", "crash", "--data", NULL, NULL, NULL, NULL};
    char schema[64] = "";
    model m;
    bool ok = true;

    model_init(&m, "server", false, seed);
    memset(&run, 0, sizeof run);
    run.m = &m;
    run.s.bin = bin;
    pthread_mutex_init(&run.lock, NULL);
    snprintf(run.s.dir, sizeof run.s.dir, "/tmp/jobs-crash-srv-XXXXXX");
    if (!mkdtemp(run.s.dir)) {
        fail(&m, "mkdtemp: %s", strerror(errno));
        *out = m.f;
        return false;
    }
    argv[5] = run.s.dir;
    if (pg_base) {
        snprintf(schema, sizeof schema, "crash_srv_%ld", (long)getpid());
        snprintf(log, sizeof log, "%s/psql.log", run.s.dir);
        if (!pg_schema(schema, true, run.s.store, sizeof run.s.store, log)) {
            fail(&m, "psql: making schema %s failed:", schema);
            print_file(log);
            ok = false;
        }
        argv[6] = "--store";
        argv[7] = run.s.store;
    }
    snprintf(log, sizeof log, "%s/user.log", run.s.dir);
    if (run_cmd(argv, "crash-test-password\n", log) != 0) {
        fail(&m, "jobs-server user add failed:");
        print_file(log);
        ok = false;
    }
    ok = ok && server_start(&run.s) && srv_login(&run) &&
         srv_stack(&run, "{\"name\":\"own\"}", &run.stacks[0]) &&
         srv_stack(&run, "{\"name\":\"public\",\"public\":true}", &run.stacks[1]);
    m.owners[m.n_owners++] = run.owner;
    for (unsigned c = 1; ok && c <= cycles; c++) {
        m.cycle = c;
        ok = srv_cycle(&run);
    }
    if (run.s.pid > 0 && !server_stop(&run.s)) {
        fail(&m, "jobs-server did not stop cleanly on SIGTERM");
        ok = false;
    }
    if (ok && !keep) {
        if (pg_base)
            pg_schema(schema, false, NULL, 0, log);
        rm_tree(run.s.dir);
    } else
        fprintf(stderr, "crash: the server's data directory is kept in %s\n", run.s.dir);
    pthread_mutex_destroy(&run.lock);
    *out = m.f;
    model_free(&m);
    return ok;
}

/* ---- main --------------------------------------------------------------------------------- */

static void report(const char *mode, const figures *f)
{
    printf("crash: %s: %lu cycles, %lu acknowledged operations (%lu creates, %lu updates, "
           "%lu deletes, %lu queued deletes), %lu verified, %lu LOST; in flight at the kill: "
           "%lu (%lu found whole, %lu absent); %lu unaccounted jobs; store check passed %lu "
           "times",
           mode, f->cycles, f->acked, f->creates, f->updates, f->deleted, f->queued, f->verified,
           f->lost, f->in_flight, f->applied, f->not_applied, f->phantoms, f->checks);
    if (f->tick_runs || f->tick_deletes)
        printf("; tick events acknowledged: %lu runs, %lu deletes", f->tick_runs,
               f->tick_deletes);
    printf("\n");
}

static void usage(void)
{
    fprintf(stderr, "usage: test_crash [--cycles N] [--seed S] [--server PATH] "
                    "[--lib-only | --server-only] [--keep] [--pg URI]\n");
}

int main(int argc, char **argv)
{
    const char *bin = NULL;
    unsigned long cycles = 20;
    uint64_t seed = 0;
    bool have_seed = false, lib_only = false, server_only = false, keep = false, ok = true;
    unsigned lib_cycles, srv_cycles;
    figures lib, srv;

    for (int i = 1; i < argc; i++) {
        char *end = NULL;

        if (strcmp(argv[i], "--cycles") == 0 && i + 1 < argc) {
            cycles = strtoul(argv[++i], &end, 10);
            if (*end || cycles < 1 || cycles > 1000000) {
                usage();
                return 2;
            }
        } else if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc) {
            seed = strtoull(argv[++i], &end, 10);
            if (*end) {
                usage();
                return 2;
            }
            have_seed = true;
        } else if (strcmp(argv[i], "--server") == 0 && i + 1 < argc) {
            bin = argv[++i];
        } else if (strcmp(argv[i], "--lib-only") == 0) {
            lib_only = true;
        } else if (strcmp(argv[i], "--server-only") == 0) {
            server_only = true;
        } else if (strcmp(argv[i], "--keep") == 0) {
            keep = true;
        } else if (strcmp(argv[i], "--pg") == 0 && i + 1 < argc) {
            pg_base = argv[++i];
        } else {
            usage();
            return 2;
        }
    }
    if ((server_only && !bin) || (server_only && lib_only)) {
        usage();
        return 2;
    }
    if (!have_seed) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        seed = ((uint64_t)ts.tv_sec * 1000000007ULL) ^ (uint64_t)ts.tv_nsec ^
               ((uint64_t)getpid() << 32);
        seed %= 1000000000000ULL;
    }
    if (!bin || lib_only)
        lib_cycles = (unsigned)cycles, srv_cycles = 0;
    else if (server_only)
        lib_cycles = 0, srv_cycles = (unsigned)cycles;
    else
        lib_cycles = (unsigned)cycles / 2, srv_cycles = (unsigned)cycles - lib_cycles;

    signal(SIGPIPE, SIG_IGN);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    printf("crash: seed %" PRIu64 ": %lu kill cycles: %u of the library writer, %u of "
           "jobs-server, on %s (replay with --seed %" PRIu64 " --cycles %lu)\n",
           seed, cycles, lib_cycles, srv_cycles, pg_base ? "PostgreSQL" : "LMDB", seed, cycles);
    memset(&lib, 0, sizeof lib);
    memset(&srv, 0, sizeof srv);
    if (lib_cycles)
        ok = run_lib(lib_cycles, seed, keep, &lib) && ok;
    if (srv_cycles)
        ok = run_server(bin, srv_cycles, seed, keep, &srv) && ok;
    curl_global_cleanup();
    if (lib_cycles)
        report("library writer", &lib);
    if (srv_cycles)
        report("jobs-server", &srv);
    /* A writer that acknowledged nothing had nothing checked: one stuck from its start (or a
     * server that never answered) must not pass as "nothing lost". */
    if (lib_cycles && lib.verified == 0) {
        fprintf(stderr, "crash: FAIL: the library writer had no acknowledged operation to "
                        "verify in %u cycles\n", lib_cycles);
        ok = false;
    }
    if (srv_cycles && srv.verified == 0) {
        fprintf(stderr, "crash: FAIL: jobs-server had no acknowledged operation to verify in "
                        "%u cycles\n", srv_cycles);
        ok = false;
    }
    ok = ok && lib.errors + srv.errors == 0 && lib.lost + srv.lost == 0;
    printf("crash: acknowledged operations lost: %lu\n", lib.lost + srv.lost);
    printf("crash: %s (seed %" PRIu64 ")\n", ok ? "PASS" : "FAIL", seed);
    return ok ? 0 : 1;
}
