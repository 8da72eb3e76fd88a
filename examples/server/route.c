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

bool srv_parse_page(uint64_t *page, const char *query)
{
    const char *p = query;
    bool seen = false;

    *page = 1;
    while (p && *p) {
        size_t n = strcspn(p, "&");
        const char *eq = memchr(p, '=', n);
        size_t klen = eq ? (size_t)(eq - p) : n;

        if (klen == 4 && memcmp(p, "page", 4) == 0) {
            char buf[64];
            long vlen;
            if (seen || !eq || (size_t)(p + n - eq - 1) >= sizeof buf)
                return false;
            vlen = srv_percent_decode(buf, eq + 1, (size_t)(p + n - eq - 1));
            if (vlen < 0 || !srv_parse_id(page, buf, (size_t)vlen))
                return false;
            seen = true;
        }
        p += n;
        if (*p == '&')
            p++;
    }
    return true;
}

/* ---- authentication ------------------------------------------------------------------------ */

const char *srv_find_token(size_t *len, const char *cookie, const char *authorization)
{
    if (cookie) {
        const char *p = cookie;
        while (*p) {
            while (*p == ' ' || *p == ';')
                p++;
            if (strncmp(p, "auth_tkt=", 9) == 0) {
                p += 9;
                *len = strcspn(p, "; ");
                return p;
            }
            p += strcspn(p, ";");
        }
    }
    if (authorization && strncasecmp(authorization, "Bearer ", 7) == 0) {
        const char *p = authorization + 7;
        while (*p == ' ')
            p++;
        *len = strcspn(p, " ");
        return p;
    }
    return NULL;
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

srv_route srv_route_resolve(const char *path)
{
    srv_route r = {SRV_ROUTE_NONE, SRV_KIND_JOBS, NULL, 0};
    const char *rest;

    if (strcmp(path, "/authenticate") == 0) {
        r.t = SRV_ROUTE_AUTHENTICATE;
        return r;
    }
    if (strcmp(path, "/logout") == 0) {
        r.t = SRV_ROUTE_LOGOUT;
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
        } else if (k == SRV_KIND_JOBS && match_prefix(&rest, after, "/byname/")) {
            r.t = SRV_ROUTE_BYNAME;
        } else if (k != SRV_KIND_STACKS && after[0] == '/' && after[1] != '\0' &&
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

const char *srv_route_allowed(const srv_route *r)
{
    switch (r->t) {
    case SRV_ROUTE_AUTHENTICATE:
    case SRV_ROUTE_LOGOUT: return "POST";
    case SRV_ROUTE_COLLECTION: return "GET, POST";
    case SRV_ROUTE_BYID:
    case SRV_ROUTE_BYNAME: return "GET";
    case SRV_ROUTE_ITEM: return r->k == SRV_KIND_JOBS ? "PUT, DELETE" : "PUT";
    default: return "";
    }
}

bool srv_route_method_allowed(const srv_route *r, const char *method)
{
    const char *a = srv_route_allowed(r);
    size_t n = strlen(method);

    for (const char *p = a; (p = strstr(p, method)) != NULL; p += n)
        if ((p == a || p[-1] == ' ') && (p[n] == '\0' || p[n] == ','))
            return true;
    return false;
}
