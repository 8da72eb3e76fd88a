/* jobs-server: the options, the store and the users, then the HTTP server (server.c) and the
 * scheduler thread (scheduler_thread.c) until SIGINT or SIGTERM. The subcommands are in cli.c,
 * the settings in config.c, the HTTP API in handler.c. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <civetweb.h>
#include <sodium.h>

#include "accesslog.h"
#include "cli.h"
#include "config.h"
#include "handler.h"
#include "hook.h"
#include "runner.h"
#include "scheduler_thread.h"
#include "server.h"
#include "std_fds.h"
#include "tls.h"

/* Whether every [HOST:]PORT of a --listen value (comma-separated; its form checked by
 * srv_options_parse) can be bound now: 0, or 1 when one cannot be bound, 2 when a HOST does not
 * resolve to an address civetweb can listen on, after a message. Asked before anything is
 * created, so that a start that cannot listen (the port is in use, the address is not this
 * host's, a port below 1024 without the privilege) leaves no data directory, store or user
 * behind. */
static int listen_check(const char *listen)
{
    /* This civetweb may have no IPv6 (Debian's has none): its listeners are IPv4 then. */
    bool ipv6 = mg_check_feature(MG_FEATURES_IPV6) != 0;
    char buf[256];
    char *save = NULL;

    if (snprintf(buf, sizeof buf, "%s", listen) >= (int)sizeof buf)
        return 0;
    for (char *a = strtok_r(buf, ",", &save); a; a = strtok_r(NULL, ",", &save)) {
        char *colon = strrchr(a, ':'), *host = a, *port;
        struct addrinfo hints, *res = NULL;
        int one = 1, fd, gai, err;
        bool ok;

        if (!colon) {
            host = NULL; /* PORT alone: every address */
            port = a;
        } else {
            *colon = '\0';
            port = colon + 1;
            if (*host == '[' && colon > host && colon[-1] == ']') {
                host++;
                colon[-1] = '\0';
            }
        }
        memset(&hints, 0, sizeof hints);
        hints.ai_family = ipv6 ? AF_UNSPEC : AF_INET;
        hints.ai_socktype = SOCK_STREAM;
        hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
        if ((gai = getaddrinfo(host, port, &hints, &res)) != 0 || !res) {
            fprintf(stderr, "jobs-server: bad value for --listen: '%s': %s: %s%s; nothing was "
                    "created\n", listen, host ? host : port,
                    gai ? gai_strerror(gai) : "no address",
                    !ipv6 && host && strchr(host, ':') ? " (this civetweb has no IPv6)" : "");
            if (res)
                freeaddrinfo(res);
            return 2;
        }
        fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd >= 0)
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        ok = fd < 0 || bind(fd, res->ai_addr, res->ai_addrlen) == 0;
        err = errno;
        if (fd >= 0)
            close(fd);
        freeaddrinfo(res);
        if (!ok) {
            fprintf(stderr, "jobs-server: cannot listen on %s: %s; nothing was created\n", listen,
                    err == EADDRINUSE ? "the address is in use" : strerror(err));
            return 1;
        }
    }
    return 0;
}

/* Raises the soft limit on open files to what the options need, within the hard limit: a
 * descriptor for each connection (--threads of them at most, one worker each), two pipes for
 * each child of the runner, and a margin for the listeners, the store (LMDB's files, or the
 * PostgreSQL backend's connections), the access log and the libraries. Below it, the kernel's
 * EMFILE left new connections unaccepted in the listen queue while workers were free (civetweb
 * retries the accept without pause, spinning a core), and the shedding of keep-alive
 * connections, which counts workers, never began. A shell's or CI's `ulimit -n` may be as low
 * as 64. When the hard limit is lower than the need, says so and goes on. */
static void raise_file_limit(const srv_options *o)
{
    rlim_t need = (rlim_t)o->threads + (o->run_command ? 4 * (rlim_t)o->max_running : 0) + 64;
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY ||
        rl.rlim_cur >= need)
        return;
    rl.rlim_cur = rl.rlim_max != RLIM_INFINITY && rl.rlim_max < need ? rl.rlim_max : need;
    if (setrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur >= need)
        return;
    getrlimit(RLIMIT_NOFILE, &rl);
    fprintf(stderr, "jobs-server: the limit on open files is %llu, below the %llu that --threads "
            "%u needs: connections past it wait unanswered; raise the hard limit (ulimit -Hn, "
            "LimitNOFILE=) or lower --threads\n", (unsigned long long)rl.rlim_cur,
            (unsigned long long)need, o->threads);
}

/* Where a webhook's run goes: delivered to this process (hook.c) rather than by a tick, it is
 * counted as the tick counts its runs, then queued for the runner. */
typedef struct hook_delivery {
    srv_runner *runner;
    srv_metrics *metrics;
} hook_delivery;

static bool deliver_hook_run(void *arg, const jobs_event *ev)
{
    hook_delivery *d = arg;

    srv_metrics_event(d->metrics, ev->type);
    srv_metrics_run_delivered(d->metrics, ev->trigger, (int64_t)time(NULL) - ev->slot);
    return srv_runner_submit(d->runner, ev);
}

int main(int argc, char **argv)
{
    srv_options o;
    srv_app app;
    jobs_store_options so = JOBS_STORE_OPTIONS_INIT;
    jobs_options_lmdb lmdb = JOBS_OPTIONS_INIT_LMDB;
    char store_path[PATH_MAX];
    struct mg_context *ctx = NULL;
    srv_ticker t;
    srv_runner *runner = NULL;
    hook_delivery hooks_to;
    _Atomic int64_t heartbeat;
    sigset_t sigs;
    int sig, rc, exit_code = 1;
    int64_t tls_not_after = 0;
    bool tls_dated = false;

    /* Before anything is opened (std_fds.h): no file of the server's lands on a closed
     * standard descriptor, and a write to a closed standard output fails (EBADF) as it did,
     * so that the demo user's password is not lost unsaid (srv_ensure_demo_user). */
    hold_std_fds();
    /* Validates every argument first: an unknown or malformed one is a usage error. */
    if (sodium_init() < 0) {
        fprintf(stderr, "jobs-server: libsodium failed to initialise\n");
        return 1;
    }
    if (argc >= 3 && strcmp(argv[1], "user") == 0 && strcmp(argv[2], "add") == 0)
        return srv_cmd_user_add(argc - 3, argv + 3);
    if (argc >= 3 && strcmp(argv[1], "user") == 0 && strcmp(argv[2], "passwd") == 0)
        return srv_cmd_user_passwd(argc - 3, argv + 3);
    if (argc >= 3 && strcmp(argv[1], "user") == 0 && strcmp(argv[2], "list") == 0)
        return srv_cmd_user_list(argc - 3, argv + 3);
    if (argc >= 3 && strcmp(argv[1], "user") == 0 && strcmp(argv[2], "del") == 0)
        return srv_cmd_user_del(argc - 3, argv + 3);
    if (argc >= 2 && strcmp(argv[1], "check") == 0)
        return srv_cmd_check(argc - 2, argv + 2);
    if ((rc = srv_options_parse(&o, argc, argv)) != 0)
        return rc;
    if (o.check_config) {
        srv_options_print(&o);
        return 0;
    }

    /* So is the runner's command: it must be a program this process may run. A directory
     * passes access(X_OK), and every run then failed. */
    if (o.run_command) {
        struct stat st;

        if (access(o.run_command, X_OK) != 0 || stat(o.run_command, &st) != 0) {
            fprintf(stderr, "jobs-server: --run-command %s: %s\n", o.run_command,
                    strerror(errno));
            return 2;
        }
        if (!S_ISREG(st.st_mode)) {
            fprintf(stderr, "jobs-server: --run-command %s: not a regular file: give the "
                            "program to run\n", o.run_command);
            return 2;
        }
    }
    /* TLS is checked before anything is created in the data directory. */
    if (o.tls_cert && !mg_check_feature(MG_FEATURES_TLS)) {
        fprintf(stderr, "jobs-server: this civetweb has no TLS support\n");
        return 1;
    }
    /* The module first: the certificate's check uses the OpenSSL it loads. */
    if (o.tls_cert && (!srv_tls_prepare() || !srv_tls_cert_check(o.tls_cert)))
        return 1;
    /* Its dates: a warning only (tls.c says why); the gauge once the metrics exist. */
    tls_dated = o.tls_cert &&
                srv_tls_cert_expiry(o.tls_cert, (int64_t)time(NULL), &tls_not_after);
    if ((rc = listen_check(o.listen)) != 0)
        return rc;
    raise_file_limit(&o);
    if (srv_accesslog_open(o.access_log) != 0) {
        fprintf(stderr, "jobs-server: --access-log %s: %s\n", o.access_log,
                srv_accesslog_strerror(o.access_log, errno));
        return 1;
    }

    memset(&app, 0, sizeof app);
    app.fault_status_500 = o.fault_status_500;
    app.session_ttl = o.session_ttl;
    app.quota_jobs = o.max_jobs;
    app.quota_stacks = o.max_stacks;
    app.quota_schedules = o.max_schedules;
    /* The scheduler counts as stalled when it has not gone round for three intervals (5 s at
     * least: a tick on a busy store may take a while). */
    atomic_init(&heartbeat, srv_monotonic_ms());
    app.heartbeat = &heartbeat;
    app.heartbeat_max_age_ms = 1000 * (int64_t)(3 * o.tick_interval > 5 ? 3 * o.tick_interval : 5);
    if (srv_make_dir(o.data) != 0) {
        fprintf(stderr, "jobs-server: cannot create the data directory %.200s%s: %s\n", o.data,
                strlen(o.data) > 200 ? "..." : "", strerror(errno));
        return 1;
    }
    if (srv_check_data_dir(o.data) != 0)
        return 1;
    snprintf(store_path, sizeof store_path, "%s/store", o.data); /* fits: srv_make_dir checked */
    so.path = o.store && *o.store ? o.store : store_path;
    if (o.no_group_commit)
        so.flags |= JOBS_STORE_NO_GROUP_COMMIT;
    if (o.max_store_mib) {
        lmdb.max_map_size = (size_t)o.max_store_mib << 20;
        lmdb.map_size = lmdb.max_map_size < ((size_t)64 << 20) ? lmdb.max_map_size : 0;
    }
    so.lmdb = &lmdb;
    if ((rc = jobs_store_open(&app.store, &so)) != 0) {
        fprintf(stderr, "jobs-server: opening the store %s: %s (%s)\n", so.path,
                jobs_strerror(rc), jobs_error_last());
        return 1;
    }
    {
        srv_throttle_limits tl = {o.login_account_fails, o.login_address_fails, o.login_lock, 0};
        if (srv_users_open(&app.users, app.store, o.data) != 0 ||
            !(app.sessions = srv_sessions_new(app.store, o.max_sessions)) ||
            !(app.throttle = srv_throttle_new(&tl)) || !(app.metrics = srv_metrics_new()))
            goto out;
        srv_users_set_verify_slots(app.users, o.login_concurrency);
    }
    srv_metrics_set_tick_interval(app.metrics, o.tick_interval);
    if (tls_dated)
        srv_metrics_set_tls_certificate_expiry(app.metrics, tls_not_after);
    /* Webhooks need the runner. A waiting hook request holds a worker thread: at most a quarter
     * of them wait at once, and one waits for its run (handed to the runner at once, but it
     * may queue behind other runs), its timeout and the kill that may follow. */
    if (o.run_command &&
        !(app.hooks = srv_hooks_new(o.threads / 4, SRV_HOOK_PER_STACK,
                                    o.tick_interval + o.run_timeout + 5)))
        goto out;

    /* Signals are taken by sigwait() below; every thread started from here inherits the mask.
     * SIGHUP reopens the access log (rotation); at its default it ended the server at once,
     * without the drain and without writing the access log's last lines. */
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    /* The runner before the listeners: a webhook's run goes to it straight from the request. */
    if (o.run_command &&
        !(runner = srv_runner_new(app.store, app.metrics, o.run_command, o.run_timeout,
                                  o.max_running))) {
        fprintf(stderr, "jobs-server: cannot start the runner\n");
        goto out;
    }
    if (runner) {
        hooks_to = (hook_delivery){runner, app.metrics};
        srv_runner_set_hooks(runner, app.hooks);
        srv_hooks_set_deliver(app.hooks, deliver_hook_run, &hooks_to);
    }
    /* /healthz judges the scheduler from when the listeners open, not from before the store's
     * open (a migration, a slow database): a start slower than the heartbeat's age answered
     * 503 "stalled" until the first tick (http_ops did so under ThreadSanitizer). */
    atomic_store(&heartbeat, srv_monotonic_ms());
    if (!(ctx = srv_server_start(&app, &o)))
        goto out;
    /* srv_server_start() makes the demo user once it listens (cli.c). */
    memset(&t, 0, sizeof t);
    t.store = app.store;
    t.metrics = app.metrics;
    t.heartbeat = &heartbeat;
    t.interval = o.tick_interval;
    t.runner = runner;
    if (srv_ticker_start(&t) != 0) {
        fprintf(stderr, "jobs-server: cannot start the scheduler thread\n");
        srv_server_stop(ctx);
        goto out;
    }

    for (;;) {
        if (sigwait(&sigs, &sig) != 0)
            continue;
        if (sig != SIGHUP)
            break;
        if ((rc = srv_accesslog_reopen()) > 0)
            fprintf(stderr, "jobs-server: SIGHUP: reopened the access log %s\n",
                    srv_accesslog_path());
        else if (rc < 0)
            fprintf(stderr, "jobs-server: SIGHUP: cannot reopen the access log %s (%s): "
                    "still writing to the file it had\n", srv_accesslog_path(),
                    srv_accesslog_strerror(srv_accesslog_path(), errno));
        else
            fprintf(stderr, "jobs-server: SIGHUP: no access-log file to reopen\n");
    }
    fprintf(stderr, "jobs-server: %s: stopping\n", sig == SIGINT ? "SIGINT" : "SIGTERM");

    /* Graceful stop: requests in flight are answered (for 10 s at most) while new ones are
     * refused with 503; then the listeners close, then the tick stops and the store closes.
     * civetweb's mg_stop() alone gives up writing an answer once it is called, so a write
     * committed just before it could lose its answer (issue 11). Webhooks waiting for their
     * run stop waiting as the drain begins, so that they answer (status 1) at once and the
     * drain waits for those answers to be written: stopped after the drain, they held it for
     * its full 10 s and were cut off unanswered by mg_stop(). */
    if ((rc = srv_server_drain(10, app.hooks)) > 0)
        fprintf(stderr, "jobs-server: %d request(s) still in flight after 10 s\n", rc);
    srv_server_stop(ctx);
    srv_ticker_stop(&t);
    srv_runner_free(runner); /* after the tick: nothing submits any more */
    runner = NULL;
    srv_hooks_free(app.hooks); /* after the server and the runner: nobody waits or reports */
    app.hooks = NULL;
    exit_code = 0;
out:
    srv_runner_free(runner);
    srv_hooks_free(app.hooks);
    srv_accesslog_close(); /* the last batch: every request answered has its line */
    srv_metrics_free(app.metrics);
    srv_sessions_free(app.sessions);
    srv_throttle_free(app.throttle);
    srv_users_close(app.users);
    jobs_store_close(app.store);
    return exit_code;
}
