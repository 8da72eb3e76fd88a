/* jobs-server's subcommands (`user add|passwd|list|del`, `check`) and the first start's demo user. */
#ifndef JOBS_SERVER_CLI_H
#define JOBS_SERVER_CLI_H

#include "users.h"


/** mkdir -p with mode 0700. 0, or -1 with errno set. */
int srv_make_dir(const char *dir);

/** Refuses (-1, after a message) a data directory another user could write in (owned by
 * someone else, or writable by group or others), a store directory likewise or a symlink, and
 * a symlink, hard link or foreign file under a name the server writes (users, users.tmp,
 * store/data.mdb, store/lock.mdb); tightens what exists to 0700 (store) and 0600 (files). */
int srv_check_data_dir(const char *dir);

/** `jobs-server check [--data DIR]`: the exit code. */
int srv_cmd_check(int argc, char **argv);

/** `jobs-server user add NAME [--email EMAIL] [--data DIR]`, password on stdin: the exit code. */
int srv_cmd_user_add(int argc, char **argv);

/** `jobs-server user passwd NAME [--data DIR]`: sets a user's password, read from stdin. */
int srv_cmd_user_passwd(int argc, char **argv);

/** `jobs-server user list [--data DIR]`: the users, one a line (id, name, email; tabs). */
int srv_cmd_user_list(int argc, char **argv);

/** `jobs-server user del NAME [--data DIR] [--with-data]`: removes a user (refused while they
 * own jobs, stacks or schedules, unless --with-data). */
int srv_cmd_user_del(int argc, char **argv);

/** On first start (no users), creates `demo` with JOBS_DEMO_PASSWORD or a random password that
 * is printed once. On a later start with JOBS_DEMO_PASSWORD set, says that it is not used, or
 * with JOBS_DEMO_RESET=1 sets demo's password from it. 0, or -1 after a message. */
int srv_ensure_demo_user(srv_users *users);

#endif
