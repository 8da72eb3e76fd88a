/**
 * @file jobs/run.h
 * @brief Runs as records: every run of a job (or of a stack run directly) is kept, with its
 * trigger, state, attempts and outcome; delivery modes, misfire policies, manual runs and the
 * history (see docs/runs.md).
 *
 * A run is made by the scheduler tick for a due job (trigger "schedule"), by jobs_run_now()
 * (trigger "manual") or by a host for a stack (jobs_run_now_stack(), trigger "manual" or
 * "hook"). It is handed to the host as a JOBS_EVENT_RUN whose jobs_event.run is its id (or,
 * made with jobs_run_start_stack() in jobs/scheduler.h, straight to its caller). The host
 * reports how it ended with jobs_run_finish().
 */
#ifndef JOBS_RUN_H
#define JOBS_RUN_H

#include "store.h"

#ifdef __cplusplus
extern "C" {
#endif

/** How a job's runs are delivered (jobs_job_spec.delivery). */
typedef enum jobs_delivery {
    /** The run is `delivered` once the host is told, and never again (the default). */
    JOBS_DELIVERY_AT_MOST_ONCE = 0,
    /** The run is `running` with a lease; unfinished when the lease ends, it is delivered again
     * (attempt + 1) by the next tick, and after max_attempts it is `lost`. */
    JOBS_DELIVERY_AT_LEAST_ONCE = 1
} jobs_delivery;

/** What the tick does with the slots a periodic job missed (jobs_job_spec.misfire). */
typedef enum jobs_misfire {
    /** One run for all missed slots, their number kept on it (`missed`). The default. */
    JOBS_MISFIRE_COALESCE = 0,
    /** Only the latest due slot runs, and only when it is within misfire_value seconds (the
     * grace) of the tick's now; every other due slot (within the grace or not) is recorded in
     * one `skipped` run and not run. */
    JOBS_MISFIRE_SKIP = 1,
    /** Each missed slot runs, at most misfire_value of them (the latest ones); older ones are
     * recorded as one `skipped` run. */
    JOBS_MISFIRE_CATCH_UP = 2
} jobs_misfire;

/** The lease of an at-least-once run when the job sets none: 300 seconds. */
#define JOBS_LEASE_DEFAULT 300u
/** The longest lease: one week. */
#define JOBS_LEASE_MAX (7u * 86400u)
/** The deliveries of an at-least-once run before it is lost, when the job sets none. */
#define JOBS_MAX_ATTEMPTS_DEFAULT 3u
/** The most deliveries a job may ask for. */
#define JOBS_MAX_ATTEMPTS_MAX 100u
/** The most runs one catch-up makes for a job's missed slots. */
#define JOBS_CATCH_UP_MAX 100u
/** The longest grace of the skip policy: one week. */
#define JOBS_GRACE_MAX (7u * 86400u)
/** Runs kept per job (and per owner and stack, for runs without a job) unless the store says
 * (jobs_store_options.run_history). */
#define JOBS_RUN_HISTORY_DEFAULT 100u
/** The most runs a store may keep per job. */
#define JOBS_RUN_HISTORY_MAX 10000u
/** The longest outcome message kept on a run, in bytes (longer ones are cut). */
#define JOBS_RUN_MESSAGE_MAX 255u
/** The most output kept on a run, in bytes: the last ones. */
#define JOBS_RUN_OUTPUT_MAX 4096u

/** What made a run. */
typedef enum jobs_run_trigger {
    JOBS_TRIGGER_SCHEDULE = 1, /**< the job's schedule, by the tick */
    JOBS_TRIGGER_MANUAL = 2,   /**< jobs_run_now() */
    JOBS_TRIGGER_HOOK = 3      /**< a webhook of the stack (the host's) */
} jobs_run_trigger;

/** Where a run is. */
typedef enum jobs_run_state {
    JOBS_RUN_PENDING = 1,   /**< made, waiting for the next tick to deliver it */
    JOBS_RUN_DELIVERED = 2, /**< at-most-once: the host was told */
    JOBS_RUN_RUNNING = 3,   /**< at-least-once: the host was told, the lease runs */
    JOBS_RUN_SUCCEEDED = 4, /**< the host reported success */
    JOBS_RUN_FAILED = 5,    /**< the host reported failure */
    JOBS_RUN_LOST = 6,      /**< at-least-once: every lease ended unfinished */
    JOBS_RUN_SKIPPED = 7    /**< missed slots not run (misfire skip or catch-up bound) */
} jobs_run_state;

/** The name of a trigger ("schedule", "manual", "hook"), or "unknown". Static storage. */
JOBS_EXTERN const char *jobs_run_trigger_name(int trigger);

/** The name of a state ("pending", "delivered", "running", "succeeded", "failed", "lost",
 * "skipped"), or "unknown". Static storage. */
JOBS_EXTERN const char *jobs_run_state_name(int state);

/**
 * A run, as libjobs hands it out (library-allocated: free with jobs_run_free(), or with
 * jobs_run_page_free() for the runs of a page). Fields may be added at the end.
 */
typedef struct jobs_run {
    uint64_t id;          /**< 1..JOBS_ID_MAX, never reused */
    uint64_t owner;       /**< the owner (of the job, or who ran the stack) */
    uint64_t job;         /**< the job, or 0 for a stack run directly */
    uint64_t stack;       /**< the stack it runs */
    int64_t slot;         /**< the time it stands for (scheduled: the slot; else when made) */
    jobs_run_trigger trigger; /**< what made it */
    jobs_run_state state; /**< where it is */
    uint32_t attempt;     /**< deliveries so far (0 while pending) */
    int64_t created;      /**< when it was made (Unix seconds) */
    int64_t started;      /**< its latest delivery, or 0 */
    int64_t finished;     /**< when it ended (succeeded, failed, lost, skipped), or 0 */
    int64_t lease_until;  /**< running: when its lease ends; else 0 */
    uint64_t missed;      /**< slots coalesced into it (or, skipped, the slots skipped); for
                               a cron job past 1,000 slots, a lower bound (docs/runs.md) */
    int64_t missed_since; /**< the first of those slots, or 0 */
    const char *message;  /**< the outcome message, NUL-terminated ("" for none) */
    const char *output;   /**< the last output the host kept (NUL-terminated; may hold other
                               NULs: see output_len) */
    size_t output_len;    /**< its length */
} jobs_run;

/** One page of runs, newest first. Free with jobs_run_page_free(). */
typedef struct jobs_run_page {
    uint64_t count;      /**< runs in the history in all */
    uint32_t page_size;  /**< the page size used */
    uint64_t page;       /**< the page number, from 1 */
    size_t n;            /**< runs on this page */
    jobs_run **runs;     /**< the runs (pointers, so that jobs_run may grow); NULL when n is 0 */
} jobs_run_page;

/** Frees a run. Accepts NULL. */
JOBS_EXTERN void jobs_run_free(jobs_run *run);

/** Frees a page of runs, runs included. Accepts NULL. */
JOBS_EXTERN void jobs_run_page_free(jobs_run_page *page);

/**
 * Makes a manual run of the owner's job, without moving its schedule. It is `pending` until the
 * next tick delivers it, under the job's delivery mode (an inactive job may be run too).
 *
 * @param[out] run  the new run's id (may be NULL)
 * @return 0, JOBS_ENOTFOUND (no such job of the owner), JOBS_EQUEUED (queued for deletion),
 *         JOBS_ERANGE, JOBS_EINVAL, JOBS_EOWNER, JOBS_ENOSPC, or a store error.
 */
JOBS_EXTERN int jobs_run_now(uint64_t *run, jobs_store *store, uint64_t owner, uint64_t job);

/**
 * Makes a run of a stack the owner may use (own or public), without a job: `trigger` is
 * JOBS_TRIGGER_MANUAL or JOBS_TRIGGER_HOOK. At-most-once; delivered by the next tick. It is kept
 * in the owner's history of the stack's runs without a job (another owner's runs of a public
 * stack never trim it).
 *
 * @param[out] run  the new run's id (may be NULL)
 * @return 0, JOBS_ESTACK, JOBS_EINVAL (bad trigger), JOBS_ERANGE, JOBS_EOWNER, JOBS_ENOSPC, or a
 *         store error.
 */
JOBS_EXTERN int jobs_run_now_stack(uint64_t *run, jobs_store *store, uint64_t owner,
                                   uint64_t stack, jobs_run_trigger trigger);

/**
 * Reports how a delivered or running run ended: `succeeded` or not, with a short message (cut
 * to JOBS_RUN_MESSAGE_MAX bytes, before a UTF-8 sequence the limit would split; NULL for none). A finish of a run that has already ended, or
 * is not yet delivered, changes nothing and answers JOBS_ERUNSTATE: a late or repeated finish
 * (an at-least-once run may be delivered more than once) is told so, not counted twice.
 *
 * @return 0, JOBS_ENOTFOUND (no such run of the owner), JOBS_ERUNSTATE, JOBS_ERANGE,
 *         JOBS_EINVAL, JOBS_EOWNER, JOBS_ENOSPC, or a store error.
 */
JOBS_EXTERN int jobs_run_finish(jobs_store *store, uint64_t owner, uint64_t run, bool succeeded,
                                const char *message);

/**
 * jobs_run_finish() that also keeps the run's output: the last JOBS_RUN_OUTPUT_MAX bytes of
 * output[0..len) (any bytes).
 * @return as jobs_run_finish().
 */
JOBS_EXTERN int jobs_run_finish_output(jobs_store *store, uint64_t owner, uint64_t run,
                                       bool succeeded, const char *message, const char *output,
                                       size_t len);

/**
 * One run of the owner.
 * @param[out] out  the run (caller frees with jobs_run_free())
 * @return 0, JOBS_ENOTFOUND, JOBS_ERANGE, JOBS_EINVAL, JOBS_EOWNER, JOBS_ENOMEM, or a store
 *         error.
 */
JOBS_EXTERN int jobs_run_get(jobs_run **out, jobs_store *store, uint64_t owner, uint64_t run);

/**
 * One page of a job's history, newest first.
 * @param page       from 1; past the end: empty
 * @param page_size  1..1000, 0 for the store's default
 * @return 0, JOBS_ENOTFOUND (no such job of the owner), JOBS_EPAGE, JOBS_EINVAL, JOBS_EOWNER,
 *         JOBS_ERANGE, JOBS_ENOMEM, or a store error.
 */
JOBS_EXTERN int jobs_run_list(jobs_run_page **out, jobs_store *store, uint64_t owner,
                              uint64_t job, uint64_t page, uint32_t page_size);

/**
 * One page of the owner's runs of a stack (of its jobs, and without a job), newest first. The
 * owner's runs are listed also when the owner may no longer use the stack (its owner made it
 * private while a job of theirs used it).
 * @return as jobs_run_list(); JOBS_ESTACK when the owner has no runs of the stack and it is
 *         not one the owner may use.
 */
JOBS_EXTERN int jobs_run_list_stack(jobs_run_page **out, jobs_store *store, uint64_t owner,
                                    uint64_t stack, uint64_t page, uint32_t page_size);

#ifdef __cplusplus
}
#endif

#endif
