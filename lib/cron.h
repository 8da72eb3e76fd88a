/* Cron expressions in a time zone: parsing into bitsets, zone checks, and the next run.
 *
 * Internal to the library. The rules (syntax, daylight-saving behaviour, time-zone data) are
 * written for users in docs/schedules.md; this header states the contract of each call.
 *
 * A schedule of kind cron stores two strings as the user gave them: the expression (at most
 * JOBS__CRON_EXPR_MAX bytes) and the IANA zone name (at most JOBS__CRON_TZ_MAX bytes). They are
 * the canonical form: the compiled jobs__cron below is derived from them (jobs__cron_compile)
 * whenever a record is loaded, so the stored form never depends on this module's layout. */
#ifndef JOBS_LIB_CRON_H
#define JOBS_LIB_CRON_H

#include <stdbool.h>
#include <stdint.h>

/* Longest expression and zone name accepted, in bytes, without the terminating NUL. */
#define JOBS__CRON_EXPR_MAX 255
#define JOBS__CRON_TZ_MAX 64

/* Unix seconds range next-run computations accept and answer: 1970-01-01 to 9999-12-31. */
#define JOBS__CRON_TIME_MAX INT64_C(253402300799)

/* Bits of jobs__cron.flags. */
enum {
    JOBS__CRON_MDAY_STAR = 1u << 0, /* day-of-month field starts with '*': unrestricted */
    JOBS__CRON_WDAY_STAR = 1u << 1, /* day-of-week field starts with '*': unrestricted */
    JOBS__CRON_HOUR_STAR = 1u << 2  /* hour field starts with '*': runs in both occurrences of a
                                       repeated (fall-back) hour */
};

/* A compiled expression and its zone. Plain data: copy it freely between threads. */
typedef struct jobs__cron {
    uint64_t minutes; /* bit m: minute m, 0-59 */
    uint32_t hours;   /* bit h: hour h, 0-23 */
    uint32_t mdays;   /* bit d: day of month d, 1-31 */
    uint16_t months;  /* bit m: month m, 1-12 */
    uint8_t wdays;    /* bit d: weekday d, 0 = Sunday .. 6 = Saturday (7 is folded into 0) */
    uint8_t flags;    /* JOBS__CRON_* bits */
    char zone[JOBS__CRON_TZ_MAX + 1]; /* the zone name as given, NUL-terminated */
} jobs__cron;

/* Parses `expr` (5 fields or an @-macro) into out's bitsets and flags; out->zone is left
 * unchanged. 0, or JOBS_ECONFIG with a jobs__error() detail naming the field, the item and what
 * was expected ("cron: field 2 (hour) '25' is outside 0-23"). Also refuses an expression that
 * can never match (day 30 in February only). Thread-safe; never allocates. */
int jobs__cron_parse(jobs__cron *out, const char *expr);

/* Checks that `zone` names a time zone ICU knows (an IANA name or one of its aliases; "UTC"
 * included): 0, or JOBS_ECONFIG with a detail starting "tz: ". Refuses names longer than
 * JOBS__CRON_TZ_MAX, names with "..", a leading '/', or characters outside [A-Za-z0-9/_+-].
 * Thread-safe. */
int jobs__cron_check_zone(const char *zone);

/* jobs__cron_parse() and jobs__cron_check_zone() together, the zone copied into out->zone.
 * A NULL zone means "UTC". */
int jobs__cron_compile(jobs__cron *out, const char *expr, const char *zone);

/* The first run strictly after Unix time `t` (0 <= t <= JOBS__CRON_TIME_MAX), in Unix seconds
 * (always a whole minute of the zone: of UTC too but where the offset had seconds, as
 * Africa/Monrovia's until 1972), following the daylight-saving rules of docs/schedules.md:
 *  - a matching local time that does not exist (skipped by a forward change) runs once, at the
 *    first instant after the gap;
 *  - a local time that occurs twice (backward change) runs at its first occurrence only, unless
 *    the hour field starts with '*', in which case it runs at both.
 * 0; JOBS_ENOTFOUND when there is no run up to year 9999; JOBS_ERANGE for t outside the range;
 * JOBS_ECONFIG when the zone cannot be loaded; JOBS_ENOMEM.
 * Thread-safe: each thread keeps its own small cache of ICU calendars, one per zone, freed when
 * the thread exits. Costs microseconds (no calendar is opened when the zone is cached). */
int jobs__cron_next(int64_t *out, const jobs__cron *cron, int64_t t);

/* Frees the calling thread's calendar cache now (it is also freed at thread exit). */
void jobs__cron_thread_cleanup(void);

#endif
