/* Routing, authentication, parameter parsing and fault mapping of the HTTP API. Every JSON body,
 * the login body included, goes through the library's jobs_json_* functions. */
#include "credentials.h"
#include "handler.h"
#include "route.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

/* ---- responses ----------------------------------------------------------------------------- */

const char *srv_status_text(int status)
{
    switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 412: return "Precondition Failed";
    case 413: return "Content Too Large";
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

void srv_fault(srv_response *res, const srv_app *app, int fault, const char *msg)
{
    char *json = NULL;

    jobs_json_encode_fault(&json, fault, msg);
    set_body(res, app->fault_status_500 ? 500 : srv_fault_status(fault), json);
}

/* The fault for a library error code with its detail `msg`. */
static void code_fault(srv_response *res, const srv_app *app, int code, const char *msg)
{
    int fault = jobs_fault_code(code);
    char *json = NULL;

    /* Internal errors get the fixed message: their detail may name paths or internals. */
    jobs_json_encode_error(&json, code, fault == SRV_FAULT_INTERNAL ? NULL : msg);
    set_body(res, app->fault_status_500 ? 500 : srv_fault_status(fault), json);
}

/* The fault for a library error, read right after the failing call. */
static void lib_fault(srv_response *res, const srv_app *app, int code)
{
    code_fault(res, app, code, jobs_error_last());
}

/* Sets the body from an encoder's result. */
static void encoded(srv_response *res, const srv_app *app, int status, int rc, char *json)
{
    if (rc != 0) {
        jobs_json_free(json);
        lib_fault(res, app, rc);
        return;
    }
    set_body(res, status, json);
}

/* ---- authentication ------------------------------------------------------------------------ */

/* The user of the request, or 0. */
static uint64_t caller(srv_app *app, const srv_request *req)
{
    size_t len = 0;
    const char *token = srv_find_token(&len, req->cookie, req->authorization);

    return token ? srv_session_lookup(app->sessions, token, len, time(NULL)) : 0;
}

/* POST /authenticate: {"username"|"email", "password"}, decoded by credentials.c. */
static void route_authenticate(srv_response *res, srv_app *app, const srv_request *req)
{
    srv_credentials *c;
    char msg[SRV_CREDENTIALS_MSG_MAX];
    const char *who;
    char *json = NULL;
    char token[SRV_TOKEN_LEN + 1];
    uint64_t id = 0;
    time_t now = time(NULL);
    int rc;

    if (req->body_len > JOBS_JSON_BODY_MAX) {
        srv_fault(res, app, SRV_FAULT_TOO_LARGE, "request body is larger than 64 KiB");
        return;
    }
    /* On the heap (it is 1.5 KiB and holds the password), wiped before it is freed. */
    if (!(c = malloc(sizeof *c))) {
        srv_fault(res, app, SRV_FAULT_INTERNAL, "out of memory");
        return;
    }
    if ((rc = srv_decode_credentials(c, req->body, req->body_len, msg, sizeof msg)) != 0) {
        code_fault(res, app, rc, msg);
        goto out;
    }
    who = c->username ? c->username : c->email;
    if (srv_throttle_locked(app->sessions, who, now)) {
        srv_fault(res, app, SRV_FAULT_THROTTLED, "too many failed attempts; try again later");
        goto out;
    }
    if (!srv_users_verify(app->users, &id, c->username, c->email, c->password)) {
        srv_throttle_fail(app->sessions, who, now);
        srv_fault(res, app, SRV_FAULT_LOGIN, "unknown user or wrong password");
        goto out;
    }
    srv_throttle_clear(app->sessions, who);
    if (srv_session_create(token, app->sessions, id, now, app->session_ttl) != 0) {
        srv_fault(res, app, SRV_FAULT_INTERNAL, "out of memory");
        goto out;
    }
    add_header(res, "Set-Cookie: auth_tkt=%s; HttpOnly; SameSite=Strict; Path=/; Max-Age=%u%s\r\n",
               token, app->session_ttl, req->is_tls ? "; Secure" : "");
    sodium_memzero(token, sizeof token);
    res->user = id;
    json = malloc(64);
    if (json)
        snprintf(json, 64, "{\"code\":0,\"user_id\":%" PRIu64 "}", id);
    set_body(res, 200, json);
out:
    sodium_memzero(c, sizeof *c);
    free(c);
}

static void route_logout(srv_response *res, srv_app *app, const srv_request *req)
{
    size_t len = 0;
    const char *token = srv_find_token(&len, req->cookie, req->authorization);
    /* For the access log: whose session this was, read before it ends. */
    uint64_t user = token ? srv_session_lookup(app->sessions, token, len, time(NULL)) : 0;
    char *json;

    if (!token || !srv_session_end(app->sessions, token, len)) {
        srv_fault(res, app, SRV_FAULT_UNAUTH, "not authenticated");
        return;
    }
    res->user = user;
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
    if (!srv_parse_if_match(&any, tags, &n, req->if_match)) {
        srv_fault(res, app, SRV_FAULT_PARAM,
                  "If-Match must be * or a list of entity tags as ETag gives them");
        return false;
    }
    if (any)
        return true;
    if ((rc = jobs_get(&j, app->store, owner, id))) {
        lib_fault(res, app, rc);
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

static void list(srv_response *res, srv_app *app, srv_kind k, uint64_t owner, uint64_t page,
                 uint32_t size)
{
    char *json = NULL;
    int rc;

    if (k == SRV_KIND_JOBS) {
        jobs_job_page *p = NULL;
        if ((rc = jobs_list(&p, app->store, owner, page, size)) == 0)
            rc = jobs_json_encode_job_page(&json, p);
        jobs_job_page_free(p);
    } else if (k == SRV_KIND_SCHEDULES) {
        jobs_schedule_page *p = NULL;
        if ((rc = jobs_schedule_list(&p, app->store, owner, page, size)) == 0)
            rc = jobs_json_encode_schedule_page(&json, p);
        jobs_schedule_page_free(p);
    } else {
        jobs_stack_page *p = NULL;
        if ((rc = jobs_stack_list(&p, app->store, owner, page, size)) == 0)
            rc = jobs_json_encode_stack_page(&json, p);
        jobs_stack_page_free(p);
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
            (rc = jobs_json_encode_job(&json, j, 0)) == 0)
            add_etag(res, j);
        jobs_job_free(j);
    } else if (k == SRV_KIND_SCHEDULES) {
        jobs_schedule *s = NULL;
        if ((rc = jobs_schedule_get(&s, app->store, owner, id)) == 0)
            rc = jobs_json_encode_schedule(&json, s);
        jobs_schedule_free(s);
    } else {
        jobs_stack *s = NULL;
        if ((rc = jobs_stack_get(&s, app->store, owner, id)) == 0)
            rc = jobs_json_encode_stack(&json, s);
        jobs_stack_free(s);
    }
    encoded(res, app, 200, rc, json);
}

static void get_by_name(srv_response *res, srv_app *app, uint64_t owner, const char *raw,
                        size_t len)
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
    if ((rc = jobs_get_by_name(&j, app->store, owner, name)) == 0 &&
        (rc = jobs_json_encode_job(&json, j, 0)) == 0)
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

static void create(srv_response *res, srv_app *app, srv_kind k, uint64_t owner,
                   const srv_request *req)
{
    unsigned char fp[crypto_hash_sha256_BYTES];
    jobs_idempotency key, *idem = NULL;
    bool replayed = false;
    char *json = NULL;
    uint64_t id = 0;
    int rc;

    if (k != SRV_KIND_STACKS && !idempotency(&idem, &key, fp, res, app, req))
        return;
    if (k == SRV_KIND_JOBS) {
        jobs_json_job_body b;
        if ((rc = jobs_json_decode_job_create(&b, req->body, req->body_len)) == 0)
            rc = jobs_create_idempotent(&id, &replayed, app->store, owner, &b.spec, idem);
    } else if (k == SRV_KIND_SCHEDULES) {
        jobs_json_schedule_body b;
        if ((rc = jobs_json_decode_schedule_create(&b, req->body, req->body_len)) == 0)
            rc = jobs_schedule_create_idempotent(&id, &replayed, app->store, owner, &b.spec,
                                                 idem);
    } else {
        jobs_json_stack_body b;
        if ((rc = jobs_json_decode_stack_create(&b, req->body, req->body_len)) == 0)
            rc = jobs_stack_create(&id, app->store, owner, b.name, b.is_public);
    }
    if (rc == 0) {
        rc = jobs_json_encode_id(&json, id);
        if (rc == 0)
            add_header(res, "Location: %s/byid/%" PRIu64 "\r\n%s", srv_kind_path[k], id,
                       replayed ? "Idempotent-Replayed: true\r\n" : "");
    }
    encoded(res, app, 201, rc, json);
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
                (rc = jobs_json_encode_job(&json, j, JOBS_JSON_OWNER)) == 0)
                add_etag(res, j);
        }
        jobs_job_free(j);
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
    jobs_store_stat_info st;
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
    jobs_store_stat_info st;
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

/* ---- routing ------------------------------------------------------------------------------- */

void srv_handle(srv_response *res, srv_app *app, const srv_request *req)
{
    srv_route r = srv_route_resolve(req->path);
    uint64_t owner, id = 0, page = 1;
    uint32_t size = 0;

    memset(res, 0, sizeof *res);
    if (r.t == SRV_ROUTE_NONE) {
        srv_fault(res, app, SRV_FAULT_NOROUTE, "no such route");
        return;
    }
    if (!srv_route_method_allowed(&r, req->method)) {
        add_header(res, "Allow: %s\r\n", srv_route_allowed(&r));
        srv_fault(res, app, SRV_FAULT_METHOD, "method not allowed");
        return;
    }
    if (r.t == SRV_ROUTE_AUTHENTICATE) {
        route_authenticate(res, app, req);
        return;
    }
    if (r.t == SRV_ROUTE_LOGOUT) {
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

    owner = caller(app, req);
    res->user = owner;
    /* Reading schedules is public; everything else needs a session. */
    if (!owner && !(r.k == SRV_KIND_SCHEDULES && strcmp(req->method, "GET") == 0)) {
        srv_fault(res, app, SRV_FAULT_UNAUTH, "not authenticated");
        return;
    }
    if ((r.t == SRV_ROUTE_BYID || r.t == SRV_ROUTE_ITEM) && !srv_parse_id(&id, r.arg, r.arg_len)) {
        srv_fault(res, app, SRV_FAULT_PARAM, "the id must be an integer in 1..2^53-1");
        return;
    }

    switch (r.t) {
    case SRV_ROUTE_COLLECTION:
        if (strcmp(req->method, "GET") == 0) {
            if (!srv_parse_page(&page, req->query)) {
                srv_fault(res, app, SRV_FAULT_PARAM, "page must be an integer of 1 or more");
                return;
            }
            if (!srv_parse_pagesize(&size, req->query)) {
                srv_fault(res, app, SRV_FAULT_PARAM, "pagesize must be an integer in 1..100");
                return;
            }
            list(res, app, r.k, owner, page, size);
        } else {
            create(res, app, r.k, owner, req);
        }
        return;
    case SRV_ROUTE_BYID:
        get_by_id(res, app, r.k, owner, id);
        return;
    case SRV_ROUTE_BYNAME:
        get_by_name(res, app, owner, r.arg, r.arg_len);
        return;
    case SRV_ROUTE_ITEM:
        if (strcmp(req->method, "DELETE") == 0)
            delete_job(res, app, owner, id, req);
        else
            update(res, app, r.k, owner, id, req);
        return;
    default:
        srv_fault(res, app, SRV_FAULT_NOROUTE, "no such route");
        return;
    }
}
