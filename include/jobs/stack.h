/**
 * @file jobs/stack.h
 * @brief Stacks: the thing a job runs. libjobs keeps id, owner, name, visibility, and the
 * fields of the original service's stacks (blocks, webhook settings, needs_approval); the host
 * gives a stack its meaning.
 *
 * A stack is visible to its owner, and to everyone when `public`. An invisible stack answers
 * JOBS_ENOTFOUND (or JOBS_ESTACK where a job refers to it), exactly as a missing one.
 *
 * Stack names are unique per owner: a second stack of one name for one owner is
 * JOBS_ESTACKEXISTS (two owners may each have a stack of the same name). `blocks` are opaque
 * bytes of at most JOBS_STACK_BLOCKS_MAX: libjobs stores them and hands them back unchanged
 * (jobs-server keeps the JSON array of blocks a client sent). They are kept apart from the
 * stack's small record, so that checking a job's stack never reads them.
 */
#ifndef JOBS_STACK_H
#define JOBS_STACK_H

#include "job.h"
#include "store.h"

#ifdef __cplusplus
extern "C" {
#endif

/** A stack. Caller-owned when returned; free with jobs_stack_free(). */
typedef struct jobs_stack {
    uint64_t id;        /**< 1..JOBS_ID_MAX */
    uint64_t owner;     /**< its owner, 1..JOBS_ID_MAX */
    const char *name;   /**< NUL-terminated; never NULL */
    bool is_public;     /**< visible to (and usable by) every owner */
} jobs_stack;

/** The most bytes a stack's blocks may have (64 KiB). */
#define JOBS_STACK_BLOCKS_MAX 65536

/** The length of a webhook token: hexadecimal digits (128 random bits). */
#define JOBS_WEBHOOK_TOKEN_LEN 32

/** Who may call a stack as a webhook (the host's webhook routes decide what that means). */
typedef enum jobs_webhook {
    JOBS_WEBHOOK_NONE = 0,   /**< not a webhook */
    JOBS_WEBHOOK_PUBLIC = 1, /**< anyone with the address */
    JOBS_WEBHOOK_TOKEN = 2,  /**< whoever presents the stack's webhook token */
    JOBS_WEBHOOK_USER = 3    /**< the stack's owner, authenticated */
} jobs_webhook;

/** The HTTP method a stack's webhook answers. */
typedef enum jobs_webhook_method {
    JOBS_WEBHOOK_GET = 0, /**< GET (the default) */
    JOBS_WEBHOOK_POST = 1 /**< POST */
} jobs_webhook_method;

/** Bits of jobs_stack_spec.fields: which members of the spec are given. */
enum jobs_stack_field {
    JOBS_STACK_NAME = 1u << 0,           /**< `name` is given (required to create) */
    JOBS_STACK_PUBLIC = 1u << 1,         /**< `is_public` is given (default false) */
    JOBS_STACK_BLOCKS = 1u << 2,         /**< `blocks`/`blocks_len` are given (default none) */
    JOBS_STACK_WEBHOOK = 1u << 3,        /**< `webhook` is given (default NONE) */
    JOBS_STACK_WEBHOOK_METHOD = 1u << 4, /**< `webhook_method` is given (default GET) */
    JOBS_STACK_NEEDS_APPROVAL = 1u << 5  /**< `needs_approval` is given (default false) */
};

/**
 * What to create, or what to change. Only the members whose bit is set in `fields` are read.
 * Initialise with JOBS_STACK_SPEC_INIT.
 */
typedef struct jobs_stack_spec {
    unsigned int fields;                /**< jobs_stack_field bits */
    const char *name;                   /**< NUL-terminated; never NULL when given */
    bool is_public;                     /**< visible to (and usable by) every owner */
    const void *blocks;                 /**< the blocks' bytes; NULL (with len 0) for none */
    size_t blocks_len;                  /**< 0..JOBS_STACK_BLOCKS_MAX */
    jobs_webhook webhook;               /**< who may call it as a webhook */
    jobs_webhook_method webhook_method; /**< its webhook's method */
    bool needs_approval;                /**< a flag kept for the host (no effect on visibility) */
} jobs_stack_spec;

/** Initialiser for jobs_stack_spec: nothing given. */
#define JOBS_STACK_SPEC_INIT {0, NULL, false, NULL, 0, JOBS_WEBHOOK_NONE, JOBS_WEBHOOK_GET, false}

/**
 * A stack with all its fields. Allocated by libjobs as one block (free with
 * jobs_stack_detail_free()); it may grow at its end in later versions.
 */
typedef struct jobs_stack_detail {
    uint64_t id;                        /**< 1..JOBS_ID_MAX */
    uint64_t owner;                     /**< its owner */
    const char *name;                   /**< NUL-terminated; never NULL */
    bool is_public;                     /**< visible to every owner */
    bool needs_approval;                /**< as set by its owner */
    jobs_webhook webhook;               /**< who may call it as a webhook */
    jobs_webhook_method webhook_method; /**< its webhook's method */
    /** JOBS_WEBHOOK_TOKEN_LEN hex digits, NUL-terminated, when `webhook` is
     * JOBS_WEBHOOK_TOKEN; else NULL. Show it to the owner only. */
    const char *webhook_token;
    /** The blocks' bytes with a NUL after them (not counted in blocks_len); NULL when the
     * stack has none. */
    const char *blocks;
    size_t blocks_len; /**< 0 when it has none */
} jobs_stack_detail;

/** A page of stacks: the public ones plus the owner's, in id order. */
typedef struct jobs_stack_page {
    uint64_t count;      /**< visible stacks in all */
    uint32_t page_size;  /**< the page size used */
    uint64_t page;       /**< the page number, from 1 */
    size_t n;            /**< stacks on this page */
    jobs_stack *stacks;  /**< NULL when n is 0 */
} jobs_stack_page;

/** Frees a stack. Accepts NULL. */
JOBS_EXTERN void jobs_stack_free(jobs_stack *stack);

/** Frees a page of stacks. Accepts NULL. */
JOBS_EXTERN void jobs_stack_page_free(jobs_stack_page *page);

/**
 * Creates a stack with only a name and a visibility (jobs_stack_create_with_job() sets the
 * other fields).
 * @param[out] id    the new id (may be NULL)
 * @param owner      1..JOBS_ID_MAX
 * @param name       required, NUL-terminated, per the name rules
 * @param is_public  visible to every owner
 * @return 0, JOBS_ENAME (NULL or invalid name), JOBS_ESTACKEXISTS, JOBS_EINVAL, JOBS_EOWNER,
 *         JOBS_ENOSPC, or a store error.
 */
JOBS_EXTERN int jobs_stack_create(uint64_t *id, jobs_store *store, uint64_t owner,
                                  const char *name, bool is_public);

/**
 * One stack by id, if `owner` can see it.
 * @return 0, JOBS_ENOTFOUND, JOBS_ERANGE, JOBS_EINVAL, JOBS_EOWNER, JOBS_ENOMEM, or a store error.
 */
JOBS_EXTERN int jobs_stack_get(jobs_stack **out, jobs_store *store, uint64_t owner, uint64_t id);

/** Frees a stack detail. Accepts NULL. */
JOBS_EXTERN void jobs_stack_detail_free(jobs_stack_detail *stack);

/**
 * Creates a stack from a spec, and with `first_job` also its first job, in one transaction:
 * both are created or neither is (a job that cannot be created leaves no stack).
 *
 * A stack whose `webhook` is JOBS_WEBHOOK_TOKEN gets a new webhook token: 128 bits from the
 * operating system's random source (getrandom(2)), as 32 lowercase hex digits.
 *
 * @param[out] id      the new stack's id (may be NULL)
 * @param[out] job_id  the first job's id (may be NULL; 0 when there is no first job)
 * @param owner        1..JOBS_ID_MAX
 * @param spec         JOBS_STACK_NAME is required; the other fields default as documented
 * @param first_job    NULL for none; else as for jobs_create() with its JOBS_JOB_SCHEDULE
 *                     given; its `stack` is the new stack (JOBS_JOB_STACK must not be given)
 * @return 0, JOBS_ENAME, JOBS_ESTACKEXISTS (the owner has a stack of that name), JOBS_EINVAL
 *         (bad spec, blocks over JOBS_STACK_BLOCKS_MAX), JOBS_EOWNER, the first job's errors
 *         (JOBS_ESCHEDULE, JOBS_EEXISTS, ...), JOBS_EIO (no random source), JOBS_ENOSPC, or a
 *         store error.
 * @since 0.2.0
 */
JOBS_EXTERN int jobs_stack_create_with_job(uint64_t *id, uint64_t *job_id, jobs_store *store,
                                           uint64_t owner, const jobs_stack_spec *spec,
                                           const jobs_job_spec *first_job);

/**
 * Changes the fields that `changes->fields` names on an owner's own stack; the others stay
 * as they are, and an empty `fields` changes nothing. Someone else's stack, public or not, is
 * JOBS_ENOTFOUND (only its owner changes a stack). Setting `webhook` to JOBS_WEBHOOK_TOKEN
 * gives the stack a new token unless it already has one; any other `webhook` drops the token.
 * Making a stack private that other owners' jobs use is allowed: those jobs keep it.
 *
 * @param[out] out  the stack after the change, or NULL if not wanted
 * @return 0, JOBS_ENOTFOUND, JOBS_ESTACKEXISTS, JOBS_ENAME, JOBS_EINVAL, JOBS_ERANGE,
 *         JOBS_EOWNER, JOBS_EIO, JOBS_ENOMEM, JOBS_ENOSPC, or a store error.
 * @since 0.2.0
 */
JOBS_EXTERN int jobs_stack_update(jobs_stack_detail **out, jobs_store *store, uint64_t owner,
                                  uint64_t id, const jobs_stack_spec *changes);

/**
 * One stack with all its fields (blocks included), by id, if `owner` can see it. Pass
 * JOBS_OWNER_PUBLIC for an anonymous caller (public stacks only).
 * @return 0, JOBS_ENOTFOUND, JOBS_ERANGE, JOBS_EINVAL, JOBS_EOWNER, JOBS_ENOMEM, or a store
 *         error.
 * @since 0.2.0
 */
JOBS_EXTERN int jobs_stack_get_detail(jobs_stack_detail **out, jobs_store *store,
                                      uint64_t owner, uint64_t id);

/**
 * One stack with all its fields (blocks and webhook token included), by id, whoever owns it and
 * whether it is public or not: for a host's webhook route, which must find a private stack
 * whose `webhook` lets others call it, and then checks the caller against `webhook` itself.
 * Never show what it gives to a caller that is not the owner.
 * @param[out] out  the stack (caller frees with jobs_stack_detail_free())
 * @return 0, JOBS_ENOTFOUND, JOBS_ERANGE, JOBS_EINVAL, JOBS_ENOMEM, or a store error.
 * @since 0.2.0
 */
JOBS_EXTERN int jobs_stack_get_webhook(jobs_stack_detail **out, jobs_store *store, uint64_t id);

/**
 * Gives the owner's stack, whose `webhook` is JOBS_WEBHOOK_TOKEN, a new webhook token (as
 * jobs_stack_create_with_job() makes them); the old one stops working at once. One
 * transaction.
 * @param[out] out  the stack after the change (caller frees with jobs_stack_detail_free()), or
 *                  NULL if not wanted
 * @return 0, JOBS_ENOTFOUND (no such stack of the owner: another owner's, public or not, too),
 *         JOBS_EWEBHOOK (its webhook is not of the token kind), JOBS_ERANGE, JOBS_EINVAL,
 *         JOBS_EOWNER, JOBS_EIO (no random source), JOBS_ENOMEM, JOBS_ENOSPC, or a store error.
 * @since 0.2.0
 */
JOBS_EXTERN int jobs_stack_refresh_token(jobs_stack_detail **out, jobs_store *store,
                                         uint64_t owner, uint64_t id);

/**
 * One stack by name: `owner`'s own stack of that name, or else the public stack of that name
 * with the lowest id. Pass JOBS_OWNER_PUBLIC for an anonymous caller (public stacks only).
 * Names are compared byte for byte. O(log n): stacks are indexed by name.
 * @param name  NUL-terminated, per the name rules
 * @return 0, JOBS_ENOTFOUND, JOBS_ENAME, JOBS_EINVAL, JOBS_EOWNER, JOBS_ENOMEM, or a store
 *         error.
 * @since 0.2.0
 */
JOBS_EXTERN int jobs_stack_get_by_name(jobs_stack **out, jobs_store *store, uint64_t owner,
                                       const char *name);

/**
 * One page of the stacks `owner` can see (public ones and its own), in id order.
 * @param page_size  1..1000, or 0 for the store's default
 * @return 0, JOBS_EPAGE, JOBS_EINVAL, JOBS_EOWNER, JOBS_ENOMEM, or a store error.
 */
JOBS_EXTERN int jobs_stack_list(jobs_stack_page **out, jobs_store *store, uint64_t owner,
                                uint64_t page, uint32_t page_size);

#ifdef __cplusplus
}
#endif

#endif
