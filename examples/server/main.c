/* jobs-server: civetweb glue, options and the config file, the access log, the scheduler thread
 * and `user add`. Everything about the HTTP API itself is in handler.c, the metrics in
 * metrics.c. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <dlfcn.h>

#include <civetweb.h>
#include <sodium.h>

#include "handler.h"
#include "metrics.h"
#include "route.h"

/* Upper bound of --session-ttl: one year. */
#define SESSION_TTL_MAX (366u * 86400u)

typedef struct options {
    const char *listen;
    const char *data;
    const char *tls_cert;
    unsigned threads;
    unsigned tick_interval;
    unsigned session_ttl;
    bool fault_status_500;
    bool no_group_commit;
    unsigned request_timeout; /* seconds a client may take to send a request (civetweb) */
    unsigned max_store_mib;   /* cap of the store's map in MiB, 0: none (JOBS_ENOSPC, 507) */
    const char *access_log; /* "-": standard error, "off": none, else a file */
    const char *config;     /* --config FILE, or NULL */
    bool check_config;      /* --check-config: print the settings and exit */
} options;

static void usage(FILE *f)
{
    fputs("usage: jobs-server [options]\n"
          "       jobs-server user add NAME [--email EMAIL] [--data DIR]   (password on stdin)\n"
          "       jobs-server check [--data DIR]   verify the store (exit 0 when consistent)\n"
          "\n"
          "  --listen ADDR:PORT     address to listen on (default 127.0.0.1:8080; port 0: any)\n"
          "  --data DIR             data directory: store and users (default ./var)\n"
          "  --threads N            worker threads (default 32)\n"
          "  --tick-interval S      seconds between scheduler ticks (default 1)\n"
          "  --tls-cert FILE        serve HTTPS with this PEM (certificate and key)\n"
          "  --session-ttl S        session lifetime in seconds (default 28800)\n"
          "  --fault-status-500     answer every fault with HTTP 500, as the original service\n"
          "  --no-group-commit      one commit per write, even when writes arrive together\n"
          "                         (for measurements; slower under concurrent writes)\n"
          "  --request-timeout S    seconds a client may take to send its request (default 30)\n"
          "  --max-store-size MIB   cap the store at MIB mebibytes: past it writes answer 507\n"
          "                         (default 0: no cap but the disk)\n"
          "  --access-log FILE      one JSON line per request, appended to FILE (created with\n"
          "                         mode 0600); '-' standard error (default), 'off' none\n"
          "  --config FILE          settings from FILE, one 'key = value' a line, the keys\n"
          "                         being these options' names; options given here win\n"
          "  --check-config         print the settings in effect and exit (2 when invalid)\n"
          "  --help                 this text\n",
          f);
}

/* ---- HTTP glue ----------------------------------------------------------------------------- */

/* The access log (--access-log): a file descriptor, or -1 for none. Set before civetweb starts
 * its threads, only read after. */
static int access_log_fd = -1;

/* Lines are gathered here and written in batches: one write(2) per request cost more than the
 * whole handler of GET /jobs/byid (docs/performance.md). A batch goes out when the buffer is
 * full, when its first line is a second old (checked at each line and every second by the
 * scheduler thread), and at shutdown; whole lines only, so lines never mix or split. */
static struct {
    pthread_mutex_t mu;
    char buf[64 * 1024];
    size_t len;
    int64_t first_ms; /* CLOCK_MONOTONIC ms of the oldest line in buf */
} access_buf = {PTHREAD_MUTEX_INITIALIZER, {0}, 0, 0};

static void access_flush_locked(void)
{
    size_t off = 0;

    while (off < access_buf.len) {
        ssize_t n = write(access_log_fd, access_buf.buf + off, access_buf.len - off);
        if (n <= 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break; /* a full disk must not stop the answers: the batch is dropped */
        off += (size_t)n;
    }
    access_buf.len = 0;
}

static void access_flush(void)
{
    if (access_log_fd < 0)
        return;
    pthread_mutex_lock(&access_buf.mu);
    access_flush_locked();
    pthread_mutex_unlock(&access_buf.mu);
}

static void access_append(const char *line, size_t n, int64_t now_ms)
{
    pthread_mutex_lock(&access_buf.mu);
    if (access_buf.len + n > sizeof access_buf.buf)
        access_flush_locked();
    if (access_buf.len == 0)
        access_buf.first_ms = now_ms;
    memcpy(access_buf.buf + access_buf.len, line, n);
    access_buf.len += n;
    if (now_ms - access_buf.first_ms >= 1000)
        access_flush_locked();
    pthread_mutex_unlock(&access_buf.mu);
}

static int64_t monotonic_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

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
    if (access_log_fd >= 0) {
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
        access_append(line, srv_access_format(line, &a),
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

/* ---- scheduler thread ---------------------------------------------------------------------- */

typedef struct ticker {
    jobs_store *store;
    srv_metrics *metrics;
    _Atomic int64_t *heartbeat; /* CLOCK_MONOTONIC ms at the end of each round: GET /healthz */
    unsigned interval;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop;
} ticker;

static int on_event(const jobs_event *ev, void *ctx)
{
    srv_metrics_event(ctx, ev->type);
    printf("{\"event\":\"%s\",\"job\":%" PRIu64 ",\"owner\":%" PRIu64 ",\"stack\":%" PRIu64
           ",\"slot\":%" PRId64 "}\n",
           ev->type == JOBS_EVENT_DELETED ? "deleted" : "run", ev->job, ev->owner, ev->stack,
           ev->slot);
    fflush(stdout);
    return 0;
}

static void *ticker_main(void *arg)
{
    ticker *t = arg;

    pthread_mutex_lock(&t->mu);
    while (!t->stop) {
        struct timespec until;
        int64_t now = (int64_t)time(NULL);
        int rc;

        pthread_mutex_unlock(&t->mu);
        rc = jobs_scheduler_tick(NULL, t->store, now, 0, on_event, t->metrics);
        if (rc < 0)
            fprintf(stderr, "jobs-server: tick: %s\n", jobs_strerror(rc));
        srv_metrics_tick(t->metrics, rc == 0, now);
        atomic_store(t->heartbeat, monotonic_ms());
        pthread_mutex_lock(&t->mu);
        /* Until the next tick, wake every second to write out the access log's batch. */
        for (unsigned waited = 0; !t->stop && waited < t->interval; waited++) {
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_sec += 1;
            while (!t->stop && pthread_cond_timedwait(&t->cv, &t->mu, &until) != ETIMEDOUT)
                ;
            pthread_mutex_unlock(&t->mu);
            access_flush();
            pthread_mutex_lock(&t->mu);
        }
    }
    pthread_mutex_unlock(&t->mu);
    return NULL;
}

/* ---- TLS ----------------------------------------------------------------------------------- */

/* Debian's libcivetweb (1.15) loads OpenSSL at run time with dlopen("libssl.so") and
 * dlopen("libcrypto.so") and looks up its functions by name, OpenSSL 1.1 API. One of them,
 * SSL_get_peer_certificate, is only a macro in OpenSSL 3 (the exported function is
 * SSL_get1_peer_certificate), so civetweb would call a NULL pointer on the first HTTPS
 * connection. libjobs-tls-compat.so (tls-compat.c) exports it and has the SONAME libssl.so: once
 * it is loaded here, glibc answers civetweb's dlopen("libssl.so") with it, and civetweb finds
 * that function in it and all the others in libssl.so.3, its dependency. RTLD_LOCAL is enough
 * (glibc matches a loaded object by SONAME whatever its scope) and keeps OpenSSL's symbols out of
 * the global scope. It stays loaded until exit.
 *
 * The module is looked for next to the executable (build tree), then in JOBS_TLS_COMPAT_INSTALLED
 * relative to it (installed: bin/ and lib/jobs-server/). Returns false, with a message, when it
 * cannot be loaded or civetweb would still miss the function: the server then refuses to start
 * rather than crash on the first request. */
static bool tls_prepare(void)
{
    static const char *const dirs[] = {"", "/" JOBS_TLS_COMPAT_INSTALLED};
    char exe[PATH_MAX], path[PATH_MAX + 64], *slash;
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    void *compat = NULL, *ssl;
    bool ok;

    if (n > 0)
        exe[n] = '\0';
    if (n <= 0 || (size_t)n >= sizeof exe - 1 || !(slash = strrchr(exe, '/'))) {
        fprintf(stderr, "jobs-server: --tls-cert: cannot tell where jobs-server is "
                        "(/proc/self/exe), so cannot find %s\n", JOBS_TLS_COMPAT_NAME);
        return false;
    }
    *slash = '\0';
    for (size_t i = 0; !compat && i < sizeof dirs / sizeof *dirs; i++) {
        if (snprintf(path, sizeof path, "%s%s/%s", exe, dirs[i], JOBS_TLS_COMPAT_NAME) >=
                (int)sizeof path || access(path, F_OK) != 0)
            continue;
        if (!(compat = dlopen(path, RTLD_NOW | RTLD_LOCAL))) {
            fprintf(stderr, "jobs-server: --tls-cert: cannot load %s: %s\n", path, dlerror());
            return false;
        }
    }
    if (!compat) {
        fprintf(stderr, "jobs-server: --tls-cert: %s, which civetweb needs for HTTPS with "
                        "OpenSSL 3, is neither in %s nor in %s/%s\n",
                JOBS_TLS_COMPAT_NAME, exe, exe, JOBS_TLS_COMPAT_INSTALLED);
        return false;
    }
    ssl = dlopen("libssl.so", RTLD_LAZY | RTLD_LOCAL);
    ok = ssl && dlsym(ssl, "SSL_get_peer_certificate");
    if (!ok)
        fprintf(stderr, "jobs-server: --tls-cert: HTTPS does not work with this civetweb and "
                        "OpenSSL: civetweb loads libssl.so and calls SSL_get_peer_certificate, "
                        "and %s did not provide it\n", path);
    if (ssl)
        dlclose(ssl);
    return ok;
}

/* The certificate file must be readable: says why not, before civetweb does in OpenSSL's words. */
static bool tls_cert_readable(const char *file)
{
    FILE *f = fopen(file, "r");
    bool ok = f && (getc(f) != EOF || !ferror(f));

    if (!ok)
        fprintf(stderr, "jobs-server: --tls-cert %s: %s\n", file, strerror(errno));
    if (f)
        fclose(f);
    return ok;
}

/* ---- setup --------------------------------------------------------------------------------- */

static int make_dir(const char *dir)
{
    char path[PATH_MAX];

    if (snprintf(path, sizeof path, "%s", dir) >= (int)sizeof path)
        return -1;
    for (char *p = path + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(path, 0700) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    if (mkdir(path, 0700) != 0 && errno != EEXIST)
        return -1;
    return 0;
}

static bool parse_uint(unsigned *out, const char *s, unsigned min, unsigned max)
{
    char *end;
    unsigned long v;

    errno = 0;
    v = strtoul(s, &end, 10);
    if (errno || *end || end == s || s[0] == '-' || v < min || v > max)
        return false;
    *out = (unsigned)v;
    return true;
}

/* Reads one line (the password) from stdin, without its newline. */
static bool read_password(char *buf, size_t size)
{
    size_t len;

    if (!fgets(buf, (int)size, stdin))
        return false;
    len = strcspn(buf, "\r\n");
    if (buf[len] == '\0' && len == size - 1)
        return false; /* too long */
    buf[len] = '\0';
    return len > 0;
}

/* `jobs-server check [--data DIR]`: jobs_store_check() on the store, which may be in use by a
 * running server (the check reads one snapshot and blocks no writer). */
static int cmd_check(int argc, char **argv)
{
    jobs_store_options so = JOBS_STORE_OPTIONS_INIT;
    const char *data = "./var";
    char path[PATH_MAX];
    jobs_store *store = NULL;
    struct stat st;
    int rc;

    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--data") == 0 && i + 1 < argc) {
            data = argv[++i];
        } else {
            usage(stderr);
            return 2;
        }
    }
    if (snprintf(path, sizeof path, "%s/store", data) >= (int)sizeof path || stat(path, &st) != 0) {
        fprintf(stderr, "jobs-server: check: no store in %s\n", data);
        return 1;
    }
    so.path = path;
    if ((rc = jobs_store_open(&store, &so)) != 0) {
        fprintf(stderr, "jobs-server: check: opening %s: %s (%s)\n", path, jobs_strerror(rc),
                jobs_error_last());
        return 1;
    }
    rc = jobs_store_check(store);
    if (rc == 0)
        printf("%s: ok\n", path);
    else
        fprintf(stderr, "jobs-server: check: %s: %s (%s)\n", path, jobs_strerror(rc),
                jobs_error_last());
    jobs_store_close(store);
    return rc == 0 ? 0 : 1;
}

static int cmd_user_add(int argc, char **argv)
{
    const char *name = NULL, *email = NULL, *data = "./var";
    char password[SRV_PASSWORD_MAX + 2];
    srv_users *users = NULL;
    uint64_t id = 0;
    int rc = 1;

    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--email") == 0 && i + 1 < argc)
            email = argv[++i];
        else if (strcmp(argv[i], "--data") == 0 && i + 1 < argc)
            data = argv[++i];
        else if (argv[i][0] != '-' && !name)
            name = argv[i];
        else {
            usage(stderr);
            return 2;
        }
    }
    if (!name) {
        usage(stderr);
        return 2;
    }
    if (!read_password(password, sizeof password)) {
        fprintf(stderr, "jobs-server: give the password (1..%d bytes) on standard input\n",
                SRV_PASSWORD_MAX);
        return 1;
    }
    if (make_dir(data) != 0) {
        fprintf(stderr, "jobs-server: cannot create %s: %s\n", data, strerror(errno));
    } else if (srv_users_open(&users, data) == 0 &&
               srv_users_add(users, &id, name, email, password) == 0) {
        printf("added user %s with id %" PRIu64 "\n", name, id);
        rc = 0;
    }
    sodium_memzero(password, sizeof password);
    srv_users_close(users);
    return rc;
}

/* On first start (no users), creates `demo` with JOBS_DEMO_PASSWORD or a random password that
 * is printed once. */
static int ensure_demo_user(srv_users *users)
{
    const char *env = getenv("JOBS_DEMO_PASSWORD");
    char pw[33];
    uint64_t id;

    if (srv_users_count(users) > 0)
        return 0;
    if (env && *env) {
        snprintf(pw, sizeof pw, "%s", env);
        if (strlen(env) >= sizeof pw) {
            fprintf(stderr, "jobs-server: JOBS_DEMO_PASSWORD is too long (32 bytes at most)\n");
            return -1;
        }
    } else {
        unsigned char raw[12];
        randombytes_buf(raw, sizeof raw);
        sodium_bin2base64(pw, sizeof pw, raw, sizeof raw, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    }
    if (srv_users_add(users, &id, "demo", NULL, pw) != 0)
        return -1;
    if (env && *env)
        printf("created user demo (password from JOBS_DEMO_PASSWORD)\n");
    else
        printf("created user demo with password %s (shown only this once)\n", pw);
    fflush(stdout);
    sodium_memzero(pw, sizeof pw);
    return 0;
}

/* ---- options and the config file ------------------------------------------------------------ */

typedef enum setting_kind { SETTING_TEXT, SETTING_UINT, SETTING_BOOL } setting_kind;

/* Every setting, by its long option name; a config file names them without the dashes. A
 * boolean is a flag without a value on the command line, and true/false/yes/no/1/0 in a file. */
static const struct setting {
    const char *name;
    setting_kind kind;
    size_t offset;     /* of its field in options */
    unsigned min, max; /* SETTING_UINT */
} settings[] = {
    {"listen", SETTING_TEXT, offsetof(options, listen), 0, 0},
    {"data", SETTING_TEXT, offsetof(options, data), 0, 0},
    {"threads", SETTING_UINT, offsetof(options, threads), 1, 1024},
    {"tick-interval", SETTING_UINT, offsetof(options, tick_interval), 1, 86400},
    {"tls-cert", SETTING_TEXT, offsetof(options, tls_cert), 0, 0},
    {"session-ttl", SETTING_UINT, offsetof(options, session_ttl), 1, SESSION_TTL_MAX},
    {"fault-status-500", SETTING_BOOL, offsetof(options, fault_status_500), 0, 0},
    {"no-group-commit", SETTING_BOOL, offsetof(options, no_group_commit), 0, 0},
    {"request-timeout", SETTING_UINT, offsetof(options, request_timeout), 1, 3600},
    {"max-store-size", SETTING_UINT, offsetof(options, max_store_mib), 0, 1048576},
    {"access-log", SETTING_TEXT, offsetof(options, access_log), 0, 0},
};
#define SETTINGS (sizeof settings / sizeof *settings)

/* The values read from the config file, for the life of the process. */
static char *config_values[SETTINGS];

static const struct setting *setting_find(const char *name)
{
    for (size_t i = 0; i < SETTINGS; i++)
        if (strcmp(settings[i].name, name) == 0)
            return &settings[i];
    return NULL;
}

/* Sets `s` in `o` from `value`, which must outlive `o`. False for a bad value. */
static bool setting_set(options *o, const struct setting *s, const char *value)
{
    void *field = (char *)o + s->offset;

    switch (s->kind) {
    case SETTING_TEXT:
        if (!value[0])
            return false;
        *(const char **)field = value;
        return true;
    case SETTING_UINT:
        return parse_uint(field, value, s->min, s->max);
    case SETTING_BOOL:
        if (!strcasecmp(value, "true") || !strcasecmp(value, "yes") || !strcmp(value, "1"))
            *(bool *)field = true;
        else if (!strcasecmp(value, "false") || !strcasecmp(value, "no") || !strcmp(value, "0"))
            *(bool *)field = false;
        else
            return false;
        return true;
    }
    return false;
}

/* What a bad value of `s` should have been, for the message. */
static void setting_expected(char *out, size_t size, const struct setting *s)
{
    if (s->kind == SETTING_UINT)
        snprintf(out, size, "an integer in %u..%u", s->min, s->max);
    else if (s->kind == SETTING_BOOL)
        snprintf(out, size, "true, false, yes, no, 1 or 0");
    else
        snprintf(out, size, "a value that is not empty");
}

/* Reads the settings of config file `file` into `o`: lines of `key = value` or `key value`,
 * blank lines, and comments from a '#' at the start of a line or after a blank to its end.
 * Returns 0, or 2 after a message naming file:line. */
static int read_config(options *o, const char *file)
{
    FILE *f = fopen(file, "r");
    bool seen[SETTINGS] = {false};
    char *buf = NULL, expected[64];
    size_t cap = 0;
    unsigned lineno = 0;
    ssize_t n;
    int rc = 0;

    if (!f) {
        fprintf(stderr, "jobs-server: --config %s: %s\n", file, strerror(errno));
        return 2;
    }
    while (rc == 0 && (n = getline(&buf, &cap, f)) >= 0) {
        char *key = buf, *value, *end;
        const struct setting *s;
        bool equals;
        size_t i;

        lineno++;
        if (strlen(buf) != (size_t)n) {
            fprintf(stderr, "jobs-server: %s:%u: a NUL byte in the line\n", file, lineno);
            rc = 2;
            break;
        }
        for (char *p = buf; *p; p++)
            if (*p == '#' && (p == buf || *(p - 1) == ' ' || *(p - 1) == '\t')) {
                *p = '\0';
                break;
            }
        key += strspn(key, " \t\r\n");
        for (end = key + strlen(key); end > key && strchr(" \t\r\n", end[-1]); end--)
            ;
        *end = '\0';
        if (!*key)
            continue;
        value = key + strcspn(key, " \t=");
        equals = *value == '=';
        if (*value)
            *value++ = '\0';
        value += strspn(value, " \t");
        if (!equals && *value == '=')
            value += 1 + strspn(value + 1, " \t");
        if (!(s = setting_find(key))) {
            fprintf(stderr, "jobs-server: %s:%u: unknown key '%s' (the keys are the long "
                            "options without '--': listen, data, threads, ...)\n",
                    file, lineno, key);
            rc = 2;
            break;
        }
        i = (size_t)(s - settings);
        if (seen[i]) {
            fprintf(stderr, "jobs-server: %s:%u: '%s' is given twice\n", file, lineno, key);
            rc = 2;
            break;
        }
        seen[i] = true;
        if (s->kind == SETTING_TEXT && (value = config_values[i] = strdup(value)) == NULL) {
            fprintf(stderr, "jobs-server: %s:%u: out of memory\n", file, lineno);
            rc = 2;
        } else if (!setting_set(o, s, value)) {
            setting_expected(expected, sizeof expected, s);
            fprintf(stderr, "jobs-server: %s:%u: bad value for %s: '%s' (expected %s)\n", file,
                    lineno, key, value, expected);
            rc = 2;
        }
    }
    if (rc == 0 && ferror(f)) {
        fprintf(stderr, "jobs-server: --config %s: %s\n", file, strerror(errno));
        rc = 2;
    }
    free(buf);
    fclose(f);
    return rc;
}

/* The settings in effect: the defaults, then the config file (--config), then the other
 * options, whatever their order on the command line. Returns 0, or 2 after a message. */
static int parse_options(options *o, int argc, char **argv)
{
    char expected[64];

    o->listen = "127.0.0.1:8080";
    o->data = "./var";
    o->tls_cert = NULL;
    o->threads = 32;
    o->tick_interval = 1;
    o->session_ttl = SRV_SESSION_TTL;
    o->fault_status_500 = false;
    o->no_group_commit = false;
    o->request_timeout = 30;
    o->max_store_mib = 0;
    o->access_log = "-";
    o->config = NULL;
    o->check_config = false;
    for (int i = 1; i < argc; i++) {
        const struct setting *s = strncmp(argv[i], "--", 2) == 0 ? setting_find(argv[i] + 2) : NULL;

        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
            if (o->config) {
                fprintf(stderr, "jobs-server: --config is given twice\n");
                return 2;
            }
            o->config = argv[++i];
        } else if (s && s->kind != SETTING_BOOL) {
            i++; /* its value, which may look like an option */
        }
    }
    if (o->config && read_config(o, o->config) != 0)
        return 2;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const struct setting *s = strncmp(a, "--", 2) == 0 ? setting_find(a + 2) : NULL;

        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            exit(0);
        } else if (strcmp(a, "--check-config") == 0) {
            o->check_config = true;
        } else if (strcmp(a, "--config") == 0 && i + 1 < argc) {
            i++;
        } else if (s && s->kind == SETTING_BOOL) {
            setting_set(o, s, "true");
        } else if (s && i + 1 < argc) {
            if (!setting_set(o, s, argv[++i])) {
                setting_expected(expected, sizeof expected, s);
                fprintf(stderr, "jobs-server: bad value for %s: '%s' (expected %s)\n", a,
                        argv[i], expected);
                return 2;
            }
        } else {
            fprintf(stderr, "jobs-server: unknown or incomplete option '%s'\n", a);
            usage(stderr);
            return 2;
        }
    }
    return 0;
}

/* --check-config: the settings in effect, in the config file's format. */
static void print_options(const options *o)
{
    printf("# jobs-server: the settings in effect (defaults, then %s%s, then options)\n",
           o->config ? "--config " : "no config file", o->config ? o->config : "");
    for (size_t i = 0; i < SETTINGS; i++) {
        const struct setting *s = &settings[i];
        const void *field = (const char *)o + s->offset;

        if (s->kind == SETTING_UINT)
            printf("%s = %u\n", s->name, *(const unsigned *)field);
        else if (s->kind == SETTING_BOOL)
            printf("%s = %s\n", s->name, *(const bool *)field ? "true" : "false");
        else if (*(const char *const *)field)
            printf("%s = %s\n", s->name, *(const char *const *)field);
        else
            printf("# %s is not set\n", s->name);
    }
}

int main(int argc, char **argv)
{
    options o;
    srv_app app;
    jobs_store_options so = JOBS_STORE_OPTIONS_INIT;
    jobs_options_lmdb lmdb = JOBS_OPTIONS_INIT_LMDB;
    char store_path[PATH_MAX], ports[300], threads[16], request_timeout[16];
    const char *mg_opts[32];
    struct mg_callbacks cb;
    struct mg_context *ctx = NULL;
    struct mg_server_port sp[4];
    ticker t;
    pthread_t tid;
    _Atomic int64_t heartbeat;
    sigset_t sigs;
    unsigned features;
    int sig, n, rc, exit_code = 1;

    /* Validates every argument first: an unknown or malformed one is a usage error. */
    if (sodium_init() < 0) {
        fprintf(stderr, "jobs-server: libsodium failed to initialise\n");
        return 1;
    }
    if (argc >= 3 && strcmp(argv[1], "user") == 0 && strcmp(argv[2], "add") == 0)
        return cmd_user_add(argc - 3, argv + 3);
    if (argc >= 2 && strcmp(argv[1], "check") == 0)
        return cmd_check(argc - 2, argv + 2);
    if ((rc = parse_options(&o, argc, argv)) != 0)
        return rc;
    if (o.check_config) {
        print_options(&o);
        return 0;
    }

    /* TLS is checked before anything is created in the data directory. */
    if (o.tls_cert && !mg_check_feature(MG_FEATURES_TLS)) {
        fprintf(stderr, "jobs-server: this civetweb has no TLS support\n");
        return 1;
    }
    if (o.tls_cert && (!tls_cert_readable(o.tls_cert) || !tls_prepare()))
        return 1;
    if (strcmp(o.access_log, "-") == 0) {
        access_log_fd = STDERR_FILENO;
    } else if (strcmp(o.access_log, "off") != 0 &&
               (access_log_fd = open(o.access_log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC |
                                     O_NOCTTY, 0600)) < 0) {
        fprintf(stderr, "jobs-server: --access-log %s: %s\n", o.access_log, strerror(errno));
        return 1;
    }

    memset(&app, 0, sizeof app);
    app.fault_status_500 = o.fault_status_500;
    app.session_ttl = o.session_ttl;
    /* The scheduler counts as stalled when it has not gone round for three intervals (5 s at
     * least: a tick on a busy store may take a while). */
    atomic_init(&heartbeat, monotonic_ms());
    app.heartbeat = &heartbeat;
    app.heartbeat_max_age_ms = 1000 * (int64_t)(3 * o.tick_interval > 5 ? 3 * o.tick_interval : 5);
    if (make_dir(o.data) != 0) {
        fprintf(stderr, "jobs-server: cannot create %s: %s\n", o.data, strerror(errno));
        return 1;
    }
    if (snprintf(store_path, sizeof store_path, "%s/store", o.data) >= (int)sizeof store_path)
        return 1;
    so.path = store_path;
    if (o.no_group_commit)
        so.flags |= JOBS_STORE_NO_GROUP_COMMIT;
    if (o.max_store_mib) {
        lmdb.max_map_size = (size_t)o.max_store_mib << 20;
        lmdb.map_size = lmdb.max_map_size < ((size_t)64 << 20) ? lmdb.max_map_size : 0;
    }
    so.lmdb = &lmdb;
    if ((rc = jobs_store_open(&app.store, &so)) != 0) {
        fprintf(stderr, "jobs-server: opening the store %s: %s (%s)\n", store_path,
                jobs_strerror(rc), jobs_error_last());
        return 1;
    }
    if (srv_users_open(&app.users, o.data) != 0 || ensure_demo_user(app.users) != 0 ||
        !(app.sessions = srv_sessions_new()) || !(app.metrics = srv_metrics_new()))
        goto out;
    srv_metrics_set_tick_interval(app.metrics, o.tick_interval);

    /* Signals are taken by sigwait() below; every thread started from here inherits the mask. */
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    features = mg_init_library(o.tls_cert ? MG_FEATURES_TLS : 0);
    if (o.tls_cert && !(features & MG_FEATURES_TLS)) {
        fprintf(stderr, "jobs-server: --tls-cert: civetweb cannot load OpenSSL (libssl.so and "
                        "libcrypto.so, package libssl-dev)\n");
        goto out_lib;
    }
    snprintf(ports, sizeof ports, "%s%s", o.listen, o.tls_cert ? "s" : "");
    snprintf(request_timeout, sizeof request_timeout, "%u", o.request_timeout * 1000u);
    snprintf(threads, sizeof threads, "%u", o.threads);
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
    if (o.tls_cert) {
        mg_opts[n++] = "ssl_certificate";
        mg_opts[n++] = o.tls_cert;
    }
    mg_opts[n] = NULL;
    memset(&cb, 0, sizeof cb);
    cb.log_message = on_log_message;
    cb.http_error = on_http_error;
    if (!(ctx = mg_start(&cb, &app, mg_opts))) {
        if (o.tls_cert)
            fprintf(stderr, "jobs-server: cannot serve HTTPS on %s with %s (a PEM file with the "
                            "certificate and its private key)\n", o.listen, o.tls_cert);
        else
            fprintf(stderr, "jobs-server: cannot listen on %s\n", o.listen);
        goto out_lib;
    }
    mg_set_request_handler(ctx, "/", on_request, &app);

    memset(sp, 0, sizeof sp);
    n = mg_get_server_ports(ctx, 4, sp);
    {
        char host[256];
        size_t hl = strcspn(o.listen, ":");
        const char *colon = strrchr(o.listen, ':');
        if (colon)
            hl = (size_t)(colon - o.listen);
        snprintf(host, sizeof host, "%.*s", (int)hl, o.listen);
        printf("listening on %s://%s:%d\n", o.tls_cert ? "https" : "http", host,
               n > 0 ? sp[0].port : 0);
        fflush(stdout);
    }

    memset(&t, 0, sizeof t);
    t.store = app.store;
    t.metrics = app.metrics;
    t.heartbeat = &heartbeat;
    t.interval = o.tick_interval;
    pthread_mutex_init(&t.mu, NULL);
    pthread_cond_init(&t.cv, NULL);
    if (pthread_create(&tid, NULL, ticker_main, &t) != 0) {
        fprintf(stderr, "jobs-server: cannot start the scheduler thread\n");
        mg_stop(ctx);
        goto out_lib;
    }

    while (sigwait(&sigs, &sig) != 0)
        ;
    fprintf(stderr, "jobs-server: %s: stopping\n", sig == SIGINT ? "SIGINT" : "SIGTERM");

    /* mg_stop closes the listeners and waits for the workers (in-flight requests finish). */
    mg_stop(ctx);
    pthread_mutex_lock(&t.mu);
    t.stop = true;
    pthread_cond_signal(&t.cv);
    pthread_mutex_unlock(&t.mu);
    pthread_join(tid, NULL);
    pthread_cond_destroy(&t.cv);
    pthread_mutex_destroy(&t.mu);
    exit_code = 0;
out_lib:
    mg_exit_library();
out:
    access_flush(); /* the last batch: every request answered has its line */
    if (access_log_fd > STDERR_FILENO)
        close(access_log_fd);
    srv_metrics_free(app.metrics);
    srv_sessions_free(app.sessions);
    srv_users_close(app.users);
    jobs_store_close(app.store);
    return exit_code;
}
