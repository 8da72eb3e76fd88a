/* The LMDB backend's records and their indexes: jobs (owner order with the counted index, names,
 * due order), schedules and stacks (with their visibility indexes), per-owner counts, schedule
 * reference counts, pages, the due scan; and the function table the rules use (backend.h).
 * Keys and layouts are in env.h and docs/storage.md. */
#include "rank.h"

static inline jobs__lmdb *DB(jobs__txn *t)
{
    return t->db;
}

static void name_key(unsigned char *key, uint64_t owner, const char *name, size_t len)
{
    jobs__be64_put(key, owner);
    memcpy(key + 8, name, len);
}

/* Removes an index entry that must exist: a missing one means the indexes disagree. */
static int del_entry(MDB_txn *txn, MDB_dbi dbi, const void *key, size_t klen, uint64_t id)
{
    int rc = jobs__del(txn, dbi, key, klen);

    if (rc == JOBS_ENOTFOUND)
        return jobs__error(JOBS_ECORRUPT, "an index entry of job %llu is missing",
                           (unsigned long long)id);
    return rc;
}

/* ---- schedule reference counts ---------------------------------------------------------- */

static int refs_get(MDB_txn *txn, jobs__lmdb *s, uint64_t id, uint64_t *n)
{
    unsigned char key[8];
    MDB_val v;
    int rc;

    jobs__be64_put(key, id);
    rc = jobs__get(txn, s->schedule_refs, key, 8, &v);
    *n = 0;
    if (rc == JOBS_ENOTFOUND)
        return 0;
    if (rc)
        return rc;
    if (v.mv_size != sizeof(*n))
        return jobs__error(JOBS_ECORRUPT, "a schedule reference count is corrupt");
    memcpy(n, v.mv_data, sizeof(*n));
    return 0;
}

static int schedule_ref(MDB_txn *txn, jobs__lmdb *s, uint64_t id, int delta)
{
    unsigned char key[8];
    uint64_t n;
    int rc;

    if ((rc = refs_get(txn, s, id, &n)) != 0)
        return rc;
    if (delta < 0 && n == 0)
        return jobs__error(JOBS_ECORRUPT, "schedule %llu's reference count would go below 0",
                           (unsigned long long)id);
    n += (uint64_t)(int64_t)delta;
    jobs__be64_put(key, id);
    if (n == 0)
        return jobs__del(txn, s->schedule_refs, key, sizeof(key));
    return jobs__put(txn, s->schedule_refs, key, sizeof(key), &n, sizeof(n), 0);
}

static int schedule_refs(jobs__txn *t, uint64_t id, uint64_t *n)
{
    return refs_get(t->txn, DB(t), id, n);
}

/* ---- jobs ------------------------------------------------------------------------------- */

int jobs__lmdb_job_load(jobs__txn *t, uint64_t id, jobs__job_rec *rec, unsigned char *copy)
{
    unsigned char key[8];
    MDB_val v;
    int rc;

    jobs__be64_put(key, id);
    if ((rc = jobs__get(t->txn, DB(t)->jobs, key, sizeof(key), &v)))
        return rc;
    if (copy) {
        if (v.mv_size > JOBS__RECORD_MAX)
            return jobs__error(JOBS_ECORRUPT, "job %llu's record is too long",
                               (unsigned long long)id);
        v.mv_data = memcpy(copy, v.mv_data, v.mv_size);
    }
    return jobs__job_decode(rec, v.mv_data, v.mv_size);
}

static int job_by_name(jobs__txn *t, uint64_t owner, const char *name, size_t len, uint64_t *id)
{
    unsigned char key[8 + JOBS_NAME_MAX];
    MDB_val v;
    int rc;

    name_key(key, owner, name, len);
    if ((rc = jobs__get(t->txn, DB(t)->job_name, key, 8 + len, &v)))
        return rc;
    if (v.mv_size != 8)
        return jobs__error(JOBS_ECORRUPT, "a job name index entry is corrupt");
    *id = jobs__be64_get(v.mv_data);
    return 0;
}

static int name_set(MDB_txn *txn, jobs__lmdb *s, uint64_t owner, const char *name, size_t len,
                    uint64_t id, bool add)
{
    unsigned char key[8 + JOBS_NAME_MAX], val[8];

    name_key(key, owner, name, len);
    if (!add)
        return del_entry(txn, s->job_name, key, 8 + len, id);
    jobs__be64_put(val, id);
    return jobs__put(txn, s->job_name, key, 8 + len, val, sizeof(val), 0);
}

static int due_put(MDB_txn *txn, jobs__lmdb *s, int64_t next_run, uint64_t id, bool add)
{
    unsigned char key[16];

    jobs__key2(key, jobs__time_key(next_run), id);
    if (add)
        return jobs__put(txn, s->job_due, key, sizeof(key), "", 0, 0);
    return jobs__del(txn, s->job_due, key, sizeof(key));
}

/* The record and the due index, from `old` (NULL for a new job) to `rec`. */
static int job_write(MDB_txn *txn, jobs__lmdb *s, uint64_t id, const jobs__job_rec *old,
                     const jobs__job_rec *rec)
{
    unsigned char key[8], buf[JOBS__RECORD_MAX];
    size_t len = jobs__job_encode(buf, rec);
    bool was_due = old && old->do_run;
    bool same_slot = was_due && rec->do_run && old->next_run == rec->next_run;
    int rc;

    /* A new job has the highest id there is: appending fills the database's pages whole. */
    jobs__be64_put(key, id);
    if ((rc = jobs__put(txn, s->jobs, key, sizeof(key), buf, len, old ? 0 : MDB_APPEND)) ||
        (rc = jobs__queued_add(txn, s, (int64_t)rec->do_del - (int64_t)(old && old->do_del))))
        return rc;
    if (was_due && !same_slot && (rc = due_put(txn, s, old->next_run, id, false)))
        return rc;
    if (rec->do_run && !same_slot && (rc = due_put(txn, s, rec->next_run, id, true)))
        return rc;
    return 0;
}

static int job_insert(jobs__txn *t, uint64_t id, const jobs__job_rec *rec)
{
    MDB_txn *txn = t->txn;
    jobs__lmdb *s = DB(t);
    unsigned char key[JOBS__OWNED_KEY], val[4];
    uint32_t bucket;
    int rc;

    if ((rc = job_write(txn, s, id, NULL, rec)) ||
        (rc = jobs__rank_append(txn, s, rec->owner, id, &bucket)))
        return rc;
    jobs__owned_key(key, rec->owner, id);
    jobs__rank_value(val, bucket);
    if ((rc = jobs__put(txn, s->owners, key, sizeof(key), val, sizeof(val), 0)) ||
        (rec->name && (rc = name_set(txn, s, rec->owner, rec->name, rec->name_len, id, true))) ||
        (rc = jobs__count_add(txn, s, JOBS__JOB, rec->owner, 1)))
        return rc;
    return schedule_ref(txn, s, rec->schedule, +1);
}

/* n job_inserts of one owner (jobs_batch): the page index, the owner's count and the schedules'
 * reference counts are written once per run (per bucket, per schedule) rather than per job. */
static int job_insert_run(jobs__txn *t, uint64_t owner, const uint64_t *ids,
                          const jobs__job_rec *recs, size_t n)
{
    MDB_txn *txn = t->txn;
    jobs__lmdb *s = DB(t);
    unsigned char key[JOBS__OWNED_KEY], val[4];
    uint32_t *buckets = jobs__malloc(n * sizeof(*buckets) + 1);
    size_t from = 0;
    int rc;

    if (!buckets)
        return jobs__error(JOBS_ENOMEM, "out of memory");
    if ((rc = jobs__rank_append_run(txn, s, owner, ids, n, buckets)))
        goto out;
    for (size_t i = 0; i < n; i++) {
        const jobs__job_rec *rec = &recs[i];

        jobs__owned_key(key, owner, ids[i]);
        jobs__rank_value(val, buckets[i]);
        if ((rc = job_write(txn, s, ids[i], NULL, rec)) ||
            (rc = jobs__put(txn, s->owners, key, sizeof(key), val, sizeof(val), 0)) ||
            (rec->name && (rc = name_set(txn, s, owner, rec->name, rec->name_len, ids[i], true))))
            goto out;
        /* A schedule's reference count, once per stretch of jobs on it. */
        if (i + 1 == n || recs[i + 1].schedule != rec->schedule) {
            if ((rc = schedule_ref(txn, s, rec->schedule, (int)(i + 1 - from))))
                goto out;
            from = i + 1;
        }
    }
    rc = jobs__count_add(txn, s, JOBS__JOB, owner, (int64_t)n);
out:
    jobs__free(buckets);
    return rc;
}

static int job_update(jobs__txn *t, uint64_t id, const jobs__job_rec *old,
                      const jobs__job_rec *rec)
{
    MDB_txn *txn = t->txn;
    jobs__lmdb *s = DB(t);
    bool same_name = old->name ? rec->name && old->name_len == rec->name_len &&
                                     memcmp(old->name, rec->name, rec->name_len) == 0
                               : !rec->name;
    int rc;

    if (rec->schedule != old->schedule &&
        ((rc = schedule_ref(txn, s, old->schedule, -1)) ||
         (rc = schedule_ref(txn, s, rec->schedule, +1))))
        return rc;
    if (!same_name) {
        if (old->name &&
            (rc = name_set(txn, s, old->owner, old->name, old->name_len, id, false)))
            return rc;
        if (rec->name && (rc = name_set(txn, s, rec->owner, rec->name, rec->name_len, id, true)))
            return rc;
    }
    return job_write(txn, s, id, old, rec);
}

static int job_remove(jobs__txn *t, uint64_t id, const jobs__job_rec *rec)
{
    MDB_txn *txn = t->txn;
    jobs__lmdb *s = DB(t);
    unsigned char key[8 + JOBS_NAME_MAX];
    uint32_t bucket;
    MDB_val v;
    int rc;

    jobs__be64_put(key, id);
    if ((rc = del_entry(txn, s->jobs, key, 8, id)) || (rc = jobs__lmdb_job_gone(txn, s, id)))
        return rc;
    jobs__owned_key(key, rec->owner, id);
    rc = jobs__get(txn, s->owners, key, JOBS__OWNED_KEY, &v);
    if (rc == JOBS_ENOTFOUND || (rc == 0 && jobs__rank_value_get(&bucket, &v) != 0))
        return jobs__error(JOBS_ECORRUPT, "the owner index entry of job %llu is missing or "
                           "corrupt", (unsigned long long)id);
    if (rc || (rc = del_entry(txn, s->owners, key, JOBS__OWNED_KEY, id)) ||
        (rc = jobs__rank_remove(txn, s, rec->owner, bucket)))
        return rc;
    if (rec->name) {
        name_key(key, rec->owner, rec->name, rec->name_len);
        if ((rc = del_entry(txn, s->job_name, key, 8 + rec->name_len, id)))
            return rc;
    }
    if (rec->do_run) {
        jobs__key2(key, jobs__time_key(rec->next_run), id);
        if ((rc = del_entry(txn, s->job_due, key, 16, id)))
            return rc;
    }
    if ((rc = jobs__count_add(txn, s, JOBS__JOB, rec->owner, -1)) ||
        (rec->do_del && (rc = jobs__queued_add(txn, s, -1))))
        return rc;
    return schedule_ref(txn, s, rec->schedule, -1);
}

static int due_scan(jobs__txn *t, int64_t now, size_t limit, jobs__due_fn fn, void *ctx)
{
    MDB_cursor *cur;
    MDB_val k, v;
    size_t n = 0;
    int rc = mdb_cursor_open(t->txn, DB(t)->job_due, &cur), frc = 0;

    if (rc)
        return jobs__mdb_error(rc, "scheduler tick");
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (k.mv_size != 16) {
            mdb_cursor_close(cur);
            return jobs__error(JOBS_ECORRUPT, "a due index key is corrupt");
        }
        int64_t slot = jobs__time_unkey(jobs__be64_get(k.mv_data));
        if (slot > now || (limit && n == limit))
            break;
        if ((frc = fn(ctx, jobs__be64_get((const unsigned char *)k.mv_data + 8), slot)))
            break;
        n++;
    }
    mdb_cursor_close(cur);
    if (frc)
        return frc;
    return rc && rc != MDB_NOTFOUND ? jobs__mdb_error(rc, "scheduler tick") : 0;
}

static int due_first(jobs__txn *t, int64_t *next_run)
{
    MDB_cursor *cur;
    MDB_val k, v;
    int rc = mdb_cursor_open(t->txn, DB(t)->job_due, &cur);

    if (rc)
        return jobs__mdb_error(rc, "next run");
    rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
    mdb_cursor_close(cur);
    if (rc == MDB_NOTFOUND)
        return JOBS_ENOTFOUND;
    if (rc)
        return jobs__mdb_error(rc, "next run");
    if (k.mv_size != 16)
        return jobs__error(JOBS_ECORRUPT, "a due index key is corrupt");
    *next_run = jobs__time_unkey(jobs__be64_get(k.mv_data));
    return 0;
}

static int schedule_names(MDB_txn *txn, jobs__lmdb *s, uint64_t id,
                          const jobs__schedule_rec *rec, bool add);

/* ---- schedules -------------------------------------------------------------------------- */

static int schedule_load(jobs__txn *t, uint64_t id, jobs__schedule_rec *rec)
{
    unsigned char key[8];
    MDB_val v;
    int rc;

    jobs__be64_put(key, id);
    rc = jobs__get(t->txn, DB(t)->schedules, key, sizeof(key), &v);
    return rc ? rc : jobs__schedule_decode(rec, v.mv_data, v.mv_size);
}

static int schedule_insert(jobs__txn *t, uint64_t id, const jobs__schedule_rec *rec)
{
    MDB_txn *txn = t->txn;
    jobs__lmdb *s = DB(t);
    unsigned char key[8], vis[16], buf[JOBS__RECORD_MAX];
    size_t len = jobs__schedule_encode(buf, rec);
    int rc;

    jobs__be64_put(key, id);
    jobs__key2(vis, rec->owner, id);
    if ((rc = jobs__put(txn, s->schedules, key, sizeof(key), buf, len, MDB_NOOVERWRITE)) ||
        (rc = jobs__put(txn, s->schedule_vis, vis, sizeof(vis), "", 0, 0)) ||
        (rc = schedule_names(txn, s, id, rec, true)))
        return rc;
    return jobs__count_add(txn, s, JOBS__SCHEDULE, rec->owner, 1);
}

static int schedule_update(jobs__txn *t, uint64_t id, const jobs__schedule_rec *rec)
{
    unsigned char key[8], buf[JOBS__RECORD_MAX];
    size_t len = jobs__schedule_encode(buf, rec);
    jobs__schedule_rec old;
    int rc;

    /* The name entry follows the name: the stored record says which entry there is now. */
    if ((rc = schedule_load(t, id, &old)) ||
        (rc = schedule_names(t->txn, DB(t), id, &old, false)) ||
        (rc = schedule_names(t->txn, DB(t), id, rec, true)))
        return rc;
    jobs__be64_put(key, id);
    return jobs__put(t->txn, DB(t)->schedules, key, sizeof(key), buf, len, 0);
}

static int schedule_remove(jobs__txn *t, uint64_t id, const jobs__schedule_rec *rec)
{
    MDB_txn *txn = t->txn;
    jobs__lmdb *s = DB(t);
    unsigned char key[8], vis[16];
    int rc;

    /* The rules remove it only unused, and a reference count entry exists only above 0. */
    jobs__be64_put(key, id);
    jobs__key2(vis, rec->owner, id);
    if ((rc = jobs__del(txn, s->schedules, key, sizeof(key))) ||
        (rc = jobs__del(txn, s->schedule_vis, vis, sizeof(vis))) ||
        (rc = schedule_names(txn, s, id, rec, false)))
        return rc == JOBS_ENOTFOUND
                   ? jobs__error(JOBS_ECORRUPT, "schedule %llu or one of its index entries is "
                                 "missing", (unsigned long long)id)
                   : rc;
    return jobs__count_add(txn, s, JOBS__SCHEDULE, rec->owner, -1);
}

/* ---- name indexes (stacks and schedules) ------------------------------------------------ */

int jobs__dup_put(MDB_txn *txn, MDB_dbi dbi, const void *key, size_t klen, uint64_t id)
{
    unsigned char val[8];

    jobs__be64_put(val, id);
    return jobs__put(txn, dbi, key, klen, val, sizeof(val), 0);
}

int jobs__dup_has(MDB_txn *txn, MDB_dbi dbi, const void *key, size_t klen, uint64_t id)
{
    unsigned char val[8];
    MDB_val k = {klen, (void *)key}, v = {sizeof(val), val};
    MDB_cursor *cur;
    int rc;

    jobs__be64_put(val, id);
    if ((rc = mdb_cursor_open(txn, dbi, &cur)))
        return jobs__mdb_error(rc, "name index");
    rc = mdb_cursor_get(cur, &k, &v, MDB_GET_BOTH);
    mdb_cursor_close(cur);
    if (rc == MDB_NOTFOUND)
        return JOBS_ENOTFOUND;
    return rc ? jobs__mdb_error(rc, "name index") : 0;
}

int jobs__dup_del(MDB_txn *txn, MDB_dbi dbi, const void *key, size_t klen, uint64_t id)
{
    unsigned char val[8];
    MDB_val k = {klen, (void *)key}, v = {sizeof(val), val};
    int rc;

    jobs__be64_put(val, id);
    rc = mdb_del(txn, dbi, &k, &v);
    if (rc == MDB_NOTFOUND)
        return jobs__error(JOBS_ECORRUPT, "a name index entry of %llu is missing",
                           (unsigned long long)id);
    return rc ? jobs__mdb_error(rc, "delete") : 0;
}

/* The first (lowest) id under a key of a sorted-duplicates name index. */
static int dup_first(MDB_txn *txn, MDB_dbi dbi, uint64_t owner, const char *name, size_t len,
                     uint64_t *id)
{
    unsigned char key[8 + JOBS_NAME_MAX];
    MDB_val v;
    int rc;

    name_key(key, owner, name, len);
    if ((rc = jobs__get(txn, dbi, key, 8 + len, &v)))
        return rc;
    if (v.mv_size != 8)
        return jobs__error(JOBS_ECORRUPT, "a name index entry is corrupt");
    *id = jobs__be64_get(v.mv_data);
    return 0;
}

/* A stack's name entries: under its owner, and under the public owner when public. */
static int stack_names(MDB_txn *txn, jobs__lmdb *s, uint64_t id, const jobs__stack_rec *rec,
                       bool add)
{
    unsigned char key[8 + JOBS_NAME_MAX];
    int rc;

    for (int pub = 0; pub <= (int)rec->is_public; pub++) {
        name_key(key, pub ? JOBS_OWNER_PUBLIC : rec->owner, rec->name, rec->name_len);
        rc = add ? jobs__dup_put(txn, s->stack_name, key, 8 + rec->name_len, id)
                 : jobs__dup_del(txn, s->stack_name, key, 8 + rec->name_len, id);
        if (rc)
            return rc;
    }
    return 0;
}

static int schedule_names(MDB_txn *txn, jobs__lmdb *s, uint64_t id,
                          const jobs__schedule_rec *rec, bool add)
{
    unsigned char key[8 + JOBS_NAME_MAX];

    if (!rec->name)
        return 0;
    name_key(key, rec->owner, rec->name, rec->name_len);
    return add ? jobs__dup_put(txn, s->schedule_name, key, 8 + rec->name_len, id)
               : jobs__dup_del(txn, s->schedule_name, key, 8 + rec->name_len, id);
}

static const char names_key[] = "names";

int jobs__lmdb_names_init(MDB_txn *txn, jobs__lmdb *s)
{
    MDB_cursor *cur;
    MDB_val k, v;
    uint32_t one = 1;
    int rc = jobs__get(txn, s->meta, names_key, sizeof(names_key) - 1, &v);

    if (rc != JOBS_ENOTFOUND)
        return rc;
    /* A store of an earlier build: index what it has, in the open's transaction. */
    for (int kind = 0; kind < 2; kind++) {
        if ((rc = mdb_cursor_open(txn, kind ? s->schedules : s->stacks, &cur)))
            return jobs__mdb_error(rc, "building the name indexes");
        for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
             rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
            jobs__schedule_rec sc;
            jobs__stack_rec st;
            int wrc;

            if (k.mv_size != 8) {
                mdb_cursor_close(cur);
                return jobs__error(JOBS_ECORRUPT, "a record key is malformed");
            }
            if (kind ? (wrc = jobs__schedule_decode(&sc, v.mv_data, v.mv_size)) == 0
                     : (wrc = jobs__stack_decode(&st, v.mv_data, v.mv_size)) == 0)
                wrc = kind ? schedule_names(txn, s, jobs__be64_get(k.mv_data), &sc, true)
                           : stack_names(txn, s, jobs__be64_get(k.mv_data), &st, true);
            if (wrc) {
                mdb_cursor_close(cur);
                return wrc;
            }
        }
        mdb_cursor_close(cur);
        if (rc != MDB_NOTFOUND)
            return jobs__mdb_error(rc, "building the name indexes");
    }
    return jobs__put(txn, s->meta, names_key, sizeof(names_key) - 1, &one, sizeof(one), 0);
}

/* Without the name indexes (an earlier build's store opened read-only): the lowest id whose
 * record has that name under that owner, by walking the records. */
static int name_walk(jobs__txn *t, bool stacks, uint64_t owner, const char *name, size_t len,
                     uint64_t *id)
{
    MDB_cursor *cur;
    MDB_val k, v;
    int rc = mdb_cursor_open(t->txn, stacks ? DB(t)->stacks : DB(t)->schedules, &cur);

    if (rc)
        return jobs__mdb_error(rc, "lookup by name");
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        jobs__schedule_rec sc;
        jobs__stack_rec st;
        const char *n;
        size_t nl;
        bool under;
        int drc = stacks ? jobs__stack_decode(&st, v.mv_data, v.mv_size)
                         : jobs__schedule_decode(&sc, v.mv_data, v.mv_size);

        if (drc || k.mv_size != 8) {
            mdb_cursor_close(cur);
            return drc ? drc : jobs__error(JOBS_ECORRUPT, "a record key is malformed");
        }
        n = stacks ? st.name : sc.name;
        nl = stacks ? st.name_len : sc.name_len;
        under = stacks ? (owner == JOBS_OWNER_PUBLIC ? st.is_public : st.owner == owner)
                       : sc.owner == owner;
        if (under && n && nl == len && memcmp(n, name, len) == 0) {
            *id = jobs__be64_get(k.mv_data);
            mdb_cursor_close(cur);
            return 0;
        }
    }
    mdb_cursor_close(cur);
    return rc == MDB_NOTFOUND ? JOBS_ENOTFOUND : jobs__mdb_error(rc, "lookup by name");
}

static int stack_by_name(jobs__txn *t, uint64_t owner, const char *name, size_t len,
                         uint64_t *id)
{
    if (!DB(t)->names)
        return name_walk(t, true, owner, name, len, id);
    return dup_first(t->txn, DB(t)->stack_name, owner, name, len, id);
}

static int schedule_by_name(jobs__txn *t, uint64_t owner, const char *name, size_t len,
                            uint64_t *id)
{
    if (!DB(t)->names)
        return name_walk(t, false, owner, name, len, id);
    return dup_first(t->txn, DB(t)->schedule_name, owner, name, len, id);
}

/* ---- stacks ----------------------------------------------------------------------------- */

static int stack_load(jobs__txn *t, uint64_t id, jobs__stack_rec *rec)
{
    unsigned char key[8];
    MDB_val v;
    int rc;

    jobs__be64_put(key, id);
    rc = jobs__get(t->txn, DB(t)->stacks, key, sizeof(key), &v);
    return rc ? rc : jobs__stack_decode(rec, v.mv_data, v.mv_size);
}

static int stack_insert(jobs__txn *t, uint64_t id, const jobs__stack_rec *rec)
{
    MDB_txn *txn = t->txn;
    jobs__lmdb *s = DB(t);
    unsigned char key[8], vis[16], buf[JOBS__RECORD_MAX];
    size_t len = jobs__stack_encode(buf, rec);
    uint64_t listed = rec->is_public ? JOBS_OWNER_PUBLIC : rec->owner;
    int rc;

    jobs__be64_put(key, id);
    jobs__key2(vis, listed, id);
    if ((rc = jobs__put(txn, s->stacks, key, sizeof(key), buf, len, MDB_NOOVERWRITE)) ||
        (rc = jobs__put(txn, s->stack_vis, vis, sizeof(vis), "", 0, 0)) ||
        (rc = stack_names(txn, s, id, rec, true)))
        return rc;
    return jobs__count_add(txn, s, JOBS__STACK, listed, 1);
}

static int stack_update(jobs__txn *t, uint64_t id, const jobs__stack_rec *old,
                        const jobs__stack_rec *rec)
{
    MDB_txn *txn = t->txn;
    jobs__lmdb *s = DB(t);
    unsigned char key[8], vis[16], buf[JOBS__RECORD_MAX];
    uint64_t was = old->is_public ? JOBS_OWNER_PUBLIC : old->owner;
    uint64_t listed = rec->is_public ? JOBS_OWNER_PUBLIC : rec->owner;
    bool same_names = old->is_public == rec->is_public && old->name_len == rec->name_len &&
                      memcmp(old->name, rec->name, rec->name_len) == 0;
    size_t len;
    int rc;

    /* The old entries go before the record is rewritten: `old` may point into its bytes. */
    if (!same_names && (rc = stack_names(txn, s, id, old, false)))
        return rc;
    if (was != listed) {
        jobs__key2(vis, was, id);
        if ((rc = del_entry(txn, s->stack_vis, vis, sizeof(vis), id)) ||
            (rc = jobs__count_add(txn, s, JOBS__STACK, was, -1)))
            return rc;
        jobs__key2(vis, listed, id);
        if ((rc = jobs__put(txn, s->stack_vis, vis, sizeof(vis), "", 0, 0)) ||
            (rc = jobs__count_add(txn, s, JOBS__STACK, listed, 1)))
            return rc;
    }
    if (!same_names && (rc = stack_names(txn, s, id, rec, true)))
        return rc;
    len = jobs__stack_encode(buf, rec);
    jobs__be64_put(key, id);
    return jobs__put(txn, s->stacks, key, sizeof(key), buf, len, 0);
}

static int stack_blocks_get(jobs__txn *t, uint64_t id, const void **data, size_t *len)
{
    unsigned char key[8];
    MDB_val v;
    int rc;

    if (!DB(t)->names)
        return JOBS_ENOTFOUND; /* an earlier build's store: no stack has blocks */
    jobs__be64_put(key, id);
    if ((rc = jobs__get(t->txn, DB(t)->stack_blocks, key, sizeof(key), &v)))
        return rc;
    if (v.mv_size > JOBS_STACK_BLOCKS_MAX)
        return jobs__error(JOBS_ECORRUPT, "stack %llu's blocks are too long",
                           (unsigned long long)id);
    *data = v.mv_data;
    *len = v.mv_size;
    return 0;
}

static int stack_blocks_put(jobs__txn *t, uint64_t id, const void *data, size_t len)
{
    unsigned char key[8];
    int rc;

    jobs__be64_put(key, id);
    if (!data) {
        rc = jobs__del(t->txn, DB(t)->stack_blocks, key, sizeof(key));
        return rc == JOBS_ENOTFOUND ? 0 : rc;
    }
    return jobs__put(t->txn, DB(t)->stack_blocks, key, sizeof(key), data, len, 0);
}

/* ---- counts and pages ------------------------------------------------------------------- */

static int count(jobs__txn *t, jobs__kind kind, uint64_t owner, uint64_t *n)
{
    return jobs__count_get(t->txn, DB(t), kind, owner, n);
}

static int page(jobs__txn *t, jobs__kind kind, uint64_t a, uint64_t b, uint64_t skip, size_t max,
                uint64_t *ids, size_t *n)
{
    jobs__lmdb *s = DB(t);
    MDB_dbi index = kind == JOBS__JOB ? s->owners
                    : kind == JOBS__SCHEDULE ? s->schedule_vis : s->stack_vis;
    uint64_t from = 0;
    int rc;

    /* Without a rank index, a deep page walks past the skipped entries (schedules and stacks:
     * few per owner); with one (an owner's jobs), it starts at most a bucket before its first
     * entry. */
    if (kind == JOBS__JOB && a == b && skip > 0 &&
        (rc = jobs__rank_seek(t->txn, s, a, skip, &from, &skip)))
        return rc;
    return jobs__index_page(t->txn, index, kind == JOBS__JOB ? JOBS__TAG_OWNED : 0, a, b, from,
                            skip, max, ids, n);
}

const jobs__backend jobs__lmdb_backend = {
    .name = "lmdb",
    .read = jobs__lmdb_read,
    .write = jobs__lmdb_write,
    .close = jobs__lmdb_close,
    .stat = jobs__lmdb_stat,
    .check = jobs__lmdb_check,
    .backup = jobs__lmdb_backup,
    .next_id = jobs__lmdb_next_id,
    .count = count,
    .page = page,
    .job_load = jobs__lmdb_job_load,
    .job_by_name = job_by_name,
    .job_insert = job_insert,
    .job_insert_run = job_insert_run,
    .job_update = job_update,
    .job_remove = job_remove,
    .due_scan = due_scan,
    .due_first = due_first,
    .schedule_load = schedule_load,
    .schedule_insert = schedule_insert,
    .schedule_update = schedule_update,
    .schedule_refs = schedule_refs,
    .schedule_remove = schedule_remove,
    .stack_load = stack_load,
    .stack_insert = stack_insert,
    .stack_update = stack_update,
    .stack_by_name = stack_by_name,
    .stack_blocks_get = stack_blocks_get,
    .stack_blocks_put = stack_blocks_put,
    .schedule_by_name = schedule_by_name,
    .idem_get = jobs__lmdb_idem_get,
    .idem_put = jobs__lmdb_idem_put,
    .idem_sweep = jobs__lmdb_idem_sweep,
    .kv_get = jobs__lmdb_kv_get,
    .kv_put = jobs__lmdb_kv_put,
    .kv_del = jobs__lmdb_kv_del,
    .kv_scan = jobs__lmdb_kv_scan,
    .run_load = jobs__lmdb_run_load,
    .run_insert = jobs__lmdb_run_insert,
    .run_update = jobs__lmdb_run_update,
    .run_remove = jobs__lmdb_run_remove,
    .run_count = jobs__lmdb_run_count,
    .run_page = jobs__lmdb_run_page,
    .run_due_scan = jobs__lmdb_run_due_scan,
    .rec_scan = jobs__lmdb_rec_scan,
    .idem_scan = jobs__lmdb_idem_scan,
    .kv_scan_all = jobs__lmdb_kv_scan_all,
    .id_peek = jobs__lmdb_id_peek,
    .id_set = jobs__lmdb_id_set,
    .wait = jobs__lmdb_wait,
    .notify_due = jobs__lmdb_notify_due,
};
