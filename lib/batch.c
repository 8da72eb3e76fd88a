/* jobs_batch(): several creates, updates and deletes of one owner's jobs in one transaction.
 * The rules are jobs.c's, applied one after another inside one write of the backend, so every
 * backend that runs a write whole runs a batch whole. */
#include <stdio.h>

#include "rules.h"

typedef struct batch_ctx {
    uint64_t owner;
    jobs_batch_op *ops;
    size_t n;
    int64_t now;
    size_t failed; /* the failing operation's index, n when none */
} batch_ctx;

static const char *kind_name(jobs_batch_kind kind)
{
    return kind == JOBS_BATCH_CREATE ? "create" : kind == JOBS_BATCH_UPDATE ? "update" : "delete";
}

/* Puts the operation's index in front of the detail the rules gave. */
static int op_error(int rc, size_t i, const jobs_batch_op *op)
{
    char detail[400];

    snprintf(detail, sizeof(detail), "%s", jobs_error_last());
    return jobs__error(rc, "operation %zu (%s): %s", i, kind_name(op->kind), detail);
}

static size_t name_len(const jobs_job_spec *spec)
{
    return (spec->fields & JOBS_JOB_NAME) && spec->name ? strlen(spec->name) : 0;
}

/* May run more than once (the backend retries a write from the start): it sets every output
 * anew. */
static int batch_txn(jobs_store *s, jobs__txn *txn, void *arg)
{
    batch_ctx *c = arg;

    c->failed = c->n;
    for (size_t i = 0; i < c->n; i++) {
        jobs_batch_op *op = &c->ops[i];
        int rc;

        op->outcome = (jobs_delete_outcome)0;
        switch (op->kind) {
        case JOBS_BATCH_CREATE:
            op->id = 0;
            rc = jobs__job_insert_new(s, txn, c->owner, &op->spec, name_len(&op->spec), c->now,
                                      &op->id);
            break;
        case JOBS_BATCH_UPDATE:
            rc = jobs__job_update_in(s, txn, c->owner, op->id, &op->spec, name_len(&op->spec),
                                     op->if_match, c->now);
            break;
        default:
            rc = jobs__job_delete_in(s, txn, c->owner, op->id, op->if_match, &op->outcome);
            break;
        }
        if (rc) {
            c->failed = i;
            return op_error(rc, i, op);
        }
    }
    return 0;
}

/* The inputs of one operation, before any transaction. */
static int check_op(const jobs_batch_op *op)
{
    size_t len;
    int rc;

    switch (op->kind) {
    case JOBS_BATCH_CREATE:
        if ((rc = jobs__job_check_new(&op->spec, &len)))
            return rc;
        if ((op->spec.fields & (JOBS_JOB_STACK | JOBS_JOB_SCHEDULE)) !=
            (JOBS_JOB_STACK | JOBS_JOB_SCHEDULE))
            return jobs__error(JOBS_EINVAL, "a new job needs a stack and a schedule");
        return 0;
    case JOBS_BATCH_UPDATE:
        if ((rc = jobs__check_id(op->id, "job")))
            return rc;
        return jobs__job_check_new(&op->spec, &len);
    case JOBS_BATCH_DELETE:
        return jobs__check_id(op->id, "job");
    }
    return jobs__error(JOBS_EINVAL, "unknown batch operation kind %d", (int)op->kind);
}

/* Every result once the batch is over: 0 when committed; else the code for the failing
 * operation (every one when no single operation failed) and JOBS_EBATCH for the others. */
static void set_results(jobs_batch_op *ops, size_t n, int rc, size_t failed)
{
    for (size_t i = 0; i < n; i++) {
        ops[i].result = rc == 0 ? 0 : (failed == n || i == failed) ? rc : JOBS_EBATCH;
        if (rc) {
            ops[i].outcome = (jobs_delete_outcome)0;
            if (ops[i].kind == JOBS_BATCH_CREATE)
                ops[i].id = 0;
        }
    }
}

int jobs_batch(size_t *failed, jobs_store *store, uint64_t owner, jobs_batch_op *ops, size_t n)
{
    batch_ctx c = {owner, ops, n, 0, n};
    int rc;

    if (failed)
        *failed = n;
    if (!store || !ops || n == 0 || n > JOBS_BATCH_MAX) {
        rc = jobs__error(JOBS_EINVAL, "jobs_batch needs a store and 1..%d operations (got %zu)",
                         JOBS_BATCH_MAX, n);
        if (ops && n <= JOBS_BATCH_MAX)
            set_results(ops, n, rc, n);
        return rc;
    }
    if ((rc = jobs__check_owner(owner, 0))) {
        set_results(ops, n, rc, n);
        return rc;
    }
    for (size_t i = 0; i < n; i++)
        if ((rc = check_op(&ops[i]))) {
            rc = op_error(rc, i, &ops[i]);
            set_results(ops, n, rc, i);
            if (failed)
                *failed = i;
            return rc;
        }
    c.now = jobs__now(store);
    rc = jobs__write(store, batch_txn, &c);
    if (rc == 0)
        c.failed = n;
    set_results(ops, n, rc, c.failed);
    if (failed)
        *failed = c.failed;
    return rc;
}
