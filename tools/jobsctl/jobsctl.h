/* jobsctl: a command-line tool on libjobs. What its files share:
 *
 *   jobsctl.c   options, the command table, help, dispatch, error reporting
 *   entities.c  jobs, schedules and stacks: list, get, create, update, delete
 *   admin.c     init, check, stats, backup, restore
 *   output.c    tables, JSON strings, times and sizes for people
 *
 * Every command's run function returns the process's exit status (enum ctl_exit). */
#ifndef JOBSCTL_H
#define JOBSCTL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <jobs.h>

#if defined(__GNUC__)
#define CTL_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define CTL_PRINTF(f, a)
#endif

/* Exit statuses, as docs/man/jobsctl.1 lists them. */
enum ctl_exit {
    CTL_OK = 0,      /* done */
    CTL_FAILED = 1,  /* the operation failed: not found, refused, corrupt, I/O ... */
    CTL_USAGE = 2,   /* the command line is wrong */
    CTL_NO_STORE = 3 /* the store cannot be opened (missing, unreadable, other schema) */
};

/* The store directory when --store is not given: jobs-server's, run with its default
 * `--data ./var`. */
#define CTL_DEFAULT_STORE "./var/store"

/* Most options and positional arguments any command takes. */
#define CTL_MAX_OPTS 12
#define CTL_MAX_POS 2

/* The state every command runs with. */
typedef struct ctl {
    const char *store_path; /* --store */
    bool json;              /* --json */
    jobs_store *store;      /* once ctl_open_store*() succeeded; main() closes it */
} ctl;

struct ctl_command;

/* One command's arguments, as given. Option values point into argv. */
typedef struct ctl_args {
    const struct ctl_command *cmd;
    struct {
        const char *name; /* without "--" */
        size_t len;
        const char *value; /* NULL for a flag */
    } opts[CTL_MAX_OPTS];
    int nopts;
    const char *pos[CTL_MAX_POS];
    int npos;
} ctl_args;

typedef int (*ctl_run_fn)(ctl *c, const ctl_args *a);

/* A command: `jobsctl [GROUP] NAME ARGS`. */
typedef struct ctl_command {
    const char *group;    /* "jobs", "schedules", "stacks", or NULL for a top-level command */
    const char *name;     /* "list" */
    const char *synopsis; /* what follows the name in the usage line */
    const char *summary;  /* one line for the command list */
    const char *help;     /* the description and options, for --help */
    const char *options;  /* accepted options, by name, space-separated; "name=" takes a value */
    int max_pos;          /* positional arguments at most (the run function wants its own) */
    ctl_run_fn run;
} ctl_command;

/* The command tables of entities.c and admin.c, each ended by a zeroed entry. */
extern const ctl_command ctl_entity_commands[];
extern const ctl_command ctl_admin_commands[];
/* jobs import (import.c). */
extern const ctl_command ctl_import_commands[];
/* copy.c's: jobsctl copy FROM TO. */
extern const ctl_command ctl_copy_commands[];

/* ---- arguments (jobsctl.c) ---- */

/* The value of option `name` ("owner"), or NULL when not given. */
const char *ctl_value(const ctl_args *a, const char *name);
/* Whether option `name` was given. */
bool ctl_flag(const ctl_args *a, const char *name);
/* Reads option `name` as an integer in min..max into *out, and sets *given; leaves *out alone
 * when the option is absent. 0, or CTL_USAGE after saying what is wrong. */
int ctl_opt_u64(uint64_t *out, bool *given, const ctl_args *a, const char *name, uint64_t min,
                uint64_t max);
/* The same for a required option: absent is CTL_USAGE. */
int ctl_need_u64(uint64_t *out, const ctl_args *a, const char *name, uint64_t min, uint64_t max);
/* Reads positional argument `i` (named `what` in messages) as an integer in min..max. */
int ctl_pos_u64(uint64_t *out, const ctl_args *a, int i, const char *what, uint64_t min,
                uint64_t max);
/* Reports a usage error of the command and returns CTL_USAGE. */
int ctl_usage_error(const ctl_args *a, const char *fmt, ...) CTL_PRINTF(2, 3);

/* ---- the store (jobsctl.c) ---- */

/* Opens the existing store of --store into c->store, after the command's arguments are read (a
 * usage error is told before a missing store). A missing store is not created. The open is
 * read-write, and a read-write open migrates a store of an earlier libjobs in place: only the
 * commands that write use it. CTL_OK, or CTL_NO_STORE after saying why. */
int ctl_open_store(ctl *c);

/* The same for a command that only reads (list, get, check, stats): the store is opened
 * read-only (nothing written, not even a lock file: a backup stays as it was) unless another
 * process has it open; then as ctl_open_store() does. A store of another schema is refused
 * (ctl_old_schema), never migrated. */
int ctl_open_store_to_read(ctl *c);

/* The same as ctl_open_store() for a command that reads the store and writes elsewhere (backup):
 * the store is opened read-write, so that the command's read transaction keeps its snapshot
 * from the writers of other processes (a read-only open takes no lock), but a store of another
 * schema is first refused as ctl_open_store_to_read() refuses it, never migrated. */
int ctl_open_store_unmigrated(ctl *c);

/* Whether the library opens `path` as a PostgreSQL store (a postgresql:// or postgres:// URI, or
 * a libpq conninfo), not as an LMDB directory. */
bool ctl_is_postgres(const char *path);

/* Reports that the store in `path` has a schema a read-only open refuses (`rc`, JOBS_ESCHEMA),
 * with how to migrate it on its backend, and returns CTL_NO_STORE. */
int ctl_old_schema(int rc, const char *path);

/* Whether --store holds a store (a read-only look; CTL_OK yes, CTL_NO_STORE no, CTL_FAILED
 * when that cannot be told, said on stderr). */
int ctl_store_exists(const char *path);

/* ctl_store_exists(), and in *older (if not NULL) whether the store there is of an earlier
 * schema, which a read-write open migrates. */
int ctl_store_state(const char *path, bool *older);

/* ---- reporting (jobsctl.c) ---- */

/* Reports a libjobs failure, `jobsctl: <what>: <message> (<detail>)`, and returns CTL_FAILED. */
int ctl_fail(int code, const char *what_fmt, ...) CTL_PRINTF(2, 3);
/* Reports a failure that has no libjobs code and returns CTL_FAILED. */
int ctl_error(const char *fmt, ...) CTL_PRINTF(1, 2);
/* Prints a string of the JSON layer, *json, and frees it; or reports `code`, the encoder's
 * failure. Called as ctl_print_json(jobs_json_encode_x(&json, ...), &json). */
int ctl_print_json(int code, char **json);

/* ---- output (output.c) ---- */

/* A table for people: a header line, a rule, and rows of aligned columns. */
typedef struct ctl_table {
    size_t ncols;
    const char *const *head;
    const char *align; /* one 'l' or 'r' per column */
    char **cells;      /* row by row */
    size_t ncells, cap;
} ctl_table;

void ctl_table_init(ctl_table *t, size_t ncols, const char *const *head, const char *align);
/* Appends the next cell (rows fill left to right, then the next row begins). */
void ctl_table_cell(ctl_table *t, const char *fmt, ...) CTL_PRINTF(2, 3);
/* Prints the table on stdout; a table made with a NULL head prints no header. */
void ctl_table_print(const ctl_table *t);
void ctl_table_free(ctl_table *t);

/* `s` as a JSON string, quotes included: escapes as RFC 8259 asks, invalid UTF-8 as U+FFFD. */
void ctl_json_string(FILE *f, const char *s);
/* A Unix time as "2024-06-01T12:00:00Z" (UTC), or the bare number when out of range. */
const char *ctl_time(char buf[40], int64_t t);
/* Seconds as "1h30m", "1d", "45s". */
const char *ctl_duration(char buf[40], int64_t s);
/* A byte count as "1.5 MiB (1572864 bytes)". */
const char *ctl_bytes(char buf[64], uint64_t n);
/* "1 job", "2 jobs". */
const char *ctl_plural(char buf[64], uint64_t n, const char *one, const char *many);

/* Memory for the tool: never NULL (out of memory ends the process with CTL_FAILED). */
void *ctl_xmalloc(size_t size);
void *ctl_xrealloc(void *p, size_t size);

#endif
