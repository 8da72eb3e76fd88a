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

/* A job. `name` is not NUL-terminated (NULL for no name); where it points is said by whoever
 * filled the record. */
typedef struct jobs__job_rec {
    uint64_t owner, stack, schedule;
    int64_t next_run;
    bool do_run, do_del;
    const char *name; /* NULL for no name */
    size_t name_len;
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
} jobs__stack_rec;

/* The answer an idempotency key keeps: the id the first create made, until `expires`, for the
 * request whose fingerprint it was. */
typedef struct jobs__idem_rec {
    int64_t expires;
    uint64_t id;
    size_t fingerprint_len;
    unsigned char fingerprint[JOBS_IDEMPOTENCY_FINGERPRINT_MAX];
} jobs__idem_rec;

#endif
