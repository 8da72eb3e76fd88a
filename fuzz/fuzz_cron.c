/* fuzz_cron: cron expressions and zone names (lib/cron.c) from arbitrary bytes.
 *
 * The input is an expression, then optionally '\n' and a zone name (none: UTC); at most 300 and
 * 100 bytes are used, enough to cross both length limits. Either both are accepted or the answer
 * is JOBS_ECONFIG with a detail that starts with "cron: " or "tz: "; a refusal leaves the output
 * untouched. An accepted expression has a non-empty set in every field, each inside its range,
 * and the zone as given. Its next runs from a few instants taken from the input are whole
 * minutes of the zone (docs/schedules.md: of UTC too, but where the zone's offset had seconds,
 * as Africa/Monrovia's -0:44:30 until 1972-01-07), strictly later, answered again when asked
 * from one second before, and never earlier from a later instant. */
#include "fuzz.h"

#include <string.h>

#include <unicode/ucal.h>
#include <unicode/ustring.h>

#include "cron.h"
#include "jobs.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    return 0;
}

/* The zone's offset from UTC at Unix time t, in seconds, from ICU directly. */
static int64_t zone_offset(const char *zone, int64_t t)
{
    UChar id[JOBS__CRON_TZ_MAX + 1];
    UErrorCode st = U_ZERO_ERROR;
    UCalendar *cal;
    int32_t ms;

    u_uastrncpy(id, zone, JOBS__CRON_TZ_MAX + 1);
    cal = ucal_open(id, -1, "en_US", UCAL_GREGORIAN, &st);
    ucal_setMillis(cal, (UDate)t * 1000.0, &st);
    ms = ucal_get(cal, UCAL_ZONE_OFFSET, &st) + ucal_get(cal, UCAL_DST_OFFSET, &st);
    FUZZ_CHECK(U_SUCCESS(st));
    ucal_close(cal);
    return ms / 1000;
}

static void check_next(const jobs__cron *c, int64_t t)
{
    int64_t r = 0, r2 = 0, r3 = 0;
    int rc = jobs__cron_next(&r, c, t);
    FUZZ_CHECK(rc == 0 || rc == JOBS_ENOTFOUND);
    if (rc)
        return;
    FUZZ_CHECK(r > t && r <= JOBS__CRON_TIME_MAX);
    /* A whole minute of UTC, or else of the zone (an offset with seconds). */
    FUZZ_CHECK(r % 60 == 0 || (r + zone_offset(c->zone, r)) % 60 == 0);
    FUZZ_CHECK(jobs__cron_next(&r2, c, r - 1) == 0 && r2 == r);
    rc = jobs__cron_next(&r3, c, t + 1);
    FUZZ_CHECK(rc == 0 || rc == JOBS_ENOTFOUND);
    FUZZ_CHECK(rc != 0 || r3 >= r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char expr[301], zone[101];
    const uint8_t *nl = memchr(data, '\n', size);
    size_t elen = nl ? (size_t)(nl - data) : size;
    if (elen > 300)
        elen = 300;
    memcpy(expr, data, elen);
    expr[elen] = '\0';
    const char *zp = NULL;
    if (nl) {
        size_t zlen = size - (size_t)(nl + 1 - data);
        if (zlen > 100)
            zlen = 100;
        memcpy(zone, nl + 1, zlen);
        zone[zlen] = '\0';
        zp = zone;
    }

    jobs__cron c, before;
    memset(&c, 0x5a, sizeof c);
    before = c;
    int rc = jobs__cron_compile(&c, expr, zp);
    if (rc) {
        FUZZ_CHECK(rc == JOBS_ECONFIG);
        const char *d = jobs_error_last();
        FUZZ_CHECK(strncmp(d, "cron: ", 6) == 0 || strncmp(d, "tz: ", 4) == 0);
        FUZZ_CHECK(memcmp(&c, &before, sizeof c) == 0);
        return 0;
    }
    FUZZ_CHECK(c.minutes != 0 && c.minutes >> 60 == 0);
    FUZZ_CHECK(c.hours != 0 && c.hours >> 24 == 0);
    FUZZ_CHECK(c.mdays != 0 && (c.mdays & 1u) == 0);
    FUZZ_CHECK(c.months != 0 && (c.months & 0xe001u) == 0);
    FUZZ_CHECK(c.wdays != 0 && c.wdays >> 7 == 0);
    FUZZ_CHECK(strcmp(c.zone, zp ? zp : "UTC") == 0);
    FUZZ_CHECK(jobs__cron_check_zone(c.zone) == 0);

    /* Instants from the input: spread over 1970-2100, plus the edges. */
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < size; i++)
        h = (h ^ data[i]) * 1099511628211ull;
    check_next(&c, (int64_t)(h % 4102444800u));
    check_next(&c, (int64_t)((h >> 20) % 4102444800u));
    check_next(&c, 0);
    check_next(&c, JOBS__CRON_TIME_MAX - 3600);
    return 0;
}
