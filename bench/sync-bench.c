/* sync-bench: what one durable commit of one small write costs, by how it is flushed
 * (docs/storage.md, "One flush per commit?"): raw LMDB with its default sync (the data pages
 * flushed, then the meta page written through an O_DSYNC descriptor: two flushes), with
 * MDB_NOMETASYNC (one flush: the meta page is left for the next commit's), with MDB_NOSYNC, and
 * SQLite in WAL mode with synchronous=FULL (one flush of the log per commit) and NORMAL.
 * Engines interleaved in rounds, the best round counts.
 *
 *   sync-bench [--commits N] [--rounds R] [--tmpdir DIR]
 */
#include <errno.h>
#include <lmdb.h>
#include <math.h>
#include <stdbool.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MODES 5

static const char *const names[MODES] = {
    "LMDB default (data flush + O_DSYNC meta)", "LMDB MDB_NOMETASYNC (one flush)",
    "LMDB MDB_NOSYNC (no flush)", "SQLite WAL synchronous=FULL", "SQLite WAL synchronous=NORMAL"};

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void die(const char *what, const char *detail)
{
    fprintf(stderr, "sync-bench: %s: %s\n", what, detail);
    exit(1);
}

static double run_lmdb(const char *dir, unsigned int flags, int commits)
{
    MDB_env *env;
    MDB_dbi dbi;
    MDB_txn *txn;
    unsigned char value[100] = {0};
    int rc;

    if ((rc = mdb_env_create(&env)) || (rc = mdb_env_set_mapsize(env, (size_t)64 << 20)) ||
        (rc = mdb_env_open(env, dir, flags, 0600)))
        die("mdb_env_open", mdb_strerror(rc));
    if ((rc = mdb_txn_begin(env, NULL, 0, &txn)) || (rc = mdb_dbi_open(txn, NULL, 0, &dbi)) ||
        (rc = mdb_txn_commit(txn)))
        die("mdb_dbi_open", mdb_strerror(rc));
    double t0 = now_s();
    for (int i = 0; i < commits; i++) {
        unsigned long long k = (unsigned long long)i;
        MDB_val key = {sizeof(k), &k}, val = {sizeof(value), value};

        if ((rc = mdb_txn_begin(env, NULL, 0, &txn)) || (rc = mdb_put(txn, dbi, &key, &val, 0)) ||
            (rc = mdb_txn_commit(txn)))
            die("commit", mdb_strerror(rc));
    }
    double t = now_s() - t0;
    mdb_env_close(env);
    return t / commits;
}

static double run_sqlite(const char *dir, bool full, int commits)
{
    char path[4400], *err = NULL;
    sqlite3 *db;
    sqlite3_stmt *st;
    int n = snprintf(path, sizeof(path), "%s/db.sqlite", dir);

    if (n < 0 || (size_t)n >= sizeof(path))
        die("path too long", dir);
    if (sqlite3_open(path, &db) != SQLITE_OK)
        die("sqlite3_open", sqlite3_errmsg(db));
    if (sqlite3_exec(db, full ? "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
                                "CREATE TABLE t(k INTEGER PRIMARY KEY, v BLOB);"
                              : "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                                "CREATE TABLE t(k INTEGER PRIMARY KEY, v BLOB);",
                     NULL, NULL, &err) != SQLITE_OK)
        die("sqlite3_exec", err);
    if (sqlite3_prepare_v2(db, "INSERT INTO t VALUES (?, zeroblob(100))", -1, &st, NULL))
        die("prepare", sqlite3_errmsg(db));
    double t0 = now_s();
    for (int i = 0; i < commits; i++) {
        sqlite3_bind_int64(st, 1, i);
        if (sqlite3_step(st) != SQLITE_DONE)
            die("insert", sqlite3_errmsg(db));
        sqlite3_reset(st);
    }
    double t = now_s() - t0;
    sqlite3_finalize(st);
    sqlite3_close(db);
    return t / commits;
}

int main(int argc, char **argv)
{
    int commits = 300, rounds = 3;
    const char *tmp = getenv("TMPDIR") && getenv("TMPDIR")[0] ? getenv("TMPDIR") : "/tmp";
    double best[MODES];
    char base[4000], dir[4200];

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--commits") == 0 && i + 1 < argc)
            commits = atoi(argv[++i]);
        else if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc)
            rounds = atoi(argv[++i]);
        else if (strcmp(argv[i], "--tmpdir") == 0 && i + 1 < argc)
            tmp = argv[++i];
        else {
            fprintf(stderr, "usage: sync-bench [--commits N] [--rounds R] [--tmpdir DIR]\n");
            return 2;
        }
    }
    if (commits < 1 || rounds < 1)
        die("arguments", "--commits and --rounds take 1 or more");
    int blen = snprintf(base, sizeof(base), "%s/sync-bench.XXXXXX", tmp);
    if (blen < 0 || (size_t)blen >= sizeof(base))
        die("path too long", tmp);
    if (!mkdtemp(base))
        die("mkdtemp", strerror(errno));
    for (int m = 0; m < MODES; m++)
        best[m] = INFINITY;
    for (int r = 0; r < rounds; r++)
        for (int k = 0; k < MODES; k++) {
            int m = (k + r) % MODES;
            double t;

            int len = snprintf(dir, sizeof(dir), "%s/r%d-m%d", base, r, m);
            if (len < 0 || (size_t)len >= sizeof(dir))
                die("path too long", base);
            if (mkdir(dir, 0700) != 0)
                die("mkdir", strerror(errno));
            t = m == 0   ? run_lmdb(dir, 0, commits)
                : m == 1 ? run_lmdb(dir, MDB_NOMETASYNC, commits)
                : m == 2 ? run_lmdb(dir, MDB_NOSYNC, commits)
                         : run_sqlite(dir, m == 3, commits);
            best[m] = fmin(best[m], t);
            char cmd[4400];
            int n = snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
            if (n < 0 || (size_t)n >= sizeof(cmd) || system(cmd) != 0)
                die("rm", dir);
        }
    rmdir(base);
    printf("durable commits of one 100-byte put, %d per round, best of %d rounds (in %s):\n",
           commits, rounds, tmp);
    for (int m = 0; m < MODES; m++)
        printf("  %-44s %9.1f us per commit  %6.2fx LMDB default\n", names[m], best[m] * 1e6,
               best[0] / best[m]);
    return 0;
}
