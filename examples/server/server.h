/* The civetweb glue of jobs-server: requests in, srv_handle(), responses out, each counted in
 * the metrics and written to the access log. */
#ifndef JOBS_SERVER_SERVER_H
#define JOBS_SERVER_SERVER_H

#include "config.h"
#include "handler.h"

struct mg_context;

/** Starts civetweb on `o`'s address with `app` and prints "listening on URL". NULL after a
 * message when it cannot. Stop with srv_server_stop(). */
struct mg_context *srv_server_start(srv_app *app, const srv_options *o);

/** Closes the listeners and waits for the requests in flight to be answered. */
void srv_server_stop(struct mg_context *ctx);

#endif
