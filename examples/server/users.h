/* The users of jobs-server: the file `users` in the data directory, one record per line,
 * `id:username:email:argon2id-hash`. The library knows users only as owner ids. */
#ifndef JOBS_SERVER_USERS_H
#define JOBS_SERVER_USERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct srv_users srv_users;

/** Longest username and email accepted, in bytes. */
#define SRV_USERNAME_MAX 64
#define SRV_EMAIL_MAX 254
/** Longest password accepted, in bytes. */
#define SRV_PASSWORD_MAX 1024

/**
 * Opens the user file of data directory `dir` (a missing file is an empty user list).
 * @return 0, or -1 with a message on stderr.
 */
int srv_users_open(srv_users **out, const char *dir);

/** Frees the handle. Accepts NULL. */
void srv_users_close(srv_users *u);

/** The number of users. */
size_t srv_users_count(srv_users *u);

/** True when `name` is acceptable as a username: 1..64 of [A-Za-z0-9._-]. */
bool srv_username_is_valid(const char *name);

/**
 * Adds a user and rewrites the file (temp file with mode 0600, fsync, rename).
 * @param email  NULL or "" for none
 * @return 0, or -1 with a message on stderr (invalid or duplicate name or email, I/O).
 */
int srv_users_add(srv_users *u, uint64_t *id, const char *name, const char *email,
                  const char *password);

/**
 * Sets the password of user `name` and rewrites the file as srv_users_add() does. A running
 * server rereads the file, so the new password works there at once (its sessions stay).
 * @return 0, or -1 with a message on stderr (no such user, invalid password, I/O).
 */
int srv_users_passwd(srv_users *u, const char *name, const char *password);

/**
 * Checks a login: by `username` when not NULL, else by `email`. Always runs exactly one
 * Argon2id verification (against a dummy hash for an unknown user), so the answer takes about
 * the same time either way. Reloads the file first if it changed on disk.
 * @return true with *id set when the password is right.
 */
bool srv_users_verify(srv_users *u, uint64_t *id, const char *username, const char *email,
                      const char *password);

#endif
