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
#include <string.h>
#include <sys/file.h>
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
 * the first byte of lock.mdb, created if need be): 0 with the descriptor in *fd, and *created
 * when this call made lock.mdb; JOBS_EBUSY when another process has the store open; or another
 * error (lock.mdb cannot be made or opened: an unwritable directory is not a busy store). While
 * the lock is held, a process that opens the store waits; closing the descriptor releases it. */
static int lock_store(const char *dir, int *fd, bool *created)
{
    char path[PATH_MAX];
    struct flock fl;

    *fd = -1;
    *created = false;
    memset(&fl, 0, sizeof fl);
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    fl.l_len = 1;
    if (snprintf(path, sizeof path, "%s/lock.mdb", dir) >= (int)sizeof path)
        return jobs__error(JOBS_EINVAL, "restore: a path is too long");
    while (*fd < 0) {
        if ((*fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) >= 0) {
            *created = true;
            break;
        }
        if (errno != EEXIST)
            return restore_error(errno, "cannot create the lock file", path);
        /* It exists. ENOENT: removed between the two opens (by a restore that failed), so it is
         * made again. */
        if ((*fd = open(path, O_RDWR | O_CLOEXEC)) < 0 && errno != ENOENT)
            return restore_error(errno, "cannot open the lock file", path);
    }
    while (fcntl(*fd, F_SETLK, &fl) != 0) {
        int e = errno;

        if (e == EINTR)
            continue;
        /* A lock.mdb this call made is left: the process that locked it meanwhile (it opened
         * the store just now) uses it. */
        close(*fd);
        *fd = -1;
        *created = false;
        if (e == EAGAIN || e == EACCES)
            return jobs__error(JOBS_EBUSY, "restore: the store '%s' is open in another "
                               "process; stop it and try again", dir);
        return restore_error(e, "cannot lock", path);
    }
    return 0;
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

/* Whether the staged copy in `dir` holds every page its meta page counts (jobs__lmdb_whole): a
 * backup cut short (a copy that ran out of space, a partial download) is refused in the
 * backup's terms before the check opens it. Only the meta pages are read. 0, or JOBS_ECORRUPT;
 * a file LMDB cannot open at all is left to the check, which says why. */
static int check_whole(const char *dir, const char *backup)
{
    MDB_env *env;
    uint64_t have, need;
    int rc = 0;

    if (mdb_env_create(&env) != 0)
        return 0;
    if (mdb_env_open(env, dir, MDB_RDONLY | MDB_NOLOCK | MDB_NOTLS, 0600) == 0 &&
        !jobs__lmdb_whole(env, &have, &need))
        rc = jobs__error(JOBS_ECORRUPT, "restore: the backup in '%s' is cut short: its file has "
                         "%llu bytes, its pages need %llu", backup, (unsigned long long)have,
                         (unsigned long long)need);
    mdb_env_close(env);
    return rc;
}

/* The staging directories (".restore-XXXXXX") a restore makes in a store's directory. Each is
 * held with flock() while its restore runs; one nobody holds is what a restore killed midway
 * (kill -9, a power cut) left, a whole copy of its backup. */
#define STAGE_PREFIX ".restore-"

/* Empties and removes a staging directory (its copy, and the lock.mdb of a migrating check). */
static void remove_stage(const char *stage)
{
    char path[PATH_MAX];

    if (snprintf(path, sizeof path, "%s/%s", stage, DATA_FILE) < (int)sizeof path)
        unlink(path);
    if (snprintf(path, sizeof path, "%s/lock.mdb", stage) < (int)sizeof path)
        unlink(path);
    rmdir(stage);
}

/* After a restore: removes the staging directories of earlier restores that were killed
 * midway, and only those no restore holds (another one running into the same directory holds
 * its own). Best effort: what cannot be removed stays. */
static void remove_stale_stages(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;

    if (!d)
        return;
    while ((e = readdir(d)) != NULL) {
        char path[PATH_MAX];
        int fd;

        if (strncmp(e->d_name, STAGE_PREFIX, strlen(STAGE_PREFIX)) != 0 ||
            strlen(e->d_name) != strlen(STAGE_PREFIX) + 6 ||
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name) >= (int)sizeof path)
            continue;
        if ((fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
            continue;
        if (flock(fd, LOCK_EX | LOCK_NB) == 0)
            remove_stage(path);
        close(fd);
    }
    closedir(d);
}

/* The new data.mdb is checked in a staging directory inside the store directory (the same file
 * system, so that a rename puts it in place) before the store is locked: a backup that fails its
 * check leaves the store's directory as it was, and no process that opens the store meanwhile
 * waits for the check. Then the store is locked, and under the lock asked again whether it
 * holds a store and, with no error left but the rename's, replaced. A failure removes what the
 * restore made (the staging directory, a lock.mdb it created, the directory itself), so the
 * directory is left as the restore found it. */
int jobs__restore_lmdb(const char *dir, const char *backup, unsigned int flags,
                       int (*verify)(const char *dir))
{
    char src[PATH_MAX], dst[PATH_MAX], stage[PATH_MAX], staged[PATH_MAX], lock_path[PATH_MAX];
    struct stat st, backup_st, dir_st;
    bool made = false, staging = false, lock_made = false;
    int lock = -1, stage_fd = -1, rc, e;

    if (snprintf(src, sizeof src, "%s/%s", backup, DATA_FILE) >= (int)sizeof src ||
        snprintf(dst, sizeof dst, "%s/%s", dir, DATA_FILE) >= (int)sizeof dst ||
        snprintf(lock_path, sizeof lock_path, "%s/lock.mdb", dir) >= (int)sizeof lock_path ||
        snprintf(stage, sizeof stage, "%s/" STAGE_PREFIX "XXXXXX", dir) >= (int)sizeof stage - 16)
        return jobs__error(JOBS_EINVAL, "restore: a path is too long");
    if (stat(src, &st) != 0 || !S_ISREG(st.st_mode))
        return jobs__error(JOBS_EINVAL, "restore: no backup in '%s' (no %s there)", backup,
                           DATA_FILE);
    /* LMDB would take an empty file for a new environment (and fail to write one read-only). */
    if (st.st_size == 0)
        return jobs__error(JOBS_ECORRUPT, "restore: the backup in '%s' is empty (its %s has no "
                           "bytes)", backup, DATA_FILE);
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
    /* Asked before the copy and its check, so that a refusal costs nothing; asked again under
     * the lock, which alone makes the answer hold. Neither question changes a file. */
    if (jobs__lmdb_in_use(dir)) {
        rc = jobs__error(JOBS_EBUSY, "restore: the store '%s' is open in another process; "
                         "stop it and try again", dir);
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
    /* Held until the staging directory is gone: a later restore removes only the staging
     * directories nobody holds. */
    if ((stage_fd = open(stage, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 ||
        flock(stage_fd, LOCK_EX | LOCK_NB) != 0) {
        rc = restore_error(errno, "cannot lock the staging directory", stage);
        goto undo;
    }
    if (snprintf(staged, sizeof staged, "%s/%s", stage, DATA_FILE) >= (int)sizeof staged) {
        rc = jobs__error(JOBS_EINVAL, "restore: a path is too long");
        goto undo;
    }
    if ((e = copy_file(src, staged)) != 0) {
        rc = restore_error(e, "cannot copy the backup into", staged);
        goto undo;
    }
    if ((rc = check_whole(stage, backup)) != 0)
        goto undo;
    /* The check opens the copy read-only; a copy of an older schema it first migrates with a
     * read-write open (lifecycle.c), which leaves a lock.mdb in the staging directory (removed
     * with it). The backup itself is only read. */
    if ((rc = verify(stage)) != 0) {
        rc = jobs__error(rc, "restore: the backup in '%s' fails its check: %s", backup,
                         jobs_error_last());
        goto undo;
    }

    if ((rc = lock_store(dir, &lock, &lock_made)) != 0)
        goto undo;
    if (stat(dst, &st) == 0 && !(flags & JOBS_RESTORE_FORCE)) {
        rc = jobs__error(JOBS_EEXISTS, "restore: '%s' already holds a store (restore with "
                         "JOBS_RESTORE_FORCE to replace it)", dir);
        goto undo;
    }
    /* A process that opens the store meanwhile waits for the lock in LMDB, and gets it as a
     * later opener, which trusts lock.mdb as the store's last processes left it: among the rest
     * the last transaction id, which picks the meta page of its first transaction. Over a
     * restored data.mdb that id is another file's, and a write from that page would commit a
     * store on top of the restored one. An empty lock file cannot be mapped by a later opener:
     * its open fails, and the open tries again as the first opener, which sets lock.mdb up from
     * the data.mdb in place (jobs__open_lmdb). Emptied just before the rename, so that a
     * refusal leaves the file as it was; emptied before it, so that its failure changes
     * nothing else (an empty lock.mdb over the old data.mdb is set up again the same way). */
    if (ftruncate(lock, 0) != 0) {
        rc = restore_error(errno, "cannot reset the lock file of", dir);
        goto undo;
    }
    if (rename(staged, dst) != 0) {
        rc = restore_error(errno, "cannot move the checked copy to", dst);
        goto undo;
    }
    /* From here the store is the restored one: the error below says that the disk may not
     * have it yet; nothing is undone. */
    if ((e = jobs__lmdb_sync_dir(dir)) != 0) {
        rc = restore_error(e, "cannot flush the directory", dir);
        made = lock_made = false;
        goto undo;
    }
    /* A directory the restore made is named in its parent, which is flushed too (as an open
     * that makes a store does): else a power cut could lose the whole restored store. */
    if (made) {
        char parent[PATH_MAX];

        jobs__lmdb_parent_dir(parent, sizeof parent, dir);
        if ((e = jobs__lmdb_sync_dir(parent)) != 0) {
            rc = restore_error(e, "cannot flush the directory that holds", dir);
            made = lock_made = false;
            goto undo;
        }
    }
    /* Only now: a failed restore leaves the directory as it found it, leftovers included. */
    remove_stale_stages(dir);
    if (jobs__restore_hook)
        jobs__restore_hook(dir);
    rc = 0;

undo:
    if (staging)
        remove_stage(stage);
    if (stage_fd >= 0)
        close(stage_fd);
    /* A lock.mdb this call made goes while the lock is still held: a process whose open waits
     * on it then fails to map it, instead of setting up, as the first opener, a file no later
     * process would find. */
    if (rc && lock_made)
        unlink(lock_path);
    /* Closing the descriptor releases the lock: from here on, others may open the store. */
    if (lock >= 0)
        close(lock);
    if (rc && made)
        rmdir(dir);
    return rc;
}
