/* jobs-server: the options, the store and the users, then the HTTP server (server.c) and the
 * scheduler thread (scheduler_thread.c) until SIGINT or SIGTERM. The subcommands are in cli.c,
 * the settings in config.c, the HTTP API in handler.c. */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <civetweb.h>
#include <sodium.h>

#include "accesslog.h"
#include "cli.h"
#include "config.h"
#include "handler.h"
#include "scheduler_thread.h"
#include "server.h"
#include "tls.h"

int main(int argc, char **argv)
{
    srv_options o;
    srv_app app;
    jobs_store_options so = JOBS_STORE_OPTIONS_INIT;
    char store_path[PATH_MAX];
    struct mg_context *ctx = NULL;
    srv_ticker t;
    _Atomic int64_t heartbeat;
    sigset_t sigs;
    int sig, rc, exit_code = 1;

    /* Validates every argument first: an unknown or malformed one is a usage error. */
    if (sodium_init() < 0) {
        fprintf(stderr, "jobs-server: libsodium failed to initialise\n");
        return 1;
    }
    if (argc >= 3 && strcmp(argv[1], "user") == 0 && strcmp(argv[2], "add") == 0)
        return srv_cmd_user_add(argc - 3, argv + 3);
    if (argc >= 2 && strcmp(argv[1], "check") == 0)
        return srv_cmd_check(argc - 2, argv + 2);
    if ((rc = srv_options_parse(&o, argc, argv)) != 0)
        return rc;
    if (o.check_config) {
        srv_options_print(&o);
        return 0;
    }

    /* TLS is checked before anything is created in the data directory. */
    if (o.tls_cert && !mg_check_feature(MG_FEATURES_TLS)) {
        fprintf(stderr, "jobs-server: this civetweb has no TLS support\n");
        return 1;
    }
    if (o.tls_cert && (!srv_tls_cert_readable(o.tls_cert) || !srv_tls_prepare()))
        return 1;
    if (srv_accesslog_open(o.access_log) != 0) {
        fprintf(stderr, "jobs-server: --access-log %s: %s\n", o.access_log, strerror(errno));
        return 1;
    }

    memset(&app, 0, sizeof app);
    app.fault_status_500 = o.fault_status_500;
    app.session_ttl = o.session_ttl;
    /* The scheduler counts as stalled when it has not gone round for three intervals (5 s at
     * least: a tick on a busy store may take a while). */
    atomic_init(&heartbeat, srv_monotonic_ms());
    app.heartbeat = &heartbeat;
    app.heartbeat_max_age_ms = 1000 * (int64_t)(3 * o.tick_interval > 5 ? 3 * o.tick_interval : 5);
    if (srv_make_dir(o.data) != 0) {
        fprintf(stderr, "jobs-server: cannot create %s: %s\n", o.data, strerror(errno));
        return 1;
    }
    if (snprintf(store_path, sizeof store_path, "%s/store", o.data) >= (int)sizeof store_path)
        return 1;
    so.path = store_path;
    if (o.no_group_commit)
        so.flags |= JOBS_STORE_NO_GROUP_COMMIT;
    if (o.max_store_mib) {
        so.max_map_size = (size_t)o.max_store_mib << 20;
        so.map_size = so.max_map_size < ((size_t)64 << 20) ? so.max_map_size : 0;
    }
    if ((rc = jobs_store_open(&app.store, &so)) != 0) {
        fprintf(stderr, "jobs-server: opening the store %s: %s (%s)\n", store_path,
                jobs_strerror(rc), jobs_error_last());
        return 1;
    }
    if (srv_users_open(&app.users, o.data) != 0 || srv_ensure_demo_user(app.users) != 0 ||
        !(app.sessions = srv_sessions_new()) || !(app.metrics = srv_metrics_new()))
        goto out;
    srv_metrics_set_tick_interval(app.metrics, o.tick_interval);

    /* Signals are taken by sigwait() below; every thread started from here inherits the mask. */
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    if (!(ctx = srv_server_start(&app, &o)))
        goto out;
    memset(&t, 0, sizeof t);
    t.store = app.store;
    t.metrics = app.metrics;
    t.heartbeat = &heartbeat;
    t.interval = o.tick_interval;
    if (srv_ticker_start(&t) != 0) {
        fprintf(stderr, "jobs-server: cannot start the scheduler thread\n");
        srv_server_stop(ctx);
        goto out;
    }

    while (sigwait(&sigs, &sig) != 0)
        ;
    fprintf(stderr, "jobs-server: %s: stopping\n", sig == SIGINT ? "SIGINT" : "SIGTERM");

    /* The listeners close and the workers finish their requests in flight, then the tick stops. */
    srv_server_stop(ctx);
    srv_ticker_stop(&t);
    exit_code = 0;
out:
    srv_accesslog_close(); /* the last batch: every request answered has its line */
    srv_metrics_free(app.metrics);
    srv_sessions_free(app.sessions);
    srv_users_close(app.users);
    jobs_store_close(app.store);
    return exit_code;
}
