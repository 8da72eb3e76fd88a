/* jobs-server's subcommands and the demo user. */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include <jobs.h>

#include "auth.h"
#include "cli.h"
#include "config.h"

int srv_make_dir(const char *dir)
{
    char path[PATH_MAX];

    /* Room for "/store/lock.mdb" and "/users.tmp" under it too, or they fail later unnamed. */
    if (strlen(dir) + sizeof "/store/lock.mdb" > sizeof path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    snprintf(path, sizeof path, "%s", dir);
    for (char *p = path + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(path, 0700) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    if (mkdir(path, 0700) != 0 && errno != EEXIST)
        return -1;
    return 0;
}

/* Refuses a directory another user could write in: owned by someone else, or writable by group
 * or others. There, a symlink or hard link planted under a name the server writes (users.tmp,
 * store/lock.mdb) would redirect its writes to any file it may write, as root to any file. */
static int check_dir(const char *path, const struct stat *st)
{
    if (!S_ISDIR(st->st_mode)) {
        fprintf(stderr, "jobs-server: %s is not a directory\n", path);
        return -1;
    }
    if (st->st_uid != geteuid()) {
        fprintf(stderr, "jobs-server: %s is owned by uid %u, not by this user (uid %u): refusing "
                        "it, since its owner could redirect the server's writes\n",
                path, (unsigned)st->st_uid, (unsigned)geteuid());
        return -1;
    }
    if (st->st_mode & 022) {
        fprintf(stderr, "jobs-server: %s is writable by %s (mode %03o): refusing it, since "
                        "they could redirect the server's writes; run chmod go-w on it\n",
                path, st->st_mode & 020 ? "its group" : "others", (unsigned)(st->st_mode & 0777));
        return -1;
    }
    return 0;
}

/* A file the server writes in the data directory: when it exists, a regular file of ours with one
 * link (not a symlink, not a hard link to a file elsewhere), its mode tightened to 0600. */
static int check_file(const char *dir, const char *name)
{
    char path[PATH_MAX];
    struct stat st;
    int fd;

    if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path) {
        fprintf(stderr, "jobs-server: %s/%s: %s\n", dir, name, strerror(ENAMETOOLONG));
        return -1;
    }
    if (lstat(path, &st) != 0)
        return errno == ENOENT ? 0 : (fprintf(stderr, "jobs-server: %s: %s\n", path,
                                              strerror(errno)), -1);
    if (!S_ISREG(st.st_mode) || st.st_nlink != 1 || st.st_uid != geteuid()) {
        fprintf(stderr, "jobs-server: %s is %s: refusing to write through it\n", path,
                S_ISLNK(st.st_mode) ? "a symbolic link"
                : !S_ISREG(st.st_mode) ? "not a regular file"
                : st.st_uid != geteuid() ? "owned by another user"
                                          : "a hard link to another name");
        return -1;
    }
    if ((st.st_mode & 077) == 0)
        return 0;
    if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0 || fchmod(fd, 0600) != 0) {
        fprintf(stderr, "jobs-server: tightening %s to mode 0600: %s\n", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    close(fd);
    return 0;
}

int srv_check_data_dir(const char *dir)
{
    static const char *const files[] = {"users", "users.tmp", "store/data.mdb",
                                        "store/lock.mdb"};
    char store[PATH_MAX];
    struct stat st;

    if (stat(dir, &st) != 0) {
        fprintf(stderr, "jobs-server: %s: %s\n", dir, strerror(errno));
        return -1;
    }
    if (check_dir(dir, &st) != 0)
        return -1;
    if (snprintf(store, sizeof store, "%s/store", dir) >= (int)sizeof store) {
        fprintf(stderr, "jobs-server: %s/store: %s\n", dir, strerror(ENAMETOOLONG));
        return -1;
    }
    if (lstat(store, &st) == 0) {
        if (S_ISLNK(st.st_mode)) {
            fprintf(stderr, "jobs-server: %s is a symbolic link: refusing it\n", store);
            return -1;
        }
        if (check_dir(store, &st) != 0)
            return -1;
        if ((st.st_mode & 077) && chmod(store, st.st_mode & 0700) != 0) {
            fprintf(stderr, "jobs-server: tightening %s to mode 0700: %s\n", store,
                    strerror(errno));
            return -1;
        }
    } else if (errno != ENOENT) {
        fprintf(stderr, "jobs-server: %s: %s\n", store, strerror(errno));
        return -1;
    }
    for (size_t i = 0; i < sizeof files / sizeof *files; i++)
        if (check_file(dir, files[i]) != 0)
            return -1;
    return 0;
}

/* The password: one line of standard input, its line end ("\n" or "\r\n", or none at the end of
 * the input) taken off. 0; -1 for none, one too long, or one with a CR inside (which used to cut
 * the password short there, silently); -2 for one with a NUL byte inside (likewise: it was
 * read as a C string). */
static int read_password(char *buf, size_t size)
{
    size_t len = 0;
    bool nul = false;
    int c;

    /* Byte by byte, not fgets: only so is a NUL byte seen rather than taken as the end. */
    while ((c = getchar()) != EOF && c != '\n') {
        if (len == size - 1) /* too long, even were its last byte a CR to take off */
            return -1;
        if (c == '\0')
            nul = true;
        buf[len++] = (char)c;
    }
    buf[len] = '\0';
    if (len && buf[len - 1] == '\r')
        buf[--len] = '\0';
    if (nul)
        return -2;
    return len > 0 && len <= size - 2 && !strchr(buf, '\r') ? 0 : -1;
}

/* A subcommand's argument `arg` that it does not take (an option without its value when it is
 * the last one, `more` false): says which, then the usage. Returns 2, the exit status. */
static int bad_argument(const char *cmd, const char *arg, bool more)
{
    if (arg[0] == '-' && !more && (!strcmp(arg, "--data") || !strcmp(arg, "--store") ||
                                  !strcmp(arg, "--email")))
        fprintf(stderr, "jobs-server: %s: %s needs a value\n", cmd, arg);
    else
        fprintf(stderr, "jobs-server: %s: unknown or extra argument '%s'\n", cmd, arg);
    srv_usage(stderr);
    return 2;
}

/* `jobs-server check [--data DIR | --store URI]`: jobs_store_check() on the store, which may be
 * in use by a running server (the check reads one snapshot and blocks no writer). */
int srv_cmd_check(int argc, char **argv)
{
    jobs_store_options so = JOBS_STORE_OPTIONS_INIT;
    const char *data = "./var", *uri = NULL;
    char path[PATH_MAX];
    jobs_store *store = NULL;
    struct stat st;
    int rc;

    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--data") == 0 && i + 1 < argc) {
            data = argv[++i];
        } else if (strcmp(argv[i], "--store") == 0 && i + 1 < argc) {
            uri = argv[++i];
        } else {
            return bad_argument("check", argv[i], i + 1 < argc);
        }
    }
    if (uri) {
        /* The URI may hold a password: it is not printed. */
        snprintf(path, sizeof path, "the store given with --store");
        so.flags = JOBS_STORE_READONLY;
        so.path = uri;
    } else if (snprintf(path, sizeof path, "%s/store", data) >= (int)sizeof path ||
               stat(path, &st) != 0) {
        fprintf(stderr, "jobs-server: check: no store in %s\n", data);
        return 1;
    } else {
        so.path = path;
    }
    rc = jobs_store_open(&store, &so);
    /* A read-only LMDB open takes no lock, so it refuses a store another process has open (its
     * writer could reuse the pages being read). Such a store, a running server's, is opened as
     * --data opens it, read-write and sharing LMDB's lock: the check is one read snapshot that
     * blocks no writer, and a store of an older schema is not migrated while in use. */
    if (rc == JOBS_EBUSY && uri && strcmp(jobs_store_path_backend(uri), "lmdb") == 0) {
        so.flags = 0;
        rc = jobs_store_open(&store, &so);
    }
    if (rc != 0) {
        fprintf(stderr, "jobs-server: check: opening %s: %s (%s)\n", path, jobs_strerror(rc),
                jobs_error_last());
        return 1;
    }
    rc = jobs_store_check(store);
    if (rc == 0)
        printf("%s: ok\n", path);
    else
        fprintf(stderr, "jobs-server: check: %s: %s (%s)\n", path, jobs_strerror(rc),
                jobs_error_last());
    jobs_store_close(store);
    return rc == 0 ? 0 : 1;
}

/* The arguments and standard input of `user add` and `user passwd`: NAME, --data DIR, --email
 * ADDR (only where `email` is not NULL), and the password. 0, or the exit status (2: usage;
 * 1: no password, or one refused) after saying why. */
/* `--store URI` of `user add` and `user passwd`: the users' store in PostgreSQL, as the server's
 * --store (NULL: DIR/store). */
static const char *store_uri;

static int user_args(const char **name, const char **email, const char **data,
                     char password[SRV_PASSWORD_MAX + 2], int argc, char **argv)
{
    const char *cmd = email ? "user add" : "user passwd";

    *name = NULL;
    *data = "./var";
    for (int i = 0; i < argc; i++) {
        if (email && strcmp(argv[i], "--email") == 0 && i + 1 < argc)
            *email = argv[++i];
        else if (strcmp(argv[i], "--data") == 0 && i + 1 < argc)
            *data = argv[++i];
        else if (strcmp(argv[i], "--store") == 0 && i + 1 < argc)
            store_uri = argv[++i];
        else if (argv[i][0] != '-' && !*name)
            *name = argv[i];
        else
            return bad_argument(cmd, argv[i], i + 1 < argc);
    }
    if (!*name) {
        fprintf(stderr, "jobs-server: %s: no NAME given\n", cmd);
        srv_usage(stderr);
        return 2;
    }
    switch (read_password(password, SRV_PASSWORD_MAX + 2)) {
    case 0:
        return 0;
    case -2:
        /* The login body's rule: a JSON string there may not hold \u0000. */
        fprintf(stderr, "jobs-server: the password holds a NUL byte (a login could never "
                        "send it)\n");
        return 1;
    default:
        fprintf(stderr, "jobs-server: give the password (1..%d bytes, no carriage return "
                        "inside) on standard input\n", SRV_PASSWORD_MAX);
        return 1;
    }
}

/* The users of data directory `data` (its store opened into *store; the users file of an earlier
 * version imported). 0, or -1 after a message. */
static int open_users(srv_users **users, jobs_store **store, const char *data)
{
    jobs_store_options so = JOBS_STORE_OPTIONS_INIT;
    char path[PATH_MAX];
    int rc;

    *users = NULL;
    *store = NULL;
    if (snprintf(path, sizeof path, "%s/store", data) >= (int)sizeof path) {
        fprintf(stderr, "jobs-server: %s/store: %s\n", data, strerror(ENAMETOOLONG));
        return -1;
    }
    so.path = store_uri ? store_uri : path;
    if ((rc = jobs_store_open(store, &so)) != 0) {
        fprintf(stderr, "jobs-server: opening the store %s: %s (%s)\n", so.path,
                jobs_strerror(rc), jobs_error_last());
        return -1;
    }
    return srv_users_open(users, *store, data);
}

int srv_cmd_user_add(int argc, char **argv)
{
    const char *name, *email = NULL, *data;
    char password[SRV_PASSWORD_MAX + 2];
    srv_users *users = NULL;
    jobs_store *store = NULL;
    uint64_t id = 0;
    int rc;

    if ((rc = user_args(&name, &email, &data, password, argc, argv)) != 0)
        return rc;
    rc = 1;
    if (srv_make_dir(data) != 0) {
        fprintf(stderr, "jobs-server: cannot create the data directory %.200s%s: %s\n", data,
                strlen(data) > 200 ? "..." : "", strerror(errno));
    } else if (srv_check_data_dir(data) != 0) {
        rc = 1;
    } else if (open_users(&users, &store, data) == 0 &&
               srv_users_add(users, &id, name, email, password) == 0) {
        printf("added user %s with id %" PRIu64 "\n", name, id);
        rc = 0;
    }
    sodium_memzero(password, sizeof password);
    srv_users_close(users);
    jobs_store_close(store);
    return rc;
}

/* In the password change's transaction: ends the user's sessions, so that whoever held one (a
 * stolen token, a forgotten browser) logs in again, with the new password. So too in the
 * transactions of `user del` (the lock and the deletion). */
static int end_sessions(jobs_kv_txn *txn, uint64_t id, void *arg)
{
    size_t *ended = arg;

    *ended = 0;
    return srv_sessions_end_user(txn, id, ended);
}

/* `jobs-server user passwd NAME [--data DIR]`, the new password on standard input; the user's
 * sessions end. */
int srv_cmd_user_passwd(int argc, char **argv)
{
    const char *name, *data;
    char password[SRV_PASSWORD_MAX + 2];
    srv_users *users = NULL;
    jobs_store *store = NULL;
    size_t ended = 0;
    int rc;

    if ((rc = user_args(&name, NULL, &data, password, argc, argv)) != 0)
        return rc;
    rc = 1;
    /* The same checks as the server's start and `user add`: never write through a data
     * directory another user can change. */
    if (srv_check_data_dir(data) == 0 && open_users(&users, &store, data) == 0 &&
        srv_users_passwd(users, name, password, end_sessions, &ended) == 0) {
        printf("changed the password of %s and ended its %zu session%s\n", name, ended,
               ended == 1 ? "" : "s");
        rc = 0;
    }
    sodium_memzero(password, sizeof password);
    srv_users_close(users);
    jobs_store_close(store);
    return rc;
}

/* The arguments of `user list` (name NULL) and `user del` (NAME, --with-data): --data DIR,
 * --store URI. 0, or the exit status 2 after saying why. */
static int store_args(const char *cmd, const char **name, bool *with_data, const char **data,
                      int argc, char **argv)
{
    *data = "./var";
    if (name)
        *name = NULL;
    if (with_data)
        *with_data = false;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--data") == 0 && i + 1 < argc)
            *data = argv[++i];
        else if (strcmp(argv[i], "--store") == 0 && i + 1 < argc)
            store_uri = argv[++i];
        else if (with_data && strcmp(argv[i], "--with-data") == 0)
            *with_data = true;
        else if (name && argv[i][0] != '-' && !*name)
            *name = argv[i];
        else
            return bad_argument(cmd, argv[i], i + 1 < argc);
    }
    if (name && !*name) {
        fprintf(stderr, "jobs-server: %s: no NAME given\n", cmd);
        srv_usage(stderr);
        return 2;
    }
    return 0;
}

/* `jobs-server user list [--data DIR | --store URI]`: one line per user, in id order: id,
 * username and email (empty when none), separated by tabs. */
int srv_cmd_user_list(int argc, char **argv)
{
    const char *data;
    srv_users *users = NULL;
    jobs_store *store = NULL;
    srv_user_info *v = NULL;
    size_t n = 0;
    int rc;

    if ((rc = store_args("user list", NULL, NULL, &data, argc, argv)) != 0)
        return rc;
    rc = 1;
    if (srv_check_data_dir(data) == 0 && open_users(&users, &store, data) == 0 &&
        srv_users_list(&v, &n, users) == 0) {
        for (size_t i = 0; i < n; i++)
            printf("%" PRIu64 "\t%s\t%s\n", v[i].id, v[i].name, v[i].email);
        rc = fflush(stdout) == 0 && !ferror(stdout) ? 0 : 1;
        if (rc)
            fprintf(stderr, "jobs-server: user list: writing to standard output: %s\n",
                    strerror(errno));
    }
    free(v);
    srv_users_close(users);
    jobs_store_close(store);
    return rc;
}

/* Page size of the listings `user del` reads (the library's largest). */
#define LIST_PAGE 1000
/* Jobs a batch of `user del --with-data` handles (two operations each at most). */
#define DEL_CHUNK 500

/* One job of the user, as `user del` needs it. */
typedef struct owned_job {
    uint64_t id;
    bool active, queued;
} owned_job;

/* What a user owns: every job, stack and schedule (ids). */
typedef struct owned {
    owned_job *jobs;
    size_t n_jobs, n_queued;
    uint64_t *stacks, *schedules;
    size_t n_stacks, n_schedules;
} owned;

static void owned_free(owned *o)
{
    free(o->jobs);
    free(o->stacks);
    free(o->schedules);
    memset(o, 0, sizeof *o);
}

/* Appends `id` to v[*n] (growing it by pages). 0 or JOBS_ENOMEM. */
static int push_id(uint64_t **v, size_t *n, uint64_t id)
{
    if (*n % LIST_PAGE == 0) {
        uint64_t *nv = realloc(*v, (*n + LIST_PAGE) * sizeof *nv);
        if (!nv)
            return JOBS_ENOMEM;
        *v = nv;
    }
    (*v)[(*n)++] = id;
    return 0;
}

/* Everything user `id` owns, read through the library's listings (one page at a time, so not
 * one snapshot: a running server's scheduler may delete a queued job between two pages, which
 * only shortens the list). 0 or the library's code (its detail in jobs_error_last()). */
static int list_owned(owned *o, jobs_store *store, uint64_t id)
{
    int rc = 0;

    memset(o, 0, sizeof *o);
    for (uint64_t page = 1; rc == 0; page++) {
        jobs_job_page *p = NULL;
        owned_job *nv;

        if ((rc = jobs_list(&p, store, id, page, LIST_PAGE)) != 0)
            break;
        if (p->n == 0) {
            jobs_job_page_free(p);
            break;
        }
        if (!(nv = realloc(o->jobs, (o->n_jobs + p->n) * sizeof *nv))) {
            jobs_job_page_free(p);
            rc = JOBS_ENOMEM;
            break;
        }
        o->jobs = nv;
        for (size_t i = 0; i < p->n; i++) {
            owned_job *j = &o->jobs[o->n_jobs++];
            j->id = p->jobs[i].id;
            j->active = p->jobs[i].do_run;
            j->queued = p->jobs[i].do_del;
            o->n_queued += j->queued;
        }
        jobs_job_page_free(p);
    }
    /* Stacks and schedules: the listings give the public ones too, so only the user's count. */
    for (uint64_t page = 1; rc == 0; page++) {
        jobs_stack_page *p = NULL;
        bool end;

        if ((rc = jobs_stack_list(&p, store, id, page, LIST_PAGE)) != 0)
            break;
        for (size_t i = 0; i < p->n && rc == 0; i++)
            if (p->stacks[i].owner == id)
                rc = push_id(&o->stacks, &o->n_stacks, p->stacks[i].id);
        end = p->n == 0;
        jobs_stack_page_free(p);
        if (end)
            break;
    }
    for (uint64_t page = 1; rc == 0; page++) {
        jobs_schedule_page *p = NULL;
        bool end;

        if ((rc = jobs_schedule_list(&p, store, id, page, LIST_PAGE)) != 0)
            break;
        for (size_t i = 0; i < p->n && rc == 0; i++)
            if (p->schedules[i].owner == id)
                rc = push_id(&o->schedules, &o->n_schedules, p->schedules[i].id);
        end = p->n == 0;
        jobs_schedule_page_free(p);
        if (end)
            break;
    }
    if (rc)
        owned_free(o);
    return rc;
}

/* "3 jobs" or "1 job", into buf. */
static const char *count_of(char *buf, size_t size, size_t n, const char *what)
{
    snprintf(buf, size, "%zu %s%s", n, what, n == 1 ? "" : "s");
    return buf;
}

/* What `o` holds, in words ("3 jobs (1 queued for deletion), 1 stack and 2 schedules"; the
 * kinds it has none of left out), into buf. */
static const char *describe(char *buf, size_t size, const owned *o)
{
    const char *what[3] = {"job", "stack", "schedule"};
    size_t n[3] = {o->n_jobs, o->n_stacks, o->n_schedules}, len = 0, given = 0, k = 0;

    buf[0] = '\0';
    for (int i = 0; i < 3; i++)
        given += n[i] > 0;
    for (int i = 0; i < 3 && len < size; i++) {
        if (!n[i])
            continue;
        k++;
        len += (size_t)snprintf(buf + len, size - len, "%s%zu %s%s",
                                k == 1 ? "" : k == given ? " and " : ", ", n[i], what[i],
                                n[i] == 1 ? "" : "s");
        if (i == 0 && o->n_queued && len < size)
            len += (size_t)snprintf(buf + len, size - len, " (%zu queued for deletion)",
                                    o->n_queued);
    }
    return buf;
}

/* The user's jobs that are not queued for deletion yet, deleted: an active one is made
 * inactive first, so that it is gone at once rather than queued until its next run (its
 * runs go with it). Per chunk one batch (all or nothing). A job that changed meanwhile (the
 * scheduler removed a queued one, a request in flight deleted one) fails its batch: the
 * caller lists again. *deleted counts the jobs gone. 0, or the library's code. */
static int delete_jobs(size_t *deleted, jobs_store *store, uint64_t id, const owned *o)
{
    jobs_batch_op *ops = calloc(2 * DEL_CHUNK, sizeof *ops);
    size_t i = 0;
    int rc = 0;

    *deleted = 0;
    if (!ops)
        return JOBS_ENOMEM;
    while (i < o->n_jobs && rc == 0) {
        size_t n = 0, jobs = 0;

        for (; i < o->n_jobs && jobs < DEL_CHUNK; i++) {
            const owned_job *j = &o->jobs[i];
            jobs_batch_op op = JOBS_BATCH_OP_INIT;

            if (j->queued)
                continue;
            if (j->active) {
                op.kind = JOBS_BATCH_UPDATE;
                op.id = j->id;
                op.spec.fields = JOBS_JOB_ENABLED;
                op.spec.enabled = false;
                ops[n++] = op;
            }
            op = (jobs_batch_op)JOBS_BATCH_OP_INIT;
            op.kind = JOBS_BATCH_DELETE;
            op.id = j->id;
            ops[n++] = op;
            jobs++;
        }
        if (n && (rc = jobs_batch(NULL, store, id, ops, n)) == 0)
            *deleted += jobs;
    }
    free(ops);
    return rc;
}

/* The user's schedules deleted, but for those a job of theirs queued for deletion still uses
 * (JOBS_EINUSE: the scheduler removes the job at its next run, the schedule stays). One deleted
 * meanwhile is skipped. *deleted and *kept count them. 0, or the library's code. */
static int delete_schedules(size_t *deleted, size_t *kept, jobs_store *store, uint64_t id,
                            const owned *o)
{
    int rc;

    *deleted = *kept = 0;
    for (size_t i = 0; i < o->n_schedules; i++) {
        rc = jobs_schedule_delete(store, id, o->schedules[i]);
        if (rc == 0)
            (*deleted)++;
        else if (rc == JOBS_EINUSE)
            (*kept)++;
        else if (rc != JOBS_ENOTFOUND)
            return rc;
    }
    return 0;
}

/* The user's stacks made private with their webhooks off (the token dropped): the library
 * deletes no stack, so this is what keeps everyone else from seeing, using or calling them. */
static int close_stacks(jobs_store *store, uint64_t id, const owned *o)
{
    jobs_stack_spec spec = JOBS_STACK_SPEC_INIT;
    int rc;

    spec.fields = JOBS_STACK_PUBLIC | JOBS_STACK_WEBHOOK;
    spec.is_public = false;
    spec.webhook = JOBS_WEBHOOK_NONE;
    for (size_t i = 0; i < o->n_stacks; i++)
        if ((rc = jobs_stack_update(NULL, store, id, o->stacks[i], &spec)) != 0 &&
            rc != JOBS_ENOTFOUND)
            return rc;
    return 0;
}

/* Rounds of listing and deleting before `user del --with-data` gives up on a store that keeps
 * changing under it (each round follows a batch that failed on a job changed meanwhile). */
#define DEL_ROUNDS 8

/* What `user del --with-data` does before the user goes: the user's jobs deleted (*deleted),
 * then their schedules (sched[0] deleted, sched[1] kept for jobs queued for deletion), stacks
 * closed, with `o` their final listing. 0, or 1 after a message. */
static int delete_data(owned *o, size_t *deleted, size_t sched[2], jobs_store *store,
                       const char *name, uint64_t id)
{
    int rc = 0;

    *deleted = 0;
    sched[0] = sched[1] = 0;
    for (int round = 0;; round++) {
        size_t n = 0;

        owned_free(o);
        if ((rc = list_owned(o, store, id)) != 0 || o->n_jobs == o->n_queued)
            break;
        if (round == DEL_ROUNDS) {
            rc = JOBS_ECONFLICT;
            break;
        }
        rc = delete_jobs(&n, store, id, o);
        *deleted += n;
        if (rc && rc != JOBS_ENOTFOUND && rc != JOBS_EQUEUED)
            break;
    }
    if (rc == 0 && (rc = delete_schedules(&sched[0], &sched[1], store, id, o)) == 0)
        rc = close_stacks(store, id, o);
    if (rc) {
        fprintf(stderr, "jobs-server: user del: deleting the data of %s (id %" PRIu64 "): %s "
                        "(%s); %s is locked out (no password logs in) and stays until "
                        "'user del %s --with-data' runs again\n", name, id, jobs_strerror(rc),
                jobs_error_last(), name, name);
        return 1;
    }
    return 0;
}

/* `jobs-server user del NAME [--data DIR | --store URI] [--with-data]`: removes the user and
 * their sessions; refused while they own jobs, stacks or schedules unless --with-data, which
 * deletes their jobs and schedules and closes their stacks first (see docs/http-api.md,
 * "Listing and removing users"). */
int srv_cmd_user_del(int argc, char **argv)
{
    const char *name, *data;
    char a[160], b[64], c[64];
    srv_users *users = NULL;
    jobs_store *store = NULL;
    owned o;
    size_t ended = 0, ended_before = 0, deleted = 0, sched[2] = {0, 0};
    bool with_data;
    uint64_t id = 0;
    int rc;

    memset(&o, 0, sizeof o);
    if ((rc = store_args("user del", &name, &with_data, &data, argc, argv)) != 0)
        return rc;
    rc = 1;
    if (srv_check_data_dir(data) != 0 || open_users(&users, &store, data) != 0 ||
        srv_users_id(&id, users, name) != 0)
        goto out;
    if (!id) {
        fprintf(stderr, "jobs-server: no user named '%s'\n", name);
        goto out;
    }
    if ((rc = list_owned(&o, store, id)) != 0) {
        fprintf(stderr, "jobs-server: user del: listing what %s owns: %s (%s)\n", name,
                jobs_strerror(rc), jobs_error_last());
        rc = 1;
        goto out;
    }
    rc = 1;
    if (!with_data && (o.n_jobs || o.n_stacks || o.n_schedules)) {
        fprintf(stderr, "jobs-server: user del: %s (id %" PRIu64 ") owns %s: nothing was "
                        "changed; give --with-data to delete them with the user\n", name, id,
                describe(a, sizeof a, &o));
        goto out;
    }
    if (with_data) {
        /* First nobody can log in as the user, and their sessions end: nothing new of theirs
         * comes while their data goes. */
        if (srv_users_lock(users, name, id, end_sessions, &ended_before) != 0 ||
            delete_data(&o, &deleted, sched, store, name, id) != 0)
            goto out;
    }
    if (srv_users_del(users, name, id, end_sessions, &ended) != 0)
        goto out;
    ended += ended_before;
    printf("deleted user %s (id %" PRIu64 ") and ended %s\n", name, id,
           count_of(a, sizeof a, ended, "session"));
    if (with_data)
        printf("deleted %s and %s; %zu queued for deletion stay so until their next run, and "
               "%zu schedule%s they use; %s stay in the store under id %" PRIu64 ", private, "
               "webhooks off\n",
               count_of(a, sizeof a, deleted, "job"), count_of(b, sizeof b, sched[0], "schedule"),
               o.n_queued, sched[1], sched[1] == 1 ? "" : "s",
               count_of(c, sizeof c, o.n_stacks, "stack"), id);
    rc = 0;
out:
    owned_free(&o);
    srv_users_close(users);
    jobs_store_close(store);
    return rc;
}

int srv_ensure_demo_user(srv_users *users)
{
    const char *env = getenv("JOBS_DEMO_PASSWORD");
    const char *reset = getenv("JOBS_DEMO_RESET");
    char pw[33];
    uint64_t id;
    size_t n;

    if (srv_users_count(&n, users) != 0)
        return -1;
    if (n > 0) {
        /* A later start: the password is not lost silently. Say what happened to it, or set
         * it when asked to. */
        if (!env || !*env)
            return 0;
        if (reset && strcmp(reset, "1") == 0) {
            if (srv_users_passwd(users, "demo", env, NULL, NULL) != 0)
                return -1;
            printf("set the password of user demo from JOBS_DEMO_PASSWORD (JOBS_DEMO_RESET=1)\n");
        } else {
            printf("users exist: JOBS_DEMO_PASSWORD is not used (it only sets the first user's "
                   "password); JOBS_DEMO_RESET=1 sets demo's password from it, or run "
                   "'jobs-server user passwd demo'\n");
        }
        fflush(stdout);
        return 0;
    }
    if (env && *env) {
        snprintf(pw, sizeof pw, "%s", env);
        if (strlen(env) >= sizeof pw) {
            fprintf(stderr, "jobs-server: JOBS_DEMO_PASSWORD is too long (32 bytes at most)\n");
            return -1;
        }
    } else {
        unsigned char raw[12];
        randombytes_buf(raw, sizeof raw);
        sodium_bin2base64(pw, sizeof pw, raw, sizeof raw, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    }
    if (srv_users_add(users, &id, "demo", NULL, pw) != 0)
        return -1;
    clearerr(stdout);
    if (env && *env)
        printf("created user demo (password from JOBS_DEMO_PASSWORD)\n");
    else
        printf("created user demo with password %s (shown only this once)\n", pw);
    /* Standard output closed, a full disk, a reader gone: the only copy of the password is
     * lost. Not silently (it is not put on stderr, which may be a shared log). */
    if ((fflush(stdout) != 0 || ferror(stdout)) && !(env && *env))
        fprintf(stderr, "jobs-server: created user demo, but its password could not be written "
                        "to standard output (%s); set one with 'jobs-server user passwd demo' "
                        "(password on stdin), or start with "
                        "JOBS_DEMO_PASSWORD and JOBS_DEMO_RESET=1\n", strerror(errno));
    sodium_memzero(pw, sizeof pw);
    return 0;
}
