/* Idempotency keys of creates (jobs_create_idempotent, jobs_schedule_create_idempotent): the
 * first answer of a key is kept for JOBS_IDEMPOTENCY_TTL, in the same transaction as the create.
 * An expired key is as good as absent: a create with it starts afresh and replaces it. The
 * backend stores the entries and sweeps the expired ones (in the scheduler tick). */
#include "idempotency.h"

int jobs__idem_check(const jobs_idempotency *idem)
{
    if (!idem)
        return 0;
    if (!idem->key || idem->key_len == 0 || idem->key_len > JOBS_IDEMPOTENCY_KEY_MAX)
        return jobs__error(JOBS_EINVAL, "an idempotency key is 1..%d bytes",
                           JOBS_IDEMPOTENCY_KEY_MAX);
    if ((idem->fingerprint_len && !idem->fingerprint) ||
        idem->fingerprint_len > JOBS_IDEMPOTENCY_FINGERPRINT_MAX)
        return jobs__error(JOBS_EINVAL, "an idempotency fingerprint is 0..%d bytes",
                           JOBS_IDEMPOTENCY_FINGERPRINT_MAX);
    return 0;
}

int jobs__idem_find(jobs_store *s, jobs__txn *txn, uint64_t owner, jobs__kind kind,
                    const jobs_idempotency *idem, int64_t now, bool *found, uint64_t *id)
{
    jobs__idem_rec rec;
    int rc = s->be->idem_get(txn, owner, kind, idem->key, idem->key_len, &rec);

    *found = false;
    if (rc == JOBS_ENOTFOUND)
        return 0;
    if (rc)
        return rc;
    if (rec.expires <= now)
        return 0; /* expired: as if absent */
    if (rec.fingerprint_len != idem->fingerprint_len ||
        (idem->fingerprint_len &&
         memcmp(rec.fingerprint, idem->fingerprint, idem->fingerprint_len)))
        return jobs__error(JOBS_EIDEMPOTENCY, "idempotency key '%.*s' was used with a "
                           "different request", (int)(idem->key_len > 64 ? 64 : idem->key_len),
                           idem->key);
    *id = rec.id;
    *found = true;
    return 0;
}

int jobs__idem_put(jobs_store *s, jobs__txn *txn, uint64_t owner, jobs__kind kind,
                   const jobs_idempotency *idem, int64_t now, uint64_t id)
{
    jobs__idem_rec rec;

    rec.expires = now > INT64_MAX - JOBS_IDEMPOTENCY_TTL ? INT64_MAX : now + JOBS_IDEMPOTENCY_TTL;
    rec.id = id;
    rec.fingerprint_len = idem->fingerprint_len;
    if (idem->fingerprint_len)
        memcpy(rec.fingerprint, idem->fingerprint, idem->fingerprint_len);
    return s->be->idem_put(txn, owner, kind, idem->key, idem->key_len, &rec);
}

/* ---- replay without creating -------------------------------------------------------------- */

typedef struct replay_ctx {
    uint64_t owner;
    jobs__kind kind;
    const jobs_idempotency *idem;
    int64_t now;
    uint64_t id;
} replay_ctx;

static int replay_txn(jobs_store *s, jobs__txn *txn, void *arg)
{
    replay_ctx *c = arg;
    bool found;
    int rc = jobs__idem_find(s, txn, c->owner, c->kind, c->idem, c->now, &found, &c->id);

    if (rc == 0 && !found)
        rc = jobs__error(JOBS_ENOTFOUND, "idempotency key '%.*s' answers no create",
                         (int)(c->idem->key_len > 64 ? 64 : c->idem->key_len), c->idem->key);
    return rc;
}

int jobs__idem_replay(uint64_t *id, jobs_store *store, uint64_t owner, jobs__kind kind,
                      const jobs_idempotency *idem, const char *fn)
{
    replay_ctx c = {owner, kind, idem, 0, 0};
    int rc;

    if (id)
        *id = 0;
    if (!id || !store || !idem)
        return jobs__error(JOBS_EINVAL, "%s needs an output, a store and a key", fn);
    /* Schedules have public ones (owner 0), made as every other; jobs do not. */
    if ((rc = jobs__check_owner(owner, kind == JOBS__SCHEDULE)) || (rc = jobs__idem_check(idem)))
        return rc;
    c.now = jobs__now(store);
    if ((rc = jobs__read(store, replay_txn, &c)) == 0)
        *id = c.id;
    return rc;
}
