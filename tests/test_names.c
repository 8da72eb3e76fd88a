/* Names: the name rules, uniqueness per owner on create and rename, reuse, get_by_name. */
#include "fixture.h"

#include <string.h>

#define OWNER 3
#define OTHER 4

/* Names the rules refuse. The long ones are built at run time (see fill_long_names). */
static const char *const bad_names[] = {
    "",
    "\xff",
    "\xfe",
    "abc\x80",
    "\xc3",             /* truncated 2-byte sequence */
    "\xe2\x82",         /* truncated 3-byte sequence */
    "\xc3\x28",         /* bad continuation byte */
    "a\xe2\x82\x28",    /* bad continuation byte in a 3-byte sequence */
    "\xc0\xaf",         /* overlong '/' */
    "\xc0\x80",         /* overlong NUL */
    "\xc1\xbf",         /* overlong */
    "\xe0\x80\xaf",     /* overlong 3-byte '/' */
    "\xe0\x9f\xbf",     /* overlong 3-byte U+07FF */
    "\xf0\x80\x80\xaf", /* overlong 4-byte '/' */
    "\xf0\x8f\xbf\xbf", /* overlong 4-byte U+FFFF */
    "\xed\xa0\x80",     /* surrogate U+D800 */
    "\xed\xbf\xbf",     /* surrogate U+DFFF */
    "\xf4\x90\x80\x80", /* U+110000 */
    "\xf5\x80\x80\x80",
    "\xf8\x88\x80\x80\x80",
    "\x01",
    "a\x1f",
    "\x1f",
    "\x7f",
    "del\x7f",
    "tab\there",
    "line\n",
    "\r",
    "\x1b[0m",
};

/* Names the rules accept. */
static const char *const good_names[] = {
    "a",
    "job 1",
    " padded ",
    "\xc3\xa9",         /* é */
    "\xe5\x90\x8d\xe5\x89\x8d", /* 名前 */
    "\xf0\x9f\x98\x80", /* U+1F600 */
    "\xf4\x8f\xbf\xbf", /* U+10FFFF */
    "\xe0\xa0\x80",     /* U+0800, smallest 3-byte */
    "\xf0\x90\x80\x80", /* U+10000, smallest 4-byte */
    "\xc2\x80",         /* U+0080, smallest 2-byte */
    "~!@#$%^&*()_+{}|:\"<>?`-=[]\\;',./",
};

/* 256 ASCII bytes, 256 bytes of 2-byte characters, and 255-byte valid names. */
static char long_ascii[257];
static char long_multi[257];
static char max_ascii[256];
static char max_euro[256];  /* 85 x U+20AC (3 bytes) */
static char max_mixed[256]; /* 63 x U+1F600 (4 bytes) + "abc" */

static void fill_long_names(void)
{
    memset(long_ascii, 'a', 256);
    long_ascii[256] = '\0';
    for (size_t i = 0; i < 128; i++)
        memcpy(long_multi + 2 * i, "\xc3\xa9", 2);
    long_multi[256] = '\0';
    memset(max_ascii, 'b', 255);
    max_ascii[255] = '\0';
    for (size_t i = 0; i < 85; i++)
        memcpy(max_euro + 3 * i, "\xe2\x82\xac", 3);
    max_euro[255] = '\0';
    for (size_t i = 0; i < 63; i++)
        memcpy(max_mixed + 4 * i, "\xf0\x9f\x98\x80", 4);
    memcpy(max_mixed + 252, "abc", 4);
}

static int setup(void **state)
{
    fill_long_names();
    return fx_setup(state);
}

static int create_named(fixture *fx, uint64_t owner, uint64_t stack, const char *name,
                        uint64_t *id)
{
    jobs_job_spec spec = JOBS_JOB_SPEC_INIT;
    spec.fields = JOBS_JOB_NAME | JOBS_JOB_STACK | JOBS_JOB_SCHEDULE;
    spec.name = name;
    spec.stack = stack;
    spec.schedule = FX_HOURLY;
    return jobs_create(id, fx->store, owner, &spec);
}

static int rename_job(fixture *fx, uint64_t owner, uint64_t id, const char *name)
{
    jobs_job_spec spec = JOBS_JOB_SPEC_INIT;
    spec.fields = JOBS_JOB_NAME;
    spec.name = name;
    return jobs_update(NULL, fx->store, owner, id, &spec);
}

static void assert_name(fixture *fx, uint64_t owner, uint64_t id, const char *name)
{
    jobs_job *job = fx_get(fx, owner, id);
    fx_assert_name_equal(job->name, name);
    jobs_job_free(job);
}

static void test_name_is_valid_follows_the_rules(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++) {
        if (jobs_name_is_valid(bad_names[i], strlen(bad_names[i])))
            fail_msg("bad name %zu accepted", i);
    }
    for (size_t i = 0; i < sizeof(good_names) / sizeof(good_names[0]); i++) {
        if (!jobs_name_is_valid(good_names[i], strlen(good_names[i])))
            fail_msg("good name %zu refused", i);
    }
    assert_false(jobs_name_is_valid(long_ascii, 256));
    assert_false(jobs_name_is_valid(long_multi, 256));
    assert_true(jobs_name_is_valid(max_ascii, 255));
    assert_true(jobs_name_is_valid(max_euro, 255));
    assert_true(jobs_name_is_valid(max_mixed, 255));
    assert_false(jobs_name_is_valid(NULL, 0));
    assert_false(jobs_name_is_valid(NULL, 3));
    assert_false(jobs_name_is_valid("a\0b", 3));
    /* Only `len` bytes count: a valid prefix of an invalid buffer is valid. */
    assert_true(jobs_name_is_valid("ab\xff", 2));
}

static void test_create_with_bad_name_is_ename_and_changes_nothing(void **state)
{
    fixture *fx = *state;
    uint64_t stack = fx_stack(fx, OWNER, false);
    for (size_t i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++) {
        uint64_t id = 0;
        int rc = create_named(fx, OWNER, stack, bad_names[i], &id);
        if (rc != JOBS_ENAME)
            fail_msg("bad name %zu: %s", i, jobs_err_name(rc));
    }
    assert_int_equal(create_named(fx, OWNER, stack, long_ascii, NULL), JOBS_ENAME);
    assert_int_equal(create_named(fx, OWNER, stack, long_multi, NULL), JOBS_ENAME);
    assert_int_equal(fx_count(fx, OWNER), 0);
    assert_int_equal(fx_stat_jobs(fx), 0);
}

static void test_create_with_good_name_reads_back_byte_for_byte(void **state)
{
    fixture *fx = *state;
    uint64_t stack = fx_stack(fx, OWNER, false);
    for (size_t i = 0; i < sizeof(good_names) / sizeof(good_names[0]); i++) {
        uint64_t id = 0;
        assert_int_equal(create_named(fx, OWNER, stack, good_names[i], &id), 0);
        assert_name(fx, OWNER, id, good_names[i]);
    }
    const char *const longest[] = {max_ascii, max_euro, max_mixed};
    for (size_t i = 0; i < 3; i++) {
        uint64_t id = 0;
        assert_int_equal(create_named(fx, OWNER, stack, longest[i], &id), 0);
        assert_name(fx, OWNER, id, longest[i]);
        assert_int_equal(strlen(longest[i]), 255);
    }
    assert_int_equal(fx_count(fx, OWNER), sizeof(good_names) / sizeof(good_names[0]) + 3);
}

static void test_c1_characters_are_not_controls(void **state)
{
    /* The rules forbid U+0000..U+001F and U+007F only; U+0085 (NEL) is valid UTF-8 and allowed. */
    fixture *fx = *state;
    uint64_t stack = fx_stack(fx, OWNER, false);
    assert_true(jobs_name_is_valid("\xc2\x85", 2));
    assert_true(jobs_name_is_valid("\xc2\x9f", 2));
    uint64_t id = 0;
    assert_int_equal(create_named(fx, OWNER, stack, "\xc2\x85", &id), 0);
    assert_name(fx, OWNER, id, "\xc2\x85");
}

static void test_rename_to_bad_name_is_ename_and_changes_nothing(void **state)
{
    fixture *fx = *state;
    uint64_t stack = fx_stack(fx, OWNER, false);
    uint64_t id = fx_job(fx, OWNER, "keep", stack, FX_HOURLY, false);
    for (size_t i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++) {
        int rc = rename_job(fx, OWNER, id, bad_names[i]);
        if (rc != JOBS_ENAME)
            fail_msg("bad name %zu: %s", i, jobs_err_name(rc));
    }
    assert_int_equal(rename_job(fx, OWNER, id, long_ascii), JOBS_ENAME);
    assert_name(fx, OWNER, id, "keep");
}

static void test_duplicate_name_for_same_owner_is_eexists(void **state)
{
    fixture *fx = *state;
    uint64_t stack = fx_stack(fx, OWNER, false);
    uint64_t first = fx_job(fx, OWNER, "nightly", stack, FX_DAILY, true);
    uint64_t id = 0;
    assert_int_equal(create_named(fx, OWNER, stack, "nightly", &id), JOBS_EEXISTS);
    assert_int_equal(jobs_fault_code(JOBS_EEXISTS), 12);
    assert_int_equal(fx_count(fx, OWNER), 1);
    assert_name(fx, OWNER, first, "nightly");
}

static void test_names_are_compared_byte_for_byte(void **state)
{
    fixture *fx = *state;
    uint64_t stack = fx_stack(fx, OWNER, false);
    fx_job(fx, OWNER, "Job", stack, FX_HOURLY, false);
    fx_job(fx, OWNER, "job", stack, FX_HOURLY, false);
    fx_job(fx, OWNER, "job ", stack, FX_HOURLY, false);
    fx_job(fx, OWNER, "caf\xc3\xa9", stack, FX_HOURLY, false);  /* precomposed é */
    fx_job(fx, OWNER, "cafe\xcc\x81", stack, FX_HOURLY, false); /* e + combining acute */
    fx_job(fx, OWNER, "jo", stack, FX_HOURLY, false);
    assert_int_equal(fx_count(fx, OWNER), 6);
    assert_int_equal(create_named(fx, OWNER, stack, "caf\xc3\xa9", NULL), JOBS_EEXISTS);
}

static void test_same_name_for_different_owners_is_allowed(void **state)
{
    fixture *fx = *state;
    uint64_t s1 = fx_stack(fx, OWNER, false);
    uint64_t s2 = fx_stack(fx, OTHER, false);
    uint64_t a = fx_job(fx, OWNER, "backup", s1, FX_DAILY, false);
    uint64_t b = fx_job(fx, OTHER, "backup", s2, FX_DAILY, false);
    assert_true(b > a);
    assert_name(fx, OWNER, a, "backup");
    assert_name(fx, OTHER, b, "backup");
    /* And renaming into a name another owner uses is fine too. */
    uint64_t c = fx_job(fx, OTHER, "other", s2, FX_DAILY, false);
    uint64_t d = fx_job(fx, OWNER, "mine", s1, FX_DAILY, false);
    assert_int_equal(rename_job(fx, OWNER, d, "other"), 0);
    assert_name(fx, OTHER, c, "other");
    assert_name(fx, OWNER, d, "other");
}

static void test_null_names_never_collide(void **state)
{
    fixture *fx = *state;
    uint64_t stack = fx_stack(fx, OWNER, false);
    for (int i = 0; i < 5; i++) {
        uint64_t id = 0;
        assert_int_equal(create_named(fx, OWNER, stack, NULL, &id), 0);
        assert_name(fx, OWNER, id, NULL);
    }
    /* Without the NAME bit the name defaults to NULL as well. */
    jobs_job_spec spec = JOBS_JOB_SPEC_INIT;
    spec.fields = JOBS_JOB_STACK | JOBS_JOB_SCHEDULE;
    spec.stack = stack;
    spec.schedule = FX_HOURLY;
    uint64_t id = 0;
    assert_int_equal(jobs_create(&id, fx->store, OWNER, &spec), 0);
    assert_name(fx, OWNER, id, NULL);
    /* Renaming a named job to NULL never collides with the other NULL names. */
    uint64_t named = fx_job(fx, OWNER, "x", stack, FX_HOURLY, false);
    assert_int_equal(rename_job(fx, OWNER, named, NULL), 0);
    assert_name(fx, OWNER, named, NULL);
    assert_int_equal(fx_count(fx, OWNER), 7);
}

static void test_rename_to_used_name_is_eexists_and_changes_nothing(void **state)
{
    fixture *fx = *state;
    uint64_t stack = fx_stack(fx, OWNER, false);
    uint64_t a = fx_job(fx, OWNER, "alpha", stack, FX_HOURLY, false);
    uint64_t b = fx_job(fx, OWNER, "beta", stack, FX_HOURLY, false);
    jobs_job_spec spec = JOBS_JOB_SPEC_INIT;
    spec.fields = JOBS_JOB_NAME | JOBS_JOB_ENABLED;
    spec.name = "alpha";
    spec.enabled = true;
    assert_int_equal(jobs_update(NULL, fx->store, OWNER, b, &spec), JOBS_EEXISTS);
    jobs_job *job = fx_get(fx, OWNER, b);
    assert_string_equal(job->name, "beta");
    assert_false(job->do_run);
    jobs_job_free(job);
    assert_name(fx, OWNER, a, "alpha");
    /* The refused rename did not free "beta" nor take "alpha". */
    assert_int_equal(create_named(fx, OWNER, stack, "beta", NULL), JOBS_EEXISTS);
}

static void test_rename_to_own_current_name_is_fine(void **state)
{
    fixture *fx = *state;
    uint64_t stack = fx_stack(fx, OWNER, false);
    uint64_t a = fx_job(fx, OWNER, "same", stack, FX_HOURLY, false);
    jobs_job *out = NULL;
    jobs_job_spec spec = JOBS_JOB_SPEC_INIT;
    spec.fields = JOBS_JOB_NAME;
    spec.name = "same";
    assert_int_equal(jobs_update(&out, fx->store, OWNER, a, &spec), 0);
    assert_non_null(out);
    assert_string_equal(out->name, "same");
    jobs_job_free(out);
    assert_name(fx, OWNER, a, "same");
    /* The name is still held by that job. */
    assert_int_equal(create_named(fx, OWNER, stack, "same", NULL), JOBS_EEXISTS);
}

static void test_delete_frees_the_name(void **state)
{
    fixture *fx = *state;
    uint64_t stack = fx_stack(fx, OWNER, false);
    uint64_t a = fx_job(fx, OWNER, "reuse", stack, FX_HOURLY, false);
    jobs_delete_outcome outcome = 0;
    assert_int_equal(jobs_delete(&outcome, fx->store, OWNER, a), 0);
    assert_int_equal(outcome, JOBS_DELETED);
    uint64_t b = 0;
    assert_int_equal(create_named(fx, OWNER, stack, "reuse", &b), 0);
    assert_true(b > a);
    jobs_job *job = NULL;
    assert_int_equal(jobs_get_by_name(&job, fx->store, OWNER, "reuse"), 0);
    assert_int_equal(job->id, b);
    jobs_job_free(job);
}

static void test_rename_frees_the_old_name(void **state)
{
    fixture *fx = *state;
    uint64_t stack = fx_stack(fx, OWNER, false);
    uint64_t a = fx_job(fx, OWNER, "old", stack, FX_HOURLY, false);
    assert_int_equal(rename_job(fx, OWNER, a, "new"), 0);
    jobs_job *job = NULL;
    assert_int_equal(jobs_get_by_name(&job, fx->store, OWNER, "old"), JOBS_ENOTFOUND);
    assert_int_equal(jobs_get_by_name(&job, fx->store, OWNER, "new"), 0);
    assert_int_equal(job->id, a);
    jobs_job_free(job);
    uint64_t b = fx_job(fx, OWNER, "old", stack, FX_HOURLY, false);
    assert_name(fx, OWNER, b, "old");
    /* Renaming to NULL frees the name as well. */
    assert_int_equal(rename_job(fx, OWNER, a, NULL), 0);
    uint64_t c = fx_job(fx, OWNER, "new", stack, FX_HOURLY, false);
    assert_name(fx, OWNER, c, "new");
}

static void test_get_by_name_finds_the_job(void **state)
{
    fixture *fx = *state;
    uint64_t stack = fx_stack(fx, OWNER, false);
    fx_job(fx, OWNER, "one", stack, FX_HOURLY, false);
    uint64_t two = fx_job(fx, OWNER, max_euro, stack, FX_DAILY, true);
    jobs_job *job = NULL;
    assert_int_equal(jobs_get_by_name(&job, fx->store, OWNER, max_euro), 0);
    jobs_job *by_id = fx_get(fx, OWNER, two);
    fx_assert_job_equal(job, by_id);
    jobs_job_free(job);
    jobs_job_free(by_id);
    job = NULL;
    assert_int_equal(jobs_get_by_name(&job, fx->store, OWNER, "on"), JOBS_ENOTFOUND);
    assert_int_equal(jobs_get_by_name(&job, fx->store, OWNER, "one "), JOBS_ENOTFOUND);
    assert_null(job);
}

static void test_get_by_bad_name_is_ename(void **state)
{
    fixture *fx = *state;
    jobs_job *job = NULL;
    for (size_t i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++) {
        int rc = jobs_get_by_name(&job, fx->store, OWNER, bad_names[i]);
        if (rc != JOBS_ENAME)
            fail_msg("bad name %zu: %s", i, jobs_err_name(rc));
    }
    assert_int_equal(jobs_get_by_name(&job, fx->store, OWNER, long_ascii), JOBS_ENAME);
    assert_null(job);
    /* A NULL name is not a name: an argument error of either kind, never a crash. */
    int rc = jobs_get_by_name(&job, fx->store, OWNER, NULL);
    assert_int_equal(rc, JOBS_ENAME);
}

static void test_stack_and_schedule_names_follow_the_rules(void **state)
{
    fixture *fx = *state;
    for (size_t i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++) {
        int rc = jobs_stack_create(NULL, fx->store, OWNER, bad_names[i], false);
        if (rc != JOBS_ENAME)
            fail_msg("stack, bad name %zu: %s", i, jobs_err_name(rc));
        jobs_schedule_spec spec = JOBS_SCHEDULE_SPEC_INIT;
        spec.fields = JOBS_SCHEDULE_NAME | JOBS_SCHEDULE_CONFIG;
        spec.name = bad_names[i];
        spec.period = 60;
        rc = jobs_schedule_create(NULL, fx->store, OWNER, &spec);
        if (rc != JOBS_ENAME)
            fail_msg("schedule, bad name %zu: %s", i, jobs_err_name(rc));
    }
    uint64_t id = 0;
    assert_int_equal(jobs_stack_create(&id, fx->store, OWNER, max_euro, true), 0);
    jobs_stack *stack = NULL;
    assert_int_equal(jobs_stack_get(&stack, fx->store, OWNER, id), 0);
    assert_string_equal(stack->name, max_euro);
    jobs_stack_free(stack);

    jobs_schedule_spec spec = JOBS_SCHEDULE_SPEC_INIT;
    spec.fields = JOBS_SCHEDULE_NAME | JOBS_SCHEDULE_CONFIG;
    spec.name = max_mixed;
    spec.period = 60;
    assert_int_equal(jobs_schedule_create(&id, fx->store, OWNER, &spec), 0);
    jobs_schedule *s = NULL;
    assert_int_equal(jobs_schedule_get(&s, fx->store, OWNER, id), 0);
    assert_string_equal(s->name, max_mixed);
    jobs_schedule_free(s);

    jobs_store_stat_info info = JOBS_STORE_STAT_INFO_INIT;
    assert_int_equal(jobs_store_stat(&info, fx->store), 0);
    assert_int_equal(info.stacks, 1);
    assert_int_equal(info.schedules, 6);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, fx_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_name_is_valid_follows_the_rules),
        T(test_create_with_bad_name_is_ename_and_changes_nothing),
        T(test_create_with_good_name_reads_back_byte_for_byte),
        T(test_c1_characters_are_not_controls),
        T(test_rename_to_bad_name_is_ename_and_changes_nothing),
        T(test_duplicate_name_for_same_owner_is_eexists),
        T(test_names_are_compared_byte_for_byte),
        T(test_same_name_for_different_owners_is_allowed),
        T(test_null_names_never_collide),
        T(test_rename_to_used_name_is_eexists_and_changes_nothing),
        T(test_rename_to_own_current_name_is_fine),
        T(test_delete_frees_the_name),
        T(test_rename_frees_the_old_name),
        T(test_get_by_name_finds_the_job),
        T(test_get_by_bad_name_is_ename),
        T(test_stack_and_schedule_names_follow_the_rules),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
