/* The access log (--access-log): one JSON line per request, written in batches by a
 * thread of its own */
#ifndef JOBS_SERVER_ACCESSLOG_H
#define JOBS_SERVER_ACCESSLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>


/** Opens the access log before civetweb starts: "-" standard error, "off" none, else a file
 * appended to (created with mode 0600; a FIFO must have a reader already, else ENXIO), and
 * starts the thread that writes it (every signal blocked in it). 0, or -1 with errno set. */
int srv_accesslog_open(const char *spec);

/** Opens the access log's file again under its name, for rotation (SIGHUP): the lines gathered
 * so far are written to the old file, which is then closed, and the next ones go to the new
 * file (created with mode 0600 when missing). Does not wait for the writes. 1 when it was
 * reopened, 0 when the log is standard error or off (nothing to do), -1 with errno set when the
 * file cannot be opened (a FIFO without a reader: ENXIO, at once) or the lines from before the
 * last reopen are not all written yet (EBUSY): the file the log has is kept then. Call from one
 * thread only (the main thread's signal loop). */
int srv_accesslog_reopen(void);

/** Why srv_accesslog_open() or srv_accesslog_reopen() failed on `path` with errno `err`, in words
 * for an operator: ENXIO on a FIFO is "no process reads it" (the open does not wait for a
 * reader), EBUSY the last reopen's lines not yet written, else strerror(err). A static
 * string. */
const char *srv_accesslog_strerror(const char *path, int err);

/** The access log's file name, or NULL when it is standard error or off. */
const char *srv_accesslog_path(void);

/** Whether there is an access log. */
bool srv_accesslog_on(void);

/** Appends a line of `n` bytes (ending in a newline, at most SRV_ACCESS_LINE_MAX) at
 * CLOCK_MONOTONIC `now_ms`: copies it into the batch being gathered, under a lock held for that
 * copy only, never waiting for the log's device. The writer thread writes the batch when it is
 * full or its first line is a second old. When the batch is full while the one before is still
 * being written (the device takes nothing, e.g. a reader that stopped reading), the line is
 * dropped and counted (srv_accesslog_dropped()); the log then gets {"time":...,"dropped":N}
 * right after the batch's lines. Thread-safe. */
void srv_accesslog_append(const char *line, size_t n, int64_t now_ms);

/** The lines dropped since the start: not taken (both batches full) or not written (a write
 * failed). Thread-safe. */
uint64_t srv_accesslog_dropped(void);

/** At the stop, after the last srv_accesslog_append(): writes the lines gathered and closes the
 * file. When the log takes no line for 5 s (a reader that stopped reading), gives up, saying on
 * standard error how many lines were not written, and returns; the writer thread is left
 * waiting until the process ends. */
void srv_accesslog_close(void);

#endif
