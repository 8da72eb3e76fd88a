/**
 * @file jobs/schedule.h
 * @brief Schedules: periodic (every `period` seconds), one-time (at `timestamp`), or cron (the
 * minutes a cron expression names, in a time zone; docs/schedules.md).
 *
 * Schedules of owner JOBS_OWNER_PUBLIC (0) are public: every owner sees and uses them, and no
 * owner can change them. An owner's own schedules are visible to that owner only; another
 * owner's answers JOBS_ENOTFOUND (or JOBS_ESCHEDULE where a job refers to it), exactly as a
 * missing one.
 */
#ifndef JOBS_SCHEDULE_H
#define JOBS_SCHEDULE_H

#include "store.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Shortest period, in seconds. */
#define JOBS_PERIOD_MIN 60
/** Longest period, in seconds (365 days). */
#define JOBS_PERIOD_MAX 31536000

/** Longest cron expression, in bytes. @since 0.2.0 */
#define JOBS_CRON_MAX 255
/** Longest time-zone name, in bytes. @since 0.2.0 */
#define JOBS_TZ_MAX 64

/** The kinds of schedule (jobs_schedule.kind, jobs_schedule_spec.kind). @since 0.2.0 */
typedef enum jobs_schedule_kind {
    JOBS_SCHEDULE_PERIODIC = 0, /**< every `period` seconds, counted from activation */
    JOBS_SCHEDULE_ONE_TIME = 1, /**< once, at `timestamp` (`once` is true) */
    JOBS_SCHEDULE_CRON = 2      /**< the minutes the cron expression `cron` names, in zone `tz` */
} jobs_schedule_kind;

/** A schedule as stored. Caller-owned when returned; free with jobs_schedule_free(). */
typedef struct jobs_schedule {
    uint64_t id;        /**< 1..JOBS_ID_MAX */
    uint64_t owner;     /**< JOBS_OWNER_PUBLIC for public schedules */
    const char *name;   /**< NUL-terminated, or NULL */
    bool once;          /**< one-time (at `timestamp`); false for periodic and cron */
    int64_t period;     /**< seconds between runs; when periodic, else 0 */
    int64_t timestamp;  /**< Unix seconds of the single run; when once, else 0 */
    jobs_schedule_kind kind; /**< the kind (@since 0.2.0) */
    const char *cron;   /**< the cron expression as given, NUL-terminated; NULL unless cron
                             (@since 0.2.0) */
    const char *tz;     /**< the IANA time-zone name of a cron schedule, NUL-terminated;
                             NULL unless cron (@since 0.2.0) */
} jobs_schedule;

/** Bits of jobs_schedule_spec.fields. */
enum jobs_schedule_field {
    JOBS_SCHEDULE_NAME = 1u << 0,  /**< `name` is given */
    JOBS_SCHEDULE_ONCE = 1u << 1,  /**< `once` is given */
    JOBS_SCHEDULE_CONFIG = 1u << 2, /**< the config of the schedule's kind is given: `period`,
                                         `timestamp`, or `cron` and `tz` */
    JOBS_SCHEDULE_KIND = 1u << 3   /**< `kind` is given; `kind`, `cron` and `tz` are read only
                                        with this bit (@since 0.2.0) */
};

/**
 * What to create or change.
 *
 * The kind: `kind` when JOBS_SCHEDULE_KIND is given; otherwise one-time when `once` is given
 * true, periodic when it is given false (a cron schedule stays cron), and on create periodic
 * when neither is given. `once`, when given with `kind`, must agree with it (a cron schedule is
 * never one-time). For create, JOBS_SCHEDULE_CONFIG is required. The config is checked against
 * the resulting kind: 60 <= period <= 31536000; 0 < timestamp <= 2^53-1 (JOBS_ID_MAX, the
 * largest integer a JSON double holds exactly, so that the HTTP API shows it exactly and takes
 * it back; a stored config is not checked again when an update does not give one); or `cron` a
 * valid expression (5 fields or a shorthand, at most JOBS_CRON_MAX bytes) and `tz` an IANA zone
 * name ICU knows (NULL: "UTC"). `period` and `cron` are exclusive. Changing the kind without giving the
 * matching config is JOBS_ECONFIG. Every refusal of a kind or config is JOBS_ECONFIG with a
 * detail that names the field (for a cron expression: the field, the item and what was
 * expected, e.g. "cron: field 2 (hour) '25' is outside 0-23"), and changes nothing; a `kind`
 * outside jobs_schedule_kind, or a `fields` bit outside jobs_schedule_field, is JOBS_EINVAL.
 */
typedef struct jobs_schedule_spec {
    unsigned int fields; /**< jobs_schedule_field bits */
    const char *name;    /**< NUL-terminated, or NULL */
    bool once;           /**< one-time */
    int64_t period;      /**< read when CONFIG is given and the schedule is periodic */
    int64_t timestamp;   /**< read when CONFIG is given and the schedule is one-time */
    jobs_schedule_kind kind; /**< read when KIND is given (@since 0.2.0) */
    const char *cron;    /**< the cron expression, NUL-terminated; read when KIND is given
                              (@since 0.2.0) */
    const char *tz;      /**< the zone name, NUL-terminated, NULL for "UTC"; read when KIND is
                              given (@since 0.2.0) */
} jobs_schedule_spec;

/** Initialiser for jobs_schedule_spec: nothing given. */
#define JOBS_SCHEDULE_SPEC_INIT {0, NULL, false, 0, 0, JOBS_SCHEDULE_PERIODIC, NULL, NULL}

/** A page of schedules: the public ones plus the owner's, in id order. */
typedef struct jobs_schedule_page {
    uint64_t count;           /**< visible schedules in all */
    uint32_t page_size;       /**< the page size used */
    uint64_t page;            /**< the page number, from 1 */
    size_t n;                 /**< schedules on this page */
    jobs_schedule *schedules; /**< NULL when n is 0 */
} jobs_schedule_page;

/** Frees a schedule. Accepts NULL. */
JOBS_EXTERN void jobs_schedule_free(jobs_schedule *schedule);

/** Frees a page of schedules. Accepts NULL. */
JOBS_EXTERN void jobs_schedule_page_free(jobs_schedule_page *page);

/**
 * One page of the schedules `owner` can see: the public ones and, for owner >= 1, its own.
 * Pass JOBS_OWNER_PUBLIC for an anonymous caller (public schedules only).
 * @param page_size  1..1000, or 0 for the store's default
 * @return 0, JOBS_EPAGE, JOBS_EINVAL, JOBS_EOWNER, JOBS_ENOMEM, or a store error.
 */
JOBS_EXTERN int jobs_schedule_list(jobs_schedule_page **out, jobs_store *store, uint64_t owner,
                                   uint64_t page, uint32_t page_size);

/**
 * One schedule by id, if `owner` can see it (public, or its own).
 * @return 0, JOBS_ENOTFOUND, JOBS_ERANGE, JOBS_EINVAL, JOBS_EOWNER, JOBS_ENOMEM, or a store error.
 */
JOBS_EXTERN int jobs_schedule_get(jobs_schedule **out, jobs_store *store, uint64_t owner,
                                  uint64_t id);

/**
 * One schedule by name: the lowest-id schedule of that name among `owner`'s own, or else
 * among the public ones. Pass JOBS_OWNER_PUBLIC for public schedules only. Schedule names
 * need not be unique; names are compared byte for byte. O(log n): schedules are indexed by
 * name.
 * @param name  NUL-terminated, per the name rules
 * @return 0, JOBS_ENOTFOUND, JOBS_ENAME, JOBS_EINVAL, JOBS_EOWNER, JOBS_ENOMEM, or a store
 *         error.
 * @since 0.2.0
 */
JOBS_EXTERN int jobs_schedule_get_by_name(jobs_schedule **out, jobs_store *store,
                                          uint64_t owner, const char *name);

/**
 * Creates a schedule for `owner`. Owner JOBS_OWNER_PUBLIC creates a public schedule (for hosts
 * that define their own public schedules beside the built-in ones).
 * @param[out] id  the new id (may be NULL)
 * @return 0, JOBS_ECONFIG (config missing or out of range, a one-time timestamp above
 *         2^53-1 included), JOBS_ENAME, JOBS_EINVAL, JOBS_EOWNER, JOBS_ENOSPC, or a store
 *         error.
 */
JOBS_EXTERN int jobs_schedule_create(uint64_t *id, jobs_store *store, uint64_t owner,
                                     const jobs_schedule_spec *spec);

/**
 * jobs_schedule_create() with an idempotency key: as jobs_create_idempotent() for schedules
 * (keys are per owner and kind, so a job and a schedule may use the same key).
 * @since 0.1.0
 */
JOBS_EXTERN int jobs_schedule_create_idempotent(uint64_t *id, bool *replayed, jobs_store *store,
                                                uint64_t owner, const jobs_schedule_spec *spec,
                                                const jobs_idempotency *idem);

/**
 * What jobs_schedule_create_idempotent() would answer a repeat with this key, without creating:
 * as jobs_create_replay() for schedules (a job's key does not answer here).
 * @since 0.4.0
 */
JOBS_EXTERN int jobs_schedule_create_replay(uint64_t *id, jobs_store *store, uint64_t owner,
                                            const jobs_idempotency *idem);

/**
 * Changes an owner's own schedule. Public (built-in) schedules cannot be changed through an
 * owner >= 1 (JOBS_EPUBLIC, also for empty changes): only the host changes them, the built-in
 * ones and its own, as owner JOBS_OWNER_PUBLIC, under the same rules. Another owner's private
 * schedule is JOBS_ENOTFOUND, as if it did not exist. A schedule that any job references
 * (active or not, queued for deletion or not) cannot be changed at all; an empty `fields` is
 * not a change and succeeds.
 * @param[out] out  the schedule after the change, or NULL if not wanted
 * @return 0, JOBS_ENOTFOUND, JOBS_EPUBLIC, JOBS_EINUSE, JOBS_ECONFIG, JOBS_ENAME, JOBS_ERANGE,
 *         JOBS_EINVAL, JOBS_EOWNER, JOBS_ENOSPC, or a store error.
 */
JOBS_EXTERN int jobs_schedule_update(jobs_schedule **out, jobs_store *store, uint64_t owner,
                                     uint64_t id, const jobs_schedule_spec *changes);

/**
 * Deletes an owner's own schedule: its record, its name and list entries and its place in the
 * owner's count go in one transaction, and a later jobs_schedule_get(), _get_by_name() or
 * _list() no longer finds it (its name is free again; its id is never given again). The rules
 * are jobs_schedule_update()'s: a public schedule cannot be deleted through an owner >= 1
 * (JOBS_EPUBLIC); another owner's private schedule is JOBS_ENOTFOUND, as if it did not exist;
 * a schedule that any job references (active or not, queued for deletion or not) is
 * JOBS_EINUSE: move or delete those jobs first (a job queued for deletion keeps it until the
 * tick deletes the job). The host, as owner JOBS_OWNER_PUBLIC, deletes the public schedules it
 * made; the built-in ones (ids 1 to 5 of a new store) are JOBS_EPUBLIC for every owner. Runs
 * made on a deleted schedule stay readable as they are (jobs_event.schedule of such a run
 * delivered again still names it). A refusal changes nothing. Schedules carry no entity tag
 * (jobs_schedule_update() takes none either), so there is no conditional form.
 * @return 0, JOBS_ENOTFOUND, JOBS_EPUBLIC, JOBS_EINUSE, JOBS_ERANGE, JOBS_EINVAL, JOBS_EOWNER,
 *         or a store error.
 * @since 0.4.0
 */
JOBS_EXTERN int jobs_schedule_delete(jobs_store *store, uint64_t owner, uint64_t id);

#ifdef __cplusplus
}
#endif

#endif
