/* Stacks: id, owner, name, visibility and the original service's fields (blocks, webhook,
 * needs_approval). A public stack is listed under the public owner, a private one under its
 * owner, so "public plus own" is the merge of two lists. Names are unique per owner. */
#include <errno.h>
#include <stddef.h>
#include <sys/random.h>

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

/* A new webhook token: 128 bits from the system's random source, as lowercase hex. */
static int new_token(char out[JOBS_WEBHOOK_TOKEN_LEN])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char raw[JOBS_WEBHOOK_TOKEN_LEN / 2];
    size_t got = 0;

    while (got < sizeof(raw)) {
        ssize_t n = getrandom(raw + got, sizeof(raw) - got, 0);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return jobs__error(JOBS_EIO, "no random bytes for a webhook token: %s",
                               n < 0 ? strerror(errno) : "none given");
        got += (size_t)n;
    }
    for (size_t i = 0; i < sizeof(raw); i++) {
        out[2 * i] = hex[raw[i] >> 4];
        out[2 * i + 1] = hex[raw[i] & 15];
    }
    return 0;
}

/* The checks of a spec that need no transaction; `create` requires the name. */
static int check_spec(const jobs_stack_spec *sp, bool create, size_t *name_len)
{
    unsigned all = JOBS_STACK_NAME | JOBS_STACK_PUBLIC | JOBS_STACK_BLOCKS | JOBS_STACK_WEBHOOK |
                   JOBS_STACK_WEBHOOK_METHOD | JOBS_STACK_NEEDS_APPROVAL;

    *name_len = 0;
    if (sp->fields & ~all)
        return jobs__error(JOBS_EINVAL, "unknown stack fields 0x%x", sp->fields);
    if (sp->fields & JOBS_STACK_NAME) {
        if (!sp->name)
            return jobs__error(JOBS_ENAME, "a stack needs a name");
        int rc = jobs__check_name(sp->name, name_len);
        if (rc)
            return rc;
    } else if (create) {
        return jobs__error(JOBS_ENAME, "a stack needs a name");
    }
    if ((sp->fields & JOBS_STACK_BLOCKS) &&
        (sp->blocks_len > JOBS_STACK_BLOCKS_MAX || (!sp->blocks && sp->blocks_len)))
        return jobs__error(JOBS_EINVAL, "a stack's blocks are at most %d bytes (%zu given)",
                           JOBS_STACK_BLOCKS_MAX, sp->blocks_len);
    if ((sp->fields & JOBS_STACK_WEBHOOK) &&
        ((unsigned)sp->webhook > JOBS_WEBHOOK_USER))
        return jobs__error(JOBS_EINVAL, "unknown webhook kind %d", (int)sp->webhook);
    if ((sp->fields & JOBS_STACK_WEBHOOK_METHOD) &&
        ((unsigned)sp->webhook_method > JOBS_WEBHOOK_POST))
        return jobs__error(JOBS_EINVAL, "unknown webhook method %d", (int)sp->webhook_method);
    return 0;
}

/* Whether `owner` may give a stack the name: no other stack of its has it. */
static int stack_name_free(jobs_store *s, jobs__txn *txn, uint64_t owner, const char *name,
                           size_t len, uint64_t self)
{
    uint64_t holder;
    int rc = s->be->stack_by_name(txn, owner, name, len, &holder);

    if (rc == JOBS_ENOTFOUND || (rc == 0 && holder == self))
        return 0;
    if (rc)
        return rc;
    return jobs__error(JOBS_ESTACKEXISTS, "name '%.*s' is already used by stack %llu", (int)len,
                       name, (unsigned long long)holder);
}

typedef struct create_ctx {
    uint64_t owner;
    const jobs_stack_spec *spec;
    size_t name_len;
    char token[JOBS_WEBHOOK_TOKEN_LEN];
    jobs_job_spec job; /* the first job, its stack filled in the transaction */
    bool with_job;
    size_t job_name_len;
    int64_t now;
    uint64_t id, job_id;
} create_ctx;

static int create_txn(jobs_store *s, jobs__txn *txn, void *arg)
{
    create_ctx *c = arg;
    const jobs_stack_spec *sp = c->spec;
    unsigned f = sp->fields;
    jobs__stack_rec rec = {c->owner, (f & JOBS_STACK_PUBLIC) && sp->is_public, sp->name,
                           c->name_len, (f & JOBS_STACK_NEEDS_APPROVAL) && sp->needs_approval,
                           (uint8_t)((f & JOBS_STACK_WEBHOOK) ? sp->webhook : 0),
                           (uint8_t)((f & JOBS_STACK_WEBHOOK_METHOD) ? sp->webhook_method : 0),
                           NULL};
    int rc;

    c->job_id = 0;
    if (rec.webhook == JOBS_WEBHOOK_TOKEN)
        rec.token = c->token;
    if ((rc = stack_name_free(s, txn, c->owner, rec.name, rec.name_len, 0)) ||
        (rc = s->be->next_id(txn, JOBS__STACK, &c->id)) ||
        (rc = s->be->stack_insert(txn, c->id, &rec)))
        return rc;
    if ((f & JOBS_STACK_BLOCKS) && sp->blocks &&
        (rc = s->be->stack_blocks_put(txn, c->id, sp->blocks, sp->blocks_len)))
        return rc;
    if (!c->with_job)
        return 0;
    c->job.stack = c->id;
    return jobs__job_insert_new(s, txn, c->owner, &c->job, c->job_name_len, c->now, &c->job_id);
}

int jobs_stack_create_with_job(uint64_t *id, uint64_t *job_id, jobs_store *store,
                               uint64_t owner, const jobs_stack_spec *spec,
                               const jobs_job_spec *first_job)
{
    create_ctx c;
    int rc;

    memset(&c, 0, sizeof(c));
    if (!store || !spec)
        return jobs__error(JOBS_EINVAL, "jobs_stack_create_with_job needs a store and a spec");
    if ((rc = jobs__check_owner(owner, 0)) || (rc = check_spec(spec, true, &c.name_len)))
        return rc;
    c.owner = owner;
    c.spec = spec;
    if (first_job) {
        if (first_job->fields & JOBS_JOB_STACK)
            return jobs__error(JOBS_EINVAL, "the first job's stack is the new stack: do not "
                               "give JOBS_JOB_STACK");
        if (!(first_job->fields & JOBS_JOB_SCHEDULE))
            return jobs__error(JOBS_EINVAL, "the first job needs a schedule");
        c.job = *first_job;
        c.job.fields |= JOBS_JOB_STACK;
        c.job.stack = 1; /* a valid id for the checks; the transaction sets the real one */
        if ((rc = jobs__job_check_new(&c.job, &c.job_name_len)))
            return rc;
        c.with_job = true;
        c.now = jobs__now(store);
    }
    if ((spec->fields & JOBS_STACK_WEBHOOK) && spec->webhook == JOBS_WEBHOOK_TOKEN &&
        (rc = new_token(c.token)))
        return rc;
    if ((rc = jobs__write(store, create_txn, &c)))
        return rc;
    if (id)
        *id = c.id;
    if (job_id)
        *job_id = c.job_id;
    return 0;
}

int jobs_stack_create(uint64_t *id, jobs_store *store, uint64_t owner, const char *name,
                      bool is_public)
{
    jobs_stack_spec spec = JOBS_STACK_SPEC_INIT;

    if (!store)
        return jobs__error(JOBS_EINVAL, "jobs_stack_create needs a store");
    spec.fields = JOBS_STACK_NAME | JOBS_STACK_PUBLIC;
    spec.name = name;
    spec.is_public = is_public;
    return jobs_stack_create_with_job(id, NULL, store, owner, &spec, NULL);
}

/* ---- details ---------------------------------------------------------------------------- */

/* A detail of stack `id` as `rec` and its blocks say, allocated in one block. */
static int detail_new(jobs_stack_detail **out, uint64_t id, const jobs__stack_rec *rec,
                      const void *blocks, size_t blocks_len)
{
    size_t size = sizeof(**out) + rec->name_len + 1 +
                  (rec->token ? JOBS_WEBHOOK_TOKEN_LEN + 1 : 0) + (blocks ? blocks_len + 1 : 0);
    jobs_stack_detail *d = jobs__malloc(size);
    char *p;

    if (!d)
        return jobs__error(JOBS_ENOMEM, "out of memory");
    memset(d, 0, sizeof(*d));
    p = (char *)(d + 1);
    d->id = id;
    d->owner = rec->owner;
    d->is_public = rec->is_public;
    d->needs_approval = rec->needs_approval;
    d->webhook = (jobs_webhook)rec->webhook;
    d->webhook_method = (jobs_webhook_method)rec->webhook_method;
    d->name = jobs__name_copy(p, rec->name, rec->name_len);
    p += rec->name_len + 1;
    if (rec->token) {
        d->webhook_token = jobs__name_copy(p, rec->token, JOBS_WEBHOOK_TOKEN_LEN);
        p += JOBS_WEBHOOK_TOKEN_LEN + 1;
    }
    if (blocks) {
        d->blocks = jobs__name_copy(p, blocks, blocks_len);
        d->blocks_len = blocks_len;
    }
    *out = d;
    return 0;
}

/* The detail of a stack already loaded in this transaction. */
static int detail_load(jobs_stack_detail **out, jobs_store *s, jobs__txn *txn, uint64_t id,
                       const jobs__stack_rec *rec)
{
    const void *blocks = NULL;
    size_t len = 0;
    int rc = s->be->stack_blocks_get(txn, id, &blocks, &len);

    if (rc && rc != JOBS_ENOTFOUND)
        return rc;
    return detail_new(out, id, rec, rc ? NULL : blocks, len);
}

void jobs_stack_detail_free(jobs_stack_detail *stack)
{
    jobs__free(stack);
}

typedef struct detail_ctx {
    uint64_t owner, id;
    jobs_stack_detail *out;
} detail_ctx;

static int detail_txn(jobs_store *s, jobs__txn *txn, void *arg)
{
    detail_ctx *c = arg;
    jobs__stack_rec rec;
    int rc = stack_visible(s, txn, c->owner, c->id, &rec);

    return rc ? rc : detail_load(&c->out, s, txn, c->id, &rec);
}

int jobs_stack_get_detail(jobs_stack_detail **out, jobs_store *store, uint64_t owner,
                          uint64_t id)
{
    detail_ctx c = {owner, id, NULL};
    int rc;

    if (out)
        *out = NULL;
    if (!out || !store)
        return jobs__error(JOBS_EINVAL, "jobs_stack_get_detail needs an output and a store");
    if ((rc = jobs__check_owner(owner, 1)) || (rc = jobs__check_id(id, "stack")))
        return rc;
    if ((rc = jobs__read(store, detail_txn, &c)) == 0)
        *out = c.out;
    return rc;
}

/* ---- update ----------------------------------------------------------------------------- */

typedef struct update_ctx {
    uint64_t owner, id;
    const jobs_stack_spec *spec;
    size_t name_len;
    char token[JOBS_WEBHOOK_TOKEN_LEN]; /* a new token, should the stack need one */
    bool want;
    jobs_stack_detail *out;
} update_ctx;

static int update_txn(jobs_store *s, jobs__txn *txn, void *arg)
{
    update_ctx *c = arg;
    const jobs_stack_spec *sp = c->spec;
    unsigned f = sp->fields;
    char name[JOBS_NAME_MAX], token[JOBS_WEBHOOK_TOKEN_LEN];
    jobs__stack_rec old, rec;
    int rc = s->be->stack_load(txn, c->id, &old);

    jobs__free(c->out); /* a retried transaction starts again */
    c->out = NULL;
    if (rc == 0 && old.owner != c->owner)
        rc = JOBS_ENOTFOUND; /* only the owner changes a stack, public or not */
    if (rc == JOBS_ENOTFOUND)
        return jobs__error(JOBS_ENOTFOUND, "stack %llu not found", (unsigned long long)c->id);
    if (rc)
        return rc;
    /* Writes below may move the stored bytes `old` points into: keep copies. */
    memcpy(name, old.name, old.name_len);
    old.name = name;
    if (old.token) {
        memcpy(token, old.token, JOBS_WEBHOOK_TOKEN_LEN);
        old.token = token;
    }
    rec = old;
    if (f & JOBS_STACK_NAME) {
        rec.name = sp->name;
        rec.name_len = c->name_len;
        if ((rc = stack_name_free(s, txn, c->owner, rec.name, rec.name_len, c->id)))
            return rc;
    }
    if (f & JOBS_STACK_PUBLIC)
        rec.is_public = sp->is_public;
    if (f & JOBS_STACK_NEEDS_APPROVAL)
        rec.needs_approval = sp->needs_approval;
    if (f & JOBS_STACK_WEBHOOK)
        rec.webhook = (uint8_t)sp->webhook;
    if (f & JOBS_STACK_WEBHOOK_METHOD)
        rec.webhook_method = (uint8_t)sp->webhook_method;
    /* A token exists exactly while the webhook is of the token kind. */
    if (rec.webhook != JOBS_WEBHOOK_TOKEN)
        rec.token = NULL;
    else if (!rec.token)
        rec.token = c->token;
    if (f && (rc = s->be->stack_update(txn, c->id, &old, &rec)))
        return rc;
    if ((f & JOBS_STACK_BLOCKS) &&
        (rc = s->be->stack_blocks_put(txn, c->id, sp->blocks, sp->blocks_len)))
        return rc;
    return c->want ? detail_load(&c->out, s, txn, c->id, &rec) : 0;
}

int jobs_stack_update(jobs_stack_detail **out, jobs_store *store, uint64_t owner, uint64_t id,
                      const jobs_stack_spec *changes)
{
    update_ctx c;
    int rc;

    memset(&c, 0, sizeof(c));
    if (out)
        *out = NULL;
    if (!store || !changes)
        return jobs__error(JOBS_EINVAL, "jobs_stack_update needs a store and changes");
    if ((rc = jobs__check_owner(owner, 0)) || (rc = jobs__check_id(id, "stack")) ||
        (rc = check_spec(changes, false, &c.name_len)))
        return rc;
    c.owner = owner;
    c.id = id;
    c.spec = changes;
    c.want = out != NULL;
    if ((changes->fields & JOBS_STACK_WEBHOOK) && changes->webhook == JOBS_WEBHOOK_TOKEN &&
        (rc = new_token(c.token)))
        return rc;
    rc = jobs__write(store, update_txn, &c);
    if (rc) {
        jobs__free(c.out);
        return rc;
    }
    if (out)
        *out = c.out;
    return 0;
}

/* ---- webhooks --------------------------------------------------------------------------- */

typedef struct hook_ctx {
    uint64_t owner, id;
    char token[JOBS_WEBHOOK_TOKEN_LEN];
    jobs_stack_detail *out;
} hook_ctx;

static int webhook_txn(jobs_store *s, jobs__txn *txn, void *arg)
{
    hook_ctx *c = arg;
    jobs__stack_rec rec;
    int rc = s->be->stack_load(txn, c->id, &rec);

    if (rc == JOBS_ENOTFOUND)
        return jobs__error(JOBS_ENOTFOUND, "stack %llu not found", (unsigned long long)c->id);
    return rc ? rc : detail_load(&c->out, s, txn, c->id, &rec);
}

int jobs_stack_get_webhook(jobs_stack_detail **out, jobs_store *store, uint64_t id)
{
    hook_ctx c;
    int rc;

    memset(&c, 0, sizeof(c));
    if (out)
        *out = NULL;
    if (!out || !store)
        return jobs__error(JOBS_EINVAL, "jobs_stack_get_webhook needs an output and a store");
    if ((rc = jobs__check_id(id, "stack")))
        return rc;
    c.id = id;
    if ((rc = jobs__read(store, webhook_txn, &c)) == 0)
        *out = c.out;
    return rc;
}

static int token_txn(jobs_store *s, jobs__txn *txn, void *arg)
{
    hook_ctx *c = arg;
    char name[JOBS_NAME_MAX], token[JOBS_WEBHOOK_TOKEN_LEN];
    jobs__stack_rec old, rec;
    int rc = s->be->stack_load(txn, c->id, &old);

    jobs__free(c->out); /* a retried transaction starts again */
    c->out = NULL;
    if (rc == 0 && old.owner != c->owner)
        rc = JOBS_ENOTFOUND; /* only the owner refreshes a token, public stack or not */
    if (rc == JOBS_ENOTFOUND)
        return jobs__error(JOBS_ENOTFOUND, "stack %llu not found", (unsigned long long)c->id);
    if (rc)
        return rc;
    if (old.webhook != JOBS_WEBHOOK_TOKEN)
        return jobs__error(JOBS_EWEBHOOK, "stack %llu's webhook is %s, not token: it has no "
                           "token to refresh", (unsigned long long)c->id,
                           old.webhook == JOBS_WEBHOOK_NONE ? "null" : old.webhook ==
                           JOBS_WEBHOOK_PUBLIC ? "public" : "user");
    /* Writes below may move the stored bytes `old` points into: keep copies. */
    memcpy(name, old.name, old.name_len);
    old.name = name;
    if (old.token) {
        memcpy(token, old.token, JOBS_WEBHOOK_TOKEN_LEN);
        old.token = token;
    }
    rec = old;
    rec.token = c->token;
    if ((rc = s->be->stack_update(txn, c->id, &old, &rec)))
        return rc;
    return detail_load(&c->out, s, txn, c->id, &rec);
}

int jobs_stack_refresh_token(jobs_stack_detail **out, jobs_store *store, uint64_t owner,
                             uint64_t id)
{
    hook_ctx c;
    int rc;

    memset(&c, 0, sizeof(c));
    if (out)
        *out = NULL;
    if (!store)
        return jobs__error(JOBS_EINVAL, "jobs_stack_refresh_token needs a store");
    if ((rc = jobs__check_owner(owner, 0)) || (rc = jobs__check_id(id, "stack")) ||
        (rc = new_token(c.token)))
        return rc;
    c.owner = owner;
    c.id = id;
    rc = jobs__write(store, token_txn, &c);
    if (rc || !out) {
        jobs__free(c.out);
        return rc;
    }
    *out = c.out;
    return 0;
}

/* ---- by name ---------------------------------------------------------------------------- */

typedef struct name_ctx {
    uint64_t owner;
    const char *name;
    size_t len;
    jobs_stack *out;
} name_ctx;

static int by_name_txn(jobs_store *s, jobs__txn *txn, void *arg)
{
    name_ctx *c = arg;
    jobs__stack_rec rec;
    uint64_t id = 0;
    int rc = JOBS_ENOTFOUND;

    /* The owner's own first, then the public ones (the lowest id of that name). */
    if (c->owner != JOBS_OWNER_PUBLIC)
        rc = s->be->stack_by_name(txn, c->owner, c->name, c->len, &id);
    if (rc == JOBS_ENOTFOUND)
        rc = s->be->stack_by_name(txn, JOBS_OWNER_PUBLIC, c->name, c->len, &id);
    if (rc == JOBS_ENOTFOUND)
        return jobs__error(JOBS_ENOTFOUND, "no stack of that name");
    if (rc || (rc = s->be->stack_load(txn, id, &rec)))
        return rc == JOBS_ENOTFOUND ? jobs__error(JOBS_ECORRUPT, "the stack name index names "
                                                  "a missing stack") : rc;
    c->out = jobs__malloc(sizeof(*c->out) + stack_name_size(&rec));
    if (!c->out)
        return jobs__error(JOBS_ENOMEM, "out of memory");
    stack_fill(c->out, id, &rec, (char *)(c->out + 1));
    return 0;
}

int jobs_stack_get_by_name(jobs_stack **out, jobs_store *store, uint64_t owner,
                           const char *name)
{
    name_ctx c = {owner, name, 0, NULL};
    int rc;

    if (out)
        *out = NULL;
    if (!out || !store)
        return jobs__error(JOBS_EINVAL, "jobs_stack_get_by_name needs an output and a store");
    if ((rc = jobs__check_owner(owner, 1)))
        return rc;
    if (!name)
        return jobs__error(JOBS_ENAME, "a name is needed to look a stack up by name");
    if ((rc = jobs__check_name(name, &c.len)))
        return rc;
    if ((rc = jobs__read(store, by_name_txn, &c)) == 0)
        *out = c.out;
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
    "stack", stack_page_load, stack_name_size, stack_fill, 0, NULL};

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
