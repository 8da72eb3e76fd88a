/* Threads sharing one store: concurrent ticks run each slot exactly once, concurrent creates
 * get distinct ids, concurrent creates of one name let exactly one win, more readers at once
 * than the store keeps transactions for give their reader slots back. */
#include "fixture.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define THREADS 4

/* ---- concurrent ticks ------------------------------------------------------------------- */

#define TICK_JOBS 24
#define TICK_STEPS 300
#define TICK_STEP 60

typedef struct tick_world {
    fixture *fx;
    pthread_barrier_t barrier;
    uint64_t ids[TICK_JOBS];
    int64_t periods[TICK_JOBS];
    _Atomic int counts[TICK_JOBS][TICK_STEPS + 1]; /* runs per (job, slot index) */
    _Atomic int errors;
    _Atomic int deliveries;
} tick_world;

typedef struct tick_arg {
    tick_world *w;
    int index;
} tick_arg;

static int count_event(const jobs_event *event, void *ctx)
{
    tick_world *w = ctx;
    atomic_fetch_add(&w->deliveries, 1);
    for (int j = 0; j < TICK_JOBS; j++) {
        if (w->ids[j] != event->job)
            continue;
        int64_t first = FX_T0 + w->periods[j];
        int64_t off = event->slot - first;
        if (event->type != JOBS_EVENT_RUN || off < 0 || off % w->periods[j] != 0 ||
            off / w->periods[j] > TICK_STEPS) {
            atomic_fetch_add(&w->errors, 1);
            return 0;
        }
        atomic_fetch_add(&w->counts[j][off / w->periods[j]], 1);
        return 0;
    }
    atomic_fetch_add(&w->errors, 1);
    return 0;
}

static void *ticker(void *p)
{
    tick_arg *a = p;
    tick_world *w = a->w;
    for (int step = 1; step <= TICK_STEPS; step++) {
        int64_t now = FX_T0 + (int64_t)step * TICK_STEP;
        if (a->index == 0)
            fx_set_time(w->fx, now);
        /* Thread 3 takes small batches, the others everything at once. */
        size_t limit = a->index == 3 ? 2 : 0;
        for (;;) {
            size_t n = 0;
            int rc = jobs_scheduler_tick(&n, w->fx->store, now, limit, count_event, w);
            if (rc != 0) {
                atomic_fetch_add(&w->errors, 1);
                break;
            }
            if (limit == 0 || n < limit)
                break;
        }
        pthread_barrier_wait(&w->barrier);
    }
    return NULL;
}

static void test_concurrent_ticks_run_every_slot_exactly_once(void **state)
{
    fixture *fx = *state;
    tick_world *w = calloc(1, sizeof(*w));
    assert_non_null(w);
    w->fx = fx;
    /* Public stack and schedules, so that the jobs can belong to three owners. */
    uint64_t stack = fx_stack(fx, 1, true);
    uint64_t every2 = fx_periodic(fx, JOBS_OWNER_PUBLIC, 120);
    uint64_t every3 = fx_periodic(fx, JOBS_OWNER_PUBLIC, 180);
    const uint64_t schedules[] = {FX_EVERY_MINUTE, every2, every3, FX_EVERY_5_MINUTES};
    const int64_t periods[] = {60, 120, 180, 300};
    for (int j = 0; j < TICK_JOBS; j++) {
        w->periods[j] = periods[j % 4];
        w->ids[j] = fx_job(fx, 1 + (uint64_t)(j % 3), NULL, stack, schedules[j % 4], true);
    }
    assert_int_equal(pthread_barrier_init(&w->barrier, NULL, THREADS), 0);
    pthread_t threads[THREADS];
    tick_arg args[THREADS];
    for (int t = 0; t < THREADS; t++) {
        args[t].w = w;
        args[t].index = t;
        assert_int_equal(pthread_create(&threads[t], NULL, ticker, &args[t]), 0);
    }
    for (int t = 0; t < THREADS; t++)
        pthread_join(threads[t], NULL);
    pthread_barrier_destroy(&w->barrier);

    assert_int_equal(atomic_load(&w->errors), 0);
    const int64_t end = FX_T0 + (int64_t)TICK_STEPS * TICK_STEP;
    int expected_total = 0;
    for (int j = 0; j < TICK_JOBS; j++) {
        int64_t slots = (end - FX_T0) / w->periods[j]; /* slots first..end inclusive */
        for (int64_t k = 0; k <= TICK_STEPS; k++) {
            int want = k < slots ? 1 : 0;
            int got = atomic_load(&w->counts[j][k]);
            if (got != want)
                fail_msg("job %d (period %lld) slot %lld ran %d times, want %d", j,
                         (long long)w->periods[j], (long long)k, got, want);
        }
        expected_total += (int)slots;
        jobs_job *job = fx_get(fx, 1 + (uint64_t)(j % 3), w->ids[j]);
        assert_int_equal(job->next_run, FX_T0 + (slots + 1) * w->periods[j]);
        jobs_job_free(job);
    }
    assert_int_equal(atomic_load(&w->deliveries), expected_total);
    free(w);
}

/* ---- concurrent creates ------------------------------------------------------------------ */

#define CREATES 5000

typedef struct create_arg {
    fixture *fx;
    uint64_t stack;
    int index;
    bool spread;        /* owners 1..4 in turn, else owner 1 */
    uint64_t *ids;      /* CREATES of them */
    int errors;
    char error[200];
} create_arg;

static void *creator(void *p)
{
    create_arg *a = p;
    for (int i = 0; i < CREATES; i++) {
        jobs_job_spec spec = JOBS_JOB_SPEC_INIT;
        spec.fields = JOBS_JOB_STACK | JOBS_JOB_SCHEDULE | JOBS_JOB_ENABLED | JOBS_JOB_NAME;
        char name[64];
        snprintf(name, sizeof(name), "t%d-%d", a->index, i);
        spec.name = (i % 2) == 0 ? name : NULL;
        spec.stack = a->stack;
        spec.schedule = FX_EVERY_MINUTE + (uint64_t)(i % 5);
        spec.enabled = (i % 3) == 0;
        uint64_t owner = a->spread ? 1 + (uint64_t)(i % 4) : 1;
        int rc = jobs_create(&a->ids[i], a->fx->store, owner, &spec);
        if (rc != 0 && a->errors++ == 0)
            snprintf(a->error, sizeof(a->error), "%s: %s", jobs_err_name(rc), jobs_error_last());
    }
    return NULL;
}

static int cmp_u64(const void *x, const void *y)
{
    uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
    return a < b ? -1 : a > b;
}

static void run_creators(fixture *fx, bool spread)
{
    uint64_t stack = fx_stack(fx, 1, true); /* public: every owner may use it */
    uint64_t *ids = calloc((size_t)THREADS * CREATES, sizeof(*ids));
    assert_non_null(ids);
    pthread_t threads[THREADS];
    create_arg args[THREADS];
    memset(args, 0, sizeof(args));
    for (int t = 0; t < THREADS; t++) {
        args[t].fx = fx;
        args[t].stack = stack;
        args[t].index = t;
        args[t].spread = spread;
        args[t].ids = ids + (size_t)t * CREATES;
        assert_int_equal(pthread_create(&threads[t], NULL, creator, &args[t]), 0);
    }
    for (int t = 0; t < THREADS; t++)
        pthread_join(threads[t], NULL);
    for (int t = 0; t < THREADS; t++) {
        if (args[t].errors != 0)
            fail_msg("thread %d: %d failed creates, first %s", t, args[t].errors, args[t].error);
    }

    /* Each thread saw its own ids increase. */
    for (int t = 0; t < THREADS; t++)
        for (int i = 1; i < CREATES; i++)
            assert_true(args[t].ids[i] > args[t].ids[i - 1]);

    const size_t total = (size_t)THREADS * CREATES;
    qsort(ids, total, sizeof(*ids), cmp_u64);
    for (size_t i = 0; i < total; i++) {
        assert_true(ids[i] >= 1 && ids[i] <= JOBS_ID_MAX);
        if (i > 0 && ids[i] == ids[i - 1])
            fail_msg("id %llu given twice", (unsigned long long)ids[i]);
    }
    assert_int_equal(fx_stat_jobs(fx), total);

    /* Every owner's pages hold exactly its jobs, in id order. */
    uint64_t owners = spread ? 4 : 1;
    size_t seen = 0;
    for (uint64_t owner = 1; owner <= owners; owner++) {
        assert_int_equal(fx_count(fx, owner), total / owners);
        uint64_t last = 0;
        for (uint64_t page = 1;; page++) {
            jobs_job_page *p = NULL;
            assert_int_equal(jobs_list(&p, fx->store, owner, page, 1000), 0);
            size_t n = p->n;
            for (size_t i = 0; i < n; i++) {
                assert_true(p->jobs[i].id > last);
                assert_int_equal(p->jobs[i].owner, owner);
                last = p->jobs[i].id;
                assert_non_null(bsearch(&last, ids, total, sizeof(*ids), cmp_u64));
            }
            seen += n;
            jobs_job_page_free(p);
            if (n == 0)
                break;
        }
    }
    assert_int_equal(seen, total);
    free(ids);
}

static void test_concurrent_creates_get_distinct_ids(void **state)
{
    run_creators(*state, false);
}

static void test_concurrent_creates_over_owners_get_distinct_ids(void **state)
{
    run_creators(*state, true);
}

/* ---- concurrent creates of the same names ------------------------------------------------ */

#define RACE_NAMES 50

typedef struct race_arg {
    fixture *fx;
    uint64_t stack;
    pthread_barrier_t *barrier;
    int won[RACE_NAMES];
    int other_errors;
} race_arg;

static void *racer(void *p)
{
    race_arg *a = p;
    pthread_barrier_wait(a->barrier);
    for (int i = 0; i < RACE_NAMES; i++) {
        char name[32];
        snprintf(name, sizeof(name), "race-%d", i);
        jobs_job_spec spec = JOBS_JOB_SPEC_INIT;
        spec.fields = JOBS_JOB_STACK | JOBS_JOB_SCHEDULE | JOBS_JOB_NAME;
        spec.name = name;
        spec.stack = a->stack;
        spec.schedule = FX_HOURLY;
        int rc = jobs_create(NULL, a->fx->store, 1, &spec);
        if (rc == 0)
            a->won[i]++;
        else if (rc != JOBS_EEXISTS)
            a->other_errors++;
    }
    return NULL;
}

static void test_concurrent_creates_of_one_name_let_exactly_one_win(void **state)
{
    fixture *fx = *state;
    uint64_t stack = fx_stack(fx, 1, false);
    pthread_barrier_t barrier;
    assert_int_equal(pthread_barrier_init(&barrier, NULL, THREADS), 0);
    pthread_t threads[THREADS];
    race_arg args[THREADS];
    memset(args, 0, sizeof(args));
    for (int t = 0; t < THREADS; t++) {
        args[t].fx = fx;
        args[t].stack = stack;
        args[t].barrier = &barrier;
        assert_int_equal(pthread_create(&threads[t], NULL, racer, &args[t]), 0);
    }
    for (int t = 0; t < THREADS; t++)
        pthread_join(threads[t], NULL);
    pthread_barrier_destroy(&barrier);
    for (int i = 0; i < RACE_NAMES; i++) {
        int won = 0;
        for (int t = 0; t < THREADS; t++)
            won += args[t].won[i];
        assert_int_equal(won, 1);
    }
    for (int t = 0; t < THREADS; t++)
        assert_int_equal(args[t].other_errors, 0);
    assert_int_equal(fx_count(fx, 1), RACE_NAMES);
}

/* ---- more readers at once than the store keeps transactions for ---------------------------- */

#define READERS 132     /* more than the LMDB backend keeps for reuse (128) */
#define MAX_READERS 136 /* so a reader slot lost per wave would run out by the third */
#define WAVES 4

typedef struct reader_arg {
    fixture *fx;
    pthread_barrier_t *inside; /* every reader inside its read transaction at once */
    uint64_t id;
    bool inside_called; /* its read began: it met the others at the barrier */
    int rc;
} reader_arg;

static int wait_inside(jobs_kv_txn *txn, void *ctx)
{
    reader_arg *a = ctx;

    (void)txn;
    a->inside_called = true;
    pthread_barrier_wait(a->inside);
    return 0;
}

static void *reader(void *p)
{
    reader_arg *a = p;
    jobs_job *job = NULL;

    a->rc = jobs_kv_read(a->fx->store, wait_inside, a);
    if (!a->inside_called) /* refused: let the others through, then report it */
        pthread_barrier_wait(a->inside);
    if (a->rc == 0 && (a->rc = jobs_get(&job, a->fx->store, 1, a->id)) == 0 &&
        job->id != a->id)
        a->rc = -1;
    jobs_job_free(job);
    return NULL;
}

/* Each wave holds READERS read transactions open at once, new threads each time: the ones the
 * store does not keep must give their reader slots back, or a later wave finds the table full
 * (JOBS_EREADERS instead of 0). */
static void test_more_readers_than_kept_transactions_give_their_slots_back(void **state)
{
    fixture *fx = *state;

    FX_LMDB_ONLY(); /* LMDB's reader table */
    fx->lmdb.max_readers = MAX_READERS; /* the table is sized when the store is made */
    fx_open(fx);
    uint64_t id = fx_job(fx, 1, "read-me", fx_stack(fx, 1, false), FX_HOURLY, true);
    for (int wave = 0; wave < WAVES; wave++) {
        pthread_barrier_t inside;
        pthread_t threads[READERS];
        reader_arg args[READERS];

        assert_int_equal(pthread_barrier_init(&inside, NULL, READERS), 0);
        for (int t = 0; t < READERS; t++) {
            args[t] = (reader_arg){fx, &inside, id, false, -2};
            assert_int_equal(pthread_create(&threads[t], NULL, reader, &args[t]), 0);
        }
        for (int t = 0; t < READERS; t++)
            pthread_join(threads[t], NULL);
        pthread_barrier_destroy(&inside);
        for (int t = 0; t < READERS; t++)
            assert_int_equal(args[t].rc, 0);
    }
}

#define T(f) cmocka_unit_test_setup_teardown(f, fx_setup, fx_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_concurrent_ticks_run_every_slot_exactly_once),
        T(test_concurrent_creates_get_distinct_ids),
        T(test_concurrent_creates_over_owners_get_distinct_ids),
        T(test_concurrent_creates_of_one_name_let_exactly_one_win),
        cmocka_unit_test_setup_teardown(
            test_more_readers_than_kept_transactions_give_their_slots_back, fx_setup_closed,
            fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
