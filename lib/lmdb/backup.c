/* The LMDB backend's backup (jobs_store_backup()): a consistent, compacted copy of the store in
 * a new directory; and its restore (jobs_store_restore()): a checked copy of a backup put in
 * place of a store no process has open.
 *
 * LMDB's compacting copy reads one snapshot in one read transaction of its own, so writers of
 * this process and of others go on while it runs. The copy is written under a temporary name,
 * flushed, and only then renamed to data.mdb: a data.mdb in a backup directory is always
 * whole (a torn one would map pages past its end). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "env.h"

#define DATA_FILE "data.mdb"
#define PARTIAL_FILE "data.mdb.partial"

/* A failed system call as a libjobs error: a full disk is JOBS_ENOSPC, a path that cannot be
 * used as given JOBS_EINVAL, anything else JOBS_EIO. */
static int sys_error(int e, const char *what, const char *path)
{
    int code;

    switch (e) {
    case ENOSPC:
    case EDQUOT:
        code = JOBS_ENOSPC;
        break;
    case ENOMEM:
        code = JOBS_ENOMEM;
        break;
    case ENOENT:
    case ENOTDIR:
    case EEXIST:
    case ENAMETOOLONG:
        code = JOBS_EINVAL;
        break;
    default:
        code = JOBS_EIO;
        break;
    }
    return jobs__error(code, "backup: %s '%s': %s", what, path, strerror(e));
}

/* Creates `dir` (mode 0700), or accepts it when it is an empty directory. */
static int prepare_dir(const char *dir, bool *made)
{
    DIR *d;
    struct dirent *ent;
    int e;

    *made = false;
    if (mkdir(dir, 0700) == 0) {
        *made = true;
        return 0;
    }
    if ((e = errno) != EEXIST)
        return sys_error(e, "cannot create the directory", dir);
    if (!(d = opendir(dir)))
        return sys_error(errno, "cannot read the directory", dir);
    while ((ent = readdir(d)) != NULL) {
        if (strcmp(ent->d_name, ".") != 0 && strcmp(ent->d_name, "..") != 0) {
            closedir(d);
            return jobs__error(JOBS_EINVAL,
                               "backup: the directory '%s' is not empty (a backup needs a new "
                               "or empty directory)",
                               dir);
        }
    }
    closedir(d);
    return 0;
}

int jobs__lmdb_sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int e = 0;

    if (fd < 0)
        return errno;
    if (fsync(fd) != 0)
        e = errno;
    close(fd);
    return e;
}

void jobs__lmdb_parent_dir(char *out, size_t size, const char *path)
{
    size_t n = strlen(path);

    while (n > 1 && path[n - 1] == '/')
        n--;
    while (n > 0 && path[n - 1] != '/')
        n--;
    while (n > 1 && path[n - 1] == '/')
        n--;
    if (n == 0)
        snprintf(out, size, ".");
    else
        snprintf(out, size, "%.*s", (int)n, path);
}

static int adopt_map_size(jobs_store *s, jobs__txn *txn, void *ctx)
{
    (void)s;
    (void)txn;
    (void)ctx;
    return 0;
}

/* Copies the store into `fd`, holding the map lock shared, as every transaction does: LMDB's
 * copy runs a read transaction of its own, and the map must not be resized under it. */
static int copy_into(jobs_store *store, int fd, const char *path)
{
    jobs__lmdb *s = store->db;
    bool drained = false;

    for (;;) {
        size_t n = 0;
        int rc;

        pthread_rwlock_rdlock(&s->map_lock);
        rc = s->unmapped ? -1 : mdb_env_copyfd2(s->env, fd, MDB_CP_COMPACT);
        /* No reader slot free: the read pool's idle transactions may hold some (store.c). */
        if (rc == MDB_READERS_FULL && !drained) {
            drained = true;
            n = jobs__lmdb_pool_drain(s);
        }
        pthread_rwlock_unlock(&s->map_lock);
        if (rc == -1) /* a failed resize left LMDB without a map (store.c, resize) */
            return jobs__lmdb_unmapped_error();
        if (rc == MDB_READERS_FULL && n == 0)
            return jobs__mdb_error(rc, "backup");
        if (rc != MDB_MAP_RESIZED && rc != MDB_READERS_FULL)
            return rc ? jobs__mdb_error(rc, "backup") : 0;
        /* Another process grew the map past ours. A read through the store adopts the new size
         * (it resizes with the lock held exclusively); then the copy starts again. Nothing was
         * written yet, but empty the file anyway. */
        if (rc == MDB_MAP_RESIZED && (rc = jobs__lmdb_read(store, adopt_map_size, NULL)) != 0)
            return rc;
        if (ftruncate(fd, 0) != 0 || lseek(fd, 0, SEEK_SET) != 0)
            return sys_error(errno, "cannot rewind", path);
    }
}

int jobs__lmdb_backup(jobs_store *store, const char *dest_dir)
{
    char partial[PATH_MAX], final[PATH_MAX], parent[PATH_MAX];
    bool made = false, renamed = false;
    int fd, rc, e;

    if (snprintf(partial, sizeof partial, "%s/%s", dest_dir, PARTIAL_FILE) >= (int)sizeof partial ||
        snprintf(final, sizeof final, "%s/%s", dest_dir, DATA_FILE) >= (int)sizeof final)
        return jobs__error(JOBS_EINVAL, "backup: the directory name is too long");
    jobs__lmdb_parent_dir(parent, sizeof parent, dest_dir);
    if ((rc = prepare_dir(dest_dir, &made)) != 0)
        return rc;

    fd = open(partial, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        rc = sys_error(errno, "cannot create", partial);
        goto fail;
    }
    rc = copy_into(store, fd, partial);
    if (!rc && fsync(fd) != 0)
        rc = sys_error(errno, "cannot flush", partial);
    if (close(fd) != 0 && !rc)
        rc = sys_error(errno, "cannot close", partial);
    if (!rc) {
        if (rename(partial, final) != 0)
            rc = sys_error(errno, "cannot rename", partial);
        else
            renamed = true;
    }
    if (!rc && (e = jobs__lmdb_sync_dir(dest_dir)) != 0)
        rc = sys_error(e, "cannot flush the directory", dest_dir);
    /* A directory this call created is an entry of its parent, which must reach the disk too. */
    if (!rc && made && (e = jobs__lmdb_sync_dir(parent)) != 0)
        rc = sys_error(e, "cannot flush the directory", parent);
    if (!rc)
        return 0;
    unlink(renamed ? final : partial);

fail:
    if (made)
        rmdir(dest_dir);
    return rc;
}

/* ---- restore ------------------------------------------------------------------------------ */

void (*jobs__restore_hook)(const char *dir);

/* A failed system call of a restore, as for the backup. */
static int restore_error(int e, const char *what, const char *path)
{
    int rc = sys_error(e, what, path);

    return jobs__error(rc, "restore: %s '%s': %s", what, path, strerror(e));
}

/* Takes the lock of the store in `dir` as LMDB's first opener does (an exclusive fcntl() lock on
 * the first byte of lock.mdb, created if need be): the descriptor, or -1 with errno (EAGAIN or
 * EACCES: the store is open in another process). While it is held, a process that opens the
 * store waits; closing the descriptor releases it. */
static int lock_store(const char *dir)
{
    char path[PATH_MAX];
    struct flock fl;
    int fd, e;

    memset(&fl, 0, sizeof fl);
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    fl.l_len = 1;
    if (snprintf(path, sizeof path, "%s/lock.mdb", dir) >= (int)sizeof path) {
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
    if (!(buf = jobs__malloc(CHUNK)))
        e = ENOMEM;
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
    jobs__free(buf);
    return e;
}

/* The new data.mdb is checked in a staging directory inside the store directory (the same file
 * system, so that a rename puts it in place) before it replaces anything: a backup that fails
 * its check leaves the store as it was. */
int jobs__restore_lmdb(const char *dir, const char *backup, unsigned int flags,
                       int (*verify)(const char *dir))
{
    char src[PATH_MAX], dst[PATH_MAX], stage[PATH_MAX], staged[PATH_MAX];
    struct stat st, backup_st, dir_st;
    bool made = false, staging = false;
    int lock = -1, rc, e;

    if (snprintf(src, sizeof src, "%s/%s", backup, DATA_FILE) >= (int)sizeof src ||
        snprintf(dst, sizeof dst, "%s/%s", dir, DATA_FILE) >= (int)sizeof dst ||
        snprintf(stage, sizeof stage, "%s/.restore-XXXXXX", dir) >= (int)sizeof stage - 16)
        return jobs__error(JOBS_EINVAL, "restore: a path is too long");
    if (stat(src, &st) != 0 || !S_ISREG(st.st_mode))
        return jobs__error(JOBS_EINVAL, "restore: no backup in '%s' (no %s there)", backup,
                           DATA_FILE);
    /* This process first: asking whether another process has it open must not touch the
     * lock file of a store open here (jobs__lmdb_in_use). */
    if (stat(backup, &backup_st) == 0 && jobs__lmdb_open_here(backup_st.st_dev, backup_st.st_ino))
        return jobs__error(JOBS_EBUSY, "restore: '%s' is a store open in this process; back it "
                           "up (jobs_store_backup) and restore the backup", backup);
    if (jobs__lmdb_in_use(backup))
        return jobs__error(JOBS_EBUSY, "restore: '%s' is a store open in another process; back "
                           "it up (jobs_store_backup) and restore the backup", backup);

    if (mkdir(dir, 0700) == 0)
        made = true;
    else if (errno != EEXIST)
        return restore_error(errno, "cannot create the store directory", dir);
    if (stat(dir, &dir_st) != 0 || !S_ISDIR(dir_st.st_mode)) {
        rc = jobs__error(JOBS_EINVAL, "restore: '%s' is not a directory", dir);
        goto undo;
    }
    if (stat(backup, &backup_st) == 0 && backup_st.st_dev == dir_st.st_dev &&
        backup_st.st_ino == dir_st.st_ino) {
        rc = jobs__error(JOBS_EINVAL, "restore: '%s' is the store itself", backup);
        goto undo;
    }
    /* Open in this process: its fcntl() locks would not stop us, and closing our descriptor
     * would drop them. */
    if (jobs__lmdb_open_here(dir_st.st_dev, dir_st.st_ino)) {
        rc = jobs__error(JOBS_EBUSY, "restore: the store '%s' is open in this process; close "
                         "it first", dir);
        goto undo;
    }
    if ((lock = lock_store(dir)) < 0) {
        if (errno == EAGAIN || errno == EACCES)
            rc = jobs__error(JOBS_EBUSY, "restore: the store '%s' is open in another process; "
                             "stop it and try again", dir);
        else
            rc = restore_error(errno, "cannot lock", dir);
        goto undo;
    }
    /* A process that opens the store meanwhile waits for the lock in LMDB, and gets it as a
     * later opener, which trusts lock.mdb as the store's last processes left it: among the rest
     * the last transaction id, which picks the meta page of its first transaction. Over a
     * restored data.mdb that id is another file's, and a write from that page would commit a
     * store on top of the restored one. An empty lock file cannot be mapped by a later opener:
     * its open fails, and the open tries again as the first opener, which sets lock.mdb up from
     * the data.mdb in place (jobs__open_lmdb). Done before anything is replaced, so that a
     * failure changes nothing. */
    if (ftruncate(lock, 0) != 0) {
        rc = restore_error(errno, "cannot reset the lock file of", dir);
        goto undo;
    }
    if (stat(dst, &st) == 0 && !(flags & JOBS_RESTORE_FORCE)) {
        rc = jobs__error(JOBS_EEXISTS, "restore: '%s' already holds a store (restore with "
                         "JOBS_RESTORE_FORCE to replace it)", dir);
        goto undo;
    }

    if (!mkdtemp(stage)) {
        rc = restore_error(errno, "cannot create a staging directory in", dir);
        goto undo;
    }
    staging = true;
    if (snprintf(staged, sizeof staged, "%s/%s", stage, DATA_FILE) >= (int)sizeof staged) {
        rc = jobs__error(JOBS_EINVAL, "restore: a path is too long");
        goto unstage;
    }
    if ((e = copy_file(src, staged)) != 0) {
        rc = restore_error(e, "cannot copy the backup into", staged);
        goto unstage;
    }
    /* The check opens the copy read-only; a copy of an older schema it first migrates with a
     * read-write open (lifecycle.c), which leaves a lock.mdb in the staging directory (removed
     * with it). The backup itself is only read. */
    if ((rc = verify(stage)) != 0) {
        rc = jobs__error(rc, "restore: the backup in '%s' fails its check: %s", backup,
                         jobs_error_last());
        goto unstage;
    }
    if (rename(staged, dst) != 0) {
        rc = restore_error(errno, "cannot move the checked copy to", dst);
        goto unstage;
    }
    if ((e = jobs__lmdb_sync_dir(dir)) != 0) {
        rc = restore_error(e, "cannot flush the directory", dir);
        goto unstage;
    }
    if (jobs__restore_hook)
        jobs__restore_hook(dir);
    rc = 0;

unstage:
    if (staging) {
        char stage_lock[PATH_MAX];

        unlink(staged);
        if (snprintf(stage_lock, sizeof stage_lock, "%s/lock.mdb", stage) <
            (int)sizeof stage_lock)
            unlink(stage_lock);
        rmdir(stage);
    }
undo:
    /* Closing the descriptor releases the lock: from here on, others may open the store. */
    if (lock >= 0)
        close(lock);
    if (rc && made) {
        char lock_path[PATH_MAX];

        if (snprintf(lock_path, sizeof lock_path, "%s/lock.mdb", dir) < (int)sizeof lock_path)
            unlink(lock_path);
        rmdir(dir);
    }
    return rc;
}
