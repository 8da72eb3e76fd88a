/* Stacks: create, get, list, the public flag, required names. */
#include "fixture.h"

#define OWNER 61
#define OTHER 62

static void test_stack_reads_back_as_created(void **state)
{
    fixture *fx = *state;
    uint64_t a = 0, b = 0;
    assert_int_equal(jobs_stack_create(&a, fx->store, OWNER, "private one", false), 0);
    assert_int_equal(jobs_stack_create(&b, fx->store, OWNER, "public one", true), 0);
    assert_true(a >= 1 && b > a);
    jobs_stack *s = NULL;
    assert_int_equal(jobs_stack_get(&s, fx->store, OWNER, a), 0);
    assert_int_equal(s->id, a);
    assert_int_equal(s->owner, OWNER);
    assert_string_equal(s->name, "private one");
    assert_false(s->is_public);
    jobs_stack_free(s);
    s = NULL;
    assert_int_equal(jobs_stack_get(&s, fx->store, OWNER, b), 0);
    assert_string_equal(s->name, "public one");
    assert_true(s->is_public);
    jobs_stack_free(s);
    jobs_store_stat_info info = JOBS_STORE_STAT_INFO_INIT;
    assert_int_equal(jobs_store_stat(&info, fx->store), 0);
    assert_int_equal(info.stacks, 2);
}

static void test_stack_survives_reopen(void **state)
{
    fixture *fx = *state;
    uint64_t a = 0;
    assert_int_equal(jobs_stack_create(&a, fx->store, OWNER, "kept", true), 0);
    fx_reopen(fx);
    jobs_stack *s = NULL;
    assert_int_equal(jobs_stack_get(&s, fx->store, OTHER, a), 0);
    assert_string_equal(s->name, "kept");
    assert_true(s->is_public);
    assert_int_equal(s->owner, OWNER);
    jobs_stack_free(s);
}

static void test_stack_name_is_required_and_checked(void **state)
{
    fixture *fx = *state;
    uint64_t id = 0;
    int rc = jobs_stack_create(&id, fx->store, OWNER, NULL, true);
    assert_int_equal(rc, JOBS_ENAME);
    assert_int_equal(jobs_stack_create(&id, fx->store, OWNER, "", true), JOBS_ENAME);
    assert_int_equal(jobs_stack_create(&id, fx->store, OWNER, "bad\x01", true), JOBS_ENAME);
    assert_int_equal(jobs_stack_create(&id, fx->store, OWNER, "\xc0\xaf", true), JOBS_ENAME);
    jobs_store_stat_info info = JOBS_STORE_STAT_INFO_INIT;
    assert_int_equal(jobs_store_stat(&info, fx->store), 0);
    assert_int_equal(info.stacks, 0);
    jobs_stack_page *p = NULL;
    assert_int_equal(jobs_stack_list(&p, fx->store, OWNER, 1, 0), 0);
    assert_int_equal(p->count, 0);
    jobs_stack_page_free(p);
}

static void test_private_stack_is_invisible_to_others(void **state)
{
    fixture *fx = *state;
    uint64_t a = fx_stack(fx, OWNER, false);
    jobs_stack *s = NULL;
    assert_int_equal(jobs_stack_get(&s, fx->store, OTHER, a), JOBS_ENOTFOUND);
    assert_null(s);
    jobs_stack_page *p = NULL;
    assert_int_equal(jobs_stack_list(&p, fx->store, OTHER, 1, 0), 0);
    assert_int_equal(p->count, 0);
    assert_int_equal(p->n, 0);
    assert_null(p->stacks);
    jobs_stack_page_free(p);
}

static void test_public_stack_is_visible_to_everyone(void **state)
{
    fixture *fx = *state;
    uint64_t a = fx_stack(fx, OWNER, true);
    for (uint64_t owner = 1; owner <= 3; owner++) {
        jobs_stack *s = NULL;
        assert_int_equal(jobs_stack_get(&s, fx->store, owner, a), 0);
        assert_int_equal(s->owner, OWNER);
        jobs_stack_free(s);
        jobs_stack_page *p = NULL;
        assert_int_equal(jobs_stack_list(&p, fx->store, owner, 1, 0), 0);
        assert_int_equal(p->count, 1);
        assert_int_equal(p->stacks[0].id, a);
        jobs_stack_page_free(p);
    }
}

static void test_stack_list_is_public_plus_own_in_id_order(void **state)
{
    fixture *fx = *state;
    /* Interleave: OWNER private, OTHER public, OWNER public, OTHER private ... */
    uint64_t visible[40];
    size_t n_visible = 0;
    for (size_t i = 0; i < 40; i++) {
        uint64_t owner = i % 2 ? OTHER : OWNER;
        bool pub = (i % 4) == 1 || (i % 4) == 2;
        uint64_t id = fx_stack(fx, owner, pub);
        if (owner == OWNER || pub)
            visible[n_visible++] = id;
    }
    assert_int_equal(n_visible, 30);
    const uint32_t sizes[] = {0, 4, 30, 1000};
    for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
        uint32_t eff = sizes[k] == 0 ? 10 : sizes[k];
        size_t seen = 0;
        for (uint64_t page = 1; page <= 30 / eff + 2; page++) {
            jobs_stack_page *p = NULL;
            assert_int_equal(jobs_stack_list(&p, fx->store, OWNER, page, sizes[k]), 0);
            assert_int_equal(p->count, 30);
            assert_int_equal(p->page_size, eff);
            assert_int_equal(p->page, page);
            size_t first = (size_t)(page - 1) * eff;
            size_t n = first >= 30 ? 0 : (30 - first < eff ? 30 - first : eff);
            assert_int_equal(p->n, n);
            for (size_t i = 0; i < p->n; i++)
                assert_int_equal(p->stacks[i].id, visible[first + i]);
            seen += p->n;
            jobs_stack_page_free(p);
        }
        assert_int_equal(seen, 30);
    }
    jobs_stack_page *p = NULL;
    assert_int_equal(jobs_stack_list(&p, fx->store, OWNER, 0, 0), JOBS_EPAGE);
    assert_int_equal(jobs_stack_list(&p, fx->store, OWNER, 1, 1001), JOBS_EINVAL);
    assert_null(p);
    jobs_store_stat_info info = JOBS_STORE_STAT_INFO_INIT;
    assert_int_equal(jobs_store_stat(&info, fx->store), 0);
    assert_int_equal(info.stacks, 40);
}

static void test_missing_stack_is_notfound(void **state)
{
    fixture *fx = *state;
    jobs_stack *s = NULL;
    assert_int_equal(jobs_stack_get(&s, fx->store, OWNER, 1), JOBS_ENOTFOUND);
    assert_int_equal(jobs_stack_get(&s, fx->store, OWNER, 123456), JOBS_ENOTFOUND);
    assert_null(s);
}

#define T(f) cmocka_unit_test_setup_teardown(f, fx_setup, fx_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_stack_reads_back_as_created),
        T(test_stack_survives_reopen),
        T(test_stack_name_is_required_and_checked),
        T(test_private_stack_is_invisible_to_others),
        T(test_public_stack_is_visible_to_everyone),
        T(test_stack_list_is_public_plus_own_in_id_order),
        T(test_missing_stack_is_notfound),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
