/* jobsctl's output for people (tables, times, sizes) and for scripts (JSON strings). */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <unicode/uchar.h>
#include <unicode/utf8.h>

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

/* Whether a terminal does not show code point c as itself, by its general category (ICU's
 * Unicode data): a control character (Cc: C0, DEL, and C1, U+0080..U+009F, which the name rules
 * allow but a terminal may obey: U+009B starts an escape sequence), a format character (Cf: the
 * bidirectional controls U+061C, U+200E, U+200F, U+202A..U+202E, U+2066..U+2069 reorder the
 * text after them, so that a name shows as another, even across the columns after it ("trojan
 * source"); U+200B zero width space, U+2060 word joiner, U+FEFF, the tags U+E0000..U+E007F show
 * as nothing, so two names that differ look the same), or the line and paragraph separators
 * (Zl, Zp: U+2028, U+2029). */
static bool unshown(UChar32 c)
{
    int8_t t = u_charType(c);

    return t == U_CONTROL_CHAR || t == U_FORMAT_CHAR || t == U_LINE_SEPARATOR ||
           t == U_PARAGRAPH_SEPARATOR;
}

/* `s` for a terminal: a character it does not show as itself (unshown()) as \uXXXX
 * (\UXXXXXXXX above U+FFFF), a byte that is not UTF-8 as \xXX, the rest as it is. Frees `s`. */
static char *printable(char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t cap = strlen(s) * 6 + 1, len = 0; /* 4 bytes become 10 at most: \UXXXXXXXX */
    char *out = ctl_xmalloc(cap);

    while (*p) {
        size_t n = utf8_len(p);
        UChar32 c = 0;
        int32_t at = 0;

        if (n)
            U8_NEXT_UNSAFE(p, at, c); /* valid: utf8_len() checked it */
        if (n == 0) {
            len += (size_t)snprintf(out + len, cap - len, "\\x%02x", *p++);
        } else if (unshown(c)) {
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

/* Columns a terminal gives code point c: two for the wide and fullwidth characters of East
 * Asian scripts (and the emoji Unicode gives that width), none for a combining mark, which
 * joins the character before it, one for the rest (unshown() characters never reach here). */
static size_t char_width(UChar32 c)
{
    int8_t t = u_charType(c);
    int32_t ea = u_getIntPropertyValue(c, UCHAR_EAST_ASIAN_WIDTH);

    if (t == U_NON_SPACING_MARK || t == U_ENCLOSING_MARK)
        return 0;
    return ea == U_EA_WIDE || ea == U_EA_FULLWIDTH ? 2 : 1;
}

/* Columns a string takes on a terminal (cells are valid UTF-8: printable() saw to that). */
static size_t text_width(const char *s)
{
    const uint8_t *p = (const uint8_t *)s;
    size_t w = 0;
    int32_t at = 0;

    while (p[at]) {
        UChar32 c;

        U8_NEXT_UNSAFE(p, at, c);
        w += char_width(c);
    }
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
