/**
 * @file jobs/common.h
 * @brief Export macro, version numbers and basic types shared by every libjobs header.
 */
#ifndef JOBS_COMMON_H
#define JOBS_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Marks a declaration that the shared library exports. */
#if defined(_WIN32)
#  if defined(JOBS_BUILDING_SHARED)
#    define JOBS_EXTERN __declspec(dllexport)
#  else
#    define JOBS_EXTERN
#  endif
#elif __GNUC__ >= 4
#  define JOBS_EXTERN __attribute__((visibility("default")))
#else
#  define JOBS_EXTERN
#endif

/** Major version: from 1.0 on, changes when the ABI breaks (it is then the shared library's
 * SOVERSION). Before 1.0 a minor version may break the ABI, and the SOVERSION is "0.minor". */
#define JOBS_VERSION_MAJOR 0
/** Minor version: changes when features are added compatibly. */
#define JOBS_VERSION_MINOR 4
/** Patch version: bug fixes only. */
#define JOBS_VERSION_PATCH 0
/** The version as one comparable number: major * 1000000 + minor * 1000 + patch. */
#define JOBS_VERSION_NUMBER \
    (JOBS_VERSION_MAJOR * 1000000 + JOBS_VERSION_MINOR * 1000 + JOBS_VERSION_PATCH)
/** The version as a string, "major.minor.patch". */
#define JOBS_VERSION_STRING "0.4.0"

/** The largest id libjobs assigns or accepts: 2^53 - 1, exact in a JSON (IEEE double) number. */
#define JOBS_ID_MAX ((uint64_t)9007199254740991ULL)

/** The longest name, in bytes (not counting a terminating NUL). */
#define JOBS_NAME_MAX 255

/** The owner id of public, built-in schedules. Users are owners 1..JOBS_ID_MAX. */
#define JOBS_OWNER_PUBLIC ((uint64_t)0)

/**
 * The version of the library the program runs with, as JOBS_VERSION_NUMBER computes it.
 *
 * Compare it with JOBS_VERSION_NUMBER to detect a header/library mismatch at run time.
 * Thread-safe; never fails.
 */
JOBS_EXTERN unsigned int jobs_version(void);

/** The version of the library the program runs with, as "major.minor.patch". Static storage. */
JOBS_EXTERN const char *jobs_version_string(void);

/**
 * Checks a name against the libjobs name rules: 1 to 255 bytes of valid UTF-8 with no control
 * character (U+0000..U+001F, U+007F). Overlong encodings and surrogates are invalid UTF-8.
 *
 * @param name  the bytes to check; may be NULL (invalid)
 * @param len   their length in bytes
 * @return true when the name is acceptable. Thread-safe.
 */
JOBS_EXTERN bool jobs_name_is_valid(const char *name, size_t len);

/** The longest idempotency key, in bytes. */
#define JOBS_IDEMPOTENCY_KEY_MAX 255
/** The longest request fingerprint kept with an idempotency key, in bytes (a SHA-256). */
#define JOBS_IDEMPOTENCY_FINGERPRINT_MAX 32
/** How long a key answers repeats: 24 hours, by the store's clock. */
#define JOBS_IDEMPOTENCY_TTL 86400

/**
 * An idempotency key for a create (jobs_create_idempotent(), jobs_schedule_create_idempotent()):
 * the first create with a key, per owner and kind, is remembered for JOBS_IDEMPOTENCY_TTL with
 * the request's fingerprint, in the same transaction as the create. A repeat with the same key
 * and fingerprint answers the first result and creates nothing; the same key with another
 * fingerprint is JOBS_EIDEMPOTENCY. The fingerprint is whatever identifies the request for the
 * host (HTTP: a hash of the body); libjobs only compares it.
 */
typedef struct jobs_idempotency {
    const char *key;                  /**< 1..JOBS_IDEMPOTENCY_KEY_MAX bytes, any */
    size_t key_len;                   /**< the key's length */
    const unsigned char *fingerprint; /**< 0..JOBS_IDEMPOTENCY_FINGERPRINT_MAX bytes */
    size_t fingerprint_len;           /**< the fingerprint's length */
} jobs_idempotency;

/** An allocator's malloc, as for jobs_replace_allocator(); the C library's by default. */
typedef void *(*jobs_malloc_fn)(size_t size);
/** An allocator's realloc, as for jobs_replace_allocator(). */
typedef void *(*jobs_realloc_fn)(void *ptr, size_t size);
/** An allocator's free, as for jobs_replace_allocator(). */
typedef void (*jobs_free_fn)(void *ptr);

/**
 * Replaces the functions libjobs allocates its own memory with: handles, pages, records and the
 * JSON layer's output strings (everything a `_free` function of libjobs frees). Like libuv's
 * uv_replace_allocator(): call it before any other libjobs function, or at least while libjobs
 * holds no memory (no store open, no page or string not yet freed); it is not thread-safe. The
 * functions must behave like the C library's: malloc and realloc may return NULL, which libjobs
 * reports as JOBS_ENOMEM. libjobs never asks for 0 bytes.
 *
 * LMDB's own allocations (inside its transactions) and cJSON's (while the JSON layer parses)
 * do not go through these; cJSON's can be redirected with cJSON_InitHooks(), which is global
 * to the process and therefore left to the host.
 *
 * @return 0, or JOBS_EINVAL when a function is NULL (nothing is changed).
 * @since 0.1.0
 */
JOBS_EXTERN int jobs_replace_allocator(jobs_malloc_fn malloc_fn, jobs_realloc_fn realloc_fn,
                                       jobs_free_fn free_fn);

#ifdef __cplusplus
}
#endif

#endif
