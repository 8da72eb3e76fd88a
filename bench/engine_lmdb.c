/* The raw LMDB engine: the floor for this store. Same keys (8-byte big-endian ids, owner+id and
 * owner+name index keys, next_run+id due keys) and the same record bytes as libjobs
 * (docs/storage.md, record format version 1), written and read with direct mdb_get/mdb_put.
 * Reads renew and reset one read transaction per operation, as libjobs does per call. */
#include <errno.h>
#include <inttypes.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bench.h"

/* Largest record: version, flags, four 10-byte varints, a length and the name. */
#define RAW_RECORD_MAX (2 + 4 * 10 + 2 + BENCH_NAME_MAX)

typedef struct raw {
    char path[4096];
    MDB_env *env;
    MDB_dbi jobs, owner, name, due, counts;
    MDB_txn *read; /* reset between operations */
    bench_params params;
} raw;

typedef struct raw_rec {
    uint64_t owner, stack, schedule;
    int64_t next_run;
    bool do_run;
    const char *name;
    size_t name_len;
} raw_rec;

static BENCH_NORETURN void raw_fail(const char *what, int rc)
{
    bench_fail("LMDB: %s: %s", what, mdb_strerror(rc));
}

static void be64_put(unsigned char *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        p[i] = (unsigned char)(v & 0xff);
        v >>= 8;
    }
}

static uint64_t be64_get(const unsigned char *p)
{
    uint64_t v = 0;

    for (int i = 0; i < 8; i++)
        v = (v << 8) | p[i];
    return v;
}

static void key2(unsigned char key[16], uint64_t a, uint64_t b)
{
    be64_put(key, a);
    be64_put(key + 8, b);
}

static uint64_t time_key(int64_t t)
{
    return (uint64_t)t ^ (UINT64_C(1) << 63);
}

/* ---- record bytes, as libjobs writes them ---------------------------------------------- */

static unsigned char *put_varint(unsigned char *p, uint64_t v)
{
    while (v >= 0x80) {
        *p++ = (unsigned char)(v | 0x80);
        v >>= 7;
    }
    *p++ = (unsigned char)v;
    return p;
}

static size_t raw_encode(unsigned char *buf, const raw_rec *r)
{
    unsigned char *p = buf;

    *p++ = 1;
    *p++ = (unsigned char)((r->do_run ? 1u : 0u) | (r->name ? 4u : 0u));
    p = put_varint(p, r->owner);
    p = put_varint(p, r->stack);
    p = put_varint(p, r->schedule);
    if (r->do_run)
        p = put_varint(p, ((uint64_t)r->next_run << 1) ^ (uint64_t)(r->next_run >> 63));
    if (r->name) {
        p = put_varint(p, r->name_len);
        memcpy(p, r->name, r->name_len);
        p += r->name_len;
    }
    return (size_t)(p - buf);
}

static bool get_varint(const unsigned char **p, const unsigned char *end, uint64_t *v)
{
    *v = 0;
    for (unsigned shift = 0; shift < 64 && *p < end; shift += 7) {
        unsigned char b = *(*p)++;

        *v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            return true;
    }
    return false;
}

static bool raw_decode(raw_rec *r, const MDB_val *v)
{
    const unsigned char *p = v->mv_data, *end = p + v->mv_size;
    uint64_t x, len;

    if (v->mv_size < 2 || p[0] != 1)
        return false;
    r->do_run = p[1] & 1;
    p += 2;
    if (!get_varint(&p, end, &r->owner) || !get_varint(&p, end, &r->stack) ||
        !get_varint(&p, end, &r->schedule))
        return false;
    r->next_run = 0;
    if (r->do_run) {
        if (!get_varint(&p, end, &x))
            return false;
        r->next_run = (int64_t)(x >> 1) ^ -(int64_t)(x & 1);
    }
    r->name = NULL;
    r->name_len = 0;
    if (((const unsigned char *)v->mv_data)[1] & 4) {
        if (!get_varint(&p, end, &len) || len > (uint64_t)(end - p))
            return false;
        r->name = (const char *)p;
        r->name_len = (size_t)len;
        p += len;
    }
    return p == end;
}

static size_t job_record(unsigned char *buf, const bench_params *params, const bench_job *j)
{
    raw_rec r = {j->owner, params->stack, params->schedule, j->enabled ? j->next_run : 0,
                 j->enabled, j->name, j->name_len};

    return raw_encode(buf, &r);
}

size_t bench_record_size(const bench_params *params, const bench_job *job)
{
    unsigned char buf[RAW_RECORD_MAX];

    return job_record(buf, params, job);
}

/* ---- environment ------------------------------------------------------------------------ */

static void put(MDB_txn *txn, MDB_dbi dbi, const void *key, size_t klen, const void *val,
                size_t vlen)
{
    MDB_val k = {klen, (void *)key}, v = {vlen, (void *)val};
    int rc = mdb_put(txn, dbi, &k, &v, 0);

    if (rc)
        raw_fail("mdb_put", rc);
}

static void commit(MDB_txn *txn)
{
    int rc = mdb_txn_commit(txn);

    if (rc)
        raw_fail("mdb_txn_commit", rc);
}

static MDB_txn *begin_write(raw *e)
{
    MDB_txn *txn;
    int rc = mdb_txn_begin(e->env, NULL, 0, &txn);

    if (rc)
        raw_fail("mdb_txn_begin", rc);
    return txn;
}

static void *raw_open(const char *dir, const bench_params *params)
{
    raw *e = bench_malloc(sizeof(*e));
    MDB_txn *txn;
    int rc;

    memset(e, 0, sizeof(*e));
    e->params = *params;
    bench_path(e->path, sizeof(e->path), dir, "lmdb");
    if (mkdir(e->path, 0700) != 0)
        bench_fail("LMDB: cannot create '%s': %s", e->path, strerror(errno));
    if ((rc = mdb_env_create(&e->env)) || (rc = mdb_env_set_maxdbs(e->env, 8)) ||
        (rc = mdb_env_set_mapsize(e->env, (size_t)16 << 30)) ||
        (rc = mdb_env_open(e->env, e->path, MDB_NOTLS | MDB_NOSYNC, 0600)))
        raw_fail("opening the environment", rc);
    txn = begin_write(e);
    if ((rc = mdb_dbi_open(txn, "jobs", MDB_CREATE, &e->jobs)) ||
        (rc = mdb_dbi_open(txn, "job_owner", MDB_CREATE, &e->owner)) ||
        (rc = mdb_dbi_open(txn, "job_name", MDB_CREATE, &e->name)) ||
        (rc = mdb_dbi_open(txn, "job_due", MDB_CREATE, &e->due)) ||
        (rc = mdb_dbi_open(txn, "counts", MDB_CREATE, &e->counts)))
        raw_fail("mdb_dbi_open", rc);
    commit(txn);
    if ((rc = mdb_txn_begin(e->env, NULL, MDB_RDONLY, &e->read)))
        raw_fail("mdb_txn_begin (read)", rc);
    mdb_txn_reset(e->read);
    return e;
}

static void raw_close(void *arg)
{
    raw *e = arg;

    mdb_txn_abort(e->read);
    mdb_env_close(e->env);
    free(e);
}

static void raw_set_durable(void *arg, bool durable)
{
    raw *e = arg;
    int rc;

    if (durable && (rc = mdb_env_sync(e->env, 1)))
        raw_fail("mdb_env_sync", rc);
    if ((rc = mdb_env_set_flags(e->env, MDB_NOSYNC, durable ? 0 : 1)))
        raw_fail("mdb_env_set_flags", rc);
}

static void count_add(MDB_txn *txn, raw *e, uint64_t owner, uint64_t delta)
{
    unsigned char key[8];
    MDB_val k = {sizeof(key), key}, v;
    uint64_t n = 0;
    int rc;

    be64_put(key, owner);
    rc = mdb_get(txn, e->counts, &k, &v);
    if (rc == 0 && v.mv_size == sizeof(n))
        memcpy(&n, v.mv_data, sizeof(n));
    else if (rc != MDB_NOTFOUND)
        raw_fail("reading a count", rc ? rc : MDB_CORRUPTED);
    n += delta;
    put(txn, e->counts, key, sizeof(key), &n, sizeof(n));
}

static void raw_load(void *arg, const bench_job *jobs, size_t n)
{
    raw *e = arg;
    MDB_txn *txn = begin_write(e);
    uint64_t last_owner = 0, run = 0;

    for (size_t i = 0; i < n; i++) {
        const bench_job *j = &jobs[i];
        unsigned char rec[RAW_RECORD_MAX], key[8 + BENCH_NAME_MAX], val[8];
        size_t len = job_record(rec, &e->params, j);

        be64_put(key, j->id);
        put(txn, e->jobs, key, 8, rec, len);
        key2(key, j->owner, j->id);
        put(txn, e->owner, key, 16, "", 0);
        be64_put(key, j->owner);
        memcpy(key + 8, j->name, j->name_len);
        be64_put(val, j->id);
        put(txn, e->name, key, 8 + j->name_len, val, 8);
        if (j->enabled) {
            key2(key, time_key(j->next_run), j->id);
            put(txn, e->due, key, 16, "", 0);
        }
        if (j->owner != last_owner && run) {
            count_add(txn, e, last_owner, run);
            run = 0;
        }
        last_owner = j->owner;
        run++;
    }
    if (run)
        count_add(txn, e, last_owner, run);
    commit(txn);
}

static void begin_read(raw *e)
{
    int rc = mdb_txn_renew(e->read);

    if (rc)
        raw_fail("mdb_txn_renew", rc);
}

/* Gets and checks job `want` in the read transaction. */
static void check_job(raw *e, const bench_job *want, const char *what)
{
    unsigned char key[8];
    MDB_val k = {sizeof(key), key}, v;
    raw_rec r;
    int rc;

    be64_put(key, want->id);
    if ((rc = mdb_get(e->read, e->jobs, &k, &v)))
        raw_fail(what, rc);
    if (!raw_decode(&r, &v) || r.owner != want->owner || r.name_len != want->name_len ||
        memcmp(r.name, want->name, r.name_len) != 0)
        bench_fail("LMDB: %s %" PRIu64 " answered a wrong record", what, want->id);
}

static void raw_get_by_id(void *arg, const bench_job *keys, size_t nkeys, size_t start,
                          size_t count)
{
    raw *e = arg;

    for (size_t i = 0; i < count; i++) {
        begin_read(e);
        check_job(e, &keys[(start + i) % nkeys], "get by id");
        mdb_txn_reset(e->read);
    }
}

static void raw_get_by_name(void *arg, const bench_job *keys, size_t nkeys, size_t start,
                            size_t count)
{
    raw *e = arg;

    for (size_t i = 0; i < count; i++) {
        const bench_job *want = &keys[(start + i) % nkeys];
        unsigned char key[8 + BENCH_NAME_MAX];
        MDB_val k = {8 + want->name_len, key}, v;
        int rc;

        be64_put(key, want->owner);
        memcpy(key + 8, want->name, want->name_len);
        begin_read(e);
        if ((rc = mdb_get(e->read, e->name, &k, &v)))
            raw_fail("get by name", rc);
        if (v.mv_size != 8 || be64_get(v.mv_data) != want->id)
            bench_fail("LMDB: name '%s' maps to a wrong id", want->name);
        check_job(e, want, "get by name");
        mdb_txn_reset(e->read);
    }
}

static void raw_list(void *arg, const bench_page *pages, size_t npages, size_t start,
                     size_t count)
{
    raw *e = arg;

    for (size_t i = 0; i < count; i++) {
        const bench_page *want = &pages[(start + i) % npages];
        unsigned char key[16];
        MDB_val k = {8, key}, v;
        MDB_cursor *cur;
        uint64_t n = 0, skip = (want->page - 1) * BENCH_PAGE_SIZE, ids[BENCH_PAGE_SIZE];
        size_t got = 0;
        int rc;

        begin_read(e);
        be64_put(key, want->owner);
        rc = mdb_get(e->read, e->counts, &k, &v);
        if (rc == 0 && v.mv_size == sizeof(n))
            memcpy(&n, v.mv_data, sizeof(n));
        else if (rc != MDB_NOTFOUND)
            raw_fail("reading a count", rc ? rc : MDB_CORRUPTED);
        if ((rc = mdb_cursor_open(e->read, e->owner, &cur)))
            raw_fail("mdb_cursor_open", rc);
        key2(key, want->owner, 0);
        k.mv_size = 16;
        k.mv_data = key;
        for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0 && got < BENCH_PAGE_SIZE;
             rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
            if (be64_get(k.mv_data) != want->owner)
                break;
            if (skip > 0)
                skip--;
            else
                ids[got++] = be64_get((const unsigned char *)k.mv_data + 8);
        }
        if (rc && rc != MDB_NOTFOUND)
            raw_fail("walking the owner index", rc);
        mdb_cursor_close(cur);
        if (n != want->count || got != want->n)
            bench_fail("LMDB: page %" PRIu64 " of owner %" PRIu64 " has %zu of %" PRIu64
                       " jobs, expected %zu of %" PRIu64, want->page, want->owner, got, n,
                       want->n, want->count);
        for (size_t j = 0; j < got; j++) {
            unsigned char idkey[8];
            MDB_val ik = {8, idkey};
            raw_rec r;

            if (ids[j] != want->ids[j])
                bench_fail("LMDB: page %" PRIu64 " of owner %" PRIu64 " holds job %" PRIu64
                           " at %zu, expected %" PRIu64, want->page, want->owner, ids[j], j,
                           want->ids[j]);
            be64_put(idkey, ids[j]);
            if ((rc = mdb_get(e->read, e->jobs, &ik, &v)))
                raw_fail("loading a listed job", rc);
            if (!raw_decode(&r, &v) || r.owner != want->owner)
                bench_fail("LMDB: listed job %" PRIu64 " has a wrong record", ids[j]);
        }
        mdb_txn_reset(e->read);
    }
}

/* The durable writes: a single put (or delete) and a commit each, the floor of a write. */
static void raw_create(void *arg, const bench_job *jobs, size_t n)
{
    raw *e = arg;

    for (size_t i = 0; i < n; i++) {
        unsigned char rec[RAW_RECORD_MAX], key[8];
        MDB_txn *txn = begin_write(e);
        MDB_val k = {8, key}, v = {job_record(rec, &e->params, &jobs[i]), rec};
        int rc;

        be64_put(key, jobs[i].id);
        if ((rc = mdb_put(txn, e->jobs, &k, &v, MDB_NOOVERWRITE)))
            raw_fail("creating a job", rc);
        commit(txn);
    }
}

static void raw_update(void *arg, const bench_job *jobs, size_t n)
{
    raw *e = arg;

    for (size_t i = 0; i < n; i++) {
        unsigned char rec[RAW_RECORD_MAX], key[8];
        MDB_txn *txn = begin_write(e);

        be64_put(key, jobs[i].id);
        put(txn, e->jobs, key, 8, rec, job_record(rec, &e->params, &jobs[i]));
        commit(txn);
    }
}

static void raw_remove(void *arg, const bench_job *jobs, size_t n)
{
    raw *e = arg;

    for (size_t i = 0; i < n; i++) {
        unsigned char key[8];
        MDB_val k = {8, key};
        MDB_txn *txn = begin_write(e);
        int rc;

        be64_put(key, jobs[i].id);
        if ((rc = mdb_del(txn, e->jobs, &k, NULL)))
            raw_fail("deleting a job", rc);
        commit(txn);
    }
}

static bool raw_exists(void *arg, const bench_job *job)
{
    raw *e = arg;
    unsigned char key[8];
    MDB_val k = {8, key}, v;
    raw_rec r;
    int rc;

    be64_put(key, job->id);
    begin_read(e);
    rc = mdb_get(e->read, e->jobs, &k, &v);
    if (rc && rc != MDB_NOTFOUND)
        raw_fail("get by id", rc);
    if (rc == 0 && (!raw_decode(&r, &v) || r.owner != job->owner))
        rc = MDB_NOTFOUND;
    mdb_txn_reset(e->read);
    return rc == 0;
}

typedef struct raw_due {
    uint64_t id;
    int64_t slot;
} raw_due;

static void raw_tick(void *arg, int64_t now0, int64_t step, size_t ticks, size_t due)
{
    raw *e = arg;
    raw_due *taken = bench_malloc((due + 1) * sizeof(*taken));

    for (size_t t = 1; t <= ticks; t++) {
        int64_t now = now0 + (int64_t)t * step;
        MDB_txn *txn = begin_write(e);
        MDB_cursor *cur;
        MDB_val k, v;
        size_t n = 0;
        int rc;

        /* Take the due jobs from the front of the due index (one more than expected, to see
         * a wrong count), then move each on by a period. */
        if ((rc = mdb_cursor_open(txn, e->due, &cur)))
            raw_fail("mdb_cursor_open", rc);
        for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0 && n <= due;
             rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
            int64_t slot = (int64_t)(be64_get(k.mv_data) ^ (UINT64_C(1) << 63));

            if (slot > now)
                break;
            taken[n].slot = slot;
            taken[n].id = be64_get((const unsigned char *)k.mv_data + 8);
            n++;
        }
        if (rc && rc != MDB_NOTFOUND)
            raw_fail("walking the due index", rc);
        mdb_cursor_close(cur);
        if (n != due)
            bench_fail("LMDB: tick at %" PRId64 " found %s%zu due jobs, expected %zu", now,
                       n > due ? "more than " : "", n > due ? due : n, due);
        for (size_t i = 0; i < n; i++) {
            unsigned char key[16], rec[RAW_RECORD_MAX];
            MDB_val ik = {8, key};
            raw_rec r;

            if (taken[i].slot <= now - step)
                bench_fail("LMDB: tick at %" PRId64 " found job %" PRIu64 " due since %" PRId64,
                           now, taken[i].id, taken[i].slot);
            be64_put(key, taken[i].id);
            if ((rc = mdb_get(txn, e->jobs, &ik, &v)))
                raw_fail("loading a due job", rc);
            if (!raw_decode(&r, &v) || !r.do_run || r.next_run != taken[i].slot)
                bench_fail("LMDB: due job %" PRIu64 " has a wrong record", taken[i].id);
            /* r.name points into the map; encode into rec before any write moves it. */
            r.next_run = bench_next_slot(r.next_run, e->params.period, now);
            put(txn, e->jobs, key, 8, rec, raw_encode(rec, &r));
            key2(key, time_key(taken[i].slot), taken[i].id);
            ik.mv_size = 16;
            if ((rc = mdb_del(txn, e->due, &ik, NULL)))
                raw_fail("deleting a due entry", rc);
            key2(key, time_key(r.next_run), taken[i].id);
            put(txn, e->due, key, 16, "", 0);
        }
        commit(txn);
    }
    free(taken);
}

static uint64_t raw_count(void *arg)
{
    raw *e = arg;
    MDB_stat st;
    int rc;

    begin_read(e);
    rc = mdb_stat(e->read, e->jobs, &st);
    mdb_txn_reset(e->read);
    if (rc)
        raw_fail("mdb_stat", rc);
    return st.ms_entries;
}

static uint64_t raw_disk_bytes(void *arg)
{
    raw *e = arg;
    char path[4200];

    bench_path(path, sizeof(path), e->path, "data.mdb");
    return bench_file_size(path);
}

uint64_t bench_lmdb_live_bytes(MDB_env *env)
{
    MDB_txn *txn;
    MDB_cursor *cur;
    MDB_dbi main;
    MDB_val k, v;
    MDB_stat st;
    uint64_t pages = 2; /* the two meta pages */
    int rc;

    if ((rc = mdb_txn_begin(env, NULL, MDB_RDONLY, &txn)) ||
        (rc = mdb_dbi_open(txn, NULL, 0, &main)) || (rc = mdb_stat(txn, main, &st)))
        raw_fail("reading the main database", rc);
    pages += st.ms_branch_pages + st.ms_leaf_pages + st.ms_overflow_pages;
    if ((rc = mdb_cursor_open(txn, main, &cur)))
        raw_fail("mdb_cursor_open", rc);
    /* Every key of the main database names a database. */
    while ((rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) == 0) {
        char name[64];
        MDB_dbi dbi;

        if (k.mv_size >= sizeof(name))
            bench_fail("LMDB: a database name is too long");
        memcpy(name, k.mv_data, k.mv_size);
        name[k.mv_size] = '\0';
        if ((rc = mdb_dbi_open(txn, name, 0, &dbi)) || (rc = mdb_stat(txn, dbi, &st)))
            raw_fail(name, rc);
        pages += st.ms_branch_pages + st.ms_leaf_pages + st.ms_overflow_pages;
    }
    if (rc != MDB_NOTFOUND)
        raw_fail("walking the main database", rc);
    mdb_cursor_close(cur);
    /* Commit, not abort: an abort would close the handles this transaction opened. */
    if ((rc = mdb_txn_commit(txn)))
        raw_fail("mdb_txn_commit", rc);
    return pages * st.ms_psize;
}

static uint64_t raw_live_bytes(void *arg)
{
    return bench_lmdb_live_bytes(((raw *)arg)->env);
}

const bench_engine_ops bench_lmdb_ops = {
    .name = "LMDB",
    .writes_keep_indexes = false,
    .open = raw_open,
    .close = raw_close,
    .set_durable = raw_set_durable,
    .load = raw_load,
    .get_by_id = raw_get_by_id,
    .get_by_name = raw_get_by_name,
    .list = raw_list,
    .create = raw_create,
    .update = raw_update,
    .remove = raw_remove,
    .exists = raw_exists,
    .tick = raw_tick,
    .count = raw_count,
    .disk_bytes = raw_disk_bytes,
    .live_bytes = raw_live_bytes,
};
