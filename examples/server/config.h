/* jobs-server's settings: the options, the config file (--config) and --check-config. */
#ifndef JOBS_SERVER_CONFIG_H
#define JOBS_SERVER_CONFIG_H

#include <stdbool.h>
#include <stdio.h>

/* Upper bound of --session-ttl: one year. */
#define SRV_SESSION_TTL_MAX (366u * 86400u)

/** The settings of jobs-server: defaults, then --config FILE, then the command line. */
typedef struct srv_options {
    const char *listen;
    const char *data;
    const char *store; /* a store elsewhere than data/store: a PostgreSQL URI or conninfo */
    const char *tls_cert;
    unsigned threads;
    unsigned tick_interval;
    unsigned session_ttl;
    bool fault_status_500;
    bool no_group_commit;
    unsigned request_timeout; /* seconds a client may take to send a request (civetweb) */
    unsigned max_store_mib;   /* cap of the store's map in MiB, 0: none (JOBS_ENOSPC, 507) */
    const char *access_log; /* "-": standard error, "off": none, else a file */
    unsigned max_sessions;  /* live sessions per user, the oldest ended past it; 0: no cap */
    unsigned max_jobs;      /* quotas per user (fault 112 past them); 0: none */
    unsigned max_stacks;
    unsigned max_schedules;
    unsigned login_concurrency;   /* Argon2id checks at once; a login past them answers 503 */
    unsigned login_account_fails; /* failed logins per account per window before its lock */
    unsigned login_address_fails; /* failed logins per client address per window */
    unsigned login_lock;          /* the window and the lock, seconds */
    const char *trusted_proxy; /* --trusted-proxy ADDR[,ADDR...]: reverse proxies whose requests'
                                * client address is the last of X-Forwarded-For; NULL: none */
    const char *run_command; /* --run-command PATH: the runner (runner.c), or NULL: print */
    unsigned run_timeout;   /* seconds a run's child may take */
    unsigned max_running;   /* children at once */
    const char *config;     /* --config FILE, or NULL */
    bool check_config;      /* --check-config: print the settings and exit */
} srv_options;

/** True when the `len` bytes at `s` are an IPv4 or IPv6 address (inet_pton). */
bool srv_address_is_valid(const char *s, size_t len);

/** True when `list` is one or more addresses separated by commas (blanks around each). */
bool srv_address_list_is_valid(const char *list);

/** Prints the usage text to `f`. */
void srv_usage(FILE *f);

/** Parses decimal `s` into `*out` when it is in min..max; false otherwise. */
bool srv_parse_uint(unsigned *out, const char *s, unsigned min, unsigned max);

/** The settings in effect: the defaults, then the config file (--config), then the other
 * options, whatever their order on the command line. Returns 0, or 2 after a message. --help
 * prints the usage and exits. */
int srv_options_parse(srv_options *o, int argc, char **argv);

/** --check-config: prints the settings in effect, in the config file's format. */
void srv_options_print(const srv_options *o);

#endif
