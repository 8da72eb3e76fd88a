/* Stacks: id, owner, name and visibility. A public stack is indexed under the public owner,
 * a private one under its owner, so "public plus own" is the merge of two index ranges. */
#include "rules.h"

static int stack_load(MDB_txn *txn, jobs_store *s, uint64_t id, jobs__stack_rec *rec)
{
    unsigned char key[8];
    MDB_val v;
    int rc;

    jobs__be64_put(key, id);
    rc = jobs__get(txn, s->stacks, key, sizeof(key), &v);
    return rc ? rc : jobs__stack_decode(rec, v.mv_data, v.mv_size);
}

static int stack_visible(MDB_txn *txn, jobs_store *s, uint64_t owner, uint64_t id,
                         jobs__stack_rec *rec)
{
    int rc = stack_load(txn, s, id, rec);

    if (rc == 0 && !rec->is_public && rec->owner != owner)
        rc = JOBS_ENOTFOUND;
    if (rc == JOBS_ENOTFOUND)
        return jobs__error(JOBS_ENOTFOUND, "stack %llu not found", (unsigned long long)id);
    return rc;
}

int jobs__stack_usable(MDB_txn *txn, jobs_store *s, uint64_t owner, uint64_t id)
{
    jobs__stack_rec rec;
    int rc = stack_visible(txn, s, owner, id, &rec);

    if (rc == JOBS_ENOTFOUND)
        return jobs__error(JOBS_ESTACK, "stack %llu does not exist or is not yours",
                           (unsigned long long)id);
    return rc;
}

static uint64_t index_owner(const jobs__stack_rec *rec)
{
    return rec->is_public ? JOBS_OWNER_PUBLIC : rec->owner;
}

static size_t stack_out_size(const jobs__stack_rec *rec)
{
    return sizeof(jobs_stack) + rec->name_len + 1;
}

static char *stack_fill(jobs_stack *out, uint64_t id, const jobs__stack_rec *rec, char *names)
{
    out->id = id;
    out->owner = rec->owner;
    out->is_public = rec->is_public;
    out->name = jobs__name_copy(names, rec->name, rec->name_len);
    return names + rec->name_len + 1;
}

void jobs_stack_free(jobs_stack *stack)
{
    jobs__free(stack);
}

void jobs_stack_page_free(jobs_stack_page *page)
{
    jobs__free(page);
}

/* ---- create ----------------------------------------------------------------------------- */

typedef struct create_ctx {
    jobs__stack_rec rec;
    uint64_t id;
} create_ctx;

static int create_txn(jobs_store *s, MDB_txn *txn, void *arg)
{
    create_ctx *c = arg;
    unsigned char key[8], vis[16], buf[JOBS__RECORD_MAX];
    size_t len = jobs__stack_encode(buf, &c->rec);
    int rc = jobs__next_id(txn, s, JOBS__STACK, &c->id);

    if (rc)
        return rc;
    jobs__be64_put(key, c->id);
    jobs__key2(vis, index_owner(&c->rec), c->id);
    if ((rc = jobs__put(txn, s->stacks, key, sizeof(key), buf, len, MDB_NOOVERWRITE)) ||
        (rc = jobs__put(txn, s->stack_vis, vis, sizeof(vis), "", 0, 0)))
        return rc;
    return jobs__count_add(txn, s, JOBS__STACK, index_owner(&c->rec), 1);
}

int jobs_stack_create(uint64_t *id, jobs_store *store, uint64_t owner, const char *name,
                      bool is_public)
{
    create_ctx c = {{owner, is_public, name, 0}, 0};
    int rc;

    if (!store)
        return jobs__error(JOBS_EINVAL, "jobs_stack_create needs a store");
    if ((rc = jobs__check_owner(owner, 0)))
        return rc;
    if (!name)
        return jobs__error(JOBS_ENAME, "a stack needs a name");
    if ((rc = jobs__check_name(name, &c.rec.name_len)))
        return rc;
    if ((rc = jobs__write(store, create_txn, &c)) == 0 && id)
        *id = c.id;
    return rc;
}

/* ---- get / list ------------------------------------------------------------------------- */

typedef struct get_ctx {
    uint64_t owner, id;
    jobs_stack *out;
} get_ctx;

static int get_txn(jobs_store *s, MDB_txn *txn, void *arg)
{
    get_ctx *c = arg;
    jobs__stack_rec rec;
    int rc = stack_visible(txn, s, c->owner, c->id, &rec);

    if (rc)
        return rc;
    c->out = jobs__malloc(stack_out_size(&rec));
    if (!c->out)
        return jobs__error(JOBS_ENOMEM, "out of memory");
    stack_fill(c->out, c->id, &rec, (char *)(c->out + 1));
    return 0;
}

int jobs_stack_get(jobs_stack **out, jobs_store *store, uint64_t owner, uint64_t id)
{
    get_ctx c = {owner, id, NULL};
    int rc;

    if (out)
        *out = NULL;
    if (!out || !store)
        return jobs__error(JOBS_EINVAL, "jobs_stack_get needs an output and a store");
    if ((rc = jobs__check_owner(owner, 1)) || (rc = jobs__check_id(id, "stack")))
        return rc;
    if ((rc = jobs__read(store, get_txn, &c)) == 0)
        *out = c.out;
    return rc;
}

typedef struct list_ctx {
    uint64_t owner, page;
    uint32_t page_size;
    uint64_t ids[JOBS__PAGE_SIZE_MAX];
    jobs__stack_rec recs[JOBS__PAGE_SIZE_MAX];
    size_t n;
    jobs_stack_page *out;
} list_ctx;

static int list_txn(jobs_store *s, MDB_txn *txn, void *arg)
{
    list_ctx *c = arg;
    uint64_t n_public, n_own = 0, count;
    size_t size = sizeof(jobs_stack_page);
    int rc;

    c->n = 0;
    if ((rc = jobs__count_get(txn, s, JOBS__STACK, JOBS_OWNER_PUBLIC, &n_public)))
        return rc;
    if (c->owner != JOBS_OWNER_PUBLIC &&
        (rc = jobs__count_get(txn, s, JOBS__STACK, c->owner, &n_own)))
        return rc;
    count = n_public + n_own;
    if (c->page - 1 <= count / c->page_size && /* else past the end: nothing to walk */
        (rc = jobs__index_page(txn, s->stack_vis, JOBS_OWNER_PUBLIC, c->owner,
                               (c->page - 1) * c->page_size, c->page_size, c->ids, &c->n)))
        return rc;
    for (size_t i = 0; i < c->n; i++) {
        rc = stack_load(txn, s, c->ids[i], &c->recs[i]);
        if (rc == JOBS_ENOTFOUND)
            rc = jobs__error(JOBS_ECORRUPT, "the stack index names a missing stack %llu",
                             (unsigned long long)c->ids[i]);
        if (rc)
            return rc;
        size += stack_out_size(&c->recs[i]);
    }

    if (!(c->out = jobs__malloc(size)))
        return jobs__error(JOBS_ENOMEM, "out of memory");
    c->out->count = count;
    c->out->page_size = c->page_size;
    c->out->page = c->page;
    c->out->n = c->n;
    c->out->stacks = c->n ? (jobs_stack *)(c->out + 1) : NULL;
    char *names = (char *)((jobs_stack *)(c->out + 1) + c->n);
    for (size_t i = 0; i < c->n; i++)
        names = stack_fill(&c->out->stacks[i], c->ids[i], &c->recs[i], names);
    return 0;
}

int jobs_stack_list(jobs_stack_page **out, jobs_store *store, uint64_t owner, uint64_t page,
                    uint32_t page_size)
{
    list_ctx *c;
    int rc;

    if (out)
        *out = NULL;
    if (!out || !store)
        return jobs__error(JOBS_EINVAL, "jobs_stack_list needs an output and a store");
    if ((rc = jobs__check_owner(owner, 1)) || (rc = jobs__check_page(page, page_size)))
        return rc;
    if (!(c = jobs__malloc(sizeof(*c))))
        return jobs__error(JOBS_ENOMEM, "out of memory");
    c->owner = owner;
    c->page = page;
    c->page_size = page_size ? page_size : store->page_size;
    c->out = NULL;
    if ((rc = jobs__read(store, list_txn, c)) == 0)
        *out = c->out;
    jobs__free(c);
    return rc;
}
