/* A child process that holds something of a store until released (holder.h). */
#include "holder.h"

#include "jobs.h"

#include <lmdb.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

/* In the child: takes the thing (a handle, or NULL when it cannot), and lets it go. */
typedef void *(*take_fn)(const char *path);
typedef void (*let_go_fn)(void *held);

/* The child tells the parent on `ready` once it holds, then waits for `go` to close. */
static void hold(fx_holder *h, const char *path, take_fn take, let_go_fn let_go)
{
    int ready[2], go[2];
    char b;

    assert_int_equal(pipe(ready), 0);
    assert_int_equal(pipe(go), 0);
    h->pid = fork();
    assert_true(h->pid >= 0);
    if (h->pid == 0) {
        void *held;

        close(ready[0]);
        close(go[1]);
        if (!(held = take(path)))
            _exit(2);
        if (write(ready[1], "r", 1) != 1)
            _exit(3);
        (void)read(go[0], &b, 1);
        let_go(held);
        _exit(0);
    }
    close(ready[1]);
    close(go[0]);
    assert_int_equal(read(ready[0], &b, 1), 1);
    close(ready[0]);
    h->go = go[1];
}

void fx_release(fx_holder *h)
{
    int status;

    close(h->go);
    assert_int_equal(waitpid(h->pid, &status, 0), h->pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void *take_write_lock(const char *path)
{
    MDB_env *env;
    MDB_txn *txn;

    if (mdb_env_create(&env) || mdb_env_set_maxdbs(env, 16) ||
        mdb_env_open(env, path, MDB_NOTLS, 0600) || mdb_txn_begin(env, NULL, 0, &txn))
        return NULL;
    return txn;
}

static void let_go_write_lock(void *held)
{
    MDB_txn *txn = held;
    MDB_env *env = mdb_txn_env(txn);

    mdb_txn_abort(txn);
    mdb_env_close(env);
}

void fx_hold_lmdb_write_lock(fx_holder *h, const char *path)
{
    hold(h, path, take_write_lock, let_go_write_lock);
}

static void *take_open(const char *path)
{
    jobs_store_options o = JOBS_STORE_OPTIONS_INIT;
    jobs_store *s;

    o.path = path;
    return jobs_store_open(&s, &o) == 0 ? s : NULL;
}

static void let_go_open(void *held)
{
    jobs_store_close(held);
}

void fx_hold_store_open(fx_holder *h, const char *path)
{
    hold(h, path, take_open, let_go_open);
}

static void *take_env(const char *path)
{
    MDB_env *env;

    if (mdb_env_create(&env))
        return NULL;
    if (mdb_env_set_maxdbs(env, 32) || mdb_env_open(env, path, MDB_NOTLS, 0600)) {
        mdb_env_close(env);
        return NULL;
    }
    return env;
}

static void let_go_env(void *held)
{
    mdb_env_close(held);
}

void fx_hold_lmdb_env_open(fx_holder *h, const char *path)
{
    hold(h, path, take_env, let_go_env);
}
