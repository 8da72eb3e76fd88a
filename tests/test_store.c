/* The store: open/close/reopen, one handle per store per process, schema check, stat, clock. */
#include "fixture.h"

#include <fcntl.h>
#include <lmdb.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define OWNER 81

/* Where descriptor fd points ("" when it is closed). */
static void fd_target(int fd, char *buf, size_t size)
{
    char link[64];
    ssize_t n;

    snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
    n = readlink(link, buf, size - 1);
    buf[n < 0 ? 0 : n] = '\0';
}

/* A process started with stdin and stderr closed: the store's files (or its connection) were
 * opened on descriptors 0 and 2, and a message on stderr went into data.mdb at offset 0, its
 * first meta page, which lost the store ("File is not an LMDB file" at the next open). The open
 * now puts /dev/null there first, so the message goes nowhere and the store stays whole. */
static void test_open_with_standard_descriptors_closed_keeps_the_store(void **state)
{
    fixture *fx = *state;
    static const char msg[] = "a message on stderr after the open\n";
    char target[4096];
    int saved0 = dup(0), saved2 = dup(2);

    assert_true(saved0 > 2 && saved2 > 2);
    close(0);
    close(2);
    int rc = fx_try_open(fx);
    fd_target(0, target, sizeof(target));
    bool null0 = strcmp(target, "/dev/null") == 0;
    fd_target(2, target, sizeof(target));
    bool null2 = strcmp(target, "/dev/null") == 0;
    ssize_t written = write(2, msg, sizeof(msg) - 1);
    /* Back as they were before anything can fail. */
    assert_int_equal(dup2(saved0, 0), 0);
    assert_int_equal(dup2(saved2, 2), 2);
    close(saved0);
    close(saved2);
    assert_int_equal(rc, 0);
    if (!null2)
        fail_msg("descriptor 2 is %s", target);
    assert_true(null0);
    assert_int_equal(written, (ssize_t)(sizeof(msg) - 1));
    uint64_t stack = fx_stack(fx, OWNER, false);
    uint64_t job = fx_job(fx, OWNER, "kept", stack, FX_HOURLY, true);
    fx_reopen(fx);
    assert_int_equal(jobs_store_check(fx->store), 0);
    jobs_job *got = fx_get(fx, OWNER, job);
    assert_string_equal(got->name, "kept");
    jobs_job_free(got);
}

/* Every descriptor the store holds on its files is close-on-exec, so that a host's child
 * (fork and exec, system(), posix_spawn) does not inherit the store: LMDB 0.9 opens data.mdb's
 * main descriptor without it. */
static void test_store_descriptors_are_close_on_exec(void **state)
{
    fixture *fx = *state;
    char target[4096], prefix[sizeof(fx->dir) + 1];
    int seen = 0;

    snprintf(prefix, sizeof(prefix), "%s/", fx->dir);
    for (int fd = 0; fd < 1024; fd++) {
        fd_target(fd, target, sizeof(target));
        if (strncmp(target, prefix, strlen(prefix)) != 0)
            continue;
        seen++;
        if (!(fcntl(fd, F_GETFD) & FD_CLOEXEC))
            fail_msg("descriptor %d (%s) is inherited by a child", fd, target);
    }
    assert_true(fx->pg_schema[0] != '\0' || seen >= 2);
}

static void test_reopen_keeps_everything(void **state)
{
    fixture *fx = *state;
    uint64_t stack = fx_stack(fx, OWNER, true);
    uint64_t sched = fx_periodic(fx, OWNER, 600);
    uint64_t once = fx_once(fx, OWNER, FX_T0 + 42);
    uint64_t a = fx_job(fx, OWNER, "periodic", stack, sched, true);
    uint64_t b = fx_job(fx, OWNER, NULL, stack, once, true);
    uint64_t c = fx_job(fx, OWNER, "idle", stack, FX_DAILY, false);
    uint64_t d = fx_job(fx, OWNER + 1, "other owner", stack, FX_HOURLY, true);
    assert_int_equal(jobs_delete(NULL, fx->store, OWNER + 1, d), 0); /* queued */
    jobs_job *before[4] = {fx_get(fx, OWNER, a), fx_get(fx, OWNER, b), fx_get(fx, OWNER, c),
                           fx_get(fx, OWNER + 1, d)};

    fx_reopen(fx);

    const uint64_t owners[4] = {OWNER, OWNER, OWNER, OWNER + 1};
    for (size_t i = 0; i < 4; i++) {
        jobs_job *after = fx_get(fx, owners[i], before[i]->id);
        fx_assert_job_equal(after, before[i]);
        jobs_job_free(after);
        jobs_job_free(before[i]);
    }
    jobs_job *job = NULL;
    assert_int_equal(jobs_get_by_name(&job, fx->store, OWNER, "periodic"), 0);
    assert_int_equal(job->id, a);
    jobs_job_free(job);
    jobs_schedule *s = NULL;
    assert_int_equal(jobs_schedule_get(&s, fx->store, OWNER, sched), 0);
    assert_int_equal(s->period, 600);
    jobs_schedule_free(s);
    s = NULL;
    assert_int_equal(jobs_schedule_get(&s, fx->store, OWNER, once), 0);
    assert_true(s->once);
    assert_int_equal(s->timestamp, FX_T0 + 42);
    jobs_schedule_free(s);
    jobs_stack *k = NULL;
    assert_int_equal(jobs_stack_get(&k, fx->store, OWNER, stack), 0);
    assert_true(k->is_public);
    jobs_stack_free(k);
    assert_int_equal(fx_count(fx, OWNER), 3);
    assert_int_equal(fx_count(fx, OWNER + 1), 1);
    int64_t next = 0;
    assert_int_equal(jobs_scheduler_next_run(&next, fx->store), 0);
    assert_int_equal(next, FX_T0 + 42);
    /* The name index survived too. */
    jobs_job_spec spec = JOBS_JOB_SPEC_INIT;
    spec.fields = JOBS_JOB_NAME | JOBS_JOB_STACK | JOBS_JOB_SCHEDULE;
    spec.name = "idle";
    spec.stack = stack;
    spec.schedule = FX_DAILY;
    assert_int_equal(jobs_create(NULL, fx->store, OWNER, &spec), JOBS_EEXISTS);
}

static void test_durable_store_keeps_data_after_reopen(void **state)
{
    fixture *fx = *state;
    uint64_t stack = fx_stack(fx, OWNER, false);
    uint64_t a = fx_job(fx, OWNER, "durable", stack, FX_HOURLY, true);
    fx_reopen(fx);
    jobs_job *job = fx_get(fx, OWNER, a);
    assert_string_equal(job->name, "durable");
    assert_int_equal(job->next_run, FX_T0 + 3600);
    jobs_job_free(job);
}

static void test_open_same_path_twice_is_ebusy(void **state)
{
    FX_LMDB_ONLY(); /* LMDB: one handle per store per process */
    fixture *fx = *state;
    uint64_t stack = fx_stack(fx, OWNER, false);
    jobs_store *second = (jobs_store *)fx;
    assert_int_equal(jobs_store_open(&second, &fx->opts), JOBS_EBUSY);
    assert_null(second);
    /* The first handle is unharmed. */
    uint64_t id = fx_job(fx, OWNER, NULL, stack, FX_HOURLY, false);
    jobs_job_free(fx_get(fx, OWNER, id));
    /* Once closed, the path can be opened again. */
    fx_reopen(fx);
    jobs_job_free(fx_get(fx, OWNER, id));
}

static void test_open_same_store_by_another_path_is_ebusy(void **state)
{
    FX_LMDB_ONLY(); /* LMDB: one handle per store per process */
    fixture *fx = *state;
    jobs_store_options opts = fx->opts;
    char dotted[PATH_MAX + 16];
    snprintf(dotted, sizeof(dotted), "%s/./store/", fx->dir);
    opts.path = dotted;
    jobs_store *second = (jobs_store *)fx;
    assert_int_equal(jobs_store_open(&second, &opts), JOBS_EBUSY);
    assert_null(second);

    char link[PATH_MAX + 16];
    snprintf(link, sizeof(link), "%s/link", fx->dir);
    assert_int_equal(symlink(fx->path, link), 0);
    opts.path = link;
    second = (jobs_store *)fx;
    assert_int_equal(jobs_store_open(&second, &opts), JOBS_EBUSY);
    assert_null(second);
    jobs_store_stat_info info = JOBS_STORE_STAT_INFO_INIT;
    assert_int_equal(jobs_store_stat(&info, fx->store), 0);
}

static void test_two_stores_in_one_process_are_independent(void **state)
{
    fixture *fx = *state;
    fixture *other = fx_new();
    fx_open(other);
    uint64_t s1 = fx_stack(fx, OWNER, false);
    uint64_t j1 = fx_job(fx, OWNER, "here", s1, FX_HOURLY, false);
    assert_int_equal(fx_count(other, OWNER), 0);
    uint64_t s2 = fx_stack(other, OWNER, false);
    fx_job(other, OWNER, "here", s2, FX_HOURLY, false);
    fx_job(other, OWNER, "there", s2, FX_HOURLY, false);
    assert_int_equal(fx_count(fx, OWNER), 1);
    assert_int_equal(fx_count(other, OWNER), 2);
    jobs_job_free(fx_get(fx, OWNER, j1));
    fx_free(other);
    assert_int_equal(fx_count(fx, OWNER), 1);
}

static void test_open_creates_a_missing_directory_private(void **state)
{
    FX_LMDB_ONLY(); /* LMDB: the store is a directory */
    fixture *fx = *state;
    struct stat st;
    assert_int_equal(stat(fx->path, &st), -1);
    fx_open(fx);
    assert_int_equal(stat(fx->path, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    assert_int_equal(st.st_mode & 0777, 0700);
}

static void test_open_uses_an_existing_empty_directory(void **state)
{
    fixture *fx = *state;
    fx->opts.path = fx->dir;
    fx_open(fx);
    uint64_t stack = fx_stack(fx, OWNER, false);
    fx_job(fx, OWNER, NULL, stack, FX_HOURLY, false);
    fx_reopen(fx);
    assert_int_equal(fx_count(fx, OWNER), 1);
}

/* Rewrites the "schema" key of the store's "meta" database with LMDB directly. Returns the
 * previous value through *old. The store must be closed. */
static void write_schema(const char *path, uint32_t value, uint32_t *old)
{
    MDB_env *env = NULL;
    assert_int_equal(mdb_env_create(&env), 0);
    assert_int_equal(mdb_env_set_maxdbs(env, 64), 0);
    int rc = mdb_env_open(env, path, 0, 0600);
    if (rc != 0)
        fail_msg("mdb_env_open(%s): %s", path, mdb_strerror(rc));
    MDB_txn *txn = NULL;
    assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
    MDB_dbi dbi;
    rc = mdb_dbi_open(txn, "meta", 0, &dbi);
    if (rc != 0)
        fail_msg("mdb_dbi_open(meta): %s", mdb_strerror(rc));
    MDB_val key = {6, (void *)"schema"};
    MDB_val val;
    rc = mdb_get(txn, dbi, &key, &val);
    if (rc != 0)
        fail_msg("mdb_get(schema): %s", mdb_strerror(rc));
    assert_int_equal(val.mv_size, 4);
    const unsigned char *b = val.mv_data;
    if (old != NULL)
        *old = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
               (uint32_t)b[3] << 24;
    unsigned char bytes[4] = {(unsigned char)value, (unsigned char)(value >> 8),
                              (unsigned char)(value >> 16), (unsigned char)(value >> 24)};
    MDB_val nval = {4, bytes};
    assert_int_equal(mdb_put(txn, dbi, &key, &nval, 0), 0);
    assert_int_equal(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
}

static void test_unknown_schema_version_is_eschema(void **state)
{
    FX_LMDB_ONLY(); /* LMDB: writes the schema key with LMDB (test_postgres.c has the PostgreSQL case) */
    fixture *fx = *state;
    uint64_t stack = fx_stack(fx, OWNER, false);
    uint64_t id = fx_job(fx, OWNER, "survivor", stack, FX_HOURLY, false);
    fx_close(fx);

    uint32_t original = 0;
    write_schema(fx->path, 0x7fff0001u, &original);
    assert_int_not_equal(original, 0x7fff0001u);
    jobs_store *store = (jobs_store *)fx;
    assert_int_equal(jobs_store_open(&store, &fx->opts), JOBS_ESCHEMA);
    assert_null(store);
    assert_true(jobs_error_last()[0] != '\0');
    /* Refusing did not lock the path for this process. */
    assert_int_equal(jobs_store_open(&store, &fx->opts), JOBS_ESCHEMA);
    assert_null(store);

    write_schema(fx->path, original + 1, NULL);
    assert_int_equal(jobs_store_open(&store, &fx->opts), JOBS_ESCHEMA);
    assert_null(store);

    /* Put back, the store opens and its data is intact. */
    write_schema(fx->path, original, NULL);
    fx_open(fx);
    jobs_job *job = fx_get(fx, OWNER, id);
    assert_string_equal(job->name, "survivor");
    jobs_job_free(job);
}

static void test_stat_counts_jobs_schedules_and_stacks(void **state)
{
    fixture *fx = *state;
    jobs_store_stat_info info;
    memset(&info, 0xab, sizeof(info));
    info.version = JOBS_STORE_STAT_VERSION;
    assert_int_equal(jobs_store_stat(&info, fx->store), 0);
    assert_int_equal(info.jobs, 0);
    assert_int_equal(info.schedules, 5);
    assert_int_equal(info.stacks, 0);
    if (fx_postgres()) {
        assert_string_equal(info.backend, "postgresql");
        assert_int_equal(info.lmdb.map_size, 0); /* LMDB's figures: 0 on another backend */
    } else {
        assert_string_equal(info.backend, "lmdb");
        assert_true(info.lmdb.map_size > 0);
        assert_true(info.lmdb.map_used > 0);
        assert_true(info.lmdb.map_used <= info.lmdb.map_size);
    }

    uint64_t s1 = fx_stack(fx, OWNER, false);
    uint64_t s2 = fx_stack(fx, OWNER + 1, true);
    fx_periodic(fx, OWNER, 120);
    uint64_t a = fx_job(fx, OWNER, NULL, s1, FX_HOURLY, false);
    uint64_t b = fx_job(fx, OWNER + 1, NULL, s2, FX_HOURLY, true);
    fx_job(fx, OWNER + 2, NULL, s2, FX_HOURLY, false);
    assert_int_equal(jobs_store_stat(&info, fx->store), 0);
    assert_int_equal(info.jobs, 3);
    assert_int_equal(info.schedules, 6);
    assert_int_equal(info.stacks, 2);

    assert_int_equal(jobs_delete(NULL, fx->store, OWNER, a), 0);     /* gone */
    assert_int_equal(jobs_delete(NULL, fx->store, OWNER + 1, b), 0); /* queued */
    assert_int_equal(jobs_store_stat(&info, fx->store), 0);
    assert_int_equal(info.jobs, 2);
    fx_events ev;
    fx_tick(fx, FX_T0 + 3600, &ev);
    assert_int_equal(jobs_store_stat(&info, fx->store), 0);
    assert_int_equal(info.jobs, 1);
    fx_reopen(fx);
    assert_int_equal(jobs_store_stat(&info, fx->store), 0);
    assert_int_equal(info.jobs, 1);
    assert_int_equal(info.schedules, 6);
    assert_int_equal(info.stacks, 2);
}

static void test_default_clock_is_real_time(void **state)
{
    fixture *fx = *state;
    fx->opts.clock = NULL;
    fx->opts.clock_ctx = NULL;
    fx_open(fx);
    uint64_t stack = fx_stack(fx, OWNER, false);
    int64_t before = (int64_t)time(NULL);
    uint64_t id = fx_job(fx, OWNER, NULL, stack, FX_HOURLY, true);
    int64_t after = (int64_t)time(NULL);
    jobs_job *job = fx_get(fx, OWNER, id);
    assert_true(job->next_run >= before + 3600);
    assert_true(job->next_run <= after + 3600);
    jobs_job_free(job);
}

static void test_store_clock_sets_next_run(void **state)
{
    fixture *fx = *state;
    uint64_t stack = fx_stack(fx, OWNER, false);
    fx_set_time(fx, 1000000);
    uint64_t id = fx_job(fx, OWNER, NULL, stack, FX_EVERY_MINUTE, true);
    jobs_job *job = fx_get(fx, OWNER, id);
    assert_int_equal(job->next_run, 1000060);
    jobs_job_free(job);
}

/* The backend a path opens is told by its form, as jobs_store_open() tells it, and named as
 * jobs_store_stat() names the backend of the open store. */
static void test_path_backend_is_the_one_open_chooses(void **state)
{
    fixture *fx = *state;
    jobs_store_stat_info st = JOBS_STORE_STAT_INFO_INIT;

    assert_string_equal(jobs_store_path_backend("postgresql://db.example/jobs"), "postgresql");
    assert_string_equal(jobs_store_path_backend("postgres:///jobs?host=/run/postgresql"),
                        "postgresql");
    assert_string_equal(jobs_store_path_backend("host=/run/postgresql dbname=jobs"),
                        "postgresql");
    assert_string_equal(jobs_store_path_backend("dbname = jobs"), "postgresql");
    /* any of libpq's keywords may come first: before, these four were taken for directories */
    assert_string_equal(jobs_store_path_backend("keepalives_idle=30 host=db dbname=jobs"),
                        "postgresql");
    assert_string_equal(jobs_store_path_backend("tcp_user_timeout = 60000 host=db"),
                        "postgresql");
    assert_string_equal(jobs_store_path_backend("sslcrl=/etc/crl.pem host=db"), "postgresql");
    assert_string_equal(jobs_store_path_backend("client_encoding=UTF8 host=db"), "postgresql");
    assert_string_equal(jobs_store_path_backend("keepalives_idlex=30"), "lmdb");
    assert_string_equal(jobs_store_path_backend("./var/store"), "lmdb");
    assert_string_equal(jobs_store_path_backend("hostname=x"), "lmdb"); /* no such keyword */
    assert_string_equal(jobs_store_path_backend("/srv/postgresql://x"), "lmdb");
    assert_string_equal(jobs_store_path_backend(""), "lmdb");
    assert_null(jobs_store_path_backend(NULL));
    /* the open store's own path, on this run's backend */
    assert_int_equal(jobs_store_stat(&st, fx->store), 0);
    assert_string_equal(jobs_store_path_backend(fx->opts.path), st.backend);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_reopen_keeps_everything, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_path_backend_is_the_one_open_chooses, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_store_descriptors_are_close_on_exec, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_open_with_standard_descriptors_closed_keeps_the_store,
                                        fx_setup_closed, fx_teardown),
        cmocka_unit_test_setup_teardown(test_durable_store_keeps_data_after_reopen,
                                        fx_setup_durable, fx_teardown),
        cmocka_unit_test_setup_teardown(test_open_same_path_twice_is_ebusy, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_open_same_store_by_another_path_is_ebusy, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_two_stores_in_one_process_are_independent,
                                        fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_open_creates_a_missing_directory_private,
                                        fx_setup_closed, fx_teardown),
        cmocka_unit_test_setup_teardown(test_open_uses_an_existing_empty_directory,
                                        fx_setup_closed, fx_teardown),
        cmocka_unit_test_setup_teardown(test_unknown_schema_version_is_eschema, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_stat_counts_jobs_schedules_and_stacks, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_default_clock_is_real_time, fx_setup_closed,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_store_clock_sets_next_run, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
