/* The runner of jobs-server (--run-command): each run the scheduler delivers becomes a child
 * process of the command (posix_spawn, no shell), on worker threads of its own, so that a slow
 * child never holds up the tick or a request. Its end is recorded on the run with
 * jobs_run_finish_output(). See docs/runs.md, "jobs-server's runner". */
#ifndef JOBS_SERVER_RUNNER_H
#define JOBS_SERVER_RUNNER_H

#include <stdbool.h>

#include <jobs.h>

#include "hook.h"
#include "metrics.h"

typedef struct srv_runner srv_runner;

/** Most runs waiting for a free worker; a run past it is not started (an at-least-once run
 * comes again when its lease ends). */
#define SRV_RUNNER_QUEUE_MAX 4096
/** Most runs of one owner waiting, so that one owner cannot fill the queue for everyone. The
 * workers take the owners' runs in turn (round robin), each owner's in order. */
#define SRV_RUNNER_OWNER_MAX (SRV_RUNNER_QUEUE_MAX / 4)

/**
 * Starts `max_running` worker threads that run `command` for each submitted run, killing a
 * child after `timeout_s` seconds (TERM, then KILL two seconds later). Puts SIGCHLD back to its
 * default when it is ignored (the process's children would be reaped without an exit status).
 * NULL when out of memory or threads.
 */
srv_runner *srv_runner_new(jobs_store *store, srv_metrics *metrics, const char *command,
                           unsigned timeout_s, unsigned max_running);

/** Queues the run of a JOBS_EVENT_RUN event; never waits for a child. False when the queue is
 * full (or the runner stops): the run is not started, and is dealt with here. An at-most-once
 * one ends failed ("not started: the runner's queue is full", or "not started: the server
 * stopped"; tried once, not waited for), counted in jobs_runs_finished_total once the store has
 * it, and a hook run's waiter is told; an at-least-once one comes again when its lease ends.
 * Thread-safe. */
bool srv_runner_submit(srv_runner *r, const jobs_event *ev);

/** The clock (Unix seconds) a queued at-least-once run's lease is checked against when a worker
 * takes it: a run whose lease has ended by then is not started (the tick delivers it again, or
 * already did). NULL, the default: the system's real-time clock, which the scheduler thread
 * ticks by. Set it before the first run is submitted (tests: the fixture's clock). */
void srv_runner_set_clock(srv_runner *r, jobs_clock_fn clock, void *ctx);

/**
 * The webhooks' table: a hook run (trigger hook, no job) gets its request as its input from it
 * and reports its end to it; a hook run nobody waits for is failed without being run. Without
 * it (NULL) hook runs are failed so too. Set it before the first run is submitted.
 */
void srv_runner_set_hooks(srv_runner *r, srv_hooks *hooks);

/** Stops: children still running are ended (TERM, then KILL) and their runs left as they are
 * (not finished); queued runs are not started, and those at-most-once end failed ("not
 * started: the server stopped"). Waits for the workers. Accepts NULL. */
void srv_runner_free(srv_runner *r);

#endif
