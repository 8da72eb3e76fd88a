/* Code shared by the programs built with libjobs (jobsctl, jobs-server), compiled into each; not
 * part of the library, whose exported symbols are its public API only. */
#ifndef JOBS_TOOLS_STD_FDS_H
#define JOBS_TOOLS_STD_FDS_H

/* Opens each of the standard descriptors 0, 1 and 2 that is closed (a program started with
 * `1>&-`) on /dev/null, so that no file the program opens later becomes its standard output or
 * error. Standard output is opened read-only: a write to it fails (EBADF) as it would on the
 * closed descriptor, so that the program can tell that its output went nowhere. Standard input
 * and error are opened read-write. Call it first in main(), before anything opens a file: the
 * library's own guard (when it opens a store) puts a writable /dev/null there instead. A
 * descriptor /dev/null cannot be opened on is left closed. */
void hold_std_fds(void);

#endif
