/* Idempotency keys of creates (jobs_create_idempotent, jobs_schedule_create_idempotent): the
 * first answer of a key is kept for JOBS_IDEMPOTENCY_TTL, in the same transaction as the create.
 *
 *   idem:      owner(8) kind(1) key -> expires(8, native i64) id(8, native) fp_len(1) fp
 *   idem_exp:  expires(8, time key) owner(8) kind(1) key -> "": the keys in expiry order, for
 *              the scheduler tick to remove the expired ones
 *
 * An expired key is as good as absent: a create with it starts afresh and replaces it. */
#include "idempotency.h"

#define IDEM_KEY_MAX (9 + JOBS_IDEMPOTENCY_KEY_MAX)
#define IDEM_VAL_MAX (17 + JOBS_IDEMPOTENCY_FINGERPRINT_MAX)

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

static size_t idem_key(unsigned char *key, uint64_t owner, jobs__kind kind,
                       const jobs_idempotency *idem)
{
    jobs__be64_put(key, owner);
    key[8] = (unsigned char)kind;
    memcpy(key + 9, idem->key, idem->key_len);
    return 9 + idem->key_len;
}

/* The idem_exp key of an entry expiring at `expires`. */
static size_t exp_key(unsigned char *key, int64_t expires, const unsigned char *ik, size_t ilen)
{
    jobs__be64_put(key, jobs__time_key(expires));
    memcpy(key + 8, ik, ilen);
    return 8 + ilen;
}

int jobs__idem_find(MDB_txn *txn, jobs_store *s, uint64_t owner, jobs__kind kind,
                    const jobs_idempotency *idem, int64_t now, bool *found, uint64_t *id)
{
    unsigned char key[IDEM_KEY_MAX];
    const unsigned char *v;
    int64_t expires;
    MDB_val val;
    int rc;

    *found = false;
    rc = jobs__get(txn, s->idem, key, idem_key(key, owner, kind, idem), &val);
    if (rc == JOBS_ENOTFOUND)
        return 0;
    if (rc)
        return rc;
    v = val.mv_data;
    if (val.mv_size < 17 || val.mv_size != 17u + v[16])
        return jobs__error(JOBS_ECORRUPT, "an idempotency record is corrupt");
    memcpy(&expires, v, 8);
    if (expires <= now)
        return 0; /* expired: as if absent */
    if (v[16] != idem->fingerprint_len ||
        (idem->fingerprint_len && memcmp(v + 17, idem->fingerprint, idem->fingerprint_len)))
        return jobs__error(JOBS_EIDEMPOTENCY, "idempotency key '%.*s' was used with a "
                           "different request", (int)(idem->key_len > 64 ? 64 : idem->key_len),
                           idem->key);
    memcpy(id, v + 8, 8);
    *found = true;
    return 0;
}

int jobs__idem_put(MDB_txn *txn, jobs_store *s, uint64_t owner, jobs__kind kind,
                   const jobs_idempotency *idem, int64_t now, uint64_t id)
{
    unsigned char key[IDEM_KEY_MAX], ekey[8 + IDEM_KEY_MAX], val[IDEM_VAL_MAX];
    size_t klen = idem_key(key, owner, kind, idem);
    int64_t expires;
    MDB_val old;
    int rc;

    /* An expired entry of the same key goes first, with its place in the expiry order. */
    rc = jobs__get(txn, s->idem, key, klen, &old);
    if (rc == 0 && old.mv_size >= 8) {
        memcpy(&expires, old.mv_data, 8);
        if ((rc = jobs__del(txn, s->idem_exp, ekey, exp_key(ekey, expires, key, klen))) &&
            rc != JOBS_ENOTFOUND)
            return rc;
    } else if (rc && rc != JOBS_ENOTFOUND) {
        return rc;
    }
    expires = now > INT64_MAX - JOBS_IDEMPOTENCY_TTL ? INT64_MAX : now + JOBS_IDEMPOTENCY_TTL;
    memcpy(val, &expires, 8);
    memcpy(val + 8, &id, 8);
    val[16] = (unsigned char)idem->fingerprint_len;
    if (idem->fingerprint_len)
        memcpy(val + 17, idem->fingerprint, idem->fingerprint_len);
    if ((rc = jobs__put(txn, s->idem, key, klen, val, 17 + idem->fingerprint_len, 0)))
        return rc;
    return jobs__put(txn, s->idem_exp, ekey, exp_key(ekey, expires, key, klen), "", 0, 0);
}

int jobs__idem_sweep(MDB_txn *txn, jobs_store *s, int64_t now, size_t max, size_t *swept)
{
    MDB_cursor *cur;
    MDB_val k, v;
    int rc, mrc;

    *swept = 0;
    if ((mrc = mdb_cursor_open(txn, s->idem_exp, &cur)))
        return jobs__mdb_error(mrc, "idempotency keys");
    for (mrc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); mrc == 0 && *swept < max;
         mrc = mdb_cursor_get(cur, &k, &v, MDB_FIRST)) {
        unsigned char key[IDEM_KEY_MAX];
        size_t klen = k.mv_size - 8;

        if (k.mv_size < 18 || k.mv_size > 8 + IDEM_KEY_MAX) {
            mdb_cursor_close(cur);
            return jobs__error(JOBS_ECORRUPT, "an idempotency expiry entry is corrupt");
        }
        if (jobs__time_unkey(jobs__be64_get(k.mv_data)) > now)
            break;
        /* Copied before the deletes: k points into the page they change. */
        memcpy(key, (unsigned char *)k.mv_data + 8, klen);
        if ((mrc = mdb_cursor_del(cur, 0)))
            break;
        if ((rc = jobs__del(txn, s->idem, key, klen)) && rc != JOBS_ENOTFOUND) {
            mdb_cursor_close(cur);
            return rc;
        }
        (*swept)++;
    }
    mdb_cursor_close(cur);
    return mrc == 0 || mrc == MDB_NOTFOUND ? 0 : jobs__mdb_error(mrc, "idempotency keys");
}
