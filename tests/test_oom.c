/* Out of memory: with an allocator (jobs_replace_allocator, and cJSON's hooks for the JSON
 * layer) that fails its Nth allocation, every public operation is run for N = 1, 2, ... until it
 * succeeds. Each failure must be a clean JOBS_ENOMEM that leaves the store exactly as it was
 * (compared through the API and with jobs_store_check) and leaks nothing (AddressSanitizer's
 * leak check, in the sanitizer build). */
#include "fixture.h"

#include <cJSON.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the failing allocator ----------------------------------------------------------------- */

static long fail_at;  /* the allocation to fail (1-based); 0: none */
static long n_allocs; /* allocations since the count was reset */
static bool failed;   /* the failure was injected */

static bool fail_now(void)
{
    if (fail_at && ++n_allocs == fail_at) {
        failed = true;
        return true;
    }
    return false;
}

static void *t_malloc(size_t n)
{
    return fail_now() ? NULL : malloc(n);
}

static void *t_realloc(void *p, size_t n)
{
    return fail_now() ? NULL : realloc(p, n);
}

static void arm(long n)
{
    fail_at = n;
    n_allocs = 0;
    failed = false;
}

static void disarm(void)
{
    fail_at = 0;
}

/* ---- the store's visible state ------------------------------------------------------------- */

static void append(char **s, size_t *len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void append(char **s, size_t *len, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    assert_true(n >= 0 && (size_t)n < sizeof(buf));
    *s = realloc(*s, *len + (size_t)n + 1);
    assert_non_null(*s);
    memcpy(*s + *len, buf, (size_t)n + 1);
    *len += (size_t)n;
}

/* Everything the API shows of owners 1 and 2, as text. Must be called disarmed. */
static char *snapshot(fixture *fx)
{
    jobs_store_stat_info st = JOBS_STORE_STAT_INFO_INIT;
    char *s = NULL;
    size_t len = 0;

    assert_int_equal(fail_at, 0);
    assert_int_equal(jobs_store_check(fx->store), 0);
    assert_int_equal(jobs_store_stat(&st, fx->store), 0);
    append(&s, &len, "jobs %llu schedules %llu stacks %llu records %llu\n",
           (unsigned long long)st.jobs, (unsigned long long)st.schedules,
           (unsigned long long)st.stacks, (unsigned long long)st.records);
    for (uint64_t owner = 1; owner <= 2; owner++) {
        jobs_job_page *jp = NULL;
        jobs_schedule_page *sp = NULL;
        jobs_stack_page *kp = NULL;

        assert_int_equal(jobs_list(&jp, fx->store, owner, 1, 1000), 0);
        for (size_t i = 0; i < jp->n; i++) {
            const jobs_job *j = &jp->jobs[i];
            append(&s, &len, "job %llu %s %llu %llu %lld %d %d\n", (unsigned long long)j->id,
                   j->name ? j->name : "-", (unsigned long long)j->stack,
                   (unsigned long long)j->schedule, (long long)(j->do_run ? j->next_run : 0),
                   j->do_run, j->do_del);
        }
        assert_int_equal(jobs_schedule_list(&sp, fx->store, owner, 1, 1000), 0);
        for (size_t i = 0; i < sp->n; i++)
            append(&s, &len, "schedule %llu %s %d\n", (unsigned long long)sp->schedules[i].id,
                   sp->schedules[i].name ? sp->schedules[i].name : "-", sp->schedules[i].once);
        assert_int_equal(jobs_stack_list(&kp, fx->store, owner, 1, 1000), 0);
        for (size_t i = 0; i < kp->n; i++)
            append(&s, &len, "stack %llu %s\n", (unsigned long long)kp->stacks[i].id,
                   kp->stacks[i].name);
        jobs_job_page_free(jp);
        jobs_schedule_page_free(sp);
        jobs_stack_page_free(kp);
    }
    return s;
}

/* ---- the loop ------------------------------------------------------------------------------ */

typedef struct env {
    fixture *fx;
    uint64_t stack, schedule, spare, job, named, active;
} env;

/* One public operation: returns its code and frees whatever it returned. */
typedef int (*op_fn)(env *e);

/* Runs `op` failing allocation 1, 2, ... until it succeeds; returns how many failures it met. */
static long until_it_works(env *e, op_fn op, const char *what)
{
    char *before = snapshot(e->fx);
    long n;

    for (n = 1;; n++) {
        int rc;
        char *after;

        arm(n);
        rc = op(e);
        disarm();
        if (rc == 0)
            break;
        if (rc != JOBS_ENOMEM || !failed)
            fail_msg("%s, allocation %ld failing: %s (%s)", what, n, jobs_strerror(rc),
                     jobs_error_last());
        after = snapshot(e->fx);
        if (strcmp(before, after) != 0)
            fail_msg("%s, allocation %ld failing, changed the store:\n%s\n---\n%s", what, n,
                     before, after);
        free(after);
        assert_true(n < 1000);
    }
    free(before);
    return n - 1;
}

static int op_stack_create(env *e)
{
    uint64_t id;
    return jobs_stack_create(&id, e->fx->store, 1, "oom stack", false);
}

static int op_schedule_create(env *e)
{
    jobs_schedule_spec spec = {0};
    uint64_t id;

    spec.fields = JOBS_SCHEDULE_NAME | JOBS_SCHEDULE_CONFIG;
    spec.name = "oom schedule";
    spec.period = 600;
    return jobs_schedule_create(&id, e->fx->store, 1, &spec);
}

static int op_job_create(env *e)
{
    jobs_job_spec spec = {0};
    uint64_t id;

    spec.fields = JOBS_JOB_STACK | JOBS_JOB_SCHEDULE | JOBS_JOB_NAME | JOBS_JOB_ENABLED;
    spec.stack = e->stack;
    spec.schedule = e->schedule;
    spec.name = "oom job";
    spec.enabled = true;
    return jobs_create(&id, e->fx->store, 1, &spec);
}

static int op_job_update(env *e)
{
    jobs_job_spec spec = {0};
    jobs_job *out = NULL;
    int rc;

    spec.fields = JOBS_JOB_NAME | JOBS_JOB_ENABLED;
    spec.name = "renamed under oom";
    spec.enabled = true;
    rc = jobs_update(&out, e->fx->store, 1, e->job, &spec);
    jobs_job_free(out);
    return rc;
}

static int op_schedule_update(env *e)
{
    jobs_schedule_spec spec = {0};
    jobs_schedule *out = NULL;
    int rc;

    spec.fields = JOBS_SCHEDULE_NAME;
    spec.name = "schedule renamed under oom";
    rc = jobs_schedule_update(&out, e->fx->store, 1, e->spare, &spec);
    jobs_schedule_free(out);
    return rc;
}

static int op_job_delete(env *e)
{
    jobs_delete_outcome out;
    return jobs_delete(&out, e->fx->store, 1, e->active);
}

static int op_tick(env *e)
{
    size_t n = 0;
    return jobs_scheduler_tick(&n, e->fx->store, FX_T0 + 100000, 0, NULL, NULL);
}

static int op_reads(env *e)
{
    jobs_job *j = NULL, *k = NULL;
    jobs_job_page *p = NULL;
    jobs_schedule *s = NULL;
    jobs_schedule_page *sp = NULL;
    jobs_stack *t = NULL;
    jobs_stack_page *tp = NULL;
    jobs_store_stat_info st = JOBS_STORE_STAT_INFO_INIT;
    int64_t next;
    int rc;

    if ((rc = jobs_get(&j, e->fx->store, 1, e->job)) ||
        (rc = jobs_get_by_name(&k, e->fx->store, 1, "named")) ||
        (rc = jobs_list(&p, e->fx->store, 1, 2, 3)) ||
        (rc = jobs_schedule_get(&s, e->fx->store, 1, e->schedule)) ||
        (rc = jobs_schedule_list(&sp, e->fx->store, 1, 1, 0)) ||
        (rc = jobs_stack_get(&t, e->fx->store, 1, e->stack)) ||
        (rc = jobs_stack_list(&tp, e->fx->store, 1, 1, 0)) ||
        (rc = jobs_store_stat(&st, e->fx->store)) ||
        (rc = jobs_scheduler_next_run(&next, e->fx->store)) ||
        (rc = jobs_store_check(e->fx->store))) {
        /* the first failure is the answer; free what the others returned */
    }
    jobs_job_free(j);
    jobs_job_free(k);
    jobs_job_page_free(p);
    jobs_schedule_free(s);
    jobs_schedule_page_free(sp);
    jobs_stack_free(t);
    jobs_stack_page_free(tp);
    return rc;
}

static int op_json(env *e)
{
    static const char body[] = "{\"name\":\"j\",\"stack_id\":3,\"schedule_id\":4,\"enabled\":true}";
    static const char login[] = "{\"username\":\"u\",\"password\":\"p\"}";
    static const char *const login_keys[] = {"username", "password"};
    jobs_json_job_body jb;
    jobs_job *j = NULL;
    jobs_job_page *p = NULL;
    char *a = NULL, *b = NULL, *c = NULL;
    long n = fail_at;
    int rc;

    disarm(); /* the reads are not what is tested here */
    if ((rc = jobs_get(&j, e->fx->store, 1, e->job)) ||
        (rc = jobs_list(&p, e->fx->store, 1, 1, 0)))
        goto out;
    arm(n);
    if ((rc = jobs_json_decode_job_create(&jb, body, strlen(body))) ||
        (rc = jobs_json_check_object(login, strlen(login), login_keys, 2)) ||
        (rc = jobs_json_encode_job(&a, j, JOBS_JSON_OWNER)) ||
        (rc = jobs_json_encode_job_page(&b, p)) ||
        (rc = jobs_json_encode_error(&c, JOBS_ENOTFOUND, "x"))) {
        /* the first failure is the answer */
    }
out:
    jobs_json_free(a);
    jobs_json_free(b);
    jobs_json_free(c);
    jobs_job_free(j);
    jobs_job_page_free(p);
    return rc;
}

/* ---- tests --------------------------------------------------------------------------------- */

static void setup_env(env *e, fixture *fx)
{
    e->fx = fx;
    e->stack = fx_stack(fx, 1, false);
    e->schedule = fx_periodic(fx, 1, 300);
    e->spare = fx_periodic(fx, 1, 900); /* unused: it may change */
    e->job = fx_job(fx, 1, NULL, e->stack, e->schedule, false);
    e->named = fx_job(fx, 1, "named", e->stack, FX_HOURLY, false);
    e->active = fx_job(fx, 1, NULL, e->stack, FX_HOURLY, true);
    uint64_t other = fx_stack(fx, 2, false);
    for (int i = 0; i < 40; i++)
        fx_job(fx, 1 + (uint64_t)(i % 2), NULL, i % 2 ? other : e->stack, FX_DAILY, i % 3 == 0);
}

/* Namespaced records: a record and its index, an id, a delete, and a scan in one write; then
 * a read of them. */
static int kv_count(void *ctx, const void *key, size_t key_len, const void *value,
                    size_t value_len)
{
    (void)key;
    (void)key_len;
    (void)value;
    (void)value_len;
    ++*(size_t *)ctx;
    return 0;
}

static int kv_write(jobs_kv_txn *txn, void *ctx)
{
    size_t n = 0;
    uint64_t id;
    int rc;

    (void)ctx;
    if ((rc = jobs_kv_next_id(&id, txn, "oom")) ||
        (rc = jobs_kv_put(txn, "oom", &id, sizeof(id), "record", 6)) ||
        (rc = jobs_kv_put(txn, "oom.name", "record", 6, &id, sizeof(id))) ||
        (rc = jobs_kv_reserve_ids(txn, "oom", 100)) ||
        (rc = jobs_kv_scan(txn, "oom", NULL, 0, 10, kv_count, &n)))
        return rc;
    rc = jobs_kv_delete(txn, "oom.gone", "x", 1);
    return rc == JOBS_ENOTFOUND ? 0 : rc;
}

static int kv_read(jobs_kv_txn *txn, void *ctx)
{
    char buf[16];
    size_t len, n = 0;
    int rc = jobs_kv_get(txn, "oom.name", "record", 6, buf, sizeof(buf), &len);

    (void)ctx;
    return rc ? rc : jobs_kv_scan(txn, "oom", NULL, 0, 0, kv_count, &n);
}

static int op_kv(env *e)
{
    int rc = jobs_kv_write(e->fx->store, kv_write, NULL);
    return rc ? rc : jobs_kv_read(e->fx->store, kv_read, NULL);
}

static void test_every_operation_survives_each_failed_allocation(void **state)
{
    static const struct {
        op_fn fn;
        const char *what;
    } ops[] = {
        {op_reads, "reads"},
        {op_stack_create, "jobs_stack_create"},
        {op_schedule_create, "jobs_schedule_create"},
        {op_job_create, "jobs_create"},
        {op_job_update, "jobs_update"},
        {op_schedule_update, "jobs_schedule_update"},
        {op_job_delete, "jobs_delete"},
        {op_tick, "jobs_scheduler_tick"},
        {op_json, "the JSON layer"},
        {op_kv, "jobs_kv_write and jobs_kv_read"},
    };
    fixture *fx = *state;
    long failures = 0;
    env e;

    setup_env(&e, fx);
    for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
        failures += until_it_works(&e, ops[i].fn, ops[i].what);
    /* The reads, the tick and the JSON layer allocate: failures were met, not just skipped. */
    assert_true(failures >= 10);
    print_message("%ld injected allocation failures, each answered JOBS_ENOMEM cleanly\n",
                  failures);
}

static void test_opening_survives_each_failed_allocation(void **state)
{
    fixture *fx = *state;
    long n;

    fx_open(fx);
    setup_env(&(env){0}, fx);
    fx_close(fx);
    for (n = 1;; n++) {
        int rc;

        arm(n);
        rc = fx_try_open(fx);
        disarm();
        if (rc == 0)
            break;
        assert_int_equal(rc, JOBS_ENOMEM);
        assert_null(fx->store);
        assert_true(n < 100);
    }
    assert_true(n > 1);
    assert_int_equal(jobs_store_check(fx->store), 0);
    assert_int_equal(fx_count(fx, 1), 23);
}

static void test_replace_allocator_refuses_null(void **state)
{
    (void)state;
    assert_int_equal(jobs_replace_allocator(NULL, realloc, free), JOBS_EINVAL);
    assert_int_equal(jobs_replace_allocator(malloc, NULL, free), JOBS_EINVAL);
    assert_int_equal(jobs_replace_allocator(malloc, realloc, NULL), JOBS_EINVAL);
    /* Nothing changed: the test's allocator still answers, and fails when told to. */
    {
        char *s = NULL;

        arm(1);
        assert_int_equal(jobs_json_encode_id(&s, 5), JOBS_ENOMEM);
        disarm();
        assert_true(failed);
        assert_null(s);
    }
}

int main(void)
{
    cJSON_Hooks hooks = {t_malloc, free};
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_every_operation_survives_each_failed_allocation,
                                        fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_opening_survives_each_failed_allocation,
                                        fx_setup_closed, fx_teardown),
        cmocka_unit_test(test_replace_allocator_refuses_null),
    };

    /* Before any other libjobs call, as the contract says. */
    if (jobs_replace_allocator(t_malloc, t_realloc, free) != 0)
        return 1;
    cJSON_InitHooks(&hooks);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
