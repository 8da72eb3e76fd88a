/* The error table's messages and fault numbers, and the per-thread detail message. */
#include <stdarg.h>
#include <stdio.h>

#include "util.h"

static _Thread_local char last_error[JOBS__ERROR_MAX];

const char *jobs_strerror(int code)
{
    switch (code) {
    case 0:
        return "success";
#define JOBS__ERRNO_MSG(name, num, fault, msg) \
    case num:                                  \
        return msg;
        JOBS_ERRNO_MAP(JOBS__ERRNO_MSG)
#undef JOBS__ERRNO_MSG
    default:
        return "unknown error";
    }
}

const char *jobs_err_name(int code)
{
    switch (code) {
    case 0:
        return "JOBS_OK";
#define JOBS__ERRNO_NAME(name, num, fault, msg) \
    case num:                                   \
        return "JOBS_" #name;
        JOBS_ERRNO_MAP(JOBS__ERRNO_NAME)
#undef JOBS__ERRNO_NAME
    default:
        return "JOBS_EUNKNOWN";
    }
}

int jobs_fault_code(int code)
{
    switch (code) {
    case 0:
        return 0;
#define JOBS__ERRNO_FAULT(name, num, fault, msg) \
    case num:                                    \
        return fault;
        JOBS_ERRNO_MAP(JOBS__ERRNO_FAULT)
#undef JOBS__ERRNO_FAULT
    default:
        return 106;
    }
}

const char *jobs_error_last(void)
{
    return last_error;
}

/* Formatted apart, then copied in: an argument may be jobs_error_last() itself (a detail
 * prefixed with its context), and vsnprintf's source and destination must not overlap. */
int jobs__error(int code, const char *fmt, ...)
{
    char buf[sizeof(last_error)];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (n < 0)
        n = 0;
    memcpy(last_error, buf, (size_t)n < sizeof(buf) ? (size_t)n + 1 : sizeof(buf));
    return code;
}
