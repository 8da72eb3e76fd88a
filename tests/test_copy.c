/* jobs_store_copy(): a store copied into another and back, every kind of record with its id, the
 * counters kept (no id given twice after the copy), the target's emptiness required.
 *
 * The middle store is the fixture's: PostgreSQL in the pg_ leg (LMDB -> PostgreSQL -> LMDB),
 * LMDB otherwise (LMDB -> LMDB -> LMDB). The first and last stores are LMDB directories inside
 * the fixture's directory. */
#include <stdio.h>
#include <string.h>

#include "fixture.h"

#define ALICE 71
#define BOB 72

/* An LMDB store in the fixture's directory, with the fixture's clock. */
static jobs_store *open_lmdb(fixture *fx, const char *name)
{
    char path[PATH_MAX + 16];
    jobs_store_options o = fx->opts;
    jobs_store *s = NULL;

    snprintf(path, sizeof(path), "%s/%s", fx->dir, name);
    o.path = path;
    assert_int_equal(jobs_store_open(&s, &o), 0);
    return s;
}

/* What the populated store holds, by id. */
typedef struct made {
    uint64_t periodic, once, cron;      /* schedules */
    uint64_t priv, pub;                 /* stacks */
    uint64_t named, plain, queued, gone, at_least_once; /* jobs (gone: deleted) */
    uint64_t run_done, run_stack, run_pending; /* runs */
    uint64_t idem_job;                  /* made with an idempotency key */
    uint64_t user_id;                   /* a namespace's id counter */
} made;

static int put_records(jobs_kv_txn *txn, void *ctx)
{
    made *m = ctx;
    int rc;

    if ((rc = jobs_kv_put(txn, "users", "alice", 5, "{\"id\":1}", 8)) ||
        (rc = jobs_kv_put(txn, "users", "bob", 3, "", 0)) ||
        (rc = jobs_kv_put(txn, "sessions", "\x01\xff", 2, "token", 5)) ||
        (rc = jobs_kv_next_id(&m->user_id, txn, "users")) ||
        (rc = jobs_kv_next_id(&m->user_id, txn, "users")))
        return rc;
    return 0;
}

static void populate(fixture *fx, jobs_store *s, made *m)
{
    jobs_schedule_spec sc = JOBS_SCHEDULE_SPEC_INIT;
    jobs_stack_spec st = JOBS_STACK_SPEC_INIT;
    jobs_job_spec j = JOBS_JOB_SPEC_INIT;
    jobs_stack_detail *detail = NULL;
    jobs_delete_outcome out;
    bool replayed = true;

    sc.fields = JOBS_SCHEDULE_NAME | JOBS_SCHEDULE_CONFIG;
    sc.name = "every ten";
    sc.period = 600;
    assert_int_equal(jobs_schedule_create(&m->periodic, s, ALICE, &sc), 0);
    sc.fields = JOBS_SCHEDULE_ONCE | JOBS_SCHEDULE_CONFIG;
    sc.name = NULL;
    sc.once = true;
    sc.timestamp = fx_time(fx) + 100;
    assert_int_equal(jobs_schedule_create(&m->once, s, BOB, &sc), 0);
    sc = (jobs_schedule_spec)JOBS_SCHEDULE_SPEC_INIT;
    sc.fields = JOBS_SCHEDULE_NAME | JOBS_SCHEDULE_KIND | JOBS_SCHEDULE_CONFIG;
    sc.name = "paris";
    sc.kind = JOBS_SCHEDULE_CRON;
    sc.cron = "*/5 9-17 * * 1-5";
    sc.tz = "Europe/Paris";
    assert_int_equal(jobs_schedule_create(&m->cron, s, ALICE, &sc), 0);

    assert_int_equal(jobs_stack_create(&m->priv, s, ALICE, "deploy", false), 0);
    st.fields = JOBS_STACK_BLOCKS | JOBS_STACK_WEBHOOK | JOBS_STACK_NEEDS_APPROVAL;
    st.blocks = "[{\"run\":\"make\"}]";
    st.blocks_len = strlen(st.blocks);
    st.webhook = JOBS_WEBHOOK_TOKEN;
    st.needs_approval = true;
    assert_int_equal(jobs_stack_update(&detail, s, ALICE, m->priv, &st), 0);
    jobs_stack_detail_free(detail);
    assert_int_equal(jobs_stack_create(&m->pub, s, BOB, "shared", true), 0);

    j.fields = JOBS_JOB_NAME | JOBS_JOB_STACK | JOBS_JOB_SCHEDULE | JOBS_JOB_ENABLED;
    j.name = "nightly";
    j.stack = m->priv;
    j.schedule = m->periodic;
    j.enabled = true;
    assert_int_equal(jobs_create(&m->named, s, ALICE, &j), 0);
    j.name = NULL;
    j.schedule = m->cron;
    j.enabled = false;
    assert_int_equal(jobs_create(&m->plain, s, ALICE, &j), 0);
    j.name = "to go";
    j.enabled = false;
    assert_int_equal(jobs_create(&m->gone, s, ALICE, &j), 0);
    assert_int_equal(jobs_delete(&out, s, ALICE, m->gone), 0);
    assert_int_equal(out, JOBS_DELETED);
    j.name = "queued";
    j.stack = m->pub;
    j.schedule = m->once;
    j.enabled = true;
    assert_int_equal(jobs_create(&m->queued, s, BOB, &j), 0);
    assert_int_equal(jobs_delete(&out, s, BOB, m->queued), 0);
    assert_int_equal(out, JOBS_QUEUED_FOR_DELETION);
    j.fields |= JOBS_JOB_DELIVERY | JOBS_JOB_LEASE | JOBS_JOB_MAX_ATTEMPTS;
    j.name = "careful";
    j.schedule = FX_HOURLY;
    j.delivery = JOBS_DELIVERY_AT_LEAST_ONCE;
    j.lease = 90;
    j.max_attempts = 4;
    assert_int_equal(jobs_create(&m->at_least_once, s, BOB, &j), 0);

    jobs_idempotency idem = {"create-1", 8, (const unsigned char *)"fp", 2};
    j = (jobs_job_spec)JOBS_JOB_SPEC_INIT;
    j.fields = JOBS_JOB_NAME | JOBS_JOB_STACK | JOBS_JOB_SCHEDULE;
    j.name = "once only";
    j.stack = m->pub;
    j.schedule = FX_DAILY;
    assert_int_equal(jobs_create_idempotent(&m->idem_job, &replayed, s, BOB, &j, &idem), 0);
    assert_false(replayed);

    assert_int_equal(jobs_run_now(&m->run_done, s, ALICE, m->named), 0);
    assert_int_equal(jobs_run_now_stack(&m->run_stack, s, BOB, m->pub, JOBS_TRIGGER_MANUAL), 0);
    assert_int_equal(jobs_run_now(&m->run_pending, s, BOB, m->at_least_once), 0);
    /* Delivered: the at-least-once run is then running under its lease (queued). */
    fx_events ev;
    memset(&ev, 0, sizeof(ev));
    assert_int_equal(jobs_scheduler_tick(NULL, s, fx_time(fx), 0, fx_record_event, &ev), 0);
    assert_int_equal(jobs_run_finish_output(s, ALICE, m->run_done, true, "fine", "out\n", 4), 0);

    assert_int_equal(jobs_kv_write(s, put_records, m), 0);
}

struct kv_list {
    char buf[1024];
    size_t len;
};

static int list_one(void *ctx, const void *key, size_t key_len, const void *value,
                    size_t value_len)
{
    struct kv_list *l = ctx;
    int n = snprintf(l->buf + l->len, sizeof(l->buf) - l->len, "%.*s=%.*s;", (int)key_len,
                     (const char *)key, (int)value_len, (const char *)value);

    l->len += (size_t)n;
    return 0;
}

static int list_all(jobs_kv_txn *txn, void *ctx)
{
    static const char *const ns[] = {"users", "sessions"};
    int rc;

    for (size_t i = 0; i < 2; i++)
        if ((rc = jobs_kv_scan(txn, ns[i], NULL, 0, 0, list_one, ctx)))
            return rc;
    return 0;
}

static void assert_same_stat(jobs_store *a, jobs_store *b)
{
    jobs_store_stat_info x = JOBS_STORE_STAT_INFO_INIT, y = JOBS_STORE_STAT_INFO_INIT;

    assert_int_equal(jobs_store_stat(&x, a), 0);
    assert_int_equal(jobs_store_stat(&y, b), 0);
    assert_int_equal(x.jobs, y.jobs);
    assert_int_equal(x.schedules, y.schedules);
    assert_int_equal(x.stacks, y.stacks);
    assert_int_equal(x.jobs_active, y.jobs_active);
    assert_int_equal(x.jobs_queued, y.jobs_queued);
    assert_int_equal(x.records, y.records);
    assert_int_equal(x.runs, y.runs);
    assert_int_equal(x.runs_queued, y.runs_queued);
}

static void assert_same_text(const char *x, const char *y)
{
    if (!x || !y)
        assert_true(x == y);
    else
        assert_string_equal(x, y);
}

/* Every field of schedule `id` reads the same in both stores. */
static void assert_same_schedule(jobs_store *a, jobs_store *b, uint64_t owner, uint64_t id)
{
    jobs_schedule *x = NULL, *y = NULL;

    assert_int_equal(jobs_schedule_get(&x, a, owner, id), 0);
    assert_int_equal(jobs_schedule_get(&y, b, owner, id), 0);
    assert_int_equal(x->owner, y->owner);
    assert_same_text(x->name, y->name);
    assert_int_equal(x->once, y->once);
    assert_int_equal(x->period, y->period);
    assert_int_equal(x->timestamp, y->timestamp);
    assert_int_equal(x->kind, y->kind);
    assert_same_text(x->cron, y->cron);
    assert_same_text(x->tz, y->tz);
    jobs_schedule_free(x);
    jobs_schedule_free(y);
}

/* Every field of run `id` reads the same in both stores. */
static void assert_same_run(jobs_store *a, jobs_store *b, uint64_t owner, uint64_t id)
{
    jobs_run *x = NULL, *y = NULL;

    assert_int_equal(jobs_run_get(&x, a, owner, id), 0);
    assert_int_equal(jobs_run_get(&y, b, owner, id), 0);
    assert_int_equal(x->owner, y->owner);
    assert_int_equal(x->job, y->job);
    assert_int_equal(x->stack, y->stack);
    assert_int_equal(x->slot, y->slot);
    assert_int_equal(x->trigger, y->trigger);
    assert_int_equal(x->state, y->state);
    assert_int_equal(x->attempt, y->attempt);
    assert_int_equal(x->created, y->created);
    assert_int_equal(x->started, y->started);
    assert_int_equal(x->finished, y->finished);
    assert_int_equal(x->lease_until, y->lease_until);
    assert_int_equal(x->missed, y->missed);
    assert_int_equal(x->missed_since, y->missed_since);
    assert_string_equal(x->message, y->message);
    assert_int_equal(x->output_len, y->output_len);
    assert_memory_equal(x->output, y->output, x->output_len);
    jobs_run_free(x);
    jobs_run_free(y);
}

/* Everything the public API shows of `m` reads the same in both stores. */
static void assert_same(jobs_store *a, jobs_store *b, const made *m)
{
    const uint64_t jobs[][2] = {{ALICE, m->named}, {ALICE, m->plain}, {BOB, m->queued},
                                {BOB, m->at_least_once}, {BOB, m->idem_job}};
    const uint64_t runs[][2] = {{ALICE, m->run_done}, {BOB, m->run_stack},
                                {BOB, m->run_pending}};
    struct kv_list la = {{0}, 0}, lb = {{0}, 0};

    assert_same_stat(a, b);
    for (size_t i = 0; i < sizeof(jobs) / sizeof(jobs[0]); i++) {
        jobs_job *x = NULL, *y = NULL;
        assert_int_equal(jobs_get(&x, a, jobs[i][0], jobs[i][1]), 0);
        assert_int_equal(jobs_get(&y, b, jobs[i][0], jobs[i][1]), 0);
        fx_assert_job_equal(x, y);
        assert_int_equal(x->etag, y->etag);
        jobs_job_free(x);
        jobs_job_free(y);
    }
    jobs_job *none = NULL;
    assert_int_equal(jobs_get(&none, b, ALICE, m->gone), JOBS_ENOTFOUND);
    for (size_t i = 0; i < sizeof(runs) / sizeof(runs[0]); i++)
        assert_same_run(a, b, runs[i][0], runs[i][1]);
    jobs_stack_detail *sa = NULL, *sb = NULL;
    assert_int_equal(jobs_stack_get_detail(&sa, a, ALICE, m->priv), 0);
    assert_int_equal(jobs_stack_get_detail(&sb, b, ALICE, m->priv), 0);
    assert_string_equal(sa->name, sb->name);
    assert_int_equal(sa->webhook, sb->webhook);
    assert_true(sb->needs_approval);
    assert_string_equal(sa->webhook_token, sb->webhook_token);
    assert_int_equal(sa->blocks_len, sb->blocks_len);
    assert_memory_equal(sa->blocks, sb->blocks, sa->blocks_len);
    jobs_stack_detail_free(sa);
    jobs_stack_detail_free(sb);
    assert_same_schedule(a, b, ALICE, m->periodic);
    assert_same_schedule(a, b, BOB, m->once);
    assert_same_schedule(a, b, ALICE, m->cron);
    jobs_stack *ta = NULL, *tb = NULL;
    assert_int_equal(jobs_stack_get(&ta, a, ALICE, m->pub), 0);
    assert_int_equal(jobs_stack_get(&tb, b, ALICE, m->pub), 0);
    assert_int_equal(ta->owner, tb->owner);
    assert_string_equal(ta->name, tb->name);
    assert_true(tb->is_public);
    jobs_stack_free(ta);
    jobs_stack_free(tb);
    /* Pages by owner and the name lookups answer from the copied indexes. */
    jobs_job_page *pa = NULL, *pb = NULL;
    assert_int_equal(jobs_list(&pa, a, BOB, 1, 0), 0);
    assert_int_equal(jobs_list(&pb, b, BOB, 1, 0), 0);
    assert_int_equal(pa->count, pb->count);
    assert_int_equal(pa->n, pb->n);
    jobs_job_page_free(pa);
    jobs_job_page_free(pb);
    jobs_job *byname = NULL;
    assert_int_equal(jobs_get_by_name(&byname, b, ALICE, "nightly"), 0);
    assert_int_equal(byname->id, m->named);
    jobs_job_free(byname);
    assert_int_equal(jobs_kv_read(a, list_all, &la), 0);
    assert_int_equal(jobs_kv_read(b, list_all, &lb), 0);
    assert_string_equal(la.buf, lb.buf);
    assert_string_equal(lb.buf, "alice={\"id\":1};bob=;\x01\xff=token;");
}

static int next_user(jobs_kv_txn *txn, void *ctx)
{
    return jobs_kv_next_id(ctx, txn, "users");
}

/* New ids of every kind continue where the source stopped, as they would in the source. */
static void assert_ids_continue(fixture *fx, jobs_store *src, jobs_store *dst, const made *m)
{
    uint64_t a, b;
    (void)fx;

    jobs_job_spec j = JOBS_JOB_SPEC_INIT;
    j.fields = JOBS_JOB_STACK | JOBS_JOB_SCHEDULE;
    j.stack = m->priv;
    j.schedule = FX_DAILY;
    assert_int_equal(jobs_create(&a, src, ALICE, &j), 0);
    assert_int_equal(jobs_create(&b, dst, ALICE, &j), 0);
    assert_int_equal(a, b);
    assert_true(b > m->idem_job && b > m->gone);
    assert_int_equal(jobs_stack_create(&a, src, ALICE, "new", false), 0);
    assert_int_equal(jobs_stack_create(&b, dst, ALICE, "new", false), 0);
    assert_int_equal(a, b);
    assert_true(b > m->pub);
    jobs_schedule_spec sc = JOBS_SCHEDULE_SPEC_INIT;
    sc.fields = JOBS_SCHEDULE_CONFIG;
    sc.period = 120;
    assert_int_equal(jobs_schedule_create(&a, src, ALICE, &sc), 0);
    assert_int_equal(jobs_schedule_create(&b, dst, ALICE, &sc), 0);
    assert_int_equal(a, b);
    assert_true(b > m->cron);
    assert_int_equal(jobs_run_now(&a, src, ALICE, m->named), 0);
    assert_int_equal(jobs_run_now(&b, dst, ALICE, m->named), 0);
    assert_int_equal(a, b);
    assert_true(b > m->run_pending);
    assert_int_equal(jobs_kv_write(src, next_user, &a), 0);
    assert_int_equal(jobs_kv_write(dst, next_user, &b), 0);
    assert_int_equal(a, b);
    assert_int_equal(b, m->user_id + 1);
    /* The name rule holds in the copy: the copied name is taken. */
    j.fields |= JOBS_JOB_NAME;
    j.name = "nightly";
    assert_int_equal(jobs_create(&b, dst, ALICE, &j), JOBS_EEXISTS);
    /* The idempotency key answers the first create's id. */
    jobs_idempotency idem = {"create-1", 8, (const unsigned char *)"fp", 2};
    bool replayed = false;
    j = (jobs_job_spec)JOBS_JOB_SPEC_INIT;
    j.fields = JOBS_JOB_NAME | JOBS_JOB_STACK | JOBS_JOB_SCHEDULE;
    j.name = "once only";
    j.stack = m->pub;
    j.schedule = FX_DAILY;
    assert_int_equal(jobs_create_idempotent(&b, &replayed, dst, BOB, &j, &idem), 0);
    assert_true(replayed);
    assert_int_equal(b, m->idem_job);
}

static void test_copy_there_and_back(void **state)
{
    fixture *fx = *state;
    made m;
    jobs_store *a = open_lmdb(fx, "a"), *c = open_lmdb(fx, "c");

    memset(&m, 0, sizeof(m));
    populate(fx, a, &m);
    assert_int_equal(jobs_store_copy(a, fx->store), 0);
    assert_int_equal(jobs_store_check(fx->store), 0);
    assert_same(a, fx->store, &m);
    assert_int_equal(jobs_store_copy(fx->store, c), 0);
    assert_int_equal(jobs_store_check(c), 0);
    assert_same(a, c, &m);
    assert_ids_continue(fx, a, c, &m);
    jobs_store_close(a);
    jobs_store_close(c);
}

static void test_copy_refuses_a_target_that_is_not_empty(void **state)
{
    fixture *fx = *state;
    made m;
    jobs_store *a = open_lmdb(fx, "a");
    jobs_store_stat_info before = JOBS_STORE_STAT_INFO_INIT, after = JOBS_STORE_STAT_INFO_INIT;
    uint64_t id;

    memset(&m, 0, sizeof(m));
    populate(fx, a, &m);
    /* One stack in the target: refused, and the target is as it was. */
    assert_int_equal(jobs_stack_create(&id, fx->store, 5, "mine", false), 0);
    assert_int_equal(jobs_store_stat(&before, fx->store), 0);
    assert_int_equal(jobs_store_copy(a, fx->store), JOBS_EEXISTS);
    assert_non_null(strstr(jobs_error_last(), "not empty"));
    assert_non_null(strstr(jobs_error_last(), "stack"));
    assert_int_equal(jobs_store_stat(&after, fx->store), 0);
    assert_int_equal(after.jobs, before.jobs);
    assert_int_equal(after.stacks, before.stacks);
    assert_int_equal(after.schedules, before.schedules);
    assert_int_equal(jobs_store_check(fx->store), 0);
    /* A copy into a store the copy filled: refused too. */
    jobs_store *c = open_lmdb(fx, "c");
    assert_int_equal(jobs_store_copy(a, c), 0);
    assert_int_equal(jobs_store_copy(a, c), JOBS_EEXISTS);
    /* Into itself, or without a store. */
    assert_int_equal(jobs_store_copy(a, a), JOBS_EINVAL);
    assert_int_equal(jobs_store_copy(NULL, a), JOBS_EINVAL);
    jobs_store_close(a);
    jobs_store_close(c);
}

/* A source whose built-in schedule its owner changed (JOBS_OWNER_PUBLIC may rename one, and a
 * store with jobs on it can never change it back): a new store's built-in of that id takes the
 * source's. It was refused as a target "not empty", so no store could take such a source. A
 * target whose built-in was changed is not a new store: refused, and left as it was. */
static void test_copy_takes_a_builtin_schedule_the_source_changed(void **state)
{
    fixture *fx = *state;
    jobs_store *a = open_lmdb(fx, "a"), *c = open_lmdb(fx, "c");
    jobs_schedule_spec rename = JOBS_SCHEDULE_SPEC_INIT;
    jobs_schedule *sc = NULL;
    uint64_t stack, job;

    rename.fields = JOBS_SCHEDULE_NAME;
    rename.name = "every hour";
    assert_int_equal(jobs_schedule_update(NULL, a, JOBS_OWNER_PUBLIC, FX_HOURLY, &rename), 0);
    assert_int_equal(jobs_stack_create(&stack, a, ALICE, "s", false), 0);
    jobs_job_spec j = JOBS_JOB_SPEC_INIT;
    j.fields = JOBS_JOB_STACK | JOBS_JOB_SCHEDULE;
    j.stack = stack;
    j.schedule = FX_HOURLY;
    assert_int_equal(jobs_create(&job, a, ALICE, &j), 0);

    assert_int_equal(jobs_store_copy(a, fx->store), 0);
    assert_int_equal(jobs_store_check(fx->store), 0);
    assert_int_equal(jobs_schedule_get(&sc, fx->store, ALICE, FX_HOURLY), 0);
    assert_string_equal(sc->name, "every hour");
    assert_int_equal(sc->period, 3600);
    jobs_schedule_free(sc);
    sc = NULL;
    /* Its name index follows: found by the new name, not by the old. */
    assert_int_equal(jobs_schedule_get_by_name(&sc, fx->store, ALICE, "every hour"), 0);
    assert_int_equal(sc->id, FX_HOURLY);
    jobs_schedule_free(sc);
    sc = NULL;
    assert_int_equal(jobs_schedule_get_by_name(&sc, fx->store, ALICE, "hourly"), JOBS_ENOTFOUND);

    /* The other way: the target's built-in changed, the source's not. */
    jobs_store *plain = open_lmdb(fx, "plain");
    rename.name = "on the hour";
    assert_int_equal(jobs_schedule_update(NULL, c, JOBS_OWNER_PUBLIC, FX_HOURLY, &rename), 0);
    assert_int_equal(jobs_store_copy(plain, c), JOBS_EEXISTS);
    assert_non_null(strstr(jobs_error_last(), "schedule 4"));
    assert_int_equal(jobs_schedule_get(&sc, c, ALICE, FX_HOURLY), 0);
    assert_string_equal(sc->name, "on the hour");
    jobs_schedule_free(sc);
    jobs_store_close(a);
    jobs_store_close(c);
    jobs_store_close(plain);
}

/* The source's last jobs deleted (under LMDB the job counter is then its own record, not told
 * by the last job): new ids of the copies still go on above them, as in the source. */
static void test_ids_go_on_after_the_source_deleted_its_last_jobs(void **state)
{
    fixture *fx = *state;
    jobs_store *a = open_lmdb(fx, "a"), *c = open_lmdb(fx, "c");
    uint64_t st, j1, j2, j3, r, x, y;
    jobs_delete_outcome out;
    jobs_job_spec j = JOBS_JOB_SPEC_INIT;

    assert_int_equal(jobs_stack_create(&st, a, ALICE, "s", false), 0);
    j.fields = JOBS_JOB_STACK | JOBS_JOB_SCHEDULE;
    j.stack = st;
    j.schedule = FX_DAILY;
    assert_int_equal(jobs_create(&j1, a, ALICE, &j), 0);
    assert_int_equal(jobs_create(&j2, a, ALICE, &j), 0);
    assert_int_equal(jobs_create(&j3, a, ALICE, &j), 0);
    assert_int_equal(jobs_run_now(&r, a, ALICE, j3), 0);
    assert_int_equal(jobs_delete(&out, a, ALICE, j3), 0);
    assert_int_equal(jobs_delete(&out, a, ALICE, j2), 0);
    assert_int_equal(jobs_store_copy(a, fx->store), 0);
    assert_int_equal(jobs_store_copy(fx->store, c), 0);
    assert_int_equal(jobs_create(&x, a, ALICE, &j), 0);
    assert_int_equal(jobs_create(&y, c, ALICE, &j), 0);
    assert_int_equal(x, y);
    assert_true(y > j3);
    assert_int_equal(jobs_run_now(&x, a, ALICE, j1), 0);
    assert_int_equal(jobs_run_now(&y, c, ALICE, j1), 0);
    assert_int_equal(x, y);
    assert_int_equal(jobs_create(&y, fx->store, ALICE, &j), 0);
    assert_true(y > j3);
    assert_int_equal(jobs_store_check(fx->store), 0);
    assert_int_equal(jobs_store_check(c), 0);
    jobs_store_close(a);
    jobs_store_close(c);
}

/* Schedules deleted in the source (an owner's, the host's public one, the newest one) are not
 * in the copy, the others are, and the copy's schedule ids go on above the deleted ones. */
static void test_copy_of_a_source_with_deleted_schedules(void **state)
{
    fixture *fx = *state;
    jobs_store *a = open_lmdb(fx, "a");
    jobs_schedule_spec spec = JOBS_SCHEDULE_SPEC_INIT;
    jobs_schedule *sc = NULL;
    uint64_t mine, kept, host, last, x, y;

    spec.fields = JOBS_SCHEDULE_CONFIG | JOBS_SCHEDULE_NAME;
    spec.period = 600;
    spec.name = "s";
    assert_int_equal(jobs_schedule_create(&mine, a, ALICE, &spec), 0);
    assert_int_equal(jobs_schedule_create(&kept, a, ALICE, &spec), 0);
    assert_int_equal(jobs_schedule_create(&host, a, JOBS_OWNER_PUBLIC, &spec), 0);
    assert_int_equal(jobs_schedule_create(&last, a, BOB, &spec), 0);
    assert_int_equal(jobs_schedule_delete(a, ALICE, mine), 0);
    assert_int_equal(jobs_schedule_delete(a, JOBS_OWNER_PUBLIC, host), 0);
    assert_int_equal(jobs_schedule_delete(a, BOB, last), 0);

    assert_int_equal(jobs_store_copy(a, fx->store), 0);
    assert_int_equal(jobs_store_check(fx->store), 0);
    assert_same_stat(a, fx->store);
    const uint64_t gone[] = {mine, host, last};
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(jobs_schedule_get(&sc, fx->store, ALICE, gone[i]), JOBS_ENOTFOUND);
        assert_int_equal(jobs_schedule_get(&sc, fx->store, BOB, gone[i]), JOBS_ENOTFOUND);
    }
    assert_same_schedule(a, fx->store, ALICE, kept);
    assert_int_equal(jobs_schedule_get_by_name(&sc, fx->store, ALICE, "s"), 0);
    assert_int_equal(sc->id, kept);
    jobs_schedule_free(sc);
    sc = NULL;
    assert_int_equal(jobs_schedule_get_by_name(&sc, fx->store, BOB, "s"), JOBS_ENOTFOUND);
    assert_int_equal(jobs_schedule_create(&x, a, BOB, &spec), 0);
    assert_int_equal(jobs_schedule_create(&y, fx->store, BOB, &spec), 0);
    assert_int_equal(x, y);
    assert_true(y > last);
    assert_int_equal(jobs_store_check(fx->store), 0);
    jobs_store_close(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_copy_there_and_back, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_copy_refuses_a_target_that_is_not_empty, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_ids_go_on_after_the_source_deleted_its_last_jobs,
                                        fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_copy_of_a_source_with_deleted_schedules, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_copy_takes_a_builtin_schedule_the_source_changed,
                                        fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
