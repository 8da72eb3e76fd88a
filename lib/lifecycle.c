/* The store's public lifecycle: the options (both layouts), choosing and opening the backend,
 * closing, statistics, the verifier, backup and restore, and the clock. Everything here goes
 * through the backend interface (lib/backend.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "rules.h"

#define DEFAULT_PAGE_SIZE 10u

/* jobs_store_options as libjobs 0.1.0 declared it (version 1): LMDB's settings inline. Kept so
 * that programs built against that header go on working. */
typedef struct jobs__store_options_v1 {
    unsigned int version;
    const char *path;
    size_t map_size;
    size_t max_map_size;
    uint32_t page_size;
    unsigned int max_readers;
    jobs_clock_fn clock;
    void *clock_ctx;
    unsigned int flags;
} jobs__store_options_v1;

/* jobs_store_options version 2: version 3 without run_history. */
typedef struct jobs__store_options_v2 {
    unsigned int version;
    const char *path;
    uint32_t page_size;
    jobs_clock_fn clock;
    void *clock_ctx;
    unsigned int flags;
    const jobs_options_lmdb *lmdb;
} jobs__store_options_v2;

/* Version 1's flag bit 0: LMDB's no-sync, JOBS_NOSYNC_LMDB now. */
#define V1_NOSYNC (1u << 0)

static int64_t system_clock(void *ctx)
{
    struct timespec ts;

    (void)ctx;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec;
}

int64_t jobs__now(jobs_store *s)
{
    return s->clock(s->clock_ctx);
}

/* Both layouts of the options, as one: the current struct and the LMDB options it reaches. */
static int read_options(jobs_store_options *o, jobs_options_lmdb *lmdb,
                        const jobs_store_options *opts)
{
    const jobs_options_lmdb defaults = JOBS_OPTIONS_INIT_LMDB;

    *lmdb = defaults;
    if (opts->version == 1) {
        const jobs__store_options_v1 *v1 = (const void *)opts;

        if (v1->flags & ~(unsigned)(V1_NOSYNC | JOBS_STORE_NO_GROUP_COMMIT))
            return jobs__error(JOBS_EINVAL, "unknown store flags 0x%x", v1->flags);
        memset(o, 0, sizeof(*o));
        o->version = JOBS_STORE_OPTIONS_VERSION;
        o->path = v1->path;
        o->page_size = v1->page_size;
        o->clock = v1->clock;
        o->clock_ctx = v1->clock_ctx;
        o->flags = v1->flags & ~V1_NOSYNC;
        lmdb->map_size = v1->map_size;
        lmdb->max_map_size = v1->max_map_size;
        lmdb->max_readers = v1->max_readers;
        lmdb->flags = (v1->flags & V1_NOSYNC) ? JOBS_NOSYNC_LMDB : 0;
        return 0;
    }
    if (opts->version != 2 && opts->version != 3)
        return jobs__error(JOBS_EVERSION, "options version %u is not supported (1..%d)",
                           opts->version, JOBS_STORE_OPTIONS_VERSION);
    if (opts->version == 2) {
        memset(o, 0, sizeof(*o));
        memcpy(o, opts, sizeof(jobs__store_options_v2));
    } else {
        *o = *opts;
    }
    if (o->run_history > JOBS_RUN_HISTORY_MAX)
        return jobs__error(JOBS_EINVAL, "run history %u is above %u", o->run_history,
                           JOBS_RUN_HISTORY_MAX);
    if (o->flags & ~(unsigned)(JOBS_STORE_NO_GROUP_COMMIT | JOBS_STORE_READONLY))
        return jobs__error(JOBS_EINVAL, "unknown store flags 0x%x%s", o->flags,
                           (o->flags & V1_NOSYNC) ? " (no-sync is JOBS_NOSYNC_LMDB in "
                                                    "jobs_options_lmdb now)" : "");
    if (opts->lmdb) {
        if (opts->lmdb->version != JOBS_OPTIONS_VERSION_LMDB)
            return jobs__error(JOBS_EVERSION, "LMDB options version %u is not supported (1)",
                               opts->lmdb->version);
        *lmdb = *opts->lmdb;
        if (lmdb->flags & ~(unsigned)JOBS_NOSYNC_LMDB)
            return jobs__error(JOBS_EINVAL, "unknown LMDB flags 0x%x", lmdb->flags);
    }
    return 0;
}

/* libpq's connection keywords (every one of libpq 17's): a path that starts with one of them and
 * '=' is a conninfo. All of them, so that a conninfo may start with any setting (its keepalives'
 * or its TLS settings, say) and is not taken for a directory. */
static const char *const conninfo_keywords[] = {
    "host", "hostaddr", "port", "dbname", "user", "password", "passfile", "service",
    "options", "application_name", "fallback_application_name", "client_encoding",
    "connect_timeout", "keepalives", "keepalives_idle", "keepalives_interval",
    "keepalives_count", "tcp_user_timeout", "replication", "target_session_attrs",
    "load_balance_hosts", "channel_binding", "require_auth", "requirepeer", "sslmode",
    "requiressl", "sslnegotiation", "sslcompression", "sslcert", "sslkey", "sslpassword",
    "sslcertmode", "sslrootcert", "sslcrl", "sslcrldir", "sslsni", "ssl_min_protocol_version",
    "ssl_max_protocol_version", "gssencmode", "krbsrvname", "gsslib", "gssdelegation", NULL};

bool jobs__path_is_postgres(const char *path)
{
    if (!strncmp(path, "postgresql://", 13) || !strncmp(path, "postgres://", 11))
        return true;
    for (size_t i = 0; conninfo_keywords[i]; i++) {
        size_t n = strlen(conninfo_keywords[i]);
        const char *p = path + n;

        if (strncmp(path, conninfo_keywords[i], n))
            continue;
        while (*p == ' ')
            p++;
        if (*p == '=')
            return true;
    }
    return false;
}

const char *jobs_store_path_backend(const char *path)
{
    if (!path)
        return NULL;
    return jobs__path_is_postgres(path) ? "postgresql" : "lmdb";
}

/* jobs_store_open(); `seed` false: a store without libjobs' schema record is refused
 * (JOBS_ESCHEMA) instead of made a new store (a restore's migration of its staged copy). */
/* A process started with standard descriptor 0, 1 or 2 closed (`2>&-`, a careless daemon
 * launcher) would have the store's files, or its database connection, opened on it, and the
 * next write to stdout or stderr, the host's or any library's, would land in the store: on
 * LMDB at offset 0 of data.mdb, its first meta page, which loses the whole store. Each closed
 * one is opened on /dev/null before the backend opens anything, as SQLite does for its files. */
static int guard_std_fds(void)
{
    for (int fd = 0; fd <= 2; fd++) {
        int n;

        if (fcntl(fd, F_GETFD) != -1 || errno != EBADF)
            continue;
        if ((n = open("/dev/null", O_RDWR)) < 0)
            return jobs__error(JOBS_EIO, "standard descriptor %d is closed, and /dev/null "
                               "cannot be opened in its place: %s", fd, strerror(errno));
        /* open() gives the lowest free descriptor, fd itself unless another thread took it. */
        if (n != fd) {
            if (fcntl(fd, F_GETFD) == -1 && dup2(n, fd) < 0) {
                int err = errno;

                close(n);
                return jobs__error(JOBS_EIO, "standard descriptor %d is closed, and /dev/null "
                                   "cannot be put in its place: %s", fd, strerror(err));
            }
            close(n);
        }
    }
    return 0;
}

static int open_store(jobs_store **out, const jobs_store_options *opts, bool seed)
{
    jobs_store_options o;
    jobs_options_lmdb lmdb;
    jobs__open_args args;
    jobs_store *s;
    int rc;

    if (out)
        *out = NULL;
    if (!out || !opts)
        return jobs__error(JOBS_EINVAL, "jobs_store_open needs an output and options");
    if ((rc = read_options(&o, &lmdb, opts)))
        return rc;
    if (!o.path || !*o.path)
        return jobs__error(JOBS_EINVAL, "the store options need a path");
    if (o.page_size > JOBS__PAGE_SIZE_MAX)
        return jobs__error(JOBS_EINVAL, "page size %u is above %u", o.page_size,
                           JOBS__PAGE_SIZE_MAX);
    if ((rc = guard_std_fds()))
        return rc;
    if (!(s = jobs__malloc(sizeof(*s))))
        return jobs__error(JOBS_ENOMEM, "out of memory opening the store");
    memset(s, 0, sizeof(*s));
    s->page_size = o.page_size ? o.page_size : DEFAULT_PAGE_SIZE;
    s->flags = o.flags;
    s->clock = o.clock ? o.clock : system_clock;
    s->clock_ctx = o.clock_ctx;
    s->run_history = o.run_history ? o.run_history : JOBS_RUN_HISTORY_DEFAULT;
    args.path = o.path;
    args.flags = o.flags;
    args.lmdb = &lmdb;
    args.seed = seed ? jobs__schedules_seed : NULL;
    /* The backend is chosen by the form of the path, before any of its files or connections
     * are touched: a PostgreSQL URI or conninfo, or else a directory for LMDB. */
    if (jobs__path_is_postgres(o.path)) {
#ifdef JOBS_WITH_POSTGRES
        rc = jobs__open_pg(s, &args);
#else
        rc = jobs__error(JOBS_ENOTSUP, "this libjobs was built without the PostgreSQL backend "
                         "(JOBS_POSTGRES=OFF)");
#endif
    } else {
        rc = jobs__open_lmdb(s, &args);
    }
    if (rc != 0) {
        jobs__free(s);
        return rc;
    }
    *out = s;
    return 0;
}

int jobs_store_open(jobs_store **out, const jobs_store_options *opts)
{
    return open_store(out, opts, true);
}

void jobs_store_close(jobs_store *store)
{
    if (!store)
        return;
    store->be->close(store);
    jobs__free(store);
}

int jobs_store_stat(jobs_store_stat_info *out, jobs_store *store)
{
    jobs_store_stat_info st;
    int rc;

    if (!out || !store)
        return jobs__error(JOBS_EINVAL, "jobs_store_stat needs an output and a store");
    if (out->version < 1 || out->version > JOBS_STORE_STAT_VERSION)
        return jobs__error(JOBS_EVERSION, "stat info version %u is not supported (1..%d): "
                           "initialise it with JOBS_STORE_STAT_INFO_INIT", out->version,
                           JOBS_STORE_STAT_VERSION);
    memset(&st, 0, sizeof(st));
    if ((rc = store->be->stat(store, &st)))
        return rc;
    st.version = out->version;
    st.backend = store->be->name;
    /* Each version fills only what the caller's struct has. */
    if (out->version == 1)
        memcpy(out, &st, offsetof(jobs_store_stat_info, records));
    else if (out->version == 2)
        memcpy(out, &st, offsetof(jobs_store_stat_info, runs));
    else
        *out = st;
    return 0;
}

int jobs_store_check(jobs_store *store)
{
    if (!store)
        return jobs__error(JOBS_EINVAL, "jobs_store_check needs a store");
    return store->be->check(store);
}

int jobs_store_backup(jobs_store *store, const char *dest_dir)
{
    if (!store || !dest_dir || !*dest_dir)
        return jobs__error(JOBS_EINVAL, "jobs_store_backup needs a store and a directory");
    return store->be->backup(store, dest_dir);
}

/* Opens the store in `dir` read-only and checks it. */
static int verify_readonly(const char *dir)
{
    jobs_store_options o = JOBS_STORE_OPTIONS_INIT;
    jobs_store *s;
    int rc;

    o.path = dir;
    o.flags = JOBS_STORE_READONLY;
    if ((rc = jobs_store_open(&s, &o)))
        return rc;
    rc = jobs_store_check(s);
    jobs_store_close(s);
    return rc;
}

/* The restore's check of its staged copy, a private directory only the restore sees. A backup
 * written by an earlier libjobs (an older schema, which a read-only open refuses) is migrated
 * there first by a read-write open, as opening the store would migrate it, so that it can be
 * restored without changing the backup itself; then the copy is checked read-only. A schema this
 * libjobs cannot migrate (a later one, or none) is refused with the read-only open's detail. */
static int verify_staged(const char *dir)
{
    jobs_store_options o = JOBS_STORE_OPTIONS_INIT;
    char why[400];
    jobs_store *s;
    int rc = verify_readonly(dir);

    if (rc != JOBS_ESCHEMA)
        return rc;
    snprintf(why, sizeof why, "%s", jobs_error_last());
    o.path = dir;
    if ((rc = open_store(&s, &o, false)) != 0)
        return rc == JOBS_ESCHEMA ? jobs__error(rc, "%s", why) : rc;
    jobs_store_close(s);
    return verify_readonly(dir);
}

int jobs_store_restore(const jobs_store_options *opts, const char *backup_dir,
                       unsigned int flags)
{
    jobs_store_options o;
    jobs_options_lmdb lmdb;
    int rc;

    if (!opts || !backup_dir || !*backup_dir)
        return jobs__error(JOBS_EINVAL, "jobs_store_restore needs options and a directory");
    if ((rc = read_options(&o, &lmdb, opts)))
        return rc;
    if (!o.path || !*o.path)
        return jobs__error(JOBS_EINVAL, "the store options need a path");
    if (flags & ~(unsigned)JOBS_RESTORE_FORCE)
        return jobs__error(JOBS_EINVAL, "unknown restore flags 0x%x", flags);
    if (jobs__path_is_postgres(o.path))
        return jobs__error(JOBS_ENOTSUP, "jobs_store_restore is for LMDB stores: restore a "
                           "PostgreSQL store with PostgreSQL's own tools");
    if ((rc = guard_std_fds()))
        return rc;
    return jobs__restore_lmdb(o.path, backup_dir, flags, verify_staged);
}
