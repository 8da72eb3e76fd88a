/**
 * @file jobs/store.h
 * @brief Opening, closing, checking, backing up and restoring a libjobs store.
 *
 * What is here means the same on every storage backend. The store lives in a directory and is
 * kept by the LMDB backend, the embedded default; LMDB's own settings and figures are in
 * jobs/lmdb.h.
 */
#ifndef JOBS_STORE_H
#define JOBS_STORE_H

#include "common.h"
#include "lmdb.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * An open store. Opaque; one handle per store directory per process, shared freely between
 * threads (see docs/threading.md).
 */
typedef struct jobs_store jobs_store;

/**
 * A clock: answers the current time in Unix seconds. libjobs calls it on the thread of the call
 * that needs the time (a create or update that activates a job, an idempotent create, the
 * scheduler tick's expiry of idempotency keys), so it must be thread-safe. It is always called
 * before that call's transaction begins, never inside one: a clock may itself call libjobs,
 * on this store too, without deadlocking.
 */
typedef int64_t (*jobs_clock_fn)(void *ctx);

/** Flags for jobs_store_options.flags. */
enum jobs_store_flags {
    /*
     * Bit 0 was JOBS_STORE_NOSYNC in version 1 of the options; it is LMDB's own now
     * (JOBS_NOSYNC_LMDB in jobs_options_lmdb), and version 2 options refuse it.
     */
    /**
     * Give every write its own transaction and commit. By default, writes that arrive while
     * another is committing wait and then share one transaction and one commit (group commit:
     * one flush for all of them, each still told its own result only once it is durable). This
     * flag turns that off, to measure the difference; there is no other reason to set it.
     */
    JOBS_STORE_NO_GROUP_COMMIT = 1u << 1,
    /**
     * Open the store read-only: for checking or reading a backup, or a store no process is
     * writing. The open writes nothing at all: no file is created or changed in the directory
     * (nor the directory itself), no schema is written or migrated, and no lock is taken, so
     * the files may be on a read-only medium. Every write call answers JOBS_EREADONLY and
     * changes nothing. The directory must hold a store of the current schema (JOBS_ESCHEMA
     * for one that would need a migration, JOBS_ENOTFOUND for none). Because no lock is
     * taken, a read-only open refuses (JOBS_EBUSY) a store that another process has open, as
     * that process may write while this one reads.
     */
    JOBS_STORE_READONLY = 1u << 2
};

/**
 * The version of jobs_store_options this header describes.
 *
 * Version 1 (libjobs 0.1.0) had LMDB's settings in the struct itself: `path, map_size,
 * max_map_size, page_size, max_readers, clock, clock_ctx, flags`, with JOBS_STORE_NOSYNC as
 * flag bit 0. jobs_store_open() still accepts a struct of that layout with version 1, so
 * programs built against 0.1.0's header keep working unchanged. Version 2 is version 3 without
 * `run_history`, and is accepted too.
 */
#define JOBS_STORE_OPTIONS_VERSION 3

/**
 * Options for jobs_store_open(). Initialise with JOBS_STORE_OPTIONS_INIT, then set what you
 * need: fields left at 0 take their defaults. New fields are only ever added at the end. The
 * struct (and what it points to) is read during jobs_store_open() only.
 */
typedef struct jobs_store_options {
    unsigned int version;   /**< JOBS_STORE_OPTIONS_VERSION */
    const char *path;       /**< directory of the store; created (mode 0700) if missing */
    uint32_t page_size;     /**< default list page size (default 10, at most 1000) */
    jobs_clock_fn clock;    /**< time source (default: the system's real-time clock) */
    void *clock_ctx;        /**< passed to clock */
    unsigned int flags;     /**< jobs_store_flags */
    const jobs_options_lmdb *lmdb; /**< the LMDB backend's settings (NULL: its defaults) */
    uint32_t run_history;   /**< runs kept per job (and per owner and stack for runs without
                                 a job), 1..JOBS_RUN_HISTORY_MAX (0: 100); older ones are swept
                                 as new runs are made, at most 16 a run (version 3;
                                 docs/runs.md) */
} jobs_store_options;

/** Initialiser for jobs_store_options: `jobs_store_options o = JOBS_STORE_OPTIONS_INIT;` */
#define JOBS_STORE_OPTIONS_INIT {JOBS_STORE_OPTIONS_VERSION, NULL, 0, NULL, NULL, 0, NULL, 0}

/**
 * Opens (and on first use creates) the store in `opts->path`.
 *
 * A new store holds the five built-in public schedules (ids 1-5: every minute, every 5 minutes,
 * every 15 minutes, hourly, daily). Opening clears the reader slots left by crashed processes.
 * Several processes may open the same store at once; within one process, open it once and share
 * the handle. A child of fork() never uses (nor closes) a handle its parent opened: it opens the
 * store anew, which its parent's open does not make JOBS_EBUSY (docs/threading.md).
 *
 * A standard descriptor (0, 1 or 2) that is closed when the store is opened is first opened on
 * /dev/null (as SQLite does): the store's files would otherwise take it, and the next write to
 * stdout or stderr would land in the store. jobs_store_restore() does the same.
 *
 * @param[out] out   the new handle, or NULL on failure
 * @param opts       options; `path` is required
 * @return 0, or JOBS_EINVAL (bad options), JOBS_EVERSION (unknown opts->version or
 *         opts->lmdb->version), JOBS_EBUSY (already open in this process; with
 *         JOBS_STORE_READONLY, also open in another process; a store of an older schema, which
 *         a read-write open migrates, open in another process), JOBS_ENOTFOUND (read-only: no
 *         store there), JOBS_ESCHEMA (store written by an incompatible version),
 *         JOBS_ECORRUPT (not a store LMDB can read, or LMDB's data.mdb cut short: shorter than
 *         its pages, docs/storage.md), JOBS_ENOMEM, JOBS_EIO.
 */
JOBS_EXTERN int jobs_store_open(jobs_store **out, const jobs_store_options *opts);

/**
 * Closes a store and frees the handle. Accepts NULL. Every other call on this handle must have
 * returned first; nothing is lost (every acknowledged write was already committed).
 */
JOBS_EXTERN void jobs_store_close(jobs_store *store);

/**
 * The backend that jobs_store_open() chooses for `path`, told by the path's form alone (nothing
 * is opened or checked): "postgresql" for a PostgreSQL URI (`postgresql://...`,
 * `postgres://...`) or a libpq conninfo (a string that starts with one of libpq's connection
 * keywords and `=`, such as `host=/run/postgresql dbname=jobs`), "lmdb" for anything else (a
 * directory). The names are those of jobs_store_stat_info.backend; NULL for a NULL path. A
 * libjobs built without PostgreSQL answers "postgresql" too, and its jobs_store_open() then
 * JOBS_ENOTSUP. For a host that words its advice or its checks per backend before a store is
 * open, or when an open failed.
 * @since 0.4.0
 */
JOBS_EXTERN const char *jobs_store_path_backend(const char *path);

/** The version of jobs_store_stat_info this header describes. */
#define JOBS_STORE_STAT_VERSION 3

/**
 * Current state of a store, as reported by jobs_store_stat(). The caller sets `version`
 * (JOBS_STORE_STAT_INFO_INIT does): the library fills only the fields that version has, so the
 * struct can grow at its end without an older caller's memory being overrun.
 */
typedef struct jobs_store_stat_info {
    unsigned int version; /**< set by the caller: JOBS_STORE_STAT_VERSION */
    uint64_t jobs;        /**< jobs in the store, all owners */
    uint64_t schedules;   /**< schedules, built-in ones included */
    uint64_t stacks;      /**< stacks */
    uint64_t jobs_active; /**< jobs that will run (or, queued, be deleted) at their next_run */
    uint64_t jobs_queued; /**< active jobs queued for deletion (a subset of jobs_active) */
    uint64_t writes;      /**< write calls committed through this handle since it was opened */
    uint64_t commits;     /**< commits they took: fewer than writes when group commit let
                               concurrent writes share one */
    const char *backend;  /**< the backend's name, "lmdb" (static storage) */
    jobs_stat_lmdb lmdb;  /**< the LMDB backend's figures (0 on another backend) */
    /* Version 2: */
    uint64_t records;     /**< namespaced records (jobs_kv_put(), all namespaces; id counters
                               are not records) */
    /* Version 3: */
    uint64_t runs;        /**< run records kept, all owners */
    uint64_t runs_queued; /**< runs pending delivery or running under a lease */
} jobs_store_stat_info;

/** Initialiser: `jobs_store_stat_info st = JOBS_STORE_STAT_INFO_INIT;` */
#define JOBS_STORE_STAT_INFO_INIT {JOBS_STORE_STAT_VERSION, 0, 0, 0, 0, 0, 0, 0, NULL, {0, 0, 0}, \
                                   0, 0, 0}

/**
 * Fills `out` with the store's counts and its backend's figures. Set out->version first
 * (JOBS_STORE_STAT_INFO_INIT). Thread-safe.
 * @return 0, JOBS_EINVAL, JOBS_EVERSION (out->version is 0 or newer than this library's), or
 *         an error of the store.
 */
JOBS_EXTERN int jobs_store_stat(jobs_store_stat_info *out, jobs_store *store);

/**
 * Verifies the store, in one read transaction (writers are not blocked): every record decodes;
 * every index (owner order, names, due times, the page index, visibility of schedules and
 * stacks) has exactly one entry per record and each entry agrees with its record; per-owner
 * counts and schedule reference counts match; id counters are ahead of every id; no job
 * references a missing schedule or stack, or one its owner may not use. Reads the whole store:
 * O(n log n), with memory of 8 bytes per job. Thread-safe.
 *
 * @return 0 when consistent; JOBS_ECORRUPT with jobs_error_last() naming the first
 *         inconsistency found; or JOBS_EINVAL, JOBS_ENOMEM, or an error of the store.
 */
JOBS_EXTERN int jobs_store_check(jobs_store *store);

/**
 * Writes a consistent, compacted copy of the store into the directory `dest_dir`, which then
 * holds a store of its own: open it with jobs_store_open() (JOBS_STORE_READONLY to read or
 * check it without writing a byte), or put it back with jobs_store_restore().
 *
 * The copy reads one snapshot in one read transaction, so it holds exactly the writes committed
 * before it began, while threads of this process and other processes go on writing (they are
 * not blocked). The LMDB backend writes a compacting copy (no free pages), so it is often
 * smaller than the store's own file.
 *
 * `dest_dir` is created (mode 0700) when missing, and must be empty when it exists; its parent
 * must exist. The copy is written under a temporary name, flushed to disk, and only then renamed
 * to its final name (and the directory flushed), so a backup directory never holds a partial
 * store under the final name. On failure, the files and directory this call created are
 * removed.
 *
 * Thread-safe, and may run beside any other call on the store. While the copy runs, a growth of
 * the LMDB map by a write of this process waits for it to end; other processes are not
 * affected. The copy takes one reader slot (see jobs_options_lmdb.max_readers), and the space
 * of its snapshot cannot be reused until it ends, so the store's file may grow during a long
 * copy under heavy writes.
 *
 * @param store     the store
 * @param dest_dir  the backup directory: new, or empty
 * @return 0, or JOBS_EINVAL (NULL argument; `dest_dir` is not an empty directory, or its parent
 *         is missing), JOBS_ENOSPC (the disk is full), JOBS_ENOMEM, or JOBS_EIO (any other
 *         failure of the file system or of the backend); jobs_error_last() names the path and
 *         the cause.
 * @since 0.1.0
 */
JOBS_EXTERN int jobs_store_backup(jobs_store *store, const char *dest_dir);

/** Flags for jobs_store_restore(). */
enum jobs_restore_flags {
    /** Replace the store that the directory already holds (refused without it). */
    JOBS_RESTORE_FORCE = 1u << 0
};

/**
 * Puts the backup in `backup_dir` (what jobs_store_backup() wrote) in place of the store that
 * `opts` names, the counterpart of jobs_store_backup(). No process may have the store open.
 *
 * The backup's file is copied into a staging directory inside the store's directory, and the
 * copy is opened read-only and checked as jobs_store_check() does; only a consistent copy
 * replaces the store, by a rename (so the store is, at every moment, either the old one or the
 * whole new one), and the directory is flushed. The store's directory is created (mode 0700)
 * when missing; a restore that fails leaves the directory as it found it (one it created is
 * removed, an empty one stays empty, a store there is untouched). While the checked copy is
 * put in place, a process that opens the store waits for it; one that opened the store during
 * the check makes the restore fail with JOBS_EBUSY.
 *
 * A backup written by an earlier libjobs (an older schema, which the read-only open refuses) is
 * restored too: the staged copy, which only the restore sees, is first opened read-write once,
 * which migrates it to this library's schema as jobs_store_open() migrates a store, and is then
 * opened read-only and checked as above. The restored store therefore has this library's
 * schema, and the libjobs that wrote the backup can no longer open it. A copy of a schema this
 * library cannot migrate (a later one, or none: not a libjobs store) is refused with
 * JOBS_ESCHEMA, and nothing is changed.
 *
 * The backup itself is only read (its file is copied, never opened as a store): the backup
 * directory is left exactly as it was, in its own schema, so the libjobs that wrote it can
 * still open it.
 *
 * Only opts->path and opts->version are used (the options are those of jobs_store_open()).
 *
 * @param opts        where the store is
 * @param backup_dir  the backup's directory
 * @param flags       jobs_restore_flags
 * @return 0; JOBS_EINVAL (NULL argument, unknown flag, `backup_dir` holds no backup or is the
 *         store itself); JOBS_EEXISTS (the directory holds a store, and no JOBS_RESTORE_FORCE);
 *         JOBS_EBUSY (the store, or the backup, is open in a process); JOBS_ECORRUPT or
 *         JOBS_ESCHEMA (the backup is empty, cut short or fails its check, or has a schema
 *         this library cannot migrate: nothing was changed); JOBS_ENOTSUP (`opts` names a
 *         PostgreSQL store: restore it with PostgreSQL's own tools); JOBS_ENOSPC, JOBS_ENOMEM,
 *         JOBS_EIO.
 *         jobs_error_last() says which and why.
 * @since 0.2.0
 */
JOBS_EXTERN int jobs_store_restore(const jobs_store_options *opts, const char *backup_dir,
                                   unsigned int flags);

/**
 * Waits until a write makes a job or a run due before `before` (Unix seconds), or until
 * `timeout_ms` milliseconds have passed: for a scheduler loop that ticks every few seconds, so
 * that a job made due sooner than its next tick still runs on time. The writes that tell it:
 * jobs_create() and jobs_update() of an enabled job (also jobs_create_idempotent() and
 * jobs_stack_create_with_job()), jobs_run_now() and jobs_run_now_stack(); once they commit.
 *
 * On PostgreSQL the writes of every process on the database tell it (NOTIFY on the write's
 * commit; the wait LISTENs on a connection of its own, opened at the first call). On LMDB only
 * the writes of this process do (the handle's own condition variable): another process's
 * writes are found by the next tick.
 *
 * A notice that comes while nobody waits is kept for the next call, which then returns at
 * once; a notice of a later due time (not before `before`) is kept too, for a call with a
 * later `before`. Meant for one waiting thread per handle (the host's scheduler thread); with
 * several, one of them takes each notice. A spurious 1 is possible (a write rolled back on
 * LMDB after it told); the tick that follows then finds nothing new.
 *
 * A scheduler loop ticks, then waits with `before` its next tick's time; when this returns 1
 * it ticks at *due instead (which may be now: jobs_run_now()). Nothing else ends a wait before
 * its timeout, jobs_store_close() included (which may only be called once the wait has
 * returned): a host that must stop its loop promptly waits in short slices and checks its own
 * stop flag between them (jobs-server waits a second at a time).
 *
 * @param[out] due    the due time that the write told (the earliest, when several did); set
 *                    only when 1 is returned (may be NULL)
 * @param store       the store
 * @param before      the caller's next tick: notices of due times at or after it are kept
 * @param timeout_ms  0..86,400,000; 0 only takes a notice already there
 * @return 1 when such a write committed, 0 at the timeout, JOBS_EINVAL, or an error of the
 *         store (PostgreSQL: JOBS_EUNAVAILABLE when the database cannot be reached; wait
 *         the timeout some other way then, and call again later).
 * @since 0.2.0
 */
JOBS_EXTERN int jobs_store_wait(int64_t *due, jobs_store *store, int64_t before, int timeout_ms);

/**
 * Copies every record of the store `from` into the store `to`, whatever their backends (an LMDB
 * store into PostgreSQL, and back): jobs, schedules, stacks with their blocks, runs,
 * idempotency keys, namespaced records (jobs_kv_*) and the id counters, with their ids, so ids
 * go on where the source stopped and none is ever given twice.
 *
 * `to` must be empty: a new store (its built-in schedules, which the source holds too, are
 * fine; one the source's owner changed is rewritten as the source has it), or one that holds
 * nothing else and has given no id the source has not. The source is
 * read in one read transaction (a snapshot; its writers are not blocked) into memory, about
 * the size of its records; the target is written in one write transaction, so a copy that
 * fails before or during that write leaves it as it was. Then the copy is verified:
 * jobs_store_check() on the target, and the source read again and compared with the target
 * record by record, with their counts. A copy that fails the verification (JOBS_ECONFLICT,
 * JOBS_ECORRUPT from the check) has written the target: copy again into a new store.
 *
 * Stop the source's writers first: a write to the source during the copy is not in the copy,
 * and the comparison then fails with JOBS_ECONFLICT (the target holds the snapshot; copy
 * again into a new store).
 *
 * @param from  the store to copy
 * @param to    an empty store, opened read-write
 * @return 0; JOBS_EINVAL (NULL, or one store twice); JOBS_EEXISTS (the target is not empty:
 *         jobs_error_last() says what it holds; nothing was written); JOBS_ENOTSUP (a backend
 *         that cannot be copied); JOBS_ECONFLICT (the source changed during the copy);
 *         JOBS_ECORRUPT (a source record does not decode, or the verification failed);
 *         JOBS_EREADONLY (the target is read-only), JOBS_ENOMEM, or an error of either store.
 * @since 0.2.0
 */
JOBS_EXTERN int jobs_store_copy(jobs_store *from, jobs_store *to);

#ifdef __cplusplus
}
#endif

#endif
