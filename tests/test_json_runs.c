/* The JSON layer's part of runs: the run keys of a job body (delivery, lease, max_attempts,
 * misfire) decoded strictly, and runs, their pages and a job's policy encoded. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cJSON.h>
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

/* Job answers show the run settings that POST/PUT /jobs take, after the fields they always had,
 * which stay exactly as jobs_json_encode_job() writes them. */
static void test_a_job_is_encoded_with_its_run_settings(void **state)
{
    jobs_job jobs[2] = {{.id = 7, .owner = 3, .name = "nightly", .stack = 2, .schedule = 4,
                         .next_run = 1700000060, .do_run = true},
                        {.id = 8, .owner = 3, .name = NULL, .stack = 2, .schedule = 1}};
    jobs_job_policy ps[2] = {JOBS_JOB_POLICY_INIT, JOBS_JOB_POLICY_INIT};
    jobs_job_page page = {.count = 2, .page_size = 10, .page = 1, .n = 2, .jobs = jobs};
    char *json = NULL, *plain = NULL;

    (void)state;
    ps[0].delivery = JOBS_DELIVERY_AT_LEAST_ONCE;
    ps[0].lease = 60;
    ps[0].max_attempts = 5;
    ps[0].misfire = JOBS_MISFIRE_CATCH_UP;
    ps[0].misfire_value = 4;
    ps[1].lease = JOBS_LEASE_DEFAULT;
    ps[1].max_attempts = JOBS_MAX_ATTEMPTS_DEFAULT;

    assert_int_equal(jobs_json_encode_job_with_policy(&json, &jobs[0], &ps[0], 0), 0);
    assert_string_equal(json, "{\"id\":7,\"name\":\"nightly\",\"stack\":2,\"schedule\":4,"
                              "\"next_run\":1700000060,\"do_run\":true,\"do_del\":false,"
                              "\"delivery\":\"at-least-once\",\"lease\":60,\"max_attempts\":5,"
                              "\"misfire\":{\"policy\":\"catch-up\",\"max\":4}}");
    /* The old members are a prefix, byte for byte. */
    assert_int_equal(jobs_json_encode_job(&plain, &jobs[0], 0), 0);
    assert_memory_equal(json, plain, strlen(plain) - 1);
    jobs_json_free(json);
    jobs_json_free(plain);

    assert_int_equal(jobs_json_encode_job_with_policy(&json, &jobs[1], &ps[1], JOBS_JSON_OWNER), 0);
    assert_string_equal(json, "{\"id\":8,\"owner\":3,\"name\":null,\"stack\":2,\"schedule\":1,"
                              "\"next_run\":null,\"do_run\":false,\"do_del\":false,"
                              "\"delivery\":\"at-most-once\",\"lease\":300,\"max_attempts\":3,"
                              "\"misfire\":{\"policy\":\"coalesce\"}}");
    jobs_json_free(json);

    /* Without settings: exactly the plain encoders. */
    assert_int_equal(jobs_json_encode_job_with_policy(&json, &jobs[0], NULL, 0), 0);
    assert_int_equal(jobs_json_encode_job(&plain, &jobs[0], 0), 0);
    assert_string_equal(json, plain);
    jobs_json_free(json);
    jobs_json_free(plain);
    assert_int_equal(jobs_json_encode_job_page_with_policies(&json, &page, NULL), 0);
    assert_int_equal(jobs_json_encode_job_page(&plain, &page), 0);
    assert_string_equal(json, plain);
    jobs_json_free(json);
    jobs_json_free(plain);

    assert_int_equal(jobs_json_encode_job_page_with_policies(&json, &page, ps), 0);
    assert_string_equal(json, "{\"count\":2,\"pagesize\":10,\"page\":1,\"jobs\":["
                              "{\"id\":7,\"name\":\"nightly\",\"stack\":2,\"schedule\":4,"
                              "\"next_run\":1700000060,\"do_run\":true,\"do_del\":false,"
                              "\"delivery\":\"at-least-once\",\"lease\":60,\"max_attempts\":5,"
                              "\"misfire\":{\"policy\":\"catch-up\",\"max\":4}},"
                              "{\"id\":8,\"name\":null,\"stack\":2,\"schedule\":1,"
                              "\"next_run\":null,\"do_run\":false,\"do_del\":false,"
                              "\"delivery\":\"at-most-once\",\"lease\":300,\"max_attempts\":3,"
                              "\"misfire\":{\"policy\":\"coalesce\"}}]}");
    jobs_json_free(json);

    /* Bad input is refused and leaves *out NULL. */
    ps[1].misfire = (jobs_misfire)9;
    json = (char *)"x";
    assert_int_equal(jobs_json_encode_job_page_with_policies(&json, &page, ps), JOBS_EINVAL);
    assert_null(json);
    assert_int_equal(jobs_json_encode_job_with_policy(&json, &jobs[1], &ps[1], 0), JOBS_EINVAL);
    assert_null(json);
    assert_int_equal(jobs_json_encode_job_with_policy(&json, &jobs[0], &ps[0], 1u << 5),
                     JOBS_EINVAL);
    assert_int_equal(jobs_json_encode_job_with_policy(&json, NULL, &ps[0], 0), JOBS_EINVAL);
    assert_int_equal(jobs_json_encode_job_with_policy(NULL, &jobs[0], &ps[0], 0), JOBS_EINVAL);
}

/* A webhook's input: repeated names as arrays in order, decoded bytes escaped, the JSON body as
 * sent (or {}), refused when it is not JSON, not an object or gives a key twice; and the answer,
 * with JSON output as itself. */
static void test_a_hook_request_and_answer_are_encoded(void **state)
{
    static const jobs_json_pair get[] = {{"a", 1, "1", 1}, {"b", 1, "x", 1}, {"b", 1, "y z", 3},
                                         {"n", 1, "a\0b", 3}, {"b", 1, "", 0}};
    static const jobs_json_pair post[] = {{"x", 1, "\"q\"", 3}};
    static const jobs_json_pair headers[] = {{"Host", 4, "h", 1}};
    jobs_json_hook_request req = {get, 5, NULL, 0, " {\"a\":[1, {\"k\":2}]}\n", 20,
                                  headers, 1};
    char *json = NULL;

    (void)state;
    assert_int_equal(jobs_json_encode_hook_input(&json, &req), 0);
    assert_string_equal(json, "{\"GET\":{\"a\":\"1\",\"b\":[\"x\",\"y z\",\"\"],\"n\":\"a\\u0000b\"},"
                              "\"POST\":{},\"JSON\":{\"a\":[1, {\"k\":2}]},"
                              "\"HEADERS\":{\"Host\":\"h\"}}");
    jobs_json_free(json);
    req = (jobs_json_hook_request){NULL, 0, post, 1, NULL, 0, NULL, 0};
    assert_int_equal(jobs_json_encode_hook_input(&json, &req), 0);
    assert_string_equal(json, "{\"GET\":{},\"POST\":{\"x\":\"\\\"q\\\"\"},\"JSON\":{},\"HEADERS\":{}}");
    jobs_json_free(json);
    req.json = "{\"k\":";
    req.json_len = 5;
    assert_int_equal(jobs_json_encode_hook_input(&json, &req), JOBS_ESYNTAX);
    assert_null(json);
    req.json = "\"a\\u0000\"";
    req.json_len = strlen(req.json);
    assert_int_equal(jobs_json_encode_hook_input(&json, &req), JOBS_EBODY);
    /* Checked as every body is: one object, no key twice in any of its objects. */
    static const char *const not_one_object[] = {
        "null", "[1,2]", "\"text\"", "7", "{\"a\":1,\"a\":2}", "{\"x\":{\"b\":1,\"c\":2,\"b\":3}}",
        "{\"x\":[{\"b\":1},{\"c\":2,\"c\":2}]}", "{\"\\u0061\":1,\"a\":2}"};
    for (size_t i = 0; i < sizeof(not_one_object) / sizeof(*not_one_object); i++) {
        req.json = not_one_object[i];
        req.json_len = strlen(req.json);
        json = (char *)"x";
        assert_int_equal(jobs_json_encode_hook_input(&json, &req), JOBS_EBODY);
        assert_null(json);
    }
    req.json = "{\"a\":1,\"a\":2}";
    req.json_len = strlen(req.json);
    assert_int_equal(jobs_json_encode_hook_input(&json, &req), JOBS_EBODY);
    assert_string_equal(jobs_error_last(), "duplicate key 'a' in the body");
    /* A key again in another object is no repeat. */
    req.json = "{\"a\":{\"a\":1},\"b\":[{\"a\":2},{\"a\":3}]}";
    req.json_len = strlen(req.json);
    assert_int_equal(jobs_json_encode_hook_input(&json, &req), 0);
    jobs_json_free(json);
    req = (jobs_json_hook_request){NULL, 2, NULL, 0, NULL, 0, NULL, 0};
    assert_int_equal(jobs_json_encode_hook_input(&json, &req), JOBS_EINVAL);
    assert_int_equal(jobs_json_encode_hook_input(&json, NULL), JOBS_EINVAL);

    assert_int_equal(jobs_json_encode_hook_result(&json, 7, true, "{\"a\": [1]}\n", 11, NULL), 0);
    assert_string_equal(json, "{\"status\":0,\"result\":{\"a\": [1]},\"run\":7}");
    jobs_json_free(json);
    assert_int_equal(jobs_json_encode_hook_result(&json, 7, true, "hi\n", 3, NULL), 0);
    assert_string_equal(json, "{\"status\":0,\"result\":\"hi\\n\",\"run\":7}");
    jobs_json_free(json);
    assert_int_equal(jobs_json_encode_hook_result(&json, 7, true, NULL, 0, NULL), 0);
    assert_string_equal(json, "{\"status\":0,\"result\":\"\",\"run\":7}");
    jobs_json_free(json);
    assert_int_equal(jobs_json_encode_hook_result(&json, 0, false, "ignored", 7, "exit \"3\""), 0);
    assert_string_equal(json, "{\"status\":1,\"err\":\"exit \\\"3\\\"\"}");
    jobs_json_free(json);
    assert_int_equal(jobs_json_encode_hook_result(&json, 1, true, NULL, 3, NULL), JOBS_EINVAL);
    assert_null(json);

    /* The same end, as a run made by hand (GET /blockstacks/exec/<id>) answers it. */
    assert_int_equal(jobs_json_encode_exec_result(&json, 7, true, "{\"a\": [1]}\n", 11, NULL), 0);
    assert_string_equal(json, "{\"success\":{\"a\": [1]},\"run\":7}");
    jobs_json_free(json);
    assert_int_equal(jobs_json_encode_exec_result(&json, 7, true, "hi\n", 3, NULL), 0);
    assert_string_equal(json, "{\"success\":\"hi\\n\",\"run\":7}");
    jobs_json_free(json);
    assert_int_equal(jobs_json_encode_exec_result(&json, 0, false, NULL, 0, NULL), 0);
    assert_string_equal(json, "{\"error\":\"the run failed\"}");
    jobs_json_free(json);
    assert_int_equal(jobs_json_encode_exec_result(&json, 1, true, NULL, 3, NULL), JOBS_EINVAL);
    assert_null(json);
}

/* A webhook's output is its result as JSON whenever it is valid JSON: the request-body rules
 * (depth 8, numbers of 63 characters, no \u0000) are not the output's, so that a stack that
 * echoes an input holding an 8-deep body (9 deep as input) answers JSON as for a shallow one. */
static void test_hook_result_is_json_by_the_grammar_alone(void **state)
{
    static const char *const json[] = {
        "{\"GET\":{},\"POST\":{},\"JSON\":[[[[[[[[1]]]]]]]],\"HEADERS\":{}}",
        "[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]",
        "[\"a\\u0000b\"]",
        "[11111111111111111111111111111111111111111111111111111111111111111111111]",
    };
    char *out = NULL, want[256];

    (void)state;
    for (size_t i = 0; i < sizeof(json) / sizeof(json[0]); i++) {
        assert_int_equal(jobs_json_encode_hook_result(&out, 3, true, json[i], strlen(json[i]),
                                                      NULL), 0);
        snprintf(want, sizeof want, "{\"status\":0,\"result\":%s,\"run\":3}", json[i]);
        assert_string_equal(out, want);
        jobs_json_free(out);
    }
    /* Not JSON: a string. */
    assert_int_equal(jobs_json_encode_hook_result(&out, 3, true, "[1,]", 4, NULL), 0);
    assert_string_equal(out, "{\"status\":0,\"result\":\"[1,]\",\"run\":3}");
    jobs_json_free(out);
}

/* Names are grouped as they are written: bytes that are not UTF-8 are written as U+FFFD, so
 * names that differ only there are one member with their values in order, never the same key
 * written twice (which a reader resolves to one of them, and jobs_json_check_object refuses). */
static void test_hook_input_groups_names_as_written(void **state)
{
    static const jobs_json_pair get[] = {{"\xff", 1, "a", 1}, {"x", 1, "1", 1},
                                         {"\xfe", 1, "b", 1}, {"\xef\xbf\xbd", 3, "c", 1},
                                         {"k\xc3", 2, "d", 1}, {"k\xff", 2, "e", 1}};
    jobs_json_hook_request req = {get, 6, NULL, 0, NULL, 0, NULL, 0};
    char *json = NULL;

    (void)state;
    assert_int_equal(jobs_json_encode_hook_input(&json, &req), 0);
    assert_string_equal(json, "{\"GET\":{\"\xef\xbf\xbd\":[\"a\",\"b\",\"c\"],\"x\":\"1\","
                              "\"k\xef\xbf\xbd\":[\"d\",\"e\"]},\"POST\":{},\"JSON\":{},"
                              "\"HEADERS\":{}}");
    jobs_json_free(json);
}

/* A webhook's names are grouped in O(n log n), not by comparing each name with every other:
 * 2^18 names (a client picks them; the encoder has no count limit of its own) encode well
 * inside the liveness bound below, where pairwise grouping takes minutes. The first name is
 * given again last, so one group is an array of two. */
static void test_hook_input_groups_many_names_without_quadratic_cost(void **state)
{
    enum { N = 1 << 18 };
    jobs_json_pair *p = calloc(N, sizeof(*p));
    char *names = malloc((size_t)N * 8);
    jobs_json_hook_request req = {0};
    cJSON *root, *get, *it;
    char *json = NULL;

    (void)state;
    assert_non_null(p);
    assert_non_null(names);
    for (size_t i = 0; i < N - 1; i++) {
        snprintf(names + i * 8, 8, "%06zx", (size_t)N - 2 - i); /* descending: worst for some */
        p[i] = (jobs_json_pair){names + i * 8, 6, "a", 1};
    }
    p[N - 1] = (jobs_json_pair){p[0].name, 6, "z", 1};
    req.get = p;
    req.nget = N;
    alarm(120); /* liveness: well under a second is expected, even under ASan */
    assert_int_equal(jobs_json_encode_hook_input(&json, &req), 0);
    alarm(0);
    assert_non_null(root = cJSON_Parse(json));
    get = cJSON_GetObjectItemCaseSensitive(root, "GET");
    assert_int_equal(cJSON_GetArraySize(get), N - 1);
    it = get->child; /* the first name first, its two values in order */
    assert_string_equal(it->string, "03fffe");
    assert_int_equal(cJSON_GetArraySize(it), 2);
    assert_string_equal(cJSON_GetArrayItem(it, 0)->valuestring, "a");
    assert_string_equal(cJSON_GetArrayItem(it, 1)->valuestring, "z");
    assert_string_equal(it->next->string, "03fffd");
    assert_string_equal(it->next->valuestring, "a");
    cJSON_Delete(root);
    jobs_json_free(json);
    free(names);
    free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_run_keys_are_decoded_into_the_spec),
        cmocka_unit_test(test_bad_run_keys_are_refused),
        cmocka_unit_test(test_a_run_is_encoded_with_nulls_and_escaped_output),
        cmocka_unit_test(test_a_job_is_encoded_with_its_run_settings),
        cmocka_unit_test(test_a_hook_request_and_answer_are_encoded),
        cmocka_unit_test(test_hook_input_groups_many_names_without_quadratic_cost),
        cmocka_unit_test(test_hook_input_groups_names_as_written),
        cmocka_unit_test(test_hook_result_is_json_by_the_grammar_alone),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
