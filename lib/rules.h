/* What the rule modules offer each other and the store's lifecycle: record access with the
 * visibility rules applied, inside a transaction the caller holds. */
#ifndef JOBS_LIB_RULES_H
#define JOBS_LIB_RULES_H

#include "codec.h"
#include "store.h"

/* Ids of the built-in public schedules, created in every new store. */
#define JOBS__BUILTIN_SCHEDULES 5

/* Creates the built-in schedules of a new store. */
int jobs__schedules_seed(MDB_txn *txn, jobs_store *s);

/* A schedule `owner` may use (public or own): 0, or JOBS_ESCHEDULE. */
int jobs__schedule_usable(MDB_txn *txn, jobs_store *s, uint64_t owner, uint64_t id,
                          jobs__schedule_rec *rec);
/* Counts the jobs referencing a schedule (delta +1 or -1). */
int jobs__schedule_ref(MDB_txn *txn, jobs_store *s, uint64_t id, int delta);

/* A stack `owner` may use (public or own): 0, or JOBS_ESTACK. */
int jobs__stack_usable(MDB_txn *txn, jobs_store *s, uint64_t owner, uint64_t id);

/* Reads a job record by id, of any owner: 0, JOBS_ENOTFOUND or JOBS_ECORRUPT. The record's
 * name points into the store's memory, valid only until the next write of the transaction;
 * write paths pass `copy` (JOBS__RECORD_MAX bytes) to decode from a private copy instead. */
int jobs__job_load(MDB_txn *txn, jobs_store *s, uint64_t id, jobs__job_rec *rec,
                   unsigned char *copy);
/* Writes a job record and keeps the due index in step with the change from `old` (NULL for a
 * new job) to `rec`. */
int jobs__job_store(MDB_txn *txn, jobs_store *s, uint64_t id, const jobs__job_rec *old,
                    const jobs__job_rec *rec);
/* Removes a job and all its index entries. */
int jobs__job_remove(MDB_txn *txn, jobs_store *s, uint64_t id, const jobs__job_rec *rec);

/* Copies a name into a NUL-terminated string at `dst` (which has name_len + 1 bytes). */
static inline char *jobs__name_copy(char *dst, const char *name, size_t name_len)
{
    memcpy(dst, name, name_len);
    dst[name_len] = '\0';
    return dst;
}

#endif
