/* Internal helpers shared by the library's modules: allocation, errors, byte order. */
#ifndef JOBS_LIB_UTIL_H
#define JOBS_LIB_UTIL_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "jobs.h"

#if defined(__GNUC__)
#  define JOBS__PRINTF(f, a) __attribute__((format(printf, f, a)))
#  define JOBS__UNLIKELY(x) __builtin_expect(!!(x), 0)
#else
#  define JOBS__PRINTF(f, a)
#  define JOBS__UNLIKELY(x) (x)
#endif

/* Every allocation of the library goes through these, so that one place can later be hooked
 * (fault injection, host allocators). */
void *jobs__malloc(size_t size);
void *jobs__realloc(void *ptr, size_t size);
void jobs__free(void *ptr);

/* Records the per-thread detail for jobs_error_last() and returns `code`, so a failure reads
 * `return jobs__error(JOBS_ENOTFOUND, "job %llu not found", id);`. */
int jobs__error(int code, const char *fmt, ...) JOBS__PRINTF(2, 3);
/* Bytes the calling thread's error message holds (jobs_error_last()), its NUL included; longer
 * ones are cut. */
#define JOBS__ERROR_MAX 512

/* The length of the valid UTF-8 sequence (RFC 3629: no overlong forms, no surrogates, nothing
 * above U+10FFFF) at s, of the n >= 1 bytes available; 0 when s does not start one. */
size_t jobs__utf8_seq_len(const unsigned char *s, size_t n);

/* The owner and id checks every public call starts with. */
int jobs__check_owner(uint64_t owner, int allow_public);
int jobs__check_id(uint64_t id, const char *what);
/* Checks an optional name (NULL is fine) against the name rules; sets *len. */
int jobs__check_name(const char *name, size_t *len);
/* Page arguments: page >= 1, page_size 0 (default) or 1..JOBS__PAGE_SIZE_MAX. */
#define JOBS__PAGE_SIZE_MAX 1000u
int jobs__check_page(uint64_t page, uint32_t page_size);

/* The time `ms` (>= 0) milliseconds from now on `clock`, for the timed waits of pthreads
 * (pthread_cond_timedwait on a condition variable of that clock, pthread_mutex_timedlock on
 * CLOCK_REALTIME). */
struct timespec jobs__deadline(clockid_t clock, int ms);

/* Big-endian 64-bit keys, read and written everywhere a key is built or parsed: one load or
 * store and a byte swap where the compiler has the builtin (a loop of shifts is not always
 * recognised as one), the plain loop elsewhere. */
#if defined(__GNUC__) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
static inline void jobs__be64_put(unsigned char *p, uint64_t v)
{
    v = __builtin_bswap64(v);
    memcpy(p, &v, 8);
}

static inline uint64_t jobs__be64_get(const unsigned char *p)
{
    uint64_t v;

    memcpy(&v, p, 8);
    return __builtin_bswap64(v);
}
#else
static inline void jobs__be64_put(unsigned char *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        p[i] = (unsigned char)(v & 0xff);
        v >>= 8;
    }
}

static inline uint64_t jobs__be64_get(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | p[i];
    return v;
}
#endif

#endif
