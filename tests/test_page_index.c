/* The counted page index (lib/rank.c): every page of every owner stays exact while jobs are
 * created, deleted at once, queued for deletion and deleted by the scheduler, across many rank
 * buckets (32 insertions each); and a schema 1 store, which had no such index, gets one at open.
 * Checked against a model: the sorted ids each owner should have. */
#include "fixture.h"

#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OWNERS 3
#define MAX_JOBS 4096

typedef struct model {
    uint64_t ids[OWNERS][MAX_JOBS]; /* live ids per owner, ascending */
    size_t n[OWNERS];
    uint64_t stack[OWNERS];
    uint64_t rng;
} model;

static uint64_t next_rand(model *m)
{
    /* xorshift64: deterministic, so a failure replays */
    m->rng ^= m->rng << 13;
    m->rng ^= m->rng >> 7;
    m->rng ^= m->rng << 17;
    return m->rng;
}

static uint64_t owner_of(size_t o)
{
    return 10 + o;
}

static void model_remove(model *m, size_t o, size_t at)
{
    memmove(&m->ids[o][at], &m->ids[o][at + 1], (m->n[o] - at - 1) * sizeof(uint64_t));
    m->n[o]--;
}

static void create(fixture *fx, model *m, size_t o, bool active)
{
    uint64_t id = fx_job(fx, owner_of(o), NULL, m->stack[o], FX_EVERY_MINUTE, active);

    assert_true(m->n[o] < MAX_JOBS);
    assert_true(m->n[o] == 0 || id > m->ids[o][m->n[o] - 1]);
    m->ids[o][m->n[o]++] = id;
}

/* Every page of every owner, in several page sizes, plus the page after the last. */
static void check_pages(fixture *fx, const model *m)
{
    static const uint32_t sizes[] = {1, 7, 10, 31, 32, 33, 100, 1000};

    for (size_t o = 0; o < OWNERS; o++) {
        for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
            uint32_t size = sizes[s];
            uint64_t pages = (m->n[o] + size - 1) / size;

            for (uint64_t page = 1; page <= pages + 1; page++) {
                jobs_job_page *p = NULL;
                size_t first = (size_t)((page - 1) * size);
                size_t want = first >= m->n[o] ? 0
                              : m->n[o] - first < size ? m->n[o] - first : size;

                assert_int_equal(jobs_list(&p, fx->store, owner_of(o), page, size), 0);
                assert_int_equal(p->count, m->n[o]);
                if (p->n != want)
                    fail_msg("owner %zu, page %llu of size %u: %zu jobs, want %zu", o,
                             (unsigned long long)page, size, p->n, want);
                for (size_t i = 0; i < want; i++)
                    if (p->jobs[i].id != m->ids[o][first + i])
                        fail_msg("owner %zu, page %llu of size %u, item %zu: id %llu, want %llu",
                                 o, (unsigned long long)page, size, i,
                                 (unsigned long long)p->jobs[i].id,
                                 (unsigned long long)m->ids[o][first + i]);
                jobs_job_page_free(p);
            }
        }
    }
}

/* Deletes about one job in `every` of an owner: inactive ones go at once, active ones are
 * queued; returns how many were queued. */
static size_t delete_some(fixture *fx, model *m, size_t o, unsigned every)
{
    size_t queued = 0;

    for (size_t i = m->n[o]; i-- > 0;) {
        jobs_delete_outcome out;
        jobs_job *j;

        if (next_rand(m) % every)
            continue;
        j = fx_get(fx, owner_of(o), m->ids[o][i]);
        if (j->do_del) { /* already queued: leave it to the scheduler */
            jobs_job_free(j);
            continue;
        }
        jobs_job_free(j);
        assert_int_equal(jobs_delete(&out, fx->store, owner_of(o), m->ids[o][i]), 0);
        if (out == JOBS_DELETED)
            model_remove(m, o, i);
        else
            queued++;
    }
    return queued;
}

/* Lets the scheduler delete every queued job: they stay listed until then. */
static void run_scheduler(fixture *fx, model *m)
{
    size_t events = 0;

    fx_advance(fx, 60);
    assert_int_equal(jobs_scheduler_tick(&events, fx->store, fx_time(fx), 0, NULL, NULL), 0);
    for (size_t o = 0; o < OWNERS; o++)
        for (size_t i = m->n[o]; i-- > 0;) {
            jobs_job *j = NULL;
            int rc = jobs_get(&j, fx->store, owner_of(o), m->ids[o][i]);

            if (rc == JOBS_ENOTFOUND)
                model_remove(m, o, i);
            else
                assert_int_equal(rc, 0);
            jobs_job_free(j);
        }
}

static model *model_new(fixture *fx)
{
    model *m = calloc(1, sizeof(*m));

    assert_non_null(m);
    m->rng = 0x9e3779b97f4a7c15u;
    for (size_t o = 0; o < OWNERS; o++)
        m->stack[o] = fx_stack(fx, owner_of(o), false);
    return m;
}

static void test_pages_stay_exact_through_creates_and_deletes(void **state)
{
    fixture *fx = *state;
    model *m = model_new(fx);

    /* Interleaved owners, a third of the jobs active: each owner spans many buckets. */
    for (int i = 0; i < 900; i++)
        create(fx, m, next_rand(m) % OWNERS, next_rand(m) % 3 == 0);
    check_pages(fx, m);

    /* Immediate deletes and queued ones: the queued stay on their pages until the tick. */
    for (size_t o = 0; o < OWNERS; o++)
        delete_some(fx, m, o, 3);
    check_pages(fx, m);
    run_scheduler(fx, m);
    check_pages(fx, m);

    /* Emptied buckets, then new jobs after them. */
    for (size_t o = 0; o < OWNERS; o++)
        delete_some(fx, m, o, 1);
    run_scheduler(fx, m);
    check_pages(fx, m);
    for (int i = 0; i < 300; i++)
        create(fx, m, next_rand(m) % OWNERS, false);
    check_pages(fx, m);

    /* An owner emptied to nothing and filled again; survives a reopen. */
    while (delete_some(fx, m, 0, 1) > 0 || m->n[0] > 0)
        run_scheduler(fx, m);
    assert_int_equal(fx_count(fx, owner_of(0)), 0);
    check_pages(fx, m);
    for (int i = 0; i < 100; i++)
        create(fx, m, 0, i % 2);
    fx_reopen(fx);
    check_pages(fx, m);
    free(m);
}

/* A deep page of a large owner: the index's tree grows over many doublings. */
static void test_deep_pages_of_a_large_owner(void **state)
{
    fixture *fx = *state;
    model *m = model_new(fx);

    for (int i = 0; i < MAX_JOBS; i++)
        create(fx, m, 1, false);
    delete_some(fx, m, 1, 5);
    for (uint64_t page = 1; page <= (m->n[1] + 9) / 10; page += 37) {
        jobs_job_page *p = NULL;

        assert_int_equal(jobs_list(&p, fx->store, owner_of(1), page, 10), 0);
        assert_true(p->n > 0);
        for (size_t i = 0; i < p->n; i++)
            assert_int_equal(p->jobs[i].id, m->ids[1][(page - 1) * 10 + i]);
        jobs_job_page_free(p);
    }
    free(m);
}

/* Turns the store back into schema 1 as it was written: version 1, "job_owner" (owner(8)
 * id(8) -> empty) and "counts" (kind(1) owner(8) -> u64) databases, no rank index, and none of
 * schema 3's "owners". */
static void downgrade_to_schema_1(const char *path)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi meta, owners, owner, counts;
    MDB_cursor *cur;
    MDB_val k = {6, "schema"}, v;
    uint32_t one = 1;

    assert_int_equal(mdb_env_create(&env), 0);
    assert_int_equal(mdb_env_set_maxdbs(env, 32), 0);
    assert_int_equal(mdb_env_open(env, path, 0, 0600), 0);
    assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
    assert_int_equal(mdb_dbi_open(txn, "meta", 0, &meta), 0);
    assert_int_equal(mdb_dbi_open(txn, "owners", 0, &owners), 0);
    assert_int_equal(mdb_dbi_open(txn, "job_owner", MDB_CREATE, &owner), 0);
    assert_int_equal(mdb_dbi_open(txn, "counts", MDB_CREATE, &counts), 0);
    v.mv_size = sizeof(one);
    v.mv_data = &one;
    assert_int_equal(mdb_put(txn, meta, &k, &v, 0), 0);
    assert_int_equal(mdb_cursor_open(txn, owners, &cur), 0);
    for (int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc != MDB_NOTFOUND;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        const unsigned char *p = k.mv_data;
        unsigned char key[16];
        MDB_val nk = {0, key}, empty = {0, ""};

        assert_int_equal(rc, 0);
        assert_true(k.mv_size >= 9);
        if (p[8] == 'O') { /* owner(8) 'O' id(8) -> owner(8) id(8) */
            assert_int_equal(k.mv_size, 17);
            memcpy(key, p, 8);
            memcpy(key + 8, p + 9, 8);
            nk.mv_size = 16;
            assert_int_equal(mdb_put(txn, owner, &nk, &empty, 0), 0);
        } else if (p[8] == 't') { /* owner(8) 't' kind(1) -> kind(1) owner(8) */
            assert_int_equal(k.mv_size, 10);
            key[0] = p[9];
            memcpy(key + 1, p, 8);
            nk.mv_size = 9;
            assert_int_equal(mdb_put(txn, counts, &nk, &v, 0), 0);
        }
    }
    mdb_cursor_close(cur);
    assert_int_equal(mdb_drop(txn, owners, 1), 0);
    assert_int_equal(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
}

static void test_schema_1_store_gets_the_index_at_open(void **state)
{
    FX_LMDB_ONLY(); /* LMDB: a schema-1 LMDB store */
    fixture *fx = *state;
    model *m = model_new(fx);

    for (int i = 0; i < 500; i++)
        create(fx, m, next_rand(m) % OWNERS, next_rand(m) % 2 == 0);
    fx_close(fx);
    downgrade_to_schema_1(fx->path);
    fx_open(fx);
    check_pages(fx, m);
    /* The rebuilt index is a working one: deletes and creates keep it exact. */
    for (size_t o = 0; o < OWNERS; o++)
        delete_some(fx, m, o, 4);
    run_scheduler(fx, m);
    for (int i = 0; i < 100; i++)
        create(fx, m, next_rand(m) % OWNERS, false);
    check_pages(fx, m);
    free(m);
}

static size_t rank_entries(const char *path)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    MDB_cursor *cur;
    MDB_val k, v;
    size_t n = 0;
    int rc;

    assert_int_equal(mdb_env_create(&env), 0);
    assert_int_equal(mdb_env_set_maxdbs(env, 32), 0);
    assert_int_equal(mdb_env_open(env, path, MDB_RDONLY, 0600), 0);
    assert_int_equal(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), 0);
    assert_int_equal(mdb_dbi_open(txn, "owners", 0, &dbi), 0);
    assert_int_equal(mdb_cursor_open(txn, dbi, &cur), 0);
    /* The rank index's keys: owner(8) 'b', 'f' or 's' ... */
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT))
        n += k.mv_size >= 9 && memchr("bfs", ((const char *)k.mv_data)[8], 3) != NULL;
    assert_int_equal(rc, MDB_NOTFOUND);
    mdb_cursor_close(cur);
    mdb_txn_abort(txn);
    mdb_env_close(env);
    return n;
}

/* An owner that keeps creating and deleting (a queue of work, say) must not make its index grow
 * with every job it ever had: emptied buckets are dropped when they pile up. */
static void test_index_stays_small_under_churn(void **state)
{
    FX_LMDB_ONLY(); /* LMDB: the rank index's own size */
    fixture *fx = *state;
    model *m = model_new(fx);

    for (int i = 0; i < 10000; i++) {
        create(fx, m, 2, false);
        if (m->n[2] > 8) {
            jobs_delete_outcome out;
            size_t at = next_rand(m) % m->n[2];
            assert_int_equal(jobs_delete(&out, fx->store, owner_of(2), m->ids[2][at]), 0);
            model_remove(m, 2, at);
        }
        if (i % 1000 == 999)
            check_pages(fx, m);
    }
    assert_int_equal(jobs_store_check(fx->store), 0);
    fx_close(fx);
    /* 10,000 creates would have opened 313 buckets; a few dozen entries remain. */
    if (rank_entries(fx->path) > 60)
        fail_msg("the rank index holds %zu entries for %zu jobs", rank_entries(fx->path),
                 m->n[2]);
    fx_open(fx);
    check_pages(fx, m);
    free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_pages_stay_exact_through_creates_and_deletes,
                                        fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_deep_pages_of_a_large_owner, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_schema_1_store_gets_the_index_at_open, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_index_stays_small_under_churn, fx_setup,
                                        fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
