/* Shared by the fuzz targets: the libFuzzer entry points (also called by replay.c, the plain
 * main() of the ctest build) and FUZZ_CHECK, an invariant that aborts, so that libFuzzer keeps
 * the input as a crash and ctest fails. Not assert(): it must hold in every build type. */
#ifndef JOBS_FUZZ_H
#define JOBS_FUZZ_H

#include <stdbool.h>
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

/* The targets' own reference: whether the NUL-terminated `s` is valid UTF-8 (RFC 3629: no
 * overlong forms, no surrogates, nothing past U+10FFFF), and, unless `controls`, holds no
 * control byte (below 0x20, or 0x7f). */
static inline bool fuzz_utf8_ok(const unsigned char *s, bool controls)
{
    while (*s) {
        int k = *s < 0x80 ? 0 : *s >= 0xc2 && *s <= 0xdf ? 1 : *s >= 0xe0 && *s <= 0xef ? 2
              : *s >= 0xf0 && *s <= 0xf4 ? 3 : -1;
        uint32_t cp;

        if (k < 0 || (!controls && k == 0 && (*s < 0x20 || *s == 0x7f)))
            return false;
        cp = *s & (k == 0 ? 0x7f : 0x3f >> k);
        for (int i = 1; i <= k; i++) {
            if ((s[i] & 0xc0) != 0x80)
                return false;
            cp = cp << 6 | (s[i] & 0x3f);
        }
        if ((k == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
            (k == 3 && (cp < 0x10000 || cp > 0x10ffff)))
            return false;
        s += k + 1;
    }
    return true;
}

#endif
