/* The PostgreSQL backend: a pool of libpq connections, transactions, the schema, and the
 * function table of lib/backend.h (jobs__pg_backend, in records.c). Everything that knows libpq
 * is in lib/postgres/; docs/scale-out.md describes the tables and how several processes share
 * one database. */
#ifndef JOBS_LIB_POSTGRES_PG_H
#define JOBS_LIB_POSTGRES_PG_H

#include <libpq-fe.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "../codec.h"
#include "../store.h"

/* The schema version this library reads and writes (jobs_meta 'schema'). */
#define JOBS__PG_SCHEMA_VERSION 5

/* The first key of the version locks (the two-int4 form of PostgreSQL's advisory locks, apart
 * from the bigint one of records.c's OPEN_LOCK): the store's schema, as several stores can share
 * one database. Every connection holds (key, JOBS__PG_SCHEMA_VERSION) shared for its whole life
 * (store.c, connect_one); a read-write open that migrates a store of version v first takes
 * (key, v) exclusively until it commits (records.c, jobs__pg_schema). */
#define JOBS__PG_LOCK_KEY "hashtext('libjobs ' || coalesce(current_schema(), ''))"

/* Jobs per bucket of the counted page index (jobs_bucket). */
#define JOBS__PG_BUCKET 4096

/* Internal codes (never returned to callers): the transaction lost a race that a new attempt
 * resolves; the write runs its callback again from the start. */
#define JOBS__PG_ERETRY (-1100)        /* serialization failure or deadlock */
#define JOBS__PG_ERETRY_UNIQUE (-1101) /* a unique index refused a row another write just took */
/* A new record's id is taken (the detail is set, as JOBS_ECORRUPT's): an id counter behind its
 * records, or two copies into one new store at once; run again a few times, then ECORRUPT. */
#define JOBS__PG_ERETRY_ID (-1102)

/* The prepared statements (records.c's table, in this order); each connection prepares one at
 * its first use. */
enum {
    STMT_STAT,
    STMT_NEXT_ID,
    STMT_COUNT,
    STMT_PAGE_JOBS_FIRST,
    STMT_PAGE_JOBS_DEEP,
    STMT_PAGE_JOBS_TWO,
    STMT_PAGE_SCHEDULES,
    STMT_PAGE_STACKS,
    STMT_JOB_LOAD,
    STMT_JOB_LOAD_LOCK,
    STMT_JOB_BY_NAME,
    STMT_JOB_INSERT,
    STMT_JOB_UPDATE,
    STMT_JOB_REMOVE,
    STMT_DUE_SCAN,
    STMT_DUE_CLAIM,
    STMT_DUE_FIRST,
    STMT_SCHEDULE_LOAD,
    STMT_SCHEDULE_LOAD_LOCK,
    STMT_SCHEDULE_INSERT,
    STMT_SCHEDULE_UPDATE,
    STMT_SCHEDULE_REFS,
    STMT_SCHEDULE_REMOVE,
    STMT_STACK_LOAD,
    STMT_STACK_LOAD_LOCK,
    STMT_STACK_INSERT,
    STMT_IDEM_GET,
    STMT_IDEM_DELETE,
    STMT_IDEM_INSERT,
    STMT_IDEM_SWEEP,
    STMT_KV_GET,
    STMT_KV_GET_LOCK,
    STMT_KV_UPDATE,
    STMT_KV_INSERT,
    STMT_KV_DEL,
    STMT_KV_SCAN,
    STMT_STACK_UPDATE,
    STMT_STACK_BY_NAME,
    STMT_STACK_BY_NAME_PUBLIC,
    STMT_STACK_NAME_LOCK,
    STMT_STACK_BLOCKS_GET,
    STMT_STACK_BLOCKS_PUT,
    STMT_STACK_BLOCKS_DEL,
    STMT_SCHEDULE_BY_NAME,
    STMT_RUN_LOAD,
    STMT_RUN_LOAD_LOCK,
    STMT_RUN_INSERT,
    STMT_RUN_UPDATE,
    STMT_RUN_REMOVE,
    STMT_RUN_COUNT_JOB,
    STMT_RUN_COUNT_DIRECT,
    STMT_RUN_COUNT_STACK,
    STMT_RUN_PAGE_JOB,
    STMT_RUN_PAGE_JOB_OLD,
    STMT_RUN_PAGE_DIRECT,
    STMT_RUN_PAGE_DIRECT_OLD,
    STMT_RUN_PAGE_STACK,
    STMT_RUN_PAGE_STACK_OLD,
    STMT_RUN_DUE_SCAN,
    STMT_RUN_DUE_CLAIM,
    STMT_COPY_JOBS,
    STMT_COPY_SCHEDULES,
    STMT_COPY_STACKS,
    STMT_COPY_RUNS,
    STMT_COPY_IDEM,
    STMT_COPY_KV,
    STMT_ID_PEEK,
    STMT_ID_SET,
    STMT_RUN_ID_NEXT,
    STMT_RUN_ID_PEEK,
    STMT_RUN_ID_SET,
    JOBS__PG_STMT_MAX
};

typedef struct jobs__pg_conn {
    PGconn *conn;
    unsigned char prepared[JOBS__PG_STMT_MAX];
    struct jobs__pg_conn *next;
} jobs__pg_conn;

typedef struct jobs__pg {
    char *conninfo;
    bool readonly;
    bool opened;              /* the open's transaction checked the schema: connect_one checks
                                 each new connection's version itself */
    pthread_mutex_t lock;
    pthread_cond_t cv;        /* signalled when a connection goes back to the pool */
    jobs__pg_conn *idle;      /* connections ready for a transaction */
    size_t open, max_open;    /* connections open (idle or in use), and at most */
    _Atomic uint64_t writes;  /* write calls committed */
    _Atomic uint64_t retries; /* attempts run again after a lost race */

    /* jobs_store_wait(): a connection of its own, LISTENing on channel jobs_due, where every
     * write that makes something due NOTIFYs "<schema> <when>" on commit. All under
     * listen_lock. */
    pthread_mutex_t listen_lock;
    PGconn *listen;
    char schema[128];         /* the store's schema, chosen at the open (store.c, pin_schema):
                               * every connection's search_path, and its notices' */
    bool due_set;             /* a notice not yet taken by a wait; its earliest due time: */
    int64_t due_min;
} jobs__pg;

/* A transaction as the rules hold it (lib/backend.h). */
struct jobs__txn {
    jobs__pg_conn *c;
    jobs__pg *db;
    jobs_store *s;
    bool write;  /* a write transaction: rows read to be changed are locked (FOR UPDATE) */
    bool claim;  /* a claiming write (the tick): due rows FOR UPDATE SKIP LOCKED */
    int failed;  /* the first error of the transaction: PostgreSQL refuses any further statement */
    struct jobs__pg_kept *kept; /* record bytes that decoded records point into, until the end */
    bool notify;         /* the write makes something due (jobs__notify_due): NOTIFY on commit */
    int64_t notify_when; /* the earliest such time */
};

/* Bytes kept until the end of a transaction. */
typedef struct jobs__pg_kept {
    struct jobs__pg_kept *next;
    size_t len;
    unsigned char data[];
} jobs__pg_kept;

/* Frees what a transaction kept (store.c calls it when the transaction ends). */
void jobs__pg_kept_free(jobs__txn *t);

/* Parameters of one statement, all in binary format. */
typedef struct jobs__pg_params {
    int n;
    const char *v[10];
    int len[10];
    int fmt[10];
    unsigned char buf[10][8];
} jobs__pg_params;

void jobs__pg_i64(jobs__pg_params *p, int64_t v);
void jobs__pg_bool(jobs__pg_params *p, bool v);
void jobs__pg_bytes(jobs__pg_params *p, const void *data, size_t len); /* NULL: SQL NULL */

/* Runs prepared statement `stmt` (records.c's table) with `p` (NULL: none); binary results.
 * Returns 0 with *res set (PQclear it), or a JOBS_E* / internal code with nothing to clear. */
int jobs__pg_exec(jobs__txn *t, int stmt, const jobs__pg_params *p, PGresult **res);
/* Runs plain SQL (no parameters, text results ignored) on a connection. */
int jobs__pg_simple(jobs__pg_conn *c, const char *sql, const char *what);

/* A result's int8 / bool / bytea field in binary format. */
int64_t jobs__pg_get_i64(const PGresult *r, int row, int col);
bool jobs__pg_get_bool(const PGresult *r, int row, int col);

/* Translates a failed result (or a lost connection) into a JOBS_E* or internal code. */
int jobs__pg_error(PGconn *conn, const PGresult *res, const char *what);

/* The store side of the backend (store.c) and the verifier (check.c). */
int jobs__pg_read(jobs_store *s, jobs__txn_fn fn, void *ctx);
int jobs__pg_write(jobs_store *s, jobs__txn_fn fn, void *ctx);
int jobs__pg_write_claim(jobs_store *s, jobs__txn_fn fn, void *ctx);
void jobs__pg_close(jobs_store *s);
int jobs__pg_stat(jobs_store *s, jobs_store_stat_info *out);
int jobs__pg_backup(jobs_store *s, const char *dest);
int jobs__pg_check(jobs_store *s);
/* jobs_store_wait() (store.c). */
int jobs__pg_wait(jobs_store *s, int64_t before, int timeout_ms, int64_t *due);
void jobs__pg_notify_due(jobs__txn *t, int64_t when);

/* The tables of a new store, and the schema check or migration of an existing one. */
int jobs__pg_schema(jobs__txn *t, int (*seed)(jobs_store *s, jobs__txn *txn));

extern const jobs__backend jobs__pg_backend;

#endif
