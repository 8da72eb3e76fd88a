/* A real full file system: the store on a small tmpfs, filled until the disk (not the map cap)
 * refuses. The refused create changes nothing, everything before it stays readable, and once
 * the file system has room again (remounted larger), creates work again. Needs root to mount a
 * tmpfs; skipped with a message otherwise. */
#include "fixture.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#define OWNER 9

static char mnt[64];

static int mount_tmpfs(void **state)
{
    (void)state;
    snprintf(mnt, sizeof(mnt), "/tmp/jobs-full-XXXXXX");
    if (!mkdtemp(mnt))
        return -1;
    if (mount("tmpfs", mnt, "tmpfs", 0, "size=1m,mode=0700") != 0) {
        print_message("cannot mount a tmpfs here (%s): the full-disk test is skipped\n",
                      strerror(errno));
        rmdir(mnt);
        mnt[0] = '\0';
    }
    return 0;
}

static int unmount_tmpfs(void **state)
{
    (void)state;
    if (mnt[0]) {
        umount2(mnt, MNT_DETACH);
        rmdir(mnt);
    }
    return 0;
}

static int create(jobs_store *s, uint64_t stack, size_t i, uint64_t *id)
{
    char name[48];
    jobs_job_spec spec = JOBS_JOB_SPEC_INIT;

    snprintf(name, sizeof(name), "a-job-with-a-longish-name-%08zu", i);
    spec.fields = JOBS_JOB_NAME | JOBS_JOB_STACK | JOBS_JOB_SCHEDULE;
    spec.name = name;
    spec.stack = stack;
    spec.schedule = FX_DAILY;
    return jobs_create(id, s, OWNER, &spec);
}

static void test_full_file_system(void **state)
{
    jobs_store_options o = JOBS_STORE_OPTIONS_INIT;
    jobs_options_lmdb lmdb = JOBS_OPTIONS_INIT_LMDB;
    char path[128];
    jobs_store *s = NULL;
    uint64_t stack = 0, *ids;
    size_t made = 0;
    int rc = 0;

    (void)state;
    if (!mnt[0])
        skip();
    snprintf(path, sizeof(path), "%s/store", mnt);
    o.path = path;
    lmdb.map_size = (size_t)64 << 20; /* the map could hold far more than the disk */
    o.lmdb = &lmdb;
    assert_int_equal(jobs_store_open(&s, &o), 0);
    assert_int_equal(jobs_stack_create(&stack, s, OWNER, "full", false), 0);
    assert_non_null(ids = calloc(100000, sizeof(*ids)));
    while (made < 100000 && (rc = create(s, stack, made, &ids[made])) == 0)
        made++;
    assert_int_equal(rc, JOBS_ENOSPC);
    assert_int_equal(jobs_fault_code(rc), 105);
    assert_true(made > 10);
    print_message("the 1 MiB file system took %zu jobs, then: %s\n", made, jobs_error_last());

    /* Nothing half-written, and the handle goes on: still full, still refused, reads work. */
    assert_int_equal(create(s, stack, made, NULL), JOBS_ENOSPC);
    assert_int_equal(jobs_store_check(s), 0);
    {
        jobs_job_page *p = NULL;
        assert_int_equal(jobs_list(&p, s, OWNER, 1, 1), 0);
        assert_int_equal(p->count, made);
        jobs_job_page_free(p);
        for (size_t i = 0; i < made; i += 97) {
            jobs_job *j = NULL;
            assert_int_equal(jobs_get(&j, s, OWNER, ids[i]), 0);
            jobs_job_free(j);
        }
    }

    /* Room again: creates work. */
    assert_int_equal(mount("tmpfs", mnt, "tmpfs", MS_REMOUNT, "size=16m,mode=0700"), 0);
    for (size_t i = 0; i < 50; i++)
        assert_int_equal(create(s, stack, made + i, NULL), 0);
    assert_int_equal(jobs_store_check(s), 0);
    jobs_store_close(s);
    s = NULL;
    assert_int_equal(jobs_store_open(&s, &o), 0);
    assert_int_equal(jobs_store_check(s), 0);
    jobs_store_close(s);
    free(ids);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_file_system),
    };
    return cmocka_run_group_tests(tests, mount_tmpfs, unmount_tmpfs);
}
