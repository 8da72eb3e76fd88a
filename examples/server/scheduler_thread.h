/* The scheduler thread of jobs-server: jobs_scheduler_tick() every --tick-interval seconds. */
#ifndef JOBS_SERVER_SCHEDULER_THREAD_H
#define JOBS_SERVER_SCHEDULER_THREAD_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <jobs.h>

#include "metrics.h"

/** The scheduler thread: a tick every `interval` seconds. */
typedef struct srv_ticker {
    jobs_store *store;
    srv_metrics *metrics;
    struct srv_runner *runner;  /* --run-command: each run event goes to it; NULL: printed only */
    _Atomic int64_t *heartbeat; /* CLOCK_MONOTONIC ms at the end of each round: GET /healthz */
    unsigned interval;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop;
    pthread_t thread;
} srv_ticker;

/** Starts the thread on `t`, whose store, metrics, heartbeat and interval are set. 0, or -1. */
int srv_ticker_start(srv_ticker *t);

/** Stops the thread and waits for it. */
void srv_ticker_stop(srv_ticker *t);

#endif
