/* Shared by the fuzz targets: the libFuzzer entry points (also called by replay.c, the plain
 * main() of the ctest build) and FUZZ_CHECK, an invariant that aborts, so that libFuzzer keeps
 * the input as a crash and ctest fails. Not assert(): it must hold in every build type. */
#ifndef JOBS_FUZZ_H
#define JOBS_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* Every target defines both. Initialize runs once, before the first input. */
int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond)                                                                        \
    do {                                                                                        \
        if (!(cond)) {                                                                          \
            fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond);        \
            abort();                                                                            \
        }                                                                                       \
    } while (0)

#endif
