/* jobs-server's runner (examples/server/runner.c) in-process, on a temporary store, with real
 * children: what a timeout and a stop end (the child's whole process group, grandchildren that
 * ignore TERM included), a stop that does not wait for a child that never reads its input, the
 * outcome recorded when the server was started with SIGCHLD ignored, the signal dispositions a
 * child starts with, what becomes of runs queued or running when the runner stops, a timeout
 * that a stop follows, what /metrics counts, a run whose stack cannot be read, one whose
 * command's interpreter is missing, a child that leaves its process group, and one that ends
 * while a process it started holds its input open, the environment a child gets, an
 * at-least-once run whose lease ends while it waits in the queue, a webhook's run the full
 * queue refuses, and a child that leaves a process holding its output open. Bounds are for liveness only: a test fails when something
 * that must happen does not. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "fixture.h"
#include "hook.h"
#include "metrics.h"
#include "runner.h"

#define OWNER 1

/* Seconds a test waits for what must happen, at most. */
#define LIVENESS_S 60

typedef struct rt {
    fixture *fx;
    srv_metrics *metrics;
    char script[PATH_MAX + 16];
} rt;

static int setup(void **state)
{
    rt *t = calloc(1, sizeof *t);

    assert_non_null(t);
    assert_int_equal(fx_setup((void **)&t->fx), 0);
    assert_non_null(t->metrics = srv_metrics_new());
    snprintf(t->script, sizeof t->script, "%s/run.sh", t->fx->dir);
    *state = t;
    return 0;
}

static int teardown(void **state)
{
    rt *t = *state;

    srv_metrics_free(t->metrics);
    fx_teardown((void **)&t->fx);
    free(t);
    return 0;
}

/* The runner's command: `body` after "#!/bin/sh", with every %s the fixture's directory. */
static void write_script(rt *t, const char *body)
{
    FILE *f = fopen(t->script, "w");
    const char *p;

    assert_non_null(f);
    fputs("#!/bin/sh\n", f);
    for (p = body; *p; p++) {
        if (p[0] == '%' && p[1] == 's') {
            fputs(t->fx->dir, f);
            p++;
        } else {
            fputc(*p, f);
        }
    }
    fclose(f);
    assert_int_equal(chmod(t->script, 0700), 0);
}

/* A run of a new stack of OWNER, delivered to the caller (as a webhook's or exec's is). */
static void start_run(rt *t, jobs_event *ev, jobs_run_trigger trigger)
{
    assert_int_equal(jobs_run_start_stack(ev, t->fx->store, OWNER, fx_stack(t->fx, OWNER, false),
                                          trigger),
                     0);
}

static bool has_ended(const jobs_run *r)
{
    return r->state != JOBS_RUN_PENDING && r->state != JOBS_RUN_DELIVERED &&
           r->state != JOBS_RUN_RUNNING;
}

/* The run once it has ended, or as it is after LIVENESS_S when it has not (without failing: the
 * caller first ends what holds the runner, then asserts). */
static jobs_run *run_within(rt *t, uint64_t run)
{
    jobs_run *r = NULL;

    for (int i = 0; i < LIVENESS_S * 10; i++) {
        jobs_run_free(r);
        r = NULL;
        assert_int_equal(jobs_run_get(&r, t->fx->store, OWNER, run), 0);
        if (has_ended(r))
            break;
        usleep(100000);
    }
    return r;
}

/* The run, once it has ended (LIVENESS_S at most). */
static jobs_run *ended_run(rt *t, uint64_t run)
{
    jobs_run *r = run_within(t, run);

    if (!has_ended(r))
        fail_msg("run %llu never ended", (unsigned long long)run);
    return r;
}

/* The pid a child wrote to the fixture's file `name` (LIVENESS_S at most). */
static pid_t pid_in(rt *t, const char *name)
{
    char path[PATH_MAX + 64];
    long pid = 0;

    snprintf(path, sizeof path, "%s/%s", t->fx->dir, name);
    for (int i = 0; i < LIVENESS_S * 10; i++) {
        FILE *f = fopen(path, "r");

        if (f) {
            int got = fscanf(f, "%ld", &pid);

            fclose(f);
            if (got == 1 && pid > 0)
                return (pid_t)pid;
        }
        usleep(100000);
    }
    fail_msg("%s never appeared", path);
    return 0;
}

/* Whether process `pid` has ended (gone, or a zombie nobody reaped yet). */
static bool ended_process(pid_t pid)
{
    char path[64], line[512], *close_paren;
    FILE *f;
    bool gone = true;

    snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
    if (!(f = fopen(path, "r")))
        return true;
    if (fgets(line, sizeof line, f) && (close_paren = strrchr(line, ')')) != NULL)
        gone = close_paren[1] == ' ' && (close_paren[2] == 'Z' || close_paren[2] == 'X');
    fclose(f);
    return gone;
}

/* Whether `pid` ends within LIVENESS_S; KILLed when it does not (no process outlives the test). */
static bool ends(pid_t pid)
{
    for (int i = 0; i < LIVENESS_S * 10; i++) {
        if (ended_process(pid))
            return true;
        usleep(100000);
    }
    kill(pid, SIGKILL);
    return false;
}

/* A grandchild that ignores TERM writes its pid to `grandchild` (once it ignores it), and the
 * child (the process group's leader) then waits for TERM, which ends it. */
static const char ignoring_grandchild[] =
    "sh -c 'trap \"\" TERM; echo $$ > %s/g.tmp; mv %s/g.tmp %s/grandchild; exec sleep 3600' &\n"
    "while [ ! -f %s/grandchild ]; do sleep 0.1; done\n"
    "exec sleep 3600\n";

/* A run past --run-timeout gets TERM, its whole process group, and KILL two seconds later
 * (docs/runs.md). When the child itself ended at the TERM, the KILL was never sent: a grandchild
 * that ignores TERM ran on after its run was recorded as killed. */
static void test_a_timeout_kills_a_grandchild_that_ignores_term(void **state)
{
    rt *t = *state;
    srv_runner *runner;
    jobs_event ev;
    jobs_run *r;
    pid_t g;

    write_script(t, ignoring_grandchild);
    assert_non_null(runner = srv_runner_new(t->fx->store, t->metrics, t->script, 5, 1));
    start_run(t, &ev, JOBS_TRIGGER_MANUAL);
    assert_true(srv_runner_submit(runner, &ev));
    r = ended_run(t, ev.run);
    g = pid_in(t, "grandchild");
    srv_runner_free(runner);
    assert_int_equal(r->state, JOBS_RUN_FAILED);
    assert_string_equal(r->message, "timed out after 5 s: killed");
    jobs_run_free(r);
    assert_true(ends(g));
}

/* Stopping ends running children the same way: a grandchild that ignores TERM is killed too
 * (it ran on after the server had stopped). */
static void test_a_stop_kills_a_grandchild_that_ignores_term(void **state)
{
    rt *t = *state;
    srv_runner *runner;
    jobs_event ev;
    pid_t g;

    write_script(t, ignoring_grandchild);
    assert_non_null(runner = srv_runner_new(t->fx->store, t->metrics, t->script, 3600, 1));
    start_run(t, &ev, JOBS_TRIGGER_MANUAL);
    assert_true(srv_runner_submit(runner, &ev));
    g = pid_in(t, "grandchild");
    srv_runner_free(runner);
    assert_true(ends(g));
}

static bool deliver(void *ctx, const jobs_event *ev)
{
    return srv_runner_submit(ctx, ev);
}

static void *free_runner(void *runner)
{
    srv_runner_free(runner);
    return NULL;
}

/* A stop ends a child that never reads its input at once. The input (a webhook's request,
 * here 256 KiB: more than a pipe holds) was written until the run's timeout without a look at
 * the stop, so a stop waited up to --run-timeout seconds (an hour here) for that child. */
static void test_a_stop_does_not_wait_for_a_child_that_never_reads_its_input(void **state)
{
    enum { INPUT = 256 * 1024 };
    rt *t = *state;
    srv_runner *runner;
    srv_hooks *hooks;
    struct timespec until;
    pthread_t stopper;
    char *input = malloc(INPUT);
    int slot, rc, joined;
    uint64_t run, stack = fx_stack(t->fx, OWNER, false);
    pid_t child;

    assert_non_null(input);
    memset(input, 'x', INPUT);
    write_script(t, "echo $$ > %s/c.tmp; mv %s/c.tmp %s/child; exec sleep 3600\n");
    assert_non_null(runner = srv_runner_new(t->fx->store, t->metrics, t->script, 3600, 1));
    assert_non_null(hooks = srv_hooks_new(4, 4, 3600));
    srv_runner_set_hooks(runner, hooks);
    srv_hooks_set_deliver(hooks, deliver, runner);
    assert_int_equal(srv_hooks_begin(&slot, &rc, &run, hooks, t->fx->store, OWNER, stack,
                                     JOBS_TRIGGER_HOOK, input, INPUT),
                     SRV_HOOK_OK);
    assert_int_equal(rc, 0);
    child = pid_in(t, "child");
    assert_int_equal(pthread_create(&stopper, NULL, free_runner, runner), 0);
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += LIVENESS_S;
    joined = pthread_timedjoin_np(stopper, NULL, &until);
    if (joined != 0) { /* end the child: the runner then stops, before the store closes */
        kill(child, SIGKILL);
        pthread_join(stopper, NULL);
    }
    assert_int_equal(joined, 0);
    /* the runner reaped it before it returned */
    assert_true(ended_process(child));
    srv_hooks_free(hooks);
}

/* A server started with SIGCHLD ignored (a parent may leave it so, and it survives exec) had
 * its children reaped by the kernel: the runner found no exit status and recorded every run as
 * succeeded, "exit status 0", a failing one too. The runner now puts SIGCHLD back to its
 * default; and should SIGCHLD be ignored later on, a run whose status is lost is not called
 * succeeded. */
static void test_a_failing_run_fails_when_sigchld_was_ignored(void **state)
{
    rt *t = *state;
    srv_runner *runner;
    jobs_event ev, later;
    jobs_run *r = NULL, *r2 = NULL;

    write_script(t, "exit 3\n");
    signal(SIGCHLD, SIG_IGN);
    runner = srv_runner_new(t->fx->store, t->metrics, t->script, 3600, 1);
    if (runner) {
        start_run(t, &ev, JOBS_TRIGGER_MANUAL);
        assert_true(srv_runner_submit(runner, &ev));
        r = ended_run(t, ev.run);
        signal(SIGCHLD, SIG_IGN); /* behind the runner's back */
        start_run(t, &later, JOBS_TRIGGER_MANUAL);
        assert_true(srv_runner_submit(runner, &later));
        r2 = ended_run(t, later.run);
        srv_runner_free(runner);
    }
    signal(SIGCHLD, SIG_DFL);
    assert_non_null(runner);
    assert_int_equal(r->state, JOBS_RUN_FAILED);
    assert_string_equal(r->message, "exit status 3");
    assert_int_equal(r2->state, JOBS_RUN_FAILED);
    assert_string_equal(r2->message, "ended, but its exit status was lost");
    jobs_run_free(r);
    jobs_run_free(r2);
}

/* A child starts with every standard signal (1 to 31) at its default: none that the server
 * happened to ignore (SIGHUP under nohup, SIGQUIT in a shell's background job) is ignored in the
 * child. (glibc's posix_spawn leaves its own two real-time signals, 32 and 33, ignored.) */
static void test_a_child_ignores_no_standard_signal(void **state)
{
    rt *t = *state;
    srv_runner *runner;
    jobs_event ev;
    jobs_run *r;
    unsigned long long ignored = ~0ull;
    char text[64] = "";

    write_script(t, "exec grep SigIgn /proc/self/status\n");
    signal(SIGHUP, SIG_IGN);
    signal(SIGQUIT, SIG_IGN);
    assert_non_null(runner = srv_runner_new(t->fx->store, t->metrics, t->script, 3600, 1));
    start_run(t, &ev, JOBS_TRIGGER_MANUAL);
    assert_true(srv_runner_submit(runner, &ev));
    r = ended_run(t, ev.run);
    srv_runner_free(runner);
    signal(SIGHUP, SIG_DFL);
    signal(SIGQUIT, SIG_DFL);
    assert_int_equal(r->state, JOBS_RUN_SUCCEEDED);
    snprintf(text, sizeof text, "%.*s", (int)r->output_len, r->output);
    jobs_run_free(r);
    if (sscanf(text, "SigIgn: %llx", &ignored) != 1 || (ignored & 0x7fffffffull) != 0)
        fail_msg("the child's ignored signals: %s", text);
}

static bool file_exists(rt *t, const char *name)
{
    char path[PATH_MAX + 64];

    snprintf(path, sizeof path, "%s/%s", t->fx->dir, name);
    return access(path, F_OK) == 0;
}

/* An at-least-once run of a new job of OWNER (run now, delivered by a tick): events->ev[0]. */
static void least_once_run(rt *t, fx_events *events)
{
    jobs_job_spec spec = JOBS_JOB_SPEC_INIT;
    uint64_t job = 0, run = 0;

    spec.fields = JOBS_JOB_STACK | JOBS_JOB_SCHEDULE | JOBS_JOB_ENABLED | JOBS_JOB_DELIVERY;
    spec.stack = fx_stack(t->fx, OWNER, false);
    spec.schedule = fx_periodic(t->fx, OWNER, 3600);
    spec.enabled = false;
    spec.delivery = JOBS_DELIVERY_AT_LEAST_ONCE;
    assert_int_equal(jobs_create(&job, t->fx->store, OWNER, &spec), 0);
    assert_int_equal(jobs_run_now(&run, t->fx->store, OWNER, job), 0);
    fx_tick(t->fx, fx_time(t->fx), events);
    assert_int_equal(events->n, 1);
    assert_int_equal(events->ev[0].run, run);
    assert_int_equal(events->ev[0].delivery, JOBS_DELIVERY_AT_LEAST_ONCE);
}

/* Runs still queued when the runner stops are not started. An at-most-once one ends failed,
 * "not started: the server stopped", as one the full queue refused does: left delivered, its
 * history said it ran. An at-least-once one is left running, to come again when its lease
 * ends. The run whose child was running is killed (the next test). */
static void test_queued_runs_at_a_stop(void **state)
{
    rt *t = *state;
    srv_runner *runner;
    jobs_event first, most;
    fx_events events;
    jobs_run *r = NULL;
    uint64_t least;

    least_once_run(t, &events);
    least = events.ev[0].run;

    write_script(t, "echo $$ > %s/s.tmp; mv %s/s.tmp %s/started.$JOBS_RUN_ID; "
                    "exec sleep 3600\n");
    assert_non_null(runner = srv_runner_new(t->fx->store, t->metrics, t->script, 3600, 1));
    start_run(t, &first, JOBS_TRIGGER_MANUAL);
    start_run(t, &most, JOBS_TRIGGER_MANUAL);
    assert_true(srv_runner_submit(runner, &first));
    assert_true(srv_runner_submit(runner, &most));
    assert_true(srv_runner_submit(runner, &events.ev[0]));
    {
        char name[64];

        snprintf(name, sizeof name, "started.%llu", (unsigned long long)first.run);
        pid_in(t, name); /* the one worker runs the first: the others wait in the queue */
    }
    srv_runner_free(runner);

    assert_int_equal(jobs_run_get(&r, t->fx->store, OWNER, first.run), 0);
    assert_int_equal(r->state, JOBS_RUN_FAILED);
    assert_string_equal(r->message, "killed: the server stopped while it ran");
    jobs_run_free(r);
    assert_int_equal(jobs_run_get(&r, t->fx->store, OWNER, most.run), 0);
    assert_int_equal(r->state, JOBS_RUN_FAILED);
    assert_string_equal(r->message, "not started: the server stopped");
    jobs_run_free(r);
    assert_int_equal(jobs_run_get(&r, t->fx->store, OWNER, least), 0);
    assert_int_equal(r->state, JOBS_RUN_RUNNING);
    jobs_run_free(r);
    {
        char name[64];

        snprintf(name, sizeof name, "started.%llu", (unsigned long long)most.run);
        assert_false(file_exists(t, name));
        snprintf(name, sizeof name, "started.%llu", (unsigned long long)least);
        assert_false(file_exists(t, name));
    }
}

/* The failed count in the runner's metrics (jobs_runs_finished_total{state="failed"}). */
static unsigned long long failed_in_metrics(rt *t)
{
    static const char key[] = "jobs_runs_finished_total{state=\"failed\"} ";
    char *text, *at;
    size_t len;
    unsigned long long n;

    assert_int_equal(srv_metrics_render(&text, &len, t->metrics, NULL), 0);
    assert_non_null(at = strstr(text, key));
    n = strtoull(at + sizeof key - 1, NULL, 10);
    free(text);
    return n;
}

/* A stop kills the running children, and their runs end as their delivery says: an at-most-once
 * run fails, "killed: the server stopped while it ran", with what its child wrote (it was left
 * delivered, a run whose history never said what became of it), and an at-least-once run is
 * left running, to be delivered again when its lease ends. */
static void test_a_stop_ends_the_running_runs_by_their_delivery(void **state)
{
    rt *t = *state;
    srv_runner *runner;
    jobs_event most;
    fx_events events;
    jobs_run *r = NULL;
    uint64_t least;
    char name[64];

    least_once_run(t, &events);
    least = events.ev[0].run;

    write_script(t, "echo started $JOBS_RUN_ID; echo $$ > %s/s.$JOBS_RUN_ID; "
                    "mv %s/s.$JOBS_RUN_ID %s/started.$JOBS_RUN_ID; exec sleep 3600\n");
    assert_non_null(runner = srv_runner_new(t->fx->store, t->metrics, t->script, 3600, 2));
    srv_runner_set_clock(runner, fx_clock, t->fx); /* the lease is the fixture's clock's */
    start_run(t, &most, JOBS_TRIGGER_MANUAL);
    assert_int_equal(most.delivery, JOBS_DELIVERY_AT_MOST_ONCE);
    assert_true(srv_runner_submit(runner, &most));
    assert_true(srv_runner_submit(runner, &events.ev[0]));
    snprintf(name, sizeof name, "started.%llu", (unsigned long long)most.run);
    pid_in(t, name);
    snprintf(name, sizeof name, "started.%llu", (unsigned long long)least);
    pid_in(t, name);
    srv_runner_free(runner);

    assert_int_equal(jobs_run_get(&r, t->fx->store, OWNER, most.run), 0);
    assert_int_equal(r->state, JOBS_RUN_FAILED);
    assert_string_equal(r->message, "killed: the server stopped while it ran");
    snprintf(name, sizeof name, "started %llu\n", (unsigned long long)most.run);
    assert_int_equal(r->output_len, strlen(name));
    assert_memory_equal(r->output, name, r->output_len);
    jobs_run_free(r);
    assert_int_equal(jobs_run_get(&r, t->fx->store, OWNER, least), 0);
    assert_int_equal(r->state, JOBS_RUN_RUNNING);
    jobs_run_free(r);
    assert_int_equal(failed_in_metrics(t), 1);
}

/* A run killed at its timeout is recorded as timed out, also when a stop comes during the grace
 * between its TERM and its KILL (the child here outlives the TERM): the run was left delivered,
 * as though the stop had killed it. */
static void test_a_timeout_is_recorded_when_a_stop_comes_during_its_grace(void **state)
{
    rt *t = *state;
    srv_runner *runner;
    jobs_event ev;
    jobs_run *r = NULL;

    write_script(t, "trap 'echo $$ > %s/t.tmp; mv %s/t.tmp %s/termed' TERM\n"
                    "while :; do sleep 0.1; done\n");
    assert_non_null(runner = srv_runner_new(t->fx->store, t->metrics, t->script, 1, 1));
    start_run(t, &ev, JOBS_TRIGGER_MANUAL);
    assert_true(srv_runner_submit(runner, &ev));
    pid_in(t, "termed"); /* its timeout's TERM came; the KILL follows two seconds later */
    srv_runner_free(runner);
    assert_int_equal(jobs_run_get(&r, t->fx->store, OWNER, ev.run), 0);
    assert_int_equal(r->state, JOBS_RUN_FAILED);
    assert_string_equal(r->message, "timed out after 1 s: killed");
    jobs_run_free(r);
}

/* /metrics counts a run's end once it is recorded. A webhook's run that no request waits for
 * any more, which someone else ended first, was counted failed although the runner's attempt
 * to end it was refused (JOBS_ERUNSTATE) and the run had succeeded. */
static void test_metrics_count_only_the_ends_recorded(void **state)
{
    rt *t = *state;
    srv_runner *runner;
    jobs_event ev, next;
    jobs_run *r = NULL;

    write_script(t, "exit 0\n");
    assert_non_null(runner = srv_runner_new(t->fx->store, t->metrics, t->script, 3600, 1));
    start_run(t, &ev, JOBS_TRIGGER_HOOK);
    start_run(t, &next, JOBS_TRIGGER_MANUAL);
    assert_int_equal(jobs_run_finish(t->fx->store, OWNER, ev.run, true, "done elsewhere"), 0);
    assert_true(srv_runner_submit(runner, &ev));
    assert_true(srv_runner_submit(runner, &next));
    r = ended_run(t, next.run); /* one worker, one owner: the hook's run was taken before */
    assert_int_equal(r->state, JOBS_RUN_SUCCEEDED);
    jobs_run_free(r);
    srv_runner_free(runner);
    assert_int_equal(jobs_run_get(&r, t->fx->store, OWNER, ev.run), 0);
    assert_int_equal(r->state, JOBS_RUN_SUCCEEDED);
    assert_string_equal(r->message, "done elsewhere");
    jobs_run_free(r);
    assert_int_equal(failed_in_metrics(t), 0);
}

/* A job keeps its stack when the stack's owner makes it private (jobs_stack_update()), and its
 * runs still read the stack's blocks: the child's input is the blocks. The runner read them as
 * the job's owner, who can no longer see the stack, and ran the child with "[]". */
static void test_a_run_on_a_stack_made_private_reads_its_blocks(void **state)
{
    static const char blocks[] = "[{\"block\":\"kept\"}]";
    rt *t = *state;
    jobs_stack_spec change = JOBS_STACK_SPEC_INIT;
    srv_runner *runner;
    jobs_event ev;
    jobs_run *r;
    uint64_t stack = fx_stack(t->fx, 2, true);

    change.fields = JOBS_STACK_BLOCKS;
    change.blocks = blocks;
    change.blocks_len = sizeof blocks - 1;
    assert_int_equal(jobs_stack_update(NULL, t->fx->store, 2, stack, &change), 0);
    write_script(t, "cat\n");
    /* owner 1 runs owner 2's public stack, which then becomes private */
    assert_int_equal(jobs_run_start_stack(&ev, t->fx->store, OWNER, stack, JOBS_TRIGGER_MANUAL),
                     0);
    change.fields = JOBS_STACK_PUBLIC;
    change.is_public = false;
    assert_int_equal(jobs_stack_update(NULL, t->fx->store, 2, stack, &change), 0);
    assert_non_null(runner = srv_runner_new(t->fx->store, t->metrics, t->script, 3600, 1));
    assert_true(srv_runner_submit(runner, &ev));
    r = ended_run(t, ev.run);
    srv_runner_free(runner);
    if (r->state != JOBS_RUN_SUCCEEDED)
        fail_msg("state %d: %s", (int)r->state, r->message);
    assert_int_equal(r->output_len, sizeof blocks - 1);
    assert_memory_equal(r->output, blocks, sizeof blocks - 1);
    jobs_run_free(r);
}

/* A command whose #! interpreter is missing fails its run with a message that says so: exec's
 * ENOENT ("No such file or directory") named only the command, which is there. */
static void test_a_missing_interpreter_is_named(void **state)
{
    rt *t = *state;
    srv_runner *runner;
    jobs_event ev;
    jobs_run *r;
    FILE *f = fopen(t->script, "w");

    assert_non_null(f);
    fputs("#!/nonexistent/interpreter\nexit 0\n", f);
    fclose(f);
    assert_int_equal(chmod(t->script, 0700), 0);
    assert_non_null(runner = srv_runner_new(t->fx->store, t->metrics, t->script, 3600, 1));
    start_run(t, &ev, JOBS_TRIGGER_MANUAL);
    assert_true(srv_runner_submit(runner, &ev));
    r = ended_run(t, ev.run);
    srv_runner_free(runner);
    assert_int_equal(r->state, JOBS_RUN_FAILED);
    if (!strstr(r->message, t->script) || !strstr(r->message, "interpreter"))
        fail_msg("message: %s", r->message);
    jobs_run_free(r);
}

/* A child that moves itself out of its process group (into the server's, here) is still ended
 * at its timeout: the TERM and the KILL went to its group alone, which it had left, so the
 * child ran on, its worker waited for it for ever, and so did a stop. */
static void test_a_child_that_leaves_its_group_is_still_ended_at_its_timeout(void **state)
{
    rt *t = *state;
    srv_runner *runner;
    jobs_event ev;
    jobs_run *r;
    pid_t child;

    if (access("/usr/bin/perl", X_OK) != 0)
        skip(); /* perl moves the child; Debian's perl-base is always there */
    write_script(t, "exec /usr/bin/perl -e 'setpgrp(0, getpgrp(getppid())) or die \"setpgrp: $!\";"
                    " open(F, \">%s/c.tmp\") or die; print F \"$$\\n\"; close(F);"
                    " rename(\"%s/c.tmp\", \"%s/child\"); sleep 3600'\n");
    assert_non_null(runner = srv_runner_new(t->fx->store, t->metrics, t->script, 1, 1));
    start_run(t, &ev, JOBS_TRIGGER_MANUAL);
    assert_true(srv_runner_submit(runner, &ev));
    child = pid_in(t, "child");
    r = run_within(t, ev.run);
    kill(child, SIGKILL); /* frees the worker when the runner did not end it */
    srv_runner_free(runner);
    if (r->state != JOBS_RUN_FAILED || strcmp(r->message, "timed out after 1 s: killed") != 0)
        fail_msg("state %d: %s", (int)r->state, r->message);
    jobs_run_free(r);
}

/* A child that ends without reading its input while a process it started holds that input
 * open (and does not read it either) ends its run when it ends. The input (a webhook's
 * request, more than a pipe holds) was written until the run's timeout, whether or not the
 * child had ended: the run, and the request waiting for it, waited for the timeout, and the
 * run then succeeded all the same. */
static void test_a_child_that_ends_is_not_waited_past_for_its_input(void **state)
{
    enum { INPUT = 256 * 1024 };
    rt *t = *state;
    srv_runner *runner;
    srv_hooks *hooks;
    srv_hook_outcome o;
    char *input = malloc(INPUT);
    int slot, rc;
    uint64_t run, stack = fx_stack(t->fx, OWNER, false);
    jobs_run *r;
    pid_t g;

    assert_non_null(input);
    memset(input, 'x', INPUT);
    write_script(t, "exec 3<&0; sleep 3600 <&3 3<&- &\n"
                    "echo $! > %s/g.tmp; mv %s/g.tmp %s/grandchild; echo done; exit 0\n");
    assert_non_null(runner = srv_runner_new(t->fx->store, t->metrics, t->script, 3600, 1));
    assert_non_null(hooks = srv_hooks_new(4, 4, 3600));
    srv_runner_set_hooks(runner, hooks);
    srv_hooks_set_deliver(hooks, deliver, runner);
    assert_int_equal(srv_hooks_begin(&slot, &rc, &run, hooks, t->fx->store, OWNER, stack,
                                     JOBS_TRIGGER_HOOK, input, INPUT),
                     SRV_HOOK_OK);
    assert_int_equal(rc, 0);
    g = pid_in(t, "grandchild");
    r = run_within(t, run);
    kill(g, SIGKILL); /* closes the input: the runner goes on either way */
    srv_hooks_wait(&o, hooks, slot);
    srv_runner_free(runner);
    srv_hooks_free(hooks);
    if (r->state != JOBS_RUN_SUCCEEDED)
        fail_msg("state %d: %s", (int)r->state, r->message);
    assert_string_equal(r->message, "exit status 0");
    jobs_run_free(r);
    assert_true(o.ended);
    assert_true(o.succeeded);
    assert_int_equal(o.output_len, 5);
    assert_memory_equal(o.output, "done\n", 5);
    free(o.output);
}

/* A child gets the server's environment but for what is the server's own: its JOBS_ variables,
 * and PGPASSWORD, the password of its PostgreSQL store (docs/http-api.md advises it there),
 * which every child got, whoever's stack it ran. */
static void test_a_child_gets_no_store_password(void **state)
{
    rt *t = *state;
    srv_runner *runner;
    jobs_event ev;
    jobs_run *r;
    char text[JOBS_RUN_OUTPUT_MAX + 1];

    write_script(t, "env | grep -E '^(PGPASSWORD|JOBS_DEMO_PASSWORD|RUNNER_TEST_KEPT|JOBS_TRIGGER)='\n");
    setenv("PGPASSWORD", "the-store-password", 1);
    setenv("JOBS_DEMO_PASSWORD", "the-demo-password", 1);
    setenv("RUNNER_TEST_KEPT", "kept", 1);
    /* (the environment does not change while the runner's threads run) */
    assert_non_null(runner = srv_runner_new(t->fx->store, t->metrics, t->script, 3600, 1));
    start_run(t, &ev, JOBS_TRIGGER_MANUAL);
    assert_true(srv_runner_submit(runner, &ev));
    r = ended_run(t, ev.run);
    srv_runner_free(runner);
    unsetenv("PGPASSWORD");
    unsetenv("JOBS_DEMO_PASSWORD");
    unsetenv("RUNNER_TEST_KEPT");
    assert_int_equal(r->state, JOBS_RUN_SUCCEEDED);
    snprintf(text, sizeof text, "%.*s", (int)r->output_len, r->output);
    jobs_run_free(r);
    if (strstr(text, "password") || !strstr(text, "RUNNER_TEST_KEPT=kept\n") ||
        !strstr(text, "JOBS_TRIGGER=manual\n"))
        fail_msg("the child's environment:\n%s", text);
}

/* Opens the fixture's FIFO `name` for writing once a child reads it, and writes a line to it
 * (LIVENESS_S at most): the child that waits on it goes on. Whether it did. */
static bool released(rt *t, const char *name)
{
    char path[PATH_MAX + 64];
    int fd = -1;
    bool written;

    snprintf(path, sizeof path, "%s/%s", t->fx->dir, name);
    for (int i = 0; i < LIVENESS_S * 10 && fd < 0; i++)
        if ((fd = open(path, O_WRONLY | O_NONBLOCK)) < 0)
            usleep(100000); /* ENXIO: no reader yet */
    if (fd < 0)
        return false;
    written = write(fd, "go\n", 3) == 3;
    close(fd);
    return written;
}

/* released(), or the test fails. */
static void release(rt *t, const char *name)
{
    if (!released(t, name))
        fail_msg("no child ever read %s/%s", t->fx->dir, name);
}

/* The lines of the fixture's file `name` ("" when there is none), in `buf`. */
static const char *file_text(rt *t, const char *name, char *buf, size_t size)
{
    char path[PATH_MAX + 64];
    FILE *f;
    size_t n = 0;

    snprintf(path, sizeof path, "%s/%s", t->fx->dir, name);
    if ((f = fopen(path, "r"))) {
        n = fread(buf, 1, size - 1, f);
        fclose(f);
    }
    buf[n] = '\0';
    return buf;
}

/* An at-least-once run whose lease ends while it waits in the queue (the one worker is busy) is
 * delivered again by the next tick, attempt 2, and queued again: the worker starts that copy
 * only, once. The stale attempt 1 was started too, so two children ran the run, one after the
 * other or (more workers) at once. */
static void test_a_run_whose_lease_ended_in_the_queue_is_not_started(void **state)
{
    rt *t = *state;
    srv_runner *runner;
    jobs_event busy;
    fx_events events, again;
    jobs_run *r;
    char fifo[PATH_MAX + 16], text[256], want[128];
    uint64_t least;

    snprintf(fifo, sizeof fifo, "%s/gate", t->fx->dir);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    /* Each child appends its run and attempt; the run without a job waits at the gate. */
    write_script(t, "echo \"$JOBS_RUN_ID $JOBS_ATTEMPT\" >> %s/children\n"
                    "if [ \"$JOBS_JOB_ID\" = 0 ]; then read x < %s/gate; fi\n");
    assert_non_null(runner = srv_runner_new(t->fx->store, t->metrics, t->script, 3600, 1));
    srv_runner_set_clock(runner, fx_clock, t->fx);
    start_run(t, &busy, JOBS_TRIGGER_MANUAL);
    assert_true(srv_runner_submit(runner, &busy));
    snprintf(want, sizeof want, "%llu 1\n", (unsigned long long)busy.run);
    for (int i = 0; i < LIVENESS_S * 10 && strcmp(file_text(t, "children", text, sizeof text),
                                                  want) != 0; i++)
        usleep(100000);
    assert_string_equal(text, want); /* the one worker is busy */

    least_once_run(t, &events); /* attempt 1, its lease from the fixture's now */
    least = events.ev[0].run;
    assert_int_equal(events.ev[0].attempt, 1);
    assert_true(srv_runner_submit(runner, &events.ev[0]));
    fx_set_time(t->fx, events.ev[0].lease_until); /* the lease ends while it waits */
    fx_tick(t->fx, fx_time(t->fx), &again);
    assert_int_equal(again.n, 1);
    assert_int_equal(again.ev[0].run, least);
    assert_int_equal(again.ev[0].attempt, 2);
    assert_true(srv_runner_submit(runner, &again.ev[0]));

    release(t, "gate");
    r = ended_run(t, least); /* attempt 2 ran it: the worker took attempt 1 before */
    srv_runner_free(runner);
    assert_int_equal(r->state, JOBS_RUN_SUCCEEDED);
    jobs_run_free(r);
    snprintf(want, sizeof want, "%llu 1\n%llu 2\n", (unsigned long long)busy.run,
             (unsigned long long)least);
    assert_string_equal(file_text(t, "children", text, sizeof text), want);
}

/* A webhook's run that the full queue refuses ends failed, "not started: the runner's queue is
 * full", its request is answered so, and /metrics counts the end as any run's: it was recorded
 * failed but never counted. The one worker is busy and OWNER's share of the queue is full (one
 * at-least-once run queued that often, which a stop leaves as it is). */
static void test_a_hook_run_the_full_queue_refuses_is_counted_finished(void **state)
{
    rt *t = *state;
    srv_runner *runner;
    srv_hooks *hooks;
    srv_hook_outcome o;
    jobs_event busy;
    fx_events events;
    jobs_run *r = NULL;
    int slot, rc;
    uint64_t run = 0, stack = fx_stack(t->fx, OWNER, false);
    char name[64];

    least_once_run(t, &events);
    write_script(t, "echo $$ > %s/s.$JOBS_RUN_ID; mv %s/s.$JOBS_RUN_ID %s/started.$JOBS_RUN_ID; "
                    "exec sleep 3600\n");
    assert_non_null(runner = srv_runner_new(t->fx->store, t->metrics, t->script, 3600, 1));
    srv_runner_set_clock(runner, fx_clock, t->fx);
    assert_non_null(hooks = srv_hooks_new(4, 4, 3600));
    srv_runner_set_hooks(runner, hooks);
    srv_hooks_set_deliver(hooks, deliver, runner);
    start_run(t, &busy, JOBS_TRIGGER_MANUAL);
    assert_true(srv_runner_submit(runner, &busy));
    snprintf(name, sizeof name, "started.%llu", (unsigned long long)busy.run);
    pid_in(t, name); /* the one worker is busy */
    for (int i = 0; i < SRV_RUNNER_OWNER_MAX; i++)
        assert_true(srv_runner_submit(runner, &events.ev[0]));
    assert_int_equal(srv_hooks_begin(&slot, &rc, &run, hooks, t->fx->store, OWNER, stack,
                                     JOBS_TRIGGER_HOOK, NULL, 0),
                     SRV_HOOK_OK);
    assert_int_equal(rc, 0);
    srv_hooks_wait(&o, hooks, slot);
    assert_int_equal(failed_in_metrics(t), 1);
    srv_runner_free(runner);
    srv_hooks_free(hooks);
    assert_true(o.ended);
    assert_false(o.succeeded);
    assert_string_equal(o.message, "not started: the runner's queue is full");
    free(o.output);
    assert_int_equal(jobs_run_get(&r, t->fx->store, OWNER, run), 0);
    assert_int_equal(r->state, JOBS_RUN_FAILED);
    assert_string_equal(r->message, "not started: the runner's queue is full");
    jobs_run_free(r);
}

/* A process the child leaves behind holding the child's output open (here one that left the
 * child's process group with setsid, out of reach of the runner's signals, and that writes
 * nothing for the time being) does not hold up the run: once the child has ended, the runner
 * reads what is in the output pipe without waiting for its end of file, which only comes when
 * the last holder ends (in an hour here), records the run with the child's output and closes the
 * pipe. What the process writes later is not the run's: with nobody reading, its write gets
 * SIGPIPE, which ends it. */
static void test_a_process_left_holding_the_output_does_not_hold_the_run(void **state)
{
    static const char want[] = "before\nafter\n";
    rt *t = *state;
    srv_runner *runner;
    jobs_event ev;
    jobs_run *r;
    char fifo[PATH_MAX + 16];
    bool run_ended, gone;
    pid_t g;

    if (access("/usr/bin/setsid", X_OK) != 0)
        skip(); /* util-linux's; Debian always has it */
    snprintf(fifo, sizeof fifo, "%s/gate", t->fx->dir);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    write_script(t, "echo before\n"
                    "/usr/bin/setsid sh -c 'echo $$ > %s/g.tmp; mv %s/g.tmp %s/grandchild; "
                    "read x < %s/gate; echo late; exec sleep 3600' &\n"
                    "while [ ! -f %s/grandchild ]; do sleep 0.1; done\n"
                    "echo after\n"
                    "exit 0\n");
    assert_non_null(runner = srv_runner_new(t->fx->store, t->metrics, t->script, 3600, 1));
    start_run(t, &ev, JOBS_TRIGGER_MANUAL);
    assert_true(srv_runner_submit(runner, &ev));
    g = pid_in(t, "grandchild");
    r = run_within(t, ev.run);
    /* the process writes once the run has ended; when it has not, the KILL closes the pipe's
     * last write end, which frees the worker */
    run_ended = has_ended(r);
    if (!run_ended || !released(t, "gate"))
        kill(g, SIGKILL);
    gone = ends(g);
    srv_runner_free(runner);
    if (!run_ended)
        fail_msg("the run never ended while a process the child left held its output open");
    assert_int_equal(r->state, JOBS_RUN_SUCCEEDED);
    assert_string_equal(r->message, "exit status 0");
    assert_int_equal(r->output_len, sizeof want - 1);
    assert_memory_equal(r->output, want, sizeof want - 1);
    jobs_run_free(r);
    assert_true(gone);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_a_timeout_kills_a_grandchild_that_ignores_term,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_stop_kills_a_grandchild_that_ignores_term, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_a_stop_does_not_wait_for_a_child_that_never_reads_its_input, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_failing_run_fails_when_sigchld_was_ignored, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_a_child_ignores_no_standard_signal, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_queued_runs_at_a_stop, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_stop_ends_the_running_runs_by_their_delivery,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_a_timeout_is_recorded_when_a_stop_comes_during_its_grace, setup, teardown),
        cmocka_unit_test_setup_teardown(test_metrics_count_only_the_ends_recorded, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_a_run_on_a_stack_made_private_reads_its_blocks,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_missing_interpreter_is_named, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_a_child_that_leaves_its_group_is_still_ended_at_its_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_child_that_ends_is_not_waited_past_for_its_input,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_child_gets_no_store_password, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_run_whose_lease_ended_in_the_queue_is_not_started,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_a_hook_run_the_full_queue_refuses_is_counted_finished, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_a_process_left_holding_the_output_does_not_hold_the_run, setup, teardown),
    };

    signal(SIGPIPE, SIG_IGN); /* as jobs-server does: a child may close its input unread */
    return cmocka_run_group_tests_name("runner", tests, NULL, NULL);
}
