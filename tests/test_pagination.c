/* Pagination of jobs_list(): page edges, page sizes, id order, the page's fields. */
#include "fixture.h"

#include <stdlib.h>

#define OWNER 7

/* Creates n jobs for OWNER (plus, when noise, jobs of other owners between them). */
static void make_jobs(fixture *fx, size_t n, uint64_t *ids, bool noise)
{
    uint64_t stack = fx_stack(fx, OWNER, false);
    uint64_t other_stack = fx_stack(fx, OWNER + 1, false);
    for (size_t i = 0; i < n; i++) {
        if (noise)
            fx_job(fx, OWNER + 1, NULL, other_stack, FX_HOURLY, false);
        ids[i] = fx_job(fx, OWNER, NULL, stack, FX_HOURLY, false);
        if (i > 0)
            assert_true(ids[i] > ids[i - 1]);
    }
}

static jobs_job_page *list(fixture *fx, uint64_t page, uint32_t page_size)
{
    jobs_job_page *out = NULL;
    int rc = jobs_list(&out, fx->store, OWNER, page, page_size);
    assert_int_equal(rc, 0);
    assert_non_null(out);
    return out;
}

/* Asserts the page's fields, and that its jobs are ids[first .. first + n). */
static void check_page(const jobs_job_page *p, uint64_t count, uint32_t page_size, uint64_t page,
                       size_t n, const uint64_t *ids, size_t first)
{
    assert_int_equal(p->count, count);
    assert_int_equal(p->page_size, page_size);
    assert_int_equal(p->page, page);
    assert_int_equal(p->n, n);
    if (n == 0) {
        assert_null(p->jobs);
        return;
    }
    assert_non_null(p->jobs);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(p->jobs[i].id, ids[first + i]);
        assert_int_equal(p->jobs[i].owner, OWNER);
    }
}

/* Walks every page of size `page_size` (0: default `eff`) plus one past the end. */
static void check_all_pages(fixture *fx, const uint64_t *ids, size_t total, uint32_t page_size,
                            uint32_t eff)
{
    size_t pages = (total + eff - 1) / eff;
    for (uint64_t pg = 1; pg <= pages + 1; pg++) {
        jobs_job_page *p = list(fx, pg, page_size);
        size_t first = (size_t)(pg - 1) * eff;
        size_t n = first >= total ? 0 : (total - first < eff ? total - first : eff);
        check_page(p, total, eff, pg, n, ids, first);
        jobs_job_page_free(p);
    }
}

static void test_list_of_no_jobs_is_empty(void **state)
{
    fixture *fx = *state;
    jobs_job_page *p = list(fx, 1, 0);
    check_page(p, 0, 10, 1, 0, NULL, 0);
    jobs_job_page_free(p);
    p = list(fx, 2, 0);
    check_page(p, 0, 10, 2, 0, NULL, 0);
    jobs_job_page_free(p);
}

static void test_list_of_ten_jobs_is_one_full_page(void **state)
{
    fixture *fx = *state;
    uint64_t ids[10];
    make_jobs(fx, 10, ids, false);
    check_all_pages(fx, ids, 10, 0, 10);
}

static void test_list_of_eleven_jobs_spills_one_onto_page_two(void **state)
{
    fixture *fx = *state;
    uint64_t ids[11];
    make_jobs(fx, 11, ids, false);
    jobs_job_page *p = list(fx, 2, 0);
    check_page(p, 11, 10, 2, 1, ids, 10);
    jobs_job_page_free(p);
    check_all_pages(fx, ids, 11, 0, 10);
}

static void test_list_of_23_jobs_is_three_pages_in_id_order(void **state)
{
    fixture *fx = *state;
    uint64_t ids[23];
    make_jobs(fx, 23, ids, false);
    check_all_pages(fx, ids, 23, 0, 10);
    jobs_job_page *p = list(fx, 3, 0);
    check_page(p, 23, 10, 3, 3, ids, 20);
    jobs_job_page_free(p);
}

static void test_page_past_the_end_is_empty_with_count(void **state)
{
    fixture *fx = *state;
    uint64_t ids[23];
    make_jobs(fx, 23, ids, false);
    const uint64_t pages[] = {4, 5, 1000, (uint64_t)1 << 40, JOBS_ID_MAX, UINT64_MAX};
    for (size_t i = 0; i < sizeof(pages) / sizeof(pages[0]); i++) {
        jobs_job_page *p = list(fx, pages[i], 0);
        check_page(p, 23, 10, pages[i], 0, ids, 0);
        jobs_job_page_free(p);
    }
    /* A huge page size times a huge page number must not wrap around either. */
    jobs_job_page *p = list(fx, UINT64_MAX, 1000);
    check_page(p, 23, 1000, UINT64_MAX, 0, ids, 0);
    jobs_job_page_free(p);
}

static void test_page_zero_is_refused(void **state)
{
    fixture *fx = *state;
    uint64_t ids[3];
    make_jobs(fx, 3, ids, false);
    jobs_job_page *p = NULL;
    assert_int_equal(jobs_list(&p, fx->store, OWNER, 0, 0), JOBS_EPAGE);
    jobs_job_page_free(p);
    p = NULL;
    assert_int_equal(jobs_list(&p, fx->store, OWNER, 0, 5), JOBS_EPAGE);
    jobs_job_page_free(p);
    assert_int_equal(jobs_fault_code(JOBS_EPAGE), 1);
}

static void test_page_size_zero_means_default_ten(void **state)
{
    fixture *fx = *state;
    uint64_t ids[23];
    make_jobs(fx, 23, ids, false);
    jobs_job_page *p = list(fx, 1, 0);
    check_page(p, 23, 10, 1, 10, ids, 0);
    jobs_job_page_free(p);
}

static void test_explicit_page_sizes_are_honoured(void **state)
{
    fixture *fx = *state;
    uint64_t ids[23];
    make_jobs(fx, 23, ids, false);
    const uint32_t sizes[] = {1, 2, 5, 7, 10, 11, 22, 23, 24, 1000};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
        check_all_pages(fx, ids, 23, sizes[i], sizes[i]);
}

static void test_page_size_over_1000_is_refused(void **state)
{
    fixture *fx = *state;
    uint64_t ids[3];
    make_jobs(fx, 3, ids, false);
    const uint32_t sizes[] = {1001, 5000, UINT32_MAX};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        jobs_job_page *p = NULL;
        assert_int_equal(jobs_list(&p, fx->store, OWNER, 1, sizes[i]), JOBS_EINVAL);
        jobs_job_page_free(p);
    }
}

static void test_store_default_page_size_applies_to_page_size_zero(void **state)
{
    fixture *fx = *state;
    fx->opts.page_size = 7;
    fx_open(fx);
    uint64_t ids[23];
    make_jobs(fx, 23, ids, false);
    check_all_pages(fx, ids, 23, 0, 7);
    /* An explicit size still wins. */
    check_all_pages(fx, ids, 23, 10, 10);
}

static void test_pages_hold_only_the_owners_jobs_when_interleaved(void **state)
{
    fixture *fx = *state;
    uint64_t ids[23];
    make_jobs(fx, 23, ids, true);
    check_all_pages(fx, ids, 23, 0, 10);
    check_all_pages(fx, ids, 23, 4, 4);
}

static void test_pages_skip_deleted_jobs_in_id_order(void **state)
{
    fixture *fx = *state;
    uint64_t ids[23];
    make_jobs(fx, 23, ids, true);
    /* Delete the first, one in the middle of each page and the last. */
    const size_t gone[] = {0, 5, 10, 15, 22};
    for (size_t i = 0; i < sizeof(gone) / sizeof(gone[0]); i++) {
        jobs_delete_outcome outcome = 0;
        assert_int_equal(jobs_delete(&outcome, fx->store, OWNER, ids[gone[i]]), 0);
        assert_int_equal(outcome, JOBS_DELETED);
    }
    uint64_t left[23];
    size_t n = 0;
    for (size_t i = 0; i < 23; i++) {
        bool deleted = false;
        for (size_t j = 0; j < sizeof(gone) / sizeof(gone[0]); j++)
            deleted = deleted || gone[j] == i;
        if (!deleted)
            left[n++] = ids[i];
    }
    assert_int_equal(n, 18);
    check_all_pages(fx, left, n, 0, 10);
    check_all_pages(fx, left, n, 3, 3);
}

static void test_page_jobs_carry_their_fields(void **state)
{
    fixture *fx = *state;
    uint64_t stack = fx_stack(fx, OWNER, false);
    uint64_t a = fx_job(fx, OWNER, "alpha", stack, FX_EVERY_5_MINUTES, true);
    uint64_t b = fx_job(fx, OWNER, NULL, stack, FX_DAILY, false);
    jobs_job_page *p = list(fx, 1, 0);
    assert_int_equal(p->n, 2);
    jobs_job *ja = fx_get(fx, OWNER, a);
    jobs_job *jb = fx_get(fx, OWNER, b);
    fx_assert_job_equal(&p->jobs[0], ja);
    fx_assert_job_equal(&p->jobs[1], jb);
    assert_string_equal(p->jobs[0].name, "alpha");
    assert_true(p->jobs[0].do_run);
    assert_int_equal(p->jobs[0].next_run, FX_T0 + 300);
    assert_null(p->jobs[1].name);
    assert_false(p->jobs[1].do_run);
    jobs_job_free(ja);
    jobs_job_free(jb);
    jobs_job_page_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_list_of_no_jobs_is_empty, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_list_of_ten_jobs_is_one_full_page, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_list_of_eleven_jobs_spills_one_onto_page_two,
                                        fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_list_of_23_jobs_is_three_pages_in_id_order,
                                        fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_page_past_the_end_is_empty_with_count, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_page_zero_is_refused, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_page_size_zero_means_default_ten, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_explicit_page_sizes_are_honoured, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_page_size_over_1000_is_refused, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_store_default_page_size_applies_to_page_size_zero,
                                        fx_setup_closed, fx_teardown),
        cmocka_unit_test_setup_teardown(test_pages_hold_only_the_owners_jobs_when_interleaved,
                                        fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_pages_skip_deleted_jobs_in_id_order, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_page_jobs_carry_their_fields, fx_setup,
                                        fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
