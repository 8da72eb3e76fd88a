/* Schedules: the config rules, visibility (public or own), the in-use rule, and deletion. */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "cron.h"
#include "idempotency.h"
#include "page.h"
#include "rules.h"

static const struct {
    const char *name;
    int64_t period;
} builtins[JOBS__BUILTIN_SCHEDULES] = {
    {"every minute", 60},  {"every 5 minutes", 300}, {"every 15 minutes", 900},
    {"hourly", 3600},      {"daily", 86400},
};

/* `given`: the config is the caller's (a create, an update with JOBS_SCHEDULE_CONFIG), not one
 * stored already, which an older release may have written with a timestamp above 2^53-1. */
static int check_config(bool once, int64_t value, bool given)
{
    if (once && value <= 0)
        return jobs__error(JOBS_ECONFIG, "a one-time schedule needs a timestamp > 0, not %lld",
                           (long long)value);
    /* Times are JSON integers in the HTTP API, exact only up to 2^53-1: a later timestamp would
     * be shown as a number no client reads back exactly, and refused when sent back. */
    if (once && given && (uint64_t)value > JOBS_ID_MAX)
        return jobs__error(JOBS_ECONFIG, "a one-time schedule's timestamp must be at most "
                           "2^53-1 (%llu), not %lld", (unsigned long long)JOBS_ID_MAX,
                           (long long)value);
    if (!once && (value < JOBS_PERIOD_MIN || value > JOBS_PERIOD_MAX))
        return jobs__error(JOBS_ECONFIG, "a period must be %d..%d seconds, not %lld",
                           JOBS_PERIOD_MIN, JOBS_PERIOD_MAX, (long long)value);
    return 0;
}

int jobs__schedule_cron(jobs__cron *out, const jobs__schedule_rec *rec)
{
    char expr[JOBS_CRON_MAX + 1];

    if (!rec->cron || rec->cron_len > JOBS_CRON_MAX || rec->tz_len > JOBS_TZ_MAX)
        return jobs__error(JOBS_ECONFIG, "not a cron schedule");
    memcpy(expr, rec->cron, rec->cron_len);
    expr[rec->cron_len] = '\0';
    int rc = jobs__cron_parse(out, expr);
    if (rc)
        return rc;
    memcpy(out->zone, rec->tz, rec->tz_len);
    out->zone[rec->tz_len] = '\0';
    return 0;
}

int jobs__schedule_check_cron(uint64_t id, const jobs__schedule_rec *sc)
{
    char expr[JOBS_CRON_MAX + 1], zone[JOBS_TZ_MAX + 1], why[256];
    jobs__cron c;

    memcpy(expr, sc->cron, sc->cron_len);
    expr[sc->cron_len] = '\0';
    memcpy(zone, sc->tz, sc->tz_len);
    zone[sc->tz_len] = '\0';
    if (jobs__cron_compile(&c, expr, zone) == 0)
        return 0;
    snprintf(why, sizeof why, "%s", jobs_error_last());
    return jobs__error(JOBS_ECORRUPT,
                       "check: schedule %llu's cron config no longer holds ('%s' in %s): %s",
                       (unsigned long long)id, expr, zone, why);
}

/* A cron config as given (tz NULL: "UTC"): the library's own checks, with their details. */
static int check_cron(const char *cron, const char *tz, size_t *cron_len, size_t *tz_len)
{
    jobs__cron c;
    int rc;

    if (!cron)
        return jobs__error(JOBS_ECONFIG, "a cron schedule's config needs 'cron', the expression");
    if (!tz)
        tz = "UTC";
    if ((rc = jobs__cron_compile(&c, cron, tz)))
        return rc;
    *cron_len = strlen(cron);
    *tz_len = strlen(tz);
    return 0;
}

/* The kind a spec asks for, given the current one (create: periodic). */
static int spec_kind(const jobs_schedule_spec *sp, jobs_schedule_kind cur,
                     jobs_schedule_kind *kind)
{
    if (sp->fields & JOBS_SCHEDULE_KIND) {
        if (sp->kind != JOBS_SCHEDULE_PERIODIC && sp->kind != JOBS_SCHEDULE_ONE_TIME &&
            sp->kind != JOBS_SCHEDULE_CRON)
            return jobs__error(JOBS_EINVAL, "unknown schedule kind %d", (int)sp->kind);
        if ((sp->fields & JOBS_SCHEDULE_ONCE) && sp->once != (sp->kind == JOBS_SCHEDULE_ONE_TIME))
            return jobs__error(JOBS_ECONFIG, sp->kind == JOBS_SCHEDULE_CRON
                                                 ? "a cron schedule is never one-time: 'once' "
                                                   "must be false"
                                                 : "'once' disagrees with the schedule's kind");
        *kind = sp->kind;
    } else if (sp->fields & JOBS_SCHEDULE_ONCE) {
        *kind = sp->once ? JOBS_SCHEDULE_ONE_TIME
                         : cur == JOBS_SCHEDULE_CRON ? cur : JOBS_SCHEDULE_PERIODIC;
    } else {
        *kind = cur;
    }
    return 0;
}

static jobs_schedule_kind rec_kind(const jobs__schedule_rec *rec)
{
    return rec->cron ? JOBS_SCHEDULE_CRON
                     : rec->once ? JOBS_SCHEDULE_ONE_TIME : JOBS_SCHEDULE_PERIODIC;
}

/* Applies a given config of kind `kind` to `rec` (checked; strings point into the spec). */
static int apply_config(jobs__schedule_rec *rec, const jobs_schedule_spec *sp,
                        jobs_schedule_kind kind)
{
    bool kind_given = sp->fields & JOBS_SCHEDULE_KIND;
    int rc;

    if (kind == JOBS_SCHEDULE_CRON) {
        if (!kind_given)
            return jobs__error(JOBS_ECONFIG, "a cron schedule's config is {\"cron\": \"...\", "
                               "\"tz\": \"...\"}%s (give the kind with it)",
                               sp->period ? ", not 'period'" : sp->timestamp ? ", not "
                               "'timestamp'" : "");
        if (sp->period || sp->timestamp)
            return jobs__error(JOBS_ECONFIG, "'%s' and 'cron' are exclusive",
                               sp->period ? "period" : "timestamp");
        if ((rc = check_cron(sp->cron, sp->tz, &rec->cron_len, &rec->tz_len)))
            return rc;
        rec->cron = sp->cron;
        rec->tz = sp->tz ? sp->tz : "UTC";
        rec->once = false;
        rec->value = 0;
        return 0;
    }
    if (kind_given && (sp->cron || sp->tz))
        return jobs__error(JOBS_ECONFIG, "'%s' and '%s' are exclusive: 'cron' and 'tz' belong "
                           "to a cron schedule", sp->cron ? "cron" : "tz",
                           kind == JOBS_SCHEDULE_ONE_TIME ? "timestamp" : "period");
    rec->once = kind == JOBS_SCHEDULE_ONE_TIME;
    rec->cron = rec->tz = NULL;
    rec->cron_len = rec->tz_len = 0;
    return 0;
}

static int schedule_insert(jobs_store *s, jobs__txn *txn, const jobs__schedule_rec *rec,
                           uint64_t *id)
{
    int rc = s->be->next_id(txn, JOBS__SCHEDULE, id);

    return rc ? rc : s->be->schedule_insert(txn, *id, rec);
}

bool jobs__schedule_seed(uint64_t id, jobs__schedule_rec *rec)
{
    if (id == 0 || id > JOBS__BUILTIN_SCHEDULES)
        return false;
    *rec = (jobs__schedule_rec){JOBS_OWNER_PUBLIC, false, builtins[id - 1].period,
                                builtins[id - 1].name, strlen(builtins[id - 1].name),
                                NULL, 0, NULL, 0};
    return true;
}

int jobs__schedules_seed(jobs_store *s, jobs__txn *txn)
{
    for (uint64_t i = 1; i <= JOBS__BUILTIN_SCHEDULES; i++) {
        jobs__schedule_rec rec;
        uint64_t id;
        int rc;

        jobs__schedule_seed(i, &rec);
        if ((rc = schedule_insert(s, txn, &rec, &id)))
            return rc;
    }
    return 0;
}

/* Loads a schedule `owner` can see; a hidden one is exactly as a missing one. */
static int schedule_visible(jobs_store *s, jobs__txn *txn, uint64_t owner, uint64_t id,
                            jobs__schedule_rec *rec)
{
    int rc = s->be->schedule_load(txn, id, rec);

    if (rc == 0 && rec->owner != JOBS_OWNER_PUBLIC && rec->owner != owner)
        rc = JOBS_ENOTFOUND;
    if (rc == JOBS_ENOTFOUND)
        return jobs__error(JOBS_ENOTFOUND, "schedule %llu not found", (unsigned long long)id);
    return rc;
}

int jobs__schedule_usable(jobs_store *s, jobs__txn *txn, uint64_t owner, uint64_t id,
                          jobs__schedule_rec *rec)
{
    int rc = schedule_visible(s, txn, owner, id, rec);

    if (rc == JOBS_ENOTFOUND)
        return jobs__error(JOBS_ESCHEDULE, "schedule %llu does not exist or is not yours",
                           (unsigned long long)id);
    return rc;
}

/* ---- output ----------------------------------------------------------------------------- */

static size_t schedule_name_size(const void *r)
{
    const jobs__schedule_rec *rec = r;

    return (rec->name ? rec->name_len + 1 : 0) +
           (rec->cron ? rec->cron_len + 1 + rec->tz_len + 1 : 0);
}

/* Fills `item` from `r`, its name copied to `names`; returns the end of the copied name. */
static char *schedule_fill(void *item, uint64_t id, const void *r, char *names)
{
    jobs_schedule *out = item;
    const jobs__schedule_rec *rec = r;

    out->id = id;
    out->owner = rec->owner;
    out->once = rec->once;
    out->period = rec->once || rec->cron ? 0 : rec->value;
    out->timestamp = rec->once ? rec->value : 0;
    out->kind = rec_kind(rec);
    out->name = out->cron = out->tz = NULL;
    if (rec->name) {
        out->name = jobs__name_copy(names, rec->name, rec->name_len);
        names += rec->name_len + 1;
    }
    if (rec->cron) {
        out->cron = jobs__name_copy(names, rec->cron, rec->cron_len);
        names += rec->cron_len + 1;
        out->tz = jobs__name_copy(names, rec->tz, rec->tz_len);
        names += rec->tz_len + 1;
    }
    return names;
}

static int schedule_new(jobs_schedule **out, uint64_t id, const jobs__schedule_rec *rec)
{
    jobs_schedule *sc = jobs__malloc(sizeof(*sc) + schedule_name_size(rec));

    if (!sc)
        return jobs__error(JOBS_ENOMEM, "out of memory");
    schedule_fill(sc, id, rec, (char *)(sc + 1));
    *out = sc;
    return 0;
}

void jobs_schedule_free(jobs_schedule *schedule)
{
    jobs__free(schedule);
}

void jobs_schedule_page_free(jobs_schedule_page *page)
{
    jobs__free(page);
}

/* ---- get / list ------------------------------------------------------------------------- */

typedef struct get_ctx {
    uint64_t owner, id;
    jobs_schedule *out;
} get_ctx;

static int get_txn(jobs_store *s, jobs__txn *txn, void *arg)
{
    get_ctx *c = arg;
    jobs__schedule_rec rec;
    int rc = schedule_visible(s, txn, c->owner, c->id, &rec);

    return rc ? rc : schedule_new(&c->out, c->id, &rec);
}

int jobs_schedule_get(jobs_schedule **out, jobs_store *store, uint64_t owner, uint64_t id)
{
    get_ctx c = {owner, id, NULL};
    int rc;

    if (out)
        *out = NULL;
    if (!out || !store)
        return jobs__error(JOBS_EINVAL, "jobs_schedule_get needs an output and a store");
    if ((rc = jobs__check_owner(owner, 1)) || (rc = jobs__check_id(id, "schedule")))
        return rc;
    if ((rc = jobs__read(store, get_txn, &c)) == 0)
        *out = c.out;
    return rc;
}

/* ---- by name ---------------------------------------------------------------------------- */

typedef struct name_ctx {
    uint64_t owner;
    const char *name;
    size_t len;
    jobs_schedule *out;
} name_ctx;

static int by_name_txn(jobs_store *s, jobs__txn *txn, void *arg)
{
    name_ctx *c = arg;
    jobs__schedule_rec rec;
    uint64_t id = 0;
    int rc = JOBS_ENOTFOUND;

    /* The owner's own first, then the public ones. */
    if (c->owner != JOBS_OWNER_PUBLIC)
        rc = s->be->schedule_by_name(txn, c->owner, c->name, c->len, &id);
    if (rc == JOBS_ENOTFOUND)
        rc = s->be->schedule_by_name(txn, JOBS_OWNER_PUBLIC, c->name, c->len, &id);
    if (rc == JOBS_ENOTFOUND)
        return jobs__error(JOBS_ENOTFOUND, "no schedule of that name");
    if (rc || (rc = s->be->schedule_load(txn, id, &rec)))
        return rc == JOBS_ENOTFOUND ? jobs__error(JOBS_ECORRUPT, "the schedule name index "
                                                  "names a missing schedule") : rc;
    return schedule_new(&c->out, id, &rec);
}

int jobs_schedule_get_by_name(jobs_schedule **out, jobs_store *store, uint64_t owner,
                              const char *name)
{
    name_ctx c = {owner, name, 0, NULL};
    int rc;

    if (out)
        *out = NULL;
    if (!out || !store)
        return jobs__error(JOBS_EINVAL, "jobs_schedule_get_by_name needs an output and a store");
    if ((rc = jobs__check_owner(owner, 1)))
        return rc;
    if (!name)
        return jobs__error(JOBS_ENAME, "a name is needed to look a schedule up by name");
    if ((rc = jobs__check_name(name, &c.len)))
        return rc;
    if ((rc = jobs__read(store, by_name_txn, &c)) == 0)
        *out = c.out;
    return rc;
}

static int schedule_page_load(jobs_store *s, jobs__txn *txn, uint64_t id, void *rec)
{
    return s->be->schedule_load(txn, id, rec);
}

static const jobs__page_kind schedule_pages = {
    JOBS__SCHEDULE, true, sizeof(jobs_schedule_page), sizeof(jobs_schedule),
    sizeof(jobs__schedule_rec), "schedule", schedule_page_load, schedule_name_size,
    schedule_fill, 0, NULL};

int jobs_schedule_list(jobs_schedule_page **out, jobs_store *store, uint64_t owner,
                       uint64_t page, uint32_t page_size)
{
    jobs__page_info info;
    jobs_schedule_page *p;
    int rc;

    if (out)
        *out = NULL;
    if (!out || !store)
        return jobs__error(JOBS_EINVAL, "jobs_schedule_list needs an output and a store");
    if ((rc = jobs__check_owner(owner, 1)) ||
        (rc = jobs__page_read((void **)&p, &info, store, &schedule_pages, owner, page,
                              page_size)))
        return rc;
    p->count = info.count;
    p->page_size = info.page_size;
    p->page = info.page;
    p->n = info.n;
    p->schedules = info.items;
    *out = p;
    return 0;
}

/* ---- create / update -------------------------------------------------------------------- */

typedef struct write_ctx {
    uint64_t owner, id;
    const jobs_schedule_spec *spec;
    size_t name_len;
    unsigned char rec[JOBS__RECORD_MAX]; /* the record as written, for the answer */
    size_t rec_len;
    const jobs_idempotency *idem; /* the create's idempotency key, or NULL */
    bool replayed;                /* the create was a repeat: c->id is the first one's */
    int64_t now;                  /* the clock, read before the transaction */
    jobs__schedule_rec create;    /* the record a create inserts, checked */
} write_ctx;

static int create_txn(jobs_store *s, jobs__txn *txn, void *arg)
{
    write_ctx *c = arg;
    jobs__schedule_rec rec = c->create;
    bool found;
    int rc;

    c->replayed = false;
    if (c->idem) {
        if ((rc = jobs__idem_find(s, txn, c->owner, JOBS__SCHEDULE, c->idem, c->now, &found,
                                  &c->id)))
            return rc;
        if (found) {
            c->replayed = true;
            return 0;
        }
    }
    if ((rc = schedule_insert(s, txn, &rec, &c->id)))
        return rc;
    return c->idem ? jobs__idem_put(s, txn, c->owner, JOBS__SCHEDULE, c->idem, c->now, c->id)
                   : 0;
}

static int check_spec(const jobs_schedule_spec *spec, size_t *name_len)
{
    if (spec->fields & ~(unsigned)(JOBS_SCHEDULE_NAME | JOBS_SCHEDULE_ONCE | JOBS_SCHEDULE_CONFIG |
                                   JOBS_SCHEDULE_KIND))
        return jobs__error(JOBS_EINVAL, "unknown schedule fields 0x%x", spec->fields);
    if (spec->fields & JOBS_SCHEDULE_NAME)
        return jobs__check_name(spec->name, name_len);
    return 0;
}

int jobs_schedule_create(uint64_t *id, jobs_store *store, uint64_t owner,
                         const jobs_schedule_spec *spec)
{
    return jobs_schedule_create_idempotent(id, NULL, store, owner, spec, NULL);
}

int jobs_schedule_create_replay(uint64_t *id, jobs_store *store, uint64_t owner,
                                const jobs_idempotency *idem)
{
    return jobs__idem_replay(id, store, owner, JOBS__SCHEDULE, idem,
                             "jobs_schedule_create_replay");
}

int jobs_schedule_create_idempotent(uint64_t *id, bool *replayed, jobs_store *store,
                                    uint64_t owner, const jobs_schedule_spec *spec,
                                    const jobs_idempotency *idem)
{
    write_ctx c = {owner, 0, spec, 0, {0}, 0, idem, false, 0, {0}};
    jobs_schedule_kind kind = JOBS_SCHEDULE_PERIODIC;
    int rc;

    if (replayed)
        *replayed = false;
    if (!store || !spec)
        return jobs__error(JOBS_EINVAL, "jobs_schedule_create needs a store and a spec");
    if ((rc = jobs__check_owner(owner, 1)) || (rc = check_spec(spec, &c.name_len)) ||
        (rc = jobs__idem_check(idem)))
        return rc;
    if (!(spec->fields & JOBS_SCHEDULE_CONFIG))
        return jobs__error(JOBS_ECONFIG, "a new schedule needs its config");
    if ((rc = spec_kind(spec, JOBS_SCHEDULE_PERIODIC, &kind)) ||
        (rc = apply_config(&c.create, spec, kind)))
        return rc;
    c.create.owner = owner;
    if (kind != JOBS_SCHEDULE_CRON) {
        c.create.value = c.create.once ? spec->timestamp : spec->period;
        if ((rc = check_config(c.create.once, c.create.value, true)))
            return rc;
    }
    if (spec->fields & JOBS_SCHEDULE_NAME) {
        c.create.name = spec->name;
        c.create.name_len = c.name_len;
    }
    if (idem)
        c.now = jobs__now(store); /* for the key's expiry; never inside the transaction */
    if ((rc = jobs__write(store, create_txn, &c)) == 0) {
        if (id)
            *id = c.id;
        if (replayed)
            *replayed = c.replayed;
    }
    return rc;
}

static int update_txn(jobs_store *s, jobs__txn *txn, void *arg)
{
    write_ctx *c = arg;
    const jobs_schedule_spec *sp = c->spec;
    jobs__schedule_rec rec;
    uint64_t refs;
    int rc = schedule_visible(s, txn, c->owner, c->id, &rec);

    if (rc)
        return rc;
    if (rec.owner != c->owner) /* visible but not the caller's: a built-in, public one */
        return jobs__error(JOBS_EPUBLIC, "schedule %llu is public (built in) and cannot be "
                           "changed", (unsigned long long)c->id);
    if (!sp->fields)
        return 0;
    if ((rc = s->be->schedule_refs(txn, c->id, &refs)))
        return rc;
    if (refs > 0)
        return jobs__error(JOBS_EINUSE, "schedule %llu is used by %llu job(s)",
                           (unsigned long long)c->id, (unsigned long long)refs);
    if (sp->fields & JOBS_SCHEDULE_NAME) {
        rec.name = sp->name;
        rec.name_len = c->name_len;
    }
    jobs_schedule_kind cur = rec_kind(&rec), kind = cur;
    if ((rc = spec_kind(sp, cur, &kind)))
        return rc;
    if (kind != cur && !(sp->fields & JOBS_SCHEDULE_CONFIG))
        return jobs__error(JOBS_ECONFIG, "changing the kind ('once', or cron) needs the "
                           "matching config");
    if ((sp->fields & JOBS_SCHEDULE_CONFIG) && (rc = apply_config(&rec, sp, kind)))
        return rc;
    if ((sp->fields & JOBS_SCHEDULE_CONFIG) && kind != JOBS_SCHEDULE_CRON) {
        /* Only the field of the schedule's kind is read (as stored, or as `once` changes it);
         * when just the other one is set, that is what the caller gave, and what to name. */
        if (rec.once ? sp->timestamp == 0 && sp->period != 0
                     : sp->period == 0 && sp->timestamp != 0)
            return jobs__error(JOBS_ECONFIG, "a %s schedule's config is {\"%s\": N}, not '%s'",
                               rec.once ? "one-time" : "periodic",
                               rec.once ? "timestamp" : "period",
                               rec.once ? "period" : "timestamp");
        rec.value = rec.once ? sp->timestamp : sp->period;
    }
    if (!rec.cron &&
        (rc = check_config(rec.once, rec.value, (sp->fields & JOBS_SCHEDULE_CONFIG) != 0)))
        return rc;
    c->rec_len = jobs__schedule_encode(c->rec, &rec);
    return s->be->schedule_update(txn, c->id, &rec);
}

int jobs_schedule_update(jobs_schedule **out, jobs_store *store, uint64_t owner, uint64_t id,
                         const jobs_schedule_spec *changes)
{
    write_ctx c = {owner, id, changes, 0, {0}, 0, NULL, false, 0, {0}};
    jobs__schedule_rec rec;
    jobs_schedule *sc = NULL;
    int rc;

    if (out)
        *out = NULL;
    if (!store || !changes)
        return jobs__error(JOBS_EINVAL, "jobs_schedule_update needs a store and changes");
    if ((rc = jobs__check_owner(owner, 1)) || (rc = jobs__check_id(id, "schedule")) ||
        (rc = check_spec(changes, &c.name_len)))
        return rc;
    /* The answer's memory first (see jobs_update): a committed change is never reported as
     * failed for want of memory. */
    if (out && !(sc = jobs__malloc(sizeof(*sc) + JOBS_NAME_MAX + 1 + JOBS_CRON_MAX + 1 +
                                   JOBS_TZ_MAX + 1)))
        return jobs__error(JOBS_ENOMEM, "out of memory");
    if ((rc = jobs__write(store, update_txn, &c)) != 0 || !out) {
        jobs__free(sc);
        return rc;
    }
    if (c.rec_len == 0) { /* nothing changed: read it back (a failure then changed nothing) */
        jobs__free(sc);
        return jobs_schedule_get(out, store, owner, id);
    }
    if ((rc = jobs__schedule_decode(&rec, c.rec, c.rec_len))) {
        jobs__free(sc);
        return rc;
    }
    schedule_fill(sc, id, &rec, (char *)(sc + 1));
    *out = sc;
    return 0;
}

/* ---- delete ----------------------------------------------------------------------------- */

typedef struct delete_ctx {
    uint64_t owner, id;
} delete_ctx;

static int delete_txn(jobs_store *s, jobs__txn *txn, void *arg)
{
    delete_ctx *c = arg;
    jobs__schedule_rec rec;
    uint64_t refs;
    int rc = schedule_visible(s, txn, c->owner, c->id, &rec);

    if (rc)
        return rc;
    if (rec.owner != c->owner) /* visible but not the caller's: a public one */
        return jobs__error(JOBS_EPUBLIC, "schedule %llu is public and cannot be deleted",
                           (unsigned long long)c->id);
    /* A built-in is in every new store: a copy (lib/copy.c) expects it in its source too. */
    if (c->id <= JOBS__BUILTIN_SCHEDULES)
        return jobs__error(JOBS_EPUBLIC, "schedule %llu is built in and cannot be deleted",
                           (unsigned long long)c->id);
    if ((rc = s->be->schedule_refs(txn, c->id, &refs)))
        return rc;
    if (refs > 0)
        return jobs__error(JOBS_EINUSE, "schedule %llu is used by %llu job(s)",
                           (unsigned long long)c->id, (unsigned long long)refs);
    return s->be->schedule_remove(txn, c->id, &rec);
}

int jobs_schedule_delete(jobs_store *store, uint64_t owner, uint64_t id)
{
    delete_ctx c = {owner, id};
    int rc;

    if (!store)
        return jobs__error(JOBS_EINVAL, "jobs_schedule_delete needs a store");
    if ((rc = jobs__check_owner(owner, 1)) || (rc = jobs__check_id(id, "schedule")))
        return rc;
    return jobs__write(store, delete_txn, &c);
}
