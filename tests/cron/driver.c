/* The C side of the cron oracle test (oracle.py): reads cases from standard input, one a line,
 *     EXPRESSION <TAB> ZONE <TAB> START <TAB> COUNT
 * and answers each with one line: the COUNT successive next runs from START (each strictly
 * after the one before), separated by spaces, or "ERR <code name> <detail>". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cron.h"
#include "jobs.h"

int main(void)
{
    static char line[16384];
    while (fgets(line, sizeof line, stdin)) {
        line[strcspn(line, "\r\n")] = '\0';
        char *expr = line, *zone = strchr(expr, '\t'), *start = NULL, *count = NULL;
        if (zone) {
            *zone++ = '\0';
            if ((start = strchr(zone, '\t'))) {
                *start++ = '\0';
                if ((count = strchr(start, '\t')))
                    *count++ = '\0';
            }
        }
        if (!count) {
            fprintf(stderr, "driver: malformed line\n");
            return 2;
        }
        jobs__cron c;
        int rc = jobs__cron_compile(&c, expr, zone);
        if (rc) {
            printf("ERR %s %s\n", jobs_err_name(rc), jobs_error_last());
            continue;
        }
        int64_t t = strtoll(start, NULL, 10);
        long n = strtol(count, NULL, 10);
        for (long i = 0; i < n; i++) {
            int64_t next;
            if ((rc = jobs__cron_next(&next, &c, t))) {
                printf("%sERR %s %s", i ? " " : "", jobs_err_name(rc), jobs_error_last());
                break;
            }
            printf("%s%lld", i ? " " : "", (long long)next);
            t = next;
        }
        putchar('\n');
        fflush(stdout);
    }
    return 0;
}
