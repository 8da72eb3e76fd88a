/* The console's files (static.h). Only the names the build embedded are served: a request names
 * a file, never a path, so nothing outside examples/server/console/ can be reached. */
#include "static.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The console's header lines, after the file's tag. */
#define CONSOLE_HEADERS                                                                           \
    "Content-Security-Policy: " SRV_CONSOLE_CSP "\r\n"                                          \
    "X-Frame-Options: DENY\r\n"                                                                  \
    "Referrer-Policy: no-referrer\r\n"
/* An entity tag as console.cmake makes it: 16 hex digits, quoted. */
#define ETAG_LEN 18

/* They fit srv_response.headers, which holds nothing else yet (srv_handle() clears it): a longer
 * CSP fails the build instead of being cut mid-line. */
_Static_assert(sizeof "ETag: \r\n" - 1 + ETAG_LEN + sizeof CONSOLE_HEADERS
                   <= sizeof ((srv_response *)0)->headers,
               "the console's header lines fit srv_response.headers");

const srv_static_file *srv_static_find(const char *s, size_t len)
{
    for (const srv_static_file *f = srv_console_files; f->name; f++)
        if (strlen(f->name) == len && memcmp(f->name, s, len) == 0)
            return f;
    return NULL;
}

/* Whether an If-None-Match value names `etag` (RFC 9110 13.1.2: weak comparison, so W/"x"
 * names "x"), or is `*`. */
static bool none_match(const char *value, const char *etag)
{
    size_t n = strlen(etag);
    const char *p = value;

    p += strspn(p, " \t");
    if (p[0] == '*' && p[1 + strspn(p + 1, " \t")] == '\0')
        return true;
    while ((p = strstr(p, etag)) != NULL) {
        char after = p[n];
        if (after == '\0' || after == ',' || after == ' ' || after == '\t')
            return true;
        p += n;
    }
    return false;
}

void srv_static_answer(srv_response *res, const srv_app *app, const srv_route *r,
                       const srv_request *req)
{
    const srv_static_file *f = r->arg ? srv_static_find(r->arg, r->arg_len)
                                      : srv_static_find("index.html", 10);
    size_t len;

    if (!f) {
        srv_fault(res, app, SRV_FAULT_NOROUTE, "no such route");
        return;
    }
    len = strlen(res->headers);
    /* no-cache: the browser keeps the file but asks each time, and gets 304 while the tag
     * holds, so a new build's files are seen at once. What does not fit (a longer tag, lines
     * already there) is a fault, not a header cut mid-line. */
    int w = snprintf(res->headers + len, sizeof res->headers - len, "ETag: %s\r\n" CONSOLE_HEADERS,
                     f->etag);
    if (w < 0 || (size_t)w >= sizeof res->headers - len) {
        res->headers[len] = '\0';
        srv_fault(res, app, SRV_FAULT_INTERNAL, "the console's header lines do not fit");
        return;
    }
    res->cache_control = "no-cache";
    free(res->body);
    res->body = NULL;
    res->body_len = 0;
    /* A body is never NULL and always NUL-terminated (srv_response): a 304's is empty. */
    bool unchanged = req->if_none_match && none_match(req->if_none_match, f->etag);
    size_t n = unchanged ? 0 : f->len;

    if (!(res->body = malloc(n + 1))) {
        srv_fault(res, app, SRV_FAULT_INTERNAL, "out of memory");
        return;
    }
    memcpy(res->body, f->data, n);
    res->body[n] = '\0';
    res->body_len = n;
    if (unchanged) {
        res->status = 304;
        return;
    }
    res->content_type = f->type;
    res->status = 200;
}
