/* The record bytes: a compact, versioned binary encoding of jobs, schedules and stacks.
 * See docs/storage.md for the format. Decoders trust nothing: any byte string either decodes
 * to a record that satisfies every rule or is refused with JOBS_ECORRUPT. */
#ifndef JOBS_LIB_CODEC_H
#define JOBS_LIB_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "jobs.h"

/* Largest encoded record: version, flags, four 10-byte varints, a length and a 255-byte name. */
#define JOBS__RECORD_MAX 320

/* A decoded record. `name` points into the decoded bytes (not NUL-terminated). */
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
} jobs__schedule_rec;

typedef struct jobs__stack_rec {
    uint64_t owner;
    bool is_public;
    const char *name;
    size_t name_len;
} jobs__stack_rec;

/* Encoders write at most JOBS__RECORD_MAX bytes to `buf` and return the length. */
size_t jobs__job_encode(unsigned char *buf, const jobs__job_rec *rec);
size_t jobs__schedule_encode(unsigned char *buf, const jobs__schedule_rec *rec);
size_t jobs__stack_encode(unsigned char *buf, const jobs__stack_rec *rec);

/* Decoders: 0 or JOBS_ECORRUPT. */
int jobs__job_decode(jobs__job_rec *rec, const void *data, size_t len);
int jobs__schedule_decode(jobs__schedule_rec *rec, const void *data, size_t len);
int jobs__stack_decode(jobs__stack_rec *rec, const void *data, size_t len);

#endif
