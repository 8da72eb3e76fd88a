/* The runner of jobs-server: see runner.h. */
#include "runner.h"
#include "handler.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

/* Seconds between TERM and KILL. */
#define KILL_GRACE_MS 2000

typedef struct item {
    struct item *next;
    uint64_t run, job, owner, stack;
    int64_t slot;
    jobs_run_trigger trigger;
    jobs_delivery delivery;
    uint32_t attempt;
    int64_t lease_until;
    char name[JOBS_NAME_MAX + 1];
} item;

/* The queued runs of one owner, in order; a ring of them is served in turn. */
typedef struct owner_queue {
    struct owner_queue *next; /* the next owner in the ring */
    uint64_t owner;
    item *head, **tail;
    size_t n;
} owner_queue;

struct srv_runner {
    jobs_store *store;
    srv_hooks *hooks;
    srv_metrics *metrics;
    jobs_clock_fn clock; /* NULL: time(NULL) */
    void *clock_ctx;
    char *command;
    unsigned timeout_s;
    unsigned n;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    owner_queue *last; /* the ring of owners with queued runs: last->next is served next */
    size_t owners;     /* owners in the ring */
    size_t queued;
    bool stop;
    pthread_t *threads;
    unsigned started;
};

/* Whether srv_runner_free() has begun. */
static bool stopping_now(srv_runner *r)
{
    bool stop;

    pthread_mutex_lock(&r->mu);
    stop = r->stop;
    pthread_mutex_unlock(&r->mu);
    return stop;
}

/* The last JOBS_RUN_OUTPUT_MAX bytes of a child's output. */
typedef struct tail_buf {
    char b[JOBS_RUN_OUTPUT_MAX];
    size_t len;
} tail_buf;

/* A hook run's whole output, up to SRV_HOOK_OUTPUT_MAX bytes (its answer), or too_long. */
typedef struct hook_buf {
    char *b;
    size_t len;
    bool too_long;
} hook_buf;

static void hook_add(hook_buf *h, const char *p, size_t n)
{
    if (!h || h->too_long)
        return;
    if (h->len + n > SRV_HOOK_OUTPUT_MAX) {
        h->too_long = true;
        return;
    }
    if (!h->b && !(h->b = malloc(SRV_HOOK_OUTPUT_MAX))) {
        h->too_long = true;
        return;
    }
    memcpy(h->b + h->len, p, n);
    h->len += n;
}

static void tail_add(tail_buf *t, const char *p, size_t n)
{
    if (n >= sizeof t->b) {
        memcpy(t->b, p + n - sizeof t->b, sizeof t->b);
        t->len = sizeof t->b;
        return;
    }
    if (t->len + n > sizeof t->b) {
        size_t drop = t->len + n - sizeof t->b;
        memmove(t->b, t->b + drop, t->len - drop);
        t->len -= drop;
    }
    memcpy(t->b + t->len, p, n);
    t->len += n;
}

/* Reads what the child wrote into `out_fd` once, into the tail and (a hook run) its whole
 * output; at its end or on an error the pipe is closed and *out_fd becomes -1. Whether bytes
 * were read. */
static bool read_output(int *out_fd, tail_buf *out, hook_buf *hook)
{
    char buf[4096];
    ssize_t n = read(*out_fd, buf, sizeof buf);

    if (n > 0) {
        tail_add(out, buf, (size_t)n);
        hook_add(hook, buf, (size_t)n);
        return true;
    }
    if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
        close(*out_fd);
        *out_fd = -1;
    }
    return false;
}

/* Whether a variable of the server's environment is the server's alone: its own JOBS_ ones
 * (none may shadow the run's), and PGPASSWORD, its PostgreSQL store's password (where
 * docs/http-api.md advises keeping it), which no child of any owner's stack is to get. */
static bool servers_own(const char *var)
{
    return strncmp(var, "JOBS_", 5) == 0 || strncmp(var, "PGPASSWORD=", 11) == 0;
}

/* The environment of a run's child: the run's variables first, then the server's own. */
static char **child_env(const item *it, char vars[8][JOBS_NAME_MAX + 32])
{
    size_t n = 0, k = 0;
    char **env;

    while (environ && environ[n])
        n++;
    if (!(env = calloc(n + 9, sizeof *env)))
        return NULL;
    snprintf(vars[0], sizeof vars[0], "JOBS_RUN_ID=%" PRIu64, it->run);
    snprintf(vars[1], sizeof vars[1], "JOBS_JOB_ID=%" PRIu64, it->job);
    snprintf(vars[2], sizeof vars[2], "JOBS_JOB_NAME=%s", it->name);
    snprintf(vars[3], sizeof vars[3], "JOBS_STACK_ID=%" PRIu64, it->stack);
    snprintf(vars[4], sizeof vars[4], "JOBS_OWNER=%" PRIu64, it->owner);
    snprintf(vars[5], sizeof vars[5], "JOBS_SLOT=%" PRId64, it->slot);
    snprintf(vars[6], sizeof vars[6], "JOBS_TRIGGER=%s", jobs_run_trigger_name(it->trigger));
    snprintf(vars[7], sizeof vars[7], "JOBS_ATTEMPT=%" PRIu32, it->attempt);
    for (size_t i = 0; i < 8; i++)
        env[k++] = vars[i];
    for (size_t i = 0; i < n; i++)
        if (!servers_own(environ[i]))
            env[k++] = environ[i];
    env[k] = NULL;
    return env;
}

static pid_t spawn(const srv_runner *r, const item *it, int *in_fd, int *out_fd)
{
    char vars[8][JOBS_NAME_MAX + 32];
    char *argv[] = {r->command, NULL};
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    sigset_t none, deflt;
    int in[2] = {-1, -1}, out[2] = {-1, -1};
    char **env = child_env(it, vars);
    pid_t pid = -1;
    int rc;

    if (!env || pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0) {
        rc = errno ? errno : ENOMEM;
        goto out;
    }
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in[0], 0);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    posix_spawn_file_actions_adddup2(&fa, out[1], 2);
    posix_spawn_file_actions_addclosefrom_np(&fa, 3);
    posix_spawnattr_init(&at);
    /* The server blocks SIGINT and SIGTERM for sigwait() and ignores SIGPIPE, and may have
     * been started with more ignored (SIGHUP under nohup, SIGINT and SIGQUIT as a shell's
     * background job), which exec would hand on: the child gets no signal blocked and every
     * one at its default, and a process group of its own, so that a timeout ends what it
     * started too. */
    sigemptyset(&none);
    sigfillset(&deflt);
    posix_spawnattr_setsigmask(&at, &none);
    posix_spawnattr_setsigdefault(&at, &deflt);
    posix_spawnattr_setpgroup(&at, 0);
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF |
                                      POSIX_SPAWN_SETPGROUP);
    rc = posix_spawn(&pid, r->command, &fa, &at, argv, env);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    if (rc != 0)
        pid = -1;
out:
    free(env);
    if (in[0] >= 0)
        close(in[0]);
    if (out[1] >= 0)
        close(out[1]);
    if (pid < 0) {
        if (in[1] >= 0)
            close(in[1]);
        if (out[0] >= 0)
            close(out[0]);
        errno = rc;
        return -1;
    }
    *in_fd = in[1];
    *out_fd = out[0];
    return pid;
}

/* After jobs_run_finish*() of a run's end (`rc`): counted in /metrics once the store has it,
 * else said on stderr. */
static void counted(srv_runner *r, int rc, uint64_t run, bool ok, const char *msg)
{
    if (rc != 0)
        fprintf(stderr, "jobs-server: run %" PRIu64 " ended (%s) but was not recorded: %s\n",
                run, msg, jobs_error_last());
    else
        srv_metrics_run_finished(r->metrics, ok ? JOBS_RUN_SUCCEEDED : JOBS_RUN_FAILED);
}

/* Records a run's end, with the output kept (NULL, 0 for none), and counts it in /metrics once
 * the store has it; an end the store refuses (someone else finished the run first, the store
 * fails) is said on stderr and not counted. While the database is unreachable the end is tried
 * again every second, until it is back or the runner stops: given up at once, an at-most-once
 * run stayed delivered for ever, its outcome lost. */
static void record_end(srv_runner *r, const item *it, bool ok, const char *msg,
                       const char *output, size_t len)
{
    bool told = false;
    int rc;

    while ((rc = jobs_run_finish_output(r->store, it->owner, it->run, ok, msg, output, len)) ==
               JOBS_EUNAVAILABLE &&
           !stopping_now(r)) {
        if (!told)
            fprintf(stderr, "jobs-server: run %" PRIu64 " ended (%s) while the database is "
                    "unreachable: it is recorded once the database is back\n", it->run, msg);
        told = true;
        sleep(1);
    }
    counted(r, rc, it->run, ok, msg);
}

/* Whether the child has ended (not reaped yet), or was reaped behind our back. */
static bool child_ended(pid_t pid)
{
    siginfo_t si;

    memset(&si, 0, sizeof si);
    return waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) != 0 || si.si_pid == pid;
}

/* Sends `sig` to the child's process group and to the child itself: a child that moved itself
 * to another group (setpgid) is out of its group's reach, and was never ended. Its pid stays its
 * own until it is reaped, which only follows this. */
static void kill_child(pid_t pid, int sig)
{
    kill(-pid, sig);
    kill(pid, sig);
}

/* Runs one run's child to its end and records its outcome (a stop's: see below). */
static void run_one(srv_runner *r, const item *it)
{
    static const char input[] = "[]\n";
    char msg[JOBS_RUN_MESSAGE_MAX + 1];
    tail_buf *out = calloc(1, sizeof *out);
    int in_fd = -1, out_fd = -1, status = 0;
    int64_t deadline = srv_monotonic_ms() + (int64_t)r->timeout_s * 1000, killed_at = 0;
    bool timed_out = false, exited = false, stopped = false, group_killed = false;
    bool status_lost = false;
    bool is_hook = false;
    hook_buf hook = {NULL, 0, false};
    char *hook_in = NULL;
    size_t hook_in_len = 0;
    jobs_stack_detail *st = NULL;
    pid_t pid;

    if (!out)
        return;
    /* A run without a job that a request waits for (a webhook's, or exec's: hook.h) takes
     * its input from the request and reports its end to it; is_hook says so from here on. */
    if (it->job == 0 && r->hooks)
        is_hook = srv_hooks_take_input(r->hooks, it->run, &hook_in, &hook_in_len);
    /* A webhook's run reads the request that made it; without it (the request gave up, or
     * the server restarted since) there is nothing to run it with. */
    if (it->trigger == JOBS_TRIGGER_HOOK && it->job == 0 && !is_hook) {
        record_end(r, it, false,
                   "not run: no webhook request waits for it any more (it gave up, or the "
                   "server restarted)",
                   NULL, 0);
        free(out);
        return;
    }
    /* Any other run reads its stack's blocks, or does not run: run with no blocks instead, it
     * would do nothing and succeed. The blocks are read by the stack's id alone, whoever may
     * see it now: a job keeps its stack when its owner makes it private (jobs_stack_update()),
     * so the run of another owner's job on it runs it as before. What is left to fail is the
     * store. */
    if (!hook_in && jobs_stack_get_webhook(&st, r->store, it->stack) != 0) {
        snprintf(msg, sizeof msg, "not run: its stack's blocks cannot be read (%s)",
                 jobs_error_last());
        st = NULL;
        pid = -1;
    } else if ((pid = spawn(r, it, &in_fd, &out_fd)) < 0) {
        int err = errno;

        /* ENOENT for a command that is there: what exec loads first is missing (a script's
         * #! interpreter, a program's ELF loader), which "No such file" alone hides. */
        if (err == ENOENT && access(r->command, F_OK) == 0)
            snprintf(msg, sizeof msg, "cannot start %s: its interpreter (the #! line) or "
                     "loader is missing", r->command);
        else
            snprintf(msg, sizeof msg, "cannot start %s: %s", r->command, strerror(err));
    }
    if (pid < 0) {
        record_end(r, it, false, msg, NULL, 0);
        if (is_hook)
            srv_hooks_done(r->hooks, it->run, false, msg, NULL, 0, false);
        jobs_stack_detail_free(st);
        free(hook_in);
        free(out);
        return;
    }
    srv_metrics_run_running(r->metrics, +1);
    /* The run's input: its stack's blocks (the JSON array its owner sent), or an empty array
     * for a stack without blocks; a hook's request. While the child does not take it (the
     * write is non-blocking), its output is read meanwhile: a child that writes more than a
     * pipe holds before it reads would otherwise block on its output while we wait for it to
     * read (a hook's input is not bounded by one pipe). A child that never reads it blocks us
     * only until it exits, its timeout or a stop (then ended below). */
    {
        const char *in = input;
        size_t in_len = sizeof input - 1, done = 0;

        if (hook_in) {
            in = hook_in;
            in_len = hook_in_len;
        } else if (st->blocks && st->blocks_len) {
            in = st->blocks;
            in_len = st->blocks_len;
        }
        fcntl(in_fd, F_SETFL, O_NONBLOCK);
        while (done < in_len && srv_monotonic_ms() < deadline && !stopping_now(r)) {
            ssize_t n = write(in_fd, in + done, in_len - done);
            if (n > 0)
                done += (size_t)n;
            else if (n < 0 && errno == EAGAIN) {
                struct pollfd p[2] = {{in_fd, POLLOUT, 0}, {out_fd, POLLIN, 0}};

                /* A child that ended needs no more of it, though a process it started may
                 * hold its input open unread: the run ends with the child, not its timeout. */
                if (child_ended(pid))
                    break;
                if (poll(p, out_fd >= 0 ? 2 : 1, 10) > 0 && out_fd >= 0 && p[1].revents)
                    read_output(&out_fd, out, is_hook ? &hook : NULL);
            } else {
                break; /* the child closed its input: it need not read it */
            }
        }
        jobs_stack_detail_free(st);
        free(hook_in);
    }
    close(in_fd);
    /* The child is reaped only once it has ended and, when it was killed, once the KILL has
     * gone to its process group too: until then its pid stays its group's id, so that the KILL
     * still reaches what it started (a grandchild that ignores TERM) when the child itself
     * ended at the TERM. Whether it has ended is asked before a timeout or a stop kills it: a
     * child that ended by itself keeps its own outcome, a stop notwithstanding. */
    while (!exited) {
        struct pollfd pfd = {out_fd, POLLIN, 0};
        int64_t now;
        siginfo_t si;

        memset(&si, 0, sizeof si);
        if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) != 0) {
            exited = status_lost = errno == ECHILD; /* reaped behind our back: no status */
        } else if (si.si_pid == pid && (!killed_at || group_killed)) {
            while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
            exited = true;
        }
        if (exited)
            break;
        now = srv_monotonic_ms();
        if (!killed_at && (now >= deadline || stopping_now(r))) {
            /* what ends it is what it is recorded as: a timeout that a stop follows during
             * the grace is still its timeout */
            timed_out = now >= deadline;
            stopped = !timed_out;
            kill_child(pid, SIGTERM);
            killed_at = now;
        } else if (killed_at && now >= killed_at + KILL_GRACE_MS) {
            kill_child(pid, SIGKILL);
            group_killed = true;
        }
        if (out_fd >= 0 && poll(&pfd, 1, 50) > 0) {
            read_output(&out_fd, out, is_hook ? &hook : NULL);
        } else if (out_fd < 0) {
            usleep(20000);
        }
    }
    /* What the child left in the pipe, read without waiting for its end of file: that comes
     * when every holder of the pipe has ended, and what the child left running (out of its
     * group's reach after setsid) may hold it for ever. The read stops at the first moment the
     * pipe is empty: neither the timeout nor the cap on what is kept stops it, and a process
     * that wrote faster than this thread reads could put that moment off (none did when tried:
     * docs/runs.md). Such a process's next write gets SIGPIPE, the pipe being closed. */
    if (out_fd >= 0) {
        fcntl(out_fd, F_SETFL, O_NONBLOCK);
        while (read_output(&out_fd, out, is_hook ? &hook : NULL))
            ;
        if (out_fd >= 0)
            close(out_fd);
    }
    srv_metrics_run_running(r->metrics, -1);
    /* Killed by the stop: an at-most-once run ends failed, as one still queued does (left
     * delivered, its history would never say what became of it); an at-least-once one is left
     * running, to be delivered again when its lease ends. */
    if (stopped) {
        static const char why[] = "killed: the server stopped while it ran";

        if (it->delivery == JOBS_DELIVERY_AT_MOST_ONCE)
            record_end(r, it, false, why, out->b, out->len);
        if (is_hook)
            srv_hooks_done(r->hooks, it->run, false, "the server is stopping", NULL, 0, false);
        free(hook.b);
        free(out);
        return;
    }
    bool ok = !timed_out && !status_lost && WIFEXITED(status) && WEXITSTATUS(status) == 0;
    if (timed_out)
        snprintf(msg, sizeof msg, "timed out after %u s: killed", r->timeout_s);
    else if (status_lost)
        snprintf(msg, sizeof msg, "ended, but its exit status was lost");
    else if (WIFEXITED(status))
        snprintf(msg, sizeof msg, "exit status %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        snprintf(msg, sizeof msg, "killed by signal %d", WTERMSIG(status));
    else
        snprintf(msg, sizeof msg, "ended");
    record_end(r, it, ok, msg, out->b, out->len);
    /* The webhook answers once the run's end is recorded: its history already shows it. */
    if (is_hook) {
        /* A failed run's answer is the end of its output: the tail when it was too long. */
        if (!ok && hook.too_long)
            srv_hooks_done(r->hooks, it->run, ok, msg, out->b, out->len, true);
        else
            srv_hooks_done(r->hooks, it->run, ok, msg, hook.b, hook.len, hook.too_long);
    }
    free(hook.b);
    free(out);
}

/* Takes the first queue of the ring (r->last->next, whose runs are gone) out of the ring and
 * frees it; r->mu held, or no worker left. */
static void drop_first_owner(srv_runner *r)
{
    owner_queue *q = r->last->next;

    if (q == r->last)
        r->last = NULL;
    else
        r->last->next = q->next;
    r->owners--;
    free(q);
}

/* Whether an at-least-once run's lease ended while it waited in the queue: the next tick
 * delivers it again (attempt + 1), or already has and queued that copy too, so starting this one
 * would run it twice at once. Its lease ends at `lease_until` (ended for a `now` equal to it, as
 * for a tick). */
static bool lease_ended(const srv_runner *r, const item *it)
{
    int64_t now = r->clock ? r->clock(r->clock_ctx) : (int64_t)time(NULL);

    return it->delivery == JOBS_DELIVERY_AT_LEAST_ONCE && now >= it->lease_until;
}

static void *worker(void *arg)
{
    srv_runner *r = arg;

    pthread_mutex_lock(&r->mu);
    for (;;) {
        item *it;

        owner_queue *q;

        while (!r->stop && !r->last)
            pthread_cond_wait(&r->cv, &r->mu);
        if (r->stop)
            break;
        /* One run of the next owner in turn: an owner with many queued runs delays each other
         * owner's next run by at most one of its own. */
        q = r->last->next;
        it = q->head;
        if (!(q->head = it->next))
            q->tail = &q->head;
        q->n--;
        r->queued--;
        if (q->n == 0)
            drop_first_owner(r);
        else
            r->last = q;
        pthread_mutex_unlock(&r->mu);
        if (lease_ended(r, it))
            fprintf(stderr, "jobs-server: run %" PRIu64 " (attempt %" PRIu32 ") not started: "
                    "its lease ended while it waited for a free worker; it is delivered again\n",
                    it->run, it->attempt);
        else
            run_one(r, it);
        free(it);
        pthread_mutex_lock(&r->mu);
    }
    pthread_mutex_unlock(&r->mu);
    return NULL;
}

srv_runner *srv_runner_new(jobs_store *store, srv_metrics *metrics, const char *command,
                           unsigned timeout_s, unsigned max_running)
{
    srv_runner *r = calloc(1, sizeof *r);

    if (!r)
        return NULL;
    /* A child's exit status is read with waitpid(): with SIGCHLD ignored (or SA_NOCLDWAIT),
     * which a parent may leave to jobs-server across exec, the kernel reaps children itself and
     * no status is left. */
    {
        struct sigaction sa;

        if (sigaction(SIGCHLD, NULL, &sa) == 0 &&
            (sa.sa_handler == SIG_IGN || (sa.sa_flags & SA_NOCLDWAIT))) {
            memset(&sa, 0, sizeof sa);
            sa.sa_handler = SIG_DFL;
            sigemptyset(&sa.sa_mask);
            sigaction(SIGCHLD, &sa, NULL);
        }
    }
    r->store = store;
    r->metrics = metrics;
    r->timeout_s = timeout_s;
    r->n = max_running;
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cv, NULL);
    if (!(r->command = strdup(command)) || !(r->threads = calloc(max_running, sizeof *r->threads))) {
        srv_runner_free(r);
        return NULL;
    }
    for (; r->started < max_running; r->started++)
        if (pthread_create(&r->threads[r->started], NULL, worker, r) != 0) {
            srv_runner_free(r);
            return NULL;
        }
    return r;
}

void srv_runner_set_clock(srv_runner *r, jobs_clock_fn clock, void *ctx)
{
    r->clock = clock;
    r->clock_ctx = ctx;
}

void srv_runner_set_hooks(srv_runner *r, srv_hooks *hooks)
{
    r->hooks = hooks;
}

/* The queue of `owner` in the ring (r->mu held), or NULL. A linear walk: the ring holds at most
 * SRV_RUNNER_QUEUE_MAX owners, and only those with queued runs. */
static owner_queue *find_owner(srv_runner *r, uint64_t owner)
{
    owner_queue *q = r->last;

    for (size_t i = 0; q && i < r->owners; i++, q = q->next)
        if (q->owner == owner)
            return q;
    return NULL;
}

/* A run srv_runner_submit() does not take is not started. An at-most-once one ends failed with
 * `why`, so that its history does not say `delivered` (which means run), and is counted in
 * /metrics as any run's end once the store has it; its end is tried once, as the caller (the
 * tick, a request's thread) is not to wait for the database. A hook run's waiter is told. An
 * at-least-once run comes again when its lease ends. */
static bool refuse(srv_runner *r, const jobs_event *ev, const char *why)
{
    fprintf(stderr, "jobs-server: run %" PRIu64 " %s\n", ev->run, why);
    if (ev->delivery == JOBS_DELIVERY_AT_MOST_ONCE)
        counted(r, jobs_run_finish(r->store, ev->owner, ev->run, false, why), ev->run, false,
                why);
    if (ev->job == 0 && r->hooks)
        srv_hooks_done(r->hooks, ev->run, false, why, NULL, 0, false);
    return false;
}

bool srv_runner_submit(srv_runner *r, const jobs_event *ev)
{
    static const char full[] = "not started: the runner's queue is full";
    owner_queue *q;
    item *it;

    pthread_mutex_lock(&r->mu);
    if (r->stop) {
        pthread_mutex_unlock(&r->mu);
        return refuse(r, ev, "not started: the server stopped");
    }
    q = find_owner(r, ev->owner);
    if (r->queued >= SRV_RUNNER_QUEUE_MAX || (q && q->n >= SRV_RUNNER_OWNER_MAX) ||
        !(it = calloc(1, sizeof *it))) {
        pthread_mutex_unlock(&r->mu);
        return refuse(r, ev, full);
    }
    if (!q) { /* a new owner joins the ring, served after the owners already in it */
        if (!(q = calloc(1, sizeof *q))) {
            free(it);
            pthread_mutex_unlock(&r->mu);
            return refuse(r, ev, full);
        }
        q->owner = ev->owner;
        q->tail = &q->head;
        if (r->last) {
            q->next = r->last->next;
            r->last->next = q;
        } else {
            q->next = q;
        }
        r->last = q;
        r->owners++;
    }
    it->run = ev->run;
    it->job = ev->job;
    it->owner = ev->owner;
    it->stack = ev->stack;
    it->slot = ev->slot;
    it->trigger = ev->trigger;
    it->delivery = ev->delivery;
    it->attempt = ev->attempt;
    it->lease_until = ev->lease_until;
    snprintf(it->name, sizeof it->name, "%s", ev->name ? ev->name : "");
    *q->tail = it;
    q->tail = &it->next;
    q->n++;
    r->queued++;
    pthread_cond_signal(&r->cv);
    pthread_mutex_unlock(&r->mu);
    return true;
}

/* A run still queued when the runner stops is not started. An at-most-once one ends failed, as
 * one the full queue refused does: left delivered, its history would say it ran. An at-least-once
 * one is left running, to come again when its lease ends. */
static void not_started(srv_runner *r, const item *it)
{
    static const char why[] = "not started: the server stopped";

    if (it->delivery != JOBS_DELIVERY_AT_MOST_ONCE)
        return;
    record_end(r, it, false, why, NULL, 0);
    if (it->job == 0 && r->hooks)
        srv_hooks_done(r->hooks, it->run, false, why, NULL, 0, false);
}

void srv_runner_free(srv_runner *r)
{
    if (!r)
        return;
    pthread_mutex_lock(&r->mu);
    r->stop = true;
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
    for (unsigned i = 0; i < r->started; i++)
        pthread_join(r->threads[i], NULL);
    while (r->last) {
        owner_queue *q = r->last->next;

        while (q->head) {
            item *it = q->head;
            q->head = it->next;
            not_started(r, it);
            free(it);
        }
        drop_first_owner(r);
    }
    pthread_cond_destroy(&r->cv);
    pthread_mutex_destroy(&r->mu);
    free(r->threads);
    free(r->command);
    free(r);
}
