/* The access log: lines gathered in a buffer by the request threads and written in batches by a
 * thread of its own, so that a log that cannot be written (a reader that stopped reading) never
 * holds up an answer. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "accesslog.h"
#include "handler.h"
#include "metrics.h"

/* How long srv_accesslog_close() waits for a log that takes no line at all before it gives up
 * (docs/http-api.md, Access log). */
#define STALL_MS 5000

/* Each buffer holds one batch: up to BATCH bytes of whole lines, and room after them for the
 * line that reports lines dropped before the next batch ({"time":...,"dropped":N}). */
#define BATCH (64 * 1024)
#define DROPPED_LINE_MAX 96
_Static_assert(SRV_ACCESS_LINE_MAX <= PIPE_BUF && PIPE_BUF <= BATCH,
               "a line fits one write that a pipe takes whole, and a batch holds such writes");

/* The access log (--access-log): a file descriptor, or -1 for none, and the file's name (NULL
 * for standard error or none). access_log_on is set before civetweb starts its threads and
 * stays as it was until srv_accesslog_close(), after civetweb stopped. */
static bool access_log_on;
static const char *access_log_path;

/* Lines are gathered here and written in batches: one write(2) per request cost more than the
 * whole handler of GET /jobs/byid (docs/performance.md). A request thread only copies its line
 * into `fill` under the lock; the writer thread does every write(2), without the lock, from
 * `out`. When `fill` is full (or its oldest line a second old) and `out` is free, the two
 * buffers change places. When both are taken (the writer waits for the device, e.g. a pipe
 * whose reader stopped reading), a line is dropped and counted, and `fill` takes no more lines
 * until it is handed over, so that the line saying how many were dropped comes right after it:
 * lines never mix or split, and the log says where lines are missing. */
static struct {
    pthread_mutex_t mu;
    pthread_cond_t wake; /* to the writer: a batch, a reopened file, or the stop */
    pthread_cond_t done; /* from the writer: a batch written, or it ended */
    pthread_t writer;
    bool writer_running;
    char bufs[2][BATCH + DROPPED_LINE_MAX];

    /* The batch being gathered. Its lines from `split` on are for fd; those before split, when
     * split_fd is not -1, for split_fd: the file that srv_accesslog_reopen() moved away from
     * while the writer was busy, closed once they are written, with split_unsaid: the dropped
     * lines said after them, in that file. */
    char *fill;
    size_t len;
    int64_t first_ms; /* CLOCK_MONOTONIC ms of the oldest line in fill */
    bool fill_closed; /* a line was dropped since fill began: it takes no more */
    int fd;
    int split_fd;
    size_t split;
    uint64_t split_unsaid;

    /* The batch handed to the writer (out_busy until it is written), as fill was, and the lines
     * dropped just after its lines, reported by a line of its own after them. */
    char *out;
    size_t out_len;
    int out_fd;
    int out_split_fd;
    size_t out_split;
    uint64_t out_split_dropped;
    uint64_t out_dropped;
    bool out_busy;
    _Atomic size_t out_off; /* bytes of out written so far (read by srv_accesslog_close) */

    uint64_t unsaid;          /* dropped lines not yet handed over with a batch */
    _Atomic uint64_t dropped; /* every line dropped, for /metrics */
    _Atomic uint64_t written; /* chunks written, so that a waiting close sees progress */
    bool stop;                /* srv_accesslog_close(): write what is left, then end */
    bool stop_failed;         /* a write failed since the stop */
    bool abandon;             /* srv_accesslog_close() gave up: end after the current write */
} a = {.mu = PTHREAD_MUTEX_INITIALIZER, .fd = -1, .split_fd = -1};

static size_t count_lines(const char *p, size_t n)
{
    size_t k = 0;

    for (const char *end = p + n; (p = memchr(p, '\n', (size_t)(end - p))) != NULL; p++)
        k++;
    return k;
}

/* Hands fill over to the writer: out must be free. The lines dropped since the last batch go
 * with it. */
static void hand_over_locked(void)
{
    char *b = a.out;

    a.out = a.fill;
    a.out_len = a.len;
    a.out_fd = a.fd;
    a.out_split_fd = a.split_fd;
    a.out_split = a.split;
    a.out_split_dropped = a.split_fd >= 0 ? a.split_unsaid : 0;
    a.out_dropped = a.unsaid - a.out_split_dropped;
    atomic_store(&a.out_off, 0);
    a.out_busy = true;
    a.fill = b;
    a.len = 0;
    a.fill_closed = false;
    a.split_fd = -1;
    a.split = 0;
    a.split_unsaid = 0;
    a.unsaid = 0;
    pthread_cond_signal(&a.wake);
}

/* Whether the writer, with out free, has a batch to take: fill is full (closed), a second old,
 * or holds lines for a file it moved away from; at the stop, whatever is left. */
static bool batch_due_locked(int64_t now_ms)
{
    if (a.split_fd >= 0)
        return true;
    if (a.stop)
        return a.len > 0 || (a.unsaid > 0 && !a.stop_failed);
    return a.len > 0 && (a.fill_closed || now_ms - a.first_ms >= 1000);
}

/* {"time":"2026-11-28T19:30:00.123Z","dropped":N} and a newline: the time as in the request
 * lines, when it is written. */
static size_t format_dropped(char *p, uint64_t n)
{
    struct timespec ts;
    struct tm tm;
    char when[32];
    int k;

    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
    k = snprintf(p, DROPPED_LINE_MAX, "{\"time\":\"%s.%03ldZ\",\"dropped\":%" PRIu64 "}\n", when,
                 ts.tv_nsec / 1000000, n);
    return k > 0 && k < DROPPED_LINE_MAX ? (size_t)k : 0;
}

/* Writes p[from..to) to fd in chunks of whole lines of PIPE_BUF bytes at most, each of which a
 * pipe takes whole (the lines of other writers of the same pipe never fall inside one).
 * Returns where it stopped: `to`, or before when a write failed (a full disk, a reader gone). */
static size_t write_lines(int fd, const char *p, size_t from, size_t to)
{
    size_t off = from;

    while (off < to) {
        size_t k = to - off;
        ssize_t w;

        if (k > PIPE_BUF) {
            const char *nl = memrchr(p + off, '\n', PIPE_BUF);
            k = nl ? (size_t)(nl - (p + off)) + 1 : PIPE_BUF;
        }
        for (size_t done = 0; done < k; done += (size_t)w) {
            w = write(fd, p + off + done, k - done);
            if (w < 0 && errno == EINTR) {
                w = 0;
                continue;
            }
            if (w <= 0)
                return off + done;
        }
        off += k;
        if (p == a.out)
            atomic_store(&a.out_off, off);
        atomic_fetch_add(&a.written, 1);
    }
    return off;
}

/* The lines of out[from..to) not written when the write stopped at `at`. */
static uint64_t lost_lines(size_t at, size_t from, size_t to)
{
    if (at < from)
        at = from;
    return at < to ? count_lines(a.out + at, to - at) : 0;
}

/* The writer thread: takes each batch as it is due and writes it, without the lock. A write
 * that fails drops the rest of its part of the batch (a full disk must not stop the answers),
 * counted as dropped lines and said in a later batch's dropped line. */
static void *writer_main(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&a.mu);
    while (!a.abandon) {
        if (!a.out_busy && batch_due_locked(srv_monotonic_ms()))
            hand_over_locked();
        if (a.out_busy) {
            size_t len = a.out_len, split = a.out_split, end = len, at;
            int fd = a.out_fd, old_fd = a.out_split_fd;
            uint64_t lost = 0, unsaid = 0;

            if (a.out_dropped > 0)
                end += format_dropped(a.out + len, a.out_dropped);
            pthread_mutex_unlock(&a.mu);
            if (old_fd >= 0) {
                at = write_lines(old_fd, a.out, 0, split);
                lost += lost_lines(at, 0, split);
                if (a.out_split_dropped > 0) {
                    char said[DROPPED_LINE_MAX];
                    size_t n = format_dropped(said, a.out_split_dropped);

                    if (at < split || write_lines(old_fd, said, 0, n) < n)
                        unsaid += a.out_split_dropped;
                }
                close(old_fd);
            }
            at = write_lines(fd, a.out, split, end);
            lost += lost_lines(at, split, len);
            if (at < end)
                unsaid += a.out_dropped;
            pthread_mutex_lock(&a.mu);
            atomic_fetch_add(&a.dropped, lost);
            /* The lines not written, and the dropped lines not said, are said with a later
             * batch. */
            a.unsaid += lost + unsaid;
            a.out_busy = false;
            pthread_cond_broadcast(&a.done);
            /* At the stop, a dropped line that could not be written is not tried again. */
            if (a.stop && lost + unsaid > 0)
                a.stop_failed = true;
            continue;
        }
        if (a.stop)
            break;
        if (a.len > 0) {
            int64_t at = a.first_ms + 1000;
            struct timespec ts = {(time_t)(at / 1000), (long)(at % 1000) * 1000000};

            pthread_cond_timedwait(&a.wake, &a.mu, &ts);
        } else {
            pthread_cond_wait(&a.wake, &a.mu);
        }
    }
    a.writer_running = false;
    pthread_cond_broadcast(&a.done);
    pthread_mutex_unlock(&a.mu);
    return NULL;
}

void srv_accesslog_append(const char *line, size_t n, int64_t now_ms)
{
    pthread_mutex_lock(&a.mu);
    if (a.fill_closed || a.len + n > BATCH) {
        if (a.out_busy || n > BATCH) {
            a.fill_closed = true;
            a.unsaid++;
            atomic_fetch_add_explicit(&a.dropped, 1, memory_order_relaxed);
            pthread_mutex_unlock(&a.mu);
            return;
        }
        hand_over_locked();
    }
    if (a.len == 0) {
        a.first_ms = now_ms;
        pthread_cond_signal(&a.wake); /* the writer starts counting the second */
    }
    memcpy(a.fill + a.len, line, n);
    a.len += n;
    pthread_mutex_unlock(&a.mu);
}

uint64_t srv_accesslog_dropped(void)
{
    return atomic_load_explicit(&a.dropped, memory_order_relaxed);
}

/* Opens the log file for appending. O_NONBLOCK for the open(2) only: on a FIFO that no process
 * reads, a blocking open waits for a reader, forever (at start, before the server listens; at
 * SIGHUP, in the main thread, which then no longer took SIGTERM); non-blocking it fails with ENXIO
 * at once. The flag is then cleared, because write_lines() expects whole writes, which on a full
 * pipe it would drop with EAGAIN (the writer thread may wait; nobody waits for it). Symbolic
 * links are followed, as for other log files (docs/http-api.md, Access log). */
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

    if (err == EBUSY)
        return "the lines from before the last SIGHUP are not all written yet: send SIGHUP "
               "again later";
    if (err == ENXIO && stat(path, &st) == 0) {
        if (S_ISFIFO(st.st_mode))
            return "a FIFO that no process reads: start its reader first";
        if (S_ISSOCK(st.st_mode))
            return "a socket, which cannot be opened as a file";
    }
    return strerror(err);
}

/* Starts the writer thread with every signal blocked: the main thread takes them (sigwait), and
 * this one may start before it blocks them. Its condition variable waits on CLOCK_MONOTONIC,
 * the clock of the lines' times. */
static int start_writer(void)
{
    pthread_condattr_t ca;
    sigset_t all, old;
    int rc;

    a.fill = a.bufs[0];
    a.out = a.bufs[1];
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&a.wake, &ca);
    pthread_cond_init(&a.done, NULL);
    pthread_condattr_destroy(&ca);
    sigfillset(&all);
    a.writer_running = true;
    pthread_sigmask(SIG_SETMASK, &all, &old);
    rc = pthread_create(&a.writer, NULL, writer_main, NULL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        a.writer_running = false;
        pthread_cond_destroy(&a.wake);
        pthread_cond_destroy(&a.done);
        errno = rc;
        return -1;
    }
    return 0;
}

int srv_accesslog_open(const char *spec)
{
    int fd = -1;

    if (strcmp(spec, "-") == 0) {
        fd = STDERR_FILENO;
    } else if (strcmp(spec, "off") != 0) {
        if ((fd = open_file(spec)) < 0)
            return -1;
    }
    if (fd < 0)
        return 0;
    a.fd = fd;
    if (start_writer() != 0) {
        int err = errno;

        if (fd > STDERR_FILENO)
            close(fd);
        a.fd = -1;
        errno = err;
        return -1;
    }
    if (fd != STDERR_FILENO)
        access_log_path = spec;
    access_log_on = true;
    return 0;
}

int srv_accesslog_reopen(void)
{
    int fd;
    bool pending;

    if (!access_log_path)
        return 0;
    /* Only this thread moves the log to another file, so a move found pending here stays
     * pending or ends, never begins, until the lock is taken again below. */
    pthread_mutex_lock(&a.mu);
    pending = a.split_fd >= 0;
    pthread_mutex_unlock(&a.mu);
    if (pending) {
        errno = EBUSY;
        return -1;
    }
    if ((fd = open_file(access_log_path)) < 0)
        return -1;
    /* The lines gathered so far go to the file they were meant for (the one renamed away), the
     * next ones to the new file; the writer closes the old one once they are written. Nothing
     * here waits for the writer, which may be waiting for a reader that stopped reading: this
     * thread takes SIGTERM. When the writer is busy, the batch being gathered holds lines for
     * both files, split where the new one begins. */
    pthread_mutex_lock(&a.mu);
    a.split_fd = a.fd;
    a.split = a.len;
    a.split_unsaid = a.unsaid;
    a.fd = fd;
    if (!a.out_busy)
        hand_over_locked();
    pthread_mutex_unlock(&a.mu);
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
    uint64_t seen, lost;
    int64_t deadline;

    if (!access_log_on)
        return;
    access_log_on = false;
    /* The last batch: every request answered has its line, unless nothing at all can be
     * written for STALL_MS (a reader that stopped reading): then the lines left are not
     * written, which is said here, and the writer thread is left waiting in write(2) until
     * the process ends. */
    pthread_mutex_lock(&a.mu);
    a.stop = true;
    pthread_cond_signal(&a.wake);
    seen = atomic_load(&a.written);
    deadline = srv_monotonic_ms() + STALL_MS;
    while (a.writer_running) {
        struct timespec ts;
        uint64_t now_written;

        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += 1;
        pthread_cond_timedwait(&a.done, &a.mu, &ts);
        if ((now_written = atomic_load(&a.written)) != seen) {
            seen = now_written;
            deadline = srv_monotonic_ms() + STALL_MS;
        } else if (a.writer_running && srv_monotonic_ms() >= deadline) {
            break;
        }
    }
    if (a.writer_running) {
        uint64_t left = a.unsaid + count_lines(a.fill, a.len);

        if (a.out_busy) {
            size_t off = atomic_load(&a.out_off);

            left += a.out_dropped + a.out_split_dropped;
            if (off < a.out_len)
                left += count_lines(a.out + off, a.out_len - off);
        }
        a.abandon = true;
        pthread_mutex_unlock(&a.mu);
        fprintf(stderr, "jobs-server: the access log took no line for %d s (its reader does not "
                "read): %" PRIu64 " line(s) not written to it\n", STALL_MS / 1000, left);
        return;
    }
    lost = a.unsaid;
    pthread_mutex_unlock(&a.mu);
    if (lost > 0)
        fprintf(stderr, "jobs-server: the access log could not be written at the stop: %" PRIu64
                " dropped line(s) not said in it\n", lost);
    pthread_join(a.writer, NULL);
    if (a.fd > STDERR_FILENO)
        close(a.fd);
    a.fd = -1;
}
