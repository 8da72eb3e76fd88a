/* What jobs-server tells its operators: counters that request threads and the scheduler thread
 * update without locks (C11 atomics), rendered in the Prometheus text format for GET /metrics,
 * and the JSON line the access log holds per request. No civetweb and no sockets here, so tests
 * can call everything directly. See docs/http-api.md, "Operations", for the list of metrics. */
#ifndef JOBS_SERVER_METRICS_H
#define JOBS_SERVER_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <jobs.h>

/** The Content-Type of srv_metrics_render()'s text: Prometheus text exposition format 0.0.4. */
#define SRV_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

typedef struct srv_metrics srv_metrics;

/** A new set of metrics, all zero, that notes the current time as the server's start. NULL when
 * out of memory. */
srv_metrics *srv_metrics_new(void);

/** Frees the set. Accepts NULL. */
void srv_metrics_free(srv_metrics *m);

/**
 * Counts one answered request and its duration. Lock-free and allocation-free; thread-safe.
 * @param route        srv_route_index() of its path (0: no route)
 * @param method       the request method as the client sent it (NULL: unknown); methods other
 *                     than GET, HEAD, POST, PUT and DELETE are counted as "other"
 * @param status       the HTTP status of the answer
 * @param duration_ns  from the start of its handling until the answer was written
 */
void srv_metrics_request(srv_metrics *m, unsigned route, const char *method, int status,
                         uint64_t duration_ns);

/** Counts one scheduler event (JOBS_EVENT_RUN or JOBS_EVENT_DELETED). Thread-safe. */
void srv_metrics_event(srv_metrics *m, jobs_event_type type);

/**
 * Counts one run the scheduler delivered, by trigger (jobs_run_trigger), and its lag: the
 * seconds from its slot to its delivery. Thread-safe.
 */
void srv_metrics_run_delivered(srv_metrics *m, int trigger, int64_t lag_s);

/** Counts one run the runner ended, by state (JOBS_RUN_SUCCEEDED or JOBS_RUN_FAILED). */
void srv_metrics_run_finished(srv_metrics *m, int state);

/** Adds `delta` (+1, -1) to the runner's children running now. */
void srv_metrics_run_running(srv_metrics *m, int delta);

/**
 * Notes the end of one scheduler tick: when `ok`, `now` (Unix seconds) becomes the last tick's
 * time; otherwise the tick is counted as failed. Thread-safe.
 */
void srv_metrics_tick(srv_metrics *m, bool ok, int64_t now);

/** The tick interval in seconds, exported as a gauge. Call before the first scrape. */
void srv_metrics_set_tick_interval(srv_metrics *m, unsigned seconds);

/** The notAfter of the --tls-cert certificate (Unix seconds), exported as the gauge
 * jobs_tls_certificate_expiry_timestamp_seconds; without a call (no --tls-cert, or its dates
 * could not be read) the gauge is left out. Call before the first scrape. */
void srv_metrics_set_tls_certificate_expiry(srv_metrics *m, int64_t not_after);

/**
 * The metrics as Prometheus text (format 0.0.4), with HELP and TYPE lines. Request counters and
 * histograms appear for the routes, methods and statuses seen so far; the access log's dropped
 * lines are the process's (srv_accesslog_dropped()), whatever `m`. Each counter is read
 * atomically, but not all of them at one instant: a scrape during requests may count a request
 * in one metric and not yet in another.
 *
 * @param[out] out  the text (malloc'd, NUL-terminated); free() it
 * @param[out] len  its length
 * @param st        the store's counts and map use, or NULL to leave the store's metrics out
 *                  (jobs_store_stat() failed)
 * @return 0, or -1 when out of memory.
 */
int srv_metrics_render(char **out, size_t *len, srv_metrics *m, const jobs_store_stat_info *st);

/** The longest access-log line, newline included: PIPE_BUF, so that one write(2) of a line to a
 * pipe is atomic. */
#define SRV_ACCESS_LINE_MAX 4096

/** One request, as the access log records it. */
typedef struct srv_access {
    struct timespec time; /**< when the answer was written (CLOCK_REALTIME) */
    const char *method;   /**< as sent (escaped in the line; cut at 16 bytes), or NULL: unknown */
    const char *route;    /**< srv_route_template() of the path */
    const char *path;     /**< the path WITHOUT the query string, raw; or NULL: unknown */
    const char *remote;   /**< the client's address, or NULL */
    int status;           /**< HTTP status */
    uint64_t duration_ns; /**< from the start of handling until the answer was written */
    uint64_t user;        /**< the authenticated user, 0 for none */
    size_t bytes;         /**< body bytes sent */
} srv_access;

/**
 * Formats the access-log line of one request: one JSON object and a newline, at most
 * SRV_ACCESS_LINE_MAX bytes. Strings are escaped for JSON: quotes, backslashes and control
 * characters as escapes, bytes that are not valid UTF-8 as \ufffd each. A path that does not fit
 * is cut, and the line then has "path_truncated":true.
 * @return the length of the line (newline included, no NUL written after it).
 */
size_t srv_access_format(char line[SRV_ACCESS_LINE_MAX], const srv_access *a);

#endif
