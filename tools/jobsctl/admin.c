/* jobsctl's commands on a store as a whole: init, check, stats, backup, restore. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "jobsctl.h"

#define U(x) ((unsigned long long)(x))

/* Opens the store in `dir`, checks it and counts what it holds. Reports a failure as
 * "<what>: ..." and returns CTL_FAILED; CTL_OK otherwise. */
static int verify(jobs_store_stat_info *info, const char *dir, const char *what)
{
    jobs_store_options opts = JOBS_STORE_OPTIONS_INIT;
    jobs_store *s;
    int rc;

    opts.path = dir;
    if ((rc = jobs_store_open(&s, &opts)) != 0)
        return ctl_fail(rc, "%s: opening it", what);
    if ((rc = jobs_store_check(s)) != 0 || (rc = jobs_store_stat(info, s)) != 0) {
        ctl_fail(rc, "%s: checking it", what);
        jobs_store_close(s);
        return CTL_FAILED;
    }
    jobs_store_close(s);
    return CTL_OK;
}

/* ---- init ---------------------------------------------------------------------------------- */

static int init_run(ctl *c, const ctl_args *a)
{
    jobs_store_options opts = JOBS_STORE_OPTIONS_INIT;
    jobs_store *s;
    bool existed, older = false;
    int rc;

    (void)a;
    if ((rc = ctl_store_state(c->store_path, &older)) == CTL_FAILED)
        return CTL_NO_STORE;
    existed = rc == CTL_OK;
    opts.path = c->store_path;
    if ((rc = jobs_store_open(&s, &opts)) != 0) {
        ctl_fail(rc, "init: opening the store '%s'", c->store_path);
        return CTL_NO_STORE;
    }
    jobs_store_close(s);
    if (c->json) {
        fputs("{\"store\":", stdout);
        ctl_json_string(stdout, c->store_path);
        printf(",\"created\":%s,\"migrated\":%s}\n", existed ? "false" : "true",
               older ? "true" : "false");
    } else if (older) {
        /* the read-write open migrated it: the advice for a store of an earlier schema */
        printf("%s held a store of an earlier libjobs: migrated it to this libjobs' schema "
               "(libjobs %s); its records are as they were\n",
               c->store_path, jobs_version_string());
    } else if (existed) {
        printf("%s already holds a store; nothing changed\n", c->store_path);
    } else {
        printf("created a store in %s, with the built-in public schedules 1-5 (every minute, "
               "5 minutes, 15 minutes, hour, day)\n",
               c->store_path);
    }
    return CTL_OK;
}

/* ---- check --------------------------------------------------------------------------------- */

static int check_run(ctl *c, const ctl_args *a)
{
    jobs_store_stat_info info = JOBS_STORE_STAT_INFO_INIT;
    char n1[64], n2[64], n3[64];
    int rc;

    (void)a;
    if ((rc = ctl_open_store_to_read(c)))
        return rc;
    if ((rc = jobs_store_check(c->store)) == 0)
        rc = jobs_store_stat(&info, c->store);
    if (rc) {
        if (c->json) {
            fputs("{\"ok\":false,\"error\":", stdout);
            ctl_json_string(stdout, jobs_err_name(rc));
            fputs(",\"detail\":", stdout);
            ctl_json_string(stdout, jobs_error_last());
            fputs("}\n", stdout);
        }
        return ctl_fail(rc, "check '%s'", c->store_path);
    }
    if (c->json)
        printf("{\"ok\":true,\"jobs\":%llu,\"schedules\":%llu,\"stacks\":%llu}\n", U(info.jobs),
               U(info.schedules), U(info.stacks));
    else
        printf("%s is consistent: %s, %s, %s\n", c->store_path,
               ctl_plural(n1, info.jobs, "job", "jobs"),
               ctl_plural(n2, info.schedules, "schedule", "schedules"),
               ctl_plural(n3, info.stacks, "stack", "stacks"));
    return CTL_OK;
}

/* ---- stats --------------------------------------------------------------------------------- */

static int stats_run(ctl *c, const ctl_args *a)
{
    static const char *const align = "ll";
    jobs_store_stat_info info = JOBS_STORE_STAT_INFO_INIT;
    char b1[64], b2[64], b3[64];
    uint64_t file_size, per_job;
    bool lmdb;
    ctl_table t;
    int rc;

    (void)a;
    if ((rc = ctl_open_store_to_read(c)))
        return rc;
    if ((rc = jobs_store_stat(&info, c->store)) != 0)
        return ctl_fail(rc, "stats");
    /* The map and the file are LMDB's; another backend leaves them 0, which is no size. */
    lmdb = info.backend && strcmp(info.backend, "lmdb") == 0;
    file_size = info.lmdb.file_size;
    per_job = info.jobs ? (file_size + info.jobs / 2) / info.jobs : 0;
    if (c->json) {
        fputs("{\"store\":", stdout);
        ctl_json_string(stdout, c->store_path);
        fputs(",\"backend\":", stdout);
        ctl_json_string(stdout, info.backend ? info.backend : "");
        printf(",\"jobs\":%llu,\"schedules\":%llu,\"stacks\":%llu,", U(info.jobs),
               U(info.schedules), U(info.stacks));
        if (lmdb)
            printf("\"map_size\":%llu,\"map_used\":%llu,\"file_size\":%llu,\"bytes_per_job\":",
                   U(info.lmdb.map_size), U(info.lmdb.map_used), U(file_size));
        else
            fputs("\"map_size\":null,\"map_used\":null,\"file_size\":null,\"bytes_per_job\":",
                  stdout);
        if (lmdb && info.jobs)
            printf("%llu}\n", U(per_job));
        else
            fputs("null}\n", stdout);
        return CTL_OK;
    }
    ctl_table_init(&t, 2, NULL, align);
    ctl_table_cell(&t, "store");
    ctl_table_cell(&t, "%s", c->store_path);
    ctl_table_cell(&t, "backend");
    ctl_table_cell(&t, "%s", info.backend ? info.backend : "-");
    ctl_table_cell(&t, "jobs");
    ctl_table_cell(&t, "%llu", U(info.jobs));
    ctl_table_cell(&t, "schedules");
    ctl_table_cell(&t, "%llu", U(info.schedules));
    ctl_table_cell(&t, "stacks");
    ctl_table_cell(&t, "%llu", U(info.stacks));
    if (lmdb) {
        ctl_table_cell(&t, "map size");
        ctl_table_cell(&t, "%s", ctl_bytes(b1, info.lmdb.map_size));
        ctl_table_cell(&t, "map used");
        ctl_table_cell(&t, "%s", ctl_bytes(b2, info.lmdb.map_used));
        ctl_table_cell(&t, "file size");
        ctl_table_cell(&t, "%s", ctl_bytes(b3, file_size));
        ctl_table_cell(&t, "bytes per job");
        if (info.jobs)
            ctl_table_cell(&t, "%llu (file size / jobs)", U(per_job));
        else
            ctl_table_cell(&t, "- (no jobs)");
    }
    ctl_table_print(&t);
    ctl_table_free(&t);
    return CTL_OK;
}

/* ---- backup -------------------------------------------------------------------------------- */

/* An existing DEST must be a directory only this user can change, as jobs-server asks of its
 * data directory: in one that others may write in, they could put a store of their making in
 * place of the backup (with a user and password of theirs), which a later restore would take
 * as consistent. A DEST that is missing is created with mode 0700; other faults (not a
 * directory, not empty) are the library's to report. */
static int backup_dest_ok(const char *dest)
{
    struct stat st;

    if (stat(dest, &st) != 0 || !S_ISDIR(st.st_mode))
        return CTL_OK;
    if (st.st_uid != geteuid())
        return ctl_error("backup: '%s' is owned by uid %u, not by this user (uid %u): refusing "
                         "it, since its owner could replace the backup",
                         dest, (unsigned)st.st_uid, (unsigned)geteuid());
    if (st.st_mode & 022)
        return ctl_error("backup: '%s' is writable by %s (mode %03o): refusing it, since they "
                         "could replace the backup; run chmod go-w on it",
                         dest, (st.st_mode & 022) == 022 ? "its group and others"
                               : st.st_mode & 020         ? "its group"
                                                          : "others",
                         (unsigned)(st.st_mode & 07777));
    return CTL_OK;
}

static int backup_run(ctl *c, const ctl_args *a)
{
    const char *dest = a->pos[0];
    jobs_store_options opts = JOBS_STORE_OPTIONS_INIT;
    jobs_store_stat_info info = JOBS_STORE_STAT_INFO_INIT;
    jobs_store *copy;
    char size[64];
    int rc;

    if (a->npos < 1)
        return ctl_usage_error(a, "DEST, the directory to write the backup to, is missing");
    if ((rc = backup_dest_ok(dest)) != CTL_OK)
        return rc;
    /* It only reads the store: a store of an earlier libjobs is refused, not migrated (a backup
     * of it would not be one the earlier libjobs can read, and the store would be changed). */
    if ((rc = ctl_open_store_unmigrated(c)))
        return rc;

    if ((rc = jobs_store_backup(c->store, dest)) != 0)
        return ctl_fail(rc, "backup of '%s' to '%s'", c->store_path, dest);
    /* Its size, from the backup itself, opened read-only: it stays exactly as written. */
    opts.path = dest;
    opts.flags = JOBS_STORE_READONLY;
    if ((rc = jobs_store_open(&copy, &opts)) != 0)
        return ctl_fail(rc, "backup: opening the backup '%s'", dest);
    rc = jobs_store_stat(&info, copy);
    jobs_store_close(copy);
    if (rc)
        return ctl_fail(rc, "backup: the size of the backup '%s'", dest);
    if (c->json) {
        fputs("{\"backup\":", stdout);
        ctl_json_string(stdout, dest);
        printf(",\"bytes\":%llu}\n", U(info.lmdb.file_size));
    } else {
        printf("backup of %s written to %s: %s\n", c->store_path, dest,
               ctl_bytes(size, (uint64_t)info.lmdb.file_size));
    }
    return CTL_OK;
}

/* ---- restore ------------------------------------------------------------------------------- */

/* The library does the work (jobs_store_restore: a checked copy, put in place while no process
 * has the store open); jobsctl words the outcome and checks the result once more. */
static int restore_run(ctl *c, const ctl_args *a)
{
    const char *backup = a->pos[0], *dir = c->store_path;
    jobs_store_options opts = JOBS_STORE_OPTIONS_INIT;
    char what[PATH_MAX + 32], n1[64], n2[64], n3[64];
    jobs_store_stat_info info = JOBS_STORE_STAT_INFO_INIT;
    int rc;

    if (a->npos < 1)
        return ctl_usage_error(a, "BACKUP, the directory of the backup to restore, is missing");
    opts.path = dir;
    rc = jobs_store_restore(&opts, backup, ctl_flag(a, "force") ? JOBS_RESTORE_FORCE : 0);
    if (rc == JOBS_EEXISTS)
        return ctl_error("restore: '%s' already holds a store; give --force to replace it", dir);
    if (rc == JOBS_EBUSY && strstr(jobs_error_last(), "is open in another process"))
        return ctl_error("restore: the store '%s' is open in another process; stop it "
                         "(jobs-server, or whatever uses the store) and try again", dir);
    if (rc == JOBS_EBUSY && strstr(jobs_error_last(), "is a store open in another process"))
        return ctl_error("restore: '%s' is a store open in another process; take a backup of it "
                         "with 'jobsctl --store %s backup DEST' and restore DEST",
                         backup, backup);
    if (rc)
        return ctl_fail(rc, "restore of '%s' into '%s'", backup, dir);

    snprintf(what, sizeof what, "restore: the restored store '%s'", dir);
    if ((rc = verify(&info, dir, what)) != CTL_OK)
        return rc;
    if (c->json) {
        fputs("{\"store\":", stdout);
        ctl_json_string(stdout, dir);
        fputs(",\"backup\":", stdout);
        ctl_json_string(stdout, backup);
        printf(",\"jobs\":%llu,\"schedules\":%llu,\"stacks\":%llu}\n", U(info.jobs),
               U(info.schedules), U(info.stacks));
    } else {
        printf("restored %s into %s; it is consistent: %s, %s, %s\n", backup, dir,
               ctl_plural(n1, info.jobs, "job", "jobs"),
               ctl_plural(n2, info.schedules, "schedule", "schedules"),
               ctl_plural(n3, info.stacks, "stack", "stacks"));
    }
    return CTL_OK;
}

/* ---- the table ----------------------------------------------------------------------------- */

const ctl_command ctl_admin_commands[] = {
    {NULL, "init", "", "create a new, empty store",
     "Creates a new store, with the five built-in public schedules: for a directory, the\n"
     "directory (mode 0700; its parent must exist) and the LMDB store in it; for a\n"
     "PostgreSQL connection string, the store's tables in the first existing schema of the\n"
     "connection's search path. An existing store is left as it is, but for a store of an\n"
     "earlier libjobs, which init migrates to this one's schema (and says so). The other\n"
     "commands never create a store: a mistyped --store is an error (exit status 3), not an\n"
     "empty store. With --json: {\"store\":DIR,\"created\":true|false,\n"
     "\"migrated\":true|false}.\n",
     "", 0, init_run},
    {NULL, "check", "", "verify the store (exit 0 when consistent)",
     "Verifies every record, index, count and reference of the store, in one read\n"
     "transaction that blocks no writer (it may run beside jobs-server). Exit status 0 when\n"
     "the store is consistent, 1 with the first inconsistency named when it is not. When no\n"
     "process has the store open, it is opened read-only: checking a backup writes nothing.\n"
     "With --json: {\"ok\":true,\"jobs\":N,\"schedules\":N,\"stacks\":N}, or {\"ok\":false,\n"
     "\"error\":\"JOBS_ECORRUPT\",\"detail\":\"...\"}.\n",
     "", 0, check_run},
    {NULL, "stats", "", "counts, map use, bytes per job",
     "Prints the store's backend (lmdb or postgresql) and how many jobs, schedules and stacks\n"
     "it holds (all owners); of an LMDB store also the size of its memory map and how much of\n"
     "it is used, the size of its file, and the file's bytes per job. With --json:\n"
     "{\"store\":DIR,\"backend\":\"lmdb\",\"jobs\":N,\"schedules\":N,\"stacks\":N,\"map_size\":N,\n"
     "\"map_used\":N,\"file_size\":N,\"bytes_per_job\":N or null}; the last four are null on\n"
     "PostgreSQL.\n",
     "", 0, stats_run},
    {NULL, "backup", "DEST", "a consistent, compacted copy of the store",
     "Copies the store into the directory DEST (created, mode 0700, if missing; it must be\n"
     "empty if it exists, this user's, and not writable by group or others, who could\n"
     "replace the backup), as LMDB's compacting copy: one snapshot, taken while jobs-server\n"
     "and others go on writing, without free pages. DEST then holds a store of its own\n"
     "(one file): `jobsctl --store DEST check` verifies it, `jobsctl restore DEST` puts it back.\n"
     "LMDB stores only: a PostgreSQL --store is refused (exit status 1; back it up with\n"
     "pg_dump, or copy it into an LMDB store).\n"
     "jobs-server's users and sessions are in the store, so the backup has them too.\n"
     "A store of an earlier libjobs (an older schema) is refused (exit status 3) and left as\n"
     "it is, not migrated.\n"
     "With --json: {\"backup\":DEST,\"bytes\":N}.\n",
     "", 1, backup_run},
    {NULL, "restore", "BACKUP [--force]", "put a backup in place of the store",
     "Makes the LMDB store in the directory DIR (--store DIR) a copy of the backup in the\n"
     "directory BACKUP (what `jobsctl backup` wrote); a PostgreSQL --store is refused (exit\n"
     "status 1: restore it with PostgreSQL's own tools, or copy a store into it). The copy is\n"
     "first checked in a staging directory inside DIR; only a consistent copy replaces the\n"
     "store's file, and the result is opened and checked\n"
     "again. The copy of a backup of an earlier libjobs (an older schema) is migrated there\n"
     "first; BACKUP itself is only read, and stays as it was. DIR is created if missing.\n"
     "Refused while any process has the store open (stop jobs-server first), and when DIR\n"
     "already holds a store, unless --force. A restore that fails leaves DIR as it found it\n"
     "(a DIR it created is removed, an empty one stays empty).\n"
     "With --json: {\"store\":DIR,\"backup\":BACKUP,\"jobs\":N,\"schedules\":N,\"stacks\":N}.\n\n"
     "  --force           replace the store that DIR holds\n",
     "force", 1, restore_run},
    {0},
};
