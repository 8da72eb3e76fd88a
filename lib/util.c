/* Allocation, version, argument checks and the name rules. */
#include "util.h"

void *jobs__malloc(size_t size)
{
    return malloc(size ? size : 1);
}

void *jobs__realloc(void *ptr, size_t size)
{
    return realloc(ptr, size ? size : 1);
}

void jobs__free(void *ptr)
{
    free(ptr);
}

unsigned int jobs_version(void)
{
    return JOBS_VERSION_NUMBER;
}

const char *jobs_version_string(void)
{
    return JOBS_VERSION_STRING;
}

/* Strict UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing above U+10FFFF; and no
 * control characters, which the name rules forbid. */
bool jobs_name_is_valid(const char *name, size_t len)
{
    const unsigned char *s = (const unsigned char *)name;
    size_t i = 0;

    if (!name || len == 0 || len > JOBS_NAME_MAX)
        return false;
    while (i < len) {
        unsigned char c = s[i];
        uint32_t cp;
        size_t n;

        if (c < 0x80) {
            if (c < 0x20 || c == 0x7f)
                return false;
            i++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf) {
            n = 1;
            cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            n = 2;
            cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            n = 3;
            cp = c & 0x07;
        } else {
            return false; /* continuation byte, overlong 2-byte lead, or beyond U+10FFFF */
        }
        if (len - i - 1 < n)
            return false;
        for (size_t k = 1; k <= n; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
            (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        /* C1 controls (U+0080..U+009F) are not in the forbidden set of the contract. */
        i += n + 1;
    }
    return true;
}

int jobs__check_owner(uint64_t owner, int allow_public)
{
    if (owner == JOBS_OWNER_PUBLIC && allow_public)
        return 0;
    if (owner == 0 || owner > JOBS_ID_MAX)
        return jobs__error(JOBS_EOWNER, "owner %llu is outside 1..2^53-1",
                           (unsigned long long)owner);
    return 0;
}

int jobs__check_id(uint64_t id, const char *what)
{
    if (id == 0 || id > JOBS_ID_MAX)
        return jobs__error(JOBS_ERANGE, "%s id %llu is outside 1..2^53-1", what,
                           (unsigned long long)id);
    return 0;
}

int jobs__check_name(const char *name, size_t *len)
{
    *len = 0;
    if (!name)
        return 0;
    *len = strnlen(name, JOBS_NAME_MAX + 1);
    if (!jobs_name_is_valid(name, *len))
        return jobs__error(JOBS_ENAME,
                           "a name must be 1-255 bytes of valid UTF-8 without control characters");
    return 0;
}

int jobs__check_page(uint64_t page, uint32_t page_size)
{
    if (page == 0)
        return jobs__error(JOBS_EPAGE, "page numbers start at 1");
    if (page_size > JOBS__PAGE_SIZE_MAX)
        return jobs__error(JOBS_EINVAL, "page size %u is above %u", page_size,
                           JOBS__PAGE_SIZE_MAX);
    return 0;
}
