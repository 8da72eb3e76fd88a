/* Error codes: messages, names, fault numbers, the per-thread detail, and the version. */
#include "fixture.h"

#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OWNER 71

typedef struct row {
    int code;
    const char *name;
    int fault;
    const char *message;
} row;

static const row table[] = {
#define ROW(name, code, fault, msg) {code, "JOBS_" #name, fault, msg},
    JOBS_ERRNO_MAP(ROW)
#undef ROW
};
#define ROWS (sizeof(table) / sizeof(table[0]))

static void test_every_code_has_its_message_name_and_fault(void **state)
{
    (void)state;
    assert_true(ROWS >= 20);
    for (size_t i = 0; i < ROWS; i++) {
        assert_true(table[i].code < 0);
        assert_string_equal(jobs_strerror(table[i].code), table[i].message);
        assert_string_equal(jobs_err_name(table[i].code), table[i].name);
        assert_int_equal(jobs_fault_code(table[i].code), table[i].fault);
        for (size_t j = 0; j < i; j++)
            assert_int_not_equal(table[i].code, table[j].code);
    }
}

/* Codes are never renumbered, faults are the HTTP contract's, and no code goes away: every code
 * with its number and fault, written out here rather than taken from JOBS_ERRNO_MAP (the table
 * above is, so a change to the map would be mirrored there). A new code is added to both. */
static void test_codes_and_faults_are_fixed(void **state)
{
    static const row fixed[] = {
        {-1, "JOBS_EINVAL", 4, NULL},        {-2, "JOBS_ENOMEM", 106, NULL},
        {-3, "JOBS_ENOTFOUND", 6, NULL},     {-4, "JOBS_ENAME", 4, NULL},
        {-5, "JOBS_ERANGE", 4, NULL},        {-6, "JOBS_EEXISTS", 12, NULL},
        {-7, "JOBS_ESTACK", 24, NULL},       {-8, "JOBS_ESCHEDULE", 25, NULL},
        {-9, "JOBS_ECONFIG", 26, NULL},      {-10, "JOBS_EINUSE", 27, NULL},
        {-11, "JOBS_EQUEUED", 104, NULL},    {-12, "JOBS_EPAGE", 1, NULL},
        {-13, "JOBS_ENOSPC", 105, NULL},     {-14, "JOBS_ESCHEMA", 106, NULL},
        {-15, "JOBS_ECORRUPT", 106, NULL},   {-16, "JOBS_EIO", 106, NULL},
        {-17, "JOBS_EREADERS", 106, NULL},   {-18, "JOBS_EBUSY", 106, NULL},
        {-19, "JOBS_EVERSION", 106, NULL},   {-20, "JOBS_EOWNER", 4, NULL},
        {-21, "JOBS_ESYNTAX", 2, NULL},      {-22, "JOBS_EBODY", 4, NULL},
        {-23, "JOBS_ECHANGED", 109, NULL},   {-24, "JOBS_EIDEMPOTENCY", 110, NULL},
        {-25, "JOBS_EREADONLY", 106, NULL},  {-26, "JOBS_EPUBLIC", 111, NULL},
        {-27, "JOBS_ESTACKEXISTS", 10, NULL}, {-32, "JOBS_ERUNSTATE", 122, NULL},
        {-37, "JOBS_EUNAVAILABLE", 128, NULL}, {-38, "JOBS_ENOTSUP", 129, NULL},
        {-39, "JOBS_ECONFLICT", 130, NULL},  {-41, "JOBS_EWEBHOOK", 131, NULL},
        {-45, "JOBS_EBATCH", 137, NULL},
    };
    const size_t n = sizeof(fixed) / sizeof(fixed[0]);

    (void)state;
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(jobs_err_name(fixed[i].code), fixed[i].name);
        assert_int_equal(jobs_fault_code(fixed[i].code), fixed[i].fault);
        assert_string_not_equal(jobs_strerror(fixed[i].code), "unknown error");
    }
    /* And the header's table holds these and no others. */
    assert_int_equal(ROWS, n);
    for (size_t i = 0; i < ROWS; i++) {
        size_t j = 0;

        while (j < n && fixed[j].code != table[i].code)
            j++;
        if (j == n || strcmp(fixed[j].name, table[i].name) != 0 || fixed[j].fault != table[i].fault)
            fail_msg("%s (%d, fault %d) is not in the fixed list", table[i].name, table[i].code,
                     table[i].fault);
    }
}

static void test_fault_codes_match_the_http_contract(void **state)
{
    (void)state;
    const int pairs[][2] = {
        {JOBS_EPAGE, 1},     {JOBS_EINVAL, 4},     {JOBS_ENAME, 4},      {JOBS_ERANGE, 4},
        {JOBS_EOWNER, 4},    {JOBS_ENOTFOUND, 6},  {JOBS_EEXISTS, 12},   {JOBS_ESTACK, 24},
        {JOBS_ESCHEDULE, 25}, {JOBS_ECONFIG, 26},  {JOBS_EINUSE, 27},    {JOBS_EQUEUED, 104},
        {JOBS_ENOSPC, 105},  {JOBS_ENOMEM, 106},   {JOBS_EIO, 106},
    };
    for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++)
        assert_int_equal(jobs_fault_code(pairs[i][0]), pairs[i][1]);
    assert_int_equal(JOBS_ENOTFOUND, -3);
    assert_int_equal(JOBS_EOWNER, -20);
    assert_string_equal(jobs_err_name(JOBS_ENOTFOUND), "JOBS_ENOTFOUND");
    assert_string_equal(jobs_strerror(JOBS_ENOTFOUND), "no such object");
}

static void test_success_has_its_own_answers(void **state)
{
    (void)state;
    assert_string_equal(jobs_strerror(0), "success");
    assert_string_equal(jobs_err_name(0), "JOBS_OK");
    assert_int_equal(jobs_fault_code(0), 0);
}

static void test_unknown_codes_answer_unknown(void **state)
{
    (void)state;
    int lowest = 0;
    for (size_t i = 0; i < ROWS; i++)
        lowest = table[i].code < lowest ? table[i].code : lowest;
    const int unknown[] = {1, 2, 100, lowest - 1, -1000, -99999, INT_MIN, INT_MAX};
    for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
        assert_string_equal(jobs_strerror(unknown[i]), "unknown error");
        assert_string_equal(jobs_err_name(unknown[i]), "JOBS_EUNKNOWN");
        assert_int_equal(jobs_fault_code(unknown[i]), 106);
    }
}

static void test_version_matches_the_header(void **state)
{
    (void)state;
    assert_int_equal(jobs_version(), JOBS_VERSION_NUMBER);
    assert_string_equal(jobs_version_string(), JOBS_VERSION_STRING);
    assert_int_equal(JOBS_VERSION_NUMBER,
                     JOBS_VERSION_MAJOR * 1000000 + JOBS_VERSION_MINOR * 1000 +
                         JOBS_VERSION_PATCH);
}

static void *fresh_thread_detail(void *p)
{
    const char *last = jobs_error_last();
    *(int *)p = last != NULL && last[0] == '\0';
    return NULL;
}

static void test_error_detail_is_empty_before_any_failure(void **state)
{
    (void)state;
    int empty = 0;
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, fresh_thread_detail, &empty), 0);
    pthread_join(t, NULL);
    assert_true(empty);
}

static void test_error_detail_names_the_conflicting_name(void **state)
{
    fixture *fx = *state;
    uint64_t stack = fx_stack(fx, OWNER, false);
    uint64_t first = fx_job(fx, OWNER, "quarterly-report", stack, FX_DAILY, false);
    jobs_job_spec spec = JOBS_JOB_SPEC_INIT;
    spec.fields = JOBS_JOB_NAME | JOBS_JOB_STACK | JOBS_JOB_SCHEDULE;
    spec.name = "quarterly-report";
    spec.stack = stack;
    spec.schedule = FX_DAILY;
    assert_int_equal(jobs_create(NULL, fx->store, OWNER, &spec), JOBS_EEXISTS);
    const char *last = jobs_error_last();
    assert_non_null(last);
    assert_non_null(strstr(last, "quarterly-report"));

    /* A successful call leaves the detail as it was. */
    char copy[512];
    snprintf(copy, sizeof(copy), "%s", last);
    jobs_job_free(fx_get(fx, OWNER, first));
    assert_string_equal(jobs_error_last(), copy);

    /* Another failure replaces it. */
    jobs_job *job = NULL;
    assert_int_equal(jobs_get(&job, fx->store, OWNER, 987654), JOBS_ENOTFOUND);
    last = jobs_error_last();
    assert_true(last[0] != '\0');
    assert_null(strstr(last, "quarterly-report"));
}

static void test_every_failure_leaves_a_detail(void **state)
{
    fixture *fx = *state;
    jobs_job *job = NULL;
    jobs_job_page *page = NULL;
    const char *last;

    assert_int_equal(jobs_list(&page, fx->store, OWNER, 0, 0), JOBS_EPAGE);
    last = jobs_error_last();
    assert_true(last[0] != '\0');
    assert_int_equal(jobs_get(&job, fx->store, 0, 1), JOBS_EOWNER);
    last = jobs_error_last();
    assert_true(last[0] != '\0');
    assert_int_equal(jobs_get(&job, fx->store, OWNER, 0), JOBS_ERANGE);
    last = jobs_error_last();
    assert_true(last[0] != '\0');
    jobs_schedule_spec spec = JOBS_SCHEDULE_SPEC_INIT;
    spec.fields = JOBS_SCHEDULE_CONFIG;
    spec.period = 59;
    assert_int_equal(jobs_schedule_create(NULL, fx->store, OWNER, &spec), JOBS_ECONFIG);
    last = jobs_error_last();
    assert_true(last[0] != '\0');
    assert_int_equal(jobs_get(&job, NULL, OWNER, 1), JOBS_EINVAL);
    last = jobs_error_last();
    assert_true(last[0] != '\0');
}

typedef struct detail_arg {
    fixture *fx;
    uint64_t stack;
    int rc;
    int mentions_own;
    int mentions_other;
} detail_arg;

static void *other_thread_fails(void *p)
{
    detail_arg *a = p;
    jobs_job_spec spec = JOBS_JOB_SPEC_INIT;
    spec.fields = JOBS_JOB_NAME | JOBS_JOB_STACK | JOBS_JOB_SCHEDULE;
    spec.name = "beta-name";
    spec.stack = a->stack;
    spec.schedule = FX_DAILY;
    a->rc = jobs_create(NULL, a->fx->store, OWNER, &spec);
    const char *last = jobs_error_last();
    a->mentions_own = strstr(last, "beta-name") != NULL;
    a->mentions_other = strstr(last, "alpha-name") != NULL;
    return NULL;
}

static void test_error_detail_is_per_thread(void **state)
{
    fixture *fx = *state;
    uint64_t stack = fx_stack(fx, OWNER, false);
    fx_job(fx, OWNER, "alpha-name", stack, FX_DAILY, false);
    fx_job(fx, OWNER, "beta-name", stack, FX_DAILY, false);
    jobs_job_spec spec = JOBS_JOB_SPEC_INIT;
    spec.fields = JOBS_JOB_NAME | JOBS_JOB_STACK | JOBS_JOB_SCHEDULE;
    spec.name = "alpha-name";
    spec.stack = stack;
    spec.schedule = FX_DAILY;
    assert_int_equal(jobs_create(NULL, fx->store, OWNER, &spec), JOBS_EEXISTS);
    assert_non_null(strstr(jobs_error_last(), "alpha-name"));

    detail_arg arg = {fx, stack, 0, 0, 0};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, other_thread_fails, &arg), 0);
    pthread_join(t, NULL);
    assert_int_equal(arg.rc, JOBS_EEXISTS);
    assert_true(arg.mentions_own);
    assert_false(arg.mentions_other);

    const char *last = jobs_error_last();
    assert_non_null(strstr(last, "alpha-name"));
    assert_null(strstr(last, "beta-name"));
}

#define T(f) cmocka_unit_test_setup_teardown(f, fx_setup, fx_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_code_has_its_message_name_and_fault),
        cmocka_unit_test(test_codes_and_faults_are_fixed),
        cmocka_unit_test(test_fault_codes_match_the_http_contract),
        cmocka_unit_test(test_success_has_its_own_answers),
        cmocka_unit_test(test_unknown_codes_answer_unknown),
        cmocka_unit_test(test_version_matches_the_header),
        cmocka_unit_test(test_error_detail_is_empty_before_any_failure),
        T(test_error_detail_names_the_conflicting_name),
        T(test_every_failure_leaves_a_detail),
        T(test_error_detail_is_per_thread),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
