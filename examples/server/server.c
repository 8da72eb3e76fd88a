/* The civetweb glue: framing checks, the body, one mg_write per answer, the metrics and the
 * access log of each request. Everything about the HTTP API itself is in handler.c. */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <civetweb.h>
#include <sodium.h>

#include "accesslog.h"
#include "handler.h"
#include "hook.h"
#include "metrics.h"
#include "cli.h"
#include "config.h"
#include "route.h"
#include "server.h"

/* The server's state shared by its workers (one server per process). */
static struct {
    atomic_int open;      /* connections open: each holds a worker thread */
    atomic_int in_flight; /* requests between on_request's start and its answer */
    atomic_bool draining; /* SIGTERM: new requests are refused (503), keep-alive ends */
    int threads;          /* the workers civetweb has */
    int64_t request_timeout_ms; /* --request-timeout */
    const char *trusted_proxy;  /* --trusted-proxy, or NULL */
} state;

/* ---- the body's deadline ---------------------------------------------------------------------
 * civetweb's request timeout bounds the header block, but for the body only each wait for more
 * bytes: mg_read() of N bytes goes on as long as some keep coming, so a client sending a byte
 * just within the timeout each time would hold its worker for as long as it liked. A body must
 * be in within --request-timeout of the handler's start: a one-shot timer of the worker thread
 * sends it BODY_SIGNAL then (and every 100 ms after, until the read is over), whose empty
 * handler, installed without SA_RESTART, makes civetweb's poll() fail with EINTR, so the read
 * returns what it has. */
#define BODY_SIGNAL (SIGRTMIN + 1)

static void on_body_signal(int sig)
{
    (void)sig;
}

/* Arms the calling thread's body timer for `ms`: false when no timer could be made (then the
 * deadline is still checked between reads, as each read ends). */
static bool body_timer_start(timer_t *t, int64_t ms)
{
    static _Thread_local bool unblocked;
    struct sigevent ev;
    struct itimerspec its;

    if (!unblocked) {
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, BODY_SIGNAL);
        pthread_sigmask(SIG_UNBLOCK, &set, NULL);
        unblocked = true;
    }
    memset(&ev, 0, sizeof ev);
    ev.sigev_notify = SIGEV_THREAD_ID;
    ev.sigev_signo = BODY_SIGNAL;
    ev._sigev_un._tid = gettid(); /* sigev_notify_thread_id, which glibc's header lacks */
    if (timer_create(CLOCK_MONOTONIC, &ev, t) != 0)
        return false;
    memset(&its, 0, sizeof its);
    its.it_value.tv_sec = (time_t)(ms / 1000);
    its.it_value.tv_nsec = (long)(ms % 1000) * 1000000;
    its.it_interval.tv_nsec = 100000000;
    if (timer_settime(*t, 0, &its, NULL) != 0) {
        timer_delete(*t);
        return false;
    }
    return true;
}

/* Appends the `n` bytes of `s` at *p. */
static char *put(char *p, const char *s, size_t n)
{
    memcpy(p, s, n);
    return p + n;
}

#define PUT_LITERAL(p, s) put((p), (s), sizeof(s) - 1)

/* Appends v in decimal at *p (at most 20 digits). */
static char *put_decimal(char *p, uint64_t v)
{
    char digits[20];
    size_t n = 0;

    do {
        digits[sizeof digits - ++n] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    return put(p, digits + sizeof digits - n, n);
}

/* The Date header's value (RFC 9110 6.6.1: an origin server with a clock sends one), in its
 * IMF-fixdate form ("Sun, 06 Nov 1994 08:49:37 GMT", 29 bytes), made at most once a second on
 * each worker thread. The names are spelled here, not taken from strftime's locale. */
static const char *http_date(void)
{
    static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    static _Thread_local time_t made = (time_t)-1;
    static _Thread_local char text[64];
    time_t now = time(NULL);
    struct tm tm;

    if (now != made && gmtime_r(&now, &tm) && tm.tm_year >= -1900 && tm.tm_year <= 9999 - 1900) {
        snprintf(text, sizeof text, "%s, %02d %s %04d %02d:%02d:%02d GMT", days[tm.tm_wday % 7],
                 tm.tm_mday, months[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                 tm.tm_sec);
        made = now;
    }
    return text;
}

/* Sends a whole response (status line, headers, body) with one mg_write. The answer to HEAD
 * has the same headers and no body (RFC 9110 9.3.2): a body there would be read by the client
 * as the start of the next answer on the connection. The head is put together with memcpy
 * rather than snprintf, which took a tenth of the handler's own time on GET /jobs?page=1; its
 * bytes are those of the format it replaced:
 *   "HTTP/1.1 %d %s\r\n" ["Content-Type: %s\r\nContent-Length: %zu\r\n" unless 304]
 *   "Date: %s\r\nCache-Control: %s\r\nX-Content-Type-Options: nosniff\r\n" headers
 *   ["Connection: close\r\n"] "\r\n"
 * Every answer says nosniff: a browser never takes a JSON answer (or a fault's text) for
 * another type, whatever it holds. */
static void send_response(struct mg_connection *conn, const srv_response *res, bool close,
                          bool is_head)
{
    const char *reason = srv_status_text(res->status);
    const char *type = res->content_type ? res->content_type : "application/json";
    const char *cache = res->cache_control ? res->cache_control : "no-store";
    size_t body_len = is_head ? 0 : res->body_len;
    size_t reason_len = strlen(reason), type_len = strlen(type), cache_len = strlen(cache);
    size_t headers_len = strnlen(res->headers, sizeof res->headers);
    const char *date = http_date();
    size_t date_len = strlen(date);
    /* The fixed text and three numbers of at most 20 digits each, with room to spare. */
    size_t room = 200 + date_len + reason_len + type_len + cache_len + headers_len + body_len;
    char *buf, *p;

    if (!(buf = malloc(room)))
        return;
    p = PUT_LITERAL(buf, "HTTP/1.1 ");
    p = put_decimal(p, (uint64_t)(res->status > 0 ? res->status : 0));
    *p++ = ' ';
    p = put(p, reason, reason_len);
    p = PUT_LITERAL(p, "\r\n");
    /* A 304 has neither: the client keeps the file it has (the console's files, static.c). */
    if (res->status != 304) {
        p = PUT_LITERAL(p, "Content-Type: ");
        p = put(p, type, type_len);
        p = PUT_LITERAL(p, "\r\nContent-Length: ");
        p = put_decimal(p, res->body_len);
        p = PUT_LITERAL(p, "\r\n");
    }
    if (date_len) {
        p = PUT_LITERAL(p, "Date: ");
        p = put(p, date, date_len);
        p = PUT_LITERAL(p, "\r\n");
    }
    p = PUT_LITERAL(p, "Cache-Control: ");
    p = put(p, cache, cache_len);
    p = PUT_LITERAL(p, "\r\nX-Content-Type-Options: nosniff\r\n");
    p = put(p, res->headers, headers_len);
    if (close)
        p = PUT_LITERAL(p, "Connection: close\r\n");
    p = PUT_LITERAL(p, "\r\n");
    if (body_len)
        p = put(p, res->body, body_len);
    mg_write(conn, buf, (size_t)(p - buf));
    free(buf);
}

/* A Content-Length value is decimal digits (RFC 9110 8.6); civetweb reads it with strtoll,
 * which takes "12abc" and "+12" as 12. Trailing blanks are allowed (civetweb keeps them). */
static bool is_length(const char *v)
{
    size_t n = strspn(v, "0123456789");

    return n > 0 && v[n + strspn(v + n, " \t")] == '\0';
}

/* Why the framing of a request cannot be trusted, or NULL; `*chunked` tells whether its body
 * is chunked. RFC 9112 6.3 makes such a request an unrecoverable error: 400, and the connection
 * closed, since where the next request starts is unknown. civetweb 1.15 itself takes the first
 * of several Content-Length headers, uses chunked when Content-Length is also given and keeps
 * the connection, and keeps only MG_MAX_HEADERS (64) header lines, dropping the rest unseen (one
 * of them could be Content-Length or Authorization). */
static const char *framing_fault(bool *chunked, const struct mg_request_info *ri)
{
    /* Fields that hold one value (RFC 9110 5.3): given twice, the server would act on the
     * first (mg_get_header) where a proxy in front may have acted on the last, so a second one
     * is refused, not ignored. If-Match is a list and may be split (if_match_value). Cookie
     * too: a user agent sends one (RFC 6265 5.4), a proxy joins HTTP/2's split ones into one
     * (RFC 9113 8.2.3), and a second, unseen, could carry another session's auth_tkt past
     * identify()'s check of two sessions in one request. */
    static const struct {
        const char *name, *twice;
    } once[] = {
        {"Content-Type", "give the Content-Type header once"},
        {"Authorization", "give the Authorization header once"},
        {"Idempotency-Key", "give the Idempotency-Key header once"},
        {"X-Requested-With", "give the X-Requested-With header once"},
        {"Origin", "give the Origin header once"},
        {"Cookie", "give the Cookie header once"},
    };
    int seen[sizeof once / sizeof once[0]] = {0};
    const char *length = NULL;
    int lengths = 0, encodings = 0;

    int hosts = 0;

    *chunked = false;
    if (ri->num_headers >= MG_MAX_HEADERS)
        return "too many header lines (at most 63)";
    for (int i = 0; i < ri->num_headers; i++) {
        /* RFC 9112 5.1: no whitespace between a field name and its colon. civetweb keeps it in
         * the name, so "Content-Length : 5" would pass unseen as another header. */
        if (!ri->http_headers[i].name[0] || ri->http_headers[i].name[strcspn(
                ri->http_headers[i].name, " \t\r\n\v\f")] != '\0')
            return "whitespace in a header name, or before its colon";
        {
            /* civetweb 1.15 takes "Content-Length : 5" as Content-Length, overwriting the blanks
             * before the colon with NULs in its buffer, where the name and value point: the
             * bytes between a name's end and its value are the colon and blanks after it, so a
             * NUL among them is a blank before the colon. */
            const char *name = ri->http_headers[i].name, *value = ri->http_headers[i].value;
            const char *end = name + strlen(name);

            if (value > end && value - end < 16384)
                for (const char *q = end + 1; q < value; q++)
                    if (*q == '\0')
                        return "whitespace before the colon of a header";
        }
        if (strcasecmp(ri->http_headers[i].name, "Host") == 0)
            hosts++;
        for (size_t k = 0; k < sizeof once / sizeof once[0]; k++)
            if (strcasecmp(ri->http_headers[i].name, once[k].name) == 0 && seen[k]++)
                return once[k].twice;
        if (strcasecmp(ri->http_headers[i].name, "Content-Length") == 0) {
            lengths++;
            length = ri->http_headers[i].value;
        } else if (strcasecmp(ri->http_headers[i].name, "Transfer-Encoding") == 0) {
            /* RFC 9112 6.3: a final coding other than chunked cannot be framed: 400. civetweb
             * 1.15 refuses every other coding but takes "identity" as no body, so the body
             * would be read as the next request, which a front end saw as this one's body. */
            const char *v = ri->http_headers[i].value;

            encodings++;
            v += strspn(v, " \t");
            if (strncasecmp(v, "chunked", 7) != 0 || v[7 + strspn(v + 7, " \t")] != '\0')
                return "a Transfer-Encoding other than chunked";
            *chunked = true;
        }
    }
    if (lengths + encodings > 1)
        return "give the body's length once: one Content-Length or Transfer-Encoding: chunked";
    if (length && !is_length(length))
        return "Content-Length must be decimal digits";
    /* RFC 9112 3.2: exactly one Host in HTTP/1.1 (HTTP/1.0 may leave it out). */
    if (hosts > 1 || (hosts == 0 && ri->http_version && strcmp(ri->http_version, "1.0") != 0))
        return hosts ? "give the Host header once" : "an HTTP/1.1 request needs a Host header";
    return NULL;
}

/* Whether the Content-Type of a request with a body is JSON: application/json, with no
 * parameter or a charset of utf-8 (RFC 8259 8.1), case-insensitive; or no Content-Type at all.
 * Anything else is refused (415): it is what an HTML form on another site sends, which a browser
 * posts with the user's cookie and without asking the server first (docs/http-api.md, CSRF). */
static bool is_json_type(const char *v)
{
    size_t n;

    if (!v)
        return true;
    v += strspn(v, " \t");
    if (strncasecmp(v, "application/json", 16) != 0)
        return false;
    v += 16;
    v += strspn(v, " \t");
    if (*v == '\0')
        return true;
    if (*v++ != ';')
        return false;
    v += strspn(v, " \t");
    if (strncasecmp(v, "charset=", 8) != 0)
        return false;
    v += 8;
    if (strncasecmp(v, "\"utf-8\"", 7) == 0)
        n = 7;
    else if (strncasecmp(v, "utf-8", 5) == 0)
        n = 5;
    else
        return false;
    v += n;
    return v[strspn(v, " \t")] == '\0';
}

/* After an answer was written: counts it in the metrics and writes its access-log line, in one
 * write(2) so that lines of concurrent requests never mix. `method` and `path` (without the
 * query, which may carry secrets) are NULL when civetweb could not parse the request. */
static void record(const srv_app *app, const char *method, const char *path, const char *remote,
                   const srv_response *res, const struct timespec *start, size_t bytes)
{
    struct timespec end;
    srv_route r;
    unsigned route = 0;
    uint64_t ns;

    clock_gettime(CLOCK_MONOTONIC, &end);
    ns = (uint64_t)(end.tv_sec - start->tv_sec) * 1000000000u + (uint64_t)end.tv_nsec -
         (uint64_t)start->tv_nsec;
    if (path) {
        r = srv_route_resolve(path);
        route = srv_route_index(&r);
    }
    srv_metrics_request(app->metrics, route, method, res->status, ns);
    if (srv_accesslog_on()) {
        char line[SRV_ACCESS_LINE_MAX];
        srv_access a;

        memset(&a, 0, sizeof a);
        clock_gettime(CLOCK_REALTIME, &a.time);
        a.method = method;
        a.route = srv_route_template(route);
        a.path = path;
        a.remote = remote && remote[0] ? remote : NULL;
        a.status = res->status;
        a.duration_ns = ns;
        a.user = res->user;
        a.bytes = bytes;
        srv_accesslog_append(line, srv_access_format(line, &a),
                      (int64_t)end.tv_sec * 1000 + end.tv_nsec / 1000000);
    }
}

static void add_retry_after(srv_response *res)
{
    size_t len = strlen(res->headers);

    snprintf(res->headers + len, sizeof res->headers - len, "Retry-After: 5\r\n");
}

/* A webhook also takes an HTML form's body (application/x-www-form-urlencoded): its
 * parameters are the run's "POST" input (docs/http-api.md, Webhooks). */
static bool is_hook_form(const char *path, const char *type)
{
    srv_route r = srv_route_resolve(path);

    return r.t == SRV_ROUTE_HOOK && type &&
           strncasecmp(type + strspn(type, " \t"), "application/x-www-form-urlencoded", 33) == 0;
}

/* The address `len` bytes at `s` name, in binary (16 bytes; an IPv4 one in the first 4), with
 * its family; 0 when it is no address. */
static int address_bytes(unsigned char out[16], const char *s, size_t len)
{
    char buf[INET6_ADDRSTRLEN];

    memset(out, 0, 16);
    if (len == 0 || len >= sizeof buf)
        return 0;
    memcpy(buf, s, len);
    buf[len] = '\0';
    if (inet_pton(AF_INET, buf, out) == 1)
        return AF_INET;
    return inet_pton(AF_INET6, buf, out) == 1 ? AF_INET6 : 0;
}

/* Whether `addr` is one of the comma-separated addresses of `list`. */
static bool address_in_list(const char *list, const char *addr)
{
    unsigned char a[16], b[16];
    int fa = address_bytes(a, addr, strlen(addr));

    for (const char *p = list; fa;) {
        size_t n = strcspn(p, ","), len;
        const char *e = p + strspn(p, " \t");

        len = n - (size_t)(e - p);
        while (len && (e[len - 1] == ' ' || e[len - 1] == '\t'))
            len--;
        if (address_bytes(b, e, len) == fa && memcmp(a, b, 16) == 0)
            return true;
        p += n;
        if (!*p++)
            break;
    }
    return false;
}

/* The client's address: the connection's, or for a request from a --trusted-proxy the last
 * address of its last X-Forwarded-For header (the one that proxy appended; what comes before it
 * is the client's to write). A request from the proxy without one, or with a malformed last
 * entry, keeps the proxy's address. */
static const char *client_address(char buf[INET6_ADDRSTRLEN], const struct mg_request_info *ri)
{
    const char *xff = NULL, *last;
    size_t len;

    if (!state.trusted_proxy || !address_in_list(state.trusted_proxy, ri->remote_addr))
        return ri->remote_addr;
    for (int i = 0; i < ri->num_headers && i < MG_MAX_HEADERS; i++)
        if (strcasecmp(ri->http_headers[i].name, "X-Forwarded-For") == 0)
            xff = ri->http_headers[i].value;
    if (!xff)
        return ri->remote_addr;
    last = strrchr(xff, ',');
    last = last ? last + 1 : xff;
    last += strspn(last, " \t");
    len = strlen(last);
    while (len && (last[len - 1] == ' ' || last[len - 1] == '\t'))
        len--;
    if (!srv_address_is_valid(last, len))
        return ri->remote_addr;
    memcpy(buf, last, len);
    buf[len] = '\0';
    return buf;
}

/* Whether the client's request came over HTTPS: the connection's own scheme, or for a request
 * from a --trusted-proxy the one the last value of its last X-Forwarded-Proto header names
 * (the proxy that ended TLS appended it; what comes before is the client's to write):
 * "https" or "http", in any case. Any other value, or none, keeps the connection's. From any
 * other peer the header is the client's own text and never counts. */
static bool request_is_tls(const struct mg_request_info *ri)
{
    const char *xfp = NULL, *last;
    size_t len;

    if (!state.trusted_proxy || !address_in_list(state.trusted_proxy, ri->remote_addr))
        return ri->is_ssl != 0;
    for (int i = 0; i < ri->num_headers && i < MG_MAX_HEADERS; i++)
        if (strcasecmp(ri->http_headers[i].name, "X-Forwarded-Proto") == 0)
            xfp = ri->http_headers[i].value;
    if (!xfp)
        return ri->is_ssl != 0;
    last = strrchr(xfp, ',');
    last = last ? last + 1 : xfp;
    last += strspn(last, " \t");
    len = strlen(last);
    while (len && (last[len - 1] == ' ' || last[len - 1] == '\t'))
        len--;
    if (len == 5 && strncasecmp(last, "https", 5) == 0)
        return true;
    if (len == 4 && strncasecmp(last, "http", 4) == 0)
        return false;
    return ri->is_ssl != 0;
}

/* The value of If-Match, a list of entity tags that a client may split over several header
 * lines (RFC 9110 5.3, 13.1.1): the lines joined with ", " as one line would carry them, blank
 * ones left out, so that a tag on a later line counts and a malformed later line is refused,
 * rather than the first line alone deciding. NULL without the header; the value of a single
 * line as it is; a new string in *own (freed by the caller) for several. False when memory ran
 * out. */
static bool if_match_value(const char **value, char **own, const struct mg_request_info *ri)
{
    const char *line[MG_MAX_HEADERS];
    size_t lines = 0, total = 0, at = 0;
    int n = ri->num_headers < MG_MAX_HEADERS ? ri->num_headers : MG_MAX_HEADERS;

    *value = NULL;
    *own = NULL;
    for (int i = 0; i < n; i++)
        if (strcasecmp(ri->http_headers[i].name, "If-Match") == 0) {
            const char *v = ri->http_headers[i].value;
            if (!*value)
                *value = v; /* blank lines alone: the first one, refused as before */
            if (v[strspn(v, " \t")] != '\0') {
                line[lines++] = v;
                total += strlen(v) + 2;
            }
        }
    if (lines == 1)
        *value = line[0];
    if (lines < 2)
        return true;
    if (!(*own = malloc(total + 1)))
        return false;
    for (size_t i = 0; i < lines; i++) {
        size_t len = strlen(line[i]);
        if (i) {
            memcpy(*own + at, ", ", 2);
            at += 2;
        }
        memcpy(*own + at, line[i], len);
        at += len;
    }
    (*own)[at] = '\0';
    *value = *own;
    return true;
}

/* The request the handler gets: its `path` and `query` (as the caller found them in the
 * target), every header line (in `headers`), the client's `remote` address, the `body`, the
 * If-Match value of if_match_value(). One function for both ways a request comes in
 * (on_request, and an absolute-form target in on_connection_close), so that the handler, and a
 * webhook's run, see the same request. */
static void request_from(srv_request *req, srv_header headers[MG_MAX_HEADERS],
                         const struct mg_connection *conn, const struct mg_request_info *ri,
                         const char *path, const char *query, const char *remote, char *body,
                         size_t len, const char *if_match)
{
    memset(req, 0, sizeof *req);
    for (int i = 0; i < ri->num_headers && i < MG_MAX_HEADERS; i++) {
        headers[i].name = ri->http_headers[i].name;
        headers[i].value = ri->http_headers[i].value;
    }
    req->headers = headers;
    req->n_headers =
        (size_t)(ri->num_headers < MG_MAX_HEADERS ? ri->num_headers : MG_MAX_HEADERS);
    req->content_type = mg_get_header(conn, "Content-Type");
    req->method = ri->request_method;
    req->path = path;
    req->query = query;
    req->cookie = mg_get_header(conn, "Cookie");
    req->authorization = mg_get_header(conn, "Authorization");
    req->if_match = if_match;
    req->idempotency_key = mg_get_header(conn, "Idempotency-Key");
    req->body = body;
    req->body_len = len;
    req->is_tls = request_is_tls(ri);
    req->remote = remote;
    req->if_none_match = mg_get_header(conn, "If-None-Match");
    req->origin = mg_get_header(conn, "Origin");
    req->sec_fetch_site = mg_get_header(conn, "Sec-Fetch-Site");
    req->requested_with = mg_get_header(conn, "X-Requested-With");
}

static int on_request(struct mg_connection *conn, void *cbdata)
{
    srv_app *app = cbdata;
    const struct mg_request_info *ri = mg_get_request_info(conn);
    const char *bad, *path;
    srv_response res;
    srv_request req;
    srv_header headers[MG_MAX_HEADERS];
    struct timespec start;
    char *body = NULL, remote_buf[INET6_ADDRSTRLEN], *if_match_own = NULL;
    const char *remote = client_address(remote_buf, ri), *if_match = NULL;
    size_t len = 0;
    bool chunked, close = true, is_head;
    int status;

    clock_gettime(CLOCK_MONOTONIC, &start);
    memset(&res, 0, sizeof res);
    atomic_fetch_add(&state.in_flight, 1);
    /* Routed and logged as sent: local_uri is cleaned ("x//y" -> "x/y", "p/../q" -> "q"), which
     * would answer another job than the one named. */
    path = ri->local_uri_raw ? ri->local_uri_raw : ri->local_uri ? ri->local_uri : "/";
    /* Faults answered before the handler runs (413, 108, 415, 503) follow the profile of the
     * path too: under /api/v1 they are 500s. */
    res.kragle = srv_route_resolve(path).kragle;
    if (atomic_load(&state.draining)) {
        srv_fault(&res, app, SRV_FAULT_STOPPING, "the server is stopping; try again shortly");
        add_retry_after(&res);
        goto out;
    }
    if ((bad = framing_fault(&chunked, ri)) != NULL) {
        srv_fault(&res, app, SRV_FAULT_MALFORMED, bad);
        goto out;
    }
    if ((chunked || ri->content_length > 0) &&
        !is_json_type(mg_get_header(conn, "Content-Type")) &&
        !is_hook_form(path, mg_get_header(conn, "Content-Type"))) {
        srv_fault(&res, app, SRV_FAULT_MEDIA_TYPE,
                  "the body must be JSON: send Content-Type: application/json (or none)");
        goto out;
    }
    /* Bodies over the limit are refused unread: by Content-Length, or while reading a
     * chunked one. The connection is then closed, since the rest of the body is unread. */
    if (ri->content_length > JOBS_JSON_BODY_MAX) {
        srv_fault(&res, app, SRV_FAULT_TOO_LARGE, "request body is larger than 64 KiB");
        goto out;
    }
    /* Without Content-Length or chunked there is no body (RFC 9112 6.3). The body must be in
     * within --request-timeout of the handler's start (see BODY_SIGNAL). */
    if (chunked || ri->content_length > 0) {
        int64_t deadline = srv_monotonic_ms() + state.request_timeout_ms;
        bool timer, late;
        timer_t t;
        int n;

        if (!(body = malloc(JOBS_JSON_BODY_MAX + 1))) {
            srv_fault(&res, app, SRV_FAULT_INTERNAL, "out of memory");
            goto out;
        }
        timer = body_timer_start(&t, state.request_timeout_ms);
        while ((n = mg_read(conn, body + len, JOBS_JSON_BODY_MAX + 1 - len)) > 0) {
            len += (size_t)n;
            if (len > JOBS_JSON_BODY_MAX ||
                (srv_monotonic_ms() > deadline && (chunked || len != (size_t)ri->content_length)))
                break;
        }
        if (timer)
            timer_delete(t);
        if (len > JOBS_JSON_BODY_MAX) {
            srv_fault(&res, app, SRV_FAULT_TOO_LARGE, "request body is larger than 64 KiB");
            goto out;
        }
        /* A body cut short (the client closed, or timed out) must not be acted upon: mg_read
         * returns 0 then for a Content-Length body, -1 for a chunked one or a broken chunk. */
        late = srv_monotonic_ms() > deadline;
        if (n != 0 || (!chunked && len != (size_t)ri->content_length)) {
            srv_fault(&res, app, SRV_FAULT_MALFORMED,
                      late ? "the body was not sent within the request timeout"
                           : "the body is shorter than announced, or its chunked encoding is "
                             "malformed");
            goto out;
        }
    }

    if (!if_match_value(&if_match, &if_match_own, ri)) {
        srv_fault(&res, app, SRV_FAULT_INTERNAL, "out of memory");
        goto out;
    }
    request_from(&req, headers, conn, ri, path, ri->query_string, remote, body, len, if_match);
    srv_handle(&res, app, &req);
    close = false;
out:
    /* civetweb would otherwise read and discard the rest of a refused body, and keep the
     * connection even when it cannot tell where the next request starts. */
    /* Each open connection holds a worker, also while it idles between keep-alive requests:
     * when most workers are taken, or the server is stopping, the connection is closed after
     * its answer so that its worker serves someone else. */
    if (!close && (atomic_load(&state.draining) ||
                   atomic_load(&state.open) * 4 >= state.threads * 3))
        close = true;
    if (close)
        mg_disable_connection_keep_alive(conn);
    is_head = strcmp(ri->request_method, "HEAD") == 0;
    send_response(conn, &res, close, is_head);
    atomic_fetch_sub(&state.in_flight, 1);
    record(app, ri->request_method, path, remote, &res, &start,
           is_head ? 0 : res.body_len);
    status = res.status;
    srv_response_free(&res);
    if (body)
        sodium_memzero(body, len); /* may hold a password */
    free(body);
    free(if_match_own);
    return status;
}

/* Whether the target of a request line civetweb has parsed (NULL: not parsed) is under the
 * Kragle profile's prefix: its path (an absolute-form target's after its authority, without
 * the query) resolves with `kragle` set. */
static bool target_is_kragle(const char *target)
{
    char path[256];
    const char *p;
    size_t n;

    if (!target)
        return false;
    if (target[0] != '/') {
        if (!(p = strstr(target, "://")) || !(p = strchr(p + 3, '/')))
            return false;
        target = p;
    }
    n = strcspn(target, "?");
    if (n >= sizeof path)
        n = sizeof path - 1; /* the prefix is what counts */
    memcpy(path, target, n);
    path[n] = '\0';
    return srv_route_resolve(path).kragle;
}

/* civetweb's own refusals, made before on_request: a request line or header block it cannot
 * parse or that overflows its 16 KiB buffer, a negative Content-Length, a Transfer-Encoding other
 * than chunked, an HTTP version other than 1.0 and 1.1. Answered as JSON faults like everything
 * else instead of civetweb's text/plain page; the connection is then closed. When the request
 * line was parsed and names a path under /api/v1, the fault follows the Kragle profile (HTTP
 * 500), as those jobs-server answers itself there. */
static int on_http_error(struct mg_connection *conn, int status, const char *msg)
{
    const srv_app *app = mg_get_user_data(mg_get_context(conn));
    const struct mg_request_info *ri = mg_get_request_info(conn);
    struct timespec start;
    char text[160];
    srv_response res;

    clock_gettime(CLOCK_MONOTONIC, &start);
    memset(&res, 0, sizeof res);
    /* Answered: on_connection_close must not answer this request again. */
    mg_set_user_connection_data(conn, (void *)&state);
    snprintf(text, sizeof text, "malformed HTTP request (%s)", msg);
    /* request_uri is set by civetweb once it has parsed this request's line (it is reset for
     * each request of a connection), so a half-parsed line counts as no target. */
    res.kragle = ri && target_is_kragle(ri->request_uri);
    srv_fault(&res, app, status >= 500 && status != 505 ? SRV_FAULT_INTERNAL : SRV_FAULT_MALFORMED,
              text);
    mg_disable_connection_keep_alive(conn);
    send_response(conn, &res, true, false);
    /* The request line may be half parsed here: only the client's address is taken from it. */
    record(app, NULL, NULL, ri ? ri->remote_addr : NULL, &res, &start, res.body_len);
    srv_response_free(&res);
    return 0;
}

/* A connection opens: it has a worker thread until it closes. */
static int on_init_connection(const struct mg_connection *conn, void **conn_data)
{
    (void)conn;
    *conn_data = NULL;
    atomic_fetch_add(&state.open, 1);
    return 0;
}

/* A connection closes. civetweb 1.15 answers nothing, and calls no handler, for a request whose
 * target it does not take as local: `OPTIONS *` and an absolute-form target naming another port
 * (GET http://host/jobs, RFC 9112 3.2.2, which a server must accept). The connection is still
 * open here, and the request parsed: such a request is answered now, like any other, and the
 * connection then closes. (civetweb itself serves an absolute-form target naming its own port,
 * enable_auth_domain_check being off, through on_request.) */
static void on_connection_close(const struct mg_connection *cconn)
{
    struct mg_connection *conn = (struct mg_connection *)(uintptr_t)cconn;
    const struct mg_request_info *ri = mg_get_request_info(conn);
    const srv_app *app = mg_get_user_data(mg_get_context(conn));
    const char *target, *p;
    struct timespec start;
    srv_response res;

    atomic_fetch_sub(&state.open, 1);
    if (!ri || !ri->request_method || !ri->request_uri || ri->local_uri || !app ||
        mg_get_user_connection_data(conn))
        return;
    target = ri->request_uri;
    clock_gettime(CLOCK_MONOTONIC, &start);
    memset(&res, 0, sizeof res);
    if (strcmp(target, "*") == 0) {
        if (strcmp(ri->request_method, "OPTIONS") == 0) {
            char *json = strdup("{\"code\":0}");
            snprintf(res.headers, sizeof res.headers, "Allow: GET, HEAD, POST, PUT, DELETE\r\n");
            res.status = json ? 200 : 500;
            res.body = json;
            res.body_len = json ? strlen(json) : 0;
        } else {
            srv_fault(&res, app, SRV_FAULT_NOROUTE, "the target * is for OPTIONS only");
        }
    } else if ((p = strstr(target, "://")) && (p = strchr(p + 3, '/'))) {
        /* Absolute form: answered as its path, the authority ignored (this server has one
         * host), with the same request as the origin form would give the handler (headers,
         * client address, ...: a webhook's run reads them), after the same checks of its
         * framing. Its body, if any, is not read here: such a request is answered for what it
         * names without acting on it, and the client is told to send the origin form. */
        srv_request req;
        srv_header headers[MG_MAX_HEADERS];
        char remote_buf[INET6_ADDRSTRLEN];
        const char *remote = client_address(remote_buf, ri), *bad, *if_match;
        char *path = strdup(p), *if_match_own;
        char *q = path ? strchr(path, '?') : NULL;
        bool chunked, mem = if_match_value(&if_match, &if_match_own, ri);

        if (q)
            *q = '\0';
        atomic_fetch_add(&state.in_flight, 1);
        res.kragle = srv_route_resolve(path ? path : "/").kragle;
        request_from(&req, headers, conn, ri, path ? path : "/", q ? q + 1 : NULL, remote, NULL,
                     0, if_match);
        if (atomic_load(&state.draining)) {
            srv_fault(&res, app, SRV_FAULT_STOPPING, "the server is stopping; try again shortly");
            add_retry_after(&res);
        } else if ((bad = framing_fault(&chunked, ri)) != NULL) {
            srv_fault(&res, app, SRV_FAULT_MALFORMED, bad);
        } else if (!path || !mem) {
            srv_fault(&res, app, SRV_FAULT_INTERNAL, "out of memory");
        } else if (ri->content_length > 0 || chunked || strcmp(ri->request_method, "GET") != 0) {
            srv_fault(&res, app, SRV_FAULT_MALFORMED,
                      "an absolute-form target is answered for GET only; send the path alone "
                      "(origin form) with a Host header");
        } else {
            srv_handle(&res, (srv_app *)(uintptr_t)app, &req);
        }
        send_response(conn, &res, true, false);
        atomic_fetch_sub(&state.in_flight, 1);
        record(app, ri->request_method, req.path, remote, &res, &start, res.body_len);
        free(path);
        free(if_match_own);
        srv_response_free(&res);
        return;
    } else {
        srv_fault(&res, app, SRV_FAULT_MALFORMED, "the request target is not a path");
    }
    send_response(conn, &res, true, strcmp(ri->request_method, "HEAD") == 0);
    record(app, ri->request_method, target, ri->remote_addr, &res, &start, res.body_len);
    srv_response_free(&res);
}

static int on_log_message(const struct mg_connection *conn, const char *message)
{
    (void)conn;
    fprintf(stderr, "civetweb: %s\n", message);
    return 1;
}

struct mg_context *srv_server_start(srv_app *app, const srv_options *o)
{
    char ports[1024], threads[16], request_timeout[16];
    const char *mg_opts[32];
    struct mg_callbacks cb;
    struct mg_context *ctx;
    struct mg_server_port sp[4];
    unsigned features;
    int n;

    features = mg_init_library(o->tls_cert ? MG_FEATURES_TLS : 0);
    if (o->tls_cert && !(features & MG_FEATURES_TLS)) {
        fprintf(stderr, "jobs-server: --tls-cert: civetweb cannot load OpenSSL (libssl.so and "
                        "libcrypto.so, package libssl-dev)\n");
        mg_exit_library();
        return NULL;
    }
    /* civetweb takes HTTPS per address ("ADDR:PORTs"): every address of --listen gets it. */
    {
        size_t at = 0;

        ports[0] = '\0';
        for (const char *a = o->listen; *a && at < sizeof ports;) {
            size_t len = strcspn(a, ",");
            int k = snprintf(ports + at, sizeof ports - at, "%s%.*s%s", at ? "," : "", (int)len,
                             a, o->tls_cert ? "s" : "");

            at = k < 0 ? sizeof ports : at + (size_t)k;
            a += len;
            a += *a == ',';
        }
        if (at >= sizeof ports) {
            fprintf(stderr, "jobs-server: --listen is longer than %zu bytes\n",
                    sizeof ports - 1 - sizeof "s");
            mg_exit_library();
            return NULL;
        }
    }
    snprintf(request_timeout, sizeof request_timeout, "%u", o->request_timeout * 1000u);
    snprintf(threads, sizeof threads, "%u", o->threads);
    n = 0;
    mg_opts[n++] = "listening_ports";
    mg_opts[n++] = ports;
    mg_opts[n++] = "num_threads";
    mg_opts[n++] = threads;
    mg_opts[n++] = "enable_keep_alive";
    mg_opts[n++] = "yes";
    mg_opts[n++] = "keep_alive_timeout_ms";
    mg_opts[n++] = "2000";
    mg_opts[n++] = "request_timeout_ms";
    mg_opts[n++] = request_timeout;
    mg_opts[n++] = "tcp_nodelay";
    mg_opts[n++] = "1";
    mg_opts[n++] = "decode_url";
    mg_opts[n++] = "no";
    mg_opts[n++] = "enable_auth_domain_check";
    mg_opts[n++] = "no";
    /* civetweb answers a CORS preflight (OPTIONS with Origin and Access-Control-Request-Method)
     * itself while these are set, and its defaults are "*": a 200 granting any origin, method
     * and header (X-Requested-With included), unlogged and without our headers. Empty, it hands
     * the request to us, and it is refused like any OPTIONS (405, fault 102). */
    mg_opts[n++] = "access_control_allow_origin";
    mg_opts[n++] = "";
    mg_opts[n++] = "access_control_allow_methods";
    mg_opts[n++] = "";
    mg_opts[n++] = "access_control_allow_headers";
    mg_opts[n++] = "";
    if (o->tls_cert) {
        mg_opts[n++] = "ssl_certificate";
        mg_opts[n++] = o->tls_cert;
    }
    mg_opts[n] = NULL;
    memset(&cb, 0, sizeof cb);
    cb.log_message = on_log_message;
    cb.http_error = on_http_error;
    cb.init_connection = on_init_connection;
    cb.connection_close = on_connection_close;
    atomic_init(&state.open, 0);
    atomic_init(&state.in_flight, 0);
    atomic_init(&state.draining, false);
    state.threads = (int)o->threads;
    state.request_timeout_ms = (int64_t)o->request_timeout * 1000;
    state.trusted_proxy = o->trusted_proxy;
    {
        struct sigaction sa;

        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_body_signal;
        sigemptyset(&sa.sa_mask);
        sigaction(BODY_SIGNAL, &sa, NULL);
    }
    if (!(ctx = mg_start(&cb, app, mg_opts))) {
        if (o->tls_cert)
            fprintf(stderr, "jobs-server: cannot serve HTTPS on %s with %s (a PEM file with the "
                            "certificate and its private key)\n", o->listen, o->tls_cert);
        else
            fprintf(stderr, "jobs-server: cannot listen on %s\n", o->listen);
        mg_exit_library();
        return NULL;
    }
    /* The demo user only once the listeners are bound (a start that fails prints no password)
     * and before any request is handled or "listening on" is printed. */
    if (srv_ensure_demo_user(app->users) != 0) {
        mg_stop(ctx);
        mg_exit_library();
        return NULL;
    }
    mg_set_request_handler(ctx, "/", on_request, app);

    /* One line per address of --listen (a comma-separated list), in civetweb's order. */
    memset(sp, 0, sizeof sp);
    n = mg_get_server_ports(ctx, 4, sp);
    {
        const char *a = o->listen;

        for (int i = 0; i < n && *a; i++) {
            size_t len = strcspn(a, ",");
            const char *colon = memrchr(a, ':', len);
            size_t hl = colon ? (size_t)(colon - a) : 0;

            printf("listening on %s://%.*s:%d\n", o->tls_cert ? "https" : "http", (int)hl,
                   hl ? a : "0.0.0.0", sp[i].port);
            a += len;
            a += *a == ',';
        }
        fflush(stdout);
    }
    return ctx;
}

int srv_server_drain(unsigned timeout_s, srv_hooks *hooks)
{
    struct timespec pause = {0, 20 * 1000000};
    int64_t until = srv_monotonic_ms() + 1000 * (int64_t)timeout_s;
    int left;

    atomic_store(&state.draining, true);
    /* After `draining` is set, so that their answers close their connections too; before the
     * wait, which they would otherwise hold for its whole length, to be cut off unanswered by
     * mg_stop() after it. */
    srv_hooks_stop(hooks);
    while ((left = atomic_load(&state.in_flight)) > 0 && srv_monotonic_ms() < until)
        nanosleep(&pause, NULL);
    return left;
}

void srv_server_stop(struct mg_context *ctx)
{
    mg_stop(ctx);
    mg_exit_library();
}
