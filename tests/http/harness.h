/* What the end-to-end tests of jobs-server share: starting and stopping the real binary on
 * 127.0.0.1 with port 0 and a temporary data directory, and requests through libcurl. */
#ifndef JOBS_TEST_HTTP_HARNESS_H
#define JOBS_TEST_HTTP_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* The jobs-server under test (argv[1] of every HTTP test program). */
extern const char *server_bin;

typedef struct server {
    pid_t pid;
    int port;
    char dir[64];   /* data directory; made with mkdtemp by start_server unless already set */
    char cafile[96]; /* set for HTTPS: the certificate libcurl must trust; empty for HTTP */
} server;

typedef struct resp {
    long status;
    char *body;
    size_t len;
    char headers[8192];
} resp;

/* Removes a directory tree; 0 on success. */
int rm_tree(const char *dir);

/* The --store option the jobs-server subcommands of data directory `dir` need: "" on LMDB,
 * "--store 'URI'" on the tests' PostgreSQL (its schema made if missing). 0, or -1. */
int store_option(const char *dir, char *out, size_t size);

/* `jobs-server user add NAME [--email E] --data DIR` with the password on standard input. */
int add_user(const char *dir, const char *name, const char *email, const char *password);

/* Starts jobs-server with `--listen 127.0.0.1:0 --data s->dir` and the NULL-terminated extra
 * arguments (may be NULL), then waits for its "listening on" line. Standard output goes to
 * s->dir/stdout.log, standard error to s->dir/stderr.log. */
int start_server(server *s, const char *const *extra);

/* SIGTERM, waits for a clean exit (0), removes s->dir. Non-zero if the exit was not clean. */
int stop_server(server *s);

/* Stops the server but keeps s->dir (to restart on the same data). */
int halt_server(server *s);

/* One request. `auth`: "B:<token>" bearer, "C:<token>" cookie, or NULL. Fails the test unless
 * the answer is JSON with Content-Type application/json. */
void request_to(resp *r, const server *s, const char *method, const char *path, const char *auth,
                const char *body, size_t body_len);
void resp_free(resp *r);

/* request_to() with extra header lines ("If-Match: ...", NULL-terminated list; may be NULL). */
void request_with(resp *r, const server *s, const char *method, const char *path,
                  const char *auth, const char *body, size_t body_len, const char *const *headers);

/* The auth_tkt value of a Set-Cookie answer. */
void token_from(char *out, size_t size, const resp *r);
void login_to(const server *s, char *tok, size_t size, const char *name, const char *pw);

/* POST path body; asserts 201 with {"id":N} and Location path/byid/N; returns N. */
long create_on(const server *s, const char *path, const char *auth, const char *body);

/* Appends the lines of s->dir/stdout.log to out (at most size-1 bytes). */
void server_stdout(const server *s, char *out, size_t size);

/* A request without credentials or body whose answer need not be JSON (GET /metrics is text):
 * the caller checks r->headers. HEAD reads no body. */
void request_plain(resp *r, const server *s, const char *method, const char *path);

/* Asserts status and that the body contains `want`. */
#define EXPECT(r, st, want)                                                                    \
    do {                                                                                       \
        if ((r)->status != (st) || !strstr((r)->body, (want)))                                 \
            fail_msg("expected %d with %s, got %ld %s", (st), (want), (r)->status, (r)->body); \
    } while (0)

#endif
