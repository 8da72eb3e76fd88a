/* JSON: exact response bodies, and every rule of request-body decoding with its error code,
 * its fault number and its detail. Bodies are decoded from exact-size heap copies (no NUL
 * after them), so that ASan catches any read past `len`. */
#include "fixture.h"

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

/* ---- helpers ------------------------------------------------------------------------------ */

/* Asserts an encoder's result and frees it. Takes the pointer's address: the call that fills it
 * is an argument too, and argument order is unspecified. */
static void check_json(int rc, char **json, const char *expected)
{
    assert_int_equal(rc, 0);
    assert_non_null(*json);
    assert_string_equal(*json, expected);
    jobs_json_free(*json);
    *json = NULL;
}

/* Asserts a decoder's failure: code, fault, and a piece of the detail. */
static void check_fail(int rc, int code, int fault, const char *detail)
{
    if (rc != code)
        fail_msg("got %s (%s), want %s", jobs_err_name(rc), jobs_error_last(),
                 jobs_err_name(code));
    assert_int_equal(jobs_fault_code(rc), fault);
    if (detail && !strstr(jobs_error_last(), detail))
        fail_msg("detail '%s' does not contain '%s'", jobs_error_last(), detail);
}

static void check_ok(int rc)
{
    if (rc != 0)
        fail_msg("got %s: %s", jobs_err_name(rc), jobs_error_last());
}

typedef enum kind {
    JOB_CREATE,
    JOB_UPDATE,
    SCHEDULE_CREATE,
    SCHEDULE_UPDATE,
    STACK_CREATE
} kind;

/* Every decoder's output at once; all but one untouched by a call. */
typedef struct decoded {
    jobs_json_job_body job;
    jobs_json_schedule_body schedule;
    jobs_json_stack_body stack;
} decoded;

/* Decodes `len` bytes of `body` with the decoder of `k`, from an exact-size heap copy. On
 * failure, checks that the output was not touched. */
static int decode_n(decoded *d, kind k, const char *body, size_t len)
{
    char *copy = malloc(len ? len : 1);
    decoded before;
    int rc;

    assert_non_null(copy);
    memcpy(copy, body, len);
    memset(d, 0xab, sizeof(*d));
    memcpy(&before, d, sizeof(before));
    switch (k) {
    case JOB_CREATE:
        rc = jobs_json_decode_job_create(&d->job, copy, len);
        break;
    case JOB_UPDATE:
        rc = jobs_json_decode_job_update(&d->job, copy, len);
        break;
    case SCHEDULE_CREATE:
        rc = jobs_json_decode_schedule_create(&d->schedule, copy, len);
        break;
    case SCHEDULE_UPDATE:
        rc = jobs_json_decode_schedule_update(&d->schedule, copy, len);
        break;
    default:
        rc = jobs_json_decode_stack_create(&d->stack, copy, len);
        break;
    }
    free(copy);
    if (rc != 0)
        assert_memory_equal(d, &before, sizeof(before));
    return rc;
}

static int decode(decoded *d, kind k, const char *body)
{
    return decode_n(d, k, body, strlen(body));
}

/* A job create body with `stack_id` set to the text `num`. */
static int job_with_stack_id(decoded *d, const char *num)
{
    char body[256];

    snprintf(body, sizeof(body), "{\"schedule_id\":1,\"stack_id\":%s}", num);
    return decode(d, JOB_CREATE, body);
}

/* ---- encoders ----------------------------------------------------------------------------- */

static void test_job_prints_ids_up_to_2_53_exactly(void **state)
{
    jobs_job job = {JOBS_ID_MAX, 7, "nightly", JOBS_ID_MAX - 1, 1000000000000001ULL,
                    1700000060, true, false, 0};
    char *json = NULL;

    (void)state;
    check_json(jobs_json_encode_job(&json, &job, 0), &json,
               "{\"id\":9007199254740991,\"name\":\"nightly\",\"stack\":9007199254740990,"
               "\"schedule\":1000000000000001,\"next_run\":1700000060,\"do_run\":true,"
               "\"do_del\":false}");
}

static void test_inactive_job_has_null_next_run_and_null_name(void **state)
{
    jobs_job job = {3, 7, NULL, 1, 2, 1700000060, false, false, 0};
    char *json = NULL;

    (void)state;
    check_json(jobs_json_encode_job(&json, &job, 0), &json,
               "{\"id\":3,\"name\":null,\"stack\":1,\"schedule\":2,\"next_run\":null,"
               "\"do_run\":false,\"do_del\":false}");
}

static void test_job_with_owner_flag_adds_owner(void **state)
{
    jobs_job job = {3, 9007199254740991ULL, "a", 1, 2, -1, true, true, 0};
    char *json = NULL;

    (void)state;
    check_json(jobs_json_encode_job(&json, &job, JOBS_JSON_OWNER), &json,
               "{\"id\":3,\"owner\":9007199254740991,\"name\":\"a\",\"stack\":1,\"schedule\":2,"
               "\"next_run\":-1,\"do_run\":true,\"do_del\":true}");
    assert_int_equal(jobs_json_encode_job(&json, &job, 2), JOBS_EINVAL);
    assert_null(json);
}

static void test_names_are_escaped(void **state)
{
    jobs_job job = {1, 1, "q\"b\\s/\n\t\r\b\f\x01\x1f\x7f \xc3\xa9\xf0\x9f\x98\x80", 1, 1, 0,
                    false, false, 0};
    char *json = NULL;
    cJSON *parsed;

    (void)state;
    assert_int_equal(jobs_json_encode_job(&json, &job, 0), 0);
    assert_non_null(strstr(json, "\"name\":\"q\\\"b\\\\s/\\n\\t\\r\\b\\f\\u0001\\u001f\\u007f "
                                 "\xc3\xa9\xf0\x9f\x98\x80\","));
    /* Any JSON parser reads the name back byte for byte. */
    parsed = cJSON_Parse(json);
    assert_non_null(parsed);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(parsed, "name")->valuestring, job.name);
    cJSON_Delete(parsed);
    jobs_json_free(json);
}

static void test_invalid_utf8_is_written_as_replacement_character(void **state)
{
    char *json = NULL;

    (void)state;
    check_json(jobs_json_encode_fault(&json, 103, "a\xff" "b\xc3"), &json,
               "{\"code\":103,\"msg\":\"a\xef\xbf\xbd" "b\xef\xbf\xbd\"}");
}

static void test_escaped_name_decodes_back_to_itself(void **state)
{
    static const char *const names[] = {"q\"b\\s/", "\xc3\xa9\xe5\x90\x8d\xf0\x9f\x98\x80",
                                        "a\\u0000", "~!@#$%^&*()_+{}|:<>?`-=[];',."};
    (void)state;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        jobs_job job = {1, 1, names[i], 1, 1, 0, false, false, 0};
        char *json = NULL, body[1024];
        const char *start, *end;
        decoded d;

        assert_int_equal(jobs_json_encode_job(&json, &job, 0), 0);
        start = strstr(json, "\"name\":") + 7;
        end = strstr(start, ",\"stack\"");
        snprintf(body, sizeof(body), "{\"schedule_id\":1,\"stack_id\":1,\"name\":%.*s}",
                 (int)(end - start), start);
        jobs_json_free(json);
        check_ok(decode(&d, JOB_CREATE, body));
        assert_string_equal(d.job.spec.name, names[i]);
    }
}

static void test_job_page_shape(void **state)
{
    jobs_job jobs[2] = {{11, 7, "x", 1, 2, 100, true, false, 0},
                        {12, 7, NULL, 1, 2, 0, false, false, 0}};
    jobs_job_page page = {12, 10, 2, 2, jobs, NULL};
    jobs_job_page empty = {12, 10, 3, 0, NULL, NULL};
    char *json = NULL;

    (void)state;
    check_json(jobs_json_encode_job_page(&json, &page), &json,
               "{\"count\":12,\"pagesize\":10,\"page\":2,\"jobs\":["
               "{\"id\":11,\"name\":\"x\",\"stack\":1,\"schedule\":2,\"next_run\":100,"
               "\"do_run\":true,\"do_del\":false},"
               "{\"id\":12,\"name\":null,\"stack\":1,\"schedule\":2,\"next_run\":null,"
               "\"do_run\":false,\"do_del\":false}]}");
    check_json(jobs_json_encode_job_page(&json, &empty), &json,
               "{\"count\":12,\"pagesize\":10,\"page\":3,\"jobs\":[]}");
    empty.n = 1;
    assert_int_equal(jobs_json_encode_job_page(&json, &empty), JOBS_EINVAL);
    assert_null(json);
}

static void test_schedule_shapes(void **state)
{
    jobs_schedule s[2] = {{1, 0, "every minute", false, 60, 0, JOBS_SCHEDULE_PERIODIC, NULL, NULL},
                          {9007199254740991ULL, 4, NULL, true, 0, 9007199254740991LL,
                           JOBS_SCHEDULE_ONE_TIME, NULL, NULL}};
    jobs_schedule_page page = {2, 10, 1, 2, s};
    char *json = NULL;

    (void)state;
    check_json(jobs_json_encode_schedule(&json, &s[0]), &json,
               "{\"id\":1,\"owner\":0,\"name\":\"every minute\",\"once\":false,"
               "\"config\":{\"period\":60}}");
    check_json(jobs_json_encode_schedule(&json, &s[1]), &json,
               "{\"id\":9007199254740991,\"owner\":4,\"name\":null,\"once\":true,"
               "\"config\":{\"timestamp\":9007199254740991}}");
    check_json(jobs_json_encode_schedule_page(&json, &page), &json,
               "{\"count\":2,\"pagesize\":10,\"page\":1,\"schedules\":["
               "{\"id\":1,\"owner\":0,\"name\":\"every minute\",\"once\":false,"
               "\"config\":{\"period\":60}},"
               "{\"id\":9007199254740991,\"owner\":4,\"name\":null,\"once\":true,"
               "\"config\":{\"timestamp\":9007199254740991}}]}");
}

static void test_stack_shapes(void **state)
{
    jobs_stack s[2] = {{5, 7, "build", true}, {6, 8, "deploy \"prod\"", false}};
    jobs_stack_page page = {1234567890123456789ULL, 10, 1, 2, s};
    char *json = NULL;

    (void)state;
    check_json(jobs_json_encode_stack(&json, &s[0]), &json,
               "{\"id\":5,\"owner\":7,\"name\":\"build\",\"public\":true}");
    check_json(jobs_json_encode_stack_page(&json, &page), &json,
               "{\"count\":1234567890123456789,\"pagesize\":10,\"page\":1,\"stacks\":["
               "{\"id\":5,\"owner\":7,\"name\":\"build\",\"public\":true},"
               "{\"id\":6,\"owner\":8,\"name\":\"deploy \\\"prod\\\"\",\"public\":false}]}");
}

static void test_create_and_delete_answers(void **state)
{
    char *json = NULL;

    (void)state;
    check_json(jobs_json_encode_id(&json, 9007199254740991ULL), &json,
               "{\"id\":9007199254740991}");
    check_json(jobs_json_encode_delete(&json, JOBS_DELETED, 42), &json, "{\"deleted\":42}");
    check_json(jobs_json_encode_delete(&json, JOBS_QUEUED_FOR_DELETION, 43), &json,
               "{\"queued_for_deletion\":43}");
    assert_int_equal(jobs_json_encode_delete(&json, (jobs_delete_outcome)7, 1), JOBS_EINVAL);
    assert_null(json);
}

static void test_faults(void **state)
{
    char *json = NULL;

    (void)state;
    check_json(jobs_json_encode_error(&json, JOBS_ENOTFOUND, "job 5 \"x\" not found"), &json,
               "{\"code\":6,\"msg\":\"job 5 \\\"x\\\" not found\"}");
    check_json(jobs_json_encode_error(&json, JOBS_ESYNTAX, NULL), &json,
               "{\"code\":2,\"msg\":\"request body is not valid JSON\"}");
    check_json(jobs_json_encode_error(&json, JOBS_EBODY, ""), &json,
               "{\"code\":4,\"msg\":\"request body is not right for this operation\"}");
    check_json(jobs_json_encode_error(&json, JOBS_ECONFIG, "p"), &json,
               "{\"code\":26,\"msg\":\"p\"}");
    check_json(jobs_json_encode_error(&json, -9999, NULL), &json,
               "{\"code\":106,\"msg\":\"unknown error\"}");
    check_json(jobs_json_encode_fault(&json, 100, "not authenticated"), &json,
               "{\"code\":100,\"msg\":\"not authenticated\"}");
    assert_int_equal(jobs_json_encode_fault(&json, -1, "x"), JOBS_EINVAL);
    assert_int_equal(jobs_json_encode_fault(&json, 3, NULL), JOBS_EINVAL);
    assert_null(json);
    /* An empty message is refused too: a fault without one tells a client nothing. */
    assert_int_equal(jobs_json_encode_fault(&json, 3, ""), JOBS_EINVAL);
    assert_null(json);
    assert_string_equal(jobs_error_last(), "jobs_json_encode_fault: msg is empty");
    check_json(jobs_json_encode_fault_detail(&json, 6, "The specified object does not exist.",
                                             "no job 7 \"x\""),
               &json,
               "{\"code\":6,\"msg\":\"The specified object does not exist.\","
               "\"detail\":\"no job 7 \\\"x\\\"\"}");
    check_json(jobs_json_encode_fault_detail(&json, 100, "not authenticated", NULL), &json,
               "{\"code\":100,\"msg\":\"not authenticated\"}");
    assert_int_equal(jobs_json_encode_fault_detail(&json, 1, NULL, "d"), JOBS_EINVAL);
    assert_null(json);
    assert_int_equal(jobs_json_encode_fault_detail(&json, 1, "", "d"), JOBS_EINVAL);
    assert_null(json);
    assert_int_equal(jobs_json_encode_fault_detail(&json, -2, "m", "d"), JOBS_EINVAL);
    assert_int_equal(jobs_json_encode_fault_detail(NULL, 1, "m", "d"), JOBS_EINVAL);
    assert_null(json);
}

/* Inline authentication's envelope: the members' text, untouched; anything that is not an
 * object with "auth" is no envelope. */
static void split(const char *body, bool env, const char *auth, const char *payload, int rc)
{
    jobs_json_span a = {"x", 1}, p = {"x", 1};
    bool e = !env;

    assert_int_equal(jobs_json_split_envelope(&e, &a, &p, body, strlen(body)), rc);
    assert_true(e == env);
    if (rc != 0 || !env) {
        assert_null(a.at);
        assert_null(p.at);
        return;
    }
    assert_int_equal(a.len, strlen(auth));
    assert_memory_equal(a.at, auth, a.len);
    if (!payload) {
        assert_null(p.at);
        return;
    }
    assert_int_equal(p.len, strlen(payload));
    assert_memory_equal(p.at, payload, p.len);
}

static void test_split_envelope(void **state)
{
    bool e;
    jobs_json_span a, p;

    (void)state;
    split("{\"auth\": {\"username\": \"u\", \"password\": \"p\"}, \"payload\": "
          "{\"n\": 9007199254740993.0, \"s\": \"}\\\"\", \"a\": [1, {\"b\": []}]}}",
          true, "{\"username\": \"u\", \"password\": \"p\"}",
          "{\"n\": 9007199254740993.0, \"s\": \"}\\\"\", \"a\": [1, {\"b\": []}]}", 0);
    split(" { \"payload\" : 12 , \"\\u0061uth\" : {} } ", true, "{}", "12", 0);
    split("{\"auth\":{\"email\":\"e\",\"password\":\"p\"}}", true,
          "{\"email\":\"e\",\"password\":\"p\"}", NULL, 0);
    /* Not envelopes: the route's decoder judges them. */
    split("{\"name\": \"x\", \"payload\": {}}", false, NULL, NULL, 0);
    split("[{\"auth\": {}}]", false, NULL, NULL, 0);
    split("", false, NULL, NULL, 0);
    split("{\"x\": {\"auth\": {}}}", false, NULL, NULL, 0);
    split("{\"x\": \"auth\", \"y\": [\"auth\"]}", false, NULL, NULL, 0);
    split("{\"name\": \"x\",}", false, NULL, NULL, 0);
    /* Envelopes that are wrong. */
    split("{\"auth\": {}, \"auth\": {}}", true, NULL, NULL, JOBS_EBODY);
    split("{\"auth\": {}, \"payload\": 1, \"payload\": 2}", true, NULL, NULL, JOBS_EBODY);
    split("{\"auth\": {}, \"extra\": 1}", true, NULL, NULL, JOBS_EBODY);
    assert_non_null(strstr(jobs_error_last(), "unknown key 'extra'"));
    /* The detail names the key as the client wrote it, escapes read (as the decoders do). */
    split("{\"auth\": {}, \"x\\\"y\": 1}", true, NULL, NULL, JOBS_EBODY);
    assert_non_null(strstr(jobs_error_last(), "unknown key 'x\"y'"));
    split("{\"auth\": {}, \"\\u0070ayl\\u00f6ad\\ud83d\\ude00\": 1}", true, NULL, NULL,
          JOBS_EBODY);
    assert_non_null(strstr(jobs_error_last(), "unknown key 'payl\xc3\xb6" "ad\xf0\x9f\x98\x80'"));
    split("{\"auth\": \"u:p\"}", true, NULL, NULL, JOBS_EBODY);
    split("{\"auth\": null, \"payload\": {}}", true, NULL, NULL, JOBS_EBODY);
    assert_int_equal(jobs_json_split_envelope(NULL, &a, &p, "{}", 2), JOBS_EINVAL);
    assert_int_equal(jobs_json_split_envelope(&e, NULL, &p, "{}", 2), JOBS_EINVAL);
    assert_int_equal(jobs_json_split_envelope(&e, &a, NULL, "{}", 2), JOBS_EINVAL);
}

/* An envelope is known by its shape (a top-level object with a key "auth"), so whatever is wrong
 * inside it is its own fault (2 or 4), told as such, not a body without credentials; and it has
 * one level more than a body, so its payload may nest as deep as a body of its own. */
static void test_split_envelope_faults(void **state)
{
    static const char a[] = "{\"username\":\"u\",\"password\":\"p\"}";
    char body[512], digits[70];

    (void)state;
    /* A payload nested 8 deep (blocks 7 deep): the envelope is 9 deep, and accepted. */
    snprintf(body, sizeof body, "{\"auth\":%s,\"payload\":{\"name\":\"d\",\"blocks\":"
             "[[[[[[[1]]]]]]]}}", a);
    split(body, true, a, "{\"name\":\"d\",\"blocks\":[[[[[[[1]]]]]]]}", 0);
    /* One level more is the payload's fault, as for a body of its own. */
    snprintf(body, sizeof body, "{\"auth\":%s,\"payload\":{\"name\":\"d\",\"blocks\":"
             "[[[[[[[[1]]]]]]]]}}", a);
    split(body, true, NULL, NULL, JOBS_EBODY);
    assert_non_null(strstr(jobs_error_last(), "inline authentication: "));
    assert_non_null(strstr(jobs_error_last(), "nested deeper"));
    /* Not JSON: fault 2, in the payload or in auth, before or after "auth". */
    snprintf(body, sizeof body, "{\"auth\":%s,\"payload\":{\"name\":\"x\",}}", a);
    split(body, true, NULL, NULL, JOBS_ESYNTAX);
    snprintf(body, sizeof body, "{\"payload\":{\"name\":\"x\",},\"auth\":%s}", a);
    split(body, true, NULL, NULL, JOBS_ESYNTAX);
    split("{\"auth\": {}", true, NULL, NULL, JOBS_ESYNTAX);
    split("{\"auth\": {\"username\": \"u\" \"password\": \"p\"}}", true, NULL, NULL,
          JOBS_ESYNTAX);
    /* A \u0000 in the payload, a long number: fault 4. */
    snprintf(body, sizeof body, "{\"auth\":%s,\"payload\":{\"name\":\"x\\u0000\"}}", a);
    split(body, true, NULL, NULL, JOBS_EBODY);
    memset(digits, '1', 64);
    digits[64] = '\0';
    snprintf(body, sizeof body, "{\"auth\":%s,\"payload\":{\"stack_id\":%s}}", a, digits);
    split(body, true, NULL, NULL, JOBS_EBODY);
    /* A \u0000 in the password: fault 4 that says so, never a password cut short. */
    split("{\"auth\":{\"username\":\"u\",\"password\":\"p\\u0000q\"},\"payload\":{}}", true,
          NULL, NULL, JOBS_EBODY);
    assert_non_null(strstr(jobs_error_last(), "inline authentication: "));
    assert_non_null(strstr(jobs_error_last(), "\\u0000"));
    /* The key written with escapes is still "auth". */
    split("{\"\\u0061uth\":{},\"payload\":[}", true, NULL, NULL, JOBS_ESYNTAX);
    /* A byte order mark before it (some editors write one) is not JSON: fault 2, told as the
     * envelope's, not a body without credentials (which a route answers "not authenticated"). */
    snprintf(body, sizeof body, "\xef\xbb\xbf{\"auth\":%s,\"payload\":{}}", a);
    split(body, true, NULL, NULL, JOBS_ESYNTAX);
    assert_non_null(strstr(jobs_error_last(), "inline authentication: not valid JSON"));
    assert_non_null(strstr(jobs_error_last(), "at byte 0"));
    split("\xef\xbb\xbf{\"name\":\"x\"}", false, NULL, NULL, 0);
    split("\xef\xbb\xbf", false, NULL, NULL, 0);
    split("\xef\xbb", false, NULL, NULL, 0);
}

static void test_fault_from_the_decoders_detail(void **state)
{
    char *json = NULL;
    decoded d;
    int rc;

    (void)state;
    rc = decode(&d, JOB_CREATE, "{\"schedule_id\":1,\"stack_id\":1,\"foo\":1}");
    check_json(jobs_json_encode_error(&json, rc, jobs_error_last()), &json,
               "{\"code\":4,\"msg\":\"unknown key 'foo'\"}");
}

static void test_encoders_refuse_null(void **state)
{
    char *json = (char *)"sentinel";

    (void)state;
    assert_int_equal(jobs_json_encode_job(&json, NULL, 0), JOBS_EINVAL);
    assert_null(json);
    assert_int_equal(jobs_json_encode_job(NULL, NULL, 0), JOBS_EINVAL);
    assert_int_equal(jobs_json_encode_job_page(&json, NULL), JOBS_EINVAL);
    assert_int_equal(jobs_json_encode_schedule(&json, NULL), JOBS_EINVAL);
    assert_int_equal(jobs_json_encode_schedule_page(&json, NULL), JOBS_EINVAL);
    assert_int_equal(jobs_json_encode_stack(&json, NULL), JOBS_EINVAL);
    assert_int_equal(jobs_json_encode_stack_page(&json, NULL), JOBS_EINVAL);
    assert_int_equal(jobs_json_encode_id(NULL, 1), JOBS_EINVAL);
    assert_int_equal(jobs_json_encode_error(NULL, 0, NULL), JOBS_EINVAL);
    jobs_json_free(NULL);
}

static void test_large_page_encodes_whole(void **state)
{
    enum { N = 1000 };
    char name[JOBS_NAME_MAX + 1];
    jobs_job *jobs = calloc(N, sizeof(*jobs));
    jobs_job_page page = {N, N, 1, N, jobs, NULL};
    char *json = NULL;
    cJSON *parsed;

    (void)state;
    assert_non_null(jobs);
    memset(name, '"', JOBS_NAME_MAX);
    name[JOBS_NAME_MAX] = '\0';
    for (size_t i = 0; i < N; i++)
        jobs[i] = (jobs_job){i + 1, 1, name, 1, 1, 0, false, false, 0};
    assert_int_equal(jobs_json_encode_job_page(&json, &page), 0);
    parsed = cJSON_Parse(json);
    assert_non_null(parsed);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(parsed, "jobs")), N);
    cJSON_Delete(parsed);
    jobs_json_free(json);
    free(jobs);
}

/* ---- decoders: job -------------------------------------------------------------------------- */

static void test_job_create_minimal_defaults(void **state)
{
    decoded d;

    (void)state;
    check_ok(decode(&d, JOB_CREATE, "{\"schedule_id\":1,\"stack_id\":2}"));
    assert_int_equal(d.job.spec.fields, JOBS_JOB_SCHEDULE | JOBS_JOB_STACK);
    assert_int_equal(d.job.spec.schedule, 1);
    assert_int_equal(d.job.spec.stack, 2);
    assert_null(d.job.spec.name);
    assert_false(d.job.spec.enabled);
}

static void test_job_create_all_keys(void **state)
{
    decoded d;

    (void)state;
    check_ok(decode(&d, JOB_CREATE,
                    " \r\n\t{ \"name\" : \"nightly \\u00e9\\ud83d\\ude00\", \"schedule_id\" : "
                    "9007199254740991, \"stack_id\": 1.0, \"enabled\": true }\n"));
    assert_int_equal(d.job.spec.fields,
                     JOBS_JOB_SCHEDULE | JOBS_JOB_STACK | JOBS_JOB_NAME | JOBS_JOB_ENABLED);
    assert_int_equal(d.job.spec.schedule, JOBS_ID_MAX);
    assert_int_equal(d.job.spec.stack, 1);
    assert_ptr_equal(d.job.spec.name, d.job.name);
    assert_string_equal(d.job.name, "nightly \xc3\xa9\xf0\x9f\x98\x80");
    assert_true(d.job.spec.enabled);
}

static void test_job_null_name_is_given_as_null(void **state)
{
    decoded d;

    (void)state;
    check_ok(decode(&d, JOB_UPDATE, "{\"name\":null}"));
    assert_int_equal(d.job.spec.fields, JOBS_JOB_NAME);
    assert_null(d.job.spec.name);
}

static void test_job_update_empty_object_changes_nothing(void **state)
{
    decoded d;

    (void)state;
    check_ok(decode(&d, JOB_UPDATE, "{}"));
    assert_int_equal(d.job.spec.fields, 0);
    check_ok(decode(&d, JOB_UPDATE, " { } "));
    assert_int_equal(d.job.spec.fields, 0);
    check_ok(decode(&d, JOB_UPDATE, "{\"enabled\":false}"));
    assert_int_equal(d.job.spec.fields, JOBS_JOB_ENABLED);
    assert_false(d.job.spec.enabled);
    check_ok(decode(&d, JOB_UPDATE, "{\"stack_id\":5}"));
    assert_int_equal(d.job.spec.fields, JOBS_JOB_STACK);
    assert_int_equal(d.job.spec.stack, 5);
}

static void test_ids_are_exact_integers_in_range(void **state)
{
    static const struct {
        const char *text;
        uint64_t value;
    } good[] = {{"1", 1}, {"1.0", 1}, {"1e0", 1}, {"10E-1", 1}, {"0.1e1", 1},
                {"100e-2", 1}, {"1.000", 1}, {"42", 42}, {"4.2e1", 42},
                {"9007199254740991", 9007199254740991ULL},
                {"9007199254740991.000", 9007199254740991ULL},
                {"9.007199254740991e15", 9007199254740991ULL},
                {"900719925474099100e-2", 9007199254740991ULL}};
    static const char *const bad[] = {
        "0", "-0", "0.0", "-1", "-1.0", "1.5", "0.5", "-0.5", "1e300", "1e-300", "1E+300",
        "9007199254740992", "9007199254740993", "9007199254740991.4", "9007199254740991.5",
        "1.0000000000000001", "1e16", "18446744073709551616", "1e999999999999999999"};
    decoded d;

    (void)state;
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        check_ok(job_with_stack_id(&d, good[i].text));
        assert_int_equal(d.job.spec.stack, good[i].value);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char want[128];

        snprintf(want, sizeof(want), "'stack_id' must be an integer in 1..2^53-1 (got %s)",
                 bad[i]);
        check_fail(job_with_stack_id(&d, bad[i]), JOBS_EBODY, 4, want);
    }
}

static void test_ids_must_be_numbers(void **state)
{
    static const char *const bad[] = {"\"1\"", "true", "false", "null", "[1]", "{}"};
    decoded d;

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        check_fail(job_with_stack_id(&d, bad[i]), JOBS_EBODY, 4,
                   "'stack_id' must be an integer in 1..2^53-1 (got ");
    check_fail(decode(&d, JOB_CREATE, "{\"schedule_id\":\"7\",\"stack_id\":1}"), JOBS_EBODY, 4,
               "'schedule_id' must be an integer in 1..2^53-1 (got a string)");
}

static void test_numbers_outside_json_grammar_are_syntax_errors(void **state)
{
    static const char *const bad[] = {"01", "00", "-01", "1.", ".5", "+1", "1e", "1e+", "--1",
                                      "1.e5", "0x10", "NaN", "Infinity", "-", "1..0", "1e5.0",
                                      "1-2", "1ee2", "-Infinity"};
    decoded d;

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        check_fail(job_with_stack_id(&d, bad[i]), JOBS_ESYNTAX, 2, "not valid JSON");
}

static void test_overlong_number_is_refused(void **state)
{
    char num[80];
    decoded d;

    (void)state;
    memset(num, '1', 64);
    num[64] = '\0';
    check_fail(job_with_stack_id(&d, num), JOBS_EBODY, 4, "longer than 63 characters");
    num[63] = '\0'; /* 63 digits: parsed, then out of range */
    check_fail(job_with_stack_id(&d, num), JOBS_EBODY, 4, "must be an integer in 1..2^53-1");
}

/* The length of a number is a body rule, judged after the grammar like depth and \u0000: a body
 * that is not JSON is a syntax error (fault 2) even when it also holds a long number. */
static void test_overlong_number_in_invalid_json_is_a_syntax_error(void **state)
{
    char num[80], body[256];
    decoded d;

    (void)state;
    memset(num, '1', 70);
    num[70] = '\0';
    snprintf(body, sizeof body, "{\"stack_id\":%s,", num);
    check_fail(decode(&d, JOB_CREATE, body), JOBS_ESYNTAX, 2, "unexpected end of the body");
    snprintf(body, sizeof body, "[%s,", num);
    check_fail(decode(&d, JOB_CREATE, body), JOBS_ESYNTAX, 2, "not valid JSON");
    snprintf(body, sizeof body, "{\"stack_id\":%s,\"x\":01}", num);
    check_fail(decode(&d, JOB_CREATE, body), JOBS_ESYNTAX, 2, "invalid number");
    /* Valid JSON: the length rule, at the first long number. */
    snprintf(body, sizeof body, "{\"schedule_id\":1,\"stack_id\":%s}", num);
    check_fail(decode(&d, JOB_CREATE, body), JOBS_EBODY, 4, "number at byte 28 is longer than");
}

static void test_booleans_are_true_or_false_only(void **state)
{
    static const char *const bad[] = {"1", "0", "\"true\"", "null", "[]", "{}"};
    decoded d;

    (void)state;
    check_ok(decode(&d, JOB_UPDATE, "{\"enabled\":true}"));
    assert_true(d.job.spec.enabled);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char body[64];

        snprintf(body, sizeof(body), "{\"enabled\":%s}", bad[i]);
        check_fail(decode(&d, JOB_UPDATE, body), JOBS_EBODY, 4,
                   "'enabled' must be true or false");
    }
}

static void test_names_must_be_strings_or_null(void **state)
{
    decoded d;

    (void)state;
    check_fail(decode(&d, JOB_UPDATE, "{\"name\":5}"), JOBS_EBODY, 4,
               "'name' must be a string or null (got a number)");
    check_fail(decode(&d, JOB_UPDATE, "{\"name\":false}"), JOBS_EBODY, 4,
               "(got a boolean)");
    check_fail(decode(&d, JOB_UPDATE, "{\"name\":[\"a\"]}"), JOBS_EBODY, 4, "(got an array)");
    check_fail(decode(&d, JOB_UPDATE, "{\"name\":{}}"), JOBS_EBODY, 4, "(got an object)");
}

static void test_names_follow_the_name_rules(void **state)
{
    char body[1024], name[300];
    decoded d;

    (void)state;
    check_fail(decode(&d, JOB_UPDATE, "{\"name\":\"\"}"), JOBS_ENAME, 4, "must not be empty");
    check_fail(decode(&d, JOB_UPDATE, "{\"name\":\"a\\u0001\"}"), JOBS_ENAME, 4,
               "without control characters");
    check_fail(decode(&d, JOB_UPDATE, "{\"name\":\"tab\\there\"}"), JOBS_ENAME, 4, NULL);
    check_fail(decode(&d, JOB_UPDATE, "{\"name\":\"\\u007f\"}"), JOBS_ENAME, 4, NULL);
    memset(name, 'n', 256);
    name[256] = '\0';
    snprintf(body, sizeof(body), "{\"name\":\"%s\"}", name);
    check_fail(decode(&d, JOB_UPDATE, body), JOBS_ENAME, 4, "256 bytes, more than 255");
    name[255] = '\0';
    snprintf(body, sizeof(body), "{\"name\":\"%s\"}", name);
    check_ok(decode(&d, JOB_UPDATE, body));
    assert_string_equal(d.job.name, name);
    /* 128 two-byte characters, written as escapes: 256 bytes once decoded. */
    strcpy(body, "{\"name\":\"");
    for (int i = 0; i < 128; i++)
        strcat(body, "\\u00e9");
    strcat(body, "\"}");
    check_fail(decode(&d, JOB_UPDATE, body), JOBS_ENAME, 4, "256 bytes");
}

static void test_unknown_key_is_refused(void **state)
{
    decoded d;

    (void)state;
    check_fail(decode(&d, JOB_CREATE, "{\"schedule_id\":1,\"stack_id\":2,\"foo\":1}"),
               JOBS_EBODY, 4, "unknown key 'foo'");
    check_fail(decode(&d, JOB_UPDATE, "{\"Name\":\"x\"}"), JOBS_EBODY, 4, "unknown key 'Name'");
    check_fail(decode(&d, JOB_UPDATE, "{\"id\":1}"), JOBS_EBODY, 4, "unknown key 'id'");
    /* The detail shows no raw control bytes. */
    check_fail(decode(&d, JOB_UPDATE, "{\"a\\nb\":1}"), JOBS_EBODY, 4, "unknown key 'a?b'");
    /* At most 40 bytes of it, never a character cut or beyond: 39 bytes and "...". */
    check_fail(decode(&d, JOB_UPDATE, "{\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\\ud83d\\ude00b\":1}"),
               JOBS_EBODY, 4, "unknown key 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...'");
    check_fail(decode(&d, JOB_UPDATE, "{\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\\ud83d\\ude00\":1}"),
               JOBS_EBODY, 4, "unknown key 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\xf0\x9f\x98\x80'");
}

static void test_duplicate_key_is_refused(void **state)
{
    decoded d;

    (void)state;
    check_fail(decode(&d, JOB_CREATE, "{\"schedule_id\":1,\"stack_id\":2,\"stack_id\":2}"),
               JOBS_EBODY, 4, "duplicate key 'stack_id'");
    check_fail(decode(&d, JOB_UPDATE, "{\"name\":null,\"name\":\"x\"}"), JOBS_EBODY, 4,
               "duplicate key 'name'");
    /* The same key written with an escape is the same key. */
    check_fail(decode(&d, JOB_UPDATE, "{\"enabled\":true,\"\\u0065nabled\":false}"),
               JOBS_EBODY, 4, "duplicate key 'enabled'");
}

static void test_missing_required_key_is_refused(void **state)
{
    decoded d;

    (void)state;
    check_fail(decode(&d, JOB_CREATE, "{\"schedule_id\":1}"), JOBS_EBODY, 4,
               "missing required key 'stack_id'");
    check_fail(decode(&d, JOB_CREATE, "{\"stack_id\":1,\"name\":\"x\"}"), JOBS_EBODY, 4,
               "missing required key 'schedule_id'");
    check_fail(decode(&d, JOB_CREATE, "{}"), JOBS_EBODY, 4, "missing required key");
    /* Missing keys come before values (docs/json.md, rules 8 and 9), the run keys' included. */
    check_fail(decode(&d, JOB_CREATE, "{\"name\":\"\"}"), JOBS_EBODY, 4,
               "missing required key 'schedule_id'");
    check_fail(decode(&d, JOB_CREATE, "{\"stack_id\":1,\"lease\":0}"), JOBS_EBODY, 4,
               "missing required key 'schedule_id'");
    check_fail(decode(&d, JOB_CREATE, "{\"schedule_id\":1,\"misfire\":\"never\"}"),
               JOBS_EBODY, 4, "missing required key 'stack_id'");
}

static void test_nul_in_a_string_is_refused(void **state)
{
    decoded d;

    (void)state;
    check_fail(decode(&d, JOB_CREATE, "{\"schedule_id\":1,\"stack_id\":2,\"name\":\"a\\u0000b\"}"),
               JOBS_EBODY, 4, "\\u0000");
    check_fail(decode(&d, JOB_UPDATE, "{\"name\":\"\\u0000\"}"), JOBS_EBODY, 4, "\\u0000");
    check_fail(decode(&d, JOB_UPDATE, "{\"enabled\\u0000x\":true}"), JOBS_EBODY, 4, "\\u0000");
    /* An escaped backslash followed by "u0000" is six ordinary characters. */
    check_ok(decode(&d, JOB_UPDATE, "{\"name\":\"\\\\u0000\"}"));
    assert_string_equal(d.job.name, "\\u0000");
    /* A raw NUL byte is not JSON at all, in a string or outside. */
    check_fail(decode_n(&d, JOB_UPDATE, "{\"name\":\"a\0b\"}", 14), JOBS_ESYNTAX, 2,
               "control character");
    check_fail(decode_n(&d, JOB_UPDATE, "{}\0", 3), JOBS_ESYNTAX, 2, NULL);
    check_fail(decode_n(&d, JOB_UPDATE, "{\0}", 3), JOBS_ESYNTAX, 2, NULL);
}

static void test_raw_control_characters_are_syntax_errors(void **state)
{
    decoded d;

    (void)state;
    check_fail(decode(&d, JOB_UPDATE, "{\"name\":\"a\nb\"}"), JOBS_ESYNTAX, 2,
               "unescaped control character");
    check_fail(decode(&d, JOB_UPDATE, "{\"name\":\"a\tb\"}"), JOBS_ESYNTAX, 2, NULL);
    check_fail(decode(&d, JOB_UPDATE, "\x01{}"), JOBS_ESYNTAX, 2, "at byte 0");
    check_fail(decode(&d, JOB_UPDATE, "{}\x0b"), JOBS_ESYNTAX, 2, NULL);
    check_fail(decode(&d, JOB_UPDATE, "{\f}"), JOBS_ESYNTAX, 2, NULL);
}

static void test_invalid_utf8_and_escapes_are_syntax_errors(void **state)
{
    static const char *const bad[] = {
        "{\"name\":\"\xff\"}", "{\"name\":\"\xc0\xaf\"}", "{\"name\":\"\xed\xa0\x80\"}",
        "{\"name\":\"\xe2\x82\"}", "{\"name\":\"\\ud800\"}", "{\"name\":\"\\udc00\"}",
        "{\"name\":\"\\ud800\\u0041\"}", "{\"name\":\"\\ud800x\"}", "{\"name\":\"\\x\"}",
        "{\"name\":\"\\u12\"}", "{\"name\":\"\\u12g4\"}", "{\"name\":\"\\'\"}",
        "\xef\xbb\xbf{}",
        /* overlong 3- and 4-byte forms, past U+10FFFF, a 5-byte lead, a lone continuation,
         * a sequence cut by the closing quote, and the same in a key */
        "{\"name\":\"\xe0\x80\xaf\"}", "{\"name\":\"\xf0\x80\x80\xaf\"}",
        "{\"name\":\"\xf4\x90\x80\x80\"}", "{\"name\":\"\xf8\x88\x80\x80\x80\"}",
        "{\"name\":\"\x80\"}", "{\"name\":\"\xf0\x9f\x98\"}", "{\"\xc1\xbf\":1}",
        /* surrogate escapes: two highs, a low before its high, a high cut short */
        "{\"name\":\"\\ud800\\ud800\"}", "{\"name\":\"\\udfff\\ud800\"}",
        "{\"name\":\"\\ud800\\u\"}"};
    decoded d;

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        check_fail(decode(&d, JOB_UPDATE, bad[i]), JOBS_ESYNTAX, 2, "not valid JSON");
    check_ok(decode(&d, JOB_UPDATE, "{\"name\":\"\\/\\\"\\u00E9\"}"));
    assert_string_equal(d.job.name, "/\"\xc3\xa9");
    /* The last code point, raw and as a pair of escapes, and a noncharacter: valid. */
    check_ok(decode(&d, JOB_UPDATE, "{\"name\":\"\xf4\x8f\xbf\xbf\\uDBFF\\uDFFF\\ufffe\"}"));
    assert_string_equal(d.job.name, "\xf4\x8f\xbf\xbf\xf4\x8f\xbf\xbf\xef\xbf\xbe");
}

/* null is a value of its own type: refused for every key but those that take it (`name` of a
 * job or schedule, a stack's `webhook`), with the fault of its place. */
static void test_null_is_refused_where_no_key_takes_it(void **state)
{
    static const struct {
        kind k;
        const char *body;
        int code;
    } bad[] = {
        {JOB_CREATE, "{\"schedule_id\":null,\"stack_id\":1}", JOBS_EBODY},
        {JOB_CREATE, "{\"schedule_id\":1,\"stack_id\":null}", JOBS_EBODY},
        {JOB_UPDATE, "{\"enabled\":null}", JOBS_EBODY},
        {JOB_UPDATE, "{\"delivery\":null}", JOBS_EBODY},
        {JOB_UPDATE, "{\"lease\":null}", JOBS_EBODY},
        {JOB_UPDATE, "{\"max_attempts\":null}", JOBS_EBODY},
        {JOB_UPDATE, "{\"misfire\":{\"policy\":null}}", JOBS_EBODY},
        {JOB_UPDATE, "{\"misfire\":{\"policy\":\"skip\",\"grace\":null}}", JOBS_EBODY},
        {SCHEDULE_UPDATE, "{\"once\":null}", JOBS_EBODY},
        {SCHEDULE_UPDATE, "{\"config\":null}", JOBS_ECONFIG},
        {SCHEDULE_UPDATE, "{\"config\":{\"period\":null}}", JOBS_ECONFIG},
        {SCHEDULE_UPDATE, "{\"config\":{\"timestamp\":null}}", JOBS_ECONFIG},
        {SCHEDULE_UPDATE, "{\"config\":{\"cron\":null}}", JOBS_ECONFIG},
        {STACK_CREATE, "{\"name\":null}", JOBS_EBODY},
        {STACK_CREATE, "{\"name\":\"x\",\"public\":null}", JOBS_EBODY},
    };
    static const char *const stack_bad[] = {
        "{\"name\":null}", "{\"blocks\":null}", "{\"webhook_method\":null}",
        "{\"needs_approval\":null}", "{\"public\":null}", "{\"blocks\":[null]}",
    };
    jobs_json_stack_spec_body b;
    decoded d;

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        check_fail(decode(&d, bad[i].k, bad[i].body), bad[i].code,
                   jobs_fault_code(bad[i].code), "null");
    for (size_t i = 0; i < sizeof(stack_bad) / sizeof(stack_bad[0]); i++)
        check_fail(jobs_json_decode_stack(&b, stack_bad[i], strlen(stack_bad[i]), 0),
                   JOBS_EBODY, 4, "(got null)");
    /* The keys with a list of strings name another type too (a string is not quoted back). */
    check_fail(decode(&d, JOB_UPDATE, "{\"delivery\":1}"), JOBS_EBODY, 4,
               "'delivery' must be \"at-most-once\" or \"at-least-once\" (got a number)");
    check_fail(decode(&d, JOB_UPDATE, "{\"misfire\":{\"policy\":[]}}"), JOBS_EBODY, 4,
               "(got an array)");
    check_fail(jobs_json_decode_stack(&b, "{\"webhook\":true}", 16, 0), JOBS_EBODY, 4,
               "'webhook' must be null, \"public\", \"token\" or \"user\" (got a boolean)");
    check_fail(jobs_json_decode_stack(&b, "{\"webhook\":\"none\"}", 18, 0), JOBS_EBODY, 4, NULL);
    assert_null(strstr(jobs_error_last(), "got"));
    static const char create[] = "{\"name\":\"x\",\"schedule_id\":null}";
    check_fail(jobs_json_decode_stack(&b, create, strlen(create), JOBS_JSON_STACK_CREATE),
               JOBS_EBODY, 4, "(got null)");
    /* Where null is a value: no name, no webhook. */
    check_ok(decode(&d, SCHEDULE_UPDATE, "{\"name\":null}"));
    assert_int_equal(d.schedule.spec.fields, JOBS_SCHEDULE_NAME);
    assert_null(d.schedule.spec.name);
    check_ok(jobs_json_decode_stack(&b, "{\"webhook\":null}", 16, 0));
    assert_int_equal(b.spec.fields, JOBS_STACK_WEBHOOK);
    assert_int_equal(b.spec.webhook, JOBS_WEBHOOK_NONE);
}

static void test_invalid_json_is_esyntax(void **state)
{
    static const char *const bad[] = {
        "{", "}", "{\"a\"}", "{\"a\":}", "{,}", "{\"enabled\":true,}", "{\"a\":[1,]}",
        "{'name':null}", "{name:null}", "{\"enabled\":tru}", "{\"enabled\":True}",
        "{\"enabled\":true \"name\":null}", "{\"name\":\"abc}", "{\"name\":null]",
        "{\"a\":[1}", "{\"a\":{]}", "{1:2}", "{\"a\" 1}", "{\"a\"::1}", "[", "\"x",
        "nul", "{\"enabled\":truex}", "{\"name\":nulll}", "{\"enabled\":false0}"};
    decoded d;

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        check_fail(decode(&d, JOB_UPDATE, bad[i]), JOBS_ESYNTAX, 2, "not valid JSON");
}

static void test_trailing_data_is_esyntax(void **state)
{
    decoded d;

    (void)state;
    check_fail(decode(&d, JOB_UPDATE, "{} x"), JOBS_ESYNTAX, 2,
               "unexpected data after the JSON value at byte 3");
    check_fail(decode(&d, JOB_UPDATE, "{}{}"), JOBS_ESYNTAX, 2, "after the JSON value");
    check_fail(decode(&d, JOB_UPDATE, "{} 1"), JOBS_ESYNTAX, 2, "after the JSON value");
    check_fail(decode(&d, JOB_UPDATE, "{}}"), JOBS_ESYNTAX, 2, "after the JSON value");
    check_ok(decode(&d, JOB_UPDATE, "{} \r\n\t "));
}

static void test_empty_body_is_esyntax(void **state)
{
    jobs_json_job_body out;
    decoded d;

    (void)state;
    check_fail(decode(&d, JOB_UPDATE, ""), JOBS_ESYNTAX, 2, "the body is empty");
    check_fail(jobs_json_decode_job_update(&out, NULL, 0), JOBS_ESYNTAX, 2, "empty");
    check_fail(decode(&d, JOB_UPDATE, " \n "), JOBS_ESYNTAX, 2, "unexpected end");
    check_fail(jobs_json_decode_job_update(&out, NULL, 3), JOBS_EINVAL, 4, "NULL");
    check_fail(jobs_json_decode_job_update(NULL, "{}", 2), JOBS_EINVAL, 4, "out is NULL");
    check_fail(jobs_json_decode_schedule_create(NULL, "{}", 2), JOBS_EINVAL, 4, NULL);
    check_fail(jobs_json_decode_stack_create(NULL, "{}", 2), JOBS_EINVAL, 4, NULL);
}

static void test_top_level_must_be_an_object(void **state)
{
    static const char *const bad[] = {"[]", "[{}]", "1", "\"x\"", "null", "true", "false"};
    decoded d;

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        check_fail(decode(&d, JOB_UPDATE, bad[i]), JOBS_EBODY, 4, "must be a JSON object");
        check_fail(decode(&d, STACK_CREATE, bad[i]), JOBS_EBODY, 4, "must be a JSON object");
    }
}

static void test_depth_is_bounded(void **state)
{
    char body[64];
    char *deep;
    size_t n = 60000;
    decoded d;

    (void)state;
    /* Level 1 the object, levels 2..8 arrays: accepted by the scanner, refused by type. */
    snprintf(body, sizeof(body), "{\"name\":[[[[[[[\"x\"]]]]]]]}");
    check_fail(decode(&d, JOB_UPDATE, body), JOBS_EBODY, 4, "(got an array)");
    snprintf(body, sizeof(body), "{\"name\":[[[[[[[[\"x\"]]]]]]]]}");
    check_fail(decode(&d, JOB_UPDATE, body), JOBS_EBODY, 4, "nested deeper than 8 levels");
    snprintf(body, sizeof(body),
             "{\"a\":{\"b\":{\"c\":{\"d\":{\"e\":{\"f\":{\"g\":{\"h\":{}}}}}}}}}");
    check_fail(decode(&d, JOB_UPDATE, body), JOBS_EBODY, 4, "nested deeper than 8 levels");
    /* Far deeper than cJSON's own limit, and never closed: not JSON, so a syntax error (issue
     * 11: this was fault 4, "nested deeper", which named the wrong problem). */
    deep = malloc(n);
    assert_non_null(deep);
    memset(deep, '[', n);
    deep[0] = '{';
    check_fail(decode_n(&d, JOB_UPDATE, deep, n), JOBS_ESYNTAX, 2, "expected a string key");
    memcpy(deep, "{\"name\":", 8);
    check_fail(decode_n(&d, JOB_UPDATE, deep, n), JOBS_ESYNTAX, 2, "unexpected end of the body");
    /* The same depth, closed: well-formed JSON nested too deep, named at the 9th bracket. */
    memset(deep + 8, '[', 29995);
    memset(deep + 8 + 29995, ']', 29995);
    deep[8 + 2 * 29995] = '}';
    check_fail(decode_n(&d, JOB_UPDATE, deep, 8 + 2 * 29995 + 1), JOBS_EBODY, 4,
               "nested deeper than 8 levels (at byte 15)");
    /* Too deep and broken further on: the syntax error wins. */
    check_fail(decode(&d, JOB_UPDATE, "{\"name\":[[[[[[[[[1]]]]]]]]],}"), JOBS_ESYNTAX, 2,
               "expected a string key");
    free(deep);
}

static void test_body_size_is_bounded(void **state)
{
    char *body = malloc(JOBS_JSON_BODY_MAX + 1);
    decoded d;

    (void)state;
    assert_non_null(body);
    memset(body, ' ', JOBS_JSON_BODY_MAX + 1);
    memcpy(body, "{\"enabled\":true}", 16);
    check_ok(decode_n(&d, JOB_UPDATE, body, JOBS_JSON_BODY_MAX));
    assert_true(d.job.spec.enabled);
    check_fail(decode_n(&d, JOB_UPDATE, body, JOBS_JSON_BODY_MAX + 1), JOBS_EBODY, 4,
               "65537 bytes, more than 65536");
    free(body);
}

/* ---- decoders: schedule ------------------------------------------------------------------- */

static void test_schedule_create_periodic_by_default(void **state)
{
    decoded d;

    (void)state;
    check_ok(decode(&d, SCHEDULE_CREATE, "{\"config\":{\"period\":60}}"));
    assert_int_equal(d.schedule.spec.fields, JOBS_SCHEDULE_CONFIG);
    assert_false(d.schedule.spec.once);
    assert_int_equal(d.schedule.spec.period, 60);
    assert_int_equal(d.schedule.spec.timestamp, 0);
    assert_null(d.schedule.spec.name);

    check_ok(decode(&d, SCHEDULE_CREATE,
                    "{\"name\":\"yearly\",\"once\":false,\"config\":{\"period\":31536000}}"));
    assert_int_equal(d.schedule.spec.fields,
                     JOBS_SCHEDULE_NAME | JOBS_SCHEDULE_ONCE | JOBS_SCHEDULE_CONFIG);
    assert_int_equal(d.schedule.spec.period, 31536000);
    assert_ptr_equal(d.schedule.spec.name, d.schedule.name);
    assert_string_equal(d.schedule.name, "yearly");
}

static void test_schedule_create_once(void **state)
{
    decoded d;

    (void)state;
    check_ok(decode(&d, SCHEDULE_CREATE,
                    "{\"once\":true,\"name\":null,\"config\":{\"timestamp\":9007199254740991}}"));
    assert_int_equal(d.schedule.spec.fields,
                     JOBS_SCHEDULE_NAME | JOBS_SCHEDULE_ONCE | JOBS_SCHEDULE_CONFIG);
    assert_true(d.schedule.spec.once);
    assert_int_equal(d.schedule.spec.timestamp, 9007199254740991LL);
    assert_int_equal(d.schedule.spec.period, 0);
    assert_null(d.schedule.spec.name);
}

static void test_schedule_create_needs_config(void **state)
{
    decoded d;

    (void)state;
    check_fail(decode(&d, SCHEDULE_CREATE, "{\"name\":\"x\"}"), JOBS_EBODY, 4,
               "missing required key 'config'");
    check_fail(decode(&d, SCHEDULE_CREATE, "{\"config\":{\"period\":60},\"every\":1}"),
               JOBS_EBODY, 4, "unknown key 'every'");
    check_fail(decode(&d, SCHEDULE_CREATE, "{\"config\":{\"period\":60},\"once\":0}"),
               JOBS_EBODY, 4, "'once' must be true or false");
    check_fail(decode(&d, SCHEDULE_CREATE,
                      "{\"config\":{\"period\":60},\"config\":{\"period\":60}}"),
               JOBS_EBODY, 4, "duplicate key 'config'");
}

static void test_config_shape_is_econfig(void **state)
{
    static const struct {
        const char *body;
        const char *detail;
    } bad[] = {
        {"{\"config\":{\"period\":60,\"timestamp\":5}}", "only one of"},
        {"{\"once\":true,\"config\":{\"period\":60,\"timestamp\":5}}", "only one of"},
        {"{\"once\":true,\"config\":{\"period\":60}}", "one-time schedule's config"},
        {"{\"once\":false,\"config\":{\"timestamp\":5}}", "periodic schedule's config"},
        {"{\"config\":{\"timestamp\":5}}", "periodic schedule's config"},
        {"{\"config\":{}}", "must hold 'period', 'timestamp' or 'cron'"},
        {"{\"config\":{\"every\":60}}", "unknown key 'every' in 'config'"},
        {"{\"config\":{\"period\":60,\"period\":60}}", "duplicate key 'period' in 'config'"},
        {"{\"config\":60}", "'config' must be an object (got a number)"},
        {"{\"config\":null}", "(got null)"},
        {"{\"config\":[{\"period\":60}]}", "(got an array)"},
        {"{\"config\":{\"period\":\"60\"}}", "'period' in 'config' must be an integer in "
                                             "60..31536000 (got a string)"},
        {"{\"config\":{\"period\":59}}", "60..31536000 (got 59)"},
        {"{\"config\":{\"period\":31536001}}", "(got 31536001)"},
        {"{\"config\":{\"period\":60.5}}", "(got 60.5)"},
        {"{\"config\":{\"period\":-60}}", "(got -60)"},
        {"{\"config\":{\"period\":1e300}}", "(got 1e300)"},
        {"{\"once\":true,\"config\":{\"timestamp\":0}}", "1..2^53-1 (got 0)"},
        {"{\"once\":true,\"config\":{\"timestamp\":-5}}", "(got -5)"},
        {"{\"once\":true,\"config\":{\"timestamp\":9007199254740992}}", "(got 9007199254740992)"},
        {"{\"once\":true,\"config\":{\"timestamp\":1.5}}", "(got 1.5)"},
        {"{\"once\":true,\"config\":{\"timestamp\":true}}", "(got a boolean)"},
    };
    decoded d;

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        check_fail(decode(&d, SCHEDULE_CREATE, bad[i].body), JOBS_ECONFIG, 26, bad[i].detail);
    check_ok(decode(&d, SCHEDULE_CREATE, "{\"config\":{\"period\":6e1}}"));
    assert_int_equal(d.schedule.spec.period, 60);
}

static void test_schedule_update_keys_are_optional(void **state)
{
    decoded d;

    (void)state;
    check_ok(decode(&d, SCHEDULE_UPDATE, "{}"));
    assert_int_equal(d.schedule.spec.fields, 0);
    check_ok(decode(&d, SCHEDULE_UPDATE, "{\"name\":\"n\"}"));
    assert_int_equal(d.schedule.spec.fields, JOBS_SCHEDULE_NAME);
    check_ok(decode(&d, SCHEDULE_UPDATE, "{\"once\":true}"));
    assert_int_equal(d.schedule.spec.fields, JOBS_SCHEDULE_ONCE);
    assert_true(d.schedule.spec.once);
    /* Without `once`, either key: the store checks it against the schedule's own `once`. */
    check_ok(decode(&d, SCHEDULE_UPDATE, "{\"config\":{\"timestamp\":5}}"));
    assert_int_equal(d.schedule.spec.fields, JOBS_SCHEDULE_CONFIG);
    assert_int_equal(d.schedule.spec.timestamp, 5);
    assert_int_equal(d.schedule.spec.period, 0);
    check_ok(decode(&d, SCHEDULE_UPDATE, "{\"config\":{\"period\":120}}"));
    assert_int_equal(d.schedule.spec.period, 120);
    assert_int_equal(d.schedule.spec.timestamp, 0);
    check_fail(decode(&d, SCHEDULE_UPDATE, "{\"once\":true,\"config\":{\"period\":120}}"),
               JOBS_ECONFIG, 26, "one-time");
    check_fail(decode(&d, SCHEDULE_UPDATE, "{\"config\":{\"period\":120,\"timestamp\":5}}"),
               JOBS_ECONFIG, 26, "only one of");
    check_fail(decode(&d, SCHEDULE_UPDATE, "{\"name\":\"\"}"), JOBS_ENAME, 4, NULL);
    check_fail(decode(&d, SCHEDULE_UPDATE, "{\"config\":{\"period\":[[[[[[[60]]]]]]]}}"),
               JOBS_EBODY, 4, "nested deeper than 8");
}

/* ---- decoders: stack ---------------------------------------------------------------------- */

static void test_stack_create(void **state)
{
    decoded d;

    (void)state;
    check_ok(decode(&d, STACK_CREATE, "{\"name\":\"build\"}"));
    assert_string_equal(d.stack.name, "build");
    assert_false(d.stack.is_public);
    check_ok(decode(&d, STACK_CREATE, "{\"public\":true,\"name\":\"deploy\"}"));
    assert_string_equal(d.stack.name, "deploy");
    assert_true(d.stack.is_public);
    check_fail(decode(&d, STACK_CREATE, "{\"public\":true}"), JOBS_EBODY, 4,
               "missing required key 'name'");
    check_fail(decode(&d, STACK_CREATE, "{\"name\":null}"), JOBS_EBODY, 4,
               "'name' must be a string (got null)");
    check_fail(decode(&d, STACK_CREATE, "{\"name\":\"\"}"), JOBS_ENAME, 4, NULL);
    check_fail(decode(&d, STACK_CREATE, "{\"name\":\"x\",\"public\":\"yes\"}"), JOBS_EBODY, 4,
               "'public' must be true or false (got a string)");
    check_fail(decode(&d, STACK_CREATE, "{\"name\":\"x\",\"owner\":1}"), JOBS_EBODY, 4,
               "unknown key 'owner'");
    check_fail(decode(&d, STACK_CREATE, "{\"name\":\"x\",\"name\":\"y\"}"), JOBS_EBODY, 4,
               "duplicate key 'name'");
}

/* ---- stacks of the original service's shape ------------------------------------------- */

static void test_stack_body_keeps_blocks_byte_for_byte(void **state)
{
    static const char body[] = "{ \"name\": \"s\", \"blocks\" :  [ [\"Post\", {\"n\": 1.50}] ,{\"id\":7} ] ,"
                               " \"webhook\": \"token\", \"webhook_method\": \"POST\","
                               " \"needs_approval\": true, \"schedule_id\": 4, \"enabled\": true}";
    jobs_json_stack_spec_body b;

    (void)state;
    check_ok(jobs_json_decode_stack(&b, body, strlen(body), JOBS_JSON_STACK_CREATE));
    assert_string_equal(b.spec.name, "s");
    assert_int_equal(b.spec.blocks_len, strlen("[ [\"Post\", {\"n\": 1.50}] ,{\"id\":7} ]"));
    assert_memory_equal(b.spec.blocks, "[ [\"Post\", {\"n\": 1.50}] ,{\"id\":7} ]", b.spec.blocks_len);
    assert_true((const char *)b.spec.blocks >= body && (const char *)b.spec.blocks < body + sizeof body);
    assert_int_equal(b.spec.webhook, JOBS_WEBHOOK_TOKEN);
    assert_int_equal(b.spec.webhook_method, JOBS_WEBHOOK_POST);
    assert_true(b.spec.needs_approval);
    assert_true(b.first_job);
    assert_int_equal(b.job.schedule, 4);
    assert_true(b.job.enabled);
    assert_int_equal(b.job.fields, JOBS_JOB_SCHEDULE | JOBS_JOB_ENABLED);
    assert_int_equal(b.spec.fields, JOBS_STACK_NAME | JOBS_STACK_BLOCKS | JOBS_STACK_WEBHOOK |
                                        JOBS_STACK_WEBHOOK_METHOD | JOBS_STACK_NEEDS_APPROVAL);
}

static void test_stack_body_rules(void **state)
{
    jobs_json_stack_spec_body b;
    const unsigned C = JOBS_JSON_STACK_CREATE;
#define D(flags, text) jobs_json_decode_stack(&b, text, strlen(text), flags)

    (void)state;
    check_ok(D(C, "{\"name\":\"x\"}"));
    assert_false(b.first_job);
    assert_int_equal(b.spec.fields, JOBS_STACK_NAME);
    check_fail(D(C | JOBS_JSON_STACK_BLOCKS_REQUIRED, "{\"name\":\"x\"}"), JOBS_EBODY, 4,
               "missing required key 'blocks'");
    check_fail(D(C, "{\"blocks\":[]}"), JOBS_EBODY, 4, "missing required key 'name'");
    check_fail(D(C, "{\"name\":\"x\",\"blocks\":[1]}"), JOBS_EBODY, 4, "object or an array");
    check_fail(D(C, "{\"name\":\"x\",\"blocks\":{}}"), JOBS_EBODY, 4, "must be an array");
    check_fail(D(C, "{\"name\":\"x\",\"webhook\":\"none\"}"), JOBS_EBODY, 4, "'webhook'");
    check_fail(D(C, "{\"name\":\"x\",\"webhook_method\":\"get\"}"), JOBS_EBODY, 4, "GET");
    check_fail(D(C, "{\"name\":\"x\",\"schedule_id\":0}"), JOBS_EBODY, 4, "schedule_id");
    /* enabled alone is accepted and makes no job */
    check_ok(D(C, "{\"name\":\"x\",\"enabled\":true,\"webhook\":null}"));
    assert_false(b.first_job);
    assert_int_equal(b.spec.webhook, JOBS_WEBHOOK_NONE);
    /* an update: everything optional, no first job */
    check_ok(D(0, "{}"));
    assert_int_equal(b.spec.fields, 0);
    check_fail(D(0, "{\"schedule_id\":4}"), JOBS_EBODY, 4, "unknown key 'schedule_id'");
    check_ok(D(0, "{\"public\":false,\"blocks\":[]}"));
    assert_int_equal(b.spec.fields, JOBS_STACK_PUBLIC | JOBS_STACK_BLOCKS);
    check_fail(D(4, "{}"), JOBS_EINVAL, 4, NULL);
#undef D
}

/* A key given twice in any object of the blocks is refused, on create and on update, as in a
 * webhook's JSON body: the blocks go as they are to every reader of the stack and, as its runs'
 * input, to the stack's program, and each would take one of the two values, or refuse them. */
static void test_blocks_with_a_key_twice_are_refused(void **state)
{
    static const char *const bad[] = {
        "{\"name\":\"x\",\"blocks\":[{\"a\":1,\"a\":2}]}",
        "{\"name\":\"x\",\"blocks\":[[\"Post\",{\"o\":{\"k\":1,\"\\u006b\":2}}]]}",
        "{\"blocks\":[{\"a\":1},[{\"b\":[],\"c\":0,\"b\":{}}]],\"name\":\"x\"}",
    };
    static const unsigned flags[] = {JOBS_JSON_STACK_CREATE, 0};
    jobs_json_stack_spec_body b, before;

    (void)state;
    for (size_t f = 0; f < 2; f++)
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
            memset(&b, 0xab, sizeof b);
            memcpy(&before, &b, sizeof b);
            check_fail(jobs_json_decode_stack(&b, bad[i], strlen(bad[i]), flags[f]), JOBS_EBODY,
                       4, "in 'blocks'");
            assert_memory_equal(&b, &before, sizeof b);
        }
    check_fail(jobs_json_decode_stack(&b, bad[0], strlen(bad[0]), 0), JOBS_EBODY, 4,
               "duplicate key 'a' in 'blocks'");
    static const char control[] = "{\"blocks\":[{\"\\n\":1,\"\\n\":2}]}";
    check_fail(jobs_json_decode_stack(&b, control, strlen(control), 0), JOBS_EBODY, 4,
               "a key is given twice in one object of 'blocks'");
    /* The same key in different objects is no repeat. */
    static const char good[] = "{\"blocks\":[{\"a\":1},{\"a\":2},{\"b\":{\"a\":3}}]}";
    check_ok(jobs_json_decode_stack(&b, good, strlen(good), 0));
    assert_int_equal(b.spec.fields, JOBS_STACK_BLOCKS);
    assert_int_equal(b.spec.blocks_len, strlen(good) - strlen("{\"blocks\":}"));
}

static void test_stack_detail_encodes_owner_fields_only_for_the_owner(void **state)
{
    jobs_stack_detail d = {7, 1, "s", true, false, JOBS_WEBHOOK_TOKEN, JOBS_WEBHOOK_POST,
                           "0123456789abcdef0123456789abcdef", "[{\"id\":1}]", 10};
    jobs_job jobs[1];
    char *a = NULL, *b = NULL;

    (void)state;
    memset(jobs, 0, sizeof jobs);
    jobs[0].id = 3;
    jobs[0].name = "nightly";
    jobs[0].do_run = true;
    jobs[0].schedule = 4;
    check_ok(jobs_json_encode_stack_detail(&a, &d, 0, NULL, 0));
    assert_string_equal(a, "{\"id\":7,\"owner\":1,\"name\":\"s\",\"public\":true,"
                           "\"needs_approval\":false,\"webhook\":\"token\",\"webhook_method\":\"POST\","
                           "\"blocks\":[{\"id\":1}]}");
    check_ok(jobs_json_encode_stack_detail(&b, &d, JOBS_JSON_STACK_OWNER, jobs, 1));
    assert_string_equal(b, "{\"id\":7,\"owner\":1,\"name\":\"s\",\"public\":true,"
                           "\"needs_approval\":false,\"webhook\":\"token\",\"webhook_method\":\"POST\","
                           "\"blocks\":[{\"id\":1}],\"webhook_token\":\"0123456789abcdef0123456789abcdef\","
                           "\"jobs\":[{\"id\":3,\"name\":\"nightly\",\"do_run\":true,\"schedule\":4}]}");
    jobs_json_free(a);
    jobs_json_free(b);
    d.blocks = NULL;
    d.blocks_len = 0;
    d.webhook = JOBS_WEBHOOK_NONE;
    d.webhook_token = NULL;
    check_ok(jobs_json_encode_stack_detail(&a, &d, JOBS_JSON_STACK_OWNER, NULL, 0));
    assert_non_null(strstr(a, "\"webhook\":null,\"webhook_method\":\"POST\",\"blocks\":[],"
                              "\"webhook_token\":null,\"jobs\":[]}"));
    jobs_json_free(a);
}

/* Blocks a C host stored that are not one JSON array are written as [] (never raw), so the
 * stack, and a page holding it beside others, still encode: one such stack cannot make a
 * listing fail for every reader. */
static void test_stack_detail_shows_blocks_that_are_no_array_as_empty(void **state)
{
    static const char *const bad[] = {"not json", "{\"a\":1}", "[1,", "[1] x", "\"[1]\"",
                                      "[[[[[[[[[1]]]]]]]]]", "[\"\\u0000\"]", ""};
    jobs_stack_detail d = {6, 1, "s", true, false, JOBS_WEBHOOK_NONE, JOBS_WEBHOOK_GET, NULL,
                           NULL, 0};
    jobs_stack_page page = {2, 10, 1, 2, NULL};
    const char *items[2];
    char *a = NULL, *good = NULL, *json = NULL;

    (void)state;
    d.blocks = "[[1]]";
    d.blocks_len = 5;
    check_ok(jobs_json_encode_stack_detail(&good, &d, 0, NULL, 0));
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        d.blocks = bad[i];
        d.blocks_len = strlen(bad[i]);
        check_ok(jobs_json_encode_stack_detail(&a, &d, 0, NULL, 0));
        assert_string_equal(a, "{\"id\":6,\"owner\":1,\"name\":\"s\",\"public\":true,"
                               "\"needs_approval\":false,\"webhook\":null,"
                               "\"webhook_method\":\"GET\",\"blocks\":[]}");
        items[0] = good;
        items[1] = a;
        check_ok(jobs_json_encode_stack_page_items(&json, &page, items));
        assert_non_null(strstr(json, "\"blocks\":[[1]]}"));
        jobs_json_free(json);
        jobs_json_free(a);
    }
    /* An empty item would make the page "[...,]", not JSON: the host's mistake, told. */
    items[0] = good;
    items[1] = "";
    check_fail(jobs_json_encode_stack_page_items(&json, &page, items), JOBS_EINVAL, 4,
               "item 1 is empty");
    assert_null(json);
    jobs_json_free(good);
}

/* An encoder that succeeds leaves jobs_error_last() as it was (jobs/errors.h: "Calls that
 * succeed leave it unchanged"), also when it looked at bytes that are not JSON: stored blocks
 * shown as [], a run's output that is text. A host that reads the detail of its own last
 * failure after encoding an answer must not find "not valid JSON ..." there. */
static void test_successful_encoders_leave_the_last_error(void **state)
{
    jobs_stack_detail d = {6, 1, "s", true, false, JOBS_WEBHOOK_NONE, JOBS_WEBHOOK_GET,
                           NULL, "[1,", 3};
    char *json = NULL, before[128];
    decoded dec;

    (void)state;
    check_fail(decode(&dec, JOB_CREATE, "{\"schedule_id\":1}"), JOBS_EBODY, 4,
               "missing required key 'stack_id'");
    snprintf(before, sizeof before, "%s", jobs_error_last());

    check_ok(jobs_json_encode_stack_detail(&json, &d, 0, NULL, 0));
    assert_non_null(strstr(json, "\"blocks\":[]"));
    jobs_json_free(json);
    assert_string_equal(jobs_error_last(), before);

    check_ok(jobs_json_encode_hook_result(&json, 7, true, "hello", 5, NULL));
    assert_string_equal(json, "{\"status\":0,\"result\":\"hello\",\"run\":7}");
    jobs_json_free(json);
    assert_string_equal(jobs_error_last(), before);

    check_ok(jobs_json_encode_exec_result(&json, 7, true, "[1,", 3, NULL));
    assert_string_equal(json, "{\"success\":\"[1,\",\"run\":7}");
    jobs_json_free(json);
    assert_string_equal(jobs_error_last(), before);
}

/* ---- a host's own body: jobs_json_check_object ------------------------------------------ */

static int check_object(const char *body, const char *const *keys, size_t n)
{
    char *copy = malloc(strlen(body) + 1);
    int rc;

    assert_non_null(copy);
    memcpy(copy, body, strlen(body));
    rc = jobs_json_check_object(copy, strlen(body), keys, n);
    free(copy);
    return rc;
}

static void test_check_object(void **state)
{
    static const char *const keys[] = {"a", "b"};

    (void)state;
    check_ok(check_object("{}", keys, 2));
    check_ok(check_object("{\"a\":1,\"b\":[\"x\",{\"c\":null}]}", keys, 2));
    check_ok(check_object(" {\"b\":\"\u00e9\"} ", keys, 2));
    check_ok(check_object("{}", NULL, 0));
    check_fail(check_object("{\"a\":1}", NULL, 0), JOBS_EBODY, 4, "unknown key 'a'");
    check_fail(check_object("{\"a\":1,\"c\":2}", keys, 2), JOBS_EBODY, 4, "unknown key 'c'");
    check_fail(check_object("{\"a\":1,\"a\":2}", keys, 2), JOBS_EBODY, 4, "duplicate key 'a'");
    /* ... in any object of the body, not only at its top (cJSON would read the first). */
    check_fail(check_object("{\"a\":{\"x\":1,\"x\":2}}", keys, 2), JOBS_EBODY, 4,
               "a key is given twice in one object of the body");
    /* ... and not quoted: a key inside a member is a part of its value. */
    check_fail(check_object("{\"b\":[{\"hunter2\":\"s\",\"\\u0068unter2\":\"t\"}]}", keys, 2),
               JOBS_EBODY, 4, "given twice");
    assert_null(strstr(jobs_error_last(), "hunter2"));
    check_ok(check_object("{\"a\":{\"x\":1},\"b\":[{\"x\":2},{\"x\":3}]}", keys, 2));
    check_fail(check_object("{\"A\":1}", keys, 2), JOBS_EBODY, 4, "unknown key 'A'");
    check_fail(check_object("[1]", keys, 2), JOBS_EBODY, 4, "must be a JSON object");
    check_fail(check_object("\"a\"", keys, 2), JOBS_EBODY, 4, "must be a JSON object");
    check_fail(check_object("", keys, 2), JOBS_ESYNTAX, 2, "empty");
    check_fail(check_object("{\"a\":1", keys, 2), JOBS_ESYNTAX, 2, NULL);
    check_fail(check_object("{\"a\":1} x", keys, 2), JOBS_ESYNTAX, 2, NULL);
    check_fail(check_object("{\"a\":01}", keys, 2), JOBS_ESYNTAX, 2, NULL);
    /* A \u0000 anywhere is refused: cJSON would cut the string there. */
    check_fail(check_object("{\"a\":\"ab\\u0000zz\"}", keys, 2), JOBS_EBODY, 4, "\\u0000");
    check_fail(check_object("{\"a\":\"\xff\"}", keys, 2), JOBS_ESYNTAX, 2, "invalid UTF-8");
    check_fail(check_object("{\"a\":[[[[[[[[[1]]]]]]]]]}", keys, 2), JOBS_EBODY, 4, "deeper");
    /* The detail never quotes a value. */
    check_fail(check_object("{\"a\":\"hunter2\",\"k\":[]}", keys, 2), JOBS_EBODY, 4, NULL);
    assert_null(strstr(jobs_error_last(), "hunter2"));
    check_fail(jobs_json_check_object("{}", 2, NULL, 1), JOBS_EINVAL, 4, NULL);
    check_fail(jobs_json_check_object(NULL, 2, keys, 2), JOBS_EINVAL, 4, NULL);
    /* a NULL among the keys is the host's mistake, told as such (it was read as a string) */
    const char *holed[] = {"a", NULL};
    check_fail(jobs_json_check_object("{\"b\":1}", 7, holed, 2), JOBS_EINVAL, 4, "keys[1]");
    check_ok(jobs_json_check_object(NULL, 0, keys, 2) == JOBS_ESYNTAX ? 0 : -1);
}

/* cJSON's process-wide error position, as docs/json.md describes it: a decoder resets it (every
 * cJSON parse does), everything that does not decode leaves the host's own error in place,
 * jobs_json_split_envelope() too, whose keys may be written with escapes. */
static void test_cjson_error_position_is_reset_only_by_decoders(void **state)
{
    static const char env[] = "{\"\\u0061uth\":{},\"p\\u0061yload\":{\"n\":1}}";
    static const jobs_json_pair get[] = {{"a", 1, "1", 1}};
    jobs_json_hook_request req = {get, 1, NULL, 0, NULL, 0, NULL, 0};
    jobs_json_span a, p;
    jobs_json_job_body body;
    const char *host_error;
    char *json = NULL;
    bool e = false;

    (void)state;
    assert_null(cJSON_Parse("[1,}"));
    assert_non_null(host_error = cJSON_GetErrorPtr());
    check_ok(jobs_json_split_envelope(&e, &a, &p, env, strlen(env)));
    assert_true(e);
    assert_int_equal(p.len, 7);
    assert_ptr_equal(cJSON_GetErrorPtr(), host_error);
    check_ok(jobs_json_encode_hook_input(&json, &req));
    jobs_json_free(json);
    check_ok(jobs_json_encode_hook_result(&json, 1, true, "{\"x\":[2]}", 9, NULL));
    jobs_json_free(json);
    check_ok(jobs_json_encode_id(&json, 5));
    jobs_json_free(json);
    assert_ptr_equal(cJSON_GetErrorPtr(), host_error);
    check_ok(jobs_json_decode_job_update(&body, "{}", 2));
    assert_null(cJSON_GetErrorPtr());
    /* A hook's JSON body is parsed, as the decoders parse theirs. */
    assert_null(cJSON_Parse("[1,}"));
    assert_non_null(cJSON_GetErrorPtr());
    req.json = "{\"k\":[1]}";
    req.json_len = strlen(req.json);
    check_ok(jobs_json_encode_hook_input(&json, &req));
    jobs_json_free(json);
    assert_null(cJSON_GetErrorPtr());
}

/* cJSON's frees during jobs_json_check_object(), each block searched for the secret. */
static int secret_freed;

static void free_looking_for_secret(void *p)
{
    static const char secret[] = "hunter2-secret";
    size_t n = p ? malloc_usable_size(p) : 0;

    for (size_t i = 0; n >= sizeof(secret) - 1 && i <= n - (sizeof(secret) - 1); i++)
        if (memcmp((char *)p + i, secret, sizeof(secret) - 1) == 0) {
            secret_freed++;
            break;
        }
    free(p);
}

/* The check wipes the body's strings before cJSON frees them, also when the body is refused
 * because its top level is not an object (a login sent as an array or a bare string). */
static void test_check_object_wipes_a_body_that_is_not_an_object(void **state)
{
    static const char *const keys[] = {"username", "password"};
    static const char *const bodies[] = {
        "{\"username\":\"demo\",\"password\":\"hunter2-secret\"}",
        "{\"username\":\"demo\",\"pass\":\"hunter2-secret\"}",
        "[\"demo\",\"hunter2-secret\"]",
        "\"hunter2-secret\"",
        "[{\"password\":[\"hunter2-secret\"]}]",
    };
    cJSON_Hooks hooks = {malloc, free_looking_for_secret};

    (void)state;
    cJSON_InitHooks(&hooks);
    for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        secret_freed = 0;
        (void)check_object(bodies[i], keys, 2);
        if (secret_freed)
            fail_msg("body %zu: the secret was freed unwiped", i);
    }
    cJSON_InitHooks(NULL);
}

/* ---- with a store ------------------------------------------------------------------------- */

static void test_decoded_specs_drive_the_api(void **state)
{
    fixture *fx = *state;
    uint64_t stack, schedule, job;
    jobs_job *got = NULL;
    char *json = NULL, want[512];
    decoded d;

    check_ok(decode(&d, STACK_CREATE, "{\"name\":\"build\",\"public\":false}"));
    check_ok(jobs_stack_create(&stack, fx->store, 3, d.stack.name, d.stack.is_public));
    check_ok(decode(&d, SCHEDULE_CREATE, "{\"name\":\"every 2 min\",\"config\":{\"period\":120}}"));
    check_ok(jobs_schedule_create(&schedule, fx->store, 3, &d.schedule.spec));

    snprintf(want, sizeof(want),
             "{\"schedule_id\":%llu,\"stack_id\":%llu,\"name\":\"n\\u00e9\",\"enabled\":true}",
             (unsigned long long)schedule, (unsigned long long)stack);
    check_ok(decode(&d, JOB_CREATE, want));
    check_ok(jobs_create(&job, fx->store, 3, &d.job.spec));

    check_ok(decode(&d, JOB_UPDATE, "{\"name\":\"renamed\"}"));
    check_ok(jobs_update(&got, fx->store, 3, job, &d.job.spec));
    snprintf(want, sizeof(want),
             "{\"id\":%llu,\"owner\":3,\"name\":\"renamed\",\"stack\":%llu,\"schedule\":%llu,"
             "\"next_run\":%lld,\"do_run\":true,\"do_del\":false}",
             (unsigned long long)job, (unsigned long long)stack, (unsigned long long)schedule,
             (long long)(FX_T0 + 120));
    check_json(jobs_json_encode_job(&json, got, JOBS_JSON_OWNER), &json, want);
    jobs_job_free(got);

    check_ok(decode(&d, JOB_UPDATE, "{\"enabled\":false}"));
    check_ok(jobs_update(&got, fx->store, 3, job, &d.job.spec));
    assert_int_equal(jobs_json_encode_job(&json, got, 0), 0);
    assert_non_null(strstr(json, "\"next_run\":null,\"do_run\":false"));
    jobs_json_free(json);
    jobs_job_free(got);
}

/* Cron configs: decoded into a cron spec, refused as fault 26 when malformed, checked by the
 * library with its own detail, and encoded back as given. */
static void test_cron_config(void **state)
{
    fixture *fx = *state;
    uint64_t id;
    jobs_schedule *s = NULL;
    char *json = NULL, want[512];
    decoded d;

    check_ok(decode(&d, SCHEDULE_CREATE,
                    "{\"once\":false,\"config\":{\"cron\":\"30 2 * * *\",\"tz\":\"Europe/Berlin\"}}"));
    assert_int_equal(d.schedule.spec.fields,
                     JOBS_SCHEDULE_ONCE | JOBS_SCHEDULE_CONFIG | JOBS_SCHEDULE_KIND);
    assert_int_equal(d.schedule.spec.kind, JOBS_SCHEDULE_CRON);
    assert_ptr_equal(d.schedule.spec.cron, d.schedule.cron);
    assert_ptr_equal(d.schedule.spec.tz, d.schedule.tz);
    assert_string_equal(d.schedule.spec.cron, "30 2 * * *");
    check_ok(jobs_schedule_create(&id, fx->store, 3, &d.schedule.spec));
    check_ok(jobs_schedule_get(&s, fx->store, 3, id));
    snprintf(want, sizeof want,
             "{\"id\":%llu,\"owner\":3,\"name\":null,\"once\":false,"
             "\"config\":{\"cron\":\"30 2 * * *\",\"tz\":\"Europe/Berlin\"}}",
             (unsigned long long)id);
    check_json(jobs_json_encode_schedule(&json, s), &json, want);
    jobs_schedule_free(s);

    /* tz defaults to UTC, and the answer says so */
    check_ok(decode(&d, SCHEDULE_CREATE, "{\"config\":{\"cron\":\"@hourly\"}}"));
    assert_null(d.schedule.spec.tz);
    check_ok(jobs_schedule_create(&id, fx->store, 3, &d.schedule.spec));
    check_ok(jobs_schedule_get(&s, fx->store, 3, id));
    assert_int_equal(jobs_json_encode_schedule(&json, s), 0);
    assert_non_null(strstr(json, "\"config\":{\"cron\":\"@hourly\",\"tz\":\"UTC\"}"));
    jobs_json_free(json);
    jobs_schedule_free(s);

    /* an update back to periodic with once: false */
    check_ok(decode(&d, SCHEDULE_UPDATE, "{\"once\":false,\"config\":{\"period\":300}}"));
    check_ok(jobs_schedule_update(&s, fx->store, 3, id, &d.schedule.spec));
    assert_int_equal(s->kind, JOBS_SCHEDULE_PERIODIC);
    assert_int_equal(s->period, 300);
    jobs_schedule_free(s);
    /* and to cron again, without once */
    check_ok(decode(&d, SCHEDULE_UPDATE, "{\"config\":{\"cron\":\"0 9 * * mon\",\"tz\":\"Asia/Kolkata\"}}"));
    check_ok(jobs_schedule_update(&s, fx->store, 3, id, &d.schedule.spec));
    assert_string_equal(s->cron, "0 9 * * mon");
    assert_string_equal(s->tz, "Asia/Kolkata");
    jobs_schedule_free(s);

    static const struct {
        const char *body, *detail;
    } bad[] = {
        {"{\"once\":true,\"config\":{\"cron\":\"0 9 * * *\"}}", "never one-time"},
        {"{\"config\":{\"cron\":\"0 9 * * *\",\"period\":60}}", "are exclusive"},
        {"{\"config\":{\"cron\":\"0 9 * * *\",\"timestamp\":60}}", "only one of"},
        {"{\"config\":{\"tz\":\"UTC\"}}", "'tz' in 'config' needs 'cron'"},
        {"{\"config\":{\"period\":60,\"tz\":\"UTC\"}}", "belongs to a cron schedule"},
        {"{\"config\":{\"cron\":5}}", "'cron' in 'config' must be a string (got a number)"},
        {"{\"config\":{\"cron\":\"* * * * *\",\"tz\":null}}", "'tz' in 'config' must be a string"},
        {"{\"config\":{\"cron\":\"* * * * *\",\"cron\":\"* * * * *\"}}", "duplicate key 'cron'"},
        {"{\"config\":{\"cron\":\"* * * * *\",\"tz\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}}",
         "tz: the zone name is 69 bytes long; at most 64"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        check_fail(decode(&d, SCHEDULE_CREATE, bad[i].body), JOBS_ECONFIG, 26, bad[i].detail);

    /* Decoded, then refused by the library with its detail. */
    static const struct {
        const char *body, *detail;
    } lib[] = {
        {"{\"config\":{\"cron\":\"30 25 * * *\"}}", "cron: field 2 (hour) '25' is outside 0-23"},
        {"{\"config\":{\"cron\":\"*/0 * * * *\"}}", "has a step of 0"},
        {"{\"config\":{\"cron\":\"0 9 * * *\",\"tz\":\"../etc/passwd\"}}", "tz: '../etc/passwd'"},
        {"{\"config\":{\"cron\":\"0 9 * * * *\"}}", "6 fields"},
    };
    for (size_t i = 0; i < sizeof lib / sizeof lib[0]; i++) {
        check_ok(decode(&d, SCHEDULE_CREATE, lib[i].body));
        check_fail(jobs_schedule_create(NULL, fx->store, 3, &d.schedule.spec), JOBS_ECONFIG, 26,
                   lib[i].detail);
    }
    /* A 10 KB expression is refused by the decoder, with the library's wording. */
    static char big[10300];
    int n = snprintf(big, sizeof big, "{\"config\":{\"cron\":\"");
    memset(big + n, '1', 10240);
    memcpy(big + n + 10240, "\"}}", 4);
    check_fail(decode(&d, SCHEDULE_CREATE, big), JOBS_ECONFIG, 26,
               "cron: the expression is 10240 bytes long; at most 255");
}

/* Everything owner 3 sees, as the encoders write it: its jobs, the schedules and the stacks it
 * can see, and stack `stack` in full. */
static char *snapshot(fixture *fx, uint64_t stack)
{
    jobs_job_page *jobs = NULL;
    jobs_schedule_page *schedules = NULL;
    jobs_stack_page *stacks = NULL;
    jobs_stack_detail *detail = NULL;
    char *a = NULL, *b = NULL, *c = NULL, *d = NULL, *all;
    size_t n;

    check_ok(jobs_list(&jobs, fx->store, 3, 1, 100));
    check_ok(jobs_schedule_list(&schedules, fx->store, 3, 1, 100));
    check_ok(jobs_stack_list(&stacks, fx->store, 3, 1, 100));
    check_ok(jobs_stack_get_detail(&detail, fx->store, 3, stack));
    check_ok(jobs_json_encode_job_page(&a, jobs));
    check_ok(jobs_json_encode_schedule_page(&b, schedules));
    check_ok(jobs_json_encode_stack_page(&c, stacks));
    check_ok(jobs_json_encode_stack_detail(&d, detail, 0, NULL, 0));
    n = strlen(a) + strlen(b) + strlen(c) + strlen(d) + 4;
    all = malloc(n);
    assert_non_null(all);
    snprintf(all, n, "%s\n%s\n%s\n%s", a, b, c, d);
    jobs_json_free(a);
    jobs_json_free(b);
    jobs_json_free(c);
    jobs_json_free(d);
    jobs_job_page_free(jobs);
    jobs_schedule_page_free(schedules);
    jobs_stack_page_free(stacks);
    jobs_stack_detail_free(detail);
    return all;
}

/* A refused request changes nothing: bodies the decoders refuse never reach the store, and
 * bodies they accept but the library refuses (a cron field out of range, an empty zone, a kind
 * without its config, an id that names nothing) are refused whole, the keys beside the bad one
 * included. What owner 3 sees is the same, byte for byte, before and after. */
static void test_a_refused_body_changes_nothing_in_the_store(void **state)
{
    static const char *const schedule_updates[] = {
        "{\"name\":\"renamed\",\"config\":{\"cron\":\"0 99 * * *\"}}",
        "{\"name\":\"renamed\",\"config\":{\"cron\":\"0 9 * * *\",\"tz\":\"\"}}",
        "{\"name\":\"renamed\",\"config\":{\"cron\":\"\"}}",
        "{\"name\":\"renamed\",\"config\":{\"cron\":\"0 9 * * *\\n\"}}",
        "{\"name\":\"renamed\",\"once\":true}",
        "{\"name\":\"renamed\",\"config\":{\"timestamp\":5}}",
        "{\"name\":\"renamed\",\"name\":\"again\"}",
        "{\"name\":\"renamed\",\"config\":{\"period\":60,\"period\":120}}",
    };
    static const char *const job_updates[] = {
        "{\"name\":\"renamed\",\"stack_id\":9007199254740991}",
        "{\"name\":\"renamed\",\"schedule_id\":9007199254740991}",
        "{\"name\":\"renamed\",\"stack_id\":9007199254740993}",
        "{\"name\":\"renamed\",\"enabled\":false,\"lease\":0}",
        "{\"name\":\"renamed\",\"enabled\":false,\"\\u0065nabled\":true}",
    };
    static const char *const stack_updates[] = {
        "{\"name\":\"renamed\",\"blocks\":[{\"a\":1,\"a\":2}]}",
        "{\"name\":\"renamed\",\"blocks\":[1]}",
        "{\"name\":\"renamed\",\"webhook\":\"token\",\"schedule_id\":1}",
    };
    fixture *fx = *state;
    uint64_t stack, schedule, job, other;
    jobs_json_stack_spec_body sb;
    jobs_stack *none = NULL;
    char *before, *after, body[160];
    decoded d;
    int rc;

    static const char stack_body[] = "{\"name\":\"s\",\"blocks\":[[\"Post\",{\"n\":1}]]}";
    check_ok(jobs_json_decode_stack(&sb, stack_body, strlen(stack_body), JOBS_JSON_STACK_CREATE));
    check_ok(jobs_stack_create_with_job(&stack, NULL, fx->store, 3, &sb.spec, NULL));
    check_ok(decode(&d, SCHEDULE_CREATE, "{\"name\":\"c\",\"config\":{\"cron\":\"0 9 * * *\"}}"));
    check_ok(jobs_schedule_create(&schedule, fx->store, 3, &d.schedule.spec));
    snprintf(body, sizeof body, "{\"name\":\"j\",\"schedule_id\":%llu,\"stack_id\":%llu,"
             "\"enabled\":true}", (unsigned long long)schedule, (unsigned long long)stack);
    check_ok(decode(&d, JOB_CREATE, body));
    check_ok(jobs_create(&job, fx->store, 3, &d.job.spec));
    before = snapshot(fx, stack);

    for (size_t i = 0; i < sizeof(schedule_updates) / sizeof(*schedule_updates); i++) {
        if ((rc = decode(&d, SCHEDULE_UPDATE, schedule_updates[i])) == 0)
            rc = jobs_schedule_update(NULL, fx->store, 3, schedule, &d.schedule.spec);
        if (rc == 0)
            fail_msg("schedule update %zu was accepted", i);
    }
    for (size_t i = 0; i < sizeof(job_updates) / sizeof(*job_updates); i++) {
        if ((rc = decode(&d, JOB_UPDATE, job_updates[i])) == 0)
            rc = jobs_update(NULL, fx->store, 3, job, &d.job.spec);
        if (rc == 0)
            fail_msg("job update %zu was accepted", i);
    }
    for (size_t i = 0; i < sizeof(stack_updates) / sizeof(*stack_updates); i++) {
        rc = jobs_json_decode_stack(&sb, stack_updates[i], strlen(stack_updates[i]), 0);
        if (rc == 0)
            rc = jobs_stack_update(NULL, fx->store, 3, stack, &sb.spec);
        if (rc == 0)
            fail_msg("stack update %zu was accepted", i);
    }
    /* A stack whose first job cannot be made is not made either. */
    static const char first_job[] = "{\"name\":\"t\",\"schedule_id\":9007199254740991}";
    check_ok(jobs_json_decode_stack(&sb, first_job, strlen(first_job), JOBS_JSON_STACK_CREATE));
    assert_true(sb.first_job);
    check_fail(jobs_stack_create_with_job(&other, NULL, fx->store, 3, &sb.spec, &sb.job),
               JOBS_ESCHEDULE, 25, NULL);
    assert_int_equal(jobs_stack_get_by_name(&none, fx->store, 3, "t"), JOBS_ENOTFOUND);

    after = snapshot(fx, stack);
    assert_string_equal(after, before);
    free(before);
    free(after);
}

#define T(f) cmocka_unit_test(f)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_job_prints_ids_up_to_2_53_exactly),
        T(test_stack_body_keeps_blocks_byte_for_byte),
        T(test_stack_body_rules),
        T(test_blocks_with_a_key_twice_are_refused),
        T(test_stack_detail_encodes_owner_fields_only_for_the_owner),
        T(test_stack_detail_shows_blocks_that_are_no_array_as_empty),
        T(test_successful_encoders_leave_the_last_error),
        T(test_inactive_job_has_null_next_run_and_null_name),
        T(test_job_with_owner_flag_adds_owner),
        T(test_names_are_escaped),
        T(test_invalid_utf8_is_written_as_replacement_character),
        T(test_escaped_name_decodes_back_to_itself),
        T(test_job_page_shape),
        T(test_schedule_shapes),
        T(test_stack_shapes),
        T(test_create_and_delete_answers),
        T(test_faults),
        T(test_fault_from_the_decoders_detail),
        T(test_split_envelope),
        T(test_split_envelope_faults),
        T(test_encoders_refuse_null),
        T(test_large_page_encodes_whole),
        T(test_job_create_minimal_defaults),
        T(test_job_create_all_keys),
        T(test_job_null_name_is_given_as_null),
        T(test_job_update_empty_object_changes_nothing),
        T(test_ids_are_exact_integers_in_range),
        T(test_ids_must_be_numbers),
        T(test_numbers_outside_json_grammar_are_syntax_errors),
        T(test_overlong_number_is_refused),
        T(test_overlong_number_in_invalid_json_is_a_syntax_error),
        T(test_booleans_are_true_or_false_only),
        T(test_names_must_be_strings_or_null),
        T(test_names_follow_the_name_rules),
        T(test_unknown_key_is_refused),
        T(test_duplicate_key_is_refused),
        T(test_missing_required_key_is_refused),
        T(test_nul_in_a_string_is_refused),
        T(test_raw_control_characters_are_syntax_errors),
        T(test_invalid_utf8_and_escapes_are_syntax_errors),
        T(test_null_is_refused_where_no_key_takes_it),
        T(test_invalid_json_is_esyntax),
        T(test_trailing_data_is_esyntax),
        T(test_empty_body_is_esyntax),
        T(test_top_level_must_be_an_object),
        T(test_depth_is_bounded),
        T(test_body_size_is_bounded),
        T(test_schedule_create_periodic_by_default),
        T(test_schedule_create_once),
        T(test_schedule_create_needs_config),
        T(test_config_shape_is_econfig),
        T(test_schedule_update_keys_are_optional),
        T(test_stack_create),
        T(test_check_object),
        T(test_check_object_wipes_a_body_that_is_not_an_object),
        T(test_cjson_error_position_is_reset_only_by_decoders),
        cmocka_unit_test_setup_teardown(test_decoded_specs_drive_the_api, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_cron_config, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_a_refused_body_changes_nothing_in_the_store,
                                        fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
