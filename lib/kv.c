/* Namespaced records (include/jobs/kv.h): the checks, the transactions, and the id counters.
 * A backend stores (namespace, key) -> bytes and lists a namespace in key order (lib/backend.h,
 * kv_*); everything else is here, the same for every backend. A namespace's id counter is a
 * record too, in the namespace JOBS__KV_IDS (which no caller can name, since '#' is not allowed
 * in a namespace) under the namespace's name, as a big-endian u64: the next id to give. */
#include "store.h"

struct jobs_kv_txn {
    jobs_store *s;
    jobs__txn *t;
    bool write;
};

typedef struct kv_call {
    jobs_kv_fn fn;
    void *ctx;
    bool write;
} kv_call;

bool jobs__kv_ns_valid(const char *ns, size_t len)
{
    if (len == 0 || len > JOBS_KV_NAMESPACE_MAX)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = ns[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
              c == '-'))
            return false;
    }
    return true;
}

/* The namespace's length after checking it and the transaction; 0 after an error. */
static int check_ns(size_t *len, const jobs_kv_txn *txn, const char *ns, bool write)
{
    if (!txn)
        return jobs__error(JOBS_EINVAL, "a jobs_kv_* call needs its transaction");
    if (write && !txn->write)
        return jobs__error(JOBS_EINVAL, "a write in a read transaction (use jobs_kv_write)");
    *len = ns ? strnlen(ns, JOBS_KV_NAMESPACE_MAX + 1) : 0;
    if (!ns || !jobs__kv_ns_valid(ns, *len))
        return jobs__error(JOBS_EINVAL, "a namespace is 1..%d bytes of a-z 0-9 . _ -",
                           JOBS_KV_NAMESPACE_MAX);
    return 0;
}

static int check_key(const void *key, size_t len)
{
    if (!key || len == 0 || len > JOBS_KV_KEY_MAX)
        return jobs__error(JOBS_EINVAL, "a key is 1..%d bytes", JOBS_KV_KEY_MAX);
    return 0;
}

static int run(jobs_store *s, jobs__txn *t, void *ctx)
{
    kv_call *c = ctx;
    jobs_kv_txn txn = {s, t, c->write};

    return c->fn(&txn, c->ctx);
}

int jobs_kv_write(jobs_store *store, jobs_kv_fn fn, void *ctx)
{
    kv_call c = {fn, ctx, true};

    if (!store || !fn)
        return jobs__error(JOBS_EINVAL, "jobs_kv_write needs a store and a callback");
    return jobs__write(store, run, &c);
}

int jobs_kv_read(jobs_store *store, jobs_kv_fn fn, void *ctx)
{
    kv_call c = {fn, ctx, false};

    if (!store || !fn)
        return jobs__error(JOBS_EINVAL, "jobs_kv_read needs a store and a callback");
    return jobs__read(store, run, &c);
}

int jobs_kv_get(jobs_kv_txn *txn, const char *ns, const void *key, size_t key_len, void *buf,
                size_t size, size_t *len)
{
    size_t nlen, vlen = 0;
    int rc;

    if (len)
        *len = 0;
    if ((rc = check_ns(&nlen, txn, ns, false)) || (rc = check_key(key, key_len)))
        return rc;
    if (!buf && size)
        return jobs__error(JOBS_EINVAL, "jobs_kv_get: no buffer for %zu bytes", size);
    rc = txn->s->be->kv_get(txn->t, ns, nlen, key, key_len, buf, size, &vlen);
    if (rc == JOBS_ENOTFOUND)
        return jobs__error(JOBS_ENOTFOUND, "no record of that key in '%s'", ns);
    if (rc)
        return rc;
    if (len)
        *len = vlen;
    if (vlen > size)
        return jobs__error(JOBS_ERANGE, "the value is %zu bytes, the buffer %zu", vlen, size);
    return 0;
}

int jobs_kv_put(jobs_kv_txn *txn, const char *ns, const void *key, size_t key_len,
                const void *value, size_t value_len)
{
    size_t nlen;
    int rc;

    if ((rc = check_ns(&nlen, txn, ns, true)) || (rc = check_key(key, key_len)))
        return rc;
    if (value_len > JOBS_KV_VALUE_MAX)
        return jobs__error(JOBS_ERANGE, "a value is 0..%d bytes, not %zu", JOBS_KV_VALUE_MAX,
                           value_len);
    if (!value && value_len)
        return jobs__error(JOBS_EINVAL, "jobs_kv_put: no value for %zu bytes", value_len);
    return txn->s->be->kv_put(txn->t, ns, nlen, key, key_len, value_len ? value : "", value_len);
}

int jobs_kv_delete(jobs_kv_txn *txn, const char *ns, const void *key, size_t key_len)
{
    size_t nlen;
    int rc;

    if ((rc = check_ns(&nlen, txn, ns, true)) || (rc = check_key(key, key_len)))
        return rc;
    rc = txn->s->be->kv_del(txn->t, ns, nlen, key, key_len);
    if (rc == JOBS_ENOTFOUND)
        return jobs__error(JOBS_ENOTFOUND, "no record of that key in '%s'", ns);
    return rc;
}

/* The next id to give in namespace `ns` (1 when none was ever taken). */
static int counter_get(jobs_kv_txn *txn, const char *ns, size_t nlen, uint64_t *next)
{
    unsigned char v[8];
    size_t vlen = 0;
    int rc = txn->s->be->kv_get(txn->t, JOBS__KV_IDS, sizeof(JOBS__KV_IDS) - 1, ns, nlen, v,
                                sizeof(v), &vlen);

    *next = 1;
    if (rc == JOBS_ENOTFOUND)
        return 0;
    if (rc)
        return rc;
    if (vlen != 8 || (*next = jobs__be64_get(v)) == 0 || *next > JOBS_ID_MAX + 1)
        return jobs__error(JOBS_ECORRUPT, "the id counter of namespace '%s' is corrupt", ns);
    return 0;
}

static int counter_set(jobs_kv_txn *txn, const char *ns, size_t nlen, uint64_t next)
{
    unsigned char v[8];

    jobs__be64_put(v, next);
    return txn->s->be->kv_put(txn->t, JOBS__KV_IDS, sizeof(JOBS__KV_IDS) - 1, ns, nlen, v, 8);
}

int jobs_kv_next_id(uint64_t *id, jobs_kv_txn *txn, const char *ns)
{
    uint64_t next;
    size_t nlen;
    int rc;

    if (!id)
        return jobs__error(JOBS_EINVAL, "jobs_kv_next_id needs an output");
    *id = 0;
    if ((rc = check_ns(&nlen, txn, ns, true)) || (rc = counter_get(txn, ns, nlen, &next)))
        return rc;
    if (next > JOBS_ID_MAX)
        return jobs__error(JOBS_ERANGE, "all ids 1..2^53-1 of namespace '%s' are taken", ns);
    if ((rc = counter_set(txn, ns, nlen, next + 1)))
        return rc;
    *id = next;
    return 0;
}

int jobs_kv_reserve_ids(jobs_kv_txn *txn, const char *ns, uint64_t last)
{
    uint64_t next;
    size_t nlen;
    int rc;

    if ((rc = check_ns(&nlen, txn, ns, true)))
        return rc;
    if (last > JOBS_ID_MAX)
        return jobs__error(JOBS_ERANGE, "an id is at most 2^53-1, not %llu",
                           (unsigned long long)last);
    if ((rc = counter_get(txn, ns, nlen, &next)) || next > last)
        return rc;
    return counter_set(txn, ns, nlen, last + 1);
}

int jobs_kv_scan(jobs_kv_txn *txn, const char *ns, const void *from, size_t from_len,
                 size_t limit, jobs_kv_scan_fn fn, void *ctx)
{
    size_t nlen;
    int rc;

    if ((rc = check_ns(&nlen, txn, ns, false)))
        return rc;
    if (!fn || (from_len && !from) || from_len > JOBS_KV_KEY_MAX)
        return jobs__error(JOBS_EINVAL, "jobs_kv_scan needs a callback and a start of 0..%d "
                           "bytes", JOBS_KV_KEY_MAX);
    return txn->s->be->kv_scan(txn->t, ns, nlen, from_len ? from : "", from_len, limit, fn, ctx);
}
