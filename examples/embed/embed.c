/*
 * jobs-embed: a host program that embeds libjobs. The reference for embedders.
 *
 * It opens a store (default ./var/store, the store of `jobs-server --data ./var`), makes sure it holds a stack "hello", a private schedule
 * running every 60 seconds and an enabled job "hello-every-minute" (created on the first start,
 * found on later ones), then runs the scheduler: it sleeps until the earliest next run and ticks,
 * printing one line per event. SIGINT or SIGTERM stop it cleanly.
 *
 *   jobs-embed [--once] [--help] [PATH]
 *
 * --once ticks once and exits (for tests).
 */
#define _POSIX_C_SOURCE 200809L

#include <jobs.h>

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

/* This host acts for a single user. */
#define EMBED_OWNER ((uint64_t)1)
#define EMBED_STACK "hello"
#define EMBED_SCHEDULE "every-60s"
#define EMBED_PERIOD 60
#define EMBED_JOB "hello-every-minute"
/* With no active job there is no next run; look again after this many seconds. */
#define EMBED_IDLE_WAIT 60
/* The longest sleep between two looks at the store. Another process (jobs-server, jobsctl) may add
 * a job due sooner than the one this loop waits for; it is seen within this many seconds. */
#define EMBED_WAKE_CAP 5

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

/* No SA_RESTART: a signal interrupts nanosleep(), so the loop notices it at once. */
static int install_signal_handlers(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGINT, &sa, NULL) != 0 || sigaction(SIGTERM, &sa, NULL) != 0) {
        perror("jobs-embed: sigaction");
        return -1;
    }
    return 0;
}

/* Prints a failed libjobs call: the fixed message, then this failure's detail if there is one. */
static void report(const char *what, int rc)
{
    const char *detail = jobs_error_last();
    if (detail[0] != '\0')
        fprintf(stderr, "jobs-embed: %s: %s (%s)\n", what, jobs_strerror(rc), detail);
    else
        fprintf(stderr, "jobs-embed: %s: %s\n", what, jobs_strerror(rc));
}

static void format_time(char *buf, size_t size, int64_t t)
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (gmtime_r(&tt, &tm) == NULL || strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(buf, size, "%" PRId64, t);
}

/* Finds the owner's own stack called `name` with one indexed lookup. By name, the library
 * answers the owner's own stack first, else a public one of another owner: only ours counts. */
static int find_stack(uint64_t *id, jobs_store *store, const char *name)
{
    jobs_stack *s = NULL;
    int rc = jobs_stack_get_by_name(&s, store, EMBED_OWNER, name);

    if (rc == 0 && s->owner != EMBED_OWNER)
        rc = JOBS_ENOTFOUND;
    if (rc == 0)
        *id = s->id;
    jobs_stack_free(s);
    return rc;
}

/* Whether `s` is this host's schedule: the owner's own, periodic, with this name and period. */
static int schedule_fits(const jobs_schedule *s, const char *name, int64_t period)
{
    return s->owner == EMBED_OWNER && s->kind == JOBS_SCHEDULE_PERIODIC && s->period == period &&
           s->name != NULL && strcmp(s->name, name) == 0;
}

/* Finds the owner's own periodic schedule called `name` with the given period. Schedule names
 * need not be unique, and the lookup by name answers only the owner's own schedule of that name
 * with the lowest id (else a public one). When that one is not ours (the user made a schedule of
 * this name, in the console or with jobsctl), the owner's schedules are read page by page: else
 * each start would make one more. */
static int find_schedule(uint64_t *id, jobs_store *store, const char *name, int64_t period)
{
    jobs_schedule *s = NULL;
    int rc = jobs_schedule_get_by_name(&s, store, EMBED_OWNER, name);
    int fits = rc == 0 && schedule_fits(s, name, period);

    if (fits)
        *id = s->id;
    jobs_schedule_free(s);
    if (rc != 0 || fits)
        return rc;
    for (uint64_t page = 1;; page++) {
        jobs_schedule_page *p = NULL;
        rc = jobs_schedule_list(&p, store, EMBED_OWNER, page, 1000);
        if (rc != 0)
            return rc;
        for (size_t i = 0; i < p->n && !fits; i++) {
            if (schedule_fits(&p->schedules[i], name, period)) {
                *id = p->schedules[i].id;
                fits = 1;
            }
        }
        int last = p->n == 0 || page * p->page_size >= p->count;
        jobs_schedule_page_free(p);
        if (fits)
            return 0;
        if (last)
            return JOBS_ENOTFOUND;
    }
}

static int ensure_stack(uint64_t *id, jobs_store *store)
{
    int rc = find_stack(id, store, EMBED_STACK);
    if (rc == 0) {
        printf("stack    %-20s id %" PRIu64 " (found)\n", EMBED_STACK, *id);
        return 0;
    }
    if (rc != JOBS_ENOTFOUND) {
        report("looking the stack up by name", rc);
        return rc;
    }
    rc = jobs_stack_create(id, store, EMBED_OWNER, EMBED_STACK, false);
    if (rc != 0) {
        report("creating stack '" EMBED_STACK "'", rc);
        return rc;
    }
    printf("stack    %-20s id %" PRIu64 " (created)\n", EMBED_STACK, *id);
    return 0;
}

static int ensure_schedule(uint64_t *id, jobs_store *store)
{
    int rc = find_schedule(id, store, EMBED_SCHEDULE, EMBED_PERIOD);
    if (rc == 0) {
        printf("schedule %-20s id %" PRIu64 " (found)\n", EMBED_SCHEDULE, *id);
        return 0;
    }
    if (rc != JOBS_ENOTFOUND) {
        report("looking the schedule up by name", rc);
        return rc;
    }
    jobs_schedule_spec spec = JOBS_SCHEDULE_SPEC_INIT;
    spec.fields = JOBS_SCHEDULE_NAME | JOBS_SCHEDULE_ONCE | JOBS_SCHEDULE_CONFIG;
    spec.name = EMBED_SCHEDULE;
    spec.once = false;
    spec.period = EMBED_PERIOD;
    rc = jobs_schedule_create(id, store, EMBED_OWNER, &spec);
    if (rc != 0) {
        report("creating schedule '" EMBED_SCHEDULE "'", rc);
        return rc;
    }
    printf("schedule %-20s id %" PRIu64 " (created)\n", EMBED_SCHEDULE, *id);
    return 0;
}

/* Finds the job by name, or creates it; either way leaves it enabled. */
static int ensure_job(uint64_t *id, jobs_store *store, uint64_t stack, uint64_t schedule)
{
    jobs_job *job = NULL;
    const char *how = "found";
    int rc = jobs_get_by_name(&job, store, EMBED_OWNER, EMBED_JOB);
    if (rc == JOBS_ENOTFOUND) {
        jobs_job_spec spec = JOBS_JOB_SPEC_INIT;
        spec.fields = JOBS_JOB_NAME | JOBS_JOB_STACK | JOBS_JOB_SCHEDULE | JOBS_JOB_ENABLED;
        spec.name = EMBED_JOB;
        spec.stack = stack;
        spec.schedule = schedule;
        spec.enabled = true;
        rc = jobs_create(id, store, EMBED_OWNER, &spec);
        if (rc != 0) {
            report("creating job '" EMBED_JOB "'", rc);
            return rc;
        }
        how = "created";
        rc = jobs_get(&job, store, EMBED_OWNER, *id);
    }
    if (rc != 0) {
        report("reading job '" EMBED_JOB "'", rc);
        return rc;
    }
    *id = job->id;
    if (!job->do_run) {
        /* Someone disabled it since the last start: this host wants it running. */
        jobs_job_spec changes = JOBS_JOB_SPEC_INIT;
        changes.fields = JOBS_JOB_ENABLED;
        changes.enabled = true;
        jobs_job_free(job);
        job = NULL;
        rc = jobs_update(&job, store, EMBED_OWNER, *id, &changes);
        if (rc != 0) {
            report("enabling job '" EMBED_JOB "'", rc);
            return rc;
        }
        how = "found, enabled";
    }
    char when[32];
    format_time(when, sizeof when, job->next_run);
    printf("job      %-20s id %" PRIu64 " (%s), next run %s\n", EMBED_JOB, *id, how, when);
    jobs_job_free(job);
    return 0;
}

struct tick_ctx {
    jobs_store *store;
};

/* Called after the tick's commit, with no transaction held: libjobs calls are allowed here. */
static int on_event(const jobs_event *ev, void *ctx_)
{
    struct tick_ctx *ctx = ctx_;
    char when[32];
    format_time(when, sizeof when, ev->slot);

    jobs_stack *stack = NULL;
    const char *stack_name = "?";
    if (jobs_stack_get(&stack, ctx->store, ev->owner, ev->stack) == 0)
        stack_name = stack->name;

    printf("%s %-7s job %" PRIu64 " '%s' stack %" PRIu64 " '%s'\n", when,
           ev->type == JOBS_EVENT_RUN ? "run" : "deleted", ev->job,
           ev->name != NULL ? ev->name : "", ev->stack, stack_name);
    fflush(stdout);
    /* A real host would start the stack here (or hand it to a worker) and return quickly. */
    jobs_stack_free(stack);
    return 0;
}

static int tick(jobs_store *store)
{
    struct tick_ctx ctx = {store};
    size_t n = 0;
    int rc = jobs_scheduler_tick(&n, store, (int64_t)time(NULL), 0, on_event, &ctx);
    if (rc != 0)
        report("scheduler tick", rc);
    return rc;
}

/* Sleeps until `until` (Unix seconds), one second at most at a time, or until a signal. */
static void sleep_until(int64_t until)
{
    while (!stop_requested) {
        int64_t now = (int64_t)time(NULL);
        if (now >= until)
            return;
        struct timespec ts = {1, 0};
        nanosleep(&ts, NULL); /* EINTR is fine: the loop checks stop_requested */
    }
}

static int run_scheduler(jobs_store *store)
{
    printf("scheduler running; Ctrl-C to stop\n");
    fflush(stdout);
    while (!stop_requested) {
        int64_t next = 0;
        int rc = jobs_scheduler_next_run(&next, store);
        if (rc == JOBS_ENOTFOUND) {
            next = (int64_t)time(NULL) + EMBED_IDLE_WAIT;
        } else if (rc != 0) {
            report("reading the next run", rc);
            return rc;
        }
        /* Not due yet: sleep, but at most EMBED_WAKE_CAP seconds, then look again, so that a
         * sooner job added meanwhile by another process is not missed. */
        int64_t now = (int64_t)time(NULL);
        if (next > now) {
            sleep_until(next - now > EMBED_WAKE_CAP ? now + EMBED_WAKE_CAP : next);
            continue;
        }
        rc = tick(store);
        if (rc != 0)
            return rc;
    }
    printf("stopping\n");
    return 0;
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: jobs-embed [--once] [--help] [PATH]\n"
            "\n"
            "Opens the libjobs store in PATH (default: var/store, that of jobs-server --data var),\n"
            "creates or finds the stack '%s', a private %d-second schedule and the job\n"
            "'%s', then runs the scheduler, printing each event, until SIGINT or SIGTERM.\n"
            "\n"
            "  --once   tick once and exit\n"
            "  --help   show this help\n",
            EMBED_STACK, EMBED_PERIOD, EMBED_JOB);
}

int main(int argc, char **argv)
{
    const char *path = "var/store";
    int once = 0;
    int have_path = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--once") == 0) {
            once = 1;
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (argv[i][0] == '-' || have_path) {
            fprintf(stderr, "jobs-embed: unexpected argument '%s'\n", argv[i]);
            usage(stderr);
            return 2;
        } else {
            path = argv[i];
            have_path = 1;
        }
    }

    if (jobs_version() != JOBS_VERSION_NUMBER) {
        fprintf(stderr, "jobs-embed: built for libjobs %s but running with %s\n",
                JOBS_VERSION_STRING, jobs_version_string());
        return 1;
    }
    if (install_signal_handlers() != 0)
        return 1;

    /* The library creates the store's directory, not its parents: make ./var of the default
     * ./var/store (mode 0700, as jobs-server makes its data directory). */
    if (strcmp(path, "var/store") == 0 && mkdir("var", 0700) != 0 && errno != EEXIST) {
        fprintf(stderr, "jobs-embed: cannot create 'var': %s\n", strerror(errno));
        return 1;
    }
    jobs_store_options opts = JOBS_STORE_OPTIONS_INIT;
    opts.path = path;
    jobs_store *store = NULL;
    int rc = jobs_store_open(&store, &opts);
    if (rc != 0) {
        fprintf(stderr, "jobs-embed: opening store '%s': %s (%s)\n", path, jobs_strerror(rc),
                jobs_error_last());
        return 1;
    }
    printf("libjobs %s, store %s\n", jobs_version_string(), path);

    uint64_t stack = 0, schedule = 0, job = 0;
    rc = ensure_stack(&stack, store);
    if (rc == 0)
        rc = ensure_schedule(&schedule, store);
    if (rc == 0)
        rc = ensure_job(&job, store, stack, schedule);
    if (rc == 0) {
        jobs_store_stat_info st = JOBS_STORE_STAT_INFO_INIT;
        rc = jobs_store_stat(&st, store);
        if (rc == 0)
            printf("store holds %" PRIu64 " stacks, %" PRIu64 " schedules, %" PRIu64 " jobs\n",
                   st.stacks, st.schedules, st.jobs);
        else
            report("reading store counts", rc);
    }
    fflush(stdout);
    if (rc == 0)
        rc = once ? tick(store) : run_scheduler(store);

    jobs_store_close(store);
    return rc == 0 ? 0 : 1;
}
