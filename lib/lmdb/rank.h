/* The counted index of an owner's jobs: the owner's k-th job in O(log n) reads (see rank.c).
 * Every function runs inside the caller's transaction; the 'O' entry of a job holds the
 * bucket it was counted in, so that removing it can uncount it. */
#ifndef JOBS_LIB_RANK_H
#define JOBS_LIB_RANK_H

#include "env.h"

/* Insertions per bucket: a deep page reads about log2(jobs / 32) tree nodes, then walks at most
 * 31 'O' entries before its first job. */
#define JOBS__RANK_BUCKET 32u

/* An owner's index is counted anew when it would open a bucket beyond SLACK times what its
 * jobs fill (and has at least MIN buckets): the buckets that deletes emptied are dropped. */
#define JOBS__RANK_COMPACT_SLACK 4u
#define JOBS__RANK_COMPACT_MIN 16u

/* Counts a new job `id` of `owner`, which must be above all of the owner's ids so far; *bucket
 * is where it was counted (to store in its 'O' entry). */
int jobs__rank_append(MDB_txn *txn, jobs__lmdb *s, uint64_t owner, uint64_t id,
                      uint32_t *bucket);

/* jobs__rank_append() of n ids in ascending order (all above the owner's ids so far), with the
 * tree written once per bucket instead of once per id; buckets[i] is where ids[i] was counted. */
int jobs__rank_append_run(MDB_txn *txn, jobs__lmdb *s, uint64_t owner, const uint64_t *ids,
                          size_t n, uint32_t *buckets);

/* Uncounts a job of `owner` that was counted in `bucket`. */
int jobs__rank_remove(MDB_txn *txn, jobs__lmdb *s, uint64_t owner, uint32_t bucket);

/* Where the owner's job number skip + 1 (in id order) is: walking the owner's 'O' entries from *from
 * and passing *rest entries reaches it. When skip is 0 or past the end: *from = 0 and *rest =
 * skip (the walk then finds the first job, or nothing). */
int jobs__rank_seek(MDB_txn *txn, jobs__lmdb *s, uint64_t owner, uint64_t skip, uint64_t *from,
                    uint64_t *rest);

/* Rebuilds the whole index from the 'O' entries (and rewrites their values): the migration of
 * a schema 1 store, which had no rank index. */
int jobs__rank_build(MDB_txn *txn, jobs__lmdb *s);

/* The 'O' entry's value: the bucket, 4 bytes big-endian. */
static inline void jobs__rank_value(unsigned char v[4], uint32_t bucket)
{
    v[0] = (unsigned char)(bucket >> 24);
    v[1] = (unsigned char)(bucket >> 16);
    v[2] = (unsigned char)(bucket >> 8);
    v[3] = (unsigned char)bucket;
}

/* A rank key of "owners": owner(8) tag(1), then for 'b' and 'f' the bucket or node (4,
 * big-endian). Returns its length. The one definition of the layout, for rank.c and the
 * verifier. (Schema 2 kept these keys in a database of their own, tagged 'B', 'F', 'S'.) */
static inline size_t jobs__rank_key(unsigned char key[13], uint64_t owner, char tag, uint32_t n)
{
    jobs__be64_put(key, owner);
    key[8] = (unsigned char)tag;
    if (tag == 's')
        return 9;
    jobs__rank_value(key + 9, n);
    return 13;
}

/* An owner's index state: the buckets opened and the insertions into the last (both 0 for an
 * owner without one). JOBS_ECORRUPT for a malformed or impossible state. */
int jobs__rank_state(MDB_txn *txn, jobs__lmdb *s, uint64_t owner, uint32_t *buckets,
                     uint32_t *fill);

static inline int jobs__rank_value_get(uint32_t *bucket, const MDB_val *v)
{
    const unsigned char *p = v->mv_data;

    if (v->mv_size != 4)
        return -1;
    *bucket = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
    return 0;
}

#endif
