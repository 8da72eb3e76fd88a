/**
 * @file jobs/store.h
 * @brief Opening and closing a libjobs store (one LMDB environment in a directory).
 */
#ifndef JOBS_STORE_H
#define JOBS_STORE_H

#include "common.h"

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
    /**
     * Do not flush to disk at each commit (LMDB's MDB_NOSYNC). A crash of the process loses
     * nothing, but an operating-system crash or power loss may lose the last commits. For tests
     * and bulk loads; never for data you have acknowledged to someone.
     */
    JOBS_STORE_NOSYNC = 1u << 0,
    /**
     * Give every write its own transaction and commit. By default, writes that arrive while
     * another is committing wait and then share one transaction and one commit (group commit:
     * one flush for all of them, each still told its own result only once it is durable). This
     * flag turns that off, to measure the difference; there is no other reason to set it.
     */
    JOBS_STORE_NO_GROUP_COMMIT = 1u << 1
};

/** The version of jobs_store_options this header describes. */
#define JOBS_STORE_OPTIONS_VERSION 1

/**
 * Options for jobs_store_open(). Initialise with JOBS_STORE_OPTIONS_INIT, then set what you
 * need: fields left at 0 take their defaults. New fields are only ever added at the end.
 */
typedef struct jobs_store_options {
    unsigned int version;   /**< JOBS_STORE_OPTIONS_VERSION */
    const char *path;       /**< directory of the store; created (mode 0700) if missing */
    size_t map_size;        /**< initial map size in bytes (default 64 MiB); grows when full */
    size_t max_map_size;    /**< growth stops here: JOBS_ENOSPC (default 0: no limit but the disk) */
    uint32_t page_size;     /**< default list page size (default 10, at most 1000) */
    unsigned int max_readers; /**< concurrent read transactions, all processes (default 256) */
    jobs_clock_fn clock;    /**< time source (default: the system's real-time clock) */
    void *clock_ctx;        /**< passed to clock */
    unsigned int flags;     /**< jobs_store_flags */
} jobs_store_options;

/** Initialiser for jobs_store_options: `jobs_store_options o = JOBS_STORE_OPTIONS_INIT;` */
#define JOBS_STORE_OPTIONS_INIT {JOBS_STORE_OPTIONS_VERSION, NULL, 0, 0, 0, 0, NULL, NULL, 0}

/**
 * Opens (and on first use creates) the store in `opts->path`.
 *
 * A new store holds the five built-in public schedules (ids 1-5: every minute, every 5 minutes,
 * every 15 minutes, hourly, daily). Opening clears the reader slots left by crashed processes.
 * Several processes may open the same store at once; within one process, open it once and share
 * the handle.
 *
 * @param[out] out   the new handle, or NULL on failure
 * @param opts       options; `path` is required
 * @return 0, or JOBS_EINVAL (bad options), JOBS_EVERSION (unknown opts->version), JOBS_EBUSY
 *         (already open in this process), JOBS_ESCHEMA (store written by an incompatible
 *         version), JOBS_ENOMEM, JOBS_EIO.
 */
JOBS_EXTERN int jobs_store_open(jobs_store **out, const jobs_store_options *opts);

/**
 * Closes a store and frees the handle. Accepts NULL. Every other call on this handle must have
 * returned first; nothing is lost (every acknowledged write was already committed).
 */
JOBS_EXTERN void jobs_store_close(jobs_store *store);

/** Current state of a store, as reported by jobs_store_stat(). */
typedef struct jobs_store_stat_info {
    size_t map_size;      /**< bytes currently mapped */
    size_t map_used;      /**< bytes in use (last page number times page size) */
    uint64_t jobs;        /**< jobs in the store, all owners */
    uint64_t schedules;   /**< schedules, built-in ones included */
    uint64_t stacks;      /**< stacks */
    uint64_t jobs_active; /**< jobs that will run (or, queued, be deleted) at their next_run */
    uint64_t jobs_queued; /**< active jobs queued for deletion (a subset of jobs_active) */
    uint64_t writes;      /**< write calls committed through this handle since it was opened */
    uint64_t commits;     /**< LMDB commits they took: fewer than writes when group commit
                               let concurrent writes share one */
} jobs_store_stat_info;

/**
 * Fills `out` with counts and map use of the store. Thread-safe.
 * @return 0, JOBS_EINVAL, or an error of the store.
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
 * holds a store of its own (one file, `data.mdb`): open it with jobs_store_open() to read it, or
 * put its `data.mdb` in place of a stopped store's to restore it.
 *
 * The copy is LMDB's compacting copy (MDB_CP_COMPACT, what `mdb_copy -c` makes): it reads one
 * snapshot in one read transaction, so it holds exactly the writes committed before it began,
 * while threads of this process and other processes go on writing (they are not blocked), and
 * it leaves out free pages, so it is often smaller than the store's own file.
 *
 * `dest_dir` is created (mode 0700) when missing, and must be empty when it exists; its parent
 * must exist. The copy is written to `dest_dir/data.mdb.partial`, flushed to disk, and only then
 * renamed to `dest_dir/data.mdb` (and the directory flushed), so a `data.mdb` in a backup
 * directory is always complete. On failure, the files and directory this call created are
 * removed.
 *
 * Thread-safe, and may run beside any other call on the store. While the copy runs, a growth of
 * the map by a write of this process waits for it to end (LMDB resizes only while no transaction
 * of the process is open); other processes are not affected. The copy takes one reader slot
 * (see jobs_store_options.max_readers), and the pages of its snapshot cannot be reused until it
 * ends, so the store's file may grow during a long copy under heavy writes.
 *
 * @param store     the store
 * @param dest_dir  the backup directory: new, or empty
 * @return 0, or JOBS_EINVAL (NULL argument; `dest_dir` is not an empty directory, or its parent
 *         is missing), JOBS_ENOSPC (the disk is full), JOBS_ENOMEM, or JOBS_EIO (any other
 *         failure of the file system or of LMDB); jobs_error_last() names the path and the cause.
 * @since 0.1.0
 */
JOBS_EXTERN int jobs_store_backup(jobs_store *store, const char *dest_dir);

#ifdef __cplusplus
}
#endif

#endif
