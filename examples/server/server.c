/* The civetweb glue: framing checks, the body, one mg_write per answer, the metrics and the
 * access log of each request. Everything about the HTTP API itself is in handler.c. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <civetweb.h>
#include <sodium.h>

#include "accesslog.h"
#include "handler.h"
#include "metrics.h"
#include "route.h"
#include "server.h"

/* Sends a whole response (status line, headers, body) with one mg_write. The answer to HEAD
 * has the same headers and no body (RFC 9110 9.3.2): a body there would be read by the client
 * as the start of the next answer on the connection. */
static void send_response(struct mg_connection *conn, const srv_response *res, bool close,
                          bool is_head)
{
    char head[1024];
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 %d %s\r\n"
                     "Content-Type: %s\r\n"
                     "Content-Length: %zu\r\n"
                     "Cache-Control: no-store\r\n"
                     "%s%s\r\n",
                     res->status, srv_status_text(res->status),
                     res->content_type ? res->content_type : "application/json", res->body_len,
                     res->headers, close ? "Connection: close\r\n" : "");
    size_t body_len = is_head ? 0 : res->body_len, total;
    char *buf;

    if (n < 0 || (size_t)n >= sizeof head)
        return;
    total = (size_t)n + body_len;
    if (!(buf = malloc(total)))
        return;
    memcpy(buf, head, (size_t)n);
    if (body_len)
        memcpy(buf + n, res->body, body_len);
    mg_write(conn, buf, total);
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
    const char *length = NULL;
    int lengths = 0, encodings = 0;

    *chunked = false;
    if (ri->num_headers >= MG_MAX_HEADERS)
        return "too many header lines (at most 63)";
    for (int i = 0; i < ri->num_headers; i++) {
        if (strcasecmp(ri->http_headers[i].name, "Content-Length") == 0) {
            lengths++;
            length = ri->http_headers[i].value;
        } else if (strcasecmp(ri->http_headers[i].name, "Transfer-Encoding") == 0) {
            encodings++;
            *chunked = strcasecmp(ri->http_headers[i].value, "chunked") == 0;
        }
    }
    if (lengths + encodings > 1)
        return "give the body's length once: one Content-Length or Transfer-Encoding: chunked";
    if (length && !is_length(length))
        return "Content-Length must be decimal digits";
    return NULL;
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

static int on_request(struct mg_connection *conn, void *cbdata)
{
    srv_app *app = cbdata;
    const struct mg_request_info *ri = mg_get_request_info(conn);
    const char *bad;
    srv_response res;
    srv_request req;
    struct timespec start;
    char *body = NULL;
    size_t len = 0;
    bool chunked, close = true, is_head;
    int status;

    clock_gettime(CLOCK_MONOTONIC, &start);
    memset(&res, 0, sizeof res);
    if ((bad = framing_fault(&chunked, ri)) != NULL) {
        srv_fault(&res, app, SRV_FAULT_MALFORMED, bad);
        goto out;
    }
    /* Bodies over the limit are refused unread: by Content-Length, or while reading a
     * chunked one. The connection is then closed, since the rest of the body is unread. */
    if (ri->content_length > JOBS_JSON_BODY_MAX) {
        srv_fault(&res, app, SRV_FAULT_TOO_LARGE, "request body is larger than 64 KiB");
        goto out;
    }
    /* Without Content-Length or chunked there is no body (RFC 9112 6.3). */
    if (chunked || ri->content_length > 0) {
        int n;

        if (!(body = malloc(JOBS_JSON_BODY_MAX + 1))) {
            srv_fault(&res, app, SRV_FAULT_INTERNAL, "out of memory");
            goto out;
        }
        while ((n = mg_read(conn, body + len, JOBS_JSON_BODY_MAX + 1 - len)) > 0) {
            len += (size_t)n;
            if (len > JOBS_JSON_BODY_MAX) {
                srv_fault(&res, app, SRV_FAULT_TOO_LARGE, "request body is larger than 64 KiB");
                goto out;
            }
        }
        /* A body cut short (the client closed, or timed out) must not be acted upon: mg_read
         * returns 0 then for a Content-Length body, -1 for a chunked one or a broken chunk. */
        if (n < 0 || (!chunked && len != (size_t)ri->content_length)) {
            srv_fault(&res, app, SRV_FAULT_MALFORMED,
                      "the body is shorter than announced, or its chunked encoding is malformed");
            goto out;
        }
    }

    memset(&req, 0, sizeof req);
    req.method = ri->request_method;
    req.path = ri->local_uri ? ri->local_uri : "/";
    req.query = ri->query_string;
    req.cookie = mg_get_header(conn, "Cookie");
    req.authorization = mg_get_header(conn, "Authorization");
    req.if_match = mg_get_header(conn, "If-Match");
    req.idempotency_key = mg_get_header(conn, "Idempotency-Key");
    req.body = body;
    req.body_len = len;
    req.is_tls = ri->is_ssl != 0;
    srv_handle(&res, app, &req);
    close = false;
out:
    /* civetweb would otherwise read and discard the rest of a refused body, and keep the
     * connection even when it cannot tell where the next request starts. */
    if (close)
        mg_disable_connection_keep_alive(conn);
    is_head = strcmp(ri->request_method, "HEAD") == 0;
    send_response(conn, &res, close, is_head);
    record(app, ri->request_method, ri->local_uri ? ri->local_uri : "/", ri->remote_addr, &res,
           &start, is_head ? 0 : res.body_len);
    status = res.status;
    srv_response_free(&res);
    if (body)
        sodium_memzero(body, len); /* may hold a password */
    free(body);
    return status;
}

/* civetweb's own refusals, made before on_request: a request line or header block it cannot
 * parse or that overflows its 16 KiB buffer, a negative Content-Length, a Transfer-Encoding other
 * than chunked, an HTTP version other than 1.0 and 1.1. Answered as JSON faults like everything
 * else instead of civetweb's text/plain page; the connection is then closed. */
static int on_http_error(struct mg_connection *conn, int status, const char *msg)
{
    const srv_app *app = mg_get_user_data(mg_get_context(conn));
    const struct mg_request_info *ri = mg_get_request_info(conn);
    struct timespec start;
    char text[160];
    srv_response res;

    clock_gettime(CLOCK_MONOTONIC, &start);
    memset(&res, 0, sizeof res);
    snprintf(text, sizeof text, "malformed HTTP request (%s)", msg);
    srv_fault(&res, app, status >= 500 && status != 505 ? SRV_FAULT_INTERNAL : SRV_FAULT_MALFORMED,
              text);
    mg_disable_connection_keep_alive(conn);
    send_response(conn, &res, true, false);
    /* The request line may be half parsed here: only the client's address is taken from it. */
    record(app, NULL, NULL, ri ? ri->remote_addr : NULL, &res, &start, res.body_len);
    srv_response_free(&res);
    return 0;
}

static int on_log_message(const struct mg_connection *conn, const char *message)
{
    (void)conn;
    fprintf(stderr, "civetweb: %s\n", message);
    return 1;
}

struct mg_context *srv_server_start(srv_app *app, const srv_options *o)
{
    char ports[300], threads[16], request_timeout[16];
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
    snprintf(ports, sizeof ports, "%s%s", o->listen, o->tls_cert ? "s" : "");
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
    mg_opts[n++] = "5000";
    mg_opts[n++] = "request_timeout_ms";
    mg_opts[n++] = request_timeout;
    mg_opts[n++] = "tcp_nodelay";
    mg_opts[n++] = "1";
    mg_opts[n++] = "decode_url";
    mg_opts[n++] = "no";
    if (o->tls_cert) {
        mg_opts[n++] = "ssl_certificate";
        mg_opts[n++] = o->tls_cert;
    }
    mg_opts[n] = NULL;
    memset(&cb, 0, sizeof cb);
    cb.log_message = on_log_message;
    cb.http_error = on_http_error;
    if (!(ctx = mg_start(&cb, app, mg_opts))) {
        if (o->tls_cert)
            fprintf(stderr, "jobs-server: cannot serve HTTPS on %s with %s (a PEM file with the "
                            "certificate and its private key)\n", o->listen, o->tls_cert);
        else
            fprintf(stderr, "jobs-server: cannot listen on %s\n", o->listen);
        mg_exit_library();
        return NULL;
    }
    mg_set_request_handler(ctx, "/", on_request, app);

    memset(sp, 0, sizeof sp);
    n = mg_get_server_ports(ctx, 4, sp);
    {
        char host[256];
        size_t hl = strcspn(o->listen, ":");
        const char *colon = strrchr(o->listen, ':');
        if (colon)
            hl = (size_t)(colon - o->listen);
        snprintf(host, sizeof host, "%.*s", (int)hl, o->listen);
        printf("listening on %s://%s:%d\n", o->tls_cert ? "https" : "http", host,
               n > 0 ? sp[0].port : 0);
        fflush(stdout);
    }
    return ctx;
}

void srv_server_stop(struct mg_context *ctx)
{
    mg_stop(ctx);
    mg_exit_library();
}
