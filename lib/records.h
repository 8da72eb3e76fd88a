/* The records the rules work in: plain structs, the same for every backend. A backend stores
 * and indexes them (lib/backend.h); the rules never see how. */
#ifndef JOBS_LIB_RECORDS_H
#define JOBS_LIB_RECORDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "jobs.h"

/* Kinds of entity, for id counters, per-owner counts, pages and idempotency keys. */
typedef enum jobs__kind { JOBS__JOB = 0, JOBS__SCHEDULE = 1, JOBS__STACK = 2 } jobs__kind;

/* The kind of a run record (only its id counter: runs have their own indexes). */
#define JOBS__RUN ((jobs__kind)4)

/* A job. `name` is not NUL-terminated (NULL for no name); where it points is said by whoever
 * filled the record. */
typedef struct jobs__job_rec {
    uint64_t owner, stack, schedule;
    int64_t next_run;
    bool do_run, do_del;
    const char *name; /* NULL for no name */
    size_t name_len;
    /* How its runs are delivered (docs/runs.md); all 0 means the defaults, which encode as
     * nothing (a job written before runs existed reads back unchanged). */
    uint8_t delivery;       /* jobs_delivery: 0 at-most-once, 1 at-least-once */
    uint8_t misfire;        /* jobs_misfire: 0 coalesce, 1 skip, 2 catch-up */
    uint32_t lease;         /* seconds; 0: JOBS_LEASE_DEFAULT */
    uint32_t max_attempts;  /* 0: JOBS_MAX_ATTEMPTS_DEFAULT */
    uint32_t misfire_value; /* skip: the grace in seconds; catch-up: the most runs */
} jobs__job_rec;

typedef struct jobs__schedule_rec {
    uint64_t owner;
    bool once;
    int64_t value; /* period when !once, timestamp when once */
    const char *name;
    size_t name_len;
    /* A cron schedule (never `once`; `value` is 0): the expression and the zone name as given,
     * neither NUL-terminated (docs/schedules.md). `cron` is NULL for the other kinds. */
    const char *cron;
    size_t cron_len;
    const char *tz;
    size_t tz_len;
} jobs__schedule_rec;

typedef struct jobs__stack_rec {
    uint64_t owner;
    bool is_public;
    const char *name;
    size_t name_len;
    /* Kragle's stack fields (zero for stacks written before them). The blocks are not here:
     * they are kept apart (backend stack_blocks_get/put), so loading a stack stays small. */
    bool needs_approval;
    uint8_t webhook;        /* jobs_webhook */
    uint8_t webhook_method; /* jobs_webhook_method */
    const char *token;      /* JOBS_WEBHOOK_TOKEN_LEN bytes, not NUL-terminated; NULL if none */
} jobs__stack_rec;

/* A run (docs/runs.md). `message` and `output` are not NUL-terminated; where they point is said
 * by whoever filled the record. A run of a job is in the job's history; a run of a stack
 * without a job (job 0) in the stack's. */
typedef struct jobs__run_rec {
    uint64_t owner, job, stack; /* job 0: a stack run directly */
    uint64_t schedule;          /* the job's schedule when the run was made (0: none) */
    int64_t slot;               /* the time it stands for */
    uint8_t trigger;            /* jobs_run_trigger */
    uint8_t state;              /* jobs_run_state */
    uint8_t delivery;           /* the job's delivery when the run was made */
    uint32_t attempt;           /* deliveries so far (0 while pending) */
    uint32_t max_attempts;      /* at-least-once: deliveries before it is lost */
    uint32_t lease;             /* at-least-once: seconds a delivery holds it */
    int64_t created, started, finished; /* 0: not yet */
    int64_t lease_until;        /* running: when the lease ends (then it is due again) */
    uint64_t missed;            /* slots coalesced into it, or skipped (state skipped) */
    int64_t missed_since;       /* the first of them (0 when missed is 0) */
    const char *message;        /* short outcome, JOBS_RUN_MESSAGE_MAX bytes at most */
    size_t message_len;
    const char *output;         /* the last JOBS_RUN_OUTPUT_MAX bytes of output */
    size_t output_len;
} jobs__run_rec;

/* Which runs a count or a page is of. */
typedef enum jobs__run_by {
    JOBS__RUNS_OF_JOB = 0,   /* `id` is a job: its history */
    JOBS__RUNS_DIRECT = 1,   /* `id` is a stack: `owner`'s runs of it without a job (their
                                history: each owner's is its own) */
    JOBS__RUNS_OF_STACK = 2  /* `id` is a stack: every run of it that `owner` owns */
} jobs__run_by;

/* The answer an idempotency key keeps: the id the first create made, until `expires`, for the
 * request whose fingerprint it was. */
typedef struct jobs__idem_rec {
    int64_t expires;
    uint64_t id;
    size_t fingerprint_len;
    unsigned char fingerprint[JOBS_IDEMPOTENCY_FINGERPRINT_MAX];
} jobs__idem_rec;

#endif
