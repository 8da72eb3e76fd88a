/* The user file. Small and read-mostly: kept in memory, reloaded when the file changes on disk
 * (so `jobs-server user add` takes effect without a restart), rewritten whole on add. */
#include "users.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

/* Argon2id (interactive) needs 64 MiB per verification: bound how many run at once. */
#define VERIFY_CONCURRENCY 4

typedef struct user {
    uint64_t id;
    char name[SRV_USERNAME_MAX + 1];
    char email[SRV_EMAIL_MAX + 1];
    char hash[crypto_pwhash_STRBYTES];
} user;

struct srv_users {
    pthread_mutex_t mu;
    char *path;
    user *v;
    size_t n;
    struct stat st;  /* of the file as last loaded (st_ino 0: none) */
    bool loaded;
    char dummy[crypto_pwhash_STRBYTES];
    sem_t verify_slots;
};

bool srv_username_is_valid(const char *name)
{
    size_t len = strlen(name);

    if (len == 0 || len > SRV_USERNAME_MAX)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return false;
    }
    return true;
}

static bool email_is_valid(const char *email)
{
    size_t len = strlen(email);

    if (len == 0 || len > SRV_EMAIL_MAX || !strchr(email, '@'))
        return false;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)email[i] <= ' ' || email[i] == ':' || email[i] == 0x7f)
            return false;
    return true;
}

/* Parses one line `id:name:email:hash`. */
static bool parse_line(user *u, char *line)
{
    char *f[4], *p = line, *end;
    unsigned long long id;

    for (int i = 0; i < 3; i++) {
        f[i] = p;
        if (!(p = strchr(p, ':')))
            return false;
        *p++ = '\0';
    }
    f[3] = p;
    p[strcspn(p, "\r\n")] = '\0';
    errno = 0;
    id = strtoull(f[0], &end, 10);
    if (errno || *end || end == f[0] || id == 0 || !srv_username_is_valid(f[1]) ||
        strlen(f[2]) > SRV_EMAIL_MAX || strlen(f[3]) >= sizeof u->hash)
        return false;
    u->id = id;
    strcpy(u->name, f[1]);
    strcpy(u->email, f[2]);
    strcpy(u->hash, f[3]);
    return true;
}

/* (Re)loads the file if it changed. Called with mu held. */
static int load(srv_users *u)
{
    struct stat st;
    FILE *f;
    char line[1024];
    user *v = NULL;
    size_t n = 0, cap = 0;

    if (stat(u->path, &st) != 0) {
        if (errno != ENOENT) {
            fprintf(stderr, "jobs-server: %s: %s\n", u->path, strerror(errno));
            return -1;
        }
        memset(&st, 0, sizeof st);
    }
    if (st.st_ino == u->st.st_ino && st.st_size == u->st.st_size &&
        st.st_mtim.tv_sec == u->st.st_mtim.tv_sec && st.st_mtim.tv_nsec == u->st.st_mtim.tv_nsec &&
        u->loaded)
        return 0;
    if (st.st_ino != 0) {
        if (!(f = fopen(u->path, "r"))) {
            fprintf(stderr, "jobs-server: %s: %s\n", u->path, strerror(errno));
            return -1;
        }
        while (fgets(line, sizeof line, f)) {
            if (line[0] == '\n' || line[0] == '#')
                continue;
            if (n == cap) {
                user *nv = realloc(v, (cap = cap ? cap * 2 : 16) * sizeof *v);
                if (!nv) {
                    fclose(f);
                    free(v);
                    return -1;
                }
                v = nv;
            }
            if (!parse_line(&v[n], line)) {
                fprintf(stderr, "jobs-server: %s: skipping a malformed line\n", u->path);
                continue;
            }
            n++;
        }
        fclose(f);
    }
    if (u->v)
        sodium_memzero(u->v, u->n * sizeof *u->v);
    free(u->v);
    u->v = v;
    u->n = n;
    u->st = st;
    u->loaded = true;
    return 0;
}

int srv_users_open(srv_users **out, const char *dir)
{
    srv_users *u = calloc(1, sizeof *u);
    char pw[32];

    *out = NULL;
    if (!u || !(u->path = malloc(strlen(dir) + sizeof "/users"))) {
        free(u);
        return -1;
    }
    sprintf(u->path, "%s/users", dir);
    pthread_mutex_init(&u->mu, NULL);
    sem_init(&u->verify_slots, 0, VERIFY_CONCURRENCY);
    /* A hash of a random password, verified against for unknown users (equal timing). */
    randombytes_buf(pw, sizeof pw);
    if (crypto_pwhash_str(u->dummy, pw, sizeof pw, crypto_pwhash_OPSLIMIT_INTERACTIVE,
                          crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0 ||
        load(u) != 0) {
        srv_users_close(u);
        return -1;
    }
    *out = u;
    return 0;
}

void srv_users_close(srv_users *u)
{
    if (!u)
        return;
    if (u->v)
        sodium_memzero(u->v, u->n * sizeof *u->v);
    free(u->v);
    free(u->path);
    pthread_mutex_destroy(&u->mu);
    sem_destroy(&u->verify_slots);
    free(u);
}

size_t srv_users_count(srv_users *u)
{
    size_t n;

    pthread_mutex_lock(&u->mu);
    load(u);
    n = u->n;
    pthread_mutex_unlock(&u->mu);
    return n;
}

/* Writes all users to a temp file (0600), fsyncs it and renames it over the file. */
static int save(srv_users *u)
{
    size_t len = strlen(u->path) + sizeof ".tmp";
    char *tmp = malloc(len);
    FILE *f = NULL;
    int fd = -1, rc = -1;

    if (!tmp)
        return -1;
    snprintf(tmp, len, "%s.tmp", u->path);
    /* A new file, never one that is there: a leftover users.tmp (or a symlink planted under its
     * name) is removed first (unlink removes a link, not its target), and O_EXCL | O_NOFOLLOW
     * refuse whatever appears in between instead of writing through it. */
    if (unlink(tmp) != 0 && errno != ENOENT)
        goto out;
    if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600)) < 0 ||
        !(f = fdopen(fd, "w")))
        goto out;
    fd = -1;
    for (size_t i = 0; i < u->n; i++)
        fprintf(f, "%" PRIu64 ":%s:%s:%s\n", u->v[i].id, u->v[i].name, u->v[i].email,
                u->v[i].hash);
    if (fflush(f) != 0 || fsync(fileno(f)) != 0)
        goto out;
    if (fclose(f) != 0) {
        f = NULL;
        goto out;
    }
    f = NULL;
    if (rename(tmp, u->path) != 0)
        goto out;
    rc = 0;
out:
    if (rc != 0)
        fprintf(stderr, "jobs-server: writing %s: %s\n", u->path, strerror(errno));
    if (f)
        fclose(f);
    if (fd >= 0)
        close(fd);
    if (rc != 0)
        unlink(tmp);
    free(tmp);
    return rc;
}

int srv_users_add(srv_users *u, uint64_t *id, const char *name, const char *email,
                  const char *password)
{
    user nu;
    user *v;
    int rc = -1;

    if (!email)
        email = "";
    if (!srv_username_is_valid(name)) {
        fprintf(stderr, "jobs-server: a username is 1..64 of A-Z a-z 0-9 . _ -\n");
        return -1;
    }
    if (*email && !email_is_valid(email)) {
        fprintf(stderr, "jobs-server: invalid email address\n");
        return -1;
    }
    if (strlen(password) == 0 || strlen(password) > SRV_PASSWORD_MAX) {
        fprintf(stderr, "jobs-server: the password must be 1..%d bytes\n", SRV_PASSWORD_MAX);
        return -1;
    }
    memset(&nu, 0, sizeof nu);
    if (crypto_pwhash_str(nu.hash, password, strlen(password),
                          crypto_pwhash_OPSLIMIT_INTERACTIVE,
                          crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0) {
        fprintf(stderr, "jobs-server: out of memory hashing the password\n");
        return -1;
    }
    strcpy(nu.name, name);
    strcpy(nu.email, email);

    pthread_mutex_lock(&u->mu);
    if (load(u) != 0)
        goto out;
    nu.id = 1;
    for (size_t i = 0; i < u->n; i++) {
        if (strcmp(u->v[i].name, name) == 0 || (*email && strcmp(u->v[i].email, email) == 0)) {
            fprintf(stderr, "jobs-server: a user with this name or email exists\n");
            goto out;
        }
        if (u->v[i].id >= nu.id)
            nu.id = u->v[i].id + 1;
    }
    if (!(v = realloc(u->v, (u->n + 1) * sizeof *v)))
        goto out;
    u->v = v;
    u->v[u->n++] = nu;
    if (save(u) != 0) {
        u->n--;
        goto out;
    }
    load(u);
    if (id)
        *id = nu.id;
    rc = 0;
out:
    pthread_mutex_unlock(&u->mu);
    sodium_memzero(&nu, sizeof nu);
    return rc;
}

int srv_users_passwd(srv_users *u, const char *name, const char *password)
{
    char hash[crypto_pwhash_STRBYTES], old[crypto_pwhash_STRBYTES];
    int rc = -1;
    size_t i;

    if (strlen(password) == 0 || strlen(password) > SRV_PASSWORD_MAX) {
        fprintf(stderr, "jobs-server: the password must be 1..%d bytes\n", SRV_PASSWORD_MAX);
        return -1;
    }
    if (crypto_pwhash_str(hash, password, strlen(password), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                          crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0) {
        fprintf(stderr, "jobs-server: out of memory hashing the password\n");
        return -1;
    }
    pthread_mutex_lock(&u->mu);
    if (load(u) != 0)
        goto out;
    for (i = 0; i < u->n && strcmp(u->v[i].name, name) != 0; i++)
        ;
    if (i == u->n) {
        fprintf(stderr, "jobs-server: no user named '%s'\n", name);
        goto out;
    }
    memcpy(old, u->v[i].hash, sizeof old);
    memcpy(u->v[i].hash, hash, sizeof hash);
    if (save(u) != 0) {
        memcpy(u->v[i].hash, old, sizeof old);
        goto out;
    }
    load(u);
    rc = 0;
out:
    pthread_mutex_unlock(&u->mu);
    sodium_memzero(hash, sizeof hash);
    return rc;
}

bool srv_users_verify(srv_users *u, uint64_t *id, const char *username, const char *email,
                      const char *password)
{
    char hash[crypto_pwhash_STRBYTES];
    uint64_t found = 0;
    bool ok;

    pthread_mutex_lock(&u->mu);
    load(u);
    memcpy(hash, u->dummy, sizeof hash);
    for (size_t i = 0; i < u->n; i++) {
        const user *x = &u->v[i];
        if (username ? strcmp(x->name, username) == 0
                     : (email && *email && strcmp(x->email, email) == 0)) {
            memcpy(hash, x->hash, sizeof hash);
            found = x->id;
            break;
        }
    }
    pthread_mutex_unlock(&u->mu);

    while (sem_wait(&u->verify_slots) != 0 && errno == EINTR)
        ;
    ok = crypto_pwhash_str_verify(hash, password, strlen(password)) == 0;
    sem_post(&u->verify_slots);
    sodium_memzero(hash, sizeof hash);
    if (ok && found) {
        *id = found;
        return true;
    }
    return false;
}
