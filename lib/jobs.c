/* Jobs: creation, partial update, deferred deletion, visibility, unique names, entity tags.
 * The backend keeps the indexes and counts that go with a job in step (lib/backend.h). */
#include <stddef.h>

#include "idempotency.h"
#include "page.h"
#include "rules.h"

int jobs__job_visible(jobs_store *s, jobs__txn *txn, uint64_t owner, uint64_t id,
                       jobs__job_rec *rec, unsigned char *copy)
{
    int rc = s->be->job_load(txn, id, rec, copy);

    if (rc == 0 && rec->owner != owner)
        rc = JOBS_ENOTFOUND;
    if (rc == JOBS_ENOTFOUND)
        return jobs__error(JOBS_ENOTFOUND, "job %llu not found", (unsigned long long)id);
    return rc;
}

/* The first run of a job activated at `now`: a one-time schedule's timestamp, else the first
 * slot strictly after now (periodic: saturating, no overflow for any clock). */
static int first_run(int64_t *out, const jobs__schedule_rec *sc, int64_t now)
{
    int rc;

    if (sc->once) {
        *out = sc->value;
        return 0;
    }
    rc = jobs__schedule_next(out, sc, now, now);
    if (rc == JOBS_ENOTFOUND && !sc->cron) {
        *out = INT64_MAX;
        return 0;
    }
    if (rc == JOBS_ENOTFOUND || rc == JOBS_ERANGE)
        return jobs__error(JOBS_ECONFIG, "the cron schedule has no run after %lld",
                           (long long)now);
    return rc;
}

/* Refuses a name another job of the owner holds. */
static int name_free(jobs_store *s, jobs__txn *txn, uint64_t owner, const char *name, size_t len,
                     uint64_t self)
{
    uint64_t holder;
    int rc = s->be->job_by_name(txn, owner, name, len, &holder);

    if (rc == JOBS_ENOTFOUND)
        return 0;
    if (rc)
        return rc;
    if (holder == self)
        return 0;
    return jobs__error(JOBS_EEXISTS, "name '%.*s' is already used by job %llu", (int)len, name,
                       (unsigned long long)holder);
}

/* ---- output ----------------------------------------------------------------------------- */

static size_t job_name_size(const void *r)
{
    const jobs__job_rec *rec = r;

    return rec->name ? rec->name_len + 1 : 0;
}

/* The job's entity tag: a 64-bit hash of its id and its record's encoding, which is canonical,
 * so it changes whenever any field does (next_run included) and never otherwise. The encoding
 * is taken eight bytes at a time (each word read big-endian, so every host agrees, and
 * multiplied in; then the murmur3 finaliser): a get computes it for every job it hands out, and
 * FNV-1a's byte at a time was a tenth of one. Not a secret and not a checksum: it only has to
 * change when the record does. */
static uint64_t job_etag(uint64_t id, const jobs__job_rec *rec)
{
    unsigned char buf[JOBS__RECORD_MAX + 8];
    size_t n = jobs__job_encode(buf, rec);
    uint64_t h = id ^ ((uint64_t)n * UINT64_C(0x9e3779b97f4a7c15));

    memset(buf + n, 0, 8); /* the last word's tail */
    for (size_t i = 0; i < n; i += 8) {
        h = (h ^ jobs__be64_get(buf + i)) * UINT64_C(0xff51afd7ed558ccd);
        h ^= h >> 32;
    }
    h ^= h >> 33;
    h *= UINT64_C(0xc4ceb9fe1a85ec53);
    h ^= h >> 33;
    return h ? h : 1; /* 0 means "no condition" */
}

/* Refuses a change when the caller's entity tag is not the job's (if_match 0: no condition). */
static int etag_matches(uint64_t id, const jobs__job_rec *rec, uint64_t if_match)
{
    if (if_match && job_etag(id, rec) != if_match)
        return jobs__error(JOBS_ECHANGED, "job %llu has changed: its entity tag is no longer "
                           "%016llx", (unsigned long long)id, (unsigned long long)if_match);
    return 0;
}

static char *job_fill(void *item, uint64_t id, const void *r, char *names)
{
    jobs_job *out = item;
    const jobs__job_rec *rec = r;

    out->id = id;
    out->owner = rec->owner;
    out->stack = rec->stack;
    out->schedule = rec->schedule;
    out->next_run = rec->do_run ? rec->next_run : 0;
    out->do_run = rec->do_run;
    out->do_del = rec->do_del;
    out->etag = job_etag(id, rec);
    out->name = NULL;
    if (rec->name) {
        out->name = jobs__name_copy(names, rec->name, rec->name_len);
        names += rec->name_len + 1;
    }
    return names;
}

static int job_new(jobs_job **out, uint64_t id, const jobs__job_rec *rec)
{
    jobs_job *job = jobs__malloc(sizeof(*job) + job_name_size(rec));

    if (!job)
        return jobs__error(JOBS_ENOMEM, "out of memory");
    job_fill(job, id, rec, (char *)(job + 1));
    *out = job;
    return 0;
}

void jobs_job_free(jobs_job *job)
{
    jobs__free(job);
}

void jobs_job_page_free(jobs_job_page *page)
{
    jobs__free(page);
}

/* ---- get -------------------------------------------------------------------------------- */

typedef struct get_ctx {
    uint64_t owner, id;
    const char *name;
    size_t name_len;
    jobs_job *out;
} get_ctx;

static int get_txn(jobs_store *s, jobs__txn *txn, void *arg)
{
    get_ctx *c = arg;
    jobs__job_rec rec;
    int rc = jobs__job_visible(s, txn, c->owner, c->id, &rec, NULL);

    return rc ? rc : job_new(&c->out, c->id, &rec);
}

int jobs_get(jobs_job **out, jobs_store *store, uint64_t owner, uint64_t id)
{
    get_ctx c = {owner, id, NULL, 0, NULL};
    int rc;

    if (out)
        *out = NULL;
    if (!out || !store)
        return jobs__error(JOBS_EINVAL, "jobs_get needs an output and a store");
    if ((rc = jobs__check_owner(owner, 0)) || (rc = jobs__check_id(id, "job")))
        return rc;
    if ((rc = jobs__read(store, get_txn, &c)) == 0)
        *out = c.out;
    return rc;
}

static int get_by_name_txn(jobs_store *s, jobs__txn *txn, void *arg)
{
    get_ctx *c = arg;
    int rc = s->be->job_by_name(txn, c->owner, c->name, c->name_len, &c->id);

    if (rc == JOBS_ENOTFOUND)
        return jobs__error(JOBS_ENOTFOUND, "no job named '%s'", c->name);
    return rc ? rc : get_txn(s, txn, c);
}

int jobs_get_by_name(jobs_job **out, jobs_store *store, uint64_t owner, const char *name)
{
    get_ctx c = {owner, 0, name, 0, NULL};
    int rc;

    if (out)
        *out = NULL;
    if (!out || !store)
        return jobs__error(JOBS_EINVAL, "jobs_get_by_name needs an output and a store");
    if ((rc = jobs__check_owner(owner, 0)))
        return rc;
    if (!name)
        return jobs__error(JOBS_ENAME, "jobs_get_by_name needs a name");
    if ((rc = jobs__check_name(name, &c.name_len)))
        return rc;
    if ((rc = jobs__read(store, get_by_name_txn, &c)) == 0)
        *out = c.out;
    return rc;
}

/* ---- list ------------------------------------------------------------------------------- */

static int job_page_load(jobs_store *s, jobs__txn *txn, uint64_t id, void *rec)
{
    return s->be->job_load(txn, id, rec, NULL);
}

static void policy_fill(jobs_job_policy *out, const jobs__job_rec *rec);

static void job_policy_fill(void *extra, const void *rec)
{
    *(jobs_job_policy *)extra = (jobs_job_policy)JOBS_JOB_POLICY_INIT;
    policy_fill(extra, rec);
}

static const jobs__page_kind job_pages = {
    JOBS__JOB, false, sizeof(jobs_job_page), sizeof(jobs_job), sizeof(jobs__job_rec), "job",
    job_page_load, job_name_size, job_fill, sizeof(jobs_job_policy), job_policy_fill};

int jobs_list(jobs_job_page **out, jobs_store *store, uint64_t owner, uint64_t page,
              uint32_t page_size)
{
    jobs__page_info info;
    jobs_job_page *p;
    int rc;

    if (out)
        *out = NULL;
    if (!out || !store)
        return jobs__error(JOBS_EINVAL, "jobs_list needs an output and a store");
    if ((rc = jobs__check_owner(owner, 0)) ||
        (rc = jobs__page_read((void **)&p, &info, store, &job_pages, owner, page, page_size)))
        return rc;
    p->count = info.count;
    p->page_size = info.page_size;
    p->page = info.page;
    p->n = info.n;
    p->jobs = info.items;
    p->policies = info.extras;
    *out = p;
    return 0;
}

/* ---- create / update -------------------------------------------------------------------- */

/* The delivery and misfire settings a spec gives (checked by check_spec()). */
static void apply_policy(jobs__job_rec *rec, const jobs_job_spec *sp)
{
    if (sp->fields & JOBS_JOB_DELIVERY)
        rec->delivery = (uint8_t)sp->delivery;
    if (sp->fields & JOBS_JOB_LEASE)
        rec->lease = sp->lease;
    if (sp->fields & JOBS_JOB_MAX_ATTEMPTS)
        rec->max_attempts = sp->max_attempts;
    if (sp->fields & JOBS_JOB_MISFIRE) {
        rec->misfire = (uint8_t)sp->misfire;
        rec->misfire_value = sp->misfire_value;
    }
}

typedef struct write_ctx {
    uint64_t owner, id;
    const jobs_job_spec *spec;
    size_t name_len;
    unsigned char rec[JOBS__RECORD_MAX]; /* the job as written, for the answer */
    size_t rec_len;
    jobs_delete_outcome outcome;
    uint64_t if_match; /* entity tag the job must still have, or 0 */
    const jobs_idempotency *idem; /* the create's idempotency key, or NULL */
    bool replayed;                /* the create was a repeat: c->id is the first one's */
    int64_t now; /* the clock, read before the transaction (never inside: see docs/threading.md) */
} write_ctx;

static int check_spec(const jobs_job_spec *spec, size_t *name_len);

static int create_txn(jobs_store *s, jobs__txn *txn, void *arg)
{
    write_ctx *c = arg;
    const jobs_job_spec *sp = c->spec;
    bool found;
    int rc;

    /* A repeat answers the first create, before anything else is looked at. */
    c->replayed = false;
    if (c->idem) {
        if ((rc = jobs__idem_find(s, txn, c->owner, JOBS__JOB, c->idem, c->now, &found,
                                  &c->id)))
            return rc;
        if (found) {
            c->replayed = true;
            return 0;
        }
    }
    if ((rc = jobs__job_insert_new(s, txn, c->owner, sp, c->name_len, c->now, &c->id)))
        return rc;
    return c->idem ? jobs__idem_put(s, txn, c->owner, JOBS__JOB, c->idem, c->now, c->id) : 0;
}

int jobs__job_new_rec(jobs_store *s, jobs__txn *txn, uint64_t owner, const jobs_job_spec *sp,
                      size_t name_len, int64_t now, jobs__job_rec *out)
{
    jobs__schedule_rec sched;
    const char *name = (sp->fields & JOBS_JOB_NAME) ? sp->name : NULL;
    bool enabled = (sp->fields & JOBS_JOB_ENABLED) && sp->enabled;
    int rc;

    if ((rc = jobs__stack_usable(s, txn, owner, sp->stack)) ||
        (rc = jobs__schedule_usable(s, txn, owner, sp->schedule, &sched)))
        return rc;
    if (name && (rc = name_free(s, txn, owner, name, name_len, 0)))
        return rc;
    int64_t next_run = 0;
    if (enabled && (rc = first_run(&next_run, &sched, now)))
        return rc;

    jobs__job_rec rec = {owner, sp->stack, sp->schedule, next_run, enabled, false, name, name_len,
                         0, 0, 0, 0, 0};
    apply_policy(&rec, sp);
    if (enabled)
        jobs__notify_due(s, txn, next_run); /* told only if the write commits */
    *out = rec;
    return 0;
}

int jobs__job_insert_new(jobs_store *s, jobs__txn *txn, uint64_t owner, const jobs_job_spec *sp,
                         size_t name_len, int64_t now, uint64_t *id)
{
    jobs__job_rec rec;
    int rc;

    if ((rc = jobs__job_new_rec(s, txn, owner, sp, name_len, now, &rec)) ||
        (rc = s->be->next_id(txn, JOBS__JOB, id)))
        return rc;
    return s->be->job_insert(txn, *id, &rec);
}

int jobs__job_check_new(const jobs_job_spec *spec, size_t *name_len)
{
    return check_spec(spec, name_len);
}

static int check_spec(const jobs_job_spec *spec, size_t *name_len)
{
    unsigned f = spec->fields;
    int rc;

    if (f & ~(unsigned)(JOBS_JOB_NAME | JOBS_JOB_STACK | JOBS_JOB_SCHEDULE | JOBS_JOB_ENABLED |
                        JOBS_JOB_DELIVERY | JOBS_JOB_LEASE | JOBS_JOB_MAX_ATTEMPTS |
                        JOBS_JOB_MISFIRE))
        return jobs__error(JOBS_EINVAL, "unknown job fields 0x%x", spec->fields);
    if ((f & JOBS_JOB_DELIVERY) && spec->delivery != JOBS_DELIVERY_AT_MOST_ONCE &&
        spec->delivery != JOBS_DELIVERY_AT_LEAST_ONCE)
        return jobs__error(JOBS_EINVAL, "delivery %d is neither at-most-once nor at-least-once",
                           (int)spec->delivery);
    if ((f & JOBS_JOB_LEASE) && spec->lease > JOBS_LEASE_MAX)
        return jobs__error(JOBS_EINVAL, "lease %u is above %u s", spec->lease, JOBS_LEASE_MAX);
    if ((f & JOBS_JOB_MAX_ATTEMPTS) && spec->max_attempts > JOBS_MAX_ATTEMPTS_MAX)
        return jobs__error(JOBS_EINVAL, "max_attempts %u is above %u", spec->max_attempts,
                           JOBS_MAX_ATTEMPTS_MAX);
    if (f & JOBS_JOB_MISFIRE) {
        uint32_t v = spec->misfire_value;

        if (spec->misfire == JOBS_MISFIRE_COALESCE ? v != 0
            : spec->misfire == JOBS_MISFIRE_SKIP   ? v > JOBS_GRACE_MAX
            : spec->misfire == JOBS_MISFIRE_CATCH_UP ? v < 1 || v > JOBS_CATCH_UP_MAX
                                                     : true)
            return jobs__error(JOBS_EINVAL, "misfire %d with value %u: coalesce takes 0, skip a "
                               "grace of 0..%u s, catch-up 1..%u runs", (int)spec->misfire, v,
                               JOBS_GRACE_MAX, JOBS_CATCH_UP_MAX);
    }
    if ((spec->fields & JOBS_JOB_STACK) && (rc = jobs__check_id(spec->stack, "stack")))
        return rc;
    if ((spec->fields & JOBS_JOB_SCHEDULE) && (rc = jobs__check_id(spec->schedule, "schedule")))
        return rc;
    if (spec->fields & JOBS_JOB_NAME)
        return jobs__check_name(spec->name, name_len);
    return 0;
}

int jobs_create(uint64_t *id, jobs_store *store, uint64_t owner, const jobs_job_spec *spec)
{
    return jobs_create_idempotent(id, NULL, store, owner, spec, NULL);
}

int jobs_create_idempotent(uint64_t *id, bool *replayed, jobs_store *store, uint64_t owner,
                           const jobs_job_spec *spec, const jobs_idempotency *idem)
{
    write_ctx c = {owner, 0, spec, 0, {0}, 0, 0, 0, idem, false, 0};
    int rc;

    if (replayed)
        *replayed = false;
    if (!store || !spec)
        return jobs__error(JOBS_EINVAL, "jobs_create needs a store and a spec");
    if ((rc = jobs__check_owner(owner, 0)) || (rc = check_spec(spec, &c.name_len)) ||
        (rc = jobs__idem_check(idem)))
        return rc;
    if ((spec->fields & (JOBS_JOB_STACK | JOBS_JOB_SCHEDULE)) !=
        (JOBS_JOB_STACK | JOBS_JOB_SCHEDULE))
        return jobs__error(JOBS_EINVAL, "a new job needs a stack and a schedule");
    c.now = jobs__now(store);
    if ((rc = jobs__write(store, create_txn, &c)) == 0) {
        if (id)
            *id = c.id;
        if (replayed)
            *replayed = c.replayed;
    }
    return rc;
}

int jobs_create_replay(uint64_t *id, jobs_store *store, uint64_t owner,
                       const jobs_idempotency *idem)
{
    return jobs__idem_replay(id, store, owner, JOBS__JOB, idem, "jobs_create_replay");
}

static int update_txn(jobs_store *s, jobs__txn *txn, void *arg)
{
    write_ctx *c = arg;
    const jobs_job_spec *sp = c->spec;
    unsigned char copy[JOBS__RECORD_MAX]; /* writes below may move the stored bytes */
    jobs__job_rec old, rec;
    jobs__schedule_rec sched = {0};
    bool activate;
    int rc = jobs__job_visible(s, txn, c->owner, c->id, &old, copy);

    if (rc || (rc = etag_matches(c->id, &old, c->if_match)))
        return rc;
    if (old.do_del)
        return jobs__error(JOBS_EQUEUED, "job %llu is queued for deletion",
                           (unsigned long long)c->id);
    rec = old;
    if (sp->fields & JOBS_JOB_STACK && sp->stack != old.stack) {
        if ((rc = jobs__stack_usable(s, txn, c->owner, sp->stack)))
            return rc;
        rec.stack = sp->stack;
    }
    if (sp->fields & JOBS_JOB_SCHEDULE && sp->schedule != old.schedule) {
        if ((rc = jobs__schedule_usable(s, txn, c->owner, sp->schedule, &sched)))
            return rc;
        rec.schedule = sp->schedule;
    }
    if (sp->fields & JOBS_JOB_NAME) {
        rec.name = sp->name;
        rec.name_len = c->name_len;
        if (rec.name && (rc = name_free(s, txn, c->owner, rec.name, rec.name_len, c->id)))
            return rc;
    }
    if (sp->fields & JOBS_JOB_ENABLED)
        rec.do_run = sp->enabled;
    apply_policy(&rec, sp);
    /* Activation, or a new schedule while active, sets next_run anew. */
    activate = rec.do_run && (!old.do_run || rec.schedule != old.schedule);
    if (activate) {
        if (rec.schedule == old.schedule &&
            (rc = jobs__schedule_usable(s, txn, c->owner, rec.schedule, &sched)))
            return rc;
        if ((rc = first_run(&rec.next_run, &sched, c->now)))
            return rc;
        jobs__notify_due(s, txn, rec.next_run);
    }
    if (!rec.do_run)
        rec.next_run = 0;
    c->rec_len = jobs__job_encode(c->rec, &rec);
    return s->be->job_update(txn, c->id, &old, &rec);
}

int jobs_update(jobs_job **out, jobs_store *store, uint64_t owner, uint64_t id,
                const jobs_job_spec *changes)
{
    return jobs_update_if(out, store, owner, id, changes, 0);
}

int jobs_update_if(jobs_job **out, jobs_store *store, uint64_t owner, uint64_t id,
                   const jobs_job_spec *changes, uint64_t if_match)
{
    write_ctx c = {owner, id, changes, 0, {0}, 0, 0, if_match, NULL, false, 0};
    jobs__job_rec rec;
    jobs_job *job = NULL;
    int rc;

    if (out)
        *out = NULL;
    if (!store || !changes)
        return jobs__error(JOBS_EINVAL, "jobs_update needs a store and changes");
    if ((rc = jobs__check_owner(owner, 0)) || (rc = jobs__check_id(id, "job")) ||
        (rc = check_spec(changes, &c.name_len)))
        return rc;
    /* The answer's memory first, with room for any name: once the update is committed, it
     * must not be reported as failed for want of memory. */
    if (out && !(job = jobs__malloc(sizeof(*job) + JOBS_NAME_MAX + 1)))
        return jobs__error(JOBS_ENOMEM, "out of memory");
    c.now = jobs__now(store);
    if ((rc = jobs__write(store, update_txn, &c)) == 0 && out &&
        (rc = jobs__job_decode(&rec, c.rec, c.rec_len)) == 0) {
        job_fill(job, id, &rec, (char *)(job + 1));
        *out = job;
        return 0;
    }
    jobs__free(job);
    return rc;
}

int jobs__job_update_in(jobs_store *s, jobs__txn *txn, uint64_t owner, uint64_t id,
                        const jobs_job_spec *changes, size_t name_len, uint64_t if_match,
                        int64_t now)
{
    write_ctx c = {owner, id, changes, name_len, {0}, 0, 0, if_match, NULL, false, now};

    return update_txn(s, txn, &c);
}

/* ---- delete ----------------------------------------------------------------------------- */

static int delete_txn(jobs_store *s, jobs__txn *txn, void *arg)
{
    write_ctx *c = arg;
    unsigned char copy[JOBS__RECORD_MAX];
    jobs__job_rec rec;
    int rc = jobs__job_visible(s, txn, c->owner, c->id, &rec, copy);

    if (rc || (rc = etag_matches(c->id, &rec, c->if_match)))
        return rc;
    if (!rec.do_run) {
        c->outcome = JOBS_DELETED;
        return (rc = s->be->job_remove(txn, c->id, &rec)) ? rc
                                                          : jobs__runs_purge_job(s, txn, c->id);
    }
    c->outcome = JOBS_QUEUED_FOR_DELETION;
    if (rec.do_del)
        return 0; /* already queued: nothing to write */
    jobs__job_rec queued = rec;
    queued.do_del = true;
    return s->be->job_update(txn, c->id, &rec, &queued);
}

int jobs_delete(jobs_delete_outcome *outcome, jobs_store *store, uint64_t owner, uint64_t id)
{
    return jobs_delete_if(outcome, store, owner, id, 0);
}

int jobs_delete_if(jobs_delete_outcome *outcome, jobs_store *store, uint64_t owner, uint64_t id,
                   uint64_t if_match)
{
    write_ctx c = {owner, id, NULL, 0, {0}, 0, 0, if_match, NULL, false, 0};
    int rc;

    if (!store)
        return jobs__error(JOBS_EINVAL, "jobs_delete needs a store");
    if ((rc = jobs__check_owner(owner, 0)) || (rc = jobs__check_id(id, "job")))
        return rc;
    if ((rc = jobs__write(store, delete_txn, &c)) == 0 && outcome)
        *outcome = c.outcome;
    return rc;
}

int jobs__job_delete_in(jobs_store *s, jobs__txn *txn, uint64_t owner, uint64_t id,
                        uint64_t if_match, jobs_delete_outcome *outcome)
{
    write_ctx c = {owner, id, NULL, 0, {0}, 0, 0, if_match, NULL, false, 0};
    int rc = delete_txn(s, txn, &c);

    if (rc == 0)
        *outcome = c.outcome;
    return rc;
}

/* ---- policy ----------------------------------------------------------------------------- */

typedef struct policy_ctx {
    uint64_t owner, id;
    jobs__job_rec rec;
} policy_ctx;

static int policy_txn(jobs_store *s, jobs__txn *txn, void *arg)
{
    policy_ctx *c = arg;

    return jobs__job_visible(s, txn, c->owner, c->id, &c->rec, NULL);
}

int jobs_job_policy_get(jobs_job_policy *out, jobs_store *store, uint64_t owner, uint64_t id)
{
    policy_ctx c = {owner, id, {0}};
    int rc;

    if (!out || !store)
        return jobs__error(JOBS_EINVAL, "jobs_job_policy_get needs an output and a store");
    if (out->version != JOBS_JOB_POLICY_VERSION)
        return jobs__error(JOBS_EVERSION, "policy version %u is not supported (1): initialise "
                           "it with JOBS_JOB_POLICY_INIT", out->version);
    if ((rc = jobs__check_owner(owner, 0)) || (rc = jobs__check_id(id, "job")) ||
        (rc = jobs__read(store, policy_txn, &c)))
        return rc;
    policy_fill(out, &c.rec);
    return 0;
}

/* A record's settings as jobs_job_policy_get() and a page's `policies` give them: the defaults
 * filled in. */
static void policy_fill(jobs_job_policy *out, const jobs__job_rec *rec)
{
    out->delivery = (jobs_delivery)rec->delivery;
    out->lease = rec->lease ? rec->lease : JOBS_LEASE_DEFAULT;
    out->max_attempts = rec->max_attempts ? rec->max_attempts : JOBS_MAX_ATTEMPTS_DEFAULT;
    out->misfire = (jobs_misfire)rec->misfire;
    out->misfire_value = rec->misfire_value;
}
