/* The counted index of an owner's jobs (rank keys of database "owners"): where an owner's k-th
 * job is, in O(log n) reads, so that a deep page costs about what the first one does.
 *
 * Ids only grow, so an owner's new job always comes after all of its others. Its jobs are cut,
 * in id order, into buckets of at most JOBS__RANK_BUCKET insertions: a new job goes into the
 * owner's last bucket, or opens a new one when that has taken its share. A bucket never splits
 * and never moves; deleting a job only lowers its bucket's count. A Fenwick tree over the
 * bucket counts answers "which bucket holds the k-th job, and how many of its jobs come before
 * it" in one pass from the root down, reading one node per level.
 *
 * Keys (all integers big-endian, under the owner beside its 'O' and 't' keys, env.h):
 *   owner(8) 's'            -> u32 buckets, u32 insertions into the last bucket (native)
 *   owner(8) 'b' bucket(4)  -> u64 first id of the bucket (native); buckets count from 1
 *   owner(8) 'f' node(4)    -> u64 Fenwick node (native): the jobs of buckets
 *                              (node - lowbit(node), node]; absent means 0
 * The tree spans 1..top, top the smallest power of two >= buckets. When a new bucket passes
 * top, the tree doubles: the new root covers everything so far and so starts at the old root's
 * value, and the nodes in between cover only buckets that do not exist yet. */
#include "rank.h"

typedef struct rank_state {
    uint32_t buckets; /* buckets opened so far */
    uint32_t fill;    /* insertions into the last one */
} rank_state;

static int corrupt(uint64_t owner)
{
    return jobs__error(JOBS_ECORRUPT, "the job rank index of owner %llu is corrupt",
                       (unsigned long long)owner);
}

static int state_get(MDB_txn *txn, jobs__lmdb *s, uint64_t owner, rank_state *st)
{
    unsigned char key[13];
    MDB_val v;
    int rc = jobs__get(txn, s->owners, key, jobs__rank_key(key, owner, 's', 0), &v);

    memset(st, 0, sizeof(*st));
    if (rc == JOBS_ENOTFOUND)
        return 0;
    if (rc)
        return rc;
    if (v.mv_size != sizeof(*st))
        return corrupt(owner);
    memcpy(st, v.mv_data, sizeof(*st));
    if (st->fill > JOBS__RANK_BUCKET || (st->buckets == 0) != (st->fill == 0))
        return corrupt(owner);
    return 0;
}

int jobs__rank_state(MDB_txn *txn, jobs__lmdb *s, uint64_t owner, uint32_t *buckets,
                     uint32_t *fill)
{
    rank_state st;
    int rc = state_get(txn, s, owner, &st);

    *buckets = st.buckets;
    *fill = st.fill;
    return rc;
}

static int u64_get(MDB_txn *txn, jobs__lmdb *s, uint64_t owner, char tag, uint32_t n,
                   uint64_t *out)
{
    unsigned char key[13];
    MDB_val v;
    int rc = jobs__get(txn, s->owners, key, jobs__rank_key(key, owner, tag, n), &v);

    *out = 0;
    if (rc == JOBS_ENOTFOUND)
        return tag == 'f' ? 0 : corrupt(owner);
    if (rc)
        return rc;
    if (v.mv_size != sizeof(*out))
        return corrupt(owner);
    memcpy(out, v.mv_data, sizeof(*out));
    return 0;
}

static int u64_put(MDB_txn *txn, jobs__lmdb *s, uint64_t owner, char tag, uint32_t n,
                   uint64_t value)
{
    unsigned char key[13];
    size_t klen = jobs__rank_key(key, owner, tag, n);

    if (tag == 'f' && value == 0) { /* an empty node is no node */
        int rc = jobs__del(txn, s->owners, key, klen);
        return rc == JOBS_ENOTFOUND ? 0 : rc;
    }
    return jobs__put(txn, s->owners, key, klen, &value, sizeof(value), 0);
}

/* The tree's span for a number of buckets: the smallest power of two >= buckets. */
static uint32_t top_of(uint32_t buckets)
{
    uint32_t top = 1;

    if (buckets == 0)
        return 0;
    while (top < buckets)
        top <<= 1;
    return top;
}

/* Adds delta to bucket b: to every node whose range holds b. */
static int tree_add(MDB_txn *txn, jobs__lmdb *s, uint64_t owner, uint32_t b, uint32_t top,
                    int delta)
{
    for (uint64_t i = b; i <= top; i += i & (~i + 1)) {
        uint64_t v;
        int rc = u64_get(txn, s, owner, 'f', (uint32_t)i, &v);

        if (rc)
            return rc;
        if (delta < 0 && v == 0)
            return corrupt(owner);
        if ((rc = u64_put(txn, s, owner, 'f', (uint32_t)i, v + (uint64_t)(int64_t)delta)))
            return rc;
    }
    return 0;
}

/* Opens the owner's next bucket, whose first id is `first` (st->buckets and fill move on; the
 * caller stores the state): the tree grows a level when the bucket count passes a power of two,
 * the new top node copying the old root. */
static int open_bucket(MDB_txn *txn, jobs__lmdb *s, uint64_t owner, rank_state *st,
                       uint64_t first)
{
    uint32_t top = top_of(st->buckets);
    int rc;

    if (st->buckets == UINT32_MAX / 2)
        return jobs__error(JOBS_ENOSPC, "owner %llu has opened too many rank buckets",
                           (unsigned long long)owner);
    if (st->buckets + 1 > top && top > 0) {
        uint64_t root;
        if ((rc = u64_get(txn, s, owner, 'f', top, &root)) ||
            (rc = u64_put(txn, s, owner, 'f', top * 2, root)))
            return rc;
    }
    st->buckets++;
    st->fill = 0;
    return u64_put(txn, s, owner, 'b', st->buckets, first);
}

/* Counts `id` into the owner's last bucket, opening a new one when it is full. */
static int append_one(MDB_txn *txn, jobs__lmdb *s, uint64_t owner, uint64_t id, uint32_t *bucket)
{
    unsigned char key[13];
    rank_state st;
    int rc;

    if ((rc = state_get(txn, s, owner, &st)))
        return rc;
    if ((st.buckets == 0 || st.fill == JOBS__RANK_BUCKET) &&
        (rc = open_bucket(txn, s, owner, &st, id)))
        return rc;
    st.fill++;
    if ((rc = tree_add(txn, s, owner, st.buckets, top_of(st.buckets), +1)) ||
        (rc = jobs__put(txn, s->owners, key, jobs__rank_key(key, owner, 's', 0), &st, sizeof(st),
                        0)))
        return rc;
    *bucket = st.buckets;
    return 0;
}

int jobs__rank_seek(MDB_txn *txn, jobs__lmdb *s, uint64_t owner, uint64_t skip, uint64_t *from,
                    uint64_t *rest)
{
    rank_state st;
    uint32_t top, pos = 0;
    uint64_t left = skip;
    MDB_cursor *cur;
    int rc;

    *from = 0;
    *rest = skip;
    if (skip == 0)
        return 0;
    if ((rc = state_get(txn, s, owner, &st)))
        return rc;
    if (st.buckets == 0)
        return 0; /* no jobs: the walk finds nothing either way */
    top = top_of(st.buckets);
    /* Descend from the root: take a whole subtree whenever all of it comes before the job. The
     * nodes are read through one cursor: LMDB looks for a key on the cursor's current leaf page
     * first, and the lower levels of the descent read neighbouring nodes. */
    if ((rc = mdb_cursor_open(txn, s->owners, &cur)))
        return jobs__mdb_error(rc, "the job rank index");
    for (uint32_t step = top; step > 0; step >>= 1) {
        unsigned char key[13];
        MDB_val k = {jobs__rank_key(key, owner, 'f', pos + step), key}, v;
        uint64_t n = 0;

        rc = mdb_cursor_get(cur, &k, &v, MDB_SET_KEY);
        if (rc == 0 && v.mv_size != sizeof(n))
            rc = MDB_CORRUPTED;
        if (rc == 0)
            memcpy(&n, v.mv_data, sizeof(n));
        else if (rc != MDB_NOTFOUND) /* absent: an empty node */
            break;
        rc = 0;
        if (n <= left) {
            pos += step;
            left -= n;
        }
    }
    mdb_cursor_close(cur);
    if (rc)
        return rc == MDB_CORRUPTED ? corrupt(owner) : jobs__mdb_error(rc, "the job rank index");
    if (pos >= st.buckets)
        return 0; /* skip is past the last job: an empty page */
    if ((rc = u64_get(txn, s, owner, 'b', pos + 1, from)))
        return rc;
    *rest = left;
    return 0;
}

/* Reads up to max 'O' keys of "owners" after `after` (from the first when NULL) into keys;
 * with `one`, only keys of that owner. The other tags are passed over. */
static int owner_keys(MDB_txn *txn, jobs__lmdb *s, const unsigned char *after, const uint64_t *one,
                      unsigned char (*keys)[JOBS__OWNED_KEY], size_t max, size_t *n)
{
    MDB_cursor *cur;
    MDB_val k = {JOBS__OWNED_KEY, (void *)after}, v;
    int rc;

    *n = 0;
    if ((rc = mdb_cursor_open(txn, s->owners, &cur)))
        return jobs__mdb_error(rc, "building the job rank index");
    rc = mdb_cursor_get(cur, &k, &v, after ? MDB_SET_RANGE : MDB_FIRST);
    if (rc == 0 && after && k.mv_size == JOBS__OWNED_KEY &&
        memcmp(k.mv_data, after, JOBS__OWNED_KEY) == 0)
        rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    for (; rc == 0 && *n < max; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        const unsigned char *p = k.mv_data;

        if (one && (k.mv_size < 9 || jobs__be64_get(p) != *one || p[8] != JOBS__TAG_OWNED))
            break;
        if (k.mv_size < 9 || p[8] != JOBS__TAG_OWNED)
            continue;
        if (k.mv_size != JOBS__OWNED_KEY) {
            mdb_cursor_close(cur);
            return jobs__error(JOBS_ECORRUPT, "a job owner index key is corrupt");
        }
        memcpy(keys[(*n)++], p, JOBS__OWNED_KEY);
    }
    mdb_cursor_close(cur);
    return rc == 0 || rc == MDB_NOTFOUND ? 0 : jobs__mdb_error(rc, "building the job rank index");
}

/* Counts the owners' 'O' entries anew (all owners, or only `one`) into an index that holds
 * none of them, and rewrites their values. */
static int count_anew(MDB_txn *txn, jobs__lmdb *s, const uint64_t *one)
{
    enum { BATCH = 1024 };
    unsigned char (*keys)[JOBS__OWNED_KEY], after[JOBS__OWNED_KEY];
    size_t n = BATCH;
    int rc = 0;

    if (!(keys = jobs__malloc(BATCH * sizeof(*keys))))
        return jobs__error(JOBS_ENOMEM, "out of memory");
    if (one)
        jobs__owned_key(after, *one, 0); /* ids start at 1: (owner, 0) is before them all */
    /* In batches: the keys first, then the value of each rewritten with a plain put, so no
     * cursor walks entries that are being rewritten. */
    for (bool first = true; rc == 0 && n == BATCH; first = false) {
        if ((rc = owner_keys(txn, s, first && !one ? NULL : after, one, keys, BATCH, &n)))
            break;
        for (size_t i = 0; i < n && rc == 0; i++) {
            unsigned char val[4];
            uint32_t bucket;

            if (!(rc = append_one(txn, s, jobs__be64_get(keys[i]), jobs__be64_get(keys[i] + 9),
                                  &bucket))) {
                jobs__rank_value(val, bucket);
                rc = jobs__put(txn, s->owners, keys[i], JOBS__OWNED_KEY, val, sizeof(val), 0);
            }
        }
        if (n)
            memcpy(after, keys[n - 1], JOBS__OWNED_KEY);
    }
    jobs__free(keys);
    return rc;
}

static bool rank_tag(unsigned char tag)
{
    return tag == 'b' || tag == 'f' || tag == 's';
}

/* Removes the rank entries of one owner, or with `one` NULL of every owner. */
static int drop_rank(MDB_txn *txn, jobs__lmdb *s, const uint64_t *one)
{
    unsigned char start[9];
    MDB_cursor *cur;
    MDB_val k, v;
    int rc;

    if ((rc = mdb_cursor_open(txn, s->owners, &cur)))
        return jobs__mdb_error(rc, "the job rank index");
    if (one) {
        jobs__be64_put(start, *one);
        start[8] = 'b'; /* the first rank tag; 's' is the last, before 't' */
        k.mv_size = sizeof(start);
        k.mv_data = start;
    }
    rc = mdb_cursor_get(cur, &k, &v, one ? MDB_SET_RANGE : MDB_FIRST);
    while (rc == 0) {
        const unsigned char *p = k.mv_data;

        if (one && (k.mv_size < 9 || jobs__be64_get(p) != *one || !rank_tag(p[8])))
            break;
        if (k.mv_size >= 9 && rank_tag(p[8])) {
            /* After a delete the cursor is on the next entry. */
            if ((rc = mdb_cursor_del(cur, 0)) ||
                (rc = mdb_cursor_get(cur, &k, &v, MDB_GET_CURRENT)))
                break;
            continue;
        }
        rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    mdb_cursor_close(cur);
    return rc == 0 || rc == MDB_NOTFOUND ? 0 : jobs__mdb_error(rc, "the job rank index");
}

int jobs__rank_build(MDB_txn *txn, jobs__lmdb *s)
{
    int rc = drop_rank(txn, s, NULL);

    return rc ? rc : count_anew(txn, s, NULL);
}

int jobs__rank_append(MDB_txn *txn, jobs__lmdb *s, uint64_t owner, uint64_t id,
                      uint32_t *bucket)
{
    rank_state st;
    uint64_t live;
    int rc;

    /* Buckets emptied by deletes stay (their ids are still the boundaries between buckets), so
     * an owner that creates and deletes for a long time gathers buckets it no longer needs.
     * When it is about to open one more and has several times more than its jobs fill, its
     * index is counted anew from its 'O' entries: O(jobs) once per many times as many creates. */
    if ((rc = state_get(txn, s, owner, &st)))
        return rc;
    if (st.fill == JOBS__RANK_BUCKET && st.buckets >= JOBS__RANK_COMPACT_MIN) {
        if ((rc = jobs__count_get(txn, s, JOBS__JOB, owner, &live)))
            return rc;
        if (st.buckets > JOBS__RANK_COMPACT_SLACK * (live / JOBS__RANK_BUCKET + 1) &&
            ((rc = drop_rank(txn, s, &owner)) || (rc = count_anew(txn, s, &owner))))
            return rc;
    }
    return append_one(txn, s, owner, id, bucket);
}

int jobs__rank_append_run(MDB_txn *txn, jobs__lmdb *s, uint64_t owner, const uint64_t *ids,
                          size_t n, uint32_t *buckets)
{
    unsigned char key[13];
    rank_state st;
    uint32_t pending = 0; /* insertions into the last bucket not yet added to the tree */
    uint32_t first_bucket;
    int rc;

    if (n == 0)
        return 0;
    /* The first id as one append (it compacts the index when that is due), the rest in one
     * pass: the tree is added to once per bucket, before a new bucket may copy its root. */
    if ((rc = jobs__rank_append(txn, s, owner, ids[0], &first_bucket)))
        return rc;
    buckets[0] = first_bucket;
    if ((rc = state_get(txn, s, owner, &st)))
        return rc;
    for (size_t i = 1; i < n; i++) {
        if (st.fill == JOBS__RANK_BUCKET) {
            if (pending &&
                (rc = tree_add(txn, s, owner, st.buckets, top_of(st.buckets), (int)pending)))
                return rc;
            pending = 0;
            if ((rc = open_bucket(txn, s, owner, &st, ids[i])))
                return rc;
        }
        st.fill++;
        pending++;
        buckets[i] = st.buckets;
    }
    if (pending && (rc = tree_add(txn, s, owner, st.buckets, top_of(st.buckets), (int)pending)))
        return rc;
    return jobs__put(txn, s->owners, key, jobs__rank_key(key, owner, 's', 0), &st, sizeof(st),
                     0);
}

int jobs__rank_remove(MDB_txn *txn, jobs__lmdb *s, uint64_t owner, uint32_t bucket)
{
    rank_state st;
    int rc;

    if ((rc = state_get(txn, s, owner, &st)))
        return rc;
    if (bucket == 0 || bucket > st.buckets)
        return corrupt(owner);
    return tree_add(txn, s, owner, bucket, top_of(st.buckets), -1);
}

