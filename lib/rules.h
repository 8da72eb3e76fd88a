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
/* The built-in schedule `id` (1..JOBS__BUILTIN_SCHEDULES) as a new store holds it: false for
 * any other id. */
bool jobs__schedule_seed(uint64_t id, jobs__schedule_rec *rec);

/* A schedule `owner` may use (public or own): 0, or JOBS_ESCHEDULE. */
int jobs__schedule_usable(jobs_store *s, jobs__txn *txn, uint64_t owner, uint64_t id,
                          jobs__schedule_rec *rec);

/* The compiled form of a cron schedule's record (its expression parsed, its zone copied; the
 * zone is checked when a next run is computed): 0 or JOBS_ECONFIG with the parser's detail. */
struct jobs__cron;
int jobs__schedule_cron(struct jobs__cron *out, const jobs__schedule_rec *rec);

/* The verifier's look at a stored cron schedule, for every backend: its expression still
 * parses and its zone still loads (a newer libjobs may parse more strictly, a newer ICU may
 * drop a zone; the tick would disable such a job). 0, or JOBS_ECORRUPT naming schedule `id`. */
int jobs__schedule_check_cron(uint64_t id, const jobs__schedule_rec *sc);

/* The next slot of a job on schedule `sc`: the first slot strictly after t, for a job whose
 * slots are counted from `anchor` (a slot it had, or the instant it was activated; t < anchor
 * counts as anchor). Periodic: anchor + k * period; cron: the first matching minute (the
 * daylight-saving rules of docs/schedules.md). So the tick passes (slot, now) and missed slots
 * coalesce; activation passes (now, now). The one place a next slot is computed.
 * 0; JOBS_ENOTFOUND when there is none (one-time schedules; past the largest time); for cron,
 * JOBS_ECONFIG when the stored expression or zone no longer parses or loads, JOBS_ERANGE for
 * t outside 1970-9999, JOBS_ENOMEM. */
int jobs__schedule_next(int64_t *next, const jobs__schedule_rec *sc, int64_t anchor, int64_t t);

/* Loads a job of `owner` (`copy` as for the backend's job_load); another owner's job is exactly
 * as a missing one: JOBS_ENOTFOUND with "job N not found". */
int jobs__job_visible(jobs_store *s, jobs__txn *txn, uint64_t owner, uint64_t id,
                      jobs__job_rec *rec, unsigned char *copy);

/* A stack `owner` may use (public or own): 0, or JOBS_ESTACK. */
int jobs__stack_usable(jobs_store *s, jobs__txn *txn, uint64_t owner, uint64_t id);

/* Checks a new job's spec (fields, ids, name) before its transaction; sets *name_len. */
int jobs__job_check_new(const jobs_job_spec *spec, size_t *name_len);

/* Creates a job in a write transaction the caller holds: the visibility, name and schedule
 * rules as jobs_create(), `now` read before the transaction. */
int jobs__job_insert_new(jobs_store *s, jobs__txn *txn, uint64_t owner, const jobs_job_spec *spec,
                         size_t name_len, int64_t now, uint64_t *id);

/* The record of a new job, checked as jobs__job_insert_new() checks it (stack, schedule, the
 * name against the owner's stored jobs, the first run), neither given an id nor written. */
int jobs__job_new_rec(jobs_store *s, jobs__txn *txn, uint64_t owner, const jobs_job_spec *spec,
                      size_t name_len, int64_t now, jobs__job_rec *out);

/* Updates a job in a write transaction the caller holds: jobs_update_if()'s rules, `changes`
 * checked (jobs__job_check_new) with its name's length, `now` read before the transaction. */
int jobs__job_update_in(jobs_store *s, jobs__txn *txn, uint64_t owner, uint64_t id,
                        const jobs_job_spec *changes, size_t name_len, uint64_t if_match,
                        int64_t now);

/* Deletes or queues a job in a write transaction the caller holds: jobs_delete_if()'s rules. */
int jobs__job_delete_in(jobs_store *s, jobs__txn *txn, uint64_t owner, uint64_t id,
                        uint64_t if_match, jobs_delete_outcome *outcome);

/* Makes a run (lib/runs.c): takes its id, adds it, and trims its history to the store's limit
 * (a bounded batch), sparing the runs of ids >= `spare` (0: this one's): a tick passes the
 * first run it made, so that no run it hands out is swept by its own later runs. */
int jobs__run_make(jobs_store *s, jobs__txn *txn, const jobs__run_rec *rec, uint64_t *id,
                   uint64_t spare);

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
