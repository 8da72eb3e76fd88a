/*
 * plain-server: the baseline of bench/http-bench.sh. A civetweb server with jobs-server's options
 * (keep-alive, tcp_nodelay, num_threads, no URL decoding) whose one handler answers every request
 * with the same JSON body, headers and body in one mg_write, as jobs-server sends its answers.
 * It does no work per request beyond civetweb's own, so jobs-server's rate over plain-server's
 * is the share of civetweb's ceiling that libjobs, the routing and the session check leave.
 *
 *   plain-server [--listen ADDR:PORT] [--threads N] (--body JSON | --size BYTES)
 *
 * --body answers that text; --size answers {"pad":"xxx..."} of exactly BYTES bytes (at least
 * 10). Port 0 picks a free port; the real one is printed as jobs-server prints it:
 * "listening on http://ADDR:PORT". SIGINT or SIGTERM stop it.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <civetweb.h>

/* The smallest body --size can make: {"pad":""}. */
#define PAD_MIN (sizeof "{\"pad\":\"\"}" - 1)
#define BODY_MAX (16u << 20)

typedef struct reply {
    char *bytes; /* status line, headers and body */
    size_t len;
} reply;

static void usage(FILE *f)
{
    fputs("usage: plain-server [--listen ADDR:PORT] [--threads N] (--body JSON | --size BYTES)\n"
          "\n"
          "  --listen ADDR:PORT   address to listen on (default 127.0.0.1:0: any free port)\n"
          "  --threads N          civetweb worker threads (default 32)\n"
          "  --body JSON          the body of every answer\n"
          "  --size BYTES         answer {\"pad\":\"xxx...\"} of exactly BYTES bytes (>= 10)\n",
          f);
}

static int parse_size(size_t *out, const char *s, size_t min, size_t max)
{
    char *end;
    unsigned long long v;

    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-' || v < min || v > max)
        return -1;
    *out = (size_t)v;
    return 0;
}

/* The body of --size: {"pad":"xxx"} padded to `size` bytes. */
static char *make_padded(size_t size)
{
    char *body = malloc(size + 1);

    if (!body)
        return NULL;
    memcpy(body, "{\"pad\":\"", 8);
    memset(body + 8, 'x', size - PAD_MIN);
    memcpy(body + 8 + (size - PAD_MIN), "\"}", 3);
    return body;
}

/* The whole answer, built once: jobs-server's header lines (its Date as bytes of the same
 * length, which jobs-server makes once a second), so that only the work differs. */
static int make_reply(reply *r, const char *body, size_t body_len)
{
    char head[256];
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 200 OK\r\n"
                     "Content-Type: application/json\r\n"
                     "Content-Length: %zu\r\n"
                     "Date: Mon, 07 Dec 2026 00:00:00 GMT\r\n"
                     "Cache-Control: no-store\r\n"
                     "X-Content-Type-Options: nosniff\r\n"
                     "\r\n",
                     body_len);

    if (n < 0 || (size_t)n >= sizeof head || !(r->bytes = malloc((size_t)n + body_len)))
        return -1;
    memcpy(r->bytes, head, (size_t)n);
    memcpy(r->bytes + n, body, body_len);
    r->len = (size_t)n + body_len;
    return 0;
}

static int on_request(struct mg_connection *conn, void *cbdata)
{
    const reply *r = cbdata;

    mg_write(conn, r->bytes, r->len);
    return 200;
}

static int on_log_message(const struct mg_connection *conn, const char *message)
{
    (void)conn;
    fprintf(stderr, "civetweb: %s\n", message);
    return 1;
}

int main(int argc, char **argv)
{
    const char *listen = "127.0.0.1:0", *body_arg = NULL;
    size_t threads = 32, size = 0;
    char *body = NULL, threads_s[24], host[256];
    const char *mg_opts[20];
    struct mg_callbacks cb;
    struct mg_context *ctx;
    struct mg_server_port sp[2];
    reply r = {NULL, 0};
    sigset_t sigs;
    const char *colon;
    int n, sig;

    /* Every option but --help takes a value. */
    for (int i = 1; i < argc; i += 2) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;

        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        }
        if (!v) {
            usage(stderr);
            return 2;
        }
        if (strcmp(argv[i], "--listen") == 0) {
            listen = v;
        } else if (strcmp(argv[i], "--threads") == 0) {
            if (parse_size(&threads, v, 1, 1024) != 0) {
                fprintf(stderr, "plain-server: bad value for --threads: %s\n", v);
                return 2;
            }
        } else if (strcmp(argv[i], "--body") == 0) {
            body_arg = v;
        } else if (strcmp(argv[i], "--size") == 0) {
            if (parse_size(&size, v, PAD_MIN, BODY_MAX) != 0) {
                fprintf(stderr, "plain-server: --size must be %zu..%u bytes\n", PAD_MIN,
                        BODY_MAX);
                return 2;
            }
        } else {
            usage(stderr);
            return 2;
        }
    }
    if ((body_arg != NULL) == (size != 0)) {
        fprintf(stderr, "plain-server: give one of --body and --size\n");
        usage(stderr);
        return 2;
    }
    if (size != 0 && !(body = make_padded(size))) {
        fprintf(stderr, "plain-server: out of memory\n");
        return 1;
    }
    if (make_reply(&r, body ? body : body_arg, body ? size : strlen(body_arg)) != 0) {
        fprintf(stderr, "plain-server: out of memory\n");
        return 1;
    }
    free(body);

    /* Signals are taken by sigwait() below; civetweb's threads inherit the mask. */
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    mg_init_library(0);
    snprintf(threads_s, sizeof threads_s, "%zu", threads);
    n = 0;
    mg_opts[n++] = "listening_ports";
    mg_opts[n++] = listen;
    mg_opts[n++] = "num_threads";
    mg_opts[n++] = threads_s;
    mg_opts[n++] = "enable_keep_alive";
    mg_opts[n++] = "yes";
    mg_opts[n++] = "keep_alive_timeout_ms";
    mg_opts[n++] = "5000";
    mg_opts[n++] = "request_timeout_ms";
    mg_opts[n++] = "30000";
    mg_opts[n++] = "tcp_nodelay";
    mg_opts[n++] = "1";
    mg_opts[n++] = "decode_url";
    mg_opts[n++] = "no";
    mg_opts[n] = NULL;
    memset(&cb, 0, sizeof cb);
    cb.log_message = on_log_message;
    if (!(ctx = mg_start(&cb, NULL, mg_opts))) {
        fprintf(stderr, "plain-server: cannot listen on %s\n", listen);
        mg_exit_library();
        free(r.bytes);
        return 1;
    }
    mg_set_request_handler(ctx, "/", on_request, &r);

    memset(sp, 0, sizeof sp);
    n = mg_get_server_ports(ctx, 2, sp);
    colon = strrchr(listen, ':');
    snprintf(host, sizeof host, "%.*s", colon ? (int)(colon - listen) : (int)strlen(listen),
             listen);
    printf("listening on http://%s:%d\n", host, n > 0 ? sp[0].port : 0);
    fflush(stdout);

    while (sigwait(&sigs, &sig) != 0)
        ;
    mg_stop(ctx);
    mg_exit_library();
    free(r.bytes);
    return 0;
}
