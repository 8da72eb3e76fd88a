/* jobs-server's settings: the options, the config file and --check-config. */
#include <arpa/inet.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>

#include "auth.h"
#include "config.h"
#include "throttle.h"
#include "users.h"

void srv_usage(FILE *f)
{
    fputs("usage: jobs-server [options]\n"
          "       jobs-server user add NAME [--email EMAIL] [--data DIR] [--store URI]\n"
          "                                      (password on stdin)\n"
          "       jobs-server user passwd NAME [--data DIR] [--store URI]   set a password (stdin)\n"
          "       jobs-server user list [--data DIR] [--store URI]   the users: id, name, email\n"
          "       jobs-server user del NAME [--data DIR] [--store URI] [--with-data]\n"
          "                                      remove a user (--with-data: their jobs, schedules too)\n"
          "       jobs-server check [--data DIR] [--store URI]   verify the store (exit 0: consistent)\n"
          "\n"
          "  --listen ADDR:PORT     address to listen on (default 127.0.0.1:8080; port 0: any)\n"
          "  --data DIR             data directory: the store, with the users and sessions\n"
          "                         (default ./var)\n"
          "  --store URI            keep the store, users and sessions too, in PostgreSQL\n"
          "                         (postgresql://... or a libpq conninfo), not in DIR\n"
          "  --threads N            worker threads, one per open connection (default 128)\n"
          "  --tick-interval S      seconds between scheduler ticks (default 1)\n"
          "  --tls-cert FILE        serve HTTPS with this PEM (certificate and key)\n"
          "  --session-ttl S        session lifetime in seconds (default 28800)\n"
          "  --fault-status-500     answer every fault with HTTP 500, as the original service\n"
          "  --no-group-commit      one commit per write, even when writes arrive together\n"
          "                         (for measurements; slower under concurrent writes)\n"
          "  --request-timeout S    seconds a client may take to send its request (default 10)\n"
          "  --max-store-size MIB   cap the store at MIB mebibytes: past it writes answer 507\n"
          "                         (default 0: no cap but the disk)\n"
          "  --access-log FILE      one JSON line per request, appended to FILE (created with\n"
          "                         mode 0600); '-' standard error (default), 'off' none\n"
          "  --max-sessions-per-user N   live sessions a user may have; a login past it ends\n"
          "                         their oldest (default 16; 0: no cap)\n"
          "  --max-jobs-per-user N  quota: creates past it answer 403, fault 112\n"
          "                         (default 100000; 0: none)\n"
          "  --max-stacks-per-user N     likewise for stacks (default 1000)\n"
          "  --max-schedules-per-user N  likewise for schedules (default 1000)\n"
          "  --login-concurrency N  password checks at once (Argon2id, 64 MiB each); a login\n"
          "                         past them answers 503 with Retry-After (default 4)\n"
          "  --login-account-fails N     failed logins per account in a window before the\n"
          "                         account is locked (default 5)\n"
          "  --login-address-fails N     failed logins per client address in a window before\n"
          "                         the address is locked (default 20)\n"
          "  --login-lock S         the window and the length of a lock, seconds (default 60)\n"
          "  --trusted-proxy ADDR[,ADDR...]  reverse proxies (IP addresses): a request from\n"
          "                         one is from the last address of its X-Forwarded-For,\n"
          "                         and over HTTPS when its X-Forwarded-Proto says https\n"
          "  --run-command PATH     run each run as a child process of PATH (no shell; the run\n"
          "                         in its environment, its input on standard input)\n"
          "  --run-timeout S        seconds a run's child may take before TERM, then KILL\n"
          "                         (default 60)\n"
          "  --max-running N        children running at once (default 4)\n"
          "  --config FILE          settings from FILE, one 'key = value' a line, the keys\n"
          "                         being these options' names; options given here win\n"
          "  --check-config         print the settings in effect and exit (2 when invalid)\n"
          "  --help                 this text\n",
          f);
}

bool srv_parse_uint(unsigned *out, const char *s, unsigned min, unsigned max)
{
    char *end;
    unsigned long v;

    /* Digits only: strtoul also takes leading blanks and a sign ("+8", " 8", "-1" as 2^64-1). */
    if (s[0] < '0' || s[0] > '9')
        return false;
    errno = 0;
    v = strtoul(s, &end, 10);
    if (errno || *end || v < min || v > max)
        return false;
    *out = (unsigned)v;
    return true;
}


/* ---- options and the config file ------------------------------------------------------------ */

/* SETTING_LISTEN and SETTING_ADDRESSES are text of a form checked as it is set, so that a bad
 * one in the config file is named with its line, as other bad values are. */
typedef enum setting_kind {
    SETTING_TEXT,
    SETTING_UINT,
    SETTING_BOOL,
    SETTING_LISTEN,    /* [HOST:]PORT[,...] */
    SETTING_ADDRESSES, /* ADDR[,ADDR...] */
} setting_kind;

/* Every setting, by its long option name; a config file names them without the dashes. A
 * boolean is a flag without a value on the command line, and true/false/yes/no/1/0 in a file. */
static const struct setting {
    const char *name;
    setting_kind kind;
    size_t offset;     /* of its field in options */
    unsigned min, max; /* SETTING_UINT */
} settings[] = {
    {"listen", SETTING_LISTEN, offsetof(srv_options, listen), 0, 0},
    {"data", SETTING_TEXT, offsetof(srv_options, data), 0, 0},
    {"store", SETTING_TEXT, offsetof(srv_options, store), 0, 0},
    {"threads", SETTING_UINT, offsetof(srv_options, threads), 1, 1024},
    {"tick-interval", SETTING_UINT, offsetof(srv_options, tick_interval), 1, 86400},
    {"tls-cert", SETTING_TEXT, offsetof(srv_options, tls_cert), 0, 0},
    {"session-ttl", SETTING_UINT, offsetof(srv_options, session_ttl), 1, SRV_SESSION_TTL_MAX},
    {"fault-status-500", SETTING_BOOL, offsetof(srv_options, fault_status_500), 0, 0},
    {"no-group-commit", SETTING_BOOL, offsetof(srv_options, no_group_commit), 0, 0},
    {"request-timeout", SETTING_UINT, offsetof(srv_options, request_timeout), 1, 3600},
    {"max-store-size", SETTING_UINT, offsetof(srv_options, max_store_mib), 0, 1048576},
    {"access-log", SETTING_TEXT, offsetof(srv_options, access_log), 0, 0},
    {"max-sessions-per-user", SETTING_UINT, offsetof(srv_options, max_sessions), 0, 1000000},
    {"max-jobs-per-user", SETTING_UINT, offsetof(srv_options, max_jobs), 0, 1000000000},
    {"max-stacks-per-user", SETTING_UINT, offsetof(srv_options, max_stacks), 0, 1000000000},
    {"max-schedules-per-user", SETTING_UINT, offsetof(srv_options, max_schedules), 0,
     1000000000},
    {"login-concurrency", SETTING_UINT, offsetof(srv_options, login_concurrency), 1, 64},
    {"login-account-fails", SETTING_UINT, offsetof(srv_options, login_account_fails), 1, 1000000},
    {"login-address-fails", SETTING_UINT, offsetof(srv_options, login_address_fails), 1, 1000000},
    {"login-lock", SETTING_UINT, offsetof(srv_options, login_lock), 1, 86400},
    {"trusted-proxy", SETTING_ADDRESSES, offsetof(srv_options, trusted_proxy), 0, 0},
    {"run-command", SETTING_TEXT, offsetof(srv_options, run_command), 0, 0},
    {"run-timeout", SETTING_UINT, offsetof(srv_options, run_timeout), 1, 86400},
    {"max-running", SETTING_UINT, offsetof(srv_options, max_running), 1, 256},
};
#define SETTINGS (sizeof settings / sizeof *settings)

/* The values read from the config file, for the life of the process. */
static char *config_values[SETTINGS];

static const struct setting *setting_find(const char *name)
{
    for (size_t i = 0; i < SETTINGS; i++)
        if (strcmp(settings[i].name, name) == 0)
            return &settings[i];
    return NULL;
}

/* Whether `list` is what --listen takes: one or more [HOST:]PORT separated by commas, PORT in
 * 0..65535 (civetweb reads digits past five, and wraps a port past 65535, or takes a suffix
 * "s" or "r" for HTTPS and redirects: all of it refused here, before anything is created).
 * Whether HOST resolves is seen at start (main.c). */
static bool listen_is_valid(const char *list)
{
    for (const char *p = list;; p++) {
        size_t n = strcspn(p, ","), digits;
        const char *port = p + n;

        while (port > p && port[-1] != ':')
            port--;
        digits = (size_t)(p + n - port);
        if (digits == 0 || digits > 5 || strspn(port, "0123456789") != digits ||
            strtoul(port, NULL, 10) > 65535)
            return false;
        /* HOST, when given, is not empty and holds no blank */
        if (port > p && (port - 1 == p || strcspn(p, " \t") < (size_t)(port - p)))
            return false;
        p += n;
        if (!*p)
            return true;
    }
}

/* Sets `s` in `o` from `value`, which must outlive `o`. False for a bad value. */
static bool setting_set(srv_options *o, const struct setting *s, const char *value)
{
    void *field = (char *)o + s->offset;

    switch (s->kind) {
    case SETTING_TEXT:
    case SETTING_LISTEN:
    case SETTING_ADDRESSES:
        if (!value[0] || (s->kind == SETTING_LISTEN && !listen_is_valid(value)) ||
            (s->kind == SETTING_ADDRESSES && !srv_address_list_is_valid(value)))
            return false;
        *(const char **)field = value;
        return true;
    case SETTING_UINT:
        return srv_parse_uint(field, value, s->min, s->max);
    case SETTING_BOOL:
        if (!strcasecmp(value, "true") || !strcasecmp(value, "yes") || !strcmp(value, "1"))
            *(bool *)field = true;
        else if (!strcasecmp(value, "false") || !strcasecmp(value, "no") || !strcmp(value, "0"))
            *(bool *)field = false;
        else
            return false;
        return true;
    }
    return false;
}

/* What a bad value of `s` should have been, for the message. */
static void setting_expected(char *out, size_t size, const struct setting *s)
{
    if (s->kind == SETTING_UINT)
        snprintf(out, size, "an integer in %u..%u", s->min, s->max);
    else if (s->kind == SETTING_BOOL)
        snprintf(out, size, "true, false, yes, no, 1 or 0");
    else if (s->kind == SETTING_LISTEN)
        snprintf(out, size, "ADDR:PORT, or several separated by commas; PORT in 0..65535");
    else if (s->kind == SETTING_ADDRESSES)
        snprintf(out, size, "IP addresses separated by commas");
    else
        snprintf(out, size, "a value that is not empty");
}

/* Reads the settings of config file `file` into `o`: lines of `key = value` or `key value`,
 * blank lines, and comments from a '#' at the start of a line or after a blank to its end.
 * Returns 0, or 2 after a message naming file:line. */
static int read_config(srv_options *o, const char *file)
{
    FILE *f = fopen(file, "r");
    bool seen[SETTINGS] = {false};
    char *buf = NULL, expected[96];
    size_t cap = 0;
    unsigned lineno = 0;
    ssize_t n;
    int rc = 0;

    if (!f) {
        fprintf(stderr, "jobs-server: --config %s: %s\n", file, strerror(errno));
        return 2;
    }
    while (rc == 0 && (n = getline(&buf, &cap, f)) >= 0) {
        char *key = buf, *value, *end;
        const struct setting *s;
        bool equals;
        size_t i;

        lineno++;
        if (strlen(buf) != (size_t)n) {
            fprintf(stderr, "jobs-server: %s:%u: a NUL byte in the line\n", file, lineno);
            rc = 2;
            break;
        }
        for (char *p = buf; *p; p++)
            if (*p == '#' && (p == buf || *(p - 1) == ' ' || *(p - 1) == '\t')) {
                *p = '\0';
                break;
            }
        key += strspn(key, " \t\r\n");
        for (end = key + strlen(key); end > key && strchr(" \t\r\n", end[-1]); end--)
            ;
        *end = '\0';
        if (!*key)
            continue;
        value = key + strcspn(key, " \t=");
        equals = *value == '=';
        if (*value)
            *value++ = '\0';
        value += strspn(value, " \t");
        if (!equals && *value == '=')
            value += 1 + strspn(value + 1, " \t");
        if (!(s = setting_find(key))) {
            fprintf(stderr, "jobs-server: %s:%u: unknown key '%s' (the keys are the long "
                            "options without '--': listen, data, threads, ...)\n",
                    file, lineno, key);
            rc = 2;
            break;
        }
        i = (size_t)(s - settings);
        if (seen[i]) {
            fprintf(stderr, "jobs-server: %s:%u: '%s' is given twice\n", file, lineno, key);
            rc = 2;
            break;
        }
        seen[i] = true;
        if (s->kind != SETTING_UINT && s->kind != SETTING_BOOL &&
            (value = config_values[i] = strdup(value)) == NULL) {
            fprintf(stderr, "jobs-server: %s:%u: out of memory\n", file, lineno);
            rc = 2;
        } else if (!setting_set(o, s, value)) {
            setting_expected(expected, sizeof expected, s);
            fprintf(stderr, "jobs-server: %s:%u: bad value for %s: '%s' (expected %s)\n", file,
                    lineno, key, value, expected);
            rc = 2;
        }
    }
    if (rc == 0 && ferror(f)) {
        fprintf(stderr, "jobs-server: --config %s: %s\n", file, strerror(errno));
        rc = 2;
    }
    free(buf);
    fclose(f);
    return rc;
}

int srv_options_parse(srv_options *o, int argc, char **argv)
{
    char expected[96];

    /* Every field starts known (the caller's struct is on its stack): zero, then the defaults. */
    memset(o, 0, sizeof *o);
    o->listen = "127.0.0.1:8080";
    o->data = "./var";
    o->tls_cert = NULL;
    o->threads = 128;
    o->tick_interval = 1;
    o->session_ttl = SRV_SESSION_TTL;
    o->fault_status_500 = false;
    o->no_group_commit = false;
    o->request_timeout = 10;
    o->max_store_mib = 0;
    o->access_log = "-";
    o->max_sessions = SRV_SESSIONS_PER_USER;
    o->max_jobs = 100000;
    o->max_stacks = 1000;
    o->max_schedules = 1000;
    o->login_concurrency = SRV_VERIFY_SLOTS;
    o->login_account_fails = SRV_THROTTLE_ACCOUNT_FAILS;
    o->login_address_fails = SRV_THROTTLE_ADDRESS_FAILS;
    o->login_lock = SRV_THROTTLE_LOCK;
    o->run_command = NULL;
    o->run_timeout = 60;
    o->max_running = 4;
    o->config = NULL;
    o->check_config = false;
    for (int i = 1; i < argc; i++) {
        const struct setting *s = strncmp(argv[i], "--", 2) == 0 ? setting_find(argv[i] + 2) : NULL;

        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
            if (o->config) {
                fprintf(stderr, "jobs-server: --config is given twice\n");
                return 2;
            }
            o->config = argv[++i];
        } else if (s && s->kind != SETTING_BOOL) {
            i++; /* its value, which may look like an option */
        }
    }
    if (o->config && read_config(o, o->config) != 0)
        return 2;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const struct setting *s = strncmp(a, "--", 2) == 0 ? setting_find(a + 2) : NULL;

        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            srv_usage(stdout);
            exit(0);
        } else if (strcmp(a, "--check-config") == 0) {
            o->check_config = true;
        } else if (strcmp(a, "--config") == 0 && i + 1 < argc) {
            i++;
        } else if (s && s->kind == SETTING_BOOL) {
            setting_set(o, s, "true");
        } else if (s && i + 1 < argc) {
            if (!setting_set(o, s, argv[++i])) {
                setting_expected(expected, sizeof expected, s);
                fprintf(stderr, "jobs-server: bad value for %s: '%s' (expected %s)\n", a,
                        argv[i], expected);
                return 2;
            }
        } else {
            fprintf(stderr, "jobs-server: unknown or incomplete option '%s'\n", a);
            srv_usage(stderr);
            return 2;
        }
    }
    return 0;
}

bool srv_address_is_valid(const char *s, size_t len)
{
    char buf[INET6_ADDRSTRLEN];
    unsigned char bin[sizeof(struct in6_addr)];

    if (len == 0 || len >= sizeof buf)
        return false;
    memcpy(buf, s, len);
    buf[len] = '\0';
    return inet_pton(AF_INET, buf, bin) == 1 || inet_pton(AF_INET6, buf, bin) == 1;
}

bool srv_address_list_is_valid(const char *list)
{
    for (const char *p = list;; p++) {
        size_t n = strcspn(p, ",");
        const char *a = p + strspn(p, " \t");
        size_t len = n - (size_t)(a - p);

        while (len && (a[len - 1] == ' ' || a[len - 1] == '\t'))
            len--;
        if (!srv_address_is_valid(a, len))
            return false;
        p += n;
        if (!*p)
            return true;
    }
}

void srv_options_print(const srv_options *o)
{
    printf("# jobs-server: the settings in effect (defaults, then %s%s, then options)\n",
           o->config ? "--config " : "no config file", o->config ? o->config : "");
    for (size_t i = 0; i < SETTINGS; i++) {
        const struct setting *s = &settings[i];
        const void *field = (const char *)o + s->offset;

        if (s->kind == SETTING_UINT)
            printf("%s = %u\n", s->name, *(const unsigned *)field);
        else if (s->kind == SETTING_BOOL)
            printf("%s = %s\n", s->name, *(const bool *)field ? "true" : "false");
        else if (*(const char *const *)field)
            printf("%s = %s\n", s->name, *(const char *const *)field);
        else
            printf("# %s is not set\n", s->name);
    }
}
