/* The console's files (examples/server/console/), embedded at build time (console.cmake) and
 * served at "/" and "/ui/<file>" with their types, entity tags and the console's security
 * headers (docs/console.md). */
#ifndef JOBS_SERVER_STATIC_H
#define JOBS_SERVER_STATIC_H

#include <stddef.h>

#include "handler.h"
#include "route.h"

/** One embedded file. */
typedef struct srv_static_file {
    const char *name;          /**< "app.js": the name under /ui/ */
    const char *type;          /**< its Content-Type */
    const char *etag;          /**< its entity tag, quoted: "\"0123456789abcdef\"" */
    const unsigned char *data; /**< its bytes */
    size_t len;                /**< their number */
} srv_static_file;

/** The files, in name order, ending with an entry whose name is NULL (console_files.c). */
extern const srv_static_file srv_console_files[];

/** The file of that name (s[0..len), compared byte for byte), or NULL. */
const srv_static_file *srv_static_find(const char *s, size_t len);

/** The Content-Security-Policy of the console's files. */
#define SRV_CONSOLE_CSP                                                                           \
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "            \
    "connect-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'none'; "           \
    "form-action 'self'"

/**
 * Answers GET or HEAD of a SRV_ROUTE_CONSOLE route (no arg: index.html): 200 with the file, or
 * 304 when If-None-Match
 * names its tag; 404 (fault 101) for a name the build does not know.
 */
void srv_static_answer(srv_response *res, const srv_app *app, const srv_route *r,
                       const srv_request *req);

#endif
