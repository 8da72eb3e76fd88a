/* Sessions of jobs-server, in the store (auth.c): a restart keeps them, and servers that share
 * a store share them (a logout on one ends the session on all). Only a hash of each token is
 * stored. See docs/http-api.md for why sessions rather than signed tickets. Login throttling is
 * in throttle.h. */
#ifndef JOBS_SERVER_AUTH_H
#define JOBS_SERVER_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <jobs.h>

/** Length of a session token: 32 random bytes as lower-case hex. */
#define SRV_TOKEN_LEN 64

/** Default session lifetime (absolute), seconds; jobs-server --session-ttl changes it. */
#define SRV_SESSION_TTL (8 * 3600)

/** Default cap of live sessions per user (--max-sessions-per-user): the oldest is ended when a
 * login would go past it. */
#define SRV_SESSIONS_PER_USER 16

typedef struct srv_sessions srv_sessions;

/**
 * The sessions of `store` (which must outlive the handle).
 * @param max_per_user  live sessions a user may have; a new one past it ends the user's oldest.
 *                      0: no cap.
 * @return the handle, or NULL when out of memory.
 */
srv_sessions *srv_sessions_new(jobs_store *store, unsigned max_per_user);

/** Frees the handle (the sessions stay in the store). Accepts NULL. */
void srv_sessions_free(srv_sessions *s);

/**
 * Starts a session for `user_id` that expires `ttl` seconds after `now`, in one transaction
 * with: up to 64 expired sessions removed (earliest first), and, when the user already has
 * `max_per_user` sessions, their oldest ended.
 * @param[out] token  SRV_TOKEN_LEN hex characters and a NUL
 * @param stamp  the stamp of the password the login checked (srv_account.stamp): the session is
 *               made only if the user's password is still that one; NULL: no such check
 * @return 0, or the JOBS_E* code of the failure (nothing changed): JOBS_ECHANGED when the
 *         password changed after the login checked it (answer as a wrong password),
 *         JOBS_ENOMEM, or the store's (a PostgreSQL store's database unreachable:
 *         JOBS_EUNAVAILABLE), which the caller answers as such.
 */
int srv_session_create(char token[SRV_TOKEN_LEN + 1], srv_sessions *s, uint64_t user_id,
                       time_t now, unsigned ttl, const unsigned char *stamp);

/** The user of a live session into *user: 0 when the token is unknown, malformed or expired.
 * One read of the store. Returns 0, or the store's JOBS_E* code when it could not be read (a
 * PostgreSQL store's database unreachable): the caller answers that, not "not authenticated". */
int srv_session_lookup(uint64_t *user, srv_sessions *s, const char *token, size_t len,
                       time_t now);

/** Ends a session (removes it from the store). Returns 0 when it existed and had not expired,
 * JOBS_ENOTFOUND when the token is unknown, malformed or expired (an expired one is removed
 * too), or the store's JOBS_E* code when it could not be written (a PostgreSQL store's database
 * unreachable: the session may live on, and the caller answers that, not "not authenticated"). */
int srv_session_end(srv_sessions *s, const char *token, size_t len);

/** In the caller's transaction (a password change's: srv_users_passwd()), ends every session of
 * `user`, so that whoever held one logs in again; adds how many to *ended. Returns 0, or the
 * store's JOBS_E* code (the caller's transaction then undoes everything). */
int srv_sessions_end_user(jobs_kv_txn *txn, uint64_t user, size_t *ended);

/** Removes every session expired at `now`, 64 to a transaction; returns how many. */
size_t srv_sessions_sweep(srv_sessions *s, time_t now);

/** The number of sessions in the store (live or not yet swept). Reads them all: for tests. */
size_t srv_sessions_count(srv_sessions *s);

/** The number of sessions of `user` in the store (live or not yet swept). */
size_t srv_sessions_of(srv_sessions *s, uint64_t user);

#endif
