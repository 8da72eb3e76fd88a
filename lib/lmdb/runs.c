/* The LMDB backend's runs: the records (database "runs", id(8) -> run record) and their
 * entries in "run_index", one database for all of them, each key led by a tag byte:
 *   'h' job(8) id(8) -> ""        a job's history in id order
 *   'h' job(8) -> u64             its count: the list's prefix, so it sorts just before the
 *                                  list and a new run writes its entry and count on one leaf
 *   'd' owner(8) stack(8) id(8)   an owner's runs of a stack without a job (their history)
 *   'd' owner(8) stack(8) -> u64  its count
 *   's' owner(8) stack(8) id(8)   an owner's runs of a stack, with a job or without
 *   's' owner(8) stack(8) -> u64  its count
 *   'q' time(8) id(8) -> ""       the queue: pending runs at `created`, running ones at
 *                                  lease_until (times biased as in job_due)
 * (Schema 2 tagged the counts 'H' and 'S'; the migration to schema 3 renames them. Schema 3
 * kept a stack's runs without a job in one 'h' list per stack, 2^63 | stack, whoever made
 * them; the migration to schema 4 moves them to their owners' 'd' lists.)
 * A store written before runs has neither database; a read-write open creates them (empty),
 * and a read-only open reads as if they were (db->no_runs). */
#include "env.h"

/* A list's prefix: its count's key, and each of its entries' keys without the run id. */
static size_t list_key(unsigned char *key, jobs__run_by by, uint64_t owner, uint64_t id)
{
    if (by == JOBS__RUNS_OF_JOB) {
        key[0] = 'h';
        jobs__be64_put(key + 1, id);
        return 9;
    }
    key[0] = by == JOBS__RUNS_DIRECT ? 'd' : 's';
    jobs__be64_put(key + 1, owner);
    jobs__be64_put(key + 9, id);
    return 17;
}

/* The prefix of a run's own history: its job's, or for a run without a job its owner's runs of
 * the stack without a job. */
static size_t history_key(unsigned char *key, const jobs__run_rec *r)
{
    return r->job ? list_key(key, JOBS__RUNS_OF_JOB, 0, r->job)
                  : list_key(key, JOBS__RUNS_DIRECT, r->owner, r->stack);
}

static int count_get(MDB_txn *txn, jobs__lmdb *s, const unsigned char *key, size_t klen,
                     uint64_t *n)
{
    MDB_val v;
    int rc = jobs__get(txn, s->run_index, key, klen, &v);

    *n = 0;
    if (rc == JOBS_ENOTFOUND)
        return 0;
    if (rc)
        return rc;
    if (v.mv_size != sizeof(*n))
        return jobs__error(JOBS_ECORRUPT, "a run count is corrupt");
    memcpy(n, v.mv_data, sizeof(*n));
    return 0;
}

static int count_add(MDB_txn *txn, jobs__lmdb *s, const unsigned char *key, size_t klen,
                     int delta)
{
    uint64_t n;
    int rc = count_get(txn, s, key, klen, &n);

    if (rc)
        return rc;
    if (delta < 0 && n == 0)
        return jobs__error(JOBS_ECORRUPT, "a run count would go below zero");
    n += (uint64_t)(int64_t)delta;
    if (n == 0)
        return jobs__del(txn, s->run_index, key, klen);
    return jobs__put(txn, s->run_index, key, klen, &n, sizeof(n), 0);
}

/* The queue time of a run, or false when it is not queued. */
static bool queued_at(const jobs__run_rec *r, int64_t *t)
{
    if (r->state == JOBS_RUN_PENDING)
        *t = r->created;
    else if (r->state == JOBS_RUN_RUNNING)
        *t = r->lease_until;
    else
        return false;
    return true;
}

static int queue_set(MDB_txn *txn, jobs__lmdb *s, int64_t t, uint64_t id, bool add)
{
    unsigned char key[17];
    int rc;

    key[0] = 'q';
    jobs__key2(key + 1, jobs__time_key(t), id);
    if (add)
        return jobs__put(txn, s->run_index, key, sizeof(key), "", 0, 0);
    rc = jobs__del(txn, s->run_index, key, sizeof(key));
    if (rc == JOBS_ENOTFOUND)
        return jobs__error(JOBS_ECORRUPT, "run %llu's queue entry is missing",
                           (unsigned long long)id);
    return rc;
}

/* A run's entry in the list whose prefix is key[0..plen) (add or remove), and the list's count. */
static int list_set(MDB_txn *txn, jobs__lmdb *s, unsigned char *key, size_t plen, uint64_t id,
                    bool add)
{
    int rc;

    jobs__be64_put(key + plen, id);
    rc = add ? jobs__put(txn, s->run_index, key, plen + 8, "", 0, 0)
             : jobs__del(txn, s->run_index, key, plen + 8);
    return rc ? rc : count_add(txn, s, key, plen, add ? 1 : -1);
}

/* The entries of a run in its two lists: its history and its owner's runs of the stack. */
static int lists_set(MDB_txn *txn, jobs__lmdb *s, uint64_t id, const jobs__run_rec *r, bool add)
{
    unsigned char key[25];
    int rc = list_set(txn, s, key, history_key(key, r), id, add);

    if (!rc)
        rc = list_set(txn, s, key, list_key(key, JOBS__RUNS_OF_STACK, r->owner, r->stack), id,
                      add);
    if (rc == JOBS_ENOTFOUND)
        return jobs__error(JOBS_ECORRUPT, "an index entry of run %llu is missing",
                           (unsigned long long)id);
    return rc;
}

static int put_record(MDB_txn *txn, jobs__lmdb *s, uint64_t id, const jobs__run_rec *r,
                      unsigned int flags)
{
    unsigned char key[8], *buf = jobs__malloc(JOBS__RUN_RECORD_MAX);
    int rc;

    if (!buf)
        return jobs__error(JOBS_ENOMEM, "out of memory writing a run");
    jobs__be64_put(key, id);
    rc = jobs__put(txn, s->runs, key, sizeof(key), buf, jobs__run_encode(buf, r), flags);
    jobs__free(buf);
    return rc;
}

static int refuse_absent(jobs__lmdb *s)
{
    return s->no_runs ? jobs__error(JOBS_EREADONLY, "this store has no runs yet (it was written "
                                    "before them; open it read-write once)") : 0;
}

int jobs__lmdb_run_load(jobs__txn *t, uint64_t id, jobs__run_rec *rec)
{
    unsigned char key[8];
    MDB_val v;
    int rc;

    if (t->db->no_runs)
        return JOBS_ENOTFOUND;
    jobs__be64_put(key, id);
    if ((rc = jobs__get(t->txn, t->db->runs, key, sizeof(key), &v)))
        return rc;
    return jobs__run_decode(rec, v.mv_data, v.mv_size);
}

int jobs__lmdb_run_insert(jobs__txn *t, uint64_t id, const jobs__run_rec *rec)
{
    jobs__lmdb *s = t->db;
    int64_t at;
    int rc;

    if ((rc = refuse_absent(s)) || (rc = put_record(t->txn, s, id, rec, MDB_APPEND)) ||
        (rc = lists_set(t->txn, s, id, rec, true)))
        return rc;
    return queued_at(rec, &at) ? queue_set(t->txn, s, at, id, true) : 0;
}

int jobs__lmdb_run_update(jobs__txn *t, uint64_t id, const jobs__run_rec *old,
                          const jobs__run_rec *rec)
{
    jobs__lmdb *s = t->db;
    int64_t was = 0, now = 0;
    bool q_old = queued_at(old, &was), q_new = queued_at(rec, &now);
    int rc;

    if ((rc = refuse_absent(s)))
        return rc;
    /* The old entry goes first: `old` may point into the record about to be rewritten. */
    if (q_old && !(q_new && was == now) && (rc = queue_set(t->txn, s, was, id, false)))
        return rc;
    if (q_new && !(q_old && was == now) && (rc = queue_set(t->txn, s, now, id, true)))
        return rc;
    return put_record(t->txn, s, id, rec, 0);
}

int jobs__lmdb_run_remove(jobs__txn *t, uint64_t id, const jobs__run_rec *rec)
{
    jobs__lmdb *s = t->db;
    unsigned char key[8];
    int64_t at;
    int rc;

    if ((rc = refuse_absent(s)))
        return rc;
    if (queued_at(rec, &at) && (rc = queue_set(t->txn, s, at, id, false)))
        return rc;
    if ((rc = lists_set(t->txn, s, id, rec, false)))
        return rc;
    jobs__be64_put(key, id);
    rc = jobs__del(t->txn, s->runs, key, sizeof(key));
    return rc == JOBS_ENOTFOUND ? jobs__error(JOBS_ECORRUPT, "run %llu is missing",
                                              (unsigned long long)id)
                                : rc;
}

int jobs__lmdb_run_count(jobs__txn *t, jobs__run_by by, uint64_t owner, uint64_t id,
                         uint64_t *n)
{
    unsigned char key[17];
    size_t klen = list_key(key, by, owner, id);

    *n = 0;
    if (t->db->no_runs)
        return 0;
    return count_get(t->txn, t->db, key, klen, n);
}

int jobs__lmdb_run_page(jobs__txn *t, jobs__run_by by, uint64_t owner, uint64_t id,
                        bool oldest_first, uint64_t skip, size_t max, uint64_t *ids, size_t *n)
{
    unsigned char key[25];
    size_t plen = list_key(key, by, owner, id);
    MDB_cursor *cur;
    MDB_val k, v;
    int rc;

    *n = 0;
    if (t->db->no_runs || max == 0)
        return 0;
    if ((rc = mdb_cursor_open(t->txn, t->db->run_index, &cur)))
        return jobs__mdb_error(rc, "run list");
    /* Oldest first: from (prefix, 0). Newest first: the last key of the prefix, found by
     * seeking past it (prefix, 2^64-1 + 1 does not exist, so seek to prefix + all-ones and
     * step back when that lands beyond). */
    jobs__be64_put(key + plen, oldest_first ? 0 : UINT64_MAX);
    k.mv_size = plen + 8;
    k.mv_data = key;
    rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    if (!oldest_first) {
        if (rc == MDB_NOTFOUND)
            rc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
        else if (rc == 0 && !(k.mv_size == plen + 8 && memcmp(k.mv_data, key, plen + 8) == 0))
            rc = mdb_cursor_get(cur, &k, &v, MDB_PREV);
    }
    while (rc == 0 && *n < max) {
        if (k.mv_size != plen + 8 || memcmp(k.mv_data, key, plen) != 0)
            break;
        if (skip > 0)
            skip--;
        else
            ids[(*n)++] = jobs__be64_get((const unsigned char *)k.mv_data + plen);
        rc = mdb_cursor_get(cur, &k, &v, oldest_first ? MDB_NEXT : MDB_PREV);
    }
    mdb_cursor_close(cur);
    return rc && rc != MDB_NOTFOUND ? jobs__mdb_error(rc, "run list") : 0;
}

int jobs__lmdb_run_due_scan(jobs__txn *t, int64_t now, size_t limit, jobs__due_fn fn, void *ctx)
{
    unsigned char start[1] = {'q'};
    MDB_cursor *cur;
    MDB_val k = {1, start}, v;
    size_t n = 0;
    int rc, frc = 0;

    if (t->db->no_runs)
        return 0;
    if ((rc = mdb_cursor_open(t->txn, t->db->run_index, &cur)))
        return jobs__mdb_error(rc, "run queue");
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        const unsigned char *p = k.mv_data;
        int64_t at;

        if (k.mv_size < 1 || p[0] != 'q')
            break;
        if (k.mv_size != 17) {
            mdb_cursor_close(cur);
            return jobs__error(JOBS_ECORRUPT, "a run queue key is corrupt");
        }
        at = jobs__time_unkey(jobs__be64_get(p + 1));
        if (at > now || (limit && n == limit))
            break;
        if ((frc = fn(ctx, jobs__be64_get(p + 9), at)))
            break;
        n++;
    }
    mdb_cursor_close(cur);
    if (frc)
        return frc;
    return rc && rc != MDB_NOTFOUND ? jobs__mdb_error(rc, "run queue") : 0;
}

/* ---- the migration to schema 4 ------------------------------------------------------------ */

/* A stack's runs without a job, kept by schema 3 in one history per stack ('h' 2^63 | stack,
 * whoever made them), move to their owners' histories ('d' owner stack): each entry is
 * written under its run's owner with the count, and the old entries and counts go. In the
 * caller's transaction (the open's, with the version change). */
int jobs__lmdb_run_migrate_direct(MDB_txn *txn, jobs__lmdb *s)
{
    static const unsigned char first[9] = {'h', 0x80};
    MDB_cursor *cur;
    MDB_val k, v;
    int rc = 0, mrc;

    if (s->no_runs)
        return 0;
    if ((mrc = mdb_cursor_open(txn, s->run_index, &cur)))
        return jobs__mdb_error(mrc, "migrating to schema 4");
    /* From the first such key each time: the writes below move the cursor's pages. */
    for (;;) {
        const unsigned char *p;
        unsigned char key[25];
        jobs__run_rec r;
        MDB_val rv;

        k.mv_size = sizeof(first);
        k.mv_data = (void *)first;
        if ((mrc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE)))
            break;
        p = k.mv_data;
        if (k.mv_size < 9 || p[0] != 'h')
            break;
        if (k.mv_size == 17) {
            uint64_t id = jobs__be64_get(p + 9), series = jobs__be64_get(p + 1);

            memcpy(key, p + 9, 8);
            if ((rc = jobs__get(txn, s->runs, key, 8, &rv)) == 0 &&
                (rc = jobs__run_decode(&r, rv.mv_data, rv.mv_size)) == 0 &&
                (r.job || (r.stack | (UINT64_C(1) << 63)) != series))
                rc = JOBS_ENOTFOUND;
            if (rc == JOBS_ENOTFOUND)
                rc = jobs__error(JOBS_ECORRUPT, "migrating to schema 4: a stack's history "
                                 "names run %llu, which is not one of its runs",
                                 (unsigned long long)id);
            if (rc || (rc = list_set(txn, s, key,
                                     list_key(key, JOBS__RUNS_DIRECT, r.owner, r.stack), id,
                                     true)))
                break;
            /* The put may have moved the cursor: find the entry again. */
            k.mv_size = sizeof(first);
            k.mv_data = (void *)first;
            if ((mrc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE)))
                break;
        } else if (k.mv_size != 9) {
            rc = jobs__error(JOBS_ECORRUPT, "migrating to schema 4: a run history key is "
                             "malformed");
            break;
        }
        if ((mrc = mdb_cursor_del(cur, 0)))
            break;
    }
    mdb_cursor_close(cur);
    if (rc)
        return rc;
    return mrc == 0 || mrc == MDB_NOTFOUND ? 0 : jobs__mdb_error(mrc, "migrating to schema 4");
}

/* ---- statistics and the check ------------------------------------------------------------ */

int jobs__lmdb_run_stat(MDB_txn *txn, jobs__lmdb *s, uint64_t *runs, uint64_t *queued)
{
    MDB_stat st;
    MDB_cursor *cur;
    MDB_val k, v;
    unsigned char q = 'q';
    int rc;

    *runs = *queued = 0;
    if (s->no_runs)
        return 0;
    if ((rc = mdb_stat(txn, s->runs, &st)))
        return jobs__mdb_error(rc, "store statistics");
    *runs = st.ms_entries;
    if ((rc = mdb_cursor_open(txn, s->run_index, &cur)))
        return jobs__mdb_error(rc, "store statistics");
    k.mv_size = 1;
    k.mv_data = &q;
    /* The queue is short (pending and running runs): counted by walking it. */
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
         rc == 0 && ((const unsigned char *)k.mv_data)[0] == 'q';
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT))
        (*queued)++;
    mdb_cursor_close(cur);
    return rc && rc != MDB_NOTFOUND ? jobs__mdb_error(rc, "store statistics") : 0;
}

#define CORRUPT(...) jobs__error(JOBS_ECORRUPT, __VA_ARGS__)
/* A corruption found while the first walk's cursor is open: it is closed on the way out. */
#define FAIL(...)                          \
    do {                                   \
        rc = CORRUPT(__VA_ARGS__);         \
        goto first_out;                    \
    } while (0)
#define U(x) ((unsigned long long)(x))

static int has(MDB_txn *txn, jobs__lmdb *s, const unsigned char *key, size_t klen)
{
    MDB_val v;

    return jobs__get(txn, s->run_index, key, klen, &v);
}

/* Every run decodes, is below the id counter, belongs to a job that exists (with its owner and
 * stack) and has exactly its entries; every entry names a run that has it; every count agrees. */
int jobs__lmdb_run_check(MDB_txn *txn, jobs__lmdb *s, uint64_t next_run)
{
    MDB_cursor *cur = NULL;
    MDB_val k, v;
    uint64_t runs = 0, entries = 0;
    int rc = 0, mrc;

    if (s->no_runs)
        return 0;
    if ((mrc = mdb_cursor_open(txn, s->runs, &cur)))
        return jobs__mdb_error(mrc, "check");
    for (mrc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); mrc == 0 && !rc;
         mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        unsigned char key[25], jkey[8];
        uint64_t id = k.mv_size == 8 ? jobs__be64_get(k.mv_data) : 0;
        size_t plen;
        jobs__run_rec r;
        jobs__job_rec j;
        MDB_val jv;
        int64_t at;

        if (k.mv_size != 8 || jobs__run_decode(&r, v.mv_data, v.mv_size))
            FAIL("check: run %llu does not decode", U(id));
        if (id == 0 || id >= next_run)
            FAIL("check: run %llu is not below the id counter (%llu)", U(id),
                           U(next_run));
        runs++;
        if (r.job) {
            jobs__be64_put(jkey, r.job);
            rc = jobs__get(txn, s->jobs, jkey, 8, &jv);
            if (rc == 0)
                rc = jobs__job_decode(&j, jv.mv_data, jv.mv_size);
            if (rc == JOBS_ENOTFOUND || (rc == 0 && j.owner != r.owner))
                FAIL("check: run %llu belongs to job %llu, which is missing or "
                               "another owner's", U(id), U(r.job));
            if (rc)
                goto first_out;
        }
        plen = history_key(key, &r);
        jobs__be64_put(key + plen, id);
        if ((rc = has(txn, s, key, plen + 8)) == JOBS_ENOTFOUND)
            FAIL("check: run %llu has no history entry", U(id));
        plen = list_key(key, JOBS__RUNS_OF_STACK, r.owner, r.stack);
        jobs__be64_put(key + plen, id);
        if (!rc && (rc = has(txn, s, key, plen + 8)) == JOBS_ENOTFOUND)
            FAIL("check: run %llu has no stack entry", U(id));
        entries += 2;
        if (!rc && queued_at(&r, &at)) {
            key[0] = 'q';
            jobs__key2(key + 1, jobs__time_key(at), id);
            if ((rc = has(txn, s, key, 17)) == JOBS_ENOTFOUND)
                FAIL("check: run %llu is %s but not queued", U(id),
                               jobs_run_state_name(r.state));
            entries++;
        }
    }
first_out:
    mdb_cursor_close(cur);
    cur = NULL;
    if (rc)
        return rc;
    if (mrc != MDB_NOTFOUND)
        return jobs__mdb_error(mrc, "check");

    /* The other way: every entry names a run, and the counts are the entries' numbers. */
    if ((mrc = mdb_cursor_open(txn, s->run_index, &cur)))
        return jobs__mdb_error(mrc, "check");
    {
        unsigned char last[17] = {0};
        size_t last_len = 0;
        uint64_t in_list = 0;

        for (mrc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); mrc == 0 && !rc;
             mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
            const unsigned char *p = k.mv_data;
            unsigned char rkey[8];
            MDB_val rv;
            size_t plen;

            if (k.mv_size == 0)
                rc = CORRUPT("check: an empty run index key");
            else if ((p[0] == 'h' && k.mv_size == 9) ||
                     ((p[0] == 'd' || p[0] == 's') && k.mv_size == 17)) {
                uint64_t n;

                if (v.mv_size != 8) {
                    rc = CORRUPT("check: a run count is malformed");
                    break;
                }
                memcpy(&n, v.mv_data, 8);
                /* The list of this count, counted. */
                {
                    MDB_cursor *c2;
                    MDB_val k2 = {k.mv_size, (void *)p}, v2;
                    uint64_t got = 0;
                    int r2;

                    if ((r2 = mdb_cursor_open(txn, s->run_index, &c2))) {
                        rc = jobs__mdb_error(r2, "check");
                        break;
                    }
                    /* From the count itself, which sorts just before its list. */
                    r2 = mdb_cursor_get(c2, &k2, &v2, MDB_SET_KEY);
                    if (r2 == 0)
                        r2 = mdb_cursor_get(c2, &k2, &v2, MDB_NEXT);
                    for (; r2 == 0 && k2.mv_size == k.mv_size + 8 &&
                           memcmp(k2.mv_data, p, k.mv_size) == 0;
                         r2 = mdb_cursor_get(c2, &k2, &v2, MDB_NEXT))
                        got++;
                    mdb_cursor_close(c2);
                    if (got != n || n == 0)
                        rc = CORRUPT("check: a run count says %llu, its list holds %llu", U(n),
                                     U(got));
                }
                continue;
            } else if (p[0] == 'd' || p[0] == 'h' || p[0] == 'q' || p[0] == 's') {
                plen = p[0] == 'd' || p[0] == 's' ? 17 : 9;
                if (k.mv_size != plen + 8) {
                    rc = CORRUPT("check: a run index key is malformed");
                    break;
                }
                memcpy(rkey, p + plen, 8);
                if ((rc = jobs__get(txn, s->runs, rkey, 8, &rv)) == JOBS_ENOTFOUND)
                    rc = CORRUPT("check: a run index entry names missing run %llu",
                                 U(jobs__be64_get(rkey)));
                in_list++;
                if (p[0] != 'q') {
                    /* Each list has its count (checked above when the count came first). */
                    if (last_len != plen || memcmp(last, p, plen) != 0) {
                        uint64_t n;

                        if (!rc && ((rc = count_get(txn, s, p, plen, &n)) == 0 && n == 0))
                            rc = CORRUPT("check: a run list has no count");
                        memcpy(last, p, plen);
                        last_len = plen;
                    }
                }
            } else {
                rc = CORRUPT("check: a run index key has an unknown tag");
            }
        }
        mdb_cursor_close(cur);
        if (rc)
            return rc;
        if (mrc != MDB_NOTFOUND)
            return jobs__mdb_error(mrc, "check");
        if (in_list != entries)
            return CORRUPT("check: %llu run index entries for %llu runs (%llu expected)",
                           U(in_list), U(runs), U(entries));
    }
    return 0;
}
