/* The HTTP API of jobs-server as a pure function: a parsed request and the application context
 * in, a complete response out. No sockets and no civetweb here, so tests and fuzzers can call
 * srv_handle() directly. See docs/http-api.md for the routes and faults. */
#ifndef JOBS_SERVER_HANDLER_H
#define JOBS_SERVER_HANDLER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jobs.h>

#include "auth.h"
#include "faults.h"
#include "metrics.h"
#include "throttle.h"
#include "users.h"

/** A request header as received. */
typedef struct srv_header {
    const char *name;
    const char *value;
} srv_header;

/** A request. Every string is NUL-terminated; `path` and `query` are raw (not decoded). */
typedef struct srv_request {
    const char *method;        /**< "GET", "POST", ... */
    const char *path;          /**< e.g. "/jobs/byname/a%20b", without the query */
    const char *query;         /**< e.g. "page=2", or NULL */
    const char *cookie;        /**< the Cookie header, or NULL */
    const char *authorization; /**< the Authorization header, or NULL */
    const char *if_match;      /**< the If-Match header, or NULL */
    const char *idempotency_key; /**< the Idempotency-Key header, or NULL */
    const char *body;          /**< the body (need not be NUL-terminated), or NULL */
    size_t body_len;           /**< its length */
    bool is_tls;               /**< the client's request is HTTPS: the connection's, or what
                                *   a --trusted-proxy says in X-Forwarded-Proto (cookies get
                                *   `Secure`; the cross-origin check reads the scheme) */
    const char *remote;        /**< the client's address ("127.0.0.1"), or NULL (in-process):
                                    logins are throttled per address too */
    const char *content_type;  /**< the Content-Type header, or NULL (webhooks read forms) */
    const srv_header *headers; /**< every header line, in order (a webhook's input), or NULL */
    size_t n_headers;          /**< their count */
    const char *if_none_match; /**< the If-None-Match header (the console's files), or NULL */
    const char *origin;        /**< the Origin header, or NULL */
    const char *sec_fetch_site; /**< the Sec-Fetch-Site header, or NULL */
    const char *requested_with; /**< the X-Requested-With header, or NULL: with Origin and
                                     Sec-Fetch-Site, the CSRF check (docs/http-api.md) */
} srv_request;

/** A response. Free with srv_response_free(). */
typedef struct srv_response {
    int status;           /**< HTTP status */
    char headers[512];    /**< extra header lines, each ending in CRLF (Location, Set-Cookie, Allow) */
    char *body;           /**< the body (malloc'd, NUL-terminated: JSON, or a console file's
                               bytes), never NULL after srv_handle() */
    size_t body_len;      /**< its length */
    const char *content_type; /**< a static string; NULL for application/json (every answer
                                   but GET /metrics) */
    uint64_t user;        /**< the user the request acted for (for the access log): the caller's
                               session, the user who logged in or out; 0 for none */
    bool kragle;          /**< the Kragle profile (a path under "/api/v1", route.h): every fault
                               is 500 with the documented message, creates answer 200. Set by
                               srv_handle(); set it before srv_fault() for answers the handler
                               does not make (413) */
    const char *cache_control; /**< a static Cache-Control value; NULL for no-store (every
                                    answer but the console's files) */
} srv_response;

/**
 * The message the original service documents for a fault of codes 1..27 ("The specified object
 * does not exist."), or NULL for any other number (our extensions have no documented text).
 */
const char *srv_kragle_msg(int fault);

/** What the handler works on. Shared by all request threads. */
typedef struct srv_app {
    jobs_store *store;
    srv_users *users;
    srv_sessions *sessions;
    /** Login throttling; NULL: logins are not throttled (in-process tests only). */
    srv_throttle *throttle;
    /** Per-user quotas of jobs, stacks and schedules (0: none). A create past one answers fault
     * 112 (403). Checked and created under a per-user lock, so concurrent creates of one user
     * never go past it (writes from other processes, such as jobsctl, are not counted in time:
     * see docs/http-api.md). */
    unsigned quota_jobs, quota_stacks, quota_schedules;
    bool fault_status_500;  /**< answer every fault with 500, as the original service did */
    unsigned session_ttl;   /**< session lifetime in seconds (cookie Max-Age and expiry) */
    /** GET /metrics: the counters, or NULL to answer /metrics 404 (no metrics kept). */
    srv_metrics *metrics;
    /** GET /healthz: when the scheduler thread last went round its loop, in CLOCK_MONOTONIC
     * milliseconds; NULL when the app runs no scheduler (then it is not checked). */
    _Atomic int64_t *heartbeat;
    /** The oldest heartbeat /healthz still calls alive, in milliseconds. */
    int64_t heartbeat_max_age_ms;
    /** The webhooks' table (hook.h), or NULL when the server runs no command (--run-command):
     * then a webhook makes no run and answers status 1. */
    struct srv_hooks *hooks;
} srv_app;

/** Handles one request. Thread-safe for concurrent calls on the same app. */
void srv_handle(srv_response *res, srv_app *app, const srv_request *req);

/** Fills `res` with a fault (used by the HTTP glue for 413 before the handler runs). */
void srv_fault(srv_response *res, const srv_app *app, int fault, const char *msg);

/** Fills `res` with the fault of library error `code` (jobs_fault_code()) and its detail `msg`
 * (NULL or "": jobs_strerror(code)). An internal error (106) or an unreachable database (128)
 * answers the fixed jobs_strerror() message instead, as its detail may name paths, hosts or
 * internals; the detail is written on stderr. */
void srv_code_fault(srv_response *res, const srv_app *app, int code, const char *msg);

/** srv_code_fault() with the detail of the calling thread's last library error
 * (jobs_error_last()): call it right after the failing call. */
void srv_lib_fault(srv_response *res, const srv_app *app, int code);

/** The reason phrase of an HTTP status ("Not Found"). */
const char *srv_status_text(int status);

/** CLOCK_MONOTONIC in milliseconds (the scheduler's heartbeat, request durations). */
int64_t srv_monotonic_ms(void);

/** Frees the body of a response. Accepts a zeroed response. */
void srv_response_free(srv_response *res);

#endif
