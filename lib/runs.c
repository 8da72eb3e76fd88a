/* Runs as records (docs/runs.md): making them (the tick and jobs_run_now()), finishing them,
 * reading them one at a time and by page, the history limit, and a job's history going with
 * the job. The backend keeps each run's lists, counts and queue entry (lib/backend.h). */
#include "rules.h"

const char *jobs_run_trigger_name(int trigger)
{
    switch (trigger) {
    case JOBS_TRIGGER_SCHEDULE: return "schedule";
    case JOBS_TRIGGER_MANUAL: return "manual";
    case JOBS_TRIGGER_HOOK: return "hook";
    default: return "unknown";
    }
}

const char *jobs_run_state_name(int state)
{
    static const char *const names[] = {"unknown",   "pending", "delivered", "running",
                                        "succeeded", "failed",  "lost",      "skipped"};

    return state >= JOBS_RUN_PENDING && state <= JOBS_RUN_SKIPPED ? names[state] : names[0];
}

/* ---- inside a transaction ----------------------------------------------------------------- */

int jobs__run_load_copy(jobs_store *s, jobs__txn *txn, uint64_t id, jobs__run_rec *rec,
                        unsigned char *copy)
{
    int rc = s->be->run_load(txn, id, rec);

    if (rc)
        return rc;
    return jobs__run_decode(rec, copy, jobs__run_encode(copy, rec));
}

/* Removes the oldest runs of a history beyond the store's limit, a bounded batch at a time
 * (each new run calls this, so a history never grows past the limit by more than what a
 * batch left); runs still queued (pending, running) stay, and so do the runs of ids >= `spare`,
 * which this transaction made (a tick's events name them). Queued runs are passed over, not
 * stopped at: the finished runs behind them go (looking only at the oldest batch, a history
 * whose oldest runs were all in flight kept every new run while they ran). At most SCAN queued
 * runs are passed over per call, so a call costs at most SCAN + BATCH loads. */
static int history_trim(jobs_store *s, jobs__txn *txn, jobs__run_by by, uint64_t owner,
                        uint64_t id, uint64_t spare)
{
    enum { BATCH = 16, SCAN = 256 };
    uint64_t n, ids[BATCH], kept = 0, removed = 0;
    size_t got, want;
    int rc;

    if ((rc = s->be->run_count(txn, by, owner, id, &n)) || n <= s->run_history)
        return rc;
    n -= s->run_history; /* the oldest n runs are past the limit */
    while (removed < BATCH && kept + removed < n && kept < SCAN) {
        want = n - kept - removed < BATCH - removed ? (size_t)(n - kept - removed)
                                                    : (size_t)(BATCH - removed);
        /* Oldest first, from the first run not yet passed over (removed ones are gone). */
        if ((rc = s->be->run_page(txn, by, owner, id, true, kept, want, ids, &got)))
            return rc;
        for (size_t i = 0; i < got; i++) {
            jobs__run_rec r;

            if (ids[i] >= spare)
                return 0; /* the page is oldest first: the rest are newer still */
            if ((rc = s->be->run_load(txn, ids[i], &r)))
                return rc == JOBS_ENOTFOUND ? jobs__error(JOBS_ECORRUPT, "a run history names "
                                                          "a missing run") : rc;
            if (r.state == JOBS_RUN_PENDING || r.state == JOBS_RUN_RUNNING) {
                kept++;
                continue;
            }
            if ((rc = s->be->run_remove(txn, ids[i], &r)))
                return rc;
            removed++;
        }
        if (got < want)
            break;
    }
    return 0;
}

int jobs__run_make(jobs_store *s, jobs__txn *txn, const jobs__run_rec *rec, uint64_t *id,
                   uint64_t spare)
{
    int rc;

    if ((rc = s->be->next_id(txn, JOBS__RUN, id)) || (rc = s->be->run_insert(txn, *id, rec)))
        return rc;
    return history_trim(s, txn, rec->job ? JOBS__RUNS_OF_JOB : JOBS__RUNS_DIRECT, rec->owner,
                        rec->job ? rec->job : rec->stack, spare ? spare : *id);
}

int jobs__runs_purge_job(jobs_store *s, jobs__txn *txn, uint64_t job)
{
    enum { BATCH = 256 };
    uint64_t ids[BATCH];
    size_t got;
    int rc;

    do {
        if ((rc = s->be->run_page(txn, JOBS__RUNS_OF_JOB, 0, job, true, 0, BATCH, ids, &got)))
            return rc;
        for (size_t i = 0; i < got; i++) {
            jobs__run_rec r;

            if ((rc = s->be->run_load(txn, ids[i], &r)) ||
                (rc = s->be->run_remove(txn, ids[i], &r)))
                return rc == JOBS_ENOTFOUND ? jobs__error(JOBS_ECORRUPT, "a run history names "
                                                          "a missing run") : rc;
        }
    } while (got == BATCH);
    return 0;
}

/* ---- output ------------------------------------------------------------------------------ */

static jobs_run *run_new(uint64_t id, const jobs__run_rec *r)
{
    jobs_run *out = jobs__malloc(sizeof(*out) + r->message_len + 1 + r->output_len + 1);
    char *p;

    if (!out)
        return NULL;
    memset(out, 0, sizeof(*out));
    out->id = id;
    out->owner = r->owner;
    out->job = r->job;
    out->stack = r->stack;
    out->slot = r->slot;
    out->trigger = (jobs_run_trigger)r->trigger;
    out->state = (jobs_run_state)r->state;
    out->attempt = r->attempt;
    out->created = r->created;
    out->started = r->started;
    out->finished = r->finished;
    out->lease_until = r->state == JOBS_RUN_RUNNING ? r->lease_until : 0;
    out->missed = r->missed;
    out->missed_since = r->missed_since;
    p = (char *)(out + 1);
    if (r->message_len)
        memcpy(p, r->message, r->message_len);
    p[r->message_len] = '\0';
    out->message = p;
    p += r->message_len + 1;
    if (r->output_len)
        memcpy(p, r->output, r->output_len);
    p[r->output_len] = '\0';
    out->output = p;
    out->output_len = r->output_len;
    return out;
}

void jobs_run_free(jobs_run *run)
{
    jobs__free(run);
}

void jobs_run_page_free(jobs_run_page *page)
{
    if (!page)
        return;
    for (size_t i = 0; i < page->n; i++)
        jobs__free(page->runs[i]);
    jobs__free(page);
}

/* ---- run now ----------------------------------------------------------------------------- */

typedef struct now_ctx {
    uint64_t owner, target, id;
    bool stack;
    bool start; /* delivered to the caller in the same transaction (jobs_run_start_stack) */
    jobs_run_trigger trigger;
    int64_t now;
} now_ctx;

static int now_txn(jobs_store *s, jobs__txn *txn, void *arg)
{
    now_ctx *c = arg;
    jobs__run_rec r;
    int rc;

    memset(&r, 0, sizeof(r));
    r.owner = c->owner;
    r.trigger = (uint8_t)c->trigger;
    r.state = JOBS_RUN_PENDING;
    r.slot = r.created = c->now;
    if (c->stack) {
        if ((rc = jobs__stack_usable(s, txn, c->owner, c->target)))
            return rc;
        r.stack = c->target;
    } else {
        unsigned char copy[JOBS__RECORD_MAX];
        jobs__job_rec job;

        if ((rc = jobs__job_visible(s, txn, c->owner, c->target, &job, copy)))
            return rc;
        if (job.do_del)
            return jobs__error(JOBS_EQUEUED, "job %llu is queued for deletion",
                               (unsigned long long)c->target);
        r.job = c->target;
        r.stack = job.stack;
        r.schedule = job.schedule;
        r.delivery = job.delivery;
        r.lease = job.lease ? job.lease : JOBS_LEASE_DEFAULT;
        r.max_attempts = job.max_attempts ? job.max_attempts : JOBS_MAX_ATTEMPTS_DEFAULT;
    }
    if (c->start) {
        /* A stack's run is at-most-once: delivered, and no tick ever delivers it again. */
        r.state = JOBS_RUN_DELIVERED;
        r.attempt = 1;
        r.started = c->now;
    } else {
        jobs__notify_due(s, txn, r.created);
    }
    return jobs__run_make(s, txn, &r, &c->id, 0);
}

static int run_now(uint64_t *run, jobs_store *store, uint64_t owner, uint64_t target, bool stack,
                   jobs_run_trigger trigger, bool start, int64_t *when)
{
    now_ctx c = {owner, target, 0, stack, start, trigger, 0};
    int rc;

    if (run)
        *run = 0;
    if (!store)
        return jobs__error(JOBS_EINVAL, "running now needs a store");
    if ((rc = jobs__check_owner(owner, 0)) ||
        (rc = jobs__check_id(target, stack ? "stack" : "job")))
        return rc;
    c.now = jobs__now(store);
    if ((rc = jobs__write(store, now_txn, &c)) == 0 && run)
        *run = c.id;
    if (when)
        *when = c.now;
    return rc;
}

int jobs_run_now(uint64_t *run, jobs_store *store, uint64_t owner, uint64_t job)
{
    return run_now(run, store, owner, job, false, JOBS_TRIGGER_MANUAL, false, NULL);
}

static int check_stack_trigger(jobs_run_trigger trigger)
{
    if (trigger != JOBS_TRIGGER_MANUAL && trigger != JOBS_TRIGGER_HOOK)
        return jobs__error(JOBS_EINVAL, "a stack's run is manual or hook, not trigger %d",
                           (int)trigger);
    return 0;
}

int jobs_run_now_stack(uint64_t *run, jobs_store *store, uint64_t owner, uint64_t stack,
                       jobs_run_trigger trigger)
{
    int rc = check_stack_trigger(trigger);

    if (rc) {
        if (run)
            *run = 0;
        return rc;
    }
    return run_now(run, store, owner, stack, true, trigger, false, NULL);
}

int jobs_run_start_stack(jobs_event *ev, jobs_store *store, uint64_t owner, uint64_t stack,
                         jobs_run_trigger trigger)
{
    uint64_t run = 0;
    int64_t when = 0;
    int rc;

    if (!ev)
        return jobs__error(JOBS_EINVAL, "starting a run needs an event to fill");
    if ((rc = check_stack_trigger(trigger)) ||
        (rc = run_now(&run, store, owner, stack, true, trigger, true, &when)))
        return rc;
    memset(ev, 0, sizeof(*ev));
    ev->type = JOBS_EVENT_RUN;
    ev->owner = owner;
    ev->stack = stack;
    ev->slot = when;
    ev->run = run;
    ev->trigger = trigger;
    ev->attempt = 1;
    ev->delivery = JOBS_DELIVERY_AT_MOST_ONCE;
    return 0;
}

/* ---- finish ------------------------------------------------------------------------------ */

typedef struct finish_ctx {
    uint64_t owner, id;
    bool succeeded;
    const char *message, *output;
    size_t message_len, output_len;
    int64_t now;
} finish_ctx;

/* Loads a run of `owner`; another owner's is exactly as a missing one. */
static int run_visible(jobs_store *s, jobs__txn *txn, uint64_t owner, uint64_t id,
                       jobs__run_rec *r)
{
    int rc = s->be->run_load(txn, id, r);

    if (rc == 0 && r->owner != owner)
        rc = JOBS_ENOTFOUND;
    if (rc == JOBS_ENOTFOUND)
        return jobs__error(JOBS_ENOTFOUND, "run %llu not found", (unsigned long long)id);
    return rc;
}

static int finish_txn(jobs_store *s, jobs__txn *txn, void *arg)
{
    finish_ctx *c = arg;
    jobs__run_rec old, r;
    int rc = run_visible(s, txn, c->owner, c->id, &old);

    if (rc)
        return rc;
    if (old.state != JOBS_RUN_DELIVERED && old.state != JOBS_RUN_RUNNING)
        return jobs__error(JOBS_ERUNSTATE, "run %llu is %s: only a delivered or running run "
                           "can be finished", (unsigned long long)c->id,
                           jobs_run_state_name(old.state));
    r = old;
    r.state = c->succeeded ? JOBS_RUN_SUCCEEDED : JOBS_RUN_FAILED;
    r.finished = c->now;
    r.lease_until = 0;
    r.message = c->message;
    r.message_len = c->message_len;
    r.output = c->output;
    r.output_len = c->output_len;
    return s->be->run_update(txn, c->id, &old, &r);
}

int jobs_run_finish_output(jobs_store *store, uint64_t owner, uint64_t run, bool succeeded,
                           const char *message, const char *output, size_t len)
{
    finish_ctx c = {owner, run, succeeded, message, NULL, 0, 0, 0};
    int rc;

    if (!store || (len && !output))
        return jobs__error(JOBS_EINVAL, "jobs_run_finish needs a store (and output for a "
                           "length)");
    if ((rc = jobs__check_owner(owner, 0)) || (rc = jobs__check_id(run, "run")))
        return rc;
    c.message_len = message ? strnlen(message, JOBS_RUN_MESSAGE_MAX) : 0;
    /* A message cut at the limit is cut before a UTF-8 sequence, never inside one. */
    if (c.message_len == JOBS_RUN_MESSAGE_MAX && message[c.message_len])
        while (c.message_len > 0 && ((unsigned char)message[c.message_len] & 0xc0) == 0x80)
            c.message_len--;
    /* The last bytes of the output: what a failing program said last. */
    c.output_len = len > JOBS_RUN_OUTPUT_MAX ? JOBS_RUN_OUTPUT_MAX : len;
    c.output = output ? output + (len - c.output_len) : NULL;
    c.now = jobs__now(store);
    return jobs__write(store, finish_txn, &c);
}

int jobs_run_finish(jobs_store *store, uint64_t owner, uint64_t run, bool succeeded,
                    const char *message)
{
    return jobs_run_finish_output(store, owner, run, succeeded, message, NULL, 0);
}

/* ---- reading ----------------------------------------------------------------------------- */

typedef struct read_ctx {
    uint64_t owner, id, page;
    uint32_t page_size;
    jobs__run_by by;
    jobs_run *run;
    jobs_run_page *out;
} read_ctx;

static int get_txn(jobs_store *s, jobs__txn *txn, void *arg)
{
    read_ctx *c = arg;
    jobs__run_rec r;
    int rc = run_visible(s, txn, c->owner, c->id, &r);

    if (rc)
        return rc;
    if (!(c->run = run_new(c->id, &r)))
        return jobs__error(JOBS_ENOMEM, "out of memory");
    return 0;
}

int jobs_run_get(jobs_run **out, jobs_store *store, uint64_t owner, uint64_t run)
{
    read_ctx c = {owner, run, 0, 0, JOBS__RUNS_OF_JOB, NULL, NULL};
    int rc;

    if (out)
        *out = NULL;
    if (!out || !store)
        return jobs__error(JOBS_EINVAL, "jobs_run_get needs an output and a store");
    if ((rc = jobs__check_owner(owner, 0)) || (rc = jobs__check_id(run, "run")))
        return rc;
    if ((rc = jobs__read(store, get_txn, &c)) == 0)
        *out = c.run;
    return rc;
}

static int page_txn(jobs_store *s, jobs__txn *txn, void *arg)
{
    read_ctx *c = arg;
    jobs_run_page *p;
    uint64_t count, *ids = NULL;
    size_t n = 0;
    int rc;

    if (c->by == JOBS__RUNS_OF_JOB) {
        unsigned char copy[JOBS__RECORD_MAX];
        jobs__job_rec job;

        rc = jobs__job_visible(s, txn, c->owner, c->id, &job, copy);
        if (rc || (rc = s->be->run_count(txn, c->by, c->owner, c->id, &count)))
            return rc;
    } else {
        /* The owner's own runs of the stack are theirs to list also when they may no longer
         * use it: its owner made it private, and their job kept it (jobs_stack_update()).
         * Without such runs, a stack they may not use is refused as before, so the answer
         * says nothing of other owners' stacks. */
        if ((rc = s->be->run_count(txn, c->by, c->owner, c->id, &count)) ||
            (count == 0 && (rc = jobs__stack_usable(s, txn, c->owner, c->id))))
            return rc;
    }
    if (!(ids = jobs__malloc(c->page_size * sizeof(*ids))))
        return jobs__error(JOBS_ENOMEM, "out of memory");
    if (c->page - 1 <= count / c->page_size && (c->page - 1) * c->page_size < count &&
        (rc = s->be->run_page(txn, c->by, c->owner, c->id, false, (c->page - 1) * c->page_size,
                              c->page_size, ids, &n))) {
        jobs__free(ids);
        return rc;
    }
    if (!(p = jobs__malloc(sizeof(*p) + n * sizeof(jobs_run *)))) {
        jobs__free(ids);
        return jobs__error(JOBS_ENOMEM, "out of memory");
    }
    p->count = count;
    p->page_size = c->page_size;
    p->page = c->page;
    p->n = 0;
    p->runs = n ? (jobs_run **)(p + 1) : NULL;
    for (size_t i = 0; i < n && rc == 0; i++) {
        jobs__run_rec r;

        rc = s->be->run_load(txn, ids[i], &r);
        if (rc == JOBS_ENOTFOUND)
            rc = jobs__error(JOBS_ECORRUPT, "a run list names missing run %llu",
                             (unsigned long long)ids[i]);
        else if (rc == 0 && !(p->runs[i] = run_new(ids[i], &r)))
            rc = jobs__error(JOBS_ENOMEM, "out of memory");
        if (rc == 0)
            p->n++;
    }
    jobs__free(ids);
    if (rc) {
        jobs_run_page_free(p);
        return rc;
    }
    c->out = p;
    return 0;
}

static int list(jobs_run_page **out, jobs_store *store, jobs__run_by by, uint64_t owner,
                uint64_t id, uint64_t page, uint32_t page_size)
{
    read_ctx c = {owner, id, page, 0, by, NULL, NULL};
    int rc;

    if (out)
        *out = NULL;
    if (!out || !store)
        return jobs__error(JOBS_EINVAL, "listing runs needs an output and a store");
    if ((rc = jobs__check_owner(owner, 0)) ||
        (rc = jobs__check_id(id, by == JOBS__RUNS_OF_JOB ? "job" : "stack")) ||
        (rc = jobs__check_page(page, page_size)))
        return rc;
    c.page_size = page_size ? page_size : store->page_size;
    if ((rc = jobs__read(store, page_txn, &c)) == 0)
        *out = c.out;
    return rc;
}

int jobs_run_list(jobs_run_page **out, jobs_store *store, uint64_t owner, uint64_t job,
                  uint64_t page, uint32_t page_size)
{
    return list(out, store, JOBS__RUNS_OF_JOB, owner, job, page, page_size);
}

int jobs_run_list_stack(jobs_run_page **out, jobs_store *store, uint64_t owner, uint64_t stack,
                        uint64_t page, uint32_t page_size)
{
    return list(out, store, JOBS__RUNS_OF_STACK, owner, stack, page, page_size);
}
