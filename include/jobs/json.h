/**
 * @file jobs/json.h
 * @brief The HTTP API's JSON: response bodies from libjobs records, and strict decoding of
 * request bodies into the specs that jobs_create(), jobs_update(), jobs_schedule_create(),
 * jobs_schedule_update() and jobs_stack_create() take. Any host's HTTP stack can use it.
 *
 * Encoders write compact JSON (no spaces) into a new NUL-terminated string that the caller frees
 * with jobs_json_free(). Integers are printed exactly (an id of 2^53-1 prints as
 * 9007199254740991), strings are UTF-8 with quotes, backslashes and control characters escaped.
 *
 * Decoders read `len` bytes (the body need not be NUL-terminated) into a caller-provided struct
 * that holds everything, the name included: there is nothing to free. A body is refused whole
 * or accepted whole; the output is written only on success. Failures and their faults:
 *
 * | code              | fault | when                                                            |
 * |-------------------|-------|-----------------------------------------------------------------|
 * | JOBS_ESYNTAX      | 2     | not valid JSON (also: empty, trailing data, raw control bytes)  |
 * | JOBS_EBODY        | 4     | valid JSON but not right: too large, too deep, not an object,   |
 * |                   |       | unknown/duplicate/missing key, wrong type, bad number, `\u0000` |
 * | JOBS_ENAME        | 4     | `name` is a string that breaks the name rules                   |
 * | JOBS_ECONFIG      | 26    | a schedule's `config` is not exactly `{"period":N}`           |
 * |                   |       | (60..31536000), `{"cron":"..","tz":".."}` or `{"timestamp":N}`  |
 * |                   |       | (1..2^53-1), as `once` asks                                     |
 * | JOBS_EINVAL       | 4     | NULL `out`, or NULL `body` with `len` > 0                       |
 * | JOBS_ENOMEM       | 106   | out of memory                                                   |
 *
 * jobs_error_last() names the exact problem ("unknown key 'foo'", "'stack_id' must be an
 * integer in 1..2^53-1 (got 1.5)"). Every function here is thread-safe and touches no store.
 * The decoders, jobs_json_check_object() and jobs_json_encode_hook_input() given a JSON body
 * parse with cJSON, which resets its process-wide
 * error position (cJSON_GetErrorPtr()) at every parse: a host reads that right after its own
 * failed parse, in the same thread. See docs/json.md.
 */
#ifndef JOBS_JSON_H
#define JOBS_JSON_H

#include "job.h"
#include "schedule.h"
#include "stack.h"

#ifdef __cplusplus
extern "C" {
#endif

/** The largest request body the decoders accept, in bytes (64 KiB); larger is JOBS_EBODY.
 *  A host that wants to answer fault 103 (413) checks Content-Length against it first. */
#define JOBS_JSON_BODY_MAX 65536

/** The deepest nesting the decoders accept: the body's object is level 1, a schedule's
 *  `config` level 2. Deeper is JOBS_EBODY, refused while scanning, before any tree is built. */
#define JOBS_JSON_DEPTH_MAX 8

/* ---- encoders ------------------------------------------------------------------------------ */

/** Flags of jobs_json_encode_job(). */
enum jobs_json_flag {
    JOBS_JSON_OWNER = 1u << 0 /**< add `"owner"` (the answer to PUT /jobs/\<id\>) */
};

/**
 * Frees a string returned by a jobs_json_encode_*() function. Accepts NULL.
 */
JOBS_EXTERN void jobs_json_free(char *json);

/**
 * A job: `{"id":1,"name":"x","stack":2,"schedule":3,"next_run":1700000060,"do_run":true,
 * "do_del":false}`; `name` is null for a job without a name, `next_run` null when the job is
 * inactive (!do_run). With JOBS_JSON_OWNER, `"owner":N` follows `"id"`.
 *
 * @param[out] out  the JSON (caller frees with jobs_json_free()); NULL on failure
 * @param job       the job
 * @param flags     jobs_json_flag bits, or 0
 * @return 0, JOBS_EINVAL (NULL argument, unknown flag), or JOBS_ENOMEM.
 */
JOBS_EXTERN int jobs_json_encode_job(char **out, const jobs_job *job, unsigned int flags);

/**
 * A run: `{"id","job","stack","slot","trigger","state","attempt","created","started",
 * "finished","lease_until","missed","missed_since","message","output"}`; `job` is null for a
 * stack run directly, times not yet reached are null, trigger and state are their names
 * (jobs_run_trigger_name(), jobs_run_state_name()), `output` is a string (bytes that are not
 * UTF-8 as U+FFFD, a NUL byte as an escaped zero).
 * @param[out] out  the JSON (caller frees with jobs_json_free()); NULL on failure
 * @return 0, JOBS_EINVAL (NULL argument), or JOBS_ENOMEM.
 */
JOBS_EXTERN int jobs_json_encode_run(char **out, const jobs_run *run);

/**
 * A page of runs: `{"count":N,"pagesize":N,"page":N,"runs":[run,...]}`, newest first.
 * @param[out] out  the JSON (caller frees with jobs_json_free()); NULL on failure
 * @return 0, JOBS_EINVAL (NULL argument, or n > 0 with NULL runs), or JOBS_ENOMEM.
 */
JOBS_EXTERN int jobs_json_encode_run_page(char **out, const jobs_run_page *page);

/**
 * The answer to a manual run: `{"run":N}`.
 * @param[out] out  the JSON (caller frees with jobs_json_free()); NULL on failure
 * @return 0, JOBS_EINVAL (NULL out), or JOBS_ENOMEM.
 */
JOBS_EXTERN int jobs_json_encode_run_id(char **out, uint64_t run);

/**
 * A job's delivery and misfire settings: `{"delivery":"at-most-once","lease":300,
 * "max_attempts":3,"misfire":{"policy":"coalesce"}}` (skip adds "grace", catch-up "max").
 * @param[out] out  the JSON (caller frees with jobs_json_free()); NULL on failure
 * @return 0, JOBS_EINVAL (NULL argument, or a misfire out of range), or JOBS_ENOMEM.
 */
JOBS_EXTERN int jobs_json_encode_job_policy(char **out, const jobs_job_policy *policy);

/**
 * A job with its delivery and misfire settings: jobs_json_encode_job()'s members, then those of
 * jobs_json_encode_job_policy(): `{"id":1,...,"do_del":false,"delivery":"at-most-once",
 * "lease":300,"max_attempts":3,"misfire":{"policy":"coalesce"}}`. jobs-server answers jobs so.
 *
 * @param[out] out  the JSON (caller frees with jobs_json_free()); NULL on failure
 * @param job       the job
 * @param policy    its settings (jobs_job_policy_get()); NULL: as jobs_json_encode_job()
 * @param flags     jobs_json_flag bits, or 0
 * @return 0, JOBS_EINVAL (NULL out or job, unknown flag, a misfire out of range), or
 *         JOBS_ENOMEM.
 * @since 0.2.0
 */
JOBS_EXTERN int jobs_json_encode_job_with_policy(char **out, const jobs_job *job,
                                                 const jobs_job_policy *policy,
                                                 unsigned int flags);

/**
 * A page of jobs as jobs_json_encode_job_page() writes it, each job with its settings as
 * jobs_json_encode_job_with_policy() writes them.
 *
 * @param[out] out   the JSON (caller frees with jobs_json_free()); NULL on failure
 * @param page       the page
 * @param policies   page->n settings, policies[i] for page->jobs[i]; NULL: as
 *                   jobs_json_encode_job_page()
 * @return 0, JOBS_EINVAL (NULL argument, n > 0 with NULL jobs, a misfire out of range), or
 *         JOBS_ENOMEM.
 * @since 0.2.0
 */
JOBS_EXTERN int jobs_json_encode_job_page_with_policies(char **out, const jobs_job_page *page,
                                                        const jobs_job_policy *policies);

/**
 * A page of jobs: `{"count":N,"pagesize":N,"page":N,"jobs":[job,...]}`, the jobs as
 * jobs_json_encode_job() with flags 0 writes them.
 *
 * @param[out] out  the JSON (caller frees with jobs_json_free()); NULL on failure
 * @return 0, JOBS_EINVAL (NULL argument, or n > 0 with NULL jobs), or JOBS_ENOMEM.
 */
JOBS_EXTERN int jobs_json_encode_job_page(char **out, const jobs_job_page *page);

/**
 * A schedule: `{"id":N,"owner":N,"name":"x","once":false,"config":{"period":N}}`, or with
 * `"once":true` and `"config":{"timestamp":N}`, or for a cron schedule with `"once":false` and
 * `"config":{"cron":"30 2 * * *","tz":"Europe/Berlin"}` (the strings as stored);
 * `owner` is 0 for the public (built-in) ones.
 *
 * @param[out] out  the JSON (caller frees with jobs_json_free()); NULL on failure
 * @return 0, JOBS_EINVAL, or JOBS_ENOMEM.
 */
JOBS_EXTERN int jobs_json_encode_schedule(char **out, const jobs_schedule *schedule);

/**
 * A page of schedules: `{"count":N,"pagesize":N,"page":N,"schedules":[schedule,...]}`.
 *
 * @param[out] out  the JSON (caller frees with jobs_json_free()); NULL on failure
 * @return 0, JOBS_EINVAL, or JOBS_ENOMEM.
 */
JOBS_EXTERN int jobs_json_encode_schedule_page(char **out, const jobs_schedule_page *page);

/**
 * A stack: `{"id":N,"owner":N,"name":"x","public":false}`.
 *
 * @param[out] out  the JSON (caller frees with jobs_json_free()); NULL on failure
 * @return 0, JOBS_EINVAL, or JOBS_ENOMEM.
 */
JOBS_EXTERN int jobs_json_encode_stack(char **out, const jobs_stack *stack);

/** Flags of jobs_json_encode_stack_detail(). */
enum jobs_json_stack_flag {
    /** The caller owns the stack: add `webhook_token` and `jobs` */
    JOBS_JSON_STACK_OWNER = 1u << 0
};

/**
 * A stack as the original service shows it: `{"id":N,"owner":N,"name":"x","public":false,
 * "needs_approval":false,"webhook":null|"public"|"token"|"user","webhook_method":"GET"|"POST",
 * "blocks":[...]}`; with JOBS_JSON_STACK_OWNER also `"webhook_token":"..."|null` and
 * `"jobs":[{"id":N,"name":"x"|null,"do_run":true,"schedule":N},...]` (from `jobs`, `njobs`).
 * `blocks` is written as stored (a stack without blocks shows `[]`). Blocks that are not one
 * JSON array by the decoders' body rules (grammar, UTF-8, depth, `\u0000`: bytes a C host
 * stored with jobs_stack_update() or jobs_stack_create_with_job(), which take any bytes) are
 * written as `[]`, never raw: the stack, and a page holding it, stay readable; the bytes stay
 * stored as they are. An array that gives a key twice in one of its objects (which
 * jobs_json_decode_stack() refuses since 0.4.0) is still written as it is.
 *
 * @param[out] out  the JSON (caller frees with jobs_json_free()); NULL on failure
 * @param jobs      the owner's jobs of this stack (read with JOBS_JSON_STACK_OWNER; NULL if
 *                  njobs is 0)
 * @return 0, JOBS_EINVAL, or JOBS_ENOMEM.
 * @since 0.2.0
 */
JOBS_EXTERN int jobs_json_encode_stack_detail(char **out, const jobs_stack_detail *stack,
                                              unsigned int flags, const jobs_job *jobs,
                                              size_t njobs);

/**
 * A page of stacks whose items the host encoded already (with jobs_json_encode_stack_detail(),
 * each as its caller may see it): `{"count":N,"pagesize":N,"page":N,"stacks":[item,...]}` with
 * the head from `page` and items[i] for its n stacks, copied as they are.
 *
 * @param[out] out  the JSON (caller frees with jobs_json_free()); NULL on failure
 * @return 0, JOBS_EINVAL (NULL out or page, NULL items with n > 0, an item NULL or empty), or
 *         JOBS_ENOMEM.
 * @since 0.2.0
 */
JOBS_EXTERN int jobs_json_encode_stack_page_items(char **out, const jobs_stack_page *page,
                                                  const char *const *items);

/**
 * A page of stacks: `{"count":N,"pagesize":N,"page":N,"stacks":[stack,...]}`.
 *
 * @param[out] out  the JSON (caller frees with jobs_json_free()); NULL on failure
 * @return 0, JOBS_EINVAL, or JOBS_ENOMEM.
 */
JOBS_EXTERN int jobs_json_encode_stack_page(char **out, const jobs_stack_page *page);

/**
 * The answer to a create: `{"id":N}`.
 *
 * @param[out] out  the JSON (caller frees with jobs_json_free()); NULL on failure
 * @return 0, JOBS_EINVAL, or JOBS_ENOMEM.
 */
JOBS_EXTERN int jobs_json_encode_id(char **out, uint64_t id);

/**
 * The answer to a delete: `{"deleted":N}` or `{"queued_for_deletion":N}`.
 *
 * @param[out] out  the JSON (caller frees with jobs_json_free()); NULL on failure
 * @param outcome   what jobs_delete() reported
 * @param id        the job's id
 * @return 0, JOBS_EINVAL (NULL out, or an outcome not in jobs_delete_outcome), or JOBS_ENOMEM.
 */
JOBS_EXTERN int jobs_json_encode_delete(char **out, jobs_delete_outcome outcome, uint64_t id);

/**
 * The fault for a libjobs error: `{"code":jobs_fault_code(code),"msg":"..."}`.
 *
 * @param[out] out  the JSON (caller frees with jobs_json_free()); NULL on failure
 * @param code      a JOBS_E* code (any int: unknown codes are fault 106, as jobs_fault_code())
 * @param msg       the message, e.g. jobs_error_last(); NULL or "" for jobs_strerror(code).
 *                  Bytes that are not valid UTF-8 are written as U+FFFD.
 * @return 0, JOBS_EINVAL (NULL out), or JOBS_ENOMEM.
 */
JOBS_EXTERN int jobs_json_encode_error(char **out, int code, const char *msg);

/**
 * A fault by number, for faults of the HTTP layer that have no JOBS_E* code (3 bad login,
 * 100 not authenticated, 103 body too large, ...): `{"code":fault,"msg":"..."}`.
 *
 * @param[out] out  the JSON (caller frees with jobs_json_free()); NULL on failure
 * @param fault     the fault number, 0 or more
 * @param msg       the message (not NULL, not empty); invalid UTF-8 is written as U+FFFD
 * @return 0, JOBS_EINVAL (NULL out, NULL or empty msg, negative fault: nothing is written,
 *         `*out` is NULL), or JOBS_ENOMEM.
 */
JOBS_EXTERN int jobs_json_encode_fault(char **out, int fault, const char *msg);

/**
 * A fault with a fixed message and a precise one: `{"code":fault,"msg":"...","detail":"..."}`
 * (`detail` left out when NULL). For a client contract whose messages are fixed per code, such
 * as the original service's (jobs-server's `/api/v1` routes), with this call's own account in
 * `detail`.
 *
 * @param[out] out  the JSON (caller frees with jobs_json_free()); NULL on failure
 * @param fault     the fault number, 0 or more
 * @param msg       the fixed message (not NULL, not empty); invalid UTF-8 is written as U+FFFD
 * @param detail    the precise message, or NULL for none; invalid UTF-8 as for msg
 * @return 0, JOBS_EINVAL (NULL out, NULL or empty msg, negative fault: nothing is written,
 *         `*out` is NULL), or JOBS_ENOMEM.
 */
JOBS_EXTERN int jobs_json_encode_fault_detail(char **out, int fault, const char *msg,
                                              const char *detail);

/* ---- decoders ------------------------------------------------------------------------------ */

/** A part of a request body: `len` bytes at `at` (not NUL-terminated). */
typedef struct jobs_json_span {
    const char *at; /**< the first byte, or NULL for none */
    size_t len;     /**< the number of bytes */
} jobs_json_span;

/**
 * Splits an envelope `{"auth": {...}, "payload": ...}` (the original service's inline
 * authentication) into the text of its two members, without copying or reformatting them, so
 * that `payload` can go to the route's own decoder byte for byte (numbers keep their exact text).
 *
 * A body is an envelope by its shape: its top level opens an object, and one of that object's
 * keys is `auth` (found by reading strings and brackets only, so a body that is wrong elsewhere
 * is still known as an envelope, one with a UTF-8 byte order mark before it included, refused
 * then as JOBS_ESYNTAX). Anything else is not (*is_envelope false, 0 returned): it is
 * the route's own body, and its decoder reports what is wrong with it.
 *
 * An envelope is then checked whole as the decoders check a body, with one level of nesting
 * more (JOBS_JSON_DEPTH_MAX + 1), so that its payload may nest as deep as a body of its own:
 * what is wrong with it, in `auth` or in `payload`, is returned with *is_envelope true
 * (JOBS_ESYNTAX for JSON that is not valid, JOBS_EBODY for the size, the depth, a number longer
 * than 63 characters or a `\u0000`, a password's included), never taken for a body without
 * credentials. It must hold `auth`, an object, and may hold `payload` (any JSON value), and
 * nothing else. The library does not look inside `auth` beyond that check: decoding
 * credentials is the host's business.
 *
 * @param[out] is_envelope  whether the body is an envelope
 * @param[out] auth         the text of `auth` ({NULL, 0} when not an envelope, or on failure)
 * @param[out] payload      the text of `payload` ({NULL, 0} when absent, not an envelope, or on
 *                          failure)
 * @param body              the request body (need not be NUL-terminated; may be NULL if len is 0)
 * @param len               its length
 * @return 0; JOBS_ESYNTAX or JOBS_EBODY (with *is_envelope true) for an envelope refused as a
 *         body would be, with another key, a key given twice, or an `auth` that is not an
 *         object; jobs_error_last() starts "inline authentication: "; JOBS_EINVAL for NULL
 *         outputs.
 */
JOBS_EXTERN int jobs_json_split_envelope(bool *is_envelope, jobs_json_span *auth,
                                         jobs_json_span *payload, const char *body, size_t len);

/**
 * A decoded job request body. `spec` is ready for jobs_create() or jobs_update(); `spec.name`
 * points into this struct's own `name` buffer (or is NULL), so it is valid as long as the
 * struct is, and a copy of the struct must not be used with the original's `spec.name`.
 */
typedef struct jobs_json_job_body {
    jobs_job_spec spec;            /**< fields: one JOBS_JOB_* bit per key given */
    char name[JOBS_NAME_MAX + 1];  /**< the name, NUL-terminated; "" when none */
} jobs_json_job_body;

/**
 * A decoded schedule request body, for jobs_schedule_create() or jobs_schedule_update().
 * `spec.name` points into `name` (or is NULL), with the same rule as jobs_json_job_body.
 * When `config` is given, JOBS_SCHEDULE_CONFIG is set and exactly one of `spec.period`
 * (key `period`), `spec.timestamp` (key `timestamp`) or `spec.cron` (key `cron`, with
 * JOBS_SCHEDULE_KIND and kind JOBS_SCHEDULE_CRON; `spec.tz` from key `tz`, NULL when absent)
 * is set. `spec.cron` and `spec.tz` point into this struct, with the rule of `spec.name`.
 */
typedef struct jobs_json_schedule_body {
    jobs_schedule_spec spec;       /**< fields: one JOBS_SCHEDULE_* bit per key given */
    char name[JOBS_NAME_MAX + 1];  /**< the name, NUL-terminated; "" when none */
    char cron[JOBS_CRON_MAX + 1];  /**< a cron config's expression; `spec.cron` points here
                                        (@since 0.2.0) */
    char tz[JOBS_TZ_MAX + 1];      /**< a cron config's zone; `spec.tz` points here, or is NULL
                                        when `tz` was not given (@since 0.2.0) */
} jobs_json_schedule_body;

/** A decoded stack request body, for jobs_stack_create(out.name, out.is_public). */
typedef struct jobs_json_stack_body {
    char name[JOBS_NAME_MAX + 1];  /**< the name, NUL-terminated, valid per the name rules */
    bool is_public;                /**< `public`, false when not given */
} jobs_json_stack_body;

/** A decoded stack body of the original service's shape (jobs_json_decode_stack()). */
typedef struct jobs_json_stack_spec_body {
    /** One JOBS_STACK_* bit per key given; `blocks` points into the decoded body (valid as
     * long as it is), `name` at this struct's `name` */
    jobs_stack_spec spec;
    char name[JOBS_NAME_MAX + 1]; /**< the name, NUL-terminated; "" when not given */
    /** `schedule_id` was given (create only): create the first job with the stack */
    bool first_job;
    /** the first job (JOBS_JOB_SCHEDULE, and JOBS_JOB_ENABLED when `enabled` was given) */
    jobs_job_spec job;
} jobs_json_stack_spec_body;

/** Flags of jobs_json_decode_stack(). */
enum jobs_json_stack_decode_flag {
    JOBS_JSON_STACK_CREATE = 1u << 0,         /**< POST: `name` required; `schedule_id` and
                                                   `enabled` allowed */
    JOBS_JSON_STACK_BLOCKS_REQUIRED = 1u << 1 /**< `blocks` required (the original service's
                                                   rule for a create) */
};

/**
 * Decodes a stack body of the original service: `name` (string), `blocks` (a JSON array whose
 * items are objects or arrays: the original documents a block as an array on input and an
 * object on output; at most JOBS_STACK_BLOCKS_MAX bytes; no key given twice in any of its
 * objects, JOBS_EBODY, since 0.4.0; kept byte for byte as sent),
 * `webhook` (null, "public", "token" or "user"), `webhook_method` ("GET" or "POST"),
 * `needs_approval` (true or false), `public` (true or false; libjobs' visibility), and with
 * JOBS_JSON_STACK_CREATE `schedule_id` (an integer id: create the first job) and `enabled`
 * (true or false; without `schedule_id` it is accepted and has no effect). Without
 * JOBS_JSON_STACK_CREATE every key is optional and `{}` changes nothing.
 *
 * @param[out] out  the decoded body; written only on success
 * @param flags     jobs_json_stack_decode_flag bits
 * @return 0, JOBS_ESYNTAX, JOBS_EBODY, JOBS_ENAME, JOBS_EINVAL, or JOBS_ENOMEM.
 * @since 0.2.0
 */
JOBS_EXTERN int jobs_json_decode_stack(jobs_json_stack_spec_body *out, const char *body,
                                       size_t len, unsigned int flags);

/**
 * Decodes the body of POST /jobs: `schedule_id` and `stack_id` (required, integers in
 * 1..2^53-1), `name` (string or null, default null), `enabled` (true or false, default false).
 * JOBS_JOB_STACK and JOBS_JOB_SCHEDULE are always set; JOBS_JOB_NAME and JOBS_JOB_ENABLED when
 * the key is given. The run keys (docs/runs.md) are optional too: `delivery`
 * ("at-most-once" or "at-least-once"), `lease` (1..604800), `max_attempts` (1..100) and
 * `misfire` ("coalesce", "skip", "catch-up", or {"policy": ..., "grace": 0..604800 for skip,
 * "max": 1..100 for catch-up}), each setting its JOBS_JOB_* bit.
 *
 * @param[out] out  the decoded body; written only on success
 * @param body      the request body (need not be NUL-terminated; NULL only when len is 0)
 * @param len       its length in bytes
 * @return 0, JOBS_ESYNTAX, JOBS_EBODY, JOBS_ENAME, JOBS_EINVAL, or JOBS_ENOMEM.
 */
JOBS_EXTERN int jobs_json_decode_job_create(jobs_json_job_body *out, const char *body,
                                            size_t len);

/**
 * Decodes the body of PUT /jobs/\<id\>: the same four keys as jobs_json_decode_job_create(),
 * all optional; `{}` is valid and sets no field.
 *
 * @param[out] out  the decoded body; written only on success
 * @return 0, JOBS_ESYNTAX, JOBS_EBODY, JOBS_ENAME, JOBS_EINVAL, or JOBS_ENOMEM.
 */
JOBS_EXTERN int jobs_json_decode_job_update(jobs_json_job_body *out, const char *body,
                                            size_t len);

/**
 * Decodes the body of POST /schedules: `config` (required), `name` (string or null, default
 * null), `once` (true or false, default false). `config` is an object: `{"period": N}`
 * (integer 60..31536000) or `{"cron": "EXPR", "tz": "ZONE"}` (`tz` optional, default "UTC";
 * strings of at most JOBS_CRON_MAX and JOBS_TZ_MAX bytes) when `once` is false,
 * `{"timestamp": N}` (integer 1..2^53-1) when it is true; anything else is JOBS_ECONFIG.
 * Whether the expression parses and the zone exists is checked by jobs_schedule_create().
 *
 * @param[out] out  the decoded body; written only on success
 * @return 0, JOBS_ESYNTAX, JOBS_EBODY, JOBS_ENAME, JOBS_ECONFIG, JOBS_EINVAL, or JOBS_ENOMEM.
 */
JOBS_EXTERN int jobs_json_decode_schedule_create(jobs_json_schedule_body *out, const char *body,
                                                 size_t len);

/**
 * Decodes the body of PUT /schedules/\<id\>: `name`, `once`, `config`, all optional. When `once`
 * is given, `config` (if given) must hold its matching key (with `once` false, a `period`
 * makes the schedule periodic, even a cron one); without `once`, `config` may hold any of the
 * keys and jobs_schedule_update() checks it against the schedule's stored kind. A `cron`
 * config makes the schedule a cron schedule.
 *
 * @param[out] out  the decoded body; written only on success
 * @return 0, JOBS_ESYNTAX, JOBS_EBODY, JOBS_ENAME, JOBS_ECONFIG, JOBS_EINVAL, or JOBS_ENOMEM.
 */
JOBS_EXTERN int jobs_json_decode_schedule_update(jobs_json_schedule_body *out, const char *body,
                                                 size_t len);

/**
 * Decodes the body of POST /blockstacks: `name` (required string), `public` (true or false,
 * default false).
 *
 * @param[out] out  the decoded body; written only on success
 * @return 0, JOBS_ESYNTAX, JOBS_EBODY, JOBS_ENAME, JOBS_EINVAL, or JOBS_ENOMEM.
 */
JOBS_EXTERN int jobs_json_decode_stack_create(jobs_json_stack_body *out, const char *body,
                                              size_t len);

/**
 * Checks a body that the host decodes itself (with cJSON) by the rules of every decoder above:
 * at most JOBS_JSON_BODY_MAX bytes, exactly one strict JSON value nested at most
 * JOBS_JSON_DEPTH_MAX deep, valid UTF-8, no `\u0000` in any string, a top-level object,
 * every member's key one of `keys`, and no key given twice in any object of the body (a
 * member's own objects included, since 0.4.0). A body that passes is parsed exactly by
 * cJSON_ParseWithLength(): cJSON then fails only for want of memory, and each key is at most
 * once in its object, so cJSON_GetObjectItem() finds the only one. The strings of the body are wiped from the library's memory before
 * it returns, whether the body passes or not (unless memory runs out within cJSON's parse, which
 * then frees its partial tree itself), and the detail never quotes a value.
 *
 * @param body   the request body (need not be NUL-terminated; NULL only when len is 0)
 * @param len    its length in bytes
 * @param keys   the allowed keys (NULL only when nkeys is 0; none of them NULL)
 * @param nkeys  how many
 * @return 0, JOBS_ESYNTAX, JOBS_EBODY, JOBS_EINVAL, or JOBS_ENOMEM; jobs_error_last() says why
 *         ("unknown key 'x'", "duplicate key 'x'", "the body must be a JSON object", ...).
 * @since 0.2.0
 */
JOBS_EXTERN int jobs_json_check_object(const char *body, size_t len, const char *const *keys,
                                       size_t nkeys);

/* ---- webhooks ------------------------------------------------------------------------------ */

/** A name and a value (a query or form parameter, a header), each bytes[0..len): decoded
 * already, any bytes (a NUL byte is written as an escaped zero, bytes that are not UTF-8 as
 * U+FFFD). */
typedef struct jobs_json_pair {
    const char *name;  /**< the name's bytes */
    size_t name_len;   /**< their count */
    const char *value; /**< the value's bytes */
    size_t value_len;  /**< their count */
} jobs_json_pair;

/** What a webhook request carried, for jobs_json_encode_hook_input(). */
typedef struct jobs_json_hook_request {
    const jobs_json_pair *get;     /**< the query's parameters, in order */
    size_t nget;                   /**< their count */
    const jobs_json_pair *post;    /**< a form body's parameters, in order */
    size_t npost;                  /**< their count */
    const char *json;              /**< a JSON body, or NULL for none */
    size_t json_len;               /**< its length */
    const jobs_json_pair *headers; /**< the headers to pass on, in order */
    size_t nheaders;               /**< their count */
} jobs_json_hook_request;

/**
 * The input of a webhook's run, as the original service gives it to a stack:
 * `{"GET":{...},"POST":{...},"JSON":<the body>,"HEADERS":{...}}`. In GET, POST and HEADERS a
 * name given once has its value as a string, a name given more than once an array of its values
 * in order. Names are compared as they are written (each byte that is not UTF-8 as U+FFFD), so
 * names that differ only in such bytes are one member, and no key is written twice. JSON is
 * the body as sent (the whitespace around it dropped), or `{}` when there is none. The body is
 * checked as the decoders check bodies: one JSON object by the strict grammar, at most
 * JOBS_JSON_BODY_MAX bytes and JOBS_JSON_DEPTH_MAX deep, and, since the stack's program reads
 * all of it, no key given twice in any object of it (at any depth). Since 0.4.0 (before, any
 * one JSON value was passed on, repeated keys included).
 *
 * @param[out] out  the JSON (caller frees with jobs_json_free()); NULL on failure
 * @param req       the request's parts
 * @return 0, JOBS_ESYNTAX or JOBS_EBODY (the JSON body: not JSON; too large or deep, not an
 *         object, or a key given twice), JOBS_EINVAL (NULL argument, a count without its array),
 *         or JOBS_ENOMEM.
 * @since 0.2.0
 */
JOBS_EXTERN int jobs_json_encode_hook_input(char **out, const jobs_json_hook_request *req);

/**
 * The answer of a webhook once its run has ended: `{"status":0,"result":<output>,"run":N}`
 * when it succeeded, where `result` is the output itself when it is one valid JSON value
 * (strict grammar and UTF-8 as the decoders check them, whitespace around it dropped, at most
 * JOBS_JSON_BODY_MAX bytes; the body rules on depth, long numbers and `\u0000` are not applied,
 * so an echo of the input is JSON however deep its body) and else the output as a string; `{"status":1,"err":"<err>","run":N}` when it did not. `"run"` is left
 * out when `run` is 0.
 *
 * @param[out] out  the JSON (caller frees with jobs_json_free()); NULL on failure
 * @param run       the run's id, or 0
 * @param succeeded whether the run succeeded
 * @param output    its output (any bytes; may be NULL with len 0)
 * @param len       the output's length
 * @param err       the failure's description (NULL: "the run failed"); read only on failure
 * @return 0, JOBS_EINVAL (NULL out, or len > 0 with NULL output), or JOBS_ENOMEM.
 * @since 0.2.0
 */
JOBS_EXTERN int jobs_json_encode_hook_result(char **out, uint64_t run, bool succeeded,
                                             const char *output, size_t len, const char *err);

/**
 * The answer of a run made by hand (the original service's `GET /blockstacks/exec/<id>`) once
 * it has ended: as jobs_json_encode_hook_result(), with the original's keys for that route:
 * `{"success":<output>,"run":N}` when the run succeeded (the output as `result` is there) and
 * `{"error":"<err>","run":N}` when it did not.
 * @since 0.4.0
 */
JOBS_EXTERN int jobs_json_encode_exec_result(char **out, uint64_t run, bool succeeded,
                                             const char *output, size_t len, const char *err);

#ifdef __cplusplus
}
#endif

#endif
