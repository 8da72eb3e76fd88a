/* fuzz_handler: the whole HTTP API of jobs-server in-process, without sockets: srv_handle()
 * (examples/server/handler.c) on a real store, user file, session table and metrics, followed
 * by what server.c does with each answer (the metrics counters and the access-log line).
 *
 * Input: a request in HTTP's shape, lines ending in '\n':
 *   METHOD path[?query]
 *   Name: value            (Cookie, Authorization, If-Match, Idempotency-Key, If-None-Match,
 *   ...                     Origin, Sec-Fetch-Site, X-Requested-With, Content-Type; any case;
 *                           the first of a name counts, as civetweb's mg_get_header(); every
 *                           line with a ':', these and others, is also one of the request's
 *                           `headers`, the first 64 in order: a webhook's input, the Host the
 *                           CSRF check reads; lines without ':' are ignored)
 *   <empty line>
 *   body                   (everything after the empty line, any bytes; no empty line: no body)
 * The method is the request line up to its first space (all of it when there is none: then the
 * path is "/", as civetweb gives); the query is what follows the first '?'. Markers, replaced in
 * the path, the header values and the body:
 *   @TOKEN@, @TOKEN2@             the live session token of user 1, of user 2 (a token is
 *                                 random per process, so the corpus cannot hold a real one;
 *                                 when an input logs a session out, a new one replaces it)
 *   @JOB@, @SCHEDULE@, @STACK@    the id of the last job, schedule, stack created (1 before any)
 *   @HOOKTOKEN@                   the last webhook token an answer showed (a token refresh's,
 *                                 a stack's "webhook_token"; a fixed wrong one before any)
 * so that inputs reach the authenticated routes and the records that earlier inputs created.
 *
 * Excluded: a POST /authenticate whose body the credentials decoder accepts is not handled,
 * since it runs one Argon2id verification (64 MiB, ~0.1 s) by design and would stall the
 * fuzzer; its other paths (wrong method, bodies refused by the decoder) are handled.
 *
 * After each request: status 200..599 and never 500 (no request is an internal error); the
 * body is exactly body_len bytes: JSON (an object) unless a content type says otherwise
 * (/metrics); a fault (status >= 400, /healthz's 503 aside) has an integer "code" >= 1 and a
 * string "msg"; a success has no "code" or code 0, and a method of the API; 201 has a Location
 * header and 405 an Allow header; the extra headers are CRLF-terminated lines. The access-log
 * line is one JSON object and a newline within SRV_ACCESS_LINE_MAX bytes that gives the path
 * back (when it is valid UTF-8 and not cut). Every so often, jobs_store_check() verifies every
 * index of the store against the records.
 *
 * State carries over from one input to the next (the store fills up), as in a real server; a
 * crash found after a long run may need the inputs before it to reproduce. */
#include "fuzz.h"

#include <ftw.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <cJSON.h>
#include <sodium.h>

#include <jobs.h>

#include "credentials.h"
#include "handler.h"
#include "metrics.h"
#include "route.h"

static srv_app app;
static char dir[4096];
static uint64_t user_id[2];
static char token[2][SRV_TOKEN_LEN + 1];
static unsigned long runs;
static bool trace; /* FUZZ_TRACE=1: each request and its answer on stderr */

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st;
    (void)type;
    (void)ftw;
    return remove(path);
}

static void cleanup(void)
{
    jobs_store_close(app.store);
    srv_users_close(app.users);
    srv_sessions_free(app.sessions);
    srv_metrics_free(app.metrics);
    if (dir[0])
        nftw(dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
}

/* Keeps both sessions alive: a logout in the input ends one, and a new one replaces it. */
static void ensure_sessions(void)
{
    time_t now = time(NULL);

    for (int i = 0; i < 2; i++) {
        uint64_t user;

        FUZZ_CHECK(srv_session_lookup(&user, app.sessions, token[i], SRV_TOKEN_LEN, now) == 0);
        if (user != user_id[i])
            FUZZ_CHECK(srv_session_create(token[i], app.sessions, user_id[i], now,
                                          app.session_ttl, NULL) == 0);
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    jobs_store_options o = JOBS_STORE_OPTIONS_INIT;
    jobs_options_lmdb lmdb = JOBS_OPTIONS_INIT_LMDB;
    const char *tmp = getenv("TMPDIR");
    char path[4200];

    (void)argc;
    (void)argv;
    trace = getenv("FUZZ_TRACE") != NULL;
    FUZZ_CHECK(sodium_init() >= 0);
    snprintf(dir, sizeof dir, "%s/jobs-fuzz-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    FUZZ_CHECK(mkdtemp(dir) != NULL);
    atexit(cleanup);

    snprintf(path, sizeof path, "%s/store", dir);
    o.path = path;
    lmdb.flags = JOBS_NOSYNC_LMDB;
    lmdb.max_map_size = (size_t)1 << 30;
    o.lmdb = &lmdb;
    FUZZ_CHECK(jobs_store_open(&app.store, &o) == 0);
    /* One user in the store (one Argon2id hash, here only); user 2 exists only as an
     * owner id with a session, which is all the routes other than /authenticate look at. */
    FUZZ_CHECK(srv_users_open(&app.users, app.store, dir) == 0);
    FUZZ_CHECK(srv_users_add(app.users, &user_id[0], "fuzz", "fuzz@example.org",
                             "fuzz-password") == 0);
    user_id[1] = user_id[0] + 1;
    FUZZ_CHECK((app.sessions = srv_sessions_new(app.store, SRV_SESSIONS_PER_USER)) != NULL);
    FUZZ_CHECK((app.metrics = srv_metrics_new()) != NULL);
    app.session_ttl = SRV_SESSION_TTL;
    ensure_sessions();
    return 0;
}

/* ---- the input ----------------------------------------------------------------------------- */

/* The id of the last job, schedule and stack created (by any input), for @JOB@, @SCHEDULE@ and
 * @STACK@; 1 until the first create. */
static char last_id[3][24] = {"1", "1", "1"};

/* The last webhook token an answer showed ("webhook_token" of a stack, "token" of a token
 * refresh), for @HOOKTOKEN@: a token is random, so the corpus cannot hold one. */
static char hook_token[JOBS_WEBHOOK_TOKEN_LEN + 1] = "0123456789abcdef0123456789abcdef";

/* The value of the marker that starts s[0..len), with *n its length; NULL when none does. */
static const char *marker(const char *s, size_t len, size_t *n)
{
    static const char *const names[] = {"@TOKEN2@", "@TOKEN@",   "@JOB@",
                                        "@SCHEDULE@", "@STACK@", "@HOOKTOKEN@"};
    const char *values[] = {token[1], token[0], last_id[0], last_id[1], last_id[2], hook_token};

    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        *n = strlen(names[i]);
        if (len >= *n && memcmp(s, names[i], *n) == 0)
            return values[i];
    }
    return NULL;
}

/* s[0..len) with its markers replaced, in a new buffer of exactly the resulting length (*out),
 * plus a NUL when `nul` (a NUL byte inside then ends the C string early, as in civetweb). */
static char *expand(const char *s, size_t len, bool nul, size_t *out)
{
    const char *v;
    size_t n = 0, m, o = 0;
    char *buf;

    for (size_t i = 0; i < len;) {
        v = marker(s + i, len - i, &m);
        n += v ? strlen(v) : 1;
        i += v ? m : 1;
    }
    FUZZ_CHECK((buf = malloc(n + nul > 0 ? n + nul : 1)) != NULL);
    for (size_t i = 0; i < len;) {
        if ((v = marker(s + i, len - i, &m)) != NULL) {
            memcpy(buf + o, v, strlen(v));
            o += strlen(v);
            i += m;
        } else {
            buf[o++] = s[i++];
        }
    }
    if (nul)
        buf[o] = '\0';
    *out = n;
    return buf;
}

/* The headers the handler reads by name. */
static const char *const header_names[] = {"Cookie",          "Authorization", "If-Match",
                                           "Idempotency-Key", "If-None-Match", "Origin",
                                           "Sec-Fetch-Site",  "X-Requested-With", "Content-Type"};
#define HEADERS (sizeof header_names / sizeof header_names[0])
/* Every header line, in order, as srv_request.headers (a webhook's input, the Host that the
 * CSRF check compares Origin with); civetweb keeps at most 64. */
#define LINES 64

/* The parsed input; every string is a new buffer. */
typedef struct input {
    char *method, *target, *header[HEADERS], *body;
    size_t body_len;
    bool has_body;
    srv_header line[LINES];
    size_t n_lines;
} input;

static void parse_input(input *in, const uint8_t *data, size_t size)
{
    const char *p = (const char *)data, *end = p + size, *nl, *sp;
    size_t n;

    memset(in, 0, sizeof *in);
    nl = memchr(p, '\n', size);
    sp = memchr(p, ' ', (size_t)((nl ? nl : end) - p));
    in->method = expand(p, (size_t)((sp ? sp : nl ? nl : end) - p), true, &n);
    if (sp)
        in->target = expand(sp + 1, (size_t)((nl ? nl : end) - sp - 1), true, &n);
    while (nl) {
        const char *line = nl + 1, *colon, *v;

        nl = memchr(line, '\n', (size_t)(end - line));
        if (nl == line) { /* the empty line: the body follows */
            in->body = expand(nl + 1, (size_t)(end - nl - 1), false, &in->body_len);
            in->has_body = true;
            return;
        }
        colon = memchr(line, ':', (size_t)((nl ? nl : end) - line));
        if (!colon)
            continue;
        v = colon + 1;
        while (v < (nl ? nl : end) && (*v == ' ' || *v == '\t'))
            v++;
        for (size_t h = 0; h < HEADERS; h++) {
            if (in->header[h] || strlen(header_names[h]) != (size_t)(colon - line) ||
                strncasecmp(line, header_names[h], (size_t)(colon - line)) != 0)
                continue;
            in->header[h] = expand(v, (size_t)((nl ? nl : end) - v), true, &n);
        }
        if (in->n_lines < LINES) {
            in->line[in->n_lines].name = expand(line, (size_t)(colon - line), true, &n);
            in->line[in->n_lines++].value = expand(v, (size_t)((nl ? nl : end) - v), true, &n);
        }
    }
}

static void free_input(input *in)
{
    free(in->method);
    free(in->target);
    for (size_t h = 0; h < HEADERS; h++)
        free(in->header[h]);
    for (size_t i = 0; i < in->n_lines; i++) {
        free((char *)in->line[i].name);
        free((char *)in->line[i].value);
    }
    free(in->body);
}

/* Whether srv_handle() would run an Argon2id verification for this request. */
static bool runs_argon2(const srv_request *req)
{
    srv_route r = srv_route_resolve(req->path);
    srv_credentials *c;
    char msg[SRV_CREDENTIALS_MSG_MAX];
    bool decoded;

    if (r.t != SRV_ROUTE_AUTHENTICATE || !srv_route_method_allowed(&r, req->method) ||
        req->body_len > JOBS_JSON_BODY_MAX)
        return false;
    FUZZ_CHECK((c = malloc(sizeof *c)) != NULL);
    decoded = srv_decode_credentials(c, req->body, req->body_len, msg, sizeof msg) == 0;
    free(c);
    return decoded;
}

/* ---- the response -------------------------------------------------------------------------- */

/* Notes the id of what a 201 created, from its Location header. */
static void note_created(const srv_response *res)
{
    const char *loc = strstr(res->headers, "Location: /");
    char kind[16];
    uint64_t id;

    /* A create under /api/v1 answers 200, its Location under the prefix. */
    if ((res->status != 201 && (res->status != 200 || !res->kragle)) || !loc ||
        (sscanf(loc, "Location: /%15[a-z]/byid/%" SCNu64, kind, &id) != 2 &&
         sscanf(loc, "Location: " SRV_KRAGLE_PREFIX "/%15[a-z]/byid/%" SCNu64, kind, &id) != 2))
        return;
    for (int k = 0; k < 3; k++)
        if (strcmp(kind, srv_kind_path[k] + 1) == 0)
            snprintf(last_id[k], sizeof last_id[k], "%" PRIu64, id);
}

/* Notes a webhook token an answer shows, for @HOOKTOKEN@. */
static void note_hook_token(const srv_response *res)
{
    static const char *const keys[] = {"\"webhook_token\":\"", "{\"token\":\""};

    if (res->status != 200 && res->status != 201)
        return;
    for (size_t k = 0; k < 2; k++) {
        const char *t = strstr(res->body, keys[k]);
        if (t && strspn(t += strlen(keys[k]), "0123456789abcdef") == JOBS_WEBHOOK_TOKEN_LEN &&
            t[JOBS_WEBHOOK_TOKEN_LEN] == '"')
            memcpy(hook_token, t, JOBS_WEBHOOK_TOKEN_LEN);
    }
}

static bool is_api_method(const char *m)
{
    return !strcmp(m, "GET") || !strcmp(m, "HEAD") || !strcmp(m, "POST") || !strcmp(m, "PUT") ||
           !strcmp(m, "DELETE");
}

static void check_response(const srv_response *res, const srv_request *req, const srv_route *r)
{
    size_t hlen = strnlen(res->headers, sizeof res->headers);
    const cJSON *code;
    cJSON *json;

    FUZZ_CHECK(res->status >= 200 && res->status <= 599);
    /* No internal error. Under /api/v1 every fault is a 500 (checked below: not fault 106),
     * and a create answers 200, not 201. */
    FUZZ_CHECK(res->kragle == r->kragle);
    FUZZ_CHECK(res->status != 500 || res->kragle);
    FUZZ_CHECK(!res->kragle || res->status != 201);
    FUZZ_CHECK(res->body != NULL && strlen(res->body) == res->body_len);
    FUZZ_CHECK(hlen < sizeof res->headers);
    FUZZ_CHECK(hlen == 0 || (hlen >= 2 && memcmp(res->headers + hlen - 2, "\r\n", 2) == 0));
    FUZZ_CHECK(res->status != 201 || strstr(res->headers, "Location: /") != NULL);
    FUZZ_CHECK(res->status != 405 || strstr(res->headers, "Allow: ") != NULL);
    /* Only the methods of the API ever succeed. */
    FUZZ_CHECK(res->status >= 300 || is_api_method(req->method));
    /* The console's files: their own types, or 304 with an empty body. */
    if (r->t == SRV_ROUTE_CONSOLE && (res->status == 200 || res->status == 304)) {
        FUZZ_CHECK(res->status == 304 ? res->body_len == 0 : res->content_type != NULL);
        FUZZ_CHECK(strstr(res->headers, "Content-Security-Policy: ") != NULL);
        return;
    }
    if (res->content_type) {
        FUZZ_CHECK(res->status == 200 && r->t == SRV_ROUTE_METRICS);
        return;
    }

    json = cJSON_ParseWithLength(res->body, res->body_len);
    FUZZ_CHECK(json != NULL && cJSON_IsObject(json));
    code = cJSON_GetObjectItemCaseSensitive(json, "code");
    if (r->t == SRV_ROUTE_HEALTH && res->status == 503) {
        /* /healthz tells a failure by its status, with a status body rather than a fault. */
        FUZZ_CHECK(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(json, "status")));
    } else if (res->status >= 400) {
        FUZZ_CHECK(cJSON_IsNumber(code) && code->valuedouble >= 1 && code->valuedouble <= 1000 &&
                   code->valuedouble == (double)(int)code->valuedouble);
        FUZZ_CHECK(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(json, "msg")));
        /* Under /api/v1 every fault is a 500, but fault 116 (a stack that is not public, asked
         * for without a session): 403, as the original's Stacks page says. */
        FUZZ_CHECK(!res->kragle || (res->status == (code->valuedouble == 116 ? 403 : 500) &&
                                    code->valuedouble != 106));
    } else {
        FUZZ_CHECK(code == NULL || (cJSON_IsNumber(code) && code->valuedouble == 0));
    }
    cJSON_Delete(json);
}

/* Whether s is valid UTF-8 (RFC 3629). */
static bool utf8_valid(const unsigned char *s)
{
    return fuzz_utf8_ok(s, true);
}

/* What server.c does after srv_handle(): count the request, write its access-log line. */
static void check_access_log(const srv_response *res, const srv_request *req, const srv_route *r)
{
    char line[SRV_ACCESS_LINE_MAX];
    srv_access a;
    const cJSON *path;
    cJSON *json;
    size_t n;

    srv_metrics_request(app.metrics, srv_route_index(r), req->method, res->status, 1000);
    memset(&a, 0, sizeof a);
    clock_gettime(CLOCK_REALTIME, &a.time);
    a.method = req->method;
    a.route = srv_route_template(srv_route_index(r));
    a.path = req->path;
    a.remote = "127.0.0.1";
    a.status = res->status;
    a.duration_ns = 1000;
    a.user = res->user;
    a.bytes = res->body_len;
    n = srv_access_format(line, &a);
    FUZZ_CHECK(n >= 2 && n <= sizeof line && line[n - 1] == '\n' && !memchr(line, '\n', n - 1));
    json = cJSON_ParseWithLength(line, n - 1);
    FUZZ_CHECK(json != NULL && cJSON_IsObject(json));
    path = cJSON_GetObjectItemCaseSensitive(json, "path");
    FUZZ_CHECK(cJSON_IsString(path));
    if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(json, "path_truncated")) &&
        utf8_valid((const unsigned char *)req->path))
        FUZZ_CHECK(strcmp(path->valuestring, req->path) == 0);
    cJSON_Delete(json);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    input in;
    char *query;
    srv_request req;
    srv_response res;
    srv_route r;

    parse_input(&in, data, size);
    memset(&req, 0, sizeof req);
    req.method = in.method;
    req.path = in.target ? in.target : "/";
    if ((query = in.target ? strchr(in.target, '?') : NULL) != NULL) {
        *query = '\0';
        req.query = query + 1;
    }
    req.cookie = in.header[0];
    req.authorization = in.header[1];
    req.if_match = in.header[2];
    req.idempotency_key = in.header[3];
    req.if_none_match = in.header[4];
    req.origin = in.header[5];
    req.sec_fetch_site = in.header[6];
    req.requested_with = in.header[7];
    req.content_type = in.header[8];
    req.headers = in.n_lines ? in.line : NULL;
    req.n_headers = in.n_lines;
    /* The body's buffer is exactly its size (no NUL), so a read past it is caught. */
    req.body = in.has_body ? in.body : NULL;
    req.body_len = in.body_len;

    if (!runs_argon2(&req)) {
        r = srv_route_resolve(req.path);
        srv_handle(&res, &app, &req);
        if (trace)
            fprintf(stderr, "%s %s%s%s -> %d %.300s\n", req.method, req.path,
                    req.query ? "?" : "", req.query ? req.query : "", res.status,
                    res.body ? res.body : "(null)");
        check_response(&res, &req, &r);
        check_access_log(&res, &req, &r);
        note_created(&res);
        note_hook_token(&res);
        srv_response_free(&res);
        ensure_sessions();
    }
    free_input(&in);

    /* Every index against the records: often at first (the corpus replay), then now and then. */
    if (++runs <= 256 || runs % 4096 == 0) {
        int rc = jobs_store_check(app.store);
        if (rc != 0)
            fprintf(stderr, "jobs_store_check: %s\n", jobs_error_last());
        FUZZ_CHECK(rc == 0);
    }
    return 0;
}
