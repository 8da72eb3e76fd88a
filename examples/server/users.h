/* The users of jobs-server: in the store, through the library's namespaced records (jobs_kv_*;
 * layout in users.c), so that they have the store's transactions and crash safety, and every
 * server on one store shares them. Each has an id (an owner id of the library, never given
 * twice), a username, an optional email and an Argon2id hash of the password. The library knows
 * users only as owner ids and never sees a password. The users file of earlier versions is
 * imported once (srv_users_open()). */
#ifndef JOBS_SERVER_USERS_H
#define JOBS_SERVER_USERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jobs.h>

typedef struct srv_users srv_users;

/** Longest username and email accepted, in bytes. */
#define SRV_USERNAME_MAX 64
#define SRV_EMAIL_MAX 254
/** Longest password accepted, in bytes. */
#define SRV_PASSWORD_MAX 1024

/** A big-endian u64 at p (keys that sort in number order). */
static inline void srv_be64_put(unsigned char *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (unsigned char)(v & 0xff);
}

/** The big-endian u64 at p. */
static inline uint64_t srv_be64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

/**
 * The users of `store` (which must outlive the handle). When `dir` is not NULL and holds the
 * users file of an earlier version (`users`, `users.ids`), it is imported first, in one
 * transaction, ids kept and the id counter past the highest id the files ever gave; then the
 * files are renamed to `users.imported` and `users.ids.imported`.
 * @return 0, or -1 with a message on stderr (a malformed line of the file, named, and nothing
 *         imported; a user of the file that clashes with the store's; I/O).
 */
int srv_users_open(srv_users **out, jobs_store *store, const char *dir);

/** Frees the handle. Accepts NULL. */
void srv_users_close(srv_users *u);

/** The number of records of namespace `ns` in the store (one scan: for tests and the first
 * start, not for a request): 0 or the store's JOBS_E* code. */
int srv_kv_count(size_t *n, jobs_store *store, const char *ns);

/** The number of users into *n: 0, or -1 with a message on stderr (a store error). */
int srv_users_count(size_t *n, srv_users *u);

/** True when `name` is acceptable as a username: 1..64 of [A-Za-z0-9._-]. */
bool srv_username_is_valid(const char *name);

/**
 * Adds a user: the record and its name (and email) index in one transaction.
 * @param email  NULL or "" for none
 * The id is the next of the store's user id counter, never one given before. The password must
 * be valid UTF-8.
 * @return 0, or -1 with a message on stderr (invalid or duplicate name or email, a password
 *         that is not UTF-8, a store error).
 */
int srv_users_add(srv_users *u, uint64_t *id, const char *name, const char *email,
                  const char *password);

/** Argon2id verifications that may run at once (64 MiB each); --login-concurrency. */
#define SRV_VERIFY_SLOTS 4

/** Sets how many verifications may run at once (before serving; 0 counts as 1). */
void srv_users_set_verify_slots(srv_users *u, unsigned n);

/** Room for a password hash in srv_account (libsodium's crypto_pwhash_STRBYTES). */
#define SRV_HASH_MAX 128

/** Bytes of a password stamp (srv_account.stamp). */
#define SRV_STAMP_LEN 32

/** The account a login names: looked up once by srv_users_find() (before the attempt is counted
 * by the throttle) and checked by srv_users_verify(). It holds the password hash, which
 * srv_users_verify() wipes, and a stamp of it, which stays: the session the login starts is
 * made only if the password is still the one checked (srv_users_unchanged()). */
typedef struct srv_account {
    uint64_t id;             /**< the user's id; 0 when the login names no user */
    char hash[SRV_HASH_MAX]; /**< the user's Argon2id hash when id is not 0 */
    unsigned char stamp[SRV_STAMP_LEN]; /**< a digest of `hash` (BLAKE2b), when id is not 0 */
} srv_account;

/**
 * Looks up the user a login names: by `username` when not NULL, else by `email`. Costs no
 * hashing (the login's throttle key is taken from it before the password is checked).
 * @return 0 with *a set (a->id 0 for no such user), or the store's JOBS_E* code (the store could
 *         not be read, e.g. JOBS_EUNAVAILABLE: nothing is known about the user, and *a names
 *         nobody; the message is jobs_error_last()).
 */
int srv_users_find(srv_users *u, srv_account *a, const char *username, const char *email);

/** The outcome of srv_users_verify(). */
typedef enum srv_verify {
    SRV_VERIFY_OK,    /**< the password is right: *id is set */
    SRV_VERIFY_WRONG, /**< unknown user or wrong password */
    SRV_VERIFY_BUSY   /**< every verification slot is taken: nothing was checked */
} srv_verify;

/** What else a password change does, in its transaction (srv_users_passwd()): 0, or a JOBS_E*
 * code that undoes the change. */
typedef int (*srv_users_then)(jobs_kv_txn *txn, uint64_t id, void *arg);

/**
 * Sets the password of user `name`. Every server on the store checks the new one from the next
 * login on. When `then` is not NULL it runs in the same transaction with the user's id (ending
 * the user's sessions: srv_sessions_end_user()), and the password changes only if it returns 0.
 * @return 0, or -1 with a message on stderr (no such user, invalid password, a store error, or
 *         `then`'s code: "changing the password: ...", nothing changed).
 */
int srv_users_passwd(srv_users *u, const char *name, const char *password, srv_users_then then,
                     void *arg);

/**
 * Locks user `name`, whose id the caller found to be `id`, out: no password logs in any more
 * (until `user passwd` sets one), and, in the same transaction, `then` runs with the user's id
 * (ending their sessions). For `user del --with-data`, which then deletes what the user owns
 * while nobody can make more.
 * @return 0, or -1 with a message on stderr (no such user; the name now another id's; a store
 *         error; `then`'s code), nothing changed.
 */
int srv_users_lock(srv_users *u, const char *name, uint64_t id, srv_users_then then, void *arg);

/** A user as srv_users_list() gives it. */
typedef struct srv_user_info {
    uint64_t id;
    char name[SRV_USERNAME_MAX + 1];
    char email[SRV_EMAIL_MAX + 1]; /**< "" for none */
} srv_user_info;

/**
 * Every user, in id order, in one snapshot of the store (no password hash).
 * @param[out] out  an array of *n users (caller frees with free(); NULL when there is none)
 * @return 0, or -1 with a message on stderr (a store error, a malformed record, no memory).
 */
int srv_users_list(srv_user_info **out, size_t *n, srv_users *u);

/** The id of user `name` into *id (0: no such user). 0, or -1 with a message (store error). */
int srv_users_id(uint64_t *id, srv_users *u, const char *name);

/**
 * Deletes user `name`, whose id the caller found to be `id`: the record and its name and
 * email index entries, in one transaction with `then` (ending the user's sessions:
 * srv_sessions_end_user()). The id is never given again (srv_users_add()). Nothing else of the
 * user goes: the caller deletes what they own first.
 * @return 0, or -1 with a message on stderr (no such user; the name now another id's, deleted
 *         and added again since; a store error; `then`'s code), nothing changed.
 */
int srv_users_del(srv_users *u, const char *name, uint64_t id, srv_users_then then, void *arg);

/**
 * In a transaction: 0 when user `id` still has the password whose stamp a login checked
 * (srv_account.stamp), JOBS_ECHANGED when it has changed since (or the user is gone), or the
 * store's code. A login's session is made only after this, in its own transaction, so a login
 * that checked the old password while `user passwd` changed it starts no session.
 */
int srv_users_unchanged(jobs_kv_txn *txn, uint64_t id, const unsigned char stamp[SRV_STAMP_LEN]);

/**
 * Checks a login's password against the account srv_users_find() gave. Takes one of the
 * verification slots without waiting (SRV_VERIFY_BUSY when none is free), then runs exactly one
 * Argon2id verification (against a dummy hash when a->id is 0), so the answer takes about the
 * same time either way. Sets *id on SRV_VERIFY_OK. Wipes a->hash whatever the outcome.
 */
srv_verify srv_users_verify(srv_users *u, uint64_t *id, srv_account *a, const char *password);

#endif
