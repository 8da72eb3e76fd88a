/* jobs-server's subcommands and the demo user. */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sodium.h>

#include <jobs.h>

#include "auth.h"
#include "cli.h"
#include "config.h"

int srv_make_dir(const char *dir)
{
    char path[PATH_MAX];

    if (snprintf(path, sizeof path, "%s", dir) >= (int)sizeof path)
        return -1;
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

static bool read_password(char *buf, size_t size)
{
    size_t len;

    if (!fgets(buf, (int)size, stdin))
        return false;
    len = strcspn(buf, "\r\n");
    if (buf[len] == '\0' && len == size - 1)
        return false; /* too long */
    buf[len] = '\0';
    return len > 0;
}

/* `jobs-server check [--data DIR]`: jobs_store_check() on the store, which may be in use by a
 * running server (the check reads one snapshot and blocks no writer). */
int srv_cmd_check(int argc, char **argv)
{
    jobs_store_options so = JOBS_STORE_OPTIONS_INIT;
    const char *data = "./var";
    char path[PATH_MAX];
    jobs_store *store = NULL;
    struct stat st;
    int rc;

    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--data") == 0 && i + 1 < argc) {
            data = argv[++i];
        } else {
            srv_usage(stderr);
            return 2;
        }
    }
    if (snprintf(path, sizeof path, "%s/store", data) >= (int)sizeof path || stat(path, &st) != 0) {
        fprintf(stderr, "jobs-server: check: no store in %s\n", data);
        return 1;
    }
    so.path = path;
    if ((rc = jobs_store_open(&store, &so)) != 0) {
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

int srv_cmd_user_add(int argc, char **argv)
{
    const char *name = NULL, *email = NULL, *data = "./var";
    char password[SRV_PASSWORD_MAX + 2];
    srv_users *users = NULL;
    uint64_t id = 0;
    int rc = 1;

    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--email") == 0 && i + 1 < argc)
            email = argv[++i];
        else if (strcmp(argv[i], "--data") == 0 && i + 1 < argc)
            data = argv[++i];
        else if (argv[i][0] != '-' && !name)
            name = argv[i];
        else {
            srv_usage(stderr);
            return 2;
        }
    }
    if (!name) {
        srv_usage(stderr);
        return 2;
    }
    if (!read_password(password, sizeof password)) {
        fprintf(stderr, "jobs-server: give the password (1..%d bytes) on standard input\n",
                SRV_PASSWORD_MAX);
        return 1;
    }
    if (srv_make_dir(data) != 0) {
        fprintf(stderr, "jobs-server: cannot create %s: %s\n", data, strerror(errno));
    } else if (srv_users_open(&users, data) == 0 &&
               srv_users_add(users, &id, name, email, password) == 0) {
        printf("added user %s with id %" PRIu64 "\n", name, id);
        rc = 0;
    }
    sodium_memzero(password, sizeof password);
    srv_users_close(users);
    return rc;
}

int srv_ensure_demo_user(srv_users *users)
{
    const char *env = getenv("JOBS_DEMO_PASSWORD");
    char pw[33];
    uint64_t id;

    if (srv_users_count(users) > 0)
        return 0;
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
    if (env && *env)
        printf("created user demo (password from JOBS_DEMO_PASSWORD)\n");
    else
        printf("created user demo with password %s (shown only this once)\n", pw);
    fflush(stdout);
    sodium_memzero(pw, sizeof pw);
    return 0;
}
