/* fuzz_record: the record decoders of lib/codec.c (jobs__job_decode, jobs__schedule_decode,
 * jobs__stack_decode) on arbitrary bytes, as if a store page had been damaged.
 *
 * A record either decodes to one that obeys every rule of docs/storage.md or is refused with
 * JOBS_ECORRUPT; nothing is read outside the bytes given. The format is canonical (a flags byte
 * with no unknown bits, shortest-form varints, no trailing bytes), so an accepted record encodes
 * back to exactly the input bytes, and decoding those gives the same record. In the other
 * direction the input also seeds one valid record of each kind (values folded into their
 * ranges), which must encode within JOBS__RECORD_MAX and decode back unchanged. */
#include "fuzz.h"

#include <string.h>

#include "codec.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    return 0;
}

static bool id_ok(uint64_t v)
{
    return v >= 1 && v <= JOBS_ID_MAX;
}

/* A decoded name: none (NULL, 0), or a valid name inside the bytes [lo, hi). */
static void check_name(const char *name, size_t len, const void *lo, size_t size)
{
    const char *b = lo;

    if (!name) {
        FUZZ_CHECK(len == 0);
        return;
    }
    FUZZ_CHECK(name >= b && len <= size && name <= b + size - len);
    FUZZ_CHECK(jobs_name_is_valid(name, len));
}

static bool same_name(const char *a, size_t alen, const char *b, size_t blen)
{
    return (a == NULL) == (b == NULL) && alen == blen && (alen == 0 || memcmp(a, b, alen) == 0);
}

static bool same_job(const jobs__job_rec *a, const jobs__job_rec *b)
{
    return a->owner == b->owner && a->stack == b->stack && a->schedule == b->schedule &&
           a->next_run == b->next_run && a->do_run == b->do_run && a->do_del == b->do_del &&
           same_name(a->name, a->name_len, b->name, b->name_len);
}

static bool same_schedule(const jobs__schedule_rec *a, const jobs__schedule_rec *b)
{
    return a->owner == b->owner && a->once == b->once && a->value == b->value &&
           same_name(a->name, a->name_len, b->name, b->name_len) &&
           same_name(a->cron, a->cron_len, b->cron, b->cron_len) &&
           same_name(a->tz, a->tz_len, b->tz, b->tz_len);
}

/* A decoded cron string: inside the bytes, 1..max long. */
static void check_cron_string(const char *s, size_t len, size_t max, const void *lo, size_t size)
{
    const char *b = lo;

    FUZZ_CHECK(s != NULL && len >= 1 && len <= max);
    FUZZ_CHECK(s >= b && len <= size && s <= b + size - len);
}

static bool same_stack(const jobs__stack_rec *a, const jobs__stack_rec *b)
{
    return a->owner == b->owner && a->is_public == b->is_public &&
           same_name(a->name, a->name_len, b->name, b->name_len);
}

/* ---- bytes -> record -> bytes -------------------------------------------------------------- */

static void decode_job(const uint8_t *data, size_t size)
{
    unsigned char buf[JOBS__RECORD_MAX];
    jobs__job_rec r, again;
    size_t n;

    if (jobs__job_decode(&r, data, size) != 0)
        return;
    FUZZ_CHECK(id_ok(r.owner) && id_ok(r.stack) && id_ok(r.schedule));
    FUZZ_CHECK(!r.do_del || r.do_run);
    FUZZ_CHECK(r.do_run || r.next_run == 0);
    check_name(r.name, r.name_len, data, size);
    FUZZ_CHECK(size <= JOBS__RECORD_MAX);
    n = jobs__job_encode(buf, &r);
    FUZZ_CHECK(n == size && memcmp(buf, data, n) == 0);
    FUZZ_CHECK(jobs__job_decode(&again, buf, n) == 0 && same_job(&r, &again));
}

static void decode_schedule(const uint8_t *data, size_t size)
{
    unsigned char buf[JOBS__RECORD_MAX];
    jobs__schedule_rec r, again;
    size_t n;

    if (jobs__schedule_decode(&r, data, size) != 0)
        return;
    FUZZ_CHECK(r.owner <= JOBS_ID_MAX); /* 0: a public schedule */
    if (r.cron) { /* cron: never once, no value, both strings */
        FUZZ_CHECK(!r.once && r.value == 0);
        check_cron_string(r.cron, r.cron_len, JOBS_CRON_MAX, data, size);
        check_cron_string(r.tz, r.tz_len, JOBS_TZ_MAX, data, size);
    } else {
        FUZZ_CHECK(r.tz == NULL && r.cron_len == 0 && r.tz_len == 0);
        FUZZ_CHECK(r.once ? r.value > 0
                          : r.value >= JOBS_PERIOD_MIN && r.value <= JOBS_PERIOD_MAX);
    }
    check_name(r.name, r.name_len, data, size);
    FUZZ_CHECK(size <= JOBS__RECORD_MAX);
    n = jobs__schedule_encode(buf, &r);
    FUZZ_CHECK(n == size && memcmp(buf, data, n) == 0);
    FUZZ_CHECK(jobs__schedule_decode(&again, buf, n) == 0 && same_schedule(&r, &again));
}

static void decode_stack(const uint8_t *data, size_t size)
{
    unsigned char buf[JOBS__RECORD_MAX];
    jobs__stack_rec r, again;
    size_t n;

    if (jobs__stack_decode(&r, data, size) != 0)
        return;
    FUZZ_CHECK(id_ok(r.owner));
    FUZZ_CHECK(r.name != NULL); /* a stack always has a name */
    check_name(r.name, r.name_len, data, size);
    FUZZ_CHECK(size <= JOBS__RECORD_MAX);
    n = jobs__stack_encode(buf, &r);
    FUZZ_CHECK(n == size && memcmp(buf, data, n) == 0);
    FUZZ_CHECK(jobs__stack_decode(&again, buf, n) == 0 && same_stack(&r, &again));
}

/* ---- values -> record -> bytes -> record --------------------------------------------------- */

/* Reads the input as a stream of values; past its end, zeros. */
typedef struct source {
    const uint8_t *p, *end;
} source;

static uint64_t take_u64(source *s)
{
    uint64_t v = 0;

    for (int i = 0; i < 8 && s->p < s->end; i++)
        v = (v << 8) | *s->p++;
    return v;
}

static bool take_bit(source *s)
{
    return s->p < s->end && (*s->p++ & 1);
}

/* An id in 1..JOBS_ID_MAX (small ones often, as in a real store). */
static uint64_t take_id(source *s)
{
    return take_u64(s) % JOBS_ID_MAX + 1;
}

/* The rest of the input as a name when it is a valid one, else none. */
static void take_name(source *s, const char **name, size_t *len)
{
    size_t n = (size_t)(s->end - s->p);

    *name = NULL;
    *len = 0;
    if (jobs_name_is_valid((const char *)s->p, n)) {
        *name = (const char *)s->p;
        *len = n;
    }
}

static void encode_records(const uint8_t *data, size_t size)
{
    unsigned char buf[JOBS__RECORD_MAX];
    source s = {data, data + size};
    jobs__job_rec j, j2;
    jobs__schedule_rec sc, sc2;
    jobs__stack_rec st, st2;
    uint64_t v;
    size_t n;

    memset(&j, 0, sizeof j);
    j.owner = take_id(&s);
    j.stack = take_id(&s);
    j.schedule = take_id(&s);
    j.do_run = take_bit(&s);
    j.do_del = j.do_run && take_bit(&s);
    v = take_u64(&s);
    j.next_run = j.do_run ? (int64_t)v : 0; /* any int64_t, negative ones included */
    take_name(&s, &j.name, &j.name_len);
    n = jobs__job_encode(buf, &j);
    FUZZ_CHECK(n >= 2 && n <= JOBS__RECORD_MAX);
    FUZZ_CHECK(jobs__job_decode(&j2, buf, n) == 0 && same_job(&j, &j2));

    s.p = data;
    memset(&sc, 0, sizeof sc);
    sc.owner = take_u64(&s) % (JOBS_ID_MAX + 1);
    sc.once = take_bit(&s);
    v = take_u64(&s);
    sc.value = sc.once ? (int64_t)(v % (uint64_t)INT64_MAX) + 1
                       : JOBS_PERIOD_MIN + (int64_t)(v % (JOBS_PERIOD_MAX - JOBS_PERIOD_MIN + 1));
    take_name(&s, &sc.name, &sc.name_len);
    n = jobs__schedule_encode(buf, &sc);
    FUZZ_CHECK(n >= 2 && n <= JOBS__RECORD_MAX);
    FUZZ_CHECK(jobs__schedule_decode(&sc2, buf, n) == 0 && same_schedule(&sc, &sc2));

    /* The same schedule as a cron one: an expression and a zone of the input's choosing, at
     * their longest too, with the name. */
    static const char *const exprs[] = {"30 2 * * *", "*/15 1-3 * * *", "@daily",
                                        "0 9 * * mon-fri", "0\t9 1 jan *"};
    static const char *const zones[] = {"UTC", "Europe/Berlin", "America/Argentina/Buenos_Aires",
                                        "Etc/GMT+5"};
    static char long_expr[JOBS_CRON_MAX], long_zone[JOBS_TZ_MAX];
    uint64_t pick = v;
    memset(long_expr, '*', sizeof long_expr);
    memset(long_zone, 'Z', sizeof long_zone);
    sc.once = false;
    sc.value = 0;
    sc.cron = (pick & 7) < 5 ? exprs[pick & 7] : long_expr;
    sc.cron_len = (pick & 7) < 5 ? strlen(sc.cron) : sizeof long_expr;
    sc.tz = ((pick >> 3) & 7) < 4 ? zones[(pick >> 3) & 7] : long_zone;
    sc.tz_len = ((pick >> 3) & 7) < 4 ? strlen(sc.tz) : sizeof long_zone;
    n = jobs__schedule_encode(buf, &sc);
    FUZZ_CHECK(n >= 2 && n <= JOBS__RECORD_MAX);
    FUZZ_CHECK(jobs__schedule_decode(&sc2, buf, n) == 0 && same_schedule(&sc, &sc2));

    s.p = data;
    memset(&st, 0, sizeof st);
    st.owner = take_id(&s);
    st.is_public = take_bit(&s);
    take_name(&s, &st.name, &st.name_len);
    if (!st.name) {
        st.name = "s";
        st.name_len = 1;
    }
    n = jobs__stack_encode(buf, &st);
    FUZZ_CHECK(n >= 2 && n <= JOBS__RECORD_MAX);
    FUZZ_CHECK(jobs__stack_decode(&st2, buf, n) == 0 && same_stack(&st, &st2));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    decode_job(data, size);
    decode_schedule(data, size);
    decode_stack(data, size);
    encode_records(data, size);
    return 0;
}
