/* jobs_store_copy(): every record of one store into another, whatever their backends, through
 * the seam (lib/backend.h: rec_scan, idem_scan, kv_scan_all, id_peek, id_set and the insert
 * operations). The source is read in one read transaction into a dump in memory (records in
 * the codec's canonical bytes), the target written in one write transaction from it, and then
 * both are read again and compared entry by entry (docs/scale-out.md, "Moving a store"). */
#include "rules.h"

/* A dump: entries one after another, each a tag byte and its fields.
 *   's' 'j' 't' 'r'  id(8) len(4) bytes   a schedule, job, stack or run (canonical record bytes)
 *   'b'              id(8) len(4) bytes   a stack's blocks
 *   'i'              owner(8) kind(1) len(4) key expires(8) id(8) len(4) fingerprint
 *   'k'              len(4) ns len(4) key len(4) value
 *   'c'              kind(1) next(8)      an id counter
 * Numbers in native byte order: a dump lives only in this process. */
typedef struct dump {
    unsigned char *buf;
    size_t len, cap;
    uint64_t *stacks; /* the stacks' ids, whose blocks follow them */
    size_t nstacks, stacks_cap;
} dump;

static void dump_reset(dump *d)
{
    d->len = 0;
    d->nstacks = 0;
}

static void dump_free(dump *d)
{
    jobs__free(d->buf);
    jobs__free(d->stacks);
    memset(d, 0, sizeof(*d));
}

static int put(dump *d, const void *p, size_t n)
{
    if (d->len + n > d->cap) {
        size_t cap = d->cap ? d->cap : 65536;
        unsigned char *b;

        while (cap < d->len + n)
            cap *= 2;
        if (!(b = jobs__realloc(d->buf, cap)))
            return jobs__error(JOBS_ENOMEM, "copy: out of memory for the store's dump");
        d->buf = b;
        d->cap = cap;
    }
    if (n)
        memcpy(d->buf + d->len, p, n);
    d->len += n;
    return 0;
}

static int put_u8(dump *d, unsigned v)
{
    unsigned char b = (unsigned char)v;

    return put(d, &b, 1);
}

static int put_u64(dump *d, uint64_t v)
{
    return put(d, &v, sizeof(v));
}

static int put_bytes(dump *d, const void *p, size_t n)
{
    uint32_t l = (uint32_t)n;
    int rc = put(d, &l, sizeof(l));

    return rc ? rc : put(d, p, n);
}

/* Reading a dump back: a cursor over its bytes (written by this file, so trusted). */
typedef struct cursor {
    const unsigned char *p, *end;
} cursor;

static unsigned get_u8(cursor *c)
{
    return *c->p++;
}

static uint64_t get_u64(cursor *c)
{
    uint64_t v;

    memcpy(&v, c->p, sizeof(v));
    c->p += sizeof(v);
    return v;
}

static const void *get_bytes(cursor *c, size_t *n)
{
    uint32_t l;
    const void *p;

    memcpy(&l, c->p, sizeof(l));
    p = c->p + sizeof(l);
    c->p += sizeof(l) + l;
    *n = l;
    return p;
}

/* ---- export ----------------------------------------------------------------------------- */

static const char *kind_name(unsigned tag)
{
    switch (tag) {
    case 's': return "schedule";
    case 'j': return "job";
    case 't': return "stack";
    case 'r': return "run";
    case 'b': return "stack's blocks";
    case 'i': return "idempotency key";
    case 'k': return "namespaced record";
    case 'c': return "id counter";
    default: return "record";
    }
}

struct export_rec {
    dump *d;
    unsigned tag;
};

/* A record decoded (so a damaged one stops the copy) and encoded again: the canonical bytes,
 * the same whatever wrote them. */
static int export_rec(void *ctx, uint64_t id, const void *data, size_t len)
{
    struct export_rec *x = ctx;
    dump *d = x->d;
    unsigned char buf[JOBS__RUN_RECORD_MAX];
    size_t n = 0;
    int rc = 0;

    switch (x->tag) {
    case 'j': {
        jobs__job_rec r;
        if (!(rc = jobs__job_decode(&r, data, len)))
            n = jobs__job_encode(buf, &r);
        break;
    }
    case 's': {
        jobs__schedule_rec r;
        if (!(rc = jobs__schedule_decode(&r, data, len)))
            n = jobs__schedule_encode(buf, &r);
        break;
    }
    case 't': {
        jobs__stack_rec r;
        if (!(rc = jobs__stack_decode(&r, data, len)))
            n = jobs__stack_encode(buf, &r);
        break;
    }
    default: {
        jobs__run_rec r;
        if (!(rc = jobs__run_decode(&r, data, len)))
            n = jobs__run_encode(buf, &r);
        break;
    }
    }
    if (rc)
        return jobs__error(JOBS_ECORRUPT, "copy: %s %llu does not decode", kind_name(x->tag),
                           (unsigned long long)id);
    if (x->tag == 't') {
        if (d->nstacks == d->stacks_cap) {
            size_t cap = d->stacks_cap ? d->stacks_cap * 2 : 64;
            uint64_t *s = jobs__realloc(d->stacks, cap * sizeof(*s));

            if (!s)
                return jobs__error(JOBS_ENOMEM, "copy: out of memory for the store's dump");
            d->stacks = s;
            d->stacks_cap = cap;
        }
        d->stacks[d->nstacks++] = id;
    }
    if ((rc = put_u8(d, x->tag)) || (rc = put_u64(d, id)) || (rc = put_bytes(d, buf, n)))
        return rc;
    return 0;
}

static int export_idem(void *ctx, uint64_t owner, jobs__kind kind, const char *key, size_t len,
                       const jobs__idem_rec *rec)
{
    dump *d = ctx;
    int rc;

    if ((rc = put_u8(d, 'i')) || (rc = put_u64(d, owner)) || (rc = put_u8(d, (unsigned)kind)) ||
        (rc = put_bytes(d, key, len)) || (rc = put_u64(d, (uint64_t)rec->expires)) ||
        (rc = put_u64(d, rec->id)) ||
        (rc = put_bytes(d, rec->fingerprint, rec->fingerprint_len)))
        return rc;
    return 0;
}

static int export_kv(void *ctx, const char *ns, size_t ns_len, const void *key, size_t key_len,
                     const void *value, size_t value_len)
{
    dump *d = ctx;
    int rc;

    if ((rc = put_u8(d, 'k')) || (rc = put_bytes(d, ns, ns_len)) ||
        (rc = put_bytes(d, key, key_len)) || (rc = put_bytes(d, value, value_len)))
        return rc;
    return 0;
}

static const jobs__kind counter_kinds[] = {JOBS__SCHEDULE, JOBS__STACK, JOBS__JOB, JOBS__RUN};

/* The whole store, in one read transaction. */
static int export_fn(jobs_store *s, jobs__txn *txn, void *ctx)
{
    static const unsigned tags[] = {'s', 't', 'j', 'r'};
    const jobs__backend *be = s->be;
    dump *d = ctx;
    int rc;

    dump_reset(d);
    for (size_t i = 0; i < 4; i++) {
        struct export_rec x = {d, tags[i]};

        if ((rc = be->rec_scan(txn, counter_kinds[i], export_rec, &x)))
            return rc;
    }
    for (size_t i = 0; i < d->nstacks; i++) {
        const void *data;
        size_t len;

        rc = be->stack_blocks_get(txn, d->stacks[i], &data, &len);
        if (rc == JOBS_ENOTFOUND)
            continue;
        if (rc || (rc = put_u8(d, 'b')) || (rc = put_u64(d, d->stacks[i])) ||
            (rc = put_bytes(d, data, len)))
            return rc;
    }
    if ((rc = be->idem_scan(txn, export_idem, d)) || (rc = be->kv_scan_all(txn, export_kv, d)))
        return rc;
    for (size_t i = 0; i < 4; i++) {
        uint64_t next;

        if ((rc = be->id_peek(txn, counter_kinds[i], &next)) ||
            (rc = put_u8(d, 'c')) || (rc = put_u8(d, (unsigned)counter_kinds[i])) ||
            (rc = put_u64(d, next)))
            return rc;
    }
    return 0;
}

static int export_store(jobs_store *s, dump *d)
{
    return s->be->read(s, export_fn, d);
}

/* ---- import ----------------------------------------------------------------------------- */

struct import {
    const dump *d;
    /* The target's schedules (a new store's built-in ones): their canonical bytes. */
    dump have;
};

static int refuse_any(void *ctx, uint64_t id, const void *data, size_t len)
{
    (void)data;
    (void)len;
    return jobs__error(JOBS_EEXISTS, "copy: the target store is not empty: it holds %s %llu",
                       (const char *)ctx, (unsigned long long)id);
}

static int refuse_idem(void *ctx, uint64_t owner, jobs__kind kind, const char *key, size_t len,
                       const jobs__idem_rec *rec)
{
    (void)ctx;
    (void)kind;
    (void)key;
    (void)len;
    (void)rec;
    return jobs__error(JOBS_EEXISTS, "copy: the target store is not empty: it holds an "
                       "idempotency key of owner %llu", (unsigned long long)owner);
}

static int refuse_kv(void *ctx, const char *ns, size_t ns_len, const void *key, size_t key_len,
                     const void *value, size_t value_len)
{
    (void)ctx;
    (void)key;
    (void)key_len;
    (void)value;
    (void)value_len;
    return jobs__error(JOBS_EEXISTS, "copy: the target store is not empty: it holds records of "
                       "namespace '%.*s'", (int)ns_len, ns);
}

/* The source's schedule `id` in the dump: its bytes, or NULL. */
static const void *find_rec(const dump *d, unsigned tag, uint64_t id, size_t *len)
{
    cursor c = {d->buf, d->buf + d->len};

    while (c.p < c.end) {
        unsigned t = get_u8(&c);

        if (t != 's' && t != 't' && t != 'j' && t != 'r')
            return NULL; /* records come first */
        uint64_t i = get_u64(&c);
        const void *p = get_bytes(&c, len);

        if (t == tag && i == id)
            return p;
    }
    return NULL;
}

/* Whether a target's schedule record is a built-in one as a new store holds it. */
static bool is_seed(uint64_t id, const void *p, size_t len)
{
    unsigned char buf[JOBS__RECORD_MAX];
    jobs__schedule_rec seed;

    return jobs__schedule_seed(id, &seed) && jobs__schedule_encode(buf, &seed) == len &&
           memcmp(buf, p, len) == 0;
}

/* A new store holds the built-in schedules; the target may hold those and nothing else. The
 * source holds them too: as they are, or changed by their owner (a built-in renamed with owner
 * 0, which a store that has jobs on it can never undo), and then the copy takes the source's. */
static int check_empty(jobs_store *s, jobs__txn *txn, struct import *im)
{
    const jobs__backend *be = s->be;
    struct export_rec x = {&im->have, 's'};
    cursor c;
    int rc;

    if ((rc = be->rec_scan(txn, JOBS__JOB, refuse_any, "job")) ||
        (rc = be->rec_scan(txn, JOBS__STACK, refuse_any, "stack")) ||
        (rc = be->rec_scan(txn, JOBS__RUN, refuse_any, "run")) ||
        (rc = be->idem_scan(txn, refuse_idem, NULL)) ||
        (rc = be->kv_scan_all(txn, refuse_kv, NULL)))
        return rc;
    dump_reset(&im->have);
    if ((rc = be->rec_scan(txn, JOBS__SCHEDULE, export_rec, &x)))
        return rc;
    c.p = im->have.buf;
    c.end = im->have.buf + im->have.len;
    while (c.p < c.end) {
        size_t len, slen;
        uint64_t id;
        const void *p, *sp;

        (void)get_u8(&c);
        id = get_u64(&c);
        p = get_bytes(&c, &len);
        sp = find_rec(im->d, 's', id, &slen);
        if (!sp || ((slen != len || memcmp(sp, p, len) != 0) && !is_seed(id, p, len)))
            return jobs__error(JOBS_EEXISTS, "copy: the target store is not empty: it holds "
                               "schedule %llu, which the source %s",
                               (unsigned long long)id, sp ? "holds otherwise" : "does not hold");
    }
    for (size_t i = 0; i < 4; i++) {
        uint64_t next, want = 1;
        cursor k = {im->d->buf, im->d->buf + im->d->len};

        if ((rc = be->id_peek(txn, counter_kinds[i], &next)))
            return rc;
        /* The source's counter: the dump's last entries. */
        while (k.p < k.end) {
            unsigned t = get_u8(&k);
            size_t n;

            if (t == 'c') {
                unsigned kind = get_u8(&k);
                uint64_t v = get_u64(&k);

                if (kind == (unsigned)counter_kinds[i])
                    want = v;
                continue;
            }
            if (t == 'i') {
                (void)get_u64(&k);
                (void)get_u8(&k);
                (void)get_bytes(&k, &n);
                (void)get_u64(&k);
                (void)get_u64(&k);
                (void)get_bytes(&k, &n);
            } else if (t == 'k') {
                (void)get_bytes(&k, &n);
                (void)get_bytes(&k, &n);
                (void)get_bytes(&k, &n);
            } else {
                (void)get_u64(&k);
                (void)get_bytes(&k, &n);
            }
        }
        if (next > want)
            return jobs__error(JOBS_EEXISTS, "copy: the target store is not empty: it has given "
                               "%s ids up to %llu, the source only up to %llu",
                               kind_name(counter_kinds[i] == JOBS__JOB        ? 'j'
                                         : counter_kinds[i] == JOBS__STACK    ? 't'
                                         : counter_kinds[i] == JOBS__SCHEDULE ? 's'
                                                                              : 'r'),
                               (unsigned long long)(next - 1), (unsigned long long)(want - 1));
    }
    return 0;
}

static int import_fn(jobs_store *s, jobs__txn *txn, void *ctx)
{
    struct import *im = ctx;
    const jobs__backend *be = s->be;
    cursor c = {im->d->buf, im->d->buf + im->d->len};
    int rc;

    if ((rc = check_empty(s, txn, im)))
        return rc;
    while (c.p < c.end) {
        unsigned tag = get_u8(&c);
        size_t len, klen, vlen;
        const void *p, *k, *v;
        uint64_t id;

        switch (tag) {
        case 's': {
            jobs__schedule_rec r;
            size_t hlen;
            id = get_u64(&c);
            p = get_bytes(&c, &len);
            const void *hp = find_rec(&im->have, 's', id, &hlen);
            if (hp && hlen == len && memcmp(hp, p, len) == 0)
                continue; /* the same built-in schedule */
            rc = jobs__schedule_decode(&r, p, len);
            if (!rc)
                rc = hp ? be->schedule_update(txn, id, &r) /* a built-in, changed */
                        : be->schedule_insert(txn, id, &r);
            break;
        }
        case 't': {
            jobs__stack_rec r;
            id = get_u64(&c);
            p = get_bytes(&c, &len);
            rc = jobs__stack_decode(&r, p, len);
            if (!rc)
                rc = be->stack_insert(txn, id, &r);
            break;
        }
        case 'j': {
            jobs__job_rec r;
            id = get_u64(&c);
            p = get_bytes(&c, &len);
            rc = jobs__job_decode(&r, p, len);
            if (!rc)
                rc = be->job_insert(txn, id, &r);
            break;
        }
        case 'r': {
            jobs__run_rec r;
            id = get_u64(&c);
            p = get_bytes(&c, &len);
            rc = jobs__run_decode(&r, p, len);
            if (!rc)
                rc = be->run_insert(txn, id, &r);
            break;
        }
        case 'b':
            id = get_u64(&c);
            p = get_bytes(&c, &len);
            rc = be->stack_blocks_put(txn, id, p, len);
            break;
        case 'i': {
            jobs__idem_rec r;
            uint64_t owner = get_u64(&c);
            jobs__kind kind = (jobs__kind)get_u8(&c);
            const void *fp;
            size_t flen;

            k = get_bytes(&c, &klen);
            r.expires = (int64_t)get_u64(&c);
            r.id = get_u64(&c);
            fp = get_bytes(&c, &flen);
            r.fingerprint_len = flen;
            memcpy(r.fingerprint, fp, flen);
            rc = be->idem_put(txn, owner, kind, k, klen, &r);
            break;
        }
        case 'k': {
            const void *ns = get_bytes(&c, &len);

            k = get_bytes(&c, &klen);
            v = get_bytes(&c, &vlen);
            rc = be->kv_put(txn, ns, len, k, klen, v, vlen);
            break;
        }
        default: { /* 'c' */
            jobs__kind kind = (jobs__kind)get_u8(&c);

            rc = be->id_set(txn, kind, get_u64(&c));
            break;
        }
        }
        if (rc)
            return rc;
    }
    return 0;
}

/* ---- the comparison --------------------------------------------------------------------- */

/* The length of the entry at c (advancing c past it), its tag and id (0 for those without). */
static size_t entry_next(cursor *c, unsigned *tag, uint64_t *id)
{
    const unsigned char *start = c->p;
    size_t n;

    *tag = get_u8(c);
    *id = 0;
    switch (*tag) {
    case 'i':
        *id = get_u64(c); /* the owner */
        (void)get_u8(c);
        (void)get_bytes(c, &n);
        (void)get_u64(c);
        (void)get_u64(c);
        (void)get_bytes(c, &n);
        break;
    case 'k':
        (void)get_bytes(c, &n);
        (void)get_bytes(c, &n);
        (void)get_bytes(c, &n);
        break;
    case 'c':
        *id = get_u8(c);
        (void)get_u64(c);
        break;
    default:
        *id = get_u64(c);
        (void)get_bytes(c, &n);
        break;
    }
    return (size_t)(c->p - start);
}

/* 0 when the dumps are equal; else JOBS_ECORRUPT naming the first entry that differs. */
static int compare(const dump *a, const dump *b, const char *what)
{
    cursor x = {a->buf, a->buf + a->len}, y = {b->buf, b->buf + b->len};

    while (x.p < x.end && y.p < y.end) {
        const unsigned char *px = x.p, *py = y.p;
        unsigned tx, ty;
        uint64_t ix, iy;
        size_t nx = entry_next(&x, &tx, &ix), ny = entry_next(&y, &ty, &iy);

        if (nx != ny || memcmp(px, py, nx) != 0)
            return jobs__error(JOBS_ECORRUPT, "copy: %s: the %s %llu differs", what,
                               kind_name(tx), (unsigned long long)ix);
    }
    if (x.p < x.end || y.p < y.end) {
        cursor *c = x.p < x.end ? &x : &y;
        unsigned t;
        uint64_t id;

        entry_next(c, &t, &id);
        return jobs__error(JOBS_ECORRUPT, "copy: %s: the %s %llu is only in the %s", what,
                           kind_name(t), (unsigned long long)id,
                           c == &x ? "source" : "target");
    }
    return 0;
}

static int compare_stat(jobs_store *from, jobs_store *to)
{
    jobs_store_stat_info a = JOBS_STORE_STAT_INFO_INIT, b = JOBS_STORE_STAT_INFO_INIT;
    int rc;

    if ((rc = jobs_store_stat(&a, from)) || (rc = jobs_store_stat(&b, to)))
        return rc;
#define SAME(f)                                                                                  \
    if (a.f != b.f)                                                                              \
        return jobs__error(JOBS_ECORRUPT, "copy: the target counts %llu " #f ", the source %llu", \
                           (unsigned long long)b.f, (unsigned long long)a.f);
    SAME(jobs)
    SAME(schedules)
    SAME(stacks)
    SAME(jobs_active)
    SAME(jobs_queued)
    SAME(records)
    SAME(runs)
    SAME(runs_queued)
#undef SAME
    return 0;
}

int jobs_store_copy(jobs_store *from, jobs_store *to)
{
    dump src = {0}, again = {0};
    struct import im = {&src, {0}};
    int rc;

    if (!from || !to)
        return jobs__error(JOBS_EINVAL, "jobs_store_copy needs two stores");
    if (from == to)
        return jobs__error(JOBS_EINVAL, "jobs_store_copy: a store cannot be copied into itself");
    if (!from->be->rec_scan || !to->be->rec_scan)
        return jobs__error(JOBS_ENOTSUP, "jobs_store_copy: the %s backend cannot be copied",
                           from->be->rec_scan ? to->be->name : from->be->name);
    if ((rc = export_store(from, &src)))
        goto out;
    if ((rc = to->be->write(to, import_fn, &im)))
        goto out;
    /* Verified: the target's own check, then every entry and count against the source. */
    if ((rc = jobs_store_check(to)))
        goto out;
    if ((rc = export_store(from, &again)))
        goto out;
    if (compare(&src, &again, "source") != 0) {
        rc = jobs__error(JOBS_ECONFLICT, "copy: the source store changed while it was copied "
                         "(stop its writers, and copy again into a new store)");
        goto out;
    }
    if ((rc = export_store(to, &again)) || (rc = compare(&src, &again, "the copy is wrong")) ||
        (rc = compare_stat(from, to)))
        goto out;
out:
    dump_free(&src);
    dump_free(&again);
    dump_free(&im.have);
    return rc;
}
