/**
 * @file jobs/scheduler.h
 * @brief The scheduler tick: runs due jobs at most once per slot, across threads and processes.
 */
#ifndef JOBS_SCHEDULER_H
#define JOBS_SCHEDULER_H

#include "run.h"
#include "store.h"

#ifdef __cplusplus
extern "C" {
#endif

/** What happened to a due job in a tick. */
typedef enum jobs_event_type {
    JOBS_EVENT_RUN = 1,    /**< the host should run the job's stack now */
    JOBS_EVENT_DELETED = 2 /**< the job was queued for deletion and is now gone (not run) */
} jobs_event_type;

/**
 * One event of a tick, as passed to the host's callback. Valid only during the callback.
 */
typedef struct jobs_event {
    jobs_event_type type; /**< run or deleted */
    uint64_t job;         /**< the job's id */
    uint64_t owner;       /**< its owner */
    const char *name;     /**< its name, or NULL */
    uint64_t stack;       /**< the stack to run */
    uint64_t schedule;    /**< its schedule */
    int64_t slot;         /**< the slot this event is for, not the tick's now: the job's
                               next_run (or, under misfire skip or catch-up, the later due
                               slot that runs); for a manual run, when it was made */
    /* Added with runs (docs/runs.md); a host built before them reads only the fields above. */
    uint64_t run;         /**< the run record of a JOBS_EVENT_RUN (0 for JOBS_EVENT_DELETED):
                               report its end with jobs_run_finish() */
    jobs_run_trigger trigger; /**< what made the run (0 for JOBS_EVENT_DELETED) */
    uint32_t attempt;     /**< its delivery: 1, or more when an at-least-once lease ended */
    uint64_t missed;      /**< slots coalesced into this run (misfire coalesce) */
    jobs_delivery delivery; /**< at-least-once: finish before lease_until, or it comes again */
    int64_t lease_until;  /**< at-least-once: when the lease ends; else 0 */
} jobs_event;

/**
 * The host's callback, called once per event after the tick's changes are committed. No
 * transaction is held during callbacks, so it may call any libjobs function, on any store.
 * Return 0 to continue; any other value stops delivering this tick's remaining events. They are
 * already committed, so the host is never told of those runs by this tick: an at-most-once one
 * stays `delivered` and is never delivered again; an at-least-once one is delivered again, with
 * attempt + 1, by a tick once its lease ends (as when the host died holding it).
 */
typedef int (*jobs_event_fn)(const jobs_event *event, void *ctx);

/**
 * Runs one scheduler tick for time `now`.
 *
 * In one transaction, takes every active job whose next_run <= now in (next_run, id) order:
 * a job queued for deletion is deleted, with its history (JOBS_EVENT_DELETED); a periodic or
 * cron job's next_run moves to its first slot later than `now`; a one-time job is disabled.
 * (A periodic job whose next slot would lie past INT64_MAX, and a cron job with no match left
 * before the end of year 9999, is disabled after its run.) What
 * the job's due slots (next_run and the later ones <= now) become is its misfire policy's:
 * coalesce (the default) gives one JOBS_EVENT_RUN for them all, with their count; skip gives
 * one for the latest slot when it is within the grace, and none otherwise; catch-up gives one
 * per slot, the latest misfire_value of them, oldest first. Only after the commit is `fn`
 * called, once per event, in that order (the jobs' events first, then the queued runs'
 * below). Several threads or processes may tick the same store concurrently: each slot runs at
 * most once.
 *
 * Each run is a run record (jobs/run.h), made in the same transaction that moves the job
 * (slots not run are one `skipped` record), and jobs_event.run names the record. The same tick
 * delivers the runs made by jobs_run_now() and jobs_run_now_stack() and re-delivers
 * at-least-once runs whose lease ended (lease_until <= now; attempt + 1; after max_attempts
 * they are lost, without an event). Each run it makes trims that run's history to the store's
 * limit, a bounded batch at a time (docs/runs.md, "History"); a history that gets no new runs
 * is not trimmed.
 *
 * At most `limit` due jobs are taken (0: no limit), and at most `limit` queued runs. A tick
 * that took as many may have left more: call again while jobs_scheduler_next_run() answers a
 * time <= now (*n_events counts events, not what was taken: a skipped slot or a lost run
 * makes none, a catch-up several, so it cannot tell).
 *
 * @param[out] n_events  the number of events committed (may be NULL)
 * @param fn             the callback, or NULL to commit without being told
 * @return 0, JOBS_EINVAL, JOBS_ENOMEM, JOBS_ENOSPC, JOBS_ERANGE (every run id up to
 *         JOBS_ID_MAX is used, so no run can be made), or a store error (then nothing changed
 *         and nothing was delivered); or the first non-zero value `fn` returned.
 */
JOBS_EXTERN int jobs_scheduler_tick(size_t *n_events, jobs_store *store, int64_t now,
                                    size_t limit, jobs_event_fn fn, void *ctx);

/**
 * The earliest time at which a tick has work, so a host can sleep until then: the earliest
 * next_run of all active jobs, or of the queued runs (a pending one, made by jobs_run_now()
 * or jobs_run_now_stack(), from when it was made; a running at-least-once one from when its
 * lease ends), whichever comes first. It may be in the past: tick at once.
 * @param[out] next_run  Unix seconds
 * @return 0, JOBS_ENOTFOUND when no job is active and no run is queued, JOBS_EINVAL, or a store
 *         error.
 */
JOBS_EXTERN int jobs_scheduler_next_run(int64_t *next_run, jobs_store *store);

/**
 * Makes a run of a stack as jobs_run_now_stack() does, and delivers it to the caller in the same
 * transaction: it is `delivered` (attempt 1) when this returns, and no tick delivers it, in this
 * process or any other sharing the store. For a host that must run it itself, e.g. because it
 * alone holds the run's input (jobs-server's webhooks: the request is the input, and on a shared
 * PostgreSQL store another node's tick could otherwise take the run). Report its end with
 * jobs_run_finish() as for any delivered run.
 *
 * @param[out] ev  the run, as a tick's callback would get it (type JOBS_EVENT_RUN, no job,
 *                 `slot` the time it was made); written only on success
 * @return as jobs_run_now_stack(); JOBS_EINVAL for a NULL `ev`.
 * @since 0.2.0
 */
JOBS_EXTERN int jobs_run_start_stack(jobs_event *ev, jobs_store *store, uint64_t owner,
                                     uint64_t stack, jobs_run_trigger trigger);

#ifdef __cplusplus
}
#endif

#endif
