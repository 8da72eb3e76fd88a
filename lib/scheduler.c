/* The scheduler tick: due jobs in (next_run, id) order, committed before the host hears of
 * them, so that each slot runs at most once whoever ticks. */
#include <limits.h>
#include <stdio.h>

#include "cron.h"
#include "rules.h"

typedef struct due {
    uint64_t id;
    int64_t slot; /* a job's next_run, or a queued run's queue time */
} due;

typedef struct tick_ctx {
    int64_t now;
    int64_t clock; /* the store's clock, read before the transaction: idempotency key expiry */
    size_t limit;
    due *due;           /* the due jobs taken */
    size_t n, cap;
    due *queued;        /* the queued runs taken (pending, or running past their lease) */
    size_t nq, qcap;
    jobs_event *events; /* the events; names as offsets into `names` until delivery */
    size_t *name_off;   /* SIZE_MAX: no name */
    size_t ne, ecap, ocap;
    char *names;
    size_t names_len, names_cap;
    unsigned char *run_copy; /* JOBS__RUN_RECORD_MAX bytes: a queued run, while it changes */
    uint64_t first_run;      /* the first run this transaction made (0: none yet) */
} tick_ctx;

/* Most slots a schedule without arithmetic is stepped through for one job in one tick. */
#define SLOT_SCAN_MAX 1000u

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

/* THE "next slot after t" of the tick: the first slot later than `t` of a job whose slots run
 * from `anchor` (t >= anchor). False when there is none: a one-time schedule, or a slot past
 * the largest representable time. Everything below that walks slots goes through here; a new
 * schedule kind is one more case here. */
static bool slot_after(const jobs__schedule_rec *sc, int64_t anchor, int64_t t, int64_t *next)
{
    return jobs__schedule_next(next, sc, anchor, t) == 0;
}

/* Whether the schedule's slots are evenly spaced (so they can be counted without a walk). */
static bool arithmetic(const jobs__schedule_rec *sc)
{
    return !sc->once && !sc->cron;
}

/* The slot `k` slots after `slot` (k >= 0), all of them <= now; stepped with slot_after() at
 * most SLOT_SCAN_MAX times for a schedule without arithmetic. */
static int64_t slot_skip(const jobs__schedule_rec *sc, int64_t slot, uint64_t k, int64_t now)
{
    int64_t t = slot;

    if (k == 0)
        return slot;
    if (arithmetic(sc))
        return (int64_t)((uint64_t)slot + k * (uint64_t)sc->value);
    for (uint64_t i = 0; i < k && i < SLOT_SCAN_MAX; i++) {
        int64_t next;
        if (!slot_after(sc, slot, t, &next) || next > now)
            break;
        t = next;
    }
    return t;
}

/* The slots of [slot, now] from `back` seconds before `now` (all of them, `slot` included,
 * when that reaches back to `slot`), walked at most SLOT_SCAN_MAX steps: the latest k of them
 * are kept, oldest first, in out[0..k) (a ring while walking). Returns how many were walked, or
 * SIZE_MAX when the walk stopped before reaching `now`. */
static size_t slots_back(const jobs__schedule_rec *sc, int64_t slot, int64_t now, uint64_t back,
                         size_t k, int64_t *out)
{
    bool whole = back >= (uint64_t)now - (uint64_t)slot;
    int64_t t = whole ? slot : (int64_t)((uint64_t)now - back), next, ring[JOBS_CATCH_UP_MAX];
    size_t seen = 0, n;

    if (whole)
        ring[seen++ % k] = slot;
    for (;;) {
        if (!slot_after(sc, slot, t, &next) || next > now)
            break;
        if (seen == SLOT_SCAN_MAX + (whole ? 1u : 0u))
            return SIZE_MAX;
        ring[seen++ % k] = t = next;
    }
    n = seen < k ? seen : k;
    for (size_t i = 0; i < n; i++)
        out[i] = ring[(seen - n + i) % k];
    return seen;
}

/* The latest `k` (1..JOBS_CATCH_UP_MAX) slots of [slot, now] (`slot` being one), oldest first,
 * into out; how many (fewer than k when [slot, now] holds fewer). For a schedule without
 * arithmetic whose slots from `slot` are more than one walk steps through (a long outage): the
 * walk starts a window before `now` that doubles until it holds k slots, and when a window
 * holds more than a walk can step through, its start is bisected between the two, so the cost
 * is about what the latest k slots span, never the whole outage. */
static size_t slots_latest(const jobs__schedule_rec *sc, int64_t slot, int64_t now, size_t k,
                           int64_t *out)
{
    uint64_t span = (uint64_t)now - (uint64_t)slot, few = 0, many, back;
    size_t got;

    if (k > JOBS_CATCH_UP_MAX)
        k = JOBS_CATCH_UP_MAX;
    for (back = 3600;; back = back > span / 2 ? span : back * 2) {
        got = slots_back(sc, slot, now, back, k, out);
        if (got == SIZE_MAX)
            break;
        if (got >= k || back >= span)
            return got < k ? got : k;
        few = back;
    }
    /* (now - few, now] holds fewer than k slots, (now - many, now] more than a walk reaches:
     * slots are distinct seconds, so some start between them holds k to SLOT_SCAN_MAX. */
    for (many = back; many - few > 1;) {
        back = few + (many - few) / 2;
        got = slots_back(sc, slot, now, back, k, out);
        if (got == SIZE_MAX)
            many = back;
        else if (got >= k)
            return k;
        else
            few = back;
    }
    got = slots_back(sc, slot, now, few, k, out);
    return got == SIZE_MAX ? 0 : got;
}

/* How many slots fall in [slot, now] (slot is one of them), and the last of them. Never an
 * unbounded loop: evenly spaced slots are counted; others are stepped through at most
 * SLOT_SCAN_MAX times: the count then stops at the SLOT_SCAN_MAX + 1 slots those steps saw
 * (*capped: it is a lower bound, above any exact count) and the last slot is found from `now`
 * back (slots_latest). */
static uint64_t slots_due(const jobs__schedule_rec *sc, int64_t slot, int64_t now, int64_t *last,
                          bool *capped)
{
    uint64_t n = 1;
    int64_t next;

    *last = slot;
    *capped = false;
    if (sc->once)
        return 1;
    if (arithmetic(sc)) {
        n = ((uint64_t)now - (uint64_t)slot) / (uint64_t)sc->value + 1;
        *last = (int64_t)((uint64_t)slot + (n - 1) * (uint64_t)sc->value);
        return n;
    }
    for (; n < SLOT_SCAN_MAX && slot_after(sc, slot, *last, &next) && next <= now; n++)
        *last = next;
    if (n == SLOT_SCAN_MAX && slot_after(sc, slot, *last, &next) && next <= now) {
        /* The step that found `next` saw one slot more: counting it keeps the bound above
         * SLOT_SCAN_MAX, which an exact count can be (a coalesced run's `missed` has no "at
         * least" to tell them apart). */
        *capped = true;
        n++;
        slots_latest(sc, slot, now, 1, last);
    }
    return n;
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

static int collect_queued(void *ctx, uint64_t id, int64_t at)
{
    tick_ctx *c = ctx;
    int rc = grow((void **)&c->queued, &c->qcap, c->nq + 1, sizeof(*c->queued));

    if (rc)
        return rc;
    c->queued[c->nq].slot = at;
    c->queued[c->nq].id = id;
    c->nq++;
    return 0;
}

/* An event for the host: of job `job` (`rec`, or a stand-in for a stack's run without a job)
 * and, for a run, of run `run_id` as `run` now is. */
static int record_event(tick_ctx *c, jobs_event_type type, uint64_t job,
                        const jobs__job_rec *rec, const jobs__run_rec *run, uint64_t run_id)
{
    jobs_event *ev;
    int rc;

    if ((rc = grow((void **)&c->events, &c->ecap, c->ne + 1, sizeof(*c->events))) ||
        (rc = grow((void **)&c->name_off, &c->ocap, c->ne + 1, sizeof(*c->name_off))))
        return rc;
    ev = &c->events[c->ne];
    memset(ev, 0, sizeof(*ev));
    ev->type = type;
    ev->job = job;
    ev->owner = rec->owner;
    ev->stack = rec->stack;
    ev->schedule = rec->schedule;
    ev->slot = run ? run->slot : rec->next_run;
    if (run) {
        /* What the run record says it runs: a run delivered again after its job moved to
         * another stack is the same work as its first attempt. */
        ev->stack = run->stack;
        ev->schedule = run->schedule;
        ev->run = run_id;
        ev->trigger = (jobs_run_trigger)run->trigger;
        ev->attempt = run->attempt;
        ev->missed = run->missed;
        ev->delivery = (jobs_delivery)run->delivery;
        ev->lease_until = run->state == JOBS_RUN_RUNNING ? run->lease_until : 0;
    }
    c->name_off[c->ne] = SIZE_MAX;
    if (rec->name) {
        size_t cap = c->names_cap;
        if ((rc = grow((void **)&c->names, &cap, c->names_len + rec->name_len + 1, 1)))
            return rc;
        c->names_cap = cap;
        c->name_off[c->ne] = c->names_len;
        jobs__name_copy(c->names + c->names_len, rec->name, rec->name_len);
        c->names_len += rec->name_len + 1;
    }
    c->ne++;
    return 0;
}

/* A run's delivery (its first, or a new attempt after a lease ended). */
static void deliver(jobs__run_rec *r, int64_t now)
{
    r->attempt++;
    r->started = now;
    if (r->delivery == JOBS_DELIVERY_AT_LEAST_ONCE) {
        r->state = JOBS_RUN_RUNNING;
        r->lease_until = now > INT64_MAX - (int64_t)r->lease ? INT64_MAX : now + r->lease;
    } else {
        r->state = JOBS_RUN_DELIVERED;
        r->lease_until = 0;
    }
}

/* Makes a scheduled run of job `id` for `slot` and delivers it (an event), or, with `skipped`,
 * records `missed` slots from `since` as skipped (no event). */
static int make_run(jobs_store *s, jobs__txn *txn, tick_ctx *c, uint64_t id,
                    const jobs__job_rec *job, int64_t slot, bool skipped, uint64_t missed,
                    int64_t since, const char *why)
{
    jobs__run_rec r;
    uint64_t run_id;
    int rc;

    memset(&r, 0, sizeof(r));
    r.owner = job->owner;
    r.job = id;
    r.stack = job->stack;
    r.schedule = job->schedule;
    r.slot = slot;
    r.trigger = JOBS_TRIGGER_SCHEDULE;
    r.delivery = job->delivery;
    r.lease = job->lease ? job->lease : JOBS_LEASE_DEFAULT;
    r.max_attempts = job->max_attempts ? job->max_attempts : JOBS_MAX_ATTEMPTS_DEFAULT;
    r.created = c->now;
    r.missed = missed;
    r.missed_since = missed ? since : 0;
    if (skipped) {
        r.state = JOBS_RUN_SKIPPED;
        r.finished = c->now;
        r.message = why;
        r.message_len = strnlen(why, JOBS_RUN_MESSAGE_MAX);
    } else {
        deliver(&r, c->now);
    }
    if ((rc = jobs__run_make(s, txn, &r, &run_id, c->first_run)))
        return rc;
    if (!c->first_run)
        c->first_run = run_id;
    return skipped ? 0 : record_event(c, JOBS_EVENT_RUN, id, job, &r, run_id);
}

/* The runs of a due periodic or one-time job whose first due slot is `slot`, by its misfire
 * policy (docs/runs.md). At most JOBS_CATCH_UP_MAX + 1 records, whatever the downtime. */
static int misfire(jobs_store *s, jobs__txn *txn, tick_ctx *c, uint64_t id,
                   const jobs__job_rec *job, const jobs__schedule_rec *sc, int64_t slot)
{
    int64_t last, second = slot, latest[JOBS_CATCH_UP_MAX];
    bool capped;
    uint64_t n = slots_due(sc, slot, c->now, &last, &capped);
    const char *least = capped ? "at least " : "";
    char why[JOBS_RUN_MESSAGE_MAX + 1];
    int rc;

    if (n > 1)
        slot_after(sc, slot, slot, &second);
    switch (job->misfire) {
    case JOBS_MISFIRE_SKIP: {
        /* Only the last slot may run, when it is within the grace; every earlier one is
         * skipped, within the grace or not (so the message claims the grace only when the
         * last one, and with it every earlier one, is past it). */
        bool run_last = (uint64_t)c->now - (uint64_t)last <= job->misfire_value;
        uint64_t skipped = run_last ? n - 1 : n;

        if (skipped) {
            if (run_last)
                snprintf(why, sizeof(why), "%s%llu earlier slot(s) not run: skip runs only the "
                         "latest due slot (within the grace of %u s)", least,
                         (unsigned long long)skipped, (unsigned)job->misfire_value);
            else
                snprintf(why, sizeof(why), "%s%llu slot(s) missed by more than the grace of "
                         "%u s: not run", least, (unsigned long long)skipped,
                         (unsigned)job->misfire_value);
            if ((rc = make_run(s, txn, c, id, job, slot, true, skipped, slot, why)))
                return rc;
        }
        return run_last ? make_run(s, txn, c, id, job, last, false, 0, 0, NULL) : 0;
    }
    case JOBS_MISFIRE_CATCH_UP: {
        /* Each slot runs, the latest misfire_value of them; older ones are skipped. */
        uint64_t runs = n < job->misfire_value ? n : job->misfire_value;
        int64_t t = capped ? 0 : slot_skip(sc, slot, n - runs, c->now);

        if (n > runs) {
            snprintf(why, sizeof(why), "%s%llu slot(s) past the catch-up limit of %u: not run",
                     least, (unsigned long long)(n - runs), (unsigned)job->misfire_value);
            if ((rc = make_run(s, txn, c, id, job, slot, true, n - runs, slot, why)))
                return rc;
        }
        if (capped) {
            /* The latest `runs` slots, found from `now` back: stepping from the first slot
             * would stop SLOT_SCAN_MAX slots into the outage. */
            size_t got = slots_latest(sc, slot, c->now, (size_t)runs, latest);

            for (size_t i = 0; i < got; i++)
                if ((rc = make_run(s, txn, c, id, job, latest[i], false, 0, 0, NULL)))
                    return rc;
            return 0;
        }
        for (uint64_t i = 0; i < runs; i++) {
            if ((rc = make_run(s, txn, c, id, job, t, false, 0, 0, NULL)))
                return rc;
            if (i + 1 < runs && (!slot_after(sc, slot, t, &t) || t > c->now))
                break;
        }
        return 0;
    }
    default:
        /* Coalesce: one run for the first slot, the others counted on it. */
        return make_run(s, txn, c, id, job, slot, false, n - 1, second, NULL);
    }
}

/* A queued run: a pending one is delivered; a running one whose lease ended is delivered
 * again, or lost after its last attempt. */
static int take_queued(jobs_store *s, jobs__txn *txn, tick_ctx *c, size_t i)
{
    uint64_t id = c->queued[i].id;
    unsigned char copy[JOBS__RECORD_MAX];
    jobs__run_rec r, next;
    jobs__job_rec job;
    int rc = jobs__run_load_copy(s, txn, id, &r, c->run_copy);

    /* Gone since the queue was read: its job was deleted earlier in this tick (a job queued
     * for deletion takes its history with it, pending runs included). */
    if (rc == JOBS_ENOTFOUND)
        return 0;
    if (rc == 0 && !((r.state == JOBS_RUN_PENDING && r.created == c->queued[i].slot) ||
                     (r.state == JOBS_RUN_RUNNING && r.lease_until == c->queued[i].slot)))
        rc = JOBS_ENOTFOUND;
    if (rc == JOBS_ENOTFOUND)
        return jobs__error(JOBS_ECORRUPT, "the run queue disagrees with run %llu",
                           (unsigned long long)id);
    if (rc)
        return rc;
    if (r.job) {
        if ((rc = s->be->job_load(txn, r.job, &job, copy)) == JOBS_ENOTFOUND)
            return jobs__error(JOBS_ECORRUPT, "run %llu's job %llu is missing",
                               (unsigned long long)id, (unsigned long long)r.job);
        if (rc)
            return rc;
    } else {
        memset(&job, 0, sizeof(job));
        job.owner = r.owner;
        job.stack = r.stack;
    }
    next = r;
    if (r.state == JOBS_RUN_RUNNING && r.attempt >= r.max_attempts) {
        char why[JOBS_RUN_MESSAGE_MAX + 1];

        snprintf(why, sizeof(why), "lost: the lease ended unfinished on each of %u attempt(s)",
                 (unsigned)r.attempt);
        next.state = JOBS_RUN_LOST;
        next.finished = c->now;
        next.lease_until = 0;
        next.message = why;
        next.message_len = strlen(why);
        return s->be->run_update(txn, id, &r, &next);
    }
    deliver(&next, c->now);
    if ((rc = s->be->run_update(txn, id, &r, &next)))
        return rc;
    return record_event(c, JOBS_EVENT_RUN, r.job, &job, &next, id);
}

static int tick_txn(jobs_store *s, jobs__txn *txn, void *arg)
{
    tick_ctx *c = arg;
    int rc;

    size_t swept;

    c->n = c->nq = c->ne = 0; /* the transaction may run again after the map grew */
    c->first_run = 0;
    c->names_len = 0;
    /* Expired idempotency keys go a bounded batch per tick (looking costs one cursor seek). */
    if ((rc = s->be->idem_sweep(txn, c->clock, 1000, &swept)))
        return rc;
    if ((rc = s->be->due_scan(txn, c->now, c->limit, collect_one, c)) ||
        (rc = s->be->run_due_scan(txn, c->now, c->limit, collect_queued, c)))
        return rc;

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
            if ((rc = record_event(c, JOBS_EVENT_DELETED, c->due[i].id, &rec, NULL, 0)) ||
                (rc = s->be->job_remove(txn, c->due[i].id, &rec)) ||
                (rc = jobs__runs_purge_job(s, txn, c->due[i].id)))
                return rc;
            continue;
        }
        if ((rc = jobs__schedule_usable(s, txn, rec.owner, rec.schedule, &sched)))
            return rc == JOBS_ESCHEDULE ? JOBS_ECORRUPT : rc;
        if ((rc = misfire(s, txn, c, c->due[i].id, &rec, &sched, rec.next_run)))
            return rc;
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
    for (size_t i = 0; i < c->nq; i++)
        if ((rc = take_queued(s, txn, c, i)))
            return rc;
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
    if (!(c.run_copy = jobs__malloc(JOBS__RUN_RECORD_MAX)))
        return jobs__error(JOBS_ENOMEM, "out of memory in the scheduler tick");
    rc = store->be->write_claim ? store->be->write_claim(store, tick_txn, &c)
                                : jobs__write(store, tick_txn, &c);
    if (rc == 0) {
        if (n_events)
            *n_events = c.ne;
        /* Committed: now, and only now, the host hears of the runs. */
        for (size_t i = 0; fn && i < c.ne && rc == 0; i++) {
            if (c.name_off[i] != SIZE_MAX)
                c.events[i].name = c.names + c.name_off[i];
            rc = fn(&c.events[i], ctx);
        }
    }
    jobs__free(c.due);
    jobs__free(c.queued);
    jobs__free(c.events);
    jobs__free(c.name_off);
    jobs__free(c.names);
    jobs__free(c.run_copy);
    return rc;
}

/* The queue's first entry: the earliest time a queued run needs a tick. */
typedef struct queue_first {
    int64_t at;
    bool found;
} queue_first;

static int take_first(void *arg, uint64_t id, int64_t at)
{
    queue_first *q = arg;

    (void)id;
    q->at = at;
    q->found = true;
    return 0;
}

/* The earliest time a tick has work: an active job's next run, a pending run (when made) or a
 * running one whose lease ends. */
static int next_run_txn(jobs_store *s, jobs__txn *txn, void *arg)
{
    int64_t *next = arg;
    queue_first q = {0, false};
    int rc = s->be->due_first(txn, next);
    bool job = rc == 0;

    if (rc && rc != JOBS_ENOTFOUND)
        return rc;
    if ((rc = s->be->run_due_scan(txn, INT64_MAX, 1, take_first, &q)))
        return rc;
    if (q.found && (!job || q.at < *next))
        *next = q.at;
    if (!job && !q.found)
        return jobs__error(JOBS_ENOTFOUND, "no job is active and no run is queued");
    return 0;
}

int jobs_scheduler_next_run(int64_t *next_run, jobs_store *store)
{
    if (!next_run || !store)
        return jobs__error(JOBS_EINVAL, "jobs_scheduler_next_run needs an output and a store");
    return jobs__read(store, next_run_txn, next_run);
}
