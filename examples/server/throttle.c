/* Login throttling (see throttle.h): a hash table of keys ("ip:<address>", "a:<account>",
 * "a:<account>@<address>" for an address the account logged in from, "n:<unknown name>") to a
 * count of failed attempts in the current window, a count of attempts in flight (their passwords
 * being checked) and a lock. An attempt is refused while failures and attempts in flight together
 * are at the limit, so that a burst of guesses sent at once gets no more checks than guesses sent
 * one by one; only failures lock, so that a burst of right passwords (a client making calls in
 * parallel with inline credentials) does not lock its own account. Buckets are picked by SipHash
 * with a random key, so a client cannot aim names at one bucket. The table is bounded; only idle
 * keys (not locked, window over, none in flight) are ever evicted, so eviction never lifts a lock
 * nor resets a count in progress. When no key is idle the attempt is refused (SRV_GATE_FULL),
 * never let through. */
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
    unsigned count;      /* failed attempts in the window not followed by a success */
    unsigned pending;    /* attempts counted by begin and not yet ended */
    unsigned ntrusted;
    char trusted[SRV_THROTTLE_TRUSTED][SRV_THROTTLE_ADDRESS_SIZE]; /* accounts: addresses
                                                                    * logged in from, newest last */
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
    return e->pending == 0 && e->locked_until <= now &&
           (e->count == 0 || e->first + (time_t)t->l.lock_seconds <= now);
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

/* An address as throttle keys and trust lists hold it: NULL for none, or one no civetweb gives. */
static const char *usable_address(const char *address)
{
    return address && *address && strlen(address) < SRV_THROTTLE_ADDRESS_SIZE ? address : NULL;
}

/* At the limit, the next failure locks: a lock for `lock_seconds` from now. */
static void lock_at_limit(const srv_throttle *t, entry *e, unsigned limit, time_t now)
{
    if (e->locked_until <= now && e->count >= limit)
        e->locked_until = now + (time_t)t->l.lock_seconds;
}

srv_gate srv_throttle_begin(srv_throttle *t, const char *account, const char *address,
                            time_t now, unsigned *retry_after, srv_throttle_attempt *at)
{
    char addr_key[80], key[SRV_THROTTLE_KEY_MAX + 80];
    entry *addr = NULL, *acct;
    srv_gate g = SRV_GATE_GO;

    *retry_after = 1;
    address = usable_address(address);
    pthread_mutex_lock(&t->mu);
    if (address) {
        snprintf(addr_key, sizeof addr_key, "ip:%s", address);
        if (!(addr = get(t, addr_key, true, now, NULL))) {
            g = SRV_GATE_FULL;
            goto out;
        }
        lock_at_limit(t, addr, t->l.address_fails, now);
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
    lock_at_limit(t, acct, t->l.account_fails, now);
    if (acct->locked_until > now) {
        *retry_after = wait_of(acct, now);
        g = SRV_GATE_LOCKED;
    } else if (acct->count + acct->pending >= t->l.account_fails ||
               (addr && addr->count + addr->pending >= t->l.address_fails)) {
        g = SRV_GATE_BUSY; /* as many checks as the limit allows are under way */
    } else {
        acct->pending++;
        if (addr)
            addr->pending++;
        snprintf(at->account, sizeof at->account, "%s", account);
        snprintf(at->address, sizeof at->address, "%s", address ? address : "");
        snprintf(at->key, sizeof at->key, "%s", key);
    }
out:
    pthread_mutex_unlock(&t->mu);
    return g;
}

/* Ends an attempt in flight on the keys begin counted it on: its account key, and its address's.
 * Neither was evicted meanwhile (a key with attempts in flight is not idle). */
static void end_attempt(srv_throttle *t, const srv_throttle_attempt *at, time_t now, entry **acct,
                        entry **addr)
{
    char addr_key[80];

    *acct = get(t, at->key, false, now, NULL);
    *addr = NULL;
    if (*acct && (*acct)->pending > 0)
        (*acct)->pending--;
    if (at->address[0]) {
        snprintf(addr_key, sizeof addr_key, "ip:%s", at->address);
        if ((*addr = get(t, addr_key, false, now, NULL)) != NULL && (*addr)->pending > 0)
            (*addr)->pending--;
    }
}

bool srv_throttle_success(srv_throttle *t, const srv_throttle_attempt *at, time_t now,
                          unsigned *retry_after)
{
    entry *acct, *e, *addr;
    const char *address = at->address[0] ? at->address : NULL;
    bool ok = false;

    *retry_after = 1;
    pthread_mutex_lock(&t->mu);
    end_attempt(t, at, now, &e, &addr);
    if (e && e->locked_until > now) {
        *retry_after = wait_of(e, now);
        goto out;
    }
    ok = true;
    if (e)
        e->count = 0;
    if (address) {
        /* Remember the address on the account's own key (made if need be; when the table is
         * full the address is simply not remembered). */
        acct = get(t, at->account, true, now, NULL);
        if (acct && !trusts(acct, address)) {
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

void srv_throttle_failure(srv_throttle *t, const srv_throttle_attempt *at, time_t now)
{
    entry *acct, *addr;

    pthread_mutex_lock(&t->mu);
    end_attempt(t, at, now, &acct, &addr);
    if (acct) {
        acct->count++;
        lock_at_limit(t, acct, t->l.account_fails, now);
    }
    if (addr) {
        addr->count++;
        lock_at_limit(t, addr, t->l.address_fails, now);
    }
    pthread_mutex_unlock(&t->mu);
}

void srv_throttle_unchecked(srv_throttle *t, const srv_throttle_attempt *at, time_t now)
{
    entry *acct, *addr;

    pthread_mutex_lock(&t->mu);
    end_attempt(t, at, now, &acct, &addr);
    pthread_mutex_unlock(&t->mu);
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
