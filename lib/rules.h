/* What the rule modules offer each other: record access with the visibility rules applied,
 * inside a transaction the caller holds (through the backend, lib/backend.h). */
#ifndef JOBS_LIB_RULES_H
#define JOBS_LIB_RULES_H

#include "codec.h"
#include "store.h"

/* Ids of the built-in public schedules, created in every new store. */
#define JOBS__BUILTIN_SCHEDULES 5

/* Creates the built-in schedules of a new store (the backend calls it at its first open). */
int jobs__schedules_seed(jobs_store *s, jobs__txn *txn);

/* A schedule `owner` may use (public or own): 0, or JOBS_ESCHEDULE. */
int jobs__schedule_usable(jobs_store *s, jobs__txn *txn, uint64_t owner, uint64_t id,
                          jobs__schedule_rec *rec);

/* A stack `owner` may use (public or own): 0, or JOBS_ESTACK. */
int jobs__stack_usable(jobs_store *s, jobs__txn *txn, uint64_t owner, uint64_t id);

/* Checks a new job's spec (fields, ids, name) before its transaction; sets *name_len. */
int jobs__job_check_new(const jobs_job_spec *spec, size_t *name_len);

/* Creates a job in a write transaction the caller holds: the visibility, name and schedule
 * rules as jobs_create(), `now` read before the transaction. */
int jobs__job_insert_new(jobs_store *s, jobs__txn *txn, uint64_t owner, const jobs_job_spec *spec,
                         size_t name_len, int64_t now, uint64_t *id);

/* Copies a name into a NUL-terminated string at `dst` (which has name_len + 1 bytes). */
static inline char *jobs__name_copy(char *dst, const char *name, size_t name_len)
{
    memcpy(dst, name, name_len);
    dst[name_len] = '\0';
    return dst;
}

#endif
