/* Sessions, in the store (jobs_kv_*), so that a restart keeps them, a logout on one server ends
 * the session on every server of the store, and they have the store's crash safety. The store
 * keeps only a hash of each token (BLAKE2b-256, crypto_generichash), never the token: a copy of
 * the store gives no usable session. Three namespaces, written together in one transaction:
 *
 *   sessions        hash(32)                  -> be64 user, be64 seq, be64 created, be64 expires
 *   sessions.exp    be64(expires) hash(32)    -> ""     every session in expiry order
 *   sessions.user   be64(user) be64(seq)      -> hash   a user's sessions, oldest first
 *
 * `seq` is the namespace's id counter ("sessions"): a login's place in the order of logins on
 * every server of the store, finer than the clock's seconds. A lookup is one read of the store
 * (a read transaction of LMDB costs about a microsecond: no cache, so a logout anywhere counts
 * at once everywhere). A login removes up to SWEEP_BATCH expired sessions, earliest first, and
 * the user's oldest sessions past the cap, in its own transaction. */
#include "auth.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include <jobs.h>

#include "users.h"

#define NS "sessions"
#define NS_EXP "sessions.exp"
#define NS_USER "sessions.user"
#define HASH_LEN 32
#define VALUE_LEN 32
/* Expired sessions a login removes at most (bounded work per login; logins outnumber expiries
 * by far, so the sweep keeps up). */
#define SWEEP_BATCH 64
/* Sessions past the cap a login ends at most beyond its own one (after the cap was lowered). */
#define CAP_SLACK 64

struct srv_sessions {
    jobs_store *store;
    unsigned max_per_user;
};

srv_sessions *srv_sessions_new(jobs_store *store, unsigned max_per_user)
{
    srv_sessions *s = calloc(1, sizeof *s);

    if (!s)
        return NULL;
    s->store = store;
    s->max_per_user = max_per_user;
    return s;
}

void srv_sessions_free(srv_sessions *s)
{
    free(s);
}

static uint64_t time_key(time_t t)
{
    return t < 0 ? 0 : (uint64_t)t;
}

static bool token_hash(unsigned char hash[HASH_LEN], const char *token, size_t len)
{
    if (!token || len != SRV_TOKEN_LEN)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = token[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return false;
    }
    crypto_generichash(hash, HASH_LEN, (const unsigned char *)token, len, NULL, 0);
    return true;
}

/* A session record. */
typedef struct rec {
    uint64_t user, seq;
    time_t created, expires;
} rec;

/* The session of `hash`: 0, JOBS_ENOTFOUND, or another code. */
static int get(rec *r, jobs_kv_txn *txn, const unsigned char *hash)
{
    unsigned char v[VALUE_LEN];
    size_t len = 0;
    int rc = jobs_kv_get(txn, NS, hash, HASH_LEN, v, sizeof v, &len);

    if (rc)
        return rc;
    if (len != VALUE_LEN)
        return JOBS_ECORRUPT;
    r->user = srv_be64(v);
    r->seq = srv_be64(v + 8);
    r->created = (time_t)srv_be64(v + 16);
    r->expires = (time_t)srv_be64(v + 24);
    return 0;
}

/* Removes the session of `hash` (record `r`) and its two index entries. */
static int remove_session(jobs_kv_txn *txn, const unsigned char *hash, const rec *r)
{
    unsigned char ek[8 + HASH_LEN], uk[16];
    int rc;

    srv_be64_put(ek, time_key(r->expires));
    memcpy(ek + 8, hash, HASH_LEN);
    srv_be64_put(uk, r->user);
    srv_be64_put(uk + 8, r->seq);
    if ((rc = jobs_kv_delete(txn, NS, hash, HASH_LEN)) ||
        ((rc = jobs_kv_delete(txn, NS_EXP, ek, sizeof ek)) && rc != JOBS_ENOTFOUND) ||
        ((rc = jobs_kv_delete(txn, NS_USER, uk, sizeof uk)) && rc != JOBS_ENOTFOUND))
        return rc;
    return 0;
}

/* ---- the sweep ----------------------------------------------------------------------------- */

typedef struct expired {
    time_t now;
    size_t n;
    unsigned char key[SWEEP_BATCH][8 + HASH_LEN]; /* expiry index entries */
} expired;

static int collect_expired(void *ctx, const void *key, size_t key_len, const void *value,
                           size_t value_len)
{
    expired *e = ctx;

    (void)value;
    (void)value_len;
    if (key_len != 8 + HASH_LEN)
        return JOBS_ECORRUPT;
    if (srv_be64(key) > time_key(e->now))
        return 1; /* the rest expire later */
    memcpy(e->key[e->n++], key, key_len);
    return 0;
}

/* Removes up to SWEEP_BATCH sessions expired at `now`, earliest first; *n is how many. */
static int sweep(size_t *n, jobs_kv_txn *txn, time_t now)
{
    expired e;
    int rc;

    e.now = now;
    e.n = 0;
    *n = 0;
    if ((rc = jobs_kv_scan(txn, NS_EXP, NULL, 0, SWEEP_BATCH, collect_expired, &e)))
        return rc;
    for (size_t i = 0; i < e.n; i++) {
        const unsigned char *hash = e.key[i] + 8;
        rec r;

        rc = get(&r, txn, hash);
        if (rc == JOBS_ENOTFOUND) /* an entry without its session: only the entry goes */
            rc = jobs_kv_delete(txn, NS_EXP, e.key[i], sizeof e.key[i]);
        else if (rc == 0)
            rc = remove_session(txn, hash, &r);
        if (rc)
            return rc;
        (*n)++;
    }
    return 0;
}

typedef struct sweep_ctx {
    time_t now;
    size_t n;
} sweep_ctx;

static int sweep_txn(jobs_kv_txn *txn, void *ctx)
{
    sweep_ctx *c = ctx;
    return sweep(&c->n, txn, c->now);
}

size_t srv_sessions_sweep(srv_sessions *s, time_t now)
{
    size_t total = 0;

    /* Batch by batch, each its own short transaction: other writers go between them. */
    for (;;) {
        sweep_ctx c = {now, 0};
        if (jobs_kv_write(s->store, sweep_txn, &c) != 0)
            break;
        total += c.n;
        if (c.n < SWEEP_BATCH)
            break;
    }
    return total;
}

/* ---- create, look up, end ------------------------------------------------------------------ */

/* A user's sessions, oldest first (the user index from be64(user)): how many, and the first
 * `cap` session hashes (when `hash` is not NULL) and index keys (when `key` is not NULL). */
typedef struct mine {
    unsigned char prefix[8];
    size_t n, cap;
    unsigned char (*hash)[HASH_LEN];
    unsigned char (*key)[16];
} mine;

static int collect_mine(void *ctx, const void *key, size_t key_len, const void *value,
                        size_t value_len)
{
    mine *m = ctx;

    if (key_len != 16 || memcmp(key, m->prefix, 8) != 0)
        return 1; /* another user's */
    if (value_len != HASH_LEN)
        return JOBS_ECORRUPT;
    if (m->hash && m->n < m->cap)
        memcpy(m->hash[m->n], value, HASH_LEN);
    if (m->key && m->n < m->cap)
        memcpy(m->key[m->n], key, 16);
    m->n++;
    return 0;
}

typedef struct create_ctx {
    unsigned char hash[HASH_LEN];
    const unsigned char *stamp; /* of the password the login checked, or NULL */
    uint64_t user;
    time_t now, expires;
    unsigned max;
    unsigned char (*oldest)[HASH_LEN]; /* room for max + CAP_SLACK hashes */
} create_ctx;

static int create_txn(jobs_kv_txn *txn, void *ctx)
{
    create_ctx *c = ctx;
    unsigned char v[VALUE_LEN], ek[8 + HASH_LEN], uk[16];
    size_t swept;
    uint64_t seq;
    int rc;

    /* A password changed since the login checked it (`user passwd` ended the user's sessions
     * meanwhile) starts none: the login's password is no longer the user's. */
    if (c->stamp && (rc = srv_users_unchanged(txn, c->user, c->stamp)))
        return rc;
    if ((rc = sweep(&swept, txn, c->now)))
        return rc;
    /* The cap: the user's oldest sessions end, so that this one is the max-th. A lowered cap
     * takes up to CAP_SLACK more per login. */
    if (c->max) {
        mine m;

        memset(&m, 0, sizeof m);
        srv_be64_put(m.prefix, c->user);
        m.cap = (size_t)c->max + CAP_SLACK;
        m.hash = c->oldest;
        if ((rc = jobs_kv_scan(txn, NS_USER, m.prefix, 8, m.cap, collect_mine, &m)))
            return rc;
        for (size_t i = 0; m.n >= c->max && i <= m.n - c->max; i++) {
            rec r;
            if ((rc = get(&r, txn, c->oldest[i])) == JOBS_ENOTFOUND)
                continue;
            if (rc || (rc = remove_session(txn, c->oldest[i], &r)))
                return rc;
        }
    }
    if ((rc = jobs_kv_next_id(&seq, txn, NS)))
        return rc;
    srv_be64_put(v, c->user);
    srv_be64_put(v + 8, seq);
    srv_be64_put(v + 16, time_key(c->now));
    srv_be64_put(v + 24, time_key(c->expires));
    srv_be64_put(ek, time_key(c->expires));
    memcpy(ek + 8, c->hash, HASH_LEN);
    srv_be64_put(uk, c->user);
    srv_be64_put(uk + 8, seq);
    if ((rc = jobs_kv_put(txn, NS, c->hash, HASH_LEN, v, sizeof v)) ||
        (rc = jobs_kv_put(txn, NS_EXP, ek, sizeof ek, "", 0)) ||
        (rc = jobs_kv_put(txn, NS_USER, uk, sizeof uk, c->hash, HASH_LEN)))
        return rc;
    return 0;
}

int srv_session_create(char token[SRV_TOKEN_LEN + 1], srv_sessions *s, uint64_t user_id,
                       time_t now, unsigned ttl, const unsigned char *stamp)
{
    unsigned char raw[SRV_TOKEN_LEN / 2];
    create_ctx c;
    int rc;

    memset(&c, 0, sizeof c);
    randombytes_buf(raw, sizeof raw);
    sodium_bin2hex(token, SRV_TOKEN_LEN + 1, raw, sizeof raw);
    sodium_memzero(raw, sizeof raw);
    token_hash(c.hash, token, SRV_TOKEN_LEN);
    c.user = user_id;
    c.stamp = stamp;
    c.now = now;
    c.expires = now + (time_t)ttl;
    c.max = s->max_per_user;
    if (c.max && !(c.oldest = malloc(((size_t)c.max + CAP_SLACK) * HASH_LEN))) {
        sodium_memzero(token, SRV_TOKEN_LEN + 1);
        return JOBS_ENOMEM;
    }
    rc = jobs_kv_write(s->store, create_txn, &c);
    free(c.oldest);
    if (rc)
        sodium_memzero(token, SRV_TOKEN_LEN + 1);
    return rc;
}

typedef struct lookup_ctx {
    const unsigned char *hash;
    rec r;
    bool found;
} lookup_ctx;

static int lookup_txn(jobs_kv_txn *txn, void *ctx)
{
    lookup_ctx *c = ctx;
    int rc = get(&c->r, txn, c->hash);

    c->found = rc == 0;
    return rc == JOBS_ENOTFOUND ? 0 : rc;
}

int srv_session_lookup(uint64_t *user, srv_sessions *s, const char *token, size_t len,
                       time_t now)
{
    unsigned char hash[HASH_LEN];
    lookup_ctx c = {hash, {0, 0, 0, 0}, false};
    int rc;

    *user = 0;
    if (!token_hash(hash, token, len))
        return 0;
    if ((rc = jobs_kv_read(s->store, lookup_txn, &c)) != 0)
        return rc;
    /* An expired session is left for the sweep: a lookup does not write. */
    *user = c.found && c.r.expires > now ? c.r.user : 0;
    return 0;
}

typedef struct end_ctx {
    const unsigned char *hash;
    time_t now;
    bool live;
} end_ctx;

static int end_txn(jobs_kv_txn *txn, void *ctx)
{
    end_ctx *c = ctx;
    rec r;
    int rc = get(&r, txn, c->hash);

    c->live = false;
    if (rc)
        return rc;
    c->live = r.expires > c->now;
    return remove_session(txn, c->hash, &r);
}

/* An expired session is removed too, but does not count: logging out with it answers like any
 * other dead token (401), as every other route does. */
int srv_session_end(srv_sessions *s, const char *token, size_t len)
{
    unsigned char hash[HASH_LEN];
    end_ctx c = {hash, time(NULL), false};
    int rc;

    if (!token_hash(hash, token, len))
        return JOBS_ENOTFOUND;
    if ((rc = jobs_kv_write(s->store, end_txn, &c)) != 0)
        return rc;
    return c.live ? 0 : JOBS_ENOTFOUND;
}

/* ---- a user's sessions --------------------------------------------------------------------- */

int srv_sessions_end_user(jobs_kv_txn *txn, uint64_t user, size_t *ended)
{
    unsigned char hash[SWEEP_BATCH][HASH_LEN], key[SWEEP_BATCH][16];
    mine m;
    int rc;

    memset(&m, 0, sizeof m);
    srv_be64_put(m.prefix, user);
    m.cap = SWEEP_BATCH;
    m.hash = hash;
    m.key = key;
    /* Batch by batch, in the one transaction: each scan finds the sessions the last left. */
    do {
        m.n = 0;
        if ((rc = jobs_kv_scan(txn, NS_USER, m.prefix, 8, m.cap, collect_mine, &m)))
            return rc;
        for (size_t i = 0; i < m.n; i++) {
            rec r;

            rc = get(&r, txn, m.hash[i]);
            if (rc == JOBS_ENOTFOUND) /* an entry without its session: only the entry goes */
                rc = jobs_kv_delete(txn, NS_USER, m.key[i], 16);
            else if (rc == 0)
                rc = remove_session(txn, m.hash[i], &r);
            if (rc)
                return rc;
        }
        *ended += m.n;
    } while (m.n == SWEEP_BATCH);
    return 0;
}

/* ---- counts -------------------------------------------------------------------------------- */

size_t srv_sessions_count(srv_sessions *s)
{
    size_t n = 0;

    return srv_kv_count(&n, s->store, NS) == 0 ? n : 0;
}

static int of_txn(jobs_kv_txn *txn, void *ctx)
{
    mine *m = ctx;

    m->n = 0;
    return jobs_kv_scan(txn, NS_USER, m->prefix, 8, 0, collect_mine, m);
}

size_t srv_sessions_of(srv_sessions *s, uint64_t user)
{
    mine m;

    memset(&m, 0, sizeof m);
    srv_be64_put(m.prefix, user);
    return jobs_kv_read(s->store, of_txn, &m) == 0 ? m.n : 0;
}
