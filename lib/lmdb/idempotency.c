/* The LMDB backend's storage of idempotency keys (the rules are in lib/idempotency.c):
 *
 *   idem:      owner(8) kind(1) key -> expires(8, native i64) id(8, native) fp_len(1) fp
 *   idem_exp:  expires(8, time key) owner(8) kind(1) key -> "": the keys in expiry order, for
 *              the scheduler tick to remove the expired ones
 *
 * An expired key is as good as absent: a create with it starts afresh and replaces it. */
#include "env.h"

#define IDEM_KEY_MAX (9 + JOBS_IDEMPOTENCY_KEY_MAX)
#define IDEM_VAL_MAX (17 + JOBS_IDEMPOTENCY_FINGERPRINT_MAX)

static size_t idem_key(unsigned char *key, uint64_t owner, jobs__kind kind, const char *k,
                       size_t len)
{
    jobs__be64_put(key, owner);
    key[8] = (unsigned char)kind;
    memcpy(key + 9, k, len);
    return 9 + len;
}

/* The idem_exp key of an entry expiring at `expires`. */
static size_t exp_key(unsigned char *key, int64_t expires, const unsigned char *ik, size_t ilen)
{
    jobs__be64_put(key, jobs__time_key(expires));
    memcpy(key + 8, ik, ilen);
    return 8 + ilen;
}

int jobs__lmdb_idem_get(jobs__txn *t, uint64_t owner, jobs__kind kind, const char *k,
                        size_t len, jobs__idem_rec *rec)
{
    unsigned char key[IDEM_KEY_MAX];
    const unsigned char *v;
    MDB_val val;
    int rc = jobs__get(t->txn, t->db->idem, key, idem_key(key, owner, kind, k, len), &val);

    if (rc)
        return rc;
    v = val.mv_data;
    if (val.mv_size < 17 || val.mv_size != 17u + v[16] ||
        v[16] > JOBS_IDEMPOTENCY_FINGERPRINT_MAX)
        return jobs__error(JOBS_ECORRUPT, "an idempotency record is corrupt");
    memcpy(&rec->expires, v, 8);
    memcpy(&rec->id, v + 8, 8);
    rec->fingerprint_len = v[16];
    memcpy(rec->fingerprint, v + 17, v[16]);
    return 0;
}

int jobs__lmdb_idem_put(jobs__txn *t, uint64_t owner, jobs__kind kind, const char *k,
                        size_t len, const jobs__idem_rec *rec)
{
    unsigned char key[IDEM_KEY_MAX], ekey[8 + IDEM_KEY_MAX], val[IDEM_VAL_MAX];
    size_t klen = idem_key(key, owner, kind, k, len);
    MDB_txn *txn = t->txn;
    jobs__lmdb *s = t->db;
    int64_t expires;
    MDB_val old;
    int rc;

    /* An entry of the same key goes first, with its place in the expiry order. */
    rc = jobs__get(txn, s->idem, key, klen, &old);
    if (rc == 0 && old.mv_size >= 8) {
        memcpy(&expires, old.mv_data, 8);
        if ((rc = jobs__del(txn, s->idem_exp, ekey, exp_key(ekey, expires, key, klen))) &&
            rc != JOBS_ENOTFOUND)
            return rc;
    } else if (rc && rc != JOBS_ENOTFOUND) {
        return rc;
    }
    memcpy(val, &rec->expires, 8);
    memcpy(val + 8, &rec->id, 8);
    val[16] = (unsigned char)rec->fingerprint_len;
    if (rec->fingerprint_len)
        memcpy(val + 17, rec->fingerprint, rec->fingerprint_len);
    if ((rc = jobs__put(txn, s->idem, key, klen, val, 17 + rec->fingerprint_len, 0)))
        return rc;
    return jobs__put(txn, s->idem_exp, ekey, exp_key(ekey, rec->expires, key, klen), "", 0, 0);
}

int jobs__lmdb_idem_sweep(jobs__txn *t, int64_t now, size_t max, size_t *swept)
{
    MDB_txn *txn = t->txn;
    jobs__lmdb *s = t->db;
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
