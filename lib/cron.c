/* Cron expressions in a time zone (see cron.h and docs/schedules.md).
 *
 * Parsing turns the five fields into bitsets. The next run is found segment by segment: between
 * two transitions of the zone the UTC offset is constant, so local wall time is UTC plus that
 * offset, and the first matching local minute of the segment is found by a calendar search over
 * the bitsets (whole months, days and hours are skipped, never walked minute by minute). ICU is
 * asked only for the offset and the neighbouring transitions; the calendar arithmetic of the
 * search is proleptic Gregorian on local "naive" minutes. */
#include "cron.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <unicode/ucal.h>
#include <unicode/ustring.h>

#include "util.h"

/* ---- fields ------------------------------------------------------------------------------- */

/* ASCII only, whatever locale the host has set (<ctype.h> and strncasecmp follow the locale). */
static bool is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static bool is_alpha(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_alnum(unsigned char c)
{
    return is_digit(c) || is_alpha(c);
}

/* Compares n bytes of s with the lower-case ASCII word w, ignoring ASCII case. */
static bool ascii_case_eq(const char *s, const char *w, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 'A' && c <= 'Z')
            c = (unsigned char)(c - 'A' + 'a');
        if (c != (unsigned char)w[i])
            return false;
    }
    return true;
}

typedef struct field_def {
    const char *name;
    int lo, hi;
} field_def;

static const field_def FIELDS[5] = {
    {"minute", 0, 59}, {"hour", 0, 23}, {"day of month", 1, 31}, {"month", 1, 12},
    {"day of week", 0, 7}};

static const char *const MONTH_NAMES[12] = {"jan", "feb", "mar", "apr", "may", "jun",
                                            "jul", "aug", "sep", "oct", "nov", "dec"};
static const char *const WDAY_NAMES[7] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

static const struct {
    const char *name;
    const char *expr;
} MACROS[] = {{"@yearly", "0 0 1 1 *"},  {"@annually", "0 0 1 1 *"}, {"@monthly", "0 0 1 * *"},
              {"@weekly", "0 0 * * 0"},  {"@daily", "0 0 * * *"},    {"@midnight", "0 0 * * *"},
              {"@hourly", "0 * * * *"}};

/* Copies s[0..n) into buf for a message: printable ASCII as is, anything else as '?', cut to
 * 40 characters with "...". */
static const char *quote(char *buf, size_t cap, const char *s, size_t n)
{
    size_t o = 0;
    for (size_t i = 0; i < n && o + 4 < cap; i++) {
        if (i == 40) {
            memcpy(buf + o, "...", 3);
            o += 3;
            break;
        }
        unsigned char ch = (unsigned char)s[i];
        buf[o++] = (ch >= 0x20 && ch < 0x7f) ? (char)ch : '?';
    }
    buf[o] = '\0';
    return buf;
}

/* Reads a number or, for month and weekday, a three-letter name at *p; 0 or an error. */
static int read_value(int fi, const char **p, const char *end, int *value, const char *item,
                      size_t item_len)
{
    const field_def *f = &FIELDS[fi];
    char q[64];
    const char *s = *p;
    if (s < end && is_digit((unsigned char)*s)) {
        long v = 0;
        while (s < end && is_digit((unsigned char)*s)) {
            if (v < 100000)
                v = v * 10 + (*s - '0');
            s++;
        }
        if (v < f->lo || v > f->hi)
            return jobs__error(JOBS_ECONFIG, "cron: field %d (%s) '%s' is outside %d-%d", fi + 1,
                               f->name, quote(q, sizeof q, item, item_len), f->lo, f->hi);
        *value = (int)v;
        *p = s;
        return 0;
    }
    if (s < end && is_alpha((unsigned char)*s)) {
        const char *t = s;
        while (t < end && is_alpha((unsigned char)*t))
            t++;
        size_t n = (size_t)(t - s);
        if (fi == 3 || fi == 4) {
            const char *const *names = fi == 3 ? MONTH_NAMES : WDAY_NAMES;
            int count = fi == 3 ? 12 : 7;
            for (int i = 0; n == 3 && i < count; i++) {
                if (ascii_case_eq(s, names[i], 3)) {
                    *value = fi == 3 ? i + 1 : i;
                    *p = t;
                    return 0;
                }
            }
            return jobs__error(JOBS_ECONFIG,
                               "cron: field %d (%s) '%s' is not a %s name; expected %s", fi + 1,
                               f->name, quote(q, sizeof q, item, item_len),
                               fi == 3 ? "month" : "weekday",
                               fi == 3 ? "1-12 or jan-dec" : "0-7 or sun-sat");
        }
        return jobs__error(JOBS_ECONFIG,
                           "cron: field %d (%s) '%s' is not a number; expected %d-%d (names are "
                           "allowed only for month and day of week)",
                           fi + 1, f->name, quote(q, sizeof q, item, item_len), f->lo, f->hi);
    }
    return jobs__error(JOBS_ECONFIG, "cron: field %d (%s) '%s' is not valid; expected %d-%d%s",
                       fi + 1, f->name, quote(q, sizeof q, item, item_len), f->lo, f->hi,
                       fi == 3   ? ", a name jan-dec, or *"
                       : fi == 4 ? ", a name sun-sat, or *"
                                 : " or *");
}

/* One list item: '*', N, N-M, each optionally /STEP; N/STEP means N-max/STEP. */
static int parse_item(int fi, const char *s, const char *end, uint64_t *bits)
{
    const field_def *f = &FIELDS[fi];
    size_t n = (size_t)(end - s);
    char q[64];
    if (n == 0)
        return jobs__error(JOBS_ECONFIG,
                           "cron: field %d (%s) has an empty list item; expected %d-%d or *",
                           fi + 1, f->name, f->lo, f->hi);
    const char *p = s;
    int lo, hi, step = 1, rc;
    int top = fi == 4 ? 6 : f->hi; /* '*' in day of week is 0-6; 7 only when written */
    if (*p == '*') {
        lo = f->lo;
        hi = top;
        p++;
    } else {
        if ((rc = read_value(fi, &p, end, &lo, s, n)))
            return rc;
        hi = lo;
        if (p < end && *p == '-') {
            p++;
            if (p == end)
                return jobs__error(JOBS_ECONFIG,
                                   "cron: field %d (%s) '%s' has a range without an end; "
                                   "expected low-high",
                                   fi + 1, f->name, quote(q, sizeof q, s, n));
            if ((rc = read_value(fi, &p, end, &hi, s, n)))
                return rc;
            if (hi < lo)
                return jobs__error(JOBS_ECONFIG,
                                   "cron: field %d (%s) '%s' is a descending range; expected "
                                   "low-high with low <= high",
                                   fi + 1, f->name, quote(q, sizeof q, s, n));
        } else if (p < end && *p == '/') {
            hi = lo > top ? lo : top; /* "7/3" in day of week: Sunday, written as 7 */
        }
    }
    if (p < end && *p == '/') {
        p++;
        if (p == end || !is_digit((unsigned char)*p))
            return jobs__error(JOBS_ECONFIG,
                               "cron: field %d (%s) '%s' has no step after '/'; expected a step "
                               "of 1-%d",
                               fi + 1, f->name, quote(q, sizeof q, s, n), f->hi);
        long v = 0;
        while (p < end && is_digit((unsigned char)*p)) {
            if (v < 100000)
                v = v * 10 + (*p - '0');
            p++;
        }
        if (v < 1 || v > f->hi)
            return jobs__error(JOBS_ECONFIG,
                               "cron: field %d (%s) '%s' has a step of %ld; expected a step of "
                               "1-%d",
                               fi + 1, f->name, quote(q, sizeof q, s, n), v, f->hi);
        step = (int)v;
    }
    if (p != end)
        return jobs__error(JOBS_ECONFIG,
                           "cron: field %d (%s) '%s' has unexpected '%c' at character %d of the "
                           "item; expected %s",
                           fi + 1, f->name, quote(q, sizeof q, s, n),
                           (*p >= 0x20 && *p < 0x7f) ? *p : '?', (int)(p - s) + 1,
                           (p > s && is_digit((unsigned char)p[-1])) || p[-1] == '*'
                               ? "',', '-' or '/'"
                               : "a number");
    for (int v = lo; v <= hi; v += step)
        *bits |= (uint64_t)1 << (fi == 4 && v == 7 ? 0 : v);
    return 0;
}

static int days_in_month(int64_t y, int m)
{
    static const int dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return 29;
    return dim[m - 1];
}

int jobs__cron_parse(jobs__cron *out, const char *expr)
{
    if (!out || !expr)
        return jobs__error(JOBS_ECONFIG, "cron: the expression is missing");
    size_t len = strlen(expr);
    if (len > JOBS__CRON_EXPR_MAX)
        return jobs__error(JOBS_ECONFIG, "cron: the expression is %zu bytes long; at most %d",
                           len, JOBS__CRON_EXPR_MAX);
    const char *s = expr, *end = expr + len;
    while (s < end && (*s == ' ' || *s == '\t'))
        s++;
    while (end > s && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    if (s == end)
        return jobs__error(JOBS_ECONFIG, "cron: the expression is empty; expected 5 fields "
                                         "(minute hour day-of-month month day-of-week)");
    if (*s == '@') {
        char q[64];
        for (size_t i = 0; i < sizeof MACROS / sizeof MACROS[0]; i++) {
            size_t n = strlen(MACROS[i].name);
            if ((size_t)(end - s) == n && ascii_case_eq(s, MACROS[i].name, n))
                return jobs__cron_parse(out, MACROS[i].expr);
        }
        return jobs__error(JOBS_ECONFIG,
                           "cron: '%s' is not a known shorthand; expected @hourly, @daily, "
                           "@weekly, @monthly, @yearly or @annually",
                           quote(q, sizeof q, s, (size_t)(end - s)));
    }

    uint64_t bits[5] = {0, 0, 0, 0, 0};
    bool star[5] = {false, false, false, false, false};
    int fi = 0;
    const char *p = s;
    while (p < end) {
        const char *f = p;
        while (p < end && *p != ' ' && *p != '\t')
            p++;
        if (fi == 5) {
            int n = 5;
            for (const char *r = f; r < end;) {
                n++;
                while (r < end && *r != ' ' && *r != '\t')
                    r++;
                while (r < end && (*r == ' ' || *r == '\t'))
                    r++;
            }
            return jobs__error(JOBS_ECONFIG,
                               "cron: %d fields; expected 5 (minute hour day-of-month month "
                               "day-of-week)",
                               n);
        }
        for (const char *c = f; c < p; c++) {
            unsigned char ch = (unsigned char)*c;
            if (!is_alnum(ch) && ch != '*' && ch != ',' && ch != '-' && ch != '/') {
                char q[64];
                return jobs__error(JOBS_ECONFIG,
                                   "cron: field %d (%s) '%s' has unexpected character '%c' at "
                                   "position %d; expected digits, names, '*', ',', '-' or '/'",
                                   fi + 1, FIELDS[fi].name, quote(q, sizeof q, f, (size_t)(p - f)),
                                   (ch >= 0x20 && ch < 0x7f) ? (char)ch : '?', (int)(c - f) + 1);
            }
        }
        star[fi] = *f == '*';
        for (const char *it = f; it <= p;) {
            const char *ie = it;
            while (ie < p && *ie != ',')
                ie++;
            int rc = parse_item(fi, it, ie, &bits[fi]);
            if (rc)
                return rc;
            it = ie + 1;
        }
        fi++;
        while (p < end && (*p == ' ' || *p == '\t'))
            p++;
    }
    if (fi < 5)
        return jobs__error(JOBS_ECONFIG,
                           "cron: %d field%s; expected 5 (minute hour day-of-month month "
                           "day-of-week), field %d (%s) is missing",
                           fi, fi == 1 ? "" : "s", fi + 1, FIELDS[fi].name);

    jobs__cron c;
    c.minutes = bits[0];
    c.hours = (uint32_t)bits[1];
    c.mdays = (uint32_t)bits[2];
    c.months = (uint16_t)bits[3];
    c.wdays = (uint8_t)bits[4];
    c.flags = (uint8_t)((star[2] ? JOBS__CRON_MDAY_STAR : 0) | (star[4] ? JOBS__CRON_WDAY_STAR : 0) |
                        (star[1] ? JOBS__CRON_HOUR_STAR : 0));
    /* Days are ANDed when a day field starts with '*'; then the day of month alone must fit in
     * one of the months (Feb 29 counts: it comes back). */
    if (!star[2] && star[4]) {
        bool fits = false;
        for (int m = 1; m <= 12 && !fits; m++)
            if (c.months & (1u << m))
                fits = (c.mdays & ((2u << days_in_month(2000, m)) - 2u)) != 0;
        if (!fits)
            return jobs__error(JOBS_ECONFIG,
                               "cron: field 3 (day of month) names no day that occurs in the "
                               "months of field 4; the expression would never run");
    }
    out->minutes = c.minutes;
    out->hours = c.hours;
    out->mdays = c.mdays;
    out->months = c.months;
    out->wdays = c.wdays;
    out->flags = c.flags;
    return 0;
}

/* ---- zones ------------------------------------------------------------------------------- */

static int to_uchars(UChar *dst, const char *src, int32_t n)
{
    for (int32_t i = 0; i < n; i++)
        dst[i] = (UChar)(unsigned char)src[i];
    return n;
}

/* ICU's own aliases that are not IANA names: Java's three-letter IDs and the SystemV zones.
 * ICU knows them, other tz users (zoneinfo, a future backend's database) do not. */
static bool icu_only_alias(const char *zone, size_t n)
{
    static const char java[] = "ACT AET AGT ART AST BET BST CAT CNT CST CTT EAT ECT IET IST JST "
                               "MIT NET NST PLT PNT PRT PST SST VST";
    if (strncmp(zone, "SystemV/", 8) == 0)
        return true;
    if (n != 3)
        return false;
    for (const char *p = java; *p; p += p[3] ? 4 : 3)
        if (memcmp(p, zone, 3) == 0)
            return true;
    return false;
}

int jobs__cron_check_zone(const char *zone)
{
    char q[64];
    if (!zone)
        return jobs__error(JOBS_ECONFIG, "tz: the time zone is missing");
    size_t n = strnlen(zone, JOBS__CRON_TZ_MAX + 1);
    if (n == 0)
        return jobs__error(JOBS_ECONFIG, "tz: the time zone is empty; expected an IANA name "
                                         "such as Europe/Berlin or UTC");
    if (n > JOBS__CRON_TZ_MAX)
        return jobs__error(JOBS_ECONFIG, "tz: '%s' is longer than %d bytes",
                           quote(q, sizeof q, zone, 40), JOBS__CRON_TZ_MAX);
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)zone[i];
        if (!is_alnum(ch) && ch != '/' && ch != '_' && ch != '+' && ch != '-')
            return jobs__error(JOBS_ECONFIG,
                               "tz: '%s' has unexpected character '%c' at position %zu; expected "
                               "an IANA name such as Europe/Berlin",
                               quote(q, sizeof q, zone, n), (ch >= 0x20 && ch < 0x7f) ? ch : '?',
                               i + 1);
    }
    if (zone[0] == '/' || strstr(zone, "..") || strstr(zone, "//") || zone[n - 1] == '/')
        return jobs__error(JOBS_ECONFIG,
                           "tz: '%s' is not a zone name (no leading or trailing '/', no '..'); "
                           "expected an IANA name such as Europe/Berlin",
                           quote(q, sizeof q, zone, n));
    UChar id[JOBS__CRON_TZ_MAX + 1], canon[128];
    int32_t len = to_uchars(id, zone, (int32_t)n);
    UBool system = 0;
    UErrorCode st = U_ZERO_ERROR;
    int32_t cn = ucal_getCanonicalTimeZoneID(id, len, canon, 128, &system, &st);
    static const UChar unknown[] = {'E', 't', 'c', '/', 'U', 'n', 'k', 'n', 'o', 'w', 'n'};
    if (U_FAILURE(st) || !system || icu_only_alias(zone, n) ||
        (cn == 11 && memcmp(canon, unknown, sizeof unknown) == 0))
        return jobs__error(JOBS_ECONFIG,
                           "tz: '%s' is not a known time zone; expected an IANA name such as "
                           "Europe/Berlin or UTC",
                           quote(q, sizeof q, zone, n));
    return 0;
}

int jobs__cron_compile(jobs__cron *out, const char *expr, const char *zone)
{
    if (!out)
        return jobs__error(JOBS_EINVAL, "cron: no output");
    if (!zone)
        zone = "UTC";
    jobs__cron c;
    int rc = jobs__cron_parse(&c, expr);
    if (rc)
        return rc;
    if ((rc = jobs__cron_check_zone(zone)))
        return rc;
    memset(c.zone, 0, sizeof c.zone);
    memcpy(c.zone, zone, strlen(zone));
    *out = c;
    return 0;
}

/* ---- per-thread calendars ---------------------------------------------------------------- */

#define CACHE_SLOTS 16

/* A stretch of time with one UTC offset: [from, to), between two transitions of the zone. */
typedef struct segment {
    int64_t from;     /* the transition that starts it (INT64_MIN: none known before) */
    int64_t to;       /* the next transition (INT64_MAX: none after) */
    int32_t offset;   /* seconds east of UTC inside the segment */
    int32_t previous; /* the offset just before `from` (== offset when from is INT64_MIN) */
} segment;

typedef struct zone_slot {
    char zone[JOBS__CRON_TZ_MAX + 1];
    UCalendar *cal;
    bool has_segment;
    segment seg; /* the last segment asked for: a tick asks for the same one over and over */
} zone_slot;

typedef struct cal_cache {
    zone_slot slot[CACHE_SLOTS];
    unsigned next; /* slot replaced next when all are used */
} cal_cache;

static pthread_key_t cache_key;
static pthread_once_t cache_once = PTHREAD_ONCE_INIT;
static int cache_key_ok;

static void cache_free(void *p)
{
    cal_cache *c = p;
    if (!c)
        return;
    for (int i = 0; i < CACHE_SLOTS; i++)
        if (c->slot[i].cal)
            ucal_close(c->slot[i].cal);
    jobs__free(c);
}

static void cache_init(void)
{
    cache_key_ok = pthread_key_create(&cache_key, cache_free) == 0;
}

void jobs__cron_thread_cleanup(void)
{
    pthread_once(&cache_once, cache_init);
    if (!cache_key_ok)
        return;
    cache_free(pthread_getspecific(cache_key));
    pthread_setspecific(cache_key, NULL);
}

/* The calling thread's slot for `zone`, its calendar opened on first use. */
static int zone_slot_for(zone_slot **out, const char *zone)
{
    pthread_once(&cache_once, cache_init);
    if (!cache_key_ok)
        return jobs__error(JOBS_ENOMEM, "cron: no thread-local storage for the calendar cache");
    cal_cache *c = pthread_getspecific(cache_key);
    if (!c) {
        if (!(c = jobs__malloc(sizeof *c)))
            return jobs__error(JOBS_ENOMEM, "out of memory");
        memset(c, 0, sizeof *c);
        if (pthread_setspecific(cache_key, c) != 0) {
            jobs__free(c);
            return jobs__error(JOBS_ENOMEM, "out of memory");
        }
    }
    for (int i = 0; i < CACHE_SLOTS; i++) {
        if (c->slot[i].cal && strcmp(c->slot[i].zone, zone) == 0) {
            *out = &c->slot[i];
            return 0;
        }
    }
    size_t n = strnlen(zone, JOBS__CRON_TZ_MAX + 1);
    if (n == 0 || n > JOBS__CRON_TZ_MAX)
        return jobs__error(JOBS_ECONFIG, "tz: the zone name is empty or too long");
    UChar id[JOBS__CRON_TZ_MAX + 1];
    int32_t len = to_uchars(id, zone, (int32_t)n);
    UErrorCode st = U_ZERO_ERROR;
    UCalendar *cal = ucal_open(id, len, "en_US_POSIX", UCAL_GREGORIAN, &st);
    if (U_FAILURE(st) || !cal) {
        if (cal)
            ucal_close(cal);
        return jobs__error(st == U_MEMORY_ALLOCATION_ERROR ? JOBS_ENOMEM : JOBS_ECONFIG,
                           "tz: ICU cannot open the time zone '%s': %s", zone, u_errorName(st));
    }
    /* An id ICU does not know opens as "Etc/Unknown" (GMT) without an error: never compute in
     * it. Zones are checked when stored; this catches one that ICU's data no longer has. */
    UChar got[JOBS__CRON_TZ_MAX + 1];
    int32_t got_len = ucal_getTimeZoneID(cal, got, JOBS__CRON_TZ_MAX + 1, &st);
    if (U_FAILURE(st) || got_len != len || memcmp(got, id, (size_t)len * sizeof(UChar)) != 0) {
        ucal_close(cal);
        return jobs__error(JOBS_ECONFIG, "tz: '%s' is not a known time zone", zone);
    }
    zone_slot *z = &c->slot[c->next];
    c->next = (c->next + 1) % CACHE_SLOTS;
    if (z->cal)
        ucal_close(z->cal);
    memset(z, 0, sizeof *z);
    z->cal = cal;
    memcpy(z->zone, zone, n + 1);
    *out = z;
    return 0;
}

/* ---- calendar arithmetic on local minutes ------------------------------------------------ */

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = floor_div(y, 400);
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    z += 719468;
    int64_t era = floor_div(z, 146097);
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

/* The lowest set bit of `bits` at index >= from, or -1. */
static int next_bit(uint64_t bits, int from)
{
    if (from >= 64)
        return -1;
    uint64_t m = bits & (~UINT64_C(0) << from);
    return m ? __builtin_ctzll(m) : -1;
}

static bool day_matches(const jobs__cron *c, int64_t day, int d)
{
    int wd = (int)(((day % 7) + 11) % 7); /* 1970-01-01 was a Thursday (4) */
    bool md = (c->mdays >> d) & 1u, w = (c->wdays >> wd) & 1u;
    if (c->flags & (JOBS__CRON_MDAY_STAR | JOBS__CRON_WDAY_STAR))
        return md && w;
    return md || w;
}

#define SEARCH_NONE INT64_MIN
/* Local minutes (since 1970-01-01 00:00 local) of the last minute of year 9999. */
#define LOCAL_MINUTE_MAX (INT64_C(253402300799) / 60)

/* The first matching local minute in [from, limit), or SEARCH_NONE. */
static int64_t search(const jobs__cron *c, int64_t from, int64_t limit)
{
    if (limit > LOCAL_MINUTE_MAX + 1)
        limit = LOCAL_MINUTE_MAX + 1;
    int64_t day = floor_div(from, 1440);
    int rem = (int)(from - day * 1440), h = rem / 60, mi = rem % 60;
    int64_t y;
    int m, d;
    civil_from_days(day, &y, &m, &d);
    for (;;) {
        if (day * 1440 >= limit)
            return SEARCH_NONE;
        if (!((c->months >> m) & 1u)) {
            int nm = next_bit(c->months, m + 1);
            if (nm < 0) {
                y++;
                nm = next_bit(c->months, 1);
            }
            m = nm;
            d = 1;
            h = mi = 0;
            day = days_from_civil(y, m, d);
            continue;
        }
        int dim = days_in_month(y, m);
        if (d > dim || !day_matches(c, day, d)) {
            int nd = d + 1;
            /* The day of month alone decides: jump to its next set bit. */
            if ((c->flags & JOBS__CRON_WDAY_STAR) && c->wdays == 0x7f) {
                nd = next_bit(c->mdays, d + 1);
                if (nd < 0)
                    nd = 32;
            }
            if (nd > dim) {
                if (++m > 12) {
                    m = 1;
                    y++;
                }
                d = 1;
            } else {
                d = nd;
            }
            h = mi = 0;
            day = days_from_civil(y, m, d);
            continue;
        }
        int nh = next_bit(c->hours, h);
        if (nh < 0) {
            h = mi = 0;
            day++;
            if (++d > dim) {
                if (++m > 12) {
                    m = 1;
                    y++;
                }
                d = 1;
            }
            continue;
        }
        if (nh != h) {
            h = nh;
            mi = 0;
        }
        int nmin = next_bit(c->minutes, mi);
        if (nmin < 0) {
            h++;
            mi = 0;
            if (h == 24) {
                h = 0;
                day++;
                if (++d > dim) {
                    if (++m > 12) {
                        m = 1;
                        y++;
                    }
                    d = 1;
                }
            }
            continue;
        }
        int64_t r = day * 1440 + h * 60 + nmin;
        return r < limit ? r : SEARCH_NONE;
    }
}

/* ---- next run ---------------------------------------------------------------------------- */

/* The zone's total UTC offset at Unix time t, in seconds. */
static int offset_at(UCalendar *cal, int64_t t, int32_t *out)
{
    UErrorCode st = U_ZERO_ERROR;
    ucal_setMillis(cal, (UDate)t * 1000.0, &st);
    int32_t z = ucal_get(cal, UCAL_ZONE_OFFSET, &st);
    int32_t dst = ucal_get(cal, UCAL_DST_OFFSET, &st);
    if (U_FAILURE(st))
        return jobs__error(JOBS_ECONFIG, "tz: ICU cannot compute an offset: %s", u_errorName(st));
    *out = (int32_t)floor_div((int64_t)z + dst, 1000);
    return 0;
}

/* The zone's transition before-or-at / after the calendar's current time, in Unix seconds. */
static bool transition(UCalendar *cal, UTimeZoneTransitionType type, int64_t *out)
{
    UErrorCode st = U_ZERO_ERROR;
    UDate when = 0;
    if (!ucal_getTimeZoneTransitionDate(cal, type, &when, &st) || U_FAILURE(st))
        return false;
    *out = floor_div((int64_t)when, 1000);
    return true;
}

/* The segment holding Unix time u: from the slot's cache, or from ICU (then cached). */
static int segment_at(zone_slot *z, int64_t u, segment *out)
{
    if (z->has_segment && u >= z->seg.from && u < z->seg.to) {
        *out = z->seg;
        return 0;
    }
    segment g;
    int rc = offset_at(z->cal, u, &g.offset); /* leaves the calendar at u */
    if (rc)
        return rc;
    if (!transition(z->cal, UCAL_TZ_TRANSITION_PREVIOUS_INCLUSIVE, &g.from))
        g.from = INT64_MIN;
    if (!transition(z->cal, UCAL_TZ_TRANSITION_NEXT, &g.to))
        g.to = INT64_MAX;
    g.previous = g.offset;
    if (g.from != INT64_MIN && (rc = offset_at(z->cal, g.from - 1, &g.previous)))
        return rc;
    z->seg = g;
    z->has_segment = true;
    *out = g;
    return 0;
}

static int64_t ceil_div60(int64_t a)
{
    return floor_div(a + 59, 60);
}

int jobs__cron_next(int64_t *out, const jobs__cron *c, int64_t t)
{
    if (!out || !c)
        return jobs__error(JOBS_EINVAL, "cron: no schedule or no output");
    if (t < 0 || t > JOBS__CRON_TIME_MAX)
        return jobs__error(JOBS_ERANGE, "cron: time %lld is outside 1970-9999", (long long)t);
    zone_slot *z = NULL;
    int rc = zone_slot_for(&z, c->zone);
    if (rc)
        return rc;
    /* u: where the scan goes on, an instant; not rounded to a minute of UTC, as a zone whose
     * offset has seconds (Africa/Monrovia's -0:44:30 until 1972) has its minutes elsewhere:
     * each segment's search rounds up to a whole minute of its own offset. */
    int64_t u = t + 1;
    /* One segment between transitions per round; zones have a few transitions a year. */
    for (int round = 0; round < 100000 && u <= JOBS__CRON_TIME_MAX; round++) {
        segment g;
        if ((rc = segment_at(z, u, &g)))
            return rc;
        int64_t start = u;
        /* first: the first whole minute of the new offset at or after a forward change (only
         * then computed: a zone without changes has from = INT64_MIN). */
        int64_t first = g.offset > g.previous ? ceil_div60(g.from + g.offset) * 60 - g.offset : 0;
        if (g.offset > g.previous && u <= first) {
            /* A forward change: a match on a skipped local minute runs once, at the first
             * whole minute at or after the change (the change itself, or a little later when
             * it is not on one: Africa/Monrovia's end of -0:44:30 in 1972). */
            if (search(c, ceil_div60(g.from + g.previous), ceil_div60(g.from + g.offset)) !=
                SEARCH_NONE) {
                *out = first;
                return 0;
            }
        } else if (g.offset < g.previous && !(c->flags & JOBS__CRON_HOUR_STAR) &&
                   g.from + (g.previous - g.offset) > start) {
            /* A backward change: the repeated local times ran in the previous segment. */
            start = g.from + (g.previous - g.offset);
        }
        if (start < g.to) {
            int64_t limit = g.to == INT64_MAX ? INT64_MAX : ceil_div60(g.to + g.offset);
            int64_t l = search(c, ceil_div60(start + g.offset), limit);
            if (l != SEARCH_NONE) {
                int64_t r = l * 60 - g.offset;
                if (r > JOBS__CRON_TIME_MAX)
                    break;
                *out = r;
                return 0;
            }
        }
        if (g.to == INT64_MAX)
            break;
        u = g.to;
    }
    return jobs__error(JOBS_ENOTFOUND, "cron: no run before the year 10000");
}
