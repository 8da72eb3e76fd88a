/**
 * @file jobs/job.h
 * @brief Jobs: which stack runs on which schedule, for one owner.
 *
 * Every call here takes the owner on whose behalf it acts. Another owner's job answers
 * JOBS_ENOTFOUND exactly as a missing one does, so nothing leaks about its existence.
 * Each call is one transaction: it happens whole or not at all, and a failed call changes
 * nothing.
 */
#ifndef JOBS_JOB_H
#define JOBS_JOB_H

#include "run.h"
#include "store.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * A job as stored. Handed to callers in memory they own (free it with jobs_job_free(), or with
 * jobs_job_page_free() for the jobs of a page); it belongs to the thread that holds it.
 */
typedef struct jobs_job {
    uint64_t id;        /**< 1..JOBS_ID_MAX, never reused */
    uint64_t owner;     /**< the owner's id */
    const char *name;   /**< NUL-terminated, or NULL for a job without a name */
    uint64_t stack;     /**< id of the stack it runs */
    uint64_t schedule;  /**< id of the schedule it runs on */
    int64_t next_run;   /**< Unix seconds of the next run; meaningful only when do_run */
    bool do_run;        /**< active: it runs at next_run */
    bool do_del;        /**< queued for deletion: deleted at next_run instead of running */
    uint64_t etag;      /**< entity tag: changes whenever any field above does, never 0
                             (for jobs_update_if() and jobs_delete_if(); HTTP's ETag) */
} jobs_job;

/** Bits of jobs_job_spec.fields: which members of the spec are given. */
enum jobs_job_field {
    JOBS_JOB_NAME = 1u << 0,     /**< `name` is given (NULL sets a null name) */
    JOBS_JOB_STACK = 1u << 1,    /**< `stack` is given */
    JOBS_JOB_SCHEDULE = 1u << 2, /**< `schedule` is given */
    JOBS_JOB_ENABLED = 1u << 3,  /**< `enabled` is given */
    JOBS_JOB_DELIVERY = 1u << 4, /**< `delivery` is given (docs/runs.md) */
    JOBS_JOB_LEASE = 1u << 5,    /**< `lease` is given */
    JOBS_JOB_MAX_ATTEMPTS = 1u << 6, /**< `max_attempts` is given */
    JOBS_JOB_MISFIRE = 1u << 7   /**< `misfire` and `misfire_value` are given */
};

/**
 * What to create, or what to change. Only the members whose bit is set in `fields` are read.
 * Initialise with JOBS_JOB_SPEC_INIT.
 */
typedef struct jobs_job_spec {
    unsigned int fields;  /**< jobs_job_field bits */
    const char *name;     /**< NUL-terminated name, or NULL for no name */
    uint64_t stack;       /**< stack id */
    uint64_t schedule;    /**< schedule id */
    bool enabled;         /**< active (runs on its schedule) or not */
    /* Read only when their bits are set, so a caller built before they existed is unaffected. */
    jobs_delivery delivery; /**< how its runs are delivered (default at-most-once) */
    uint32_t lease;       /**< at-least-once: seconds a delivery holds a run, 1..JOBS_LEASE_MAX
                               (0: JOBS_LEASE_DEFAULT) */
    uint32_t max_attempts; /**< at-least-once: deliveries before a run is lost,
                                1..JOBS_MAX_ATTEMPTS_MAX (0: JOBS_MAX_ATTEMPTS_DEFAULT) */
    jobs_misfire misfire; /**< what missed slots become (default coalesce) */
    uint32_t misfire_value; /**< skip: the grace in seconds (0..JOBS_GRACE_MAX); catch-up: the
                                 most runs (1..JOBS_CATCH_UP_MAX); coalesce: 0 */
} jobs_job_spec;

/** Initialiser for jobs_job_spec: nothing given. */
#define JOBS_JOB_SPEC_INIT {0, NULL, 0, 0, false, JOBS_DELIVERY_AT_MOST_ONCE, 0, 0, \
                            JOBS_MISFIRE_COALESCE, 0}

/**
 * How a job's runs are delivered and what its missed slots become (docs/runs.md), as
 * jobs_job_policy_get() reports it. Caller-allocated: set `version` (JOBS_JOB_POLICY_INIT
 * does).
 */
typedef struct jobs_job_policy {
    unsigned int version;   /**< set by the caller: JOBS_JOB_POLICY_VERSION */
    jobs_delivery delivery; /**< delivery mode */
    uint32_t lease;         /**< lease seconds (the default filled in) */
    uint32_t max_attempts;  /**< deliveries before lost (the default filled in) */
    jobs_misfire misfire;   /**< misfire policy */
    uint32_t misfire_value; /**< grace seconds (skip) or most runs (catch-up); 0 for coalesce */
} jobs_job_policy;

/** The version of jobs_job_policy this header describes. */
#define JOBS_JOB_POLICY_VERSION 1

/** Initialiser: `jobs_job_policy p = JOBS_JOB_POLICY_INIT;` */
#define JOBS_JOB_POLICY_INIT {JOBS_JOB_POLICY_VERSION, JOBS_DELIVERY_AT_MOST_ONCE, 0, 0, \
                              JOBS_MISFIRE_COALESCE, 0}

/** One page of an owner's jobs, in id order. Free with jobs_job_page_free(). */
typedef struct jobs_job_page {
    uint64_t count;      /**< the owner's jobs in all */
    uint32_t page_size;  /**< the page size used (not the number of jobs on this page) */
    uint64_t page;       /**< the page number, from 1 */
    size_t n;            /**< jobs on this page: page_size, fewer on the last, 0 past the end */
    jobs_job *jobs;      /**< the jobs; NULL when n is 0 */
    /** the run settings of jobs[i], as jobs_job_policy_get() gives them (version
     *  JOBS_JOB_POLICY_VERSION), read in the same transaction; NULL when n is 0. Since 0.3.0
     *  (the page is libjobs' allocation, so a program built before it is not affected) */
    jobs_job_policy *policies;
} jobs_job_page;

/** Frees a job returned by libjobs. Accepts NULL. */
JOBS_EXTERN void jobs_job_free(jobs_job *job);

/** Frees a page returned by jobs_list(), jobs included. Accepts NULL. */
JOBS_EXTERN void jobs_job_page_free(jobs_job_page *page);

/**
 * One page of an owner's jobs, ordered by id. `count` is O(1), and finding where any page
 * starts is O(log n) (a counted index, see docs/storage.md): page 50,000 costs about what page
 * 1 does.
 *
 * @param[out] out    the page (caller frees with jobs_job_page_free())
 * @param store       the store
 * @param owner       the owner, 1..JOBS_ID_MAX
 * @param page        page number, 1 or more; a page past the end is empty, not an error
 * @param page_size   jobs per page, 1..1000, or 0 for the store's default
 * @return 0, JOBS_EINVAL, JOBS_EOWNER, JOBS_EPAGE (page 0), JOBS_ENOMEM, or a store error.
 */
JOBS_EXTERN int jobs_list(jobs_job_page **out, jobs_store *store, uint64_t owner,
                          uint64_t page, uint32_t page_size);

/**
 * One job by id.
 * @param[out] out  the job (caller frees with jobs_job_free())
 * @return 0, JOBS_ENOTFOUND (missing, or another owner's), JOBS_EINVAL, JOBS_EOWNER,
 *         JOBS_ERANGE (id outside 1..JOBS_ID_MAX), JOBS_ENOMEM, or a store error.
 */
JOBS_EXTERN int jobs_get(jobs_job **out, jobs_store *store, uint64_t owner, uint64_t id);

/**
 * One job by its name (compared byte for byte).
 * @param[out] out  the job (caller frees with jobs_job_free())
 * @return 0, JOBS_ENOTFOUND, JOBS_ENAME (NULL, or not a valid name), JOBS_EINVAL, JOBS_EOWNER,
 *         JOBS_ENOMEM, or a store error.
 */
JOBS_EXTERN int jobs_get_by_name(jobs_job **out, jobs_store *store, uint64_t owner,
                                 const char *name);

/**
 * Creates a job. `spec` must give JOBS_JOB_STACK and JOBS_JOB_SCHEDULE; the name defaults to
 * NULL and `enabled` to false. An enabled job's next_run is set from the store's clock: now +
 * period for a periodic schedule, the schedule's timestamp for a one-time one.
 *
 * An enabled job whose first run would lie past INT64_MAX gets next_run = INT64_MAX.
 *
 * @param[out] id  the new job's id (may be NULL)
 * @return 0, JOBS_EINVAL (spec lacks stack or schedule), JOBS_ERANGE (stack or schedule id
 *         outside 1..JOBS_ID_MAX), JOBS_EOWNER, JOBS_ENAME,
 *         JOBS_EEXISTS (name used by another of the owner's jobs), JOBS_ESTACK, JOBS_ESCHEDULE,
 *         JOBS_ENOSPC, or a store error.
 */
JOBS_EXTERN int jobs_create(uint64_t *id, jobs_store *store, uint64_t owner,
                            const jobs_job_spec *spec);

/**
 * Changes the fields that `changes->fields` names; the others stay as they are, and an empty
 * `fields` changes nothing. Enabling an inactive job, or giving an active job a new schedule,
 * sets next_run anew; disabling sets do_run false.
 *
 * @param[out] out  the job after the change, or NULL if not wanted (caller frees)
 * @return 0, JOBS_ENOTFOUND, JOBS_EQUEUED (queued for deletion: read-only), JOBS_EEXISTS,
 *         JOBS_ENAME, JOBS_ERANGE (the job id, or a given stack or schedule id, outside
 *         1..JOBS_ID_MAX), JOBS_ESTACK, JOBS_ESCHEDULE, JOBS_EINVAL, JOBS_EOWNER,
 *         JOBS_ENOSPC, or a store error.
 */
JOBS_EXTERN int jobs_update(jobs_job **out, jobs_store *store, uint64_t owner, uint64_t id,
                            const jobs_job_spec *changes);

/** Outcome of jobs_delete(). */
typedef enum jobs_delete_outcome {
    JOBS_DELETED = 1,            /**< the job was inactive and is gone */
    JOBS_QUEUED_FOR_DELETION = 2 /**< the job is active: it will be deleted at next_run */
} jobs_delete_outcome;

/**
 * Deletes an inactive job at once, or queues an active one for deletion at its next run (it
 * stays readable and listed until then; deleting it again answers JOBS_QUEUED_FOR_DELETION).
 *
 * @param[out] outcome  what happened (may be NULL)
 * @return 0, JOBS_ENOTFOUND, JOBS_ERANGE, JOBS_EINVAL, JOBS_EOWNER, or a store error.
 */
JOBS_EXTERN int jobs_delete(jobs_delete_outcome *outcome, jobs_store *store, uint64_t owner,
                            uint64_t id);

/**
 * jobs_create() with an idempotency key (see jobs_idempotency): a repeat of a create within
 * JOBS_IDEMPOTENCY_TTL answers the first one's id with *replayed true and creates nothing, even
 * if that job has since been changed or deleted.
 *
 * @param[out] replayed  true when the answer is a repeat's (may be NULL)
 * @param idem           the key, or NULL for a plain jobs_create()
 * @return as jobs_create(); JOBS_EIDEMPOTENCY when the key was used with another fingerprint;
 *         JOBS_EINVAL for a key or fingerprint of a wrong size.
 * @since 0.1.0
 */
JOBS_EXTERN int jobs_create_idempotent(uint64_t *id, bool *replayed, jobs_store *store,
                                       uint64_t owner, const jobs_job_spec *spec,
                                       const jobs_idempotency *idem);

/**
 * What jobs_create_idempotent() would answer a repeat with this key, without creating anything:
 * the id of the job the key's first create made, while the key lives (JOBS_IDEMPOTENCY_TTL).
 * For a host that must refuse a new create (a quota reached, say) but should still answer a
 * repeat of a create that succeeded: it asks this first, and refuses only when the key answers
 * nothing. A read; it changes nothing.
 *
 * @param[out] id  the first create's job id (0 on failure)
 * @param idem     the key and fingerprint, as given to jobs_create_idempotent()
 * @return 0; JOBS_ENOTFOUND when the key answers no create (never used by this owner for a job,
 *         or expired); JOBS_EIDEMPOTENCY when it was used with another fingerprint; JOBS_EINVAL
 *         for a missing argument or a key or fingerprint of a wrong size; JOBS_EOWNER.
 * @since 0.4.0
 */
JOBS_EXTERN int jobs_create_replay(uint64_t *id, jobs_store *store, uint64_t owner,
                                   const jobs_idempotency *idem);

/**
 * jobs_update() only if the job's entity tag (jobs_job.etag, as jobs_get() or a list returned
 * it) is still `if_match`: the comparison and the update are one transaction, so a change made
 * in between by anyone is never overwritten. `if_match` 0 means no condition.
 *
 * @return as jobs_update(), or JOBS_ECHANGED when the job has changed (nothing is written).
 * @since 0.1.0
 */
JOBS_EXTERN int jobs_update_if(jobs_job **out, jobs_store *store, uint64_t owner, uint64_t id,
                               const jobs_job_spec *changes, uint64_t if_match);

/**
 * jobs_delete() only if the job's entity tag is still `if_match` (0: no condition), checked in
 * the same transaction as the delete.
 *
 * @return as jobs_delete(), or JOBS_ECHANGED when the job has changed (nothing is written).
 * @since 0.1.0
 */
JOBS_EXTERN int jobs_delete_if(jobs_delete_outcome *outcome, jobs_store *store, uint64_t owner,
                               uint64_t id, uint64_t if_match);

/**
 * The delivery mode and misfire policy of the owner's job (kept apart from jobs_job, so that
 * struct keeps its size; see docs/runs.md).
 *
 * @param[out] out  set out->version first (JOBS_JOB_POLICY_INIT)
 * @return 0, JOBS_ENOTFOUND, JOBS_ERANGE, JOBS_EINVAL, JOBS_EOWNER, JOBS_EVERSION, or a store
 *         error.
 */
JOBS_EXTERN int jobs_job_policy_get(jobs_job_policy *out, jobs_store *store, uint64_t owner,
                                    uint64_t id);

#ifdef __cplusplus
}
#endif

#endif
