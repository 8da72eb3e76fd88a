/* The HTTP API of jobs-server, end to end: starts the real binary on 127.0.0.1 with port 0 and
 * a temporary data directory, talks to it with libcurl, stops it with SIGTERM. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/select.h>
#include <sys/socket.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "harness.h"

static server srv;          /* the shared server of the group */
static server own;          /* a test's own server, stopped by stop_own() even when it fails */
static char alice_tok[128]; /* sessions of the group's users */
static char bob_tok[128];

static int stop_own(void **state)
{
    (void)state;
    stop_server(&own); /* a no-op when the test stopped it */
    memset(&own, 0, sizeof own);
    return 0;
}

static void request(resp *r, const char *method, const char *path, const char *auth,
                    const char *body)
{
    request_to(r, &srv, method, path, auth, body, body ? strlen(body) : 0);
}

#define CALL(st, want, method, path, auth, body)                                               \
    do {                                                                                       \
        resp r_;                                                                               \
        request(&r_, (method), (path), (auth), (body));                                        \
        EXPECT(&r_, (st), (want));                                                             \
        resp_free(&r_);                                                                        \
    } while (0)

static void login(char *tok, size_t size, const char *name, const char *pw)
{
    login_to(&srv, tok, size, name, pw);
}

static long create(const char *path, const char *auth, const char *body)
{
    return create_on(&srv, path, auth, body);
}

/* ---- fixtures ------------------------------------------------------------------------------ */

static int group_setup(void **state)
{
    (void)state;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    snprintf(srv.dir, sizeof srv.dir, "/tmp/jobs-http-XXXXXX");
    if (!mkdtemp(srv.dir))
        return -1;
    if (add_user(srv.dir, "alice", "alice@example.org", "alice-pw") != 0 ||
        add_user(srv.dir, "bob", NULL, "bob-pw") != 0 ||
        add_user(srv.dir, "carol", NULL, "carol-pw") != 0 || start_server(&srv, NULL) != 0) {
        stop_server(&srv);
        return -1;
    }
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    int rc = stop_server(&srv);
    curl_global_cleanup();
    return rc;
}

static int logged_in(void **state)
{
    (void)state;
    if (!alice_tok[0]) {
        login(alice_tok, sizeof alice_tok, "alice", "alice-pw");
        login(bob_tok, sizeof bob_tok, "bob", "bob-pw");
    }
    return 0;
}

static char A[160], B[160], AC[160]; /* "B:<alice>", "B:<bob>", "C:<alice>" */

static void auths(void)
{
    snprintf(A, sizeof A, "B:%s", alice_tok);
    snprintf(B, sizeof B, "B:%s", bob_tok);
    snprintf(AC, sizeof AC, "C:%s", alice_tok);
}

/* ---- authentication ------------------------------------------------------------------------ */

static void test_authenticate_sets_session_cookie(void **state)
{
    resp r;

    (void)state;
    request(&r, "POST", "/authenticate", NULL,
            "{\"username\":\"alice\",\"password\":\"alice-pw\"}");
    EXPECT(&r, 200, "{\"code\":0,\"user_id\":1}");
    assert_non_null(strstr(r.headers, "Set-Cookie: auth_tkt="));
    assert_non_null(strstr(r.headers, "; HttpOnly; SameSite=Strict; Path=/; Max-Age=28800\r\n"));
    assert_null(strstr(r.headers, "Secure"));
    resp_free(&r);
    /* by email; username wins when both are given */
    CALL(200, "\"user_id\":1", "POST", "/authenticate", NULL,
         "{\"email\":\"alice@example.org\",\"password\":\"alice-pw\"}");
    CALL(200, "\"user_id\":2", "POST", "/authenticate", NULL,
         "{\"email\":\"alice@example.org\",\"username\":\"bob\",\"password\":\"bob-pw\"}");
}

static void test_unknown_user_and_wrong_password_are_the_same_fault(void **state)
{
    resp a, b;

    (void)state;
    request(&a, "POST", "/authenticate", NULL, "{\"username\":\"alice\",\"password\":\"nope\"}");
    request(&b, "POST", "/authenticate", NULL, "{\"username\":\"zed\",\"password\":\"nope\"}");
    EXPECT(&a, 401, "{\"code\":3,");
    assert_int_equal(b.status, 401);
    assert_string_equal(a.body, b.body);
    assert_null(strstr(a.headers, "Set-Cookie"));
    resp_free(&a);
    resp_free(&b);
    CALL(400, "{\"code\":4,", "POST", "/authenticate", NULL,
         "{\"username\":\"alice\",\"password\":\"x\",\"extra\":1}");
    CALL(400, "{\"code\":4,", "POST", "/authenticate", NULL, "{\"username\":\"alice\"}");
    CALL(400, "{\"code\":2,", "POST", "/authenticate", NULL, "{\"username\":");
    /* cJSON would cut this password at the \u0000 and log in as alice-pw. */
    CALL(400, "{\"code\":4,", "POST", "/authenticate", NULL,
         "{\"username\":\"alice\",\"password\":\"alice-pw\\u0000tail\"}");
    CALL(400, "{\"code\":4,", "POST", "/authenticate", NULL,
         "{\"username\":\"alice\",\"password\":\"alice-pw\",\"password\":\"x\"}");
}

static void test_failed_logins_are_throttled(void **state)
{
    (void)state;
    for (int i = 0; i < 5; i++)
        CALL(401, "{\"code\":3,", "POST", "/authenticate", NULL,
             "{\"username\":\"carol\",\"password\":\"wrong\"}");
    CALL(429, "{\"code\":107,", "POST", "/authenticate", NULL,
         "{\"username\":\"carol\",\"password\":\"carol-pw\"}");
}

static void test_no_or_bad_credentials_are_401(void **state)
{
    (void)state;
    CALL(401, "{\"code\":100,", "GET", "/jobs", NULL, NULL);
    CALL(401, "{\"code\":100,", "POST", "/jobs", NULL, "{}");
    CALL(401, "{\"code\":100,", "POST", "/blockstacks", NULL, "{\"name\":\"x\"}");
    CALL(401, "{\"code\":100,", "GET", "/jobs", "B:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", NULL);
    CALL(401, "{\"code\":100,", "GET", "/jobs", "C:garbage", NULL);
    /* A 401 says how to authenticate (RFC 9110): it had no WWW-Authenticate. */
    resp r;
    request(&r, "GET", "/jobs", NULL, NULL);
    EXPECT(&r, 401, "{\"code\":100,");
    assert_non_null(strstr(r.headers, "\r\nWWW-Authenticate: Bearer realm=\"jobs-server\"\r\n"));
    resp_free(&r);
    request(&r, "POST", "/authenticate", NULL, "{\"username\":\"nobody\",\"password\":\"x\"}");
    EXPECT(&r, 401, "{\"code\":3,");
    assert_non_null(strstr(r.headers, "\r\nWWW-Authenticate: Bearer realm=\"jobs-server\"\r\n"));
    resp_free(&r);
    request(&r, "GET", "/api/v1/jobs", NULL, NULL); /* the profile answers 500, no challenge */
    EXPECT(&r, 500, "{\"code\":100,");
    assert_null(strstr(r.headers, "WWW-Authenticate"));
    resp_free(&r);
}

static void test_bearer_and_cookie_both_work(void **state)
{
    (void)state;
    auths();
    CALL(200, "\"jobs\":[", "GET", "/jobs", A, NULL);
    CALL(200, "\"jobs\":[", "GET", "/jobs", AC, NULL);
}

static void test_logout_revokes_the_session(void **state)
{
    char tok[128], auth[160];

    (void)state;
    login(tok, sizeof tok, "bob", "bob-pw");
    snprintf(auth, sizeof auth, "C:%s", tok);
    CALL(200, "\"jobs\":[", "GET", "/jobs", auth, NULL);
    CALL(200, "{\"code\":0}", "POST", "/logout", auth, NULL);
    CALL(401, "{\"code\":100,", "GET", "/jobs", auth, NULL);
    CALL(401, "{\"code\":100,", "POST", "/logout", auth, NULL);
    auths();
    CALL(200, "\"jobs\":[", "GET", "/jobs", B, NULL); /* other sessions live on */
}

/* A token with its first hex digit changed. */
static void tamper(char *out, size_t size, const char *tok)
{
    snprintf(out, size, "%s", tok);
    out[0] = out[0] == '0' ? '1' : '0';
}

static void test_tampered_and_logged_out_tokens_are_401(void **state)
{
    char tok[128], bad[128], auth[160];

    (void)state;
    login(tok, sizeof tok, "bob", "bob-pw");
    assert_int_equal(strlen(tok), 64);
    tamper(bad, sizeof bad, tok);
    snprintf(auth, sizeof auth, "C:%s", bad);
    CALL(401, "{\"code\":100,", "GET", "/jobs", auth, NULL);
    snprintf(auth, sizeof auth, "B:%s", bad);
    CALL(401, "{\"code\":100,", "GET", "/jobs", auth, NULL);
    CALL(401, "{\"code\":100,", "POST", "/logout", auth, NULL);
    /* the real token still works, then is logged out by bearer */
    snprintf(auth, sizeof auth, "B:%s", tok);
    CALL(200, "\"jobs\":[", "GET", "/jobs", auth, NULL);
    CALL(200, "{\"code\":0}", "POST", "/logout", auth, NULL);
    CALL(401, "{\"code\":100,", "GET", "/jobs", auth, NULL);
    snprintf(auth, sizeof auth, "C:%s", tok);
    CALL(401, "{\"code\":100,", "GET", "/jobs", auth, NULL);
}

static void test_session_ttl_expires_sessions(void **state)
{
    char tok[128], body[] = "{\"username\":\"dave\",\"password\":\"dave-pw\"}";
    char cookie[160], bearer[160];
    resp r;

    (void)state;
    memset(&own, 0, sizeof own);
    snprintf(own.dir, sizeof own.dir, "/tmp/jobs-http-XXXXXX");
    assert_non_null(mkdtemp(own.dir));
    assert_int_equal(add_user(own.dir, "dave", NULL, "dave-pw"), 0);
    assert_int_equal(start_server(&own, (const char *[]){"--session-ttl", "2", NULL}), 0);
    request_to(&r, &own, "POST", "/authenticate", NULL, body, strlen(body));
    EXPECT(&r, 200, "{\"code\":0,");
    assert_non_null(strstr(r.headers, "; Path=/; Max-Age=2\r\n"));
    token_from(tok, sizeof tok, &r);
    resp_free(&r);
    snprintf(cookie, sizeof cookie, "C:%s", tok);
    snprintf(bearer, sizeof bearer, "B:%s", tok);
    request_to(&r, &own, "GET", "/jobs", bearer, NULL, 0);
    EXPECT(&r, 200, "\"jobs\":[");
    resp_free(&r);
    sleep(3);
    request_to(&r, &own, "GET", "/jobs", bearer, NULL, 0);
    EXPECT(&r, 401, "{\"code\":100,");
    resp_free(&r);
    request_to(&r, &own, "GET", "/jobs", cookie, NULL, 0);
    EXPECT(&r, 401, "{\"code\":100,");
    resp_free(&r);
    assert_int_equal(stop_server(&own), 0);
}

/* ---- jobs ---------------------------------------------------------------------------------- */

static void test_job_routes(void **state)
{
    char path[128], body[256];
    long stack, active, idle;

    (void)state;
    auths();
    stack = create("/blockstacks", A, "{\"name\":\"job-routes\"}");
    snprintf(body, sizeof body,
             "{\"name\":\"daily report/x\",\"stack_id\":%ld,\"schedule_id\":4,\"enabled\":true}",
             stack);
    active = create("/jobs", A, body);
    snprintf(body, sizeof body, "{\"stack_id\":%ld,\"schedule_id\":5}", stack);
    idle = create("/jobs", A, body);

    snprintf(path, sizeof path, "/jobs/byid/%ld", active);
    CALL(200, "\"name\":\"daily report/x\"", "GET", path, A, NULL);
    CALL(200, "\"do_run\":true,\"do_del\":false,\"delivery\":", "GET", path, A, NULL);
    CALL(200, "\"name\":\"daily report/x\"", "GET", "/jobs/byname/daily%20report%2Fx", A, NULL);
    CALL(404, "{\"code\":6,", "GET", "/jobs/byname/nothing%20here", A, NULL);
    CALL(200, "\"pagesize\":10,\"page\":1,\"jobs\":[", "GET", "/jobs?page=1", A, NULL);
    CALL(200, "\"jobs\":[]", "GET", "/jobs?page=99", A, NULL);

    /* partial PUT: only the name changes; the answer has the owner */
    snprintf(path, sizeof path, "/jobs/%ld", idle);
    CALL(200, "\"owner\":1,\"name\":\"renamed\"", "PUT", path, A, "{\"name\":\"renamed\"}");
    CALL(200, "\"schedule\":5,\"next_run\":null,\"do_run\":false", "PUT", path, A, "{}");
    CALL(409, "{\"code\":12,", "PUT", path, A, "{\"name\":\"daily report/x\"}");
    CALL(400, "{\"code\":24,", "PUT", path, A, "{\"stack_id\":999999}");
    CALL(400, "{\"code\":25,", "PUT", path, A, "{\"schedule_id\":999999}");

    /* delete: inactive goes at once, active is queued and then read-only */
    CALL(200, "{\"deleted\":", "DELETE", path, A, NULL);
    CALL(404, "{\"code\":6,", "DELETE", path, A, NULL);
    snprintf(path, sizeof path, "/jobs/%ld", active);
    CALL(200, "{\"queued_for_deletion\":", "DELETE", path, A, NULL);
    CALL(200, "{\"queued_for_deletion\":", "DELETE", path, A, NULL);
    CALL(409, "{\"code\":104,", "PUT", path, A, "{\"enabled\":false}");
    snprintf(path, sizeof path, "/jobs/byid/%ld", active);
    CALL(200, "\"do_del\":true,\"delivery\":", "GET", path, A, NULL);
}

static void test_bad_parameters_are_fault_1(void **state)
{
    (void)state;
    auths();
    CALL(400, "{\"code\":1,", "GET", "/jobs/byname/bad%2", A, NULL);
    CALL(400, "{\"code\":1,", "GET", "/jobs/byname/bad%zz", A, NULL);
    CALL(400, "{\"code\":1,", "GET", "/jobs/byname/nul%00", A, NULL);
    CALL(400, "{\"code\":1,", "GET", "/jobs?page=abc", A, NULL);
    CALL(400, "{\"code\":1,", "GET", "/jobs?page=0", A, NULL);
    /* A page given twice is refused for that, not for its value (the message said "must be
     * an integer of 1 or more" of page=1&page=1). */
    CALL(400, "page must be given once, as an integer in 1..2^53-1", "GET", "/jobs?page=1&page=1",
         A, NULL);
    CALL(400, "{\"code\":1,", "GET", "/jobs?page=-1", A, NULL);
    CALL(400, "{\"code\":1,", "GET", "/jobs?page=99999999999999999999", A, NULL);
    CALL(400, "{\"code\":1,", "GET", "/schedules?page=1.5", NULL, NULL);
    CALL(400, "{\"code\":1,", "GET", "/jobs/byid/x", A, NULL);
    CALL(400, "{\"code\":1,", "GET", "/jobs/byid/0", A, NULL);
    CALL(400, "{\"code\":1,", "GET", "/jobs/byid/9007199254740992", A, NULL);
    CALL(400, "{\"code\":1,", "DELETE", "/jobs/-1", A, NULL);
    CALL(404, "{\"code\":6,", "GET", "/jobs/byid/9007199254740991", A, NULL);
}

static void test_unknown_route_and_wrong_method(void **state)
{
    resp r;

    (void)state;
    auths();
    CALL(404, "{\"code\":101,", "GET", "/x", NULL, NULL);
    CALL(404, "{\"code\":101,", "GET", "/jobz", A, NULL);
    CALL(404, "{\"code\":101,", "GET", "/jobs/byid/1/more", A, NULL);
    request(&r, "DELETE", "/schedules", A, NULL);
    EXPECT(&r, 405, "{\"code\":102,");
    assert_non_null(strstr(r.headers, "Allow: GET, POST\r\n"));
    resp_free(&r);
    request(&r, "GET", "/jobs/1", A, NULL);
    EXPECT(&r, 405, "{\"code\":102,");
    assert_non_null(strstr(r.headers, "Allow: PUT, DELETE\r\n"));
    resp_free(&r);
    request(&r, "GET", "/authenticate", NULL, NULL);
    EXPECT(&r, 405, "{\"code\":102,");
    assert_non_null(strstr(r.headers, "Allow: POST\r\n"));
    resp_free(&r);
}

static void test_body_rules(void **state)
{
    size_t big = 64 * 1024 + 1;
    char *body = malloc(big);
    resp r;

    (void)state;
    auths();
    CALL(400, "{\"code\":2,", "POST", "/jobs", A, "{\"stack_id\":");
    CALL(400, "{\"code\":2,", "POST", "/jobs", A, "");
    CALL(400, "{\"code\":4,", "POST", "/jobs", A, "{\"stack_id\":1,\"schedule_id\":1,\"x\":1}");
    CALL(400, "{\"code\":4,", "POST", "/jobs", A, "{\"stack_id\":1.5,\"schedule_id\":1}");
    CALL(400, "{\"code\":4,", "POST", "/jobs", A, "[]");
    CALL(400, "{\"code\":26,", "POST", "/schedules", A, "{\"config\":{\"period\":59}}");
    assert_non_null(body);
    memset(body, ' ', big);
    request_to(&r, &srv, "POST", "/jobs", A, body, big);
    EXPECT(&r, 413, "{\"code\":103,");
    resp_free(&r);
    free(body);
    CALL(200, "\"jobs\":[", "GET", "/jobs", A, NULL); /* still serving */
}

static void test_users_are_isolated(void **state)
{
    char path[128], body[256];
    long stack, job;
    resp r;

    (void)state;
    auths();
    stack = create("/blockstacks", A, "{\"name\":\"private\"}");
    snprintf(body, sizeof body, "{\"name\":\"secret\",\"stack_id\":%ld,\"schedule_id\":1}", stack);
    job = create("/jobs", A, body);

    snprintf(path, sizeof path, "/jobs/byid/%ld", job);
    CALL(404, "{\"code\":6,", "GET", path, B, NULL);
    CALL(404, "{\"code\":6,", "GET", "/jobs/byname/secret", B, NULL);
    snprintf(path, sizeof path, "/jobs/%ld", job);
    CALL(404, "{\"code\":6,", "PUT", path, B, "{}");
    CALL(404, "{\"code\":6,", "DELETE", path, B, NULL);
    snprintf(path, sizeof path, "/blockstacks/byid/%ld", stack);
    CALL(404, "{\"code\":6,", "GET", path, B, NULL);
    snprintf(body, sizeof body, "{\"stack_id\":%ld,\"schedule_id\":1}", stack);
    CALL(400, "{\"code\":24,", "POST", "/jobs", B, body);

    request(&r, "GET", "/jobs", B, NULL);
    EXPECT(&r, 200, "\"jobs\":[");
    assert_null(strstr(r.body, "secret"));
    resp_free(&r);
    request(&r, "GET", "/blockstacks", B, NULL);
    EXPECT(&r, 200, "\"stacks\":[");
    assert_null(strstr(r.body, "\"private\""));
    resp_free(&r);
}

/* ---- schedules and stacks ------------------------------------------------------------------ */

static void test_schedules(void **state)
{
    char path[128];
    long id;

    (void)state;
    auths();
    CALL(200, "\"count\":5,\"pagesize\":10,\"page\":1,\"schedules\":[{\"id\":1,", "GET",
         "/schedules", NULL, NULL);
    CALL(200, "\"config\":{\"period\":3600}", "GET", "/schedules/byid/4", NULL, NULL);
    CALL(401, "{\"code\":100,", "POST", "/schedules", NULL, "{\"config\":{\"period\":60}}");
    id = create("/schedules", A, "{\"name\":\"mine\",\"config\":{\"period\":120}}");
    snprintf(path, sizeof path, "/schedules/byid/%ld", id);
    CALL(200, "\"name\":\"mine\",\"once\":false,\"config\":{\"period\":120}", "GET", path, A,
         NULL);
    CALL(404, "{\"code\":6,", "GET", path, NULL, NULL);
    CALL(404, "{\"code\":6,", "GET", path, B, NULL);
    snprintf(path, sizeof path, "/schedules/%ld", id);
    CALL(200, "\"config\":{\"period\":600}", "PUT", path, A, "{\"config\":{\"period\":600}}");
    CALL(404, "{\"code\":6,", "PUT", path, B, "{\"name\":\"theirs\"}");
    CALL(403, "{\"code\":111,\"msg\":\"schedule 1 is public (built in) and cannot be changed\"}",
         "PUT", "/schedules/1", A, "{\"name\":\"x\"}");
    CALL(200, "{\"id\":1,\"owner\":0,\"name\":", "GET", "/schedules/byid/1", A, NULL);
    CALL(200, "\"name\":\"mine\"", "GET", "/schedules?page=1", A, NULL);
}

/* DELETE /schedules/<id> (our extension): the caller's own unused schedule goes and answers as
 * a job deleted at once; one in use is 409 (fault 27) and stays; public is 403 (111); another
 * user's, a missing one and a deleted one are 404; /api/v1 answers it too. */
static void test_schedule_delete(void **state)
{
    char path[128], get[128], want[64], body[256];
    long id, used, stack, again;
    resp r;

    (void)state;
    auths();
    id = create("/schedules", A, "{\"name\":\"short-lived\",\"config\":{\"period\":600}}");
    snprintf(path, sizeof path, "/schedules/%ld", id);
    snprintf(get, sizeof get, "/schedules/byid/%ld", id);
    CALL(404, "{\"code\":6,", "DELETE", path, B, NULL);
    CALL(401, "{\"code\":100,", "DELETE", path, NULL, NULL);
    CALL(200, "\"name\":\"short-lived\"", "GET", get, A, NULL);
    request(&r, "DELETE", path, A, NULL);
    snprintf(want, sizeof want, "{\"deleted\":%ld}", id);
    EXPECT(&r, 200, want);
    assert_string_equal(r.body, want);
    resp_free(&r);
    CALL(404, "{\"code\":6,", "GET", get, A, NULL);
    CALL(404, "{\"code\":6,", "DELETE", path, A, NULL);
    request(&r, "GET", "/schedules?pagesize=100", A, NULL);
    EXPECT(&r, 200, "\"schedules\":[");
    assert_null(strstr(r.body, "short-lived"));
    resp_free(&r);
    /* The name is free again, under a new id. */
    again = create("/schedules", A, "{\"name\":\"short-lived\",\"config\":{\"period\":900}}");
    assert_true(again > id);

    /* In use by a job (enabled or not): refused, and the schedule is as it was. */
    used = create("/schedules", A, "{\"name\":\"in use\",\"config\":{\"period\":600}}");
    stack = create("/blockstacks", A, "{\"name\":\"schedule-delete\"}");
    snprintf(body, sizeof body, "{\"stack_id\":%ld,\"schedule_id\":%ld}", stack, used);
    create("/jobs", A, body);
    snprintf(path, sizeof path, "/schedules/%ld", used);
    CALL(409, "{\"code\":27,\"msg\":\"schedule ", "DELETE", path, A, NULL);
    snprintf(get, sizeof get, "/schedules/byid/%ld", used);
    CALL(200, "\"name\":\"in use\",\"once\":false,\"config\":{\"period\":600}", "GET", get, A,
         NULL);

    /* Public (built in): no user deletes it. Bad ids: fault 1. */
    CALL(403, "{\"code\":111,\"msg\":\"schedule 1 is public and cannot be deleted\"}", "DELETE",
         "/schedules/1", A, NULL);
    CALL(200, "{\"id\":1,\"owner\":0,", "GET", "/schedules/byid/1", A, NULL);
    CALL(400, "{\"code\":1,", "DELETE", "/schedules/x", A, NULL);
    CALL(400, "{\"code\":1,", "DELETE", "/schedules/0", A, NULL);

    /* The Kragle profile answers it too: 200 on success, 500 for every fault. */
    snprintf(path, sizeof path, "/api/v1/schedules/%ld", again);
    snprintf(want, sizeof want, "{\"deleted\":%ld}", again);
    CALL(200, want, "DELETE", path, A, NULL);
    snprintf(path, sizeof path, "/api/v1/schedules/%ld", used);
    CALL(500, "{\"code\":27,", "DELETE", path, A, NULL);

    request(&r, "GET", "/schedules/1", A, NULL);
    EXPECT(&r, 405, "{\"code\":102,");
    assert_non_null(strstr(r.headers, "Allow: PUT, DELETE\r\n"));
    resp_free(&r);
}

/* Cron schedules over HTTP: created, answered as given, used by a job; bad expressions and
 * zones are fault 26 with the library's detail and store nothing. */
static void test_cron_schedules(void **state)
{
    char path[128], body[256];
    long id, stack;
    resp r;

    (void)state;
    auths();
    id = create("/schedules", A,
                "{\"name\":\"nightly\",\"once\":false,"
                "\"config\":{\"cron\":\"30 2 * * *\",\"tz\":\"Europe/Berlin\"}}");
    snprintf(path, sizeof path, "/schedules/byid/%ld", id);
    CALL(200, "\"name\":\"nightly\",\"once\":false,"
              "\"config\":{\"cron\":\"30 2 * * *\",\"tz\":\"Europe/Berlin\"}}",
         "GET", path, A, NULL);
    snprintf(path, sizeof path, "/schedules/%ld", id);
    CALL(200, "\"config\":{\"cron\":\"0 9 * * mon\",\"tz\":\"UTC\"}", "PUT", path, A,
         "{\"config\":{\"cron\":\"0 9 * * mon\"}}");
    stack = create("/blockstacks", A, "{\"name\":\"cron-stack\"}");
    snprintf(body, sizeof body, "{\"stack_id\":%ld,\"schedule_id\":%ld,\"enabled\":true}",
             stack, id);
    long job = create("/jobs", A, body);
    snprintf(path, sizeof path, "/jobs/byid/%ld", job);
    request(&r, "GET", path, A, NULL);
    EXPECT(&r, 200, "\"do_run\":true");
    /* next_run: a Monday 09:00 UTC, a whole minute */
    const char *nr = strstr(r.body, "\"next_run\":");
    assert_non_null(nr);
    long long next = strtoll(nr + 11, NULL, 10);
    assert_int_equal(next % 86400, 9 * 3600);
    assert_int_equal((next / 86400 + 4) % 7, 1); /* 1970-01-01 was a Thursday */
    resp_free(&r);

    request(&r, "GET", "/schedules", A, NULL);
    EXPECT(&r, 200, "\"count\":");
    long long before = strtoll(strstr(r.body, "\"count\":") + 8, NULL, 10);
    resp_free(&r);
    static const struct {
        const char *body, *want;
    } bad[] = {
        {"{\"config\":{\"cron\":\"30 25 * * *\"}}",
         "{\"code\":26,\"msg\":\"cron: field 2 (hour) '25' is outside 0-23\"}"},
        {"{\"config\":{\"cron\":\"*/0 * * * *\"}}", "has a step of 0"},
        {"{\"config\":{\"cron\":\"0 9 * * * *\"}}", "cron: 6 fields"},
        {"{\"config\":{\"cron\":\"0 9 * * mon-foo\"}}", "field 5 (day of week)"},
        {"{\"config\":{\"cron\":\"0 9 * * *\",\"tz\":\"../etc/passwd\"}}", "tz: '../etc/passwd'"},
        {"{\"config\":{\"cron\":\"0 9 * * *\",\"tz\":\"Mars/Olympus_Mons\"}}",
         "is not a known time zone"},
        {"{\"config\":{\"cron\":\"0 9 * * *\",\"period\":60}}", "are exclusive"},
        {"{\"once\":true,\"config\":{\"cron\":\"0 9 * * *\"}}", "never one-time"},
        {"{\"config\":{\"cron\":\"\"}}", "cron: the expression is empty"},
    };
    long spare = create("/schedules", A, "{\"config\":{\"cron\":\"@daily\",\"tz\":\"Asia/Kolkata\"}}");
    snprintf(path, sizeof path, "/schedules/%ld", spare);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CALL(400, bad[i].want, "POST", "/schedules", A, bad[i].body);
        CALL(400, bad[i].want, "PUT", path, A, bad[i].body);
    }
    request(&r, "GET", "/schedules", A, NULL);
    EXPECT(&r, 200, "\"count\":");
    assert_int_equal(strtoll(strstr(r.body, "\"count\":") + 8, NULL, 10), before + 1);
    resp_free(&r);
    snprintf(path, sizeof path, "/schedules/byid/%ld", spare);
    CALL(200, "\"config\":{\"cron\":\"@daily\",\"tz\":\"Asia/Kolkata\"}}", "GET", path, A,
         NULL);
}

static void test_blockstacks(void **state)
{
    char path[128];
    long id;

    (void)state;
    auths();
    id = create("/blockstacks", A, "{\"name\":\"shared\",\"public\":true}");
    snprintf(path, sizeof path, "/blockstacks/byid/%ld", id);
    CALL(200, "\"owner\":1,\"name\":\"shared\",\"public\":true,", "GET", path, A, NULL);
    CALL(200, "\"name\":\"shared\"", "GET", path, B, NULL); /* public: visible to bob */
    CALL(200, "\"stacks\":[", "GET", "/blockstacks?page=1", B, NULL);
    CALL(400, "{\"code\":4,", "POST", "/blockstacks", A, "{\"public\":true}");
    CALL(409, "{\"code\":10,", "POST", "/blockstacks", A, "{\"name\":\"shared\"}");
    CALL(405, "{\"code\":102,", "DELETE", "/blockstacks/1", A, NULL);
}

/* ---- the 500 switch ------------------------------------------------------------------------ */

static void test_fault_status_500_switch(void **state)
{
    resp r;

    (void)state;
    memset(&own, 0, sizeof own);
    assert_int_equal(start_server(&own, (const char *[]){"--fault-status-500", NULL}), 0);
    request_to(&r, &own, "GET", "/nowhere", NULL, NULL, 0);
    EXPECT(&r, 500, "{\"code\":101,");
    resp_free(&r);
    request_to(&r, &own, "GET", "/jobs", NULL, NULL, 0);
    EXPECT(&r, 500, "{\"code\":100,");
    resp_free(&r);
    request_to(&r, &own, "GET", "/schedules", NULL, NULL, 0); /* success is unchanged */
    EXPECT(&r, 200, "\"schedules\":[");
    resp_free(&r);
    assert_int_equal(stop_server(&own), 0);
}

/* ---- conditional writes, idempotency keys, pagesize --------------------------------------- */

/* The ETag header of a response (the quoted value), into out. */
static void etag_from(char *out, size_t size, const resp *r)
{
    const char *p = strstr(r->headers, "ETag: ");

    if (!p)
        fail_msg("no ETag in\n%s", r->headers);
    p += 6;
    snprintf(out, size, "%.*s", (int)strcspn(p, "\r\n"), p);
}

static void with(long st, const char *want, const char *method, const char *path,
                 const char *auth, const char *body, const char *header)
{
    const char *h[] = {header, NULL};
    resp r;

    request_with(&r, &srv, method, path, auth, body, body ? strlen(body) : 0, h);
    EXPECT(&r, st, want);
    resp_free(&r);
}

static void test_etag_and_if_match(void **state)
{
    char path[64], byname[64], body[160], tag[64], tag2[64], h[160];
    long stack, id;
    resp r;

    (void)state;
    auths();
    stack = create("/blockstacks", A, "{\"name\":\"etag-stack\"}");
    snprintf(body, sizeof body, "{\"name\":\"etag-job\",\"stack_id\":%ld,\"schedule_id\":4}",
             stack);
    id = create("/jobs", A, body);
    snprintf(path, sizeof path, "/jobs/byid/%ld", id);
    snprintf(byname, sizeof byname, "/jobs/byname/etag-job");
    request(&r, "GET", path, A, NULL);
    etag_from(tag, sizeof tag, &r);
    resp_free(&r);
    assert_int_equal(strlen(tag), 18); /* "16 hex digits" */
    request(&r, "GET", byname, A, NULL);
    etag_from(tag2, sizeof tag2, &r);
    resp_free(&r);
    assert_string_equal(tag, tag2);

    /* A PUT with the current tag works and answers the new one. */
    snprintf(path, sizeof path, "/jobs/%ld", id);
    snprintf(h, sizeof h, "If-Match: %s", tag);
    {
        const char *hs[] = {h, NULL};
        request_with(&r, &srv, "PUT", path, A, "{\"enabled\":true}", 16, hs);
        EXPECT(&r, 200, "\"do_run\":true");
        etag_from(tag2, sizeof tag2, &r);
        resp_free(&r);
    }
    assert_string_not_equal(tag, tag2);
    /* The old tag is stale now: 412, fault 109, nothing changes. */
    {
        const char *hs[] = {h, NULL};
        request_with(&r, &srv, "PUT", path, A, "{\"name\":\"lost\"}", 15, hs);
        EXPECT(&r, 412, "{\"code\":109,");
        assert_non_null(strstr(r.headers, "HTTP/1.1 412 Precondition Failed\r\n"));
        resp_free(&r);
    }
    with(412, "{\"code\":109,", "DELETE", path, A, NULL, h);
    CALL(200, "\"name\":\"etag-job\"", "GET", byname, A, NULL);
    /* Weak tags never match; a list with the current tag does; so does *. */
    snprintf(h, sizeof h, "If-Match: W/%s", tag2);
    with(412, "{\"code\":109,", "PUT", path, A, "{}", h);
    snprintf(h, sizeof h, "If-Match: %s, %s", tag, tag2);
    with(200, "\"name\":\"etag-job\"", "PUT", path, A, "{}", h);
    with(200, "\"name\":\"etag-job\"", "PUT", path, A, "{}", "If-Match: *");
    with(400, "{\"code\":1,", "PUT", path, A, "{}", "If-Match: abc");
    with(400, "{\"code\":1,", "PUT", path, A, "{}", "If-Match: \"no end");
    /* A well-formed tag of another format never matches: 412, not 400 (RFC 9110 13.1.1). */
    with(412, "{\"code\":109,", "PUT", path, A, "{\"name\":\"lost\"}", "If-Match: \"stale\"");
    with(412, "{\"code\":109,", "DELETE", path, A, NULL, "If-Match: \"\"");
    with(412, "{\"code\":109,", "PUT", path, A, "{}", "If-Match: \"0123456789ABCDEF\"");
    /* At most 16 tags of the server's format are read: 16 with the current one match, 17 are
     * refused, and the message says why (it said only "a list of entity tags", which 17 are). */
    {
        char list[600];
        size_t at = (size_t)snprintf(list, sizeof list, "If-Match: %s", tag2);

        for (int i = 1; i < 16; i++)
            at += (size_t)snprintf(list + at, sizeof list - at, ", \"%016x\"", (unsigned)i);
        with(200, "\"name\":\"etag-job\"", "PUT", path, A, "{}", list);
        snprintf(list + at, sizeof list - at, ", \"%016x\"", 16u);
        with(400, "a list of at most 16 entity tags", "PUT", path, A, "{}", list);
    }
    /* Empty list elements are ignored (RFC 9110 5.6.1.2), and are not tags: a leading, a
     * trailing or a doubled comma still finds the current tag (they were 400). */
    snprintf(h, sizeof h, "If-Match: \"0000000000000000\", , %s", tag2);
    with(200, "\"name\":\"etag-job\"", "PUT", path, A, "{}", h);
    snprintf(h, sizeof h, "If-Match: ,%s", tag2);
    with(200, "\"name\":\"etag-job\"", "PUT", path, A, "{}", h);
    snprintf(h, sizeof h, "If-Match: %s , ,", tag2);
    with(200, "\"name\":\"etag-job\"", "PUT", path, A, "{}", h);
    snprintf(h, sizeof h, "If-Match: W/\"x\",, \"stale\"");
    with(412, "{\"code\":109,", "PUT", path, A, "{}", h);
    /* A list of nothing but empty elements names no tag: still 400. (Tabs, which the list
     * grammar allows around elements, never reach it: civetweb refuses a header value with a
     * tab, fault 108.) */
    with(400, "{\"code\":1,", "PUT", path, A, "{}", "If-Match: ,");
    with(400, "{\"code\":1,", "DELETE", path, A, NULL, "If-Match: , ,");
    {
        /* Up to 16 empty elements, besides 16 tags of the server's form; a 17th empty one is
         * 400, so a value of thousands of commas is refused after the first few. */
        char list[9000];
        size_t at = (size_t)snprintf(list, sizeof list, "If-Match: ,%s", tag2);

        for (int i = 1; i < 16; i++)
            at += (size_t)snprintf(list + at, sizeof list - at, ", , \"%016x\"", (unsigned)i);
        with(200, "\"name\":\"etag-job\"", "PUT", path, A, "{}", list);
        snprintf(list + at, sizeof list - at, ",");
        with(400, "{\"code\":1,", "PUT", path, A, "{}", list);
        at = (size_t)snprintf(list, sizeof list, "If-Match: %s", tag2);
        memset(list + at, ',', 8000);
        list[at + 8000] = '\0';
        with(400, "{\"code\":1,", "PUT", path, A, "{}", list);
    }
    CALL(200, "\"name\":\"etag-job\"", "GET", byname, A, NULL);
    /* Another user's job is missing, whatever the tag. */
    snprintf(h, sizeof h, "If-Match: %s", tag2);
    with(404, "{\"code\":6,", "DELETE", path, B, NULL, h);
    with(200, "{\"queued_for_deletion\":", "DELETE", path, A, NULL, h);
}

/* If-Match is a list (RFC 9110 13.1.1), which a client may split over several header lines
 * (RFC 9110 5.3): the lines are one list, not the first line alone. */
static void test_if_match_split_over_lines(void **state)
{
    char path[64], body[160], tag[64], stale[80], cur[80];
    long stack, id;
    resp r;

    (void)state;
    auths();
    stack = create("/blockstacks", A, "{\"name\":\"split-stack\"}");
    snprintf(body, sizeof body, "{\"name\":\"split-job\",\"stack_id\":%ld,\"schedule_id\":4}",
             stack);
    id = create("/jobs", A, body);
    snprintf(path, sizeof path, "/jobs/byid/%ld", id);
    request(&r, "GET", path, A, NULL);
    etag_from(tag, sizeof tag, &r);
    resp_free(&r);
    snprintf(path, sizeof path, "/jobs/%ld", id);
    snprintf(stale, sizeof stale, "If-Match: \"0000000000000000\"");
    snprintf(cur, sizeof cur, "If-Match: %s", tag);
    {
        /* The current tag on the second line: it is in the list, the write is done. */
        const char *hs[] = {stale, cur, NULL};
        request_with(&r, &srv, "PUT", path, A, "{\"name\":\"split-2\"}", 18, hs);
        EXPECT(&r, 200, "\"name\":\"split-2\"");
        etag_from(tag, sizeof tag, &r);
        resp_free(&r);
    }
    snprintf(cur, sizeof cur, "If-Match: %s", tag);
    {
        /* A second line that is no entity tag makes the whole value malformed: 400, and
         * nothing changes, even though the first line names the current tag. */
        const char *hs[] = {cur, "If-Match: abc", NULL};
        request_with(&r, &srv, "PUT", path, A, "{\"name\":\"split-3\"}", 18, hs);
        EXPECT(&r, 400, "{\"code\":1,");
        resp_free(&r);
        request_with(&r, &srv, "DELETE", path, A, NULL, 0, hs);
        EXPECT(&r, 400, "{\"code\":1,");
        resp_free(&r);
    }
    CALL(200, "\"name\":\"split-2\"", "GET", "/jobs/byname/split-2", A, NULL);
    {
        /* Lines joined as `"0000000000000000",, , "<tag>"`: the empty elements a trailing and
         * a leading comma make are ignored, the tag on the second line counts. */
        char first[80], second[80];
        const char *hs[] = {first, second, NULL};

        snprintf(first, sizeof first, "If-Match: \"0000000000000000\",");
        snprintf(second, sizeof second, "If-Match: , %s", tag);
        request_with(&r, &srv, "PUT", path, A, "{}", 2, hs);
        EXPECT(&r, 200, "\"name\":\"split-2\"");
        resp_free(&r);
    }
    {
        /* Neither line names it: 412. */
        const char *hs[] = {stale, "If-Match: \"stale\"", NULL};
        request_with(&r, &srv, "DELETE", path, A, NULL, 0, hs);
        EXPECT(&r, 412, "{\"code\":109,");
        resp_free(&r);
    }
    {
        const char *hs[] = {stale, cur, NULL};
        request_with(&r, &srv, "DELETE", path, A, NULL, 0, hs);
        EXPECT(&r, 200, "{\"deleted\":");
        resp_free(&r);
    }
}

static void test_idempotency_key(void **state)
{
    char body[160], other[160], want[64];
    long stack, id;
    resp r;
    const char *key[] = {"Idempotency-Key: order-4711", NULL};

    (void)state;
    auths();
    stack = create("/blockstacks", A, "{\"name\":\"idem-stack\"}");
    snprintf(body, sizeof body, "{\"stack_id\":%ld,\"schedule_id\":4}", stack);
    snprintf(other, sizeof other, "{\"stack_id\":%ld,\"schedule_id\":5}", stack);
    request_with(&r, &srv, "POST", "/jobs", A, body, strlen(body), key);
    EXPECT(&r, 201, "{\"id\":");
    assert_null(strstr(r.headers, "Idempotent-Replayed"));
    assert_int_equal(sscanf(r.body, "{\"id\":%ld}", &id), 1);
    resp_free(&r);
    /* The repeat answers the same, and says so. */
    request_with(&r, &srv, "POST", "/jobs", A, body, strlen(body), key);
    snprintf(want, sizeof want, "{\"id\":%ld}", id);
    EXPECT(&r, 201, want);
    assert_non_null(strstr(r.headers, "Idempotent-Replayed: true\r\n"));
    snprintf(want, sizeof want, "Location: /jobs/byid/%ld\r\n", id);
    assert_non_null(strstr(r.headers, want));
    resp_free(&r);
    /* Another body under the key: 422, fault 110. Another user has keys of their own. */
    request_with(&r, &srv, "POST", "/jobs", A, other, strlen(other), key);
    EXPECT(&r, 422, "{\"code\":110,");
    assert_non_null(strstr(r.headers, "HTTP/1.1 422 Unprocessable Content\r\n"));
    resp_free(&r);
    request_with(&r, &srv, "POST", "/jobs", B, body, strlen(body), key);
    EXPECT(&r, 400, "{\"code\":24,"); /* alice's stack: bob's create runs, and fails as his */
    resp_free(&r);
    with(400, "{\"code\":1,", "POST", "/jobs", A, body, "Idempotency-Key: has space");
    with(201, "{\"id\":", "POST", "/schedules", A, "{\"config\":{\"period\":600}}",
         "Idempotency-Key: order-4711");
}

static void test_pagesize(void **state)
{
    char body[160];
    long stack;

    (void)state;
    auths();
    stack = create("/blockstacks", A, "{\"name\":\"pagesize-stack\"}");
    snprintf(body, sizeof body, "{\"stack_id\":%ld,\"schedule_id\":4}", stack);
    for (int i = 0; i < 3; i++)
        create("/jobs", A, body);
    CALL(200, "\"pagesize\":2,\"page\":1,", "GET", "/jobs?pagesize=2", A, NULL);
    CALL(200, "\"pagesize\":100,\"page\":1,", "GET", "/jobs?page=1&pagesize=100", A, NULL);
    CALL(200, "\"pagesize\":1,", "GET", "/blockstacks?pagesize=1", A, NULL);
    CALL(400, "{\"code\":1,", "GET", "/jobs?pagesize=0", A, NULL);
    CALL(400, "{\"code\":1,", "GET", "/jobs?pagesize=101", A, NULL);
    CALL(400, "{\"code\":1,", "GET", "/jobs?pagesize=x", A, NULL);
    CALL(400, "pagesize must be given once, as an integer in 1..100", "GET",
         "/jobs?pagesize=2&pagesize=3", A, NULL);
    {
        resp r;
        size_t n = 0;

        request(&r, "GET", "/jobs?pagesize=2", A, NULL);
        for (const char *p = r.body; (p = strstr(p, "\"do_del\"")); p++)
            n++;
        assert_int_equal(n, 2);
        resp_free(&r);
    }
}

/* ---- limits: a full store, a slow client --------------------------------------------------- */

/* A store capped by --max-store-size fills up: creates answer 507 fault 105 and change nothing;
 * everything acknowledged before reads back, and the server goes on answering. */
static void test_full_store_answers_507(void **state)
{
    const char *extra[] = {"--max-store-size", "1", NULL};
    char tok[128], auth[160], body[512], name[260];
    long stack, created = 0, count = -1;
    resp r;

    (void)state;
    /* --max-store-size caps LMDB's map; a PostgreSQL store's space is the database's. */
    if (getenv("JOBS_TEST_STORE") && *getenv("JOBS_TEST_STORE"))
        skip();
    memset(&own, 0, sizeof own);
    snprintf(own.dir, sizeof own.dir, "/tmp/jobs-http-XXXXXX");
    assert_non_null(mkdtemp(own.dir));
    assert_int_equal(add_user(own.dir, "erin", NULL, "erin-pw"), 0);
    assert_int_equal(start_server(&own, extra), 0);
    login_to(&own, tok, sizeof tok, "erin", "erin-pw");
    snprintf(auth, sizeof auth, "B:%s", tok);
    stack = create_on(&own, "/blockstacks", auth, "{\"name\":\"filler\"}");
    memset(name, 'n', 240);
    for (long i = 0; i < 20000; i++) {
        snprintf(name + 240, sizeof name - 240, "%08ld", i);
        snprintf(body, sizeof body, "{\"name\":\"%s\",\"stack_id\":%ld,\"schedule_id\":5}",
                 name, stack);
        request_to(&r, &own, "POST", "/jobs", auth, body, strlen(body));
        if (r.status != 201) {
            EXPECT(&r, 507, "{\"code\":105,");
            resp_free(&r);
            break;
        }
        resp_free(&r);
        created++;
    }
    assert_true(created > 10 && created < 20000);
    /* Refused again, and the store holds exactly what was acknowledged. */
    request_to(&r, &own, "POST", "/jobs", auth, body, strlen(body));
    EXPECT(&r, 507, "{\"code\":105,");
    resp_free(&r);
    request_to(&r, &own, "GET", "/jobs", auth, NULL, 0);
    EXPECT(&r, 200, "\"count\":");
    assert_int_equal(sscanf(r.body, "{\"count\":%ld", &count), 1);
    resp_free(&r);
    assert_int_equal(count, created);
    assert_int_equal(halt_server(&own), 0);
    {
        char cmd[512];
        snprintf(cmd, sizeof cmd, "'%s' check --data '%s' >/dev/null", server_bin, own.dir);
        assert_int_equal(system(cmd), 0);
    }
    assert_int_equal(stop_server(&own), 0);
}

/* A client that sends its request a byte a second is cut off by --request-timeout, and does not
 * hold the server meanwhile. The bound asserted is generous: it is not a timing test. */
static void test_slow_client_is_cut_off(void **state)
{
    const char *extra[] = {"--request-timeout", "2", "--threads", "2", NULL};
    static const char req[] = "GET /schedules HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaa";
    struct sockaddr_in a;
    resp r;
    int fd, closed_after = -1;

    (void)state;
    memset(&own, 0, sizeof own);
    assert_int_equal(start_server(&own, extra), 0);
    fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)own.port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    for (int i = 0; i < (int)sizeof req - 1 && i < 30; i++) {
        struct timeval tv = {1, 0};
        fd_set rd;

        if (send(fd, &req[i], 1, MSG_NOSIGNAL) != 1) {
            closed_after = i;
            break;
        }
        if (i == 1) { /* meanwhile, another client is served */
            request_to(&r, &own, "GET", "/schedules", NULL, NULL, 0);
            EXPECT(&r, 200, "\"schedules\":[");
            resp_free(&r);
        }
        FD_ZERO(&rd);
        FD_SET(fd, &rd);
        if (select(fd + 1, &rd, NULL, NULL, &tv) > 0) {
            /* The server gave up on the request: it closed, or refused it (civetweb's timeout
             * answer, as JSON, then the close). Nothing else can come before it is complete. */
            char answer[64] = "";
            ssize_t n = recv(fd, answer, sizeof answer - 1, MSG_DONTWAIT);
            if (n > 0 && strncmp(answer, "HTTP/1.1 4", 10) != 0)
                fail_msg("an unfinished request was answered: %s", answer);
            closed_after = i;
            break;
        }
    }
    close(fd);
    if (closed_after < 0)
        fail_msg("a client sending a byte a second was not cut off in 30 s");
    request_to(&r, &own, "GET", "/schedules", NULL, NULL, 0);
    EXPECT(&r, 200, "\"schedules\":[");
    resp_free(&r);
    assert_int_equal(stop_server(&own), 0);
}

/* `jobs-server check` on the store of the running server, after the tests above wrote to it. */
static void test_check_command_on_a_live_store(void **state)
{
    char cmd[512], out[256] = "";
    FILE *p;
    int status;

    (void)state;
    /* `check --data DIR` verifies the LMDB store in DIR; a PostgreSQL store is not there. */
    if (getenv("JOBS_TEST_STORE") && *getenv("JOBS_TEST_STORE"))
        skip();
    snprintf(cmd, sizeof cmd, "'%s' check --data '%s' 2>&1", server_bin, srv.dir);
    assert_non_null(p = popen(cmd, "r"));
    if (!fgets(out, sizeof out, p))
        out[0] = '\0';
    status = pclose(p);
    if (status != 0 || !strstr(out, "/store: ok"))
        fail_msg("check: status 0x%x: %s", status, out);
    snprintf(cmd, sizeof cmd, "'%s' check --data '%s/nothing-here' 2>/dev/null", server_bin,
             srv.dir);
    status = system(cmd);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 1);
}

/* `check --store DIR` on the LMDB store of the running server checks it as `check --data`
 * does. Old code opened it read-only, which takes no lock and so refuses a store another
 * process has open: "is open in another process", exit 1. A stopped store is still opened
 * read-only (see the next test). */
static void test_check_command_with_store_on_a_live_store(void **state)
{
    char cmd[512], out[512];
    FILE *p;
    size_t n;
    int status;

    (void)state;
    if (getenv("JOBS_TEST_STORE") && *getenv("JOBS_TEST_STORE"))
        skip();
    snprintf(cmd, sizeof cmd, "'%s' check --store '%s/store' 2>&1", server_bin, srv.dir);
    assert_non_null(p = popen(cmd, "r"));
    n = fread(out, 1, sizeof out - 1, p);
    out[n] = '\0';
    status = pclose(p);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 ||
        !strstr(out, "the store given with --store: ok"))
        fail_msg("check --store on a live store: status 0x%x: %s", status, out);
    /* the server goes on serving */
    {
        resp r;

        request_plain(&r, &srv, "GET", "/metrics");
        assert_int_equal(r.status, 200);
        resp_free(&r);
    }
}

/* `check` given both --data and --store checks the store --store names, as the server given
 * both would serve it, whichever comes first; an option given twice takes its last value. The
 * store is a stopped one, which `check --store` opens read-only. */
static void test_check_command_with_data_and_store_checks_the_store(void **state)
{
    /* Each option is followed by the data directory with `under` appended. */
    static const struct {
        const char *opt[2], *under[2], *out;
        int status;
    } cases[] = {
        {{"--data", "--store"}, {"/nothing-here", "/store"}, "the store given with --store: ok", 0},
        {{"--store", "--data"}, {"/store", "/nothing-here"}, "the store given with --store: ok", 0},
        /* the good store in --data is not the one checked */
        {{"--data", "--store"}, {"", "/nothing-here"}, "opening the store given with --store", 1},
        {{"--store", "--data"}, {"/nothing-here", ""}, "opening the store given with --store", 1},
        {{"--data", "--data"}, {"/nothing-here", ""}, "/store: ok", 0},
        {{"--data", "--data"}, {"", "/nothing-here"}, "no store in", 1},
    };
    char dir[64] = "/tmp/jobs-http-XXXXXX", cmd[1024], out[512];
    struct stat st;
    FILE *p;
    size_t n;
    int status;

    (void)state;
    if (getenv("JOBS_TEST_STORE") && *getenv("JOBS_TEST_STORE"))
        skip();
    assert_non_null(mkdtemp(dir));
    assert_int_equal(add_user(dir, "erin", NULL, "erin-pw"), 0);
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        snprintf(cmd, sizeof cmd, "'%s' check %s '%s%s' %s '%s%s' 2>&1", server_bin,
                 cases[i].opt[0], dir, cases[i].under[0], cases[i].opt[1], dir,
                 cases[i].under[1]);
        assert_non_null(p = popen(cmd, "r"));
        n = fread(out, 1, sizeof out - 1, p);
        out[n] = '\0';
        status = pclose(p);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != cases[i].status ||
            !strstr(out, cases[i].out))
            fail_msg("%s: status 0x%x (expected exit %d, '%s'): %s", cmd, status,
                     cases[i].status, cases[i].out, out);
    }
    /* nothing was created where no store was */
    snprintf(cmd, sizeof cmd, "%s/nothing-here", dir);
    assert_int_equal(stat(cmd, &st), -1);
    assert_int_equal(rm_tree(dir), 0);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_authenticate_sets_session_cookie),
        cmocka_unit_test(test_unknown_user_and_wrong_password_are_the_same_fault),
        cmocka_unit_test(test_failed_logins_are_throttled),
        cmocka_unit_test(test_no_or_bad_credentials_are_401),
        cmocka_unit_test_setup(test_bearer_and_cookie_both_work, logged_in),
        cmocka_unit_test_setup(test_logout_revokes_the_session, logged_in),
        cmocka_unit_test_setup(test_job_routes, logged_in),
        cmocka_unit_test_setup(test_bad_parameters_are_fault_1, logged_in),
        cmocka_unit_test_setup(test_unknown_route_and_wrong_method, logged_in),
        cmocka_unit_test_setup(test_body_rules, logged_in),
        cmocka_unit_test_setup(test_users_are_isolated, logged_in),
        cmocka_unit_test_setup(test_schedules, logged_in),
        cmocka_unit_test_setup(test_schedule_delete, logged_in),
        cmocka_unit_test_setup(test_cron_schedules, logged_in),
        cmocka_unit_test_setup(test_blockstacks, logged_in),
        cmocka_unit_test_teardown(test_fault_status_500_switch, stop_own),
        cmocka_unit_test(test_tampered_and_logged_out_tokens_are_401),
        cmocka_unit_test_teardown(test_session_ttl_expires_sessions, stop_own),
        cmocka_unit_test_setup(test_etag_and_if_match, logged_in),
        cmocka_unit_test_setup(test_if_match_split_over_lines, logged_in),
        cmocka_unit_test_setup(test_idempotency_key, logged_in),
        cmocka_unit_test_setup(test_pagesize, logged_in),
        cmocka_unit_test(test_check_command_on_a_live_store),
        cmocka_unit_test(test_check_command_with_store_on_a_live_store),
        cmocka_unit_test(test_check_command_with_data_and_store_checks_the_store),
        cmocka_unit_test_teardown(test_full_store_answers_507, stop_own),
        cmocka_unit_test_teardown(test_slow_client_is_cut_off, stop_own),
    };

    if (argc != 2) {
        fprintf(stderr, "usage: %s PATH-TO-jobs-server\n", argv[0]);
        return 2;
    }
    server_bin = argv[1];
    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
