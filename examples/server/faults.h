/* The fault table of jobs-server: every fault number the HTTP API answers, with its HTTP status.
 * The one place these are written (docs/errors.md lists them for readers):
 *   - faults that stand for a library error take their number from the library's error table
 *     (JOBS_ERRNO_MAP in include/jobs/errors.h, which jobs_fault_code() reads), by name, so the
 *     number is written once, there;
 *   - faults only the server raises (a login, routes, HTTP framing, throttling) have their number
 *     here.
 * The switch of srv_fault_status() is generated from the list, so two faults with one number do
 * not compile. */
#ifndef JOBS_SERVER_FAULTS_H
#define JOBS_SERVER_FAULTS_H

#include <jobs/errors.h>

/* The fault number of library error JOBS_<name>, as a constant: SRV_LIB_FAULT_ENOTFOUND (6). */
#define SRV__LIB_FAULT(name, code, fault, msg) SRV_LIB_FAULT_##name = (fault),
enum srv_lib_fault { JOBS_ERRNO_MAP(SRV__LIB_FAULT) };
#undef SRV__LIB_FAULT

/** X(name, number, HTTP status): every fault of the HTTP API (docs/errors.md). */
#define SRV_FAULT_MAP(X)                                                                        \
    X(PARAM, SRV_LIB_FAULT_EPAGE, 400)       /* bad query or path parameter */                  \
    X(SYNTAX, SRV_LIB_FAULT_ESYNTAX, 400)    /* body is not JSON */                             \
    X(LOGIN, 3, 401)                         /* unknown user or wrong password */               \
    X(BODY, SRV_LIB_FAULT_EBODY, 400)        /* JSON not right for the operation */             \
    X(NOTFOUND, SRV_LIB_FAULT_ENOTFOUND, 404) /* no such job */                                 \
    X(EXISTS, SRV_LIB_FAULT_EEXISTS, 409)    /* name already used */                            \
    X(STACK, SRV_LIB_FAULT_ESTACK, 400)      /* no such stack */                                \
    X(SCHEDULE, SRV_LIB_FAULT_ESCHEDULE, 400) /* no such schedule */                            \
    X(CONFIG, SRV_LIB_FAULT_ECONFIG, 400)    /* invalid schedule config */                      \
    X(INUSE, SRV_LIB_FAULT_EINUSE, 409)      /* schedule referenced by jobs */                  \
    X(UNAUTH, 100, 401)                      /* not authenticated */                            \
    X(NOROUTE, 101, 404)                     /* no such route */                                \
    X(METHOD, 102, 405)                      /* method not allowed */                           \
    X(TOO_LARGE, 103, 413)                   /* body over JOBS_JSON_BODY_MAX */                 \
    X(QUEUED, SRV_LIB_FAULT_EQUEUED, 409)    /* job queued for deletion */                      \
    X(FULL, SRV_LIB_FAULT_ENOSPC, 507)       /* storage full */                                 \
    X(INTERNAL, SRV_LIB_FAULT_ENOMEM, 500)   /* internal error */                               \
    X(THROTTLED, 107, 429)                   /* too many failed logins */                       \
    X(MALFORMED, 108, 400)                   /* framing or headers that cannot be trusted */    \
    X(CHANGED, SRV_LIB_FAULT_ECHANGED, 412)  /* If-Match does not match */                      \
    X(IDEMPOTENCY, SRV_LIB_FAULT_EIDEMPOTENCY, 422) /* Idempotency-Key reused, other body */ \
    X(PUBLIC, SRV_LIB_FAULT_EPUBLIC, 403)    /* a public schedule cannot be changed */ \
    X(QUOTA, 112, 403)                       /* a per-user quota is reached */                  \
    X(BUSY, 113, 503)                        /* every login check is taken: retry */            \
    X(STOPPING, 114, 503)                    /* the server is stopping (SIGTERM) */             \
    X(MEDIA_TYPE, 115, 415)                  /* body's Content-Type is not JSON */              \
    X(STACK_EXISTS, SRV_LIB_FAULT_ESTACKEXISTS, 409) /* stack name already used */              \
    X(LOGIN_TO_SEE, 116, 403)                /* not public: log in to see it */                 \
    X(RUNSTATE, SRV_LIB_FAULT_ERUNSTATE, 409) /* the run is not delivered or running */ \
    X(UNAVAILABLE, SRV_LIB_FAULT_EUNAVAILABLE, 503) /* the database is unreachable */       \
    X(NOTSUP, SRV_LIB_FAULT_ENOTSUP, 501)    /* not supported by the store's backend */         \
    X(CONFLICT, SRV_LIB_FAULT_ECONFLICT, 503) /* writes kept conflicting: retry */              \
    X(WEBHOOK, SRV_LIB_FAULT_EWEBHOOK, 409)  /* token_refresh: not a token webhook */           \
    X(NOHOOK, 132, 404)                      /* no such stack, or its webhook is null */       \
    X(HOOK_DENIED, 133, 403)                 /* wrong or missing token, or not the owner */    \
    X(HOOK_BUSY, 134, 429)                   /* too many hook requests at once */               \
    X(BATCH, SRV_LIB_FAULT_EBATCH, 409)      /* another operation of a batch failed */          \
    X(CROSS_SITE, 140, 403)                  /* a browser's cookie write without X-Requested-With */ \
    X(EXEC_HOOK, 141, 409)                   /* exec of a stack that has a webhook */

/** Fault numbers of the HTTP layer: SRV_FAULT_<name>. */
#define SRV__FAULT_ENUM(name, number, status) SRV_FAULT_##name = (number),
enum srv_fault { SRV_FAULT_MAP(SRV__FAULT_ENUM) };
#undef SRV__FAULT_ENUM

/** The HTTP status of a fault; 500 for a number not in the table. */
int srv_fault_status(int fault);

#endif
