/* Route matching and parameter parsing of the HTTP API (see route.h). */
#include "route.h"

#include <string.h>
#include <strings.h>

#include <jobs.h>

const char *const srv_kind_path[3] = {"/jobs", "/schedules", "/blockstacks"};

/* ---- parameters ---------------------------------------------------------------------------- */

bool srv_parse_id(uint64_t *out, const char *s, size_t len)
{
    uint64_t v = 0;

    if (len == 0 || len > 20)
        return false;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (uint64_t)(s[i] - '0');
        if (v > JOBS_ID_MAX)
            return false;
    }
    if (v == 0)
        return false;
    *out = v;
    return true;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

long srv_percent_decode(char *out, const char *s, size_t len)
{
    size_t o = 0;

    for (size_t i = 0; i < len; i++) {
        if (s[i] == '%') {
            int hi, lo;
            if (i + 2 >= len)
                return -1;
            hi = hexval(s[i + 1]);
            lo = hexval(s[i + 2]);
            if (hi < 0 || lo < 0)
                return -1;
            out[o++] = (char)(hi * 16 + lo);
            i += 2;
        } else {
            out[o++] = s[i];
        }
    }
    out[o] = '\0';
    return (long)o;
}

/* Whether the raw name s[0..len) of a query parameter percent-decodes to `key` (key_len
 * bytes, at most 20): `p%61ge` is `page`, as values are decoded. A name with a malformed escape
 * is no key; one of more than three raw bytes per byte of the key cannot decode to it. */
static bool name_is(const char *s, size_t len, const char *key, size_t key_len)
{
    char buf[64];

    return len <= 3 * key_len && len < sizeof buf &&
           srv_percent_decode(buf, s, len) == (long)key_len && memcmp(buf, key, key_len) == 0;
}

/* A numeric query parameter `key`: absent leaves *out alone; else digits only (after
 * percent-decoding), in 1..max; given twice (its name percent-decoded: `page=1&p%61ge=2`), or
 * a malformed escape in its value, is refused. */
static bool query_number(uint64_t *out, const char *query, const char *key, uint64_t max)
{
    const char *p = query;
    size_t key_len = strlen(key);
    bool seen = false;

    while (p && *p) {
        size_t n = strcspn(p, "&");
        const char *eq = memchr(p, '=', n);
        size_t klen = eq ? (size_t)(eq - p) : n;

        if (name_is(p, klen, key, key_len)) {
            char buf[64];
            uint64_t v;
            long vlen;
            if (seen || !eq || (size_t)(p + n - eq - 1) >= sizeof buf)
                return false;
            vlen = srv_percent_decode(buf, eq + 1, (size_t)(p + n - eq - 1));
            if (vlen < 0 || !srv_parse_id(&v, buf, (size_t)vlen) || v > max)
                return false;
            *out = v;
            seen = true;
        }
        p += n;
        if (*p == '&')
            p++;
    }
    return true;
}

bool srv_parse_page(uint64_t *page, const char *query)
{
    *page = 1;
    return query_number(page, query, "page", JOBS_ID_MAX);
}

bool srv_parse_pagesize(uint32_t *size, const char *query)
{
    uint64_t v = 0;
    bool ok = query_number(&v, query, "pagesize", 100);

    *size = (uint32_t)v;
    return ok;
}

/* s[0..len) decoded as a form field: percent-escapes, and '+' as a space. */
static long form_decode(char *out, const char *s, size_t len)
{
    size_t o = 0;

    for (size_t i = 0; i < len; i++) {
        if (s[i] == '%') {
            int hi = i + 2 < len ? hexval(s[i + 1]) : -1, lo = i + 2 < len ? hexval(s[i + 2]) : -1;
            if (hi < 0 || lo < 0)
                return -1;
            out[o++] = (char)(hi * 16 + lo);
            i += 2;
        } else {
            out[o++] = s[i] == '+' ? ' ' : s[i];
        }
    }
    out[o] = '\0';
    return (long)o;
}

int srv_form_next(size_t *pos, const char *s, size_t len, char **buf, const char **name,
                  size_t *name_len, const char **value, size_t *value_len)
{
    while (*pos < len && s[*pos] == '&')
        (*pos)++;
    if (*pos >= len)
        return 0;
    {
        const char *p = s + *pos, *amp = memchr(p, '&', len - *pos);
        size_t n = amp ? (size_t)(amp - p) : len - *pos;
        const char *eq = memchr(p, '=', n);
        size_t klen = eq ? (size_t)(eq - p) : n;
        long a, b;

        *pos += n;
        /* A part decodes into no more bytes than it has, plus its NUL: name '\0' value '\0'
         * fits in "name=value" and the '&' after it (or the last byte of room). */
        if ((a = form_decode(*buf, p, klen)) < 0)
            return -1;
        *name = *buf;
        *name_len = (size_t)a;
        *buf += a + 1;
        if (!eq) {
            *value = "";
            *value_len = 0;
            return 1;
        }
        if ((b = form_decode(*buf, eq + 1, n - klen - 1)) < 0)
            return -1;
        *value = *buf;
        *value_len = (size_t)b;
        *buf += b + 1;
        return 1;
    }
}

/* An etagc of RFC 9110 8.8.3: %x21 / %x23-7E / obs-text (%x80-FF). */
static bool is_etagc(unsigned char c)
{
    return c == 0x21 || (c >= 0x23 && c != 0x7f);
}

bool srv_parse_if_match(bool *any, uint64_t *tags, size_t *n, const char *value)
{
    const char *p = value;
    size_t named = 0, empty = 0; /* tags of any form; empty list elements */

    *any = false;
    *n = 0;
    while (*p == ' ' || *p == '\t')
        p++;
    if (*p == '*') {
        for (p++; *p == ' ' || *p == '\t'; p++)
            ;
        *any = true;
        return *p == '\0';
    }
    /* p is at a list element, past the spaces before it. */
    for (;;) {
        bool weak = strncmp(p, "W/", 2) == 0, ours = !weak;
        const char *q = weak ? p + 2 : p, *end;
        uint64_t tag = 0;

        /* An empty element (`"a", , "b"`, a leading or a trailing comma) is ignored, as RFC
         * 9110 5.6.1.2 asks, but only a few of them: they name nothing, so a value of commas
         * is refused after SRV_IF_MATCH_EMPTY_MAX of them rather than read to its end, and one
         * of nothing else is no list of tags. */
        if (*p == ',' || *p == '\0') {
            if (++empty > SRV_IF_MATCH_EMPTY_MAX)
                return false;
            if (*p == '\0')
                return named > 0;
            for (p++; *p == ' ' || *p == '\t'; p++)
                ;
            continue;
        }
        named++;
        if (*q != '"')
            return false;
        for (end = q + 1; *end != '"'; end++)
            if (!is_etagc((unsigned char)*end))
                return false; /* also the end of the string: no closing quote */
        /* A well-formed tag in another format cannot be one the server gave: it never
         * matches (412), like a weak one, rather than being refused. */
        if (end - q - 1 != 16)
            ours = false;
        for (const char *h = q + 1; ours && h < end; h++) {
            int d = *h >= '0' && *h <= '9' ? *h - '0' : *h >= 'a' && *h <= 'f' ? *h - 'a' + 10 : -1;
            if (d < 0)
                ours = false;
            tag = tag << 4 | (uint64_t)(d < 0 ? 0 : d);
        }
        if (ours) {
            if (*n == SRV_IF_MATCH_MAX)
                return false;
            tags[(*n)++] = tag;
        }
        for (p = end + 1; *p == ' ' || *p == '\t'; p++)
            ;
        if (*p == '\0')
            return true;
        if (*p != ',')
            return false;
        for (p++; *p == ' ' || *p == '\t'; p++)
            ;
    }
}

/* ---- authentication ------------------------------------------------------------------------ */

const char *srv_find_cookie_token(size_t *len, const char *cookie)
{
    for (const char *p = cookie; p && *p;) {
        while (*p == ' ' || *p == ';')
            p++;
        if (strncmp(p, "auth_tkt=", 9) == 0) {
            size_t n;

            p += 9;
            n = strcspn(p, ";");
            while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
                n--;
            *len = n;
            return p;
        }
        p += strcspn(p, ";");
    }
    return NULL;
}

/* A character of a token (RFC 9110 5.6.2), which an authentication scheme is. */
static bool tchar(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* A character of RFC 6750's b64token, but its trailing '='s. */
static bool b64token_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/';
}

srv_bearer srv_find_bearer(const char **token, size_t *len, const char *authorization)
{
    const char *p = authorization, *t;
    size_t n;

    *token = NULL;
    *len = 0;
    if (!p)
        return SRV_BEARER_NONE;
    /* The scheme is a token, its case does not count (RFC 9110 11.1): "Bearertok" or
     * "Bearer-x" is another scheme, but "Bearer:tok" or "Bearer" alone is this one, malformed. */
    if (strncasecmp(p, "Bearer", 6) != 0 || tchar(p[6]))
        return SRV_BEARER_NONE;
    p += 6;
    if (*p != ' ')
        return SRV_BEARER_MALFORMED;
    p += strspn(p, " ");
    t = p;
    while (b64token_char(*p))
        p++;
    if (p == t)
        return SRV_BEARER_MALFORMED;
    p += strspn(p, "=");
    n = (size_t)(p - t);
    if (p[strspn(p, " \t")] != '\0')
        return SRV_BEARER_MALFORMED;
    *token = t;
    *len = n;
    return SRV_BEARER_TOKEN;
}

/* ---- routing ------------------------------------------------------------------------------- */

static bool match_prefix(const char **rest, const char *path, const char *prefix)
{
    size_t n = strlen(prefix);

    if (strncmp(path, prefix, n) != 0)
        return false;
    *rest = path + n;
    return true;
}

static srv_route resolve(const char *path)
{
    srv_route r = {SRV_ROUTE_NONE, SRV_KIND_JOBS, NULL, 0, false};
    const char *rest;

    if (strcmp(path, "/authenticate") == 0) {
        r.t = SRV_ROUTE_AUTHENTICATE;
        return r;
    }
    if (strcmp(path, "/logout") == 0) {
        r.t = SRV_ROUTE_LOGOUT;
        return r;
    }
    if (strcmp(path, "/healthz") == 0) {
        r.t = SRV_ROUTE_HEALTH;
        return r;
    }
    if (strcmp(path, "/metrics") == 0) {
        r.t = SRV_ROUTE_METRICS;
        return r;
    }
    /* The console: "/" is its page (no arg), "/ui/<file>" one of its files (one segment;
     * whether such a file exists is static.c's to say). */
    if (strcmp(path, "/") == 0) {
        r.t = SRV_ROUTE_CONSOLE;
        return r;
    }
    if (match_prefix(&rest, path, "/ui/")) {
        if (!strchr(rest, '/')) {
            r.t = SRV_ROUTE_CONSOLE;
            r.arg = rest;
            r.arg_len = strlen(rest);
        }
        return r;
    }
    for (int k = SRV_KIND_JOBS; k <= SRV_KIND_STACKS; k++) {
        const char *after;
        if (!match_prefix(&after, path, srv_kind_path[k]))
            continue;
        r.k = (srv_kind)k;
        if (*after == '\0') {
            r.t = SRV_ROUTE_COLLECTION;
        } else if (match_prefix(&rest, after, "/byid/")) {
            r.t = SRV_ROUTE_BYID;
        } else if (k != SRV_KIND_SCHEDULES && match_prefix(&rest, after, "/byname/")) {
            r.t = SRV_ROUTE_BYNAME;
        } else if (k == SRV_KIND_STACKS && match_prefix(&rest, after, "/hook/token_refresh/")) {
            r.t = SRV_ROUTE_HOOK_TOKEN;
        } else if (k == SRV_KIND_STACKS && match_prefix(&rest, after, "/hook/")) {
            r.t = SRV_ROUTE_HOOK;
        } else if (k == SRV_KIND_STACKS && match_prefix(&rest, after, "/exec/")) {
            r.t = SRV_ROUTE_EXEC;
        } else if (k != SRV_KIND_SCHEDULES && after[0] == '/' &&
                   (rest = strchr(after + 1, '/')) &&
                   (strcmp(rest, "/runs") == 0 || (k == SRV_KIND_JOBS && strcmp(rest, "/run") == 0))) {
            /* /jobs/<id>/runs, /jobs/<id>/run and /blockstacks/<id>/runs: the id is the
             * segment between. */
            r.t = rest[4] == 's' ? SRV_ROUTE_RUNS : SRV_ROUTE_RUN_NOW;
            r.arg = after + 1;
            r.arg_len = (size_t)(rest - after - 1);
            return r;
        } else if (after[0] == '/' && after[1] != '\0' &&
                   !strchr(after + 1, '/')) {
            r.t = SRV_ROUTE_ITEM;
            rest = after + 1;
        } else {
            return r;
        }
        if (r.t != SRV_ROUTE_COLLECTION) {
            if (r.t != SRV_ROUTE_BYNAME && strchr(rest, '/')) {
                r.t = SRV_ROUTE_NONE;
                return r;
            }
            r.arg = rest;
            r.arg_len = strlen(rest);
        }
        return r;
    }
    return r;
}

srv_route srv_route_resolve(const char *path)
{
    size_t n = sizeof SRV_KRAGLE_PREFIX - 1;
    srv_route r;

    if (strncmp(path, SRV_KRAGLE_PREFIX, n) != 0 || path[n] != '/')
        return resolve(path);
    r = resolve(path + n);
    /* The original's overview names POST /login beside POST /authenticate. */
    if (r.t == SRV_ROUTE_NONE && strcmp(path + n, "/login") == 0)
        r.t = SRV_ROUTE_AUTHENTICATE;
    /* The console is not part of the original's API, and neither are the operator's routes:
     * /healthz and /metrics are to stay behind the network boundary, and a reverse proxy that
     * forwards /api/v1/ to Kragle clients would otherwise expose them there. */
    if (r.t == SRV_ROUTE_CONSOLE || r.t == SRV_ROUTE_HEALTH || r.t == SRV_ROUTE_METRICS) {
        r.t = SRV_ROUTE_NONE;
        r.arg = NULL;
        r.arg_len = 0;
    }
    r.kragle = true;
    return r;
}

const char *srv_route_allowed(const srv_route *r)
{
    switch (r->t) {
    case SRV_ROUTE_AUTHENTICATE:
    case SRV_ROUTE_LOGOUT: return "POST";
    case SRV_ROUTE_COLLECTION: return "GET, POST";
    case SRV_ROUTE_BYID:
    case SRV_ROUTE_BYNAME: return "GET";
    case SRV_ROUTE_ITEM: return r->k == SRV_KIND_STACKS ? "PUT" : "PUT, DELETE";
    case SRV_ROUTE_HEALTH:
    case SRV_ROUTE_METRICS: return "GET, HEAD";
    case SRV_ROUTE_RUNS: return "GET";
    case SRV_ROUTE_RUN_NOW: return "POST";
    case SRV_ROUTE_HOOK: return "GET, POST";
    case SRV_ROUTE_HOOK_TOKEN:
    case SRV_ROUTE_EXEC: return "GET";
    case SRV_ROUTE_CONSOLE: return "GET, HEAD";
    default: return "";
    }
}

/* Indexed by srv_route_index(). */
static const char *const route_templates[SRV_ROUTE_TEMPLATES] = {
    "other",
    "/authenticate",
    "/logout",
    "/jobs",
    "/jobs/byid/{id}",
    "/jobs/byname/{name}",
    "/jobs/{id}",
    "/schedules",
    "/schedules/byid/{id}",
    "/schedules/{id}",
    "/blockstacks",
    "/blockstacks/byid/{id}",
    "/healthz",
    "/metrics",
    "/blockstacks/byname/{name}",
    "/blockstacks/{id}",
    "/jobs/{id}/runs",
    "/jobs/{id}/run",
    "/blockstacks/{id}/runs",
    "/blockstacks/hook/{id}",
    "/blockstacks/hook/token_refresh/{id}",
    "/",
    "/ui/{file}",
    "/blockstacks/exec/{id}",
};

unsigned srv_route_index(const srv_route *r)
{
    /* The first index of each kind's resource routes: collection, byid, then byname/item. */
    static const unsigned kind_base[3] = {3, 7, 10};
    unsigned base = kind_base[r->k];

    switch (r->t) {
    case SRV_ROUTE_AUTHENTICATE: return 1;
    case SRV_ROUTE_LOGOUT: return 2;
    case SRV_ROUTE_COLLECTION: return base;
    case SRV_ROUTE_BYID: return base + 1;
    case SRV_ROUTE_BYNAME: return r->k == SRV_KIND_JOBS ? 5 : 14;
    case SRV_ROUTE_ITEM: return r->k == SRV_KIND_JOBS ? 6 : r->k == SRV_KIND_SCHEDULES ? 9 : 15;
    case SRV_ROUTE_HEALTH: return 12;
    case SRV_ROUTE_METRICS: return 13;
    case SRV_ROUTE_RUNS: return r->k == SRV_KIND_STACKS ? 18 : 16;
    case SRV_ROUTE_RUN_NOW: return 17;
    case SRV_ROUTE_HOOK: return 19;
    case SRV_ROUTE_HOOK_TOKEN: return 20;
    case SRV_ROUTE_CONSOLE: return r->arg ? 22 : 21;
    case SRV_ROUTE_EXEC: return 23;
    default: return 0;
    }
}

const char *srv_route_template(unsigned index)
{
    return index < SRV_ROUTE_TEMPLATES ? route_templates[index] : route_templates[0];
}

bool srv_route_method_allowed(const srv_route *r, const char *method)
{
    const char *p = srv_route_allowed(r);
    size_t n = strlen(method);

    /* Whole entries of the list only. (A strstr() walk looped forever on an empty method, which
     * it finds everywhere without advancing, and took "GET, POST" for a method.) */
    while (*p) {
        size_t k = strcspn(p, ",");
        if (k == n && memcmp(p, method, n) == 0)
            return true;
        p += k;
        while (*p == ',' || *p == ' ')
            p++;
    }
    return false;
}
