/* The PostgreSQL backend's connections and transactions: the pool (one connection per thread
 * in a transaction, at most max_open), BEGIN/COMMIT around the rules' callbacks, the retry of a
 * write that lost a race, the translation of libpq's errors, opening and the schema, stat and
 * backup. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "pg.h"

/* Connections per store: enough for the threads of a server, few enough that several processes
 * stay under PostgreSQL's max_connections (100 by default). */
#define MAX_OPEN 16
/* Attempts of a write that keeps losing races before it gives up (JOBS_ECONFLICT). */
#define MAX_ATTEMPTS 100
/* Attempts of a write whose new record's id keeps being taken (JOBS__PG_ERETRY_ID). */
#define ID_ATTEMPTS 3
/* Seconds libpq waits for a connection before the store answers JOBS_EUNAVAILABLE (unless the
 * conninfo names its own connect_timeout). */
#define CONNECT_TIMEOUT "5"

/* ---- parameters and results ------------------------------------------------------------- */

void jobs__pg_i64(jobs__pg_params *p, int64_t v)
{
    jobs__be64_put(p->buf[p->n], (uint64_t)v);
    p->v[p->n] = (const char *)p->buf[p->n];
    p->len[p->n] = 8;
    p->fmt[p->n] = 1;
    p->n++;
}

void jobs__pg_bool(jobs__pg_params *p, bool v)
{
    p->buf[p->n][0] = v ? 1 : 0;
    p->v[p->n] = (const char *)p->buf[p->n];
    p->len[p->n] = 1;
    p->fmt[p->n] = 1;
    p->n++;
}

void jobs__pg_bytes(jobs__pg_params *p, const void *data, size_t len)
{
    p->v[p->n] = data;
    p->len[p->n] = (int)len;
    p->fmt[p->n] = 1;
    p->n++;
}

int64_t jobs__pg_get_i64(const PGresult *r, int row, int col)
{
    if (PQgetisnull(r, row, col) || PQgetlength(r, row, col) != 8)
        return 0;
    return (int64_t)jobs__be64_get((const unsigned char *)PQgetvalue(r, row, col));
}

bool jobs__pg_get_bool(const PGresult *r, int row, int col)
{
    return !PQgetisnull(r, row, col) && PQgetlength(r, row, col) == 1 &&
           PQgetvalue(r, row, col)[0] != 0;
}

/* ---- errors ----------------------------------------------------------------------------- */

static int unavailable(PGconn *conn, const char *what)
{
    const char *msg = conn ? PQerrorMessage(conn) : "no connection";
    size_t len = strlen(msg);

    while (len && (msg[len - 1] == '\n' || msg[len - 1] == ' '))
        len--;
    return jobs__error(JOBS_EUNAVAILABLE, "%s: the database is unreachable: %.*s", what,
                       (int)len, msg);
}

int jobs__pg_error(PGconn *conn, const PGresult *res, const char *what)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *msg = res ? PQresultErrorMessage(res) : "";

    if (PQstatus(conn) == CONNECTION_BAD || !state)
        return unavailable(conn, what);
    if (!strcmp(state, "40001") || !strcmp(state, "40P01"))
        return JOBS__PG_ERETRY;
    if (!strcmp(state, "23505")) {
        /* A race only where two writes can take one new key at once: a job's name, an
         * idempotency key, a namespaced record (the rules looked for it and found none; the
         * write runs again and finds the winner's). Every other unique key is an id the store
         * gave out: the row being there already means an id counter is behind (damage), or,
         * once, that a copy into the same new store committed first (run() tries again a few
         * times, then answers JOBS_ECORRUPT with this detail). */
        const char *key = PQresultErrorField(res, PG_DIAG_CONSTRAINT_NAME);

        if (key && (!strcmp(key, "jobs_job_name") || !strcmp(key, "jobs_idem_pkey") ||
                    !strcmp(key, "jobs_kv_pkey")))
            return JOBS__PG_ERETRY_UNIQUE;
        jobs__error(JOBS_ECORRUPT, "%s: a row of that id is there already (%s): an id counter "
                    "is behind its records (jobs_store_check)", what, key ? key : "a unique key");
        return JOBS__PG_ERETRY_ID;
    }
    if (!strncmp(state, "08", 2) || !strcmp(state, "57P01") || !strcmp(state, "57P02") ||
        !strcmp(state, "57P03"))
        return unavailable(conn, what);
    /* The conninfo's own time limits (options='-c lock_timeout=... -c statement_timeout=...'),
     * or an administrator's pg_cancel_backend(): nothing of the call stayed, and it may be
     * tried again, as after a lost race or a dropped connection. */
    if (!strcmp(state, "55P03"))
        return jobs__error(JOBS_ECONFLICT, "%s: a concurrent transaction held a lock for longer "
                           "than lock_timeout; nothing of this call stayed, try again", what);
    if (!strcmp(state, "57014"))
        return jobs__error(JOBS_EUNAVAILABLE, "%s: the database canceled the statement "
                           "(statement_timeout, or a cancel request); nothing of this call "
                           "stayed, try again", what);
    if (!strcmp(state, "25006"))
        return jobs__error(JOBS_EREADONLY, "%s: the database is read-only", what);
    /* The one sequence is the run ids' (schema 4), whose end is JOBS_ID_MAX + 1: next_id gives
     * JOBS_ERANGE for the call that takes that value, and this for every call after it. */
    if (!strcmp(state, "2200H"))
        return jobs__error(JOBS_ERANGE, "%s: all run ids 1..2^53-1 are used", what);
    if (!strcmp(state, "53100"))
        return jobs__error(JOBS_ENOSPC, "%s: the database's disk is full", what);
    if (!strcmp(state, "53200"))
        return jobs__error(JOBS_ENOMEM, "%s: the database is out of memory", what);
    size_t len = strlen(msg);
    while (len && msg[len - 1] == '\n')
        len--;
    return jobs__error(JOBS_EIO, "%s: PostgreSQL error %s: %.*s", what, state, (int)len, msg);
}

int jobs__pg_simple(jobs__pg_conn *c, const char *sql, const char *what)
{
    PGresult *r = PQexec(c->conn, sql);
    ExecStatusType st = PQresultStatus(r);
    int rc = 0;

    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
        rc = jobs__pg_error(c->conn, r, what);
    PQclear(r);
    return rc;
}

/* ---- the pool --------------------------------------------------------------------------- */

static void quiet(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

/* Takes the connection's version lock (pg.h, JOBS__PG_LOCK_KEY): "a process of this schema
 * version uses the store", held shared until the connection closes, so that a newer libjobs
 * does not migrate the store under this process (records.c, jobs__pg_schema). A connection
 * made after the open also reads the version, in the same round trip: a newer libjobs may have
 * migrated the store while this process had no connection (they had all dropped), and this
 * lock then waited for that migration to commit. The read is a statement after the lock's,
 * in READ COMMITTED whatever the server's default isolation, so its snapshot is taken once the
 * lock is held; the statements are one implicit transaction, and the session lock outlives it.
 * The open's own connection only takes the lock: the open's transaction checks the schema
 * (there may be no tables yet) and may migrate it, as its lock is of the new version and the
 * migration's of the old. */
static int hold_version(jobs__pg *db, PGconn *conn)
{
    char sql[256];
    PGresult *r;
    int rc = 0;

    if (!db->opened)
        snprintf(sql, sizeof(sql), "SELECT pg_advisory_lock_shared(" JOBS__PG_LOCK_KEY ", %d)",
                 JOBS__PG_SCHEMA_VERSION);
    else
        snprintf(sql, sizeof(sql), "SET TRANSACTION ISOLATION LEVEL READ COMMITTED;"
                 " SELECT pg_advisory_lock_shared(" JOBS__PG_LOCK_KEY ", %d);"
                 " SELECT value FROM jobs_meta WHERE key = 'schema'", JOBS__PG_SCHEMA_VERSION);
    r = PQexec(conn, sql);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        rc = jobs__pg_error(conn, r, "connecting to the database");
    } else if (db->opened) {
        long version = PQntuples(r) == 1 && !PQgetisnull(r, 0, 0)
                           ? strtol(PQgetvalue(r, 0, 0), NULL, 10) : -1;

        if (version < 0)
            rc = jobs__error(JOBS_ECORRUPT, "the store's schema version is missing");
        else if (version != JOBS__PG_SCHEMA_VERSION)
            rc = jobs__error(JOBS_ESCHEMA, "the store now has schema version %ld and this "
                             "libjobs reads and writes version %d (another libjobs migrated it "
                             "after this process opened it): close the store", version,
                             JOBS__PG_SCHEMA_VERSION);
    }
    PQclear(r);
    return rc;
}

/* Pins the connection's search_path to the store's schema, so that every statement, every table
 * a migration makes, the version lock and the due notices (all of which name current_schema())
 * mean the same schema. The open's first connection chooses it as PostgreSQL resolves an
 * unqualified name: the first schema on the path that holds the store's tables, or, where
 * none does, the first schema on the path (where the open makes them). Without the pin, a path
 * such as "empty, jobs" found the tables in jobs but keyed the lock and the notices by empty.
 * With no schema on the path at all, nothing is pinned and the open's statements say so. */
static int pin_schema(jobs__pg *db, PGconn *conn)
{
    const char *param[1] = {db->schema};
    PGresult *r;
    int rc = 0;

    if (db->schema[0] == '\0') {
        if (db->opened)
            return 0; /* chosen at the open: a path with no schema, as before */
        r = PQexec(conn, "SELECT coalesce((SELECT n.nspname FROM pg_class c JOIN pg_namespace n"
                   " ON n.oid = c.relnamespace WHERE c.oid = to_regclass('jobs_meta')"
                   " AND n.oid <> pg_my_temp_schema()), current_schema())");
        if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1)
            rc = jobs__pg_error(conn, r, "connecting to the database");
        else if (!PQgetisnull(r, 0, 0) &&
                 strlen(PQgetvalue(r, 0, 0)) < sizeof(db->schema))
            memcpy(db->schema, PQgetvalue(r, 0, 0), strlen(PQgetvalue(r, 0, 0)) + 1);
        PQclear(r);
        if (rc || db->schema[0] == '\0')
            return rc;
    }
    r = PQexecParams(conn, "SELECT set_config('search_path', quote_ident($1), false)", 1, NULL,
                     param, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        rc = jobs__pg_error(conn, r, "connecting to the database");
    PQclear(r);
    return rc;
}

static jobs__pg_conn *connect_one(jobs__pg *db, int *rc)
{
    const char *keys[] = {"connect_timeout", "dbname", NULL};
    const char *vals[] = {CONNECT_TIMEOUT, db->conninfo, NULL};
    jobs__pg_conn *c = jobs__malloc(sizeof(*c));

    if (!c) {
        *rc = jobs__error(JOBS_ENOMEM, "out of memory connecting to the database");
        return NULL;
    }
    memset(c, 0, sizeof(*c));
    /* The conninfo comes last, so its own settings (connect_timeout too) win. */
    c->conn = PQconnectdbParams(keys, vals, 1);
    if (!c->conn || PQstatus(c->conn) != CONNECTION_OK) {
        *rc = unavailable(c->conn, "connecting to the database");
        PQfinish(c->conn);
        jobs__free(c);
        return NULL;
    }
    /* Messages of the server (notices) are not the host's business (a NULL processor would
     * leave libpq's, which prints them on stderr). */
    PQsetNoticeProcessor(c->conn, quiet, NULL);
    if ((*rc = pin_schema(db, c->conn)) || (*rc = hold_version(db, c->conn))) {
        PQfinish(c->conn);
        jobs__free(c);
        return NULL;
    }
    return c;
}

static void drop(jobs__pg_conn *c)
{
    PQfinish(c->conn);
    jobs__free(c);
}

static int acquire(jobs__pg *db, jobs__pg_conn **out, bool *reused)
{
    jobs__pg_conn *c = NULL;
    int rc = 0;

    pthread_mutex_lock(&db->lock);
    while (!db->idle && db->open >= db->max_open)
        pthread_cond_wait(&db->cv, &db->lock);
    if (db->idle) {
        c = db->idle;
        db->idle = c->next;
    } else {
        db->open++;
    }
    pthread_mutex_unlock(&db->lock);
    /* A connection the database dropped (a restart, a failover) is replaced here, so the call
     * after an outage works again. */
    if (c && PQstatus(c->conn) != CONNECTION_OK) {
        drop(c);
        c = NULL;
    }
    *reused = c != NULL;
    if (!c && !(c = connect_one(db, &rc))) {
        pthread_mutex_lock(&db->lock);
        db->open--;
        pthread_cond_signal(&db->cv);
        pthread_mutex_unlock(&db->lock);
        return rc;
    }
    *out = c;
    return 0;
}

static void release(jobs__pg *db, jobs__pg_conn *c, bool broken)
{
    if (broken || PQstatus(c->conn) != CONNECTION_OK ||
        PQtransactionStatus(c->conn) != PQTRANS_IDLE) {
        drop(c);
        c = NULL;
    }
    pthread_mutex_lock(&db->lock);
    if (c) {
        c->next = db->idle;
        db->idle = c;
    } else {
        db->open--;
    }
    pthread_cond_signal(&db->cv);
    pthread_mutex_unlock(&db->lock);
}

/* ---- transactions ----------------------------------------------------------------------- */

static bool retryable(int rc)
{
    return rc == JOBS__PG_ERETRY || rc == JOBS__PG_ERETRY_UNIQUE || rc == JOBS__PG_ERETRY_ID;
}

/* A short random pause before attempt `n` again, growing with n, so that racing writers part. */
static void backoff(unsigned n)
{
    static _Atomic unsigned seed = 12345;
    unsigned r = atomic_fetch_add(&seed, 2654435761u) * 2246822519u;
    long us = (long)(r % (100u * (n < 20 ? n + 1 : 20)));
    struct timespec ts = {0, us * 1000L};

    nanosleep(&ts, NULL);
}

static int run(jobs_store *s, jobs__txn_fn fn, void *ctx, bool write, bool claim)
{
    jobs__pg *db = s->db;
    char mine[JOBS__ERROR_MAX];
    int rc = 0;

    if (write && db->readonly)
        return jobs__error(JOBS_EREADONLY, "the store is open read-only");
    /* A call that succeeds leaves jobs_error_last() as it was (jobs/errors.h), also when an
     * attempt before failed (a pooled connection found dropped, a lost race) and wrote it. */
    snprintf(mine, sizeof(mine), "%s", jobs_error_last());
    for (unsigned attempt = 0, stale = 0, taken = 0;; attempt++) {
        jobs__txn t = {NULL, db, s, write, claim, 0, NULL, false, 0};
        bool broken = false, reused;

        if ((rc = acquire(db, &t.c, &reused)))
            return rc;
        rc = jobs__pg_simple(t.c, write ? "BEGIN ISOLATION LEVEL READ COMMITTED"
                                        : "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
                             "beginning a transaction");
        /* A pooled connection the database dropped while it was idle (a restart, a failover)
         * is only found out by using it: nothing has happened yet, so drop it and take another
         * (at most as many times as the pool has connections). */
        if (rc == JOBS_EUNAVAILABLE && reused && stale++ < MAX_OPEN) {
            release(db, t.c, true);
            attempt--;
            continue;
        }
        if (rc == 0) {
            rc = fn(s, &t, ctx);
            if (t.failed && rc == 0)
                rc = t.failed; /* the rules went on past an error they may not have seen */
            if (rc == 0 && t.notify) {
                /* The notice goes out with the commit, in the same round trip, and only if
                 * it commits (PostgreSQL delivers a transaction's notices at its commit). */
                char sql[128];

                snprintf(sql, sizeof(sql), "SELECT pg_notify('jobs_due', current_schema() || "
                         "' %lld'); COMMIT", (long long)t.notify_when);
                rc = jobs__pg_simple(t.c, sql, "committing");
            } else if (rc == 0) {
                rc = jobs__pg_simple(t.c, "COMMIT", "committing");
            }
            else if (PQstatus(t.c->conn) == CONNECTION_OK &&
                     jobs__pg_simple(t.c, "ROLLBACK", "rolling back"))
                broken = true;
        }
        jobs__pg_kept_free(&t);
        if (rc == JOBS_EUNAVAILABLE)
            broken = true;
        release(db, t.c, broken);
        if (!retryable(rc))
            break;
        if (rc == JOBS__PG_ERETRY_ID && ++taken >= ID_ATTEMPTS)
            return JOBS_ECORRUPT; /* with the detail jobs__pg_error set */
        if (attempt + 1 >= MAX_ATTEMPTS)
            return rc == JOBS__PG_ERETRY_UNIQUE
                       ? jobs__error(JOBS_EEXISTS, "a concurrent write took the same name or key")
                       : jobs__error(JOBS_ECONFLICT, "the write lost %u races with concurrent "
                                     "writes; try again", MAX_ATTEMPTS);
        atomic_fetch_add(&db->retries, 1);
        backoff(attempt);
    }
    if (rc == 0 && write)
        atomic_fetch_add(&db->writes, 1);
    if (rc == 0)
        jobs__error(0, "%s", mine);
    return rc;
}

int jobs__pg_read(jobs_store *s, jobs__txn_fn fn, void *ctx)
{
    return run(s, fn, ctx, false, false);
}

int jobs__pg_write(jobs_store *s, jobs__txn_fn fn, void *ctx)
{
    return run(s, fn, ctx, true, false);
}

int jobs__pg_write_claim(jobs_store *s, jobs__txn_fn fn, void *ctx)
{
    return run(s, fn, ctx, true, true);
}

/* ---- jobs_store_wait() ------------------------------------------------------------------ */

void jobs__pg_notify_due(jobs__txn *t, int64_t when)
{
    if (!t->notify || when < t->notify_when)
        t->notify_when = when;
    t->notify = true;
}

/* The listening connection: connected (its search_path pinned to the store's schema, whose
 * notices it takes), LISTEN issued. Under listen_lock. */
static int listen_open(jobs__pg *db)
{
    int rc;
    jobs__pg_conn *c;

    if (db->schema[0] == '\0')
        return jobs__error(JOBS_ECORRUPT, "listening for due times: the connection has no "
                           "schema");
    if (!(c = connect_one(db, &rc)))
        return rc;
    if ((rc = jobs__pg_simple(c, "LISTEN jobs_due", "listening for due times"))) {
        drop(c);
        return rc;
    }
    db->listen = c->conn;
    jobs__free(c); /* the connection is kept; its pool wrapper is not needed */
    return 0;
}

/* Takes the notices that came: this store's go into due_set / due_min. */
static void take_notices(jobs__pg *db)
{
    PGnotify *n;

    while ((n = PQnotifies(db->listen))) {
        const char *sp = n->extra ? strrchr(n->extra, ' ') : NULL;

        if (sp && (size_t)(sp - n->extra) == strlen(db->schema) &&
            memcmp(n->extra, db->schema, (size_t)(sp - n->extra)) == 0) {
            int64_t when = strtoll(sp + 1, NULL, 10);

            if (!db->due_set || when < db->due_min)
                db->due_min = when;
            db->due_set = true;
        }
        PQfreemem(n);
    }
}

static int64_t monotonic_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int jobs__pg_wait(jobs_store *s, int64_t before, int timeout_ms, int64_t *due)
{
    jobs__pg *db = s->db;
    int64_t deadline = monotonic_ms() + timeout_ms;
    struct timespec until = jobs__deadline(CLOCK_REALTIME, timeout_ms);
    int rc = 0;

    /* Another thread's wait holds the listening connection for as long as it waits: this one
     * waits for it no longer than its own timeout, and then times out (that thread takes the
     * notices meanwhile; jobs_store_wait() allows several waiters, one taking each notice). */
    if ((rc = pthread_mutex_timedlock(&db->listen_lock, &until)) == ETIMEDOUT)
        return 0;
    if (rc)
        return jobs__error(JOBS_EIO, "waiting for due times: %s", strerror(rc));
    if (!db->listen && (rc = listen_open(db))) {
        pthread_mutex_unlock(&db->listen_lock);
        return rc;
    }
    for (;;) {
        struct pollfd p = {PQsocket(db->listen), POLLIN, 0};
        int64_t left;

        if (!PQconsumeInput(db->listen)) {
            rc = unavailable(db->listen, "waiting for due times");
            PQfinish(db->listen);
            db->listen = NULL; /* the next wait connects again */
            break;
        }
        take_notices(db);
        if (db->due_set && db->due_min < before) {
            db->due_set = false;
            *due = db->due_min;
            rc = 1;
            break;
        }
        if ((left = deadline - monotonic_ms()) <= 0) {
            rc = 0;
            break;
        }
        if (poll(&p, 1, (int)left) < 0 && errno != EINTR) {
            rc = jobs__error(JOBS_EIO, "waiting for due times: %s", strerror(errno));
            break;
        }
    }
    pthread_mutex_unlock(&db->listen_lock);
    return rc;
}

/* ---- open, close ------------------------------------------------------------------------ */

static void pg_free(jobs__pg *db)
{
    if (!db)
        return;
    while (db->idle) {
        jobs__pg_conn *c = db->idle;
        db->idle = c->next;
        drop(c);
    }
    pthread_mutex_destroy(&db->lock);
    pthread_cond_destroy(&db->cv);
    if (db->listen)
        PQfinish(db->listen);
    pthread_mutex_destroy(&db->listen_lock);
    jobs__free(db->conninfo);
    jobs__free(db);
}

void jobs__pg_close(jobs_store *s)
{
    pg_free(s->db);
    s->db = NULL;
}

typedef struct open_ctx {
    int (*seed)(jobs_store *s, jobs__txn *txn);
} open_ctx;

static int open_txn(jobs_store *s, jobs__txn *t, void *arg)
{
    open_ctx *c = arg;

    (void)s;
    return jobs__pg_schema(t, c->seed);
}

int jobs__open_pg(jobs_store *s, const jobs__open_args *args)
{
    jobs__pg *db = jobs__malloc(sizeof(*db));
    size_t len = strlen(args->path);
    open_ctx c = {args->seed};
    int rc;

    if (!db)
        return jobs__error(JOBS_ENOMEM, "out of memory opening the store");
    memset(db, 0, sizeof(*db));
    pthread_mutex_init(&db->lock, NULL);
    pthread_cond_init(&db->cv, NULL);
    pthread_mutex_init(&db->listen_lock, NULL);
    db->max_open = MAX_OPEN;
    db->readonly = (args->flags & JOBS_STORE_READONLY) != 0;
    if (!(db->conninfo = jobs__malloc(len + 1))) {
        pg_free(db);
        return jobs__error(JOBS_ENOMEM, "out of memory opening the store");
    }
    memcpy(db->conninfo, args->path, len + 1);
    s->be = &jobs__pg_backend;
    s->db = db;
    /* The schema is checked (or made, with the rules' first contents) in one write
     * transaction; a read-only store only checks it. */
    if (db->readonly)
        c.seed = NULL;
    rc = run(s, open_txn, &c, !db->readonly, false);
    if (rc) {
        pg_free(db);
        s->db = NULL;
        return rc;
    }
    db->opened = true; /* before any other thread can use the handle */
    return 0;
}

/* ---- stat and backup -------------------------------------------------------------------- */

typedef struct stat_ctx {
    jobs_store_stat_info *out;
} stat_ctx;

static int stat_txn(jobs_store *s, jobs__txn *t, void *arg)
{
    stat_ctx *c = arg;
    PGresult *r;
    int rc;

    (void)s;
    if ((rc = jobs__pg_exec(t, STMT_STAT, NULL, &r)))
        return rc;
    if (PQntuples(r) != 1 || PQnfields(r) != 8) {
        PQclear(r);
        return jobs__error(JOBS_ECORRUPT, "the store's statistics could not be read");
    }
    c->out->jobs = (uint64_t)jobs__pg_get_i64(r, 0, 0);
    c->out->schedules = (uint64_t)jobs__pg_get_i64(r, 0, 1);
    c->out->stacks = (uint64_t)jobs__pg_get_i64(r, 0, 2);
    c->out->jobs_active = (uint64_t)jobs__pg_get_i64(r, 0, 3);
    c->out->jobs_queued = (uint64_t)jobs__pg_get_i64(r, 0, 4);
    c->out->records = (uint64_t)jobs__pg_get_i64(r, 0, 5);
    c->out->runs = (uint64_t)jobs__pg_get_i64(r, 0, 6);
    c->out->runs_queued = (uint64_t)jobs__pg_get_i64(r, 0, 7);
    PQclear(r);
    return 0;
}

int jobs__pg_stat(jobs_store *s, jobs_store_stat_info *out)
{
    jobs__pg *db = s->db;
    stat_ctx c = {out};
    int rc = jobs__pg_read(s, stat_txn, &c);

    /* Every write is its own commit here (no group commit on this backend). */
    out->writes = atomic_load(&db->writes);
    out->commits = out->writes;
    return rc;
}

int jobs__pg_backup(jobs_store *s, const char *dest)
{
    (void)s;
    (void)dest;
    return jobs__error(JOBS_ENOTSUP, "jobs_store_backup is for LMDB stores: back up a "
                       "PostgreSQL store with PostgreSQL's own tools (pg_dump, base backups)");
}
