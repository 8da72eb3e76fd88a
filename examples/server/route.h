/* The request parsing of the HTTP API: which route a path names, the id in a path, the `page`
 * query parameter, percent-decoding, and the session token of the Cookie or Authorization
 * header. Split out of handler.c so that fuzz/fuzz_path.c can drive each parser directly.
 * Pure functions of their arguments: no allocation, no state, thread-safe. */
#ifndef JOBS_SERVER_ROUTE_H
#define JOBS_SERVER_ROUTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** The resources. */
typedef enum srv_kind { SRV_KIND_JOBS, SRV_KIND_SCHEDULES, SRV_KIND_STACKS } srv_kind;

/** The collection path of each srv_kind: "/jobs", "/schedules", "/blockstacks". */
extern const char *const srv_kind_path[3];

/** What a path names. */
typedef enum srv_target {
    SRV_ROUTE_NONE,
    SRV_ROUTE_AUTHENTICATE, /**< POST */
    SRV_ROUTE_LOGOUT,       /**< POST */
    SRV_ROUTE_COLLECTION,   /**< GET (list), POST (create) */
    SRV_ROUTE_BYID,         /**< GET */
    SRV_ROUTE_BYNAME,       /**< GET (jobs and stacks) */
    SRV_ROUTE_ITEM,         /**< PUT (jobs, schedules, stacks), DELETE (jobs) */
    SRV_ROUTE_HEALTH,       /**< GET, HEAD: /healthz */
    SRV_ROUTE_METRICS,      /**< GET, HEAD: /metrics */
    SRV_ROUTE_RUNS,         /**< GET: /jobs/<id>/runs, the job's history (docs/runs.md); also
                                 /blockstacks/<id>/runs (k is SRV_KIND_STACKS), the stack's */
    SRV_ROUTE_RUN_NOW,      /**< POST: /jobs/<id>/run, a manual run */
    SRV_ROUTE_HOOK,         /**< GET, POST: /blockstacks/hook/<id>, a stack's webhook (hook.h) */
    SRV_ROUTE_HOOK_TOKEN,   /**< GET: /blockstacks/hook/token_refresh/<id>, a new token */
    SRV_ROUTE_EXEC,         /**< GET: /blockstacks/exec/<id>, the owner runs a stack (hook.h) */
    SRV_ROUTE_CONSOLE       /**< GET, HEAD: the console's files, "/" (arg NULL: its page) and
                                 "/ui/<file>" (arg: the name); static.h, docs/console.md */
} srv_target;

/** A resolved path. */
typedef struct srv_route {
    srv_target t;
    srv_kind k;
    const char *arg; /**< the id or name segment, raw (points into the path), or NULL */
    size_t arg_len;  /**< its length */
    bool kragle;     /**< the path is under SRV_KRAGLE_PREFIX (the Kragle profile) */
} srv_route;

/** The base path of the Kragle profile: every route also answers under it (docs/http-api.md). */
#define SRV_KRAGLE_PREFIX "/api/v1"

/**
 * The route of a raw (not percent-decoded) path without its query. A path under
 * SRV_KRAGLE_PREFIX ("/api/v1/jobs") is the route of the rest ("/jobs") with `kragle` set, and
 * there "/login" is SRV_ROUTE_AUTHENTICATE too; the prefix is taken once ("/api/v1/api/v1/jobs"
 * is no route). "/api/v1" alone is no route, and not under the prefix. The console's paths ("/",
 * "/ui/<file>") and the operator's ("/healthz", "/metrics") are not under the prefix.
 */
srv_route srv_route_resolve(const char *path);

/** The methods a route allows, as an Allow header value ("GET, POST"); "" for SRV_ROUTE_NONE. */
const char *srv_route_allowed(const srv_route *r);

/** True when `method` is one of the methods srv_route_allowed() lists. */
bool srv_route_method_allowed(const srv_route *r, const char *method);

/** The number of route templates: srv_route_index() is below it. */
#define SRV_ROUTE_TEMPLATES 24

/**
 * A small number for the template of a route, for per-route tables such as the metrics: 0 for
 * SRV_ROUTE_NONE, else 1..SRV_ROUTE_TEMPLATES - 1. Routes that differ only in their id or name
 * share one.
 */
unsigned srv_route_index(const srv_route *r);

/**
 * The template of a route index, e.g. "/jobs/byid/{id}"; "other" for 0 (no route) or an index out
 * of range. A static string: the metrics and the access log name routes by it, so that a label
 * never holds what a client wrote.
 */
const char *srv_route_template(unsigned index);

/** An id in a path: s[0..len) is decimal digits only, 1..JOBS_ID_MAX. *out is set on success. */
bool srv_parse_id(uint64_t *out, const char *s, size_t len);

/**
 * Percent-decodes s[0..len) into out (which has room for len + 1 bytes) and NUL-terminates it.
 * '+' stays '+' (this is for paths). Returns the decoded length, or -1 for a malformed escape.
 */
long srv_percent_decode(char *out, const char *s, size_t len);

/**
 * The `page` query parameter of a raw query string (NULL for none): absent = 1, else digits only
 * (after percent-decoding), 1..JOBS_ID_MAX. Names are percent-decoded too (`p%61ge=2` is
 * `page`; a name with a malformed escape is no `page`). A `page` key given twice, however its
 * name is spelt, or a malformed escape in its value, is refused. Returns false when refused.
 */
bool srv_parse_page(uint64_t *page, const char *query);

/**
 * The next parameter of a query string or an application/x-www-form-urlencoded body
 * `s[0..len)`, from *pos (start at 0): name and value percent-decoded, '+' as a space, written
 * at *buf as name '\0' value '\0', *buf moved past them. A buffer of len + 1 bytes holds every
 * parameter of `s` (each decodes into at most its own length plus one). Empty parts between
 * '&'s are skipped; a part without '=' has the value "" (static). Returns 1 with the pair set,
 * 0 at the end, -1 for a malformed escape.
 */
int srv_form_next(size_t *pos, const char *s, size_t len, char **buf, const char **name,
                  size_t *name_len, const char **value, size_t *value_len);

/**
 * The `pagesize` query parameter (an extension): absent = 0 (the store's default, 10), else
 * 1..100, with the same rules as `page`. Returns false when refused.
 */
bool srv_parse_pagesize(uint32_t *size, const char *query);

/** The most entity tags of the server's form an If-Match header may list. */
#define SRV_IF_MATCH_MAX 16

/** The most empty list elements (`"a", , "b"`, a leading or trailing comma) it may hold. */
#define SRV_IF_MATCH_EMPTY_MAX 16

/**
 * An If-Match header value: `*` (*any = true), or a comma-separated list of entity tags, each
 * well-formed per RFC 9110 8.8.3 (`"..."` or `W/"..."`, the quoted part of visible characters
 * but `"`), with optional spaces and tabs around every element. Strong tags as jobs-server
 * writes them ("<16 lower-case hex digits>") go into tags, at most SRV_IF_MATCH_MAX of them;
 * every other well-formed tag (weak ones, which never match under If-Match's strong comparison,
 * and strong ones of another format) is skipped, so a list of only those matches nothing (412).
 * Empty list elements are skipped too (RFC 9110 5.6.1.2), at most SRV_IF_MATCH_EMPTY_MAX of
 * them, and do not count as tags. Returns false for anything that is not a list of tags: a
 * value with no tag at all (empty, or only commas and spaces) included.
 */
bool srv_parse_if_match(bool *any, uint64_t *tags, size_t *n, const char *value);

/** What the Authorization header of a request says about a bearer token. */
typedef enum srv_bearer {
    SRV_BEARER_NONE,      /**< no header, or one of another scheme (Basic, ...): ignored */
    SRV_BEARER_TOKEN,     /**< `Bearer` and a well-formed token */
    SRV_BEARER_MALFORMED  /**< `Bearer` without a token, with a forbidden character in it,
                           *   or with anything after it */
} srv_bearer;

/**
 * The bearer token of an `Authorization` header (NULL: none), per RFC 6750 2.1: the scheme
 * `Bearer` in any case, one or more spaces, a b64token (letters, digits and `-._~+/`, then
 * any number of `=`), and only spaces or tabs after it. A header of another scheme (its first
 * token is not `Bearer`: `Basic ...`, `Bearertok`) is SRV_BEARER_NONE; `Bearer` followed by
 * anything else (nothing, `:tok`, `tok junk`, `tok;x`, a second token) is
 * SRV_BEARER_MALFORMED, never a token cut out of it. *token and *len are set
 * for SRV_BEARER_TOKEN only (a pointer into `authorization`), else NULL and 0.
 */
srv_bearer srv_find_bearer(const char **token, size_t *len, const char *authorization);

/**
 * The value of the first `auth_tkt` cookie of a Cookie header (NULL: none): everything after
 * `auth_tkt=` up to the next `;` or the end, without trailing spaces and tabs; a value with
 * junk in it (`auth_tkt=tok junk`) is that whole value, which names no session, never the
 * token before the junk. Returns a pointer into `cookie` with *len set, or NULL when it holds
 * no auth_tkt cookie. To read the next one, call it again from the returned pointer + *len.
 */
const char *srv_find_cookie_token(size_t *len, const char *cookie);

#endif
