/* jobsctl copy FROM TO: a whole store into an empty one, LMDB or PostgreSQL either way
 * (jobs_store_copy()). */
#include <string.h>
#include <sys/stat.h>

#include "jobsctl.h"

#define U(x) ((unsigned long long)(x))

/* Whether FROM and TO name one store: the same string, or one directory however written
 * ("var/store" and "./var/store/", a symbolic link). Opening it twice in this process would be
 * refused as "already open in this process", which does not say what is wrong. */
static bool same_directory(const char *from, const char *to)
{
    struct stat a, b;

    if (strcmp(from, to) == 0)
        return true;
    return stat(from, &a) == 0 && stat(to, &b) == 0 && S_ISDIR(a.st_mode) && S_ISDIR(b.st_mode) &&
           a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

static int copy_run(ctl *c, const ctl_args *a)
{
    const char *from = a->pos[0], *to = a->pos[1];
    jobs_store_options opts = JOBS_STORE_OPTIONS_INIT;
    jobs_store_stat_info info = JOBS_STORE_STAT_INFO_INIT;
    jobs_store *src = NULL, *dst = NULL;
    char n1[64], n2[64], n3[64], n4[64], n5[64];
    int rc;

    if (a->npos < 2)
        return ctl_usage_error(a, "%s is missing", a->npos ? "TO, the store to copy into"
                                                           : "FROM, the store to copy");
    if (same_directory(from, to))
        return ctl_usage_error(a, "FROM and TO are the same store");
    /* The source is read only: opened read-only unless another process has it open (LMDB
     * refuses that, as that process may write), never created, and never migrated (a store of
     * another schema is refused). */
    if ((rc = ctl_store_exists(from)) != CTL_OK) {
        if (rc == CTL_NO_STORE)
            ctl_error("copy: no store in '%s'", from);
        return CTL_NO_STORE;
    }
    opts.path = from;
    opts.flags = JOBS_STORE_READONLY;
    if ((rc = jobs_store_open(&src, &opts)) == JOBS_EBUSY) {
        opts.flags = 0;
        rc = jobs_store_open(&src, &opts);
    }
    if (rc == JOBS_ESCHEMA)
        return ctl_old_schema(rc, from);
    if (rc) {
        ctl_fail(rc, "copy: opening the store '%s'", from);
        return CTL_NO_STORE;
    }
    /* The target is made when missing (a new directory, or a new PostgreSQL schema). */
    opts.path = to;
    opts.flags = 0;
    if ((rc = jobs_store_open(&dst, &opts))) {
        jobs_store_close(src);
        ctl_fail(rc, "copy: opening the store '%s'", to);
        return CTL_NO_STORE;
    }
    rc = jobs_store_copy(src, dst);
    if (rc == 0)
        rc = jobs_store_stat(&info, dst);
    jobs_store_close(src);
    jobs_store_close(dst);
    if (rc == JOBS_EEXISTS)
        return ctl_error("copy: '%s' is not empty (%s); copy into a new store", to,
                         jobs_error_last());
    if (rc == JOBS_ECONFLICT)
        return ctl_error("copy: '%s' changed while it was copied; stop the programs that write "
                         "it (jobs-server) and copy again into a new store", from);
    if (rc)
        return ctl_fail(rc, "copy of '%s' into '%s'", from, to);
    if (c->json) {
        fputs("{\"from\":", stdout);
        ctl_json_string(stdout, from);
        fputs(",\"to\":", stdout);
        ctl_json_string(stdout, to);
        printf(",\"jobs\":%llu,\"schedules\":%llu,\"stacks\":%llu,\"runs\":%llu,"
               "\"records\":%llu}\n",
               U(info.jobs), U(info.schedules), U(info.stacks), U(info.runs), U(info.records));
    } else {
        printf("copied %s into %s (%s); checked, and equal to the source: %s, %s, %s, %s, %s\n",
               from, to, info.backend, ctl_plural(n1, info.jobs, "job", "jobs"),
               ctl_plural(n2, info.schedules, "schedule", "schedules"),
               ctl_plural(n3, info.stacks, "stack", "stacks"),
               ctl_plural(n4, info.runs, "run", "runs"),
               ctl_plural(n5, info.records, "namespaced record", "namespaced records"));
    }
    return CTL_OK;
}

const ctl_command ctl_copy_commands[] = {
    {NULL, "copy", "FROM TO", "copy a whole store into a new one (LMDB <-> PostgreSQL)",
     "Copies every record of the store FROM into the store TO, each a directory (LMDB) or a\n"
     "PostgreSQL connection string (postgresql://... or a libpq conninfo): jobs, schedules,\n"
     "stacks and their blocks, runs, idempotency keys, namespaced records (jobs-server's\n"
     "users and sessions) and the id counters, with their ids, so ids go on where FROM\n"
     "stopped. TO is created when missing, and must be empty otherwise (a new store: its\n"
     "built-in schedules are fine); a store that holds anything else is refused and left as\n"
     "it was. The copy is one transaction in TO, then verified: TO is checked, and read again\n"
     "and compared with FROM record by record. --store is not used.\n"
     "Stop the programs that write FROM first: a write during the copy fails the\n"
     "comparison. FROM is opened read-only when no other process has it open.\n"
     "With --json: {\"from\":FROM,\"to\":TO,\"jobs\":N,\"schedules\":N,\"stacks\":N,\"runs\":N,\n"
     "\"records\":N}.\n",
     "", 2, copy_run},
    {0},
};
