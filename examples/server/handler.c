/* Routing, authentication, parameter parsing and fault mapping of the HTTP API. Every JSON body,
 * the login body included, goes through the library's jobs_json_* functions. */
#include "credentials.h"
#include "handler.h"
#include "hook.h"
#include "route.h"
#include "static.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <sodium.h>

/* ---- responses ----------------------------------------------------------------------------- */

const char *srv_status_text(int status)
{
    switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 412: return "Precondition Failed";
    case 413: return "Content Too Large";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Content";
    case 429: return "Too Many Requests";
    case 503: return "Service Unavailable";
    case 507: return "Insufficient Storage";
    default: return status < 500 ? "Bad Request" : "Internal Server Error";
    }
}

void srv_response_free(srv_response *res)
{
    free(res->body);
    res->body = NULL;
    res->body_len = 0;
}

/* The format attribute lets clang's -Wformat-nonliteral (-Wformat=2) accept the vsnprintf. */
__attribute__((format(printf, 2, 3)))
static void add_header(srv_response *res, const char *fmt, ...)
{
    size_t len = strlen(res->headers);
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(res->headers + len, sizeof res->headers - len, fmt, ap);
    va_end(ap);
}

/* Takes ownership of `json` (from a jobs_json_* encoder). */
static void set_body(srv_response *res, int status, char *json)
{
    free(res->body);
    if (!json) {
        char oom[64];
        int n = snprintf(oom, sizeof oom, "{\"code\":%d,\"msg\":\"out of memory\"}",
                         SRV_FAULT_INTERNAL);

        status = 500;
        if ((json = malloc((size_t)n + 1)) != NULL)
            memcpy(json, oom, (size_t)n + 1);
    }
    res->status = status;
    res->body = json;
    res->body_len = json ? strlen(json) : 0;
}

int srv_fault_status(int fault)
{
    switch (fault) {
#define SRV__FAULT_CASE(name, number, status) \
    case SRV_FAULT_##name: return (status);
        SRV_FAULT_MAP(SRV__FAULT_CASE)
#undef SRV__FAULT_CASE
    default: return 500;
    }
}

/* ---- the Kragle profile --------------------------------------------------------------------- */

/* The messages of the original service's Faults page, codes 1..27, word for word: a client
 * written against it may compare them. */
static const char *const kragle_msgs[28] = {
    [1] = "You have made a bad request - Please check your query params and try again.",
    [2] = "Your request body contained invalid or inappropriate JSON - please check your request "
          "and try again.",
    [3] = "That user does not exist or the specified password is incorrect.",
    [4] = "Your json request payload is inappropriate for the requested operation.",
    [5] = "There is already a Type with that name or you have specified a bad name... please try "
          "again.",
    [6] = "The specified object does not exist.",
    [7] = "Could not retrieve valid JSON from specified remote URL.",
    [8] = "The provided JSON structure for a Type was invalid.",
    [9] = "The provided JSON structure for a Block was invalid.",
    [10] = "The named Stack already exists.",
    [11] = "The Stack contained a Block with invalid \"extra\" args.",
    [12] = "The named Job already exists.",
    [13] = "You may only use one \"uri\" type Action per Block.",
    [14] = "Bad input to validation utility.",
    [15] = "Bad input to conversion utility.",
    [16] = "The provided schema (or schema url) is not a valid JSON Schema.",
    [17] = "Your conversion produced an error.",
    [18] = "Your validation produced an error.",
    [19] = "The uri provided for a JSON Schema was invalid or a json object could not be loaded "
           "from the response.",
    [20] = "The type you are trying to modify is already approved (public) - you can not modify "
           "\"is_remote\" or \"definition\"!",
    [21] = "The schema uri you passed was invalid or a json object could not be loaded from the "
           "result.",
    [22] = "You passed a non-existent Block type in your list of Blocks for a Stack.",
    [23] = "One of the specified Blocks used in your Stack does not exist, or does not belong to "
           "you and is not public.",
    [24] = "The specified Stack used in your Job does not exist, or does not belong to you and is "
           "not public.",
    [25] = "The specified Schedule used in your Job does not exist, or does not belong to you and "
           "is not public.",
    [26] = "The specified config element for the Schedule you are trying to create is invalid.",
    [27] = "The Schedule you are trying to update still has Jobs which reference it - cannot "
           "update!",
};

const char *srv_kragle_msg(int fault)
{
    return fault >= 1 && fault <= 27 ? kragle_msgs[fault] : NULL;
}

/* ---- faults -------------------------------------------------------------------------------- */

/* A fault's body and status. In the Kragle profile the status is always 500, and a documented
 * code gets the documented message with ours as `detail`. */
static void fault_body(srv_response *res, const srv_app *app, int fault, const char *msg)
{
    const char *doc = res->kragle ? srv_kragle_msg(fault) : NULL;
    char *json = NULL;

    if (doc)
        jobs_json_encode_fault_detail(&json, fault, doc, msg);
    else
        jobs_json_encode_fault(&json, fault, msg);
    /* The original's Stacks page names one status of its own: 403 for a stack that is not
     * public, asked for without a session. */
    int status = res->kragle ? (fault == SRV_FAULT_LOGIN_TO_SEE ? 403 : 500)
                 : app->fault_status_500 ? 500 : srv_fault_status(fault);

    /* A 401 names how to authenticate (RFC 9110, 11.6.1): a session token as a bearer token
     * (the cookie has no scheme of its own). Bearer, unlike Basic, opens no browser dialog. */
    if (status == 401)
        add_header(res, "WWW-Authenticate: Bearer realm=\"jobs-server\"\r\n");
    set_body(res, status, json);
}

void srv_fault(srv_response *res, const srv_app *app, int fault, const char *msg)
{
    fault_body(res, app, fault, msg);
}

/* Says a detail that a fault's answer leaves out on stderr: at most one line a second (an
 * outage fails every request), with the number of others left out since. */
static void log_detail(int code, int fault, const char *msg)
{
    static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    static time_t last;
    static unsigned long skipped;
    time_t now = time(NULL);

    pthread_mutex_lock(&mu);
    if (now == last) {
        skipped++;
    } else {
        if (skipped)
            fprintf(stderr, "jobs-server: (%lu more such faults within that second)\n",
                    skipped);
        fprintf(stderr, "jobs-server: answered fault %d, %s: %s\n", fault, jobs_strerror(code),
                msg);
        last = now;
        skipped = 0;
    }
    pthread_mutex_unlock(&mu);
}

void srv_code_fault(srv_response *res, const srv_app *app, int code, const char *msg)
{
    int fault = jobs_fault_code(code);

    /* Internal errors and an unreachable database get the fixed message: their detail may
     * name paths or internals (a file, the database's socket path or host and port), which
     * are no client's business. The detail goes to stderr. */
    if (fault == SRV_FAULT_INTERNAL || fault == SRV_FAULT_UNAVAILABLE || !msg || !*msg) {
        if (msg && *msg && strcmp(msg, jobs_strerror(code)) != 0)
            log_detail(code, fault, msg);
        msg = jobs_strerror(code);
    }
    fault_body(res, app, fault, msg);
}

void srv_lib_fault(srv_response *res, const srv_app *app, int code)
{
    srv_code_fault(res, app, code, jobs_error_last());
}

/* Sets the body from an encoder's result. */
static void encoded(srv_response *res, const srv_app *app, int status, int rc, char *json)
{
    if (rc != 0) {
        jobs_json_free(json);
        srv_lib_fault(res, app, rc);
        return;
    }
    set_body(res, status, json);
}

/* ---- authentication ------------------------------------------------------------------------ */

/* Who a request says it is. The Authorization header wins when it holds a bearer token (a
 * client that sends one means it; a browser's cookie may be stale), else the first auth_tkt
 * cookie; another cookie with a token of another live session beside it is a second identity
 * in one request, which is refused. So is a malformed `Authorization: Bearer` header: the
 * client meant a token, and the server does not guess which part of the header it was. */
typedef struct identity {
    const char *token;    /* the session token that counts, or NULL */
    size_t len;
    uint64_t user;        /* its live session's user, or 0 */
    const char *conflict; /* credentials that are refused (a second identity beside the token,
                           * a malformed bearer header): the fault's message, else NULL */
} identity;

/* Reads the request's session(s): 0, or the store's JOBS_E* code (then `id` names nobody). */
static int identify(identity *id, srv_app *app, const srv_request *req, time_t now)
{
    size_t blen = 0, clen = 0;
    const char *bearer;
    const char *cookie = srv_find_cookie_token(&clen, req->cookie);
    uint64_t other;
    unsigned more = 0;
    int rc;

    memset(id, 0, sizeof(*id));
    if (srv_find_bearer(&bearer, &blen, req->authorization) == SRV_BEARER_MALFORMED) {
        id->conflict = "malformed Authorization header: send the scheme Bearer, a space and "
                       "the session token alone";
        return 0;
    }
    id->token = bearer ? bearer : cookie;
    id->len = bearer ? blen : clen;
    if (id->token && (rc = srv_session_lookup(&id->user, app->sessions, id->token, id->len, now)))
        return rc;
    /* Every auth_tkt cookie but the token that counts (a browser sends several when another
     * path or domain of the site set one too). A stale one does not count; a live one of
     * another user (or beside a dead token) is a second identity. At most three are read (one
     * read of the store each): a header of more is refused, not hundreds of reads. */
    for (; cookie && !id->conflict; cookie = srv_find_cookie_token(&clen, cookie + clen)) {
        if (cookie == id->token || (bearer && blen == clen && memcmp(bearer, cookie, blen) == 0))
            continue;
        if (++more > 3) {
            id->conflict = "more than four auth_tkt cookies in the Cookie header; send one";
            break;
        }
        if ((rc = srv_session_lookup(&other, app->sessions, cookie, clen, now))) {
            id->user = 0;
            return rc;
        }
        if (other != 0 && other != id->user)
            id->conflict = bearer ? "the auth_tkt cookie and the Authorization header name "
                                    "different sessions; send one of them"
                                  : "two auth_tkt cookies name different sessions; send one of "
                                    "them";
    }
    return 0;
}

/* The user of the request, or 0; false (the fault in `res`) when the request carries two
 * identities, or when the store could not be read (503 when the database is down, not 401). */
static bool caller(uint64_t *user, srv_response *res, srv_app *app, const srv_request *req)
{
    identity id;
    int rc = identify(&id, app, req, time(NULL));

    *user = 0;
    if (rc) {
        srv_lib_fault(res, app, rc);
        return false;
    }
    if (id.conflict) {
        srv_fault(res, app, SRV_FAULT_UNAUTH, id.conflict);
        return false;
    }
    *user = id.user;
    return true;
}

/* The throttle key of a login: the account ("a:<id>") whichever of its name or email named it,
 * or the spelling of an unknown one, so that unknown names are throttled just like accounts. */
static void account_key(char *out, size_t size, const srv_account *a, const srv_credentials *c)
{
    if (a->id)
        snprintf(out, size, "a:%" PRIu64, a->id);
    else if (c->username)
        snprintf(out, size, "n:u:%s", c->username);
    else
        snprintf(out, size, "n:e:%s", c->email);
}

/* Checks a login body {"username"|"email", "password"}: throttled per client address and per
 * account, the attempt counted before the password is hashed, and never waiting for a hashing
 * slot (503 with Retry-After when none is free). The account is looked up once, first: when the
 * store cannot be read (the database is down) the login answers the store's fault (503, 128)
 * without counting an attempt or hashing anything, since no password can be checked. True with
 * *id set (and, when `stamp` is not NULL, the stamp of the password checked, for the session's
 * transaction), else the fault is in `res`. */
static bool check_login(uint64_t *id, unsigned char *stamp, srv_response *res, srv_app *app,
                        const srv_request *req, const char *body, size_t len)
{
    srv_credentials *c;
    char msg[SRV_CREDENTIALS_MSG_MAX], key[SRV_THROTTLE_KEY_MAX + 1];
    srv_throttle_attempt at;
    srv_account acct = {0};
    time_t now = time(NULL);
    unsigned retry = 1;
    bool ok = false;
    int rc;

    *id = 0;
    if (len > JOBS_JSON_BODY_MAX) {
        srv_fault(res, app, SRV_FAULT_TOO_LARGE, "request body is larger than 64 KiB");
        return false;
    }
    /* On the heap (it is 1.5 KiB and holds the password), wiped before it is freed. */
    if (!(c = malloc(sizeof *c))) {
        srv_fault(res, app, SRV_FAULT_INTERNAL, "out of memory");
        return false;
    }
    if ((rc = srv_decode_credentials(c, body, len, msg, sizeof msg)) != 0) {
        srv_code_fault(res, app, rc, msg);
        goto out;
    }
    if ((rc = srv_users_find(app->users, &acct, c->username, c->email)) != 0) {
        srv_lib_fault(res, app, rc);
        goto out;
    }
    account_key(key, sizeof key, &acct, c);
    if (app->throttle) {
        srv_gate g = srv_throttle_begin(app->throttle, key, req->remote, now, &retry, &at);
        if (g == SRV_GATE_LOCKED) {
            add_header(res, "Retry-After: %u\r\n", retry);
            srv_fault(res, app, SRV_FAULT_THROTTLED, "too many failed attempts; try again later");
            goto out;
        }
        if (g == SRV_GATE_FULL || g == SRV_GATE_BUSY) {
            add_header(res, "Retry-After: %u\r\n", retry);
            srv_fault(res, app, SRV_FAULT_BUSY, "too many logins at once; try again later");
            goto out;
        }
    }
    /* Every attempt begun is ended: a failure, one not checked, or a success (below). */
    switch (srv_users_verify(app->users, id, &acct, c->password)) {
    case SRV_VERIFY_BUSY:
        if (app->throttle)
            srv_throttle_unchecked(app->throttle, &at, now);
        add_header(res, "Retry-After: 1\r\n");
        srv_fault(res, app, SRV_FAULT_BUSY, "too many logins at once; try again later");
        goto out;
    case SRV_VERIFY_WRONG:
        if (app->throttle)
            srv_throttle_failure(app->throttle, &at, now);
        srv_fault(res, app, SRV_FAULT_LOGIN, "unknown user or wrong password");
        goto out;
    case SRV_VERIFY_OK:
        break;
    }
    /* Failures counted while this one was checked may have locked the account: then the right
     * password was one of a burst past the limit, and does not log in either. */
    if (app->throttle && !srv_throttle_success(app->throttle, &at, now, &retry)) {
        *id = 0;
        add_header(res, "Retry-After: %u\r\n", retry);
        srv_fault(res, app, SRV_FAULT_THROTTLED, "too many failed attempts; try again later");
        goto out;
    }
    if (stamp)
        memcpy(stamp, acct.stamp, SRV_STAMP_LEN);
    ok = true;
out:
    sodium_memzero(&acct, sizeof acct);
    sodium_memzero(c, sizeof *c);
    free(c);
    return ok;
}

/* POST /authenticate: a login that starts a session. */
static void route_authenticate(srv_response *res, srv_app *app, const srv_request *req)
{
    char *json = NULL;
    char token[SRV_TOKEN_LEN + 1];
    unsigned char stamp[SRV_STAMP_LEN];
    uint64_t id = 0;
    int rc;

    if (!check_login(&id, stamp, res, app, req, req->body, req->body_len))
        return;
    /* The password may have changed while it was checked (`jobs-server user passwd`, which ends
     * the user's sessions): the one checked is no longer the user's, and starts no session. The
     * store may fail here too (a PostgreSQL store's database gone in between): answered as any
     * store failure (503, fault 128), not as memory. */
    rc = srv_session_create(token, app->sessions, id, time(NULL), app->session_ttl, stamp);
    if (rc == JOBS_ECHANGED) {
        srv_fault(res, app, SRV_FAULT_LOGIN, "unknown user or wrong password");
        return;
    }
    if (rc) {
        srv_lib_fault(res, app, rc);
        return;
    }
    add_header(res, "Set-Cookie: auth_tkt=%s; HttpOnly; SameSite=Strict; Path=/; Max-Age=%u%s\r\n",
               token, app->session_ttl, req->is_tls ? "; Secure" : "");
    sodium_memzero(token, sizeof token);
    res->user = id;
    json = malloc(64);
    if (json)
        snprintf(json, 64, "{\"code\":0,\"user_id\":%" PRIu64 "}", id);
    set_body(res, 200, json);
}

/* Inline authentication: a body {"auth": {...}, "payload": ...} authenticates this one request
 * (a login, throttled the same way, one Argon2id verification each time) and `payload` is the
 * route's body. Sets *inner to the request the route sees and *owner to its user (0 when the
 * body is no envelope: the session decides). False when the fault is in `res`. */
static bool inline_auth(srv_request *inner, uint64_t *owner, srv_response *res, srv_app *app,
                        const srv_request *req)
{
    jobs_json_span auth, payload;
    bool envelope = false;
    uint64_t session;
    int rc;

    *inner = *req;
    *owner = 0;
    if (!req->body || req->body_len == 0)
        return true;
    if ((rc = jobs_json_split_envelope(&envelope, &auth, &payload, req->body, req->body_len))) {
        srv_lib_fault(res, app, rc);
        return false;
    }
    if (!envelope)
        return true;
    if (!check_login(owner, NULL, res, app, req, auth.at, auth.len))
        return false;
    /* One request acts for one user: a session of someone else beside it is refused. */
    if (!caller(&session, res, app, req)) {
        *owner = 0;
        return false;
    }
    if (session && session != *owner) {
        *owner = 0;
        srv_fault(res, app, SRV_FAULT_UNAUTH,
                  "the session and the inline credentials are of different users");
        return false;
    }
    inner->body = payload.at;
    inner->body_len = payload.len;
    return true;
}

static void route_logout(srv_response *res, srv_app *app, const srv_request *req)
{
    identity id;
    char *json;
    int rc;

    /* The user is read before the session ends, for the access log. A store that cannot be
     * read or written answers its fault (503, 128 while the database is down), never 401: a
     * client takes 401 for "already logged out" and drops a token that would live on. */
    if ((rc = identify(&id, app, req, time(NULL))) != 0) {
        srv_lib_fault(res, app, rc);
        return;
    }
    if (id.conflict) {
        srv_fault(res, app, SRV_FAULT_UNAUTH, id.conflict);
        return;
    }
    rc = id.token ? srv_session_end(app->sessions, id.token, id.len) : JOBS_ENOTFOUND;
    if (rc == JOBS_ENOTFOUND) {
        srv_fault(res, app, SRV_FAULT_UNAUTH, "not authenticated");
        return;
    }
    if (rc) {
        srv_lib_fault(res, app, rc);
        return;
    }
    res->user = id.user;
    add_header(res, "Set-Cookie: auth_tkt=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0%s\r\n",
               req->is_tls ? "; Secure" : "");
    json = malloc(sizeof "{\"code\":0}");
    if (json)
        strcpy(json, "{\"code\":0}");
    set_body(res, 200, json);
}

/* ---- resources ----------------------------------------------------------------------------- */

/* The ETag header of a job answer: the job's entity tag as 16 hex digits, quoted. */
static void add_etag(srv_response *res, const jobs_job *j)
{
    add_header(res, "ETag: \"%016" PRIx64 "\"\r\n", j->etag);
}

/* The If-Match condition of a PUT or DELETE of a job, as the entity tag to pass to
 * jobs_update_if()/jobs_delete_if(): 0 when there is no header or it is `*`. For a list of tags,
 * the job's current tag when it is one of them; the library then checks it again in the write's
 * own transaction, so a change in between still answers 412. Returns true to go on; otherwise
 * the fault is in `res`. */
static bool job_condition(uint64_t *if_match, srv_response *res, srv_app *app, uint64_t owner,
                          uint64_t id, const srv_request *req)
{
    uint64_t tags[SRV_IF_MATCH_MAX];
    jobs_job *j = NULL;
    size_t n;
    bool any;
    int rc;

    *if_match = 0;
    if (!req->if_match)
        return true;
    _Static_assert(SRV_IF_MATCH_MAX == 16 && SRV_IF_MATCH_EMPTY_MAX == 16,
                   "the message below names the bounds");
    if (!srv_parse_if_match(&any, tags, &n, req->if_match)) {
        srv_fault(res, app, SRV_FAULT_PARAM,
                  "If-Match must be * or a list of at most 16 entity tags as ETag gives them "
                  "(and at most 16 empty items)");
        return false;
    }
    if (any)
        return true;
    if ((rc = jobs_get(&j, app->store, owner, id))) {
        srv_lib_fault(res, app, rc);
        return false;
    }
    for (size_t i = 0; i < n && !*if_match; i++)
        if (tags[i] == j->etag)
            *if_match = j->etag;
    jobs_job_free(j);
    if (!*if_match) {
        srv_fault(res, app, SRV_FAULT_CHANGED,
                  "the job has changed: If-Match does not name its current ETag");
        return false;
    }
    return true;
}

/* ---- jobs with their run settings (docs/runs.md) ------------------------------------------ */

/* One job's JSON with its delivery and misfire settings. */
static int job_json(char **json, srv_app *app, uint64_t owner, const jobs_job *j,
                    unsigned flags)
{
    jobs_job_policy p = JOBS_JOB_POLICY_INIT;
    int rc = jobs_job_policy_get(&p, app->store, owner, j->id);

    return rc ? rc : jobs_json_encode_job_with_policy(json, j, &p, flags);
}

/* ---- stacks as the original service shows them ------------------------------------------- */

/* The owner's jobs, all of them, as pages kept until stack_jobs_free(): the `jobs` member of a
 * stack the caller owns is the owner's jobs of that stack. O(the owner's jobs) per answer. */
typedef struct stack_jobs {
    jobs_job_page **pages;
    size_t npages;
    jobs_job *pick; /* the jobs of one stack (shallow copies into the pages) */
} stack_jobs;

static void stack_jobs_free(stack_jobs *sj)
{
    for (size_t i = 0; i < sj->npages; i++)
        jobs_job_page_free(sj->pages[i]);
    free(sj->pages);
    free(sj->pick);
    memset(sj, 0, sizeof *sj);
}

static int stack_jobs_load(stack_jobs *sj, srv_app *app, uint64_t owner)
{
    size_t total = 0;
    int rc;

    memset(sj, 0, sizeof *sj);
    for (uint64_t page = 1;; page++) {
        jobs_job_page *p = NULL, **grown;
        if ((rc = jobs_list(&p, app->store, owner, page, 1000)) != 0)
            return rc;
        if (p->n == 0) {
            jobs_job_page_free(p);
            break;
        }
        if (!(grown = realloc(sj->pages, (sj->npages + 1) * sizeof *grown))) {
            jobs_job_page_free(p);
            return JOBS_ENOMEM;
        }
        sj->pages = grown;
        sj->pages[sj->npages++] = p;
        total += p->n;
    }
    if (total && !(sj->pick = malloc(total * sizeof *sj->pick)))
        return JOBS_ENOMEM;
    return 0;
}

/* The jobs of stack `id` into sj->pick; returns how many. */
static size_t stack_jobs_of(stack_jobs *sj, uint64_t id)
{
    size_t n = 0;

    for (size_t i = 0; i < sj->npages; i++)
        for (size_t k = 0; k < sj->pages[i]->n; k++)
            if (sj->pages[i]->jobs[k].stack == id)
                sj->pick[n++] = sj->pages[i]->jobs[k];
    return n;
}

/* One stack's JSON as `caller` (0: anonymous) may see it: the owner sees its token and jobs. */
static int stack_json(char **json, srv_app *app, const jobs_stack_detail *d, uint64_t caller,
                      stack_jobs *sj)
{
    stack_jobs mine;
    size_t n;
    int rc;

    *json = NULL;
    if (!caller || d->owner != caller)
        return jobs_json_encode_stack_detail(json, d, 0, NULL, 0);
    if (!sj) {
        if ((rc = stack_jobs_load(&mine, app, caller)) == 0) {
            n = stack_jobs_of(&mine, d->id);
            rc = jobs_json_encode_stack_detail(json, d, JOBS_JSON_STACK_OWNER, mine.pick, n);
        }
        stack_jobs_free(&mine);
        return rc;
    }
    n = stack_jobs_of(sj, d->id);
    return jobs_json_encode_stack_detail(json, d, JOBS_JSON_STACK_OWNER, sj->pick, n);
}

/* GET /blockstacks: a page of jobs_stack_list(), each stack with its details. */
static int stack_page_json(char **json, srv_app *app, uint64_t owner, uint64_t page,
                           uint32_t size)
{
    jobs_stack_page *p = NULL;
    stack_jobs sj = {0};
    char **items = NULL;
    int rc;

    *json = NULL;
    if ((rc = jobs_stack_list(&p, app->store, owner, page, size)) != 0)
        return rc;
    if (p->n && !(items = calloc(p->n, sizeof *items)))
        rc = JOBS_ENOMEM;
    /* The owner's jobs are read only when the page holds one of the caller's stacks. */
    for (size_t i = 0; rc == 0 && owner && i < p->n; i++)
        if (p->stacks[i].owner == owner) {
            rc = stack_jobs_load(&sj, app, owner);
            break;
        }
    for (size_t i = 0; rc == 0 && i < p->n; i++) {
        jobs_stack_detail *d = NULL;
        /* A stack made private since the page was read is no longer ours to show: it is
         * answered as it was listed, without details. */
        if ((rc = jobs_stack_get_detail(&d, app->store, owner, p->stacks[i].id)) == 0)
            rc = stack_json(&items[i], app, d, owner, &sj);
        else if (rc == JOBS_ENOTFOUND)
            rc = jobs_json_encode_stack(&items[i], &p->stacks[i]);
        jobs_stack_detail_free(d);
    }
    if (rc == 0)
        rc = jobs_json_encode_stack_page_items(json, p, (const char *const *)items);
    for (size_t i = 0; items && i < p->n; i++)
        jobs_json_free(items[i]);
    free(items);
    stack_jobs_free(&sj);
    jobs_stack_page_free(p);
    return rc;
}

/* GET /blockstacks/byid/<id> and /byname/<name>: one stack, or without a session fault 116
 * for any stack that is not public (whether it exists or not: no existence leaks). */
static void stack_answer(srv_response *res, srv_app *app, uint64_t owner, uint64_t id,
                         const char *name)
{
    jobs_stack_detail *d = NULL;
    char *json = NULL;
    int rc;

    if (name) {
        jobs_stack *s = NULL;
        if ((rc = jobs_stack_get_by_name(&s, app->store, owner, name)) == 0)
            id = s->id;
        jobs_stack_free(s);
        if (rc == 0)
            rc = jobs_stack_get_detail(&d, app->store, owner, id);
    } else {
        rc = jobs_stack_get_detail(&d, app->store, owner, id);
    }
    if (rc == JOBS_ENOTFOUND && !owner) {
        srv_fault(res, app, SRV_FAULT_LOGIN_TO_SEE,
                  "this stack is not public: log in to see it (if it exists)");
        return;
    }
    if (rc == 0)
        rc = stack_json(&json, app, d, owner, NULL);
    jobs_stack_detail_free(d);
    encoded(res, app, 200, rc, json);
}

static void list(srv_response *res, srv_app *app, srv_kind k, uint64_t owner, uint64_t page,
                 uint32_t size)
{
    char *json = NULL;
    int rc;

    if (k == SRV_KIND_JOBS) {
        jobs_job_page *p = NULL;
        /* the page carries its jobs' run settings, read with the list */
        if ((rc = jobs_list(&p, app->store, owner, page, size)) == 0)
            rc = jobs_json_encode_job_page_with_policies(&json, p, p->policies);
        jobs_job_page_free(p);
    } else if (k == SRV_KIND_SCHEDULES) {
        jobs_schedule_page *p = NULL;
        if ((rc = jobs_schedule_list(&p, app->store, owner, page, size)) == 0)
            rc = jobs_json_encode_schedule_page(&json, p);
        jobs_schedule_page_free(p);
    } else {
        rc = stack_page_json(&json, app, owner, page, size);
    }
    encoded(res, app, 200, rc, json);
}

static void get_by_id(srv_response *res, srv_app *app, srv_kind k, uint64_t owner, uint64_t id)
{
    char *json = NULL;
    int rc;

    if (k == SRV_KIND_JOBS) {
        jobs_job *j = NULL;
        if ((rc = jobs_get(&j, app->store, owner, id)) == 0 &&
            (rc = job_json(&json, app, owner, j, 0)) == 0)
            add_etag(res, j);
        jobs_job_free(j);
    } else if (k == SRV_KIND_SCHEDULES) {
        jobs_schedule *s = NULL;
        if ((rc = jobs_schedule_get(&s, app->store, owner, id)) == 0)
            rc = jobs_json_encode_schedule(&json, s);
        jobs_schedule_free(s);
    } else {
        stack_answer(res, app, owner, id, NULL);
        return;
    }
    encoded(res, app, 200, rc, json);
}

static void get_by_name(srv_response *res, srv_app *app, srv_kind k, uint64_t owner,
                        const char *raw, size_t len)
{
    char name[3 * JOBS_NAME_MAX + 1];
    char *json = NULL;
    jobs_job *j = NULL;
    long n;
    int rc;

    if (len >= sizeof name) {
        srv_fault(res, app, SRV_FAULT_PARAM, "name is longer than 255 bytes");
        return;
    }
    if ((n = srv_percent_decode(name, raw, len)) < 0) {
        srv_fault(res, app, SRV_FAULT_PARAM, "malformed percent-escape in the name");
        return;
    }
    if (!jobs_name_is_valid(name, (size_t)n)) {
        srv_fault(res, app, SRV_FAULT_PARAM,
                  "the name must be 1..255 bytes of UTF-8 without control characters");
        return;
    }
    if (k == SRV_KIND_STACKS) {
        stack_answer(res, app, owner, 0, name);
        return;
    }
    if ((rc = jobs_get_by_name(&j, app->store, owner, name)) == 0 &&
        (rc = job_json(&json, app, owner, j, 0)) == 0)
        add_etag(res, j);
    jobs_job_free(j);
    encoded(res, app, 200, rc, json);
}

/* The Idempotency-Key of a create: 1..255 visible ASCII characters, fingerprinted with the
 * SHA-256 of the body. Returns false when the header is malformed (the fault is in `res`). */
static bool idempotency(jobs_idempotency **out, jobs_idempotency *idem, unsigned char *fp,
                        srv_response *res, const srv_app *app, const srv_request *req)
{
    const char *key = req->idempotency_key;
    size_t n = key ? strlen(key) : 0;

    *out = NULL;
    if (!key)
        return true;
    for (size_t i = 0; i < n; i++)
        if (key[i] < 0x21 || key[i] > 0x7e)
            n = 0;
    if (n == 0 || n > JOBS_IDEMPOTENCY_KEY_MAX) {
        srv_fault(res, app, SRV_FAULT_PARAM,
                  "Idempotency-Key must be 1..255 visible ASCII characters");
        return false;
    }
    crypto_hash_sha256(fp, (const unsigned char *)(req->body ? req->body : ""), req->body_len);
    idem->key = key;
    idem->key_len = n;
    idem->fingerprint = fp;
    idem->fingerprint_len = crypto_hash_sha256_BYTES;
    *out = idem;
    return true;
}

/* ---- quotas -------------------------------------------------------------------------------- */

/* Creates of one user are serialised on one of these (by owner id), so that the count and the
 * create of a quota check are one step: two creates at once cannot both see room for one. */
#define OWNER_LOCKS 64
static pthread_mutex_t owner_locks[OWNER_LOCKS];
static pthread_once_t owner_locks_once = PTHREAD_ONCE_INIT;

static void owner_locks_init(void)
{
    for (size_t i = 0; i < OWNER_LOCKS; i++)
        pthread_mutex_init(&owner_locks[i], NULL);
}

/* How many `k` `owner` owns, into *n; a library error code. Jobs and schedules cost O(1); stacks
 * list the public ones of others too, so their own are counted page by page, only when the
 * visible ones reach the quota at all. */
static int owned(uint64_t *n, srv_app *app, srv_kind k, uint64_t owner, unsigned quota)
{
    int rc;

    *n = 0;
    if (k == SRV_KIND_JOBS) {
        jobs_job_page *p = NULL;
        if ((rc = jobs_list(&p, app->store, owner, 1, 1)) == 0)
            *n = p->count;
        jobs_job_page_free(p);
    } else if (k == SRV_KIND_SCHEDULES) {
        jobs_schedule_page *mine = NULL, *pub = NULL;
        if ((rc = jobs_schedule_list(&mine, app->store, owner, 1, 1)) == 0 &&
            (rc = jobs_schedule_list(&pub, app->store, JOBS_OWNER_PUBLIC, 1, 1)) == 0)
            *n = mine->count - (pub->count < mine->count ? pub->count : mine->count);
        jobs_schedule_page_free(mine);
        jobs_schedule_page_free(pub);
    } else {
        jobs_stack_page *p = NULL;
        uint64_t page = 1, visible;
        if ((rc = jobs_stack_list(&p, app->store, owner, 1, 1)) != 0 || p->count < quota) {
            if (rc == 0)
                *n = p->count;
            jobs_stack_page_free(p);
            return rc;
        }
        visible = p->count;
        jobs_stack_page_free(p);
        for (uint64_t seen = 0; seen < visible; page++) {
            p = NULL;
            if ((rc = jobs_stack_list(&p, app->store, owner, page, 1000)) != 0 || p->n == 0) {
                jobs_stack_page_free(p);
                return rc;
            }
            for (size_t i = 0; i < p->n; i++)
                *n += p->stacks[i].owner == owner;
            seen += p->n;
            jobs_stack_page_free(p);
        }
    }
    return rc;
}

static unsigned quota_of(const srv_app *app, srv_kind k)
{
    return k == SRV_KIND_JOBS        ? app->quota_jobs
           : k == SRV_KIND_SCHEDULES ? app->quota_schedules
                                     : app->quota_stacks;
}

/* True when `owner` may create one more `k` (the fault is in `res` otherwise). Called with the
 * owner's lock held. */
static bool quota_allows(srv_response *res, srv_app *app, srv_kind k, uint64_t owner)
{
    static const char *const what[3] = {"job", "schedule", "stack"};
    unsigned quota = quota_of(app, k);
    uint64_t n;
    char msg[128];
    int rc;

    if (!quota)
        return true;
    if ((rc = owned(&n, app, k, owner, quota)) != 0) {
        srv_lib_fault(res, app, rc);
        return false;
    }
    if (n < quota)
        return true;
    snprintf(msg, sizeof msg, "quota reached: a user may have at most %u %s%s", quota, what[k],
             quota == 1 ? "" : "s");
    srv_fault(res, app, SRV_FAULT_QUOTA, msg);
    return false;
}

/* What a repeat of a create with this key answers (JOBS_ENOTFOUND: no create answers it). */
static int replay(uint64_t *id, srv_app *app, srv_kind k, uint64_t owner,
                  const jobs_idempotency *idem)
{
    return k == SRV_KIND_JOBS ? jobs_create_replay(id, app->store, owner, idem)
                              : jobs_schedule_create_replay(id, app->store, owner, idem);
}

static void create(srv_response *res, srv_app *app, srv_kind k, uint64_t owner,
                   const srv_request *req)
{
    unsigned char fp[crypto_hash_sha256_BYTES];
    jobs_idempotency key, *idem = NULL;
    bool replayed = false;
    char *json = NULL;
    uint64_t id = 0;
    int rc;

    pthread_mutex_t *lock;
    jobs_json_stack_spec_body sb;
    bool with_job = false;

    if (k != SRV_KIND_STACKS && !idempotency(&idem, &key, fp, res, app, req))
        return;
    if (k == SRV_KIND_STACKS) {
        /* The original service requires `blocks`; unprefixed routes keep them optional, as
         * they were before stacks had them. Decoded first: a stack with `schedule_id` makes
         * its first job too, which the jobs quota must allow as well. */
        unsigned flags = JOBS_JSON_STACK_CREATE | (res->kragle ? JOBS_JSON_STACK_BLOCKS_REQUIRED
                                                               : 0u);
        if ((rc = jobs_json_decode_stack(&sb, req->body, req->body_len, flags)) != 0) {
            srv_lib_fault(res, app, rc);
            return;
        }
        with_job = sb.first_job;
    }
    /* Only a create with a quota takes its owner's lock (the same one for every kind): others
     * keep going together (and share group commits). */
    lock = quota_of(app, k) || (with_job && quota_of(app, SRV_KIND_JOBS))
               ? &owner_locks[owner % OWNER_LOCKS] : NULL;
    rc = JOBS_ENOTFOUND; /* no earlier create answers this one */
    if (lock) {
        pthread_once(&owner_locks_once, owner_locks_init);
        pthread_mutex_lock(lock);
        /* A repeat of a create that succeeded makes nothing, so the quota does not refuse it:
         * it is answered as the first one was, also when that create filled the quota. */
        if (idem)
            rc = replay(&id, app, k, owner, idem);
        if (rc == JOBS_ENOTFOUND &&
            (!quota_allows(res, app, k, owner) ||
             (with_job && !quota_allows(res, app, SRV_KIND_JOBS, owner)))) {
            pthread_mutex_unlock(lock);
            return;
        }
    }
    if (rc != JOBS_ENOTFOUND) {
        replayed = rc == 0;
    } else if (k == SRV_KIND_JOBS) {
        jobs_json_job_body b;
        if ((rc = jobs_json_decode_job_create(&b, req->body, req->body_len)) == 0)
            rc = jobs_create_idempotent(&id, &replayed, app->store, owner, &b.spec, idem);
    } else if (k == SRV_KIND_SCHEDULES) {
        jobs_json_schedule_body b;
        if ((rc = jobs_json_decode_schedule_create(&b, req->body, req->body_len)) == 0)
            rc = jobs_schedule_create_idempotent(&id, &replayed, app->store, owner, &b.spec,
                                                 idem);
    } else {
        rc = jobs_stack_create_with_job(&id, NULL, app->store, owner, &sb.spec,
                                        sb.first_job ? &sb.job : NULL);
    }
    if (lock)
        pthread_mutex_unlock(lock);
    if (rc == 0) {
        rc = jobs_json_encode_id(&json, id);
        /* The new record's URL in the API the client called: under /api/v1 a Location
         * without the prefix would lead out of the profile (or nowhere, behind a proxy that
         * forwards /api/v1/ only). */
        if (rc == 0)
            add_header(res, "Location: %s%s/byid/%" PRIu64 "\r\n%s",
                       res->kragle ? SRV_KRAGLE_PREFIX : "", srv_kind_path[k], id,
                       replayed ? "Idempotent-Replayed: true\r\n" : "");
    }
    /* The original service answered its creates with 200. */
    encoded(res, app, res->kragle ? 200 : 201, rc, json);
}

static void update(srv_response *res, srv_app *app, srv_kind k, uint64_t owner, uint64_t id,
                   const srv_request *req)
{
    char *json = NULL;
    int rc;

    if (k == SRV_KIND_JOBS) {
        jobs_json_job_body b;
        jobs_job *j = NULL;
        uint64_t if_match;
        if ((rc = jobs_json_decode_job_update(&b, req->body, req->body_len)) == 0) {
            if (!job_condition(&if_match, res, app, owner, id, req))
                return;
            if ((rc = jobs_update_if(&j, app->store, owner, id, &b.spec, if_match)) == 0 &&
                (rc = job_json(&json, app, owner, j, JOBS_JSON_OWNER)) == 0)
                add_etag(res, j);
        }
        jobs_job_free(j);
    } else if (k == SRV_KIND_STACKS) {
        jobs_json_stack_spec_body b;
        jobs_stack_detail *d = NULL;
        if ((rc = jobs_json_decode_stack(&b, req->body, req->body_len, 0)) == 0 &&
            (rc = jobs_stack_update(&d, app->store, owner, id, &b.spec)) == 0)
            rc = stack_json(&json, app, d, owner, NULL);
        jobs_stack_detail_free(d);
    } else {
        jobs_json_schedule_body b;
        jobs_schedule *s = NULL;
        if ((rc = jobs_json_decode_schedule_update(&b, req->body, req->body_len)) == 0 &&
            (rc = jobs_schedule_update(&s, app->store, owner, id, &b.spec)) == 0)
            rc = jobs_json_encode_schedule(&json, s);
        jobs_schedule_free(s);
    }
    encoded(res, app, 200, rc, json);
}

static void delete_job(srv_response *res, srv_app *app, uint64_t owner, uint64_t id,
                       const srv_request *req)
{
    jobs_delete_outcome outcome = JOBS_DELETED;
    uint64_t if_match;
    char *json = NULL;
    int rc;

    if (!job_condition(&if_match, res, app, owner, id, req))
        return;
    if ((rc = jobs_delete_if(&outcome, app->store, owner, id, if_match)) == 0)
        rc = jobs_json_encode_delete(&json, outcome, id);
    encoded(res, app, 200, rc, json);
}

/* DELETE /schedules/<id> (our extension): an unused schedule of the caller's own, answered as
 * DELETE /jobs/<id> answers a job deleted at once. No If-Match: schedules carry no entity tag. */
static void delete_schedule(srv_response *res, srv_app *app, uint64_t owner, uint64_t id)
{
    char *json = NULL;
    int rc;

    if ((rc = jobs_schedule_delete(app->store, owner, id)) == 0)
        rc = jobs_json_encode_delete(&json, JOBS_DELETED, id);
    encoded(res, app, 200, rc, json);
}

/* ---- runs (docs/runs.md) ------------------------------------------------------------------- */

/* GET /jobs/<id>/runs (a job's history) and GET /blockstacks/<id>/runs (the owner's runs of a
 * stack: its jobs' and its webhook runs). */
static void list_runs(srv_response *res, srv_app *app, uint64_t owner, bool stack, uint64_t id,
                      uint64_t page, uint32_t size)
{
    jobs_run_page *p = NULL;
    char *json = NULL;
    int rc = stack ? jobs_run_list_stack(&p, app->store, owner, id, page, size)
                   : jobs_run_list(&p, app->store, owner, id, page, size);

    if (rc == 0)
        rc = jobs_json_encode_run_page(&json, p);
    jobs_run_page_free(p);
    encoded(res, app, 200, rc, json);
}

static void run_now(srv_response *res, srv_app *app, uint64_t owner, uint64_t job)
{
    uint64_t run = 0;
    char *json = NULL;
    int rc;

    if ((rc = jobs_run_now(&run, app->store, owner, job)) == 0)
        rc = jobs_json_encode_run_id(&json, run);
    /* Accepted: the next tick delivers it. */
    encoded(res, app, res->kragle ? 200 : 202, rc, json);
}

/* GET /blockstacks/hook/token_refresh/<id>: a new webhook token, {"token":"..."}. */
static void hook_token_refresh(srv_response *res, srv_app *app, uint64_t owner, uint64_t stack)
{
    jobs_stack_detail *d = NULL;
    char *json = NULL;
    int rc;

    if ((rc = jobs_stack_refresh_token(&d, app->store, owner, stack)) == 0 &&
        (json = malloc(JOBS_WEBHOOK_TOKEN_LEN + 16)) != NULL)
        snprintf(json, JOBS_WEBHOOK_TOKEN_LEN + 16, "{\"token\":\"%s\"}", d->webhook_token);
    else if (rc == 0)
        rc = JOBS_ENOMEM;
    jobs_stack_detail_free(d);
    encoded(res, app, 200, rc, json);
}

/* ---- operations ---------------------------------------------------------------------------- */

int64_t srv_monotonic_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* GET /healthz: 200 when the store answers and the scheduler thread went round its loop
 * recently, else 503 naming what failed. No fault body: the status is the answer. */
static void route_health(srv_response *res, srv_app *app)
{
    jobs_store_stat_info st = JOBS_STORE_STAT_INFO_INIT;
    int rc = jobs_store_stat(&st, app->store);
    const char *scheduler = "none";
    bool ok = rc == 0;
    char *json = malloc(256);

    if (app->heartbeat) {
        int64_t age = srv_monotonic_ms() - atomic_load(app->heartbeat);
        scheduler = age <= app->heartbeat_max_age_ms ? "ok" : "stalled";
        ok = ok && age <= app->heartbeat_max_age_ms;
    }
    if (json)
        snprintf(json, 256, "{\"status\":\"%s\",\"store\":\"%s\",\"scheduler\":\"%s\"}",
                 ok ? "ok" : "fail", rc == 0 ? "ok" : jobs_strerror(rc), scheduler);
    set_body(res, ok ? 200 : 503, json);
}

/* GET /metrics: Prometheus text. The store's part is left out when it cannot be read. */
static void route_metrics(srv_response *res, srv_app *app)
{
    jobs_store_stat_info st = JOBS_STORE_STAT_INFO_INIT;
    char *text = NULL;
    size_t len = 0;

    if (!app->metrics) {
        srv_fault(res, app, SRV_FAULT_NOROUTE, "no such route");
        return;
    }
    if (srv_metrics_render(&text, &len, app->metrics,
                           jobs_store_stat(&st, app->store) == 0 ? &st : NULL) != 0) {
        srv_fault(res, app, SRV_FAULT_INTERNAL, "out of memory");
        return;
    }
    free(res->body);
    res->status = 200;
    res->body = text;
    res->body_len = len;
    res->content_type = SRV_METRICS_CONTENT_TYPE;
}

/* ---- cross-site requests ------------------------------------------------------------------ */

/* Whether the request's session is its auth_tkt cookie: it carries one, and no well-formed
 * bearer token beside it. Only a well-formed one exempts a request from the cross-site checks
 * below, since only a client that is not a browser's page can have sent it. A malformed
 * `Authorization: Bearer` header does not: were it to count as "a bearer was given", the
 * cookie's checks would be skipped and the request's safety would rest on identify() alone,
 * which refuses such a header (401, fault 100) but runs after these checks. So a cookie
 * request with a malformed bearer header is checked as a cookie request, then refused. */
static bool cookie_session(const srv_request *req)
{
    const char *token;
    size_t len;

    return srv_find_bearer(&token, &len, req->authorization) != SRV_BEARER_TOKEN &&
           srv_find_cookie_token(&len, req->cookie) != NULL;
}

/* Whether a browser made the request (it carries Origin or Sec-Fetch-Site, which browsers add
 * and scripts do not) without X-Requested-With, a header a page of another site cannot add
 * without a preflight this server never grants. */
static bool browser_without_requested_with(const srv_request *req)
{
    if (!req->origin && !req->sec_fetch_site)
        return false;
    return !req->requested_with || !req->requested_with[strspn(req->requested_with, " \t")];
}

/* Whether a request is refused as a possible cross-site request forgery (fault 140,
 * docs/http-api.md "CSRF"): it changes something (not GET or HEAD), the auth_tkt cookie is its
 * session (no bearer token beside it), a browser made it (it carries Origin or Sec-Fetch-Site,
 * which browsers add and scripts do not), and it lacks X-Requested-With, a header a page of
 * another site cannot add without a preflight this server never grants. The console sends it
 * with every request. */
static bool csrf_refused(srv_response *res, const srv_app *app, const srv_request *req)
{
    if (strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0)
        return false;
    if (!cookie_session(req) || !browser_without_requested_with(req))
        return false;
    srv_fault(res, app, SRV_FAULT_CROSS_SITE,
              "cross-site request refused: a browser's request that changes something with the "
              "auth_tkt cookie must carry the header X-Requested-With");
    return true;
}

/* A login that a browser made (it carries Origin or Sec-Fetch-Site) without X-Requested-With:
 * refused (fault 140) before anything is read. Else a page of another site, or of another port
 * or subdomain of this one (whose SameSite=Strict cookie a browser keeps), could post its
 * author's credentials with no Content-Type (no preflight) and leave the browser logged in as
 * the author, whose session the user would then work in (login CSRF). */
static bool login_csrf_refused(srv_response *res, const srv_app *app, const srv_request *req)
{
    if (!browser_without_requested_with(req))
        return false;
    srv_fault(res, app, SRV_FAULT_CROSS_SITE,
              "cross-site request refused: a browser's login must carry the header "
              "X-Requested-With");
    return true;
}

/* An authority, `host[:port]` of `len` bytes (the host may be an IPv6 literal in brackets),
 * split: the host's length in `*host_len` and the port in `*port`, `default_port` when there is
 * none or it is empty (RFC 3986 3.2.3). False when it is malformed: no host, a bracket not
 * closed, something between `]` and the colon, or a port not of digits or above 65535. */
static bool split_authority(const char *a, size_t len, size_t *host_len, unsigned *port,
                            unsigned default_port)
{
    const char *end = a + len, *colon;
    unsigned long p = 0;

    if (len && a[0] == '[') {
        colon = memchr(a, ']', len);
        if (!colon++ || (colon < end && *colon != ':'))
            return false;
    } else {
        colon = memchr(a, ':', len);
        if (!colon)
            colon = end;
    }
    *host_len = (size_t)(colon - a);
    if (!*host_len)
        return false;
    *port = default_port;
    if (colon >= end || colon + 1 == end)
        return true;
    for (const char *q = colon + 1; q < end; q++) {
        if (*q < '0' || *q > '9' || (p = p * 10 + (unsigned long)(*q - '0')) > 65535)
            return false;
    }
    *port = (unsigned)p;
    return true;
}

/* The length of `s` without the blanks at its end. */
static size_t trimmed_length(const char *s)
{
    size_t n = strlen(s);

    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    return n;
}

/* Whether a browser sent the request from a page of another origin: Sec-Fetch-Site other than
 * same-origin or none (a page of the same site but another port or subdomain is "same-site",
 * and its requests carry a SameSite=Strict cookie), or, from a browser without it, an Origin
 * other than the request's own: its scheme (https when the request came over TLS, its own or
 * a --trusted-proxy's, else http) and its Host, the host in any case, and the scheme's default
 * port (80, 443) the same as none. The scheme counts: an origin is scheme, host and port, and
 * a page of http://host (which anyone on the network path can write into) is
 * another origin than https://host, though a browser gives it the same host's cookie. Scripts
 * send neither header. */
static bool cross_origin(const srv_request *req)
{
    const char *host = NULL, *scheme = req->is_tls ? "https://" : "http://", *origin;
    unsigned default_port = req->is_tls ? 443 : 80, origin_port, host_port;
    size_t n = strlen(scheme), origin_len, host_len;

    if (req->sec_fetch_site) {
        const char *v = req->sec_fetch_site + strspn(req->sec_fetch_site, " \t");
        return !(strncasecmp(v, "same-origin", 11) == 0 && !v[11 + strspn(v + 11, " \t")]) &&
               !(strncasecmp(v, "none", 4) == 0 && !v[4 + strspn(v + 4, " \t")]);
    }
    if (!req->origin)
        return false;
    for (size_t i = 0; i < req->n_headers; i++)
        if (strcasecmp(req->headers[i].name, "Host") == 0)
            host = req->headers[i].value;
    if (!host || strncasecmp(req->origin, scheme, n) != 0)
        return true;
    /* The same origin whether or not either names the scheme's default port (a browser leaves
     * it out of Origin; a client may put it in Host, and the reverse). */
    origin = req->origin + n;
    host += strspn(host, " \t");
    return !split_authority(origin, trimmed_length(origin), &origin_len, &origin_port,
                            default_port) ||
           !split_authority(host, trimmed_length(host), &host_len, &host_port, default_port) ||
           origin_len != host_len || strncasecmp(origin, host, host_len) != 0 ||
           origin_port != host_port;
}

/* A GET that changes something (GET /blockstacks/hook/token_refresh/<id> and
 * GET /blockstacks/exec/<id>, defined as GET by the original service) with the cookie from a
 * page of another origin: refused (fault 140), as a page of a sibling subdomain or another port
 * would get it with the cookie by an <img>. */
static bool cross_site_get_refused(srv_response *res, const srv_app *app,
                                   const srv_request *req)
{
    if (!cookie_session(req) || !cross_origin(req))
        return false;
    srv_fault(res, app, SRV_FAULT_CROSS_SITE,
              "cross-site request refused: this GET changes something, and came with the "
              "auth_tkt cookie from a page of another origin");
    return true;
}

/* A list's `page` and `pagesize` (each at most once): false, with fault 1 in `res`, when either
 * is malformed. */
static bool page_params(uint64_t *page, uint32_t *size, srv_response *res, const srv_app *app,
                        const srv_request *req)
{
    if (!srv_parse_page(page, req->query)) {
        srv_fault(res, app, SRV_FAULT_PARAM, "page must be given once, as an integer in "
                                             "1..2^53-1");
        return false;
    }
    if (!srv_parse_pagesize(size, req->query)) {
        srv_fault(res, app, SRV_FAULT_PARAM, "pagesize must be given once, as an integer in "
                                             "1..100");
        return false;
    }
    return true;
}

/* ---- routing ------------------------------------------------------------------------------- */

void srv_handle(srv_response *res, srv_app *app, const srv_request *req)
{
    srv_route r = srv_route_resolve(req->path);
    srv_request inner;
    uint64_t owner, id = 0, page = 1;
    uint32_t size = 0;

    memset(res, 0, sizeof *res);
    res->kragle = r.kragle;
    if (r.t == SRV_ROUTE_NONE) {
        srv_fault(res, app, SRV_FAULT_NOROUTE, "no such route");
        return;
    }
    if (!srv_route_method_allowed(&r, req->method)) {
        add_header(res, "Allow: %s\r\n", srv_route_allowed(&r));
        srv_fault(res, app, SRV_FAULT_METHOD, "method not allowed");
        return;
    }
    if (r.t == SRV_ROUTE_CONSOLE) {
        srv_static_answer(res, app, &r, req);
        return;
    }
    if (r.t == SRV_ROUTE_AUTHENTICATE) {
        if (login_csrf_refused(res, app, req))
            return;
        route_authenticate(res, app, req);
        return;
    }
    if (r.t == SRV_ROUTE_LOGOUT) {
        if (csrf_refused(res, app, req))
            return;
        route_logout(res, app, req);
        return;
    }
    /* Neither needs a session: keep them behind the network boundary (docs/http-api.md). */
    if (r.t == SRV_ROUTE_HEALTH) {
        route_health(res, app);
        return;
    }
    if (r.t == SRV_ROUTE_METRICS) {
        route_metrics(res, app);
        return;
    }

    /* A webhook's body is its input, never an inline login: only a session counts. */
    if (r.t == SRV_ROUTE_HOOK) {
        if (!srv_parse_id(&id, r.arg, r.arg_len)) {
            srv_fault(res, app, SRV_FAULT_PARAM, "the id must be an integer in 1..2^53-1");
            return;
        }
        if (caller(&owner, res, app, req))
            srv_hook_route(res, app, req, owner, owner && cookie_session(req) && cross_origin(req),
                           id);
        return;
    }
    if (!inline_auth(&inner, &owner, res, app, req))
        return;
    req = &inner;
    if (!owner && (r.t == SRV_ROUTE_HOOK_TOKEN || r.t == SRV_ROUTE_EXEC) &&
        cross_site_get_refused(res, app, req))
        return;
    /* Inline credentials (owner set) authenticate by a password a forged request cannot know. */
    if (!owner && csrf_refused(res, app, req))
        return;
    if (!owner && !caller(&owner, res, app, req))
        return;
    res->user = owner;
    /* Reading schedules and stacks is public (public ones only without a session); everything
     * else needs a session. */
    if (!owner && !((r.k == SRV_KIND_SCHEDULES || r.k == SRV_KIND_STACKS) &&
                    strcmp(req->method, "GET") == 0)) {
        srv_fault(res, app, SRV_FAULT_UNAUTH, "not authenticated");
        return;
    }
    /* A stack's runs, its webhook token and running it by hand are its owner's: a
     * caller without a session is told so before its id is checked. */
    if (!owner && (r.t == SRV_ROUTE_RUNS || r.t == SRV_ROUTE_HOOK_TOKEN || r.t == SRV_ROUTE_EXEC)) {
        srv_fault(res, app, SRV_FAULT_UNAUTH, "not authenticated");
        return;
    }
    if ((r.t == SRV_ROUTE_BYID || r.t == SRV_ROUTE_ITEM || r.t == SRV_ROUTE_RUNS ||
         r.t == SRV_ROUTE_RUN_NOW || r.t == SRV_ROUTE_HOOK_TOKEN || r.t == SRV_ROUTE_EXEC) &&
        !srv_parse_id(&id, r.arg, r.arg_len)) {
        srv_fault(res, app, SRV_FAULT_PARAM, "the id must be an integer in 1..2^53-1");
        return;
    }

    switch (r.t) {
    case SRV_ROUTE_COLLECTION:
        if (strcmp(req->method, "GET") == 0) {
            if (!page_params(&page, &size, res, app, req))
                return;
            list(res, app, r.k, owner, page, size);
        } else {
            create(res, app, r.k, owner, req);
        }
        return;
    case SRV_ROUTE_BYID:
        get_by_id(res, app, r.k, owner, id);
        return;
    case SRV_ROUTE_RUNS:
        if (!page_params(&page, &size, res, app, req))
            return;
        list_runs(res, app, owner, r.k == SRV_KIND_STACKS, id, page, size);
        return;
    case SRV_ROUTE_HOOK_TOKEN:
        hook_token_refresh(res, app, owner, id);
        return;
    case SRV_ROUTE_RUN_NOW:
        run_now(res, app, owner, id);
        return;
    case SRV_ROUTE_EXEC:
        srv_exec_route(res, app, owner, id);
        return;
    case SRV_ROUTE_BYNAME:
        get_by_name(res, app, r.k, owner, r.arg, r.arg_len);
        return;
    case SRV_ROUTE_ITEM:
        if (strcmp(req->method, "DELETE") == 0 && r.k == SRV_KIND_SCHEDULES)
            delete_schedule(res, app, owner, id);
        else if (strcmp(req->method, "DELETE") == 0)
            delete_job(res, app, owner, id, req);
        else
            update(res, app, r.k, owner, id, req);
        return;
    default:
        srv_fault(res, app, SRV_FAULT_NOROUTE, "no such route");
        return;
    }
}
