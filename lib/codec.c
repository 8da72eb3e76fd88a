/* Record encoding. Each record starts with a format version byte and a flags byte; integers
 * are LEB128 varints (signed ones zigzag-encoded); a name is a varint length and its bytes. */
#include "codec.h"
#include "util.h"

enum {
    REC_V1 = 1,
    F_ACTIVE = 1u << 0,  /* job: do_run; schedule: once; stack: public */
    F_DELETE = 1u << 1,  /* job: do_del */
    F_NAME = 1u << 2,    /* a name follows */
    F_CRON = 1u << 3,    /* schedule: cron; no value, and the expression and zone follow */
    F_APPROVAL = 1u << 3, /* stack: needs_approval (bits from 3 up mean something per kind) */
    F_WEBHOOK = 1u << 4,  /* stack: webhook and method follow (and the token, for "token") */
    F_POLICY = 1u << 3,  /* job: delivery and misfire settings follow (absent: all default) */
    F_MESSAGE = 1u << 0, /* run: a message follows */
    F_OUTPUT = 1u << 1   /* run: an output follows */
};


typedef struct reader {
    const unsigned char *p, *end;
    int bad;
} reader;

static unsigned char *put_varint(unsigned char *p, uint64_t v)
{
    while (v >= 0x80) {
        *p++ = (unsigned char)(v | 0x80);
        v >>= 7;
    }
    *p++ = (unsigned char)v;
    return p;
}

static uint64_t zigzag(int64_t v)
{
    return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

static int64_t unzigzag(uint64_t v)
{
    return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

static unsigned char *put_name(unsigned char *p, const char *name, size_t len)
{
    p = put_varint(p, len);
    memcpy(p, name, len);
    return p + len;
}

static uint64_t get_varint(reader *r)
{
    uint64_t v = 0;

    for (unsigned shift = 0; shift < 64; shift += 7) {
        if (r->p == r->end) {
            r->bad = 1;
            return 0;
        }
        unsigned char b = *r->p++;
        /* The tenth byte may only carry the top bit; longer or padded forms are corrupt. */
        if (shift == 63 && b > 1) {
            r->bad = 1;
            return 0;
        }
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            if (b == 0 && shift > 0)
                r->bad = 1; /* not the shortest form */
            return v;
        }
    }
    r->bad = 1;
    return 0;
}

static uint64_t get_id(reader *r)
{
    uint64_t v = get_varint(r);
    if (v == 0 || v > JOBS_ID_MAX)
        r->bad = 1;
    return v;
}

static void get_name(reader *r, const char **name, size_t *len)
{
    uint64_t n = get_varint(r);

    if (r->bad || n > (uint64_t)(r->end - r->p) || !jobs_name_is_valid((const char *)r->p, n)) {
        r->bad = 1;
        return;
    }
    *name = (const char *)r->p;
    *len = (size_t)n;
    r->p += n;
}

/* A cron string: 1..max bytes of printable ASCII (tab too, in an expression; the zone's
 * characters as lib/cron.c allows them). Whether it parses is the verifier's question. */
static void get_cron_str(reader *r, const char **s, size_t *len, size_t max, bool zone)
{
    uint64_t n = get_varint(r);

    if (r->bad || n == 0 || n > max || n > (uint64_t)(r->end - r->p)) {
        r->bad = 1;
        return;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = r->p[i];
        bool ok = zone ? (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                             (c >= '0' && c <= '9') || c == '/' || c == '_' || c == '+' ||
                             c == '-'
                       : (c >= 0x20 && c < 0x7f) || c == '\t';
        if (!ok) {
            r->bad = 1;
            return;
        }
    }
    *s = (const char *)r->p;
    *len = (size_t)n;
    r->p += n;
}

static int finish(reader *r, const char *what)
{
    if (r->bad || r->p != r->end)
        return jobs__error(JOBS_ECORRUPT, "a %s record is corrupt", what);
    return 0;
}

static unsigned start(reader *r, const void *data, size_t len, unsigned allowed)
{
    r->p = data;
    r->end = r->p + len;
    r->bad = 0;
    if (len < 2 || r->p[0] != REC_V1 || (r->p[1] & ~allowed)) {
        r->bad = 1;
        return 0;
    }
    r->p += 2;
    return ((const unsigned char *)data)[1];
}

size_t jobs__job_encode(unsigned char *buf, const jobs__job_rec *rec)
{
    unsigned char *p = buf;

    *p++ = REC_V1;
    bool policy = rec->delivery || rec->misfire || rec->lease || rec->max_attempts ||
                  rec->misfire_value;

    *p++ = (unsigned char)((rec->do_run ? F_ACTIVE : 0) | (rec->do_del ? F_DELETE : 0) |
                           (rec->name ? F_NAME : 0) | (policy ? F_POLICY : 0));
    p = put_varint(p, rec->owner);
    p = put_varint(p, rec->stack);
    p = put_varint(p, rec->schedule);
    if (rec->do_run)
        p = put_varint(p, zigzag(rec->next_run));
    if (rec->name)
        p = put_name(p, rec->name, rec->name_len);
    if (policy) {
        p = put_varint(p, rec->delivery);
        p = put_varint(p, rec->lease);
        p = put_varint(p, rec->max_attempts);
        p = put_varint(p, rec->misfire);
        p = put_varint(p, rec->misfire_value);
    }
    return (size_t)(p - buf);
}

int jobs__job_decode(jobs__job_rec *rec, const void *data, size_t len)
{
    reader r;
    unsigned flags = start(&r, data, len, F_ACTIVE | F_DELETE | F_NAME | F_POLICY);

    memset(rec, 0, sizeof(*rec));
    rec->do_run = flags & F_ACTIVE;
    rec->do_del = flags & F_DELETE;
    if (rec->do_del && !rec->do_run)
        r.bad = 1; /* only an active job can wait for deletion */
    rec->owner = get_id(&r);
    rec->stack = get_id(&r);
    rec->schedule = get_id(&r);
    if (rec->do_run)
        rec->next_run = unzigzag(get_varint(&r));
    if (flags & F_NAME)
        get_name(&r, &rec->name, &rec->name_len);
    if (flags & F_POLICY) {
        uint64_t delivery = get_varint(&r), lease = get_varint(&r), attempts = get_varint(&r);
        uint64_t misfire = get_varint(&r), value = get_varint(&r);

        /* The canonical form: only what the rules allow, and the block only when not all 0. */
        if (delivery > JOBS_DELIVERY_AT_LEAST_ONCE || lease > JOBS_LEASE_MAX ||
            attempts > JOBS_MAX_ATTEMPTS_MAX || misfire > JOBS_MISFIRE_CATCH_UP ||
            (misfire == JOBS_MISFIRE_COALESCE && value) ||
            (misfire == JOBS_MISFIRE_SKIP && value > JOBS_GRACE_MAX) ||
            (misfire == JOBS_MISFIRE_CATCH_UP && (value < 1 || value > JOBS_CATCH_UP_MAX)) ||
            !(delivery || lease || attempts || misfire || value))
            r.bad = 1;
        rec->delivery = (uint8_t)delivery;
        rec->lease = (uint32_t)lease;
        rec->max_attempts = (uint32_t)attempts;
        rec->misfire = (uint8_t)misfire;
        rec->misfire_value = (uint32_t)value;
    }
    return finish(&r, "job");
}

size_t jobs__schedule_encode(unsigned char *buf, const jobs__schedule_rec *rec)
{
    unsigned char *p = buf;

    *p++ = REC_V1;
    *p++ = (unsigned char)((rec->once ? F_ACTIVE : 0) | (rec->name ? F_NAME : 0) |
                           (rec->cron ? F_CRON : 0));
    p = put_varint(p, rec->owner);
    if (!rec->cron)
        p = put_varint(p, zigzag(rec->value));
    if (rec->name)
        p = put_name(p, rec->name, rec->name_len);
    if (rec->cron) {
        p = put_name(p, rec->cron, rec->cron_len);
        p = put_name(p, rec->tz, rec->tz_len);
    }
    return (size_t)(p - buf);
}

int jobs__schedule_decode(jobs__schedule_rec *rec, const void *data, size_t len)
{
    reader r;
    unsigned flags = start(&r, data, len, F_ACTIVE | F_NAME | F_CRON);

    memset(rec, 0, sizeof(*rec));
    rec->once = flags & F_ACTIVE;
    if ((flags & F_CRON) && rec->once)
        r.bad = 1; /* a cron schedule is never one-time */
    rec->owner = get_varint(&r); /* 0 is the public owner */
    if (rec->owner > JOBS_ID_MAX)
        r.bad = 1;
    if (!(flags & F_CRON)) {
        rec->value = unzigzag(get_varint(&r));
        if (rec->once ? rec->value <= 0
                      : (rec->value < JOBS_PERIOD_MIN || rec->value > JOBS_PERIOD_MAX))
            r.bad = 1;
    }
    if (flags & F_NAME)
        get_name(&r, &rec->name, &rec->name_len);
    if (flags & F_CRON) {
        get_cron_str(&r, &rec->cron, &rec->cron_len, JOBS_CRON_MAX, false);
        get_cron_str(&r, &rec->tz, &rec->tz_len, JOBS_TZ_MAX, true);
        if (r.bad)
            rec->cron = rec->tz = NULL;
    }
    return finish(&r, "schedule");
}

size_t jobs__stack_encode(unsigned char *buf, const jobs__stack_rec *rec)
{
    unsigned char *p = buf;
    bool hook = rec->webhook || rec->webhook_method;

    /* A stack with none of the later fields encodes as before them (canonical both ways). */
    *p++ = REC_V1;
    *p++ = (unsigned char)((rec->is_public ? F_ACTIVE : 0) | F_NAME |
                           (rec->needs_approval ? F_APPROVAL : 0) | (hook ? F_WEBHOOK : 0));
    p = put_varint(p, rec->owner);
    p = put_name(p, rec->name, rec->name_len);
    if (hook) {
        *p++ = rec->webhook;
        *p++ = rec->webhook_method;
        if (rec->webhook == JOBS_WEBHOOK_TOKEN) {
            memcpy(p, rec->token, JOBS_WEBHOOK_TOKEN_LEN);
            p += JOBS_WEBHOOK_TOKEN_LEN;
        }
    }
    return (size_t)(p - buf);
}

static bool is_token(const unsigned char *p)
{
    for (size_t i = 0; i < JOBS_WEBHOOK_TOKEN_LEN; i++)
        if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f')))
            return false;
    return true;
}

int jobs__stack_decode(jobs__stack_rec *rec, const void *data, size_t len)
{
    reader r;
    unsigned flags = start(&r, data, len, F_ACTIVE | F_NAME | F_APPROVAL | F_WEBHOOK);

    memset(rec, 0, sizeof(*rec));
    rec->is_public = flags & F_ACTIVE;
    rec->needs_approval = flags & F_APPROVAL;
    if (!(flags & F_NAME))
        r.bad = 1; /* a stack always has a name */
    rec->owner = get_id(&r);
    get_name(&r, &rec->name, &rec->name_len);
    if ((flags & F_WEBHOOK) && !r.bad) {
        if (r.end - r.p < 2) {
            r.bad = 1;
        } else {
            rec->webhook = *r.p++;
            rec->webhook_method = *r.p++;
            /* Only in-range values, and not both defaults (that encodes without F_WEBHOOK). */
            if (rec->webhook > JOBS_WEBHOOK_USER || rec->webhook_method > JOBS_WEBHOOK_POST ||
                (!rec->webhook && !rec->webhook_method))
                r.bad = 1;
        }
        if (!r.bad && rec->webhook == JOBS_WEBHOOK_TOKEN) {
            if (r.end - r.p < JOBS_WEBHOOK_TOKEN_LEN || !is_token(r.p)) {
                r.bad = 1;
            } else {
                rec->token = (const char *)r.p;
                r.p += JOBS_WEBHOOK_TOKEN_LEN;
            }
        }
    }
    return finish(&r, "stack");
}

/* ---- runs ------------------------------------------------------------------------------- */

size_t jobs__run_encode(unsigned char *buf, const jobs__run_rec *rec)
{
    unsigned char *p = buf;

    *p++ = REC_V1;
    *p++ = (unsigned char)((rec->message_len ? F_MESSAGE : 0) | (rec->output_len ? F_OUTPUT : 0));
    p = put_varint(p, rec->owner);
    p = put_varint(p, rec->job);
    p = put_varint(p, rec->stack);
    p = put_varint(p, rec->schedule);
    p = put_varint(p, zigzag(rec->slot));
    p = put_varint(p, rec->trigger);
    p = put_varint(p, rec->state);
    p = put_varint(p, rec->delivery);
    p = put_varint(p, rec->attempt);
    p = put_varint(p, rec->max_attempts);
    p = put_varint(p, rec->lease);
    p = put_varint(p, zigzag(rec->created));
    p = put_varint(p, zigzag(rec->started));
    p = put_varint(p, zigzag(rec->finished));
    p = put_varint(p, zigzag(rec->lease_until));
    p = put_varint(p, rec->missed);
    p = put_varint(p, zigzag(rec->missed_since));
    if (rec->message_len) {
        p = put_varint(p, rec->message_len);
        memcpy(p, rec->message, rec->message_len);
        p += rec->message_len;
    }
    if (rec->output_len) {
        p = put_varint(p, rec->output_len);
        memcpy(p, rec->output, rec->output_len);
        p += rec->output_len;
    }
    return (size_t)(p - buf);
}

/* Bytes of at most `max`, at least one. */
static const char *get_bytes(reader *r, size_t max, size_t *len)
{
    uint64_t n = get_varint(r);
    const char *at = (const char *)r->p;

    if (r->bad || n == 0 || n > max || n > (uint64_t)(r->end - r->p)) {
        r->bad = 1;
        return NULL;
    }
    r->p += n;
    *len = (size_t)n;
    return at;
}

int jobs__run_decode(jobs__run_rec *rec, const void *data, size_t len)
{
    reader r;
    unsigned flags = start(&r, data, len, F_MESSAGE | F_OUTPUT);
    uint64_t v[6];

    memset(rec, 0, sizeof(*rec));
    rec->owner = get_id(&r);
    rec->job = get_varint(&r);
    rec->stack = get_id(&r);
    rec->schedule = get_varint(&r);
    rec->slot = unzigzag(get_varint(&r));
    for (int i = 0; i < 6; i++)
        v[i] = get_varint(&r);
    rec->created = unzigzag(get_varint(&r));
    rec->started = unzigzag(get_varint(&r));
    rec->finished = unzigzag(get_varint(&r));
    rec->lease_until = unzigzag(get_varint(&r));
    rec->missed = get_varint(&r);
    rec->missed_since = unzigzag(get_varint(&r));
    if (flags & F_MESSAGE)
        rec->message = get_bytes(&r, JOBS_RUN_MESSAGE_MAX, &rec->message_len);
    if (flags & F_OUTPUT)
        rec->output = get_bytes(&r, JOBS_RUN_OUTPUT_MAX, &rec->output_len);
    if (rec->job > JOBS_ID_MAX || rec->schedule > JOBS_ID_MAX || v[0] < JOBS_TRIGGER_SCHEDULE ||
        v[0] > JOBS_TRIGGER_HOOK || v[1] < JOBS_RUN_PENDING || v[1] > JOBS_RUN_SKIPPED ||
        v[2] > JOBS_DELIVERY_AT_LEAST_ONCE || v[3] > UINT32_MAX ||
        v[4] > JOBS_MAX_ATTEMPTS_MAX || v[5] > JOBS_LEASE_MAX ||
        (v[1] == JOBS_RUN_RUNNING && v[2] != JOBS_DELIVERY_AT_LEAST_ONCE) ||
        (v[1] == JOBS_RUN_PENDING && v[3] != 0))
        r.bad = 1;
    rec->trigger = (uint8_t)v[0];
    rec->state = (uint8_t)v[1];
    rec->delivery = (uint8_t)v[2];
    rec->attempt = (uint32_t)v[3];
    rec->max_attempts = (uint32_t)v[4];
    rec->lease = (uint32_t)v[5];
    return finish(&r, "run");
}
