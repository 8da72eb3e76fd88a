/* jobs-server's subcommands (`user add`, `check`) and the first start's demo user. */
#ifndef JOBS_SERVER_CLI_H
#define JOBS_SERVER_CLI_H

#include "users.h"


/** mkdir -p with mode 0700. 0, or -1 with errno set. */
int srv_make_dir(const char *dir);

/** `jobs-server check [--data DIR]`: the exit code. */
int srv_cmd_check(int argc, char **argv);

/** `jobs-server user add NAME [--email EMAIL] [--data DIR]`, password on stdin: the exit code. */
int srv_cmd_user_add(int argc, char **argv);

/** On first start (no users), creates `demo` with JOBS_DEMO_PASSWORD or a random password that
 * is printed once. 0, or -1 after a message. */
int srv_ensure_demo_user(srv_users *users);

#endif
