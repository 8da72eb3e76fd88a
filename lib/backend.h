/* The storage seam: what the rules (jobs.c, schedules.c, stacks.c, scheduler.c, page.c,
 * idempotency.c, lifecycle.c) ask of a backend, and nothing else. In the manner of libgit2's
 * git_refdb_backend: a table of functions over records, with the backend's own state behind it.
 * Two backends fill it: LMDB (lib/lmdb/, the embedded default) and PostgreSQL (lib/postgres/,
 * built with JOBS_POSTGRES); docs/architecture.md says how a backend is added.
 *
 * Every record operation runs inside a transaction the backend opened (read or write) and
 * handed to the rules' callback as an opaque jobs__txn. A public call is one transaction: it
 * happens whole or not at all. Operations return 0 or a negative JOBS_E* code (with
 * jobs_error_last() set), JOBS_ENOTFOUND without a detail where the rules word their own.
 * Backend-private codes (the LMDB backend's "map full, grow and retry") may pass through the
 * rules, which return any error they do not handle unchanged.
 *
 * What a backend keeps in step by itself, inside the operation that changes a record: every
 * index (owner order, names, due order, visibility), per-owner counts, schedule reference
 * counts, the store-wide count of jobs queued for deletion. What the rules decide and a
 * backend never does: visibility, the name and schedule-in-use rules, next_run, entity tags,
 * idempotency expiry. */
#ifndef JOBS_LIB_BACKEND_H
#define JOBS_LIB_BACKEND_H

#include "records.h"

/* A backend's transaction, opaque to the rules. Valid only inside the callback it is given to. */
typedef struct jobs__txn jobs__txn;
typedef struct jobs__backend jobs__backend;

/* The rules' side of a transaction: returns 0 (commit, for a write) or a JOBS_E* code (abort:
 * nothing of it stays). A write callback may run more than once (the backend may retry it from
 * the start, e.g. after growing its storage), so it resets whatever it accumulates in ctx; and
 * it may run on another caller's thread (group commit), so it depends on nothing of the calling
 * thread and never calls into the host. */
typedef int (*jobs__txn_fn)(jobs_store *s, jobs__txn *txn, void *ctx);

/* The due scan's callback: a job due at `slot`. Returns 0 to go on, or an error to stop. */
typedef int (*jobs__due_fn)(void *ctx, uint64_t id, int64_t slot);

/* The copy's scans (rec_scan, idem_scan, kv_scan_all): 0 to go on, > 0 to stop, < 0 an error. */
typedef int (*jobs__rec_fn)(void *ctx, uint64_t id, const void *data, size_t len);
typedef int (*jobs__idem_fn)(void *ctx, uint64_t owner, jobs__kind kind, const char *key,
                             size_t len, const jobs__idem_rec *rec);
typedef int (*jobs__kv_all_fn)(void *ctx, const char *ns, size_t ns_len, const void *key,
                               size_t key_len, const void *value, size_t value_len);

/* Where a record's list entry is: a job and a schedule under their owner; a stack under
 * JOBS_OWNER_PUBLIC when public, else under its owner. Pages and counts are per list owner. */

struct jobs__backend {
    const char *name; /* "lmdb": jobs_store_stat_info.backend */

    /* ---- the store as a whole (no transaction held) ------------------------------------- */
    /* Runs `fn` in a read transaction (a snapshot) and returns its code. */
    int (*read)(jobs_store *s, jobs__txn_fn fn, void *ctx);
    /* Runs `fn` in a write transaction and commits it when `fn` returns 0; returns 0 only once
     * the commit is durable (as the store's options define durable). Concurrent writes may
     * share one commit; each is still whole or nothing, and told only its own result. A
     * store opened read-only answers JOBS_EREADONLY without calling `fn`. */
    int (*write)(jobs_store *s, jobs__txn_fn fn, void *ctx);
    /* Frees everything; every call on the store has returned. */
    void (*close)(jobs_store *s);
    /* Fills the store-wide counts and the backend's own figures of jobs_store_stat_info. */
    int (*stat)(jobs_store *s, jobs_store_stat_info *out);
    /* jobs_store_check(): every record decodes, every index and count agrees (JOBS_ECORRUPT
     * with a detail otherwise). */
    int (*check)(jobs_store *s);
    /* jobs_store_backup(): a consistent copy in the new or empty directory `dest`. */
    int (*backup)(jobs_store *s, const char *dest);

    /* ---- ids ---------------------------------------------------------------------------- */
    /* Takes the next id of a kind: ids are never reused, even after a delete. */
    int (*next_id)(jobs__txn *t, jobs__kind kind, uint64_t *id);
    /* The number of records of `kind` listed under `owner`, in O(1). */
    int (*count)(jobs__txn *t, jobs__kind kind, uint64_t owner, uint64_t *n);
    /* One page of ids in id order: the records listed under `a` and under `b` merged (pass
     * a == b for one owner), skipping the first `skip`, at most `max` into `ids`; *n is how
     * many. A backend keeps a deep page of jobs cheap (the LMDB backend seeks with its counted
     * index; a SQL backend with its own). */
    int (*page)(jobs__txn *t, jobs__kind kind, uint64_t a, uint64_t b, uint64_t skip, size_t max,
                uint64_t *ids, size_t *n);

    /* ---- jobs --------------------------------------------------------------------------- */
    /* Loads a job of any owner: 0, JOBS_ENOTFOUND or JOBS_ECORRUPT. The name stays valid
     * until the transaction's next write, or, with `copy` (JOBS__RECORD_MAX bytes), for as long
     * as `copy` does. */
    int (*job_load)(jobs__txn *t, uint64_t id, jobs__job_rec *rec, unsigned char *copy);
    /* The id of the owner's job of that name: 0 or JOBS_ENOTFOUND. */
    int (*job_by_name)(jobs__txn *t, uint64_t owner, const char *name, size_t len, uint64_t *id);
    /* Adds a new job (its id is above every job id so far) with its indexes and counts. */
    int (*job_insert)(jobs__txn *t, uint64_t id, const jobs__job_rec *rec);
    /* Rewrites a job from `old` (as loaded) to `rec`, same owner; indexes and counts follow. */
    int (*job_update)(jobs__txn *t, uint64_t id, const jobs__job_rec *old,
                      const jobs__job_rec *rec);
    /* Removes a job (`rec` as loaded) with its indexes and counts. */
    int (*job_remove)(jobs__txn *t, uint64_t id, const jobs__job_rec *rec);
    /* Calls `fn` for the active jobs with next_run <= now, in (next_run, id) order, at most
     * `limit` of them (0: no limit). `fn` must not write in the transaction. */
    int (*due_scan)(jobs__txn *t, int64_t now, size_t limit, jobs__due_fn fn, void *ctx);
    /* The earliest next_run of an active job: 0, or JOBS_ENOTFOUND when none is active. */
    int (*due_first)(jobs__txn *t, int64_t *next_run);

    /* ---- schedules ---------------------------------------------------------------------- */
    int (*schedule_load)(jobs__txn *t, uint64_t id, jobs__schedule_rec *rec);
    int (*schedule_insert)(jobs__txn *t, uint64_t id, const jobs__schedule_rec *rec);
    /* Rewrites a schedule's record (its owner does not change); its name entry follows. */
    int (*schedule_update)(jobs__txn *t, uint64_t id, const jobs__schedule_rec *rec);
    /* How many jobs reference the schedule. */
    int (*schedule_refs)(jobs__txn *t, uint64_t id, uint64_t *n);
    /* Removes a schedule (`rec` as loaded, no job referencing it) with its list entry, name
     * entry and its owner's count. */
    int (*schedule_remove)(jobs__txn *t, uint64_t id, const jobs__schedule_rec *rec);

    /* ---- stacks ------------------------------------------------------------------------- */
    int (*stack_load)(jobs__txn *t, uint64_t id, jobs__stack_rec *rec);
    /* Adds a stack with its indexes: the list entry, and the name entries (under its owner,
     * and under JOBS_OWNER_PUBLIC as well when public). */
    int (*stack_insert)(jobs__txn *t, uint64_t id, const jobs__stack_rec *rec);
    /* Rewrites a stack from `old` (as loaded) to `rec`, same owner; the list entry, counts and
     * name entries follow a change of name or visibility. */
    int (*stack_update)(jobs__txn *t, uint64_t id, const jobs__stack_rec *old,
                        const jobs__stack_rec *rec);
    /* The id of the stack named `name` under `owner`: the owner's own stack, or with owner
     * JOBS_OWNER_PUBLIC the public stack of that name with the lowest id. 0 or JOBS_ENOTFOUND.
     * (The rules keep names unique per owner; stores written before that rule may hold two
     * of one owner, and then the lowest id answers.) */
    int (*stack_by_name)(jobs__txn *t, uint64_t owner, const char *name, size_t len,
                         uint64_t *id);
    /* A stack's blocks (opaque bytes, at most JOBS_STACK_BLOCKS_MAX): 0 with *data and *len set
     * (valid until the transaction's next write or its end), or JOBS_ENOTFOUND when it has
     * none. */
    int (*stack_blocks_get)(jobs__txn *t, uint64_t id, const void **data, size_t *len);
    /* Sets a stack's blocks; data NULL removes them (no error if there were none). */
    int (*stack_blocks_put)(jobs__txn *t, uint64_t id, const void *data, size_t len);
    /* The id of a schedule named `name` whose owner is `owner` (JOBS_OWNER_PUBLIC: the public
     * ones); schedule names are not unique, and the lowest id answers. 0 or JOBS_ENOTFOUND. */
    int (*schedule_by_name)(jobs__txn *t, uint64_t owner, const char *name, size_t len,
                            uint64_t *id);

    /* ---- idempotency keys of creates ---------------------------------------------------- */
    /* The entry of (owner, kind, key), expired or not: 0 or JOBS_ENOTFOUND. */
    int (*idem_get)(jobs__txn *t, uint64_t owner, jobs__kind kind, const char *key, size_t len,
                    jobs__idem_rec *rec);
    /* Sets the entry of (owner, kind, key), replacing any. */
    int (*idem_put)(jobs__txn *t, uint64_t owner, jobs__kind kind, const char *key, size_t len,
                    const jobs__idem_rec *rec);
    /* Removes up to `max` entries with expires <= now, earliest first; *swept is how many. */
    int (*idem_sweep)(jobs__txn *t, int64_t now, size_t max, size_t *swept);

    /* ---- namespaced records (jobs_kv_*, lib/kv.c) --------------------------------------- */
    /* Bytes under (namespace, key), nothing more: the rules check sizes (namespace 1..64
     * bytes, not NUL-terminated here, key 1..JOBS_KV_KEY_MAX, value 0..JOBS_KV_VALUE_MAX) and
     * keep the id counters as records of namespace JOBS__KV_IDS. Keys of a namespace sort as
     * unsigned bytes, the shorter first on a tie (a SQL backend: bytea with C collation). */
    /* Copies min(length, size) bytes of the value into `buf`; *len is its length: 0 or
     * JOBS_ENOTFOUND. */
    int (*kv_get)(jobs__txn *t, const char *ns, size_t ns_len, const void *key, size_t key_len,
                  void *buf, size_t size, size_t *len);
    /* Sets the value, replacing any. */
    int (*kv_put)(jobs__txn *t, const char *ns, size_t ns_len, const void *key, size_t key_len,
                  const void *value, size_t value_len);
    /* Removes the record: 0 or JOBS_ENOTFOUND. */
    int (*kv_del)(jobs__txn *t, const char *ns, size_t ns_len, const void *key, size_t key_len);
    /* Calls `fn` for the namespace's records with key >= `from` (from_len 0: all) in key order,
     * at most `limit` (0: no limit); stops with 0 when `fn` returns > 0, with its code when < 0.
     * `fn` does not write in the transaction. */
    int (*kv_scan)(jobs__txn *t, const char *ns, size_t ns_len, const void *from, size_t from_len,
                   size_t limit, jobs_kv_scan_fn fn, void *ctx);

    /* ---- runs (docs/runs.md) ------------------------------------------------------------ */
    /* A backend keeps, inside these operations: each run's place in its history (a job's runs
     * by job; a stack's runs without a job by stack) and in its owner's runs of its stack, the
     * counts of both, and the queue of runs the tick must look at: pending ones, and running
     * ones at their lease_until. Run ids come from next_id(JOBS__RUN). */
    /* Loads a run: 0, JOBS_ENOTFOUND or JOBS_ECORRUPT. Its message and output stay valid until
     * the transaction's next write. */
    int (*run_load)(jobs__txn *t, uint64_t id, jobs__run_rec *rec);
    /* Adds a new run (its id above every run id so far) to its history, stack list and, when
     * pending or running, the queue. */
    int (*run_insert)(jobs__txn *t, uint64_t id, const jobs__run_rec *rec);
    /* Rewrites a run from `old` (as loaded) to `rec`: same owner, job and stack; the queue
     * follows its state and lease. */
    int (*run_update)(jobs__txn *t, uint64_t id, const jobs__run_rec *old,
                      const jobs__run_rec *rec);
    /* Removes a run (`rec` as loaded) with its entries and counts. */
    int (*run_remove)(jobs__txn *t, uint64_t id, const jobs__run_rec *rec);
    /* How many runs a list holds (jobs__run_by; `owner` is read for JOBS__RUNS_DIRECT and
     * JOBS__RUNS_OF_STACK). */
    int (*run_count)(jobs__txn *t, jobs__run_by by, uint64_t owner, uint64_t id, uint64_t *n);
    /* One page of run ids of a list, newest (highest id) first, or oldest first with
     * `oldest_first`: skipping `skip`, at most `max` into `ids`; *n is how many. */
    int (*run_page)(jobs__txn *t, jobs__run_by by, uint64_t owner, uint64_t id, bool oldest_first,
                    uint64_t skip, size_t max, uint64_t *ids, size_t *n);
    /* Calls `fn` (with the run id and its queue time) for the queued runs whose time is <= now
     * (pending: when made; running: lease_until), in (time, id) order, at most `limit` (0: no
     * limit). `fn` must not write in the transaction. */
    int (*run_due_scan)(jobs__txn *t, int64_t now, size_t limit, jobs__due_fn fn, void *ctx);
    /* ---- optional ----------------------------------------------------------------------- */
    /* A write like `write` for the scheduler tick, where several processes may claim due jobs
     * of one store at once: its due_scan takes only the due jobs no other claimer holds (a SQL
     * backend's FOR UPDATE SKIP LOCKED). NULL: the tick uses `write`. */
    int (*write_claim)(jobs_store *s, jobs__txn_fn fn, void *ctx);
    /* job_insert of n new jobs of `owner` (recs[i].owner == owner), ids ascending and above
     * every job id so far, in fewer writes (jobs_batch, lib/batch.c: a backend may write the
     * owner's count, page index and the schedules' reference counts once per run). NULL: the
     * rules call job_insert n times. */
    int (*job_insert_run)(jobs__txn *t, uint64_t owner, const uint64_t *ids,
                          const jobs__job_rec *recs, size_t n);

    /* ---- copying a store (jobs_store_copy, lib/copy.c); optional ------------------------- */
    /* What a copy reads besides the operations above: every record, whoever owns it, and the
     * id counters. A backend without them (NULL) cannot be copied from or into
     * (JOBS_ENOTSUP). */
    /* Calls `fn` with the stored bytes (lib/codec.h) of every record of `kind` (JOBS__JOB,
     * JOBS__SCHEDULE, JOBS__STACK or JOBS__RUN), in id order; stops with 0 when `fn` returns
     * > 0, with its code when < 0. The bytes are valid during the call only. */
    int (*rec_scan)(jobs__txn *t, jobs__kind kind, jobs__rec_fn fn, void *ctx);
    /* Calls `fn` for every idempotency entry, expired or not, in (owner, kind, key) order
     * (keys as unsigned bytes, the shorter first on a tie); stops as rec_scan does. */
    int (*idem_scan)(jobs__txn *t, jobs__idem_fn fn, void *ctx);
    /* Calls `fn` for every namespaced record of every namespace, the id counters' namespace
     * (JOBS__KV_IDS) included, in (namespace length, namespace, key) order; stops as rec_scan
     * does. */
    int (*kv_scan_all)(jobs__txn *t, jobs__kv_all_fn fn, void *ctx);
    /* The id the next next_id(kind) would give, without taking it. */
    int (*id_peek)(jobs__txn *t, jobs__kind kind, uint64_t *next);
    /* Sets the id counter of `kind`: the next id it gives is `next` (1..JOBS_ID_MAX + 1). */
    int (*id_set)(jobs__txn *t, jobs__kind kind, uint64_t next);

    /* ---- waiting for a due time to come sooner (jobs_store_wait); optional --------------- */
    /* Waits at most `timeout_ms` for the notice of a committed write (of this process; of
     * any process, on a backend shared between hosts) that made a job or a run due at a time
     * before `before` (jobs_store_wait): 1 when one came, 0 at the timeout, or an error. A
     * notice not yet taken by a wait is kept for the next one (the earliest due time of those
     * kept). *due is the notice's due time (the earliest, when several came). NULL:
     * jobs_store_wait sleeps the whole timeout. */
    int (*wait)(jobs_store *s, int64_t before, int timeout_ms, int64_t *due);
    /* Called by the rules inside a write that makes a job or a run due at `when` (a create or
     * update that activates a job, a run made to be delivered): the backend tells the
     * waiters once, and only if, the write commits. NULL: nothing to tell. */
    void (*notify_due)(jobs__txn *t, int64_t when);
};

/* The namespace of the namespaces' id counters: key the namespace's name, value the next id to
 * give as a big-endian u64. '#' keeps callers out of it (jobs__kv_ns_valid). */
#define JOBS__KV_IDS "#ids"

/* Whether ns[0..len) is a namespace a caller may name: 1..JOBS_KV_NAMESPACE_MAX of
 * a-z 0-9 . _ - (lib/kv.c; the LMDB verifier uses it too). */
bool jobs__kv_ns_valid(const char *ns, size_t len);

/* What opening a backend is given: the checked, backend-neutral options, the LMDB options
 * (defaults when the caller gave none), and the rules' first contents of a new store. */
typedef struct jobs__open_args {
    const char *path;
    unsigned int flags;                /* jobs_store_flags */
    const jobs_options_lmdb *lmdb;     /* never NULL */
    /* Called in the first write transaction of a new store (never for a read-only open). */
    int (*seed)(jobs_store *s, jobs__txn *txn);
} jobs__open_args;

#endif
