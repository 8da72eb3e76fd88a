/* Pages of records in id order, for every kind: the count and the skip, the backend's page of
 * ids, the loading of the records, and the one allocation that holds a page, its items and
 * their names. */
#ifndef JOBS_LIB_PAGE_H
#define JOBS_LIB_PAGE_H

#include "store.h"

/* What differs between the kinds of record. */
typedef struct jobs__page_kind {
    jobs__kind kind;        /* for the backend's counts and pages */
    bool with_public;       /* merge in what is listed under the public owner */
    size_t head_size;       /* sizeof the public page struct (items follow it) */
    size_t item_size;       /* sizeof one public item */
    size_t rec_size;        /* sizeof one decoded record */
    const char *what;       /* "job", for messages */
    /* Loads record `id` into `rec`: 0, JOBS_ENOTFOUND or an error. */
    int (*load)(jobs_store *s, jobs__txn *txn, uint64_t id, void *rec);
    /* Bytes the item's name takes after the items (0 for none, else length + 1). */
    size_t (*name_size)(const void *rec);
    /* Fills an item, copying its name to `names`; returns the end of the copied name. */
    char *(*fill)(void *item, uint64_t id, const void *rec, char *names);
    /* A second array beside the items, one of extra_size bytes per item filled from its record
     * by fill_extra (jobs: their run settings); 0 and NULL for none. */
    size_t extra_size;
    void (*fill_extra)(void *extra, const void *rec);
} jobs__page_kind;

/* The page header every public page struct begins with, in this order. */
typedef struct jobs__page_info {
    uint64_t count;
    uint32_t page_size;
    uint64_t page;
    size_t n;
    void *items;
    void *extras; /* kind->fill_extra's array (NULL when n is 0 or the kind has none) */
} jobs__page_info;

/* One page for `owner` (page >= 1, page_size 0 for the store's default; both checked).
 * On success *out is one allocation: kind->head_size bytes for the caller's page struct (left
 * for the caller to fill from *info), then the items, then their extras, then their names. */
int jobs__page_read(void **out, jobs__page_info *info, jobs_store *s,
                    const jobs__page_kind *kind, uint64_t owner, uint64_t page,
                    uint32_t page_size);

#endif
