/* Stacks as the original service has them: blocks (opaque bytes, kept apart), webhook fields and
 * their token, needs_approval, names unique per owner, lookups by name (stacks and schedules),
 * updates, the first job created with its stack in one transaction, and stores written before
 * any of this (opened read-write and read-only). */
#include <lmdb.h>
#include <stdio.h>
#include <string.h>

#include "fixture.h"

#define OWNER 71
#define OTHER 72

static uint64_t make(fixture *fx, uint64_t owner, const char *name, bool pub)
{
    uint64_t id = 0;
    assert_int_equal(jobs_stack_create(&id, fx->store, owner, name, pub), 0);
    return id;
}

static void test_blocks_and_webhook_fields_read_back_as_given(void **state)
{
    fixture *fx = *state;
    static const char blocks[] = "[[\"Post to Twitter\",{\"tweet_body\":\"hi\"}]]";
    jobs_stack_spec spec = JOBS_STACK_SPEC_INIT;
    jobs_stack_detail *d = NULL;
    uint64_t id = 0, job = 7;

    spec.fields = JOBS_STACK_NAME | JOBS_STACK_BLOCKS | JOBS_STACK_WEBHOOK |
                  JOBS_STACK_WEBHOOK_METHOD | JOBS_STACK_NEEDS_APPROVAL;
    spec.name = "Everything is Awesome";
    spec.blocks = blocks;
    spec.blocks_len = strlen(blocks);
    spec.webhook = JOBS_WEBHOOK_TOKEN;
    spec.webhook_method = JOBS_WEBHOOK_POST;
    spec.needs_approval = true;
    assert_int_equal(jobs_stack_create_with_job(&id, &job, fx->store, OWNER, &spec, NULL), 0);
    assert_int_equal(job, 0);
    assert_int_equal(jobs_stack_get_detail(&d, fx->store, OWNER, id), 0);
    assert_string_equal(d->name, "Everything is Awesome");
    assert_int_equal(d->owner, OWNER);
    assert_false(d->is_public);
    assert_true(d->needs_approval);
    assert_int_equal(d->webhook, JOBS_WEBHOOK_TOKEN);
    assert_int_equal(d->webhook_method, JOBS_WEBHOOK_POST);
    assert_non_null(d->webhook_token);
    assert_int_equal(strlen(d->webhook_token), JOBS_WEBHOOK_TOKEN_LEN);
    assert_int_equal(strspn(d->webhook_token, "0123456789abcdef"), JOBS_WEBHOOK_TOKEN_LEN);
    assert_int_equal(d->blocks_len, strlen(blocks));
    assert_memory_equal(d->blocks, blocks, strlen(blocks));
    char token[JOBS_WEBHOOK_TOKEN_LEN + 1];
    strcpy(token, d->webhook_token);
    jobs_stack_detail_free(d);

    /* Kept across a reopen, and the store checks clean. */
    fx_reopen(fx);
    assert_int_equal(jobs_stack_get_detail(&d, fx->store, OWNER, id), 0);
    assert_string_equal(d->webhook_token, token);
    assert_memory_equal(d->blocks, blocks, strlen(blocks));
    jobs_stack_detail_free(d);
    assert_int_equal(jobs_store_check(fx->store), 0);
    /* A second stack's token is another one. */
    spec.name = "second";
    assert_int_equal(jobs_stack_create_with_job(&id, NULL, fx->store, OWNER, &spec, NULL), 0);
    assert_int_equal(jobs_stack_get_detail(&d, fx->store, OWNER, id), 0);
    assert_string_not_equal(d->webhook_token, token);
    jobs_stack_detail_free(d);
}

static void test_a_plain_stack_has_no_blocks_no_webhook_no_token(void **state)
{
    fixture *fx = *state;
    uint64_t id = make(fx, OWNER, "plain", true);
    jobs_stack_detail *d = NULL;

    assert_int_equal(jobs_stack_get_detail(&d, fx->store, OTHER, id), 0);
    assert_null(d->blocks);
    assert_int_equal(d->blocks_len, 0);
    assert_int_equal(d->webhook, JOBS_WEBHOOK_NONE);
    assert_int_equal(d->webhook_method, JOBS_WEBHOOK_GET);
    assert_null(d->webhook_token);
    assert_false(d->needs_approval);
    assert_true(d->is_public);
    jobs_stack_detail_free(d);
}

static void test_blocks_over_64_kib_are_refused(void **state)
{
    fixture *fx = *state;
    jobs_stack_spec spec = JOBS_STACK_SPEC_INIT;
    static char big[JOBS_STACK_BLOCKS_MAX + 1];
    jobs_store_stat_info info = JOBS_STORE_STAT_INFO_INIT;
    uint64_t id = 0;

    memset(big, 'x', sizeof big);
    spec.fields = JOBS_STACK_NAME | JOBS_STACK_BLOCKS;
    spec.name = "big";
    spec.blocks = big;
    spec.blocks_len = sizeof big;
    assert_int_equal(jobs_stack_create_with_job(&id, NULL, fx->store, OWNER, &spec, NULL),
                     JOBS_EINVAL);
    assert_int_equal(jobs_store_stat(&info, fx->store), 0);
    assert_int_equal(info.stacks, 0);
    /* Exactly 64 KiB is fine, and comes back whole. */
    spec.blocks_len = JOBS_STACK_BLOCKS_MAX;
    assert_int_equal(jobs_stack_create_with_job(&id, NULL, fx->store, OWNER, &spec, NULL), 0);
    jobs_stack_detail *d = NULL;
    assert_int_equal(jobs_stack_get_detail(&d, fx->store, OWNER, id), 0);
    assert_int_equal(d->blocks_len, JOBS_STACK_BLOCKS_MAX);
    assert_memory_equal(d->blocks, big, JOBS_STACK_BLOCKS_MAX);
    jobs_stack_detail_free(d);
    spec.webhook = 9;
    spec.fields = JOBS_STACK_NAME | JOBS_STACK_WEBHOOK;
    spec.name = "bad hook";
    assert_int_equal(jobs_stack_create_with_job(&id, NULL, fx->store, OWNER, &spec, NULL),
                     JOBS_EINVAL);
}

static void test_stack_names_are_unique_per_owner(void **state)
{
    fixture *fx = *state;
    uint64_t a = make(fx, OWNER, "mine", false), id = 0;
    jobs_store_stat_info info = JOBS_STORE_STAT_INFO_INIT;

    assert_int_equal(jobs_stack_create(&id, fx->store, OWNER, "mine", true), JOBS_ESTACKEXISTS);
    assert_int_equal(jobs_fault_code(JOBS_ESTACKEXISTS), 10);
    assert_non_null(strstr(jobs_error_last(), "mine"));
    assert_int_equal(jobs_store_stat(&info, fx->store), 0);
    assert_int_equal(info.stacks, 1);
    /* Another owner may use the name. */
    uint64_t b = make(fx, OTHER, "mine", true);
    assert_true(b > a);
    assert_int_equal(jobs_store_check(fx->store), 0);
}

static void test_stack_get_by_name_prefers_own_then_public(void **state)
{
    fixture *fx = *state;
    uint64_t pub1 = make(fx, OTHER, "shared", true);
    uint64_t mine = make(fx, OWNER, "shared", false);
    uint64_t hidden = make(fx, OTHER, "secret", false);
    jobs_stack *s = NULL;

    (void)hidden;
    assert_int_equal(jobs_stack_get_by_name(&s, fx->store, OWNER, "shared"), 0);
    assert_int_equal(s->id, mine);
    jobs_stack_free(s);
    assert_int_equal(jobs_stack_get_by_name(&s, fx->store, JOBS_OWNER_PUBLIC, "shared"), 0);
    assert_int_equal(s->id, pub1);
    jobs_stack_free(s);
    assert_int_equal(jobs_stack_get_by_name(&s, fx->store, 99, "shared"), 0);
    assert_int_equal(s->id, pub1);
    jobs_stack_free(s);
    s = NULL;
    assert_int_equal(jobs_stack_get_by_name(&s, fx->store, OWNER, "secret"), JOBS_ENOTFOUND);
    assert_int_equal(jobs_stack_get_by_name(&s, fx->store, JOBS_OWNER_PUBLIC, "secret"),
                     JOBS_ENOTFOUND);
    assert_null(s);
    assert_int_equal(jobs_stack_get_by_name(&s, fx->store, OWNER, "bad\x01"), JOBS_ENAME);
    assert_int_equal(jobs_stack_get_by_name(&s, fx->store, OWNER, NULL), JOBS_ENAME);
}

static void test_schedule_get_by_name_prefers_own_then_public(void **state)
{
    fixture *fx = *state;
    jobs_schedule_spec spec = JOBS_SCHEDULE_SPEC_INIT;
    jobs_schedule *sc = NULL;
    uint64_t mine = 0, other = 0;

    assert_int_equal(jobs_schedule_get_by_name(&sc, fx->store, OWNER, "hourly"), 0);
    assert_int_equal(sc->id, FX_HOURLY);
    assert_int_equal(sc->owner, JOBS_OWNER_PUBLIC);
    jobs_schedule_free(sc);
    assert_int_equal(jobs_schedule_get_by_name(&sc, fx->store, JOBS_OWNER_PUBLIC, "daily"), 0);
    assert_int_equal(sc->id, FX_DAILY);
    jobs_schedule_free(sc);

    spec.fields = JOBS_SCHEDULE_NAME | JOBS_SCHEDULE_CONFIG;
    spec.name = "hourly";
    spec.period = 7200;
    assert_int_equal(jobs_schedule_create(&mine, fx->store, OWNER, &spec), 0);
    spec.name = "theirs";
    assert_int_equal(jobs_schedule_create(&other, fx->store, OTHER, &spec), 0);
    assert_int_equal(jobs_schedule_get_by_name(&sc, fx->store, OWNER, "hourly"), 0);
    assert_int_equal(sc->id, mine);
    assert_int_equal(sc->period, 7200);
    jobs_schedule_free(sc);
    sc = NULL;
    assert_int_equal(jobs_schedule_get_by_name(&sc, fx->store, OWNER, "theirs"), JOBS_ENOTFOUND);
    assert_null(sc);

    /* A rename moves the name. */
    jobs_schedule_spec ren = JOBS_SCHEDULE_SPEC_INIT;
    ren.fields = JOBS_SCHEDULE_NAME;
    ren.name = "renamed";
    assert_int_equal(jobs_schedule_update(NULL, fx->store, OWNER, mine, &ren), 0);
    assert_int_equal(jobs_schedule_get_by_name(&sc, fx->store, OWNER, "renamed"), 0);
    assert_int_equal(sc->id, mine);
    jobs_schedule_free(sc);
    assert_int_equal(jobs_schedule_get_by_name(&sc, fx->store, OWNER, "hourly"), 0);
    assert_int_equal(sc->id, FX_HOURLY);
    jobs_schedule_free(sc);
    assert_int_equal(jobs_store_check(fx->store), 0);
}

static void test_stack_update_changes_only_what_is_given(void **state)
{
    fixture *fx = *state;
    uint64_t id = make(fx, OWNER, "before", false);
    uint64_t taken = make(fx, OWNER, "taken", false);
    jobs_stack_spec ch = JOBS_STACK_SPEC_INIT;
    jobs_stack_detail *d = NULL;
    jobs_stack *s = NULL;

    (void)taken;
    ch.fields = JOBS_STACK_NAME | JOBS_STACK_PUBLIC | JOBS_STACK_BLOCKS | JOBS_STACK_WEBHOOK;
    ch.name = "after";
    ch.is_public = true;
    ch.blocks = "[]";
    ch.blocks_len = 2;
    ch.webhook = JOBS_WEBHOOK_TOKEN;
    assert_int_equal(jobs_stack_update(&d, fx->store, OWNER, id, &ch), 0);
    assert_string_equal(d->name, "after");
    assert_true(d->is_public);
    assert_string_equal(d->blocks, "[]");
    assert_non_null(d->webhook_token);
    char token[JOBS_WEBHOOK_TOKEN_LEN + 1];
    strcpy(token, d->webhook_token);
    jobs_stack_detail_free(d);
    /* The name moved, and the public stack is seen by others, by name too. */
    assert_int_equal(jobs_stack_get_by_name(&s, fx->store, OTHER, "after"), 0);
    assert_int_equal(s->id, id);
    jobs_stack_free(s);
    s = NULL;
    assert_int_equal(jobs_stack_get_by_name(&s, fx->store, OWNER, "before"), JOBS_ENOTFOUND);

    /* A method change keeps the token; an empty change changes nothing. */
    ch.fields = JOBS_STACK_WEBHOOK_METHOD;
    ch.webhook_method = JOBS_WEBHOOK_POST;
    assert_int_equal(jobs_stack_update(&d, fx->store, OWNER, id, &ch), 0);
    assert_string_equal(d->webhook_token, token);
    assert_int_equal(d->webhook_method, JOBS_WEBHOOK_POST);
    jobs_stack_detail_free(d);
    ch.fields = 0;
    assert_int_equal(jobs_stack_update(&d, fx->store, OWNER, id, &ch), 0);
    assert_string_equal(d->webhook_token, token);
    assert_string_equal(d->name, "after");
    jobs_stack_detail_free(d);

    /* Another kind of webhook drops the token; private again leaves the public list. */
    ch.fields = JOBS_STACK_WEBHOOK | JOBS_STACK_PUBLIC | JOBS_STACK_BLOCKS;
    ch.webhook = JOBS_WEBHOOK_USER;
    ch.is_public = false;
    ch.blocks = NULL;
    ch.blocks_len = 0;
    assert_int_equal(jobs_stack_update(&d, fx->store, OWNER, id, &ch), 0);
    assert_null(d->webhook_token);
    assert_null(d->blocks);
    jobs_stack_detail_free(d);
    assert_int_equal(jobs_stack_get_by_name(&s, fx->store, OTHER, "after"), JOBS_ENOTFOUND);
    jobs_stack_page *p = NULL;
    assert_int_equal(jobs_stack_list(&p, fx->store, OTHER, 1, 0), 0);
    assert_int_equal(p->count, 0);
    jobs_stack_page_free(p);
    assert_int_equal(jobs_store_check(fx->store), 0);

    /* A taken name is refused and changes nothing; someone else's stack is not found. */
    ch.fields = JOBS_STACK_NAME | JOBS_STACK_NEEDS_APPROVAL;
    ch.name = "taken";
    ch.needs_approval = true;
    assert_int_equal(jobs_stack_update(&d, fx->store, OWNER, id, &ch), JOBS_ESTACKEXISTS);
    assert_null(d);
    assert_int_equal(jobs_stack_get_detail(&d, fx->store, OWNER, id), 0);
    assert_string_equal(d->name, "after");
    assert_false(d->needs_approval);
    jobs_stack_detail_free(d);
    d = NULL;
    ch.name = "x";
    assert_int_equal(jobs_stack_update(&d, fx->store, OTHER, id, &ch), JOBS_ENOTFOUND);
    uint64_t pub = make(fx, OTHER, "their public", true);
    assert_int_equal(jobs_stack_update(&d, fx->store, OWNER, pub, &ch), JOBS_ENOTFOUND);
    assert_int_equal(jobs_stack_update(NULL, fx->store, OWNER, 999, &ch), JOBS_ENOTFOUND);
    assert_int_equal(jobs_store_check(fx->store), 0);
}

static void test_first_job_is_created_with_its_stack_or_neither(void **state)
{
    fixture *fx = *state;
    jobs_stack_spec spec = JOBS_STACK_SPEC_INIT;
    jobs_job_spec job = JOBS_JOB_SPEC_INIT;
    jobs_store_stat_info info = JOBS_STORE_STAT_INFO_INIT;
    uint64_t id = 0, job_id = 0;
    jobs_job *j = NULL;

    spec.fields = JOBS_STACK_NAME;
    spec.name = "with a job";
    job.fields = JOBS_JOB_SCHEDULE | JOBS_JOB_ENABLED | JOBS_JOB_NAME;
    job.schedule = FX_HOURLY;
    job.enabled = true;
    job.name = "first";
    assert_int_equal(jobs_stack_create_with_job(&id, &job_id, fx->store, OWNER, &spec, &job), 0);
    assert_true(job_id >= 1);
    assert_int_equal(jobs_get(&j, fx->store, OWNER, job_id), 0);
    assert_int_equal(j->stack, id);
    assert_int_equal(j->schedule, FX_HOURLY);
    assert_true(j->do_run);
    assert_int_equal(j->next_run, FX_T0 + 3600);
    jobs_job_free(j);

    /* A job part that fails leaves no stack: a schedule not ours, a job name in use. */
    jobs_schedule_spec sc = JOBS_SCHEDULE_SPEC_INIT;
    uint64_t theirs = 0;
    sc.fields = JOBS_SCHEDULE_CONFIG;
    sc.period = 600;
    assert_int_equal(jobs_schedule_create(&theirs, fx->store, OTHER, &sc), 0);
    spec.name = "never";
    job.schedule = theirs;
    assert_int_equal(jobs_stack_create_with_job(&id, &job_id, fx->store, OWNER, &spec, &job),
                     JOBS_ESCHEDULE);
    job.schedule = FX_DAILY;
    assert_int_equal(jobs_stack_create_with_job(&id, &job_id, fx->store, OWNER, &spec, &job),
                     JOBS_EEXISTS);
    jobs_stack *s = NULL;
    assert_int_equal(jobs_stack_get_by_name(&s, fx->store, OWNER, "never"), JOBS_ENOTFOUND);
    assert_int_equal(jobs_store_stat(&info, fx->store), 0);
    assert_int_equal(info.stacks, 1);
    assert_int_equal(info.jobs, 1);
    /* The job's stack is the new one: giving one is refused. */
    job.fields |= JOBS_JOB_STACK;
    job.stack = 1;
    job.name = "other";
    assert_int_equal(jobs_stack_create_with_job(&id, &job_id, fx->store, OWNER, &spec, &job),
                     JOBS_EINVAL);
    assert_int_equal(jobs_store_check(fx->store), 0);
}

static void test_a_public_stack_made_private_stays_with_other_owners_jobs(void **state)
{
    fixture *fx = *state;
    uint64_t stack = make(fx, OWNER, "lent", true), job = 0;
    jobs_job_spec spec = JOBS_JOB_SPEC_INIT;
    jobs_stack_spec ch = JOBS_STACK_SPEC_INIT;
    jobs_job *j = NULL;

    spec.fields = JOBS_JOB_STACK | JOBS_JOB_SCHEDULE | JOBS_JOB_ENABLED;
    spec.stack = stack;
    spec.schedule = FX_HOURLY;
    spec.enabled = true;
    assert_int_equal(jobs_create(&job, fx->store, OTHER, &spec), 0);
    ch.fields = JOBS_STACK_PUBLIC;
    ch.is_public = false;
    assert_int_equal(jobs_stack_update(NULL, fx->store, OWNER, stack, &ch), 0);
    /* The store is consistent, the job keeps its stack and can still change otherwise; a new
     * job of that owner cannot take the stack. */
    assert_int_equal(jobs_store_check(fx->store), 0);
    jobs_job_spec up = JOBS_JOB_SPEC_INIT;
    up.fields = JOBS_JOB_ENABLED;
    up.enabled = false;
    assert_int_equal(jobs_update(&j, fx->store, OTHER, job, &up), 0);
    assert_int_equal(j->stack, stack);
    jobs_job_free(j);
    assert_int_equal(jobs_create(NULL, fx->store, OTHER, &spec), JOBS_ESTACK);
    assert_int_equal(jobs_store_check(fx->store), 0);
}

/* ---- a store written before these fields ------------------------------------------------- */

/* Makes the store at `path` look as the previous release wrote it: no name indexes, no blocks
 * database, no "names" marker; and gives stack `dup` the name of stack `orig` (that release let
 * one owner have two stacks of one name). Stack records of that release: version 1, flags
 * (public 1, name 4), owner varint, name length, name. */
static void make_old(const char *path, uint64_t dup, uint64_t owner, const char *name)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    unsigned char key[8], rec[300];
    size_t n = 0, len = strlen(name);

    assert_int_equal(mdb_env_create(&env), 0);
    assert_int_equal(mdb_env_set_maxdbs(env, 64), 0);
    assert_int_equal(mdb_env_open(env, path, 0, 0600), 0);
    assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
    for (const char *const *db = (const char *const[]){"stack_name", "stack_blocks",
                                                       "schedule_name", NULL};
         *db; db++) {
        assert_int_equal(mdb_dbi_open(txn, *db, 0, &dbi), 0);
        assert_int_equal(mdb_drop(txn, dbi, 1), 0);
    }
    assert_int_equal(mdb_dbi_open(txn, "meta", 0, &dbi), 0);
    MDB_val k = {5, (void *)"names"};
    assert_int_equal(mdb_del(txn, dbi, &k, NULL), 0);
    assert_true(owner < 128 && len < 128);
    rec[n++] = 1;
    rec[n++] = 4;
    rec[n++] = (unsigned char)owner;
    rec[n++] = (unsigned char)len;
    memcpy(rec + n, name, len);
    n += len;
    for (int i = 7; i >= 0; i--)
        key[7 - i] = (unsigned char)(dup >> (8 * i));
    assert_int_equal(mdb_dbi_open(txn, "stacks", 0, &dbi), 0);
    MDB_val kk = {8, key}, v = {n, rec};
    assert_int_equal(mdb_put(txn, dbi, &kk, &v, 0), 0);
    assert_int_equal(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
}

static void test_a_store_of_the_previous_release_opens_and_gains_the_indexes(void **state)
{
    fixture *fx = *state;
    FX_LMDB_ONLY(); /* LMDB: an LMDB store of the previous release (test_postgres: v2) */
    uint64_t a = make(fx, OWNER, "twin", false);
    uint64_t b = make(fx, OWNER, "other", false);
    uint64_t pub = make(fx, OTHER, "public one", true);
    jobs_stack *s = NULL;
    jobs_schedule *sc = NULL;
    jobs_stack_detail *d = NULL;
    uint64_t id = 0;

    jobs_store_close(fx->store);
    fx->store = NULL;
    make_old(fx->path, b, OWNER, "twin");

    /* Read-only (as a restore's check does): it opens, checks, and finds by name by walking. */
    fx->opts.flags |= JOBS_STORE_READONLY;
    assert_int_equal(fx_try_open(fx), 0);
    assert_int_equal(jobs_store_check(fx->store), 0);
    assert_int_equal(jobs_stack_get_by_name(&s, fx->store, OWNER, "twin"), 0);
    assert_int_equal(s->id, a);
    jobs_stack_free(s);
    assert_int_equal(jobs_stack_get_by_name(&s, fx->store, OWNER, "public one"), 0);
    assert_int_equal(s->id, pub);
    jobs_stack_free(s);
    assert_int_equal(jobs_schedule_get_by_name(&sc, fx->store, OWNER, "daily"), 0);
    assert_int_equal(sc->id, FX_DAILY);
    jobs_schedule_free(sc);
    assert_int_equal(jobs_stack_get_detail(&d, fx->store, OWNER, b), 0);
    assert_string_equal(d->name, "twin");
    assert_null(d->blocks);
    jobs_stack_detail_free(d);
    jobs_store_close(fx->store);
    fx->store = NULL;

    /* Read-write: the indexes are built at the open; both twins stay, the lowest id answers. */
    fx->opts.flags &= ~(unsigned)JOBS_STORE_READONLY;
    assert_int_equal(fx_try_open(fx), 0);
    assert_int_equal(jobs_store_check(fx->store), 0);
    assert_int_equal(jobs_stack_get_by_name(&s, fx->store, OWNER, "twin"), 0);
    assert_int_equal(s->id, a);
    jobs_stack_free(s);
    assert_int_equal(jobs_stack_get(&s, fx->store, OWNER, b), 0);
    assert_string_equal(s->name, "twin");
    jobs_stack_free(s);
    assert_int_equal(jobs_schedule_get_by_name(&sc, fx->store, OWNER, "every minute"), 0);
    assert_int_equal(sc->id, FX_EVERY_MINUTE);
    jobs_schedule_free(sc);
    /* The rule holds from now on: no third twin; renaming one twin frees nothing else. */
    assert_int_equal(jobs_stack_create(&id, fx->store, OWNER, "twin", false), JOBS_ESTACKEXISTS);
    jobs_stack_spec ch = JOBS_STACK_SPEC_INIT;
    ch.fields = JOBS_STACK_NAME;
    ch.name = "untwinned";
    assert_int_equal(jobs_stack_update(NULL, fx->store, OWNER, b, &ch), 0);
    assert_int_equal(jobs_stack_get_by_name(&s, fx->store, OWNER, "twin"), 0);
    assert_int_equal(s->id, a);
    jobs_stack_free(s);
    assert_int_equal(jobs_store_check(fx->store), 0);
    fx_reopen(fx);
    assert_int_equal(jobs_store_check(fx->store), 0);
}

/* A webhook route finds any stack by id, private ones of others too; only the owner refreshes
 * a token, only of a token webhook, and the old token is gone after it. */
static void test_webhook_lookup_and_token_refresh(void **state)
{
    fixture *fx = *state;
    jobs_stack_spec spec = JOBS_STACK_SPEC_INIT;
    jobs_stack_detail *d = NULL, *e = NULL;
    uint64_t tok = 0, plain = make(fx, OWNER, "plain", false);
    char old[JOBS_WEBHOOK_TOKEN_LEN + 1];

    spec.fields = JOBS_STACK_NAME | JOBS_STACK_WEBHOOK | JOBS_STACK_WEBHOOK_METHOD;
    spec.name = "hooked";
    spec.webhook = JOBS_WEBHOOK_TOKEN;
    spec.webhook_method = JOBS_WEBHOOK_POST;
    assert_int_equal(jobs_stack_create_with_job(&tok, NULL, fx->store, OWNER, &spec, NULL), 0);

    /* Private, yet found by id for the route to check; other owners' reads still fail. */
    assert_int_equal(jobs_stack_get_webhook(&d, fx->store, tok), 0);
    assert_int_equal(d->owner, OWNER);
    assert_int_equal(d->webhook, JOBS_WEBHOOK_TOKEN);
    assert_int_equal(d->webhook_method, JOBS_WEBHOOK_POST);
    assert_non_null(d->webhook_token);
    snprintf(old, sizeof old, "%s", d->webhook_token);
    jobs_stack_detail_free(d);
    d = NULL;
    assert_int_equal(jobs_stack_get_detail(&d, fx->store, OTHER, tok), JOBS_ENOTFOUND);
    assert_int_equal(jobs_stack_get_webhook(&d, fx->store, 999999), JOBS_ENOTFOUND);
    assert_null(d);
    assert_int_equal(jobs_stack_get_webhook(&d, fx->store, 0), JOBS_ERANGE);
    assert_int_equal(jobs_stack_get_webhook(NULL, fx->store, tok), JOBS_EINVAL);

    /* Others and non-token webhooks change nothing. */
    assert_int_equal(jobs_stack_refresh_token(&d, fx->store, OTHER, tok), JOBS_ENOTFOUND);
    assert_null(d);
    assert_int_equal(jobs_stack_refresh_token(&d, fx->store, OWNER, plain), JOBS_EWEBHOOK);
    assert_int_equal(jobs_fault_code(JOBS_EWEBHOOK), 131);
    assert_int_equal(jobs_stack_refresh_token(NULL, fx->store, OWNER, 999999), JOBS_ENOTFOUND);
    assert_int_equal(jobs_stack_get_webhook(&d, fx->store, tok), 0);
    assert_string_equal(d->webhook_token, old);
    jobs_stack_detail_free(d);

    assert_int_equal(jobs_stack_refresh_token(&d, fx->store, OWNER, tok), 0);
    assert_int_equal(strlen(d->webhook_token), JOBS_WEBHOOK_TOKEN_LEN);
    assert_string_not_equal(d->webhook_token, old);
    assert_string_equal(d->name, "hooked");
    assert_int_equal(d->webhook_method, JOBS_WEBHOOK_POST);
    assert_int_equal(jobs_stack_get_detail(&e, fx->store, OWNER, tok), 0);
    assert_string_equal(e->webhook_token, d->webhook_token);
    jobs_stack_detail_free(d);
    jobs_stack_detail_free(e);
    assert_int_equal(jobs_store_check(fx->store), 0);
}

#define T(f) cmocka_unit_test_setup_teardown(f, fx_setup, fx_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_blocks_and_webhook_fields_read_back_as_given),
        T(test_a_plain_stack_has_no_blocks_no_webhook_no_token),
        T(test_blocks_over_64_kib_are_refused),
        T(test_stack_names_are_unique_per_owner),
        T(test_stack_get_by_name_prefers_own_then_public),
        T(test_schedule_get_by_name_prefers_own_then_public),
        T(test_stack_update_changes_only_what_is_given),
        T(test_first_job_is_created_with_its_stack_or_neither),
        T(test_a_public_stack_made_private_stays_with_other_owners_jobs),
        T(test_a_store_of_the_previous_release_opens_and_gains_the_indexes),
        T(test_webhook_lookup_and_token_refresh),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
