/* The rules of the HTTP API that take more than one request to see, end to end against the real
 * jobs-server: malformed requests leave the store as it was, one user never sees or touches
 * another's things, keep-alive (also with more connections than worker threads), the framing
 * limits of HTTP/1.1, and scheduler events observed through the API and standard output. */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "harness.h"

#define MAX_ID "9007199254740991" /* the largest id; never assigned in these tests */

static server srv;             /* the group's server, --tick-interval 1 */
static char A[160], B[160], C[160]; /* "B:<token>" of alice (user 1), bob (2), carol (3) */

static void request(resp *r, const char *method, const char *path, const char *auth,
                    const char *body)
{
    request_to(r, &srv, method, path, auth, body, body ? strlen(body) : 0);
}

static long create(const char *path, const char *auth, const char *body)
{
    return create_on(&srv, path, auth, body);
}

/* `s` with every `from` replaced by `to`, in a new string. */
static char *replace(const char *s, const char *from, const char *to)
{
    size_t fl = strlen(from), tl = strlen(to), n = 0;
    char *out, *o;

    for (const char *p = s; (p = strstr(p, from)) != NULL; p += fl)
        n++;
    out = malloc(strlen(s) + n * tl + 1);
    assert_non_null(out);
    for (o = out; *s;) {
        if (strncmp(s, from, fl) == 0) {
            memcpy(o, to, tl);
            o += tl;
            s += fl;
        } else {
            *o++ = *s++;
        }
    }
    *o = '\0';
    return out;
}

/* ---- fixtures ------------------------------------------------------------------------------ */

/* Made once, in this order, in the fresh store of the group's server, so the table below can
 * name them by id. Schedules 1..5 are the built-in public ones. */
enum {
    A_STACK = 1,    /* alice's private stack */
    B_STACK = 2,    /* bob's private stack */
    B_SCHEDULE = 6, /* bob's schedule */
    A_SCHEDULE = 7, /* alice's schedule, used by A_JOB */
    A_JOB = 1,      /* alice's inactive job "a-job" */
    A_ACTIVE = 2,   /* alice's active job "a-active" (hourly: not due during the tests) */
    B_JOB = 3       /* bob's job "b-job" */
};

static int group_setup(void **state)
{
    (void)state;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    snprintf(srv.dir, sizeof srv.dir, "/tmp/jobs-http-XXXXXX");
    if (!mkdtemp(srv.dir))
        return -1;
    if (add_user(srv.dir, "alice", NULL, "alice-pw") != 0 ||
        add_user(srv.dir, "bob", NULL, "bob-pw") != 0 ||
        add_user(srv.dir, "carol", NULL, "carol-pw") != 0 ||
        start_server(&srv, (const char *[]){"--tick-interval", "1", NULL}) != 0) {
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

static int fixtures(void **state)
{
    char tok[128];

    (void)state;
    if (A[0])
        return 0;
    login_to(&srv, tok, sizeof tok, "alice", "alice-pw");
    snprintf(A, sizeof A, "B:%s", tok);
    login_to(&srv, tok, sizeof tok, "bob", "bob-pw");
    snprintf(B, sizeof B, "B:%s", tok);
    login_to(&srv, tok, sizeof tok, "carol", "carol-pw");
    snprintf(C, sizeof C, "B:%s", tok);

    assert_int_equal(create("/blockstacks", A, "{\"name\":\"a-stack\"}"), A_STACK);
    assert_int_equal(create("/blockstacks", B, "{\"name\":\"b-stack\"}"), B_STACK);
    assert_int_equal(create("/schedules", B, "{\"name\":\"b-sched\",\"config\":{\"period\":120}}"),
                     B_SCHEDULE);
    assert_int_equal(create("/schedules", A, "{\"name\":\"a-sched\",\"config\":{\"period\":300}}"),
                     A_SCHEDULE);
    assert_int_equal(create("/jobs", A, "{\"name\":\"a-job\",\"stack_id\":1,\"schedule_id\":7}"),
                     A_JOB);
    assert_int_equal(create("/jobs", A, "{\"name\":\"a-active\",\"stack_id\":1,"
                                        "\"schedule_id\":4,\"enabled\":true}"),
                     A_ACTIVE);
    assert_int_equal(create("/jobs", B, "{\"name\":\"b-job\",\"stack_id\":2,\"schedule_id\":6}"),
                     B_JOB);
    return 0;
}

static const char *auth_of(char who)
{
    return who == 'A' ? A : who == 'B' ? B : NULL;
}

/* Everything alice, bob and an anonymous caller can read of the fixtures, as one string: the
 * lists and every fixture by id and by name, with status lines. Two snapshots are equal byte for
 * byte only if nothing the API shows has changed. */
static char *snapshot(void)
{
    static const struct {
        char who; /* 'A'lice, 'B'ob, or 0: anonymous */
        const char *path;
    } reads[] = {
        {0, "/schedules"},
        {'A', "/jobs"},          {'A', "/jobs?page=2"},       {'A', "/blockstacks"},
        {'A', "/schedules"},     {'A', "/jobs/byid/1"},       {'A', "/jobs/byid/2"},
        {'A', "/jobs/byname/a-job"}, {'A', "/blockstacks/byid/1"}, {'A', "/schedules/byid/7"},
        {'B', "/jobs"},          {'B', "/blockstacks"},       {'B', "/schedules"},
        {'B', "/jobs/byid/3"},   {'B', "/blockstacks/byid/2"}, {'B', "/schedules/byid/6"},
    };
    size_t len = 0;
    char *all = NULL;

    for (size_t i = 0; i < sizeof reads / sizeof *reads; i++) {
        char line[64];
        int n;
        resp r;

        request(&r, "GET", reads[i].path, auth_of(reads[i].who), NULL);
        n = snprintf(line, sizeof line, "\n%ld %s ", r.status, reads[i].path);
        all = realloc(all, len + (size_t)n + r.len + 1);
        assert_non_null(all);
        memcpy(all + len, line, (size_t)n);
        memcpy(all + len + (size_t)n, r.body, r.len);
        len += (size_t)n + r.len;
        all[len] = '\0';
        resp_free(&r);
    }
    return all;
}

/* ---- 1. malformed requests ----------------------------------------------------------------- */

/* Bodies too big or too deep to write out. */
enum gen { G_NONE, G_DEEP, G_DEEP_OPEN, G_MEGA, G_64K_SYNTAX, G_64K_PLUS1, G_LONG_NAME };

typedef struct bad_request {
    const char *method;
    const char *path;
    const char *body; /* NULL: none (or generated) */
    size_t len;       /* bytes of body, NULs and invalid UTF-8 included */
    enum gen gen;
    int status;
    int fault;
} bad_request;

#define ROW(m, p, b, st, f) {m, p, b, sizeof b - 1, G_NONE, st, f}
#define NOBODY(m, p, st, f) {m, p, NULL, 0, G_NONE, st, f}
#define GEN(m, p, g, st, f) {m, p, NULL, 0, g, st, f}

/* Every row is sent as alice. Alice has stack 1, schedule 7, jobs 1 ("a-job", schedule 7) and 2
 * ("a-active"); bob has stack 2, schedule 6 and job 3. Whether a float is an id follows
 * docs/json.md: the value counts, not the spelling, so 1.0 and 1e3 are the integers 1 and 1000
 * and get as far as the store (which has no stack 1000), while 1.5 and 1e300 are fault 4. */
static const bad_request bad_requests[] = {
    /* broken JSON */
    ROW("POST", "/jobs", "{\"stack_id\":1,", 400, 2),
    ROW("POST", "/jobs", "{\"stack_id\":1 \"schedule_id\":7}", 400, 2),
    ROW("POST", "/jobs", "{'stack_id':1,'schedule_id':7}", 400, 2),
    ROW("POST", "/blockstacks", "{\"name\":\"x\",}", 400, 2),
    ROW("PUT", "/jobs/1", "{\"name\":\"x\"", 400, 2),
    ROW("POST", "/jobs", "{\"stack_id\":01,\"schedule_id\":7}", 400, 2),
    ROW("POST", "/blockstacks", "{\"name\":\"x\\q\"}", 400, 2),
    /* wrong types */
    ROW("POST", "/jobs", "{\"stack_id\":\"1\",\"schedule_id\":7}", 400, 4),
    ROW("POST", "/jobs", "{\"stack_id\":1,\"schedule_id\":7,\"enabled\":1}", 400, 4),
    ROW("POST", "/jobs", "{\"stack_id\":1,\"schedule_id\":7,\"name\":5}", 400, 4),
    ROW("POST", "/jobs", "{\"stack_id\":[1],\"schedule_id\":7}", 400, 4),
    ROW("PUT", "/jobs/1", "{\"enabled\":null}", 400, 4),
    ROW("POST", "/blockstacks", "{\"name\":\"x\",\"public\":\"true\"}", 400, 4),
    ROW("POST", "/blockstacks", "{\"name\":null}", 400, 4),
    ROW("POST", "/schedules", "{\"config\":{\"period\":\"60\"}}", 400, 26),
    ROW("POST", "/schedules", "{\"config\":[60]}", 400, 26),
    /* floats */
    ROW("POST", "/jobs", "{\"stack_id\":1.5,\"schedule_id\":7}", 400, 4),
    ROW("POST", "/jobs", "{\"stack_id\":1e3,\"schedule_id\":7}", 400, 24),
    ROW("POST", "/jobs", "{\"stack_id\":1.0,\"schedule_id\":999}", 400, 25),
    ROW("PUT", "/jobs/1", "{\"schedule_id\":4.000000001}", 400, 4),
    ROW("POST", "/jobs", "{\"stack_id\":1e300,\"schedule_id\":7}", 400, 4),
    ROW("POST", "/schedules", "{\"config\":{\"period\":60.5}}", 400, 26),
    /* out of range: zero, negative, beyond 2^53-1 */
    ROW("POST", "/jobs", "{\"stack_id\":0,\"schedule_id\":7}", 400, 4),
    ROW("POST", "/jobs", "{\"stack_id\":-1,\"schedule_id\":7}", 400, 4),
    ROW("POST", "/jobs", "{\"stack_id\":9007199254740992,\"schedule_id\":7}", 400, 4),
    ROW("POST", "/jobs", "{\"stack_id\":18446744073709551617,\"schedule_id\":7}", 400, 4),
    ROW("POST", "/jobs", "{\"stack_id\":" MAX_ID ",\"schedule_id\":7}", 400, 24),
    ROW("POST", "/schedules", "{\"once\":true,\"config\":{\"timestamp\":9007199254740992}}", 400,
        26),
    ROW("POST", "/schedules", "{\"config\":{\"period\":59}}", 400, 26),
    /* nesting and size */
    GEN("POST", "/jobs", G_DEEP, 400, 4),
    GEN("POST", "/blockstacks", G_DEEP_OPEN, 400, 2), /* not JSON: fault 2 (issue 11) */
    GEN("POST", "/jobs", G_MEGA, 413, 103),
    GEN("POST", "/blockstacks", G_64K_SYNTAX, 400, 2),
    GEN("POST", "/blockstacks", G_64K_PLUS1, 413, 103),
    /* invalid UTF-8 */
    ROW("POST", "/blockstacks", "{\"name\":\"\xff\"}", 400, 2),
    ROW("POST", "/blockstacks", "{\"name\":\"\xc0\xaf\"}", 400, 2),
    ROW("POST", "/blockstacks", "{\"name\":\"\xed\xa0\x80\"}", 400, 2),
    ROW("POST", "/blockstacks", "{\"name\":\"\\ud800\"}", 400, 2),
    ROW("POST", "/blockstacks", "\xef\xbb\xbf{\"name\":\"bom\"}", 400, 2),
    /* names with NUL or control characters, and other bad names */
    ROW("POST", "/blockstacks", "{\"name\":\"a\\u0000b\"}", 400, 4),
    ROW("POST", "/jobs", "{\"name\":\"x\\u0000\",\"stack_id\":1,\"schedule_id\":7}", 400, 4),
    ROW("POST", "/blockstacks", "{\"name\":\"a\\u0001b\"}", 400, 4),
    ROW("POST", "/blockstacks", "{\"name\":\"a\\u007fb\"}", 400, 4),
    ROW("PUT", "/jobs/1", "{\"name\":\"tab\\there\"}", 400, 4),
    ROW("POST", "/blockstacks", "{\"name\":\"a\x01" "b\"}", 400, 2),
    ROW("POST", "/blockstacks", "{\"name\":\"a\0b\"}", 400, 2),
    ROW("POST", "/blockstacks", "{\"name\":\"\"}", 400, 4),
    GEN("POST", "/blockstacks", G_LONG_NAME, 400, 4),
    ROW("POST", "/authenticate", "{\"username\":\"alice\\u0000x\",\"password\":\"alice-pw\"}",
        400, 4),
    /* malformed percent-escapes and bad names in /jobs/byname/ */
    NOBODY("GET", "/jobs/byname/%", 400, 1),
    NOBODY("GET", "/jobs/byname/%G1", 400, 1),
    NOBODY("GET", "/jobs/byname/%2", 400, 1),
    NOBODY("GET", "/jobs/byname/a%00b", 400, 1),
    NOBODY("GET", "/jobs/byname/%FF", 400, 1),
    NOBODY("GET", "/jobs/byname/%7F", 400, 1),
    NOBODY("GET", "/jobs/byname/", 400, 1),
    /* ids in paths */
    NOBODY("GET", "/jobs/byid/0", 400, 1),
    NOBODY("GET", "/jobs/byid/-1", 400, 1),
    NOBODY("GET", "/jobs/byid/99999999999999999999", 400, 1),
    NOBODY("GET", "/jobs/byid/9007199254740992", 400, 1),
    NOBODY("GET", "/jobs/byid/1.0", 400, 1),
    NOBODY("GET", "/jobs/byid/0x1", 400, 1),
    NOBODY("GET", "/jobs/byid/", 400, 1),
    ROW("PUT", "/jobs/0", "{}", 400, 1),
    NOBODY("DELETE", "/jobs/-1", 400, 1),
    NOBODY("DELETE", "/jobs/18446744073709551617", 400, 1),
    NOBODY("GET", "/blockstacks/byid/0", 400, 1),
    NOBODY("GET", "/schedules/byid/99999999999999999999", 400, 1),
    ROW("PUT", "/schedules/-7", "{}", 400, 1),
    /* page numbers */
    NOBODY("GET", "/jobs?page=0", 400, 1),
    NOBODY("GET", "/jobs?page=-1", 400, 1),
    NOBODY("GET", "/jobs?page=99999999999999999999", 400, 1),
    NOBODY("GET", "/jobs?page=abc", 400, 1),
    NOBODY("GET", "/jobs?page=", 400, 1),
    NOBODY("GET", "/jobs?page", 400, 1),
    NOBODY("GET", "/jobs?page=1e1", 400, 1),
    NOBODY("GET", "/blockstacks?page=1&page=2", 400, 1),
    /* names are percent-decoded as values are: p%61ge is page, pagesiz%65 pagesize */
    NOBODY("GET", "/blockstacks?page=1&p%61ge=2", 400, 1),
    NOBODY("GET", "/jobs?%70%61%67%65=1&page=1", 400, 1),
    NOBODY("GET", "/jobs?p%61ge=0", 400, 1),
    NOBODY("GET", "/jobs?p%61ge", 400, 1),
    NOBODY("GET", "/schedules?pagesiz%65=101", 400, 1),
    NOBODY("GET", "/schedules?page=%zz", 400, 1),
    /* duplicate and unknown keys */
    ROW("POST", "/jobs", "{\"stack_id\":1,\"stack_id\":1,\"schedule_id\":7}", 400, 4),
    ROW("POST", "/blockstacks", "{\"name\":\"a\",\"\\u006eame\":\"b\"}", 400, 4),
    ROW("POST", "/jobs", "{\"stack_id\":1,\"schedule_id\":7,\"owner\":2}", 400, 4),
    ROW("PUT", "/jobs/1", "{\"do_del\":true}", 400, 4),
    ROW("POST", "/schedules", "{\"config\":{\"period\":60},\"id\":99}", 400, 4),
    ROW("PUT", "/schedules/7", "{\"config\":{\"period\":60,\"timestamp\":5}}", 400, 26),
    /* bodies that are not objects, or empty */
    ROW("POST", "/jobs", "[]", 400, 4),
    ROW("POST", "/jobs", "\"x\"", 400, 4),
    ROW("POST", "/jobs", "1", 400, 4),
    ROW("POST", "/jobs", "null", 400, 4),
    ROW("PUT", "/jobs/1", "true", 400, 4),
    ROW("POST", "/jobs", "", 400, 2),
    ROW("POST", "/blockstacks", " \r\n\t", 400, 2),
    ROW("PUT", "/jobs/1", "", 400, 2),
    /* trailing garbage */
    ROW("POST", "/blockstacks", "{\"name\":\"x\"} x", 400, 2),
    ROW("POST", "/blockstacks", "{\"name\":\"x\"}{}", 400, 2),
    ROW("POST", "/blockstacks", "{\"name\":\"x\"}\0", 400, 2),
    /* missing, or someone else's, stacks and schedules; other refusals by the rules */
    ROW("POST", "/jobs", "{\"stack_id\":999,\"schedule_id\":7}", 400, 24),
    ROW("POST", "/jobs", "{\"stack_id\":2,\"schedule_id\":7}", 400, 24),
    ROW("POST", "/jobs", "{\"stack_id\":1,\"schedule_id\":999}", 400, 25),
    ROW("POST", "/jobs", "{\"stack_id\":1,\"schedule_id\":6}", 400, 25),
    ROW("PUT", "/jobs/1", "{\"stack_id\":2}", 400, 24),
    ROW("PUT", "/jobs/1", "{\"schedule_id\":6}", 400, 25),
    ROW("PUT", "/jobs/1", "{\"stack_id\":999,\"name\":\"renamed\"}", 400, 24),
    ROW("PUT", "/jobs/3", "{\"name\":\"mine now\"}", 404, 6),
    NOBODY("DELETE", "/jobs/3", 404, 6),
    ROW("PUT", "/schedules/6", "{\"name\":\"mine now\"}", 404, 6),
    ROW("PUT", "/jobs/1", "{\"name\":\"a-active\"}", 409, 12),
    ROW("PUT", "/schedules/7", "{\"config\":{\"period\":600}}", 409, 27),
};

/* The body of a generated row, in a new buffer. */
static char *generate(size_t *len, enum gen g)
{
    size_t n = g == G_MEGA ? 1024 * 1024 : g == G_64K_SYNTAX ? 65536 : g == G_64K_PLUS1 ? 65537
             : 8192;
    char *b = malloc(n + 1);
    size_t o = 0;

    assert_non_null(b);
    switch (g) {
    case G_DEEP: /* {"name":[[[...]]]} 2,000 deep */
        o = (size_t)sprintf(b, "{\"name\":");
        memset(b + o, '[', 2000);
        memset(b + o + 2000, ']', 2000);
        o += 4000;
        b[o++] = '}';
        break;
    case G_DEEP_OPEN: /* 2,000 opening brackets and nothing else */
        memset(b, '[', 2000);
        o = 2000;
        break;
    case G_LONG_NAME: /* a 256-byte name */
        o = (size_t)sprintf(b, "{\"name\":\"");
        memset(b + o, 'n', 256);
        o += 256;
        o += (size_t)sprintf(b + o, "\"}");
        break;
    default: /* a valid object padded with spaces to n bytes, but for G_64K_SYNTAX cut open */
        memset(b, ' ', n);
        memcpy(b, "{\"name\":\"big\"}", 14);
        if (g == G_64K_SYNTAX)
            b[13] = ' ';
        o = n;
        break;
    }
    b[o] = '\0';
    *len = o;
    return b;
}

static void test_malformed_requests_are_faults_and_change_nothing(void **state)
{
    char *before, *after;
    long id;

    (void)state;
    assert_true(sizeof bad_requests / sizeof *bad_requests >= 30);
    before = snapshot();
    for (size_t i = 0; i < sizeof bad_requests / sizeof *bad_requests; i++) {
        const bad_request *t = &bad_requests[i];
        char want[32], *gen = NULL;
        const char *body = t->body;
        size_t len = t->len;
        resp r;

        if (t->gen != G_NONE)
            body = gen = generate(&len, t->gen);
        request_to(&r, &srv, t->method, t->path, A, body, len);
        snprintf(want, sizeof want, "{\"code\":%d,\"msg\":\"", t->fault);
        if (r.status != t->status || strncmp(r.body, want, strlen(want)) != 0)
            fail_msg("row %zu: %s %s %.60s: expected %d with %s, got %ld %s", i, t->method,
                     t->path, body ? body : "", t->status, want, r.status, r.body);
        resp_free(&r);
        free(gen);
    }
    after = snapshot();
    assert_string_equal(before, after);
    free(before);
    free(after);
    /* Not even an id was used up: the next stack gets the next number. */
    id = create("/blockstacks", C, "{\"name\":\"after the table\"}");
    assert_int_equal(id, B_STACK + 1);
}

/* ---- 2. isolation -------------------------------------------------------------------------- */

/* A request about another user's thing (`theirs`) must be answered exactly like the same request
 * about one that never existed (`never`): same status, same headers but Content-Length, and the
 * same body once `never` is written as `theirs`. */
/* Removes the header line that starts with `name` from a header block. */
static void drop_header(char *headers, const char *name)
{
    char *p = strstr(headers, name), *end;

    if (p && (end = strstr(p, "\r\n")) != NULL)
        memmove(p, end + 2, strlen(end + 2) + 1);
}

static void like_missing(const char *method, const char *pattern, const char *auth,
                         const char *body_pattern, const char *theirs, const char *never)
{
    char *path_t = replace(pattern, "@", theirs), *path_n = replace(pattern, "@", never);
    char *body_t = body_pattern ? replace(body_pattern, "@", theirs) : NULL;
    char *body_n = body_pattern ? replace(body_pattern, "@", never) : NULL;
    char *want_body;
    resp t, n;

    request(&t, method, path_t, auth, body_t);
    request(&n, method, path_n, auth, body_n);
    want_body = replace(n.body, never, theirs);
    if (t.status != n.status || strcmp(t.body, want_body) != 0)
        fail_msg("%s %s %s: answered %ld %s; a missing one: %ld %s", method, path_t,
                 body_t ? body_t : "", t.status, t.body, n.status, n.body);
    assert_true(t.status >= 400);
    /* The headers alike too, Content-Length aside (the ids differ in length) and Date (the
     * two answers may fall in different seconds: it failed so under ThreadSanitizer). */
    drop_header(t.headers, "Content-Length: ");
    drop_header(n.headers, "Content-Length: ");
    drop_header(t.headers, "Date: ");
    drop_header(n.headers, "Date: ");
    assert_string_equal(t.headers, n.headers);
    resp_free(&t);
    resp_free(&n);
    free(want_body);
    free(path_t);
    free(path_n);
    free(body_t);
    free(body_n);
}

/* The body of a GET that must succeed; the caller frees it. */
static char *read_as(const char *auth, const char *path)
{
    resp r;

    request(&r, "GET", path, auth, NULL);
    if (r.status != 200)
        fail_msg("GET %s: %ld %s", path, r.status, r.body);
    return r.body;
}

static void test_other_users_things_answer_like_missing_ones(void **state)
{
    static const char *const lists[] = {"/jobs", "/blockstacks", "/schedules"};
    char *bob_before[3], body[256], job[24], active[24], stack[24], sched[24], path[64];
    char *alice_before[5], *anon_before;
    long j, ja, s, sc, bj;

    (void)state;
    snprintf(body, sizeof body, "{\"stack_id\":%d,\"schedule_id\":6}", B_STACK);
    bj = create("/jobs", B, body); /* bob's own job, to update */
    for (size_t i = 0; i < 3; i++)
        bob_before[i] = read_as(B, lists[i]);
    anon_before = read_as(NULL, "/schedules");

    /* alice's private things: a stack, a schedule, an inactive job and an active one */
    s = create("/blockstacks", A, "{\"name\":\"iso-stack\"}");
    sc = create("/schedules", A, "{\"name\":\"iso-sched\",\"config\":{\"period\":3600}}");
    snprintf(body, sizeof body, "{\"name\":\"iso-secret\",\"stack_id\":%ld,\"schedule_id\":%ld}",
             s, sc);
    j = create("/jobs", A, body);
    snprintf(body, sizeof body,
             "{\"name\":\"iso-active\",\"stack_id\":%ld,\"schedule_id\":5,\"enabled\":true}", s);
    ja = create("/jobs", A, body);
    snprintf(job, sizeof job, "%ld", j);
    snprintf(active, sizeof active, "%ld", ja);
    snprintf(stack, sizeof stack, "%ld", s);
    snprintf(sched, sizeof sched, "%ld", sc);

    snprintf(path, sizeof path, "/jobs/byid/%ld", j);
    alice_before[0] = read_as(A, path);
    snprintf(path, sizeof path, "/jobs/byid/%ld", ja);
    alice_before[1] = read_as(A, path);
    snprintf(path, sizeof path, "/blockstacks/byid/%ld", s);
    alice_before[2] = read_as(A, path);
    snprintf(path, sizeof path, "/schedules/byid/%ld", sc);
    alice_before[3] = read_as(A, path);
    alice_before[4] = read_as(A, "/jobs");

    /* every route that takes an id or a name */
    like_missing("GET", "/jobs/byid/@", B, NULL, job, MAX_ID);
    like_missing("GET", "/jobs/byid/@", B, NULL, active, MAX_ID);
    like_missing("GET", "/jobs/byname/@", B, NULL, "iso-secret", "never-such-name");
    like_missing("GET", "/jobs/byname/@", B, NULL, "iso-active", "never-such-name");
    like_missing("PUT", "/jobs/@", B, "{\"name\":\"stolen\"}", job, MAX_ID);
    like_missing("PUT", "/jobs/@", B, "{\"enabled\":true}", job, MAX_ID);
    like_missing("PUT", "/jobs/@", B, "{}", active, MAX_ID);
    like_missing("DELETE", "/jobs/@", B, NULL, job, MAX_ID);
    like_missing("DELETE", "/jobs/@", B, NULL, active, MAX_ID);
    like_missing("GET", "/blockstacks/byid/@", B, NULL, stack, MAX_ID);
    like_missing("GET", "/schedules/byid/@", B, NULL, sched, MAX_ID);
    like_missing("GET", "/schedules/byid/@", NULL, NULL, sched, MAX_ID);
    like_missing("PUT", "/schedules/@", B, "{\"name\":\"stolen\"}", sched, MAX_ID);
    like_missing("PUT", "/schedules/@", B, "{\"config\":{\"period\":60}}", sched, MAX_ID);
    like_missing("DELETE", "/schedules/@", B, NULL, sched, MAX_ID);
    /* referring to alice's stack or schedule, in a create and in an update */
    like_missing("POST", "/jobs", B, "{\"stack_id\":@,\"schedule_id\":6}", stack, MAX_ID);
    like_missing("POST", "/jobs", B, "{\"stack_id\":2,\"schedule_id\":@}", sched, MAX_ID);
    snprintf(path, sizeof path, "/jobs/%ld", bj);
    like_missing("PUT", path, B, "{\"stack_id\":@}", stack, MAX_ID);
    like_missing("PUT", path, B, "{\"schedule_id\":@}", sched, MAX_ID);

    /* The same once alice's active job is queued for deletion. */
    snprintf(path, sizeof path, "/jobs/%ld", ja);
    {
        resp r;
        request(&r, "DELETE", path, A, NULL);
        EXPECT(&r, 200, "{\"queued_for_deletion\":");
        resp_free(&r);
    }
    like_missing("GET", "/jobs/byid/@", B, NULL, active, MAX_ID);
    like_missing("DELETE", "/jobs/@", B, NULL, active, MAX_ID);
    like_missing("PUT", "/jobs/@", B, "{\"enabled\":false}", active, MAX_ID);

    /* bob's lists show nothing of alice's: byte for byte what they were */
    for (size_t i = 0; i < 3; i++) {
        char *now = read_as(B, lists[i]);
        assert_string_equal(bob_before[i], now);
        free(now);
        free(bob_before[i]);
    }
    {
        char *now = read_as(NULL, "/schedules");
        assert_string_equal(anon_before, now);
        free(now);
        free(anon_before);
    }

    /* alice's things are as they were (the active one is now queued, by alice herself) */
    {
        static const char *const kinds[] = {"/jobs/byid/", "/jobs/byid/", "/blockstacks/byid/",
                                            "/schedules/byid/"};
        const long ids[] = {j, ja, s, sc};
        char *queued = replace(alice_before[1], "\"do_del\":false", "\"do_del\":true");
        char *list = replace(alice_before[4], alice_before[1], queued), *now;

        for (size_t i = 0; i < 4; i++) {
            snprintf(path, sizeof path, "%s%ld", kinds[i], ids[i]);
            now = read_as(A, path);
            assert_string_equal(i == 1 ? queued : alice_before[i], now);
            free(now);
        }
        now = read_as(A, "/jobs");
        assert_string_equal(list, now);
        free(now);
        free(list);
        free(queued);
    }
    for (size_t i = 0; i < 5; i++)
        free(alice_before[i]);
}

/* ---- 3. keep-alive ------------------------------------------------------------------------- */

typedef struct sink {
    char buf[4096];
    size_t len;
} sink;

static size_t to_sink(char *p, size_t size, size_t n, void *ud)
{
    sink *s = ud;
    size_t k = size * n;

    if (k > sizeof s->buf - 1 - s->len)
        k = sizeof s->buf - 1 - s->len;
    memcpy(s->buf + s->len, p, k);
    s->len += k;
    s->buf[s->len] = '\0';
    return size * n;
}

/* One easy handle; `body` NULL for none. Returns the status. */
static long perform(CURL *c, const char *method, const char *url, const char *auth,
                    const char *body, sink *out)
{
    struct curl_slist *h = NULL;
    char hdr[256];
    long status = 0;

    out->len = 0;
    out->buf[0] = '\0';
    curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, to_sink);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
    h = curl_slist_append(h, "Expect:");
    if (auth) {
        snprintf(hdr, sizeof hdr, "Authorization: Bearer %s", auth + 2);
        h = curl_slist_append(h, hdr);
    }
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
        h = curl_slist_append(h, "Content-Type: application/json"); /* else a form's type: 415 */
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
    curl_slist_free_all(h);
    return status;
}

static void test_keep_alive_serves_many_requests_on_one_connection(void **state)
{
    static const struct {
        const char *method, *path, *body;
        long status;
        bool auth;
    } seq[] = {
        {"GET", "/jobs", NULL, 200, true},
        {"GET", "/schedules/byid/1", NULL, 200, false},
        {"POST", "/schedules", "{\"name\":\"kept alive\",\"config\":{\"period\":600}}", 201,
         true},
        {"GET", "/jobs/byid/" MAX_ID, NULL, 404, true},
        {"GET", "/jobs?page=abc", NULL, 400, true},
        {"POST", "/jobs", "{\"stack_id\":", 400, true},
        {"DELETE", "/schedules", NULL, 405, true},
        {"GET", "/nowhere", NULL, 404, true},
        {"GET", "/jobs", NULL, 401, false},
        {"PUT", "/jobs/1", "{}", 200, true},
        {"GET", "/blockstacks?page=1", NULL, 200, true},
        {"GET", "/jobs/byname/a-job", NULL, 200, true},
    };
    CURL *c = curl_easy_init();
    long port0 = 0;
    char url[256];
    sink out;

    (void)state;
    assert_non_null(c);
    for (int i = 0; i < 26; i++) {
        size_t k = (size_t)i % (sizeof seq / sizeof *seq);
        long status, connects = -1, port = -1;

        snprintf(url, sizeof url, "http://127.0.0.1:%d%s", srv.port, seq[k].path);
        status = perform(c, seq[k].method, url, seq[k].auth ? A : NULL, seq[k].body, &out);
        if (status != seq[k].status)
            fail_msg("request %d, %s %s: %ld %s", i, seq[k].method, seq[k].path, status, out.buf);
        curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &connects);
        curl_easy_getinfo(c, CURLINFO_LOCAL_PORT, &port);
        if (i == 0) {
            assert_int_equal(connects, 1);
            port0 = port;
        } else if (connects != 0 || port != port0) {
            fail_msg("request %d (%s %s, %ld) opened a new connection (%ld, port %ld, was %ld)", i,
                     seq[k].method, seq[k].path, status, connects, port, port0);
        }
    }
    curl_easy_cleanup(c);
}

#define CLIENTS 6
#define ROUNDS 3

typedef struct client {
    int port;
    pthread_barrier_t *all_connected;
    long status[ROUNDS];
} client;

/* One request, then holds its keep-alive connection open until every client has had its first
 * answer, then ROUNDS-1 more. */
static void *client_main(void *arg)
{
    client *cl = arg;
    CURL *c = curl_easy_init();
    char url[128];
    sink out;

    snprintf(url, sizeof url, "http://127.0.0.1:%d/schedules", cl->port);
    for (int i = 0; i < ROUNDS; i++) {
        cl->status[i] = c ? perform(c, "GET", url, NULL, NULL, &out) : -1;
        if (i == 0)
            pthread_barrier_wait(cl->all_connected);
    }
    curl_easy_cleanup(c);
    return NULL;
}

/* civetweb gives each connection a worker thread for as long as it is open, also while it idles
 * between keep-alive requests. With 2 workers and 6 clients that keep their connections, clients
 * 3..6 wait until an idle connection reaches the keep-alive timeout (5 s, server.c) and the server
 * closes it: everyone is served, in about (6/2 - 1) * 5 s = 10 s. Only the generous bound is
 * asserted, not the speed. */
static void test_more_keep_alive_clients_than_threads_are_all_served(void **state)
{
    pthread_barrier_t barrier;
    pthread_t tid[CLIENTS];
    client cl[CLIENTS];
    struct timespec t0, t1;
    server s;

    (void)state;
    memset(&s, 0, sizeof s);
    assert_int_equal(start_server(&s, (const char *[]){"--threads", "2", NULL}), 0);
    pthread_barrier_init(&barrier, NULL, CLIENTS);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 0; i < CLIENTS; i++) {
        cl[i].port = s.port;
        cl[i].all_connected = &barrier;
        assert_int_equal(pthread_create(&tid[i], NULL, client_main, &cl[i]), 0);
    }
    for (int i = 0; i < CLIENTS; i++)
        pthread_join(tid[i], NULL);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    pthread_barrier_destroy(&barrier);
    print_message("%d keep-alive clients on 2 threads served in %.1f s\n", CLIENTS,
                  (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
    for (int i = 0; i < CLIENTS; i++)
        for (int k = 0; k < ROUNDS; k++)
            if (cl[i].status[k] != 200)
                fail_msg("client %d, request %d: %ld", i, k, cl[i].status[k]);
    assert_true(t1.tv_sec - t0.tv_sec < 60);
    assert_int_equal(stop_server(&s), 0);
}

/* ---- 4. HTTP framing, on raw sockets ------------------------------------------------------- */

/* Sends `len` bytes to the server on a new connection, closes the sending side, and reads
 * everything until the server closes (or `timeout_s` passes: *closed is then false). */
static char *raw_exchange(size_t *out_len, bool *closed, const server *s, const char *data,
                          size_t len, int timeout_s)
{
    struct sockaddr_in sa;
    size_t cap = 65536, n = 0, sent = 0;
    char *buf = malloc(cap + 1);
    time_t until = time(NULL) + timeout_s;
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    assert_non_null(buf);
    assert_true(fd >= 0);
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)s->port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    *closed = false;
    /* Sends and reads together, so a server that answers early and stops reading (413) does not
     * leave us blocked in send(). */
    while (time(NULL) < until) {
        struct pollfd p = {fd, POLLIN | (sent < len ? POLLOUT : 0), 0};
        if (poll(&p, 1, 200) < 0 && errno != EINTR)
            break;
        if (p.revents & POLLOUT) {
            ssize_t k = send(fd, data + sent, len - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
            if (k > 0)
                sent += (size_t)k;
            else if (k < 0 && errno != EAGAIN && errno != EINTR)
                sent = len; /* the server is gone; keep reading what it said */
            if (sent == len)
                shutdown(fd, SHUT_WR);
        }
        if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
            ssize_t k;
            if (n == cap) {
                buf = realloc(buf, (cap *= 2) + 1);
                assert_non_null(buf);
            }
            k = recv(fd, buf + n, cap - n, MSG_DONTWAIT);
            if (k > 0) {
                n += (size_t)k;
            } else if (k == 0 || (errno != EAGAIN && errno != EINTR)) {
                *closed = true;
                break;
            }
        }
    }
    close(fd);
    buf[n] = '\0';
    *out_len = n;
    return buf;
}

typedef struct answer {
    int status;
    int fault;          /* -1 when the body is not a fault (or there is no body) */
    bool json;          /* Content-Type: application/json */
    bool close;         /* Connection: close */
} answer;

/* Parses the responses in buf[0..len); `head_first`: the first answers a HEAD (no body).
 * Returns how many, or -1 when the bytes are not a sequence of whole responses. */
static int parse_answers(answer *out, int max, const char *buf, size_t len, bool head_first)
{
    size_t at = 0;
    int n = 0;

    while (at < len && n < max) {
        const char *start = buf + at, *end = strstr(start, "\r\n\r\n"), *cl;
        size_t head_len, body_len = 0;
        answer *a = &out[n];
        char *head;

        if (!end || sscanf(start, "HTTP/1.1 %d ", &a->status) != 1)
            return -1;
        head_len = (size_t)(end - start) + 4;
        head = strndup(start, head_len);
        assert_non_null(head);
        cl = strcasestr(head, "\r\nContent-Length: ");
        if (cl)
            body_len = strtoul(cl + 18, NULL, 10);
        a->json = strcasestr(head, "\r\nContent-Type: application/json\r\n") != NULL;
        a->close = strcasestr(head, "\r\nConnection: close\r\n") != NULL;
        free(head);
        if (n == 0 && head_first)
            body_len = 0;
        if (at + head_len + body_len > len)
            return -1;
        a->fault = -1;
        if (body_len && sscanf(start + head_len, "{\"code\":%d,", &a->fault) != 1)
            a->fault = -1;
        at += head_len + body_len;
        n++;
    }
    return at == len ? n : -1;
}

#define GET_NEXT "GET /schedules/byid/1 HTTP/1.1\r\nHost: t\r\n\r\n"
#define POST_STACK "POST /blockstacks HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer "
#define POST_KRAGLE_STACK "POST /api/v1/blockstacks HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer "

typedef struct raw_case {
    const char *what;
    char *bytes;     /* built at run time: the token and big bodies go in */
    size_t len;
    bool head_first;
    int count;       /* answers expected, then the server must close */
    answer want[2];
} raw_case;

/* Appends printf output to a growing buffer. */
__attribute__((format(printf, 3, 4)))
static void cat(char **buf, size_t *len, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    *buf = realloc(*buf, *len + (size_t)n + 1);
    assert_non_null(*buf);
    va_start(ap, fmt);
    vsnprintf(*buf + *len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    *len += (size_t)n;
}

static void pad(char **buf, size_t *len, char c, size_t n)
{
    *buf = realloc(*buf, *len + n + 1);
    assert_non_null(*buf);
    memset(*buf + *len, c, n);
    *len += n;
    (*buf)[*len] = '\0';
}

/* Each case ends with a plain GET where it matters: it is answered only if the server kept the
 * connection open, so a missing answer proves the server closed it. */
static void test_http_framing_is_enforced(void **state)
{
    const char *tok = A + 2;
    raw_case cases[40];
    int nc = 0, failures = 0;
    char *before, *after;

    (void)state;
    memset(cases, 0, sizeof cases);
#define CASE(w, hf, cnt, s1, f1, c1, s2, f2)                                                   \
    (cases[nc].what = (w), cases[nc].head_first = (hf), cases[nc].count = (cnt),             \
     cases[nc].want[0] = (answer){(s1), (f1), true, (c1)},                                    \
     cases[nc].want[1] = (answer){(s2), (f2), true, false}, &cases[nc++])
    {
        raw_case *c = CASE("two pipelined GETs (keep-alive works)", false, 2, 200, -1, false,
                           200, -1);
        cat(&c->bytes, &c->len, "GET /schedules/byid/2 HTTP/1.1\r\nHost: t\r\n\r\n" GET_NEXT);
    }
    {
        /* RFC 9112 6.3: no Content-Length and no chunked means no body; the bytes after the
         * header block are the next request, which is garbage. */
        raw_case *c = CASE("POST without Content-Length or chunked", false, 2, 400, 2, false, 400,
                           108);
        cat(&c->bytes, &c->len, POST_STACK "%s\r\n\r\n{\"name\":\"no length\"}", tok);
        c->want[1].close = true;
    }
    {
        raw_case *c = CASE("Content-Length: 19abc", false, 1, 400, 108, true, 0, 0);
        cat(&c->bytes, &c->len, POST_STACK "%s\r\nContent-Length: 19abc\r\n\r\n"
                                "{\"name\":\"cl 19abc\"}" GET_NEXT, tok);
    }
    {
        raw_case *c = CASE("Content-Length: +19", false, 1, 400, 108, true, 0, 0);
        cat(&c->bytes, &c->len, POST_STACK "%s\r\nContent-Length: +19\r\n\r\n"
                                "{\"name\":\"cl plus19\"}" GET_NEXT, tok);
    }
    {
        raw_case *c = CASE("Content-Length: -1 (civetweb's own refusal)", false, 1, 400, 108, true,
                           0, 0);
        cat(&c->bytes, &c->len, POST_STACK "%s\r\nContent-Length: -1\r\n\r\n" GET_NEXT, tok);
    }
    {
        raw_case *c = CASE("two Content-Length headers", false, 1, 400, 108, true, 0, 0);
        cat(&c->bytes, &c->len, POST_STACK "%s\r\nContent-Length: 19\r\nContent-Length: 3\r\n\r\n"
                                "{\"name\":\"cl twice\"}" GET_NEXT, tok);
    }
    {
        raw_case *c = CASE("Transfer-Encoding: chunked and Content-Length", false, 1, 400, 108,
                           true, 0, 0);
        cat(&c->bytes, &c->len, POST_STACK "%s\r\nContent-Length: 5\r\n"
                                "Transfer-Encoding: chunked\r\n\r\n"
                                "13\r\n{\"name\":\"te and c\"}\r\n0\r\n\r\n" GET_NEXT, tok);
    }
    {
        raw_case *c = CASE("Transfer-Encoding: gzip (civetweb's own refusal)", false, 1, 400, 108,
                           true, 0, 0);
        cat(&c->bytes, &c->len, POST_STACK "%s\r\nTransfer-Encoding: gzip\r\n\r\n" GET_NEXT, tok);
    }
    {
        /* civetweb's own refusals follow the Kragle profile too: every fault there is a 500. */
        raw_case *c = CASE("Transfer-Encoding: gzip under /api/v1", false, 1, 500, 108, true,
                           0, 0);
        cat(&c->bytes, &c->len, POST_KRAGLE_STACK "%s\r\nTransfer-Encoding: gzip\r\n\r\n"
                                GET_NEXT, tok);
        c = CASE("Content-Length: -1 under /api/v1", false, 1, 500, 108, true, 0, 0);
        cat(&c->bytes, &c->len, POST_KRAGLE_STACK "%s\r\nContent-Length: -1\r\n\r\n" GET_NEXT,
            tok);
        c = CASE("Transfer-Encoding: gzip, absolute form under /api/v1", false, 1, 500, 108,
                 true, 0, 0);
        cat(&c->bytes, &c->len, "POST http://t:1/api/v1/blockstacks?x=1 HTTP/1.1\r\nHost: t\r\n"
                                "Authorization: Bearer %s\r\nTransfer-Encoding: gzip\r\n\r\n"
                                GET_NEXT, tok);
        c = CASE("two Content-Length headers under /api/v1", false, 1, 500, 108, true, 0, 0);
        cat(&c->bytes, &c->len, POST_KRAGLE_STACK "%s\r\nContent-Length: 19\r\n"
                                "Content-Length: 3\r\n\r\n{\"name\":\"cl twice\"}" GET_NEXT,
            tok);
    }
    {
        /* civetweb 1.15 takes identity as no body: the body was run as a second request (a
         * smuggled one, here a stack made), where a front end may see one request */
        static const char *const te[] = {"identity", "IDENTITY", " identity "};
        for (size_t i = 0; i < sizeof te / sizeof *te; i++) {
            raw_case *c = CASE("Transfer-Encoding: identity", false, 1, 400, 108, true, 0, 0);
            cat(&c->bytes, &c->len, POST_STACK "%s\r\nTransfer-Encoding:%s\r\n\r\n"
                                    POST_STACK "%s\r\nContent-Length: 19\r\n\r\n"
                                    "{\"name\":\"smuggled\"}" GET_NEXT, tok, te[i], tok);
        }
    }
    {
        raw_case *c = CASE("malformed chunk size", false, 1, 400, 108, true, 0, 0);
        cat(&c->bytes, &c->len, POST_STACK "%s\r\nTransfer-Encoding: chunked\r\n\r\n"
                                "zz\r\n{}\r\n0\r\n\r\n" GET_NEXT, tok);
    }
    {
        raw_case *c = CASE("body shorter than its Content-Length, then EOF", false, 1, 400, 108,
                           true, 0, 0);
        cat(&c->bytes, &c->len, POST_STACK "%s\r\nContent-Length: 40\r\n\r\n"
                                "{\"name\":\"cut short\"}", tok);
    }
    {
        raw_case *c = CASE("Content-Length over 64 KiB, body sent", false, 1, 413, 103, true, 0,
                           0);
        cat(&c->bytes, &c->len, POST_STACK "%s\r\nContent-Length: 70000\r\n\r\n", tok);
        pad(&c->bytes, &c->len, ' ', 70000);
        cat(&c->bytes, &c->len, GET_NEXT);
    }
    {
        raw_case *c = CASE("Content-Length beyond 2^63", false, 1, 413, 103, true, 0, 0);
        cat(&c->bytes, &c->len, POST_STACK "%s\r\nContent-Length: 99999999999999999999999\r\n\r\n"
                                GET_NEXT, tok);
    }
    {
        raw_case *c = CASE("chunked body over 64 KiB", false, 1, 413, 103, true, 0, 0);
        cat(&c->bytes, &c->len, POST_STACK "%s\r\nTransfer-Encoding: chunked\r\n\r\n", tok);
        for (int i = 0; i < 18; i++) {
            cat(&c->bytes, &c->len, "1000\r\n");
            pad(&c->bytes, &c->len, ' ', 4096);
            cat(&c->bytes, &c->len, "\r\n");
        }
        cat(&c->bytes, &c->len, "0\r\n\r\n" GET_NEXT);
    }
    {
        raw_case *c = CASE("header block over civetweb's 16 KiB", false, 1, 400, 108, true, 0, 0);
        cat(&c->bytes, &c->len, "GET /schedules HTTP/1.1\r\nHost: t\r\nX-Big: ");
        pad(&c->bytes, &c->len, 'x', 17000);
        cat(&c->bytes, &c->len, "\r\n\r\n" GET_NEXT);
    }
    {
        /* civetweb keeps 64 header lines and drops the rest unseen (one could be
         * Content-Length or Authorization) */
        raw_case *c = CASE("70 header lines", false, 1, 400, 108, true, 0, 0);
        cat(&c->bytes, &c->len, "GET /schedules HTTP/1.1\r\n");
        for (int i = 0; i < 70; i++)
            cat(&c->bytes, &c->len, "X-Line-%d: %d\r\n", i, i);
        cat(&c->bytes, &c->len, "\r\n" GET_NEXT);
    }
    {
        raw_case *c = CASE("HTTP/2.0 request line", false, 1, 400, 108, true, 0, 0);
        cat(&c->bytes, &c->len, "GET /schedules HTTP/2.0\r\nHost: t\r\n\r\n" GET_NEXT);
    }
    {
        raw_case *c = CASE("not a request line", false, 1, 400, 108, true, 0, 0);
        cat(&c->bytes, &c->len, "HELLO\r\n\r\n" GET_NEXT);
    }
    {
        /* the answer to HEAD has headers only, so the next answer follows right after them */
        raw_case *c = CASE("HEAD, then GET", true, 2, 405, -1, false, 200, -1);
        cat(&c->bytes, &c->len, "HEAD /schedules HTTP/1.1\r\nHost: t\r\n\r\n" GET_NEXT);
    }
#undef CASE

    before = snapshot();
    for (int i = 0; i < nc; i++) {
        raw_case *c = &cases[i];
        answer got[4];
        size_t len;
        bool closed, ok;
        char *out = raw_exchange(&len, &closed, &srv, c->bytes, c->len, 25);
        int n = parse_answers(got, 4, out, len, c->head_first);

        ok = closed && n == c->count;
        for (int k = 0; ok && k < n; k++) {
            const answer *w = &c->want[k];
            ok = got[k].status == w->status && got[k].fault == w->fault && got[k].json &&
                 (!w->close || got[k].close);
        }
        if (!ok) {
            print_error("%s: expected %d answer(s): %d fault %d%s, then the connection closed; "
                        "got%s:\n%.600s\n", c->what, c->count, c->want[0].status,
                        c->want[0].fault, c->want[0].close ? " with Connection: close" : "",
                        closed ? "" : " (still open 25 s after EOF)", out);
            failures++;
        }
        free(out);
        free(c->bytes);
    }
    after = snapshot();
    assert_string_equal(before, after);
    free(before);
    free(after);
    assert_int_equal(failures, 0);
}

/* ---- 5. scheduler events ------------------------------------------------------------------- */

/* The count of lines of the server's standard output that are exactly `line`. */
static int stdout_lines(const char *line)
{
    static char out[1 << 16];
    int n = 0;

    server_stdout(&srv, out, sizeof out);
    for (char *p = out; (p = strstr(p, line)) != NULL; p += strlen(line))
        if ((p == out || p[-1] == '\n') && p[strlen(line)] == '\n')
            n++;
    return n;
}

static void test_one_time_schedule_runs_the_job_and_queued_job_is_deleted(void **state)
{
    char body[256], path_run[64], path_del[64], run_line[160], del_line[160], want[128];
    long stack, sched, run, del;
    int64_t at = (int64_t)time(NULL) + 5;
    bool seen_queued = false;
    time_t deadline;
    resp r;

    (void)state;
    stack = create("/blockstacks", C, "{\"name\":\"timed\"}");
    snprintf(body, sizeof body,
             "{\"name\":\"in five seconds\",\"once\":true,\"config\":{\"timestamp\":%lld}}",
             (long long)at);
    sched = create("/schedules", C, body);
    snprintf(body, sizeof body,
             "{\"name\":\"runs once\",\"stack_id\":%ld,\"schedule_id\":%ld,\"enabled\":true}",
             stack, sched);
    run = create("/jobs", C, body);
    snprintf(body, sizeof body,
             "{\"name\":\"deleted instead\",\"stack_id\":%ld,\"schedule_id\":%ld,\"enabled\":true}",
             stack, sched);
    del = create("/jobs", C, body);
    snprintf(path_run, sizeof path_run, "/jobs/byid/%ld", run);
    snprintf(path_del, sizeof path_del, "/jobs/%ld", del);

    snprintf(want, sizeof want, "\"next_run\":%lld,\"do_run\":true,\"do_del\":false,",
             (long long)at);
    request(&r, "GET", path_run, C, NULL);
    EXPECT(&r, 200, want);
    resp_free(&r);
    snprintf(want, sizeof want, "{\"queued_for_deletion\":%ld}", del);
    request(&r, "DELETE", path_del, C, NULL);
    EXPECT(&r, 200, want);
    resp_free(&r);
    snprintf(path_del, sizeof path_del, "/jobs/byid/%ld", del);

    /* Until its time the queued job stays readable and listed, with do_del; then it is gone,
     * and the other job has run once and is inactive. */
    snprintf(want, sizeof want, "\"next_run\":%lld,\"do_run\":true,\"do_del\":true,",
             (long long)at);
    for (deadline = time(NULL) + 40;; usleep(200 * 1000)) {
        /* a second of margin: a tick at the slot may come between the clock and the GET */
        bool before_time = (int64_t)time(NULL) < at - 1;
        resp d, j;

        request(&d, "GET", path_del, C, NULL);
        if (before_time) {
            resp list;
            EXPECT(&d, 200, want);
            request(&list, "GET", "/jobs", C, NULL);
            EXPECT(&list, 200, "\"name\":\"deleted instead\"");
            resp_free(&list);
            seen_queued = true;
        }
        request(&j, "GET", path_run, C, NULL);
        if (d.status == 404 && strstr(j.body, "\"next_run\":null,\"do_run\":false")) {
            EXPECT(&d, 404, "{\"code\":6,");
            EXPECT(&j, 200, "\"next_run\":null,\"do_run\":false,\"do_del\":false,");
            resp_free(&d);
            resp_free(&j);
            break;
        }
        resp_free(&d);
        resp_free(&j);
        if (time(NULL) > deadline)
            fail_msg("the one-time slot %lld passed at %lld and the jobs did not change",
                     (long long)at, (long long)time(NULL));
    }
    assert_true(seen_queued);
    assert_true((int64_t)time(NULL) >= at);

    /* One line each on standard output, and no second run in the next ticks. */
    snprintf(run_line, sizeof run_line,
             "{\"event\":\"run\",\"job\":%ld,\"owner\":3,\"stack\":%ld,\"slot\":%lld}", run, stack,
             (long long)at);
    snprintf(del_line, sizeof del_line,
             "{\"event\":\"deleted\",\"job\":%ld,\"owner\":3,\"stack\":%ld,\"slot\":%lld}", del,
             stack, (long long)at);
    /* The tick commits before it prints, so the lines may come a moment after the API shows
     * the change. */
    for (deadline = time(NULL) + 20; stdout_lines(run_line) + stdout_lines(del_line) < 2;
         usleep(100 * 1000))
        if (time(NULL) > deadline)
            fail_msg("no event lines on standard output:\n%s\n%s", run_line, del_line);
    sleep(2);
    assert_int_equal(stdout_lines(run_line), 1);
    assert_int_equal(stdout_lines(del_line), 1);
    request(&r, "GET", "/jobs", C, NULL);
    EXPECT(&r, 200, "\"name\":\"runs once\"");
    assert_null(strstr(r.body, "deleted instead"));
    resp_free(&r);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_malformed_requests_are_faults_and_change_nothing, fixtures),
        cmocka_unit_test_setup(test_other_users_things_answer_like_missing_ones, fixtures),
        cmocka_unit_test_setup(test_keep_alive_serves_many_requests_on_one_connection, fixtures),
        cmocka_unit_test_setup(test_http_framing_is_enforced, fixtures),
        cmocka_unit_test_setup(test_one_time_schedule_runs_the_job_and_queued_job_is_deleted,
                               fixtures),
        cmocka_unit_test(test_more_keep_alive_clients_than_threads_are_all_served),
    };

    if (argc != 2) {
        fprintf(stderr, "usage: %s PATH-TO-jobs-server\n", argv[0]);
        return 2;
    }
    server_bin = argv[1];
    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
