/* The LMDB backend's verifier (jobs_store_check()): every index agrees with the records, in
 * one read transaction.
 *
 * Each index is checked in both directions: every record has its entries
 * (walking the records), and every entry names a record that agrees with it
 * (walking the entries), with the entry counts compared so that nothing is left
 * over. Per-owner counts are compared run by run while walking the (owner, id)
 * indexes, which are sorted by owner. The first disagreement is the answer:
 * JOBS_ECORRUPT with jobs_error_last() naming it. */
#include <stdio.h>

#include "../rules.h"
#include "rank.h"

#define CORRUPT(...) jobs__error(JOBS_ECORRUPT, __VA_ARGS__)
#define U(x) ((unsigned long long)(x))

typedef struct walk {
    MDB_cursor *cur;
    MDB_val k, v;
    int rc; /* of the last step: 0, or MDB_NOTFOUND at the end */
} walk;

static int walk_open(walk *w, MDB_txn *txn, MDB_dbi dbi)
{
    int rc = mdb_cursor_open(txn, dbi, &w->cur);

    if (rc)
        return jobs__mdb_error(rc, "check");
    w->rc = mdb_cursor_get(w->cur, &w->k, &w->v, MDB_FIRST);
    return w->rc == 0 || w->rc == MDB_NOTFOUND ? 0 : jobs__mdb_error(w->rc, "check");
}

static int walk_next(walk *w)
{
    w->rc = mdb_cursor_get(w->cur, &w->k, &w->v, MDB_NEXT);
    return w->rc == 0 || w->rc == MDB_NOTFOUND ? 0 : jobs__mdb_error(w->rc, "check");
}

/* The step of a walk's loop: on only while the body succeeded (rc 0). */
static int walk_step(walk *w, int rc)
{
    return rc ? rc : walk_next(w);
}

static void walk_close(walk *w)
{
    if (w->cur)
        mdb_cursor_close(w->cur);
    w->cur = NULL;
}

static size_t entries(MDB_txn *txn, MDB_dbi dbi)
{
    MDB_stat st;

    return mdb_stat(txn, dbi, &st) == 0 ? st.ms_entries : 0;
}

static int exists(MDB_txn *txn, MDB_dbi dbi, const void *key, size_t klen, MDB_val *v)
{
    MDB_val tmp;

    return jobs__get(txn, dbi, key, klen, v ? v : &tmp);
}

/* ---- per-owner counts and the (owner, id) indexes
 * ------------------------------------------ */

/* Walks an (owner, id) index: each entry's record must exist and agree
 * (`agree`), each owner's run of entries must match its count, every count must
 * have its run, and the index must have as many entries as there are records.
 */
typedef int (*agree_fn)(MDB_txn *txn, jobs__lmdb *s, uint64_t owner, uint64_t id,
                        const MDB_val *value, void *ctx);

/* Whether a key of an (owner, id) index is one of its entries: for "owners" (tag
 * JOBS__TAG_OWNED) a key of that tag, for the visibility indexes (tag 0) every key. */
static bool of_index(const MDB_val *k, char tag)
{
    return !tag ||
           (k->mv_size >= 9 && ((const unsigned char *)k->mv_data)[8] == (unsigned char)tag);
}

static int check_index(MDB_txn *txn, jobs__lmdb *s, MDB_dbi index, char tag, MDB_dbi records,
                       jobs__kind kind, const char *what, agree_fn agree, void *ctx)
{
    walk w = {0};
    uint64_t owner = 0, run = 0;
    size_t n = 0, at = tag ? 9 : 8;
    int rc = walk_open(&w, txn, index);

    for (; !rc; rc = walk_step(&w, rc)) {
        bool end = w.rc == MDB_NOTFOUND;
        uint64_t o = 0, id = 0, want;

        if (!end && !of_index(&w.k, tag))
            continue;
        if (!end) {
            if (w.k.mv_size != at + 8) {
                rc = jobs__error(JOBS_ECORRUPT, "check: a %s index key is malformed", what);
                break;
            }
            o = jobs__be64_get(w.k.mv_data);
            id = jobs__be64_get((const unsigned char *)w.k.mv_data + at);
        }
        if (run && (end || o != owner)) {
            if ((rc = jobs__count_get(txn, s, kind, owner, &want)))
                break;
            if (want != run) {
                rc = jobs__error(JOBS_ECORRUPT,
                                 "check: owner %llu has %llu %ss indexed but a "
                                 "count of %llu",
                                 (unsigned long long)owner, (unsigned long long)run, what,
                                 (unsigned long long)want);
                break;
            }
            run = 0;
        }
        if (end)
            break;
        owner = o;
        run++;
        n++;
        if ((rc = agree(txn, s, o, id, &w.v, ctx)))
            break;
    }
    walk_close(&w);
    if (rc)
        return rc;
    if (n != entries(txn, records))
        return jobs__error(JOBS_ECORRUPT, "check: %zu %s index entries for %zu %ss", n, what,
                           entries(txn, records), what);

    /* Every count has its run (the runs' sizes were compared above). */
    if ((rc = walk_open(&w, txn, s->owners)))
        return rc;
    for (; !rc && w.rc == 0; rc = walk_step(&w, rc)) {
        const unsigned char *k = w.k.mv_data;
        unsigned char start[JOBS__OWNED_KEY];
        uint64_t o;
        MDB_val sk, sv;
        MDB_cursor *c;
        int mrc;

        if (!of_index(&w.k, JOBS__TAG_COUNT))
            continue;
        if (w.k.mv_size != 10 || k[9] > JOBS__STACK || w.v.mv_size != 8) {
            rc = jobs__error(JOBS_ECORRUPT, "check: a count record is malformed");
            break;
        }
        if (k[9] != kind)
            continue;
        o = jobs__be64_get(k);
        jobs__be64_put(start, o);
        start[8] = (unsigned char)tag;
        jobs__be64_put(start + at, 0);
        sk.mv_size = at + 8;
        sk.mv_data = start;
        if ((mrc = mdb_cursor_open(txn, index, &c))) {
            rc = jobs__mdb_error(mrc, "check");
            break;
        }
        mrc = mdb_cursor_get(c, &sk, &sv, MDB_SET_RANGE);
        if (mrc == 0 && (jobs__be64_get(sk.mv_data) != o || !of_index(&sk, tag)))
            mrc = MDB_NOTFOUND;
        mdb_cursor_close(c);
        if (mrc == MDB_NOTFOUND)
            rc = jobs__error(JOBS_ECORRUPT, "check: owner %llu has a %s count but no %ss",
                             (unsigned long long)o, what, what);
        else if (mrc)
            rc = jobs__mdb_error(mrc, "check");
    }
    walk_close(&w);
    return rc;
}

/* Every key of "owners" is one of its kinds, well formed (the walks above and below pass over
 * the kinds that are not theirs). */
static int check_owner_keys(MDB_txn *txn, jobs__lmdb *s)
{
    walk w = {0};
    int rc = walk_open(&w, txn, s->owners);

    for (; !rc && w.rc == 0; rc = walk_step(&w, rc)) {
        const unsigned char *k = w.k.mv_data;
        size_t kl = w.k.mv_size, vl = w.v.mv_size;
        bool ok = false;

        if (kl >= 9)
            switch (k[8]) {
            case JOBS__TAG_OWNED: ok = kl == JOBS__OWNED_KEY && vl == 4; break;
            case 'b': case 'f': ok = kl == 13 && vl == 8; break;
            case 's': ok = kl == 9 && vl == 8; break;
            case JOBS__TAG_COUNT: ok = kl == 10 && vl == 8; break;
            default: break;
            }
        if (!ok)
            rc = CORRUPT("check: an entry of the owners database (owner %llu) is malformed",
                         U(kl >= 8 ? jobs__be64_get(k) : 0));
    }
    walk_close(&w);
    return rc;
}

/* ---- jobs
 * ----------------------------------------------------------------------------------
 */

/* A job record, as check_job and the index walks read it. */
static int job_load(MDB_txn *txn, jobs__lmdb *s, uint64_t id, jobs__job_rec *rec)
{
    unsigned char key[8];
    MDB_val v;
    int rc;

    jobs__be64_put(key, id);
    if ((rc = jobs__get(txn, s->jobs, key, sizeof(key), &v)))
        return rc;
    return jobs__job_decode(rec, v.mv_data, v.mv_size);
}

/* Whether a job of `owner` may use the schedule: it exists and is public or the owner's. */
static int schedule_usable(MDB_txn *txn, jobs__lmdb *s, uint64_t owner, uint64_t id)
{
    unsigned char key[8];
    jobs__schedule_rec rec;
    MDB_val v;
    int rc;

    jobs__be64_put(key, id);
    if ((rc = jobs__get(txn, s->schedules, key, sizeof(key), &v)) ||
        (rc = jobs__schedule_decode(&rec, v.mv_data, v.mv_size)))
        return rc == JOBS_ENOTFOUND ? JOBS_ESCHEDULE : rc;
    return rec.owner == JOBS_OWNER_PUBLIC || rec.owner == owner ? 0 : JOBS_ESCHEDULE;
}

/* Whether a job of `owner` may have the stack: it exists. Its visibility is checked when a job
 * takes a stack, not after: an owner may make a public stack private (jobs_stack_update), and
 * the other owners' jobs that use it keep it. */
static int stack_usable(MDB_txn *txn, jobs__lmdb *s, uint64_t owner, uint64_t id)
{
    unsigned char key[8];
    jobs__stack_rec rec;
    MDB_val v;
    int rc;

    jobs__be64_put(key, id);
    if ((rc = jobs__get(txn, s->stacks, key, sizeof(key), &v)) ||
        (rc = jobs__stack_decode(&rec, v.mv_data, v.mv_size)))
        return rc == JOBS_ENOTFOUND ? JOBS_ESTACK : rc;
    (void)owner;
    return 0;
}

typedef struct job_totals {
    uint64_t named, active, queued, next_id;
    uint64_t *schedules; /* every job's schedule, for the reference counts */
    size_t n;
} job_totals;

static int check_job(MDB_txn *txn, jobs__lmdb *s, uint64_t id, const jobs__job_rec *j,
                     job_totals *t)
{
    unsigned char key[8 + JOBS_NAME_MAX];
    MDB_val v;
    int rc;

    if (id == 0 || id >= t->next_id)
        return CORRUPT("check: job %llu is not below the id counter (%llu)", U(id), U(t->next_id));
    jobs__owned_key(key, j->owner, id);
    if ((rc = exists(txn, s->owners, key, JOBS__OWNED_KEY, NULL)))
        return rc == JOBS_ENOTFOUND ? CORRUPT("check: job %llu of owner %llu has no owner index "
                                              "entry",
                                              U(id), U(j->owner))
                                    : rc;
    if (j->name) {
        jobs__be64_put(key, j->owner);
        memcpy(key + 8, j->name, j->name_len);
        rc = exists(txn, s->job_name, key, 8 + j->name_len, &v);
        if (rc == JOBS_ENOTFOUND ||
            (rc == 0 && (v.mv_size != 8 || jobs__be64_get(v.mv_data) != id)))
            return CORRUPT("check: job %llu's name is not indexed to it (owner %llu)", U(id),
                           U(j->owner));
        if (rc)
            return rc;
        t->named++;
    }
    if (j->do_run) {
        jobs__key2(key, jobs__time_key(j->next_run), id);
        if ((rc = exists(txn, s->job_due, key, 16, NULL)))
            return rc == JOBS_ENOTFOUND ? CORRUPT("check: active job %llu is not in the due index "
                                                  "(next_run %lld)",
                                                  U(id), (long long)j->next_run)
                                        : rc;
        t->active++;
        t->queued += j->do_del;
    }
    rc = schedule_usable(txn, s, j->owner, j->schedule);
    if (rc == JOBS_ESCHEDULE)
        return CORRUPT("check: job %llu uses schedule %llu, which is missing or "
                       "not its owner's",
                       U(id), U(j->schedule));
    if (rc)
        return rc;
    rc = stack_usable(txn, s, j->owner, j->stack);
    if (rc == JOBS_ESTACK)
        return CORRUPT("check: job %llu uses stack %llu, which is missing",
                       U(id), U(j->stack));
    if (rc)
        return rc;
    t->schedules[t->n++] = j->schedule;
    return 0;
}

static int job_owner_agrees(MDB_txn *txn, jobs__lmdb *s, uint64_t owner, uint64_t id,
                            const MDB_val *value, void *ctx)
{
    jobs__job_rec j;
    uint32_t bucket;
    int rc;

    (void)ctx;
    if (jobs__rank_value_get(&bucket, value) != 0 || bucket == 0)
        return CORRUPT("check: job %llu's owner index entry has a malformed bucket "
                       "(owner %llu)",
                       U(id), U(owner));
    rc = job_load(txn, s, id, &j);
    if (rc == JOBS_ENOTFOUND || (rc == 0 && j.owner != owner))
        return CORRUPT("check: the owner index lists job %llu under owner %llu, "
                       "which it is not",
                       U(id), U(owner));
    return rc;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

/* schedule_refs: each schedule's entry equals how many jobs use it (absent for
 * none). */
static int check_refs(MDB_txn *txn, jobs__lmdb *s, job_totals *t)
{
    size_t i = 0, distinct = 0;
    int rc;

    qsort(t->schedules, t->n, sizeof(*t->schedules), cmp_u64);
    while (i < t->n) {
        unsigned char key[8];
        uint64_t id = t->schedules[i], n = 0, stored;
        MDB_val v;

        while (i < t->n && t->schedules[i] == id)
            i++, n++;
        distinct++;
        jobs__be64_put(key, id);
        rc = exists(txn, s->schedule_refs, key, 8, &v);
        if (rc == JOBS_ENOTFOUND || (rc == 0 && v.mv_size != 8))
            return CORRUPT("check: schedule %llu is used by %llu jobs but has no "
                           "reference count",
                           U(id), U(n));
        if (rc)
            return rc;
        memcpy(&stored, v.mv_data, sizeof(stored));
        if (stored != n)
            return jobs__error(JOBS_ECORRUPT,
                               "check: schedule %llu is used by %llu jobs but "
                               "counts %llu",
                               (unsigned long long)id, (unsigned long long)n,
                               (unsigned long long)stored);
    }
    if (distinct != entries(txn, s->schedule_refs))
        return jobs__error(JOBS_ECORRUPT,
                           "check: %zu schedules are referenced, but %zu have "
                           "reference counts",
                           distinct, entries(txn, s->schedule_refs));
    return 0;
}

static int name_agrees(MDB_txn *txn, jobs__lmdb *s, const MDB_val *k, const MDB_val *v)
{
    jobs__job_rec j;
    uint64_t id;
    int rc;

    if (k->mv_size <= 8 || v->mv_size != 8)
        return jobs__error(JOBS_ECORRUPT, "check: a name index entry is malformed");
    id = jobs__be64_get(v->mv_data);
    rc = job_load(txn, s, id, &j);
    if (rc == JOBS_ENOTFOUND || (rc == 0 && (j.owner != jobs__be64_get(k->mv_data) || !j.name ||
                                             j.name_len != k->mv_size - 8 ||
                                             memcmp(j.name, (char *)k->mv_data + 8, j.name_len))))
        return CORRUPT("check: the name index names job %llu for owner %llu, which "
                       "does not have "
                       "that name",
                       U(id), U(jobs__be64_get(k->mv_data)));
    return rc;
}

static int due_agrees(MDB_txn *txn, jobs__lmdb *s, const MDB_val *k)
{
    jobs__job_rec j;
    uint64_t id;
    int rc;

    if (k->mv_size != 16)
        return jobs__error(JOBS_ECORRUPT, "check: a due index key is malformed");
    id = jobs__be64_get((const unsigned char *)k->mv_data + 8);
    rc = job_load(txn, s, id, &j);
    if (rc == JOBS_ENOTFOUND ||
        (rc == 0 && (!j.do_run || jobs__time_key(j.next_run) != jobs__be64_get(k->mv_data))))
        return CORRUPT("check: the due index lists job %llu at a time it is not due (%llu)", U(id),
                       U(jobs__be64_get(k->mv_data)));
    return rc;
}

/* An index whose entries each name a job that must agree; `n` entries expected.
 */
static int check_job_entries(MDB_txn *txn, jobs__lmdb *s, MDB_dbi dbi, uint64_t n, bool name)
{
    walk w = {0};
    int rc = walk_open(&w, txn, dbi);

    for (; !rc && w.rc == 0; rc = walk_step(&w, rc))
        if ((rc = name ? name_agrees(txn, s, &w.k, &w.v) : due_agrees(txn, s, &w.k)))
            break;
    walk_close(&w);
    if (!rc && entries(txn, dbi) != n)
        rc = jobs__error(JOBS_ECORRUPT, "check: the %s index has %zu entries for %llu jobs",
                         name ? "name" : "due", entries(txn, dbi), (unsigned long long)n);
    return rc;
}

/* ---- the rank index
 * ------------------------------------------------------------------------ */

static int rank_u64(MDB_txn *txn, jobs__lmdb *s, uint64_t owner, char tag, uint32_t n,
                    uint64_t *out)
{
    unsigned char key[13];
    MDB_val v;
    int rc = jobs__get(txn, s->owners, key, jobs__rank_key(key, owner, tag, n), &v);

    *out = 0;
    if (rc)
        return rc;
    if (v.mv_size != 8)
        return CORRUPT("check: owner %llu's rank entry %llu is malformed", U(owner), U(n));
    memcpy(out, v.mv_data, 8);
    return 0;
}

/* One owner's rank index against its 'O' entries: the buckets in id
 * order, each job at or after its bucket's first id and before the next
 * bucket's, and every tree node the sum of its range of bucket counts. */
static int check_owner_rank(MDB_txn *txn, jobs__lmdb *s, uint64_t owner, uint64_t next_id)
{
    unsigned char key[JOBS__OWNED_KEY];
    uint32_t st[2], top = 1, bucket = 0;
    uint64_t *count = NULL, lo = 0, hi = 0, nodes = 0;
    MDB_val k = {sizeof(key), key}, v;
    MDB_cursor *c = NULL;
    int rc, mrc;

    if ((rc = jobs__rank_state(txn, s, owner, &st[0], &st[1])))
        return rc;
    /* A bucket holds at least one id ever assigned: more buckets than ids is
     * impossible. */
    if (st[0] >= next_id)
        return CORRUPT("check: owner %llu's rank state is impossible (%llu buckets)", U(owner),
                       U(st[0]));
    while (top < st[0])
        top <<= 1;
    if (!(count = jobs__malloc(((size_t)top + 1) * sizeof(*count))))
        return jobs__error(JOBS_ENOMEM, "out of memory");
    memset(count, 0, ((size_t)top + 1) * sizeof(*count));

    jobs__owned_key(key, owner, 0);
    if ((mrc = mdb_cursor_open(txn, s->owners, &c)))
        goto mdb;
    for (mrc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); mrc == 0;
         mrc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        uint64_t id;
        uint32_t b;

        if (k.mv_size != JOBS__OWNED_KEY || jobs__be64_get(k.mv_data) != owner ||
            !of_index(&k, JOBS__TAG_OWNED))
            break;
        id = jobs__be64_get((const unsigned char *)k.mv_data + 9);
        if (jobs__rank_value_get(&b, &v) != 0 || b == 0 || b > st[0] || b < bucket) {
            rc = CORRUPT("check: job %llu of owner %llu is in a bucket out of order", U(id),
                         U(owner));
            goto out;
        }
        if (b != bucket) {
            bucket = b;
            if ((rc = rank_u64(txn, s, owner, 'b', b, &lo)) ||
                (b < st[0] && (rc = rank_u64(txn, s, owner, 'b', b + 1, &hi)))) {
                if (rc == JOBS_ENOTFOUND)
                    rc = CORRUPT("check: owner %llu's bucket %llu has no first id", U(owner), U(b));
                goto out;
            }
            if (b == st[0])
                hi = UINT64_MAX;
        }
        if (id < lo || id >= hi) {
            rc =
                CORRUPT("check: job %llu is outside its rank bucket (owner %llu)", U(id), U(owner));
            goto out;
        }
        count[b]++;
    }
    if (mrc && mrc != MDB_NOTFOUND)
        goto mdb;
    mdb_cursor_close(c);
    c = NULL;

    /* The tree: node i holds the buckets (i - lowbit(i), i]; prefix sums make
     * that O(top). */
    for (uint32_t i = 1; i <= top; i++)
        count[i] += count[i - 1];
    for (uint32_t i = st[0] ? top : 0; i >= 1; i--) {
        uint64_t want = count[i] - count[i - (i & (~i + 1))], got;

        rc = rank_u64(txn, s, owner, 'f', i, &got);
        if (rc == JOBS_ENOTFOUND)
            rc = 0;
        if (rc)
            goto out;
        if (got != want) {
            rc = CORRUPT("check: owner %llu's rank node %u holds %llu, not %llu", U(owner), i,
                         U(got), U(want));
            goto out;
        }
        nodes += want != 0;
    }
    /* No other nodes: the tree's entries are exactly its non-zero nodes up to
     * top. */
    jobs__rank_key(key, owner, 'f', 0);
    k.mv_size = 13;
    k.mv_data = key;
    if ((mrc = mdb_cursor_open(txn, s->owners, &c)))
        goto mdb;
    for (mrc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); mrc == 0 && nodes != UINT64_MAX;
         mrc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        const unsigned char *p = k.mv_data;
        if (k.mv_size != 13 || jobs__be64_get(p) != owner || p[8] != 'f')
            break;
        if (nodes-- == 0) {
            rc = CORRUPT("check: owner %llu's rank tree has extra nodes", U(owner));
            goto out;
        }
    }
    if (mrc && mrc != MDB_NOTFOUND)
        goto mdb;
    if (nodes != 0)
        rc = CORRUPT("check: owner %llu's rank tree misses nodes", U(owner));
    goto out;
mdb:
    rc = jobs__mdb_error(mrc, "check");
out:
    if (c)
        mdb_cursor_close(c);
    jobs__free(count);
    return rc;
}

/* Every owner with jobs or with a rank index (which covers every owner that ever had a job;
 * an owner with jobs but no rank state fails in check_owner_rank). */
static int check_rank(MDB_txn *txn, jobs__lmdb *s, uint64_t next_id)
{
    walk w = {0};
    uint64_t last = 0;
    bool any = false;
    int rc = walk_open(&w, txn, s->owners);

    for (; !rc && w.rc == 0; rc = walk_step(&w, rc)) {
        const unsigned char *k = w.k.mv_data;
        uint64_t owner;

        if (w.k.mv_size < 9 || k[8] == JOBS__TAG_COUNT)
            continue; /* (check_owner_keys has judged every key) */
        owner = jobs__be64_get(k);
        if (any && owner == last)
            continue;
        any = true;
        last = owner;
        rc = check_owner_rank(txn, s, owner, next_id);
    }
    walk_close(&w);
    return rc;
}

/* ---- schedules and stacks
 * ------------------------------------------------------------------ */

static int schedule_agrees(MDB_txn *txn, jobs__lmdb *s, uint64_t owner, uint64_t id,
                           const MDB_val *value, void *ctx)
{
    unsigned char key[8];
    jobs__schedule_rec sc;
    uint64_t next = *(uint64_t *)ctx;
    MDB_val v;
    int rc;

    (void)value;
    if (id == 0 || id >= next)
        return CORRUPT("check: schedule %llu is not below the id counter (%llu)", U(id), U(next));
    jobs__be64_put(key, id);
    if ((rc = jobs__get(txn, s->schedules, key, 8, &v)) == 0)
        rc = jobs__schedule_decode(&sc, v.mv_data, v.mv_size);
    if (rc == JOBS_ENOTFOUND || (rc == 0 && sc.owner != owner))
        return CORRUPT("check: the schedule index lists schedule %llu under owner "
                       "%llu, which it "
                       "is not",
                       U(id), U(owner));
    return rc;
}

static int stack_agrees(MDB_txn *txn, jobs__lmdb *s, uint64_t owner, uint64_t id,
                        const MDB_val *value, void *ctx)
{
    unsigned char key[8];
    jobs__stack_rec st;
    uint64_t next = *(uint64_t *)ctx;
    MDB_val v;
    int rc;

    (void)value;
    if (id == 0 || id >= next)
        return CORRUPT("check: stack %llu is not below the id counter (%llu)", U(id), U(next));
    jobs__be64_put(key, id);
    if ((rc = jobs__get(txn, s->stacks, key, 8, &v)) == 0)
        rc = jobs__stack_decode(&st, v.mv_data, v.mv_size);
    if (rc == JOBS_ENOTFOUND || (rc == 0 && (st.is_public ? JOBS_OWNER_PUBLIC : st.owner) != owner))
        return CORRUPT("check: the stack index lists stack %llu under owner %llu, "
                       "which it is not",
                       U(id), U(owner));
    return rc;
}

/* Every record decodes (the index walk then proves each has its one entry). */
static int check_records(MDB_txn *txn, MDB_dbi dbi, bool stacks)
{
    walk w = {0};
    int rc = walk_open(&w, txn, dbi);

    for (; !rc && w.rc == 0; rc = walk_step(&w, rc)) {
        jobs__schedule_rec sc;
        jobs__stack_rec st;

        if (w.k.mv_size != 8)
            rc = jobs__error(JOBS_ECORRUPT, "check: a record key is malformed");
        else if (stacks ? jobs__stack_decode(&st, w.v.mv_data, w.v.mv_size)
                        : jobs__schedule_decode(&sc, w.v.mv_data, w.v.mv_size))
            rc = CORRUPT("check: %s %llu does not decode", stacks ? "stack" : "schedule",
                         U(jobs__be64_get(w.k.mv_data)));
        else if (!stacks && sc.cron)
            rc = jobs__schedule_check_cron(jobs__be64_get(w.k.mv_data), &sc);
    }
    walk_close(&w);
    return rc;
}

/* ---- name indexes and blocks ----------------------------------------------------------------- */

/* Each stack (`stacks`) or named schedule has its name entries (a stack's under its owner, and
 * under the public owner when public), each entry names a record that has that name under that
 * owner, and the entry counts agree; each stack's blocks belong to a stack and are not too long. */
static int check_names(MDB_txn *txn, jobs__lmdb *s, bool stacks)
{
    MDB_dbi dbi = stacks ? s->stack_name : s->schedule_name;
    const char *what = stacks ? "stack" : "schedule";
    unsigned char key[8 + JOBS_NAME_MAX];
    size_t want = 0;
    walk w = {0};
    int rc = walk_open(&w, txn, stacks ? s->stacks : s->schedules);

    for (; !rc && w.rc == 0; rc = walk_step(&w, rc)) {
        jobs__schedule_rec sc;
        jobs__stack_rec st;
        uint64_t id = jobs__be64_get(w.k.mv_data);
        int drc = stacks ? jobs__stack_decode(&st, w.v.mv_data, w.v.mv_size)
                         : jobs__schedule_decode(&sc, w.v.mv_data, w.v.mv_size);
        const char *name = stacks ? st.name : sc.name;
        size_t len = stacks ? st.name_len : sc.name_len;
        int under = stacks ? 1 + st.is_public : sc.name != NULL;

        if (drc) {
            rc = drc;
            break;
        }
        for (int i = 0; i < under && !rc; i++) {
            jobs__be64_put(key, i ? JOBS_OWNER_PUBLIC : (stacks ? st.owner : sc.owner));
            memcpy(key + 8, name, len);
            rc = jobs__dup_has(txn, dbi, key, 8 + len, id);
            if (rc == JOBS_ENOTFOUND)
                rc = CORRUPT("check: %s %llu's name is not indexed to it", what, U(id));
            want++;
        }
    }
    walk_close(&w);
    if (rc)
        return rc;
    if ((rc = walk_open(&w, txn, dbi)))
        return rc;
    for (; !rc && w.rc == 0; rc = walk_step(&w, rc)) {
        jobs__schedule_rec sc;
        jobs__stack_rec st;
        unsigned char rkey[8];
        uint64_t owner, id;
        MDB_val v;

        if (w.k.mv_size <= 8 || w.v.mv_size != 8) {
            rc = CORRUPT("check: a %s name index entry is malformed", what);
            break;
        }
        owner = jobs__be64_get(w.k.mv_data);
        id = jobs__be64_get(w.v.mv_data);
        jobs__be64_put(rkey, id);
        rc = jobs__get(txn, stacks ? s->stacks : s->schedules, rkey, 8, &v);
        if (rc == 0)
            rc = stacks ? jobs__stack_decode(&st, v.mv_data, v.mv_size)
                        : jobs__schedule_decode(&sc, v.mv_data, v.mv_size);
        if (rc == 0) {
            const char *name = stacks ? st.name : sc.name;
            size_t len = stacks ? st.name_len : sc.name_len;
            bool under = stacks ? owner == st.owner || (owner == JOBS_OWNER_PUBLIC && st.is_public)
                                : owner == sc.owner;

            if (!under || !name || len != w.k.mv_size - 8 ||
                memcmp(name, (const char *)w.k.mv_data + 8, len) != 0)
                rc = JOBS_ENOTFOUND;
        }
        if (rc == JOBS_ENOTFOUND)
            rc = CORRUPT("check: the %s name index names %s %llu for owner %llu, which does not "
                         "have that name", what, what, U(id), U(owner));
    }
    walk_close(&w);
    if (!rc && entries(txn, dbi) != want)
        rc = CORRUPT("check: the %s name index has %zu entries for %zu names", what,
                     entries(txn, dbi), want);
    return rc;
}

static int check_blocks(MDB_txn *txn, jobs__lmdb *s)
{
    walk w = {0};
    int rc = walk_open(&w, txn, s->stack_blocks);

    for (; !rc && w.rc == 0; rc = walk_step(&w, rc)) {
        uint64_t id = w.k.mv_size == 8 ? jobs__be64_get(w.k.mv_data) : 0;

        if (!id || w.v.mv_size > JOBS_STACK_BLOCKS_MAX)
            rc = CORRUPT("check: the blocks of stack %llu are malformed", U(id));
        else if ((rc = exists(txn, s->stacks, w.k.mv_data, 8, NULL)) == JOBS_ENOTFOUND)
            rc = CORRUPT("check: there are blocks of stack %llu, which does not exist", U(id));
    }
    walk_close(&w);
    return rc;
}

/* ---- idempotency keys ------------------------------------------------------------------------ */

/* Each key has a well-formed record and its one entry in the expiry order, and nothing else is
 * in that order. */
static int check_idem(MDB_txn *txn, jobs__lmdb *s)
{
    walk w = {0};
    int rc = walk_open(&w, txn, s->idem);

    for (; !rc && w.rc == 0; rc = walk_step(&w, rc)) {
        const unsigned char *v = w.v.mv_data;
        unsigned char ekey[8 + 9 + JOBS_IDEMPOTENCY_KEY_MAX];
        int64_t expires;

        if (w.k.mv_size < 10 || w.k.mv_size > 9 + JOBS_IDEMPOTENCY_KEY_MAX ||
            ((const unsigned char *)w.k.mv_data)[8] > JOBS__STACK || w.v.mv_size < 17 ||
            w.v.mv_size != 17u + v[16] || v[16] > JOBS_IDEMPOTENCY_FINGERPRINT_MAX) {
            rc = CORRUPT("check: an idempotency record is malformed");
            break;
        }
        memcpy(&expires, v, 8);
        jobs__be64_put(ekey, jobs__time_key(expires));
        memcpy(ekey + 8, w.k.mv_data, w.k.mv_size);
        if ((rc = exists(txn, s->idem_exp, ekey, 8 + w.k.mv_size, NULL)) == JOBS_ENOTFOUND)
            rc = CORRUPT("check: an idempotency key of owner %llu has no expiry entry",
                         U(jobs__be64_get(w.k.mv_data)));
    }
    walk_close(&w);
    if (!rc && entries(txn, s->idem) != entries(txn, s->idem_exp))
        rc = CORRUPT("check: %zu idempotency keys but %zu expiry entries", entries(txn, s->idem),
                     entries(txn, s->idem_exp));
    return rc;
}

/* ---- the whole store
 * ----------------------------------------------------------------------- */

static int check_txn(jobs_store *store, jobs__txn *tx, void *ctx)
{
    jobs__lmdb *s = tx->db;
    MDB_txn *txn = tx->txn;
    job_totals t = {0, 0, 0, 0, NULL, 0};
    uint64_t queued;
    uint64_t next_schedule, next_stack;
    walk w = {0};
    int rc;

    (void)store;
    (void)ctx;
    if ((rc = jobs__lmdb_job_next(txn, s, &t.next_id)) ||
        (rc = jobs__lmdb_counter_get(txn, s, JOBS__SCHEDULE, &next_schedule)) ||
        (rc = jobs__lmdb_counter_get(txn, s, JOBS__STACK, &next_stack)))
        return rc;
    if (!(t.schedules = jobs__malloc((entries(txn, s->jobs) + 1) * sizeof(*t.schedules))))
        return jobs__error(JOBS_ENOMEM, "out of memory");

    /* Jobs: each record decodes and has its entries; then each index agrees, both
     * ways. */
    if ((rc = walk_open(&w, txn, s->jobs)))
        goto out;
    for (; !rc && w.rc == 0; rc = walk_step(&w, rc)) {
        jobs__job_rec j;
        uint64_t id = w.k.mv_size == 8 ? jobs__be64_get(w.k.mv_data) : 0;

        if (w.k.mv_size != 8 || jobs__job_decode(&j, w.v.mv_data, w.v.mv_size)) {
            rc = CORRUPT("check: job %llu does not decode", U(id));
            break;
        }
        rc = check_job(txn, s, id, &j, &t);
    }
    walk_close(&w);
    if (rc ||
        (rc = check_owner_keys(txn, s)) ||
        (rc = check_index(txn, s, s->owners, JOBS__TAG_OWNED, s->jobs, JOBS__JOB, "job",
                          job_owner_agrees, NULL)) ||
        (rc = check_job_entries(txn, s, s->job_name, t.named, true)) ||
        (rc = check_job_entries(txn, s, s->job_due, t.active, false)) ||
        (rc = check_rank(txn, s, t.next_id)) || (rc = check_refs(txn, s, &t)) ||
        (rc = jobs__queued_get(txn, s, &queued)))
        goto out;
    if (queued != t.queued) {
        rc = CORRUPT("check: %llu jobs are queued for deletion but the count says %llu",
                     U(t.queued), U(queued));
        goto out;
    }

    /* Schedules and stacks. */
    if ((rc = check_records(txn, s->schedules, false)) ||
        (rc = check_index(txn, s, s->schedule_vis, 0, s->schedules, JOBS__SCHEDULE, "schedule",
                          schedule_agrees, &next_schedule)) ||
        (rc = check_records(txn, s->stacks, true)) ||
        (rc = check_index(txn, s, s->stack_vis, 0, s->stacks, JOBS__STACK, "stack", stack_agrees,
                          &next_stack)) ||
        (rc = check_idem(txn, s)) || (rc = jobs__lmdb_kv_check(txn, s)))
        goto out;
    if (s->names && ((rc = check_names(txn, s, true)) || (rc = check_names(txn, s, false)) ||
                     (rc = check_blocks(txn, s))))
        goto out;
    {
        uint64_t next_run;

        if ((rc = jobs__lmdb_counter_get(txn, s, JOBS__RUN, &next_run)) ||
            (rc = jobs__lmdb_run_check(txn, s, next_run)))
            goto out;
    }
out:
    jobs__free(t.schedules);
    return rc;
}

int jobs__lmdb_check(jobs_store *store)
{
    return jobs__lmdb_read(store, check_txn, NULL);
}
