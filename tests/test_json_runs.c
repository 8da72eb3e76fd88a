/* The JSON layer's part of runs: the run keys of a job body (delivery, lease, max_attempts,
 * misfire) decoded strictly, and runs, their pages and a job's policy encoded. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "jobs.h"

static int decode(jobs_json_job_body *b, const char *body)
{
    return jobs_json_decode_job_update(b, body, strlen(body));
}

static void test_run_keys_are_decoded_into_the_spec(void **state)
{
    jobs_json_job_body b;

    (void)state;
    assert_int_equal(decode(&b, "{\"delivery\":\"at-least-once\",\"lease\":60,\"max_attempts\":5,"
                                "\"misfire\":{\"policy\":\"catch-up\",\"max\":7}}"), 0);
    assert_int_equal(b.spec.fields, JOBS_JOB_DELIVERY | JOBS_JOB_LEASE | JOBS_JOB_MAX_ATTEMPTS |
                                        JOBS_JOB_MISFIRE);
    assert_int_equal(b.spec.delivery, JOBS_DELIVERY_AT_LEAST_ONCE);
    assert_int_equal(b.spec.lease, 60);
    assert_int_equal(b.spec.max_attempts, 5);
    assert_int_equal(b.spec.misfire, JOBS_MISFIRE_CATCH_UP);
    assert_int_equal(b.spec.misfire_value, 7);

    assert_int_equal(decode(&b, "{\"delivery\":\"at-most-once\",\"misfire\":\"skip\"}"), 0);
    assert_int_equal(b.spec.delivery, JOBS_DELIVERY_AT_MOST_ONCE);
    assert_int_equal(b.spec.misfire, JOBS_MISFIRE_SKIP);
    assert_int_equal(b.spec.misfire_value, 0);
    assert_int_equal(decode(&b, "{\"misfire\":\"catch-up\"}"), 0);
    assert_int_equal(b.spec.misfire_value, 10);
    assert_int_equal(decode(&b, "{\"misfire\":{\"policy\":\"skip\",\"grace\":604800}}"), 0);
    assert_int_equal(b.spec.misfire_value, 604800);
    assert_int_equal(decode(&b, "{\"misfire\":\"coalesce\"}"), 0);
    assert_int_equal(b.spec.misfire, JOBS_MISFIRE_COALESCE);
    assert_int_equal(b.spec.fields, JOBS_JOB_MISFIRE);
    assert_int_equal(decode(&b, "{}"), 0);
    assert_int_equal(b.spec.fields, 0);
}

static void test_bad_run_keys_are_refused(void **state)
{
    static const char *const bad[] = {
        "{\"delivery\":\"exactly-once\"}", "{\"delivery\":1}", "{\"lease\":0}",
        "{\"lease\":604801}", "{\"lease\":1.5}", "{\"lease\":\"60\"}", "{\"max_attempts\":0}",
        "{\"max_attempts\":101}", "{\"misfire\":\"never\"}", "{\"misfire\":null}",
        "{\"misfire\":{}}", "{\"misfire\":{\"policy\":\"skip\",\"max\":3}}",
        "{\"misfire\":{\"policy\":\"catch-up\",\"grace\":3}}",
        "{\"misfire\":{\"policy\":\"catch-up\",\"max\":101}}",
        "{\"misfire\":{\"policy\":\"skip\",\"grace\":-1}}",
        "{\"misfire\":{\"policy\":\"coalesce\",\"max\":1}}",
        "{\"misfire\":{\"policy\":\"skip\",\"extra\":1}}", "{\"lease\":5,\"lease\":6}",
    };
    jobs_json_job_body b;

    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        int rc = decode(&b, bad[i]);
        if (rc != JOBS_EBODY)
            fail_msg("%s: %d (%s)", bad[i], rc, jobs_error_last());
    }
}

static void test_a_run_is_encoded_with_nulls_and_escaped_output(void **state)
{
    jobs_run run;
    jobs_run *list[1] = {&run};
    jobs_run_page page = {1, 10, 1, 1, list};
    char *json = NULL;

    (void)state;
    memset(&run, 0, sizeof run);
    run.id = 9;
    run.stack = 2;
    run.slot = 100;
    run.trigger = JOBS_TRIGGER_HOOK;
    run.state = JOBS_RUN_FAILED;
    run.attempt = 1;
    run.created = 100;
    run.started = 101;
    run.finished = 102;
    run.message = "exit status 3";
    run.output = "a\0b\xff\n";
    run.output_len = 5;
    assert_int_equal(jobs_json_encode_run(&json, &run), 0);
    assert_string_equal(json, "{\"id\":9,\"job\":null,\"stack\":2,\"slot\":100,\"trigger\":\"hook\","
                              "\"state\":\"failed\",\"attempt\":1,\"created\":100,\"started\":101,"
                              "\"finished\":102,\"lease_until\":null,\"missed\":0,"
                              "\"missed_since\":null,\"message\":\"exit status 3\","
                              "\"output\":\"a\\u0000b\xef\xbf\xbd\\n\"}");
    jobs_json_free(json);
    assert_int_equal(jobs_json_encode_run_page(&json, &page), 0);
    assert_non_null(strstr(json, "{\"count\":1,\"pagesize\":10,\"page\":1,\"runs\":[{\"id\":9,"));
    jobs_json_free(json);
    assert_int_equal(jobs_json_encode_run_id(&json, 12), 0);
    assert_string_equal(json, "{\"run\":12}");
    jobs_json_free(json);

    jobs_job_policy p = JOBS_JOB_POLICY_INIT;
    p.delivery = JOBS_DELIVERY_AT_LEAST_ONCE;
    p.lease = 60;
    p.max_attempts = 3;
    p.misfire = JOBS_MISFIRE_SKIP;
    p.misfire_value = 30;
    assert_int_equal(jobs_json_encode_job_policy(&json, &p), 0);
    assert_string_equal(json, "{\"delivery\":\"at-least-once\",\"lease\":60,\"max_attempts\":3,"
                              "\"misfire\":{\"policy\":\"skip\",\"grace\":30}}");
    jobs_json_free(json);
    assert_int_equal(jobs_json_encode_run(NULL, &run), JOBS_EINVAL);
    assert_int_equal(jobs_json_encode_run(&json, NULL), JOBS_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_run_keys_are_decoded_into_the_spec),
        cmocka_unit_test(test_bad_run_keys_are_refused),
        cmocka_unit_test(test_a_run_is_encoded_with_nulls_and_escaped_output),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
