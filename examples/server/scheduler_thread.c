/* The scheduler thread. Events go to standard output, one JSON line each. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <time.h>

#include "handler.h"
#include "runner.h"
#include "scheduler_thread.h"


static int on_event(const jobs_event *ev, void *ctx)
{
    srv_ticker *t = ctx;

    srv_metrics_event(t->metrics, ev->type);
    if (ev->type == JOBS_EVENT_RUN) {
        srv_metrics_run_delivered(t->metrics, ev->trigger, (int64_t)time(NULL) - ev->slot);
        /* The runner queues it and returns: a slow child never holds up the tick. A run it
         * cannot take is not started, and the runner ends it as its delivery says (an
         * at-most-once one fails, counted as any run's end: runner.h). (No transaction is held
         * during the callback.) */
        if (t->runner)
            srv_runner_submit(t->runner, ev);
    }
    printf("{\"event\":\"%s\",\"job\":%" PRIu64 ",\"owner\":%" PRIu64 ",\"stack\":%" PRIu64
           ",\"slot\":%" PRId64 "}\n",
           ev->type == JOBS_EVENT_DELETED ? "deleted" : "run", ev->job, ev->owner, ev->stack,
           ev->slot);
    fflush(stdout);
    return 0;
}

static void *ticker_main(void *arg)
{
    srv_ticker *t = arg;

    pthread_mutex_lock(&t->mu);
    while (!t->stop) {
        struct timespec until;
        int64_t now = (int64_t)time(NULL);
        int rc;

        pthread_mutex_unlock(&t->mu);
        rc = jobs_scheduler_tick(NULL, t->store, now, 0, on_event, t);
        if (rc < 0)
            fprintf(stderr, "jobs-server: tick: %s\n", jobs_strerror(rc));
        srv_metrics_tick(t->metrics, rc == 0, now);
        atomic_store(t->heartbeat, srv_monotonic_ms());
        pthread_mutex_lock(&t->mu);
        /* Until the next tick, wait in slices of a second at most (a stop is seen within
         * one). The next tick comes sooner when a write (of this process; on PostgreSQL, of
         * any node) makes a job or a run due before it: jobs_store_wait() is told, and the
         * tick moves to that time. When the store cannot wait (the database is unreachable),
         * sleep. */
        int64_t next = now + (int64_t)t->interval, due;
        for (int64_t left; !t->stop && (left = next - (int64_t)time(NULL)) > 0;) {
            pthread_mutex_unlock(&t->mu);
            rc = jobs_store_wait(&due, t->store, next, left > 1 ? 1000 : (int)left * 1000);
            if (rc == 1 && due < next)
                next = due;
            pthread_mutex_lock(&t->mu);
            if (rc < 0) {
                clock_gettime(CLOCK_REALTIME, &until);
                until.tv_sec += 1;
                while (!t->stop &&
                       pthread_cond_timedwait(&t->cv, &t->mu, &until) != ETIMEDOUT)
                    ;
            }
        }
    }
    pthread_mutex_unlock(&t->mu);
    return NULL;
}

int srv_ticker_start(srv_ticker *t)
{
    t->stop = false;
    pthread_mutex_init(&t->mu, NULL);
    pthread_cond_init(&t->cv, NULL);
    if (pthread_create(&t->thread, NULL, ticker_main, t) != 0) {
        pthread_cond_destroy(&t->cv);
        pthread_mutex_destroy(&t->mu);
        return -1;
    }
    return 0;
}

void srv_ticker_stop(srv_ticker *t)
{
    pthread_mutex_lock(&t->mu);
    t->stop = true;
    pthread_cond_signal(&t->cv);
    pthread_mutex_unlock(&t->mu);
    pthread_join(t->thread, NULL);
    pthread_cond_destroy(&t->cv);
    pthread_mutex_destroy(&t->mu);
}
