/* Sessions and login throttling for jobs-server. Sessions live in memory only: a restart logs
 * everyone out (see docs/http-api.md for why sessions rather than signed tickets). */
#ifndef JOBS_SERVER_AUTH_H
#define JOBS_SERVER_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/** Length of a session token: 32 random bytes as lower-case hex. */
#define SRV_TOKEN_LEN 64

/** Default session lifetime (absolute), seconds; jobs-server --session-ttl changes it. */
#define SRV_SESSION_TTL (8 * 3600)

/** Failed logins for one name within SRV_THROTTLE_WINDOW that trigger the lock. */
#define SRV_THROTTLE_FAILS 5
/** The window, and how long the lock lasts, in seconds. */
#define SRV_THROTTLE_WINDOW 60

typedef struct srv_sessions srv_sessions;

/** A new, empty session table. NULL when out of memory. */
srv_sessions *srv_sessions_new(void);

/** Frees the table. Accepts NULL. */
void srv_sessions_free(srv_sessions *s);

/**
 * Starts a session for `user_id` that expires `ttl` seconds after `now`.
 * @param[out] token  SRV_TOKEN_LEN hex characters and a NUL
 * @return 0, or -1 when out of memory.
 */
int srv_session_create(char token[SRV_TOKEN_LEN + 1], srv_sessions *s, uint64_t user_id,
                       time_t now, unsigned ttl);

/** The user of a live session, or 0 when the token is unknown, malformed or expired. */
uint64_t srv_session_lookup(srv_sessions *s, const char *token, size_t len, time_t now);

/** Ends a session. True if it existed and had not expired (an expired one is removed too). */
bool srv_session_end(srv_sessions *s, const char *token, size_t len);

/** True while logins for `name` are locked after too many failures. */
bool srv_throttle_locked(srv_sessions *s, const char *name, time_t now);

/** Records a failed login for `name`. */
void srv_throttle_fail(srv_sessions *s, const char *name, time_t now);

/** Forgets the failures of `name` (after a successful login). */
void srv_throttle_clear(srv_sessions *s, const char *name);

#endif
