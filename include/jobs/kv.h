/**
 * @file jobs/kv.h
 * @brief Namespaced records: small byte values of the host's own, kept in the store.
 *
 * A host that keeps a little state of its own beside the jobs (jobs-server keeps its users and
 * sessions) can keep it in the store, in the store's transactions, on every backend, instead of
 * in files of its own. The library never reads the bytes: it stores a value under a
 * (namespace, key) pair, hands it back, deletes it, lists a namespace in key order, and counts
 * ids per namespace that are never given twice.
 *
 * Everything happens inside a transaction: jobs_kv_write() runs the host's callback in a write
 * transaction and commits what it did only when the callback returns 0, so several puts and
 * deletes (a record and its index, a session and the eviction of an older one) happen whole or
 * not at all; jobs_kv_read() runs it in a read transaction (one consistent snapshot).
 *
 * Namespaces are 1..#JOBS_KV_NAMESPACE_MAX bytes of `a-z 0-9 . _ -`; keys are
 * 1..#JOBS_KV_KEY_MAX bytes, values 0..#JOBS_KV_VALUE_MAX bytes, both any bytes. Keys sort as
 * unsigned bytes (memcmp, then the shorter first), so a key that starts with a big-endian number
 * lists in that number's order. Namespaces never see each other's keys or ids.
 */
#ifndef JOBS_KV_H
#define JOBS_KV_H

#include "store.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Longest namespace, in bytes. */
#define JOBS_KV_NAMESPACE_MAX 64
/** Longest key, in bytes. */
#define JOBS_KV_KEY_MAX 256
/** Largest value, in bytes. */
#define JOBS_KV_VALUE_MAX 65536

/**
 * A transaction of namespaced records, handed to a jobs_kv_fn. Valid only inside that call;
 * belongs to the thread the call runs on.
 */
typedef struct jobs_kv_txn jobs_kv_txn;

/**
 * The host's side of a transaction (jobs_kv_write(), jobs_kv_read()).
 *
 * Returns 0 to commit (a read has nothing to commit), or a negative code to abort: nothing it
 * wrote stays, and the code is what jobs_kv_write() returns. Return the code of a jobs_kv_* call
 * that failed unchanged: a backend may use one internally to run the callback again.
 *
 * A write callback may run more than once (from the start, with nothing of an earlier run kept,
 * e.g. after the store grew its file), so it resets whatever it accumulates in `ctx`; and it may
 * run on another thread that writes at the same time (group commit). It calls only jobs_kv_*
 * functions with `txn`, never another function on the store (which would wait for itself), and
 * does not wait for anything slow: every writer of the store waits while it runs.
 *
 * @param txn  the transaction
 * @param ctx  the caller's pointer, as given
 */
typedef int (*jobs_kv_fn)(jobs_kv_txn *txn, void *ctx);

/**
 * Runs `fn` in a write transaction and commits what it did when it returns 0: all of its puts,
 * deletes and ids, or (on any failure) none of them. Returns once the commit is durable.
 * Thread-safe; other processes with the store open see the commit at once.
 *
 * @param store  the store
 * @param fn     the host's callback (see jobs_kv_fn for what it may do)
 * @param ctx    passed to `fn`
 * @return 0 when committed; the callback's nonzero code (nothing committed); JOBS_EINVAL (no
 *         store or callback), JOBS_EREADONLY (a store opened read-only), JOBS_ENOSPC, or
 *         another error of the store.
 */
JOBS_EXTERN int jobs_kv_write(jobs_store *store, jobs_kv_fn fn, void *ctx);

/**
 * Runs `fn` in a read transaction: one snapshot, unchanged by writes committed while it runs.
 * jobs_kv_put(), jobs_kv_delete(), jobs_kv_next_id() and jobs_kv_reserve_ids() answer
 * JOBS_EINVAL in it. Thread-safe; blocks no writer.
 *
 * @param store  the store
 * @param fn     the host's callback; it calls only jobs_kv_* functions with its `txn`
 * @param ctx    passed to `fn`
 * @return 0, the callback's nonzero code, JOBS_EINVAL, or an error of the store.
 */
JOBS_EXTERN int jobs_kv_read(jobs_store *store, jobs_kv_fn fn, void *ctx);

/**
 * Reads the value of (`ns`, `key`) into `buf`.
 *
 * @param txn   the transaction (read or write)
 * @param ns    the namespace (NUL-terminated)
 * @param key   the key, `key_len` bytes
 * @param key_len  1..JOBS_KV_KEY_MAX
 * @param[out] buf  receives min(value length, `size`) bytes; may be NULL when `size` is 0
 * @param size  the room in `buf`
 * @param[out] len  the value's length (also when it did not fit); may be NULL
 * @return 0; JOBS_ENOTFOUND (no such record: *len is 0); JOBS_ERANGE (the value is longer than
 *         `size`: `buf` holds its first `size` bytes and *len its length); JOBS_EINVAL (a
 *         malformed namespace or key); or an error of the store.
 */
JOBS_EXTERN int jobs_kv_get(jobs_kv_txn *txn, const char *ns, const void *key, size_t key_len,
                            void *buf, size_t size, size_t *len);

/**
 * Sets the value of (`ns`, `key`), replacing any.
 *
 * @param txn   a write transaction
 * @param ns    the namespace
 * @param key   the key, 1..JOBS_KV_KEY_MAX bytes
 * @param key_len  its length
 * @param value the value, `value_len` (0..JOBS_KV_VALUE_MAX) bytes; may be NULL when 0
 * @param value_len  its length
 * @return 0; JOBS_EINVAL (a read transaction, a malformed namespace or key); JOBS_ERANGE (the
 *         value is longer than JOBS_KV_VALUE_MAX); or an error of the store.
 */
JOBS_EXTERN int jobs_kv_put(jobs_kv_txn *txn, const char *ns, const void *key, size_t key_len,
                            const void *value, size_t value_len);

/**
 * Deletes the record of (`ns`, `key`).
 *
 * @param txn   a write transaction
 * @param ns    the namespace
 * @param key   the key
 * @param key_len  its length
 * @return 0; JOBS_ENOTFOUND (there was none); JOBS_EINVAL; or an error of the store.
 */
JOBS_EXTERN int jobs_kv_delete(jobs_kv_txn *txn, const char *ns, const void *key,
                               size_t key_len);

/**
 * Takes the next id of namespace `ns`: 1, 2, 3, ... Ids are never given twice, even when the
 * records that used them are deleted, and each namespace counts its own. (A namespace's ids
 * exist apart from its records: taking one writes no record.)
 *
 * @param[out] id  the id, 1..JOBS_ID_MAX
 * @param txn   a write transaction
 * @param ns    the namespace
 * @return 0; JOBS_ERANGE (every id up to JOBS_ID_MAX is taken); JOBS_EINVAL; or an error of
 *         the store.
 */
JOBS_EXTERN int jobs_kv_next_id(uint64_t *id, jobs_kv_txn *txn, const char *ns);

/**
 * Marks ids 1..`last` of namespace `ns` as taken, so that jobs_kv_next_id() gives more than
 * `last` from now on (ids taken before stay taken: a `last` below them changes nothing). For a
 * host that brings ids from elsewhere, such as an import.
 *
 * @param txn   a write transaction
 * @param ns    the namespace
 * @param last  the highest id taken, 0..JOBS_ID_MAX
 * @return 0; JOBS_ERANGE (`last` above JOBS_ID_MAX); JOBS_EINVAL; or an error of the store.
 */
JOBS_EXTERN int jobs_kv_reserve_ids(jobs_kv_txn *txn, const char *ns, uint64_t last);

/**
 * What jobs_kv_scan() calls for each record: its key and value, valid only during the call.
 * Returns 0 to go on, a positive number to stop (jobs_kv_scan() then returns 0), or a negative
 * code to stop with that code. It must not write in the transaction: collect the keys to delete
 * and delete them after the scan.
 */
typedef int (*jobs_kv_scan_fn)(void *ctx, const void *key, size_t key_len, const void *value,
                               size_t value_len);

/**
 * Calls `fn` for the records of namespace `ns` in key order, from the first key at or after
 * `from` (NULL or `from_len` 0: from the first), at most `limit` of them (0: no limit).
 *
 * @param txn   the transaction (read or write)
 * @param ns    the namespace
 * @param from  where to start, `from_len` (0..JOBS_KV_KEY_MAX) bytes
 * @param from_len  its length
 * @param limit the most records to call `fn` for; 0 for all
 * @param fn    called for each record
 * @param ctx   passed to `fn`
 * @return 0 (the end, the limit, or `fn` stopped); `fn`'s negative code; JOBS_EINVAL; or an
 *         error of the store.
 */
JOBS_EXTERN int jobs_kv_scan(jobs_kv_txn *txn, const char *ns, const void *from,
                             size_t from_len, size_t limit, jobs_kv_scan_fn fn, void *ctx);

#ifdef __cplusplus
}
#endif

#endif
