/* The LMDB backend: the environment, its databases and keys, transactions, map growth, group
 * commit. Everything that knows LMDB is in lib/lmdb/; the rules reach it only through the
 * function table of lib/backend.h (jobs__lmdb_backend, in records.c). */
#ifndef JOBS_LIB_LMDB_ENV_H
#define JOBS_LIB_LMDB_ENV_H

#include <lmdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/types.h>

#include "../codec.h"
#include "../store.h"

/* The schema version this library reads and writes (meta key "schema"). Version 3 keeps the
 * per-owner entries (an owner's jobs in id order, their rank index, the entity counts) in one
 * database, "owners", under the owner; version 4 keeps a stack's runs without a job in one
 * history per owner (runs.c). Versions 1 to 3 are migrated at a read-write open. */
#define JOBS__SCHEMA_VERSION 4u

/* The tags of the "owners" database's keys, which all begin with owner(8) then a tag, so that
 * one owner's entries are one key range (docs/storage.md, "Schema 3"):
 *   owner(8) 'O' id(8)       -> bucket(4)  the owner's jobs in id order (with the rank bucket
 *                                          each was counted in)
 *   owner(8) 'b'/'f'/'s' ... -> the owner's rank index (rank.h)
 *   owner(8) 't' kind(1)     -> u64        the owner's count of that kind of entity
 * A create writes the owner's last 'O' key and its 'f', 's' and 't' keys, which sort next to
 * each other, rather than four databases. */
#define JOBS__TAG_OWNED 'O'
#define JOBS__TAG_COUNT 't'
#define JOBS__OWNED_KEY 17u

/* Internal code: the map is full and may be grown (never returned to callers). */
#define JOBS__EMAPFULL (-1000)

/* Read transactions kept for reuse (jobs__lmdb.pool): at most as many as jobs-server has
 * workers, and at most a quarter of max_readers (jobs__lmdb.pool_max). */
#define JOBS__LMDB_POOL 128
/* The marks a pool slot holds besides a transaction (jobs__lmdb.pool). */
#define JOBS__POOL_EMPTY ((uintptr_t)0)
#define JOBS__POOL_TAKEN ((uintptr_t)1)
#define JOBS__POOL_SHUT ((uintptr_t)2)

typedef struct jobs__lmdb {
    MDB_env *env;
    MDB_dbi meta;        /* "schema" -> u32; "next.<kind>" -> u64: next id to assign */
    MDB_dbi owners;      /* per-owner entries, keys owner(8) tag(1) ... (JOBS__TAG_*): an
                          * owner's jobs in id order, their rank index (rank.c), the counts */
    bool owners_absent;  /* a read-only open of a schema 1 or 2 store (refused) */
    MDB_dbi jobs;        /* id(8) -> job record */
    MDB_dbi job_name;    /* owner(8) name -> id(8): job names per owner */
    MDB_dbi job_due;     /* next_run(8, biased) id(8) -> "": active jobs in due order */
    MDB_dbi schedules;   /* id(8) -> schedule record */
    MDB_dbi schedule_vis; /* owner(8) id(8) -> "": schedules by owner (0 = public) */
    MDB_dbi schedule_refs; /* id(8) -> u64: jobs referencing the schedule (absent: none) */
    MDB_dbi stacks;      /* id(8) -> stack record */
    MDB_dbi stack_vis;   /* owner(8) id(8) -> "": private stacks by owner, public under 0 */
    MDB_dbi idem;        /* idempotency keys of creates (idempotency.c) */
    MDB_dbi idem_exp;    /* the same keys in expiry order */
    MDB_dbi kv;          /* namespaced records (kv.c) */
    bool kv_absent;      /* a read-only open of a store made before them: none */
    MDB_dbi stack_name;  /* owner(8) name -> id(8), sorted duplicates: stacks by owner and name,
                          * public ones also under owner 0 */
    MDB_dbi stack_blocks; /* id(8) -> the stack's blocks (opaque bytes) */
    MDB_dbi schedule_name; /* owner(8) name -> id(8), sorted duplicates: named schedules */
    /* Whether the three above exist: false only for a store written before them and opened
     * read-only (which cannot add them); lookups by name then walk the records. */
    bool names;
    MDB_dbi runs;        /* id(8) -> run record (runs.c) */
    MDB_dbi run_index;   /* the runs' histories, stack lists, counts and queue (runs.c) */
    bool no_runs;        /* read-only open of a store written before runs: none there */

    /* Held shared by every write, backup and pool-less read, exclusively to change the map
     * size: LMDB requires that no transaction of the process is active while the map is
     * resized. A read that takes a pooled transaction does not take it (below). */
    pthread_rwlock_t map_lock;
    /* A resize failed after LMDB had unmapped the old map (it cannot map again): every call
     * answers JOBS_EIO. Written under map_lock held exclusively (with every pool slot shut),
     * read under it held shared. */
    bool unmapped;
    /* Reset read transactions ready for renewal (MDB_NOTLS: not bound to threads), a slot each.
     * A slot holds JOBS__POOL_EMPTY, a transaction (idle), JOBS__POOL_TAKEN (a read is using
     * the transaction it held) or JOBS__POOL_SHUT (a resize runs, or the map is lost). A read
     * takes an idle transaction with one compare-and-swap and gives it back with a plain
     * release store, and takes no lock: owning a slot is what keeps the map from being resized
     * under it, as a resize first shuts every slot and waits for the taken ones to come back.
     * The map lock and the pool's exchanges were four atomic read-modify-writes per get, a
     * tenth of its time. More readers at once than idle transactions: the extra ones take the
     * map lock, begin a transaction and keep it if a slot is empty. A reset transaction keeps
     * its reader slot in lock.mdb, which the table's max_readers bounds for every process
     * together: only the first pool_max slots are used (a quarter of max_readers, at most
     * JOBS__LMDB_POOL, at least 1), and a read or backup that finds the table full empties the
     * pool (jobs__lmdb_pool_drain) and tries once more. */
    _Atomic(uintptr_t) pool[JOBS__LMDB_POOL];
    size_t pool_max;

    /* Group commit (write): writers queue their operations, and one of them, the leader, runs
     * what is queued in one transaction with one commit while the others wait for it. */
    pthread_mutex_t gc_lock;
    struct jobs__op *gc_head;  /* queued, not yet taken by a leader */
    struct jobs__op **gc_tail;
    bool gc_leader;            /* a leader is running a batch */
    size_t gc_max;             /* operations per batch: 1 with JOBS_STORE_NO_GROUP_COMMIT */
    uint64_t gc_wakeups;       /* waiters woken by finished batches (under gc_lock; tests) */
    _Atomic uint64_t writes;   /* ops committed, for jobs_store_stat */
    _Atomic uint64_t commits;  /* commits that took them */

    size_t max_map_size;
    bool readonly;             /* MDB_RDONLY | MDB_NOLOCK: writes are refused */
    bool shared_at_open;       /* another process had the store open just before this open */

    /* jobs_store_wait(): the earliest due time told by the writes of the batch being run (by
     * its leader only), published to the waiters once the batch commits. */
    bool due_batch_set;
    int64_t due_batch;
    pthread_mutex_t due_lock;
    pthread_cond_t due_cv;     /* broadcast when a notice is published */
    bool due_set;              /* a notice not yet taken by a wait; its earliest due time: */
    int64_t due_min;

    dev_t dev;
    ino_t ino;
    struct jobs__lmdb *next_open; /* the process's open stores, to refuse a second open */
} jobs__lmdb;

/* A transaction as the rules hold it (lib/backend.h): LMDB's, and the backend it belongs to. */
struct jobs__txn {
    MDB_txn *txn;
    jobs__lmdb *db;
    jobs_store *s;
    /* The next job id to give in this transaction once one was given (0 before): ids given
     * but not yet written (jobs_batch takes a run's ids first) are not told by the last job. */
    uint64_t job_next;
};

/* The environment's side of the backend table (store.c). */
int jobs__lmdb_read(jobs_store *s, jobs__txn_fn fn, void *ctx);
int jobs__lmdb_write(jobs_store *s, jobs__txn_fn fn, void *ctx);
void jobs__lmdb_close(jobs_store *s);
/* Waiters woken so far by finished batches: those whose op was in the batch, and the next
 * writer to lead (tests: a commit must not wake every queued writer). */
uint64_t jobs__lmdb_wakeups(jobs_store *s);
int jobs__lmdb_stat(jobs_store *s, jobs_store_stat_info *out);
/* Ends the idle transactions of the read pool, which frees their reader slots: how many. */
size_t jobs__lmdb_pool_drain(jobs__lmdb *s);
/* The error of every call on a handle whose map was lost by a failed resize (store.c). */
int jobs__lmdb_unmapped_error(void);
int jobs__lmdb_check(jobs_store *s);                       /* check.c */
int jobs__lmdb_backup(jobs_store *s, const char *dest);    /* backup.c */
/* Tests only: called by a restore once the new data.mdb is in place, while it still holds the
 * store's lock (backup.c). NULL otherwise. */
extern void (*jobs__restore_hook)(const char *dir);
/* Flushes a directory's entries (a new file or a rename in it) to disk: 0 or an errno. */
int jobs__lmdb_sync_dir(const char *dir);                   /* backup.c */
/* The directory that holds `path` ("." for a bare name), into `out`. */
void jobs__lmdb_parent_dir(char *out, size_t size, const char *path);
/* Schema check or migration, and a new store's first contents (store.c). */
int jobs__lmdb_schema(jobs__txn *t, int (*seed)(jobs_store *s, jobs__txn *txn));

/* Translates an LMDB return code into a JOBS_E* code with a detail message. */
int jobs__mdb_error(int rc, const char *what);

/* Key-value helpers: 0, JOBS_ENOTFOUND (get/del), or a translated LMDB error. */
int jobs__get(MDB_txn *txn, MDB_dbi dbi, const void *key, size_t klen, MDB_val *val);
int jobs__put(MDB_txn *txn, MDB_dbi dbi, const void *key, size_t klen, const void *val,
              size_t vlen, unsigned int flags);
int jobs__del(MDB_txn *txn, MDB_dbi dbi, const void *key, size_t klen);

/* Two 64-bit numbers as a 16-byte key that sorts by the first, then the second. */
static inline void jobs__key2(unsigned char key[16], uint64_t a, uint64_t b)
{
    jobs__be64_put(key, a);
    jobs__be64_put(key + 8, b);
}

/* A signed time as an unsigned key part that sorts in the same order. */
static inline uint64_t jobs__time_key(int64_t t)
{
    return (uint64_t)t ^ (UINT64_C(1) << 63);
}

static inline int64_t jobs__time_unkey(uint64_t k)
{
    return (int64_t)(k ^ (UINT64_C(1) << 63));
}

/* The store-wide count of jobs queued for deletion (meta "queued"), for jobs_store_stat(). */
int jobs__queued_get(MDB_txn *txn, jobs__lmdb *db, uint64_t *n);
/* Sets it from the jobs themselves when the store has none yet (stores written before it). */
int jobs__queued_init(MDB_txn *txn, jobs__lmdb *db);

int jobs__queued_add(MDB_txn *txn, jobs__lmdb *db, int64_t delta);

/* Per-owner entity counts. */
int jobs__count_get(MDB_txn *txn, jobs__lmdb *db, jobs__kind kind, uint64_t owner, uint64_t *n);
int jobs__count_add(MDB_txn *txn, jobs__lmdb *db, jobs__kind kind, uint64_t owner,
                    int64_t delta);

/* Takes the next id of a kind (store.c). */
int jobs__lmdb_next_id(jobs__txn *t, jobs__kind kind, uint64_t *id);

/* Reads one page of an (owner, id) index: the ids of owner `a` and of owner `b` merged in id
 * order (pass a == b for one owner), starting at id `from`, skipping `skip` and taking at most
 * `max` into `ids`; *n is how many were taken. `tag` 0: keys owner(8) id(8) (the visibility
 * indexes); JOBS__TAG_OWNED: keys owner(8) tag(1) id(8) of "owners". Returns 0 or an error. */
int jobs__index_page(MDB_txn *txn, MDB_dbi dbi, char tag, uint64_t a, uint64_t b, uint64_t from,
                     uint64_t skip, size_t max, uint64_t *ids, size_t *n);

/* The "owners" key of a job of an owner: owner(8) 'O' id(8). */
static inline void jobs__owned_key(unsigned char key[JOBS__OWNED_KEY], uint64_t owner, uint64_t id)
{
    jobs__be64_put(key, owner);
    key[8] = JOBS__TAG_OWNED;
    jobs__be64_put(key + 9, id);
}

/* The next job id: one above the last job's, or the floor in meta "next.job" when that is
 * higher (it is written only when the newest job is deleted, and by jobs_store_copy), so a
 * create does not write a counter. */
int jobs__lmdb_job_next(MDB_txn *txn, jobs__lmdb *db, uint64_t *next);
/* An id counter in meta ("next.<kind>"): read (1 when never written), and written. */
int jobs__lmdb_counter_get(MDB_txn *txn, jobs__lmdb *db, jobs__kind kind, uint64_t *next);
int jobs__lmdb_counter_put(MDB_txn *txn, jobs__lmdb *db, jobs__kind kind, uint64_t next);

/* After job `id` was deleted: keeps its id from being given again when it was the newest. */
int jobs__lmdb_job_gone(MDB_txn *txn, jobs__lmdb *db, uint64_t id);

/* Whether another process has the store in `dir` open (false when that cannot be told); true
 * without touching lock.mdb when this process has it open (see jobs__lmdb_open_here). */
bool jobs__lmdb_in_use(const char *dir);
/* Whether this process has the store of that directory open. */
bool jobs__lmdb_open_here(dev_t dev, ino_t ino);
/* Whether data.mdb holds every page its newest meta page counts (false, with its size and
 * the size its pages need, when it is cut short: a read past its end is SIGBUS). store.c */
bool jobs__lmdb_whole(MDB_env *env, uint64_t *size, uint64_t *need);

/* Builds the name indexes of a store written before them (store.c's open, records.c). */
int jobs__lmdb_names_init(MDB_txn *txn, jobs__lmdb *db);
/* A (key, id) pair of a sorted-duplicates index: add, remove (a missing one is corrupt), or
 * test (0 or JOBS_ENOTFOUND). */
int jobs__dup_put(MDB_txn *txn, MDB_dbi dbi, const void *key, size_t klen, uint64_t id);
int jobs__dup_del(MDB_txn *txn, MDB_dbi dbi, const void *key, size_t klen, uint64_t id);
int jobs__dup_has(MDB_txn *txn, MDB_dbi dbi, const void *key, size_t klen, uint64_t id);

/* The job record of `id` (check.c and records.c). */
int jobs__lmdb_job_load(jobs__txn *t, uint64_t id, jobs__job_rec *rec, unsigned char *copy);

/* Idempotency key storage (idempotency.c). */
int jobs__lmdb_idem_get(jobs__txn *t, uint64_t owner, jobs__kind kind, const char *key,
                        size_t len, jobs__idem_rec *rec);
int jobs__lmdb_idem_put(jobs__txn *t, uint64_t owner, jobs__kind kind, const char *key,
                        size_t len, const jobs__idem_rec *rec);
int jobs__lmdb_idem_sweep(jobs__txn *t, int64_t now, size_t max, size_t *swept);

/* Namespaced records (kv.c). */
int jobs__lmdb_kv_get(jobs__txn *t, const char *ns, size_t ns_len, const void *key,
                      size_t key_len, void *buf, size_t size, size_t *len);
int jobs__lmdb_kv_put(jobs__txn *t, const char *ns, size_t ns_len, const void *key,
                      size_t key_len, const void *value, size_t value_len);
int jobs__lmdb_kv_del(jobs__txn *t, const char *ns, size_t ns_len, const void *key,
                      size_t key_len);
int jobs__lmdb_kv_scan(jobs__txn *t, const char *ns, size_t ns_len, const void *from,
                       size_t from_len, size_t limit, jobs_kv_scan_fn fn, void *ctx);
/* jobs_store_check()'s part: every key and value well formed, every counter in range. */
int jobs__lmdb_kv_check(MDB_txn *txn, jobs__lmdb *s);
/* The number of records (id counters not counted), for jobs_store_stat(). */
int jobs__lmdb_kv_count(jobs__txn *t, uint64_t *n);
/* Runs (runs.c): the backend operations, statistics and the check. */
int jobs__lmdb_run_load(jobs__txn *t, uint64_t id, jobs__run_rec *rec);
int jobs__lmdb_run_insert(jobs__txn *t, uint64_t id, const jobs__run_rec *rec);
int jobs__lmdb_run_update(jobs__txn *t, uint64_t id, const jobs__run_rec *old,
                          const jobs__run_rec *rec);
int jobs__lmdb_run_remove(jobs__txn *t, uint64_t id, const jobs__run_rec *rec);
int jobs__lmdb_run_count(jobs__txn *t, jobs__run_by by, uint64_t owner, uint64_t id,
                         uint64_t *n);
int jobs__lmdb_run_page(jobs__txn *t, jobs__run_by by, uint64_t owner, uint64_t id,
                        bool oldest_first, uint64_t skip, size_t max, uint64_t *ids, size_t *n);
int jobs__lmdb_run_due_scan(jobs__txn *t, int64_t now, size_t limit, jobs__due_fn fn, void *ctx);
int jobs__lmdb_run_stat(MDB_txn *txn, jobs__lmdb *s, uint64_t *runs, uint64_t *queued);
int jobs__lmdb_run_check(MDB_txn *txn, jobs__lmdb *s, uint64_t next_run);
/* Schema 3 to 4: a stack's runs without a job into their owners' histories (runs.c). */
int jobs__lmdb_run_migrate_direct(MDB_txn *txn, jobs__lmdb *s);

/* What jobs_store_copy() reads and sets (copy.c; lib/backend.h says what each does). */
int jobs__lmdb_rec_scan(jobs__txn *t, jobs__kind kind, jobs__rec_fn fn, void *ctx);
int jobs__lmdb_idem_scan(jobs__txn *t, jobs__idem_fn fn, void *ctx);
int jobs__lmdb_kv_scan_all(jobs__txn *t, jobs__kv_all_fn fn, void *ctx);
int jobs__lmdb_id_peek(jobs__txn *t, jobs__kind kind, uint64_t *next);
int jobs__lmdb_id_set(jobs__txn *t, jobs__kind kind, uint64_t next);

/* jobs_store_wait() on LMDB: the writes of this process (store.c). */
int jobs__lmdb_wait(jobs_store *s, int64_t before, int timeout_ms, int64_t *due);
void jobs__lmdb_notify_due(jobs__txn *t, int64_t when);

/* The backend's function table (records.c). */
extern const jobs__backend jobs__lmdb_backend;

#endif
