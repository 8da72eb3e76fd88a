/**
 * @file jobs/batch.h
 * @brief Several creates, updates and deletes of one owner's jobs in one transaction.
 *
 * A batch is what jobs_create(), jobs_update() and jobs_delete() do, one after another in one
 * transaction with one commit: every rule of those calls holds for each operation (names unique
 * per owner, stacks and schedules the owner may use, deferred deletion of active jobs, entity
 * tags), and each operation sees the ones before it (a name a create takes early in the batch
 * is taken for a later one). It is all or nothing: when one operation fails, nothing of the
 * batch is written, and the caller learns which one and why. See docs/embedding.md.
 */
#ifndef JOBS_BATCH_H
#define JOBS_BATCH_H

#include "job.h"

#ifdef __cplusplus
extern "C" {
#endif

/** The most operations one jobs_batch() call takes. */
#define JOBS_BATCH_MAX 10000

/** What one operation of a batch does. */
typedef enum jobs_batch_kind {
    JOBS_BATCH_CREATE = 1, /**< jobs_create() with `spec` (which gives a stack and a schedule) */
    JOBS_BATCH_UPDATE = 2, /**< jobs_update_if() of job `id` with `spec` and `if_match` */
    JOBS_BATCH_DELETE = 3  /**< jobs_delete_if() of job `id` with `if_match` */
} jobs_batch_kind;

/**
 * One operation of a batch, and its result. The caller owns the array and fills the inputs;
 * jobs_batch() sets the outputs of every element, whatever it returns, when `n` is in
 * 1..JOBS_BATCH_MAX; with a larger `n` (refused, JOBS_EINVAL) it touches none, since such an
 * `n` need not be the array's length.
 */
typedef struct jobs_batch_op {
    jobs_batch_kind kind;  /**< in: what to do */
    uint64_t id;           /**< in: the job to update or delete; out: a create's new job id
                                (0 when the batch was not committed) */
    jobs_job_spec spec;    /**< in: the new job (create) or the changes (update) */
    uint64_t if_match;     /**< in: update and delete only if the job's entity tag is this
                                (0: no condition) */
    int result;            /**< out: 0; the operation's JOBS_E* code for the one that failed;
                                JOBS_EBATCH for the others of a batch that was not committed;
                                the batch's code in every one when the failure was no single
                                operation's (`*failed` is then `n`: a store error, JOBS_EOWNER,
                                JOBS_ENOMEM) */
    jobs_delete_outcome outcome; /**< out: what a committed delete did (0 otherwise) */
} jobs_batch_op;

/** Initialiser for jobs_batch_op: a create with nothing given. */
#define JOBS_BATCH_OP_INIT {JOBS_BATCH_CREATE, 0, JOBS_JOB_SPEC_INIT, 0, 0, (jobs_delete_outcome)0}

/**
 * Runs `n` operations on `owner`'s jobs, in order, in one transaction: all of them are
 * committed, or none is. Each operation follows the rules of the call it stands for and sees
 * the effects of those before it (a name a create or rename takes, or a delete frees; a job
 * queued for deletion keeps its name until the scheduler removes it, as with jobs_delete());
 * ids of creates are given in order. An update or delete names its job by id, and a create's
 * id is known only once the batch returns: to change a job the batch creates, give the create
 * the job as it should end up, or change it in a later call. The store's clock is read
 * once, before the transaction, for every activation in the batch.
 *
 * The inputs of every operation are checked before anything is looked up (an unknown kind, a
 * spec a create or update refuses, a job id out of range): such a batch answers that check's
 * code (JOBS_EINVAL; JOBS_ERANGE for an id out of range, JOBS_ENAME for a bad name) with that
 * operation's index in *failed and changes nothing. When an
 * operation fails in the transaction (a name already taken, a job not found, a queued job, a
 * changed entity tag, ...), the transaction is rolled back: the answer is that operation's
 * code, its index is in *failed, its `result` is the code, every other `result` is
 * JOBS_EBATCH, and no id, count or page of the store has changed. A name an earlier create of
 * the batch takes is refused naming that create ("operation K of this batch"), not the id it
 * was given, which no job has once the batch is rolled back. Ids a rolled-back batch took
 * were never given to anyone: a later create may get them (ids stay unique among the jobs that
 * were ever committed).
 *
 * One batch is one commit, so it costs one flush however many operations it holds; it also
 * holds the store's writer for as long as it runs (under LMDB, other writers queue behind it),
 * which is why a batch is bounded by JOBS_BATCH_MAX. For more, call it per chunk (jobsctl
 * import does, 1,000 operations at a time).
 *
 * Thread-safe as every write: the batch may be committed together with concurrent writers'
 * calls (group commit) and stays whole or nothing.
 *
 * @param[out] failed  the index of the operation that failed, or `n` when the failure is not
 *                     one operation's (a store error at commit, bad arguments); may be NULL.
 *                     Set on success to `n` as well.
 * @param store        the store
 * @param owner        the owner of every job the batch touches, 1..JOBS_ID_MAX
 * @param ops          `n` operations (inputs read, outputs written)
 * @param n            1..JOBS_BATCH_MAX
 * @return 0 (every operation done and committed); JOBS_EINVAL (NULL store or ops, n 0 or above
 *         JOBS_BATCH_MAX, an unknown kind, a create without stack or schedule); JOBS_EOWNER;
 *         any code jobs_create_idempotent(), jobs_update_if() or jobs_delete_if() give, for the
 *         operation in *failed; JOBS_ENOMEM, JOBS_ENOSPC or another store error.
 * @since 0.2.0
 */
JOBS_EXTERN int jobs_batch(size_t *failed, jobs_store *store, uint64_t owner, jobs_batch_op *ops,
                           size_t n);

#ifdef __cplusplus
}
#endif

#endif
