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

/* "dir/name" into out; false when it does not fit. */
static bool join(char out[PATH_MAX], const char *dir, const char *name)
{
    size_t d = strlen(dir), n = strlen(name);

    if (d + 1 + n >= PATH_MAX)
        return false;
    memcpy(out, dir, d);
    out[d] = '/';
    memcpy(out + d + 1, name, n + 1);
    return true;
}

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
    char data[PATH_MAX];
    struct stat st;
    jobs_store *s;
    bool existed;
    int rc;

    (void)a;
    if (!join(data, c->store_path, "data.mdb"))
        return ctl_error("init: the store path is too long");
    existed = stat(data, &st) == 0;
    opts.path = c->store_path;
    if ((rc = jobs_store_open(&s, &opts)) != 0) {
        ctl_fail(rc, "init: opening the store '%s'", c->store_path);
        return CTL_NO_STORE;
    }
    jobs_store_close(s);
    if (c->json) {
        fputs("{\"store\":", stdout);
        ctl_json_string(stdout, c->store_path);
        printf(",\"created\":%s}\n", existed ? "false" : "true");
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
    jobs_store_stat_info info;
    char n1[64], n2[64], n3[64];
    int rc;

    (void)a;
    if ((rc = ctl_open_store(c)))
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
    jobs_store_stat_info info;
    char data[PATH_MAX], b1[64], b2[64], b3[64];
    uint64_t file_size, per_job;
    struct stat st;
    ctl_table t;
    int rc;

    (void)a;
    if ((rc = ctl_open_store(c)))
        return rc;
    if ((rc = jobs_store_stat(&info, c->store)) != 0)
        return ctl_fail(rc, "stats");
    if (!join(data, c->store_path, "data.mdb") || stat(data, &st) != 0)
        return ctl_error("stats: cannot read the size of %s/data.mdb: %s", c->store_path,
                         strerror(errno));
    file_size = (uint64_t)st.st_size;
    per_job = info.jobs ? (file_size + info.jobs / 2) / info.jobs : 0;
    if (c->json) {
        fputs("{\"store\":", stdout);
        ctl_json_string(stdout, c->store_path);
        printf(",\"jobs\":%llu,\"schedules\":%llu,\"stacks\":%llu,\"map_size\":%llu,"
               "\"map_used\":%llu,\"file_size\":%llu,\"bytes_per_job\":",
               U(info.jobs), U(info.schedules), U(info.stacks), U(info.map_size), U(info.map_used),
               U(file_size));
        if (info.jobs)
            printf("%llu}\n", U(per_job));
        else
            fputs("null}\n", stdout);
        return CTL_OK;
    }
    ctl_table_init(&t, 2, NULL, align);
    ctl_table_cell(&t, "store");
    ctl_table_cell(&t, "%s", c->store_path);
    ctl_table_cell(&t, "jobs");
    ctl_table_cell(&t, "%llu", U(info.jobs));
    ctl_table_cell(&t, "schedules");
    ctl_table_cell(&t, "%llu", U(info.schedules));
    ctl_table_cell(&t, "stacks");
    ctl_table_cell(&t, "%llu", U(info.stacks));
    ctl_table_cell(&t, "map size");
    ctl_table_cell(&t, "%s", ctl_bytes(b1, info.map_size));
    ctl_table_cell(&t, "map used");
    ctl_table_cell(&t, "%s", ctl_bytes(b2, info.map_used));
    ctl_table_cell(&t, "data.mdb");
    ctl_table_cell(&t, "%s", ctl_bytes(b3, file_size));
    ctl_table_cell(&t, "bytes per job");
    if (info.jobs)
        ctl_table_cell(&t, "%llu (data.mdb / jobs)", U(per_job));
    else
        ctl_table_cell(&t, "- (no jobs)");
    ctl_table_print(&t);
    ctl_table_free(&t);
    return CTL_OK;
}

/* ---- backup -------------------------------------------------------------------------------- */

static int backup_run(ctl *c, const ctl_args *a)
{
    const char *dest = a->pos[0];
    char data[PATH_MAX], size[64];
    struct stat st;
    int rc;

    if (a->npos < 1)
        return ctl_usage_error(a, "DEST, the directory to write the backup to, is missing");
    if ((rc = ctl_open_store(c)))
        return rc;

    if ((rc = jobs_store_backup(c->store, dest)) != 0)
        return ctl_fail(rc, "backup of '%s' to '%s'", c->store_path, dest);
    if (!join(data, dest, "data.mdb") || stat(data, &st) != 0)
        return ctl_error("backup: cannot read the size of %s/data.mdb: %s", dest, strerror(errno));
    if (c->json) {
        fputs("{\"backup\":", stdout);
        ctl_json_string(stdout, dest);
        printf(",\"bytes\":%llu}\n", U(st.st_size));
    } else {
        printf("backup of %s written to %s: %s\n", c->store_path, data,
               ctl_bytes(size, (uint64_t)st.st_size));
    }
    return CTL_OK;
}

/* ---- restore ------------------------------------------------------------------------------- */

/* LMDB's lock protocol (mdb.c, mdb_env_excl_lock): every process that has an environment open
 * holds a shared fcntl() lock on the first byte of its lock.mdb, and the first to open it holds
 * that byte exclusively while it sets the file up. So: an exclusive lock on that byte that we can
 * take means no process has the store open; and while we hold it, a process that opens the store
 * waits for us. */
static struct flock first_byte(short type)
{
    struct flock fl;

    memset(&fl, 0, sizeof fl);
    fl.l_type = type;
    fl.l_whence = SEEK_SET;
    fl.l_start = 0;
    fl.l_len = 1;
    return fl;
}

/* Takes the lock of the store in `dir` (creating lock.mdb if need be): the descriptor, or -1
 * with errno (EAGAIN or EACCES: the store is open in another process). Closing it releases. */
static int lock_store(const char *dir)
{
    char path[PATH_MAX];
    struct flock fl = first_byte(F_WRLCK);
    int fd, e;

    if (!join(path, dir, "lock.mdb")) {
        errno = ENAMETOOLONG;
        return -1;
    }
    if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0)
        return -1;
    while (fcntl(fd, F_SETLK, &fl) != 0) {
        if (errno == EINTR)
            continue;
        e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

/* Whether another process has the store in `dir` open (false when that cannot be told). */
static bool in_use(const char *dir)
{
    char path[PATH_MAX];
    struct flock fl = first_byte(F_WRLCK);
    int fd;
    bool busy;

    if (!join(path, dir, "lock.mdb") || (fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
        return false;
    busy = fcntl(fd, F_GETLK, &fl) == 0 && fl.l_type != F_UNLCK;
    close(fd);
    return busy;
}

/* Copies a file into a new one (mode 0600) and flushes it: 0 or an errno. */
static int copy_file(const char *from, const char *to)
{
    enum { CHUNK = 1 << 20 };
    int in, out, e = 0;
    char *buf;
    ssize_t n;

    if ((in = open(from, O_RDONLY | O_CLOEXEC)) < 0)
        return errno;
    if ((out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0) {
        e = errno;
        close(in);
        return e;
    }
    buf = ctl_xmalloc(CHUNK);
    while (!e && (n = read(in, buf, CHUNK)) != 0) {
        if (n < 0) {
            if (errno != EINTR)
                e = errno;
            continue;
        }
        for (ssize_t off = 0; !e && off < n;) {
            ssize_t w = write(out, buf + off, (size_t)(n - off));

            if (w >= 0)
                off += w;
            else if (errno != EINTR)
                e = errno;
        }
    }
    if (!e && fsync(out) != 0)
        e = errno;
    if (close(out) != 0 && !e)
        e = errno;
    close(in);
    free(buf);
    return e;
}

/* Flushes a directory's entries to disk: 0 or an errno. */
static int sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), e = 0;

    if (fd < 0)
        return errno;
    if (fsync(fd) != 0)
        e = errno;
    close(fd);
    return e;
}

/* The new data.mdb is checked in a staging directory inside the store directory (the same file
 * system, so that a rename puts it in place) before it replaces anything: a backup that fails its
 * check leaves the store as it was. */
static int restore_run(ctl *c, const ctl_args *a)
{
    const char *backup = a->pos[0], *dir = c->store_path;
    char src[PATH_MAX], dst[PATH_MAX], stage[PATH_MAX], staged[PATH_MAX], stage_lock[PATH_MAX];
    char what[PATH_MAX + 32], n1[64], n2[64], n3[64];
    struct stat st, backup_st, dir_st;
    jobs_store_stat_info info;
    bool made = false, staging = false;
    int lock = -1, rc = CTL_FAILED, e;

    if (a->npos < 1)
        return ctl_usage_error(a, "BACKUP, the directory of the backup to restore, is missing");

    if (!join(src, backup, "data.mdb") || !join(dst, dir, "data.mdb") ||
        !join(stage, dir, ".restore-XXXXXX") || !join(staged, stage, "data.mdb") ||
        !join(stage_lock, stage, "lock.mdb"))
        return ctl_error("restore: a path is too long");
    if (stat(src, &st) != 0 || !S_ISREG(st.st_mode))
        return ctl_error("restore: no backup in '%s' (no data.mdb there)", backup);
    if (in_use(backup))
        return ctl_error("restore: '%s' is a store open in another process; take a backup of it "
                         "with 'jobsctl --store %s backup DEST' and restore DEST",
                         backup, backup);

    if (mkdir(dir, 0700) == 0)
        made = true;
    else if (errno != EEXIST)
        return ctl_error("restore: cannot create the store directory '%s': %s", dir,
                         strerror(errno));
    if (stat(dir, &dir_st) != 0 || !S_ISDIR(dir_st.st_mode)) {
        ctl_error("restore: '%s' is not a directory", dir);
        goto undo;
    }
    if (stat(backup, &backup_st) == 0 && backup_st.st_dev == dir_st.st_dev &&
        backup_st.st_ino == dir_st.st_ino) {
        ctl_error("restore: '%s' is the store itself", backup);
        goto undo;
    }
    if ((lock = lock_store(dir)) < 0) {
        if (errno == EAGAIN || errno == EACCES)
            ctl_error("restore: the store '%s' is open in another process; stop it (jobs-server, "
                      "or whatever uses the store) and try again",
                      dir);
        else
            ctl_error("restore: cannot lock %s/lock.mdb: %s", dir, strerror(errno));
        goto undo;
    }
    if (stat(dst, &st) == 0 && !ctl_flag(a, "force")) {
        ctl_error("restore: '%s' already holds a store; give --force to replace it", dir);
        goto undo;
    }

    if (!mkdtemp(stage)) {
        ctl_error("restore: cannot create a staging directory in '%s': %s", dir, strerror(errno));
        goto undo;
    }
    staging = true;
    join(staged, stage, "data.mdb"); /* the name mkdtemp chose; the lengths are as checked */
    join(stage_lock, stage, "lock.mdb");
    if ((e = copy_file(src, staged)) != 0) {
        ctl_error("restore: copying %s to %s: %s", src, staged, strerror(e));
        goto unstage;
    }
    snprintf(what, sizeof what, "restore: the backup in '%s'", backup);
    if (verify(&info, stage, what) != CTL_OK)
        goto unstage;
    if (rename(staged, dst) != 0) {
        ctl_error("restore: cannot move %s to %s: %s", staged, dst, strerror(errno));
        goto unstage;
    }
    if ((e = sync_dir(dir)) != 0) {
        ctl_error("restore: cannot flush the directory '%s': %s", dir, strerror(e));
        goto unstage;
    }
    rc = CTL_OK;

unstage:
    if (staging) {
        unlink(staged);
        unlink(stage_lock);
        rmdir(stage);
    }
undo:
    /* Closing the descriptor releases the lock: from here on, others may open the store. */
    if (lock >= 0)
        close(lock);
    if (rc != CTL_OK) {
        if (made) {
            char lock_path[PATH_MAX];

            if (join(lock_path, dir, "lock.mdb"))
                unlink(lock_path);
            rmdir(dir);
        }
        return rc;
    }

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
     "Creates the store directory (mode 0700; its parent must exist) and a new store in it,\n"
     "with the five built-in public schedules. An existing store is left as it is. The other\n"
     "commands never create a store: a mistyped --store is an error (exit status 3), not an\n"
     "empty store. With --json: {\"store\":DIR,\"created\":true|false}.\n",
     "", 0, init_run},
    {NULL, "check", "", "verify the store (exit 0 when consistent)",
     "Verifies every record, index, count and reference of the store, in one read\n"
     "transaction that blocks no writer (it may run beside jobs-server). Exit status 0 when\n"
     "the store is consistent, 1 with the first inconsistency named when it is not.\n"
     "With --json: {\"ok\":true,\"jobs\":N,\"schedules\":N,\"stacks\":N}, or {\"ok\":false,\n"
     "\"error\":\"JOBS_ECORRUPT\",\"detail\":\"...\"}.\n",
     "", 0, check_run},
    {NULL, "stats", "", "counts, map use, bytes per job",
     "Prints how many jobs, schedules and stacks the store holds (all owners), the size of\n"
     "its memory map and how much of it is used, the size of data.mdb, and data.mdb's bytes\n"
     "per job. With --json: {\"store\":DIR,\"jobs\":N,\"schedules\":N,\"stacks\":N,\n"
     "\"map_size\":N,\"map_used\":N,\"file_size\":N,\"bytes_per_job\":N or null}.\n",
     "", 0, stats_run},
    {NULL, "backup", "DEST", "a consistent, compacted copy of the store",
     "Copies the store into the directory DEST (created, mode 0700, if missing; it must be\n"
     "empty if it exists), as LMDB's compacting copy: one snapshot, taken while jobs-server\n"
     "and others go on writing, without free pages. DEST then holds data.mdb only, a store of\n"
     "its own: `jobsctl --store DEST check` verifies it, `jobsctl restore DEST` puts it back.\n"
     "Only the store is copied: jobs-server's users file (DATA/users) is not part of it.\n"
     "With --json: {\"backup\":DEST,\"bytes\":N}.\n",
     "", 1, backup_run},
    {NULL, "restore", "BACKUP [--force]", "put a backup in place of the store",
     "Makes the store (--store DIR) a copy of the backup in the directory BACKUP (what\n"
     "`jobsctl backup` wrote). The copy is first checked in a staging directory inside DIR;\n"
     "only a consistent copy replaces DIR/data.mdb, and the result is opened and checked\n"
     "again. DIR is created if missing. Refused while any process has the store open (stop\n"
     "jobs-server first), and when DIR already holds a store, unless --force.\n"
     "With --json: {\"store\":DIR,\"backup\":BACKUP,\"jobs\":N,\"schedules\":N,\"stacks\":N}.\n\n"
     "  --force           replace the store that DIR holds\n",
     "force", 1, restore_run},
    {0},
};
