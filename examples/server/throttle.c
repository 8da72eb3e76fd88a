/* Login throttling (see throttle.h): a hash table of keys ("ip:<address>", "a:<account>",
 * "a:<account>@<address>" for an address the account logged in from, "n:<unknown name>") to a
 * count of failed attempts in the current window and a lock. Buckets are picked by SipHash with a
 * random key, so a client cannot aim names at one bucket. The table is bounded; only idle keys
 * (not locked, window over) are ever evicted, so eviction never lifts a lock nor resets a count
 * in progress. When no key is idle the attempt is refused (SRV_GATE_FULL), never let through. */
#include "throttle.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#define BUCKETS 16384

typedef struct entry {
    char key[SRV_THROTTLE_KEY_MAX + 1];
    time_t first;        /* start of the current window */
    time_t locked_until; /* 0: not locked */
    unsigned count;      /* attempts in the window not (yet) followed by a success */
    unsigned ntrusted;
    char trusted[SRV_THROTTLE_TRUSTED][64]; /* accounts: addresses logged in from, newest last */
    struct entry *chain;
} entry;

struct srv_throttle {
    pthread_mutex_t mu;
    srv_throttle_limits l;
    unsigned char hkey[crypto_shorthash_KEYBYTES];
    entry *b[BUCKETS];
    size_t n;
};

srv_throttle *srv_throttle_new(const srv_throttle_limits *limits)
{
    srv_throttle *t = calloc(1, sizeof *t);

    if (!t)
        return NULL;
    t->l = *limits;
    if (!t->l.max_entries)
        t->l.max_entries = SRV_THROTTLE_ENTRIES;
    if (!t->l.lock_seconds)
        t->l.lock_seconds = SRV_THROTTLE_LOCK;
    crypto_shorthash_keygen(t->hkey);
    pthread_mutex_init(&t->mu, NULL);
    return t;
}

void srv_throttle_free(srv_throttle *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < BUCKETS; i++)
        for (entry *e = t->b[i], *next; e; e = next) {
            next = e->chain;
            free(e);
        }
    pthread_mutex_destroy(&t->mu);
    free(t);
}

static size_t bucket(const srv_throttle *t, const char *key)
{
    unsigned char h[crypto_shorthash_BYTES];
    uint64_t v;

    crypto_shorthash(h, (const unsigned char *)key, strlen(key), t->hkey);
    memcpy(&v, h, sizeof v);
    return (size_t)(v % BUCKETS);
}

/* A key whose lock is over and whose window has ended starts afresh. */
static void refresh(const srv_throttle *t, entry *e, time_t now)
{
    if (e->locked_until <= now && e->first + (time_t)t->l.lock_seconds <= now) {
        e->first = now;
        e->count = 0;
        e->locked_until = 0;
    }
}

static bool idle(const srv_throttle *t, const entry *e, time_t now)
{
    return e->locked_until <= now && (e->count == 0 || e->first + (time_t)t->l.lock_seconds <= now);
}

/* Removes idle keys but `keep`; those that remember addresses only when `trusted`. */
static size_t evict(srv_throttle *t, time_t now, bool trusted, const entry *keep)
{
    size_t n = 0;

    for (size_t i = 0; i < BUCKETS; i++)
        for (entry **p = &t->b[i]; *p;) {
            entry *e = *p;
            if (e != keep && idle(t, e, now) && (trusted || e->ntrusted == 0)) {
                *p = e->chain;
                free(e);
                t->n--;
                n++;
            } else {
                p = &e->chain;
            }
        }
    return n;
}

/* The entry of `key`; with `create`, a new one (NULL when the table is full of keys in use, or
 * out of memory). Making room never evicts `keep`: an entry the caller still holds (a new or
 * refreshed one counts as idle until it is counted). */
static entry *get(srv_throttle *t, const char *key, bool create, time_t now, const entry *keep)
{
    size_t b = bucket(t, key);
    entry *e;

    for (e = t->b[b]; e; e = e->chain)
        if (strcmp(e->key, key) == 0) {
            refresh(t, e, now);
            return e;
        }
    if (!create || strlen(key) > SRV_THROTTLE_KEY_MAX)
        return NULL;
    if (t->n >= t->l.max_entries && evict(t, now, false, keep) == 0 &&
        evict(t, now, true, keep) == 0)
        return NULL;
    if (!(e = calloc(1, sizeof *e)))
        return NULL;
    strcpy(e->key, key);
    e->first = now;
    e->chain = t->b[b];
    t->b[b] = e;
    t->n++;
    return e;
}

static bool trusts(const entry *acct, const char *address)
{
    for (unsigned i = 0; acct && address && i < acct->ntrusted; i++)
        if (strcmp(acct->trusted[i], address) == 0)
            return true;
    return false;
}

/* The key an attempt on `account` from `address` counts on: the account's own, or for an
 * address the account logged in from, one of its own beside the account's. */
static void effective_key(char *out, size_t size, const entry *acct, const char *account,
                          const char *address)
{
    if (trusts(acct, address))
        snprintf(out, size, "%s@%s", account, address);
    else
        snprintf(out, size, "%s", account);
}

static unsigned wait_of(const entry *e, time_t now)
{
    return e->locked_until > now ? (unsigned)(e->locked_until - now) : 1;
}

srv_gate srv_throttle_begin(srv_throttle *t, const char *account, const char *address,
                            time_t now, unsigned *retry_after)
{
    char addr_key[80], key[SRV_THROTTLE_KEY_MAX + 80];
    entry *addr = NULL, *acct;
    srv_gate g = SRV_GATE_GO;

    *retry_after = 1;
    if (address && !*address)
        address = NULL;
    if (address && strlen(address) >= sizeof addr->trusted[0])
        address = NULL; /* not an address civetweb gives */
    pthread_mutex_lock(&t->mu);
    if (address) {
        snprintf(addr_key, sizeof addr_key, "ip:%s", address);
        if (!(addr = get(t, addr_key, true, now, NULL))) {
            g = SRV_GATE_FULL;
            goto out;
        }
        if (addr->locked_until > now) {
            *retry_after = wait_of(addr, now);
            g = SRV_GATE_LOCKED;
            goto out;
        }
    }
    acct = get(t, account, false, now, NULL);
    effective_key(key, sizeof key, acct, account, address);
    /* Making room for the account's key must not free the address's, which is counted below. */
    if (!(acct = get(t, key, true, now, addr))) {
        g = SRV_GATE_FULL;
        goto out;
    }
    if (acct->locked_until <= now && acct->count >= t->l.account_fails)
        acct->locked_until = now + (time_t)t->l.lock_seconds;
    if (addr && addr->count >= t->l.address_fails) {
        addr->locked_until = now + (time_t)t->l.lock_seconds;
        *retry_after = wait_of(addr, now);
        g = SRV_GATE_LOCKED;
    } else if (acct->locked_until > now) {
        *retry_after = wait_of(acct, now);
        g = SRV_GATE_LOCKED;
    } else {
        acct->count++;
        if (addr)
            addr->count++;
    }
out:
    pthread_mutex_unlock(&t->mu);
    return g;
}

bool srv_throttle_success(srv_throttle *t, const char *account, const char *address, time_t now,
                          unsigned *retry_after)
{
    char addr_key[80], key[SRV_THROTTLE_KEY_MAX + 80];
    entry *acct, *e, *addr;
    bool ok = false;

    *retry_after = 1;
    if (address && (!*address || strlen(address) >= sizeof acct->trusted[0]))
        address = NULL;
    pthread_mutex_lock(&t->mu);
    acct = get(t, account, false, now, NULL);
    effective_key(key, sizeof key, acct, account, address);
    e = get(t, key, false, now, NULL);
    if (e && e->locked_until > now) {
        *retry_after = wait_of(e, now);
        goto out;
    }
    ok = true;
    if (e)
        e->count = 0;
    if (address) {
        snprintf(addr_key, sizeof addr_key, "ip:%s", address);
        if ((addr = get(t, addr_key, false, now, NULL)) != NULL && addr->count > 0)
            addr->count--; /* a success is no failure */
        /* Remember the address on the account's own key (made if need be; when the table is
         * full the address is simply not remembered). */
        if ((acct || (acct = get(t, account, true, now, NULL)) != NULL) && !trusts(acct, address)) {
            if (acct->ntrusted == SRV_THROTTLE_TRUSTED) {
                memmove(acct->trusted[0], acct->trusted[1],
                        (SRV_THROTTLE_TRUSTED - 1) * sizeof acct->trusted[0]);
                acct->ntrusted--;
            }
            snprintf(acct->trusted[acct->ntrusted++], sizeof acct->trusted[0], "%s", address);
        }
    }
out:
    pthread_mutex_unlock(&t->mu);
    return ok;
}

bool srv_throttle_is_locked(srv_throttle *t, const char *account, const char *address,
                            time_t now)
{
    char key[SRV_THROTTLE_KEY_MAX + 80];
    entry *e;
    bool locked;

    pthread_mutex_lock(&t->mu);
    e = get(t, account, false, now, NULL);
    effective_key(key, sizeof key, e, account, address);
    e = get(t, key, false, now, NULL);
    locked = e && e->locked_until > now;
    pthread_mutex_unlock(&t->mu);
    return locked;
}

size_t srv_throttle_size(srv_throttle *t)
{
    size_t n;

    pthread_mutex_lock(&t->mu);
    n = t->n;
    pthread_mutex_unlock(&t->mu);
    return n;
}
