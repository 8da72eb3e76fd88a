/* Pages of records in id order, shared by jobs, schedules and stacks. */
#include "page.h"

typedef struct page_ctx {
    const jobs__page_kind *kind;
    uint64_t owner, page;
    uint32_t page_size;
    uint64_t *ids;
    unsigned char *recs; /* page_size decoded records of kind->rec_size bytes */
    jobs__page_info info;
    void *out;
} page_ctx;

static int page_txn(jobs_store *s, jobs__txn *txn, void *arg)
{
    page_ctx *c = arg;
    const jobs__page_kind *k = c->kind;
    uint64_t n_own = 0, n_public = 0, skip;
    size_t n = 0, size;
    int rc;

    if ((rc = s->be->count(txn, k->kind, c->owner, &n_own)))
        return rc;
    if (k->with_public && c->owner != JOBS_OWNER_PUBLIC &&
        (rc = s->be->count(txn, k->kind, JOBS_OWNER_PUBLIC, &n_public)))
        return rc;
    c->info.count = n_own + n_public;
    /* A page past the end has nothing to walk (and its skip could overflow). */
    if (c->page - 1 > c->info.count / c->page_size)
        goto load;
    skip = (c->page - 1) * c->page_size;
    if (skip >= c->info.count)
        goto load;
    if ((rc = s->be->page(txn, k->kind, k->with_public ? JOBS_OWNER_PUBLIC : c->owner, c->owner,
                          skip, c->page_size, c->ids, &n)))
        return rc;
load:

    size = k->head_size + n * (k->item_size + k->extra_size);
    for (size_t i = 0; i < n; i++) {
        void *rec = c->recs + i * k->rec_size;

        rc = k->load(s, txn, c->ids[i], rec);
        if (rc == JOBS_ENOTFOUND)
            rc = jobs__error(JOBS_ECORRUPT, "the %s index names a missing %s %llu", k->what,
                             k->what, (unsigned long long)c->ids[i]);
        if (rc)
            return rc;
        size += k->name_size(rec);
    }

    if (!(c->out = jobs__malloc(size)))
        return jobs__error(JOBS_ENOMEM, "out of memory");
    char *items = (char *)c->out + k->head_size;
    char *extras = items + n * k->item_size;
    char *names = extras + n * k->extra_size;
    for (size_t i = 0; i < n; i++) {
        names = k->fill(items + i * k->item_size, c->ids[i], c->recs + i * k->rec_size, names);
        if (k->fill_extra)
            k->fill_extra(extras + i * k->extra_size, c->recs + i * k->rec_size);
    }
    c->info.n = n;
    c->info.items = n ? items : NULL;
    c->info.extras = n && k->fill_extra ? extras : NULL;
    return 0;
}

int jobs__page_read(void **out, jobs__page_info *info, jobs_store *s,
                    const jobs__page_kind *kind, uint64_t owner, uint64_t page,
                    uint32_t page_size)
{
    page_ctx c = {kind, owner, page, page_size ? page_size : s->page_size, NULL, NULL,
                  {0, 0, page, 0, NULL, NULL}, NULL};
    int rc = jobs__check_page(page, page_size);

    *out = NULL;
    if (rc)
        return rc;
    c.info.page_size = c.page_size;
    c.ids = jobs__malloc(c.page_size * sizeof(*c.ids));
    c.recs = jobs__malloc(c.page_size * kind->rec_size);
    if (!c.ids || !c.recs)
        rc = jobs__error(JOBS_ENOMEM, "out of memory");
    else
        rc = jobs__read(s, page_txn, &c);
    jobs__free(c.ids);
    jobs__free(c.recs);
    if (rc == 0) {
        *out = c.out;
        *info = c.info;
    }
    return rc;
}
