/**
 * @file fixture.h
 * @brief Test fixture: a store in a fresh temporary directory, with a fake clock.
 *
 * Use with cmocka:
 *
 *     cmocka_unit_test_setup_teardown(test_x, fx_setup, fx_teardown)
 *
 * and `fixture *fx = *state;` in the test. The fixture owns the directory (made with mkdtemp
 * under $TMPDIR, default /tmp) and removes it recursively on teardown, store and all.
 *
 * The helpers assert with cmocka, so call them from the test's own thread only. Threads call the
 * libjobs API directly and report back to the main thread.
 */
#ifndef JOBS_TEST_FIXTURE_H
#define JOBS_TEST_FIXTURE_H

#include <limits.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>

#include <cmocka.h>

#include "jobs.h"

/** The fake clock's time when a fixture starts (2023-11-14T22:13:20Z). */
#define FX_T0 ((int64_t)1700000000)

/** The built-in public schedules of a new store. */
enum fx_builtin_schedule {
    FX_EVERY_MINUTE = 1,     /**< period 60 */
    FX_EVERY_5_MINUTES = 2,  /**< period 300 */
    FX_EVERY_15_MINUTES = 3, /**< period 900 */
    FX_HOURLY = 4,           /**< period 3600 */
    FX_DAILY = 5             /**< period 86400 */
};

/** A temporary store. */
typedef struct fixture {
    char dir[PATH_MAX];       /**< the temporary directory, removed on teardown */
    char path[PATH_MAX];      /**< the store's directory: dir + "/store" */
    jobs_store_options opts;  /**< options for fx_open(); opts.path points at `path`,
                                   opts.lmdb at `lmdb` */
    jobs_options_lmdb lmdb;   /**< the LMDB backend's options (JOBS_NOSYNC_LMDB by default) */
    jobs_store *store;        /**< the open store, or NULL */
    _Atomic int64_t now;      /**< the fake clock's time (opts.clock answers it) */
    unsigned int seq;         /**< for generated names */
    char pg_schema[64];       /**< PostgreSQL (JOBS_TEST_STORE): the fixture's schema, else "" */
} fixture;

/**
 * Whether this run's stores are PostgreSQL databases (JOBS_TEST_STORE is set), not LMDB
 * directories: fx->path is then a URI, not a directory.
 */
bool fx_postgres(void);

/**
 * Skips the current test when the run is on PostgreSQL: for a test of an LMDB-only behaviour
 * (files in a directory, one handle per process, LMDB's own keys). Give the reason beside it.
 */
#define FX_LMDB_ONLY()                                                                           \
    do {                                                                                         \
        if (fx_postgres())                                                                       \
            skip();                                                                              \
    } while (0)

/** Skips the current test unless the run is on PostgreSQL (a test of that backend only). */
#define FX_POSTGRES_ONLY()                                                                       \
    do {                                                                                         \
        if (!fx_postgres())                                                                      \
            skip();                                                                              \
    } while (0)

/**
 * PostgreSQL only: the number of rows of `table` in the fixture's schema, counted with libpq
 * behind the library's back (for what the API does not show, as LMDB tests count entries with
 * LMDB). Fails the test on any error, and when the run is not on PostgreSQL.
 */
uint64_t fx_pg_rows(fixture *fx, const char *table);

/**
 * A new fixture: fresh directory, options with JOBS_NOSYNC_LMDB and the fake clock at FX_T0,
 * store not yet open. With JOBS_TEST_STORE set (a PostgreSQL URI or conninfo), the store is a
 * fresh schema of that database instead (dropped by fx_free()). Asserts on failure.
 */
fixture *fx_new(void);

/** Closes the store (if open), removes the directory recursively, frees the fixture. NULL ok. */
void fx_free(fixture *fx);

/** cmocka setup: fx_new() + fx_open(). */
int fx_setup(void **state);

/** cmocka setup: fx_new() only; the test adjusts fx->opts and calls fx_open(). */
int fx_setup_closed(void **state);

/** cmocka setup: like fx_setup() but without JOBS_NOSYNC_LMDB (durable commits). */
int fx_setup_durable(void **state);

/** cmocka teardown for all of the above: fx_free(). */
int fx_teardown(void **state);

/**
 * jobs_store_open() with fx->opts into fx->store; returns its code. Every fixture store is
 * opened here: the one place where a test run chooses its backend (a second backend's switch,
 * such as a JOBS_TEST_STORE variable, goes here).
 */
int fx_try_open(fixture *fx);

/** Opens the store with fx->opts; asserts success. */
void fx_open(fixture *fx);

/** Closes the store (if open). */
void fx_close(fixture *fx);

/** Closes and opens the store again (same path, same options). */
void fx_reopen(fixture *fx);

/** The fake clock. Thread-safe. */
void fx_set_time(fixture *fx, int64_t now);
int64_t fx_time(fixture *fx);
void fx_advance(fixture *fx, int64_t seconds);

/** The clock function fx_new() installs; ctx is the fixture. Thread-safe. */
int64_t fx_clock(void *ctx);

/** Creates a stack (name generated, unique) and returns its id; asserts success. */
uint64_t fx_stack(fixture *fx, uint64_t owner, bool is_public);

/** Creates a periodic schedule and returns its id; asserts success. */
uint64_t fx_periodic(fixture *fx, uint64_t owner, int64_t period);

/** Creates a one-time schedule and returns its id; asserts success. */
uint64_t fx_once(fixture *fx, uint64_t owner, int64_t timestamp);

/** Creates a job (name may be NULL) and returns its id; asserts success. */
uint64_t fx_job(fixture *fx, uint64_t owner, const char *name, uint64_t stack,
                uint64_t schedule, bool enabled);

/** jobs_get(); asserts success. Free the result with jobs_job_free(). */
jobs_job *fx_get(fixture *fx, uint64_t owner, uint64_t id);

/** The owner's job count as jobs_list() reports it; asserts success. */
uint64_t fx_count(fixture *fx, uint64_t owner);

/** The store's job count (all owners) as jobs_store_stat() reports it; asserts success. */
uint64_t fx_stat_jobs(fixture *fx);

/** Asserts that two jobs are equal in every field (next_run only when active). */
void fx_assert_job_equal(const jobs_job *a, const jobs_job *b);

/** Asserts that two names (NULL or strings) are equal. */
void fx_assert_name_equal(const char *a, const char *b);

/** Counts events of a tick: the callback stores up to FX_MAX_EVENTS copies (names dropped). */
#define FX_MAX_EVENTS 256
typedef struct fx_events {
    size_t n;                         /**< events delivered */
    jobs_event ev[FX_MAX_EVENTS];     /**< the first FX_MAX_EVENTS of them; name set to NULL */
    bool named[FX_MAX_EVENTS];        /**< whether the event had a name */
    int stop_after;                   /**< return `stop_code` after this many (0: never) */
    int stop_code;
} fx_events;

/** A jobs_event_fn that records into a fx_events (ctx). */
int fx_record_event(const jobs_event *event, void *ctx);

/** Runs jobs_scheduler_tick(now, no limit) recording into `events` (reset first); asserts 0. */
void fx_tick(fixture *fx, int64_t now, fx_events *events);

#endif
