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
    /* The run of creates not yet written (written before any update or delete, and at the
     * end), so that the backend can write it in one go (job_insert_run). */
    jobs__job_rec *recs;
    uint64_t *ids;
    size_t nrun;
    /* The names the run takes: indexes + 1 of ops, open addressing (0: free slot). */
    size_t *names;
    size_t names_mask;
    size_t *used; /* the slots of `names` the run filled, to clear just those */
    size_t nused;
} batch_ctx;

static uint64_t name_hash(const char *name, size_t len)
{
    uint64_t h = UINT64_C(0xcbf29ce484222325);

    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)name[i];
        h *= UINT64_C(0x100000001b3);
    }
    return h;
}

/* A name an earlier create of the batch takes: that create is named, not the id it was given,
 * which no job has once the batch is rolled back (and a later create may get). */
static int taken_in_batch(const char *name, size_t k)
{
    return jobs__error(JOBS_EEXISTS, "name '%s' is already taken by operation %zu of this batch "
                       "(a create)", name, k);
}

/* After operation i failed with JOBS_EEXISTS on its name: when the job that holds the name is
 * one an earlier create of the batch made, says so instead (taken_in_batch). Returns rc. */
static int name_clash(jobs_store *s, jobs__txn *txn, const batch_ctx *c, size_t i, int rc)
{
    const jobs_batch_op *op = &c->ops[i];
    char detail[JOBS__ERROR_MAX];
    uint64_t holder;

    if (rc != JOBS_EEXISTS || !(op->spec.fields & JOBS_JOB_NAME) || !op->spec.name)
        return rc;
    snprintf(detail, sizeof(detail), "%s", jobs_error_last()); /* the look-up may replace it */
    if (s->be->job_by_name(txn, c->owner, op->spec.name, strlen(op->spec.name), &holder) == 0)
        for (size_t k = 0; k < i; k++)
            if (c->ops[k].kind == JOBS_BATCH_CREATE && c->ops[k].id == holder)
                return taken_in_batch(op->spec.name, k);
    return jobs__error(rc, "%s", detail);
}

/* Refuses a name an earlier create of the run takes (the store does not hold the run yet), or
 * records it. */
static int run_name_take(batch_ctx *c, size_t i)
{
    const jobs_batch_op *op = &c->ops[i];
    const char *name = op->spec.name;
    size_t len = strlen(name);

    for (size_t k = name_hash(name, len) & c->names_mask;; k = (k + 1) & c->names_mask) {
        const jobs_batch_op *other;

        if (c->names[k] == 0) {
            c->names[k] = i + 1;
            c->used[c->nused++] = k;
            return 0;
        }
        other = &c->ops[c->names[k] - 1];
        if (strcmp(other->spec.name, name) == 0)
            return taken_in_batch(name, c->names[k] - 1);
    }
}

/* Writes the run of creates. */
static int run_flush(jobs_store *s, jobs__txn *txn, batch_ctx *c)
{
    int rc = 0;

    if (c->nrun == 0)
        return 0;
    if (s->be->job_insert_run)
        rc = s->be->job_insert_run(txn, c->owner, c->ids, c->recs, c->nrun);
    else
        for (size_t i = 0; i < c->nrun && rc == 0; i++)
            rc = s->be->job_insert(txn, c->ids[i], &c->recs[i]);
    c->nrun = 0;
    while (c->nused)
        c->names[c->used[--c->nused]] = 0;
    return rc;
}

static const char *kind_name(jobs_batch_kind kind)
{
    return kind == JOBS_BATCH_CREATE ? "create" : kind == JOBS_BATCH_UPDATE ? "update" : "delete";
}

/* Puts the operation's index in front of the detail the rules gave. */
static int op_error(int rc, size_t i, const jobs_batch_op *op)
{
    return jobs__error(rc, "operation %zu (%s): %s", i, kind_name(op->kind), jobs_error_last());
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
    int rc;

    c->failed = c->n;
    c->nrun = 0;
    c->nused = 0;
    memset(c->names, 0, (c->names_mask + 1) * sizeof(*c->names));
    for (size_t i = 0; i < c->n; i++) {
        jobs_batch_op *op = &c->ops[i];

        op->outcome = (jobs_delete_outcome)0;
        switch (op->kind) {
        case JOBS_BATCH_CREATE:
            /* The record is checked against the store (which holds every earlier operation
             * but the run) and against the run's names; ids are taken in order. */
            op->id = 0;
            if ((rc = jobs__job_new_rec(s, txn, c->owner, &op->spec, name_len(&op->spec), c->now,
                                        &c->recs[c->nrun])) ||
                (c->recs[c->nrun].name && (rc = run_name_take(c, i))) ||
                (rc = s->be->next_id(txn, JOBS__JOB, &op->id)))
                break;
            c->ids[c->nrun++] = op->id;
            break;
        case JOBS_BATCH_UPDATE:
            if ((rc = run_flush(s, txn, c)))
                return rc; /* a store error, no operation's */
            rc = jobs__job_update_in(s, txn, c->owner, op->id, &op->spec, name_len(&op->spec),
                                     op->if_match, c->now);
            break;
        default:
            if ((rc = run_flush(s, txn, c)))
                return rc;
            rc = jobs__job_delete_in(s, txn, c->owner, op->id, op->if_match, &op->outcome);
            break;
        }
        if (rc) {
            c->failed = i;
            return op_error(name_clash(s, txn, c, i, rc), i, op);
        }
    }
    return run_flush(s, txn, c);
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
    batch_ctx c = {owner, ops, n, 0, n, NULL, NULL, 0, NULL, 0, NULL, 0};
    size_t slots = 16;
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
    while (slots < 2 * n)
        slots *= 2;
    c.names_mask = slots - 1;
    c.recs = jobs__malloc(n * sizeof(*c.recs));
    c.ids = jobs__malloc(n * sizeof(*c.ids));
    c.names = jobs__malloc(slots * sizeof(*c.names));
    c.used = jobs__malloc(n * sizeof(*c.used));
    if (!c.recs || !c.ids || !c.names || !c.used) {
        rc = jobs__error(JOBS_ENOMEM, "out of memory");
    } else {
        c.now = jobs__now(store);
        rc = jobs__write(store, batch_txn, &c);
    }
    jobs__free(c.recs);
    jobs__free(c.ids);
    jobs__free(c.names);
    jobs__free(c.used);
    if (rc == 0)
        c.failed = n;
    set_results(ops, n, rc, c.failed);
    if (failed)
        *failed = c.failed;
    return rc;
}
