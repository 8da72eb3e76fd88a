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

/* Makes a run (lib/runs.c): takes its id, adds it, and trims its history to the store's limit
 * (a bounded batch). */
int jobs__run_make(jobs_store *s, jobs__txn *txn, const jobs__run_rec *rec, uint64_t *id);

/* Removes every run of a job (its history goes with it). */
int jobs__runs_purge_job(jobs_store *s, jobs__txn *txn, uint64_t job);

/* Loads a run into `copy` (JOBS__RUN_RECORD_MAX bytes), so that it outlives later writes. */
int jobs__run_load_copy(jobs_store *s, jobs__txn *txn, uint64_t id, jobs__run_rec *rec,
                        unsigned char *copy);

/* Copies a name into a NUL-terminated string at `dst` (which has name_len + 1 bytes). */
static inline char *jobs__name_copy(char *dst, const char *name, size_t name_len)
{
    memcpy(dst, name, name_len);
    dst[name_len] = '\0';
    return dst;
}

#endif
