/* Security of jobs-server end to end (issue 5, deliverable 7), against the real binary:
 *
 * - every route of docs/http-api.md (method x path, the id and name variants, POST and PUT with
 *   bodies that are valid for the owner) under each credential state: none, another user's live
 *   session (bearer and cookie), the owner's token tampered five ways (bearer and cookie), the
 *   owner's logged-out session and, on a second server with --session-ttl, the owner's expired
 *   session. Each answers as specified (401 fault 100; the public schedule routes answer what an
 *   anonymous caller gets; another user gets 404 fault 6, or the route's own not-found fault
 *   24/25, for the owner's things), no answer shows the owner's private things or hands out a
 *   session, and the owner's view (every list and item) is byte for byte what it was;
 * - on a server of its own, another user's job, schedule or stack asked for in every way a
 *   route takes one (by id, by name, in a page of runs, with If-Match, in a create or change of
 *   one's own; unprefixed and under /api/v1; and without a session) answers byte for byte as one
 *   that never existed; a public stack's runs and jobs stay their owners';
 * - session tokens: 200 logins give 200 distinct 64-hex-digit tokens (256 bits) that pass a crude
 *   randomness tripwire; a login never keeps a token it was sent (fixation); the cookie's flags
 *   on login and logout;
 * - no CORS preflight is granted (civetweb's own answer to one is turned off);
 * - HTTP boundaries that test_http_rules.c does not already cover, on POST /authenticate where a
 *   mistake would log someone in or leak a password (see below), a token in the query string;
 * - the data directory: 0700 directories and 0600 files even under umask 0;
 * - no password, token or Argon2id hash in any log the servers of this program wrote (their
 *   standard output and error, which holds the access log by default), and no password or
 *   token in any data file (the store holds users and sessions: hashes only).
 *
 * Already covered elsewhere, not repeated here: in test_http_rules.c
 * (test_http_framing_is_enforced) a body over 64 KiB by Content-Length, by chunks and beyond
 * 2^63, "Content-Length: 19abc" and "+19", two Content-Lengths, Transfer-Encoding with
 * Content-Length, a POST without a length, a body cut short, a header block over 16 KiB and 70
 * header lines, all on an authenticated POST /blockstacks with the store read back; in
 * test_http.c the login faults, throttling, and the basic 401 cases; in test_https.c the Secure
 * flag. */
#include <errno.h>
#include <ftw.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "harness.h"

/* Distinctive, so that finding one in a log cannot be a coincidence. */
#define ALICE_PW "Alice-Pass-5e1f0c93"
#define BOB_PW "Bob-Pass-a7d2b481"
#define CAROL_PW "Carol-Pass-90b3e6d2"
#define WRONG_PW "Wrong-Pass-3c9e7d05"

/* Every name of the owner's private things starts with this; no one else may ever see it. */
#define SECRET "alice-secret"

static const char *const passwords[] = {ALICE_PW, BOB_PW, CAROL_PW, WRONG_PW};

static server srv;       /* the group's server: users alice (1) and bob (2) */
static server ttl_srv;   /* --session-ttl TTL, for expired sessions */
static server umask_srv; /* started under umask 0 */
static server probe_srv; /* a world of its own: alice's things probed by bob */

/* Every directory a server of this program wrote to, scanned by the last test, removed at the
 * end. */
static char roots[6][64];
static size_t nroots;

/* Every session token handed out to this program. */
static char (*tokens)[65];
static size_t ntokens, tokens_cap;

static void remember_root(const char *dir)
{
    assert_true(nroots < sizeof roots / sizeof *roots);
    snprintf(roots[nroots++], sizeof *roots, "%s", dir);
}

static void remember_token(const char *tok)
{
    if (ntokens == tokens_cap) {
        tokens_cap = tokens_cap ? 2 * tokens_cap : 256;
        tokens = realloc(tokens, tokens_cap * sizeof *tokens);
        assert_non_null(tokens);
    }
    assert_true(strlen(tok) < sizeof *tokens);
    memcpy(tokens[ntokens++], tok, strlen(tok) + 1);
}

static void login(const server *s, char *tok, size_t size, const char *name, const char *pw)
{
    login_to(s, tok, size, name, pw);
    remember_token(tok);
}

/* `jobs-server user add NAME --data DIR`, its output appended to LOG (which the last test
 * scans like the servers' logs). */
static int add_user_logged(const char *dir, const char *log, const char *name, const char *pw)
{
    char cmd[1024];
    FILE *p;

    snprintf(cmd, sizeof cmd, "'%s' user add %s --data '%s' >>'%s' 2>&1", server_bin, name, dir,
             log);
    if (!(p = popen(cmd, "w")))
        return -1;
    fprintf(p, "%s\n", pw);
    return pclose(p) == 0 ? 0 : -1;
}

/* A data directory from mkdtemp with users alice and bob; remembered for the log scan. */
static int new_data(server *s)
{
    char log[128];

    memset(s, 0, sizeof *s);
    snprintf(s->dir, sizeof s->dir, "/tmp/jobs-sec-XXXXXX");
    if (!mkdtemp(s->dir))
        return -1;
    remember_root(s->dir);
    snprintf(log, sizeof log, "%s/user-add.log", s->dir);
    if (add_user_logged(s->dir, log, "alice", ALICE_PW) != 0 ||
        add_user_logged(s->dir, log, "bob", BOB_PW) != 0)
        return -1;
    return 0;
}

static int group_setup(void **state)
{
    (void)state;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    /* No cap on sessions per user: the token test keeps 200 of bob's sessions live. */
    if (new_data(&srv) != 0 ||
        start_server(&srv, (const char *[]){"--max-sessions-per-user", "0", NULL}) != 0) {
        halt_server(&srv);
        for (size_t i = 0; i < nroots; i++)
            rm_tree(roots[i]);
        return -1;
    }
    return 0;
}

static int group_teardown(void **state)
{
    int rc;

    (void)state;
    rc = halt_server(&srv);
    halt_server(&ttl_srv); /* still running only if their test failed */
    halt_server(&umask_srv);
    halt_server(&probe_srv);
    for (size_t i = 0; i < nroots; i++)
        rm_tree(roots[i]);
    free(tokens);
    curl_global_cleanup();
    return rc;
}

/* ---- the owner's things -------------------------------------------------------------------- */

/* Made in this order in a fresh store, so the table below can name them by id. Schedules 1..5
 * are the built-in public ones. */
enum {
    SECRET_STACK = 1, /* alice's private stack */
    PUBLIC_STACK = 2, /* alice's public stack: others may read it */
    SECRET_SCHED = 6, /* alice's schedule, used by SECRET_JOB */
    SPARE_SCHED = 7,  /* alice's schedule that no job uses */
    HOOK_STACK = 3,   /* alice's private stack with a "user" webhook, made after the jobs */
    SECRET_JOB = 1,   /* inactive, on SECRET_SCHED */
    ACTIVE_JOB = 2,   /* active, hourly (not due during the test) */
    FILLER_JOBS = 10  /* jobs 3..12, so that alice's jobs fill two pages */
};

static void make_world(const server *s, const char *alice)
{
    char body[160];

    assert_int_equal(create_on(s, "/blockstacks", alice, "{\"name\":\"" SECRET "-stack\"}"),
                     SECRET_STACK);
    assert_int_equal(create_on(s, "/blockstacks", alice,
                               "{\"name\":\"alice-public-stack\",\"public\":true}"),
                     PUBLIC_STACK);
    assert_int_equal(create_on(s, "/schedules", alice,
                               "{\"name\":\"" SECRET "-sched\",\"config\":{\"period\":600}}"),
                     SECRET_SCHED);
    assert_int_equal(create_on(s, "/schedules", alice,
                               "{\"name\":\"" SECRET "-spare\",\"config\":{\"period\":900}}"),
                     SPARE_SCHED);
    assert_int_equal(create_on(s, "/jobs", alice,
                               "{\"name\":\"" SECRET "-job\",\"stack_id\":1,\"schedule_id\":6}"),
                     SECRET_JOB);
    assert_int_equal(create_on(s, "/jobs", alice,
                               "{\"name\":\"" SECRET "-active\",\"stack_id\":1,\"schedule_id\":4,"
                               "\"enabled\":true}"),
                     ACTIVE_JOB);
    for (int i = 0; i < FILLER_JOBS; i++) {
        snprintf(body, sizeof body,
                 "{\"name\":\"" SECRET "-filler-%d\",\"stack_id\":2,\"schedule_id\":5}", i);
        assert_int_equal(create_on(s, "/jobs", alice, body), ACTIVE_JOB + 1 + i);
    }
    assert_int_equal(create_on(s, "/blockstacks", alice,
                               "{\"name\":\"" SECRET "-hook\",\"webhook\":\"user\"}"),
                     HOOK_STACK);
}

/* Everything the owner (and an anonymous caller) can read of the owner's things, with status
 * lines: every list and every item. Equal byte for byte only if nothing visible has changed.
 * NULL if the owner's session `alice` answered 401. */
static char *snapshot(const server *s, const char *alice)
{
    static const struct {
        bool owner; /* else anonymous */
        const char *path;
    } reads[] = {
        {false, "/schedules"},
        {false, "/schedules/byid/1"},
        {false, "/schedules/byid/6"},
        {true, "/jobs"},
        {true, "/jobs?page=2"},
        {true, "/jobs/byname/" SECRET "-job"},
        {true, "/jobs/byname/" SECRET "-active"},
        {true, "/blockstacks"},
        {true, "/blockstacks/byid/1"},
        {true, "/blockstacks/byid/2"},
        {true, "/schedules"},
        {true, "/schedules/byid/6"},
        {true, "/schedules/byid/7"},
    };
    size_t len = 0, nreads = sizeof reads / sizeof *reads;
    char *all = NULL;

    /* and every job by id */
    for (size_t i = 0; i < nreads + 2 + FILLER_JOBS; i++) {
        const char *auth = i >= nreads || reads[i].owner ? alice : NULL;
        char path[64], line[96];
        int k;
        resp r;

        if (i < nreads)
            snprintf(path, sizeof path, "%s", reads[i].path);
        else
            snprintf(path, sizeof path, "/jobs/byid/%zu", i - nreads + 1);
        request_to(&r, s, "GET", path, auth, NULL, 0);
        if (auth && r.status == 401) {
            print_message("snapshot: the owner's session answered 401 on GET %s\n", path);
            resp_free(&r);
            free(all);
            return NULL;
        }
        k = snprintf(line, sizeof line, "\n%ld %s %s ", r.status, auth ? "owner" : "anon", path);
        all = realloc(all, len + (size_t)k + r.len + 1);
        assert_non_null(all);
        memcpy(all + len, line, (size_t)k);
        memcpy(all + len + (size_t)k, r.body, r.len);
        len += (size_t)k + r.len;
        all[len] = '\0';
        resp_free(&r);
    }
    return all;
}

/* ---- the matrix ---------------------------------------------------------------------------- */

typedef enum { ANY_BODY, SAME_AS_ANON, NO_SECRET } body_rule;

typedef struct expect {
    int status;
    int fault; /* -1: not a fault */
    body_rule rule;
} expect;

#define UNAUTH {401, 100, ANY_BODY}   /* not authenticated */
#define MISSING {404, 6, ANY_BODY}    /* as if it did not exist */
#define PUBLIC {200, -1, SAME_AS_ANON} /* what an anonymous caller gets, byte for byte */
#define OWN {200, -1, NO_SECRET}       /* the caller's own view, without the owner's things
                                       * (checked on every answer to anyone but the owner) */
#define OK(st) {st, -1, ANY_BODY}
#define FAULT(st, f) {st, f, ANY_BODY}

/* The body of the login row: an unknown user (named after the request's number, so that no
 * name fails often enough to be throttled) and a wrong password. */
static const char LOGIN_BODY[] = "";
/* The body of the stack-create row: a stack named after the request's number (stack names are
 * unique per owner, so one body sent twice by one user is fault 10). */
static const char STACK_BODY[] = "";

typedef struct route_case {
    const char *method;
    const char *path;
    const char *body;
    expect anon;  /* no valid session: none, tampered, expired, logged out */
    expect other; /* another user's live session */
    expect owner; /* the owner's live session, checked after the matrix (order matters) */
} route_case;

/* Every route of docs/http-api.md. POST /logout comes last: for another user it ends their own
 * session, which is their right. */
static const route_case routes[] = {
    {"GET", "/jobs", NULL, UNAUTH, OWN, OK(200)},
    {"GET", "/jobs?page=1", NULL, UNAUTH, OWN, OK(200)},
    {"GET", "/jobs?page=2", NULL, UNAUTH, OWN, OK(200)},
    {"GET", "/jobs/byid/1", NULL, UNAUTH, MISSING, OK(200)},
    {"GET", "/jobs/byid/2", NULL, UNAUTH, MISSING, OK(200)},
    {"GET", "/jobs/byid/12", NULL, UNAUTH, MISSING, OK(200)},
    {"GET", "/jobs/byname/" SECRET "-job", NULL, UNAUTH, MISSING, OK(200)},
    {"GET", "/jobs/byname/alice%2Dsecret%2Dactive", NULL, UNAUTH, MISSING, OK(200)},
    {"POST", "/jobs", "{\"stack_id\":1,\"schedule_id\":4}", UNAUTH, FAULT(400, 24), OK(201)},
    {"POST", "/jobs", "{\"name\":\"new\",\"stack_id\":2,\"schedule_id\":6,\"enabled\":true}",
     UNAUTH, FAULT(400, 25), OK(201)},
    {"PUT", "/jobs/1", "{\"name\":\"stolen\"}", UNAUTH, MISSING, OK(200)},
    {"PUT", "/jobs/1", "{\"enabled\":true}", UNAUTH, MISSING, OK(200)},
    {"PUT", "/jobs/2", "{}", UNAUTH, MISSING, OK(200)},
    {"PUT", "/jobs/4", "{\"stack_id\":1,\"schedule_id\":5,\"name\":null,\"enabled\":false}",
     UNAUTH, MISSING, OK(200)},
    {"DELETE", "/jobs/3", NULL, UNAUTH, MISSING, OK(200)},
    {"DELETE", "/jobs/2", NULL, UNAUTH, MISSING, OK(200)},
    {"GET", "/schedules", NULL, PUBLIC, OWN, OK(200)},
    {"GET", "/schedules?page=1", NULL, PUBLIC, OWN, OK(200)},
    {"GET", "/schedules/byid/1", NULL, PUBLIC, PUBLIC, OK(200)},
    {"GET", "/schedules/byid/6", NULL, MISSING, MISSING, OK(200)},
    {"GET", "/schedules/byid/7", NULL, MISSING, MISSING, OK(200)},
    {"POST", "/schedules", "{\"name\":\"new\",\"config\":{\"period\":600}}", UNAUTH, OK(201),
     OK(201)},
    {"POST", "/schedules", "{\"once\":true,\"config\":{\"timestamp\":4102444800}}", UNAUTH,
     OK(201), OK(201)},
    {"PUT", "/schedules/7", "{\"name\":\"stolen\"}", UNAUTH, MISSING, OK(200)},
    {"PUT", "/schedules/7", "{\"config\":{\"period\":60}}", UNAUTH, MISSING, OK(200)},
    {"PUT", "/schedules/6", "{\"config\":{\"period\":60}}", UNAUTH, MISSING, FAULT(409, 27)},
    /* Stacks read without a session: the public ones, as anyone sees them; any other is 403
     * (fault 116) whether it exists or not. */
    {"GET", "/blockstacks", NULL, PUBLIC, OWN, OK(200)},
    {"GET", "/blockstacks?page=1", NULL, PUBLIC, OWN, OK(200)},
    {"GET", "/blockstacks/byid/1", NULL, FAULT(403, 116), MISSING, OK(200)},
    {"GET", "/blockstacks/byid/999", NULL, FAULT(403, 116), MISSING, MISSING},
    {"GET", "/blockstacks/byid/2", NULL, PUBLIC, OWN, OK(200)},
    {"GET", "/blockstacks/byname/" SECRET "-stack", NULL, FAULT(403, 116), MISSING, OK(200)},
    {"PUT", "/blockstacks/1", "{\"name\":\"stolen\"}", UNAUTH, MISSING, OK(200)},
    {"PUT", "/blockstacks/2", "{\"public\":false}", UNAUTH, MISSING, OK(200)},
    {"POST", "/blockstacks", STACK_BODY, UNAUTH, OK(201), OK(201)},
    /* Runs, manual runs, webhook tokens, runs by hand and webhooks of the owner's things. */
    {"GET", "/jobs/1/runs", NULL, UNAUTH, MISSING, OK(200)},
    {"GET", "/jobs/2/runs?page=1", NULL, UNAUTH, MISSING, OK(200)},
    {"POST", "/jobs/1/run", NULL, UNAUTH, MISSING, OK(202)},
    {"GET", "/blockstacks/1/runs", NULL, UNAUTH, FAULT(400, 24), OK(200)},
    {"GET", "/blockstacks/2/runs", NULL, UNAUTH, OWN, OK(200)},
    {"GET", "/blockstacks/hook/token_refresh/1", NULL, UNAUTH, MISSING, FAULT(409, 131)},
    {"GET", "/blockstacks/exec/1", NULL, UNAUTH, MISSING, OK(200)},
    {"GET", "/blockstacks/exec/2", NULL, UNAUTH, MISSING, OK(200)},
    /* A "user" webhook tells another user that it exists (docs/http-api.md, Webhooks). */
    {"GET", "/blockstacks/hook/3", NULL, UNAUTH, FAULT(403, 133), OK(200)},
    {"POST", "/authenticate", LOGIN_BODY, FAULT(401, 3), FAULT(401, 3), FAULT(401, 3)},
    {"POST", "/logout", NULL, UNAUTH, OK(200), OK(200)},
};

#define NROUTES (sizeof routes / sizeof *routes)

typedef struct cred {
    char name[48];
    char auth[200]; /* "B:<token>", "C:<token>", or "" for none */
    bool other;     /* another user's live session; else no valid session */
} cred;

static void set_cred(cred *c, bool other, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_cred(cred *c, bool other, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(c->name, sizeof c->name, fmt, ap);
    va_end(ap);
    c->other = other;
}

/* The anonymous answers of the rows that must equal them (one per row; NULL for the others). */
static void anon_baseline(char *out[NROUTES], const server *s)
{
    for (size_t i = 0; i < NROUTES; i++) {
        resp r;

        out[i] = NULL;
        if (routes[i].anon.rule != SAME_AS_ANON && routes[i].other.rule != SAME_AS_ANON)
            continue;
        request_to(&r, s, routes[i].method, routes[i].path, NULL, NULL, 0);
        assert_int_equal(r.status, 200);
        out[i] = r.body;
    }
}

/* Whether `body` names one of the owner's private things, other than the name the request
 * itself asked for (a 404 of /jobs/byname/ repeats it, as it would for a name never used). */
static bool shows_secret(const char *body, const char *path)
{
    char asked[128] = "";
    const char *p;
    size_t n = 0;

    if (strncmp(path, "/jobs/byname/", 13) == 0)
        for (p = path + 13; *p && n < sizeof asked - 1; p++) {
            unsigned v;
            if (*p == '%' && sscanf(p + 1, "%2x", &v) == 1) {
                asked[n++] = (char)v;
                p += 2;
            } else {
                asked[n++] = *p;
            }
        }
    asked[n] = '\0';
    for (p = body; (p = strstr(p, SECRET)) != NULL; p++) {
        bool echoed = false;

        /* echoed if this occurrence is inside an occurrence of `asked` */
        for (const char *q = body; n && (q = strstr(q, asked)) != NULL; q++)
            if (q <= p && p < q + n)
                echoed = true;
        if (!echoed)
            return true;
    }
    return false;
}

/* Checks one answer; prints what is wrong and returns false. */
static bool check(const route_case *rc, const char *state, const expect *e, const resp *r,
                  const char *baseline, bool owner)
{
    char want[40], why[160] = "";
    const char *cookie = strstr(r->headers, "Set-Cookie:");

    snprintf(want, sizeof want, "{\"code\":%d,\"msg\":\"", e->fault);
    if (r->status != e->status)
        snprintf(why, sizeof why, "status %ld, expected %d", r->status, e->status);
    else if (e->fault >= 0 && strncmp(r->body, want, strlen(want)) != 0)
        snprintf(why, sizeof why, "expected fault %d", e->fault);
    else if (e->fault < 0 && strncmp(r->body, "{\"code\":", 8) == 0 && r->status != 200)
        snprintf(why, sizeof why, "a fault where none was expected");
    else if (e->rule == SAME_AS_ANON && (!baseline || strcmp(r->body, baseline) != 0))
        snprintf(why, sizeof why, "not what an anonymous caller gets:\n  %s",
                 baseline ? baseline : "(no anonymous answer)");
    else if (!owner && shows_secret(r->body, rc->path))
        snprintf(why, sizeof why, "shows the owner's private things");
    else if (!owner && cookie && strncmp(cookie, "Set-Cookie: auth_tkt=;", 22) != 0)
        snprintf(why, sizeof why, "hands out a session");
    for (size_t i = 0; !why[0] && i < sizeof passwords / sizeof *passwords; i++)
        if (strstr(r->body, passwords[i]) || strstr(r->headers, passwords[i]))
            snprintf(why, sizeof why, "echoes a password");
    if (!why[0])
        return true;
    print_error("%s %s %s [%s]: %s\n  got %ld %s\n", rc->method, rc->path,
                rc->body && rc->body != LOGIN_BODY ? rc->body : "", state, why, r->status,
                r->body);
    return false;
}

static void send_row(resp *r, const server *s, const route_case *rc, const char *auth,
                     size_t state_no)
{
    char login_body[160];
    const char *body = rc->body;

    if (body == LOGIN_BODY) {
        snprintf(login_body, sizeof login_body,
                 "{\"username\":\"nobody-%zu\",\"password\":\"" WRONG_PW "\"}", state_no);
        body = login_body;
    } else if (body == STACK_BODY) {
        snprintf(login_body, sizeof login_body, "{\"name\":\"new-%zu\"}", state_no);
        body = login_body;
    }
    request_to(r, s, rc->method, rc->path, auth && auth[0] ? auth : NULL, body,
               body ? strlen(body) : 0);
}

/* Every route under every state; returns the number of wrong answers (each printed). */
static int run_matrix(const server *s, const cred *states, size_t nstates, size_t *requests)
{
    char *baseline[NROUTES];
    int failures = 0;

    anon_baseline(baseline, s);
    for (size_t k = 0; k < nstates; k++) {
        for (size_t i = 0; i < NROUTES; i++) {
            const route_case *rc = &routes[i];
            const expect *e = states[k].other ? &rc->other : &rc->anon;
            resp r;

            send_row(&r, s, rc, states[k].auth, *requests);
            (*requests)++;
            if (!check(rc, states[k].name, e, &r, baseline[i], false))
                failures++;
            resp_free(&r);
        }
    }
    for (size_t i = 0; i < NROUTES; i++)
        free(baseline[i]);
    return failures;
}

/* The same routes as the owner, in order, after the matrix: the table's paths and bodies are
 * real (each works for the owner), so the refusals above are not refusals of nonsense. */
static int run_owner(const server *s, const char *alice, size_t *requests)
{
    int failures = 0;

    for (size_t i = 0; i < NROUTES; i++) {
        resp r;

        send_row(&r, s, &routes[i], alice, *requests);
        (*requests)++;
        if (!check(&routes[i], "owner", &routes[i].owner, &r, NULL, true))
            failures++;
        resp_free(&r);
    }
    return failures;
}

/* The owner's token altered: a hex digit changed at either end, upper case, one digit short,
 * one digit more. */
static void tamper(char *out, size_t size, const char *tok, int how)
{
    size_t n = strlen(tok);

    snprintf(out, size, "%s", tok);
    switch (how) {
    case 0:
        out[0] = out[0] == '0' ? '1' : '0';
        break;
    case 1:
        out[n - 1] = out[n - 1] == 'f' ? 'e' : 'f';
        break;
    case 2:
        for (char *p = out; *p; p++)
            if (*p >= 'a' && *p <= 'f')
                *p = (char)(*p - 'a' + 'A');
        break;
    case 3:
        out[n - 1] = '\0';
        break;
    default:
        snprintf(out, size, "%s0", tok);
        break;
    }
}

static const char *const tamperings[] = {"first digit changed", "last digit changed",
                                         "upper case", "one digit short", "one digit more"};

static void test_every_route_under_each_credential_state(void **state)
{
    cred states[1 + 2 + 2 * 5 + 2];
    char alice[160], tok[128], bad[128], *before, *after;
    size_t n = 0, requests = 0;
    int failures;

    (void)state;
    memset(states, 0, sizeof states);
    login(&srv, tok, sizeof tok, "alice", ALICE_PW);
    snprintf(alice, sizeof alice, "B:%s", tok);
    make_world(&srv, alice);

    set_cred(&states[n++], false, "no credentials");
    for (int c = 0; c < 2; c++) {
        char other[128];

        login(&srv, other, sizeof other, "bob", BOB_PW);
        snprintf(states[n].auth, sizeof states[n].auth, "%c:%s", "BC"[c], other);
        set_cred(&states[n++], true, "bob's session, %s", c ? "cookie" : "bearer");
    }
    for (int how = 0; how < 5; how++)
        for (int c = 0; c < 2; c++) {
            tamper(bad, sizeof bad, tok, how);
            snprintf(states[n].auth, sizeof states[n].auth, "%c:%s", "BC"[c], bad);
            set_cred(&states[n++], false, "alice's token %s, %s", tamperings[how],
                     c ? "cookie" : "bearer");
        }
    for (int c = 0; c < 2; c++) {
        char gone[128];
        resp r;

        login(&srv, gone, sizeof gone, "alice", ALICE_PW);
        snprintf(states[n].auth, sizeof states[n].auth, "%c:%s", "BC"[c], gone);
        request_to(&r, &srv, "POST", "/logout", states[n].auth, NULL, 0);
        EXPECT(&r, 200, "{\"code\":0}");
        resp_free(&r);
        set_cred(&states[n++], false, "alice's logged-out session, %s", c ? "cookie" : "bearer");
    }
    assert_int_equal(n, sizeof states / sizeof *states);

    before = snapshot(&srv, alice);
    assert_non_null(before);
    failures = run_matrix(&srv, states, n, &requests);
    after = snapshot(&srv, alice);
    assert_non_null(after);
    assert_string_equal(before, after);
    print_message("%zu routes x %zu credential states: %zu requests, %d wrong answers; the "
                  "owner's view unchanged\n",
                  NROUTES, n, requests, failures);
    assert_int_equal(failures, 0);
    /* The refused routes do work for the owner. */
    requests = 0;
    assert_int_equal(run_owner(&srv, alice, &requests), 0);
    free(before);
    free(after);
}

/* The owner's sessions on a server with --session-ttl TTL, expired by waiting. The owner's own
 * work there logs in afresh (its sessions expire too), and a snapshot that outlives its session
 * on a very busy machine is taken again. */
#define TTL 10

static char *fresh_owner_snapshot(const server *s)
{
    for (int attempt = 0; attempt < 5; attempt++) {
        char tok[128], alice[160], *snap;

        login(s, tok, sizeof tok, "alice", ALICE_PW);
        snprintf(alice, sizeof alice, "B:%s", tok);
        if ((snap = snapshot(s, alice)) != NULL)
            return snap;
    }
    fail_msg("no snapshot within --session-ttl %d in 5 attempts", TTL);
    return NULL;
}

static void test_expired_sessions_are_refused_on_every_route(void **state)
{
    char ttl[16], tok[128], alice[160], *before, *after;
    cred states[2];
    size_t requests = 0;
    time_t issued;
    int failures;

    (void)state;
    memset(states, 0, sizeof states);
    snprintf(ttl, sizeof ttl, "%d", TTL);
    assert_int_equal(new_data(&ttl_srv), 0);
    assert_int_equal(start_server(&ttl_srv, (const char *[]){"--session-ttl", ttl, NULL}), 0);
    login(&ttl_srv, tok, sizeof tok, "alice", ALICE_PW);
    snprintf(alice, sizeof alice, "B:%s", tok);
    make_world(&ttl_srv, alice);
    before = fresh_owner_snapshot(&ttl_srv);
    for (int c = 0; c < 2; c++) {
        resp r;

        login(&ttl_srv, tok, sizeof tok, "alice", ALICE_PW);
        snprintf(states[c].auth, sizeof states[c].auth, "%c:%s", "BC"[c], tok);
        set_cred(&states[c], false, "alice's expired session, %s", c ? "cookie" : "bearer");
        request_to(&r, &ttl_srv, "GET", "/jobs/byid/1", states[c].auth, NULL, 0);
        EXPECT(&r, 200, "\"name\":\"" SECRET "-job\"");
        resp_free(&r);
    }
    issued = time(NULL);
    while (time(NULL) <= issued + TTL)
        sleep(1);
    failures = run_matrix(&ttl_srv, states, 2, &requests);
    after = fresh_owner_snapshot(&ttl_srv);
    assert_string_equal(before, after);
    print_message("%zu routes x 2 expired sessions (--session-ttl %d): %zu requests, %d wrong "
                  "answers; the owner's view unchanged\n",
                  NROUTES, TTL, requests, failures);
    assert_int_equal(failures, 0);
    assert_int_equal(halt_server(&ttl_srv), 0);
    free(before);
    free(after);
}

/* ---- session tokens ------------------------------------------------------------------------ */

#define LOGINS 200

static int hex_value(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

#define LOGIN_THREADS 3

typedef struct login_worker {
    const server *s;
    char (*tok)[128];
    int from, to; /* logs in for tok[from..to) */
    int failed;
    pthread_t thread;
} login_worker;

static size_t keep_cookie(char *p, size_t size, size_t n, void *ud)
{
    char *tok = ud;

    if (size * n > 22 && strncmp(p, "Set-Cookie: auth_tkt=", 21) == 0)
        snprintf(tok, 128, "%.*s", (int)strcspn(p + 21, ";\r\n"), p + 21);
    return size * n;
}

static size_t discard(char *p, size_t size, size_t n, void *ud)
{
    (void)p;
    (void)ud;
    return size * n;
}

/* Logs bob in for every token of its range, on one keep-alive connection. No cmocka calls
 * here (not thread-safe): failures are counted. */
static void *login_many(void *arg)
{
    static const char body[] = "{\"username\":\"bob\",\"password\":\"" BOB_PW "\"}";
    login_worker *w = arg;
    struct curl_slist *json_type;
    CURL *c = curl_easy_init();
    char url[64];

    if (!c) {
        w->failed = w->to - w->from;
        return NULL;
    }
    snprintf(url, sizeof url, "http://127.0.0.1:%d/authenticate", w->s->port);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    /* curl's default for POSTFIELDS is a form's type, which jobs-server refuses (415). */
    json_type = curl_slist_append(NULL, "Content-Type: application/json");
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, json_type);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, keep_cookie);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
    for (int i = w->from; i < w->to; i++) {
        long status = 0;

        w->tok[i][0] = '\0';
        curl_easy_setopt(c, CURLOPT_HEADERDATA, w->tok[i]);
        if (curl_easy_perform(c) != CURLE_OK ||
            curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK || status != 200 ||
            !w->tok[i][0])
            w->failed++;
    }
    curl_slist_free_all(json_type);
    curl_easy_cleanup(c);
    return NULL;
}

/* Not a proof of randomness, a tripwire for the ways session ids go wrong: a short or
 * non-hex token, a repeat, a counter or a clock in it (stuck bits, near-identical neighbours,
 * shared prefixes), a skewed generator. Every band is at least 7 standard deviations wide. */
static void test_session_tokens_are_256_random_bits(void **state)
{
    static char tok[LOGINS][128];
    unsigned digit[16] = {0}, ones[256] = {0};
    time_t t0 = time(NULL);
    login_worker w[LOGIN_THREADS];

    (void)state;
    /* Argon2id makes a login slow (about 0.1 s, more on a busy machine): a few at once. */
    for (int t = 0; t < LOGIN_THREADS; t++) {
        w[t] = (login_worker){&srv, tok, t * LOGINS / LOGIN_THREADS,
                              (t + 1) * LOGINS / LOGIN_THREADS, 0, 0};
        assert_int_equal(pthread_create(&w[t].thread, NULL, login_many, &w[t]), 0);
    }
    for (int t = 0; t < LOGIN_THREADS; t++) {
        pthread_join(w[t].thread, NULL);
        if (w[t].failed)
            fail_msg("%d of the logins failed", w[t].failed);
    }
    for (int i = 0; i < LOGINS; i++) {
        remember_token(tok[i]);
        if (strlen(tok[i]) != 64)
            fail_msg("token %d is %zu characters: %s", i, strlen(tok[i]), tok[i]);
        for (int k = 0; k < 64; k++) {
            int v = hex_value(tok[i][k]);
            if (v < 0)
                fail_msg("token %d is not lower-case hex: %s", i, tok[i]);
            digit[v]++;
            for (int b = 0; b < 4; b++)
                ones[4 * k + b] += (unsigned)(v >> (3 - b)) & 1;
        }
    }
    for (int i = 0; i < LOGINS; i++)
        for (int j = 0; j < i; j++) {
            if (strcmp(tok[i], tok[j]) == 0)
                fail_msg("tokens %d and %d are the same: %s", j, i, tok[i]);
            /* a shared 8-digit prefix or suffix: chance about 1e-5 for the whole set */
            if (strncmp(tok[i], tok[j], 8) == 0 || strcmp(tok[i] + 56, tok[j] + 56) == 0)
                fail_msg("tokens %d and %d share 32 bits at an end:\n%s\n%s", j, i, tok[j],
                         tok[i]);
        }
    /* Each hex digit: 800 expected of 12,800, standard deviation 27. */
    for (int v = 0; v < 16; v++)
        if (digit[v] < 600 || digit[v] > 1000)
            fail_msg("hex digit %x appears %u times in %d tokens (expected about 800)", v,
                     digit[v], LOGINS);
    /* Each of the 256 bit positions: 100 ones expected of 200, standard deviation 7. */
    for (int b = 0; b < 256; b++)
        if (ones[b] < 50 || ones[b] > 150)
            fail_msg("bit %d is set in %u of %d tokens (expected about 100)", b, ones[b], LOGINS);
    /* Consecutive tokens differ in about 128 of 256 bits (standard deviation 8). */
    for (int i = 1; i < LOGINS; i++) {
        int d = 0;
        for (int k = 0; k < 64; k++)
            d += __builtin_popcount((unsigned)(hex_value(tok[i][k]) ^ hex_value(tok[i - 1][k])));
        if (d < 64 || d > 192)
            fail_msg("tokens %d and %d differ in %d of 256 bits", i - 1, i, d);
    }
    print_message("%d logins in %ld s: distinct 64-digit hex tokens, digits %u..%u per value\n",
                  LOGINS, (long)(time(NULL) - t0), digit[0], digit[15]);
    /* They are all live sessions of bob's. */
    for (int i = 0; i < LOGINS; i += LOGINS - 1) {
        char auth[160];
        resp r;

        assert_true(snprintf(auth, sizeof auth, "C:%s", tok[i]) < (int)sizeof auth);
        request_to(&r, &srv, "GET", "/jobs", auth, NULL, 0);
        EXPECT(&r, 200, "\"jobs\":[");
        resp_free(&r);
    }
}

/* The attributes of the Set-Cookie line of `r` (after the first "; "), as one string. */
static void cookie_attributes(char *out, size_t size, const resp *r, const char *value_prefix)
{
    const char *p = strstr(r->headers, "Set-Cookie: ");
    const char *end, *semi;

    assert_non_null(p);
    p += 12;
    if (strncmp(p, value_prefix, strlen(value_prefix)) != 0)
        fail_msg("Set-Cookie: %.80s does not start with %s", p, value_prefix);
    end = strstr(p, "\r\n");
    assert_non_null(end);
    semi = memchr(p, ';', (size_t)(end - p));
    assert_non_null(semi);
    snprintf(out, size, "%.*s;", (int)(end - semi - 1), semi + 1);
    /* only one cookie */
    assert_null(strstr(end, "Set-Cookie"));
}

/* `attr` (e.g. "HttpOnly") is one of the "; "-separated attributes in `attrs`. */
static bool has_attribute(const char *attrs, const char *attr)
{
    char want[64];

    snprintf(want, sizeof want, " %s;", attr);
    return strstr(attrs, want) != NULL;
}

/* The CSRF check (docs/http-api.md, Conventions): a browser's write with the session cookie
 * needs X-Requested-With, or it is 403 fault 140 and changes nothing; bearer tokens, clients that
 * are not browsers (no Origin, no Sec-Fetch-Site) and reads are not asked for it. */
static void test_browser_cookie_writes_need_x_requested_with(void **state)
{
    static const char *const marks[][2] = {
        {"Origin: http://evil.example", NULL},
        {"Sec-Fetch-Site: cross-site", NULL},
        {"Origin: null", "Sec-Fetch-Site: same-origin"},
        {"Origin: http://evil.example", "X-Requested-With: "},
    };
    char tok[128], cookie[160], bearer[160], path[64], before[3][8192];
    static const char *const lists[3] = {"/jobs?pagesize=100", "/schedules?pagesize=100",
                                         "/blockstacks?pagesize=100"};
    long stack, schedule, job;
    resp r;

    (void)state;
    login(&srv, tok, sizeof tok, "bob", BOB_PW);
    snprintf(cookie, sizeof cookie, "C:%s", tok);
    snprintf(bearer, sizeof bearer, "B:%s", tok);
    /* Without browser marks (curl, scripts), the cookie alone is enough. */
    stack = create_on(&srv, "/blockstacks", cookie, "{\"name\":\"csrf-stack\"}");
    snprintf(path, sizeof path, "{\"stack_id\":%ld,\"schedule_id\":4}", stack);
    job = create_on(&srv, "/jobs", cookie, path);
    schedule = create_on(&srv, "/schedules", cookie, "{\"config\":{\"period\":600}}");
    for (int i = 0; i < 3; i++) {
        request_to(&r, &srv, "GET", lists[i], cookie, NULL, 0);
        assert_int_equal(r.status, 200);
        snprintf(before[i], sizeof before[i], "%s", r.body);
        resp_free(&r);
    }
    for (size_t m = 0; m < sizeof marks / sizeof *marks; m++) {
        const struct {
            const char *method;
            char path[64];
            const char *body;
        } writes[] = {
            {"POST", "/blockstacks", "{\"name\":\"forged\"}"},
            {"PUT", "", "{\"name\":\"forged\"}"},
            {"POST", "/jobs", "{\"stack_id\":1,\"schedule_id\":4}"},
            {"PUT", "", "{\"enabled\":true}"},
            {"DELETE", "", NULL},
            {"POST", "", NULL},
            {"POST", "/schedules", "{\"config\":{\"period\":60}}"},
            {"PUT", "", "{\"name\":\"forged\"}"},
            {"POST", "/api/v1/jobs", "{\"stack_id\":1,\"schedule_id\":4}"},
            {"POST", "/logout", NULL},
        };
        const char *const headers[] = {marks[m][0], marks[m][1], NULL};
        size_t n = sizeof writes / sizeof *writes;
        char paths[10][64];

        snprintf(paths[1], sizeof paths[1], "/blockstacks/%ld", stack);
        snprintf(paths[3], sizeof paths[3], "/jobs/%ld", job);
        snprintf(paths[4], sizeof paths[4], "/jobs/%ld", job);
        snprintf(paths[5], sizeof paths[5], "/jobs/%ld/run", job);
        snprintf(paths[7], sizeof paths[7], "/schedules/%ld", schedule);
        for (size_t i = 0; i < n; i++) {
            const char *p = writes[i].path[0] ? writes[i].path : paths[i];
            request_with(&r, &srv, writes[i].method, p, cookie, writes[i].body,
                         writes[i].body ? strlen(writes[i].body) : 0, headers);
            if (r.status != (strncmp(p, "/api/v1/", 8) == 0 ? 500 : 403) ||
                !strstr(r.body, "\"code\":140,"))
                fail_msg("%s %s with %s: %ld %s", writes[i].method, p, marks[m][0], r.status,
                         r.body);
            resp_free(&r);
        }
    }
    /* Nothing changed, and the session is still live (the forged logout did nothing). */
    for (int i = 0; i < 3; i++) {
        request_to(&r, &srv, "GET", lists[i], cookie, NULL, 0);
        assert_int_equal(r.status, 200);
        assert_string_equal(r.body, before[i]);
        resp_free(&r);
    }
    /* Reads with browser marks need no header; writes with it pass, and so do bearer tokens. */
    {
        const char *const browser[] = {"Origin: http://127.0.0.1", "Sec-Fetch-Site: same-origin",
                                       NULL};
        const char *const console[] = {"Origin: http://127.0.0.1", "Sec-Fetch-Site: same-origin",
                                       "X-Requested-With: jobs-console", NULL};
        snprintf(path, sizeof path, "/jobs/byid/%ld", job);
        request_with(&r, &srv, "GET", path, cookie, NULL, 0, browser);
        assert_int_equal(r.status, 200);
        resp_free(&r);
        request_with(&r, &srv, "POST", "/blockstacks", cookie, "{\"name\":\"csrf-ok\"}", 18,
                     console);
        EXPECT(&r, 201, "{\"id\":");
        resp_free(&r);
        request_with(&r, &srv, "POST", "/blockstacks", bearer, "{\"name\":\"csrf-bearer\"}", 22,
                     browser);
        EXPECT(&r, 201, "{\"id\":");
        resp_free(&r);
        request_with(&r, &srv, "POST", "/logout", cookie, NULL, 0, console);
        EXPECT(&r, 200, "{\"code\":0}");
        resp_free(&r);
    }
}

/* Login CSRF: a browser's login (Origin or Sec-Fetch-Site) needs X-Requested-With too. A page
 * of another site, or another port or subdomain of this one, can post a JSON body without a
 * Content-Type and so without a preflight; were that login let through, the browser would be
 * left in the page author's session. Refused before the password is checked: no cookie, and
 * not counted as a failed attempt. Scripts (no browser marks) and the console (the header) log
 * in as before. */
static void test_browser_logins_need_x_requested_with(void **state)
{
    static const char *const marks[][3] = {
        {"Origin: http://evil.example", NULL, NULL},
        {"Sec-Fetch-Site: cross-site", NULL, NULL},
        {"Sec-Fetch-Site: same-site", "Origin: http://127.0.0.1:1", NULL},
        {"Origin: http://evil.example", "X-Requested-With: ", NULL},
    };
    const char wrong[] = "{\"username\":\"bob\",\"password\":\"" WRONG_PW "\"}";
    const char right[] = "{\"username\":\"bob\",\"password\":\"" BOB_PW "\"}";
    const char *const console[] = {"Origin: http://127.0.0.1", "Sec-Fetch-Site: same-origin",
                                   "X-Requested-With: jobs-console", NULL};
    char tok[128];
    resp r;

    (void)state;
    /* Eight wrong passwords, more than bob's account may fail (5), and a right one, all
     * refused: none is counted, and the right one makes no session. */
    for (int round = 0; round < 3; round++)
        for (size_t m = 0; m < sizeof marks / sizeof *marks && (round < 2 || m == 0); m++) {
            const char *path = round == 1 ? "/api/v1/login" : "/authenticate";
            const char *body = round < 2 ? wrong : right;

            request_with(&r, &srv, "POST", path, NULL, body, strlen(body), marks[m]);
            if (r.status != (round == 1 ? 500 : 403) || !strstr(r.body, "\"code\":140,") ||
                strstr(r.headers, "Set-Cookie"))
                fail_msg("POST %s with %s: %ld %s", path, marks[m][0], r.status, r.body);
            resp_free(&r);
        }
    request_with(&r, &srv, "POST", "/authenticate", NULL, right, strlen(right), console);
    EXPECT(&r, 200, "{\"code\":0,");
    token_from(tok, sizeof tok, &r);
    remember_token(tok);
    resp_free(&r);
    request_to(&r, &srv, "POST", "/authenticate", NULL, right, strlen(right));
    EXPECT(&r, 200, "{\"code\":0,");
    token_from(tok, sizeof tok, &r);
    remember_token(tok);
    resp_free(&r);
}

static void test_session_cookie_flags(void **state)
{
    static const char *const flags[] = {"HttpOnly", "SameSite=Strict", "Path=/"};
    char attrs[256], tok[128], auth[160];
    const char body[] = "{\"username\":\"alice\",\"password\":\"" ALICE_PW "\"}";
    resp r;

    (void)state;
    request_to(&r, &srv, "POST", "/authenticate", NULL, body, strlen(body));
    EXPECT(&r, 200, "{\"code\":0,");
    token_from(tok, sizeof tok, &r);
    remember_token(tok);
    cookie_attributes(attrs, sizeof attrs, &r, "auth_tkt=");
    resp_free(&r);
    for (size_t i = 0; i < sizeof flags / sizeof *flags; i++)
        if (!has_attribute(attrs, flags[i]))
            fail_msg("the session cookie lacks %s:%s", flags[i], attrs);
    assert_true(has_attribute(attrs, "Max-Age=28800"));
    assert_null(strstr(attrs, "Domain")); /* host-only */

    /* Logging out clears the cookie with the same flags. */
    snprintf(auth, sizeof auth, "C:%s", tok);
    request_to(&r, &srv, "POST", "/logout", auth, NULL, 0);
    EXPECT(&r, 200, "{\"code\":0}");
    cookie_attributes(attrs, sizeof attrs, &r, "auth_tkt=;");
    resp_free(&r);
    for (size_t i = 0; i < sizeof flags / sizeof *flags; i++)
        if (!has_attribute(attrs, flags[i]))
            fail_msg("the cookie of the logout lacks %s:%s", flags[i], attrs);
    assert_true(has_attribute(attrs, "Max-Age=0"));
}

/* ---- HTTP boundaries on POST /authenticate ------------------------------------------------- */

/* Sends `len` bytes on a new connection, closes the sending side, and returns everything the
 * server answered until it closed (or 20 s passed). */
static char *raw_exchange(const server *s, const char *bytes, size_t len)
{
    struct sockaddr_in a;
    size_t cap = 4096, n = 0, sent = 0;
    char *buf = malloc(cap + 1);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    time_t deadline = time(NULL) + 20;

    assert_non_null(buf);
    assert_true(fd >= 0);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)s->port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    while (sent < len) {
        ssize_t k = send(fd, bytes + sent, len - sent, MSG_NOSIGNAL);
        if (k <= 0)
            break;
        sent += (size_t)k;
    }
    shutdown(fd, SHUT_WR);
    while (time(NULL) < deadline) {
        struct pollfd p = {fd, POLLIN, 0};
        ssize_t k;

        if (poll(&p, 1, 1000) <= 0)
            continue;
        if (n == cap) {
            buf = realloc(buf, (cap *= 2) + 1);
            assert_non_null(buf);
        }
        k = recv(fd, buf + n, cap - n, 0);
        if (k <= 0)
            break;
        n += (size_t)k;
    }
    close(fd);
    buf[n] = '\0';
    return buf;
}

/* How many times `needle` occurs in `hay`. */
static int count(const char *hay, const char *needle)
{
    int n = 0;

    for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += strlen(needle))
        n++;
    return n;
}

/* Every answer says X-Content-Type-Options: nosniff, once: the API's JSON (an answer, a fault,
 * a 404 of no route), the console's files, the metrics. Before, only the console's files said
 * it, and a browser could sniff a JSON answer holding a user's text as another type. */
static void test_every_answer_says_nosniff_once(void **state)
{
    static const char *const paths[] = {"/schedules", "/jobs", "/no/such/route", "/ui/",
                                        "/ui/app.js", "/metrics", "/healthz"};
    char req[128];

    (void)state;
    for (size_t i = 0; i < sizeof paths / sizeof *paths; i++) {
        int n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: t\r\n\r\n", paths[i]);
        char *answer = raw_exchange(&srv, req, (size_t)n);
        char *end = strstr(answer, "\r\n\r\n");

        if (!end)
            fail_msg("GET %s: no answer: %s", paths[i], answer);
        end[2] = '\0'; /* the head only */
        if (count(answer, "\r\nX-Content-Type-Options: nosniff\r\n") != 1)
            fail_msg("GET %s: not one nosniff in %s", paths[i], answer);
        free(answer);
    }
}

/* Every answer says when it was made (RFC 9110 6.6.1: an origin server with a clock sends
 * Date), once, in the IMF-fixdate form: the API's JSON, a fault, the console's files, the
 * metrics, and civetweb's own refusal of a request it cannot parse. Before, none did. */
static void test_every_answer_says_its_date_once(void **state)
{
    static const char *const reqs[] = {
        "GET /schedules HTTP/1.1\r\nHost: t\r\n\r\n",
        "GET /no/such/route HTTP/1.1\r\nHost: t\r\n\r\n",
        "GET /ui/app.js HTTP/1.1\r\nHost: t\r\n\r\n",
        "GET /metrics HTTP/1.1\r\nHost: t\r\n\r\n",
        "HEAD /healthz HTTP/1.1\r\nHost: t\r\n\r\n",
        "GET /schedules HTTP/9.9\r\nHost: t\r\n\r\n",
    };
    static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";

    (void)state;
    for (size_t i = 0; i < sizeof reqs / sizeof *reqs; i++) {
        time_t before = time(NULL);
        char *answer = raw_exchange(&srv, reqs[i], strlen(reqs[i]));
        time_t after = time(NULL);
        char *end = strstr(answer, "\r\n\r\n"), *date, day[4], mon[4];
        struct tm tm;
        int n = 0;

        if (!end)
            fail_msg("%s: no answer: %s", reqs[i], answer);
        end[2] = '\0'; /* the head only */
        if (count(answer, "\r\nDate: ") != 1)
            fail_msg("%s: not one Date in %s", reqs[i], answer);
        date = strstr(answer, "\r\nDate: ") + 8;
        memset(&tm, 0, sizeof tm);
        if (sscanf(date, "%3[A-Za-z], %2d %3s %4d %2d:%2d:%2d GMT\r\n%n", day, &tm.tm_mday, mon,
                   &tm.tm_year, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &n) != 7 || n != 31 ||
            strlen(day) != 3 || date[3] != ',' || !strstr(months, mon))
            fail_msg("%s: not an IMF-fixdate: %s", reqs[i], date);
        tm.tm_mon = (int)(strstr(months, mon) - months) / 3;
        tm.tm_year -= 1900;
        time_t t = timegm(&tm);
        /* the clock's second when the answer was made, between the request and the answer */
        if (t < before - 1 || t > after + 1)
            fail_msg("%s: Date %lld is not between %lld and %lld", reqs[i], (long long)t,
                     (long long)before, (long long)after);
        free(answer);
    }
}

/* No CORS preflight is granted (docs/http-api.md, Conventions, CSRF): the X-Requested-With rule
 * rests on it, since a page of another origin may add that header only after a preflight that
 * allows it. civetweb 1.15 answered every OPTIONS carrying Origin and
 * Access-Control-Request-Method itself, 200 with "Access-Control-Allow-Origin: *" and the
 * method and headers asked for echoed back, before jobs-server saw the request (unlogged, not
 * counted, without nosniff). Now such a request is refused as any OPTIONS of a route is: 405,
 * fault 102 (500 under /api/v1), with no Access-Control-* header; and no other answer carries
 * one either. */
static void test_no_cors_preflight_is_granted(void **state)
{
    static const char *const paths[] = {
        "/jobs/1",     "/jobs", "/blockstacks", "/schedules/6", "/authenticate", "/logout",
        "/jobs/1/run", "/",     "/ui/app.js",   "/metrics",     "/healthz",      "/api/v1/jobs",
        "/api/v1/login", "/blockstacks/hook/1", "/blockstacks/exec/1"};
    char req[512];

    (void)state;
    for (size_t i = 0; i < sizeof paths / sizeof *paths; i++) {
        bool kragle = strncmp(paths[i], "/api/v1/", 8) == 0;
        int n = snprintf(req, sizeof req,
                         "OPTIONS %s HTTP/1.1\r\nHost: t\r\nOrigin: http://evil.example\r\n"
                         "Access-Control-Request-Method: PUT\r\n"
                         "Access-Control-Request-Headers: x-requested-with, content-type\r\n"
                         "Connection: close\r\n\r\n",
                         paths[i]);
        char *answer = raw_exchange(&srv, req, (size_t)n);
        char *end = strstr(answer, "\r\n\r\n");

        if (!end || strncmp(answer, kragle ? "HTTP/1.1 500 " : "HTTP/1.1 405 ", 13) != 0 ||
            !strstr(end, "{\"code\":102,") || strcasestr(answer, "Access-Control-") ||
            count(answer, "\r\nX-Content-Type-Options: nosniff\r\n") != 1)
            fail_msg("a CORS preflight of %s: expected %s fault 102 without Access-Control-*, "
                     "got\n%s",
                     paths[i], kragle ? "500" : "405", answer);
        free(answer);
    }
    /* A request a page of another origin makes is answered without Access-Control-*. */
    for (size_t i = 0; i < 2; i++) {
        const char *const path = i ? "/schedules" : "/no/such/route";
        int n = snprintf(req, sizeof req,
                         "GET %s HTTP/1.1\r\nHost: t\r\nOrigin: http://evil.example\r\n"
                         "Sec-Fetch-Site: cross-site\r\nConnection: close\r\n\r\n",
                         path);
        char *answer = raw_exchange(&srv, req, (size_t)n);

        if (strcasestr(answer, "Access-Control-"))
            fail_msg("GET %s from another origin: got\n%s", path, answer);
        free(answer);
    }
}

#define CREDENTIALS "{\"username\":\"alice\",\"password\":\"" ALICE_PW "\"}"
#define AUTH_HEAD "POST /authenticate HTTP/1.1\r\nHost: t\r\n"

static void test_http_boundaries_never_log_anyone_in(void **state)
{
    static const struct {
        const char *what;
        const char *head; /* then "\r\n" and the body */
        bool chunked;     /* the body as one chunk */
        const char *want; /* the answers, in order, as "status:fault " */
    } cases[] = {
        {"Content-Length: 12abc", AUTH_HEAD "Content-Length: 12abc\r\n", false, "400:108 "},
        {"Transfer-Encoding and Content-Length",
         AUTH_HEAD "Transfer-Encoding: chunked\r\nContent-Length: 52\r\n", true, "400:108 "},
        /* RFC 9112 6.3: no body; the credentials are then read as a request line */
        {"no length", AUTH_HEAD, false, "400:2 400:108 "},
        {"Content-Length over 64 KiB (the rest of the body not sent)",
         AUTH_HEAD "Content-Length: 65537\r\n", false, "413:103 "},
        {"body shorter than its Content-Length", AUTH_HEAD "Content-Length: 99\r\n", false,
         "400:108 "},
    };
    char *before = NULL, *after, tok[128], alice[160];
    int failures = 0;

    (void)state;
    login(&srv, tok, sizeof tok, "alice", ALICE_PW);
    snprintf(alice, sizeof alice, "B:%s", tok);
    before = snapshot(&srv, alice);
    assert_non_null(before);
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char req[512], got[128] = "", *out;
        const char *p;
        int status, fault, len;

        if (cases[i].chunked)
            len = snprintf(req, sizeof req, "%s\r\n%zx\r\n%s\r\n0\r\n\r\n", cases[i].head,
                           strlen(CREDENTIALS), CREDENTIALS);
        else
            len = snprintf(req, sizeof req, "%s\r\n%s", cases[i].head, CREDENTIALS);
        out = raw_exchange(&srv, req, (size_t)len);
        for (p = out; (p = strstr(p, "HTTP/1.1 ")) != NULL;) {
            const char *body = strstr(p, "\r\n\r\n");
            if (sscanf(p, "HTTP/1.1 %d", &status) != 1 || !body ||
                sscanf(body + 4, "{\"code\":%d", &fault) != 1)
                break;
            snprintf(got + strlen(got), sizeof got - strlen(got), "%d:%d ", status, fault);
            p = body + 4;
        }
        if (strcmp(got, cases[i].want) != 0 || strstr(out, "Set-Cookie") ||
            strstr(out, ALICE_PW)) {
            print_error("%s: expected %sand no cookie, no password; got:\n%s\n", cases[i].what,
                        cases[i].want, out);
            failures++;
        }
        free(out);
    }

    /* A live token in a request that is refused whole (header block over 16 KiB) is not
     * echoed, and the session still works afterwards. */
    {
        size_t len = 0;
        char *big = malloc(20000), *out;

        assert_non_null(big);
        len = (size_t)sprintf(big, "GET /jobs HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer %s\r\n"
                                   "X-Big: ", tok);
        memset(big + len, 'x', 17000);
        len += 17000;
        len += (size_t)sprintf(big + len, "\r\n\r\n");
        out = raw_exchange(&srv, big, len);
        if (count(out, "HTTP/1.1 400 ") != 1 || !strstr(out, "{\"code\":108,") ||
            strstr(out, tok)) {
            print_error("header block over 16 KiB with a token: got\n%s\n", out);
            failures++;
        }
        free(out);
        free(big);
    }
    /* A token in the query string is no credential, and must stay out of the access log,
     * which logs the path without the query (the last test scans the logs). */
    {
        char path[160];
        resp r;

        snprintf(path, sizeof path, "/jobs?auth_tkt=%s", tok);
        request_to(&r, &srv, "GET", path, NULL, NULL, 0);
        if (r.status != 401 || strncmp(r.body, "{\"code\":100,", 11) != 0) {
            print_error("GET /jobs?auth_tkt=<token>: got %ld %s\n", r.status, r.body);
            failures++;
        }
        resp_free(&r);
    }
    /* Exactly at the header-line limit (test_http_rules.c has 70): 63 lines are served, the
     * 64th is refused (civetweb would keep 64 and drop the rest unseen). */
    for (int lines = 63; lines <= 64; lines++) {
        char req[4096], *out;
        int len = snprintf(req, sizeof req, "GET /jobs HTTP/1.1\r\nAuthorization: Bearer %s\r\n",
                           tok);

        for (int i = 2; i < lines; i++)
            len += snprintf(req + len, sizeof req - (size_t)len, "X-Line-%d: %d\r\n", i, i);
        len += snprintf(req + len, sizeof req - (size_t)len, "Host: t\r\n\r\n");
        out = raw_exchange(&srv, req, (size_t)len);
        if (lines == 63 ? strncmp(out, "HTTP/1.1 200 ", 13) != 0 || !strstr(out, "\"jobs\":[")
                        : strncmp(out, "HTTP/1.1 400 ", 13) != 0 ||
                              !strstr(out, "{\"code\":108,")) {
            print_error("%d header lines: got\n%.400s\n", lines, out);
            failures++;
        }
        free(out);
    }
    after = snapshot(&srv, alice);
    assert_non_null(after);
    assert_string_equal(before, after);
    free(before);
    free(after);
    assert_int_equal(failures, 0);
}

/* ---- "not yours" and "does not exist", byte for byte ---------------------------------------- */

/* The probe server: users alice (1) and bob (2), started once by the first test that needs it. */
static char probe_alice[160], probe_bob[160]; /* "B:<token>" */

static void probe_world(void)
{
    char tok[128];
    resp r;

    if (probe_srv.pid)
        return;
    assert_int_equal(new_data(&probe_srv), 0);
    assert_int_equal(start_server(&probe_srv, NULL), 0);
    login(&probe_srv, tok, sizeof tok, "alice", ALICE_PW);
    snprintf(probe_alice, sizeof probe_alice, "B:%s", tok);
    login(&probe_srv, tok, sizeof tok, "bob", BOB_PW);
    snprintf(probe_bob, sizeof probe_bob, "B:%s", tok);
    /* alice: stacks 1 (private), 2 (a "token" webhook), 3 (a "user" webhook); schedule 6; job 1
     * (inactive, with a manual run), job 2 (queued for deletion). bob: stack 4, job 3. */
    assert_int_equal(create_on(&probe_srv, "/blockstacks", probe_alice,
                               "{\"name\":\"" SECRET "-stack\"}"),
                     1);
    assert_int_equal(create_on(&probe_srv, "/blockstacks", probe_alice,
                               "{\"name\":\"" SECRET "-token\",\"webhook\":\"token\"}"),
                     2);
    assert_int_equal(create_on(&probe_srv, "/blockstacks", probe_alice,
                               "{\"name\":\"" SECRET "-user\",\"webhook\":\"user\"}"),
                     3);
    assert_int_equal(create_on(&probe_srv, "/schedules", probe_alice,
                               "{\"name\":\"" SECRET "-sched\",\"config\":{\"period\":600}}"),
                     6);
    assert_int_equal(create_on(&probe_srv, "/jobs", probe_alice,
                               "{\"name\":\"" SECRET "-job\",\"stack_id\":1,\"schedule_id\":6}"),
                     1);
    assert_int_equal(create_on(&probe_srv, "/jobs", probe_alice,
                               "{\"name\":\"" SECRET "-queued\",\"stack_id\":1,\"schedule_id\":4,"
                               "\"enabled\":true}"),
                     2);
    request_to(&r, &probe_srv, "DELETE", "/jobs/2", probe_alice, NULL, 0);
    EXPECT(&r, 200, "{\"queued_for_deletion\":2}");
    resp_free(&r);
    request_to(&r, &probe_srv, "POST", "/jobs/1/run", probe_alice, NULL, 0);
    EXPECT(&r, 202, "{\"run\":");
    resp_free(&r);
    assert_int_equal(create_on(&probe_srv, "/blockstacks", probe_bob, "{\"name\":\"bob-stack\"}"),
                     4);
    assert_int_equal(
        create_on(&probe_srv, "/jobs", probe_bob, "{\"stack_id\":4,\"schedule_id\":4}"), 3);
}

/* `tmpl` with each "{}" replaced by `value`. */
static void fill(char *out, size_t size, const char *tmpl, const char *value)
{
    size_t n = 0;

    for (const char *p = tmpl; *p && n + 1 < size;) {
        if (p[0] == '{' && p[1] == '}') {
            n += (size_t)snprintf(out + n, size - n, "%s", value);
            p += 2;
        } else {
            out[n++] = *p++;
        }
    }
    out[n < size ? n : size - 1] = '\0';
}

/* `text` with every occurrence of `a` and of `b` as "#": for a number, only a whole run of
 * digits (so that "Content-Length: 61" is not touched by the id 1). */
static void blank_out(char *text, const char *a, const char *b)
{
    const char *both[2] = {a, b};

    for (int t = 0; t < 2; t++) {
        const char *tok = both[t];
        size_t n = strlen(tok);
        bool number = strspn(tok, "0123456789") == n;
        char *p = text;

        while ((p = strstr(p, tok)) != NULL) {
            if (number && ((p > text && p[-1] >= '0' && p[-1] <= '9') ||
                           (p[n] >= '0' && p[n] <= '9'))) {
                p++;
                continue;
            }
            *p = '#';
            memmove(p + 1, p + n, strlen(p + n) + 1);
            p++;
        }
    }
}

/* The answer as status line, headers (without Date, the clock's) and body. */
static void answer_text(char *out, size_t size, const resp *r)
{
    size_t n = 0;

    for (const char *p = r->headers; *p && n + 1 < size;) {
        const char *end = strstr(p, "\r\n");
        size_t len = end ? (size_t)(end - p) + 2 : strlen(p);

        if (strncasecmp(p, "Date:", 5) != 0)
            n += (size_t)snprintf(out + n, size - n, "%.*s", (int)len, p);
        p += len;
    }
    if (n < size)
        snprintf(out + n, size - n, "%s", r->body);
}

typedef struct probe {
    const char *method, *path, *body, *header; /* path and body: "{}" is the thing's id or name */
    const char *mine;                          /* alice's */
    bool anon;                                 /* asked without a session; else bob's */
} probe;

/* Another user's job, schedule or stack, asked for by bob (or without a session) in every way a
 * route takes one, answers exactly as one that never existed: the same status line, headers and
 * body, byte for byte once the id or name asked for is blanked out in both. The matrix above
 * checks the status and the fault's code only; a message or a header that differed ("job 1 is
 * not yours", an ETag, a 412 for an If-Match before the owner was looked at, a 409 for alice's
 * job queued for deletion, a 409 of exec or token_refresh for alice's webhook stacks) would tell
 * bob that alice's thing exists. Under /api/v1 too, where `detail` carries the precise message.
 * The same reads by alice answer otherwise (her things exist), so the pairs are not two refusals
 * of nonsense; and alice's things are as they were. Webhooks are left out: their table tells a
 * "token" or "user" hook's caller that it exists (docs/http-api.md, Webhooks). */
static void test_not_yours_answers_byte_for_byte_as_missing(void **state)
{
#define IF_MATCH_ZERO "If-Match: \"0000000000000000\""
    static const probe probes[] = {
        {"GET", "/jobs/byid/{}", NULL, NULL, "1", false},
        {"GET", "/jobs/byid/{}", NULL, NULL, "2", false},
        {"GET", "/jobs/byname/{}", NULL, NULL, SECRET "-job", false},
        {"GET", "/jobs/byname/{}", NULL, NULL, SECRET "-queued", false},
        {"GET", "/jobs/{}/runs", NULL, NULL, "1", false},
        {"GET", "/jobs/{}/runs?page=2&pagesize=1", NULL, NULL, "1", false},
        {"POST", "/jobs/{}/run", NULL, NULL, "1", false},
        {"POST", "/jobs/{}/run", NULL, NULL, "2", false},
        {"PUT", "/jobs/{}", "{\"name\":\"x\"}", NULL, "1", false},
        {"PUT", "/jobs/{}", "{\"name\":\"x\"}", NULL, "2", false},
        {"PUT", "/jobs/{}", "{\"enabled\":true}", "If-Match: *", "1", false},
        {"PUT", "/jobs/{}", "{}", IF_MATCH_ZERO, "1", false},
        {"PUT", "/jobs/{}", "{}", "If-Match: \"stale\"", "2", false},
        {"DELETE", "/jobs/{}", NULL, IF_MATCH_ZERO, "1", false},
        {"DELETE", "/jobs/{}", NULL, "If-Match: *", "2", false},
        {"DELETE", "/jobs/{}", NULL, NULL, "1", false},
        {"GET", "/schedules/byid/{}", NULL, NULL, "6", false},
        {"PUT", "/schedules/{}", "{\"name\":\"x\"}", NULL, "6", false},
        {"PUT", "/schedules/{}", "{\"config\":{\"period\":60}}", NULL, "6", false},
        {"GET", "/blockstacks/byid/{}", NULL, NULL, "1", false},
        {"GET", "/blockstacks/byid/{}", NULL, NULL, "2", false},
        {"GET", "/blockstacks/byname/{}", NULL, NULL, SECRET "-stack", false},
        {"GET", "/blockstacks/byname/{}", NULL, NULL, SECRET "-user", false},
        {"PUT", "/blockstacks/{}", "{\"public\":true}", NULL, "1", false},
        {"PUT", "/blockstacks/{}", "{\"webhook\":null}", NULL, "3", false},
        {"GET", "/blockstacks/{}/runs", NULL, NULL, "1", false},
        {"GET", "/blockstacks/exec/{}", NULL, NULL, "1", false},
        {"GET", "/blockstacks/exec/{}", NULL, NULL, "2", false},
        {"GET", "/blockstacks/exec/{}", NULL, NULL, "3", false},
        {"GET", "/blockstacks/hook/token_refresh/{}", NULL, NULL, "1", false},
        {"GET", "/blockstacks/hook/token_refresh/{}", NULL, NULL, "2", false},
        {"GET", "/blockstacks/hook/token_refresh/{}", NULL, NULL, "3", false},
        /* alice's ids in bob's own creates and changes */
        {"POST", "/jobs", "{\"stack_id\":{},\"schedule_id\":4}", NULL, "1", false},
        {"POST", "/jobs", "{\"stack_id\":4,\"schedule_id\":{}}", NULL, "6", false},
        {"PUT", "/jobs/3", "{\"stack_id\":{}}", NULL, "1", false},
        {"PUT", "/jobs/3", "{\"schedule_id\":{}}", NULL, "6", false},
        {"POST", "/blockstacks", "{\"name\":\"b\",\"blocks\":[],\"schedule_id\":{}}", NULL, "6",
         false},
        /* without a session */
        {"GET", "/blockstacks/byid/{}", NULL, NULL, "1", true},
        {"GET", "/blockstacks/byid/{}", NULL, NULL, "3", true},
        {"GET", "/blockstacks/byname/{}", NULL, NULL, SECRET "-stack", true},
        {"GET", "/schedules/byid/{}", NULL, NULL, "6", true},
    };
    static const char *const prefixes[] = {"", "/api/v1"};
    /* (not the runs: a tick delivers alice's manual run meanwhile) */
    static const char *const views[] = {"/jobs?pagesize=100", "/schedules?pagesize=100",
                                        "/blockstacks?pagesize=100", "/jobs/byid/1",
                                        "/jobs/byid/2"};
    char before[5][4096], tmpl[256], path[2][256], body[2][256], text[2][16384];
    int failures = 0, pairs = 0;
    resp r;

    (void)state;
    probe_world();
    for (size_t v = 0; v < 5; v++) {
        request_to(&r, &probe_srv, "GET", views[v], probe_alice, NULL, 0);
        assert_int_equal(r.status, 200);
        snprintf(before[v], sizeof before[v], "%s", r.body);
        resp_free(&r);
    }
    for (int owner = 0; owner < 2; owner++) {
        /* alice's view, after bob's requests (her own reads below refresh a webhook token) */
        for (size_t v = 0; owner && v < 5; v++) {
            request_to(&r, &probe_srv, "GET", views[v], probe_alice, NULL, 0);
            assert_int_equal(r.status, 200);
            assert_string_equal(r.body, before[v]);
            resp_free(&r);
        }
        for (size_t pre = 0; pre < 2; pre++)
            for (size_t i = 0; i < sizeof probes / sizeof *probes; i++) {
                const probe *pr = &probes[i];
                /* the same number of bytes as alice's, so that Content-Length may not differ:
                 * an id never given, or alice's name with its last letter changed */
                bool number = strspn(pr->mine, "0123456789") == strlen(pr->mine);
                const char *const headers[] = {pr->header, NULL};
                const char *auth = owner ? probe_alice : pr->anon ? NULL : probe_bob;
                char never[64];
                const char *missing = number ? "9" : never;

                /* alice's own answers change things; only her reads are asked */
                if (owner && strcmp(pr->method, "GET") != 0)
                    continue;
                snprintf(never, sizeof never, "%s", pr->mine);
                never[strlen(never) - 1] = 'x';
                snprintf(tmpl, sizeof tmpl, "%s%s", prefixes[pre], pr->path);
                for (int k = 0; k < 2; k++) {
                    const char *value = k ? missing : pr->mine;

                    fill(path[k], sizeof path[k], tmpl, value);
                    if (pr->body)
                        fill(body[k], sizeof body[k], pr->body, value);
                    request_with(&r, &probe_srv, pr->method, path[k], auth,
                                 pr->body ? body[k] : NULL, pr->body ? strlen(body[k]) : 0,
                                 headers);
                    answer_text(text[k], sizeof text[k], &r);
                    blank_out(text[k], pr->mine, missing);
                    resp_free(&r);
                }
                pairs++;
                if (owner && strcmp(text[0], text[1]) == 0) {
                    print_error("alice's %s %s answers as the missing %s: the pair proves "
                                "nothing\n%s\n",
                                pr->method, path[0], path[1], text[0]);
                    failures++;
                } else if (!owner && strcmp(text[0], text[1]) != 0) {
                    print_error("%s %s%s%s (%s): alice's thing answers otherwise than one "
                                "that never existed:\n--- %s\n%s\n--- %s\n%s\n",
                                pr->method, path[0], pr->header ? " with " : "",
                                pr->header ? pr->header : "", pr->anon ? "no session" : "bob",
                                pr->mine, text[0], missing, text[1]);
                    failures++;
                }
            }
    }
    print_message("%d pairs of answers compared: %d wrong\n", pairs, failures);
    assert_int_equal(failures, 0);
#undef IF_MATCH_ZERO
}

/* Session fixation: a login hands out a token of its own making, whatever the request carried:
 * a token the client chose (a planted cookie), another user's live cookie, or another user's
 * bearer token. The planted token never becomes a session, and alice's sessions stay hers. */
static void test_a_login_never_keeps_a_token_it_was_sent(void **state)
{
    static const char bob_login[] = "{\"username\":\"bob\",\"password\":\"" BOB_PW "\"}";
    char planted[80], sent[3][160], tok[128], auth[160];
    resp r;

    (void)state;
    probe_world();
    snprintf(planted, sizeof planted, "%s", "0123456789abcdef0123456789abcdef"
                                            "0123456789abcdef0123456789abcdef");
    snprintf(sent[0], sizeof sent[0], "C:%s", planted);
    snprintf(sent[1], sizeof sent[1], "C:%s", probe_alice + 2);
    snprintf(sent[2], sizeof sent[2], "%s", probe_alice);
    for (int i = 0; i < 3; i++) {
        request_to(&r, &probe_srv, "POST", "/authenticate", sent[i], bob_login,
                   strlen(bob_login));
        EXPECT(&r, 200, "{\"code\":0,\"user_id\":2}");
        token_from(tok, sizeof tok, &r);
        remember_token(tok);
        resp_free(&r);
        assert_int_equal(strlen(tok), 64);
        assert_true(strcmp(tok, planted) != 0);
        assert_true(strcmp(tok, probe_alice + 2) != 0);
        /* the new token is bob's */
        snprintf(auth, sizeof auth, "B:%s", tok);
        request_to(&r, &probe_srv, "GET", "/jobs/byid/3", auth, NULL, 0);
        EXPECT(&r, 200, "{\"id\":3,");
        resp_free(&r);
    }
    request_to(&r, &probe_srv, "GET", "/jobs", sent[0], NULL, 0);
    EXPECT(&r, 401, "{\"code\":100,");
    resp_free(&r);
    for (int i = 1; i < 3; i++) {
        request_to(&r, &probe_srv, "GET", "/jobs/byid/1", sent[i], NULL, 0);
        EXPECT(&r, 200, "\"name\":\"" SECRET "-job\"");
        resp_free(&r);
    }
}

/* A public stack is shared, its runs and jobs are not: bob's public stack, run by a job of
 * alice's and one of bob's. Each sees their own run in the stack's history and not the other's;
 * bob's stack lists bob's job only (to its owner, in every answer that lists them), and alice
 * sees no job list of a stack she does not own. Run records carry ids only, which the matrix's
 * check for the owner's names cannot see. */
static void test_runs_and_jobs_of_a_shared_stack_stay_their_owners(void **state)
{
    char body[96], path[64], want[64];
    long stack, alice_job, bob_job;
    resp r;

    (void)state;
    probe_world();
    stack = create_on(&probe_srv, "/blockstacks", probe_bob,
                      "{\"name\":\"bob-shared\",\"public\":true}");
    snprintf(body, sizeof body, "{\"stack_id\":%ld,\"schedule_id\":4}", stack);
    alice_job = create_on(&probe_srv, "/jobs", probe_alice, body);
    bob_job = create_on(&probe_srv, "/jobs", probe_bob, body);
    for (int who = 0; who < 2; who++) {
        snprintf(path, sizeof path, "/jobs/%ld/run", who ? bob_job : alice_job);
        request_to(&r, &probe_srv, "POST", path, who ? probe_bob : probe_alice, NULL, 0);
        EXPECT(&r, 202, "{\"run\":");
        resp_free(&r);
    }
    snprintf(path, sizeof path, "/blockstacks/%ld/runs", stack);
    for (int who = 0; who < 2; who++) {
        request_to(&r, &probe_srv, "GET", path, who ? probe_bob : probe_alice, NULL, 0);
        EXPECT(&r, 200, "{\"count\":1,");
        snprintf(want, sizeof want, "\"job\":%ld,", who ? bob_job : alice_job);
        EXPECT(&r, 200, want);
        resp_free(&r);
    }
    snprintf(want, sizeof want, "\"jobs\":[{\"id\":%ld,", bob_job);
    snprintf(path, sizeof path, "/blockstacks/byid/%ld", stack);
    request_to(&r, &probe_srv, "GET", path, probe_bob, NULL, 0);
    EXPECT(&r, 200, want);
    assert_int_equal(count(r.body, "\"do_run\":"), 1); /* bob's job, and no other */
    resp_free(&r);
    snprintf(path, sizeof path, "/blockstacks/%ld", stack);
    request_to(&r, &probe_srv, "PUT", path, probe_bob, "{}", 2);
    EXPECT(&r, 200, want);
    assert_int_equal(count(r.body, "\"do_run\":"), 1);
    resp_free(&r);
    request_to(&r, &probe_srv, "GET", "/blockstacks/byname/bob-shared", probe_bob, NULL, 0);
    EXPECT(&r, 200, want);
    assert_int_equal(count(r.body, "\"do_run\":"), 1);
    resp_free(&r);
    /* bob's stacks in a page: bob-stack with its job 3, bob-shared with bob's job only */
    request_to(&r, &probe_srv, "GET", "/blockstacks?pagesize=100", probe_bob, NULL, 0);
    EXPECT(&r, 200, "\"name\":\"bob-shared\"");
    assert_int_equal(count(r.body, "\"do_run\":"), 2);
    resp_free(&r);
    snprintf(path, sizeof path, "/blockstacks/byid/%ld", stack);
    request_to(&r, &probe_srv, "GET", path, probe_alice, NULL, 0);
    EXPECT(&r, 200, "\"name\":\"bob-shared\"");
    assert_null(strstr(r.body, "\"jobs\""));
    assert_null(strstr(r.body, "\"webhook_token\""));
    resp_free(&r);
}

/* ---- files --------------------------------------------------------------------------------- */

static int bad_modes;

static int check_mode(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    mode_t want = S_ISDIR(st->st_mode) ? 0700 : 0600;

    (void)flag;
    (void)ftw;
    if ((st->st_mode & 07777) != want) {
        print_error("%s has mode %04o, expected %04o\n", path, (unsigned)(st->st_mode & 07777),
                    (unsigned)want);
        bad_modes++;
    }
    return 0;
}

/* Under umask 0, so that the modes are the server's own choice: the data directory (which
 * `user add` creates), the store and its files (which hold the users and sessions, written
 * while the server runs). No other file is written (no users file any more); the test would see
 * one, since it checks every entry. */
static void test_data_files_are_private_even_under_umask_0(void **state)
{
    static const char dave[] = "{\"username\":\"dave\",\"password\":\"" CAROL_PW "-dave\"}";
    char parent[32] = "/tmp/jobs-sec-XXXXXX", log[128], tok[128], auth[160], path[128];
    server *s = &umask_srv;
    struct stat st;
    mode_t old;
    resp r;

    (void)state;
    assert_non_null(mkdtemp(parent));
    remember_root(parent);
    snprintf(s->dir, sizeof s->dir, "%s/data", parent);
    snprintf(log, sizeof log, "%s/user-add.log", parent);
    old = umask(0);
    assert_int_equal(add_user_logged(s->dir, log, "carol", CAROL_PW), 0);
    assert_int_equal(start_server(s, NULL), 0);
    umask(old);
    login(s, tok, sizeof tok, "carol", CAROL_PW);
    snprintf(auth, sizeof auth, "B:%s", tok);
    create_on(s, "/blockstacks", auth, "{\"name\":\"carol-stack\"}");
    old = umask(0);
    assert_int_equal(add_user_logged(s->dir, log, "dave", CAROL_PW "-dave"), 0);
    umask(old);
    request_to(&r, s, "POST", "/authenticate", NULL, dave, strlen(dave));
    EXPECT(&r, 200, "{\"code\":0,\"user_id\":2}");
    token_from(tok, sizeof tok, &r);
    remember_token(tok);
    resp_free(&r);

    assert_true(snprintf(path, sizeof path, "%s/users", s->dir) < (int)sizeof path);
    assert_int_not_equal(access(path, F_OK), 0); /* users are in the store */
    assert_true(snprintf(path, sizeof path, "%s/store/data.mdb", s->dir) < (int)sizeof path);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    assert_int_equal(stat(s->dir, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0700);
    assert_true(snprintf(path, sizeof path, "%s/users.tmp", s->dir) < (int)sizeof path);
    assert_int_not_equal(access(path, F_OK), 0); /* no temp file left behind */
    bad_modes = 0;
    assert_int_equal(nftw(s->dir, check_mode, 16, FTW_PHYS), 0);
    assert_int_equal(bad_modes, 0);
    assert_int_equal(halt_server(s), 0);
}

/* ---- logs ---------------------------------------------------------------------------------- */

static int leaks, files_scanned, log_lines;

/* The contents of a file, NUL-terminated (NULs inside are kept: use memmem). */
static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *b = NULL;
    size_t cap = 0, n = 0, k;

    assert_non_null(f);
    do {
        if (n == cap) {
            b = realloc(b, (cap = cap ? 2 * cap : 65536) + 1);
            assert_non_null(b);
        }
        k = fread(b + n, 1, cap - n, f);
        n += k;
    } while (k > 0);
    fclose(f);
    b[n] = '\0';
    *len = n;
    return b;
}

static void find_leak(const char *path, const char *data, size_t len, const char *what,
                      const char *secret, size_t secret_len)
{
    if (memmem(data, len, secret, secret_len)) {
        print_error("%s contains %s %.*s\n", path, what, (int)secret_len, secret);
        leaks++;
    }
}

static int scan_file(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    size_t len, plen = strlen(path);
    bool is_log = plen > 4 && strcmp(path + plen - 4, ".log") == 0;
    char *data;

    (void)ftw;
    if (flag != FTW_F || !S_ISREG(st->st_mode))
        return 0;
    data = slurp(path, &len);
    files_scanned++;
    for (size_t i = 0; i < sizeof passwords / sizeof *passwords; i++)
        find_leak(path, data, len, "the password", passwords[i], strlen(passwords[i]));
    /* A token in full, or its first or last 16 digits (a log that shortens it) */
    for (size_t i = 0; i < ntokens; i++) {
        find_leak(path, data, len, "a token's start", tokens[i], 16);
        find_leak(path, data, len, "a token's end", tokens[i] + 48, 16);
    }
    if (is_log) {
        find_leak(path, data, len, "an Argon2id hash", "$argon2id$", 10);
        find_leak(path, data, len, "an Argon2 hash", "argon2", 6);
        for (size_t i = 0; i < len; i++)
            log_lines += data[i] == '\n';
    } else if (plen > 9 && strcmp(path + plen - 9, "/data.mdb") == 0 &&
               !memmem(data, len, "$argon2id$", 10)) {
        /* The store holds the users (their hashes) and the sessions (hashes of tokens only). */
        print_error("%s has no Argon2id hash: the scan for them would prove nothing\n", path);
        leaks++;
    }
    free(data);
    return 0;
}

/* Last: every server of this program has stopped (so its logs are complete). */
static void test_no_password_token_or_hash_in_any_log(void **state)
{
    (void)state;
    assert_int_equal(halt_server(&srv), 0);
    assert_int_equal(halt_server(&probe_srv), 0);
    assert_true(ntokens >= LOGINS);
    leaks = files_scanned = log_lines = 0;
    for (size_t i = 0; i < nroots; i++)
        assert_int_equal(nftw(roots[i], scan_file, 16, FTW_PHYS), 0);
    print_message("%d files of %zu data directories scanned (%d log lines) for %zu passwords "
                  "and %zu tokens: %d found\n",
                  files_scanned, nroots, log_lines, sizeof passwords / sizeof *passwords,
                  ntokens, leaks);
    assert_true(files_scanned >= 4 * 3);
    assert_int_equal(leaks, 0);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_route_under_each_credential_state),
        cmocka_unit_test(test_expired_sessions_are_refused_on_every_route),
        cmocka_unit_test(test_session_tokens_are_256_random_bits),
        cmocka_unit_test(test_session_cookie_flags),
        cmocka_unit_test(test_every_answer_says_nosniff_once),
        cmocka_unit_test(test_every_answer_says_its_date_once),
        cmocka_unit_test(test_browser_cookie_writes_need_x_requested_with),
        cmocka_unit_test(test_no_cors_preflight_is_granted),
        cmocka_unit_test(test_browser_logins_need_x_requested_with),
        cmocka_unit_test(test_http_boundaries_never_log_anyone_in),
        cmocka_unit_test(test_not_yours_answers_byte_for_byte_as_missing),
        cmocka_unit_test(test_a_login_never_keeps_a_token_it_was_sent),
        cmocka_unit_test(test_runs_and_jobs_of_a_shared_stack_stay_their_owners),
        cmocka_unit_test(test_data_files_are_private_even_under_umask_0),
        cmocka_unit_test(test_no_password_token_or_hash_in_any_log),
    };

    if (argc != 2) {
        fprintf(stderr, "usage: %s PATH-TO-jobs-server\n", argv[0]);
        return 2;
    }
    server_bin = argv[1];
    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
