/* jobsctl's output for people (tables, times, sizes) and for scripts (JSON strings). */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "jobsctl.h"

void *ctl_xmalloc(size_t size)
{
    return ctl_xrealloc(NULL, size);
}

void *ctl_xrealloc(void *p, size_t size)
{
    void *q = realloc(p, size ? size : 1);

    if (!q) {
        fputs("jobsctl: out of memory\n", stderr);
        exit(CTL_FAILED);
    }
    return q;
}

/* ---- UTF-8 ---------------------------------------------------------------------------------- */

/* The length of the valid UTF-8 sequence at s (RFC 3629: shortest form, no surrogates, at most
 * U+10FFFF), or 0. `s` is NUL-terminated, so a cut sequence stops at the NUL. */
static size_t utf8_len(const unsigned char *s)
{
    size_t n;
    unsigned char lo = 0x80, hi = 0xbf;

    if (s[0] < 0x80)
        return 1;
    if (s[0] >= 0xc2 && s[0] <= 0xdf)
        n = 2;
    else if (s[0] >= 0xe0 && s[0] <= 0xef)
        n = 3;
    else if (s[0] >= 0xf0 && s[0] <= 0xf4)
        n = 4;
    else
        return 0;
    if (s[0] == 0xe0)
        lo = 0xa0;
    else if (s[0] == 0xed)
        hi = 0x9f;
    else if (s[0] == 0xf0)
        lo = 0x90;
    else if (s[0] == 0xf4)
        hi = 0x8f;
    if (s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if (s[i] < 0x80 || s[i] > 0xbf)
            return 0;
    return n;
}

/* ---- tables -------------------------------------------------------------------------------- */

void ctl_table_init(ctl_table *t, size_t ncols, const char *const *head, const char *align)
{
    memset(t, 0, sizeof(*t));
    t->ncols = ncols;
    t->head = head;
    t->align = align;
}

/* The code point of the valid UTF-8 sequence of `n` bytes at s. */
static uint32_t utf8_decode(const unsigned char *s, size_t n)
{
    uint32_t c = n == 1 ? s[0] : n == 2 ? s[0] & 0x1fu : n == 3 ? s[0] & 0x0fu : s[0] & 0x07u;

    for (size_t i = 1; i < n; i++)
        c = c << 6 | (s[i] & 0x3fu);
    return c;
}

/* Unicode's format characters (general category Cf, Unicode 15.0) and the line and paragraph
 * separators (U+2028, U+2029): invisible, or not what they show. The bidirectional controls
 * among them (U+061C, U+200E, U+200F, U+202A..U+202E, U+2066..U+2069) reorder the text after
 * them, so that a name shows as another on a terminal ("trojan source"), even across the
 * columns after it; the others (U+200B zero width space, U+2060 word joiner, U+FEFF, the tags
 * U+E0000..U+E007F, ...) show as nothing, so two names that differ look the same. Ranges in
 * order. */
static const struct {
    uint32_t lo, hi;
} invisible[] = {
    {0x00ad, 0x00ad},   {0x0600, 0x0605},   {0x061c, 0x061c},   {0x06dd, 0x06dd},
    {0x070f, 0x070f},   {0x0890, 0x0891},   {0x08e2, 0x08e2},   {0x180e, 0x180e},
    {0x200b, 0x200f},   {0x2028, 0x202e},   {0x2060, 0x2064},   {0x2066, 0x206f},
    {0xfeff, 0xfeff},   {0xfff9, 0xfffb},   {0x110bd, 0x110bd}, {0x110cd, 0x110cd},
    {0x13430, 0x1343f}, {0x1bca0, 0x1bca3}, {0x1d173, 0x1d17a}, {0xe0001, 0xe0001},
    {0xe0020, 0xe007f},
};

static bool is_invisible(uint32_t c)
{
    for (size_t i = 0; i < sizeof(invisible) / sizeof(invisible[0]) && c >= invisible[i].lo; i++)
        if (c <= invisible[i].hi)
            return true;
    return false;
}

/* `s` for a terminal: a control character (C0, DEL, or C1, U+0080..U+009F, which the name rules
 * allow but a terminal may obey: U+009B starts an escape sequence) or an invisible one (above:
 * the bidirectional controls, zero width and other format characters) as \uXXXX (\UXXXXXXXX
 * above U+FFFF), a byte that is not UTF-8 as \xXX, the rest as it is. Frees `s`. */
static char *printable(char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t cap = strlen(s) * 6 + 1, len = 0; /* 4 bytes become 10 at most: \UXXXXXXXX */
    char *out = ctl_xmalloc(cap);

    while (*p) {
        size_t n = utf8_len(p);
        uint32_t c = n ? utf8_decode(p, n) : 0;

        if (n == 0) {
            len += (size_t)snprintf(out + len, cap - len, "\\x%02x", *p++);
        } else if (c < 0x20 || (c >= 0x7f && c < 0xa0) || is_invisible(c)) {
            len += (size_t)snprintf(out + len, cap - len, c > 0xffff ? "\\U%08x" : "\\u%04x",
                                    (unsigned)c);
            p += n;
        } else {
            memcpy(out + len, p, n);
            len += n;
            p += n;
        }
    }
    out[len] = '\0';
    free(s);
    return out;
}

void ctl_table_cell(ctl_table *t, const char *fmt, ...)
{
    va_list ap;
    int n;
    char *cell;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    cell = ctl_xmalloc((size_t)(n < 0 ? 0 : n) + 1);
    va_start(ap, fmt);
    vsnprintf(cell, (size_t)(n < 0 ? 0 : n) + 1, fmt, ap);
    va_end(ap);
    cell = printable(cell);
    if (t->ncells == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 32;
        t->cells = ctl_xrealloc(t->cells, t->cap * sizeof(*t->cells));
    }
    t->cells[t->ncells++] = cell;
}

/* Columns a string takes on a terminal: its code points (cells are UTF-8 without control
 * characters, printable() saw to that; wide characters count as one). */
static size_t text_width(const char *s)
{
    size_t w = 0;

    for (; *s; s++)
        if (((unsigned char)*s & 0xc0) != 0x80)
            w++;
    return w;
}

static void print_cell(const char *s, size_t width, char align, bool last)
{
    size_t pad = width - text_width(s);

    if (align == 'r')
        printf("%*s%s", (int)pad, "", s);
    else if (last)
        fputs(s, stdout);
    else
        printf("%s%*s", s, (int)pad, "");
}

void ctl_table_print(const ctl_table *t)
{
    size_t *width = ctl_xmalloc(t->ncols * sizeof(*width));

    for (size_t c = 0; c < t->ncols; c++)
        width[c] = t->head ? text_width(t->head[c]) : 0;
    for (size_t i = 0; i < t->ncells; i++) {
        size_t w = text_width(t->cells[i]);

        if (w > width[i % t->ncols])
            width[i % t->ncols] = w;
    }
    if (t->head) {
        for (size_t c = 0; c < t->ncols; c++) {
            print_cell(t->head[c], width[c], t->align[c], c + 1 == t->ncols);
            fputs(c + 1 == t->ncols ? "\n" : "  ", stdout);
        }
        for (size_t c = 0; c < t->ncols; c++) {
            for (size_t k = 0; k < width[c]; k++)
                putchar('-');
            fputs(c + 1 == t->ncols ? "\n" : "  ", stdout);
        }
    }
    for (size_t i = 0; i < t->ncells; i++) {
        size_t c = i % t->ncols;

        print_cell(t->cells[i], width[c], t->align[c], c + 1 == t->ncols);
        fputs(c + 1 == t->ncols ? "\n" : "  ", stdout);
    }
    free(width);
}

void ctl_table_free(ctl_table *t)
{
    for (size_t i = 0; i < t->ncells; i++)
        free(t->cells[i]);
    free(t->cells);
    t->cells = NULL;
    t->ncells = t->cap = 0;
}

/* ---- JSON strings -------------------------------------------------------------------------- */

void ctl_json_string(FILE *f, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;

    fputc('"', f);
    while (*p) {
        size_t n = utf8_len(p);

        if (n == 0) {
            fputs("\\ufffd", f);
            p++;
        } else if (*p == '"' || *p == '\\') {
            fprintf(f, "\\%c", *p++);
        } else if (*p < 0x20 || *p == 0x7f) {
            fprintf(f, "\\u%04x", *p++);
        } else {
            fwrite(p, 1, n, f);
            p += n;
        }
    }
    fputc('"', f);
}

/* ---- values for people --------------------------------------------------------------------- */

const char *ctl_time(char buf[40], int64_t t)
{
    struct tm tm;
    time_t tt = (time_t)t;

    if ((int64_t)tt != t || !gmtime_r(&tt, &tm) || tm.tm_year > 9999 - 1900 ||
        strftime(buf, 40, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(buf, 40, "%lld", (long long)t);
    return buf;
}

const char *ctl_duration(char buf[40], int64_t s)
{
    static const struct {
        int64_t seconds;
        char unit;
    } units[] = {{86400, 'd'}, {3600, 'h'}, {60, 'm'}, {1, 's'}};
    size_t len = 0;

    buf[0] = '\0';
    if (s <= 0) {
        snprintf(buf, 40, "%llds", (long long)s);
        return buf;
    }
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (s >= units[i].seconds) {
            len += (size_t)snprintf(buf + len, 40 - len, "%lld%c",
                                    (long long)(s / units[i].seconds), units[i].unit);
            s %= units[i].seconds;
        }
    }
    return buf;
}

const char *ctl_bytes(char buf[64], uint64_t n)
{
    static const char *const units[] = {"KiB", "MiB", "GiB", "TiB"};
    double v = (double)n;
    int u = -1;

    while (v >= 1024 && u < 3) {
        v /= 1024;
        u++;
    }
    if (u < 0)
        snprintf(buf, 64, "%llu bytes", (unsigned long long)n);
    else
        snprintf(buf, 64, "%.1f %s (%llu bytes)", v, units[u], (unsigned long long)n);
    return buf;
}

const char *ctl_plural(char buf[64], uint64_t n, const char *one, const char *many)
{
    snprintf(buf, 64, "%llu %s", (unsigned long long)n, n == 1 ? one : many);
    return buf;
}
