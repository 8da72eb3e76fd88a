/* `jobs-server user list` and `user del` end to end, against the real binary and a running
 * server on the same store: the list in id order, a deletion that ends the user's sessions and
 * never gives the id again, the refusal while the user owns jobs, stacks or schedules (nothing
 * changed), and --with-data (the jobs gone, the stacks closed, other users untouched). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "harness.h"

static server own;

static int make_own(void **state)
{
    (void)state;
    memset(&own, 0, sizeof own);
    snprintf(own.dir, sizeof own.dir, "/tmp/jobs-users-XXXXXX");
    return mkdtemp(own.dir) ? 0 : -1;
}

static int stop_own(void **state)
{
    (void)state;
    if (own.pid)
        stop_server(&own);
    if (own.dir[0])
        rm_tree(own.dir);
    memset(&own, 0, sizeof own);
    return 0;
}

/* The whole of file `name` in own.dir into out (empty when missing). */
static void read_text(char *out, size_t size, const char *name)
{
    char path[256];
    FILE *f;
    size_t n = 0;

    snprintf(path, sizeof path, "%s/%s", own.dir, name);
    if ((f = fopen(path, "r"))) {
        n = fread(out, 1, size - 1, f);
        fclose(f);
    }
    out[n] = '\0';
}

/* `jobs-server user ARGS --data DIR [--store URI]`, nothing on standard input; its standard
 * output into out and standard error into err. Its exit status. */
static int user_command(const char *args, char *out, size_t out_size, char *err, size_t err_size)
{
    char cmd[8192], store[4200];
    int status;

    assert_int_equal(store_option(own.dir, store, sizeof store), 0);
    snprintf(cmd, sizeof cmd, "'%s' user %s --data '%s' %s </dev/null >'%s/user.out' "
                              "2>'%s/user.err'",
             server_bin, args, own.dir, store, own.dir, own.dir);
    status = system(cmd);
    read_text(out, out_size, "user.out");
    read_text(err, err_size, "user.err");
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* `user list`'s output, asserting exit 0. */
static void list_users(char *out, size_t size)
{
    char err[1024];

    if (user_command("list", out, size, err, sizeof err) != 0)
        fail_msg("user list failed: %s", err);
}

/* The status of a request with bearer token `tok`; its body must contain `want` (may be
 * NULL: anything). */
static long status_with(const char *tok, const char *method, const char *path, const char *body,
                        const char *want)
{
    char a[140];
    long st;
    resp r;

    snprintf(a, sizeof a, "B:%s", tok);
    request_to(&r, &own, method, path, a, body, body ? strlen(body) : 0);
    st = r.status;
    if (want && !strstr(r.body, want))
        fail_msg("%s %s: expected %s in %ld %s", method, path, want, r.status, r.body);
    resp_free(&r);
    return st;
}

/* The status of a login of `name` with `pw`. */
static long login_status(const char *name, const char *pw)
{
    char body[256];
    long st;
    resp r;

    snprintf(body, sizeof body, "{\"username\":\"%s\",\"password\":\"%s\"}", name, pw);
    request_to(&r, &own, "POST", "/authenticate", NULL, body, strlen(body));
    st = r.status;
    resp_free(&r);
    return st;
}

/* The value of the line of GET /metrics that starts with `series` followed by a space. */
static long metric(const char *series)
{
    char want[160];
    const char *p;
    long v = -1;
    resp r;

    request_plain(&r, &own, "GET", "/metrics");
    assert_int_equal(r.status, 200);
    snprintf(want, sizeof want, "\n%s ", series);
    if (!(p = strstr(r.body, want)) || sscanf(p + strlen(want), "%ld", &v) != 1)
        fail_msg("no %s in /metrics:\n%s", series, r.body);
    resp_free(&r);
    return v;
}

/* ---- user list ----------------------------------------------------------------------------- */

/* One line per user in id order: id, name, email (empty for none), tab-separated; none on a
 * store without users. */
static void test_user_list_gives_every_user_in_id_order(void **state)
{
    char out[4096], err[1024];

    (void)state;
    assert_int_equal(user_command("list", out, sizeof out, err, sizeof err), 0);
    assert_string_equal(out, "");
    assert_int_equal(add_user(own.dir, "carol", "carol@example.org", "carol-pw"), 0);
    assert_int_equal(add_user(own.dir, "alice", NULL, "alice-pw"), 0);
    assert_int_equal(add_user(own.dir, "bob", "bob@example.org", "bob-pw"), 0);
    list_users(out, sizeof out);
    assert_string_equal(out, "1\tcarol\tcarol@example.org\n"
                             "2\talice\t\n"
                             "3\tbob\tbob@example.org\n");
    /* bad arguments: exit 2, said, as the other subcommands */
    assert_int_equal(user_command("list alice", out, sizeof out, err, sizeof err), 2);
    if (!strstr(err, "user list: unknown or extra argument 'alice'"))
        fail_msg("not said: %s", err);
    assert_int_equal(user_command("list --store", out, sizeof out, err, sizeof err), 2);
}

/* ---- user del ------------------------------------------------------------------------------ */

/* An unknown user, or no NAME: refused (1 and 2), said, and nothing changes. */
static void test_user_del_of_an_unknown_user_changes_nothing(void **state)
{
    char out[4096], err[1024], before[4096];

    (void)state;
    assert_int_equal(add_user(own.dir, "alice", "alice@example.org", "alice-pw"), 0);
    list_users(before, sizeof before);
    assert_int_equal(user_command("del nobody", out, sizeof out, err, sizeof err), 1);
    if (!strstr(err, "no user named 'nobody'"))
        fail_msg("not said: %s", err);
    assert_int_equal(user_command("del 'bad name'", out, sizeof out, err, sizeof err), 1);
    assert_int_equal(user_command("del nobody --with-data", out, sizeof out, err, sizeof err),
                     1);
    assert_int_equal(user_command("del", out, sizeof out, err, sizeof err), 2);
    if (!strstr(err, "user del: no NAME given"))
        fail_msg("not said: %s", err);
    assert_int_equal(user_command("del alice bob", out, sizeof out, err, sizeof err), 2);
    assert_int_equal(user_command("del alice --with", out, sizeof out, err, sizeof err), 2);
    list_users(out, sizeof out);
    assert_string_equal(out, before);
}

/* While the server runs: the deleted user's sessions answer 401 at their next request, their
 * login fails, other users' sessions live on; the name is free again, but the id (the highest
 * given) is never given again. */
static void test_user_del_ends_sessions_and_never_gives_the_id_again(void **state)
{
    char ta[128], tb1[128], tb2[128], out[4096], err[1024];

    (void)state;
    assert_int_equal(add_user(own.dir, "alice", NULL, "alice-pw"), 0);
    assert_int_equal(add_user(own.dir, "bob", "bob@example.org", "bob-pw"), 0);
    assert_int_equal(start_server(&own, NULL), 0);
    login_to(&own, ta, sizeof ta, "alice", "alice-pw");
    login_to(&own, tb1, sizeof tb1, "bob", "bob-pw");
    login_to(&own, tb2, sizeof tb2, "bob", "bob-pw");
    assert_int_equal(status_with(tb1, "GET", "/jobs", NULL, "\"count\":0"), 200);

    assert_int_equal(user_command("del bob", out, sizeof out, err, sizeof err), 0);
    if (!strstr(out, "deleted user bob (id 2) and ended 2 sessions"))
        fail_msg("not said: %s / %s", out, err);
    assert_int_equal(status_with(tb1, "GET", "/jobs", NULL, "\"code\":100"), 401);
    assert_int_equal(status_with(tb2, "POST", "/blockstacks", "{\"name\":\"late\"}",
                                 "\"code\":100"), 401);
    assert_int_equal(status_with(ta, "GET", "/jobs", NULL, "\"count\""), 200);
    assert_int_equal(login_status("bob", "bob-pw"), 401);
    list_users(out, sizeof out);
    assert_string_equal(out, "1\talice\t\n");

    /* the name and email are free again; the id is not */
    assert_int_equal(add_user(own.dir, "bob", "bob@example.org", "bob-pw2"), 0);
    list_users(out, sizeof out);
    assert_string_equal(out, "1\talice\t\n3\tbob\tbob@example.org\n");
    assert_int_equal(login_status("bob", "bob-pw2"), 200);
    assert_int_equal(status_with(tb1, "GET", "/jobs", NULL, "\"code\":100"), 401);
}

/* A user who owns a job, a stack and a schedule is not deleted without --with-data: exit 1,
 * what they own named, and nothing changes (the user, their session, their jobs). */
static void test_user_del_refuses_while_the_user_owns_data(void **state)
{
    char ta[128], out[4096], err[1024], body[128];
    long stack, sched;

    (void)state;
    assert_int_equal(add_user(own.dir, "alice", NULL, "alice-pw"), 0);
    assert_int_equal(start_server(&own, NULL), 0);
    login_to(&own, ta, sizeof ta, "alice", "alice-pw");
    {
        char a[140];
        snprintf(a, sizeof a, "B:%s", ta);
        stack = create_on(&own, "/blockstacks", a, "{\"name\":\"s\"}");
        sched = create_on(&own, "/schedules", a, "{\"config\":{\"period\":3600}}");
        snprintf(body, sizeof body, "{\"stack_id\":%ld,\"schedule_id\":%ld,\"enabled\":true}",
                 stack, sched);
        create_on(&own, "/jobs", a, body);
    }
    assert_int_equal(user_command("del alice", out, sizeof out, err, sizeof err), 1);
    if (!strstr(err, "alice (id 1) owns 1 job, 1 stack and 1 schedule: nothing was changed") ||
        !strstr(err, "--with-data"))
        fail_msg("not said: %s", err);
    list_users(out, sizeof out);
    assert_string_equal(out, "1\talice\t\n");
    assert_int_equal(status_with(ta, "GET", "/jobs", NULL, "\"count\":1"), 200);
    assert_int_equal(metric("jobs_jobs{state=\"active\"}"), 1);

    /* a stack alone is enough to refuse */
    assert_int_equal(add_user(own.dir, "bob", NULL, "bob-pw"), 0);
    {
        char tb[128], a[140];
        login_to(&own, tb, sizeof tb, "bob", "bob-pw");
        snprintf(a, sizeof a, "B:%s", tb);
        create_on(&own, "/blockstacks", a, "{\"name\":\"b\"}");
        assert_int_equal(user_command("del bob", out, sizeof out, err, sizeof err), 1);
        if (!strstr(err, "bob (id 2) owns 1 stack: nothing was changed"))
            fail_msg("not said: %s", err);
        assert_int_equal(status_with(tb, "GET", "/blockstacks", NULL, "\"name\":\"b\""), 200);
    }
}

/* --with-data: the user's jobs are gone at once (an active one too, never run; one already
 * queued for deletion stays queued), then their schedules (but the one the queued job uses),
 * their stacks private with the webhook off, their sessions ended; another user's job on their
 * public stack keeps it; the user is gone. */
static void test_user_del_with_data_deletes_the_jobs_first(void **state)
{
    char ta[128], tb[128], a[140], b[140], out[4096], err[1024], body[160], path[64];
    long pub, priv, sched, sched2, queued;

    (void)state;
    assert_int_equal(add_user(own.dir, "alice", "alice@example.org", "alice-pw"), 0);
    assert_int_equal(add_user(own.dir, "bob", NULL, "bob-pw"), 0);
    assert_int_equal(start_server(&own, NULL), 0);
    login_to(&own, ta, sizeof ta, "alice", "alice-pw");
    login_to(&own, tb, sizeof tb, "bob", "bob-pw");
    snprintf(a, sizeof a, "B:%s", ta);
    snprintf(b, sizeof b, "B:%s", tb);
    pub = create_on(&own, "/blockstacks", a,
                    "{\"name\":\"pub\",\"public\":true,\"webhook\":\"public\"}");
    priv = create_on(&own, "/blockstacks", a, "{\"name\":\"priv\"}");
    sched = create_on(&own, "/schedules", a, "{\"config\":{\"period\":3600}}");
    sched2 = create_on(&own, "/schedules", a,
                       "{\"name\":\"for-active\",\"config\":{\"period\":600}}");
    create_on(&own, "/schedules", a, "{\"name\":\"unused\",\"config\":{\"period\":900}}");
    snprintf(body, sizeof body, "{\"stack_id\":%ld,\"schedule_id\":%ld,\"enabled\":true}", priv,
             sched2);
    create_on(&own, "/jobs", a, body);
    snprintf(body, sizeof body, "{\"stack_id\":%ld,\"schedule_id\":%ld,\"enabled\":true}", priv,
             sched);
    queued = create_on(&own, "/jobs", a, body);
    snprintf(body, sizeof body, "{\"stack_id\":%ld,\"schedule_id\":%ld}", pub, sched);
    create_on(&own, "/jobs", a, body);
    snprintf(path, sizeof path, "/jobs/%ld", queued);
    assert_int_equal(status_with(ta, "DELETE", path, NULL, "\"queued_for_deletion\""), 200);
    /* bob's job runs alice's public stack, on a public schedule */
    snprintf(body, sizeof body, "{\"stack_id\":%ld,\"schedule_id\":1}", pub);
    create_on(&own, "/jobs", b, body);
    assert_int_equal(metric("jobs_store_jobs"), 4);
    assert_int_equal(metric("jobs_store_schedules"), 8);

    assert_int_equal(user_command("del alice --with-data", out, sizeof out, err, sizeof err),
                     0);
    if (!strstr(out, "deleted user alice (id 1) and ended 1 session") ||
        !strstr(out, "deleted 2 jobs and 2 schedules; 1 queued for deletion stay so until their "
                     "next run, and 1 schedule they use; 2 stacks stay in the store under id 1, "
                     "private, webhooks off"))
        fail_msg("not said: %s / %s", out, err);
    assert_int_equal(status_with(ta, "GET", "/jobs", NULL, "\"code\":100"), 401);
    assert_int_equal(login_status("alice", "alice-pw"), 401);
    list_users(out, sizeof out);
    assert_string_equal(out, "2\tbob\t\n");
    /* alice's jobs are gone, not queued; the queued one stays queued; bob's is untouched */
    assert_int_equal(metric("jobs_store_jobs"), 2);
    assert_int_equal(metric("jobs_jobs{state=\"active\"}"), 0);
    assert_int_equal(metric("jobs_jobs{state=\"queued_for_deletion\"}"), 1);
    assert_int_equal(status_with(tb, "GET", "/jobs", NULL, "\"count\":1"), 200);
    /* alice's schedules are gone, but the one her queued job still uses */
    assert_int_equal(metric("jobs_store_schedules"), 6);
    /* the public stack is private now, and its hook answers nobody */
    assert_int_equal(status_with(tb, "GET", "/blockstacks", NULL, NULL), 200);
    {
        resp r;
        request_to(&r, &own, "GET", "/blockstacks", b, NULL, 0);
        if (strstr(r.body, "\"pub\""))
            fail_msg("alice's stack is still visible: %s", r.body);
        resp_free(&r);
        snprintf(path, sizeof path, "/blockstacks/hook/%ld", pub);
        request_to(&r, &own, "GET", path, NULL, NULL, 0);
        EXPECT(&r, 404, "\"code\":132");
        resp_free(&r);
    }
    /* a new alice is a new owner: none of the old one's data */
    assert_int_equal(add_user(own.dir, "alice", "alice@example.org", "alice-pw"), 0);
    login_to(&own, ta, sizeof ta, "alice", "alice-pw");
    assert_int_equal(status_with(ta, "GET", "/jobs", NULL, "\"count\":0"), 200);
    list_users(out, sizeof out);
    assert_string_equal(out, "2\tbob\t\n3\talice\talice@example.org\n");
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_user_list_gives_every_user_in_id_order, make_own,
                                        stop_own),
        cmocka_unit_test_setup_teardown(test_user_del_of_an_unknown_user_changes_nothing,
                                        make_own, stop_own),
        cmocka_unit_test_setup_teardown(test_user_del_ends_sessions_and_never_gives_the_id_again,
                                        make_own, stop_own),
        cmocka_unit_test_setup_teardown(test_user_del_refuses_while_the_user_owns_data, make_own,
                                        stop_own),
        cmocka_unit_test_setup_teardown(test_user_del_with_data_deletes_the_jobs_first,
                                        make_own, stop_own),
    };

    if (argc < 2) {
        fprintf(stderr, "usage: %s PATH-TO-jobs-server\n", argv[0]);
        return 2;
    }
    server_bin = argv[1];
    curl_global_init(CURL_GLOBAL_DEFAULT);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
