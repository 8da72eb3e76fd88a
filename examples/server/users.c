/* The users of jobs-server, in the store (jobs_kv_*), in three namespaces written together in
 * one transaction:
 *
 *   users        be64(id) -> 1, name_len(1) name, email_len(1) email, the Argon2id hash string
 *   users.name   name     -> be64(id)
 *   users.email  email    -> be64(id)   (only users with an email)
 *
 * Ids come from the namespace's counter ("users"), so an id is never given twice (not even
 * the id of a deleted user, highest or not: the counter is kept apart from the records), and
 * every server on the store sees a change at once. A user being deleted with their data
 * (`user del --with-data`) has LOCK_HASH as its hash until the record goes. The users file of earlier versions (`users`, with
 * `users.ids`) is imported once, ids kept, and renamed aside (import_file()). */
#include "users.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include <jobs.h>

#define NS_USERS "users"
#define NS_NAME "users.name"
#define NS_EMAIL "users.email"
/* A user record's largest size: version, two lengths, name, email and hash. */
#define RECORD_MAX (3 + SRV_USERNAME_MAX + SRV_EMAIL_MAX + crypto_pwhash_STRBYTES)

typedef struct user {
    uint64_t id;
    char name[SRV_USERNAME_MAX + 1];
    char email[SRV_EMAIL_MAX + 1];
    char hash[crypto_pwhash_STRBYTES];
} user;

struct srv_users {
    jobs_store *store;
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


/* ---- records ------------------------------------------------------------------------------- */

static size_t encode(unsigned char *out, const user *u)
{
    size_t nl = strlen(u->name), el = strlen(u->email), hl = strlen(u->hash), n = 0;

    out[n++] = 1;
    out[n++] = (unsigned char)nl;
    memcpy(out + n, u->name, nl);
    n += nl;
    out[n++] = (unsigned char)el;
    memcpy(out + n, u->email, el);
    n += el;
    memcpy(out + n, u->hash, hl);
    return n + hl;
}

static bool decode(user *u, uint64_t id, const unsigned char *v, size_t len)
{
    size_t n = 0, nl, el, hl;

    memset(u, 0, sizeof *u);
    u->id = id;
    if (len < 3 || v[n++] != 1 || (nl = v[n++]) > SRV_USERNAME_MAX || len < n + nl + 1)
        return false;
    memcpy(u->name, v + n, nl);
    n += nl;
    if ((el = v[n++]) > SRV_EMAIL_MAX || len < n + el)
        return false;
    memcpy(u->email, v + n, el);
    n += el;
    if ((hl = len - n) == 0 || hl >= sizeof u->hash)
        return false;
    memcpy(u->hash, v + n, hl);
    return true;
}

/* The id an index (users.name, users.email) gives `key`: 0 when none; -1 on an error. */
static int index_get(uint64_t *id, jobs_kv_txn *txn, const char *ns, const char *key)
{
    unsigned char v[8];
    size_t len = 0;
    int rc;

    *id = 0;
    if (!key || !*key)
        return 0;
    rc = jobs_kv_get(txn, ns, key, strlen(key), v, sizeof v, &len);
    if (rc == JOBS_ENOTFOUND)
        return 0;
    if (rc)
        return rc;
    if (len != 8)
        return JOBS_ECORRUPT;
    *id = srv_be64(v);
    return 0;
}

/* The user of `id`: 0, JOBS_ENOTFOUND or another code. */
static int user_get(user *u, jobs_kv_txn *txn, uint64_t id)
{
    unsigned char key[8], v[RECORD_MAX];
    size_t len = 0;
    int rc;

    srv_be64_put(key, id);
    if ((rc = jobs_kv_get(txn, NS_USERS, key, 8, v, sizeof v, &len)))
        return rc;
    rc = decode(u, id, v, len) ? 0 : JOBS_ECORRUPT;
    sodium_memzero(v, sizeof v);
    return rc;
}

/* Writes `u` with its indexes; `old` (or NULL for a new user) is what it replaces. */
static int user_put(jobs_kv_txn *txn, const user *u, const user *old)
{
    unsigned char key[8], v[RECORD_MAX];
    size_t len = encode(v, u);
    int rc;

    srv_be64_put(key, u->id);
    rc = jobs_kv_put(txn, NS_USERS, key, 8, v, len);
    sodium_memzero(v, sizeof v);
    if (rc)
        return rc;
    if (old && strcmp(old->name, u->name) != 0 &&
        (rc = jobs_kv_delete(txn, NS_NAME, old->name, strlen(old->name))) &&
        rc != JOBS_ENOTFOUND)
        return rc;
    if (old && old->email[0] && strcmp(old->email, u->email) != 0 &&
        (rc = jobs_kv_delete(txn, NS_EMAIL, old->email, strlen(old->email))) &&
        rc != JOBS_ENOTFOUND)
        return rc;
    if ((rc = jobs_kv_put(txn, NS_NAME, u->name, strlen(u->name), key, 8)))
        return rc;
    if (u->email[0] && (rc = jobs_kv_put(txn, NS_EMAIL, u->email, strlen(u->email), key, 8)))
        return rc;
    return 0;
}

/* Says what a store call's failure was: "jobs-server: WHAT: message (detail)". */
static void store_error(const char *what, int rc)
{
    fprintf(stderr, "jobs-server: %s: %s (%s)\n", what, jobs_strerror(rc), jobs_error_last());
}

/* ---- the users file of earlier versions -------------------------------------------------- */

/* Reads `path` strictly: a line that is not a well-formed user, or a second user with one id,
 * name or email, refuses the whole file with the line named (nothing is skipped, so no id can
 * come back). *v is NULL and *n 0 when there is no file. Returns 0 or -1 after a message. */
static int read_file(user **out, size_t *count, uint64_t *max, const char *path,
                     const char *ids_path)
{
    FILE *f;
    char line[1024];
    user *v = NULL;
    size_t n = 0, cap = 0;
    unsigned lineno = 0;
    uint64_t max_id = 0, file_max = 0;
    bool have_max = false;
    const char *why = NULL;

    *out = NULL;
    *count = 0;
    if (read_ids(&max_id, ids_path) != 0)
        return -1;
    if (!(f = fopen(path, "re"))) {
        if (errno != ENOENT) {
            fprintf(stderr, "jobs-server: %s: %s\n", path, strerror(errno));
            return -1;
        }
        *max = max_id;
        return 0;
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
        if (!parse_line(&v[n], line) || v[n].id > JOBS_ID_MAX ||
            (v[n].email[0] && !email_is_valid(v[n].email))) {
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
    if (!why && file_max > JOBS_ID_MAX)
        why = "a max-id past 2^53-1";
    if (why) {
        fprintf(stderr, "jobs-server: %s:%u: %s; fix or remove the line, then start again (no "
                        "user is skipped, so that no id is given twice); nothing was imported\n",
                path, lineno, why);
        if (v)
            sodium_memzero(v, n * sizeof *v);
        free(v);
        return -1;
    }
    *out = v;
    *count = n;
    *max = file_max > max_id ? file_max : max_id;
    return 0;
}

typedef struct import_ctx {
    const user *v;
    size_t n;
    uint64_t max_id;
    char clash[SRV_USERNAME_MAX + 1]; /* the user that clashes with the store's */
} import_ctx;

/* Every user of the file, ids kept, and the counter past the highest id the file gave. A user
 * already in the store under the same id and name (an import that crashed before the rename)
 * is written again; any other clash refuses the import. */
static int import_txn(jobs_kv_txn *txn, void *ctx)
{
    import_ctx *c = ctx;
    int rc;

    c->clash[0] = '\0';
    for (size_t i = 0; i < c->n; i++) {
        const user *u = &c->v[i];
        uint64_t by_name, by_email;
        user old;
        bool had;

        rc = user_get(&old, txn, u->id);
        if (rc && rc != JOBS_ENOTFOUND)
            return rc;
        had = rc == 0;
        if ((rc = index_get(&by_name, txn, NS_NAME, u->name)) ||
            (rc = index_get(&by_email, txn, NS_EMAIL, u->email)))
            return rc;
        if ((had && strcmp(old.name, u->name) != 0) || (by_name && by_name != u->id) ||
            (by_email && by_email != u->id)) {
            snprintf(c->clash, sizeof c->clash, "%s", u->name);
            return JOBS_EEXISTS;
        }
        rc = user_put(txn, u, had ? &old : NULL);
        sodium_memzero(&old, sizeof old);
        if (rc)
            return rc;
    }
    return jobs_kv_reserve_ids(txn, NS_USERS, c->max_id);
}

/* "dir/name" into a new string, or NULL. */
static char *join(const char *dir, const char *name)
{
    size_t len = strlen(dir) + strlen(name) + 2;
    char *p = malloc(len);

    if (p)
        snprintf(p, len, "%s/%s", dir, name);
    return p;
}

/* Imports DIR/users (and DIR/users.ids) into the store once: every user with its id, the
 * counter past the highest id ever given; then the files are renamed to users.imported and
 * users.ids.imported, so that the next start has nothing to import. 0, or -1 after a message. */
static int import_file(srv_users *u, const char *dir)
{
    char *path = join(dir, "users"), *ids = join(dir, "users.ids");
    char *path_to = join(dir, "users.imported"), *ids_to = join(dir, "users.ids.imported");
    import_ctx c;
    user *v = NULL;
    size_t n = 0;
    int rc = -1, lrc;
    struct stat st;
    bool have_file, have_ids;

    memset(&c, 0, sizeof c);
    if (!path || !ids || !path_to || !ids_to)
        goto out;
    have_file = lstat(path, &st) == 0;
    have_ids = lstat(ids, &st) == 0;
    if (!have_file && !have_ids) {
        rc = 0;
        goto out;
    }
    if (read_file(&v, &n, &c.max_id, path, ids) != 0)
        goto out;
    c.v = v;
    c.n = n;
    if ((lrc = jobs_kv_write(u->store, import_txn, &c)) != 0) {
        if (c.clash[0])
            fprintf(stderr, "jobs-server: %s: user %s clashes with a user of the store (another "
                            "id has its name or email, or its id has another name); nothing "
                            "was imported\n", path, c.clash);
        else
            store_error("importing the users file into the store", lrc);
        goto out;
    }
    if ((have_file && rename(path, path_to) != 0) || (have_ids && rename(ids, ids_to) != 0)) {
        fprintf(stderr, "jobs-server: renaming the imported users file: %s\n", strerror(errno));
        goto out;
    }
    printf("imported %zu user(s) from %s into the store (ids kept, next id %" PRIu64
           "); the file is now %s\n", n, path, c.max_id + 1, path_to);
    fflush(stdout);
    rc = 0;
out:
    if (v)
        sodium_memzero(v, n * sizeof *v);
    free(v);
    free(path);
    free(ids);
    free(path_to);
    free(ids_to);
    return rc;
}

/* ---- the handle ---------------------------------------------------------------------------- */

int srv_users_open(srv_users **out, jobs_store *store, const char *dir)
{
    srv_users *u = calloc(1, sizeof *u);
    char pw[32];

    *out = NULL;
    if (!u)
        return -1;
    u->store = store;
    sem_init(&u->verify_slots, 0, SRV_VERIFY_SLOTS);
    /* A hash of a random password, verified against for unknown users (equal timing). */
    randombytes_buf(pw, sizeof pw);
    if (crypto_pwhash_str(u->dummy, pw, sizeof pw, crypto_pwhash_OPSLIMIT_INTERACTIVE,
                          crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0 ||
        (dir && import_file(u, dir) != 0)) {
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
    sem_destroy(&u->verify_slots);
    free(u);
}

static int count_one(void *ctx, const void *key, size_t key_len, const void *value,
                     size_t value_len)
{
    (void)key;
    (void)key_len;
    (void)value;
    (void)value_len;
    ++*(size_t *)ctx;
    return 0;
}

typedef struct count_ctx {
    const char *ns;
    size_t n;
} count_ctx;

static int count_txn(jobs_kv_txn *txn, void *ctx)
{
    count_ctx *c = ctx;

    c->n = 0;
    return jobs_kv_scan(txn, c->ns, NULL, 0, 0, count_one, &c->n);
}

int srv_kv_count(size_t *n, jobs_store *store, const char *ns)
{
    count_ctx c = {ns, 0};
    int rc = jobs_kv_read(store, count_txn, &c);

    *n = rc ? 0 : c.n;
    return rc;
}

int srv_users_count(size_t *n, srv_users *u)
{
    int rc = srv_kv_count(n, u->store, NS_USERS);

    if (rc) {
        store_error("counting the users", rc);
        return -1;
    }
    return 0;
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


/* Checks a new password (1..SRV_PASSWORD_MAX bytes of UTF-8) and hashes it into `hash`. */
static int hash_password(char hash[crypto_pwhash_STRBYTES], const char *password)
{
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
    if (crypto_pwhash_str(hash, password, strlen(password), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                          crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0) {
        fprintf(stderr, "jobs-server: out of memory hashing the password\n");
        return -1;
    }
    return 0;
}

typedef struct add_ctx {
    user *u;
    bool exists;
} add_ctx;

static int add_txn(jobs_kv_txn *txn, void *ctx)
{
    add_ctx *c = ctx;
    uint64_t by_name, by_email;
    int rc;

    c->exists = false;
    if ((rc = index_get(&by_name, txn, NS_NAME, c->u->name)) ||
        (rc = index_get(&by_email, txn, NS_EMAIL, c->u->email)))
        return rc;
    if (by_name || by_email) {
        c->exists = true;
        return JOBS_EEXISTS;
    }
    /* Ids are never given twice: a deleted user's id stays theirs, with their jobs. */
    if ((rc = jobs_kv_next_id(&c->u->id, txn, NS_USERS)))
        return rc;
    return user_put(txn, c->u, NULL);
}

int srv_users_add(srv_users *u, uint64_t *id, const char *name, const char *email,
                  const char *password)
{
    user nu;
    add_ctx c = {&nu, false};
    int rc;

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
    memset(&nu, 0, sizeof nu);
    if (hash_password(nu.hash, password) != 0)
        return -1;
    strcpy(nu.name, name);
    strcpy(nu.email, email);
    rc = jobs_kv_write(u->store, add_txn, &c);
    if (rc == 0 && id)
        *id = nu.id;
    sodium_memzero(&nu, sizeof nu);
    if (rc && c.exists)
        fprintf(stderr, "jobs-server: a user with this name or email exists\n");
    else if (rc == JOBS_ERANGE)
        fprintf(stderr, "jobs-server: no user id is left\n");
    else if (rc)
        store_error("adding the user", rc);
    return rc ? -1 : 0;
}

typedef struct passwd_ctx {
    const char *name;
    const char *hash;
    uint64_t id; /* the user's id as the caller found it; 0: any */
    bool missing, changed;
    srv_users_then then;
    void *arg;
} passwd_ctx;

static int passwd_txn(jobs_kv_txn *txn, void *ctx)
{
    passwd_ctx *c = ctx;
    uint64_t id;
    user old, nu;
    int rc;

    c->missing = c->changed = false;
    if ((rc = index_get(&id, txn, NS_NAME, c->name)))
        return rc;
    if (!id || (rc = user_get(&old, txn, id)) == JOBS_ENOTFOUND) {
        c->missing = true;
        return JOBS_ENOTFOUND;
    }
    if (rc)
        return rc;
    if (c->id && id != c->id) { /* deleted and added again since the caller looked */
        sodium_memzero(&old, sizeof old);
        c->changed = true;
        return JOBS_ECHANGED;
    }
    nu = old;
    snprintf(nu.hash, sizeof nu.hash, "%s", c->hash);
    rc = user_put(txn, &nu, &old);
    sodium_memzero(&old, sizeof old);
    sodium_memzero(&nu, sizeof nu);
    if (rc == 0 && c->then)
        rc = c->then(txn, id, c->arg);
    return rc;
}

/* The message of a change of user `name` (expected to have id `id`) that failed. */
static void change_error(const char *name, uint64_t id, bool missing, bool changed,
                         const char *what, int rc)
{
    if (missing)
        fprintf(stderr, "jobs-server: no user named '%s'\n", name);
    else if (changed)
        fprintf(stderr, "jobs-server: user %s has another id than %" PRIu64 " now (deleted and "
                        "added again meanwhile): nothing was changed\n", name, id);
    else
        store_error(what, rc);
}

/* Puts `hash` in place of user `name`'s (a password's, or LOCK_HASH) when the user's id is
 * `id` (0: any), with `then` in the same transaction. 0, or -1 after a message (`what`
 * failed). */
static int set_hash(srv_users *u, const char *name, uint64_t id, const char *hash,
                    srv_users_then then, void *arg, const char *what)
{
    passwd_ctx c = {name, hash, id, false, false, then, arg};
    int rc = jobs_kv_write(u->store, passwd_txn, &c);

    if (rc)
        change_error(name, id, c.missing, c.changed, what, rc);
    return rc ? -1 : 0;
}

int srv_users_passwd(srv_users *u, const char *name, const char *password, srv_users_then then,
                     void *arg)
{
    char hash[crypto_pwhash_STRBYTES];
    int rc;

    if (hash_password(hash, password) != 0)
        return -1;
    rc = set_hash(u, name, 0, hash, then, arg, "changing the password");
    sodium_memzero(hash, sizeof hash);
    return rc;
}

/* The hash of a user being deleted: no password verifies against it (libsodium refuses a
 * string that is not an Argon2 hash), so the user can no longer log in. */
#define LOCK_HASH "!deleting"

int srv_users_lock(srv_users *u, const char *name, uint64_t id, srv_users_then then, void *arg)
{
    return set_hash(u, name, id, LOCK_HASH, then, arg, "locking the user");
}

/* ---- list and delete ----------------------------------------------------------------------- */

typedef struct list_ctx {
    srv_user_info *v;
    size_t n, cap;
    int err; /* JOBS_ENOMEM, JOBS_ECORRUPT */
} list_ctx;

static int list_one(void *ctx, const void *key, size_t key_len, const void *value,
                    size_t value_len)
{
    list_ctx *c = ctx;
    user x;

    if (key_len != 8 || !decode(&x, srv_be64(key), value, value_len))
        return c->err = JOBS_ECORRUPT;
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 16;
        srv_user_info *nv = realloc(c->v, cap * sizeof *nv);

        if (!nv) {
            sodium_memzero(&x, sizeof x);
            return c->err = JOBS_ENOMEM;
        }
        c->v = nv;
        c->cap = cap;
    }
    c->v[c->n].id = x.id;
    memcpy(c->v[c->n].name, x.name, sizeof x.name);
    memcpy(c->v[c->n].email, x.email, sizeof x.email);
    c->n++;
    sodium_memzero(&x, sizeof x);
    return 0;
}

static int list_txn(jobs_kv_txn *txn, void *ctx)
{
    list_ctx *c = ctx;

    c->n = 0;
    c->err = 0;
    return jobs_kv_scan(txn, NS_USERS, NULL, 0, 0, list_one, c);
}

int srv_users_list(srv_user_info **out, size_t *n, srv_users *u)
{
    list_ctx c = {NULL, 0, 0, 0};
    int rc = jobs_kv_read(u->store, list_txn, &c);

    *out = NULL;
    *n = 0;
    if (rc) {
        free(c.v);
        store_error("listing the users", rc);
        return -1;
    }
    *out = c.v;
    *n = c.n;
    return 0;
}

int srv_users_id(uint64_t *id, srv_users *u, const char *name)
{
    srv_account a;
    int rc = 0;

    /* The login's lookup (no hashing), its hash wiped at once: only the id is wanted. */
    memset(&a, 0, sizeof a);
    if (srv_username_is_valid(name))
        rc = srv_users_find(u, &a, name, NULL);
    *id = rc ? 0 : a.id;
    sodium_memzero(&a, sizeof a);
    if (rc)
        store_error("looking up the user", rc);
    return rc ? -1 : 0;
}

typedef struct del_ctx {
    const char *name;
    uint64_t id;
    bool missing, changed;
    srv_users_then then;
    void *arg;
} del_ctx;

static int del_txn(jobs_kv_txn *txn, void *ctx)
{
    del_ctx *c = ctx;
    unsigned char key[8];
    uint64_t id;
    user old;
    int rc;

    c->missing = c->changed = false;
    if ((rc = index_get(&id, txn, NS_NAME, c->name)))
        return rc;
    if (!id || (rc = user_get(&old, txn, id)) == JOBS_ENOTFOUND) {
        c->missing = true;
        return JOBS_ENOTFOUND;
    }
    if (rc)
        return rc;
    if (id != c->id) { /* deleted and added again since the caller looked */
        sodium_memzero(&old, sizeof old);
        c->changed = true;
        return JOBS_ECHANGED;
    }
    srv_be64_put(key, id);
    rc = jobs_kv_delete(txn, NS_USERS, key, 8);
    if (rc == 0)
        rc = jobs_kv_delete(txn, NS_NAME, old.name, strlen(old.name));
    if (rc == 0 && old.email[0] &&
        (rc = jobs_kv_delete(txn, NS_EMAIL, old.email, strlen(old.email))) == JOBS_ENOTFOUND)
        rc = 0;
    sodium_memzero(&old, sizeof old);
    if (rc == 0 && c->then)
        rc = c->then(txn, id, c->arg);
    return rc;
}

int srv_users_del(srv_users *u, const char *name, uint64_t id, srv_users_then then, void *arg)
{
    del_ctx c = {name, id, false, false, then, arg};
    int rc = srv_username_is_valid(name) ? jobs_kv_write(u->store, del_txn, &c)
                                         : (c.missing = true, JOBS_ENOTFOUND);

    if (rc)
        change_error(name, id, c.missing, c.changed, "deleting the user", rc);
    return rc ? -1 : 0;
}

typedef struct find_ctx {
    const char *username, *email;
    user u; /* u.id 0: none */
} find_ctx;

static int find_txn(jobs_kv_txn *txn, void *ctx)
{
    find_ctx *c = ctx;
    uint64_t id;
    int rc;

    c->u.id = 0;
    rc = c->username ? index_get(&id, txn, NS_NAME, c->username)
                     : index_get(&id, txn, NS_EMAIL, c->email);
    if (rc || !id)
        return rc;
    rc = user_get(&c->u, txn, id);
    if (rc == JOBS_ENOTFOUND) { /* an index entry without its user: as if none */
        c->u.id = 0;
        return 0;
    }
    return rc;
}

/* The user a login names into c->u (id 0 for none): 0, or the store's code. */
static int find(srv_users *u, find_ctx *c)
{
    c->u.id = 0;
    if (!c->username && !(c->email && *c->email))
        return 0;
    return jobs_kv_read(u->store, find_txn, c);
}

_Static_assert(SRV_HASH_MAX == crypto_pwhash_STRBYTES, "srv_account's hash is a pwhash string");

static void stamp_of(unsigned char stamp[SRV_STAMP_LEN], const char *hash)
{
    crypto_generichash(stamp, SRV_STAMP_LEN, (const unsigned char *)hash, strlen(hash), NULL, 0);
}

int srv_users_unchanged(jobs_kv_txn *txn, uint64_t id, const unsigned char stamp[SRV_STAMP_LEN])
{
    unsigned char now[SRV_STAMP_LEN];
    user cur;
    int rc = user_get(&cur, txn, id);

    if (rc == JOBS_ENOTFOUND)
        return JOBS_ECHANGED;
    if (rc)
        return rc;
    stamp_of(now, cur.hash);
    sodium_memzero(&cur, sizeof cur);
    return sodium_memcmp(now, stamp, SRV_STAMP_LEN) == 0 ? 0 : JOBS_ECHANGED;
}

int srv_users_find(srv_users *u, srv_account *a, const char *username, const char *email)
{
    find_ctx c = {username, email, {0}};
    int rc = find(u, &c);

    memset(a, 0, sizeof *a);
    if (rc == 0 && c.u.id) {
        a->id = c.u.id;
        memcpy(a->hash, c.u.hash, sizeof a->hash);
        stamp_of(a->stamp, c.u.hash);
    }
    sodium_memzero(&c.u, sizeof c.u);
    return rc;
}

void srv_users_set_verify_slots(srv_users *u, unsigned n)
{
    sem_destroy(&u->verify_slots);
    sem_init(&u->verify_slots, 0, n ? n : 1);
}

srv_verify srv_users_verify(srv_users *u, uint64_t *id, srv_account *a, const char *password)
{
    bool ok;

    /* A slot first, without waiting: a login never holds a worker thread in a queue. */
    while (sem_trywait(&u->verify_slots) != 0)
        if (errno != EINTR) {
            sodium_memzero(a->hash, sizeof a->hash);
            return SRV_VERIFY_BUSY;
        }
    if (!a->id)
        memcpy(a->hash, u->dummy, sizeof a->hash);
    ok = crypto_pwhash_str_verify(a->hash, password, strlen(password)) == 0;
    sem_post(&u->verify_slots);
    sodium_memzero(a->hash, sizeof a->hash);
    ok = ok && a->id;
    if (ok)
        *id = a->id;
    return ok ? SRV_VERIFY_OK : SRV_VERIFY_WRONG;
}
