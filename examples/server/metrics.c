/* Metrics and access-log lines of jobs-server (see metrics.h). */
#include "metrics.h"
#include "accesslog.h"
#include "route.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the counters -------------------------------------------------------------------------- */

/* The method label: anything else a client sends counts as "other", so the label set is fixed. */
static const char *const method_names[] = {"GET", "HEAD", "POST", "PUT", "DELETE", "other"};
#define METHODS (sizeof method_names / sizeof *method_names)

/* The statuses jobs-server answers with (every status of the fault table, faults.h, and the
 * 2xx, 304 and /healthz's 503), and a few more; any other one counts as "other". */
static const int statuses[] = {200, 201, 202, 204, 304, 400, 401, 403, 404, 405, 409,
                               412, 413, 415, 422, 429, 500, 501, 503, 507};
#define STATUSES (sizeof statuses / sizeof *statuses + 1)

/* Upper bounds of the latency buckets, and the same as `le` labels. */
static const uint64_t bucket_ns[] = {500000,    1000000,   2500000,   5000000,
                                     10000000,  25000000,  50000000,  100000000,
                                     250000000, 500000000, 1000000000, 2500000000u};
static const char *const bucket_le[] = {"0.0005", "0.001", "0.0025", "0.005", "0.01", "0.025",
                                        "0.05",   "0.1",   "0.25",   "0.5",   "1",    "2.5"};
#define BUCKETS (sizeof bucket_ns / sizeof *bucket_ns)

/* One histogram: n[i] counts durations in (bound[i-1], bound[i]], n[BUCKETS] those above the
 * last bound. They are made cumulative when rendered, so a request costs one add, and the
 * buckets and _count of one scrape always agree. */
typedef struct latency {
    _Atomic uint64_t n[BUCKETS + 1];
    _Atomic uint64_t sum_ns;
} latency;

/* Upper bounds of the run lag buckets, seconds. */
static const int64_t lag_le[] = {0, 1, 2, 5, 10, 30, 60, 300, 3600};
#define LAG_BUCKETS (sizeof lag_le / sizeof *lag_le)

struct srv_metrics {
    _Atomic uint64_t requests[SRV_ROUTE_TEMPLATES][METHODS][STATUSES];
    latency latency[SRV_ROUTE_TEMPLATES];
    _Atomic uint64_t runs;
    _Atomic uint64_t deleted;
    _Atomic uint64_t runs_by_trigger[4];  /* jobs_run_trigger, 0: unknown */
    _Atomic uint64_t runs_by_state[8];    /* jobs_run_state the runner recorded */
    _Atomic int64_t runs_running;
    _Atomic uint64_t lag[LAG_BUCKETS + 1]; /* slot to delivery, seconds */
    _Atomic uint64_t lag_sum;
    _Atomic uint64_t tick_errors;
    _Atomic int64_t last_tick;
    _Atomic unsigned tick_interval;
    _Atomic int64_t tls_not_after;
    _Atomic bool tls;
    int64_t started;
};

srv_metrics *srv_metrics_new(void)
{
    srv_metrics *m = calloc(1, sizeof *m);

    if (m)
        m->started = (int64_t)time(NULL);
    return m;
}

void srv_metrics_free(srv_metrics *m)
{
    free(m);
}

static size_t method_index(const char *method)
{
    for (size_t i = 0; method && i < METHODS - 1; i++)
        if (strcmp(method, method_names[i]) == 0)
            return i;
    return METHODS - 1;
}

static size_t status_index(int status)
{
    for (size_t i = 0; i < STATUSES - 1; i++)
        if (statuses[i] == status)
            return i;
    return STATUSES - 1;
}

/* Counters only ever grow and are read one at a time, so no ordering between them is needed. */
static void add(_Atomic uint64_t *counter, uint64_t n)
{
    atomic_fetch_add_explicit(counter, n, memory_order_relaxed);
}

static uint64_t get(_Atomic uint64_t *counter)
{
    return atomic_load_explicit(counter, memory_order_relaxed);
}

void srv_metrics_request(srv_metrics *m, unsigned route, const char *method, int status,
                         uint64_t duration_ns)
{
    size_t b = 0;

    if (route >= SRV_ROUTE_TEMPLATES)
        route = 0;
    while (b < BUCKETS && duration_ns > bucket_ns[b])
        b++;
    add(&m->requests[route][method_index(method)][status_index(status)], 1);
    add(&m->latency[route].n[b], 1);
    add(&m->latency[route].sum_ns, duration_ns);
}

void srv_metrics_event(srv_metrics *m, jobs_event_type type)
{
    add(type == JOBS_EVENT_DELETED ? &m->deleted : &m->runs, 1);
}

void srv_metrics_run_delivered(srv_metrics *m, int trigger, int64_t lag_s)
{
    size_t b = 0;

    if (lag_s < 0)
        lag_s = 0;
    while (b < LAG_BUCKETS && lag_s > lag_le[b])
        b++;
    add(&m->runs_by_trigger[trigger >= 1 && trigger <= 3 ? trigger : 0], 1);
    add(&m->lag[b], 1);
    add(&m->lag_sum, (uint64_t)lag_s);
}

void srv_metrics_run_finished(srv_metrics *m, int state)
{
    add(&m->runs_by_state[state >= 1 && state <= 7 ? state : 0], 1);
}

void srv_metrics_run_running(srv_metrics *m, int delta)
{
    atomic_fetch_add_explicit(&m->runs_running, delta, memory_order_relaxed);
}

void srv_metrics_tick(srv_metrics *m, bool ok, int64_t now)
{
    if (ok)
        atomic_store_explicit(&m->last_tick, now, memory_order_relaxed);
    else
        add(&m->tick_errors, 1);
}

void srv_metrics_set_tick_interval(srv_metrics *m, unsigned seconds)
{
    atomic_store_explicit(&m->tick_interval, seconds, memory_order_relaxed);
}

void srv_metrics_set_tls_certificate_expiry(srv_metrics *m, int64_t not_after)
{
    atomic_store_explicit(&m->tls_not_after, not_after, memory_order_relaxed);
    atomic_store_explicit(&m->tls, true, memory_order_release);
}

/* ---- rendering ----------------------------------------------------------------------------- */

typedef struct text {
    char *p;
    size_t len, cap;
    bool oom;
} text;

/* The format attribute lets clang's -Wformat-nonliteral (-Wformat=2) accept the vsnprintf. */
__attribute__((format(printf, 2, 3)))
static void put(text *t, const char *fmt, ...)
{
    va_list ap;
    int n;

    while (!t->oom) {
        size_t room = t->cap - t->len;
        char *p;

        va_start(ap, fmt);
        n = vsnprintf(t->p + t->len, room, fmt, ap);
        va_end(ap);
        if (n < 0) {
            t->oom = true;
        } else if ((size_t)n < room) {
            t->len += (size_t)n;
            return;
        } else if (!(p = realloc(t->p, t->cap * 2 + (size_t)n))) {
            t->oom = true;
        } else {
            t->p = p;
            t->cap = t->cap * 2 + (size_t)n;
        }
    }
}

static void family(text *t, const char *name, const char *type, const char *help)
{
    put(t, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void counter(text *t, const char *name, const char *help, uint64_t v)
{
    family(t, name, "counter", help);
    put(t, "%s %" PRIu64 "\n", name, v);
}

static void gauge(text *t, const char *name, const char *help, int64_t v)
{
    family(t, name, "gauge", help);
    put(t, "%s %" PRId64 "\n", name, v);
}

static void render_requests(text *t, srv_metrics *m)
{
    family(t, "jobs_http_requests_total", "counter",
           "HTTP requests answered, by route template, method and status.");
    for (unsigned r = 0; r < SRV_ROUTE_TEMPLATES; r++)
        for (size_t k = 0; k < METHODS; k++)
            for (size_t s = 0; s < STATUSES; s++) {
                uint64_t v = get(&m->requests[r][k][s]);
                char status[16];

                if (!v)
                    continue;
                if (s < STATUSES - 1)
                    snprintf(status, sizeof status, "%d", statuses[s]);
                else
                    snprintf(status, sizeof status, "other");
                put(t, "jobs_http_requests_total{route=\"%s\",method=\"%s\",status=\"%s\"} %" PRIu64
                       "\n", srv_route_template(r), method_names[k], status, v);
            }

    family(t, "jobs_http_request_duration_seconds", "histogram",
           "Time from the start of handling a request until its answer was written, by route "
           "template.");
    for (unsigned r = 0; r < SRV_ROUTE_TEMPLATES; r++) {
        latency *l = &m->latency[r];
        uint64_t n[BUCKETS + 1], total = 0, sum;
        const char *route = srv_route_template(r);

        for (size_t b = 0; b <= BUCKETS; b++)
            total += n[b] = get(&l->n[b]);
        if (!total)
            continue;
        sum = get(&l->sum_ns);
        total = 0;
        for (size_t b = 0; b < BUCKETS; b++) {
            total += n[b];
            put(t, "jobs_http_request_duration_seconds_bucket{route=\"%s\",le=\"%s\"} %" PRIu64
                   "\n", route, bucket_le[b], total);
        }
        total += n[BUCKETS];
        put(t, "jobs_http_request_duration_seconds_bucket{route=\"%s\",le=\"+Inf\"} %" PRIu64 "\n",
            route, total);
        put(t, "jobs_http_request_duration_seconds_sum{route=\"%s\"} %" PRIu64 ".%09" PRIu64 "\n",
            route, sum / 1000000000u, sum % 1000000000u);
        put(t, "jobs_http_request_duration_seconds_count{route=\"%s\"} %" PRIu64 "\n", route,
            total);
    }
}

int srv_metrics_render(char **out, size_t *len, srv_metrics *m, const jobs_store_stat_info *st)
{
    text t = {NULL, 0, 16384, false};

    *out = NULL;
    *len = 0;
    if (!(t.p = malloc(t.cap)))
        return -1;
    family(&t, "jobs_build_info", "gauge", "The libjobs version jobs-server runs on; always 1.");
    put(&t, "jobs_build_info{version=\"%s\"} 1\n", jobs_version_string());
    gauge(&t, "jobs_server_start_time_seconds", "When jobs-server started, in Unix seconds.",
          m->started);
    render_requests(&t, m);
    counter(&t, "jobs_server_access_log_dropped_total",
            "Access-log lines dropped: the log took none while both batches were full, or a "
            "write failed.", srv_accesslog_dropped());
    counter(&t, "jobs_scheduler_runs_total", "Run events the scheduler delivered.",
            get(&m->runs));
    counter(&t, "jobs_scheduler_deleted_total",
            "Jobs queued for deletion that the scheduler deleted.", get(&m->deleted));
    counter(&t, "jobs_scheduler_tick_errors_total", "Scheduler ticks that failed.",
            get(&m->tick_errors));
    gauge(&t, "jobs_scheduler_last_tick_timestamp_seconds",
          "When the last successful scheduler tick ran, in Unix seconds (0: none yet).",
          atomic_load_explicit(&m->last_tick, memory_order_relaxed));
    gauge(&t, "jobs_scheduler_tick_interval_seconds", "Seconds between scheduler ticks.",
          atomic_load_explicit(&m->tick_interval, memory_order_relaxed));
    if (atomic_load_explicit(&m->tls, memory_order_acquire))
        gauge(&t, "jobs_tls_certificate_expiry_timestamp_seconds",
              "When the --tls-cert certificate expires (its notAfter), in Unix seconds.",
              atomic_load_explicit(&m->tls_not_after, memory_order_relaxed));

    family(&t, "jobs_runs_delivered_total", "counter",
           "Runs the scheduler delivered, by trigger (a re-delivery counts again).");
    for (int i = 1; i <= 3; i++)
        put(&t, "jobs_runs_delivered_total{trigger=\"%s\"} %" PRIu64 "\n",
            jobs_run_trigger_name(i), get(&m->runs_by_trigger[i]));
    family(&t, "jobs_runs_finished_total", "counter",
           "Runs the runner (--run-command) ended, by the state it recorded.");
    put(&t, "jobs_runs_finished_total{state=\"succeeded\"} %" PRIu64 "\n",
        get(&m->runs_by_state[JOBS_RUN_SUCCEEDED]));
    put(&t, "jobs_runs_finished_total{state=\"failed\"} %" PRIu64 "\n",
        get(&m->runs_by_state[JOBS_RUN_FAILED]));
    gauge(&t, "jobs_runs_in_progress", "Children of the runner running now.",
          atomic_load_explicit(&m->runs_running, memory_order_relaxed));
    {
        uint64_t total = 0;

        family(&t, "jobs_run_lag_seconds", "histogram",
               "Seconds from a run's slot to its delivery (manual runs: from when they were "
               "made).");
        for (size_t b = 0; b < LAG_BUCKETS; b++) {
            total += get(&m->lag[b]);
            put(&t, "jobs_run_lag_seconds_bucket{le=\"%" PRId64 "\"} %" PRIu64 "\n", lag_le[b],
                total);
        }
        total += get(&m->lag[LAG_BUCKETS]);
        put(&t, "jobs_run_lag_seconds_bucket{le=\"+Inf\"} %" PRIu64 "\n", total);
        put(&t, "jobs_run_lag_seconds_sum %" PRIu64 "\n", get(&m->lag_sum));
        put(&t, "jobs_run_lag_seconds_count %" PRIu64 "\n", total);
    }

    if (st) {
        /* The three states partition the jobs; the subtractions cannot go below 0 in a
         * consistent store, and are clamped rather than wrap if they ever did. */
        uint64_t queued = st->jobs_queued;
        uint64_t active = st->jobs_active > queued ? st->jobs_active - queued : 0;
        uint64_t inactive = st->jobs > st->jobs_active ? st->jobs - st->jobs_active : 0;

        family(&t, "jobs_jobs", "gauge",
               "Jobs by state: active (will run at next_run), inactive, or queued_for_deletion "
               "(deleted at next_run instead).");
        put(&t, "jobs_jobs{state=\"active\"} %" PRIu64 "\n", active);
        put(&t, "jobs_jobs{state=\"inactive\"} %" PRIu64 "\n", inactive);
        put(&t, "jobs_jobs{state=\"queued_for_deletion\"} %" PRIu64 "\n", queued);
        gauge(&t, "jobs_store_jobs", "Jobs in the store, all owners and states.",
              (int64_t)st->jobs);
        gauge(&t, "jobs_store_schedules", "Schedules in the store, the built-in ones included.",
              (int64_t)st->schedules);
        gauge(&t, "jobs_store_stacks", "Stacks in the store.", (int64_t)st->stacks);
        gauge(&t, "jobs_store_map_size_bytes", "Bytes of the store's memory map.",
              (int64_t)st->lmdb.map_size);
        gauge(&t, "jobs_store_map_used_bytes", "Bytes of the store's memory map in use.",
              (int64_t)st->lmdb.map_used);
        counter(&t, "jobs_store_writes_total", "Write calls committed since the server started.",
                st->writes);
        gauge(&t, "jobs_store_runs", "Run records kept in the store.", (int64_t)st->runs);
        gauge(&t, "jobs_store_runs_queued",
              "Runs pending delivery or running under a lease, in the store.",
              (int64_t)st->runs_queued);
        counter(&t, "jobs_store_commits_total",
                "LMDB commits those writes took (fewer with group commit).", st->commits);
    }
    if (t.oom) {
        free(t.p);
        return -1;
    }
    *out = t.p;
    *len = t.len;
    return 0;
}

/* ---- access log ---------------------------------------------------------------------------- */

/* A line being written: never more than cap bytes. */
typedef struct line {
    char *p;
    size_t len, cap;
} line;

/* The length of the valid UTF-8 sequence of 2..4 bytes at p[0..n), or 0 (RFC 3629: no overlong
 * forms, no surrogates, nothing above U+10FFFF). */
static size_t utf8_len(const unsigned char *p, size_t n)
{
    unsigned char lo = 0x80, hi = 0xbf;
    size_t len;

    if (p[0] >= 0xc2 && p[0] <= 0xdf) {
        len = 2;
    } else if (p[0] >= 0xe0 && p[0] <= 0xef) {
        len = 3;
        if (p[0] == 0xe0)
            lo = 0xa0;
        else if (p[0] == 0xed)
            hi = 0x9f;
    } else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
        len = 4;
        if (p[0] == 0xf0)
            lo = 0x90;
        else if (p[0] == 0xf4)
            hi = 0x8f;
    } else {
        return 0;
    }
    if (n < len || p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if (p[i] < 0x80 || p[i] > 0xbf)
            return 0;
    return len;
}

/* Appends s[0..n) as a JSON string, quotes included, using at most `room` bytes for it. When it
 * does not fit, as much as fits (whole characters and escapes) and returns false. */
static bool put_string(line *l, const char *s, size_t n, size_t room)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t end = l->len + room - 1;

    l->p[l->len++] = '"';
    for (size_t i = 0; i < n;) {
        char esc[8];
        const char *out = esc;
        size_t k, step = 1;

        if (p[i] == '"' || p[i] == '\\') {
            esc[0] = '\\';
            esc[1] = (char)p[i];
            k = 2;
        } else if (p[i] < 0x20 || p[i] == 0x7f) {
            k = (size_t)snprintf(esc, sizeof esc, "\\u%04x", p[i]);
        } else if (p[i] < 0x80) {
            out = (const char *)p + i;
            k = 1;
        } else if ((step = utf8_len(p + i, n - i)) != 0) {
            out = (const char *)p + i;
            k = step;
        } else {
            out = "\\ufffd";
            k = 6;
            step = 1;
        }
        if (l->len + k > end) {
            l->p[l->len++] = '"';
            return false;
        }
        memcpy(l->p + l->len, out, k);
        l->len += k;
        i += step;
    }
    l->p[l->len++] = '"';
    return true;
}

/* Appends s[0..n) as it is, as much as fits. */
static void put_raw(line *l, const char *s, size_t n)
{
    if (n > l->cap - l->len - 1)
        n = l->cap - l->len - 1;
    memcpy(l->p + l->len, s, n);
    l->len += n;
}

#define PUT_LITERAL(l, s) put_raw((l), (s), sizeof(s) - 1)

/* Appends v in decimal, at least `width` digits (zero-padded). */
static void put_u64(line *l, uint64_t v, size_t width)
{
    char digits[20];
    size_t n = 0;

    do {
        digits[sizeof digits - ++n] = (char)('0' + v % 10);
        v /= 10;
    } while (v || n < width);
    put_raw(l, digits + sizeof digits - n, n);
}

size_t srv_access_format(char buf[SRV_ACCESS_LINE_MAX], const srv_access *a)
{
    /* Everything but the path is bounded (method 16 and address 64 bytes before escaping, six
     * bytes at most per byte): well within what the path leaves. */
    const size_t path_room = SRV_ACCESS_LINE_MAX - 1024;
    /* The second of the last line this thread wrote, as text: gmtime_r and strftime once a
     * second rather than per request (gmtime_r takes glibc's time-zone lock). Written with
     * memcpy and digit loops rather than printf: the line is written for every request, and
     * printf took most of its time. The bytes are those of the printf formats they replace. */
    static _Thread_local struct {
        time_t sec;
        bool set;
        char text[32];
        size_t len;
    } when;
    line l = {buf, 0, SRV_ACCESS_LINE_MAX};
    uint64_t us = a->duration_ns / 1000;
    bool whole = true;

    if (!when.set || when.sec != a->time.tv_sec) {
        struct tm tm;

        gmtime_r(&a->time.tv_sec, &tm);
        when.len = strftime(when.text, sizeof when.text, "%Y-%m-%dT%H:%M:%S", &tm);
        when.sec = a->time.tv_sec;
        when.set = true;
    }
    PUT_LITERAL(&l, "{\"time\":\"");
    put_raw(&l, when.text, when.len);
    PUT_LITERAL(&l, ".");
    put_u64(&l, (uint64_t)(a->time.tv_nsec / 1000000), 3);
    PUT_LITERAL(&l, "Z\",\"method\":");
    if (a->method)
        put_string(&l, a->method, strnlen(a->method, 16), 16 * 6 + 2);
    else
        PUT_LITERAL(&l, "null");
    PUT_LITERAL(&l, ",\"route\":\"");
    if (a->route)
        put_raw(&l, a->route, strlen(a->route));
    else
        PUT_LITERAL(&l, "other");
    PUT_LITERAL(&l, "\",\"path\":");
    if (a->path)
        whole = put_string(&l, a->path, strlen(a->path), path_room);
    else
        PUT_LITERAL(&l, "null");
    PUT_LITERAL(&l, ",\"status\":");
    if (a->status < 0)
        PUT_LITERAL(&l, "-");
    put_u64(&l, a->status < 0 ? 0 - (uint64_t)(int64_t)a->status : (uint64_t)a->status, 1);
    PUT_LITERAL(&l, ",\"duration_ms\":");
    put_u64(&l, us / 1000, 1);
    PUT_LITERAL(&l, ".");
    put_u64(&l, us % 1000, 3);
    PUT_LITERAL(&l, ",\"user\":");
    put_u64(&l, a->user, 1);
    PUT_LITERAL(&l, ",\"bytes\":");
    put_u64(&l, a->bytes, 1);
    PUT_LITERAL(&l, ",\"remote\":");
    if (a->remote)
        put_string(&l, a->remote, strnlen(a->remote, 64), 64 * 6 + 2);
    else
        PUT_LITERAL(&l, "null");
    if (!whole)
        PUT_LITERAL(&l, ",\"path_truncated\":true");
    PUT_LITERAL(&l, "}\n");
    return l.len;
}
