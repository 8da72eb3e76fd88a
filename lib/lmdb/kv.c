/* The LMDB backend's namespaced records (the rules are in lib/kv.c):
 *
 *   kv:  ns_len(1) ns key -> value
 *
 * One database for every namespace: the length byte and the name keep namespaces apart (no key
 * of one is a prefix-sibling of another's), and a namespace's keys sort together in key order.
 * Stores made before it get the database created at their next read-write open; a read-only
 * open of such a store sees no records (kv_absent). */
#include "env.h"

#define KV_KEY_MAX (1 + JOBS_KV_NAMESPACE_MAX + JOBS_KV_KEY_MAX)

static size_t kv_key(unsigned char *out, const char *ns, size_t ns_len, const void *key,
                     size_t key_len)
{
    out[0] = (unsigned char)ns_len;
    memcpy(out + 1, ns, ns_len);
    if (key_len)
        memcpy(out + 1 + ns_len, key, key_len);
    return 1 + ns_len + key_len;
}

int jobs__lmdb_kv_get(jobs__txn *t, const char *ns, size_t ns_len, const void *key,
                      size_t key_len, void *buf, size_t size, size_t *len)
{
    unsigned char k[KV_KEY_MAX];
    MDB_val v;
    int rc;

    *len = 0;
    if (t->db->kv_absent)
        return JOBS_ENOTFOUND;
    if ((rc = jobs__get(t->txn, t->db->kv, k, kv_key(k, ns, ns_len, key, key_len), &v)))
        return rc;
    *len = v.mv_size;
    if (size && v.mv_size)
        memcpy(buf, v.mv_data, v.mv_size < size ? v.mv_size : size);
    return 0;
}

int jobs__lmdb_kv_put(jobs__txn *t, const char *ns, size_t ns_len, const void *key,
                      size_t key_len, const void *value, size_t value_len)
{
    unsigned char k[KV_KEY_MAX];

    return jobs__put(t->txn, t->db->kv, k, kv_key(k, ns, ns_len, key, key_len), value,
                     value_len, 0);
}

int jobs__lmdb_kv_del(jobs__txn *t, const char *ns, size_t ns_len, const void *key,
                      size_t key_len)
{
    unsigned char k[KV_KEY_MAX];

    if (t->db->kv_absent)
        return JOBS_ENOTFOUND;
    return jobs__del(t->txn, t->db->kv, k, kv_key(k, ns, ns_len, key, key_len));
}

int jobs__lmdb_kv_scan(jobs__txn *t, const char *ns, size_t ns_len, const void *from,
                       size_t from_len, size_t limit, jobs_kv_scan_fn fn, void *ctx)
{
    unsigned char start[KV_KEY_MAX];
    size_t prefix = 1 + ns_len, n = 0;
    MDB_cursor *cur;
    MDB_val k, v;
    int rc = 0, mrc;

    if (t->db->kv_absent)
        return 0;
    if ((mrc = mdb_cursor_open(t->txn, t->db->kv, &cur)))
        return jobs__mdb_error(mrc, "namespaced records");
    k.mv_size = kv_key(start, ns, ns_len, from, from_len);
    k.mv_data = start;
    for (mrc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); mrc == 0;
         mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (k.mv_size <= prefix || memcmp(k.mv_data, start, prefix) != 0)
            break; /* past the namespace */
        if (limit && n == limit)
            break;
        n++;
        rc = fn(ctx, (const unsigned char *)k.mv_data + prefix, k.mv_size - prefix, v.mv_data,
                v.mv_size);
        if (rc)
            break;
    }
    mdb_cursor_close(cur);
    if (rc)
        return rc < 0 ? rc : 0;
    return mrc == 0 || mrc == MDB_NOTFOUND ? 0 : jobs__mdb_error(mrc, "namespaced records");
}

/* ---- the verifier and statistics ------------------------------------------------------------ */

int jobs__lmdb_kv_check(MDB_txn *txn, jobs__lmdb *s)
{
    static const char ids[] = JOBS__KV_IDS;
    MDB_cursor *cur;
    MDB_val k, v;
    int rc = 0, mrc;

    if (s->kv_absent)
        return 0;
    if ((mrc = mdb_cursor_open(txn, s->kv, &cur)))
        return jobs__mdb_error(mrc, "check: namespaced records");
    for (mrc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); mrc == 0 && !rc;
         mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        const unsigned char *p = k.mv_data;
        size_t nlen = k.mv_size ? p[0] : 0, klen = k.mv_size > nlen + 1 ? k.mv_size - nlen - 1 : 0;
        bool counter = nlen == sizeof(ids) - 1 && memcmp(p + 1, ids, nlen) == 0;

        if (nlen == 0 || klen == 0 || klen > JOBS_KV_KEY_MAX ||
            (!counter && !jobs__kv_ns_valid((const char *)p + 1, nlen)))
            rc = jobs__error(JOBS_ECORRUPT, "check: a namespaced record's key is malformed");
        else if (!counter && v.mv_size > JOBS_KV_VALUE_MAX)
            rc = jobs__error(JOBS_ECORRUPT, "check: a record of namespace '%.*s' is %zu bytes",
                             (int)nlen, (const char *)p + 1, v.mv_size);
        else if (counter &&
                 (!jobs__kv_ns_valid((const char *)p + 1 + nlen, klen) || v.mv_size != 8 ||
                  jobs__be64_get(v.mv_data) == 0 ||
                  jobs__be64_get(v.mv_data) > JOBS_ID_MAX + 1))
            rc = jobs__error(JOBS_ECORRUPT, "check: an id counter of namespaced records is "
                             "malformed");
    }
    mdb_cursor_close(cur);
    if (!rc && mrc != 0 && mrc != MDB_NOTFOUND)
        rc = jobs__mdb_error(mrc, "check: namespaced records");
    return rc;
}

static int count_one(void *ctx, const void *key, size_t key_len, const void *value,
                     size_t value_len)
{
    (void)key;
    (void)key_len;
    (void)value;
    (void)value_len;
    ++*(uint64_t *)ctx;
    return 0;
}

int jobs__lmdb_kv_count(jobs__txn *t, uint64_t *n)
{
    uint64_t counters = 0;
    MDB_stat ms;
    int rc;

    *n = 0;
    if (t->db->kv_absent)
        return 0;
    if ((rc = mdb_stat(t->txn, t->db->kv, &ms)))
        return jobs__mdb_error(rc, "store statistics");
    /* One counter per namespace that took an id: few, listed apart from the records. */
    if ((rc = jobs__lmdb_kv_scan(t, JOBS__KV_IDS, sizeof(JOBS__KV_IDS) - 1, "", 0, 0, count_one,
                                 &counters)))
        return rc;
    *n = ms.ms_entries - counters;
    return 0;
}
