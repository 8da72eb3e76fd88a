/* The access log (--access-log): one JSON line per request, written in batches */
#ifndef JOBS_SERVER_ACCESSLOG_H
#define JOBS_SERVER_ACCESSLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>


/** Opens the access log before any thread starts: "-" standard error, "off" none, else a file
 * appended to (created with mode 0600; a FIFO must have a reader already, else ENXIO). 0, or -1
 * with errno set. */
int srv_accesslog_open(const char *spec);

/** Opens the access log's file again under its name, for rotation (SIGHUP): the lines gathered
 * so far are written to the old file, which is then closed, and the next ones go to the new
 * file (created with mode 0600 when missing). 1 when it was reopened, 0 when the log is standard
 * error or off (nothing to do), -1 with errno set when the file cannot be opened (a FIFO without
 * a reader: ENXIO, at once): the old one is kept then. Thread-safe. */
int srv_accesslog_reopen(void);

/** Why srv_accesslog_open() or srv_accesslog_reopen() failed on `path` with errno `err`, in words
 * for an operator: ENXIO on a FIFO is "no process reads it" (the open does not wait for a
 * reader), else strerror(err). A static string. */
const char *srv_accesslog_strerror(const char *path, int err);

/** The access log's file name, or NULL when it is standard error or off. */
const char *srv_accesslog_path(void);

/** Whether there is an access log. */
bool srv_accesslog_on(void);

/** Appends a line of `n` bytes (ending in a newline) at CLOCK_MONOTONIC `now_ms`; the batch is
 * written when full or when its first line is a second old. Thread-safe. */
void srv_accesslog_append(const char *line, size_t n, int64_t now_ms);

/** Writes out the batch. Thread-safe; called every second by the scheduler thread. */
void srv_accesslog_flush(void);

/** Writes out the last batch and closes the file. */
void srv_accesslog_close(void);

#endif
