/* jobs_store_backup(): a consistent, compacted copy of the store in a new directory.
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

#include "store.h"

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

/* Flushes a directory's entries (a rename or a new file in it) to disk: 0 or an errno. */
static int sync_dir(const char *dir)
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

/* The directory that holds `path` ("." for a bare name), into `out`. */
static void parent_dir(char *out, size_t size, const char *path)
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

static int adopt_map_size(jobs_store *s, MDB_txn *txn, void *ctx)
{
    (void)s;
    (void)txn;
    (void)ctx;
    return 0;
}

/* Copies the store into `fd`, holding the map lock shared, as every transaction does: LMDB's
 * copy runs a read transaction of its own, and the map must not be resized under it. */
static int copy_into(jobs_store *s, int fd, const char *path)
{
    for (;;) {
        int rc;

        pthread_rwlock_rdlock(&s->map_lock);
        rc = mdb_env_copyfd2(s->env, fd, MDB_CP_COMPACT);
        pthread_rwlock_unlock(&s->map_lock);
        if (rc != MDB_MAP_RESIZED)
            return rc ? jobs__mdb_error(rc, "backup") : 0;
        /* Another process grew the map past ours. A read through the store adopts the new size
         * (it resizes with the lock held exclusively); then the copy starts again. Nothing was
         * written yet, but empty the file anyway. */
        if ((rc = jobs__read(s, adopt_map_size, NULL)) != 0)
            return rc;
        if (ftruncate(fd, 0) != 0 || lseek(fd, 0, SEEK_SET) != 0)
            return sys_error(errno, "cannot rewind", path);
    }
}

int jobs_store_backup(jobs_store *store, const char *dest_dir)
{
    char partial[PATH_MAX], final[PATH_MAX], parent[PATH_MAX];
    bool made = false, renamed = false;
    int fd, rc, e;

    if (!store || !dest_dir || !*dest_dir)
        return jobs__error(JOBS_EINVAL, "jobs_store_backup needs a store and a directory");
    if (snprintf(partial, sizeof partial, "%s/%s", dest_dir, PARTIAL_FILE) >= (int)sizeof partial ||
        snprintf(final, sizeof final, "%s/%s", dest_dir, DATA_FILE) >= (int)sizeof final)
        return jobs__error(JOBS_EINVAL, "backup: the directory name is too long");
    parent_dir(parent, sizeof parent, dest_dir);
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
    if (!rc && (e = sync_dir(dest_dir)) != 0)
        rc = sys_error(e, "cannot flush the directory", dest_dir);
    /* A directory this call created is an entry of its parent, which must reach the disk too. */
    if (!rc && made && (e = sync_dir(parent)) != 0)
        rc = sys_error(e, "cannot flush the directory", parent);
    if (!rc)
        return 0;
    unlink(renamed ? final : partial);

fail:
    if (made)
        rmdir(dest_dir);
    return rc;
}
