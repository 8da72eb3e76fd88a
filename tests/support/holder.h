/**
 * @file holder.h
 * @brief Another process in the way: a child that takes something of a store (its LMDB write
 * lock, or the store opened) and holds it until the test releases it.
 *
 * The helpers assert with cmocka: call them from the test's own thread.
 */
#ifndef JOBS_TEST_HOLDER_H
#define JOBS_TEST_HOLDER_H

#include <sys/types.h>

/** A holding child process. */
typedef struct fx_holder {
    pid_t pid; /**< the child */
    int go;    /**< write end of its pipe: closing it makes the child let go and exit */
} fx_holder;

/** Forks a child that takes the LMDB write lock of the store in `path` with raw LMDB (a write
 * transaction) and returns once it holds it. */
void fx_hold_lmdb_write_lock(fx_holder *h, const char *path);

/** Forks a child that opens the store in `path` (jobs_store_open) and returns once it is open. */
void fx_hold_store_open(fx_holder *h, const char *path);

/** Forks a child that opens the LMDB environment in `path` with raw LMDB, as an earlier libjobs
 * would (whatever the schema; nothing is read or written), and returns once it is open. */
void fx_hold_lmdb_env_open(fx_holder *h, const char *path);

/** Makes the child let go, and asserts that it exits 0. */
void fx_release(fx_holder *h);

#endif
