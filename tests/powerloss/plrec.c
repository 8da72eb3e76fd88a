/* plrec: an LD_PRELOAD interposer that records what a program writes to one file and when it
 * asks for it to be made durable (docs/reliability.md). For every file whose path ends
 * with $PLREC_MATCH (default "/data.mdb") it appends to $PLREC_LOG, in the order the calls
 * return, one record per write (offset, length and the bytes, and whether the descriptor was
 * opened O_DSYNC/O_SYNC, which makes that write durable by itself), per flush (fdatasync,
 * fsync, msync, sync_file_range) and per truncation. powerloss_check replays the log. */
#define _GNU_SOURCE
#include "plrec.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#define MAX_FD 4096

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static signed char tracked[MAX_FD]; /* 0 no, 1 yes, 2 yes and O_DSYNC/O_SYNC */
static int log_fd = -1;
static const char *match;

/* The next definition of `name` (libc's, or a sanitizer's interceptor), looked up once. memcpy:
 * ISO C has no cast from an object pointer to a function pointer. */
#define REAL(name) static __typeof__(name) *real_##name; \
    if (!real_##name) { void *p_ = dlsym(RTLD_NEXT, #name); \
        memcpy(&real_##name, &p_, sizeof(p_)); }

static void put(const void *p, size_t n)
{
    const char *c = p;

    while (n) {
        ssize_t w = syscall(SYS_write, log_fd, c, n);
        if (w <= 0) {
            if (w < 0 && errno == EINTR)
                continue;
            abort();
        }
        c += w;
        n -= (size_t)w;
    }
}

static void init(void)
{
    const char *path;

    if (log_fd >= 0 || !(path = getenv("PLREC_LOG")))
        return;
    match = getenv("PLREC_MATCH");
    if (!match)
        match = "/data.mdb";
    log_fd = (int)syscall(SYS_openat, AT_FDCWD, path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
                          0600);
}

static void record(uint32_t type, int fd, uint64_t off, const void *data, uint64_t len)
{
    plrec_head h = {PLREC_MAGIC, type, tracked[fd] == 2 ? PLREC_DURABLE : 0u, off, len};

    put(&h, sizeof(h));
    if (data && len)
        put(data, len);
}

static bool is_tracked(int fd)
{
    return fd >= 0 && fd < MAX_FD && tracked[fd] && log_fd >= 0;
}

static void opened(int fd, const char *path, int flags)
{
    size_t n = strlen(path), m;

    if (fd < 0 || fd >= MAX_FD)
        return;
    init();
    m = match ? strlen(match) : 0;
    tracked[fd] = 0;
    if (log_fd >= 0 && n >= m && strcmp(path + n - m, match) == 0)
        tracked[fd] = (flags & (O_DSYNC | O_SYNC)) ? 2 : 1;
}

#define OPEN_MODE(flags) mode_t mode = 0; \
    if ((flags) & (O_CREAT | O_TMPFILE)) { va_list ap; va_start(ap, flags); \
        mode = (mode_t)va_arg(ap, int); va_end(ap); }

int open(const char *path, int flags, ...)
{
    OPEN_MODE(flags);
    REAL(open);
    int fd = real_open(path, flags, mode);
    pthread_mutex_lock(&lock);
    opened(fd, path, flags);
    pthread_mutex_unlock(&lock);
    return fd;
}

int open64(const char *path, int flags, ...)
{
    OPEN_MODE(flags);
    REAL(open64);
    int fd = real_open64(path, flags, mode);
    pthread_mutex_lock(&lock);
    opened(fd, path, flags);
    pthread_mutex_unlock(&lock);
    return fd;
}

int openat(int dir, const char *path, int flags, ...)
{
    OPEN_MODE(flags);
    REAL(openat);
    int fd = real_openat(dir, path, flags, mode);
    pthread_mutex_lock(&lock);
    opened(fd, path, flags);
    pthread_mutex_unlock(&lock);
    return fd;
}

int close(int fd)
{
    REAL(close);
    pthread_mutex_lock(&lock);
    if (fd >= 0 && fd < MAX_FD)
        tracked[fd] = 0;
    int rc = real_close(fd);
    pthread_mutex_unlock(&lock);
    return rc;
}

ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
    REAL(pwrite);
    pthread_mutex_lock(&lock);
    ssize_t w = real_pwrite(fd, buf, n, off);
    if (w > 0 && is_tracked(fd))
        record(PLREC_WRITE, fd, (uint64_t)off, buf, (uint64_t)w);
    pthread_mutex_unlock(&lock);
    return w;
}

ssize_t pwrite64(int fd, const void *buf, size_t n, off_t off)
{
    REAL(pwrite64);
    pthread_mutex_lock(&lock);
    ssize_t w = real_pwrite64(fd, buf, n, off);
    if (w > 0 && is_tracked(fd))
        record(PLREC_WRITE, fd, (uint64_t)off, buf, (uint64_t)w);
    pthread_mutex_unlock(&lock);
    return w;
}

ssize_t write(int fd, const void *buf, size_t n)
{
    REAL(write);
    REAL(lseek);
    pthread_mutex_lock(&lock);
    off_t off = is_tracked(fd) ? real_lseek(fd, 0, SEEK_CUR) : 0;
    ssize_t w = real_write(fd, buf, n);
    if (w > 0 && is_tracked(fd))
        record(PLREC_WRITE, fd, (uint64_t)off, buf, (uint64_t)w);
    pthread_mutex_unlock(&lock);
    return w;
}

/* The iovecs as one record per iovec, each at its offset: the parts of one writev are not
 * written atomically either. */
static void record_iov(int fd, off_t off, const struct iovec *iov, int cnt, ssize_t w)
{
    for (int i = 0; i < cnt && w > 0; i++) {
        size_t n = iov[i].iov_len < (size_t)w ? iov[i].iov_len : (size_t)w;

        record(PLREC_WRITE, fd, (uint64_t)off, iov[i].iov_base, n);
        off += (off_t)n;
        w -= (ssize_t)n;
    }
}

ssize_t writev(int fd, const struct iovec *iov, int cnt)
{
    REAL(writev);
    REAL(lseek);
    pthread_mutex_lock(&lock);
    off_t off = is_tracked(fd) ? real_lseek(fd, 0, SEEK_CUR) : 0;
    ssize_t w = real_writev(fd, iov, cnt);
    if (is_tracked(fd))
        record_iov(fd, off, iov, cnt, w);
    pthread_mutex_unlock(&lock);
    return w;
}

ssize_t pwritev(int fd, const struct iovec *iov, int cnt, off_t off)
{
    REAL(pwritev);
    pthread_mutex_lock(&lock);
    ssize_t w = real_pwritev(fd, iov, cnt, off);
    if (is_tracked(fd))
        record_iov(fd, off, iov, cnt, w);
    pthread_mutex_unlock(&lock);
    return w;
}

static int flushed(int fd, int rc)
{
    if (rc == 0 && is_tracked(fd))
        record(PLREC_FLUSH, fd, 0, NULL, 0);
    return rc;
}

int fdatasync(int fd)
{
    REAL(fdatasync);
    pthread_mutex_lock(&lock);
    int rc = flushed(fd, real_fdatasync(fd));
    pthread_mutex_unlock(&lock);
    return rc;
}

int fsync(int fd)
{
    REAL(fsync);
    pthread_mutex_lock(&lock);
    int rc = flushed(fd, real_fsync(fd));
    pthread_mutex_unlock(&lock);
    return rc;
}

/* sync_file_range starts or waits for writeback but makes nothing durable (no cache flush, no
 * metadata): logged, and the checker does not count it as a barrier. */
int sync_file_range(int fd, off_t off, off_t n, unsigned int flags)
{
    REAL(sync_file_range);
    pthread_mutex_lock(&lock);
    int rc = real_sync_file_range(fd, off, n, flags);
    if (rc == 0 && is_tracked(fd))
        record(PLREC_NOTE, fd, (uint64_t)off, NULL, 0);
    pthread_mutex_unlock(&lock);
    return rc;
}

/* msync: writes through a shared map of the store's file (MDB_WRITEMAP, which libjobs does not
 * use) would need tracking of their own; every msync is logged so the checker can refuse a log
 * that has one rather than pass it silently. */
int msync(void *addr, size_t n, int flags)
{
    REAL(msync);
    int rc = real_msync(addr, n, flags);
    pthread_mutex_lock(&lock);
    init();
    if (rc == 0 && log_fd >= 0) {
        plrec_head h = {PLREC_MAGIC, PLREC_MSYNC, 0, (uint64_t)(uintptr_t)addr, n};
        put(&h, sizeof(h));
    }
    pthread_mutex_unlock(&lock);
    return rc;
}

int ftruncate(int fd, off_t len)
{
    REAL(ftruncate);
    pthread_mutex_lock(&lock);
    int rc = real_ftruncate(fd, len);
    if (rc == 0 && is_tracked(fd))
        record(PLREC_TRUNCATE, fd, (uint64_t)len, NULL, 0);
    pthread_mutex_unlock(&lock);
    return rc;
}
