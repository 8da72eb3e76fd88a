/* The scheduler tick: due jobs in (next_run, id) order, committed before the host hears of
 * them, so that each slot runs at most once whoever ticks. */
#include <limits.h>

#include "cron.h"
#include "rules.h"

typedef struct due {
    uint64_t id;
    int64_t slot;
} due;

typedef struct tick_ctx {
    int64_t now;
    int64_t clock; /* the store's clock, read before the transaction: idempotency key expiry */
    size_t limit;
    due *due;           /* the due jobs taken, then their events */
    size_t n, cap;
    jobs_event *events; /* one per due job; names as offsets into `names` until delivery */
    size_t *name_off;   /* SIZE_MAX: no name */
    char *names;
    size_t names_len, names_cap;
} tick_ctx;

/* The first slot after `now` of a periodic job last due at `slot` (missed slots coalesce).
 * Returns false when that slot is past the largest representable time. */
static bool next_slot(int64_t *next, int64_t slot, int64_t period, int64_t now)
{
    uint64_t diff = (uint64_t)now - (uint64_t)slot; /* now >= slot */
    uint64_t p = (uint64_t)period;
    uint64_t room = (uint64_t)INT64_MAX - (uint64_t)slot;

    if (diff > UINT64_MAX - p)
        return false;
    uint64_t add = (diff / p + 1) * p;
    if (add > room)
        return false;
    *next = (int64_t)((uint64_t)slot + add);
    return true;
}

int jobs__schedule_next(int64_t *next, const jobs__schedule_rec *sc, int64_t anchor, int64_t t)
{
    if (t < anchor)
        t = anchor;
    if (sc->cron) {
        jobs__cron c;
        int rc = jobs__schedule_cron(&c, sc);

        return rc ? rc : jobs__cron_next(next, &c, t);
    }
    if (sc->once)
        return JOBS_ENOTFOUND;
    return next_slot(next, anchor, sc->value, t) ? 0 : JOBS_ENOTFOUND;
}

static int grow(void **buf, size_t *cap, size_t need, size_t elem)
{
    size_t cap2 = *cap ? *cap : 64;
    void *p;

    if (need <= *cap)
        return 0;
    while (cap2 < need)
        cap2 *= 2;
    if (!(p = jobs__realloc(*buf, cap2 * elem)))
        return jobs__error(JOBS_ENOMEM, "out of memory in the scheduler tick");
    *buf = p;
    *cap = cap2;
    return 0;
}

static int collect_one(void *ctx, uint64_t id, int64_t slot)
{
    tick_ctx *c = ctx;
    int rc = grow((void **)&c->due, &c->cap, c->n + 1, sizeof(*c->due));

    if (rc)
        return rc;
    c->due[c->n].slot = slot;
    c->due[c->n].id = id;
    c->n++;
    return 0;
}

static int record_event(tick_ctx *c, size_t i, jobs_event_type type, const jobs__job_rec *rec)
{
    jobs_event *ev = &c->events[i];
    int rc;

    ev->type = type;
    ev->job = c->due[i].id;
    ev->owner = rec->owner;
    ev->name = NULL;
    ev->stack = rec->stack;
    ev->schedule = rec->schedule;
    ev->slot = c->due[i].slot;
    c->name_off[i] = SIZE_MAX;
    if (rec->name) {
        size_t cap = c->names_cap;
        if ((rc = grow((void **)&c->names, &cap, c->names_len + rec->name_len + 1, 1)))
            return rc;
        c->names_cap = cap;
        c->name_off[i] = c->names_len;
        jobs__name_copy(c->names + c->names_len, rec->name, rec->name_len);
        c->names_len += rec->name_len + 1;
    }
    return 0;
}

static int tick_txn(jobs_store *s, jobs__txn *txn, void *arg)
{
    tick_ctx *c = arg;
    int rc;

    size_t swept;

    c->n = 0; /* the transaction may run again after the map grew */
    c->names_len = 0;
    /* Expired idempotency keys go a bounded batch per tick (looking costs one cursor seek). */
    if ((rc = s->be->idem_sweep(txn, c->clock, 1000, &swept)))
        return rc;
    if ((rc = s->be->due_scan(txn, c->now, c->limit, collect_one, c)) || c->n == 0)
        return rc;
    jobs__free(c->events);
    jobs__free(c->name_off);
    c->events = jobs__malloc(c->n * sizeof(*c->events));
    c->name_off = jobs__malloc(c->n * sizeof(*c->name_off));
    if (!c->events || !c->name_off)
        return jobs__error(JOBS_ENOMEM, "out of memory in the scheduler tick");

    for (size_t i = 0; i < c->n; i++) {
        unsigned char copy[JOBS__RECORD_MAX];
        jobs__job_rec rec, next;
        jobs__schedule_rec sched;

        rc = s->be->job_load(txn, c->due[i].id, &rec, copy);
        if (rc == 0 && (!rec.do_run || rec.next_run != c->due[i].slot))
            rc = JOBS_ENOTFOUND;
        if (rc == JOBS_ENOTFOUND)
            return jobs__error(JOBS_ECORRUPT, "the due index disagrees with job %llu",
                               (unsigned long long)c->due[i].id);
        if (rc)
            return rc;
        if (rec.do_del) {
            if ((rc = record_event(c, i, JOBS_EVENT_DELETED, &rec)) ||
                (rc = s->be->job_remove(txn, c->due[i].id, &rec)))
                return rc;
            continue;
        }
        if ((rc = jobs__schedule_usable(s, txn, rec.owner, rec.schedule, &sched)) ||
            (rc = record_event(c, i, JOBS_EVENT_RUN, &rec)))
            return rc == JOBS_ESCHEDULE ? JOBS_ECORRUPT : rc;
        next = rec;
        /* A one-time job is done; so is one whose next slot cannot be represented (it could
         * never be told apart from this one), and a cron job whose stored expression or zone
         * no longer parses or loads (the verifier reports it; the tick goes on). */
        rc = jobs__schedule_next(&next.next_run, &sched, rec.next_run, c->now);
        if (rc == JOBS_ENOMEM)
            return rc;
        if (rc) {
            next.do_run = false;
            next.next_run = 0;
        }
        if ((rc = s->be->job_update(txn, c->due[i].id, &rec, &next)))
            return rc;
    }
    return 0;
}

int jobs_scheduler_tick(size_t *n_events, jobs_store *store, int64_t now, size_t limit,
                        jobs_event_fn fn, void *ctx)
{
    tick_ctx c;
    int rc;

    if (n_events)
        *n_events = 0;
    if (!store)
        return jobs__error(JOBS_EINVAL, "jobs_scheduler_tick needs a store");
    memset(&c, 0, sizeof(c));
    c.now = now;
    c.limit = limit;
    c.clock = jobs__now(store);
    rc = store->be->write_claim ? store->be->write_claim(store, tick_txn, &c)
                                : jobs__write(store, tick_txn, &c);
    if (rc == 0) {
        if (n_events)
            *n_events = c.n;
        /* Committed: now, and only now, the host hears of the runs. */
        for (size_t i = 0; fn && i < c.n && rc == 0; i++) {
            if (c.name_off[i] != SIZE_MAX)
                c.events[i].name = c.names + c.name_off[i];
            rc = fn(&c.events[i], ctx);
        }
    }
    jobs__free(c.due);
    jobs__free(c.events);
    jobs__free(c.name_off);
    jobs__free(c.names);
    return rc;
}

static int next_run_txn(jobs_store *s, jobs__txn *txn, void *arg)
{
    int rc = s->be->due_first(txn, arg);

    if (rc == JOBS_ENOTFOUND)
        return jobs__error(JOBS_ENOTFOUND, "no job is active");
    return rc;
}

int jobs_scheduler_next_run(int64_t *next_run, jobs_store *store)
{
    if (!next_run || !store)
        return jobs__error(JOBS_EINVAL, "jobs_scheduler_next_run needs an output and a store");
    return jobs__read(store, next_run_txn, next_run);
}
