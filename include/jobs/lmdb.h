/**
 * @file jobs/lmdb.h
 * @brief Settings and figures of the LMDB backend, the embedded default.
 *
 * The one public header that speaks of LMDB. Everything else in the API means the same on every
 * backend; what only LMDB has (a memory map and its size, reader slots, how commits are flushed)
 * is here, reached from jobs_store_options.lmdb and jobs_store_stat_info.lmdb.
 */
#ifndef JOBS_LMDB_H
#define JOBS_LMDB_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Flags for jobs_options_lmdb.flags. */
enum jobs_flags_lmdb {
    /**
     * Do not flush to disk at each commit (LMDB's no-sync mode). A crash of the process loses
     * nothing, but an operating-system crash or power loss may lose the last commits. For tests
     * and bulk loads; never for data you have acknowledged to someone.
     */
    JOBS_NOSYNC_LMDB = 1u << 0
};

/** The version of jobs_options_lmdb this header describes. */
#define JOBS_OPTIONS_VERSION_LMDB 1

/**
 * The LMDB backend's settings, given to jobs_store_open() through jobs_store_options.lmdb
 * (NULL there: every default). Initialise with JOBS_OPTIONS_INIT_LMDB, then set what you need:
 * fields left at 0 take their defaults. New fields are only ever added at the end. The struct
 * is read during jobs_store_open() only.
 */
typedef struct jobs_options_lmdb {
    unsigned int version;     /**< JOBS_OPTIONS_VERSION_LMDB */
    size_t map_size;          /**< initial map size in bytes (default 64 MiB, or max_map_size
                                   when that is smaller); grows when full */
    size_t max_map_size;      /**< growth stops here: JOBS_ENOSPC (default 0: no limit but the
                                   disk); a larger map_size is lowered to it */
    unsigned int max_readers; /**< concurrent read transactions, all processes (default 256) */
    unsigned int flags;       /**< jobs_flags_lmdb */
} jobs_options_lmdb;

/** Initialiser for jobs_options_lmdb: `jobs_options_lmdb l = JOBS_OPTIONS_INIT_LMDB;` */
#define JOBS_OPTIONS_INIT_LMDB {JOBS_OPTIONS_VERSION_LMDB, 0, 0, 0, 0}

/** The LMDB backend's figures in jobs_store_stat_info (all 0 on another backend). */
typedef struct jobs_stat_lmdb {
    size_t map_size; /**< bytes currently mapped */
    size_t map_used; /**< bytes in use (last page number times page size) */
    uint64_t file_size; /**< bytes of the store's file on disk */
} jobs_stat_lmdb;

#ifdef __cplusplus
}
#endif

#endif
