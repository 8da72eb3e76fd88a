/* The LMDB backend's side of jobs_store_copy() (lib/copy.c): every record of a kind, every
 * idempotency entry and every namespaced record in key order, and the id counters read and
 * set without taking an id. */
#include "env.h"

static int cursor_walk(MDB_txn *txn, MDB_dbi dbi, int (*each)(void *c, MDB_val *k, MDB_val *v),
                       void *c, const char *what)
{
    MDB_cursor *cur;
    MDB_val k, v;
    int rc = 0, mrc;

    if ((mrc = mdb_cursor_open(txn, dbi, &cur)))
        return jobs__mdb_error(mrc, what);
    for (mrc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); mrc == 0;
         mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT))
        if ((rc = each(c, &k, &v)))
            break;
    mdb_cursor_close(cur);
    if (rc)
        return rc < 0 ? rc : 0;
    return mrc == MDB_NOTFOUND ? 0 : jobs__mdb_error(mrc, what);
}

struct rec_walk {
    jobs__rec_fn fn;
    void *ctx;
};

static int rec_each(void *c, MDB_val *k, MDB_val *v)
{
    struct rec_walk *w = c;

    if (k->mv_size != 8)
        return jobs__error(JOBS_ECORRUPT, "copy: a record's key is malformed");
    return w->fn(w->ctx, jobs__be64_get(k->mv_data), v->mv_data, v->mv_size);
}

int jobs__lmdb_rec_scan(jobs__txn *t, jobs__kind kind, jobs__rec_fn fn, void *ctx)
{
    jobs__lmdb *s = t->db;
    struct rec_walk w = {fn, ctx};
    MDB_dbi dbi;

    switch ((int)kind) {
    case JOBS__JOB: dbi = s->jobs; break;
    case JOBS__SCHEDULE: dbi = s->schedules; break;
    case JOBS__STACK: dbi = s->stacks; break;
    case JOBS__RUN:
        if (s->no_runs)
            return 0;
        dbi = s->runs;
        break;
    default: return jobs__error(JOBS_EINVAL, "copy: no records of kind %d", (int)kind);
    }
    return cursor_walk(t->txn, dbi, rec_each, &w, "copy: records");
}

struct idem_walk {
    jobs__idem_fn fn;
    void *ctx;
};

/* idem: owner(8) kind(1) key -> expires(8) id(8) fp_len(1) fp (lmdb/idempotency.c). */
static int idem_each(void *c, MDB_val *k, MDB_val *v)
{
    struct idem_walk *w = c;
    const unsigned char *kp = k->mv_data, *vp = v->mv_data;
    jobs__idem_rec rec;

    if (k->mv_size < 10 || k->mv_size > 9 + JOBS_IDEMPOTENCY_KEY_MAX || v->mv_size < 17 ||
        v->mv_size != 17u + vp[16] || vp[16] > JOBS_IDEMPOTENCY_FINGERPRINT_MAX)
        return jobs__error(JOBS_ECORRUPT, "copy: an idempotency record is corrupt");
    memcpy(&rec.expires, vp, 8);
    memcpy(&rec.id, vp + 8, 8);
    rec.fingerprint_len = vp[16];
    memcpy(rec.fingerprint, vp + 17, vp[16]);
    return w->fn(w->ctx, jobs__be64_get(kp), (jobs__kind)kp[8], (const char *)kp + 9,
                 k->mv_size - 9, &rec);
}

int jobs__lmdb_idem_scan(jobs__txn *t, jobs__idem_fn fn, void *ctx)
{
    struct idem_walk w = {fn, ctx};

    return cursor_walk(t->txn, t->db->idem, idem_each, &w, "copy: idempotency keys");
}

struct kv_walk {
    jobs__kv_all_fn fn;
    void *ctx;
};

/* kv: ns_len(1) ns key -> value (lmdb/kv.c): already in (length, namespace, key) order. */
static int kv_each(void *c, MDB_val *k, MDB_val *v)
{
    struct kv_walk *w = c;
    const unsigned char *p = k->mv_data;
    size_t nlen = k->mv_size ? p[0] : 0;

    if (nlen == 0 || k->mv_size <= 1 + nlen)
        return jobs__error(JOBS_ECORRUPT, "copy: a namespaced record's key is malformed");
    return w->fn(w->ctx, (const char *)p + 1, nlen, p + 1 + nlen, k->mv_size - 1 - nlen,
                 v->mv_data, v->mv_size);
}

int jobs__lmdb_kv_scan_all(jobs__txn *t, jobs__kv_all_fn fn, void *ctx)
{
    struct kv_walk w = {fn, ctx};

    if (t->db->kv_absent)
        return 0;
    return cursor_walk(t->txn, t->db->kv, kv_each, &w, "copy: namespaced records");
}

int jobs__lmdb_id_peek(jobs__txn *t, jobs__kind kind, uint64_t *next)
{
    if (kind == JOBS__JOB) /* told by the last job, or the floor above it */
        return jobs__lmdb_job_next(t->txn, t->db, next);
    return jobs__lmdb_counter_get(t->txn, t->db, kind, next);
}

int jobs__lmdb_id_set(jobs__txn *t, jobs__kind kind, uint64_t next)
{
    return jobs__lmdb_counter_put(t->txn, t->db, kind, next);
}
