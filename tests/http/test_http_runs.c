/* Runs end to end (issue 14): jobs-server with --run-command running a real script. A one-time
 * job runs once and its run is succeeded with the output kept; a failing script gives failed
 * with its exit status; POST /jobs/<id>/run runs it again (trigger manual); a timeout is
 * enforced; the run routes refuse bad input and other users. Crash: kill -9 of jobs-server
 * while an at-least-once run's child runs: after the restart and the lease the run is
 * delivered again (attempt 2); an at-most-once run is not. Bounds are for liveness only. */
#include <errno.h>
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

static server srv;
static char A[160], B[160]; /* "B:<token>" of alice and bob */
static long stack_a;

/* The script every run executes: what it does depends on the job's name. */
static const char script[] =
    "#!/bin/sh\n"
    "d='%s'\n"
    "input=$(cat)\n"
    "echo \"$JOBS_RUN_ID $JOBS_JOB_ID $JOBS_TRIGGER $JOBS_ATTEMPT\" >> \"$d/calls.$JOBS_JOB_ID\"\n"
    "case \"$JOBS_JOB_NAME\" in\n"
    "ok*) echo \"hello from run $JOBS_RUN_ID of $JOBS_JOB_NAME input=$input "
    "owner=$JOBS_OWNER stack=$JOBS_STACK_ID\"; exit 0 ;;\n"
    "fail*) echo oops >&2; exit 3 ;;\n"
    "slow*) exec sleep 120 ;;\n"
    "crash*) if [ \"$JOBS_ATTEMPT\" = 1 ]; then echo $$ > \"$d/pid.$JOBS_RUN_ID\"; "
    "exec sleep 120; fi; echo \"attempt $JOBS_ATTEMPT\"; exit 0 ;;\n"
    "esac\n"
    "exit 9\n";

static void write_script(const char *dir, char *path, size_t size)
{
    FILE *f;

    snprintf(path, size, "%s/run.sh", dir);
    f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, script, dir);
    fclose(f);
    assert_int_equal(chmod(path, 0700), 0);
}

static void request(resp *r, const server *s, const char *method, const char *path,
                    const char *auth, const char *body)
{
    request_to(r, s, method, path, auth, body, body ? strlen(body) : 0);
}

/* A one-time schedule due now, and an enabled job of it named `name` with `extra` keys. */
static long job_now(const server *s, const char *auth, long stack, const char *name,
                    const char *extra)
{
    char body[512];
    long sched;

    snprintf(body, sizeof body, "{\"name\":\"%s at once\",\"once\":true,\"config\":"
             "{\"timestamp\":%lld}}", name, (long long)time(NULL));
    sched = create_on(s, "/schedules", auth, body);
    snprintf(body, sizeof body, "{\"name\":\"%s\",\"stack_id\":%ld,\"schedule_id\":%ld,"
             "\"enabled\":true%s}", name, stack, sched, extra ? extra : "");
    return create_on(s, "/jobs", auth, body);
}

/* GET /jobs/<job>/runs until its body contains `want` (60 s at most: a liveness bound). */
static void wait_runs(resp *r, const server *s, const char *auth, long job, const char *want)
{
    char path[64];
    time_t deadline = time(NULL) + 60;

    snprintf(path, sizeof path, "/jobs/%ld/runs", job);
    for (;;) {
        request(r, s, "GET", path, auth, NULL);
        if (r->status == 200 && strstr(r->body, want))
            return;
        if (time(NULL) > deadline)
            fail_msg("GET %s never had %s: %ld %s", path, want, r->status, r->body);
        resp_free(r);
        usleep(200000);
    }
}

static int group_setup(void **state)
{
    char cmd[128];

    (void)state;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    snprintf(srv.dir, sizeof srv.dir, "/tmp/jobs-runs-XXXXXX");
    if (!mkdtemp(srv.dir))
        return -1;
    write_script(srv.dir, cmd, sizeof cmd);
    if (add_user(srv.dir, "alice", NULL, "alice-pw") != 0 ||
        add_user(srv.dir, "bob", NULL, "bob-pw") != 0 ||
        start_server(&srv, (const char *[]){"--tick-interval", "1", "--run-command", cmd,
                                            "--run-timeout", "3", "--max-running", "2",
                                            NULL}) != 0) {
        stop_server(&srv);
        return -1;
    }
    strcpy(A, "B:");
    login_to(&srv, A + 2, sizeof A - 2, "alice", "alice-pw");
    strcpy(B, "B:");
    login_to(&srv, B + 2, sizeof B - 2, "bob", "bob-pw");
    stack_a = create_on(&srv, "/blockstacks", A, "{\"name\":\"alice stack\"}");
    return 0;
}

static server one, two;

static int group_teardown(void **state)
{
    (void)state;
    /* The servers of test_a_page_shows_settings_changed_on_another_server, if it failed midway
     * (they share a directory: the second removes it). */
    halt_server(&one);
    stop_server(&two);
    int rc = stop_server(&srv);
    curl_global_cleanup();
    return rc;
}

static void test_a_one_time_job_runs_once_and_keeps_its_output(void **state)
{
    (void)state;
    long job = job_now(&srv, A, stack_a, "ok once", NULL);
    char want[128], path[64];
    resp r;

    wait_runs(&r, &srv, A, job, "\"state\":\"succeeded\"");
    EXPECT(&r, 200, "\"count\":1,");
    EXPECT(&r, 200, "\"trigger\":\"schedule\"");
    EXPECT(&r, 200, "\"attempt\":1,");
    EXPECT(&r, 200, "\"message\":\"exit status 0\"");
    snprintf(want, sizeof want, "of ok once input=[] owner=1 stack=%ld\\n\"", stack_a);
    EXPECT(&r, 200, want);
    resp_free(&r);

    /* Bob sees none of it. */
    snprintf(path, sizeof path, "/jobs/%ld/runs", job);
    request(&r, &srv, "GET", path, B, NULL);
    EXPECT(&r, 404, "\"code\":6");
    resp_free(&r);
    snprintf(path, sizeof path, "/jobs/%ld/run", job);
    request(&r, &srv, "POST", path, B, NULL);
    EXPECT(&r, 404, "\"code\":6");
    resp_free(&r);

    /* Run it again by hand: a second run, trigger manual, the schedule done. */
    request(&r, &srv, "POST", path, A, NULL);
    EXPECT(&r, 202, "{\"run\":");
    long run = strtol(r.body + 7, NULL, 10);
    resp_free(&r);
    snprintf(want, sizeof want, "{\"id\":%ld,\"job\":%ld,", run, job);
    wait_runs(&r, &srv, A, job, "\"count\":2,");
    EXPECT(&r, 200, want); /* newest first */
    resp_free(&r);
    snprintf(want, sizeof want, "\"id\":%ld,\"job\":%ld,\"stack\":%ld,", run, job, stack_a);
    for (time_t deadline = time(NULL) + 60;;) {
        wait_runs(&r, &srv, A, job, want);
        char *at = strstr(r.body, want);
        if (strstr(at, "\"trigger\":\"manual\",\"state\":\"succeeded\""))
            break;
        resp_free(&r);
        if (time(NULL) > deadline)
            fail_msg("the manual run never succeeded");
        usleep(200000);
    }
    resp_free(&r);
}

static void test_the_child_reads_its_stacks_blocks(void **state)
{
    (void)state;
    long stack = create_on(&srv, "/blockstacks", A,
                           "{\"name\":\"with blocks\",\"blocks\":[{\"a\":1},[2]]}");
    long job = job_now(&srv, A, stack, "ok blocks", NULL);
    resp r;

    wait_runs(&r, &srv, A, job, "\"state\":\"succeeded\"");
    EXPECT(&r, 200, "input=[{\\\"a\\\":1},[2]] owner=1");
    resp_free(&r);
}

static void test_a_failing_script_fails_the_run_with_its_status(void **state)
{
    (void)state;
    long job = job_now(&srv, A, stack_a, "fail once", NULL);
    resp r;

    wait_runs(&r, &srv, A, job, "\"state\":\"failed\"");
    EXPECT(&r, 200, "\"message\":\"exit status 3\"");
    EXPECT(&r, 200, "\"output\":\"oops\\n\"");
    resp_free(&r);
}

static void test_a_run_past_its_timeout_is_killed_and_failed(void **state)
{
    (void)state;
    long job = job_now(&srv, A, stack_a, "slow once", NULL);
    resp r;

    wait_runs(&r, &srv, A, job, "\"state\":\"failed\"");
    EXPECT(&r, 200, "\"message\":\"timed out after 3 s: killed\"");
    resp_free(&r);
}

static void test_run_fields_and_routes_refuse_bad_input(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "\"delivery\":\"twice\"", "\"lease\":0", "\"lease\":604801", "\"max_attempts\":0",
        "\"max_attempts\":101", "\"misfire\":\"later\"", "\"misfire\":{\"policy\":\"skip\","
        "\"max\":3}", "\"misfire\":{\"policy\":\"catch-up\",\"max\":0}", "\"misfire\":7",
    };
    char body[256];
    resp r;

    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        snprintf(body, sizeof body, "{\"stack_id\":%ld,\"schedule_id\":1,%s}", stack_a, bad[i]);
        request(&r, &srv, "POST", "/jobs", A, body);
        if (r.status != 400 || !strstr(r.body, "\"code\":4"))
            fail_msg("%s: %ld %s", body, r.status, r.body);
        resp_free(&r);
    }
    snprintf(body, sizeof body, "{\"name\":\"policies\",\"stack_id\":%ld,\"schedule_id\":4,"
             "\"delivery\":\"at-least-once\",\"lease\":60,\"max_attempts\":5,"
             "\"misfire\":{\"policy\":\"catch-up\",\"max\":4}}", stack_a);
    long job = create_on(&srv, "/jobs", A, body);
    char path[64];
    snprintf(path, sizeof path, "/jobs/%ld", job);
    /* What was set is read back, after the fields a job always had. */
    snprintf(path, sizeof path, "/jobs/byid/%ld", job);
    request(&r, &srv, "GET", path, A, NULL);
    EXPECT(&r, 200, "\"do_del\":false,\"delivery\":\"at-least-once\",\"lease\":60,"
           "\"max_attempts\":5,\"misfire\":{\"policy\":\"catch-up\",\"max\":4}}");
    resp_free(&r);
    snprintf(path, sizeof path, "/jobs/%ld", job);
    request(&r, &srv, "PUT", path, A, "{\"misfire\":\"skip\",\"lease\":30}");
    EXPECT(&r, 200, "\"name\":\"policies\"");
    EXPECT(&r, 200, "\"delivery\":\"at-least-once\",\"lease\":30,\"max_attempts\":5,"
           "\"misfire\":{\"policy\":\"skip\",\"grace\":0}}");
    resp_free(&r);
    request(&r, &srv, "GET", "/jobs/byname/policies", A, NULL);
    EXPECT(&r, 200, "\"lease\":30,\"max_attempts\":5,\"misfire\":{\"policy\":\"skip\"");
    resp_free(&r);
    request(&r, &srv, "GET", "/api/v1/jobs?pagesize=100", A, NULL);
    EXPECT(&r, 200, "\"name\":\"policies\",");
    EXPECT(&r, 200, "\"lease\":30,\"max_attempts\":5,\"misfire\":{\"policy\":\"skip\"");
    EXPECT(&r, 200, "\"delivery\":\"at-most-once\",\"lease\":300,\"max_attempts\":3,"
           "\"misfire\":{\"policy\":\"coalesce\"}}");
    resp_free(&r);

    snprintf(path, sizeof path, "/jobs/%ld/runs?page=0", job);
    request(&r, &srv, "GET", path, A, NULL);
    EXPECT(&r, 400, "\"code\":1");
    resp_free(&r);
    snprintf(path, sizeof path, "/jobs/%ld/runs", job);
    request(&r, &srv, "GET", path, A, NULL);
    EXPECT(&r, 200, "{\"count\":0,\"pagesize\":10,\"page\":1,\"runs\":[]}");
    resp_free(&r);
    request(&r, &srv, "POST", path, A, NULL);
    EXPECT(&r, 405, "\"code\":102");
    resp_free(&r);
    request(&r, &srv, "GET", "/jobs/x/runs", A, NULL);
    EXPECT(&r, 400, "\"code\":1");
    resp_free(&r);
    request(&r, &srv, "GET", path, NULL, NULL);
    EXPECT(&r, 401, "\"code\":100");
    resp_free(&r);
    /* The owner's stack routes tell a caller without a session so before looking at the id
     * (it answered 400, fault 1, for these). */
    {
        static const char *const owners_only[] = {"/blockstacks/x/runs", "/blockstacks/exec/x",
                                                  "/blockstacks/hook/token_refresh/x"};
        for (size_t i = 0; i < sizeof owners_only / sizeof *owners_only; i++) {
            request(&r, &srv, "GET", owners_only[i], NULL, NULL);
            EXPECT(&r, 401, "\"code\":100");
            resp_free(&r);
        }
    }
    request(&r, &srv, "POST", "/jobs/999999/run", A, NULL);
    EXPECT(&r, 404, "\"code\":6");
    resp_free(&r);

    /* The runs are counted in the metrics. */
    request_plain(&r, &srv, "GET", "/metrics");
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "jobs_runs_delivered_total{trigger=\"manual\"}"));
    assert_non_null(strstr(r.body, "jobs_run_lag_seconds_count"));
    assert_non_null(strstr(r.body, "jobs_runs_in_progress"));
    assert_non_null(strstr(r.body, "jobs_runs_finished_total{state=\"failed\"}"));
    resp_free(&r);
}

/* The pid a crash run's first attempt wrote, once it is there (60 s at most). */
static pid_t wait_pid_file(const server *s, const char *auth, long job)
{
    char path[128];
    time_t deadline = time(NULL) + 60;
    long run = 0;
    resp r;

    /* The run's id, from its history. */
    wait_runs(&r, s, auth, job, "\"runs\":[{\"id\":");
    run = strtol(strstr(r.body, "\"runs\":[{\"id\":") + 14, NULL, 10);
    resp_free(&r);
    snprintf(path, sizeof path, "%s/pid.%ld", s->dir, run);
    for (;;) {
        FILE *f = fopen(path, "r");
        int pid = 0;

        if (f && fscanf(f, "%d", &pid) == 1 && pid > 0) {
            fclose(f);
            return (pid_t)pid;
        }
        if (f)
            fclose(f);
        if (time(NULL) > deadline)
            fail_msg("no %s", path);
        usleep(100000);
    }
}

static int lines_of(const char *path)
{
    FILE *f = fopen(path, "r");
    int n = 0, c;

    if (!f)
        return 0;
    while ((c = fgetc(f)) != EOF)
        n += c == '\n';
    fclose(f);
    return n;
}

/* The ETag header of an answer, quoted, into out. */
static void etag_of(char *out, size_t size, const resp *r)
{
    const char *p = strstr(r->headers, "ETag: ");
    size_t n;

    if (!p)
        fail_msg("no ETag in\n%s", r->headers);
    p += 6;
    n = strcspn(p, "\r\n");
    assert_true(n < size);
    memcpy(out, p, n);
    out[n] = '\0';
}

/* A page and a job show the run settings the job has now, also right after another server on
 * the same store changed them: jobs-server keeps the settings of the jobs a worker listed (by
 * the job's entity tag, which a change of its settings changes) rather than reading them for
 * every job of every page. `one` has a single worker, so every request there meets what the
 * request before it kept; the changes are made on `two`, so nothing on `one` learns of them but
 * the tag. Several rounds, each checked at once after its change. */
static void test_a_page_shows_settings_changed_on_another_server(void **state)
{
    (void)state;
    char tok[128], auth[160], body[256], item[64], byid[64], want[128], tag[64], tag2[64];
    long stack, job;
    resp r;

    memset(&one, 0, sizeof one);
    memset(&two, 0, sizeof two);
    snprintf(one.dir, sizeof one.dir, "/tmp/jobs-kept-XXXXXX");
    assert_non_null(mkdtemp(one.dir));
    snprintf(two.dir, sizeof two.dir, "%s", one.dir);
    assert_int_equal(add_user(one.dir, "carol", NULL, "carol-pw"), 0);
    assert_int_equal(start_server(&one, (const char *[]){"--threads", "1", NULL}), 0);
    assert_int_equal(start_server(&two, NULL), 0);
    /* Sessions are in the store: one login serves both servers. */
    login_to(&one, tok, sizeof tok, "carol", "carol-pw");
    snprintf(auth, sizeof auth, "B:%s", tok);
    stack = create_on(&one, "/blockstacks", auth, "{\"name\":\"kept\"}");
    snprintf(body, sizeof body, "{\"name\":\"kept job\",\"stack_id\":%ld,\"schedule_id\":4,"
             "\"delivery\":\"at-least-once\",\"lease\":60}", stack);
    job = create_on(&one, "/jobs", auth, body);
    snprintf(item, sizeof item, "/jobs/%ld", job);
    snprintf(byid, sizeof byid, "/jobs/byid/%ld", job);

    for (int lease = 61; lease <= 65; lease++) {
        /* Listed on one (twice: the second meets what the first kept), then changed on two. */
        for (int i = 0; i < 2; i++) {
            request(&r, &one, "GET", "/jobs?page=1", auth, NULL);
            snprintf(want, sizeof want, "\"lease\":%d,", lease - 1);
            EXPECT(&r, 200, want);
            resp_free(&r);
        }
        request(&r, &one, "GET", byid, auth, NULL);
        EXPECT(&r, 200, want);
        etag_of(tag, sizeof tag, &r);
        resp_free(&r);
        snprintf(body, sizeof body, "{\"lease\":%d}", lease);
        request(&r, &two, "PUT", item, auth, body);
        snprintf(want, sizeof want, "\"lease\":%d,", lease);
        EXPECT(&r, 200, want);
        /* A change of the run settings alone is a new entity tag (docs/http-api.md, ETag). */
        etag_of(tag2, sizeof tag2, &r);
        if (strcmp(tag, tag2) == 0)
            fail_msg("the ETag %s did not change with the lease", tag);
        resp_free(&r);
        request(&r, &one, "GET", "/jobs?page=1", auth, NULL);
        EXPECT(&r, 200, want);
        resp_free(&r);
        request(&r, &one, "GET", byid, auth, NULL);
        EXPECT(&r, 200, want);
        resp_free(&r);
    }
    /* And a change on one itself, the page read at once on one. */
    request(&r, &one, "PUT", item, auth, "{\"delivery\":\"at-most-once\"}");
    EXPECT(&r, 200, "\"delivery\":\"at-most-once\"");
    resp_free(&r);
    request(&r, &one, "GET", "/jobs?page=1", auth, NULL);
    EXPECT(&r, 200, "\"delivery\":\"at-most-once\",\"lease\":65,");
    resp_free(&r);
    assert_int_equal(halt_server(&one), 0);
    assert_int_equal(stop_server(&two), 0);
}

static void test_kill_9_redelivers_an_at_least_once_run_only(void **state)
{
    (void)state;
    server s;
    char cmd[128], tok[160], calls[128];
    const char *args[] = {"--tick-interval", "1", "--run-command", cmd, "--run-timeout", "60",
                          NULL};
    resp r;

    memset(&s, 0, sizeof s);
    snprintf(s.dir, sizeof s.dir, "/tmp/jobs-runs-crash-XXXXXX");
    assert_non_null(mkdtemp(s.dir));
    write_script(s.dir, cmd, sizeof cmd);
    assert_int_equal(add_user(s.dir, "alice", NULL, "alice-pw"), 0);
    assert_int_equal(start_server(&s, args), 0);
    strcpy(tok, "B:");
    login_to(&s, tok + 2, sizeof tok - 2, "alice", "alice-pw");
    long stack = create_on(&s, "/blockstacks", tok, "{\"name\":\"crash stack\"}");
    long alo = job_now(&s, tok, stack, "crash alo", ",\"delivery\":\"at-least-once\","
                       "\"lease\":3,\"max_attempts\":3");
    long amo = job_now(&s, tok, stack, "crash amo", NULL);

    /* Both children run (their first attempt sleeps): the server dies under them. */
    pid_t child_alo = wait_pid_file(&s, tok, alo);
    pid_t child_amo = wait_pid_file(&s, tok, amo);
    assert_int_equal(kill(s.pid, SIGKILL), 0);
    assert_int_equal(waitpid(s.pid, NULL, 0), s.pid);
    /* The orphans go too (each leads its own process group). */
    kill(-child_alo, SIGKILL);
    kill(-child_amo, SIGKILL);

    assert_int_equal(start_server(&s, args), 0);
    login_to(&s, tok + 2, sizeof tok - 2, "alice", "alice-pw");
    /* After the lease, the at-least-once run comes again, as attempt 2, and succeeds. */
    wait_runs(&r, &s, tok, alo, "\"state\":\"succeeded\"");
    EXPECT(&r, 200, "\"count\":1,");
    EXPECT(&r, 200, "\"attempt\":2,");
    EXPECT(&r, 200, "\"output\":\"attempt 2\\n\"");
    resp_free(&r);
    snprintf(calls, sizeof calls, "%s/calls.%ld", s.dir, alo);
    assert_int_equal(lines_of(calls), 2);

    /* The at-most-once run was delivered once and stays so: never run again. */
    char path[64];
    snprintf(path, sizeof path, "/jobs/%ld/runs", amo);
    request(&r, &s, "GET", path, tok, NULL);
    EXPECT(&r, 200, "\"count\":1,");
    EXPECT(&r, 200, "\"state\":\"delivered\",\"attempt\":1,");
    resp_free(&r);
    snprintf(calls, sizeof calls, "%s/calls.%ld", s.dir, amo);
    assert_int_equal(lines_of(calls), 1);
    assert_int_equal(stop_server(&s), 0);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s JOBS_SERVER\n", argv[0]);
        return 2;
    }
    server_bin = argv[1];
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_one_time_job_runs_once_and_keeps_its_output),
        cmocka_unit_test(test_the_child_reads_its_stacks_blocks),
        cmocka_unit_test(test_a_failing_script_fails_the_run_with_its_status),
        cmocka_unit_test(test_a_run_past_its_timeout_is_killed_and_failed),
        cmocka_unit_test(test_run_fields_and_routes_refuse_bad_input),
        cmocka_unit_test(test_a_page_shows_settings_changed_on_another_server),
        cmocka_unit_test(test_kill_9_redelivers_an_at_least_once_run_only),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
