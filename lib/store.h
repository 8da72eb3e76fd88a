/* The store handle as the rules see it: the backend behind the seam (lib/backend.h) and the
 * options every backend shares. A backend's own state lives in its own struct, reached from
 * `be`; nothing here knows which backend it is. */
#ifndef JOBS_LIB_STORE_H
#define JOBS_LIB_STORE_H

#include "backend.h"
#include "util.h"

struct jobs_store {
    const jobs__backend *be; /* the operations */
    void *db;                /* the backend's own state */
    uint32_t page_size;      /* default page size */
    unsigned int flags;      /* jobs_store_flags */
    jobs_clock_fn clock;
    void *clock_ctx;
    uint32_t run_history;    /* runs kept per job (and per stack, without a job) */
};

/* Runs `fn` in a read transaction of the store's backend. */
static inline int jobs__read(jobs_store *s, jobs__txn_fn fn, void *ctx)
{
    return s->be->read(s, fn, ctx);
}

/* Runs `fn` in a write transaction of the store's backend (see jobs__backend.write). */
static inline int jobs__write(jobs_store *s, jobs__txn_fn fn, void *ctx)
{
    return s->be->write(s, fn, ctx);
}

/* Tells the backend that the write `txn` makes something due at `when` (lib/backend.h,
 * notify_due): jobs_store_wait() of this store wakes once it commits. */
static inline void jobs__notify_due(jobs_store *s, jobs__txn *txn, int64_t when)
{
    if (s->be->notify_due)
        s->be->notify_due(txn, when);
}

/* The store's notion of now. Called before a transaction, never inside one: the clock is the
 * host's, and may call libjobs. */
int64_t jobs__now(jobs_store *s);

/* The LMDB backend's constructor (lib/lmdb/store.c): opens the store at args->path and sets
 * s->be and s->db. */
int jobs__open_lmdb(jobs_store *s, const jobs__open_args *args);

/* Whether a store path names a PostgreSQL database rather than a directory: a URI
 * (postgresql:// or postgres://) or a libpq keyword/value conninfo (docs/scale-out.md). */
bool jobs__path_is_postgres(const char *path);

/* The PostgreSQL backend's constructor (lib/postgres/store.c), when built (JOBS_WITH_POSTGRES):
 * connects to the database args->path names, checks or makes the schema, sets s->be and s->db. */
int jobs__open_pg(jobs_store *s, const jobs__open_args *args);

/* The LMDB backend's restore (lib/lmdb/backup.c): puts the backup in `backup_dir` in place of
 * the store at `path` (see jobs_store_restore()). `verify` opens and checks a store in a
 * directory (the staged copy) through the library, read-only. On failure the directory `path`
 * is left as it was found: what the restore made there (the directory itself, lock.mdb, the
 * staging directory) is removed, and no file that was there is changed. */
int jobs__restore_lmdb(const char *path, const char *backup_dir, unsigned int flags,
                       int (*verify)(const char *dir));

#endif
