/* The access log: lines gathered in a buffer and written in batches. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "accesslog.h"

/* The access log (--access-log): a file descriptor, or -1 for none, and the file's name (NULL
 * for standard error or none). Set before civetweb starts its threads; after that the descriptor
 * changes only under access_buf.mu (srv_accesslog_reopen()), while access_log_on stays as it
 * was. */
static int access_log_fd = -1;
static bool access_log_on;
static const char *access_log_path;

/* Lines are gathered here and written in batches: one write(2) per request cost more than the
 * whole handler of GET /jobs/byid (docs/performance.md). A batch goes out when the buffer is
 * full, when its first line is a second old (checked at each line and every second by the
 * scheduler thread), and at shutdown; whole lines only, so lines never mix or split. */
static struct {
    pthread_mutex_t mu;
    char buf[64 * 1024];
    size_t len;
    int64_t first_ms; /* CLOCK_MONOTONIC ms of the oldest line in buf */
} access_buf = {PTHREAD_MUTEX_INITIALIZER, {0}, 0, 0};

static void access_flush_locked(void)
{
    size_t off = 0;

    while (off < access_buf.len) {
        ssize_t n = write(access_log_fd, access_buf.buf + off, access_buf.len - off);
        if (n <= 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break; /* a full disk must not stop the answers: the batch is dropped */
        off += (size_t)n;
    }
    access_buf.len = 0;
}

void srv_accesslog_flush(void)
{
    if (!access_log_on)
        return;
    pthread_mutex_lock(&access_buf.mu);
    access_flush_locked();
    pthread_mutex_unlock(&access_buf.mu);
}

void srv_accesslog_append(const char *line, size_t n, int64_t now_ms)
{
    pthread_mutex_lock(&access_buf.mu);
    if (access_buf.len + n > sizeof access_buf.buf)
        access_flush_locked();
    if (access_buf.len == 0)
        access_buf.first_ms = now_ms;
    memcpy(access_buf.buf + access_buf.len, line, n);
    access_buf.len += n;
    if (now_ms - access_buf.first_ms >= 1000)
        access_flush_locked();
    pthread_mutex_unlock(&access_buf.mu);
}

/* Opens the log file for appending. O_NONBLOCK for the open(2) only: on a FIFO that no process
 * reads, a blocking open waits for a reader, forever (at start, before the server listens; at
 * SIGHUP, in the main thread, which then no longer took SIGTERM); non-blocking it fails with ENXIO
 * at once. The flag is then cleared, because access_flush_locked() expects whole writes, which
 * on a full pipe it would drop with EAGAIN. Symbolic links are followed, as for other log files
 * (docs/http-api.md, Access log). */
static int open_file(const char *path)
{
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY | O_NONBLOCK, 0600);
    int flags, err;

    if (fd < 0)
        return -1;
    if ((flags = fcntl(fd, F_GETFL)) == -1 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) == -1) {
        err = errno;
        close(fd);
        errno = err;
        return -1;
    }
    return fd;
}

const char *srv_accesslog_strerror(const char *path, int err)
{
    struct stat st;

    if (err == ENXIO && stat(path, &st) == 0) {
        if (S_ISFIFO(st.st_mode))
            return "a FIFO that no process reads: start its reader first";
        if (S_ISSOCK(st.st_mode))
            return "a socket, which cannot be opened as a file";
    }
    return strerror(err);
}

int srv_accesslog_open(const char *spec)
{
    if (strcmp(spec, "-") == 0) {
        access_log_fd = STDERR_FILENO;
    } else if (strcmp(spec, "off") != 0) {
        if ((access_log_fd = open_file(spec)) < 0)
            return -1;
        access_log_path = spec;
    }
    access_log_on = access_log_fd >= 0;
    return 0;
}

int srv_accesslog_reopen(void)
{
    int fd, old;

    if (!access_log_path)
        return 0;
    if ((fd = open_file(access_log_path)) < 0)
        return -1;
    /* The lines gathered so far go to the file they were meant for (the one renamed away), the
     * next ones to the new file. */
    pthread_mutex_lock(&access_buf.mu);
    access_flush_locked();
    old = access_log_fd;
    access_log_fd = fd;
    pthread_mutex_unlock(&access_buf.mu);
    close(old);
    return 1;
}

const char *srv_accesslog_path(void)
{
    return access_log_path;
}

bool srv_accesslog_on(void)
{
    return access_log_on;
}

void srv_accesslog_close(void)
{
    srv_accesslog_flush(); /* the last batch: every request answered has its line */
    if (access_log_fd > STDERR_FILENO)
        close(access_log_fd);
    access_log_fd = -1;
    access_log_on = false;
}
