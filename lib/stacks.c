/* Stacks: id, owner, name and visibility. A public stack is listed under the public owner, a
 * private one under its owner, so "public plus own" is the merge of two lists. */
#include <stddef.h>

#include "page.h"
#include "rules.h"

static int stack_visible(jobs_store *s, jobs__txn *txn, uint64_t owner, uint64_t id,
                         jobs__stack_rec *rec)
{
    int rc = s->be->stack_load(txn, id, rec);

    if (rc == 0 && !rec->is_public && rec->owner != owner)
        rc = JOBS_ENOTFOUND;
    if (rc == JOBS_ENOTFOUND)
        return jobs__error(JOBS_ENOTFOUND, "stack %llu not found", (unsigned long long)id);
    return rc;
}

int jobs__stack_usable(jobs_store *s, jobs__txn *txn, uint64_t owner, uint64_t id)
{
    jobs__stack_rec rec;
    int rc = stack_visible(s, txn, owner, id, &rec);

    if (rc == JOBS_ENOTFOUND)
        return jobs__error(JOBS_ESTACK, "stack %llu does not exist or is not yours",
                           (unsigned long long)id);
    return rc;
}

static size_t stack_name_size(const void *r)
{
    return ((const jobs__stack_rec *)r)->name_len + 1;
}

static char *stack_fill(void *item, uint64_t id, const void *r, char *names)
{
    jobs_stack *out = item;
    const jobs__stack_rec *rec = r;

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

static int create_txn(jobs_store *s, jobs__txn *txn, void *arg)
{
    create_ctx *c = arg;
    int rc = s->be->next_id(txn, JOBS__STACK, &c->id);

    return rc ? rc : s->be->stack_insert(txn, c->id, &c->rec);
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

static int get_txn(jobs_store *s, jobs__txn *txn, void *arg)
{
    get_ctx *c = arg;
    jobs__stack_rec rec;
    int rc = stack_visible(s, txn, c->owner, c->id, &rec);

    if (rc)
        return rc;
    c->out = jobs__malloc(sizeof(*c->out) + stack_name_size(&rec));
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

static int stack_page_load(jobs_store *s, jobs__txn *txn, uint64_t id, void *rec)
{
    return s->be->stack_load(txn, id, rec);
}

static const jobs__page_kind stack_pages = {
    JOBS__STACK, true, sizeof(jobs_stack_page), sizeof(jobs_stack), sizeof(jobs__stack_rec),
    "stack", stack_page_load, stack_name_size, stack_fill};

int jobs_stack_list(jobs_stack_page **out, jobs_store *store, uint64_t owner, uint64_t page,
                    uint32_t page_size)
{
    jobs__page_info info;
    jobs_stack_page *p;
    int rc;

    if (out)
        *out = NULL;
    if (!out || !store)
        return jobs__error(JOBS_EINVAL, "jobs_stack_list needs an output and a store");
    if ((rc = jobs__check_owner(owner, 1)) ||
        (rc = jobs__page_read((void **)&p, &info, store, &stack_pages, owner, page, page_size)))
        return rc;
    p->count = info.count;
    p->page_size = info.page_size;
    p->page = info.page;
    p->n = info.n;
    p->stacks = info.items;
    *out = p;
    return 0;
}
