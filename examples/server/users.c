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

#include <jobs.h>


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
    char *ids_path;  /* users.ids: the highest id ever given */
    uint64_t max_id; /* the highest id ever given, as last loaded */
    struct stat st;  /* of the file as last loaded (st_ino 0: none) */
    struct stat bad; /* of a version refused as malformed (reported once) */
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

/* The highest id ever given as users.ids records it: 0 when the file is missing; -1 after a
 * message when it cannot be read or is not one decimal number. */
static int read_ids(uint64_t *max_id, const char *path)
{
    char buf[64], *end;
    FILE *f = fopen(path, "r");
    size_t n;

    *max_id = 0;
    if (!f) {
        if (errno == ENOENT)
            return 0;
        fprintf(stderr, "jobs-server: %s: %s\n", path, strerror(errno));
        return -1;
    }
    n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    errno = 0;
    *max_id = strtoull(buf, &end, 10);
    if (n == 0 || errno || end == buf || strcmp(end, "\n") != 0) {
        fprintf(stderr, "jobs-server: %s: malformed (expected the highest user id given, one "
                        "decimal number and a newline); refusing to go on, so that no id is "
                        "given twice\n", path);
        return -1;
    }
    return 0;
}

/* (Re)loads the file if it changed. Called with mu held. A line that is not a well-formed user
 * (or a second user with one id, name or email) is never skipped: the whole file is refused with
 * the line named, and the users loaded before stay in effect. */
static int load(srv_users *u)
{
    struct stat st;
    FILE *f;
    char line[1024];
    user *v = NULL;
    size_t n = 0, cap = 0;
    unsigned lineno = 0;
    uint64_t max_id = 0, file_max = 0;
    bool have_max = false;
    const char *why = NULL;

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
    if (read_ids(&max_id, u->ids_path) != 0)
        return -1;
    if (st.st_ino != 0) {
        if (!(f = fopen(u->path, "r"))) {
            fprintf(stderr, "jobs-server: %s: %s\n", u->path, strerror(errno));
            return -1;
        }
        while (!why && fgets(line, sizeof line, f)) {
            lineno++;
            if (!strchr(line, '\n') && !feof(f)) {
                why = "longer than 1023 bytes";
                break;
            }
            if (line[0] == '\n' || line[0] == '#')
                continue;
            if (strncmp(line, "max-id:", 7) == 0) {
                char *end;
                errno = 0;
                file_max = strtoull(line + 7, &end, 10);
                if (have_max || errno || end == line + 7 || (*end != '\n' && *end != '\0'))
                    why = "a malformed or second max-id line";
                have_max = true;
                continue;
            }
            if (n == cap) {
                user *nv = realloc(v, (cap = cap ? cap * 2 : 16) * sizeof *v);
                if (!nv) {
                    why = "out of memory";
                    break;
                }
                v = nv;
            }
            if (!parse_line(&v[n], line)) {
                why = "not a user (id:username:email:hash)";
                break;
            }
            for (size_t i = 0; i < n && !why; i++)
                if (v[i].id == v[n].id || strcmp(v[i].name, v[n].name) == 0 ||
                    (v[n].email[0] && strcmp(v[i].email, v[n].email) == 0))
                    why = "a second user with this id, name or email";
            if (v[n].id > max_id)
                max_id = v[n].id;
            n++;
        }
        if (!why && ferror(f))
            why = strerror(errno);
        fclose(f);
    }
    if (why) {
        /* Reported once per version of the file, not at every login. */
        if (!u->loaded || st.st_ino != u->bad.st_ino || st.st_size != u->bad.st_size ||
            st.st_mtim.tv_sec != u->bad.st_mtim.tv_sec ||
            st.st_mtim.tv_nsec != u->bad.st_mtim.tv_nsec)
            fprintf(stderr, "jobs-server: %s:%u: %s; fix or remove the line (no user is "
                            "skipped, so that no id is given twice)%s\n",
                    u->path, lineno, why,
                    u->loaded ? "; the users loaded before stay in effect" : "");
        u->bad = st;
        if (v)
            sodium_memzero(v, n * sizeof *v);
        free(v);
        return -1;
    }
    if (file_max > max_id)
        max_id = file_max;
    if (u->v)
        sodium_memzero(u->v, u->n * sizeof *u->v);
    free(u->v);
    u->v = v;
    u->n = n;
    u->max_id = max_id;
    u->st = st;
    u->loaded = true;
    return 0;
}

int srv_users_open(srv_users **out, const char *dir)
{
    srv_users *u = calloc(1, sizeof *u);
    char pw[32];

    *out = NULL;
    if (!u || !(u->path = malloc(strlen(dir) + sizeof "/users")) ||
        !(u->ids_path = malloc(strlen(dir) + sizeof "/users.ids"))) {
        if (u)
            free(u->path);
        free(u);
        return -1;
    }
    sprintf(u->path, "%s/users", dir);
    sprintf(u->ids_path, "%s/users.ids", dir);
    pthread_mutex_init(&u->mu, NULL);
    sem_init(&u->verify_slots, 0, SRV_VERIFY_SLOTS);
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
    free(u->ids_path);
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

/* Replaces `path` with `text`: a temp file (0600, created anew, never followed through a
 * symlink), fsync, rename. */
static int replace_file(const char *path, const char *text, size_t len)
{
    size_t plen = strlen(path) + sizeof ".tmp";
    char *tmp = malloc(plen);
    int fd = -1, rc = -1;
    size_t done = 0;

    if (!tmp)
        return -1;
    snprintf(tmp, plen, "%s.tmp", path);
    unlink(tmp); /* a leftover of a crash */
    if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600)) < 0)
        goto out;
    while (done < len) {
        ssize_t w = write(fd, text + done, len - done);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            goto out;
        }
        done += (size_t)w;
    }
    if (fsync(fd) != 0)
        goto out;
    if (close(fd) != 0) {
        fd = -1;
        goto out;
    }
    fd = -1;
    if (rename(tmp, path) != 0)
        goto out;
    rc = 0;
out:
    if (rc != 0)
        fprintf(stderr, "jobs-server: writing %s: %s\n", path, strerror(errno));
    if (fd >= 0)
        close(fd);
    if (rc != 0)
        unlink(tmp);
    free(tmp);
    return rc;
}

/* Writes users.ids (the highest id ever given), then the users file, which begins with the
 * same number in its max-id line: either one keeps an id from coming back. */
static int save(srv_users *u)
{
    char ids[32], *text = NULL;
    size_t len = 0;
    FILE *f;
    int n, rc;

    n = snprintf(ids, sizeof ids, "%" PRIu64 "\n", u->max_id);
    if (replace_file(u->ids_path, ids, (size_t)n) != 0)
        return -1;
    if (!(f = open_memstream(&text, &len)))
        return -1;
    fprintf(f, "max-id:%" PRIu64 "\n", u->max_id);
    for (size_t i = 0; i < u->n; i++)
        fprintf(f, "%" PRIu64 ":%s:%s:%s\n", u->v[i].id, u->v[i].name, u->v[i].email,
                u->v[i].hash);
    if (fclose(f) != 0) {
        free(text);
        return -1;
    }
    rc = replace_file(u->path, text, len);
    sodium_memzero(text, len);
    free(text);
    return rc;
}

/* True when s[0..len) is valid UTF-8 (no overlong forms, surrogates or code points past
 * U+10FFFF), as the login body requires of the password. */
static bool utf8_valid(const unsigned char *s, size_t len)
{
    size_t i = 0;

    while (i < len) {
        unsigned char c = s[i];
        size_t n;
        uint32_t cp;

        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf) {
            n = 1;
            cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            n = 2;
            cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            n = 3;
            cp = c & 0x07;
        } else {
            return false;
        }
        if (i + n >= len)
            return false;
        for (size_t k = 1; k <= n; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        if ((n == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
            (n == 3 && (cp < 0x10000 || cp > 0x10ffff)))
            return false;
        i += n + 1;
    }
    return true;
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
    /* A login body is JSON, whose strings are UTF-8: another password could never be sent. */
    if (!utf8_valid((const unsigned char *)password, strlen(password))) {
        fprintf(stderr, "jobs-server: the password is not valid UTF-8 (a login could never "
                        "send it)\n");
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
    for (size_t i = 0; i < u->n; i++) {
        if (strcmp(u->v[i].name, name) == 0 || (*email && strcmp(u->v[i].email, email) == 0)) {
            fprintf(stderr, "jobs-server: a user with this name or email exists\n");
            goto out;
        }
    }
    /* Ids are never given twice: the next one is past the highest ever given, not past the
     * highest in the file (a deleted user's id stays theirs, with their jobs). */
    if (u->max_id >= JOBS_ID_MAX) {
        fprintf(stderr, "jobs-server: no user id is left\n");
        goto out;
    }
    nu.id = u->max_id + 1;
    if (!(v = realloc(u->v, (u->n + 1) * sizeof *v)))
        goto out;
    u->v = v;
    u->v[u->n++] = nu;
    u->max_id = nu.id;
    if (save(u) != 0) {
        u->n--;
        u->max_id = nu.id - 1;
        u->loaded = false; /* read the files again: users.ids may have been written */
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
    if (!utf8_valid((const unsigned char *)password, strlen(password))) {
        fprintf(stderr, "jobs-server: the password is not valid UTF-8 (a login could never "
                        "send it)\n");
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

uint64_t srv_users_find(srv_users *u, const char *username, const char *email)
{
    uint64_t found = 0;

    pthread_mutex_lock(&u->mu);
    load(u);
    for (size_t i = 0; i < u->n && !found; i++) {
        const user *x = &u->v[i];
        if (username ? strcmp(x->name, username) == 0
                     : (email && *email && strcmp(x->email, email) == 0))
            found = x->id;
    }
    pthread_mutex_unlock(&u->mu);
    return found;
}

void srv_users_set_verify_slots(srv_users *u, unsigned n)
{
    sem_destroy(&u->verify_slots);
    sem_init(&u->verify_slots, 0, n ? n : 1);
}

srv_verify srv_users_verify(srv_users *u, uint64_t *id, const char *username, const char *email,
                            const char *password)
{
    char hash[crypto_pwhash_STRBYTES];
    uint64_t found = 0;
    bool ok;

    /* A slot first, without waiting: a login never holds a worker thread in a queue. */
    while (sem_trywait(&u->verify_slots) != 0)
        if (errno != EINTR)
            return SRV_VERIFY_BUSY;
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

    ok = crypto_pwhash_str_verify(hash, password, strlen(password)) == 0;
    sem_post(&u->verify_slots);
    sodium_memzero(hash, sizeof hash);
    if (ok && found) {
        *id = found;
        return SRV_VERIFY_OK;
    }
    return SRV_VERIFY_WRONG;
}
