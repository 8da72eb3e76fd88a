/* Namespaced records (jobs_kv_*): put, get, delete, scan in key order with a limit, per-namespace
 * ids never given twice, namespaces kept apart, one transaction whole or nothing, the limits,
 * read transactions, stores made before the records, check, stat and backup. */
#include "fixture.h"

#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- small transactions -------------------------------------------------------------------- */

typedef struct op {
    const char *ns;
    const char *key;
    const char *value; /* put: the value; NULL: delete */
} op;

typedef struct ops {
    const op *v;
    size_t n;
    int fail; /* returned after the ops, when nonzero */
} ops;

static int run_ops(jobs_kv_txn *txn, void *ctx)
{
    const ops *o = ctx;
    int rc;

    for (size_t i = 0; i < o->n; i++) {
        const op *p = &o->v[i];
        rc = p->value ? jobs_kv_put(txn, p->ns, p->key, strlen(p->key), p->value,
                                    strlen(p->value))
                      : jobs_kv_delete(txn, p->ns, p->key, strlen(p->key));
        if (rc)
            return rc;
    }
    return o->fail;
}

static int put(jobs_store *s, const char *ns, const char *key, const char *value)
{
    op p = {ns, key, value};
    ops o = {&p, 1, 0};
    return jobs_kv_write(s, run_ops, &o);
}

typedef struct got {
    const char *ns, *key;
    char buf[256];
    size_t len;
    int rc;
} got;

static int do_get(jobs_kv_txn *txn, void *ctx)
{
    got *g = ctx;
    g->rc = jobs_kv_get(txn, g->ns, g->key, strlen(g->key), g->buf, sizeof(g->buf) - 1, &g->len);
    g->buf[g->rc == 0 ? g->len : 0] = '\0';
    return 0;
}

/* The value of (ns, key) as a string, or NULL when there is none. */
static const char *get(jobs_store *s, const char *ns, const char *key)
{
    static got g;

    memset(&g, 0, sizeof(g));
    g.ns = ns;
    g.key = key;
    assert_int_equal(jobs_kv_read(s, do_get, &g), 0);
    if (g.rc == JOBS_ENOTFOUND)
        return NULL;
    assert_int_equal(g.rc, 0);
    return g.buf;
}

typedef struct scan {
    const char *ns;
    const char *from;
    size_t limit;
    int stop_after; /* return 1 after this many (0: never) */
    char out[1024]; /* "key=value;" for each */
    size_t n;
} scan;

static int scan_one(void *ctx, const void *key, size_t key_len, const void *value,
                    size_t value_len)
{
    scan *sc = ctx;
    size_t used = strlen(sc->out);

    snprintf(sc->out + used, sizeof(sc->out) - used, "%.*s=%.*s;", (int)key_len,
             (const char *)key, (int)value_len, (const char *)value);
    sc->n++;
    return sc->stop_after && sc->n == (size_t)sc->stop_after ? 1 : 0;
}

static int do_scan(jobs_kv_txn *txn, void *ctx)
{
    scan *sc = ctx;
    return jobs_kv_scan(txn, sc->ns, sc->from, sc->from ? strlen(sc->from) : 0, sc->limit,
                        scan_one, sc);
}

static const char *list(jobs_store *s, const char *ns, const char *from, size_t limit)
{
    static scan sc;

    memset(&sc, 0, sizeof(sc));
    sc.ns = ns;
    sc.from = from;
    sc.limit = limit;
    assert_int_equal(jobs_kv_read(s, do_scan, &sc), 0);
    return sc.out;
}

typedef struct ids {
    const char *ns;
    uint64_t id[4];
    size_t n;
    uint64_t reserve; /* jobs_kv_reserve_ids() first when nonzero */
    int fail;
} ids;

static int take_ids(jobs_kv_txn *txn, void *ctx)
{
    ids *x = ctx;
    int rc;

    if (x->reserve && (rc = jobs_kv_reserve_ids(txn, x->ns, x->reserve)))
        return rc;
    for (size_t i = 0; i < x->n; i++)
        if ((rc = jobs_kv_next_id(&x->id[i], txn, x->ns)))
            return rc;
    return x->fail;
}

static uint64_t next_id(jobs_store *s, const char *ns)
{
    ids x = {ns, {0}, 1, 0, 0};
    assert_int_equal(jobs_kv_write(s, take_ids, &x), 0);
    return x.id[0];
}

/* ---- tests --------------------------------------------------------------------------------- */

static void test_put_get_delete(void **state)
{
    fixture *fx = *state;

    assert_null(get(fx->store, "users", "alice"));
    assert_int_equal(put(fx->store, "users", "alice", "1"), 0);
    assert_string_equal(get(fx->store, "users", "alice"), "1");
    assert_int_equal(put(fx->store, "users", "alice", "two"), 0); /* replaces */
    assert_string_equal(get(fx->store, "users", "alice"), "two");
    assert_int_equal(put(fx->store, "users", "empty", ""), 0);    /* an empty value */
    assert_string_equal(get(fx->store, "users", "empty"), "");
    {
        op d = {"users", "alice", NULL};
        ops o = {&d, 1, 0};
        assert_int_equal(jobs_kv_write(fx->store, run_ops, &o), 0);
        assert_null(get(fx->store, "users", "alice"));
        assert_int_equal(jobs_kv_write(fx->store, run_ops, &o), JOBS_ENOTFOUND);
    }
    fx_reopen(fx);
    assert_string_equal(get(fx->store, "users", "empty"), "");
    assert_null(get(fx->store, "users", "alice"));
}

static void test_namespaces_are_isolated(void **state)
{
    fixture *fx = *state;

    assert_int_equal(put(fx->store, "a", "k", "in a"), 0);
    assert_int_equal(put(fx->store, "ab", "k", "in ab"), 0);
    assert_int_equal(put(fx->store, "b", "k", "in b"), 0);
    assert_string_equal(get(fx->store, "a", "k"), "in a");
    assert_string_equal(get(fx->store, "ab", "k"), "in ab");
    assert_null(get(fx->store, "c", "k"));
    /* "a" + "bk" is not "ab" + "k": neither lookup nor scan crosses a namespace */
    assert_null(get(fx->store, "a", "bk"));
    assert_string_equal(list(fx->store, "a", NULL, 0), "k=in a;");
    assert_string_equal(list(fx->store, "ab", NULL, 0), "k=in ab;");
    assert_string_equal(list(fx->store, "c", NULL, 0), "");
    /* deleting in one leaves the others */
    {
        op d = {"a", "k", NULL};
        ops o = {&d, 1, 0};
        assert_int_equal(jobs_kv_write(fx->store, run_ops, &o), 0);
    }
    assert_string_equal(get(fx->store, "ab", "k"), "in ab");
    assert_string_equal(get(fx->store, "b", "k"), "in b");
    /* ids are per namespace */
    assert_int_equal(next_id(fx->store, "a"), 1);
    assert_int_equal(next_id(fx->store, "a"), 2);
    assert_int_equal(next_id(fx->store, "b"), 1);
    /* and the counters are not records of any namespace */
    assert_string_equal(list(fx->store, "a", NULL, 0), "");
}

static void test_scan_in_key_order_with_limit(void **state)
{
    fixture *fx = *state;
    const op v[] = {{"s", "b", "2"}, {"s", "a", "1"}, {"s", "ba", "3"}, {"s", "c", "4"},
                    {"t", "a", "x"}};
    ops o = {v, 5, 0};
    scan sc;

    assert_int_equal(jobs_kv_write(fx->store, run_ops, &o), 0);
    assert_string_equal(list(fx->store, "s", NULL, 0), "a=1;b=2;ba=3;c=4;");
    assert_string_equal(list(fx->store, "s", NULL, 2), "a=1;b=2;");
    assert_string_equal(list(fx->store, "s", "b", 0), "b=2;ba=3;c=4;");
    assert_string_equal(list(fx->store, "s", "bb", 0), "c=4;");
    assert_string_equal(list(fx->store, "s", "d", 0), "");
    /* the callback stops the scan */
    memset(&sc, 0, sizeof(sc));
    sc.ns = "s";
    sc.stop_after = 3;
    assert_int_equal(jobs_kv_read(fx->store, do_scan, &sc), 0);
    assert_string_equal(sc.out, "a=1;b=2;ba=3;");
}

static void test_ids_are_never_reused(void **state)
{
    fixture *fx = *state;
    ids x = {"users", {0}, 2, 0, JOBS_EIO};

    assert_int_equal(next_id(fx->store, "users"), 1);
    assert_int_equal(next_id(fx->store, "users"), 2);
    /* ids taken in a transaction that aborts are not taken */
    assert_int_equal(jobs_kv_write(fx->store, take_ids, &x), JOBS_EIO);
    assert_int_equal(next_id(fx->store, "users"), 3);
    /* a record that used an id is deleted: its id does not come back, not after a reopen */
    assert_int_equal(put(fx->store, "users", "u3", "x"), 0);
    {
        op d = {"users", "u3", NULL};
        ops o = {&d, 1, 0};
        assert_int_equal(jobs_kv_write(fx->store, run_ops, &o), 0);
    }
    fx_reopen(fx);
    assert_int_equal(next_id(fx->store, "users"), 4);
    /* reserving: ids brought from elsewhere; a reservation below the counter changes nothing */
    x = (ids){"users", {0}, 1, 10, 0};
    assert_int_equal(jobs_kv_write(fx->store, take_ids, &x), 0);
    assert_int_equal(x.id[0], 11);
    x = (ids){"users", {0}, 1, 5, 0};
    assert_int_equal(jobs_kv_write(fx->store, take_ids, &x), 0);
    assert_int_equal(x.id[0], 12);
    x = (ids){"users", {0}, 0, JOBS_ID_MAX + 1, 0};
    assert_int_equal(jobs_kv_write(fx->store, take_ids, &x), JOBS_ERANGE);
    /* the last id, then none */
    x = (ids){"last", {0}, 2, JOBS_ID_MAX - 1, 0};
    assert_int_equal(jobs_kv_write(fx->store, take_ids, &x), JOBS_ERANGE);
    x = (ids){"last", {0}, 1, JOBS_ID_MAX - 1, 0};
    assert_int_equal(jobs_kv_write(fx->store, take_ids, &x), 0);
    assert_true(x.id[0] == JOBS_ID_MAX);
    x = (ids){"last", {0}, 1, 0, 0};
    assert_int_equal(jobs_kv_write(fx->store, take_ids, &x), JOBS_ERANGE);
    assert_int_equal(jobs_store_check(fx->store), 0);
}

/* A record and its index in one transaction: a failure after both puts, or in the second put,
 * leaves neither. */
static void test_one_transaction_is_whole_or_nothing(void **state)
{
    fixture *fx = *state;
    const op v[] = {{"user", "7", "alice"}, {"user.name", "alice", "7"}};
    char big[300];
    op bad[] = {{"user", "8", "bob"}, {"user.name", big, "8"}};
    ops o = {v, 2, JOBS_EEXISTS};

    assert_int_equal(jobs_kv_write(fx->store, run_ops, &o), JOBS_EEXISTS);
    assert_null(get(fx->store, "user", "7"));
    assert_null(get(fx->store, "user.name", "alice"));
    /* the failure is injected by the store this time: a key too long for the second put */
    memset(big, 'k', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    o = (ops){bad, 2, 0};
    assert_int_equal(jobs_kv_write(fx->store, run_ops, &o), JOBS_EINVAL);
    assert_null(get(fx->store, "user", "8"));
    /* and whole when it succeeds */
    o = (ops){v, 2, 0};
    assert_int_equal(jobs_kv_write(fx->store, run_ops, &o), 0);
    assert_string_equal(get(fx->store, "user", "7"), "alice");
    assert_string_equal(get(fx->store, "user.name", "alice"), "7");
    assert_int_equal(jobs_store_check(fx->store), 0);
}

typedef struct limits {
    int rc[16];
} limits;

static int try_limits(jobs_kv_txn *txn, void *ctx)
{
    limits *l = ctx;
    static char big[JOBS_KV_VALUE_MAX + 2];
    char ns[JOBS_KV_NAMESPACE_MAX + 2], key[JOBS_KV_KEY_MAX + 2], buf[4];
    size_t len = 99;
    int i = 0;

    memset(ns, 'n', sizeof(ns));
    ns[JOBS_KV_NAMESPACE_MAX] = '\0'; /* the longest namespace */
    memset(key, 'k', sizeof(key));
    l->rc[i++] = jobs_kv_put(txn, ns, key, JOBS_KV_KEY_MAX, big, JOBS_KV_VALUE_MAX);
    ns[JOBS_KV_NAMESPACE_MAX] = 'n';
    ns[JOBS_KV_NAMESPACE_MAX + 1] = '\0';
    l->rc[i++] = jobs_kv_put(txn, ns, "k", 1, "v", 1);                    /* 65-byte ns */
    l->rc[i++] = jobs_kv_put(txn, "ok", key, JOBS_KV_KEY_MAX + 1, "v", 1); /* long key */
    l->rc[i++] = jobs_kv_put(txn, "ok", key, 0, "v", 1);                  /* empty key */
    l->rc[i++] = jobs_kv_put(txn, "ok", "k", 1, big, JOBS_KV_VALUE_MAX + 1);
    l->rc[i++] = jobs_kv_put(txn, "", "k", 1, "v", 1);
    l->rc[i++] = jobs_kv_put(txn, "Upper", "k", 1, "v", 1);
    l->rc[i++] = jobs_kv_put(txn, "#ids", "k", 1, "v", 1);
    l->rc[i++] = jobs_kv_put(txn, NULL, "k", 1, "v", 1);
    l->rc[i++] = jobs_kv_put(txn, "ok", "k", 1, "value", 5);
    /* a buffer too small: the first bytes and the length, JOBS_ERANGE */
    l->rc[i++] = jobs_kv_get(txn, "ok", "k", 1, buf, sizeof(buf), &len);
    l->rc[i++] = len == 5 && memcmp(buf, "valu", 4) == 0 ? 0 : -99;
    l->rc[i++] = jobs_kv_get(txn, "ok", "k", 1, NULL, 0, &len);
    l->rc[i++] = jobs_kv_scan(txn, "ok", NULL, 0, 0, NULL, NULL);
    return 0;
}

static void test_limits(void **state)
{
    fixture *fx = *state;
    const int want[] = {0,           JOBS_EINVAL, JOBS_EINVAL, JOBS_EINVAL, JOBS_ERANGE,
                        JOBS_EINVAL, JOBS_EINVAL, JOBS_EINVAL, JOBS_EINVAL, 0,
                        JOBS_ERANGE, 0,           JOBS_ERANGE, JOBS_EINVAL};
    limits l;

    memset(&l, 0, sizeof(l));
    assert_int_equal(jobs_kv_write(fx->store, try_limits, &l), 0);
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        if (l.rc[i] != want[i])
            fail_msg("case %zu: %s, expected %s", i, jobs_err_name(l.rc[i]),
                     jobs_err_name(want[i]));
    assert_int_equal(jobs_kv_write(NULL, try_limits, &l), JOBS_EINVAL);
    assert_int_equal(jobs_kv_write(fx->store, NULL, NULL), JOBS_EINVAL);
    assert_int_equal(jobs_kv_read(fx->store, NULL, NULL), JOBS_EINVAL);
    assert_int_equal(jobs_store_check(fx->store), 0);
}

static int write_in_read(jobs_kv_txn *txn, void *ctx)
{
    uint64_t id;
    int *rc = ctx;

    rc[0] = jobs_kv_put(txn, "ns", "k", 1, "v", 1);
    rc[1] = jobs_kv_delete(txn, "ns", "k", 1);
    rc[2] = jobs_kv_next_id(&id, txn, "ns");
    rc[3] = jobs_kv_reserve_ids(txn, "ns", 5);
    return 0;
}

static void test_read_transaction_refuses_writes(void **state)
{
    fixture *fx = *state;
    int rc[4];

    assert_int_equal(jobs_kv_read(fx->store, write_in_read, rc), 0);
    for (int i = 0; i < 4; i++)
        assert_int_equal(rc[i], JOBS_EINVAL);
    assert_null(get(fx->store, "ns", "k"));
}

/* ---- check, stat, backup, old stores ------------------------------------------------------- */

static uint64_t records(jobs_store *s)
{
    jobs_store_stat_info st = JOBS_STORE_STAT_INFO_INIT;
    assert_int_equal(jobs_store_stat(&st, s), 0);
    return st.records;
}

static void test_stat_counts_records_not_counters(void **state)
{
    fixture *fx = *state;
    jobs_store_stat_info v1 = JOBS_STORE_STAT_INFO_INIT;

    assert_int_equal(records(fx->store), 0);
    assert_int_equal(put(fx->store, "a", "1", "x"), 0);
    assert_int_equal(put(fx->store, "b", "1", "x"), 0);
    next_id(fx->store, "a");
    assert_int_equal(records(fx->store), 2);
    /* a version-1 caller's struct ends before the field: nothing past it is written */
    v1.version = 1;
    v1.records = 12345;
    assert_int_equal(jobs_store_stat(&v1, fx->store), 0);
    assert_int_equal(v1.records, 12345);
}

/* Writes (or, val NULL, deletes) a record of the "kv" database with LMDB directly (the store closed). */
static void poke(const char *path, const void *key, size_t klen, const void *val, size_t vlen,
                 bool drop)
{
    MDB_env *env = NULL;
    MDB_txn *txn = NULL;
    MDB_dbi dbi;
    MDB_val k = {klen, (void *)key}, v = {vlen, (void *)val};

    assert_int_equal(mdb_env_create(&env), 0);
    assert_int_equal(mdb_env_set_maxdbs(env, 64), 0);
    assert_int_equal(mdb_env_open(env, path, 0, 0600), 0);
    assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
    assert_int_equal(mdb_dbi_open(txn, "kv", 0, &dbi), 0);
    if (drop)
        assert_int_equal(mdb_drop(txn, dbi, 1), 0);
    else if (!val)
        assert_int_equal(mdb_del(txn, dbi, &k, NULL), 0);
    else
        assert_int_equal(mdb_put(txn, dbi, &k, &v, 0), 0);
    assert_int_equal(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
}

static void test_check_finds_malformed_records(void **state)
{
    FX_LMDB_ONLY(); /* LMDB: damages LMDB keys (test_postgres damages tables) */
    fixture *fx = *state;

    assert_int_equal(put(fx->store, "ok", "k", "v"), 0);
    next_id(fx->store, "ok");
    assert_int_equal(jobs_store_check(fx->store), 0);
    fx_close(fx);
    poke(fx->path, "\x02" "AB" "k", 4, "v", 1, false); /* a namespace no caller can name */
    fx_open(fx);
    assert_int_equal(jobs_store_check(fx->store), JOBS_ECORRUPT);
    fx_close(fx);
    poke(fx->path, "\x02" "AB" "k", 4, NULL, 0, false);
    poke(fx->path, "\x04#ids" "ok", 7, "\0\0\0", 3, false); /* a 3-byte counter */
    fx_open(fx);
    assert_int_equal(jobs_store_check(fx->store), JOBS_ECORRUPT);
    assert_int_equal(jobs_kv_write(fx->store, take_ids, &(ids){"ok", {0}, 1, 0, 0}),
                     JOBS_ECORRUPT);
}

/* A store made before namespaced records (no "kv" database): read-only it opens and has none;
 * read-write it gets the database and works. */
static void test_old_store_gets_the_database(void **state)
{
    FX_LMDB_ONLY(); /* LMDB: an LMDB store made before the records */
    fixture *fx = *state;

    assert_int_equal(put(fx->store, "x", "k", "v"), 0);
    fx_close(fx);
    poke(fx->path, NULL, 0, NULL, 0, true); /* mdb_drop(.., 1): the database is gone */
    fx->opts.flags |= JOBS_STORE_READONLY;
    fx_open(fx);
    assert_null(get(fx->store, "x", "k"));
    assert_string_equal(list(fx->store, "x", NULL, 0), "");
    assert_int_equal(jobs_store_check(fx->store), 0);
    assert_int_equal(records(fx->store), 0);
    assert_int_equal(put(fx->store, "x", "k", "v"), JOBS_EREADONLY);
    fx_close(fx);
    fx->opts.flags &= ~(unsigned)JOBS_STORE_READONLY;
    fx_open(fx);
    assert_null(get(fx->store, "x", "k"));
    assert_int_equal(put(fx->store, "x", "k", "again"), 0);
    assert_int_equal(next_id(fx->store, "x"), 1);
    fx_reopen(fx);
    assert_string_equal(get(fx->store, "x", "k"), "again");
    assert_int_equal(jobs_store_check(fx->store), 0);
}

static void test_backup_keeps_records(void **state)
{
    FX_LMDB_ONLY(); /* LMDB: backup files (PostgreSQL: JOBS_ENOTSUP) */
    fixture *fx = *state;
    char dest[PATH_MAX + 16];
    jobs_store_options o = JOBS_STORE_OPTIONS_INIT;
    jobs_store *copy = NULL;

    assert_int_equal(put(fx->store, "sessions", "t1", "alice"), 0);
    assert_int_equal(next_id(fx->store, "users"), 1);
    snprintf(dest, sizeof(dest), "%s/backup", fx->dir);
    assert_int_equal(jobs_store_backup(fx->store, dest), 0);
    fx_close(fx);
    o.path = dest;
    o.flags = JOBS_STORE_READONLY;
    assert_int_equal(jobs_store_open(&copy, &o), 0);
    assert_string_equal(get(copy, "sessions", "t1"), "alice");
    jobs_store_close(copy);
    o.flags = 0;
    assert_int_equal(jobs_store_open(&copy, &o), 0);
    assert_int_equal(next_id(copy, "users"), 2); /* the counter came along */
    jobs_store_close(copy);
}

/* A write that outgrows the map: the backend grows it and runs the callback again from the
 * start, which counts its puts afresh; every value is there afterwards. */
typedef struct big {
    unsigned runs;
    size_t puts;
} big;

static int put_big(jobs_kv_txn *txn, void *ctx)
{
    static unsigned char value[60000];
    big *b = ctx;
    char key[16];
    int rc;

    b->runs++;
    b->puts = 0;
    for (int i = 0; i < 40; i++) {
        memset(value, 'a' + i % 26, sizeof(value));
        snprintf(key, sizeof(key), "k%03d", i);
        if ((rc = jobs_kv_put(txn, "big", key, strlen(key), value, sizeof(value))))
            return rc;
        b->puts++;
    }
    return 0;
}

static void test_a_write_that_outgrows_the_map_is_run_again(void **state)
{
    FX_LMDB_ONLY(); /* LMDB: the map's growth */
    fixture *fx = *state;
    big b = {0, 0};

    fx->lmdb.map_size = 256 << 10; /* 40 values of 60 KB do not fit */
    fx_open(fx);
    assert_int_equal(jobs_kv_write(fx->store, put_big, &b), 0);
    assert_true(b.runs > 1);
    assert_int_equal(b.puts, 40);
    assert_int_equal(records(fx->store), 40);
    assert_int_equal(jobs_store_check(fx->store), 0);
}

/* A callback's own code is the host's, whatever its value: -1000 once made the LMDB backend
 * take it for its own "the map is full", grow the map and run the callback again until the
 * address space ran out, and the next call on the handle crashed. */
static int put_then_fail(jobs_kv_txn *txn, void *ctx)
{
    unsigned *runs = ctx;

    (*runs)++;
    if (jobs_kv_put(txn, "ns", "k", 1, "v", 1))
        return -1;
    return -1000;
}

static void test_a_callbacks_own_code_is_returned_as_it_is(void **state)
{
    fixture *fx = *state;
    unsigned runs = 0;

    assert_int_equal(jobs_kv_write(fx->store, put_then_fail, &runs), -1000);
    assert_int_equal(runs, 1);
    assert_int_equal(records(fx->store), 0);
    assert_int_equal(jobs_store_check(fx->store), 0);
}

/* With no address space left to grow the map, a write answers JOBS_ENOSPC and the store goes
 * on (reads, and writes that fit). It once left LMDB without a map, and the next call
 * crashed. In a child limited by RLIMIT_AS; not under AddressSanitizer, whose shadow memory
 * needs more address space than any such limit allows. */
static int put_64k(jobs_kv_txn *txn, void *ctx)
{
    static unsigned char value[65536];
    unsigned *i = ctx;
    char key[16];

    snprintf(key, sizeof(key), "k%06u", *i);
    return jobs_kv_put(txn, "big", key, strlen(key), value, sizeof(value));
}

static void test_a_map_that_cannot_grow_answers_enospc(void **state)
{
    FX_LMDB_ONLY(); /* LMDB: the map's growth */
#if defined(__SANITIZE_ADDRESS__)
    skip();
#endif
    fixture *fx = *state;
    pid_t pid;
    int status;

    fx->lmdb.map_size = 1 << 20;
    fx->lmdb.max_map_size = 0;
    fx_open(fx);
    fflush(NULL);
    assert_true((pid = fork()) >= 0);
    if (pid == 0) {
        struct rlimit rl;
        unsigned long vm = 0;
        char line[128];
        FILE *f = fopen("/proc/self/status", "r");
        unsigned i;
        int rc = 0;

        while (f && fgets(line, sizeof(line), f))
            if (sscanf(line, "VmSize: %lu kB", &vm) == 1)
                break;
        if (f)
            fclose(f);
        rl.rlim_cur = rl.rlim_max = (vm + 96 * 1024) * 1024; /* 96 MiB more than now */
        if (vm == 0 || setrlimit(RLIMIT_AS, &rl) != 0)
            _exit(2);
        for (i = 0; i < 100000 && (rc = jobs_kv_write(fx->store, put_64k, &i)) == 0; i++)
            ;
        if (rc != JOBS_ENOSPC || i < 8)
            _exit(3);
        if (jobs_store_check(fx->store) != 0 || records(fx->store) != i)
            _exit(4);
        _exit(0);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_put_get_delete, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_namespaces_are_isolated, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_scan_in_key_order_with_limit, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_ids_are_never_reused, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_one_transaction_is_whole_or_nothing, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_limits, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_read_transaction_refuses_writes, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_stat_counts_records_not_counters, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_check_finds_malformed_records, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_old_store_gets_the_database, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_backup_keeps_records, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_a_write_that_outgrows_the_map_is_run_again,
                                        fx_setup_closed, fx_teardown),
        cmocka_unit_test_setup_teardown(test_a_callbacks_own_code_is_returned_as_it_is,
                                        fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_a_map_that_cannot_grow_answers_enospc,
                                        fx_setup_closed, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
