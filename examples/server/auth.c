/* Sessions: a hash table of SHA-256(token) -> (user, expiry). Storing only the hash means the
 * table never holds a usable token; the hash is uniform and unknown to anyone without the token,
 * so its first bytes pick the bucket (no one can aim tokens at one bucket), and the entry is
 * then compared in full with sodium_memcmp.
 *
 * Every session is also on two lists: all sessions in the order they started (which is the order
 * they expire in, since a server gives them one lifetime), so that the expiry sweep pops expired
 * ones from the front; and its user's sessions oldest first, so that the per-user cap ends the
 * oldest one. Lookup, create and end are O(1) under the one mutex; the sweep is O(expired). */
#include "auth.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#define USER_BUCKETS 4096

typedef struct session {
    unsigned char hash[crypto_hash_sha256_BYTES];
    uint64_t user;
    time_t expires;
    struct session *chain;            /* next in its bucket */
    struct session *prev, *next;      /* all sessions, oldest first */
    struct session *uprev, *unext;    /* its user's sessions, oldest first */
} session;

typedef struct user_list {
    uint64_t user;
    size_t n;
    session *oldest, *newest;
    struct user_list *chain;
} user_list;

struct srv_sessions {
    pthread_mutex_t mu;
    session **buckets;
    size_t nbuckets; /* a power of two */
    size_t n;
    session *oldest, *newest;
    user_list *users[USER_BUCKETS];
    unsigned max_per_user;
};

srv_sessions *srv_sessions_new(unsigned max_per_user)
{
    srv_sessions *s = calloc(1, sizeof *s);

    if (!s)
        return NULL;
    s->nbuckets = 256;
    if (!(s->buckets = calloc(s->nbuckets, sizeof *s->buckets))) {
        free(s);
        return NULL;
    }
    s->max_per_user = max_per_user;
    pthread_mutex_init(&s->mu, NULL);
    return s;
}

void srv_sessions_free(srv_sessions *s)
{
    if (!s)
        return;
    for (session *e = s->oldest, *next; e; e = next) {
        next = e->next;
        sodium_memzero(e, sizeof *e);
        free(e);
    }
    for (size_t i = 0; i < USER_BUCKETS; i++)
        for (user_list *u = s->users[i], *next; u; u = next) {
            next = u->chain;
            free(u);
        }
    free(s->buckets);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

static size_t bucket_of(const srv_sessions *s, const unsigned char *hash)
{
    uint64_t h;

    memcpy(&h, hash, sizeof h);
    return (size_t)h & (s->nbuckets - 1);
}

static user_list **user_slot(srv_sessions *s, uint64_t user)
{
    user_list **p = &s->users[(user * 0x9E3779B97F4A7C15u) >> 52 & (USER_BUCKETS - 1)];

    while (*p && (*p)->user != user)
        p = &(*p)->chain;
    return p;
}

/* Unlinks `e` from the bucket, the lists and its user's list, and frees it. */
static void remove_session(srv_sessions *s, session *e)
{
    session **p = &s->buckets[bucket_of(s, e->hash)];
    user_list **up = user_slot(s, e->user), *u = *up;

    while (*p != e)
        p = &(*p)->chain;
    *p = e->chain;
    if (e->prev)
        e->prev->next = e->next;
    else
        s->oldest = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        s->newest = e->prev;
    if (u) {
        if (e->uprev)
            e->uprev->unext = e->unext;
        else
            u->oldest = e->unext;
        if (e->unext)
            e->unext->uprev = e->uprev;
        else
            u->newest = e->uprev;
        if (--u->n == 0) {
            *up = u->chain;
            free(u);
        }
    }
    s->n--;
    sodium_memzero(e, sizeof *e);
    free(e);
}

static size_t sweep(srv_sessions *s, time_t now)
{
    size_t n = 0;

    while (s->oldest && s->oldest->expires <= now) {
        remove_session(s, s->oldest);
        n++;
    }
    return n;
}

size_t srv_sessions_sweep(srv_sessions *s, time_t now)
{
    size_t n;

    pthread_mutex_lock(&s->mu);
    n = sweep(s, now);
    pthread_mutex_unlock(&s->mu);
    return n;
}

/* Doubles the buckets when the table holds two sessions a bucket; stays as is when out of
 * memory (lookups only get slower). */
static void grow(srv_sessions *s)
{
    size_t nb = s->nbuckets * 2;
    session **b;

    if (s->n < s->nbuckets * 2 || !(b = calloc(nb, sizeof *b)))
        return;
    for (size_t i = 0; i < s->nbuckets; i++)
        for (session *e = s->buckets[i], *next; e; e = next) {
            uint64_t h;
            next = e->chain;
            memcpy(&h, e->hash, sizeof h);
            e->chain = b[h & (nb - 1)];
            b[h & (nb - 1)] = e;
        }
    free(s->buckets);
    s->buckets = b;
    s->nbuckets = nb;
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
    session *e = calloc(1, sizeof *e);
    user_list **up, *u;
    size_t b;

    if (!e)
        return -1;
    randombytes_buf(raw, sizeof raw);
    sodium_bin2hex(token, SRV_TOKEN_LEN + 1, raw, sizeof raw);
    sodium_memzero(raw, sizeof raw);
    token_hash(e->hash, token, SRV_TOKEN_LEN);
    e->user = user_id;
    e->expires = now + (time_t)ttl;

    pthread_mutex_lock(&s->mu);
    sweep(s, now);
    /* The cap: the user's oldest sessions end (the last one frees the user's list). */
    while ((u = *user_slot(s, user_id)) != NULL && s->max_per_user && u->n >= s->max_per_user)
        remove_session(s, u->oldest);
    if (!u) {
        if (!(u = calloc(1, sizeof *u))) {
            pthread_mutex_unlock(&s->mu);
            free(e);
            sodium_memzero(token, SRV_TOKEN_LEN + 1);
            return -1;
        }
        u->user = user_id;
        up = user_slot(s, user_id);
        *up = u;
    }
    b = bucket_of(s, e->hash);
    e->chain = s->buckets[b];
    s->buckets[b] = e;
    e->prev = s->newest;
    if (s->newest)
        s->newest->next = e;
    else
        s->oldest = e;
    s->newest = e;
    e->uprev = u->newest;
    if (u->newest)
        u->newest->unext = e;
    else
        u->oldest = e;
    u->newest = e;
    u->n++;
    s->n++;
    grow(s);
    pthread_mutex_unlock(&s->mu);
    return 0;
}

/* The session with this hash, or NULL. */
static session *find(const srv_sessions *s, const unsigned char *hash)
{
    for (session *e = s->buckets[bucket_of(s, hash)]; e; e = e->chain)
        if (sodium_memcmp(e->hash, hash, crypto_hash_sha256_BYTES) == 0)
            return e;
    return NULL;
}

uint64_t srv_session_lookup(srv_sessions *s, const char *token, size_t len, time_t now)
{
    unsigned char hash[crypto_hash_sha256_BYTES];
    uint64_t user = 0;
    session *e;

    if (!token || !token_hash(hash, token, len))
        return 0;
    pthread_mutex_lock(&s->mu);
    if ((e = find(s, hash)) != NULL) {
        if (e->expires > now)
            user = e->user;
        else
            remove_session(s, e);
    }
    pthread_mutex_unlock(&s->mu);
    return user;
}

/* An expired session is removed too, but does not count: logging out with it answers like any
 * other dead token (401), as every other route does. */
bool srv_session_end(srv_sessions *s, const char *token, size_t len)
{
    unsigned char hash[crypto_hash_sha256_BYTES];
    bool live = false;
    session *e;

    if (!token || !token_hash(hash, token, len))
        return false;
    pthread_mutex_lock(&s->mu);
    if ((e = find(s, hash)) != NULL) {
        live = e->expires > time(NULL);
        remove_session(s, e);
    }
    pthread_mutex_unlock(&s->mu);
    return live;
}

size_t srv_sessions_count(srv_sessions *s)
{
    size_t n;

    pthread_mutex_lock(&s->mu);
    n = s->n;
    pthread_mutex_unlock(&s->mu);
    return n;
}

size_t srv_sessions_of(srv_sessions *s, uint64_t user)
{
    user_list *u;
    size_t n;

    pthread_mutex_lock(&s->mu);
    u = *user_slot(s, user);
    n = u ? u->n : 0;
    pthread_mutex_unlock(&s->mu);
    return n;
}
