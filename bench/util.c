/* The helpers of bench.h every bench program shares (each defines its own bench_fail, which
 * knows what it has to clean up). */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "bench.h"

void *bench_malloc(size_t size)
{
    void *p = malloc(size ? size : 1);

    if (!p)
        bench_fail("out of memory (%zu bytes)", size);
    return p;
}

void bench_path(char *path, size_t size, const char *dir, const char *name)
{
    int n = snprintf(path, size, "%s/%s", dir, name);

    if (n < 0 || (size_t)n >= size)
        bench_fail("path too long: %s/%s", dir, name);
}

uint64_t bench_file_size(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
}
