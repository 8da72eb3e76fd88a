/* The Kragle profile (issue 12): every route also under /api/v1, where a client written against
 * the original service's documentation works unchanged - every fault HTTP 500 with the
 * documented message, creates answered 200, inline authentication. The requests here are the
 * examples of the original's pages (Authentication, Jobs, Schedules, Faults, the full example),
 * sent as they are written there, with the user and password of the full example. The
 * unprefixed routes keep their own statuses (checked side by side). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "harness.h"

static server srv;
static char tok[128];  /* SandbenderCa's session, from /api/v1/authenticate */
static char auth[160]; /* "C:<tok>": the cookie, as the full example sends it */
static char bob[160];  /* "B:<bob's token>" */

static void call(resp *r, const char *method, const char *path, const char *a, const char *body)
{
    request_to(r, &srv, method, path, a, body, body ? strlen(body) : 0);
}

/* The answer must be exactly `status` and `body`. */
#define EXACT(st_, want_, method_, path_, a_, body_)                                          \
    do {                                                                                       \
        resp r_;                                                                               \
        call(&r_, (method_), (path_), (a_), (body_));                                          \
        if (r_.status != (st_) || strcmp(r_.body, (want_)) != 0)                               \
            fail_msg("%s %s: expected %d %s, got %ld %s", (method_), (path_), (st_), (want_),  \
                     r_.status, r_.body);                                                      \
        resp_free(&r_);                                                                        \
    } while (0)

/* A fault of the profile: HTTP 500, {"code":N,"msg":<documented text>, "detail": ...}. */
static void kragle_fault(int code, const char *msg, const char *method, const char *path,
                         const char *a, const char *body)
{
    char want[512];
    resp r;

    call(&r, method, path, a, body);
    snprintf(want, sizeof want, "{\"code\":%d,\"msg\":\"%s\",\"detail\":\"", code, msg);
    if (r.status != 500 || strncmp(r.body, want, strlen(want)) != 0)
        fail_msg("%s %s: expected 500 %s..., got %ld %s", method, path, want, r.status, r.body);
    assert_non_null(strstr(r.headers, "HTTP/1.1 500 Internal Server Error\r\n"));
    resp_free(&r);
}

static long id_of(const resp *r)
{
    long id = 0;

    assert_int_equal(sscanf(r->body, "{\"id\":%ld}", &id), 1);
    return id;
}

static int group_setup(void **state)
{
    char bt[128];

    (void)state;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    snprintf(srv.dir, sizeof srv.dir, "/tmp/jobs-kragle-XXXXXX");
    if (!mkdtemp(srv.dir))
        return -1;
    if (add_user(srv.dir, "SandbenderCa", "sandbender@example.org", "itsapassword") != 0 ||
        add_user(srv.dir, "bob", NULL, "bob-pw") != 0 ||
        add_user(srv.dir, "carol", NULL, "carol-pw") != 0 || start_server(&srv, NULL) != 0) {
        stop_server(&srv);
        return -1;
    }
    login_to(&srv, bt, sizeof bt, "bob", "bob-pw");
    snprintf(bob, sizeof bob, "B:%s", bt);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    stop_server(&srv);
    curl_global_cleanup();
    return 0;
}

/* The Authentication page and the full example's first step: POST /api/v1/authenticate with
 * username (or email) and password; 200 {"code":0,"user_id":N} and the auth_tkt cookie. */
static void test_authenticate(void **state)
{
    resp r;

    (void)state;
    call(&r, "POST", "/api/v1/authenticate", NULL,
         "{\"username\": \"SandbenderCa\", \"password\": \"itsapassword\"}");
    EXPECT(&r, 200, "{\"code\":0,\"user_id\":1}");
    token_from(tok, sizeof tok, &r);
    snprintf(auth, sizeof auth, "C:%s", tok);
    resp_free(&r);
    /* Email instead of username; both: the username is used. */
    EXACT(200, "{\"code\":0,\"user_id\":1}", "POST", "/api/v1/authenticate", NULL,
          "{\"email\": \"sandbender@example.org\", \"password\": \"itsapassword\"}");
    EXACT(200, "{\"code\":0,\"user_id\":1}", "POST", "/api/v1/authenticate", NULL,
          "{\"username\": \"SandbenderCa\", \"email\": \"nobody@example.org\", "
          "\"password\": \"itsapassword\"}");
    /* The overview's POST /api/v1/login is the same route. */
    EXACT(200, "{\"code\":0,\"user_id\":1}", "POST", "/api/v1/login", NULL,
          "{\"username\": \"SandbenderCa\", \"password\": \"itsapassword\"}");
    /* Code 3, as a 500. */
    kragle_fault(3, "That user does not exist or the specified password is incorrect.", "POST",
                 "/api/v1/authenticate", NULL,
                 "{\"username\": \"SandbenderCa\", \"password\": \"wrong\"}");
    /* Unprefixed, a wrong password stays 401; /login is not a route there. */
    {
        resp u;
        call(&u, "POST", "/authenticate", NULL, "{\"username\":\"bob\",\"password\":\"no\"}");
        EXPECT(&u, 401, "{\"code\":3,\"msg\":\"unknown user or wrong password\"}");
        resp_free(&u);
        call(&u, "POST", "/login", NULL, "{\"username\":\"bob\",\"password\":\"bob-pw\"}");
        EXPECT(&u, 404, "{\"code\":101,");
        resp_free(&u);
    }
}

/* The Schedules page: GET /schedules without authentication, byid, POST with a config (200
 * {"id"}), PUT answering the schedule. */
static void test_schedules(void **state)
{
    resp r;
    long id;
    char path[64], want[256];

    (void)state;
    call(&r, "GET", "/api/v1/schedules", NULL, NULL);
    EXPECT(&r, 200, "{\"count\":5,\"pagesize\":10,\"page\":1,\"schedules\":[{\"id\":1,");
    resp_free(&r);
    EXACT(200, "{\"id\":4,\"owner\":0,\"name\":\"hourly\",\"once\":false,\"config\":{\"period\":3600}}",
          "GET", "/api/v1/schedules/byid/4", NULL, NULL);
    /* Schedules say whose they are; a built-in one cannot be changed (403, here 500). */
    EXACT(500, "{\"code\":111,\"msg\":\"schedule 4 is public (built in) and cannot be changed\"}",
          "PUT", "/api/v1/schedules/4", auth, "{\"name\": \"mine\"}");
    EXACT(403, "{\"code\":111,\"msg\":\"schedule 4 is public (built in) and cannot be changed\"}",
          "PUT", "/schedules/4", auth, "{}");
    call(&r, "POST", "/api/v1/schedules", auth,
         "{\"config\": {\"period\": 7200}, \"name\": \"every two hours\"}");
    EXPECT(&r, 200, "{\"id\":");
    id = id_of(&r);
    resp_free(&r);
    snprintf(path, sizeof path, "/api/v1/schedules/%ld", id);
    call(&r, "PUT", path, auth, "{\"config\": {\"timestamp\": 1767225600}, \"once\": true}");
    snprintf(want, sizeof want, "\"owner\":1,\"name\":\"every two hours\",\"once\":true,"
             "\"config\":{\"timestamp\":1767225600}}");
    EXPECT(&r, 200, want);
    resp_free(&r);
    kragle_fault(26, "The specified config element for the Schedule you are trying to create is "
                     "invalid.",
                 "POST", "/api/v1/schedules", auth, "{\"config\": {\"period\": 5}}");
    /* The Schedules page lists both keys of a config; one schedule has one of them. */
    kragle_fault(26, "The specified config element for the Schedule you are trying to create is "
                     "invalid.",
                 "POST", "/api/v1/schedules", auth,
                 "{\"config\": {\"period\": 3600, \"timestamp\": 1767225600}}");
    kragle_fault(1, "You have made a bad request - Please check your query params and try again.",
                 "GET", "/api/v1/schedules?page=abc", NULL, NULL);
    /* Unprefixed: the create is 201. */
    call(&r, "POST", "/schedules", auth, "{\"config\": {\"period\": 600}}");
    EXPECT(&r, 201, "{\"id\":");
    resp_free(&r);
}

/* The Jobs page, route by route, and the faults a job can meet. */
static void test_jobs(void **state)
{
    resp r;
    long stack, job, job2, sched;
    char path[96], body[256], want[512];

    (void)state;
    call(&r, "POST", "/api/v1/blockstacks", auth, "{\"name\": \"delicious to hipchat\", \"blocks\": []}");
    EXPECT(&r, 200, "{\"id\":");
    stack = id_of(&r);
    resp_free(&r);
    /* POST /jobs: schedule_id and stack_id required, name and enabled optional; 200 {"id"}. */
    snprintf(body, sizeof body,
             "{\"schedule_id\": 3, \"stack_id\": %ld, \"name\": \"links\", \"enabled\": true}",
             stack);
    call(&r, "POST", "/api/v1/jobs", auth, body);
    EXPECT(&r, 200, "{\"id\":");
    job = id_of(&r);
    resp_free(&r);
    snprintf(body, sizeof body, "{\"schedule_id\": 4, \"stack_id\": %ld}", stack);
    call(&r, "POST", "/api/v1/jobs", auth, body);
    EXPECT(&r, 200, "{\"id\":");
    job2 = id_of(&r);
    resp_free(&r);
    /* GET /jobs: the page. */
    call(&r, "GET", "/api/v1/jobs?page=1", auth, NULL);
    snprintf(want, sizeof want, "{\"count\":2,\"pagesize\":10,\"page\":1,\"jobs\":[{\"id\":%ld,"
             "\"name\":\"links\",\"stack\":%ld,\"schedule\":3,\"next_run\":", job, stack);
    EXPECT(&r, 200, want);
    resp_free(&r);
    /* byid and byname. */
    snprintf(path, sizeof path, "/api/v1/jobs/byid/%ld", job2);
    snprintf(want, sizeof want, "{\"id\":%ld,\"name\":null,\"stack\":%ld,\"schedule\":4,"
             "\"next_run\":null,\"do_run\":false,\"do_del\":false,\"delivery\":\"at-most-once\",\"lease\":300,\"max_attempts\":3,\"misfire\":{\"policy\":\"coalesce\"}}", job2, stack);
    EXACT(200, want, "GET", path, auth, NULL);
    call(&r, "GET", "/api/v1/jobs/byname/links", auth, NULL);
    snprintf(want, sizeof want, "{\"id\":%ld,\"name\":\"links\"", job);
    EXPECT(&r, 200, want);
    resp_free(&r);
    /* PUT: optional keys, the job with its owner. */
    snprintf(path, sizeof path, "/api/v1/jobs/%ld", job2);
    snprintf(want, sizeof want, "{\"id\":%ld,\"owner\":1,\"name\":\"second\",\"stack\":%ld,"
             "\"schedule\":4,\"next_run\":null,\"do_run\":false,\"do_del\":false,\"delivery\":\"at-most-once\",\"lease\":300,\"max_attempts\":3,\"misfire\":{\"policy\":\"coalesce\"}}", job2, stack);
    EXACT(200, want, "PUT", path, auth, "{\"name\": \"second\"}");
    /* DELETE: an inactive job is deleted, an active one queued. */
    snprintf(want, sizeof want, "{\"deleted\":%ld}", job2);
    EXACT(200, want, "DELETE", path, auth, NULL);
    snprintf(path, sizeof path, "/api/v1/jobs/%ld", job);
    snprintf(want, sizeof want, "{\"queued_for_deletion\":%ld}", job);
    EXACT(200, want, "DELETE", path, auth, NULL);
    /* A job queued for deletion cannot be changed, not even disabled (fault 104, our extension:
     * the Jobs page does not say; docs/http-api.md lists it among the differences). */
    snprintf(want, sizeof want, "{\"code\":104,\"msg\":\"job %ld is queued for deletion\"}", job);
    EXACT(500, want, "PUT", path, auth, "{\"enabled\": false}");

    /* The faults, each a 500 with the Faults page's text. */
    snprintf(path, sizeof path, "/api/v1/jobs/byid/%ld", job2);
    kragle_fault(6, "The specified object does not exist.", "GET", path, auth, NULL);
    snprintf(path, sizeof path, "/api/v1/jobs/byid/%ld", job);
    kragle_fault(6, "The specified object does not exist.", "GET", path, bob, NULL);
    kragle_fault(1, "You have made a bad request - Please check your query params and try again.",
                 "GET", "/api/v1/jobs/byid/x", auth, NULL);
    kragle_fault(2, "Your request body contained invalid or inappropriate JSON - please check "
                    "your request and try again.",
                 "POST", "/api/v1/jobs", auth, "{\"schedule_id\": ");
    kragle_fault(4, "Your json request payload is inappropriate for the requested operation.",
                 "POST", "/api/v1/jobs", auth, "{\"schedule_id\": 1}");
    snprintf(body, sizeof body, "{\"schedule_id\": 3, \"stack_id\": %ld, \"name\": \"links\"}",
             stack);
    kragle_fault(12, "The named Job already exists.", "POST", "/api/v1/jobs", auth, body);
    kragle_fault(24, "The specified Stack used in your Job does not exist, or does not belong to "
                     "you and is not public.",
                 "POST", "/api/v1/jobs", auth, "{\"schedule_id\": 3, \"stack_id\": 999}");
    snprintf(body, sizeof body, "{\"schedule_id\": 999, \"stack_id\": %ld}", stack);
    kragle_fault(25, "The specified Schedule used in your Job does not exist, or does not belong "
                     "to you and is not public.",
                 "POST", "/api/v1/jobs", auth, body);
    /* 27: a schedule a job uses cannot change. */
    call(&r, "POST", "/api/v1/schedules", auth, "{\"config\": {\"period\": 600}}");
    sched = id_of(&r);
    resp_free(&r);
    snprintf(body, sizeof body, "{\"schedule_id\": %ld, \"stack_id\": %ld}", sched, stack);
    call(&r, "POST", "/api/v1/jobs", auth, body);
    EXPECT(&r, 200, "{\"id\":");
    resp_free(&r);
    snprintf(path, sizeof path, "/api/v1/schedules/%ld", sched);
    kragle_fault(27, "The Schedule you are trying to update still has Jobs which reference it - "
                     "cannot update!",
                 "PUT", path, auth, "{\"config\": {\"period\": 900}}");
    /* Our extensions keep our message, also as a 500. */
    EXACT(500, "{\"code\":100,\"msg\":\"not authenticated\"}", "GET", "/api/v1/jobs", NULL, NULL);
    EXACT(500, "{\"code\":101,\"msg\":\"no such route\"}", "GET", "/api/v1/nothing", auth, NULL);
    EXACT(500, "{\"code\":102,\"msg\":\"method not allowed\"}", "DELETE", "/api/v1/schedules",
          auth, NULL);
    /* A body over 64 KiB is refused before the handler runs: a 500 here too. */
    {
        size_t n = 70 * 1024;
        char *big = malloc(n + 1);
        assert_non_null(big);
        memset(big, ' ', n);
        big[n] = '\0';
        big[0] = '{';
        big[n - 1] = '}';
        call(&r, "POST", "/api/v1/jobs", auth, big);
        EXPECT(&r, 500, "{\"code\":103,");
        resp_free(&r);
        call(&r, "POST", "/jobs", auth, big);
        EXPECT(&r, 413, "{\"code\":103,");
        resp_free(&r);
        free(big);
    }
    /* "/api/v1" alone, and other versions, are no routes: the unprefixed 404. */
    EXACT(404, "{\"code\":101,\"msg\":\"no such route\"}", "GET", "/api/v1", auth, NULL);
    EXACT(404, "{\"code\":101,\"msg\":\"no such route\"}", "GET", "/api/v2/jobs", auth, NULL);
    /* Unprefixed, the same faults keep their statuses and messages. */
    EXACT(404, "{\"code\":6,\"msg\":\"job 999 not found\"}", "GET", "/jobs/byid/999", auth, NULL);
    call(&r, "GET", "/jobs", NULL, NULL);
    EXPECT(&r, 401, "{\"code\":100,\"msg\":\"not authenticated\"}");
    resp_free(&r);
}

/* The operator's routes, /healthz and /metrics, are not part of the profile: a reverse proxy
 * that forwards /api/v1/ to Kragle clients (and, as docs/http-api.md asks, not /healthz or
 * /metrics) must not expose them as /api/v1/healthz and /api/v1/metrics. They are no route there,
 * the profile's fault 101, while the unprefixed ones still answer. */
static void test_operator_routes_not_in_profile(void **state)
{
    static const char *const paths[] = {"/api/v1/healthz", "/api/v1/metrics"};
    resp r;

    (void)state;
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        EXACT(500, "{\"code\":101,\"msg\":\"no such route\"}", "GET", paths[i], NULL, NULL);
        EXACT(500, "{\"code\":101,\"msg\":\"no such route\"}", "GET", paths[i], auth, NULL);
        request_plain(&r, &srv, "HEAD", paths[i]);
        assert_int_equal(r.status, 500);
        resp_free(&r);
    }
    request_plain(&r, &srv, "GET", "/metrics");
    EXPECT(&r, 200, "# HELP ");
    resp_free(&r);
    call(&r, "GET", "/healthz", NULL, NULL);
    EXPECT(&r, 200, "{\"status\":\"ok\"");
    resp_free(&r);
}

/* A create's Location names the new record in the API the client called: under /api/v1 it
 * is /api/v1/<kind>/byid/<id> (a Location without the prefix would lead out of the profile, or
 * nowhere behind a proxy that forwards /api/v1/ only), also for a replayed create; following it
 * answers the record. Unprefixed creates keep theirs. */
static void test_location_stays_in_profile(void **state)
{
    static const char *const key[] = {"Idempotency-Key: kragle-location-1", NULL};
    char body[128], want[128], path[96];
    long stack, sched, job = 0;
    resp r;

    (void)state;
    call(&r, "POST", "/api/v1/blockstacks", auth, "{\"name\": \"located\", \"blocks\": []}");
    EXPECT(&r, 200, "{\"id\":");
    stack = id_of(&r);
    snprintf(want, sizeof want, "\r\nLocation: /api/v1/blockstacks/byid/%ld\r\n", stack);
    if (!strstr(r.headers, want))
        fail_msg("no %s in\n%s", want + 2, r.headers);
    resp_free(&r);
    call(&r, "POST", "/api/v1/schedules", auth, "{\"config\": {\"period\": 3600}}");
    EXPECT(&r, 200, "{\"id\":");
    sched = id_of(&r);
    snprintf(want, sizeof want, "\r\nLocation: /api/v1/schedules/byid/%ld\r\n", sched);
    if (!strstr(r.headers, want))
        fail_msg("no %s in\n%s", want + 2, r.headers);
    resp_free(&r);
    snprintf(body, sizeof body, "{\"schedule_id\": %ld, \"stack_id\": %ld}", sched, stack);
    for (int i = 0; i < 2; i++) { /* the second is a replay of the first */
        request_with(&r, &srv, "POST", "/api/v1/jobs", auth, body, strlen(body), key);
        EXPECT(&r, 200, "{\"id\":");
        if (i == 0)
            job = id_of(&r);
        else
            assert_non_null(strstr(r.headers, "Idempotent-Replayed: true\r\n"));
        snprintf(want, sizeof want, "\r\nLocation: /api/v1/jobs/byid/%ld\r\n", job);
        if (!strstr(r.headers, want))
            fail_msg("no %s in\n%s", want + 2, r.headers);
        resp_free(&r);
    }
    /* Following it. */
    snprintf(path, sizeof path, "/api/v1/jobs/byid/%ld", job);
    snprintf(want, sizeof want, "{\"id\":%ld,\"name\":null,\"stack\":%ld,", job, stack);
    call(&r, "GET", path, auth, NULL);
    EXPECT(&r, 200, want);
    resp_free(&r);
    /* Unprefixed: the unprefixed URL (create_on checks it). */
    create_on(&srv, "/schedules", auth, "{\"config\": {\"period\": 7200}}");
}

/* A manual run (our extension, POST /jobs/<id>/run) is answered 200 under /api/v1, as every
 * success of the original service was, and 202 unprefixed. */
static void test_run_now_answers_200(void **state)
{
    char body[128], path[96];
    long stack, job;
    resp r;

    (void)state;
    call(&r, "POST", "/api/v1/blockstacks", auth, "{\"name\": \"run by hand\", \"blocks\": []}");
    EXPECT(&r, 200, "{\"id\":");
    stack = id_of(&r);
    resp_free(&r);
    snprintf(body, sizeof body, "{\"schedule_id\": 4, \"stack_id\": %ld}", stack);
    call(&r, "POST", "/api/v1/jobs", auth, body);
    EXPECT(&r, 200, "{\"id\":");
    job = id_of(&r);
    resp_free(&r);
    snprintf(path, sizeof path, "/api/v1/jobs/%ld/run", job);
    call(&r, "POST", path, auth, NULL);
    EXPECT(&r, 200, "{\"run\":");
    resp_free(&r);
    call(&r, "POST", path + 7, auth, NULL);
    EXPECT(&r, 202, "{\"run\":");
    resp_free(&r);
}

/* A stack's blocks are part of the body and its rules: 8 levels of nesting counting the body's
 * object, so a block's conversion specifier may nest 5 levels (docs/http-api.md, the Kragle
 * profile's differences); one more is fault 4 and makes no stack. */
static void test_blocks_depth(void **state)
{
    resp r;

    (void)state;
    call(&r, "POST", "/api/v1/blockstacks", auth,
         "{\"name\": \"deep5\", \"blocks\": [[\"x\", {\"a\":{\"b\":{\"c\":{\"d\":{\"e\":1}}}}}]]}");
    EXPECT(&r, 200, "{\"id\":");
    resp_free(&r);
    kragle_fault(4, "Your json request payload is inappropriate for the requested operation.",
                 "POST", "/api/v1/blockstacks", auth,
                 "{\"name\": \"deep6\", \"blocks\": [[\"x\", {\"a\":{\"b\":{\"c\":{\"d\":{\"e\":{\"f\":1}}}}}}]]}");
    call(&r, "GET", "/api/v1/blockstacks/byname/deep6", auth, NULL);
    EXPECT(&r, 500, "{\"code\":6,");
    resp_free(&r);
}

/* The full example, replayed as its Python sends it (json.dumps, the JSON content type, the
 * cookie): authenticate; its calls of the block-type, type and validation routes, parts of the
 * original that libjobs does not have, are no route (the profile's 500, fault 101); its stack is
 * created from its own payload and kept byte for byte. The blocks are not interpreted, so a
 * public stack shows them whole to anyone, the conversion's auth_token included, where the
 * original showed them to the owner only (docs/http-api.md lists both differences). */
static void test_full_example(void **state)
{
    static const char *const absent[][2] = {
        {"GET", "/api/v1/blocktypes?show_resolved=1"},
        {"POST", "/api/v1/validate/blocktypes"},
        {"POST", "/api/v1/blocktypes"},
        {"POST", "/api/v1/validate/types"},
        {"POST", "/api/v1/types"},
    };
    static const char blocks[] =
        "[[\"Delicious - Last Post tagged...\", {\"tag\": \"coworkers\"}], "
        "[\"HipChat - Send Message to Room\", {\"room_id\": \"1234567\", \"auth_token\": "
        "\"ABCDEF0987654321\", \"content\": \"New Link! \\u0001\\u0001/url\\u0002\\u0002\"}]]";
    char body[512], path[96];
    long stack;
    resp r;

    (void)state;
    call(&r, "POST", "/api/v1/authenticate", NULL,
         "{\"username\": \"SandbenderCa\", \"password\": \"itsapassword\"}");
    EXPECT(&r, 200, "{\"code\":0,\"user_id\":1}");
    assert_non_null(strstr(r.headers, "Set-Cookie: auth_tkt="));
    resp_free(&r);
    for (size_t i = 0; i < sizeof absent / sizeof absent[0]; i++)
        EXACT(500, "{\"code\":101,\"msg\":\"no such route\"}", absent[i][0], absent[i][1], auth,
              strcmp(absent[i][0], "POST") == 0
                  ? "{\"name\": \"HipChat - New Message for Room\", \"definition\": {}}"
                  : NULL);
    /* "Job and Schedule operations will be left as an exercise for the reader": list the
     * schedules, then make the example's stack. */
    call(&r, "GET", "/api/v1/schedules", auth, NULL);
    EXPECT(&r, 200, "\"schedules\":[");
    resp_free(&r);
    snprintf(body, sizeof body,
             "{\"name\": \"Send Delicious links to my coworkers on HipChat\", \"blocks\": %s}",
             blocks);
    call(&r, "POST", "/api/v1/blockstacks", auth, body);
    EXPECT(&r, 200, "{\"id\":");
    stack = id_of(&r);
    resp_free(&r);
    snprintf(path, sizeof path, "/api/v1/blockstacks/byid/%ld", stack);
    call(&r, "GET", path, auth, NULL);
    EXPECT(&r, 200, blocks);
    resp_free(&r);
    snprintf(path, sizeof path, "/api/v1/blockstacks/%ld", stack);
    call(&r, "PUT", path, auth, "{\"public\": true}");
    EXPECT(&r, 200, "\"public\":true");
    resp_free(&r);
    snprintf(path, sizeof path, "/api/v1/blockstacks/byid/%ld", stack);
    call(&r, "GET", path, NULL, NULL);
    EXPECT(&r, 200, blocks);
    assert_null(strstr(r.body, "\"jobs\""));
    resp_free(&r);
}

/* The Stacks page: its sample POST body (the trailing comma of its blocks removed: JSON has
 * none), the fields everyone sees and those only the owner sees, GET by id and by name without
 * a session for a public stack (403 for a private one), PUT, and fault 10. */
static void test_stacks(void **state)
{
    static const char blocks[] =
        "[\n        [\"Post to Twitter\", {\"tweet_body\": \"\\u0001/input/screen_name\\u0002 says "
        "#gluetogetherallt3hthings!\"}]\n    ]";
    char body[1024], path[128], want[1024];
    long stack, sched, job;
    resp r;

    (void)state;
    call(&r, "POST", "/api/v1/schedules", auth, "{\"name\": \"every 10\", \"config\": {\"period\": 600}}");
    EXPECT(&r, 200, "{\"id\":");
    sched = id_of(&r);
    resp_free(&r);
    snprintf(body, sizeof body,
             "{\n    \"name\": \"Everything is Awesome\",\n    \"schedule_id\": %ld,\n"
             "    \"enabled\": true,\n    \"needs_approval\": false,\n    \"webhook\": \"token\",\n"
             "    \"webhook_method\": \"POST\",\n    \"blocks\": %s\n}",
             sched, blocks);
    call(&r, "POST", "/api/v1/blockstacks", auth, body);
    EXPECT(&r, 200, "{\"id\":");
    stack = id_of(&r);
    resp_free(&r);

    /* The owner: token and jobs (the first job, created with the stack, enabled). */
    snprintf(path, sizeof path, "/api/v1/blockstacks/byid/%ld", stack);
    call(&r, "GET", path, auth, NULL);
    EXPECT(&r, 200, "\"webhook\":\"token\",\"webhook_method\":\"POST\",\"blocks\":[");
    assert_non_null(strstr(r.body, blocks)); /* kept byte for byte */
    assert_non_null(strstr(r.body, "\"webhook_token\":\""));
    assert_int_equal(sscanf(strstr(r.body, "\"jobs\":[") + 8, "{\"id\":%ld", &job), 1);
    snprintf(want, sizeof want, "\"jobs\":[{\"id\":%ld,\"name\":null,\"do_run\":true,"
             "\"schedule\":%ld}]}", job, sched);
    assert_non_null(strstr(r.body, want));
    resp_free(&r);

    /* Someone else, and nobody: a private stack is 404 and 403; the name is the same. */
    call(&r, "GET", path, bob, NULL);
    EXPECT(&r, 500, "{\"code\":6,");
    resp_free(&r);
    snprintf(path, sizeof path, "/blockstacks/byid/%ld", stack);
    call(&r, "GET", path, bob, NULL);
    EXPECT(&r, 404, "{\"code\":6,");
    resp_free(&r);
    call(&r, "GET", path, NULL, NULL);
    EXPECT(&r, 403, "{\"code\":116,");
    resp_free(&r);
    call(&r, "GET", "/blockstacks/byname/Everything%20is%20Awesome", NULL, NULL);
    EXPECT(&r, 403, "{\"code\":116,");
    resp_free(&r);
    /* The Stacks page's own status for this case, also under /api/v1 (not 500). */
    call(&r, "GET", "/api/v1/blockstacks/byname/Everything%20is%20Awesome", NULL, NULL);
    EXPECT(&r, 403, "{\"code\":116,");
    assert_non_null(strstr(r.headers, "HTTP/1.1 403 Forbidden\r\n"));
    resp_free(&r);

    /* Made public with PUT: anyone reads it, without the token or the jobs. */
    snprintf(path, sizeof path, "/api/v1/blockstacks/%ld", stack);
    call(&r, "PUT", path, auth, "{\"public\": true, \"webhook_method\": \"GET\"}");
    EXPECT(&r, 200, "{\"id\":");
    assert_non_null(strstr(r.body, "\"public\":true"));
    assert_non_null(strstr(r.body, "\"webhook_method\":\"GET\""));
    assert_non_null(strstr(r.body, "\"webhook_token\":\""));
    resp_free(&r);
    call(&r, "GET", "/api/v1/blockstacks/byname/Everything%20is%20Awesome", NULL, NULL);
    EXPECT(&r, 200, "{\"id\":");
    assert_non_null(strstr(r.body, "\"name\":\"Everything is Awesome\""));
    assert_non_null(strstr(r.body, blocks));
    assert_null(strstr(r.body, "webhook_token"));
    assert_null(strstr(r.body, "\"jobs\""));
    resp_free(&r);
    call(&r, "GET", "/api/v1/blockstacks", NULL, NULL);
    EXPECT(&r, 200, "{\"count\":");
    assert_non_null(strstr(r.body, "\"name\":\"Everything is Awesome\""));
    assert_null(strstr(r.body, "webhook_token"));
    resp_free(&r);

    /* Fault 10: a second stack of that name for one owner (another owner may use it). */
    kragle_fault(10, "The named Stack already exists.", "POST", "/api/v1/blockstacks", auth,
                 "{\"name\": \"Everything is Awesome\", \"blocks\": []}");
    call(&r, "POST", "/api/v1/blockstacks", bob,
         "{\"name\": \"Everything is Awesome\", \"blocks\": []}");
    EXPECT(&r, 200, "{\"id\":");
    resp_free(&r);
    /* blocks are required under /api/v1, and must be an array of objects or arrays. */
    kragle_fault(4, "Your json request payload is inappropriate for the requested operation.",
                 "POST", "/api/v1/blockstacks", auth, "{\"name\": \"no blocks\"}");
    kragle_fault(4, "Your json request payload is inappropriate for the requested operation.",
                 "POST", "/api/v1/blockstacks", auth, "{\"name\": \"x\", \"blocks\": [1]}");
    kragle_fault(4, "Your json request payload is inappropriate for the requested operation.",
                 "POST", "/api/v1/blockstacks", auth,
                 "{\"name\": \"x\", \"blocks\": [], \"webhook\": \"sometimes\"}");
    /* A first job that cannot be made leaves no stack. */
    kragle_fault(25, "The specified Schedule used in your Job does not exist, or does not belong "
                 "to you and is not public.", "POST", "/api/v1/blockstacks", auth,
                 "{\"name\": \"orphan\", \"blocks\": [], \"schedule_id\": 999999}");
    call(&r, "GET", "/blockstacks/byname/orphan", auth, NULL);
    EXPECT(&r, 404, "{\"code\":6,");
    resp_free(&r);
}

/* The Webhooks pages under /api/v1, on a server that runs no command: token_refresh answers
 * {"token": ...} and the stack shows that token to its owner, the old one stops working; a POST
 * hook is not reachable by GET; a call the hook accepts is answered 200 with the stack's failure
 * in the body ("status": 1), not in the HTTP status; a stack whose webhook is null is no hook. */
static void test_webhooks_pages(void **state)
{
    char path[128], old[40], token[40], want[256];
    long stack, plain;
    const char *p;
    resp r;

    (void)state;
    call(&r, "POST", "/api/v1/blockstacks", auth,
         "{\"name\": \"hooked\", \"blocks\": [], \"webhook\": \"token\", \"webhook_method\": \"POST\"}");
    EXPECT(&r, 200, "{\"id\":");
    stack = id_of(&r);
    resp_free(&r);
    call(&r, "POST", "/api/v1/blockstacks", auth, "{\"name\": \"not hooked\", \"blocks\": []}");
    EXPECT(&r, 200, "{\"id\":");
    plain = id_of(&r);
    resp_free(&r);
    snprintf(path, sizeof path, "/api/v1/blockstacks/byid/%ld", stack);
    call(&r, "GET", path, auth, NULL);
    assert_non_null(p = strstr(r.body, "\"webhook_token\":\""));
    assert_int_equal(sscanf(p, "\"webhook_token\":\"%32[0-9a-f]\"", old), 1);
    assert_int_equal(strlen(old), 32);
    resp_free(&r);

    snprintf(path, sizeof path, "/api/v1/blockstacks/hook/token_refresh/%ld", stack);
    call(&r, "GET", path, auth, NULL);
    EXPECT(&r, 200, "{\"token\":\"");
    assert_int_equal(sscanf(r.body, "{\"token\":\"%32[0-9a-f]\"}", token), 1);
    assert_int_equal(strlen(token), 32);
    assert_string_not_equal(token, old);
    resp_free(&r);
    snprintf(path, sizeof path, "/api/v1/blockstacks/byid/%ld", stack);
    snprintf(want, sizeof want, "\"webhook_token\":\"%s\"", token);
    call(&r, "GET", path, auth, NULL);
    EXPECT(&r, 200, want);
    resp_free(&r);

    snprintf(path, sizeof path, "/api/v1/blockstacks/hook/%ld?token=%s", stack, old);
    EXACT(500, "{\"code\":133,\"msg\":\"wrong or missing token\"}", "POST", path, NULL, "{}");
    snprintf(path, sizeof path, "/api/v1/blockstacks/hook/%ld?token=%s", stack, token);
    EXACT(500, "{\"code\":102,\"msg\":\"this stack's webhook answers POST only\"}", "GET", path,
          NULL, NULL);
    EXACT(200,
          "{\"status\":1,\"err\":\"this server runs no command (--run-command): the webhook "
          "cannot run\"}",
          "POST", path, NULL, "{\"k\": 1}");

    snprintf(path, sizeof path, "/api/v1/blockstacks/hook/%ld", plain);
    EXACT(500, "{\"code\":132,\"msg\":\"no such stack, or its webhook is null\"}", "GET", path,
          NULL, NULL);
    snprintf(path, sizeof path, "/api/v1/blockstacks/hook/token_refresh/%ld", plain);
    call(&r, "GET", path, auth, NULL);
    EXPECT(&r, 500, "{\"code\":131,");
    resp_free(&r);
}

/* The count of a user's jobs, through their session or bearer token `a`. */
static long job_count(const char *a)
{
    long n = -1;
    resp r;

    call(&r, "GET", "/jobs", a, NULL);
    assert_int_equal(r.status, 200);
    assert_int_equal(sscanf(r.body, "{\"count\":%ld,", &n), 1);
    resp_free(&r);
    return n;
}

/* Inline authentication (the API Reference's overview): {"auth": {...}, "payload": ...}
 * authenticates one request, without a session; the payload is the route's body. */
static void test_inline_auth(void **state)
{
    resp r;
    long stack, before;
    char body[512], want[128];

    (void)state;
    call(&r, "POST", "/api/v1/blockstacks", NULL,
         "{\"auth\": {\"username\": \"SandbenderCa\", \"password\": \"itsapassword\"},"
         " \"payload\": {\"name\": \"inline stack\", \"blocks\": []}}");
    EXPECT(&r, 200, "{\"id\":");
    assert_null(strstr(r.headers, "Set-Cookie")); /* no session is started */
    stack = id_of(&r);
    resp_free(&r);
    before = job_count(auth);
    /* The payload reaches the route byte for byte; email works as on /authenticate. */
    snprintf(body, sizeof body,
             "{\"payload\": {\"schedule_id\": 3, \"stack_id\": %ld, \"name\": \"inline\"},"
             " \"auth\": {\"email\": \"sandbender@example.org\", \"password\": \"itsapassword\"}}",
             stack);
    call(&r, "POST", "/api/v1/jobs", NULL, body);
    EXPECT(&r, 200, "{\"id\":");
    resp_free(&r);
    /* Unprefixed too (201), and on a GET, whose body is only the envelope. */
    snprintf(body, sizeof body,
             "{\"auth\": {\"username\": \"SandbenderCa\", \"password\": \"itsapassword\"},"
             " \"payload\": {\"schedule_id\": 4, \"stack_id\": %ld}}", stack);
    call(&r, "POST", "/jobs", NULL, body);
    EXPECT(&r, 201, "{\"id\":");
    resp_free(&r);
    call(&r, "GET", "/api/v1/jobs/byname/inline", NULL,
         "{\"auth\": {\"username\": \"SandbenderCa\", \"password\": \"itsapassword\"}}");
    snprintf(want, sizeof want, "\"name\":\"inline\",\"stack\":%ld,\"schedule\":3,", stack);
    EXPECT(&r, 200, want);
    resp_free(&r);
    assert_int_equal(job_count(auth), before + 2);

    /* Refused, and nothing created: wrong password (3), an envelope with another key or an
     * auth that is not an object (4), a payload the route refuses (4), no payload on a create
     * (2), and a session of another user beside the credentials (100). */
    snprintf(body, sizeof body,
             "{\"auth\": {\"username\": \"SandbenderCa\", \"password\": \"nope\"},"
             " \"payload\": {\"schedule_id\": 4, \"stack_id\": %ld}}", stack);
    kragle_fault(3, "That user does not exist or the specified password is incorrect.", "POST",
                 "/api/v1/jobs", NULL, body);
    call(&r, "POST", "/jobs", NULL, body);
    EXPECT(&r, 401, "{\"code\":3,");
    resp_free(&r);
    call(&r, "POST", "/jobs", NULL,
         "{\"auth\": {\"username\": \"SandbenderCa\", \"password\": \"itsapassword\"},"
         " \"payload\": {}, \"extra\": 1}");
    EXPECT(&r, 400, "{\"code\":4,\"msg\":\"inline authentication: unknown key 'extra'");
    resp_free(&r);
    call(&r, "POST", "/jobs", NULL, "{\"auth\": \"SandbenderCa:itsapassword\", \"payload\": {}}");
    EXPECT(&r, 400, "{\"code\":4,\"msg\":\"inline authentication: 'auth' must be an object\"}");
    resp_free(&r);
    call(&r, "POST", "/jobs", NULL,
         "{\"auth\": {\"username\": \"SandbenderCa\", \"password\": \"itsapassword\"},"
         " \"payload\": {\"schedule_id\": 4}}");
    EXPECT(&r, 400, "{\"code\":4,\"msg\":\"missing required key 'stack_id'");
    resp_free(&r);
    call(&r, "POST", "/jobs", NULL,
         "{\"auth\": {\"username\": \"SandbenderCa\", \"password\": \"itsapassword\"}}");
    EXPECT(&r, 400, "{\"code\":2,");
    resp_free(&r);
    call(&r, "POST", "/jobs", bob, body);
    EXPECT(&r, 401, "{\"code\":3,");
    resp_free(&r);
    snprintf(body, sizeof body,
             "{\"auth\": {\"username\": \"SandbenderCa\", \"password\": \"itsapassword\"},"
             " \"payload\": {\"schedule_id\": 4, \"stack_id\": %ld}}", stack);
    call(&r, "POST", "/jobs", bob, body);
    EXPECT(&r, 401, "{\"code\":100,\"msg\":\"the session and the inline credentials are of "
                    "different users\"}");
    resp_free(&r);
    assert_int_equal(job_count(auth), before + 2);
}

/* Inline credentials are a login: five wrong ones lock the name as five failed logins do. */
static void test_inline_auth_throttled(void **state)
{
    const char *wrong = "{\"auth\": {\"username\": \"carol\", \"password\": \"x\"}}";
    const char *right = "{\"auth\": {\"username\": \"carol\", \"password\": \"carol-pw\"}}";
    resp r;

    (void)state;
    EXACT(200, "{\"count\":0,\"pagesize\":10,\"page\":1,\"jobs\":[]}", "GET", "/jobs", NULL,
          right);
    for (int i = 0; i < 5; i++) {
        call(&r, "GET", "/jobs", NULL, wrong);
        EXPECT(&r, 401, "{\"code\":3,");
        resp_free(&r);
    }
    call(&r, "GET", "/jobs", NULL, right);
    EXPECT(&r, 429, "{\"code\":107,");
    resp_free(&r);
    call(&r, "POST", "/authenticate", NULL, "{\"username\":\"carol\",\"password\":\"carol-pw\"}");
    EXPECT(&r, 429, "{\"code\":107,");
    resp_free(&r);
}

/* The Webhooks page's GET /blockstacks/exec/<stack id>: the owner runs a stack whose webhook is
 * null by hand, on a server with a command (a script that prints its input, the stack's
 * blocks, or fails when they ask it to). 200 with {"success":...} or {"error":...}; the run is
 * in the stack's history; another user's stack is the profile's fault 6, no session 100, a
 * webhook stack 141, each HTTP 500 as every fault there. */
static void test_exec(void **state)
{
    static const char cred[] =
        "{\"auth\": {\"username\": \"SandbenderCa\", \"password\": \"itsapassword\"}}";
    char cmd[128], session[160], b[160], path[96], want[256];
    long echo, failing, hooked, run;
    const char *p;
    server x;
    FILE *f;
    resp r;

    (void)state;
    memset(&x, 0, sizeof x);
    snprintf(x.dir, sizeof x.dir, "/tmp/jobs-kragle-exec-XXXXXX");
    assert_non_null(mkdtemp(x.dir));
    snprintf(cmd, sizeof cmd, "%s/echo.sh", x.dir);
    assert_non_null(f = fopen(cmd, "w"));
    fputs("#!/bin/sh\ninput=$(cat)\ncase \"$input\" in *'\"fail\"'*) echo 'it broke'; exit 3 ;; "
          "esac\nprintf '%s\\n' \"$input\"\n", f);
    fclose(f);
    assert_int_equal(chmod(cmd, 0700), 0);
    assert_int_equal(add_user(x.dir, "SandbenderCa", NULL, "itsapassword"), 0);
    assert_int_equal(add_user(x.dir, "bob", NULL, "bob-pw"), 0);
    assert_int_equal(start_server(&x, (const char *[]){"--run-command", cmd, "--tick-interval",
                                                       "1", "--run-timeout", "60", NULL}),
                     0);
    strcpy(session, "C:");
    login_to(&x, session + 2, sizeof session - 2, "SandbenderCa", "itsapassword");
    strcpy(b, "B:");
    login_to(&x, b + 2, sizeof b - 2, "bob", "bob-pw");
    echo = create_on(&x, "/blockstacks", session,
                     "{\"name\": \"on demand\", \"blocks\": [[\"Echo\", {\"k\": 1}]]}");
    failing = create_on(&x, "/blockstacks", session,
                        "{\"name\": \"broken\", \"blocks\": [{\"fail\": true}]}");
    hooked = create_on(&x, "/blockstacks", session,
                       "{\"name\": \"hooked\", \"blocks\": [], \"webhook\": \"user\"}");

    /* With the session cookie, and with inline credentials. */
    snprintf(path, sizeof path, "/api/v1/blockstacks/exec/%ld", echo);
    request_to(&r, &x, "GET", path, session, NULL, 0);
    EXPECT(&r, 200, "{\"success\":[[\"Echo\", {\"k\": 1}]],\"run\":");
    assert_non_null(p = strstr(r.body, "\"run\":"));
    run = strtol(p + 6, NULL, 10);
    resp_free(&r);
    request_to(&r, &x, "GET", path, NULL, cred, strlen(cred));
    EXPECT(&r, 200, "{\"success\":[[\"Echo\", {\"k\": 1}]],\"run\":");
    resp_free(&r);
    snprintf(path, sizeof path, "/api/v1/blockstacks/%ld/runs", echo);
    request_to(&r, &x, "GET", path, session, NULL, 0);
    snprintf(want, sizeof want, "{\"id\":%ld,\"job\":null,\"stack\":%ld,", run, echo);
    EXPECT(&r, 200, want);
    EXPECT(&r, 200, "\"trigger\":\"manual\",\"state\":\"succeeded\"");
    EXPECT(&r, 200, "{\"count\":2,");
    resp_free(&r);

    /* A failing run: 200, the failure in the body. */
    snprintf(path, sizeof path, "/api/v1/blockstacks/exec/%ld", failing);
    request_to(&r, &x, "GET", path, session, NULL, 0);
    EXPECT(&r, 200, "{\"error\":\"exit status 3: it broke\",\"run\":");
    resp_free(&r);

    /* Faults, HTTP 500 as every fault of the profile. */
    snprintf(path, sizeof path, "/api/v1/blockstacks/exec/%ld", echo);
    request_to(&r, &x, "GET", path, b, NULL, 0);
    EXPECT(&r, 500, "{\"code\":6,\"msg\":\"The specified object does not exist.\",\"detail\":");
    resp_free(&r);
    request_to(&r, &x, "GET", path, NULL, NULL, 0);
    EXPECT(&r, 500, "{\"code\":100,");
    resp_free(&r);
    snprintf(path, sizeof path, "/api/v1/blockstacks/exec/%ld", hooked);
    request_to(&r, &x, "GET", path, session, NULL, 0);
    snprintf(want, sizeof want,
             "{\"code\":141,\"msg\":\"stack %ld has a webhook: run it through "
             "/blockstacks/hook/%ld\"}",
             hooked, hooked);
    EXPECT(&r, 500, want);
    resp_free(&r);
    /* None of them made a run. */
    snprintf(path, sizeof path, "/api/v1/blockstacks/%ld/runs", echo);
    request_to(&r, &x, "GET", path, session, NULL, 0);
    EXPECT(&r, 200, "{\"count\":2,");
    resp_free(&r);
    snprintf(path, sizeof path, "/api/v1/blockstacks/%ld/runs", hooked);
    request_to(&r, &x, "GET", path, session, NULL, 0);
    EXPECT(&r, 200, "{\"count\":0,");
    resp_free(&r);
    assert_int_equal(stop_server(&x), 0);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_authenticate),
        cmocka_unit_test(test_schedules),
        cmocka_unit_test(test_jobs),
        cmocka_unit_test(test_stacks),
        cmocka_unit_test(test_full_example),
        cmocka_unit_test(test_operator_routes_not_in_profile),
        cmocka_unit_test(test_location_stays_in_profile),
        cmocka_unit_test(test_run_now_answers_200),
        cmocka_unit_test(test_blocks_depth),
        cmocka_unit_test(test_inline_auth),
        cmocka_unit_test(test_inline_auth_throttled),
        cmocka_unit_test(test_webhooks_pages),
        cmocka_unit_test(test_exec),
    };

    if (argc < 2) {
        fprintf(stderr, "usage: %s JOBS_SERVER\n", argv[0]);
        return 2;
    }
    server_bin = argv[1];
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
