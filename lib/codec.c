/* Record encoding. Each record starts with a format version byte and a flags byte; integers
 * are LEB128 varints (signed ones zigzag-encoded); a name is a varint length and its bytes. */
#include "codec.h"
#include "util.h"

enum {
    REC_V1 = 1,
    F_ACTIVE = 1u << 0,  /* job: do_run; schedule: once; stack: public */
    F_DELETE = 1u << 1,  /* job: do_del */
    F_NAME = 1u << 2,    /* a name follows */
    F_CRON = 1u << 3     /* schedule: cron; no value, and the expression and zone follow */
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
    *p++ = (unsigned char)((rec->do_run ? F_ACTIVE : 0) | (rec->do_del ? F_DELETE : 0) |
                           (rec->name ? F_NAME : 0));
    p = put_varint(p, rec->owner);
    p = put_varint(p, rec->stack);
    p = put_varint(p, rec->schedule);
    if (rec->do_run)
        p = put_varint(p, zigzag(rec->next_run));
    if (rec->name)
        p = put_name(p, rec->name, rec->name_len);
    return (size_t)(p - buf);
}

int jobs__job_decode(jobs__job_rec *rec, const void *data, size_t len)
{
    reader r;
    unsigned flags = start(&r, data, len, F_ACTIVE | F_DELETE | F_NAME);

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

    *p++ = REC_V1;
    *p++ = (unsigned char)((rec->is_public ? F_ACTIVE : 0) | F_NAME);
    p = put_varint(p, rec->owner);
    p = put_name(p, rec->name, rec->name_len);
    return (size_t)(p - buf);
}

int jobs__stack_decode(jobs__stack_rec *rec, const void *data, size_t len)
{
    reader r;
    unsigned flags = start(&r, data, len, F_ACTIVE | F_NAME);

    memset(rec, 0, sizeof(*rec));
    rec->is_public = flags & F_ACTIVE;
    if (!(flags & F_NAME))
        r.bad = 1; /* a stack always has a name */
    rec->owner = get_id(&r);
    get_name(&r, &rec->name, &rec->name_len);
    return finish(&r, "stack");
}
