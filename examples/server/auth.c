/* Sessions: a table of SHA-256(token) -> (user, expiry). Storing only the hash means the table
 * never holds a usable token, and lookup compares fixed-size hashes with sodium_memcmp. */
#include "auth.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#define THROTTLE_SLOTS 1024

typedef struct session {
    unsigned char hash[crypto_hash_sha256_BYTES];
    uint64_t user;
    time_t expires;
} session;

typedef struct throttle {
    char name[256];   /* "" = free slot */
    time_t first;     /* first failure of the current window */
    unsigned int fails;
    time_t locked_until;
} throttle;

struct srv_sessions {
    pthread_mutex_t mu;
    session *v;
    size_t n, cap;
    throttle t[THROTTLE_SLOTS];
};

srv_sessions *srv_sessions_new(void)
{
    srv_sessions *s = calloc(1, sizeof *s);

    if (s)
        pthread_mutex_init(&s->mu, NULL);
    return s;
}

void srv_sessions_free(srv_sessions *s)
{
    if (!s)
        return;
    pthread_mutex_destroy(&s->mu);
    sodium_memzero(s->v, s->cap * sizeof *s->v);
    free(s->v);
    free(s);
}

static void purge_expired(srv_sessions *s, time_t now)
{
    size_t i = 0;

    while (i < s->n) {
        if (s->v[i].expires <= now)
            s->v[i] = s->v[--s->n];
        else
            i++;
    }
}

static bool token_hash(unsigned char hash[crypto_hash_sha256_BYTES], const char *token,
                       size_t len)
{
    if (len != SRV_TOKEN_LEN)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = token[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return false;
    }
    crypto_hash_sha256(hash, (const unsigned char *)token, len);
    return true;
}

int srv_session_create(char token[SRV_TOKEN_LEN + 1], srv_sessions *s, uint64_t user_id,
                       time_t now, unsigned ttl)
{
    unsigned char raw[SRV_TOKEN_LEN / 2];
    session e;
    int rc = 0;

    randombytes_buf(raw, sizeof raw);
    sodium_bin2hex(token, SRV_TOKEN_LEN + 1, raw, sizeof raw);
    sodium_memzero(raw, sizeof raw);
    token_hash(e.hash, token, SRV_TOKEN_LEN);
    e.user = user_id;
    e.expires = now + (time_t)ttl;

    pthread_mutex_lock(&s->mu);
    purge_expired(s, now);
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        session *v = realloc(s->v, cap * sizeof *v);
        if (!v) {
            rc = -1;
            goto out;
        }
        s->v = v;
        s->cap = cap;
    }
    s->v[s->n++] = e;
out:
    pthread_mutex_unlock(&s->mu);
    return rc;
}

/* Index of the session with this hash, or -1. Every entry is compared in full. */
static long find(const srv_sessions *s, const unsigned char *hash)
{
    long found = -1;

    for (size_t i = 0; i < s->n; i++)
        if (sodium_memcmp(s->v[i].hash, hash, crypto_hash_sha256_BYTES) == 0)
            found = (long)i;
    return found;
}

uint64_t srv_session_lookup(srv_sessions *s, const char *token, size_t len, time_t now)
{
    unsigned char hash[crypto_hash_sha256_BYTES];
    uint64_t user = 0;
    long i;

    if (!token || !token_hash(hash, token, len))
        return 0;
    pthread_mutex_lock(&s->mu);
    i = find(s, hash);
    if (i >= 0 && s->v[i].expires > now)
        user = s->v[i].user;
    pthread_mutex_unlock(&s->mu);
    return user;
}

/* An expired session is removed too, but does not count: logging out with it answers like any
 * other dead token (401), as every other route does. */
bool srv_session_end(srv_sessions *s, const char *token, size_t len)
{
    unsigned char hash[crypto_hash_sha256_BYTES];
    bool live = false;
    long i;

    if (!token || !token_hash(hash, token, len))
        return false;
    pthread_mutex_lock(&s->mu);
    i = find(s, hash);
    if (i >= 0) {
        live = s->v[i].expires > time(NULL);
        s->v[i] = s->v[--s->n];
    }
    pthread_mutex_unlock(&s->mu);
    return live;
}

/* ---- throttling ---------------------------------------------------------------------------- */

/* The slot for `name`; with `create`, a free or the stalest slot is taken over. */
static throttle *slot(srv_sessions *s, const char *name, bool create, time_t now)
{
    throttle *free_slot = NULL, *oldest = NULL;

    for (size_t i = 0; i < THROTTLE_SLOTS; i++) {
        throttle *t = &s->t[i];
        if (t->name[0] && strcmp(t->name, name) == 0)
            return t;
        if (!t->name[0] || (t->locked_until <= now && t->first + SRV_THROTTLE_WINDOW <= now)) {
            if (!free_slot)
                free_slot = t;
        } else if (!oldest || t->first < oldest->first) {
            oldest = t;
        }
    }
    if (!create)
        return NULL;
    if (!free_slot)
        free_slot = oldest;
    memset(free_slot, 0, sizeof *free_slot);
    snprintf(free_slot->name, sizeof free_slot->name, "%s", name);
    free_slot->first = now;
    return free_slot;
}

bool srv_throttle_locked(srv_sessions *s, const char *name, time_t now)
{
    throttle *t;
    bool locked;

    pthread_mutex_lock(&s->mu);
    t = slot(s, name, false, now);
    locked = t && t->locked_until > now;
    pthread_mutex_unlock(&s->mu);
    return locked;
}

void srv_throttle_fail(srv_sessions *s, const char *name, time_t now)
{
    throttle *t;

    pthread_mutex_lock(&s->mu);
    t = slot(s, name, true, now);
    if (t->first + SRV_THROTTLE_WINDOW <= now) {
        t->first = now;
        t->fails = 0;
    }
    if (++t->fails >= SRV_THROTTLE_FAILS) {
        t->locked_until = now + SRV_THROTTLE_WINDOW;
        t->fails = 0;
        t->first = now;
    }
    pthread_mutex_unlock(&s->mu);
}

void srv_throttle_clear(srv_sessions *s, const char *name)
{
    throttle *t;

    pthread_mutex_lock(&s->mu);
    t = slot(s, name, false, 0);
    if (t)
        memset(t, 0, sizeof *t);
    pthread_mutex_unlock(&s->mu);
}
