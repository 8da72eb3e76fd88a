/* jobsctl copy FROM TO: a whole store into an empty one, LMDB or PostgreSQL either way
 * (jobs_store_copy()). */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

/* The files an LMDB store is made of: what opening a missing store makes in its directory. */
static const char *const store_files[] = {"data.mdb", "lock.mdb"};
#define N_STORE_FILES (sizeof(store_files) / sizeof(store_files[0]))

/* What the copy made of TO, so that a failed copy removes that, and only that: never a TO, or a
 * file in it, that was there before, and nothing else. */
typedef struct made {
    bool lmdb;               /* TO is a directory (LMDB), not a PostgreSQL store */
    bool dir;                /* the directory was missing: the copy made it */
    bool file[N_STORE_FILES]; /* the file was missing: the copy made it */
    bool store;              /* no store was there: the copy made one (either backend) */
    bool opened;             /* TO was opened, and `st` is its directory */
    struct stat st;
    bool counted;            /* `before` holds TO's counts before the copy */
    jobs_store_stat_info before;
} made;

/* Whether path/name is missing (ENOENT; any other failure counts as there). */
static bool missing(const char *dir, const char *name)
{
    char path[PATH_MAX];
    struct stat st;

    if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path)
        return false;
    return lstat(path, &st) != 0 && errno == ENOENT;
}

/* Looks at TO before it is opened: what is there already. */
static void made_before(made *m, const char *to)
{
    struct stat st;
    jobs_store_options opts = JOBS_STORE_OPTIONS_INIT;
    jobs_store_stat_info init = JOBS_STORE_STAT_INFO_INIT;
    jobs_store *s = NULL;
    int rc;

    memset(m, 0, sizeof(*m));
    m->before = init;
    m->lmdb = !ctl_is_postgres(to);
    /* As ctl_store_exists() tells, but quietly: what cannot be told counts as a store there. */
    opts.path = to;
    opts.flags = JOBS_STORE_READONLY;
    rc = jobs_store_open(&s, &opts);
    jobs_store_close(s);
    m->store = rc == JOBS_ENOTFOUND || rc == JOBS_EINVAL;
    if (!m->lmdb)
        return;
    m->dir = lstat(to, &st) != 0 && errno == ENOENT;
    for (size_t i = 0; i < N_STORE_FILES; i++)
        m->file[i] = m->dir || missing(to, store_files[i]);
}

/* Whether the directory `to` holds only the files of store_files (none is fine). */
static bool only_store_files(const char *to)
{
    DIR *d = opendir(to);
    struct dirent *e;
    bool only = d != NULL;

    while (only && (e = readdir(d))) {
        bool known = strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0;

        for (size_t i = 0; i < N_STORE_FILES && !known; i++)
            known = strcmp(e->d_name, store_files[i]) == 0;
        only = known;
    }
    if (d)
        closedir(d);
    return only;
}

/* After a failed copy, with both stores closed: removes what the copy made of the LMDB store
 * TO and says what is left. A directory made by the copy goes whole, unless it holds a file
 * the copy did not make; in a directory that was there, only the store's files it made go. */
static void remove_made(const made *m, const char *to)
{
    jobs_store_options opts = JOBS_STORE_OPTIONS_INIT;
    jobs_store *s = NULL;
    struct stat st;
    char path[PATH_MAX];
    int rc, removed = 0;

    if (m->dir && lstat(to, &st) != 0 && errno == ENOENT)
        return; /* not made after all (the open failed before) */
    /* The directory is still the one the copy opened, and no other process opened the new
     * store meanwhile (LMDB's lock tells: a read-only open refuses a store open elsewhere). */
    if (m->opened &&
        (stat(to, &st) != 0 || st.st_dev != m->st.st_dev || st.st_ino != m->st.st_ino)) {
        ctl_error("copy: '%s' is no longer the directory this copy made; left as it is", to);
        return;
    }
    opts.path = to;
    opts.flags = JOBS_STORE_READONLY;
    rc = jobs_store_open(&s, &opts);
    jobs_store_close(s);
    if (rc == JOBS_EBUSY) {
        ctl_error("copy: '%s' holds the store this copy made, which another process has open "
                  "now: left as it is; remove it once that process is done, before copying "
                  "again",
                  to);
        return;
    }
    if (m->dir && !only_store_files(to)) {
        ctl_error("copy: '%s', which this copy made, now holds files it did not make: left as "
                  "it is; remove it before copying again",
                  to);
        return;
    }
    for (size_t i = 0; i < N_STORE_FILES; i++) {
        if (!m->file[i])
            continue;
        snprintf(path, sizeof path, "%s/%s", to, store_files[i]);
        if (unlink(path) == 0)
            removed++;
        else if (errno != ENOENT && errno != ENOTDIR) {
            ctl_error("copy: cannot remove '%s', which this copy made: %s; remove it before "
                      "copying again",
                      path, strerror(errno));
            return;
        }
    }
    if (m->dir) {
        if (rmdir(to) == 0) {
            ctl_error("copy: removed '%s', which this copy had made: nothing is left of it", to);
        } else if (errno != ENOENT) {
            ctl_error("copy: cannot remove '%s', which this copy made: %s; remove it before "
                      "copying again",
                      to, strerror(errno));
        }
    } else if (removed) {
        ctl_error("copy: removed the store this copy had made in '%s'; the directory is left as "
                  "it was",
                  to);
    }
}

/* Whether the copy's write reached TO (one transaction: all of the copy, or none of it). */
enum written { WRITTEN_NO, WRITTEN_YES, WRITTEN_UNKNOWN };

static enum written written(const made *m, jobs_store *dst)
{
    jobs_store_stat_info now = JOBS_STORE_STAT_INFO_INIT;

    if (!dst)
        return WRITTEN_NO; /* never opened */
    if (!m->counted || jobs_store_stat(&now, dst) != 0)
        return WRITTEN_UNKNOWN;
    if (now.jobs != m->before.jobs || now.schedules != m->before.schedules ||
        now.stacks != m->before.stacks || now.runs != m->before.runs ||
        now.records != m->before.records)
        return WRITTEN_YES;
    return WRITTEN_NO;
}

/* After a failed copy: removes what it made of TO, where it can, and says what TO holds. Closes
 * both stores. `theirs`: the copy found records in TO (JOBS_EEXISTS), which it did not write:
 * another process made TO and wrote it since it was looked at (a copy, init, a server), and
 * nothing of it is this copy's to remove. */
static void after_failure(const made *m, const char *to, jobs_store *src, jobs_store *dst,
                          bool theirs)
{
    enum written w = written(m, dst);
    const char *may = w == WRITTEN_UNKNOWN ? "may hold" : "holds";

    jobs_store_close(src);
    jobs_store_close(dst);
    if (theirs)
        return; /* JOBS_EEXISTS: TO holds records this copy did not write */
    if (!dst && !m->lmdb)
        return; /* PostgreSQL: an open that failed made nothing (one transaction) */
    if (m->lmdb && (m->dir || m->store)) {
        remove_made(m, to);
        return;
    }
    if (!m->store) {
        /* There before: never removed. */
        if (w != WRITTEN_NO)
            ctl_error("copy: '%s' %s the copy, written but not verified: do not use it; make "
                      "it empty again (or take a new store) and copy again",
                      to, may);
        return;
    }
    /* A PostgreSQL store the copy made: jobsctl has no way to drop a store's tables. */
    if (w != WRITTEN_NO)
        ctl_error("copy: '%s' %s the store this copy made, with the copy written but not "
                  "verified: do not use it; jobsctl cannot remove a PostgreSQL store: drop its "
                  "tables (DROP SCHEMA ... CASCADE, when the store has its schema to itself) "
                  "before copying again",
                  to, may);
    else
        ctl_error("copy: '%s' holds the new, empty store this copy made (jobsctl cannot remove "
                  "a PostgreSQL store): nothing of the source was written, and a copy into it "
                  "again is accepted",
                  to);
}

static int copy_run(ctl *c, const ctl_args *a)
{
    const char *from = a->pos[0], *to = a->pos[1];
    jobs_store_options opts = JOBS_STORE_OPTIONS_INIT;
    jobs_store_stat_info info = JOBS_STORE_STAT_INFO_INIT;
    jobs_store *src = NULL, *dst = NULL;
    made m;
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
    /* The target is made when missing (a new directory, or a new PostgreSQL schema). What was
     * there before is noted first: a failed copy removes what it made, and only that. */
    made_before(&m, to);
    opts.path = to;
    opts.flags = 0;
    if ((rc = jobs_store_open(&dst, &opts))) {
        ctl_fail(rc, "copy: opening the store '%s'", to);
        after_failure(&m, to, src, NULL, false);
        return CTL_NO_STORE;
    }
    m.opened = !m.lmdb || stat(to, &m.st) == 0;
    m.counted = jobs_store_stat(&m.before, dst) == 0;
    if ((rc = jobs_store_copy(src, dst)) == 0)
        rc = jobs_store_stat(&info, dst);
    if (rc == JOBS_EEXISTS)
        ctl_error("copy: '%s' is not empty (%s); copy into a new store", to, jobs_error_last());
    else if (rc == JOBS_ECONFLICT)
        ctl_error("copy: '%s' changed while it was copied; stop the programs that write it "
                  "(jobs-server) and copy again into a new store",
                  from);
    else if (rc)
        ctl_fail(rc, "copy of '%s' into '%s'", from, to);
    if (rc) {
        after_failure(&m, to, src, dst, rc == JOBS_EEXISTS);
        return CTL_FAILED;
    }
    jobs_store_close(src);
    jobs_store_close(dst);
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
     "A copy that fails after it made TO removes what it made (an LMDB directory, or the\n"
     "store's files in a directory that was there), never a store that was there before; a\n"
     "PostgreSQL store it made stays, and the message says whether it is empty.\n"
     "With --json: {\"from\":FROM,\"to\":TO,\"jobs\":N,\"schedules\":N,\"stacks\":N,\"runs\":N,\n"
     "\"records\":N}.\n",
     "", 2, copy_run},
    {0},
};
