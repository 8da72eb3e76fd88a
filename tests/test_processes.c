/* Several processes on one store: ticks from competing processes run every slot exactly once,
 * and writes from one process are seen by another. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fixture.h"

#define N_PROCS 3
#define N_JOBS 20
#define N_SLOTS 40
#define PERIOD 60

typedef struct tick_log {
    FILE *out;
} tick_log;

static int log_event(const jobs_event *ev, void *ctx)
{
    tick_log *log = ctx;

    fprintf(log->out, "%d %llu %lld\n", (int)ev->type, (unsigned long long)ev->job,
            (long long)ev->slot);
    return 0;
}

/* A child: opens the store itself and ticks through every slot, logging what it ran. Uses no
 * cmocka assertions (they would jump into the parent's copy of the test runner). */
static int child_ticks(const char *path, const char *log_path)
{
    jobs_store_options opts = JOBS_STORE_OPTIONS_INIT;
    jobs_options_lmdb lmdb = JOBS_OPTIONS_INIT_LMDB;
    jobs_store *store;
    tick_log log;

    opts.path = path;
    lmdb.flags = JOBS_NOSYNC_LMDB;
    opts.lmdb = &lmdb;
    if (jobs_store_open(&store, &opts) != 0)
        return 2;
    if (!(log.out = fopen(log_path, "w")))
        return 3;
    for (int k = 1; k <= N_SLOTS; k++) {
        if (jobs_scheduler_tick(NULL, store, FX_T0 + (int64_t)k * PERIOD, 0, log_event, &log))
            return 4;
    }
    fclose(log.out);
    jobs_store_close(store);
    return 0;
}

static void test_ticks_from_several_processes_run_each_slot_once(void **state)
{
    fixture *fx = *state;
    uint64_t stack = fx_stack(fx, 1, false);
    uint64_t ids[N_JOBS];
    static unsigned char seen[N_JOBS + 1][N_SLOTS + 1];
    char logs[N_PROCS][PATH_MAX + 16];
    pid_t pids[N_PROCS];

    for (int i = 0; i < N_JOBS; i++)
        ids[i] = fx_job(fx, 1, NULL, stack, FX_EVERY_MINUTE, true);
    assert_int_equal(ids[N_JOBS - 1], N_JOBS);
    /* A process may hold one handle per store: the children open their own. */
    fx_close(fx);

    for (int p = 0; p < N_PROCS; p++) {
        snprintf(logs[p], sizeof(logs[p]), "%s/ticks.%d", fx->dir, p);
        pids[p] = fork();
        assert_true(pids[p] >= 0);
        if (pids[p] == 0)
            _exit(child_ticks(fx->path, logs[p]));
    }
    for (int p = 0; p < N_PROCS; p++) {
        int status;
        assert_int_equal(waitpid(pids[p], &status, 0), pids[p]);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
    }

    memset(seen, 0, sizeof(seen));
    size_t total = 0;
    for (int p = 0; p < N_PROCS; p++) {
        FILE *f = fopen(logs[p], "r");
        int type;
        unsigned long long job;
        long long slot;

        assert_non_null(f);
        while (fscanf(f, "%d %llu %lld", &type, &job, &slot) == 3) {
            assert_int_equal(type, JOBS_EVENT_RUN);
            assert_true(job >= 1 && job <= N_JOBS);
            assert_int_equal((slot - FX_T0) % PERIOD, 0);
            long long k = (slot - FX_T0) / PERIOD;
            assert_true(k >= 1 && k <= N_SLOTS);
            assert_int_equal(seen[job][k], 0); /* never twice */
            seen[job][k] = 1;
            total++;
        }
        fclose(f);
    }
    /* And never skipped, where ticks take turns (LMDB: one writer at a time). On PostgreSQL a
     * tick skips the jobs another process's tick holds, and these processes' clocks race
     * ahead of each other, so a job a lagging process held is found by one already several
     * slots later, which runs it once for the missed slots (they coalesce, as after any
     * pause). Every job still ran, and no slot twice. */
    if (!fx_postgres())
        assert_int_equal(total, (size_t)N_JOBS * N_SLOTS);
    for (int job = 1; job <= N_JOBS; job++) {
        bool ran = false;

        for (int k = 1; k <= N_SLOTS; k++)
            ran = ran || seen[job][k];
        if (!ran)
            fail_msg("job %d never ran", job);
    }

    fx_open(fx);
    int64_t next;
    assert_int_equal(jobs_scheduler_next_run(&next, fx->store), 0);
    assert_int_equal(next, FX_T0 + (int64_t)(N_SLOTS + 1) * PERIOD);
}

static void test_writes_of_another_process_are_visible(void **state)
{
    fixture *fx = *state;
    uint64_t stack = fx_stack(fx, 7, false);
    pid_t pid;
    int status;

    fx_close(fx);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        jobs_store_options opts = JOBS_STORE_OPTIONS_INIT;
        jobs_store *store;
        jobs_job_spec spec = JOBS_JOB_SPEC_INIT;
        int rc;

        opts.path = fx->path;
        if (jobs_store_open(&store, &opts) != 0)
            _exit(2);
        spec.fields = JOBS_JOB_STACK | JOBS_JOB_SCHEDULE | JOBS_JOB_NAME;
        spec.stack = stack;
        spec.schedule = FX_HOURLY;
        spec.name = "from-the-child";
        rc = jobs_create(NULL, store, 7, &spec);
        jobs_store_close(store);
        _exit(rc == 0 ? 0 : 3);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);

    fx_open(fx);
    jobs_job *job;
    assert_int_equal(jobs_get_by_name(&job, fx->store, 7, "from-the-child"), 0);
    assert_int_equal(job->stack, stack);
    assert_int_equal(job->schedule, FX_HOURLY);
    jobs_job_free(job);
}

/* Many one-time jobs due at one moment, claimed by several processes ticking with the same
 * clock in small batches at once (as several jobs-server nodes on one PostgreSQL database):
 * each job runs exactly once across all of them. */
#define CLAIM_JOBS 2000
#define CLAIM_BATCH 25

static int child_claims(const char *path, const char *log_path, int64_t now)
{
    jobs_store_options opts = JOBS_STORE_OPTIONS_INIT;
    jobs_store *store;
    tick_log log;
    size_t n;
    int64_t next;

    opts.path = path;
    if (jobs_store_open(&store, &opts) != 0)
        return 2;
    if (!(log.out = fopen(log_path, "w")))
        return 3;
    /* Until nothing is due: a tick that found nothing while another held the rest goes on. */
    for (;;) {
        if (jobs_scheduler_tick(&n, store, now, CLAIM_BATCH, log_event, &log))
            return 4;
        if (n == 0 && jobs_scheduler_next_run(&next, store) == JOBS_ENOTFOUND)
            break;
    }
    fclose(log.out);
    jobs_store_close(store);
    return 0;
}

static void test_one_time_jobs_claimed_by_several_processes_run_once(void **state)
{
    fixture *fx = *state;
    static unsigned char seen[CLAIM_JOBS + 1];
    char logs[N_PROCS][PATH_MAX + 16];
    pid_t pids[N_PROCS];
    int64_t due = FX_T0 + 5;
    uint64_t stack = fx_stack(fx, 1, false);
    uint64_t once = fx_once(fx, 1, due);
    uint64_t first = 0, last = 0;

    for (int i = 0; i < CLAIM_JOBS; i++) {
        last = fx_job(fx, 1, NULL, stack, once, true);
        if (!first)
            first = last;
    }
    assert_int_equal(last - first + 1, CLAIM_JOBS);
    fx_close(fx);
    for (int p = 0; p < N_PROCS; p++) {
        snprintf(logs[p], sizeof(logs[p]), "%s/claims.%d", fx->dir, p);
        pids[p] = fork();
        assert_true(pids[p] >= 0);
        if (pids[p] == 0)
            _exit(child_claims(fx->path, logs[p], due));
    }
    for (int p = 0; p < N_PROCS; p++) {
        int status;
        assert_int_equal(waitpid(pids[p], &status, 0), pids[p]);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
    }
    memset(seen, 0, sizeof(seen));
    size_t total = 0;
    for (int p = 0; p < N_PROCS; p++) {
        FILE *f = fopen(logs[p], "r");
        int type;
        unsigned long long job;
        long long slot;

        assert_non_null(f);
        while (fscanf(f, "%d %llu %lld", &type, &job, &slot) == 3) {
            assert_int_equal(type, JOBS_EVENT_RUN);
            assert_true(job >= first && job <= last);
            assert_int_equal(slot, due);
            assert_int_equal(seen[job - first], 0); /* never twice */
            seen[job - first] = 1;
            total++;
        }
        fclose(f);
    }
    assert_int_equal(total, CLAIM_JOBS); /* and every one */
    fx_open(fx);
    assert_int_equal(jobs_store_check(fx->store), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_ticks_from_several_processes_run_each_slot_once,
                                        fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_one_time_jobs_claimed_by_several_processes_run_once,
                                        fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_writes_of_another_process_are_visible, fx_setup,
                                        fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
