/* Schedules: built-ins, config rules, updates, the in-use rule, visibility, paging and
 * deletion. */
#include "fixture.h"

#include <stdio.h>
#include <string.h>

#define OWNER 51
#define OTHER 52

static int create(fixture *fx, uint64_t owner, bool once, int64_t value, uint64_t *id)
{
    jobs_schedule_spec spec = JOBS_SCHEDULE_SPEC_INIT;
    spec.fields = JOBS_SCHEDULE_CONFIG | (once ? JOBS_SCHEDULE_ONCE : 0u);
    spec.once = once;
    if (once)
        spec.timestamp = value;
    else
        spec.period = value;
    return jobs_schedule_create(id, fx->store, owner, &spec);
}

static jobs_schedule *get(fixture *fx, uint64_t owner, uint64_t id)
{
    jobs_schedule *s = NULL;
    assert_int_equal(jobs_schedule_get(&s, fx->store, owner, id), 0);
    assert_non_null(s);
    assert_int_equal(s->id, id);
    return s;
}

static uint64_t schedule_count(fixture *fx, uint64_t owner)
{
    jobs_schedule_page *p = NULL;
    assert_int_equal(jobs_schedule_list(&p, fx->store, owner, 1, 0), 0);
    uint64_t count = p->count;
    jobs_schedule_page_free(p);
    return count;
}

static void test_new_store_has_five_builtin_schedules(void **state)
{
    fixture *fx = *state;
    const int64_t periods[] = {60, 300, 900, 3600, 86400};
    for (uint64_t id = 1; id <= 5; id++) {
        jobs_schedule *s = get(fx, OWNER, id);
        assert_int_equal(s->owner, JOBS_OWNER_PUBLIC);
        assert_false(s->once);
        assert_int_equal(s->period, periods[id - 1]);
        jobs_schedule_free(s);
        /* Anonymous callers see them too. */
        s = get(fx, JOBS_OWNER_PUBLIC, id);
        jobs_schedule_free(s);
    }
    assert_int_equal(FX_EVERY_MINUTE, 1);
    assert_int_equal(FX_DAILY, 5);
    jobs_schedule *s = NULL;
    assert_int_equal(jobs_schedule_get(&s, fx->store, OWNER, 6), JOBS_ENOTFOUND);

    jobs_schedule_page *p = NULL;
    assert_int_equal(jobs_schedule_list(&p, fx->store, JOBS_OWNER_PUBLIC, 1, 0), 0);
    assert_int_equal(p->count, 5);
    assert_int_equal(p->n, 5);
    assert_int_equal(p->page, 1);
    assert_int_equal(p->page_size, 10);
    for (size_t i = 0; i < 5; i++) {
        assert_int_equal(p->schedules[i].id, i + 1);
        assert_int_equal(p->schedules[i].period, periods[i]);
    }
    jobs_schedule_page_free(p);
    jobs_store_stat_info info = JOBS_STORE_STAT_INFO_INIT;
    assert_int_equal(jobs_store_stat(&info, fx->store), 0);
    assert_int_equal(info.schedules, 5);
}

static void test_period_must_be_within_60_and_31536000(void **state)
{
    fixture *fx = *state;
    const int64_t bad[] = {59, 31536001, 0, -60, -1, INT64_MAX, INT64_MIN};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int rc = create(fx, OWNER, false, bad[i], NULL);
        if (rc != JOBS_ECONFIG)
            fail_msg("period %lld: %s", (long long)bad[i], jobs_err_name(rc));
    }
    assert_int_equal(schedule_count(fx, OWNER), 5);
    const int64_t good[] = {60, 61, 86401, 31536000};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        uint64_t id = 0;
        assert_int_equal(create(fx, OWNER, false, good[i], &id), 0);
        jobs_schedule *s = get(fx, OWNER, id);
        assert_false(s->once);
        assert_int_equal(s->period, good[i]);
        assert_int_equal(s->owner, OWNER);
        jobs_schedule_free(s);
    }
    assert_int_equal(schedule_count(fx, OWNER), 9);
    assert_int_equal(jobs_fault_code(JOBS_ECONFIG), 26);
}

static void test_once_timestamp_must_be_positive(void **state)
{
    fixture *fx = *state;
    const int64_t bad[] = {0, -1, INT64_MIN};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(create(fx, OWNER, true, bad[i], NULL), JOBS_ECONFIG);
    assert_int_equal(schedule_count(fx, OWNER), 5);
    const int64_t good[] = {1, FX_T0, (int64_t)1 << 40};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        uint64_t id = 0;
        assert_int_equal(create(fx, OWNER, true, good[i], &id), 0);
        jobs_schedule *s = get(fx, OWNER, id);
        assert_true(s->once);
        assert_int_equal(s->timestamp, good[i]);
        jobs_schedule_free(s);
    }
}

/* A one-time timestamp is at most 2^53-1, the largest integer a JSON double holds exactly: a
 * later one would be shown as a number the JSON layer refuses back (and clients round). */
static void test_once_timestamp_is_at_most_2_53_minus_1(void **state)
{
    fixture *fx = *state;
    const int64_t bad[] = {(int64_t)JOBS_ID_MAX + 1, INT64_MAX};
    jobs_schedule_spec spec = JOBS_SCHEDULE_SPEC_INIT;
    uint64_t id = 0;
    jobs_schedule *s;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(create(fx, OWNER, true, bad[i], NULL), JOBS_ECONFIG);
        assert_non_null(strstr(jobs_error_last(), "at most 2^53-1"));
    }
    assert_int_equal(schedule_count(fx, OWNER), 5);
    assert_int_equal(create(fx, OWNER, true, (int64_t)JOBS_ID_MAX, &id), 0);
    s = get(fx, OWNER, id);
    assert_int_equal(s->timestamp, (int64_t)JOBS_ID_MAX);
    jobs_schedule_free(s);
    /* An update is held to it as well, and changes nothing. */
    spec.fields = JOBS_SCHEDULE_CONFIG;
    spec.timestamp = INT64_MAX;
    assert_int_equal(jobs_schedule_update(NULL, fx->store, OWNER, id, &spec), JOBS_ECONFIG);
    s = get(fx, OWNER, id);
    assert_int_equal(s->timestamp, (int64_t)JOBS_ID_MAX);
    jobs_schedule_free(s);
}

static void test_create_requires_a_config(void **state)
{
    fixture *fx = *state;
    jobs_schedule_spec spec = JOBS_SCHEDULE_SPEC_INIT;
    spec.fields = JOBS_SCHEDULE_NAME;
    spec.name = "no config";
    spec.period = 600; /* not read: CONFIG is not given */
    int rc = jobs_schedule_create(NULL, fx->store, OWNER, &spec);
    assert_int_equal(rc, JOBS_ECONFIG);
    spec.fields = JOBS_SCHEDULE_ONCE;
    spec.once = true;
    spec.timestamp = FX_T0;
    rc = jobs_schedule_create(NULL, fx->store, OWNER, &spec);
    assert_int_equal(rc, JOBS_ECONFIG);
    assert_int_equal(schedule_count(fx, OWNER), 5);
}

static void test_schedule_reads_back_as_created(void **state)
{
    fixture *fx = *state;
    jobs_schedule_spec spec = JOBS_SCHEDULE_SPEC_INIT;
    spec.fields = JOBS_SCHEDULE_NAME | JOBS_SCHEDULE_CONFIG;
    spec.name = "every ten minutes";
    spec.period = 600;
    uint64_t id = 0;
    assert_int_equal(jobs_schedule_create(&id, fx->store, OWNER, &spec), 0);
    jobs_schedule *s = get(fx, OWNER, id);
    assert_int_equal(s->owner, OWNER);
    assert_string_equal(s->name, "every ten minutes");
    assert_false(s->once);
    assert_int_equal(s->period, 600);
    jobs_schedule_free(s);

    uint64_t unnamed = fx_once(fx, OWNER, FX_T0 + 99);
    s = get(fx, OWNER, unnamed);
    assert_null(s->name);
    assert_true(s->once);
    assert_int_equal(s->timestamp, FX_T0 + 99);
    jobs_schedule_free(s);
}

static void test_update_changes_an_unused_schedule(void **state)
{
    fixture *fx = *state;
    uint64_t id = fx_periodic(fx, OWNER, 600);
    jobs_schedule_spec spec = JOBS_SCHEDULE_SPEC_INIT;
    spec.fields = JOBS_SCHEDULE_CONFIG;
    spec.period = 1200;
    jobs_schedule *out = NULL;
    assert_int_equal(jobs_schedule_update(&out, fx->store, OWNER, id, &spec), 0);
    assert_non_null(out);
    assert_int_equal(out->id, id);
    assert_int_equal(out->period, 1200);
    assert_false(out->once);
    jobs_schedule_free(out);

    spec.fields = JOBS_SCHEDULE_NAME;
    spec.name = "twenty";
    spec.period = 5; /* not read */
    assert_int_equal(jobs_schedule_update(NULL, fx->store, OWNER, id, &spec), 0);
    jobs_schedule *s = get(fx, OWNER, id);
    assert_string_equal(s->name, "twenty");
    assert_int_equal(s->period, 1200);
    jobs_schedule_free(s);

    /* An empty change changes nothing. */
    spec.fields = 0;
    assert_int_equal(jobs_schedule_update(NULL, fx->store, OWNER, id, &spec), 0);
    s = get(fx, OWNER, id);
    assert_string_equal(s->name, "twenty");
    assert_int_equal(s->period, 1200);
    jobs_schedule_free(s);

    /* A job created afterwards runs on the new period. */
    uint64_t stack = fx_stack(fx, OWNER, false);
    uint64_t job_id = fx_job(fx, OWNER, NULL, stack, id, true);
    jobs_job *job = fx_get(fx, OWNER, job_id);
    assert_int_equal(job->next_run, FX_T0 + 1200);
    jobs_job_free(job);
}

static void test_update_with_bad_config_is_econfig_and_changes_nothing(void **state)
{
    fixture *fx = *state;
    uint64_t id = fx_periodic(fx, OWNER, 600);
    jobs_schedule_spec spec = JOBS_SCHEDULE_SPEC_INIT;
    spec.fields = JOBS_SCHEDULE_CONFIG | JOBS_SCHEDULE_NAME;
    spec.name = "never";
    const int64_t bad[] = {59, 31536001, 0};
    for (size_t i = 0; i < 3; i++) {
        spec.period = bad[i];
        assert_int_equal(jobs_schedule_update(NULL, fx->store, OWNER, id, &spec), JOBS_ECONFIG);
    }
    jobs_schedule *s = get(fx, OWNER, id);
    assert_int_equal(s->period, 600);
    assert_null(s->name);
    jobs_schedule_free(s);

    uint64_t once = fx_once(fx, OWNER, FX_T0);
    spec.fields = JOBS_SCHEDULE_CONFIG;
    spec.timestamp = 0;
    assert_int_equal(jobs_schedule_update(NULL, fx->store, OWNER, once, &spec), JOBS_ECONFIG);
    spec.timestamp = FX_T0 + 5;
    assert_int_equal(jobs_schedule_update(NULL, fx->store, OWNER, once, &spec), 0);
    s = get(fx, OWNER, once);
    assert_true(s->once);
    assert_int_equal(s->timestamp, FX_T0 + 5);
    jobs_schedule_free(s);
}

/* A config of the other kind is named as such, not read as a period or timestamp of 0. */
static void test_config_of_the_other_kind_is_econfig(void **state)
{
    fixture *fx = *state;
    uint64_t periodic = fx_periodic(fx, OWNER, 600), once = fx_once(fx, OWNER, FX_T0 + 60);
    jobs_schedule_spec spec = JOBS_SCHEDULE_SPEC_INIT;
    jobs_schedule *s;

    spec.fields = JOBS_SCHEDULE_CONFIG;
    spec.timestamp = FX_T0 + 100;
    assert_int_equal(jobs_schedule_update(NULL, fx->store, OWNER, periodic, &spec), JOBS_ECONFIG);
    assert_non_null(strstr(jobs_error_last(), "periodic schedule's config is {\"period\": N}"));
    spec.timestamp = 0;
    spec.period = 120;
    assert_int_equal(jobs_schedule_update(NULL, fx->store, OWNER, once, &spec), JOBS_ECONFIG);
    assert_non_null(strstr(jobs_error_last(), "one-time schedule's config is {\"timestamp\": N}"));
    s = get(fx, OWNER, periodic);
    assert_int_equal(s->period, 600);
    jobs_schedule_free(s);
    s = get(fx, OWNER, once);
    assert_int_equal(s->timestamp, FX_T0 + 60);
    jobs_schedule_free(s);
}

static void test_changing_once_without_config_is_econfig(void **state)
{
    fixture *fx = *state;
    uint64_t periodic = fx_periodic(fx, OWNER, 600);
    jobs_schedule_spec spec = JOBS_SCHEDULE_SPEC_INIT;
    spec.fields = JOBS_SCHEDULE_ONCE;
    spec.once = true;
    spec.timestamp = FX_T0; /* not read: CONFIG is not given */
    assert_int_equal(jobs_schedule_update(NULL, fx->store, OWNER, periodic, &spec),
                     JOBS_ECONFIG);
    jobs_schedule *s = get(fx, OWNER, periodic);
    assert_false(s->once);
    assert_int_equal(s->period, 600);
    jobs_schedule_free(s);

    /* With the matching config it works, in both directions. */
    spec.fields = JOBS_SCHEDULE_ONCE | JOBS_SCHEDULE_CONFIG;
    assert_int_equal(jobs_schedule_update(NULL, fx->store, OWNER, periodic, &spec), 0);
    s = get(fx, OWNER, periodic);
    assert_true(s->once);
    assert_int_equal(s->timestamp, FX_T0);
    jobs_schedule_free(s);

    spec.fields = JOBS_SCHEDULE_ONCE;
    spec.once = false;
    assert_int_equal(jobs_schedule_update(NULL, fx->store, OWNER, periodic, &spec),
                     JOBS_ECONFIG);
    spec.fields = JOBS_SCHEDULE_ONCE | JOBS_SCHEDULE_CONFIG;
    spec.period = 59;
    assert_int_equal(jobs_schedule_update(NULL, fx->store, OWNER, periodic, &spec),
                     JOBS_ECONFIG);
    spec.period = 120;
    assert_int_equal(jobs_schedule_update(NULL, fx->store, OWNER, periodic, &spec), 0);
    s = get(fx, OWNER, periodic);
    assert_false(s->once);
    assert_int_equal(s->period, 120);
    jobs_schedule_free(s);

    /* Giving `once` with its current value needs no config. */
    spec.fields = JOBS_SCHEDULE_ONCE;
    spec.once = false;
    spec.period = 0;
    assert_int_equal(jobs_schedule_update(NULL, fx->store, OWNER, periodic, &spec), 0);
    s = get(fx, OWNER, periodic);
    assert_int_equal(s->period, 120);
    jobs_schedule_free(s);
}

static int rename_schedule(fixture *fx, uint64_t id, const char *name)
{
    jobs_schedule_spec spec = JOBS_SCHEDULE_SPEC_INIT;
    spec.fields = JOBS_SCHEDULE_NAME;
    spec.name = name;
    return jobs_schedule_update(NULL, fx->store, OWNER, id, &spec);
}

static int set_period(fixture *fx, uint64_t id, int64_t period)
{
    jobs_schedule_spec spec = JOBS_SCHEDULE_SPEC_INIT;
    spec.fields = JOBS_SCHEDULE_CONFIG;
    spec.period = period;
    return jobs_schedule_update(NULL, fx->store, OWNER, id, &spec);
}

static void test_schedule_referenced_by_a_job_is_einuse(void **state)
{
    fixture *fx = *state;
    uint64_t sched = fx_periodic(fx, OWNER, 600);
    uint64_t stack = fx_stack(fx, OWNER, false);
    uint64_t a = fx_job(fx, OWNER, NULL, stack, sched, false);
    uint64_t b = fx_job(fx, OWNER, NULL, stack, sched, true);
    assert_int_equal(set_period(fx, sched, 1200), JOBS_EINUSE);
    assert_int_equal(rename_schedule(fx, sched, "renamed"), JOBS_EINUSE);
    assert_int_equal(jobs_fault_code(JOBS_EINUSE), 27);
    jobs_schedule *s = get(fx, OWNER, sched);
    assert_int_equal(s->period, 600);
    assert_null(s->name);
    jobs_schedule_free(s);

    /* One job gone, the other still refers to it. */
    assert_int_equal(jobs_delete(NULL, fx->store, OWNER, a), 0);
    assert_int_equal(set_period(fx, sched, 1200), JOBS_EINUSE);
    /* The other moved to another schedule: free to change. */
    jobs_job_spec change = JOBS_JOB_SPEC_INIT;
    change.fields = JOBS_JOB_SCHEDULE;
    change.schedule = FX_HOURLY;
    assert_int_equal(jobs_update(NULL, fx->store, OWNER, b, &change), 0);
    assert_int_equal(set_period(fx, sched, 1200), 0);
    /* Referenced again, refused again; the job deleted, allowed again. */
    uint64_t c = fx_job(fx, OWNER, NULL, stack, sched, false);
    assert_int_equal(rename_schedule(fx, sched, "x"), JOBS_EINUSE);
    assert_int_equal(jobs_delete(NULL, fx->store, OWNER, c), 0);
    assert_int_equal(rename_schedule(fx, sched, "x"), 0);
    s = get(fx, OWNER, sched);
    assert_string_equal(s->name, "x");
    assert_int_equal(s->period, 1200);
    jobs_schedule_free(s);
}

static void test_schedule_of_queued_job_is_in_use_until_the_tick_deletes_it(void **state)
{
    fixture *fx = *state;
    uint64_t sched = fx_periodic(fx, OWNER, 600);
    uint64_t stack = fx_stack(fx, OWNER, false);
    uint64_t id = fx_job(fx, OWNER, NULL, stack, sched, true);
    jobs_delete_outcome outcome = 0;
    assert_int_equal(jobs_delete(&outcome, fx->store, OWNER, id), 0);
    assert_int_equal(outcome, JOBS_QUEUED_FOR_DELETION);
    assert_int_equal(set_period(fx, sched, 1200), JOBS_EINUSE);
    fx_events ev;
    fx_tick(fx, FX_T0 + 600, &ev);
    assert_int_equal(ev.n, 1);
    assert_int_equal(ev.ev[0].type, JOBS_EVENT_DELETED);
    assert_int_equal(set_period(fx, sched, 1200), 0);
}

static void test_refused_job_update_keeps_schedule_references(void **state)
{
    fixture *fx = *state;
    uint64_t used = fx_periodic(fx, OWNER, 600);
    uint64_t unused = fx_periodic(fx, OWNER, 900);
    uint64_t stack = fx_stack(fx, OWNER, false);
    uint64_t id = fx_job(fx, OWNER, "j", stack, used, true);
    /* A refused move away from `used` (bad stack) leaves it referenced. */
    jobs_job_spec change = JOBS_JOB_SPEC_INIT;
    change.fields = JOBS_JOB_SCHEDULE | JOBS_JOB_STACK;
    change.schedule = unused;
    change.stack = stack + 1000;
    assert_int_equal(jobs_update(NULL, fx->store, OWNER, id, &change), JOBS_ESTACK);
    assert_int_equal(set_period(fx, used, 1200), JOBS_EINUSE);
    /* ... and did not make `unused` referenced. */
    assert_int_equal(set_period(fx, unused, 1200), 0);
    /* A refused create does not reference it either. */
    jobs_job_spec spec = JOBS_JOB_SPEC_INIT;
    spec.fields = JOBS_JOB_NAME | JOBS_JOB_STACK | JOBS_JOB_SCHEDULE;
    spec.name = "j"; /* taken */
    spec.stack = stack;
    spec.schedule = unused;
    assert_int_equal(jobs_create(NULL, fx->store, OWNER, &spec), JOBS_EEXISTS);
    assert_int_equal(set_period(fx, unused, 1800), 0);
    /* A job on a one-time schedule that ran (inactive now) still references it. */
    uint64_t once = fx_once(fx, OWNER, FX_T0 + 5);
    fx_job(fx, OWNER, NULL, stack, once, true);
    fx_events ev;
    fx_tick(fx, FX_T0 + 5, &ev);
    assert_int_equal(ev.n, 1);
    jobs_schedule_spec sc = JOBS_SCHEDULE_SPEC_INIT;
    sc.fields = JOBS_SCHEDULE_CONFIG;
    sc.timestamp = FX_T0 + 50;
    assert_int_equal(jobs_schedule_update(NULL, fx->store, OWNER, once, &sc), JOBS_EINUSE);
}

static void test_public_schedules_cannot_be_updated_by_an_owner(void **state)
{
    fixture *fx = *state;
    uint64_t host = fx_periodic(fx, JOBS_OWNER_PUBLIC, 7200);
    const uint64_t ids[] = {FX_EVERY_MINUTE, FX_HOURLY, FX_DAILY, host};
    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
        /* Visible, so not "not found": public, and so not the owner's to change. */
        assert_int_equal(set_period(fx, ids[i], 120), JOBS_EPUBLIC);
        assert_int_equal(rename_schedule(fx, ids[i], "mine"), JOBS_EPUBLIC);
        assert_int_equal(jobs_fault_code(JOBS_EPUBLIC), 111);
    }
    /* Another owner's private schedule is not visible: not found, as if missing. */
    uint64_t theirs = fx_periodic(fx, OTHER, 600);
    assert_int_equal(set_period(fx, theirs, 120), JOBS_ENOTFOUND);
    jobs_schedule *s = get(fx, OWNER, FX_EVERY_MINUTE);
    assert_int_equal(s->period, 60);
    assert_int_equal(s->owner, JOBS_OWNER_PUBLIC);
    jobs_schedule_free(s);
    s = get(fx, OWNER, host);
    assert_int_equal(s->period, 7200);
    assert_int_equal(s->owner, JOBS_OWNER_PUBLIC);
    assert_null(s->name);
    jobs_schedule_free(s);
}

static void test_update_of_missing_schedule_is_notfound(void **state)
{
    fixture *fx = *state;
    assert_int_equal(set_period(fx, 77777, 120), JOBS_ENOTFOUND);
}

static void test_schedule_list_is_public_plus_own_in_id_order(void **state)
{
    fixture *fx = *state;
    uint64_t mine[20];
    for (size_t i = 0; i < 3; i++)
        fx_periodic(fx, OWNER, 60 + (int64_t)i);
    uint64_t host = fx_periodic(fx, JOBS_OWNER_PUBLIC, 7200);
    for (size_t i = 0; i < 20; i++)
        mine[i] = fx_periodic(fx, OTHER, 60 + (int64_t)i);

    /* OTHER sees 5 built-ins, the host's public one and its 20: 26. */
    uint64_t expect[26];
    for (size_t i = 0; i < 5; i++)
        expect[i] = i + 1;
    expect[5] = host;
    memcpy(expect + 6, mine, sizeof(mine));
    const uint32_t sizes[] = {0, 7, 26, 1000};
    for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
        uint32_t eff = sizes[k] == 0 ? 10 : sizes[k];
        size_t seen = 0;
        for (uint64_t page = 1; page <= 26 / eff + 2; page++) {
            jobs_schedule_page *p = NULL;
            assert_int_equal(jobs_schedule_list(&p, fx->store, OTHER, page, sizes[k]), 0);
            assert_int_equal(p->count, 26);
            assert_int_equal(p->page_size, eff);
            assert_int_equal(p->page, page);
            size_t first = (size_t)(page - 1) * eff;
            size_t n = first >= 26 ? 0 : (26 - first < eff ? 26 - first : eff);
            assert_int_equal(p->n, n);
            if (n == 0)
                assert_null(p->schedules);
            for (size_t i = 0; i < p->n; i++) {
                assert_int_equal(p->schedules[i].id, expect[first + i]);
                assert_true(p->schedules[i].owner == OTHER ||
                            p->schedules[i].owner == JOBS_OWNER_PUBLIC);
            }
            seen += p->n;
            jobs_schedule_page_free(p);
        }
        assert_int_equal(seen, 26);
    }
    assert_int_equal(schedule_count(fx, OWNER), 9);
    assert_int_equal(schedule_count(fx, JOBS_OWNER_PUBLIC), 6);

    jobs_schedule_page *p = NULL;
    assert_int_equal(jobs_schedule_list(&p, fx->store, OTHER, 0, 0), JOBS_EPAGE);
    assert_int_equal(jobs_schedule_list(&p, fx->store, OTHER, 1, 1001), JOBS_EINVAL);
    assert_null(p);
    jobs_store_stat_info info = JOBS_STORE_STAT_INFO_INIT;
    assert_int_equal(jobs_store_stat(&info, fx->store), 0);
    assert_int_equal(info.schedules, 29);
}

/* An empty change is not a change: it succeeds on a schedule jobs use, and is still refused on
 * a public schedule (JOBS_EPUBLIC) and on another owner's (JOBS_ENOTFOUND). */
static void test_an_empty_change_succeeds_in_use_but_not_on_others_schedules(void **state)
{
    fixture *fx = *state;
    jobs_schedule_spec none = JOBS_SCHEDULE_SPEC_INIT;
    uint64_t sched = fx_periodic(fx, OWNER, 600);
    jobs_schedule *out = NULL;

    fx_job(fx, OWNER, NULL, fx_stack(fx, OWNER, false), sched, true);
    assert_int_equal(set_period(fx, sched, 1200), JOBS_EINUSE);
    assert_int_equal(jobs_schedule_update(&out, fx->store, OWNER, sched, &none), 0);
    assert_non_null(out);
    assert_int_equal(out->period, 600);
    jobs_schedule_free(out);
    out = NULL;
    assert_int_equal(jobs_schedule_update(&out, fx->store, OWNER, FX_HOURLY, &none),
                     JOBS_EPUBLIC);
    assert_null(out);
    assert_int_equal(jobs_schedule_update(&out, fx->store, OTHER, sched, &none), JOBS_ENOTFOUND);
    assert_null(out);
}

/* `once` given with `kind` must agree with it; a disagreement is JOBS_ECONFIG and stores
 * nothing. */
static void test_once_that_disagrees_with_the_kind_is_econfig(void **state)
{
    fixture *fx = *state;
    jobs_schedule_spec spec = JOBS_SCHEDULE_SPEC_INIT;
    uint64_t id = 0, before = schedule_count(fx, OWNER);

    spec.fields = JOBS_SCHEDULE_KIND | JOBS_SCHEDULE_ONCE | JOBS_SCHEDULE_CONFIG;
    spec.kind = JOBS_SCHEDULE_PERIODIC;
    spec.once = true;
    spec.period = 600;
    spec.timestamp = FX_T0 + 600;
    assert_int_equal(jobs_schedule_create(&id, fx->store, OWNER, &spec), JOBS_ECONFIG);
    assert_non_null(strstr(jobs_error_last(), "'once' disagrees"));
    spec.kind = JOBS_SCHEDULE_ONE_TIME;
    spec.once = false;
    assert_int_equal(jobs_schedule_create(&id, fx->store, OWNER, &spec), JOBS_ECONFIG);
    assert_int_equal(id, 0);
    assert_int_equal(schedule_count(fx, OWNER), before);

    /* An update likewise: the schedule stays as it was. */
    id = fx_periodic(fx, OWNER, 600);
    spec.kind = JOBS_SCHEDULE_PERIODIC;
    spec.once = true;
    assert_int_equal(jobs_schedule_update(NULL, fx->store, OWNER, id, &spec), JOBS_ECONFIG);
    jobs_schedule *s = get(fx, OWNER, id);
    assert_false(s->once);
    assert_int_equal(s->kind, JOBS_SCHEDULE_PERIODIC);
    assert_int_equal(s->period, 600);
    jobs_schedule_free(s);
}

static void assert_gone(fixture *fx, uint64_t owner, uint64_t id, const char *name)
{
    jobs_schedule *s = NULL;
    assert_int_equal(jobs_schedule_get(&s, fx->store, owner, id), JOBS_ENOTFOUND);
    assert_null(s);
    if (name) {
        assert_int_equal(jobs_schedule_get_by_name(&s, fx->store, owner, name), JOBS_ENOTFOUND);
        assert_null(s);
    }
}

/* The ids `owner` sees, all pages of `page_size` walked; *n how many, checked against count. */
static void list_ids(fixture *fx, uint64_t owner, uint32_t page_size, uint64_t *ids, size_t *n)
{
    jobs_schedule_page *p = NULL;
    uint64_t count = 0;

    *n = 0;
    for (uint64_t page = 1;; page++) {
        assert_int_equal(jobs_schedule_list(&p, fx->store, owner, page, page_size), 0);
        count = p->count;
        for (size_t i = 0; i < p->n; i++)
            ids[(*n)++] = p->schedules[i].id;
        size_t got = p->n;
        jobs_schedule_page_free(p);
        if (got < page_size)
            break;
    }
    assert_int_equal(count, *n);
}

static int rename_as(fixture *fx, uint64_t owner, uint64_t id, const char *name)
{
    jobs_schedule_spec spec = JOBS_SCHEDULE_SPEC_INIT;
    spec.fields = JOBS_SCHEDULE_NAME;
    spec.name = name;
    return jobs_schedule_update(NULL, fx->store, owner, id, &spec);
}

/* An unused schedule of the owner's goes whole: get, get by name, the list, its count and the
 * store's count; the name is free again, the id never given again, and the store checks. */
static void test_delete_of_an_unused_schedule_removes_it_everywhere(void **state)
{
    fixture *fx = *state;
    uint64_t ids[8];
    char name[16];

    for (size_t i = 0; i < 8; i++) {
        ids[i] = fx_periodic(fx, OWNER, 600 + (int64_t)i);
        snprintf(name, sizeof name, "s%zu", i);
        assert_int_equal(rename_as(fx, OWNER, ids[i], name), 0);
    }
    uint64_t theirs = fx_periodic(fx, OTHER, 600);
    assert_int_equal(rename_as(fx, OTHER, theirs, "s1"), 0);
    assert_int_equal(schedule_count(fx, OWNER), 13);

    /* Every other one, and the last. */
    const size_t del[] = {0, 2, 4, 7};
    for (size_t k = 0; k < 4; k++)
        assert_int_equal(jobs_schedule_delete(fx->store, OWNER, ids[del[k]]), 0);
    for (size_t k = 0; k < 4; k++) {
        snprintf(name, sizeof name, "s%zu", del[k]);
        assert_gone(fx, OWNER, ids[del[k]], name);
        assert_int_equal(jobs_schedule_delete(fx->store, OWNER, ids[del[k]]), JOBS_ENOTFOUND);
    }
    assert_int_equal(schedule_count(fx, OWNER), 9);
    assert_int_equal(schedule_count(fx, OTHER), 6);
    jobs_store_stat_info info = JOBS_STORE_STAT_INFO_INIT;
    assert_int_equal(jobs_store_stat(&info, fx->store), 0);
    assert_int_equal(info.schedules, 10);

    /* The list, in pages of 1, 2 and 10: the built-ins and the four left, in id order. */
    const uint64_t expect[] = {1, 2, 3, 4, 5, ids[1], ids[3], ids[5], ids[6]};
    const uint32_t sizes[] = {1, 2, 10};
    for (size_t k = 0; k < 3; k++) {
        uint64_t seen[16];
        size_t n = 0;
        list_ids(fx, OWNER, sizes[k], seen, &n);
        assert_int_equal(n, 9);
        for (size_t i = 0; i < n; i++)
            assert_int_equal(seen[i], expect[i]);
    }
    /* The others stay as they were; another owner's schedule of a deleted name too. */
    jobs_schedule *s = NULL;
    assert_int_equal(jobs_schedule_get_by_name(&s, fx->store, OWNER, "s3"), 0);
    assert_int_equal(s->id, ids[3]);
    assert_int_equal(s->period, 603);
    jobs_schedule_free(s);
    assert_int_equal(jobs_schedule_get_by_name(&s, fx->store, OTHER, "s1"), 0);
    assert_int_equal(s->id, theirs);
    jobs_schedule_free(s);
    assert_int_equal(jobs_store_check(fx->store), 0);

    /* The name is free again; the new schedule takes a new id. */
    uint64_t again = fx_periodic(fx, OWNER, 900);
    assert_true(again > theirs);
    assert_int_equal(rename_as(fx, OWNER, again, "s0"), 0);
    assert_int_equal(jobs_schedule_get_by_name(&s, fx->store, OWNER, "s0"), 0);
    assert_int_equal(s->id, again);
    jobs_schedule_free(s);
    assert_int_equal(schedule_count(fx, OWNER), 10);

    /* Down to none of the owner's own: the count and the list are the public ones. */
    const uint64_t rest[] = {ids[1], ids[3], ids[5], ids[6], again};
    for (size_t k = 0; k < 5; k++)
        assert_int_equal(jobs_schedule_delete(fx->store, OWNER, rest[k]), 0);
    assert_int_equal(schedule_count(fx, OWNER), 5);
    assert_int_equal(jobs_store_check(fx->store), 0);
    fx_reopen(fx);
    assert_int_equal(schedule_count(fx, OWNER), 5);
    assert_gone(fx, OWNER, ids[1], "s1");
    assert_int_equal(jobs_store_check(fx->store), 0);
    /* The newest one deleted: its id is not given again either. */
    assert_true(fx_periodic(fx, OWNER, 600) > again);
}

/* A schedule any job references, active, inactive or queued for deletion, is JOBS_EINUSE and
 * stays as it was; once no job references it, it can go. */
static void test_delete_of_a_schedule_in_use_is_einuse_and_changes_nothing(void **state)
{
    fixture *fx = *state;
    uint64_t sched = fx_periodic(fx, OWNER, 600);
    uint64_t stack = fx_stack(fx, OWNER, false);
    assert_int_equal(rename_as(fx, OWNER, sched, "used"), 0);
    uint64_t inactive = fx_job(fx, OWNER, NULL, stack, sched, false);
    uint64_t active = fx_job(fx, OWNER, NULL, stack, sched, true);

    assert_int_equal(jobs_schedule_delete(fx->store, OWNER, sched), JOBS_EINUSE);
    assert_non_null(strstr(jobs_error_last(), "2 job(s)"));
    assert_int_equal(jobs_delete(NULL, fx->store, OWNER, inactive), 0);
    assert_int_equal(jobs_schedule_delete(fx->store, OWNER, sched), JOBS_EINUSE);
    /* Queued for deletion: still its schedule until the tick deletes it. */
    jobs_delete_outcome outcome = 0;
    assert_int_equal(jobs_delete(&outcome, fx->store, OWNER, active), 0);
    assert_int_equal(outcome, JOBS_QUEUED_FOR_DELETION);
    assert_int_equal(jobs_schedule_delete(fx->store, OWNER, sched), JOBS_EINUSE);

    jobs_schedule *s = get(fx, OWNER, sched);
    assert_string_equal(s->name, "used");
    assert_int_equal(s->period, 600);
    jobs_schedule_free(s);
    assert_int_equal(jobs_schedule_get_by_name(&s, fx->store, OWNER, "used"), 0);
    jobs_schedule_free(s);
    assert_int_equal(schedule_count(fx, OWNER), 6);
    assert_int_equal(jobs_store_check(fx->store), 0);

    fx_events ev;
    fx_tick(fx, FX_T0 + 600, &ev);
    assert_int_equal(ev.n, 1);
    assert_int_equal(ev.ev[0].type, JOBS_EVENT_DELETED);
    assert_int_equal(jobs_schedule_delete(fx->store, OWNER, sched), 0);
    assert_gone(fx, OWNER, sched, "used");
    assert_int_equal(schedule_count(fx, OWNER), 5);
    assert_int_equal(jobs_store_check(fx->store), 0);
}

/* Another owner's schedule answers as a missing one; a public one, built in or the host's, is
 * JOBS_EPUBLIC for an owner; the host deletes its own public ones but not the built-ins. */
static void test_delete_of_others_and_public_schedules_is_refused(void **state)
{
    fixture *fx = *state;
    uint64_t theirs = fx_periodic(fx, OTHER, 600);
    uint64_t host = fx_periodic(fx, JOBS_OWNER_PUBLIC, 7200);

    assert_int_equal(jobs_schedule_delete(fx->store, OWNER, theirs), JOBS_ENOTFOUND);
    assert_int_equal(jobs_schedule_delete(fx->store, OWNER, 77777), JOBS_ENOTFOUND);
    assert_int_equal(jobs_schedule_delete(fx->store, JOBS_OWNER_PUBLIC, theirs), JOBS_ENOTFOUND);
    jobs_schedule *s = get(fx, OTHER, theirs);
    jobs_schedule_free(s);
    for (uint64_t id = 1; id <= 5; id++) {
        assert_int_equal(jobs_schedule_delete(fx->store, OWNER, id), JOBS_EPUBLIC);
        assert_int_equal(jobs_schedule_delete(fx->store, JOBS_OWNER_PUBLIC, id), JOBS_EPUBLIC);
        s = get(fx, OWNER, id);
        jobs_schedule_free(s);
    }
    assert_int_equal(jobs_schedule_delete(fx->store, OWNER, host), JOBS_EPUBLIC);
    assert_int_equal(schedule_count(fx, OWNER), 6);
    assert_int_equal(schedule_count(fx, OTHER), 7);

    /* Bad arguments change nothing either. */
    assert_int_equal(jobs_schedule_delete(fx->store, OWNER, 0), JOBS_ERANGE);
    assert_int_equal(jobs_schedule_delete(fx->store, OWNER, JOBS_ID_MAX + 1), JOBS_ERANGE);
    assert_int_equal(jobs_schedule_delete(fx->store, JOBS_ID_MAX + 1, theirs), JOBS_EOWNER);
    assert_int_equal(jobs_schedule_delete(NULL, OWNER, theirs), JOBS_EINVAL);

    assert_int_equal(jobs_schedule_delete(fx->store, JOBS_OWNER_PUBLIC, host), 0);
    assert_gone(fx, OWNER, host, NULL);
    assert_int_equal(schedule_count(fx, OWNER), 5);
    assert_int_equal(schedule_count(fx, OTHER), 6);
    assert_int_equal(jobs_store_check(fx->store), 0);
}

/* Runs keep the schedule they were made on; deleting it later leaves them readable. */
static void test_runs_made_on_a_deleted_schedule_stay_readable(void **state)
{
    fixture *fx = *state;
    uint64_t sched = fx_periodic(fx, OWNER, 600);
    uint64_t stack = fx_stack(fx, OWNER, false);
    uint64_t job = fx_job(fx, OWNER, "j", stack, sched, true);
    fx_events ev;

    fx_tick(fx, FX_T0 + 600, &ev);
    assert_int_equal(ev.n, 1);
    uint64_t run = 0;
    assert_int_equal(jobs_run_now(&run, fx->store, OWNER, job), 0);

    jobs_job_spec change = JOBS_JOB_SPEC_INIT;
    change.fields = JOBS_JOB_SCHEDULE;
    change.schedule = FX_HOURLY;
    assert_int_equal(jobs_update(NULL, fx->store, OWNER, job, &change), 0);
    assert_int_equal(jobs_schedule_delete(fx->store, OWNER, sched), 0);

    jobs_run *r = NULL;
    assert_int_equal(jobs_run_get(&r, fx->store, OWNER, run), 0);
    assert_int_equal(r->job, job);
    assert_int_equal(r->trigger, JOBS_TRIGGER_MANUAL);
    jobs_run_free(r);
    jobs_run_page *p = NULL;
    assert_int_equal(jobs_run_list(&p, fx->store, OWNER, job, 1, 0), 0);
    assert_true(p->count >= 1);
    for (size_t i = 0; i < p->n; i++)
        assert_int_equal(p->runs[i]->job, job);
    jobs_run_page_free(p);
    assert_int_equal(jobs_store_check(fx->store), 0);
}

#define T(f) cmocka_unit_test_setup_teardown(f, fx_setup, fx_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_new_store_has_five_builtin_schedules),
        T(test_period_must_be_within_60_and_31536000),
        T(test_once_timestamp_must_be_positive),
        T(test_once_timestamp_is_at_most_2_53_minus_1),
        T(test_create_requires_a_config),
        T(test_schedule_reads_back_as_created),
        T(test_update_changes_an_unused_schedule),
        T(test_update_with_bad_config_is_econfig_and_changes_nothing),
        T(test_config_of_the_other_kind_is_econfig),
        T(test_changing_once_without_config_is_econfig),
        T(test_schedule_referenced_by_a_job_is_einuse),
        T(test_schedule_of_queued_job_is_in_use_until_the_tick_deletes_it),
        T(test_refused_job_update_keeps_schedule_references),
        T(test_public_schedules_cannot_be_updated_by_an_owner),
        T(test_update_of_missing_schedule_is_notfound),
        T(test_schedule_list_is_public_plus_own_in_id_order),
        T(test_an_empty_change_succeeds_in_use_but_not_on_others_schedules),
        T(test_once_that_disagrees_with_the_kind_is_econfig),
        T(test_delete_of_an_unused_schedule_removes_it_everywhere),
        T(test_delete_of_a_schedule_in_use_is_einuse_and_changes_nothing),
        T(test_delete_of_others_and_public_schedules_is_refused),
        T(test_runs_made_on_a_deleted_schedule_stay_readable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
