/* The record bytes: a compact, versioned, canonical binary encoding of jobs, schedules and
 * stacks. The LMDB backend stores records in it, and a job's entity tag is a hash of it, so it
 * is backend-neutral. See docs/storage.md for the format. Decoders trust nothing: any byte
 * string either decodes to a record that satisfies every rule or is refused with
 * JOBS_ECORRUPT. */
#ifndef JOBS_LIB_CODEC_H
#define JOBS_LIB_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "records.h"

/* Decoded records point into the decoded bytes (names are not NUL-terminated). */

/* Largest encoded record: version, flags, four 10-byte varints, a length and a 255-byte name
 * (a job); or a cron schedule's version, flags, owner, name, expression (2 + 255 bytes) and
 * zone (1 + 64 bytes), 590 bytes. */
#define JOBS__RECORD_MAX 640

/* Encoders write at most JOBS__RECORD_MAX bytes to `buf` and return the length. */
size_t jobs__job_encode(unsigned char *buf, const jobs__job_rec *rec);
size_t jobs__schedule_encode(unsigned char *buf, const jobs__schedule_rec *rec);
size_t jobs__stack_encode(unsigned char *buf, const jobs__stack_rec *rec);

/* Decoders: 0 or JOBS_ECORRUPT. */
int jobs__job_decode(jobs__job_rec *rec, const void *data, size_t len);
int jobs__schedule_decode(jobs__schedule_rec *rec, const void *data, size_t len);
int jobs__stack_decode(jobs__stack_rec *rec, const void *data, size_t len);

#endif
