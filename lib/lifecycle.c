/* The store's public lifecycle: opening (with the schema check or a new store's first
 * contents), closing, and statistics. */
#include "rank.h"
#include "rules.h"

static const char schema_key[] = "schema";

static int check_version(jobs_store *s, MDB_txn *txn)
{
    MDB_val v;
    uint32_t version;
    int rc = jobs__get(txn, s->meta, schema_key, sizeof(schema_key) - 1, &v);

    if (rc == JOBS_ENOTFOUND) {
        /* A new store: its schema version, then its first contents, in one transaction. */
        version = JOBS__SCHEMA_VERSION;
        rc = jobs__put(txn, s->meta, schema_key, sizeof(schema_key) - 1, &version,
                       sizeof(version), 0);
        return rc ? rc : jobs__schedules_seed(txn, s);
    }
    if (rc)
        return rc;
    if (v.mv_size != sizeof(version))
        return jobs__error(JOBS_ESCHEMA, "the store's schema version record is malformed");
    memcpy(&version, v.mv_data, sizeof(version));
    if (version == 1) {
        /* Schema 1 had no rank index (and empty job_owner values): build it, in the same
         * transaction as the version change, so a crash leaves either schema whole. */
        version = JOBS__SCHEMA_VERSION;
        if ((rc = jobs__rank_build(txn, s)))
            return rc;
        return jobs__put(txn, s->meta, schema_key, sizeof(schema_key) - 1, &version,
                         sizeof(version), 0);
    }
    if (version != JOBS__SCHEMA_VERSION)
        return jobs__error(JOBS_ESCHEMA,
                           "the store has schema version %u; this libjobs reads version %u",
                           version, JOBS__SCHEMA_VERSION);
    return 0;
}

/* The first transaction of every open: the schema (new store, migration or check), then the
 * counters that stores written by earlier builds may lack. */
static int check_schema(jobs_store *s, MDB_txn *txn, void *ctx)
{
    int rc;

    (void)ctx;
    if ((rc = check_version(s, txn)))
        return rc;
    return jobs__queued_init(txn, s);
}

int jobs_store_open(jobs_store **out, const jobs_store_options *opts)
{
    jobs_store *s;
    int rc;

    if (out)
        *out = NULL;
    if (!out || !opts)
        return jobs__error(JOBS_EINVAL, "jobs_store_open needs an output and options");
    if (opts->version < 1 || opts->version > JOBS_STORE_OPTIONS_VERSION)
        return jobs__error(JOBS_EVERSION, "options version %u is not supported (1..%d)",
                           opts->version, JOBS_STORE_OPTIONS_VERSION);
    if (!opts->path || !*opts->path)
        return jobs__error(JOBS_EINVAL, "the store options need a path");
    if (opts->flags & ~(unsigned)(JOBS_STORE_NOSYNC | JOBS_STORE_NO_GROUP_COMMIT))
        return jobs__error(JOBS_EINVAL, "unknown store flags 0x%x", opts->flags);
    if (opts->page_size > JOBS__PAGE_SIZE_MAX)
        return jobs__error(JOBS_EINVAL, "page size %u is above %u", opts->page_size,
                           JOBS__PAGE_SIZE_MAX);
    if ((rc = jobs__env_open(&s, opts, check_schema)) != 0)
        return rc;
    *out = s;
    return 0;
}

void jobs_store_close(jobs_store *store)
{
    jobs__env_close(store);
}

static int stat_store(jobs_store *s, MDB_txn *txn, void *ctx)
{
    jobs_store_stat_info *st = ctx;
    MDB_envinfo info;
    MDB_stat ms;
    MDB_stat dbs[3];
    MDB_dbi dbi[3] = {s->jobs, s->schedules, s->stacks};
    int rc;

    for (int i = 0; i < 3; i++)
        if ((rc = mdb_stat(txn, dbi[i], &dbs[i])) != 0)
            return jobs__mdb_error(rc, "store statistics");
    mdb_env_info(s->env, &info);
    mdb_env_stat(s->env, &ms);
    st->map_size = info.me_mapsize;
    st->map_used = (info.me_last_pgno + 1) * (size_t)ms.ms_psize;
    st->jobs = dbs[0].ms_entries;
    st->schedules = dbs[1].ms_entries;
    st->stacks = dbs[2].ms_entries;
    if ((rc = mdb_stat(txn, s->job_due, &dbs[0])) != 0 ||
        (rc = jobs__queued_get(txn, s, &st->jobs_queued)) != 0)
        return rc > 0 ? jobs__mdb_error(rc, "store statistics") : rc;
    st->jobs_active = dbs[0].ms_entries;
    st->writes = atomic_load(&s->writes);
    st->commits = atomic_load(&s->commits);
    return 0;
}

int jobs_store_stat(jobs_store_stat_info *out, jobs_store *store)
{
    if (!out || !store)
        return jobs__error(JOBS_EINVAL, "jobs_store_stat needs an output and a store");
    memset(out, 0, sizeof(*out));
    return jobs__read(store, stat_store, out);
}
