/*
 * A program that uses an installed libjobs, built by tests/package/test-install.sh with
 * pkg-config and with find_package(libjobs). Opens a store in the directory argv[1], creates a
 * stack and a job, reads the job back, and prints OK.
 */
#include <jobs.h>

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define OWNER ((uint64_t)1)
/* Built-in public schedule 1: every minute (see jobs_store_open()). */
#define EVERY_MINUTE ((uint64_t)1)

static int fail(const char *what, int rc)
{
    fprintf(stderr, "consumer: %s: %s (%s)\n", what, jobs_strerror(rc), jobs_error_last());
    return 1;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: consumer STORE_DIR\n");
        return 2;
    }
    if (jobs_version() != JOBS_VERSION_NUMBER) {
        fprintf(stderr, "consumer: header %u, library %u\n", (unsigned)JOBS_VERSION_NUMBER,
                jobs_version());
        return 1;
    }
    if (strcmp(jobs_version_string(), JOBS_VERSION_STRING) != 0) {
        fprintf(stderr, "consumer: header %s, library %s\n", JOBS_VERSION_STRING,
                jobs_version_string());
        return 1;
    }

    jobs_store_options opts = JOBS_STORE_OPTIONS_INIT;
    jobs_options_lmdb lmdb = JOBS_OPTIONS_INIT_LMDB;
    lmdb.flags = JOBS_NOSYNC_LMDB;
    opts.path = argv[1];
    opts.lmdb = &lmdb;
    jobs_store *store = NULL;
    int rc = jobs_store_open(&store, &opts);
    if (rc != 0)
        return fail("jobs_store_open", rc);

    int status = 1;
    uint64_t stack = 0, id = 0;
    jobs_job *job = NULL;
    rc = jobs_stack_create(&stack, store, OWNER, "consumer-stack", false);
    if (rc != 0) {
        fail("jobs_stack_create", rc);
        goto out;
    }
    jobs_job_spec spec = JOBS_JOB_SPEC_INIT;
    spec.fields = JOBS_JOB_NAME | JOBS_JOB_STACK | JOBS_JOB_SCHEDULE | JOBS_JOB_ENABLED;
    spec.name = "consumer-job";
    spec.stack = stack;
    spec.schedule = EVERY_MINUTE;
    spec.enabled = true;
    rc = jobs_create(&id, store, OWNER, &spec);
    if (rc != 0) {
        fail("jobs_create", rc);
        goto out;
    }
    rc = jobs_get(&job, store, OWNER, id);
    if (rc != 0) {
        fail("jobs_get", rc);
        goto out;
    }
    if (job->id != id || job->owner != OWNER || job->stack != stack ||
        job->schedule != EVERY_MINUTE || !job->do_run || job->name == NULL ||
        strcmp(job->name, "consumer-job") != 0) {
        fprintf(stderr, "consumer: job %" PRIu64 " read back differs from what was created\n",
                id);
        goto out;
    }
    printf("OK libjobs %s: job %" PRIu64 " on stack %" PRIu64 "\n", jobs_version_string(), id,
           stack);
    status = 0;
out:
    jobs_job_free(job);
    jobs_store_close(store);
    return status;
}
