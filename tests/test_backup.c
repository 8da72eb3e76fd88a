/* Backups, read-only opens and restores, through the library: a backup is a store of its own;
 * opening it read-only writes nothing at all and refuses every write; jobs_store_restore() puts
 * a checked backup in place of a store no process has open, and refuses everything else without
 * changing anything. Also: options of version 1's layout (libjobs 0.1.0) still open a store. */
#include "fixture.h"
#include "holder.h"

#include <dirent.h>
#include <lmdb.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define OWNER 1

/* The names, sizes and modification times of a directory's entries, as one string; a
 * subdirectory by its name alone (a store directory has none but a restore's staging one). */
static char *listing(const char *dir)
{
    char *out = calloc(1, 8192);
    struct dirent *e;
    DIR *d = opendir(dir);
    size_t len = 0;

    assert_non_null(out);
    assert_non_null(d);
    while ((e = readdir(d)) != NULL) {
        char path[PATH_MAX];
        struct stat st;

        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        assert_int_equal(lstat(path, &st), 0);
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (S_ISDIR(st.st_mode)) {
            len += (size_t)snprintf(out + len, 8192 - len, "%s/\n", e->d_name);
            continue;
        }
        len += (size_t)snprintf(out + len, 8192 - len, "%s %lld %lld.%09ld\n", e->d_name,
                                (long long)st.st_size, (long long)st.st_mtim.tv_sec,
                                st.st_mtim.tv_nsec);
    }
    closedir(d);
    return out;
}

static void sub(char out[PATH_MAX], fixture *fx, const char *name)
{
    assert_true(snprintf(out, PATH_MAX, "%s/%s", fx->dir, name) < PATH_MAX);
}

/* A store with two jobs of OWNER (one named "keep"), backed up into fx->dir/backup. */
static uint64_t fill_and_back_up(fixture *fx, char backup[PATH_MAX])
{
    uint64_t stack = fx_stack(fx, OWNER, false);

    fx_job(fx, OWNER, "keep", stack, FX_HOURLY, true);
    fx_job(fx, OWNER, NULL, stack, FX_DAILY, false);
    sub(backup, fx, "backup");
    assert_int_equal(jobs_store_backup(fx->store, backup), 0);
    return stack;
}

static jobs_store *open_readonly(const char *dir, int *rc)
{
    jobs_store_options o = JOBS_STORE_OPTIONS_INIT;
    jobs_store *s = NULL;

    o.path = dir;
    o.flags = JOBS_STORE_READONLY;
    *rc = jobs_store_open(&s, &o);
    return s;
}

static void test_readonly_open_of_a_backup_writes_nothing(void **state)
{
    fixture *fx = *state;
    char backup[PATH_MAX];
    jobs_job_spec spec = JOBS_JOB_SPEC_INIT;
    jobs_job *job = NULL;
    jobs_delete_outcome outcome;
    uint64_t stack = fill_and_back_up(fx, backup), id = 0;
    char *before = listing(backup), *after;
    struct stat dir_before, dir_after;
    size_t n = 99;
    int rc;

    assert_int_equal(stat(backup, &dir_before), 0);
    jobs_store *s = open_readonly(backup, &rc);
    assert_int_equal(rc, 0);

    /* Reads work: the backup holds what the store held. */
    assert_int_equal(jobs_store_check(s), 0);
    assert_int_equal(jobs_get_by_name(&job, s, OWNER, "keep"), 0);
    assert_int_equal(job->stack, stack);
    jobs_job_free(job);

    /* Every write is refused with JOBS_EREADONLY and changes nothing. */
    spec.fields = JOBS_JOB_STACK | JOBS_JOB_SCHEDULE;
    spec.stack = stack;
    spec.schedule = FX_HOURLY;
    assert_int_equal(jobs_create(&id, s, OWNER, &spec), JOBS_EREADONLY);
    assert_non_null(strstr(jobs_error_last(), "read-only"));
    assert_int_equal(jobs_stack_create(&id, s, OWNER, "x", false), JOBS_EREADONLY);
    assert_int_equal(jobs_delete(&outcome, s, OWNER, 1), JOBS_EREADONLY);
    assert_int_equal(jobs_scheduler_tick(&n, s, FX_T0 + 86400 * 2, 0, NULL, NULL),
                     JOBS_EREADONLY);
    assert_int_equal(n, 0);
    jobs_store_stat_info st = JOBS_STORE_STAT_INFO_INIT;
    assert_int_equal(jobs_store_stat(&st, s), 0);
    assert_int_equal(st.jobs, 2);
    assert_int_equal(st.writes, 0);
    jobs_store_close(s);

    /* Not a byte: no new file (no lock file), no file changed, the directory unchanged. */
    after = listing(backup);
    assert_string_equal(before, after);
    assert_int_equal(stat(backup, &dir_after), 0);
    assert_int_equal(dir_after.st_mtim.tv_sec, dir_before.st_mtim.tv_sec);
    assert_int_equal(dir_after.st_mtim.tv_nsec, dir_before.st_mtim.tv_nsec);
    free(before);
    free(after);
}

static void test_readonly_open_needs_a_store(void **state)
{
    fixture *fx = *state;
    char missing[PATH_MAX], empty[PATH_MAX];
    int rc;

    sub(missing, fx, "missing");
    assert_null(open_readonly(missing, &rc));
    assert_int_equal(rc, JOBS_ENOTFOUND);
    assert_int_equal(access(missing, F_OK), -1); /* not created */
    sub(empty, fx, "empty");
    assert_int_equal(mkdir(empty, 0700), 0);
    assert_null(open_readonly(empty, &rc));
    assert_int_equal(rc, JOBS_ENOTFOUND);
    char *l = listing(empty);
    assert_string_equal(l, "");
    free(l);
}

/* A read-only open never creates a store's first contents: an environment without libjobs'
 * schema record is refused, not seeded (and not crashed on). */
static void test_readonly_open_refuses_a_store_without_a_schema(void **state)
{
    fixture *fx = *state;
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi meta;
    MDB_val key = {6, "schema"};
    int rc;

    fx_close(fx);
    assert_int_equal(mdb_env_create(&env), 0);
    assert_int_equal(mdb_env_set_maxdbs(env, 16), 0);
    assert_int_equal(mdb_env_open(env, fx->path, MDB_NOTLS, 0600), 0);
    assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
    assert_int_equal(mdb_dbi_open(txn, "meta", 0, &meta), 0);
    assert_int_equal(mdb_del(txn, meta, &key, NULL), 0);
    assert_int_equal(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
    assert_null(open_readonly(fx->path, &rc));
    assert_int_equal(rc, JOBS_ESCHEMA);
}

static void test_readonly_open_refuses_a_store_open_in_another_process(void **state)
{
    fixture *fx = *state;
    fx_holder h;
    int rc;

    fx_close(fx);
    fx_hold_store_open(&h, fx->path);
    assert_null(open_readonly(fx->path, &rc));
    assert_int_equal(rc, JOBS_EBUSY);
    assert_non_null(strstr(jobs_error_last(), "another process"));
    fx_release(&h);
    /* Once it is closed, a read-only open works. */
    jobs_store *s = open_readonly(fx->path, &rc);
    assert_int_equal(rc, 0);
    jobs_store_close(s);
}

static uint64_t job_count(const char *dir)
{
    jobs_store_options o = JOBS_STORE_OPTIONS_INIT;
    jobs_store_stat_info st = JOBS_STORE_STAT_INFO_INIT;
    jobs_store *s;

    o.path = dir;
    assert_int_equal(jobs_store_open(&s, &o), 0);
    assert_int_equal(jobs_store_check(s), 0);
    assert_int_equal(jobs_store_stat(&st, s), 0);
    jobs_store_close(s);
    return st.jobs;
}

static void test_restore_round_trip(void **state)
{
    fixture *fx = *state;
    jobs_store_options o = JOBS_STORE_OPTIONS_INIT;
    char backup[PATH_MAX], target[PATH_MAX];
    uint64_t stack = fill_and_back_up(fx, backup), id = 0;
    char *before = listing(backup), *after;
    jobs_job *job = NULL;
    jobs_store *s;

    /* Into a new directory: the same store, and ids go on from where the backup's did. */
    sub(target, fx, "restored");
    o.path = target;
    assert_int_equal(jobs_store_restore(&o, backup, 0), 0);
    assert_int_equal(job_count(target), 2);
    assert_int_equal(jobs_store_open(&s, &o), 0);
    assert_int_equal(jobs_get_by_name(&job, s, OWNER, "keep"), 0);
    assert_int_equal(job->id, 1);
    jobs_job_free(job);
    jobs_job_spec spec = JOBS_JOB_SPEC_INIT;
    spec.fields = JOBS_JOB_STACK | JOBS_JOB_SCHEDULE;
    spec.stack = stack;
    spec.schedule = FX_HOURLY;
    assert_int_equal(jobs_create(&id, s, OWNER, &spec), 0);
    assert_int_equal(id, 3);
    jobs_store_close(s);
    /* The backup was only read. */
    after = listing(backup);
    assert_string_equal(before, after);
    free(before);
    free(after);

    /* Over a store: refused without JOBS_RESTORE_FORCE (nothing changed), done with it. */
    assert_int_equal(jobs_store_restore(&o, backup, 0), JOBS_EEXISTS);
    assert_int_equal(job_count(target), 3);
    assert_int_equal(jobs_store_restore(&o, backup, JOBS_RESTORE_FORCE), 0);
    assert_int_equal(job_count(target), 2);
    /* No staging directory is left behind. */
    char *l = listing(target);
    assert_null(strstr(l, ".restore-"));
    free(l);
    assert_int_equal(jobs_store_restore(&o, backup, 1u << 4), JOBS_EINVAL);
}

/* A restore killed midway (kill -9, a power cut) leaves its staging directory, a whole copy of
 * the backup, in the store's directory. The next restore that succeeds removes it, but not the
 * staging directory of a restore still running (held with flock()), and a restore that fails
 * leaves every one of them, as it leaves the directory. */
static void test_a_restore_removes_what_killed_restores_left(void **state)
{
    fixture *fx = *state;
    jobs_store_options o = JOBS_STORE_OPTIONS_INIT;
    char backup[PATH_MAX], target[PATH_MAX], stale[PATH_MAX + 32], live[PATH_MAX + 32],
        file[PATH_MAX + 64], bad[PATH_MAX];
    int fd, live_fd;

    fill_and_back_up(fx, backup);
    sub(target, fx, "restored");
    o.path = target;
    assert_int_equal(jobs_store_restore(&o, backup, 0), 0);
    snprintf(stale, sizeof stale, "%s/.restore-Stale1", target);
    snprintf(live, sizeof live, "%s/.restore-Live01", target);
    assert_int_equal(mkdir(stale, 0700), 0);
    snprintf(file, sizeof file, "%s/data.mdb", stale);
    assert_true((fd = open(file, O_WRONLY | O_CREAT, 0600)) >= 0);
    assert_int_equal(write(fd, "half a copy", 11), 11);
    close(fd);
    assert_int_equal(mkdir(live, 0700), 0);
    assert_true((live_fd = open(live, O_RDONLY | O_DIRECTORY)) >= 0);
    assert_int_equal(flock(live_fd, LOCK_EX), 0);

    /* A restore that fails leaves them. */
    sub(bad, fx, "bad");
    assert_int_equal(mkdir(bad, 0700), 0);
    snprintf(file, sizeof file, "%s/data.mdb", bad);
    assert_true((fd = open(file, O_WRONLY | O_CREAT, 0600)) >= 0);
    assert_int_equal(write(fd, "not a store", 11), 11);
    close(fd);
    assert_true(jobs_store_restore(&o, bad, JOBS_RESTORE_FORCE) < 0);
    assert_int_equal(access(stale, F_OK), 0);
    assert_int_equal(access(live, F_OK), 0);

    /* One that succeeds removes the one nobody holds. */
    assert_int_equal(jobs_store_restore(&o, backup, JOBS_RESTORE_FORCE), 0);
    assert_int_equal(access(stale, F_OK), -1);
    assert_int_equal(errno, ENOENT);
    assert_int_equal(access(live, F_OK), 0);
    assert_int_equal(job_count(target), 2);
    close(live_fd);
    assert_int_equal(rmdir(live), 0);
    char *l = listing(target);
    assert_null(strstr(l, ".restore-"));
    free(l);
}

static void test_restore_refuses_a_store_open_in_another_process(void **state)
{
    fixture *fx = *state;
    jobs_store_options o = JOBS_STORE_OPTIONS_INIT;
    char backup[PATH_MAX];
    fx_holder h;

    fill_and_back_up(fx, backup);
    fx_job(fx, OWNER, "after-backup", 1, FX_HOURLY, false);
    fx_close(fx);
    o.path = fx->path;
    fx_hold_store_open(&h, fx->path);
    assert_int_equal(jobs_store_restore(&o, backup, JOBS_RESTORE_FORCE), JOBS_EBUSY);
    assert_non_null(strstr(jobs_error_last(), "open in another process"));
    fx_release(&h);
    assert_int_equal(job_count(fx->path), 3); /* unchanged */

    /* And a backup that is itself a store open in another process is refused too. */
    fx_hold_store_open(&h, fx->path);
    char other[PATH_MAX];
    sub(other, fx, "other");
    o.path = other;
    assert_int_equal(jobs_store_restore(&o, fx->path, 0), JOBS_EBUSY);
    assert_non_null(strstr(jobs_error_last(), "is a store open in another process"));
    assert_int_equal(access(other, F_OK), -1);
    fx_release(&h);
}

static void test_restore_refuses_a_store_open_in_this_process(void **state)
{
    fixture *fx = *state;
    char backup[PATH_MAX];

    fill_and_back_up(fx, backup);
    assert_int_equal(jobs_store_restore(&fx->opts, backup, JOBS_RESTORE_FORCE), JOBS_EBUSY);
    assert_int_equal(fx_stat_jobs(fx), 2);
    assert_int_equal(jobs_store_check(fx->store), 0);
}

static void test_restore_of_a_bad_backup_changes_nothing(void **state)
{
    fixture *fx = *state;
    jobs_store_options o = JOBS_STORE_OPTIONS_INIT;
    char bad[PATH_MAX], file[PATH_MAX], target[PATH_MAX], none[PATH_MAX];
    FILE *f;

    fx_job(fx, OWNER, "mine", fx_stack(fx, OWNER, false), FX_HOURLY, false);
    fx_close(fx);
    sub(bad, fx, "bad");
    assert_int_equal(mkdir(bad, 0700), 0);
    assert_true(snprintf(file, sizeof file, "%s/data.mdb", bad) < (int)sizeof file);
    assert_non_null(f = fopen(file, "w"));
    for (int i = 0; i < 4096; i++)
        fputc(i * 7, f);
    fclose(f);

    o.path = fx->path;
    assert_true(jobs_store_restore(&o, bad, JOBS_RESTORE_FORCE) < 0);
    assert_non_null(strstr(jobs_error_last(), "fails its check"));
    assert_int_equal(job_count(fx->path), 1);
    sub(target, fx, "new");
    o.path = target;
    assert_true(jobs_store_restore(&o, bad, 0) < 0);
    assert_int_equal(access(target, F_OK), -1); /* the directory it made is gone again */
    sub(none, fx, "none");
    assert_int_equal(jobs_store_restore(&o, none, 0), JOBS_EINVAL);
    assert_non_null(strstr(jobs_error_last(), "no backup in"));
    o.path = fx->path;
    assert_int_equal(jobs_store_restore(&o, fx->path, JOBS_RESTORE_FORCE), JOBS_EINVAL);
    assert_non_null(strstr(jobs_error_last(), "is the store itself"));
}

/* ---- a process that opens the store while a restore runs ---------------------------------- */

/* Called by jobs_store_restore() once the new data.mdb is in place, while it still holds the
 * store's lock (lib/lmdb/backup.c; tests only). */
extern void (*jobs__restore_hook)(const char *dir);

#define RECORDS 40

static pid_t opener = -1;

static int put_records(jobs_kv_txn *txn, void *ctx)
{
    const char *ns = ctx;
    char key[16];
    int rc = 0;

    for (int i = 0; i < RECORDS && !rc; i++) {
        snprintf(key, sizeof key, "k%03d", i);
        rc = jobs_kv_put(txn, ns, key, strlen(key), "value", 5);
    }
    return rc;
}

static int put_one(jobs_kv_txn *txn, void *ctx)
{
    return jobs_kv_put(txn, "old", "x", 1, ctx, strlen(ctx));
}

static uint64_t record_count(jobs_store *s)
{
    jobs_store_stat_info st = JOBS_STORE_STAT_INFO_INIT;

    assert_int_equal(jobs_store_stat(&st, s), 0);
    return st.records;
}

/* Whether process `pid` waits for a lock (a "->" line of /proc/locks). */
static bool waits_for_a_lock(pid_t pid)
{
    FILE *f = fopen("/proc/locks", "r");
    char line[256];
    bool found = false;

    assert_non_null(f);
    while (!found && fgets(line, sizeof line, f)) {
        int who;

        if (strstr(line, "->") && sscanf(line, "%*d: -> %*s %*s %*s %d", &who) == 1 &&
            who == pid)
            found = true;
    }
    fclose(f);
    return found;
}

/* The hook: another process opens the store (as jobs-server does at its start) and reads it;
 * its open waits for the restore's lock. Returns once it waits there. */
static void open_meanwhile(const char *dir)
{
    opener = fork();
    if (opener == 0) {
        jobs_store_options o = JOBS_STORE_OPTIONS_INIT;
        jobs_store *s;
        int code;

        o.path = dir;
        if (jobs_store_open(&s, &o) != 0)
            _exit(2);
        code = record_count(s) == RECORDS && jobs_store_check(s) == 0 ? 0 : 1;
        jobs_store_close(s);
        _exit(code);
    }
    assert_true(opener > 0);
    /* Liveness bound only: the child is at the lock long before this. */
    for (int i = 0; i < 60000 && !waits_for_a_lock(opener); i++)
        usleep(1000);
    assert_true(waits_for_a_lock(opener));
}

/* The opener that waited for the restore must not trust the lock file the replaced store's
 * processes left: its transaction id would pick the meta page of the restored file's other
 * half (a compacted backup keeps its data under the second one, the first is empty), and its
 * open's first write would commit an empty store over the restored one. Two stores, one
 * transaction apart, so that one of them leaves an even id (the empty meta page). */
static void test_a_process_that_opens_the_store_during_a_restore_waits_for_it(void **state)
{
    fixture *fx = *state;
    char backup[PATH_MAX];

    assert_int_equal(jobs_kv_write(fx->store, put_records, "ns"), 0);
    sub(backup, fx, "backup");
    assert_int_equal(jobs_store_backup(fx->store, backup), 0);
    for (int extra = 0; extra < 2; extra++) {
        jobs_store_options o = JOBS_STORE_OPTIONS_INIT;
        char target[PATH_MAX], name[32];
        jobs_store *s;
        int status;

        snprintf(name, sizeof name, "target%d", extra);
        sub(target, fx, name);
        o.path = target;
        assert_int_equal(jobs_store_open(&s, &o), 0);
        for (int i = 0; i <= extra; i++)
            assert_int_equal(jobs_kv_write(s, put_one, "replaced"), 0);
        jobs_store_close(s);

        jobs__restore_hook = open_meanwhile;
        assert_int_equal(jobs_store_restore(&o, backup, JOBS_RESTORE_FORCE), 0);
        jobs__restore_hook = NULL;
        assert_int_equal(waitpid(opener, &status, 0), opener);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0); /* it read the restored store */
        assert_int_equal(jobs_store_open(&s, &o), 0);
        assert_int_equal(jobs_store_check(s), 0);
        assert_int_equal(record_count(s), RECORDS);
        jobs_store_close(s);
    }
}

/* ---- reader slots kept by the read pool ----------------------------------------------------- */

#define SLOTS 8

typedef struct burst {
    jobs_store *store;
    pthread_barrier_t *all_in; /* every reader inside its read at once */
    int rc;
} burst;

static int read_at_once(jobs_kv_txn *txn, void *ctx)
{
    burst *b = ctx;

    (void)txn;
    pthread_barrier_wait(b->all_in);
    return 0;
}

static void *burst_reader(void *p)
{
    burst *b = p;

    b->rc = jobs_kv_read(b->store, read_at_once, b);
    return NULL;
}

static jobs_store *open_with_slots(const char *dir)
{
    jobs_store_options o = JOBS_STORE_OPTIONS_INIT;
    jobs_options_lmdb lmdb = JOBS_OPTIONS_INIT_LMDB;
    jobs_store *s = NULL;

    lmdb.max_readers = SLOTS;
    lmdb.flags = JOBS_NOSYNC_LMDB;
    o.path = dir;
    o.lmdb = &lmdb;
    assert_int_equal(jobs_store_open(&s, &o), 0);
    return s;
}

/* Another process (LMDB itself: this process's open stores are in the child too, so the library
 * would refuse to open the store there): opens the store and begins `hold` read transactions
 * (at least one), writes a byte to `ready` (when `hold` > 0) and waits for one on `release`.
 * Exits 0 when every read began. */
static pid_t other_process(const char *dir, int hold, int ready, int release)
{
    pid_t pid = fork();

    if (pid == 0) {
        MDB_txn *txns[SLOTS];
        MDB_env *env;
        int began = 0, n = hold > 0 ? hold : 1;
        char c;

        if (mdb_env_create(&env) || mdb_env_set_maxdbs(env, 32) ||
            mdb_env_open(env, dir, MDB_NOTLS, 0600))
            _exit(2);
        while (began < n && mdb_txn_begin(env, NULL, MDB_RDONLY, &txns[began]) == 0)
            began++;
        if (hold > 0 && (write(ready, "r", 1) != 1 || read(release, &c, 1) != 1))
            _exit(3);
        for (int i = 0; i < began; i++)
            mdb_txn_abort(txns[i]);
        mdb_env_close(env);
        _exit(began == n ? 0 : 1);
    }
    assert_true(pid > 0);
    return pid;
}

static void assert_exits_0(pid_t pid)
{
    int status;

    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

/* A burst of reads as wide as the reader table, all returned: the transactions this process
 * keeps for reuse hold reader slots, and they must leave room for a backup and for the reads
 * of other processes; and when the table is full all the same, a backup frees this process's
 * idle ones and goes on. */
static void test_reads_that_returned_leave_reader_slots_to_others(void **state)
{
    fixture *fx = *state;
    pthread_barrier_t all_in;
    pthread_t threads[SLOTS];
    burst args[SLOTS];
    char dir[PATH_MAX], backup[PATH_MAX];
    int ready[2], release[2], rc;
    jobs_store *s;
    char c;
    pid_t pid;

    fx_close(fx);
    sub(dir, fx, "slots");
    s = open_with_slots(dir);
    assert_int_equal(jobs_kv_write(s, put_records, "ns"), 0);
    assert_int_equal(pthread_barrier_init(&all_in, NULL, SLOTS), 0);
    for (int i = 0; i < SLOTS; i++) {
        args[i] = (burst){s, &all_in, -1};
        assert_int_equal(pthread_create(&threads[i], NULL, burst_reader, &args[i]), 0);
    }
    for (int i = 0; i < SLOTS; i++) {
        pthread_join(threads[i], NULL);
        assert_int_equal(args[i].rc, 0);
    }
    pthread_barrier_destroy(&all_in);

    /* Nothing reads now: another process's read, and a backup, find a slot. */
    assert_exits_0(other_process(dir, 0, -1, -1));
    sub(backup, fx, "backup1");
    assert_int_equal(jobs_store_backup(s, backup), 0);

    /* Another process holds every slot but those this one keeps idle: a backup still works. */
    assert_int_equal(pipe(ready), 0);
    assert_int_equal(pipe(release), 0);
    pid = other_process(dir, SLOTS - SLOTS / 4, ready[1], release[0]);
    assert_int_equal(read(ready[0], &c, 1), 1);
    sub(backup, fx, "backup2");
    rc = jobs_store_backup(s, backup);
    assert_int_equal(write(release[1], "g", 1), 1);
    for (int i = 0; i < 2; i++) {
        close(ready[i]);
        close(release[i]);
    }
    assert_exits_0(pid);
    assert_int_equal(rc, 0);
    assert_int_equal(record_count(s), RECORDS);
    jobs_store_close(s);
}

/* Writes the schema record of the backup in `dir` with raw LMDB: `version`, or none (NULL). */
static void set_schema_record(const char *dir, const uint32_t *version)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi meta;
    MDB_val key = {6, "schema"}, val = {sizeof *version, (void *)version};

    assert_int_equal(mdb_env_create(&env), 0);
    assert_int_equal(mdb_env_set_maxdbs(env, 32), 0);
    assert_int_equal(mdb_env_open(env, dir, MDB_NOTLS, 0600), 0);
    assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
    assert_int_equal(mdb_dbi_open(txn, "meta", 0, &meta), 0);
    if (version)
        assert_int_equal(mdb_put(txn, meta, &key, &val, 0), 0);
    else
        assert_int_equal(mdb_del(txn, meta, &key, NULL), 0);
    assert_int_equal(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
}

/* A backup that fails its check: the restore says so with the check's own detail, once. */
static void test_restore_of_a_backup_that_fails_its_check_says_why(void **state)
{
    fixture *fx = *state;
    jobs_store_options o = JOBS_STORE_OPTIONS_INIT;
    char backup[PATH_MAX], target[PATH_MAX], want[PATH_MAX + 200];
    uint32_t version = 99;

    fill_and_back_up(fx, backup);
    /* The backup as a later libjobs would write it (a schema this one does not read). */
    set_schema_record(backup, &version);

    sub(target, fx, "target");
    o.path = target;
    assert_int_equal(jobs_store_restore(&o, backup, 0), JOBS_ESCHEMA);
    snprintf(want, sizeof want, "restore: the backup in '%s' fails its check: the store has "
             "schema version 99; this libjobs reads version ", backup);
    assert_memory_equal(jobs_error_last(), want, strlen(want));
    assert_null(strstr(jobs_error_last() + 1, "restore:")); /* said once */
    assert_int_equal(access(target, F_OK), -1);
}

/* A copy of a file, and whether two files hold the same bytes. */
static void copy_file(const char *from, const char *to)
{
    char buf[65536];
    FILE *in = fopen(from, "rb"), *out;
    size_t n;

    assert_non_null(in);
    assert_non_null(out = fopen(to, "wbx"));
    while ((n = fread(buf, 1, sizeof buf, in)) > 0)
        assert_int_equal(fwrite(buf, 1, n, out), n);
    fclose(in);
    assert_int_equal(fclose(out), 0);
}

static bool same_bytes(const char *a, const char *b)
{
    FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
    int ca, cb;

    assert_non_null(fa);
    assert_non_null(fb);
    do {
        ca = fgetc(fa);
        cb = fgetc(fb);
    } while (ca == cb && ca != EOF);
    fclose(fa);
    fclose(fb);
    return ca == cb;
}

/* A backup written by an earlier libjobs (schema 2: 0.2.0; schema 3: 0.3.0) is restored: its
 * staged copy is migrated, the backup itself is left exactly as it was. */
static void restore_old(fixture *fx, const char *fixture_dir, const char *name, uint64_t jobs)
{
    jobs_store_options o = JOBS_STORE_OPTIONS_INIT;
    char backup[PATH_MAX], from[PATH_MAX + 16], file[PATH_MAX + 16], target[PATH_MAX];
    char *before, *after;
    jobs_store *s;
    int rc;

    sub(backup, fx, name);
    assert_int_equal(mkdir(backup, 0700), 0);
    snprintf(from, sizeof from, "%s/data.mdb", fixture_dir);
    snprintf(file, sizeof file, "%s/data.mdb", backup);
    copy_file(from, file);
    /* A read-only open refuses it: it must be migrated. */
    assert_null(open_readonly(backup, &rc));
    assert_int_equal(rc, JOBS_ESCHEMA);
    before = listing(backup);

    sub(target, fx, "target");
    strcat(target, name);
    o.path = target;
    assert_int_equal(jobs_store_restore(&o, backup, 0), 0);
    after = listing(backup);
    assert_string_equal(before, after); /* nothing written there, not even a lock file */
    assert_true(same_bytes(from, file));
    free(before);
    free(after);
    char *l = listing(target);
    assert_null(strstr(l, ".restore-"));
    free(l);
    /* The restored store is of the current schema: a read-only open reads it. */
    assert_non_null(s = open_readonly(target, &rc));
    assert_int_equal(rc, 0);
    assert_int_equal(jobs_store_check(s), 0);
    jobs_store_stat_info st = JOBS_STORE_STAT_INFO_INIT;
    assert_int_equal(jobs_store_stat(&st, s), 0);
    assert_int_equal(st.jobs, jobs);
    jobs_store_close(s);
}

static void test_restore_of_a_backup_of_an_earlier_schema_migrates_its_copy(void **state)
{
    fixture *fx = *state;

    restore_old(fx, JOBS_TEST_SCHEMA2_DIR, "schema2", 177);
    restore_old(fx, JOBS_TEST_SCHEMA3_DIR, "schema3", 1);
}

/* An LMDB environment without libjobs' schema record is not a backup: refused, not made a new
 * store by the migration's read-write open. */
static void test_restore_of_an_environment_without_a_schema_is_refused(void **state)
{
    fixture *fx = *state;
    jobs_store_options o = JOBS_STORE_OPTIONS_INIT;
    char backup[PATH_MAX], target[PATH_MAX];

    fill_and_back_up(fx, backup);
    set_schema_record(backup, NULL);
    sub(target, fx, "target");
    o.path = target;
    assert_int_equal(jobs_store_restore(&o, backup, 0), JOBS_ESCHEMA);
    assert_non_null(strstr(jobs_error_last(), "fails its check: the store has no schema version"));
    assert_int_equal(access(target, F_OK), -1);
}

/* ---- a failed restore leaves the store's directory as it found it ---------------------------- */

/* A backup directory `name` whose data.mdb is the first `bytes` bytes of `from`'s, or `bytes`
 * bytes of a pattern (from NULL). */
static void bad_backup(char out[PATH_MAX], fixture *fx, const char *name, const char *from,
                       long bytes)
{
    char file[PATH_MAX + 16], src[PATH_MAX + 16];
    FILE *in = NULL, *f;

    sub(out, fx, name);
    assert_int_equal(mkdir(out, 0700), 0);
    snprintf(file, sizeof file, "%s/data.mdb", out);
    assert_non_null(f = fopen(file, "wbx"));
    if (from) {
        snprintf(src, sizeof src, "%s/data.mdb", from);
        assert_non_null(in = fopen(src, "rb"));
    }
    for (long i = 0; i < bytes; i++) {
        int c = in ? fgetc(in) : (int)(i * 7 % 256);

        assert_int_not_equal(c, EOF);
        fputc(c, f);
    }
    if (in)
        fclose(in);
    assert_int_equal(fclose(f), 0);
}

static long file_size(const char *dir)
{
    char file[PATH_MAX + 16];
    struct stat st;

    snprintf(file, sizeof file, "%s/data.mdb", dir);
    assert_int_equal(stat(file, &st), 0);
    return (long)st.st_size;
}

/* Every way a restore fails after it has found the store's directory: a backup cut short, an
 * empty one, one that is no LMDB file, one of a later schema, none at all. Whatever the target
 * (a directory to be made, an empty one, a closed store replaced with JOBS_RESTORE_FORCE), the
 * directory is left exactly as it was: no lock.mdb made, none emptied, no staging directory. */
static void test_a_failed_restore_leaves_the_directory_as_it_found_it(void **state)
{
    fixture *fx = *state;
    jobs_store_options o = JOBS_STORE_OPTIONS_INIT;
    char backup[PATH_MAX], cut[PATH_MAX], empty[PATH_MAX], garbage[PATH_MAX], later[PATH_MAX];
    char none[PATH_MAX], missing[PATH_MAX], bare[PATH_MAX];
    uint32_t version = 99;

    fill_and_back_up(fx, backup);
    fx_close(fx);
    bad_backup(cut, fx, "cut", backup, file_size(backup) / 2);
    bad_backup(empty, fx, "empty", NULL, 0);
    bad_backup(garbage, fx, "garbage", NULL, 8192);
    bad_backup(later, fx, "later", backup, file_size(backup));
    set_schema_record(later, &version);
    sub(none, fx, "none");
    assert_int_equal(mkdir(none, 0700), 0);
    sub(missing, fx, "missing");
    sub(bare, fx, "bare");
    assert_int_equal(mkdir(bare, 0700), 0);
    assert_int_equal(job_count(fx->path), 2); /* the store's lock.mdb is set up */

    const struct {
        const char *backup;
        int rc;
        const char *why;
    } bad[] = {
        {cut, JOBS_ECORRUPT, "is cut short"},
        {empty, JOBS_ECORRUPT, "is empty"},
        {garbage, JOBS_ECORRUPT, "fails its check"},
        {later, JOBS_ESCHEMA, "fails its check"},
        {none, JOBS_EINVAL, "no backup in"},
    };
    char *store_before = listing(fx->path);

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *l;

        o.path = missing;
        assert_int_equal(jobs_store_restore(&o, bad[i].backup, 0), bad[i].rc);
        assert_non_null(strstr(jobs_error_last(), bad[i].why));
        assert_int_equal(access(missing, F_OK), -1);

        o.path = bare;
        assert_int_equal(jobs_store_restore(&o, bad[i].backup, 0), bad[i].rc);
        assert_non_null(strstr(jobs_error_last(), bad[i].why));
        l = listing(bare);
        assert_string_equal(l, "");
        free(l);

        o.path = fx->path;
        assert_int_equal(jobs_store_restore(&o, bad[i].backup, JOBS_RESTORE_FORCE), bad[i].rc);
        assert_non_null(strstr(jobs_error_last(), bad[i].why));
        l = listing(fx->path);
        assert_string_equal(l, store_before);
        free(l);
    }
    free(store_before);
    assert_int_equal(job_count(fx->path), 2);
}

/* Refused over a store (no JOBS_RESTORE_FORCE): its files are left as they were, lock.mdb
 * included (LMDB's later openers read it). */
static void test_a_restore_refused_over_a_store_changes_none_of_its_files(void **state)
{
    fixture *fx = *state;
    jobs_store_options o = JOBS_STORE_OPTIONS_INIT;
    char backup[PATH_MAX], *before, *after;

    fill_and_back_up(fx, backup);
    fx_close(fx);
    before = listing(fx->path);
    assert_non_null(strstr(before, "lock.mdb "));
    assert_null(strstr(before, "lock.mdb 0 ")); /* set up, not empty */
    o.path = fx->path;
    assert_int_equal(jobs_store_restore(&o, backup, 0), JOBS_EEXISTS);
    after = listing(fx->path);
    assert_string_equal(before, after);
    free(before);
    free(after);
}

/* A store directory the restore may not write in is not a store open elsewhere: JOBS_EIO with
 * the system's reason, and nothing made. Run in a child, as another user when this one is root
 * (whom permissions do not stop). */
static void test_a_restore_into_a_directory_it_cannot_write_says_so(void **state)
{
    fixture *fx = *state;
    char backup[PATH_MAX], locked[PATH_MAX], under[PATH_MAX + 16], file[PATH_MAX + 16], *l;
    pid_t pid;

    fill_and_back_up(fx, backup);
    fx_close(fx);
    sub(locked, fx, "locked");
    assert_int_equal(mkdir(locked, 0700), 0);
    snprintf(under, sizeof under, "%s/store", locked);
    snprintf(file, sizeof file, "%s/data.mdb", backup);
    /* Readable by the other user; `locked` writable by nobody but root. */
    assert_int_equal(chmod(fx->dir, 0711), 0);
    assert_int_equal(chmod(backup, 0755), 0);
    assert_int_equal(chmod(file, 0644), 0);
    assert_int_equal(chmod(locked, 0555), 0);

    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        jobs_store_options o = JOBS_STORE_OPTIONS_INIT;
        int status = 0;

        if (geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0))
            _exit(10);
        o.path = locked; /* exists: the restore cannot make its files in it */
        if (jobs_store_restore(&o, backup, 0) != JOBS_EIO ||
            !strstr(jobs_error_last(), "Permission denied"))
            status |= 1;
        o.path = under; /* missing: the restore cannot make it */
        if (jobs_store_restore(&o, backup, 0) != JOBS_EIO ||
            !strstr(jobs_error_last(), "cannot create the store directory"))
            status |= 2;
        if (status)
            fprintf(stderr, "child: %s\n", jobs_error_last());
        _exit(status);
    }
    assert_exits_0(pid);
    assert_int_equal(chmod(locked, 0700), 0);
    l = listing(locked);
    assert_string_equal(l, "");
    free(l);
}

/* Whether another process sees LMDB's lock on the first byte of the store's lock.mdb (held by
 * every process that has the store open): a child asks with F_GETLK. */
static bool others_see_it_open(const char *dir)
{
    char path[PATH_MAX + 16];
    int status;
    pid_t pid;

    snprintf(path, sizeof path, "%s/lock.mdb", dir);
    pid = fork();
    if (pid == 0) {
        struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1};
        int fd = open(path, O_RDONLY);

        _exit(fd >= 0 && fcntl(fd, F_GETLK, &fl) == 0 && fl.l_type != F_UNLCK ? 0 : 1);
    }
    assert_true(pid > 0);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    return WEXITSTATUS(status) == 0;
}

/* A refused second open of a store open here (read-only), or a refused restore from it, must not
 * touch its lock file: closing a descriptor of lock.mdb drops all of this process's fcntl()
 * locks on it, and other processes would then take the store for closed (and restore over it). */
static void test_refused_opens_keep_the_store_locked_for_other_processes(void **state)
{
    fixture *fx = *state;
    jobs_store_options o = JOBS_STORE_OPTIONS_INIT;
    char other[PATH_MAX];
    int rc;

    fx_job(fx, OWNER, "kept", fx_stack(fx, OWNER, false), FX_HOURLY, false);
    assert_true(others_see_it_open(fx->path));
    assert_null(open_readonly(fx->path, &rc));
    assert_int_equal(rc, JOBS_EBUSY);
    assert_non_null(strstr(jobs_error_last(), "open in this process"));
    assert_true(others_see_it_open(fx->path));

    sub(other, fx, "other");
    o.path = other;
    assert_int_equal(jobs_store_restore(&o, fx->path, 0), JOBS_EBUSY);
    assert_non_null(strstr(jobs_error_last(), "is a store open in this process"));
    assert_true(others_see_it_open(fx->path));
    assert_int_equal(fx_stat_jobs(fx), 1);
}

/* Another program's LMDB environment, or a libjobs store without its schema record, is not made
 * a store by a read-write open: JOBS_ESCHEMA, and nothing is written. */
static void test_readwrite_open_refuses_an_environment_that_is_not_a_store(void **state)
{
    fixture *fx = *state;
    jobs_store_options o = JOBS_STORE_OPTIONS_INIT;
    char dir[PATH_MAX], file[PATH_MAX + 16], copy[PATH_MAX + 16];
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi main_db;
    MDB_val key = {5, "apple"}, val = {3, "red"};
    MDB_stat ms;
    jobs_store *s = NULL;

    sub(dir, fx, "foreign");
    assert_int_equal(mkdir(dir, 0700), 0);
    assert_int_equal(mdb_env_create(&env), 0);
    assert_int_equal(mdb_env_open(env, dir, MDB_NOTLS, 0600), 0);
    assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
    assert_int_equal(mdb_dbi_open(txn, NULL, 0, &main_db), 0);
    assert_int_equal(mdb_put(txn, main_db, &key, &val, 0), 0);
    assert_int_equal(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
    snprintf(file, sizeof file, "%s/data.mdb", dir);
    snprintf(copy, sizeof copy, "%s/before.mdb", fx->dir);
    copy_file(file, copy);

    o.path = dir;
    assert_int_equal(jobs_store_open(&s, &o), JOBS_ESCHEMA);
    assert_null(s);
    assert_non_null(strstr(jobs_error_last(), "not a libjobs store"));
    assert_true(same_bytes(file, copy));
    assert_int_equal(mdb_env_create(&env), 0);
    assert_int_equal(mdb_env_open(env, dir, MDB_NOTLS | MDB_RDONLY, 0600), 0);
    assert_int_equal(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), 0);
    assert_int_equal(mdb_dbi_open(txn, NULL, 0, &main_db), 0);
    assert_int_equal(mdb_stat(txn, main_db, &ms), 0);
    assert_int_equal(ms.ms_entries, 1); /* apple only */
    mdb_txn_abort(txn);
    mdb_env_close(env);

    /* A store whose schema record is gone: refused too, not seeded again. */
    fx_close(fx);
    assert_int_equal(mdb_env_create(&env), 0);
    assert_int_equal(mdb_env_set_maxdbs(env, 32), 0);
    assert_int_equal(mdb_env_open(env, fx->path, MDB_NOTLS, 0600), 0);
    assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
    MDB_dbi meta;
    MDB_val schema = {6, "schema"};
    assert_int_equal(mdb_dbi_open(txn, "meta", 0, &meta), 0);
    assert_int_equal(mdb_del(txn, meta, &schema, NULL), 0);
    assert_int_equal(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
    o.path = fx->path;
    assert_int_equal(jobs_store_open(&s, &o), JOBS_ESCHEMA);
}

/* jobs_store_options exactly as libjobs 0.1.0's header declared it (version 1). */
typedef struct options_v1 {
    unsigned int version;
    const char *path;
    size_t map_size;
    size_t max_map_size;
    uint32_t page_size;
    unsigned int max_readers;
    jobs_clock_fn clock;
    void *clock_ctx;
    unsigned int flags;
} options_v1;

static void test_options_of_version_1_still_open_a_store(void **state)
{
    fixture *fx = *state;
    options_v1 v1 = {1, fx->path, (size_t)1 << 20, (size_t)4 << 20, 3, 0, fx_clock, fx, 1u << 0};
    jobs_store_stat_info st = JOBS_STORE_STAT_INFO_INIT;
    jobs_job_page *page = NULL;
    jobs_job *job;
    uint64_t stack, id;

    assert_int_equal(jobs_store_open(&fx->store, (const jobs_store_options *)&v1), 0);
    /* Every field is honoured: the map size, the page size, the clock. */
    assert_int_equal(jobs_store_stat(&st, fx->store), 0);
    assert_int_equal(st.lmdb.map_size, (size_t)1 << 20);
    stack = fx_stack(fx, OWNER, false);
    for (int i = 0; i < 5; i++)
        id = fx_job(fx, OWNER, NULL, stack, FX_HOURLY, true);
    job = fx_get(fx, OWNER, id);
    assert_int_equal(job->next_run, FX_T0 + 3600);
    jobs_job_free(job);
    assert_int_equal(jobs_list(&page, fx->store, OWNER, 1, 0), 0);
    assert_int_equal(page->page_size, 3);
    assert_int_equal(page->n, 3);
    jobs_job_page_free(page);
    fx_close(fx);
    /* Its unknown flags are refused as they were. */
    v1.flags = 1u << 6;
    assert_int_equal(jobs_store_open(&fx->store, (const jobs_store_options *)&v1), JOBS_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_readonly_open_of_a_backup_writes_nothing, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_readonly_open_needs_a_store, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_readonly_open_refuses_a_store_without_a_schema,
                                        fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(
            test_readonly_open_refuses_a_store_open_in_another_process, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_restore_round_trip, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_a_restore_removes_what_killed_restores_left,
                                        fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_restore_refuses_a_store_open_in_another_process,
                                        fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_restore_refuses_a_store_open_in_this_process,
                                        fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_restore_of_a_bad_backup_changes_nothing, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(
            test_a_process_that_opens_the_store_during_a_restore_waits_for_it, fx_setup,
            fx_teardown),
        cmocka_unit_test_setup_teardown(test_reads_that_returned_leave_reader_slots_to_others,
                                        fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_restore_of_a_backup_that_fails_its_check_says_why,
                                        fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(
            test_restore_of_a_backup_of_an_earlier_schema_migrates_its_copy, fx_setup,
            fx_teardown),
        cmocka_unit_test_setup_teardown(test_restore_of_an_environment_without_a_schema_is_refused,
                                        fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_a_failed_restore_leaves_the_directory_as_it_found_it,
                                        fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(
            test_a_restore_refused_over_a_store_changes_none_of_its_files, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_a_restore_into_a_directory_it_cannot_write_says_so,
                                        fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(
            test_refused_opens_keep_the_store_locked_for_other_processes, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(
            test_readwrite_open_refuses_an_environment_that_is_not_a_store, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_options_of_version_1_still_open_a_store,
                                        fx_setup_closed, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
