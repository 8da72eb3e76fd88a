/* Cron schedules through the public API: create, get, list, update, the checks and their
 * details, next_run on activation and after runs (coalescing), and old store records. */
#include "fixture.h"

#include <stdio.h>
#include <string.h>

#include "codec.h"

#define OWNER 61

/* 2027-03-27T12:00:00Z, a Saturday: the next day Berlin moves its clocks forward. */
#define SAT_NOON INT64_C(1806148800)

static int create_cron(fixture *fx, const char *cron, const char *tz, uint64_t *id)
{
    jobs_schedule_spec spec = JOBS_SCHEDULE_SPEC_INIT;
    spec.fields = JOBS_SCHEDULE_KIND | JOBS_SCHEDULE_CONFIG;
    spec.kind = JOBS_SCHEDULE_CRON;
    spec.cron = cron;
    spec.tz = tz;
    return jobs_schedule_create(id, fx->store, OWNER, &spec);
}

static uint64_t cron_schedule(fixture *fx, const char *cron, const char *tz)
{
    uint64_t id = 0;
    int rc = create_cron(fx, cron, tz, &id);
    if (rc)
        fail_msg("'%s' in %s: %s (%s)", cron, tz ? tz : "(null)", jobs_err_name(rc),
                 jobs_error_last());
    return id;
}

static uint64_t schedule_count(fixture *fx)
{
    jobs_schedule_page *p = NULL;
    assert_int_equal(jobs_schedule_list(&p, fx->store, OWNER, 1, 0), 0);
    uint64_t n = p->count;
    jobs_schedule_page_free(p);
    return n;
}

static void test_cron_schedule_round_trips_with_its_kind_and_strings(void **state)
{
    fixture *fx = *state;
    uint64_t id = cron_schedule(fx, "30 2 * * *", "Europe/Berlin");
    jobs_schedule *s = NULL;
    assert_int_equal(jobs_schedule_get(&s, fx->store, OWNER, id), 0);
    assert_int_equal(s->kind, JOBS_SCHEDULE_CRON);
    assert_false(s->once);
    assert_int_equal(s->period, 0);
    assert_int_equal(s->timestamp, 0);
    assert_string_equal(s->cron, "30 2 * * *");
    assert_string_equal(s->tz, "Europe/Berlin");
    assert_null(s->name);
    jobs_schedule_free(s);

    /* The zone defaults to UTC; the expression is kept exactly as written. */
    uint64_t id2 = cron_schedule(fx, " @Daily ", NULL);
    jobs_schedule_page *p = NULL;
    assert_int_equal(jobs_schedule_list(&p, fx->store, OWNER, 1, 0), 0);
    assert_int_equal(p->count, 7);
    assert_int_equal(p->schedules[6].id, id2);
    assert_int_equal(p->schedules[6].kind, JOBS_SCHEDULE_CRON);
    assert_string_equal(p->schedules[6].cron, " @Daily ");
    assert_string_equal(p->schedules[6].tz, "UTC");
    assert_int_equal(p->schedules[0].kind, JOBS_SCHEDULE_PERIODIC);
    assert_null(p->schedules[0].cron);
    assert_null(p->schedules[0].tz);
    jobs_schedule_page_free(p);

    /* Survives a reopen, and the verifier is content. */
    fx_reopen(fx);
    assert_int_equal(jobs_schedule_get(&s, fx->store, OWNER, id), 0);
    assert_string_equal(s->cron, "30 2 * * *");
    jobs_schedule_free(s);
    assert_int_equal(jobs_store_check(fx->store), 0);
}

static void test_longest_expression_and_zone_are_stored(void **state)
{
    fixture *fx = *state;
    char expr[JOBS_CRON_MAX + 1];
    /* "0,0,0,...,0 * * * *" of exactly 255 bytes */
    const char *tail = " * * * *";
    size_t n = JOBS_CRON_MAX - strlen(tail);
    for (size_t i = 0; i < n; i++)
        expr[i] = (i % 2) ? ',' : '0';
    if (expr[n - 1] == ',')
        expr[n - 1] = '0', expr[n - 2] = '0';
    memcpy(expr + n, tail, strlen(tail) + 1);
    assert_int_equal(strlen(expr), JOBS_CRON_MAX);
    /* the longest IANA zone name ICU knows is shorter than 64; a long valid one: */
    uint64_t id = cron_schedule(fx, expr, "America/Argentina/ComodRivadavia");
    jobs_schedule *s = NULL;
    assert_int_equal(jobs_schedule_get(&s, fx->store, OWNER, id), 0);
    assert_string_equal(s->cron, expr);
    assert_string_equal(s->tz, "America/Argentina/ComodRivadavia");
    jobs_schedule_free(s);
    assert_int_equal(jobs_store_check(fx->store), 0);
}

/* At least 40 bad expressions and zones: each JOBS_ECONFIG (fault 26) with a detail naming
 * what is wrong, and nothing stored. */
static void test_bad_expressions_and_zones_are_refused_and_change_nothing(void **state)
{
    fixture *fx = *state;
    static char big[10241];
    memset(big, '1', sizeof big - 1);
    static const struct {
        const char *cron, *tz, *detail;
    } bad[] = {
        {"60 * * * *", NULL, "field 1 (minute) '60' is outside 0-59"},
        {"* 24 * * *", NULL, "field 2 (hour) '24' is outside 0-23"},
        {"30 25 * * *", NULL, "cron: field 2 (hour) '25' is outside 0-23"},
        {"* * 0 * *", NULL, "field 3 (day of month) '0' is outside 1-31"},
        {"* * 32 * *", NULL, "field 3 (day of month) '32' is outside 1-31"},
        {"* * * 0 *", NULL, "field 4 (month) '0' is outside 1-12"},
        {"* * * 13 *", NULL, "field 4 (month) '13' is outside 1-12"},
        {"* * * * 8", NULL, "field 5 (day of week) '8' is outside 0-7"},
        {"*/0 * * * *", NULL, "has a step of 0"},
        {"* */0 * * *", NULL, "has a step of 0"},
        {"*/60 * * * *", NULL, "has a step of 60"},
        {"1-/2 * * * *", NULL, "field 1 (minute)"},
        {"5-1 * * * *", NULL, "descending range"},
        {"1, * * * *", NULL, "empty list item"},
        {",1 * * * *", NULL, "empty list item"},
        {"1,,2 * * * *", NULL, "empty list item"},
        {"* * * jan-foo *", NULL, "field 4 (month)"},
        {"* * mon * *", NULL, "field 3 (day of month) 'mon' is not a number"},
        {"jan * * * *", NULL, "field 1 (minute) 'jan' is not a number"},
        {"* * * mon *", NULL, "field 4 (month) 'mon' is not a month name"},
        {"* * * * jan", NULL, "field 5 (day of week) 'jan' is not a weekday name"},
        {"0 0 * * 1#2", NULL, "unexpected character '#'"},
        {"0 0 L * *", NULL, "field 3 (day of month)"},
        {"0 0 ? * *", NULL, "unexpected character '?'"},
        {"0 0 * * * *", NULL, "6 fields"},
        {"0 0 1 * * * 2027", NULL, "7 fields"},
        {"0 0 * *", NULL, "4 fields"},
        {"", NULL, "empty"},
        {"   ", NULL, "empty"},
        {"0 0 * * *x", NULL, "field 5 (day of week)"},
        {"0 0 * * * ;rm -rf /", NULL, "fields"},
        {"@reboot", NULL, "not a known shorthand"},
        {"@every 5m", NULL, "not a known shorthand"},
        {"0 0 30 2 *", NULL, "would never run"},
        {"0 0 31 4,6,9,11 *", NULL, "would never run"},
        {"-1 * * * *", NULL, "field 1 (minute)"},
        {"1.5 * * * *", NULL, "unexpected character '.'"},
        {big, NULL, "10240 bytes long; at most 255"},
        {"0 9 * * *", "../etc/passwd", "tz: '../etc/passwd' has unexpected character '.'"},
        {"0 9 * * *", "/etc/localtime", "is not a zone name"},
        {"0 9 * * *", "Mars/Olympus_Mons", "is not a known time zone"},
        {"0 9 * * *", "", "tz: the time zone is empty"},
        {"0 9 * * *", "Europe/Berlin ", "unexpected character ' '"},
        {"0 9 * * *", "europe/berlin", "is not a known time zone"},
        {"0 9 * * *", "PST", "is not a known time zone"},
        {"0 9 * * *", "GMT+5", "is not a known time zone"},
        {"0 9 * * *", "Europe//Berlin", "is not a zone name"},
        {"0 9 * * *", "Europe/Berlin/", "is not a zone name"},
        {"0 9 * * *", big, "longer than 64 bytes"},
        {"0 9 * * *", "Europe/Berlin\n", "unexpected character"},
    };
    size_t n = sizeof bad / sizeof bad[0];
    assert_true(n >= 40);
    uint64_t before = schedule_count(fx);
    for (size_t i = 0; i < n; i++) {
        uint64_t id = 77;
        int rc = create_cron(fx, bad[i].cron, bad[i].tz, &id);
        if (rc != JOBS_ECONFIG)
            fail_msg("case %zu: '%.40s' in '%.40s': %s, not JOBS_ECONFIG", i, bad[i].cron,
                     bad[i].tz ? bad[i].tz : "(null)", jobs_err_name(rc));
        if (!strstr(jobs_error_last(), bad[i].detail))
            fail_msg("case %zu: detail '%s' lacks '%s'", i, jobs_error_last(), bad[i].detail);
        assert_int_equal(id, 77);
    }
    assert_int_equal(jobs_fault_code(JOBS_ECONFIG), 26);
    assert_int_equal(schedule_count(fx), before);

    /* The same through an update: the schedule is left as it was. */
    uint64_t id = cron_schedule(fx, "0 9 * * 1", "Europe/Berlin");
    for (size_t i = 0; i < n; i++) {
        jobs_schedule_spec spec = JOBS_SCHEDULE_SPEC_INIT;
        jobs_schedule *out = NULL;
        spec.fields = JOBS_SCHEDULE_KIND | JOBS_SCHEDULE_CONFIG;
        spec.kind = JOBS_SCHEDULE_CRON;
        spec.cron = bad[i].cron;
        spec.tz = bad[i].tz;
        assert_int_equal(jobs_schedule_update(&out, fx->store, OWNER, id, &spec), JOBS_ECONFIG);
        assert_null(out);
    }
    jobs_schedule *s = NULL;
    assert_int_equal(jobs_schedule_get(&s, fx->store, OWNER, id), 0);
    assert_string_equal(s->cron, "0 9 * * 1");
    assert_string_equal(s->tz, "Europe/Berlin");
    jobs_schedule_free(s);
}

static void test_period_and_cron_are_exclusive_and_cron_is_never_once(void **state)
{
    fixture *fx = *state;
    jobs_schedule_spec spec = JOBS_SCHEDULE_SPEC_INIT;
    uint64_t before = schedule_count(fx);

    spec.fields = JOBS_SCHEDULE_KIND | JOBS_SCHEDULE_CONFIG;
    spec.kind = JOBS_SCHEDULE_CRON;
    spec.cron = "0 9 * * *";
    spec.period = 3600;
    assert_int_equal(jobs_schedule_create(NULL, fx->store, OWNER, &spec), JOBS_ECONFIG);
    assert_non_null(strstr(jobs_error_last(), "'period' and 'cron' are exclusive"));

    spec.period = 0;
    spec.fields |= JOBS_SCHEDULE_ONCE;
    spec.once = true;
    assert_int_equal(jobs_schedule_create(NULL, fx->store, OWNER, &spec), JOBS_ECONFIG);
    assert_non_null(strstr(jobs_error_last(), "never one-time"));

    spec = (jobs_schedule_spec)JOBS_SCHEDULE_SPEC_INIT;
    spec.fields = JOBS_SCHEDULE_KIND | JOBS_SCHEDULE_CONFIG;
    spec.kind = JOBS_SCHEDULE_PERIODIC;
    spec.period = 3600;
    spec.cron = "0 9 * * *";
    assert_int_equal(jobs_schedule_create(NULL, fx->store, OWNER, &spec), JOBS_ECONFIG);
    assert_non_null(strstr(jobs_error_last(), "exclusive"));

    spec.cron = NULL;
    spec.kind = JOBS_SCHEDULE_CRON;
    spec.period = 0;
    assert_int_equal(jobs_schedule_create(NULL, fx->store, OWNER, &spec), JOBS_ECONFIG);
    assert_non_null(strstr(jobs_error_last(), "needs 'cron'"));

    spec.kind = (jobs_schedule_kind)7;
    assert_int_equal(jobs_schedule_create(NULL, fx->store, OWNER, &spec), JOBS_EINVAL);
    assert_int_equal(schedule_count(fx), before);
}

static void test_update_changes_kind_only_with_the_matching_config(void **state)
{
    fixture *fx = *state;
    jobs_schedule_spec spec = JOBS_SCHEDULE_SPEC_INIT;
    jobs_schedule *s = NULL;
    uint64_t id = 0;

    spec.fields = JOBS_SCHEDULE_CONFIG;
    spec.period = 600;
    assert_int_equal(jobs_schedule_create(&id, fx->store, OWNER, &spec), 0);

    /* periodic -> cron */
    spec = (jobs_schedule_spec)JOBS_SCHEDULE_SPEC_INIT;
    spec.fields = JOBS_SCHEDULE_KIND;
    spec.kind = JOBS_SCHEDULE_CRON;
    assert_int_equal(jobs_schedule_update(NULL, fx->store, OWNER, id, &spec), JOBS_ECONFIG);
    spec.fields |= JOBS_SCHEDULE_CONFIG;
    spec.cron = "*/5 9-17 * * mon-fri";
    spec.tz = "America/New_York";
    assert_int_equal(jobs_schedule_update(&s, fx->store, OWNER, id, &spec), 0);
    assert_int_equal(s->kind, JOBS_SCHEDULE_CRON);
    assert_int_equal(s->period, 0);
    assert_string_equal(s->cron, "*/5 9-17 * * mon-fri");
    assert_string_equal(s->tz, "America/New_York");
    jobs_schedule_free(s);

    /* once: false alone keeps a cron schedule cron; a period without the kind is named */
    spec = (jobs_schedule_spec)JOBS_SCHEDULE_SPEC_INIT;
    spec.fields = JOBS_SCHEDULE_ONCE;
    assert_int_equal(jobs_schedule_update(&s, fx->store, OWNER, id, &spec), 0);
    assert_int_equal(s->kind, JOBS_SCHEDULE_CRON);
    jobs_schedule_free(s);
    spec.fields = JOBS_SCHEDULE_CONFIG;
    spec.period = 60;
    assert_int_equal(jobs_schedule_update(NULL, fx->store, OWNER, id, &spec), JOBS_ECONFIG);
    assert_non_null(strstr(jobs_error_last(), "not 'period'"));

    /* cron -> one-time */
    spec.fields = JOBS_SCHEDULE_ONCE | JOBS_SCHEDULE_CONFIG;
    spec.once = true;
    spec.period = 0;
    spec.timestamp = FX_T0 + 100;
    assert_int_equal(jobs_schedule_update(&s, fx->store, OWNER, id, &spec), 0);
    assert_int_equal(s->kind, JOBS_SCHEDULE_ONE_TIME);
    assert_true(s->once);
    assert_null(s->cron);
    assert_null(s->tz);
    jobs_schedule_free(s);

    /* -> cron again, then -> periodic with the kind given */
    spec = (jobs_schedule_spec)JOBS_SCHEDULE_SPEC_INIT;
    spec.fields = JOBS_SCHEDULE_KIND | JOBS_SCHEDULE_CONFIG;
    spec.kind = JOBS_SCHEDULE_CRON;
    spec.cron = "@hourly";
    assert_int_equal(jobs_schedule_update(&s, fx->store, OWNER, id, &spec), 0);
    assert_string_equal(s->tz, "UTC");
    jobs_schedule_free(s);
    spec.kind = JOBS_SCHEDULE_PERIODIC;
    spec.cron = NULL;
    spec.period = 120;
    assert_int_equal(jobs_schedule_update(&s, fx->store, OWNER, id, &spec), 0);
    assert_int_equal(s->kind, JOBS_SCHEDULE_PERIODIC);
    assert_int_equal(s->period, 120);
    assert_null(s->cron);
    jobs_schedule_free(s);
    assert_int_equal(jobs_store_check(fx->store), 0);
}

static void test_activation_runs_at_the_first_match_strictly_after_now(void **state)
{
    fixture *fx = *state;
    uint64_t stack = fx_stack(fx, OWNER, false);
    uint64_t daily = cron_schedule(fx, "30 2 * * *", "Europe/Berlin");
    uint64_t quarter = cron_schedule(fx, "*/15 * * * *", NULL);

    /* Saturday 12:00 UTC; the next 02:30 in Berlin is on the day of the change, which has no
     * 02:30: it runs at 03:00 CEST = 01:00 UTC. */
    fx_set_time(fx, SAT_NOON);
    uint64_t a = fx_job(fx, OWNER, "daily", stack, daily, true);
    jobs_job *j = fx_get(fx, OWNER, a);
    assert_int_equal(j->next_run, SAT_NOON + 13 * 3600);
    jobs_job_free(j);

    /* Exactly on a matching minute: strictly after, so the next quarter. */
    uint64_t b = fx_job(fx, OWNER, "quarter", stack, quarter, true);
    j = fx_get(fx, OWNER, b);
    assert_int_equal(j->next_run, SAT_NOON + 900);
    jobs_job_free(j);

    /* Enabling later (an update) computes it from that moment. */
    jobs_job_spec off = JOBS_JOB_SPEC_INIT, on = JOBS_JOB_SPEC_INIT;
    off.fields = on.fields = JOBS_JOB_ENABLED;
    on.enabled = true;
    assert_int_equal(jobs_update(NULL, fx->store, OWNER, b, &off), 0);
    fx_set_time(fx, SAT_NOON + 901);
    assert_int_equal(jobs_update(&j, fx->store, OWNER, b, &on), 0);
    assert_int_equal(j->next_run, SAT_NOON + 1800);
    jobs_job_free(j);
}

static void test_missed_cron_slots_coalesce_into_one_run(void **state)
{
    fixture *fx = *state;
    uint64_t stack = fx_stack(fx, OWNER, false);
    uint64_t quarter = cron_schedule(fx, "*/15 * * * *", "Asia/Kolkata");
    fx_set_time(fx, SAT_NOON);
    uint64_t id = fx_job(fx, OWNER, NULL, stack, quarter, true);
    fx_events ev;

    /* Kolkata is UTC+05:30, so its quarter hours are UTC quarter hours too. */
    fx_tick(fx, SAT_NOON + 899, &ev);
    assert_int_equal(ev.n, 0);
    fx_tick(fx, SAT_NOON + 900, &ev);
    assert_int_equal(ev.n, 1);
    assert_int_equal(ev.ev[0].slot, SAT_NOON + 900);
    /* Down for five hours and a bit: one run, then the first slot after the present. */
    fx_tick(fx, SAT_NOON + 5 * 3600 + 7, &ev);
    assert_int_equal(ev.n, 1);
    assert_int_equal(ev.ev[0].job, id);
    assert_int_equal(ev.ev[0].slot, SAT_NOON + 1800);
    jobs_job *j = fx_get(fx, OWNER, id);
    assert_int_equal(j->next_run, SAT_NOON + 5 * 3600 + 900);
    jobs_job_free(j);
}

static void test_cron_schedule_in_use_cannot_change(void **state)
{
    fixture *fx = *state;
    uint64_t stack = fx_stack(fx, OWNER, false);
    uint64_t sc = cron_schedule(fx, "0 9 * * *", "Europe/Berlin");
    fx_job(fx, OWNER, NULL, stack, sc, false);
    jobs_schedule_spec spec = JOBS_SCHEDULE_SPEC_INIT;
    spec.fields = JOBS_SCHEDULE_KIND | JOBS_SCHEDULE_CONFIG;
    spec.kind = JOBS_SCHEDULE_CRON;
    spec.cron = "0 10 * * *";
    assert_int_equal(jobs_schedule_update(NULL, fx->store, OWNER, sc, &spec), JOBS_EINUSE);
}

/* ---- store records ------------------------------------------------------------------------ */

/* Schedule records exactly as libjobs wrote them before cron schedules existed: they decode to
 * the same records, and encode back to the same bytes. */
static void test_records_of_the_old_encoding_read_unchanged(void **state)
{
    static const struct {
        unsigned char bytes[16];
        size_t len;
        uint64_t owner;
        bool once;
        int64_t value;
        const char *name;
    } old[] = {
        /* built-in "every minute": public, period 60 (zigzag 120), name */
        {{1, 4, 0, 120, 12, 'e', 'v', 'e', 'r', 'y', ' ', 'm', 'i', 'n', 'u', 't'}, 0, 0, false, 60,
         NULL},
        /* owner 5, period 3600 (zigzag 7200 = 0xa0 0x38), no name */
        {{1, 0, 5, 0xa0, 0x38}, 5, 5, false, 3600, NULL},
        /* owner 300 (0xac 0x02), once at 1 (zigzag 2), name "x" */
        {{1, 5, 0xac, 0x02, 2, 1, 'x'}, 7, 300, true, 1, "x"},
    };
    unsigned char buf[JOBS__RECORD_MAX];
    jobs__schedule_rec r;

    (void)state;
    /* the first one's name is 12 bytes: "every minute" */
    unsigned char first[17] = {1, 4, 0, 120, 12};
    memcpy(first + 5, "every minute", 12);
    assert_int_equal(jobs__schedule_decode(&r, first, 17), 0);
    assert_int_equal(r.owner, 0);
    assert_false(r.once);
    assert_int_equal(r.value, 60);
    assert_int_equal(r.name_len, 12);
    assert_memory_equal(r.name, "every minute", 12);
    assert_null(r.cron);
    assert_null(r.tz);
    assert_int_equal(jobs__schedule_encode(buf, &r), 17);
    assert_memory_equal(buf, first, 17);

    for (size_t i = 1; i < sizeof old / sizeof old[0]; i++) {
        assert_int_equal(jobs__schedule_decode(&r, old[i].bytes, old[i].len), 0);
        assert_int_equal(r.owner, old[i].owner);
        assert_int_equal(r.once, old[i].once);
        assert_int_equal(r.value, old[i].value);
        assert_null(r.cron);
        if (old[i].name) {
            assert_int_equal(r.name_len, strlen(old[i].name));
            assert_memory_equal(r.name, old[i].name, r.name_len);
        } else {
            assert_null(r.name);
        }
        assert_int_equal(jobs__schedule_encode(buf, &r), old[i].len);
        assert_memory_equal(buf, old[i].bytes, old[i].len);
    }
}

static void test_cron_records_encode_and_refuse_bad_shapes(void **state)
{
    unsigned char buf[JOBS__RECORD_MAX];
    jobs__schedule_rec r = {7, false, 0, NULL, 0, "30 2 * * *", 10, "Europe/Berlin", 13};
    jobs__schedule_rec back;

    (void)state;
    size_t n = jobs__schedule_encode(buf, &r);
    /* version, flags (cron), owner, expression, zone */
    static const unsigned char want[] = {1, 8, 7, 10, '3', '0', ' ', '2', ' ', '*', ' ', '*',
                                         ' ', '*', 13, 'E', 'u', 'r', 'o', 'p', 'e', '/', 'B',
                                         'e', 'r', 'l', 'i', 'n'};
    assert_int_equal(n, sizeof want);
    assert_memory_equal(buf, want, n);
    assert_int_equal(jobs__schedule_decode(&back, buf, n), 0);
    assert_int_equal(back.cron_len, 10);
    assert_memory_equal(back.cron, "30 2 * * *", 10);
    assert_memory_equal(back.tz, "Europe/Berlin", 13);

    unsigned char bad[sizeof want];
    memcpy(bad, want, n);
    bad[1] = 8 | 1; /* cron and once */
    assert_int_equal(jobs__schedule_decode(&back, bad, n), JOBS_ECORRUPT);
    memcpy(bad, want, n);
    bad[16] = '.'; /* "Eu.ope/Berlin": not a zone's character */
    assert_int_equal(jobs__schedule_decode(&back, bad, n), JOBS_ECORRUPT);
    memcpy(bad, want, n);
    bad[5] = '\n'; /* a control character in the expression */
    assert_int_equal(jobs__schedule_decode(&back, bad, n), JOBS_ECORRUPT);
    assert_int_equal(jobs__schedule_decode(&back, want, n - 1), JOBS_ECORRUPT);
    memcpy(bad, want, n);
    bad[3] = 0; /* an empty expression */
    assert_int_equal(jobs__schedule_decode(&back, bad, n), JOBS_ECORRUPT);

    /* The largest record fits the bound. */
    static char expr[JOBS_CRON_MAX], zone[JOBS_TZ_MAX], name[JOBS_NAME_MAX];
    memset(expr, '*', sizeof expr);
    memset(zone, 'A', sizeof zone);
    memset(name, 'n', sizeof name);
    jobs__schedule_rec big = {JOBS_ID_MAX, false, 0, name, sizeof name, expr, sizeof expr,
                              zone, sizeof zone};
    n = jobs__schedule_encode(buf, &big);
    assert_true(n <= JOBS__RECORD_MAX);
    assert_int_equal(jobs__schedule_decode(&back, buf, n), 0);
}

/* Cron runs are computed up to the end of year 9999: the last match runs and its job is then
 * done (disabled), and activating a job with no match left is JOBS_ECONFIG, storing nothing. */
static void test_a_cron_job_ends_with_year_9999(void **state)
{
    fixture *fx = *state;
    const int64_t y9999 = INT64_C(253370764800); /* 9999-01-01 00:00 UTC */
    uint64_t stack = fx_stack(fx, OWNER, false);
    uint64_t yearly = cron_schedule(fx, "0 0 1 1 *", NULL);
    jobs_job_spec spec = JOBS_JOB_SPEC_INIT;
    uint64_t late = 0;
    fx_events ev;

    fx_set_time(fx, y9999 - 86400);
    uint64_t id = fx_job(fx, OWNER, NULL, stack, yearly, true);
    jobs_job *j = fx_get(fx, OWNER, id);
    assert_int_equal(j->next_run, y9999);
    jobs_job_free(j);
    fx_tick(fx, y9999, &ev);
    assert_int_equal(ev.n, 1);
    assert_int_equal(ev.ev[0].slot, y9999);
    j = fx_get(fx, OWNER, id);
    assert_false(j->do_run);
    jobs_job_free(j);

    fx_set_time(fx, y9999 + 3600);
    spec.fields = JOBS_JOB_STACK | JOBS_JOB_SCHEDULE | JOBS_JOB_ENABLED;
    spec.stack = stack;
    spec.schedule = yearly;
    spec.enabled = true;
    assert_int_equal(jobs_create(&late, fx->store, OWNER, &spec), JOBS_ECONFIG);
    assert_int_equal(late, 0);
    assert_int_equal(fx_count(fx, OWNER), 1);
}

#define T(f) cmocka_unit_test_setup_teardown(f, fx_setup, fx_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_cron_schedule_round_trips_with_its_kind_and_strings),
        T(test_longest_expression_and_zone_are_stored),
        T(test_bad_expressions_and_zones_are_refused_and_change_nothing),
        T(test_period_and_cron_are_exclusive_and_cron_is_never_once),
        T(test_update_changes_kind_only_with_the_matching_config),
        T(test_activation_runs_at_the_first_match_strictly_after_now),
        T(test_missed_cron_slots_coalesce_into_one_run),
        T(test_cron_schedule_in_use_cannot_change),
        cmocka_unit_test(test_records_of_the_old_encoding_read_unchanged),
        cmocka_unit_test(test_cron_records_encode_and_refuse_bad_shapes),
        T(test_a_cron_job_ends_with_year_9999),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
