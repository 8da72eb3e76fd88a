/* jobsctl: options, the command table, help, dispatch and error reporting. The commands
 * themselves are in entities.c and admin.c. */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "jobsctl.h"
#include "std_fds.h"

static const char *const groups[] = {"jobs", "schedules", "stacks"};

static const ctl_command *const tables[] = {ctl_entity_commands, ctl_admin_commands,
                                            ctl_import_commands, ctl_copy_commands};

#define FOR_EACH_COMMAND(cmd)                                                                      \
    for (size_t t_ = 0; t_ < sizeof(tables) / sizeof(tables[0]); t_++)                             \
        for (const ctl_command *cmd = tables[t_]; cmd->name; cmd++)

/* ---- help ---------------------------------------------------------------------------------- */

static void print_global_usage(FILE *f)
{
    fputs("usage: jobsctl [--store DIR|URI] [--json] COMMAND [ARGS]\n", f);
}

/* The commands of `group`, or of no group when it is NULL. */
static void print_group_commands(FILE *f, const char *group)
{
    FOR_EACH_COMMAND(cmd)
    {
        char name[64];

        if ((group == NULL) != (cmd->group == NULL) || (group && strcmp(cmd->group, group) != 0))
            continue;
        snprintf(name, sizeof name, "%s%s%s", cmd->group ? cmd->group : "", cmd->group ? " " : "",
                 cmd->name);
        fprintf(f, "  %-18s %s\n", name, cmd->summary);
    }
}

/* The commands of `group`, or all of them, a group's together (jobs import is in its own
 * table, but listed with the other jobs commands), then those of no group. */
static void print_command_list(FILE *f, const char *group)
{
    if (group) {
        print_group_commands(f, group);
        return;
    }
    for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++)
        print_group_commands(f, groups[i]);
    print_group_commands(f, NULL);
}

static void print_help(void)
{
    print_global_usage(stdout);
    fputs("\n"
          "Reads and changes a libjobs store directly, without a server: jobs, schedules and\n"
          "stacks of an owner, an import of jobs from a file, the store's check and statistics,\n"
          "backups and restores, and a copy of a store into another. It may run while\n"
          "jobs-server (or any other program) has the store open.\n"
          "\n"
          "Commands:\n",
          stdout);
    print_command_list(stdout, NULL);
    fputs("\n"
          "Options (before or after the command):\n"
          "  --store DIR|URI  the store: a directory, LMDB's (default " CTL_DEFAULT_STORE ",\n"
          "                   the store of jobs-server --data ./var), or a PostgreSQL\n"
          "                   connection string: a URI (postgresql://...) or a libpq\n"
          "                   conninfo ('host=... dbname=...'); backup and restore take\n"
          "                   a directory only\n"
          "  --json           print JSON for scripts instead of tables\n"
          "  --help           this text; `jobsctl COMMAND --help` describes one command\n"
          "  --version        print the versions of jobsctl and libjobs\n"
          "\n"
          "Exit status: 0 done, 1 the operation failed, 2 usage error, 3 the store cannot be\n"
          "opened. Errors go to standard error. See jobsctl(1).\n",
          stdout);
}

static void print_group_help(FILE *f, const char *group)
{
    fprintf(f, "usage: jobsctl [--store DIR|URI] [--json] %s COMMAND [ARGS]\n\nCommands:\n",
            group);
    print_command_list(f, group);
    fprintf(f, "\n`jobsctl %s COMMAND --help` describes one command.\n", group);
}

static void print_command_usage(FILE *f, const ctl_command *cmd)
{
    fprintf(f, "usage: jobsctl [--store DIR|URI] [--json] %s%s%s%s%s\n",
            cmd->group ? cmd->group : "", cmd->group ? " " : "", cmd->name,
            *cmd->synopsis ? " " : "", cmd->synopsis);
}

static void print_command_help(const ctl_command *cmd)
{
    print_command_usage(stdout, cmd);
    printf("\n%s", cmd->help);
    fputs("\nAlso: --store DIR|URI (a store directory or a PostgreSQL connection string), "
          "--json,\n--help (see `jobsctl --help`).\n",
          stdout);
}

static int usage_top(const char *fmt, ...) CTL_PRINTF(1, 2);

static int usage_top(const char *fmt, ...)
{
    va_list ap;

    fputs("jobsctl: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    print_global_usage(stderr);
    fputs("Try 'jobsctl --help'.\n", stderr);
    return CTL_USAGE;
}

/* ---- reporting ----------------------------------------------------------------------------- */

int ctl_fail(int code, const char *what_fmt, ...)
{
    const char *detail = jobs_error_last();
    va_list ap;

    fputs("jobsctl: ", stderr);
    va_start(ap, what_fmt);
    vfprintf(stderr, what_fmt, ap);
    va_end(ap);
    fprintf(stderr, ": %s", jobs_strerror(code));
    if (*detail)
        fprintf(stderr, " (%s)", detail);
    fputc('\n', stderr);
    return CTL_FAILED;
}

int ctl_error(const char *fmt, ...)
{
    va_list ap;

    fputs("jobsctl: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return CTL_FAILED;
}

int ctl_print_json(int code, char **json)
{
    if (code)
        return ctl_fail(code, "encoding JSON");
    puts(*json);
    jobs_json_free(*json);
    *json = NULL;
    return CTL_OK;
}

/* ---- arguments ----------------------------------------------------------------------------- */

int ctl_usage_error(const ctl_args *a, const char *fmt, ...)
{
    const ctl_command *cmd = a->cmd;
    va_list ap;

    fprintf(stderr, "jobsctl: %s%s%s: ", cmd->group ? cmd->group : "", cmd->group ? " " : "",
            cmd->name);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    print_command_usage(stderr, cmd);
    fprintf(stderr, "Try 'jobsctl %s%s%s --help'.\n", cmd->group ? cmd->group : "",
            cmd->group ? " " : "", cmd->name);
    return CTL_USAGE;
}

static int find_opt(const ctl_args *a, const char *name)
{
    size_t len = strlen(name);

    for (int i = 0; i < a->nopts; i++)
        if (a->opts[i].len == len && memcmp(a->opts[i].name, name, len) == 0)
            return i;
    return -1;
}

const char *ctl_value(const ctl_args *a, const char *name)
{
    int i = find_opt(a, name);

    return i < 0 ? NULL : a->opts[i].value;
}

bool ctl_flag(const ctl_args *a, const char *name)
{
    return find_opt(a, name) >= 0;
}

/* Strict decimal: digits only (no sign, no blanks, no "0x"), the whole string, within min..max. */
static bool parse_u64(uint64_t *out, const char *s, uint64_t min, uint64_t max)
{
    unsigned long long v;
    char *end;

    if (*s < '0' || *s > '9')
        return false;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno || *end || v < min || v > max)
        return false;
    *out = v;
    return true;
}

static const char *range_text(char buf[64], uint64_t min, uint64_t max)
{
    if (max == JOBS_ID_MAX)
        snprintf(buf, 64, "%llu..2^53-1", (unsigned long long)min);
    else
        snprintf(buf, 64, "%llu..%llu", (unsigned long long)min, (unsigned long long)max);
    return buf;
}

int ctl_opt_u64(uint64_t *out, bool *given, const ctl_args *a, const char *name, uint64_t min,
                uint64_t max)
{
    const char *v = ctl_value(a, name);
    char range[64];

    if (given)
        *given = v != NULL;
    if (!v)
        return 0;
    if (!parse_u64(out, v, min, max))
        return ctl_usage_error(a, "--%s must be an integer in %s, not '%s'", name,
                               range_text(range, min, max), v);
    return 0;
}

int ctl_need_u64(uint64_t *out, const ctl_args *a, const char *name, uint64_t min, uint64_t max)
{
    bool given;
    int rc = ctl_opt_u64(out, &given, a, name, min, max);

    if (rc == 0 && !given)
        return ctl_usage_error(a, "--%s is required", name);
    return rc;
}

int ctl_pos_u64(uint64_t *out, const ctl_args *a, int i, const char *what, uint64_t min,
                uint64_t max)
{
    char range[64];

    if (i >= a->npos)
        return ctl_usage_error(a, "the %s is missing", what);
    if (!parse_u64(out, a->pos[i], min, max))
        return ctl_usage_error(a, "the %s must be an integer in %s, not '%s'", what,
                               range_text(range, min, max), a->pos[i]);
    return 0;
}

/* Whether `spec` ("owner= page= enabled") lists the option name[0..len); sets *takes_value. */
static bool option_known(const char *spec, const char *name, size_t len, bool *takes_value)
{
    const char *p = spec;

    while (*p) {
        size_t n = strcspn(p, " ");
        bool value = n > 0 && p[n - 1] == '=';
        size_t base = value ? n - 1 : n;

        if (base == len && memcmp(p, name, len) == 0) {
            *takes_value = value;
            return true;
        }
        p += n;
        p += strspn(p, " ");
    }
    return false;
}

/* Parses a command's arguments, global options included. Returns 0, CTL_USAGE, or -1 when
 * --help was asked for (printed). */
static int parse_args(ctl *c, ctl_args *a, const ctl_command *cmd, int argc, char **argv)
{
    bool only_pos = false;

    memset(a, 0, sizeof(*a));
    a->cmd = cmd;
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i];

        if (only_pos || arg[0] != '-' || arg[1] == '\0') {
            if (a->npos == cmd->max_pos || a->npos == CTL_MAX_POS)
                return ctl_usage_error(a, "unexpected argument '%s'", arg);
            a->pos[a->npos++] = arg;
            continue;
        }
        if (strcmp(arg, "--") == 0) {
            only_pos = true;
            continue;
        }
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            print_command_help(cmd);
            return -1;
        }
        if (arg[1] != '-')
            return ctl_usage_error(a, "unknown option '%s'", arg);

        const char *name = arg + 2, *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        const char *value = eq ? eq + 1 : NULL;
        bool takes_value;

        if (len == 4 && memcmp(name, "json", 4) == 0) {
            if (value)
                return ctl_usage_error(a, "--json takes no value");
            c->json = true;
            continue;
        }
        if (len == 5 && memcmp(name, "store", 5) == 0) {
            if (!value && i + 1 == argc)
                return ctl_usage_error(a, "--store needs a value: a store directory or a "
                                          "PostgreSQL connection string");
            c->store_path = value ? value : argv[++i];
            continue;
        }
        if (!option_known(cmd->options, name, len, &takes_value))
            return ctl_usage_error(a, "unknown option '--%.*s'", (int)len, name);
        if (!takes_value && value)
            return ctl_usage_error(a, "--%.*s takes no value", (int)len, name);
        if (takes_value && !value) {
            if (i + 1 == argc)
                return ctl_usage_error(a, "--%.*s needs a value", (int)len, name);
            value = argv[++i];
        }
        for (int k = 0; k < a->nopts; k++)
            if (a->opts[k].len == len && memcmp(a->opts[k].name, name, len) == 0)
                return ctl_usage_error(a, "--%.*s is given twice", (int)len, name);
        if (a->nopts == CTL_MAX_OPTS)
            return ctl_usage_error(a, "too many options");
        a->opts[a->nopts].name = name;
        a->opts[a->nopts].len = len;
        a->opts[a->nopts].value = value;
        a->nopts++;
    }
    if (!*c->store_path)
        return ctl_usage_error(a, "--store needs a value: a store directory or a PostgreSQL "
                                  "connection string");
    return 0;
}

/* ---- dispatch ------------------------------------------------------------------------------ */

static bool is_group(const char *word)
{
    for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++)
        if (strcmp(word, groups[i]) == 0)
            return true;
    return false;
}

static const ctl_command *find_command(const char *group, const char *name)
{
    FOR_EACH_COMMAND(cmd)
    {
        if ((group == NULL) != (cmd->group == NULL))
            continue;
        if (group && strcmp(group, cmd->group) != 0)
            continue;
        if (strcmp(name, cmd->name) == 0)
            return cmd;
    }
    return NULL;
}

/* Opens the store in `path` read-only into *out: 0 or the library's code. */
static int open_readonly(jobs_store **out, const char *path)
{
    jobs_store_options opts = JOBS_STORE_OPTIONS_INIT;

    opts.path = path;
    opts.flags = JOBS_STORE_READONLY;
    return jobs_store_open(out, &opts);
}

int ctl_store_exists(const char *path)
{
    return ctl_store_state(path, NULL);
}

int ctl_store_state(const char *path, bool *older)
{
    jobs_store *s = NULL;
    int rc = open_readonly(&s, path);

    jobs_store_close(s);
    /* The library's detail says a read-write open would migrate it (ctl_old_schema()). */
    if (older)
        *older = rc == JOBS_ESCHEMA && strstr(jobs_error_last(), "to migrate it") != NULL;
    /* Open elsewhere, or in need of a migration: there is a store. */
    if (rc == 0 || rc == JOBS_EBUSY || rc == JOBS_ESCHEMA)
        return CTL_OK;
    if (rc == JOBS_ENOTFOUND)
        return CTL_NO_STORE;
    /* JOBS_EINVAL too ("... is not a directory", "... is too long"): not "no store there", which
     * `init` would then refuse for the same reason. */
    ctl_fail(rc, "opening the store '%s'", path);
    return CTL_FAILED;
}

/* A missing store is not created: a mistyped --store would otherwise give an empty store that
 * answers "not found". */
static int no_store(const char *path, int rc)
{
    if (rc == CTL_NO_STORE)
        fprintf(stderr,
                "jobsctl: no store in '%s'; give --store DIR|URI, or create one with 'jobsctl "
                "--store DIR|URI init'\n",
                path);
    return CTL_NO_STORE;
}

bool ctl_is_postgres(const char *path)
{
    return strcmp(jobs_store_path_backend(path), "postgresql") == 0;
}

int ctl_old_schema(int rc, const char *path)
{
    /* The library's detail says whether the store is of an earlier schema, which a read-write
     * open migrates ("... (open it read-write once to migrate it)" of LMDB, "...: open it
     * read-write once to migrate it to 5" of PostgreSQL). A later schema, or an LMDB
     * environment that is no libjobs store, cannot be migrated: init and restore refuse it as
     * well, so they are not what to do. */
    bool older = strstr(jobs_error_last(), "to migrate it") != NULL;
    bool pg = ctl_is_postgres(path);

    ctl_fail(rc, "opening the store '%s'", path);
    if (!older) {
        fprintf(stderr,
                "jobsctl: '%s' was left as it is: this libjobs can neither read it nor migrate "
                "it (%s)\n",
                path, pg ? "a store of a later libjobs" : "a store of a later libjobs, or not a "
                                                          "libjobs store");
        return CTL_NO_STORE;
    }
    /* restore is LMDB's (PostgreSQL answers JOBS_ENOTSUP), and copy refuses a source of an
     * older schema: on PostgreSQL, init is the one way, and the copy to keep is pg_dump's. */
    if (pg) {
        fprintf(stderr,
                "jobsctl: '%s' was left as it is: a command that only reads never migrates a "
                "store. 'jobsctl init' with this --store migrates a PostgreSQL store of an "
                "earlier libjobs in place, in one transaction, once no process of that libjobs "
                "has it open (keep a copy first, with PostgreSQL's own tools, pg_dump: that "
                "libjobs cannot read it afterwards)\n",
                path);
        return CTL_NO_STORE;
    }
    fprintf(stderr,
            "jobsctl: '%s' was left as it is: a command that only reads never migrates a "
            "store. 'jobsctl --store %s init' migrates a store of an earlier libjobs in place "
            "(keep a copy: that libjobs cannot read it afterwards); 'jobsctl --store NEW "
            "restore %s' makes a migrated store of it and leaves it as it is\n",
            path, path, path);
    return CTL_NO_STORE;
}

int ctl_open_store_to_read(ctl *c)
{
    int rc = open_readonly(&c->store, c->store_path);

    if (rc == 0)
        return CTL_OK;
    /* Another process has it open (it may write): read-write, as that process does. A store of
     * another schema is not opened read-write: that would migrate it (a backup kept for a
     * rollback, say) behind a command that only reads. */
    if (rc == JOBS_EBUSY)
        return ctl_open_store(c);
    if (rc == JOBS_ESCHEMA)
        return ctl_old_schema(rc, c->store_path);
    if (rc == JOBS_ENOTFOUND)
        return no_store(c->store_path, CTL_NO_STORE);
    ctl_fail(rc, "opening the store '%s'", c->store_path);
    return CTL_NO_STORE;
}

int ctl_open_store_unmigrated(ctl *c)
{
    jobs_store *s = NULL;
    int rc = open_readonly(&s, c->store_path);

    /* The read-only open tells the schema and changes nothing; the read-write open after it
     * would migrate an older one. Open in another process (JOBS_EBUSY), the store cannot be
     * looked at without a read-write open. */
    jobs_store_close(s);
    if (rc == JOBS_ESCHEMA)
        return ctl_old_schema(rc, c->store_path);
    return ctl_open_store(c);
}

int ctl_open_store(ctl *c)
{
    jobs_store_options opts = JOBS_STORE_OPTIONS_INIT;
    int rc = ctl_store_exists(c->store_path);

    if (rc != CTL_OK)
        return no_store(c->store_path, rc);
    opts.path = c->store_path;
    if ((rc = jobs_store_open(&c->store, &opts)) != 0) {
        ctl_fail(rc, "opening the store '%s'", c->store_path);
        return CTL_NO_STORE;
    }
    return CTL_OK;
}

/* The exit status once the output is written: a help text or a result that could not be
 * written (a full disk, a closed pipe) is a failure, not "done". */
static int finish(int rc)
{
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "jobsctl: writing the output: %s\n", strerror(errno));
        return CTL_FAILED;
    }
    return rc;
}

int main(int argc, char **argv)
{
    ctl c = {CTL_DEFAULT_STORE, false, NULL};
    const ctl_command *cmd;
    const char *group = NULL;
    ctl_args a;
    int i = 1, rc;

    /* Before anything is opened (std_fds.h): no file of the store lands on a closed standard
     * descriptor, and writing the result to a closed standard output fails (EBADF), which
     * finish() reports, instead of going to the writable /dev/null the library would put
     * there (jobsctl said "done", exit 0). */
    hold_std_fds();
    if (jobs_version() != JOBS_VERSION_NUMBER) {
        fprintf(stderr, "jobsctl: built for libjobs %s but runs with %s\n", JOBS_VERSION_STRING,
                jobs_version_string());
        return CTL_FAILED;
    }
    /* Options before the command. */
    for (; i < argc && argv[i][0] == '-'; i++) {
        const char *arg = argv[i];

        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            print_help();
            return finish(CTL_OK);
        } else if (strcmp(arg, "--version") == 0) {
            printf("jobsctl %s (libjobs %s)\n", JOBS_VERSION_STRING, jobs_version_string());
            return finish(CTL_OK);
        } else if (strcmp(arg, "--json") == 0) {
            c.json = true;
        } else if (strcmp(arg, "--store") == 0 && i + 1 < argc) {
            c.store_path = argv[++i];
        } else if (strncmp(arg, "--store=", 8) == 0) {
            c.store_path = arg + 8;
        } else if (strcmp(arg, "--store") == 0) {
            return usage_top("--store needs a value: a store directory or a PostgreSQL "
                             "connection string");
        } else {
            return usage_top("unknown option '%s'", arg);
        }
    }
    if (i == argc)
        return usage_top("no command given");

    if (strcmp(argv[i], "help") == 0) {
        /* `jobsctl help [GROUP] [COMMAND]` */
        if (i + 1 == argc) {
            print_help();
        } else if (is_group(argv[i + 1]) && i + 2 == argc) {
            print_group_help(stdout, argv[i + 1]);
        } else {
            bool grouped = is_group(argv[i + 1]) && i + 2 < argc;

            cmd =
                grouped ? find_command(argv[i + 1], argv[i + 2]) : find_command(NULL, argv[i + 1]);
            if (!cmd)
                return usage_top("no help for '%s%s%s'", argv[i + 1], grouped ? " " : "",
                                 grouped ? argv[i + 2] : "");
            print_command_help(cmd);
        }
        return finish(CTL_OK);
    }

    if (is_group(argv[i])) {
        group = argv[i++];
        if (i == argc) {
            fprintf(stderr, "jobsctl: %s: a command is needed\n", group);
            print_group_help(stderr, group);
            return CTL_USAGE;
        }
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            print_group_help(stdout, group);
            return finish(CTL_OK);
        }
    }
    if (!(cmd = find_command(group, argv[i]))) {
        if (group) {
            fprintf(stderr, "jobsctl: %s: unknown command '%s'\n", group, argv[i]);
            print_group_help(stderr, group);
            return CTL_USAGE;
        }
        return usage_top("unknown command '%s'", argv[i]);
    }
    i++;
    if ((rc = parse_args(&c, &a, cmd, argc - i, argv + i)) != 0)
        return rc < 0 ? finish(CTL_OK) : rc;
    rc = cmd->run(&c, &a);
    jobs_store_close(c.store);
    return finish(rc);
}
