#include "harness.h"

#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdint.h>

#include <cmocka.h>
#include <curl/curl.h>

#ifdef JOBS_TEST_WITH_POSTGRES
#include <libpq-fe.h>
#endif

/* The test switch (as tests/support/fixture.c): with JOBS_TEST_STORE naming a PostgreSQL
 * database, each server's store is a schema of it named after the server's data directory
 * (made at start, kept across restarts on that directory, dropped by stop_server), passed with
 * --store; users stay in the data directory. */
static const char *pg_base(void)
{
    const char *v = getenv("JOBS_TEST_STORE");
    return v && *v ? v : NULL;
}

#ifdef JOBS_TEST_WITH_POSTGRES
static void pg_quiet(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

static int pg_sql(const char *sql)
{
    PGconn *conn = PQconnectdb(pg_base());
    int rc = -1;

    if (PQstatus(conn) == CONNECTION_OK) {
        PQsetNoticeProcessor(conn, pg_quiet, NULL);
        PGresult *r = PQexec(conn, sql);
        rc = PQresultStatus(r) == PGRES_COMMAND_OK ? 0 : -1;
        if (rc)
            fprintf(stderr, "harness: %s: %s", sql, PQresultErrorMessage(r));
        PQclear(r);
    }
    PQfinish(conn);
    return rc;
}
#endif

/* The schema of a data directory: "h_" and a hash of its path. */
static void pg_schema(const char *dir, char *out, size_t size)
{
    uint64_t h = 1469598103934665603u;

    for (const char *p = dir; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211u;
    snprintf(out, size, "h_%016llx", (unsigned long long)h);
}

/* The --store of data directory `dir` (its schema made if missing): 0, or -1. */
static int pg_store_for(const char *dir, char *store, size_t size)
{
#ifdef JOBS_TEST_WITH_POSTGRES
    char schema[40], sql[80];
    const char *base = pg_base();

    pg_schema(dir, schema, sizeof schema);
    snprintf(sql, sizeof sql, "CREATE SCHEMA IF NOT EXISTS %s", schema);
    if (pg_sql(sql))
        return -1;
    if (strstr(base, "://"))
        snprintf(store, size, "%s%coptions=-csearch_path%%3D%s", base,
                 strchr(base, '?') ? '&' : '?', schema);
    else
        snprintf(store, size, "%s options='-csearch_path=%s'", base, schema);
    return 0;
#else
    (void)dir;
    (void)store;
    (void)size;
    fprintf(stderr, "harness: JOBS_TEST_STORE is set but the tests have no PostgreSQL\n");
    return -1;
#endif
}

const char *server_bin;

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

int rm_tree(const char *dir)
{
    return nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

int store_option(const char *dir, char *out, size_t size)
{
    char store[4096] = "";

    if (pg_base() && pg_store_for(dir, store, sizeof store))
        return -1;
    snprintf(out, size, "%s%s%s", store[0] ? "--store '" : "", store, store[0] ? "'" : "");
    return 0;
}

int add_user(const char *dir, const char *name, const char *email, const char *password)
{
    char cmd[8192], store[4200];
    FILE *p;

    if (store_option(dir, store, sizeof store))
        return -1;
    snprintf(cmd, sizeof cmd, "'%s' user add %s %s %s --data '%s' %s >/dev/null", server_bin,
             name, email ? "--email" : "", email ? email : "", dir, store);
    if (!(p = popen(cmd, "w")))
        return -1;
    fprintf(p, "%s\n", password);
    return pclose(p) == 0 ? 0 : -1;
}

int halt_server(server *s)
{
    int status = 0, rc = 0;

    if (s->pid <= 0)
        return 0;
    kill(s->pid, SIGTERM);
    for (int i = 0; i < 1000; i++) {
        if (waitpid(s->pid, &status, WNOHANG) == s->pid)
            break;
        if (i == 999) {
            kill(s->pid, SIGKILL);
            waitpid(s->pid, &status, 0);
            rc = -1;
        }
        usleep(10000);
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "jobs-server did not exit cleanly (status 0x%x)\n", status);
        rc = -1;
    }
    s->pid = 0;
    return rc;
}

int stop_server(server *s)
{
    int rc = halt_server(s);

#ifdef JOBS_TEST_WITH_POSTGRES
    if (s->dir[0] && pg_base()) {
        char schema[40], sql[80];
        pg_schema(s->dir, schema, sizeof schema);
        snprintf(sql, sizeof sql, "DROP SCHEMA IF EXISTS %s CASCADE", schema);
        pg_sql(sql);
    }
#endif
    if (s->dir[0]) {
        rm_tree(s->dir);
        s->dir[0] = '\0';
    }
    return rc;
}

int start_server(server *s, const char *const *extra)
{
    char out[128], err[128], line[256];
    const char *argv[32];
    static char store[4096];
    int n = 0;

    if (!s->dir[0]) {
        snprintf(s->dir, sizeof s->dir, "/tmp/jobs-http-XXXXXX");
        if (!mkdtemp(s->dir))
            return -1;
    }
    argv[n++] = "jobs-server";
    argv[n++] = "--listen";
    argv[n++] = "127.0.0.1:0";
    argv[n++] = "--data";
    argv[n++] = s->dir;
    if (pg_base()) {
        if (pg_store_for(s->dir, store, sizeof store))
            return -1;
        argv[n++] = "--store";
        argv[n++] = store;
    }
    for (; extra && *extra && n < 31; extra++)
        argv[n++] = *extra;
    argv[n] = NULL;
    snprintf(out, sizeof out, "%s/stdout.log", s->dir);
    snprintf(err, sizeof err, "%s/stderr.log", s->dir);
    /* A restart on the same directory must not read the last run's "listening on" line: keep
     * that run's log beside it instead. */
    {
        char prev[140];
        snprintf(prev, sizeof prev, "%s.prev", out);
        rename(out, prev);
    }
    s->pid = fork();
    if (s->pid < 0)
        return -1;
    if (s->pid == 0) {
        int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int fe = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        dup2(fd, 1);
        dup2(fe, 2);
        execv(server_bin, (char *const *)argv);
        _exit(127);
    }
    for (int i = 0; i < 1500; i++) {
        FILE *f = fopen(out, "r");
        if (f) {
            while (fgets(line, sizeof line, f))
                if (sscanf(line, "listening on http://127.0.0.1:%d", &s->port) == 1 ||
                    sscanf(line, "listening on https://127.0.0.1:%d", &s->port) == 1) {
                    fclose(f);
                    return 0;
                }
            fclose(f);
        }
        if (waitpid(s->pid, NULL, WNOHANG) == s->pid) {
            s->pid = 0;
            return -1;
        }
        usleep(10000);
    }
    return -1;
}

void server_stdout(const server *s, char *out, size_t size)
{
    char path[128];
    size_t n = 0;
    FILE *f;

    out[0] = '\0';
    snprintf(path, sizeof path, "%s/stdout.log", s->dir);
    if (!(f = fopen(path, "r")))
        return;
    n = fread(out, 1, size - 1, f);
    out[n] = '\0';
    fclose(f);
}

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    resp *r = ud;
    char *b = realloc(r->body, r->len + size * n + 1);

    if (!b)
        return 0;
    memcpy(b + r->len, p, size * n);
    r->len += size * n;
    b[r->len] = '\0';
    r->body = b;
    return size * n;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
    resp *r = ud;
    size_t have = strlen(r->headers);

    if (have + size * n < sizeof r->headers)
        memcpy(r->headers + have, p, size * n), r->headers[have + size * n] = '\0';
    return size * n;
}

void request_to(resp *r, const server *s, const char *method, const char *path, const char *auth,
                const char *body, size_t body_len)
{
    request_with(r, s, method, path, auth, body, body_len, NULL);
}

void request_with(resp *r, const server *s, const char *method, const char *path,
                  const char *auth, const char *body, size_t body_len, const char *const *headers)
{
    CURL *c = curl_easy_init();
    struct curl_slist *h = NULL;
    char url[4096], hdr[256];

    assert_non_null(c);
    memset(r, 0, sizeof *r);
    snprintf(url, sizeof url, "%s://127.0.0.1:%d%s", s->cafile[0] ? "https" : "http", s->port,
             path);
    curl_easy_setopt(c, CURLOPT_URL, url);
    if (s->cafile[0])
        curl_easy_setopt(c, CURLOPT_CAINFO, s->cafile);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L); /* Argon2id under a loaded sanitizer build */
    curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);
    h = curl_slist_append(h, "Expect:");
    if (auth && auth[0] == 'B') {
        snprintf(hdr, sizeof hdr, "Authorization: Bearer %s", auth + 2);
        h = curl_slist_append(h, hdr);
    } else if (auth && auth[0] == 'C') {
        snprintf(hdr, sizeof hdr, "Cookie: theme=dark; auth_tkt=%s", auth + 2);
        h = curl_slist_append(h, hdr);
    }
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)body_len);
        h = curl_slist_append(h, "Content-Type: application/json");
    }
    for (; headers && *headers; headers++)
        h = curl_slist_append(h, *headers);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    /* A body over 64 KiB is answered 413 and the connection closed without reading it; when the
     * close overtakes curl's sending (a reset), curl reports a send or receive error instead of
     * the answer. Such a request changes nothing, so it is simply sent again. */
    for (int attempt = 0;; attempt++) {
        CURLcode rc = curl_easy_perform(c);

        if (rc == CURLE_OK)
            break;
        if (body_len <= 65536 || attempt == 4 ||
            (rc != CURLE_SEND_ERROR && rc != CURLE_RECV_ERROR))
            fail_msg("%s %s: %s", method, path, curl_easy_strerror(rc));
        free(r->body);
        r->body = NULL;
        r->len = 0;
        r->headers[0] = '\0';
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    if (!r->body)
        r->body = calloc(1, 1);
    if (!strstr(r->headers, "Content-Type: application/json\r\n"))
        fail_msg("%s %s: no JSON Content-Type in\n%s", method, path, r->headers);
}

void resp_free(resp *r)
{
    free(r->body);
    r->body = NULL;
}

void token_from(char *out, size_t size, const resp *r)
{
    const char *p = strstr(r->headers, "auth_tkt=");

    assert_non_null(p);
    p += 9;
    snprintf(out, size, "%.*s", (int)strcspn(p, ";\r\n"), p);
}

void login_to(const server *s, char *tok, size_t size, const char *name, const char *pw)
{
    char body[256];
    resp r;

    snprintf(body, sizeof body, "{\"username\":\"%s\",\"password\":\"%s\"}", name, pw);
    request_to(&r, s, "POST", "/authenticate", NULL, body, strlen(body));
    assert_int_equal(r.status, 200);
    token_from(tok, size, &r);
    resp_free(&r);
}

long create_on(const server *s, const char *path, const char *auth, const char *body)
{
    char want[64];
    long id;
    resp r;

    request_to(&r, s, "POST", path, auth, body, strlen(body));
    if (r.status != 201)
        fail_msg("POST %s %s: %ld %s", path, body, r.status, r.body);
    assert_int_equal(sscanf(r.body, "{\"id\":%ld}", &id), 1);
    snprintf(want, sizeof want, "Location: %s/byid/%ld\r\n", path, id);
    if (!strstr(r.headers, want))
        fail_msg("no %s in\n%s", want, r.headers);
    resp_free(&r);
    return id;
}

void request_plain(resp *r, const server *s, const char *method, const char *path)
{
    CURL *c = curl_easy_init();
    char url[4096];

    assert_non_null(c);
    memset(r, 0, sizeof *r);
    snprintf(url, sizeof url, "%s://127.0.0.1:%d%s", s->cafile[0] ? "https" : "http", s->port,
             path);
    curl_easy_setopt(c, CURLOPT_URL, url);
    if (s->cafile[0])
        curl_easy_setopt(c, CURLOPT_CAINFO, s->cafile);
    if (strcmp(method, "HEAD") == 0)
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    else
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
    curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);
    assert_int_equal(curl_easy_perform(c), CURLE_OK);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    curl_easy_cleanup(c);
    if (!r->body)
        r->body = calloc(1, 1);
}
