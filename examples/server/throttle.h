/* Login throttling of jobs-server (docs/http-api.md, "Login limits"): per client address first,
 * per account second, each attempt counted before its password is hashed (as one in flight, then
 * as a failure or not once it is checked), locks of bounded length that no eviction lifts, and
 * the addresses an account last logged in from exempt from the account's lock (they have a budget
 * of their own), so that an attacker who keeps an account locked from elsewhere does not keep its
 * user out. */
#ifndef JOBS_SERVER_THROTTLE_H
#define JOBS_SERVER_THROTTLE_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

/** Defaults of the limits (--login-account-fails, --login-address-fails, --login-lock). */
#define SRV_THROTTLE_ACCOUNT_FAILS 5
#define SRV_THROTTLE_ADDRESS_FAILS 20
#define SRV_THROTTLE_LOCK 60
/** Default number of keys (accounts, names and addresses) the table holds. */
#define SRV_THROTTLE_ENTRIES 65536
/** Addresses remembered per account as ones it logged in from (exempt from its lock). */
#define SRV_THROTTLE_TRUSTED 4
/** Bytes an address is held in, its NUL included (civetweb's are shorter; a longer one counts
 * as none). */
#define SRV_THROTTLE_ADDRESS_SIZE 64
/** Longest key: "n:" and a 255-byte name, or an address with the account's id. */
#define SRV_THROTTLE_KEY_MAX 300

typedef struct srv_throttle_limits {
    unsigned account_fails; /**< failed attempts per account in a window; the next one locks */
    unsigned address_fails; /**< failed attempts per client address in a window, likewise */
    unsigned lock_seconds;  /**< the window, and how long a lock lasts */
    size_t max_entries;     /**< keys held; 0 for SRV_THROTTLE_ENTRIES */
} srv_throttle_limits;

typedef struct srv_throttle srv_throttle;

/** What srv_throttle_begin() decided. */
typedef enum srv_gate {
    SRV_GATE_GO,     /**< counted: check the password, then end the attempt (below) */
    SRV_GATE_LOCKED, /**< the address or the account is locked: 429 */
    SRV_GATE_FULL,   /**< no room to count the attempt (every key is locked or counting): 503 */
    SRV_GATE_BUSY    /**< the failures and the attempts in flight on the account or the
                          address are at their limit: 503, no lock (in flight may be right) */
} srv_gate;

/** What srv_throttle_begin() counted an attempt on, for the call that ends it. */
typedef struct srv_throttle_attempt {
    char account[SRV_THROTTLE_KEY_MAX + 1];
    char address[SRV_THROTTLE_ADDRESS_SIZE]; /**< "" for none */
    char key[SRV_THROTTLE_KEY_MAX + 80]; /**< the account's key counted on */
} srv_throttle_attempt;

/** A new table; NULL when out of memory. */
srv_throttle *srv_throttle_new(const srv_throttle_limits *limits);

/** Frees the table. Accepts NULL. */
void srv_throttle_free(srv_throttle *t);

/**
 * Counts a login attempt on `account` (the account key: "a:<id>" for a user, whatever spelling
 * named them, "n:<name>" for an unknown name) from `address` (NULL or "": none, in-process
 * callers) as in flight, before its password is checked. Thread-safe. SRV_GATE_GO fills `at`,
 * and exactly one of srv_throttle_success(), srv_throttle_failure() or srv_throttle_unchecked()
 * must follow with it.
 * @param[out] retry_after  seconds until the lock ends (SRV_GATE_LOCKED), else 1
 */
srv_gate srv_throttle_begin(srv_throttle *t, const char *account, const char *address,
                            time_t now, unsigned *retry_after, srv_throttle_attempt *at);

/**
 * After the right password: true when the login may go on (the account was not locked while the
 * password was checked, by failures counted meanwhile); the account's failures are cleared and
 * the address remembered as one the account logs in from. False with *retry_after when locked.
 */
bool srv_throttle_success(srv_throttle *t, const srv_throttle_attempt *at, time_t now,
                          unsigned *retry_after);

/** After a wrong password: a failure on the account and the address; at the limit, a lock. */
void srv_throttle_failure(srv_throttle *t, const srv_throttle_attempt *at, time_t now);

/** After an attempt whose password was not checked (no hashing slot): no failure. */
void srv_throttle_unchecked(srv_throttle *t, const srv_throttle_attempt *at, time_t now);

/** True while `account` is locked for attempts from `address` (tests). */
bool srv_throttle_is_locked(srv_throttle *t, const char *account, const char *address,
                            time_t now);

/** The number of keys held (tests). */
size_t srv_throttle_size(srv_throttle *t);

#endif
