/* Stack webhooks end to end (issue 14): jobs-server with --run-command running a real script
 * that echoes its standard input. Each access type runs (public without a session, token with
 * the right token, user with the owner's session) and refuses what it must (a wrong or missing
 * token, another user, the other method, a null webhook); token_refresh replaces the token; the
 * child reads the request (query and form parameters, repeated ones as arrays, the JSON body,
 * which must be one object without a repeated key, the headers without the caller's
 * credentials); the answer carries the output parsed as JSON, a string, or status 1 for a
 * failing run; each run is in the stack's history with trigger
 * hook; more hook requests of one stack than may wait at once are refused (429); a server
 * without --run-command makes no run; a hook waiting when the server stops answers status 1.
 * GET /blockstacks/exec/<id> runs the owner's stack without a webhook by hand, on the same
 * machinery (trigger manual, the stack's blocks as input, {"success":...} or {"error":...}).
 * Bounds are for liveness only. */
#include <dirent.h>
#include <signal.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "harness.h"

/* Hook requests of one stack that may wait at once (examples/server/hook.h). */
#define PER_STACK 4

static server srv;
static char A[160], B[160]; /* "B:<token>" of alice and bob */
static long pub, tok, usr, plain;
static char token[64];

/* The command: the input back on standard output, unless the input asks otherwise. */
static const char script[] =
    "#!/bin/sh\n"
    "d='%s'\n"
    "if [ -e \"$d/writefirst\" ]; then head -c 70000 /dev/zero | tr '\\0' x;\n"
    "  cat >/dev/null; exit 0; fi\n"
    "input=$(cat)\n"
    "case \"$input\" in\n"
    "*'\"mode\":\"fail\"'*) echo \"broken: $JOBS_TRIGGER\" >&2; exit 3 ;;\n"
    "*'\"mode\":\"text\"'*) echo 'plain words'; exit 0 ;;\n"
    "*'\"mode\":\"bigfail\"'*) head -c 70000 /dev/zero | tr '\\0' x; echo;\n"
    "  echo 'fatal: disk full'; exit 3 ;;\n"
    "*'\"mode\":\"big\"'*) head -c 70000 /dev/zero | tr '\\0' x; exit 0 ;;\n"
    "*'\"mode\":\"nulfail\"'*) printf 'junk\\000'; echo 'fatal: after a NUL'; exit 3 ;;\n"
    "*'\"mode\":\"block\"'*) touch \"$d/started.$JOBS_RUN_ID\"; i=0;\n"
    "  while [ ! -e \"$d/release\" ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done\n"
    "  echo '{\"blocked\":true}'; exit 0 ;;\n"
    "esac\n"
    "printf '%%s\\n' \"$input\"\n";

static void write_script(const char *dir, char *path, size_t size)
{
    FILE *f;

    snprintf(path, size, "%s/hook.sh", dir);
    f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, script, dir);
    fclose(f);
    assert_int_equal(chmod(path, 0700), 0);
}

static void request(resp *r, const char *method, const char *path, const char *auth,
                    const char *body)
{
    request_to(r, &srv, method, path, auth, body, body ? strlen(body) : 0);
}

/* A request with any Content-Type (or none), safe to make from several threads at once: no
 * cmocka assertion inside. The status is 0 when curl failed. */
typedef struct call {
    const server *s;
    const char *method, *path, *auth, *type, *body, *extra;
    const char *target; /* the request line's target, when not `path` (an absolute form) */
    long status;
    char body_out[16384];
    size_t len;
    char headers[4096];
} call;

static size_t on_data(char *p, size_t size, size_t n, void *arg)
{
    call *c = arg;
    size_t k = size * n, room = sizeof c->body_out - 1 - c->len;

    memcpy(c->body_out + c->len, p, k < room ? k : room);
    c->len += k < room ? k : room;
    c->body_out[c->len] = '\0';
    return k;
}

static size_t on_head(char *p, size_t size, size_t n, void *arg)
{
    call *c = arg;
    size_t k = size * n, have = strlen(c->headers);

    if (have + k < sizeof c->headers) {
        memcpy(c->headers + have, p, k);
        c->headers[have + k] = '\0';
    }
    return k;
}

static void *perform(void *arg)
{
    call *c = arg;
    CURL *h = curl_easy_init();
    struct curl_slist *l = NULL;
    char url[2048], line[256];

    c->status = 0;
    c->len = 0;
    c->body_out[0] = c->headers[0] = '\0';
    if (!h)
        return NULL;
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", c->s->port, c->path);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, c->method);
    if (c->target)
        curl_easy_setopt(h, CURLOPT_REQUEST_TARGET, c->target);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, c);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_head);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, c);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 120L);
    l = curl_slist_append(l, "Expect:");
    if (c->auth && c->auth[0] == 'B') {
        snprintf(line, sizeof line, "Authorization: Bearer %s", c->auth + 2);
        l = curl_slist_append(l, line);
    } else if (c->auth && c->auth[0] == 'C') {
        snprintf(line, sizeof line, "Cookie: auth_tkt=%s", c->auth + 2);
        l = curl_slist_append(l, line);
    }
    if (c->type) {
        snprintf(line, sizeof line, "Content-Type: %s", c->type);
        l = curl_slist_append(l, line);
    }
    if (c->extra)
        l = curl_slist_append(l, c->extra);
    if (c->body) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, c->body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(c->body));
    }
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, l);
    if (curl_easy_perform(h) == CURLE_OK)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &c->status);
    curl_slist_free_all(l);
    curl_easy_cleanup(h);
    return NULL;
}

static void hook(call *c, const char *method, const char *path, const char *auth,
                 const char *type, const char *body)
{
    memset(c, 0, sizeof *c);
    c->s = &srv;
    c->method = method;
    c->path = path;
    c->auth = auth;
    c->type = type;
    c->body = body;
    perform(c);
}

/* hook() with one more header line. */
static void hook_with(call *c, const char *method, const char *path, const char *auth,
                      const char *extra)
{
    memset(c, 0, sizeof *c);
    c->s = &srv;
    c->method = method;
    c->path = path;
    c->auth = auth;
    c->extra = extra;
    perform(c);
}

#define HOOK_EXPECT(c, st, want)                                                               \
    do {                                                                                       \
        if ((c)->status != (st) || !strstr((c)->body_out, (want)))                             \
            fail_msg("%s %s: expected %d with %s, got %ld %s", (c)->method, (c)->path, (st),  \
                     (want), (c)->status, (c)->body_out);                                      \
    } while (0)

/* The run id of a hook's answer ({..."run":N}). */
static long run_of(const call *c)
{
    const char *p = strstr(c->body_out, "\"run\":");

    if (!p)
        fail_msg("no run in %s", c->body_out);
    return strtol(p + 6, NULL, 10);
}

static int group_setup(void **state)
{
    char cmd[128];
    resp r;

    (void)state;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    snprintf(srv.dir, sizeof srv.dir, "/tmp/jobs-hooks-XXXXXX");
    if (!mkdtemp(srv.dir))
        return -1;
    write_script(srv.dir, cmd, sizeof cmd);
    if (add_user(srv.dir, "alice", NULL, "alice-pw") != 0 ||
        add_user(srv.dir, "bob", NULL, "bob-pw") != 0 ||
        start_server(&srv, (const char *[]){"--tick-interval", "1", "--run-command", cmd,
                                            "--run-timeout", "60", "--max-running", "8",
                                            NULL}) != 0) {
        stop_server(&srv);
        return -1;
    }
    strcpy(A, "B:");
    login_to(&srv, A + 2, sizeof A - 2, "alice", "alice-pw");
    strcpy(B, "B:");
    login_to(&srv, B + 2, sizeof B - 2, "bob", "bob-pw");
    pub = create_on(&srv, "/blockstacks", A,
                    "{\"name\":\"pub\",\"webhook\":\"public\",\"webhook_method\":\"GET\"}");
    tok = create_on(&srv, "/blockstacks", A,
                    "{\"name\":\"tok\",\"webhook\":\"token\",\"webhook_method\":\"POST\"}");
    usr = create_on(&srv, "/blockstacks", A,
                    "{\"name\":\"usr\",\"webhook\":\"user\",\"webhook_method\":\"GET\"}");
    plain = create_on(&srv, "/blockstacks", A, "{\"name\":\"plain\"}");
    {
        char path[64];
        const char *t;

        snprintf(path, sizeof path, "/blockstacks/byid/%ld", tok);
        request_to(&r, &srv, "GET", path, A, NULL, 0);
        t = strstr(r.body, "\"webhook_token\":\"");
        if (!t || sscanf(t + 17, "%32[0-9a-f]", token) != 1 || strlen(token) != 32) {
            resp_free(&r);
            return -1;
        }
        resp_free(&r);
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

/* The stack's history (as alice) holds run `run` with `want` after its id. */
static void expect_run(long stack, long run, const char *want)
{
    char path[64], at[64];
    const char *p;
    resp r;

    snprintf(path, sizeof path, "/blockstacks/%ld/runs?pagesize=100", stack);
    request(&r, "GET", path, A, NULL);
    snprintf(at, sizeof at, "{\"id\":%ld,", run);
    if (r.status != 200 || !(p = strstr(r.body, at)) || !strstr(p, want) ||
        (strchr(p, '}') && strstr(p, want) > strchr(p, '}')))
        fail_msg("GET %s: no run %ld with %s in %ld %s", path, run, want, r.status, r.body);
    resp_free(&r);
}

/* How many runs the stack's history (as alice) holds. */
static long run_count(long stack)
{
    char path[64];
    const char *p;
    long n;
    resp r;

    snprintf(path, sizeof path, "/blockstacks/%ld/runs", stack);
    request(&r, "GET", path, A, NULL);
    if (r.status != 200 || !(p = strstr(r.body, "{\"count\":")))
        fail_msg("GET %s: %ld %s", path, r.status, r.body);
    n = strtol(p + 9, NULL, 10);
    resp_free(&r);
    return n;
}

static void test_a_public_hook_runs_for_anyone_with_the_request_as_input(void **state)
{
    (void)state;
    char path[256];
    call c;

    /* Bob's cookie rides along: the run must not see it. */
    snprintf(path, sizeof path, "/blockstacks/hook/%ld?a=1&b=x&b=y%%20z&c=1+2&e", pub);
    memset(&c, 0, sizeof c);
    c.s = &srv;
    c.method = "GET";
    c.path = path;
    c.auth = "C:0123456789abcdef";
    c.extra = "X-Thing: yes";
    perform(&c);
    HOOK_EXPECT(&c, 200, "{\"status\":0,\"result\":{\"GET\":{\"a\":\"1\",\"b\":[\"x\",\"y z\"],"
                         "\"c\":\"1 2\",\"e\":\"\"},\"POST\":{},\"JSON\":{},\"HEADERS\":{");
    HOOK_EXPECT(&c, 200, "\"X-Thing\":\"yes\"");
    HOOK_EXPECT(&c, 200, "\"Host\":\"127.0.0.1:");
    assert_null(strstr(c.body_out, "Cookie"));
    assert_null(strstr(c.body_out, "0123456789abcdef"));
    expect_run(pub, run_of(&c), "\"job\":null,");
    expect_run(pub, run_of(&c), "\"trigger\":\"hook\",\"state\":\"succeeded\"");

    /* Bare names only: each takes room for its name alone (the decoding once overran its
     * buffer here, which the ASan build shows). */
    snprintf(path, sizeof path, "/blockstacks/hook/%ld?p&q&r&s&t&u&v&w", pub);
    hook(&c, "GET", path, NULL, NULL, NULL);
    HOOK_EXPECT(&c, 200, "\"GET\":{\"p\":\"\",\"q\":\"\",\"r\":\"\",\"s\":\"\",\"t\":\"\","
                         "\"u\":\"\",\"v\":\"\",\"w\":\"\"}");

    /* Without any session at all, too; credentials for a proxy stay here, as the session's do
     * (they were handed to the run). */
    snprintf(path, sizeof path, "/blockstacks/hook/%ld", pub);
    hook_with(&c, "GET", path, NULL, "proxy-authorization: Basic c2VjcmV0OnB3");
    HOOK_EXPECT(&c, 200, "{\"status\":0,\"result\":{\"GET\":{},\"POST\":{},\"JSON\":{},");
    assert_null(strcasestr(c.body_out, "Proxy-Authorization"));
    assert_null(strstr(c.body_out, "c2VjcmV0OnB3"));
    /* The other method, and the Kragle profile's path. */
    hook(&c, "POST", path, NULL, NULL, "{}");
    HOOK_EXPECT(&c, 405, "\"code\":102");
    assert_non_null(strstr(c.headers, "Allow: GET\r\n"));
    hook(&c, "PUT", path, NULL, NULL, "{}");
    HOOK_EXPECT(&c, 405, "\"code\":102");
    snprintf(path, sizeof path, "/api/v1/blockstacks/hook/%ld?q=1", pub);
    hook(&c, "GET", path, NULL, NULL, NULL);
    HOOK_EXPECT(&c, 200, "{\"status\":0,\"result\":{\"GET\":{\"q\":\"1\"}");

    /* Its history is the owner's: bob's session does not see it. */
    resp r;
    snprintf(path, sizeof path, "/blockstacks/%ld/runs", pub);
    request(&r, "GET", path, B, NULL);
    EXPECT(&r, 400, "\"code\":24");
    resp_free(&r);
    request(&r, "GET", path, NULL, NULL);
    EXPECT(&r, 401, "\"code\":100");
    resp_free(&r);
    request(&r, "GET", path, A, NULL);
    EXPECT(&r, 200, "{\"count\":4,\"pagesize\":10,\"page\":1,\"runs\":[{"); /* not the 405s */
    resp_free(&r);

    /* Hook runs are delivered by the request, not by a tick, and counted all the same. */
    request_plain(&r, &srv, "GET", "/metrics");
    assert_int_equal(r.status, 200);
    const char *m = strstr(r.body, "jobs_runs_delivered_total{trigger=\"hook\"} ");
    assert_non_null(m);
    assert_true(strtoull(m + strlen("jobs_runs_delivered_total{trigger=\"hook\"} "), NULL, 10) >=
                4);
    resp_free(&r);
}

static void test_a_token_hook_needs_its_token_and_reads_json_and_form_bodies(void **state)
{
    (void)state;
    char path[256];
    call c;

    snprintf(path, sizeof path, "/blockstacks/hook/%ld", tok);
    hook(&c, "POST", path, A, NULL, "{\"k\":[1,2]}"); /* a session is no token */
    HOOK_EXPECT(&c, 403, "\"code\":133");
    snprintf(path, sizeof path, "/blockstacks/hook/%ld?token=%032d", tok, 7);
    hook(&c, "POST", path, NULL, NULL, "{\"k\":[1,2]}");
    HOOK_EXPECT(&c, 403, "\"code\":133");
    /* The other method without the token is refused for the token too: a 405 named the
     * webhook's method to a caller without it. */
    hook(&c, "GET", path, NULL, NULL, NULL);
    HOOK_EXPECT(&c, 403, "\"code\":133");
    assert_null(strstr(c.headers, "Allow:"));
    snprintf(path, sizeof path, "/blockstacks/hook/%ld?token=%s", tok, token);
    hook(&c, "GET", path, NULL, NULL, NULL);
    HOOK_EXPECT(&c, 405, "\"code\":102");
    assert_non_null(strstr(c.headers, "Allow: POST\r\n"));

    hook(&c, "POST", path, NULL, "application/json", " {\"k\": [1, 2]}\n");
    HOOK_EXPECT(&c, 200, "\"POST\":{},\"JSON\":{\"k\": [1, 2]},\"HEADERS\":{");
    HOOK_EXPECT(&c, 200, "\"Content-Type\":\"application/json\"");
    expect_run(tok, run_of(&c), "\"trigger\":\"hook\",\"state\":\"succeeded\"");

    hook(&c, "POST", path, NULL, "application/x-www-form-urlencoded", "x=1&x=2&y=%26+%2B");
    HOOK_EXPECT(&c, 200, "\"POST\":{\"x\":[\"1\",\"2\"],\"y\":\"& +\"},\"JSON\":{},");
    /* Bodies that are neither are refused, and so is a body that is not JSON. */
    hook(&c, "POST", path, NULL, "text/plain", "hello");
    HOOK_EXPECT(&c, 415, "\"code\":115");
    hook(&c, "POST", path, NULL, "application/json", "{\"k\":");
    HOOK_EXPECT(&c, 400, "\"code\":2");
    hook(&c, "POST", path, NULL, "application/x-www-form-urlencoded", "x=%zz");
    HOOK_EXPECT(&c, 400, "\"code\":1");

    /* A JSON body is checked as every body is: one object, no key given twice (in any of its
     * objects), else 400, fault 4, and no run is made. */
    long before = run_count(tok);
    static const char *const bad[] = {"null", "[1,2]", "\"text\"", "7", "{\"a\":1,\"a\":2}",
                                      "{\"x\":{\"b\":1,\"c\":2,\"b\":3}}",
                                      "{\"x\":[{\"b\":1},{\"c\":2,\"c\":2}]}"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        hook(&c, "POST", path, NULL, "application/json", bad[i]);
        HOOK_EXPECT(&c, 400, "\"code\":4");
    }
    hook(&c, "POST", path, NULL, "application/json", "{\"a\":1,\"a\":2}");
    HOOK_EXPECT(&c, 400, "{\"code\":4,\"msg\":\"duplicate key 'a' in the body\"}");
    hook(&c, "POST", path, NULL, "application/json", "[1,2]");
    HOOK_EXPECT(&c, 400, "{\"code\":4,\"msg\":\"the body must be a JSON object\"}");
    assert_int_equal(run_count(tok), before);
    /* The same key in two objects is no repeat. */
    hook(&c, "POST", path, NULL, "application/json",
         "{\"a\":{\"a\":1},\"b\":[{\"a\":2},{\"a\":3}]}");
    HOOK_EXPECT(&c, 200, "\"JSON\":{\"a\":{\"a\":1},\"b\":[{\"a\":2},{\"a\":3}]},");
    assert_int_equal(run_count(tok), before + 1);
}

static void test_token_refresh_replaces_the_token(void **state)
{
    (void)state;
    char path[256], fresh[64] = "";
    const char *t;
    call c;
    resp r;

    snprintf(path, sizeof path, "/blockstacks/hook/token_refresh/%ld", tok);
    request(&r, "GET", path, B, NULL);
    EXPECT(&r, 404, "\"code\":6");
    resp_free(&r);
    request(&r, "GET", path, NULL, NULL);
    EXPECT(&r, 401, "\"code\":100");
    resp_free(&r);
    request(&r, "POST", path, A, NULL);
    EXPECT(&r, 405, "\"code\":102");
    resp_free(&r);
    request(&r, "GET", path, A, NULL);
    EXPECT(&r, 200, "{\"token\":\"");
    t = strstr(r.body, "{\"token\":\"");
    assert_int_equal(sscanf(t + 10, "%32[0-9a-f]", fresh), 1);
    assert_int_equal(strlen(fresh), 32);
    assert_string_not_equal(fresh, token);
    resp_free(&r);

    /* The stack shows the new one to its owner. */
    snprintf(path, sizeof path, "/blockstacks/byid/%ld", tok);
    request(&r, "GET", path, A, NULL);
    assert_non_null(strstr(r.body, fresh));
    resp_free(&r);

    snprintf(path, sizeof path, "/blockstacks/hook/%ld?token=%s", tok, token);
    hook(&c, "POST", path, NULL, NULL, "{}");
    HOOK_EXPECT(&c, 403, "\"code\":133");
    snprintf(path, sizeof path, "/blockstacks/hook/%ld?token=%s", tok, fresh);
    hook(&c, "POST", path, NULL, NULL, "{}");
    HOOK_EXPECT(&c, 200, "{\"status\":0,");
    strcpy(token, fresh);

    /* A GET that changes something: not with the cookie from a page of another origin. */
    char cookie[160];
    snprintf(cookie, sizeof cookie, "C:%s", A + 2);
    snprintf(path, sizeof path, "/blockstacks/hook/token_refresh/%ld", tok);
    hook_with(&c, "GET", path, cookie, "Sec-Fetch-Site: same-site");
    HOOK_EXPECT(&c, 403, "\"code\":140");
    snprintf(path, sizeof path, "/blockstacks/hook/%ld?token=%s", tok, token);
    hook(&c, "POST", path, NULL, NULL, "{}");
    HOOK_EXPECT(&c, 200, "{\"status\":0,"); /* the token did not change */
    snprintf(path, sizeof path, "/blockstacks/hook/token_refresh/%ld", tok);
    hook_with(&c, "GET", path, cookie, "Sec-Fetch-Site: same-origin");
    HOOK_EXPECT(&c, 200, "{\"token\":\"");
    t = strstr(c.body_out, "{\"token\":\"");
    assert_int_equal(sscanf(t + 10, "%32[0-9a-f]", token), 1);

    /* Only a token webhook has a token. */
    snprintf(path, sizeof path, "/blockstacks/hook/token_refresh/%ld", pub);
    request(&r, "GET", path, A, NULL);
    EXPECT(&r, 409, "\"code\":131");
    resp_free(&r);
}

static void test_a_user_hook_is_its_owners_only(void **state)
{
    (void)state;
    char path[256];
    call c;

    snprintf(path, sizeof path, "/blockstacks/hook/%ld?who=me", usr);
    hook(&c, "GET", path, NULL, NULL, NULL);
    HOOK_EXPECT(&c, 401, "\"code\":100");
    hook(&c, "GET", path, B, NULL, NULL);
    HOOK_EXPECT(&c, 403, "\"code\":133");
    hook(&c, "POST", path, NULL, NULL, "{}"); /* the method is checked after the caller */
    HOOK_EXPECT(&c, 401, "\"code\":100");
    hook(&c, "POST", path, B, NULL, "{}");
    HOOK_EXPECT(&c, 403, "\"code\":133");
    hook(&c, "POST", path, A, NULL, "{}");
    HOOK_EXPECT(&c, 405, "\"code\":102");
    hook(&c, "GET", path, A, NULL, NULL);
    HOOK_EXPECT(&c, 200, "{\"status\":0,\"result\":{\"GET\":{\"who\":\"me\"}");
    assert_null(strstr(c.body_out, A + 2)); /* the bearer token stays with the server */
    expect_run(usr, run_of(&c), "\"trigger\":\"hook\",\"state\":\"succeeded\"");
    /* A session cookie works as well. */
    char cookie[160];
    snprintf(cookie, sizeof cookie, "C:%s", A + 2);
    hook(&c, "GET", path, cookie, NULL, NULL);
    HOOK_EXPECT(&c, 200, "{\"status\":0,");
    hook_with(&c, "GET", path, cookie, "Sec-Fetch-Site: same-origin");
    HOOK_EXPECT(&c, 200, "{\"status\":0,");
    /* ...but not from a page of another origin, the same site included (another port or a
     * sibling subdomain: its <img> gets the SameSite=Strict cookie): 140, nothing run */
    hook_with(&c, "GET", path, cookie, "Sec-Fetch-Site: same-site");
    HOOK_EXPECT(&c, 403, "\"code\":140");
    hook_with(&c, "GET", path, cookie, "Sec-Fetch-Site: cross-site");
    HOOK_EXPECT(&c, 403, "\"code\":140");
    hook_with(&c, "GET", path, cookie, "Origin: http://127.0.0.1:1");
    HOOK_EXPECT(&c, 403, "\"code\":140");
    /* a bearer token is no browser's doing */
    hook_with(&c, "GET", path, A, "Sec-Fetch-Site: same-site");
    HOOK_EXPECT(&c, 200, "{\"status\":0,");
}

/* GET /blockstacks/exec/<id>: the owner runs a stack whose webhook is null by hand. The run
 * (trigger manual, no job) reads the stack's blocks as a scheduled run does, and the answer is
 * {"success":<its output>} or {"error":...}, with the run's id, in a 200 either way. */
static void test_exec_runs_the_owners_stack_and_answers_its_output(void **state)
{
    (void)state;
    char path[96], cookie[170], body[160];
    long echo, failing, before;
    call c;

    echo = create_on(&srv, "/blockstacks", A,
                     "{\"name\":\"exec echo\",\"blocks\":[[\"Echo\",{\"k\":1}]]}");
    failing = create_on(&srv, "/blockstacks", A,
                        "{\"name\":\"exec fail\",\"blocks\":[{\"mode\":\"fail\"}]}");
    snprintf(path, sizeof path, "/blockstacks/exec/%ld", echo);
    hook(&c, "GET", path, A, NULL, NULL);
    HOOK_EXPECT(&c, 200, "{\"success\":[[\"Echo\",{\"k\":1}]],\"run\":");
    expect_run(echo, run_of(&c), "\"job\":null,");
    expect_run(echo, run_of(&c), "\"trigger\":\"manual\",\"state\":\"succeeded\"");
    /* The Kragle profile's path, and inline credentials instead of a session. */
    snprintf(path, sizeof path, "/api/v1/blockstacks/exec/%ld", echo);
    hook(&c, "GET", path, NULL, "application/json",
         "{\"auth\":{\"username\":\"alice\",\"password\":\"alice-pw\"}}");
    HOOK_EXPECT(&c, 200, "{\"success\":[[\"Echo\",{\"k\":1}]],\"run\":");
    expect_run(echo, run_of(&c), "\"trigger\":\"manual\",\"state\":\"succeeded\"");

    /* A failing run: its failure is in the body, with what it printed. */
    snprintf(path, sizeof path, "/blockstacks/exec/%ld", failing);
    hook(&c, "GET", path, A, NULL, NULL);
    HOOK_EXPECT(&c, 200, "{\"error\":\"exit status 3: broken: manual\",\"run\":");
    expect_run(failing, run_of(&c), "\"trigger\":\"manual\",\"state\":\"failed\"");

    /* Refused, and no run made: another user's stack is as one that does not exist (404),
     * no session is 401, a bad id 400, another method 405, a stack with a webhook 409 (it
     * runs through its hook), a cookie from a page of another origin 403. */
    before = run_count(echo);
    snprintf(path, sizeof path, "/blockstacks/exec/%ld", echo);
    hook(&c, "GET", path, B, NULL, NULL);
    HOOK_EXPECT(&c, 404, "{\"code\":6,");
    hook(&c, "GET", "/blockstacks/exec/999999", A, NULL, NULL);
    HOOK_EXPECT(&c, 404, "{\"code\":6,");
    hook(&c, "GET", path, NULL, NULL, NULL);
    HOOK_EXPECT(&c, 401, "{\"code\":100,");
    hook(&c, "GET", "/blockstacks/exec/abc", A, NULL, NULL);
    HOOK_EXPECT(&c, 400, "{\"code\":1,");
    hook(&c, "POST", path, A, "application/json", "{}");
    HOOK_EXPECT(&c, 405, "{\"code\":102,");
    assert_non_null(strstr(c.headers, "Allow: GET\r\n"));
    snprintf(cookie, sizeof cookie, "C:%s", A + 2);
    hook_with(&c, "GET", path, cookie, "Sec-Fetch-Site: cross-site");
    HOOK_EXPECT(&c, 403, "{\"code\":140,");
    hook_with(&c, "GET", path, cookie, "Origin: http://127.0.0.1:1");
    HOOK_EXPECT(&c, 403, "{\"code\":140,");
    assert_int_equal(run_count(echo), before);
    /* The same cookie from the server's own pages, or a script's, runs it. */
    hook_with(&c, "GET", path, cookie, "Sec-Fetch-Site: same-origin");
    HOOK_EXPECT(&c, 200, "{\"success\":");
    hook(&c, "GET", path, cookie, NULL, NULL);
    HOOK_EXPECT(&c, 200, "{\"success\":");
    assert_int_equal(run_count(echo), before + 2);

    before = run_count(usr);
    snprintf(path, sizeof path, "/blockstacks/exec/%ld", usr);
    hook(&c, "GET", path, A, NULL, NULL);
    snprintf(body, sizeof body,
             "{\"code\":141,\"msg\":\"stack %ld has a webhook: run it through "
             "/blockstacks/hook/%ld\"}",
             usr, usr);
    HOOK_EXPECT(&c, 409, body);
    assert_int_equal(run_count(usr), before);
}

static void test_no_webhook_no_stack_and_bad_ids_are_refused(void **state)
{
    (void)state;
    char path[256];
    call c;

    snprintf(path, sizeof path, "/blockstacks/hook/%ld", plain);
    hook(&c, "GET", path, A, NULL, NULL);
    HOOK_EXPECT(&c, 404, "\"code\":132");
    hook(&c, "GET", "/blockstacks/hook/999999", NULL, NULL, NULL);
    HOOK_EXPECT(&c, 404, "\"code\":132");
    hook(&c, "GET", "/blockstacks/hook/abc", NULL, NULL, NULL);
    HOOK_EXPECT(&c, 400, "\"code\":1");
    hook(&c, "GET", "/blockstacks/hook/token_refresh/abc", A, NULL, NULL);
    HOOK_EXPECT(&c, 400, "\"code\":1");
}

static void test_the_answer_is_the_output_or_the_failure(void **state)
{
    (void)state;
    char path[256];
    call c;

    snprintf(path, sizeof path, "/blockstacks/hook/%ld?mode=text", pub);
    hook(&c, "GET", path, NULL, NULL, NULL);
    HOOK_EXPECT(&c, 200, "{\"status\":0,\"result\":\"plain words\\n\",\"run\":");
    snprintf(path, sizeof path, "/blockstacks/hook/%ld?mode=fail", pub);
    hook(&c, "GET", path, NULL, NULL, NULL);
    HOOK_EXPECT(&c, 200, "{\"status\":1,\"err\":\"exit status 3: broken: hook\",\"run\":");
    expect_run(pub, run_of(&c), "\"trigger\":\"hook\",\"state\":\"failed\"");
    expect_run(pub, run_of(&c), "\"message\":\"exit status 3\"");
    /* A failed run that printed more than 64 KiB is a failure with the end of its output (it
     * was answered "the run succeeded, but its output is over 65536 bytes"); one that
     * succeeded so is answered that. */
    snprintf(path, sizeof path, "/blockstacks/hook/%ld?mode=bigfail", pub);
    hook(&c, "GET", path, NULL, NULL, NULL);
    HOOK_EXPECT(&c, 200, "{\"status\":1,\"err\":\"exit status 3: ");
    HOOK_EXPECT(&c, 200, "xxx\\nfatal: disk full\",\"run\":");
    /* The end of a failed run's output is its end, also past a NUL byte (as U+FFFD): it was
     * cut at the NUL, "exit status 3: junk". */
    snprintf(path, sizeof path, "/blockstacks/hook/%ld?mode=nulfail", pub);
    hook(&c, "GET", path, NULL, NULL, NULL);
    HOOK_EXPECT(&c, 200, "{\"status\":1,\"err\":\"exit status 3: junk\xEF\xBF\xBD"
                         "fatal: after a NUL\",\"run\":");
    snprintf(path, sizeof path, "/blockstacks/hook/%ld?mode=big", pub);
    hook(&c, "GET", path, NULL, NULL, NULL);
    HOOK_EXPECT(&c, 200, "{\"status\":1,\"err\":\"the run succeeded, but its output is over "
                         "65536 bytes\",\"run\":");
}

/* A child that writes more than a pipe holds before it reads an input larger than a pipe (a
 * hook's input is not bounded by one) ends: the runner reads its output while it waits to write
 * the input. It used to wait for the child to read while the child waited for it to read: the
 * run was killed at --run-timeout and recorded failed. */
static void test_a_child_that_writes_before_it_reads_a_big_input_ends(void **state)
{
    (void)state;
    static char body[66000], pad[9000];
    char path[256], flag[128];
    FILE *f;
    call c;

    snprintf(flag, sizeof flag, "%s/writefirst", srv.dir);
    assert_non_null(f = fopen(flag, "w"));
    fclose(f);
    memset(body, 'x', 65000);
    memcpy(body, "{\"pad\":\"", 8);
    strcpy(body + 64990, "\"}");
    strcpy(pad, "X-Pad: ");
    memset(pad + 7, 'p', 8000);
    pad[8007] = '\0';
    snprintf(path, sizeof path, "/blockstacks/hook/%ld?token=%s", tok, token);
    memset(&c, 0, sizeof c);
    c.s = &srv;
    c.method = "POST";
    c.path = path;
    c.type = "application/json";
    c.body = body;
    c.extra = pad;
    perform(&c);
    unlink(flag);
    HOOK_EXPECT(&c, 200, "{\"status\":1,\"err\":\"the run succeeded, but its output is over");
    expect_run(tok, run_of(&c), "\"trigger\":\"hook\",\"state\":\"succeeded\"");
}

/* How many started.* files the blocked runs left. */
static int started(void)
{
    DIR *d = opendir(srv.dir);
    struct dirent *e;
    int n = 0;

    if (!d)
        return 0;
    while ((e = readdir(d)))
        n += strncmp(e->d_name, "started.", 8) == 0;
    closedir(d);
    return n;
}

static void test_hooks_of_one_stack_are_throttled(void **state)
{
    (void)state;
    char path[256], release[128];
    pthread_t th[PER_STACK];
    call blocked[PER_STACK], c;
    time_t deadline = time(NULL) + 60;

    snprintf(path, sizeof path, "/blockstacks/hook/%ld?mode=block", pub);
    for (int i = 0; i < PER_STACK; i++) {
        memset(&blocked[i], 0, sizeof blocked[i]);
        blocked[i].s = &srv;
        blocked[i].method = "GET";
        blocked[i].path = path;
        assert_int_equal(pthread_create(&th[i], NULL, perform, &blocked[i]), 0);
    }
    while (started() < PER_STACK) {
        if (time(NULL) > deadline)
            fail_msg("only %d of the blocked runs started", started());
        usleep(100000);
    }
    /* Every place of this stack is taken: one more waits for none. */
    hook(&c, "GET", path, NULL, NULL, NULL);
    HOOK_EXPECT(&c, 429, "\"code\":134");
    assert_non_null(strstr(c.headers, "Retry-After: 1\r\n"));
    /* Another stack's hook is not held up (the runner has workers to spare: --max-running). */
    snprintf(path, sizeof path, "/blockstacks/hook/%ld", usr);
    hook(&c, "GET", path, A, NULL, NULL);
    HOOK_EXPECT(&c, 200, "{\"status\":0,");

    snprintf(release, sizeof release, "%s/release", srv.dir);
    FILE *f = fopen(release, "w");
    assert_non_null(f);
    fclose(f);
    for (int i = 0; i < PER_STACK; i++) {
        pthread_join(th[i], NULL);
        HOOK_EXPECT(&blocked[i], 200, "{\"status\":0,\"result\":{\"blocked\":true},\"run\":");
    }
    /* The places are free again. */
    snprintf(path, sizeof path, "/blockstacks/hook/%ld?mode=text", pub);
    hook(&c, "GET", path, NULL, NULL, NULL);
    HOOK_EXPECT(&c, 200, "{\"status\":0,");
}

/* Removes the marks of blocked runs (started.*) and the release file. */
static void clear_marks(void)
{
    DIR *d = opendir(srv.dir);
    struct dirent *e;
    char path[512];

    assert_non_null(d);
    while ((e = readdir(d)))
        if (strncmp(e->d_name, "started.", 8) == 0 || strcmp(e->d_name, "release") == 0) {
            snprintf(path, sizeof path, "%s/%s", srv.dir, e->d_name);
            unlink(path);
        }
    closedir(d);
}

/* Exec requests wait in the hooks' table, under its bounds: one more than may wait for one
 * stack is 429, fault 134, and makes no run. */
static void test_exec_requests_of_one_stack_are_throttled(void **state)
{
    (void)state;
    char path[96], release[128];
    pthread_t th[PER_STACK];
    call blocked[PER_STACK], c;
    time_t deadline = time(NULL) + 60;
    long stack, before;
    FILE *f;

    clear_marks();
    stack = create_on(&srv, "/blockstacks", A,
                      "{\"name\":\"exec block\",\"blocks\":[{\"mode\":\"block\"}]}");
    snprintf(path, sizeof path, "/blockstacks/exec/%ld", stack);
    for (int i = 0; i < PER_STACK; i++) {
        memset(&blocked[i], 0, sizeof blocked[i]);
        blocked[i].s = &srv;
        blocked[i].method = "GET";
        blocked[i].path = path;
        blocked[i].auth = A;
        assert_int_equal(pthread_create(&th[i], NULL, perform, &blocked[i]), 0);
    }
    while (started() < PER_STACK) {
        if (time(NULL) > deadline)
            fail_msg("only %d of the blocked runs started", started());
        usleep(100000);
    }
    before = run_count(stack);
    hook(&c, "GET", path, A, NULL, NULL);
    HOOK_EXPECT(&c, 429, "{\"code\":134,");
    assert_non_null(strstr(c.headers, "Retry-After: 1\r\n"));
    assert_int_equal(run_count(stack), before);

    snprintf(release, sizeof release, "%s/release", srv.dir);
    assert_non_null(f = fopen(release, "w"));
    fclose(f);
    for (int i = 0; i < PER_STACK; i++) {
        pthread_join(th[i], NULL);
        HOOK_EXPECT(&blocked[i], 200, "{\"success\":{\"blocked\":true},\"run\":");
    }
    clear_marks();
}

static void test_without_a_runner_a_hook_makes_no_run(void **state)
{
    (void)state;
    server s;
    char tokn[160], path[64];
    call c;
    resp r;

    memset(&s, 0, sizeof s);
    snprintf(s.dir, sizeof s.dir, "/tmp/jobs-hooks-none-XXXXXX");
    assert_non_null(mkdtemp(s.dir));
    assert_int_equal(add_user(s.dir, "alice", NULL, "alice-pw"), 0);
    assert_int_equal(start_server(&s, NULL), 0);
    strcpy(tokn, "B:");
    login_to(&s, tokn + 2, sizeof tokn - 2, "alice", "alice-pw");
    long stack = create_on(&s, "/blockstacks", tokn, "{\"name\":\"pub\",\"webhook\":\"public\"}");
    snprintf(path, sizeof path, "/blockstacks/hook/%ld", stack);
    memset(&c, 0, sizeof c);
    c.s = &s;
    c.method = "GET";
    c.path = path;
    perform(&c);
    HOOK_EXPECT(&c, 200, "{\"status\":1,\"err\":\"this server runs no command (--run-command): "
                         "the webhook cannot run\"}");
    snprintf(path, sizeof path, "/blockstacks/%ld/runs", stack);
    request_to(&r, &s, "GET", path, tokn, NULL, 0);
    EXPECT(&r, 200, "{\"count\":0,");
    resp_free(&r);
    /* Nor does exec of a stack without a webhook. */
    long plain_here = create_on(&s, "/blockstacks", tokn, "{\"name\":\"plain\"}");
    snprintf(path, sizeof path, "/blockstacks/exec/%ld", plain_here);
    c.auth = tokn;
    perform(&c);
    HOOK_EXPECT(&c, 200, "{\"error\":\"this server runs no command (--run-command): the stack "
                         "cannot run\"}");
    snprintf(path, sizeof path, "/blockstacks/%ld/runs", plain_here);
    request_to(&r, &s, "GET", path, tokn, NULL, 0);
    EXPECT(&r, 200, "{\"count\":0,");
    resp_free(&r);
    assert_int_equal(stop_server(&s), 0);
}

/* The run's input without its "run" id: what follows it is the same for the same request. */
static void strip_run(char *body)
{
    char *p = strstr(body, ",\"run\":");

    if (p)
        *p = '\0';
}

/* An absolute-form target (RFC 9112 3.2.2) naming another port, which civetweb leaves to
 * jobs-server's on_connection_close: the run reads the same request as for the origin form,
 * headers included (they were once left out: "HEADERS":{}). */
static void test_an_absolute_form_hook_gets_the_same_input(void **state)
{
    (void)state;
    char path[128], target[192];
    call origin, absolute;

    snprintf(path, sizeof path, "/blockstacks/hook/%ld?a=1&b=2", pub);
    memset(&origin, 0, sizeof origin);
    origin.s = &srv;
    origin.method = "GET";
    origin.path = path;
    origin.extra = "X-Thing: yes";
    absolute = origin;
    snprintf(target, sizeof target, "http://127.0.0.1:1%s", path);
    absolute.target = target;
    perform(&origin);
    perform(&absolute);
    HOOK_EXPECT(&origin, 200, "\"X-Thing\":\"yes\"");
    HOOK_EXPECT(&absolute, 200, "{\"status\":0,\"result\":{\"GET\":{\"a\":\"1\",\"b\":\"2\"},");
    HOOK_EXPECT(&absolute, 200, "\"X-Thing\":\"yes\"");
    assert_non_null(strstr(absolute.headers, "Connection: close\r\n"));
    strip_run(origin.body_out);
    strip_run(absolute.body_out);
    assert_string_equal(absolute.body_out, origin.body_out);

    /* A "user" hook: the owner's session counts in the absolute form too, and a browser's
     * request from another origin is refused there as in the origin form (140). */
    char cookie[170];
    snprintf(path, sizeof path, "/blockstacks/hook/%ld", usr);
    snprintf(target, sizeof target, "http://127.0.0.1:1%s", path);
    snprintf(cookie, sizeof cookie, "C:%s", A + 2);
    memset(&absolute, 0, sizeof absolute);
    absolute.s = &srv;
    absolute.method = "GET";
    absolute.path = path;
    absolute.target = target;
    absolute.auth = A;
    perform(&absolute);
    HOOK_EXPECT(&absolute, 200, "{\"status\":0,");
    absolute.auth = cookie;
    absolute.extra = "Origin: http://elsewhere.example";
    perform(&absolute);
    HOOK_EXPECT(&absolute, 403, "\"code\":140");
    absolute.extra = NULL;
    perform(&absolute);
    HOOK_EXPECT(&absolute, 200, "{\"status\":0,");
}

/* SIGTERM while a hook request waits for its run: the request answers status 1 at once (it
 * stops waiting before the server waits for its requests in flight), and the caller gets that
 * answer rather than a connection closed unanswered. */
static void test_a_waiting_hook_answers_when_the_server_stops(void **state)
{
    (void)state;
    server s;
    char cmd[128], tokn[160], path[96], release[128];
    pthread_t th, th_exec;
    call c, x;
    time_t deadline = time(NULL) + 60;
    int n, status;
    DIR *d;
    struct dirent *e;
    FILE *f;

    memset(&s, 0, sizeof s);
    snprintf(s.dir, sizeof s.dir, "/tmp/jobs-hooks-stop-XXXXXX");
    assert_non_null(mkdtemp(s.dir));
    write_script(s.dir, cmd, sizeof cmd);
    assert_int_equal(add_user(s.dir, "alice", NULL, "alice-pw"), 0);
    assert_int_equal(start_server(&s, (const char *[]){"--tick-interval", "1", "--run-command",
                                                       cmd, "--run-timeout", "60", NULL}),
                     0);
    strcpy(tokn, "B:");
    login_to(&s, tokn + 2, sizeof tokn - 2, "alice", "alice-pw");
    long stack = create_on(&s, "/blockstacks", tokn, "{\"name\":\"pub\",\"webhook\":\"public\"}");
    snprintf(path, sizeof path, "/blockstacks/hook/%ld?mode=block", stack);
    memset(&c, 0, sizeof c);
    c.s = &s;
    c.method = "GET";
    c.path = path;
    assert_int_equal(pthread_create(&th, NULL, perform, &c), 0);
    /* An exec request of a stack whose blocks ask the child to block, too. */
    long blocking = create_on(&s, "/blockstacks", tokn,
                              "{\"name\":\"blocking\",\"blocks\":[{\"mode\":\"block\"}]}");
    char exec_path[96];
    snprintf(exec_path, sizeof exec_path, "/blockstacks/exec/%ld", blocking);
    memset(&x, 0, sizeof x);
    x.s = &s;
    x.method = "GET";
    x.path = exec_path;
    x.auth = tokn;
    assert_int_equal(pthread_create(&th_exec, NULL, perform, &x), 0);
    /* Both runs' children have started: the requests wait for their runs. */
    for (n = 0; n < 2;) {
        n = 0;
        if (time(NULL) > deadline)
            fail_msg("the blocked run did not start");
        usleep(100000);
        assert_non_null(d = opendir(s.dir));
        while ((e = readdir(d)))
            n += strncmp(e->d_name, "started.", 8) == 0;
        closedir(d);
    }
    assert_int_equal(kill(s.pid, SIGTERM), 0);
    pthread_join(th, NULL);
    pthread_join(th_exec, NULL);
    /* Let the child end, so that the server's stop need not wait for its kill. */
    snprintf(release, sizeof release, "%s/release", s.dir);
    assert_non_null(f = fopen(release, "w"));
    fclose(f);
    /* Not "it may still end": the stop ends the run (docs/runs.md). */
    HOOK_EXPECT(&c, 200, "{\"status\":1,\"err\":\"the server is stopping, which ends the run "
                         "unless it ends first: see its history (run ");
    assert_non_null(strstr(c.headers, "Connection: close\r\n"));
    HOOK_EXPECT(&x, 200, "{\"error\":\"the server is stopping, which ends the run unless it "
                         "ends first: see its history (run ");
    assert_non_null(strstr(x.headers, "Connection: close\r\n"));
    assert_int_equal(waitpid(s.pid, &status, 0), s.pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    s.pid = 0;
    assert_int_equal(stop_server(&s), 0); /* its data directory (and schema) */
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s JOBS_SERVER\n", argv[0]);
        return 2;
    }
    server_bin = argv[1];
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_public_hook_runs_for_anyone_with_the_request_as_input),
        cmocka_unit_test(test_a_token_hook_needs_its_token_and_reads_json_and_form_bodies),
        cmocka_unit_test(test_token_refresh_replaces_the_token),
        cmocka_unit_test(test_a_user_hook_is_its_owners_only),
        cmocka_unit_test(test_no_webhook_no_stack_and_bad_ids_are_refused),
        cmocka_unit_test(test_the_answer_is_the_output_or_the_failure),
        cmocka_unit_test(test_exec_runs_the_owners_stack_and_answers_its_output),
        cmocka_unit_test(test_a_child_that_writes_before_it_reads_a_big_input_ends),
        cmocka_unit_test(test_hooks_of_one_stack_are_throttled),
        cmocka_unit_test(test_exec_requests_of_one_stack_are_throttled),
        cmocka_unit_test(test_without_a_runner_a_hook_makes_no_run),
        cmocka_unit_test(test_an_absolute_form_hook_gets_the_same_input),
        cmocka_unit_test(test_a_waiting_hook_answers_when_the_server_stops),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
