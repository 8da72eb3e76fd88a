/* The write log of plrec.c, read by powerloss_check.c. */
#ifndef PLREC_H
#define PLREC_H

#include <stdint.h>
#include <sys/syscall.h>

#define PLREC_MAGIC 0x504c5243u /* "PLRC" */

enum {
    PLREC_WRITE = 1,    /* len bytes at off follow the head */
    PLREC_FLUSH = 2,    /* fdatasync or fsync returned 0: every earlier write is durable */
    PLREC_TRUNCATE = 3, /* ftruncate to off */
    PLREC_NOTE = 4,     /* sync_file_range: no durability */
    PLREC_MSYNC = 5     /* msync (not expected: no MDB_WRITEMAP) */
};

#define PLREC_DURABLE 1u /* the write went through an O_DSYNC/O_SYNC descriptor */

typedef struct plrec_head {
    uint32_t magic;
    uint32_t type;
    uint32_t flags;
    uint64_t off;
    uint64_t len;
} __attribute__((packed)) plrec_head;

#endif
