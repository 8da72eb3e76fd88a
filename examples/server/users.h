/* The users of jobs-server: the file `users` in the data directory, one record per line,
 * `id:username:email:argon2id-hash`, after a line `max-id:N` (the highest id ever given, also
 * kept in `users.ids`, so that no id is given twice). A malformed line is never skipped: the file
 * is refused, naming the line. The library knows users only as owner ids. */
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
 * @return 0, or -1 with a message on stderr (a malformed line, named; I/O).
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
 * The id is one past the highest ever given. The password must be valid UTF-8.
 * @return 0, or -1 with a message on stderr (invalid or duplicate name or email, a password
 *         that is not UTF-8, a malformed users file, I/O).
 */
int srv_users_add(srv_users *u, uint64_t *id, const char *name, const char *email,
                  const char *password);

/** Argon2id verifications that may run at once (64 MiB each); --login-concurrency. */
#define SRV_VERIFY_SLOTS 4

/** Sets how many verifications may run at once (before serving; 0 counts as 1). */
void srv_users_set_verify_slots(srv_users *u, unsigned n);

/** The id of the user a login names: by `username` when not NULL, else by `email`; 0 for none.
 * Costs no hashing (the login's throttle key is taken from it before the password is checked). */
uint64_t srv_users_find(srv_users *u, const char *username, const char *email);

/** The outcome of srv_users_verify(). */
typedef enum srv_verify {
    SRV_VERIFY_OK,    /**< the password is right: *id is set */
    SRV_VERIFY_WRONG, /**< unknown user or wrong password */
    SRV_VERIFY_BUSY   /**< every verification slot is taken: nothing was checked */
} srv_verify;

/**
 * Sets the password of user `name` and rewrites the file as srv_users_add() does. A running
 * server rereads the file, so the new password works there at once (its sessions stay).
 * @return 0, or -1 with a message on stderr (no such user, invalid password, I/O).
 */
int srv_users_passwd(srv_users *u, const char *name, const char *password);

/**
 * Checks a login: by `username` when not NULL, else by `email`. Takes one of the verification
 * slots without waiting (SRV_VERIFY_BUSY when none is free), then runs exactly one Argon2id
 * verification (against a dummy hash for an unknown user), so the answer takes about the same
 * time either way. Reloads the file first if it changed on disk.
 */
srv_verify srv_users_verify(srv_users *u, uint64_t *id, const char *username, const char *email,
                            const char *password);

#endif
