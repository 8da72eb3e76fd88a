/* jobs-server --tls-cert, end to end: a self-signed certificate for 127.0.0.1 made with the
 * openssl command, the real binary serving HTTPS, libcurl verifying the certificate against it.
 * With Debian 12's civetweb 1.15 and OpenSSL 3 this only works through libjobs-tls-compat.so
 * (examples/server/tls-compat.c); without it the server crashed on the first connection. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "harness.h"

static server srv; /* the HTTPS server of the group; srv.dir also holds the certificate */
static char cert[128];

/* Writes DIR/ca.pem (the certificate, what clients trust) and DIR/server.pem (certificate and
 * key, for --tls-cert; mode 0600, as jobs-server requires): self-signed, CN and subjectAltName
 * 127.0.0.1, valid for a day. */
static int make_certificate(const char *dir)
{
    char cmd[1024];

    snprintf(cmd, sizeof cmd,
             "cd '%s' && umask 077 && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 "
             "-nodes -keyout key.pem -out ca.pem -days 1 -subj /CN=127.0.0.1 "
             "-addext subjectAltName=IP:127.0.0.1 >/dev/null 2>&1 && "
             "cat ca.pem key.pem > server.pem && rm key.pem",
             dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* Writes DIR/NAME.pem (certificate and key, mode 0600): self-signed for 127.0.0.1 as above,
 * valid from `start` to `end` ("YYYYMMDDHHMMSSZ", UTC). `openssl req -x509` takes a number of
 * days from now only, and OpenSSL 3.0's `openssl x509` has no -not_before/-not_after, so it is
 * signed by `openssl ca`, whose -startdate and -enddate take any date, past ones too, in a
 * directory DIR/NAME.ca of its own (its configuration, database and serial file). */
static int make_dated_certificate(const char *dir, const char *name, const char *start,
                                  const char *end)
{
    char cmd[2048], path[256];
    FILE *f;

    snprintf(path, sizeof path, "%s/%s.ca", dir, name);
    if (mkdir(path, 0700) != 0)
        return -1;
    snprintf(path, sizeof path, "%s/%s.ca/ca.cnf", dir, name);
    if (!(f = fopen(path, "w")))
        return -1;
    fputs("[ca]\ndefault_ca = dated\n[dated]\ndatabase = index.txt\nnew_certs_dir = .\n"
          "serial = serial\ndefault_md = sha256\npolicy = any\ncopy_extensions = copy\n"
          "unique_subject = no\n[any]\ncommonName = supplied\n", f);
    if (fclose(f) != 0)
        return -1;
    snprintf(cmd, sizeof cmd,
             "cd '%s/%s.ca' && umask 077 && : > index.txt && echo 01 > serial && "
             "openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
             "-keyout key.pem -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 "
             "-out req.csr >/dev/null 2>&1 && "
             "openssl ca -batch -config ca.cnf -selfsign -keyfile key.pem -in req.csr "
             "-out cert.pem -notext -startdate %s -enddate %s >/dev/null 2>&1 && "
             "cat cert.pem key.pem > '../%s.pem'",
             dir, name, start, end, name);
    return system(cmd) == 0 ? 0 : -1;
}

/* Unix seconds `t` as openssl ca's -startdate and -enddate take it: YYYYMMDDHHMMSSZ. */
static void asn1_date(char out[32], time_t t)
{
    struct tm tm;

    gmtime_r(&t, &tm);
    strftime(out, 32, "%Y%m%d%H%M%SZ", &tm);
}

/* ---- fixtures ------------------------------------------------------------------------------ */

/* Copies the server's standard error to ours: why it did not start. */
static void show_server_stderr(const server *s)
{
    char path[128], line[512];
    FILE *f;

    snprintf(path, sizeof path, "%s/stderr.log", s->dir);
    if (!(f = fopen(path, "r")))
        return;
    while (fgets(line, sizeof line, f))
        fprintf(stderr, "jobs-server: | %s", line);
    fclose(f);
}

static int group_setup(void **state)
{
    (void)state;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    snprintf(srv.dir, sizeof srv.dir, "/tmp/jobs-https-XXXXXX");
    if (!mkdtemp(srv.dir))
        return -1;
    snprintf(cert, sizeof cert, "%s/server.pem", srv.dir);
    snprintf(srv.cafile, sizeof srv.cafile, "%s/ca.pem", srv.dir);
    if (make_certificate(srv.dir) != 0 || add_user(srv.dir, "alice", NULL, "alice-pw") != 0 ||
        start_server(&srv, (const char *[]){"--tls-cert", cert, NULL}) != 0) {
        show_server_stderr(&srv);
        stop_server(&srv);
        return -1;
    }
    return 0;
}

/* The server must also stop cleanly (exit 0) after serving HTTPS. */
static int group_teardown(void **state)
{
    (void)state;
    int rc = stop_server(&srv);
    curl_global_cleanup();
    return rc;
}

/* Runs jobs-server with --tls-cert FILE on a fresh data directory and returns its exit status;
 * its standard error goes to err (at most size-1 bytes). */
static int run_with_cert(char *err, size_t size, const char *file)
{
    char dir[64], cmd[1024];
    size_t n = 0;
    FILE *f;
    int status;

    snprintf(dir, sizeof dir, "/tmp/jobs-https-XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(cmd, sizeof cmd,
             "'%s' --listen 127.0.0.1:0 --data '%s/data' --tls-cert '%s' "
             "</dev/null >/dev/null 2>'%s/err.log'",
             server_bin, dir, file, dir);
    status = system(cmd);
    snprintf(cmd, sizeof cmd, "%s/err.log", dir);
    err[0] = '\0';
    if ((f = fopen(cmd, "r"))) {
        n = fread(err, 1, size - 1, f);
        err[n] = '\0';
        fclose(f);
    }
    rm_tree(dir);
    return status;
}

/* ---- HTTPS --------------------------------------------------------------------------------- */

static void test_login_over_https_sets_secure_cookie(void **state)
{
    const char body[] = "{\"username\":\"alice\",\"password\":\"alice-pw\"}";
    char tok[128], auth[160];
    resp r;

    (void)state;
    request_to(&r, &srv, "POST", "/authenticate", NULL, body, strlen(body));
    EXPECT(&r, 200, "{\"code\":0,\"user_id\":1}");
    if (!strstr(r.headers, "; HttpOnly; SameSite=Strict; Path=/; Max-Age=28800; Secure\r\n"))
        fail_msg("no Secure cookie in\n%s", r.headers);
    token_from(tok, sizeof tok, &r);
    resp_free(&r);

    snprintf(auth, sizeof auth, "C:%s", tok);
    request_to(&r, &srv, "POST", "/logout", auth, NULL, 0);
    EXPECT(&r, 200, "{\"code\":0}");
    if (!strstr(r.headers, "Set-Cookie: auth_tkt=; HttpOnly; SameSite=Strict; Path=/; "
                           "Max-Age=0; Secure\r\n"))
        fail_msg("no Secure cookie in\n%s", r.headers);
    resp_free(&r);
}

static void test_routes_work_over_https(void **state)
{
    char tok[128], auth[160], body[128], path[64];
    long stack, job;
    resp r;

    (void)state;
    login_to(&srv, tok, sizeof tok, "alice", "alice-pw");
    snprintf(auth, sizeof auth, "B:%s", tok);
    stack = create_on(&srv, "/blockstacks", auth, "{\"name\":\"over-tls\"}");
    snprintf(body, sizeof body, "{\"name\":\"tls job\",\"stack_id\":%ld,\"schedule_id\":4}", stack);
    job = create_on(&srv, "/jobs", auth, body);

    snprintf(path, sizeof path, "/blockstacks/byid/%ld", stack);
    request_to(&r, &srv, "GET", path, auth, NULL, 0);
    EXPECT(&r, 200, "\"name\":\"over-tls\"");
    resp_free(&r);
    snprintf(auth, sizeof auth, "C:%s", tok); /* the cookie works too */
    snprintf(path, sizeof path, "/jobs/byid/%ld", job);
    request_to(&r, &srv, "GET", path, auth, NULL, 0);
    EXPECT(&r, 200, "\"name\":\"tls job\"");
    resp_free(&r);
}

/* Plain HTTP to the HTTPS port gets no answer (civetweb drops the failed handshake), and the
 * server goes on serving HTTPS. */
static void test_plain_http_to_the_https_port_fails(void **state)
{
    char url[64];
    CURL *c = curl_easy_init();
    CURLcode rc;
    resp r;

    (void)state;
    assert_non_null(c);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/jobs", srv.port);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
    curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    rc = curl_easy_perform(c);
    curl_easy_cleanup(c);
    if (rc == CURLE_OK)
        fail_msg("plain HTTP to the HTTPS port succeeded");

    request_to(&r, &srv, "GET", "/jobs", NULL, NULL, 0);
    EXPECT(&r, 401, "{\"code\":100,");
    resp_free(&r);
}

/* --tls-cert with several --listen addresses: each serves HTTPS. civetweb takes HTTPS per
 * address, and the server asked it of the last one only, so the others served plain HTTP while
 * "listening on https://" was printed for each. */
static void test_every_listen_address_serves_https(void **state)
{
    server two;
    char out[1024];
    int ports[2], n = 0;
    resp r;

    (void)state;
    memset(&two, 0, sizeof two);
    snprintf(two.cafile, sizeof two.cafile, "%s", srv.cafile);
    if (start_server(&two, (const char *[]){"--listen", "127.0.0.1:0,127.0.0.1:0", "--tls-cert",
                                            cert, NULL}) != 0) {
        show_server_stderr(&two);
        stop_server(&two);
        fail_msg("jobs-server with two HTTPS addresses did not start");
    }
    server_stdout(&two, out, sizeof out);
    for (const char *p = out; n < 2 && (p = strstr(p, "listening on https://127.0.0.1:")); p++)
        ports[n++] = atoi(p + strlen("listening on https://127.0.0.1:"));
    assert_int_equal(n, 2);
    assert_int_not_equal(ports[0], ports[1]);
    for (int i = 0; i < 2; i++) {
        two.port = ports[i];
        request_to(&r, &two, "GET", "/jobs", NULL, NULL, 0);
        if (r.status != 401)
            fail_msg("address %d (port %d): HTTPS status %ld, not 401", i, ports[i], r.status);
        EXPECT(&r, 401, "{\"code\":100,");
        resp_free(&r);
    }
    assert_int_equal(stop_server(&two), 0);
}

/* ---- bad certificate files ----------------------------------------------------------------- */

static void test_missing_cert_file_is_a_clear_error(void **state)
{
    char err[4096];
    int status;

    (void)state;
    status = run_with_cert(err, sizeof err, "/nonexistent/server.pem");
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 1 ||
        !strstr(err, "jobs-server: --tls-cert /nonexistent/server.pem: No such file or directory"))
        fail_msg("status 0x%x, stderr:\n%s", status, err);
}

static void test_cert_directory_is_a_clear_error(void **state)
{
    char err[4096];
    int status;

    (void)state;
    status = run_with_cert(err, sizeof err, "/tmp");
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 1 ||
        !strstr(err, "jobs-server: --tls-cert /tmp: Is a directory"))
        fail_msg("status 0x%x, stderr:\n%s", status, err);
}

/* A PEM with the certificate but no key: the server says so and exits 1, before civetweb (and
 * before anything is created: test-tls-cert-mode.sh). */
static void test_cert_without_key_is_a_clear_error(void **state)
{
    char err[4096], want[512];
    int status;

    (void)state;
    status = run_with_cert(err, sizeof err, srv.cafile);
    snprintf(want, sizeof want, "jobs-server: --tls-cert %s: it holds no private key", srv.cafile);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 1 || !strstr(err, want) ||
        strstr(err, "civetweb"))
        fail_msg("status 0x%x, stderr:\n%s", status, err);
}

/* ---- the certificate's dates ---------------------------------------------------------------- */

typedef struct body {
    char text[65536];
    size_t len;
} body;

static size_t on_text(char *p, size_t size, size_t n, void *arg)
{
    body *b = arg;
    size_t len = size * n, room = sizeof b->text - 1 - b->len;

    memcpy(b->text + b->len, p, len < room ? len : room);
    b->len += len < room ? len : room;
    b->text[b->len] = '\0';
    return len;
}

/* GET /metrics over HTTPS from `s`, whose certificate libcurl is told not to verify (it may have
 * expired): the value of `series`, -1 when it is not there, -2 when the request failed. */
static long long metric_unverified(const server *s, const char *series)
{
    static body b;
    char url[96];
    size_t n = strlen(series);
    CURL *c = curl_easy_init();
    long status = 0;
    CURLcode rc;

    if (!c)
        return -2;
    b.len = 0;
    b.text[0] = '\0';
    snprintf(url, sizeof url, "https://127.0.0.1:%d/metrics", s->port);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_text);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
    rc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(c);
    if (rc != CURLE_OK || status != 200)
        return -2;
    for (const char *p = b.text; p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
        if (strncmp(p, series, n) == 0 && p[n] == ' ')
            return strtoll(p + n + 1, NULL, 10);
    return -1;
}

/* Starts a server with --tls-cert srv.dir/NAME.pem, checks that its standard error holds each
 * of the NULL-terminated `want` and, when `unwanted` is not NULL, not that, and returns the
 * value of its gauge jobs_tls_certificate_expiry_timestamp_seconds (-1: none). It stops the
 * server before it fails the test. */
static long long serve_with(const char *name, const char *const *want, const char *unwanted)
{
    char file[192], err[4096];
    const char *missing = NULL;
    long long expiry;
    size_t n = 0;
    server s;
    FILE *f;

    memset(&s, 0, sizeof s);
    snprintf(file, sizeof file, "%s/%s.pem", srv.dir, name);
    if (start_server(&s, (const char *[]){"--tls-cert", file, NULL}) != 0) {
        show_server_stderr(&s);
        stop_server(&s);
        fail_msg("jobs-server --tls-cert %s did not start", file);
    }
    snprintf(file, sizeof file, "%s/stderr.log", s.dir);
    err[0] = '\0';
    if ((f = fopen(file, "r"))) {
        n = fread(err, 1, sizeof err - 1, f);
        err[n] = '\0';
        fclose(f);
    }
    for (; *want && !missing; want++)
        if (!strstr(err, *want))
            missing = *want;
    expiry = missing || (unwanted && strstr(err, unwanted))
                 ? 0 : metric_unverified(&s, "jobs_tls_certificate_expiry_timestamp_seconds");
    assert_int_equal(stop_server(&s), 0);
    if (missing)
        fail_msg("no '%s' in:\n%s", missing, err);
    if (unwanted && strstr(err, unwanted))
        fail_msg("'%s' in:\n%s", unwanted, err);
    return expiry;
}

/* A certificate past its notAfter: the server says so on stderr, with the file and the date,
 * and serves it (clients that check dates refuse it; the API's scripts that do not go on). It
 * used to say nothing. The gauge jobs_tls_certificate_expiry_timestamp_seconds is its
 * notAfter. */
static void test_an_expired_certificate_is_served_with_a_warning(void **state)
{
    char want[512];

    (void)state;
    assert_int_equal(make_dated_certificate(srv.dir, "expired", "20200101000000Z",
                                            "20200102000000Z"), 0);
    snprintf(want, sizeof want, "jobs-server: warning: --tls-cert %s/expired.pem: its "
             "certificate expired at 2020-01-02T00:00:00Z (now ", srv.dir);
    assert_int_equal(serve_with("expired", (const char *[]){want, "renew it", NULL}, NULL),
                     1577923200);
}

/* A certificate whose notBefore is to come: a warning too (a clock that is wrong, or a
 * certificate put in place too early), and it is served. */
static void test_a_certificate_not_valid_yet_is_served_with_a_warning(void **state)
{
    char want[512];

    (void)state;
    assert_int_equal(make_dated_certificate(srv.dir, "future", "20990101000000Z",
                                            "21000101000000Z"), 0);
    snprintf(want, sizeof want, "jobs-server: warning: --tls-cert %s/future.pem: its "
             "certificate is not valid before 2099-01-01T00:00:00Z (now ", srv.dir);
    assert_int_equal(serve_with("future", (const char *[]){want, NULL}, "expire"),
                     4102444800LL);
}

/* A certificate that expires within 14 days: a warning with its date; one that expires later:
 * none. Both have the gauge. */
static void test_a_certificate_that_expires_soon_is_a_warning(void **state)
{
    char want[512], start[32], soon[32], later[32], iso[32];
    time_t now = time(NULL), end = now + 3 * 86400;
    struct tm tm;

    (void)state;
    asn1_date(start, now - 86400);
    asn1_date(soon, end);
    asn1_date(later, end + 27 * 86400); /* 30 days from now */
    assert_int_equal(make_dated_certificate(srv.dir, "soon", start, soon), 0);
    assert_int_equal(make_dated_certificate(srv.dir, "later", start, later), 0);
    gmtime_r(&end, &tm);
    strftime(iso, sizeof iso, "%Y-%m-%dT%H:%M:%SZ", &tm);
    snprintf(want, sizeof want, "jobs-server: warning: --tls-cert %s/soon.pem: its "
             "certificate expires at %s, in ", srv.dir, iso);
    assert_int_equal(serve_with("soon", (const char *[]){want, "renew it", NULL}, NULL),
                     (long long)end);
    assert_int_equal(serve_with("later", (const char *[]){NULL}, "warning"),
                     (long long)end + 27 * 86400);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_login_over_https_sets_secure_cookie),
        cmocka_unit_test(test_routes_work_over_https),
        cmocka_unit_test(test_plain_http_to_the_https_port_fails),
        cmocka_unit_test(test_every_listen_address_serves_https),
        cmocka_unit_test(test_missing_cert_file_is_a_clear_error),
        cmocka_unit_test(test_cert_directory_is_a_clear_error),
        cmocka_unit_test(test_cert_without_key_is_a_clear_error),
        cmocka_unit_test(test_an_expired_certificate_is_served_with_a_warning),
        cmocka_unit_test(test_a_certificate_not_valid_yet_is_served_with_a_warning),
        cmocka_unit_test(test_a_certificate_that_expires_soon_is_a_warning),
    };

    if (argc != 2) {
        fprintf(stderr, "usage: %s PATH-TO-jobs-server\n", argv[0]);
        return 2;
    }
    server_bin = argv[1];
    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
