/**
 * @file jobs/stack.h
 * @brief Stacks: the thing a job runs. libjobs keeps only id, owner, name and visibility;
 * the host gives a stack its meaning.
 *
 * A stack is visible to its owner, and to everyone when `public`. An invisible stack answers
 * JOBS_ENOTFOUND (or JOBS_ESTACK where a job refers to it), exactly as a missing one.
 */
#ifndef JOBS_STACK_H
#define JOBS_STACK_H

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
 * Creates a stack.
 * @param[out] id    the new id (may be NULL)
 * @param owner      1..JOBS_ID_MAX
 * @param name       required, NUL-terminated, per the name rules
 * @param is_public  visible to every owner
 * @return 0, JOBS_ENAME (NULL or invalid name), JOBS_EINVAL, JOBS_EOWNER, JOBS_ENOSPC, or a store error.
 */
JOBS_EXTERN int jobs_stack_create(uint64_t *id, jobs_store *store, uint64_t owner,
                                  const char *name, bool is_public);

/**
 * One stack by id, if `owner` can see it.
 * @return 0, JOBS_ENOTFOUND, JOBS_ERANGE, JOBS_EINVAL, JOBS_EOWNER, JOBS_ENOMEM, or a store error.
 */
JOBS_EXTERN int jobs_stack_get(jobs_stack **out, jobs_store *store, uint64_t owner, uint64_t id);

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
