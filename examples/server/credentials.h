/* The login body of POST /authenticate: {"username"|"email", "password"}. The server's own
 * decoder (the library knows no passwords), on top of the library's strict checks
 * (jobs_json_check_object). */
#ifndef JOBS_SERVER_CREDENTIALS_H
#define JOBS_SERVER_CREDENTIALS_H

#include <stddef.h>

#include "users.h"

/** The longest `username` or `email` accepted, in bytes. */
#define SRV_LOGIN_MAX 255

/** A decoded login body. `username` and `email` point into `user` and `mail`, or are NULL when
 * the key was not given; at least one is set. A copy must not be used with the original's
 * pointers. Wipe `password` (sodium_memzero) once it is checked. */
typedef struct srv_credentials {
    const char *username;                        /**< `username`, or NULL */
    const char *email;                           /**< `email`, or NULL */
    char user[SRV_LOGIN_MAX + 1];                /**< storage of `username` */
    char mail[SRV_LOGIN_MAX + 1];                /**< storage of `email` */
    char password[SRV_PASSWORD_MAX + 1]; /**< `password`, NUL-terminated */
} srv_credentials;

/** The size of srv_decode_credentials()'s message buffer that holds every message. */
#define SRV_CREDENTIALS_MSG_MAX 512

/**
 * Decodes a login body: `password` (required string of 1..SRV_PASSWORD_MAX = 1024 bytes) and `username` or `email`
 * or both (strings of 1..255 bytes). The strict rules of every body: one object, unknown and
 * duplicate keys refused, strings only, no `\u0000`, valid UTF-8, at most 64 KiB.
 *
 * Returns 0, or JOBS_ESYNTAX, JOBS_EBODY, JOBS_EINVAL or JOBS_ENOMEM with the reason in `msg`
 * (never quoting the password); `out` is written only on success.
 */
int srv_decode_credentials(srv_credentials *out, const char *body, size_t len, char *msg,
                           size_t msg_size);

#endif
