/* The LMDB backend's environment: opening (read-write or read-only), the schema, transactions
 * (the read pool, map growth, group commit), statistics, keys and small helpers. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "env.h"
#include "rank.h"

#define DEFAULT_MAP_SIZE ((size_t)64 << 20)
#define MIN_MAP_SIZE ((size_t)64 << 10)
#define DEFAULT_MAX_READERS 256u
#define DEFAULT_PAGE_SIZE 10u
#define MAX_DBS 32
/* Operations per group commit: bounds a batch's transaction and its callers' wait. */
#define GROUP_COMMIT_MAX 256

/* The stores this process has open, by device and inode: LMDB's locks are per process, so a
 * second environment on the same files in one process would corrupt them. */
static pthread_mutex_t open_lock = PTHREAD_MUTEX_INITIALIZER;
static jobs__lmdb *open_stores;
static pthread_once_t open_fork_once = PTHREAD_ONCE_INIT;

/* A child of fork() holds none of its parent's stores: LMDB's locks are the parent's, and the
 * child may not use the parent's handles (docs/threading.md), so it opens the store anew, which
 * the parent's entries would refuse as "already open in this process". The lock is taken
 * around the fork so that the child never inherits it held by a thread it does not have. */
static void open_fork_prepare(void)
{
    pthread_mutex_lock(&open_lock);
}

static void open_fork_parent(void)
{
    pthread_mutex_unlock(&open_lock);
}

static void open_fork_child(void)
{
    open_stores = NULL;
    pthread_mutex_unlock(&open_lock);
}

static void open_fork_init(void)
{
    (void)pthread_atfork(open_fork_prepare, open_fork_parent, open_fork_child);
}

static void open_stores_lock(void)
{
    pthread_once(&open_fork_once, open_fork_init);
    pthread_mutex_lock(&open_lock);
}

/* The first LMDB failure of the op (or commit) running on this thread that leaves its
 * transaction unusable (every one but "not found" and "key exists"), as a JOBS_E* code (0:
 * none). The leader of a group commit runs every op on its own thread, so a thread-local is
 * the op's. A callback that ignores such a failure and returns 0 still fails, with it, instead
 * of committing a transaction LMDB has marked bad (which, nested, made the whole group commit
 * fail); and a write answering JOBS__EMAPFULL is run again after growing the map only when
 * LMDB's full map is what failed, since a callback may return any negative code of its host's
 * own, -1000 included. */
static _Thread_local int txn_failed;

/* jobs__mdb_error's conversion. */
static int mdb_code(int rc, const char *what)
{
    switch (rc) {
    case MDB_SUCCESS:
        return 0;
    case MDB_NOTFOUND:
        return jobs__error(JOBS_ENOTFOUND, "%s: not found", what);
    case MDB_MAP_FULL:
        return jobs__error(JOBS__EMAPFULL, "%s: the map is full", what);
    case MDB_READERS_FULL:
        return jobs__error(JOBS_EREADERS, "%s: all reader slots are in use (raise max_readers)",
                           what);
    case ENOMEM:
        return jobs__error(JOBS_ENOMEM, "%s: out of memory", what);
    case ENOSPC:
        return jobs__error(JOBS_ENOSPC, "%s: no space left on the device", what);
    case MDB_CORRUPTED:
    case MDB_PAGE_NOTFOUND:
    case MDB_INVALID:
    case MDB_VERSION_MISMATCH:
        return jobs__error(JOBS_ECORRUPT, "%s: %s", what, mdb_strerror(rc));
    default:
        return jobs__error(JOBS_EIO, "%s: %s", what, mdb_strerror(rc));
    }
}

int jobs__mdb_error(int rc, const char *what)
{
    int code = mdb_code(rc, what);

    if (rc != MDB_SUCCESS && rc != MDB_NOTFOUND && rc != MDB_KEYEXIST && !txn_failed)
        txn_failed = code;
    return code;
}

int jobs__get(MDB_txn *txn, MDB_dbi dbi, const void *key, size_t klen, MDB_val *val)
{
    MDB_val k = {klen, (void *)key};
    int rc = mdb_get(txn, dbi, &k, val);

    if (rc == MDB_NOTFOUND)
        return JOBS_ENOTFOUND; /* callers word their own detail */
    return rc ? jobs__mdb_error(rc, "read") : 0;
}

int jobs__put(MDB_txn *txn, MDB_dbi dbi, const void *key, size_t klen, const void *val,
              size_t vlen, unsigned int flags)
{
    MDB_val k = {klen, (void *)key}, v = {vlen, (void *)val};
    int rc = mdb_put(txn, dbi, &k, &v, flags);

    return rc ? jobs__mdb_error(rc, "write") : 0;
}

int jobs__del(MDB_txn *txn, MDB_dbi dbi, const void *key, size_t klen)
{
    MDB_val k = {klen, (void *)key};
    int rc = mdb_del(txn, dbi, &k, NULL);

    if (rc == MDB_NOTFOUND)
        return JOBS_ENOTFOUND;
    return rc ? jobs__mdb_error(rc, "delete") : 0;
}

static const char *const counter_keys[] = {[JOBS__JOB] = "next.job",
                                           [JOBS__SCHEDULE] = "next.schedule",
                                           [JOBS__STACK] = "next.stack",
                                           [JOBS__RUN] = "next.run"};

int jobs__lmdb_counter_get(MDB_txn *txn, jobs__lmdb *db, jobs__kind kind, uint64_t *next)
{
    const char *key = counter_keys[kind];
    MDB_val v;
    int rc = jobs__get(txn, db->meta, key, strlen(key), &v);

    *next = 1;
    if (rc == JOBS_ENOTFOUND)
        return 0;
    if (rc)
        return rc;
    if (v.mv_size != sizeof(*next))
        return jobs__error(JOBS_ECORRUPT, "the id counter '%s' is corrupt", key);
    memcpy(next, v.mv_data, sizeof(*next));
    return 0;
}

int jobs__lmdb_counter_put(MDB_txn *txn, jobs__lmdb *db, jobs__kind kind, uint64_t next)
{
    const char *key = counter_keys[kind];

    return jobs__put(txn, db->meta, key, strlen(key), &next, sizeof(next), 0);
}

/* The id of the last job (0 for none). */
static int last_job(MDB_txn *txn, jobs__lmdb *db, uint64_t *id)
{
    MDB_cursor *cur;
    MDB_val k, v;
    int rc = mdb_cursor_open(txn, db->jobs, &cur);

    *id = 0;
    if (rc)
        return jobs__mdb_error(rc, "the job id counter");
    rc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
    mdb_cursor_close(cur);
    if (rc == MDB_NOTFOUND)
        return 0;
    if (rc)
        return jobs__mdb_error(rc, "the job id counter");
    if (k.mv_size != 8)
        return jobs__error(JOBS_ECORRUPT, "a job key is corrupt");
    *id = jobs__be64_get(k.mv_data);
    return 0;
}

int jobs__lmdb_job_next(MDB_txn *txn, jobs__lmdb *db, uint64_t *next)
{
    uint64_t last;
    int rc;

    if ((rc = jobs__lmdb_counter_get(txn, db, JOBS__JOB, next)) ||
        (rc = last_job(txn, db, &last)))
        return rc;
    if (last >= *next)
        *next = last + 1;
    return 0;
}

int jobs__lmdb_job_gone(MDB_txn *txn, jobs__lmdb *db, uint64_t id)
{
    uint64_t next, last;
    int rc;

    if ((rc = last_job(txn, db, &last)) || last > id ||
        (rc = jobs__lmdb_counter_get(txn, db, JOBS__JOB, &next)) || next > id)
        return rc;
    return jobs__lmdb_counter_put(txn, db, JOBS__JOB, id + 1);
}

int jobs__lmdb_next_id(jobs__txn *t, jobs__kind kind, uint64_t *id)
{
    const char *key = counter_keys[kind];
    MDB_txn *txn = t->txn;
    uint64_t next = t->job_next;
    int rc = kind != JOBS__JOB ? jobs__lmdb_counter_get(txn, t->db, kind, &next)
             : next ? 0 : jobs__lmdb_job_next(txn, t->db, &next);

    if (rc)
        return rc;
    if (next == 0 || next > JOBS_ID_MAX)
        return jobs__error(JOBS_ERANGE, "all ids 1..2^53-1 of '%s' are used", key);
    *id = next++;
    /* A job's id is told by the last job (jobs__lmdb_job_next): no counter to write. */
    if (kind == JOBS__JOB) {
        t->job_next = next;
        return 0;
    }
    return jobs__lmdb_counter_put(txn, t->db, kind, next);
}

static void count_key(unsigned char key[10], jobs__kind kind, uint64_t owner)
{
    jobs__be64_put(key, owner);
    key[8] = JOBS__TAG_COUNT;
    key[9] = (unsigned char)kind;
}

int jobs__count_get(MDB_txn *txn, jobs__lmdb *s, jobs__kind kind, uint64_t owner, uint64_t *n)
{
    unsigned char key[10];
    MDB_val v;
    int rc;

    count_key(key, kind, owner);
    *n = 0;
    rc = jobs__get(txn, s->owners, key, sizeof(key), &v);
    if (rc == JOBS_ENOTFOUND)
        return 0;
    if (rc)
        return rc;
    if (v.mv_size != sizeof(*n))
        return jobs__error(JOBS_ECORRUPT, "a count record is corrupt");
    memcpy(n, v.mv_data, sizeof(*n));
    return 0;
}

int jobs__count_add(MDB_txn *txn, jobs__lmdb *s, jobs__kind kind, uint64_t owner, int64_t delta)
{
    unsigned char key[10];
    uint64_t n;
    int rc = jobs__count_get(txn, s, kind, owner, &n);

    if (rc)
        return rc;
    if (delta < 0 && n < (uint64_t)-delta)
        return jobs__error(JOBS_ECORRUPT, "a count would go below zero");
    n += (uint64_t)delta;
    count_key(key, kind, owner);
    if (n == 0)
        return jobs__del(txn, s->owners, key, sizeof(key));
    return jobs__put(txn, s->owners, key, sizeof(key), &n, sizeof(n), 0);
}

static const char queued_key[] = "queued";

int jobs__queued_get(MDB_txn *txn, jobs__lmdb *s, uint64_t *n)
{
    MDB_val v;
    int rc = jobs__get(txn, s->meta, queued_key, sizeof(queued_key) - 1, &v);

    *n = 0;
    if (rc == JOBS_ENOTFOUND)
        return 0;
    if (rc)
        return rc;
    if (v.mv_size != sizeof(*n))
        return jobs__error(JOBS_ECORRUPT, "the queued-job count is corrupt");
    memcpy(n, v.mv_data, sizeof(*n));
    return 0;
}

int jobs__queued_add(MDB_txn *txn, jobs__lmdb *s, int64_t delta)
{
    uint64_t n;
    int rc = jobs__queued_get(txn, s, &n);

    if (rc || delta == 0)
        return rc;
    if (delta < 0 && n < (uint64_t)-delta)
        return jobs__error(JOBS_ECORRUPT, "the queued-job count would go below zero");
    n += (uint64_t)delta;
    return jobs__put(txn, s->meta, queued_key, sizeof(queued_key) - 1, &n, sizeof(n), 0);
}

int jobs__queued_init(MDB_txn *txn, jobs__lmdb *s)
{
    MDB_cursor *cur;
    MDB_val k, v;
    uint64_t n = 0;
    int rc = jobs__get(txn, s->meta, queued_key, sizeof(queued_key) - 1, &v);

    if (rc != JOBS_ENOTFOUND)
        return rc;
    if ((rc = mdb_cursor_open(txn, s->jobs, &cur)))
        return jobs__mdb_error(rc, "counting queued jobs");
    /* The flags byte (after the version byte): bit1 is do_del (docs/storage.md). */
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT))
        if (v.mv_size >= 2 && (((const unsigned char *)v.mv_data)[1] & 2u))
            n++;
    mdb_cursor_close(cur);
    if (rc != MDB_NOTFOUND)
        return jobs__mdb_error(rc, "counting queued jobs");
    return jobs__put(txn, s->meta, queued_key, sizeof(queued_key) - 1, &n, sizeof(n), 0);
}

/* One side of an index walk: a cursor over the ids of one owner. */
typedef struct side {
    MDB_cursor *cur;
    uint64_t owner, id, from;
    char tag; /* 0: keys owner(8) id(8); else owner(8) tag(1) id(8) */
    bool done;
} side;

static int side_step(side *sd, MDB_cursor_op op)
{
    unsigned char start[JOBS__OWNED_KEY];
    size_t at = sd->tag ? 9 : 8; /* where the id is */
    const unsigned char *p;
    MDB_val k, v;
    int rc;

    if (op == MDB_SET_RANGE) {
        jobs__be64_put(start, sd->owner);
        start[8] = (unsigned char)sd->tag;
        jobs__be64_put(start + at, sd->from);
        k.mv_size = at + 8;
        k.mv_data = start;
    }
    rc = mdb_cursor_get(sd->cur, &k, &v, op);
    if (rc == MDB_NOTFOUND) {
        sd->done = true;
        return 0;
    }
    if (rc)
        return jobs__mdb_error(rc, "index walk");
    p = k.mv_data;
    if (k.mv_size < at || jobs__be64_get(p) != sd->owner ||
        (sd->tag && p[8] != (unsigned char)sd->tag)) {
        sd->done = true; /* the owner's entries (of that tag) are behind */
        return 0;
    }
    if (k.mv_size != at + 8)
        return jobs__error(JOBS_ECORRUPT, "an index key is corrupt");
    sd->id = jobs__be64_get(p + at);
    return 0;
}

int jobs__index_page(MDB_txn *txn, MDB_dbi dbi, char tag, uint64_t a, uint64_t b, uint64_t from,
                     uint64_t skip, size_t max, uint64_t *ids, size_t *n)
{
    side sides[2] = {{NULL, a, 0, from, tag, false}, {NULL, b, 0, from, tag, a == b}};
    int rc = 0;

    *n = 0;
    for (int i = 0; i < 2 && !rc; i++) {
        if (sides[i].done)
            continue;
        rc = mdb_cursor_open(txn, dbi, &sides[i].cur);
        if (rc) {
            rc = jobs__mdb_error(rc, "index walk");
            break;
        }
        rc = side_step(&sides[i], MDB_SET_RANGE);
    }
    while (!rc && max > 0 && !(sides[0].done && sides[1].done)) {
        side *sd;

        if (sides[0].done)
            sd = &sides[1];
        else if (sides[1].done)
            sd = &sides[0];
        else
            sd = sides[0].id <= sides[1].id ? &sides[0] : &sides[1];
        if (skip > 0) {
            skip--;
        } else {
            ids[(*n)++] = sd->id;
            max--;
        }
        rc = side_step(sd, MDB_NEXT);
    }
    for (int i = 0; i < 2; i++)
        if (sides[i].cur)
            mdb_cursor_close(sides[i].cur);
    return rc;
}

/* ---- map growth ------------------------------------------------------------------------- */

static size_t map_size(jobs__lmdb *s)
{
    MDB_envinfo info;

    mdb_env_info(s->env, &info);
    return info.me_mapsize;
}

int jobs__lmdb_unmapped_error(void)
{
    return jobs__error(JOBS_EIO, "the store's map was lost when a resize failed: close the "
                       "store and open it again");
}

/* Whether `size` bytes of address space can be mapped now: LMDB unmaps the old map before it
 * maps the new one and cannot map anything again when that fails, so a growth is tried only
 * when a mapping of the new size (reserved, not backed) succeeds first. */
static bool address_space_for(size_t size)
{
    void *p = mmap(NULL, size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

    if (p == MAP_FAILED)
        return false;
    munmap(p, size);
    return true;
}

/* ---- the read pool ---------------------------------------------------------------------- */

/* Takes an idle transaction from the pool, marking its slot taken: NULL when none is idle. */
static MDB_txn *pool_take(jobs__lmdb *s, size_t *slot)
{
    for (size_t i = 0; i < s->pool_max; i++) {
        uintptr_t v = atomic_load_explicit(&s->pool[i], memory_order_relaxed);

        /* Acquire: the map a resize set up before it opened the slot again is the one read. */
        if (v > JOBS__POOL_SHUT &&
            atomic_compare_exchange_strong_explicit(&s->pool[i], &v, JOBS__POOL_TAKEN,
                                                    memory_order_acquire,
                                                    memory_order_relaxed)) {
            *slot = i;
            return (MDB_txn *)v;
        }
    }
    return NULL;
}

/* Gives back what pool_take() took: the reset transaction, or JOBS__POOL_EMPTY if it ended.
 * Release: the read is over before a resize can take the slot. */
static void pool_put_back(jobs__lmdb *s, size_t slot, uintptr_t v)
{
    atomic_store_explicit(&s->pool[slot], v, memory_order_release);
}

/* Keeps a transaction begun outside the pool in an empty slot, or ends it. */
static void pool_give(jobs__lmdb *s, MDB_txn *txn)
{
    for (size_t i = 0; i < s->pool_max; i++) {
        uintptr_t empty = JOBS__POOL_EMPTY;

        if (atomic_load_explicit(&s->pool[i], memory_order_relaxed) == JOBS__POOL_EMPTY &&
            atomic_compare_exchange_strong_explicit(&s->pool[i], &empty, (uintptr_t)txn,
                                                    memory_order_release, memory_order_relaxed))
            return;
    }
    mdb_txn_abort(txn);
}

size_t jobs__lmdb_pool_drain(jobs__lmdb *s)
{
    size_t n = 0, slot;
    MDB_txn *txn;

    /* At most a slotful: readers may keep giving transactions back while this runs. */
    while (n < s->pool_max && (txn = pool_take(s, &slot))) {
        mdb_txn_abort(txn);
        pool_put_back(s, slot, JOBS__POOL_EMPTY);
        n++;
    }
    return n;
}

/* Shuts every slot, under the map lock held exclusively, so that no read holds a transaction:
 * what each slot held goes to held[]. A taken slot is waited for: yielding at first (most
 * reads take microseconds), then sleeping, as a check, a backup or an export reads for as long
 * as the store is large. */
static void pool_shut(jobs__lmdb *s, uintptr_t *held)
{
    for (size_t i = 0; i < s->pool_max; i++) {
        for (unsigned waits = 0;; waits++) {
            uintptr_t v = atomic_load_explicit(&s->pool[i], memory_order_acquire);

            if (v == JOBS__POOL_TAKEN) {
                if (waits < 100)
                    sched_yield();
                else
                    nanosleep(&(struct timespec){0, 200000}, NULL);
                continue;
            }
            if (atomic_compare_exchange_strong_explicit(&s->pool[i], &v, JOBS__POOL_SHUT,
                                                        memory_order_acq_rel,
                                                        memory_order_relaxed)) {
                held[i] = v;
                break;
            }
        }
    }
}

/* Opens the slots pool_shut() shut, giving back what they held; after a remap that lost the
 * map (`lost`), ends the transactions instead and leaves the slots shut for good. */
static void pool_open(jobs__lmdb *s, const uintptr_t *held, bool lost)
{
    for (size_t i = 0; i < s->pool_max; i++) {
        if (!lost)
            atomic_store_explicit(&s->pool[i], held[i], memory_order_release);
        else if (held[i] > JOBS__POOL_SHUT)
            mdb_txn_abort((MDB_txn *)held[i]);
    }
}

/* Sets the map size with no transaction of this process running: the map lock held
 * exclusively keeps out writes, backups and pool-less reads; shutting the pool, the reads
 * holding a pooled transaction. */
static int set_map_size(jobs__lmdb *s, size_t size)
{
    uintptr_t held[JOBS__LMDB_POOL];
    int rc;

    pool_shut(s, held);
    rc = mdb_env_set_mapsize(s->env, size);
    pool_open(s, held, rc != 0);
    return rc;
}

/* ---- resizing the map ------------------------------------------------------------------- */

/* Adopts a size another process set (size 0), or grows from `seen` when no other thread has
 * grown the map since. Takes the map lock exclusively and shuts the read pool around the remap
 * (set_map_size): no transaction of this process runs.
 * A remap that fails leaves LMDB without a map: the handle is then marked lost, and every
 * later call answers JOBS_EIO instead of reading through the old map's pointers. */
static int resize(jobs__lmdb *s, size_t seen, bool grow)
{
    int rc = 0;

    pthread_rwlock_wrlock(&s->map_lock);
    if (s->unmapped) {
        pthread_rwlock_unlock(&s->map_lock);
        return jobs__lmdb_unmapped_error();
    }
    if (!grow) {
        rc = set_map_size(s, 0);
    } else if (map_size(s) == seen) {
        size_t next = seen > SIZE_MAX / 2 ? SIZE_MAX : seen * 2;
        long page = sysconf(_SC_PAGESIZE);

        if (s->max_map_size && next > s->max_map_size)
            next = s->max_map_size;
        if (page > 0)
            next -= next % (size_t)page;
        if (next <= seen) {
            pthread_rwlock_unlock(&s->map_lock);
            return jobs__error(JOBS_ENOSPC, "storage full: the map is at its limit of %zu bytes",
                               seen);
        }
        if (!address_space_for(next)) {
            pthread_rwlock_unlock(&s->map_lock);
            return jobs__error(JOBS_ENOSPC, "storage full: no address space to map %zu bytes "
                               "(the map stays at %zu)", next, seen);
        }
        rc = set_map_size(s, next);
    }
    if (rc)
        s->unmapped = true;
    pthread_rwlock_unlock(&s->map_lock);
    if (rc) {
        jobs__mdb_error(rc, "resizing the map");
        return jobs__error(JOBS_EIO, "resizing the map failed (%s), and the store's map is lost: "
                           "close the store and open it again", jobs_error_last());
    }
    return 0;
}

/* ---- reads ------------------------------------------------------------------------------ */

int jobs__lmdb_read(jobs_store *store, jobs__txn_fn fn, void *ctx)
{
    jobs__lmdb *s = store->db;

    for (;;) {
        jobs__txn t;
        size_t slot = SIZE_MAX;
        bool locked = false;
        MDB_txn *txn = pool_take(s, &slot);
        int rc;

        if (!txn) {
            /* No idle transaction: begin one, under the map lock. */
            pthread_rwlock_rdlock(&s->map_lock);
            locked = true;
            if (s->unmapped) {
                pthread_rwlock_unlock(&s->map_lock);
                return jobs__lmdb_unmapped_error();
            }
            txn = pool_take(s, &slot);
        }
        if (txn) {
            rc = mdb_txn_renew(txn);
            if (rc) {
                mdb_txn_abort(txn);
                pool_put_back(s, slot, JOBS__POOL_EMPTY);
            }
        } else {
            rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn);
            /* The table is full: the pool's idle transactions may be what fills it. */
            if (rc == MDB_READERS_FULL && jobs__lmdb_pool_drain(s) > 0)
                rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn);
        }
        if (rc) {
            if (locked)
                pthread_rwlock_unlock(&s->map_lock);
            if (rc == MDB_MAP_RESIZED) {
                if ((rc = resize(s, 0, false)) != 0)
                    return rc;
                continue;
            }
            return jobs__mdb_error(rc, "starting a read transaction");
        }
        t.txn = txn;
        t.db = s;
        t.s = store;
        t.job_next = 0;
        rc = fn(store, &t, ctx);
        mdb_txn_reset(txn);
        if (slot != SIZE_MAX)
            pool_put_back(s, slot, (uintptr_t)txn);
        else
            pool_give(s, txn);
        if (locked)
            pthread_rwlock_unlock(&s->map_lock);
        return rc;
    }
}

/* ---- writes: group commit ---------------------------------------------------------------- */

/* One caller's write, queued on the store while its caller waits. */
typedef struct jobs__op {
    jobs_store *store;
    jobs__txn_fn fn;
    void *ctx;
    int rc;
    bool grow;               /* rc is LMDB's full map (not a callback's own -1000): run again */
    bool done;               /* set by the leader under gc_lock; then the op is the caller's */
    struct jobs__op *next;   /* the queue, and then the batch */
    struct jobs__op *again;  /* the part of the batch still to run */
    char msg[512];           /* jobs_error_last() of a failure, for the caller's thread */
    pthread_cond_t cv;       /* its caller waits here, alone: signalled when the op is done or
                                when it is first in the queue and the lead is free */
    bool waiting;            /* its caller is in pthread_cond_wait (under gc_lock) */
} jobs__op;

static void op_fail(jobs__op *op, int rc)
{
    op->rc = rc;
    op->grow = rc == JOBS__EMAPFULL && txn_failed == JOBS__EMAPFULL;
    snprintf(op->msg, sizeof(op->msg), "%s", jobs_error_last());
}

/* A failed commit's code. LMDB reports a short write(2) as EIO; on a regular file that is a
 * full device (a write of several pages that only partly fit), so with (almost) no space left
 * it is told as JOBS_ENOSPC, like a write that failed outright. */
static int commit_error(jobs__lmdb *s, int rc)
{
    mdb_filehandle_t fd;
    struct statvfs fs;

    if (rc == EIO && mdb_env_get_fd(s->env, &fd) == 0 && fstatvfs(fd, &fs) == 0 &&
        (uint64_t)fs.f_bavail * fs.f_frsize < ((uint64_t)1 << 20))
        return jobs__error(JOBS_ENOSPC, "commit: no space left on the device (a short write)");
    return jobs__mdb_error(rc, "commit");
}

/* Runs the `again` chain from `todo` in one write transaction and one commit. Sets every op's
 * rc: 0 (committed), an error (its changes undone), or JOBS__EMAPFULL (to run again once the
 * map has grown). Returns 0, or an LMDB code of mdb_txn_begin for the whole chain. */
static int batch_once(jobs__lmdb *s, jobs__op *todo)
{
    bool nest = todo->again != NULL, any = false;
    MDB_txn *txn;
    int rc = mdb_txn_begin(s->env, NULL, 0, &txn);

    s->due_batch_set = false;
    if (rc)
        return rc;
    for (jobs__op *op = todo; op; op = op->again) {
        jobs__txn t = {txn, s, op->store, 0};

        txn_failed = 0; /* this op's, from here */
        /* Alone, an op needs no nesting: when it fails, the whole transaction is its own. */
        if (nest && (rc = mdb_txn_begin(s->env, txn, 0, &t.txn))) {
            op_fail(op, jobs__mdb_error(rc, "starting a nested transaction"));
            continue;
        }
        rc = op->fn(op->store, &t, op->ctx);
        if (rc == 0 && txn_failed)
            rc = jobs__error(txn_failed, "a write of this transaction failed and its caller "
                             "went on: %s", jobs_error_last());
        if (nest && rc == 0 && (rc = mdb_txn_commit(t.txn)))
            rc = jobs__mdb_error(rc, "commit");
        else if (nest && rc)
            mdb_txn_abort(t.txn);
        if (rc) {
            op_fail(op, rc);
            if (!nest) {
                mdb_txn_abort(txn);
                return 0;
            }
        } else {
            op->rc = 0;
            any = true;
        }
    }
    if (!any) {
        mdb_txn_abort(txn);
        return 0;
    }
    txn_failed = 0;
    if ((rc = mdb_txn_commit(txn))) {
        rc = commit_error(s, rc);
        for (jobs__op *op = todo; op; op = op->again)
            if (op->rc == 0)
                op_fail(op, rc);
        return 0;
    }
    atomic_fetch_add(&s->commits, 1);
    for (jobs__op *op = todo; op; op = op->again)
        if (op->rc == 0)
            atomic_fetch_add(&s->writes, 1);
    if (s->due_batch_set) { /* committed: now the waiters may see it */
        pthread_mutex_lock(&s->due_lock);
        if (!s->due_set || s->due_batch < s->due_min)
            s->due_min = s->due_batch;
        s->due_set = true;
        pthread_cond_broadcast(&s->due_cv);
        pthread_mutex_unlock(&s->due_lock);
    }
    return 0;
}

/* ---- jobs_store_wait() ------------------------------------------------------------------ */

void jobs__lmdb_notify_due(jobs__txn *t, int64_t when)
{
    jobs__lmdb *s = t->db; /* only the batch's leader runs write callbacks */

    if (!s->due_batch_set || when < s->due_batch)
        s->due_batch = when;
    s->due_batch_set = true;
}

int jobs__lmdb_wait(jobs_store *store, int64_t before, int timeout_ms, int64_t *due)
{
    jobs__lmdb *s = store->db;
    struct timespec until = jobs__deadline(CLOCK_MONOTONIC, timeout_ms); /* due_cv's clock */
    int rc = 0;

    pthread_mutex_lock(&s->due_lock);
    while (!(s->due_set && s->due_min < before) && rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(&s->due_cv, &s->due_lock, &until);
    rc = s->due_set && s->due_min < before;
    if (rc) {
        s->due_set = false;
        *due = s->due_min;
    }
    pthread_mutex_unlock(&s->due_lock);
    return rc;
}

/* Runs a batch (the `again` chain from `todo`) to the end: every op gets its final rc. */
static void run_batch(jobs__lmdb *s, jobs__op *todo)
{
    while (todo) {
        jobs__op *retry = NULL, **tail = &retry;
        size_t seen;
        int rc;

        pthread_rwlock_rdlock(&s->map_lock);
        seen = map_size(s);
        rc = s->unmapped ? -1 : batch_once(s, todo);
        pthread_rwlock_unlock(&s->map_lock);
        if (rc == -1) {
            rc = jobs__lmdb_unmapped_error();
            for (jobs__op *op = todo; op; op = op->again)
                op_fail(op, rc);
            return;
        }
        if (rc == MDB_MAP_RESIZED) { /* another process grew the map: adopt its size */
            if ((rc = resize(s, 0, false)) == 0)
                continue;
        } else if (rc) {
            rc = jobs__mdb_error(rc, "starting a write transaction");
        }
        if (rc) {
            for (jobs__op *op = todo; op; op = op->again)
                op_fail(op, rc);
            return;
        }
        for (jobs__op *op = todo; op; op = op->again)
            if (op->rc == JOBS__EMAPFULL && op->grow) {
                *tail = op;
                tail = &op->again;
            }
        *tail = NULL;
        if (retry && (rc = resize(s, seen, true))) {
            for (jobs__op *op = retry; op; op = op->again)
                op_fail(op, rc);
            return;
        }
        todo = retry;
    }
}

int jobs__lmdb_write(jobs_store *store, jobs__txn_fn fn, void *ctx)
{
    jobs__lmdb *s = store->db;
    jobs__op op = {.store = store, .fn = fn, .ctx = ctx}; /* the rest zero */
    char mine[sizeof(op.msg)];
    bool led = false;

    if (s->readonly)
        return jobs__error(JOBS_EREADONLY, "the store is open read-only");

    pthread_cond_init(&op.cv, NULL);
    pthread_mutex_lock(&s->gc_lock);
    *s->gc_tail = &op;
    s->gc_tail = &op.next;
    while (!op.done) {
        jobs__op *batch, *last;
        size_t n = 1;

        if (s->gc_leader) {
            op.waiting = true;
            pthread_cond_wait(&op.cv, &s->gc_lock);
            op.waiting = false;
            continue;
        }
        /* Lead: take up to gc_max queued ops (this one among them, as it is still queued). */
        s->gc_leader = true;
        batch = last = s->gc_head;
        last->again = NULL;
        while (n < s->gc_max && last->next) {
            last->again = last->next;
            last = last->next;
            last->again = NULL;
            n++;
        }
        s->gc_head = last->next;
        if (!s->gc_head)
            s->gc_tail = &s->gc_head;
        last->next = NULL;
        pthread_mutex_unlock(&s->gc_lock);

        /* The batch runs on this thread, and what fails in it writes this thread's detail:
         * the other callers' writes of a batch of several, and a write alone that filled the
         * map ("the map is full"), which is then grown and the write run again. Keep ours, so
         * that a success leaves it as it was. */
        if (!led) {
            snprintf(mine, sizeof(mine), "%s", jobs_error_last());
            led = true;
        }
        run_batch(s, batch);

        pthread_mutex_lock(&s->gc_lock);
        /* Once done is set, the op belongs to its caller again: read next first. Wake only
         * the callers of this batch and the writer now first in the queue (the next leader),
         * not every queued writer: without group commit a broadcast here woke them all at
         * every commit, and all but one went back to sleep. */
        for (jobs__op *o = batch, *next; o; o = next) {
            next = o->next;
            if (o->waiting) {
                pthread_cond_signal(&o->cv);
                s->gc_wakeups++;
            }
            o->done = true;
        }
        s->gc_leader = false;
        if (s->gc_head && s->gc_head->waiting) {
            pthread_cond_signal(&s->gc_head->cv);
            s->gc_wakeups++;
        }
    }
    pthread_mutex_unlock(&s->gc_lock);
    pthread_cond_destroy(&op.cv);
    if (op.rc)
        jobs__error(op.rc, "%s", op.msg);
    else if (led)
        jobs__error(0, "%s", mine);
    return op.rc;
}

uint64_t jobs__lmdb_wakeups(jobs_store *store)
{
    jobs__lmdb *s = store->db;
    uint64_t n;

    pthread_mutex_lock(&s->gc_lock);
    n = s->gc_wakeups;
    pthread_mutex_unlock(&s->gc_lock);
    return n;
}

/* ---- the schema ------------------------------------------------------------------------- */

static const char schema_key[] = "schema";

/* Moves every entry of an old database into "owners" under its new key (`rekey` writes it and
 * returns its length, or 0 for a malformed key), then deletes the old database. */
static int move_entries(MDB_txn *txn, jobs__lmdb *s, const char *name,
                        size_t (*rekey)(unsigned char *out, const MDB_val *k))
{
    MDB_dbi old;
    MDB_cursor *cur;
    MDB_val k, v;
    int rc = mdb_dbi_open(txn, name, 0, &old);

    if (rc == MDB_NOTFOUND)
        return 0; /* a store written before it: nothing to move */
    if (rc || (rc = mdb_cursor_open(txn, old, &cur)))
        return jobs__mdb_error(rc, "migrating to schema 3");
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        unsigned char key[JOBS__OWNED_KEY];
        size_t len = rekey(key, &k);
        int prc;

        if (len == 0) {
            mdb_cursor_close(cur);
            return jobs__error(JOBS_ECORRUPT, "migrating to schema 3: a key of '%s' is "
                               "malformed", name);
        }
        if ((prc = jobs__put(txn, s->owners, key, len, v.mv_data, v.mv_size, MDB_NOOVERWRITE))) {
            mdb_cursor_close(cur);
            return prc;
        }
    }
    mdb_cursor_close(cur);
    if (rc != MDB_NOTFOUND || (rc = mdb_drop(txn, old, 1)))
        return jobs__mdb_error(rc, "migrating to schema 3");
    return 0;
}

/* job_owner: owner(8) id(8) -> owner(8) 'O' id(8). */
static size_t rekey_owned(unsigned char *out, const MDB_val *k)
{
    const unsigned char *p = k->mv_data;

    if (k->mv_size != 16)
        return 0;
    jobs__owned_key(out, jobs__be64_get(p), jobs__be64_get(p + 8));
    return JOBS__OWNED_KEY;
}

/* counts: kind(1) owner(8) -> owner(8) 't' kind(1). */
static size_t rekey_count(unsigned char *out, const MDB_val *k)
{
    const unsigned char *p = k->mv_data;

    if (k->mv_size != 9 || p[0] > JOBS__STACK)
        return 0;
    memcpy(out, p + 1, 8);
    out[8] = JOBS__TAG_COUNT;
    out[9] = p[0];
    return 10;
}

/* job_rank: owner(8) 'B'/'F' n(4) and owner(8) 'S' -> the same with 'b', 'f', 's'. */
static size_t rekey_rank(unsigned char *out, const MDB_val *k)
{
    const unsigned char *p = k->mv_data;
    char tag = k->mv_size >= 9 ? (char)p[8] : 0;

    if (!((k->mv_size == 13 && (tag == 'B' || tag == 'F')) || (k->mv_size == 9 && tag == 'S')))
        return 0;
    memcpy(out, p, k->mv_size);
    out[8] = (unsigned char)(tag - 'A' + 'a');
    return k->mv_size;
}

/* The run lists' counts of schema 2, tagged 'H' and 'S' (which sort before every other tag),
 * renamed 'h' and 's': each then sorts just before its list (runs.c). */
static int rename_run_counts(MDB_txn *txn, jobs__lmdb *s)
{
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, s->run_index, &cur);

    if (rc)
        return jobs__mdb_error(rc, "migrating to schema 3");
    for (;;) {
        unsigned char key[17];
        uint64_t n;
        MDB_val k, v;

        if ((rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST)))
            break;
        if (k.mv_size == 0 || (((unsigned char *)k.mv_data)[0] != 'H' &&
                               ((unsigned char *)k.mv_data)[0] != 'S'))
            break;
        if (k.mv_size != (((unsigned char *)k.mv_data)[0] == 'H' ? 9u : 17u) ||
            v.mv_size != sizeof(n)) {
            mdb_cursor_close(cur);
            return jobs__error(JOBS_ECORRUPT, "migrating to schema 3: a run count is malformed");
        }
        memcpy(key, k.mv_data, k.mv_size);
        memcpy(&n, v.mv_data, sizeof(n));
        key[0] = key[0] == 'H' ? 'h' : 's';
        k.mv_data = key;
        v.mv_data = &n;
        if ((rc = mdb_cursor_del(cur, 0)) || (rc = mdb_put(txn, s->run_index, &k, &v, 0)))
            break;
    }
    mdb_cursor_close(cur);
    return rc == 0 || rc == MDB_NOTFOUND ? 0 : jobs__mdb_error(rc, "migrating to schema 3");
}

/* Schemas 1 and 2 to 3: job_owner, counts and (schema 2) job_rank into "owners"; schema 1 had
 * no rank index, which is built from the moved entries; the run counts renamed. In the
 * caller's transaction, with the version change, so a crash leaves either schema whole. */
static int migrate(MDB_txn *txn, jobs__lmdb *s, uint32_t from)
{
    int rc;

    if ((rc = move_entries(txn, s, "job_owner", rekey_owned)) ||
        (rc = move_entries(txn, s, "counts", rekey_count)) ||
        (rc = rename_run_counts(txn, s)))
        return rc;
    if (from == 1)
        return jobs__rank_build(txn, s);
    return move_entries(txn, s, "job_rank", rekey_rank);
}

static int check_version(jobs__txn *t, int (*seed)(jobs_store *s, jobs__txn *txn))
{
    jobs__lmdb *s = t->db;
    MDB_txn *txn = t->txn;
    MDB_val v;
    uint32_t version;
    int rc = jobs__get(txn, s->meta, schema_key, sizeof(schema_key) - 1, &v);

    /* Without a seed (read-only, or a restore's migration of its staged copy) nothing is
     * created: an environment without the record is not a libjobs store. */
    if (rc == JOBS_ENOTFOUND && (s->readonly || !seed))
        return jobs__error(JOBS_ESCHEMA, "the store has no schema version (not a libjobs store)");
    if (rc == JOBS_ENOTFOUND) {
        /* A new store: its schema version, then its first contents, in one transaction. */
        version = JOBS__SCHEMA_VERSION;
        rc = jobs__put(txn, s->meta, schema_key, sizeof(schema_key) - 1, &version,
                       sizeof(version), 0);
        return rc ? rc : seed(t->s, t);
    }
    if (rc)
        return rc;
    if (v.mv_size != sizeof(version))
        return jobs__error(JOBS_ESCHEMA, "the store's schema version record is malformed");
    memcpy(&version, v.mv_data, sizeof(version));
    /* Another process that has a store of an older schema open is an earlier libjobs (this
     * one would have migrated it): migrating under it would change the layout it reads and
     * writes. */
    if (version >= 1 && version < JOBS__SCHEMA_VERSION && !s->readonly && s->shared_at_open)
        return jobs__error(JOBS_EBUSY, "the store has schema version %u and needs migrating to "
                           "version %u, which needs it to itself: another process (an earlier "
                           "libjobs?) has it open; stop it, then open the store again",
                           version, JOBS__SCHEMA_VERSION);
    if (version >= 1 && version < JOBS__SCHEMA_VERSION && !s->readonly) {
        if ((version < 3 && (rc = migrate(txn, s, version))) ||
            (rc = jobs__lmdb_run_migrate_direct(txn, s)))
            return rc;
        version = JOBS__SCHEMA_VERSION;
        return jobs__put(txn, s->meta, schema_key, sizeof(schema_key) - 1, &version,
                         sizeof(version), 0);
    }
    if (version != JOBS__SCHEMA_VERSION)
        return jobs__error(JOBS_ESCHEMA,
                           "the store has schema version %u; this libjobs reads version %u%s",
                           version, JOBS__SCHEMA_VERSION,
                           s->readonly && version < JOBS__SCHEMA_VERSION
                               ? " (open it read-write once to migrate it)" : "");
    if (s->owners_absent)
        return jobs__error(JOBS_ESCHEMA, "the store has no 'owners' database");
    return 0;
}

int jobs__lmdb_schema(jobs__txn *t, int (*seed)(jobs_store *s, jobs__txn *txn))
{
    int rc = check_version(t, seed);

    /* Counters and indexes that stores written by earlier builds may lack (a read-only store
     * counts 0, and walks the records for a name). */
    if (rc || t->db->readonly)
        return rc;
    rc = jobs__queued_init(t->txn, t->db);
    return rc ? rc : jobs__lmdb_names_init(t->txn, t->db);
}

/* ---- statistics ------------------------------------------------------------------------- */

typedef struct stat_ctx {
    jobs_store_stat_info *st;
} stat_ctx;

static int stat_txn(jobs_store *store, jobs__txn *t, void *ctx)
{
    jobs_store_stat_info *st = ((stat_ctx *)ctx)->st;
    jobs__lmdb *s = t->db;
    MDB_txn *txn = t->txn;
    MDB_envinfo info;
    MDB_stat ms;
    MDB_stat dbs[3];
    MDB_dbi dbi[3] = {s->jobs, s->schedules, s->stacks};
    int rc;

    (void)store;
    for (int i = 0; i < 3; i++)
        if ((rc = mdb_stat(txn, dbi[i], &dbs[i])) != 0)
            return jobs__mdb_error(rc, "store statistics");
    mdb_env_info(s->env, &info);
    mdb_env_stat(s->env, &ms);
    st->lmdb.map_size = info.me_mapsize;
    st->lmdb.map_used = (info.me_last_pgno + 1) * (size_t)ms.ms_psize;
    {
        mdb_filehandle_t fd;
        struct stat fst;

        if ((rc = mdb_env_get_fd(s->env, &fd)) != 0)
            return jobs__mdb_error(rc, "store statistics");
        if (fstat(fd, &fst) != 0)
            return jobs__error(JOBS_EIO, "store statistics: %s", strerror(errno));
        st->lmdb.file_size = (uint64_t)fst.st_size;
    }
    st->jobs = dbs[0].ms_entries;
    st->schedules = dbs[1].ms_entries;
    st->stacks = dbs[2].ms_entries;
    if ((rc = mdb_stat(txn, s->job_due, &dbs[0])) != 0 ||
        (rc = jobs__queued_get(txn, s, &st->jobs_queued)) != 0)
        return rc > 0 ? jobs__mdb_error(rc, "store statistics") : rc;
    st->jobs_active = dbs[0].ms_entries;
    if ((rc = jobs__lmdb_kv_count(t, &st->records)) != 0 ||
        (rc = jobs__lmdb_run_stat(txn, s, &st->runs, &st->runs_queued)) != 0)
        return rc;
    st->writes = atomic_load(&s->writes);
    st->commits = atomic_load(&s->commits);
    return 0;
}

int jobs__lmdb_stat(jobs_store *store, jobs_store_stat_info *out)
{
    stat_ctx c = {out};

    return jobs__lmdb_read(store, stat_txn, &c);
}

/* ---- opening and closing ---------------------------------------------------------------- */

static const struct {
    const char *name;
    size_t offset;
} dbs[] = {
    {"meta", offsetof(jobs__lmdb, meta)},
    {"owners", offsetof(jobs__lmdb, owners)},
    {"jobs", offsetof(jobs__lmdb, jobs)},
    {"job_name", offsetof(jobs__lmdb, job_name)},
    {"job_due", offsetof(jobs__lmdb, job_due)},
    {"schedules", offsetof(jobs__lmdb, schedules)},
    {"schedule_vis", offsetof(jobs__lmdb, schedule_vis)},
    {"schedule_refs", offsetof(jobs__lmdb, schedule_refs)},
    {"stacks", offsetof(jobs__lmdb, stacks)},
    {"stack_vis", offsetof(jobs__lmdb, stack_vis)},
    {"idem", offsetof(jobs__lmdb, idem)},
    {"idem_exp", offsetof(jobs__lmdb, idem_exp)},
    {"kv", offsetof(jobs__lmdb, kv)},
    {"runs", offsetof(jobs__lmdb, runs)},
    {"run_index", offsetof(jobs__lmdb, run_index)},
};

/* The databases added after schema 2 (a read-write open adds them to older stores). */
static const struct {
    const char *name;
    size_t offset;
    unsigned int flags;
} later_dbs[] = {
    {"stack_name", offsetof(jobs__lmdb, stack_name), MDB_DUPSORT},
    {"stack_blocks", offsetof(jobs__lmdb, stack_blocks), 0},
    {"schedule_name", offsetof(jobs__lmdb, schedule_name), MDB_DUPSORT},
};

static int open_dbis_in(MDB_txn *txn, jobs__lmdb *s, unsigned int flags)
{
    for (size_t i = 0; i < sizeof(dbs) / sizeof(dbs[0]); i++) {
        int rc = mdb_dbi_open(txn, dbs[i].name, flags, (MDB_dbi *)((char *)s + dbs[i].offset));

        /* Namespaced records and runs came later: a read-only open of an older store has
         * none (kv.c, runs.c). */
        /* Read-only, a store of schema 1 or 2 has no "owners" (the version check says so). */
        if (rc == MDB_NOTFOUND && !(flags & MDB_CREATE) &&
            dbs[i].offset == offsetof(jobs__lmdb, owners)) {
            s->owners_absent = true;
            continue;
        }
        if (rc == MDB_NOTFOUND && !(flags & MDB_CREATE) &&
            dbs[i].offset == offsetof(jobs__lmdb, kv)) {
            s->kv_absent = true;
            continue;
        }
        if (rc == MDB_NOTFOUND && !(flags & MDB_CREATE) &&
            (dbs[i].offset == offsetof(jobs__lmdb, runs) ||
             dbs[i].offset == offsetof(jobs__lmdb, run_index))) {
            s->no_runs = true;
            continue;
        }
        if (rc == MDB_NOTFOUND)
            return jobs__error(JOBS_ESCHEMA, "the store has no '%s' database", dbs[i].name);
        if (rc)
            return jobs__mdb_error(rc, "opening the databases");
    }
    s->names = true;
    for (size_t i = 0; i < sizeof(later_dbs) / sizeof(later_dbs[0]); i++) {
        int rc = mdb_dbi_open(txn, later_dbs[i].name, flags | later_dbs[i].flags,
                              (MDB_dbi *)((char *)s + later_dbs[i].offset));

        /* Read-only, a store of an earlier build lacks them: it is read without them. */
        if (rc == MDB_NOTFOUND && !(flags & MDB_CREATE)) {
            s->names = false;
            continue;
        }
        if (rc)
            return jobs__mdb_error(rc, "opening the databases");
    }
    return 0;
}

/* An environment that holds something but no libjobs schema record (another program's LMDB
 * environment, say) is not made a store: JOBS_ESCHEMA before anything is created in it. A
 * libjobs store writes its databases, its schema record and its first contents in one
 * transaction, so only an empty environment lacks the record. */
static int foreign(MDB_txn *txn)
{
    MDB_dbi main_db, meta;
    MDB_stat ms;
    MDB_val key = {sizeof(schema_key) - 1, (void *)schema_key}, v;
    int rc;

    if ((rc = mdb_dbi_open(txn, NULL, 0, &main_db)) || (rc = mdb_stat(txn, main_db, &ms)))
        return jobs__mdb_error(rc, "opening the store");
    if (ms.ms_entries == 0)
        return 0;
    rc = mdb_dbi_open(txn, "meta", 0, &meta);
    if (rc == 0)
        rc = mdb_get(txn, meta, &key, &v);
    if (rc == MDB_NOTFOUND || rc == MDB_INCOMPATIBLE)
        return jobs__error(JOBS_ESCHEMA, "the store has no schema version (not a libjobs "
                           "store); nothing was written to it");
    return rc ? jobs__mdb_error(rc, "opening the store") : 0;
}

/* The first write transaction of a read-write open: every database, then the schema. */
static int open_dbis(jobs_store *store, jobs__txn *t, void *ctx)
{
    int (*seed)(jobs_store *, jobs__txn *) = *(int (**)(jobs_store *, jobs__txn *))ctx;
    int rc;

    (void)store;
    if ((rc = foreign(t->txn)) != 0)
        return rc;
    rc = open_dbis_in(t->txn, t->db, MDB_CREATE);
    return rc ? rc : jobs__lmdb_schema(t, seed);
}

/* A read-only open: the databases and the schema check in a read transaction, committed so
 * that the database handles stay. */
static int open_readonly(jobs_store *store, jobs__lmdb *s)
{
    jobs__txn t = {NULL, s, store, 0};
    int rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &t.txn);

    if (rc)
        return jobs__mdb_error(rc, "opening the store");
    if ((rc = open_dbis_in(t.txn, s, 0)) || (rc = jobs__lmdb_schema(&t, NULL))) {
        mdb_txn_abort(t.txn);
        return rc;
    }
    if ((rc = mdb_txn_commit(t.txn)))
        return jobs__mdb_error(rc, "opening the store");
    return 0;
}

static int register_open(jobs__lmdb *s)
{
    int rc = 0;

    open_stores_lock();
    for (jobs__lmdb *o = open_stores; o; o = o->next_open)
        if (o->dev == s->dev && o->ino == s->ino)
            rc = jobs__error(JOBS_EBUSY, "this store is already open in this process");
    if (!rc) {
        s->next_open = open_stores;
        open_stores = s;
    }
    pthread_mutex_unlock(&open_lock);
    return rc;
}

bool jobs__lmdb_open_here(dev_t dev, ino_t ino)
{
    bool found = false;

    open_stores_lock();
    for (jobs__lmdb *o = open_stores; o; o = o->next_open)
        if (o->dev == dev && o->ino == ino)
            found = true;
    pthread_mutex_unlock(&open_lock);
    return found;
}

static void unregister_open(jobs__lmdb *s)
{
    open_stores_lock();
    for (jobs__lmdb **p = &open_stores; *p; p = &(*p)->next_open) {
        if (*p == s) {
            *p = s->next_open;
            break;
        }
    }
    pthread_mutex_unlock(&open_lock);
}

/* "dir/name" into out; false when it does not fit. */
static bool join(char out[PATH_MAX], const char *dir, const char *name)
{
    return snprintf(out, PATH_MAX, "%s/%s", dir, name) < PATH_MAX;
}

/* LMDB's lock protocol (mdb.c, mdb_env_excl_lock): every process that has an environment open
 * holds an fcntl() lock on the first byte of its lock.mdb (the first to open it exclusively
 * while it sets the file up, then shared). A conflicting lock on that byte means some other
 * process has the store open. */
bool jobs__lmdb_in_use(const char *dir)
{
    char path[PATH_MAX];
    struct flock fl;
    struct stat st;
    int fd;
    bool busy;

    /* Open in this process: its own locks never conflict (F_GETLK would answer "free"), and
     * closing a descriptor of lock.mdb would drop every fcntl() lock this process holds on it
     * (POSIX), LMDB's included: other processes would then take the store for closed (restore
     * over it, set its lock file up again, free its reader slots). lock.mdb is not touched. */
    if (stat(dir, &st) == 0 && jobs__lmdb_open_here(st.st_dev, st.st_ino))
        return true;

    memset(&fl, 0, sizeof fl);
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    fl.l_len = 1;
    if (!join(path, dir, "lock.mdb") || (fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
        return false;
    busy = fcntl(fd, F_GETLK, &fl) == 0 && fl.l_type != F_UNLCK;
    close(fd);
    return busy;
}

/* A new store's first commit is durable, but the file that holds it is only a name in its
 * directory until the directory is flushed too (and the directory a name in its parent, when
 * the open made it): a power cut could otherwise lose the whole store after its open and first
 * writes were acknowledged. liblmdb flushes the file, never the directory. */
static int sync_new_store(const char *path, bool made_dir)
{
    char parent[PATH_MAX];
    int e;

    if ((e = jobs__lmdb_sync_dir(path)) != 0)
        return jobs__error(JOBS_EIO, "cannot flush the store directory '%s': %s", path,
                           strerror(e));
    if (made_dir) {
        jobs__lmdb_parent_dir(parent, sizeof parent, path);
        if ((e = jobs__lmdb_sync_dir(parent)) != 0)
            return jobs__error(JOBS_EIO, "cannot flush the directory '%s' that holds the new "
                               "store: %s", parent, strerror(e));
    }
    return 0;
}

/* Whether the store's lock.mdb is an empty file (a restore leaves it so, backup.c). */
static bool lock_file_empty(const char *dir)
{
    char path[PATH_MAX];
    struct stat st;

    return join(path, dir, "lock.mdb") && stat(path, &st) == 0 && st.st_size == 0;
}

/* Creates and opens the environment: 0 or an LMDB code, s->env set when it was created.
 *
 * LMDB's first opener (the one whose exclusive lock on lock.mdb succeeds) sets lock.mdb up,
 * among the rest the last transaction id, from data.mdb; a later one (it waits for a shared
 * lock while the first is at it) maps lock.mdb as it finds it. A restore takes that exclusive
 * lock while it replaces data.mdb and empties lock.mdb before letting go: whoever waited for it
 * is a later opener of an empty lock file, which cannot be mapped, and its open fails (EINVAL)
 * instead of trusting a transaction id of the replaced file. The open is then tried again: it
 * is the first opener this time, or waits for the one that is. Several processes that waited
 * may each fail once while another still holds its shared lock on the empty file, hence a few
 * tries. */
static int open_env(jobs__lmdb *s, const char *path, unsigned int flags, size_t size,
                    unsigned int readers)
{
    enum { TRIES = 100 };

    for (int i = 1;; i++) {
        int rc = mdb_env_create(&s->env);

        if (rc)
            return rc;
        rc = mdb_env_set_maxdbs(s->env, MAX_DBS);
        if (!rc)
            rc = mdb_env_set_maxreaders(s->env, readers);
        if (!rc)
            rc = mdb_env_set_mapsize(s->env, size);
        if (!rc)
            rc = mdb_env_open(s->env, path, flags, 0600);
        if (!rc) {
            /* LMDB 0.9 opens data.mdb without O_CLOEXEC (its lock file has it): a host's
             * child (fork and exec, system()) would inherit the store's file. */
            mdb_filehandle_t fd;

            if (mdb_env_get_fd(s->env, &fd) == 0 && fd >= 0) {
                int fl = fcntl(fd, F_GETFD);

                if (fl >= 0 && !(fl & FD_CLOEXEC))
                    fcntl(fd, F_SETFD, fl | FD_CLOEXEC);
            }
        }
        if (!rc || (flags & MDB_NOLOCK) || i == TRIES || !lock_file_empty(path))
            return rc;
        mdb_env_close(s->env);
        s->env = NULL;
        if (i > 1) {
            struct timespec pause = {0, 1000000};

            nanosleep(&pause, NULL);
        }
    }
}

/* Whether the environment's data.mdb holds every page its newest meta page counts: false, with
 * the file's size and the size its pages need, when it is cut short. LMDB maps the whole file
 * and reads pages through the map: a file cut short (copied onto a full disk, truncated by a
 * tool) has pages the map cannot back, and the first read of one kills the process with SIGBUS
 * instead of failing. Only the meta pages have been read when an open asks (with pread()), and
 * LMDB never shrinks the file, so a process writing the store meanwhile only makes it longer.
 * True when it cannot tell: the open's own reads then say what is wrong. */
bool jobs__lmdb_whole(MDB_env *env, uint64_t *size, uint64_t *need)
{
    MDB_envinfo info;
    MDB_stat ms;
    mdb_filehandle_t fd;
    struct stat st;

    if (mdb_env_info(env, &info) != 0 || mdb_env_stat(env, &ms) != 0 ||
        mdb_env_get_fd(env, &fd) != 0 || fstat(fd, &st) != 0)
        return true;
    *size = (uint64_t)st.st_size;
    *need = ((uint64_t)info.me_last_pgno + 1) * ms.ms_psize;
    return *size >= *need;
}

int jobs__open_lmdb(jobs_store *store, const jobs__open_args *a)
{
    const jobs_options_lmdb *o = a->lmdb;
    bool readonly = (a->flags & JOBS_STORE_READONLY) != 0;
    char data[PATH_MAX];
    jobs__lmdb *s;
    struct stat st;
    int rc, dead;
    unsigned int flags = MDB_NOTLS;
    bool made_dir = false, new_file = false, shared;

    if (readonly) {
        if (stat(a->path, &st) != 0 && errno == ENOENT)
            return jobs__error(JOBS_ENOTFOUND, "no store in '%s': it does not exist", a->path);
        if (!join(data, a->path, "data.mdb"))
            return jobs__error(JOBS_EINVAL, "the store path '%s' is too long", a->path);
        /* (ENOTDIR: the path is a file, which the directory test below names.) */
        if (stat(data, &st) != 0) {
            if (errno == ENOENT)
                return jobs__error(JOBS_ENOTFOUND, "no store in '%s' (no data.mdb there)",
                                   a->path);
        } else if (S_ISREG(st.st_mode) && st.st_size == 0) {
            /* A read-write open makes a new store in an empty data.mdb; a read-only one
             * cannot, and LMDB's attempt to failed with EBADF ("Bad file descriptor"). */
            return jobs__error(JOBS_ENOTFOUND, "no store in '%s' (its data.mdb is empty)",
                               a->path);
        }
    } else if (mkdir(a->path, 0700) == 0) {
        made_dir = true;
    } else if (errno != EEXIST) {
        return jobs__error(JOBS_EIO, "cannot create the store directory '%s': %s", a->path,
                           strerror(errno));
    }
    if (!readonly) {
        if (!join(data, a->path, "data.mdb"))
            return jobs__error(JOBS_EINVAL, "the store path '%s' is too long", a->path);
        new_file = access(data, F_OK) != 0 && errno == ENOENT;
    }
    if (stat(a->path, &st) != 0 || !S_ISDIR(st.st_mode))
        return jobs__error(JOBS_EINVAL, "the store path '%s' is not a directory", a->path);
    /* Without a lock, a reader cannot keep a writer of another process from reusing the pages
     * it reads: a read-only open is for stores no process has open. */
    if (readonly && jobs__lmdb_open_here(st.st_dev, st.st_ino))
        return jobs__error(JOBS_EBUSY, "this store is already open in this process");
    if (readonly && jobs__lmdb_in_use(a->path))
        return jobs__error(JOBS_EBUSY, "the store '%s' is open in another process; a read-only "
                           "open is for a store no process has open (a backup, or a stopped "
                           "store)", a->path);
    /* Looked at before this process holds a lock on lock.mdb (jobs__lmdb_in_use closes its
     * descriptor): a store of an older schema is migrated only when no other process has it
     * open (check_version). */
    shared = !readonly && jobs__lmdb_in_use(a->path);

    s = jobs__malloc(sizeof(*s));
    if (!s)
        return jobs__error(JOBS_ENOMEM, "out of memory opening the store");
    memset(s, 0, sizeof(*s));
    s->dev = st.st_dev;
    s->ino = st.st_ino;
    s->max_map_size = o->max_map_size;
    s->readonly = readonly;
    s->shared_at_open = shared;
    if ((rc = register_open(s)) != 0) {
        jobs__free(s);
        return rc;
    }
    store->be = &jobs__lmdb_backend;
    store->db = s;

    {
        pthread_rwlockattr_t attr;

        pthread_rwlockattr_init(&attr);
        /* A resize must not starve behind a steady stream of readers. */
        pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
        pthread_rwlock_init(&s->map_lock, &attr);
        pthread_rwlockattr_destroy(&attr);
    }
    for (size_t i = 0; i < JOBS__LMDB_POOL; i++)
        atomic_init(&s->pool[i], JOBS__POOL_EMPTY);
    {
        unsigned int readers = o->max_readers ? o->max_readers : DEFAULT_MAX_READERS;

        s->pool_max = readers / 4 < JOBS__LMDB_POOL ? readers / 4 : JOBS__LMDB_POOL;
        if (s->pool_max == 0)
            s->pool_max = 1;
    }
    pthread_mutex_init(&s->gc_lock, NULL);
    pthread_mutex_init(&s->due_lock, NULL);
    {
        pthread_condattr_t attr;

        pthread_condattr_init(&attr);
        pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
        pthread_cond_init(&s->due_cv, &attr);
        pthread_condattr_destroy(&attr);
    }
    s->gc_tail = &s->gc_head;
    s->gc_max = (a->flags & JOBS_STORE_NO_GROUP_COMMIT) ? 1 : GROUP_COMMIT_MAX;

    if (o->flags & JOBS_NOSYNC_LMDB)
        flags |= MDB_NOSYNC;
    /* Read-only: no lock file (LMDB would create lock.mdb even with MDB_RDONLY otherwise). */
    if (readonly)
        flags |= MDB_RDONLY | MDB_NOLOCK;
    size_t size = o->map_size ? o->map_size : DEFAULT_MAP_SIZE;
    if (size < MIN_MAP_SIZE)
        size = MIN_MAP_SIZE;
    if (o->max_map_size && size > o->max_map_size)
        size = o->max_map_size;

    rc = open_env(s, a->path, flags, size, o->max_readers ? o->max_readers : DEFAULT_MAX_READERS);
    if (!rc && !readonly)
        rc = mdb_reader_check(s->env, &dead); /* slots of crashed processes */
    if (rc) {
        rc = jobs__mdb_error(rc, "opening the store");
        goto fail;
    }
    uint64_t have, need;
    if (!jobs__lmdb_whole(s->env, &have, &need)) {
        rc = jobs__error(JOBS_ECORRUPT, "the store '%s' is cut short: its data.mdb has %llu "
                         "bytes, and its pages need %llu", a->path, (unsigned long long)have,
                         (unsigned long long)need);
        goto fail;
    }
    rc = readonly ? open_readonly(store, s) : jobs__lmdb_write(store, open_dbis, (void *)&a->seed);
    if (!rc && (new_file || made_dir))
        rc = sync_new_store(a->path, made_dir);
    if (rc)
        goto fail;
    return 0;

fail:
    jobs__lmdb_close(store);
    return rc;
}

void jobs__lmdb_close(jobs_store *store)
{
    jobs__lmdb *s = store->db;

    if (!s)
        return;
    for (size_t i = 0; i < JOBS__LMDB_POOL; i++) {
        uintptr_t v = atomic_load(&s->pool[i]);

        if (v > JOBS__POOL_SHUT)
            mdb_txn_abort((MDB_txn *)v);
    }
    if (s->env)
        mdb_env_close(s->env);
    pthread_mutex_destroy(&s->gc_lock);
    pthread_mutex_destroy(&s->due_lock);
    pthread_cond_destroy(&s->due_cv);
    pthread_rwlock_destroy(&s->map_lock);
    unregister_open(s);
    jobs__free(s);
    store->db = NULL;
}
