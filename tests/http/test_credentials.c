/* The login body's decoder of jobs-server (examples/server/credentials.c), in-process: the same
 * strictness as every body the library decodes (it moved here from the library's JSON layer,
 * which knows no passwords). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <jobs.h>

#include "credentials.h"

static char msg[SRV_CREDENTIALS_MSG_MAX];

/* Decodes `len` bytes of `body` from an exact-size heap copy; on failure, checks that `out` was
 * not touched. */
static int decode_n(srv_credentials *out, const char *body, size_t len)
{
    char *copy = malloc(len ? len : 1);
    srv_credentials before;
    int rc;

    assert_non_null(copy);
    memcpy(copy, body, len);
    memset(out, 0xab, sizeof *out);
    memcpy(&before, out, sizeof before);
    msg[0] = '\0';
    rc = srv_decode_credentials(out, copy, len, msg, sizeof msg);
    free(copy);
    if (rc != 0)
        assert_memory_equal(out, &before, sizeof before);
    return rc;
}

static int decode(srv_credentials *out, const char *body)
{
    return decode_n(out, body, strlen(body));
}

static void check_fail(int rc, int code, int fault, const char *detail)
{
    if (rc != code)
        fail_msg("got %s (%s), want %s", jobs_err_name(rc), msg, jobs_err_name(code));
    assert_int_equal(jobs_fault_code(rc), fault);
    if (detail && !strstr(msg, detail))
        fail_msg("detail '%s' does not contain '%s'", msg, detail);
}

static void check_ok(int rc)
{
    if (rc != 0)
        fail_msg("got %s: %s", jobs_err_name(rc), msg);
}

static void test_credentials_decode(void **state)
{
    srv_credentials *c = malloc(sizeof *c);

    (void)state;
    assert_non_null(c);
    check_ok(decode(c, "{\"username\":\"alice\",\"password\":\"s3cret\"}"));
    assert_string_equal(c->username, "alice");
    assert_ptr_equal(c->username, c->user);
    assert_null(c->email);
    assert_string_equal(c->password, "s3cret");
    check_ok(decode(c, "{\"email\":\"a@example.org\",\"username\":\"al\\u00e9\",\"password\":\"p\"}"));
    assert_string_equal(c->username, "al\xc3\xa9");
    assert_string_equal(c->email, "a@example.org");
    assert_ptr_equal(c->email, c->mail);
    check_ok(decode(c, "{\"email\":\"a@example.org\",\"password\":\"p\"}"));
    assert_null(c->username);
    assert_string_equal(c->email, "a@example.org");
    free(c);
}

static void test_credentials_lengths(void **state)
{
    static const char head[] = "{\"username\":\"a\",\"password\":\"";
    const size_t h = sizeof head - 1;
    srv_credentials *c = malloc(sizeof *c);
    char big[1200], name[300];

    (void)state;
    assert_non_null(c);
    /* A password of 1024 bytes is the most there is. */
    memset(big, 'x', sizeof big);
    memcpy(big, head, h);
    memcpy(big + h + 1024, "\"}", 3);
    check_ok(decode(c, big));
    assert_int_equal(strlen(c->password), 1024);
    big[h + 1024] = 'x';
    memcpy(big + h + 1025, "\"}", 3);
    check_fail(decode(c, big), JOBS_EBODY, 4, "'password' must be 1..1024 bytes");
    /* A name of 255 bytes is the most there is. */
    snprintf(name, sizeof name, "{\"email\":\"%0255d\",\"password\":\"p\"}", 0);
    check_ok(decode(c, name));
    assert_int_equal(strlen(c->email), 255);
    snprintf(name, sizeof name, "{\"email\":\"%0256d\",\"password\":\"p\"}", 0);
    check_fail(decode(c, name), JOBS_EBODY, 4, "'email' must be 1..255 bytes");
    free(c);
}

static void test_credentials_refusals(void **state)
{
    srv_credentials *c = malloc(sizeof *c);

    (void)state;
    assert_non_null(c);
    check_fail(decode(c, "{\"username\":\"a\"}"), JOBS_EBODY, 4,
               "missing required key 'password'");
    check_fail(decode(c, "{\"password\":\"p\"}"), JOBS_EBODY, 4,
               "missing key 'username' or 'email'");
    check_fail(decode(c, "{\"username\":\"a\",\"password\":\"p\",\"x\":1}"), JOBS_EBODY, 4,
               "unknown key 'x'");
    check_fail(decode(c, "{\"username\":\"a\",\"username\":\"b\",\"password\":\"p\"}"), JOBS_EBODY,
               4, "duplicate key 'username'");
    check_fail(decode(c, "{\"username\":\"a\",\"password\":\"p\",\"password\":\"q\"}"), JOBS_EBODY,
               4, "duplicate key 'password'");
    check_fail(decode(c, "{\"username\":1,\"password\":\"p\"}"), JOBS_EBODY, 4,
               "'username' must be a string (got a number)");
    check_fail(decode(c, "{\"username\":\"\",\"password\":\"p\"}"), JOBS_EBODY, 4,
               "'username' must be 1..255 bytes");
    check_fail(decode(c, "{\"username\":\"a\",\"password\":null}"), JOBS_EBODY, 4,
               "'password' must be a string (got null)");
    /* The missing key is named before a wrong type, as before the move. */
    check_fail(decode(c, "{\"username\":1}"), JOBS_EBODY, 4, "missing required key 'password'");
    check_fail(decode(c, "[\"a\",\"p\"]"), JOBS_EBODY, 4, "must be a JSON object");
    check_fail(decode(c, ""), JOBS_ESYNTAX, 2, "empty");
    check_fail(decode(c, "{\"username\":\"a\",\"password\":\"p"), JOBS_ESYNTAX, 2, NULL);
    /* A \u0000 would cut the password short: "ab\u0000anything" must not log in as "ab". */
    check_fail(decode(c, "{\"username\":\"a\",\"password\":\"ab\\u0000zz\"}"), JOBS_EBODY, 4,
               "\\u0000");
    check_fail(decode(c, "{\"username\":\"a\",\"password\":\"\xff\"}"), JOBS_ESYNTAX, 2,
               "invalid UTF-8");
    /* The detail never quotes the password. */
    check_fail(decode(c, "{\"username\":\"a\",\"password\":\"hunter2\",\"k\":[]}"), JOBS_EBODY, 4,
               NULL);
    assert_null(strstr(msg, "hunter2"));
    check_fail(decode(c, "{\"username\":\"a\",\"password\":7}"), JOBS_EBODY, 4,
               "'password' must be a string (got a number)");
    check_fail(srv_decode_credentials(NULL, "{}", 2, msg, sizeof msg), JOBS_EINVAL, 4, NULL);
    free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_credentials_decode),
        cmocka_unit_test(test_credentials_lengths),
        cmocka_unit_test(test_credentials_refusals),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
