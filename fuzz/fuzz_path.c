/* fuzz_path: the request parsers of jobs-server (examples/server/route.c): route matching and
 * route templates, ids in paths, the `page` and `pagesize` query parameters, percent-decoding,
 * the session token of the Cookie and Authorization headers (a malformed bearer header told
 * apart), If-Match, and the method check;
 * srv_form_next() (a webhook's query and form body) on the query and on the whole input.
 *
 * Input: up to four fields separated by '\n' (a byte no request line or header holds):
 *   path[?query] \n method \n cookie \n authorization
 * (the authorization field is also parsed as an If-Match value). Each parser is compared with a
 * small reference written from docs/http-api.md in a different shape from the code: path
 * segments rather than prefixes, list entries rather than substrings, a POSIX regular
 * expression for If-Match. */
#include "fuzz.h"

#include <ctype.h>
#include <regex.h>
#include <string.h>
#include <strings.h>

#include <jobs.h>

#include "route.h"

/* ---- references ---------------------------------------------------------------------------- */

/* Ids: decimal digits only, 1..2^53-1, at most 20 characters (so leading zeros are allowed, but
 * not without bound; a longer id is refused even when its value is in range). */
static bool ref_id(uint64_t *out, const char *s, size_t len)
{
    uint64_t v = 0;
    bool big = false;

    if (len == 0 || len > 20)
        return false;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        if (!big && (v = v * 10 + (uint64_t)(s[i] - '0')) > JOBS_ID_MAX)
            big = true;
    }
    if (big || v == 0)
        return false;
    *out = v;
    return true;
}

static int ref_hex(unsigned char c)
{
    static const char digits[] = "0123456789abcdef";

    return isxdigit(c) ? (int)(strchr(digits, tolower(c)) - digits) : -1;
}

/* Percent-decoding: every '%' starts exactly two hex digits; '+' is not a space. */
static long ref_decode(char *out, const char *s, size_t len)
{
    size_t o = 0, i = 0;

    while (i < len) {
        if (s[i] != '%') {
            out[o++] = s[i++];
            continue;
        }
        if (len - i < 3 || ref_hex((unsigned char)s[i + 1]) < 0 ||
            ref_hex((unsigned char)s[i + 2]) < 0)
            return -1;
        out[o++] = (char)(ref_hex((unsigned char)s[i + 1]) << 4 | ref_hex((unsigned char)s[i + 2]));
        i += 3;
    }
    out[o] = '\0';
    return (long)o;
}

/* A numeric query parameter (`page`, `pagesize`): the query is '&'-separated pairs; a pair
 * whose name (up to its first '=') percent-decodes to exactly `key` (`p%61ge`; a name with a
 * malformed escape is no key) must have '=' and a value that percent-decodes (in at most 63 raw
 * bytes) to an id of at most `max`; at most one such pair. Without one, *v is left alone. Other
 * pairs are ignored whatever they hold. */
static bool ref_number(uint64_t *v, const char *query, const char *key, uint64_t max)
{
    size_t k = strlen(key);
    int seen = 0;

    for (const char *p = query; p;) {
        const char *amp = strchr(p, '&');
        size_t n = amp ? (size_t)(amp - p) : strlen(p);
        const char *eq = memchr(p, '=', n);
        size_t nl = eq ? (size_t)(eq - p) : n;
        char *name = malloc(nl + 1);
        long dl;
        bool is_key;

        FUZZ_CHECK(name != NULL);
        dl = ref_decode(name, p, nl);
        is_key = dl == (long)k && memcmp(name, key, k) == 0;
        free(name);
        if (is_key) {
            char buf[64];
            uint64_t x;
            long vlen;

            if (seen++ || !eq || n - nl - 1 > 63)
                return false;
            vlen = ref_decode(buf, eq + 1, n - nl - 1);
            if (vlen < 0 || !ref_id(&x, buf, (size_t)vlen) || x > max)
                return false;
            *v = x;
        }
        p = amp ? amp + 1 : NULL;
    }
    return true;
}

/* If-Match, by a POSIX regular expression of the grammar docs/http-api.md gives: `*`, or a list
 * of strong tags ("<16 lower-case hex digits>") and weak ones (W/"..."), separated by commas,
 * with optional spaces and tabs around every element, where empty elements (a comma after a
 * comma, a leading or a trailing one) are allowed but at least one tag is there; then, counted
 * on the matched value, at most SRV_IF_MATCH_EMPTY_MAX empty elements (the elements are one
 * more than the commas outside the quotes, and each one that is not a quoted tag is empty) and
 * at most SRV_IF_MATCH_MAX strong tags, which are the answer in order. */
static regex_t if_match_re;

static void ref_if_match_init(void)
{
    /* RFC 9110 8.8.3: etagc is %x21 / %x23-7E / obs-text, i.e. no control, space, '"', DEL. */
    static const char elem[] = "(W/)?\"[^\"\x01-\x20\x7f]*\"";
    char re[256];

    snprintf(re, sizeof re, "^[ \t]*(\\*[ \t]*|[ \t,]*%s([ \t]*,[ \t,]*%s)*[ \t,]*)$", elem,
             elem);
    FUZZ_CHECK(regcomp(&if_match_re, re, REG_EXTENDED | REG_NOSUB) == 0);
}

static bool ref_if_match(bool *any, uint64_t *tags, size_t *n, const char *value)
{
    const char *p = value, *from = value;
    size_t elements = 1, named = 0;

    *any = false;
    *n = 0;
    if (regexec(&if_match_re, value, 0, NULL, 0) != 0)
        return false;
    p += strspn(p, " \t");
    if (*p == '*') {
        *any = true;
        return true;
    }
    /* The grammar holds, so the quoted strings are the tags, each weak one after a "W/", and
     * every comma between them separates two elements. */
    while ((p = strchr(p, '"')) != NULL) {
        const char *close = strchr(p + 1, '"');
        bool ours = close - p - 1 == 16 && strspn(p + 1, "0123456789abcdef") >= 16;

        for (const char *c = from; c < p; c++)
            elements += *c == ',';
        named++;
        if (ours && (p - value < 2 || strncmp(p - 2, "W/", 2) != 0)) {
            if (*n == SRV_IF_MATCH_MAX)
                return false;
            tags[(*n)++] = strtoull(p + 1, NULL, 16);
        }
        p = from = close + 1;
    }
    for (const char *c = from; *c; c++)
        elements += *c == ',';
    return elements - named <= SRV_IF_MATCH_EMPTY_MAX;
}

/* The auth_tkt cookie: the Cookie header is ';'-separated; the first pair that, after leading
 * spaces, starts with "auth_tkt=" gives the token: the rest of the pair without its trailing
 * spaces and tabs. */
static const char *ref_cookie_token(size_t *len, const char *cookie)
{
    for (const char *p = cookie; p && *p;) {
        const char *semi = strchr(p, ';');
        size_t n = semi ? (size_t)(semi - p) : strlen(p);
        size_t sp = 0;

        while (sp < n && p[sp] == ' ')
            sp++;
        if (n - sp >= 9 && memcmp(p + sp, "auth_tkt=", 9) == 0) {
            const char *t = p + sp + 9;
            size_t k = n - sp - 9;
            while (k > 0 && (t[k - 1] == ' ' || t[k - 1] == '\t'))
                k--;
            *len = k;
            return t;
        }
        if (!semi)
            break;
        p = semi + 1;
    }
    return NULL;
}

/* The bearer token (RFC 6750 2.1) as a regular expression: "Bearer" in any case, spaces, a
 * b64token, optional blanks. A header that starts with "Bearer" and a character that cannot
 * go on a token (RFC 9110 5.6.2: a blank, ':', '"', the end) but does not match is malformed;
 * any other is of another scheme, no bearer token. */
static regex_t bearer_re;

static void ref_bearer_init(void)
{
    FUZZ_CHECK(regcomp(&bearer_re, "^[Bb][Ee][Aa][Rr][Ee][Rr] +([A-Za-z0-9._~+/-]+=*)[ \t]*$",
                       REG_EXTENDED) == 0);
}

static srv_bearer ref_bearer(const char **token, size_t *len, const char *authorization)
{
    regmatch_t m[2];

    if (!authorization || strlen(authorization) < 6 ||
        strncasecmp(authorization, "bearer", 6) != 0 ||
        (authorization[6] && (isalnum((unsigned char)authorization[6]) ||
                              strchr("!#$%&'*+-.^_`|~", authorization[6]))))
        return SRV_BEARER_NONE;
    if (regexec(&bearer_re, authorization, 2, m, 0) != 0)
        return SRV_BEARER_MALFORMED;
    *token = authorization + m[1].rm_so;
    *len = (size_t)(m[1].rm_eo - m[1].rm_so);
    return SRV_BEARER_TOKEN;
}

/* Routes, by path segments: /authenticate, /logout, /healthz, /metrics, /<kind>, /<kind>/byid/<x>,
 * /<jobs|blockstacks>/byname/<anything>, /<kind>/<x>; <x> is one segment (possibly empty for
 * byid, never for the item route), and the name of byname may hold '/'. */
static srv_route ref_route_plain(const char *path)
{
    static const char *const kinds[] = {"jobs", "schedules", "blockstacks"};
    srv_route r = {SRV_ROUTE_NONE, SRV_KIND_JOBS, NULL, 0, false};
    const char *seg, *slash;
    size_t n;
    int k;

    static const struct {
        const char *path;
        srv_target t;
    } fixed[] = {{"/authenticate", SRV_ROUTE_AUTHENTICATE}, {"/logout", SRV_ROUTE_LOGOUT},
                 {"/healthz", SRV_ROUTE_HEALTH}, {"/metrics", SRV_ROUTE_METRICS}};

    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
        if (strcmp(path, fixed[i].path) == 0) {
            r.t = fixed[i].t;
            return r;
        }
    /* The console: "/" (no argument), "/ui/<one segment, possibly empty>". */
    if (strcmp(path, "/") == 0) {
        r.t = SRV_ROUTE_CONSOLE;
        return r;
    }
    if (strncmp(path, "/ui/", 4) == 0) {
        if (!strchr(path + 4, '/')) {
            r.t = SRV_ROUTE_CONSOLE;
            r.arg = path + 4;
            r.arg_len = strlen(r.arg);
        }
        return r;
    }
    if (path[0] != '/')
        return r;
    seg = path + 1;
    slash = strchr(seg, '/');
    n = slash ? (size_t)(slash - seg) : strlen(seg);
    for (k = 0; k < 3; k++)
        if (strlen(kinds[k]) == n && memcmp(seg, kinds[k], n) == 0)
            break;
    if (k == 3)
        return r;
    r.k = (srv_kind)k;
    if (!slash) {
        r.t = SRV_ROUTE_COLLECTION;
        return r;
    }
    seg = slash + 1; /* the second segment and what follows */
    slash = strchr(seg, '/');
    if (k == SRV_KIND_STACKS && strncmp(seg, "hook/token_refresh/", 19) == 0) {
        if (strchr(seg + 19, '/'))
            return r;
        r.t = SRV_ROUTE_HOOK_TOKEN;
        r.arg = seg + 19;
    } else if (k == SRV_KIND_STACKS && strncmp(seg, "hook/", 5) == 0) {
        if (strchr(seg + 5, '/'))
            return r;
        r.t = SRV_ROUTE_HOOK;
        r.arg = seg + 5;
    } else if (k == SRV_KIND_STACKS && strncmp(seg, "exec/", 5) == 0) {
        if (strchr(seg + 5, '/'))
            return r;
        r.t = SRV_ROUTE_EXEC;
        r.arg = seg + 5;
    } else if (strncmp(seg, "byid/", 5) != 0 &&
               !(k != SRV_KIND_SCHEDULES && strncmp(seg, "byname/", 7) == 0) &&
               k != SRV_KIND_SCHEDULES && slash &&
               (strcmp(slash, "/runs") == 0 || (k == SRV_KIND_JOBS && strcmp(slash, "/run") == 0))) {
        /* /<jobs|blockstacks>/<x>/runs, /jobs/<x>/run: the argument is the middle segment */
        r.t = strcmp(slash, "/runs") == 0 ? SRV_ROUTE_RUNS : SRV_ROUTE_RUN_NOW;
        r.arg = seg;
        r.arg_len = (size_t)(slash - seg);
        return r;
    } else if (strncmp(seg, "byid/", 5) == 0) {
        if (strchr(seg + 5, '/'))
            return r;
        r.t = SRV_ROUTE_BYID;
        r.arg = seg + 5;
    } else if (k != SRV_KIND_SCHEDULES && strncmp(seg, "byname/", 7) == 0) {
        r.t = SRV_ROUTE_BYNAME;
        r.arg = seg + 7;
    } else if (seg[0] && !strchr(seg, '/')) {
        r.t = SRV_ROUTE_ITEM;
        r.arg = seg;
    } else {
        return r;
    }
    r.arg_len = strlen(r.arg);
    return r;
}

/* Whether `method` is one of the comma-and-space-separated tokens of `list`. */
static bool ref_method(const char *list, const char *method)
{
    size_t n = strlen(method);

    while (*list) {
        size_t k = strcspn(list, ",");
        if (k == n && memcmp(list, method, n) == 0)
            return true;
        list += k;
        while (*list == ',' || *list == ' ')
            list++;
    }
    return false;
}

/* ---- the target ---------------------------------------------------------------------------- */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    ref_if_match_init();
    ref_bearer_init();
    return 0;
}

/* The next '\n'-separated field of [*p, end) as a new NUL-terminated string; NULL when the
 * input has no more fields (*p is NULL after the last one). A NUL byte inside a field ends its
 * C string there, as it would in civetweb. */
static char *field(const uint8_t **p, const uint8_t *end)
{
    const uint8_t *nl;
    size_t n;
    char *s;

    if (!*p)
        return NULL;
    nl = memchr(*p, '\n', (size_t)(end - *p));
    n = nl ? (size_t)(nl - *p) : (size_t)(end - *p);
    FUZZ_CHECK((s = malloc(n + 1)) != NULL);
    memcpy(s, *p, n);
    s[n] = '\0';
    *p = nl ? nl + 1 : NULL;
    return s;
}

/* Under "/api/v1/" (taken once): the route of the rest, flagged, with "/login" a login too. */
static srv_route ref_route(const char *path)
{
    srv_route r;

    if (strncmp(path, "/api/v1/", 8) != 0)
        return ref_route_plain(path);
    r = ref_route_plain(path + 7);
    if (r.t == SRV_ROUTE_NONE && strcmp(path + 7, "/login") == 0)
        r.t = SRV_ROUTE_AUTHENTICATE;
    /* not part of the profile: the console and the operator's routes */
    if (r.t == SRV_ROUTE_CONSOLE || r.t == SRV_ROUTE_HEALTH || r.t == SRV_ROUTE_METRICS)
        r = (srv_route){SRV_ROUTE_NONE, SRV_KIND_JOBS, NULL, 0, false};
    r.kragle = true;
    return r;
}

static void check_route(const char *path)
{
    srv_route r = srv_route_resolve(path), ref = ref_route(path);

    FUZZ_CHECK(r.t == ref.t && r.kragle == ref.kragle);
    if (r.t == SRV_ROUTE_NONE)
        return;
    FUZZ_CHECK(r.k == ref.k || r.t == SRV_ROUTE_AUTHENTICATE || r.t == SRV_ROUTE_LOGOUT ||
               r.t == SRV_ROUTE_HEALTH || r.t == SRV_ROUTE_METRICS || r.t == SRV_ROUTE_CONSOLE);
    FUZZ_CHECK(r.arg == ref.arg && r.arg_len == ref.arg_len);
    /* The argument ends the path, but for the runs routes, where "/runs" or "/run" follows. */
    if (r.arg)
        FUZZ_CHECK(r.arg > path && (r.arg + r.arg_len == path + strlen(path) ||
                                    ((r.t == SRV_ROUTE_RUNS || r.t == SRV_ROUTE_RUN_NOW) &&
                                     r.arg[r.arg_len] == '/')));
}

/* The route's template, with its {id} or {name} replaced by the argument, is the path. */
static void check_template(const char *path)
{
    srv_route r = srv_route_resolve(path);
    unsigned index = srv_route_index(&r);
    const char *t = srv_route_template(index), *brace;
    size_t n;

    FUZZ_CHECK(index < SRV_ROUTE_TEMPLATES);
    FUZZ_CHECK((index == 0) == (r.t == SRV_ROUTE_NONE));
    FUZZ_CHECK(strcmp(srv_route_template(SRV_ROUTE_TEMPLATES), "other") == 0);
    if (index == 0) {
        FUZZ_CHECK(strcmp(t, "other") == 0);
        return;
    }
    /* Under /api/v1 the template is that of the path after the prefix (metrics and the access
     * log count both profiles' requests under one route); /api/v1/login is /authenticate. */
    if (r.kragle)
        path += 7;
    if (!(brace = strchr(t, '{'))) {
        FUZZ_CHECK((strcmp(t, path) == 0 || (r.kragle && strcmp(path, "/login") == 0 &&
                                             r.t == SRV_ROUTE_AUTHENTICATE)) &&
                   r.arg == NULL);
        return;
    }
    n = (size_t)(brace - t);
    FUZZ_CHECK(r.arg != NULL && strncmp(path, t, n) == 0 && path + n == r.arg);
    FUZZ_CHECK(strcmp(strchr(brace, '}') + 1, r.arg + r.arg_len) == 0);
}

static void check_id(const char *s, size_t len)
{
    uint64_t a = 0, b = 0;
    bool ok = srv_parse_id(&a, s, len);

    FUZZ_CHECK(ok == ref_id(&b, s, len));
    FUZZ_CHECK(!ok || (a == b && a >= 1 && a <= JOBS_ID_MAX));
}

static void check_decode(const char *s, size_t len)
{
    char *a = malloc(len + 1), *b = malloc(len + 1);
    long na, nb;

    FUZZ_CHECK(a && b);
    na = srv_percent_decode(a, s, len);
    nb = ref_decode(b, s, len);
    FUZZ_CHECK(na == nb);
    FUZZ_CHECK(na < 0 || ((size_t)na <= len && memcmp(a, b, (size_t)na + 1) == 0));
    free(a);
    free(b);
}

static void check_query(const char *query)
{
    uint64_t a = 0, b = 1;
    uint32_t size = 7;
    bool ok = srv_parse_page(&a, query);

    FUZZ_CHECK(ok == ref_number(&b, query, "page", JOBS_ID_MAX));
    FUZZ_CHECK(!ok || (a == b && a >= 1 && a <= JOBS_ID_MAX));
    b = 0;
    ok = srv_parse_pagesize(&size, query);
    FUZZ_CHECK(ok == ref_number(&b, query, "pagesize", 100));
    FUZZ_CHECK(!ok || (size == b && size <= 100));
}

static void check_if_match(const char *value)
{
    uint64_t a[SRV_IF_MATCH_MAX], b[SRV_IF_MATCH_MAX];
    size_t na, nb;
    bool any_a, any_b;
    bool ok = srv_parse_if_match(&any_a, a, &na, value);

    FUZZ_CHECK(ok == ref_if_match(&any_b, b, &nb, value));
    if (ok) {
        FUZZ_CHECK(any_a == any_b && na == nb && na <= SRV_IF_MATCH_MAX);
        FUZZ_CHECK(na == 0 || memcmp(a, b, na * sizeof a[0]) == 0);
    }
}

static void check_token(const char *cookie, const char *authorization)
{
    size_t la = 0, lb = 0;
    const char *a = srv_find_cookie_token(&la, cookie);
    const char *b = ref_cookie_token(&lb, cookie);
    srv_bearer ba, bb;

    FUZZ_CHECK(a == b && (!a || la == lb));
    a = b = NULL;
    la = lb = 0;
    ba = srv_find_bearer(&a, &la, authorization);
    bb = ref_bearer(&b, &lb, authorization);
    FUZZ_CHECK(ba == bb && a == b && la == lb);
    FUZZ_CHECK(ba == SRV_BEARER_TOKEN ? a != NULL && la > 0 : a == NULL && la == 0);
}

static void check_method(const char *path, const char *method)
{
    srv_route r = srv_route_resolve(path);

    FUZZ_CHECK(srv_route_method_allowed(&r, method) == ref_method(srv_route_allowed(&r), method));
}

/* srv_form_next() (a webhook's query and form body) against a reference: '&'-separated parts,
 * empty ones skipped; a part's name up to its first '=' and its value after it ("" without
 * '='), each percent-decoded with '+' as a space; a malformed escape in any part ends the walk
 * with -1 there. The output buffer is exactly len + 1 bytes, as the API allows, so that a write
 * past it is caught. */
static void check_form(const char *s, size_t len)
{
    char *buf = malloc(len + 1), *at = buf, *ref = malloc(len + 1), *raw = malloc(len + 1);
    const char *name, *value;
    size_t pos = 0, nl, vl;
    int got;

    FUZZ_CHECK(buf != NULL && ref != NULL && raw != NULL);
    /* '+' is a space: replacing it first decodes as replacing it in the raw text only ("%2B"
     * stays '+'), since no '%' or hex digit comes of it. */
    for (size_t i = 0; i < len; i++)
        raw[i] = s[i] == '+' ? ' ' : s[i];
    for (size_t i = 0; i <= len; i++) {
        const char *amp = i < len ? memchr(s + i, '&', len - i) : NULL;
        size_t n = amp ? (size_t)(amp - (s + i)) : len - i;
        const char *eq = memchr(s + i, '=', n);
        size_t kl = eq ? (size_t)(eq - (s + i)) : n;
        long a, b = 0;

        if (n == 0) {
            if (!amp) {
                FUZZ_CHECK(srv_form_next(&pos, s, len, &at, &name, &nl, &value, &vl) == 0);
                break;
            }
            continue;
        }
        got = srv_form_next(&pos, s, len, &at, &name, &nl, &value, &vl);
        a = ref_decode(ref, raw + i, kl);
        if (a >= 0 && eq)
            b = ref_decode(ref + a + 1, raw + i + kl + 1, n - kl - 1);
        if (a < 0 || b < 0) {
            FUZZ_CHECK(got == -1);
            break;
        }
        FUZZ_CHECK(got == 1 && nl == (size_t)a && vl == (size_t)b);
        FUZZ_CHECK(memcmp(name, ref, nl) == 0 && name[nl] == '\0' && value[vl] == '\0');
        FUZZ_CHECK(memcmp(value, ref + a + 1, vl) == 0);
        if (!amp) {
            FUZZ_CHECK(srv_form_next(&pos, s, len, &at, &name, &nl, &value, &vl) == 0);
            break;
        }
        i += n;
    }
    free(buf);
    free(ref);
    free(raw);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *p = data, *end = data + size;
    char *target = field(&p, end), *method = field(&p, end);
    char *cookie = field(&p, end), *authorization = field(&p, end);
    char *query = strchr(target, '?');

    if (query)
        *query++ = '\0';
    check_route(target);
    check_template(target);
    check_id(target, strlen(target));
    check_decode(target, strlen(target));
    check_query(query);
    if (query) {
        check_id(query, strlen(query));
        check_decode(query, strlen(query));
    }
    check_form(query ? query : "", query ? strlen(query) : 0);
    /* A form body is any bytes, NUL and newlines too: the whole input as one. */
    check_form((const char *)data, size);
    check_token(cookie, authorization);
    /* The Authorization field doubles as an If-Match value. */
    if (authorization)
        check_if_match(authorization);
    check_method(target, method ? method : "GET");
    free(target);
    free(method);
    free(cookie);
    free(authorization);
    return 0;
}
