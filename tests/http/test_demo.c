/* The demo password cannot be lost (issue 12): JOBS_DEMO_PASSWORD on a later start is not
 * ignored silently, JOBS_DEMO_RESET=1 sets it, `jobs-server user passwd` changes a password
 * (also while the server runs), and a start that cannot listen creates nothing and prints no
 * password. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "harness.h"

static server srv;

static int teardown(void **state)
{
    (void)state;
    stop_server(&srv);
    memset(&srv, 0, sizeof srv);
    unsetenv("JOBS_DEMO_PASSWORD");
    unsetenv("JOBS_DEMO_RESET");
    return 0;
}

/* The status of a login of demo with `pw`. */
static long login_status(const char *pw)
{
    char body[128];
    long st;
    resp r;

    snprintf(body, sizeof body, "{\"username\":\"demo\",\"password\":\"%s\"}", pw);
    request_to(&r, &srv, "POST", "/authenticate", NULL, body, strlen(body));
    st = r.status;
    resp_free(&r);
    return st;
}

static void expect_stdout(const char *want)
{
    char out[8192] = "";

    server_stdout(&srv, out, sizeof out);
    if (!strstr(out, want))
        fail_msg("stdout lacks '%s':\n%s", want, out);
}

/* `jobs-server user passwd NAME --data DIR` with `pw` on stdin; its exit status. */
static int passwd(const char *name, const char *pw)
{
    char cmd[512];
    FILE *p;

    snprintf(cmd, sizeof cmd, "'%s' user passwd %s --data %s >/dev/null 2>&1", server_bin, name,
             srv.dir);
    assert_non_null(p = popen(cmd, "w"));
    fprintf(p, "%s\n", pw);
    return WEXITSTATUS(pclose(p));
}

static void test_demo_password_is_never_lost(void **state)
{
    (void)state;
    setenv("JOBS_DEMO_PASSWORD", "first", 1);
    assert_int_equal(start_server(&srv, NULL), 0);
    expect_stdout("created user demo (password from JOBS_DEMO_PASSWORD)");
    assert_int_equal(login_status("first"), 200);
    assert_int_equal(halt_server(&srv), 0);

    /* A later start with another password: said, not silently ignored, and nothing changes. */
    setenv("JOBS_DEMO_PASSWORD", "second", 1);
    assert_int_equal(start_server(&srv, NULL), 0);
    expect_stdout("users exist: JOBS_DEMO_PASSWORD is not used");
    assert_int_equal(login_status("second"), 401);
    assert_int_equal(login_status("first"), 200);
    assert_int_equal(halt_server(&srv), 0);

    /* Asked to: JOBS_DEMO_RESET=1 sets it. */
    setenv("JOBS_DEMO_RESET", "1", 1);
    assert_int_equal(start_server(&srv, NULL), 0);
    expect_stdout("set the password of user demo from JOBS_DEMO_PASSWORD");
    assert_int_equal(login_status("second"), 200);
    assert_int_equal(login_status("first"), 401);

    /* `user passwd`, while the server runs: the new password works at once. */
    assert_int_equal(passwd("demo", "third"), 0);
    assert_int_equal(login_status("third"), 200);
    assert_int_equal(login_status("second"), 401);
    /* An unknown user, or no password: refused, nothing changes. */
    assert_int_equal(passwd("nobody", "x"), 1);
    assert_int_equal(passwd("demo", ""), 1);
    assert_int_equal(login_status("third"), 200);
    /* A data directory others may write to: refused like `user add` and the server's start. */
    assert_int_equal(chmod(srv.dir, 0770), 0);
    assert_int_equal(passwd("demo", "fourth"), 1);
    assert_int_equal(chmod(srv.dir, 0700), 0);
    assert_int_equal(login_status("third"), 200);
}

static void test_failed_start_creates_nothing(void **state)
{
    struct sockaddr_in a;
    socklen_t alen = sizeof a;
    char listen_arg[64], dir[96], cmd[512], out[4096];
    struct stat st;
    FILE *p;
    size_t n;
    int fd, one = 1, status;

    (void)state;
    /* Hold a port, then start jobs-server on it with a data directory that does not exist. */
    assert_true((fd = socket(AF_INET, SOCK_STREAM, 0)) >= 0);
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(fd, 1), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
    snprintf(listen_arg, sizeof listen_arg, "127.0.0.1:%d", ntohs(a.sin_port));
    snprintf(srv.dir, sizeof srv.dir, "/tmp/jobs-demo-XXXXXX");
    assert_non_null(mkdtemp(srv.dir));
    snprintf(dir, sizeof dir, "%s/data", srv.dir);
    snprintf(cmd, sizeof cmd, "'%s' --listen %s --data %s 2>&1", server_bin, listen_arg, dir);
    assert_non_null(p = popen(cmd, "r"));
    n = fread(out, 1, sizeof out - 1, p);
    out[n] = '\0';
    status = pclose(p);
    close(fd);
    assert_int_equal(WEXITSTATUS(status), 1);
    assert_non_null(strstr(out, "the address is in use"));
    assert_null(strstr(out, "password"));
    assert_int_not_equal(stat(dir, &st), 0); /* no data directory, store or user */
    rm_tree(srv.dir);
    srv.dir[0] = '\0';
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_demo_password_is_never_lost, teardown),
        cmocka_unit_test_teardown(test_failed_start_creates_nothing, teardown),
    };

    if (argc < 2) {
        fprintf(stderr, "usage: %s JOBS_SERVER\n", argv[0]);
        return 2;
    }
    server_bin = argv[1];
    curl_global_init(CURL_GLOBAL_DEFAULT);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
