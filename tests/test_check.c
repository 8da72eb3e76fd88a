/* jobs_store_check(): a store written through the API checks clean after every kind of change;
 * each kind of damage, made with raw LMDB behind the library's back, is found and named. */
#include "fixture.h"

#include <lmdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The cron schedule populate() makes: after the five built-ins and two of owner 2. */
#define CRON_ID 8

/* A store with some of everything: public and private stacks and schedules, named and unnamed
 * jobs, active and inactive, deleted ones, queued ones, ones the scheduler ran and deleted. */
static void populate(fixture *fx)
{
    uint64_t pub = fx_stack(fx, 1, true), own = fx_stack(fx, 2, false);
    uint64_t sched = fx_periodic(fx, 2, 120), once = fx_once(fx, 2, FX_T0 + 30);
    jobs_delete_outcome out;
    uint64_t ids[60];
    char name[32];

    for (int i = 0; i < 60; i++) {
        uint64_t owner = 1 + (uint64_t)(i % 3);
        snprintf(name, sizeof(name), "job-%d", i);
        ids[i] = fx_job(fx, owner, i % 2 ? name : NULL, owner == 2 && i % 4 == 2 ? own : pub,
                        owner == 2 ? (i % 5 ? sched : once) : FX_HOURLY, i % 3 != 1);
    }
    for (int i = 0; i < 60; i += 7)
        assert_int_equal(jobs_delete(&out, fx->store, 1 + (uint64_t)(i % 3), ids[i]), 0);
    fx_advance(fx, 200);
    assert_int_equal(jobs_scheduler_tick(NULL, fx->store, fx_time(fx), 0, NULL, NULL), 0);
    for (int i = 3; i < 60; i += 11)
        assert_int_equal(jobs_delete(&out, fx->store, 1 + (uint64_t)(i % 3), ids[i]), 0);

    /* A cron schedule (id CRON_ID) with an active job. */
    jobs_schedule_spec spec = JOBS_SCHEDULE_SPEC_INIT;
    uint64_t cron;
    spec.fields = JOBS_SCHEDULE_KIND | JOBS_SCHEDULE_CONFIG;
    spec.kind = JOBS_SCHEDULE_CRON;
    spec.cron = "*/5 * * * *";
    spec.tz = "Europe/Berlin";
    assert_int_equal(jobs_schedule_create(&cron, fx->store, 2, &spec), 0);
    assert_int_equal(cron, CRON_ID);
    fx_job(fx, 2, "cron", own, cron, true);
    fx_advance(fx, 600);
    assert_int_equal(jobs_scheduler_tick(NULL, fx->store, fx_time(fx), 0, NULL, NULL), 0);
}

static void test_a_store_written_through_the_api_checks_clean(void **state)
{
    fixture *fx = *state;
    jobs_store_stat_info st = JOBS_STORE_STAT_INFO_INIT;
    jobs_job_page *p = NULL;
    uint64_t active = 0, queued = 0;

    assert_int_equal(jobs_store_check(fx->store), 0);
    populate(fx);
    /* The store-wide counts of stat agree with the jobs themselves. */
    assert_int_equal(jobs_store_stat(&st, fx->store), 0);
    for (uint64_t owner = 1; owner <= 3; owner++) {
        assert_int_equal(jobs_list(&p, fx->store, owner, 1, 1000), 0);
        for (size_t i = 0; i < p->n; i++) {
            active += p->jobs[i].do_run;
            queued += p->jobs[i].do_del;
        }
        jobs_job_page_free(p);
    }
    assert_true(queued > 0 && active > queued);
    assert_int_equal(st.jobs_active, active);
    assert_int_equal(st.jobs_queued, queued);
    if (jobs_store_check(fx->store) != 0)
        fail_msg("check: %s", jobs_error_last());
    fx_reopen(fx);
    assert_int_equal(jobs_store_check(fx->store), 0);
    assert_int_equal(jobs_store_check(NULL), JOBS_EINVAL);
}

/* ---- damage -------------------------------------------------------------------------------- */

typedef struct raw {
    MDB_txn *txn;
    MDB_dbi meta, owners, jobs, job_name, job_due, schedule_refs, stacks;
    MDB_dbi schedules;
    MDB_dbi stack_name, schedule_name, stack_blocks;
} raw;

typedef void (*damage_fn)(raw *r);

static MDB_dbi dbi(MDB_txn *txn, const char *name)
{
    MDB_dbi d;
    assert_int_equal(mdb_dbi_open(txn, name, 0, &d), 0);
    return d;
}

/* The first entry of a database (key and value copied into the caller's buffers). */
static void first(raw *r, MDB_dbi d, unsigned char *key, size_t *klen, unsigned char *val,
                  size_t *vlen)
{
    MDB_cursor *c;
    MDB_val k, v;

    assert_int_equal(mdb_cursor_open(r->txn, d, &c), 0);
    assert_int_equal(mdb_cursor_get(c, &k, &v, MDB_FIRST), 0);
    memcpy(key, k.mv_data, k.mv_size);
    *klen = k.mv_size;
    if (val) {
        memcpy(val, v.mv_data, v.mv_size);
        *vlen = v.mv_size;
    }
    mdb_cursor_close(c);
}

static void del_first(raw *r, MDB_dbi d)
{
    unsigned char key[512];
    size_t klen;
    MDB_val k;

    first(r, d, key, &klen, NULL, NULL);
    k.mv_size = klen;
    k.mv_data = key;
    assert_int_equal(mdb_del(r->txn, d, &k, NULL), 0);
}

/* Adds `delta` to the first u64 value of a database. */
static void bump_first(raw *r, MDB_dbi d, int delta)
{
    unsigned char key[512], val[512];
    size_t klen, vlen;
    uint64_t n;
    MDB_val k, v;

    first(r, d, key, &klen, val, &vlen);
    assert_int_equal(vlen, 8);
    memcpy(&n, val, 8);
    n += (uint64_t)(int64_t)delta;
    k.mv_size = klen;
    k.mv_data = key;
    v.mv_size = 8;
    v.mv_data = &n;
    assert_int_equal(mdb_put(r->txn, d, &k, &v, 0), 0);
}

static void put(raw *r, MDB_dbi d, const void *key, size_t klen, const void *val, size_t vlen)
{
    MDB_val k = {klen, (void *)key}, v = {vlen, (void *)val};
    assert_int_equal(mdb_put(r->txn, d, &k, &v, 0), 0);
}

/* The first key of "owners" with that tag (owner(8) tag(1) ...), copied into key. */
static size_t first_tagged(raw *r, char tag, unsigned char *key, uint64_t *value)
{
    MDB_cursor *c;
    MDB_val k, v;
    int rc;

    assert_int_equal(mdb_cursor_open(r->txn, r->owners, &c), 0);
    for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(c, &k, &v, MDB_NEXT))
        if (k.mv_size > 8 && ((const unsigned char *)k.mv_data)[8] == (unsigned char)tag)
            break;
    assert_int_equal(rc, 0);
    memcpy(key, k.mv_data, k.mv_size);
    if (value) {
        assert_int_equal(v.mv_size, 8);
        memcpy(value, v.mv_data, 8);
    }
    mdb_cursor_close(c);
    return k.mv_size;
}

static void no_owner_entry(raw *r)
{
    unsigned char key[64];
    MDB_val k = {first_tagged(r, 'O', key, NULL), key};

    assert_int_equal(mdb_del(r->txn, r->owners, &k, NULL), 0);
}

static void no_name_entry(raw *r)
{
    del_first(r, r->job_name);
}

static void stray_due_entry(raw *r)
{
    unsigned char key[16] = {0x80, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2};
    put(r, r->job_due, key, 16, "", 0);
}

static void wrong_count(raw *r)
{
    unsigned char key[64];
    uint64_t n;
    size_t klen = first_tagged(r, 't', key, &n);

    n++;
    put(r, r->owners, key, klen, &n, 8);
}

static void wrong_refs(raw *r)
{
    bump_first(r, r->schedule_refs, +1);
}

static void wrong_rank_node(raw *r)
{
    /* owner 1's tree root: owner(8) 'f' node(4) */
    unsigned char key[13] = {0, 0, 0, 0, 0, 0, 0, 1, 'f', 0, 0, 0, 1};
    uint64_t n = 999;
    put(r, r->owners, key, 13, &n, 8);
}

static void extra_rank_node(raw *r)
{
    unsigned char key[13] = {0, 0, 0, 0, 0, 0, 0, 1, 'f', 0, 0, 1, 0};
    uint64_t n = 1;
    put(r, r->owners, key, 13, &n, 8);
}

/* A key of "owners" of no known kind. */
static void unknown_owner_key(raw *r)
{
    unsigned char key[9] = {0, 0, 0, 0, 0, 0, 0, 1, 'Z'};
    uint64_t n = 1;
    put(r, r->owners, key, 9, &n, 8);
}

static void counter_behind(raw *r)
{
    uint64_t one = 1;
    put(r, r->meta, "next.schedule", 13, &one, 8);
}

/* The job counter is a floor below which no id is given (the last job tells the next id), so
 * a low one is no damage; a malformed one is. */
static void counter_malformed(raw *r)
{
    put(r, r->meta, "next.job", 8, "abc", 3);
}

static void wrong_queued(raw *r)
{
    uint64_t n = 999;
    put(r, r->meta, "queued", 6, &n, 8);
}

static void garbage_record(raw *r)
{
    unsigned char key[512];
    size_t klen;

    first(r, r->jobs, key, &klen, NULL, NULL);
    put(r, r->jobs, key, klen, "\x7f\x7f\x7f", 3);
}

/* The cron schedule rewritten with a well-formed record whose config no longer holds (as if
 * a later parser or ICU refused it). */
static void cron_record(raw *r, const char *expr, const char *zone)
{
    unsigned char key[8] = {0, 0, 0, 0, 0, 0, 0, CRON_ID}, rec[400];
    size_t n = 0, el = strlen(expr), zl = strlen(zone);

    rec[n++] = 1;
    rec[n++] = 8; /* cron */
    rec[n++] = 2; /* owner */
    rec[n++] = (unsigned char)el;
    memcpy(rec + n, expr, el);
    n += el;
    rec[n++] = (unsigned char)zl;
    memcpy(rec + n, zone, zl);
    n += zl;
    put(r, r->schedules, key, 8, rec, n);
}

static void cron_expression_no_longer_parses(raw *r)
{
    cron_record(r, "*/5 * * * 1#2", "Europe/Berlin");
}

static void cron_zone_unknown(raw *r)
{
    cron_record(r, "*/5 * * * *", "Mars/Olympus_Mons");
}

static void missing_stack(raw *r)
{
    del_first(r, r->stacks);
}

/* The name indexes and the blocks: a schedule's entry gone, a stack's entry gone, an entry
 * naming the wrong stack, blocks of a stack that does not exist. */
static void no_schedule_name_entry(raw *r)
{
    del_first(r, r->schedule_name);
}

static void no_stack_name_entry(raw *r)
{
    del_first(r, r->stack_name);
}

static void wrong_stack_name_entry(raw *r)
{
    unsigned char key[512], val[8] = {0, 0, 0, 0, 0, 0, 0, 2};
    size_t klen;

    first(r, r->stack_name, key, &klen, NULL, NULL);
    put(r, r->stack_name, key, klen, val, 8); /* a second id under the first stack's name */
}

static void stray_blocks(raw *r)
{
    unsigned char key[8] = {0, 0, 0, 0, 0, 0, 0x7f, 0x7f};
    put(r, r->stack_blocks, key, 8, "[]", 2);
}

static void damaged(void **state, damage_fn damage, const char *want)
{
    fixture *fx = *state;
    MDB_env *env;
    raw r;

    populate(fx);
    assert_int_equal(jobs_store_check(fx->store), 0);
    fx_close(fx);
    assert_int_equal(mdb_env_create(&env), 0);
    assert_int_equal(mdb_env_set_maxdbs(env, 16), 0);
    assert_int_equal(mdb_env_open(env, fx->path, 0, 0600), 0);
    assert_int_equal(mdb_txn_begin(env, NULL, 0, &r.txn), 0);
    r.meta = dbi(r.txn, "meta");
    r.owners = dbi(r.txn, "owners");
    r.jobs = dbi(r.txn, "jobs");
    r.job_name = dbi(r.txn, "job_name");
    r.job_due = dbi(r.txn, "job_due");
    r.schedule_refs = dbi(r.txn, "schedule_refs");
    r.stacks = dbi(r.txn, "stacks");
    r.schedules = dbi(r.txn, "schedules");
    r.stack_name = dbi(r.txn, "stack_name");
    r.schedule_name = dbi(r.txn, "schedule_name");
    r.stack_blocks = dbi(r.txn, "stack_blocks");
    damage(&r);
    assert_int_equal(mdb_txn_commit(r.txn), 0);
    mdb_env_close(env);
    fx_open(fx);
    assert_int_equal(jobs_store_check(fx->store), JOBS_ECORRUPT);
    if (!strstr(jobs_error_last(), want))
        fail_msg("check said '%s', want '%s'", jobs_error_last(), want);
}

#define DAMAGE(fn, want)                                                                       \
    static void test_finds_##fn(void **state)                                                  \
    {                                                                                          \
        damaged(state, fn, want);                                                              \
    }

DAMAGE(no_owner_entry, "has no owner index entry")
DAMAGE(no_name_entry, "name is not indexed")
DAMAGE(stray_due_entry, "the due index lists job 2")
DAMAGE(wrong_count, "count of")
DAMAGE(wrong_refs, "jobs but counts")
DAMAGE(wrong_rank_node, "rank node 1 holds 999")
DAMAGE(extra_rank_node, "rank tree has extra nodes")
DAMAGE(unknown_owner_key, "entry of the owners database (owner 1) is malformed")
DAMAGE(counter_behind, "is not below the id counter")
DAMAGE(counter_malformed, "the id counter 'next.job' is corrupt")
DAMAGE(garbage_record, "does not decode")
DAMAGE(wrong_queued, "queued for deletion but the count says 999")
DAMAGE(missing_stack, "which is missing")
DAMAGE(no_schedule_name_entry, "schedule 5's name is not indexed")
DAMAGE(no_stack_name_entry, "name is not indexed to it")
DAMAGE(wrong_stack_name_entry, "which does not have that name")
DAMAGE(stray_blocks, "which does not exist")
DAMAGE(cron_expression_no_longer_parses,
       "schedule 8's cron config no longer holds ('*/5 * * * 1#2' in Europe/Berlin): cron: field 5")
DAMAGE(cron_zone_unknown, "schedule 8's cron config no longer holds ('*/5 * * * *' in "
                          "Mars/Olympus_Mons): tz: 'Mars/Olympus_Mons' is not a known time zone")

/* The tick does not stop for such a schedule: its job runs its due slot and is disabled. */
static void test_tick_disables_a_job_whose_cron_config_no_longer_holds(void **state)
{
    fixture *fx = *state;
    jobs_job *job = NULL;
    fx_events ev;

    damaged(state, cron_expression_no_longer_parses, "no longer holds");
    assert_int_equal(jobs_get_by_name(&job, fx->store, 2, "cron"), 0);
    assert_true(job->do_run);
    int64_t due = job->next_run;
    uint64_t id = job->id;
    jobs_job_free(job);
    fx_tick(fx, due, &ev);
    bool ran = false;
    for (size_t i = 0; i < ev.n && i < FX_MAX_EVENTS; i++)
        ran = ran || (ev.ev[i].job == id && ev.ev[i].slot == due);
    assert_true(ran);
    job = fx_get(fx, 2, id);
    assert_false(job->do_run);
    uint64_t etag = job->etag;
    jobs_job_free(job);
    /* Nor can it be made active again on that schedule: JOBS_ECONFIG, and nothing changes. */
    jobs_job_spec on = JOBS_JOB_SPEC_INIT;
    on.fields = JOBS_JOB_ENABLED;
    on.enabled = true;
    assert_int_equal(jobs_update(NULL, fx->store, 2, id, &on), JOBS_ECONFIG);
    job = fx_get(fx, 2, id);
    assert_false(job->do_run);
    assert_int_equal(job->etag, etag);
    jobs_job_free(job);
}

/* A data.mdb cut short (a copy onto a full disk, a truncating tool) is refused at the open, read
 * and write alike, and left as it is: LMDB maps the whole file, and the first read of a page
 * past its end killed the process with SIGBUS (jobsctl check exited 135). */
static void test_open_refuses_a_store_cut_short(void **state)
{
    fixture *fx = *state;
    char data[PATH_MAX + 16];
    struct stat st;
    unsigned int flags[] = {0, JOBS_STORE_READONLY};

    populate(fx);
    fx_close(fx);
    snprintf(data, sizeof data, "%s/data.mdb", fx->path);
    assert_int_equal(stat(data, &st), 0);
    assert_true(st.st_size > 8 * 4096);
    off_t cut = st.st_size / 2;
    assert_int_equal(truncate(data, cut), 0);
    for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++) {
        fx->opts.flags = flags[i];
        assert_int_equal(fx_try_open(fx), JOBS_ECORRUPT);
        assert_null(fx->store);
        if (!strstr(jobs_error_last(), "is cut short"))
            fail_msg("the open said '%s'", jobs_error_last());
        assert_int_equal(stat(data, &st), 0);
        assert_int_equal(st.st_size, cut);
    }
    /* An empty data.mdb: a read-only open finds no store (it said "Bad file descriptor"). */
    assert_int_equal(truncate(data, 0), 0);
    fx->opts.flags = JOBS_STORE_READONLY;
    assert_int_equal(fx_try_open(fx), JOBS_ENOTFOUND);
    if (!strstr(jobs_error_last(), "its data.mdb is empty"))
        fail_msg("the open said '%s'", jobs_error_last());
    /* An empty file given as the store: not a directory (the test of an empty data.mdb once
     * read the file's own size, and called it one). */
    const char *path = fx->opts.path;
    fx->opts.path = data;
    assert_int_equal(fx_try_open(fx), JOBS_EINVAL);
    if (!strstr(jobs_error_last(), "is not a directory"))
        fail_msg("the open said '%s'", jobs_error_last());
    fx->opts.path = path;
    fx->opts.flags = 0;
}

#define T(f) cmocka_unit_test_setup_teardown(f, fx_setup, fx_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_a_store_written_through_the_api_checks_clean),
        T(test_open_refuses_a_store_cut_short),
        T(test_finds_no_owner_entry),
        T(test_finds_no_name_entry),
        T(test_finds_stray_due_entry),
        T(test_finds_wrong_count),
        T(test_finds_wrong_refs),
        T(test_finds_wrong_rank_node),
        T(test_finds_extra_rank_node),
        T(test_finds_unknown_owner_key),
        T(test_finds_counter_behind),
        T(test_finds_counter_malformed),
        T(test_finds_garbage_record),
        T(test_finds_wrong_queued),
        T(test_finds_missing_stack),
        T(test_finds_cron_expression_no_longer_parses),
        T(test_finds_cron_zone_unknown),
        T(test_tick_disables_a_job_whose_cron_config_no_longer_holds),
        T(test_finds_no_schedule_name_entry),
        T(test_finds_no_stack_name_entry),
        T(test_finds_wrong_stack_name_entry),
        T(test_finds_stray_blocks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
