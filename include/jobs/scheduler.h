/**
 * @file jobs/scheduler.h
 * @brief The scheduler tick: runs due jobs at most once per slot, across threads and processes.
 */
#ifndef JOBS_SCHEDULER_H
#define JOBS_SCHEDULER_H

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
    int64_t slot;         /**< the next_run this event is for (the slot, not the tick's now) */
} jobs_event;

/**
 * The host's callback, called once per event after the tick's changes are committed. No
 * transaction is held during callbacks, so it may call any libjobs function, on any store.
 * Return 0 to continue; any other value stops delivering this tick's remaining events (they are
 * already committed, so they are not delivered again).
 */
typedef int (*jobs_event_fn)(const jobs_event *event, void *ctx);

/**
 * Runs one scheduler tick for time `now`.
 *
 * In one transaction, takes every active job whose next_run <= now in (next_run, id) order:
 * a job queued for deletion is deleted (JOBS_EVENT_DELETED); a periodic job gets one
 * JOBS_EVENT_RUN and its next_run moves to the first slot next_run + k * period later than
 * `now` (missed slots are coalesced into one run); a one-time job gets one JOBS_EVENT_RUN and is
 * disabled. (A periodic job whose next slot would lie past INT64_MAX is disabled after its run.) Only after the commit is `fn` called, once per event, in that order. Several
 * threads or processes may tick the same store concurrently: each slot runs at most once.
 *
 * At most `limit` due jobs are taken (0: no limit); call again while *n_events == limit.
 *
 * @param[out] n_events  the number of events committed (may be NULL)
 * @param fn             the callback, or NULL to commit without being told
 * @return 0, JOBS_EINVAL, JOBS_ENOMEM, JOBS_ENOSPC, or a store error (then nothing changed and
 *         nothing was delivered); or the first non-zero value `fn` returned.
 */
JOBS_EXTERN int jobs_scheduler_tick(size_t *n_events, jobs_store *store, int64_t now,
                                    size_t limit, jobs_event_fn fn, void *ctx);

/**
 * The earliest next_run of all active jobs, so a host can sleep until then.
 * @param[out] next_run  Unix seconds
 * @return 0, JOBS_ENOTFOUND when no job is active, JOBS_EINVAL, or a store error.
 */
JOBS_EXTERN int jobs_scheduler_next_run(int64_t *next_run, jobs_store *store);

#ifdef __cplusplus
}
#endif

#endif
