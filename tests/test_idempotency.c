/* Idempotency keys of creates: a repeat answers the first result and creates nothing, another
 * request under the same key is refused, keys are per owner and kind, and they expire after
 * JOBS_IDEMPOTENCY_TTL, when the scheduler tick removes them. */
#include "fixture.h"

#include <lmdb.h>
#include <string.h>

#define OWNER 4

static jobs_idempotency key(const char *k, const char *fp)
{
    jobs_idempotency i = {k, strlen(k), (const unsigned char *)fp, fp ? strlen(fp) : 0};
    return i;
}

static int create(fixture *fx, uint64_t owner, uint64_t stack, const jobs_idempotency *idem,
                  uint64_t *id, bool *replayed)
{
    jobs_job_spec spec = {0};

    spec.fields = JOBS_JOB_STACK | JOBS_JOB_SCHEDULE;
    spec.stack = stack;
    spec.schedule = FX_HOURLY;
    return jobs_create_idempotent(id, replayed, fx->store, owner, &spec, idem);
}

static void test_a_repeat_answers_the_first_create(void **state)
{
    fixture *fx = *state;
    uint64_t stack = fx_stack(fx, OWNER, false), other_stack = fx_stack(fx, OWNER + 1, false);
    jobs_idempotency a = key("order-17", "body-A"), b = key("order-17", "body-B");
    uint64_t first = 0, again = 0, other = 0;
    bool replayed = true;
    jobs_delete_outcome out;

    assert_int_equal(create(fx, OWNER, stack, &a, &first, &replayed), 0);
    assert_false(replayed);
    assert_int_equal(create(fx, OWNER, stack, &a, &again, &replayed), 0);
    assert_true(replayed);
    assert_int_equal(again, first);
    assert_int_equal(fx_count(fx, OWNER), 1);

    /* The same key with another request: refused, nothing created. */
    assert_int_equal(create(fx, OWNER, stack, &b, &again, &replayed), JOBS_EIDEMPOTENCY);
    assert_int_equal(jobs_fault_code(JOBS_EIDEMPOTENCY), 110);
    assert_non_null(strstr(jobs_error_last(), "order-17"));
    assert_int_equal(fx_count(fx, OWNER), 1);

    /* Keys are per owner, and per kind. */
    assert_int_equal(create(fx, OWNER + 1, other_stack, &a, &other, &replayed), 0);
    assert_false(replayed);
    assert_int_not_equal(other, first);
    {
        jobs_schedule_spec spec = {0};
        uint64_t sid = 0;

        spec.fields = JOBS_SCHEDULE_CONFIG;
        spec.period = 600;
        assert_int_equal(
            jobs_schedule_create_idempotent(&sid, &replayed, fx->store, OWNER, &spec, &b), 0);
        assert_false(replayed);
        assert_int_equal(
            jobs_schedule_create_idempotent(&again, &replayed, fx->store, OWNER, &spec, &b), 0);
        assert_true(replayed);
        assert_int_equal(again, sid);
        assert_int_equal(
            jobs_schedule_create_idempotent(&again, &replayed, fx->store, OWNER, &spec, &a),
            JOBS_EIDEMPOTENCY);
    }

    /* The first answer stands even after the job is gone. */
    assert_int_equal(jobs_delete(&out, fx->store, OWNER, first), 0);
    assert_int_equal(create(fx, OWNER, stack, &a, &again, &replayed), 0);
    assert_true(replayed);
    assert_int_equal(again, first);
    assert_int_equal(fx_count(fx, OWNER), 0);

    /* Survives a reopen: the keys are stored with the data. */
    fx_reopen(fx);
    assert_int_equal(create(fx, OWNER, stack, &a, &again, &replayed), 0);
    assert_true(replayed);
    assert_int_equal(jobs_store_check(fx->store), 0);
}

static size_t entries(const char *path, const char *db)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    MDB_stat st;

    assert_int_equal(mdb_env_create(&env), 0);
    assert_int_equal(mdb_env_set_maxdbs(env, 32), 0);
    assert_int_equal(mdb_env_open(env, path, MDB_RDONLY, 0600), 0);
    assert_int_equal(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), 0);
    assert_int_equal(mdb_dbi_open(txn, db, 0, &dbi), 0);
    assert_int_equal(mdb_stat(txn, dbi, &st), 0);
    mdb_txn_abort(txn);
    mdb_env_close(env);
    return st.ms_entries;
}

static void test_keys_expire_and_the_tick_removes_them(void **state)
{
    fixture *fx = *state;
    uint64_t stack = fx_stack(fx, OWNER, false);
    jobs_idempotency a = key("k1", "A"), b = key("k1", "B"), c = key("k2", NULL);
    uint64_t first = 0, second = 0;
    bool replayed = true;

    assert_int_equal(create(fx, OWNER, stack, &a, &first, &replayed), 0);
    assert_int_equal(create(fx, OWNER, stack, &c, NULL, NULL), 0);
    fx_advance(fx, JOBS_IDEMPOTENCY_TTL - 1);
    assert_int_equal(create(fx, OWNER, stack, &b, &second, &replayed), JOBS_EIDEMPOTENCY);
    fx_advance(fx, 1);
    /* Expired: the key starts afresh, with the new request. */
    assert_int_equal(create(fx, OWNER, stack, &b, &second, &replayed), 0);
    assert_false(replayed);
    assert_int_not_equal(second, first);
    assert_int_equal(create(fx, OWNER, stack, &b, &first, &replayed), 0);
    assert_true(replayed);
    assert_int_equal(first, second);

    /* k2 has expired too; the tick removes it (k1 was renewed). */
    assert_int_equal(jobs_scheduler_tick(NULL, fx->store, fx_time(fx), 0, NULL, NULL), 0);
    assert_int_equal(jobs_store_check(fx->store), 0);
    if (fx_postgres()) {
        /* Counted in its table, as below with LMDB itself. */
        assert_int_equal(fx_pg_rows(fx, "jobs_idem"), 1);
        return;
    }
    fx_close(fx);
    assert_int_equal(entries(fx->path, "idem"), 1);
    assert_int_equal(entries(fx->path, "idem_exp"), 1);
    fx_open(fx);
}

static void test_key_and_fingerprint_sizes(void **state)
{
    fixture *fx = *state;
    uint64_t stack = fx_stack(fx, OWNER, false);
    char big[JOBS_IDEMPOTENCY_KEY_MAX + 2];
    jobs_idempotency k;

    memset(big, 'k', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    k = key(big, NULL);
    assert_int_equal(create(fx, OWNER, stack, &k, NULL, NULL), JOBS_EINVAL);
    k.key_len = JOBS_IDEMPOTENCY_KEY_MAX;
    assert_int_equal(create(fx, OWNER, stack, &k, NULL, NULL), 0);
    k = key("", NULL);
    assert_int_equal(create(fx, OWNER, stack, &k, NULL, NULL), JOBS_EINVAL);
    k = key("fp", "0123456789abcdef0123456789abcdef!");
    assert_int_equal(create(fx, OWNER, stack, &k, NULL, NULL), JOBS_EINVAL);
    assert_int_equal(fx_count(fx, OWNER), 1);
}

/* jobs_create_replay / jobs_schedule_create_replay: what a repeat would answer, read without
 * creating (a host at its quota answers a repeat of a create that succeeded from it). */
static void test_replay_reads_a_key_without_creating(void **state)
{
    fixture *fx = *state;
    uint64_t stack = fx_stack(fx, OWNER, false);
    jobs_idempotency a = key("order-9", "body-A"), b = key("order-9", "body-B");
    jobs_schedule_spec spec = {0};
    uint64_t first = 0, id = 99, sid = 0;

    /* Never used: nothing answers, nothing is made. */
    assert_int_equal(jobs_create_replay(&id, fx->store, OWNER, &a), JOBS_ENOTFOUND);
    assert_int_equal(id, 0);
    assert_non_null(strstr(jobs_error_last(), "order-9"));
    assert_int_equal(fx_count(fx, OWNER), 0);

    assert_int_equal(create(fx, OWNER, stack, &a, &first, NULL), 0);
    assert_int_equal(jobs_create_replay(&id, fx->store, OWNER, &a), 0);
    assert_int_equal(id, first);
    assert_int_equal(fx_count(fx, OWNER), 1);
    /* Another request under the key, another owner, another kind. */
    assert_int_equal(jobs_create_replay(&id, fx->store, OWNER, &b), JOBS_EIDEMPOTENCY);
    assert_int_equal(jobs_create_replay(&id, fx->store, OWNER + 1, &a), JOBS_ENOTFOUND);
    assert_int_equal(jobs_schedule_create_replay(&id, fx->store, OWNER, &a), JOBS_ENOTFOUND);

    spec.fields = JOBS_SCHEDULE_CONFIG;
    spec.period = 600;
    assert_int_equal(jobs_schedule_create_idempotent(&sid, NULL, fx->store, OWNER, &spec, &b), 0);
    assert_int_equal(jobs_schedule_create_replay(&id, fx->store, OWNER, &b), 0);
    assert_int_equal(id, sid);
    /* Public schedules (owner 0) have keys too; jobs have no owner 0. */
    assert_int_equal(jobs_schedule_create_replay(&id, fx->store, 0, &b), JOBS_ENOTFOUND);
    assert_int_equal(jobs_create_replay(&id, fx->store, 0, &a), JOBS_EOWNER);

    /* The key's life, as for a create with it. */
    fx_advance(fx, JOBS_IDEMPOTENCY_TTL - 1);
    assert_int_equal(jobs_create_replay(&id, fx->store, OWNER, &a), 0);
    assert_int_equal(id, first);
    fx_advance(fx, 1);
    assert_int_equal(jobs_create_replay(&id, fx->store, OWNER, &a), JOBS_ENOTFOUND);

    /* Missing arguments and a key of a wrong size. */
    assert_int_equal(jobs_create_replay(NULL, fx->store, OWNER, &a), JOBS_EINVAL);
    assert_int_equal(jobs_create_replay(&id, NULL, OWNER, &a), JOBS_EINVAL);
    assert_int_equal(jobs_create_replay(&id, fx->store, OWNER, NULL), JOBS_EINVAL);
    a.key_len = 0;
    assert_int_equal(jobs_schedule_create_replay(&id, fx->store, OWNER, &a), JOBS_EINVAL);
    assert_int_equal(fx_count(fx, OWNER), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_a_repeat_answers_the_first_create, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_keys_expire_and_the_tick_removes_them, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_key_and_fingerprint_sizes, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_replay_reads_a_key_without_creating, fx_setup,
                                        fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
