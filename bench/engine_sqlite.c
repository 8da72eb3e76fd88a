/* The SQLite 3 engine: one table with the job's columns, a unique index on (owner, name), an
 * index on (owner, id) for pages and one on (do_run, next_run) for the tick; WAL, prepared
 * statements, synchronous=FULL for durable writes, OFFSET pagination. It is tuned the way a
 * careful user would tune it (no mutexes, a 64 MiB page cache, the database memory-mapped), so
 * it is a fair, not a weak, baseline. A page does not count the owner's jobs (a COUNT(*) would
 * walk them all), which favours SQLite. */
#include <errno.h>
#include <inttypes.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bench.h"

typedef struct sq {
    char dir[4096], path[4200];
    sqlite3 *db;
    bench_params params;
    sqlite3_stmt *get_id, *get_name, *list, *insert, *rename, *remove, *due, *move, *count;
    sqlite3_stmt *begin, *commit;
} sq;

static BENCH_NORETURN void sq_fail(sq *e, const char *what)
{
    bench_fail("SQLite: %s: %s", what, sqlite3_errmsg(e->db));
}

static void sq_exec(sq *e, const char *sql)
{
    char *msg = NULL;

    if (sqlite3_exec(e->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        char copy[256];

        snprintf(copy, sizeof(copy), "%s", msg ? msg : "?");
        sqlite3_free(msg);
        bench_fail("SQLite: %s: %s", sql, copy);
    }
}

static sqlite3_stmt *sq_prepare(sq *e, const char *sql)
{
    sqlite3_stmt *st;

    if (sqlite3_prepare_v3(e->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK)
        sq_fail(e, sql);
    return st;
}

/* Steps a statement that returns no row, then resets it. */
static void sq_done(sq *e, sqlite3_stmt *st, const char *what)
{
    if (sqlite3_step(st) != SQLITE_DONE)
        sq_fail(e, what);
    sqlite3_reset(st);
}

static void *sq_open(const char *dir, const bench_params *params)
{
    sq *e = bench_malloc(sizeof(*e));

    memset(e, 0, sizeof(*e));
    e->params = *params;
    bench_path(e->dir, sizeof(e->dir), dir, "sqlite");
    if (mkdir(e->dir, 0700) != 0)
        bench_fail("SQLite: cannot create '%s': %s", e->dir, strerror(errno));
    bench_path(e->path, sizeof(e->path), e->dir, "jobs.db");
    if (sqlite3_open_v2(e->path, &e->db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        NULL) != SQLITE_OK)
        sq_fail(e, "sqlite3_open_v2");
    sq_exec(e, "PRAGMA journal_mode=WAL");
    sq_exec(e, "PRAGMA synchronous=OFF");
    sq_exec(e, "PRAGMA cache_size=-65536");
    sq_exec(e, "PRAGMA mmap_size=2147418112");
    sq_exec(e, "CREATE TABLE jobs(id INTEGER PRIMARY KEY, owner INTEGER NOT NULL, name TEXT,"
               " stack INTEGER NOT NULL, schedule INTEGER NOT NULL, next_run INTEGER NOT NULL,"
               " do_run INTEGER NOT NULL, do_del INTEGER NOT NULL)");
    sq_exec(e, "CREATE UNIQUE INDEX jobs_owner_name ON jobs(owner, name)");
    sq_exec(e, "CREATE INDEX jobs_owner_id ON jobs(owner, id)");
    sq_exec(e, "CREATE INDEX jobs_due ON jobs(do_run, next_run)");
    e->get_id = sq_prepare(e, "SELECT owner, name, stack, schedule, next_run, do_run, do_del"
                              " FROM jobs WHERE id = ?1 AND owner = ?2");
    e->get_name = sq_prepare(e, "SELECT id, owner, name, stack, schedule, next_run, do_run,"
                                " do_del FROM jobs WHERE owner = ?1 AND name = ?2");
    e->list = sq_prepare(e, "SELECT id, owner, name, stack, schedule, next_run, do_run, do_del"
                            " FROM jobs WHERE owner = ?1 ORDER BY id LIMIT ?2 OFFSET ?3");
    e->insert = sq_prepare(e, "INSERT INTO jobs(id, owner, name, stack, schedule, next_run,"
                              " do_run, do_del) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, 0)");
    e->rename = sq_prepare(e, "UPDATE jobs SET name = ?3 WHERE id = ?1 AND owner = ?2");
    e->remove = sq_prepare(e, "DELETE FROM jobs WHERE id = ?1 AND owner = ?2");
    e->due = sq_prepare(e, "SELECT id, owner, name, stack, schedule, next_run FROM jobs"
                           " WHERE do_run = 1 AND next_run <= ?1 ORDER BY next_run, id");
    e->move = sq_prepare(e, "UPDATE jobs SET next_run = ?2 WHERE id = ?1");
    e->count = sq_prepare(e, "SELECT count(*) FROM jobs");
    e->begin = sq_prepare(e, "BEGIN IMMEDIATE");
    e->commit = sq_prepare(e, "COMMIT");
    return e;
}

static void sq_close(void *arg)
{
    sq *e = arg;
    sqlite3_stmt *all[] = {e->get_id, e->get_name, e->list, e->insert, e->rename, e->remove,
                           e->due, e->move, e->count, e->begin, e->commit};

    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        sqlite3_finalize(all[i]);
    sqlite3_close(e->db);
    free(e);
}

static void sq_set_durable(void *arg, bool durable)
{
    sq *e = arg;

    sq_exec(e, durable ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=OFF");
}

static void bind_insert(sq *e, const bench_job *j)
{
    sqlite3_stmt *st = e->insert;

    sqlite3_bind_int64(st, 1, (sqlite3_int64)j->id);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)j->owner);
    sqlite3_bind_text(st, 3, j->name, (int)j->name_len, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, (sqlite3_int64)e->params.stack);
    sqlite3_bind_int64(st, 5, (sqlite3_int64)e->params.schedule);
    sqlite3_bind_int64(st, 6, j->enabled ? j->next_run : 0);
    sqlite3_bind_int(st, 7, j->enabled ? 1 : 0);
}

static void sq_load(void *arg, const bench_job *jobs, size_t n)
{
    sq *e = arg;

    sq_done(e, e->begin, "BEGIN");
    for (size_t i = 0; i < n; i++) {
        bind_insert(e, &jobs[i]);
        sq_done(e, e->insert, "INSERT");
    }
    sq_done(e, e->commit, "COMMIT");
}

/* Checks the row a statement is on; `off` is the column of the owner. */
static void check_row(sqlite3_stmt *st, int off, const bench_job *want, const char *what)
{
    const unsigned char *name = sqlite3_column_text(st, off + 1);
    int len = sqlite3_column_bytes(st, off + 1);

    if ((uint64_t)sqlite3_column_int64(st, off) != want->owner || !name ||
        (size_t)len != want->name_len || memcmp(name, want->name, want->name_len) != 0)
        bench_fail("SQLite: %s %" PRIu64 " answered a wrong row", what, want->id);
    /* Read every column, as a caller filling a job would. */
    (void)sqlite3_column_int64(st, off + 2);
    (void)sqlite3_column_int64(st, off + 3);
    (void)sqlite3_column_int64(st, off + 4);
    (void)sqlite3_column_int(st, off + 5);
    (void)sqlite3_column_int(st, off + 6);
}

static void sq_get_by_id(void *arg, const bench_job *keys, size_t nkeys, size_t start,
                         size_t count)
{
    sq *e = arg;
    sqlite3_stmt *st = e->get_id;

    for (size_t i = 0; i < count; i++) {
        const bench_job *k = &keys[(start + i) % nkeys];

        sqlite3_bind_int64(st, 1, (sqlite3_int64)k->id);
        sqlite3_bind_int64(st, 2, (sqlite3_int64)k->owner);
        if (sqlite3_step(st) != SQLITE_ROW)
            sq_fail(e, "get by id");
        check_row(st, 0, k, "get by id");
        sqlite3_reset(st);
    }
}

static void sq_get_by_name(void *arg, const bench_job *keys, size_t nkeys, size_t start,
                           size_t count)
{
    sq *e = arg;
    sqlite3_stmt *st = e->get_name;

    for (size_t i = 0; i < count; i++) {
        const bench_job *k = &keys[(start + i) % nkeys];

        sqlite3_bind_int64(st, 1, (sqlite3_int64)k->owner);
        sqlite3_bind_text(st, 2, k->name, (int)k->name_len, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_ROW)
            sq_fail(e, "get by name");
        if ((uint64_t)sqlite3_column_int64(st, 0) != k->id)
            bench_fail("SQLite: name '%s' answered a wrong id", k->name);
        check_row(st, 1, k, "get by name");
        sqlite3_reset(st);
    }
}

static void sq_list(void *arg, const bench_page *pages, size_t npages, size_t start,
                    size_t count)
{
    sq *e = arg;
    sqlite3_stmt *st = e->list;

    for (size_t i = 0; i < count; i++) {
        const bench_page *want = &pages[(start + i) % npages];
        size_t got = 0;
        int rc;

        sqlite3_bind_int64(st, 1, (sqlite3_int64)want->owner);
        sqlite3_bind_int(st, 2, BENCH_PAGE_SIZE);
        sqlite3_bind_int64(st, 3, (sqlite3_int64)((want->page - 1) * BENCH_PAGE_SIZE));
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
            uint64_t id = (uint64_t)sqlite3_column_int64(st, 0);

            if (got >= want->n || id != want->ids[got] ||
                (uint64_t)sqlite3_column_int64(st, 1) != want->owner)
                bench_fail("SQLite: page %" PRIu64 " of owner %" PRIu64 " holds job %" PRIu64
                           " at %zu", want->page, want->owner, id, got);
            (void)sqlite3_column_text(st, 2);
            (void)sqlite3_column_int64(st, 3);
            (void)sqlite3_column_int64(st, 4);
            (void)sqlite3_column_int64(st, 5);
            (void)sqlite3_column_int(st, 6);
            (void)sqlite3_column_int(st, 7);
            got++;
        }
        if (rc != SQLITE_DONE)
            sq_fail(e, "list");
        if (got != want->n)
            bench_fail("SQLite: page %" PRIu64 " of owner %" PRIu64 " has %zu jobs, expected %zu",
                       want->page, want->owner, got, want->n);
        sqlite3_reset(st);
    }
}

/* Durable writes: each statement in autocommit mode is its own transaction. */
static void sq_create(void *arg, const bench_job *jobs, size_t n)
{
    sq *e = arg;

    for (size_t i = 0; i < n; i++) {
        bind_insert(e, &jobs[i]);
        sq_done(e, e->insert, "INSERT");
    }
}

static void sq_update(void *arg, const bench_job *jobs, size_t n)
{
    sq *e = arg;
    sqlite3_stmt *st = e->rename;

    for (size_t i = 0; i < n; i++) {
        sqlite3_bind_int64(st, 1, (sqlite3_int64)jobs[i].id);
        sqlite3_bind_int64(st, 2, (sqlite3_int64)jobs[i].owner);
        sqlite3_bind_text(st, 3, jobs[i].name, (int)jobs[i].name_len, SQLITE_STATIC);
        sq_done(e, st, "UPDATE");
        if (sqlite3_changes(e->db) != 1)
            bench_fail("SQLite: renaming job %" PRIu64 " changed no row", jobs[i].id);
    }
}

static void sq_remove(void *arg, const bench_job *jobs, size_t n)
{
    sq *e = arg;
    sqlite3_stmt *st = e->remove;

    for (size_t i = 0; i < n; i++) {
        sqlite3_bind_int64(st, 1, (sqlite3_int64)jobs[i].id);
        sqlite3_bind_int64(st, 2, (sqlite3_int64)jobs[i].owner);
        sq_done(e, st, "DELETE");
        if (sqlite3_changes(e->db) != 1)
            bench_fail("SQLite: deleting job %" PRIu64 " changed no row", jobs[i].id);
    }
}

static bool sq_exists(void *arg, const bench_job *job)
{
    sq *e = arg;
    sqlite3_stmt *st = e->get_id;
    int rc;

    sqlite3_bind_int64(st, 1, (sqlite3_int64)job->id);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)job->owner);
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        sq_fail(e, "get by id");
    return rc == SQLITE_ROW;
}

typedef struct sq_due {
    uint64_t id;
    int64_t slot;
} sq_due;

static void sq_tick(void *arg, int64_t now0, int64_t step, size_t ticks, size_t due)
{
    sq *e = arg;
    sq_due *taken = bench_malloc((due + 1) * sizeof(*taken));

    for (size_t t = 1; t <= ticks; t++) {
        int64_t now = now0 + (int64_t)t * step;
        size_t n = 0;
        int rc;

        sq_done(e, e->begin, "BEGIN");
        sqlite3_bind_int64(e->due, 1, now);
        while (n <= due && (rc = sqlite3_step(e->due)) == SQLITE_ROW) {
            taken[n].id = (uint64_t)sqlite3_column_int64(e->due, 0);
            taken[n].slot = sqlite3_column_int64(e->due, 5);
            /* What the host's event needs. */
            (void)sqlite3_column_int64(e->due, 1);
            (void)sqlite3_column_text(e->due, 2);
            (void)sqlite3_column_int64(e->due, 3);
            (void)sqlite3_column_int64(e->due, 4);
            n++;
        }
        sqlite3_reset(e->due);
        if (n != due)
            bench_fail("SQLite: tick at %" PRId64 " found %s%zu due jobs, expected %zu", now,
                       n > due ? "more than " : "", n > due ? due : n, due);
        for (size_t i = 0; i < n; i++) {
            if (taken[i].slot <= now - step)
                bench_fail("SQLite: tick at %" PRId64 " found job %" PRIu64 " due since %" PRId64,
                           now, taken[i].id, taken[i].slot);
            sqlite3_bind_int64(e->move, 1, (sqlite3_int64)taken[i].id);
            sqlite3_bind_int64(e->move, 2,
                               bench_next_slot(taken[i].slot, e->params.period, now));
            sq_done(e, e->move, "UPDATE next_run");
        }
        sq_done(e, e->commit, "COMMIT");
    }
    free(taken);
}

static uint64_t sq_count(void *arg)
{
    sq *e = arg;
    uint64_t n;

    if (sqlite3_step(e->count) != SQLITE_ROW)
        sq_fail(e, "count");
    n = (uint64_t)sqlite3_column_int64(e->count, 0);
    sqlite3_reset(e->count);
    return n;
}

static uint64_t sq_disk_bytes(void *arg)
{
    sq *e = arg;
    char wal[4300];

    sq_exec(e, "PRAGMA wal_checkpoint(TRUNCATE)");
    snprintf(wal, sizeof(wal), "%s-wal", e->path);
    return bench_file_size(e->path) + bench_file_size(wal);
}

static int64_t sq_pragma(sq *e, const char *sql)
{
    sqlite3_stmt *st = sq_prepare(e, sql);
    int64_t v;

    if (sqlite3_step(st) != SQLITE_ROW)
        sq_fail(e, sql);
    v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

static uint64_t sq_live_bytes(void *arg)
{
    sq *e = arg;

    sq_exec(e, "PRAGMA wal_checkpoint(TRUNCATE)");
    return (uint64_t)((sq_pragma(e, "PRAGMA page_count") - sq_pragma(e, "PRAGMA freelist_count")) *
                      sq_pragma(e, "PRAGMA page_size"));
}

const bench_engine_ops bench_sqlite_ops = {
    .name = "SQLite",
    .writes_keep_indexes = true,
    .open = sq_open,
    .close = sq_close,
    .set_durable = sq_set_durable,
    .load = sq_load,
    .get_by_id = sq_get_by_id,
    .get_by_name = sq_get_by_name,
    .list = sq_list,
    .create = sq_create,
    .update = sq_update,
    .remove = sq_remove,
    .exists = sq_exists,
    .tick = sq_tick,
    .count = sq_count,
    .disk_bytes = sq_disk_bytes,
    .live_bytes = sq_live_bytes,
};
