/* jobs-bench: libjobs against raw LMDB and SQLite 3, in one process and one run.
 *
 * Each engine sits behind one table of functions (bench_engine_ops). Every function that runs
 * operations runs a whole batch of them, checks every answer, and calls bench_fail() on the
 * first one that is wrong, so a benchmark can never time nothing. */
#ifndef JOBS_BENCH_H
#define JOBS_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Jobs per listed page (the store's default page size). */
#define BENCH_PAGE_SIZE 10
/* Longest generated name: "job-" or "new-" or "upd-" and 8 or more digits. */
#define BENCH_NAME_MAX 23
/* Owners of the base jobs are 1..BENCH_OWNERS; the deep owner comes after them. */
#define BENCH_OWNERS 100
#define BENCH_DEEP_OWNER ((uint64_t)1000)

#if defined(__GNUC__)
#  define BENCH_NORETURN __attribute__((noreturn))
#  define BENCH_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#  define BENCH_NORETURN
#  define BENCH_PRINTF(f, a)
#endif

/* What every engine stores in the same way. */
typedef struct bench_params {
    int64_t period;    /* the period of the jobs' schedule, in seconds */
    uint64_t stack;    /* the stack id every job runs */
    uint64_t schedule; /* the schedule id every job runs on */
} bench_params;

/* One job, as the harness knows it. Ids are the ones libjobs assigns (1, 2, 3, ...); the other
 * engines are given the same ids, so every engine holds the same jobs. */
typedef struct bench_job {
    uint64_t id, owner;
    int64_t next_run; /* meaningful when enabled */
    bool enabled;
    size_t name_len;
    char name[BENCH_NAME_MAX + 1];
} bench_job;

/* One page to list and what it must hold. */
typedef struct bench_page {
    uint64_t owner, page;
    uint64_t count; /* the owner's jobs in all (checked where the engine reports it) */
    size_t n;
    uint64_t ids[BENCH_PAGE_SIZE];
} bench_page;

typedef struct bench_engine_ops {
    const char *name;
    /* Whether the durable writes keep every index (false for raw LMDB's single put). */
    bool writes_keep_indexes;
    /* Opens a new store in `dir` (which exists and is empty), in bulk-load (no sync) mode. */
    void *(*open)(const char *dir, const bench_params *params);
    void (*close)(void *e);
    /* Durable: every commit is flushed to disk. Otherwise commits skip the flush. */
    void (*set_durable)(void *e, bool durable);
    /* Adds jobs as fast as the engine allows (large transactions where it has them). */
    void (*load)(void *e, const bench_job *jobs, size_t n);
    /* `count` gets of keys[(start + i) % nkeys], each checked (id, owner, name). */
    void (*get_by_id)(void *e, const bench_job *keys, size_t nkeys, size_t start, size_t count);
    void (*get_by_name)(void *e, const bench_job *keys, size_t nkeys, size_t start,
                        size_t count);
    /* `count` lists of pages[(start + i) % npages], each checked against the expected ids. */
    void (*list)(void *e, const bench_page *pages, size_t npages, size_t start, size_t count);
    /* One operation per transaction each: create inactive jobs with the given ids, rename them
     * to the given names, delete them. */
    void (*create)(void *e, const bench_job *jobs, size_t n);
    void (*update)(void *e, const bench_job *jobs, size_t n);
    void (*remove)(void *e, const bench_job *jobs, size_t n);
    /* Whether a job with this id (of this owner) exists. */
    bool (*exists)(void *e, const bench_job *job);
    /* `ticks` scheduler ticks at now0 + step, now0 + 2 step, ...; each must take exactly `due`
     * jobs, all with a slot in (now - step, now], and move them on by one period. */
    void (*tick)(void *e, int64_t now0, int64_t step, size_t ticks, size_t due);
    /* Jobs in the store, and the bytes its files take (after a checkpoint where that applies). */
    uint64_t (*count)(void *e);
    uint64_t (*disk_bytes)(void *e);
    /* The bytes of the pages in use, free pages left out. */
    uint64_t (*live_bytes)(void *e);
    /* Bulk load: adds jobs of one owner, all with the same next_run, through the engine's way
     * of putting many operations in one transaction (libjobs: jobs_batch() of bench_bulk_batch
     * operations each). NULL: `load` is that way already. */
    void (*bulk)(void *e, const bench_job *jobs, size_t n);
} bench_engine_ops;

/* Operations per jobs_batch() call of the bulk load (--bulk-batch). */
extern size_t bench_bulk_batch;

extern const bench_engine_ops bench_libjobs_ops;
extern const bench_engine_ops bench_lmdb_ops;
extern const bench_engine_ops bench_sqlite_ops;
/* libjobs on PostgreSQL (engine_libjobs.c, built with the backend): each store a fresh schema
 * of the database bench_pg_base names (jobs-bench --pg). */
extern const bench_engine_ops bench_libjobs_pg_ops;
extern const char *bench_pg_base;

/* The size of the record libjobs writes for a job (docs/storage.md, record format 1). */
size_t bench_record_size(const bench_params *params, const bench_job *job);

/* Prints "jobs-bench: <message>", removes the temporary directory and exits with status 1. */
BENCH_NORETURN void bench_fail(const char *fmt, ...) BENCH_PRINTF(1, 2);

/* Allocation that fails the run instead of returning NULL. */
void *bench_malloc(size_t size);

/* Fills `path` (of `size` bytes) with dir/name; fails the run when it does not fit. */
void bench_path(char *path, size_t size, const char *dir, const char *name);

/* The size of a file in bytes, 0 when it does not exist. */
uint64_t bench_file_size(const char *path);

/* The bytes of the pages in use by every database of the LMDB environment `env`: branch, leaf
 * and overflow pages of the main and the named databases, free pages left out. */
typedef struct MDB_env MDB_env;
uint64_t bench_lmdb_live_bytes(MDB_env *env);

/* The first slot later than `now` of a job due at `slot` with period `period`. */
static inline int64_t bench_next_slot(int64_t slot, int64_t period, int64_t now)
{
    return slot + ((now - slot) / period + 1) * period;
}

#endif
