/* jobsctl import: loads a JSON-lines file of jobs through jobs_batch(), one chunk of lines per
 * transaction (docs/jobsctl.md). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "jobsctl.h"

#define IMPORT_CHUNK_DEFAULT 1000

/* The longest line kept: a body of JOBS_JSON_BODY_MAX bytes (the most the decoder takes) and
 * the CR of a CRLF line. A longer line is no job, and is not held: a file without newlines (a
 * JSON array of jobs, say) would otherwise be read into memory whole, as one line. */
#define IMPORT_LINE_MAX (JOBS_JSON_BODY_MAX + 1)

/* A line of the file without a CR at its end, and whether it holds anything but blanks: blank
 * lines are skipped, yet counted for line numbers. */
static size_t trim_line(const char *line, size_t len, bool *blank)
{
    if (len && line[len - 1] == '\r')
        len--;
    *blank = true;
    for (size_t i = 0; i < len && *blank; i++)
        *blank = line[i] == ' ' || line[i] == '\t';
    return len;
}

typedef struct import_state {
    const char *path;
    FILE *f;
    char *line; /* IMPORT_LINE_MAX bytes */
    unsigned long long lineno;
} import_state;

/* The next non-blank line at or after line `start`: 1 with the text and its length set, 0 at
 * the end, or -CTL_FAILED on a read error or a line longer than IMPORT_LINE_MAX (said). */
static int next_line(import_state *st, unsigned long long start, const char **text, size_t *len)
{
    for (;;) {
        size_t n = 0;
        bool blank, cut = false;
        int ch;

        while ((ch = getc_unlocked(st->f)) != EOF && ch != '\n') {
            if (n < IMPORT_LINE_MAX) {
                st->line[n++] = (char)ch;
            } else if (st->lineno + 1 >= start) {
                /* A line to import that cannot be a job: said at once, the rest unread. */
                st->lineno++;
                return -ctl_error("%s:%llu: the line is longer than %d bytes, the most a job's "
                                  "JSON may be",
                                  st->path, st->lineno, JOBS_JSON_BODY_MAX);
            } else {
                cut = true; /* a line before --start: skipped, and not kept */
            }
        }
        if (ch == EOF && ferror(st->f))
            return -ctl_error("cannot read '%s': %s", st->path, strerror(errno));
        if (ch == EOF && n == 0 && !cut)
            return 0;
        st->lineno++;
        *len = trim_line(st->line, n, &blank);
        if (!blank && st->lineno >= start) {
            *text = st->line;
            return 1;
        }
    }
}

/* A UTF-8 byte order mark at the start of the file (as some editors write one) is not part of
 * the first line: JSON has no place for it. Anywhere else it is the line's, which then does not
 * decode. */
static void skip_bom(FILE *f)
{
    unsigned char bom[3];

    if (fread(bom, 1, sizeof(bom), f) != sizeof(bom) || memcmp(bom, "\xef\xbb\xbf", 3) != 0)
        rewind(f);
}

static int open_file(import_state *st, const char *path)
{
    struct stat sb;

    memset(st, 0, sizeof(*st));
    st->path = path;
    if (!(st->f = fopen(path, "r")))
        return ctl_error("cannot open '%s': %s", path, strerror(errno));
    if (fstat(fileno(st->f), &sb) != 0 || !S_ISREG(sb.st_mode)) {
        fclose(st->f);
        st->f = NULL;
        return ctl_error("'%s' is not a regular file (it is read twice)", path);
    }
    st->line = ctl_xmalloc(IMPORT_LINE_MAX);
    skip_bom(st->f);
    return CTL_OK;
}

static void close_file(import_state *st)
{
    if (st->f)
        fclose(st->f);
    free(st->line);
    st->f = NULL;
    st->line = NULL;
}

/* The first pass: every line decodes as a job create body. Nothing is written. */
static int check_file(const char *path, unsigned long long start, unsigned long long *lines)
{
    import_state st;
    jobs_json_job_body body;
    const char *text;
    size_t len;
    int rc;

    *lines = 0;
    if ((rc = open_file(&st, path)))
        return rc;
    while ((rc = next_line(&st, start, &text, &len)) == 1) {
        int code = jobs_json_decode_job_create(&body, text, len);

        if (code) {
            close_file(&st);
            return ctl_fail(code, "%s:%llu", path, st.lineno);
        }
        (*lines)++;
    }
    close_file(&st);
    return rc < 0 ? -rc : CTL_OK;
}

/* The earlier create of the chunk whose name the create ops[failed] clashes with (a file that
 * gives one name twice within a chunk), or `failed` when there is none. */
static size_t first_taker(const jobs_batch_op *ops, size_t failed, int code)
{
    const char *name = ops[failed].spec.name;

    if (code != JOBS_EEXISTS || !(ops[failed].spec.fields & JOBS_JOB_NAME) || !name)
        return failed;
    for (size_t k = 0; k < failed; k++)
        if ((ops[k].spec.fields & JOBS_JOB_NAME) && ops[k].spec.name &&
            strcmp(ops[k].spec.name, name) == 0)
            return k;
    return failed;
}

static int import_run(ctl *c, const ctl_args *a)
{
    uint64_t owner, chunk = IMPORT_CHUNK_DEFAULT, start = 1;
    unsigned long long lines, done = 0, first_line = 0;
    uint64_t first_id = 0, last_id = 0;
    jobs_json_job_body *bodies = NULL;
    unsigned long long *linenos = NULL;
    jobs_batch_op *ops = NULL;
    import_state st;
    bool given;
    int rc;

    if ((rc = ctl_need_u64(&owner, a, "owner", 1, JOBS_ID_MAX)) ||
        (rc = ctl_opt_u64(&chunk, &given, a, "chunk", 1, JOBS_BATCH_MAX)) ||
        (rc = ctl_opt_u64(&start, &given, a, "start", 1, UINT64_MAX)))
        return rc;
    if (a->npos != 1)
        return ctl_usage_error(a, "give the file to import");
    if ((rc = check_file(a->pos[0], start, &lines)))
        return rc;
    if ((rc = ctl_open_store(c)))
        return rc;
    bodies = malloc(chunk * sizeof(*bodies));
    linenos = malloc(chunk * sizeof(*linenos));
    ops = malloc(chunk * sizeof(*ops));
    if (!bodies || !linenos || !ops) {
        rc = ctl_error("out of memory");
        goto out;
    }
    if ((rc = open_file(&st, a->pos[0])))
        goto out;
    for (;;) {
        jobs_batch_op init = JOBS_BATCH_OP_INIT;
        const char *text;
        size_t len, n = 0, failed;
        int got = 0, code;

        while (n < chunk && (got = next_line(&st, start, &text, &len)) == 1) {
            /* Checked in the first pass; a file changed in between is told here. */
            if ((code = jobs_json_decode_job_create(&bodies[n], text, len))) {
                rc = ctl_fail(code, "%s:%llu", st.path, st.lineno);
                break;
            }
            ops[n] = init;
            ops[n].kind = JOBS_BATCH_CREATE;
            ops[n].spec = bodies[n].spec; /* spec.name points into bodies[n], which stays */
            linenos[n] = st.lineno;
            n++;
        }
        if (rc || got < 0) {
            rc = rc ? rc : -got;
            break;
        }
        if (n == 0)
            break;
        if ((code = jobs_batch(&failed, c->store, owner, ops, n))) {
            size_t first = failed < n ? first_taker(ops, failed, code) : n;

            if (first < failed) /* the batch names operations; the file has lines */
                ctl_error("%s:%llu: name '%s' is already taken by line %llu of this file",
                          st.path, linenos[failed], ops[failed].spec.name, linenos[first]);
            else if (failed < n)
                ctl_fail(code, "%s:%llu", st.path, linenos[failed]);
            else
                ctl_fail(code, "%s: lines %llu-%llu", st.path, linenos[0], linenos[n - 1]);
            fprintf(stderr, "jobsctl: imported %llu of %llu job%s; the first line not imported is "
                    "%llu (resume with --start %llu)\n", done, lines, lines == 1 ? "" : "s",
                    linenos[0], linenos[0]);
            rc = CTL_FAILED;
            break;
        }
        if (!first_id) {
            first_id = ops[0].id;
            first_line = linenos[0];
        }
        last_id = ops[n - 1].id;
        done += n;
    }
    close_file(&st);
    if (rc == CTL_OK) {
        if (c->json && done == 0) /* no job, so no id: 0 is none */
            printf("{\"imported\":0,\"first_id\":null,\"last_id\":null}\n");
        else if (c->json)
            printf("{\"imported\":%llu,\"first_id\":%llu,\"last_id\":%llu}\n", done,
                   (unsigned long long)first_id, (unsigned long long)last_id);
        else if (done == 1)
            printf("imported 1 job (id %llu, from line %llu)\n", (unsigned long long)first_id,
                   first_line);
        else if (done)
            printf("imported %llu jobs (ids %llu-%llu, from line %llu)\n", done,
                   (unsigned long long)first_id, (unsigned long long)last_id, first_line);
        else
            printf("imported 0 jobs: no lines to import\n");
    }
out:
    free(bodies);
    free(linenos);
    free(ops);
    return rc;
}

const ctl_command ctl_import_commands[] = {
    {"jobs", "import", "--owner N [--chunk K] [--start LINE] FILE",
     "create jobs from a JSON-lines file",
     "Creates one job per line of FILE, each line a JSON object as the body of POST /jobs\n"
     "(schedule_id, stack_id, name, enabled and the run keys; docs/json.md). Blank lines are\n"
     "skipped. Every line is checked first: a line that is not such a body is reported as\n"
     "FILE:LINE and nothing is written. The jobs are then created K lines per transaction\n"
     "(jobs_batch): each chunk is written whole or not at all. When a job is refused (a name\n"
     "already used, a stack or schedule the owner may not use), its chunk is not written, the\n"
     "chunks before it stay, and FILE:LINE says which line and why; --start resumes there.\n"
     "Prints how many jobs were created and their ids (consecutive when nothing else creates\n"
     "jobs meanwhile). With --json: {\"imported\":N,\"first_id\":A,\"last_id\":B}, the ids\n"
     "null when N is 0.\n\n"
     "  --owner N         the owner of every job, 1..2^53-1\n"
     "  --chunk K         lines per transaction, 1..10000 (default 1000)\n"
     "  --start LINE      skip the lines before LINE (default 1)\n"
     "  FILE              a regular file (read twice)\n",
     "owner= chunk= start=", 1, import_run},
    {0},
};
