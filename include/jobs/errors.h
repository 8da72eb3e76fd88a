/**
 * @file jobs/errors.h
 * @brief Error codes, their messages, their HTTP-API fault numbers, and the per-thread detail.
 *
 * Every fallible libjobs call returns an `int`: 0 on success, or one of the negative codes
 * below. Codes are never renumbered; new ones are only added. After a failure,
 * jobs_error_last() gives a sentence about this particular failure on the calling thread.
 */
#ifndef JOBS_ERRORS_H
#define JOBS_ERRORS_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * The error table: X(name, code, fault, message).
 *
 * `fault` is the number the HTTP API answers for the error (see docs/http-api.md; 100 and above
 * are extensions of the original service's codes).
 */
#define JOBS_ERRNO_MAP(X)                                                                        \
    X(EINVAL, -1, 4, "invalid argument")                                                         \
    X(ENOMEM, -2, 106, "out of memory")                                                          \
    X(ENOTFOUND, -3, 6, "no such object")                                                        \
    X(ENAME, -4, 4, "invalid name")                                                              \
    X(ERANGE, -5, 4, "id or number out of range")                                                \
    X(EEXISTS, -6, 12, "name already used by another job of this owner")                         \
    X(ESTACK, -7, 24, "no such stack, or not visible to this owner")                             \
    X(ESCHEDULE, -8, 25, "no such schedule, or not visible to this owner")                       \
    X(ECONFIG, -9, 26, "invalid schedule config")                                                \
    X(EINUSE, -10, 27, "schedule is referenced by jobs and cannot be changed")                   \
    X(EQUEUED, -11, 104, "job is queued for deletion and cannot be changed")                     \
    X(EPAGE, -12, 1, "page number must be 1 or more")                                            \
    X(ENOSPC, -13, 105, "storage full")                                                          \
    X(ESCHEMA, -14, 106, "store has an unknown schema version")                                  \
    X(ECORRUPT, -15, 106, "store record is corrupt")                                             \
    X(EIO, -16, 106, "storage I/O error")                                                        \
    X(EREADERS, -17, 106, "too many concurrent readers")                                         \
    X(EBUSY, -18, 106, "store is in use (open in this process, or another one has it open)")     \
    X(EVERSION, -19, 106, "unsupported options version")                                         \
    X(EOWNER, -20, 4, "invalid owner id")                                                        \
    X(ESYNTAX, -21, 2, "request body is not valid JSON")                                         \
    X(EBODY, -22, 4, "request body is not right for this operation")                            \
    X(ECHANGED, -23, 109, "the object has changed since the given entity tag")                   \
    X(EIDEMPOTENCY, -24, 110, "idempotency key was used with a different request")             \
    X(EREADONLY, -25, 106, "store is open read-only")                                            \
    X(EPUBLIC, -26, 111, "public schedules cannot be changed")                                   \
    X(ESTACKEXISTS, -27, 10, "name already used by another stack of this owner")                 \
    X(ERUNSTATE, -32, 122, "the run is not delivered or running: nothing to finish") \
    X(EUNAVAILABLE, -37, 128, "the database is unreachable")                                     \
    X(ENOTSUP, -38, 129, "not supported by this store's backend")                                \
    X(ECONFLICT, -39, 130, "too many conflicting concurrent writes; try again")                  \
    X(EWEBHOOK, -41, 131, "the stack's webhook is not of the token kind: it has no token")       \
    X(EBATCH, -45, 137, "another operation of the batch failed: nothing of it was written")

/** Error codes. 0 (JOBS_OK) is success; every error is negative. */
typedef enum jobs_error {
    JOBS_OK = 0,
#define JOBS__ERRNO_ENUM(name, code, fault, msg) JOBS_##name = (code),
    JOBS_ERRNO_MAP(JOBS__ERRNO_ENUM)
#undef JOBS__ERRNO_ENUM
} jobs_error;

/**
 * A fixed English message for an error code ("no such object"); "success" for 0 and
 * "unknown error" for a code not in the table. Static storage; thread-safe.
 */
JOBS_EXTERN const char *jobs_strerror(int code);

/**
 * The symbolic name of an error code ("JOBS_ENOTFOUND"), "JOBS_OK" for 0, or "JOBS_EUNKNOWN".
 * Static storage; thread-safe.
 */
JOBS_EXTERN const char *jobs_err_name(int code);

/**
 * The HTTP-API fault number for an error code (6 for JOBS_ENOTFOUND), 0 for success, and 106
 * (internal error) for a code not in the table. Thread-safe.
 */
JOBS_EXTERN int jobs_fault_code(int code);

/**
 * The detail of the last failure on the calling thread, e.g. "name 'x' is already used by job 42".
 *
 * Valid until the next libjobs call on this thread. Calls that succeed leave it unchanged, so
 * read it right after the failing call. Never NULL ("" when nothing failed yet).
 */
JOBS_EXTERN const char *jobs_error_last(void);

#ifdef __cplusplus
}
#endif

#endif
