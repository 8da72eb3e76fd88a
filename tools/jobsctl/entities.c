/* jobsctl's commands on jobs, schedules and stacks. Each is one libjobs call; --json prints
 * what the library's JSON layer encodes (the HTTP API's bodies), tables are for people. list
 * and get only read, so they open the store with ctl_open_store_to_read(): a store of an earlier
 * libjobs (a backup kept for a rollback, say) is refused and left as it is, not migrated. */
#include <string.h>

#include "jobsctl.h"

#define U(x) ((unsigned long long)(x))

/* The options every entity command shares, for the help texts. */
#define OWNER_HELP "  --owner N         the owner, 1..2^53-1 (a user id of jobs-server)\n"
#define OWNER0_HELP "  --owner N         the owner, 1..2^53-1; 0 sees the public ones only\n"
#define PAGE_HELP                                                                                  \
    "  --page P          the page, from 1 (default 1); a page past the end is empty\n"             \
    "  --page-size S     entries per page, 1..1000 (default: the store's, 10)\n"

static int owner_arg(uint64_t *owner, const ctl_args *a, uint64_t min)
{
    return ctl_need_u64(owner, a, "owner", min, JOBS_ID_MAX);
}

static int page_args(uint64_t *page, uint32_t *page_size, const ctl_args *a)
{
    uint64_t size = 0;
    int rc;

    *page = 1;
    if ((rc = ctl_opt_u64(page, NULL, a, "page", 1, JOBS_ID_MAX)) ||
        (rc = ctl_opt_u64(&size, NULL, a, "page-size", 1, 1000)))
        return rc;
    *page_size = (uint32_t)size;
    return 0;
}

/* The line under a list: which page of how many. `many` is the plural ("jobs"); one record is
 * named by it without its final 's' ("1 job"). */
static void page_footer(uint64_t count, uint32_t page_size, uint64_t page, size_t n,
                        const char *many, const char *whose)
{
    uint64_t pages = count / page_size + (count % page_size != 0);
    int len = (int)strlen(many) - (count == 1 && many[0] && many[strlen(many) - 1] == 's');

    if (count == 0)
        printf("no %s %s\n", many, whose);
    else if (n == 0)
        printf("page %llu is past the end: %llu %.*s %s fill%s %llu page%s of %u\n", U(page),
               U(count), len, many, whose, count == 1 ? "s" : "", U(pages), pages == 1 ? "" : "s",
               page_size);
    else
        printf("page %llu of %llu (%llu %.*s %s)\n", U(page), U(pages), U(count), len, many,
               whose);
}

/* How a kind of record prints as a table: the columns, and a row per record. */
typedef struct table_kind {
    size_t cols;
    const char *const *head;
    const char *align;
    size_t item_size;
    void (*row)(ctl_table *t, const void *item);
} table_kind;

/* n records of a kind, contiguous at `items`, as one table. */
static void print_table(const table_kind *k, const void *items, size_t n)
{
    ctl_table t;

    ctl_table_init(&t, k->cols, k->head, k->align);
    for (size_t i = 0; i < n; i++)
        k->row(&t, (const char *)items + i * k->item_size);
    ctl_table_print(&t);
    ctl_table_free(&t);
}

/* A page as a table (when it has records), then its footer. */
static void print_page(const table_kind *k, const void *items, size_t n, uint64_t count,
                       uint32_t page_size, uint64_t page, const char *many, const char *whose)
{
    if (n > 0)
        print_table(k, items, n);
    page_footer(count, page_size, page, n, many, whose);
}

/* Name options of update commands: --name NAME, or --no-name for none. */
static int name_change(const char **name, bool *given, const ctl_args *a)
{
    *name = ctl_value(a, "name");
    *given = *name || ctl_flag(a, "no-name");
    if (*name && ctl_flag(a, "no-name"))
        return ctl_usage_error(a, "give --name or --no-name, not both");
    return 0;
}

/* ---- jobs ---------------------------------------------------------------------------------- */

static const char *const job_head[] = {"ID", "NAME", "STACK", "SCHEDULE", "STATE", "NEXT RUN"};

static void job_row(ctl_table *t, const void *item)
{
    const jobs_job *j = item;
    char when[40];

    ctl_table_cell(t, "%llu", U(j->id));
    ctl_table_cell(t, "%s", j->name ? j->name : "-");
    ctl_table_cell(t, "%llu", U(j->stack));
    ctl_table_cell(t, "%llu", U(j->schedule));
    ctl_table_cell(t, "%s", j->do_del ? "queued for deletion" : j->do_run ? "enabled" : "disabled");
    ctl_table_cell(t, "%s", j->do_run ? ctl_time(when, j->next_run) : "-");
}

static const table_kind job_table = {6, job_head, "rlrrll", sizeof(jobs_job), job_row};

static int print_job(const ctl *c, const jobs_job *job)
{
    if (c->json) {
        char *json;

        return ctl_print_json(jobs_json_encode_job(&json, job, 0), &json);
    }
    print_table(&job_table, job, 1);
    return CTL_OK;
}

static int jobs_list_run(ctl *c, const ctl_args *a)
{
    jobs_job_page *p = NULL;
    uint64_t owner, page;
    uint32_t page_size;
    int rc;

    if ((rc = owner_arg(&owner, a, 1)) || (rc = page_args(&page, &page_size, a)))
        return rc;
    if ((rc = ctl_open_store_to_read(c)))
        return rc;
    if ((rc = jobs_list(&p, c->store, owner, page, page_size)) != 0)
        return ctl_fail(rc, "jobs list");
    if (c->json) {
        char *json;

        rc = ctl_print_json(jobs_json_encode_job_page(&json, p), &json);
    } else {
        char whose[64];

        snprintf(whose, sizeof whose, "of owner %llu", U(owner));
        print_page(&job_table, p->jobs, p->n, p->count, p->page_size, p->page, "jobs", whose);
    }
    jobs_job_page_free(p);
    return rc;
}

static int jobs_get_run(ctl *c, const ctl_args *a)
{
    const char *name = ctl_value(a, "name");
    jobs_job *job = NULL;
    uint64_t owner, id = 0;
    int rc;

    if ((rc = owner_arg(&owner, a, 1)))
        return rc;
    if (name && a->npos > 0)
        return ctl_usage_error(a, "give a job id or --name, not both");
    if (!name && (rc = ctl_pos_u64(&id, a, 0, "job id", 1, JOBS_ID_MAX)))
        return rc;
    if ((rc = ctl_open_store_to_read(c)))
        return rc;
    if (name) {
        if ((rc = jobs_get_by_name(&job, c->store, owner, name)) != 0)
            return ctl_fail(rc, "jobs get --name '%s'", name);
    } else if ((rc = jobs_get(&job, c->store, owner, id)) != 0) {
        return ctl_fail(rc, "jobs get %llu", U(id));
    }
    rc = print_job(c, job);
    jobs_job_free(job);
    return rc;
}

static int jobs_create_run(ctl *c, const ctl_args *a)
{
    jobs_job_spec spec = JOBS_JOB_SPEC_INIT;
    uint64_t owner, id;
    int rc;

    if ((rc = owner_arg(&owner, a, 1)) ||
        (rc = ctl_need_u64(&spec.stack, a, "stack", 1, JOBS_ID_MAX)) ||
        (rc = ctl_need_u64(&spec.schedule, a, "schedule", 1, JOBS_ID_MAX)))
        return rc;
    spec.fields = JOBS_JOB_STACK | JOBS_JOB_SCHEDULE;
    if ((spec.name = ctl_value(a, "name")) != NULL)
        spec.fields |= JOBS_JOB_NAME;
    if (ctl_flag(a, "enabled")) {
        spec.fields |= JOBS_JOB_ENABLED;
        spec.enabled = true;
    }
    if ((rc = ctl_open_store(c)))
        return rc;
    if ((rc = jobs_create(&id, c->store, owner, &spec)) != 0)
        return ctl_fail(rc, "jobs create");
    if (c->json) {
        char *json;

        return ctl_print_json(jobs_json_encode_id(&json, id), &json);
    }
    printf("created job %llu\n", U(id));
    return CTL_OK;
}

static int jobs_update_run(ctl *c, const ctl_args *a)
{
    jobs_job_spec spec = JOBS_JOB_SPEC_INIT;
    jobs_job *job = NULL;
    uint64_t owner, id;
    bool given;
    int rc;

    if ((rc = owner_arg(&owner, a, 1)) || (rc = ctl_pos_u64(&id, a, 0, "job id", 1, JOBS_ID_MAX)) ||
        (rc = name_change(&spec.name, &given, a)))
        return rc;
    if (given)
        spec.fields |= JOBS_JOB_NAME;
    if ((rc = ctl_opt_u64(&spec.stack, &given, a, "stack", 1, JOBS_ID_MAX)))
        return rc;
    if (given)
        spec.fields |= JOBS_JOB_STACK;
    if ((rc = ctl_opt_u64(&spec.schedule, &given, a, "schedule", 1, JOBS_ID_MAX)))
        return rc;
    if (given)
        spec.fields |= JOBS_JOB_SCHEDULE;
    if (ctl_flag(a, "enabled") && ctl_flag(a, "disabled"))
        return ctl_usage_error(a, "give --enabled or --disabled, not both");
    if (ctl_flag(a, "enabled") || ctl_flag(a, "disabled")) {
        spec.fields |= JOBS_JOB_ENABLED;
        spec.enabled = ctl_flag(a, "enabled");
    }
    if (!spec.fields)
        return ctl_usage_error(a, "nothing to change: give --name, --no-name, --stack, "
                                  "--schedule, --enabled or --disabled");
    if ((rc = ctl_open_store(c)))
        return rc;
    if ((rc = jobs_update(&job, c->store, owner, id, &spec)) != 0)
        return ctl_fail(rc, "jobs update %llu", U(id));
    rc = print_job(c, job);
    jobs_job_free(job);
    return rc;
}

static int jobs_delete_run(ctl *c, const ctl_args *a)
{
    jobs_delete_outcome outcome;
    uint64_t owner, id;
    int rc;

    if ((rc = owner_arg(&owner, a, 1)) || (rc = ctl_pos_u64(&id, a, 0, "job id", 1, JOBS_ID_MAX)))
        return rc;
    if ((rc = ctl_open_store(c)))
        return rc;
    if ((rc = jobs_delete(&outcome, c->store, owner, id)) != 0)
        return ctl_fail(rc, "jobs delete %llu", U(id));
    if (c->json) {
        char *json;

        return ctl_print_json(jobs_json_encode_delete(&json, outcome, id), &json);
    }
    if (outcome == JOBS_DELETED)
        printf("deleted job %llu\n", U(id));
    else
        printf("job %llu is enabled: queued for deletion, it is deleted at its next run instead "
               "of running\n",
               U(id));
    return CTL_OK;
}

/* ---- schedules ----------------------------------------------------------------------------- */

static const char *const schedule_head[] = {"ID", "NAME", "OWNER", "RUNS"};

static void schedule_row(ctl_table *t, const void *item)
{
    const jobs_schedule *s = item;
    char buf[40];

    ctl_table_cell(t, "%llu", U(s->id));
    ctl_table_cell(t, "%s", s->name ? s->name : "-");
    if (s->owner == JOBS_OWNER_PUBLIC)
        ctl_table_cell(t, "public");
    else
        ctl_table_cell(t, "%llu", U(s->owner));
    if (s->kind == JOBS_SCHEDULE_CRON && s->cron)
        ctl_table_cell(t, "cron '%s' in %s", s->cron, s->tz ? s->tz : "UTC");
    else if (s->once)
        ctl_table_cell(t, "once at %s", ctl_time(buf, s->timestamp));
    else
        ctl_table_cell(t, "every %s", ctl_duration(buf, s->period));
}

static const table_kind schedule_table = {4, schedule_head, "rlrl", sizeof(jobs_schedule),
                                           schedule_row};

static int print_schedule(const ctl *c, const jobs_schedule *s)
{
    if (c->json) {
        char *json;

        return ctl_print_json(jobs_json_encode_schedule(&json, s), &json);
    }
    print_table(&schedule_table, s, 1);
    return CTL_OK;
}

/* --period S, --at UNIX_TS or --cron EXPR [--tz ZONE], into a spec: 0, or CTL_USAGE. */
static int schedule_config(jobs_schedule_spec *spec, bool *given, const ctl_args *a)
{
    uint64_t v;
    bool period, at;
    int rc;
    const char *cron = ctl_value(a, "cron"), *tz = ctl_value(a, "tz");

    if (tz && !cron)
        return ctl_usage_error(a, "--tz goes with --cron");
    if (cron) {
        if (ctl_value(a, "period") || ctl_value(a, "at"))
            return ctl_usage_error(a, "give one of --period, --at and --cron");
        spec->fields |= JOBS_SCHEDULE_KIND | JOBS_SCHEDULE_CONFIG;
        spec->kind = JOBS_SCHEDULE_CRON;
        spec->cron = cron;
        spec->tz = tz;
        *given = true;
        return 0;
    }

    if ((rc = ctl_opt_u64(&v, &period, a, "period", JOBS_PERIOD_MIN, JOBS_PERIOD_MAX)))
        return rc;
    if (period)
        spec->period = (int64_t)v;
    if ((rc = ctl_opt_u64(&v, &at, a, "at", 1, JOBS_ID_MAX)))
        return rc;
    if (at)
        spec->timestamp = (int64_t)v;
    if (period && at)
        return ctl_usage_error(a, "give one of --period, --at and --cron");
    *given = period || at;
    if (*given) { /* the kind is the option's, also when a cron schedule is updated */
        spec->fields |= JOBS_SCHEDULE_ONCE | JOBS_SCHEDULE_CONFIG | JOBS_SCHEDULE_KIND;
        spec->once = at;
        spec->kind = at ? JOBS_SCHEDULE_ONE_TIME : JOBS_SCHEDULE_PERIODIC;
    }
    return 0;
}

static int schedules_list_run(ctl *c, const ctl_args *a)
{
    jobs_schedule_page *p = NULL;
    uint64_t owner, page;
    uint32_t page_size;
    int rc;

    if ((rc = owner_arg(&owner, a, 0)) || (rc = page_args(&page, &page_size, a)))
        return rc;
    if ((rc = ctl_open_store_to_read(c)))
        return rc;
    if ((rc = jobs_schedule_list(&p, c->store, owner, page, page_size)) != 0)
        return ctl_fail(rc, "schedules list");
    if (c->json) {
        char *json;

        rc = ctl_print_json(jobs_json_encode_schedule_page(&json, p), &json);
    } else {
        char whose[64];

        snprintf(whose, sizeof whose, "visible to owner %llu", U(owner));
        print_page(&schedule_table, p->schedules, p->n, p->count, p->page_size, p->page,
                   "schedules", whose);
    }
    jobs_schedule_page_free(p);
    return rc;
}

static int schedules_get_run(ctl *c, const ctl_args *a)
{
    jobs_schedule *s = NULL;
    uint64_t owner, id;
    int rc;

    if ((rc = owner_arg(&owner, a, 0)) ||
        (rc = ctl_pos_u64(&id, a, 0, "schedule id", 1, JOBS_ID_MAX)))
        return rc;
    if ((rc = ctl_open_store_to_read(c)))
        return rc;
    if ((rc = jobs_schedule_get(&s, c->store, owner, id)) != 0)
        return ctl_fail(rc, "schedules get %llu", U(id));
    rc = print_schedule(c, s);
    jobs_schedule_free(s);
    return rc;
}

static int schedules_create_run(ctl *c, const ctl_args *a)
{
    jobs_schedule_spec spec = JOBS_SCHEDULE_SPEC_INIT;
    uint64_t owner, id;
    bool given;
    int rc;

    if ((rc = owner_arg(&owner, a, 0)) || (rc = schedule_config(&spec, &given, a)))
        return rc;
    if (!given)
        return ctl_usage_error(a, "give --period S, --at UNIX_TS or --cron EXPR");
    if ((spec.name = ctl_value(a, "name")) != NULL)
        spec.fields |= JOBS_SCHEDULE_NAME;
    if ((rc = ctl_open_store(c)))
        return rc;
    if ((rc = jobs_schedule_create(&id, c->store, owner, &spec)) != 0)
        return ctl_fail(rc, "schedules create");
    if (c->json) {
        char *json;

        return ctl_print_json(jobs_json_encode_id(&json, id), &json);
    }
    printf("created schedule %llu\n", U(id));
    return CTL_OK;
}

static int schedules_update_run(ctl *c, const ctl_args *a)
{
    jobs_schedule_spec spec = JOBS_SCHEDULE_SPEC_INIT;
    jobs_schedule *s = NULL;
    uint64_t owner, id;
    bool given;
    int rc;

    if ((rc = owner_arg(&owner, a, 0)) ||
        (rc = ctl_pos_u64(&id, a, 0, "schedule id", 1, JOBS_ID_MAX)) ||
        (rc = schedule_config(&spec, &given, a)) || (rc = name_change(&spec.name, &given, a)))
        return rc;
    if (given)
        spec.fields |= JOBS_SCHEDULE_NAME;
    if (!spec.fields)
        return ctl_usage_error(a, "nothing to change: give --name, --no-name, --period, --at or "
                                  "--cron");
    if ((rc = ctl_open_store(c)))
        return rc;
    if ((rc = jobs_schedule_update(&s, c->store, owner, id, &spec)) != 0)
        return ctl_fail(rc, "schedules update %llu", U(id));
    rc = print_schedule(c, s);
    jobs_schedule_free(s);
    return rc;
}

static int schedules_delete_run(ctl *c, const ctl_args *a)
{
    uint64_t owner, id;
    int rc;

    if ((rc = owner_arg(&owner, a, 0)) ||
        (rc = ctl_pos_u64(&id, a, 0, "schedule id", 1, JOBS_ID_MAX)))
        return rc;
    if ((rc = ctl_open_store(c)))
        return rc;
    if ((rc = jobs_schedule_delete(c->store, owner, id)) != 0)
        return ctl_fail(rc, "schedules delete %llu", U(id));
    if (c->json) {
        char *json;

        return ctl_print_json(jobs_json_encode_delete(&json, JOBS_DELETED, id), &json);
    }
    printf("deleted schedule %llu\n", U(id));
    return CTL_OK;
}

/* ---- stacks -------------------------------------------------------------------------------- */

static const char *const stack_head[] = {"ID", "NAME", "OWNER", "PUBLIC"};

static void stack_row(ctl_table *t, const void *item)
{
    const jobs_stack *s = item;

    ctl_table_cell(t, "%llu", U(s->id));
    ctl_table_cell(t, "%s", s->name);
    ctl_table_cell(t, "%llu", U(s->owner));
    ctl_table_cell(t, "%s", s->is_public ? "yes" : "no");
}

static const table_kind stack_table = {4, stack_head, "rlrl", sizeof(jobs_stack), stack_row};

static int stacks_list_run(ctl *c, const ctl_args *a)
{
    jobs_stack_page *p = NULL;
    uint64_t owner, page;
    uint32_t page_size;
    int rc;

    if ((rc = owner_arg(&owner, a, 0)) || (rc = page_args(&page, &page_size, a)))
        return rc;
    if ((rc = ctl_open_store_to_read(c)))
        return rc;
    if ((rc = jobs_stack_list(&p, c->store, owner, page, page_size)) != 0)
        return ctl_fail(rc, "stacks list");
    if (c->json) {
        char *json;

        rc = ctl_print_json(jobs_json_encode_stack_page(&json, p), &json);
    } else {
        char whose[64];

        snprintf(whose, sizeof whose, "visible to owner %llu", U(owner));
        print_page(&stack_table, p->stacks, p->n, p->count, p->page_size, p->page, "stacks",
                   whose);
    }
    jobs_stack_page_free(p);
    return rc;
}

static int stacks_get_run(ctl *c, const ctl_args *a)
{
    jobs_stack *s = NULL;
    uint64_t owner, id;
    int rc;

    if ((rc = owner_arg(&owner, a, 0)) || (rc = ctl_pos_u64(&id, a, 0, "stack id", 1, JOBS_ID_MAX)))
        return rc;
    if ((rc = ctl_open_store_to_read(c)))
        return rc;
    if ((rc = jobs_stack_get(&s, c->store, owner, id)) != 0)
        return ctl_fail(rc, "stacks get %llu", U(id));
    if (c->json) {
        char *json;

        rc = ctl_print_json(jobs_json_encode_stack(&json, s), &json);
    } else {
        print_table(&stack_table, s, 1);
    }
    jobs_stack_free(s);
    return rc;
}

static int stacks_create_run(ctl *c, const ctl_args *a)
{
    const char *name = ctl_value(a, "name");
    uint64_t owner, id;
    int rc;

    if ((rc = owner_arg(&owner, a, 1)))
        return rc;
    if (!name)
        return ctl_usage_error(a, "--name is required");
    if ((rc = ctl_open_store(c)))
        return rc;
    if ((rc = jobs_stack_create(&id, c->store, owner, name, ctl_flag(a, "public"))) != 0)
        return ctl_fail(rc, "stacks create");
    if (c->json) {
        char *json;

        return ctl_print_json(jobs_json_encode_id(&json, id), &json);
    }
    printf("created stack %llu\n", U(id));
    return CTL_OK;
}

/* ---- the table ----------------------------------------------------------------------------- */

const ctl_command ctl_entity_commands[] = {
    {"jobs", "list", "--owner N [--page P] [--page-size S]", "one page of an owner's jobs",
     "Prints one page of the owner's jobs, in id order, and which page of how many it is.\n"
     "With --json: the page as GET /jobs answers it ({\"count\":..,\"pagesize\":..,\"page\":..,\n"
     "\"jobs\":[..]}).\n\n" OWNER_HELP PAGE_HELP,
     "owner= page= page-size=", 0, jobs_list_run},
    {"jobs", "get", "--owner N (ID | --name NAME)", "one job, by id or by name",
     "Prints one job of the owner, by id or by name. Another owner's job is not found, as a\n"
     "missing one. With --json: the job as GET /jobs/byid/<id> answers it.\n\n" OWNER_HELP
     "  ID                the job's id\n"
     "  --name NAME       the job's name instead (compared byte for byte)\n",
     "owner= name=", 1, jobs_get_run},
    {"jobs", "create", "--owner N --stack ID --schedule ID [--name NAME] [--enabled]",
     "create a job",
     "Creates a job that runs the stack on the schedule, and prints its id. An enabled job's\n"
     "next run is set from now: now + period, or a one-time schedule's time.\n"
     "With --json: {\"id\":N}.\n\n" OWNER_HELP
     "  --stack ID        the stack it runs: the owner's own, or a public one\n"
     "  --schedule ID     its schedule: the owner's own, or a public one (1-5 are built in:\n"
     "                    every minute, 5 minutes, 15 minutes, hour, day)\n"
     "  --name NAME       a name, unique among the owner's jobs (default: none)\n"
     "  --enabled         enable it (default: disabled)\n",
     "owner= stack= schedule= name= enabled", 0, jobs_create_run},
    {"jobs", "update",
     "--owner N ID [--name NAME | --no-name] [--stack ID] [--schedule ID] "
     "[--enabled | --disabled]",
     "change some of a job's fields",
     "Changes the fields given and leaves the others, then prints the job. Enabling a\n"
     "disabled job, or giving an enabled one a new schedule, sets its next run anew. A job\n"
     "queued for deletion cannot be changed. With --json: the job after the change, as\n"
     "`jobs get` prints it.\n\n" OWNER_HELP "  ID                the job's id\n"
     "  --name NAME       a new name;  --no-name  removes the name\n"
     "  --stack ID        a new stack\n"
     "  --schedule ID     a new schedule\n"
     "  --enabled         enable it;  --disabled  disable it\n",
     "owner= name= no-name stack= schedule= enabled disabled", 1, jobs_update_run},
    {"jobs", "delete", "--owner N ID", "delete a job (or queue an enabled one)",
     "Deletes a disabled job at once. An enabled job is queued for deletion instead: it stays\n"
     "listed, read-only, and is deleted at its next run instead of running (the scheduler of\n"
     "a running jobs-server does that). With --json: {\"deleted\":ID} or\n"
     "{\"queued_for_deletion\":ID}.\n\n" OWNER_HELP "  ID                the job's id\n",
     "owner=", 1, jobs_delete_run},

    {"schedules", "list", "--owner N [--page P] [--page-size S]",
     "the public schedules and an owner's own",
     "Prints one page of the schedules the owner sees: the public ones (owner \"public\") and\n"
     "its own, in id order. With --json: the page as GET /schedules answers it.\n\n" OWNER0_HELP
         PAGE_HELP,
     "owner= page= page-size=", 0, schedules_list_run},
    {"schedules", "get", "--owner N ID", "one schedule",
     "Prints one schedule the owner sees (public, or its own). With --json: the schedule as\n"
     "GET /schedules/byid/<id> answers it.\n\n" OWNER0_HELP
     "  ID                the schedule's id\n",
     "owner=", 1, schedules_get_run},
    {"schedules", "create",
     "--owner N (--period S | --at UNIX_TS | --cron EXPR [--tz ZONE]) [--name NAME]",
     "create a periodic, one-time or cron schedule",
     "Creates a schedule of the owner and prints its id; owner 0 creates a public one, which\n"
     "every owner sees. With --json: {\"id\":N}.\n\n"
     "  --owner N         the owner, 1..2^53-1, or 0 for a public schedule\n"
     "  --period S        periodic: every S seconds, 60..31536000\n"
     "  --at UNIX_TS      one-time: at this Unix time (seconds since 1970, UTC), 1..2^53-1;\n"
     "                    e.g. --at $(date -d '2030-01-01 12:00' +%s)\n"
     "  --cron EXPR       cron: the minutes a 5-field cron expression names, e.g.\n"
     "                    --cron '30 2 * * *' (02:30 every day) or --cron @hourly\n"
     "  --tz ZONE         the IANA time zone of --cron, e.g. Europe/Berlin (default UTC)\n"
     "  --name NAME       a name (default: none)\n",
     "owner= period= at= cron= tz= name=", 0, schedules_create_run},
    {"schedules", "update",
     "--owner N ID [--name NAME | --no-name] [--period S | --at UNIX_TS | --cron EXPR [--tz ZONE]]",
     "change an owner's schedule",
     "Changes the owner's own schedule and prints it; public ones cannot be changed this\n"
     "way unless --owner is 0. A schedule that any job uses cannot be changed at all.\n"
     "--period makes it periodic, --at one-time, --cron a cron schedule. With --json: the\n"
     "schedule after the change.\n\n"
     "  --owner N         the owner, 1..2^53-1, or 0 for a public schedule\n"
     "  ID                the schedule's id\n"
     "  --name NAME       a new name;  --no-name  removes the name\n"
     "  --period S        periodic, every S seconds (60..31536000)\n"
     "  --at UNIX_TS      one-time, at this Unix time\n"
     "  --cron EXPR       cron, with --tz ZONE (default UTC)\n",
     "owner= name= no-name period= at= cron= tz=", 1, schedules_update_run},
    {"schedules", "delete", "--owner N ID", "delete an owner's unused schedule",
     "Deletes the owner's own schedule at once; its name is free again, its id is never\n"
     "given again. A schedule that any job uses (enabled or not, queued for deletion or not)\n"
     "cannot be deleted: move or delete those jobs first. Public ones cannot be deleted this\n"
     "way unless --owner is 0, and the built-in ones 1-5 not at all. With --json:\n"
     "{\"deleted\":ID}.\n\n"
     "  --owner N         the owner, 1..2^53-1, or 0 for a public schedule\n"
     "  ID                the schedule's id\n",
     "owner=", 1, schedules_delete_run},

    {"stacks", "list", "--owner N [--page P] [--page-size S]",
     "the public stacks and an owner's own",
     "Prints one page of the stacks the owner sees: the public ones and its own, in id\n"
     "order. With --json: the page as GET /blockstacks answers it.\n\n" OWNER0_HELP PAGE_HELP,
     "owner= page= page-size=", 0, stacks_list_run},
    {"stacks", "get", "--owner N ID", "one stack",
     "Prints one stack the owner sees (public, or its own). With --json: the stack as\n"
     "GET /blockstacks/byid/<id> answers it.\n\n" OWNER0_HELP
     "  ID                the stack's id\n",
     "owner=", 1, stacks_get_run},
    {"stacks", "create", "--owner N --name NAME [--public]", "create a stack",
     "Creates a stack of the owner and prints its id. libjobs keeps only its name and\n"
     "visibility; the host (jobs-server) gives it its meaning. With --json: "
     "{\"id\":N}.\n\n" OWNER_HELP "  --name NAME       its name (required)\n"
     "  --public          visible to, and usable by, every owner (default: the owner's only)\n",
     "owner= name= public", 0, stacks_create_run},
    {0},
};
