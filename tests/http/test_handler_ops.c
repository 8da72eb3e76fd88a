/* The operations routes and records of jobs-server in-process: srv_handle() (handler.c) on a
 * temporary store, for what a live server cannot be made to show, such as a stalled scheduler
 * thread or a store that cannot be read; the metrics counters and their Prometheus text; the
 * access-log line of hostile paths; the route templates that label both. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cJSON.h>
#include <cmocka.h>
#include <sodium.h>

#include "fixture.h"
#include "auth.h"
#include "handler.h"
#include "metrics.h"
#include "route.h"
#include "runner.h"
#include "scheduler_thread.h"
#include "static.h"

/* The app of one test: the fixture's store, no users, a session table, metrics and a heartbeat
 * that the test sets. */
typedef struct ops {
    fixture *fx;
    srv_app app;
    _Atomic int64_t heartbeat;
} ops;

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int setup(void **state)
{
    ops *o = calloc(1, sizeof *o);

    assert_non_null(o);
    assert_int_equal(fx_setup((void **)&o->fx), 0);
    o->app.store = o->fx->store;
    assert_int_equal(srv_users_open(&o->app.users, o->fx->store, o->fx->dir), 0);
    assert_non_null(o->app.sessions = srv_sessions_new(o->fx->store, SRV_SESSIONS_PER_USER));
    assert_non_null(o->app.metrics = srv_metrics_new());
    o->app.session_ttl = SRV_SESSION_TTL;
    atomic_init(&o->heartbeat, now_ms());
    o->app.heartbeat = &o->heartbeat;
    o->app.heartbeat_max_age_ms = 5000;
    *state = o;
    return 0;
}

static int teardown(void **state)
{
    ops *o = *state;

    srv_metrics_free(o->app.metrics);
    srv_sessions_free(o->app.sessions);
    srv_users_close(o->app.users);
    fx_teardown((void **)&o->fx);
    free(o);
    return 0;
}

static void handle(srv_response *res, ops *o, const char *method, const char *path,
                   const char *authorization)
{
    srv_request req;

    memset(&req, 0, sizeof req);
    req.method = method;
    req.path = path;
    req.authorization = authorization;
    srv_handle(res, &o->app, &req);
}

#define EXPECT_ANSWER(res, st, text)                                                           \
    do {                                                                                       \
        if ((res)->status != (st) || strcmp((res)->body, (text)) != 0)                         \
            fail_msg("expected %d %s, got %d %s", (st), (text), (res)->status, (res)->body);   \
    } while (0)

/* ---- /healthz ------------------------------------------------------------------------------ */

static void test_healthz_is_ok_with_a_readable_store_and_a_recent_heartbeat(void **state)
{
    ops *o = *state;
    srv_response res;

    handle(&res, o, "GET", "/healthz", NULL);
    EXPECT_ANSWER(&res, 200, "{\"status\":\"ok\",\"store\":\"ok\",\"scheduler\":\"ok\"}");
    assert_null(res.content_type);
    assert_int_equal(res.user, 0);
    srv_response_free(&res);
    /* just within the allowed age */
    atomic_store(&o->heartbeat, now_ms() - o->app.heartbeat_max_age_ms + 1000);
    handle(&res, o, "HEAD", "/healthz", NULL);
    assert_int_equal(res.status, 200);
    srv_response_free(&res);
}

static void test_healthz_is_503_when_the_scheduler_heartbeat_is_stale(void **state)
{
    ops *o = *state;
    srv_response res;

    atomic_store(&o->heartbeat, now_ms() - o->app.heartbeat_max_age_ms - 1000);
    handle(&res, o, "GET", "/healthz", NULL);
    EXPECT_ANSWER(&res, 503, "{\"status\":\"fail\",\"store\":\"ok\",\"scheduler\":\"stalled\"}");
    srv_response_free(&res);
    /* --fault-status-500 is about faults; an unhealthy server still says 503 */
    o->app.fault_status_500 = true;
    handle(&res, o, "GET", "/healthz", NULL);
    assert_int_equal(res.status, 503);
    srv_response_free(&res);
    /* the scheduler goes round again: healthy again */
    atomic_store(&o->heartbeat, now_ms());
    handle(&res, o, "GET", "/healthz", NULL);
    assert_int_equal(res.status, 200);
    srv_response_free(&res);
}

static void test_healthz_is_503_naming_the_error_when_the_store_cannot_be_read(void **state)
{
    ops *o = *state;
    srv_response res;
    char want[160];

    o->app.store = NULL; /* jobs_store_stat() fails with JOBS_EINVAL */
    snprintf(want, sizeof want, "{\"status\":\"fail\",\"store\":\"%s\",\"scheduler\":\"ok\"}",
             jobs_strerror(JOBS_EINVAL));
    handle(&res, o, "GET", "/healthz", NULL);
    EXPECT_ANSWER(&res, 503, want);
    srv_response_free(&res);
    /* /metrics still answers, without the store's part */
    handle(&res, o, "GET", "/metrics", NULL);
    assert_int_equal(res.status, 200);
    assert_non_null(strstr(res.body, "jobs_scheduler_runs_total"));
    assert_null(strstr(res.body, "jobs_store_"));
    srv_response_free(&res);
}

static void test_healthz_without_a_scheduler_checks_the_store_only(void **state)
{
    ops *o = *state;
    srv_response res;

    o->app.heartbeat = NULL;
    handle(&res, o, "GET", "/healthz", NULL);
    EXPECT_ANSWER(&res, 200, "{\"status\":\"ok\",\"store\":\"ok\",\"scheduler\":\"none\"}");
    srv_response_free(&res);
}

static void test_operations_routes_allow_get_and_head_only(void **state)
{
    static const char *const paths[] = {"/healthz", "/metrics"};
    static const char *const refused[] = {"POST", "PUT", "DELETE", "OPTIONS", "get", ""};
    ops *o = *state;
    srv_response res;

    for (size_t p = 0; p < 2; p++) {
        for (size_t m = 0; m < sizeof refused / sizeof *refused; m++) {
            handle(&res, o, refused[m], paths[p], NULL);
            EXPECT_ANSWER(&res, 405, "{\"code\":102,\"msg\":\"method not allowed\"}");
            assert_string_equal(res.headers, "Allow: GET, HEAD\r\n");
            srv_response_free(&res);
        }
        handle(&res, o, "HEAD", paths[p], NULL);
        assert_int_equal(res.status, 200);
        srv_response_free(&res);
    }
    /* no prefix or suffix matches */
    handle(&res, o, "GET", "/healthz/", NULL);
    assert_int_equal(res.status, 404);
    srv_response_free(&res);
    handle(&res, o, "GET", "/metrics/x", NULL);
    assert_int_equal(res.status, 404);
    srv_response_free(&res);
}

/* ---- /metrics ------------------------------------------------------------------------------ */

/* The value of the sample written exactly as `series` (name and labels), or -1 when absent. */
static long long sample(const char *text, const char *series)
{
    size_t n = strlen(series);

    for (const char *p = text; p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
        if (strncmp(p, series, n) == 0 && p[n] == ' ')
            return strtoll(p + n + 1, NULL, 10);
    return -1;
}

static unsigned route_of(const char *path)
{
    srv_route r = srv_route_resolve(path);

    return srv_route_index(&r);
}

static void test_metrics_count_requests_by_route_template_method_and_status(void **state)
{
    ops *o = *state;
    srv_response res;

    for (int i = 0; i < 3; i++)
        srv_metrics_request(o->app.metrics, route_of("/jobs/byid/7"), "GET", 200, 1000);
    srv_metrics_request(o->app.metrics, route_of("/jobs/byid/8"), "GET", 404, 1000);
    srv_metrics_request(o->app.metrics, route_of("/jobs/byname/a%20b/c"), "GET", 200, 1000);
    srv_metrics_request(o->app.metrics, route_of("/no/such/thing"), "GET", 404, 1000);
    srv_metrics_request(o->app.metrics, route_of("/jobs/7"), "BREW", 405, 1000);
    srv_metrics_request(o->app.metrics, route_of("/jobs"), NULL, 418, 1000);
    handle(&res, o, "GET", "/metrics", NULL);
    assert_int_equal(res.status, 200);
    assert_string_equal(res.content_type, "text/plain; version=0.0.4; charset=utf-8");
    assert_int_equal(strlen(res.body), res.body_len);
    assert_int_equal(res.body[res.body_len - 1], '\n');
    assert_int_equal(sample(res.body, "jobs_http_requests_total{route=\"/jobs/byid/{id}\","
                                      "method=\"GET\",status=\"200\"}"), 3);
    assert_int_equal(sample(res.body, "jobs_http_requests_total{route=\"/jobs/byid/{id}\","
                                      "method=\"GET\",status=\"404\"}"), 1);
    assert_int_equal(sample(res.body, "jobs_http_requests_total{route=\"/jobs/byname/{name}\","
                                      "method=\"GET\",status=\"200\"}"), 1);
    assert_int_equal(sample(res.body, "jobs_http_requests_total{route=\"other\","
                                      "method=\"GET\",status=\"404\"}"), 1);
    assert_int_equal(sample(res.body, "jobs_http_requests_total{route=\"/jobs/{id}\","
                                      "method=\"other\",status=\"405\"}"), 1);
    assert_int_equal(sample(res.body, "jobs_http_requests_total{route=\"/jobs\","
                                      "method=\"other\",status=\"other\"}"), 1);
    /* never what the client wrote */
    assert_null(strstr(res.body, "/jobs/byid/7"));
    assert_null(strstr(res.body, "BREW"));
    assert_null(strstr(res.body, "such"));
    /* the store's part */
    assert_int_equal(sample(res.body, "jobs_store_schedules"), 5);
    assert_int_equal(sample(res.body, "jobs_store_jobs"), 0);
    assert_true(sample(res.body, "jobs_store_map_size_bytes") > 0);
    assert_true(sample(res.body, "jobs_store_map_used_bytes") > 0);
    assert_non_null(strstr(res.body, "# TYPE jobs_store_writes_total counter\n"));
    srv_response_free(&res);

    /* an app without metrics has no /metrics */
    srv_metrics_free(o->app.metrics);
    o->app.metrics = NULL;
    handle(&res, o, "GET", "/metrics", NULL);
    EXPECT_ANSWER(&res, 404, "{\"code\":101,\"msg\":\"no such route\"}");
    srv_response_free(&res);
}

/* Every status a fault answers has a label of its own: a 415 (fault 115, a body that is not
 * JSON) is not lumped in with "other". */
static void test_metrics_label_every_fault_status(void **state)
{
    static const int statuses[] = {
#define SRV__STATUS(name, number, status) (status),
        SRV_FAULT_MAP(SRV__STATUS)
#undef SRV__STATUS
    };
    ops *o = *state;
    srv_response res;
    char series[128];

    for (size_t i = 0; i < sizeof statuses / sizeof *statuses; i++)
        srv_metrics_request(o->app.metrics, route_of("/jobs"), "POST", statuses[i], 1000);
    handle(&res, o, "GET", "/metrics", NULL);
    assert_int_equal(res.status, 200);
    for (size_t i = 0; i < sizeof statuses / sizeof *statuses; i++) {
        snprintf(series, sizeof series,
                 "jobs_http_requests_total{route=\"/jobs\",method=\"POST\",status=\"%d\"}",
                 statuses[i]);
        if (sample(res.body, series) < 1)
            fail_msg("status %d of the fault table has no label of its own", statuses[i]);
    }
    assert_int_equal(sample(res.body, "jobs_http_requests_total{route=\"/jobs\","
                                      "method=\"POST\",status=\"other\"}"), -1);
    srv_response_free(&res);
}

static void test_metrics_count_jobs_by_state(void **state)
{
    ops *o = *state;
    jobs_delete_outcome outcome;
    uint64_t stack = fx_stack(o->fx, 1, false), queued;
    srv_response res;

    for (int i = 0; i < 3; i++)
        fx_job(o->fx, 1, NULL, stack, FX_HOURLY, true);
    queued = fx_job(o->fx, 1, NULL, stack, FX_HOURLY, true);
    for (int i = 0; i < 2; i++)
        fx_job(o->fx, 1, NULL, stack, FX_HOURLY, false);
    assert_int_equal(jobs_delete(&outcome, o->fx->store, 1, queued), 0);
    assert_int_equal(outcome, JOBS_QUEUED_FOR_DELETION);
    handle(&res, o, "GET", "/metrics", NULL);
    assert_int_equal(res.status, 200);
    assert_non_null(strstr(res.body, "# TYPE jobs_jobs gauge\n"));
    assert_int_equal(sample(res.body, "jobs_jobs{state=\"active\"}"), 3);
    assert_int_equal(sample(res.body, "jobs_jobs{state=\"inactive\"}"), 2);
    assert_int_equal(sample(res.body, "jobs_jobs{state=\"queued_for_deletion\"}"), 1);
    assert_int_equal(sample(res.body, "jobs_store_jobs"), 6);
    srv_response_free(&res);
}

static void test_histogram_buckets_are_cumulative_with_inclusive_bounds(void **state)
{
    static const uint64_t ns[] = {0, 500000, 500001, 1000000, 2600000000u, 7000000000u};
    ops *o = *state;
    char *text;
    size_t len;

    for (size_t i = 0; i < sizeof ns / sizeof *ns; i++)
        srv_metrics_request(o->app.metrics, route_of("/healthz"), "GET", 200, ns[i]);
    assert_int_equal(srv_metrics_render(&text, &len, o->app.metrics, NULL), 0);
#define BUCKET(le)                                                                             \
    sample(text, "jobs_http_request_duration_seconds_bucket{route=\"/healthz\",le=\"" le "\"}")
    assert_int_equal(BUCKET("0.0005"), 2); /* 0 and exactly 0.5 ms */
    assert_int_equal(BUCKET("0.001"), 4);
    assert_int_equal(BUCKET("0.0025"), 4);
    assert_int_equal(BUCKET("2.5"), 4);
    assert_int_equal(BUCKET("+Inf"), 6);
#undef BUCKET
    assert_int_equal(sample(text, "jobs_http_request_duration_seconds_count{route=\"/healthz\"}"),
                     6);
    assert_non_null(strstr(text, "jobs_http_request_duration_seconds_sum{route=\"/healthz\"} "
                                 "9.602000001\n"));
    /* routes without requests have no series */
    assert_null(strstr(text, "route=\"/jobs\""));
    free(text);
}

static void test_scheduler_metrics_count_events_and_ticks(void **state)
{
    ops *o = *state;
    char *text;
    size_t len;

    srv_metrics_set_tick_interval(o->app.metrics, 7);
    srv_metrics_event(o->app.metrics, JOBS_EVENT_RUN);
    srv_metrics_event(o->app.metrics, JOBS_EVENT_RUN);
    srv_metrics_event(o->app.metrics, JOBS_EVENT_DELETED);
    srv_metrics_tick(o->app.metrics, true, 1700000000);
    srv_metrics_tick(o->app.metrics, false, 1700000007); /* a failed tick: counted, time kept */
    assert_int_equal(srv_metrics_render(&text, &len, o->app.metrics, NULL), 0);
    assert_int_equal(sample(text, "jobs_scheduler_runs_total"), 2);
    assert_int_equal(sample(text, "jobs_scheduler_deleted_total"), 1);
    assert_int_equal(sample(text, "jobs_scheduler_tick_errors_total"), 1);
    assert_int_equal(sample(text, "jobs_scheduler_last_tick_timestamp_seconds"), 1700000000);
    assert_int_equal(sample(text, "jobs_scheduler_tick_interval_seconds"), 7);
    free(text);
}

/* The --tls-cert certificate's notAfter is a gauge once set (main.c sets it with --tls-cert
 * only), and absent before: a server without TLS has no certificate to expire. */
static void test_tls_certificate_expiry_is_a_gauge_only_once_set(void **state)
{
    ops *o = *state;
    char *text;
    size_t len;

    assert_int_equal(srv_metrics_render(&text, &len, o->app.metrics, NULL), 0);
    assert_null(strstr(text, "jobs_tls_certificate_expiry_timestamp_seconds"));
    free(text);
    srv_metrics_set_tls_certificate_expiry(o->app.metrics, 1577923200);
    assert_int_equal(srv_metrics_render(&text, &len, o->app.metrics, NULL), 0);
    assert_non_null(strstr(text, "# TYPE jobs_tls_certificate_expiry_timestamp_seconds gauge\n"));
    assert_int_equal(sample(text, "jobs_tls_certificate_expiry_timestamp_seconds"), 1577923200);
    free(text);
}

/* ---- sessions in the store ----------------------------------------------------------------- */

/* The user of a session (asserting that the store answered). */
static uint64_t session_user(srv_sessions *s, const char *token, size_t len, time_t now)
{
    uint64_t user;

    assert_int_equal(srv_session_lookup(&user, s, token, len, now), 0);
    return user;
}

/* Expired sessions go in bounded batches: a login removes at most 64 (earliest first), the sweep
 * the rest; an expired token answers no user before it is swept; the cap ends the oldest by
 * login order, not by the clock's second; the store checks clean throughout. */
static void test_sessions_expire_in_bounded_sweeps_and_cap_oldest_first(void **state)
{
    ops *o = *state;
    srv_sessions *capped;
    char token[SRV_TOKEN_LEN + 1], first[SRV_TOKEN_LEN + 1], second[SRV_TOKEN_LEN + 1];
    time_t t = time(NULL) - 20; /* the login at t + 20 is live now (logout reads the clock) */

    for (unsigned i = 0; i < 100; i++)
        assert_int_equal(srv_session_create(token, o->app.sessions, 1 + i % 7, t, 10, NULL), 0);
    assert_int_equal(srv_sessions_count(o->app.sessions), 100);
    assert_int_equal(session_user(o->app.sessions, token, SRV_TOKEN_LEN, t + 9),
                     1 + 99 % 7);
    assert_int_equal(session_user(o->app.sessions, token, SRV_TOKEN_LEN, t + 10), 0);
    /* a login at t + 20 sweeps one batch, then adds its own */
    assert_int_equal(srv_session_create(token, o->app.sessions, 9, t + 20, 10, NULL), 0);
    assert_int_equal(srv_sessions_count(o->app.sessions), 100 - 64 + 1);
    assert_int_equal(jobs_store_check(o->app.store), 0);
    /* the sweep takes the rest, and leaves the live one */
    assert_int_equal(srv_sessions_sweep(o->app.sessions, t + 20), 36);
    assert_int_equal(srv_sessions_count(o->app.sessions), 1);
    assert_int_equal(session_user(o->app.sessions, token, SRV_TOKEN_LEN, t + 21), 9);
    assert_int_equal(srv_session_end(o->app.sessions, token, SRV_TOKEN_LEN), 0);
    assert_int_equal(srv_session_end(o->app.sessions, token, SRV_TOKEN_LEN), JOBS_ENOTFOUND);
    assert_int_equal(srv_session_end(o->app.sessions, "zz", 2), JOBS_ENOTFOUND);
    assert_int_equal(srv_sessions_count(o->app.sessions), 0);

    /* a cap of 2 on the same store: three logins in one second end the first */
    assert_non_null(capped = srv_sessions_new(o->app.store, 2));
    assert_int_equal(srv_session_create(first, capped, 5, t, 60, NULL), 0);
    assert_int_equal(srv_session_create(second, capped, 5, t, 60, NULL), 0);
    assert_int_equal(srv_session_create(token, capped, 5, t, 60, NULL), 0);
    assert_int_equal(srv_session_create(token, capped, 6, t, 60, NULL), 0); /* another user's */
    assert_int_equal(srv_sessions_of(capped, 5), 2);
    assert_int_equal(session_user(capped, first, SRV_TOKEN_LEN, t), 0);
    assert_int_equal(session_user(capped, second, SRV_TOKEN_LEN, t), 5);
    assert_int_equal(srv_sessions_of(capped, 6), 1);
    assert_int_equal(jobs_store_check(o->app.store), 0);
    srv_sessions_free(capped);
}

/* Users in the store: ids from a counter that never goes back, the name and email indexes kept
 * with the record, a password change seen at the next check. */
static void test_users_live_in_the_store(void **state)
{
    ops *o = *state;
    uint64_t a = 0, b = 0, id = 0;
    srv_account acct;
    size_t n = 99;

    assert_int_equal(srv_users_count(&n, o->app.users), 0);
    assert_int_equal(n, 0);
    assert_int_equal(srv_users_add(o->app.users, &a, "ann", "ann@example.org", "ann-pw"), 0);
    assert_int_equal(srv_users_add(o->app.users, &b, "ben", NULL, "ben-pw"), 0);
    assert_int_equal(a, 1);
    assert_int_equal(b, 2);
    assert_int_not_equal(srv_users_add(o->app.users, &id, "ann", NULL, "x"), 0);
    assert_int_not_equal(srv_users_add(o->app.users, &id, "ann2", "ann@example.org", "x"), 0);
    assert_int_equal(srv_users_find(o->app.users, &acct, "ann", NULL), 0);
    assert_int_equal(acct.id, 1);
    assert_int_equal(srv_users_find(o->app.users, &acct, "nobody", NULL), 0);
    assert_int_equal(acct.id, 0);
    assert_int_equal(srv_users_find(o->app.users, &acct, NULL, "ann@example.org"), 0);
    assert_int_equal(acct.id, 1);
    assert_int_equal(srv_users_verify(o->app.users, &id, &acct, "ann-pw"), SRV_VERIFY_OK);
    assert_int_equal(id, 1);
    assert_int_equal(acct.hash[0], '\0'); /* wiped */
    assert_int_equal(srv_users_passwd(o->app.users, "ben", "ben-new", NULL, NULL), 0);
    assert_int_equal(srv_users_find(o->app.users, &acct, "ben", NULL), 0);
    assert_int_equal(srv_users_verify(o->app.users, &id, &acct, "ben-pw"), SRV_VERIFY_WRONG);
    assert_int_equal(srv_users_find(o->app.users, &acct, "ben", NULL), 0);
    assert_int_equal(srv_users_verify(o->app.users, &id, &acct, "ben-new"), SRV_VERIFY_OK);
    assert_int_equal(id, 2);
    assert_int_not_equal(srv_users_passwd(o->app.users, "nobody", "x", NULL, NULL), 0);
    assert_int_equal(srv_users_count(&n, o->app.users), 0);
    assert_int_equal(n, 2);
    assert_int_equal(jobs_store_check(o->app.store), 0);
}

/* A login checks the password outside any transaction (Argon2id takes a while): a `user passwd`
 * that commits meanwhile makes the checked password not the user's, and the session the login
 * then starts is refused (JOBS_ECHANGED, answered as a wrong password). Before, it was made after
 * the password change had ended the user's sessions, and lived on with the old password. */
static void test_a_login_that_checked_a_changed_password_starts_no_session(void **state)
{
    ops *o = *state;
    char token[SRV_TOKEN_LEN + 1];
    uint64_t ann = 0, id = 0;
    srv_account acct;

    assert_int_equal(srv_users_add(o->app.users, &ann, "ann", NULL, "old-pw"), 0);
    assert_int_equal(srv_users_find(o->app.users, &acct, "ann", NULL), 0);
    assert_int_equal(srv_users_passwd(o->app.users, "ann", "new-pw", NULL, NULL), 0);
    assert_int_equal(srv_users_verify(o->app.users, &id, &acct, "old-pw"), SRV_VERIFY_OK);
    assert_int_equal(srv_session_create(token, o->app.sessions, id, time(NULL), 60, acct.stamp),
                     JOBS_ECHANGED);
    assert_int_equal(srv_sessions_of(o->app.sessions, ann), 0);

    assert_int_equal(srv_users_find(o->app.users, &acct, "ann", NULL), 0);
    assert_int_equal(srv_users_verify(o->app.users, &id, &acct, "new-pw"), SRV_VERIFY_OK);
    assert_int_equal(srv_session_create(token, o->app.sessions, id, time(NULL), 60, acct.stamp),
                     0);
    assert_int_equal(session_user(o->app.sessions, token, SRV_TOKEN_LEN, time(NULL)), ann);
    assert_int_equal(jobs_store_check(o->app.store), 0);
}

typedef struct ending {
    size_t ended;
    int then_rc; /* what the step after the sessions' end answers */
} ending;

static int end_then(jobs_kv_txn *txn, uint64_t id, void *arg)
{
    ending *e = arg;
    int rc;

    e->ended = 0;
    if ((rc = srv_sessions_end_user(txn, id, &e->ended)))
        return rc;
    return e->then_rc;
}

/* `user passwd` changes the password and ends the user's sessions in one transaction: when
 * anything in it fails, the old password and every session stay; when it commits, all of the
 * user's sessions (more than one batch of 64) are gone and another user's stay. Before, the
 * sessions were ended in later transactions, after the password had changed. */
static void test_a_password_change_ends_the_sessions_in_its_own_transaction(void **state)
{
    ops *o = *state;
    char token[SRV_TOKEN_LEN + 1], other[SRV_TOKEN_LEN + 1];
    uint64_t ann = 0, ben = 0, id = 0;
    ending e = {0, JOBS_EIO};
    srv_sessions *uncapped = srv_sessions_new(o->app.store, 0);
    srv_account acct;

    assert_non_null(uncapped);
    assert_int_equal(srv_users_add(o->app.users, &ann, "ann", NULL, "old-pw"), 0);
    assert_int_equal(srv_users_add(o->app.users, &ben, "ben", NULL, "ben-pw"), 0);
    for (int i = 0; i < 70; i++)
        assert_int_equal(srv_session_create(token, uncapped, ann, time(NULL), 60, NULL), 0);
    assert_int_equal(srv_session_create(other, uncapped, ben, time(NULL), 60, NULL), 0);
    srv_sessions_free(uncapped);

    assert_int_not_equal(srv_users_passwd(o->app.users, "ann", "new-pw", end_then, &e), 0);
    assert_int_equal(srv_sessions_of(o->app.sessions, ann), 70);
    assert_int_equal(srv_users_find(o->app.users, &acct, "ann", NULL), 0);
    assert_int_equal(srv_users_verify(o->app.users, &id, &acct, "old-pw"), SRV_VERIFY_OK);

    e.then_rc = 0;
    assert_int_equal(srv_users_passwd(o->app.users, "ann", "new-pw", end_then, &e), 0);
    assert_int_equal(e.ended, 70);
    assert_int_equal(srv_sessions_of(o->app.sessions, ann), 0);
    assert_int_equal(session_user(o->app.sessions, token, SRV_TOKEN_LEN, time(NULL)), 0);
    assert_int_equal(session_user(o->app.sessions, other, SRV_TOKEN_LEN, time(NULL)), ben);
    assert_int_equal(srv_users_find(o->app.users, &acct, "ann", NULL), 0);
    assert_int_equal(srv_users_verify(o->app.users, &id, &acct, "new-pw"), SRV_VERIFY_OK);
    assert_int_equal(jobs_store_check(o->app.store), 0);
}

/* ---- the runner's queue --------------------------------------------------------------------- */

/* A runner of one worker (its child /bin/cat) and a ticker that feeds it, the tick's event
 * lines sent to /dev/null: what runner_stop() needs to put standard output back. The ticker is
 * not started. */
static int runner_start(ops *o, srv_ticker *t, srv_runner **runner)
{
    int out;

    assert_non_null(*runner = srv_runner_new(o->app.store, o->app.metrics, "/bin/cat", 30, 1));
    memset(t, 0, sizeof *t);
    t->store = o->app.store;
    t->metrics = o->app.metrics;
    t->runner = *runner;
    t->heartbeat = &o->heartbeat;
    t->interval = 3600;
    fflush(stdout);
    out = dup(STDOUT_FILENO); /* the tick's event lines */
    assert_true(out >= 0 && freopen("/dev/null", "w", stdout) != NULL);
    return out;
}

static void runner_stop(srv_ticker *t, srv_runner *runner, int out)
{
    srv_ticker_stop(t);
    srv_runner_free(runner);
    fflush(stdout);
    assert_int_not_equal(dup2(out, STDOUT_FILENO), -1);
    close(out);
}

/* A run the runner's queue cannot take (a burst of one owner's manual runs filled it) is not
 * started, and an at-most-once one ends failed, "not started: the runner's queue is full". It
 * was left delivered, which for at-most-once says it ran. */
static void test_run_the_runner_cannot_take_ends_failed(void **state)
{
    ops *o = *state;
    enum { RUNS = SRV_RUNNER_QUEUE_MAX + 100 };
    uint64_t job, run = 0;
    srv_runner *runner;
    srv_ticker t;
    jobs_run *r = NULL;
    int out, tries = 0;

    job = fx_job(o->fx, 1, NULL, fx_stack(o->fx, 1, false), fx_periodic(o->fx, 1, 3600), false);
    for (int i = 0; i < RUNS; i++)
        assert_int_equal(jobs_run_now(&run, o->app.store, 1, job), 0);
    /* One worker, whose first child the burst outlasts: the queue fills. */
    out = runner_start(o, &t, &runner);
    atomic_store(&o->heartbeat, 0);
    assert_int_equal(srv_ticker_start(&t), 0);
    /* The heartbeat is set once the first tick and its callbacks are over. */
    while (atomic_load(&o->heartbeat) == 0 && ++tries < 1200)
        usleep(100000);
    assert_int_equal(jobs_run_get(&r, o->app.store, 1, run), 0);
    runner_stop(&t, runner, out);
    assert_int_equal(r->state, JOBS_RUN_FAILED);
    assert_string_equal(r->message, "not started: the runner's queue is full");
    jobs_run_free(r);
}

/* One owner's burst of runs does not hold up another owner's: the runner takes the owners' runs
 * in turn, and one owner may queue at most SRV_RUNNER_OWNER_MAX. Owner 1 queues its limit and
 * more (the rest end failed), then owner 2 one run: that run ends while most of owner 1's are
 * still waiting. First come first served, it waited for all of them (or, the queue full, was
 * not run at all). */
static void test_runner_takes_owners_in_turn(void **state)
{
    ops *o = *state;
    enum { RUNS = SRV_RUNNER_OWNER_MAX + 10 };
    uint64_t job1, job2, run = 0, mid = 0, other = 0;
    srv_runner *runner;
    srv_ticker t;
    jobs_run *r = NULL, *m = NULL;
    int out, tries = 0;

    job1 = fx_job(o->fx, 1, NULL, fx_stack(o->fx, 1, false), fx_periodic(o->fx, 1, 3600), false);
    job2 = fx_job(o->fx, 2, NULL, fx_stack(o->fx, 2, false), fx_periodic(o->fx, 2, 3600), false);
    for (int i = 0; i < RUNS; i++) {
        assert_int_equal(jobs_run_now(&run, o->app.store, 1, job1), 0);
        if (i == SRV_RUNNER_OWNER_MAX / 2)
            mid = run;
    }
    assert_int_equal(jobs_run_now(&other, o->app.store, 2, job2), 0);
    out = runner_start(o, &t, &runner);
    assert_int_equal(srv_ticker_start(&t), 0);
    do { /* until owner 2's run has ended */
        jobs_run_free(r);
        r = NULL;
        if (tries)
            usleep(50000);
        assert_int_equal(jobs_run_get(&r, o->app.store, 2, other), 0);
    } while ((r->state == JOBS_RUN_PENDING || r->state == JOBS_RUN_DELIVERED) && ++tries < 2400);
    assert_int_equal(jobs_run_get(&m, o->app.store, 1, mid), 0);
    runner_stop(&t, runner, out);
    assert_int_equal(r->state, JOBS_RUN_SUCCEEDED);
    /* owner 1's run in the middle of its queue had not been taken yet */
    assert_int_equal(m->state, JOBS_RUN_DELIVERED);
    jobs_run_free(r);
    jobs_run_free(m);
    /* the runs past owner 1's share were not started, and said so */
    assert_int_equal(jobs_run_get(&r, o->app.store, 1, run), 0);
    assert_int_equal(r->state, JOBS_RUN_FAILED);
    jobs_run_free(r);
}

/* The runs the full queue refused end failed, and /metrics counts them as any run's end
 * (jobs_runs_finished_total{state="failed"}), as it counts the runs a stop leaves unstarted:
 * they were recorded failed but never counted. Owner 1 queues its share and 100 more with one
 * busy worker (/bin/cat ends its runs succeeded): after the tick, the failed count is the number
 * of runs failed "not started: the runner's queue is full". */
static void test_runs_the_runner_cannot_take_are_counted_finished(void **state)
{
    ops *o = *state;
    enum { RUNS = SRV_RUNNER_OWNER_MAX + 100 };
    uint64_t job, runs[RUNS];
    srv_runner *runner;
    srv_ticker t;
    char *text;
    size_t len;
    long long counted;
    int out, tries = 0, refused = 0;

    job = fx_job(o->fx, 1, NULL, fx_stack(o->fx, 1, false), fx_periodic(o->fx, 1, 3600), false);
    for (int i = 0; i < RUNS; i++)
        assert_int_equal(jobs_run_now(&runs[i], o->app.store, 1, job), 0);
    out = runner_start(o, &t, &runner);
    atomic_store(&o->heartbeat, 0);
    assert_int_equal(srv_ticker_start(&t), 0);
    /* The heartbeat is set once the first tick and its callbacks are over. */
    while (atomic_load(&o->heartbeat) == 0 && ++tries < 1200)
        usleep(100000);
    assert_int_equal(srv_metrics_render(&text, &len, o->app.metrics, NULL), 0);
    counted = sample(text, "jobs_runs_finished_total{state=\"failed\"}");
    free(text);
    for (int i = 0; i < RUNS; i++) {
        jobs_run *r = NULL;

        assert_int_equal(jobs_run_get(&r, o->app.store, 1, runs[i]), 0);
        refused += r->state == JOBS_RUN_FAILED &&
                   strcmp(r->message, "not started: the runner's queue is full") == 0;
        jobs_run_free(r);
    }
    runner_stop(&t, runner, out);
    assert_true(refused > 0); /* the worker takes a few while the tick queues the rest */
    assert_int_equal(counted, refused);
}

/* ---- the user of a response (for the access log) ------------------------------------------- */

static void test_response_names_the_user_the_request_acted_for(void **state)
{
    ops *o = *state;
    char token[SRV_TOKEN_LEN + 1], bearer[SRV_TOKEN_LEN + 8];
    srv_response res;

    assert_int_equal(srv_session_create(token, o->app.sessions, 42, time(NULL), 60, NULL), 0);
    snprintf(bearer, sizeof bearer, "Bearer %s", token);
    handle(&res, o, "GET", "/jobs", bearer);
    assert_int_equal(res.status, 200);
    assert_int_equal(res.user, 42);
    srv_response_free(&res);
    handle(&res, o, "GET", "/schedules", bearer); /* public route, caller known */
    assert_int_equal(res.user, 42);
    srv_response_free(&res);
    handle(&res, o, "GET", "/jobs", NULL);
    assert_int_equal(res.status, 401);
    assert_int_equal(res.user, 0);
    srv_response_free(&res);
    handle(&res, o, "POST", "/logout", bearer);
    assert_int_equal(res.status, 200);
    assert_int_equal(res.user, 42);
    srv_response_free(&res);
    handle(&res, o, "GET", "/jobs", bearer); /* logged out */
    assert_int_equal(res.status, 401);
    assert_int_equal(res.user, 0);
    srv_response_free(&res);
}

/* ---- route templates ----------------------------------------------------------------------- */

static void test_every_route_has_its_own_template(void **state)
{
    static const struct {
        const char *path, *template;
    } cases[] = {
        {"/authenticate", "/authenticate"},
        {"/logout", "/logout"},
        {"/jobs", "/jobs"},
        {"/jobs/byid/7", "/jobs/byid/{id}"},
        {"/jobs/byid/x", "/jobs/byid/{id}"},
        {"/jobs/byname/a%2Fb/c", "/jobs/byname/{name}"},
        {"/jobs/7", "/jobs/{id}"},
        {"/schedules", "/schedules"},
        {"/schedules/byid/1", "/schedules/byid/{id}"},
        {"/schedules/1", "/schedules/{id}"},
        {"/blockstacks", "/blockstacks"},
        {"/blockstacks/byid/2", "/blockstacks/byid/{id}"},
        {"/healthz", "/healthz"},
        {"/metrics", "/metrics"},
        {"/jobs/7/runs", "/jobs/{id}/runs"},
        {"/jobs/7/run", "/jobs/{id}/run"},
        {"/jobs/7/runx", "other"},
        {"/blockstacks/2", "/blockstacks/{id}"},
        {"/blockstacks/byname/x", "/blockstacks/byname/{name}"},
        {"/blockstacks/hook/2", "/blockstacks/hook/{id}"},
        {"/blockstacks/hook/token_refresh/2", "/blockstacks/hook/token_refresh/{id}"},
        {"/blockstacks/exec/2", "/blockstacks/exec/{id}"},
        {"/blockstacks/2/runs", "/blockstacks/{id}/runs"},
        {"/blockstacks/2/run", "other"},
        {"/schedules/2/runs", "other"},
        {"/blockstacks/hook/2/x", "other"},
        {"/jobs/byid/7/x", "other"},
        {"/", "/"},
        {"/ui/app.js", "/ui/{file}"},
        {"/ui/index.html", "/ui/{file}"},
        {"/ui/a/b", "other"},
        {"/api/v1/ui/app.js", "other"},
        {"/x", "other"},
        {"", "other"},
    };
    bool seen[SRV_ROUTE_TEMPLATES] = {false};

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        unsigned index = route_of(cases[i].path);
        assert_true(index < SRV_ROUTE_TEMPLATES);
        if (strcmp(srv_route_template(index), cases[i].template) != 0)
            fail_msg("%s: template %s, expected %s", cases[i].path, srv_route_template(index),
                     cases[i].template);
        seen[index] = true;
    }
    for (unsigned i = 0; i < SRV_ROUTE_TEMPLATES; i++)
        assert_true(seen[i]); /* every template is reachable, and each index has one */
    assert_string_equal(srv_route_template(SRV_ROUTE_TEMPLATES), "other");
}

/* ---- the console's files ------------------------------------------------------------------ */

static void get_file(srv_response *res, ops *o, const char *method, const char *path,
                     const char *if_none_match)
{
    srv_request req;

    memset(&req, 0, sizeof req);
    req.method = method;
    req.path = path;
    req.if_none_match = if_none_match;
    srv_handle(res, &o->app, &req);
}

static void test_console_files_are_served_with_type_tag_and_policy(void **state)
{
    static const struct {
        const char *path, *name, *type;
    } files[] = {
        {"/", "index.html", "text/html; charset=utf-8"},
        {"/ui/index.html", "index.html", "text/html; charset=utf-8"},
        {"/ui/app.js", "app.js", "text/javascript; charset=utf-8"},
        {"/ui/app.css", "app.css", "text/css; charset=utf-8"},
    };
    ops *o = *state;
    srv_response res;
    char tag[64];

    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        const srv_static_file *f = srv_static_find(files[i].name, strlen(files[i].name));
        assert_non_null(f);
        get_file(&res, o, "GET", files[i].path, NULL);
        assert_int_equal(res.status, 200);
        assert_string_equal(res.content_type, files[i].type);
        assert_string_equal(res.cache_control, "no-cache");
        assert_int_equal(res.body_len, f->len);
        assert_memory_equal(res.body, f->data, f->len);
        assert_non_null(strstr(res.headers, "Content-Security-Policy: default-src 'self'; "
                                            "script-src 'self'; style-src 'self';"));
        assert_non_null(strstr(res.headers, "frame-ancestors 'none'"));
        assert_non_null(strstr(res.headers, "object-src 'none'"));
        assert_non_null(strstr(res.headers, "Referrer-Policy: no-referrer\r\n"));
        snprintf(tag, sizeof tag, "ETag: %s\r\n", f->etag);
        assert_non_null(strstr(res.headers, tag));
        srv_response_free(&res);

        /* The tag it gave, weak or in a list, is a 304 without a body. */
        snprintf(tag, sizeof tag, "\"x\", W/%s", f->etag);
        get_file(&res, o, "GET", files[i].path, tag);
        assert_int_equal(res.status, 304);
        assert_int_equal(res.body_len, 0);
        srv_response_free(&res);
        get_file(&res, o, "HEAD", files[i].path, "\"0000000000000000\"");
        assert_int_equal(res.status, 200);
        srv_response_free(&res);
    }
    /* The page's script and style are files (no inline script for the policy to allow). */
    {
        const srv_static_file *page = srv_static_find("index.html", 10);
        char *html = strndup((const char *)page->data, page->len);
        assert_non_null(strstr(html, "<script type=\"module\" src=\"/ui/app.js\"></script>"));
        assert_null(strstr(html, "style="));
        free(html);
    }
}

static void test_only_known_console_files_are_served(void **state)
{
    static const char *const missing[] = {
        "/ui/", "/ui/nope.js", "/ui/..", "/ui/%2e%2e", "/ui/app.js%00", "/ui/APP.JS",
        "/ui/app.js/", "/ui/../jobs", "/ui/./app.js", "/ui//app.js", "/api/v1/ui/app.js",
        "/api/v1/", "/index.html", "/ui",
    };
    ops *o = *state;
    srv_response res;

    for (size_t i = 0; i < sizeof missing / sizeof *missing; i++) {
        get_file(&res, o, "GET", missing[i], NULL);
        /* Under /api/v1 every fault is a 500 (the Kragle profile). */
        if (res.status != (strncmp(missing[i], "/api/v1/", 8) == 0 ? 500 : 404) ||
            strncmp(res.body, "{\"code\":101,", 12) != 0)
            fail_msg("%s: %d %s", missing[i], res.status, res.body);
        assert_null(res.content_type);
        srv_response_free(&res);
    }
    get_file(&res, o, "POST", "/", NULL);
    assert_int_equal(res.status, 405);
    assert_non_null(strstr(res.headers, "Allow: GET, HEAD\r\n"));
    srv_response_free(&res);
    get_file(&res, o, "DELETE", "/ui/app.js", NULL);
    assert_int_equal(res.status, 405);
    srv_response_free(&res);
}

/* ---- the access-log line ------------------------------------------------------------------- */

/* The line of `a` parsed, after checking it is one line of at most SRV_ACCESS_LINE_MAX bytes. */
static cJSON *format_and_parse(const srv_access *a)
{
    char line[SRV_ACCESS_LINE_MAX];
    size_t n = srv_access_format(line, a);
    cJSON *json;

    assert_true(n > 2 && n <= SRV_ACCESS_LINE_MAX);
    assert_int_equal(line[n - 1], '\n');
    assert_null(memchr(line, '\n', n - 1));
    json = cJSON_ParseWithLength(line, n - 1);
    if (!json)
        fail_msg("not JSON: %.*s", (int)n, line);
    return json;
}

static const char *string_of(const cJSON *json, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(json, key);

    assert_true(cJSON_IsString(v));
    return v->valuestring;
}

static double number_of(const cJSON *json, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(json, key);

    assert_true(cJSON_IsNumber(v));
    return v->valuedouble;
}

static void test_access_line_has_every_field(void **state)
{
    srv_access a = {{1795894711, 237999999}, "GET", "/jobs/byid/{id}", "/jobs/byid/7",
                    "127.0.0.1", 200, 412345, 3, 154};
    char line[SRV_ACCESS_LINE_MAX];
    size_t n;
    cJSON *json;

    (void)state;
    n = srv_access_format(line, &a);
    assert_int_equal(n, strlen("{\"time\":\"2026-11-28T19:38:31.237Z\",\"method\":\"GET\","
                               "\"route\":\"/jobs/byid/{id}\",\"path\":\"/jobs/byid/7\","
                               "\"status\":200,\"duration_ms\":0.412,\"user\":3,\"bytes\":154,"
                               "\"remote\":\"127.0.0.1\"}\n"));
    assert_memory_equal(line, "{\"time\":\"2026-11-28T19:38:31.237Z\",\"method\":\"GET\","
                              "\"route\":\"/jobs/byid/{id}\",\"path\":\"/jobs/byid/7\","
                              "\"status\":200,\"duration_ms\":0.412,\"user\":3,\"bytes\":154,"
                              "\"remote\":\"127.0.0.1\"}\n", n);
    /* civetweb's own refusals: method and path unknown */
    a.method = a.path = a.remote = NULL;
    json = format_and_parse(&a);
    assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(json, "method")));
    assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(json, "path")));
    assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(json, "remote")));
    assert_true(number_of(json, "duration_ms") == 0.412);
    cJSON_Delete(json);
}

static void test_access_line_escapes_hostile_paths(void **state)
{
    static const struct {
        const char *path, *logged;
    } cases[] = {
        {"/a\"b\\c", "/a\"b\\c"},
        {"/x\r\n{\"forged\":1}\t\x01\x7f", "/x\r\n{\"forged\":1}\t\x01\x7f"},
        {"/caf\xc3\xa9/\xe2\x82\xac/\xf0\x9f\x98\x80",
         "/caf\xc3\xa9/\xe2\x82\xac/\xf0\x9f\x98\x80"},
        /* lone and truncated sequences, overlong forms, surrogates, above U+10FFFF */
        {"/\xff\xc3", "/\xef\xbf\xbd\xef\xbf\xbd"},
        {"/\xc0\xaf", "/\xef\xbf\xbd\xef\xbf\xbd"},
        {"/\xe0\x80\xaf", "/\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},
        {"/\xed\xa0\x80", "/\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},
        {"/\xf4\x90\x80\x80", "/\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},
        {"/\xe2\x82", "/\xef\xbf\xbd\xef\xbf\xbd"},
    };
    srv_access a = {{0, 0}, "GET", "other", NULL, NULL, 404, 0, 0, 0};

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        cJSON *json;

        a.path = cases[i].path;
        json = format_and_parse(&a);
        assert_string_equal(string_of(json, "path"), cases[i].logged);
        assert_null(cJSON_GetObjectItemCaseSensitive(json, "path_truncated"));
        cJSON_Delete(json);
    }
    a.method = "G\"E\nT-and-a-very-long-method";
    {
        cJSON *json = format_and_parse(&a);
        assert_string_equal(string_of(json, "method"), "G\"E\nT-and-a-very"); /* 16 bytes */
        cJSON_Delete(json);
    }
}

static void test_access_line_cuts_long_paths_within_one_pipe_write(void **state)
{
    static const char fill[] = {'a', '"', '\x01', '\xe2', '\x82', '\xac', '\xff'};
    size_t size = 100000;
    char *path = malloc(size + 1);
    srv_access a = {{0, 0}, "GET", "other", NULL, "::1", 404, 0, 0, 0};
    cJSON *json;
    const char *logged;

    (void)state;
    assert_non_null(path);
    for (size_t i = 0; i < size; i++)
        path[i] = fill[i % sizeof fill];
    path[size] = '\0';
    a.path = path;
    json = format_and_parse(&a);
    logged = string_of(json, "path");
    assert_true(strlen(logged) > 1000);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(json, "path_truncated")));
    assert_string_equal(string_of(json, "remote"), "::1");
    cJSON_Delete(json);
    free(path);
}

/* The fault table (faults.h) is the contract's: the numbers and HTTP statuses the server has
 * always answered, and every fault the library can give is in it. */
static void test_fault_table_keeps_every_number_and_status(void **state)
{
    static const struct {
        int fault, status;
    } want[] = {
        {1, 400},   {2, 400},   {3, 401},   {4, 400},   {6, 404},   {12, 409},  {24, 400},
        {25, 400},  {26, 400},  {27, 409},  {100, 401}, {101, 404}, {102, 405}, {103, 413},
        {104, 409}, {105, 507}, {106, 500}, {107, 429}, {108, 400}, {109, 412}, {110, 422},
        {112, 403}, {113, 503}, {128, 503}, {129, 501}, {130, 503}, {131, 409}, {132, 404},
        {133, 403}, {134, 429}, {140, 403},
    };
    static const int codes[] = {
#define CODE(name, code, fault, msg) code,
        JOBS_ERRNO_MAP(CODE)
#undef CODE
    };

    (void)state;
    for (size_t i = 0; i < sizeof want / sizeof *want; i++)
        assert_int_equal(srv_fault_status(want[i].fault), want[i].status);
    assert_int_equal(SRV_FAULT_UNAUTH, 100);
    assert_int_equal(SRV_FAULT_NOROUTE, 101);
    assert_int_equal(SRV_FAULT_METHOD, 102);
    assert_int_equal(SRV_FAULT_TOO_LARGE, 103);
    assert_int_equal(SRV_FAULT_INTERNAL, 106);
    assert_int_equal(SRV_FAULT_THROTTLED, 107);
    assert_int_equal(SRV_FAULT_MALFORMED, 108);
    assert_int_equal(SRV_FAULT_CHANGED, 109);
    assert_int_equal(SRV_FAULT_CROSS_SITE, 140);
    assert_int_equal(SRV_FAULT_IDEMPOTENCY, 110);
    /* A fault the library gives that the table lacks would answer 500 as if internal. */
    for (size_t i = 0; i < sizeof codes / sizeof *codes; i++) {
        int fault = jobs_fault_code(codes[i]);

        if (fault != SRV_FAULT_INTERNAL && srv_fault_status(fault) == 500)
            fail_msg("library error %d gives fault %d, which the server's table lacks", codes[i],
                     fault);
    }
    assert_int_equal(srv_fault_status(5), 500); /* not a fault */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_healthz_is_ok_with_a_readable_store_and_a_recent_heartbeat, setup, teardown),
        cmocka_unit_test_setup_teardown(test_healthz_is_503_when_the_scheduler_heartbeat_is_stale,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_healthz_is_503_naming_the_error_when_the_store_cannot_be_read, setup, teardown),
        cmocka_unit_test_setup_teardown(test_healthz_without_a_scheduler_checks_the_store_only,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_operations_routes_allow_get_and_head_only, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_metrics_count_requests_by_route_template_method_and_status, setup, teardown),
        cmocka_unit_test_setup_teardown(test_metrics_label_every_fault_status, setup, teardown),
        cmocka_unit_test_setup_teardown(test_metrics_count_jobs_by_state, setup, teardown),
        cmocka_unit_test_setup_teardown(test_histogram_buckets_are_cumulative_with_inclusive_bounds,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_scheduler_metrics_count_events_and_ticks, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_tls_certificate_expiry_is_a_gauge_only_once_set,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_sessions_expire_in_bounded_sweeps_and_cap_oldest_first, setup, teardown),
        cmocka_unit_test_setup_teardown(test_users_live_in_the_store, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_a_login_that_checked_a_changed_password_starts_no_session, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_a_password_change_ends_the_sessions_in_its_own_transaction, setup, teardown),
        cmocka_unit_test_setup_teardown(test_run_the_runner_cannot_take_ends_failed, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_runner_takes_owners_in_turn, setup, teardown),
        cmocka_unit_test_setup_teardown(test_runs_the_runner_cannot_take_are_counted_finished,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_response_names_the_user_the_request_acted_for, setup,
                                        teardown),
        cmocka_unit_test(test_every_route_has_its_own_template),
        cmocka_unit_test_setup_teardown(test_console_files_are_served_with_type_tag_and_policy,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_only_known_console_files_are_served, setup,
                                        teardown),
        cmocka_unit_test(test_fault_table_keeps_every_number_and_status),
        cmocka_unit_test(test_access_line_has_every_field),
        cmocka_unit_test(test_access_line_escapes_hostile_paths),
        cmocka_unit_test(test_access_line_cuts_long_paths_within_one_pipe_write),
    };

    if (sodium_init() < 0)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
