/* Operations of jobs-server end to end (issue 6): GET /healthz, GET /metrics in the Prometheus
 * text format with counters that follow the requests made, one JSON access-log line per request
 * without the query string, --config with command-line options winning, --check-config, and
 * examples/server/jobs-server.service (its ExecStart accepted by jobs-server; systemd-analyze
 * verify where installed).
 *
 * Usage: test_ops PATH-TO-jobs-server PATH-TO-examples/server */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cJSON.h>
#include <cmocka.h>
#include <curl/curl.h>

#include "harness.h"

static const char *examples; /* examples/server of the source tree */

/* ---- helpers ------------------------------------------------------------------------------- */

/* The whole of a file (malloc'd, NUL-terminated; "" when missing). */
static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *b = NULL;
    size_t n = 0, cap = 0;

    if (f) {
        for (;;) {
            if (n + 4096 + 1 > cap) {
                cap = (n + 4096 + 1) * 2;
                assert_non_null(b = realloc(b, cap));
            }
            size_t k = fread(b + n, 1, 4096, f);
            n += k;
            if (k == 0)
                break;
        }
        fclose(f);
    }
    if (!b)
        assert_non_null(b = malloc(1));
    b[n] = '\0';
    return b;
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
}

/* Runs jobs-server with `args` (NULL-terminated); its standard output and error, merged, into
 * out. Returns its exit status (-1 when it did not exit normally). */
static int run_server(char *out, size_t size, const char *const *args)
{
    const char *argv[32];
    int fd[2], status, n = 0;
    size_t len = 0;
    ssize_t k;
    pid_t pid;

    argv[n++] = server_bin;
    for (; *args && n < 31; args++)
        argv[n++] = *args;
    argv[n] = NULL;
    assert_int_equal(pipe(fd), 0);
    assert_true((pid = fork()) >= 0);
    if (pid == 0) {
        dup2(fd[1], 1);
        dup2(fd[1], 2);
        close(fd[0]);
        execv(server_bin, (char *const *)argv);
        _exit(127);
    }
    close(fd[1]);
    while (len + 1 < size && (k = read(fd[0], out + len, size - 1 - len)) > 0)
        len += (size_t)k;
    out[len] = '\0';
    close(fd[0]);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* A temporary directory for files of one test; removed with rm_tree(). */
static void temp_dir(char *dir, size_t size)
{
    snprintf(dir, size, "/tmp/jobs-ops-XXXXXX");
    assert_non_null(mkdtemp(dir));
}

/* Starts s again on its data directory. start_server() waits for the "listening on" line of
 * stdout.log, which the new process truncates only once it runs: the old file goes first, so
 * that the last run's line (and port) cannot be taken for the new one's. */
static void restart(server *s, const char *const *extra)
{
    char path[128];

    snprintf(path, sizeof path, "%s/stdout.log", s->dir);
    assert_int_equal(unlink(path), 0);
    assert_int_equal(start_server(s, extra), 0);
}

/* ---- metrics text -------------------------------------------------------------------------- */

/* The value of the sample written exactly as `series` (name and labels), or -1 when absent. */
static long long sample(const char *text, const char *series)
{
    size_t n = strlen(series);

    for (const char *p = text; p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
        if (strncmp(p, series, n) == 0 && p[n] == ' ')
            return strtoll(p + n + 1, NULL, 10);
    return -1;
}

/* The sum of the values of every sample whose line starts with `prefix`. */
static long long sum_of(const char *text, const char *prefix)
{
    size_t n = strlen(prefix);
    long long sum = 0;

    for (const char *p = text; p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
        if (strncmp(p, prefix, n) == 0) {
            const char *sp = strchr(p, ' ');
            assert_non_null(sp);
            sum += strtoll(sp + 1, NULL, 10);
        }
    return sum;
}

static char *scrape(const server *s)
{
    resp r;

    request_plain(&r, s, "GET", "/metrics");
    assert_int_equal(r.status, 200);
    if (!strstr(r.headers, "\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"))
        fail_msg("GET /metrics: no Prometheus Content-Type in\n%s", r.headers);
    return r.body;
}

/* Every histogram of the text: for each route, buckets in increasing `le` order with
 * non-decreasing counts, ending with +Inf equal to _count. Returns the sum of the _counts. */
static long long check_histograms(const char *text)
{
    static const char bucket[] = "jobs_http_request_duration_seconds_bucket{route=\"";
    char route[128] = "", count_series[256];
    long long last = -1, total = 0;
    double last_le = -1;

    for (const char *p = text; p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
        const char *r, *q, *le;
        long long v;
        double bound;

        if (strncmp(p, bucket, sizeof bucket - 1) != 0)
            continue;
        r = p + sizeof bucket - 1;
        q = strchr(r, '"');
        assert_non_null(q);
        if (strlen(route) != (size_t)(q - r) || strncmp(route, r, (size_t)(q - r)) != 0) {
            assert_true(last_le == -1); /* the previous route ended with +Inf */
            snprintf(route, sizeof route, "%.*s", (int)(q - r), r);
            last = -1;
        }
        assert_int_equal(strncmp(q, "\",le=\"", 6), 0);
        le = q + 6;
        v = strtoll(strchr(le, ' ') + 1, NULL, 10);
        if (v < last)
            fail_msg("route %s: bucket le=%.*s has %lld, less than the one before (%lld)", route,
                     (int)strcspn(le, "\""), le, v, last);
        last = v;
        if (strncmp(le, "+Inf\"", 5) == 0) {
            snprintf(count_series, sizeof count_series,
                     "jobs_http_request_duration_seconds_count{route=\"%s\"}", route);
            assert_int_equal(sample(text, count_series), v);
            total += v;
            last_le = -1;
        } else {
            bound = strtod(le, NULL);
            assert_true(bound > last_le);
            last_le = bound;
        }
    }
    assert_true(last_le == -1);
    return total;
}

/* Metrics for each scrape are counted after its answer is written, so a scrape may miss the
 * request just before it by a moment. Scrapes until the request counters add up to `made` (the
 * requests answered so far, earlier scrapes included), at most 5 s; `*made` counts the scrapes. */
static char *scrape_settled(const server *s, long long *made)
{
    for (int i = 0; i < 250; i++) {
        char *text = scrape(s);
        long long requests = sum_of(text, "jobs_http_requests_total{");
        long long counted = check_histograms(text);

        if (requests > *made || counted > *made)
            fail_msg("%lld requests counted, %lld in histograms: only %lld made\n%s", requests,
                     counted, *made, text);
        (*made)++;
        if (requests == *made - 1 && counted == *made - 1)
            return text;
        free(text);
        usleep(20000);
    }
    fail_msg("the request counters never reached %lld", *made);
    return NULL;
}

/* ---- /healthz ------------------------------------------------------------------------------ */

static void test_healthz_answers_ok_on_get_and_head_only(void **state)
{
    server s = {0};
    resp r;

    (void)state;
    assert_int_equal(start_server(&s, NULL), 0);
    request_to(&r, &s, "GET", "/healthz", NULL, NULL, 0);
    EXPECT(&r, 200, "{\"status\":\"ok\",\"store\":\"ok\",\"scheduler\":\"ok\"}");
    assert_int_equal(r.len, strlen("{\"status\":\"ok\",\"store\":\"ok\",\"scheduler\":\"ok\"}"));
    resp_free(&r);
    request_plain(&r, &s, "HEAD", "/healthz");
    assert_int_equal(r.status, 200);
    assert_int_equal(r.len, 0);
    assert_non_null(strstr(r.headers, "\r\nContent-Length: 45\r\n"));
    resp_free(&r);
    request_to(&r, &s, "POST", "/healthz", NULL, "{}", 2);
    EXPECT(&r, 405, "\"code\":102");
    assert_non_null(strstr(r.headers, "\r\nAllow: GET, HEAD\r\n"));
    resp_free(&r);
    /* no session needed, and none looked at: a bad token changes nothing */
    request_to(&r, &s, "GET", "/healthz", "B:0000", NULL, 0);
    assert_int_equal(r.status, 200);
    resp_free(&r);
    assert_int_equal(stop_server(&s), 0);
}

/* ---- /metrics ------------------------------------------------------------------------------ */

static void test_metrics_are_prometheus_text_with_help_and_type(void **state)
{
    static const struct {
        const char *name, *type;
    } families[] = {
        {"jobs_build_info", "gauge"},
        {"jobs_server_start_time_seconds", "gauge"},
        {"jobs_http_requests_total", "counter"},
        {"jobs_http_request_duration_seconds", "histogram"},
        {"jobs_scheduler_runs_total", "counter"},
        {"jobs_scheduler_deleted_total", "counter"},
        {"jobs_scheduler_tick_errors_total", "counter"},
        {"jobs_scheduler_last_tick_timestamp_seconds", "gauge"},
        {"jobs_scheduler_tick_interval_seconds", "gauge"},
        {"jobs_jobs", "gauge"},
        {"jobs_store_jobs", "gauge"},
        {"jobs_store_schedules", "gauge"},
        {"jobs_store_stacks", "gauge"},
        {"jobs_store_map_size_bytes", "gauge"},
        {"jobs_store_map_used_bytes", "gauge"},
        {"jobs_store_writes_total", "counter"},
        {"jobs_store_commits_total", "counter"},
        {"jobs_server_access_log_dropped_total", "counter"},
    };
    server s = {0};
    char *text, want[160];
    const char *type = NULL;
    resp r;

    (void)state;
    assert_int_equal(start_server(&s, NULL), 0);
    request_to(&r, &s, "GET", "/schedules", NULL, NULL, 0); /* something to count */
    resp_free(&r);
    usleep(100000);
    text = scrape(&s);
    assert_true(strlen(text) > 0 && text[strlen(text) - 1] == '\n');
    for (size_t i = 0; i < sizeof families / sizeof *families; i++) {
        snprintf(want, sizeof want, "\n# TYPE %s %s\n", families[i].name, families[i].type);
        if (!strstr(text, want))
            fail_msg("no '%s' in\n%s", want + 1, text);
        snprintf(want, sizeof want, "# HELP %s ", families[i].name);
        assert_non_null(strstr(text, want));
    }
    /* Every line: a comment, or `name{labels} value` of the family declared last. */
    for (const char *p = text; *p; p = strchr(p, '\n') + 1) {
        size_t n = strcspn(p, "\n"), name = strspn(p, "abcdefghijklmnopqrstuvwxyz_");
        const char *v;

        if (strncmp(p, "# TYPE ", 7) == 0) {
            type = p + 7;
            continue;
        }
        if (p[0] == '#')
            continue;
        assert_non_null(type);
        if (name < strcspn(type, " ") || strncmp(p, type, strcspn(type, " ")) != 0)
            fail_msg("'%.*s' is not of the family declared last (%.*s)", (int)n, p,
                     (int)strcspn(type, "\n"), type);
        v = p + name;
        if (*v == '{')
            v = strchr(v, '}') + 1;
        assert_int_equal(*v, ' ');
        assert_true(strspn(v + 1, "0123456789.") == (size_t)(p + n - v - 1));
    }
    assert_int_equal(sample(text, "jobs_store_schedules"), 5);
    assert_int_equal(sample(text, "jobs_scheduler_tick_interval_seconds"), 1);
    assert_true(sample(text, "jobs_scheduler_last_tick_timestamp_seconds") >=
                sample(text, "jobs_server_start_time_seconds"));
    free(text);
    request_plain(&r, &s, "HEAD", "/metrics");
    assert_int_equal(r.status, 200);
    assert_int_equal(r.len, 0);
    resp_free(&r);
    assert_int_equal(stop_server(&s), 0);
}

static void test_metrics_count_exactly_the_requests_made(void **state)
{
    server s = {0};
    long long made = 0, before_ok, before_missing;
    char *text;
    resp r;

    (void)state;
    assert_int_equal(start_server(&s, NULL), 0);
    text = scrape_settled(&s, &made);
    before_ok = sample(text, "jobs_http_requests_total{route=\"/schedules/byid/{id}\","
                             "method=\"GET\",status=\"200\"}");
    before_missing = sample(text, "jobs_http_requests_total{route=\"/schedules/byid/{id}\","
                                  "method=\"GET\",status=\"404\"}");
    assert_int_equal(before_ok, -1); /* no series before its first request */
    assert_int_equal(before_missing, -1);
    free(text);

    for (int i = 0; i < 7; i++) {
        request_to(&r, &s, "GET", "/schedules/byid/1", NULL, NULL, 0);
        assert_int_equal(r.status, 200);
        resp_free(&r);
        made++;
    }
    for (int i = 0; i < 3; i++) {
        request_to(&r, &s, "GET", "/schedules/byid/999", NULL, NULL, 0);
        assert_int_equal(r.status, 404);
        resp_free(&r);
        made++;
    }
    request_to(&r, &s, "DELETE", "/nowhere/at/all", NULL, NULL, 0);
    resp_free(&r);
    made++;

    text = scrape_settled(&s, &made);
    assert_int_equal(sample(text, "jobs_http_requests_total{route=\"/schedules/byid/{id}\","
                                  "method=\"GET\",status=\"200\"}"), 7);
    assert_int_equal(sample(text, "jobs_http_requests_total{route=\"/schedules/byid/{id}\","
                                  "method=\"GET\",status=\"404\"}"), 3);
    assert_int_equal(sample(text, "jobs_http_requests_total{route=\"other\",method=\"DELETE\","
                                  "status=\"404\"}"), 1);
    assert_int_equal(sample(text, "jobs_http_request_duration_seconds_count{"
                                  "route=\"/schedules/byid/{id}\"}"), 10);
    assert_null(strstr(text, "/schedules/byid/1\"")); /* labels never hold the raw path */
    assert_null(strstr(text, "nowhere"));
    free(text);
    assert_int_equal(stop_server(&s), 0);
}

/* ---- access log ---------------------------------------------------------------------------- */

/* The JSON lines of a log (others, such as "jobs-server: SIGTERM: stopping", are skipped), each
 * checked to be an object with every field of the format. Returns how many, parsed into out. */
static size_t access_lines(cJSON **out, size_t max, const char *log)
{
    static const char *const strings[] = {"time", "route"};
    static const char *const numbers[] = {"status", "duration_ms", "user", "bytes"};
    size_t n = 0;

    for (const char *p = log; *p; p += strcspn(p, "\n"), p += *p == '\n') {
        size_t len = strcspn(p, "\n");
        cJSON *json;

        if (p[0] != '{')
            continue;
        json = cJSON_ParseWithLength(p, len);
        if (!json || !cJSON_IsObject(json))
            fail_msg("not a JSON object: %.*s", (int)len, p);
        for (size_t i = 0; i < 2; i++)
            assert_true(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(json, strings[i])));
        for (size_t i = 0; i < 4; i++)
            assert_true(cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(json, numbers[i])));
        assert_true(cJSON_GetObjectItemCaseSensitive(json, "method") != NULL);
        assert_true(cJSON_GetObjectItemCaseSensitive(json, "path") != NULL);
        /* 2026-11-28T19:30:00.123Z */
        assert_int_equal(strlen(cJSON_GetObjectItemCaseSensitive(json, "time")->valuestring), 24);
        assert_int_equal(p[len - 1], '}');
        if (n < max)
            out[n] = json;
        else
            cJSON_Delete(json);
        n++;
    }
    return n;
}

/* Waits (at most 5 s) until `path` holds `want` access-log lines; returns its text. */
static char *log_with(const char *path, size_t want)
{
    for (int i = 0; i < 250; i++) {
        char *log = slurp(path);
        size_t n = 0;

        for (const char *p = log; (p = strstr(p, "{\"time\":")) != NULL; p++)
            n++;
        if (n >= want)
            return log;
        free(log);
        usleep(20000);
    }
    fail_msg("%s never held %zu access-log lines", path, want);
    return NULL;
}

static const char *str(cJSON *line, const char *key)
{
    cJSON *v = cJSON_GetObjectItemCaseSensitive(line, key);

    return cJSON_IsString(v) ? v->valuestring : "(not a string)";
}

static double num(cJSON *line, const char *key)
{
    return cJSON_GetObjectItemCaseSensitive(line, key)->valuedouble;
}

/* The one line of `path` (NULL: a null path) with `status`; fails the test when there is none
 * or more than one. */
static cJSON *find_line(cJSON **lines, size_t n, const char *path, int status)
{
    cJSON *found = NULL;

    for (size_t i = 0; i < n; i++) {
        cJSON *p = cJSON_GetObjectItemCaseSensitive(lines[i], "path");
        bool same = path ? cJSON_IsString(p) && strcmp(p->valuestring, path) == 0
                         : cJSON_IsNull(p);
        if (same && num(lines[i], "status") == status) {
            if (found)
                fail_msg("two access-log lines for %s %d", path ? path : "null", status);
            found = lines[i];
        }
    }
    if (!found)
        fail_msg("no access-log line for %s %d", path ? path : "null", status);
    return found;
}

/* A request line civetweb itself refuses (HTTP/9.9), over a raw socket. */
static void send_raw(const server *s, const char *text)
{
    struct sockaddr_in a = {0};
    char buf[512];
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    assert_true(fd >= 0);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)s->port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    while (read(fd, buf, sizeof buf) > 0)
        ;
    close(fd);
}

static void test_access_log_has_one_json_line_per_request_without_the_query(void **state)
{
    server s = {0};
    char tok[128], auth[160], path[128], *log;
    cJSON *lines[16], *line;
    size_t n;
    resp r;

    (void)state;
    temp_dir(s.dir, sizeof s.dir);
    assert_int_equal(add_user(s.dir, "alice", NULL, "alice-pw"), 0);
    assert_int_equal(start_server(&s, NULL), 0);
    request_to(&r, &s, "GET", "/schedules?page=1&token=secret", NULL, NULL, 0);   /* 1 */
    assert_int_equal(r.status, 200);
    resp_free(&r);
    login_to(&s, tok, sizeof tok, "alice", "alice-pw");                           /* 2 */
    snprintf(auth, sizeof auth, "B:%s", tok);
    request_to(&r, &s, "GET", "/jobs?pagesize=5", auth, NULL, 0);                 /* 3 */
    assert_int_equal(r.status, 200);
    resp_free(&r);
    request_to(&r, &s, "GET", "/jobs", NULL, NULL, 0);                            /* 4 */
    assert_int_equal(r.status, 401);
    resp_free(&r);
    request_to(&r, &s, "GET", "/jobs/byname/x%22y%0A", auth, NULL, 0);            /* 5 */
    resp_free(&r);
    send_raw(&s, "GET /healthz HTTP/9.9\r\n\r\n");                                /* 6 */

    snprintf(path, sizeof path, "%s/stderr.log", s.dir);
    log = log_with(path, 6);
    assert_null(strstr(log, "secret"));
    assert_null(strstr(log, "page=1"));
    assert_null(strstr(log, tok));
    n = access_lines(lines, 16, log);
    if (n != 6)
        fail_msg("%zu access-log lines for 6 requests:\n%s", n, log);
    /* A line is written once its answer is sent, so the client's next request, served by
     * another thread, may be logged first: the lines are looked up, not taken in order. */
    line = find_line(lines, n, "/schedules", 200);
    assert_string_equal(str(line, "method"), "GET");
    assert_string_equal(str(line, "route"), "/schedules");
    assert_true(num(line, "user") == 0 && num(line, "bytes") > 0);
    assert_string_equal(str(line, "remote"), "127.0.0.1");
    line = find_line(lines, n, "/authenticate", 200);
    assert_true(num(line, "user") == 1); /* the user who logged in */
    assert_true(num(find_line(lines, n, "/jobs", 200), "user") == 1);
    assert_true(num(find_line(lines, n, "/jobs", 401), "user") == 0);
    line = find_line(lines, n, "/jobs/byname/x%22y%0A", 400); /* raw, as sent; 400: the \n */
    assert_string_equal(str(line, "route"), "/jobs/byname/{name}");
    assert_true(num(line, "user") == 1);
    /* civetweb's refusal: what could not be parsed is null */
    line = find_line(lines, n, NULL, 400);
    assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(line, "method")));
    assert_string_equal(str(line, "route"), "other");
    for (size_t i = 0; i < n; i++)
        cJSON_Delete(lines[i]);
    free(log);
    assert_int_equal(stop_server(&s), 0);
}

static void test_access_log_to_a_file_or_off(void **state)
{
    server s = {0};
    char file[128], err[128], *log;
    struct stat st;
    resp r;
    const char *extra[3] = {"--access-log", file, NULL};

    (void)state;
    temp_dir(s.dir, sizeof s.dir);
    snprintf(file, sizeof file, "%s/access.log", s.dir);
    snprintf(err, sizeof err, "%s/stderr.log", s.dir);
    assert_int_equal(start_server(&s, extra), 0);
    for (int i = 0; i < 3; i++) {
        request_to(&r, &s, "GET", "/healthz", NULL, NULL, 0);
        resp_free(&r);
    }
    log = log_with(file, 3);
    assert_int_equal(stat(file, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(access_lines(NULL, 0, log), 3);
    free(log);
    assert_int_equal(halt_server(&s), 0);
    /* appended to, on the next start */
    restart(&s, extra);
    request_to(&r, &s, "GET", "/healthz", NULL, NULL, 0);
    resp_free(&r);
    log = log_with(file, 4);
    free(log);
    assert_int_equal(halt_server(&s), 0);
    log = slurp(err);
    assert_null(strstr(log, "{\"time\""));
    free(log);

    extra[1] = "off";
    restart(&s, extra);
    request_to(&r, &s, "GET", "/healthz", NULL, NULL, 0);
    resp_free(&r);
    usleep(200000);
    assert_int_equal(halt_server(&s), 0);
    log = slurp(err);
    assert_null(strstr(log, "{\"time\""));
    free(log);
    log = slurp(file);
    assert_int_equal(access_lines(NULL, 0, log), 4);
    free(log);
    assert_int_equal(stop_server(&s), 0);
}

/* ---- --config ------------------------------------------------------------------------------ */

static void test_config_file_applies_and_options_win_over_it(void **state)
{
    static const char login[] = "{\"username\":\"alice\",\"password\":\"alice-pw\"}";
    server s = {0};
    char conf[128], *text;
    const char *extra[5] = {"--config", conf, NULL, NULL, NULL};
    resp r;

    (void)state;
    temp_dir(s.dir, sizeof s.dir);
    snprintf(conf, sizeof conf, "%s/jobs-server.conf", s.dir);
    write_file(conf, "# test\n"
                     "tick-interval = 7\n"
                     "session-ttl 120   # two minutes\n"
                     "access-log=off\n");
    assert_int_equal(add_user(s.dir, "alice", NULL, "alice-pw"), 0);
    assert_int_equal(start_server(&s, extra), 0);
    request_to(&r, &s, "POST", "/authenticate", NULL, login, strlen(login));
    assert_non_null(strstr(r.headers, "; Max-Age=120\r\n"));
    resp_free(&r);
    text = scrape(&s);
    assert_int_equal(sample(text, "jobs_scheduler_tick_interval_seconds"), 7);
    free(text);
    assert_int_equal(halt_server(&s), 0);

    extra[2] = "--session-ttl";
    extra[3] = "77";
    restart(&s, extra);
    request_to(&r, &s, "POST", "/authenticate", NULL, login, strlen(login));
    assert_non_null(strstr(r.headers, "; Max-Age=77\r\n"));
    resp_free(&r);
    text = scrape(&s);
    assert_int_equal(sample(text, "jobs_scheduler_tick_interval_seconds"), 7);
    free(text);
    assert_int_equal(stop_server(&s), 0);
}

static void test_bad_config_lines_exit_2_naming_file_and_line(void **state)
{
    static const struct {
        const char *text, *line, *message;
    } cases[] = {
        {"threads = 4\n\nthread = 4\n", ":3: ", "unknown key 'thread'"},
        {"# ok\ntick-interval = 0\n", ":2: ", "bad value for tick-interval: '0'"},
        {"session-ttl = 99999999999\n", ":1: ", "bad value for session-ttl"},
        {"threads = +8\n", ":1: ", "bad value for threads: '+8'"},
        {"fault-status-500 = maybe\n", ":1: ", "bad value for fault-status-500: 'maybe'"},
        {"listen\n", ":1: ", "bad value for listen: ''"},
        {"data = a\ndata = b\n", ":2: ", "'data' is given twice"},
        {"--listen = x\n", ":1: ", "unknown key '--listen'"},
        {"config = other.conf\n", ":1: ", "unknown key 'config'"},
        /* checked as they are read, so named with their line (even when an option wins; the
         * run-command line only stops a server that would take this listen from starting) */
        {"\nlisten = 127.0.0.1:99999\nrun-command = /nonexistent\n", ":2: ",
         "bad value for listen: '127.0.0.1:99999'"},
        {"trusted-proxy = 10.0.0.0/8\n", ":1: ", "bad value for trusted-proxy: '10.0.0.0/8'"},
    };
    char dir[64], conf[128], out[4096], want[256];
    const char *args[] = {"--config", conf, "--listen", "127.0.0.1:0", "--data", dir, NULL};

    (void)state;
    temp_dir(dir, sizeof dir);
    snprintf(conf, sizeof conf, "%s/bad.conf", dir);
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        int status;

        write_file(conf, cases[i].text);
        status = run_server(out, sizeof out, args);
        snprintf(want, sizeof want, "%s%s%s", conf, cases[i].line, cases[i].message);
        if (status != 2 || !strstr(out, want))
            fail_msg("%s: exit %d, expected 2 and '%s' in: %s", cases[i].text, status, want, out);
        /* --check-config refuses it the same way */
        args[2] = "--check-config";
        args[3] = NULL;
        assert_int_equal(run_server(out, sizeof out, args), 2);
        args[2] = "--listen";
        args[3] = "127.0.0.1:0";
    }
    /* on the command line too: a sign or a blank before the digits is not a number */
    {
        const char *cli[] = {"--threads", " 8", "--data", dir, "--check-config", NULL};

        assert_int_equal(run_server(out, sizeof out, cli), 2);
        assert_non_null(strstr(out, "threads"));
        cli[1] = "+8";
        assert_int_equal(run_server(out, sizeof out, cli), 2);
        cli[1] = "8";
        assert_int_equal(run_server(out, sizeof out, cli), 0);
    }
    /* a missing file */
    snprintf(conf, sizeof conf, "%s/missing.conf", dir);
    assert_int_equal(run_server(out, sizeof out, args), 2);
    assert_non_null(strstr(out, "missing.conf: No such file or directory"));
    /* nothing was created in the data directory */
    {
        char store[128];
        snprintf(store, sizeof store, "%s/store", dir);
        assert_int_equal(access(store, F_OK), -1);
    }
    rm_tree(dir);
}

/* A --listen the server cannot use, --tls-cert with several addresses (all but the last served
 * plain HTTP) and a --run-command that is no program are refused before anything is created.
 * They were found by civetweb once the data directory and the store were made (exit 1), or not
 * at all (a directory as the runner: every run failed). */
static void test_bad_listen_or_run_command_creates_nothing(void **state)
{
    static const char *const bad[] = {"127.0.0.1:99999", "127.0.0.1:65536", "foo",
                                      "127.0.0.1:0s", "127.0.0.1:0,", ":0", "127.0.0.1:-1",
                                      "127.0.0.1:123456"};
    char dir[64], data[128], out[4096];
    const char *args[12];
    struct stat st;

    (void)state;
    temp_dir(dir, sizeof dir);
    snprintf(data, sizeof data, "%s/data", dir);
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        const char *a[] = {"--listen", bad[i], "--data", data, NULL, NULL};

        if (run_server(out, sizeof out, a) != 2 || !strstr(out, "bad value for --listen"))
            fail_msg("--listen '%s': expected exit 2 and 'bad value for --listen' in: %s", bad[i],
                     out);
        assert_int_equal(stat(data, &st), -1);
        a[4] = "--check-config";
        assert_int_equal(run_server(out, sizeof out, a), 2);
    }
    /* an address that is not this host's: exit 1, said before anything is created */
    args[0] = "--listen", args[1] = "192.0.2.1:0", args[2] = "--data", args[3] = data;
    args[4] = NULL;
    assert_int_equal(run_server(out, sizeof out, args), 1);
    assert_non_null(strstr(out, "cannot listen on 192.0.2.1:0: "));
    assert_non_null(strstr(out, "nothing was created"));
    assert_int_equal(stat(data, &st), -1);
    /* several addresses are fine (test_https: with --tls-cert, each serves HTTPS) */
    args[1] = "127.0.0.1:0,127.0.0.1:0", args[4] = "--check-config", args[5] = NULL;
    assert_int_equal(run_server(out, sizeof out, args), 0);
    assert_non_null(strstr(out, "\nlisten = 127.0.0.1:0,127.0.0.1:0\n"));
    /* a directory as the runner's program */
    args[1] = "127.0.0.1:0", args[4] = "--run-command", args[5] = dir, args[6] = NULL;
    assert_int_equal(run_server(out, sizeof out, args), 2);
    assert_non_null(strstr(out, "--run-command"));
    assert_non_null(strstr(out, "not a regular file"));
    assert_int_equal(stat(data, &st), -1);
    rm_tree(dir);
}

/* A subcommand given what it does not take says which argument, not only the usage; nothing is
 * created. */
static void test_subcommand_usage_errors_name_the_argument(void **state)
{
    char dir[64], data[128], out[8192];
    const struct {
        const char *args[8], *message;
    } cases[] = {
        {{"user", "add", "bob", "carol", "--data", data, NULL}, "jobs-server: user add: "
                                                                "unknown or extra argument 'carol'"},
        {{"user", "add", "--data", data, NULL}, "jobs-server: user add: no NAME given"},
        {{"user", "add", "bob", "--data", data, "--email", NULL},
         "jobs-server: user add: --email needs a value"},
        {{"user", "passwd", "bob", "--email", "b@example.com", "--data", data, NULL},
         "jobs-server: user passwd: unknown or extra argument '--email'"},
        {{"check", "--data", data, "extra", NULL},
         "jobs-server: check: unknown or extra argument 'extra'"},
        {{"check", "--data", NULL}, "jobs-server: check: --data needs a value"},
    };
    struct stat st;

    (void)state;
    temp_dir(dir, sizeof dir);
    snprintf(data, sizeof data, "%s/data", dir);
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        if (run_server(out, sizeof out, cases[i].args) != 2 || !strstr(out, cases[i].message) ||
            !strstr(out, "usage: jobs-server"))
            fail_msg("expected exit 2, '%s' and the usage in: %s", cases[i].message, out);
        assert_int_equal(stat(data, &st), -1);
    }
    rm_tree(dir);
}

static void test_check_config_prints_the_effective_settings(void **state)
{
    char conf[256], dir[64], again[128], out[4096], out2[4096];
    /* an option given twice: its last value */
    const char *args[] = {"--config", conf, "--threads", "4", "--threads", "5", "--check-config",
                          NULL};
    const char *args2[] = {"--config", again, "--check-config", NULL};

    (void)state;
    snprintf(conf, sizeof conf, "%s/jobs-server.conf", examples);
    assert_int_equal(run_server(out, sizeof out, args), 0);
    assert_non_null(strstr(out, "\nlisten = 127.0.0.1:8080\n"));
    assert_non_null(strstr(out, "\ndata = /var/lib/jobs-server\n"));
    assert_non_null(strstr(out, "\nthreads = 5\n")); /* the option wins */
    assert_non_null(strstr(out, "\ntick-interval = 1\n"));
    assert_non_null(strstr(out, "\nsession-ttl = 28800\n"));
    assert_non_null(strstr(out, "\naccess-log = -\n"));
    assert_non_null(strstr(out, "\nfault-status-500 = false\n"));
    assert_non_null(strstr(out, "\n# tls-cert is not set\n"));
    assert_non_null(strstr(out, "\n# store is not set\n")); /* was stack garbage (\"store = C\") */
    /* The output is a config file that gives the same settings. */
    temp_dir(dir, sizeof dir);
    snprintf(again, sizeof again, "%s/again.conf", dir);
    write_file(again, out);
    assert_int_equal(run_server(out2, sizeof out2, args2), 0);
    assert_string_equal(strchr(out, '\n'), strchr(out2, '\n'));
    rm_tree(dir);
}

/* examples/server/jobs-server.conf has a line for every setting --check-config prints, set or
 * commented out, as docs/http-api.md says ("a commented example with every key"); it had 10 of
 * the 24. */
static void test_example_config_names_every_key(void **state)
{
    char path[256], settings[4096], line[80];
    const char *c[] = {"--check-config", NULL};
    char *conf;

    (void)state;
    snprintf(path, sizeof path, "%s/jobs-server.conf", examples);
    conf = slurp(path);
    assert_int_equal(run_server(settings, sizeof settings, c), 0);
    for (const char *p = settings; *p; p += strcspn(p, "\n"), p += *p == '\n') {
        const char *key = strncmp(p, "# ", 2) == 0 ? p + 2 : p;
        size_t n = strcspn(key, " \n");
        char set[80];

        if (key == p + 2 && strncmp(key + n, " is not set", 11) != 0)
            continue; /* a comment */
        snprintf(line, sizeof line, "\n#%.*s = ", (int)n, key);
        snprintf(set, sizeof set, "\n%.*s = ", (int)n, key);
        if (!strstr(conf, line) && !strstr(conf, set))
            fail_msg("%s has no line for %.*s", path, (int)n, key);
    }
    free(conf);
}

/* --help names every setting --check-config prints, and says where the users live: in the
 * store, on PostgreSQL too (it said "users stay in DIR" of --store, which they do not since
 * users and sessions moved into the store). */
static void test_help_names_every_setting(void **state)
{
    char help[8192], settings[4096], opt[64];
    const char *h[] = {"--help", NULL};
    const char *c[] = {"--check-config", NULL};

    (void)state;
    assert_int_equal(run_server(help, sizeof help, h), 0);
    assert_int_equal(run_server(settings, sizeof settings, c), 0);
    for (const char *p = settings; *p; p += strcspn(p, "\n"), p += *p == '\n') {
        const char *key = strncmp(p, "# ", 2) == 0 ? p + 2 : p;
        size_t n = strcspn(key, " \n");

        if (key == p + 2 && strncmp(key + n, " is not set", 11) != 0)
            continue; /* a comment */
        snprintf(opt, sizeof opt, "--%.*s ", (int)n, key);
        if (!strstr(help, opt))
            fail_msg("--help does not name %s", opt);
    }
    assert_null(strstr(help, "users stay in DIR"));
    assert_non_null(strstr(help, "--store URI            keep the store, users and sessions too"));
}

/* ---- the systemd unit ---------------------------------------------------------------------- */

/* The value of `key=` in the unit text (first occurrence), into out; false when absent. */
static bool unit_value(char *out, size_t size, const char *unit, const char *key)
{
    size_t n = strlen(key);

    for (const char *p = unit; *p; p += strcspn(p, "\n"), p += *p == '\n')
        if (strncmp(p, key, n) == 0 && p[n] == '=') {
            snprintf(out, size, "%.*s", (int)strcspn(p + n + 1, "\n"), p + n + 1);
            return true;
        }
    return false;
}

static void test_unit_starts_jobs_server_with_options_it_accepts(void **state)
{
    static const char *const hardening[] = {
        "DynamicUser=yes", "StateDirectory=jobs-server", "NoNewPrivileges=yes",
        "ProtectSystem=strict", "ProtectHome=yes", "PrivateTmp=yes", "PrivateDevices=yes",
        "ProtectKernelTunables=yes", "ProtectKernelModules=yes", "ProtectKernelLogs=yes",
        "ProtectControlGroups=yes", "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX",
        "RestrictNamespaces=yes", "LockPersonality=yes", "MemoryDenyWriteExecute=yes",
        "SystemCallArchitectures=native", "SystemCallFilter=@system-service", "UMask=0077",
        "KillSignal=SIGTERM", "Restart=on-failure"};
    char path[256], conf[256], exec[512], out[4096], want[300];
    const char *args[16];
    char *unit, *save = NULL, *word;
    int n = 0;

    (void)state;
    snprintf(path, sizeof path, "%s/jobs-server.service", examples);
    snprintf(conf, sizeof conf, "%s/jobs-server.conf", examples);
    unit = slurp(path);
    for (size_t i = 0; i < sizeof hardening / sizeof *hardening; i++) {
        snprintf(want, sizeof want, "\n%s\n", hardening[i]);
        if (!strstr(unit, want))
            fail_msg("the unit has no line %s", hardening[i]);
    }
    assert_true(unit_value(exec, sizeof exec, unit, "TimeoutStopSec"));

    /* ExecStart: the binary, then options; the config file it names is the example's. */
    assert_true(unit_value(exec, sizeof exec, unit, "ExecStart"));
    word = strtok_r(exec, " ", &save);
    assert_non_null(word);
    assert_true(strlen(word) > 12 && strcmp(word + strlen(word) - 12, "/jobs-server") == 0);
    while ((word = strtok_r(NULL, " ", &save)) != NULL && n < 14)
        args[n++] = strcmp(word, "/etc/jobs-server.conf") == 0 ? conf : word;
    args[n++] = "--check-config";
    args[n] = NULL;
    if (run_server(out, sizeof out, args) != 0)
        fail_msg("ExecStart's options are refused: %s", out);
    /* the data directory is the state directory systemd makes */
    assert_non_null(strstr(out, "\ndata = /var/lib/jobs-server\n"));
    free(unit);
}

static void test_unit_passes_systemd_analyze_verify(void **state)
{
    char dir[64], path[128], src[256], cmd[512], out[4096], bin[PATH_MAX], *unit, *p;
    FILE *f;
    size_t n;
    int status;

    (void)state;
    if (system("command -v systemd-analyze >/dev/null 2>&1") != 0) {
        print_message("systemd-analyze is not installed: the unit is not verified\n");
        skip();
    }
    /* verify wants ExecStart's binary to exist: the one under test, with the example config */
    snprintf(src, sizeof src, "%s/jobs-server.service", examples);
    unit = slurp(src);
    temp_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/jobs-server.service", dir);
    assert_non_null(f = fopen(path, "w"));
    p = strstr(unit, "ExecStart=/usr/local/bin/jobs-server ");
    assert_non_null(p);
    assert_non_null(realpath(server_bin, bin));
    fprintf(f, "%.*sExecStart=%s%s", (int)(p - unit), unit, bin,
            p + strlen("ExecStart=/usr/local/bin/jobs-server"));
    assert_int_equal(fclose(f), 0);
    free(unit);
    snprintf(cmd, sizeof cmd, "systemd-analyze verify '%s' 2>&1", path);
    assert_non_null(f = popen(cmd, "r"));
    n = fread(out, 1, sizeof out - 1, f);
    out[n] = '\0';
    status = pclose(f);
    /* Unknown keys are only warnings, so no output at all is asked for. */
    if (status != 0 || n != 0)
        fail_msg("systemd-analyze verify: status 0x%x: %s", status, out);
    rm_tree(dir);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_healthz_answers_ok_on_get_and_head_only),
        cmocka_unit_test(test_metrics_are_prometheus_text_with_help_and_type),
        cmocka_unit_test(test_metrics_count_exactly_the_requests_made),
        cmocka_unit_test(test_access_log_has_one_json_line_per_request_without_the_query),
        cmocka_unit_test(test_access_log_to_a_file_or_off),
        cmocka_unit_test(test_config_file_applies_and_options_win_over_it),
        cmocka_unit_test(test_bad_config_lines_exit_2_naming_file_and_line),
        cmocka_unit_test(test_bad_listen_or_run_command_creates_nothing),
        cmocka_unit_test(test_subcommand_usage_errors_name_the_argument),
        cmocka_unit_test(test_check_config_prints_the_effective_settings),
        cmocka_unit_test(test_help_names_every_setting),
        cmocka_unit_test(test_example_config_names_every_key),
        cmocka_unit_test(test_unit_starts_jobs_server_with_options_it_accepts),
        cmocka_unit_test(test_unit_passes_systemd_analyze_verify),
    };
    int rc;

    if (argc != 3) {
        fprintf(stderr, "usage: %s PATH-TO-jobs-server PATH-TO-examples/server\n", argv[0]);
        return 2;
    }
    server_bin = argv[1];
    examples = argv[2];
    signal(SIGPIPE, SIG_IGN);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
