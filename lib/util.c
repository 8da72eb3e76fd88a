/* Allocation, version, argument checks and the name rules. */
#include "util.h"

/* The allocator (jobs_replace_allocator): set before use, read without locking after. */
static struct {
    jobs_malloc_fn malloc_fn;
    jobs_realloc_fn realloc_fn;
    jobs_free_fn free_fn;
} allocator = {malloc, realloc, free};

int jobs_replace_allocator(jobs_malloc_fn malloc_fn, jobs_realloc_fn realloc_fn,
                           jobs_free_fn free_fn)
{
    if (!malloc_fn || !realloc_fn || !free_fn)
        return jobs__error(JOBS_EINVAL, "jobs_replace_allocator needs three functions");
    allocator.malloc_fn = malloc_fn;
    allocator.realloc_fn = realloc_fn;
    allocator.free_fn = free_fn;
    return 0;
}

void *jobs__malloc(size_t size)
{
    return allocator.malloc_fn(size ? size : 1);
}

void *jobs__realloc(void *ptr, size_t size)
{
    return allocator.realloc_fn(ptr, size ? size : 1);
}

void jobs__free(void *ptr)
{
    if (ptr)
        allocator.free_fn(ptr);
}

unsigned int jobs_version(void)
{
    return JOBS_VERSION_NUMBER;
}

const char *jobs_version_string(void)
{
    return JOBS_VERSION_STRING;
}

size_t jobs__utf8_seq_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    size_t k;
    uint32_t cp;

    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf) {
        k = 1;
        cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        k = 2;
        cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        k = 3;
        cp = c & 0x07;
    } else {
        return 0; /* continuation byte, overlong 2-byte lead, or beyond U+10FFFF */
    }
    if (n <= k)
        return 0;
    for (size_t i = 1; i <= k; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if ((k == 2 && cp < 0x800) || (k == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return k + 1;
}

/* Valid UTF-8 without control characters, which the name rules forbid. (C1 controls,
 * U+0080..U+009F, are not in the contract's forbidden set.) */
bool jobs_name_is_valid(const char *name, size_t len)
{
    const unsigned char *s = (const unsigned char *)name;

    if (!name || len == 0 || len > JOBS_NAME_MAX)
        return false;
    for (size_t i = 0, k; i < len; i += k) {
        if (s[i] >= 0x20 && s[i] < 0x7f)
            k = 1; /* printable ASCII, most names: no need to decode */
        else if (s[i] < 0x80 || !(k = jobs__utf8_seq_len(s + i, len - i)))
            return false; /* a control character or DEL, or not UTF-8 */
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

struct timespec jobs__deadline(clockid_t clock, int ms)
{
    struct timespec t;

    clock_gettime(clock, &t);
    t.tv_sec += ms / 1000;
    t.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (t.tv_nsec >= 1000000000L) {
        t.tv_sec++;
        t.tv_nsec -= 1000000000L;
    }
    return t;
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
