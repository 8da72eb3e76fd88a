/* hold_std_fds() (std_fds.h), compiled into jobsctl and jobs-server. */
#include "std_fds.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

void hold_std_fds(void)
{
    for (int fd = 0; fd <= 2; fd++) {
        int n;

        if (fcntl(fd, F_GETFD) != -1 || errno != EBADF)
            continue;
        /* The lowest free descriptor: fd itself, the ones below it being open. */
        if ((n = open("/dev/null", fd == STDOUT_FILENO ? O_RDONLY : O_RDWR)) >= 0 && n != fd) {
            dup2(n, fd);
            close(n);
        }
    }
}
