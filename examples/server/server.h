/* The civetweb glue of jobs-server: requests in, srv_handle(), responses out, each counted in
 * the metrics and written to the access log. */
#ifndef JOBS_SERVER_SERVER_H
#define JOBS_SERVER_SERVER_H

#include "config.h"
#include "handler.h"
#include "hook.h"

struct mg_context;

/** Starts civetweb on `o`'s address with `app`, makes the demo user (srv_ensure_demo_user()),
 * and prints "listening on URL". NULL after a
 * message when it cannot. Stop with srv_server_stop(). */
struct mg_context *srv_server_start(srv_app *app, const srv_options *o);

/** The first step of a graceful stop: from now on a new request is refused (503, fault 114,
 * Retry-After) and every answer closes its connection; then the webhook requests waiting for
 * their run (`hooks`, may be NULL) stop waiting and answer at once (srv_hooks_stop()); returns
 * when the requests in flight have been answered, those included, or after `timeout_s` seconds,
 * with how many were still in flight. */
int srv_server_drain(unsigned timeout_s, srv_hooks *hooks);

/** Closes the listeners and waits for the requests in flight to be answered. */
void srv_server_stop(struct mg_context *ctx);

#endif
